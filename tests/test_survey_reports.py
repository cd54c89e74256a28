"""The survey report kinds end to end, attacked: organisation, unit and role names that are
HTML (an image pointing at a local secret file, scripts, event handlers) must come out of every
report as visible text, never as live markup, and never pull the file in. And every report is
publishable: no ``NaN``, no pandas index column, no decimal point or hyphen minus in Swedish
numbers, the page metadata (title, running header) for the PDF printer.

The notebooks run through papermill on a copy of the small synthetic study whose registry and
answers carry the hostile names; the pages are exported with
:func:`mognad.report.render.export_html`, exactly as the report runner does.
"""

from __future__ import annotations

import base64
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import papermill as pm
import pytest
from _report_checks import assert_no_raw_tables, assert_pdf_has_every_header, assert_publishable

import mognad
from mognad.io.ingest import ingest
from mognad.io.store import init_study
from mognad.present.page import PAGE_META_MIME, read_page_meta
from mognad.report.render import export_html, report_text

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SECRET = "TOPSECRET-pseudonym-key-0123456789"
UNIT = "<img src=x onerror=alert('unit')>"
ROLE = "<svg onload=alert('role')>chef"
REGION = "<script>alert('region')</script> Västkust"


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text inside script elements."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def assert_nothing_live(html: str) -> None:
    """No element from data: no event handler, no image but embedded figures, no script that
    came from a name, and the secret file's content nowhere (not even base64)."""
    parser = _Tags()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert not [a for a in attrs if a.lower().startswith("on")], (tag, attrs)
        if tag == "img":
            assert str(attrs.get("src", "")).startswith("data:image/png;base64,"), attrs
        assert tag != "svg" or "onload" not in attrs
    assert not any("alert(" in s for s in parser.scripts)
    assert SECRET not in html
    assert base64.b64encode(SECRET.encode()).decode()[:24] not in html


