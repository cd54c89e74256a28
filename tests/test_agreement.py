"""Tests for mognad.agreement: response rate, rwg(j), ICC(1)/ICC(2).

Reference numbers come from hand-worked formulas (in the comments) and from R 4.2.2 with
multilevel 2.7-1 (Bliese's package), with the R call beside the number.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats

from mognad.agreement import SmallGroupWarning, icc1_icc2, response_rate, rwg_j
from mognad.codebook import load_codebook
from mognad.errors import MognadError

CB = load_codebook()  # parsed once: loading the YAML takes ~0.1 s
ALL = CB.item_ids  # q01..q30

ITEMS5 = ["q01", "q02", "q03", "q04", "q05"]  # category "effektivitet", dimension "formaga"


def _long(matrix, groups, *, items=ITEMS5, rnd=2024, unit=None):
    """Long responses from a respondents x items matrix (None = don't know)."""
    rows = []
    for r, (answers, g) in enumerate(zip(matrix, groups, strict=True)):
        for item, v in zip(items, answers, strict=True):
            rows.append((str(g), rnd, f"r{r:02d}", unit, pd.NA, item, v))
    frame = pd.DataFrame(rows, columns=["org_id", "round", "respondent_id", "unit", "role",
                                        "item_id", "value"])
    frame["value"] = pd.array(frame["value"].tolist(), dtype="Int64")
    return frame


# The rwg(j) data set: group 1 agrees, group 2 answers at the extremes, group 3 in between.
X = [[4, 5, 4, 5, 4], [5, 5, 4, 4, 4], [4, 4, 5, 5, 5], [5, 4, 4, 5, 4],
     [1, 6, 1, 6, 1], [6, 1, 6, 1, 6], [1, 6, 6, 1, 1], [6, 1, 1, 6, 6],
     [3, 4, 2, 5, 3], [2, 3, 3, 4, 4], [4, 4, 3, 3, 2], [3, 2, 2, 4, 3], [5, 3, 4, 4, 3]]
G = [1] * 4 + [2] * 4 + [3] * 5


# ------------------------------------------------------------------------------------- rwg(j)
def test_rwg_j_matches_r_multilevel():
    # R: library(multilevel); rwg.j(x, g, ranvar = 35/12)
    #   grpid  rwg.j         gsize
    #   1      0.9789343247  4
    #   2      0.0000000000  4
    #   3      0.9363349584  5
    out = rwg_j(_long(X, G), codebook=CB, min_group_size=4)
    assert out["rwg_j"].tolist() == pytest.approx([0.9789343247, 0.0, 0.9363349584], abs=1e-9)
    assert out["n_respondents"].tolist() == [4, 4, 5]
    assert out["n_items"].tolist() == [5, 5, 5]
    assert out["null_variance"].tolist() == pytest.approx([35 / 12] * 3)
    assert out["level"].unique().tolist() == ["category"]
    assert out["name"].unique().tolist() == ["effektivitet"]


def test_rwg_j_by_hand_and_truncation():
    out = rwg_j(_long(X, G), codebook=CB, min_group_size=4).set_index("org_id")
    # group 1: item variances 1/3, 1/3, 1/4, 1/4, 1/4 -> mean 17/60; ratio (17/60)/(35/12) = 17/175
    # rwg(j) = 5 (1 - 17/175) / (5 (1 - 17/175) + 17/175) = 790/807
    assert out.loc["1", "mean_item_variance"] == pytest.approx(17 / 60)
    assert out.loc["1", "rwg_j"] == pytest.approx(790 / 807)
    assert not out.loc["1", "truncated"]
    # group 2: every item two 1s and two 6s, variance 25/3 > 35/12; ratio 20/7;
    # raw = 5 (1 - 20/7) / (5 (1 - 20/7) + 20/7) = 13/9 > 1: truncated to 0
    assert out.loc["2", "rwg_j_raw"] == pytest.approx(13 / 9)
    assert out.loc["2", "rwg_j"] == 0.0
    assert out.loc["2", "truncated"]
    assert "truncated" in out.loc["2", "warning"]


def test_rwg_j_dont_know_is_left_out_item_by_item():
    # q01 answers 4, <NA>, 6 -> variance 2; q02 5, 5, 5 -> 0; q03 answered once -> left out.
    # mean 1, ratio 12/35, J = 2: rwg = 2 (23/35) / (2 (23/35) + 12/35) = 46/58 = 23/29
    m = [[4, 5, 3], [None, 5, None], [6, 5, None]]
    with pytest.warns(SmallGroupWarning):
        out = rwg_j(_long(m, ["1"] * 3, items=["q01", "q02", "q03"]), codebook=CB)
    assert out["n_items"].item() == 2
    assert out["n_respondents"].item() == 3
    assert out["rwg_j"].item() == pytest.approx(23 / 29)
    assert out["warning"].item() == "n=3 < 5: rwg(j) is unstable"


def test_rwg_j_levels_null_variance_and_single_respondent():
    data = _long(X, G)
    out = rwg_j(data, codebook=CB, levels=("category", "dimension", "total"), min_group_size=4)
    assert set(out["level"]) == {"category", "dimension", "total"}
    # only items of effektivitet are answered: the formaga dimension and total equal it
    piv = out.pivot_table(index="org_id", columns="level", values="rwg_j")
    np.testing.assert_allclose(piv["category"], piv["dimension"])
    np.testing.assert_allclose(piv["category"], piv["total"])
    # a skewed null (smaller expected variance) gives lower agreement: group 1 with 2.0:
    # ratio (17/60)/2 = 17/120; rwg = 5 (103/120) / (5 (103/120) + 17/120) = 515/532
    skew = rwg_j(data, codebook=CB, null_variance=2.0, min_group_size=4).set_index("org_id")
    assert skew.loc["1", "rwg_j"] == pytest.approx(515 / 532)
    with pytest.warns(SmallGroupWarning):
        one = rwg_j(_long([[4, 5, 4, 5, 4]], ["9"]), codebook=CB)
    assert pd.isna(one["rwg_j"].item())
    assert one["warning"].item() == "fewer than 2 respondents: rwg(j) undefined"


def test_rwg_j_bad_input():
    with pytest.raises(MognadError, match="not in codebook"):
        rwg_j(_long([[4]], ["1"], items=["q99"]), codebook=CB)
    with pytest.raises(MognadError, match="off the 1-6 scale"):
        rwg_j(_long([[7]], ["1"], items=["q01"]), codebook=CB)
    with pytest.raises(MognadError, match="levels must be"):
        rwg_j(_long(X, G), codebook=CB, levels="item")


# ------------------------------------------------------------------------------------- ICC
# Unequal groups, every respondent gives the same answer to every item:
# A: 1, 2, 3 (mean 2)   B: 3, 4 (mean 3.5)   C: 4, 5, 6, 5 (mean 5); N = 9, G = 3, grand mean 11/3
# SSB = 3 (2 - 11/3)^2 + 2 (3.5 - 11/3)^2 + 4 (5 - 11/3)^2 = 75/9 + 1/18 + 64/9 = 15.5
# SSW = (1 + 0 + 1) + (0.25 + 0.25) + (1 + 0 + 1 + 0) = 4.5
# MSB = 15.5 / 2 = 7.75, MSW = 4.5 / 6 = 0.75 (R: summary(aov(y2 ~ g2)) gives 7.75 and 0.75)
# k0 = (9 - (9 + 4 + 16) / 9) / 2 = 26/9
# ICC(1) = (7.75 - 0.75) / (7.75 + (26/9 - 1) 0.75) = 42/55
# ICC(2) = 7 / 7.75 = 28/31 (R: multilevel::ICC2(aov(y2 ~ g2)) = 0.9032258065)
# R's multilevel::ICC1 uses the mean size 9/3 = 3 instead of k0 and gives 0.7567567568.
UNEQUAL = [1, 2, 3, 3, 4, 4, 5, 6, 5]
UNEQUAL_G = ["A"] * 3 + ["B"] * 2 + ["C"] * 4


def test_icc_unequal_groups_by_hand():
    data = _long([[v] * 30 for v in UNEQUAL], UNEQUAL_G, items=ALL)
    with pytest.warns(SmallGroupWarning):
        out = icc1_icc2(data, codebook=CB)
    assert len(out) == 6 + 2 + 1  # categories, dimensions, total: all equal to the answer
    assert set(out["level"]) == {"category", "dimension", "total"}
    for _, row in out.iterrows():
        # scores are percent of optimal, (v - 1) / 5 * 100: mean squares scale by 20^2 = 400
        assert row["ms_between"] == pytest.approx(7.75 * 400)
        assert row["ms_within"] == pytest.approx(0.75 * 400)
        assert row["k_adjusted"] == pytest.approx(26 / 9)
        assert row["icc1"] == pytest.approx(42 / 55)
        assert row["icc1"] != pytest.approx(0.7567567568, abs=1e-3)  # not the mean-size ICC1
        assert row["icc2"] == pytest.approx(0.9032258065)
        assert (row["n_groups"], row["n_respondents"]) == (3, 9)
        assert (row["df_between"], row["df_within"]) == (2, 6)
        # R: F value 10.33, Pr(>F) 0.0114
        assert row["f"] == pytest.approx(31 / 3)
        assert row["p_value"] == pytest.approx(0.0114, abs=5e-5)


def test_icc1_from_independent_anova_mean_squares():
    # statsmodels OLS ANOVA and scipy's one-way F, computed independently of mognad
    data = _long([[v] * 5 for v in UNEQUAL], UNEQUAL_G)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallGroupWarning)
        out = icc1_icc2(data, codebook=CB, levels="category").iloc[0]
    y = pd.DataFrame({"y": (np.array(UNEQUAL) - 1) / 5 * 100, "g": UNEQUAL_G})
    table = sm.stats.anova_lm(smf.ols("y ~ C(g)", data=y).fit())
    msb, msw = table["mean_sq"].iloc[0], table["mean_sq"].iloc[1]
    sizes = y.groupby("g").size().to_numpy()
    n, g = sizes.sum(), len(sizes)
    k0 = (n - (sizes**2).sum() / n) / (g - 1)
    assert out["ms_between"] == pytest.approx(msb)
    assert out["ms_within"] == pytest.approx(msw)
    assert out["icc1"] == pytest.approx((msb - msw) / (msb + (k0 - 1) * msw))
    assert out["icc2"] == pytest.approx((msb - msw) / msb)
    f, p = stats.f_oneway(*[y.loc[y["g"] == lab, "y"] for lab in "ABC"])
    assert out["f"] == pytest.approx(f)
    assert out["p_value"] == pytest.approx(p)


