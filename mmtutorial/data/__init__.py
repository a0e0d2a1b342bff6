"""Data for the book: the article's toy arrays, synthetic multimodal tasks and the UCI digits.

NumPy only. Every data set is a `MultimodalData`; `train_test_split` and `batches` are seeded;
`standardize` scales features with training statistics. Chapters 1-6 all use it.
"""

from .core import MultimodalData, batches, standardize, train_test_split
from .digits import IMAGE_SHAPE, VIEW_DIMS, load_digits
from .synthetic import article_data, make_synthetic

__all__ = [
    "IMAGE_SHAPE",
    "VIEW_DIMS",
    "MultimodalData",
    "article_data",
    "batches",
    "load_digits",
    "make_synthetic",
    "standardize",
    "train_test_split",
]
