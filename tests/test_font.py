"""The site's CJK font holds every Chinese character the book uses, with its licence beside it.

The book serves its own subset of Noto Sans SC (``make font``, ``scripts/subset_font.py``), so its
Chinese renders on machines without a CJK font. A page that gains a character the subset lacks
would show it as an empty box there: this check names the character and the file it comes from.
The browser check (``tests/test_site.py``) proves that pages really render with the font.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from subset_font import CJK, FONTS, WEIGHTS, book_characters, source_texts  # noqa: E402

CSS = ROOT / "book" / "_static" / "book.css"
FACE = re.compile(r"@font-face\s*\{(.*?)\}", re.DOTALL)


def font_characters(path: Path) -> set[str]:
    return {chr(code) for code in TTFont(path).getBestCmap()}


@pytest.mark.parametrize("weight", WEIGHTS)
def test_subset_has_every_character_of_the_book(weight):
    path = FONTS / f"noto-sans-sc-{weight}.woff2"
    assert path.is_file(), f"{path} is missing: run `make font`"
    missing = book_characters() - font_characters(path)
    where = {
        char: sorted(p.name for p, text in source_texts().items() if char in text)
        for char in sorted(missing)
    }
    assert not missing, f"{path.name} lacks characters the book uses, run `make font`: {where}"


def test_book_uses_chinese_and_subset_stays_small():
    """The subset is the book's characters, not the whole font (1.1 MB per weight)."""
    characters = book_characters()
    assert len(characters) > 50, "the glossary alone has more Chinese characters than this"
    for weight in WEIGHTS:
        path = FONTS / f"noto-sans-sc-{weight}.woff2"
        assert path.stat().st_size < 400 * len(characters) + 20_000, path
        extra = {c for c in font_characters(path) if CJK.fullmatch(c)} - characters
        assert len(extra) < 50, f"{path.name} carries {len(extra)} CJK characters the book lacks"


def test_font_licence_is_beside_it():
    licence = (FONTS / "OFL.txt").read_text(encoding="utf-8")
    assert "SIL Open Font License" in licence and "Version 1.1" in licence
    for weight in WEIGHTS:
        names = TTFont(FONTS / f"noto-sans-sc-{weight}.woff2")["name"]
        # The OFL asks that copies keep the copyright notice; the font names its licence by URL.
        assert "Adobe" in str(names.getDebugName(0)), "copyright record was dropped"
        assert "OFL" in str(names.getDebugName(14)), "licence URL record was dropped"


def test_stylesheet_declares_both_weights_over_the_cjk_range():
    faces = FACE.findall(CSS.read_text(encoding="utf-8"))
    sources = {re.search(r'url\("fonts/([^"]+)"\)', face).group(1): face for face in faces}
    assert set(sources) == {f"noto-sans-sc-{weight}.woff2" for weight in WEIGHTS}, sources
    for name, face in sources.items():
        ranges = re.findall(r"U\+([0-9A-F]+)-([0-9A-F]+)", face, re.IGNORECASE)
        outside = sorted(
            char
            for char in font_characters(FONTS / name)
            if CJK.fullmatch(char)
            and not any(int(a, 16) <= ord(char) <= int(b, 16) for a, b in ranges)
        )
        assert not outside, f"{name}: characters outside the face's unicode-range: {outside}"