def test_icc_equal_groups_match_r_multilevel():
    # R: y <- c(1,2,2,3, 3,4,4,5, 2,5,6,6); gg <- factor(rep(c("A","B","C"), each = 4))
    #    m <- aov(y ~ gg); ICC1(m) = 0.4957264957; ICC2(m) = 0.7972508591
    #    (Mean Sq 8.083 and 1.639)
    scores = pd.DataFrame({"round": 2024, "org_id": list("AAAABBBBCCCC"),
                           "respondent_id": [f"r{i}" for i in range(12)], "level": "total",
                           "name": "total", "score_pct": [1.0, 2, 2, 3, 3, 4, 4, 5, 2, 5, 6, 6]})
    out = icc1_icc2(scores, codebook=CB, min_group_size=4).iloc[0]
    assert out["icc1"] == pytest.approx(0.4957264957)
    assert out["icc2"] == pytest.approx(0.7972508591)
    assert out["ms_between"] == pytest.approx(97 / 12)
    assert out["k_adjusted"] == pytest.approx(4.0)
    assert pd.isna(out["warning"])


def test_icc_small_groups_are_warned_and_can_be_dropped():
    data = _long([[v] * 30 for v in UNEQUAL], UNEQUAL_G, items=ALL)
    with pytest.warns(SmallGroupWarning, match="fewer than 4 respondents"):
        out = icc1_icc2(data, codebook=CB, levels="total", min_group_size=4)
    row = out.iloc[0]
    assert row["n_small_groups"] == 2
    assert row["warning"] == "2 of 3 groups have fewer than 4 respondents (A, B; kept)"
    with pytest.warns(SmallGroupWarning):
        dropped = icc1_icc2(data, codebook=CB, levels="total", min_group_size=3,
                            drop_small=True).iloc[0]
    # B (2) left out: A {1,2,3}, C {4,5,6,5} on the 1-6 scale; MSW = (2 + 2) / 5 = 0.8
    assert dropped["n_groups"] == 2 and dropped["n_respondents"] == 7
    assert dropped["ms_within"] == pytest.approx(0.8 * 400)
    assert "left out" in dropped["warning"]


