"""One seed, five independent streams: data, split, initial weights, batch order, training noise.

Every seeded function in the package draws from the stream of its job, never from
``default_rng(seed)`` itself. Each stream is ``numpy.random.SeedSequence(seed, spawn_key=(i,))``
with its own ``i``, as ``SeedSequence(seed).spawn(5)[i]`` would give. So ``article_data(seed=0)``
and ``article_network(seed=0)`` no longer read the same random numbers (with one shared stream,
the network's first weight matrix was an affine image of the data's first rows), and a seed
sweep that changes the initialisation can keep the data (pass a different seed to each).
"""

from __future__ import annotations

import numpy as np

from ._checks import check_choice, check_seed

__all__ = ["STREAMS", "seed_sequence", "stream", "stream_seed"]

STREAMS = ("data", "split", "init", "batches", "noise")
"""The jobs a seed drives; a stream's spawn key is its position here."""


def seed_sequence(seed: int, name: str) -> np.random.SeedSequence:
    """Return the ``SeedSequence`` of stream ``name`` (one of :data:`STREAMS`) of ``seed``.

    Examples
    --------
    >>> seed_sequence(0, "init").spawn_key
    (2,)
    >>> seed_sequence(0, "weights")
    Traceback (most recent call last):
    ...
    mmtutorial._checks.InvalidParameterError: name must be one of ('data', 'split', 'init', \
'batches', 'noise'), got 'weights'
    """
    seed = check_seed(seed)
    check_choice("name", name, STREAMS)
    return np.random.SeedSequence(seed, spawn_key=(STREAMS.index(name),))


def stream(seed: int, name: str) -> np.random.Generator:
    """Return a generator on stream ``name`` of ``seed`` (see :func:`seed_sequence`).

    Examples
    --------
    >>> a, b = stream(0, "data").random(3), stream(0, "init").random(3)
    >>> bool((a == stream(0, "data").random(3)).all()), bool((a == b).any())
    (True, False)
    """
    return np.random.default_rng(seed_sequence(seed, name))


def stream_seed(seed: int, name: str) -> int:
    """Return an integer in ``[0, 2**31)`` from stream ``name`` of ``seed``: a seed for
    TensorFlow or Keras, which take ints rather than generators.

    Examples
    --------
    >>> stream_seed(0, "batches") == stream_seed(0, "batches") != stream_seed(0, "noise")
    True
    """
    return int(seed_sequence(seed, name).generate_state(1)[0] >> 1)
