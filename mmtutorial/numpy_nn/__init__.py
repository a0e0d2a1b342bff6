"""From-scratch NumPy backprop for multimodal networks (chapters 2 and 3b).

Layers (Dense, ReLU, Concat), losses (MSE, softmax cross-entropy), optimisers (SGD, Adam) and the
article's network generalised to k modalities and m heads, every backward written by hand.
"""

from .layers import Concat, Dense, ReLU
from .loop import EarlyStopping, Trainer, train
from .losses import HalfSquaredError, MeanSquaredError, SoftmaxCrossEntropy
from .network import MultimodalNet, article_network
from .optim import SGD, Adam

__all__ = [
    "SGD",
    "Adam",
    "Concat",
    "Dense",
    "EarlyStopping",
    "HalfSquaredError",
    "MeanSquaredError",
    "MultimodalNet",
    "ReLU",
    "SoftmaxCrossEntropy",
    "Trainer",
    "article_network",
    "train",
]
