"""A built model's parts, found by name: its auxiliary heads, its encoders, their outputs.

:func:`~mmtutorial.tf_nn.build_multimodal_model` names each modality's encoder ``encoder_<m>``
and each auxiliary head ``aux_<m>_<h>``; the training loop (``grad_norms``, OGM-GE) and the probe
of chapter 5 (:func:`encoder_outputs`) find them through :func:`encoder_layers` and
:func:`auxiliary_head_targets`, the only readers of that naming convention.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from mmtutorial._checks import InvalidParameterError, check_mapping

from ._tf import keras

__all__ = ["encoder_outputs"]


def auxiliary_head_targets(model: keras.Model) -> dict[str, str]:
    """Return ``{"aux_<m>_<h>": h}``: the head whose target each auxiliary head learns.

    Examples
    --------
    >>> from mmtutorial.tf_nn import build_multimodal_model
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
    >>> from mmtutorial.tf_nn import article_model, build_multimodal_model
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

    >>> from mmtutorial.tf_nn import article_model, build_multimodal_model
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
