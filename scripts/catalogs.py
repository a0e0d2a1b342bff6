"""Update the Chinese edition's message catalogs from the English pages (``make catalogs``).

Sphinx's gettext builder (run through Jupyter Book, so notebooks are parsed as the book parses
them) writes one template per page, ``book/_build/gettext/<page>.pot``: every paragraph, heading,
list item and table cell of the prose; code cells and their outputs are not messages, both editions
share them. ``sphinx-intl update`` then merges each template into
``book/locales/zh_CN/LC_MESSAGES/<page>.po``: a new paragraph arrives untranslated, a changed one is
marked fuzzy with the old translation kept as a draft, a deleted one is dropped. Translate those
(and remove the ``#, fuzzy`` line once a message is right again); ``tests/test_translation.py``
fails until every message of every translated page is translated and none is fuzzy.

A figure's alt text is in its notebook cell's metadata (``mystnb.image.alt``), which myst-nb renders
after Sphinx's translation step, so the gettext builder never sees it: :func:`build_templates` adds
each one to its page's template as a message of its own (marked by :data:`ALT_TEXT`), and
``book/_ext/translated_edition.py`` puts the translation on the Chinese page. Likewise the
footer's author and note from ``_config.yml`` and the theme's copyright line, which the theme shows
untranslated, become messages of ``sphinx.pot`` (:data:`THEME_TEXTS`, :func:`add_theme_texts`).

Usage: ``python scripts/catalogs.py [PAGE ...]`` updates the named pages' catalogs (default: all).
"""

from __future__ import annotations

import json
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
ALT_TEXT = "alt text of a figure (the cell's metadata mystnb.image.alt)"
# pydata-sphinx-theme's copyright line (components/copyright.html) and the title of Sphinx's
# module index, which the Chinese pages showed in English
THEME_TEXTS = ["© Copyright %(copyright)s.", "Python Module Index"]


def theme_texts() -> list[str]:
    """What the theme shows of _config.yml: the author and the footer's note, and its own
    copyright line."""
    import yaml

    config = yaml.safe_load((BOOK / "_config.yml").read_text(encoding="utf-8"))
    texts = [config.get("author"), config.get("html", {}).get("extra_footer")]
    return [text for text in texts if text] + THEME_TEXTS


def add_theme_texts(templates: Path) -> None:
    """Add :func:`theme_texts` to the theme's template ``sphinx.pot``."""
    from babel.messages.pofile import read_po, write_po

    template = templates / "sphinx.pot"
    with template.open("rb") as file:
        catalog = read_po(file)
    for text in theme_texts():
        catalog.add(text, auto_comments=["shown by the theme (book/_config.yml or the theme)"])
    with template.open("wb") as file:
        write_po(file, catalog, width=76)


def alt_texts(notebook: Path) -> list[str]:
    """The alt texts of ``notebook``'s figures, in cell order, each once."""
    found = []
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        alt = cell.get("metadata", {}).get("mystnb", {}).get("image", {}).get("alt")
        if alt and alt not in found:
            found.append(alt)
    return found


def add_alt_texts(templates: Path) -> None:
    """Add each page's figure alt texts to its template ``<page>.pot``."""
    from babel.messages.pofile import read_po, write_po

    for template in sorted(templates.glob("*.pot")):
        notebook = BOOK / f"{template.stem}.ipynb"
        texts = alt_texts(notebook) if notebook.is_file() else []
        if not texts:
            continue
        with template.open("rb") as file:
            catalog = read_po(file)
        for text in texts:
            catalog.add(text, auto_comments=[ALT_TEXT])
        with template.open("wb") as file:
            write_po(file, catalog, width=76)


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
    templates = output / "_build" / "gettext"
    add_alt_texts(templates)
    add_theme_texts(templates)
    return templates


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
