"""No silent failure in the NumPy engine: each mistake that used to give a wrong number, a NaN or
a raw NumPy error now fails at the call, naming the argument, the expected and the received."""

import gc

import numpy as np
import pytest

from mmtutorial._checks import InvalidParameterError
from mmtutorial.data import article_data
from mmtutorial.gradcheck import check_network
from mmtutorial.numpy_nn import (
    SGD,
    Adam,
    Concat,
    Dense,
    HalfSquaredError,
    MeanSquaredError,
    MultimodalNet,
    ReLU,
    SoftmaxCrossEntropy,
    article_network,
    train,
)


def test_an_empty_batch_is_refused_instead_of_a_nan_loss():
    data = article_data(n_samples=4)
    empty = {m: x[:0] for m, x in data.inputs.items()}
    with pytest.raises(
        InvalidParameterError, match=r"inputs\['x1'\] must hold at least one sample"
    ):
        article_network().loss(empty, {h: y[:0] for h, y in data.targets.items()})
    for loss in (HalfSquaredError(), MeanSquaredError()):
        with pytest.raises(
            ValueError, match=r"y_pred must have shape \(batch, k\) with batch >= 1"
        ):
            loss.forward(np.zeros((0, 2)), np.zeros((0, 2)))
    with pytest.raises(ValueError, match="batch >= 1 and classes >= 2, got"):
        SoftmaxCrossEntropy().forward(np.zeros(0, dtype=int), np.zeros((0, 3)))


def test_dense_backward_refuses_a_wrong_shaped_dy():
    layer = Dense(3, 2, rng=np.random.default_rng(0), name="shared")
    layer.forward(np.ones((4, 3)))
    for dy in (np.ones((4, 3)), np.ones((5, 2)), np.ones(2)):
        with pytest.raises(ValueError, match=r"layer 'shared': dy must have shape \(4, 2\), got"):
            layer.backward(dy)
    assert layer.backward(np.ones((4, 2))).shape == (4, 3)


def test_relu_backward_refuses_a_dy_it_would_broadcast():
    relu = ReLU()
    relu.forward(np.array([[1.0, -1.0], [2.0, 0.5]]))
    for dy in (np.ones((1, 2)), np.ones(2), np.ones((2, 1))):
        with pytest.raises(ValueError, match=r"ReLU: dy must have shape \(2, 2\), got"):
            relu.backward(dy)


def test_concat_backward_refuses_a_dy_it_would_mis_split():
    fuse = Concat()
    fuse.forward([np.zeros((2, 3)), np.zeros((2, 1))])
    for dy in (np.ones((2, 5)), np.ones((2, 3)), np.ones((3, 4))):
        with pytest.raises(ValueError, match=r"Concat: dy must have shape \(2, 4\), got"):
            fuse.backward(dy)
    with pytest.raises(ValueError, match=r"xs must be \(batch, d_i\) arrays of one batch size"):
        fuse.forward([np.zeros((2, 3)), np.zeros((3, 1))])
    with pytest.raises(ValueError, match="xs must contain at least one array"):
        fuse.forward([])


def test_relu_derivative_at_exactly_zero_is_zero():
    relu = ReLU()
    out = relu.forward(np.array([[0.0, -0.0, 1e-300, -1e-300]]))
    np.testing.assert_array_equal(out, [[0.0, 0.0, 1e-300, 0.0]])
    np.testing.assert_array_equal(relu.backward(np.full((1, 4), 3.0)), [[0.0, 0.0, 3.0, 0.0]])
    np.testing.assert_array_equal(relu.mask, [[False, False, True, False]])


