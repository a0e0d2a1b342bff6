"""A small training loop for :class:`~mmtutorial.numpy_nn.MultimodalNet` (chapter 3b).

Full-batch or seeded mini-batch steps (from :func:`mmtutorial.data.batches`), a
:class:`~mmtutorial.history.History` with one entry per step, and one concise line every few
steps (3 significant digits: what every CPU reproduces after many steps).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import numpy as np

from .._checks import InvalidParameterError, check_instance, check_int, check_seed
from ..data import MultimodalData, batches
from ..history import History
from .network import MultimodalNet


class _Optimizer(Protocol):
    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None: ...


def _batch_stream(
    data: MultimodalData, batch_size: int | None, seed: int
) -> Iterator[MultimodalData]:
    """Yield batches forever: ``data`` itself, or epoch after epoch of shuffled mini-batches."""
    rng = np.random.default_rng(seed)
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
) -> History:
    """Train ``net`` for ``steps`` optimiser steps on ``data``.

    Parameters
    ----------
    net : MultimodalNet
    data : MultimodalData
        The training samples (at least one), with the network's modalities and heads.
    optimizer : SGD or Adam
        Anything with ``step(params, grads)``.
    steps : int
        Number of parameter updates, >= 1.
    batch_size : int, optional
        ``None`` uses the full batch every step (the article's loop). Otherwise each epoch visits
        every sample once, in a fresh order drawn from ``seed`` (see
        :func:`mmtutorial.data.batches`); the last batch of an epoch may be smaller.
    seed : int
        Seed of the mini-batch order (an int or ``np.integer`` >= 0).
    eval_data : MultimodalData, optional
        Evaluated (without updating) after every step.
    log_every : int
        Print one line every ``log_every`` steps (and after the last); ``0`` is silent.

    Returns
    -------
    History
        One entry per step (``unit="step"``): ``loss``, the weighted total loss of the step's
        batch before the update; ``head_losses[h]``; ``grad_norms[m]``, the gradient norm of
        modality ``m``'s encoder weights (only for networks with encoders); ``eval_loss``, the
        total loss on ``eval_data`` after the update (empty without ``eval_data``).

    Examples
    --------
    >>> from mmtutorial.data import article_data
    >>> from mmtutorial.numpy_nn import Adam, article_network
    >>> history = train(article_network(), article_data(n_samples=8), Adam(0.01), steps=50)
    >>> len(history), history.loss[-1] < history.loss[0]
    (50, True)
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
        if log_every and (step % log_every == 0 or step == steps):
            heads = "  ".join(f"{h} {v:.3g}" for h, v in per_head.items())
            line = f"step {step:>{len(str(steps))}d}/{steps}  loss {total:.3g}  ({heads})"
            if eval_data is not None:
                line += f"  eval {history.eval_loss[-1]:.3g}"
            print(line)
    return history
