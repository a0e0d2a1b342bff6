"""The Chinese edition cannot drift from the English one (issue 14).

``make catalogs`` turns each page's English prose into a message template and merges it into the
page's catalog, ``book/locales/zh_CN/LC_MESSAGES/<page>.po``. These tests build the templates afresh
from the sources as they are now, and fail when

* a message of a translated page has no translation, or only a fuzzy one: its English changed
  since it was translated (``make catalogs`` marks it so) or it is new;
* a translation lost some of its source's maths, inline code, cross-reference, citation or term
  targets, links or bold spans (compared token by token, as MyST parses them; the words inside a
  formula's ``\\text{...}`` are prose, translated like any other, so maths is compared without
  them), or parses as other blocks than its source: a heading translated as "1. 标题" is a list
  to MyST, and Sphinx then silently shows the English heading;
* a translation names a concept by a variant the term list ``book/locales/zh_CN/terms.toml``
  forbids, outside the contexts where that variant is right (one Chinese term per concept).
* the glossary's English → 中文 list is not sorted A–Z, its 中文 → English table not by pinyin
  (checked with pypinyin, a test dependency), or the Chinese edition translates its English
  headwords (Sphinx would then sort them by code point, which for Chinese is radical order).

Every page is translated except the API reference's docstrings: ``api.po`` must translate the
page's own prose (its introduction and headings, from ``book/api.md``) and nothing else. Fixture
catalogs in ``tests/data/translation/`` and small in-memory ones prove that each check fails when it
should.
"""

from __future__ import annotations

import re
import sys
import tomllib
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
sys.path.insert(0, str(ROOT / "tests"))
from catalogs import CATALOGS, build_templates  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "data" / "translation"
UNTRANSLATED_PAGES = {"api"}  # only its own prose is translated, see _to_translate
MARKDOWN = create_md_parser(
    MdParserConfig(enable_extensions={"dollarmath", "amsmath", "colon_fence", "deflist"}),
    RendererHTML,
)
EXPLICIT_TARGET = re.compile(r"<([^<>]+)>\s*$")
TERMS = ROOT / "book" / "locales" / "zh_CN" / "terms.toml"
CODE = re.compile(r"(\{[\w:.-]+\})?(`+)(.+?)\2", re.DOTALL)  # code, or a role: {ref}`标题 <x>`
MATH_TEXT = re.compile(r"\\text\{[^{}]*\}")  # words in a formula: \text{ for ReLU}, \text{（ReLU）}


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
        if token.type.startswith("math"):  # its symbols, not the words inside \text{}
            kept[(token.type, MATH_TEXT.sub(r"\\text{}", token.content).strip())] += 1
        elif token.type in ("code_inline", "fence", "code_block"):
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


def load_terms(path: Path = TERMS) -> list[dict]:
    with path.open("rb") as file:
        return tomllib.load(file)["term"]


def term_problems(page: str, catalog: Catalog, terms: list[dict]) -> list[str]:
    """Every forbidden variant of ``terms`` that a translation in ``catalog`` uses outside the
    variant's allowed contexts (a context allows a variant when one of its matches covers it)."""
    found = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        # inline code is not prose (a role's title is): blank it, keeping the offsets
        text = CODE.sub(lambda c: c.group() if c.group(1) else " " * len(c.group()), message.string)
        for term in terms:
            allowed = [m.span() for p in term.get("allowed", []) for m in re.finditer(p, text)]
            for pattern in term["forbidden"]:
                for hit in re.finditer(pattern, text):
                    if not any(a <= hit.start() and hit.end() <= b for a, b in allowed):
                        found.append(
                            f"{page}.po: {_normalise(message.id)[:50]!r}: {hit.group()!r}, "
                            f"write {term['chinese']} ({term['english']})"
                        )
    return found


def _catalog(*translations: str) -> Catalog:
    catalog = Catalog(locale="zh_CN")
    for number, translation in enumerate(translations):
        catalog.add(f"message {number}", translation)
    return catalog


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


def test_tokens_compare_maths_without_the_words_in_text():
    english = "$$\\phi'(a) = \\mathbb 1[a > 0] \\text{ for ReLU}.$$"
    assert tokens(english) == tokens("$$\\phi'(a) = \\mathbb 1[a > 0] \\text{（ReLU）}.$$")
    replica = "$\\sum_{n \\in \\text{replica } r} L_n$"
    assert tokens(replica) == tokens("$\\sum_{n \\in \\text{副本 } r} L_n$")
    # a changed symbol outside \text{} still fails, with or without the words translated
    assert tokens(english) != tokens("$$\\phi'(a) = \\mathbb 1[a \\ge 0] \\text{（ReLU）}.$$")
    assert tokens(english) != tokens("$$\\phi'(a) = \\mathbb 1[a > 0] \\text{ for ReLU}$$")
    assert tokens(replica) != tokens("$\\sum_{n \\in \\text{副本 } s} L_n$")
    template, catalog = Catalog(), Catalog(locale="zh_CN")
    template.add(english)
    catalog.add(english, "$$\\phi'(a) = \\mathbb 1[a > 1] \\text{（ReLU）}.$$")
    found = problems("fixture", template, catalog)
    assert len(found) == 1 and "lost [('math_block'" in found[0], found


