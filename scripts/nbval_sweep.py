"""Run every notebook under nbval (strict) unperturbed and under K perturbation draws
(``make nbval-sweep K=4``), and report how far each training run's final loss moved.

Each run sets ``MMTUTORIAL_PERTURB=<draw>`` (see :mod:`mmtutorial.perturb`): every initial weight
the package draws moves by one float32 ulp or 1e-12 (float64), the scale at which another CPU
rounds differently. A stored output that changes under a draw is fragile: print it at a precision
that survives, or as an asserted bound. ``MMTUTORIAL_RUN_LOG`` makes every training run log its
final loss, so the report can say, run by run, how much a draw moved it (runs are matched by their
order in the notebook). Exits non-zero if any notebook fails under any draw.

Usage: ``python scripts/nbval_sweep.py [-k K] [--workers N] [NOTEBOOK ...]`` (default: all).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
NBVAL = [
    str(BIN / "pytest"),
    "--nbval",
    "--nbval-current-env",
    "--nbval-sanitize-with",
    "book/nbval_sanitize.cfg",
    "-p",
    "no:cacheprovider",
    "-q",
]


def notebooks() -> list[Path]:
    """Every notebook of the book, as ``make nbval`` finds them."""
    return sorted(
        p.relative_to(ROOT)
        for p in (ROOT / "book").rglob("*.ipynb")
        if "_build" not in p.parts and ".ipynb_checkpoints" not in p.parts
    )


def run(notebook: Path, draw: int | None, logs: Path) -> tuple[bool, list[float], str]:
    """nbval one notebook under ``draw`` (``None``: unperturbed); its pass, final losses, tail."""
    log = logs / f"{notebook.stem}.{'base' if draw is None else draw}.jsonl"
    env = dict(os.environ, MMTUTORIAL_RUN_LOG=str(log))
    env.pop("MMTUTORIAL_PERTURB", None)
    if draw is not None:
        env["MMTUTORIAL_PERTURB"] = str(draw)
    done = subprocess.run(
        [*NBVAL, str(notebook)], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    losses = (
        [json.loads(line)["final_loss"] for line in log.read_text().splitlines()]
        if log.exists()
        else []
    )
    return done.returncode == 0, losses, "\n".join(done.stdout.splitlines()[-40:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", type=int, default=4, help="number of perturbation draws (4)")
    parser.add_argument("--workers", type=int, default=2, help="notebooks at a time (2)")
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook")
    args = parser.parse_args(argv)
    if args.k < 1:
        parser.error(f"-k must be >= 1, got {args.k}")
    books = args.notebooks or notebooks()
    draws = [None, *range(args.k)]
    with tempfile.TemporaryDirectory() as folder, ThreadPoolExecutor(args.workers) as pool:
        jobs = {(nb, d): pool.submit(run, nb, d, Path(folder)) for nb in books for d in draws}
        results = {key: job.result() for key, job in jobs.items()}
    failed = []
    print(f"{'notebook':24s} {'runs':>4s}  {'moved':>5s}  largest relative change of a final loss")
    for nb in books:
        ok, base, tail = results[nb, None]
        if not ok:
            failed.append((nb, "unperturbed", tail))
        changes = [0.0] * len(base)
        for d in range(args.k):
            ok, losses, tail = results[nb, d]
            if not ok:
                failed.append((nb, f"draw {d}", tail))
            for i, (a, b) in enumerate(zip(base, losses, strict=False)):
                changes[i] = max(changes[i], abs(b / a - 1) if a else abs(b))
        moved = sum(c > 0 for c in changes)
        largest = f"{max(changes):.1e}" if changes else "-"
        print(f"{nb.stem:24s} {len(base):4d}  {moved:5d}  {largest}")
    for nb, which, tail in failed:
        print(f"\nFAILED {nb} ({which}):\n{tail}")
    print(f"\n{len(failed)} failing run(s) of {len(results)}: notebooks x (unperturbed + {args.k})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
