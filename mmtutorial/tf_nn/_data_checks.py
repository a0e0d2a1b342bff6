"""The checks of the data :meth:`~mmtutorial.tf_nn.Trainer.fit` trains on, and of the metrics
against its targets.

Each fails at the call, naming the argument and what it expected (see ``mmtutorial._checks``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mmtutorial._checks import InvalidParameterError, check_instance, check_mapping
from mmtutorial.data import MultimodalData

from ._tf import keras, tf
from .data import make_dataset


def prepare_data(
    name: str,
    data: Any,
    batch_size: int | None,
    seed: int | None,
    model: keras.Model,
    losses: Mapping[str, Any],
    targets: Mapping[str, str],
) -> tuple[tf.data.Dataset, int, tuple | None]:
    """Return ``(dataset, batches per epoch, fixed)`` for ``data``, checked against the model
    and in its dtypes: a ``MultimodalData`` through :func:`make_dataset` (batched by
    ``batch_size``, shuffled from ``seed``), a dataset as it is. ``fixed`` is the one batch of a
    ``MultimodalData`` trained on whole (the same batch every epoch), else None. ``targets``
    maps each auxiliary head to the head whose target it learns."""
    ours = isinstance(data, MultimodalData)
    if isinstance(data, tf.data.Dataset):
        if batch_size is not None:
            raise InvalidParameterError(
                f"batch_size applies to a MultimodalData, got a tf.data.Dataset as {name} "
                f"(batched already) and batch_size={batch_size!r}"
            )
    elif isinstance(data, MultimodalData):
        dtype = tf.as_dtype(next(iter(model.input.values())).dtype).name
        data = make_dataset(data, batch_size, shuffle_seed=seed, dtype=dtype)
    else:
        raise InvalidParameterError(
            f"{name} must be a MultimodalData or a tf.data.Dataset, got {type(data).__name__}"
        )
    steps = check_data(data, model, losses, targets, name)
    data = cast_to_model(data, model)
    fixed = data.get_single_element() if ours and steps == 1 else None  # never shuffled
    return data, steps, fixed


def check_data(
    data: Any,
    model: keras.Model,
    losses: Mapping[str, Any],
    targets: Mapping[str, str],
    name: str = "data",
) -> int:
    """Return the number of batches per epoch, or fail naming what does not fit the model
    (an auxiliary head ``h`` learns ``targets[h]``'s target unless the data has its own)."""
    check_instance(name, data, tf.data.Dataset, "a tf.data.Dataset")
    steps = int(data.cardinality())
    if steps < 1:
        raise InvalidParameterError(
            f"{name} must have a known, finite, non-zero number of batches, got cardinality {steps}"
        )
    spec = data.element_spec
    if not (
        isinstance(spec, tuple) and len(spec) in (2, 3) and all(isinstance(s, dict) for s in spec)
    ):
        raise InvalidParameterError(
            f"{name} must yield (inputs dict, targets dict) or (inputs, targets, mask), got {spec}"
        )
    check_mapping(f"{name} inputs", spec[0], keys=model.input, what="modalities")
    if len(spec) == 3:
        check_mapping(f"{name} mask", spec[2], keys=model.input, what="modalities")
        for m, present in spec[2].items():
            if present.dtype != tf.bool or len(present.shape) != 1:
                raise InvalidParameterError(
                    f"{name} mask: modality {m!r} must be (batch,) bool, got {present}"
                )
    missing = sorted(h for h in losses if h not in spec[1] and targets.get(h) not in spec[1])
    if missing:
        raise InvalidParameterError(
            f"{name} targets must hold every head with a loss: missing {missing}, "
            f"got {sorted(spec[1])}"
        )
    for m, x in spec[0].items():
        expected = model.input[m].shape[-1]
        if len(x.shape) != 2 or x.shape[-1] != expected:
            raise InvalidParameterError(
                f"modality {m!r} has shape {tuple(x.shape)} in {name}, the model expects "
                f"(batch, {expected})"
            )
    for h in losses:
        _check_target(h, spec[1][h] if h in spec[1] else spec[1][targets[h]], model.output[h])
    return steps


def target_fits(shape: tuple, integer: bool, units: int) -> bool:
    """Whether a target whose samples have ``shape`` fits a head of ``units`` outputs as it is.

    ``(units,)`` always; ``()`` or ``(1,)`` for integer labels and for a one-unit head.
    """
    return shape == (units,) or (shape in ((), (1,)) and (integer or units == 1))


def _check_target(head: str, target: tf.TensorSpec, output: Any) -> None:
    """Fail unless ``target`` fits head ``head``'s output ``(batch, units)`` without broadcasting.

    A target is ``(batch, units)``; integer labels may also be ``(batch,)`` or ``(batch, 1)``
    (as Keras' sparse losses take them), and so may any target of a one-unit head. Keras' losses
    would broadcast, say, a ``(batch, 1)`` float target against ``(batch, units)`` outputs and
    train on nonsense without a word.
    """
    units = output.shape[-1]
    if not target_fits(tuple(target.shape[1:]), target.dtype.is_integer, units):
        expected = f"(batch, {units})" + (" or (batch,) labels" if target.dtype.is_integer else "")
        raise InvalidParameterError(
            f"data targets[{head!r}] have shape {tuple(target.shape)}, head {head!r} "
            f"expects {expected}"
        )


def check_metrics(
    specs: Mapping[str, list],
    model: keras.Model,
    spec: Mapping[str, tf.TensorSpec],
    targets: Mapping[str, str],
) -> dict[str, tuple[str, Any]]:
    """Return ``{"<head>_<name>": (head, metric)}`` for the metrics ``specs`` names per head
    (``spec``: the data's targets; an auxiliary head ``h`` learns ``targets[h]``'s)."""
    metrics = {}
    for h, names in specs.items():
        for i, m in enumerate(names):
            units = model.output[h].shape[-1]
            target = spec[h] if h in spec else spec[targets[h]]
            metric = _check_metric(f"metrics[{h!r}][{i}]", m, target, units)
            metrics[f"{h}_{metric.name}"] = (h, metric)
    return metrics


def _check_metric(name: str, metric: Any, target: tf.TensorSpec, units: int) -> Any:
    """Return the Keras metric ``metric`` is or names (``"accuracy"`` as Keras' compile does)."""
    if metric in ("accuracy", "acc"):  # pick by the kind of target
        if target.dtype.is_integer:
            return keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        cls = keras.metrics.CategoricalAccuracy if units > 1 else keras.metrics.BinaryAccuracy
        return cls(name="accuracy")
    try:
        metric = keras.metrics.get(metric) if isinstance(metric, str) else metric
    except ValueError:
        pass
    return check_instance(name, metric, keras.metrics.Metric, "a Keras metric or its name")


def cast_to_model(data: tf.data.Dataset, model: keras.Model) -> tf.data.Dataset:
    """Return ``data`` with its float inputs and targets in the dtypes of the model's inputs
    and outputs (``data`` itself when they already are): a float32 model trains on a float64
    dataset, and the other way round, without a word."""
    inputs = {m: tf.as_dtype(model.input[m].dtype) for m in data.element_spec[0]}
    outputs = {h: tf.as_dtype(model.output[h].dtype) for h in data.element_spec[1]}

    def differs(spec: tf.TensorSpec, dtype: tf.DType) -> bool:
        return spec.dtype.is_floating and spec.dtype != dtype

    pairs = [*zip(data.element_spec[0].values(), inputs.values(), strict=True)]
    pairs += [(s, outputs[h]) for h, s in data.element_spec[1].items() if h in model.output]
    if not any(differs(spec, dtype) for spec, dtype in pairs):
        return data

    def cast(group: dict, dtypes: dict) -> dict:
        return {k: tf.cast(t, dtypes[k]) if t.dtype.is_floating and k in dtypes else t
                for k, t in group.items()}  # fmt: skip

    return data.map(lambda x, y, *mask: (cast(x, inputs), cast(y, outputs), *mask))
