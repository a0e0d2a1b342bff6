"""Keras fusion layers: the point where the modalities of a multimodal network meet.

Each layer takes a list of ``(batch, features)`` tensors, one per modality, and returns one
``(batch, fused)`` tensor. Used by :mod:`mmtutorial.tf_models` and chapters 4 and 5.
"""

from __future__ import annotations

from mmtutorial.repro import import_tensorflow

import_tensorflow()

import keras  # noqa: E402
from keras import ops  # noqa: E402

__all__ = ["ConcatFusion", "GatedFusion", "LowRankFusion", "SumFusion", "TensorFusion"]

_register = keras.saving.register_keras_serializable(package="mmtutorial")


def _widths(layer: str, shapes: object, min_modalities: int) -> list[int]:
    """Return each modality's feature count, or fail naming the layer and what it received."""
    if not isinstance(shapes, list | tuple) or not all(isinstance(s, list | tuple) for s in shapes):
        raise TypeError(f"{layer} takes a list of (batch, features) tensors, got {shapes!r}")
    if len(shapes) < min_modalities:
        raise ValueError(
            f"{layer} needs at least {min_modalities} modalities, got {len(shapes)} input(s)"
        )
    for i, shape in enumerate(shapes):
        if len(shape) != 2 or shape[-1] is None:
            raise ValueError(
                f"{layer}: input {i} must have shape (batch, features) with known features, "
                f"got {tuple(shape)}"
            )
    return [int(shape[-1]) for shape in shapes]


def _equal_widths(layer: str, widths: list[int]) -> int:
    if len(set(widths)) != 1:
        raise ValueError(
            f"{layer} adds the modalities elementwise, so they need equal widths; got widths "
            f"{widths} (give every modality an encoder with the same number of units)"
        )
    return widths[0]


def _seeded(initializer: object, offset: int) -> object:
    """Return ``initializer`` with its integer seed moved by ``offset`` (distinct factors)."""
    seed = getattr(initializer, "seed", None)
    if offset == 0 or isinstance(seed, bool) or not isinstance(seed, int):
        return initializer
    return type(initializer).from_config({**initializer.get_config(), "seed": seed + offset})


def _with_one(h: object) -> object:
    """Return ``[1, h]``: a constant 1 in front of the features keeps every unimodal term."""
    return ops.concatenate([ops.ones_like(h[:, :1]), h], axis=-1)


@_register
class ConcatFusion(keras.layers.Layer):
    """Concatenate the modalities: ``h = [h_1; h_2; …; h_k]`` (the article's fusion).

    Examples
    --------
    >>> import numpy as np
    >>> ConcatFusion()([np.ones((2, 3)), np.zeros((2, 4))]).shape
    TensorShape([2, 7])
    """

    def build(self, input_shape: list) -> None:
        _widths(type(self).__name__, input_shape, 1)

    def call(self, inputs: list) -> object:
        return ops.concatenate(list(inputs), axis=-1)

    def compute_output_shape(self, input_shape: list) -> tuple:
        widths = _widths(type(self).__name__, input_shape, 1)
        return (input_shape[0][0], sum(widths))


@_register
class SumFusion(keras.layers.Layer):
    """Add (``mode="sum"``) or average (``mode="mean"``) modalities of equal width.

    Parameters
    ----------
    mode : {"sum", "mean"}
        ``h = Σ_m h_m`` or ``h = (1/k) Σ_m h_m``.

    Examples
    --------
    >>> import numpy as np
    >>> SumFusion("mean")([np.ones((2, 3)), np.zeros((2, 3))]).numpy()[0].tolist()
    [0.5, 0.5, 0.5]
    """

    def __init__(self, mode: str = "sum", **kwargs: object) -> None:
        super().__init__(**kwargs)
        if mode not in ("sum", "mean"):
            raise ValueError(f"mode must be 'sum' or 'mean', got {mode!r}")
        self.mode = mode

    def build(self, input_shape: list) -> None:
        _equal_widths(type(self).__name__, _widths(type(self).__name__, input_shape, 1))

    def call(self, inputs: list) -> object:
        total = ops.sum(ops.stack(list(inputs), axis=0), axis=0)
        return total / len(inputs) if self.mode == "mean" else total

    def compute_output_shape(self, input_shape: list) -> tuple:
        return tuple(input_shape[0])

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": self.mode}