def assert_pdf_shows_every_column(html: str, tmp_path: Path) -> None:
    """Printed to A4 by Chromium, every word of every column header is in the PDF's text: no
    column is cut off at the right margin."""
    from mognad.report.render import find_chromium, html_to_pdf

    try:
        find_chromium()
    except mognad.MognadError:
        pytest.skip("Chromium is not installed")
    page = tmp_path / "page.html"
    page.write_text(html, encoding="utf-8")
    assert re.search(r"<th[^>]*>", html)
    assert_pdf_has_every_header(html, html_to_pdf(page, tmp_path / "page.pdf"))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, small_data):
    """The small study with hostile names: the company's name points at a real local file,
    the reorganised region's name is a script, one unit and one role are event handlers."""
    root = tmp_path_factory.mktemp("hostile")
    secret = root / "pseudonym.key"
    secret.write_text(SECRET, encoding="utf-8")
    org_name = f'<img src="{secret}">'
    inputs = root / "inputs"
    shutil.copytree(small_data / "inputs", inputs)
    orgs = pd.read_csv(inputs / "organisations.csv", dtype=str, keep_default_na=False)
    company = "B001"
    unit = (pd.read_csv(inputs / "responses_2024.csv", dtype=str)
            .query("org_id == @company")["unit"].value_counts().index[0])
    orgs.loc[orgs["org_id"] == company, "name"] = org_name
    orgs.loc[orgs["org_id"] == "R12", "name"] = REGION
    orgs.to_csv(inputs / "organisations.csv", index=False)
    for path in sorted(inputs.glob("responses_*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        mine = frame["org_id"] == company
        frame.loc[mine & (frame["unit"] == unit), "unit"] = UNIT
        frame.loc[mine & (frame["role"] == "chef"), "role"] = ROLE
        frame.to_csv(path, index=False)
    study = root / "study"
    init_study(study)
    ingest(inputs, study=study)
    return SimpleNamespace(study=study, org_id=company, org_name=org_name, root=root)


def run(notebook: str, out: Path, **parameters):
    import nbformat

    pm.execute_notebook(str(NOTEBOOKS / notebook), str(out), parameters=parameters,
                        kernel_name="python3", cwd=str(NOTEBOOKS), progress_bar=False,
                        log_output=False)
    return nbformat.read(str(out), as_version=4)


@pytest.fixture(scope="module")
def organisation_pages(hostile, tmp_path_factory):
    out = tmp_path_factory.mktemp("org-pages")
    pages = {}
    for lang in ("sv", "en"):
        nb = run("organisation_report.ipynb", out / f"org-{lang}.ipynb",
                 study=str(hostile.study), org_id=hostile.org_id, round=2024, lang=lang,
                 n_boot=100)
        pages[lang] = (nb, export_html(nb, lang=lang))
    return pages


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_organisation_report_shows_hostile_names_as_text(organisation_pages, hostile, lang,
                                                        tmp_path):
    nb, html = organisation_pages[lang]
    assert_nothing_live(html)
    assert_pdf_shows_every_column(html, tmp_path)
    text = report_text(html)
    assert hostile.org_name in text          # the name, shown literally
    assert UNIT in text and ROLE in text     # units and roles too (the largest of each is shown)
    assert_no_raw_tables(html)
    assert_publishable(text, lang)
    meta = read_page_meta(nb)
    assert meta["running_header"] == (
        f"{hostile.org_name} · {'Digital mognad' if lang == 'sv' else 'Digital maturity'} 2024")
    assert meta["report_title"].endswith(hostile.org_name)


def test_organisation_report_says_what_is_clear_and_names_peers(organisation_pages):
    """Uncertainty in words, the peer group by name, the type with its probability in per cent,
    the statements appendix."""
    _, html = organisation_pages["sv"]
    text = report_text(html)
    assert "konfidensintervall" in text
    assert re.search(r"(sannolikt|troligen) typ [ABCD] \(\d+ %\)|osäker", text.replace(
        "\u00a0", " "))
    assert re.search(r"(Tydligt högre|Tydligt lägre|Inom felmarginalen|Ingen skillnad)", text)
    assert "kommunala bolag" in text or "riket" in text   # a company: its organisation type
    assert "Percentilrang" in text and "Jämfört med flera jämförelsegrupper" in text
    assert "Bilaga: påståendena jämfört med jämförelsegruppen" in text
    assert "sannolikhet 0," not in text


@pytest.mark.parametrize("notebook", ["national_status.ipynb", "longitudinal_study.ipynb"])
def test_national_and_longitudinal_reports_are_safe_and_clean(hostile, tmp_path, notebook):
    nb = run(notebook, tmp_path / notebook, study=str(hostile.study), lang="sv")
    html = export_html(nb, lang="sv")
    assert_nothing_live(html)
    assert_no_raw_tables(html)
    assert_pdf_shows_every_column(html, tmp_path)
    text = report_text(html)
    assert_publishable(text, "sv")
    assert any(PAGE_META_MIME in (o.get("data") or {}) for c in nb.cells
               for o in c.get("outputs", []))
    if notebook.startswith("longitudinal"):
        # the study follows the reorganised region, whose name is a script
        assert REGION in text
        assert read_page_meta(nb)["running_header"].endswith(REGION)
        for header in ("Före", "Efter", "Netto, p.e. (95 % KI)", "Bidrag, p.e."):
            assert header in text
    else:
        assert "konfidensintervall" in text
        for header in ("Alla deltagare (95 % KI)", "Balanserad panel (95 % KI)",
                       "Cronbachs alfa (95 % KI)"):
            assert header in text


def test_the_checks_catch_what_they_look_for():
    """The checks above can fail: live markup, an embedded secret, raw pandas tables and
    unformatted numbers are all caught."""
    for bad in ('<p><img src="x" onerror="alert(1)"></p>', '<img src="../keys/pseudonym.key">',
                "<script>alert(1)</script>", f"<p>{SECRET}</p>"):
        with pytest.raises(AssertionError):
            assert_nothing_live(bad)
    with pytest.raises(AssertionError):
        assert_no_raw_tables(pd.DataFrame({"a": [1.5]}).to_html())
    for bad in ("Resultat 47.6 %", "Skillnad -3,2 p.e.", "Resultat NaN", "pandas 2.2.3 ger 0.5"):
        with pytest.raises(AssertionError):
            assert_publishable(bad, "sv")
    assert_publishable("Resultat 47,6 %, skillnad −3,2 p.e., 2020-03-01, 2019–2024, "
                       "pandas 2.2.3", "sv")


def test_the_pdf_check_sees_a_column_cut_off(tmp_path):
    """A table far wider than A4 loses its right-hand columns in print, and the check says so."""
    from mognad.present.tables import table

    frame = pd.DataFrame({f"c{i}": ["vattenfallsmodellen" * 2] for i in range(14)})
    html = "<html><body>" + str(table(frame, [(f"c{i}", f"Kolumnrubrik{i}") for i in range(14)])
                                ) + "</body></html>"
    with pytest.raises(AssertionError, match="Kolumnrubrik13"):
        assert_pdf_shows_every_column(html, tmp_path)
