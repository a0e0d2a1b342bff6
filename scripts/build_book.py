"""Render the book's two editions (``make book``), warnings as errors.

* English, the source, at ``book/_build/html/``;
* Chinese (中文版) at ``book/_build/html/zh_CN/``: the same pages, code cells and stored outputs,
  with the prose taken from the message catalogs in ``book/locales/zh_CN/LC_MESSAGES/``
  (``make catalogs``, ``scripts/catalogs.py``).

Both are Jupyter Book's own Sphinx build (``jupyter_book.sphinx.build_sphinx``, what
``jupyter-book build`` calls) with one setting overridden: ``language``. Each edition keeps its own
doctrees, so neither rebuild invalidates the other, and the two build side by side.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from jupyter_book.sphinx import build_sphinx

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
BUILD = BOOK / "_build"
sys.path.insert(0, str(BOOK / "_ext"))
from editions import editions  # noqa: E402
from reader_site import build_wheel  # noqa: E402

EDITIONS = editions()  # language -> its folder under book/_build/html/, …


def build(language: str, output: Path = BUILD, builder: str = "html") -> int:
    """Build one edition into ``output/<builder>/<its folder>``; return Sphinx's exit status."""
    site = output / builder / EDITIONS[language]["folder"]
    print(f"--- the {language} edition: {site}", flush=True)
    result = build_sphinx(
        BOOK,
        site,
        noconfig=True,
        path_config=BOOK / "_config.yml",
        # what `jupyter-book build book` passes for a book, plus the edition's language
        confoverrides={
            "external_toc_path": (BOOK / "_toc.yml").as_posix(),
            "latex_individualpages": False,
            "language": language,
        },
        doctreedir=output / f".doctrees-{language}",
        builder=builder,
        freshenv=True,
        warningiserror=True,
        keep_going=True,
    )
    return result if isinstance(result, int) else 1  # an exception it reported


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "languages",
        nargs="*",
        metavar="LANGUAGE",
        help=f"the editions to build: {', '.join(EDITIONS)} (default: both)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=BUILD,
        help="build folder instead of book/_build (the site goes to OUTPUT/html)",
    )
    parser.add_argument(
        "--builder",
        choices=["html", "singlehtml"],
        default="html",
        help="singlehtml: the whole edition on one page, for make pdf",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.languages) - set(EDITIONS))
    if unknown:
        parser.error(f"no edition {', '.join(unknown)}: choose from {', '.join(EDITIONS)}")
    languages = args.languages or list(EDITIONS)
    if len(languages) == 1:
        return build(languages[0], args.output.resolve(), args.builder)
    # One process per edition: Sphinx keeps its own strings' translations in module globals, and
    # after the English build the Chinese one left some in English ("Python Module Index"). The
    # two run side by side (each edition has its own output folder and doctrees), with one wheel
    # for both zips, and each one's log is printed whole when it ends.
    with tempfile.TemporaryDirectory(prefix="mmtutorial-wheel-") as folder:
        env = {**os.environ, "BOOK_WHEEL": str(build_wheel(Path(folder)))}
        runs = []
        for language in languages:
            command = [sys.executable, __file__, language, "--output", str(args.output)]
            command += ["--builder", args.builder]
            log = tempfile.TemporaryFile()
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
            runs.append((process, log))
        status = 0
        for process, log in runs:
            status = max(status, process.wait())
            with log:  # closed (and so deleted) once printed
                log.seek(0)
                sys.stdout.write(log.read().decode(errors="replace"))
            sys.stdout.flush()
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
