"""Argument checks for the whole package: one exception, messages naming the argument.

Every public function of both engines validates its arguments with these helpers, so the same
mistake fails the same way everywhere (scikit-learn's policy). Private: the book never imports it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

_FLOAT_DTYPES = ("float32", "float64")


class InvalidParameterError(ValueError, TypeError):
    """A bad argument: a wrong type, value, shape or key set. Both a ValueError and a TypeError.

    Examples
    --------
    >>> issubclass(InvalidParameterError, ValueError), issubclass(InvalidParameterError, TypeError)
    (True, True)
    """


class CheckpointError(RuntimeError):
    """A checkpoint directory that cannot be resumed from: damaged, inconsistent or foreign.

    Not an :class:`InvalidParameterError`: the argument (a path) is fine, what it holds is not.
    :func:`mmtutorial.tf_nn.train` raises it, naming the directory.

    Examples
    --------
    >>> issubclass(CheckpointError, RuntimeError), issubclass(CheckpointError, ValueError)
    (True, False)
    """


def _describe(value: Any) -> str:
    """``value`` as shown in a message: its repr, and its type unless the repr makes it plain."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    if type(value) in (bool, int, float, str, type(None), dict, list, tuple):
        return text
    return f"{text} ({type(value).__name__})"


def _fail(name: str, expected: str, value: Any) -> InvalidParameterError:
    return InvalidParameterError(f"{name} must be {expected}, got {_describe(value)}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def check_int(name: str, value: Any, *, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an ``int``; it must be an int or ``np.integer`` in ``[low, high]``.

    Examples
    --------
    >>> check_int("steps", np.int64(3), low=1)
    3
    >>> check_int("steps", 2.0, low=1)
    Traceback (most recent call last):
    ...
    mmtutorial._checks.InvalidParameterError: steps must be an int >= 1, got 2.0
    """
    bounds = [f">= {low}"] if low is not None else []
    bounds += [f"<= {high}"] if high is not None else []
    expected = " ".join(["an int", " and ".join(bounds)]).strip()
    if not _is_int(value):
        raise _fail(name, expected, value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise _fail(name, expected, int(value))
    return int(value)


def check_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a finite ``float`` inside the interval given by ``low`` and ``high``.

    ``low_open``/``high_open`` exclude the bound itself (``(0, 1)`` rather than ``[0, 1]``).

    Examples
    --------
    >>> check_number("learning_rate", 0.1, low=0, low_open=True)
    0.1
    >>> check_number("learning_rate", 0, low=0, low_open=True)
    Traceback (most recent call last):
    ...
    mmtutorial._checks.InvalidParameterError: learning_rate must be a finite number > 0, got 0
    """
    bounds = []
    if low is not None:
        bounds.append(f"{'>' if low_open else '>='} {low:g}")
    if high is not None:
        bounds.append(f"{'<' if high_open else '<='} {high:g}")
    expected = " ".join(["a finite number", " and ".join(bounds)]).strip()
    numeric = isinstance(value, int | float | np.integer | np.floating)
    if not numeric or isinstance(value, bool | np.bool_):
        raise _fail(name, expected, value)
    number = float(value)
    outside = not np.isfinite(number)
    if low is not None:
        outside |= number <= low if low_open else number < low
    if high is not None:
        outside |= number >= high if high_open else number > high
    if outside:
        raise _fail(name, expected, value)
    return number


def check_seed(value: Any, name: str = "seed", *, allow_none: bool = False) -> int | None:
    """Return a seed as an ``int >= 0`` (an int or ``np.integer``); ``None`` if ``allow_none``.

    Examples
    --------
    >>> check_seed(np.int32(7))
    7
    >>> check_seed(1.5)
    Traceback (most recent call last):
    ...
    mmtutorial._checks.InvalidParameterError: seed must be an int >= 0, got 1.5
    """
    if value is None and allow_none:
        return None
    expected = "an int >= 0" + (" or None" if allow_none else "")
    if not _is_int(value) or value < 0:
        raise _fail(name, expected, value)
    return int(value)


def check_rng(name: str, value: Any) -> np.random.Generator:
    """Return a ``numpy.random.Generator``: ``value`` itself, or one seeded with it (an int >= 0).

    Examples
    --------
    >>> float(check_rng("seed", 0).random()) == float(np.random.default_rng(0).random())
    True
    """
    if isinstance(value, np.random.Generator):
        return value
    if not _is_int(value) or value < 0:
        raise _fail(name, "an int >= 0 or a numpy.random.Generator", value)
    return np.random.default_rng(int(value))


def check_dtype(name: str, value: Any) -> np.dtype:
    """Return ``value`` as a NumPy float dtype: float32 or float64, given as a dtype or a string.

    Examples
    --------
    >>> check_dtype("dtype", "float32"), check_dtype("dtype", np.float64)
    (dtype('float32'), dtype('float64'))
    >>> check_dtype("dtype", "int32")
    Traceback (most recent call last):
    ...
    mmtutorial._checks.InvalidParameterError: dtype must be float32 or float64 ..., got 'int32'
    """
    expected = "float32 or float64 (a NumPy dtype or its name)"
    try:
        dtype = np.dtype(getattr(value, "as_numpy_dtype", value))
    except TypeError:
        raise _fail(name, expected, value) from None
    if value is None or dtype.name not in _FLOAT_DTYPES:
        raise _fail(name, expected, value)
    return dtype


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``.

    Examples
    --------
    >>> check_choice("init", "xavier", ("he", "glorot"))
    Traceback (most recent call last):
    ...
    mmtutorial._checks.InvalidParameterError: init must be one of ('he', 'glorot'), got 'xavier'
    """
    choices = tuple(choices)
    try:
        found = value in choices
    except TypeError:  # unhashable or incomparable
        found = False
    if not found:
        raise _fail(name, f"one of {choices!r}", value)
    return value


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is a ``bool`` (or ``np.bool_``)."""
    if not isinstance(value, bool | np.bool_):
        raise _fail(name, "a bool", value)
    return bool(value)


def check_instance(name: str, value: Any, types: type | tuple[type, ...], what: str) -> Any:
    """Return ``value`` if it is an instance of ``types``, described as ``what`` in the message."""
    if not isinstance(value, types):
        raise _fail(name, what, value)
    return value


def check_keys(
    name: str, given: Iterable[Any], expected: Iterable[Any], *, what: str, exact: bool
) -> None:
    """Fail if ``given`` names keys outside ``expected`` (or, if ``exact``, misses some).

    Examples
    --------
    >>> check_keys("losses", ["y", "z"], ["y"], what="heads", exact=False)
    Traceback (most recent call last):
    ...
    mmtutorial._checks.InvalidParameterError: losses must name the heads ['y']: unknown ['z'], ...
    """
    given, expected = list(given), list(expected)
    unknown = sorted(str(key) for key in set(given) - set(expected))
    missing = [key for key in expected if key not in given] if exact else []
    if unknown or missing:
        raise InvalidParameterError(
            f"{name} must name the {what} {expected}: "
            f"unknown {unknown or 'none'}, missing {missing or 'none'}"
        )


def check_mapping(
    name: str,
    value: Any,
    *,
    keys: Iterable[Any] | None = None,
    exact: bool = True,
    what: str = "keys",
    allow_empty: bool = False,
) -> dict:
    """Return ``value`` as a ``dict``; it must be a mapping, non-empty unless ``allow_empty``.

    With ``keys``, its keys must be among them (all of them if ``exact``); see :func:`check_keys`.

    Examples
    --------
    >>> check_mapping("modality_dims", {"a": 3})
    {'a': 3}
    >>> check_mapping("modality_dims", {})
    Traceback (most recent call last):
    ...
    mmtutorial._checks.InvalidParameterError: modality_dims must be a non-empty dict, got {}
    """
    if not isinstance(value, Mapping) or (not value and not allow_empty):
        raise _fail(name, "a dict" if allow_empty else "a non-empty dict", value)
    if keys is not None:
        check_keys(name, value, keys, what=what, exact=exact)
    return dict(value)


def check_dims(name: str, value: Any) -> dict[str, int]:
    """Return ``{str name: int width >= 1}`` from a non-empty mapping of names to widths.

    Examples
    --------
    >>> check_dims("head_dims", {"y": 2})
    {'y': 2}
    >>> check_dims("head_dims", {"y": 0})
    Traceback (most recent call last):
    ...
    mmtutorial._checks.InvalidParameterError: head_dims['y'] must be an int >= 1, got 0
    """
    dims = check_mapping(name, value)
    for key in dims:
        if not isinstance(key, str):
            raise _fail(f"{name} keys", "str", key)
    return {key: check_int(f"{name}[{key!r}]", width, low=1) for key, width in dims.items()}


def check_finite(name: str, array: Any) -> np.ndarray:
    """Return ``array`` as a numeric ndarray; fail if it holds NaN or inf (or non-numbers).

    Examples
    --------
    >>> check_finite("grads['W']", np.array([1.0, np.nan]))
    Traceback (most recent call last):
    ...
    mmtutorial._checks.InvalidParameterError: grads['W'] must be finite, got 1 NaN or inf ...
    """
    array = np.asarray(array)
    if array.dtype.kind not in "biuf":
        raise InvalidParameterError(f"{name} must be numeric, got dtype {array.dtype}")
    if array.dtype.kind == "f":
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        if bad:
            raise InvalidParameterError(
                f"{name} must be finite, got {bad} NaN or inf value(s) of {array.size}"
            )
    return array


def check_shape(name: str, array: Any, expected: tuple[int | None, ...]) -> np.ndarray:
    """Return ``array`` as an ndarray of shape ``expected`` (``None`` matches any length).

    Examples
    --------
    >>> check_shape("dy", np.zeros((4, 3)), (4, 2))
    Traceback (most recent call last):
    ...
    mmtutorial._checks.InvalidParameterError: dy must have shape (4, 2), got (4, 3)
    """
    array = np.asarray(array)
    if array.ndim != len(expected) or any(
        want is not None and got != want for got, want in zip(array.shape, expected, strict=True)
    ):
        shown = "(" + ", ".join("n" if d is None else str(d) for d in expected)
        shown += ",)" if len(expected) == 1 else ")"
        raise InvalidParameterError(f"{name} must have shape {shown}, got {array.shape}")
    return array


def check_labels(name: str, labels: Any, batch: int, n_classes: int) -> np.ndarray:
    """Return integer class labels of shape ``(batch,)`` with values in ``[0, n_classes)``.

    Examples
    --------
    >>> check_labels("targets['y']", np.array([0, 3]), 2, 3)
    Traceback (most recent call last):
    ...
    mmtutorial._checks.InvalidParameterError: targets['y'] must lie in [0, 2] for 3 classes, ...
    """
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise InvalidParameterError(f"{name} must be integer labels, got dtype {labels.dtype}")
    check_shape(name, labels, (batch,))
    if batch and (labels.min() < 0 or labels.max() >= n_classes):
        raise InvalidParameterError(
            f"{name} must lie in [0, {n_classes - 1}] for {n_classes} classes, "
            f"got values in [{labels.min()}, {labels.max()}]"
        )
    return labels


def check_inputs(
    name: str, inputs: Any, modality_dims: Mapping[str, int], dtype: np.dtype
) -> dict[str, np.ndarray]:
    """Return a batch ``{modality: (batch, features)}`` as ``dtype`` arrays, checked in full.

    The modalities must be exactly those of ``modality_dims`` with those feature counts, share
    one batch size of at least one sample, and hold finite numbers.

    Examples
    --------
    >>> check_inputs("inputs", {"pix": np.zeros((2, 240))}, {"pix": 76}, np.dtype("float64"))
    Traceback (most recent call last):
    ...
    mmtutorial._checks.InvalidParameterError: inputs['pix'] has 240 features, the model expects 76
    """
    inputs = check_mapping(name, inputs, keys=modality_dims, what="modalities")
    arrays, first = {}, None
    for m, width in modality_dims.items():
        x = np.asarray(inputs[m])
        if x.ndim != 2:
            raise InvalidParameterError(
                f"{name}[{m!r}] must have shape (batch, features), got {x.shape}"
            )
        if x.shape[1] != width:
            raise InvalidParameterError(
                f"{name}[{m!r}] has {x.shape[1]} features, the model expects {width}"
            )
        if x.shape[0] == 0:
            raise InvalidParameterError(
                f"{name}[{m!r}] must hold at least one sample, got an empty batch {x.shape}"
            )
        if first is not None and x.shape[0] != first[1]:
            raise InvalidParameterError(
                f"{name} must share one batch size: modality {m!r} has {x.shape[0]} samples, "
                f"modality {first[0]!r} has {first[1]}"
            )
        first = first or (m, x.shape[0])
        arrays[m] = check_finite(f"{name}[{m!r}]", x).astype(dtype, copy=False)
    return arrays


def refuse_options(who: str, options: Mapping[str, tuple[Any, Any]], hint: str) -> None:
    """Refuse, by name, the first option (``{name: (value, default)}``) set to anything but its
    default: an option only the other engine has is accepted by both signatures and never
    ignored (:mod:`mmtutorial.contract`).

    Examples
    --------
    >>> refuse_options("numpy_nn.train", {"strategy": (None, None)}, "use tf_nn")
    >>> refuse_options("numpy_nn.train", {"strategy": ("mirrored", None)}, "use tf_nn")
    Traceback (most recent call last):
    ...
    mmtutorial._checks.InvalidParameterError: numpy_nn.train has no strategy option (the other \
engine's), got 'mirrored'; use tf_nn
    """
    for name, (value, default) in options.items():
        if value is not default and not (type(value) is type(default) and value == default):
            raise InvalidParameterError(
                f"{who} has no {name} option (the other engine's), got {value!r}; {hint}"
            )
