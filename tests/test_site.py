"""The rendered book, opened in a real headless Chromium, works offline.

Run after ``make book`` (``make browser``; ``make test`` does both). Every HTML page of
``book/_build/html`` (all but the theme's template fragments under ``_static/``; ``index.html``, a
redirect, only has to reach its target) is served on localhost and loaded as on a first visit, and
must: answer 200; log no console error; ask no host but localhost for anything; show every image;
typeset every formula (no raw TeX left, no MathJax error); offer copy buttons on code, and a
notebook download on notebook chapters. Every internal link must point at an existing file and
anchor, and the search page must find "backpropagation". Both editions are checked: the English
one at the root, the Chinese one under ``zh_CN/`` (every page has its twin there, and a language
switch that lands on it), whose search must find Chinese words.
"""

from __future__ import annotations

import re
import sys
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from fontTools.ttLib import TTFont
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright
from sitecheck import (
    BUILD,
    EDITIONS,
    PHONE,
    ROOT,
    english_key,
    glossary_lists,
    launch_chromium,
    pinyin_key,
    serve,
    settle,
    toned_pinyin,
)

import mmtutorial

sys.path.insert(0, str(ROOT / "scripts"))
from subset_font import CJK  # noqa: E402  the characters the book's font subset serves

BOOK_TITLE = "Backpropagation for Multimodal Learning"
BOOK_TITLE_ZH = EDITIONS["zh_CN"]["title"]
NOT_BUILT = (
    f"The book is not built: {BUILD / 'index.html'} is missing. "
    "Run `make book` first (`make test` builds it, then runs this check)."
)
REFRESH = re.compile(r"""<meta http-equiv="refresh" content="0; url=([^"]+)"\s*/?>""", re.I)


def _pages() -> tuple[list[str], dict[str, str]]:
    """The build's pages and its redirect stubs (index.html), relative to its root.

    Template fragments of the theme under _static/ are not pages.
    """
    if not (BUILD / "index.html").is_file():
        return ["intro.html"], {"index.html": "intro.html"}  # the fixtures fail with NOT_BUILT
    pages, redirects = [], {}
    for path in sorted(BUILD.rglob("*.html")):
        name = path.relative_to(BUILD).as_posix()
        if {"_static", "_sources", "_images"} & set(path.relative_to(BUILD).parts):
            continue
        if match := REFRESH.search(path.read_text(encoding="utf-8")[:2000]):
            redirects[name] = match.group(1)
        else:
            pages.append(name)
    return pages, redirects


PAGES, REDIRECTS = _pages()


def by_page(names: list[str]) -> list:
    """``names`` as test parameters, each marked with its page (``xdist_group``): conftest.py runs
    a page's checks one after another, so that a page loads once per width and is closed when its
    checks are done. (make browser runs one worker; with ``-n 2 --dist loadgroup`` each worker
    would take whole pages, so that no page loads twice.)"""
    return [pytest.param(name, marks=pytest.mark.xdist_group(name)) for name in names]


BOOK = ROOT / "book"
CHINESE = EDITIONS["zh_CN"]["folder"]  # "zh_CN/", the Chinese edition's folder in the build


def _split(name: str) -> tuple[str, str]:
    """A built page's edition folder ("" or "zh_CN/") and its name within the edition."""
    return (CHINESE, name.removeprefix(CHINESE)) if name.startswith(CHINESE) else ("", name)


LOCAL_HOSTS = {"127.0.0.1", "localhost"}
# The text of the page's article, without code (where TeX and markup may legitimately appear) and
# without the elements matched by the extra selector passed as argument.
VISIBLE_PROSE = """(extra) => {
    const article = document.querySelector("article")?.cloneNode(true);
    if (!article) return "";
    const code = "pre, code, script, style, .highlight" + (extra ? ", " + extra : "");
    article.querySelectorAll(code).forEach((element) => element.remove());
    return article.innerText;
}"""
RAW_TEX = re.compile(r"\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{")
# Markup that reached the page as text: an rST directive (``.. automodule::``) or MyST role.
RAW_MARKUP = re.compile(r"^\.\. [\w:-]+::|^```\{|\{(?:doc|ref|eq|cite|numref)\}`", re.MULTILINE)


class _Anchors(HTMLParser):
    """Collects every id (and legacy ``<a name>``) of an HTML file."""

    def __init__(self) -> None:
        super().__init__()
        self.anchors: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and (name == "id" or (tag == "a" and name == "name")):
                self.anchors.add(value)


_anchor_cache: dict[Path, set[str]] = {}


def anchors_of(path: Path) -> set[str]:
    if path not in _anchor_cache:
        parser = _Anchors()
        parser.feed(path.read_text(encoding="utf-8"))
        _anchor_cache[path] = parser.anchors
    return _anchor_cache[path]


