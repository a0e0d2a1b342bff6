"""Make the rendered book self-contained: no page asks any host but its own for anything.

A Sphinx extension loaded from ``_config.yml`` (``sphinx: local_extensions``). It

* serves MathJax from the built site: ``make book`` installs the npm package pinned in
  ``book/_mathjax/package-lock.json`` into ``book/_mathjax/node_modules``, and this extension
  copies the files MathJax's ``tex-chtml`` component loads into ``_static/`` next to
  ``mathjax_path``. They are copied after the build rather than listed in ``html_static_path``,
  because Jupyter Book 1 adds every ``.js`` file under a static path to every page;
* removes sphinx-thebe's scripts: its ``THEBE_JS_URL`` points at unpkg.com and is declared twice
  on every page, a console error. The book has no live-code buttons, so thebe has nothing to do.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

MATHJAX_PACKAGE = Path(__file__).resolve().parent.parent / "_mathjax" / "node_modules" / "mathjax"

# What the tex-chtml component loads: itself, its fonts, and, on demand, the TeX extensions it
# autoloads (\boldsymbol, \cancel, ...) and the accessibility tools of its right-click menu.
MATHJAX_FILES = [
    "es5/tex-chtml.js",
    "es5/output/chtml/fonts/woff-v2",
    "es5/input/tex/extensions",
    "es5/a11y",
    "es5/sre",
    "es5/ui",
    "LICENSE",
]


def _drop_thebe(app: Sphinx, config) -> None:
    for listeners in app.events.listeners.values():
        listeners[:] = [
            listener
            for listener in listeners
            if getattr(listener.handler, "__module__", "") != "sphinx_thebe"
        ]
    app.registry.css_files = [
        (name, attrs) for name, attrs in app.registry.css_files if name != "sphinx-thebe.css"
    ]


def _check_mathjax(app: Sphinx, config) -> None:
    if "://" in config.mathjax_path or not config.mathjax_path.endswith("tex-chtml.js"):
        raise ExtensionError(
            f"mathjax_path must be a site-relative path to tex-chtml.js (served from _static/), "
            f"got {config.mathjax_path!r}"
        )


def _check_mathjax_installed(app: Sphinx) -> None:
    """Only the HTML builders serve MathJax (the gettext builder of make catalogs does not)."""
    if app.builder.format == "html" and not (MATHJAX_PACKAGE / MATHJAX_FILES[0]).is_file():
        raise ExtensionError(
            f"MathJax is not installed in {MATHJAX_PACKAGE}: run `make book`, or "
            f"`npm ci --no-audit --no-fund` in {MATHJAX_PACKAGE.parent.parent}"
        )


def _copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    # mathjax_path is relative to _static/ (Sphinx adds the prefix); the es5/ tree goes there.
    target = Path(app.outdir) / "_static" / Path(app.config.mathjax_path).parent
    for name in MATHJAX_FILES:
        source, destination = MATHJAX_PACKAGE / name, target / name.removeprefix("es5/")
        if source.is_dir():
            shutil.copytree(source, destination, dirs_exist_ok=True)
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _drop_thebe)
    app.connect("config-inited", _check_mathjax)
    app.connect("builder-inited", _check_mathjax_installed)
    app.connect("build-finished", _copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
