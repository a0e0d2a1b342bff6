"""Loss names shared by both engines, resolved to Keras losses (chapter 4), and InfoNCE (5, 6).

``"mse"`` is Keras's mean squared error (mean over features); ``"half_squared_error"`` is the
article's per-sample ``½‖y − ŷ‖²``; ``"xent"`` is softmax cross-entropy on logits, integer labels;
:func:`info_nce` is the symmetric contrastive loss of paired embeddings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mmtutorial._checks import InvalidParameterError, check_number

from ._tf import keras, tf

__all__ = ["get_loss", "half_squared_error", "info_nce"]


@keras.saving.register_keras_serializable(package="mmtutorial")
def half_squared_error(y_true: Any, y_pred: Any) -> Any:
    """Per-sample ``½‖y − ŷ‖²`` summed over features: the article's ``L_i``, shape ``(batch,)``.

    Its batch mean is the NumPy network's ``"half_squared_error"`` loss. Keras ``"mse"`` is
    instead the mean over features without the ½, i.e. ``2 L / k`` for ``k`` features.

    Examples
    --------
    >>> import numpy as np
    >>> half_squared_error(np.zeros((1, 2)), np.array([[1.0, 2.0]])).numpy()
    array([2.5])
    """
    y_pred = tf.convert_to_tensor(y_pred)
    y_true = tf.cast(y_true, y_pred.dtype)
    return 0.5 * tf.reduce_sum(tf.square(y_pred - y_true), axis=-1)


def _xent(y_true: Any, y_pred: Any) -> Any:
    return keras.losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits=True)


_NAMED = {"half_squared_error": half_squared_error, "xent": _xent}


def get_loss(name: str, loss: Any) -> Callable:
    """Return the per-sample loss function ``loss`` names; ``name`` is the argument, for errors.

    ``loss`` is one of the shared names ``"mse"``, ``"half_squared_error"``, ``"xent"``, any
    other Keras loss name, or a Keras loss (object or function) itself. A Keras loss object that
    sums over the batch (``reduction="sum"``) is refused: the training step takes each head's
    batch mean, in one process and on a strategy's replicas alike.

    Examples
    --------
    >>> get_loss("losses['y']", "half_squared_error") is half_squared_error
    True
    >>> get_loss("losses['y']", "mean_squared_eror")
    Traceback (most recent call last):
    ...
    mmtutorial._checks.InvalidParameterError: losses['y'] must be 'mse', 'half_squared_error', \
'xent', a Keras loss name or a Keras loss, got 'mean_squared_eror'
    """
    if isinstance(loss, str) and loss in _NAMED:
        return _NAMED[loss]
    try:
        resolved = keras.losses.get(loss)
    except (ValueError, TypeError):
        resolved = None
    if not callable(resolved):
        raise InvalidParameterError(
            f"{name} must be 'mse', 'half_squared_error', 'xent', a Keras loss name or a Keras "
            f"loss, got {loss!r}"
        )
    if getattr(resolved, "reduction", None) == "sum":  # a Keras loss object's; functions have none
        raise InvalidParameterError(
            f"{name} must average over the batch (a head's loss is its batch mean), got a Keras "
            "loss with reduction='sum'; make it with the default reduction"
        )
    return resolved


def info_nce(emb_a: Any, emb_b: Any, temperature: float = 0.1) -> Any:
    r"""Symmetric InfoNCE (CLIP) loss of ``N`` paired embeddings, two ``(batch, features)`` arrays.

    Row ``u_n`` of ``emb_a`` and row ``v_n`` of ``emb_b`` are two modalities of one sample; every
    other row of the batch is a negative. With cosine similarities ``S_nk = cos(u_n, v_k) / τ``,
    the loss is cross-entropy with the pairs as the labels, in both directions
    (van den Oord et al., 2018; Radford et al., 2021):

    .. math:: L = \frac{1}{2N} \sum_{n=1}^{N} \left( -\log \frac{e^{S_{nn}}}{\sum_k e^{S_{nk}}}
              - \log \frac{e^{S_{nn}}}{\sum_k e^{S_{kn}}} \right)

    Swapping the arguments transposes ``S``, so ``info_nce(a, b) == info_nce(b, a)``. Chance
    level (all similarities equal) is ``log N``. The rows are L2-normalised here, so the
    embeddings need not be.

    Parameters
    ----------
    emb_a, emb_b : arrays or tensors, shape (batch, features)
        Paired embeddings, the same shape.
    temperature : float
        ``τ > 0``: smaller values sharpen the softmax over the batch.

    Returns
    -------
    tf.Tensor
        A scalar.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.eye(3)
    >>> round(float(info_nce(a, a, temperature=1.0)), 4)   # log(1 + 2 e^-1): orthogonal negatives
    0.5514
    >>> info_nce(a, a[:2])
    Traceback (most recent call last):
    ...
    mmtutorial._checks.InvalidParameterError: info_nce takes paired embeddings ... (2, 3)
    """
    temperature = check_number("temperature", temperature, low=0, low_open=True)
    emb_a = tf.convert_to_tensor(emb_a)
    emb_b = tf.cast(emb_b, emb_a.dtype)
    if emb_a.shape.rank != 2 or not emb_a.shape.is_compatible_with(emb_b.shape):
        raise InvalidParameterError(
            "info_nce takes paired embeddings of one shape (batch, features), got emb_a "
            f"{tuple(emb_a.shape)} and emb_b {tuple(emb_b.shape)}"
        )
    cosines = tf.matmul(
        tf.math.l2_normalize(emb_a, axis=-1), tf.math.l2_normalize(emb_b, axis=-1), transpose_b=True
    )
    # A Python number becomes a constant of the cosines' dtype directly: tf.cast would round it
    # through float32 first (0.1 → 0.10000000149) in a float64 model.
    tau = temperature if tf.is_tensor(temperature) else tf.constant(temperature, cosines.dtype)
    similarity = cosines / tf.cast(tau, cosines.dtype)
    pairs = tf.range(tf.shape(similarity)[0])
    a_to_b = tf.nn.sparse_softmax_cross_entropy_with_logits(pairs, similarity)
    b_to_a = tf.nn.sparse_softmax_cross_entropy_with_logits(pairs, tf.transpose(similarity))
    return 0.5 * (tf.reduce_mean(a_to_b) + tf.reduce_mean(b_to_a))
