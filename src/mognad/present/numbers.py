"""The one number formatter of every report.

Swedish (``sv``, the default) follows the Swedish Language Council's rules: decimal comma
(``0,83``), a no-break space between thousands (``12 345``) and before the per cent sign
(``48 %``), and a real minus sign (``−3,2``, U+2212). English (``en``) writes ``0.83``,
``12,345``, ``48%`` and ``-3.2``.

Every function takes the value in the unit its name says: :func:`pct` a percentage (``47.6``),
:func:`share` a proportion (``0.476``), :func:`pp` a difference in percentage points. A missing
value (``None``, ``NaN``, ``pd.NA``) is always :data:`MISSING`, an en dash, which every table
explains in a footnote.
"""

from __future__ import annotations

import math
import numbers as _numbers

LANGS = ("sv", "en")

#: What a missing value looks like in every report.
MISSING = "–"
NBSP = "\u00a0"
MINUS = "\u2212"

_UNIT_WORDS = {
    "sv": {"pp": "p.e.", "percentage_points": "procentenheter", "to": "till", "sek": "kr",
           "tsek": "tkr", "msek": "mnkr"},
    "en": {"pp": "pp", "percentage_points": "percentage points", "to": "to", "sek": "SEK",
           "tsek": "kSEK", "msek": "MSEK"},
}


def check_lang(lang: str) -> str:
    """Validate a report language code: ``"sv"`` or ``"en"``.

    Examples
    --------
    >>> check_lang("sv")
    'sv'
    """
    if lang not in LANGS:
        from mognad.errors import MognadError

        raise MognadError(f"lang must be 'sv' or 'en'; got {lang!r}")
    return lang


def is_missing(x) -> bool:
    """Whether *x* is a missing value (None, NaN, ``pd.NA``, ``NaT``).

    Examples
    --------
    >>> is_missing(None), is_missing(float("nan")), is_missing(0.0)
    (True, True, False)
    """
    if x is None:
        return True
    if isinstance(x, _numbers.Real) and not isinstance(x, bool):
        return math.isnan(float(x))
    try:
        import pandas as pd

        return bool(pd.isna(x)) if not isinstance(x, str) else False
    except (TypeError, ValueError):
        return False


def number(x, decimals: int = 0, lang: str = "sv") -> str:
    """A number with the report language's decimal mark and thousands separator.

    Examples
    --------
    >>> number(0.8333, 2), number(0.8333, 2, "en"), number(float("nan"))
    ('0,83', '0.83', '–')
    >>> number(-3.25, 1), number(-3.25, 1, "en")
    ('−3,2', '-3.2')
    >>> number(1234567), number(1234567, lang="en")
    ('1\\xa0234\\xa0567', '1,234,567')
    >>> number(-0.04, 1)
    '0,0'
    """
    lang = check_lang(lang)
    if is_missing(x):
        return MISSING
    value = round(float(x), decimals)
    if value == 0:
        value = 0.0  # no "−0,0"
    text = f"{value:,.{decimals}f}"
    if lang == "sv":
        text = text.replace(",", NBSP).replace(".", ",").replace("-", MINUS)
    return text


def integer(x, lang: str = "sv") -> str:
    """A whole number (counts, ranks): ``7`` never ``7.0``.

    Examples
    --------
    >>> integer(7.0), integer(12345), integer(None)
    ('7', '12\\xa0345', '–')
    """
    return number(x, 0, lang)


def signed(x, decimals: int = 1, lang: str = "sv") -> str:
    """A number with its sign always shown (``+6,6``, ``−0,3``, ``0,0``).

    Examples
    --------
    >>> signed(6.64), signed(-0.32), signed(0.04), signed(6.64, lang="en")
    ('+6,6', '−0,3', '0,0', '+6.6')
    """
    if is_missing(x):
        return MISSING
    text = number(x, decimals, lang)
    return ("+" + text) if round(float(x), decimals) > 0 else text


def pct(x, decimals: int = 0, lang: str = "sv") -> str:
    """A percentage given in per cent: ``47.6`` → ``48 %`` (sv) / ``48%`` (en).

    Examples
    --------
    >>> pct(47.6), pct(47.6, lang="en"), pct(47.25, 1), pct(None)
    ('48\\xa0%', '48%', '47,2\\xa0%', '–')
    """
    if is_missing(x):
        return MISSING
    return number(x, decimals, lang) + (NBSP + "%" if check_lang(lang) == "sv" else "%")


def share(x, decimals: int = 0, lang: str = "sv") -> str:
    """A proportion shown as a percentage: ``0.476`` → ``48 %``.

    Examples
    --------
    >>> share(0.476), share(0.476, 1, "en"), share(1.0)
    ('48\\xa0%', '47.6%', '100\\xa0%')
    """
    if is_missing(x):
        return MISSING
    return pct(float(x) * 100, decimals, lang)


