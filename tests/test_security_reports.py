"""Hostile names through the real path into every report kind, HTML and PDF.

An attacker controls the organisation registry and the unit, role and system names of the input
files. The files go through `mognad ingest` like any other; then every report kind is rendered
to HTML and PDF. The guarantee (README, *Security and privacy*): no file named by a string is
embedded, no data-derived markup is live in the HTML, and the PDF shows the names as text.
"""

from __future__ import annotations

import base64
import csv
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from _report_checks import (
    REPORTS,
    assert_no_raw_tables,
    assert_pdf_has_every_header,
    assert_publishable,
    pdf_text,
    report_parameters,
)

from mognad.io.ingest import ingest
from mognad.io.store import init_study
from mognad.report.render import find_chromium, render_report, report_text
from mognad.synth import synthesize

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                reason="pdftotext (poppler-utils) is needed to read the PDFs")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
SECRET = "TOPSECRET-7f3a9c-pseudonym-key"
#: What a hostile name looks like: a local file as an image, a live script, a handler, markup
#: and Markdown that would render, a formula.
SCRIPT = "<script>document.body.innerHTML='PWNED'</script>"
BOLD = "<b>FETT</b>"


def hostile_name(secret_path: Path, name: str) -> str:
    return (f'<img src="{secret_path}"> {SCRIPT} {BOLD} <img src=x onerror=alert(1)> '
            f"**{name}** [x](javascript:alert(1)) =HYPERLINK(\"http://x\")")


def _rewrite(path: Path, change) -> None:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        change(row)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def hostile_study(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    secret = root / "secret.key"
    secret.write_text(SECRET, encoding="utf-8")
    data = root / "data"
    synthesize(data, seed=7, profile="small")
    _rewrite(data / "inputs" / "organisations.csv",
             lambda r: r.update(name=hostile_name(secret, r["name"])))
    for responses in sorted((data / "inputs").glob("responses_*.csv")):
        def change(r):
            # unit paths keep their "/" separators; the hostile part has none
            if r.get("unit"):
                r["unit"] = "<img src=x onerror=alert(2)>" + r["unit"]
            if r.get("role"):
                r["role"] = "<svg onload=alert(3)>" + r["role"]
        _rewrite(responses, change)
    _rewrite(data / "cases" / "systems.csv",
             lambda r: r.update(system_name="<script>alert(4)</script>" + r["system_name"],
                                vendor="<img src=x onerror=alert(5)>" + r["vendor"]))
    study = root / "study"
    init_study(study)
    ingest([data / "inputs", data / "cases"], study=study)
    return root, study, secret


class _Live(HTMLParser):
    """Collects what would be live in a browser."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.live: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = {k.lower(): (v or "") for k, v in attrs}
        live = ("script", "iframe", "object", "embed", "svg", "link", "base", "form")
        if tag in live and (tag != "link" or names.get("rel") != "stylesheet"):
            self.live.append(tag)
        for key, value in names.items():
            if key.startswith("on"):
                self.live.append(f"{tag} {key}")
            if key in ("href", "src") and re.match(r"\s*(javascript|file|vbscript):", value, re.I):
                self.live.append(f"{tag} {key}={value[:30]}")
        if tag == "img":
            self.images.append(names.get("src", ""))


@pytest.mark.parametrize("lang", ["sv", "en"])
@pytest.mark.parametrize(("notebook", "params"), REPORTS, ids=[r[0] for r in REPORTS])
def test_hostile_names_stay_text_in_every_report_kind(hostile_study, tmp_path, notebook, params,
                                                     lang):
    """Every report kind, in both languages, HTML and PDF: safe (nothing live, nothing read
    from disk) and publishable (only the renderer's tables, no NaN, Swedish numbers in
    Swedish, every column header in the printed PDF, page numbers in the footer)."""
    root, study, secret = hostile_study
    parameters = report_parameters(study, notebook, params, lang)
    find_chromium()
    result = render_report(NOTEBOOKS / f"{notebook}.ipynb", parameters=parameters,
                           out_dir=tmp_path, stem=notebook, formats=("html", "pdf"))
    html = result.html.read_text(encoding="utf-8")

    # 1. no file named by a string is read or embedded
    assert SECRET not in html
    assert base64.b64encode(SECRET.encode()).decode()[:20] not in html
    # 2. nothing data-derived is live: no script, no handler, no javascript:/file: link, only
    #    embedded figures as images
    parser = _Live()
    parser.feed(html)
    assert parser.live == [], parser.live
    assert all(src.startswith("data:image/") for src in parser.images), \
        [s[:60] for s in parser.images if not s.startswith("data:image/")]
    # 3. the hostile names are shown, escaped, as text
    assert "&lt;script&gt;" in html or "&lt;img" in html
    # 4. the PDF shows them as text too (the script did not run: nothing replaced the page)
    laid_out = pdf_text(result.pdf)
    flat = " ".join(laid_out.split())
    assert SECRET not in laid_out
    assert "<script>" in flat or "<img" in flat, flat[:400]
    # the script did not run: "PWNED" is only ever the escaped name's own text (read in the
    # order it was drawn and without white space: a long name wraps anywhere in a narrow
    # column, and the layout text would interleave it with the next column), and the report is
    # all there
    joined = "".join(pdf_text(result.pdf, raw=True).split())
    assert joined.count("PWNED") == joined.count("innerHTML='PWNED'") >= 1
    assert len(flat) > 1000 and ("Sida 1 av" if lang == "sv" else "Page 1 of") in flat
    # 5. publishable: the report renderer's tables only, no NaN/None, Swedish numbers, every
    #    column header visible in the PDF (nothing cut off at the right margin)
    assert_no_raw_tables(html)
    assert_publishable(report_text(html), lang)
    assert_pdf_has_every_header(html, result.pdf)
