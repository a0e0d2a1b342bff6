"""A compiled custom training loop for multimodal Keras models, with resumable checkpoints.

:class:`Trainer` compiles :func:`~mmtutorial.tf_nn.step.make_train_step`'s step into the epoch
loops of ``_loops`` once, and :meth:`Trainer.fit` runs them; :func:`train` is the one-shot
wrapper (chapter 4; chapter 5 adds the imbalance remedies of :mod:`.balance`, the loss weighting
of :mod:`.loss_weighting` and several workers). The arguments and the result mean what they mean
in :mod:`mmtutorial.numpy_nn`, as :mod:`mmtutorial.contract` sets out.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

from mmtutorial._checks import (
    InvalidParameterError,
    check_bool,
    check_int,
    check_mapping,
    check_number,
    check_seed,
    refuse_options,
)
from mmtutorial.history import History, progress_line
from mmtutorial.perturb import record_run

from ._checkpoints import Checkpoints
from ._data_checks import check_metrics, prepare_data
from ._loops import XLA_STEPS_PER_CALL, append_epochs, make_runner
from ._replicas import NON_FINITE, is_chief, scope
from ._tf import keras, tf
from ._train_checks import (
    build_optimizer,
    check_losses,
    check_model,
    check_optimizer,
    check_options,
    check_strategy,
)
from .balance import OGMGE
from .model_parts import auxiliary_head_targets, encoder_layers
from .step import make_train_step

__all__ = ["Trainer", "train"]


class Trainer:
    """Compile one training loop for ``model`` and run it on datasets (see :func:`train`).

    A :class:`Trainer` keeps its compiled function: calling :meth:`fit` again (after
    :meth:`restart`, say, as :mod:`mmtutorial.bench` does), or after :meth:`configure` changes a
    hyperparameter, does not trace again.

    Examples
    --------
    >>> from mmtutorial.data import article_data
    >>> from mmtutorial.tf_nn import article_model
    >>> trainer = Trainer(article_model(seed=0), "adam", losses={"y1": "mse", "y2": "mse"})
    >>> len(trainer.fit(article_data(), epochs=3))
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
        grad_norms: bool = False,
        jit_compile: bool = False,
        modality_dropout: float = 0.0,
        ogm_ge: OGMGE | None = None,
        loss_weighting: str = "fixed",
        seed: int = 0,
        strategy: tf.distribute.Strategy | None = None,
        encoders: Mapping[str, str] | None = None,
    ) -> None:
        self.model = check_model(model)
        self.targets = auxiliary_head_targets(self.model)  # {aux_<m>_<h>: h}, read once
        layers = encoder_layers(self.model, encoders)
        self.losses, self.loss_weights = check_losses(self.model, losses, loss_weights)
        self.grad_norms = check_bool("grad_norms", grad_norms)
        self.jit_compile = check_bool("jit_compile", jit_compile)
        self.seed = check_seed(seed)
        self.strategy = check_strategy(strategy, self.model, self.jit_compile)
        self.encoders = encoders
        main = [h for h in self.losses if h not in self.targets]
        self.options = check_options(
            layers, main, self.losses, self.loss_weights, modality_dropout=modality_dropout,
            ogm_ge=ogm_ge, loss_weighting=loss_weighting, seed=seed,
        )  # fmt: skip
        if self.strategy is not None and (modality_dropout or ogm_ge or loss_weighting != "fixed"):
            raise InvalidParameterError(
                "strategy trains with the plain step: modality_dropout, ogm_ge and "
                f"loss_weighting={loss_weighting!r} are not supported with it"
            )
        self.log_variances = self.options.pop("log_variances")  # learned with the model
        with scope(self.strategy):  # a named optimizer is made, and its slots mirrored, in it
            self.optimizer = check_optimizer(optimizer, self.model.trainable_variables)
            build_optimizer(self.optimizer, self.model, self.strategy, self.log_variances)
            # The hyperparameters the step reads as variables: configure() changes them
            # without a new trace (dropout and OGM-GE only if the step has them at all).
            self.loss_weight_vars = {
                h: _variable(w, f"loss_weight_{h}", tf.float64)
                for h, w in self.loss_weights.items()
            }
            p = self.options["modality_dropout"]
            self.options["modality_dropout"] = _variable(p, "modality_dropout") if p else 0.0
            self.ogm_alpha = None if ogm_ge is None else _variable(ogm_ge.alpha, "ogm_alpha")
        metrics = check_mapping(
            "metrics", metrics or {}, keys=self.losses, what="heads", exact=False, allow_empty=True
        )
        self._metric_specs = {h: list(ms) for h, ms in metrics.items()}
        self.metrics: dict[str, tuple[str, keras.metrics.Metric]] | None = None
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self._run, self._spec, self._evaluate = None, None, None  # (_compile makes them)
        state = [*self.optimizer.variables, *self.log_variances.values()]
        self._initial_state = [(v, v.numpy()) for v in state]  # for restart

    def configure(
        self,
        *,
        learning_rate: float | None = None,
        loss_weights: Mapping[str, float] | None = None,
        modality_dropout: float | None = None,
        ogm_alpha: float | None = None,
    ) -> None:
        """Change hyperparameters for the next :meth:`fit`, keeping the compiled loop.

        ``loss_weights`` names some heads (the others keep theirs). ``modality_dropout`` needs
        a :class:`Trainer` made with ``modality_dropout > 0`` and ``ogm_alpha`` one made with
        ``ogm_ge``: a step without them draws nothing to change.

        Examples
        --------
        >>> from mmtutorial.tf_nn import article_model
        >>> trainer = Trainer(article_model(), "adam", losses={"y1": "mse", "y2": "mse"})
        >>> trainer.configure(learning_rate=0.01, loss_weights={"y2": 0.5})
        >>> float(trainer.loss_weight_vars["y2"].numpy())
        0.5
        """
        if learning_rate is not None:
            self.optimizer.learning_rate = check_number("learning_rate", learning_rate, low=0)
        if loss_weights is not None:
            if self.log_variances:
                raise InvalidParameterError(
                    "loss_weights cannot be set: loss_weighting='uncertainty' learns them"
                )
            weights = check_mapping("loss_weights", loss_weights, keys=self.losses, exact=False)
            for h, w in weights.items():
                self.loss_weight_vars[h].assign(check_number(f"loss_weights[{h!r}]", w, low=0))
        for name, value, variable in (
            ("modality_dropout", modality_dropout, self.options["modality_dropout"]),
            ("ogm_alpha", ogm_alpha, self.ogm_alpha),
        ):
            if value is None:
                continue
            if not isinstance(variable, tf.Variable):
                made = "modality_dropout > 0" if name == "modality_dropout" else "ogm_ge"
                raise InvalidParameterError(
                    f"{name} can be changed only on a Trainer made with {made}, got {value!r}"
                )
            high = 1 if name == "modality_dropout" else None
            variable.assign(check_number(name, value, low=0, high=high, high_open=True))

    def restart(self, weights: Sequence[Any]) -> None:
        """Start training afresh from ``weights``, keeping the compiled loop (no new trace).

        The model takes ``weights`` (``model.get_weights()``'s list, e.g. of the same network
        built with another seed); the optimizer's state (Adam's moments, its step counter) and
        learned loss weights return to their values when the :class:`Trainer` was made. A later
        :meth:`fit` on the same data then trains exactly as a new :class:`Trainer` on a model
        with these weights would.

        Examples
        --------
        >>> from mmtutorial.data import article_data
        >>> from mmtutorial.tf_nn import article_model
        >>> trainer = Trainer(article_model(seed=0), "adam", losses={"y1": "mse", "y2": "mse"})
        >>> first = trainer.fit(article_data(), epochs=3).loss
        >>> trainer.restart(article_model(seed=0).get_weights())
        >>> trainer.fit(article_data(), epochs=3).loss == first
        True
        """
        self.model.set_weights(weights)
        for variable, value in self._initial_state:
            variable.assign(value)

    def _compile(self, spec: tuple) -> None:
        if len(spec) == 3 and (self.strategy is not None or self.options["ogm_ge"] is not None):
            option = "strategy" if self.strategy is not None else "ogm_ge"
            raise InvalidParameterError(
                f"data carries a mask, which {option} cannot honour: pass data without one "
                "(its complete rows only)"
            )
        step = make_train_step(
            self.model, self.losses, self.loss_weight_vars, self.optimizer, self.metrics,
            **self.options, ogm_alpha=self.ogm_alpha, log_variances=self.log_variances,
            grad_norms=self.grad_norms, encoders=self.encoders, strategy=self.strategy,
        )  # fmt: skip
        template = {
            "loss": None,
            "head_losses": dict.fromkeys(self.losses),
            "grad_norms": dict.fromkeys(step.record_keys["grad_norms"]),
            "metrics": dict.fromkeys([*self.metrics, *step.record_keys["metrics"]]),
        }
        self._run = make_runner(step, template, self.metrics, self.epoch, self.jit_compile)
        self._spec, self._evaluate = spec, step.evaluate  # one tf.function per kind of dataset

    def fit(
        self,
        data: Any,
        *,
        epochs: int,
        batch_size: int | None = None,
        eval_data: Any = None,
        log_every: int = 0,
        checkpoint_dir: str | os.PathLike | None = None,
        checkpoint_every: int = 1,
        max_to_keep: int = 2,
        steps: int | None = None,
        early_stopping: Any = None,
    ) -> History:
        """Train until ``epochs`` epochs are done; arguments and result as in :func:`train`."""
        refuse_options(
            "tf_nn's Trainer.fit",
            {"steps": (steps, None), "early_stopping": (early_stopping, None)},
            "it trains whole epochs (pass epochs=); numpy_nn.train has both",
        )
        epochs = check_int("epochs", epochs, low=1)
        log_every = check_int("log_every", log_every, low=0)
        checkpoint_every = check_int("checkpoint_every", checkpoint_every, low=1)
        max_to_keep = check_int("max_to_keep", max_to_keep, low=1)
        checked = (self.model, self.losses, self.targets)
        data, steps, fixed = prepare_data("data", data, batch_size, self.seed, *checked)
        if eval_data is not None:
            eval_data = prepare_data("eval_data", eval_data, None, None, *checked)[0]
        if self.metrics is None:  # built once: a later fit goes on with the same objects
            with scope(self.strategy):
                spec = data.element_spec[1]
                self.metrics = check_metrics(self._metric_specs, self.model, spec, self.targets)
        if self._run is None or self._spec != data.element_spec:
            self._compile(data.element_spec)
        # One batch every epoch (fixed) is passed as it is; an iterator draws the others (and
        # is saved by a checkpoint, so that shuffling resumes where it stopped).
        iterator = iter(data.repeat()) if fixed is None or checkpoint_dir is not None else None
        source = iterator if fixed is None else fixed
        self.epoch.assign(0)
        history, saver = History(unit="epoch"), None
        if checkpoint_dir is not None:
            state = (self.model, self.optimizer, self.epoch, iterator, max_to_keep)
            extra = {"log_variances": self.log_variances} if self.log_variances else None
            saver = Checkpoints(checkpoint_dir, *state, extra=extra)
            history = saver.restore()
        while (done := int(self.epoch)) < epochs:
            every = (log_every, checkpoint_every if saver else 0, 1 if eval_data else 0)
            stops = [epochs] + [(done // e + 1) * e for e in every if e]
            if self.jit_compile:  # holds the batches of a whole call in memory: at most ~1024
                stops.append(done + max(1, XLA_STEPS_PER_CALL // steps))
            steps_arg = steps if self.jit_compile else tf.constant(steps)
            try:
                records, count = self._run(source, tf.constant(min(stops) - done), steps_arg)
            except tf.errors.InvalidArgumentError as error:  # only the replica step checks so
                if NON_FINITE not in str(error):
                    raise
                records, count = None, 0
            if count:
                held_out = None if eval_data is None else float(self._evaluate(eval_data))
                append_epochs(history, records, int(count), held_out)
            if not count or not math.isfinite(history.loss[-1]):
                value = history.loss[-1] if count else "non-finite"  # (a replica step's: unknown)
                raise FloatingPointError(
                    f"loss became {value} in epoch {len(history) + (not count)}, before that "
                    "step's update: the data holds NaN or inf, or the learning rate is too large"
                )
            done = int(self.epoch)
            chief = is_chief(self.strategy)  # under a strategy, only the chief writes
            if saver is not None and chief and (done % checkpoint_every == 0 or done == epochs):
                saver.save(history)
            if log_every and (done % log_every == 0 or done == epochs):
                print(progress_line(history, epochs))
        record_run("tf_nn", history.loss)  # for make nbval-sweep
        return history


def _variable(value: float, name: str, dtype: tf.DType = tf.float32) -> tf.Variable:
    """A hyperparameter the compiled step reads. Loss weights are float64, so that a float64
    model's weighted loss uses exactly the weight given; the dropout probability and OGM-GE's
    alpha meet float32 draws and scores."""
    return tf.Variable(float(value), dtype=dtype, trainable=False, name=name)


def train(
    model: keras.Model,
    data: Any,
    optimizer: keras.optimizers.Optimizer | str,
    *,
    losses: Mapping[str, Any],
    epochs: int,
    batch_size: int | None = None,
    eval_data: Any = None,
    loss_weights: Mapping[str, float] | None = None,
    metrics: Mapping[str, Sequence[Any]] | None = None,
    grad_norms: bool = False,
    log_every: int = 0,
    checkpoint_dir: str | os.PathLike | None = None,
    checkpoint_every: int = 1,
    jit_compile: bool = False,
    modality_dropout: float = 0.0,
    ogm_ge: OGMGE | None = None,
    loss_weighting: str = "fixed",
    seed: int = 0,
    strategy: tf.distribute.Strategy | None = None,
    encoders: Mapping[str, str] | None = None,
    steps: int | None = None,
    early_stopping: Any = None,
) -> History:
    """Train a multimodal Keras model with one compiled ``tf.GradientTape`` loop.

    Each step is :func:`~mmtutorial.tf_nn.make_train_step`'s; whole runs of epochs execute
    inside one ``tf.function``, so Python runs only between progress lines, evaluations and
    checkpoints. ``Trainer(model, optimizer, …).fit(data, epochs=…)`` does the same in two steps.

    Parameters
    ----------
    model : keras.Model
        Takes a dict of modalities and returns a dict of heads.
    data : MultimodalData or tf.data.Dataset
        A ``MultimodalData`` is batched by ``batch_size`` (``None``: the full batch) and
        shuffled every epoch from the batch-order stream of ``seed``, as ``numpy_nn.train``
        does, its mask honoured (see :func:`make_dataset`). A dataset of your own must be
        finite and yield ``(inputs dict, targets dict)``, or ``(inputs, targets, mask)``
        batches; it is iterated once per epoch. A mask (``{m: (batch,) bool}``) marks absent
        modalities: the fusion layer skips them (a model without a masking fusion gets them as
        zeros), so the values in absent rows never matter. Not with ``ogm_ge`` or ``strategy``.
    optimizer : keras optimizer or str
        Built on ``model.trainable_variables`` before training.
    losses : dict[str, str or keras loss]
        One loss per head: ``"mse"``, ``"half_squared_error"`` (the article's ``½‖y − ŷ‖²``),
        ``"xent"`` (logits, integer labels), another Keras loss name or a Keras loss.
    epochs : int
        Total number of epochs; a resumed run continues to this number.
    batch_size : int, optional
        Samples per batch of a ``MultimodalData`` (at most their number).
    eval_data : MultimodalData or tf.data.Dataset, optional
        Held-out data: its weighted total loss after every epoch goes to ``eval_loss``.
    loss_weights : dict[str, float], optional
        Weight of each head's loss (default 1).
    metrics : dict[str, list of keras metrics or str], optional
        Metrics per head (``"accuracy"`` picks the right accuracy for the targets); reset at the
        start of every epoch.
    grad_norms : bool
        Record the gradient norms of :func:`~mmtutorial.tf_nn.make_train_step` (off: faster).
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
        Seeds the batch order of a ``MultimodalData`` and the draws of modality dropout and
        OGM-GE noise (keyed by the optimizer's step: resumable), each from its own stream.
    strategy : tf.distribute.Strategy, optional
        Run every step on the strategy's replicas (e.g. ``MultiWorkerMirroredStrategy``, see
        :mod:`mmtutorial.tf_nn.distributed`); build ``model`` inside ``strategy.scope()``. Every
        replica reads the same global batches from ``data`` and trains on its share of the rows,
        with the loss averaged over the global batch: the weights and the history are those of
        one process on the same batches, to float rounding. Only the chief writes checkpoints;
        every worker resumes from ``checkpoint_dir``. Not with ``jit_compile``.
    encoders : dict[str, str], optional
        ``{modality: layer name}`` of each encoder, for a model whose encoders are not named
        ``encoder_<m>`` (``grad_norms`` and ``ogm_ge`` use them).
    steps, early_stopping
        ``numpy_nn.train``'s, refused by name: this loop trains whole epochs.

    Returns
    -------
    History
        One entry per epoch (``unit="epoch"``): the means over the epoch's steps of ``loss``,
        ``head_losses`` and ``grad_norms``, each metric at the end of the epoch, as
        ``metrics["<head>_<name>"]`` (and the epoch means of ``ogm_coefficient_<m>`` and
        ``loss_weight_<h>``), and ``eval_loss`` with ``eval_data``.

    Raises
    ------
    FloatingPointError
        If a step's loss is not finite; that step updates nothing, and no step follows it.

    Examples
    --------
    >>> import keras
    >>> from mmtutorial.data import article_data
    >>> from mmtutorial.tf_nn import article_model
    >>> history = train(article_model(seed=0), article_data(), keras.optimizers.Adam(0.01),
    ...                 losses={"y1": "mse", "y2": "mse"}, epochs=200, log_every=100)
    epoch 100/200  loss ...
    epoch 200/200  loss ...
    >>> history.loss[-1] < history.loss[0], history.grad_norms
    (True, {})
    """
    trainer = Trainer(
        model, optimizer, losses=losses, loss_weights=loss_weights, metrics=metrics,
        grad_norms=grad_norms, jit_compile=jit_compile, modality_dropout=modality_dropout,
        ogm_ge=ogm_ge, loss_weighting=loss_weighting, seed=seed, strategy=strategy,
        encoders=encoders,
    )  # fmt: skip
    return trainer.fit(
        data, epochs=epochs, batch_size=batch_size, eval_data=eval_data, log_every=log_every,
        checkpoint_dir=checkpoint_dir, checkpoint_every=checkpoint_every, steps=steps,
        early_stopping=early_stopping,
    )  # fmt: skip
