"""The engine contract (mmtutorial.contract), tested as one: the same call sent to both engines.

Every row marked ``same`` has a ``test_<key>`` here, parametrised over the two engines: the
same good call gives the same kind of result, the same bad call the same exception type with
the same argument named. Each engine is driven through a small adapter that spells the call the
way that engine spells it today (the rows marked ``decided`` will make the spellings meet).
"""

from __future__ import annotations

import numpy as np
import pytest

from mmtutorial import contract
from mmtutorial._checks import InvalidParameterError
from mmtutorial.data import MultimodalData

DIMS, HEADS = {"a": 3, "b": 2}, {"y": 2}
ENGINES = ("numpy_nn", "tf_nn")


def data(n: int = 8, width: dict | None = None, target_width: int = 2) -> MultimodalData:
    rng = np.random.default_rng(1)
    inputs = {m: rng.standard_normal((n, d)) for m, d in (width or DIMS).items()}
    return MultimodalData(inputs, {"y": rng.standard_normal((n, target_width))})


class NumpyEngine:
    """A small two-modality network and its training, as ``numpy_nn`` spells them."""

    name = "numpy_nn"

    def optimizer(self):
        from mmtutorial.numpy_nn import Adam

        return Adam(0.01)

    def sgd(self):
        from mmtutorial.numpy_nn import SGD

        return SGD(0.1)

    def build(self, seed=0, loss="mse"):
        from mmtutorial.numpy_nn import MultimodalNet

        self.net = MultimodalNet(
            DIMS, HEADS, encoder_units=4, shared_units=5, losses={"y": loss}, seed=seed,
            head_activation=None,  # linear heads, as tf_nn's {head: units}
        )  # fmt: skip
        return self.net

    def trainer(self, seed=0, loss="mse", optimizer=None, **options):
        from mmtutorial.numpy_nn import Trainer

        net = self.build(seed, loss)
        options.setdefault("losses", {"y": loss})
        return Trainer(net, optimizer or self.optimizer(), **options)

    def fit(self, samples, *, seed=0, loss="mse", optimizer=None, batch_size=None, **fit):
        trainer = self.trainer(seed, loss, optimizer)
        return trainer.fit(samples, epochs=fit.pop("epochs", 2), batch_size=batch_size, **fit)

    def weights(self):
        return [w.copy() for w in self.net.parameters().values()]

    def initial_weights(self, seed):
        return [w.copy() for w in self.build(seed).parameters().values()]

    def predict(self, inputs):
        return self.net.predict(inputs)

    def first_batch(self, samples, batch_size, seed):
        from mmtutorial.numpy_nn.loop import _entries

        return next(_entries(samples, batch_size, seed, "step"))[0]


class TFEngine:
    """The same network and training, as ``tf_nn`` spells them (float64)."""

    name = "tf_nn"

    def optimizer(self):
        from mmtutorial.tf_nn._tf import keras

        return keras.optimizers.Adam(0.01)

    def sgd(self):
        from mmtutorial.tf_nn._tf import keras

        return keras.optimizers.SGD(0.1)

    def build(self, seed=0, loss="mse"):
        from mmtutorial.tf_nn import build_multimodal_model

        self.model = build_multimodal_model(
            DIMS, HEADS, encoder_units=4, shared_units=5, seed=seed, dtype="float64"
        )
        return self.model

    def trainer(self, seed=0, loss="mse", optimizer=None, **options):
        from mmtutorial.tf_nn import Trainer

        model = self.build(seed, loss)
        return Trainer(model, optimizer or self.optimizer(), losses={"y": loss}, **options)

    def fit(self, samples, *, seed=0, loss="mse", optimizer=None, batch_size=None, **fit):
        trainer = self.trainer(seed, loss, optimizer)
        return trainer.fit(samples, epochs=fit.pop("epochs", 2), batch_size=batch_size, **fit)

    def weights(self):
        return self.model.get_weights()

    def initial_weights(self, seed):
        return self.build(seed).get_weights()

    def predict(self, inputs):
        return {h: y.numpy() for h, y in self.model(inputs).items()}

    def first_batch(self, samples, batch_size, seed):
        from mmtutorial.tf_nn import make_dataset

        inputs, targets = next(iter(make_dataset(samples, batch_size, shuffle_seed=seed)))
        return MultimodalData(
            {m: x.numpy() for m, x in inputs.items()}, {h: y.numpy() for h, y in targets.items()}
        )


