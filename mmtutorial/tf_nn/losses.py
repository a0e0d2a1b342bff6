"""Loss names shared by both engines, resolved to Keras losses (chapter 4).

``"mse"`` is Keras's mean squared error (mean over features); ``"half_squared_error"`` is the
article's per-sample ``½‖y − ŷ‖²``; ``"xent"`` is softmax cross-entropy on logits, integer labels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mmtutorial._checks import InvalidParameterError

from ._tf import keras, tf

__all__ = ["get_loss", "half_squared_error"]


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
    other Keras loss name, or a Keras loss (object or function) itself.

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
    return resolved
