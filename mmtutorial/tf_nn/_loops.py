"""The compiled epoch loops of ``tf_nn.train``: whole runs of epochs inside one ``tf.function``.

:func:`make_runner` loops over epochs and their steps in the graph, or, with XLA, first draws the
batches of several epochs at once (XLA cannot read a ``tf.data`` iterator; chapters 4 and 5).
The loops are ``tf.while_loop`` calls and the step's one branch a ``tf.cond``, traced with
``autograph=False``: AutoGraph's conversion of this code and of the Keras code it calls took
~1.7 s of a notebook's first trace (2.15 s → 0.38 s, the same losses to the last bit).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mmtutorial.history import History

from ._tf import tf

#: With ``jit_compile``, one XLA call runs as many whole epochs as fit in this many steps.
XLA_STEPS_PER_CALL = 1024


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
    per_epoch = steps - 1  # full batches in an epoch, before its last one

    def draw(e: tf.Tensor, full: Any, last: Any) -> tuple:
        if per_epoch:
            full = tf.while_loop(
                lambda i, _: i < per_epoch,
                lambda i, arrays: (i + 1, _write(arrays, e * per_epoch + i, next(iterator))),
                (tf.constant(0), full),
            )[1]
        return e + 1, full, _write(last, e, next(iterator))

    full = _stack_batches(spec, n_epochs * per_epoch) if per_epoch else ()
    last = _stack_batches(spec, n_epochs)
    _, full, last = tf.while_loop(lambda e, *_: e < n_epochs, draw, (tf.constant(0), full, last))
    last = tf.nest.map_structure(lambda a: a.stack(), last)
    if not per_epoch:
        return None, last

    def unflatten(stacked: tf.Tensor) -> tf.Tensor:
        return tf.reshape(stacked, tf.concat([[n_epochs, per_epoch], tf.shape(stacked)[1:]], 0))

    return tf.nest.map_structure(lambda a: unflatten(a.stack()), full), last


def _sum_steps(step: Callable, total: dict, batch: Callable, count: Any) -> dict:
    """Add the records of ``count`` steps, on ``batch(0)``, ``batch(1)``, …, to ``total``;
    stop after a step whose loss is not finite (that step updated nothing)."""

    def add_step(i: tf.Tensor, total: dict, finite: tf.Tensor) -> tuple:
        record = step(*batch(i))
        total = tf.nest.map_structure(tf.add, total, record)
        return i + 1, total, tf.math.is_finite(record["loss"])

    start = (tf.constant(0), total, tf.constant(True))
    return tf.while_loop(lambda i, _, finite: finite & (i < count), add_step, start)[1]


def _epochs(n: Any, run_epoch: Callable, template: dict, metrics: Mapping, epoch: Any) -> tuple:
    """Run ``n`` epochs, ``run_epoch(e)`` giving each one's summed records and its step count.

    Returns the per-epoch records stacked, shape ``(n,)``: means over the steps and the metrics
    at the end of the epoch, and the number of epochs run (it stops after a non-finite loss).
    """
    arrays = tf.nest.map_structure(
        lambda _: tf.TensorArray(tf.float64, size=n, element_shape=()), template
    )

    def one_epoch(e: tf.Tensor, arrays: Any, finite: tf.Tensor) -> tuple:
        for _, metric in metrics.values():
            metric.reset_state()  # each epoch's metrics are its own
        total, steps = run_epoch(e)
        record = tf.nest.map_structure(lambda t: t / tf.cast(steps, tf.float64), total)
        record["metrics"] |= {k: tf.cast(m.result(), tf.float64) for k, (_, m) in metrics.items()}
        arrays = tf.nest.map_structure(lambda a, v: a.write(e, v), arrays, record)
        return e + 1, arrays, tf.math.is_finite(record["loss"])

    start = (tf.constant(0), arrays, tf.constant(True))
    done, arrays, _ = tf.while_loop(lambda e, _, finite: finite & (e < n), one_epoch, start)
    epoch.assign_add(tf.cast(done, tf.int64))
    return tf.nest.map_structure(lambda a: a.stack(), arrays), done


def make_runner(
    step: Callable, template: dict, metrics: Mapping, epoch: tf.Variable, jit: bool
) -> Callable:
    """Return the compiled ``run(source, n_epochs, steps) -> (records, epochs run)``.

    ``source`` is an iterator over the batches, or, for data that is one batch every epoch
    (the full batch of a ``MultimodalData``), that batch itself: then no epoch draws anything.
    Without ``jit``, one graph loop draws each batch from the iterator and steps. With ``jit``
    (``steps`` a Python int), the ``n_epochs`` epochs' batches are drawn first, stacked, and all
    ``n_epochs`` epochs then run as one XLA computation: the full batches in a loop, then the
    last (perhaps smaller) batch of each epoch.
    """
    extras = {k: v for k, v in template["metrics"].items() if k not in metrics}
    sums = {**template, "metrics": extras}  # the step's own metrics are averaged like losses
    zeros = tf.nest.map_structure(lambda _: tf.constant(0.0, tf.float64), sums)

    def run(source: Any, n_epochs: tf.Tensor, steps: tf.Tensor) -> tuple:
        batch = (lambda _: source) if isinstance(source, tuple) else (lambda _: next(source))

        def run_epoch(_: tf.Tensor) -> tuple:
            return _sum_steps(step, zeros, batch, steps), steps

        return _epochs(n_epochs, run_epoch, template, metrics, epoch)

    @tf.function(jit_compile=True, autograph=False)
    def run_xla(full: Any, last: Any, steps: int) -> tuple:
        def run_epoch(e: tf.Tensor) -> tuple:
            total = zeros
            if full is not None:
                epoch_batches = index(full, e)
                total = _sum_steps(step, total, lambda i: index(epoch_batches, i), steps - 1)
            record = step(*index(last, e))
            return tf.nest.map_structure(tf.add, total, record), steps

        n = tf.shape(tf.nest.flatten(last)[0])[0]
        return _epochs(n, run_epoch, template, metrics, epoch)

    @tf.function(jit_compile=True, autograph=False)
    def run_xla_on(batch: tuple, n_epochs: tf.Tensor) -> tuple:
        def run_epoch(_: tf.Tensor) -> tuple:
            return tf.nest.map_structure(tf.add, zeros, step(*batch)), 1

        return _epochs(n_epochs, run_epoch, template, metrics, epoch)

    def run_jit(source: Any, n_epochs: tf.Tensor, steps: int) -> tuple:
        if isinstance(source, tuple):
            return run_xla_on(source, n_epochs)
        full, last = draw_epochs(source, n_epochs, steps)
        return run_xla(full, last, steps)

    return tf.function(run_jit if jit else run, reduce_retracing=True, autograph=False)


def append_epochs(
    history: History, records: dict, count: int, eval_loss: float | None = None
) -> None:
    """Append the first ``count`` epochs of stacked records ``{"loss": (n,), group: {k: (n,)}}``
    to ``history``, the last with ``eval_loss`` if given (then ``count`` is 1: a run with
    held-out data stops after every epoch)."""
    columns = tf.nest.map_structure(lambda t: t.numpy()[:count].tolist(), records)
    if eval_loss is not None:
        columns["eval_loss"] = [eval_loss]
    history.extend(columns)