@pytest.fixture(params=ENGINES)
def engine(request):
    if request.param == "tf_nn":
        pytest.importorskip("tensorflow")
        return TFEngine()
    return NumpyEngine()


def refuses(call, *named: str) -> str:
    """Assert that ``call()`` raises InvalidParameterError naming each of ``named``."""
    with pytest.raises(InvalidParameterError) as error:
        call()
    message = str(error.value)
    for name in named:
        assert name in message, (name, message)
    return message


# --- the contract itself ------------------------------------------------------------------------


def test_every_same_row_has_a_test_and_every_row_a_known_status():
    keys = [clause.key for clause in contract.ENGINE_CONTRACT]
    assert len(keys) == len(set(keys))
    same = {clause.key for clause in contract.ENGINE_CONTRACT if clause.status == "same"}
    untested = sorted(key for key in same if f"test_{key}" not in globals())
    assert untested == [], f"rows marked same without a test_<key> here: {untested}"
    assert all(clause.note for clause in contract.ENGINE_CONTRACT if clause.status != "same")
    with pytest.raises(ValueError, match="status must be one of"):
        contract.Clause("k", "c", "n", "t", "similar")


def test_the_api_page_shows_the_generated_table():
    for clause in contract.ENGINE_CONTRACT:
        assert f"* - {clause.concern}\n" in contract.__doc__
    assert contract.__doc__.count("**same** (tested)") == sum(
        clause.status == "same" for clause in contract.ENGINE_CONTRACT
    )


# --- the rows marked same -----------------------------------------------------------------------


def test_defaults(engine):
    if isinstance(engine, NumpyEngine):
        from mmtutorial.numpy_nn import MultimodalNet
        from mmtutorial.numpy_nn import article_network as article

        def weights(**kwargs):
            return list(MultimodalNet(DIMS, HEADS, **kwargs).parameters().values())
    else:
        from mmtutorial.tf_nn import article_model as article
        from mmtutorial.tf_nn import build_multimodal_model

        def weights(**kwargs):
            heads = {h: (units, None) for h, units in HEADS.items()}
            return build_multimodal_model(DIMS, heads, **kwargs).get_weights()

    default, seeded = weights(), weights(seed=0)
    assert all(w.dtype == np.float64 for w in default)
    assert all(np.array_equal(a, b) for a, b in zip(default, seeded, strict=True))
    assert not np.array_equal(default[0], weights(seed=1)[0])
    with pytest.raises(TypeError):
        article(0)  # seed and dtype are keyword-only


@pytest.mark.parametrize("loss", ["mse", "half_squared_error"])
def test_loss_names(engine, loss):
    history = engine.fit(data(), loss=loss)
    assert len(history.loss) >= 1 and np.isfinite(history.loss).all()
    assert list(history.head_losses) == ["y"]


def test_modality_width(engine):
    wrong = data(width={"a": 4, "b": 2})
    refuses(lambda: engine.fit(wrong), "'a'", "4", "3")


def test_target_width(engine):
    narrow = data(target_width=1)  # would broadcast against the 2-unit head
    refuses(lambda: engine.fit(narrow), "'y'", "2")


def test_non_finite_data(engine):
    samples = data()
    samples.inputs["b"][3, 1] = np.nan  # after MultimodalData's own check
    refuses(lambda: engine.fit(samples), "'b'")


def test_empty_data(engine):
    empty = data(n=0)
    refuses(lambda: engine.fit(empty), "data", "0")


def test_batch_size(engine):
    refuses(lambda: engine.fit(data(n=8), batch_size=9), "batch_size", "9")
    assert len(engine.fit(data(n=8), batch_size=8).loss) >= 1  # all, in one


def test_optimizer_reuse(engine):
    optimizer = engine.optimizer()
    engine.fit(data(), seed=0, optimizer=optimizer)
    refuses(lambda: engine.fit(data(), seed=1, optimizer=optimizer), "optimizer")


