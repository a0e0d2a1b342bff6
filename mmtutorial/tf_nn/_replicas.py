"""The ``strategy=`` option of :func:`mmtutorial.tf_nn.train`: one step run on every replica.

Chapter 5's section on several workers uses it through :mod:`mmtutorial.tf_nn.distributed`.
Every replica draws the same *global* batch and trains on its own contiguous share of the rows;
the losses are divided by the global batch size, so that the gradients Keras' optimizer sums over
the replicas (it all-reduces with ``SUM`` under a ``tf.distribute`` strategy) are exactly the
gradients of the global batch mean, as in one process.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any

from mmtutorial._checks import InvalidParameterError, check_instance

from ._tf import keras, tf
from .models import encoder_positions

#: The message of the check that stops a replica step whose loss is not finite.
NON_FINITE = "mmtutorial: the global loss is not finite"


def check_strategy(strategy: Any, model: keras.Model, jit_compile: bool) -> Any:
    """Return ``strategy`` (or None) if the model's variables live in it and XLA is off."""
    if strategy is None:
        return None
    check_instance("strategy", strategy, tf.distribute.Strategy, "a tf.distribute.Strategy")
    if jit_compile:
        raise InvalidParameterError(
            "jit_compile=True cannot be combined with a strategy: TensorFlow 2.21 does not "
            "compile collectives (the gradient all-reduce) with XLA on CPU; pass "
            "jit_compile=False"
        )
    outside = [
        v.path
        for v in model.trainable_variables
        if not strategy.extended.variable_created_in_scope(getattr(v, "value", v))
    ]
    if outside:
        raise InvalidParameterError(
            "model must be built inside `with strategy.scope():` so that its variables are "
            f"mirrored on every replica, got variables created outside it: {outside[:3]}"
        )
    return strategy


def build_optimizer(optimizer: Any, model: keras.Model, strategy: Any) -> None:
    """Build ``optimizer`` on the model's weights; under a strategy it must come from its scope."""
    try:
        optimizer.build(model.trainable_variables)
    except RuntimeError as error:
        if strategy is None or "Mixing different tf.distribute.Strategy" not in str(error):
            raise
        raise InvalidParameterError(
            "optimizer must be created inside `with strategy.scope():` (a Keras optimizer "
            "keeps the strategy it was made in), got one made outside it; or pass its name"
        ) from None


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


def _share(batch: Any, replica: tf.Tensor, replicas: int, size: tf.Tensor) -> Any:
    """Rows ``[replica·size/replicas, (replica+1)·size/replicas)`` of every tensor of ``batch``."""
    start, stop = replica * size // replicas, (replica + 1) * size // replicas
    return tf.nest.map_structure(lambda t: t[start:stop], batch)


def _global_mean(values: tf.Tensor, rows: tf.Tensor, size: tf.Tensor) -> tf.Tensor:
    """This replica's part of the global batch mean: ``Σ values / size``; a loss function that
    returns its own batch mean (a scalar) is weighted by ``rows / size`` (0 for an empty share)."""
    if values.shape.rank == 0:
        return tf.math.multiply_no_nan(values, tf.cast(rows / size, values.dtype))
    return tf.reduce_sum(values) / tf.cast(size, values.dtype)


def make_replica_step(
    strategy: tf.distribute.Strategy,
    model: keras.Model,
    losses: Mapping[str, Callable],
    loss_weights: Mapping[str, float],
    optimizer: keras.optimizers.Optimizer,
    metrics: Mapping[str, tuple[str, keras.metrics.Metric]],
) -> Callable[[dict, dict], dict]:
    """Return ``step(x, y)`` for a global batch, with the record of :func:`make_train_step`.

    Each replica computes ``L_r = Σ_i λ_i · (sum of its rows' losses) / N`` (``N`` the global
    batch size), so ``Σ_r L_r`` is the global batch mean; the optimizer sums the replicas'
    gradients. One all-reduce then sums the records and the encoders' gradients, so that the
    recorded ``grad_norms`` are those of the global gradient, as in one process.
    """
    variables = model.trainable_variables
    encoders, raw = encoder_positions(model, variables)
    # A Keras loss object divides its batch mean by the number of replicas under a strategy
    # (right only for equal shares): use its per-sample values and divide by N here instead.
    losses = {h: fn.call if isinstance(fn, keras.losses.Loss) else fn for h, fn in losses.items()}

    def replica_step(x: dict, y: dict) -> dict:
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync
        size = tf.shape(tf.nest.flatten(y)[0])[0]
        x, y = _share((x, y), context.replica_id_in_sync_group, replicas, size)
        share = tf.shape(tf.nest.flatten(y)[0])[0]
        with tf.GradientTape() as tape:
            for m in raw:
                tape.watch(x[m])
            out = model(x, training=True)
            heads = {h: _global_mean(fn(y[h], out[h]), share, size) for h, fn in losses.items()}
            extra = [tf.nn.scale_regularization_loss(loss) for loss in model.losses]
            total = tf.add_n([loss_weights[h] * heads[h] for h in heads] + extra)
        grads = tape.gradient(total, [*variables, *(x[m] for m in raw)])
        # A NaN or infinite global loss stops the step before its update (no branch: a
        # strategy's all-reduce may not sit inside control flow); fit turns it into the error.
        global_total = context.all_reduce(tf.distribute.ReduceOp.SUM, total)
        with tf.control_dependencies([tf.debugging.check_numerics(global_total, NON_FINITE)]):
            grads = [None if g is None else tf.identity(g) for g in grads]
        pairs = zip(grads[: len(variables)], variables, strict=True)
        optimizer.apply_gradients([(g, v) for g, v in pairs if g is not None])
        for h, metric in metrics.values():
            metric.update_state(y[h], out[h])
        record = {
            "loss": total,
            "head_losses": heads,
            "encoder_grads": {m: [grads[i] for i in encoders[m]] for m in encoders},
            "input_squares": {
                m: tf.reduce_sum(tf.square(g))
                for m, g in zip(raw, grads[len(variables) :], strict=True)
            },
        }
        return context.all_reduce(tf.distribute.ReduceOp.SUM, record)

    def step(x: dict, y: dict) -> dict:
        record = strategy.experimental_local_results(strategy.run(replica_step, (x, y)))[0]
        norms = {m: tf.linalg.global_norm(g) for m, g in record["encoder_grads"].items()}
        norms |= {f"input_{m}": tf.sqrt(s) for m, s in record["input_squares"].items()}
        record = {"loss": record["loss"], "head_losses": record["head_losses"], "grad_norms": norms}
        record["metrics"] = {}  # the plain step's extra records: none without the balance options
        return tf.nest.map_structure(lambda t: tf.cast(t, tf.float64), record)

    return step
