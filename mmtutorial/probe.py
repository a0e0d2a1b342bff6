"""Probes of learned representations: a linear probe's accuracy and cross-modal retrieval top-1.

NumPy only. Chapter 5 probes each encoder after joint training and scores contrastive alignment;
chapter 6 scores cross-modal retrieval.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import InvalidParameterError, check_finite, check_number, check_seed

__all__ = ["linear_probe", "retrieval_top1"]


def _features(name: str, array: Any, like: tuple[str, int] | None = None) -> np.ndarray:
    """Return ``array`` as a finite float64 ``(batch, features)`` array with at least one row."""
    array = check_finite(name, array)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise InvalidParameterError(
            f"{name} must have shape (batch, features) with at least one row and one feature, "
            f"got {array.shape}"
        )
    if like is not None and array.shape[1] != like[1]:
        raise InvalidParameterError(
            f"{name} has {array.shape[1]} features, {like[0]} has {like[1]}"
        )
    return array.astype(np.float64)


def _labels(name: str, labels: Any, batch: int, n_classes: int | None = None) -> np.ndarray:
    """Return integer labels of shape ``(batch,)``, each ``>= 0`` (and ``< n_classes``)."""
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu" or labels.shape != (batch,):
        raise InvalidParameterError(
            f"{name} must be {batch} integer labels, shape ({batch},), got dtype {labels.dtype} "
            f"shape {labels.shape}"
        )
    high = labels.max(initial=0)
    if labels.min(initial=0) < 0 or (n_classes is not None and high >= n_classes):
        upper = "" if n_classes is None else f", below {n_classes} (the train labels' classes)"
        raise InvalidParameterError(
            f"{name} must be >= 0{upper}, got values in [{labels.min()}, {high}]"
        )
    return labels.astype(np.int64)


def _softmax_regression(
    x: np.ndarray, y: np.ndarray, k: int, l2: float, w: np.ndarray
) -> np.ndarray:
    """Minimise mean cross-entropy + ``l2/2 ‖W‖²`` (bias not penalised) by L-BFGS.

    ``x`` is ``(batch, features)`` with a column of ones appended, ``w`` the starting weights
    ``(features + 1, k)``. L-BFGS (Nocedal and Wright, algorithm 7.4) keeps the last 10 steps
    and gradient changes to approximate the inverse Hessian; a backtracking (Armijo) line search
    makes every step decrease the loss. Stops when ``‖∇‖ < 1e-6`` or after 1000 iterations.
    """
    one_hot, penalty = np.eye(k)[y], np.ones((x.shape[1], 1))
    penalty[-1] = 0.0  # the bias row

    def loss_and_gradient(w: np.ndarray) -> tuple[float, np.ndarray]:
        logits = x @ w
        logits -= logits.max(axis=1, keepdims=True)
        log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        loss = -np.mean(np.sum(one_hot * log_p, axis=1)) + 0.5 * l2 * np.sum(penalty * w**2)
        return loss, x.T @ (np.exp(log_p) - one_hot) / len(x) + l2 * penalty * w

    loss, grad = loss_and_gradient(w)
    history: list[tuple[np.ndarray, np.ndarray]] = []
    for _ in range(1000):
        if np.linalg.norm(grad) < 1e-6:
            break
        q, alphas = grad.copy(), []
        for s_, y_ in reversed(history):  # two-loop recursion: q = H⁻¹ grad
            alphas.append(np.sum(s_ * q) / np.sum(y_ * s_))
            q -= alphas[-1] * y_
        if history:
            s_, y_ = history[-1]
            q *= np.sum(s_ * y_) / np.sum(y_ * y_)
        else:
            q /= max(1.0, np.linalg.norm(grad))
        for (s_, y_), alpha in zip(history, reversed(alphas), strict=True):
            q += s_ * (alpha - np.sum(y_ * q) / np.sum(y_ * s_))
        slope, step = -np.sum(grad * q), 1.0
        while True:
            new_w = w - step * q
            new_loss, new_grad = loss_and_gradient(new_w)
            if new_loss <= loss + 1e-4 * step * slope or step < 1e-10:
                break
            step /= 2
        if np.sum((new_w - w) * (new_grad - grad)) > 1e-12:
            history = [*history[-9:], (new_w - w, new_grad - grad)]
        w, loss, grad = new_w, new_loss, new_grad
    return w


def linear_probe(
    train_features: Any,
    train_labels: Any,
    test_features: Any,
    test_labels: Any,
    *,
    l2: float = 1e-3,
    seed: int = 0,
) -> float:
    """Fit a softmax regression on frozen features; return its accuracy on the test features.

    A linear probe measures how much of the label a representation holds in a linearly readable
    form, without training the representation itself. Features are standardised with the train
    statistics (a feature constant on train is only centred); the regression minimises mean
    cross-entropy plus ``l2/2 ‖W‖²`` (a strictly convex problem) by full-batch L-BFGS, from
    small random weights drawn with ``seed``. The result is deterministic.

    Parameters
    ----------
    train_features, test_features : arrays, shape (batch, features)
        Representations, e.g. one encoder's outputs ``e_m`` (``tf_nn.encoder_outputs``).
    train_labels, test_labels : integer arrays, shape (batch,)
        Classes ``0 … K − 1``, ``K`` taken from the train labels.
    l2 : float
        Weight decay ``>= 0`` (on the weights, not the biases).
    seed : int
        Seed of the starting weights.

    Returns
    -------
    float
        The fraction of test samples classified correctly; chance is about ``1/K``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 3, size=300)
    >>> x = np.eye(3)[y] + 0.3 * rng.normal(size=(300, 3))   # the label, plus noise
    >>> linear_probe(x[:200], y[:200], x[200:], y[200:]) > 0.9
    True
    >>> linear_probe(x[:200], y[:200], x[200:, :2], y[200:])
    Traceback (most recent call last):
    ...
    mmtutorial._checks.InvalidParameterError: test_features has 2 features, train_features has 3
    """
    train = _features("train_features", train_features)
    test = _features("test_features", test_features, like=("train_features", train.shape[1]))
    y_train = _labels("train_labels", train_labels, len(train))
    k = int(y_train.max()) + 1
    if len(np.unique(y_train)) < 2:
        raise InvalidParameterError(
            f"train_labels must hold at least 2 classes to probe, got only class {k - 1}"
        )
    y_test = _labels("test_labels", test_labels, len(test), n_classes=k)
    l2 = check_number("l2", l2, low=0)
    rng = np.random.default_rng(check_seed(seed))
    mean, std = train.mean(axis=0), train.std(axis=0)
    std[std == 0] = 1.0

    def design(x: np.ndarray) -> np.ndarray:
        return np.hstack([(x - mean) / std, np.ones((len(x), 1))])

    start = 0.01 * rng.normal(size=(train.shape[1] + 1, k))
    w = _softmax_regression(design(train), y_train, k, l2, start)
    return float(np.mean(np.argmax(design(test) @ w, axis=1) == y_test))


def retrieval_top1(queries: Any, keys: Any, *, labels: Any = None) -> float:
    """Return the fraction of queries whose most similar key (cosine) is their own pair.

    Row ``n`` of ``queries`` and row ``n`` of ``keys`` are two views of one sample (say, the
    pixel and the Fourier embedding of one digit). Each query retrieves the key of highest cosine
    similarity among all ``N`` keys; a hit is when that is key ``n``. A random embedding scores
    about ``1/N`` (chance level), a perfect alignment 1. Ties go to the lowest index.

    With ``labels``, a hit is any key of the query's own class (class-level retrieval: "find a
    digit 3"), whose chance level is the share of the query's class, about ``1/K`` for ``K``
    balanced classes.

    Parameters
    ----------
    queries, keys : arrays, shape (batch, features)
        Paired embeddings, the same shape, no all-zero rows.
    labels : integer array, shape (batch,), optional
        Class of each pair; count a retrieved key of the same class as a hit.

    Returns
    -------
    float
        Top-1 retrieval accuracy in ``[0, 1]``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=(100, 8))
    >>> retrieval_top1(a, a + 0.1 * rng.normal(size=a.shape))
    1.0
    >>> retrieval_top1(a, rng.normal(size=a.shape)) < 0.1   # chance: 1/100
    True
    >>> retrieval_top1(a, a[::-1], labels=np.zeros(100, int))   # one class: every key a hit
    1.0
    """
    queries = _features("queries", queries)
    keys = _features("keys", keys, like=("queries", queries.shape[1]))
    if keys.shape != queries.shape:
        raise InvalidParameterError(
            f"queries and keys must be pairs of one shape, got {queries.shape} and {keys.shape}"
        )
    norms = [np.linalg.norm(a, axis=1, keepdims=True) for a in (queries, keys)]
    for name, norm in zip(("queries", "keys"), norms, strict=True):
        if not np.all(norm > 0):
            raise InvalidParameterError(
                f"{name} must have no all-zero rows (no direction to compare), got "
                f"{int(np.sum(norm == 0))}"
            )
    targets = np.arange(len(queries))
    if labels is not None:
        targets = _labels("labels", labels, len(queries))
    similarity = (queries / norms[0]) @ (keys / norms[1]).T
    found = np.argmax(similarity, axis=1)
    return float(np.mean((found if labels is None else targets[found]) == targets))
