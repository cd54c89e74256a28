"""The organisation report's numbers: profile, change, internal comparison under disclosure."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mognad.errors import MognadError
from mognad.scoring import to_long
from mognad.views.national import national_round
from mognad.views.organisation import (
    change_between_rounds,
    internal_comparison,
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
    row = units[units["unit"] == small].iloc[0]
    assert bool(row["suppressed"])
    assert pd.isna(row["score_pct"]) and pd.isna(row["n_respondents"])
    # cannot be derived: with only one unit hidden, total n minus the shown n would give it away
    assert units["suppressed"].sum() >= 2
    shown_n = units.loc[~units["suppressed"], "n_respondents"].sum()
    assert company_profile.total["n_respondents"] - shown_n != truth["company"]["small_department_n"]
    # the machine-readable results carry counts of shown/hidden units, never a hidden unit's name
    assert small not in json.dumps(company_profile.results(), ensure_ascii=False)


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
    assert hidden and hidden[0]["n"] == int(company_profile.units["suppressed"].sum())


def test_change_between_rounds_hand_example():
    # Round 2023: every answer 3 (4 respondents) -> (3-1)/5*100 = 40 %; round 2024: every answer 4
    # -> 60 %. Change +20 pp; with no spread every bootstrap draw gives exactly +20.
    wide = pd.DataFrame({"org_id": "1", "round": [2023] * 4 + [2024] * 4,
                         "respondent_id": list("abcdefgh"),
                         **{f"q{i:02d}": [3] * 4 + [4] * 4 for i in range(1, 31)}})
    ch = change_between_rounds(to_long(wide), from_round=2023, to_round=2024, n_boot=100)
    total = ch[ch.level == "total"].iloc[0]
    assert (total.from_pct, total.to_pct, total.change_pp) == pytest.approx((40, 60, 20))
    assert (total.ci_low, total.ci_high) == pytest.approx((20, 20))


def test_change_interval_covers_planted_zero(small_study, truth):
    """Two rounds drawn from the same org model: the change interval is centred near the truth
    difference of the planted department totals (here: the company's own truth per round)."""
    c = truth["company"]
    resp = small_study.responses_for(org_id=c["org_id"])
    ch = change_between_rounds(resp, codebook=small_study.codebook, from_round=2023,
                               to_round=2024, n_boot=N_BOOT)
    assert (ch["ci_low"] <= ch["change_pp"]).all() and (ch["change_pp"] <= ch["ci_high"]).all()


def test_internal_comparison_roles_and_k(small_study, truth):
    c = truth["company"]
    resp = small_study.responses_for(org_id=c["org_id"], round=c["latest_round"])
    for k in (5, 8):
        roles = internal_comparison(resp, codebook=small_study.codebook, group="role", k_min=k,
                                    n_boot=50)
        shown = roles[~roles["suppressed"]]
        assert (shown["n_respondents"] >= k).all()
        counts = resp.drop_duplicates("respondent_id")["role"].value_counts()
        assert set(roles.loc[roles["suppressed"], "role"]) >= set(counts[counts < k].index)


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
    assert not np.allclose(first.scores["ci_low"].fillna(0), third.scores["ci_low"].fillna(0))
