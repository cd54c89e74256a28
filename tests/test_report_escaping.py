"""Data-derived strings never become live markup in a report (issue 10, item 1).

An attacker controls the input files: organisation names (registry), system, vendor, product
and domain names (DIOS inventory), event texts and file names. Each report kind (DIOS
organisation and national, governance, transformation, training) is run on the small synthetic
study with such names planted in the store, exported with the real HTML exporter
(:func:`mognad.report.render.export_html`) and parsed: no script, no event handler, no
``javascript:`` link, no image other than the figures the notebook drew (data URIs), nothing of a
local file embedded; the names are shown as text. The expected behaviour comes from the
guarantee, not from the code: an escaped name reads exactly as it was written.
"""

from __future__ import annotations

import base64
import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

import papermill as pm
import pytest

from mognad.io.ingest import ingest
from mognad.io.store import open_study
from mognad.report.render import export_html, report_text

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SECRET = "TOPSECRET-pseudonym-key-0123456789"


def hostile_names(secret_path: Path) -> dict[str, str]:
    """What an attacker writes into the input files (the real name kept at the end)."""
    return {
        "9116": f'<img src="{secret_path}">Kustvik kommun',
        "9226": "<script>alert('x')</script>Norrsund kommun $\\notacommand$",
        "R12": "<img src=x onerror=alert(1)>Region Västkust",
        "9142": "[klick](javascript:alert(1)) Kvarndal kommun",
    }


VENDOR = "<script>alert(2)</script>Omsorgia AB $\\frac{1}$"
PRODUCT = "<img src=x onerror=alert(3)>Omsorgia"
SYSTEM = "[x](javascript:alert(4))Verksamhetssystem"
DOMAIN = "<b onmouseover=alert(5)>Socialtjänst</b>"
EVENT = '<img src="{secret}"> IT delas i drift och utveckling'
FILE = "<img src=x onerror=alert(6)>.csv"


@pytest.fixture(scope="module")
def hostile_study(small_study_path, small_data, tmp_path_factory):
    """The small study with its case files, hostile names planted in every text a report shows.

    The names are written into the store directly: the test is about the reports, which must be
    safe whatever ingest lets through.
    """
    root = tmp_path_factory.mktemp("hostile")
    secret = root / "secret.txt"
    secret.write_text(SECRET, encoding="utf-8")
    dest = root / "study"
    shutil.copytree(small_study_path, dest)
    ingest([small_data / "cases" / f for f in ("systems.csv", "budgets.csv", "requests.csv",
                                               "training.csv")], study=dest)
    names = hostile_names(secret)
    con = open_study(dest).connect(read_only=False)
    try:
        for org, name in names.items():
            con.execute("UPDATE organisations SET name = ? WHERE org_id = ?", [name, org])
        con.execute("UPDATE systems SET vendor = ? WHERE vendor = 'Omsorgia AB'", [VENDOR])
        con.execute("UPDATE systems SET product = ? WHERE product LIKE 'Omsorgia%'", [PRODUCT])
        con.execute("UPDATE systems SET system_name = ? WHERE system_name LIKE 'Verksamhets%'",
                    [SYSTEM])
        con.execute("UPDATE systems SET domain = ? WHERE domain = 'Socialtjänst'", [DOMAIN])
        con.execute("UPDATE events SET text = ? WHERE org_id = 'R12' AND kind = "
                    "'reorganisation'", [EVENT.format(secret=secret)])
        con.execute("UPDATE provenance SET file_name = ? WHERE kind = 'events'", [FILE])
    finally:
        con.close()
    return {"path": dest, "secret": secret, "names": names}


#: Words each report must show (its sections), beside the banner.
WORDS = {
    "dios_report": ["Eliminera", "Arvsindex", "Skallkrav", "tydligt", "Om rapporten"],
    "dios_national": ["Vendor concentration", "The correlation (Pearson)", "Legacy index"],
    "governance_case": ["Kapacitetsglapp", "Littles lag", "Ledtider", "Studiens fingeravtryck"],
    "transformation_case": ["Difference in differences", "has no log of development",
                            "Study fingerprint"],
    "training_evaluation": ["Wilcoxon", "Kursens utmaningar", "Studiens fingeravtryck"],
}

