"""Synthetic multimodal data: the article's toy arrays and tasks with controllable structure.

Chapters 2, 3a, 3b, 4 and 6 use `article_data`; chapters 2, 3b, 5 and 6 build fusion,
imbalance and FAQ tasks with `make_synthetic`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .._checks import (
    InvalidParameterError,
    check_choice,
    check_dims,
    check_int,
    check_mapping,
    check_number,
    check_seed,
)
from ..seeds import seed_sequence, stream
from .core import MultimodalData

TASKS = ("regression", "classification")
NONLINEARITIES = ("linear", "tanh")


def article_data(n_samples: int = 100, dim: int = 10, seed: int = 0) -> MultimodalData:
    """The article's data: inputs ``x1``, ``x2`` and targets ``y1``, ``y2``, uniform in [0, 1).

    The article draws four ``np.random.rand(100, 10)`` arrays; here they come, in the order
    x1, x2, y1, y2, from the data stream of ``seed`` (:func:`mmtutorial.seeds.stream`).

    Parameters
    ----------
    n_samples : int, default 100
        Number of samples (rows).
    dim : int, default 10
        Features of every input and target.
    seed : int, default 0
        Seed of the generator.

    Returns
    -------
    MultimodalData
        ``inputs {"x1", "x2"}`` and ``targets {"y1", "y2"}``, each ``(n_samples, dim)`` float64.

    Examples
    --------
    >>> data = article_data()
    >>> data.inputs["x1"].shape, sorted(data.targets)
    ((100, 10), ['y1', 'y2'])
    """
    n_samples = check_int("n_samples", n_samples, low=1)
    dim = check_int("dim", dim, low=1)
    rng = stream(check_seed(seed), "data")
    x1, x2, y1, y2 = (rng.random((n_samples, dim)) for _ in range(4))
    return MultimodalData({"x1": x1, "x2": x2}, {"y1": y1, "y2": y2})


def _check_weights(informativeness: Any, modalities: list[str]) -> dict[str, float]:
    if informativeness is None:
        return dict.fromkeys(modalities, 1.0)
    informativeness = check_mapping(
        "informativeness", informativeness, keys=modalities, what="modalities", exact=False
    )
    weights = dict.fromkeys(modalities, 1.0)
    for name, weight in informativeness.items():
        weights[name] = check_number(f"informativeness[{name!r}]", weight, low=0, high=1)
    return weights


def _unit_columns(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    matrix = rng.standard_normal((rows, cols))
    return matrix / np.linalg.norm(matrix, axis=0, keepdims=True)


def make_synthetic(
    n_samples: int = 1000,
    modality_dims: Mapping[str, int] | None = None,
    shared_dim: int = 2,
    private_dim: int = 2,
    informativeness: Mapping[str, float] | None = None,
    shared_weight: float = 1.0,
    noise: float = 0.1,
    missing_fraction: float = 0.0,
    task: str = "regression",
    n_classes: int = 2,
    target_dim: int = 1,
    nonlinearity: str = "linear",
    seed: int = 0,
) -> MultimodalData:
    r"""Multimodal data from shared and private latent factors, with knobs for every property.

    Generative model, for each sample and each modality :math:`m` (all draws independent):

    .. math::

        z_s \sim \mathcal N(0, I_{S}), \qquad z_m \sim \mathcal N(0, I_{P}),

        x_m = f\!\left(\tfrac{1}{\sqrt{S + P}}\,[z_s, z_m]\,A_m\right) + \sigma\,\varepsilon_m,

        u = \frac{1}{c}\Big(\beta\, z_s B_s + \sum_m w_m\, z_m B_m\Big),
        \qquad c = \sqrt{\beta^2 + \textstyle\sum_m w_m^2},

    with :math:`S` = ``shared_dim``, :math:`P` = ``private_dim``, :math:`\sigma` = ``noise``,
    :math:`\beta` = ``shared_weight``, :math:`w_m` = ``informativeness[m]``, :math:`f` the
    identity or ``tanh``, :math:`A_m` a fixed ``(S+P, d_m)`` standard normal matrix,
    :math:`B_s, B_m` fixed standard normal matrices whose columns are scaled to unit norm (so every
    column of :math:`u` has unit variance) and :math:`\varepsilon` standard normal noise.

    * ``task="regression"``: target ``"y"`` is :math:`u + \sigma\varepsilon_y`, shape
      ``(n, target_dim)``.
    * ``task="classification"``: :math:`u` has ``n_classes`` columns and target ``"label"`` is
      :math:`\arg\max_k (u_k + \sigma\varepsilon_k)`, int64 in ``[0, n_classes)``; the score
      columns are exchangeable, so classes are roughly balanced.

    So :math:`w_m` says how much of the target lives in modality :math:`m`'s private factor, which
    only that modality sees; :math:`\beta` says how much lives in the shared factor, which every
    modality sees. ``shared_weight=0`` with every :math:`w_m = 1` gives a task that needs *all*
    modalities; a small :math:`w_m` makes modality :math:`m` weak.

    Missing modalities: with ``missing_fraction`` = :math:`p > 0`, each modality of each sample is
    absent with probability :math:`p`, independently; a sample that would lose every modality keeps
    one chosen at random. Absent rows are zero-filled and ``mask[m]`` is False there. The targets
    are computed from the latent factors, before masking.

    The matrices :math:`A_m, B_s, B_m` depend only on ``seed`` and the shapes, not on
    ``n_samples``.

    Parameters
    ----------
    n_samples : int, default 1000
        Number of samples.
    modality_dims : dict of str to int, default ``{"a": 10, "b": 10}``
        Modality name -> number of features :math:`d_m` (at least one modality).
    shared_dim, private_dim : int, default 2
        Sizes :math:`S` and :math:`P` of the shared and of each private latent factor.
    informativeness : dict of str to float, default 1.0 for every modality
        :math:`w_m \in [0, 1]` per modality; modalities not named get 1.0.
    shared_weight : float, default 1.0
        :math:`\beta \ge 0`, the weight of the shared factor in the target.
    noise : float, default 0.1
        :math:`\sigma \ge 0`, standard deviation of the noise on inputs and target scores.
    missing_fraction : float, default 0.0
        :math:`p \in [0, 1)`, the chance that a modality is absent for a sample.
    task : {"regression", "classification"}, default "regression"
    n_classes : int, default 2
        Number of classes (>= 2) for classification.
    target_dim : int, default 1
        Columns of the regression target.
    nonlinearity : {"linear", "tanh"}, default "linear"
        :math:`f`, applied to each modality's mixed latents before the noise.
    seed : int, default 0
        Seed of every random draw.

    Returns
    -------
    MultimodalData
        ``inputs`` float64 ``(n_samples, d_m)`` per modality; ``targets`` ``{"y"}`` or
        ``{"label"}``; ``mask`` per modality when ``missing_fraction > 0``, else None.

    Examples
    --------
    >>> data = make_synthetic(n_samples=500, informativeness={"b": 0.2}, task="classification")
    >>> data.inputs["a"].shape, data.targets["label"].dtype
    ((500, 10), dtype('int64'))
    """
    n_samples = check_int("n_samples", n_samples, low=1)
    if modality_dims is None:
        modality_dims = {"a": 10, "b": 10}
    dims = check_dims("modality_dims", modality_dims)
    modalities = list(dims)
    shared_dim = check_int("shared_dim", shared_dim, low=1)
    private_dim = check_int("private_dim", private_dim, low=1)
    weights = _check_weights(informativeness, modalities)
    shared_weight = check_number("shared_weight", shared_weight, low=0)
    noise = check_number("noise", noise, low=0)
    missing_fraction = check_number(
        "missing_fraction", missing_fraction, low=0, high=1, high_open=True
    )
    check_choice("task", task, TASKS)
    check_choice("nonlinearity", nonlinearity, NONLINEARITIES)
    n_classes = check_int("n_classes", n_classes, low=2)
    seed = check_seed(seed)
    target_dim = check_int("target_dim", target_dim, low=1)
    scale = np.sqrt(shared_weight**2 + sum(w**2 for w in weights.values()))
    if scale == 0:
        raise InvalidParameterError(
            "shared_weight and every informativeness weight are 0: the target would be pure noise"
        )

    # Two streams: the fixed matrices do not change with n_samples; the samples do.
    param_rng, sample_rng = (np.random.default_rng(s) for s in seed_sequence(seed, "data").spawn(2))
    k = n_classes if task == "classification" else target_dim
    mixing = {m: param_rng.standard_normal((shared_dim + private_dim, d)) for m, d in dims.items()}
    readout_shared = _unit_columns(param_rng, shared_dim, k)
    readout_private = {m: _unit_columns(param_rng, private_dim, k) for m in modalities}

    z_shared = sample_rng.standard_normal((n_samples, shared_dim))
    inputs, score = {}, shared_weight * z_shared @ readout_shared
    for m in modalities:
        z_private = sample_rng.standard_normal((n_samples, private_dim))
        hidden = np.hstack([z_shared, z_private]) @ mixing[m] / np.sqrt(shared_dim + private_dim)
        if nonlinearity == "tanh":
            hidden = np.tanh(hidden)
        inputs[m] = hidden + noise * sample_rng.standard_normal((n_samples, dims[m]))
        score += weights[m] * z_private @ readout_private[m]
    score = score / scale + noise * sample_rng.standard_normal((n_samples, k))
    if task == "regression":
        targets = {"y": score}
    else:
        targets = {"label": np.argmax(score, axis=1).astype(np.int64)}

    mask = None
    if missing_fraction > 0:
        present = sample_rng.random((n_samples, len(modalities))) >= missing_fraction
        empty = np.flatnonzero(~present.any(axis=1))
        present[empty, sample_rng.integers(len(modalities), size=len(empty))] = True
        mask = {m: present[:, j].copy() for j, m in enumerate(modalities)}
        for m in modalities:
            inputs[m][~mask[m]] = 0.0
    return MultimodalData(inputs, targets, mask)
