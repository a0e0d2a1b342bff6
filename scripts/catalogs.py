"""Update the Chinese edition's message catalogs from the English pages (``make catalogs``).

Sphinx's gettext builder (run through Jupyter Book, so notebooks are parsed as the book parses
them) writes one template per page, ``book/_build/gettext/<page>.pot``: every paragraph, heading,
list item and table cell of the prose; code cells and their outputs are not messages, both editions
share them. ``sphinx-intl update`` then merges each template into
``book/locales/zh_CN/LC_MESSAGES/<page>.po``: a new paragraph arrives untranslated, a changed one is
marked fuzzy with the old translation kept as a draft, a deleted one is dropped. Translate those
(and remove the ``#, fuzzy`` line once a message is right again); ``tests/test_translation.py``
fails until every message of every translated page is translated and none is fuzzy.

Usage: ``python scripts/catalogs.py [PAGE ...]`` updates the named pages' catalogs (default: all).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
LANGUAGE = "zh_CN"
LOCALES = BOOK / "locales"
CATALOGS = LOCALES / LANGUAGE / "LC_MESSAGES"
BIN = Path(sys.executable).parent


def build_templates(output: Path) -> Path:
    """Write one ``.pot`` template per page of the book into ``output/_build/gettext``."""
    subprocess.run(
        [
            BIN / "jupyter-book",
            "build",
            BOOK,
            "--builder",
            "custom",
            "--custom-builder",
            "gettext",
            "--all",
            "--quiet",
            "--warningiserror",
            "--path-output",
            output,
        ],
        check=True,
    )
    return output / "_build" / "gettext"


def update(pages: list[str]) -> None:
    with tempfile.TemporaryDirectory() as work:
        templates = build_templates(Path(work))
        known = sorted(path.stem for path in templates.glob("*.pot"))
        unknown = sorted(set(pages) - set(known))
        if unknown:
            sys.exit(f"no such page: {', '.join(unknown)} (pages: {', '.join(known)})")
        selected = Path(work) / "selected"
        selected.mkdir()
        for page in pages or known:
            shutil.copy2(templates / f"{page}.pot", selected)
        subprocess.run(
            [BIN / "sphinx-intl", "update", "-p", selected, "-l", LANGUAGE, "-d", LOCALES],
            check=True,
        )


if __name__ == "__main__":
    update(sys.argv[1:])
