"""The UCI *Multiple Features* handwritten digits: 2000 digits, several views of each.

Chapter 1 shows the pixel view and compares single-view models with fused ones; chapter 4 trains
the Keras model on it; chapters 5 and 6 run their imbalance, missing-view and FAQ demos on it.
The data are vendored in ``mfeat.npz`` (see ``README.md`` beside it).
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.resources import files

import numpy as np

from .._checks import InvalidParameterError, check_choice, check_dtype
from .core import MultimodalData

VIEW_DIMS: dict[str, int] = {"pix": 240, "fou": 76, "kar": 64, "zer": 47, "mor": 6}
"""Features per view: pix = 15x16 image (grey levels 0-6, row-major, reshape to (16, 15));
fou = Fourier coefficients of the contour; kar = Karhunen-Loeve coefficients;
zer = Zernike moments; mor = morphological features."""

IMAGE_SHAPE = (16, 15)


def load_digits(
    views: Sequence[str] = ("pix", "fou", "kar", "zer", "mor"),
    dtype: np.dtype | str | type = np.float32,
) -> MultimodalData:
    """Load the UCI Multiple Features digits, offline, from the vendored file.

    Parameters
    ----------
    views : sequence of str, default all five vendored views
        Which views to return as modalities, in this order; names from `VIEW_DIMS`.
    dtype : float32 or float64, default float32 (a NumPy dtype or its name)
        Dtype of the returned inputs. Values are not rescaled: ``pix`` holds grey levels 0-6.

    Returns
    -------
    MultimodalData
        ``inputs`` view -> ``(2000, VIEW_DIMS[view])``; ``targets {"digit": (2000,) int64}``.
        Rows are ordered by class (200 zeros, then 200 ones, ...): shuffle or split before use.

    Examples
    --------
    >>> digits = load_digits(views=("pix", "mor"))
    >>> digits.inputs["pix"].shape, digits.inputs["pix"][0].reshape(IMAGE_SHAPE).shape
    ((2000, 240), (16, 15))
    >>> np.bincount(digits.targets["digit"]).tolist() == [200] * 10
    True
    """
    if isinstance(views, str):
        views = (views,)
    views = tuple(views)
    if not views:
        raise InvalidParameterError(
            f"views must name at least one view from {list(VIEW_DIMS)}, got ()"
        )
    for i, view in enumerate(views):
        check_choice(f"views[{i}]", view, VIEW_DIMS)
    if len(set(views)) != len(views):
        raise InvalidParameterError(f"views must not repeat a view, got {views}")
    dtype = check_dtype("dtype", dtype)
    with files(__package__).joinpath("mfeat.npz").open("rb") as handle, np.load(handle) as npz:
        inputs = {view: npz[view].astype(dtype) for view in views}
        digit = npz["digit"].astype(np.int64)
    return MultimodalData(inputs, {"digit": digit})
