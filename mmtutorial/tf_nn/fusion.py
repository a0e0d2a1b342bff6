"""Keras fusion layers: the point where the modalities of a multimodal network meet.

Each layer takes a list of ``(batch, features)`` tensors, one per modality, and returns one
``(batch, fused)`` tensor. Used by :func:`mmtutorial.tf_nn.build_multimodal_model`, chapters 4, 5.

The ``# pragma: no mutate block`` on each ``__init__`` keeps mutation testing (``make
mutation-tf``) from wrapping it: Keras reads a layer's ``__init__`` signature when it is made.
"""

from __future__ import annotations

import numpy as np

from mmtutorial._checks import InvalidParameterError, check_choice, check_int

from ._tf import keras

ops = keras.ops

__all__ = ["ConcatFusion", "GatedFusion", "LowRankFusion", "SumFusion", "TensorFusion"]

_register = keras.saving.register_keras_serializable(package="mmtutorial")


def _seeded(initializer: object, stream: int) -> object:
    """Return ``initializer`` reseeded for ``stream``: independent of every other seed's streams."""
    seed = getattr(initializer, "seed", None)
    if isinstance(seed, bool) or not isinstance(seed, int):
        return initializer
    derived = int(np.random.SeedSequence((seed, stream)).generate_state(1)[0])
    return type(initializer).from_config({**initializer.get_config(), "seed": derived})


def _with_one(h: object) -> object:
    """Return ``[1, h]``: a constant 1 in front of the features keeps every unimodal term."""
    return ops.concatenate([ops.ones_like(h[:, :1]), h], axis=-1)


class _Fusion(keras.layers.Layer):
    """Shared checks of the fusion layers: shapes in ``build``, ``input_spec``, per-sample masks.

    A mask is one ``(batch,)`` bool tensor per modality (``True``: present), as in
    ``MultimodalData.mask``. An absent modality reaches the fusion as zeros; the output mask
    says which samples have at least one modality.
    """

    min_modalities = 1
    equal_widths = False

    def __init__(self, **kwargs: object) -> None:  # pragma: no mutate block
        super().__init__(**kwargs)
        self.supports_masking = True

    def _error(self, message: str) -> InvalidParameterError:
        return InvalidParameterError(f"{type(self).__name__} {self.name!r}: {message}")

    def _widths(self, shapes: object) -> list[int]:
        """Return each modality's feature count, or fail naming the layer and what it received."""
        if not isinstance(shapes, list | tuple) or not all(
            isinstance(s, list | tuple) for s in shapes
        ):
            raise self._error(f"takes a list of (batch, features) tensors, got {shapes!r}")
        if len(shapes) < self.min_modalities:
            raise self._error(
                f"needs at least {self.min_modalities} modalities, got {len(shapes)} input(s)"
            )
        for i, shape in enumerate(shapes):
            if len(shape) != 2 or shape[-1] is None:
                raise self._error(
                    f"input {i} must have shape (batch, features) with known features, "
                    f"got {tuple(shape)}"
                )
        widths = [int(shape[-1]) for shape in shapes]
        if self.equal_widths and len(set(widths)) != 1:
            raise self._error(
                f"adds the modalities elementwise, so they need equal widths; got widths "
                f"{widths} (give every modality an encoder with the same number of units)"
            )
        return widths

    def build(self, input_shape: list) -> None:
        widths = self._widths(input_shape)
        self.input_spec = [keras.InputSpec(ndim=2, axes={-1: w}) for w in widths]
        self._build_weights(widths)

    def _build_weights(self, widths: list[int]) -> None:
        """Create the layer's weights, if any."""

    def _zeroed(self, inputs: list, mask: list | None) -> tuple[list, list | None]:
        """Return the inputs with absent rows zeroed, and one ``(batch, 1)`` 0/1 column each."""
        inputs = [ops.cast(x, self.compute_dtype) for x in inputs]
        if mask is None:
            return inputs, None
        if not isinstance(mask, list | tuple) or len(mask) != len(inputs):
            listed = isinstance(mask, list | tuple)
            got = f"a list of {len(mask)}" if listed else type(mask).__name__
            raise self._error(
                f"mask must be a list of {len(inputs)} masks, one (batch,) bool tensor or None "
                f"per modality, got {got}"
            )
        if all(m is None for m in mask):
            return inputs, None
        present = [
            ops.ones_like(x[:, :1]) if m is None else ops.cast(ops.reshape(m, (-1, 1)), x.dtype)
            for x, m in zip(inputs, mask, strict=True)
        ]
        return [x * p for x, p in zip(inputs, present, strict=True)], present

    def compute_mask(self, inputs: list, mask: list | None = None) -> object:
        """Return the output mask: a sample is present if any of its modalities is."""
        present = self._zeroed(list(inputs), mask)[1]
        return None if present is None else ops.any(ops.concatenate(present, -1) > 0, axis=-1)

    def compute_output_shape(self, input_shape: list) -> tuple:
        return tuple(input_shape[0])  # modalities of equal width in, one of them out


@_register
class ConcatFusion(_Fusion):
    """Concatenate the modalities: ``h = [h_1; h_2; …; h_k]`` (the article's fusion).

    Examples
    --------
    >>> import numpy as np
    >>> ConcatFusion()([np.ones((2, 3)), np.zeros((2, 4))]).shape
    TensorShape([2, 7])
    """

    def call(self, inputs: list, mask: list | None = None) -> object:
        return ops.concatenate(self._zeroed(list(inputs), mask)[0], axis=-1)

    def compute_output_shape(self, input_shape: list) -> tuple:
        return (input_shape[0][0], sum(self._widths(input_shape)))


