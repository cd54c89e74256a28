"""The survey reports' presentation: table kinds, page blocks and metadata, texts about
uncertainty and peers, the round index, the figures. Expected texts are written by hand from
the catalogue's wording and the Swedish Language Council's number rules."""

from __future__ import annotations

import re

import matplotlib
import numpy as np
import pandas as pd
import pytest

from mognad.present import page, plots, survey
from mognad.present.tables import Col, table

matplotlib.use("Agg")
NB = "\u00a0"
MINUS = "\u2212"


# ------------------------------------------------------------------------------ table kinds
def test_value_with_interval_kinds():
    frame = pd.DataFrame({"v": [51.24, np.nan], "lo": [44.0, 1.0], "hi": [58.4, 2.0],
                          "d": [-3.25, 0.04], "dlo": [-9.1, -1.0], "dhi": [2.6, 1.2]})
    html = str(table(frame, [Col(("v", "lo", "hi"), "Resultat", "pct_ci"),
                             Col(("d", "dlo", "dhi"), "Skillnad", "pp_ci")]))
    assert f"51{NB}% (44–58)" in html
    assert f"{MINUS}3,2 ({MINUS}9,1 till +2,6)" in html   # half to even: −3,25 → −3,2
    assert "0,0 (" in html and "+0,0" not in html
    assert ">–<" in html and "uppgift saknas" in html     # a missing value, explained


def test_links_are_relative_and_escaped():
    frame = pd.DataFrame({"l": [[("HTML", "9001 a&b.html"), ("<b>", "x.pdf")]]})
    html = str(table(frame, [Col("l", "Rapport", "links")]))
    assert 'href="9001%20a%26b.html"' in html and "&lt;b&gt;" in html
    for bad in ("https://evil.example/x", "/etc/passwd", "javascript:alert(1)", "file:///x"):
        with pytest.raises(ValueError, match="relative"):
            table(pd.DataFrame({"l": [[("x", bad)]]}), [Col("l", "Rapport", "links")])


def test_wide_tables_get_a_landscape_page_and_short_ones_stay_whole():
    wide = str(table(pd.DataFrame({"a": range(20)}), [("a", "A", "int")], wide=True))
    assert 'class="mognad-table mognad-wide-page"' in wide and "mognad-keep" not in wide
    assert "mognad-keep" in str(table(pd.DataFrame({"a": [1]}), [("a", "A", "int")]))


# ------------------------------------------------------------------------------ page blocks
def test_catalogue_html_escapes_fields_and_renders_only_catalogue_emphasis():
    out = page.inline("org.peer_lead_no_rank", "sv", peer="*x* <i>", n=3)
    assert out == ("Organisationen jämförs med <strong>&#42;x&#42; &lt;i&gt;</strong> "
                   "(3 organisationer).")


def test_report_head_carries_plain_metadata_and_escaped_html():
    head = page.report_head(True, title="org.title", running_header="org.running_header",
                            lang="en", round=2024, name='<img src="/k">')
    bundle = head._repr_mimebundle_()
    assert bundle[page.PAGE_META_MIME] == {
        "report_title": 'Digital maturity 2024: <img src="/k">',
        "running_header": '<img src="/k"> · Digital maturity 2024', "lang": "en",
        "synthetic": True}
    assert '<img src="/k">' not in bundle["text/html"]
    assert "&lt;img src=&quot;/k&quot;&gt;" in bundle["text/html"]
    assert "SYNTHETIC DATA" in bundle["text/html"] and "<style>" in bundle["text/html"]
    nb = {"cells": [{"outputs": [{"data": {page.PAGE_META_MIME: head.meta()}}]}]}
    assert page.read_page_meta(nb)["running_header"].startswith("<img")
    assert page.read_page_meta({"cells": []}) == {}


def test_print_templates_escape_and_number_pages():
    t = page.print_templates({"running_header": "<script>x</script> · 2024", "lang": "en"})
    assert "<script>" not in t["headerTemplate"] and "&lt;script&gt;" in t["headerTemplate"]
    assert re.search(r'Page <span class="pageNumber"></span> of <span class="totalPages">',
                     t["footerTemplate"])


def test_sections_keep_figures_as_embedded_png_only():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3.75, 2))
    block = str(page.section(page.heading(2, "org.summary"), fig, new_page=True))
    assert block.startswith('<div class="mognad-block mognad-keep mognad-new-page"><h2>')
    assert '<img class="mognad-figure" alt="" src="data:image/png;base64,' in block
    assert 'style="width:45%"' in block          # 3.75 of 7.5 inches → 45 % (90 % × ½)
    assert not plt.fignum_exists(fig.number)     # closed: shown once, not again by the kernel


