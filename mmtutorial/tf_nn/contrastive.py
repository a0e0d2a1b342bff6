"""Contrastive alignment (CLIP-style): two modalities embedded into one space by InfoNCE.

Chapter 5 aligns two views of the digits and scores cross-view retrieval; chapter 6 retrieves
one view from the other. :func:`build_dual_encoder`, :func:`train_contrastive`, :func:`embed`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mmtutorial._checks import (
    InvalidParameterError,
    check_dims,
    check_dtype,
    check_inputs,
    check_int,
    check_number,
    check_seed,
)
from mmtutorial.data import MultimodalData
from mmtutorial.history import History, progress_line
from mmtutorial.perturb import record_run
from mmtutorial.seeds import stream

from ._builder_args import check_name, initializers, perturbed
from ._tf import keras, tf
from ._train_checks import check_optimizer
from .losses import info_nce
from .model_parts import encoder_positions

__all__ = ["build_dual_encoder", "embed", "train_contrastive"]


def build_dual_encoder(
    dims: Mapping[str, int],
    embed_dim: int = 16,
    hidden_units: int = 64,
    *,
    seed: int | None = 0,
    dtype: str | np.dtype = "float64",
    name: str = "dual_encoder",
) -> keras.Model:
    """Build one encoder per modality, each ending in an L2-normalised embedding of one width.

    Each modality ``m`` goes ``x_m → Dense(hidden_units, relu)`` (layer ``encoder_<m>``)
    ``→ Dense(embed_dim)`` (``projection_<m>``) ``→ x / ‖x‖`` (``embedding_<m>``). The two
    towers share nothing: only the loss (:func:`train_contrastive`) ties them together.

    Parameters
    ----------
    dims : dict[str, int]
        Exactly two modalities and their widths.
    embed_dim : int
        Width of the shared embedding space.
    hidden_units : int
        Width of each encoder.
    seed : int or None
        Seeds the Glorot-uniform initialisers, each layer on its own stream; ``None``: unseeded.
    dtype : float32 or float64
        Dtype of the inputs and the weights (float64 by default, see
        :func:`~mmtutorial.tf_nn.build_multimodal_model`).
    name : str
        The model's name.

    Returns
    -------
    keras.Model
        Takes ``{m: (batch, d_m)}``, returns ``{m: (batch, embed_dim)}``, each row of unit norm.

    Examples
    --------
    >>> import numpy as np
    >>> model = build_dual_encoder({"pix": 240, "fou": 76}, embed_dim=8, seed=0)
    >>> out = model({"pix": np.ones((3, 240)), "fou": np.ones((3, 76))})
    >>> out["fou"].shape, np.allclose(np.linalg.norm(out["pix"], axis=1), 1.0)
    (TensorShape([3, 8]), True)
    """
    dims = check_dims("dims", dims)
    if len(dims) != 2:
        raise InvalidParameterError(
            f"dims must name exactly two modalities, got {len(dims)}: {sorted(dims)}"
        )
    for m in dims:
        check_name(m, "modality")
    embed_dim = check_int("embed_dim", embed_dim, low=1)
    hidden_units = check_int("hidden_units", hidden_units, low=1)
    dtype = check_dtype("dtype", dtype).name
    init = iter(initializers(check_seed(seed, allow_none=True), 2 * len(dims))).__next__
    inputs = {m: keras.Input(shape=(d,), name=m, dtype=dtype) for m, d in dims.items()}
    outputs = {}
    for m, x in inputs.items():
        hidden = keras.layers.Dense(
            hidden_units, "relu", kernel_initializer=init(), dtype=dtype, name=f"encoder_{m}"
        )(x)
        projected = keras.layers.Dense(
            embed_dim, kernel_initializer=init(), dtype=dtype, name=f"projection_{m}"
        )(hidden)
        outputs[m] = keras.layers.UnitNormalization(dtype=dtype, name=f"embedding_{m}")(projected)
    return perturbed(keras.Model(inputs=inputs, outputs=outputs, name=name))


def _check_dual_encoder(model: Any) -> list[str]:
    """Return the two modalities of a model from :func:`build_dual_encoder` (or alike)."""
    if not isinstance(model, keras.Model) or not isinstance(model.input, dict):
        raise InvalidParameterError(
            f"model must be a Keras model from build_dual_encoder, got {type(model).__name__}"
        )
    modalities, outputs = list(model.input), model.output
    outputs = sorted(outputs) if isinstance(outputs, dict) else type(outputs).__name__
    if len(modalities) != 2 or outputs != sorted(modalities):
        raise InvalidParameterError(
            "model must take two modalities and return one embedding per modality, got inputs "
            f"{modalities} and outputs {outputs}"
        )
    return modalities


def _inputs(model: keras.Model, data: Any, name: str) -> dict[str, np.ndarray]:
    """Return the model's modalities from a MultimodalData or a dict, checked and cast."""
    if isinstance(data, MultimodalData):
        data.refuse_absent(name, "the dual encoder")
    arrays = getattr(data, "inputs", data)
    if not isinstance(arrays, Mapping):
        raise InvalidParameterError(
            f"{name} must be a MultimodalData or a dict of modalities, got {type(data).__name__}"
        )
    arrays = {m: arrays[m] for m in model.input if m in arrays}
    dims = {m: int(model.input[m].shape[-1]) for m in model.input}
    return check_inputs(name, arrays, dims, np.dtype(model.input[next(iter(dims))].dtype))


