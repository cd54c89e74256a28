"""The organisation report's numbers: profile, change, internal comparison under disclosure."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mognad.errors import MognadError
from mognad.internal import compare_groups
from mognad.longitudinal import change
from mognad.scoring import to_long
from mognad.views.national import national_round
from mognad.views.organisation import (
    CHANGE_COLUMNS,
    organisation_profile,
)

N_BOOT = 200


@pytest.fixture(scope="module")
def truth(small_data):
    return json.loads((small_data / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def company_profile(small_study, truth):
    c = truth["company"]
    return organisation_profile(small_study, c["org_id"], c["latest_round"], n_boot=N_BOOT)


def test_profile_totals_match_hand_computation(small_study, company_profile, truth):
    """The total is the mean over dimensions of the mean over categories of respondents'
    category means (DOMAIN.md), recomputed here with plain pandas from the store."""
    c = truth["company"]
    resp = small_study.responses_for(org_id=c["org_id"], round=c["latest_round"])
    items = small_study.codebook.items[["item_id", "category", "dimension"]]
    r = resp.merge(items, on="item_id").dropna(subset=["value"])
    per_resp = r.groupby(["respondent_id", "category", "dimension"])["value"].agg(["mean", "size"])
    per_resp = per_resp[per_resp["size"] >= small_study.codebook.min_items_per_category]
    cat = per_resp.groupby(["category", "dimension"])["mean"].mean()
    total = ((cat.groupby("dimension").mean().mean()) - 1) / 5 * 100
    assert company_profile.total["score_pct"] == pytest.approx(total, abs=1e-9)
    assert company_profile.total["ci_low"] < total < company_profile.total["ci_high"]
    assert company_profile.total["n_respondents"] == resp["respondent_id"].nunique()


def test_small_department_never_shown(company_profile, truth):
    small = truth["company"]["small_department"]
    units = company_profile.units
    # hidden units are not in the table at all, not even their names
    assert small not in set(units["unit"])
    assert (units["n_respondents"] >= 5).all()
    # with only one unit hidden, total n minus the shown top-level n would give it away
    assert company_profile.n_hidden_units >= 2
    top = units[units["depth"] == 1]
    hidden_n = company_profile.total["n_respondents"] - top["n_respondents"].sum()
    assert hidden_n == 0 or hidden_n >= 5
    # the machine-readable results carry counts of shown/hidden units, never a hidden unit's name
    res = company_profile.results()
    assert small not in json.dumps(res, ensure_ascii=False)
    assert (res["units_shown"], res["units_suppressed"]) == (len(units),
                                                             company_profile.n_hidden_units)


def test_units_are_the_internal_comparison_reports_units(small_study, company_profile, truth):
    """Issue 12: one implementation, so both reports print the same figures and intervals for the
    same unit (before, the organisation report used bootstrap and the internal-comparison report
    t intervals, on differently defined units)."""
    from mognad import casestudy as cs

    c = truth["company"]
    ic = cs.internal_comparison(small_study, c["org_id"], round=c["latest_round"], n_boot=N_BOOT)
    cols = ["unit", "depth", "n_respondents", "score_pct", "ci_low", "ci_high"]
    pd.testing.assert_frame_equal(company_profile.units[cols].reset_index(drop=True),
                                  ic["units"][cols].reset_index(drop=True), check_dtype=False)
    # a unit node is everyone in its subtree: the planted department counts add up
    counts = c["department_counts_latest_round"]
    art = {u: n for u, n in counts.items() if u.startswith("Konstnärlig verksamhet/")}
    row = company_profile.units.set_index("unit").loc["Konstnärlig verksamhet"]
    assert row["n_respondents"] == sum(art.values())


def test_results_are_json_and_complete(company_profile):
    from mognad.report.render import _jsonable

    res = _jsonable(company_profile.results())
    text = json.dumps(res, allow_nan=False)
    assert {"total", "type", "scores", "change", "weakest_categories", "provenance"} <= set(res)
    assert res["type"]["code"] in "ABCD"
    assert sum(res["type"]["probabilities"].values()) == pytest.approx(1.0)
    assert len(res["weakest_categories"]) == 3
    assert "@" not in text  # no e-mail-like respondent identity anywhere


def test_type_in_words_with_probability_in_per_cent(company_profile):
    import re

    from mognad.present.survey import type_text

    sentence = type_text(company_profile.type, "sv")
    p = round(company_profile.type["probability"] * 100)
    assert re.search(rf"typ {company_profile.type['code']}</strong> \({p}\xa0%\)", sentence)
    assert "sannolikhet 0," not in sentence and "1,00" not in sentence


def test_peers_are_similar_organisations_side_by_side(small_study, company_profile, truth):
    """A company has no municipality group: it is compared with its organisation type, and
    with all organisations beside it; a municipality with its (merged) municipality group."""
    assert company_profile.peer_group == "org_type"
    groups = company_profile.peer_groups
    total = groups[groups["level"] == "total"].sort_values("peer_order")
    assert total["peer"].tolist()[0] == "national"
    orgs = small_study.organisations
    n_round = national_round(small_study, truth["company"]["latest_round"], n_boot=N_BOOT)
    n_orgs = n_round.types["org_id"].nunique()
    assert int(total["n_peers"].iloc[0]) == n_orgs - 1   # everyone else in the round
    kommun = orgs.loc[orgs["org_type"] == "kommun", "org_id"]
    kommun = [o for o in kommun if o in set(n_round.types["org_id"])][0]
    profile = organisation_profile(small_study, kommun, truth["company"]["latest_round"],
                                   n_boot=N_BOOT)
    assert profile.peer_group == "kommungrupp"
    assert set(profile.peer_groups["peer"]) >= {"national"}
    items = profile.items
    assert len(items) == 30 and set(items["level"]) == {"item"}
    assert json.dumps(profile.results()["peer_groups"], default=str)


def test_quality_findings_are_codes_not_prose(company_profile):
    codes = [f["code"] for f in company_profile.quality]
    assert "dont_know" in codes
    assert all(set(f) <= {"code", "n", "share", "items", "rate", "k"}
               for f in company_profile.quality)
    hidden = [f for f in company_profile.quality if f["code"] == "units_hidden"]
    assert hidden and hidden[0]["n"] == company_profile.n_hidden_units


def test_change_hand_example():
    # Round 2023: every answer 3 (4 respondents) -> (3-1)/5*100 = 40 %; round 2024: every answer 4
    # -> 60 %. Change +20 pp; with no spread the interval has zero width.
    wide = pd.DataFrame({"org_id": "1", "round": [2023] * 4 + [2024] * 4,
                         "respondent_id": list("abcdefgh"),
                         **{f"q{i:02d}": [3] * 4 + [4] * 4 for i in range(1, 31)}})
    ch = change(to_long(wide), org_id="1", from_round=2023, to_round=2024,
                level=["total", "dimension", "category"])
    assert ch.columns.tolist() == CHANGE_COLUMNS
    total = ch[ch.level == "total"].iloc[0]
    assert (total.score_from, total.score_to, total.change) == pytest.approx((40, 60, 20))
    assert (total.ci_low, total.ci_high) == pytest.approx((20, 20))
    assert (total.design, total.n_from, total.n_to, total.n_paired) == ("independent", 4, 4, 0)


def test_profile_change_matches_hand_computation_and_covers_planted_change(
        small_study, small_data, company_profile, truth):
    """The profile's change since the previous round: point values recomputed with plain pandas,
    and the interval against the generator's true organisation-round totals."""
    c = truth["company"]
    assert company_profile.previous_round == 2023
    ch = company_profile.change.set_index("name")
    assert ch.columns.tolist() == [col for col in CHANGE_COLUMNS if col != "name"]
    items = small_study.codebook.items[["item_id", "category", "dimension"]]

    def hand_total(round_):
        resp = small_study.responses_for(org_id=c["org_id"], round=round_)
        r = resp.merge(items, on="item_id").dropna(subset=["value"])
        per = r.groupby(["respondent_id", "category", "dimension"])["value"].agg(["mean", "size"])
        per = per[per["size"] >= small_study.codebook.min_items_per_category]
        cat = per.groupby(["category", "dimension"])["mean"].mean()
        return (cat.groupby("dimension").mean().mean() - 1) / 5 * 100

    row = ch.loc["total"]
    if row["design"] == "independent":
        assert row["score_from"] == pytest.approx(hand_total(2023), abs=1e-9)
        assert row["score_to"] == pytest.approx(hand_total(2024), abs=1e-9)
    true = pd.read_csv(small_data / "truth_org_rounds.csv", dtype={"org_id": str})
    true = true[true["org_id"] == c["org_id"]].set_index("round")
    planted = true.loc[2024, "total"] - true.loc[2023, "total"]
    assert row["ci_low"] <= planted <= row["ci_high"], (planted, row.to_dict())
    assert row["ci_low"] < row["change"] < row["ci_high"]