def test_check_network_refuses_float32_instead_of_reporting_1():
    inputs, targets = {"a": np.array([[0.5, -1.0], [1.5, 0.25]])}, {"y": np.array([[1.0], [2.0]])}
    net = MultimodalNet({"a": 2}, {"y": 1}, shared_units=3, dtype="float32", seed=4)
    _raises_exactly(
        InvalidParameterError,
        "net must be float64 for a finite-difference check, got a float32 network (its rounding "
        "would swamp the differences); check net.copy(dtype='float64')",
        check_network,
        net,
        inputs,
        targets,
    )
    errors = check_network(net.copy(dtype="float64"), inputs, targets, eps=1e-4)
    assert max(errors.values()) < 1e-7


def test_an_xent_head_needs_two_classes():
    with pytest.raises(ValueError, match=r"head 'y' has the loss 'xent', .* >= 2 classes, got 1"):
        MultimodalNet({"a": 2}, {"y": 1}, losses={"y": "xent"})
    with pytest.raises(ValueError, match=r"classes >= 2, got \(3, 1\)"):
        SoftmaxCrossEntropy().forward(np.zeros(3, dtype=int), np.zeros((3, 1)))


@pytest.mark.parametrize("make", [lambda: SGD(0.1), lambda: Adam(0.1)])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_optimisers_refuse_a_non_finite_gradient_and_leave_the_weights(make, bad):
    w, v = np.array([1.0, 2.0]), np.array([3.0])
    optimizer = make()
    with pytest.raises(ValueError, match=r"grads\['w'\] must be finite, got 1 NaN or inf value"):
        optimizer.step({"v": v, "w": w}, {"v": np.array([1.0]), "w": np.array([0.5, bad])})
    np.testing.assert_array_equal(w, [1.0, 2.0])
    np.testing.assert_array_equal(v, [3.0])
    assert getattr(optimizer, "t", 0) == 0


def test_optimisers_refuse_a_wrong_shaped_gradient():
    with pytest.raises(ValueError, match=r"grads\['w'\] must have shape \(2,\), got \(3,\)"):
        SGD(0.1).step({"w": np.zeros(2)}, {"w": np.zeros(3)})


def test_gradients_of_an_older_batch_are_never_returned():
    data = article_data(n_samples=4)
    net = MultimodalNet({"x1": 10, "x2": 10}, {"y1": 10, "y2": 10}, encoder_units=3)
    net.loss(data.inputs, data.targets)
    net.backward()
    assert net.input_gradients()["x1"].shape == (4, 10)
    net.forward({m: x[:2] for m, x in data.inputs.items()})
    for query in (
        net.input_gradients,
        net.fusion_gradients,
        net.head_gradients_at_shared,
        net.shared_gradient,
        net.gradients,
    ):
        with pytest.raises(RuntimeError, match=r"call loss\(...\) and backward\(\) first"):
            query()
    with pytest.raises(RuntimeError, match=r"call loss\(inputs, targets\) before backward"):
        net.backward()
    net.loss(
        {m: x[:2] for m, x in data.inputs.items()}, {h: y[:2] for h, y in data.targets.items()}
    )
    net.backward()
    assert net.input_gradients()["x1"].shape == (2, 10)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seed": 1.5}, "seed must be an int >= 0 or a numpy.random.Generator, got 1.5"),
        ({"seed": -1}, "seed must be an int >= 0 or a numpy.random.Generator, got -1"),
        ({"dtype": "int32"}, "dtype must be float32 or float64"),
        ({"dtype": None}, "dtype must be float32 or float64 .*got None"),
        ({"shared_units": 2.0}, "shared_units must be an int >= 1, got 2.0"),
        ({"shared_units": True}, "shared_units must be an int >= 1, got True"),
        ({"encoder_units": 0}, r"encoder_units\['a'\] must be an int >= 1, got 0"),
        ({"loss_weights": {"y": np.nan}}, r"loss_weights\['y'\] must be a finite number >= 0"),
        ({"init": "zeros"}, r"init must be one of \('he', 'glorot'\), got 'zeros'"),
    ],
)
def test_network_arguments_fail_the_same_way(kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        MultimodalNet({"a": 2}, {"y": 1}, **kwargs)


@pytest.mark.parametrize("seed", [3, np.int64(3), np.uint8(3)])
@pytest.mark.parametrize("dtype", ["float32", np.float32, np.dtype("float32")])
def test_seed_and_dtype_accept_every_numpy_form(seed, dtype):
    net = MultimodalNet({"a": 2}, {"y": 1}, seed=seed, dtype=dtype)
    reference = MultimodalNet({"a": 2}, {"y": 1}, seed=3, dtype=np.float32)
    assert net.dtype == np.float32
    np.testing.assert_array_equal(net.parameters()["shared/W"], reference.parameters()["shared/W"])


# --- exact messages: a test that only searched for a word would pass a garbled message ---------


def _raises_exactly(error, message, call, *args, **kwargs):
    with pytest.raises(error) as raised:
        call(*args, **kwargs)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr": 0}, "lr must be a finite number > 0, got 0"),
        ({"beta1": 0}, "beta1 must be a finite number > 0 and < 1, got 0"),
        ({"beta1": 1}, "beta1 must be a finite number > 0 and < 1, got 1"),
        ({"beta2": 0}, "beta2 must be a finite number > 0 and < 1, got 0"),
        ({"beta2": 1.0}, "beta2 must be a finite number > 0 and < 1, got 1.0"),
        ({"eps": 0.0}, "eps must be a finite number > 0, got 0.0"),
    ],
)
def test_adam_arguments_fail_with_exact_messages(kwargs, message):
    _raises_exactly(InvalidParameterError, message, Adam, **kwargs)


