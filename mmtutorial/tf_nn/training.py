"""A compiled custom training loop for multimodal Keras models, with resumable checkpoints.

Read top to bottom: one ``tf.GradientTape`` step returning a nested record, then :class:`Trainer`
and :func:`train`, which run it in the epoch loops of ``_loops`` (chapter 4; chapter 5 adds the
imbalance remedies of :mod:`.balance` and the loss weighting of :mod:`.loss_weighting`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mmtutorial._checks import InvalidParameterError, check_bool, check_int, check_mapping
from mmtutorial.history import History
from mmtutorial.perturb import record_run

from . import balance, loss_weighting
from ._arguments import (
    cast_to_model,
    check_data,
    check_losses,
    check_metrics,
    check_model,
    check_optimizer,
)
from ._history_io import Checkpoints, append_epochs, progress_line
from ._loops import XLA_STEPS_PER_CALL, make_runner
from ._replicas import (
    NON_FINITE,
    build_optimizer,
    check_strategy,
    is_chief,
    make_replica_step,
    scope,
)
from ._tf import keras, tf
from .balance import OGMGE
from .models import auxiliary_head_targets, encoder_layers, encoder_positions

__all__ = ["Trainer", "grad_norm_names", "make_train_step", "train"]


def make_train_step(
    model: keras.Model,
    losses: Mapping[str, Callable],
    loss_weights: Mapping[str, float],
    optimizer: keras.optimizers.Optimizer,
    metrics: Mapping[str, tuple[str, keras.metrics.Metric]],
    *,
    modality_dropout: float = 0.0,
    ogm_ge: OGMGE | None = None,
    log_variances: Mapping[str, tf.Variable] | None = None,
    seed: int = 0,
) -> Callable[[dict, dict], dict]:
    """Return ``step(x, y, present=None)``: one optimiser step on a batch (``present``: the
    data's mask, ``{m: (batch,) bool}``), returning its nested record.

    The record is ``{"loss": L, "head_losses": {h: L_i}, "grad_norms": {name: norm}, "metrics":
    {...}}`` (float64 scalars) with, for head ``i`` named ``h``, ``L_i`` the batch mean of
    ``losses[h](y_i, ŷ_i)`` and ``L = Σ_i λ_i L_i`` (``λ_i = loss_weights[h]``) plus any
    ``model.losses``; an auxiliary head ``aux_<m>_<h>`` learns head ``h``'s target.
    ``grad_norms[m]`` is ``sqrt(Σ_v ‖∂L/∂v‖²)`` over the variables ``v`` of layer ``encoder_<m>``
    (before OGM-GE); a modality without an encoder reports ``grad_norms["input_<m>"]``, the norm
    of ``∂L/∂x_m`` over the batch. The step also updates the ``metrics``. The options are
    :func:`train`'s, with ``log_variances`` (``{h: s_i}``) for ``loss_weighting="uncertainty"``.
    """
    log_variances = dict(log_variances or {})
    balance.check_ogm_ge(ogm_ge, model, losses)
    variables = model.trainable_variables + list(log_variances.values())
    encoders, raw = encoder_positions(model, variables)
    targets = auxiliary_head_targets(model)

    def step(x: dict, y: dict, present: dict | None = None) -> dict:
        y = {h: y[h] if h in y else y[targets[h]] for h in losses}
        extras, step_number = {}, optimizer.iterations  # keys the random draws
        with tf.GradientTape() as tape:
            for m in raw:  # no encoder: measure the gradient reaching the input itself
                tape.watch(x[m])
            y_hat = balance.forward(model, x, modality_dropout, seed, step_number, present)
            heads = {h: tf.reduce_mean(fn(y[h], y_hat[h])) for h, fn in losses.items()}
            total, weights = loss_weighting.weighted_total(heads, loss_weights, log_variances)
            total = tf.add_n([total, *model.losses])
        grads = tape.gradient(total, [*variables, *(x[m] for m in raw)])
        norms = {m: tf.linalg.global_norm([grads[i] for i in encoders[m]]) for m in encoders}
        if ogm_ge is not None:
            grads, extras = balance.ogm_step(
                ogm_ge, model, x, y, losses, grads, encoders, seed, step_number
            )
        if tf.math.is_finite(total):  # a NaN or infinite loss updates nothing (the loop stops)
            pairs = zip(grads[: len(variables)], variables, strict=True)
            optimizer.apply_gradients([(g, v) for g, v in pairs if g is not None])  # unused heads
        for h, metric in metrics.values():
            metric.update_state(y[h], y_hat[h])
        inputs = zip(raw, grads[len(variables) :], strict=True)
        norms |= {f"input_{m}": tf.norm(g) for m, g in inputs}
        extras |= {f"loss_weight_{h}": w for h, w in weights.items()}
        record = {"loss": total, "head_losses": heads, "grad_norms": norms, "metrics": extras}
        return tf.nest.map_structure(lambda t: tf.cast(t, tf.float64), record)

    return step


def grad_norm_names(model: keras.Model) -> list[str]:
    """Return the ``grad_norms`` keys of :func:`make_train_step`: ``m`` or ``"input_<m>"``.

    Examples
    --------
    >>> from mmtutorial.tf_nn import build_multimodal_model
    >>> grad_norm_names(build_multimodal_model({"a": 2}, {"y": (1, None)}, encoder_units=3))
    ['a']
    """
    encoders = encoder_layers(model)
    return [m if m in encoders else f"input_{m}" for m in model.input]


class Trainer:
    """Compile one training loop for ``model`` and run it on datasets (see :func:`train`).

    A :class:`Trainer` keeps its compiled function, so calling :meth:`fit` again (say, after
    resetting the weights, as :mod:`mmtutorial.bench` does) does not trace again.

    Examples
    --------
    >>> from mmtutorial.data import article_data
    >>> from mmtutorial.tf_nn import article_model, make_dataset
    >>> trainer = Trainer(article_model(seed=0), "adam", losses={"y1": "mse", "y2": "mse"})
    >>> len(trainer.fit(make_dataset(article_data()), epochs=3))
    3
    """

    def __init__(
        self,
        model: keras.Model,
        optimizer: keras.optimizers.Optimizer | str,
        *,
        losses: Mapping[str, Any],
        loss_weights: Mapping[str, float] | None = None,
        metrics: Mapping[str, Sequence[Any]] | None = None,
        jit_compile: bool = False,
        modality_dropout: float = 0.0,
        ogm_ge: OGMGE | None = None,
        loss_weighting: str = "fixed",
        seed: int = 0,
        strategy: tf.distribute.Strategy | None = None,
    ) -> None:
        self.model = check_model(model)
        self.losses, self.loss_weights = check_losses(self.model, losses, loss_weights)
        self.jit_compile = check_bool("jit_compile", jit_compile)
        self.strategy = check_strategy(strategy, self.model, self.jit_compile)
        self.options = balance.check_options(
            self.model, self.losses, self.loss_weights, modality_dropout=modality_dropout,
            ogm_ge=ogm_ge, loss_weighting=loss_weighting, seed=seed,
        )  # fmt: skip
        if self.strategy is not None and (modality_dropout or ogm_ge or loss_weighting != "fixed"):
            raise InvalidParameterError(
                "strategy trains with the plain step: modality_dropout, ogm_ge and "
                f"loss_weighting={loss_weighting!r} are not supported with it"
            )
        self.log_variances = self.options["log_variances"]  # learned with the model
        with scope(self.strategy):  # a named optimizer is made, and its slots mirrored, in it
            self.optimizer = check_optimizer(optimizer, self.model.trainable_variables)
            if self.strategy is None:
                self.optimizer.build(
                    self.model.trainable_variables + list(self.log_variances.values())
                )
            else:
                build_optimizer(self.optimizer, self.model, self.strategy)
        metrics = check_mapping(
            "metrics", metrics or {}, keys=self.losses, what="heads", exact=False, allow_empty=True
        )
        self._metric_specs = {h: list(ms) for h, ms in metrics.items()}
        self.metrics: dict[str, tuple[str, keras.metrics.Metric]] | None = None
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self._run, self._spec = None, None
        state = [*self.optimizer.variables, *self.log_variances.values()]
        self._initial_state = [(v, v.numpy()) for v in state]  # for restart

    def restart(self, weights: Sequence[Any]) -> None:
        """Start training afresh from ``weights``, keeping the compiled loop (no new trace).

        The model takes ``weights`` (``model.get_weights()``'s list, e.g. of the same network
        built with another seed); the optimizer's state (Adam's moments, its step counter) and
        learned loss weights return to their values when the :class:`Trainer` was made. A later
        :meth:`fit` on a freshly made dataset then trains exactly as a new :class:`Trainer` on a
        model with these weights would.

        Examples
        --------
        >>> from mmtutorial.data import article_data
        >>> from mmtutorial.tf_nn import article_model, make_dataset
        >>> trainer = Trainer(article_model(seed=0), "adam", losses={"y1": "mse", "y2": "mse"})
        >>> data = make_dataset(article_data())
        >>> first = trainer.fit(data, epochs=3).loss
        >>> trainer.restart(article_model(seed=0).get_weights())
        >>> trainer.fit(data, epochs=3).loss == first
        True
        """
        self.model.set_weights(weights)
        for variable, value in self._initial_state:
            variable.assign(value)

    def _compile(self, spec: tuple) -> None:
        if len(spec) == 3 and (self.strategy is not None or self.options["ogm_ge"] is not None):
            option = "strategy" if self.strategy is not None else "ogm_ge"
            raise InvalidParameterError(
                f"data carries a mask, which {option} cannot honour: pass a dataset without one "
                "(make_dataset(data) of the complete rows only)"
            )
        if self.metrics is None:  # built once: a later fit goes on with the same objects
            with scope(self.strategy):
                self.metrics = check_metrics(self._metric_specs, self.model, spec[1])
        if self.strategy is None:
            step = make_train_step(
                self.model, self.losses, self.loss_weights, self.optimizer, self.metrics,
                **self.options,
            )  # fmt: skip
        else:
            step = make_replica_step(
                self.strategy, self.model, self.losses, self.loss_weights, self.optimizer,
                self.metrics,
            )  # fmt: skip
        extras = balance.record_names(self.model, self.options["ogm_ge"], self.log_variances)
        template = {
            "loss": None,
            "head_losses": dict.fromkeys(self.losses),
            "grad_norms": dict.fromkeys(grad_norm_names(self.model)),
            "metrics": dict.fromkeys([*self.metrics, *extras]),
        }
        self._run = make_runner(step, template, self.metrics, self.epoch, self.jit_compile)
        self._spec = spec

    def fit(
        self,
        data: tf.data.Dataset,
        *,
        epochs: int,
        log_every: int = 0,
        checkpoint_dir: str | os.PathLike | None = None,
        checkpoint_every: int = 1,
        max_to_keep: int = 2,
    ) -> History:
        """Train until ``epochs`` epochs are done; arguments and result as in :func:`train`."""
        epochs = check_int("epochs", epochs, low=1)
        log_every = check_int("log_every", log_every, low=0)
        checkpoint_every = check_int("checkpoint_every", checkpoint_every, low=1)
        max_to_keep = check_int("max_to_keep", max_to_keep, low=1)
        steps = check_data(data, self.model, self.losses)
        data = cast_to_model(data, self.model)
        if self._run is None or self._spec != data.element_spec:
            self._compile(data.element_spec)
        iterator = iter(data.repeat())
        self.epoch.assign(0)
        history, saver = History(unit="epoch"), None
        if checkpoint_dir is not None:
            state = (self.model, self.optimizer, self.epoch, iterator, max_to_keep)
            extra = {"log_variances": self.log_variances} if self.log_variances else None
            saver = Checkpoints(checkpoint_dir, *state, extra=extra)
            history = saver.restore()
        while (done := int(self.epoch)) < epochs:
            stops = [epochs] + [
                (done // every + 1) * every
                for every in (log_every, checkpoint_every if saver else 0)
                if every
            ]
            if self.jit_compile:  # holds the batches of a whole call in memory: at most ~1024
                stops.append(done + max(1, XLA_STEPS_PER_CALL // steps))
            steps_arg = steps if self.jit_compile else tf.constant(steps)
            try:
                records, count = self._run(iterator, tf.constant(min(stops) - done), steps_arg)
            except tf.errors.InvalidArgumentError as error:  # only the replica step checks so
                if NON_FINITE not in str(error):
                    raise
                raise FloatingPointError(
                    f"loss became non-finite in epoch {len(history) + 1}, before that step's "
                    "update: the data holds NaN or inf, or the learning rate is too large"
                ) from None
            append_epochs(history, records, int(count))
            if not math.isfinite(history.loss[-1]):
                raise FloatingPointError(
                    f"loss became {history.loss[-1]} in epoch {len(history)}, before that step's "
                    "update: the data holds NaN or inf, or the learning rate is too large"
                )
            done = int(self.epoch)
            chief = is_chief(self.strategy)  # under a strategy, only the chief writes
            if saver is not None and chief and (done % checkpoint_every == 0 or done == epochs):
                saver.save(history)
            if log_every and (done % log_every == 0 or done == epochs):
                print(progress_line(history, epochs))
        record_run("tf_nn", history.loss)  # for make nbval-sweep
        return history


def train(
    model: keras.Model,
    data: tf.data.Dataset,
    optimizer: keras.optimizers.Optimizer | str,
    *,
    losses: Mapping[str, Any],
    epochs: int,
    loss_weights: Mapping[str, float] | None = None,
    metrics: Mapping[str, Sequence[Any]] | None = None,
    log_every: int = 0,
    checkpoint_dir: str | os.PathLike | None = None,
    checkpoint_every: int = 1,
    jit_compile: bool = False,
    modality_dropout: float = 0.0,
    ogm_ge: OGMGE | None = None,
    loss_weighting: str = "fixed",
    seed: int = 0,
    strategy: tf.distribute.Strategy | None = None,
) -> History:
    """Train a multimodal Keras model with one compiled ``tf.GradientTape`` loop.

    Each step is :func:`make_train_step`'s; whole runs of epochs execute inside one
    ``tf.function``, so Python runs only between progress lines and checkpoints. Where it and
    :func:`mmtutorial.numpy_nn.train` agree, and where not yet, is :mod:`mmtutorial.contract`.

    Parameters
    ----------
    model : keras.Model
        Takes a dict of modalities and returns a dict of heads.
    data : tf.data.Dataset
        Finite, yields ``(inputs dict, targets dict)`` batches, e.g. from :func:`make_dataset`;
        iterated once per epoch (a shuffled dataset reshuffles every epoch). A third dict,
        ``{m: (batch,) bool}`` (``make_dataset`` adds the data's mask), marks absent modalities:
        the fusion layer skips them (a model without a masking fusion gets them as zeros), so
        the values in absent rows never matter. Not with ``ogm_ge`` or ``strategy``.
    optimizer : keras optimizer or str
        Built on ``model.trainable_variables`` before training.
    losses : dict[str, str or keras loss]
        One loss per head: ``"mse"``, ``"half_squared_error"`` (the article's ``½‖y − ŷ‖²``),
        ``"xent"`` (logits, integer labels), another Keras loss name or a Keras loss.
    epochs : int
        Total number of epochs; a resumed run continues to this number.
    loss_weights : dict[str, float], optional
        Weight of each head's loss (default 1).
    metrics : dict[str, list of keras metrics or str], optional
        Metrics per head (``"accuracy"`` picks the right accuracy for the targets); reset at the
        start of every epoch.
    log_every : int
        Print one line every ``log_every`` epochs (and after the last); 0 is silent.
    checkpoint_dir : path, optional
        Save model, optimizer, epoch counter, data iterator (so shuffling continues where it
        stopped) and history every ``checkpoint_every`` epochs; if the folder holds a checkpoint,
        resume from it. An interrupted and resumed run ends with the weights and the history of
        an uninterrupted one. A folder that holds something else fails with an error naming it.
    checkpoint_every : int
        Epochs between checkpoints.
    jit_compile : bool
        Run whole epochs (up to ``XLA_STEPS_PER_CALL`` steps at a time) as one XLA computation,
        their batches drawn first: several times faster for small networks. Every epoch must
        have the same batch shapes (as :func:`make_dataset`'s have).
    modality_dropout : float
        ``p`` in ``[0, 1)``: drop each modality of a training sample with probability ``p``
        (keeping one), through the fusion layer's mask (or as zero inputs if it has none).
    ogm_ge : OGMGE, optional
        Modulate the encoders' gradients (:class:`OGMGE`); records ``ogm_coefficient_<m>``.
    loss_weighting : {"fixed", "uncertainty"}
        ``"uncertainty"`` learns a log-variance ``s_i`` per head (Kendall et al., 2018),
        ``L = Σ_i exp(−s_i) L_i + s_i`` without ``loss_weights``; records ``loss_weight_<h>``.
    seed : int
        Seeds modality dropout and OGM-GE noise (keyed by the optimizer's step: resumable).
    strategy : tf.distribute.Strategy, optional
        Run every step on the strategy's replicas (e.g. ``MultiWorkerMirroredStrategy``, see
        :mod:`mmtutorial.tf_nn.distributed`); build ``model`` inside ``strategy.scope()``. Every
        replica reads the same global batches from ``data`` and trains on its share of the rows,
        with the loss averaged over the global batch: the weights and the history are those of
        one process on the same batches, to float rounding. Only the chief writes checkpoints;
        every worker resumes from ``checkpoint_dir``. Not with ``jit_compile``.

    Returns
    -------
    History
        One entry per epoch (``unit="epoch"``): the means over the epoch's steps of ``loss``,
        ``head_losses`` and ``grad_norms`` (see :func:`make_train_step`), and each metric at the
        end of the epoch, as ``metrics["<head>_<name>"]``; ``metrics`` also hold the epoch means
        of ``ogm_coefficient_<m>`` (with ``ogm_ge``) and ``loss_weight_<h>`` (learned weights).

    Raises
    ------
    FloatingPointError
        If a step's loss is not finite; that step updates nothing, and no step follows it.

    Examples
    --------
    >>> import keras
    >>> from mmtutorial.data import article_data
    >>> from mmtutorial.tf_nn import article_model, make_dataset
    >>> history = train(article_model(seed=0), make_dataset(article_data()),
    ...                 keras.optimizers.Adam(0.01), losses={"y1": "mse", "y2": "mse"},
    ...                 epochs=200, log_every=100)
    epoch 100/200  loss ...
    epoch 200/200  loss ...
    >>> history.loss[-1] < history.loss[0], sorted(history.grad_norms)
    (True, ['input_x1', 'input_x2'])
    """
    options = {"loss_weights": loss_weights, "metrics": metrics, "jit_compile": jit_compile}
    options |= {"modality_dropout": modality_dropout, "ogm_ge": ogm_ge, "seed": seed}
    options["strategy"] = strategy
    trainer = Trainer(model, optimizer, losses=losses, loss_weighting=loss_weighting, **options)
    fit_args = {"log_every": log_every, "checkpoint_every": checkpoint_every}
    return trainer.fit(data, epochs=epochs, checkpoint_dir=checkpoint_dir, **fit_args)
