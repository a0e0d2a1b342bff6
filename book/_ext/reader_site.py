"""What the rendered book offers its readers around the text: downloads, edit links, previews.

A Sphinx extension loaded from ``_config.yml`` (``sphinx: local_extensions``). It

* adds ``templates/`` (beside this file): a layout without pydata-sphinx-theme's top bar, and the
  links shown under every page (``book-source-links.html``);
* gives each page those links: the chapter's notebook, a zip of all notebooks with the package's
  wheel and a README on installing it (written to ``downloads/`` after the build, ``ZIP_README``),
  the whole book as a PDF when ``make pdf`` has made one, and "Edit this page". The edit link is
  ``book_edit_url`` with ``{path}`` replaced by the page's source path in the repository; the
  environment variable ``BOOK_EDIT_URL`` overrides it (e.g.
  ``https://<host>/<owner>/<repo>/edit/main/{path}`` for a published copy). The default points from
  ``book/_build/html/`` at the source in the same checkout;
* shows the book's edition, ``mmtutorial.__version__`` (the package is versioned with the book), on
  the front page of each edition: in the template, not in translatable prose, so a new version
  makes no catalog message fuzzy;
* adds Colab and Binder launch buttons to every chapter when a repository URL is configured
  (``BOOK_REPOSITORY_URL``, see :func:`_launch_buttons`), and none otherwise;
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

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from sphinx.application import Sphinx

import mmtutorial

HERE = Path(__file__).resolve().parent
BOOK = HERE.parent
ROOT = BOOK.parent
ZIP = "downloads/mmtutorial-notebooks.zip"
# Where make pdf writes each edition's PDF (file names in book_editions); its pages link a copy in
# downloads/.
PDF_BUILT = BOOK / "_build" / "pdf"
# The zip: one folder with the notebooks (notebooks/), the package as the wheel readers install
# (not a source tree: nothing to build), the LICENSE and a README of its own, ZIP_README.
ZIP_FOLDER = "mmtutorial-book"
ZIP_DATE = (2026, 1, 1, 0, 0, 0)  # fixed, so the same sources give the same zip
# tests/test_release.py runs the commands of its first bash block, from an empty folder.
ZIP_README = """\
# Backpropagation for Multimodal Learning: the notebooks

The book's notebooks (`notebooks/`) and its companion package `mmtutorial` {version}, the
edition they were run with, as a wheel. In this folder, with Python 3.11 (the tested version;
3.11 or newer):

```bash
python -m venv .venv
source .venv/bin/activate
pip install "{wheel}[tf,notebooks]"
jupyter lab
```

On Windows, activate with `.venv\\Scripts\\activate` instead. Open `notebooks/setup_check.ipynb`
first: it checks the installation in a few seconds. Chapters 1 to 3 need only NumPy: without
`tf` in the brackets, pip skips TensorFlow (about 2 GB installed).

## 中文说明

