"""Disclosure across reports (issue 10, item 2): an attacker over everything published.

The attacker here is written independently of :mod:`mognad.disclosure`: it knows nothing of
blocks, roles or trees. It takes the *respondent sets* behind every published figure (a unit row
is everyone whose recorded unit path is that unit or below it, a role row everyone with that role,
the organisation row everyone; a category row only those with a score in that category, by the
codebook's rule recomputed here from the raw answers) and does exact integer/rational linear
algebra:

- atoms = respondents with the same membership in every published set;
- a set is derivable iff its atom vector lies in the row space of the published sets (exact
  integer elimination, no floating point);
- *every* derivable set with 1 to k-1 respondents is found: in an echelon form with the atoms of
  at least k respondents pivoted first, the rows whose pivot is on a small atom span exactly the
  derivable vectors that vanish on the large atoms; reduced (with fractions) to echelon form on
  the small atoms, a 0/1 vector in that span is the sum of the basis rows at its 1-pivots, so
  enumerating pivot subsets of total size < k is a complete search.

Each statistic (the total, each category, the respondents' totals behind SD and quartiles) is its
own family of equations over its own respondents: their values are different unknowns.
"""

from __future__ import annotations

import itertools
import json
import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from mognad.disclosure import publication_plan, suppress
from mognad.internal import compare_groups