def test_icc_per_round_units_and_undefined_cases():
    data = pd.concat([_long([[v] * 5 for v in UNEQUAL], UNEQUAL_G, rnd=2023),
                      _long([[v] * 5 for v in UNEQUAL], ["A"] * 9, rnd=2024)])
    with pytest.warns(SmallGroupWarning):
        out = icc1_icc2(data, codebook=CB, levels="category")
    assert out["round"].tolist() == [2023, 2024]
    assert out.loc[1, "warning"] == "fewer than 2 groups: ICC undefined"
    assert pd.isna(out.loc[1, "icc1"])
    # units within organisations: group="unit", one analysis per organisation and round
    units = _long([[v] * 5 for v in UNEQUAL], ["1384"] * 9)
    units["unit"] = np.repeat(UNEQUAL_G, 5)
    with pytest.warns(SmallGroupWarning):
        by_unit = icc1_icc2(units, codebook=CB, group="unit", by=("org_id", "round"),
                            levels="category")
    assert by_unit["org_id"].tolist() == ["1384"]
    assert by_unit["icc1"].item() == pytest.approx(42 / 55)


def test_icc_respondent_needs_min_items_per_category():
    # the default codebook needs 3 answered items per category: a respondent with 2 is left out
    m = [[v] * 5 for v in UNEQUAL] + [[6, 6, None, None, None]]
    data = _long(m, UNEQUAL_G + ["A"])
    with pytest.warns(SmallGroupWarning):
        out = icc1_icc2(data, codebook=CB, levels="category").iloc[0]
    assert out["n_respondents"] == 9
    assert out["icc1"] == pytest.approx(42 / 55)
    # as in mognad.scoring, a dimension needs all its categories: only effektivitet is answered
    with pytest.warns(SmallGroupWarning):
        levels = icc1_icc2(data, codebook=CB)
    assert levels["level"].tolist() == ["category"]


