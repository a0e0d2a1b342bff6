"""The ledger (book/ledger.md, "where the article is wrong"): every row names the article's section,
has the table's four cells and links to a section of the book that exists. {ref} links must name a
`(label)=` target of some page, {doc} links a page."""

import json
import re
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parent.parent / "book"
LINK = re.compile(r"\{(ref|doc)\}`([^`]+)`")
TARGET = re.compile(r"^\(([^()\s]+)\)=\s*$", re.MULTILINE)
SECTION = re.compile(r"§\d|FAQ \d")  # the article's section, as the ledger's intro numbers them


def page_texts(book: Path) -> dict[str, str]:
    """Return ``{page name: its markdown}`` for every ``.md`` page and notebook of ``book``."""
    pages = {path.stem: path.read_text(encoding="utf-8") for path in book.glob("*.md")}
    for path in book.glob("*.ipynb"):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        pages[path.stem] = "\n".join(
            "".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown"
        )
    return pages


def labels(pages: dict[str, str]) -> set[str]:
    """Every MyST target ``(label)=`` on a line of its own, in any page."""
    return {label for text in pages.values() for label in TARGET.findall(text)}


def table_rows(text: str) -> list[str]:
    """The body rows of every markdown table in ``text`` (no header, no ``|---|`` line)."""
    lines = [line.strip() for line in text.splitlines()]
    rows = []
    for i, line in enumerate(lines):
        is_row = line.startswith("|") and not re.fullmatch(r"\|[\s:|-]+\|", line)
        header = i + 1 < len(lines) and re.fullmatch(r"\|[\s:|-]+\|", lines[i + 1])
        if is_row and not header:
            rows.append(line)
    return rows


def _link_target(text: str) -> str:
    """``{ref}`label``` or ``{ref}`shown text <label>``` → ``label``."""
    found = re.search(r"<([^<>]+)>\s*$", text)
    return (found.group(1) if found else text).strip()


def ledger_problems(ledger: str, pages: dict[str, str]) -> list[str]:
    """Rows that name no section of the article, have not four cells or link to no chapter
    section, and links whose target does not exist."""
    known = labels(pages)
    problems = []
    rows = table_rows(ledger)
    if not rows:
        problems.append("the ledger has no table rows")
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        if len(cells) != 4:
            problems.append(f"row has {len(cells)} cells, not 4: {row[:80]}")
        if not SECTION.search(cells[0]):
            problems.append(f"row names no section of the article: {row[:80]}")
        links = LINK.findall(cells[-1])
        refs = [_link_target(target) for role, target in links if role == "ref"]
        if not refs:
            problems.append(f"row links to no chapter section: {row[:80]}")
        for role, target in LINK.findall(row):
            target = _link_target(target)
            if role == "ref" and target not in known:
                problems.append(f"dangling {{ref}} {target!r} in row: {row[:60]}")
            if role == "doc" and target not in pages:
                problems.append(f"dangling {{doc}} {target!r} in row: {row[:60]}")
    return problems


def test_every_ledger_row_links_to_a_section_that_exists():
    pages = page_texts(BOOK)
    assert ledger_problems(pages["ledger"], pages) == []


def test_the_ledger_has_the_rows_issue_11_asks_for():
    ledger = page_texts(BOOK)["ledger"]
    assert len(table_rows(ledger)) >= 20
    for sentence in ("跨模态学习的一种特例", "基于梯度下降的优化方法", "直到损失函数达到满意的值"):
        assert sentence in ledger


def test_the_ledger_has_the_rows_issue_21_asks_for():
    # The science review's M1-M10 (the article's own sentences) and its rows 30-32.
    ledger = page_texts(BOOK)["ledger"]
    rows = table_rows(ledger)
    for sentence in (
        "多模态神经网络是一种具有多个输入和输出的神经网络",  # M1, §3
        "我们需要在多模态神经网络中构建多个损失函数",  # M2, §3
        "不完全独立的数据和特征",  # M3, §5 challenge 3
        "使用深度学习技术",  # M4, §5 trend 2
        "计算成本增加",  # M5, §5 challenge 1
        "是权重和偏差的梯度",  # M6, §3: the gradients are named, never derived
        "$y = f(Wx + b)$",  # M7, §3
        "来演示如何使用反向传播构建多模态学习模型",  # M8, §4
        "使用未知数据和特征",  # M10, §5 trend 3
    ):
        assert sum(sentence in row for row in rows) == 1, sentence
    (domain,) = [row for row in rows if "在不同领域之间建立联系」 (" in row]
    assert "§3" in domain.split("|")[1]  # 「以便在各个领域中学习到有用的信息」
    (faq5,) = [row for row in rows if "(FAQ 5)" in row]
    assert "{ref}`ch05-contrastive`" in faq5 and "ch05_challenges" not in faq5
    (placeholders,) = [row for row in rows if "tf.placeholder(…)))` (§4)" in row]
    assert "Placeholder_2" in placeholders and "have no name" not in placeholders
    assert "## The challenges and trends (§5)" in ledger


_FAKE_PAGES = {
    "ch01": "(ch01-real)=\n## A section\n\ntext with (not-a-label)= inline",
    "ledger": "",
}


@pytest.mark.parametrize(
    ("ledger", "expected"),
    [
        ("| x (§1) | b | c | {ref}`ch01-real` |", []),
        ("| x (§1) | b | c | {ref}`see it <ch01-real>`, {doc}`ch01` |", []),
        ("| x (§1) | b | c | {ref}`ch01-missing` |", ["dangling {ref} 'ch01-missing'"]),
        ("| x (§1) | b | c | {ref}`not-a-label` |", ["dangling {ref} 'not-a-label'"]),
        ("| x (§1) | b | c | {ref}`ch01-real`, {doc}`ch09` |", ["dangling {doc} 'ch09'"]),
        ("| x (§1) | b | c | nowhere |", ["row links to no chapter section"]),
        ("| x | b | c | {ref}`ch01-real` |", ["row names no section of the article"]),
        ("| x (FAQ 2) | b | {ref}`ch01-real` |", ["row has 3 cells, not 4"]),
        ("no table at all", ["the ledger has no table rows"]),
    ],
)
def test_the_check_finds_dangling_links_and_rows_without_a_link(ledger, expected):
    header = "| says | wrong | correction | where |\n|---|---|---|---|\n"
    text = ledger if ledger.startswith("no table") else header + ledger
    problems = ledger_problems(text, _FAKE_PAGES)
    assert len(problems) == len(expected)
    for problem, start in zip(problems, expected, strict=True):
        assert problem.startswith(start)