# ============================================================================ the attacker
def _gcd_row(row: list[int]) -> list[int]:
    g = 0
    for x in row:
        if x:
            g = math.gcd(g, x)
    if g > 1:
        row = [x // g for x in row]
    return row


class Attacker:
    """Exact linear algebra over the respondent sets of all published figures.

    Parameters
    ----------
    published : list of sets of respondent positions
    n : int
        Respondents in the universe (positions 0..n-1).
    """

    def __init__(self, published, n: int, extra=()):
        self.n = n
        sets = [frozenset(s) for s in published]
        sig: dict[tuple, list[int]] = {}
        for i in range(n):
            key = tuple(i in s for s in sets) + tuple(i in s for s in extra)
            sig.setdefault(key, []).append(i)
        self.atoms = [frozenset(v) for v in sig.values()]
        self.atom_of = {i: a for a, members in enumerate(self.atoms) for i in members}
        self.size = [len(a) for a in self.atoms]
        self.rows = [self._vector(s) for s in sets if s]

    def _vector(self, s) -> list[int] | None:
        v = [0] * len(self.atoms)
        for a, members in enumerate(self.atoms):
            inside = len(members & s)
            if inside == len(members):
                v[a] = 1
            elif inside:
                return None  # splits an atom: never a linear combination of the published sets
        return v

    @staticmethod
    def _echelon(rows, order):
        basis: list[tuple[int, list[int]]] = []
        for r in rows:
            r = Attacker._reduce(list(r), basis)
            p = next((c for c in order if r[c]), None)
            if p is not None:
                if r[p] < 0:
                    r = [-x for x in r]
                basis.append((p, _gcd_row(r)))
        return basis

    @staticmethod
    def _reduce(r, basis):
        for p, b in basis:
            if r[p]:
                f, g = b[p], r[p]
                r = _gcd_row([f * x - g * y for x, y in zip(r, b, strict=True)])
        return r

    def derivable(self, target) -> bool:
        v = self._vector(frozenset(target))
        if v is None:
            return False
        basis = self._echelon(self.rows, range(len(self.atoms)))
        return not any(self._reduce(v, basis))

    def small_sets(self, k: int) -> list[frozenset]:
        """Every derivable set with 1 to k-1 respondents (complete search)."""
        big = [a for a, s in enumerate(self.size) if s >= k]
        small = [a for a, s in enumerate(self.size) if 0 < s < k]
        basis = self._echelon(self.rows, big + small)
        w = [b for p, b in basis if p in set(small)]
        # reduced row echelon form of w on the small atoms, with fractions
        rows = [[Fraction(x) for x in b] for b in w]
        pivots = []
        for r_i in range(len(rows)):
            p = next(c for c in small if rows[r_i][c])
            piv = rows[r_i][p]
            rows[r_i] = [x / piv for x in rows[r_i]]
            for o in range(len(rows)):
                if o != r_i and rows[o][p]:
                    f = rows[o][p]
                    rows[o] = [x - f * y for x, y in zip(rows[o], rows[r_i], strict=True)]
            pivots.append(p)
        found = []
        order = sorted(range(len(rows)), key=lambda j: self.size[pivots[j]])

        def grow(start, chosen, weight):
            for j in range(start, len(order)):
                idx = order[j]
                wt = weight + self.size[pivots[idx]]
                if wt >= k:
                    break  # pivots sorted by size: the rest are no smaller
                pick = [*chosen, idx]
                v = [sum(rows[i][c] for i in pick) for c in range(len(self.atoms))]
                if all(x in (0, 1) for x in v):
                    n_v = sum(self.size[c] for c, x in enumerate(v) if x)
                    if 0 < n_v < k:
                        found.append(frozenset().union(*(self.atoms[c]
                                                          for c, x in enumerate(v) if x)))
                grow(j + 1, pick, wt)

        grow(0, [], 0)
        return found


def test_attacker_finds_what_subtraction_gives():
    # hand-made: A = {0..7}, A/y = {2..7}, total {0..11}: A - A/y = {0, 1}, total - A = {8..11}
    att = Attacker([set(range(8)), set(range(2, 8)), set(range(12))], 12)
    assert att.derivable({0, 1}) and not att.derivable({0})
    assert set(att.small_sets(5)) == {frozenset({0, 1}), frozenset({8, 9, 10, 11})}
    assert att.small_sets(2) == []  # no single respondent
    # a role of 5 all inside a unit of 7 (+ the total): unit minus role = 2 respondents
    att = Attacker([set(range(7)), set(range(5)), set(range(20))], 20)
    assert frozenset({5, 6}) in att.small_sets(5)
    # sums of differences: (T - A) - (B - C) with A, B, C overlapping nothing smaller than 5
    safe = Attacker([set(range(10)), set(range(5)), set(range(5, 10))], 10)
    assert safe.small_sets(5) == []


# ============================================================================ published sets
def _members(people: pd.DataFrame, group_type: str, group) -> set[int]:
    """The respondents behind a published row, by the definition the reports document."""
    if group_type == "organisation":
        return set(range(len(people)))
    if group_type == "role":
        return set(np.flatnonzero((people["role"] == group).fillna(False).to_numpy()))
    paths = people["unit"].tolist()
    return {i for i, p in enumerate(paths)
            if isinstance(p, str) and (p == group or p.startswith(group + "/"))}


def _people_and_validity(responses: pd.DataFrame, codebook) -> tuple[pd.DataFrame, dict]:
    """One row per respondent with a score, and who has a value in which statistic, computed
    from the raw answers by the codebook rule (at least min_items_per_category answered items of
    the category), independently of mognad.scoring."""
    items = codebook.items.set_index("item_id")["category"]
    r = responses.assign(category=responses["item_id"].map(items))
    answered = r[r["value"].notna()].groupby(["respondent_id", "category"]).size()
    ok = (answered >= codebook.min_items_per_category).unstack(fill_value=False)
    ok = ok.reindex(columns=list(codebook.categories["category"]), fill_value=False)
    first = r.groupby("respondent_id")[["unit", "role"]].first()
    ok = ok.reindex(first.index, fill_value=False)
    counted = ok.any(axis=1)
    people = first[counted]
    ok = ok[counted]
    valid = {("total", "total"): np.ones(len(people), dtype=bool),
             "respondent_total": ok.all(axis=1).to_numpy()}
    for c in ok.columns:
        valid[("category", c)] = ok[c].to_numpy()
    return people.reset_index(), valid


def _families(people, valid, tables) -> dict:
    """Published respondent sets per statistic, from result tables (checks every n too)."""
    fam: dict = {}
    for t in tables:
        for row in t.to_dict("records"):
            if pd.isna(row.get("n_respondents")) and pd.isna(row.get("score_pct")):
                continue  # a hidden cell: nothing published
            gt = row.get("group_type")
            if gt is None:
                gt = "unit" if "unit" in row else ("role" if "role" in row else "organisation")
            group = row.get("group", row.get("unit", row.get("role")))
            if group == "all_units":
                gt = "organisation"
            key = (row.get("level", "total"), row.get("name", "total"))
            base = _members(people, gt, group)
            s = {i for i in base if valid[key][i]}
            assert row["n_respondents"] == len(s), (gt, group, key, row["n_respondents"], len(s))
            fam.setdefault(key, set()).add(frozenset(s))
            if not pd.isna(row.get("sd", np.nan)):
                fam.setdefault("respondent_total", set()).add(
                    frozenset(i for i in base if valid["respondent_total"][i]))
    return fam


def _assert_safe(people, valid, fam, k):
    for key, sets in fam.items():
        mask = valid[key]
        universe = np.flatnonzero(mask)
        pos = {int(i): j for j, i in enumerate(universe)}
        published = [{pos[i] for i in s} for s in sets]
        if len(universe) >= k:  # the organisation's own figure is printed anyway
            published.append(set(pos.values()))
        leaks = Attacker(published, len(universe)).small_sets(k)
        assert leaks == [], (key, [sorted(int(universe[i]) for i in s) for s in leaks])


# ============================================================================ synthetic orgs
_ROLES = ("chef", "ledning", "strateg", "systemförvaltare")


def _random_org(rng, case: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Random unit tree with small units, roles concentrated in units, some missing values and
    some "don't know" on whole categories; long responses of one organisation-round."""
    tops = [f"T{i}" for i in range(int(rng.integers(1, 4)))]
    paths = []
    for t in tops:
        paths.append(t)
        for j in range(int(rng.integers(0, 4))):
            paths.append(f"{t}/s{j}")
            if rng.random() < 0.3:
                paths.append(f"{t}/s{j}/x")
    n = int(rng.integers(8, 40))
    unit = rng.choice(paths + [None], size=n, p=None)
    home = {p: _ROLES[int(rng.integers(len(_ROLES)))] for p in paths}
    role = [home.get(u) if rng.random() < 0.6 else
            (None if rng.random() < 0.1 else _ROLES[int(rng.integers(len(_ROLES)))])
            for u in unit]
    people = pd.DataFrame({"respondent_id": [f"p{i:03d}" for i in range(n)],
                           "unit": pd.array(unit, dtype="string"),
                           "role": pd.array(role, dtype="string")})
    vals = rng.integers(1, 7, size=(n, 30)).astype(float)
    for i in range(n):
        if rng.random() < 0.25:  # "don't know" on every item of one category
            c = int(rng.integers(6))
            vals[i, 5 * c:5 * c + 5] = np.nan
    if n > 10:
        vals[0, :] = np.nan  # one respondent without any answer counts nowhere
    rows = []
    for i in range(n):
        for q in range(30):
            rows.append((people.at[i, "respondent_id"], f"q{q + 1:02d}", vals[i, q]))
    long = pd.DataFrame(rows, columns=["respondent_id", "item_id", "value"])
    long = long.merge(people, on="respondent_id")
    long["value"] = pd.array(long["value"].map(lambda v: pd.NA if np.isnan(v) else int(v)),
                             dtype="Int64")
    return long.assign(org_id=f"{case:04d}", round=2024), people


@pytest.fixture(scope="module")
def codebook():
    from mognad.codebook import load_codebook

    return load_codebook()


def _all_published(resp, codebook, k):
    """Everything the reports publish for one organisation-round: the organisation report's
    units and roles (dispersion off, as in organisation_profile) and the internal comparison at
    depths 1, 2 and all (category rows and dispersion where the report has them)."""
    base = compare_groups(resp, codebook=codebook, k_min=k, n_boot=20, dispersion=False)
    tables = [base.table]
    for depth, levels, disp in ((1, ("total", "category"), True), (2, ("total",), False),
                                (None, ("total", "category"), True)):
        res = compare_groups(resp, codebook=codebook, k_min=k, depth=depth, n_boot=20,
                             levels=levels, dispersion=disp, roles=depth is None)
        tables.append(res.table)
    return tables, base


def test_random_organisations_reveal_nothing_across_reports(codebook):
    rng = np.random.default_rng(20240501)
    n_hidden = n_cells = 0
    for case in range(8):
        resp, _ = _random_org(rng, case)
        people, valid = _people_and_validity(resp, codebook)
        tables, base = _all_published(resp, codebook, 5)
        fam = _families(people, valid, tables)
        _assert_safe(people, valid, fam, 5)
        n_cells += int(tables[-1]["suppressed"].sum())
        n_hidden += base.n_hidden_units
    assert n_hidden > 10 and n_cells > 0  # the cases exercise both kinds of suppression


def test_the_issue_case_depth1_plus_default_report(codebook):
    """Before: the default report hid A/x (2) and B/u (3) (together 5, two hidden parts: safe on
    its own) and the depth=1 report showed A (9) and B (12): A - A/y gave A/x back."""
    units = ["A/x"] * 2 + ["A/y"] * 7 + ["B/u"] * 3 + ["B/v"] * 9
    n = len(units)
    people = pd.DataFrame({"unit": units, "role": "chef"})
    # the old rules, emulated with suppress() on exact units and on top-level units
    exact = people.groupby("unit").size().rename("n_respondents").reset_index()
    old_default, _ = suppress(exact.assign(org_id="1", round=2024))
    top = people.assign(unit=people["unit"].str.split("/").str[0])
    top = top.groupby("unit").size().rename("n_respondents").reset_index()
    old_depth1, _ = suppress(top.assign(org_id="1", round=2024))
    old = [_members(people, "unit", u) for u in
           [*old_default.loc[~old_default["suppressed"], "unit"],
            *old_depth1.loc[~old_depth1["suppressed"], "unit"]]]
    old.append(set(range(n)))
    a_x = _members(people, "unit", "A/x")
    assert Attacker(old, n).derivable(a_x)  # the leak the issue reports

    rows = []
    for i, u in enumerate(units):
        for q in range(30):
            rows.append(("1", 2024, f"p{i:02d}", u, "chef", f"q{q + 1:02d}", 3 + (i % 3)))
    resp = pd.DataFrame(rows, columns=["org_id", "round", "respondent_id", "unit", "role",
                                       "item_id", "value"])
    resp["value"] = resp["value"].astype("Int64")
    people2, valid = _people_and_validity(resp, codebook)
    tables, _ = _all_published(resp, codebook, 5)
    fam = _families(people2, valid, tables)
    new = [set(s) for s in fam[("total", "total")]] + [set(range(n))]
    assert not Attacker(new, n).derivable(_members(people2, "unit", "A/x"))
    _assert_safe(people2, valid, fam, 5)
    shown = set(tables[0].loc[tables[0]["group_type"] == "unit", "group"])
    assert shown == {"A", "B"}  # A/x with A/y, B/u with B/v hidden; the top level kept


def _random_people(rng, n_min=6, n_max=60) -> pd.DataFrame:
    paths = ["A", "A/a", "A/b", "A/b/i", "A/b/ii", "B", "B/a", "B/b", "B/c", "C", "C/a"]
    chosen = [p for p in paths if rng.random() < 0.7] or ["A"]
    n = int(rng.integers(n_min, n_max))
    unit = [chosen[int(rng.integers(len(chosen)))] if rng.random() < 0.93 else None
            for _ in range(n)]
    roles = ["r1", "r2", "r3", "r4", "r5"][: int(rng.integers(1, 6))]
    home = {p: roles[int(rng.integers(len(roles)))] for p in chosen}
    role = [home.get(u) if rng.random() < 0.5 else
            (None if rng.random() < 0.1 else roles[int(rng.integers(len(roles)))])
            for u in unit]
    return pd.DataFrame({"unit": unit, "role": role})


def _plan_sets(people, plan) -> list[set[int]]:
    out = [_members(people, "unit", u) for u in plan.units["unit"]]
    out += [_members(people, "role", r) for r in plan.roles["role"]]
    if plan.total_shown:
        out.append(set(range(len(people))))
    return out


@pytest.mark.parametrize("k", [3, 5])
def test_plan_on_random_trees_and_roles(k):
    """Many random organisation-rounds straight through publication_plan: the plan's groups
    (every depth and the roles together) never reveal a set of 1..k-1, and every shown n is
    the true subtree count."""
    rng = np.random.default_rng(1000 + k)
    hidden = 0
    for _ in range(150):
        people = _random_people(rng)
        plan = publication_plan(people, k=k)
        for u, n in zip(plan.units["unit"], plan.units["n_respondents"], strict=True):
            assert n == len(_members(people, "unit", u)) and n >= k
        assert Attacker(_plan_sets(people, plan), len(people)).small_sets(k) == []
        hidden += plan.n_hidden_units + plan.n_hidden_roles
        # cell level: a statistic that only some respondents have
        mask = rng.random(len(people)) < 0.8
        cell = plan.for_statistic(mask)
        assert set(cell.shown_units) <= set(plan.shown_units)
        assert set(cell.shown_roles) <= set(plan.shown_roles)
        sub = people[mask].reset_index(drop=True)
        sets = [_members(sub, "unit", u) for u in cell.shown_units]
        sets += [_members(sub, "role", r) for r in cell.shown_roles]
        if cell.total_shown:
            sets.append(set(range(len(sub))))
        assert Attacker(sets, len(sub)).small_sets(k) == []
    assert hidden > 100


def test_plans_for_different_k_are_nested():
    """Reports rendered with different k_min together reveal nothing below the smallest k."""
    rng = np.random.default_rng(7)
    for _ in range(80):
        people = _random_people(rng)
        plans = {k: publication_plan(people, k=k) for k in (3, 5, 8)}
        for lo, hi in ((3, 5), (5, 8)):
            assert set(plans[hi].shown_units) <= set(plans[lo].shown_units)
            assert set(plans[hi].shown_roles) <= set(plans[lo].shown_roles)
        union = _plan_sets(people, plans[3]) + _plan_sets(people, plans[8])
        assert Attacker(union, len(people)).small_sets(3) == []


def test_plan_is_deterministic_and_order_free():
    rng = np.random.default_rng(3)
    for _ in range(20):
        people = _random_people(rng)
        a = publication_plan(people)
        b = publication_plan(people.sample(frac=1, random_state=1).reset_index(drop=True))
        assert a.shown_units == b.shown_units and a.shown_roles == b.shown_roles


def test_nothing_needless_is_hidden():
    # every leaf and role >= k and roles spread over units: everything is shown
    people = pd.DataFrame({"unit": [u for u in ("A/a", "A/b", "B") for _ in range(10)],
                           "role": ["r1", "r2"] * 15})
    plan = publication_plan(people)
    assert plan.shown_units == ["A", "A/a", "A/b", "B"] and plan.shown_roles == ["r1", "r2"]
    assert (plan.n_hidden_units, plan.n_hidden_roles) == (0, 0)


def test_small_total_publishes_nothing():
    plan = publication_plan(pd.DataFrame({"unit": ["A"] * 4, "role": ["r"] * 4}))
    assert not plan.total_shown and plan.units.empty and plan.roles.empty
    assert plan.n_hidden_units == 1 and plan.n_hidden_roles == 1


def test_hostile_and_untidy_unit_values():
    # spelling variants of one unit are one unit; markup stays data (escaped by present/)
    img = "<img src=x onerror=alert(1)>"
    people = pd.DataFrame({
        "unit": [" Kultur / Bibliotek", "Kultur/Bibliotek/", "Kultur//Bibliotek"] * 2
        + [img] * 6 + ["", None, "  ", "/", None],
        "role": [" chef", "chef", "chef "] * 2 + ["chef", "chef", " "] * 2
        + ["chef", " ", None, "chef", None]})
    plan = publication_plan(people)
    assert plan.shown_units == [img, "Kultur", "Kultur/Bibliotek"]
    assert plan.units.set_index("unit")["n_respondents"].to_dict() == {
        img: 6, "Kultur": 6, "Kultur/Bibliotek": 6}
    assert plan.shown_roles == ["chef"] and plan.roles["n_respondents"].tolist() == [12]
    assert plan.n_respondents == 17


# ============================================================================ a real study
def test_company_reports_reveal_nothing(small_study, truth_small):
    """The organisation report (profile tables and results.json) and the internal-comparison
    report at every depth, for the company and two more organisations of the small study."""
    from mognad import casestudy as cs
    from mognad.views.organisation import organisation_profile

    cb = small_study.codebook
    c = truth_small["company"]
    orgs = [c["org_id"]] + sorted(small_study.organisations["org_id"])[:2]
    for org in orgs:
        rounds = small_study.sql("SELECT DISTINCT round FROM respondents WHERE org_id = ? "
                                 "ORDER BY 1", [org])["round"].astype(int).tolist()
        rnd = rounds[-1]
        resp = small_study.responses_for(org_id=org, round=rnd)
        people, valid = _people_and_validity(resp, cb)
        profile = organisation_profile(small_study, org, rnd, n_boot=50)
        tables = [profile.units, profile.roles,
                  pd.DataFrame([{"group_type": "organisation", **profile.total}])]
        for depth in (1, 2, None):
            res = cs.internal_comparison(small_study, org, round=rnd, depth=depth, n_boot=50)
            tables += [res["units"], res["organisation"]]
        fam = _families(people, valid, tables)
        _assert_safe(people, valid, fam, 5)
        text = json.dumps(profile.results(), ensure_ascii=False, default=str)
        hidden = set(publication_plan(people).log.query("~shown")["group"].dropna())
        for name in hidden:
            assert f'"{name}"' not in text
        if org == c["org_id"]:
            assert c["small_department"] in hidden


@pytest.fixture(scope="module")
def truth_small(small_data):
    return json.loads((small_data / "truth.json").read_text(encoding="utf-8"))


def test_attacker_is_not_vacuous_on_random_cases():
    """The same random cases with the plan switched off (every group published) do leak."""
    rng = np.random.default_rng(11)
    leaked = 0
    for _ in range(30):
        people = _random_people(rng)
        sets = [_members(people, "unit", u) for u in
                {a for p in people["unit"].dropna() for a in itertools.accumulate(
                    p.split("/"), lambda x, y: f"{x}/{y}")}]
        sets += [_members(people, "role", r) for r in people["role"].dropna().unique()]
        sets.append(set(range(len(people))))
        leaked += bool(Attacker(sets, len(people)).small_sets(5))
    assert leaked > 20
