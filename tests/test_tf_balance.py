"""Tests of the training loop's chapter 5 options and the probe they are judged by.

Imbalance remedies (tf_nn.balance), loss weighting (tf_nn.loss_weighting), encoder_outputs.
"""

from __future__ import annotations

import numpy as np
import pytest

from mmtutorial._checks import InvalidParameterError
from mmtutorial.data import MultimodalData, make_synthetic
from mmtutorial.tf_nn import (
    OGMGE,
    Trainer,
    build_multimodal_model,
    encoder_outputs,
    make_dataset,
    make_train_step,
    train,
)
from mmtutorial.tf_nn._tf import keras, tf
from mmtutorial.tf_nn.balance import call_with_mask, dropout_mask, modulate, ogm_coefficients

DIMS = {"a": 5, "b": 4}


def synthetic(n: int = 96, seed: int = 0) -> MultimodalData:
    return make_synthetic(n, DIMS, task="classification", n_classes=3, noise=0.05, seed=seed)


def model(seed: int = 0, **kwargs) -> keras.Model:
    heads = {"label": (3, None)}
    return build_multimodal_model(DIMS, heads, encoder_units=6, shared_units=8, seed=seed, **kwargs)


def batch(data: MultimodalData) -> tuple[dict, dict]:
    x = {m: tf.constant(v, tf.float64) for m, v in data.inputs.items()}
    return x, {h: tf.constant(v) for h, v in data.targets.items()}


def one_step(net: keras.Model, data: MultimodalData, **options) -> tuple[dict, dict]:
    """Run one SGD step (learning rate 1) eagerly; return its record and each weight's change."""
    before = {v.path: v.numpy() for v in net.trainable_variables}
    optimizer = keras.optimizers.SGD(1.0)
    step = make_train_step(net, {"label": xent}, {"label": 1.0}, optimizer, {}, **options)
    record = step(*batch(data))
    return record, {v.path: v.numpy() - before[v.path] for v in net.trainable_variables}


def fit(net: keras.Model, data: MultimodalData, epochs: int = 2, **options):
    dataset = make_dataset(data, 32, shuffle_seed=0)
    optimizer = keras.optimizers.Adam(0.01)
    return train(net, dataset, optimizer, losses={"label": "xent"}, epochs=epochs, **options)


def weights(net: keras.Model) -> list[np.ndarray]:
    return [v.numpy() for v in net.weights]


# --- auxiliary heads and encoder outputs --------------------------------------------------------


def test_auxiliary_heads_sit_on_each_encoder_and_leave_the_other_layers_unchanged():
    plain, aux = model(), model(auxiliary_heads=True)
    assert sorted(aux.output) == ["aux_a_label", "aux_b_label", "label"]
    layers = {layer.name: layer for layer in aux.layers}
    for m in DIMS:
        head = layers[f"aux_{m}_label"]
        assert head.units == 3 and head.activation is keras.activations.linear
        assert head.input is layers[f"encoder_{m}"].output  # e_m alone, not the fusion
        assert aux.output[f"aux_{m}_label"].shape == (None, 3)
    aux_weights = {v.path: v.numpy() for v in aux.weights}
    for v in plain.weights:  # the aux streams come last: same seed, same main-path weights
        np.testing.assert_array_equal(v.numpy(), aux_weights[v.path])


def test_auxiliary_heads_learn_the_heads_targets_and_receive_gradients():
    data, net = synthetic(), model(auxiliary_heads=True)
    dataset = make_dataset(data, 32, shuffle_seed=0)  # targets: "label" only
    losses = {"label": "xent", "aux_a_label": "xent"}  # aux_b_label has no loss
    before = {layer: weights(net.get_layer(layer)) for layer in ("aux_a_label", "aux_b_label")}
    history = train(net, dataset, "adam", losses=losses, epochs=1, metrics={"aux_a_label": ["acc"]})
    assert set(history.head_losses) == {"label", "aux_a_label"}
    assert "aux_a_label_accuracy" in history.metrics
    after = weights(net.get_layer("aux_a_label"))
    changed = [not np.allclose(w, v) for w, v in zip(before["aux_a_label"], after, strict=True)]
    assert all(changed)
    for w, v in zip(before["aux_b_label"], weights(net.get_layer("aux_b_label")), strict=True):
        np.testing.assert_array_equal(w, v)  # no loss, no update


