"""Tests of mmtutorial.training: the compiled loop, its records, checkpoints, make_dataset."""

from __future__ import annotations

import numpy as np
import pytest

from mmtutorial.repro import import_tensorflow

tf = import_tensorflow()

import keras  # noqa: E402

from mmtutorial.data import MultimodalData, article_data, make_synthetic  # noqa: E402
from mmtutorial.tf_models import article_model, build_multimodal_model  # noqa: E402
from mmtutorial.training import Trainer, make_dataset, train  # noqa: E402

DIMS = {"a": 6, "b": 4, "c": 5}


def synthetic(task: str = "regression", n: int = 256) -> MultimodalData:
    return make_synthetic(n, DIMS, task=task, n_classes=3, noise=0.05, seed=0)


def encoder_model(heads: dict, seed: int = 0) -> keras.Model:
    return build_multimodal_model(DIMS, heads, encoder_units=8, shared_units=16, seed=seed)


def final_weights(model: keras.Model) -> list[np.ndarray]:
    return [v.numpy() for v in model.weights]


# --- make_dataset ------------------------------------------------------------------------------


def test_make_dataset_batches_dtypes_and_seeded_shuffle():
    data = synthetic("classification", n=50)
    ds = make_dataset(data, batch_size=16, shuffle_seed=3, dtype="float64")
    assert int(ds.cardinality()) == 4
    x, y = next(iter(ds))
    assert x["a"].dtype == tf.float64 and y["label"].dtype == tf.int64
    assert x["a"].shape == (16, 6)

    def order(dataset):
        epochs = dataset.repeat(2)
        return np.concatenate([y["label"].numpy() for _, y in epochs])

    def fresh():
        return make_dataset(data, 16, shuffle_seed=3, dtype="float64")

    first, again = order(fresh()), order(fresh())
    np.testing.assert_array_equal(first, again)  # same seed, same order
    assert not np.array_equal(order(fresh()), order(make_dataset(data, 16, shuffle_seed=4)))
    assert not np.array_equal(first[:50], first[50:])  # reshuffled each epoch
    np.testing.assert_array_equal(np.sort(first[:50]), np.sort(data.targets["label"]))
    full = make_dataset(data, shuffle_seed=3)
    assert int(full.cardinality()) == 1
    np.testing.assert_array_equal(next(iter(full))[1]["label"], data.targets["label"])


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        (({"a": 1},), {}, TypeError, "data must be a MultimodalData"),
        ((article_data(),), {"batch_size": 0}, ValueError, "batch_size must be None or a positive"),
        ((article_data(),), {"dtype": "int32"}, ValueError, "dtype must be 'float32' or 'float64'"),
        ((article_data(),), {"shuffle_seed": 1.5}, ValueError, "shuffle_seed must be None or an"),
    ],
)
def test_make_dataset_errors(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        make_dataset(*args, **kwargs)


# --- training ----------------------------------------------------------------------------------


def test_training_lowers_the_loss_on_structured_data_by_a_large_factor():
    model = encoder_model({"y": (1, None)})
    history = train(
        model,
        make_dataset(synthetic(), batch_size=64, shuffle_seed=0),
        {"y": "mse"},
        keras.optimizers.Adam(0.01),
        epochs=40,
    )
    assert history.epochs == 40
    assert history.loss[-1] < history.loss[0] / 10, (history.loss[0], history.loss[-1])
    assert history.head_losses["y"] == history.loss  # one head, weight 1


def test_records_per_head_losses_metrics_and_grad_norms():
    data = synthetic("classification")
    data = MultimodalData(
        data.inputs, {"label": data.targets["label"], "y": data.targets["label"][:, None] * 1.0}
    )
    model = encoder_model({"label": (3, None), "y": (1, None)})
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    history = train(
        model,
        make_dataset(data, batch_size=128),
        {"label": ce, "y": "half_squared_error"},
        "adam",
        epochs=3,
        loss_weights={"y": 0.25},
        metrics={"label": ["accuracy"]},
    )
    np.testing.assert_allclose(
        history.loss,
        np.add(history.head_losses["label"], np.multiply(0.25, history.head_losses["y"])),
        rtol=1e-6,
    )
    assert set(history.metrics) == {"label_accuracy"}
    assert all(0.0 <= a <= 1.0 for a in history.metrics["label_accuracy"])
    assert set(history.grad_norms) == set(DIMS)
    assert all(g > 0 for norms in history.grad_norms.values() for g in norms)


def test_grad_norms_are_the_encoder_gradient_norms_averaged_over_steps():
    data = synthetic()
    model = encoder_model({"y": (1, None)})
    weights = final_weights(model)
    history = train(model, make_dataset(data), {"y": "mse"}, keras.optimizers.SGD(0.0), epochs=1)
    model.set_weights(weights)
    x = {m: tf.constant(v, tf.float32) for m, v in data.inputs.items()}
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(keras.losses.mean_squared_error(data.targets["y"], model(x)["y"]))
    encoders = {m: model.get_layer(f"encoder_{m}").trainable_variables for m in DIMS}
    grads = tape.gradient(loss, encoders)
    for m in DIMS:
        expected = float(tf.linalg.global_norm(grads[m]))
        np.testing.assert_allclose(history.grad_norms[m][0], expected, rtol=1e-5)


def test_without_encoders_grad_norms_are_input_gradient_norms():
    data = article_data()
    model = article_model(seed=0)
    x = {m: tf.constant(v, tf.float32) for m, v in data.inputs.items()}
    with tf.GradientTape() as tape:
        tape.watch(x["x2"])
        out = model(x)
        loss = sum(
            tf.reduce_mean(keras.losses.mean_squared_error(data.targets[h], out[h])) for h in out
        )
    expected = float(tf.norm(tape.gradient(loss, x["x2"])))
    history = train(model, make_dataset(data), {"y1": "mse", "y2": "mse"}, "adam", epochs=1)
    np.testing.assert_allclose(history.grad_norms["x2"][0], expected, rtol=1e-5)


def test_progress_lines_every_log_every_epochs_and_silent_at_zero(capsys):
    ds, losses = make_dataset(article_data()), {"y1": "mse", "y2": "mse"}
    train(article_model(seed=0), ds, losses, "adam", epochs=7, log_every=3)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("  ")[0] for line in lines] == ["epoch 3/7", "epoch 6/7", "epoch 7/7"]
    assert lines[0].split("  ")[1].startswith("loss ") and " y1 " in f" {lines[0]} "
    train(article_model(seed=0), ds, losses, "adam", epochs=7)
    assert capsys.readouterr().out == ""


