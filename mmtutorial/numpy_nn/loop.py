"""A small training loop for :class:`~mmtutorial.numpy_nn.MultimodalNet`, with early stopping.

Used by chapters 1, 2, 3a, 3b and 6 (early stopping: chapter 6). :class:`Trainer` and
:func:`train` take the arguments of their ``tf_nn`` twins (:mod:`mmtutorial.contract`):
full-batch or seeded mini-batch steps (from :func:`mmtutorial.data.batches`), a
:class:`~mmtutorial.history.History` with one entry per step (``steps=``) or per epoch
(``epochs=``), and the progress line both engines print.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from .._checks import (
    InvalidParameterError,
    check_bool,
    check_choice,
    check_instance,
    check_int,
    check_number,
    check_seed,
    refuse_options,
)
from ..data import MultimodalData, batches
from ..history import History, progress_line
from ..perturb import record_run
from ..seeds import stream
from .network import MultimodalNet


class _Optimizer(Protocol):
    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None: ...


@dataclass(frozen=True)
class EarlyStopping:
    """Stop training once the monitored loss has not improved for ``patience`` steps.

    The article trains "until the loss is satisfactory" (直到损失函数达到满意的值) and watches
    only the training loss; the usual criterion watches the loss on held-out data instead
    (Prechelt, "Early stopping - but when?", 1998). Pass one to ``train(early_stopping=...)``.

    Parameters
    ----------
    patience : int
        Number of steps without improvement after which training stops, >= 1.
    monitor : {"eval_loss", "loss"}
        The quantity watched: the total loss on ``eval_data`` after each step (needs
        ``eval_data``), or the training batch's loss.
    min_delta : float
        An improvement must lower the best value so far by more than this, >= 0.
    restore_best_weights : bool
        Put the parameters of the best step back into the network when training ends.

    Examples
    --------
    >>> EarlyStopping(patience=20)
    EarlyStopping(patience=20, monitor='eval_loss', min_delta=0.0, restore_best_weights=True)
    >>> EarlyStopping(patience=0)
    Traceback (most recent call last):
    ...
    mmtutorial._checks.InvalidParameterError: patience must be an int >= 1, got 0
    """

    patience: int
    monitor: str = "eval_loss"
    min_delta: float = 0.0
    restore_best_weights: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "patience", check_int("patience", self.patience, low=1))
        check_choice("monitor", self.monitor, ("eval_loss", "loss"))
        object.__setattr__(self, "min_delta", check_number("min_delta", self.min_delta, low=0))
        check_bool("restore_best_weights", self.restore_best_weights)


class _Watcher:
    """Track the best value of the monitored loss, and the network's parameters at that step."""

    def __init__(self, rule: EarlyStopping, net: MultimodalNet) -> None:
        self.rule, self.net = rule, net
        self.best, self.best_step, self.best_params = np.inf, 0, None

    def should_stop(self, step: int, value: float) -> bool:
        """Record ``value`` (the monitored loss after ``step``); true once patience runs out."""
        if value < self.best - self.rule.min_delta:
            self.best, self.best_step = value, step
            if self.rule.restore_best_weights:
                self.best_params = {k: v.copy() for k, v in self.net.parameters().items()}
        return step - self.best_step >= self.rule.patience

    def restore(self) -> None:
        if self.best_params is not None:
            for name, value in self.net.parameters().items():
                value[...] = self.best_params[name]


def _entries(
    data: MultimodalData, batch_size: int | None, seed: int, unit: str
) -> Iterator[list[MultimodalData]]:
    """Yield the batches of each History entry forever: one batch per step, or an epoch's."""
    rng = stream(seed, "batches")
    while True:
        if batch_size is None:  # the full batch: one step is one epoch
            yield [data]
        elif unit == "epoch":
            yield list(batches(data, batch_size, seed=rng))
        else:
            yield from ([batch] for batch in batches(data, batch_size, seed=rng))


