"""Turn a :class:`~mmtutorial.data.MultimodalData` into the ``tf.data`` pipeline that
:func:`mmtutorial.tf_nn.train` consumes: ``(inputs dict, targets dict)`` batches (chapters 4 and 5).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mmtutorial._checks import (
    InvalidParameterError,
    check_dtype,
    check_finite,
    check_int,
    check_seed,
)
from mmtutorial.seeds import stream_seed

from ._tf import tf

__all__ = ["make_dataset"]


def make_dataset(
    data: Any,
    batch_size: int | None = None,
    *,
    shuffle_seed: int | None = 0,
    dtype: str | np.dtype = "float64",
) -> tf.data.Dataset:
    """Return a finite dataset of ``(inputs, targets)`` batches from in-memory data, or of
    ``(inputs, targets, mask)`` batches when the data has a mask.

    Parameters
    ----------
    data : mmtutorial.data.MultimodalData
        Inputs ``{modality: (n, d_m)}`` and targets ``{head: (n, k) or (n,)}``. With a mask
        (``{modality: (n,) bool}``, True where present), every batch carries it, and
        :func:`~mmtutorial.tf_nn.train` tells the fusion layer which modalities are absent.
    batch_size : int, optional
        Samples per batch, at most the number of samples (the last batch may be smaller);
        ``None``: one full batch.
    shuffle_seed : int or None, default 0
        Shuffle the samples, differently every epoch, from the batch-order stream of this seed
        (:mod:`mmtutorial.seeds`), as ``numpy_nn.train`` does; ``None`` keeps their order.
        The dataset object counts its passes: a fresh one repeats the same sequence of orders.
        A full batch is never shuffled (its mean gradient does not depend on the order).
    dtype : numpy dtype or str, float32 or float64
        Dtype of the inputs and of float targets (float64 by default, as the builders);
        integer targets become int64 labels. :func:`~mmtutorial.tf_nn.train` casts them to the
        model's dtype in any case.

    Examples
    --------
    >>> from mmtutorial.data import article_data
    >>> dataset = make_dataset(article_data(), batch_size=32)
    >>> int(dataset.cardinality()), sorted(dataset.element_spec[0])
    (4, ['x1', 'x2'])
    """
    for field in ("inputs", "targets"):
        if not isinstance(getattr(data, field, None), dict):
            raise InvalidParameterError(
                f"data must be a MultimodalData (with {field!r}), got {type(data).__name__}"
            )
    dtype = check_dtype("dtype", dtype).name
    shuffle_seed = check_seed(shuffle_seed, "shuffle_seed", allow_none=True)
    for group in ("inputs", "targets"):
        for key, array in getattr(data, group).items():
            check_finite(f"data.{group}[{key!r}]", array)
    sizes = {len(np.asarray(a)) for a in [*data.inputs.values(), *data.targets.values()]}
    if len(sizes) != 1 or 0 in sizes:
        raise InvalidParameterError(
            f"data must hold at least one sample, the same number in every input and target, "
            f"got sample counts {sorted(sizes)}"
        )
    n = sizes.pop()
    if batch_size is not None:  # as numpy_nn.train: a batch larger than the data is a mistake
        batch_size = check_int("batch_size", batch_size, low=1, high=n)

    def tensor(array: np.ndarray) -> tf.Tensor:
        kind = np.asarray(array).dtype.kind
        return tf.constant(array, tf.int64 if kind in "biu" else dtype)

    # In-memory batches are ready at once: a prefetch thread and autotuning only add a hand-off
    # per batch, which for small networks costs more than the training step itself.
    options = tf.data.Options()
    options.autotune.enabled = False
    options.experimental_optimization.inject_prefetch = False
    element = (
        {m: tf.constant(x, dtype) for m, x in data.inputs.items()},
        {h: tensor(y) for h, y in data.targets.items()},
    )
    mask = getattr(data, "mask", None)
    if mask is not None:
        element += ({m: tf.constant(present, tf.bool) for m, present in mask.items()},)
    if batch_size is None or batch_size == n:
        return tf.data.Dataset.from_tensors(element).with_options(options)
    index = tf.data.Dataset.range(n)
    if shuffle_seed is not None:
        seed = stream_seed(shuffle_seed, "batches")
        index = index.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    # Gathering whole batches is much cheaper than slicing samples one by one and re-batching.
    batches = index.batch(batch_size).map(
        lambda i: tf.nest.map_structure(lambda t: tf.gather(t, i), element)
    )
    return batches.with_options(options)
