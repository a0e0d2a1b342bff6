"""Tests of info_nce and the contrastive dual encoder (build_dual_encoder, train_contrastive)."""

from __future__ import annotations

import numpy as np
import pytest

from mmtutorial._checks import InvalidParameterError
from mmtutorial.data import MultimodalData, load_digits, standardize, train_test_split
from mmtutorial.gradcheck import numerical_gradient, relative_error
from mmtutorial.probe import retrieval_top1
from mmtutorial.tf_nn import build_dual_encoder, embed, info_nce, train_contrastive
from mmtutorial.tf_nn._tf import keras, tf

RNG = np.random.default_rng(0)


def test_info_nce_matches_a_hand_computed_value():
    # Three unit vectors in the plane: cosines S = [[1, 0, -1], [0, 1, 0], [-1, 0, 1]], τ = 1.
    a = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    # Rows 0 and 2: -log(e / (e + 1 + e⁻¹)); row 1: -log(e / (1 + e + 1)). S is symmetric, so
    # both directions agree.
    expected = (2 * np.log(1 + np.exp(-1) + np.exp(-2)) + np.log(1 + 2 * np.exp(-1))) / 3
    np.testing.assert_allclose(float(info_nce(a, a, temperature=1.0)), expected, rtol=1e-12)
    # Scaling the rows changes nothing (cosines); τ divides the similarities.
    np.testing.assert_allclose(float(info_nce(3 * a, a / 2, 1.0)), expected, rtol=1e-12)
    halved = (2 * np.log(1 + np.exp(-2) + np.exp(-4)) + np.log(1 + 2 * np.exp(-2))) / 3
    np.testing.assert_allclose(float(info_nce(a, a, temperature=0.5)), halved, rtol=1e-12)


def test_info_nce_is_symmetric_and_log_n_at_chance():
    a, b = RNG.normal(size=(8, 5)), RNG.normal(size=(8, 5))
    assert float(info_nce(a, b)) == pytest.approx(float(info_nce(b, a)), rel=1e-12)
    assert float(info_nce(a, b)) != pytest.approx(float(info_nce(a, b[::-1])), rel=1e-3)
    same = np.ones((8, 5))  # every pair as similar as every other: no information
    assert float(info_nce(same, same)) == pytest.approx(np.log(8), rel=1e-6)


def test_info_nce_gradient_matches_float64_finite_differences():
    a, b = RNG.normal(size=(5, 3)), RNG.normal(size=(5, 3))
    tensor = tf.constant(a)
    with tf.GradientTape() as tape:
        tape.watch(tensor)
        loss = info_nce(tensor, b, temperature=0.3)
    grad = tape.gradient(loss, tensor).numpy()
    numeric = numerical_gradient(lambda: float(info_nce(a, b, temperature=0.3)), a)
    assert relative_error(grad, numeric, norm=True) < 1e-8


@pytest.mark.parametrize("temperature", [0, -0.1, float("nan"), "0.1"])
def test_info_nce_rejects_bad_temperatures(temperature):
    with pytest.raises(InvalidParameterError, match="temperature must be a finite number > 0"):
        info_nce(np.eye(3), np.eye(3), temperature=temperature)


@pytest.mark.parametrize(
    ("b_shape", "got"),
    [((2, 3), r"\(3, 3\) and emb_b \(2, 3\)"), ((3, 4), r"\(3, 3\) and emb_b \(3, 4\)")],
)
def test_info_nce_rejects_unpaired_embeddings(b_shape, got):
    with pytest.raises(InvalidParameterError, match=f"paired embeddings of one shape .*{got}"):
        info_nce(np.eye(3), np.ones(b_shape))
    with pytest.raises(InvalidParameterError, match=r"got emb_a \(3,\)"):
        info_nce(np.ones(3), np.ones(3))


