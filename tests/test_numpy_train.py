"""Tests of mmtutorial.numpy_nn.train (one History entry per step, batches from data.batches)
and of MultimodalNet.copy, the one way to reuse a network's weights."""

import numpy as np
import pytest

from mmtutorial.data import MultimodalData, article_data, batches
from mmtutorial.history import History
from mmtutorial.numpy_nn import SGD, Adam, MultimodalNet, article_network, train
from mmtutorial.seeds import stream


def _teacher_data(n, seed):
    """Targets a fixed function of the inputs: a random ReLU teacher with the article's shape."""
    rng = np.random.default_rng(seed)
    inputs = {"x1": rng.random((n, 10)), "x2": rng.random((n, 10))}
    return MultimodalData(inputs, article_network(seed=seed + 1000).forward(inputs))


def test_adam_trains_the_article_network_on_teacher_data():
    data = _teacher_data(200, seed=0)
    net = article_network(seed=0)
    before = net.loss(data.inputs, data.targets)[0]
    train(net, data, Adam(lr=0.005), steps=2000, batch_size=32)
    after = net.loss(data.inputs, data.targets)[0]
    assert before / after >= 10


def test_full_batch_sgd_lowers_the_loss_and_history_is_complete():
    data, held_out = _teacher_data(64, seed=1), _teacher_data(32, seed=2)
    net = article_network(seed=1)
    first = net.loss(data.inputs, data.targets)
    history = train(net, data, SGD(lr=0.1), steps=100, eval_data=held_out)
    assert isinstance(history, History) and history.unit == "step"
    assert len(history) == len(history.loss) == len(history.eval_loss) == 100
    assert set(history.head_losses) == {"y1", "y2"}
    assert history.loss[0] == first[0] and history.head_losses["y1"][0] == first[1]["y1"]
    assert history.loss[-1] < 0.5 * history.loss[0]
    assert history.eval_loss[-1] == net.loss(held_out.inputs, held_out.targets)[0]
    assert history.grad_norms == {}  # the article's network has no encoders


def test_grad_norms_measure_each_encoder_before_the_update():
    data = MultimodalData(
        {"a": np.linspace(-1, 1, 12).reshape(4, 3), "b": np.ones((4, 2))}, {"y": np.ones((4, 1))}
    )
    net = MultimodalNet({"a": 3, "b": 2}, {"y": 1}, encoder_units=4, shared_units=3, seed=2)
    twin = net.copy()
    twin.loss(data.inputs, data.targets)
    twin.backward()
    grads = twin.gradients()
    expected = {
        m: np.sqrt(np.sum(grads[f"encoder_{m}/W"] ** 2) + np.sum(grads[f"encoder_{m}/b"] ** 2))
        for m in ("a", "b")
    }
    at_outputs = twin.fusion_gradients()
    history = train(net, data, SGD(0.1), steps=2, grad_norms=True)
    kinds = ("", "per_parameter_", "output_")
    assert set(history.grad_norms) == {f"{k}{m}" for m in ("a", "b") for k in kinds}
    for m, width in (("a", 3), ("b", 2)):
        assert history.grad_norms[m][0] == pytest.approx(expected[m], rel=1e-12)
        per_parameter = expected[m] / np.sqrt(width * 4 + 4)
        assert history.grad_norms[f"per_parameter_{m}"][0] == pytest.approx(per_parameter)
        output = np.linalg.norm(at_outputs[m])
        assert history.grad_norms[f"output_{m}"][0] == pytest.approx(output, rel=1e-12)
        assert len(history.grad_norms[m]) == 2
    assert train(net, data, SGD(0.1), steps=2).grad_norms == {}  # opt-in


def _visited(net, data, **kwargs):
    """Train and return the first x1 feature of every sample each step saw, step by step."""
    seen = []
    loss = net.loss

    def spy(inputs, targets):
        seen.append(np.asarray(inputs["x1"])[:, 0].tolist())
        return loss(inputs, targets)

    net.loss = spy
    train(net, data, SGD(1e-9), **kwargs)
    return seen


def test_minibatches_visit_every_sample_once_per_epoch():
    data = article_data(n_samples=10, seed=3)
    ids = sorted(data.inputs["x1"][:, 0].tolist())
    seen = _visited(article_network(), data, steps=9, batch_size=4)  # 3 epochs of 4 + 4 + 2
    assert [len(s) for s in seen] == [4, 4, 2] * 3
    epochs = [sum(seen[i : i + 3], []) for i in (0, 3, 6)]
    for epoch in epochs:
        assert sorted(epoch) == ids  # without replacement: each sample exactly once
    assert epochs[0] != epochs[1]  # a fresh order each epoch


def test_minibatches_are_those_of_data_batches_with_one_generator():
    data = article_data(n_samples=10, seed=4)
    seen = _visited(article_network(), data, steps=6, batch_size=4, seed=5)
    rng = stream(5, "batches")
    expected = [b.inputs["x1"][:, 0].tolist() for _ in range(2) for b in batches(data, 4, rng)]
    assert seen == expected


def test_full_batch_training_sees_the_whole_data_every_step():
    data = article_data(n_samples=6, seed=6)
    seen = _visited(article_network(), data, steps=3)
    assert seen == [data.inputs["x1"][:, 0].tolist()] * 3


