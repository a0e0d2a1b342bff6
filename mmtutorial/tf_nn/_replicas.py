"""The ``strategy=`` option of :func:`mmtutorial.tf_nn.train`: each replica's share of a batch.

Chapter 5's section on several workers uses it through :mod:`mmtutorial.tf_nn.distributed`.
Every replica draws the same *global* batch and trains on its own contiguous share of the rows;
the losses are divided by the global batch size, so that the gradients Keras' optimizer sums over
the replicas (it all-reduces with ``SUM`` under a ``tf.distribute`` strategy) are exactly the
gradients of the global batch mean, as in one process. (The option is checked in
:mod:`._train_checks`.)
"""

from __future__ import annotations

import contextlib
from typing import Any

from ._tf import tf

#: The message of the check that stops a replica step whose loss is not finite.
NON_FINITE = "mmtutorial: the global loss is not finite"


def scope(strategy: Any) -> Any:
    """``strategy.scope()``, or a context that does nothing when there is no strategy."""
    return contextlib.nullcontext() if strategy is None else strategy.scope()


def is_chief(strategy: Any) -> bool:
    """True in the one process that writes checkpoints and results: the ``chief`` task, else
    worker 0; every process is the chief without a strategy or a cluster."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    if has_chief:
        return resolver.task_type == "chief"
    return resolver.task_type == "worker" and resolver.task_id == 0


def batch_share(batch: Any, replica: tf.Tensor, replicas: int, size: tf.Tensor) -> Any:
    """Rows ``[replica·size/replicas, (replica+1)·size/replicas)`` of every tensor of ``batch``."""
    start, stop = replica * size // replicas, (replica + 1) * size // replicas
    return tf.nest.map_structure(lambda t: t[start:stop], batch)


def share_of_mean(values: tf.Tensor, rows: tf.Tensor, size: tf.Tensor) -> tf.Tensor:
    """This replica's part of the global batch mean: ``Σ values / size``; a loss function that
    returns its own batch mean (a scalar) is weighted by ``rows / size`` (0 for an empty share)."""
    if values.shape.rank == 0:
        return tf.math.multiply_no_nan(values, tf.cast(rows / size, values.dtype))
    return tf.reduce_sum(values) / tf.cast(size, values.dtype)