def test_roles_and_k(small_study, truth):
    c = truth["company"]
    resp = small_study.responses_for(org_id=c["org_id"], round=c["latest_round"])
    counts = resp.drop_duplicates("respondent_id")["role"].value_counts()
    for k in (5, 8):
        res = compare_groups(resp, codebook=small_study.codebook, k_min=k, n_boot=50,
                             dispersion=False)
        roles = res.roles()
        assert (roles["n_respondents"] >= k).all()
        # every shown role's n is its true count; roles smaller than k are never shown
        assert roles.set_index("role")["n_respondents"].to_dict() == {
            r: counts[r] for r in roles["role"]}
        assert not set(roles["role"]) & set(counts[counts < k].index)
        assert res.n_roles == len(counts)
        assert res.n_hidden_roles == len(counts) - len(roles)


def test_unknown_org_and_round(small_study):
    with pytest.raises(MognadError, match="not in the study's registry"):
        organisation_profile(small_study, "nope", 2024, n_boot=N_BOOT)
    with pytest.raises(MognadError, match="round 1999 is not in the study"):
        national_round(small_study, 1999, n_boot=N_BOOT)
    with pytest.raises(MognadError, match="peer_group must be one of"):
        organisation_profile(small_study, "B001", 2024, peer_group="colour", n_boot=N_BOOT)


