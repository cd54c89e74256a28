"""Benchmark: score a national-scale DiMiOS data set with bootstrap intervals and type probabilities.

Generates (numpy, seeded) a long responses frame of ``--respondents`` respondents x 30 items in
about ``--groups`` organisation-rounds, then runs one cluster bootstrap (``--n-boot`` resamples per
organisation-round) and from it the scores with percentile intervals at every level, the type
probabilities and the ranks among peers. Prints the wall time of each step, the peak memory
(``ru_maxrss``) and the ratio against the floor: a plain pandas groupby of the item means.

Target (2 cores): 1,000,000 respondents, 1,500 organisation-rounds, 1,000 resamples in <= 60 s
and <= 4 GB for the whole run.

Run: ``.venv/bin/python benchmarks/scoring.py [--respondents 1000000] [--groups 1500]``
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd

from mognad.codebook import load_codebook
from mognad.scoring import bootstrap_scores, classify, rank_in_peers, score

ROUNDS = (2022, 2023, 2024)
THRESHOLDS = np.array([-2.0, -1.0, 0.0, 1.0, 2.0], dtype=np.float32)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def generate(n_respondents: int, n_groups: int, seed: int):
    """Long responses (categorical string ids, Int64 values) and an organisations table."""
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
    org_of_group = np.arange(n_groups) // len(ROUNDS)
    round_of_group = np.array(ROUNDS)[np.arange(n_groups) % len(ROUNDS)]
    rows_group = np.repeat(group_of_resp, n_items)
    resp_ids = pd.Index([f"p{k:07d}" for k in range(n_respondents)], dtype="str")
    responses = pd.DataFrame(
        {
            "org_id": pd.Categorical.from_codes(
                np.repeat(org_of_group[group_of_resp], n_items).astype(np.int32),
                categories=pd.Index(org_codes, dtype="str"),
            ),
            "round": round_of_group[rows_group].astype(np.int64),
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
            "org_type": pd.array(
                rng.choice(["kommun", "region", "myndighet"], n_orgs, p=[0.7, 0.1, 0.2]),
                dtype="str",
            ),
        }
    )
    return responses, organisations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--respondents", type=int, default=1_000_000)
    parser.add_argument("--groups", type=int, default=1_500)
    parser.add_argument("--n-boot", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=20240501)
    args = parser.parse_args()

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


if __name__ == "__main__":
    main()
