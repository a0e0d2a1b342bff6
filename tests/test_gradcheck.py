"""Tests of mmtutorial.gradcheck: the checker itself, and that it catches a wrong backward."""

import numpy as np
import pytest

from mmtutorial.gradcheck import (
    KinkCrossedError,
    check_gradients,
    check_network,
    numerical_gradient,
    relative_error,
)
from mmtutorial.numpy_nn import Dense, MultimodalNet, article_network


def _article_batch(seed: int, batch: int = 4):
    rng = np.random.default_rng(seed)
    inputs = {"x1": rng.random((batch, 10)), "x2": rng.random((batch, 10))}
    targets = {"y1": rng.random((batch, 10)), "y2": rng.random((batch, 10))}
    return inputs, targets


def test_relative_error_elementwise_and_norm():
    a = np.array([1.0, 1e-3])
    n = np.array([1.0, 1.1e-3])
    assert relative_error(a, n) == pytest.approx(0.1e-3 / 2.1e-3)
    assert relative_error(a, n, norm=True) == pytest.approx(1e-4 / (np.linalg.norm(a) + 1.00000061))
    assert relative_error(np.zeros(2), np.zeros(2)) == 0.0
    with pytest.raises(ValueError, match="numeric must have the shape"):
        relative_error(np.zeros(2), np.zeros(3))


def test_numerical_gradient_matches_calculus_and_restores_x():
    x = np.array([[0.3, -1.2], [2.0, 0.7]])
    before = x.copy()
    grad = numerical_gradient(lambda: float(np.sum(np.sin(x))), x)
    assert relative_error(np.cos(x), grad) < 1e-8
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_restores_x_when_f_raises():
    x = np.array([1.0, 2.0])

    def boom() -> float:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        numerical_gradient(boom, x)
    np.testing.assert_array_equal(x, [1.0, 2.0])


def test_numerical_gradient_rejects_integer_arrays():
    with pytest.raises(TypeError, match="x must be a floating-point"):
        numerical_gradient(lambda: 0.0, np.array([1, 2]))


def test_check_gradients_rejects_mismatched_names():
    with pytest.raises(
        ValueError, match=r"grads must name the parameters of params \['w'\]: unknown \['v'\]"
    ):
        check_gradients(lambda: 0.0, {"w": np.zeros(1)}, {"v": np.zeros(1)})


class _BuggyDense(Dense):
    """Averages the bias gradient over the batch instead of summing it: a classic slip."""

    def backward(self, dy):
        dx = super().backward(dy)
        self.grads["b"][...] = dy.mean(axis=0)
        return dx


def test_gradcheck_detects_a_wrong_backward():
    inputs, targets = _article_batch(seed=3)
    net = article_network(seed=3)
    correct = check_network(net, inputs, targets)
    buggy = article_network(seed=3)
    layer = buggy.layers["shared"]
    layer.__class__ = _BuggyDense
    errors = check_network(buggy, inputs, targets)
    assert errors["shared/b"] > 0.1, errors
    assert correct["shared/b"] < 1e-7
    # Everything downstream of the bug is still right; everything upstream is fed by dx, also right.
    assert errors["head_y1/W"] == correct["head_y1/W"] < 1e-5


def test_gradcheck_detects_a_wrong_input_gradient():
    inputs, targets = _article_batch(seed=4)
    net = article_network(seed=4)
    original = net.backward

    def backward_with_bug():
        original()
        net._input_grads["x2"] = 2 * net._input_grads["x2"]

    net.backward = backward_with_bug
    errors = check_network(net, inputs, targets)
    assert errors["input/x2"] > 0.1
    assert errors["input/x1"] < 1e-6


def test_check_network_refuses_a_step_across_a_relu_kink():
    net = MultimodalNet({"a": 2}, {"y": 1}, shared_units=3, seed=0)
    inputs = {"a": np.zeros((2, 2))}  # shared pre-activation = b = 0: exactly on the kink
    with pytest.raises(KinkCrossedError, match="switched a ReLU of layer 'shared'"):
        check_network(net, inputs, {"y": np.ones((2, 1))})


