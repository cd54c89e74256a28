"""Older names of the presentation functions, kept while the report modules move to
:mod:`mognad.present.numbers`, :mod:`~mognad.present.catalogue`, :mod:`~mognad.present.markup`
and :mod:`~mognad.present.tables`. Every function here is a one-line call of those: there is
exactly one formatter, one catalogue and one table renderer.
"""

from __future__ import annotations

from mognad.present import numbers as _n
from mognad.present.catalogue import text as _text
from mognad.present.markup import banner_html, synthetic_banner
from mognad.present.numbers import LANGS, check_lang
from mognad.present.style import REPORT_CSS as _CSS


def label(key: str, lang: str = "sv", **kwargs) -> str:
    """A fixed report label (``label.<key>`` in the catalogue).

    Examples
    --------
    >>> label("suppressed", "sv", k=5)
    'döljs (färre än 5 svarande)'
    """
    return _text(f"label.{key}", check_lang(lang), **kwargs)


def heading(key: str, lang: str = "sv", **kwargs) -> str:
    """A heading of the organisation report (``org.<key>`` in the catalogue).

    Examples
    --------
    >>> heading("change", "sv", previous=2023)
    'Förändring sedan 2023'
    """
    return _text(f"org.{key}", check_lang(lang), **kwargs)


def fmt_number(x, decimals: int = 0, lang: str = "sv") -> str:
    """:func:`mognad.present.numbers.number`."""
    return _n.number(x, decimals, lang)


def fmt_pct(x, decimals: int = 0, lang: str = "sv") -> str:
    """:func:`mognad.present.numbers.pct` (the value in per cent)."""
    return _n.pct(x, decimals, lang)


def fmt_signed(x, decimals: int = 1, lang: str = "sv") -> str:
    """:func:`mognad.present.numbers.signed`."""
    return _n.signed(x, decimals, lang)


def fmt_pp(x, decimals: int = 1, lang: str = "sv") -> str:
    """:func:`mognad.present.numbers.pp` with the unit written out.

    Examples
    --------
    >>> fmt_pp(3.14)
    '+3,1\\xa0procentenheter'
    """
    return _n.pp(x, decimals, lang, long=True)


def fmt_range(low, high, decimals: int = 0, lang: str = "sv", unit: str = "%") -> str:
    """:func:`mognad.present.numbers.interval` (``unit="pp"`` for signed bounds)."""
    return _n.interval(low, high, decimals, lang, unit="pp" if unit == "pp" else "pct")


def fmt_interval(low, high, decimals: int = 0, lang: str = "sv") -> str:
    """A percentage interval in brackets, ``(44–52 %)``; empty when a bound is missing.

    Examples
    --------
    >>> fmt_interval(43.8, 52.1)
    '(44–52\\xa0%)'
    """
    if _n.is_missing(low) or _n.is_missing(high):
        return ""
    return f"({_n.interval(low, high, decimals, lang)})"


def banner(lang: str = "sv", message: str | None = None) -> str:
    """:func:`mognad.present.markup.banner_html`."""
    return banner_html(lang, message)


def html_table(frame, columns: dict, *, lang: str = "sv", pct: tuple = (), pp: tuple = (),
               decimals: dict | None = None) -> str:
    """A table through :func:`mognad.present.tables.table` (headers are literal texts).

    Examples
    --------
    >>> import pandas as pd
    >>> "48\\xa0%" in html_table(pd.DataFrame({"a": ["x"], "b": [47.6]}),
    ...                           {"a": "Namn", "b": "Resultat"}, pct=("b",))
    True
    """
    from mognad.present.tables import Col, table

    decimals = decimals or {}
    cols = []
    for col, header in columns.items():
        if col in pct:
            cols.append(Col(col, header, "pct"))
        elif col in pp:
            cols.append(Col(col, header, "pp"))
        elif col in decimals:
            cols.append(Col(col, header, "int" if decimals[col] == 0 else "number",
                            decimals[col]))
        else:
            cols.append(Col(col, header, "text"))
    return str(table(frame, cols, lang=lang))


def report_css() -> str:
    """The report style sheet as a ``<style>`` block (the HTML export includes it too)."""
    return f"<style>{_CSS}</style>"


__all__ = ["LANGS", "banner", "check_lang", "fmt_interval", "fmt_number", "fmt_pct", "fmt_pp",
           "fmt_range", "fmt_signed", "heading", "html_table", "label", "report_css",
           "synthetic_banner"]
