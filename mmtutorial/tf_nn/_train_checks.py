"""The argument checks of :class:`~mmtutorial.tf_nn.Trainer`: model, losses, optimizer, strategy
and chapter 5's options (the data given to :meth:`~mmtutorial.tf_nn.Trainer.fit` is checked in
:mod:`._data_checks`).

Each fails at the call, naming the argument and what it expected (see ``mmtutorial._checks``).
Used by the training loop of chapters 4 and 5.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mmtutorial._checks import (
    InvalidParameterError,
    check_choice,
    check_instance,
    check_mapping,
    check_number,
    check_seed,
)
from mmtutorial.seeds import stream_seed

from ._tf import keras, tf
from .balance import OGMGE
from .loss_weighting import make_log_variances
from .losses import get_loss


def check_model(model: Any, name: str = "model") -> keras.Model:
    """Return ``model`` if it is a Keras model from a dict of modalities to a dict of heads."""
    model = check_instance(name, model, keras.Model, "a Keras model")
    if not isinstance(model.input, dict) or not isinstance(model.output, dict):
        raise InvalidParameterError(
            f"{name} must take a dict of modalities and return a dict of heads, got inputs "
            f"{type(model.input).__name__} and outputs {type(model.output).__name__}"
        )
    return model


def check_losses(
    model: keras.Model, losses: Any, loss_weights: Any
) -> tuple[dict[str, Any], dict[str, float]]:
    """Return ``({head: loss function}, {head: weight})`` for the heads ``losses`` names.

    A Keras loss object computes in its own dtype, float32 unless it was made with ``dtype=``,
    whatever its inputs: a float64 head's loss and its gradient would be rounded to float32. So
    each loss object is used in the dtype of its head's output (a copy when that differs).
    """
    losses = check_mapping("losses", losses, keys=model.output, what="heads", exact=False)
    weights = check_mapping(
        "loss_weights", loss_weights or {}, keys=losses, what="heads", exact=False, allow_empty=True
    )
    return (
        {
            h: _in_dtype(get_loss(f"losses[{h!r}]", loss), model.output[h].dtype)
            for h, loss in losses.items()
        },
        {h: check_number(f"loss_weights[{h!r}]", weights.get(h, 1.0), low=0) for h in losses},
    )


def _in_dtype(loss: Any, dtype: Any) -> Any:
    """``loss``, or for a Keras loss object of another dtype, the same loss in ``dtype``."""
    if isinstance(loss, keras.losses.Loss) and loss.dtype != tf.as_dtype(dtype).name:
        return type(loss).from_config({**loss.get_config(), "dtype": tf.as_dtype(dtype).name})
    return loss


def check_optimizer(optimizer: Any, variables: Sequence[Any] = ()) -> keras.optimizers.Optimizer:
    """Return the Keras optimizer ``optimizer`` is or names, refusing one built for others.

    An optimizer keeps its state (Adam's moments, its step count) per variable: one already built
    must have been built for ``variables``, the model's weights, not another network's.
    """
    if isinstance(optimizer, keras.optimizers.Optimizer):
        known = {id(v) for v in getattr(optimizer, "_trainable_variables", ())}
        if optimizer.built and any(id(v) not in known for v in variables):
            raise InvalidParameterError(
                "optimizer must be new or built for this model's weights, got one built for "
                "another network's (its moments and step count belong there): make a new "
                "optimizer for a new network"
            )
        return optimizer
    if isinstance(optimizer, str):
        try:
            return keras.optimizers.get(optimizer)
        except ValueError:
            pass
    raise InvalidParameterError(
        f"optimizer must be a Keras optimizer or its name, got {optimizer!r}"
    )


def check_strategy(strategy: Any, model: keras.Model, jit_compile: bool) -> Any:
    """Return ``strategy`` (or None) if the model's variables live in it and XLA is off."""
    if strategy is None:
        return None
    check_instance("strategy", strategy, tf.distribute.Strategy, "a tf.distribute.Strategy")
    if jit_compile:
        raise InvalidParameterError(
            "jit_compile=True cannot be combined with a strategy: TensorFlow 2.21 does not "
            "compile collectives (the gradient all-reduce) with XLA on CPU; pass "
            "jit_compile=False"
        )
    outside = [
        v.path
        for v in model.trainable_variables
        if not strategy.extended.variable_created_in_scope(getattr(v, "value", v))
    ]
    if outside:
        raise InvalidParameterError(
            "model must be built inside `with strategy.scope():` so that its variables are "
            f"mirrored on every replica, got variables created outside it: {outside[:3]}"
        )
    return strategy


def build_optimizer(
    optimizer: Any, model: keras.Model, strategy: Any, log_variances: Mapping[str, Any]
) -> None:
    """Build ``optimizer`` on the model's weights and the learned ``log_variances`` (none under a
    strategy); under a strategy the optimizer must come from its scope."""
    try:
        optimizer.build(model.trainable_variables + list(log_variances.values()))
    except RuntimeError as error:
        if strategy is None or "Mixing different tf.distribute.Strategy" not in str(error):
            raise
        raise InvalidParameterError(
            "optimizer must be created inside `with strategy.scope():` (a Keras optimizer "
            "keeps the strategy it was made in), got one made outside it; or pass its name"
        ) from None


def check_options(
    encoders: Mapping[str, object],
    heads: list,
    losses: Mapping,
    loss_weights: dict,
    **options: object,
) -> dict[str, object]:
    """Check ``train``'s ``modality_dropout``, ``ogm_ge``, ``loss_weighting`` and ``seed``
    (``encoders``: the model's ``{m: encoder layer}``; ``heads``: its main heads with a loss).

    Returns the keyword arguments of ``make_train_step``: ``loss_weighting`` becomes
    ``log_variances``, ``{h: s_i}`` (empty for ``"fixed"``).
    """
    p = options["modality_dropout"]
    check_ogm_ge(options["ogm_ge"], encoders, heads)
    return {
        "modality_dropout": check_number("modality_dropout", p, low=0, high=1, high_open=True),
        "ogm_ge": options["ogm_ge"],
        "log_variances": make_log_variances(options["loss_weighting"], losses, loss_weights),
        "seed": stream_seed(check_seed(options["seed"]), "noise"),
    }


def check_ogm_ge(ogm_ge: object, encoders: Mapping[str, object], heads: list) -> str | None:
    """Return the head that scores the modalities, or None without OGM-GE; fail on misuse.

    ``encoders`` are the model's encoders by modality (only their names are read), ``heads`` its
    main heads with a loss (auxiliary heads left out). The Trainer's checks and
    :func:`~mmtutorial.tf_nn.make_train_step` both resolve the head here.
    """
    if ogm_ge is None:
        return None
    if not isinstance(ogm_ge, OGMGE):
        raise InvalidParameterError(f"ogm_ge must be an OGMGE or None, got {ogm_ge!r}")
    if len(encoders) < 2:
        raise InvalidParameterError(
            "ogm_ge modulates encoder gradients, so the model needs encoder_<m> layers (or "
            f"encoders=) for at least two modalities, got {sorted(encoders)}"
        )
    if ogm_ge.head is None:
        if len(heads) != 1:
            raise InvalidParameterError(
                f"OGMGE head must name one of the heads with a loss {heads}, got None"
            )
        return heads[0]
    return check_choice("OGMGE head", ogm_ge.head, tuple(heads))