def test_non_finite_loss(engine):
    huge = data()
    huge.targets["y"][:] = 1e200  # finite, but its square is not: the first loss is infinite
    # SGD: Adam would turn a gradient whose square overflows into a zero step by itself
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(FloatingPointError):
        engine.fit(huge, seed=0, optimizer=engine.sgd())
    failed = engine.weights()
    engine.fit(data(), seed=0)  # the same network, trained: its first update changes weights
    trained = engine.weights()
    initial = type(engine)().initial_weights(seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(failed, initial, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(trained, initial, strict=True))


def test_shuffle(engine):
    samples = data(n=64)
    samples.inputs["a"][:, 0] = np.arange(64)  # row numbers, to read the order back
    rows = {seed: engine.first_batch(samples, 16, seed).inputs["a"][:, 0] for seed in (0, 1)}
    assert not np.array_equal(rows[0], np.arange(16))  # shuffled by default
    assert not np.array_equal(rows[0], rows[1])  # from the seed
    again = engine.first_batch(samples, 16, 0).inputs["a"][:, 0]
    assert np.array_equal(rows[0], again)
    if engine.name == "tf_nn":  # make_dataset's own default: shuffled from seed 0, as train's
        from mmtutorial.tf_nn import make_dataset

        default = next(iter(make_dataset(samples, 16)))[0]["a"].numpy()[:, 0]
        assert np.array_equal(default, rows[0])


def test_seeds(engine):
    """One seed, separate streams: the first weights are no affine image of the first data."""
    from mmtutorial.data import article_data

    if isinstance(engine, NumpyEngine):
        from mmtutorial.numpy_nn import article_network

        weights = list(article_network(seed=0).parameters().values())
    else:
        from mmtutorial.tf_nn import article_model

        weights = article_model(seed=0).get_weights()
    w = max(weights, key=np.size).ravel()  # the largest matrix
    x = article_data(seed=0).inputs["x1"].ravel()[: w.size]
    design = np.column_stack([x, np.ones_like(x)])
    residual = w - design @ np.linalg.lstsq(design, w, rcond=None)[0]
    assert np.std(residual) > 0.5 * np.std(w)  # with one shared stream, residual was 0


def masked(n: int = 8) -> MultimodalData:
    samples = data(n)
    present = np.ones(n, bool)
    present[::3] = False  # modality b absent in rows 0, 3, 6
    samples.inputs["b"][~present] = 0.0
    return MultimodalData(samples.inputs, samples.targets, {"a": np.ones(n, bool), "b": present})


@pytest.mark.parametrize("fusion", ["mean", "concat"])  # masked, or zero-filled
def test_masks_are_honoured_or_refused_by_name(engine, fusion):
    samples = masked()
    if isinstance(engine, NumpyEngine):
        refuses(lambda: engine.fit(samples), "data", "'b'", "mask", "3 of 8")
        return
    from mmtutorial.tf_nn import build_multimodal_model, make_dataset, train

    def update(values):
        inputs = {**samples.inputs, "b": samples.inputs["b"].copy()}
        inputs["b"][~samples.mask["b"]] = values
        model = build_multimodal_model(
            DIMS, {"y": 2}, encoder_units=4, shared_units=5, fusion=fusion, seed=0
        )
        dataset = make_dataset(MultimodalData(inputs, samples.targets, samples.mask))
        history = train(
            model, dataset, engine.optimizer(), losses={"y": "mse"}, epochs=2, eval_data=dataset
        )
        return model.get_weights(), history.eval_loss

    # What absent rows hold must not matter, in training and in evaluation.
    (zeros, eval_zeros), (junk, eval_junk) = update(0.0), update(123.0)
    assert all(np.array_equal(a, b) for a, b in zip(zeros, junk, strict=True))
    assert eval_zeros == eval_junk and len(eval_zeros) == 2


def test_standardize_uses_present_rows_only():
    from mmtutorial.data import standardize

    samples = masked(30)
    samples.inputs["b"][~samples.mask["b"]] = 0.0
    (z,) = standardize(samples)
    present = samples.mask["b"]
    assert np.allclose(z.inputs["b"][present].mean(axis=0), 0)
    assert np.allclose(z.inputs["b"][present].std(axis=0), 1)
    assert (z.inputs["b"][~present] == 0).all()


def test_the_dual_encoder_refuses_masked_data():
    pytest.importorskip("tensorflow")
    from mmtutorial.tf_nn import build_dual_encoder, train_contrastive

    samples = masked()
    model = build_dual_encoder(DIMS, embed_dim=2, seed=0)
    refuses(
        lambda: train_contrastive(model, samples, "adam", epochs=1, batch_size=4),
        "data",
        "'b'",
        "mask",
    )


def test_loss_order(engine):
    """Targets first, as Keras: a loss that is not symmetric tells the order."""
    y_true, logits = np.array([1, 0]), np.array([[0.0, 3.0], [1.0, 0.0]])
    if isinstance(engine, NumpyEngine):
        from mmtutorial.numpy_nn.losses import SoftmaxCrossEntropy

        value = SoftmaxCrossEntropy().forward(y_true, logits)
    else:
        from mmtutorial.tf_nn.losses import get_loss

        value = float(np.mean(get_loss("loss", "xent")(y_true, logits)))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = -np.mean(np.log(probs[[0, 1], y_true]))
    assert value == pytest.approx(expected)


def test_training(engine):
    """Trainer(...).fit(data, epochs=...) in both; train(...) is the same in one call."""
    samples = data(n=12)
    history = engine.fit(samples, batch_size=4, epochs=3)
    trained = engine.weights()
    assert history.unit == "epoch" and len(history) == 3
    module = __import__(f"mmtutorial.{engine.name}", fromlist=["train"])
    again = module.train(
        engine.build(seed=0), samples, engine.optimizer(), losses={"y": "mse"}, epochs=3,
        batch_size=4,
    )  # fmt: skip
    assert np.allclose(again.loss, history.loss, rtol=1e-12, atol=0)
    assert all(
        np.allclose(a, b, rtol=1e-12) for a, b in zip(trained, engine.weights(), strict=True)
    )


def test_history(engine, capsys):
    samples = data(n=12)
    history = engine.fit(samples, batch_size=4, epochs=2, eval_data=data(n=5), log_every=1)
    assert history.unit == "epoch" and len(history.loss) == len(history.eval_loss) == 2
    assert list(history.head_losses) == ["y"] and history.grad_norms == {}
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("  ")[0] for line in lines] == ["epoch 1/2", "epoch 2/2"]
    assert all(line.split("  ")[-1].startswith("eval ") for line in lines)