@pytest.fixture(scope="session")
def base_url():
    if not (BUILD / "index.html").is_file():
        pytest.fail(NOT_BUILT, pytrace=False)
    with serve(BUILD) as url:
        yield url


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    with sync_playwright() as playwright:
        context = launch_chromium(playwright, tmp_path_factory.mktemp("chromium-profile"))
        # Every page is checked as on a first visit: nothing remembered from the previous one.
        context.add_init_script("localStorage.clear(); sessionStorage.clear();")
        yield context
        context.close()


class PageVisit:
    """One page loaded in the browser, with everything it logged and requested."""

    def __init__(
        self, context, url: str, redirect_to: str | None = None, viewport: dict | None = None
    ) -> None:
        self.console_errors: list[str] = []
        self.external_requests: list[str] = []
        self.failed_requests: list[str] = []
        self.page = page = context.new_page()
        if viewport:
            page.set_viewport_size(viewport)
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.console_errors.append(f"uncaught: {error}"))
        page.on("requestfailed", self._on_failed)
        page.on("response", self._on_response)
        # Anything for another host is recorded and refused, so the check never waits on it.
        page.route("**/*", self._route)
        self.response = page.goto(url, wait_until="commit" if redirect_to else "load")
        if redirect_to:
            page.wait_for_url(urljoin(url, redirect_to), wait_until="load")
        settle(page)

    def _route(self, route) -> None:
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS or route.request.url.startswith(
            ("data:", "blob:", "about:")
        ):
            route.continue_()
        else:
            self.external_requests.append(route.request.url)
            route.abort()

    def _on_console(self, message) -> None:
        if message.type == "error":
            self.console_errors.append(f"{message.text} ({message.location.get('url')})")

    def _on_failed(self, request) -> None:
        if urlsplit(request.url).hostname in LOCAL_HOSTS:
            self.failed_requests.append(f"{request.url}: {request.failure}")

    def _on_response(self, response) -> None:
        if response.status >= 400:
            self.failed_requests.append(f"{response.url}: HTTP {response.status}")


def _visits(browser, base_url, viewport=None):
    loaded: dict[str, PageVisit] = {}

    def visit(name: str) -> PageVisit:
        if name not in loaded:
            # The checks of a page run one after another (by_page, conftest.py): the pages before
            # the last one are done with, and closed. Run out of that order, a page is loaded
            # anew, as on a first visit.
            for done in list(loaded)[:-1]:
                loaded.pop(done).page.close()
            loaded[name] = PageVisit(browser, urljoin(base_url, name), viewport=viewport)
        return loaded[name]

    return visit, loaded


@pytest.fixture(scope="session")
def visits(browser, base_url):
    """Each page is loaded once at desktop width (1280 x 800) and shared by the checks below."""
    visit, loaded = _visits(browser, base_url)
    yield visit
    for visit_ in loaded.values():
        visit_.page.close()


@pytest.fixture(scope="session")
def phone_visits(browser, base_url):
    """Each page loaded once more at a phone's width (390 x 844)."""
    visit, loaded = _visits(browser, base_url, PHONE)
    yield visit
    for visit_ in loaded.values():
        visit_.page.close()


def test_build_exists_and_lists_pages():
    assert (BUILD / "index.html").is_file(), NOT_BUILT
    assert "intro.html" in PAGES and "search.html" in PAGES, PAGES
    assert REDIRECTS == {"index.html": "intro.html", "zh_CN/index.html": "intro.html"}, REDIRECTS
    english = sorted(name for name in PAGES if not name.startswith(CHINESE))
    assert sorted(_split(name)[1] for name in PAGES if name.startswith(CHINESE)) == english


@pytest.mark.parametrize("name", sorted(REDIRECTS))
def test_redirect_reaches_its_page_offline(browser, base_url, name):
    visit = PageVisit(browser, urljoin(base_url, name), redirect_to=REDIRECTS[name])
    try:
        assert visit.response is not None and visit.response.status == 200
        assert visit.page.url == urljoin(urljoin(base_url, name), REDIRECTS[name])
        assert visit.external_requests == [], f"{name} asked other hosts: {visit.external_requests}"
        assert visit.failed_requests == [], f"{name} failed requests: {visit.failed_requests}"
        assert visit.console_errors == [], f"{name} console errors: {visit.console_errors}"
    finally:
        visit.page.close()


@pytest.mark.parametrize("name", by_page(PAGES))
def test_page_loads_offline_without_errors(visits, name):
    visit = visits(name)
    assert visit.response is not None and visit.response.status == 200
    assert visit.external_requests == [], f"{name} asked other hosts: {visit.external_requests}"
    assert visit.failed_requests == [], f"{name} failed requests: {visit.failed_requests}"
    assert visit.console_errors == [], f"{name} console errors: {visit.console_errors}"
    # Without a declared icon the browser asks for /favicon.ico, a 404 on every site.
    assert visit.page.locator("link[rel~='icon']").count() >= 1, f"{name} declares no favicon"
    title = visit.page.title()
    book_title = BOOK_TITLE_ZH if name.startswith(CHINESE) else BOOK_TITLE
    assert title.endswith(book_title) and title.strip(), f"{name} has title {title!r}"


