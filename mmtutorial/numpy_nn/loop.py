"""A small training loop for :class:`~mmtutorial.numpy_nn.MultimodalNet` (chapter 3b).

Full-batch or seeded mini-batch steps, a history of losses, and one concise line every few steps
(3 significant digits: what every CPU reproduces after many steps).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from .network import MultimodalNet


class _Data(Protocol):
    inputs: dict[str, np.ndarray]
    targets: dict[str, np.ndarray]


class _Optimizer(Protocol):
    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None: ...


def _n_samples(data: Any, name: str) -> int:
    if not hasattr(data, "inputs") or not hasattr(data, "targets"):
        raise TypeError(f"{name} must have .inputs and .targets dicts, got {type(data).__name__}")
    sizes = {len(np.asarray(a)) for a in [*data.inputs.values(), *data.targets.values()]}
    if len(sizes) != 1:
        raise ValueError(f"{name}: inputs and targets must share one sample count, got {sizes}")
    return sizes.pop()


def _take(arrays: dict[str, np.ndarray], index: np.ndarray) -> dict[str, np.ndarray]:
    return {key: np.asarray(value)[index] for key, value in arrays.items()}


def train(
    net: MultimodalNet,
    optimizer: _Optimizer,
    data: _Data,
    *,
    steps: int,
    batch_size: int | None = None,
    seed: int = 0,
    eval_data: _Data | None = None,
    log_every: int = 0,
) -> dict[str, Any]:
    """Train ``net`` for ``steps`` optimiser steps on ``data``.

    Parameters
    ----------
    net : MultimodalNet
    optimizer : SGD or Adam
        Anything with ``step(params, grads)``.
    data : MultimodalData
        Any object with ``inputs`` (modality → ``(n, d_m)``) and ``targets`` (head → array).
    steps : int
        Number of parameter updates.
    batch_size : int, optional
        ``None`` uses the full batch every step (the article's loop). Otherwise each epoch visits
        the samples in a fresh order drawn from ``seed``; the last batch of an epoch may be smaller.
    seed : int
        Seed of the mini-batch order.
    eval_data : MultimodalData, optional
        Evaluated (without updating) after every step.
    log_every : int
        Print one line every ``log_every`` steps (and after the last); ``0`` is silent.

    Returns
    -------
    dict
        ``"loss"``: weighted total loss of each step's batch, before the update;
        ``"head_losses"``: ``{head: [L_h per step]}``; ``"eval_loss"``: total loss on
        ``eval_data`` after each step (empty without ``eval_data``).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from mmtutorial.numpy_nn import Adam, article_network
    >>> rng = np.random.default_rng(0)
    >>> data = SimpleNamespace(
    ...     inputs={"x1": rng.random((8, 10)), "x2": rng.random((8, 10))},
    ...     targets={"y1": rng.random((8, 10)), "y2": rng.random((8, 10))},
    ... )
    >>> history = train(article_network(), Adam(0.01), data, steps=50)
    >>> history["loss"][-1] < history["loss"][0]
    True
    """
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps <= 0:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    if isinstance(log_every, bool) or not isinstance(log_every, int) or log_every < 0:
        raise ValueError(f"log_every must be an int >= 0, got {log_every!r}")
    n = _n_samples(data, "data")
    if eval_data is not None:
        _n_samples(eval_data, "eval_data")
    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 0 < batch_size <= n
    ):
        raise ValueError(f"batch_size must be None or an int in [1, {n}], got {batch_size!r}")
    rng = np.random.default_rng(seed)
    order, cursor = np.arange(n), n
    history: dict[str, Any] = {"loss": [], "head_losses": {h: [] for h in net.heads}}
    history["eval_loss"] = []
    for step in range(1, steps + 1):
        if batch_size is None:
            inputs, targets = data.inputs, data.targets
        else:
            if cursor >= n:
                order, cursor = rng.permutation(n), 0
            index = order[cursor : cursor + batch_size]
            cursor += batch_size
            inputs, targets = _take(data.inputs, index), _take(data.targets, index)
        total, per_head = net.loss(inputs, targets)
        if not np.isfinite(total):
            raise FloatingPointError(
                f"loss became {total} at step {step}; try a smaller learning rate"
            )
        net.backward()
        optimizer.step(net.parameters(), net.gradients())
        history["loss"].append(total)
        for h, value in per_head.items():
            history["head_losses"][h].append(value)
        if eval_data is not None:
            history["eval_loss"].append(net.loss(eval_data.inputs, eval_data.targets)[0])
        if log_every and (step % log_every == 0 or step == steps):
            heads = "  ".join(f"{h} {v:.3g}" for h, v in per_head.items())
            line = f"step {step:>{len(str(steps))}d}/{steps}  loss {total:.3g}  ({heads})"
            if eval_data is not None:
                line += f"  eval {history['eval_loss'][-1]:.3g}"
            print(line)
    return history
