"""Checks every report kind must pass (shared by the report tests): publishable text, only
the report renderer's tables, every column header visible in the printed PDF; and the report
kinds themselves, with the parameters to render each from a study."""

from __future__ import annotations

import html as _html
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import mognad


def assert_publishable(text: str, lang: str) -> None:
    """The visible text of a report: no NaN/None/nan, and (Swedish) no decimal point and no
    hyphen used as a minus sign in numbers. Package versions (``2.0.1``: three or more dotted
    parts, never a Swedish number) are identifiers, not decimals."""
    assert not re.search(r"\b(NaN|nan|None|NaT|<NA>)\b", text), re.search(
        r".{30}\b(NaN|nan|None|NaT|<NA>)\b.{30}", text)
    if lang == "sv":
        clean = re.sub(r"\b\d+(?:\.\d+){2,}\b", "<version>",
                       text.replace(f"mognad {mognad.__version__}", "mognad"))
        found = re.findall(r".{0,25}\d\.\d.{0,10}", clean)
        assert not found, found
        minus = re.findall(r".{0,20}(?<![\w–/-])-\d.{0,10}", clean)
        assert not minus, minus


#: Every report kind with its parameters (``org_id`` None: see :func:`report_parameters`).
REPORTS = [
    ("organisation_report", {"round": 2024, "org_id": None}),
    ("national_status", {"round": 2024}),
    ("longitudinal_study", {}),
    ("dios_report", {"year": 2024, "org_id": None}),
    ("dios_national", {"year": 2024}),
    ("governance_case", {}),
    ("transformation_case", {}),
    ("training_evaluation", {}),
    ("internal_comparison", {}),
]


def report_parameters(study: Path, notebook: str, params: dict, lang: str) -> dict:
    """The parameters to render *notebook* from the study folder *study*: *params* with the
    study, the language and, for ``org_id`` None, the organisation with the most respondents
    (the most systems for the DIOS report)."""
    from mognad.io.store import open_study

    parameters = {"study": str(study), "lang": lang, **params}
    if "org_id" in params and params["org_id"] is None:
        table = "systems" if notebook == "dios_report" else "respondents"
        parameters["org_id"] = str(open_study(study).sql(
            f"SELECT org_id FROM {table} GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
        ).iloc[0, 0])
    return parameters


def pdf_text(pdf: Path, *, raw: bool = False) -> str:
    """A PDF's text (poppler's pdftotext): laid out as on the page, or with *raw* in the order
    it was drawn (a table cell's text together, not interleaved with the next column)."""
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed")
    return subprocess.run(["pdftotext", "-raw" if raw else "-layout", str(pdf), "-"],
                          capture_output=True, text=True, check=True).stdout


def pdf_words(pdf: Path) -> set[str]:
    """The words of a PDF's text (layout mode)."""
    return set(pdf_text(pdf).split())


def assert_pdf_has_every_header(html: str, pdf: Path) -> None:
    """Every word of every column header of *html* is in the text of *pdf*: no column is cut
    off at the right margin. A word the printer broke at its own hyphen ("Non-" / "compliant")
    counts as shown when all its parts are."""
    words = pdf_words(pdf)

    def shown(word: str) -> bool:
        return word in words or all(part in words for part in re.split(r"(?<=-)(?=.)", word))

    headers = {_html.unescape(re.sub(r"<[^>]+>", "", h)).strip()
               for h in re.findall(r"<th[^>]*>(.*?)</th>", html, re.S)}
    missing = sorted(h for h in headers if h and not all(shown(w) for w in h.split()))
    assert not missing, missing


def assert_no_raw_tables(html: str) -> None:
    """Every table is the report renderer's (class ``mognad``): no pandas HTML with its index."""
    assert 'class="dataframe' not in html
    for match in re.finditer(r"<table\b[^>]*>", html):
        assert 'class="mognad' in match.group(0), match.group(0)
