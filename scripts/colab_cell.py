"""Give each notebook its first cell: on Google Colab, install this edition's package.

``python scripts/colab_cell.py [book/x.ipynb ...]`` (default: every notebook of the book) inserts,
or updates in place, a first code cell that does nothing anywhere but Colab
(``if "google.colab" in sys.modules:``). On Colab, opened from a launch button of a published copy
(``BOOK_REPOSITORY_URL``, see ``book/_ext/reader_site.py``), it installs
``mmtutorial[tf]==<this edition>`` from PyPI, with NumPy, matplotlib and TensorFlow at the
versions of ``.ci/constraints.txt`` (those the stored outputs were produced with), and prints what
it installed. PyPI rather than the tagged release's wheel: the notebooks do not know where a copy
is published, and PyPI's name is the same for every copy (README, Releasing: upload the release
there).

The cell carries the tags ``remove-cell`` (Jupyter Book renders nothing of it, input or output)
and ``colab-install`` (how this script and ``tests/test_release.py`` find it). Run this after a
version bump, then re-execute the notebooks (``make notebooks``): the cell is a no-op outside
Colab, so their outputs stay the same and the execution counts still run 1, 2, 3.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
CONSTRAINTS = ROOT / ".ci" / "constraints.txt"
TAG = "colab-install"
TAGS = ["remove-cell", TAG]
# Installed at the pinned versions with the package: what its [tf] extra depends on.
PINNED = ["numpy", "matplotlib", "tensorflow"]

SOURCE = """\
# On Google Colab only: install this edition's companion package (elsewhere this does nothing).
import sys

if "google.colab" in sys.modules:
    import subprocess
    from importlib.metadata import version

    packages = {packages}
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", *packages], check=True)
    names = {names}
    print("Installed:", ", ".join(f"{{name}} {{version(name)}}" for name in names))
    changed = [
        name
        for name in names
        if name in sys.modules and getattr(sys.modules[name], "__version__", None) != version(name)
    ]
    if changed:
        print("Restart the session (Runtime > Restart session), then run all cells again:")
        print("already imported at another version:", ", ".join(changed))"""


def version() -> str:
    """This edition: ``__version__`` of ``mmtutorial/__init__.py``, read without importing it."""
    text = (ROOT / "mmtutorial" / "__init__.py").read_text()
    return re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE).group(1)


def pins() -> dict[str, str]:
    """The pinned version of each of ``PINNED`` in ``.ci/constraints.txt``."""
    found = {}
    for line in CONSTRAINTS.read_text().splitlines():
        name, _, pinned = line.partition("==")
        if name.lower() in PINNED:
            found[name.lower()] = pinned.strip()
    missing = sorted(set(PINNED) - set(found))
    if missing:
        raise SystemExit(f"{CONSTRAINTS}: no pinned version of {', '.join(missing)}")
    return found


def packages(edition: str | None = None) -> list[str]:
    """The requirements the cell installs: the package at this edition, its dependencies pinned."""
    pinned = pins()
    return [f"mmtutorial[tf]=={edition or version()}", *(f"{n}=={pinned[n]}" for n in PINNED)]


def cell_source(edition: str | None = None) -> str:
    """The cell's code for this edition."""
    names = ["mmtutorial", *PINNED]
    return SOURCE.format(packages=json.dumps(packages(edition)), names=json.dumps(names))


def is_colab_cell(cell) -> bool:
    return cell.get("cell_type") == "code" and TAG in cell.get("metadata", {}).get("tags", [])


def apply(path: Path) -> bool:
    """Insert or update the notebook's first cell; return whether the file changed."""
    notebook = nbformat.read(path, as_version=4)
    source = cell_source()
    cells = [cell for cell in notebook.cells if not is_colab_cell(cell)]
    old = next((cell for cell in notebook.cells if is_colab_cell(cell)), None)
    if old is not None and notebook.cells[0] is old and old.source == source:
        return False
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": list(TAGS)})
    if old is not None and "id" in old:
        cell["id"] = old["id"]
    else:
        cell["id"] = "colab-install"
    notebook.cells = [cell, *cells]
    nbformat.write(notebook, path)
    return True


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every book/*.ipynb")
    args = parser.parse_args(argv)
    for path in args.notebooks or sorted(BOOK.glob("*.ipynb")):
        print(f"{path}: {'updated' if apply(path) else 'up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
