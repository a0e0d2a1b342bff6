"""Optimisers written out: plain SGD (the article's update rule) and Adam with bias correction.

Used by chapters 1, 2, 3a and 3b. Both update named float parameter arrays *in place*; a NaN or
inf gradient is refused before any parameter changes. Adam keeps state for the arrays it first
updated, and refuses another network's.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .._checks import (
    InvalidParameterError,
    check_finite,
    check_keys,
    check_mapping,
    check_number,
    check_shape,
)


def _check_pairs(params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
    """Fail unless ``params`` are float arrays and ``grads`` finite, of their names and shapes."""
    params = check_mapping("params", params)
    grads = check_mapping("grads", grads, keys=params, what="parameters of params")
    for name, value in params.items():
        if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
            got = f"dtype {value.dtype}" if isinstance(value, np.ndarray) else type(value).__name__
            raise InvalidParameterError(
                f"params[{name!r}] must be a float ndarray (updated in place), got {got}"
            )
        check_shape(f"grads[{name!r}]", grads[name], value.shape)
        check_finite(f"grads[{name!r}]", grads[name])


class SGD:
    r"""Stochastic gradient descent, the article's ``W ← W − η ΔW``.

    Parameters
    ----------
    lr : float
        Learning rate ``η > 0``.

    Examples
    --------
    >>> w = np.array([1.0, 2.0])
    >>> SGD(lr=0.1).step({"w": w}, {"w": np.array([1.0, -1.0])})
    >>> w
    array([0.9, 2.1])
    """

    def __init__(self, lr: float = 0.01) -> None:
        self.lr = check_number("lr", lr, low=0, low_open=True)

    def step(self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        """Update every array in ``params`` in place with its gradient in ``grads``."""
        _check_pairs(params, grads)
        for name, value in params.items():
            value -= self.lr * grads[name]  # θ ← θ − η g


class Adam:
    r"""Adam (Kingma & Ba, 2015), Algorithm 1, with bias correction.

    For each parameter ``θ`` with gradient ``g_t`` at step ``t = 1, 2, …``:

    .. math::

        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t \\
        v_t &= \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^2 \\
        \hat m_t &= m_t / (1 - \beta_1^t), \qquad \hat v_t = v_t / (1 - \beta_2^t) \\
        \theta_t &= \theta_{t-1} - \eta\, \hat m_t / (\sqrt{\hat v_t} + \epsilon)

    The moments ``m`` and ``v`` are kept per parameter *name* (``state[name] = (m, v)``); the
    step counter ``t`` is shared. This is the paper's form (``ε`` outside the square root), which
    is also what ``keras.optimizers.Adam`` computes, up to where ``ε`` is scaled.

    An ``Adam`` belongs to the arrays of its first step: as ``keras.optimizers.Adam``, it refuses
    other arrays (say, a fresh network's, whose names are the same) instead of carrying its
    moments and ``t`` over to them. Make a new ``Adam`` for a new network.

    Parameters
    ----------
    lr : float
        Step size (learning rate) ``η > 0``.
    beta1, beta2 : float
        Decay rates of the first and second moment estimates, in ``(0, 1)``.
    eps : float
        ``ε > 0``, guards the division.

    Examples
    --------
    >>> w = np.array([1.0])
    >>> Adam(lr=0.1).step({"w": w}, {"w": np.array([3.0])})  # first step moves by ≈ lr
    >>> w.round(6)
    array([0.9])
    >>> adam = Adam(lr=0.1)
    >>> adam.step({"w": w}, {"w": np.array([3.0])})
    >>> adam.step({"w": w.copy()}, {"w": np.array([3.0])})
    Traceback (most recent call last):
    ...
    mmtutorial._checks.InvalidParameterError: params must be the arrays this Adam has updated...
    """

    def __init__(
        self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
    ) -> None:
        self.lr = check_number("lr", lr, low=0, low_open=True)
        self.beta1 = check_number("beta1", beta1, low=0, high=1, low_open=True, high_open=True)
        self.beta2 = check_number("beta2", beta2, low=0, high=1, low_open=True, high_open=True)
        self.eps = check_number("eps", eps, low=0, low_open=True)
        self.t = 0
        self.state: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._params: dict[str, np.ndarray] | None = None  # the arrays of the first step

    def step(self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        """Update every array in ``params`` in place with its gradient in ``grads``."""
        _check_pairs(params, grads)
        self._check_same_arrays(params)
        self.t += 1
        for name, value in params.items():
            g = grads[name]
            if name not in self.state:
                self.state[name] = (np.zeros_like(value), np.zeros_like(value))
            m, v = self.state[name]
            m *= self.beta1
            m += (1 - self.beta1) * g  # m_t = β1 m_{t-1} + (1 − β1) g
            v *= self.beta2
            v += (1 - self.beta2) * g * g  # v_t = β2 v_{t-1} + (1 − β2) g²
            m_hat = m / (1 - self.beta1**self.t)  # bias correction
            v_hat = v / (1 - self.beta2**self.t)
            value -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)  # θ ← θ − η m̂ / (√v̂ + ε)

    def _check_same_arrays(self, params: Mapping[str, np.ndarray]) -> None:
        """Fail unless ``params`` are the arrays of the first step, under the same names.

        The arrays themselves are kept, not their ``id``: a new network could reuse a freed one.
        """
        if self._params is None:
            self._params = dict(params)
            return
        check_keys(
            "params", params, self._params, what="parameters this Adam has updated", exact=True
        )
        changed = [name for name, value in params.items() if value is not self._params[name]]
        if changed:
            shown = "every one" if len(changed) == len(params) else repr(changed)
            raise InvalidParameterError(
                f"params must be the arrays this Adam has updated, got other arrays for {shown}: "
                "an optimizer's moments and step count belong to the network it first updated; "
                "make a new Adam for a new network"
            )
