"""Tests for mognad.report.batch: many reports, failures isolated, resumable, interruptible."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from mognad.errors import MognadError
from mognad.report.batch import (
    MANIFEST_COLUMNS,
    batch_failed,
    input_fingerprint,
    make_jobs,
    run_batch,
    write_index,
)

NOTEBOOKS = Path(__file__).parent / "notebooks"
SAMPLE = NOTEBOOKS / "sample_report.ipynb"
SLEEPY = NOTEBOOKS / "sleepy.ipynb"
ORGS = ["0180", "BROKEN", "1480"]
REMOTE = re.compile(r"""(?:src|href)\s*=\s*["']?\s*https?://""", re.IGNORECASE)


def _leftovers(folder: Path) -> list[str]:
    """Temporary files or folders (hidden names) left in *folder*."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    out = tmp_path_factory.mktemp("batch")
    jobs = make_jobs(ORGS, study="data/demo/study", round=2024, labels={"0180": "Stockholm"})
    first = run_batch(
        SAMPLE, jobs=jobs, out_dir=out, jobs_n=2, formats=("html",), progress=False,
        data_fingerprint="study-v1",
    )
    second = run_batch(
        SAMPLE, jobs=jobs, out_dir=out, jobs_n=2, formats=("html",), progress=False,
        data_fingerprint="study-v1",
    )
    return out, jobs, first, second


def test_broken_org_does_not_stop_the_batch(batch):
    out, _, first, _ = batch
    assert list(first.columns) == MANIFEST_COLUMNS
    status = dict(zip(first["stem"], first["status"], strict=True))
    assert status == {"0180_2024": "ok", "BROKEN_2024": "failed", "1480_2024": "ok"}
    broken = first.set_index("stem").loc["BROKEN_2024"]
    assert broken["error"] == "ValueError: organisationen BROKEN finns inte i studien"
    assert broken["org_id"] == "BROKEN"
    assert batch_failed(first)
    for stem in ("0180_2024", "1480_2024"):
        assert (out / f"{stem}.html").is_file()
        assert (out / f"{stem}.results.json").is_file()
    assert not list(out.glob("BROKEN_2024*"))
    assert _leftovers(out) == []
    ok = first[first["status"] == "ok"]
    assert (ok["seconds"] > 0).all()
    assert ok["outputs"].str.contains(".html").all()


def test_manifest_files(batch):
    out, jobs, first, second = batch
    csv = pd.read_csv(out / "manifest.csv", dtype=str)
    assert list(csv.columns) == MANIFEST_COLUMNS
    assert list(csv["status"]) == list(second["status"])  # the files describe the last run
    doc = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert doc["data_fingerprint"] == "study-v1" and doc["formats"] == ["html"]
    reports = {r["stem"]: r for r in doc["reports"]}
    assert reports["0180_2024"]["parameters"] == jobs[0]["parameters"]
    assert reports["0180_2024"]["files"]["html"] == "0180_2024.html"
    assert reports["0180_2024"]["results"]["n"] == 60
    assert reports["0180_2024"]["fingerprint"] == input_fingerprint(
        SAMPLE, jobs[0]["parameters"], "study-v1"
    )
    assert "raise ValueError" in reports["BROKEN_2024"]["traceback"]


def test_second_run_skips_what_succeeded(batch):
    out, _, first, second = batch
    status = dict(zip(second["stem"], second["status"], strict=True))
    assert status == {"0180_2024": "skipped", "BROKEN_2024": "failed", "1480_2024": "skipped"}
    assert list(second["fingerprint"]) == list(first["fingerprint"])
    assert batch_failed(second)
    assert _leftovers(out) == []


def test_index_lists_every_report(batch):
    out, _, _, _ = batch
    html = (out / "index.html").read_text(encoding="utf-8")
    assert '<html lang="sv">' in html and "<h1>Rapporter</h1>" in html
    assert "Stockholm" in html and "BROKEN" in html and "1480" in html
    assert 'href="0180_2024.html"' in html and 'href="1480_2024.html"' in html
    assert "misslyckades" in html and "oförändrad" in html
    assert "organisationen BROKEN finns inte i studien" in html
    assert 'href="BROKEN_2024.html"' not in html
    assert not REMOTE.search(html)


def test_changed_inputs_are_rendered_again(tmp_path):
    jobs = make_jobs(["0180"], study="s", round=2024)
    kwargs = {"jobs": jobs, "out_dir": tmp_path, "formats": ("html",), "progress": False}
    assert list(run_batch(SAMPLE, data_fingerprint="a", **kwargs)["status"]) == ["ok"]
    assert list(run_batch(SAMPLE, data_fingerprint="a", **kwargs)["status"]) == ["skipped"]
    assert list(run_batch(SAMPLE, data_fingerprint="b", **kwargs)["status"]) == ["ok"]
    (tmp_path / "0180_2024.html").unlink()  # a missing output is rendered again
    assert list(run_batch(SAMPLE, data_fingerprint="b", **kwargs)["status"]) == ["ok"]
    assert list(run_batch(SAMPLE, data_fingerprint="b", resume=False, **kwargs)["status"]) == [
        "ok"
    ]


def test_batch_on_dask(tmp_path):
    distributed = pytest.importorskip("distributed")
    jobs = make_jobs(["0180", "BROKEN"], study="s", round=2024)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        manifest = run_batch(
            SAMPLE, jobs=jobs, out_dir=tmp_path, scheduler=client, formats=("html",),
            progress=False,
        )
    assert list(manifest["status"]) == ["ok", "failed"]
    assert (tmp_path / "0180_2024.html").is_file()
    assert _leftovers(tmp_path) == []


def test_interrupted_batch_leaves_no_partial_file(tmp_path):
    out = tmp_path / "out"
    script = tmp_path / "run.py"
    script.write_text(
        textwrap.dedent(
            f"""
            from mognad.report.batch import run_batch
            jobs = [{{"stem": f"r{{i}}", "parameters": {{"seconds": 60, "org_id": str(i)}}}}
                    for i in range(3)]
            run_batch({str(SLEEPY)!r}, jobs=jobs, out_dir={str(out)!r}, jobs_n=1,
                      formats=("html",), progress=False)
            """
        )
    )
    proc = subprocess.Popen([sys.executable, str(script)], stderr=subprocess.PIPE)
    try:
        # wait until the first report is running (its temporary folder exists)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if out.is_dir() and any(out.glob(".mognad-batch-*/.r0.tmp-*")):
                break
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.1)
        else:
            pytest.fail("the batch did not start a report within 60 s")
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["index.html", "manifest.csv", "manifest.json"]
    doc = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [r["status"] for r in doc["reports"]] == ["interrupted"] * 3
    # no worker or notebook process outlives the batch
    time.sleep(0.5)
    leftover = subprocess.run(
        ["pgrep", "-f", str(SLEEPY)], capture_output=True, text=True, check=False
    ).stdout.split()
    assert [pid for pid in leftover if int(pid) != os.getpid()] == []


def test_write_index_in_english(tmp_path):
    rows = [
        {"stem": "a", "label": "Org A", "status": "ok", "seconds": 1.25,
         "files": {"html": "a b.html", "pdf": "a b.pdf"}},
        {"stem": "b", "label": "Org <B>", "status": "failed", "seconds": 0.5,
         "error": "ValueError: x"},
    ]
    html = write_index(rows, tmp_path, notebook="r.ipynb", lang="en").read_text(encoding="utf-8")
    assert '<html lang="en">' in html and "<h1>Reports</h1>" in html
    assert 'href="a%20b.html"' in html and 'href="a%20b.pdf"' in html
    assert "Org &lt;B&gt;" in html and "2 reports: 1 done, 0 unchanged, 1 failed" in html


def test_bad_jobs(tmp_path):
    with pytest.raises(MognadError, match="unique"):
        run_batch(SAMPLE, jobs=[{"stem": "a"}, {"stem": "a"}], out_dir=tmp_path,
                  formats=("html",), progress=False)
    with pytest.raises(MognadError, match="stem"):
        run_batch(SAMPLE, jobs=[{"parameters": {}}], out_dir=tmp_path, formats=("html",),
                  progress=False)