# ------------------------------------------------------------------------------ words
@pytest.mark.parametrize(("p", "probs", "expected"), [
    (0.82, {"B": 0.82, "D": 0.18}, f"<strong>sannolikt typ B</strong> (82{NB}%)"),
    (0.64, {"B": 0.64, "D": 0.30, "A": 0.06},
     f"<strong>troligen typ B</strong> (64{NB}%), men nära gränsen mot typ D (30{NB}%)"),
    (0.45, {"B": 0.45, "A": 0.40, "D": 0.15},
     f"<strong>osäker</strong>: typ B (45{NB}%) eller typ A (40{NB}%)"),
])
def test_type_probability_in_words(p, probs, expected):
    text = survey.type_text({"code": "B", "probability": p, "probabilities": probs,
                             "name": "Typ B: Hög förmåga, begränsande arv"})
    assert expected in text
    assert "sannolikhet" not in text


def test_clear_and_noise_sentences():
    frame = pd.DataFrame({"level": ["total", "category", "category"],
                          "name": ["total", "innovation", "forvaltning"],
                          "lo": [0.5, -8.0, -12.0], "hi": [6.0, 3.0, -1.0]})
    keys = {"above": "org.clear_above", "below": "org.clear_below", "noise": "org.within_noise",
            "none": "org.none_clear"}
    out = " ".join(survey._verdict_sentences(frame, "lo", "hi", keys, "sv", None))
    assert "<strong>Tydligt högre</strong>" in out and ": Total mognad." in out
    assert "<strong>Tydligt lägre</strong> än jämförelsegruppen (hela intervallet ligger under " \
           "0): Förvaltning." in out
    assert "Inom felmarginalen" in out and ": Innovation." in out
    none = survey._verdict_sentences(frame.assign(lo=-1.0, hi=1.0), "lo", "hi", keys, "sv",
                                     None)
    assert none == ["Ingen skillnad mot jämförelsegruppen är tydlig: alla intervall för "
                    "skillnaden omfattar 0."]


@pytest.mark.parametrize(("peer", "group", "expected"), [
    ("kommungrupp", "B3", "kommungruppen Större stad"),
    ("kommungrupp", "C", "Mindre städer/tätorter och landsbygdskommuner"),
    ("kommungrupp", "kommun", "alla kommuner"),
    ("org_type", "bolag", "kommunala bolag"),
    ("org_type", "riket", "riket"),
    (None, "riket", "riket"),
    ("size_class", "XL", "mycket stora organisationer"),
    ("county_code", "14", "organisationer i län 14"),
])
def test_peer_groups_have_names_not_codes(peer, group, expected):
    assert survey.peer_label(peer, group) == expected


def test_participation_table_is_formatted():
    p = pd.DataFrame({"round": [2023, 2024, 2024, 2024], "org_type": ["kommun", "kommun",
                      "region", "okänd"], "n_orgs": [3, 4, 1, 1],
                      "n_respondents": [40, 1205, 9, 2]})
    html = str(survey.participation_table(p))
    assert ">2023<" in html and ">2 023<" not in html
    assert f"4{NB}(1{NB}205)" in html and f"6{NB}(1{NB}216)" in html   # the total row
    assert "Kommun" in html and "Okänd" in html and ">–<" in html


def test_standard_columns_read_either_vocabulary():
    old = pd.DataFrame({"level": ["total"], "name": ["total"], "from_pct": [40.0],
                        "to_pct": [50.0], "change_pp": [10.0], "ci_low": [2.0],
                        "ci_high": [18.0]})
    new = old.rename(columns={"from_pct": "score_from", "to_pct": "score_to",
                              "change_pp": "change"})
    assert survey.standard_columns(old).columns.tolist() == new.columns.tolist()
    assert survey.standard_columns(new) is new


# ------------------------------------------------------------------------------ round index
def test_index_rows_reasons_without_exception_text():
    records = [
        {"stem": "0114-a", "label": "A & <b>B</b>", "status": "ok",
         "files": {"html": "0114-a.html", "pdf": "0114-a.pdf", "results": "0114-a.results.json"},
         "results": {"name": "A & <b>B</b>", "synthetic": False,
                     "total": {"score_pct": 47.6, "ci_low": 40.2, "ci_high": 55.1},
                     "type": {"code": "C", "probability": 0.914}}},
        {"stem": "0115-b", "label": "Bdal", "status": "failed", "files": {},
         "error": "MognadError: organisation 0115 (Bdal) has no answers in round 2024"},
        {"stem": "0116-c", "label": "Cby", "status": "failed",
         "error": "KeyError: '/home/user/study/pseudonym.key'"},
        {"stem": "0117-d", "label": "Dlunda", "status": "interrupted"},
        {"stem": "0118-e", "label": "Eby", "status": "skipped",
         "files": {"html": "0118-e.html"}, "results": None},
    ]
    frame = survey.index_frame(records)
    assert frame["reason"].tolist() == ["", "indata saknas eller är ogiltiga",
                                        "rapporten kunde inte skapas", "körningen avbröts", ""]
    html = str(survey.index_body(records, round=2024))
    assert "pseudonym.key" not in html and "has no answers" not in html
    assert "A &amp; &lt;b&gt;B&lt;/b&gt;" in html and "<b>B</b>" not in html
    assert f"48{NB}% (40–55)" in html and f"C (91{NB}%)" in html
    assert "SYNTETISKA" not in html                  # no report said synthetic
    assert "5 rapporter: 1 klara, 1 oförändrade, 2 misslyckade, 1 avbrutna" in html
    assert "manifest.json" in html and "<h1" in html and "Rapporter 2024" in html
    assert html.count('<tr class="mark">') == 3      # failed and interrupted rows stand out
    assert 'href="0118-e.html"' in html