RUNS = {  # report kind -> (notebook, parameters, language)
    "dios_report": ("dios_report.ipynb", {"org_id": "9116", "year": 2024}, "sv"),
    "dios_national": ("dios_national.ipynb", {"year": 2024}, "en"),
    "governance_case": ("governance_case.ipynb", {}, "sv"),
    "transformation_case": ("transformation_case.ipynb", {"n_boot": 100}, "en"),
    "training_evaluation": ("training_evaluation.ipynb", {}, "sv"),
}


@pytest.fixture(scope="module")
def reports(hostile_study, tmp_path_factory):
    """Each report kind executed (papermill, two kernels at a time) and exported to HTML."""
    out = tmp_path_factory.mktemp("hostile-nb")

    def run(kind):
        notebook, params, lang = RUNS[kind]
        target = out / f"{kind}.ipynb"
        try:
            pm.execute_notebook(str(NOTEBOOKS / notebook), str(target),
                                parameters={"study": str(hostile_study["path"]), "lang": lang,
                                            **params},
                                kernel_name="python3", cwd=str(NOTEBOOKS), progress_bar=False,
                                log_output=False)
        except Exception as exc:  # reported by the test of that kind
            return exc
        nb = json.loads(target.read_text(encoding="utf-8"))
        return {"nb": nb, "html": export_html(target, lang=lang)}

    with ThreadPoolExecutor(2) as pool:
        return dict(zip(RUNS, pool.map(run, RUNS), strict=True))


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


@pytest.mark.parametrize("kind", list(RUNS))
def test_no_data_derived_markup_is_live(reports, hostile_study, kind):
    report = reports[kind]
    if isinstance(report, Exception):
        raise report
    html = report["html"]
    parser = _Tags()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag not in ("script", "iframe", "object", "embed"), (tag, attrs)
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name, value)
            assert not value.strip().lower().startswith("javascript:"), (tag, name, value)
        if tag == "img":
            assert attrs.get("src", "").startswith("data:image/png;base64,"), attrs
    # nothing of the local file reached the page, neither as text nor embedded
    assert SECRET not in html
    assert base64.b64encode(SECRET.encode()).decode()[:24] not in html
    # no error and no warning in the report
    for cell in report["nb"]["cells"]:
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", out
            assert out.get("name") != "stderr", out.get("text")


def _visible(report) -> str:
    return report_text(report["html"])


@pytest.mark.parametrize(("kind", "shown"), [
    ("dios_report", ["9116", VENDOR, SYSTEM, DOMAIN, PRODUCT]),
    ("dios_national", [VENDOR, DOMAIN, "9116", "9226"]),
    ("governance_case", ["9116", "9226", FILE]),
    ("transformation_case", ["R12", "EVENT", FILE]),
    ("training_evaluation", ["9142", FILE]),
])
def test_hostile_names_are_shown_as_text(reports, hostile_study, kind, shown):
    report = reports[kind]
    if isinstance(report, Exception):
        raise report
    text = _visible(report)
    for item in shown:
        value = (hostile_study["names"].get(item)
                 or (EVENT.format(secret=hostile_study["secret"]) if item == "EVENT" else item))
        # the secret's path may appear as the text of the escaped name, never its content
        assert value in text, f"{value!r} not shown as text in the {kind} report"


@pytest.mark.parametrize("kind", list(RUNS))
def test_reports_have_the_banner_and_no_raw_pandas(reports, hostile_study, kind):
    report = reports[kind]
    if isinstance(report, Exception):
        raise report
    lang = RUNS[kind][2]
    text = _visible(report)
    assert ("SYNTETISKA DATA" if lang == "sv" else "SYNTHETIC DATA") in text
    for word in WORDS[kind]:
        assert word in text, (kind, word)
    fingerprint = open_study(hostile_study["path"]).fingerprint
    assert fingerprint[:16] in text
    assert "konfidensintervall" in text if lang == "sv" else "confidence interval" in text
    assert "NaN" not in text and "<NA>" not in text and " None " not in text
    assert "dataframe" not in report["html"]          # no pandas HTML (index columns, Styler)
    assert "data:image/png;base64," in report["html"]     # the figures, drawn by the notebook
    if lang == "sv":   # no decimal point and no hyphen-minus in Swedish numbers
        import re

        body = text.split("Data och miljö")[0].split("Om rapporten")[0]
        assert not re.search(r"\d\.\d", body), re.search(r".{30}\d\.\d.{30}", body)
        assert not re.search(r"(?<![\w-])-\d", body), re.search(r".{30}(?<![\w-])-\d.{30}", body)