def test_optimiser_arguments_at_their_bounds():
    _raises_exactly(InvalidParameterError, "lr must be a finite number > 0, got -1", SGD, -1)
    adam = Adam(lr=1e-9, beta1=1e-9, beta2=1 - 1e-9, eps=1e-300)
    assert (adam.lr, adam.beta1, adam.beta2, adam.eps) == (1e-9, 1e-9, 1 - 1e-9, 1e-300)
    assert SGD(lr=5).lr == 5.0 and SGD().lr == 0.01
    assert (Adam().lr, Adam().beta1, Adam().beta2, Adam().eps) == (0.001, 0.9, 0.999, 1e-8)


def test_optimiser_step_messages_are_exact():
    step = SGD(0.1).step
    _raises_exactly(InvalidParameterError, "params must be a non-empty dict, got {}", step, {}, {})
    _raises_exactly(
        InvalidParameterError,
        "grads must name the parameters of params ['w']: unknown ['v'], missing ['w']",
        step,
        {"w": np.zeros(2)},
        {"v": np.zeros(2)},
    )
    _raises_exactly(
        InvalidParameterError,
        "grads must be a non-empty dict, got [1]",
        step,
        {"w": np.zeros(1)},
        [1],
    )


def test_train_messages_are_exact():
    data = article_data(n_samples=4)
    _raises_exactly(
        InvalidParameterError,
        "optimizer must have a step(params, grads) method (e.g. SGD or Adam), got None (NoneType)",
        train,
        article_network(),
        data,
        None,
        steps=1,
    )
    _raises_exactly(
        InvalidParameterError,
        "data must hold at least one sample, got 0",
        train,
        article_network(),
        data.subset(slice(0, 0)),
        SGD(0.1),
        steps=1,
    )


def test_train_default_seed_is_0():
    data = article_data(n_samples=9)
    runs = [
        train(article_network(), data, SGD(0.1), steps=4, batch_size=4, **kw).loss
        for kw in ({}, {"seed": 0}, {"seed": 1})
    ]
    assert runs[0] == runs[1] != runs[2]


@pytest.mark.parametrize("loss", [HalfSquaredError, MeanSquaredError, SoftmaxCrossEntropy])
def test_losses_need_a_forward_before_backward(loss):
    _raises_exactly(RuntimeError, f"{loss.__name__}: call forward before backward", loss().backward)