def test_index_of_dios_reports_shows_inventory_numbers():
    """A DIOS batch lists systems, annual cost and legacy index (not the survey score), under
    the synthetic banner when the reports say so; expected cells formatted by hand. The name
    comes from the report's results.json: a hostile one is shown escaped, as text."""
    hostile = '<img src=/etc/passwd> <script>alert(1)</script> =HYPERLINK("http://x")'
    records = [{"stem": "9003-dalbo", "label": "9003 Dalbo kommun", "status": "ok",
                "files": {"html": "9003-dalbo.html"},
                "results": {"org_id": "9003", "name": "Dalbo kommun", "synthetic": True,
                            "n_systems": 29, "annual_cost_sek": 16_755_000.0,
                            "legacy_index": 49.58}},
               {"stem": "9004-x", "label": "9004", "status": "ok", "files": {},
                "results": {"org_id": "9004", "name": hostile, "n_systems": 3,
                            "annual_cost_sek": 12_345.0, "legacy_index": 10.0}}]
    html = str(survey.index_body(records, round=2024))
    assert "SYNTETISKA" in html and "Total mognad" not in html
    for header in (">System<", ">Årskostnad<", ">Arvsindex (0–100)<"):
        assert header in html, header
    assert ">Dalbo kommun<" in html and ">29<" in html
    assert f">16,8{NB}mnkr<" in html and ">49,6<" in html
    assert f">12{NB}345{NB}kr<" in html
    assert "<img" not in html and "<script>" not in html
    assert ("&lt;img src=/etc/passwd&gt; &lt;script&gt;alert(1)&lt;/script&gt; "
            "=HYPERLINK(&quot;http://x&quot;)") in html


# ------------------------------------------------------------------------------ figures
def _label_boxes(fig):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    return [(t.get_text(), t.get_window_extent(renderer)) for t in ax.texts
            if re.fullmatch(r"\d{4}", t.get_text())]


def test_map_year_labels_do_not_overlap_and_legend_names_the_own_point():
    types = pd.DataFrame({"org_id": ["1", "2", "3"], "x_pct": [52.0, 70.0, 35.0],
                          "y_pct": [47.0, 65.0, 40.0]})
    history = pd.DataFrame({"round": [2019, 2020, 2021, 2022, 2023],
                            "x_pct": [50.0, 50.6, 50.2, 51.0, 51.5],
                            "y_pct": [45.0, 45.4, 44.8, 45.9, 46.4]})
    fig = plots.quadrant_map(types, org_id="1", history=history, own_label="Asknäs $kommun$")
    boxes = _label_boxes(fig)
    assert sorted(t for t, _ in boxes) == ["2019", "2020", "2021", "2022", "2023"]
    for i, (_, a) in enumerate(boxes):
        for _, b in boxes[i + 1:]:
            assert not a.overlaps(b)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "Asknäs \\$kommun\\$" in legend and "Tidigare mätomgångar" in legend
    names = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert "Hög förmåga, begränsande" in names and "Typ B:" not in names


def test_swedish_tick_labels_in_every_trend_figure():
    trend = pd.DataFrame({"panel": "all", "level": "dimension",
                          "name": ["formaga"] * 3 + ["arv"] * 3,
                          "round": [2022, 2023, 2024] * 2,
                          "estimate": [45.0, 45.5, 46.0, 45.2, 45.9, 46.3],
                          "ci_low": [44.8, 45.3, 45.7, 45.0, 45.6, 46.1],
                          "ci_high": [45.3, 45.8, 46.2, 45.5, 46.1, 46.6]})
    fig = plots.national_trend(trend)
    fig.canvas.draw()
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert any("," in x for x in labels) and not any("." in x for x in labels)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [
        "Digital förmåga", "Digitalt arv"]
    forest = plots.forest(pd.DataFrame({"who": ["A", "B"], "change": [-12.5, 3.0],
                                        "ci_low": [-20.0, -1.0], "ci_high": [-5.0, 7.5]}),
                          label="who")
    forest.canvas.draw()
    assert any(t.get_text().startswith(MINUS) for t in forest.axes[0].get_xticklabels())


