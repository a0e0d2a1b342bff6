"""Loss functions with a hand-written backward: the article's half squared error, Keras's mean
squared error and softmax cross-entropy. Used by chapters 3a and 3b, and through
``MultimodalNet`` by chapters 1, 2 and 4.

All three average over the batch and take their arguments in Keras' order, ``forward(y_true,
y_pred)``. Their names in ``MultimodalNet(losses=...)``: ``"half_squared_error"``, ``"mse"`` (the
same meaning as in Keras) and ``"xent"``.
"""

from __future__ import annotations

import numpy as np

from .._checks import InvalidParameterError, check_labels, check_shape


def _check_pair(y_true: np.ndarray, y_pred: np.ndarray) -> None:
    y_pred = np.asarray(y_pred)
    if y_pred.ndim != 2 or y_pred.shape[0] == 0:
        raise InvalidParameterError(
            f"y_pred must have shape (batch, k) with batch >= 1, got {y_pred.shape}"
        )
    check_shape("y_true", y_true, y_pred.shape)


class HalfSquaredError:
    r"""Half squared error, as the article writes it, averaged over the batch.

    .. math:: L = \frac{1}{N}\sum_{n=1}^{N} \tfrac12 \lVert \hat{\mathbf y}_n - \mathbf y_n \rVert^2

    with prediction ``ŷ`` (``y_pred``) and target ``y`` (``y_true``), summed over the ``K``
    features of each sample and averaged over the ``N`` samples, so ``dL/dŷ = (ŷ - y) / N``.
    :class:`MeanSquaredError` (Keras ``"mse"``, the article's ``reduce_mean(square(ŷ - y))``)
    also divides by ``K`` and has no ½: it equals ``2 L / K``. The two have the same minimiser;
    their gradients differ by the constant factor ``2 / K``, which an SGD learning rate absorbs
    (Adam is almost invariant to it).

    Examples
    --------
    >>> loss = HalfSquaredError()
    >>> float(loss.forward(np.array([[0.0, 0.0]]), np.array([[1.0, 2.0]])))  # ½ (1 + 4)
    2.5
    >>> loss.backward()
    array([[1., 2.]])
    """

    def __init__(self) -> None:
        self._diff: np.ndarray | None = None

    def forward(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        """Return the loss for targets and predictions of the same shape ``(batch, k)``."""
        _check_pair(y_true, y_pred)
        self._diff = y_pred - y_true
        return float(0.5 * np.sum(self._diff**2) / y_pred.shape[0])

    def backward(self) -> np.ndarray:
        """Return ``dL/dy_pred``, shape ``(batch, K)``."""
        if self._diff is None:
            raise RuntimeError("HalfSquaredError: call forward before backward")
        return self._diff / self._diff.shape[0]  # dL/dŷ = (ŷ - y) / N


class MeanSquaredError:
    r"""Mean squared error as Keras computes it: the mean over the features and the batch.

    .. math:: L = \frac{1}{N K}\sum_{n=1}^{N} \lVert \hat{\mathbf y}_n - \mathbf y_n \rVert^2

    so ``dL/dŷ = 2 (ŷ - y) / (N K)``: ``2 / K`` times :class:`HalfSquaredError`.

    Examples
    --------
    >>> loss = MeanSquaredError()
    >>> float(loss.forward(np.zeros((1, 4)), np.array([[1.0, 2.0, 0.0, 0.0]])))  # (1 + 4) / 4
    1.25
    >>> loss.backward()  # 2 (ŷ - y) / 4
    array([[0.5, 1. , 0. , 0. ]])
    """

    def __init__(self) -> None:
        self._diff: np.ndarray | None = None

    def forward(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        """Return the loss for targets and predictions of the same shape ``(batch, k)``."""
        _check_pair(y_true, y_pred)
        self._diff = y_pred - y_true
        return float(np.mean(self._diff**2))

    def backward(self) -> np.ndarray:
        """Return ``dL/dy_pred``, shape ``(batch, K)``."""
        if self._diff is None:
            raise RuntimeError("MeanSquaredError: call forward before backward")
        return 2 * self._diff / self._diff.size  # dL/dŷ = 2 (ŷ - y) / (N K)


class SoftmaxCrossEntropy:
    r"""Softmax followed by cross-entropy with integer labels, averaged over the batch.

    .. math:: L = -\frac{1}{N}\sum_n \log \operatorname{softmax}(z_n)_{c_n}

    computed stably as ``logsumexp(z) - z_c`` after subtracting each row's maximum, so large
    logits never overflow. The gradient is the famous ``(softmax(z) - onehot(c)) / N``. It needs
    at least two classes: with one, the loss is 0 whatever the logits, and nothing is learnt.

    Examples
    --------
    >>> xent = SoftmaxCrossEntropy()
    >>> round(xent.forward(np.array([1]), np.array([[0.0, 0.0]])), 4)  # log 2
    0.6931
    >>> xent.backward()
    array([[ 0.5, -0.5]])
    """

    def __init__(self) -> None:
        self._probs: np.ndarray | None = None
        self._labels: np.ndarray | None = None

    def forward(self, labels: np.ndarray, logits: np.ndarray) -> float:
        """Return the mean cross-entropy of integer ``labels`` ``(batch,)`` and ``logits``
        ``(batch, classes)`` (Keras' order: targets first)."""
        logits = np.asarray(logits)
        if logits.ndim != 2 or logits.shape[0] == 0 or logits.shape[1] < 2:
            raise InvalidParameterError(
                "logits must have shape (batch, classes) with batch >= 1 and classes >= 2, "
                f"got {logits.shape}"
            )
        labels = check_labels("labels", labels, logits.shape[0], logits.shape[1])
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        log_probs = shifted - log_norm
        self._probs = np.exp(log_probs)
        self._labels = labels
        picked = log_probs[np.arange(len(labels)), labels]
        return float(-picked.mean())

    def backward(self) -> np.ndarray:
        """Return ``dL/dlogits``, shape ``(batch, classes)``."""
        if self._probs is None:  # set together with _labels
            raise RuntimeError("SoftmaxCrossEntropy: call forward before backward")
        grad = self._probs.copy()
        grad[np.arange(len(self._labels)), self._labels] -= 1.0
        return grad / len(self._labels)  # dL/dz = (softmax(z) - onehot(c)) / N
