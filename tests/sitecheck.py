"""Serve the built book on localhost and open it in headless Chromium.

Shared by the browser check (``tests/test_site.py``) and the README screenshots
(``scripts/screenshots.py``). Uses the system's Chromium (Debian's ``chromium`` package), not a
browser downloaded by Playwright, so nothing is fetched from the network.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import re
import shutil
import sys
import threading
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))
from editions import editions  # noqa: E402

# The book's editions (book_editions in book/_config.yml): language -> {"folder": "" or "zh_CN/", …}
EDITIONS = editions()
# Where make pdf writes each edition's PDF (EDITIONS[language]["pdf"]).
PDFS = ROOT / "book" / "_build" / "pdf"
# The built book; BOOK_HTML points the checks at another build (e.g. a scratch copy).
BUILD = Path(os.environ.get("BOOK_HTML", ROOT / "book" / "_build" / "html")).resolve()

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@contextlib.contextmanager
def serve(directory: Path = BUILD) -> Iterator[str]:
    """Serve ``directory`` over HTTP on a free localhost port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def settle(page) -> None:
    """Wait until ``page`` has loaded, typeset its maths and got its fonts.

    Not ``networkidle``: with this Chromium it never fires for a page served from the cache.
    """
    page.wait_for_load_state("load")
    # MathJax is loaded with "defer", so it has started by "load"; wait for it to typeset.
    page.evaluate(
        """async () => {
            if (window.MathJax?.startup?.promise) await MathJax.startup.promise;
            await document.fonts.ready;
        }"""
    )


def chromium_path() -> str:
    """The system Chromium: ``$CHROMIUM`` if set, else ``chromium`` on the PATH."""
    path = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not path:
        raise RuntimeError(
            "Chromium not found: install Debian's `chromium` (make browser does it as root) "
            "or set CHROMIUM=/path/to/chromium"
        )
    return path


# The system's fonts less every CJK one: the browser sees what a reader without a Chinese font sees
# (Debian's default), even on a machine that has one, so the book's own font must do the work.
_REJECT_CJK = "\n".join(
    f'      <pattern><patelt name="lang"><string>{lang}</string></patelt></pattern>'
    for lang in ("zh-cn", "zh-tw", "zh-hk", "ja", "ko")
)
FONTCONFIG_WITHOUT_CJK = f"""<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <selectfont>
    <rejectfont>
{_REJECT_CJK}
    </rejectfont>
  </selectfont>
</fontconfig>
"""

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def launch_chromium(playwright, workdir: Path, viewport: dict = DESKTOP):
    """A fresh headless Chromium profile in ``workdir``, seeing no CJK system font; returns a
    browser context."""
    workdir.mkdir(parents=True, exist_ok=True)
    fonts_conf = workdir / "fonts-without-cjk.conf"
    fonts_conf.write_text(FONTCONFIG_WITHOUT_CJK, encoding="utf-8")
    return playwright.chromium.launch_persistent_context(
        str(workdir / "profile"),
        executable_path=chromium_path(),
        headless=True,
        args=CHROMIUM_ARGS,
        env={**os.environ, "FONTCONFIG_FILE": str(fonts_conf)},
        viewport=viewport,
        service_workers="block",
    )


def page_markdown(source: Path) -> str:
    """The markdown of a page's source: a notebook's markdown cells, or a Markdown file's text."""
    if source.suffix == ".ipynb":
        notebook = nbformat.read(source, as_version=4)
        return "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    return source.read_text(encoding="utf-8")


# --- The glossary's two lists (issue 22) ----------------------------------------------------------

HEADWORD = re.compile(r'<dt id="term-[^"]*">(.*?)<a class="headerlink"', re.S)
TABLE_ROW = re.compile(r"<tr[^>]*>\s*<td><p>(.*?)</p></td>\s*<td><p>(.*?)</p></td>", re.S)
TAG = re.compile(r"<[^>]+>")
LATIN_OR_HAN = re.compile(r"[A-Za-z]+|[\u4e00-\u9fff]+")


def glossary_lists(html: str) -> tuple[list[str], list[tuple[str, str]]]:
    """A built glossary page's headwords (English → 中文) and its table's (中文, pinyin) rows, in
    the order the page shows them."""
    headwords = [unescape(TAG.sub("", term)).strip() for term in HEADWORD.findall(html)]
    rows = [
        tuple(unescape(TAG.sub("", cell)).strip() for cell in row)
        for row in TABLE_ROW.findall(html)
    ]
    return headwords, rows


def english_key(term: str) -> str:
    """A–Z, ignoring case (Adam optimiser after activation function)."""
    return term.casefold()


def pinyin_key(chinese: str) -> list[tuple[str, int]]:
    """Dictionary order of a Chinese term: syllable by syllable, by letters and then by tone; a
    Latin word (Adam, logits) counts as one syllable spelled as it is."""
    from pypinyin import Style, lazy_pinyin

    key = []
    for part in LATIN_OR_HAN.findall(chinese):
        if part.isascii():
            key.append((part.lower(), 0))
            continue
        # the whole run at once, so that a character with two readings gets the phrase's (权重)
        for syllable in lazy_pinyin(part, style=Style.TONE3, neutral_tone_with_five=True):
            key.append((syllable.rstrip("012345"), int(syllable[-1])))
    return key


def toned_pinyin(chinese: str) -> str:
    """The pinyin with tone marks that pypinyin gives ``chinese``, syllables run together."""
    from pypinyin import Style, pinyin

    return "".join(p[0] for p in pinyin(chinese, style=Style.TONE))
