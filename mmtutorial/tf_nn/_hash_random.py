"""Counter-based random numbers for the training step: modality dropout and OGM-GE noise (ch. 5).

Each draw is a hash of a key (seed, step, stream) and the entry's index, so it needs no state.
"""

from __future__ import annotations

import numpy as np

from ._tf import tf


def _mix(x: tf.Tensor) -> tf.Tensor:
    """Wellons' 32-bit integer hash ("lowbias32"): each output bit depends on every input bit."""
    for shift, factor in ((16, 0x7FEB352D), (15, 0x846CA68B)):
        x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, shift)) * tf.constant(
            factor, x.dtype
        )
    return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16))


def uniform(shape: tf.Tensor, key: list) -> tf.Tensor:
    """Uniform ``[0, 1)`` numbers hashed from ``key`` (e.g. seed, step, stream) and their index.

    A counter-based generator in integer arithmetic: the XLA loop and the default loop draw the
    same numbers (TensorFlow's stateless Philox ops do not), and a resumed run, whose ``step``
    comes from the restored optimizer, draws what an uninterrupted one would.
    """
    k = tf.constant(0, tf.uint32)
    for part in key:
        k = _mix(tf.bitwise.bitwise_xor(k, tf.cast(part, tf.uint32)) + 0x9E3779B9)
    h = _mix(tf.bitwise.bitwise_xor(tf.cast(tf.range(tf.reduce_prod(shape)), tf.uint32), k))
    return tf.reshape(tf.cast(tf.bitwise.right_shift(h, 8), tf.float32) * 2.0**-24, shape)


def normal(shape: tf.Tensor, key: list, dtype: tf.DType) -> tf.Tensor:
    """Standard normal numbers from two :func:`uniform` draws (Box-Muller)."""
    u = tf.cast(uniform(tf.concat([[2], shape], 0), key), dtype)
    return tf.sqrt(-2 * tf.math.log(1 - u[0])) * tf.cos(2 * np.pi * u[1])
