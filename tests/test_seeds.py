"""mmtutorial.seeds: one seed, five independent streams, each with its own spawn key."""

from __future__ import annotations

import numpy as np
import pytest

from mmtutorial._checks import InvalidParameterError
from mmtutorial.seeds import STREAMS, seed_sequence, stream, stream_seed


def test_every_stream_has_its_own_spawn_key_and_numbers():
    keys = [seed_sequence(7, name).spawn_key for name in STREAMS]
    assert len(set(keys)) == len(STREAMS)
    assert keys == [child.spawn_key for child in np.random.SeedSequence(7).spawn(len(STREAMS))]
    draws = [stream(7, name).random(4) for name in STREAMS]
    assert len({d.tobytes() for d in draws}) == len(STREAMS)
    assert np.array_equal(stream(7, "data").random(4), draws[0])  # reproducible
    assert not np.array_equal(stream(8, "data").random(4), draws[0])  # seeded


def test_stream_seed_is_a_31_bit_int_of_its_stream():
    values = [stream_seed(seed, name) for seed in range(20) for name in STREAMS]
    assert all(isinstance(v, int) and 0 <= v < 2**31 for v in values)
    assert len(set(values)) == len(values)


@pytest.mark.parametrize("seed, name", [(-1, "data"), (1.5, "data"), (0, "weights")])
def test_bad_seeds_and_names_are_refused(seed, name):
    with pytest.raises(InvalidParameterError, match="seed|name"):
        stream(seed, name)


def test_the_article_network_is_no_image_of_the_article_data():
    """With one default_rng(seed) for both, shared/W was an affine image of x1's first rows."""
    from mmtutorial.data import article_data
    from mmtutorial.numpy_nn import article_network

    w = article_network(seed=0).parameters()["shared/W"].ravel()
    x = article_data(seed=0).inputs["x1"].ravel()[: w.size]
    design = np.column_stack([x, np.ones_like(x)])
    residual = w - design @ np.linalg.lstsq(design, w, rcond=None)[0]
    assert np.std(residual) > 0.5 * np.std(w)