@pytest.mark.parametrize("name", by_page(PAGES))
def test_images_load(visits, name):
    page = visits(name).page
    broken = page.evaluate(
        """async () => {
            const images = [...document.images];
            images.forEach((img) => { img.loading = "eager"; });
            await Promise.all(images.map((img) => img.decode().catch(() => null)));
            return images.filter((img) => !(img.complete && img.naturalWidth > 0))
                         .map((img) => img.currentSrc || img.src);
        }"""
    )
    assert broken == [], f"{name}: images that did not load: {broken}"


@pytest.mark.parametrize("name", by_page(PAGES))
def test_maths_is_typeset(visits, name):
    page = visits(name).page
    formulas = page.locator("article .math")
    if formulas.count() == 0:
        assert page.locator("article mjx-container").count() == 0
        return
    assert page.locator("article mjx-container").count() >= formulas.count(), (
        f"{name}: {formulas.count()} formulas, "
        f"{page.locator('article mjx-container').count()} typeset by MathJax"
    )
    errors = page.locator("article mjx-merror").all_text_contents()
    assert errors == [], f"{name}: MathJax could not typeset: {errors}"
    prose = page.evaluate(VISIBLE_PROSE, "mjx-container")
    leftovers = sorted({match.group(0) for match in RAW_TEX.finditer(prose)})
    assert leftovers == [], f"{name}: raw TeX delimiters left in the text: {leftovers}"


@pytest.mark.parametrize("name", by_page(PAGES))
def test_no_unrendered_markup(visits, name):
    prose = visits(name).page.evaluate(VISIBLE_PROSE, "")
    leftovers = [match.group(0) for match in RAW_MARKUP.finditer(prose)]
    assert leftovers == [], f"{name}: markup shown as text: {leftovers}"


@pytest.mark.parametrize("name", by_page(PAGES))
def test_code_has_copy_buttons_and_notebooks_download(visits, name):
    page = visits(name).page
    code_blocks = page.locator("article div.highlight pre").count()
    assert page.locator("article .copybtn").count() >= code_blocks, (
        f"{name}: code without copy button"
    )
    edition, own = _split(name)
    if (BUILD / edition / "_sources" / Path(own).with_suffix(".ipynb")).is_file():
        download = page.locator(f"a[href$='{Path(name).stem}.ipynb']")
        assert download.count() >= 1, f"{name}: no download link for the notebook"


@pytest.mark.parametrize("name", by_page(PAGES))
def test_internal_links_resolve(visits, base_url, name):
    page = visits(name).page
    # "Edit this page" points into the repository, outside the site (test_edit_link_*).
    hrefs = page.evaluate(
        "() => [...document.querySelectorAll('a[href]:not(.book-edit-page), link[href]')]"
        ".map((a) => a.href)"
    )
    page_url = urljoin(base_url, name)
    broken = []
    for href in sorted(set(hrefs)):
        parts = urlsplit(href)
        if parts.scheme not in {"http", "https"} or parts.hostname not in LOCAL_HOSTS:
            continue  # links to other sites are navigation, not requests; not followed offline
        target = BUILD / unquote(parts.path).lstrip("/")
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            broken.append(f"{href} (no file {target.relative_to(BUILD)})")
            continue
        fragment = unquote(parts.fragment)
        if not fragment or target.suffix != ".html":
            continue
        if href.split("#")[0] == page_url.split("#")[0]:
            found = page.evaluate("(id) => document.getElementById(id) !== null", fragment)
        else:
            found = fragment in anchors_of(target)
        if not found:
            broken.append(f"{href} (no anchor #{fragment})")
    assert broken == [], f"{name}: broken internal links: {broken}"


WANTED_RESULTS = """(names) => {
    const hrefs = [...document.querySelectorAll("#search-results ul.search li a")]
        .map((a) => a.href).join(" ");
    return names.every((name) => hrefs.includes(name));
}"""


@pytest.mark.parametrize(
    ("query", "expected_pages"),
    [
        ("backpropagation", ["intro.html"]),
        # 反向传播 (backpropagation) is a term of the glossary and of chapter 3a's derivation.
        ("反向传播", ["glossary.html", "ch03a_formulas.html"]),
        # The Chinese edition's index splits Chinese into words (jieba), and so does the search
        # box (book/_static/chinese_search.js): a term inside a sentence is found, also one that
        # jieba splits in two (反向 传播, 有限 差分).
        ("反向传播", ["zh_CN/intro.html", "zh_CN/ch03a_formulas.html"]),
        ("有限差分", ["zh_CN/ch03a_formulas.html", "zh_CN/ch03b_numpy.html"]),
        ("模态", ["zh_CN/ch01_background.html", "zh_CN/ch05_challenges.html"]),
    ],
)
def test_offline_search_finds_the_right_pages(browser, base_url, query, expected_pages):
    page = browser.new_page()
    edition = _split(expected_pages[0])[0]
    try:
        page.goto(urljoin(base_url, f"{edition}search.html?q={query}"), wait_until="load")
        results = page.locator("#search-results ul.search li")
        results.first.wait_for(timeout=20_000)
        # Sphinx lists the results one by one: wait until the expected pages are listed (or time
        # out, and the assert below names what was found).
        try:
            page.wait_for_function(WANTED_RESULTS, arg=expected_pages, timeout=20_000)
        except PlaywrightTimeout:
            pass
        hrefs = " ".join(results.locator("a").evaluate_all("(links) => links.map((a) => a.href)"))
        assert all(name in hrefs for name in expected_pages), hrefs
    finally:
        page.close()


