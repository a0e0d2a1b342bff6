"""The bridge between the NumPy network of chapter 3b and its Keras twin in chapter 4.

Copies :class:`~mmtutorial.numpy_nn.MultimodalNet` weights into a Keras model with the same layer
names and computes TensorFlow's gradients under the NumPy losses, so the two can be compared.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mmtutorial._checks import (
    InvalidParameterError,
    check_finite,
    check_inputs,
    check_instance,
    check_mapping,
    check_number,
)
from mmtutorial.numpy_nn import MultimodalNet

from ._data_checks import target_fits
from ._tf import keras, tf
from ._train_checks import check_model
from .losses import get_loss

__all__ = ["copy_numpy_weights", "gradients_numpy_vs_tf", "tf_gradients"]

_NUMPY_NAMES = {"kernel": "W", "bias": "b"}


def _numpy_name(variable: Any) -> str:
    layer, _, kind = variable.path.rpartition("/")
    return f"{layer}/{_NUMPY_NAMES.get(kind, kind)}"


def _check_targets(
    targets: Any, tf_model: keras.Model, heads: Mapping[str, Any], batch: int
) -> dict[str, np.ndarray]:
    """Return the targets of ``heads`` as arrays that fit the model's outputs without broadcasting.

    A target is ``(batch, units)``; integer labels may also be ``(batch,)`` or ``(batch, 1)``,
    and so may any target of a one-unit head (as :func:`~mmtutorial.tf_nn.train` takes them).
    """
    targets = check_mapping("targets", targets, keys=tf_model.output, what="heads", exact=False)
    missing = [h for h in heads if h not in targets]
    if missing:
        raise InvalidParameterError(
            f"targets must hold every head with a loss: missing {missing}, got {sorted(targets)}"
        )
    arrays = {}
    for h in heads:
        y = check_finite(f"targets[{h!r}]", targets[h])
        units = int(tf_model.output[h].shape[-1])
        if len(y) != batch or not target_fits(y.shape[1:], y.dtype.kind in "iu", units):
            column_ok = y.dtype.kind in "iu" or units == 1  # labels, or one unit: (batch,) too
            expected = f"(batch, {units})" + (" or (batch,)" if column_ok else "")
            raise InvalidParameterError(
                f"targets[{h!r}] must have shape {expected} with batch {batch}, got {y.shape}"
            )
        arrays[h] = y
    return arrays


def copy_numpy_weights(np_net: MultimodalNet, tf_model: keras.Model) -> None:
    """Copy each NumPy parameter ``"<layer>/W"``, ``"<layer>/b"`` into the Keras layer ``<layer>``.

    Parameters
    ----------
    np_net : mmtutorial.numpy_nn.MultimodalNet
        Source of the weights (``np_net.parameters()``).
    tf_model : keras.Model
        Target with Dense layers of the same names and shapes (e.g. from
        :func:`~mmtutorial.tf_nn.build_multimodal_model`) and no other trainable weights.

    Raises
    ------
    InvalidParameterError
        If ``np_net`` or ``tf_model`` is of the wrong type, a layer is missing, a shape differs,
        or the Keras model has weights the NumPy network lacks (say, a gated fusion), since the
        two would then compute different things.

    Examples
    --------
    >>> from mmtutorial.numpy_nn import article_network
    >>> from mmtutorial.tf_nn import article_model
    >>> net, model = article_network(seed=0), article_model(dtype="float64")
    >>> copy_numpy_weights(net, model)
    >>> bool(np.array_equal(model.get_layer("shared").kernel.numpy(), net.parameters()["shared/W"]))
    True
    """
    check_instance("np_net", np_net, MultimodalNet, "a mmtutorial.numpy_nn.MultimodalNet")
    check_instance("tf_model", tf_model, keras.Model, "a Keras model")
    variables = {_numpy_name(v): v for v in tf_model.trainable_variables}
    params = np_net.parameters()
    missing = sorted(set(params) - set(variables))
    if missing:
        raise InvalidParameterError(f"tf_model has no weights for the NumPy parameters {missing}")
    extra = sorted(set(variables) - set(params))
    if extra:
        raise InvalidParameterError(f"tf_model has weights the NumPy network lacks: {extra}")
    for name, value in params.items():
        if tuple(variables[name].shape) != value.shape:
            raise InvalidParameterError(
                f"parameter {name!r} has shape {value.shape} in the NumPy network, but "
                f"{tuple(variables[name].shape)} in tf_model"
            )
        variables[name].assign(value.astype(variables[name].dtype))


def tf_gradients(
    tf_model: keras.Model,
    inputs: Mapping[str, np.ndarray],
    targets: Mapping[str, np.ndarray],
    losses: Mapping[str, str],
    loss_weights: Mapping[str, float] | None = None,
) -> tuple[float, dict[str, np.ndarray]]:
    """Return ``(L, {"<layer>/W" | "<layer>/b": dL/dθ})`` computed by ``tf.GradientTape``.

    ``L = Σ_i λ_i L_i`` with, for head ``i`` named ``h``, ``λ_i = loss_weights[h]`` and ``L_i``
    the batch mean of the per-sample loss that ``losses[h]`` names, in both engines' vocabulary
    (see :func:`~mmtutorial.tf_nn.get_loss`):
    ``"mse"`` (Keras's), ``"half_squared_error"`` (the article's ``½‖y − ŷ‖²``) or ``"xent"``
    (softmax cross-entropy on logits with integer labels).

    Raises
    ------
    InvalidParameterError
        If ``tf_model`` is not a Keras model from a dict of modalities to a dict of heads,
        ``losses`` or ``loss_weights`` name heads it lacks, ``inputs`` do not hold its
        modalities with its feature counts, or ``targets`` lack a head with a loss or have a
        shape its output would broadcast against.

    Examples
    --------
    >>> from mmtutorial.data import article_data
    >>> from mmtutorial.tf_nn import article_model
    >>> data = article_data()
    >>> loss, grads = tf_gradients(article_model(seed=0), data.inputs, data.targets,
    ...                            {"y1": "mse", "y2": "mse"})
    >>> grads["shared/W"].shape
    (20, 20)
    """
    check_model(tf_model, "tf_model")
    losses = check_mapping("losses", losses, keys=tf_model.output, what="heads", exact=False)
    functions = {h: get_loss(f"losses[{h!r}]", kind) for h, kind in losses.items()}
    weights = check_mapping(
        "loss_weights", loss_weights or {}, keys=losses, what="heads", exact=False, allow_empty=True
    )
    weights = {h: check_number(f"loss_weights[{h!r}]", weights.get(h, 1.0), low=0) for h in losses}
    dtype = tf_model.trainable_variables[0].dtype
    dims = {m: int(tf_model.input[m].shape[-1]) for m in tf_model.input}
    x = {
        m: tf.convert_to_tensor(v, dtype)
        for m, v in check_inputs("inputs", inputs, dims, np.dtype(dtype)).items()
    }
    y = _check_targets(targets, tf_model, losses, batch=int(next(iter(x.values())).shape[0]))
    with tf.GradientTape() as tape:
        y_hat = tf_model(x, training=True)
        total = tf.add_n(
            [weights[h] * tf.reduce_mean(fn(y[h], y_hat[h])) for h, fn in functions.items()]
        )
    grads = tape.gradient(total, tf_model.trainable_variables)
    named = {
        _numpy_name(v): g.numpy() for v, g in zip(tf_model.trainable_variables, grads, strict=True)
    }
    return float(total), named


def gradients_numpy_vs_tf(
    np_net: MultimodalNet,
    tf_model: keras.Model,
    inputs: Mapping[str, np.ndarray],
    targets: Mapping[str, np.ndarray],
) -> dict[str, float]:
    """Copy ``np_net``'s weights into ``tf_model``, then compare the two networks' gradients.

    Both use ``np_net``'s losses and loss weights (see :func:`tf_gradients`).

    Returns
    -------
    dict[str, float]
        ``max |dL/dθ_numpy − dL/dθ_tf|`` per parameter, plus ``"loss"``: ``|L_numpy − L_tf|``.

    Examples
    --------
    >>> from mmtutorial.data import article_data
    >>> from mmtutorial.numpy_nn import article_network
    >>> from mmtutorial.tf_nn import article_model
    >>> data = article_data()
    >>> diff = gradients_numpy_vs_tf(article_network(seed=0), article_model(dtype="float64"),
    ...                              data.inputs, data.targets)
    >>> max(diff.values()) < 1e-12
    True
    """
    copy_numpy_weights(np_net, tf_model)
    np_loss, _ = np_net.loss(inputs, targets)
    np_net.backward()
    tf_loss, tf_grads = tf_gradients(tf_model, inputs, targets, np_net.losses, np_net.loss_weights)
    diff = {
        name: float(np.max(np.abs(grad - tf_grads[name])))
        for name, grad in np_net.gradients().items()
    }
    diff["loss"] = abs(np_loss - tf_loss)
    return diff
