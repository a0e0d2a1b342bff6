r"""Translate what Sphinx's own i18n step cannot reach on a translated edition's pages.

A Sphinx extension loaded from ``_config.yml`` (``sphinx: local_extensions``). Sphinx translates a
page's messages in its ``Locale`` transform (priority 20), while the page is being read. Three
kinds of English stayed on the Chinese pages:

* the sidebar's part captions ("Getting started", "Chapters", "Reference"): sphinx-external-toc
  builds the root page's toctrees from ``_toc.yml`` in its ``InsertToctrees`` transform (priority
  100), after ``Locale``. ``intro.po`` translates them (the gettext builder extracts them from the
  root page); :class:`TranslateTocCaptions` applies those translations;
* the alt text of a notebook's figures: it lives in the cell's metadata (``mystnb.image.alt``) and
  myst-nb renders the image in its ``SelectMimeType`` post-transform (priority 4), at write time.
  ``scripts/catalogs.py`` adds each alt text to its page's catalog as a message (Sphinx's gettext
  builder never sees it), and :class:`TranslateAltText` replaces the alt text by its translation;
* the words inside a display formula's ``\text{...}`` (``\text{ for ReLU}``): a display formula
  is a message, but ``Locale`` translates it as a literal block, as reStructuredText (``::`` and
  the formula indented), which MyST parses into a formula reading ``::``.
  :class:`TranslateDisplayMaths` puts the translated formula in place before ``Locale`` runs and
  marks it done; ``tests/test_translation.py`` checks that a translation changes nothing in a
  formula but the words inside ``\text{}``.

The footer's author and note (``author`` and ``html: extra_footer`` in ``_config.yml``), which
the theme shows as they are, are translated like the theme's own words, from ``sphinx.po``
(:func:`_translate_footer`), where ``scripts/catalogs.py`` adds them as messages; so is the
theme's copyright line, which pydata-sphinx-theme does not translate into Chinese.

The others read the page's own catalog (``locale_dirs``/<language>/LC_MESSAGES/<page>.mo,
compiled by Sphinx from the ``.po``). An untranslated message stays English, as Sphinx does for
prose; the English edition is not touched.
"""

from __future__ import annotations

from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.locale import _
from sphinx.locale import init as init_locale
from sphinx.transforms import SphinxTransform
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.i18n import docname_to_domain
from sphinx.util.nodes import get_node_source


def _translator(transform: SphinxTransform, docname: str | None = None):
    """The gettext function of a page's catalog (the current page's by default), or None on the
    source edition or when the page has no catalog."""
    config = transform.config
    if not config.language or config.language == "en":
        return None
    dirs = [str(Path(transform.env.srcdir, folder)) for folder in config.locale_dirs]
    domain = docname_to_domain(docname or transform.env.docname, config.gettext_compact)
    catalog, found = init_locale(dirs, config.language, domain)
    return catalog.gettext if found else None


def _page_of(node: nodes.Node, env) -> str | None:
    """The page a node was read from: a single-page build (make pdf) holds every page's nodes in
    the root page's tree, so the current page is not always the node's."""
    try:
        return env.path2doc(get_node_source(node))
    except ValueError:
        return None


class TranslateDisplayMaths(SphinxTransform):
    """Display formulas, whose translation ``Locale`` would turn into ``::``."""

    default_priority = 19  # before Sphinx's Locale (20)

    def apply(self, **kwargs) -> None:
        blocks = list(self.document.findall(nodes.math_block))
        gettext = _translator(self) if blocks else None
        if gettext is None:
            return
        for block in blocks:
            source = block.rawsource or block.astext()
            translated = gettext(source)
            if translated != source:
                block[:] = [nodes.Text(translated)]
                block.rawsource = translated
            block["translatable"] = False  # Locale leaves it alone


class TranslateTocCaptions(SphinxTransform):
    """The toctrees' captions: sphinx-external-toc inserts them after Sphinx translated the page."""

    default_priority = 110  # after InsertToctrees (100)

    def apply(self, **kwargs) -> None:
        toctrees = [t for t in self.document.findall(addnodes.toctree) if t.get("caption")]
        gettext = _translator(self) if toctrees else None
        if gettext is None:
            return
        for toctree in toctrees:
            toctree["caption"] = gettext(toctree["caption"])


class TranslateAltText(SphinxPostTransform):
    """The alt text of the images myst-nb renders from a notebook's outputs."""

    default_priority = 5  # after myst-nb's SelectMimeType (4), which creates the images

    def run(self, **kwargs) -> None:
        images = [image for image in self.document.findall(nodes.image) if image.get("alt")]
        if not images or self.config.language in (None, "", "en"):
            return
        translators: dict[str | None, object] = {}
        for image in images:
            page = _page_of(image, self.env) or self.env.docname
            if page not in translators:
                translators[page] = _translator(self, page)
            if translators[page] is not None:
                image["alt"] = translators[page](image["alt"])


def _translate_footer(app: Sphinx, pagename, templatename, context: dict, doctree) -> None:
    if not app.config.language or app.config.language == "en":
        return
    for key in ("author", "theme_extra_footer"):
        if isinstance(context.get(key), str) and context[key]:
            context[key] = _(context[key])


def setup(app: Sphinx) -> dict:
    app.add_transform(TranslateDisplayMaths)
    app.add_transform(TranslateTocCaptions)
    app.add_post_transform(TranslateAltText)
    app.connect("html-page-context", _translate_footer)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
