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
    """Build a small two-modality network and train it for two steps, as ``numpy_nn`` spells it."""

    def optimizer(self):
        from mmtutorial.numpy_nn import Adam

        return Adam(0.01)

    def fit(self, samples, *, seed=0, loss="mse", optimizer=None, batch_size=None):
        from mmtutorial.numpy_nn import MultimodalNet, train

        net = MultimodalNet(
            DIMS, HEADS, encoder_units=4, shared_units=5, losses={"y": loss}, seed=seed
        )
        return train(net, samples, optimizer or self.optimizer(), steps=2, batch_size=batch_size)


class TFEngine:
    """The same network and run, as ``tf_nn`` spells it (float64, one epoch)."""

    def optimizer(self):
        from mmtutorial.tf_nn._tf import keras

        return keras.optimizers.Adam(0.01)

    def fit(self, samples, *, seed=0, loss="mse", optimizer=None, batch_size=None):
        from mmtutorial.tf_nn import build_multimodal_model, make_dataset, train

        heads = {h: (units, None) for h, units in HEADS.items()}
        model = build_multimodal_model(
            DIMS, heads, encoder_units=4, shared_units=5, seed=seed, dtype="float64"
        )
        dataset = make_dataset(samples, batch_size, dtype="float64")
        return train(model, dataset, optimizer or self.optimizer(), losses={"y": loss}, epochs=1)


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