def test_loss_argument_messages_are_exact():
    for loss in (HalfSquaredError(), MeanSquaredError()):
        _raises_exactly(
            InvalidParameterError,
            "y_pred must have shape (batch, k) with batch >= 1, got (3,)",
            loss.forward,
            np.zeros(3),
            np.zeros(3),
        )
        _raises_exactly(
            InvalidParameterError,
            "y_true must have shape (2, 1), got (2, 2)",
            loss.forward,
            np.zeros((2, 2)),
            np.zeros((2, 1)),
        )
    _raises_exactly(
        InvalidParameterError,
        "logits must have shape (batch, classes) with batch >= 1 and classes >= 2, got (2,)",
        SoftmaxCrossEntropy().forward,
        np.zeros(2, dtype=int),
        np.zeros(2),
    )


def test_predict_gives_huge_logits_as_they_are():
    net = MultimodalNet({"a": 1}, {"c": 3}, losses={"c": "xent"}, shared_units=1)
    net.parameters()["shared/W"][...] = 1.0
    net.parameters()["head_c/W"][...] = [[1000.0, 0.0, -1000.0]]
    logits = net.predict({"a": np.array([[1.0], [2.0]])})["c"]
    np.testing.assert_array_equal(logits, [[1000.0, 0.0, -1000.0], [2000.0, 0.0, -2000.0]])


def test_article_network_defaults():
    net = article_network()
    np.testing.assert_array_equal(
        net.parameters()["shared/W"], article_network(seed=0).parameters()["shared/W"]
    )
    assert net.dtype == np.float64 and net.shared_units == 20 and net.head_activation == "relu"
    glorot = np.sqrt(6 / (20 + 20))  # He's limit for this layer would be sqrt(6 / 20)
    assert glorot * 0.9 < np.abs(net.parameters()["shared/W"]).max() <= glorot


def test_copy_names_a_weight_the_copy_lacks():
    net = MultimodalNet({"a": 3}, {"y": 1}, encoder_units=4)
    _raises_exactly(
        InvalidParameterError,
        "copy overrides ['encoder_units'] must keep every weight's shape: "
        "'encoder_a/W' is (3, 4) here, None in the copy",
        net.copy,
        encoder_units=None,
    )


def test_layer_messages_are_exact():
    rng = np.random.default_rng(0)
    _raises_exactly(
        InvalidParameterError, "in_features must be an int >= 1, got 0", Dense, 0, 2, rng=rng
    )
    _raises_exactly(
        InvalidParameterError, "out_features must be an int >= 1, got 0", Dense, 2, 0, rng=rng
    )
    _raises_exactly(
        InvalidParameterError,
        "dtype must be float32 or float64 (a NumPy dtype or its name), got 'int8'",
        Dense,
        2,
        2,
        rng=rng,
        dtype="int8",
    )
    layer = Dense(2, 3, rng=rng)
    assert (layer.name, layer.in_features, layer.out_features) == ("dense", 2, 3)
    _raises_exactly(RuntimeError, "layer 'dense': call forward before backward", layer.backward, 0)
    _raises_exactly(
        InvalidParameterError,
        "layer 'dense': x must have shape (n, 2), got (3, 3)",
        layer.forward,
        np.zeros((3, 3)),
    )
    _raises_exactly(RuntimeError, "ReLU: call forward before backward", ReLU().backward, 0)
    _raises_exactly(RuntimeError, "Concat: call forward before backward", Concat().backward, 0)
    _raises_exactly(
        InvalidParameterError,
        "xs must contain at least one array, got an empty list",
        Concat().forward,
        [],
    )
    _raises_exactly(
        InvalidParameterError,
        "labels must lie in [0, 1] for 2 classes, got values in [0, 2]",
        SoftmaxCrossEntropy().forward,
        np.array([0, 2]),
        np.zeros((2, 2)),
    )


