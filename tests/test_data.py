"""Tests of `mmtutorial.data`: determinism, shapes, splits, masks, the digits and bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmtutorial._checks import InvalidParameterError
from mmtutorial.data import (
    IMAGE_SHAPE,
    VIEW_DIMS,
    MultimodalData,
    article_data,
    batches,
    load_digits,
    make_synthetic,
    standardize,
    train_test_split,
)
from mmtutorial.seeds import stream


def row_ids(n: int, labels: np.ndarray | None = None) -> MultimodalData:
    """Data whose single feature is the row number, so splits can be traced back to rows."""
    targets = {"label": labels if labels is not None else np.zeros(n, dtype=np.int64)}
    return MultimodalData({"id": np.arange(n, dtype=np.float64)[:, None]}, targets)


def ids(data: MultimodalData) -> np.ndarray:
    return data.inputs["id"][:, 0].astype(np.int64)


def r_squared(features: list[np.ndarray], y: np.ndarray, n_train: int) -> float:
    """Held-out R^2 of a least-squares fit (with intercept) of ``y`` on the given features."""
    x = np.hstack([*features, np.ones((len(y), 1))])
    coef, *_ = np.linalg.lstsq(x[:n_train], y[:n_train], rcond=None)
    residual = y[n_train:] - x[n_train:] @ coef
    return float(1 - residual.var() / y[n_train:].var())


# --- the article's data and determinism ------------------------------------------------------


def test_article_data_is_the_articles_uniform_draws():
    data = article_data()
    rng = stream(0, "data")  # the data stream of seed 0 (mmtutorial.seeds)
    for name in ("x1", "x2", "y1", "y2"):
        array = data.inputs.get(name, data.targets.get(name))
        assert array.shape == (100, 10) and array.dtype == np.float64
        np.testing.assert_array_equal(array, rng.random((100, 10)))
    assert data.mask is None
    assert not np.array_equal(article_data(seed=1).inputs["x1"], data.inputs["x1"])


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), task=st.sampled_from(["regression", "classification"]))
def test_make_synthetic_same_seed_same_arrays_other_seed_different(seed, task):
    kwargs = {"n_samples": 50, "task": task, "missing_fraction": 0.3}
    first, again = make_synthetic(seed=seed, **kwargs), make_synthetic(seed=seed, **kwargs)
    other = make_synthetic(seed=seed + 1, **kwargs)
    for name in first.inputs:
        np.testing.assert_array_equal(first.inputs[name], again.inputs[name])
        np.testing.assert_array_equal(first.mask[name], again.mask[name])
        assert not np.array_equal(first.inputs[name], other.inputs[name])
    target = "y" if task == "regression" else "label"
    np.testing.assert_array_equal(first.targets[target], again.targets[target])


@settings(max_examples=25, deadline=None)
@given(
    n_samples=st.integers(1, 40),
    dims=st.dictionaries(st.sampled_from("abcde"), st.integers(1, 12), min_size=1),
    target_dim=st.integers(1, 4),
    n_classes=st.integers(2, 6),
    nonlinearity=st.sampled_from(["linear", "tanh"]),
)
def test_make_synthetic_shapes_and_dtypes(n_samples, dims, target_dim, n_classes, nonlinearity):
    common = {"n_samples": n_samples, "modality_dims": dims, "nonlinearity": nonlinearity}
    regression = make_synthetic(target_dim=target_dim, **common)
    assert regression.modalities == tuple(dims) and len(regression) == n_samples
    for name, dim in dims.items():
        assert regression.inputs[name].shape == (n_samples, dim)
        assert regression.inputs[name].dtype == np.float64
    assert regression.targets["y"].shape == (n_samples, target_dim)
    labels = make_synthetic(task="classification", n_classes=n_classes, **common).targets["label"]
    assert labels.shape == (n_samples,) and labels.dtype == np.int64
    assert labels.min() >= 0 and labels.max() < n_classes


@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_classification_classes_are_roughly_balanced(n_classes):
    labels = make_synthetic(4000, task="classification", n_classes=n_classes).targets["label"]
    shares = np.bincount(labels, minlength=n_classes) / len(labels)
    assert shares.min() > 0.5 / n_classes, shares


# --- the structure make_synthetic promises ---------------------------------------------------


def test_fusion_needs_both_private_factors():
    """Target = private factors of a and b only: each modality alone explains about half."""
    data = make_synthetic(4000, shared_weight=0.0, noise=0.05, target_dim=2, seed=3)
    a, b, y = data.inputs["a"], data.inputs["b"], data.targets["y"]
    only_a, only_b, both = (r_squared(f, y, 3000) for f in ([a], [b], [a, b]))
    assert 0.3 < only_a < 0.7 and 0.3 < only_b < 0.7, (only_a, only_b)
    assert both > 0.95 and both > max(only_a, only_b) + 0.25, (only_a, only_b, both)


def test_low_informativeness_makes_a_modality_weak():
    data = make_synthetic(4000, shared_weight=0.0, informativeness={"b": 0.2}, noise=0.05, seed=4)
    a, b, y = data.inputs["a"], data.inputs["b"], data.targets["y"]
    only_a, only_b = r_squared([a], y, 3000), r_squared([b], y, 3000)
    assert only_b < 0.1 and only_a > 0.85, (only_a, only_b)


def test_shared_factor_makes_modalities_redundant():
    data = make_synthetic(4000, informativeness={"a": 0.0, "b": 0.0}, noise=0.05, seed=5)
    a, b, y = data.inputs["a"], data.inputs["b"], data.targets["y"]
    assert min(r_squared([a], y, 3000), r_squared([b], y, 3000)) > 0.95


def test_missing_modalities_mask_semantics():
    p = 0.3
    data = make_synthetic(5000, modality_dims={"a": 4, "b": 3, "c": 2}, missing_fraction=p)
    present = np.stack([data.mask[m] for m in data.modalities], axis=1)
    assert present.any(axis=1).all(), "a sample lost every modality"
    # each modality is absent with chance p, a little less after rescuing all-missing rows
    assert np.all(np.abs((~present).mean(axis=0) - p) < 0.03), (~present).mean(axis=0)
    for m in data.modalities:
        assert np.all(data.inputs[m][~data.mask[m]] == 0)
        assert np.all(np.any(data.inputs[m][data.mask[m]] != 0, axis=1))
    assert make_synthetic(10).mask is None


# --- the digits ------------------------------------------------------------------------------


def test_load_digits_views_labels_and_pixels():
    digits = load_digits()
    assert digits.modalities == ("pix", "fou", "kar", "zer", "mor") and len(digits) == 2000
    for view, dim in VIEW_DIMS.items():
        assert digits.inputs[view].shape == (2000, dim)
        assert digits.inputs[view].dtype == np.float32
    labels = digits.targets["digit"]
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels, np.repeat(np.arange(10), 200))
    pix = digits.inputs["pix"]
    assert set(np.unique(pix)) <= set(range(7)) and pix.max() == 6

    # rows of 15 pixels: vertical neighbours are 15 apart, so the right reshape gives smooth strokes
    def vertical_jumps(shape: tuple[int, int]) -> float:
        return float(np.abs(np.diff(pix.reshape(-1, *shape), axis=1)).mean())

    assert vertical_jumps(IMAGE_SHAPE) < 0.8 * vertical_jumps((15, 16))


def test_load_digits_selects_views_in_order():
    digits = load_digits(views=("mor", "pix"), dtype=np.float64)
    assert digits.modalities == ("mor", "pix") and digits.inputs["mor"].dtype == np.float64
    assert load_digits(views="kar").modalities == ("kar",)


# --- splits and batches ----------------------------------------------------------------------


def test_stratified_split_keeps_proportions_disjoint_and_complete():
    labels = np.repeat(np.arange(4), [40, 80, 120, 160]).astype(np.int64)
    data = row_ids(len(labels), labels)
    train, test = train_test_split(data, test_fraction=0.25, seed=7, stratify="label")
    train_ids, test_ids = ids(train), ids(test)
    assert len(np.intersect1d(train_ids, test_ids)) == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([train_ids, test_ids])), np.arange(400))
    np.testing.assert_array_equal(np.bincount(test.targets["label"]), [10, 20, 30, 40])
    np.testing.assert_array_equal(labels[test_ids], test.targets["label"])
    again, _ = train_test_split(data, test_fraction=0.25, seed=7, stratify="label")
    np.testing.assert_array_equal(ids(again), train_ids)
    other, _ = train_test_split(data, test_fraction=0.25, seed=8, stratify="label")
    assert not np.array_equal(ids(other), train_ids)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 200), fraction=st.floats(0.01, 0.99), seed=st.integers(0, 1000))
def test_split_is_a_partition(n, fraction, seed):
    train, test = train_test_split(row_ids(n), test_fraction=fraction, seed=seed)
    assert len(train) >= 1 and len(test) >= 1
    np.testing.assert_array_equal(np.sort(np.concatenate([ids(train), ids(test)])), np.arange(n))


def test_split_of_digits_is_shuffled_and_stratified():
    train, test = train_test_split(load_digits(views=("mor",)), 0.2, seed=0, stratify="digit")
    assert np.all(np.bincount(test.targets["digit"]) == 40)
    assert not np.all(np.diff(train.targets["digit"]) >= 0), "train set is still ordered by class"


def test_batches_cover_every_sample_once_and_carry_the_mask():
    data = make_synthetic(10, missing_fraction=0.5)
    parts = list(batches(data, batch_size=4, seed=1))
    assert [len(b) for b in parts] == [4, 4, 2]
    stacked = np.concatenate([b.inputs["a"] for b in parts])
    assert sorted(map(tuple, stacked)) == sorted(map(tuple, data.inputs["a"]))
    for part in parts:
        for m in data.modalities:
            assert np.all(part.inputs[m][~part.mask[m]] == 0)
    assert [len(b) for b in batches(data, 4, drop_last=True)] == [4, 4]
    ordered = row_ids(5)
    assert np.concatenate([ids(b) for b in batches(ordered, 2, seed=None)]).tolist() == [
        0,
        1,
        2,
        3,
        4,
    ]


def test_subset_selects_rows_of_every_array():
    data = make_synthetic(8, task="classification", missing_fraction=0.4)
    index = np.array([5, 1])
    part = data.subset(index)
    np.testing.assert_array_equal(part.inputs["b"], data.inputs["b"][index])
    np.testing.assert_array_equal(part.targets["label"], data.targets["label"][index])
    np.testing.assert_array_equal(part.mask["a"], data.mask["a"][index])


# --- bad inputs: one case per kind, each naming the argument ---------------------------------

GOOD = {"a": np.zeros((4, 2))}
BAD_INPUTS = {
    "unknown view": (
        lambda: load_digits(views=("pix", "fac")),
        ValueError,
        r"views\[1\] must be one of \('pix', .*got 'fac'",
    ),
    "n_samples < 1": (lambda: make_synthetic(n_samples=0), ValueError, "n_samples"),
    "dim not positive": (
        lambda: make_synthetic(modality_dims={"a": 0}),
        ValueError,
        r"modality_dims\['a'\]",
    ),
    "dim not an int": (lambda: article_data(dim=2.5), TypeError, "dim"),
    "informativeness outside [0, 1]": (
        lambda: make_synthetic(informativeness={"a": 1.5}),
        ValueError,
        r"informativeness\['a'\].*1.5",
    ),
    "informativeness unknown modality": (
        lambda: make_synthetic(informativeness={"c": 0.5}),
        ValueError,
        r"informativeness.*'c'",
    ),
    "missing_fraction outside [0, 1)": (
        lambda: make_synthetic(missing_fraction=1.0),
        ValueError,
        r"missing_fraction must be a finite number >= 0 and < 1",
    ),
    "test_fraction outside (0, 1)": (
        lambda: train_test_split(article_data(), test_fraction=0.0),
        ValueError,
        r"test_fraction must be a finite number > 0 and < 1",
    ),
    "unknown task": (lambda: make_synthetic(task="ranking"), ValueError, "task.*'ranking'"),
    "n_classes < 2": (
        lambda: make_synthetic(task="classification", n_classes=1),
        ValueError,
        "n_classes",
    ),
    "batch sizes disagree": (
        lambda: MultimodalData({"a": np.zeros((4, 2)), "b": np.zeros((3, 2))}, {}),
        ValueError,
        r"'b' has batch size 3.*'a' has batch size 4",
    ),
    "NaN in inputs": (
        lambda: MultimodalData({"a": np.array([[0.0, np.nan]])}, {}),
        ValueError,
        "inputs.*'a'.*NaN",
    ),
    "inf in targets": (
        lambda: MultimodalData(GOOD, {"y": np.full(4, np.inf)}),
        ValueError,
        "targets.*'y'.*inf",
    ),
    "inputs not a dict": (lambda: MultimodalData([np.zeros((4, 2))], {}), TypeError, "inputs"),
    "mask of the wrong shape": (
        lambda: MultimodalData(GOOD, {}, {"a": np.ones(3, dtype=bool)}),
        ValueError,
        r"mask.*'a'.*\(4,\)",
    ),
    "stratify names no target": (
        lambda: train_test_split(article_data(), stratify="digit"),
        ValueError,
        "stratify.*'digit'",
    ),
    "batch_size < 1": (lambda: next(batches(article_data(), 0)), ValueError, "batch_size"),
    "seed not an int": (
        lambda: train_test_split(article_data(), seed=0.5),
        TypeError,
        "seed must be an int >= 0, got 0.5",
    ),
    "batches seed not an int": (
        lambda: next(batches(article_data(), 4, seed="0")),
        TypeError,
        "seed must be an int >= 0 or a numpy.random.Generator, got '0'",
    ),
    "digits dtype not float": (
        lambda: load_digits(views=("mor",), dtype="int64"),
        TypeError,
        "dtype must be float32 or float64",
    ),
}


@pytest.mark.parametrize("kind", list(BAD_INPUTS))
def test_bad_input_fails_naming_the_argument(kind):
    call, error, message = BAD_INPUTS[kind]
    with pytest.raises(InvalidParameterError, match=message) as raised:
        call()
    assert isinstance(raised.value, error)  # one exception, both a ValueError and a TypeError


def test_seeds_may_be_numpy_integers_or_a_generator():
    data = article_data(n_samples=7)
    orders = [
        [b.inputs["x1"][:, 0].tolist() for b in batches(data, 3, seed=seed)]
        for seed in (5, np.int64(5), stream(5, "batches"))
    ]
    assert orders[0] == orders[1] == orders[2]
    split = [train_test_split(data, seed=s)[1].inputs["x1"].tolist() for s in (2, np.uint16(2))]
    assert split[0] == split[1]


# --- standardize ------------------------------------------------------------------------------


def test_standardize_uses_training_statistics_only():
    train, test = train_test_split(load_digits(views=("fou", "mor")), seed=0, stratify="digit")
    train_z, test_z = standardize(train, test)
    for m, x in train_z.inputs.items():
        np.testing.assert_allclose(x.mean(axis=0), 0, atol=1e-5)
        np.testing.assert_allclose(x.std(axis=0), 1, atol=1e-4)
        mean, std = train.inputs[m].mean(axis=0), train.inputs[m].std(axis=0)
        np.testing.assert_array_equal(test_z.inputs[m], (test.inputs[m] - mean) / std)
    np.testing.assert_array_equal(test_z.targets["digit"], test.targets["digit"])


def test_standardize_only_centres_a_constant_feature():
    data = MultimodalData({"a": np.array([[1.0, 5.0], [3.0, 5.0]])}, {"y": np.zeros((2, 1))})
    (z,) = standardize(data)
    np.testing.assert_array_equal(z.inputs["a"], [[-1.0, 0.0], [1.0, 0.0]])


def test_standardize_rejects_sets_that_do_not_match_train():
    train = MultimodalData({"a": np.ones((3, 2))}, {"y": np.zeros((3, 1))})
    other = MultimodalData({"a": np.ones((3, 4))}, {"y": np.zeros((3, 1))})
    with pytest.raises(ValueError, match="modality 'a' has 4 features, train has 2 features"):
        standardize(train, other)
    with pytest.raises(TypeError, match=r"others\[0\] must be a MultimodalData"):
        standardize(train, {"a": np.ones((3, 2))})
