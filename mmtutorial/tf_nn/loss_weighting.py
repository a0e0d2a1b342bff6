"""Loss weighting for several heads, the ``loss_weighting`` option of ``tf_nn.train`` (chapter 5).

Fixed weights ``L = Σ_i λ_i L_i``, or weights learned through Kendall et al.'s (2018) uncertainty.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from mmtutorial._checks import InvalidParameterError, check_choice

from ._tf import tf

#: The ``loss_weighting`` modes of :func:`~mmtutorial.tf_nn.train`.
LOSS_WEIGHTINGS = ("fixed", "uncertainty")


def make_log_variances(mode: object, losses: Mapping[str, Callable], loss_weights: dict) -> dict:
    """Return ``{h: s_i}``, learnable log-variances starting at 0, for ``"uncertainty"``."""
    check_choice("loss_weighting", mode, LOSS_WEIGHTINGS)
    if mode == "fixed":
        return {}
    if any(w != 1.0 for w in loss_weights.values()):
        raise InvalidParameterError(
            "loss_weighting='uncertainty' learns the loss weights: leave loss_weights unset, "
            f"got {loss_weights}"
        )
    return {h: tf.Variable(0.0, name=f"log_variance_{h}") for h in losses}


def weighted_total(heads: dict, loss_weights: Mapping, log_variances: Mapping) -> tuple:
    """Return ``(L, {h: weight})``: ``Σ_i λ_i L_i``, or ``Σ_i exp(−s_i) L_i + s_i`` if learned.

    The second is Kendall et al.'s (2018) uncertainty weighting with ``s_i = log σ_i²``, in the
    common form without their ½ factors (the same for every kind of head): at its minimum over
    ``s_i``, ``exp(−s_i) = 1 / L_i``, so a head with a lower loss gets a larger weight.
    """
    if not log_variances:
        return tf.add_n([tf.cast(loss_weights[h], heads[h].dtype) * heads[h] for h in heads]), {}
    weights = {h: tf.exp(-tf.cast(s, heads[h].dtype)) for h, s in log_variances.items()}
    terms = [weights[h] * heads[h] + tf.cast(log_variances[h], heads[h].dtype) for h in heads]
    return tf.add_n(terms), weights
