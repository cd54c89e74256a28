"""The presentation layer: number formats (hand-written expectations from the Swedish Language
Council's rules and English convention), locale parity, escaping, the table renderer."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from mognad.errors import MognadError
from mognad.present import catalogue, markup
from mognad.present import numbers as fmt
from mognad.present.tables import Col, table

NB = "\u00a0"  # no-break space
MINUS = "\u2212"


# ------------------------------------------------------------------------------ number formats
@pytest.mark.parametrize(("call", "expected"), [
    # Swedish: decimal comma, no-break space thousands and before %, real minus sign
    (lambda: fmt.number(1234567.891, 2), f"1{NB}234{NB}567,89"),
    (lambda: fmt.number(-0.5, 1), f"{MINUS}0,5"),
    (lambda: fmt.number(-0.04, 1), "0,0"),            # rounds to zero: no "−0,0"
    (lambda: fmt.integer(7.0), "7"),                   # a rank is never "7.0"
    (lambda: fmt.pct(47.6), f"48{NB}%"),
    (lambda: fmt.pct(47.25, 1), f"47,2{NB}%"),         # round half to even, as Python and R
    (lambda: fmt.share(0.476), f"48{NB}%"),            # a share 0-1 shown in per cent
    (lambda: fmt.share(0.0345, 1), f"3,5{NB}%"),
    (lambda: fmt.pp(3.14), f"+3,1{NB}p.e."),
    (lambda: fmt.pp(-2.0), f"{MINUS}2,0{NB}p.e."),
    (lambda: fmt.signed(0.0), "0,0"),
    (lambda: fmt.interval(43.8, 52.1), f"44–52{NB}%"),
    (lambda: fmt.interval(-6.63, 7.36, 1, unit="pp"), f"{MINUS}6,6 till +7,4"),
    (lambda: fmt.p_value(0.0004), f"<{NB}0,001"),
    (lambda: fmt.p_value(0.0512), "0,051"),
    (lambda: fmt.sek(1_234_000), f"1,2{NB}mnkr"),
    (lambda: fmt.sek(45_600), f"45{NB}600{NB}kr"),
    (lambda: fmt.year(2024.0), "2024"),
    # English
    (lambda: fmt.number(1234567.891, 2, "en"), "1,234,567.89"),
    (lambda: fmt.number(-0.5, 1, "en"), "-0.5"),
    (lambda: fmt.pct(47.6, lang="en"), "48%"),
    (lambda: fmt.pp(3.14, lang="en"), f"+3.1{NB}pp"),
    (lambda: fmt.interval(-6.63, 7.36, 1, "en", unit="pp"), "-6.6 to +7.4"),
])
def test_formats(call, expected):
    assert call() == expected


@pytest.mark.parametrize("missing", [None, float("nan"), pd.NA, pd.NaT])
def test_missing_is_a_dash_everywhere(missing):
    for f in (fmt.number, fmt.integer, fmt.pct, fmt.share, fmt.pp, fmt.signed, fmt.p_value,
              fmt.sek, fmt.year, fmt.date):
        assert f(missing) == "–"
    assert fmt.interval(missing, 3.0) == "–"


def test_no_decimal_point_in_swedish_numbers():
    for x in (0.5, 12.25, 1234.5, -3.75):
        for text in (fmt.number(x, 2), fmt.pct(x, 1), fmt.pp(x), fmt.interval(x, x + 1, 1)):
            assert "." not in text.replace("p.e.", "")
            assert "-" not in text


def test_unknown_language_is_a_clear_error():
    with pytest.raises(MognadError, match="lang must be 'sv' or 'en'"):
        fmt.pct(3, lang="de")


# ------------------------------------------------------------------------------ the catalogue
def test_both_languages_have_the_same_keys_and_fields():
    sv, en = catalogue.catalogue("sv"), catalogue.catalogue("en")
    assert set(sv) == set(en), (set(sv) ^ set(en))
    for key in sv:
        assert catalogue.fields(key, "sv") == catalogue.fields(key, "en"), key
        assert sv[key].strip() and en[key].strip(), key


def test_catalogue_errors_name_the_key():
    with pytest.raises(MognadError, match="no text 'org.nothing'"):
        catalogue.text("org.nothing")
    with pytest.raises(MognadError, match="needs the field 'name'"):
        catalogue.text("org.title", round=2024)


def test_codes_get_names_not_letters():
    assert catalogue.value_label("kommungrupp", "B3") == "Större stad"
    assert catalogue.value_label("org_type", "bolag", "en") == "Municipal company"


# ------------------------------------------------------------------------------ escaping
HOSTILE = [
    '<img src="/etc/passwd">',
    "<img src=x onerror=alert(1)>",
    "<script>document.body.innerHTML='pwned'</script>",
    "<svg onload=alert(1)>",
    "[klicka](javascript:alert(1))",
    "![](file:///etc/passwd)",
    "**fet** _kursiv_ `kod`",
    "Kultur\n# Rubrik\n<script>x</script>",
    "$x$ | tabell |",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_escape_md_renders_as_literal_text(name):
    """Rendered by nbconvert's own Markdown filter (as in the HTML export), the escaped value
    is plain text: no tag, link, image, emphasis or heading survives."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    rendered = markdown2html_mistune(f"Organisation: {markup.escape_md(name)}")
    assert not re.search(r"<(img|script|svg|a|em|strong|code|h\d)\b", rendered), rendered
    visible = re.sub(r"<[^>]+>", "", rendered)
    import html

    assert html.unescape(visible).strip() == "Organisation: " + " ".join(
        name.replace("\n", " ").split(" ")).strip()


