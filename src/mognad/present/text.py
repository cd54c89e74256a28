"""Report texts: Swedish (default) and English labels and number formats.

Swedish reports write percentages as ``48 %`` (a space before the sign) and decimals with a comma
(``0,83``); English ones as ``48%`` and ``0.83``.
"""

from __future__ import annotations

import math

LANGS = ("sv", "en")

LABELS = {
    "sv": {
        "total": "Total mognad",
        "type": "Typ",
        "probability": "sannolikhet",
        "score": "Resultat",
        "interval": "95 % konfidensintervall",
        "peers": "Jämförelsegrupp",
        "peer_mean": "Jämförelsegruppens medelvärde",
        "national": "Riket",
        "category": "Kategori",
        "dimension": "Dimension",
        "unit": "Enhet",
        "role": "Roll",
        "respondents": "Svarande",
        "response_rate": "Svarsfrekvens",
        "change": "Förändring sedan föregående mätomgång",
        "round": "Mätomgång",
        "suppressed": "döljs (färre än {k} svarande)",
        "synthetic_banner": "SYNTETISKA DATA – fiktiva organisationer och svar, endast för test "
                            "och demonstration",
        "provisional": "Typindelningen är preliminär: gränserna är projektets egna antaganden.",
        "weakest": "De tre svagaste kategorierna jämfört med jämförelsegruppen",
        "percentage_points": "procentenheter",
        "not_available": "uppgift saknas",
    },
    "en": {
        "total": "Overall maturity",
        "type": "Type",
        "probability": "probability",
        "score": "Score",
        "interval": "95% confidence interval",
        "peers": "Peer group",
        "peer_mean": "Peer group mean",
        "national": "National",
        "category": "Category",
        "dimension": "Dimension",
        "unit": "Unit",
        "role": "Role",
        "respondents": "Respondents",
        "response_rate": "Response rate",
        "change": "Change since the previous round",
        "round": "Round",
        "suppressed": "hidden (fewer than {k} respondents)",
        "synthetic_banner": "SYNTHETIC DATA – fictional organisations and answers, for testing "
                            "and demonstration only",
        "provisional": "The typology is provisional: the cut points are this project's assumptions.",
        "weakest": "The three weakest categories relative to peers",
        "percentage_points": "percentage points",
        "not_available": "not available",
    },
}

ROLE_LABELS = {
    "sv": {},
    "en": {"ledning": "management", "chef": "manager", "verksamhetsutvecklare":
           "business developer", "strateg": "strategist", "systemförvaltare": "system manager"},
}

PEER_LABELS = {
    "sv": {"org_type": "organisationstyp", "kommungrupp": "kommungrupp", "county_code": "län",
           "size_class": "storleksklass", None: "riket"},
    "en": {"org_type": "organisation type", "kommungrupp": "municipality group",
           "county_code": "county", "size_class": "size class", None: "national"},
}


def check_lang(lang: str) -> str:
    """Validate a language code (``sv`` or ``en``)."""
    if lang not in LANGS:
        from mognad.errors import MognadError

        raise MognadError(f"lang must be 'sv' or 'en'; got {lang!r}")
    return lang


def label(key: str, lang: str = "sv", **kwargs) -> str:
    """A fixed report label in the report's language.

    Examples
    --------
    >>> label("suppressed", "sv", k=5)
    'döljs (färre än 5 svarande)'
    """
    return LABELS[check_lang(lang)][key].format(**kwargs)


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def fmt_number(x, decimals: int = 0, lang: str = "sv") -> str:
    """A number with the report language's decimal mark; missing gives an en dash.

    Examples
    --------
    >>> fmt_number(0.8333, 2), fmt_number(0.8333, 2, "en"), fmt_number(float("nan"))
    ('0,83', '0.83', '–')
    >>> fmt_number(-3.25, 1)
    '−3,2'
    """
    if _missing(x):
        return "–"
    text = f"{float(x):,.{decimals}f}".replace(",", "\u202f")
    if check_lang(lang) == "sv":
        text = text.replace(".", ",").replace("-", "−")
    return text