@_register
class SumFusion(_Fusion):
    """Add (``mode="sum"``) or average (``mode="mean"``) modalities of equal width.

    Parameters
    ----------
    mode : {"sum", "mean"}
        ``h = Σ_m h_m`` or ``h = (1/k) Σ_m h_m``; with a mask, the mean is over the modalities
        present in each sample.

    Examples
    --------
    >>> import numpy as np
    >>> SumFusion("mean")([np.ones((2, 3)), np.zeros((2, 3))]).numpy()[0].tolist()
    [0.5, 0.5, 0.5]
    """

    equal_widths = True

    def __init__(self, mode: str = "sum", **kwargs: object) -> None:  # pragma: no mutate block
        super().__init__(**kwargs)
        self.mode = check_choice("mode", mode, ("sum", "mean"))

    def call(self, inputs: list, mask: list | None = None) -> object:
        inputs, present = self._zeroed(list(inputs), mask)
        total = ops.sum(ops.stack(inputs, axis=0), axis=0)
        if self.mode == "sum":
            return total
        if present is None:
            return total / len(inputs)
        return total / ops.maximum(ops.sum(ops.stack(present, axis=0), axis=0), 1.0)

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": self.mode}


@_register
class GatedFusion(_Fusion):
    r"""Weigh modalities of equal width by learned gates: ``h = Σ_m g_m h_m``.

    The gates are a softmax over the ``k`` modalities of a linear function of all of them,
    ``g = softmax(W_g [h_1; …; h_k] + b_g)``, one set per sample, so the network learns how much
    to trust each modality for each input. :meth:`gates` returns them, shape ``(batch, k)``; an
    absent modality (mask) gets gate 0.

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

    min_modalities = 2
    equal_widths = True

    def __init__(
        self, kernel_initializer: object = "glorot_uniform", **kwargs: object
    ) -> None:  # pragma: no mutate block
        super().__init__(**kwargs)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def _build_weights(self, widths: list[int]) -> None:
        k = len(widths)
        self.gate_kernel = self.add_weight(
            shape=(sum(widths), k), initializer=self.kernel_initializer, name="gate_kernel"
        )
        self.gate_bias = self.add_weight(shape=(k,), initializer="zeros", name="gate_bias")

    def gates(self, inputs: list, mask: list | None = None) -> object:
        """Return the gates ``g``, shape ``(batch, k)``; each row sums to 1."""
        if not self.built:
            self.build([tuple(x.shape) for x in inputs])
        inputs, present = self._zeroed(list(inputs), mask)
        logits = ops.matmul(ops.concatenate(inputs, axis=-1), self.gate_kernel) + self.gate_bias
        if present is not None:  # absent modalities get gate exp(-1e9) = 0
            logits = logits - 1e9 * (1.0 - ops.concatenate(present, axis=-1))
        return ops.softmax(logits, axis=-1)

    def call(self, inputs: list, mask: list | None = None) -> object:
        g = self.gates(inputs, mask)
        h = ops.stack(self._zeroed(list(inputs), mask)[0], axis=1)
        return ops.sum(h * ops.expand_dims(g, -1), axis=1)

    def get_config(self) -> dict:
        init = keras.initializers.serialize(self.kernel_initializer)
        return {**super().get_config(), "kernel_initializer": init}


@_register
class TensorFusion(_Fusion):
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

    min_modalities = 2

    def call(self, inputs: list, mask: list | None = None) -> object:
        inputs = self._zeroed(list(inputs), mask)[0]
        z = _with_one(inputs[0])
        for h in inputs[1:]:
            outer = ops.expand_dims(z, 2) * ops.expand_dims(_with_one(h), 1)
            z = ops.reshape(outer, (-1, outer.shape[1] * outer.shape[2]))
        return z

    def compute_output_shape(self, input_shape: list) -> tuple:
        return (input_shape[0][0], int(np.prod([w + 1 for w in self._widths(input_shape)])))


@_register
class LowRankFusion(_Fusion):
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
        A seeded initialiser gives each factor its own stream, derived from the seed with
        ``numpy.random.SeedSequence``.

    Examples
    --------
    >>> import numpy as np
    >>> LowRankFusion(units=8, rank=4)([np.ones((2, 3)), np.ones((2, 5))]).shape
    TensorShape([2, 8])
    """

    min_modalities = 2

    def __init__(
        self, units: int, rank: int = 4, kernel_initializer: object = "glorot_uniform", **kwargs
    ) -> None:  # pragma: no mutate block
        super().__init__(**kwargs)
        self.units, self.rank = check_int("units", units, low=1), check_int("rank", rank, low=1)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def _build_weights(self, widths: list[int]) -> None:
        self.factors = [
            self.add_weight(
                shape=(self.rank, width + 1, self.units),
                initializer=_seeded(self.kernel_initializer, m),
                name=f"factor_{m}",
            )
            for m, width in enumerate(widths)
        ]
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, inputs: list, mask: list | None = None) -> object:
        product = None
        for h, factor in zip(self._zeroed(list(inputs), mask)[0], self.factors, strict=True):
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