def _grad_norms(net: MultimodalNet) -> dict[str, float]:
    """The norms of :func:`mmtutorial.tf_nn.make_train_step` (``grad_norms=True``): ``m`` over
    encoder ``m``'s weights, ``per_parameter_<m>``, and ``output_<m>`` at its output."""
    grads, norms = net.gradients(), {}
    at_outputs = net.fusion_gradients()  # dL/de_m (the input itself without an encoder)
    for m in net.modalities:
        if net.encoder_units is not None:
            weights = [grads[f"encoder_{m}/{k}"] for k in ("W", "b")]
            norms[m] = float(np.sqrt(sum(np.sum(g**2) for g in weights)))
            norms[f"per_parameter_{m}"] = norms[m] / np.sqrt(sum(g.size for g in weights))
        norms[f"output_{m}"] = float(np.linalg.norm(at_outputs[m]))
    return norms


def _mean(records: list[dict]) -> dict:
    """The mean of step records ``{"loss": L, group: {k: v}}`` (an epoch's entry)."""
    if len(records) == 1:
        return records[0]
    mean = {"loss": float(np.mean([r["loss"] for r in records]))}
    for group in ("head_losses", "grad_norms"):
        mean[group] = {k: float(np.mean([r[group][k] for r in records])) for k in records[0][group]}
    return mean


_TF_ONLY = "the TensorFlow engine (mmtutorial.tf_nn) has it"


