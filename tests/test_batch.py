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
    assert '<html lang="sv">' in html and '<h1 class="mognad-title">Rapporter 2024</h1>' in html
    assert "Stockholm" in html and "BROKEN" in html and "1480" in html
    assert 'href="0180_2024.html"' in html and 'href="1480_2024.html"' in html
    assert "misslyckades" in html and "oförändrad" in html
    # a short fixed reason for people, never the exception's text (that is in the manifest)
    assert "rapporten kunde inte skapas" in html
    assert "finns inte i studien" not in html and "ValueError" not in html
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


def test_batch_on_a_dask_cluster_renders_what_a_local_run_renders(tmp_path):
    """A real ``dask scheduler`` and two ``dask worker`` processes (loopback only, no dashboard):
    the same reports as a local run, with warm report workers on the Dask side."""
    pytest.importorskip("distributed")
    from mognad.report.render import report_text

    dask = Path(sys.executable).parent / "dask"
    if not dask.exists():
        pytest.skip("the dask command is not installed")
    scheduler_file = tmp_path / "scheduler.json"
    logs = tmp_path / "logs"
    logs.mkdir()
    procs = [subprocess.Popen(
        [str(dask), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(scheduler_file)],
        stdout=subprocess.DEVNULL, stderr=open(logs / "scheduler.log", "wb"))]  # noqa: SIM115
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists():
            assert time.monotonic() < deadline, (logs / "scheduler.log").read_text()
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        for i in range(2):
            procs.append(subprocess.Popen(
                [str(dask), "worker", address, "--host", "127.0.0.1", "--no-dashboard",
                 "--nthreads", "1", "--nworkers", "1", "--no-nanny",
                 "--local-directory", str(tmp_path / f"w{i}")],
                stdout=subprocess.DEVNULL,
                stderr=open(logs / f"worker{i}.log", "wb")))  # noqa: SIM115
        import distributed

        with distributed.Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
            orgs = ["0180", "1480", "2480", "BROKEN"]
            jobs = make_jobs(orgs, study="s", round=2024)
            remote = run_batch(SAMPLE, jobs=jobs, out_dir=tmp_path / "dask", scheduler=address,
                               formats=("html",), progress=False)
            plugins = client.run(lambda dask_worker: sorted(dask_worker.plugins))
        local = run_batch(SAMPLE, jobs=jobs, out_dir=tmp_path / "local", jobs_n=2,
                          formats=("html",), progress=False)
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
    assert list(remote["status"]) == ["ok", "ok", "ok", "failed"]
    assert list(remote["status"]) == list(local["status"])
    assert list(remote["reason"].fillna("")) == list(local["reason"].fillna(""))
    for org in orgs[:3]:
        a = (tmp_path / "dask" / f"{org}_2024.html").read_text(encoding="utf-8")
        b = (tmp_path / "local" / f"{org}_2024.html").read_text(encoding="utf-8")
        assert report_text(a) == report_text(b)
    assert all("mognad-warm-report-workers" in names for names in plugins.values())
    assert _leftovers(tmp_path / "dask") == []


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
         "error": "ValueError: x <y>", "reason": "x <y>"},
    ]
    html = write_index(rows, tmp_path, notebook="r.ipynb", lang="en").read_text(encoding="utf-8")
    assert '<html lang="en">' in html and '<h1 class="mognad-title">Reports</h1>' in html
    assert 'href="a%20b.html"' in html and 'href="a%20b.pdf"' in html
    assert "Org &lt;B&gt;" in html and "2 reports: 1 done, 0 unchanged, 1 failed" in html
    # a fixed reason for people: neither the exception's class nor its text
    assert "the report could not be made" in html
    assert "x &lt;y&gt;" not in html and "ValueError" not in html


def test_bad_jobs(tmp_path):
    with pytest.raises(MognadError, match="unique"):
        run_batch(SAMPLE, jobs=[{"stem": "a"}, {"stem": "a"}], out_dir=tmp_path,
                  formats=("html",), progress=False)
    with pytest.raises(MognadError, match="stem"):
        run_batch(SAMPLE, jobs=[{"parameters": {}}], out_dir=tmp_path, formats=("html",),
                  progress=False)


# --------------------------------------------------------------------------------------------
# Fault tolerance: bad org ids, a full disk, staging folders of killed batches
# --------------------------------------------------------------------------------------------


def test_org_ids_that_are_no_file_names_fail_alone(tmp_path):
    bad = ["../x", "a/b", "", "CON", "x" * 300]
    jobs = make_jobs(["0180", *bad], study="s", round=2024, stem="{org_id}")
    manifest = run_batch(SAMPLE, jobs=jobs, out_dir=tmp_path, jobs_n=1, formats=("html",),
                         progress=False)
    status = dict(zip(manifest["org_id"], manifest["status"], strict=True))
    assert status.pop("0180") == "ok"
    assert set(status.values()) == {"failed"} and len(status) == len(bad)
    reasons = manifest.set_index("org_id")["reason"]
    for org in bad:
        assert reasons[org].startswith("invalid report name"), reasons[org]
    assert (tmp_path / "0180.html").is_file()
    assert not (tmp_path.parent / "x.html").exists() and not (tmp_path / "a").exists()
    assert _leftovers(tmp_path) == []
    assert batch_failed(manifest)