# --- Chinese renders with the book's own font -----------------------------------------------------

FONT_FAMILY = "Noto Sans SC Book"
FONT_FILES = sorted((BUILD / "_static" / "fonts").glob("*.woff2"))
# Widths of a string drawn in the book's face, in the system's sans-serif (no CJK font: empty
# boxes), and of as many private-use characters (empty boxes in any font); and the faces' status.
FONT_PROBE = """([family, text]) => {
    const width = (font, string) => {
        const span = document.createElement("span");
        span.style.cssText = "position: absolute; visibility: hidden; white-space: pre;";
        span.style.font = font;
        span.textContent = string;
        document.body.append(span);
        const result = span.getBoundingClientRect().width;
        span.remove();
        return result;
    };
    return {
        book: width(`32px "${family}"`, text),
        system: width("32px sans-serif", text),
        tofu: width("32px sans-serif", "\\uE000".repeat([...text].length)),
        faces: [...document.fonts]
            .filter((face) => face.family.replaceAll('"', "") === family)
            .map((face) => face.status),
    };
}"""


def _font_characters() -> set[str]:
    return {chr(code) for path in FONT_FILES for code in TTFont(path).getBestCmap()}


@pytest.mark.parametrize("name", by_page(PAGES))
def test_chinese_renders_with_the_books_font(visits, name):
    page = visits(name).page
    chars = sorted(set(CJK.findall(page.evaluate("() => document.body.innerText"))))
    probe = page.evaluate(FONT_PROBE, [FONT_FAMILY, "".join(chars[:40]) or "中文"])
    assert abs(probe["system"] - probe["tofu"]) < 0.5, (
        "the browser has a CJK system font, so this check proves nothing: "
        f"{probe} (sitecheck.FONTCONFIG_WITHOUT_CJK should hide it)"
    )
    if not chars:
        assert "loaded" not in probe["faces"], f"{name} downloads the CJK font without Chinese"
        return
    missing = sorted(set(chars) - _font_characters())
    assert not missing, f"{name}: characters the book's font lacks (run `make font`): {missing}"
    assert "loaded" in probe["faces"], f"{name}: the CJK font was not loaded: {probe['faces']}"
    assert abs(probe["book"] - probe["tofu"]) > 0.2 * probe["tofu"], (
        f"{name}: Chinese drawn as empty boxes: {probe}"
    )


# --- Phones, narrow windows, and one search box ---------------------------------------------------

# Layout of a page as drawn: the document's width, boxes sticking out of the viewport (outside a box
# that scrolls or clips them: code blocks, wide tables, formulas), and the code cells, display
# formulas and tables narrower than 90 % of the article's column (squeezed by a margin note).
LAYOUT = """() => {
    const describe = (el) => el.tagName.toLowerCase()
        + (el.id ? "#" + el.id : "")
        + (el.classList.length ? "." + [...el.classList].slice(0, 3).join(".") : "");
    const article = document.querySelector("article.bd-article") || document.querySelector("main");
    const style = getComputedStyle(article);
    const column = article.clientWidth - parseFloat(style.paddingLeft)
        - parseFloat(style.paddingRight);
    const sticking = [];
    for (const el of document.querySelectorAll("body *:not(mjx-container *, svg *)")) {
        const box = el.getBoundingClientRect();
        if (box.width === 0 || box.right <= innerWidth + 1) continue;
        if (!el.checkVisibility({ visibilityProperty: true })) continue;
        let parent = el.parentElement, contained = false;
        for (; parent && parent !== document.body; parent = parent.parentElement) {
            if (getComputedStyle(parent).overflowX !== "visible") { contained = true; break; }
        }
        if (!contained) sticking.push(`${describe(el)} ends at ${Math.round(box.right)}px`);
    }
    const blocks = "div.cell, div.cell > div.cell_input, mjx-container[display='true'],"
        + " .pst-scrollable-table-container";
    const squeezed = [];
    for (const el of article.querySelectorAll(blocks)) {
        if (!el.checkVisibility() || el.closest("li, dd, blockquote, aside, .admonition, details"))
            continue;
        const width = el.getBoundingClientRect().width;
        if (width < 0.9 * column)
            squeezed.push(`${describe(el)} is ${Math.round(width)}px of ${Math.round(column)}px`);
    }
    return {
        documentWidth: document.documentElement.scrollWidth,
        viewport: innerWidth,
        sticking: sticking.slice(0, 10),
        squeezed: squeezed.slice(0, 10),
        cells: article.querySelectorAll("div.cell").length,
    };
}"""
# Every control that opens or is a search box, outside the search dialog, as drawn.
SEARCH_BOXES = """() => [...document.querySelectorAll(
        ".search-button__button, input[type='search'], #searchbox input")]
    .filter((el) => !el.closest("#pst-search-dialog")
        && el.checkVisibility({ visibilityProperty: true }) && el.getBoundingClientRect().width > 0)
    .map((el) => (el.className || el.tagName) + " in " + el.parentElement.className)"""