def pp(x, decimals: int = 1, lang: str = "sv", *, long: bool = False) -> str:
    """A signed difference in percentage points: ``+3,1 p.e.`` (``procentenheter`` when long).

    Examples
    --------
    >>> pp(3.14), pp(-2.0, lang="en"), pp(3.14, long=True)
    ('+3,1\\xa0p.e.', '-2.0\\xa0pp', '+3,1\\xa0procentenheter')
    """
    if is_missing(x):
        return MISSING
    word = _UNIT_WORDS[check_lang(lang)]["percentage_points" if long else "pp"]
    return signed(x, decimals, lang) + NBSP + word


def interval(low, high, decimals: int = 0, lang: str = "sv", *, unit: str = "pct") -> str:
    """An interval without brackets: ``44–52 %``; signed units ``−6,6 till +7,4``.

    Parameters
    ----------
    low, high : float
    decimals : int
    lang : {"sv", "en"}
    unit : {"pct", "share", "pp", "number"}
        ``pct``/``share`` add the per cent sign once; ``pp`` writes signed bounds joined by
        "till"/"to" (a dash between signed numbers is unreadable); ``number`` plain numbers.

    Examples
    --------
    >>> interval(43.8, 52.1), interval(0.438, 0.521, unit="share", lang="en")
    ('44–52\\xa0%', '44–52%')
    >>> interval(-6.63, 7.36, 1, unit="pp"), interval(-6.63, 7.36, 1, "en", unit="pp")
    ('−6,6 till +7,4', '-6.6 to +7.4')
    >>> interval(None, 3)
    '–'
    """
    if is_missing(low) or is_missing(high):
        return MISSING
    lang = check_lang(lang)
    if unit == "share":
        low, high, unit = float(low) * 100, float(high) * 100, "pct"
    if unit == "pp":
        word = _UNIT_WORDS[lang]["to"]
        return f"{signed(low, decimals, lang)} {word} {signed(high, decimals, lang)}"
    if unit == "pct":
        sign = NBSP + "%" if lang == "sv" else "%"
        return f"{number(low, decimals, lang)}–{number(high, decimals, lang)}{sign}"
    if unit == "number":
        word = _UNIT_WORDS[lang]["to"]
        lo, hi = number(low, decimals, lang), number(high, decimals, lang)
        return f"{lo} {word} {hi}" if float(low) < 0 else f"{lo}–{hi}"
    raise ValueError(f"unit must be pct, share, pp or number; got {unit!r}")


def p_value(p, lang: str = "sv") -> str:
    """A p-value: three decimals, ``< 0,001`` below that.

    Examples
    --------
    >>> p_value(0.0423), p_value(0.00001), p_value(0.00001, "en")
    ('0,042', '<\\xa00,001', '<\\xa00.001')
    """
    if is_missing(p):
        return MISSING
    if float(p) < 0.001:
        return "<" + NBSP + number(0.001, 3, lang)
    return number(p, 3, lang)


def sek(x, lang: str = "sv", *, scale: str = "auto") -> str:
    """An amount in Swedish kronor: ``12 345 kr``, ``1,2 mnkr`` (auto-scaled from a million).

    Examples
    --------
    >>> sek(12345), sek(2_450_000), sek(2_450_000, "en"), sek(None)
    ('12\\xa0345\\xa0kr', '2,5\\xa0mnkr', '2.5\\xa0MSEK', '–')
    """
    if is_missing(x):
        return MISSING
    words = _UNIT_WORDS[check_lang(lang)]
    value = float(x)
    if scale == "msek" or (scale == "auto" and abs(value) >= 1_000_000):
        return number(value / 1e6, 1, lang) + NBSP + words["msek"]
    if scale == "tsek":
        return number(value / 1e3, 0, lang) + NBSP + words["tsek"]
    return number(value, 0, lang) + NBSP + words["sek"]


def date(x, lang: str = "sv") -> str:
    """A date as ISO 8601 (``2024-03-01``), the form Swedish authorities write.

    Examples
    --------
    >>> import datetime
    >>> date(datetime.date(2024, 3, 1)), date(None)
    ('2024-03-01', '–')
    """
    if is_missing(x):
        return MISSING
    import pandas as pd

    return pd.Timestamp(x).strftime("%Y-%m-%d")


def year(x, lang: str = "sv") -> str:
    """A year or round, without thousands separator (``2024``, never ``2 024``).

    Examples
    --------
    >>> year(2024.0), year(None)
    ('2024', '–')
    """
    if is_missing(x):
        return MISSING
    return str(int(x))
