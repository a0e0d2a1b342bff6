"""Tests of mmtutorial.tf_nn's builders, fusion layers and NumPy bridge."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys

import numpy as np
import pytest

from mmtutorial._checks import InvalidParameterError
from mmtutorial.data import article_data
from mmtutorial.gradcheck import numerical_gradient, relative_error
from mmtutorial.numpy_nn import MultimodalNet, article_network
from mmtutorial.tf_nn import (
    ConcatFusion,
    GatedFusion,
    LowRankFusion,
    SumFusion,
    TensorFusion,
    Trainer,
    article_model,
    build_multimodal_model,
    copy_numpy_weights,
    gradients_numpy_vs_tf,
    half_squared_error,
    tf_gradients,
)
from mmtutorial.tf_nn._tf import keras, tf

# Keras 3.15 itself calls np.array(tensor) when saving, which NumPy 2 deprecates: not our code.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

RNG = np.random.default_rng(0)
H = [RNG.normal(size=(4, 3)).astype("float32"), RNG.normal(size=(4, 3)).astype("float32")]
THREE = {"a": 5, "b": 7, "c": 3}
FUSION_KW = {
    "concat": {},
    "sum": {},
    "mean": {},
    "gated": {},
    "tensor": {},
    "lowrank": {"fusion_units": 6, "rank": 3},
}


def three_modality_model(fusion: str, dtype: str = "float32") -> keras.Model:
    return build_multimodal_model(
        THREE,
        {"y": (2, None), "z": (3, "relu")},
        encoder_units=4,
        fusion=fusion,
        shared_units=8,
        dtype=dtype,
        seed=1,
        **FUSION_KW[fusion],
    )


def batch(dims: dict[str, int], n: int = 6, dtype: str = "float32") -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    return {m: rng.normal(size=(n, d)).astype(dtype) for m, d in dims.items()}


# --- builders ----------------------------------------------------------------------------------


def test_article_model_layers_and_shapes():
    model = article_model()
    names = [layer.name for layer in model.layers]
    assert names == ["x1", "x2", "fusion", "shared", "head_y1", "head_y2"]
    out = model(batch({"x1": 10, "x2": 10}, n=5))
    assert {h: tuple(v.shape) for h, v in out.items()} == {"y1": (5, 10), "y2": (5, 10)}
    assert model.get_layer("shared").activation is keras.activations.relu
    assert model.count_params() == 20 * 20 + 20 + 2 * (20 * 10 + 10)


@pytest.mark.parametrize("fusion", sorted(FUSION_KW))
def test_builder_output_shapes_per_fusion(fusion):
    model = three_modality_model(fusion)
    out = model(batch(THREE))
    assert {h: tuple(v.shape) for h, v in out.items()} == {"y": (6, 2), "z": (6, 3)}
    assert [f"encoder_{m}" in [la.name for la in model.layers] for m in THREE] == [True] * 3


def test_seed_makes_weights_reproducible_and_dtype_is_applied():
    a = three_modality_model("lowrank", dtype="float64")
    b = three_modality_model("lowrank", dtype="float64")
    for va, vb in zip(a.weights, b.weights, strict=True):
        np.testing.assert_array_equal(va.numpy(), vb.numpy())
    assert {v.dtype for v in a.weights} == {"float64"}
    factors = [w.numpy() for w in a.get_layer("fusion").factors]
    assert not np.array_equal(factors[0][:, :3], factors[2][:, :3])  # distinct per modality


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"modality_dims": {}}, "modality_dims must be a non-empty dict, got {}"),
        ({"modality_dims": {"a": 0}}, r"modality_dims\['a'\] must be an int >= 1, got 0"),
        ({"modality_dims": {"a b": 2}}, "modality names must be Python identifiers"),
        ({"head_specs": {}}, "head_specs must be a non-empty dict, got {}"),
        (
            {"head_specs": {"y": "3"}},
            r"head_specs\['y'\] must be units or \(units, activation\), got '3'",
        ),
        ({"head_specs": {"y": (1, "sigmoidal")}}, "activation must be a Keras activation"),
        ({"fusion": "bilinear"}, "fusion must be one of .*, got 'bilinear'"),
        ({"fusion": "gated", "modality_dims": {"a": 2}}, "needs at least 2 modalities, got 1"),
        ({"fusion": "sum", "modality_dims": {"a": 2, "b": 3}}, "same width, got {'a': 2, 'b': 3}"),
        ({"fusion": "lowrank"}, "fusion_units must be an int >= 1, got None"),
        ({"fusion_units": 4}, "used only by fusion='lowrank', not 'concat'"),
        ({"encoder_units": {"a": 2}}, r"encoder_units must name the modalities .* missing \['b'\]"),
        ({"encoder_units": -1}, "encoder_units must be an int >= 1, got -1"),
        ({"modality_dims": {"shared": 2}}, r"clashing layer names \['shared'\]"),
        ({"dtype": "float16"}, "dtype must be float32 or float64 .*, got 'float16'"),
        ({"seed": -3}, "seed must be an int >= 0 or None, got -3"),
        ({"seed": 1.0}, "seed must be an int >= 0 or None, got 1.0"),
        ({"shared_units": 2.5}, "shared_units must be an int >= 1, got 2.5"),
        (
            {"head_specs": {"a b": 1}},
            r"^head names must be Python identifiers \(e.g. 'pix'\), got 'a b'$",
        ),
        (
            {"head_specs": {"y": True}},
            r"^head_specs\['y'\] must be units or \(units, activation\), got True$",
        ),
        ({"head_specs": {"y": (0, None)}}, r"^head_specs\['y'\] units must be an int >= 1, got 0$"),
        (
            {"head_specs": {"y": [2, None, 1]}},
            r"must be units or \(units, activation\), got \[2, None, 1\]$",
        ),
        (
            {"head_specs": {"y": (1, "relux")}},
            r"^head_specs\['y'\] activation must be a Keras activation",
        ),
        ({"modality_dims": {"fusion": 2}}, r"clashing layer names \['fusion'\]"),
        (
            {"modality_dims": {"head_y": 2, "b": 2}},
            r"^modality and head names give clashing layer names \['head_y'\]",
        ),
        ({"encoder_units": {"a": 2, "b": 0}}, r"^encoder_units\['b'\] must be an int >= 1, got 0$"),
        (
            {"head_specs": {"y": 1, "aux_a_y": 1}, "encoder_units": 2, "auxiliary_heads": True},
            r"clashing layer names \['aux_a_y'\]",
        ),
        (  # the auxiliary heads' names are added to the others, not checked instead of them
            {"modality_dims": {"a": 2, "shared": 2}, "encoder_units": 2, "auxiliary_heads": True},
            r"clashing layer names \['shared'\]",
        ),
    ],
)
def test_builder_validation_errors(kwargs, message):
    args = {"modality_dims": {"a": 2, "b": 2}, "head_specs": {"y": (1, None)}} | kwargs
    with pytest.raises(InvalidParameterError, match=message):
        build_multimodal_model(args.pop("modality_dims"), args.pop("head_specs"), **args)


def test_builder_argument_edges_that_are_fine():
    """Names an auxiliary head would take are free without auxiliary heads; int heads are
    linear; unseeded builders draw fresh initial weights; the perturbation moves them."""
    from mmtutorial.tf_nn._builder_args import initializers

    model = build_multimodal_model({"a": 2}, {"y": 1, "aux_a_y": 1}, encoder_units=2)
    assert sorted(model.output) == ["aux_a_y", "y"]
    assert model.get_layer("head_y").activation.__name__ == "linear"
    assert model.get_layer("head_y").units == 1
    assert len(initializers(None, 3)) == 3
    assert len({i.seed for i in initializers(0, 3)}) == 3
    first, second = (article_model(seed=None).get_weights()[0] for _ in range(2))
    assert not np.array_equal(first, second)


def test_the_builders_apply_the_perturbation(monkeypatch):
    plain = article_model(seed=0).get_weights()
    monkeypatch.setenv("MMTUTORIAL_PERTURB", "0")
    moved = article_model(seed=0).get_weights()
    gaps = [np.max(np.abs(a - b)) for a, b in zip(plain, moved, strict=True)]
    assert 0 < max(gaps) < 1e-9  # float64: moved by about 1e-12


# --- fusion layers ------------------------------------------------------------------------------


def test_fusion_values_match_their_formulas():
    a, b = H
    np.testing.assert_allclose(ConcatFusion()([a, b]), np.concatenate([a, b], 1))
    np.testing.assert_allclose(SumFusion("sum")([a, b]), a + b, rtol=1e-6)
    np.testing.assert_allclose(SumFusion("mean")([a, b]), (a + b) / 2, rtol=1e-6)
    c = RNG.normal(size=(4, 3)).astype("float32")
    np.testing.assert_allclose(SumFusion("mean")([a, b, c]), (a + b + c) / 3, rtol=1e-6)
    one = np.ones((4, 1), "float32")
    za, zb = np.hstack([one, a]), np.hstack([one, b])
    expected = np.einsum("bi,bj->bij", za, zb).reshape(4, -1)
    np.testing.assert_allclose(TensorFusion()([a, b]), expected, rtol=1e-6)
    lmf = LowRankFusion(units=5, rank=2)
    lmf.build([a.shape, b.shape])
    weights = {w.name: tuple(w.shape) for w in lmf.weights}  # as the docstring names them
    assert weights == {"factor_0": (2, 4, 5), "factor_1": (2, 4, 5), "bias": (5,)}
    np.testing.assert_array_equal(lmf.bias.numpy(), np.zeros(5))  # b starts at zero
    lmf.bias.assign(np.arange(5.0))  # (as after training)
    out = lmf([a, b]).numpy()
    fa, fb = (f.numpy() for f in lmf.factors)
    by_rank = np.einsum("bd,rdu->bru", za, fa) * np.einsum("bd,rdu->bru", zb, fb)
    np.testing.assert_allclose(out, by_rank.sum(1) + lmf.bias.numpy(), rtol=1e-5, atol=1e-6)
    gated = GatedFusion()
    g = gated.gates([a, b]).numpy()
    np.testing.assert_allclose(g.sum(1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(gated([a, b]), g[:, :1] * a + g[:, 1:] * b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("layer", "width"),
    [
        (ConcatFusion(), 6),
        (SumFusion("mean"), 3),
        (GatedFusion(kernel_initializer=keras.initializers.GlorotUniform(seed=7)), 3),
        (TensorFusion(), 16),
        (LowRankFusion(7, rank=2, kernel_initializer=keras.initializers.GlorotUniform(seed=7)), 7),
    ],
)
def test_fusion_shape_and_config_round_trip(layer, width):
    assert tuple(layer(H).shape) == (4, width)
    assert layer.compute_output_shape([(None, 3), (None, 3)]) == (None, width)
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert tuple(clone(H).shape) == (4, width)
    # The config carries the seeded initialiser: the clone starts from the same weights.
    for ours, theirs in zip(layer.get_weights(), clone.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_low_rank_factors_draw_their_own_streams_from_a_seeded_initialiser():
    def built(initializer: object) -> LowRankFusion:
        layer = LowRankFusion(4, rank=2, kernel_initializer=initializer)
        layer.build([(None, 3), (None, 3)])
        return layer

    first, again = (built(keras.initializers.GlorotUniform(seed=3)) for _ in range(2))
    f0, f1 = (f.numpy() for f in first.factors)
    assert f0.shape == f1.shape and not np.array_equal(f0, f1)  # one seed, two streams
    for ours, theirs in zip(first.factors, again.factors, strict=True):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())  # and reproducible
    # An initialiser without an integer seed is used as it is: no seed, or a SeedGenerator.
    assert not np.any(built("zeros").factors[1].numpy())
    generator = keras.initializers.GlorotUniform(seed=keras.random.SeedGenerator(1))
    assert np.all(np.isfinite(built(generator).factors[0].numpy()))


def test_fusion_layer_errors():
    with pytest.raises(InvalidParameterError, match=r"mode must be one of \('sum', 'mean'\)"):
        SumFusion("max")
    with pytest.raises(InvalidParameterError, match="rank must be an int >= 1, got 0"):
        LowRankFusion(3, rank=0)
    with pytest.raises(InvalidParameterError, match="TensorFusion 'tf': needs at least 2 mod"):
        TensorFusion(name="tf")([H[0]])
    with pytest.raises(InvalidParameterError, match=r"SumFusion 's': .* got widths \[3, 2\]"):
        SumFusion(name="s")([H[0], H[1][:, :2]])
    gated = GatedFusion(name="gate")
    gated(H)
    with pytest.raises(ValueError, match='"gate" expects 2 input'):  # input_spec, set in build
        gated([*H, H[0]])
    with pytest.raises(ValueError, match="Input 1 .* of layer 'gate' is incompatible"):
        gated([H[0], H[1][:, :2]])
    with pytest.raises(ValueError, match="'gate' is incompatible .* expected ndim=2, found ndim=3"):
        gated([h[:, None, :] for h in H])  # the right widths, one axis too many
    concat = ConcatFusion(name="c")
    with pytest.raises(InvalidParameterError, match=r"'c': takes a list of \(batch, features\) "):
        concat.build((None, 3))  # one tensor's shape, not a list of them
    for shapes, got in [
        ([(None, 3, 2), (None, 3)], r"\(None, 3, 2\)"),
        ([(4, None)], r"\(4, None\)"),
    ]:
        message = (
            rf"'c': input 0 must have shape \(batch, features\) with known features, got {got}"
        )
        with pytest.raises(InvalidParameterError, match=message):
            concat.build(shapes)


@pytest.mark.parametrize("fusion", sorted(FUSION_KW))
def test_save_load_round_trip_gives_identical_predictions(fusion, tmp_path):
    model = three_modality_model(fusion)
    x = batch(THREE)
    path = tmp_path / f"{fusion}.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded.get_layer("fusion")) is type(model.get_layer("fusion"))
    for head, value in model(x).items():
        np.testing.assert_array_equal(loaded(x)[head].numpy(), value.numpy())


@pytest.mark.parametrize("fusion", sorted(FUSION_KW))
def test_gradient_reaches_every_encoder(fusion):
    model = three_modality_model(fusion)
    x = batch(THREE)
    with tf.GradientTape() as tape:
        out = model(x, training=True)
        loss = tf.reduce_sum(out["y"] ** 2) + tf.reduce_sum(out["z"])
    variables = [v for m in THREE for v in model.get_layer(f"encoder_{m}").trainable_variables]
    for variable, grad in zip(variables, tape.gradient(loss, variables), strict=True):
        assert grad is not None and float(tf.reduce_max(tf.abs(grad))) > 0, variable.path


def test_fusion_layers_carry_per_sample_modality_masks():
    a, b = H
    mask = [np.array([True, False, True, False]), np.array([True, True, False, False])]
    ma, mb = (m[:, None].astype("float32") for m in mask)
    layers = [ConcatFusion(), SumFusion("mean"), GatedFusion(), TensorFusion(), LowRankFusion(3)]
    for layer in layers:
        assert layer.supports_masking
        assert layer.compute_mask(H, None) is None
        assert layer.compute_mask(H, mask).numpy().tolist() == [True, True, True, False]
    np.testing.assert_allclose(ConcatFusion()(H, mask=mask), np.hstack([a * ma, b * mb]))
    present = np.maximum(ma + mb, 1.0)
    np.testing.assert_allclose(
        SumFusion("mean")(H, mask=mask), (a * ma + b * mb) / present, rtol=1e-6
    )
    np.testing.assert_allclose(SumFusion("sum")(H, mask=[mask[0], None]), a * ma + b, rtol=1e-6)
    gated = GatedFusion()
    gates = gated.gates(H, mask=mask).numpy()
    np.testing.assert_array_equal(gates[[1, 2]], [[0.0, 1.0], [1.0, 0.0]])  # absent: gate 0
    np.testing.assert_allclose(gates[0], gated.gates(H).numpy()[0], rtol=1e-6)  # both present
    np.testing.assert_array_equal(gated.gate_bias.numpy(), [0.0, 0.0])  # b_g starts at zero
    fused = gated(H, mask=mask).numpy()  # a row with one modality present is that modality
    np.testing.assert_allclose(fused[[1, 2]], np.stack([b[1], a[2]]), rtol=1e-6)
    np.testing.assert_allclose(fused, gates[:, :1] * a * ma + gates[:, 1:] * b * mb, rtol=1e-5)
    one = np.ones((4, 1), "float32")
    expected = np.einsum("bi,bj->bij", np.hstack([one, a * ma]), np.hstack([one, b * mb]))
    np.testing.assert_allclose(TensorFusion()(H, mask=mask), expected.reshape(4, -1), rtol=1e-6)


@pytest.mark.parametrize(
    "layer", [ConcatFusion(), SumFusion("mean"), GatedFusion(), TensorFusion(), LowRankFusion(3)]
)
def test_fusion_layers_never_read_an_absent_modalitys_values(layer):
    mask = [np.array([True, False, True, False]), np.array([True, True, False, False])]
    expected = layer(H, mask=mask).numpy()
    other = np.random.default_rng(1).normal(scale=1e6, size=(4, 3))  # finite: NaN is refused
    invented = [
        np.where(m[:, None], h, other).astype("float32") for h, m in zip(H, mask, strict=True)
    ]
    np.testing.assert_array_equal(layer(invented, mask=mask).numpy(), expected)


@pytest.mark.parametrize(
    "make",
    [ConcatFusion, lambda name: SumFusion("mean", name=name), GatedFusion, TensorFusion],
    ids=["concat", "mean", "gated", "tensor"],
)
def test_fusion_layers_refuse_a_mask_that_is_not_one_per_modality(make):
    layer, m = make(name="fuse"), np.array([True, False])
    kind = type(layer).__name__
    pair = [H[0][:2], H[1][:2]]  # two samples: a bare (batch,) mask would zip as two modalities
    cases = [([m], "a list of 1"), ([m, m, m], "a list of 3"), (m, "(ndarray|EagerTensor)")]
    for mask, got in cases:
        message = re.escape(
            f"{kind} 'fuse': mask must be a list of 2 masks, one (batch,) bool tensor or None per "
            "modality, got "
        )
        with pytest.raises(InvalidParameterError, match=message + got):
            layer(pair, mask=mask)  # Keras makes a tensor of an array
        with pytest.raises(InvalidParameterError, match=message + got):
            layer.compute_mask(pair, mask)
    assert layer.compute_mask(pair, (m, None)).numpy().tolist() == [True, True]


@pytest.mark.parametrize(
    "make",
    [
        lambda: GatedFusion(dtype="float64"),
        lambda: TensorFusion(dtype="float64"),
        lambda: LowRankFusion(4, rank=2, dtype="float64"),
    ],
    ids=["gated", "tensor", "lowrank"],
)
def test_fusion_gradients_match_float64_finite_differences(make):
    layer, rng = make(), np.random.default_rng(3)
    h = [rng.normal(size=(3, 2)), rng.normal(size=(3, 2))]
    r = rng.normal(size=tuple(layer(h).shape))  # L = Σ r ⊙ fusion(h): every output counts
    weights = [rng.normal(size=tuple(w.shape)) for w in layer.trainable_weights]

    def loss() -> float:
        for variable, value in zip(layer.trainable_weights, weights, strict=True):
            variable.assign(value)
        return float(tf.reduce_sum(layer(h) * r))

    loss()
    tensors = [tf.constant(x) for x in h]
    with tf.GradientTape() as tape:
        tape.watch(tensors)
        total = tf.reduce_sum(layer(tensors) * r)
    grads = tape.gradient(total, [*tensors, *layer.trainable_weights])
    for array, grad in zip([*h, *weights], grads, strict=True):
        assert relative_error(grad.numpy(), numerical_gradient(loss, array), norm=True) < 1e-8


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_two_weight_tensors_of_a_built_model_start_correlated(seed):
    model = build_multimodal_model(
        {"a": 4, "b": 4, "c": 4},
        {"y": (2, None), "z": (3, None)},
        encoder_units=4,
        fusion="lowrank",
        fusion_units=4,
        rank=1,
        seed=seed,
    )
    tensors = {w.path: w.numpy().ravel() for w in model.weights if np.ptp(w.numpy()) > 0}
    assert len(tensors) == 9  # 3 encoders, 3 factors, shared, 2 heads
    for (p, u), (q, v) in itertools.combinations(tensors.items(), 2):
        n = min(u.size, v.size)
        assert abs(np.corrcoef(u[:n], v[:n])[0, 1]) < 0.9, (p, q)


def test_seed_and_dtype_in_every_numpy_form():
    def build(seed, dtype):
        return build_multimodal_model(
            THREE, {"y": (1, None)}, encoder_units=2, seed=seed, dtype=dtype
        )

    a, b = build(np.int64(5), np.float64), build(5, "float64")
    assert {w.dtype for w in a.weights} == {"float64"}
    for va, vb in zip(a.weights, b.weights, strict=True):
        np.testing.assert_array_equal(va.numpy(), vb.numpy())


# --- the NumPy bridge ---------------------------------------------------------------------------


def test_half_squared_error_is_the_numpy_mse_convention():
    y, y_hat = np.zeros((2, 3)), np.array([[1.0, 2.0, 2.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(half_squared_error(y, y_hat).numpy(), [4.5, 0.5])


def test_numpy_and_tf_gradients_agree_on_the_article_network():
    data = article_data()
    diff = gradients_numpy_vs_tf(
        article_network(seed=3), article_model(dtype="float64"), data.inputs, data.targets
    )
    assert set(diff) == {
        "loss",
        *(f"{n}/{k}" for n in ("shared", "head_y1", "head_y2") for k in "Wb"),
    }
    assert max(diff.values()) < 1e-12, diff


def test_numpy_and_tf_gradients_agree_with_encoders_and_two_kinds_of_loss():
    net = MultimodalNet(
        THREE,
        {"y": 2, "label": 4},
        encoder_units={"a": 4, "b": 6, "c": 2},
        shared_units=8,
        head_activation=None,
        losses={"label": "xent", "y": "mse"},  # Keras MSE in both engines
        loss_weights={"y": 0.5, "label": 2.0},
        seed=2,
    )
    model = build_multimodal_model(
        THREE,
        {"y": (2, None), "label": (4, None)},
        encoder_units={"a": 4, "b": 6, "c": 2},
        shared_units=8,
        dtype="float64",
    )
    x = batch(THREE, n=16, dtype="float64")
    rng = np.random.default_rng(5)
    targets = {"y": rng.normal(size=(16, 2)), "label": rng.integers(0, 4, size=16)}
    diff = gradients_numpy_vs_tf(net, model, x, targets)
    assert {"encoder_a/W", "encoder_c/b", "head_label/W"} <= set(diff)
    assert max(diff.values()) < 1e-12, diff


def test_copy_numpy_weights_refuses_models_that_differ():
    with pytest.raises(
        ValueError,
        match=r"weights the NumPy network lacks: \[.fusion/gate_bias., .fusion/gate_kernel.\]",
    ):
        copy_numpy_weights(
            article_network(),
            build_multimodal_model(
                {"x1": 10, "x2": 10},
                {"y1": (10, "relu"), "y2": (10, "relu")},
                fusion="gated",
                dtype="float64",
            ),
        )
    wider = build_multimodal_model(
        {"x1": 10, "x2": 10}, {"y1": (10, "relu"), "y2": (10, "relu")}, shared_units=21
    )
    with pytest.raises(ValueError, match=r"'shared/W' has shape \(20, 20\) in the NumPy network"):
        copy_numpy_weights(article_network(), wider)
    with pytest.raises(ValueError, match=r"no weights for the NumPy parameters \['head_y2/W'"):
        copy_numpy_weights(
            article_network(),
            build_multimodal_model({"x1": 10, "x2": 10}, {"y1": (10, "relu")}),
        )


def test_copy_numpy_weights_and_tf_gradients_refuse_what_is_not_a_network():
    net, model = article_network(), article_model(dtype="float64")
    data = article_data(n_samples=4)
    cases = [
        (lambda: copy_numpy_weights(None, model), "np_net must be a mmtutorial.numpy_nn"),
        (lambda: copy_numpy_weights(model, model), "np_net must be a mmtutorial.numpy_nn"),
        (lambda: copy_numpy_weights(net, None), "tf_model must be a Keras model, got None"),
        (lambda: copy_numpy_weights(net, "model"), "tf_model must be a Keras model, got 'model'"),
        (
            lambda: tf_gradients(None, data.inputs, data.targets, {"y1": "mse"}),
            "tf_model must be a Keras model, got None",
        ),
        (
            lambda: gradients_numpy_vs_tf(None, model, data.inputs, data.targets),
            "np_net must be a mmtutorial.numpy_nn.MultimodalNet, got None",
        ),
    ]
    for call, message in cases:
        with pytest.raises(InvalidParameterError, match=re.escape(message)):
            call()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"inputs": {"x1": np.zeros((4, 10))}},
            "inputs must name the modalities ['x1', 'x2']: unknown none, missing ['x2']",
        ),
        (
            {"inputs": {"x1": np.zeros((4, 12)), "x2": np.zeros((4, 10))}},
            "inputs['x1'] has 12 features, the model expects 10",
        ),
        (
            {"inputs": {"x1": np.full((4, 10), np.nan), "x2": np.zeros((4, 10))}},
            "inputs['x1'] must be finite, got 40 NaN or inf value(s) of 40",
        ),
        (
            {"targets": {"y1": np.zeros((4, 10))}},
            "targets must hold every head with a loss: missing ['y2'], got ['y1']",
        ),
        (
            {"targets": {"y1": np.zeros((4, 10)), "y2": np.zeros((4, 10)), "y3": 0}},
            "targets must name the heads ['y1', 'y2']: unknown ['y3'], missing none",
        ),
        (  # Keras' mse would broadcast (batch, 1) against (batch, 10) without a word
            {"targets": {"y1": np.zeros((4, 10)), "y2": np.zeros((4, 1))}},
            "targets['y2'] must have shape (batch, 10) with batch 4, got (4, 1)",
        ),
        (
            {"targets": {"y1": np.zeros((4, 10)), "y2": np.zeros((3, 10))}},
            "targets['y2'] must have shape (batch, 10) with batch 4, got (3, 10)",
        ),
        (
            {"losses": {"y1": "mse", "z": "mse"}},
            "losses must name the heads ['y1', 'y2']: unknown ['z'], missing none",
        ),
        ({"losses": {}}, "losses must be a non-empty dict, got {}"),
        (
            {"loss_weights": {"y3": 2.0}},
            "loss_weights must name the heads ['y1', 'y2']: unknown ['y3'], missing none",
        ),
        (
            {"loss_weights": {"y1": -1.0}},
            "loss_weights['y1'] must be a finite number >= 0, got -1.0",
        ),
    ],
)
def test_tf_gradients_refuses_inputs_targets_and_losses_that_do_not_fit(change, message):
    data = article_data(n_samples=4)
    args = {
        "tf_model": article_model(dtype="float64"),
        "inputs": data.inputs,
        "targets": data.targets,
        "losses": {"y1": "mse", "y2": "mse"},
    }
    with pytest.raises(InvalidParameterError) as raised:
        tf_gradients(**(args | change))
    assert str(raised.value) == message


def test_tf_gradients_takes_labels_and_one_unit_targets_as_vectors():
    model = build_multimodal_model(
        {"a": 3}, {"y": (1, None), "label": (4, None)}, shared_units=5, dtype="float64"
    )
    x, rng = batch({"a": 3}, dtype="float64"), np.random.default_rng(0)
    labels, y = rng.integers(0, 4, size=6), rng.normal(size=6)
    losses = {"y": "mse", "label": "xent"}
    loss, _ = tf_gradients(model, x, {"y": y, "label": labels}, losses)
    again, _ = tf_gradients(model, x, {"y": y[:, None], "label": labels[:, None]}, losses)
    assert loss == again
    with pytest.raises(InvalidParameterError) as raised:  # float targets of a 4-unit head
        tf_gradients(model, x, {"y": y, "label": rng.normal(size=6)}, losses)
    assert str(raised.value) == "targets['label'] must have shape (batch, 4) with batch 6, got (6,)"


def test_nothing_outside_tf_nn_and_bench_imports_tensorflow():
    program = """
