"""The book's editions, listed once: ``book_editions`` in ``book/_config.yml``.

The Sphinx extension ``reader_site`` reads them as a config value; ``scripts/build_book.py``,
``scripts/make_pdf.py`` and the checks of the built site and the PDFs (through
``tests/sitecheck.py``) read them here.
"""

from __future__ import annotations

from pathlib import Path

import yaml

CONFIG = Path(__file__).resolve().parent.parent / "_config.yml"


def editions() -> dict[str, dict[str, str]]:
    """Return ``{language: {"folder": …, "label": …, "lang": …, "pdf": …, …}}``, the source first.

    ``folder`` is the edition's place under the site's root (``""`` or ``"zh_CN/"``).
    """
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    return config["sphinx"]["config"]["book_editions"]
