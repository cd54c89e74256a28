"""The frame of a report page: style sheet, synthetic banner, title, page metadata for the PDF
printer, and sections whose heading stays with its figure.

Everything here returns HTML built from catalogue texts (trusted; ``**bold**`` and ``*italic*``
are rendered) with escaped data fields, and figures as embedded PNG images (the only images a
report may carry). A section is one block: printed, its heading, text and figure stay on one
page (``break-inside: avoid``), so no heading is left alone at the foot of a page.

The report's title and its running header (organisation and round) travel to the PDF printer
as page metadata: :func:`report_head` displays the title block together with a JSON bundle of
MIME type :data:`PAGE_META_MIME` (``{"report_title", "running_header", "lang"}``), which the
exporter reads from the executed notebook with :func:`read_page_meta`; the same dict goes to
``results.json`` when the notebook passes ``head.meta()`` to ``record_results``.
:func:`print_templates` turns it into Chromium's ``headerTemplate``/``footerTemplate``.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterable

from mognad.present.catalogue import text as _text
from mognad.present.markup import Safe, banner_html, escape_html
from mognad.present.numbers import check_lang
from mognad.present.style import REPORT_CSS
from mognad.present.tables import Table

#: MIME type of the page metadata bundle a report displays once (see :func:`report_head`).
PAGE_META_MIME = "application/vnd.mognad.page+json"

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])")


def _escape_field(value) -> str:
    """A data field for catalogue HTML: escaped, and ``*`` made inert for the emphasis rules."""
    if isinstance(value, Safe):
        return str(value)
    return escape_html(value).replace("*", "&#42;")


def inline(key: str, lang: str = "sv", **fields) -> Safe:
    """One catalogue text as inline HTML: fields escaped, ``**bold**``/``*italic*`` rendered.

    Examples
    --------
    >>> inline("org.peer_lead_no_rank", "sv", peer="<b>kommuner</b>", n=12)
    'Organisationen jämförs med <strong>&lt;b&gt;kommuner&lt;/b&gt;</strong> (12 organisationer).'
    >>> inline("org.title", "en", round=2024, name="**A**")
    'Digital maturity 2024: &#42;&#42;A&#42;&#42;'
    """
    raw = _text(key, check_lang(lang), **{k: _escape_field(v) for k, v in fields.items()})
    raw = _BOLD.sub(r"<strong>\1</strong>", raw)
    return Safe(_ITALIC.sub(r"<em>\1</em>", raw))


def paragraph(key: str, lang: str = "sv", **fields) -> Safe:
    """A catalogue text as a ``<p>`` (see :func:`inline`)."""
    return Safe(f"<p>{inline(key, lang, **fields)}</p>")


def heading(level: int, key: str, lang: str = "sv", **fields) -> Safe:
    """A catalogue text as an HTML heading ``<h2>`` … (fields escaped).

    Examples
    --------
    >>> heading(2, "org.change", "sv", previous=2023)
    '<h2>Förändring sedan 2023</h2>'
    """
    level = min(max(int(level), 1), 4)
    return Safe(f"<h{level}>{inline(key, lang, **fields)}</h{level}>")


def bullet_list(items: Iterable) -> Safe:
    """Already safe HTML items (from :func:`inline`) as a list; plain strings are escaped."""
    body = "".join(f"<li>{escape_html(item)}</li>" for item in items)
    return Safe(f"<ul>{body}</ul>") if body else Safe("")


def figure_html(fig, *, alt: str = "", width: str | None = None) -> Safe:
    """A Matplotlib figure as an embedded PNG ``<img>`` (the figure is closed afterwards).

    *width* is a CSS width; by default the figure's own width decides (a 7.5-inch figure takes
    90 % of the text column, a narrower one less), so text in all figures has about one size.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> figure_html(fig, alt="<x>").startswith('<img class="mognad-figure" alt="&lt;x&gt;" src="data:image/png;base64,')
    True
    """
    import matplotlib.pyplot as plt

    if width is None:
        width = f"{min(100, round(fig.get_figwidth() / 7.5 * 90))}%"
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=150, bbox_inches="tight", facecolor="white")
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return Safe(f'<img class="mognad-figure" alt="{escape_html(alt)}" '
                f'src="data:image/png;base64,{data}" style="width:{escape_html(width)}">')


def _part(part) -> str:
    if part is None:
        return ""
    if isinstance(part, Safe):
        return str(part)
    if hasattr(part, "savefig"):  # a Matplotlib figure (it has a _repr_html_ too)
        return figure_html(part)
    if hasattr(part, "_repr_html_"):  # a rendered Table or Block (already escaped)
        return part._repr_html_()
    return f"<p>{escape_html(part)}</p>"


class Block(Table):
    """Some report HTML (displays as HTML in a notebook; ``str()`` gives the HTML)."""

    def __repr__(self) -> str:
        return f"Block({len(self.html)} characters of HTML)"


def section(*parts, keep: bool = True, new_page: bool = False) -> Block:
    """Parts of a report (headings, paragraphs, figures, tables) as one block.

    With ``keep`` (the default) the block is printed on one page when it fits: a heading never
    ends a page without the figure or text below it. ``new_page`` starts it on a new page when
    printed (an appendix).

    Examples
    --------
    >>> str(section(heading(2, "org.summary"), paragraph("org.no_change")))
    '<div class="mognad-block mognad-keep"><h2>Sammanfattning</h2><p>Organisationen deltog inte i någon tidigare mätomgång.</p></div>'

    A table too long for one page runs on; its heading and text stay with its first rows:

    >>> import pandas as pd
    >>> from mognad.present.tables import Col, table
    >>> long = table(pd.DataFrame({"round": range(40)}), [Col("round", "col.round", "int")])
    >>> str(section(heading(2, "org.summary"), long)).startswith('<div class="mognad-block mognad-lead">')
    True
    """
    # a table too long to keep on one page may run on: then only the heading and text stay
    # with its first rows (a whole kept block would leave most of a page empty before it)
    long_table = any(isinstance(p, Table) and 'class="mognad-table' in p.html[:60]
                     and "mognad-keep" not in p.html[:120] for p in parts)
    classes = ("mognad-block" + ((" mognad-lead" if long_table else " mognad-keep") if keep
                                 else "") + (" mognad-new-page" if new_page else ""))
    return Block(f'<div class="{classes}">' + "".join(_part(p) for p in parts) + "</div>")


def report_css() -> Safe:
    """The report style sheet as a ``<style>`` element."""
    return Safe(f"<style>{REPORT_CSS}</style>")


class ReportHead:
    """The top of a report: style sheet, synthetic banner, title; carries the page metadata.

    Displayed, it shows the HTML and hands the exporter the metadata (:data:`PAGE_META_MIME`);
    :meth:`meta` gives the same dict for ``record_results``.
    """

    def __init__(self, *, title: str, running_header: str, lang: str, synthetic: bool,
                 subtitle: str | None = None, show_title: bool = True):
        self.title = str(title)
        self.running_header = str(running_header)
        self.lang = check_lang(lang)
        self.synthetic = bool(synthetic)
        self.subtitle = subtitle
        self.show_title = bool(show_title)

    def meta(self) -> dict:
        """``{"report_title", "running_header", "lang", "synthetic"}`` as plain text."""
        return {"report_title": self.title, "running_header": self.running_header,
                "lang": self.lang, "synthetic": self.synthetic}

    def html(self) -> str:
        parts = [report_css()]
        if self.synthetic:
            parts.append(banner_html(self.lang))
        if self.show_title:
            parts.append(f'<h1 class="mognad-title">{escape_html(self.title)}</h1>')
        if self.subtitle:
            parts.append(f'<p class="mognad-subtitle">{escape_html(self.subtitle)}</p>')
        return "".join(parts)

    def _repr_html_(self) -> str:
        return self.html()

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": self.html(), PAGE_META_MIME: self.meta()}


def report_head(study, *, title: str, running_header: str, lang: str = "sv", **fields
                ) -> ReportHead:
    """The top of a report from two catalogue keys (title and running header) and their fields.

    Parameters
    ----------
    study : Study or bool
        The study (its ``is_synthetic``) or the flag itself: synthetic data get the banner.
    title, running_header : str
        Catalogue keys, e.g. ``"org.title"`` and ``"org.running_header"``.
    **fields
        Their fields (data: shown as plain text, escaped in HTML).

    Examples
    --------
    >>> head = report_head(True, title="org.title", running_header="org.running_header",
    ...                    round=2024, name="<script>x</script>")
    >>> head.meta()["running_header"]
    '<script>x</script> · Digital mognad 2024'
    >>> "<script>" in head.html(), "&lt;script&gt;" in head.html(), "SYNTETISKA" in head.html()
    (False, True, True)
    """
    synthetic = study if isinstance(study, bool) else bool(getattr(study, "is_synthetic", False))
    return ReportHead(title=_text(title, lang, **fields),
                      running_header=_text(running_header, lang, **fields), lang=lang,
                      synthetic=synthetic)


def read_page_meta(nb) -> dict:
    """The page metadata a report displayed (:func:`report_head`), from an executed notebook.

    Parameters
    ----------
    nb : dict or NotebookNode
        The executed notebook.

    Returns
    -------
    dict
        ``report_title``, ``running_header``, ``lang``, ``synthetic``; ``{}`` if the notebook
        displayed none.

    Examples
    --------
    >>> nb = {"cells": [{"cell_type": "code", "outputs": [{"output_type": "display_data",
    ...        "data": {PAGE_META_MIME: {"report_title": "T", "running_header": "H"}}}]}]}
    >>> read_page_meta(nb)["running_header"]
    'H'
    """
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) or []:
            meta = (out.get("data") or {}).get(PAGE_META_MIME)
            if isinstance(meta, dict):
                return {k: meta.get(k) for k in ("report_title", "running_header", "lang",
                                                 "synthetic") if k in meta}
    return {}


def print_templates(meta: dict, *, lang: str | None = None) -> dict:
    """Chromium ``Page.printToPDF`` header and footer templates for a report's metadata.

    The header shows the running header (organisation and round) on the left; the footer the
    page number as "Sida 3 av 12" / "Page 3 of 12". Texts are escaped: the templates are HTML.
    Use with ``displayHeaderFooter: True`` (the page margins of :data:`REPORT_CSS` leave room).

    Examples
    --------
    >>> t = print_templates({"running_header": "<img src=x> · Digital mognad 2024"})
    >>> "<img" in t["headerTemplate"], "&lt;img src=x&gt;" in t["headerTemplate"]
    (False, True)
    >>> 'class="pageNumber"' in t["footerTemplate"], "Sida" in t["footerTemplate"]
    (True, True)
    """
    lang = check_lang(lang or meta.get("lang") or "sv")
    style = ("font-family:'DejaVu Sans',sans-serif;font-size:7.5pt;color:#555;width:100%;"
             "margin:0 14mm;")
    header = escape_html(meta.get("running_header") or meta.get("report_title") or "")
    word, of = escape_html(_text("common.page", lang)), escape_html(_text("common.page_of", lang))
    return {
        "headerTemplate": f'<div style="{style}"><span>{header}</span></div>',
        "footerTemplate": (f'<div style="{style}text-align:right;">{word} '
                           f'<span class="pageNumber"></span> {of} '
                           '<span class="totalPages"></span></div>'),
    }


__all__ = ["PAGE_META_MIME", "Block", "ReportHead", "bullet_list", "figure_html", "heading",
           "inline", "paragraph", "print_templates", "read_page_meta", "report_css",
           "report_head", "section"]