import importlib, pkgutil, sys

def walk(package):  # pkgutil.walk_packages would import tf_nn itself to look inside it
    for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        if info.name not in ("mmtutorial.tf_nn", "mmtutorial.bench"):
            module = importlib.import_module(info.name)
            if info.ispkg:
                walk(module)

walk(importlib.import_module("mmtutorial"))
print(sorted({"tensorflow", "keras"} & set(sys.modules)))
"""
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# --- bench -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"way": "graph"},
            "way must be one of ('package', 'package_xla', 'eager', 'fit_per_step', "
            "'tf1_session', 'numpy', 'floor_xla'), got 'graph'",
        ),
        ({"way": "tf1_session", "steps": 0}, "steps must be an int >= 1, got 0"),
        ({"way": "tf1_session", "steps": 2.0}, "steps must be an int >= 1, got 2.0"),
        ({"way": "numpy", "steps": 1, "repeats": 0}, "repeats must be an int >= 1, got 0"),
    ],
)
def test_time_way_refuses_bad_arguments_before_building_anything(kwargs, message):
    from mmtutorial.bench import time_way

    with pytest.raises(InvalidParameterError) as raised:
        time_way(**kwargs)
    assert str(raised.value) == message


def test_the_floor_is_the_same_maths_as_the_package_loop():
    """make bench's floor_xla (raw ops, Adam written out, one XLA loop) trains exactly as the
    package's Trainer does: in float64, the same losses and weights to float rounding."""
    from mmtutorial.bench import floor_program

    steps = 30
    losses, weights = floor_program("float64")(steps)
    model = article_model(seed=0, dtype="float64")
    trainer = Trainer(model, keras.optimizers.Adam(0.01), losses={"y1": "mse", "y2": "mse"})
    history = trainer.fit(article_data(), epochs=steps)
    last = [history.head_losses[h][-1] for h in ("y1", "y2")]
    np.testing.assert_allclose(losses.numpy(), last, rtol=1e-12)
    layers = [model.get_layer(n) for n in ("shared", "head_y1", "head_y2")]
    package = [w for layer in layers for w in (layer.kernel, layer.bias)]
    for floor, ours in zip(weights, package, strict=True):
        np.testing.assert_allclose(floor.numpy(), ours.numpy(), rtol=1e-10, atol=1e-13)