class Trainer:
    """Train one :class:`MultimodalNet` with one optimizer: ``Trainer(net, optimizer).fit(data,
    epochs=…)``, as ``tf_nn.Trainer`` (see :func:`train` for the arguments).

    Calling :meth:`fit` again goes on from where the network and the optimizer are.

    Examples
    --------
    >>> from mmtutorial.data import article_data
    >>> from mmtutorial.numpy_nn import Adam, article_network
    >>> trainer = Trainer(article_network(), Adam(0.01))
    >>> len(trainer.fit(article_data(), epochs=3, batch_size=50))
    3
    """

    def __init__(
        self,
        net: MultimodalNet,
        optimizer: _Optimizer,
        *,
        losses: Mapping[str, str] | None = None,
        loss_weights: Mapping[str, float] | None = None,
        metrics: Any = None,
        grad_norms: bool = False,
        jit_compile: bool = False,
        modality_dropout: float = 0.0,
        ogm_ge: Any = None,
        loss_weighting: str = "fixed",
        seed: int = 0,
        strategy: Any = None,
        encoders: Any = None,
    ) -> None:
        self.net = check_instance("net", net, MultimodalNet, "a MultimodalNet")
        if not callable(getattr(optimizer, "step", None)):
            raise InvalidParameterError(
                "optimizer must have a step(params, grads) method (e.g. SGD or Adam), "
                f"got {optimizer!r} ({type(optimizer).__name__})"
            )
        self.optimizer = optimizer
        for name, given, built in (
            ("losses", losses, net.losses),
            ("loss_weights", loss_weights, net.loss_weights),
        ):
            if given is not None and {h: given.get(h, built[h]) for h in built} != built:
                raise InvalidParameterError(
                    f"{name} must be those net was built with, {built}, got {given}: a NumPy "
                    f"network owns its losses (its backward starts there); build it with {name}="
                )
        refuse_options(
            "numpy_nn.Trainer",
            {
                "metrics": (metrics, None), "jit_compile": (jit_compile, False),
                "modality_dropout": (modality_dropout, 0.0), "ogm_ge": (ogm_ge, None),
                "loss_weighting": (loss_weighting, "fixed"), "strategy": (strategy, None),
                "encoders": (encoders, None),
            },
            _TF_ONLY,
        )  # fmt: skip
        self.grad_norms = check_bool("grad_norms", grad_norms)
        self.seed = check_seed(seed)

    def fit(
        self,
        data: MultimodalData,
        *,
        epochs: int | None = None,
        steps: int | None = None,
        batch_size: int | None = None,
        eval_data: MultimodalData | None = None,
        log_every: int = 0,
        early_stopping: EarlyStopping | None = None,
        checkpoint_dir: Any = None,
        checkpoint_every: int = 1,
        max_to_keep: int = 2,
    ) -> History:
        """Train for ``epochs`` epochs or ``steps`` steps; arguments and result as in
        :func:`train`."""
        refuse_options(
            "numpy_nn.Trainer.fit",
            {
                "checkpoint_dir": (checkpoint_dir, None),
                "checkpoint_every": (checkpoint_every, 1),
                "max_to_keep": (max_to_keep, 2),
            },
            _TF_ONLY,
        )
        net = self.net
        check_instance("data", data, MultimodalData, "a MultimodalData")
        if (epochs is None) == (steps is None):
            raise InvalidParameterError(
                "pass one of epochs (an entry per epoch) and steps (an entry per step), got "
                f"epochs={epochs!r} and steps={steps!r}"
            )
        unit, total = ("epoch", epochs) if steps is None else ("step", steps)
        total = check_int(f"{unit}s", total, low=1)
        log_every = check_int("log_every", log_every, low=0)
        if len(data) == 0:
            raise InvalidParameterError("data must hold at least one sample, got 0")
        if batch_size is not None:
            batch_size = check_int("batch_size", batch_size, low=1, high=len(data))
        if eval_data is not None:
            check_instance("eval_data", eval_data, MultimodalData, "None or a MultimodalData")
        hint = "train with tf_nn, whose fusion layers take masks, or "
        for name, samples in (("data", data), ("eval_data", eval_data)):
            if samples is not None:
                samples.refuse_absent(name, "numpy_nn.train", hint)
        watcher = None
        if early_stopping is not None:
            check_instance(
                "early_stopping", early_stopping, EarlyStopping, "None or an EarlyStopping"
            )
            if early_stopping.monitor == "eval_loss" and eval_data is None:
                raise InvalidParameterError(
                    "early_stopping monitors 'eval_loss', which train records only with "
                    "eval_data: pass eval_data (held-out samples), or EarlyStopping(monitor='loss')"
                )
            watcher = _Watcher(early_stopping, net)
        history = History(unit=unit)
        entries = _entries(data, batch_size, self.seed, unit)
        for k in range(1, total + 1):
            records = []
            for batch in next(entries):
                loss, per_head = net.loss(batch.inputs, batch.targets)
                if not np.isfinite(loss):
                    raise FloatingPointError(
                        f"loss became {loss} in {unit} {k}, before that step's update; try a "
                        "smaller learning rate"
                    )
                net.backward()
                norms = _grad_norms(net) if self.grad_norms else {}
                self.optimizer.step(net.parameters(), net.gradients())
                records.append({"loss": loss, "head_losses": per_head, "grad_norms": norms})
            record = _mean(records)
            if eval_data is not None:
                record["eval_loss"] = net.loss(eval_data.inputs, eval_data.targets)[0]
            history.append(record)
            stop = watcher is not None and watcher.should_stop(
                k, getattr(history, early_stopping.monitor)[-1]
            )
            if log_every and (k % log_every == 0 or k == total or stop):
                print(progress_line(history, total))
            if stop:
                break
        if watcher is not None:
            if early_stopping.restore_best_weights:
                watcher.restore()
            if log_every and len(history) < total:
                print(
                    f"early stop at {unit} {len(history)}: best {early_stopping.monitor} "
                    f"{watcher.best:#.3g} at {unit} {watcher.best_step}"
                    + (", its weights restored" if early_stopping.restore_best_weights else "")
                )
        record_run("numpy_nn", history.loss)
        return history