def test_dual_encoder_embeds_on_the_unit_sphere_reproducibly():
    dims = {"pix": 240, "fou": 76}
    model, again = build_dual_encoder(dims, 8, 16, seed=4), build_dual_encoder(dims, 8, 16, seed=4)
    x = {"pix": RNG.normal(size=(5, 240)), "fou": RNG.normal(size=(5, 76))}
    out, out_again = embed(model, x), embed(again, MultimodalData(x, {}))
    for m in dims:
        assert out[m].shape == (5, 8) and out[m].dtype == np.float64
        np.testing.assert_allclose(np.linalg.norm(out[m], axis=1), 1.0, rtol=1e-5)
        np.testing.assert_array_equal(out[m], out_again[m])
    names = [layer.name for layer in model.layers]
    assert {"encoder_pix", "projection_fou", "embedding_pix"} <= set(names)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dims": {"a": 3}}, r"dims must name exactly two modalities, got 1: \['a'\]"),
        ({"dims": {"a": 3, "b": 2, "c": 1}}, "exactly two modalities, got 3"),
        ({"dims": {"a": 0, "b": 2}}, r"dims\['a'\] must be an int >= 1, got 0"),
        ({"dims": {"a b": 3, "b": 2}}, "modality names must be Python identifiers"),
        ({"embed_dim": 0}, "embed_dim must be an int >= 1, got 0"),
        ({"hidden_units": 1.5}, "hidden_units must be an int >= 1, got 1.5"),
        ({"seed": -1}, "seed must be an int >= 0 or None, got -1"),
    ],
)
def test_build_dual_encoder_rejects_bad_arguments(kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        build_dual_encoder(**{"dims": {"a": 3, "b": 2}, **kwargs})


def digit_views(seed: int = 0) -> tuple[MultimodalData, MultimodalData]:
    split = train_test_split(load_digits(views=("pix", "fou")), 0.25, seed=seed, stratify="digit")
    return standardize(*split)


def test_train_contrastive_aligns_two_digit_views_far_above_chance():
    train_set, test_set = digit_views()
    model = build_dual_encoder({"pix": 240, "fou": 76}, embed_dim=16, hidden_units=64, seed=0)
    before = embed(model, test_set)
    history = train_contrastive(
        model, train_set, keras.optimizers.Adam(1e-3), epochs=10, batch_size=100, seed=0
    )
    assert len(history) == 10 and history.unit == "epoch"
    assert history.loss[-1] < 0.5 * history.loss[0]
    assert min(history.grad_norms["pix"][-1], history.grad_norms["fou"][-1]) > 0
    after = embed(model, test_set)
    chance = 1 / len(test_set)  # 500 held-out pairs
    assert retrieval_top1(before["pix"], before["fou"]) < 5 * chance
    assert retrieval_top1(after["pix"], after["fou"]) > 10 * chance
    assert retrieval_top1(after["fou"], after["pix"]) > 10 * chance
    digit = test_set.targets["digit"]  # the nearest fou embedding is mostly the same digit
    assert retrieval_top1(after["pix"], after["fou"], labels=digit) > 0.5  # chance 0.1


def test_train_contrastive_is_deterministic_given_its_seeds():
    train_set = digit_views()[0].subset(slice(0, 300))

    def run() -> list[float]:
        model = build_dual_encoder({"pix": 240, "fou": 76}, 8, 16, seed=1)
        return train_contrastive(model, train_set, "adam", epochs=2, batch_size=64, seed=2).loss

    assert run() == run()


def test_train_contrastive_logs_and_rejects_bad_arguments(capsys):
    data = {"a": RNG.normal(size=(10, 3)), "b": RNG.normal(size=(10, 2))}
    model = build_dual_encoder({"a": 3, "b": 2}, 4, 4, seed=0)
    history = train_contrastive(model, data, "sgd", epochs=2, batch_size=32, log_every=1)
    assert len(history) == 2  # fewer pairs than batch_size: one batch of all 10
    assert capsys.readouterr().out.splitlines()[-1].startswith("epoch 2/2  loss ")
    fit = {"epochs": 1, "batch_size": 4}
    bad = [
        ({"batch_size": 1}, "batch_size must be an int >= 2, got 1"),
        ({"temperature": 0.0}, "temperature must be a finite number > 0, got 0.0"),
        ({"epochs": 0}, "epochs must be an int >= 1, got 0"),
        ({"seed": None}, "seed must be an int >= 0, got None"),
        ({"log_every": -1}, "log_every must be an int >= 0, got -1"),
    ]
    for kwargs, message in bad:
        with pytest.raises(InvalidParameterError, match=message):
            train_contrastive(model, data, "sgd", **{**fit, **kwargs})
    with pytest.raises(InvalidParameterError, match=r"data must name the modalities .* \['b'\]"):
        train_contrastive(model, {"a": data["a"]}, "sgd", **fit)
    with pytest.raises(
        InvalidParameterError, match=r"data\['b'\] has 3 features, the model expects 2"
    ):
        train_contrastive(model, {"a": data["a"], "b": data["a"]}, "sgd", **fit)
    with pytest.raises(InvalidParameterError, match="data must be a MultimodalData or a dict"):
        train_contrastive(model, data["a"], "sgd", **fit)
    with pytest.raises(InvalidParameterError, match="data must hold at least 2 pairs, got 1"):
        train_contrastive(model, {m: x[:1] for m, x in data.items()}, "sgd", **fit)
    with pytest.raises(InvalidParameterError, match="optimizer must be a Keras optimizer"):
        train_contrastive(model, data, "adamw2", **fit)
    single = keras.Model(model.input, model.output["a"])
    with pytest.raises(InvalidParameterError, match="return one embedding per modality"):
        train_contrastive(single, data, "sgd", **fit)
    with pytest.raises(InvalidParameterError, match="model must be a Keras model from build_dual"):
        embed("model", data)


def test_info_nce_in_float64_uses_the_temperature_exactly():
    """τ = 0.1 is not rounded through float32: the loss equals NumPy's to float64 rounding."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    unit_a = a / np.linalg.norm(a, axis=1, keepdims=True)
    unit_b = b / np.linalg.norm(b, axis=1, keepdims=True)
    s = unit_a @ unit_b.T / 0.1

    def cross_entropy(scores):
        return np.mean(np.log(np.exp(scores).sum(axis=1)) - np.diag(scores))

    expected = 0.5 * (cross_entropy(s) + cross_entropy(s.T))
    assert float(info_nce(a, b, 0.1)) == pytest.approx(expected, rel=1e-14, abs=0)