def test_network_layers_are_named_and_xent_heads_output_logits():
    net = MultimodalNet(
        {"a": 2}, {"y": 1, "c": 3}, encoder_units=2, losses={"c": "xent"}, head_activation="relu"
    )
    assert {n: layer.name for n, layer in net.layers.items()} == {
        "encoder_a": "encoder_a", "shared": "shared", "head_y": "head_y", "head_c": "head_c"
    }  # fmt: skip
    assert isinstance(net.head_relus["y"], ReLU) and net.head_relus["c"] is None
    assert net.shared_units == 20
    np.testing.assert_array_equal(
        net.parameters()["shared/W"],
        MultimodalNet(
            {"a": 2}, {"y": 1, "c": 3}, encoder_units=2, losses={"c": "xent"}, seed=0
        ).parameters()["shared/W"],
    )


def test_network_messages_are_exact():
    net = MultimodalNet({"a": 2}, {"y": 1})
    inputs = {"a": np.zeros((2, 2))}
    _raises_exactly(RuntimeError, "call forward(...) or loss(...) first", net.activation_pattern)
    _raises_exactly(RuntimeError, "call loss(inputs, targets) before backward()", net.backward)
    _raises_exactly(
        RuntimeError,
        "call loss(...) and backward() first (again after each forward)",
        net.input_gradients,
    )
    _raises_exactly(
        InvalidParameterError,
        "targets must name the heads ['y']: unknown ['z'], missing ['y']",
        net.loss,
        inputs,
        {"z": np.zeros((2, 1))},
    )
    _raises_exactly(
        InvalidParameterError, "targets must be a non-empty dict, got [1]", net.loss, inputs, [1]
    )
    _raises_exactly(
        InvalidParameterError,
        "encoder_units must name the modalities ['a']: unknown ['b'], missing ['a']",
        MultimodalNet,
        {"a": 2},
        {"y": 1},
        encoder_units={"b": 2},
    )
    _raises_exactly(
        InvalidParameterError,
        "loss_weights must name the heads ['y']: unknown ['z'], missing none",
        MultimodalNet,
        {"a": 2},
        {"y": 1},
        loss_weights={"z": 1.0},
    )


def test_check_network_takes_integer_inputs_and_passes_norm_to_the_inputs():
    net = MultimodalNet({"a": 2}, {"y": 1}, shared_units=3, seed=3)  # no kink within eps
    inputs, targets = {"a": np.array([[1, -1], [2, 1]])}, {"y": np.array([[1.0], [2.0]])}
    worst = check_network(net, inputs, targets)
    whole = check_network(net, inputs, targets, norm=True)
    assert whole["input/a"] != worst["input/a"]


# --- NaN, integer parameters and an optimiser's network ---------------------------------------


def test_relu_keeps_a_nan_and_otherwise_equals_the_old_formula_bit_for_bit():
    x = np.array([[np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-300, -1e-300, 2.5, -2.5]])
    for dtype in (np.float64, np.float32):  # in float32, ±1e-300 is ±0.0
        relu, xd = ReLU(), x.astype(dtype)
        y = relu.forward(xd)
        assert y.dtype == dtype
        assert np.isnan(y[0, :2]).all()  # np.where(x > 0, x, 0) made these 0: divergence hidden
        old = np.where(xd[:, 2:] > 0, xd[:, 2:], 0).astype(dtype)
        assert y[:, 2:].tobytes() == old.tobytes()  # same bits, the sign of zero included
        np.testing.assert_array_equal(relu.mask, xd > 0)
        np.testing.assert_array_equal(relu.backward(np.ones_like(y)), (xd > 0).astype(dtype))
    rng = np.random.default_rng(0)
    z = rng.normal(size=(50, 20))
    assert ReLU().forward(z).tobytes() == np.where(z > 0, z, 0).astype(z.dtype).tobytes()


