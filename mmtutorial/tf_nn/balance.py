"""Remedies for modality imbalance, as options of ``tf_nn.train`` (chapter 5).

Modality dropout and OGM-GE gradient modulation (their arguments are checked in
:mod:`._train_checks`, the random draws they make come from :mod:`._hash_random`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from mmtutorial._checks import InvalidParameterError, check_bool, check_number

from ._hash_random import normal, uniform
from ._tf import keras, tf

__all__ = ["OGMGE"]


@dataclass(frozen=True)
class OGMGE:
    r"""On-the-fly gradient modulation with generalisation enhancement (Peng et al., 2022).

    Pass it as ``train(..., ogm_ge=OGMGE(alpha))``. At every step, each modality ``m`` gets a
    score ``s_m = Σ_n exp(−ℓ_n)``, with ``ℓ_n`` sample ``n``'s loss on ``head`` when only ``m``
    is present: for the ``"xent"`` loss, ``exp(−ℓ_n)`` is the probability of the true class,
    Peng et al.'s score. The ratio ``ρ_m = s_m / mean_{m' ≠ m} s_{m'}`` (``s_1 / s_2`` for two
    modalities) picks the dominant modality, ``ρ_m > 1``, whose encoder gradients are scaled by
    ``k_m = 1 − tanh(α ρ_m)``; every other modality keeps ``k_m = 1``. With ``noise``, each
    encoder gradient ``g`` then gets Gaussian noise of the standard deviation of ``g``'s entries,
    as in the authors' code: ``g ← k_m g + N(0, std(g)²)``.

    Adaptation: Peng et al.'s network concatenates the encodings before one linear layer, so each
    modality has its own logits. Here fusion and a shared layer come first, so the "only ``m``
    present" prediction is the whole model's, with the other modalities masked out through the
    fusion layer's mask (zero-filled inputs if the fusion layer supports no masks).

    Parameters
    ----------
    alpha : float
        ``α >= 0``; 0 turns the modulation off (the noise stays, if on).
    noise : bool
        Add the generalisation-enhancement noise.
    head : str, optional
        The head whose loss scores the modalities; needed only if several heads have losses.

    Examples
    --------
    >>> OGMGE(0.5)
    OGMGE(alpha=0.5, noise=True, head=None)
    >>> OGMGE(-1.0)
    Traceback (most recent call last):
    ...
    mmtutorial._checks.InvalidParameterError: OGMGE alpha must be a finite number >= 0, got -1.0
    """

    alpha: float
    noise: bool = True
    head: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "alpha", check_number("OGMGE alpha", self.alpha, low=0))
        object.__setattr__(self, "noise", check_bool("OGMGE noise", self.noise))
        if self.head is not None and not isinstance(self.head, str):
            raise InvalidParameterError(f"OGMGE head must be a head name, got {self.head!r}")


def dropout_mask(modalities: list, batch: tf.Tensor, p: float, seed: int, step: tf.Tensor) -> dict:
    """Return ``{m: (batch,) bool}``: each modality kept with probability ``1 − p``, at least one.

    One uniform draw ``u`` per sample and modality; ``m`` is kept if ``u_m >= p`` or if ``u_m``
    is the sample's largest draw, so a sample that would lose everything keeps one modality
    chosen uniformly at random.
    """
    u = uniform(tf.stack([batch, len(modalities)]), [seed, step, 0])
    keep = (u >= p) | (u >= tf.reduce_max(u, axis=1, keepdims=True))
    return {m: keep[:, j] for j, m in enumerate(modalities)}


def call_with_mask(model: keras.Model, x: dict, mask: dict, training: bool = True) -> dict:
    """Run ``model`` with the modalities ``mask`` marks absent: through the fusion layer's mask if
    it supports masks, else as zero-filled inputs."""
    fusion = next((layer for layer in model.layers if layer.name == "fusion"), None)
    if not getattr(fusion, "supports_masking", False):
        x = {m: x[m] * tf.cast(mask[m][:, None], x[m].dtype) for m in x}
        return model(x, training=training)
    x = {m: tf.identity(v) for m, v in x.items()}  # Keras attaches the mask to its input tensors
    with warnings.catch_warnings():  # a model that drops the mask at its outputs warns
        warnings.filterwarnings("ignore", message=".*does not support masking.*")
        return model(x, training=training, mask=mask)


def forward(
    model: keras.Model,
    x: dict,
    modality_dropout: float,
    seed: int,
    step: tf.Tensor,
    present: dict | None = None,
):
    """Return ``model``'s training-mode outputs on ``x``: the modalities ``present`` marks
    absent (the data's mask), and those modality dropout drops, masked out. ``modality_dropout``
    is ``p``, a number (0: no dropout, nothing drawn) or a variable (drawn even at 0).

    Dropout only drops modalities a sample has; a sample it would leave with none keeps its own.
    """
    if isinstance(modality_dropout, int | float) and not modality_dropout:
        return model(x, training=True) if present is None else call_with_mask(model, x, present)
    keep = dropout_mask(list(x), tf.shape(x[next(iter(x))])[0], modality_dropout, seed, step)
    if present is not None:
        keep = {m: keep[m] & present[m] for m in x}
        none = ~tf.reduce_any(tf.stack(list(keep.values()), axis=1), axis=1)
        keep = {m: keep[m] | (none & present[m]) for m in x}
    return call_with_mask(model, x, keep)


def ogm_scores(
    model: keras.Model, x: dict, y: object, loss: Callable, head: str, modalities: list
) -> dict:
    """Return ``{m: s_m}`` for ``m`` in ``modalities``: ``s_m = Σ_n exp(−ℓ_n)`` on ``head`` with
    only ``m`` present."""
    batch = tf.shape(next(iter(x.values())))[0]
    scores = {}
    for m in modalities:
        mask = {o: tf.fill([batch], o == m) for o in x}
        y_hat = call_with_mask(model, x, mask, training=False)
        scores[m] = tf.reduce_sum(tf.exp(-tf.stop_gradient(loss(y, y_hat[head]))))
    return scores


def ogm_coefficients(scores: dict, alpha: float) -> tuple[dict, dict]:
    """Return ``({m: k_m}, {m: ρ_m})``: ``k_m = 1 − tanh(α ρ_m)`` where ``ρ_m > 1``, else 1.

    Examples
    --------
    >>> k, rho = ogm_coefficients({"a": 3.0, "b": 1.0}, alpha=0.5)
    >>> round(float(k["a"]), 4), float(k["b"]), float(rho["a"])
    (0.0949, 1.0, 3.0)
    """
    k, rho = {}, {}
    alpha = tf.cast(alpha, tf.float32)
    for m, s in scores.items():
        others = [scores[o] for o in scores if o != m]
        rho[m] = tf.cast(s, tf.float32) / tf.cast(tf.add_n(others) / len(others), tf.float32)
        k[m] = tf.where(rho[m] > 1, 1 - tf.tanh(alpha * rho[m]), tf.ones_like(rho[m]))
    return k, rho


def modulate(grads: list, groups: dict, k: dict, noise: bool, seed: int, step: tf.Tensor) -> list:
    """Return ``grads`` with each encoder ``m``'s (positions ``groups[m]``) scaled by ``k[m]``
    and, with ``noise``, plus Gaussian noise of the standard deviation of each gradient's entries.
    """
    grads = list(grads)
    for m in groups:
        for i in groups[m]:
            g = grads[i] * tf.cast(k[m], grads[i].dtype)
            if noise:
                std = tf.math.reduce_std(grads[i]) + 1e-8
                g += std * normal(tf.shape(g), [seed, step, 1 + i], g.dtype)
            grads[i] = g
    return grads


def ogm_step(
    ogm_ge: OGMGE,
    alpha: float | tf.Variable,
    head: str,
    model: keras.Model,
    x: dict,
    y: dict,
    losses: Mapping,
    grads: list,
    encoders: dict,
    seed: int,
    step: tf.Tensor,
) -> tuple[list, dict]:
    """Return ``grads`` modulated by OGM-GE with ``α = alpha``, the modalities scored on
    ``head`` (``encoders[m]``: the positions of encoder ``m``'s gradients), and the record's
    ``{"ogm_coefficient_<m>": k_m}``."""
    scores = ogm_scores(model, x, y[head], losses[head], head, list(encoders))
    k = ogm_coefficients(scores, alpha)[0]
    grads = modulate(grads, encoders, k, ogm_ge.noise, seed, step)
    return grads, {f"ogm_coefficient_{m}": k[m] for m in encoders}