@pytest.mark.parametrize("name", by_page(PAGES))
def test_phone_layout(phone_visits, name):
    visit = phone_visits(name)
    assert visit.console_errors == [], f"{name} at phone width: {visit.console_errors}"
    layout = visit.page.evaluate(LAYOUT)
    assert layout["documentWidth"] <= layout["viewport"], f"{name} scrolls sideways: {layout}"
    assert layout["sticking"] == [], f"{name}: boxes wider than the phone: {layout['sticking']}"
    assert layout["squeezed"] == [], f"{name}: squeezed at phone width: {layout['squeezed']}"
    toggle = visit.page.locator(".bd-header-article .primary-toggle")
    assert toggle.is_visible(), f"{name}: no navigation button at phone width"


@pytest.mark.parametrize("name", by_page(PAGES))
def test_desktop_layout(visits, name):
    layout = visits(name).page.evaluate(LAYOUT)
    assert layout["documentWidth"] <= layout["viewport"], f"{name} scrolls sideways: {layout}"
    assert layout["sticking"] == [], f"{name}: boxes wider than the window: {layout['sticking']}"
    assert layout["squeezed"] == [], f"{name}: squeezed at desktop width: {layout['squeezed']}"


@pytest.mark.parametrize("name", by_page(PAGES))
def test_one_search_box_at_every_width(visits, phone_visits, name):
    for width, visit in (("desktop", visits(name)), ("phone", phone_visits(name))):
        boxes = visit.page.evaluate(SEARCH_BOXES)
        assert len(boxes) == 1, f"{name} at {width} width shows {len(boxes)} search boxes: {boxes}"


@pytest.mark.xdist_group("intro.html")
def test_navigation_is_reachable_on_a_phone(phone_visits):
    """The chapter list is folded away and opens in a panel from the article's menu button."""
    page = phone_visits("intro.html").page
    chapter = page.locator("a[href='ch01_background.html']").filter(visible=True)
    assert chapter.count() == 0, "the chapter list should start folded away on a phone"
    page.locator(".bd-header-article .primary-toggle").click()
    chapter.first.wait_for(state="visible", timeout=5_000)
    box = chapter.first.bounding_box()
    assert box and 0 <= box["x"] and box["x"] + box["width"] <= PHONE["width"], box
    page.keyboard.press("Escape")


# --- Downloads, edit links, titles, previews -----------------------------------------------------


@pytest.mark.parametrize("name", by_page(PAGES))
def test_downloads_edit_link_and_tab_title(visits, name):
    page = visits(name).page
    edition, own = _split(name)
    source = next(
        (p for p in sorted(BOOK.glob(Path(own).stem + ".*")) if p.suffix in {".ipynb", ".md"}),
        None,
    )
    zip_link = page.locator("a.book-download-zip")
    if source is None:  # generated pages (search, indexes) have no source and no links
        return
    assert zip_link.is_visible(), f"{name}: no link to the zip of all notebooks"
    if source.suffix == ".ipynb":
        notebook = page.locator("a.book-download-notebook")
        assert notebook.is_visible(), f"{name}: no visible 'Download this chapter (.ipynb)'"
        assert notebook.get_attribute("href") == f"_sources/{source.name}"
    edit = page.locator("a.book-edit-page").get_attribute("href")
    if edition:  # the Chinese page's prose is in its catalog
        source = BOOK / "locales" / "zh_CN" / "LC_MESSAGES" / f"{source.stem}.po"
    expected = "../" * (3 + edition.count("/")) + source.relative_to(ROOT).as_posix()
    assert edit == expected, f"{name}: edit link {edit!r}"
    # The default edit link reaches the page's source from the build, in this checkout.
    assert (BUILD / edition / edit).resolve() == source.resolve(), edit
    heading = page.evaluate(
        """() => { const h1 = document.querySelector("article h1").cloneNode(true);
                   h1.querySelectorAll(".headerlink").forEach((a) => a.remove());
                   return h1.textContent.trim(); }"""
    )
    assert page.title().startswith(heading), f"{name}: tab title {page.title()!r} lacks {heading!r}"


