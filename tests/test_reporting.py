"""Tests for mognad.report.render: one notebook -> HTML, PDF, results sidecar.

The sample notebook (tests/notebooks/sample_report.ipynb) draws 5 dimensions x 12 answers from
a generator seeded by sha256(f"{org_id}-{round}"), prints, shows a table and a seaborn plot,
emits a DeprecationWarning and a FutureWarning (which must not reach the report), records
results, and raises ValueError for org_id == "BROKEN".
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from mognad.errors import MognadError
from mognad.report.render import (
    ReportError,
    _atomic_write_bytes,
    export_html,
    record_results,
    render_report,
    report_text,
    strip_remote_resources,
)

NOTEBOOKS = Path(__file__).parent / "notebooks"
SAMPLE = NOTEBOOKS / "sample_report.ipynb"
SLEEPY = NOTEBOOKS / "sleepy.ipynb"
PARAMS = {"study": "data/demo/study", "org_id": "0180", "round": 2024, "lang": "sv"}
HAS_CHROMIUM = shutil.which("chromium") is not None
needs_chromium = pytest.mark.skipif(
    not HAS_CHROMIUM,
    reason="Chromium is not installed (apt-get install -y chromium); PDF export needs it",
)
REMOTE = re.compile(r"""(?:src|href)\s*=\s*["']?\s*https?://""", re.IGNORECASE)


def _expected_answers(org_id: str, round_: int) -> np.ndarray:
    # The planted data, by the notebook's own recipe: 5 dimensions x 12 answers.
    seed = int.from_bytes(hashlib.sha256(f"{org_id}-{round_}".encode()).digest()[:4], "little")
    return np.random.default_rng(seed).integers(1, 6, size=60)


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture(scope="module")
def fast_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("fast")
    formats = ("html", "pdf") if HAS_CHROMIUM else ("html",)
    result = render_report(
        SAMPLE, parameters=PARAMS, out_dir=out, stem="0180_2024", formats=formats,
        keep_ipynb=True,
    )
    return result, out


@pytest.fixture(scope="module")
def papermill_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("papermill")
    result = render_report(
        SAMPLE, parameters=PARAMS, out_dir=out, stem="0180_2024", formats=("html",),
        keep_ipynb=True, engine="papermill",
    )
    return result, out


def test_report_files_and_results(fast_report):
    result, out = fast_report
    expected = {"0180_2024.html", "0180_2024.ipynb", "0180_2024.results.json"}
    if HAS_CHROMIUM:
        expected.add("0180_2024.pdf")
    assert set(_files(out)) == expected  # nothing else, no temporary leftovers
    answers = _expected_answers("0180", 2024)
    stored = json.loads((out / "0180_2024.results.json").read_text(encoding="utf-8"))
    assert stored == result.results
    assert stored["org_id"] == "0180" and stored["round"] == 2024
    assert stored["n"] == 60
    assert stored["mean"] == pytest.approx(answers.mean())
    # by_dimension: means of the 12 consecutive answers per dimension, rounded to 2 decimals
    assert stored["by_dimension"] == pytest.approx(np.round(answers.reshape(5, 12).mean(1), 2))
    assert result.html == out / "0180_2024.html"
    assert oct((out / "0180_2024.results.json").stat().st_mode & 0o777) != oct(0o600)


def test_html_is_self_contained_and_without_code(fast_report):
    _, out = fast_report
    html = (out / "0180_2024.html").read_text(encoding="utf-8")
    assert not REMOTE.search(html), REMOTE.search(html)
    assert "<script src" not in html
    assert 'src="data:image/png;base64,' in html  # the seaborn figure, embedded
    assert '<html lang="sv">' in html
    assert "@page" in html and "A4" in html
    text = report_text(html)
    assert "Organisation 0180, omgång 2024: 60 svar på 5 dimensioner." in text
    assert "Sammanfattning: medelvärdet är" in text
    # no code, no prompts
    assert "import seaborn" not in html and "record_results(" not in html
    assert "In&nbsp;[" not in html and "Out[" not in text
    # filtered warnings and kernel noise never reach a report
    assert "föråldrat" not in text and "framtida ändring" not in text
    assert "DeprecationWarning" not in text and "FutureWarning" not in text
    assert "unencrypted" not in text.lower()


