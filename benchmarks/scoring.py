"""Benchmark: score a national-scale DiMiOS data set with bootstrap intervals and type probabilities.

Generates (numpy, seeded) a long responses frame of ``--respondents`` respondents x 30 items in
about ``--groups`` organisation-rounds, then runs one cluster bootstrap (``--n-boot`` resamples per
organisation-round) and from it the scores with percentile intervals at every level, the type
probabilities and the ranks among peers. Prints the wall time of each step, the peak memory
(``ru_maxrss``) and the ratio against the floor: a plain pandas groupby of the item means.

Target (2 cores): 1,000,000 respondents, 1,500 organisation-rounds, 1,000 resamples in <= 60 s
and <= 4 GB for the whole run.

Then the same data through a real study store (``--part store``): the respondents are written as
wide CSV files (one per round), ``mognad ingest`` puts them into a fresh store, and ``mognad
score`` runs from it as a subprocess (reading 30 M answers, one bootstrap, the CSV written); its
wall time and the whole process's peak RSS (``wait4`` through a small launcher process) are
measured against the same target (<= 60 s, <= 4 GB), and printed as a ratio to a single DuckDB SQL pass over the store that computes the
same point estimates (category means and the organisation total) independently. The two sets of
point estimates must agree (a correctness check of the read path and the scoring).

Run: ``.venv/bin/python benchmarks/scoring.py [--respondents 1000000] [--groups 1500]
[--part memory|store|all]`` (``make bench`` runs everything). Not part of the test suite.
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
import pandas as pd

from mognad.codebook import load_codebook
from mognad.io.store import open_study
from mognad.scoring import bootstrap_scores, classify, rank_in_peers, score

ROUNDS = (2022, 2023, 2024)
THRESHOLDS = np.array([-2.0, -1.0, 0.0, 1.0, 2.0], dtype=np.float32)
TARGET_SECONDS = 60.0
TARGET_GB = 4.0
UNITS = np.array(["Kultur/Bibliotek", "Socialförvaltningen/Äldreomsorg", "Skola", "Stab"],
                 dtype=object)
ROLES = np.array(["chef", "strateg", "medarbetare"], dtype=object)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def simulate(n_respondents: int, n_groups: int, seed: int) -> dict:
    """Seeded answers of ``n_respondents`` in about ``n_groups`` organisation-rounds."""
    rng = np.random.default_rng(seed)
    cb = load_codebook()
    n_items = cb.n_items
    dim_of_item = cb.items["dimension"].map({"formaga": 0, "arv": 1}).to_numpy()
    n_orgs = max(1, n_groups // len(ROUNDS))
    n_groups = n_orgs * len(ROUNDS)
    # organisation-round sizes: log-normal, at least 2 respondents, summing to n_respondents
    w = rng.lognormal(0.0, 0.8, n_groups)
    sizes = np.maximum(2, np.floor(w / w.sum() * n_respondents)).astype(np.int64)
    sizes[np.argmax(sizes)] += n_respondents - sizes.sum()
    group_of_resp = np.repeat(np.arange(n_groups), sizes)
    mu = rng.normal(0.0, 0.7, (n_groups, 2)).astype(np.float32)
    delta = rng.normal(0.0, 0.4, n_items).astype(np.float32)

    answers = np.empty((n_respondents, n_items), dtype=np.int8)
    step = 200_000
    for a in range(0, n_respondents, step):
        g = group_of_resp[a : a + step]
        eta = mu[g] + rng.normal(0.0, 0.8, (g.size, 2)).astype(np.float32)
        lat = eta[:, dim_of_item] + delta + rng.standard_normal((g.size, n_items), np.float32)
        answers[a : a + step] = 1 + (lat[:, :, None] > THRESHOLDS).sum(axis=2)
    missing = rng.random((n_respondents, n_items), dtype=np.float32) < 0.05  # "vet ej"
    org_codes = np.array([f"{k:04d}" for k in range(1000, 1000 + n_orgs)], dtype=object)
    return {
        "codebook": cb, "answers": answers, "missing": missing, "group_of_resp": group_of_resp,
        "org_codes": org_codes, "org_of_group": np.arange(n_groups) // len(ROUNDS),
        "round_of_group": np.array(ROUNDS)[np.arange(n_groups) % len(ROUNDS)],
        "org_type": rng.choice(["kommun", "region", "myndighet"], n_orgs, p=[0.7, 0.1, 0.2]),
        "unit": rng.integers(0, len(UNITS), n_respondents),
        "role": rng.integers(0, len(ROLES), n_respondents),
    }


def generate(n_respondents: int, n_groups: int, seed: int):
    """Long responses (categorical string ids, Int64 values) and an organisations table."""
    sim = simulate(n_respondents, n_groups, seed)
    cb, answers, missing = sim["codebook"], sim["answers"], sim["missing"]
    group_of_resp, org_codes = sim["group_of_resp"], sim["org_codes"]
    n_items = cb.n_items
    rows_group = np.repeat(group_of_resp, n_items)
    resp_ids = pd.Index([f"p{k:07d}" for k in range(n_respondents)], dtype="str")
    responses = pd.DataFrame(
        {
            "org_id": pd.Categorical.from_codes(
                np.repeat(sim["org_of_group"][group_of_resp], n_items).astype(np.int32),
                categories=pd.Index(org_codes, dtype="str"),
            ),
            "round": sim["round_of_group"][rows_group].astype(np.int64),
            "respondent_id": pd.Categorical.from_codes(
                np.repeat(np.arange(n_respondents, dtype=np.int32), n_items), categories=resp_ids
            ),
            "item_id": pd.Categorical.from_codes(
                np.tile(np.arange(n_items, dtype=np.int8), n_respondents),
                categories=pd.Index(cb.item_ids, dtype="str"),
            ),
            "value": pd.arrays.IntegerArray(
                answers.ravel().astype(np.int64), missing.ravel()
            ),
        }
    )
    organisations = pd.DataFrame(
        {
            "org_id": pd.array(org_codes, dtype="str"),
            "org_type": pd.array(sim["org_type"], dtype="str"),
        }
    )
    return responses, organisations


# ---------------------------------------------------------------------------------- the store
def write_inputs(sim: dict, folder: Path) -> None:
    """The simulated study as raw files: a registry and one wide CSV per round."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    folder.mkdir(parents=True)
    orgs = sim["org_codes"]
    pacsv.write_csv(pa.table({"org_id": orgs, "name": [f"Organisation {o}" for o in orgs],
                              "org_type": sim["org_type"]}), folder / "organisations.csv")
    texts = np.array(["vet ej", "1", "2", "3", "4", "5", "6"], dtype=object)
    group = sim["group_of_resp"]
    rounds = sim["round_of_group"][group]
    for r in ROUNDS:
        sel = np.flatnonzero(rounds == r)
        codes = np.where(sim["missing"][sel], 0, sim["answers"][sel])
        columns = {
            "org_id": orgs[sim["org_of_group"][group[sel]]],
            "round": np.full(sel.size, str(r), dtype=object),
            "respondent_id": np.char.add(np.char.add("p", sel.astype(str)), "@bench.example"),
            "unit": UNITS[sim["unit"][sel]],
            "role": ROLES[sim["role"][sel]],
        }
        for j, item in enumerate(sim["codebook"].item_ids):
            columns[item] = texts[codes[:, j]]
        pacsv.write_csv(pa.table(columns), folder / f"responses_{r}.csv")