def test_fit_again_does_not_trace_again():
    trainer = Trainer(article_model(seed=0), {"y1": "mse", "y2": "mse"}, "adam")
    ds = make_dataset(article_data())
    trainer.fit(ds, 3)
    trainer.fit(ds, 5, log_every=2)
    assert trainer._run.experimental_get_tracing_count() == 1


def test_interrupted_and_resumed_run_ends_with_the_uninterrupted_weights(tmp_path):
    data = synthetic()

    def run(epochs: int, checkpoint_dir=None):
        model = encoder_model({"y": (1, None)}, seed=4)
        ds = make_dataset(data, batch_size=48, shuffle_seed=7)  # 6 batches, the last smaller
        history = train(
            model,
            ds,
            {"y": "mse"},
            keras.optimizers.Adam(0.01),
            epochs=epochs,
            checkpoint_dir=checkpoint_dir,
            checkpoint_every=2,
        )
        return model, history

    reference, full_history = run(5)
    run(3, tmp_path)  # interrupted after epoch 3 (checkpoints at 2 and 3)
    resumed, history = run(5, tmp_path)
    for expected, got in zip(final_weights(reference), final_weights(resumed), strict=True):
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_allclose(history.loss, full_history.loss, rtol=1e-6)
    again, _ = run(5, tmp_path)  # already done: restores and trains no further
    for expected, got in zip(final_weights(resumed), final_weights(again), strict=True):
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"losses": {}}, ValueError, "losses must map at least one head"),
        ({"losses": {"y3": "mse"}}, ValueError, r"losses names heads \['y3'\]"),
        ({"losses": {"y1": "nonsense"}}, ValueError, r"losses\['y1'\] is not a Keras loss"),
        ({"loss_weights": {"y1": -1.0}}, ValueError, r"loss_weights\['y1'\] must be a number >= 0"),
        ({"metrics": {"y9": ["mae"]}}, ValueError, r"metrics names heads \['y9'\] without a loss"),
        ({"epochs": 0}, ValueError, "epochs must be an int >= 1, got 0"),
        ({"log_every": -1}, ValueError, "log_every must be an int >= 0, got -1"),
        ({"dataset": [1, 2]}, TypeError, "dataset must be a tf.data.Dataset, got list"),
        ({"dataset": "repeat"}, ValueError, "known, finite, non-zero number of batches"),
        ({"dataset": "pairs"}, ValueError, r"dataset must yield \(inputs dict, targets dict\)"),
        ({"dataset": "no_y2"}, ValueError, r"dataset targets lack the heads \['y2'\]"),
        ({"dataset": "wrong_x"}, ValueError, r"dataset inputs are the modalities \['x1', 'x3'\]"),
    ],
)
def test_train_errors(kwargs, error, message):
    data = article_data(n_samples=8)
    base = make_dataset(data)
    datasets = {
        "repeat": base.repeat(),
        "pairs": tf.data.Dataset.from_tensors((data.inputs["x1"], data.targets["y1"])),
        "no_y2": tf.data.Dataset.from_tensors((data.inputs, {"y1": data.targets["y1"]})),
        "wrong_x": tf.data.Dataset.from_tensors(
            ({"x1": data.inputs["x1"], "x3": data.inputs["x2"]}, data.targets)
        ),
    }
    args = {"dataset": base, "losses": {"y1": "mse", "y2": "mse"}, "epochs": 1} | kwargs
    if isinstance(args["dataset"], str):
        args["dataset"] = datasets[args["dataset"]]
    with pytest.raises(error, match=message):
        train(article_model(), args.pop("dataset"), args.pop("losses"), "sgd", **args)