def test_auxiliary_head_errors():
    with pytest.raises(InvalidParameterError, match="needs encoders.*encoder_units"):
        build_multimodal_model(DIMS, {"y": (1, None)}, auxiliary_heads=True)
    with pytest.raises(InvalidParameterError, match="auxiliary_heads must be a bool"):
        build_multimodal_model(DIMS, {"y": (1, None)}, encoder_units=2, auxiliary_heads=1)
    with pytest.raises(InvalidParameterError, match=r"clashing layer names \['aux_a_y'\]"):
        build_multimodal_model(
            DIMS, {"y": (1, None), "aux_a_y": (1, None)}, encoder_units=2, auxiliary_heads=True
        )


def test_encoder_outputs_are_relu_of_each_encoders_affine_map():
    data, net = synthetic(n=7), model(seed=3)
    e = encoder_outputs(net, data.inputs)
    assert sorted(e) == ["a", "b"]
    for m, x in data.inputs.items():
        kernel, bias = weights(net.get_layer(f"encoder_{m}"))
        np.testing.assert_allclose(e[m], np.maximum(x @ kernel + bias, 0), rtol=1e-5, atol=1e-6)


def test_encoder_outputs_errors():
    net, x = model(), {"a": np.ones((2, 5)), "b": np.ones((2, 4))}
    with pytest.raises(InvalidParameterError, match=r"inputs\['b'\] must have shape \(batch, 4\)"):
        encoder_outputs(net, {**x, "b": np.ones((2, 3))})
    with pytest.raises(InvalidParameterError, match="missing \\['b'\\]"):
        encoder_outputs(net, {"a": x["a"]})
    raw = build_multimodal_model(DIMS, {"y": (1, None)})
    with pytest.raises(InvalidParameterError, match="has no encoder_<modality> layer"):
        encoder_outputs(raw, x)


# --- modality dropout -------------------------------------------------------------------------


def test_make_train_steps_defaults_are_a_plain_gradient_step():
    """With its required arguments only, the step drops nothing, learns no loss weight and
    records no gradient norm: its update is the loss's gradient taken by hand. Dropout's draws
    default to seed 0."""
    data = synthetic()
    record, change = one_step(model(), data)
    assert record["grad_norms"] == {} and record["metrics"] == {}
    net, (x, y) = model(), batch(data)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(xent(y["label"], net(x, training=True)["label"]))
    grads = tape.gradient(loss, net.trainable_variables)
    assert float(record["loss"]) == pytest.approx(float(loss), rel=1e-12)
    for v, g in zip(net.trainable_variables, grads, strict=True):
        np.testing.assert_allclose(change[v.path], -g.numpy(), rtol=1e-10, atol=1e-14)
    dropped = one_step(model(), data, modality_dropout=0.5)[1]
    seeded = one_step(model(), data, modality_dropout=0.5, seed=0)[1]
    assert all(np.array_equal(dropped[k], seeded[k]) for k in dropped)


def test_dropout_mask_keeps_each_modality_with_probability_1_minus_p_and_never_drops_all():
    keep = dropout_mask(["a", "b", "c"], tf.constant(20000), 0.5, seed=1, step=tf.constant(0))
    kept = np.stack([keep[m].numpy() for m in "abc"], axis=1)
    assert kept.any(axis=1).all()
    # P(kept) = 1 - p + P(all three drawn below p and this one the largest) = 0.5 + 0.125 / 3
    np.testing.assert_allclose(kept.mean(axis=0), 0.5 + 0.125 / 3, atol=0.015)
    again = dropout_mask(["a", "b", "c"], tf.constant(20000), 0.5, seed=1, step=tf.constant(0))
    np.testing.assert_array_equal(again["a"], keep["a"])
    other = dropout_mask(["a", "b", "c"], tf.constant(20000), 0.5, seed=1, step=tf.constant(1))
    assert not np.array_equal(other["a"], keep["a"])


def test_modality_dropout_zero_is_plain_training_and_positive_changes_it():
    data = synthetic()
    plain, zero, half = (one_step(model(), data, modality_dropout=p)[1] for p in (0, 0.0, 0.5))
    for path, delta in plain.items():
        np.testing.assert_array_equal(zero[path], delta)
        assert not np.allclose(half[path], delta)


def test_a_dropout_step_is_a_plain_step_through_the_fusion_mask_it_draws():
    data = synthetic(n=64)
    _, change = one_step(model(), data, modality_dropout=0.6, seed=5)
    keep = dropout_mask(["a", "b"], tf.constant(64), 0.6, seed=5, step=tf.constant(0))
    assert 0 < keep["a"].numpy().sum() < 64 and 0 < keep["b"].numpy().sum() < 64
    net, (x, y) = model(), batch(data)
    with tf.GradientTape() as tape:
        out = net(x, training=True, mask=keep)
        loss = tf.reduce_mean(xent(y["label"], out["label"]))
    grads = tape.gradient(loss, net.trainable_variables)
    for g, v in zip(grads, net.trainable_variables, strict=True):
        np.testing.assert_allclose(change[v.path], -g.numpy(), rtol=1e-5, atol=1e-7)