# ------------------------------------------------------------------------------------- response
def test_response_rate_per_org_and_unit():
    resp = _long([[4], [5], [4], [3]], ["1", "1", "1", "2"], items=["q01"])
    resp["unit"] = ["X", "X", "Y", "Z"]
    resp = pd.concat([resp, resp.assign(item_id="q02")])  # many rows per respondent: count once
    inv = pd.DataFrame({"org_id": ["1", "1", "2", "3"], "round": 2024, "unit": ["X", "Y", "Z", "W"],
                        "invited": pd.array([4, 2, None, 5], dtype="Int64")})
    out = response_rate(resp, inv)
    # org 1: 3 of 4 + 2 = 6 -> 0.5; org 2: invited unknown -> NA; org 3: nobody answered -> 0
    assert out["org_id"].tolist() == ["1", "2", "3"]
    assert out["n_respondents"].tolist() == [3, 1, 0]
    assert out["response_rate"].tolist()[0] == 0.5
    assert pd.isna(out["response_rate"].iloc[1]) and pd.isna(out["n_invited"].iloc[1])
    assert out["response_rate"].iloc[2] == 0.0
    assert out["warning"].iloc[1] == "invitations unknown"
    per_unit = response_rate(resp, inv, by=("org_id", "round", "unit"))
    assert per_unit.set_index("unit")["response_rate"].to_dict()["X"] == 0.5


def test_response_rate_flags_more_respondents_than_invited():
    resp = _long([[4], [5], [4]], ["1"] * 3, items=["q01"])
    inv = pd.DataFrame({"org_id": ["1"], "round": [2024], "unit": [None], "invited": [2]})
    out = response_rate(resp, inv)
    assert out["response_rate"].item() == pytest.approx(1.5)
    assert out["warning"].item() == "more respondents than invited"
    with pytest.raises(MognadError, match="missing column"):
        response_rate(resp, inv.drop(columns="invited"))
