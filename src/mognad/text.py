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