@needs_chromium
def test_pdf_is_a_pdf(fast_report):
    _, out = fast_report
    pdf = out / "0180_2024.pdf"
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
        pages = int(re.search(r"^Pages:\s+(\d+)", info.stdout, re.M).group(1))
        assert re.search(r"^Page size:.*\(A4\)", info.stdout, re.M)
    else:
        pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
    assert pages >= 1


def _coalesced(outputs):
    """Outputs with consecutive stream pieces of one stream joined: a kernel under load may
    deliver print's text and its newline as two messages (ipykernel flushes on a timer)."""
    out = []
    for output in outputs or []:
        if (out and output.get("output_type") == "stream"
                and out[-1].get("output_type") == "stream"
                and out[-1].get("name") == output.get("name")):
            out[-1] = {**out[-1], "text": out[-1]["text"] + output["text"]}
        else:
            out.append(dict(output))
    return out


def test_fast_engine_matches_papermill(fast_report, papermill_report):
    import nbformat

    fast_result, fast_out = fast_report
    pm_result, pm_out = papermill_report
    assert pm_result.engine == "papermill" and fast_result.engine == "fast"
    fast_html = (fast_out / "0180_2024.html").read_text(encoding="utf-8")
    pm_html = (pm_out / "0180_2024.html").read_text(encoding="utf-8")
    assert report_text(fast_html) == report_text(pm_html)
    assert fast_result.results == pm_result.results
    # The executed notebooks agree output by output (streams, tables, the PNG bytes, counts).
    fast_nb = nbformat.read(fast_out / "0180_2024.ipynb", as_version=4)
    pm_nb = nbformat.read(pm_out / "0180_2024.ipynb", as_version=4)
    assert len(fast_nb.cells) == len(pm_nb.cells)
    for fast_cell, pm_cell in zip(fast_nb.cells, pm_nb.cells, strict=True):
        assert fast_cell.get("execution_count") == pm_cell.get("execution_count")
        assert _coalesced(fast_cell.get("outputs")) == _coalesced(pm_cell.get("outputs"))
        if fast_cell.cell_type == "code":
            assert set(fast_cell.metadata.execution) == set(pm_cell.metadata.execution)
    assert fast_nb.metadata.language_info == pm_nb.metadata.language_info


def test_failing_notebook_raises_and_writes_nothing(tmp_path):
    with pytest.raises(ReportError) as info:
        render_report(
            SAMPLE, parameters={**PARAMS, "org_id": "BROKEN"}, out_dir=tmp_path, stem="broken",
            formats=("html",),
        )
    err = info.value
    assert err.last_line == "ValueError: organisationen BROKEN finns inte i studien"
    assert "broken" in str(err) and "ValueError" in str(err)
    assert "raise ValueError" in err.traceback  # the notebook's traceback, as plain text
    assert "\x1b[" not in err.traceback
    assert _files(tmp_path) == []


def test_timeout_kills_the_notebook(tmp_path):
    with pytest.raises(ReportError, match="TimeoutError"):
        render_report(
            SLEEPY, parameters={"seconds": 60}, out_dir=tmp_path, stem="slow",
            formats=("html",), timeout=1.5,
        )
    assert _files(tmp_path) == []


