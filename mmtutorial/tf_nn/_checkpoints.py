"""The checkpoints of :func:`mmtutorial.tf_nn.train` (``checkpoint_dir=``, chapters 4 and 5).

A checkpoint holds the weights, the optimizer, the epoch, the data iterator and the history.

The history goes to ``history.json`` *before* the checkpoint is written, and a resumed run keeps
only its first ``epoch`` entries: a crash between the two writes cannot misalign it. Anything in
the directory that cannot be read fails with one error naming the directory, a
:class:`~mmtutorial._checks.CheckpointError`.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, fields
from typing import Any

from mmtutorial._checks import CheckpointError
from mmtutorial.history import History

from ._tf import keras, tf

HISTORY_FILE = "history.json"


def _damaged(directory: str, problem: str) -> CheckpointError:
    return CheckpointError(
        f"checkpoint_dir {directory!r} holds a damaged or foreign checkpoint ({problem}); "
        "delete it or pass another directory"
    )


class Checkpoints:
    """Save and restore one training run in ``directory`` (keeping ``max_to_keep`` checkpoints).

    ``extra`` names further trackable state to save, e.g. learned loss weights.

    ``restore()`` returns the history of the epochs the restored checkpoint holds, or an empty
    one if the directory has no checkpoint yet. A directory that holds a damaged, inconsistent
    or foreign checkpoint raises :class:`~mmtutorial._checks.CheckpointError` (here or in
    ``restore()``), naming it.
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        model: keras.Model,
        optimizer: keras.optimizers.Optimizer,
        epoch: tf.Variable,
        iterator: Any,
        max_to_keep: int,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.directory = os.fspath(directory)
        self.epoch = epoch
        checkpoint = tf.train.Checkpoint(
            model=model, optimizer=optimizer, epoch=epoch, iterator=iterator, **(extra or {})
        )
        self.checkpoint = checkpoint
        try:
            self.manager = tf.train.CheckpointManager(checkpoint, self.directory, max_to_keep)
        except Exception as error:  # a damaged "checkpoint" state file fails to parse here
            raise _damaged(self.directory, f"{type(error).__name__}: {error}") from error

    def restore(self) -> History:
        latest = self.manager.latest_checkpoint
        if latest is None:
            if os.path.exists(os.path.join(self.directory, "checkpoint")):
                raise _damaged(self.directory, "its 'checkpoint' file names no checkpoint")
            return History(unit="epoch")
        try:
            self.checkpoint.restore(latest).assert_existing_objects_matched()
        except (tf.errors.OpError, AssertionError, ValueError) as error:
            raise _damaged(self.directory, f"{type(error).__name__}: {error}") from error
        history = self._load_history()
        epochs = int(self.epoch)
        if len(history) < epochs:
            raise _damaged(
                self.directory,
                f"{HISTORY_FILE} records {len(history)} epochs, the checkpoint {epochs}",
            )
        history.truncate(epochs)  # epochs written after the last checkpoint are trained again
        return history

    def save(self, history: History) -> None:
        """Write the history first, then the checkpoint of the current epoch."""
        self._write_history(history)
        self.manager.save(checkpoint_number=int(self.epoch))

    def _write_history(self, history: History) -> None:
        path = os.path.join(self.directory, HISTORY_FILE)
        os.makedirs(self.directory, exist_ok=True)
        with open(path + ".tmp", "w", encoding="utf-8") as stream:
            json.dump(asdict(history), stream)
        os.replace(path + ".tmp", path)

    def _load_history(self) -> History:
        path = os.path.join(self.directory, HISTORY_FILE)
        try:
            with open(path, encoding="utf-8") as stream:
                saved = json.load(stream)
        except (OSError, ValueError) as error:
            raise _damaged(self.directory, f"{HISTORY_FILE}: {error}") from error
        names = {f.name for f in fields(History)}
        if not isinstance(saved, dict) or set(saved) != names or saved.get("unit") != "epoch":
            raise _damaged(self.directory, f"{HISTORY_FILE} is not a History of epochs")
        try:
            history = History(**saved)
            lengths = {len(history.loss)} | {
                len(values)
                for group in (history.head_losses, history.grad_norms, history.metrics)
                for values in group.values()
            }
        except (TypeError, ValueError) as error:
            raise _damaged(self.directory, f"{HISTORY_FILE}: {error}") from error
        if len(lengths) != 1:
            raise _damaged(self.directory, f"{HISTORY_FILE} has lists of different lengths")
        return history
