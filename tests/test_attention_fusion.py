"""Tests of AttentionFusion: gradients, masks, configuration, and its place in the builder."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mmtutorial._checks import InvalidParameterError
from mmtutorial.data import load_digits, standardize, train_test_split
from mmtutorial.gradcheck import numerical_gradient, relative_error
from mmtutorial.tf_nn import (
    FUSIONS,
    AttentionFusion,
    build_multimodal_model,
    make_dataset,
    train,
)
from mmtutorial.tf_nn._tf import keras, tf

# Keras 3.15 itself calls np.array(tensor) when saving, which NumPy 2 deprecates: not our code.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

RNG = np.random.default_rng(0)
H = [RNG.normal(size=(4, 3)).astype("float32"), RNG.normal(size=(4, 5)).astype("float32")]
MASK = [np.array([True, False, True, False]), np.array([True, True, False, False])]


def seeded(seed: int = 0, **kwargs) -> AttentionFusion:
    return AttentionFusion(kernel_initializer=keras.initializers.GlorotUniform(seed), **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "inputs", "width"),
    [
        ({}, [H[0], H[0]], 3),  # equal widths: the tokens are the inputs themselves
        ({}, H, 5),  # widths differ: projected to the largest
        ({"units": 6, "num_heads": 3, "key_dim": 2}, H, 6),
    ],
)
def test_shape_and_config_round_trip(kwargs, inputs, width):
    layer = seeded(**kwargs)
    assert tuple(layer(inputs).shape) == (4, width)
    shapes = [(None, x.shape[1]) for x in inputs]
    assert layer.compute_output_shape(shapes) == (None, width)
    clone = AttentionFusion.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    clone.build([tuple(x.shape) for x in inputs])
    clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(clone(inputs).numpy(), layer(inputs).numpy())


@pytest.mark.parametrize(("units", "mask"), [(None, None), (4, MASK)], ids=["plain", "mask"])
def test_gradients_match_float64_finite_differences(units, mask):
    layer, rng = AttentionFusion(num_heads=2, units=units, dtype="float64"), RNG
    h = [tf.Variable(rng.normal(size=(4, 2))), tf.Variable(rng.normal(size=(4, 3)))]
    r = rng.normal(size=tuple(layer(h, mask=mask).shape))  # L = Σ r ⊙ fusion(h)
    for w in layer.trainable_weights:  # scale 0.5: a softmax far from saturation
        w.assign(rng.normal(scale=0.5, size=tuple(w.shape)))
    variables = [*h, *layer.trainable_weights]
    assert len(variables) == 2 + 2 * 2 + 1 + 8  # inputs, projections, embedding, q k v output
    forward = tf.function(lambda: tf.reduce_sum(layer(h, mask=mask) * r))
    with tf.GradientTape() as tape:
        total = forward()
    for variable, grad in zip(variables, tape.gradient(total, variables), strict=True):
        array = variable.numpy()

        def loss(variable=variable, array=array) -> float:
            variable.assign(array)  # numerical_gradient moves one entry of array at a time
            return float(forward())

        numeric = numerical_gradient(loss, array)
        variable.assign(array)
        if np.abs(numeric).max() < 1e-9:  # a key bias the softmax ignores: both zero
            assert np.abs(grad.numpy()).max() < 1e-9, variable.name
        else:
            assert relative_error(grad.numpy(), numeric, norm=True) < 1e-8, variable.name


def test_an_absent_modality_has_no_effect_on_the_output():
    layer = seeded()
    out = layer(H, mask=MASK).numpy()
    changed = [H[0] + 100.0 * ~MASK[0][:, None], H[1] - 50.0 * ~MASK[1][:, None]]
    np.testing.assert_array_equal(layer(changed, mask=MASK).numpy(), out)
    # It is not attended to: the result is not that of a zero-filled modality.
    zero_filled = [x * m[:, None] for x, m in zip(H, MASK, strict=True)]
    assert np.abs(layer(zero_filled).numpy()[:3] - out[:3]).max() > 1e-3
    # A sample with one modality: its token plus attention to itself alone.
    tokens = layer.tokens(H).numpy()
    for n, m in [(1, 1), (2, 0)]:
        alone = tokens[n : n + 1, m : m + 1]
        expected = alone + layer.attention(alone, alone).numpy()
        np.testing.assert_allclose(out[n], expected[0, 0], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(out[3], 0.0)  # no modality at all
    assert layer.compute_mask(H, MASK).numpy().tolist() == [True, True, True, False]


@pytest.mark.parametrize("width", [2, 3, 8])
def test_key_biases_do_not_change_the_output(width):
    # The softmax over the keys ignores what adds to every key's score alike, as a key bias
    # does. Keras 3.15 broke this for key_dim = 1 with as many tokens as heads (see key_dim).
    layer = seeded(num_heads=2)
    h = [H[0][:, :1].repeat(width, axis=1), H[1][:, :width]]
    out = layer(h).numpy()
    layer.attention.weights[3].assign(RNG.normal(size=layer.attention.weights[3].shape))
    assert layer.attention.weights[3].path.endswith("key/bias")
    np.testing.assert_allclose(layer(h).numpy(), out, rtol=1e-5, atol=1e-6)


def test_seeded_weights_are_reproducible_and_start_uncorrelated():
    a, b = seeded(5), seeded(5)
    a(H), b(H)
    for va, vb in zip(a.weights, b.weights, strict=True):
        np.testing.assert_array_equal(va.numpy(), vb.numpy())
    kernels = {w.path: w.numpy().ravel() for w in a.weights if np.ptp(w.numpy()) > 0}
    assert len(kernels) == 2 + 1 + 4  # projections, modality embedding, q k v output
    for (p, u), (q, v) in itertools.combinations(kernels.items(), 2):
        n = min(u.size, v.size)
        assert abs(np.corrcoef(u[:n], v[:n])[0, 1]) < 0.9, (p, q)


def test_bad_arguments_fail_naming_them():
    for name in ("num_heads", "units"):
        with pytest.raises(InvalidParameterError, match=f"{name} must be an int >= 1, got 0"):
            AttentionFusion(**{name: 0})
    with pytest.raises(InvalidParameterError, match="key_dim must be an int >= 2, got 1"):
        AttentionFusion(key_dim=1)
    with pytest.raises(InvalidParameterError, match="AttentionFusion 'att': needs at least 2 mod"):
        AttentionFusion(name="att")([H[0]])
    layer = AttentionFusion(name="att")
    layer(H)
    with pytest.raises(ValueError, match="Input 1 .* of layer 'att' is incompatible"):
        layer([H[0], H[1][:, :2]])


def digits_model(seed: int) -> keras.Model:
    return build_multimodal_model(
        {"pix": 240, "fou": 76},
        {"digit": (10, None)},
        encoder_units=16,
        fusion="attention",
        shared_units=16,
        seed=seed,
    )


def test_builder_registers_attention_and_trains_it_on_the_digits():
    assert FUSIONS["attention"] == 2
    model = digits_model(seed=0)
    assert isinstance(model.get_layer("fusion"), AttentionFusion)
    train_set, test_set = standardize(
        *train_test_split(load_digits(views=("pix", "fou")), 0.25, seed=0, stratify="digit")
    )
    history = train(
        model,
        make_dataset(train_set, batch_size=100, shuffle_seed=0),
        keras.optimizers.Adam(0.01),
        losses={"digit": "xent"},
        metrics={"digit": ["accuracy"]},
        epochs=5,
        grad_norms=True,
    )
    assert history.loss[-1] < 0.5 * history.loss[0]
    assert min(history.grad_norms["pix"][-1], history.grad_norms["fou"][-1]) > 0
    logits = model({m: test_set.inputs[m] for m in ("pix", "fou")})["digit"].numpy()
    assert np.mean(logits.argmax(axis=1) == test_set.targets["digit"]) > 0.85  # chance 0.1


def test_builder_is_seeded_and_saves_and_loads(tmp_path):
    model, again = digits_model(seed=3), digits_model(seed=3)
    for va, vb in zip(model.weights, again.weights, strict=True):
        np.testing.assert_array_equal(va.numpy(), vb.numpy())
    x = {"pix": RNG.normal(size=(6, 240)), "fou": RNG.normal(size=(6, 76))}
    model.save(tmp_path / "attention.keras")
    loaded = keras.models.load_model(tmp_path / "attention.keras")
    assert type(loaded.get_layer("fusion")) is AttentionFusion
    np.testing.assert_array_equal(loaded(x)["digit"].numpy(), model(x)["digit"].numpy())


def test_a_model_with_attention_fusion_takes_masks_and_trains_with_modality_dropout():
    model = digits_model(seed=1)
    x = {"pix": RNG.normal(size=(6, 240)), "fou": RNG.normal(size=(6, 76))}
    mask = {"pix": np.arange(6) % 2 == 0, "fou": np.ones(6, bool)}
    out = model(x, mask=mask)["digit"].numpy()
    moved = {**x, "pix": x["pix"] + 100.0 * ~mask["pix"][:, None]}
    np.testing.assert_array_equal(model(moved, mask=mask)["digit"].numpy(), out)
    assert np.abs(model(moved)["digit"].numpy() - out)[1::2].max() > 1e-3
    data = standardize(load_digits(views=("pix", "fou")).subset(slice(0, 2000, 10)))[0]
    history = train(
        model,
        make_dataset(data, batch_size=50, shuffle_seed=0),
        "adam",
        losses={"digit": "xent"},
        epochs=3,
        modality_dropout=0.5,
    )
    assert np.isfinite(history.loss).all() and history.loss[-1] < history.loss[0]
