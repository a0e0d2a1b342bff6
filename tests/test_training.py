"""Tests of mmtutorial.tf_nn's training loop: records, metrics, checkpoints, XLA, make_dataset."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import numpy as np
import pytest

from mmtutorial._checks import CheckpointError, InvalidParameterError
from mmtutorial.data import MultimodalData, article_data, make_synthetic
from mmtutorial.tf_nn import (
    OGMGE,
    Trainer,
    article_model,
    build_multimodal_model,
    encoder_outputs,
    grad_norm_names,
    make_dataset,
    train,
)
from mmtutorial.tf_nn._checkpoints import Checkpoints
from mmtutorial.tf_nn._data_checks import (
    cast_to_model,
    check_data,
    check_metrics,
    prepare_data,
    target_fits,
)
from mmtutorial.tf_nn._tf import keras, tf
from mmtutorial.tf_nn.model_parts import (
    auxiliary_head_targets,
    encoder_layers,
    encoder_positions,
)

DIMS = {"a": 6, "b": 4, "c": 5}


NAN_DATA = SimpleNamespace(  # MultimodalData itself refuses NaN; any object with dicts will do
    inputs={"x1": np.array([[np.nan], [1.0]]), "x2": np.ones((2, 1))},
    targets={"y1": np.ones((2, 1))},
)


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
        (
            (article_data(),),
            {"batch_size": 0},
            ValueError,
            "batch_size must be an int >= 1 and <= 100",
        ),
        ((article_data(),), {"batch_size": 101}, ValueError, "and <= 100, got 101"),
        ((article_data(),), {"dtype": "int32"}, ValueError, "dtype must be float32 or float64"),
        ((article_data(),), {"shuffle_seed": 1.5}, TypeError, "shuffle_seed must be an int >= 0"),
        ((NAN_DATA,), {}, ValueError, r"data.inputs\['x1'\] must be finite, got 1 NaN"),
    ],
)
def test_make_dataset_errors(args, kwargs, error, message):
    with pytest.raises(InvalidParameterError, match=message):
        make_dataset(*args, **kwargs)
    with pytest.raises(error, match=message):
        make_dataset(*args, **kwargs)


# --- training ----------------------------------------------------------------------------------


def test_training_lowers_the_loss_on_structured_data_by_a_large_factor():
    model = encoder_model({"y": (1, None)})
    history = train(
        model,
        make_dataset(synthetic(), batch_size=64, shuffle_seed=0),
        keras.optimizers.Adam(0.01),
        losses={"y": "mse"},
        epochs=40,
    )
    assert len(history) == 40 and history.unit == "epoch"
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
        "adam",
        losses={"label": ce, "y": "half_squared_error"},
        epochs=3,
        loss_weights={"y": 0.25},
        metrics={"label": ["accuracy"]},
        grad_norms=True,
    )
    np.testing.assert_allclose(
        history.loss,
        np.add(history.head_losses["label"], np.multiply(0.25, history.head_losses["y"])),
        rtol=1e-6,
    )
    assert set(history.metrics) == {"label_accuracy"}
    assert all(0.0 <= a <= 1.0 for a in history.metrics["label_accuracy"])
    kinds = ("", "per_parameter_", "output_")
    assert set(history.grad_norms) == {f"{k}{m}" for m in DIMS for k in kinds}
    assert all(g > 0 for norms in history.grad_norms.values() for g in norms)


def test_grad_norm_names_are_the_keys_training_records_in_input_order():
    model = encoder_model({"label": (3, None)})
    names = grad_norm_names(model)
    assert names == [f"{k}{m}" for m in DIMS for k in ("", "per_parameter_", "output_")]
    history = train(
        model, synthetic("classification"), "adam", losses={"label": "xent"}, epochs=1,
        grad_norms=True,
    )  # fmt: skip
    assert list(history.grad_norms) == names
    assert grad_norm_names(article_model()) == ["output_x1", "output_x2"]  # no encoders
    only_b = grad_norm_names(model, {"b": "encoder_b"})  # encoders= names every encoder
    assert only_b == ["output_a", "b", "per_parameter_b", "output_b", "output_c"]


def test_grad_norms_are_the_encoder_gradient_norms_averaged_over_steps():
    data = synthetic()
    model = encoder_model({"y": (1, None)})
    weights = final_weights(model)
    history = train(
        model, make_dataset(data), keras.optimizers.SGD(0.0), losses={"y": "mse"}, epochs=1,
        grad_norms=True,
    )  # fmt: skip
    model.set_weights(weights)
    x = {m: tf.constant(v, tf.float32) for m, v in data.inputs.items()}
    layers = {m: model.get_layer(f"encoder_{m}") for m in DIMS}
    with tf.GradientTape() as tape:
        encoded = {m: layers[m](x[m]) for m in DIMS}
        tape.watch(list(encoded.values()))
        fused = model.get_layer("fusion")(list(encoded.values()))
        y_hat = model.get_layer("head_y")(model.get_layer("shared")(fused))
        loss = tf.reduce_mean(keras.losses.mean_squared_error(data.targets["y"], y_hat))
    encoders = {m: layers[m].trainable_variables for m in DIMS}
    grads, at_outputs = tape.gradient(loss, (encoders, encoded))
    for m in DIMS:
        expected = float(tf.linalg.global_norm(grads[m]))
        np.testing.assert_allclose(history.grad_norms[m][0], expected, rtol=1e-5)
        count = sum(int(np.prod(v.shape)) for v in encoders[m])
        per_parameter = history.grad_norms[f"per_parameter_{m}"][0]
        np.testing.assert_allclose(per_parameter, expected / np.sqrt(count), rtol=1e-5)
        output = float(tf.norm(at_outputs[m]))
        np.testing.assert_allclose(history.grad_norms[f"output_{m}"][0], output, rtol=1e-5)


def test_without_encoders_grad_norms_are_input_gradient_norms_at_the_output_key():
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
    losses = {"y1": "mse", "y2": "mse"}
    history = train(model, make_dataset(data), "adam", losses=losses, epochs=1, grad_norms=True)
    assert sorted(history.grad_norms) == ["output_x1", "output_x2"]
    np.testing.assert_allclose(history.grad_norms["output_x2"][0], expected, rtol=1e-5)
    assert train(model, make_dataset(data), "adam", losses=losses, epochs=1).grad_norms == {}


def test_every_part_of_the_loop_finds_the_encoders_by_the_name_encoder_m_alone():
    """A hand-built model: ``a``'s encoder follows the convention, ``b``'s does not."""
    inputs = {m: keras.Input((d,), name=m) for m, d in DIMS.items()}
    encoded = [keras.layers.Dense(3, name="encoder_a")(inputs["a"])]
    encoded += [keras.layers.Dense(3, name="embed_b")(inputs["b"]), inputs["c"]]
    out = keras.layers.Dense(1, name="head_y")(keras.layers.Concatenate()(encoded))
    model = keras.Model(inputs, {"y": out})
    assert {m: layer.name for m, layer in encoder_layers(model).items()} == {"a": "encoder_a"}
    positions, raw = encoder_positions(model, model.trainable_variables)
    assert positions == {"a": [0, 1]} and raw == ["b", "c"]
    data = synthetic()
    assert sorted(encoder_outputs(model, data.inputs)) == ["a"]
    history = train(
        model, make_dataset(data), "sgd", losses={"y": "mse"}, epochs=1, grad_norms=True
    )
    assert sorted(history.grad_norms) == [
        "a",
        "output_a",
        "output_b",
        "output_c",
        "per_parameter_a",
    ]
    with pytest.raises(InvalidParameterError, match=r"at least two modalities, got \['a'\]"):
        train(model, make_dataset(data), "sgd", losses={"y": "mse"}, epochs=1, ogm_ge=OGMGE(0.5))
    named = {"a": "encoder_a", "b": "embed_b"}  # encoders= names the one named otherwise
    assert sorted(encoder_layers(model, named)) == ["a", "b"]
    history = train(model, make_dataset(data), "sgd", losses={"y": "mse"}, epochs=1,
                    grad_norms=True, encoders=named)  # fmt: skip
    assert "per_parameter_b" in history.grad_norms
    with pytest.raises(InvalidParameterError, match=r"encoders\['b'\] must name a layer"):
        encoder_layers(model, {"b": "encoder_b"})


def test_progress_lines_every_log_every_epochs_and_silent_at_zero(capsys):
    ds, losses = make_dataset(article_data()), {"y1": "mse", "y2": "mse"}
    train(article_model(seed=0), ds, "adam", losses=losses, epochs=7, log_every=3)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("  ")[0] for line in lines] == ["epoch 3/7", "epoch 6/7", "epoch 7/7"]
    assert lines[0].split("  ")[1].startswith("loss ") and " y1 " in f" {lines[0]} "
    train(article_model(seed=0), ds, "adam", losses=losses, epochs=7)
    assert capsys.readouterr().out == ""


def test_fit_again_does_not_trace_again():
    trainer = Trainer(article_model(seed=0), "adam", losses={"y1": "mse", "y2": "mse"})
    ds = make_dataset(article_data())
    trainer.fit(ds, epochs=3)
    trainer.fit(ds, epochs=5, log_every=2)
    assert trainer._run.experimental_get_tracing_count() == 1


def test_a_restarted_trainer_trains_as_a_new_one_without_tracing_again():
    """restart: new weights, optimizer state and learned loss weights as when it was made."""
    data = synthetic("classification")
    heads, options = {"label": (3, None)}, {"losses": {"label": "xent"}}
    options["loss_weighting"] = "uncertainty"  # a learned log-variance, restarted too
    ds = lambda: make_dataset(data, 64, shuffle_seed=1)  # noqa: E731  the same batches each time
    fresh = Trainer(encoder_model(heads, seed=1), keras.optimizers.Adam(0.01), **options)
    expected = fresh.fit(ds(), epochs=3)
    trainer = Trainer(encoder_model(heads, seed=0), keras.optimizers.Adam(0.01), **options)
    trainer.fit(ds(), epochs=4)
    trainer.restart(encoder_model(heads, seed=1).get_weights())
    history = trainer.fit(ds(), epochs=3)
    assert history.loss == expected.loss
    assert history.metrics == expected.metrics  # the learned loss weights among them
    for got, want in zip(final_weights(trainer.model), final_weights(fresh.model), strict=True):
        np.testing.assert_array_equal(got, want)
    assert trainer._run.experimental_get_tracing_count() == 1


def test_interrupted_and_resumed_run_ends_with_the_uninterrupted_weights(tmp_path):
    data = synthetic()

    def run(epochs, checkpoint_dir=None):
        return run_with_checkpoints(data, epochs, checkpoint_dir)

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
    ("units", "dtype", "target_shape", "expected"),
    [
        (3, tf.int64, (None,), keras.metrics.SparseCategoricalAccuracy),  # labels
        (3, tf.float32, (None, 3), keras.metrics.CategoricalAccuracy),  # one-hot rows
        (2, tf.float32, (None, 2), keras.metrics.CategoricalAccuracy),  # two classes, one-hot
        (1, tf.float32, (None, 1), keras.metrics.BinaryAccuracy),  # one 0/1 unit
    ],
)
@pytest.mark.parametrize("alias", ["accuracy", "acc"])
def test_accuracy_is_the_metric_keras_compile_picks_for_the_target(
    alias, units, dtype, target_shape, expected
):
    # As model.compile(metrics=["accuracy"]) does: by the target's dtype and the head's width.
    model = encoder_model({"y": (units, None), "z": (1, None)})
    spec = {"y": tf.TensorSpec(target_shape, dtype)}
    # "z" has no target of its own in the data: it learns "y"'s, as an auxiliary head would.
    metrics = check_metrics({"z": ["mae"], "y": [alias]}, model, spec, {"z": "y"})
    assert list(metrics) == ["z_mean_absolute_error", "y_accuracy"]
    head, metric = metrics["y_accuracy"]
    assert head == "y" and type(metric) is expected and metric.name == "accuracy"


def test_metrics_are_reset_at_the_start_of_every_epoch():
    # One full batch per epoch: an epoch's MAE metric is exactly its own step's MAE loss.
    history = train(
        encoder_model({"y": (1, None)}),
        make_dataset(synthetic()),
        keras.optimizers.Adam(0.05),
        losses={"y": "mae"},
        epochs=4,
        metrics={"y": ["mae"]},
    )
    assert history.head_losses["y"][0] > history.head_losses["y"][-1] * 1.05  # it changes
    np.testing.assert_allclose(
        history.metrics["y_mean_absolute_error"], history.head_losses["y"], rtol=1e-5
    )


def run_with_checkpoints(data, epochs: int, checkpoint_dir=None, *, every: int = 2):
    model = encoder_model({"y": (1, None)}, seed=4)
    ds = make_dataset(data, batch_size=48, shuffle_seed=7)  # 6 batches, the last smaller
    history = train(
        model,
        ds,
        keras.optimizers.Adam(0.01),
        losses={"y": "mse"},
        epochs=epochs,
        checkpoint_dir=checkpoint_dir,
        checkpoint_every=every,
    )
    return model, history


def test_a_crash_between_history_and_checkpoint_writes_does_not_misalign_history(
    tmp_path, monkeypatch
):
    data = synthetic()
    _, full_history = run_with_checkpoints(data, 5)
    save = Checkpoints.save

    def crash_at_epoch_4(self, history):
        if int(self.epoch) == 4:  # history.json is written, the checkpoint is not
            Checkpoints._write_history(self, history)
            raise KeyboardInterrupt
        save(self, history)

    monkeypatch.setattr(Checkpoints, "save", crash_at_epoch_4)
    with pytest.raises(KeyboardInterrupt):
        run_with_checkpoints(data, 5, tmp_path, every=1)
    assert len(json.loads((tmp_path / "history.json").read_text())["loss"]) == 4
    monkeypatch.setattr(Checkpoints, "save", save)
    _, history = run_with_checkpoints(data, 5, tmp_path, every=1)  # resumes from epoch 3
    assert len(history) == 5
    np.testing.assert_allclose(history.loss, full_history.loss, rtol=1e-6)


@pytest.mark.parametrize("damage", ["history", "no_history", "index", "state", "foreign"])
def test_a_damaged_or_foreign_checkpoint_dir_fails_naming_it(tmp_path, damage):
    run_with_checkpoints(synthetic(n=96), 2, tmp_path)
    if damage == "history":
        (tmp_path / "history.json").write_text('{"loss": [1.0')
    elif damage == "no_history":
        (tmp_path / "history.json").unlink()
    elif damage == "index":
        for path in tmp_path.glob("ckpt-2.*"):
            path.write_bytes(path.read_bytes()[:20])
    elif damage == "state":
        (tmp_path / "checkpoint").write_text("model_checkpoint_path: {{{")
    model = article_model() if damage == "foreign" else encoder_model({"y": (1, None)})
    data = article_data() if damage == "foreign" else synthetic(n=96)
    losses = {h: "mse" for h in model.output}
    with pytest.raises(CheckpointError, match=f"checkpoint_dir '{tmp_path}' holds a damaged") as e:
        train(model, make_dataset(data), "adam", losses=losses, epochs=3, checkpoint_dir=tmp_path)
    assert isinstance(e.value, RuntimeError) and not isinstance(e.value, ValueError | TypeError)


def nan_dataset() -> tf.data.Dataset:
    data = article_data(n_samples=8)
    x = dict(data.inputs, x1=np.where(np.arange(8)[:, None] == 3, np.nan, data.inputs["x1"]))
    return tf.data.Dataset.from_tensors((x, data.targets)).map(
        lambda x, y: (
            {m: tf.cast(v, tf.float32) for m, v in x.items()},
            {h: tf.cast(v, tf.float32) for h, v in y.items()},
        )
    )


@pytest.mark.parametrize("jit_compile", [False, True])
def test_nan_inputs_or_a_non_finite_loss_stop_training_with_an_error(jit_compile):
    with pytest.raises(
        FloatingPointError,
        match="loss became nan in epoch 1, before that step's update: the data holds NaN",
    ):
        train(
            article_model(),
            nan_dataset(),
            "adam",
            losses={"y1": "mse", "y2": "mse"},
            epochs=5,
            jit_compile=jit_compile,
        )
    with pytest.raises(FloatingPointError, match="loss became (nan|inf) in epoch"):
        train(
            article_model(seed=0),
            make_dataset(article_data()),
            keras.optimizers.SGD(1e300),
            losses={"y1": "mse", "y2": "mse"},
            epochs=5,
            jit_compile=jit_compile,
        )


def test_xla_loop_gives_the_default_loop_losses():
    data = synthetic("classification", n=200)
    data = MultimodalData(
        data.inputs, {"label": data.targets["label"], "y": data.targets["label"][:, None] * 1.0}
    )
    runs = {}
    for jit in (False, True):
        model = encoder_model({"label": (3, None), "y": (1, None)}, seed=2)
        runs[jit] = train(
            model,
            make_dataset(data, batch_size=64, shuffle_seed=1),  # 4 batches, the last of 8
            keras.optimizers.Adam(0.01),
            losses={"label": "xent", "y": "half_squared_error"},
            epochs=6,
            metrics={"label": ["accuracy"]},
            log_every=4,  # two XLA calls: 4 epochs, then 2
            jit_compile=jit,
        )
    default, xla = runs[False], runs[True]
    np.testing.assert_allclose(xla.loss, default.loss, rtol=1e-5)
    for group in ("head_losses", "grad_norms", "metrics"):
        for key, values in getattr(default, group).items():
            np.testing.assert_allclose(getattr(xla, group)[key], values, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"losses": {}}, "losses must be a non-empty dict, got {}"),
        ({"losses": {"y3": "mse"}}, r"losses must name the heads \['y1', 'y2'\]: unknown \['y3'\]"),
        ({"losses": {"y1": "nonsense"}}, r"losses\['y1'\] must be 'mse', 'half_squared_error'"),
        ({"loss_weights": {"y1": -1.0}}, r"loss_weights\['y1'\] must be a finite number >= 0"),
        (
            {"losses": {"y1": keras.losses.MeanSquaredError(reduction="sum")}},
            r"^losses\['y1'\] must average over the batch \(a head's loss is its batch mean\), got "
            r"a Keras loss with reduction='sum'; make it with the default reduction$",
        ),
        ({"metrics": {"y9": ["mae"]}}, r"metrics must name the heads .* unknown \['y9'\]"),
        ({"metrics": {"y1": ["nonsense"]}}, r"metrics\['y1'\]\[0\] must be a Keras metric"),
        ({"optimizer": None}, "optimizer must be a Keras optimizer or its name, got None"),
        ({"optimizer": "adamm"}, "optimizer must be a Keras optimizer or its name, got 'adamm'"),
        ({"epochs": 0}, "epochs must be an int >= 1, got 0"),
        ({"epochs": 2.0}, "epochs must be an int >= 1, got 2.0"),
        ({"log_every": -1}, "log_every must be an int >= 0, got -1"),
        ({"jit_compile": "yes"}, "jit_compile must be a bool, got 'yes'"),
        ({"model": "model"}, "model must be a Keras model, got 'model'"),
        ({"data": [1, 2]}, r"data must be a MultimodalData or a tf.data.Dataset, got list"),
        ({"data": "repeat"}, "known, finite, non-zero number of batches"),
        ({"data": "pairs"}, r"data must yield \(inputs dict, targets dict\)"),
        ({"data": "no_y2"}, r"data targets must hold every head with a loss: missing \['y2'\]"),
        ({"data": "wrong_x"}, r"data inputs must name the modalities \['x1', 'x2'\]"),
        ({"data": "wide_x2"}, r"modality 'x2' has shape \(None, 12\) in data, the model expects"),
        (
            {"eval_data": "wide_x2"},
            r"^modality 'x2' has shape \(None, 12\) in eval_data, the model expects \(batch, 10\)$",
        ),
        (
            {"eval_data": [1]},
            r"^eval_data must be a MultimodalData or a tf.data.Dataset, got list$",
        ),
        (
            {"batch_size": 4},
            r"^batch_size applies to a MultimodalData, got a tf.data.Dataset as data \(batched "
            r"already\) and batch_size=4$",
        ),
    ],
)
def test_train_errors(kwargs, message):
    data = article_data(n_samples=8)
    base = make_dataset(data)
    wide = dict(data.inputs, x2=np.ones((8, 12)))
    datasets = {
        "repeat": base.repeat(),
        "pairs": tf.data.Dataset.from_tensors((data.inputs["x1"], data.targets["y1"])),
        "no_y2": tf.data.Dataset.from_tensors((data.inputs, {"y1": data.targets["y1"]})),
        "wrong_x": tf.data.Dataset.from_tensors(
            ({"x1": data.inputs["x1"], "x3": data.inputs["x2"]}, data.targets)
        ),
        "wide_x2": make_dataset(MultimodalData(wide, data.targets), batch_size=4),
    }
    args = {"model": article_model(), "data": base, "optimizer": "sgd"}
    args |= {"losses": {"y1": "mse", "y2": "mse"}, "epochs": 1} | kwargs
    for name in ("data", "eval_data"):
        if isinstance(args.get(name), str):
            args[name] = datasets[args[name]]
    with pytest.raises(InvalidParameterError, match=message):
        train(args.pop("model"), args.pop("data"), args.pop("optimizer"), **args)


def test_data_is_cast_to_the_models_float_dtypes_and_left_as_it_is_when_they_match():
    data = synthetic("classification", n=8)  # integer labels: never cast
    model = encoder_model({"label": (3, None)})  # float64
    ds64 = make_dataset(data, dtype="float64")
    assert cast_to_model(ds64, model) is ds64
    cast = cast_to_model(make_dataset(data, dtype="float32"), model)
    x, y = cast.element_spec
    assert {m: s.dtype for m, s in x.items()} == dict.fromkeys(DIMS, tf.float64)
    assert y["label"].dtype == tf.int64
    (x32, y32), (x64, y64) = next(iter(make_dataset(data, dtype="float32"))), next(iter(cast))
    np.testing.assert_array_equal(x64["a"], tf.cast(x32["a"], tf.float64))
    np.testing.assert_array_equal(y64["label"], y32["label"])
    x, y = {m: v.astype(np.float64) for m, v in data.inputs.items()}, {"y": np.ones((8, 1), "f4")}
    only_targets = cast_to_model(  # float64 inputs, a float32 target
        tf.data.Dataset.from_tensors((x, y)), encoder_model({"y": (1, None)})
    )
    assert only_targets.element_spec[1]["y"].dtype == tf.float64


def _one_batch(*parts):
    return tf.data.Dataset.from_tensors(parts)


_SAMPLES = article_data(n_samples=8)
_X, _Y = _SAMPLES.inputs, _SAMPLES.targets
_PRESENT = np.ones(8, bool)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2], "data must be a tf.data.Dataset, got [1, 2]"),
        (
            "infinite",
            "data must have a known, finite, non-zero number of batches, got cardinality -1",
        ),
        (
            "unknown",
            "data must have a known, finite, non-zero number of batches, got cardinality -2",
        ),
        (
            _one_batch(_X, _Y, {"x1": _PRESENT}),
            "data mask must name the modalities ['x1', 'x2']: unknown none, missing ['x2']",
        ),
        (
            _one_batch(_X, _Y, {"x1": _PRESENT, "x2": np.ones(8)}),
            "data mask: modality 'x2' must be (batch,) bool, got TensorSpec(shape=(8,), "
            "dtype=tf.float64…",
        ),
        (
            _one_batch(_X, _Y, {"x1": _PRESENT[:, None], "x2": _PRESENT}),
            "data mask: modality 'x1' must be (batch,) bool, got TensorSpec(shape=(8, 1), "
            "dtype=tf.bool…",
        ),
        (
            _one_batch({"x1": _X["x1"][:, None, :], "x2": _X["x2"]}, _Y),
            "modality 'x1' has shape (8, 1, 10) in data, the model expects (batch, 10)",
        ),
        (
            _one_batch(_X, {"y1": _Y["y1"]}),
            "data targets must hold every head with a loss: missing ['y2'], got ['y1']",
        ),
        (
            _one_batch(_X, {"y1": _Y["y1"], "y2": np.ones((8, 3))}),
            f"data targets['y2'] have shape (8, 3), head 'y2' expects (batch, {_Y['y2'].shape[1]})",
        ),
        (
            _one_batch(_X, {"y1": _Y["y1"], "y2": np.ones((8, 3), np.int64)}),
            f"data targets['y2'] have shape (8, 3), head 'y2' expects (batch, {_Y['y2'].shape[1]}) "
            "or (batch,) labels",
        ),
    ],
)
def test_check_data_names_what_does_not_fit_the_model(data, message):
    whole = make_dataset(_SAMPLES)
    if isinstance(data, str):
        data = {"infinite": whole.repeat(), "unknown": whole.filter(lambda x, y: True)}[data]
    # The whole message, or its start where it ends in "…"
    pattern = re.escape(message.rstrip("…")) + ("" if message.endswith("…") else "$")
    with pytest.raises(InvalidParameterError, match=pattern):
        check_data(data, article_model(), {"y1": "mse", "y2": "mse"}, {})
    assert check_data(_one_batch(_X, _Y, {"x1": _PRESENT, "x2": _PRESENT}), article_model(),
                      {"y1": "mse"}, {}) == 1  # fmt: skip


@pytest.mark.parametrize(
    ("shape", "integer", "units", "fits"),
    [
        ((3,), False, 3, True),  # (batch, units): always
        ((3,), True, 3, True),
        ((), True, 3, True),  # integer labels, (batch,) or (batch, 1)
        ((1,), True, 3, True),
        ((), False, 1, True),  # any target of a one-unit head
        ((1,), False, 1, True),
        ((), False, 3, False),  # a float column would broadcast against 3 outputs
        ((1,), False, 3, False),
        ((), False, 2, False),
        ((2,), True, 3, False),
        ((3,), True, 2, False),
        ((2,), False, 1, False),
    ],
)
def test_target_fits_only_what_keras_losses_take_without_broadcasting(shape, integer, units, fits):
    assert target_fits(shape, integer, units) is fits


def test_fit_shuffles_a_multimodal_data_by_its_seed_and_passes_one_whole_batch_as_it_is():
    data, model = article_data(n_samples=12), article_model()
    checked = (model, {"y1": "mse"}, {})

    def first_rows(seed):
        dataset, steps, fixed = prepare_data("data", data, 4, seed, *checked)
        assert steps == 3 and fixed is None  # several batches: drawn from the dataset
        return next(iter(dataset))[0]["x1"].numpy()

    np.testing.assert_array_equal(first_rows(0), first_rows(0))
    assert not np.array_equal(first_rows(0), first_rows(1))
    assert not np.array_equal(first_rows(0), data.inputs["x1"][:4])  # shuffled
    dataset, steps, fixed = prepare_data("data", data, None, 0, *checked)
    assert steps == 1 and fixed is not None  # one whole batch, the same every epoch
    np.testing.assert_array_equal(fixed[0]["x1"], data.inputs["x1"])
    as_is = prepare_data("data", make_dataset(data), None, None, *checked)
    assert as_is[1] == 1 and as_is[2] is None  # a Dataset is drawn from, as given


def test_an_auxiliary_head_is_checked_against_its_own_target_or_the_one_it_learns():
    model = build_multimodal_model(
        {"a": 3, "b": 2}, {"y": (2, None)}, encoder_units=4, auxiliary_heads=True
    )
    targets = auxiliary_head_targets(model)  # {"aux_a_y": "y", "aux_b_y": "y"}
    losses = dict.fromkeys(model.output, "mse")
    x = {"a": np.ones((4, 3)), "b": np.ones((4, 2))}
    assert check_data(_one_batch(x, {"y": np.ones((4, 2))}), model, losses, targets) == 1
    own = {"y": np.ones((4, 2)), "aux_a_y": np.ones((4, 5))}  # its own target comes first
    with pytest.raises(
        InvalidParameterError, match=re.escape("targets['aux_a_y'] have shape (4, 5)")
    ):
        check_data(_one_batch(x, own), model, losses, targets)
    with pytest.raises(
        InvalidParameterError, match=re.escape("missing ['aux_a_y', 'aux_b_y', 'y']")
    ):
        check_data(_one_batch(x, {"z": np.ones((4, 2))}), model, losses, targets)
    wide = {"y": np.ones((4, 3))}  # the main head's target, too wide for the auxiliary heads too
    with pytest.raises(
        InvalidParameterError, match=re.escape("targets['aux_a_y'] have shape (4, 3)")
    ):
        check_data(_one_batch(x, wide), model, {"aux_a_y": "mse"}, targets)


def test_trainer_refuses_a_model_without_dict_inputs_and_outputs_or_a_strategy_with_xla():
    x = keras.Input((2,), name="a")
    y = keras.layers.Dense(1)(x)
    for model, got in [
        (keras.Model(x, y), "KerasTensor and outputs KerasTensor"),
        (keras.Model({"a": x}, [y]), "dict and outputs list"),
        (keras.Model([x], {"y": y}), "list and outputs dict"),
    ]:
        message = (
            f"model must take a dict of modalities and return a dict of heads, got inputs {got}"
        )
        with pytest.raises(InvalidParameterError, match=f"^{re.escape(message)}$"):
            Trainer(model, "sgd", losses={"y": "mse"})
    losses = {"y1": "mse"}
    with pytest.raises(InvalidParameterError, match="^strategy must be a tf.distribute.Strategy"):
        Trainer(article_model(), "sgd", losses=losses, strategy="mirrored")
    message = (
        "jit_compile=True cannot be combined with a strategy: TensorFlow 2.21 does not compile"
    )
    with pytest.raises(InvalidParameterError, match=f"^{re.escape(message)}"):
        Trainer(article_model(), "sgd", losses=losses, strategy=tf.distribute.get_strategy(),
                jit_compile=True)  # fmt: skip


def test_trainer_weighs_unnamed_heads_1_and_copies_a_loss_object_only_for_another_dtype():
    losses = {"y1": "mse", "y2": "mse"}
    trainer = Trainer(article_model(), "sgd", losses=losses, loss_weights={"y2": 0.5})
    assert trainer.loss_weights == {"y1": 1.0, "y2": 0.5}
    same = keras.losses.MeanSquaredError(dtype="float64")  # the float64 heads' dtype
    other = keras.losses.MeanSquaredError(reduction="mean", name="squares")  # float32
    trainer = Trainer(article_model(), "sgd", losses={"y1": same, "y2": other})
    copy = trainer.losses["y2"]
    assert trainer.losses["y1"] is same and copy is not other and other.dtype == "float32"
    assert type(copy) is keras.losses.MeanSquaredError and copy.dtype == "float64"
    assert copy.get_config() == other.get_config()  # its name and reduction kept


@pytest.mark.parametrize("masked", [False, True])
def test_eval_loss_is_the_inference_mode_loss_over_every_held_out_sample(masked):
    inputs = {"a": keras.Input((3,), name="a"), "b": keras.Input((2,), name="b")}
    penalised = keras.layers.Dense(8, "tanh", kernel_regularizer=keras.regularizers.L2(0.01))
    hidden = keras.layers.Dropout(0.5, seed=1)(
        penalised(keras.layers.Concatenate()([*inputs.values()]))
    )
    model = keras.Model(inputs, {"y": keras.layers.Dense(1)(hidden)})  # dropout only in training
    rng = np.random.default_rng(0)
    x, y = (
        {"a": rng.normal(size=(8, 3)), "b": rng.normal(size=(8, 2))},
        {"y": rng.normal(size=(8, 1))},
    )
    present = {"a": np.ones(8, bool), "b": np.arange(8) % 3 > 0}  # b absent in rows 0, 3, 6
    held_out = MultimodalData(x, y, present if masked else None)
    history = train(
        model,
        make_dataset(held_out),
        "sgd",
        losses={"y": "mse"},
        epochs=2,
        eval_data=make_dataset(held_out, batch_size=5),
    )  # batches of 5 and 3 rows
    if masked:  # a model without a masking fusion layer sees absent modalities as zeros
        x = {m: v * present[m][:, None] for m, v in x.items()}
    y_hat = model(x, training=False)["y"].numpy()
    expected = np.mean((y_hat - y["y"]) ** 2) + float(sum(model.losses))
    assert len(history.eval_loss) == 2
    assert abs(history.eval_loss[-1] / expected - 1) < 1e-5, (history.eval_loss, expected)


def test_a_keras_loss_object_computes_in_the_heads_dtype():
    data = synthetic("classification", n=64)
    model = encoder_model({"label": (3, None)})  # float64, the default
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)  # float32 unless told
    history = train(
        model, make_dataset(data), keras.optimizers.SGD(0.0), losses={"label": ce}, epochs=1
    )
    logits = model(data.inputs)["label"]
    exact = tf.nn.sparse_softmax_cross_entropy_with_logits(data.targets["label"], logits)
    assert logits.dtype == tf.float64 and ce.dtype == "float32"  # the caller's object unchanged
    assert abs(history.loss[0] / float(tf.reduce_mean(exact)) - 1) < 1e-12


def test_configure_changes_hyperparameters_without_tracing_again():
    """One compiled loop, several configurations: the same as a new Trainer with each."""
    data = synthetic("classification")
    model = encoder_model({"label": (3, None)})
    start, losses = model.get_weights(), {"label": "xent"}

    def batches():
        return make_dataset(data, batch_size=128)

    trainer = Trainer(model, keras.optimizers.Adam(0.01), losses=losses, modality_dropout=0.3)
    trainer.fit(batches(), epochs=2)
    trainer.restart(start)
    trainer.configure(learning_rate=0.005, modality_dropout=0.1, loss_weights={"label": 2.0})
    configured = trainer.fit(batches(), epochs=2)
    assert trainer._run.experimental_get_tracing_count() == 1
    model.set_weights(start)
    fresh = Trainer(
        model, keras.optimizers.Adam(0.005), losses=losses, modality_dropout=0.1,
        loss_weights={"label": 2.0},
    ).fit(batches(), epochs=2)  # fmt: skip
    np.testing.assert_allclose(configured.loss, fresh.loss, rtol=1e-6)
    plain = Trainer(model, "adam", losses=losses)
    with pytest.raises(InvalidParameterError, match="modality_dropout can be changed only"):
        plain.configure(modality_dropout=0.2)
    with pytest.raises(InvalidParameterError, match="ogm_alpha can be changed only"):
        plain.configure(ogm_alpha=0.2)


def test_a_float64_model_uses_its_loss_weights_exactly():
    """The weights are float64 variables: 0.1 is not rounded through float32."""
    model = encoder_model({"y": (1, None), "z": (1, None)})
    data = synthetic()
    data = MultimodalData(data.inputs, {"y": data.targets["y"], "z": data.targets["y"] * 2})
    history = train(model, data, keras.optimizers.SGD(0.0), losses={"y": "mse", "z": "mse"},
                    loss_weights={"z": 0.1}, epochs=1)  # fmt: skip
    total = history.head_losses["y"][0] + 0.1 * history.head_losses["z"][0]
    assert history.loss[0] == pytest.approx(total, rel=1e-15, abs=0)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_a_full_batch_is_trained_on_without_drawing_it_and_as_its_dataset_is(jit_compile):
    """fit on a MultimodalData trained whole passes its one batch to the compiled loop once
    (no draws from a dataset each epoch): the history is that of the same data as a dataset."""
    data = synthetic(n=60)

    def run(source):
        trainer = Trainer(
            encoder_model({"y": 1}), "adam", losses={"y": "mse"}, jit_compile=jit_compile
        )
        return trainer.fit(source, epochs=4)

    assert run(data) == run(make_dataset(data))
