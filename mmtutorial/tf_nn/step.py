"""One training step for multimodal Keras models, in one process or on a strategy's replicas.

:func:`make_train_step` is what :class:`~mmtutorial.tf_nn.Trainer` compiles (chapter 4; chapter 5
adds the imbalance remedies of :mod:`.balance`, the loss weighting of :mod:`.loss_weighting` and
the replicas of :mod:`._replicas`). Read it top to bottom: the forward pass and the gradients on
one share of the batch, the update, then the record.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from . import balance, loss_weighting
from ._replicas import NON_FINITE, batch_share, share_of_mean
from ._tf import keras, tf
from ._train_checks import check_ogm_ge
from .balance import OGMGE
from .model_parts import auxiliary_head_targets, encoder_positions, with_encoder_outputs

__all__ = ["grad_norm_names", "make_train_step"]


def make_train_step(
    model: keras.Model,
    losses: Mapping[str, Callable],
    loss_weights: Mapping[str, float | tf.Variable],
    optimizer: keras.optimizers.Optimizer,
    metrics: Mapping[str, tuple[str, keras.metrics.Metric]],
    *,
    modality_dropout: float | tf.Variable = 0.0,
    ogm_ge: OGMGE | None = None,
    ogm_alpha: float | tf.Variable | None = None,
    log_variances: Mapping[str, tf.Variable] | None = None,
    seed: int = 0,
    grad_norms: bool = False,
    encoders: Mapping[str, str] | None = None,
    strategy: tf.distribute.Strategy | None = None,
) -> Callable[..., dict]:
    """Return ``step(x, y, present=None)``: one optimiser step on a batch, returning its record.

    The record is ``{"loss": L, "head_losses": {h: L_i}, "grad_norms": {…}, "metrics": {…}}``
    (float64 scalars). For head ``i`` named ``h``, ``L_i`` is the batch mean of
    ``losses[h](y_i, ŷ_i)`` and ``L = Σ_i λ_i L_i`` (``λ_i = loss_weights[h]``) plus any
    ``model.losses``; an auxiliary head ``aux_<m>_<h>`` learns head ``h``'s target. ``present``
    (``{m: (batch,) bool}``, the data's mask) marks absent modalities. A step whose ``L`` is not
    finite updates nothing. The step also updates the ``metrics``.

    With ``grad_norms``, for each modality ``m`` with an encoder (the layer ``encoder_<m>``, or
    ``encoders[m]``) of weights ``θ_m``: ``grad_norms[m] = ‖∂L/∂θ_m‖``, and
    ``per_parameter_<m>``, that norm divided by ``√|θ_m|``; for every modality,
    ``output_<m> = ‖∂L/∂e_m‖`` over the batch at the encoder's output ``e_m`` (at the input, for
    a modality without an encoder). Only the last two compare modalities of different widths.
    All are taken before OGM-GE.

    With ``strategy``, each replica takes its own contiguous rows of the batch and divides its
    losses by the whole batch's size: the gradients the optimizer sums over the replicas, and
    the summed record, are those of one process on the whole batch.

    The step carries ``step.record_keys`` (``{"grad_norms": [...], "metrics": [...]}``, the
    keys its record adds: :func:`grad_norm_names`, learned weights, OGM-GE's coefficients) and
    ``step.evaluate(dataset)``, the compiled ``L`` over a dataset in inference mode (the
    :class:`~mmtutorial.tf_nn.Trainer`'s ``eval_loss``).

    The other options are :class:`~mmtutorial.tf_nn.Trainer`'s, as its checks pass them on
    (``ogm_ge`` scores on its ``head``, which may be None only for one main head). ``ogm_alpha``
    (a variable, so that it can change without a new trace) replaces ``ogm_ge.alpha``, and
    ``log_variances`` (``{h: s_i}``) are the learned weights of ``loss_weighting="uncertainty"``.
    """
    log_variances = dict(log_variances or {})
    variables = model.trainable_variables + list(log_variances.values())
    targets = auxiliary_head_targets(model)  # {aux_<m>_<h>: h}: whose target each learns
    groups, raw = encoder_positions(model, variables, encoders)
    network = with_encoder_outputs(model, encoders) if grad_norms else model
    main = [h for h in losses if h not in targets]
    head = check_ogm_ge(ogm_ge, groups, main)  # OGM-GE's scoring head, None without it
    alpha = ogm_ge.alpha if ogm_alpha is None and ogm_ge is not None else ogm_alpha
    sizes = {m: sum(math.prod(variables[i].shape) for i in groups[m]) for m in groups}
    if strategy is not None:  # a Keras loss object would divide its mean by the replica count
        losses = {
            h: fn.call if isinstance(fn, keras.losses.Loss) else fn for h, fn in losses.items()
        }

    def on_share(x: dict, y: dict, present: dict | None) -> dict:
        """Forward, backward and update on this replica's rows (all rows in one process)."""
        context = tf.distribute.get_replica_context()
        size = tf.shape(tf.nest.flatten(y)[0])[0]
        if strategy is not None:
            replica, count = context.replica_id_in_sync_group, context.num_replicas_in_sync
            x, y = batch_share((x, y), replica, count, size)
        rows = tf.shape(tf.nest.flatten(y)[0])[0]
        y = {h: y[h] if h in y else y[targets[h]] for h in losses}
        step_number = optimizer.iterations  # keys the random draws
        with tf.GradientTape() as tape:
            for m in raw if grad_norms else ():  # no encoder: the gradient at the input itself
                tape.watch(x[m])
            out = balance.forward(network, x, modality_dropout, seed, step_number, present)
            y_hat, encoded = out if grad_norms else (out, {})
            heads = {h: share_of_mean(fn(y[h], y_hat[h]), rows, size) for h, fn in losses.items()}
            total, weights = loss_weighting.weighted_total(heads, loss_weights, log_variances)
            total = tf.add_n([total, *map(tf.nn.scale_regularization_loss, model.losses)])
        outputs = {**encoded, **{m: x[m] for m in raw if grad_norms}}
        grads = tape.gradient(total, [*variables, *outputs.values()])
        output_grads = dict(zip(outputs, grads[len(variables) :], strict=True))
        grads = grads[: len(variables)]
        record = {
            "loss": total,
            "head_losses": heads,
            "encoder_grads": {m: [grads[i] for i in groups[m]] for m in groups if grad_norms},
            "output_squares": {m: tf.reduce_sum(tf.square(g)) for m, g in output_grads.items()},
            "metrics": {f"loss_weight_{h}": w for h, w in weights.items()},
        }
        if ogm_ge is not None:
            grads, coefficients = balance.ogm_step(
                ogm_ge, alpha, head, model, x, y, losses, grads, groups, seed, step_number
            )
            record["metrics"] |= coefficients
        pairs = [(g, v) for g, v in zip(grads, variables, strict=True) if g is not None]

        def update() -> None:  # (a head without a loss has no gradients)
            optimizer.apply_gradients(pairs)

        if strategy is None:  # a NaN or infinite loss updates nothing
            tf.cond(tf.math.is_finite(total), update, lambda: None)
        else:  # every replica stops on the global loss; an all-reduce may not sit in a branch
            whole = context.all_reduce(tf.distribute.ReduceOp.SUM, total)
            with tf.control_dependencies([tf.debugging.check_numerics(whole, NON_FINITE)]):
                pairs = [(tf.identity(g), v) for g, v in pairs]
            optimizer.apply_gradients(pairs)
        for h, metric in metrics.values():
            metric.update_state(y[h], y_hat[h])
        if strategy is None:
            return record
        return context.all_reduce(tf.distribute.ReduceOp.SUM, record)

    def step(x: dict, y: dict, present: dict | None = None) -> dict:
        if strategy is None:
            record = on_share(x, y, present)
        else:
            results = strategy.run(on_share, (x, y, present))
            record = strategy.experimental_local_results(results)[0]
        norms = {}
        for m, g in record.pop("encoder_grads").items():
            norms[m] = tf.linalg.global_norm(g)
            norms[f"per_parameter_{m}"] = norms[m] / math.sqrt(sizes[m])
        for m, squares in record.pop("output_squares").items():
            norms[f"output_{m}"] = tf.sqrt(squares)
        record["grad_norms"] = norms
        return tf.nest.map_structure(lambda t: tf.cast(t, tf.float64), record)

    step.record_keys = {  # what the record holds beyond the losses and the given metrics
        "grad_norms": _norm_names(model, groups) if grad_norms else [],
        "metrics": [f"loss_weight_{h}" for h in log_variances]
        + [f"ogm_coefficient_{m}" for m in groups if ogm_ge is not None],
    }
    step.evaluate = make_evaluator(model, losses, loss_weights, log_variances, targets)
    return step


def grad_norm_names(model: keras.Model, encoders: Mapping[str, str] | None = None) -> list[str]:
    """Return the ``grad_norms`` keys of :func:`make_train_step` with ``grad_norms=True``.

    Examples
    --------
    >>> from mmtutorial.tf_nn import article_model, build_multimodal_model
    >>> grad_norm_names(build_multimodal_model({"a": 2}, {"y": 1}, encoder_units=3))
    ['a', 'per_parameter_a', 'output_a']
    >>> grad_norm_names(article_model())
    ['output_x1', 'output_x2']
    """
    return _norm_names(model, encoder_positions(model, model.trainable_variables, encoders)[0])


def _norm_names(model: keras.Model, groups: Mapping[str, list]) -> list[str]:
    """The ``grad_norms`` keys for a model whose encoders' weights are ``groups``."""
    names = []
    for m in model.input:
        names += [m, f"per_parameter_{m}"] if m in groups else []
        names.append(f"output_{m}")
    return names


def make_evaluator(
    model: keras.Model,
    losses: Mapping[str, Callable],
    loss_weights: Mapping[str, float | tf.Variable],
    log_variances: Mapping[str, tf.Variable],
    targets: Mapping[str, str],
) -> Callable[[tf.data.Dataset], tf.Tensor]:
    """Return the compiled ``evaluate(dataset)``: the step's weighted total loss ``L`` over every
    sample of ``dataset`` (batches weighted by their size), in inference mode, updating nothing.
    A batch's mask is honoured as in training; an auxiliary head ``h`` learns ``targets[h]``'s
    target."""

    def add_batch(sums: tuple, batch: tuple) -> tuple:
        x, y = batch[0], batch[1]
        present = batch[2] if len(batch) == 3 else None
        y = {h: y[h] if h in y else y[targets[h]] for h in losses}
        if present is None:
            y_hat = model(x, training=False)
        else:
            y_hat = balance.call_with_mask(model, x, present, training=False)
        heads = {h: tf.reduce_mean(fn(y[h], y_hat[h])) for h, fn in losses.items()}
        loss = loss_weighting.weighted_total(heads, loss_weights, log_variances)[0]
        rows = tf.cast(tf.shape(tf.nest.flatten(y)[0])[0], tf.float64)
        loss = tf.cast(tf.add_n([loss, *model.losses]), tf.float64)
        return sums[0] + loss * rows, sums[1] + rows

    @tf.function(autograph=False)
    def evaluate(dataset: tf.data.Dataset) -> tf.Tensor:
        zero = tf.constant(0.0, tf.float64)
        total, count = dataset.reduce((zero, zero), add_batch)
        return total / count

    return evaluate
