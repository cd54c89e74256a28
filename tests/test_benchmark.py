"""Tests for mognad.benchmark: peer distributions, comparison with peers, weakest categories.

All expected numbers are worked by hand in the comments.

Percentile rank (as defined in mognad.benchmark): among the n peers, the organisation itself
excluded, 100 * (#peers below + 0.5 * #peers equal) / n, i.e. scipy's percentileofscore with
kind="mean".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mognad.benchmark import (
    compare_to_peer_groups,
    compare_to_peers,
    peer_distribution,
    similar_organisations,
    weakest_categories,
)
from mognad.errors import MognadError

Z95 = 1.959963984540054  # normal 97.5 % quantile

# 12 municipalities (A1 x 3, A2 x 5, B3 x 4), 2 regions, 1 agency
ORGS = pd.DataFrame(
    {
        "org_id": [f"k{i:02d}" for i in range(1, 13)] + ["r1", "r2", "m1"],
        "org_type": ["kommun"] * 12 + ["region"] * 2 + ["myndighet"],
        "kommungrupp": pd.array(["A1"] * 3 + ["A2"] * 5 + ["B3"] * 4 + [None] * 3,
                                dtype="string"),
        "county_code": ["14"] * 15,
    }
)
TOTALS = [40, 50, 50, 60, 70, 80, 30, 45, 55, 65, 75, 60] + [55, 65] + [80]


def _totals(values=TOTALS, rnd=2024, width=20.0):
    v = np.asarray(values, dtype=float)
    return pd.DataFrame({"org_id": ORGS["org_id"], "round": rnd, "level": "total",
                         "name": "total", "score_pct": v, "n_respondents": 8,
                         "ci_low": v - width / 2, "ci_high": v + width / 2})


# ------------------------------------------------------------------------------------- distribution
def test_distribution_by_org_type_merges_small_types_into_national():
    out = peer_distribution(_totals(), ORGS, level="total")
    # regions (2) and the agency (1) are fewer than 5: they belong to "riket" (the national row)
    assert out[["peer", "peer_group"]].values.tolist() == [["national", "riket"],
                                                           ["org_type", "kommun"]]
    nat, kom = out.iloc[0], out.iloc[1]
    # national: (680 + 55 + 65 + 80) / 15 = 880 / 15
    assert (nat["n_orgs"], nat["mean"]) == (15, pytest.approx(880 / 15))
    # kommun: 40+50+50+60+70+80+30+45+55+65+75+60 = 680, / 12
    assert (kom["n_orgs"], kom["mean"]) == (12, pytest.approx(680 / 12))
    assert out["shown"].all()


def test_distribution_by_kommungrupp_nested_merging():
    out = peer_distribution(_totals(), ORGS, peer="kommungrupp", level="total")
    peer_rows = out[out["peer"] == "kommungrupp"].set_index("peer_group")
    # A1 (3 orgs) -> A = A1 + A2 (8 orgs); A2 (5) kept; B3 (4) -> B (4) -> kommun (12)
    assert list(peer_rows.index) == ["A", "A2", "kommun"]
    assert peer_rows["n_orgs"].tolist() == [8, 5, 12]
    # A: 40+50+50+60+70+80+30+45 = 425, / 8
    assert peer_rows.loc["A", "mean"] == pytest.approx(425 / 8)
    # A2: 60, 70, 80, 30, 45 -> mean 57; deviations -27, -12, 3, 13, 23 -> squares 1580, / 4
    a2 = peer_rows.loc["A2"]
    assert a2["mean"] == pytest.approx(57.0)
    assert a2["sd"] == pytest.approx(np.sqrt(1580 / 4))
    # sorted 30, 45, 60, 70, 80: positions 0.25*4 = 1, 2, 3 -> 45, 60, 70
    assert (a2["q1"], a2["median"], a2["q3"]) == (45.0, 60.0, 70.0)


def test_distribution_quartiles_interpolate():
    # kommun, sorted 30 40 45 50 50 55 60 60 65 70 75 80: q1 at position 0.25 * 11 = 2.75
    # -> 45 + 0.75 * (50 - 45) = 48.75; median at 5.5 -> 57.5; q3 at 8.25 -> 65 + 0.25 * 5
    kom = peer_distribution(_totals(), ORGS, level="total").iloc[1]
    assert (kom["q1"], kom["median"], kom["q3"]) == (48.75, 57.5, 66.25)


def test_distribution_rounds_levels_and_missing_values():
    cat = _totals().assign(level="category", name="innovation")
    later = _totals(rnd=2025)
    later.loc[later["org_id"].isin(["k01", "k02", "k03", "k04", "k05", "k06", "k07", "k08"]),
              "score_pct"] = np.nan  # suppressed or not measured
    frame = pd.concat([_totals(), cat, later], ignore_index=True)
    out = peer_distribution(frame, ORGS, level=None)
    assert sorted(out["round"].unique()) == [2024, 2025]
    assert set(out.loc[out["round"] == 2024, "level"]) == {"total", "category"}
    k25 = out[(out["round"] == 2025) & (out["peer_group"] == "kommun")]
    # 2025: only k09..k12 have scores; 4 < 5 municipalities, so all are in "riket" only
    assert k25.empty
    nat25 = out[(out["round"] == 2025) & (out["peer"] == "national")].iloc[0]
    assert nat25["n_orgs"] == 7  # k09..k12, r1, r2, m1
    only_national = peer_distribution(_totals(), ORGS, peer=None, level="total")
    assert only_national["peer"].tolist() == ["national"]


def test_distribution_small_rows_are_not_shown():
    frame = _totals()
    frame.loc[frame["org_id"].isin(["k01", "k02", "k03", "k04", "k05", "k06", "k07", "k08"]),
              "score_pct"] = np.nan
    out = peer_distribution(frame, ORGS, level="total", min_orgs=8)
    # 7 organisations with a score nationally: fewer than 8, no statistics
    assert out["peer"].tolist() == ["national"]
    assert not out["shown"].item() and pd.isna(out["mean"].item())
    assert out["n_orgs"].item() == 7


def test_unit_rows_are_ignored_and_bad_input_is_explained():
    frame = _totals().assign(unit=pd.NA)
    unit_row = frame.iloc[[0]].assign(unit="Kultur", score_pct=0.0)
    out = peer_distribution(pd.concat([frame, unit_row]), ORGS, level="total")
    assert out.iloc[0]["mean"] == pytest.approx(880 / 15)
    with pytest.raises(MognadError, match="more than one row"):
        peer_distribution(pd.concat([_totals(), _totals().iloc[[0]]]), ORGS, level="total")
    with pytest.raises(MognadError, match="not in the organisations registry"):
        peer_distribution(_totals(), ORGS.iloc[1:], level="total")
    with pytest.raises(MognadError, match="lacks column"):
        peer_distribution(_totals().drop(columns="name"), ORGS)
    with pytest.raises(MognadError, match="lacks column"):
        peer_distribution(_totals(), ORGS, peer="size_class")


# ------------------------------------------------------------------------------------- compare
def test_compare_to_peers_by_hand():
    out = compare_to_peers(_totals(), ORGS, org_id="k01", round=2024, peer="kommungrupp",
                           levels="total")
    row = out.iloc[0]
    # k01 is A1 -> peer group A; peers without k01: 50 50 60 70 80 30 45 (n = 7), mean 385/7 = 55
    assert row["peer_group"] == "A"
    assert row["n_peers"] == 7
    assert row["peer_mean"] == pytest.approx(55.0)
    assert row["difference"] == pytest.approx(40 - 55)
    # peer variance: deviations -5 -5 5 15 25 -25 -10 -> squares 1650, / 6 = 275
    assert row["peer_sd"] == pytest.approx(np.sqrt(275))
    assert row["peer_se"] == pytest.approx(np.sqrt(275 / 7))
    # own interval 30-50: se = 20 / (2 * 1.959964) = 5.10214
    assert row["se"] == pytest.approx(10 / Z95)
    diff_se = np.sqrt((10 / Z95) ** 2 + 275 / 7)  # = 8.0819
    assert row["diff_se"] == pytest.approx(diff_se)
    assert row["diff_se"] == pytest.approx(8.0819, abs=1e-4)
    assert row["diff_ci_low"] == pytest.approx(-15 - Z95 * diff_se)
    assert row["diff_ci_high"] == pytest.approx(-15 + Z95 * diff_se)
    # percentile rank of 40 among 50 50 60 70 80 30 45: one below (30), none equal -> 100/7
    assert row["percentile_rank"] == pytest.approx(100 / 7)
    assert row["percentile_rank"] == pytest.approx(
        stats.percentileofscore([50, 50, 60, 70, 80, 30, 45], 40, kind="mean"))
    assert pd.isna(row["note"])


def test_percentile_rank_with_ties():
    # k02 (50) among A without itself: 40 50 60 70 80 30 45 -> below 40, 30, 45 (3), equal 1:
    # (3 + 0.5) / 7 = 50 %
    out = compare_to_peers(_totals(), ORGS, org_id="k02", round=2024, peer="kommungrupp",
                           levels="total")
    assert out["percentile_rank"].item() == pytest.approx(50.0)
    # the highest municipality (k06, 80) is above every other municipality -> 100
    top = compare_to_peers(_totals(), ORGS, org_id="k06", round=2024, levels="total")
    assert top["percentile_rank"].item() == 100.0


def test_compare_small_peer_group_and_national():
    # a region: org_type "region" has 2 organisations -> merged into riket: all 14 others
    out = compare_to_peers(_totals(), ORGS, org_id="r1", round=2024, levels="total")
    row = out.iloc[0]
    assert row["peer_group"] == "riket" and row["n_peers"] == 14
    assert row["peer_mean"] == pytest.approx((880 - 55) / 14)
    # no kommungrupp for a region: no peer group, a note, no numbers
    none = compare_to_peers(_totals(), ORGS, org_id="r1", round=2024, peer="kommungrupp",
                            levels="total").iloc[0]
    assert pd.isna(none["peer_group"]) and pd.isna(none["difference"])
    assert none["n_peers"] == 0
    assert "no peer group" in none["note"]
    nat = compare_to_peers(_totals(), ORGS, org_id="k01", round=2024, peer=None,
                           levels="total").iloc[0]
    assert nat["peer"] == "national" and nat["n_peers"] == 14


def test_compare_without_interval_and_errors():
    frame = _totals().drop(columns=["ci_low", "ci_high"])
    row = compare_to_peers(frame, ORGS, org_id="k01", round=2024, levels="total").iloc[0]
    assert pd.notna(row["difference"]) and pd.isna(row["diff_ci_low"])
    assert row["note"] == "no interval for the organisation's score"
    with pytest.raises(MognadError, match="has no score_pct in round 2023"):
        compare_to_peers(_totals(), ORGS, org_id="k01", round=2023)
    with pytest.raises(MognadError, match="ci must be"):
        compare_to_peers(_totals(), ORGS, org_id="k01", round=2024, ci=95)


# ------------------------------------------------------------------------------------- weakest
CATS = ["effektivitet", "innovation", "balansering", "infrastruktur", "information",
        "forvaltning"]


def _categories():
    # org "a": 30 70 45 50 20 65. Peers b..f: effektivitet 18 20 22 20 20 (mean 20), every other
    # category 48 50 52 50 50 (mean 50). Differences: +10 +20 -5 0 -30 +15.
    own = [30, 70, 45, 50, 20, 65]
    peer_vals = [48, 50, 52, 50, 50]
    rows = [("a", c, s) for c, s in zip(CATS, own, strict=True)]
    for i, org in enumerate("bcdef"):
        for c in CATS:
            rows.append((org, c, peer_vals[i] - (30 if c == "effektivitet" else 0)))
    frame = pd.DataFrame(rows, columns=["org_id", "name", "score_pct"])
    frame = frame.assign(round=2024, level="category", ci_low=frame["score_pct"] - 5,
                         ci_high=frame["score_pct"] + 5)
    orgs = pd.DataFrame({"org_id": list("abcdef"), "org_type": "kommun"})
    return frame, orgs


def test_weakest_categories_relative_to_peers():
    frame, orgs = _categories()
    out = weakest_categories(frame, orgs, org_id="a", round=2024)
    assert out["name"].tolist() == ["information", "balansering", "infrastruktur"]
    assert out["difference"].tolist() == pytest.approx([-30, -5, 0])
    assert out["rank"].tolist() == [1, 2, 3]
    assert set(out["basis"]) == {"peers"}
    assert weakest_categories(frame, orgs, org_id="a", round=2024, n=1)["name"].item() == (
        "information")


def test_weakest_categories_from_a_comparison_already_at_hand():
    """Given the organisation's comparison over every level, the same three categories and
    differences as above (information −30, balansering −5, infrastruktur 0, by hand)."""
    frame, orgs = _categories()
    cmp = compare_to_peers(frame, orgs, org_id="a", round=2024, levels="category")
    out = weakest_categories(frame, orgs, org_id="a", round=2024, comparison=cmp)
    assert out["name"].tolist() == ["information", "balansering", "infrastruktur"]
    assert out["difference"].tolist() == pytest.approx([-30, -5, 0])
    pd.testing.assert_frame_equal(out, weakest_categories(frame, orgs, org_id="a", round=2024))


def test_weakest_categories_fall_back_to_own_scores():
    frame, orgs = _categories()
    # with min_orgs=7 the six organisations form no peer group: lowest own scores instead
    out = weakest_categories(frame, orgs, org_id="a", round=2024, min_orgs=7)
    assert out["name"].tolist() == ["information", "effektivitet", "balansering"]
    assert set(out["basis"]) == {"own score"}
    with pytest.raises(MognadError, match="n must be"):
        weakest_categories(frame, orgs, org_id="a", round=2024, n=0)


# ---------------------------------------------------------------------------------------- side by side
def test_peer_groups_side_by_side_by_hand():
    """k04 (A2, total 60) against all, municipalities and its municipality group:
    national peers = the 14 others, sum 820 -> mean 58.571; municipalities = 11 others, sum 620
    -> 56.364; A2 has 5 municipalities (kept), peers 70, 80, 30, 45 -> mean 56.25, two of four
    below 60 -> percentile rank 50."""
    out = compare_to_peer_groups(_totals(), ORGS, org_id="k04", round=2024, levels="total")
    assert out["peer"].tolist() == ["national", "org_type", "kommungrupp"]
    assert out["peer_group"].tolist() == ["riket", "kommun", "A2"]
    assert out["n_peers"].tolist() == [14, 11, 4]
    assert out["peer_mean"].tolist() == pytest.approx([820 / 14, 620 / 11, 56.25])
    assert out["percentile_rank"].iloc[2] == pytest.approx(50.0)
    assert out["peer_order"].tolist() == [0, 1, 2]


def test_peer_groups_merge_small_groups_and_drop_repeats():
    # k01 is A1 (3 municipalities < 5): merged into A (A1 + A2 = 8), peers 50 50 60 70 80 30 45
    out = compare_to_peer_groups(_totals(), ORGS, org_id="k01", round=2024, levels="total")
    a = out[out["peer"] == "kommungrupp"].iloc[0]
    assert (a["peer_group"], a["n_peers"]) == ("A", 7)
    assert a["peer_mean"] == pytest.approx(385 / 7)
    # a region: no municipality group; 2 regions < 5 merge up to the whole country, which is
    # the national comparison already -> shown once
    region = compare_to_peer_groups(_totals(), ORGS, org_id="r1", round=2024, levels="total")
    assert region["peer"].tolist() == ["national"]


def test_similar_organisations():
    assert similar_organisations(ORGS, "k04") == "kommungrupp"
    assert similar_organisations(ORGS, "r1") == "org_type"
    assert similar_organisations(ORGS.drop(columns="kommungrupp"), "k04") == "org_type"
    with pytest.raises(MognadError, match="not in the organisations registry"):
        similar_organisations(ORGS, "nope")