def fmt_pct(x, decimals: int = 0, lang: str = "sv") -> str:
    """A percentage: ``48 %`` in Swedish, ``48%`` in English.

    Examples
    --------
    >>> fmt_pct(47.6), fmt_pct(47.6, lang="en"), fmt_pct(47.25, 1)
    ('48 %', '48%', '47,2 %')
    """
    if _missing(x):
        return "–"
    return fmt_number(x, decimals, lang) + (" %" if lang == "sv" else "%")


def fmt_interval(low, high, decimals: int = 0, lang: str = "sv") -> str:
    """An interval such as ``(44–52 %)``.

    Examples
    --------
    >>> fmt_interval(43.8, 52.1)
    '(44–52 %)'
    """
    if _missing(low) or _missing(high):
        return ""
    unit = " %" if lang == "sv" else "%"
    return f"({fmt_number(low, decimals, lang)}–{fmt_number(high, decimals, lang)}{unit})"


def fmt_signed(x, decimals: int = 1, lang: str = "sv") -> str:
    """A signed number, e.g. a difference in percentage points without the unit.

    Examples
    --------
    >>> fmt_signed(6.64), fmt_signed(-0.32), fmt_signed(0.04)
    ('+6,6', '−0,3', '0,0')
    """
    if _missing(x):
        return "–"
    rounded = round(float(x), decimals)
    return ("+" if rounded > 0 else "") + fmt_number(rounded, decimals, lang)


def fmt_range(low, high, decimals: int = 0, lang: str = "sv", unit: str = "%") -> str:
    """An interval without brackets: ``54–63 %``; for signed values ``−6,6 till +7,4``.

    Examples
    --------
    >>> fmt_range(53.6, 63.2), fmt_range(-6.63, 7.36, 1, unit="pp")
    ('54–63 %', '−6,6 till +7,4')
    """
    if _missing(low) or _missing(high):
        return "–"
    if unit == "pp":
        word = " till " if lang == "sv" else " to "
        return fmt_signed(low, decimals, lang) + word + fmt_signed(high, decimals, lang)
    sign = " %" if lang == "sv" else "%"
    return f"{fmt_number(low, decimals, lang)}–{fmt_number(high, decimals, lang)}{sign}"


def fmt_pp(x, decimals: int = 1, lang: str = "sv") -> str:
    """A signed difference in percentage points.

    Examples
    --------
    >>> fmt_pp(3.14), fmt_pp(-2.0, lang="en")
    ('+3,1 procentenheter', '-2.0 percentage points')
    """
    if _missing(x):
        return "–"
    sign = "+" if x > 0 else ""
    return f"{sign}{fmt_number(x, decimals, lang)} {label('percentage_points', lang)}"


HEADINGS = {
    "sv": {
        "title": "Digital mognad {round}: {name}",
        "summary": "Sammanfattning",
        "type": "Typ och generella rekommendationer",
        "categories": "Kategorierna jämfört med jämförelsegruppen",
        "map": "Kartan: digital förmåga och digitalt arv",
        "weakest": "De tre svagaste kategorierna",
        "change": "Förändring sedan {previous}",
        "no_change": "Organisationen deltog inte i någon tidigare mätomgång.",
        "internal": "Intern jämförelse",
        "units": "Enheter",
        "roles": "Roller",
        "quality": "Datakvalitet",
        "about": "Om rapporten",
        "overall": "Total digital mognad",
        "respondents": "svarande",
        "peer_text": "Jämförelsegrupp: {peer} ({n} organisationer).",
    },
    "en": {
        "title": "Digital maturity {round}: {name}",
        "summary": "Summary",
        "type": "Type and generic recommendations",
        "categories": "Categories compared with peers",
        "map": "The map: digital capability and digital legacy",
        "weakest": "The three weakest categories",
        "change": "Change since {previous}",
        "no_change": "The organisation took part in no earlier round.",
        "internal": "Internal comparison",
        "units": "Units",
        "roles": "Roles",
        "quality": "Data quality",
        "about": "About this report",
        "overall": "Overall digital maturity",
        "respondents": "respondents",
        "peer_text": "Peer group: {peer} ({n} organisations).",
    },
}


