"""The TensorFlow engine (chapter 4 on): the Keras twin of :mod:`mmtutorial.numpy_nn`.

Fusion layers, builders (encoders → fusion → shared → heads), the NumPy ↔ Keras bridge, the
``tf.data`` pipeline, a compiled (optionally XLA) training loop and a contrastive dual encoder.
Importing it imports TensorFlow; ``import mmtutorial`` alone does not. TensorFlow is the
package's ``[tf]`` extra (``pip install "mmtutorial[tf]"``): without it, importing this module
raises a ``ModuleNotFoundError`` that says so.
"""

from mmtutorial.repro import _require_tensorflow

_require_tensorflow("mmtutorial.tf_nn")

from mmtutorial._checks import CheckpointError

from .attention import AttentionFusion
from .balance import OGMGE
from .bridge import copy_numpy_weights, gradients_numpy_vs_tf, tf_gradients
from .contrastive import build_dual_encoder, embed, train_contrastive
from .data import make_dataset
from .fusion import ConcatFusion, GatedFusion, LowRankFusion, SumFusion, TensorFusion
from .losses import get_loss, half_squared_error, info_nce
from .model_parts import encoder_outputs
from .models import FUSIONS, article_model, build_multimodal_model
from .step import grad_norm_names, make_train_step
from .training import Trainer, train

__all__ = [
    "AttentionFusion",
    "CheckpointError",
    "FUSIONS",
    "ConcatFusion",
    "GatedFusion",
    "LowRankFusion",
    "OGMGE",
    "SumFusion",
    "TensorFusion",
    "Trainer",
    "article_model",
    "build_dual_encoder",
    "build_multimodal_model",
    "copy_numpy_weights",
    "encoder_outputs",
    "embed",
    "get_loss",
    "grad_norm_names",
    "gradients_numpy_vs_tf",
    "half_squared_error",
    "info_nce",
    "make_dataset",
    "make_train_step",
    "tf_gradients",
    "train",
    "train_contrastive",
]
