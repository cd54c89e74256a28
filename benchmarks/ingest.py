"""Ingest benchmark: a wide file of 1,000,000 respondents (30 M answers) with full validation.

Run with ``make bench`` or ``.venv/bin/python benchmarks/ingest.py [--respondents N]``.
Prints wall time, peak memory and rows per second of ``mognad ingest`` (in a child process, so
its peak memory is its own), and the ratio against the plain baseline: ``pandas.read_csv`` of the
same file with no validation and no store. Target: <= 60 s and <= 4 GB on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

TARGET_SECONDS = 60.0
TARGET_GB = 4.0


def make_files(folder: Path, n_respondents: int, n_orgs: int, seed: int) -> Path:
    """Write organisations.csv and one wide responses file; return the responses path."""
    rng = np.random.default_rng(seed)
    org_ids = np.array([f"{9000 + i:04d}" if i < 999 else f"X{i:05d}" for i in range(n_orgs)])
    pacsv.write_csv(
        pa.table({
            "org_id": org_ids,
            "name": [f"Organisation {i}" for i in range(n_orgs)],
            "org_type": ["kommun"] * n_orgs,
        }),
        folder / "organisations.csv",
    )
    org = rng.integers(0, n_orgs, n_respondents)
    org.sort()
    codes = rng.integers(0, 6, (n_respondents, 30))
    codes[rng.random((n_respondents, 30)) < 0.03] = 6
    answers = np.array(["1", "2", "3", "4", "5", "6", "vet ej"])[codes]
    columns = {
        "org_id": org_ids[org],
        "round": np.full(n_respondents, "2024"),
        "respondent_id": np.char.add("person", np.arange(n_respondents).astype(str)),
        "unit": np.array(["Kultur/Bibliotek", "Socialförvaltningen", "Skola"])[
            rng.integers(0, 3, n_respondents)],
        "role": np.array(["chef", "strateg"])[rng.integers(0, 2, n_respondents)],
    }
    for j in range(30):
        columns[f"q{j + 1:02d}"] = answers[:, j]
    path = folder / "responses.csv"
    pacsv.write_csv(pa.table(columns), path)
    return path


def child_peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--respondents", type=int, default=1_000_000)
    parser.add_argument("--orgs", type=int, default=1_500)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    mognad = [sys.executable, "-m", "mognad.cli"]

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        responses = make_files(folder, args.respondents, args.orgs, args.seed)
        size_mb = responses.stat().st_size / 1e6
        print(f"generated {args.respondents:,} respondents x 30 items ({size_mb:.0f} MB) "
              f"in {time.perf_counter() - t0:.1f} s")

        baseline = subprocess.run(
            [sys.executable, "-c",
             "import sys, time, pandas as pd; t = time.perf_counter(); "
             "pd.read_csv(sys.argv[1], dtype=str); print(time.perf_counter() - t)",
             str(responses)],
            check=True, capture_output=True, text=True)
        base_s = float(baseline.stdout.strip())

        study = folder / "study"
        # the study's pseudonymisation key goes to the temporary folder, not the home directory
        os.environ["MOGNAD_KEY_DIR"] = str(folder / "keys")
        subprocess.run(mognad + ["init", str(study)], check=True, capture_output=True)
        subprocess.run(mognad + ["ingest", str(folder / "organisations.csv"), "--study",
                                 str(study)], check=True, capture_output=True)
        before_peak = child_peak_gb()
        t0 = time.perf_counter()
        run = subprocess.run(mognad + ["ingest", str(responses), "--study", str(study)],
                             capture_output=True, text=True)
        wall = time.perf_counter() - t0
        peak = child_peak_gb()
        if run.returncode != 0:
            print(run.stdout, run.stderr)
            return 1
        answers = args.respondents * 30
        print(f"mognad ingest (full validation, pseudonymisation, DuckDB store): {wall:.1f} s, "
              f"peak memory {peak:.2f} GB" + (" (child peak)" if peak >= before_peak else ""))
        print(f"  {args.respondents / wall:,.0f} respondents/s, {answers / wall:,.0f} answers/s")
        print(f"baseline pandas.read_csv(dtype=str), no validation: {base_s:.1f} s")
        print(f"ratio ingest / baseline: {wall / base_s:.1f}x")
        ok = wall <= TARGET_SECONDS and peak <= TARGET_GB
        print(f"target <= {TARGET_SECONDS:.0f} s and <= {TARGET_GB:.0f} GB: "
              f"{'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