def train(
    net: MultimodalNet,
    data: MultimodalData,
    optimizer: _Optimizer,
    *,
    epochs: int | None = None,
    steps: int | None = None,
    batch_size: int | None = None,
    eval_data: MultimodalData | None = None,
    grad_norms: bool = False,
    log_every: int = 0,
    early_stopping: EarlyStopping | None = None,
    seed: int = 0,
    **tf_only: Any,
) -> History:
    """Train ``net`` on ``data``: ``Trainer(net, optimizer, …).fit(data, …)`` in one call.

    Parameters
    ----------
    net : MultimodalNet
        Its losses and loss weights are the ones it was built with.
    data : MultimodalData
        The training samples (at least one), with the network's modalities and heads. A mask
        that marks any modality absent is refused (the network has no way to skip it).
    optimizer : SGD or Adam
        Anything with ``step(params, grads)``.
    epochs, steps : int
        Pass one. ``epochs``: the ``History`` has one entry per epoch (the means over its steps,
        as ``tf_nn.train``'s); ``steps``: one entry per parameter update (chapter 3b's runs).
    batch_size : int, optional
        ``None`` uses the full batch every step (the article's loop; one step is one epoch).
        Otherwise each epoch visits every sample once, in a fresh order drawn from the
        batch-order stream of ``seed`` (:mod:`mmtutorial.seeds`); the last batch of an epoch
        may be smaller.
    eval_data : MultimodalData, optional
        Evaluated (without updating) after every entry.
    grad_norms : bool
        Record the gradient norms ``m``, ``per_parameter_<m>`` (networks with encoders) and
        ``output_<m>`` of :func:`mmtutorial.tf_nn.make_train_step`.
    log_every : int
        Print one progress line every ``log_every`` entries (and after the last); ``0`` is
        silent.
    early_stopping : EarlyStopping, optional
        Stop before the last entry once the monitored loss (by default ``eval_loss``, which
        needs ``eval_data``) has not improved for ``patience`` entries; with
        ``restore_best_weights`` the network ends with the parameters it had after its best
        entry. ``epochs`` or ``steps`` is then the most to run.
    seed : int
        Seed of the mini-batch order, an int >= 0.
    **tf_only
        ``tf_nn.train``'s other options (``metrics``, ``jit_compile``, ``modality_dropout``,
        ``ogm_ge``, ``loss_weighting``, ``strategy``, ``encoders``, ``checkpoint_dir``, …):
        refused by name unless left at their defaults.

    Returns
    -------
    History
        One entry per step or epoch (``History.unit``): ``loss``, the weighted total loss of
        the batches (predictions ŷ against targets y) before their updates; ``head_losses[h]``;
        ``grad_norms`` (with ``grad_norms=True``); ``eval_loss``, the total loss on
        ``eval_data`` after the entry's updates (empty without ``eval_data``). With early
        stopping, ``len(history)`` is the entry it stopped at, and the best entry is
        ``1 + argmin`` of the monitored list.

    Raises
    ------
    FloatingPointError
        If a step's loss is not finite; that step updates nothing, and no step follows it.

    Examples
    --------
    >>> from mmtutorial.data import article_data
    >>> from mmtutorial.numpy_nn import Adam, article_network
    >>> history = train(article_network(), article_data(n_samples=8), Adam(0.01), steps=50)
    >>> len(history), history.loss[-1] < history.loss[0]
    (50, True)

    Early stopping on held-out data (patience of 5 steps):

    >>> history = train(article_network(), article_data(n_samples=8), Adam(0.01), steps=1000,
    ...                 eval_data=article_data(n_samples=8, seed=1),
    ...                 early_stopping=EarlyStopping(patience=5))
    >>> len(history) < 1000, len(history) - int(np.argmin(history.eval_loss)) - 1
    (True, 5)
    """
    fit_only = ("checkpoint_dir", "checkpoint_every", "max_to_keep")
    fit_options = {k: tf_only.pop(k) for k in fit_only if k in tf_only}
    trainer = Trainer(net, optimizer, grad_norms=grad_norms, seed=seed, **tf_only)
    return trainer.fit(
        data, epochs=epochs, steps=steps, batch_size=batch_size, eval_data=eval_data,
        log_every=log_every, early_stopping=early_stopping, **fit_options,
    )  # fmt: skip
