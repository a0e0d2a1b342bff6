"""The `MultimodalData` container, seeded train/test splits and mini-batches.

Every data set in the book (article toy data, synthetic tasks, digits) is one of these; chapters
1, 2, 3b, 4, 5 and 6 split them, and chapters 1, 4, 5 and 6 standardise the digits' views.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import (
    InvalidParameterError,
    check_bool,
    check_choice,
    check_instance,
    check_int,
    check_number,
    check_rng,
    check_seed,
)
from ..seeds import stream


def _as_array_dict(field: str, arrays: Any) -> dict[str, np.ndarray]:
    check_instance(field, arrays, Mapping, "a dict of name -> array")
    result = {}
    for name, array in arrays.items():
        check_instance(f"{field} keys", name, str, "str")
        result[name] = np.asarray(array)
    return result


@dataclass(frozen=True)
class MultimodalData:
    """Several modalities of the same samples, their targets and which modalities are present.

    Parameters
    ----------
    inputs : dict of str to ndarray
        Modality name -> array of shape ``(batch, features)`` (more trailing axes are allowed,
        e.g. images). Values must be numeric and finite.
    targets : dict of str to ndarray
        Head name -> ``(batch, k)`` floats for regression or ``(batch,)`` int64 class labels.
    mask : dict of str to ndarray or None, default None
        Modality name -> ``(batch,)`` bool, True where the modality is present. ``None`` means
        every modality is present for every sample. Absent rows of ``inputs`` are zero-filled.

    Examples
    --------
    >>> import numpy as np
    >>> data = MultimodalData({"a": np.zeros((4, 3)), "b": np.ones((4, 2))},
    ...                       {"y": np.zeros((4, 1))})
    >>> len(data), data.modalities
    (4, ('a', 'b'))
    >>> len(data.subset(slice(0, 2)))
    2
    """

    inputs: dict[str, np.ndarray]
    targets: dict[str, np.ndarray]
    mask: dict[str, np.ndarray] | None = None

    def __post_init__(self) -> None:
        inputs = _as_array_dict("inputs", self.inputs)
        targets = _as_array_dict("targets", self.targets)
        if not inputs:
            raise InvalidParameterError("inputs must hold at least one modality, got an empty dict")
        first = next(iter(inputs))
        n = inputs[first].shape[0] if inputs[first].ndim else 0
        for field, arrays, min_ndim in (("inputs", inputs, 2), ("targets", targets, 1)):
            for name, array in arrays.items():
                kind = "modality" if field == "inputs" else "target"
                if array.ndim < min_ndim:
                    raise InvalidParameterError(
                        f"{field}: {kind} {name!r} must have at least {min_ndim} dimension(s) "
                        f"(batch first), got shape {array.shape}"
                    )
                if array.shape[0] != n:
                    raise InvalidParameterError(
                        f"{field}: {kind} {name!r} has batch size {array.shape[0]}, but modality "
                        f"{first!r} has batch size {n}"
                    )
                if array.dtype.kind not in "biuf":
                    raise InvalidParameterError(
                        f"{field}: {kind} {name!r} must be numeric, got dtype {array.dtype}"
                    )
                if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
                    raise InvalidParameterError(
                        f"{field}: {kind} {name!r} contains NaN or inf values"
                    )
        mask = None if self.mask is None else _as_array_dict("mask", self.mask)
        if mask is not None:
            if set(mask) != set(inputs):
                raise InvalidParameterError(
                    f"mask must have the same modalities as inputs {sorted(inputs)}, "
                    f"got {sorted(mask)}"
                )
            for name, present in mask.items():
                if present.dtype != np.bool_ or present.shape != (n,):
                    raise InvalidParameterError(
                        f"mask: modality {name!r} must be a bool array of shape ({n},), "
                        f"got dtype {present.dtype} shape {present.shape}"
                    )
        object.__setattr__(self, "inputs", inputs)
        object.__setattr__(self, "targets", targets)
        object.__setattr__(self, "mask", mask)

    def __len__(self) -> int:
        """Number of samples (the shared batch size of every array)."""
        return int(next(iter(self.inputs.values())).shape[0])

    def absent(self) -> dict[str, int]:
        """Return ``{modality: number of rows where it is absent}`` for the modalities with any.

        Examples
        --------
        >>> data = MultimodalData({"a": np.zeros((3, 1)), "b": np.zeros((3, 1))},
        ...                       {"y": np.zeros((3, 1))}, {"a": np.array([True, False, False]),
        ...                                                 "b": np.ones(3, bool)})
        >>> data.absent()
        {'a': 2}
        """
        if self.mask is None:
            return {}
        counts = {m: int(np.sum(~present)) for m, present in self.mask.items()}
        return {m: count for m, count in counts.items() if count}

    def refuse_absent(self, name: str, who: str, hint: str = "") -> None:
        """Raise ``InvalidParameterError`` naming the first absent modality, for ``who`` (a
        function that cannot honour the mask), so that no absent row is used as if present.

        Examples
        --------
        >>> data = MultimodalData({"a": np.zeros((2, 1))}, {"y": np.zeros((2, 1))},
        ...                       {"a": np.array([True, False])})
        >>> data.refuse_absent("data", "train")
        Traceback (most recent call last):
        ...
        mmtutorial._checks.InvalidParameterError: data: train cannot honour the mask, and \