def test_grad_norms(engine):
    trainer = engine.trainer(grad_norms=True)
    history = trainer.fit(data(n=8), epochs=1)
    names = ["a", "per_parameter_a", "output_a", "b", "per_parameter_b", "output_b"]
    assert sorted(history.grad_norms) == sorted(names)
    a = history.grad_norms
    assert np.isclose(a["per_parameter_a"][0], a["a"][0] / np.sqrt(3 * 4 + 4))


def test_grad_norms_agree_between_the_engines():
    """The same weights and the same full batch give the same norms, to rounding."""
    pytest.importorskip("tensorflow")
    from mmtutorial.numpy_nn import SGD
    from mmtutorial.numpy_nn import Trainer as NumpyTrainer
    from mmtutorial.tf_nn import Trainer as TFTrainer
    from mmtutorial.tf_nn import copy_numpy_weights
    from mmtutorial.tf_nn._tf import keras

    numpy_engine, tf_engine = NumpyEngine(), TFEngine()
    net, model = numpy_engine.build(), tf_engine.build()
    copy_numpy_weights(net, model)
    samples = data(n=8)
    ours = NumpyTrainer(net, SGD(1e-9), grad_norms=True).fit(samples, epochs=1)
    sgd = keras.optimizers.SGD(1e-9)  # the norms are taken before the update anyway
    theirs = TFTrainer(model, sgd, losses={"y": "mse"}, grad_norms=True).fit(samples, epochs=1)
    for key, values in ours.grad_norms.items():
        assert np.isclose(values[0], theirs.grad_norms[key][0], rtol=1e-10), key


def test_predict(engine):
    engine.build()
    inputs = data(n=4).inputs
    out = engine.predict(inputs)["y"]
    assert out.shape == (4, 2) and not np.allclose(out.sum(axis=1), 1)  # no softmax applied


def test_one_engine_options(engine):
    """An option only the other engine has is accepted by the signature and refused by name."""
    if engine.name == "numpy_nn":
        refuses(lambda: engine.trainer(strategy="mirrored"), "strategy", "tf_nn")
        refuses(lambda: engine.trainer(modality_dropout=0.5), "modality_dropout")
        refuses(lambda: engine.fit(data(), checkpoint_dir="/tmp/x"), "checkpoint_dir")
        refuses(lambda: engine.trainer(losses={"y": "xent"}), "losses")
    else:
        from mmtutorial.numpy_nn import EarlyStopping

        refuses(lambda: engine.fit(data(), steps=3), "steps")
        refuses(lambda: engine.fit(data(), early_stopping=EarlyStopping(3)), "early_stopping")
    engine.trainer(strategy=None, jit_compile=False)  # defaults pass in both
