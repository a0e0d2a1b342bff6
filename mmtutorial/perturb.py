"""The perturbation switch: start every training run a stated, tiny distance from the stored one.

With ``MMTUTORIAL_PERTURB=<draw>`` set, every builder of the package (``numpy_nn.MultimodalNet``
and the ``tf_nn`` builders, whose Keras initialisers it seeds) moves each non-zero initial weight
by a relative :data:`SIZES` step (one ulp in float32, 1e-12 in float64), up or down at random; a
zero stays zero. That is the scale at which another CPU, BLAS kernel or thread count changes
rounding, so a stored output that moves under it would move on a reader's machine too
(``make nbval-portable`` runs one draw, ``make nbval-sweep`` several; chapter 4 explains why).
With ``MMTUTORIAL_RUN_LOG=<file>`` set, each training run appends its final loss to that file, so
the sweep can report how far each run moved. Unset, both do nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import numpy as np

from ._checks import InvalidParameterError, check_int, check_number

__all__ = ["ENVIRONMENT", "RUN_LOG", "SIZES", "perturb", "perturb_from_environment", "record_run"]

ENVIRONMENT = "MMTUTORIAL_PERTURB"
RUN_LOG = "MMTUTORIAL_RUN_LOG"

#: Relative step per dtype. In float32 one ulp already changes what chaotic runs print. In float64
#: the first updates often absorb one ulp (the final loss came out bit-identical in 8 of 10 runs),
#: while 1e-12 moves the final loss of every chaotic run and changes few predictions of a stable
#: one (the numerics page measures how few: 0 to 6 of 500 for its low-rank model, seeds 0-2).
SIZES = {"float32": float(np.finfo(np.float32).eps), "float64": 1e-12}

_STREAM = 0x5EED  # the directions' own stream, apart from every seed the book uses


def perturb(
    weights: Sequence[np.ndarray], *, draw: int, size: float | None = None
) -> list[np.ndarray]:
    """Return copies of ``weights`` with every entry multiplied by ``1 ± size``, signs at random.

    Parameters
    ----------
    weights : sequence of float ndarrays
        Arrays of any shapes, e.g. ``model.get_weights()``; each keeps its dtype.
    draw : int
        Which directions (>= 0): the same draw gives the same signs for the same shapes.
    size : float, optional
        Relative step, in ``(0, 1e-3]``; ``None`` takes :data:`SIZES` for each array's dtype.

    Examples
    --------
    >>> w = np.array([1.0, -2.0, 0.0])
    >>> moved = perturb([w], draw=0, size=1e-12)[0]
    >>> (np.abs(moved - w) / np.maximum(np.abs(w), 1)).round(15).tolist()
    [1e-12, 1e-12, 0.0]
    """
    draw = check_int("draw", draw, low=0)
    if size is not None:
        size = check_number("size", size, low=0)
        if not 0 < size <= 1e-3:
            raise InvalidParameterError(f"size must be in (0, 1e-3], got {size!r}")
    rng = np.random.default_rng(np.random.SeedSequence(draw, spawn_key=(_STREAM,)))
    moved = []
    for i, w in enumerate(weights):
        w = np.asarray(w)
        if w.dtype.name not in SIZES:
            raise InvalidParameterError(
                f"weights[{i}] must be float32 or float64, got dtype {w.dtype.name}"
            )
        step = SIZES[w.dtype.name] if size is None else size
        signs = rng.choice(np.array([-1.0, 1.0]), size=w.shape)
        moved.append((w.astype(np.float64) * (1.0 + step * signs)).astype(w.dtype))
    return moved


def perturb_from_environment(weights: Sequence[np.ndarray]) -> list[np.ndarray] | None:
    """Return :func:`perturb`'s copies as ``MMTUTORIAL_PERTURB`` asks, or ``None`` when unset.

    The variable holds the draw, optionally with a size: ``"0"``, ``"3"``, ``"1:1e-10"``.
    """
    value = os.environ.get(ENVIRONMENT, "").strip()
    if not value:
        return None
    draw, _, size = value.partition(":")
    try:
        return perturb(weights, draw=int(draw), size=float(size) if size else None)
    except ValueError as error:  # not a number, or refused by perturb
        raise InvalidParameterError(
            f"{ENVIRONMENT} must be '<draw>' or '<draw>:<size>' (e.g. '0' or '1:1e-10'), "
            f"got {value!r}: {error}"
        ) from None


def record_run(engine: str, loss: Sequence[float]) -> None:
    """Append a training run's final loss to the file ``MMTUTORIAL_RUN_LOG`` names, if set."""
    path = os.environ.get(RUN_LOG)
    if path and len(loss):
        with open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps({"engine": engine, "final_loss": float(loss[-1])}) + "\n")
