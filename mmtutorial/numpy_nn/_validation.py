"""Argument checks shared by the NumPy network: sklearn-style errors naming the argument."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def check_positive_int(value: object, name: str) -> int:
    """Return ``value`` as an int, or fail naming ``name`` unless it is an int > 0."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value}")
    return int(value)


def check_float_dtype(dtype: object) -> np.dtype:
    """Return ``dtype`` as a NumPy dtype, or fail unless it is float32 or float64."""
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, got {dt}")
    return dt


def check_dims(dims: object, name: str) -> dict[str, int]:
    """Return ``{name: width}`` after checking it is a non-empty dict of positive ints."""
    if not isinstance(dims, Mapping) or len(dims) == 0:
        raise ValueError(f"{name} must be a non-empty dict name -> int, got {dims!r}")
    return {str(key): check_positive_int(value, f"{name}[{key!r}]") for key, value in dims.items()}


def check_keys(given: Mapping, expected: list[str], name: str, what: str, *, exact: bool) -> None:
    """Fail if ``given`` names keys outside ``expected`` (or, if ``exact``, misses some)."""
    unknown = sorted(set(given) - set(expected))
    missing = [key for key in expected if key not in given] if exact else []
    if unknown or missing:
        raise ValueError(
            f"{name} must name the network's {what} {expected}: "
            f"unknown {unknown or 'none'}, missing {missing or 'none'}"
        )


def check_labels(labels: object, batch: int, n_classes: int) -> np.ndarray:
    """Return integer class labels of shape ``(batch,)`` with values in ``[0, n_classes)``."""
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"labels must be an integer array, got dtype {labels.dtype}")
    if labels.shape != (batch,):
        raise ValueError(f"labels must have shape ({batch},), got {labels.shape}")
    if batch and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(
            f"labels must lie in [0, {n_classes - 1}] for {n_classes} classes, "
            f"got values in [{labels.min()}, {labels.max()}]"
        )
    return labels


def check_inputs(
    inputs: object, modality_dims: dict[str, int], dtype: np.dtype
) -> dict[str, np.ndarray]:
    """Return ``inputs`` as ``dtype`` arrays after checking names, shapes, batch sizes, values."""
    if not isinstance(inputs, Mapping):
        raise TypeError(f"inputs must be a dict modality -> array, got {type(inputs).__name__}")
    check_keys(inputs, list(modality_dims), "inputs", "modalities", exact=True)
    arrays, first = {}, None
    for m, width in modality_dims.items():
        x = np.asarray(inputs[m])
        if x.dtype.kind not in "biuf":
            raise TypeError(f"inputs[{m!r}] must be numeric, got dtype {x.dtype}")
        if x.ndim != 2:
            raise ValueError(f"inputs[{m!r}] must have shape (batch, features), got {x.shape}")
        if x.shape[1] != width:
            raise ValueError(
                f"modality {m!r} has {x.shape[1]} features, the network expects {width}"
            )
        if first is not None and x.shape[0] != first[1]:
            raise ValueError(
                f"inputs must share one batch size: modality {m!r} has {x.shape[0]} samples, "
                f"modality {first[0]!r} has {first[1]}"
            )
        first = first or (m, x.shape[0])
        if not np.all(np.isfinite(x)):
            raise ValueError(f"inputs[{m!r}] contains NaN or inf")
        arrays[m] = x.astype(dtype, copy=False)
    return arrays


def check_targets(
    targets: object, head_dims: dict[str, int], losses: dict[str, str], batch: int, dtype: np.dtype
) -> dict[str, np.ndarray]:
    """Return ``targets`` checked per head: labels for ``"xent"``, ``(batch, k)`` for ``"mse"``."""
    if not isinstance(targets, Mapping):
        raise TypeError(f"targets must be a dict head -> array, got {type(targets).__name__}")
    check_keys(targets, list(head_dims), "targets", "heads", exact=True)
    checked = {}
    for h, width in head_dims.items():
        y = np.asarray(targets[h])
        if losses[h] == "xent":
            try:
                checked[h] = check_labels(y, batch, width)
            except (TypeError, ValueError) as err:
                raise type(err)(f"targets[{h!r}]: {err}") from None
            continue
        if y.shape != (batch, width):
            raise ValueError(f"targets[{h!r}] must have shape ({batch}, {width}), got {y.shape}")
        if y.dtype.kind not in "biuf" or not np.all(np.isfinite(y)):
            raise ValueError(f"targets[{h!r}] must be finite numbers, got NaN, inf or non-numbers")
        checked[h] = y.astype(dtype, copy=False)
    return checked
