"""The one table renderer of every report: tidy DataFrame in, escaped and formatted HTML out.

No raw pandas output reaches a report: no index column, no ``NaN``, no decimal point in Swedish,
no ``7.0`` for a rank. Each column is declared once with its header and its kind; the number
formats come from :mod:`mognad.present.numbers`, the headers and code labels from the catalogue,
and every text cell is escaped (:func:`mognad.present.markup.escape_html`). A missing value is an
en dash, explained once in a footnote under the table.

Column kinds
------------
``text`` (escaped as is), ``formatted`` (a number already formatted with
:mod:`mognad.present.numbers`, e.g. when the unit differs by row: escaped, aligned as a number),
``label:<field>`` (a code shown by its catalogue label, e.g.
``label:org_type`` looks up ``value.org_type.<code>``; a dotted field is a key prefix of its
own, e.g. ``label:dios.time`` looks up ``dios.time.<code>``), ``yes_no`` (ja/nej), ``int``,
``number`` (``decimals``), ``pct`` (a percentage), ``share`` (a proportion shown in per cent),
``pp`` (a signed difference in percentage points), ``signed``, ``interval`` / ``interval_pp`` /
``interval_share`` / ``interval_number`` (a pair of columns ``(low, high)`` in one cell), ``p``
(p-value), ``sek`` (kronor, auto-scaled), ``sek_k`` (thousands of kronor, ``tkr``: one unit for
a whole column), ``year``, ``date``, ``pct_ci`` / ``pp_ci`` / ``number_ci`` (three columns
``(value, low, high)`` in one cell: ``51 % (44–58)``, ``+3,1 (−1,2 till +7,4)``), ``links`` (a
list of ``(text, href)`` pairs: relative links, text and address escaped).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from mognad.present import numbers as fmt
from mognad.present.catalogue import has, text, value_label
from mognad.present.markup import Safe, escape_html

_DEFAULT_DECIMALS = {"number": 1, "pct": 0, "share": 0, "pp": 1, "signed": 1, "interval": 0,
                     "interval_pp": 1, "interval_share": 0, "interval_number": 1, "pct_ci": 0,
                     "pp_ci": 1, "number_ci": 2}
#: Kinds whose source is several columns.
_MULTI = ("interval", "pct_ci", "pp_ci", "number_ci")


@dataclass(frozen=True)
class Col:
    """One column of a report table.

    Parameters
    ----------
    source : str or tuple of str
        The frame's column, ``(low, high)`` for the interval kinds, ``(value, low, high)`` for
        the ``*_ci`` kinds.
    header : str
        A catalogue key (``"col.score"``) or a literal header (escaped).
    kind : str
        How values are shown (see the module docstring).
    decimals : int, optional
        Decimals for numeric kinds (defaults: pct 0, pp 1, number 1).
    """

    source: str | tuple[str, str]
    header: str
    kind: str = "text"
    decimals: int | None = None

    @property
    def numeric(self) -> bool:
        return not (self.kind in ("text", "yes_no", "links") or self.kind.startswith("label"))


def _as_col(spec) -> Col:
    if isinstance(spec, Col):
        return spec
    if isinstance(spec, Sequence) and not isinstance(spec, str) and 2 <= len(spec) <= 4:
        return Col(*spec)
    raise ValueError(f"a table column is Col(source, header, kind, decimals); got {spec!r}")


def header_text(header: str, lang: str) -> str:
    """A column header: the catalogue text when *header* is a key, else the literal text."""
    return text(header, lang) if "." in header and has(header, lang) else str(header)


def cell(value, kind: str, lang: str = "sv", decimals: int | None = None) -> str:
    """One value as the escaped text a table cell shows (missing: an en dash).

    Examples
    --------
    >>> cell(47.6, "pct"), cell(0.476, "share", "en"), cell(7.0, "int"), cell(None, "pct")
    ('48\\xa0%', '48%', '7', '–')
    >>> cell((-6.63, 7.36), "interval_pp"), cell("<b>", "text"), cell("kommun", "label:org_type")
    ('−6,6 till +7,4', '&lt;b&gt;', 'Kommun')
    >>> cell((51.2, 44.0, 58.3), "pct_ci"), cell((3.14, -1.2, 7.4), "pp_ci", "en")
    ('51\\xa0% (44–58)', '+3.1 (-1.2 to +7.4)')
    >>> cell((51.2, None, None), "pct_ci"), cell((None, 1.0, 2.0), "pp_ci")
    ('51\\xa0%', '–')
    >>> cell([("HTML", "a b.html"), ("PDF", "<x>.pdf")], "links")
    '<a href="a%20b.html">HTML</a> · <a href="%3Cx%3E.pdf">PDF</a>'
    """
    d = _DEFAULT_DECIMALS.get(kind, 0) if decimals is None else decimals
    if kind in ("pct_ci", "pp_ci", "number_ci"):
        return escape_html(_with_interval(value, kind, lang, d))
    if kind == "links":
        return _links(value)
    if kind.startswith("interval"):
        low, high = value
        unit = {"interval": "pct", "interval_pp": "pp", "interval_share": "share",
                "interval_number": "number"}[kind]
        return escape_html(fmt.interval(low, high, d, lang, unit=unit))
    if fmt.is_missing(value):
        return fmt.MISSING
    if kind in ("text", "formatted"):
        return escape_html(value)
    if kind.startswith("label:"):
        return escape_html(code_label(kind.split(":", 1)[1], value, lang))
    if kind == "yes_no":
        return escape_html(text("common.yes" if bool(value) else "common.no", lang))
    formatters: dict[str, Callable] = {
        "int": lambda v: fmt.integer(v, lang),
        "number": lambda v: fmt.number(v, d, lang),
        "pct": lambda v: fmt.pct(v, d, lang),
        "share": lambda v: fmt.share(v, d, lang),
        "pp": lambda v: fmt.signed(v, d, lang),
        "signed": lambda v: fmt.signed(v, d, lang),
        "p": lambda v: fmt.p_value(v, lang),
        "sek": lambda v: fmt.sek(v, lang),
        "sek_k": lambda v: fmt.sek(v, lang, scale="tsek"),
        "year": lambda v: fmt.year(v, lang),
        "date": lambda v: fmt.date(v, lang),
    }
    if kind not in formatters:
        raise ValueError(f"unknown column kind {kind!r}")
    return escape_html(formatters[kind](value))


def code_label(field: str, value, lang: str = "sv") -> str:
    """The label of a code: ``value.<field>.<code>``, or ``<field>.<code>`` for a dotted field.

    Unknown codes are shown as they are (escaped by the caller).

    Examples
    --------
    >>> code_label("org_type", "kommun"), code_label("dios.time", "invest")
    ('Kommun', 'Investera')
    >>> code_label("dios.time", "<b>")
    '<b>'
    """
    if "." not in field:
        return value_label(field, value, lang)
    key = f"{field}.{value}"
    return text(key, lang) if has(key, lang) else ("" if value is None else str(value))


def _with_interval(value, kind: str, lang: str, d: int) -> str:
    """A value with its interval in brackets (the interval left out when a bound is missing)."""
    x, low, high = value
    if fmt.is_missing(x):
        return fmt.MISSING
    if kind == "pct_ci":
        shown = fmt.pct(x, d, lang)
        bounds = fmt.interval(low, high, d, lang, unit="number")
    elif kind == "pp_ci":
        shown = fmt.signed(x, d, lang)
        bounds = fmt.interval(low, high, d, lang, unit="pp")
    else:
        shown = fmt.number(x, d, lang)
        bounds = fmt.interval(low, high, d, lang, unit="number")
    return shown if bounds == fmt.MISSING else f"{shown} ({bounds})"


def _links(value) -> str:
    """``(text, href)`` pairs as links: relative addresses only (a report links its siblings)."""
    from urllib.parse import quote

    if value is None or (not isinstance(value, list | tuple)):
        return ""
    out = []
    for text_, href in value:
        href = str(href)
        if "://" in href or href.startswith(("/", "\\")) or ":" in href.split("/")[0]:
            raise ValueError(f"links must be relative file names; got {href!r}")
        out.append(f'<a href="{escape_html(quote(href))}">{escape_html(text_)}</a>')
    return " · ".join(out)


def _multi(kind: str) -> bool:
    return kind.startswith(_MULTI)


#: Tables of at most this many rows are kept on one page when printed (longer ones may run on).
KEEP_ROWS = 15


class Table:
    """A rendered report table (displays as HTML in a notebook; ``str()`` gives the HTML)."""

    def __init__(self, html: str):
        self.html = html

    def _repr_html_(self) -> str:
        return self.html

    @property
    def data(self) -> str:
        """The HTML (as IPython's ``HTML(...).data``)."""
        return self.html

    def __str__(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return f"Table({len(self.html)} characters of HTML)"


def table(frame: pd.DataFrame, columns: Iterable, *, lang: str = "sv", caption: str | None = None,
          note: str | None = None, empty: str | None = None, wide: bool = False,
          highlight: Sequence[bool] | pd.Series | None = None, **caption_fields) -> Table:
    """Render a tidy DataFrame as a report table.

    Parameters
    ----------
    frame : DataFrame
        One row per table row (the index is never shown).
    columns : iterable of Col or tuples
        ``(source, header, kind, decimals)`` per column, in display order.
    lang : {"sv", "en"}
    caption : str, optional
        A catalogue key or literal text shown above the table (escaped; ``caption_fields``
        fill the key's fields).
    note : str, optional
        A catalogue key or literal text shown under the table.
    empty : str, optional
        A catalogue key or text shown *instead of* the table when *frame* has no rows.
    wide : bool
        A genuinely wide table: printed on a landscape page of its own (the named page
        ``wide`` of the report style sheet) in a smaller font.
    highlight : sequence of bool, optional
        Rows shown in bold (e.g. the organisation's own row).

    Returns
    -------
    Table

    Examples
    --------
    >>> frame = pd.DataFrame({"unit": ["<script>x</script>", "IT"], "score_pct": [47.6, None],
    ...                       "n": [12, 7.0]})
    >>> html = str(table(frame, [("unit", "col.unit"), ("score_pct", "col.score", "pct"),
    ...                          ("n", "col.respondents", "int")]))
    >>> "<script>" in html, "&lt;script&gt;" in html, "48\\xa0%" in html, "7.0" in html
    (False, True, True, False)
    >>> "uppgift saknas" in html
    True
    """
    fmt.check_lang(lang)
    cols = [_as_col(c) for c in columns]
    if len(frame) == 0 and empty is not None:
        return Table(f'<p class="mognad-empty">{_text_or_key(empty, lang)}</p>')
    missing_seen = False
    head = "".join(
        f'<th class="{"num" if c.numeric else "txt"}">{escape_html(header_text(c.header, lang))}'
        "</th>" for c in cols)
    marks = [False] * len(frame) if highlight is None else [bool(x) for x in highlight]
    rows = []
    for i, (_, row) in enumerate(frame.iterrows()):
        cells = []
        for c in cols:
            value = tuple(row[s] for s in c.source) if _multi(c.kind) else row[c.source]
            shown = cell(value, c.kind, lang, c.decimals)
            missing_seen |= shown == fmt.MISSING
            cells.append(f'<td class="{"num" if c.numeric else "txt"}">{shown}</td>')
        opening = '<tr class="mark">' if marks[i] else "<tr>"
        rows.append(opening + "".join(cells) + "</tr>")
    parts = []
    if caption is not None:
        parts.append(f"<caption>{_text_or_key(caption, lang, **caption_fields)}</caption>")
    parts.append(f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody>")
    notes = []
    if missing_seen:
        notes.append(escape_html(text("common.missing_note", lang)))
    if note is not None:
        notes.append(_text_or_key(note, lang))
    classes = "mognad" + (" mognad-wide" if wide else "")
    html = f'<table class="{classes}">{"".join(parts)}</table>'
    if notes:
        html += f'<p class="mognad-note">{" ".join(notes)}</p>'
    wrapper = "mognad-table" + (" mognad-wide-page" if wide else "") + (
        " mognad-keep" if len(frame) <= KEEP_ROWS else "")
    return Table(f'<div class="{wrapper}">{html}</div>')


def _text_or_key(value: str, lang: str, **fields) -> str:
    if isinstance(value, Safe):
        return str(value)
    if "." in value and has(value, lang):
        return escape_html(text(value, lang, **fields))
    return escape_html(value)


__all__ = ["Col", "Table", "cell", "code_label", "header_text", "table"]