@pytest.mark.parametrize("name", HOSTILE)
def test_escape_html_leaves_no_tag(name):
    out = markup.escape_html(name)
    assert "<" not in out and ">" not in out and "\n" not in out


def test_catalogue_fields_are_escaped_but_texts_are_not():
    out = markup.md_inline("org.title", "sv", round=2024, name="<b>X</b>")
    assert out == "Digital mognad 2024: &lt;b&gt;X&lt;/b&gt;"
    assert markup.md_inline("org.title", "sv", round=2024, name=markup.Safe("**X**")).endswith(
        "**X**")


# ------------------------------------------------------------------------------ tables
def test_table_formats_escapes_and_explains_missing_values():
    frame = pd.DataFrame({
        "unit": ["<script>alert(1)</script>", "IT/Drift"], "kind": ["kommun", "region"],
        "score_pct": [47.6, None], "low": [40.2, None], "high": [55.1, None],
        "n": [12.0, 7.0], "diff": [-3.25, 1.0],
    }, index=[10, 11])
    html = str(table(frame, [
        Col("unit", "col.unit"), Col("kind", "col.org_type", "label:org_type"),
        Col("score_pct", "col.score", "pct"), Col(("low", "high"), "col.ci", "interval"),
        Col("n", "col.respondents", "int"), Col("diff", "col.difference", "pp"),
    ]))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert f"48{NB}%" in html and f"40–55{NB}%" in html
    assert ">12<" in html and "12.0" not in html and "7.0" not in html
    assert f"{MINUS}3,2" in html  # −3.25 → −3,2 (round half to even)
    assert "Kommun" in html and "Region" in html
    assert "NaN" not in html and "nan" not in html
    assert "– = uppgift saknas." in html
    assert ">10<" not in html  # no index column
    assert "<th class=\"txt\">Enhet</th>" in html


def test_table_without_rows_can_say_so_in_a_sentence():
    out = str(table(pd.DataFrame(columns=["unit"]), [("unit", "col.unit")],
                    empty="org.no_change"))
    assert "tidigare mätomgång" in out and "<table" not in out


# ------------------------------------------------------------------------------ added for the
# DIOS and case-study reports
def test_catalogue_keys_are_the_words_written():
    """YAML 1.1 reads unquoted yes/no/on/off keys as booleans: every key segment must be the
    text it was written as (a header "cases.col.no" once showed as its key)."""
    for lang in ("sv", "en"):
        for key in catalogue.keys(lang):
            assert not {"True", "False", "None"} & set(key.split(".")), key
    assert catalogue.text("cases.col.no", "sv") == "Nr"
    assert catalogue.text("common.yes", "en") == "yes"


def test_more_column_kinds():
    frame = pd.DataFrame({"time": ["invest", "<b>"], "cost": [1_234_567.0, None],
                          "ok": [True, False], "shown": ["12,5\u00a0%", "–"]})
    html = str(table(frame, [("time", "x", "label:dios.time"), ("cost", "y", "sek_k"),
                             ("ok", "z", "yes_no"), ("shown", "w", "formatted")], lang="sv"))
    assert ">Investera<" in html and ">&lt;b&gt;<" in html          # unknown code: escaped
    assert f">1{NB}235{NB}tkr<" in html and ">ja<" in html and ">nej<" in html
    assert '<td class="num">12,5\u00a0%</td>' in html                # formatted: as a number
    assert "uppgift saknas" in html                                   # the dash is explained
    assert 'class="mognad-table mognad-wide-page mognad-keep"' in str(
        table(frame, [("time", "x")], wide=True))
    assert "mognad-wide-page" not in str(table(frame, [("time", "x")]))
    long = pd.concat([frame] * 10)          # 20 rows may run on to the next page
    assert 'class="mognad-table"' in str(table(long, [("time", "x")]))


def test_report_css_prints_wide_tables_landscape_and_lets_outputs_break():
    from mognad.present.style import REPORT_CSS

    assert "@page wide { size: A4 landscape;" in REPORT_CSS
    assert "div.mognad-table.mognad-wide-page { page: wide; }" in REPORT_CSS
    # a heading is kept with its figure by putting both in one output (present.cases.lead),
    # and outputs are blocks so that Chromium can break between them
    assert "div.jp-OutputArea-child { display: block;" in REPORT_CSS


def test_plot_style_is_seaborns_whitegrid_without_importing_it():
    """The written-out style equals what seaborn itself gives (so reports need not import it);
    only the colour map, which exists only with seaborn imported, is left out."""
    import seaborn as sns

    from mognad.present.style import SEABORN_WHITEGRID_NOTEBOOK

    expected = {**sns.axes_style("whitegrid"),
                **sns.plotting_context("notebook", font_scale=0.95)}
    expected.pop("image.cmap")
    assert set(SEABORN_WHITEGRID_NOTEBOOK) == set(expected)
    for key, value in expected.items():
        ours = SEABORN_WHITEGRID_NOTEBOOK[key]
        assert (ours == pytest.approx(value)) if isinstance(value, float) else ours == value, key