def test_a_masked_modality_is_absent_not_zero_filled():
    # Masked at the fusion, a modality absent from every sample gives its encoder no gradient;
    # as zero-filled inputs, relu(0 W + b) still carries its bias into the fusion.
    net, (x, y) = model(), batch(synthetic(n=16))
    mask = {"a": tf.ones(16, bool), "b": tf.zeros(16, bool)}
    bias = net.get_layer("encoder_b").bias
    bias.assign(tf.fill(bias.shape, 0.5))
    for path in (call_with_mask, zero_filled):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(xent(y["label"], path(net, x, mask, True)["label"]))
        grad = tape.gradient(loss, bias)
        assert (grad is None or not np.any(grad.numpy())) == (path is call_with_mask)


def zero_filled(net: keras.Model, x: dict, mask: dict, training: bool) -> dict:
    return net({m: x[m] * tf.cast(mask[m][:, None], x[m].dtype) for m in x}, training=training)


def xent(y, logits):
    return keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)


# --- OGM-GE ------------------------------------------------------------------------------------


def test_ogm_coefficients_scale_only_the_dominant_modality_by_1_minus_tanh_alpha_rho():
    k, rho = ogm_coefficients({"a": tf.constant(30.0), "b": tf.constant(10.0)}, alpha=0.4)
    np.testing.assert_allclose([float(rho["a"]), float(rho["b"])], [3.0, 1 / 3], rtol=1e-6)
    np.testing.assert_allclose(float(k["a"]), 1 - np.tanh(0.4 * 3.0), rtol=1e-6)
    assert float(k["b"]) == 1.0
    k3, rho3 = ogm_coefficients({"a": 4.0, "b": 1.0, "c": 3.0}, alpha=1.0)  # ρ_m: s_m / mean(rest)
    np.testing.assert_allclose([float(rho3[m]) for m in "abc"], [2.0, 2 / 7, 1.2], rtol=1e-6)
    assert float(k3["b"]) == 1.0 and float(k3["c"]) == pytest.approx(1 - np.tanh(1.2))


def test_ogm_step_scales_the_dominant_encoders_update_and_leaves_the_rest_alone():
    data = synthetic(n=64)
    _, plain = one_step(model(), data)
    record, modulated = one_step(model(), data, ogm_ge=OGMGE(0.5, noise=False))
    k = {m: float(record["metrics"][f"ogm_coefficient_{m}"]) for m in DIMS}
    net, (x, y) = model(), batch(data)  # the scores by hand: Σ_n p(y_n | only m present)
    scores = {}
    for m in DIMS:
        only_m = {o: tf.fill([64], o == m) for o in DIMS}
        logits = net(x, mask=only_m)["label"].numpy()
        p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        scores[m] = p[np.arange(64), y["label"].numpy()].sum()
    dominant = max(scores, key=scores.get)
    rho = scores[dominant] / min(scores.values())
    assert k[dominant] == pytest.approx(1 - np.tanh(0.5 * rho), rel=1e-5)
    assert [k[m] for m in DIMS if m != dominant] == [1.0]
    for path, delta in plain.items():
        expected = delta * k[dominant] if path.startswith(f"encoder_{dominant}/") else delta
        np.testing.assert_allclose(modulated[path], expected, rtol=1e-5, atol=1e-7)


def test_ogm_alpha_zero_without_noise_is_plain_training_and_the_noise_changes_it():
    data = synthetic()
    plain = one_step(model(), data)[1]
    record, off = one_step(model(), data, ogm_ge=OGMGE(0.0, noise=False))
    noisy = one_step(model(), data, ogm_ge=OGMGE(0.0))[1]
    for path, delta in plain.items():
        np.testing.assert_array_equal(off[path], delta)
        assert np.allclose(noisy[path], delta) != path.startswith("encoder_")  # encoders only
    assert float(record["metrics"]["ogm_coefficient_a"]) == 1.0


def test_ogm_noise_has_the_standard_deviation_of_each_gradients_entries():
    g = tf.constant(np.random.default_rng(1).normal(2.0, 3.0, size=(200, 100)), tf.float32)
    out = modulate([g, g], {"a": [0], "b": [1]}, {"a": 0.5, "b": 1.0}, True, 0, tf.constant(0))
    for result, k in zip(out, (0.5, 1.0), strict=True):
        noise = (result - k * g).numpy()
        assert abs(noise.mean()) < 0.05 and noise.std() == pytest.approx(g.numpy().std(), rel=0.02)
    assert not np.allclose(out[0] - 0.5 * g, out[1] - g)  # each variable draws its own noise


