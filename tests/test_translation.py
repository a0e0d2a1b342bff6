"""The Chinese edition cannot drift from the English one (issue 14).

``make catalogs`` turns each page's English prose into a message template and merges it into the
page's catalog, ``book/locales/zh_CN/LC_MESSAGES/<page>.po``. These tests build the templates afresh
from the sources as they are now, and fail when

* a message of a translated page has no translation, or only a fuzzy one: its English changed
  since it was translated (``make catalogs`` marks it so) or it is new;
* a translation lost some of its source's maths, inline code, cross-reference, citation or term
  targets, links or bold spans (compared token by token, as MyST parses them), or parses as other
  blocks than its source: a heading translated as "1. 标题" is a list to MyST, and Sphinx then
  silently shows the English heading.

Every page is translated except the API reference's docstrings: ``api.po`` must translate the
page's own prose (its introduction and headings, from ``book/api.md``) and nothing else. Fixture
catalogs in ``tests/data/translation/`` prove that each check fails when it should.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from markdown_it.renderer import RendererHTML
from myst_parser.config.main import MdParserConfig
from myst_parser.parsers.mdit import create_md_parser

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from catalogs import CATALOGS, build_templates  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "data" / "translation"
UNTRANSLATED_PAGES = {"api"}  # only its own prose is translated, see _to_translate
MARKDOWN = create_md_parser(
    MdParserConfig(enable_extensions={"dollarmath", "amsmath", "colon_fence", "deflist"}),
    RendererHTML,
)
EXPLICIT_TARGET = re.compile(r"<([^<>]+)>\s*$")


def _read(path: Path) -> Catalog:
    with path.open("rb") as file:
        return read_po(file)


def _walk(tokens):
    for token in tokens:
        yield token
        if token.children:
            yield from _walk(token.children)


def tokens(text: str) -> Counter:
    """What a translation must keep of its source: maths, inline code, role targets, link
    targets, images and bold spans, as MyST parses ``text``."""
    kept = Counter()
    for token in _walk(MARKDOWN.parse(text)):
        if token.type.startswith("math") or token.type in ("code_inline", "fence", "code_block"):
            kept[(token.type, token.content.strip())] += 1
        elif token.type == "myst_role":
            explicit = EXPLICIT_TARGET.search(token.content)
            target = explicit.group(1) if explicit else token.content
            kept[(token.meta.get("name"), target.strip())] += 1
        elif token.type == "link_open":
            kept[("link", token.attrs.get("href"))] += 1
        elif token.type == "image":
            kept[("image", token.attrs.get("src"))] += 1
        elif token.type == "strong_open":
            kept[("bold", "")] += 1
    return kept


def blocks(text: str) -> list[str]:
    """The top-level blocks MyST parses ``text`` into (a message is usually one paragraph)."""
    return [t.type for t in MARKDOWN.parse(text) if t.level == 0 and t.nesting >= 0]


def expected_blocks(msgid: str) -> list[str]:
    """What a translation of ``msgid`` must parse into. A list item's message is its text without
    the marker, so a message that parses as a list is a heading that starts like one ("1. Why
    ..."): its translation is a paragraph, with the full stop escaped ("1\\. 为什么 ...")."""
    found = blocks(msgid)
    return ["paragraph_open"] if found in (["ordered_list_open"], ["bullet_list_open"]) else found


def _normalise(text: str) -> str:
    return " ".join(text.split())


def _to_translate(page: str, template: Catalog) -> list[str]:
    ids = [message.id for message in template if message.id]
    if page == "api":  # its introduction and headings, not the docstrings
        source = _normalise((ROOT / "book" / "api.md").read_text(encoding="utf-8"))
        ids = [i for i in ids if _normalise(i) in source]
    return ids


def problems(page: str, template: Catalog, catalog: Catalog) -> list[str]:
    """Every message of ``template`` that ``catalog`` does not translate faithfully."""
    found = []
    for msgid in _to_translate(page, template):
        message = catalog.get(msgid)
        short = _normalise(msgid)[:70]
        if message is None or not message.string:
            found.append(f"{page}: untranslated: {short!r}")
        elif message.fuzzy:
            found.append(f"{page}: fuzzy (the English changed; re-translate): {short!r}")
        else:
            source, translation = tokens(msgid), tokens(message.string)
            if blocks(message.string) != expected_blocks(msgid):
                found.append(
                    f"{page}: {short!r}: the translation parses as {blocks(message.string)}, "
                    f"not {expected_blocks(msgid)} (Sphinx would show the English instead)"
                )
            elif source != translation:
                lost, added = source - translation, translation - source
                found.append(
                    f"{page}: {short!r}: the translation lost {sorted(lost)} "
                    f"and added {sorted(added)}"
                )
    return found


@pytest.fixture(scope="module")
def templates(tmp_path_factory) -> Path:
    return build_templates(tmp_path_factory.mktemp("gettext"))


def _pages() -> list[str]:
    return sorted(path.stem for path in CATALOGS.glob("*.po"))


def test_every_page_has_a_catalog(templates):
    assert sorted(path.stem for path in templates.glob("*.pot")) == _pages()


@pytest.mark.parametrize("page", _pages())
def test_page_is_translated_and_current(templates, page):
    found = problems(page, _read(templates / f"{page}.pot"), _read(CATALOGS / f"{page}.po"))
    assert not found, (
        f"{len(found)} messages of {page} need translating (after `make catalogs "
        f'PAGES="{page}"`, in {(CATALOGS / page).relative_to(ROOT)}.po):\n' + "\n".join(found)
    )


def test_api_reference_stays_english():
    catalog = _read(CATALOGS / "api.po")
    source = _normalise((ROOT / "book" / "api.md").read_text(encoding="utf-8"))
    translated = [m.id for m in catalog if m.id and m.string]
    docstrings = [i for i in translated if _normalise(i) not in source]
    assert not docstrings, f"api.po translates docstrings, which stay English: {docstrings[:3]}"


def test_fixture_catches_untranslated_fuzzy_and_lost_tokens():
    found = problems("fixture", _read(FIXTURES / "fixture.pot"), _read(FIXTURES / "fixture.po"))
    kinds = [
        "untranslated",
        "untranslated",
        "fuzzy",
        "lost [('math_inline', 'x_1')]",
        "lost [('ref', 'ch03a-chain-rule')]",
        "lost [('bold', '')]",
        "lost [('code_inline', 'train')]",
        "lost [('link', 'https://example.org')]",
        "parses as",
    ]
    assert len(found) == len(kinds), "\n".join(found)
    for problem, kind in zip(found, kinds, strict=True):
        assert kind in problem, (kind, problem)


def test_tokens_keep_role_targets_not_their_text():
    source = tokens("See {ref}`the chain rule <ch03a-chain-rule>` and {cite:p}`kingma2015adam`.")
    assert source == tokens("见{ref}`链式法则 <ch03a-chain-rule>`与 {cite:p}`kingma2015adam`。")
    assert source != tokens("见 {ref}`ch03a-loss-scale` 与 {cite:p}`kingma2015adam`。")
    # CommonMark does not open bold before punctuation after a letter: the span is lost
    assert tokens("**bold**")[("bold", "")] == 1
    assert tokens("文**「引用」**文")[("bold", "")] == 0
    # A heading's text that starts like a list item is a list: escape the full stop
    assert expected_blocks("1. Why backpropagation?") == blocks("1\\. 为什么要反向传播？")
    assert expected_blocks("1. Why backpropagation?") != blocks("1. 为什么要反向传播？")
    assert expected_blocks("A paragraph.") == ["paragraph_open"] != blocks("- 一个列表")
