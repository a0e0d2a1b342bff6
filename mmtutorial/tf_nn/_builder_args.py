"""What the two builders share: checks of their names and layer specs, seeded initialisers, and
the perturbation of the initial weights that ``MMTUTORIAL_PERTURB`` asks for (``make nbval-sweep``).

Used by :func:`~mmtutorial.tf_nn.build_multimodal_model` and, for names and initialisers,
:func:`~mmtutorial.tf_nn.build_dual_encoder` (chapters 4 to 6).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from mmtutorial._checks import InvalidParameterError, check_dims, check_int, check_mapping
from mmtutorial.perturb import perturb_from_environment
from mmtutorial.seeds import seed_sequence

from ._tf import keras


def check_name(name: object, what: str) -> str:
    """Return ``name`` if it is a Python identifier (a modality or head name)."""
    if not isinstance(name, str) or not name.isidentifier():
        raise InvalidParameterError(
            f"{what} names must be Python identifiers (e.g. 'pix'), got {name!r}"
        )
    return name


def check_activation(name: str, activation: object) -> str | None:
    """Return ``activation`` if Keras knows it (a name or ``None``)."""
    try:
        keras.activations.get(activation)
    except (ValueError, TypeError):
        raise InvalidParameterError(
            f"{name} must be a Keras activation name or None, got {activation!r}"
        ) from None
    return activation


def check_specs(
    modality_dims: Mapping[str, int],
    head_specs: Mapping[str, int | tuple[int, str | None]],
    auxiliary: bool = False,
) -> tuple[dict[str, int], dict[str, tuple[int, str | None]]]:
    """Return ``(dims, heads)`` checked, refusing names that give two layers one name."""
    dims = check_dims("modality_dims", modality_dims)
    for m in dims:
        check_name(m, "modality")
    heads = {}
    for h, spec in check_mapping("head_specs", head_specs).items():
        check_name(h, "head")
        if isinstance(spec, int | np.integer) and not isinstance(spec, bool):
            spec = (spec, None)  # numpy_nn's form, {head: units}: linear outputs
        if not isinstance(spec, tuple | list) or len(spec) != 2:
            raise InvalidParameterError(
                f"head_specs[{h!r}] must be units or (units, activation), got {spec!r}"
            )
        units = check_int(f"head_specs[{h!r}] units", spec[0], low=1)
        heads[h] = (units, check_activation(f"head_specs[{h!r}] activation", spec[1]))
    layer_names = [*dims, *(f"encoder_{m}" for m in dims), "fusion", "shared"]
    layer_names += [f"head_{h}" for h in heads]
    if auxiliary:  # each aux_<m>_<h> names a layer and an output: it may clash with either
        aux = [f"aux_{m}_{h}" for m in dims for h in heads]
        layer_names += aux + [h for h in heads if h in aux]
    clashes = sorted({n for n in layer_names if layer_names.count(n) > 1})
    if clashes:
        raise InvalidParameterError(
            f"modality and head names give clashing layer names {clashes}; rename them"
        )
    return dims, heads


def encoder_widths(encoder_units: object, dims: dict[str, int]) -> dict[str, int] | None:
    """Return ``{m: units}`` from one width or a dict of widths; ``None``: no encoders."""
    if encoder_units is None:
        return None
    if isinstance(encoder_units, Mapping):
        check_mapping("encoder_units", encoder_units, keys=dims, what="modalities")
        return {m: check_int(f"encoder_units[{m!r}]", encoder_units[m], low=1) for m in dims}
    return dict.fromkeys(dims, check_int("encoder_units", encoder_units, low=1))


def initializers(seed: int | None, count: int) -> list[keras.initializers.Initializer]:
    """Return ``count`` Glorot-uniform initialisers on independent streams spawned from the
    initial-weights stream of ``seed`` (:mod:`mmtutorial.seeds`)."""
    if seed is None:
        return [keras.initializers.GlorotUniform() for _ in range(count)]
    children = seed_sequence(seed, "init").spawn(count)
    return [keras.initializers.GlorotUniform(int(c.generate_state(1)[0])) for c in children]


def perturbed(model: keras.Model) -> keras.Model:
    """Return ``model``, its initial weights moved as ``MMTUTORIAL_PERTURB`` asks (if set)."""
    moved = perturb_from_environment(model.get_weights())
    if moved is not None:
        model.set_weights(moved)
    return model
