"""What the rendered book offers its readers around the text: downloads, edit links, previews.

A Sphinx extension loaded from ``_config.yml`` (``sphinx: local_extensions``). It

* adds ``templates/`` (beside this file): a layout without pydata-sphinx-theme's top bar, and the
  links shown under every page (``book-source-links.html``);
* gives each page those links: the chapter's notebook, a zip of all notebooks with the package
  (written to ``downloads/`` after the build), the whole book as a PDF when ``make pdf`` has made
  one, and "Edit this page". The edit link is ``book_edit_url`` with ``{path}`` replaced by the
  page's source path in the repository; the environment variable ``BOOK_EDIT_URL`` overrides it
  (e.g. ``https://<host>/<owner>/<repo>/edit/main/{path}`` for a published copy). The default
  points from ``book/_build/html/`` at the source in the same checkout;
* gives the front page its description and Open Graph tags (``book_description``,
  ``book_social_image``), so a shared link previews well;
* gives the Chinese edition what its catalogs cannot translate, from ``book_editions``: its title
  (in the tab and beside the logo) and the search box's placeholder;
* links every page to the same page in the other edition (English at the site's root, Chinese under
  ``zh_CN/``, see ``scripts/build_book.py``): ``language-switch.html`` in the article's header. In
  the Chinese edition, "Edit this page" opens the page's message catalog, where its prose lives;
* gives the bibliography's entries the ``listitem`` role their ``role="list"`` parent requires
  (docutils writes the deprecated ``doc-biblioentry``, which screen readers may not announce).
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

from sphinx.application import Sphinx

HERE = Path(__file__).resolve().parent
BOOK = HERE.parent
ROOT = BOOK.parent
ZIP = "downloads/mmtutorial-notebooks.zip"
# Where make pdf writes each edition's PDF (file names in book_editions); its pages link a copy in
# downloads/.
PDF_BUILT = BOOK / "_build" / "pdf"
# What the zip holds besides the notebooks: the package and what installs it.
ZIP_EXTRAS = ["mmtutorial", "pyproject.toml", "README.md", "LICENSE"]
ZIP_DATE = (2026, 1, 1, 0, 0, 0)  # fixed, so the same sources give the same zip


def _other_edition(editions: dict, language: str, pagename: str) -> dict:
    """The link from ``pagename`` in one edition to the same page in the other one."""
    other = next(edition for name, edition in editions.items() if name != language)
    to_root = "../" * (pagename.count("/") + editions[language]["folder"].count("/"))
    href = f"{to_root}{other['folder']}{pagename}.html"
    return {"href": href, "label": other["label"], "lang": other["lang"]}


def _templates(app: Sphinx, config) -> None:
    config.templates_path.insert(0, str(HERE / "templates"))


def _edition_title(app: Sphinx, config) -> None:
    edition = config.book_editions[config.language]
    if "title" in edition:  # a translation: the English ones are _config.yml's own
        config.html_title = edition["title"]
        logo = config.html_theme_options.get("logo", {})
        if "text" in logo:
            logo["text"] = edition["title"]
        config.html_theme_options["search_bar_text"] = edition["search"]


def _page_context(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    context["book_zip"] = ZIP
    language = app.config.language
    pdf = app.config.book_editions[language]["pdf"]
    context["book_pdf"] = f"downloads/{pdf}" if (PDF_BUILT / pdf).is_file() else None
    source = app.env.doc2path(pagename) if pagename in app.env.all_docs else None
    context["book_notebook"] = None
    context["book_edit_url"] = None
    if source is not None:
        source = Path(source)
        if source.suffix == ".ipynb":
            context["book_notebook"] = f"_sources/{source.name}"
        template = os.environ.get("BOOK_EDIT_URL") or app.config.book_edit_url
        path = source.resolve().relative_to(ROOT).as_posix()
        folder = app.config.book_editions[language]["folder"]
        if folder:  # a translation: its prose is in the page's catalog, its site a folder deeper
            path = f"book/locales/{language}/LC_MESSAGES/{pagename}.po"
            if "://" not in template:
                template = "../" * folder.count("/") + template
        context["book_edit_url"] = template.format(path=path)
    context["book_other_edition"] = _other_edition(app.config.book_editions, language, pagename)
    context["book_social"] = None
    if pagename == app.config.root_doc:
        image = app.config.book_social_image
        if app.config.html_baseurl:
            image = app.config.html_baseurl.rstrip("/") + "/" + image
        title = app.config.html_title or app.config.project
        context["book_social"] = {
            "title": title,
            "description": " ".join(app.config.book_description.split()),
            "image": image,
            "image_alt": f"The logo of {title}",
        }
    if "body" in context:
        context["body"] = context["body"].replace('role="doc-biblioentry"', 'role="listitem"')


def _write_downloads(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / ZIP
    target.parent.mkdir(parents=True, exist_ok=True)
    files = sorted(BOOK.glob("*.ipynb"))
    for name in ZIP_EXTRAS:
        path = ROOT / name
        if path.is_dir():
            files += sorted(
                p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts
            )
        elif path.is_file():
            files.append(path)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            info = zipfile.ZipInfo(f"mmtutorial-book/{path.relative_to(ROOT).as_posix()}", ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    pdf = app.config.book_editions[app.config.language]["pdf"]
    if (PDF_BUILT / pdf).is_file():
        shutil.copy2(PDF_BUILT / pdf, Path(app.outdir) / "downloads" / pdf)


def setup(app: Sphinx) -> dict:
    app.add_config_value("book_edit_url", "../../../{path}", "html")
    app.add_config_value("book_description", "", "html")
    app.add_config_value("book_social_image", "_static/logo.png", "html")
    app.add_config_value("book_editions", {}, "html")
    app.connect("config-inited", _templates)
    app.connect("config-inited", _edition_title)
    app.connect("html-page-context", _page_context)
    app.connect("build-finished", _write_downloads)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