def test_national_cache_is_reused(copy_of_small_study):
    first = national_round(copy_of_small_study, 2024, n_boot=50, seed=1)
    second = national_round(copy_of_small_study, 2024, n_boot=50, seed=1)
    third = national_round(copy_of_small_study, 2024, n_boot=50, seed=2)
    assert (first.from_cache, second.from_cache, third.from_cache) == (False, True, False)
    pd.testing.assert_frame_equal(first.scores, second.scores, check_dtype=False)
    # another seed: other bootstrap type probabilities (the t-intervals do not use the seed)
    assert not np.allclose(first.types["type_probability"].fillna(0),
                           third.types["type_probability"].fillna(0))
    pd.testing.assert_series_equal(first.scores["ci_low"], third.scores["ci_low"])


def test_compare_groups_bad_input(small_study, truth):
    c = truth["company"]
    resp = small_study.responses_for(org_id=c["org_id"])
    with pytest.raises(MognadError, match="one organisation-round at a time"):
        compare_groups(resp, codebook=small_study.codebook, n_boot=20)
    latest = resp[resp["round"] == c["latest_round"]]
    with pytest.raises(MognadError, match="depth must be"):
        compare_groups(latest, codebook=small_study.codebook, depth=0, n_boot=20)
    clash = latest.astype({"unit": "str"})  # the store's categorical takes no new unit names
    first = clash["respondent_id"].iloc[0]
    clash.loc[clash.index[clash["respondent_id"] == first][0], "unit"] = "Någon annan"
    with pytest.raises(MognadError, match="different unit values") as err:
        compare_groups(clash, codebook=small_study.codebook, n_boot=20)
    assert first not in str(err.value)  # no respondent id in the message
    with pytest.raises(MognadError, match="missing column"):
        compare_groups(latest.drop(columns="value"), codebook=small_study.codebook)


def test_compare_groups_small_organisation_shows_nothing():
    # 4 respondents < k=5: not even the organisation row (nor any unit or role) is published
    wide = pd.DataFrame({"org_id": "1", "round": 2024, "respondent_id": list("abcd"),
                         "unit": ["A", "A", "B", "B"], "role": "chef",
                         **{f"q{i:02d}": [3, 4, 5, 6] for i in range(1, 31)}})
    res = compare_groups(to_long(wide), n_boot=20)
    assert res.table.empty
    assert (res.n_units, res.n_hidden_units, res.n_roles, res.n_hidden_roles) == (2, 2, 1, 1)
