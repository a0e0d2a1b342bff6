"""`History`: what a training run records, the same object for both engines' ``train``.

NumPy only. ``numpy_nn.train`` appends one record per step, ``tf_nn.train`` one per epoch, both
through :meth:`History.append` (one schema, :mod:`mmtutorial.contract`). Every ``train`` call in
the book returns one; chapters 3b, 4, 5 and 6 read its losses and grad norms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._checks import InvalidParameterError, check_choice, check_int, check_mapping

_GROUPS = ("head_losses", "grad_norms", "metrics")


@dataclass
class History:
    """Records of a training run, one entry per step or per epoch (``unit``), oldest first.

    Attributes
    ----------
    loss : list of float
        The weighted total loss.
    head_losses : dict of str to list of float
        Each head's own loss.
    grad_norms : dict of str to list of float
        The gradient norm reaching each modality (its encoder's weights, see the engine's docs).
    metrics : dict of str to list of float
        Named metrics, e.g. ``"y_accuracy"``.
    eval_loss : list of float
        The weighted total loss on held-out data after each entry's updates (with ``eval_data``;
        empty without).
    unit : {"step", "epoch"}
        What one entry stands for.

    Examples
    --------
    >>> history = History(unit="epoch")
    >>> history.append({"loss": 2.0, "head_losses": {"y": 2.0}, "grad_norms": {"a": 0.5}})
    >>> history.append({"loss": 1.0, "head_losses": {"y": 1.0}, "grad_norms": {"a": 0.25}})
    >>> len(history), history.head_losses["y"]
    (2, [2.0, 1.0])
    >>> history.truncate(1)
    >>> history.loss, history.grad_norms
    ([2.0], {'a': [0.5]})
    """

    loss: list[float] = field(default_factory=list)
    head_losses: dict[str, list[float]] = field(default_factory=dict)
    grad_norms: dict[str, list[float]] = field(default_factory=dict)
    metrics: dict[str, list[float]] = field(default_factory=dict)
    eval_loss: list[float] = field(default_factory=list)
    unit: str = "step"

    def __post_init__(self) -> None:
        check_choice("unit", self.unit, ("step", "epoch"))

    def append(self, record: Mapping[str, Any]) -> None:
        """Add one entry from ``{"loss": float, "head_losses": {h: float}, "grad_norms": {m:
        float}, "metrics": {k: float}, "eval_loss": float}``; all but ``loss`` may be absent.

        A name seen for the first time starts its own list (so it may be shorter than ``loss``).
        """
        record = check_mapping("record", record, keys=("loss", "eval_loss", *_GROUPS), exact=False)
        if "loss" not in record:
            raise InvalidParameterError(f"record must hold 'loss', got keys {sorted(record)}")
        groups = {
            group: check_mapping(f"record[{group!r}]", record.get(group, {}), allow_empty=True)
            for group in _GROUPS
        }  # all checked before anything is appended, so a bad record leaves no trace
        self.loss.append(float(record["loss"]))
        if "eval_loss" in record:
            self.eval_loss.append(float(record["eval_loss"]))
        for group, values in groups.items():
            lists = getattr(self, group)
            for key, value in values.items():
                lists.setdefault(key, []).append(float(value))

    def extend(self, columns: Mapping[str, Any]) -> None:
        """Add several entries at once from ``{"loss": [L, …], group: {key: [v, …]}, "eval_loss":
        [L, …]}``, every list as long as ``loss`` (the same schema as :meth:`append`, column
        by column: one check for a whole run of entries).

        Examples
        --------
        >>> history = History(unit="epoch")
        >>> history.extend({"loss": [2.0, 1.0], "head_losses": {"y": [2.0, 1.0]}})
        >>> len(history), history.head_losses
        (2, {'y': [2.0, 1.0]})
        """
        columns = check_mapping(
            "columns", columns, keys=("loss", "eval_loss", *_GROUPS), exact=False
        )
        if "loss" not in columns:
            raise InvalidParameterError(f"columns must hold 'loss', got keys {sorted(columns)}")
        n = len(columns["loss"])
        groups = {
            group: check_mapping(f"columns[{group!r}]", columns.get(group, {}), allow_empty=True)
            for group in _GROUPS
        }
        lists = {"eval_loss": columns.get("eval_loss", [])} if "eval_loss" in columns else {}
        lists |= {f"{g}[{k!r}]": v for g, values in groups.items() for k, v in values.items()}
        for name, values in lists.items():
            if len(values) != n:
                raise InvalidParameterError(
                    f"columns[{name}] must have one value per entry ({n}), got {len(values)}"
                )
        self.loss.extend(map(float, columns["loss"]))
        self.eval_loss.extend(map(float, columns.get("eval_loss", [])))
        for group, values in groups.items():
            for key, column in values.items():
                getattr(self, group).setdefault(key, []).extend(map(float, column))

    def __len__(self) -> int:
        """Number of entries (steps or epochs) recorded."""
        return len(self.loss)

    def truncate(self, n: int) -> None:
        """Keep only the first ``n`` entries of every list (e.g. to resume from a checkpoint)."""
        n = check_int("n", n, low=0)
        del self.loss[n:]
        del self.eval_loss[n:]
        for group in _GROUPS:
            for values in getattr(self, group).values():
                del values[n:]


def progress_line(history: History, total: int) -> str:
    """Return the progress line of ``history``'s last entry, the same in both engines:
    ``"<unit> <k>/<total>  loss <L>  <head> <L_i> …  <metric> <value> …  eval <L>"``.

    Heads are listed when there are several; ``eval`` when the run evaluates. Three significant
    digits with trailing zeros kept (``0.140``, not ``0.14``): columns line up, and what every
    CPU reproduces after many steps.

    Examples
    --------
    >>> history = History(unit="epoch")
    >>> history.append({"loss": 0.5, "head_losses": {"y1": 0.2, "y2": 0.3}, "eval_loss": 0.61})
    >>> progress_line(history, 10)
    'epoch  1/10  loss 0.500  y1 0.200  y2 0.300  eval 0.610'
    """
    k = len(history)
    parts = [f"{history.unit} {k:>{len(str(total))}}/{total}", f"loss {history.loss[-1]:#.3g}"]
    if len(history.head_losses) > 1:
        parts += [f"{h} {v[-1]:#.3g}" for h, v in history.head_losses.items()]
    parts += [f"{name} {v[-1]:#.3g}" for name, v in history.metrics.items()]
    if history.eval_loss:
        parts.append(f"eval {history.eval_loss[-1]:#.3g}")
    return "  ".join(parts)
