"""Draw the batches of several epochs at once, stacked, for the XLA loop of ``tf_nn.train``.

XLA cannot read a ``tf.data`` iterator, so :func:`draw_epochs` reads the batches in the graph first
(``jit_compile=True`` in chapters 4 and 5).
"""

from __future__ import annotations

from typing import Any

from ._tf import tf


def index(batches: Any, i: Any) -> Any:
    return tf.nest.map_structure(lambda t: t[i], batches)


def _stack_batches(spec: Any, size: Any) -> Any:
    """Return one TensorArray of ``size`` elements per tensor of a batch of ``spec``."""
    return tf.nest.map_structure(
        lambda s: tf.TensorArray(s.dtype, size=size, element_shape=s.shape), spec
    )


def _write(arrays: Any, i: Any, batch: Any) -> Any:
    return tf.nest.map_structure(lambda a, t: a.write(i, t), arrays, batch)


def draw_epochs(iterator: Any, n_epochs: tf.Tensor, steps: int) -> tuple[Any, Any]:
    """Draw ``n_epochs`` epochs of ``steps`` batches: ``(full, last)``, the first ``steps − 1``
    batches of each epoch stacked ``(n_epochs, steps − 1, batch, …)`` (None if ``steps`` is 1)
    and the last ``(n_epochs, batch, …)``."""
    spec = iterator.element_spec
    last = _stack_batches(spec, n_epochs)
    if steps == 1:
        for e in tf.range(n_epochs):
            last = _write(last, e, next(iterator))
        return None, tf.nest.map_structure(lambda a: a.stack(), last)
    full = _stack_batches(spec, n_epochs * (steps - 1))
    for e in tf.range(n_epochs):
        for i in tf.range(steps - 1):
            full = _write(full, e * (steps - 1) + i, next(iterator))
        last = _write(last, e, next(iterator))

    def unflatten(stacked: tf.Tensor) -> tf.Tensor:
        return tf.reshape(stacked, tf.concat([[n_epochs, steps - 1], tf.shape(stacked)[1:]], 0))

    full = tf.nest.map_structure(lambda a: unflatten(a.stack()), full)
    return full, tf.nest.map_structure(lambda a: a.stack(), last)