# --- uncertainty weighting ---------------------------------------------------------------------


def test_eval_loss_is_the_learned_weighted_total_with_the_auxiliary_heads_targets():
    """eval_loss of held-out data weighs each head by its learned exp(−s_i), plus s_i, and
    scores each auxiliary head against the target of the head it learns."""
    data, net = synthetic(), model(auxiliary_heads=True)
    losses = dict.fromkeys(["label", "aux_a_label", "aux_b_label"], "xent")
    trainer = Trainer(net, keras.optimizers.Adam(0.05), losses=losses, loss_weighting="uncertainty")
    history = trainer.fit(make_dataset(data, 32, shuffle_seed=0), epochs=3, eval_data=data)
    s = {h: float(v.numpy()) for h, v in trainer.log_variances.items()}
    assert min(abs(v) for v in s.values()) > 1e-3  # learned: the weights are not all 1
    out = net({m: tf.constant(x) for m, x in data.inputs.items()}, training=False)
    heads = {h: float(np.mean(xent(data.targets["label"], out[h]))) for h in losses}
    expected = sum(np.exp(-s[h]) * heads[h] + s[h] for h in losses)
    assert history.eval_loss[-1] == pytest.approx(expected, rel=1e-6)


def test_uncertainty_weighting_learns_a_larger_weight_for_the_lower_loss_head():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 3)).astype("float32")
    targets = {"easy": x @ [[1.0], [-1.0], [0.5]], "hard": 3.0 * rng.normal(size=(128, 1))}
    data = MultimodalData({"a": x}, targets)
    net = build_multimodal_model({"a": 3}, {"easy": (1, None), "hard": (1, None)}, seed=0)
    dataset = make_dataset(data, 32, shuffle_seed=0)
    history = train(
        net,
        dataset,
        keras.optimizers.Adam(0.05),
        losses={"easy": "mse", "hard": "mse"},
        epochs=30,
        loss_weighting="uncertainty",
    )
    weight = {h: history.metrics[f"loss_weight_{h}"] for h in targets}
    assert weight["easy"][0] < 1.1 and weight["hard"][0] < 1.1  # s_h start at 0: weight 1
    assert weight["easy"][-1] > 5 * weight["hard"][-1]
    # at the optimum over s_h, exp(-s_h) = 1 / L_h
    assert weight["hard"][-1] == pytest.approx(1 / history.head_losses["hard"][-1], rel=0.3)


