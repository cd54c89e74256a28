"""Benchmark: N reports to HTML, plain papermill + nbconvert commands vs mognad's run_batch.

Plain: for each organisation, ``papermill NB OUT.ipynb -p ...`` then ``jupyter nbconvert --to
html --no-input OUT.ipynb`` as subprocesses, one after the other (what a shell loop does).
mognad: ``run_batch(..., jobs_n=2, formats=("html",))`` from a cold start (worker start-up
included). Then the visible text of every pair of reports is compared (volatile bits such as
timestamps masked); the target is a speed-up of at least 6x with identical text.

Usage::

    .venv/bin/python benchmarks/batch.py                      # 40 reports of the sample notebook
    .venv/bin/python benchmarks/batch.py --notebook notebooks/org_report.ipynb \\
        --study data/demo/study --round 2024 --n 40

The plain loop runs with ``PYTHONWARNINGS`` set to the filters mognad applies to every report
(otherwise the two would differ by design: mognad keeps deprecation warnings out of reports).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "notebooks" / "sample_report.ipynb"
VOLATILE = [
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?",
]


def _org_ids(args) -> list[str]:
    if args.orgs:
        ids = [o.strip() for o in args.orgs.split(",") if o.strip()]
    else:
        ids = []
        study = Path(args.study)
        if study.exists():
            try:
                from mognad.io.store import open_study

                ids = list(open_study(study).organisations["org_id"].astype(str))
            except Exception as exc:  # noqa: BLE001 - fall back to synthetic ids
                print(f"(could not read organisations from {study}: {exc}; using synthetic ids)")
        if not ids:
            ids = [f"{i:04d}" for i in range(1, args.n + 1)]
    return (ids * (args.n // max(1, len(ids)) + 1))[: args.n] if ids else []


def _bin(name: str) -> str:
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else (shutil.which(name) or name)


def run_plain(notebook: Path, jobs: list[dict], out: Path) -> float:
    from mognad.report._executor import REPORT_WARNING_FILTERS

    env = dict(os.environ, PYTHONWARNINGS=",".join(REPORT_WARNING_FILTERS))
    papermill, jupyter = _bin("papermill"), _bin("jupyter")
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for job in jobs:
        ipynb = out / f"{job['stem']}.ipynb"
        cmd = [papermill, str(notebook), str(ipynb), "-k", "python3", "--cwd",
               str(notebook.parent), "--log-level", "ERROR", "--no-progress-bar"]
        for key, value in job["parameters"].items():
            # -r keeps strings as strings: "-p org_id 0180" would arrive as the integer 180
            cmd += ["-r", key, value] if isinstance(value, str) else ["-p", key, str(value)]
        subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        subprocess.run(
            [jupyter, "nbconvert", "--to", "html", "--no-input", str(ipynb), "--output",
             f"{job['stem']}.html", "--log-level", "ERROR"],
            check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
    return time.perf_counter() - start


def _text(path: Path, volatile: list[str]) -> str:
    from mognad.report.render import report_text

    text = report_text(path.read_text(encoding="utf-8"))
    for pattern in volatile:
        text = re.sub(pattern, "<volatile>", text)
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebook", default=str(SAMPLE))
    parser.add_argument("--study", default="data/demo/study")
    parser.add_argument("--round", type=int, default=2024)
    parser.add_argument("--lang", default="sv")
    parser.add_argument("--orgs", default="", help="comma-separated org ids (default: study's)")
    parser.add_argument("--n", type=int, default=40, help="number of reports")
    parser.add_argument("--jobs", type=int, default=2, help="run_batch worker processes")
    parser.add_argument("--engine", default="fast", choices=("fast", "papermill"))
    parser.add_argument("--volatile", action="append", default=[],
                        help="extra regex of text to ignore in the comparison")
    parser.add_argument("-p", "--param", action="append", default=[],
                        help="more notebook parameters NAME=VALUE (ints stay ints)")
    parser.add_argument("--skip-plain", action="store_true", help="only time run_batch")
    parser.add_argument("--keep", default="", help="keep outputs in this folder")
    args = parser.parse_args(argv)

    from mognad.report.batch import batch_failed, make_jobs, run_batch

    notebook = Path(args.notebook).resolve()
    orgs = _org_ids(args)
    # notebooks run with their own folder as working directory: pass the study absolutely
    study = str(Path(args.study).resolve()) if Path(args.study).exists() else args.study
    extra = {}
    for item in args.param:
        key, _, value = item.partition("=")
        extra[key] = int(value) if value.lstrip("-").isdigit() else value
    jobs = make_jobs(orgs, study=study, round=args.round, lang=args.lang,
                     stem="{org_id}_{round}", **extra)
    # repeated ids (a small study) still need distinct files
    for i, job in enumerate(jobs):
        job["stem"] = f"{i:03d}_{job['stem']}"
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="mognad-bench-"))
    print(f"{len(jobs)} reports of {notebook.name}, study {args.study!r}, round {args.round}")

    start = time.perf_counter()
    manifest = run_batch(notebook, jobs=jobs, out_dir=work / "mognad", jobs_n=args.jobs,
                         formats=("html",), resume=False, progress=True, engine=args.engine)
    fast = time.perf_counter() - start
    n = len(jobs)
    print(f"run_batch (engine={args.engine}, jobs_n={args.jobs}, cold start): {fast:7.1f} s"
          f"  = {fast / n:5.2f} s per report")
    if batch_failed(manifest):
        print(manifest[manifest["status"] != "ok"][["stem", "error"]].to_string())
    ok_seconds = manifest.loc[manifest["status"] == "ok", "seconds"]
    print(f"  per-report time inside a worker: median {ok_seconds.median():.2f} s, "
          f"max {ok_seconds.max():.2f} s")

    status = 0
    if not args.skip_plain:
        plain = run_plain(notebook, jobs, work / "plain")
        print(f"plain papermill + nbconvert commands, one after another: {plain:7.1f} s"
              f"  = {plain / n:5.2f} s per report")
        print(f"speed-up: {plain / fast:.1f}x  (target >= 6x)")
        volatile = VOLATILE + args.volatile
        differ = [
            job["stem"]
            for job in jobs
            if _text(work / "plain" / f"{job['stem']}.html", volatile)
            != _text(work / "mognad" / f"{job['stem']}.html", volatile)
        ]
        if differ:
            status = 1
            print(f"TEXT DIFFERS in {len(differ)} report(s): {', '.join(differ[:10])}")
        else:
            print(f"visible text identical in all {n} reports")
        if plain / fast < 6:
            status = status or 2
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"outputs kept in {work}")
    return status


if __name__ == "__main__":
    sys.exit(main())
