"""Layers with a hand-written ``forward`` and ``backward``: Dense, ReLU and Concat.

Used by chapters 3a and 3b, and through :class:`~mmtutorial.numpy_nn.MultimodalNet` by 1, 2, 4.
Each caches what its backward needs during ``forward``. Here ``x`` and ``y`` are a layer's own
input and output (not a head's target), of shape ``(batch, features)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._checks import (
    InvalidParameterError,
    check_choice,
    check_dtype,
    check_instance,
    check_int,
    check_shape,
)

_INITS = ("he", "glorot")


class Dense:
    """Fully connected layer ``y = x W + b``.

    Parameters
    ----------
    in_features, out_features : int
        Width of the input ``x`` and the output ``y``.
    rng : numpy.random.Generator
        Source of the initial weights (no hidden global state).
    init : {"he", "glorot"}
        Uniform initialisation: He, ``U(±sqrt(6 / in))``, suits a following ReLU; Glorot,
        ``U(±sqrt(6 / (in + out)))``, is the Keras default. Biases start at zero.
    name : str
        Layer name, used as the prefix of the parameter names in a network.
    dtype : float32 or float64

    Attributes
    ----------
    params : dict
        ``"W"``: ``(in_features, out_features)``, ``"b"``: ``(out_features,)``.
    grads : dict
        Same keys and shapes; filled (overwritten) by :meth:`backward`.

    Examples
    --------
    >>> layer = Dense(3, 2, rng=np.random.default_rng(0))
    >>> y = layer.forward(np.ones((4, 3)))
    >>> dx = layer.backward(np.ones((4, 2)))
    >>> y.shape, dx.shape, layer.grads["W"].shape
    ((4, 2), (4, 3), (3, 2))
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        rng: np.random.Generator,
        init: str = "he",
        name: str = "dense",
        dtype: np.dtype | type = np.float64,
    ) -> None:
        self.in_features = check_int("in_features", in_features, low=1)
        self.out_features = check_int("out_features", out_features, low=1)
        check_instance("rng", rng, np.random.Generator, "a numpy.random.Generator")
        self.init = check_choice("init", init, _INITS)
        self.name = name
        self.dtype = check_dtype("dtype", dtype)
        fan = in_features if init == "he" else in_features + out_features
        limit = np.sqrt(6.0 / fan)
        weights = rng.uniform(-limit, limit, size=(in_features, out_features))
        self.params = {
            "W": weights.astype(self.dtype),
            "b": np.zeros(out_features, dtype=self.dtype),
        }
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return ``x @ W + b`` for ``x`` of shape ``(batch, in_features)``."""
        self._x = x = check_shape(f"layer {self.name!r}: x", x, (None, self.in_features))
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """Take ``dL/dy`` ``(batch, out_features)``, fill ``grads`` and return ``dL/dx``."""
        if self._x is None:
            raise RuntimeError(f"layer {self.name!r}: call forward before backward")
        check_shape(f"layer {self.name!r}: dy", dy, (self._x.shape[0], self.out_features))
        self.grads["W"][...] = self._x.T @ dy  # dL/dW = xᵀ δ: (in, N) @ (N, out) -> (in, out)
        self.grads["b"][...] = dy.sum(axis=0)  # dL/db = Σ_n δ_n: (N, out) -> (out,)
        return dy @ self.params["W"].T  # dL/dx = δ Wᵀ: (N, out) @ (out, in) -> (N, in)


class ReLU:
    """Rectified linear unit ``max(x, 0)``, applied element-wise.

    The derivative at exactly 0 is taken as 0 (the kink; gradient checks avoid it). After
    ``forward``, ``mask`` holds which units were active (``x > 0``). A NaN stays NaN, so a
    diverging network shows in its loss instead of looking like an inactive unit.

    Examples
    --------
    >>> relu = ReLU()
    >>> relu.forward(np.array([[-1.0, 2.0]]))
    array([[0., 2.]])
    >>> relu.backward(np.array([[5.0, 5.0]]))
    array([[0., 5.]])
    >>> relu.forward(np.array([[np.nan, -1.0]]))  # a NaN stays NaN
    array([[nan,  0.]])
    """

    def __init__(self) -> None:
        self.mask: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return ``max(x, 0)``."""
        self.mask = x > 0
        return np.maximum(x, 0)  # not np.where(x > 0, x, 0), which would turn NaN into 0

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """Return ``dL/dx`` given ``dL/dy``."""
        if self.mask is None:
            raise RuntimeError("ReLU: call forward before backward")
        check_shape("ReLU: dy", dy, self.mask.shape)
        return dy * self.mask  # dL/dx = dL/dy ⊙ 1[x > 0]


class Concat:
    """Concatenate a list of ``(batch, d_i)`` arrays along the feature axis: the fusion layer.

    The backward pass *splits* the incoming gradient back into the pieces, so each input gets
    exactly the columns it contributed.

    Examples
    --------
    >>> fuse = Concat()
    >>> fuse.forward([np.zeros((2, 3)), np.ones((2, 1))]).shape
    (2, 4)
    >>> [g.shape for g in fuse.backward(np.ones((2, 4)))]
    [(2, 3), (2, 1)]
    """

    def __init__(self) -> None:
        self._widths: list[int] | None = None
        self._batch = 0

    def forward(self, xs: Sequence[np.ndarray]) -> np.ndarray:
        """Return the concatenation of ``xs`` along axis 1."""
        if len(xs) == 0:
            raise InvalidParameterError("xs must contain at least one array, got an empty list")
        shapes = [np.shape(x) for x in xs]
        if any(len(shape) != 2 for shape in shapes) or len({s[0] for s in shapes}) != 1:
            raise InvalidParameterError(
                f"xs must be (batch, d_i) arrays of one batch size, got shapes {shapes}"
            )
        self._widths = [shape[1] for shape in shapes]
        self._batch = shapes[0][0]
        return np.concatenate(xs, axis=1)

    def backward(self, dy: np.ndarray) -> list[np.ndarray]:
        """Split ``dL/dy`` into the gradients of the inputs, in order."""
        if self._widths is None:
            raise RuntimeError("Concat: call forward before backward")
        check_shape("Concat: dy", dy, (self._batch, sum(self._widths)))
        cuts = np.cumsum(self._widths)[:-1]
        return np.split(dy, cuts, axis=1)  # dL/dx_i = the columns of δ that x_i filled
