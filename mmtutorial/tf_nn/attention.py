"""Attention fusion: each modality's encoding is a token, and the tokens attend to each other.

Chapter 5 compares it with the fusion layers of :mod:`mmtutorial.tf_nn.fusion` on the digits.
"""

from __future__ import annotations

from mmtutorial._checks import check_int

from ._tf import keras
from .fusion import _Fusion, _register, _seeded

ops = keras.ops

__all__ = ["AttentionFusion"]


@_register
class AttentionFusion(_Fusion):
    r"""Self-attention across modalities (Vaswani et al., 2017), then a mean over the tokens.

    Each modality ``m`` becomes one token ``t_m = e_m P_m + c_m + p_m`` of a common width ``u``:
    ``P_m, c_m`` project it to that width when the widths differ (or ``units`` is given), and
    ``p_m`` is a learned modality embedding, so the layer knows which token is which. A
    ``keras.layers.MultiHeadAttention`` runs across the ``M`` tokens of each sample, with a
    residual connection, and the fused vector is the mean over the tokens:

    .. math:: \mathbf z = \frac{1}{M} \sum_{m=1}^{M} \left(t_m + \mathrm{MHA}(t_1, \dots, t_M)_m
              \right)

    With a mask, an absent modality is neither attended to nor pooled: the output of a sample
    does not depend on its absent modalities at all. Shape ``(batch, u)``.

    Parameters
    ----------
    num_heads : int
        Attention heads.
    key_dim : int, optional
        Width of each head's queries, keys and values, at least 2; default
        ``max(2, u // num_heads)``. (With width 1, Keras 3.15's ``MultiHeadAttention`` adds its
        query, key and value biases along the token axis instead of the head axis whenever the
        number of tokens equals ``num_heads``: ``keras.ops.add`` takes them for a channels-first
        bias.)
    units : int, optional
        Token width ``u``; default the modalities' common width, or the largest one if they
        differ (then each modality is projected to it).
    kernel_initializer : str or keras.initializers.Initializer
        Initialiser of the projections, the modality embeddings and the attention's kernels. A
        seeded initialiser gives each weight tensor its own stream, derived from the seed.

    Examples
    --------
    >>> import numpy as np
    >>> layer = AttentionFusion(num_heads=2)
    >>> layer([np.ones((5, 4)), np.zeros((5, 4))]).shape
    TensorShape([5, 4])
    >>> layer([np.ones((5, 4)), np.zeros((5, 4))], mask=[np.ones(5, bool), np.zeros(5, bool)]).shape
    TensorShape([5, 4])
    """

    min_modalities = 2

    def __init__(
        self,
        num_heads: int = 2,
        key_dim: int | None = None,
        units: int | None = None,
        kernel_initializer: object = "glorot_uniform",
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)
        self.num_heads = check_int("num_heads", num_heads, low=1)
        self.key_dim = None if key_dim is None else check_int("key_dim", key_dim, low=2)
        self.units = None if units is None else check_int("units", units, low=1)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def _token_width(self, widths: list[int]) -> int:
        return self.units if self.units is not None else max(widths)

    def _build_weights(self, widths: list[int]) -> None:
        width, count = self._token_width(widths), len(widths)
        self.projected = self.units is not None or len(set(widths)) > 1
        self.projections = []
        if self.projected:
            self.projections = [
                (
                    self.add_weight(
                        shape=(d, width),
                        initializer=_seeded(self.kernel_initializer, m),
                        name=f"projection_{m}",
                    ),
                    self.add_weight(shape=(width,), initializer="zeros", name=f"bias_{m}"),
                )
                for m, d in enumerate(widths)
            ]
        self.modality_embedding = self.add_weight(
            shape=(count, width),
            initializer=_seeded(self.kernel_initializer, count),
            name="modality_embedding",
        )
        self.attention = keras.layers.MultiHeadAttention(
            self.num_heads,
            self.key_dim or max(2, width // self.num_heads),
            kernel_initializer=self.kernel_initializer,
            dtype=self.dtype_policy,
            name="attention",
        )
        self.attention.build((None, count, width), (None, count, width))
        # Keras gives the query, key, value and output kernels clones of one initialiser: with a
        # seed they would start equal. Redraw each from its own stream.
        kernels = [w for w in self.attention.weights if w.name == "kernel"]
        for i, kernel in enumerate(kernels, start=count + 1):
            init = _seeded(self.kernel_initializer, i)
            if init is not self.kernel_initializer:
                kernel.assign(init(tuple(kernel.shape), dtype=kernel.dtype))

    def tokens(self, inputs: list, mask: list | None = None) -> object:
        """Return the tokens ``t_m``, shape ``(batch, M, u)``, absent modalities zero-filled."""
        if not self.built:
            self.build([tuple(x.shape) for x in inputs])
        inputs = self._zeroed(list(inputs), mask)[0]
        if self.projected:
            pairs = zip(inputs, self.projections, strict=True)
            inputs = [ops.matmul(x, p) + c for x, (p, c) in pairs]
        return ops.stack(inputs, axis=1) + self.modality_embedding

    def call(self, inputs: list, mask: list | None = None) -> object:
        tokens = self.tokens(inputs, mask)
        present = self._zeroed(list(inputs), mask)[1]
        if present is None:
            return ops.mean(tokens + self.attention(tokens, tokens), axis=1)
        keep = ops.concatenate(present, axis=-1)  # (batch, M): 1 where present
        count = keep.shape[-1]
        # Every query may attend to the present keys only: mask[n, query, key] = key present.
        attend = ops.repeat(ops.expand_dims(keep > 0, 1), count, axis=1)
        mixed = tokens + self.attention(tokens, tokens, attention_mask=attend)
        total = ops.sum(mixed * ops.expand_dims(keep, -1), axis=1)
        return total / ops.maximum(ops.sum(keep, axis=-1, keepdims=True), 1.0)

    def compute_output_shape(self, input_shape: list) -> tuple:
        return (input_shape[0][0], self._token_width(self._widths(input_shape)))

    def get_config(self) -> dict:
        init = keras.initializers.serialize(self.kernel_initializer)
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "units": self.units,
            "kernel_initializer": init,
        }
