"""Tests of mmtutorial.probe: the linear probe and cross-modal retrieval top-1."""

from __future__ import annotations

import numpy as np
import pytest

from mmtutorial._checks import InvalidParameterError
from mmtutorial.probe import linear_probe, retrieval_top1

RNG = np.random.default_rng(0)


def blobs(n: int, noise: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Four classes at the corners of a square in 2 of 5 features, the rest noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, size=n)
    centres = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
    x = np.hstack([centres[y], np.zeros((n, 3))]) + noise * rng.normal(size=(n, 5))
    return 10 * x + 3, y  # a shift and a scale the standardisation removes


def test_linear_probe_reads_separable_classes_and_not_noise():
    x, y = blobs(400, 0.05)
    assert linear_probe(x[:300], y[:300], x[300:], y[300:]) == 1.0
    noise = RNG.normal(size=(400, 5))  # no information: near chance, 1/4
    assert abs(linear_probe(noise[:300], y[:300], noise[300:], y[300:]) - 0.25) < 0.15


def test_linear_probe_is_deterministic_and_its_optimum_does_not_depend_on_the_seed():
    x, y = blobs(300, 0.6)
    scores = [linear_probe(x[:200], y[:200], x[200:], y[200:], seed=s) for s in (0, 0, 1, 7)]
    assert scores[0] == scores[1] == scores[2] == scores[3]
    assert 0.4 < scores[0] < 1.0  # overlapping classes: better than chance, not perfect


def test_linear_probe_weight_decay_shrinks_towards_the_majority_class():
    x, y = blobs(300, 0.6)
    y = np.where(np.arange(300) % 5 == 0, y, 0)  # class 0 is the large majority
    majority = np.mean(y[200:] == 0)
    assert linear_probe(x[:200], y[:200], x[200:], y[200:], l2=1e4) == pytest.approx(majority)


def test_linear_probe_standardises_constant_features_without_dividing_by_zero():
    x, y = blobs(200, 0.05)
    x[:, 4] = 7.0
    assert linear_probe(x[:150], y[:150], x[150:], y[150:]) == 1.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"train_features": np.zeros(10)}, r"train_features must have shape \(batch, features\)"),
        ({"test_features": np.zeros((5, 4))}, "test_features has 4 features, train_features has 5"),
        ({"train_labels": np.zeros(10)}, "train_labels must be 10 integer labels.*float64"),
        ({"train_labels": np.zeros(9, int)}, r"train_labels must be 10 .*shape \(9,\)"),
        ({"train_labels": -np.ones(10, int)}, r"train_labels must be >= 0, got values in \[-1"),
        ({"train_labels": np.zeros(10, int)}, "at least 2 classes to probe, got only class 0"),
        ({"test_labels": np.full(5, 4)}, r"test_labels must be >= 0, below 4 .*\[4, 4\]"),
        ({"train_features": np.full((10, 5), np.nan)}, "train_features must be finite"),
        ({"l2": -1.0}, "l2 must be a finite number >= 0, got -1.0"),
        ({"seed": 0.5}, "seed must be an int >= 0, got 0.5"),
    ],
)
def test_linear_probe_rejects_bad_shapes_and_labels(change, message):
    x, y = blobs(15, 0.1)
    args = {
        "train_features": x[:10],
        "train_labels": np.arange(10) % 4,
        "test_features": x[10:],
        "test_labels": y[10:],
    }
    args |= change
    with pytest.raises(InvalidParameterError, match=message):
        linear_probe(**args)


def test_retrieval_top1_counts_pairs_found_first():
    queries = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.1]])
    keys = np.array([[2.0, 0.1], [1.0, 0.9], [0.1, 1.0], [-1.0, 0.0]])
    # query 0 → key 0 (hit); 1 → key 2; 2 → key 1 (cosines 0.99 vs 0.78); 3 → key 3 (hit)
    assert retrieval_top1(queries, keys) == 0.5
    assert retrieval_top1(keys, keys * 5) == 1.0  # cosine: lengths do not matter
    assert retrieval_top1(keys, -keys) == 0.0
    # By class: query 1 finds key 2 and query 2 finds key 1, both of class 1.
    assert retrieval_top1(queries, keys, labels=np.array([0, 1, 1, 2])) == 1.0
    assert retrieval_top1(queries, keys, labels=np.array([0, 1, 2, 2])) == 0.5


def test_retrieval_top1_of_unrelated_embeddings_is_chance():
    scores = [
        retrieval_top1(RNG.normal(size=(50, 4)), RNG.normal(size=(50, 4))) for _ in range(200)
    ]
    assert np.mean(scores) == pytest.approx(1 / 50, abs=0.01)


def test_retrieval_top1_rejects_bad_inputs():
    with pytest.raises(InvalidParameterError, match=r"must be pairs of one shape, got \(3, 2\)"):
        retrieval_top1(np.ones((3, 2)), np.ones((4, 2)))
    with pytest.raises(InvalidParameterError, match="keys has 3 features, queries has 2"):
        retrieval_top1(np.ones((3, 2)), np.ones((3, 3)))
    with pytest.raises(InvalidParameterError, match="queries must have no all-zero rows"):
        retrieval_top1(np.zeros((3, 2)), np.ones((3, 2)))
    with pytest.raises(InvalidParameterError, match="queries must have shape"):
        retrieval_top1(np.ones(3), np.ones(3))
    with pytest.raises(InvalidParameterError, match=r"labels must be 3 integer labels, shape"):
        retrieval_top1(np.ones((3, 2)), np.ones((3, 2)), labels=np.zeros(2, int))
