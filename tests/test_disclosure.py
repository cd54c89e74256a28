"""Tests for mognad.disclosure: primary and complementary suppression, peer group merging, guard.

The central check is an independent "attacker": every published figure (shown rows plus the
organisation total) is a linear equation over the *atoms* (the respondents recorded directly on
each unit, or on no unit). A hidden figure is recoverable by addition and subtraction exactly when
its atom vector lies in the row space of the published equations (numpy rank test). This does not
reuse the module's own equation logic.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from mognad.disclosure import (
    KOMMUNGRUPP_MAIN,
    check_disclosure,
    merge_small_peer_groups,
    peer_chain,
    peer_members,
    publication_plan,
    suppress,
)
from mognad.errors import MognadError


# ------------------------------------------------------------------------------------- helpers
def _table(units, ns, scores=None, *, org="1384", rnd=2024, level="total", name="total"):
    scores = scores if scores is not None else [50.0 + i for i in range(len(units))]
    return pd.DataFrame(
        {
            "org_id": org,
            "round": rnd,
            "unit": pd.array(units, dtype="string"),
            "level": level,
            "name": name,
            "score_pct": scores,
            "n_respondents": pd.array(ns, dtype="Int64"),
            "n_answers": pd.array([5 * n for n in ns], dtype="Int64"),
            "ci_low": [s - 5 for s in scores],
            "ci_high": [s + 5 for s in scores],
        }
    )


def _row(table, unit):
    hit = table[table["unit"] == unit] if unit is not None else table[table["unit"].isna()]
    assert len(hit) == 1, unit
    return hit.iloc[0]


def _derivable(target, published):
    """Whether vector ``target`` is a linear combination of the rows of ``published``."""
    if not published:
        return False
    a = np.array(published, dtype=float)
    return np.linalg.matrix_rank(np.vstack([a, target])) == np.linalg.matrix_rank(a)


def _coverage(unit, atoms, rollup, na_total=True):
    """Atom vector of a row: exact unit (direct) or unit and everything below it (rollup).

    A row without a unit is the total (``na_total``) or the respondents in no unit.
    """
    if unit is None:
        return np.ones(len(atoms)) if na_total else np.array([a is None for a in atoms], float)
    if rollup:
        return np.array([a is not None and (a == unit or a.startswith(unit + "/")) for a in atoms],
                        dtype=float)
    return np.array([a == unit for a in atoms], dtype=float)


def _attack(atom_n, rows, shown, *, rollup, k, na_total=True):
    """Recoverable hidden rows and small atoms, given which rows are shown.

    atom_n: {unit or None: respondents recorded exactly there}; rows: units that are rows
    (None = the total row); shown: set of shown rows. The organisation total is known whenever it
    has at least k respondents (it is published elsewhere in a report).
    """
    atoms = list(atom_n)
    published = [_coverage(u, atoms, rollup, na_total) for u in rows if u in shown]
    if sum(atom_n.values()) >= k:  # a total of fewer than k is not published either
        published.append(np.ones(len(atoms)))
    leaks = [u for u in rows
             if u not in shown and _derivable(_coverage(u, atoms, rollup, na_total), published)]
    for i, a in enumerate(atoms):
        if 0 < atom_n[a] < k and _derivable(np.eye(len(atoms))[i], published):
            leaks.append(("atom", a))
    return leaks


def _rows_from_atoms(atom_n, rows, *, rollup, na_total=True):
    atoms = list(atom_n)
    n = [int(_coverage(u, atoms, rollup, na_total) @ np.array([atom_n[a] for a in atoms]))
         for u in rows]
    return _table(rows, n)


# ------------------------------------------------------------------------------------- primary
def test_unit_of_three_is_hidden_value_and_count():
    t = _table(["Kultur", "Skola", "Vård"], [3, 9, 12], [61.0, 48.0, 55.0])
    out, log = suppress(t)
    kultur = _row(out, "Kultur")
    assert kultur["suppressed"]
    for col in ("score_pct", "ci_low", "ci_high", "n_respondents", "n_answers"):
        assert pd.isna(kultur[col]), col
    # the shown table never carries the hidden count, not even in the reason text
    assert "3" not in kultur["suppression_reason"]
    assert kultur["suppression_reason"] == "primary: n < k=5"
    # the analyst's log does
    assert log.loc[log["unit"] == "Kultur", "reason"].item() == "primary: n=3 < k=5"
    assert log.loc[log["unit"] == "Kultur", "n"].item() == 3


def test_unit_of_three_cannot_be_derived_by_subtraction():
    # org total n = 3 + 9 + 12 = 24 (assumed published). Hiding only Kultur would give
    # 24 - 9 - 12 = 3. Skola (the smallest other unit) must be hidden too.
    t = _table(["Kultur", "Skola", "Vård"], [3, 9, 12], [61.0, 48.0, 55.0])
    out, log = suppress(t)
    assert out["suppressed"].tolist() == [True, True, False]
    assert _row(out, "Skola")["suppression_reason"] == "complementary: protects Kultur"
    visible_n = out.loc[~out["suppressed"], "n_respondents"].sum()
    hidden_only_one = out["suppressed"].sum() == 1
    assert not hidden_only_one
    assert 24 - visible_n != 3  # 24 - 12 = 12 = Kultur + Skola together
    # parent score from children, weighted by n: (24 * total - 12 * 55) / 12 is the pooled mean of
    # Kultur and Skola, (3 * 61 + 9 * 48) / 12 = 51.25, not Kultur's 61.
    total_score = (3 * 61.0 + 9 * 48.0 + 12 * 55.0) / 24
    reconstructed = (24 * total_score - 12 * _row(out, "Vård")["score_pct"]) / (24 - 12)
    assert reconstructed == pytest.approx(51.25)
    assert reconstructed != pytest.approx(61.0)
    assert _attack({None: 0, "Kultur": 3, "Skola": 9, "Vård": 12}, ["Kultur", "Skola", "Vård"],
                   set(out.loc[~out["suppressed"], "unit"]), rollup=False, k=5) == []


def test_groups_at_or_above_k_are_untouched():
    t = _table(["A", "B", "C"], [5, 6, 40])
    out, log = suppress(t)
    assert not out["suppressed"].any()
    assert out["suppression_reason"].isna().all()
    pd.testing.assert_frame_equal(out[t.columns], t)
    assert log.empty
    assert list(log.columns) == ["org_id", "round", "unit", "level", "name", "n", "kind", "stage",
                                 "protects", "reason"]


def test_k_is_configurable():
    t = _table(["A", "B", "C", "D"], [3, 4, 9, 30])
    out3, _ = suppress(t, k=3)
    assert not out3["suppressed"].any()
    out5, _ = suppress(t, k=5)
    assert out5["suppressed"].tolist() == [True, True, False, False]  # 3 + 4 = 7 >= 5
    out10, log10 = suppress(t, k=10)
    # A, B, C primary (16 together >= 10, three hidden): D stays
    assert out10["suppressed"].tolist() == [True, True, True, False]
    assert set(log10["kind"]) == {"primary"}
    assert log10["reason"].tolist()[2] == "primary: n=9 < k=10"
    with pytest.raises(MognadError, match="k must be"):
        suppress(t, k=0)


def test_two_small_units_together_below_k_need_a_third():
    # A (2) and B (2) are both hidden, but total - C - D = 4 would show the pair as a group of 4.
    t = _table(["A", "B", "C", "D"], [2, 2, 10, 12])
    out, log = suppress(t)
    assert out["suppressed"].tolist() == [True, True, True, False]
    assert log.loc[log["unit"] == "C", "reason"].item() == "complementary: protects A, B"


def test_respondents_without_a_unit_are_protected_as_a_remainder():
    # total row n = 20, units 8 + 9: 3 respondents in no unit would be 20 - 8 - 9.
    t = _table([None, "A", "B"], [20, 8, 9])
    out, log = suppress(t, na_group="total")
    assert out["suppressed"].tolist() == [False, True, False]
    assert _row(out, None)["n_respondents"] == 20
    assert log["reason"].item() == "complementary: protects respondents in no listed group"
    assert _attack({None: 3, "A": 8, "B": 9}, [None, "A", "B"], {None, "B"}, rollup=False,
                   k=5) == []


def test_respondents_without_a_unit_as_a_row_of_their_own():
    # the default: a missing unit is the group of respondents recorded on no unit (as in a score
    # table grouped by unit); the total 2 + 9 + 12 = 23 is assumed published elsewhere.
    t = _table([None, "A", "B"], [2, 9, 12])
    out, log = suppress(t)
    assert out["suppressed"].tolist() == [True, True, False]
    assert log["reason"].tolist() == ["primary: n=2 < k=5", "complementary: protects (no unit)"]
    assert _attack({None: 2, "A": 9, "B": 12}, ["A", "B"], {"B"}, rollup=False, k=5) == []
    with pytest.raises(MognadError, match="na_group"):
        suppress(t, na_group="rest")


# ------------------------------------------------------------------------------------- nested
def test_nested_rollup_protects_within_the_parent():
    # Kultur (11) = Bibliotek (3) + Museum (8); Skola (19) = Gy (10) + Gr (9); total 30.
    atoms = {None: 0, "Kultur": 0, "Kultur/Bibliotek": 3, "Kultur/Museum": 8, "Skola": 0,
             "Skola/Gy": 10, "Skola/Gr": 9}
    rows = ["Kultur", "Kultur/Bibliotek", "Kultur/Museum", "Skola", "Skola/Gy", "Skola/Gr"]
    t = _rows_from_atoms(atoms, rows, rollup=True)
    assert t["n_respondents"].tolist() == [11, 3, 8, 19, 10, 9]
    out, log = suppress(t, rollup=True)
    hidden = set(out.loc[out["suppressed"], "unit"])
    # the sibling Museum is hidden, not the smaller but unrelated Skola/Gr
    assert hidden == {"Kultur/Bibliotek", "Kultur/Museum"}
    assert log.loc[log["unit"] == "Kultur/Museum", "reason"].item() == (
        "complementary: protects Kultur/Bibliotek"
    )
    # Kultur's 11 minus visible children (none) is 11, not 3
    assert _attack(atoms, rows, set(rows) - hidden, rollup=True, k=5) == []


def test_nested_rollup_direct_members_of_a_parent_are_protected():
    # Kultur (12) = Bibliotek (5) + Museum (5) + 2 respondents recorded on Kultur itself.
    atoms = {None: 0, "Kultur": 2, "Kultur/Bibliotek": 5, "Kultur/Museum": 5, "Skola": 20}
    rows = ["Kultur", "Kultur/Bibliotek", "Kultur/Museum", "Skola"]
    t = _rows_from_atoms(atoms, rows, rollup=True)
    out, log = suppress(t, rollup=True)
    hidden = set(out.loc[out["suppressed"], "unit"])
    assert len(hidden) == 1 and hidden < {"Kultur/Bibliotek", "Kultur/Museum"}
    assert log["protects"].item() == "respondents directly in Kultur"
    assert _attack(atoms, rows, set(rows) - hidden, rollup=True, k=5) == []


def test_nested_direct_parent_is_hidden_when_no_sibling_qualifies():
    # exact-unit rows (the default): Kultur/Bibliotek (3) has no sibling unit, so its parent's own
    # row (Kultur, 6) is hidden rather than an unrelated unit (Vård, 5).
    t = _table(["Kultur", "Kultur/Bibliotek", "Skola", "Vård"], [6, 3, 7, 5])
    out, log = suppress(t)
    assert set(out.loc[out["suppressed"], "unit"]) == {"Kultur/Bibliotek", "Kultur"}
    assert log.loc[log["unit"] == "Kultur", "reason"].item() == (
        "complementary: protects Kultur/Bibliotek"
    )


def test_deeper_nesting_rollup_propagates_upwards():
    # A (7) = A/x (7) = A/x/1 (3) + A/x/2 (4): all of A is too small except A's own 7...
    atoms = {None: 0, "A": 0, "A/x": 0, "A/x/1": 3, "A/x/2": 4, "B": 6, "C": 9}
    rows = ["A", "A/x", "A/x/1", "A/x/2", "B", "C"]
    t = _rows_from_atoms(atoms, rows, rollup=True)
    out, _ = suppress(t, rollup=True)
    hidden = set(out.loc[out["suppressed"], "unit"])
    assert {"A/x/1", "A/x/2"} <= hidden
    assert _attack(atoms, rows, set(rows) - hidden, rollup=True, k=5) == []


def test_explicit_hierarchy_mapping():
    t = _table(["Bibliotek", "Museum", "Skola", "Gy"], [3, 8, 2, 20])
    hierarchy = {"Bibliotek": "Kultur", "Museum": "Kultur", "Kultur": None, "Skola": None,
                 "Gy": None}
    out, _ = suppress(t, hierarchy=hierarchy)
    # Bibliotek (3) and Skola (2) are primary; together 5 >= k and two hidden: nothing more
    assert set(out.loc[out["suppressed"], "unit"]) == {"Bibliotek", "Skola"}
    with pytest.raises(MognadError, match="not in the hierarchy"):
        suppress(t, hierarchy={"Bibliotek": None})


@pytest.mark.parametrize(("rollup", "na_group"),
                         [(False, "total"), (True, "total"), (False, "part"), (True, "part")])
def test_random_trees_never_leak(rollup, na_group):
    # 120 random organisations with random unit trees and sizes, suppressed in one call (one tree
    # per org_id), each then attacked independently. na_group="total": the row without a unit is
    # the total; "part": it is the respondents in no unit.
    na_total = na_group == "total"
    rng = np.random.default_rng(20240501)
    paths = ["A", "A/a", "A/b", "A/b/i", "A/b/ii", "B", "B/a", "B/b", "B/c", "C"]
    cases, frames = {}, []
    for case in range(120):
        chosen = [p for p in paths if rng.random() < 0.7]
        chosen = [p for p in chosen if "/" not in p or p.rsplit("/", 1)[0] in chosen]
        atoms = {None: int(rng.integers(0, 4))} | {p: int(rng.integers(0, 12)) for p in chosen}
        if na_total:
            # contract: when some respondents have no unit, the total row must be in the table
            rows = [None, *chosen] if atoms[None] or rng.random() < 0.5 else chosen
        else:
            rows = [None, *chosen]  # the no-unit row is a part like any unit
        t = _rows_from_atoms(atoms, rows, rollup=rollup, na_total=na_total)
        t = t.assign(org_id=f"{case:04d}")
        t = t[t["n_respondents"] > 0]
        cases[f"{case:04d}"] = (atoms, [None if pd.isna(u) else u for u in t["unit"]])
        frames.append(t)
    out, _ = suppress(pd.concat(frames, ignore_index=True), rollup=rollup, na_group=na_group)
    check_disclosure(out)
    n_hidden = 0
    for org, (atoms, rows) in cases.items():
        sub = out[out["org_id"] == org]
        shown = {None if pd.isna(u) else u for u in sub.loc[~sub["suppressed"], "unit"]}
        n_hidden += len(rows) - len(shown)
        assert _attack(atoms, rows, shown, rollup=rollup, k=5, na_total=na_total) == [], (
            atoms, rows, shown)
    assert n_hidden > 60  # the cases do exercise suppression


# ------------------------------------------------------------------------------------- slices
def test_each_statistic_is_protected_on_its_own_count():
    # Unit C has 10 respondents but only 4 with an innovation score (many "don't know").
    total = _table(["A", "B", "C"], [12, 9, 10])
    innov = _table(["A", "B", "C"], [12, 9, 4], level="category", name="innovation")
    out, log = suppress(pd.concat([total, innov], ignore_index=True))
    tot = out[out["name"] == "total"]
    inn = out[out["name"] == "innovation"]
    assert not tot["suppressed"].any()  # the total slice is untouched
    assert inn["suppressed"].tolist() == [False, True, True]  # C primary, B complementary
    assert set(log["stage"]) == {"cell"}
    assert log.loc[log["unit"] == "C", "reason"].item() == "primary: n=4 < k=5"


def test_a_small_group_is_hidden_in_every_statistic():
    total = _table(["A", "B", "C"], [3, 9, 12])
    innov = _table(["A", "B", "C"], [3, 8, 12], level="category", name="innovation")
    out, log = suppress(pd.concat([total, innov], ignore_index=True))
    assert out.groupby("unit")["suppressed"].all().to_dict() == {"A": True, "B": True,
                                                                "C": False}
    assert set(log["stage"]) == {"group"}


def test_organisations_and_rounds_are_independent():
    t = pd.concat(
        [
            _table(["A", "B", "C"], [3, 9, 12], org="0180"),
            _table(["A", "B", "C"], [6, 9, 12], org="1384"),
            _table(["A", "B", "C"], [6, 9, 2], org="1384", rnd=2025),
        ],
        ignore_index=True,
    )
    out, _ = suppress(t)
    got = out.groupby(["org_id", "round"])["suppressed"].sum().to_dict()
    assert got == {("0180", 2024): 2, ("1384", 2024): 0, ("1384", 2025): 2}


def test_no_group_column_is_primary_only():
    t = _table(["x", "y"], [4, 30]).drop(columns="unit")
    out, log = suppress(t, group=None, by=("org_id", "round", "score_pct"))
    assert out["suppressed"].tolist() == [True, False]
    assert log["kind"].tolist() == ["primary"]


def test_bad_input_is_a_clear_error():
    t = _table(["A", "A"], [9, 9])
    with pytest.raises(MognadError, match="rows share the same"):
        suppress(t)
    with pytest.raises(MognadError, match="missing column"):
        suppress(t.drop(columns="n_respondents"))
    with pytest.raises(MognadError, match="missing column"):
        suppress(_table(["A"], [9]), values=("score_pct", "sd"))


def test_result_object_has_named_fields():
    res = suppress(_table(["A", "B", "C"], [3, 9, 12]))
    assert res.log is res.suppression_log
    assert len(res.table) == 3 and len(res.suppression_log) == 2


# ------------------------------------------------------------------------------------- guard
def test_check_disclosure_catches_small_and_leaking_rows():
    with pytest.raises(MognadError, match="fewer than 5"):
        check_disclosure(_table(["A", "B"], [3, 9]))
    with pytest.raises(MognadError, match="fewer than 7"):
        check_disclosure(_table(["A", "B"], [7, 6]), k=7)
    leaking = _table(["A", "B"], [3, 9]).assign(suppressed=[True, False])
    with pytest.raises(MognadError, match="still show"):
        check_disclosure(leaking)
    unknown_n = _table(["A"], [9]).assign(n_respondents=pd.array([pd.NA], dtype="Int64"))
    with pytest.raises(MognadError, match="unknown"):
        check_disclosure(unknown_n)
    out, _ = suppress(_table(["A", "B", "C"], [3, 9, 12]))
    assert check_disclosure(out) is out


# ------------------------------------------------------------------------------------- peers
def _orgs(groups):
    return pd.DataFrame({"org_id": [f"{i:04d}" for i in range(len(groups))],
                         "kommungrupp": pd.array(groups, dtype="string")})


def test_small_kommungrupp_is_merged_into_its_main_group():
    orgs = _orgs(["A1"] * 3 + ["A2"] * 6 + ["B3"] * 5 + ["C9"] * 2 + [None])
    merged, log = merge_small_peer_groups(orgs)
    got = merged.groupby("kommungrupp", dropna=False)["peer_group"].first().to_dict()
    # A1 (3 < 5) -> A, which holds A1 + A2 = 9 organisations; C9 (2) -> C (2) -> kommun (16)
    assert got["A1"] == "A" and got["A2"] == "A2" and got["B3"] == "B3" and got["C9"] == "kommun"
    assert pd.isna(merged.loc[merged["kommungrupp"].isna(), "peer_group"]).all()
    assert merged.loc[merged["kommungrupp"] == "A1", "n_peer_orgs"].unique().tolist() == [9]
    assert merged.loc[merged["kommungrupp"] == "C9", "n_peer_orgs"].unique().tolist() == [16]
    row = log.set_index("value").loc["A1"]
    assert row["action"] == "merged"
    assert row["reason"] == "A1: 3 organisations < 5, merged into A (9 organisations)"
    assert log.loc[log["value"].isna(), "action"].item() == "not shown"
    assert set(KOMMUNGRUPP_MAIN) == {"A", "B", "C"}


def test_min_orgs_and_not_shown():
    orgs = _orgs(["A1"] * 3 + ["B3"] * 2)
    merged, log = merge_small_peer_groups(orgs, min_orgs=6)
    assert merged["peer_group"].isna().all()  # even all municipalities (5) are fewer than 6
    assert set(log["action"]) == {"not shown"}
    merged, _ = merge_small_peer_groups(orgs, min_orgs=3, hierarchy=None)
    assert merged["peer_group"].tolist()[:3] == ["A1"] * 3
    assert merged["peer_group"].isna().tolist()[3:] == [True, True]


def test_county_merges_to_national_and_custom_hierarchy():
    orgs = pd.DataFrame({"org_id": list("abcdefg"),
                         "county_code": ["01"] * 5 + ["25", "25"]})
    merged, _ = merge_small_peer_groups(orgs, column="county_code")
    assert merged["peer_group"].tolist() == ["01"] * 5 + ["riket"] * 2
    assert merged["n_peer_orgs"].tolist() == [5] * 5 + [7] * 2
    custom, _ = merge_small_peer_groups(orgs, column="county_code", min_orgs=2,
                                        hierarchy={"25": "norr", "01": "syd"})
    assert custom["peer_group"].tolist() == ["01"] * 5 + ["25", "25"]
    assert peer_chain("25", column="county_code", hierarchy={"25": "norr"}) == ["25", "norr"]
    assert peer_members(orgs, "riket", column="county_code").all()


def test_peer_group_duplicates_are_rejected():
    with pytest.raises(MognadError, match="more than once"):
        merge_small_peer_groups(pd.DataFrame({"org_id": ["1", "1"], "kommungrupp": ["A1", "A1"]}))


def test_every_org_gets_a_group_of_at_least_min_orgs():
    rng = np.random.default_rng(7)
    codes = ["A1", "A2", "B3", "B4", "B5", "C6", "C7", "C8", "C9"]
    for min_orgs, size in itertools.product([2, 5, 8], [6, 20, 60]):
        orgs = _orgs(list(rng.choice(codes, size=size)))
        merged, _ = merge_small_peer_groups(orgs, min_orgs=min_orgs)
        for label, grp in merged.dropna(subset=["peer_group"]).groupby("peer_group"):
            members = peer_members(merged, label, column="kommungrupp")
            assert members.sum() >= min_orgs
            assert (grp["n_peer_orgs"] == members.sum()).all()


# ------------------------------------------------------------------------------ publication plan
def _plan_people(spec):
    """{(unit, role): n} -> one row per respondent."""
    rows = [(u, r) for (u, r), n in spec.items() for _ in range(n)]
    return pd.DataFrame(rows, columns=["unit", "role"])


def test_plan_hides_the_smallest_sibling_and_keeps_the_parent():
    # Kultur/Museum has 2 respondents (primary); Kultur minus its shown sub-units would be those 2,
    # so the smallest shown sibling with respondents (Arkiv, 6 < Bibliotek, 9) is hidden too and
    # Kultur keeps 2 + 6 = 8 respondents outside its shown sub-units. Worked by hand.
    people = _plan_people({("Kultur/Museum", "a"): 2, ("Kultur/Arkiv", "a"): 6,
                           ("Kultur/Bibliotek", "a"): 9, ("Skola", "a"): 7})
    plan = publication_plan(people, role=None)
    assert plan.shown_units == ["Kultur", "Kultur/Bibliotek", "Skola"]
    assert plan.units["n_respondents"].tolist() == [17, 9, 7]
    assert plan.units["depth"].tolist() == [1, 2, 1]
    assert plan.units["parent"].tolist()[1] == "Kultur"
    log = plan.log.set_index("group")
    assert log.at["Kultur/Museum", "reason"] == "primary: n=2 < k=5"
    assert log.at["Kultur/Arkiv", "reason"].startswith("complementary: protects respondents of "
                                                      "Kultur")
    assert (plan.n_units, plan.n_hidden_units) == (5, 2)
    assert plan.unit_counts(depth=1) == (2, 0)


def test_plan_hides_the_parent_when_no_sibling_can_protect_it():
    # Kultur has 3 respondents of its own and one sub-unit of 6 whose block is its own 6:
    # hiding the sub-unit protects Kultur's 3 (block 9); the top level is kept.
    people = _plan_people({("Kultur", "a"): 3, ("Kultur/Bibliotek", "a"): 6, ("Skola", "a"): 9})
    assert publication_plan(people, role=None).shown_units == ["Kultur", "Skola"]
    # with only the 3 and nothing below Kultur to merge with, Kultur (3) is primary and the
    # organisation's remainder (3) needs Skola hidden too; the total alone is left
    people = _plan_people({("Kultur", "a"): 3, ("Skola", "a"): 9})
    plan = publication_plan(people, role=None)
    assert plan.shown_units == [] and plan.total_shown


def test_plan_role_concentrated_in_one_unit():
    # ledning: all 5 in Ledningsstab (7): Ledningsstab - ledning = 2 respondents. The role goes;
    # the units stay. r2/r3 are spread over both units.
    people = _plan_people({("Stab", "ledning"): 5, ("Stab", "r2"): 2,
                           ("Drift", "r2"): 6, ("Drift", "r3"): 6, ("Stab", "r3"): 0})
    plan = publication_plan(people)
    assert plan.shown_units == ["Drift", "Stab"]
    assert "ledning" not in plan.shown_roles
    log = plan.log.set_index("group")
    assert log.at["ledning", "reason"].startswith("complementary: units and roles together")


def test_for_statistic_hides_cells_within_shown_groups():
    # A, B, C have 6, 7, 8 respondents; in one category only 3 of A have a score. For that
    # category A is hidden (3 < 5) and B (7, the smallest other) with it, since the total of
    # the category minus B and C would give A's 3. By hand.
    people = _plan_people({("A", "r"): 6, ("B", "r"): 7, ("C", "r"): 8})
    plan = publication_plan(people, role=None)
    assert plan.shown_units == ["A", "B", "C"]
    mask = np.ones(len(people), dtype=bool)
    mask[3:6] = False  # three of A's six without a score in the category
    cell = plan.for_statistic(mask)
    assert cell.shown_units == ["C"] and cell.total_shown and cell.n_respondents == 18
    assert plan.for_statistic(np.ones(len(people), dtype=bool)) is plan
    with pytest.raises(MognadError, match="one value per respondent"):
        plan.for_statistic([True, False])


def test_plan_bad_input():
    with pytest.raises(MognadError, match="k must be"):
        publication_plan(_plan_people({("A", "r"): 6}), k=0)
    with pytest.raises(MognadError, match="needs a DataFrame"):
        publication_plan([("A", "r")])
    # no unit column, no role column: only the total
    plan = publication_plan(pd.DataFrame({"x": range(6)}))
    assert plan.total_shown and plan.units.empty and plan.roles.empty