# --- arguments and defaults, with exact messages ----------------------------------------------


def _tiny_case():
    net = MultimodalNet({"a": 2}, {"y": 2}, shared_units=3, seed=4)
    inputs = {"a": np.array([[0.5, -1.0], [1.5, 0.25], [0.1, 0.2]])}
    return net, inputs, {"y": np.array([[1.0, 0.0], [2.0, 1.0], [0.0, 0.5]])}


def _message(call, *args, **kwargs):
    with pytest.raises(ValueError) as raised:
        call(*args, **kwargs)
    return str(raised.value)


def test_check_network_argument_messages_are_exact():
    net, inputs, targets = _tiny_case()
    assert (
        _message(check_network, "net", inputs, targets) == "net must be a MultimodalNet, got 'net'"
    )
    assert _message(check_network, net, inputs, targets, eps=0) == (
        "eps must be a finite number > 0, got 0"
    )
    assert _message(check_network, net, [1], targets) == "inputs must be a non-empty dict, got [1]"


def test_check_network_defaults_are_eps_1e_6_and_the_worst_entry():
    net, inputs, targets = _tiny_case()
    default = check_network(net, inputs, targets)
    assert default == check_network(net, inputs, targets, 1e-6, norm=False)
    assert default != check_network(net, inputs, targets, 1e-5)
    whole = check_network(net, inputs, targets, norm=True)
    assert all(whole[k] <= default[k] for k in default) and whole != default
    assert sorted(default) == [
        "head_y/W", "head_y/b", "input/a", "shared/W", "shared/b"
    ]  # fmt: skip


def test_check_network_leaves_the_callers_inputs_and_the_weights_alone():
    net, inputs, targets = _tiny_case()
    before = {k: v.copy() for k, v in net.parameters().items()}
    x = inputs["a"].copy()
    check_network(net, inputs, targets)
    np.testing.assert_array_equal(inputs["a"], x)
    for k, v in net.parameters().items():
        np.testing.assert_array_equal(v, before[k])


def test_numerical_gradient_and_relative_error_arguments():
    assert _message(numerical_gradient, lambda: 0.0, np.array([1, 2])) == (
        "x must be a floating-point numpy array, got ndarray of dtype int64"
    )
    assert _message(numerical_gradient, lambda: 0.0, [1.0]) == (
        "x must be a floating-point numpy array, got list"
    )
    assert _message(numerical_gradient, lambda: 0.0, np.zeros(1), eps=-1.0) == (
        "eps must be a finite number > 0, got -1.0"
    )
    assert _message(relative_error, np.zeros(1), np.zeros(1), tiny=0) == (
        "tiny must be a finite number > 0, got 0"
    )
    assert _message(relative_error, np.zeros(2), np.zeros(3)) == (
        "numeric must have the shape of analytic (2,), got (3,)"
    )
    # tiny guards a denominator that is (almost) 0: 1e-13 / max(1e-13, 1e-12) = 0.1
    assert relative_error(np.array([1e-13]), np.array([0.0])) == pytest.approx(0.1)
    assert relative_error(np.array([]), np.array([])) == 0.0
    x = np.array([0.5])
    f = lambda: float(x[0] ** 3)  # noqa: E731
    expected = ((0.5 + 1e-6) ** 3 - (0.5 - 1e-6) ** 3) / (2 * 1e-6)  # the default eps
    assert numerical_gradient(f, x)[0] == expected


def test_check_gradients_defaults():
    w = np.array([0.5, -1.5])
    f = lambda: float(np.sum(w**3))  # noqa: E731
    wrong = {"w": 3 * w**2 + np.array([0.0, 1e-3])}
    default = check_gradients(f, {"w": w}, wrong)
    assert default == check_gradients(f, {"w": w}, wrong, 1e-6, norm=False)
    assert default["w"] == pytest.approx(relative_error(wrong["w"], 3 * w**2), rel=1e-3)
    assert check_gradients(f, {"w": w}, wrong, norm=True)["w"] < default["w"]