def embed(model: keras.Model, inputs: Any) -> dict[str, np.ndarray]:
    """Return each modality's embedding, ``{m: (batch, embed_dim)}`` NumPy arrays.

    ``inputs`` is a ``MultimodalData`` or a dict of ``(batch, d_m)`` arrays holding (at least)
    the model's two modalities.

    Examples
    --------
    >>> import numpy as np
    >>> model = build_dual_encoder({"a": 3, "b": 2}, embed_dim=4, seed=0)
    >>> {m: e.shape for m, e in embed(model, {"a": np.ones((5, 3)), "b": np.ones((5, 2))}).items()}
    {'a': (5, 4), 'b': (5, 4)}
    """
    _check_dual_encoder(model)
    out = model(_inputs(model, inputs, "inputs"), training=False)
    return {m: np.asarray(out[m]) for m in model.input}


def _make_step(model: keras.Model, optimizer: Any, temperature: float) -> Any:
    first, second = model.input
    variables = model.trainable_variables
    encoders = encoder_positions(model, variables)[0]

    @tf.function(reduce_retracing=True, autograph=False)  # no tensor-valued branch to convert
    def step(x: dict) -> tuple:
        with tf.GradientTape() as tape:
            out = model(x, training=True)
            loss = info_nce(out[first], out[second], temperature) + sum(model.losses)
        grads = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(grads, variables, strict=True))
        norms = {m: tf.linalg.global_norm([grads[i] for i in idx]) for m, idx in encoders.items()}
        return tf.cast(loss, tf.float64), {m: tf.cast(n, tf.float64) for m, n in norms.items()}

    return step


def train_contrastive(
    model: keras.Model,
    data: Any,
    optimizer: keras.optimizers.Optimizer | str,
    *,
    epochs: int,
    batch_size: int,
    temperature: float = 0.1,
    seed: int = 0,
    log_every: int = 0,
) -> History:
    """Align a dual encoder's two modalities with :func:`~mmtutorial.tf_nn.info_nce`.

    Each epoch shuffles the samples (with ``seed``) and takes one optimiser step per batch of
    ``batch_size`` pairs: the pairs of a batch are its positives, every other combination a
    negative. The last, incomplete batch is dropped, so every batch has the same number of
    negatives (unless the data hold fewer than ``batch_size`` samples: one batch of all).
    No labels are used.

    Parameters
    ----------
    model : keras.Model
        From :func:`build_dual_encoder`.
    data : MultimodalData or dict[str, array]
        The two modalities, ``(n, d_m)`` each; other modalities and targets are ignored.
    optimizer : keras optimizer or its name
    epochs, batch_size : int
        Number of epochs; pairs per batch (at least 2).
    temperature : float
        ``τ`` of the loss.
    seed : int
        Seed of the shuffling (its batch-order stream, :mod:`mmtutorial.seeds`).
    log_every : int
        Print one line every ``log_every`` epochs (and after the last); 0 is silent.

    Returns
    -------
    History
        Per epoch (``unit="epoch"``): the mean ``loss`` over its batches and ``grad_norms[m]``,
        the mean norm of the gradient reaching ``encoder_<m>``.

    Examples
    --------
    >>> import numpy as np
    >>> from mmtutorial.data import load_digits, standardize
    >>> (digits,) = standardize(load_digits(views=("pix", "fou")))
    >>> model = build_dual_encoder({"pix": 240, "fou": 76}, seed=0)
    >>> history = train_contrastive(model, digits, "adam", epochs=3, batch_size=200)
    >>> len(history), bool(history.loss[-1] < history.loss[0])
    (3, True)
    """
    modalities = _check_dual_encoder(model)
    x = _inputs(model, data, "data")
    epochs = check_int("epochs", epochs, low=1)
    batch_size = check_int("batch_size", batch_size, low=2)
    temperature = check_number("temperature", temperature, low=0, low_open=True)
    rng = stream(check_seed(seed), "batches")
    log_every = check_int("log_every", log_every, low=0)
    optimizer = check_optimizer(optimizer)
    optimizer.build(model.trainable_variables)
    n = len(x[modalities[0]])
    if n < 2:
        raise InvalidParameterError(f"data must hold at least 2 pairs, got {n}")
    size = min(batch_size, n)
    step = _make_step(model, optimizer, temperature)
    history = History(unit="epoch")
    for epoch in range(1, epochs + 1):
        order = rng.permutation(n)
        losses, norms = [], []
        for start in range(0, n - size + 1, size):
            rows = order[start : start + size]
            loss, grad_norms = step({m: tf.constant(x[m][rows]) for m in modalities})
            losses.append(float(loss))
            norms.append({m: float(g) for m, g in grad_norms.items()})
        grad_norms = {m: float(np.mean([r[m] for r in norms])) for m in norms[0]}
        history.append({"loss": float(np.mean(losses)), "grad_norms": grad_norms})
        if not np.isfinite(history.loss[-1]):
            raise FloatingPointError(
                f"loss became {history.loss[-1]} in epoch {epoch}: lower the learning rate or "
                "raise the temperature"
            )
        if log_every and (epoch % log_every == 0 or epoch == epochs):
            print(progress_line(history, epochs))
    record_run("tf_nn", history.loss)  # for make nbval-sweep
    return history
