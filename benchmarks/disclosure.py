"""Benchmark and audit: the publication plan on every organisation-round of a study.

Two things, over all organisation-rounds of a study (default ``data/demo/study``, made by
``make study`` from ``mognad synth --seed 20240501``):

1. **Speed.** :func:`mognad.disclosure.publication_plan` per organisation-round; target: median
   and 95th percentile far below 50 ms (the organisation report renders ≈ 200 organisations per
   batch, the demo study has ≈ 725 organisation-rounds).
2. **Audit (issue 10, item 2).** The exact attacker of ``tests/test_security_disclosure.py``
   (independent of the plan code) over the union of the respondent sets of everything
   published, counting hidden units that can be recovered exactly:

   - ``before``: the rules before the publication plan, emulated with
     :func:`mognad.disclosure.suppress`: the organisation report and the default
     internal-comparison report (units as recorded, suppressed on their own), the
     internal-comparison report with ``depth=1`` (top-level units, suppressed on their own) and
     the roles table (suppressed on its own);
   - ``after``: every group the plan allows (unit nodes at every depth, roles, the total), a
     superset of what any report or combination of reports publishes; in addition every
     derivable set of 1..k-1 respondents is searched for (expected: none).

Usage::

    .venv/bin/python benchmarks/disclosure.py [--study data/demo/study] [--k 5] [--limit N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_security_disclosure import Attacker  # noqa: E402  (the independent attacker)

from mognad.disclosure import publication_plan, suppress  # noqa: E402
from mognad.io.store import open_study  # noqa: E402


def _members(people: pd.DataFrame, kind: str, group) -> set[int]:
    col = people["unit" if kind != "role" else "role"]
    if kind == "exact":
        return set(np.flatnonzero((col == group).fillna(False).to_numpy()))
    if kind == "role":
        return set(np.flatnonzero((col == group).fillna(False).to_numpy()))
    return {i for i, p in enumerate(col) if isinstance(p, str)
            and (p == group or p.startswith(group + "/"))}


def _shown(table: pd.DataFrame, col: str) -> tuple[list, list]:
    return (table.loc[~table["suppressed"], col].tolist(),
            table.loc[table["suppressed"], col].tolist())


def before(people: pd.DataFrame, k: int) -> tuple[int, int]:
    """Hidden units and how many of them are recoverable, under the rules before the plan."""
    n = len(people)
    key = {"org_id": "x", "round": 0}

    def table(col, values):
        t = values.value_counts(dropna=False).rename("n_respondents").reset_index()
        return suppress(t.assign(**key), k=k, group=col).table

    exact_shown, exact_hidden = _shown(table("unit", people["unit"]), "unit")
    top = people["unit"].str.split("/").str[0].rename("unit")
    top_shown, top_hidden = _shown(table("unit", top), "unit")
    role_shown, _ = _shown(table("role", people["role"]), "role")
    published = [set(range(n))]
    published += [_members(people, "exact", u) for u in exact_shown if not pd.isna(u)]
    published += [_members(people, "subtree", u) for u in top_shown if not pd.isna(u)]
    published += [_members(people, "role", r) for r in role_shown if not pd.isna(r)]
    targets = [_members(people, "exact", u) for u in exact_hidden if not pd.isna(u)]
    targets += [_members(people, "subtree", u) for u in top_hidden if not pd.isna(u)
                if u not in set(exact_hidden)]
    att = Attacker(published, n, extra=targets)
    return len(targets), sum(att.derivable(t) for t in targets)


def after(people: pd.DataFrame, k: int) -> tuple[int, int, int, float]:
    """Hidden groups, recoverable hidden groups, derivable small sets, and the plan's time."""
    n = len(people)
    t0 = time.perf_counter()
    plan = publication_plan(people, k=k)
    elapsed = time.perf_counter() - t0
    published = [_members(people, "subtree", u) for u in plan.shown_units]
    published += [_members(people, "role", r) for r in plan.shown_roles]
    if plan.total_shown:
        published.append(set(range(n)))
    log = plan.log
    hidden = log[~log["shown"] & (log["group_type"] != "organisation")]
    targets = [_members(people, "subtree" if g == "unit" else "role", name)
               for g, name in zip(hidden["group_type"], hidden["group"], strict=True)]
    att = Attacker(published, n, extra=targets)
    return (len(targets), sum(att.derivable(t) for t in targets), len(att.small_sets(k)),
            elapsed)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--study", default=str(ROOT / "data" / "demo" / "study"))
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    study = open_study(args.study)
    resp = study.sql("SELECT org_id, round, respondent_id, unit, role FROM respondents "
                     "ORDER BY org_id, round, respondent_id")
    groups = list(resp.groupby(["org_id", "round"], sort=True))[: args.limit]
    rows = []
    for (org, rnd), g in groups:
        people = g[["unit", "role"]].reset_index(drop=True)
        b_hidden, b_rec = before(people, args.k)
        a_hidden, a_rec, a_small, secs = after(people, args.k)
        rows.append((org, rnd, b_hidden, b_rec, a_hidden, a_rec, a_small, secs))
    out = pd.DataFrame(rows, columns=["org_id", "round", "before_hidden", "before_recovered",
                                      "after_hidden", "after_recovered", "after_small_sets",
                                      "plan_seconds"])
    ms = out["plan_seconds"] * 1000
    print(f"organisation-rounds: {len(out)}  (k={args.k})")
    print(f"publication_plan: median {ms.median():.2f} ms, 95th percentile "
          f"{ms.quantile(0.95):.2f} ms, max {ms.max():.2f} ms (target << 50 ms)")
    print(f"before: {out['before_hidden'].sum()} hidden units, "
          f"{out['before_recovered'].sum()} recoverable in "
          f"{int((out['before_recovered'] > 0).sum())} organisation-rounds")
    print(f"after:  {out['after_hidden'].sum()} hidden groups (units at every depth and roles), "
          f"{out['after_recovered'].sum()} recoverable, {out['after_small_sets'].sum()} derivable "
          f"sets of 1..{args.k - 1} respondents")
    if out["after_recovered"].sum() or out["after_small_sets"].sum():
        raise SystemExit("FAIL: something hidden can be derived")


if __name__ == "__main__":
    main()