def test_a_network_with_a_nan_weight_has_a_nan_loss():
    data = article_data(n_samples=4)
    net = article_network(seed=0)
    net.parameters()["shared/W"][0, 0] = np.nan  # every hidden unit's input then holds NaN
    loss, _ = net.loss(data.inputs, data.targets)
    assert np.isnan(loss)


@pytest.mark.parametrize("make", [lambda: SGD(0.1), lambda: Adam(0.1)], ids=["SGD", "Adam"])
@pytest.mark.parametrize(
    ("bad", "got"),
    [
        (np.array([1, 2]), "dtype int64"),
        (np.array([True, False]), "dtype bool"),
        ([1.0, 2.0], "list"),
    ],
)
def test_optimisers_refuse_parameters_they_cannot_update_in_place(make, bad, got):
    v, optimizer = np.array([3.0]), make()
    _raises_exactly(
        InvalidParameterError,
        f"params['w'] must be a float ndarray (updated in place), got {got}",
        optimizer.step,
        {"v": v, "w": bad},
        {"v": np.array([1.0]), "w": np.array([0.5, 0.5])},
    )
    np.testing.assert_array_equal(v, [3.0])
    assert getattr(optimizer, "t", 0) == 0


def test_adam_refuses_another_networks_parameters():
    data = article_data(n_samples=8)
    adam = Adam(0.01)
    train(article_network(seed=0), data, adam, steps=2)
    fresh = article_network(seed=0)
    before = {name: value.copy() for name, value in fresh.parameters().items()}
    _raises_exactly(
        InvalidParameterError,
        "params must be the arrays this Adam has updated, got other arrays for every one: an "
        "optimizer's moments and step count belong to the network it first updated; make a new "
        "Adam for a new network",
        train,
        fresh,
        data,
        adam,
        steps=1,
    )
    for name, value in fresh.parameters().items():  # weights *and* biases untouched
        np.testing.assert_array_equal(value, before[name], err_msg=name)
    assert adam.t == 2


def test_adam_refuses_a_changed_parameter_array_or_name():
    w, b = np.zeros(2), np.zeros(1)
    grads = {"w": np.ones(2), "b": np.ones(1)}
    adam = Adam(0.1)
    adam.step({"w": w, "b": b}, grads)
    adam.step({"w": w, "b": b}, grads)  # the same arrays, in a new dict: the run continues
    _raises_exactly(
        InvalidParameterError,
        "params must be the arrays this Adam has updated, got other arrays for ['b']: an "
        "optimizer's moments and step count belong to the network it first updated; make a new "
        "Adam for a new network",
        adam.step,
        {"w": w, "b": b.copy()},
        grads,
    )
    _raises_exactly(
        InvalidParameterError,
        "params must name the parameters this Adam has updated ['w', 'b']: unknown ['c'], "
        "missing ['b']",
        adam.step,
        {"w": w, "c": b},
        {"w": np.ones(2), "c": np.ones(1)},
    )
    assert adam.t == 2


def test_adam_refuses_a_new_network_even_where_the_old_one_was_freed():
    data, adam = article_data(n_samples=8), Adam(0.01)
    train(article_network(seed=0), data, adam, steps=1)
    gc.collect()  # the first network is gone: its arrays' ids may be handed to the next one's
    for _ in range(5):
        with pytest.raises(InvalidParameterError, match="make a new Adam for a new network"):
            train(article_network(seed=0), data, adam, steps=1)
        gc.collect()


def test_sgd_keeps_no_state_so_one_sgd_serves_any_network():
    data, sgd = article_data(n_samples=8), SGD(0.1)
    train(article_network(seed=1), data, sgd, steps=3)
    reused, fresh = article_network(seed=0), article_network(seed=0)
    train(reused, data, sgd, steps=3)
    train(fresh, data, SGD(0.1), steps=3)
    assert vars(sgd) == {"lr": 0.1}
    for name, value in reused.parameters().items():
        assert value.tobytes() == fresh.parameters()[name].tobytes(), name
