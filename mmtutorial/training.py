"""A compiled custom training loop for multimodal Keras models, with resumable checkpoints.

One ``tf.function`` runs whole epochs (a ``tf.GradientTape`` step inside graph loops), records
per-head losses, metrics and the gradient norm reaching each modality. Chapter 4 uses it; the
grad_norms are for the planned chapter 5 (modality imbalance).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from mmtutorial.repro import import_tensorflow

tf = import_tensorflow()

import keras  # noqa: E402

from mmtutorial.tf_bridge import half_squared_error  # noqa: E402
from mmtutorial.training_data import make_dataset  # noqa: E402
from mmtutorial.training_step import make_epoch_runner  # noqa: E402

__all__ = ["History", "Trainer", "make_dataset", "train"]


@dataclass
class History:
    """Per-epoch records of a training run (lists indexed by epoch, the first epoch first).

    ``loss`` is the weighted total; ``head_losses[h]`` each head's loss;
    ``metrics["<head>_<name>"]`` each metric; ``grad_norms[m]`` the gradient norm reaching
    modality ``m`` (see :func:`train`).
    All are means over the epoch's steps, except metrics, which are Keras' running values.
    """

    loss: list[float] = field(default_factory=list)
    head_losses: dict[str, list[float]] = field(default_factory=dict)
    metrics: dict[str, list[float]] = field(default_factory=dict)
    grad_norms: dict[str, list[float]] = field(default_factory=dict)

    @property
    def epochs(self) -> int:
        """Number of epochs recorded."""
        return len(self.loss)

    def _extend(self, records: dict[str, list[float]]) -> None:
        """Append flat records ``{"loss" | "<group>/<key>": values}`` (see ``training_step``)."""
        for name, values in records.items():
            group, _, key = name.partition("/")
            target = self.loss if not key else getattr(self, group).setdefault(key, [])
            target.extend(values)

    def _truncate(self, epochs: int) -> None:
        del self.loss[epochs:]
        for group in (self.head_losses, self.metrics, self.grad_norms):
            for values in group.values():
                del values[epochs:]


def _resolve_loss(loss: Any, head: str) -> Any:
    if loss == "half_squared_error":
        return half_squared_error
    try:
        return keras.losses.get(loss)
    except (ValueError, TypeError) as error:
        raise ValueError(f"losses[{head!r}] is not a Keras loss or name: {loss!r}") from error


def _resolve_metric(metric: Any, head: str, target_spec: tf.TensorSpec, units: int) -> Any:
    if metric in ("accuracy", "acc"):  # as Keras compile does: pick by the kind of target
        if target_spec.dtype.is_integer:
            return keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        cls = keras.metrics.CategoricalAccuracy if units > 1 else keras.metrics.BinaryAccuracy
        return cls(name="accuracy")
    metric = keras.metrics.get(metric) if isinstance(metric, str) else metric
    if not isinstance(metric, keras.metrics.Metric):
        raise ValueError(f"metrics[{head!r}] must hold Keras metrics or names, got {metric!r}")
    return metric


class Trainer:
    """Compile one training loop for ``model`` and run it on datasets (see :func:`train`).

    A :class:`Trainer` keeps its compiled function, so calling :meth:`fit` again (say, after
    resetting the weights, as :mod:`mmtutorial.bench` does) does not trace again.

    Examples
    --------
    >>> from mmtutorial.data import article_data
    >>> from mmtutorial.tf_models import article_model
    >>> trainer = Trainer(article_model(seed=0), {"y1": "mse", "y2": "mse"}, "adam")
    >>> trainer.fit(make_dataset(article_data()), epochs=3).epochs
    3
    """

    def __init__(
        self,
        model: keras.Model,
        losses: Mapping[str, Any],
        optimizer: Any,
        *,
        loss_weights: Mapping[str, float] | None = None,
        metrics: Mapping[str, Sequence[Any]] | None = None,
    ) -> None:
        if not isinstance(losses, Mapping) or not losses:
            raise ValueError(f"losses must map at least one head to a loss, got {losses!r}")
        output = getattr(model, "output", None)
        heads = set(output) if isinstance(output, dict) else set(losses)
        for what, given in (("losses", losses), ("loss_weights", loss_weights or {})):
            unknown = sorted(set(given) - (heads if what == "losses" else set(losses)))
            if unknown:
                raise ValueError(f"{what} names heads {unknown} that the model and losses lack")
        for head, weight in (loss_weights or {}).items():
            if isinstance(weight, bool) or not isinstance(weight, int | float) or not weight >= 0:
                raise ValueError(f"loss_weights[{head!r}] must be a number >= 0, got {weight!r}")
        unknown = sorted(set(metrics or {}) - set(losses))
        if unknown:
            raise ValueError(f"metrics names heads {unknown} without a loss: {sorted(losses)}")
        self.model = model
        self.losses = {h: _resolve_loss(loss, h) for h, loss in losses.items()}
        self.loss_weights = {h: float((loss_weights or {}).get(h, 1.0)) for h in losses}
        self.optimizer = keras.optimizers.get(optimizer)
        self.optimizer.build(model.trainable_variables)
        self._metric_specs = {h: list(ms) for h, ms in (metrics or {}).items()}
        self.metrics: dict[str, Any] | None = None
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self._run, self._spec = None, None

    def _compile(self, dataset: tf.data.Dataset) -> None:
        spec = dataset.element_spec
        if not (
            isinstance(spec, tuple) and len(spec) == 2 and all(isinstance(s, dict) for s in spec)
        ):
            raise ValueError(f"dataset must yield (inputs dict, targets dict), got {spec}")
        missing = sorted(set(self.losses) - set(spec[1]))
        if missing:
            raise ValueError(f"dataset targets lack the heads {missing}; it has {sorted(spec[1])}")
        model_input = getattr(self.model, "input", None)
        if isinstance(model_input, dict) and set(model_input) != set(spec[0]):
            raise ValueError(
                f"dataset inputs are the modalities {sorted(spec[0])}, the model expects "
                f"{sorted(model_input)}"
            )
        if self.metrics is None:
            out = self.model.output if isinstance(getattr(self.model, "output", None), dict) else {}
            self.metrics = {}
            for h, specs in self._metric_specs.items():
                units = out[h].shape[-1] if h in out else 1
                for m in specs:
                    metric = _resolve_metric(m, h, spec[1][h], units)
                    self.metrics[f"{h}_{metric.name}"] = (h, metric)
        run = make_epoch_runner(
            self.model,
            self.losses,
            self.loss_weights,
            self.optimizer,
            self.metrics,
            list(spec[0]),
            self.epoch,
        )
        self._run = tf.function(run, jit_compile=False, reduce_retracing=True)
        self._spec = spec

    def fit(
        self,
        dataset: tf.data.Dataset,
        epochs: int,
        *,
        log_every: int = 0,
        checkpoint_dir: str | os.PathLike | None = None,
        checkpoint_every: int = 1,
        max_to_keep: int = 2,
    ) -> History:
        """Train until ``epochs`` epochs are done; arguments and result as in :func:`train`."""
        for name, value, low in (
            ("epochs", epochs, 1),
            ("log_every", log_every, 0),
            ("checkpoint_every", checkpoint_every, 1),
            ("max_to_keep", max_to_keep, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
        if not isinstance(dataset, tf.data.Dataset):
            raise TypeError(f"dataset must be a tf.data.Dataset, got {type(dataset).__name__}")
        steps = int(dataset.cardinality())
        if steps < 1:
            raise ValueError(
                "dataset must have a known, finite, non-zero number of batches, "
                f"got cardinality {steps}"
            )
        if self._run is None or self._spec != dataset.element_spec:
            self._compile(dataset)
        iterator = iter(dataset.repeat())
        history, manager = History(), None
        self.epoch.assign(0)
        if checkpoint_dir is not None:
            checkpoint = tf.train.Checkpoint(
                model=self.model, optimizer=self.optimizer, epoch=self.epoch, iterator=iterator
            )
            manager = tf.train.CheckpointManager(checkpoint, os.fspath(checkpoint_dir), max_to_keep)
            if manager.latest_checkpoint:
                checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
                history = _load_history(checkpoint_dir, int(self.epoch))
        width = len(str(epochs))
        while int(self.epoch) < epochs:
            done = int(self.epoch)
            stops = [epochs]
            for every in (log_every, checkpoint_every if manager else 0):
                if every:
                    stops.append((done // every + 1) * every)
            records = self._run(iterator, tf.constant(min(stops) - done), tf.constant(steps))
            history._extend({k: t.numpy().tolist() for k, t in records.items()})
            done = int(self.epoch)
            if manager is not None and (done % checkpoint_every == 0 or done == epochs):
                manager.save(checkpoint_number=done)
                _save_history(checkpoint_dir, history)
            if log_every and (done % log_every == 0 or done == epochs):
                print(_progress_line(history, done, epochs, width))
        return history


def _progress_line(history: History, epoch: int, epochs: int, width: int) -> str:
    parts = [f"epoch {epoch:>{width}}/{epochs}", f"loss {history.loss[-1]:.3g}"]
    if len(history.head_losses) > 1:
        parts += [f"{h} {v[-1]:.3g}" for h, v in history.head_losses.items()]
    parts += [f"{k} {v[-1]:.3g}" for k, v in history.metrics.items()]
    return "  ".join(parts)


def _save_history(checkpoint_dir: str | os.PathLike, history: History) -> None:
    path = os.path.join(checkpoint_dir, "history.json")
    with open(path + ".tmp", "w", encoding="utf-8") as stream:
        json.dump(asdict(history), stream)
    os.replace(path + ".tmp", path)


def _load_history(checkpoint_dir: str | os.PathLike, epochs: int) -> History:
    path = os.path.join(checkpoint_dir, "history.json")
    if not os.path.exists(path):
        return History()
    with open(path, encoding="utf-8") as stream:
        history = History(**json.load(stream))
    history._truncate(epochs)
    return history


def train(
    model: keras.Model,
    dataset: tf.data.Dataset,
    losses: Mapping[str, Any],
    optimizer: Any,
    *,
    epochs: int,
    loss_weights: Mapping[str, float] | None = None,
    metrics: Mapping[str, Sequence[Any]] | None = None,
    log_every: int = 0,
    checkpoint_dir: str | os.PathLike | None = None,
    checkpoint_every: int = 1,
) -> History:
    """Train a multimodal Keras model with one compiled ``tf.GradientTape`` loop.

    Each step minimises ``L = Σ_h loss_weights[h] · mean_batch(losses[h](y_h, ŷ_h))`` (plus any
    ``model.losses``). Whole runs of epochs execute inside one ``tf.function`` (graph loops over
    epochs and batches, no XLA), so Python runs only between progress lines and checkpoints.

    Parameters
    ----------
    model : keras.Model
        Takes a dict of modalities and returns a dict of heads.
    dataset : tf.data.Dataset
        Finite, yields ``(inputs dict, targets dict)`` batches, e.g. from :func:`make_dataset`;
        iterated once per epoch (a shuffled dataset reshuffles every epoch).
    losses : dict[str, keras loss or str]
        One loss per head (``"half_squared_error"`` is the article's ``½‖y − ŷ‖²``).
    optimizer : keras optimizer or str
        Built on ``model.trainable_variables`` before training.
    epochs : int
        Total number of epochs; a resumed run continues to this number.
    loss_weights : dict[str, float], optional
        Weight of each head's loss (default 1).
    metrics : dict[str, list of keras metrics or str], optional
        Metrics per head (``"accuracy"`` picks the right accuracy for the targets).
    log_every : int
        Print one line every ``log_every`` epochs (and after the last); 0 is silent.
    checkpoint_dir : path, optional
        Save model, optimizer, epoch counter and the data iterator (so shuffling continues
        where it stopped) every ``checkpoint_every`` epochs; if the folder holds a checkpoint,
        resume from it. An interrupted and resumed run ends with the weights of an
        uninterrupted one.
    checkpoint_every : int
        Epochs between checkpoints.

    Returns
    -------
    History
        Per-epoch ``loss``, ``head_losses``, ``metrics`` and ``grad_norms``. ``grad_norms[m]``
        is, for each step, the global L2 norm ``sqrt(Σ_v ‖∂L/∂v‖²)`` over the variables ``v`` of
        layer ``encoder_<m>``, averaged over the epoch's steps; a modality without an encoder
        layer reports the Frobenius norm of ``∂L/∂x_m`` over the batch instead.

    Examples
    --------
    >>> import keras
    >>> from mmtutorial.data import article_data
    >>> from mmtutorial.tf_models import article_model
    >>> history = train(article_model(seed=0), make_dataset(article_data()),
    ...                 {"y1": "half_squared_error", "y2": "half_squared_error"},
    ...                 keras.optimizers.Adam(0.01), epochs=200, log_every=100)
    epoch 100/200  loss ...
    epoch 200/200  loss ...
    >>> history.loss[-1] < history.loss[0], sorted(history.grad_norms)
    (True, ['x1', 'x2'])
    """
    trainer = Trainer(model, losses, optimizer, loss_weights=loss_weights, metrics=metrics)
    return trainer.fit(
        dataset,
        epochs,
        log_every=log_every,
        checkpoint_dir=checkpoint_dir,
        checkpoint_every=checkpoint_every,
    )
