"""Gradient checking with centred finite differences and the CS231n relative error.

Used by chapters 2, 3a, 3b and 4.

Compares a hand-written backward pass with ``(f(x + ε) − f(x − ε)) / 2ε``, one entry at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from ._checks import InvalidParameterError, check_instance, check_mapping, check_number
from .numpy_nn import MultimodalNet


class KinkCrossedError(ValueError):
    """A finite-difference step switched a ReLU on or off, so the numeric gradient is invalid there.

    Not a bug in the backward pass: the loss is not differentiable at the kink. Use other data
    (or weights), or a smaller ``eps``.
    """


def relative_error(
    analytic: np.ndarray, numeric: np.ndarray, tiny: float = 1e-12, *, norm: bool = False
) -> float:
    """Relative error of two gradients: worst element-wise (CS231n) or of the whole arrays.

    Element-wise (default): ``max_i |a_i − n_i| / max(|a_i| + |n_i|, tiny)``. With ``norm=True``:
    ``‖a − n‖₂ / max(‖a‖₂ + ‖n‖₂, tiny)`` (the convention of Ng's deep-learning course).
    ``tiny`` only guards entries where both gradients are zero.

    Around 1e-7 or below: the two agree to float64 finite-difference precision; 1e-2 or above: a
    bug. The element-wise worst case is dominated by the entry with the smallest gradient: the
    finite difference has an *absolute* rounding error of about ``ulp(loss) / eps``, so an entry
    whose gradient happens to be near 0 shows a large relative error without any bug.

    Examples
    --------
    >>> a = np.array([1.0, 1e-4])
    >>> n = np.array([1.0, 1e-4 + 1e-12])  # a finite-difference error of 1e-12
    >>> f"{relative_error(a, n):.1e}"  # worst entry: the small one
    '5.0e-09'
    >>> f"{relative_error(a, n, norm=True):.1e}"
    '5.0e-13'
    >>> relative_error(np.zeros(3), np.zeros(3))
    0.0
    """
    a, n = np.asarray(analytic, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    if a.shape != n.shape:
        raise InvalidParameterError(
            f"numeric must have the shape of analytic {a.shape}, got {n.shape}"
        )
    tiny = check_number("tiny", tiny, low=0, low_open=True)
    if a.size == 0:
        return 0.0
    if norm:
        scale = np.linalg.norm(a) + np.linalg.norm(n)
        return float(np.linalg.norm(a - n) / max(scale, tiny))
    return float(np.max(np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), tiny)))


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Centred-difference gradient of ``f()`` with respect to the array ``x``.

    Each entry of ``x`` is perturbed *in place* by ``±eps`` (``f`` must read ``x``) and restored,
    even if ``f`` raises. The error is ``O(eps²)`` from truncation plus ``O(ulp(f) / eps)`` from
    rounding; for a loss that is quadratic in each entry (MSE on a ReLU network away from its
    kinks) the truncation term vanishes.

    Examples
    --------
    >>> x = np.array([1.0, -2.0])
    >>> numerical_gradient(lambda: float(np.sum(x**2)), x).round(6)  # d/dx Σ x² = 2x
    array([ 2., -4.])
    >>> x  # restored
    array([ 1., -2.])
    """
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        raise InvalidParameterError(
            f"x must be a floating-point numpy array, got {type(x).__name__}"
            + (f" of dtype {x.dtype}" if isinstance(x, np.ndarray) else "")
        )
    eps = check_number("eps", eps, low=0, low_open=True)
    grad = np.zeros_like(x, dtype=np.float64)
    for index in np.ndindex(x.shape):
        old = x[index]
        try:
            x[index] = old + eps
            f_plus = f()
            x[index] = old - eps
            f_minus = f()
        finally:
            x[index] = old
        grad[index] = (f_plus - f_minus) / (2 * eps)  # ∂f/∂x ≈ (f(x+ε) − f(x−ε)) / 2ε
    return grad


def check_gradients(
    loss_fn: Callable[[], float],
    params: Mapping[str, np.ndarray],
    grads: Mapping[str, np.ndarray],
    eps: float = 1e-6,
    *,
    norm: bool = False,
) -> dict[str, float]:
    """Compare analytic ``grads`` with centred differences of ``loss_fn`` for every parameter.

    Parameters
    ----------
    loss_fn : callable
        Recomputes the loss from the current values of ``params`` (no arguments).
    params : dict[str, ndarray]
        The live parameter arrays; each is perturbed in place and restored.
    grads : dict[str, ndarray]
        The analytic gradients, same names and shapes, computed *before* calling this.
    eps : float
        Finite-difference step.
    norm : bool
        Passed to :func:`relative_error`: worst entry (``False``) or whole-array norm (``True``).

    Returns
    -------
    dict[str, float]
        The :func:`relative_error` of each parameter.

    Examples
    --------
    >>> w = np.array([0.5, -1.5])
    >>> check_gradients(lambda: float(np.sum(w**3)), {"w": w}, {"w": 3 * w**2})["w"] < 1e-7
    True
    """
    params = check_mapping("params", params)
    grads = check_mapping("grads", grads, keys=params, what="parameters of params")
    return {
        name: relative_error(grads[name], numerical_gradient(loss_fn, value, eps), norm=norm)
        for name, value in params.items()
    }


def check_network(
    net: MultimodalNet,
    inputs: Mapping[str, np.ndarray],
    targets: Mapping[str, np.ndarray],
    eps: float = 1e-6,
    *,
    norm: bool = False,
) -> dict[str, float]:
    """Gradient-check every parameter of ``net`` *and* the gradient reaching each modality input.

    Returns ``{"<layer>/W" | "<layer>/b": error, …, "input/<modality>": error, …}``. The network
    must be float64: in float32 a step of ``eps`` is lost to rounding (the loss does not change,
    every numeric gradient is 0 and every error 1.0), so a float32 network is refused; check
    ``net.copy(dtype="float64")`` instead. Raises :class:`KinkCrossedError` if a
    ``±eps`` step switches any ReLU on or off (the loss is not differentiable there, so the
    finite difference would measure the kink, not a bug).

    For squared-error heads on a ReLU network the loss is exactly quadratic in each single
    parameter between kinks, so centred differences have no truncation error and a larger ``eps``
    (1e-4) only reduces rounding: on the article's network the element-wise worst case drops from
    ~1e-6 to ~1e-7 (2e-8 to 1.2e-7 over six seeds, chapter 3b).

    Examples
    --------
    >>> from mmtutorial.numpy_nn import article_network
    >>> rng = np.random.default_rng(0)
    >>> inputs = {"x1": rng.random((4, 10)), "x2": rng.random((4, 10))}
    >>> targets = {"y1": rng.random((4, 10)), "y2": rng.random((4, 10))}
    >>> errors = check_network(article_network(seed=1), inputs, targets)
    >>> sorted(errors)[:3]
    ['head_y1/W', 'head_y1/b', 'head_y2/W']
    """
    check_instance("net", net, MultimodalNet, "a MultimodalNet")
    if net.dtype != np.float64:
        raise InvalidParameterError(
            f"net must be float64 for a finite-difference check, got a {net.dtype} network "
            "(its rounding would swamp the differences); check net.copy(dtype='float64')"
        )
    eps = check_number("eps", eps, low=0, low_open=True)
    inputs = {m: np.array(x, dtype=net.dtype) for m, x in check_mapping("inputs", inputs).items()}
    net.loss(inputs, targets)
    net.backward()
    pattern = net.activation_pattern()
    analytic = {name: g.copy() for name, g in net.gradients().items()}
    input_grads = {f"input/{m}": g.copy() for m, g in net.input_gradients().items()}

    def loss_fn() -> float:
        loss = net.loss(inputs, targets)[0]
        for layer, active in net.activation_pattern().items():
            if not np.array_equal(active, pattern[layer]):
                raise KinkCrossedError(
                    f"a ±eps step (eps={eps}) switched a ReLU of layer {layer!r}: "
                    "the loss has a kink there; use other data or a smaller eps"
                )
        return loss

    errors = check_gradients(loss_fn, net.parameters(), analytic, eps, norm=norm)
    live_inputs = {f"input/{m}": x for m, x in inputs.items()}
    errors.update(check_gradients(loss_fn, live_inputs, input_grads, eps, norm=norm))
    return errors
