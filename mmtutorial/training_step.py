"""The compiled heart of :func:`mmtutorial.training.train`: one training step, in graph loops.

:func:`make_epoch_runner` returns the function that ``tf.function`` compiles; chapter 4 shows its
source. Records are flat dicts keyed ``"loss"``, ``"head_losses/<h>"``, ``"grad_norms/<m>"`` and
``"metrics/<head>_<name>"``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mmtutorial.repro import import_tensorflow

tf = import_tensorflow()

import keras  # noqa: E402

__all__ = ["encoder_variable_indices", "make_epoch_runner"]


def encoder_variable_indices(
    model: keras.Model, modalities: list[str]
) -> dict[str, list[int] | None]:
    """Return, per modality, the positions in ``model.trainable_variables`` of its encoder.

    The encoder is the layer named ``encoder_<modality>``; ``None`` means the model has none.

    Examples
    --------
    >>> from mmtutorial.tf_models import build_multimodal_model
    >>> model = build_multimodal_model({"a": 2, "b": 3}, {"y": (1, None)}, encoder_units=4)
    >>> encoder_variable_indices(model, ["a", "b"])
    {'a': [0, 1], 'b': [2, 3]}
    """
    layers = {layer.name: layer for layer in model.layers}
    position = {id(v): i for i, v in enumerate(model.trainable_variables)}
    return {
        m: None
        if f"encoder_{m}" not in layers
        else [position[id(v)] for v in layers[f"encoder_{m}"].trainable_variables]
        for m in modalities
    }


def make_epoch_runner(
    model: keras.Model,
    losses: Mapping[str, Callable],
    loss_weights: Mapping[str, float],
    optimizer: keras.optimizers.Optimizer,
    metrics: Mapping[str, tuple[str, keras.metrics.Metric]],
    modalities: list[str],
    epoch: tf.Variable,
) -> Callable:
    """Return ``run(iterator, n_epochs, steps) -> {record: (n_epochs,) float64}`` to compile.

    ``run`` trains ``n_epochs`` epochs of ``steps`` batches drawn from ``iterator``, adds 1 to
    ``epoch`` after each, and returns per-epoch records (see the module docstring): the means
    over each epoch's steps of the loss, the head losses and the gradient norms, and each
    metric's value at the end of the epoch.

    Examples
    --------
    >>> from mmtutorial.data import article_data
    >>> from mmtutorial.tf_models import article_model
    >>> from mmtutorial.training_data import make_dataset
    >>> model, adam = article_model(seed=0), keras.optimizers.Adam(0.01)
    >>> adam.build(model.trainable_variables)
    >>> losses = {"y1": keras.losses.mean_squared_error, "y2": keras.losses.mean_squared_error}
    >>> run = tf.function(make_epoch_runner(model, losses, {"y1": 1.0, "y2": 1.0}, adam, {},
    ...                                     ["x1", "x2"], tf.Variable(0, dtype=tf.int64)))
    >>> records = run(iter(make_dataset(article_data()).repeat()), tf.constant(2), tf.constant(1))
    >>> records["loss"].shape
    TensorShape([2])
    >>> sorted(records)
    ['grad_norms/x1', 'grad_norms/x2', 'head_losses/y1', 'head_losses/y2', 'loss']
    """
    variables = model.trainable_variables
    encoders = encoder_variable_indices(model, modalities)
    raw = [m for m in modalities if encoders[m] is None]
    names = [
        "loss",
        *(f"head_losses/{h}" for h in losses),
        *(f"grad_norms/{m}" for m in modalities),
    ]

    def step(x: dict, y: dict) -> dict:
        with tf.GradientTape() as tape:
            for m in raw:  # no encoder: measure the gradient reaching the input itself
                tape.watch(x[m])
            out = model(x, training=True)
            heads = {h: tf.reduce_mean(fn(y[h], out[h])) for h, fn in losses.items()}
            total = tf.add_n([loss_weights[h] * heads[h] for h in heads] + model.losses)
        grads = tape.gradient(total, [*variables, *(x[m] for m in raw)])
        pairs = zip(grads[: len(variables)], variables, strict=True)
        optimizer.apply_gradients([(g, v) for g, v in pairs if g is not None])  # unused heads
        input_grads = dict(zip(raw, grads[len(variables) :], strict=True))
        for h, metric in metrics.values():
            metric.update_state(y[h], out[h])
        record = {"loss": total, **{f"head_losses/{h}": v for h, v in heads.items()}}
        for m in modalities:
            norm = (
                tf.norm(input_grads[m])
                if encoders[m] is None
                else tf.linalg.global_norm([grads[i] for i in encoders[m]])
            )
            record[f"grad_norms/{m}"] = norm
        return {k: tf.cast(v, tf.float64) for k, v in record.items()}

    def run(iterator: Any, n_epochs: tf.Tensor, steps: tf.Tensor) -> dict:
        keys = names + [f"metrics/{k}" for k in metrics]
        arrays = {k: tf.TensorArray(tf.float64, size=n_epochs) for k in keys}
        for e in tf.range(n_epochs):
            for _, metric in metrics.values():
                metric.reset_state()
            sums = {k: tf.constant(0.0, tf.float64) for k in names}
            for _ in tf.range(steps):
                x, y = next(iterator)
                record = step(x, y)
                sums = {k: sums[k] + record[k] for k in names}
            means = {k: v / tf.cast(steps, tf.float64) for k, v in sums.items()}
            means.update(
                {f"metrics/{k}": tf.cast(m.result(), tf.float64) for k, (_, m) in metrics.items()}
            )
            arrays = {k: arrays[k].write(e, means[k]) for k in keys}
            epoch.assign_add(1)
        return {k: a.stack() for k, a in arrays.items()}

    return run