@pytest.mark.parametrize("name", by_page(PAGES))
def test_language_switch_lands_on_the_same_page(visits, base_url, name):
    """Every page links its twin in the other edition, in that edition's language."""
    edition, own = _split(name)
    switch = visits(name).page.locator("a.book-language-switch")
    assert switch.count() == 1 and switch.is_visible(), f"{name}: no language switch"
    twin = own if edition else CHINESE + own
    assert switch.evaluate("(a) => a.href") == urljoin(base_url, twin), f"{name}: {switch}"
    assert switch.get_attribute("hreflang") == EDITIONS["en" if edition else "zh_CN"]["lang"]
    html_lang = visits(name).page.evaluate("() => document.documentElement.lang")
    assert html_lang == EDITIONS["zh_CN" if edition else "en"]["lang"], f"{name}: {html_lang!r}"
    if edition and any(BOOK.glob(Path(own).stem + ".*")):  # a page of the book, translated
        heading = visits(name).page.locator("article h1").first.text_content()
        assert CJK.search(heading), f"{name}: the heading {heading!r} is not in Chinese"


def test_language_switch_is_followed_both_ways(browser, base_url):
    page = browser.new_page()
    try:
        page.goto(urljoin(base_url, "ch02_concepts.html"), wait_until="load")
        page.locator("a.book-language-switch").click()
        page.wait_for_url(urljoin(base_url, "zh_CN/ch02_concepts.html"), wait_until="load")
        assert page.locator("article h1").count() == 1
        page.locator("a.book-language-switch").click()
        page.wait_for_url(urljoin(base_url, "ch02_concepts.html"), wait_until="load")
    finally:
        page.close()


def test_zip_holds_every_notebook_and_the_wheel():
    with zipfile.ZipFile(BUILD / "downloads" / "mmtutorial-notebooks.zip") as archive:
        names = set(archive.namelist())
    expected = {f"mmtutorial-book/notebooks/{p.name}" for p in BOOK.glob("*.ipynb")}
    expected |= {
        "mmtutorial-book/README.md",
        "mmtutorial-book/LICENSE",
        f"mmtutorial-book/mmtutorial-{mmtutorial.__version__}-py3-none-any.whl",
    }
    assert expected <= names, sorted(expected - names)
    assert not any(name.startswith("mmtutorial-book/mmtutorial/") for name in names)