本书的全部 notebook（`notebooks/` 文件夹）和配套软件包 `mmtutorial` {version}（运行这些
notebook 所用的版本，wheel 格式）。在本文件夹中，用 Python 3.11（测试所用的版本；3.11 或更新）
执行上面四条命令：创建虚拟环境、激活它、安装软件包（`[tf,notebooks]` 同时安装 TensorFlow 和
JupyterLab），再启动 `jupyter lab`。Windows 上用 `.venv\\Scripts\\activate` 激活。请先打开
`notebooks/setup_check.ipynb`，它在几秒钟内检查安装是否正常。第 1 至 3 章只需要 NumPy：
方括号中去掉 `tf`，pip 就不安装 TensorFlow（安装后约 2 GB）。
"""


def _other_edition(editions: dict, language: str, pagename: str) -> dict:
    """The link from ``pagename`` in one edition to the same page in the other one."""
    other = next(edition for name, edition in editions.items() if name != language)
    to_root = "../" * (pagename.count("/") + editions[language]["folder"].count("/"))
    href = f"{to_root}{other['folder']}{pagename}.html"
    return {"href": href, "label": other["label"], "lang": other["lang"]}


def _launch_buttons(app: Sphinx, config) -> None:
    """Colab and Binder buttons on every chapter when the book has a repository URL, else none.

    The URL is ``_config.yml``'s ``repository: url`` or, overriding it, the environment variable
    ``BOOK_REPOSITORY_URL`` (``BOOK_REPOSITORY_BRANCH`` for a branch other than ``main``); the
    buttons open the chapter's notebook at ``book/<page>.ipynb`` there. Without a URL (the offline
    default) the launch services are cleared, so no page links to them.
    """
    options = config.html_theme_options
    url = os.environ.get("BOOK_REPOSITORY_URL") or options.get("repository_url", "")
    launch = dict(options.get("launch_buttons") or {})
    if url:
        options["repository_url"] = url
        branch = os.environ.get("BOOK_REPOSITORY_BRANCH")
        if branch:
            options["repository_branch"] = branch
    else:
        options.pop("repository_url", None)
        for key in ("binderhub_url", "colab_url", "jupyterhub_url", "deepnote_url"):
            launch[key] = ""
    options["launch_buttons"] = launch


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
    # The front page shows the edition: the package's version, from its one source.
    context["book_version"] = mmtutorial.__version__ if pagename == app.config.root_doc else None
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


def build_wheel(folder: Path) -> Path:
    """Build the package's wheel into ``folder`` from a copy of its sources; return its path.

    A copy, so the checkout gets no ``build/`` or ``*.egg-info``. No build isolation: the book's
    environment has setuptools (the book extra), so this needs no network.
    """
    source = folder / "source"
    for name in ["pyproject.toml", "README.md", "LICENSE"]:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "mmtutorial", source / "mmtutorial", ignore=ignore)
    command = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run([*command, "--wheel-dir", str(folder), str(source)], check=True)
    shutil.rmtree(source)
    return next(folder.glob("mmtutorial-*.whl"))


def _wheel() -> Path:
    """The wheel the zip carries: ``BOOK_WHEEL`` (one built already), or one built once here."""
    if os.environ.get("BOOK_WHEEL"):
        return Path(os.environ["BOOK_WHEEL"])
    if not _WHEEL:
        folder = Path(tempfile.mkdtemp(prefix="mmtutorial-wheel-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _WHEEL.append(build_wheel(folder))
    return _WHEEL[0]


_WHEEL: list[Path] = []


def zip_readme(wheel: str) -> str:
    """The zip's own README: how to install the wheel and open the notebooks, in both languages."""
    version = mmtutorial.__version__
    return ZIP_README.format(version=version, wheel=wheel)


def _write_downloads(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / ZIP
    target.parent.mkdir(parents=True, exist_ok=True)
    wheel = _wheel()
    notebooks = sorted(BOOK.glob("*.ipynb"))
    members = [(f"notebooks/{path.name}", path.read_bytes()) for path in notebooks]
    members += [
        (wheel.name, wheel.read_bytes()),
        ("README.md", zip_readme(wheel.name).encode()),
        ("LICENSE", (ROOT / "LICENSE").read_bytes()),
    ]
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(members):
            info = zipfile.ZipInfo(f"{ZIP_FOLDER}/{name}", ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    pdf = app.config.book_editions[app.config.language]["pdf"]
    if (PDF_BUILT / pdf).is_file():
        shutil.copy2(PDF_BUILT / pdf, Path(app.outdir) / "downloads" / pdf)


def setup(app: Sphinx) -> dict:
    app.add_config_value("book_edit_url", "../../../{path}", "html")
    app.add_config_value("book_description", "", "html")
    app.add_config_value("book_social_image", "_static/logo.png", "html")
    app.add_config_value("book_editions", {}, "html")
    app.connect("config-inited", _templates)
    app.connect("config-inited", _launch_buttons)
    app.connect("config-inited", _edition_title)
    app.connect("html-page-context", _page_context)
    app.connect("build-finished", _write_downloads)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
