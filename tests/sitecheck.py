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
import shutil
import sys
import threading
from collections.abc import Iterator
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