@pytest.mark.parametrize("page", _pages())
def test_page_uses_one_term_per_concept(page):
    found = term_problems(page, _read(CATALOGS / f"{page}.po"), load_terms())
    assert not found, f"{len(found)} variants the term list forbids:\n" + "\n".join(found)


def test_term_list_is_complete_and_agrees_with_itself():
    terms = load_terms()
    english = [term["english"] for term in terms]
    assert len(english) == len(set(english)), "a concept is listed twice"
    for term in terms:
        assert term["chinese"] and term["forbidden"] and term["reason"], term["english"]
        for pattern in term["forbidden"] + term.get("allowed", []):
            re.compile(pattern)
    # Every preferred term passes the whole list: no entry forbids another's (or its own) term.
    assert not term_problems("terms", _catalog(*(t["chinese"] for t in terms)), terms)


@pytest.mark.parametrize(
    ("translation", "preferred"),
    [
        ("步长不能跨过任何 ReLU 的拐点。", "折点"),
        ("占位符代表预期输出 $Y_1$。", "目标值"),
        ("全连接层的偏差梯度有误。", "偏置"),
        ("这些细节无法推广到新的数字上。", "泛化"),
        ("跨模态任务（从一种模态转换到另一种模态）", "翻译"),
        ("图像配有描述文字。", "说明文字"),
        ("网络上成对的模态多到没人能手工标注。", "互联网"),
        ("本书软件包中的 `Dense` 层", "配套包"),
        ("一个最小二乘分类器（one-hot 目标值）", "独热"),
        ("见常见问题：{ref}`转换与融合 <ch06-translation>`", "翻译"),  # a role's title is prose
    ],
)
def test_term_fixture_reports_a_forbidden_variant(translation, preferred):
    found = term_problems("fixture", _catalog(translation), load_terms())
    assert len(found) == 1 and f"write {preferred} " in found[0], found
    assert "fixture.po: 'message 0'" in found[0]


@pytest.mark.parametrize(
    "translation",
    [
        "原文写道：「$y_i$ 是输出，$\\hat y_i$ 是预期输出」。",  # the article's words, quoted
        "Adam 的偏差修正使第一步的更新约为 $\\eta$。",
        "训练循环把数据转换为模型的数据类型。",
        "这个公式可以推广到 $k$ 个模态。",
        "装好软件包之后也不需要联网。",
        "在原文的网络上用 1000 个样本。",  # 网络 is the network; the web is 互联网
        "TensorFlow 2 默认即时执行（eager）；{doc}`ch04_tensorflow` 中的 `eager` 是普通循环。",
    ],
)
def test_term_fixture_allows_a_variant_in_its_context(translation):
    assert term_problems("fixture", _catalog(translation), load_terms()) == []


# --- The glossary (issue 22): English → 中文 by the English term, 中文 → English by pinyin

GLOSSARY = ROOT / "book" / "glossary.md"


def _glossary_source() -> tuple[list[str], list[tuple[str, str]]]:
    """glossary.md's headwords, in order, and its table's (中文, pinyin) rows, in order."""
    text = GLOSSARY.read_text(encoding="utf-8")
    block = text.split("```{glossary}", 1)[1].split("```", 1)[0]
    headwords = [line for line in block.splitlines() if line.strip() and not line[0].isspace()]
    headwords = [word for word in headwords if not word.startswith(":")]
    rows = [
        tuple(cell.strip() for cell in line.strip("|").split("|")[:2])
        for line in text.split("## 中文 → English", 1)[1].splitlines()
        if line.startswith("|") and not line.startswith(("| 中文", "|---"))
    ]
    return headwords, rows


def test_glossary_source_is_sorted_both_ways():
    pytest.importorskip("pypinyin")
    from sitecheck import english_key, pinyin_key, toned_pinyin

    headwords, rows = _glossary_source()
    assert headwords == sorted(headwords, key=english_key), "English → 中文 is not sorted A–Z"
    chinese = [zh for zh, _ in rows]
    assert chinese == sorted(chinese, key=pinyin_key), "中文 → English is not sorted by pinyin"
    assert len(rows) == len(headwords), "the table and the list hold different terms"
    for zh, written in rows:
        if written != "—":  # a term kept in English (logits) has no pinyin
            assert written.replace(" ", "") == toned_pinyin(zh).replace(" ", ""), (zh, written)


def test_glossary_keeps_its_headwords_english_in_the_chinese_edition():
    """Sphinx sorts a translated glossary by the translated term, which for Chinese is radical
    order; with the headwords kept English (msgstr = msgid), the first list stays English → 中文
    and each definition starts with the Chinese term in bold."""
    headwords, rows = _glossary_source()
    catalog = _read(CATALOGS / "glossary.po")
    for word in headwords:
        assert catalog.get(word) is not None and catalog.get(word).string == word, word
    chinese = {zh for zh, _ in rows}
    definitions = [m for m in catalog if m.id and m.id.startswith("**")]
    assert len(definitions) == len(headwords)
    for message in definitions:
        term = re.match(r"\*\*(.+?)\*\*", message.string)
        assert term and term.group(1) in chinese, (
            f"starts without its Chinese term: {message.string}"
        )
