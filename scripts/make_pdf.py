"""Print each edition of the book to one PDF with the Chromium the browser check uses.

``make pdf`` builds the single-page HTML of both editions (``scripts/build_book.py --builder
singlehtml``) and runs this script, which opens each from localhost, waits for MathJax and the
fonts, opens the collapsed solutions, adds a table of contents of the chapters, starts each chapter
on a new page, and prints A4 pages with page numbers and PDF bookmarks to
``book/_build/pdf/`` (file names in ``book_editions``, ``book/_config.yml``). The next ``make book``
links each PDF from its edition's pages (book/_ext/reader_site.py); ``tests/pdf_check.py`` reads
them back.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from sitecheck import EDITIONS, PDFS, ROOT, launch_chromium, serve, settle  # noqa: E402

SINGLE = ROOT / "book" / "_build" / "singlehtml"

# Each document of the book starts after a <span id="document-NAME">; its first heading is its
# title. The contents list those titles, linked, after the book's title.
PREPARE = """(heading) => {
    document.querySelectorAll("details").forEach((details) => { details.open = true; });
    const starts = [...document.querySelectorAll("span[id^='document-']")];
    const contents = document.createElement("nav");
    contents.id = "book-pdf-contents";
    contents.innerHTML = "<h2></h2><ol></ol>";
    contents.querySelector("h2").textContent = heading;
    for (const start of starts) {
        const section = start.nextElementSibling;
        const heading = section?.querySelector("h1, h2");
        if (!section || !heading || !section.id) continue;
        section.classList.add("book-pdf-chapter");
        const title = heading.cloneNode(true);
        title.querySelectorAll(".headerlink").forEach((a) => a.remove());
        const item = document.createElement("li");
        const link = document.createElement("a");
        link.href = "#" + section.id;
        link.textContent = title.textContent.trim();
        item.append(link);
        contents.querySelector("ol").append(item);
    }
    document.querySelector("article h1").after(contents);
    const style = document.createElement("style");
    style.textContent = `
        .book-pdf-chapter { break-before: page; }
        #book-pdf-contents { break-after: page; }
        #book-pdf-contents ol { font-size: 1.1rem; line-height: 2; }
        pre { white-space: pre-wrap; overflow-wrap: anywhere; }
        .headerlink, .copybtn, .book-source-links, .prev-next-footer { display: none !important; }
    `;
    document.head.append(style);
    return contents.querySelectorAll("li").length;
}"""
FOOTER = (
    '<div style="font-size: 8px; width: 100%; text-align: center; color: #555;">'
    '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'
)


def print_edition(single: Path, pdf: Path, contents: str) -> None:
    page_file = single / "intro.html"
    if not page_file.is_file():
        sys.exit(
            f"{page_file} is missing: `make pdf` builds it "
            "(scripts/build_book.py --builder singlehtml)"
        )
    pdf.parent.mkdir(parents=True, exist_ok=True)
    with (
        serve(single) as base,
        sync_playwright() as playwright,
        tempfile.TemporaryDirectory() as tmp,
    ):
        context = launch_chromium(playwright, Path(tmp))
        page = context.new_page()
        page.goto(base + page_file.name, wait_until="load")
        settle(page)
        chapters = page.evaluate(PREPARE, contents)
        page.emulate_media(media="print")
        page.evaluate("document.fonts.ready")
        page.pdf(
            path=str(pdf),
            format="A4",
            margin={"top": "18mm", "bottom": "18mm", "left": "16mm", "right": "16mm"},
            print_background=True,
            display_header_footer=True,
            header_template="<span></span>",
            footer_template=FOOTER,
            outline=True,
            tagged=True,
        )
        context.close()
    print(f"wrote {pdf.relative_to(ROOT)}: {chapters} documents, {pdf.stat().st_size} bytes")


if __name__ == "__main__":
    for edition in EDITIONS.values():
        print_edition(SINGLE / edition["folder"], PDFS / edition["pdf"], edition["contents"])