@_register
class GatedFusion(keras.layers.Layer):
    r"""Weigh modalities of equal width by learned gates: ``h = Σ_m g_m h_m``.

    The gates are a softmax over the ``k`` modalities of a linear function of all of them,
    ``g = softmax(W_g [h_1; …; h_k] + b_g)``, one set per sample, so the network learns how much
    to trust each modality for each input. :meth:`gates` returns them, shape ``(batch, k)``.

    Parameters
    ----------
    kernel_initializer : str or keras.initializers.Initializer
        Initialiser of ``W_g`` (shape ``(Σ_m d_m, k)``); ``b_g`` starts at zero.

    Examples
    --------
    >>> import numpy as np
    >>> layer = GatedFusion()
    >>> layer([np.ones((2, 3)), np.zeros((2, 3))]).shape
    TensorShape([2, 3])
    >>> layer.gates([np.ones((2, 3)), np.zeros((2, 3))]).shape
    TensorShape([2, 2])
    """

    def __init__(self, kernel_initializer: object = "glorot_uniform", **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape: list) -> None:
        widths = _widths(type(self).__name__, input_shape, 2)
        _equal_widths(type(self).__name__, widths)
        k = len(widths)
        self.gate_kernel = self.add_weight(
            shape=(sum(widths), k), initializer=self.kernel_initializer, name="gate_kernel"
        )
        self.gate_bias = self.add_weight(shape=(k,), initializer="zeros", name="gate_bias")

    def gates(self, inputs: list) -> object:
        """Return the gates ``g``, shape ``(batch, k)``; each row sums to 1."""
        if not self.built:
            self.build([tuple(x.shape) for x in inputs])
        inputs = [ops.cast(x, self.compute_dtype) for x in inputs]
        logits = ops.matmul(ops.concatenate(list(inputs), axis=-1), self.gate_kernel)
        return ops.softmax(logits + self.gate_bias, axis=-1)

    def call(self, inputs: list) -> object:
        g = self.gates(inputs)
        return ops.sum(ops.stack(list(inputs), axis=1) * ops.expand_dims(g, -1), axis=1)

    def compute_output_shape(self, input_shape: list) -> tuple:
        return tuple(input_shape[0])

    def get_config(self) -> dict:
        init = keras.initializers.serialize(self.kernel_initializer)
        return {**super().get_config(), "kernel_initializer": init}


@_register
class TensorFusion(keras.layers.Layer):
    r"""Tensor fusion (Zadeh et al., 2017): all products of features across modalities.

    ``z = vec([1, h_1] ⊗ [1, h_2] ⊗ … ⊗ [1, h_k])`` has ``Π_m (d_m + 1)`` features. The constant
    1 keeps each modality's own features and every lower-order interaction in ``z``. No weights:
    the following Dense layer learns from the products, at a cost that grows multiplicatively.

    Examples
    --------
    >>> import numpy as np
    >>> TensorFusion()([np.ones((2, 3)), np.ones((2, 4))]).shape   # (3 + 1) * (4 + 1)
    TensorShape([2, 20])
    """

    def build(self, input_shape: list) -> None:
        _widths(type(self).__name__, input_shape, 2)

    def call(self, inputs: list) -> object:
        z = _with_one(inputs[0])
        for h in inputs[1:]:
            outer = ops.expand_dims(z, 2) * ops.expand_dims(_with_one(h), 1)
            z = ops.reshape(outer, (-1, outer.shape[1] * outer.shape[2]))
        return z

    def compute_output_shape(self, input_shape: list) -> tuple:
        size = 1
        for width in _widths(type(self).__name__, input_shape, 2):
            size *= width + 1
        return (input_shape[0][0], size)


@_register
class LowRankFusion(keras.layers.Layer):
    r"""Low-rank multimodal fusion (Liu et al., 2018): tensor fusion without the tensor.

    A weight tensor of rank ``r`` applied to ``[1, h_1] ⊗ … ⊗ [1, h_k]`` factorises into one
    factor ``W_m^{(i)}`` (shape ``(d_m + 1, units)``) per modality and rank term ``i``, so

    .. math:: h = \sum_{i=1}^{r} \prod_{m=1}^{k} \left([1, h_m] W_m^{(i)}\right) + b

    (the product is elementwise), costing ``r Σ_m (d_m + 1) units`` weights instead of
    ``Π_m (d_m + 1) units``.

    Parameters
    ----------
    units : int
        Width of the fused output.
    rank : int
        Number of rank-one terms ``r``.
    kernel_initializer : str or keras.initializers.Initializer
        Initialiser of each factor, stored as ``factor_<m>`` of shape ``(r, d_m + 1, units)``.

    Examples
    --------
    >>> import numpy as np
    >>> LowRankFusion(units=8, rank=4)([np.ones((2, 3)), np.ones((2, 5))]).shape
    TensorShape([2, 8])
    """

    def __init__(
        self, units: int, rank: int = 4, kernel_initializer: object = "glorot_uniform", **kwargs
    ) -> None:
        super().__init__(**kwargs)
        for name, value in (("units", units), ("rank", rank)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        self.units, self.rank = units, rank
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape: list) -> None:
        widths = _widths(type(self).__name__, input_shape, 2)
        self.factors = [
            self.add_weight(
                shape=(self.rank, width + 1, self.units),
                initializer=_seeded(self.kernel_initializer, m),
                name=f"factor_{m}",
            )
            for m, width in enumerate(widths)
        ]
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, inputs: list) -> object:
        product = None
        for h, factor in zip(inputs, self.factors, strict=True):
            term = ops.einsum("bd,rdu->bru", _with_one(h), factor)  # (batch, rank, units)
            product = term if product is None else product * term
        return ops.sum(product, axis=1) + self.bias

    def compute_output_shape(self, input_shape: list) -> tuple:
        return (input_shape[0][0], self.units)

    def get_config(self) -> dict:
        init = keras.initializers.serialize(self.kernel_initializer)
        return {
            **super().get_config(),
            "units": self.units,
            "rank": self.rank,
            "kernel_initializer": init,
        }