modality 'a' is absent in 1 of 2 rows; keep the complete rows only (data.subset(rows))
        """
        for m, count in self.absent().items():
            raise InvalidParameterError(
                f"{name}: {who} cannot honour the mask, and modality {m!r} is absent in {count} "
                f"of {len(self)} rows; {hint}keep the complete rows only (data.subset(rows))"
            )

    @property
    def modalities(self) -> tuple[str, ...]:
        """Names of the modalities, in the order of ``inputs``."""
        return tuple(self.inputs)

    def subset(self, index: slice | np.ndarray | list[int]) -> MultimodalData:
        """Return the samples selected by ``index`` (a slice, integer indices or a bool mask).

        Examples
        --------
        >>> import numpy as np
        >>> data = MultimodalData({"a": np.arange(6.0)[:, None]}, {"y": np.arange(6)})
        >>> data.subset([0, 5]).targets["y"].tolist()
        [0, 5]
        """
        if isinstance(index, int | np.integer):
            raise InvalidParameterError(
                "index must be a slice, an index array or a bool mask, got an int"
            )
        if not isinstance(index, slice):
            index = np.asarray(index)
            if index.dtype.kind not in "biu" or index.ndim != 1:
                raise InvalidParameterError(
                    f"index must be a 1-D int or bool array, got dtype {index.dtype} "
                    f"shape {index.shape}"
                )

        def take(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            return {name: array[index] for name, array in arrays.items()}

        mask = None if self.mask is None else take(self.mask)
        return MultimodalData(take(self.inputs), take(self.targets), mask)


def train_test_split(
    data: MultimodalData,
    test_fraction: float = 0.25,
    seed: int = 0,
    stratify: str | None = None,
) -> tuple[MultimodalData, MultimodalData]:
    """Split ``data`` into shuffled train and test sets, optionally keeping class proportions.

    Parameters
    ----------
    data : MultimodalData
        The samples to split (at least 2).
    test_fraction : float, default 0.25
        Share of the samples (of each class, when stratified) that go to the test set, in (0, 1).
    seed : int, default 0
        Seed of the shuffle (its split stream, :mod:`mmtutorial.seeds`); the same seed always
        gives the same split.
    stratify : str or None, default None
        Name of an integer label target (e.g. ``"digit"``). When given, each class contributes
        ``round(test_fraction * class_size)`` samples to the test set.

    Returns
    -------
    train, test : MultimodalData
        Disjoint sets that together hold every sample, each in a random order.

    Examples
    --------
    >>> from mmtutorial.data import load_digits
    >>> train, test = train_test_split(load_digits(views=("mor",)), 0.25, stratify="digit")
    >>> len(train), len(test)
    (1500, 500)
    """
    check_instance("data", data, MultimodalData, "a MultimodalData")
    test_fraction = check_number(
        "test_fraction", test_fraction, low=0, high=1, low_open=True, high_open=True
    )
    seed = check_seed(seed)
    n = len(data)
    if n < 2:
        raise InvalidParameterError(f"data must hold at least 2 samples to split, got {n}")
    rng = stream(seed, "split")
    if stratify is None:
        order = rng.permutation(n)
        n_test = min(max(round(test_fraction * n), 1), n - 1)
        test_index, train_index = order[:n_test], order[n_test:]
    else:
        check_choice("stratify", stratify, sorted(data.targets))
        labels = data.targets[stratify]
        if labels.ndim != 1 or labels.dtype.kind not in "iu":
            raise InvalidParameterError(
                f"stratify: target {stratify!r} must be 1-D integer labels, got dtype "
                f"{labels.dtype} shape {labels.shape}"
            )
        test_parts, train_parts = [], []
        for label in np.unique(labels):
            members = rng.permutation(np.flatnonzero(labels == label))
            n_test = round(test_fraction * len(members))
            test_parts.append(members[:n_test])
            train_parts.append(members[n_test:])
        test_index = rng.permutation(np.concatenate(test_parts))
        train_index = rng.permutation(np.concatenate(train_parts))
        if len(test_index) == 0 or len(train_index) == 0:
            raise InvalidParameterError(
                f"test_fraction={test_fraction} leaves the train or test set empty when "
                f"stratifying {n} samples by {stratify!r}"
            )
    return data.subset(train_index), data.subset(test_index)


def standardize(train: MultimodalData, *others: MultimodalData) -> tuple[MultimodalData, ...]:
    """Scale every feature to mean 0 and standard deviation 1, with statistics of ``train`` only.

    Each modality's feature ``j`` becomes ``(x_j − mean_j) / std_j``, with ``mean_j`` and
    ``std_j`` measured on ``train``, so nothing about the held-out sets leaks into the model.
    A feature that is constant on ``train`` (``std_j = 0``) is only centred. With a mask, the
    statistics come from the rows where the modality is present, and absent rows stay 0 (in
    every set); targets and masks are kept as they are.

    Parameters
    ----------
    train : MultimodalData
        The set the statistics come from; it is standardised too.
    *others : MultimodalData
        Further sets (test, validation) with the same modalities and feature counts.

    Returns
    -------
    tuple of MultimodalData
        ``train`` standardised, then each of ``others``, in order.

    Examples
    --------
    >>> from mmtutorial.data import load_digits
    >>> train, test = train_test_split(load_digits(views=("mor",)), stratify="digit")
    >>> train_z, test_z = standardize(train, test)
    >>> round(float(train_z.inputs["mor"].std(axis=0).max()), 3)
    1.0
    """
    for i, data in enumerate((train, *others)):
        if not isinstance(data, MultimodalData):
            name = "train" if i == 0 else f"others[{i - 1}]"
            raise InvalidParameterError(
                f"{name} must be a MultimodalData, got {type(data).__name__}"
            )
    present = {m: _present(train, m) for m in train.inputs}
    for m, rows in present.items():
        if not rows.any():
            raise InvalidParameterError(f"train: modality {m!r} is absent in every row")
    mean = {m: x[present[m]].mean(axis=0) for m, x in train.inputs.items()}
    std = {m: x[present[m]].std(axis=0) for m, x in train.inputs.items()}
    std = {m: np.where(s > 0, s, 1).astype(s.dtype) for m, s in std.items()}
    for i, data in enumerate(others):
        for m, x in data.inputs.items():
            if m not in mean or x.shape[1:] != mean[m].shape:
                expected = "no such modality" if m not in mean else f"{mean[m].shape[0]} features"
                raise InvalidParameterError(
                    f"others[{i}]: modality {m!r} has {x.shape[1]} features, train has {expected}"
                )

    def scaled(data: MultimodalData, m: str) -> np.ndarray:
        x = data.inputs[m]
        rows = _present(data, m).reshape(-1, *[1] * (x.ndim - 1))
        return np.where(rows, (x - mean[m]) / std[m], 0).astype(x.dtype, copy=False)

    return tuple(
        MultimodalData({m: scaled(data, m) for m in data.inputs}, data.targets, data.mask)
        for data in (train, *others)
    )


def _present(data: MultimodalData, m: str) -> np.ndarray:
    """The rows of ``data`` where modality ``m`` is present (all of them without a mask)."""
    return np.ones(len(data), bool) if data.mask is None else data.mask[m]


def batches(
    data: MultimodalData,
    batch_size: int,
    seed: int | np.random.Generator | None = 0,
    drop_last: bool = False,
) -> Iterator[MultimodalData]:
    """Yield mini-batches of ``data``, one pass over the samples.

    Parameters
    ----------
    data : MultimodalData
        The samples to batch.
    batch_size : int
        Samples per batch (the last one may be smaller unless ``drop_last``).
    seed : int, numpy.random.Generator or None, default 0
        Seed of the shuffle (its batch-order stream, :mod:`mmtutorial.seeds`), or the generator
        to draw it from (as ``numpy_nn.train`` does for each epoch); ``None`` keeps the order.
    drop_last : bool, default False
        Skip a final batch smaller than ``batch_size``.

    Yields
    ------
    MultimodalData
        Consecutive batches covering every sample once.

    Examples
    --------
    >>> from mmtutorial.data import article_data
    >>> [len(b) for b in batches(article_data(n_samples=10), batch_size=4)]
    [4, 4, 2]
    """
    check_instance("data", data, MultimodalData, "a MultimodalData")
    batch_size = check_int("batch_size", batch_size, low=1)
    drop_last = check_bool("drop_last", drop_last)
    n = len(data)
    if seed is None:
        order = np.arange(n)
    else:
        rng = check_rng("seed", seed)  # a generator as it is; a bad seed refused
        if not isinstance(seed, np.random.Generator):
            rng = stream(int(seed), "batches")
        order = rng.permutation(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        yield data.subset(order[start : start + batch_size])
