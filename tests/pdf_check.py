"""The book's PDFs (``make pdf``) hold the whole book, typeset, with its Chinese as text.

Run by ``make pdf`` after printing (``pytest tests/pdf_check.py``); not collected by ``make unit``
(its name does not start with ``test_``), since it needs the PDFs. It reads each edition's PDF in
``book/_build/pdf/`` (file names in ``book_editions``, ``_config.yml``) with pypdf and requires:
every document of the table of contents under its title, in order, in the PDF's contents page and
its bookmarks; no raw TeX in the text (MathJax typeset every formula before printing); the
glossary's Chinese terms as extractable text drawn with the book's Noto Sans SC subset (not empty
boxes); page numbers on the pages. The Chinese edition's titles are the translations of the
English ones, from its catalogs.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
import yaml
from babel.messages.pofile import read_po
from pypdf import PdfReader
from sitecheck import EDITIONS, PDFS, page_markdown

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
RAW_TEX = re.compile(r"\\(frac|sum|partial|mathbf|begin|end|left|right)\b|\$\$|\\\(|\\\[")
GLOSSARY_TERM = re.compile(r"\*\*([\u4e00-\u9fff]+)[^*]*\*\*")


def _squeeze(text: str) -> str:
    """Text without whitespace (the PDF breaks lines and spaces around Chinese where it likes), its
    ligatures spelt out (ﬁ) and its typographic apostrophes plain, as the fonts drew them."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text).replace("\u2019", "'"))


def _title(path: Path, language: str) -> str:
    title = re.search(r"^# (.+)$", page_markdown(path), re.MULTILINE).group(1).strip()
    if language == "en":
        return title
    with (BOOK / "locales" / language / "LC_MESSAGES" / f"{path.stem}.po").open("rb") as file:
        return read_po(file)[title].string


def _documents() -> list[Path]:
    toc = yaml.safe_load((BOOK / "_toc.yml").read_text(encoding="utf-8"))
    files = [entry["file"] for part in toc["parts"] for entry in part["chapters"]]
    return [next(BOOK.glob(f"{name}.*")) for name in files]


@pytest.fixture(scope="module", params=sorted(EDITIONS))
def language(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def reader(language) -> PdfReader:
    pdf = PDFS / EDITIONS[language]["pdf"]
    if not pdf.is_file():
        pytest.fail(f"{pdf} is missing: run `make pdf`", pytrace=False)
    return PdfReader(pdf)


@pytest.fixture(scope="module")
def pages(reader) -> list[str]:
    return [page.extract_text() for page in reader.pages]


def test_every_chapter_title_in_order_in_contents_and_bookmarks(reader, pages, language):
    titles = [_title(path, language) for path in _documents()]
    contents = _squeeze(pages[0])
    positions = [contents.find(_squeeze(title)) for title in titles]
    assert -1 not in positions, f"titles missing from the contents page: {titles}, {pages[0]}"
    assert positions == sorted(positions), "the contents page lists the chapters out of order"
    bookmarks = _squeeze(" ".join(str(item.title) for item in _flat(reader.outline)))
    missing = [title for title in titles if _squeeze(title) not in bookmarks]
    assert not missing, f"chapters without a PDF bookmark: {missing}"
    body = _squeeze("".join(pages[1:]))
    assert all(_squeeze(title) in body for title in titles)


def _flat(outline):
    for item in outline:
        if isinstance(item, list):
            yield from _flat(item)
        else:
            yield item


def test_no_raw_tex(pages):
    leaks = sorted({m.group(0) for page in pages for m in RAW_TEX.finditer(page)})
    assert not leaks, f"raw TeX in the PDF's text: {leaks}"


def test_chinese_terms_are_text_in_the_books_font(reader, pages):
    glossary = (BOOK / "glossary.md").read_text(encoding="utf-8")
    terms = sorted(set(GLOSSARY_TERM.findall(glossary)))
    assert len(terms) > 20, terms
    text = _squeeze("".join(pages))
    missing = [term for term in terms if term not in text]
    assert not missing, f"glossary terms not in the PDF's text: {missing}"
    assert "\ufffd" not in text and "\u25a1" not in text, "replacement characters or boxes"
    fonts = {
        str(font.get_object().get("/BaseFont"))
        for page in reader.pages
        for font in page.get("/Resources", {}).get("/Font", {}).values()
    }
    assert any("NotoSansSC" in name for name in fonts), f"no Noto Sans SC among {fonts}"


def test_pages_are_numbered(pages):
    total = len(pages)
    assert total > 20
    for number in (1, total // 2, total):
        assert f"{number} / {total}" in pages[number - 1], f"page {number} has no page number"
