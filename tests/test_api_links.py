"""The chapters link to the API reference, and every such link resolves.

Run after ``make book`` (``make browser``; ``make test`` does both). Each chapter names the
package's functions and classes in its prose with MyST roles (``{py:func}`load_digits
<mmtutorial.data.load_digits>```). Sphinx renders a role whose target it cannot find as plain code,
without a link and without a warning (outside nitpicky mode), so ``make book`` passes with broken
references; this check reads the built HTML instead. On every chapter, and on every other page
whose source uses such roles (the API page itself aside), it requires: at least one link into
``api.html#...mmtutorial.``, no ``py`` cross-reference left without a link, one link per role in
the source (a stale build or a role that rendered as text shows up here), and an anchor in
``api.html`` for every link. The Chinese edition (``zh_CN/``) is checked the same way: its
translations keep every role (tests/test_translation.py), so it has the same links.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sitecheck import BUILD, EDITIONS, ROOT, page_markdown

BOOK = ROOT / "book"
FENCE_LINE = re.compile(r"^(`{3,}|~{3,})\s*(\S*)")
# Roles of the Python domain, with or without the `py:` prefix (it is the default domain).
ROLE = r"\{(py:)?(func|class|meth|mod|exc|data|attr|obj|const|property)\}"
PY_ROLE = re.compile(ROLE + "`")
ROLE_AS_TEXT = re.compile(ROLE)  # in HTML the backticks have become <code>
API_LINK = re.compile(r"^api\.html#(module-)?mmtutorial\.")


def _not_built(page: str) -> str:
    return (
        f"The book is not built: {BUILD / page} is missing. "
        "Run `make book` first (`make test` builds it, then runs this check)."
    )


def without_code(markdown: str) -> str:
    """``markdown`` without its code fences (a directive fence, ```{exercise}, is prose)."""
    kept, code, directives = [], None, []
    for line in markdown.splitlines():
        fence = FENCE_LINE.match(line)
        if code is not None:  # inside a code block: drop up to its closing fence
            code = None if fence and fence[1] == code and not fence[2] else code
        elif fence and fence[2].startswith("{"):
            directives.append(fence[1])
        elif fence and not fence[2] and directives and fence[1] == directives[-1]:
            directives.pop()
        elif fence:
            code = fence[1]
        else:
            kept.append(line)
    return "\n".join(kept)


def _prose(source: Path) -> str:
    """The markdown of a page's source (a notebook's markdown cells), without code fences."""
    return without_code(page_markdown(source))


def _sources() -> dict[str, Path]:
    """Page name -> source: every chapter, and every other page that uses a py role in prose.

    Not the API page: its cross-references are made by autodoc (type hints), not by roles.
    """
    sources = {}
    for path in sorted([*BOOK.glob("*.ipynb"), *BOOK.glob("*.md")]):
        if path.stem == "api":
            continue
        if path.stem.startswith("ch") or PY_ROLE.search(_prose(path)):
            sources[path.stem] = path
    return sources


SOURCES = _sources()


class _PyXrefs(HTMLParser):
    """Each ``<code class="xref py ...">``: its text and the href of the link around it, or None."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str | None] = []  # hrefs of the open <a> elements, innermost last
        self.xrefs: list[tuple[str, str | None]] = []
        self.ids: set[str] = set()
        self._text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(attributes["id"])
        if tag == "a":
            self.links.append(attributes.get("href"))
        classes = (attributes.get("class") or "").split()
        if tag == "code" and "xref" in classes and "py" in classes:
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self.links:
            self.links.pop()
        if tag == "code" and self._text is not None:
            href = next((h for h in reversed(self.links) if h), None)
            self.xrefs.append(("".join(self._text), href))
            self._text = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


def parse(html: str) -> _PyXrefs:
    parser = _PyXrefs()
    parser.feed(html)
    parser.close()
    return parser


def link_problems(html: str, n_roles: int, api_ids: set[str]) -> list[str]:
    """What is wrong with the API links of one built page (empty when all is well)."""
    xrefs = parse(html).xrefs
    problems = [
        f"`{text}` is not a link: its py role names no object documented in api.md "
        "(see the targets with `python -m sphinx.ext.intersphinx book/_build/html/objects.inv`)"
        for text, href in xrefs
        if href is None
    ]
    links = [(text, href) for text, href in xrefs if href is not None]
    if not any(API_LINK.match(href) for _, href in links):
        problems.append("no link into the API reference (api.html#...mmtutorial.)")
    if len(xrefs) != n_roles:
        problems.append(
            f"{n_roles} py roles in the source but {len(xrefs)} cross-references in the HTML: "
            "is the build stale (run `make book`), or did a role render as plain text?"
        )
    problems += [
        f"`{text}` links to {href}, which is not an anchor of api.html"
        for text, href in links
        if href.startswith("api.html#") and href.split("#", 1)[1] not in api_ids
    ]
    if ROLE_AS_TEXT.search(html):
        problems.append("a role left as text in the page (`{py:...}`): it was not parsed")
    return problems


@pytest.fixture(scope="module", params=[edition["folder"] for edition in EDITIONS.values()])
def edition(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def api_ids(edition: str) -> set[str]:
    api = BUILD / f"{edition}api.html"
    if not api.is_file():
        pytest.fail(_not_built(f"{edition}api.html"))
    return parse(api.read_text(encoding="utf-8")).ids


def test_every_chapter_is_checked():
    chapters = [name for name in SOURCES if name.startswith("ch")]
    assert len(chapters) >= 4, f"expected the chapters ch01..ch04 under {BOOK}, found {chapters}"


@pytest.mark.parametrize("name", SOURCES)
def test_page_links_resolve_into_the_api_reference(name: str, edition: str, api_ids: set[str]):
    page = BUILD / f"{edition}{name}.html"
    if not page.is_file():
        pytest.fail(_not_built(page.name))
    n_roles = len(PY_ROLE.findall(_prose(SOURCES[name])))
    problems = link_problems(page.read_text(encoding="utf-8"), n_roles, api_ids)
    assert not problems, f"{page.relative_to(BUILD)}:\n  " + "\n  ".join(problems)


# The check itself, on HTML as Sphinx writes it for a resolved and for an unresolved role.
RESOLVED = (
    '<a class="reference internal" href="api.html#mmtutorial.data.load_digits" '
    'title="mmtutorial.data.load_digits"><code class="xref py py-func docutils literal '
    'notranslate"><span class="pre">load_digits</span></code></a>'
)
UNRESOLVED = (
    '<code class="xref py py-class docutils literal notranslate">'
    '<span class="pre">NoSuchNet</span></code>'
)
IDS = {"mmtutorial.data.load_digits"}
DANGLING = RESOLVED.replace("#mmtutorial.data.load_digits", "#mmtutorial.data.gone")


def test_roles_in_directives_count_and_roles_in_code_do_not():
    text = (
        "````{exercise} 1\n:label: ch02-ex1\n\nUse {py:func}`f <m.f>`.\n````\n"
        "```python\n{py:func}`g`\n```\nand {py:class}`C <m.C>`."
    )
    assert len(PY_ROLE.findall(without_code(text))) == 2


def test_a_resolved_link_passes():
    assert link_problems(f"<p>{RESOLVED}</p>", 1, IDS) == []


@pytest.mark.parametrize(
    ("html", "n_roles", "expected"),
    [
        (f"<p>{RESOLVED} {UNRESOLVED}</p>", 2, "`NoSuchNet` is not a link"),
        ("<p>no links at all</p>", 0, "no link into the API reference"),
        (f"<p>{RESOLVED}</p>", 2, "2 py roles in the source but 1"),
        (f"<p>{DANGLING}</p>", 1, "not an anchor of api.html"),
        (f"<p>{RESOLVED} {{py:func}}<code>x</code></p>", 1, "a role left as text"),
    ],
    ids=["unresolved", "no-link", "stale", "missing-anchor", "literal-role"],
)
def test_each_kind_of_broken_link_is_caught(html: str, n_roles: int, expected: str):
    problems = link_problems(html, n_roles, IDS)
    assert any(expected in p for p in problems), problems
