"""Keras 3 builders for multimodal networks: per-modality encoders, a fusion layer, heads.

Chapter 4 builds the article's network with :func:`article_model` and checks it against the NumPy
version (:func:`~mmtutorial.tf_nn.gradients_numpy_vs_tf`), and chapter 6 reuses it; chapter 5
compares the fusion layers and adds auxiliary unimodal heads (``auxiliary_heads=True``). A built
model's parts are found by name in :mod:`.model_parts`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from mmtutorial._checks import (
    InvalidParameterError,
    check_bool,
    check_choice,
    check_dtype,
    check_int,
    check_seed,
)

from ._builder_args import (
    check_activation,
    check_specs,
    encoder_widths,
    initializers,
    perturbed,
)
from ._tf import keras
from .attention import AttentionFusion
from .fusion import ConcatFusion, GatedFusion, LowRankFusion, SumFusion, TensorFusion

__all__ = ["FUSIONS", "article_model", "build_multimodal_model"]

#: Fusion types of :func:`build_multimodal_model` and the fewest modalities each needs.
FUSIONS = {"concat": 1, "sum": 1, "mean": 1, "gated": 2, "tensor": 2, "lowrank": 2, "attention": 2}


def _fusion_layer(
    fusion: str, widths: dict[str, int], units: int | None, rank: int | None, init, dtype: str
) -> keras.layers.Layer:
    check_choice("fusion", fusion, FUSIONS)
    if len(widths) < FUSIONS[fusion]:
        raise InvalidParameterError(
            f"fusion={fusion!r} needs at least {FUSIONS[fusion]} modalities, got {len(widths)}: "
            f"{sorted(widths)}"
        )
    if fusion != "lowrank" and (units is not None or rank is not None):
        raise InvalidParameterError(
            f"fusion_units and rank are used only by fusion='lowrank', not {fusion!r}"
        )
    if fusion in ("sum", "mean", "gated") and len(set(widths.values())) > 1:
        raise InvalidParameterError(
            f"fusion={fusion!r} needs every modality to reach the fusion with the same width, "
            f"got {widths}; set encoder_units to one int"
        )
    kw = dict(name="fusion", dtype=dtype)
    if fusion == "concat":
        return ConcatFusion(**kw)
    if fusion in ("sum", "mean"):
        return SumFusion(fusion, **kw)
    if fusion == "gated":
        return GatedFusion(kernel_initializer=init(), **kw)
    if fusion == "tensor":
        return TensorFusion(**kw)
    if fusion == "attention":
        return AttentionFusion(kernel_initializer=init(), **kw)
    units = check_int("fusion_units", units, low=1)
    rank = check_int("rank", 4 if rank is None else rank, low=1)
    return LowRankFusion(units, rank, kernel_initializer=init(), **kw)


def build_multimodal_model(
    modality_dims: Mapping[str, int],
    head_specs: Mapping[str, int | tuple[int, str | None]],
    *,
    encoder_units: int | Mapping[str, int] | None = None,
    encoder_activation: str | None = "relu",
    fusion: str = "concat",
    fusion_units: int | None = None,
    rank: int | None = None,
    shared_units: int = 20,
    shared_activation: str | None = "relu",
    dtype: str | np.dtype = "float64",
    seed: int | None = 0,
    name: str = "multimodal",
    auxiliary_heads: bool = False,
) -> keras.Model:
    """Build ``inputs → encoders → fusion → shared → heads`` as a Keras functional model.

    Parameters
    ----------
    modality_dims : dict[str, int]
        Width of each modality; each gets a ``keras.Input`` named after it.
    head_specs : dict[str, int or (int, str or None)]
        Each head's Dense layer ``head_<name>``: its units (linear outputs, logits for
        cross-entropy: the form ``numpy_nn`` takes), or Keras' ``(units, activation)``.
    encoder_units : int, dict[str, int] or None
        Width of each modality's Dense encoder ``encoder_<modality>``; ``None`` feeds the raw
        modalities to the fusion layer (the article's network).
    encoder_activation, shared_activation : str or None
        Activations of the encoders and of the shared Dense layer ``shared``.
    fusion : {"concat", "sum", "mean", "gated", "tensor", "lowrank", "attention"}
        The layer ``fusion``: :class:`ConcatFusion`, :class:`SumFusion` (``"sum"``, ``"mean"``),
        :class:`GatedFusion`, :class:`TensorFusion`, :class:`LowRankFusion` or
        :class:`AttentionFusion` (2 heads). ``sum``, ``mean`` and ``gated`` need equal widths at
        the fusion; ``gated``, ``tensor``, ``lowrank`` and ``attention`` two modalities.
    fusion_units, rank : int, optional
        Output width and rank of ``lowrank`` fusion (``fusion_units`` required, ``rank`` 4).
    shared_units : int
        Width of the shared layer.
    dtype : numpy dtype or str, float32 or float64
        Dtype of every input and weight. float64 by default, as in the NumPy network: float32
        training is chaotic at the scale of one rounding, so its printed results change with
        the CPU (chapter 4); pass float32 where float32 itself is the point.
    seed : int or None
        Seeds the Glorot-uniform initialisers: each layer (and each low-rank factor) draws from
        its own stream, spawned from ``seed`` by ``numpy.random.SeedSequence``. ``None``: unseeded.
    name : str
        The model's name.
    auxiliary_heads : bool
        Add one auxiliary unimodal head per modality ``m`` and head ``h``: a Dense layer and
        output ``aux_<m>_<h>`` with the units and activation of ``h``, on ``encoder_<m>``'s output
        ``e_m`` alone (Wang et al., 2020). Give it a loss like any head; :func:`train` gives it
        ``h``'s targets. Needs ``encoder_units``.

    Returns
    -------
    keras.Model
        Takes a dict ``{modality: (batch, d_m)}``, returns a dict ``{head: (batch, units)}``.
        ``model(x, mask={modality: (batch,) bool})`` passes a per-sample modality mask to the
        fusion layer (absent: ``False``). Keras attaches the mask to ``x``'s tensors, and a later
        call on the same tensors reuses it: pass NumPy arrays, or fresh tensors each time.

    Notes
    -----
    The layer names are a contract: the encoder of modality ``m`` is the layer ``encoder_<m>``,
    and by that name alone :func:`~mmtutorial.tf_nn.train` finds it (``grad_norms[m]``, OGM-GE)
    and :func:`~mmtutorial.tf_nn.encoder_outputs` reads it (both through
    ``model_parts.encoder_layers``). A model built by hand takes part by naming its encoders so
    (or through ``encoders=``); for a modality without one, ``grad_norms["output_<m>"]`` is the
    gradient at its input, and OGM-GE refuses a model with fewer than two.

    Examples
    --------
    >>> model = build_multimodal_model({"a": 4, "b": 6}, {"y": (1, None)},
    ...                                encoder_units=8, fusion="gated", seed=0)
    >>> [layer.name for layer in model.layers if not layer.name.startswith(("a", "b"))]
    ['encoder_a', 'encoder_b', 'fusion', 'shared', 'head_y']
    >>> model.output["y"].shape
    (None, 1)
    >>> sorted(build_multimodal_model({"a": 4, "b": 6}, {"y": (1, None)}, encoder_units=8,
    ...                               auxiliary_heads=True).output)
    ['aux_a_y', 'aux_b_y', 'y']
    """
    auxiliary_heads = check_bool("auxiliary_heads", auxiliary_heads)
    dims, heads = check_specs(modality_dims, head_specs, auxiliary_heads)
    dtype = check_dtype("dtype", dtype).name
    seed = check_seed(seed, allow_none=True)
    shared_units = check_int("shared_units", shared_units, low=1)
    check_activation("encoder_activation", encoder_activation)
    check_activation("shared_activation", shared_activation)
    widths = encoder_widths(encoder_units, dims)
    if auxiliary_heads and widths is None:
        raise InvalidParameterError(
            "auxiliary_heads=True needs encoders to put the heads on: set encoder_units"
        )
    count = 2 + len(dims) + len(heads) * (1 + len(dims) * auxiliary_heads)
    init = iter(initializers(seed, count)).__next__  # aux streams last: the rest stay the same

    fusion_layer = _fusion_layer(fusion, widths or dims, fusion_units, rank, init, dtype)
    inputs = {m: keras.Input(shape=(d,), name=m, dtype=dtype) for m, d in dims.items()}
    encoded = [
        x
        if widths is None
        else keras.layers.Dense(
            widths[m],
            encoder_activation,
            kernel_initializer=init(),
            dtype=dtype,
            name=f"encoder_{m}",
        )(x)
        for m, x in inputs.items()
    ]
    hidden = keras.layers.Dense(
        shared_units, shared_activation, kernel_initializer=init(), dtype=dtype, name="shared"
    )(fusion_layer(encoded))
    outputs = {
        h: keras.layers.Dense(
            units, activation, kernel_initializer=init(), dtype=dtype, name=f"head_{h}"
        )(hidden)
        for h, (units, activation) in heads.items()
    }
    aux = [(m, e, h) for m, e in zip(dims, encoded, strict=True) for h in heads]
    for m, e, h in aux if auxiliary_heads else []:
        units, activation = heads[h]
        outputs[f"aux_{m}_{h}"] = keras.layers.Dense(
            units, activation, kernel_initializer=init(), dtype=dtype, name=f"aux_{m}_{h}"
        )(e)
    model = keras.Model(inputs=inputs, outputs=outputs, name=name)
    model.supports_masking = True  # model(x, mask={m: (batch,) bool}) masks at the fusion layer
    return perturbed(model)


def article_model(*, seed: int | None = 0, dtype: str | np.dtype = "float64") -> keras.Model:
    """The article's network in one call (``seed`` and ``dtype`` as :func:`build_multimodal_model`).

    Inputs ``x1``, ``x2`` (10 features each) → concatenation (``fusion``) → Dense 20 ReLU
    (``shared``) → two Dense 10 ReLU heads (``head_y1``, ``head_y2``) with outputs ``y1``, ``y2``.
    The same call as :func:`mmtutorial.numpy_nn.article_network`.

    Examples
    --------
    >>> model = article_model()
    >>> model.count_params()   # (20·20 + 20) + 2 · (20·10 + 10)
    840
    >>> sorted(model.output)
    ['y1', 'y2']
    """
    return build_multimodal_model(
        {"x1": 10, "x2": 10},
        {"y1": (10, "relu"), "y2": (10, "relu")},
        shared_units=20,
        dtype=dtype,
        seed=seed,
        name="article",
    )