def test_minibatch_training_is_reproducible_from_its_seed():
    data = _teacher_data(50, seed=3)
    runs = [
        train(article_network(seed=0), data, Adam(0.01), steps=20, batch_size=8, seed=s).loss
        for s in (7, np.int64(7), 8)
    ]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_train_prints_one_concise_line_every_log_every_steps(capsys):
    data = _teacher_data(16, seed=4)
    history = train(article_network(), data, Adam(0.01), steps=10, log_every=5, eval_data=data)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0] == (
        f"step  5/10  loss {history.loss[4]:#.3g}  y1 {history.head_losses['y1'][4]:#.3g}  "
        f"y2 {history.head_losses['y2'][4]:#.3g}  eval {history.eval_loss[4]:#.3g}"
    )
    assert lines[1].startswith("step 10/10  loss ")
    train(article_network(), data, Adam(0.01), steps=7, log_every=3)
    assert [line[:9] for line in capsys.readouterr().out.splitlines()] == [
        "step 3/7 ",
        "step 6/7 ",
        "step 7/7 ",
    ]
    train(article_network(), data, Adam(0.01), steps=3)
    assert capsys.readouterr().out == ""


def test_train_stops_clearly_when_the_loss_diverges():
    data = _teacher_data(16, seed=5)
    data = MultimodalData(
        data.inputs, {h: 1e200 * np.ones_like(y) for h, y in data.targets.items()}
    )
    with np.errstate(over="ignore"), pytest.raises(FloatingPointError, match="in step 1, before"):
        train(article_network(), data, SGD(1.0), steps=5)


def test_train_takes_exactly_steps_updates():
    data = _teacher_data(8, seed=6)
    optimizer = Adam(0.01)
    assert len(train(article_network(), data, optimizer, steps=3, batch_size=3)) == 3
    assert optimizer.t == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"steps": 0}, "steps must be an int >= 1, got 0"),
        ({"steps": 2.0}, "steps must be an int >= 1, got 2.0"),
        ({"batch_size": 9}, "batch_size must be an int >= 1 and <= 8, got 9"),
        ({"batch_size": 0}, "batch_size must be an int >= 1 and <= 8, got 0"),
        ({"seed": 1.5}, "seed must be an int >= 0, got 1.5"),
        ({"log_every": -1}, "log_every must be an int >= 0, got -1"),
        ({"optimizer": None}, r"optimizer must have a step\(params, grads\) method .*got None"),
        ({"data": {"x1": 1}}, "data must be a MultimodalData, got {'x1': 1}"),
        ({"net": "net"}, "net must be a MultimodalNet, got 'net'"),
        ({"eval_data": {}}, "eval_data must be None or a MultimodalData, got {}"),
    ],
)
def test_train_rejects_bad_arguments(kwargs, message):
    args = {"net": article_network(), "data": _teacher_data(8, 0), "optimizer": SGD(0.1)}
    args |= {"steps": 1} | kwargs
    with pytest.raises(ValueError, match=message):
        train(**args)


def test_train_refuses_empty_data_instead_of_a_nan_loss():
    data = article_data(n_samples=4).subset(slice(0, 0))
    with pytest.raises(ValueError, match="data must hold at least one sample, got 0"):
        train(article_network(), data, SGD(0.1), steps=1)


# --- copy -------------------------------------------------------------------------------------


def test_copy_has_the_same_weights_and_is_independent():
    net = MultimodalNet({"a": 3, "b": 2}, {"y": 2}, encoder_units=4, shared_units=5, seed=3)
    twin = net.copy()
    assert twin.get_config() == net.get_config()
    for name, value in net.parameters().items():
        np.testing.assert_array_equal(twin.parameters()[name], value)
        assert twin.parameters()[name] is not value
    twin.parameters()["shared/W"][...] = 0.0
    assert np.abs(net.parameters()["shared/W"]).max() > 0


def test_copy_with_overrides_changes_only_those():
    net = article_network(seed=2)
    twin = net.copy(loss_weights={"y1": 0.0}, dtype="float32")
    assert twin.loss_weights == {"y1": 0.0, "y2": 1.0}
    assert twin.dtype == np.float32 and twin.losses == net.losses
    for name, value in net.parameters().items():
        assert twin.parameters()[name].dtype == np.float32
        np.testing.assert_array_equal(twin.parameters()[name], value.astype(np.float32))
    inputs, targets = article_data(n_samples=5).inputs, article_data(n_samples=5).targets
    assert twin.loss(inputs, targets)[0] == pytest.approx(net.loss(inputs, targets)[1]["y2"])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"shared_units": 7}, r"'shared/W' is \(20, 20\) here, \(20, 7\) in the copy"),
        ({"seed": 1}, r"copy overrides must name the get_config\(\) keys .*unknown \['seed'\]"),
        ({"head_dims": {"y1": 10, "y2": 3}}, r"'head_y2/W' is \(20, 10\) here, \(20, 3\) in"),
    ],
)
def test_copy_refuses_overrides_that_change_a_weight_shape(overrides, message):
    with pytest.raises(ValueError, match=message):
        article_network().copy(**overrides)
