"""Keras 3 builders for multimodal networks: per-modality encoders, a fusion layer, heads.

Chapter 4 builds the article's network with :func:`article_model` and checks it against the NumPy
version (:func:`~mmtutorial.tf_nn.gradients_numpy_vs_tf`), and chapter 6 reuses it; chapter 5
compares the fusion layers and adds auxiliary unimodal heads (``auxiliary_heads=True``). Below
the builders: finding a built model's parts by name (its encoders, their outputs for a probe).
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
    check_mapping,
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

__all__ = ["FUSIONS", "article_model", "build_multimodal_model", "encoder_outputs"]

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
    and :func:`encoder_outputs` reads it (both through ``models.encoder_layers``). A model built
    by hand takes part by naming its encoders so; a modality without one reports the gradient
    at its input, ``grad_norms["input_<m>"]``, and OGM-GE refuses a model with fewer than two.

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


def auxiliary_head_targets(model: keras.Model) -> dict[str, str]:
    """Return ``{"aux_<m>_<h>": h}``: the head whose target each auxiliary head learns.

    Examples
    --------
    >>> model = build_multimodal_model({"a": 2}, {"y": (1, None)}, encoder_units=3,
    ...                                auxiliary_heads=True)
    >>> auxiliary_head_targets(model)
    {'aux_a_y': 'y'}
    """
    outputs = model.output if isinstance(model.output, dict) else {}
    inputs = model.input if isinstance(model.input, dict) else {}
    return {f"aux_{m}_{h}": h for m in inputs for h in outputs if f"aux_{m}_{h}" in outputs}


def encoder_layers(
    model: keras.Model, names: Mapping[str, str] | None = None
) -> dict[str, keras.layers.Layer]:
    """Return ``{m: layer}``: the layer named ``encoder_<m>`` of each modality ``m`` that has one,
    or, with ``names`` (``{m: layer name}``, for a model named otherwise), those layers.

    The one place that reads the naming convention of :func:`build_multimodal_model` (and of
    :func:`~mmtutorial.tf_nn.build_dual_encoder`): the training loop's ``grad_norms``, OGM-GE
    and :func:`encoder_outputs` find the encoders through it. A modality without such a layer
    (the article's network feeds its inputs straight to the fusion) is left out.

    Examples
    --------
    >>> model = build_multimodal_model({"a": 2, "b": 3}, {"y": (1, None)}, encoder_units=4)
    >>> {m: layer.name for m, layer in encoder_layers(model).items()}
    {'a': 'encoder_a', 'b': 'encoder_b'}
    >>> encoder_layers(article_model())
    {}
    >>> encoder_layers(article_model(), {"x1": "shared"})["x1"].name
    'shared'
    """
    layers = {layer.name: layer for layer in model.layers}
    if names is None:
        return {m: layers[f"encoder_{m}"] for m in model.input if f"encoder_{m}" in layers}
    names = check_mapping("encoders", names, keys=model.input, what="modalities", exact=False)
    for m, name in names.items():
        if name not in layers:
            raise InvalidParameterError(
                f"encoders[{m!r}] must name a layer of the model, got {name!r}; its layers are "
                f"{sorted(layers)}"
            )
    return {m: layers[names[m]] for m in model.input if m in names}


def with_encoder_outputs(model: keras.Model, names: Mapping[str, str] | None = None) -> keras.Model:
    """Return a model of the same layers whose outputs are ``(model's outputs, {m: e_m})``, with
    ``e_m`` the output of modality ``m``'s encoder (see :func:`encoder_layers`): the training
    step takes the gradient at ``e_m`` from it."""
    encoded = {m: layer.output for m, layer in encoder_layers(model, names).items()}
    twin = keras.Model(model.input, (model.output, encoded), name=f"{model.name}_encoded")
    twin.supports_masking = model.supports_masking
    return twin


def encoder_positions(
    model: keras.Model, variables: list, names: Mapping[str, str] | None = None
) -> tuple[dict[str, list[int]], list]:
    """Return ``({m: positions in variables of encoder_<m>'s weights}, [modalities without one])``
    (the encoders of :func:`encoder_layers`, with ``names`` if given).

    >>> model = build_multimodal_model({"a": 2, "b": 3}, {"y": (1, None)}, encoder_units=4)
    >>> encoder_positions(model, model.trainable_variables)
    ({'a': [0, 1], 'b': [2, 3]}, [])
    >>> encoder_positions(article_model(), article_model().trainable_variables)
    ({}, ['x1', 'x2'])
    """
    position = {id(v): i for i, v in enumerate(variables)}
    encoders = {
        m: [position[id(v)] for v in layer.trainable_variables]
        for m, layer in encoder_layers(model, names).items()
    }
    return encoders, [m for m in model.input if m not in encoders]


def encoder_outputs(model: keras.Model, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Return each modality's encoder output ``e_m``, shape ``(batch, encoder units)``.

    For a linear probe: how much about the targets each encoder has learned. ``inputs`` maps
    every modality of ``model`` to a ``(batch, d_m)`` array; modalities without an
    ``encoder_<m>`` layer are left out.

    Examples
    --------
    >>> import numpy as np
    >>> from mmtutorial.tf_nn import build_multimodal_model
    >>> model = build_multimodal_model({"a": 2, "b": 3}, {"y": (1, None)}, encoder_units=4)
    >>> e = encoder_outputs(model, {"a": np.ones((5, 2)), "b": np.ones((5, 3))})
    >>> {m: v.shape for m, v in e.items()}
    {'a': (5, 4), 'b': (5, 4)}
    """
    if not isinstance(model, keras.Model) or not isinstance(model.input, dict):
        raise InvalidParameterError(
            f"model must be a Keras model taking a dict of modalities, got {model!r}"
        )
    check_mapping("inputs", inputs, keys=model.input, what="modalities")
    encoders = encoder_layers(model)
    if not encoders:
        raise InvalidParameterError(
            f"model {model.name!r} has no encoder_<modality> layer for {sorted(model.input)}"
        )
    x = {}
    for m, spec in model.input.items():
        x[m] = np.asarray(inputs[m], dtype=spec.dtype)
        if x[m].ndim != 2 or x[m].shape[1] != spec.shape[-1]:
            raise InvalidParameterError(
                f"inputs[{m!r}] must have shape (batch, {spec.shape[-1]}), got {x[m].shape}"
            )
    probe = keras.Model(model.input, {m: layer.output for m, layer in encoders.items()})
    return {m: np.asarray(e) for m, e in probe(x, training=False).items()}