@needs_chromium
def test_failure_mid_export_leaves_no_file(tmp_path, monkeypatch):
    # A "browser" that writes half a PDF and crashes: the HTML was already exported, but
    # nothing of the report may appear in out_dir.
    fake = tmp_path / "bin" / "fake-chromium"
    fake.parent.mkdir()
    fake.write_text(
        "#!/bin/sh\n"
        'for a in "$@"; do case "$a" in --print-to-pdf=*) '
        'printf "%%PDF-1.4 half" > "${a#--print-to-pdf=}";; esac; done\n'
        "exit 3\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("MOGNAD_CHROMIUM", str(fake))
    out = tmp_path / "out"
    with pytest.raises(ReportError, match="PDF"):
        render_report(SAMPLE, parameters=PARAMS, out_dir=out, stem="0180_2024")
    assert _files(out) == []


def test_atomic_write_failure_keeps_old_file(tmp_path, monkeypatch):
    target = tmp_path / "index.html"
    target.write_text("old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        _atomic_write_bytes(target, b"new")
    monkeypatch.undo()
    assert target.read_text() == "old"
    assert _files(tmp_path) == ["index.html"]  # the temporary file is gone too


def test_record_results_sidecar(tmp_path, monkeypatch):
    import pandas as pd

    path = tmp_path / "results.json"
    monkeypatch.setenv("MOGNAD_RESULTS_PATH", str(path))
    record_results({"mean": np.float64(3.5), "n": np.int64(41), "missing": float("nan")})
    record_results({"n": 42, "table": pd.DataFrame({"org_id": ["0180"], "v": [pd.NA]})})
    assert json.loads(path.read_text(encoding="utf-8")) == {
        "mean": 3.5,
        "n": 42,
        "missing": None,
        "table": [{"org_id": "0180", "v": None}],
    }
    with pytest.raises(MognadError, match="JSON"):
        record_results({"bad": object()})


def test_record_results_interactive_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("MOGNAD_RESULTS_PATH", raising=False)
    monkeypatch.chdir(tmp_path)
    assert record_results({"a": 1}) is None
    assert _files(tmp_path) == []


def test_strip_remote_resources_keeps_text_links():
    html = (
        '<head><script src="https://cdn.example/require.js"></script>'
        '<link rel="stylesheet" href="http://cdn.example/a.css">'
        "<style>@import url(https://fonts.example/x.css);</style></head>"
        '<body><img src="//cdn.example/i.png"><a href="https://www.digg.se">DIGG</a></body>'
    )
    cleaned = strip_remote_resources(html)
    assert "cdn.example" not in cleaned and "fonts.example" not in cleaned
    assert '<a href="https://www.digg.se">DIGG</a>' in cleaned


def test_export_html_language_and_no_cdn():
    import nbformat
    from nbformat.v4 import new_markdown_cell, new_notebook

    nb = new_notebook(cells=[new_markdown_cell("# Report\n\n$x^2$ and text")])
    html = export_html(nb, title="T", lang="en")
    assert '<html lang="en">' in html and "<title>T</title>" in html
    assert not REMOTE.search(html)
    assert "mathjax" not in html.lower() and "require.js" not in html
    assert isinstance(nbformat, object)


def test_warnings_stay_out_of_the_report_but_in_the_notebook():
    """A warning a cell printed (stderr) is for the analyst: the report page does not show it,
    the executed notebook still has it; stdout is shown."""
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    cell = new_code_cell("x")
    cell.outputs = [new_output("stream", name="stderr", text="UserWarning: Tight layout\n"),
                    new_output("stream", name="stdout", text="Antal svar: 12\n")]
    nb = new_notebook(cells=[cell])
    html = export_html(nb)
    assert "Antal svar: 12" in html
    assert "Tight layout" not in html
    assert nb.cells[0].outputs[0]["text"].startswith("UserWarning")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"formats": ("html", "docx")}, "unknown report format"),
        ({"stem": "../escape"}, "invalid report name"),
        ({"engine": "turbo"}, "unknown engine"),
        ({"notebook": "missing.ipynb"}, "notebook not found"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, message):
    args = {"notebook": SAMPLE, "stem": "x", "formats": ("html",), **kwargs}
    notebook = args.pop("notebook")
    with pytest.raises(MognadError, match=message):
        render_report(notebook, parameters=PARAMS, out_dir=tmp_path, **args)


# --------------------------------------------------------------------------------------------
# Hostile data: a report never reads, embeds or runs anything that a string in the data names
# --------------------------------------------------------------------------------------------

HOSTILE = NOTEBOOKS / "hostile_names.ipynb"
SECRET_TEXT = "pseudonym-key 5f1c0ffee0ddba11 anna.andersson@example.se"


@pytest.fixture(scope="module")
def secret_file(tmp_path_factory):
    # stands for the pseudonym key or a raw answers file with e-mail addresses
    path = tmp_path_factory.mktemp("secret") / "pseudonym.key"
    path.write_text(SECRET_TEXT, encoding="utf-8")
    return path