def _enospc(*args, **kwargs):
    import errno

    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_full_disk_fails_reports_with_the_true_reason(tmp_path, monkeypatch):
    # Every write of the batch hits a full disk (simulated): no traceback, the reports fail
    # with "no space left on device", the batch says which of its files it could not write.
    from mognad.report import batch as batch_mod
    from mognad.report import render as render_mod

    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text('{"reports": []}', encoding="utf-8")
    monkeypatch.setattr(render_mod, "_atomic_write_bytes", _enospc)
    monkeypatch.setattr(batch_mod, "_atomic_write_text", _enospc)
    real_write_text = Path.write_text

    def write_text(self, *args, **kwargs):
        if out in self.parents:
            _enospc()
        return real_write_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", write_text)
    # the reports run in this process (workers would not see the simulated disk)
    monkeypatch.setattr(batch_mod, "_run_local", lambda to_run, finish, jobs_n, engine: [
        finish(index, batch_mod._render_job(spec)) for index, spec in to_run])
    jobs = make_jobs(["0180", "1480"], study="s", round=2024)
    manifest = run_batch(SAMPLE, jobs=jobs, out_dir=out, formats=("html",), progress=False,
                         engine="papermill")
    assert list(manifest["status"]) == ["failed", "failed"]
    assert set(manifest["reason"]) == {"no space left on device"}
    assert manifest.attrs["write_errors"] == {
        "manifest.json": "no space left on device",
        "manifest.csv": "no space left on device",
        "index.html": "no space left on device",
    }
    assert batch_failed(manifest)
    assert (out / "manifest.json").read_text(encoding="utf-8") == '{"reports": []}'  # untouched
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]


def _mount_tmpfs(path: Path, size: str) -> bool:
    if os.geteuid() != 0 or not Path("/bin/mount").exists():
        return False
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True, check=False)
    return done.returncode == 0


def test_full_disk_batch_command_exits_1_without_traceback(tmp_path, small_study_path):
    # A real full disk: a tiny tmpfs that holds a report or two, not all of them.
    out = tmp_path / "tiny"
    if not _mount_tmpfs(out, "400k"):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        cmd = [str(Path(sys.executable).parent / "mognad"), "batch", str(SAMPLE), "--study",
               str(small_study_path), "--round", "2024", "--format", "html", "--jobs", "1",
               "--out", str(out)]
        for org in ("9142", "9144", "9162", "9226", "B001", "M002"):
            cmd += ["--orgs", org]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
        assert done.returncode == 1, done.stderr[-2000:]
        assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
        assert "no space left on device" in done.stderr
        assert "chromium exit code" not in done.stderr
        for html in out.glob("*.html"):  # whatever was written is complete
            assert html.read_text(encoding="utf-8").rstrip().endswith("</html>"), html
        assert not any(p.name.startswith(".mognad-batch-") for p in out.iterdir())
    finally:
        subprocess.run(["umount", "-l", str(out)], check=False)


def test_stale_staging_folders_are_removed_live_ones_kept(tmp_path):
    from mognad.report.batch import _host, _open_staging

    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(dead.stdout)
    # killed after it took its lock: the lock file is there, nobody holds it
    locked_dead = out / f".mognad-batch-{_host()}-{dead_pid}-aaaa"
    locked_dead.mkdir()
    (locked_dead / ".lock").write_text("")
    (locked_dead / ".r0.tmp-x").mkdir()
    # killed before it took its lock: the name says whose it was
    unlocked_dead = out / f".mognad-batch-{_host()}-{dead_pid}-bbbb"
    unlocked_dead.mkdir()
    # a batch that runs right now in another process
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path;"
         "from mognad.report.batch import _open_staging;"
         f"p, fd = _open_staging(Path({str(out)!r})); print(p.name, flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        live = holder.stdout.readline().strip()
        assert live.startswith(".mognad-batch-")
        jobs = make_jobs(["0180"], study="s", round=2024)
        manifest = run_batch(SAMPLE, jobs=jobs, out_dir=out, formats=("html",), progress=False)
        assert list(manifest["status"]) == ["ok"]
        assert _leftovers(out) == [live]  # the live one is kept, both stale ones are gone
    finally:
        holder.kill()
        holder.wait()
    assert _open_staging  # (imported for the helper process)


def test_batch_killed_with_sigkill_is_cleaned_by_the_next(tmp_path):
    out = tmp_path / "out"
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(f"""
        from mognad.report.batch import run_batch
        jobs = [{{"stem": "r0", "parameters": {{"seconds": 60, "org_id": "0"}}}}]
        run_batch({str(SLEEPY)!r}, jobs=jobs, out_dir={str(out)!r}, jobs_n=1,
                  formats=("html",), progress=False)
    """))
    proc = subprocess.Popen([sys.executable, str(script)])
    try:
        deadline = time.monotonic() + 60
        while not (out.is_dir() and any(out.glob(".mognad-batch-*/.r0.tmp-*"))):
            assert time.monotonic() < deadline, "the batch did not start within 60 s"
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert [p.name for p in out.glob(".mognad-batch-*")]  # left behind by kill -9
    time.sleep(1.0)  # its workers die with it (and with them their locks)
    jobs = make_jobs(["0180"], study="s", round=2024)
    assert list(run_batch(SAMPLE, jobs=jobs, out_dir=out, formats=("html",),
                          progress=False)["status"]) == ["ok"]
    assert _leftovers(out) == []


def test_index_shows_reasons_not_exception_text(batch):
    out, _, _, _ = batch
    html = (out / "index.html").read_text(encoding="utf-8")
    # a short fixed reason for people, never the exception's text (that is in the manifest)
    assert "rapporten kunde inte skapas" in html
    assert "finns inte i studien" not in html and "ValueError" not in html
    assert "ValueError" not in html and "Traceback" not in html
    assert "Detaljer om felen finns i manifest.json." in html
    doc = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    broken = next(r for r in doc["reports"] if r["stem"] == "BROKEN_2024")
    assert broken["error"].startswith("ValueError: ")  # the details stay in the manifest
    assert broken["reason"] == "organisationen BROKEN finns inte i studien"
