"""The rendered book, opened in a real headless Chromium, works offline.

Run after ``make book`` (``make browser``; ``make test`` does both). Every HTML page of
``book/_build/html`` (all but the theme's template fragments under ``_static/``; ``index.html``, a
redirect, only has to reach its target) is served on localhost and loaded as on a first visit, and
must: answer 200; log no console error; ask no host but localhost for anything; show every image;
typeset every formula (no raw TeX left, no MathJax error); offer copy buttons on code, and a
notebook download on notebook chapters. Every internal link must point at an existing file and
anchor, and the search page must find "backpropagation".
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from playwright.sync_api import sync_playwright
from sitecheck import BUILD, launch_chromium, serve, settle

BOOK_TITLE = "Backpropagation for Multimodal Learning"
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
        if path.relative_to(BUILD).parts[0] in {"_static", "_sources", "_images"}:
            continue
        if match := REFRESH.search(path.read_text(encoding="utf-8")[:2000]):
            redirects[name] = match.group(1)
        else:
            pages.append(name)
    return pages, redirects


PAGES, REDIRECTS = _pages()
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

    def __init__(self, context, url: str, redirect_to: str | None = None) -> None:
        self.console_errors: list[str] = []
        self.external_requests: list[str] = []
        self.failed_requests: list[str] = []
        self.page = page = context.new_page()
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


@pytest.fixture(scope="session")
def visits(browser, base_url):
    """Each page is loaded once and shared by the checks below; pages are closed at the end."""
    loaded: dict[str, PageVisit] = {}

    def visit(name: str) -> PageVisit:
        if name not in loaded:
            loaded[name] = PageVisit(browser, urljoin(base_url, name))
        return loaded[name]

    yield visit
    for visit_ in loaded.values():
        visit_.page.close()


def test_build_exists_and_lists_pages():
    assert (BUILD / "index.html").is_file(), NOT_BUILT
    assert "intro.html" in PAGES and "search.html" in PAGES, PAGES
    assert REDIRECTS == {"index.html": "intro.html"}, REDIRECTS


@pytest.mark.parametrize("name", sorted(REDIRECTS))
def test_redirect_reaches_its_page_offline(browser, base_url, name):
    visit = PageVisit(browser, urljoin(base_url, name), redirect_to=REDIRECTS[name])
    try:
        assert visit.response is not None and visit.response.status == 200
        assert visit.page.url == urljoin(base_url, REDIRECTS[name])
        assert visit.external_requests == [], f"{name} asked other hosts: {visit.external_requests}"
        assert visit.failed_requests == [], f"{name} failed requests: {visit.failed_requests}"
        assert visit.console_errors == [], f"{name} console errors: {visit.console_errors}"
    finally:
        visit.page.close()


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_offline_without_errors(visits, name):
    visit = visits(name)
    assert visit.response is not None and visit.response.status == 200
    assert visit.external_requests == [], f"{name} asked other hosts: {visit.external_requests}"
    assert visit.failed_requests == [], f"{name} failed requests: {visit.failed_requests}"
    assert visit.console_errors == [], f"{name} console errors: {visit.console_errors}"
    # Without a declared icon the browser asks for /favicon.ico, a 404 on every site.
    assert visit.page.locator("link[rel~='icon']").count() >= 1, f"{name} declares no favicon"
    title = visit.page.title()
    assert title.endswith(BOOK_TITLE) and title.strip(), f"{name} has title {title!r}"


@pytest.mark.parametrize("name", PAGES)
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


@pytest.mark.parametrize("name", PAGES)
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


@pytest.mark.parametrize("name", PAGES)
def test_no_unrendered_markup(visits, name):
    prose = visits(name).page.evaluate(VISIBLE_PROSE, "")
    leftovers = [match.group(0) for match in RAW_MARKUP.finditer(prose)]
    assert leftovers == [], f"{name}: markup shown as text: {leftovers}"


@pytest.mark.parametrize("name", PAGES)
def test_code_has_copy_buttons_and_notebooks_download(visits, name):
    page = visits(name).page
    code_blocks = page.locator("article div.highlight pre").count()
    assert page.locator("article .copybtn").count() >= code_blocks, (
        f"{name}: code without copy button"
    )
    if (BUILD / "_sources" / Path(name).with_suffix(".ipynb")).is_file():
        download = page.locator(f"a[href$='{Path(name).stem}.ipynb']")
        assert download.count() >= 1, f"{name}: no download link for the notebook"


@pytest.mark.parametrize("name", PAGES)
def test_internal_links_resolve(visits, base_url, name):
    page = visits(name).page
    hrefs = page.evaluate(
        "() => [...document.querySelectorAll('a[href], link[href]')].map((a) => a.href)"
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


def test_search_finds_backpropagation(browser, base_url):
    page = browser.new_page()
    try:
        page.goto(urljoin(base_url, "search.html?q=backpropagation"), wait_until="load")
        results = page.locator("#search-results ul.search li")
        results.first.wait_for(timeout=20_000)
        assert results.count() >= 1
        assert "intro.html" in " ".join(
            results.locator("a").evaluate_all("(links) => links.map((a) => a.href)")
        )
    finally:
        page.close()