def _hostile_names(secret: Path) -> list[str]:
    return [
        f'<img src="{secret}">',
        f"<img src='file://{secret}'>",
        "<img src=x onerror=alert(1)>",
        "<script>document.title='PWNED'</script>",
        "<svg onload=alert(2)><circle r=5></circle></svg>",
        "[klicka](javascript:alert(3))",
        "![](file:///etc/passwd)",
        f"![nyckel]({secret})",
        f'<iframe src="file://{secret}"></iframe>',
        f'<object data="file://{secret}"></object><embed src="file://{secret}">',
        f'<link rel="stylesheet" href="file://{secret}">',
        f'<div style="background:url(file://{secret})">bg</div>',
        "<svg><style><img src=x onerror=alert(4)></style></svg>",
        '<meta http-equiv="refresh" content="0;url=file:///etc/passwd">',
        '<base href="file:///"><a href="  java\tscript:alert(5)">länk</a>',
        "<style>@import url(file:///etc/passwd);</style>",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(6)>",
    ]


def _assert_inert(html: str, secret: Path) -> None:
    """Nothing in *html* can load a file or URL or run code."""
    import base64

    from bs4 import BeautifulSoup

    raw = secret.read_bytes()
    assert SECRET_TEXT not in html
    assert base64.b64encode(raw).decode() not in html
    assert "root:x:0:0" not in html and base64.b64encode(b"root:x:0").decode()[:8] not in html
    soup = BeautifulSoup(html, "html.parser")
    for name in ("script", "iframe", "object", "embed", "link", "base", "frame", "form"):
        assert soup.find(name) is None, name
    for meta in soup.find_all("meta"):
        assert "http-equiv" not in meta.attrs
    for tag in soup.find_all(True):
        for attr, value in tag.attrs.items():
            text = " ".join(value) if isinstance(value, list) else str(value)
            assert not attr.lower().startswith("on"), (tag.name, attr)
            squeezed = re.sub(r"[\x00-\x20]+", "", text).lower()
            assert "javascript:" not in squeezed, (tag.name, attr, text)
            if attr in ("src", "href", "data", "xlink:href"):
                assert not squeezed.startswith("file:") and not squeezed.startswith("/"), text
        if tag.name == "img":
            assert tag["src"].startswith("data:image/png;base64,"), tag
    for style in soup.find_all("style"):
        css = (style.string or "").lower()
        assert not re.search(r"""url\(\s*['"]?\s*(?!data:)""", css), css[:200]
        assert "@import" not in css
    for tag in soup.find_all(style=True):
        assert "url(" not in tag["style"]


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory, secret_file):
    out = tmp_path_factory.mktemp("hostile")
    formats = ("html", "pdf") if HAS_CHROMIUM else ("html",)
    render_report(HOSTILE, parameters={"names": _hostile_names(secret_file)}, out_dir=out,
                  stem="hostile", formats=formats)
    return out


def test_hostile_names_cannot_embed_load_or_run_anything(hostile_report, secret_file):
    html = (hostile_report / "hostile.html").read_text(encoding="utf-8")
    _assert_inert(html, secret_file)
    # the notebook's own figure is still embedded, and the escaped names read as written
    assert 'src="data:image/png;base64,' in html
    text = report_text(html)
    assert "Escaped: <img src=x onerror=alert(1)>" in text
    assert "Escaped: <script>document.title='PWNED'</script>" in text
    assert "<title>hostile</title>" in html


def test_exporter_embeds_no_local_file(secret_file):
    # The nbconvert option that read files named by <img> in Markdown (embed_images) is off.
    from nbformat.v4 import new_notebook, new_output

    from mognad.report.render import get_exporter

    assert get_exporter().embed_images is False
    nb = new_notebook()
    cell = nbformat_code_cell_with_output(new_output(
        "display_data", data={"text/markdown": f'<img src="{secret_file}"> ![x]({secret_file})',
                              "text/plain": "x"}))
    nb.cells = [cell]
    _assert_inert(export_html(nb), secret_file)


def nbformat_code_cell_with_output(output):
    from nbformat.v4 import new_code_cell

    cell = new_code_cell("display(...)")
    cell.outputs = [output]
    return cell


