"""Benchmark: organisation reports (HTML + PDF) the naive way vs ``mognad batch``, same cores.

The real report, ``notebooks/organisation_report.ipynb``, on the demo-sized study (``mognad synth
--seed 20240501``, national profile, ingested into a store that is built once and cached under
``benchmarks/.cache/``), for 12 organisations of round 2024, as HTML and PDF:

naive
    per organisation ``papermill NB OUT.ipynb -p …``, ``jupyter nbconvert --to html --no-input``
    and ``chromium --headless --print-to-pdf``, as commands, two organisations at a time (the
    same number of processes as the fast run);
fast
    ``mognad batch organisation_report … --jobs 2 --format html,pdf`` as a command, from a cold
    start (interpreter, warm workers, browser start-up all included).

Runs are interleaved (naive, fast, naive, fast, …) and the median of ``--repeat`` (3) is used.
The visible text of every pair of reports must be identical (:func:`mognad.report.render.
report_text`, timestamps masked). The same is done for the small sample notebook of the tests
(second line), then one profiled in-process batch prints where the time of a report goes, and the
national status and longitudinal reports are timed once each. The targets are printed, the
speed-up on the real report last. The national figures of the round are computed once before
(both ways read them from the store's cache).

Usage::

    .venv/bin/python benchmarks/batch.py               # everything (≈ 10 min on 2 idle cores)
    .venv/bin/python benchmarks/batch.py --repeat 1 --skip-sample --skip-national

The naive loop runs with ``PYTHONWARNINGS`` set to the filters mognad applies to every report
(otherwise the two would differ by design: mognad keeps deprecation warnings out of reports).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / ".cache"
SAMPLE = ROOT / "tests" / "notebooks" / "sample_report.ipynb"
ORG_REPORT = ROOT / "notebooks" / "organisation_report.ipynb"
SEED = 20240501
ROUND = 2024
VOLATILE = [
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?",
]
TARGET_RATIO = 6.0
TARGET_PER_CORE = 0.6
TARGET_NATIONAL = 10.0


def _bin(name: str) -> str:
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else (shutil.which(name) or name)


def demo_study() -> Path:
    """The demo-sized study, built once (synth + init + ingest) and cached."""
    from mognad import __version__

    folder = CACHE / f"demo-{SEED}-{__version__}"
    study = folder / "study"
    if (folder / "ready").is_file():
        return study
    from mognad.io.ingest import ingest
    from mognad.io.store import Study, init_study
    from mognad.synth import synthesize

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    print(f"building the demo study in {folder} (once) …", flush=True)
    synthesize(folder / "data", seed=SEED, profile="national")
    # the study's pseudonymisation key stays in the cache folder, never in the home directory
    key = folder / "keys" / "study.key"
    init_study(study, key=key)
    ingest(folder / "data" / "inputs", study=Study(study, key_file=key))
    (folder / "ready").write_text("ok\n")
    return study


def _load() -> str:
    with open("/proc/loadavg", encoding="ascii") as fh:
        return " ".join(fh.read().split()[:3])


# --------------------------------------------------------------------------------------------
# The naive loop
# --------------------------------------------------------------------------------------------


def naive_one(notebook: Path, job: dict, out: Path, pdf: bool, chromium: str | None) -> dict:
    from mognad.report._executor import REPORT_WARNING_FILTERS

    env = dict(os.environ, PYTHONWARNINGS=",".join(REPORT_WARNING_FILTERS))
    ipynb = out / f"{job['stem']}.ipynb"
    html = out / f"{job['stem']}.html"
    times = {}
    cmd = [_bin("papermill"), str(notebook), str(ipynb), "-k", "python3", "--cwd",
           str(notebook.parent), "--log-level", "ERROR", "--no-progress-bar"]
    for key, value in job["parameters"].items():
        # -r keeps strings as strings: "-p org_id 0180" would arrive as the integer 180
        cmd += ["-r", key, value] if isinstance(value, str) else ["-p", key, str(value)]
    t = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    times["papermill"] = time.perf_counter() - t
    t = time.perf_counter()
    subprocess.run(
        [_bin("jupyter"), "nbconvert", "--to", "html", "--no-input", str(ipynb), "--output",
         html.name, "--log-level", "ERROR"],
        check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    times["nbconvert"] = time.perf_counter() - t
    if pdf:
        t = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="bench-chromium-") as profile:
            subprocess.run(
                [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", f"--user-data-dir={profile}", "--no-pdf-header-footer",
                 f"--print-to-pdf={out / (job['stem'] + '.pdf')}", html.as_uri()],
                check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        times["chromium"] = time.perf_counter() - t
    return times


def run_naive(notebook: Path, jobs: list[dict], out: Path, *, procs: int, pdf: bool) -> tuple:
    from mognad.report.render import find_chromium

    chromium = find_chromium() if pdf else None
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with ThreadPoolExecutor(procs) as pool:
        steps = list(pool.map(lambda j: naive_one(notebook, j, out, pdf, chromium), jobs))
    return time.perf_counter() - start, steps


# --------------------------------------------------------------------------------------------
# The fast path: mognad's own command
# --------------------------------------------------------------------------------------------


def run_fast_cli(study: Path, orgs: list[str], out: Path, *, procs: int, pdf: bool) -> float:
    cmd = [_bin("mognad"), "batch", "organisation_report", "--study", str(study), "--round",
           str(ROUND), "--jobs", str(procs), "--out", str(out), "--format",
           "html,pdf" if pdf else "html"]
    for org in orgs:
        cmd += ["--orgs", org]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def run_fast_api(notebook: Path, jobs: list[dict], out: Path, *, procs: int, pdf: bool,
                 profile: bool = False):
    """``run_batch`` in a fresh interpreter (cold start), like the command does."""
    script = (
        "import json, sys\n"
        "from mognad.report.batch import run_batch\n"
        "args = json.loads(sys.argv[1])\n"
        "m = run_batch(args['nb'], jobs=args['jobs'], out_dir=args['out'], jobs_n=args['procs'],"
        " formats=args['formats'], resume=False, progress=False, profile=args['profile'])\n"
        "sys.exit(1 if (m['status'] != 'ok').any() else 0)\n"
    )
    args = {"nb": str(notebook), "jobs": jobs, "out": str(out), "procs": procs,
            "formats": ["html", "pdf"] if pdf else ["html"], "profile": profile}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", script, json.dumps(args)], check=True, cwd=ROOT)
    return time.perf_counter() - start


def _text(path: Path) -> str:
    from mognad.report.render import report_text

    text = report_text(path.read_text(encoding="utf-8"))
    for pattern in VOLATILE:
        text = re.sub(pattern, "<volatile>", text)
    return text


def compare(jobs: list[dict], naive_dir: Path, fast_dir: Path, fast_stem=None) -> list[str]:
    fast_stem = fast_stem or (lambda job: job["stem"])
    return [job["stem"] for job in jobs
            if _text(naive_dir / f"{job['stem']}.html")
            != _text(fast_dir / f"{fast_stem(job)}.html")]


def interleaved(label: str, repeat: int, naive, fast) -> tuple[float, float, list]:
    naive_times, fast_times, steps = [], [], []
    for i in range(repeat):
        t, s = naive(i)
        naive_times.append(t)
        steps.extend(s)
        fast_times.append(fast(i))
        print(f"  {label} run {i + 1}/{repeat}: naive {naive_times[-1]:6.1f} s, "
              f"fast {fast_times[-1]:6.1f} s   (load {_load()})", flush=True)
    return statistics.median(naive_times), statistics.median(fast_times), steps


# --------------------------------------------------------------------------------------------
# Where the time goes
# --------------------------------------------------------------------------------------------


def breakdown(notebook: Path, jobs: list[dict], out: Path, procs: int, pdf: bool) -> None:
    """One profiled batch; prints the median seconds per step of a report."""
    seconds = run_fast_api(notebook, jobs, out, procs=procs, pdf=pdf, profile=True)
    doc = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    rows = [r for r in doc["reports"] if r.get("timings")]
    if not rows:
        print("  (no timings recorded)")
        return
    def med(values):
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else float("nan")

    def get(row, *path):
        value = row["timings"]
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        return value

    n = len(rows)
    print(f"  profiled batch of {n} reports with {procs} workers: {seconds:.1f} s "
          f"(cold start included), median per report {med([r['seconds'] for r in rows]):.2f} s")
    prep_data = [get(r, "prepare", "data") or 0 for r in rows]
    prep_imp = [get(r, "prepare", "imports") or 0 for r in rows]
    print(f"  warm-up per worker (once, before forking): notebook imports "
          f"{max(prep_imp):.2f} s, study data + national figures {max(prep_data):.2f} s "
          f"(done {sum(1 for v in prep_data if v > 0)}x for {n} reports)")
    print(f"  {'step (median per report)':<62} seconds")
    cells = [get(r, "cells") or [] for r in rows]
    longest = max(cells, key=len)
    for i, (label, _) in enumerate(longest):
        values = [c[i][1] if i < len(c) else None for c in cells]
        print(f"    cell {i:<2} {label:<54} {med(values):6.3f}")
    child = [get(r, "child") or {} for r in rows]
    print(f"    of which figure rendering ({med([c.get('figures') for c in child]):.0f} figures)"
          f"{'':<23} {med([c.get('figure_seconds') for c in child]):6.3f}")
    print(f"    of which store queries ({med([c.get('queries') for c in child]):.0f} queries, "
          f"{med([c.get('connections') for c in child]):.0f} connections){'':<12} "
          f"{med([(c.get('query_seconds') or 0) + (c.get('connect_seconds') or 0) for c in child]):6.3f}")
    execute = [get(r, "execute") for r in rows]
    cell_sum = [sum(v for _, v in c) for c in cells]
    print(f"    notebook run overhead (fork, papermill, outputs to parent){'':<3} "
          f"{med([e - s for e, s in zip(execute, cell_sum, strict=True)]):6.3f}")
    print(f"    HTML export + sanitising{'':<37} {med([get(r, 'export_html') for r in rows]):6.3f}")
    if pdf:
        pdfs = [get(r, "pdf") for r in rows]
        print(f"    PDF (browser kept running; first per worker includes its start){'':<0} "
              f"{med(pdfs):6.3f}  (max {max(p for p in pdfs if p is not None):.2f})")
    print(f"    whole report in its worker{'':<35} {med([r['seconds'] for r in rows]):6.3f}")


def time_single(study: Path, notebook: str, out: Path) -> float:
    cmd = [_bin("mognad"), "report", notebook, "--study", str(study), "--out", str(out),
           "--format", "html,pdf"]
    if notebook == "national_status":
        cmd += ["--round", str(ROUND)]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


# --------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=12, help="number of organisations")
    parser.add_argument("--jobs", type=int, default=2, help="processes, both ways")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs (median)")
    parser.add_argument("--html-only", action="store_true", help="leave out the PDFs")
    parser.add_argument("--skip-sample", action="store_true")
    parser.add_argument("--skip-national", action="store_true")
    parser.add_argument("--keep", default="", help="keep outputs in this folder")
    args = parser.parse_args(argv)
    pdf = not args.html_only

    from mognad.io.store import open_study
    from mognad.report.batch import make_jobs
    from mognad.report.jobs import report_stem
    from mognad.views.national import national_round

    study = demo_study()
    st = open_study(study)
    orgs = st.sql("SELECT DISTINCT org_id FROM respondents WHERE round = ? ORDER BY 1",
                  [ROUND])["org_id"].astype(str).tolist()[: args.n]
    national_round(st, ROUND)  # the round's national figures, cached in the store (both ways)
    names = st.organisation_names
    jobs = make_jobs(orgs, study=str(study.resolve()), round=ROUND, lang="sv",
                     stem="{org_id}_{round}")
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="mognad-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    cli_stem = {o: report_stem(ORG_REPORT, study=st, org_id=o, round=ROUND, names=names)
                for o in orgs}
    print(f"{len(jobs)} reports of {ORG_REPORT.name} ({'HTML + PDF' if pdf else 'HTML'}), "
          f"demo study (seed {SEED}), round {ROUND}, {args.jobs} processes both ways, "
          f"{os.cpu_count()} cores, load {_load()}", flush=True)
    status = 0

    # ---- second line first: the small sample notebook
    sample_line = None
    if not args.skip_sample:
        sjobs = [{"stem": f"s{i:02d}", "parameters": {"study": "data/demo/study", "org_id": o,
                                                        "round": ROUND, "lang": "sv"}}
                 for i, o in enumerate(orgs)]
        sn, sf, _ = interleaved(
            "sample", args.repeat,
            lambda i: run_naive(SAMPLE, sjobs, work / f"sample-naive-{i}", procs=args.jobs,
                                pdf=pdf),
            lambda i: run_fast_api(SAMPLE, sjobs, work / f"sample-fast-{i}", procs=args.jobs,
                                   pdf=pdf),
        )
        differ = compare(sjobs, work / "sample-naive-0", work / "sample-fast-0")
        sample_line = (sn, sf, differ)
        status = status or (1 if differ else 0)

    # ---- the real report
    naive_med, fast_med, steps = interleaved(
        "organisation_report", args.repeat,
        lambda i: run_naive(ORG_REPORT, jobs, work / f"naive-{i}", procs=args.jobs, pdf=pdf),
        lambda i: run_fast_cli(study, orgs, work / f"fast-{i}", procs=args.jobs, pdf=pdf),
    )
    differ = compare(jobs, work / "naive-0", work / "fast-0",
                     fast_stem=lambda job: cli_stem[job["parameters"]["org_id"]])
    status = status or (1 if differ else 0)

    print("\nwhere the time of one report goes (fast path, profiled run, not timed above):")
    breakdown(ORG_REPORT, jobs, work / "profiled", args.jobs, pdf)
    print("  naive, per report: papermill {:.2f} s, nbconvert {:.2f} s{}".format(
        statistics.median(s["papermill"] for s in steps),
        statistics.median(s["nbconvert"] for s in steps),
        f", chromium {statistics.median(s['chromium'] for s in steps):.2f} s" if pdf else ""))

    if not args.skip_national:
        print("\nsingle reports (mognad report, HTML + PDF, cold start):")
        for name in ("national_status", "longitudinal_study"):
            seconds = time_single(study, name, work / "single")
            ok = "ok" if seconds <= TARGET_NATIONAL else "MISSED"
            print(f"  {name:<20} {seconds:6.1f} s   (target <= {TARGET_NATIONAL:g} s: {ok})")

    n = len(jobs)
    print()
    if sample_line:
        sn, sf, sdiff = sample_line
        print(f"sample notebook ({n} reports): naive {sn:.1f} s, fast {sf:.1f} s: "
              f"{sn / sf:.1f}x; text {'identical' if not sdiff else 'DIFFERS: ' + ', '.join(sdiff)}")
    per_core = fast_med * args.jobs / n
    print(f"per report per core (fast): {per_core:.2f} s   (target <= {TARGET_PER_CORE:g} s: "
          f"{'ok' if per_core <= TARGET_PER_CORE else 'MISSED'})")
    print(f"visible text of the {n} organisation reports: "
          + ("identical" if not differ else f"DIFFERS in {', '.join(differ)}"))
    ratio = naive_med / fast_med
    print(f"organisation_report, {n} reports, {args.jobs} processes: naive {naive_med:.1f} s, "
          f"mognad batch {fast_med:.1f} s (median of {args.repeat}, load {_load()}): "
          f"speed-up {ratio:.1f}x (target >= {TARGET_RATIO:g}x: "
          f"{'ok' if ratio >= TARGET_RATIO else 'MISSED'})")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