# --- bad arguments and the XLA path --------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"modality_dropout": 1.0},
            r"modality_dropout must be a finite number >= 0 and < 1, got 1",
        ),
        ({"modality_dropout": -0.1}, "modality_dropout must be a finite number >= 0"),
        (
            {"loss_weighting": "learned"},
            r"loss_weighting must be one of \('fixed', 'uncertainty'\)",
        ),
        ({"loss_weighting": "uncertainty", "loss_weights": {"label": 2.0}}, "leave loss_weights"),
        ({"ogm_ge": 0.5}, "ogm_ge must be an OGMGE or None, got 0.5"),
        ({"ogm_ge": OGMGE(1.0, head="y")}, r"OGMGE head must be one of \('label',\)"),
        ({"seed": -1}, "seed must be an int >= 0"),
    ],
)
def test_training_option_errors(kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        Trainer(model(), "sgd", losses={"label": "xent"}, **kwargs)


def test_ogm_errors():
    with pytest.raises(InvalidParameterError, match="OGMGE alpha must be a finite number >= 0"):
        OGMGE(-0.1)
    with pytest.raises(InvalidParameterError, match="OGMGE noise must be a bool"):
        OGMGE(0.1, noise="yes")
    one_encoder = build_multimodal_model({"a": 2}, {"y": (1, None)}, encoder_units=3)
    with pytest.raises(InvalidParameterError, match="at least two modalities, got \\['a'\\]"):
        Trainer(one_encoder, "sgd", losses={"y": "mse"}, ogm_ge=OGMGE(0.1))
    two_heads = build_multimodal_model(DIMS, {"y": (1, None), "z": (1, None)}, encoder_units=3)
    with pytest.raises(InvalidParameterError, match="OGMGE head must name one of the heads"):
        Trainer(two_heads, "sgd", losses={"y": "mse", "z": "mse"}, ogm_ge=OGMGE(0.1))
    # The step resolves the head by the same rule: it never picks one of two heads itself.
    mse, one = keras.losses.mean_squared_error, {"y": 1.0, "z": 1.0}
    step_args = (two_heads, {"y": mse, "z": mse}, one, keras.optimizers.SGD(), {})
    with pytest.raises(InvalidParameterError, match="OGMGE head must name one of the heads"):
        make_train_step(*step_args, ogm_ge=OGMGE(0.1))
    with pytest.raises(InvalidParameterError, match=r"OGMGE head must be one of \('y', 'z'\)"):
        make_train_step(*step_args, ogm_ge=OGMGE(0.1, head="w"))


def test_with_nothing_updated_eval_loss_is_the_training_loss_auxiliary_and_learned_weights_too():
    # No layer behaves differently in training and the learning rate is 0: the held-out loss of
    # the training data is its training loss, auxiliary heads (learning the main target) and
    # learned loss weights included.
    data, net = synthetic(n=48), model(auxiliary_heads=True)
    losses = {"label": "xent", "aux_a_label": "xent", "aux_b_label": "xent"}
    trainer = Trainer(net, keras.optimizers.SGD(0.5), losses=losses, loss_weighting="uncertainty")
    trainer.fit(make_dataset(data), epochs=3)  # the learned weights move away from 1
    assert all(abs(float(s)) > 1e-3 for s in trainer.log_variances.values())
    trainer.configure(learning_rate=0.0)
    history = trainer.fit(make_dataset(data), epochs=2, eval_data=make_dataset(data, 20))
    np.testing.assert_allclose(history.eval_loss, history.loss, rtol=1e-12)
    assert history.loss[0] == history.loss[1]


def test_every_option_together_under_xla_matches_the_default_loop():
    data, runs = synthetic(n=64), []  # two batches: a full one and the last, as XLA splits them
    options = {"modality_dropout": 0.3, "ogm_ge": OGMGE(0.5), "loss_weighting": "uncertainty"}
    losses = {"label": "xent", "aux_a_label": "xent"}
    for jit_compile in (False, True):
        net, dataset = model(auxiliary_heads=True), make_dataset(data, 32, shuffle_seed=0)
        optimizer = keras.optimizers.Adam(0.01)
        history = train(net, dataset, optimizer, losses=losses, epochs=2, seed=3,
                        jit_compile=jit_compile, **options)  # fmt: skip
        runs.append((history, weights(net)))
    (default, w_default), (xla, w_xla) = runs
    expected = ["loss_weight_aux_a_label", "loss_weight_label", "ogm_coefficient_a"]
    assert sorted(xla.metrics) == sorted(default.metrics) == [*expected, "ogm_coefficient_b"]
    np.testing.assert_allclose(xla.loss, default.loss, rtol=1e-5)  # the same random draws
    for w, v in zip(w_default, w_xla, strict=True):
        np.testing.assert_allclose(v, w, rtol=1e-4, atol=1e-6)


def test_built_models_take_a_modality_mask_without_warnings(recwarn):
    net, x = model(), synthetic(n=8).inputs
    mask = {"a": tf.constant([True, False] * 4), "b": tf.constant([True, True, False, True] * 2)}
    masked = net(x, mask=mask)["label"].numpy()
    assert not [w for w in recwarn if "mask" in str(w.message)]
    assert not np.allclose(masked, net(x)["label"].numpy())
    tensors = batch(synthetic(n=8))[0]  # call_with_mask leaves no mask on its input tensors
    np.testing.assert_allclose(
        call_with_mask(net, tensors, mask, False)["label"], masked, rtol=1e-6
    )
    np.testing.assert_allclose(net(tensors)["label"], net(x)["label"], rtol=1e-6)


def test_resumed_run_with_learned_loss_weights_ends_as_the_uninterrupted_one(tmp_path):
    data = synthetic()

    def run(epochs: int, directory=None, net=None):
        net = net or model()
        dataset = make_dataset(data, 32, shuffle_seed=0)
        history = train(
            net,
            dataset,
            keras.optimizers.Adam(0.01),
            losses={"label": "xent"},
            epochs=epochs,
            loss_weighting="uncertainty",
            modality_dropout=0.3,
            checkpoint_dir=directory,
        )
        return history, net

    whole, net_whole = run(3)
    run(2, tmp_path)
    resumed, net_resumed = run(3, tmp_path)
    np.testing.assert_allclose(
        resumed.metrics["loss_weight_label"], whole.metrics["loss_weight_label"], rtol=1e-6
    )
    for w, v in zip(weights(net_whole), weights(net_resumed), strict=True):
        np.testing.assert_allclose(v, w, rtol=1e-6, atol=1e-7)
