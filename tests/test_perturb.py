"""The perturbation switch (mmtutorial.perturb) that make nbval-portable and nbval-sweep use."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mmtutorial._checks import InvalidParameterError
from mmtutorial.perturb import SIZES, perturb, perturb_from_environment, record_run


def weights(dtype: str) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    w = rng.standard_normal((40, 30)).astype(dtype)
    return [w, np.zeros(30, dtype), np.array([[0.0, -1e-30, 5.0]], dtype)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_non_zero_weight_moves_by_the_stated_size_and_zeros_stay(dtype):
    before = weights(dtype)
    after = perturb(before, draw=0)
    size = SIZES[dtype]
    for old, new in zip(before, after, strict=True):
        assert new.dtype == old.dtype and new.shape == old.shape
        nonzero = old != 0
        np.testing.assert_array_equal(new[~nonzero], 0)
        change = np.abs(new[nonzero].astype(np.float64) / old[nonzero] - 1)
        # rounded to the dtype: within half an ulp of the exact (1 ± size) w
        eps = np.finfo(dtype).eps
        assert np.all(change >= size - eps) and np.all(change <= size + eps), (
            change.min(),
            change.max(),
        )
        assert np.all(new[nonzero] != old[nonzero])  # nothing absorbed by rounding


def test_directions_are_random_and_fixed_by_the_draw():
    before = weights("float64")[0]
    first, again, other = (perturb([before], draw=d)[0] for d in (0, 0, 1))
    np.testing.assert_array_equal(first, again)
    up = first > before
    assert 0.4 < up.mean() < 0.6  # both directions, about equally often
    assert np.mean(up != (other > before)) > 0.3  # another draw, other directions


def test_an_explicit_size_and_bad_arguments():
    w = np.array([2.0, -4.0])
    np.testing.assert_allclose(np.abs(perturb([w], draw=5, size=1e-6)[0] - w), [2e-6, 4e-6])
    for kwargs, message in (
        ({"draw": -1}, "draw must be an int >= 0"),
        ({"draw": 0, "size": 0.0}, "size must be in (0, 1e-3]"),
        ({"draw": 0, "size": 0.1}, "size must be in (0, 1e-3]"),
    ):
        with pytest.raises(InvalidParameterError, match=message.replace("(", r"\(")):
            perturb([w], **kwargs)
    with pytest.raises(InvalidParameterError, match="weights\\[0\\] must be float32 or float64"):
        perturb([np.arange(3)], draw=0)


def test_the_environment_switch(monkeypatch):
    w = weights("float64")
    monkeypatch.delenv("MMTUTORIAL_PERTURB", raising=False)
    assert perturb_from_environment(w) is None
    monkeypatch.setenv("MMTUTORIAL_PERTURB", "2:1e-10")
    expected = perturb(w, draw=2, size=1e-10)
    for got, want in zip(perturb_from_environment(w), expected, strict=True):
        np.testing.assert_array_equal(got, want)
    monkeypatch.setenv("MMTUTORIAL_PERTURB", "two")
    with pytest.raises(InvalidParameterError, match="MMTUTORIAL_PERTURB must be '<draw>'"):
        perturb_from_environment(w)


def test_the_numpy_builder_is_perturbed(monkeypatch):
    from mmtutorial.numpy_nn import MultimodalNet

    def build():
        return MultimodalNet({"a": 3, "b": 2}, {"y": 2}, encoder_units=4, seed=0).parameters()

    monkeypatch.delenv("MMTUTORIAL_PERTURB", raising=False)
    plain = build()
    monkeypatch.setenv("MMTUTORIAL_PERTURB", "1")
    moved = build()
    expected = perturb(list(plain.values()), draw=1)
    for (name, got), want in zip(moved.items(), expected, strict=True):
        np.testing.assert_array_equal(got, want, err_msg=name)
    assert not np.array_equal(moved["shared/W"], plain["shared/W"])
    np.testing.assert_array_equal(moved["shared/b"], 0)  # zero biases stay zero


def test_a_chaotic_reference_run_ends_elsewhere_and_the_run_is_logged(monkeypatch, tmp_path):
    pytest.importorskip("tensorflow")
    from mmtutorial.data import load_digits, standardize, train_test_split
    from mmtutorial.tf_nn import build_multimodal_model, make_dataset, train
    from mmtutorial.tf_nn._tf import keras

    views = ("fou", "zer", "mor")  # chapter 4's gated model, 5 epochs
    train_set, _ = standardize(*train_test_split(load_digits(views), seed=0, stratify="digit"))
    xent = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def final_loss():
        dims = {v: train_set.inputs[v].shape[1] for v in views}
        model = build_multimodal_model(
            dims, {"digit": (10, None)}, encoder_units=16, shared_units=32, fusion="gated",
            seed=0, dtype="float64",
        )  # fmt: skip
        data = make_dataset(train_set, batch_size=100, dtype="float64")
        optimizer = keras.optimizers.Adam(learning_rate=0.01)
        history = train(model, data, optimizer, losses={"digit": xent}, epochs=5)
        return model.get_weights(), history.loss[-1]

    log = tmp_path / "runs.jsonl"
    monkeypatch.setenv("MMTUTORIAL_RUN_LOG", str(log))
    monkeypatch.delenv("MMTUTORIAL_PERTURB", raising=False)
    weights_plain, plain = final_loss()
    monkeypatch.setenv("MMTUTORIAL_PERTURB", "0")
    weights_moved, moved = final_loss()
    assert moved != plain and abs(moved / plain - 1) < 1e-2
    assert not np.array_equal(weights_plain[0], weights_moved[0])
    runs = [json.loads(line) for line in log.read_text().splitlines()]
    assert runs == [
        {"engine": "tf_nn", "final_loss": plain},
        {"engine": "tf_nn", "final_loss": moved},
    ]


def test_record_run_writes_nothing_when_unset(monkeypatch, tmp_path):
    monkeypatch.delenv("MMTUTORIAL_RUN_LOG", raising=False)
    record_run("numpy_nn", [1.0])
    monkeypatch.setenv("MMTUTORIAL_RUN_LOG", str(tmp_path / "log"))
    record_run("numpy_nn", [])  # a run that recorded nothing
    assert not (tmp_path / "log").exists()