def heading(key: str, lang: str = "sv", **kwargs) -> str:
    """A report heading or sentence in the report's language.

    Examples
    --------
    >>> heading("change", "sv", previous=2023)
    'Förändring sedan 2023'
    """
    return HEADINGS[check_lang(lang)][key].format(**kwargs)


def html_table(frame, columns: dict, *, lang: str = "sv", pct: tuple = (), pp: tuple = (),
               decimals: dict | None = None) -> str:
    """A small HTML table with report-language headers and number formats.

    Parameters
    ----------
    frame : DataFrame
    columns : dict
        ``{column: header}`` in display order.
    pct, pp : tuple of str
        Columns formatted as percentages / signed numbers (percentage points; say the unit in
        the header).
    decimals : dict, optional
        ``{column: decimals}`` for other numeric columns.

    Examples
    --------
    >>> import pandas as pd
    >>> html_table(pd.DataFrame({"a": ["x"], "b": [47.6]}), {"a": "Namn", "b": "Resultat"},
    ...            pct=("b",))
    '<table class="mognad"><thead><tr><th>Namn</th><th>Resultat</th></tr></thead><tbody><tr><td class="txt">x</td><td class="num">48 %</td></tr></tbody></table>'
    """
    import html as _html

    decimals = decimals or {}
    head = "".join(f"<th>{_html.escape(h)}</th>" for h in columns.values())
    rows = []
    for _, r in frame.iterrows():
        cells = []
        for col in columns:
            v = r[col]
            if col in pct:
                text, cls = fmt_pct(None if _isna(v) else v, lang=lang), "num"
            elif col in pp:
                text, cls = fmt_signed(None if _isna(v) else v, lang=lang), "num"
            elif col in decimals:
                text, cls = fmt_number(None if _isna(v) else v, decimals[col], lang), "num"
            else:
                text, cls = ("–" if _isna(v) else _html.escape(str(v))), "txt"
            cells.append(f'<td class="{cls}">{text}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table class="mognad"><thead><tr>{head}</tr></thead><tbody>'
            + "".join(rows) + "</tbody></table>")


def _isna(v) -> bool:
    try:
        import pandas as pd

        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def banner(lang: str = "sv", message: str | None = None) -> str:
    """The synthetic-data banner as an HTML block (``message`` replaces the standard text)."""
    return ('<div class="mognad-synthetic" style="border:3px solid #c0504d;background:#fbeaea;'
            'color:#7a1f1d;padding:10px 14px;font-weight:bold;font-size:1.1em;'
            'margin:8px 0 16px 0">'
            f'{message or label("synthetic_banner", lang)}</div>')


def synthetic_banner(study, lang: str = "sv", message: str | None = None):
    """The banner for a notebook: IPython ``HTML``, empty when the data is not synthetic.

    Parameters
    ----------
    study : Study or bool
        The study (its ``is_synthetic``) or the flag itself.
    lang : str
    message : str, optional
        Text instead of the standard one.

    Examples
    --------
    >>> synthetic_banner(False).data
    ''
    >>> "SYNTETISKA DATA" in synthetic_banner(True).data
    True
    """
    from IPython.display import HTML

    synthetic = study if isinstance(study, bool) else bool(getattr(study, "is_synthetic", False))
    return HTML(banner(lang, message) if synthetic else "")


REPORT_CSS = """<style>
table.mognad { border-collapse: collapse; margin: 6px 0 14px 0; font-size: 0.92em; }
table.mognad th { text-align: left; border-bottom: 1.5px solid #444; padding: 4px 10px; }
table.mognad td { padding: 3px 10px; border-bottom: 1px solid #ddd; white-space: nowrap; }
table.mognad td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
table.mognad td.txt { text-align: left; }
table.mognad tbody tr:nth-child(odd) { background: #f6f7f9; }
</style>"""


def report_css() -> str:
    """The style sheet for :func:`html_table` tables (include once per report)."""
    return REPORT_CSS