@pytest.mark.xdist_group("intro.html")
def test_front_page_previews_well(visits):
    page = visits("intro.html").page
    meta = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll("meta[name], meta[property]")]
               .map((m) => [m.getAttribute("name") || m.getAttribute("property"), m.content]))"""
    )
    assert len(meta.get("description", "")) > 80, meta
    assert meta.get("og:title") == BOOK_TITLE, meta
    assert meta.get("og:description") == meta["description"], meta
    image = meta.get("og:image", "")
    assert image and (BUILD / image).is_file(), f"og:image {image!r} is not in the build"


# --- Accessibility --------------------------------------------------------------------------------

AXE = ROOT / "tests" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
AXE_RUN = """async ([context, options]) => {
    const where = context === "samples" ? { include: window.__styleSamples } : document;
    const settings = { preload: false, resultTypes: ["violations"], ...options };
    const results = await axe.run(where, settings);
    return results.violations.map((v) => ({
        rule: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.slice(0, 3).map((node) => node.target.join(" ")),
    }));
}"""
# Dark mode, set as the theme's switch sets it, without transitions (axe would read colours half
# way); then one element of each distinct text style (colour, background, size, weight): colour
# contrast is a property of the style, and axe on a whole page costs seconds.
DARK_MODE_SAMPLES = """() => {
    const style = document.createElement("style");
    style.textContent = "*, *::before, *::after { transition: none !important; }";
    document.head.append(style);
    document.documentElement.dataset.theme = "dark";
    document.documentElement.dataset.mode = "dark";
    const background = (el) => {
        for (; el; el = el.parentElement) {
            const colour = getComputedStyle(el).backgroundColor;
            if (colour !== "rgba(0, 0, 0, 0)" && colour !== "transparent") return colour;
        }
        return "none";
    };
    const samples = new Map();
    for (const el of document.body.querySelectorAll("*")) {
        if (![...el.childNodes].some((node) => node.nodeType === 3 && node.textContent.trim()))
            continue;
        const s = getComputedStyle(el);
        const key = [s.color, background(el), s.fontSize, s.fontWeight, s.opacity].join("|");
        if (!samples.has(key)) samples.set(key, el);
    }
    window.__styleSamples = [...samples.values()];
    return samples.size;
}"""
LIGHT_MODE = """() => {
    document.documentElement.dataset.theme = "light";
    document.documentElement.dataset.mode = "light";
}"""


@pytest.mark.parametrize("name", by_page(PAGES))
def test_accessibility(visits, name):
    """axe-core: no serious or critical violation of any rule in light mode (contrast, alt text,
    heading order, link and button names, ARIA, ...), and no colour contrast one in dark mode."""
    assert AXE.is_file(), f"{AXE} is missing: `make browser` installs it (npm ci in tests/axe)"
    page = visits(name).page
    page.add_script_tag(path=str(AXE))
    light = page.evaluate(AXE_RUN, ["document", {}])
    try:
        assert page.evaluate(DARK_MODE_SAMPLES) > 5
        dark = page.evaluate(AXE_RUN, ["samples", {"runOnly": ["color-contrast"]}])
    finally:
        page.evaluate(LIGHT_MODE)
    blocking = [
        {"mode": mode, **violation}
        for mode, violations in (("light", light), ("dark", dark))
        for violation in violations
        if violation["impact"] in {"serious", "critical"}
    ]
    assert blocking == [], f"{name}: accessibility violations: {blocking}"


@pytest.mark.parametrize(
    "language",
    [
        pytest.param(language, marks=pytest.mark.xdist_group(f"{edition['folder']}intro.html"))
        for language, edition in sorted(EDITIONS.items())
    ],
)
def test_front_page_links_the_pdf_when_built(visits, language):
    """``make pdf`` then ``make book``: every page, the front page first, links the whole book,
    each edition its own PDF."""
    edition, pdf = EDITIONS[language]["folder"], EDITIONS[language]["pdf"]
    # The build copies the PDF into downloads/ when make pdf had made one before it.
    built = (BUILD / edition / "downloads" / pdf).is_file()
    link = visits(f"{edition}intro.html").page.locator("a.book-download-pdf")
    if not built:
        assert link.count() == 0, "a link to a PDF that was never built"
        return
    assert link.is_visible(), "the PDF is built but the front page does not link it"
    assert link.get_attribute("href") == f"downloads/{pdf}"


# --- The Chinese edition speaks Chinese (issue 22) ------------------------------------------------

ENGLISH_NAMES = ROOT / "book" / "locales" / "zh_CN" / "english_names.toml"
# What a reader of a Chinese page may see in English: not prose (see english_names.toml).
NOT_PROSE = ", ".join(
    [
        "script, style, noscript, template",
        "pre, code, kbd, .highlight, div.cell_output, div.output",  # code cells, their outputs
        ".math, mjx-container",  # maths (its \text{} words: test_chinese_formulas_have_no_english)
        "span.bibtex-citation, .citation, .citation-list, div.bibliography",  # citations, entries
        "dl.py",  # the API reference's docstrings
        "dl.glossary > dt, .xref.std-term",  # the glossary's English headwords
    ]
)
# Every text a reader sees on the page (the sidebar too), and every image's alt text, outside the
# elements matched by the selector passed as argument.
SEEN_TEXT = """(skip) => {
    const seen = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const element = node.parentElement;
        if (!node.textContent.trim() || !element || element.closest(skip)) continue;
        if (!element.checkVisibility({ visibilityProperty: true })) continue;
        seen.push(node.textContent);
    }
    for (const image of document.querySelectorAll("img[alt]"))
        if (!image.closest(skip)) seen.push(image.alt);
    return seen.join(" ");
}"""
WORD = re.compile(r"[A-Za-zÀ-ɏ0-9_.'’-]*[A-Za-zÀ-ɏ][A-Za-zÀ-ɏ0-9_.'’-]*")
# A term's English gloss in brackets, as d2l-zh writes on a term's first use: 关键批量大小（critical
# batch size）, 「领域」（domain）, （即全归约，all-reduce）: full-width brackets after or around
# Chinese, holding at most four English words.
BRACKETS = re.compile(r"(\S)?\s*（([^（）]*)）")
HAN = re.compile(r"[\u4e00-\u9fff]")
LATIN_WORD = re.compile(r"[A-Za-zÀ-ɏ][A-Za-zÀ-ɏ'’-]*")


def without_glosses(text: str) -> str:
    def gloss(match: re.Match) -> str:
        before, inside = match.group(1) or "", match.group(2)
        words = LATIN_WORD.findall(inside)
        if (
            words
            and len(words) <= 4
            and (HAN.search(inside) or HAN.search(before) or (before and before in "」”"))
        ):
            return f"{before}（{LATIN_WORD.sub('', inside)}）"
        return match.group()

    return BRACKETS.sub(gloss, text)


GLOSS_IN_BRACKETS = re.compile(r"[（(][A-Za-z ,.'’-]+[）)]")


def english_words(text: str, allowed: set[str]) -> list[str]:
    """The English words of ``text`` that are not names in ``allowed``: a run of letters, with no
    digit, dot or underscore in it (float64, x1 and tf.nn.relu are identifiers, not words)."""
    found = []
    for match in WORD.finditer(text):
        word = match.group().strip(".'’-")
        if len(word) < 2 or re.search(r"[0-9_.]", word):
            continue
        parts = [part for part in re.split(r"['’-]", word) if part]
        if all(part in allowed for part in parts) or word in allowed:
            continue
        found.append(word)
    return found


def allowed_english() -> tuple[set[str], list[str]]:
    """The names (words) and the phrases english_names.toml allows, longest phrase first."""
    import tomllib

    with ENGLISH_NAMES.open("rb") as file:
        allowed = tomllib.load(file)
    return set(allowed["names"]), sorted(allowed["phrases"], key=len, reverse=True)


# What a page holds besides prose, by page: the glossary's pinyin column, the indexes' entries
# (the API's names and the glossary's English headwords), and the API reference's body: its
# module docstrings and the engine contract's table, generated from mmtutorial.contract, stay
# English (the page says so); its own prose, from api.md, is checked message by message by
# tests/test_translation.py, and its headings here.
NOT_PROSE_ON = {
    "api.html": "article p, article table, article ul, article ol",
    "glossary.html": "table td:nth-child(2)",
    "genindex.html": "table.indextable, div.genindex-jumpbox",
    "py-modindex.html": "table.modindextable, div.modindex-jumpbox",
}
CHINESE_PAGES = [name for name in PAGES if name.startswith(CHINESE)]


def english_on(page, name: str) -> list[str]:
    """The English words a reader sees on the Chinese page ``name`` that are not allowed."""
    own = _split(name)[1]
    skip = [NOT_PROSE, NOT_PROSE_ON.get(own, "script")]
    text = without_glosses(page.evaluate(SEEN_TEXT, ", ".join(skip)))
    if own == "glossary.html":
        text = GLOSS_IN_BRACKETS.sub(" ", text)
    names, phrases = allowed_english()
    for phrase in phrases:
        text = text.replace(phrase, " ")
    return english_words(text, names)


@pytest.mark.parametrize("name", by_page(CHINESE_PAGES))
def test_chinese_page_has_no_english_prose(visits, name):
    found = english_on(visits(name).page, name)
    assert not found, (
        f"{name}: English on a Chinese page (translate it, or if it is a name add it to "
        f"{ENGLISH_NAMES.relative_to(ROOT)}): {sorted(set(found))}"
    )


DISPLAY_MATHS = re.compile(r'<div class="math notranslate nohighlight">(.*?)</div>', re.S)
# Words inside \text{} of a display formula, unless a sub- or superscript label (W^{\text{sh}}).
TEXT_WORDS = re.compile(r"(?<![_^])(?<![_^]\{)\\text\{([^{}]*)\}")


@pytest.mark.parametrize("name", CHINESE_PAGES)
def test_chinese_formulas_have_no_english(name):
    html = (BUILD / name).read_text(encoding="utf-8")
    words = [w for maths in DISPLAY_MATHS.findall(html) for w in TEXT_WORDS.findall(maths)]
    found = english_words(" ".join(words), allowed_english()[0])
    assert not found, f"{name}: English words in \\text{{}} of a display formula: {found}"


def test_english_words_are_found_and_names_allowed():
    allowed = {"ReLU", "TensorFlow"}
    assert english_words("用 TensorFlow 训练 ReLU 网络", allowed) == []
    assert english_words("训练 for ReLU 的 float64 与 tf.nn.relu、x1", allowed) == ["for"]
    assert english_words("the shared layer 共享层", allowed) == ["the", "shared", "layer"]
    # a term's English gloss in brackets is not prose; a sentence in brackets is
    assert without_glosses("关键批量大小（critical batch size）与「领域」（domain）") == (
        "关键批量大小（  ）与「领域」（）"
    )
    assert english_words(without_glosses("（即全归约，all-reduce）"), allowed) == []
    gloss = "模型（which then learns nothing at all）"
    assert english_words(without_glosses(gloss), allowed) == gloss[3:-1].split()
    maths = r"\[\phi(a) \text{ for ReLU}, W^\text{sh} b^{\text{sh}}\]"
    html = f'<div class="math notranslate nohighlight">{maths}</div>'
    words = [w for maths in DISPLAY_MATHS.findall(html) for w in TEXT_WORDS.findall(maths)]
    assert english_words(" ".join(words), allowed) == ["for"]


@pytest.mark.parametrize("language", sorted(EDITIONS))
def test_glossary_lists_are_sorted_in_the_built_page(language):
    pytest.importorskip("pypinyin")
    page = BUILD / EDITIONS[language]["folder"] / "glossary.html"
    if not page.is_file():
        pytest.fail(NOT_BUILT, pytrace=False)
    headwords, rows = glossary_lists(page.read_text(encoding="utf-8"))
    assert len(headwords) > 40 and len(rows) == len(headwords), (len(headwords), len(rows))
    assert all(word.isascii() for word in headwords), f"headwords not English: {headwords}"
    assert headwords == sorted(headwords, key=english_key), f"English → 中文 unsorted: {headwords}"
    chinese = [zh for zh, _ in rows]
    assert chinese == sorted(chinese, key=pinyin_key), f"中文 → English unsorted: {chinese}"
    for zh, written in rows:
        if written != "—":  # a term kept in English (logits) has no pinyin
            assert written.replace(" ", "") == toned_pinyin(zh).replace(" ", ""), (zh, written)
