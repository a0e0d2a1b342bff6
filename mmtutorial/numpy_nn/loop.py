"""A small training loop for :class:`~mmtutorial.numpy_nn.MultimodalNet`, with early stopping.

Used by chapters 1, 2, 3a, 3b and 6 (early stopping: chapter 6). Full-batch or seeded mini-batch
steps (from :func:`mmtutorial.data.batches`), a :class:`~mmtutorial.history.History` with one
entry per step, one concise line every few steps (3 significant digits, trailing zeros kept:
what every CPU reproduces after many steps).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .._checks import (
    InvalidParameterError,
    check_bool,
    check_choice,
    check_instance,
    check_int,
    check_number,
    check_seed,
)
from ..data import MultimodalData, batches
from ..history import History
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


def _batch_stream(
    data: MultimodalData, batch_size: int | None, seed: int
) -> Iterator[MultimodalData]:
    """Yield batches forever: ``data`` itself, or epoch after epoch of shuffled mini-batches."""
    rng = stream(seed, "batches")
    while True:
        if batch_size is None:
            yield data
        else:
            yield from batches(data, batch_size, seed=rng)


def _grad_norms(net: MultimodalNet) -> dict[str, float]:
    """``‖dL/dθ‖₂`` over each modality's encoder weights (none for modalities without one)."""
    if net.encoder_units is None:
        return {}
    grads = net.gradients()
    return {
        m: float(np.sqrt(sum(np.sum(grads[f"encoder_{m}/{k}"] ** 2) for k in ("W", "b"))))
        for m in net.modalities
    }


def train(
    net: MultimodalNet,
    data: MultimodalData,
    optimizer: _Optimizer,
    *,
    steps: int,
    batch_size: int | None = None,
    seed: int = 0,
    eval_data: MultimodalData | None = None,
    log_every: int = 0,
    early_stopping: EarlyStopping | None = None,
) -> History:
    """Train ``net`` for ``steps`` optimiser steps on ``data``.

    Parameters
    ----------
    net : MultimodalNet
    data : MultimodalData
        The training samples (at least one), with the network's modalities and heads. A mask
        that marks any modality absent is refused (the network has no way to skip it).
    optimizer : SGD or Adam
        Anything with ``step(params, grads)``.
    steps : int
        Number of parameter updates, >= 1.
    batch_size : int, optional
        ``None`` uses the full batch every step (the article's loop). Otherwise each epoch visits
        every sample once, in a fresh order drawn from ``seed`` (see
        :func:`mmtutorial.data.batches`); the last batch of an epoch may be smaller.
    seed : int
        Seed of the mini-batch order (its batch-order stream, :mod:`mmtutorial.seeds`), an int
        >= 0.
    eval_data : MultimodalData, optional
        Evaluated (without updating) after every step.
    log_every : int
        Print one line every ``log_every`` steps (and after the last); ``0`` is silent.
    early_stopping : EarlyStopping, optional
        Stop before ``steps`` once the monitored loss (by default ``eval_loss``, which needs
        ``eval_data``) has not improved for ``patience`` steps; with ``restore_best_weights``
        the network ends with the parameters it had after its best step. ``steps`` is then the
        most steps to run.

    Returns
    -------
    History
        One entry per step run (``unit="step"``): ``loss``, the weighted total loss of the
        step's batch (predictions ŷ against targets y) before the update; ``head_losses[h]``;
        ``grad_norms[m]``, the gradient norm of modality ``m``'s encoder weights (only for
        networks with encoders); ``eval_loss``, the total loss on ``eval_data`` after the
        update (empty without ``eval_data``). With early stopping, ``len(history)`` is the step
        it stopped at, and the best step is ``1 + argmin`` of the monitored list.

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
    check_instance("net", net, MultimodalNet, "a MultimodalNet")
    check_instance("data", data, MultimodalData, "a MultimodalData")
    if not callable(getattr(optimizer, "step", None)):
        raise InvalidParameterError(
            "optimizer must have a step(params, grads) method (e.g. SGD or Adam), "
            f"got {optimizer!r} ({type(optimizer).__name__})"
        )
    steps = check_int("steps", steps, low=1)
    log_every = check_int("log_every", log_every, low=0)
    seed = check_seed(seed)
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
        check_instance("early_stopping", early_stopping, EarlyStopping, "None or an EarlyStopping")
        if early_stopping.monitor == "eval_loss" and eval_data is None:
            raise InvalidParameterError(
                "early_stopping monitors 'eval_loss', which train records only with eval_data: "
                "pass eval_data (held-out samples), or EarlyStopping(monitor='loss')"
            )
        watcher = _Watcher(early_stopping, net)
    history = History(unit="step")
    stream = _batch_stream(data, batch_size, seed)
    for step in range(1, steps + 1):
        batch = next(stream)
        total, per_head = net.loss(batch.inputs, batch.targets)
        if not np.isfinite(total):
            raise FloatingPointError(
                f"loss became {total} at step {step}; try a smaller learning rate"
            )
        net.backward()
        grad_norms = _grad_norms(net)
        optimizer.step(net.parameters(), net.gradients())
        history.append({"loss": total, "head_losses": per_head, "grad_norms": grad_norms})
        if eval_data is not None:
            history.eval_loss.append(net.loss(eval_data.inputs, eval_data.targets)[0])
        stop = watcher is not None and watcher.should_stop(
            step, getattr(history, early_stopping.monitor)[-1]
        )
        if log_every and (step % log_every == 0 or step == steps or stop):
            heads = "  ".join(f"{h} {v:#.3g}" for h, v in per_head.items())
            line = f"step {step:>{len(str(steps))}d}/{steps}  loss {total:#.3g}  ({heads})"
            if eval_data is not None:
                line += f"  eval {history.eval_loss[-1]:#.3g}"
            print(line)
        if stop:
            break
    if watcher is not None:
        if early_stopping.restore_best_weights:
            watcher.restore()
        if log_every and len(history) < steps:
            print(
                f"early stop at step {len(history)}: best {early_stopping.monitor} "
                f"{watcher.best:#.3g} at step {watcher.best_step}"
                + (", its weights restored" if early_stopping.restore_best_weights else "")
            )
    record_run("numpy_nn", history.loss)
    return history
