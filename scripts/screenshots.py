"""Screenshots of the rendered book for the README: the front page and one chapter on a desktop,
and a chapter on a phone.

Run after ``make book``: ``make screenshots`` (or ``.venv/bin/python scripts/screenshots.py
[PAGE ...]``, desktop only). Writes ``docs/screenshots/<page>.png``, 1280 x 800 browser pixels
scaled to 960 px wide, and ``<page>-phone.png``, 390 x 844, each reduced to a 256-colour palette so
the committed files stay small. Set ``BOOK_HTML`` to shoot another build. The browser sees no CJK
system font (as in the browser check): the Chinese is drawn with the font the book serves.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from sitecheck import BUILD, DESKTOP, PHONE, ROOT, launch_chromium, serve, settle  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
WIDTH = 960
# The README shows the front page and the chapter with the most formulas, and on a phone the
# chapter whose title and margin note are Chinese.
DEFAULT_PAGES = ["intro.html", "ch03a_formulas.html"]
PHONE_PAGES = ["ch02_concepts.html"]


def shoot(pages: list[str], phone_pages: list[str] = ()) -> list[Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    written = []
    with (
        serve(BUILD) as base,
        sync_playwright() as playwright,
        tempfile.TemporaryDirectory() as tmp,
    ):
        context = launch_chromium(playwright, Path(tmp) / "chromium")
        shots = [(name, DESKTOP, "") for name in pages]
        shots += [(name, PHONE, "-phone") for name in phone_pages]
        for name, viewport, suffix in shots:
            page = context.new_page()  # one per shot: networkidle is per first navigation
            page.set_viewport_size(viewport)
            page.goto(base + name, wait_until="load")
            settle(page)
            raw = Path(tmp) / "shot.png"
            page.screenshot(path=str(raw))
            image = Image.open(raw).convert("RGB")
            if image.width > WIDTH:
                height = round(image.height * WIDTH / image.width)
                image = image.resize((WIDTH, height), Image.LANCZOS)
            target = OUT / f"{Path(name).stem}{suffix}.png"
            palette = image.quantize(256, Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
            palette.save(target, optimize=True)
            written.append(target)
            page.close()
        context.close()
    return written


def main() -> None:
    if not (BUILD / "index.html").is_file():
        sys.exit(f"{BUILD} is not built: run `make book` first")
    pages, phone_pages = (sys.argv[1:], []) if sys.argv[1:] else (DEFAULT_PAGES, PHONE_PAGES)
    missing = [name for name in pages + phone_pages if not (BUILD / name).is_file()]
    if missing:
        sys.exit(f"not in {BUILD}: {missing}")
    for path in shoot(pages, phone_pages):
        print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
