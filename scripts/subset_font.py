"""Subset Noto Sans SC to exactly the CJK characters the book uses, for the site to serve.

``make font`` installs ``@fontsource/noto-sans-sc`` (pinned in ``book/_fonts/package-lock.json``)
and runs this script, which writes ``book/_static/fonts/noto-sans-sc-{400,700}.woff2`` (regular and
bold) and the font's licence beside them. ``book/_static/book.css`` declares the two faces. Run it
again whenever a page gains a Chinese character: ``tests/test_font.py`` fails until then.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
FONTSOURCE = BOOK / "_fonts" / "node_modules" / "@fontsource" / "noto-sans-sc"
FONTS = BOOK / "_static" / "fonts"
WEIGHTS = (400, 700)
# CJK punctuation, kana, ideographs, compatibility ideographs, vertical and fullwidth forms: the
# characters the book's Latin fonts lack. book.css gives the faces the same unicode-range.
CJK = re.compile(
    "[\u2e80-\u2fdf\u3000-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]"
)


def _strings(value: object):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def interface_catalogs() -> list[Path]:
    """The Chinese edition's interface: the Chinese message catalogs of Sphinx, the theme and
    sphinx-exercise ("搜索", "目录", "练习", ...), as installed."""
    import sphinx
    import sphinx_book_theme
    import sphinx_exercise

    return [
        Path(sphinx.__file__).parent / "locale/zh_CN/LC_MESSAGES/sphinx.po",
        Path(sphinx_book_theme.__file__).parent
        / "theme/sphinx_book_theme/static/locales/zh_CN/LC_MESSAGES/booktheme.po",
        Path(sphinx_exercise.__file__).parent
        / "translations/locales/zh_CN/LC_MESSAGES/exercise.po",
    ]


def _translations(path: Path) -> str:
    from babel.messages.pofile import read_po

    with path.open("rb") as file:
        strings = [m.string for m in read_po(file) if m.id and m.string]
    return "\n".join(s if isinstance(s, str) else "\n".join(s) for s in strings)


def source_texts() -> dict[Path, str]:
    """The text of every file that reaches the pages: chapters (cells and stored outputs), other
    pages, the table of contents, the configuration, the bibliography, the package's docstrings,
    the Chinese edition's catalogs, and the translations of its interface."""
    paths = [
        *sorted(BOOK.glob("*.ipynb")),
        *sorted(BOOK.glob("*.md")),
        *sorted(BOOK.glob("*.yml")),
        *sorted(BOOK.glob("*.bib")),
        *sorted((ROOT / "mmtutorial").rglob("*.py")),
        *sorted(BOOK.glob("locales/*/LC_MESSAGES/*.po")),
    ]
    texts = {}
    for path in paths:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".ipynb":
            text = "\n".join(_strings(json.loads(text)))
        texts[path] = text
    for path in interface_catalogs():
        texts[path] = _translations(path)
    return texts


def book_characters() -> set[str]:
    """Every CJK character of the book's sources."""
    return {char for text in source_texts().values() for char in CJK.findall(text)}


def subset(characters: set[str]) -> list[Path]:
    from fontTools import subset as ftsubset
    from fontTools.ttLib import TTFont

    if not FONTSOURCE.is_dir():
        sys.exit(f"{FONTSOURCE} is missing: run `make font` (it runs npm ci in book/_fonts)")
    FONTS.mkdir(parents=True, exist_ok=True)
    written = []
    for weight in WEIGHTS:
        source = FONTSOURCE / "files" / f"noto-sans-sc-chinese-simplified-{weight}-normal.woff2"
        font = TTFont(source)
        missing = characters - {chr(code) for code in font.getBestCmap()}
        if missing:
            sys.exit(f"{source.name} lacks {''.join(sorted(missing))!r}")
        options = ftsubset.Options()
        options.flavor = "woff2"
        options.layout_features = ["*"]
        options.name_IDs = ["*"]  # keep the copyright and licence records
        subsetter = ftsubset.Subsetter(options)
        subsetter.populate(text="".join(sorted(characters)))
        subsetter.subset(font)
        target = FONTS / f"noto-sans-sc-{weight}.woff2"
        font.save(target)
        written.append(target)
    shutil.copy2(FONTSOURCE / "LICENSE", FONTS / "OFL.txt")
    return written


def main() -> None:
    characters = book_characters()
    for path in subset(characters):
        print(
            f"wrote {path.relative_to(ROOT)}: {len(characters)} characters, "
            f"{path.stat().st_size} bytes"
        )


if __name__ == "__main__":
    main()