# ------------------------------------------------------------------------------ national / long
def _trend():
    rows = []
    for panel, est in (("all", [45.6, 50.2, 48.7]), ("balanced", [44.8, 50.1, 48.3])):
        for i, (r, e) in enumerate(zip([2019, 2020, 2021], est, strict=True)):
            ch = None if i == 0 else e - est[i - 1]
            rows.append({"panel": panel, "level": "total", "name": "total", "round": r,
                         "estimate": e, "ci_low": e - 3.8, "ci_high": e + 3.8, "change": ch,
                         "change_ci_low": None if ch is None else ch - 3.4,
                         "change_ci_high": None if ch is None else ch + 3.4,
                         "n_orgs": 9 + i, "participants_mean": e + 0.6,
                         "composition_flag": r == 2021})
    return pd.DataFrame(rows)


def test_trend_table_and_words():
    html = str(survey.trend_table(_trend()))
    assert f"45,6{NB}% (41,8–49,4)" in html and f"44,8{NB}% (41,0–48,6)" in html
    assert "+4,6 (+1,2 till +8,0)" in html and f"{MINUS}1,5 ({MINUS}4,9 till +1,9)" in html
    assert ">2019<" in html and "uppgift saknas" in html          # no change for the first
    words = str(survey.describe_trend(_trend()))
    assert "Tydliga förändringar mellan två mätomgångar (intervallet utesluter 0): " \
           f"2019–2020 (+4,6{NB}p.e.)" in words
    assert f"Inom felmarginalen: 2020–2021 ({MINUS}1,5{NB}p.e.)" in words
    assert "<strong>Obs!</strong> 2021:" in words


def test_programme_effect_and_target_in_words():
    effect = pd.DataFrame({"n_participants": [6], "n_comparison": [8], "start_round": [2022],
                           "estimate": [6.3], "ci_low": [1.8], "ci_high": [10.8],
                           "pretrend_p": [0.65], "pretrend_slope": [0.2], "flag": [False]})
    text = str(survey.describe_programme(effect))
    assert f"<strong>+6,3{NB}procentenheter</strong> (+1,8 till +10,8)" in text
    assert "Effekten är tydlig" in text and "p = 0,65" in text
    noise = str(survey.describe_programme(effect.assign(ci_low=-0.5)))
    assert "inom felmarginalen" in noise
    assert "inga programdeltagare" in str(survey.describe_programme(None))
    path = pd.DataFrame({"round": [2019, 2021], "target": [48.0, 55.0]})
    target = str(survey.describe_target(_trend(), path))
    # 2019: 45,6 (41,8–49,4) against 48 -> interval includes the path; 2021: 48,7 (44,9–52,5)
    # against 55 -> clearly below
    assert f"2019: 45,6{NB}% (41,8–49,4{NB}%) mot målbanans 48,0{NB}%; skillnad " \
           f"{MINUS}2,4{NB}p.e., inom felmarginalen." in target
    assert "tydligt under målbanan" in target


def test_event_and_decomposition_tables():
    ev = pd.DataFrame({"org_id": "R12", "event_kind": "reorganisation",
                       "event_date": pd.Timestamp("2020-03-01"), "level": "category",
                       "name": ["effektivitet", "balansering"], "mean_before": [52.3, 40.0],
                       "mean_after": [63.9, 60.7], "change": [11.6, 20.7],
                       "national_change": [4.6, 3.1], "net_change": [7.0, 17.6],
                       "net_ci_low": [-0.5, 9.2], "net_ci_high": [14.6, 25.9]})
    html = str(survey.event_tables(ev, {"R12": "<b>Region</b>"}))
    assert "&lt;b&gt;Region&lt;/b&gt;: omorganisation 2020-03-01" in html
    assert f"+7,0 ({MINUS}0,5 till +14,6)" in html and "Netto, p.e. (95 % KI)" in html
    assert "Tydlig nettoförändring (intervallet utesluter 0): Balansering." in html
    assert "Inom felmarginalen: Effektivitet." in html
    dec = pd.DataFrame({"org_id": "R12", "from_round": 2019, "to_round": 2024,
                        "level": ["total", "category"], "name": ["total", "innovation"],
                        "change": [13.11, 21.7], "ci_low": [10.8, 15.9], "ci_high": [15.4, 27.5],
                        "design": "paired", "weight": [1.0, 1 / 6],
                        "contribution": [13.11, 21.7 / 6]})
    html = str(survey.decomposition_tables(dec, {"R12": "Region"}))
    assert "Region, 2019–2024" in html and ">0,17<" in html and ">+3,62<" in html
    assert ">parat<" in html