# A child's ru_maxrss starts from its parent's resident size at the fork (Linux keeps the
# high-water mark across exec), so measuring `mognad score` directly from this (large) process
# would report this process's size. A tiny launcher forks the command from a small process and
# reports the command's own peak from wait4.
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
cpu = usage.ru_utime + usage.ru_stime
sys.stderr.write(f"\\n@@peak-kb {usage.ru_maxrss} {cpu}\\n")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_with_rusage(cmd: list[str], env: dict) -> tuple[float, float, float, str, int]:
    """Run a command to its end: wall time (s), its own peak RSS (GB), its CPU time (s, user +
    system, all threads), its output (stdout + stderr) and exit code."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _LAUNCHER, *cmd], env=env, capture_output=True,
                          text=True)
    wall = time.perf_counter() - t0
    err, _, tail = proc.stderr.rpartition("\n@@peak-kb ")
    peak_kb, cpu = tail.split()[:2]
    return wall, int(peak_kb) / 1024**2, float(cpu), proc.stdout + err, proc.returncode


def sql_point_estimates(db: Path, cb) -> tuple[float, float, pd.DataFrame]:
    """Category means and organisation totals in one DuckDB query (independent of mognad).

    A respondent's category score is the item-weighted mean of the answered items of the
    category, on the percent-of-maximum scale, when at least ``min_items_per_category`` items
    are answered; a category score is the mean over respondents; the total is the weighted sum
    of the six category scores (category weight x dimension weight).
    """
    import duckdb

    lo, hi = float(cb.scale_min), float(cb.scale_max)
    pct = (f"(rc.num / rc.den - {lo}) / {hi - lo} * 100" if cb.rescaling == "pomp"
           else f"rc.num / rc.den / {hi} * 100")
    items = cb.items[["item_id", "category", "item_weight"]]
    cats = cb.categories.merge(cb.dimensions[["dimension", "weight"]], on="dimension",
                               suffixes=("", "_dim"))
    cats = cats.assign(w=cats["weight"] * cats["weight_dim"])[["category", "w"]]
    con = duckdb.connect(str(db), read_only=True)
    try:
        con.register("cb_items", items)
        con.register("cb_cats", cats)
        query = f"""
            WITH w AS (SELECT i.item_no, c.category, c.item_weight
                       FROM items i JOIN cb_items c USING (item_id)),
            rc AS (SELECT a.rid, w.category, sum(w.item_weight * a.value) AS num,
                          sum(w.item_weight) AS den, count(*) AS n
                   FROM answers a JOIN w USING (item_no) WHERE a.value IS NOT NULL
                   GROUP BY a.rid, w.category),
            cat AS (SELECT r.org_id, r.round, rc.category, avg({pct}) AS score_pct
                    FROM rc JOIN respondents r USING (rid)
                    WHERE rc.n >= {int(cb.min_items_per_category)} AND rc.den > 0
                    GROUP BY r.org_id, r.round, rc.category)
            SELECT org_id, round, 'category' AS level, category AS name, score_pct FROM cat
            UNION ALL
            SELECT org_id, round, 'total', 'total', sum(score_pct * w) FROM cat JOIN cb_cats
                USING (category) GROUP BY org_id, round HAVING count(*) = {len(cats)}
        """
        t0, c0 = time.perf_counter(), time.process_time()
        out = con.execute(query).df()
        return time.perf_counter() - t0, time.process_time() - c0, out
    finally:
        con.close()


def store_benchmark(args) -> bool:
    """Ingest the simulated study into a real store and time ``mognad score`` reading it."""
    mognad = [sys.executable, "-m", "mognad.cli"]
    with tempfile.TemporaryDirectory(prefix="mognad-bench-") as tmp:
        root = Path(tmp)
        # the benchmark's key lives in its temporary folder, never in the home directory
        env = {**os.environ, "MOGNAD_KEY_DIR": str(root / "keys")}
        t0 = time.perf_counter()
        sim = simulate(args.respondents, args.groups, args.seed)
        write_inputs(sim, root / "inputs")
        cb = sim["codebook"]
        del sim
        print(f"\nstore: wrote {args.respondents:,} respondents as wide CSV files "
              f"({time.perf_counter() - t0:.1f} s)")
        study = root / "study"
        subprocess.run([*mognad, "init", str(study)], env=env, check=True, capture_output=True)
        wall, peak, cpu, out, code = run_with_rusage(
            [*mognad, "ingest", str(root / "inputs"), "--study", str(study)], env)
        if code != 0:
            print(out)
            return False
        print(f"  mognad ingest into a DuckDB store: {wall:.1f} s wall ({cpu:.1f} s CPU), peak "
              f"RSS {peak:.2f} GB")
        scores_csv = root / "scores.csv"
        wall, peak, cpu, out, code = run_with_rusage(
            [*mognad, "score", "--study", str(study), "--out", str(scores_csv),
             "--n-boot", str(args.n_boot), "--seed", str(args.seed)], env)
        if code != 0:
            print(out)
            return False
        ok = wall <= TARGET_SECONDS and peak <= TARGET_GB
        print(f"  mognad score from the store ({args.n_boot} resamples, whole process): "
              f"{wall:.1f} s wall ({cpu:.1f} s CPU), peak RSS {peak:.2f} GB  [target <= "
              f"{TARGET_SECONDS:.0f} s, <= {TARGET_GB:.0f} GB: {'met' if ok else 'NOT met'}]")
        t0, c0 = time.perf_counter(), time.process_time()
        with open_study(study) as st:
            frame = st.responses
        print(f"  of which reading the store (Study.responses, in this process): "
              f"{time.perf_counter() - t0:.1f} s wall ({time.process_time() - c0:.1f} s CPU), "
              f"{len(frame):,} rows in {frame.memory_usage(deep=True).sum() / 1e6:,.0f} MB")
        del frame
        t_sql, cpu_sql, sql = sql_point_estimates(study / "study.duckdb", cb)
        print(f"  single DuckDB SQL pass, same point estimates: {t_sql:.2f} s wall ({cpu_sql:.1f} "
              f"s CPU); ratio mognad score / SQL pass: {wall / t_sql:.1f}x wall, "
              f"{cpu / cpu_sql:.1f}x CPU")
        scores = pd.read_csv(scores_csv, dtype={"org_id": "str", "name": "str"})
        keys = ["org_id", "round", "level", "name"]
        both = scores[scores["level"].isin(["total", "category"])].merge(
            sql.astype({"org_id": "str", "round": "int64"}), on=keys, suffixes=("", "_sql"),
            how="outer", indicator=True)
        diff = (both["score_pct"] - both["score_pct_sql"]).abs()
        agree = bool((both["_merge"] == "both").all() and diff.max() < 1e-6)
        print(f"  point estimates vs SQL: {len(both):,} values, max |difference| "
              f"{diff.max():.2e}: {'agree' if agree else 'DISAGREE'}")
        if not agree:
            raise SystemExit("mognad score and the independent SQL pass disagree")
        return ok


def memory_benchmark(args) -> None:
    """Scoring of a frame built in memory (no store)."""
    t0 = time.perf_counter()
    responses, organisations = generate(args.respondents, args.groups, args.seed)
    t_gen = time.perf_counter() - t0
    print(
        f"data: {args.respondents:,} respondents, {len(responses):,} answers, "
        f"{responses.groupby(['org_id', 'round'], observed=True).ngroups:,} organisation-rounds "
        f"(generated in {t_gen:.1f} s, peak {peak_mb():,.0f} MB)"
    )

    t0 = time.perf_counter()
    floor = responses.groupby(["org_id", "round", "item_id"], observed=True)["value"].mean()
    t_floor = time.perf_counter() - t0
    print(f"floor: pandas groupby of item means ({len(floor):,} means): {t_floor:.2f} s")
    del floor

    steps = {}
    t_all = time.perf_counter()
    t0 = time.perf_counter()
    draws = bootstrap_scores(responses, n_boot=args.n_boot, seed=args.seed)
    steps["bootstrap_scores (prepare + point + draws)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    scores = score(draws, ci=0.95, method="bootstrap")
    steps["score (percentile intervals, all levels)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    types = classify(draws)
    steps["classify (type probabilities)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ranks = rank_in_peers(draws, organisations, peer="org_type")
    steps["rank_in_peers (org_type x round)"] = time.perf_counter() - t0
    t_total = time.perf_counter() - t_all

    t0 = time.perf_counter()
    score(responses, method="t")
    t_t = time.perf_counter() - t0

    for label, secs in steps.items():
        print(f"  {label:<45} {secs:7.2f} s")
    print(f"scoring total (one bootstrap, {args.n_boot} resamples): {t_total:.2f} s")
    print(f"  score(method='t') from the raw responses:     {t_t:7.2f} s")
    print(f"ratio to floor: {t_total / t_floor:.1f}x (t-intervals: {t_t / t_floor:.1f}x)")
    print(f"rows: scores {len(scores):,}, types {len(types):,}, ranks {len(ranks):,}")
    print(f"types: {types['type'].value_counts().sort_index().to_dict()}, "
          f"median type probability {types['type_probability'].median():.2f}")
    print(f"peak memory (ru_maxrss): {peak_mb():,.0f} MB")
    print(f"whole run (incl. generation and floor): {time.perf_counter() - t_all + t_gen + t_floor:.1f} s"
          f" wall, {time.process_time():.1f} s CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--respondents", type=int, default=1_000_000)
    parser.add_argument("--groups", type=int, default=1_500)
    parser.add_argument("--n-boot", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=20240501)
    parser.add_argument("--part", choices=("memory", "store", "all"), default="all")
    args = parser.parse_args()
    if args.part in ("memory", "all"):
        memory_benchmark(args)
    if args.part in ("store", "all"):
        store_benchmark(args)


if __name__ == "__main__":
    main()