@needs_chromium
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) missing")
def test_pdf_shows_escaped_names_literally(hostile_report):
    text = subprocess.run(["pdftotext", "-layout", str(hostile_report / "hostile.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    flat = " ".join(text.split())
    assert "Escaped: <img src=x onerror=alert(1)>" in flat
    assert "Escaped: <script>document.title='PWNED'</script>" in flat
    assert SECRET_TEXT not in flat


@needs_chromium
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) missing")
def test_pdf_browser_runs_no_script_and_loads_nothing(tmp_path, secret_file):
    # The browser itself, given a page that was NOT sanitised: a script that would rewrite the
    # text, a style sheet, a frame and an image from local files, and a remote image.
    from mognad.report.render import html_to_pdf

    css = tmp_path / "evil.css"
    css.write_text('body::after { content: "CSS LOADED"; }', encoding="utf-8")
    page = tmp_path / "page.html"
    page.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<link rel='stylesheet' href='{css.as_uri()}'></head><body>"
        "<p id='t'>Organisation &lt;script&gt; Alfa</p>"
        "<script>document.getElementById('t').textContent = 'SCRIPT RAN';"
        "document.body.insertAdjacentHTML('beforeend', '<p>SCRIPT ADDED</p>');</script>"
        f"<iframe src='{secret_file.as_uri()}'></iframe>"
        "<img src='http://127.0.0.1:9/x.png' alt=''>"
        f"<object data='{secret_file.as_uri()}'></object>"
        "</body></html>",
        encoding="utf-8",
    )
    pdf = html_to_pdf(page, tmp_path / "page.pdf")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Organisation <script> Alfa" in text
    assert "SCRIPT RAN" not in text and "SCRIPT ADDED" not in text
    assert "CSS LOADED" not in text
    assert SECRET_TEXT not in text


@needs_chromium
def test_one_browser_prints_many_pdfs_and_restarts_after_a_crash(tmp_path):
    import signal as _signal

    from mognad.report import _chromium
    from mognad.report.render import find_chromium, html_to_pdf

    page = tmp_path / "p.html"
    page.write_text("<html><body><p>Hej</p></body></html>", encoding="utf-8")
    html_to_pdf(page, tmp_path / "a.pdf")
    first = _chromium._BROWSER
    html_to_pdf(page, tmp_path / "b.pdf")
    assert _chromium._BROWSER is first and first.alive()  # the same browser printed both
    os.killpg(first.pid, _signal.SIGKILL)  # the browser dies between two reports
    html_to_pdf(page, tmp_path / "c.pdf")
    assert _chromium._BROWSER is not first and _chromium._BROWSER.alive()
    assert all((tmp_path / f"{n}.pdf").read_bytes().startswith(b"%PDF") for n in "abc")
    browser = _chromium._BROWSER
    _chromium.close_browser()
    assert not browser.alive()
    # nothing of the browser is left running
    left = subprocess.run(["pgrep", "-f", browser.tmp], capture_output=True, text=True,
                          check=False).stdout.split()
    assert left == []
    assert find_chromium()


def test_fast_engine_matches_papermill_on_the_organisation_report(small_study_path, tmp_path):
    # The real report on the small study: preloaded study data and national figures in the warm
    # worker (fast) give exactly the text of a fresh kernel reading the store (papermill).
    from mognad.report.batch import run_batch

    notebook = Path(__file__).resolve().parents[1] / "notebooks" / "organisation_report.ipynb"
    params = {"study": str(small_study_path), "round": 2024, "lang": "sv", "n_boot": 100}
    orgs = ["9142", "B001"]  # a municipality with history, the company with small units
    texts = {}
    for engine in ("fast", "papermill"):
        jobs = [{"stem": o, "parameters": {**params, "org_id": o}} for o in orgs]
        manifest = run_batch(notebook, jobs=jobs, out_dir=tmp_path / engine, jobs_n=2,
                             formats=("html",), progress=False, engine=engine)
        assert list(manifest["status"]) == ["ok", "ok"], manifest["error"].tolist()
        texts[engine] = [report_text((tmp_path / engine / f"{o}.html").read_text("utf-8"))
                         for o in orgs]
    assert texts["fast"] == texts["papermill"]
    assert all("SYNTETISKA DATA" in t for t in texts["fast"])
