"""Tests of mognad.longitudinal: the mixed model against lme4, change per organisation, and the
recovery of the synthetic study's planted national trend, 2021 dip, programme effect and
reorganisation effect (national profile, synthesised once for this module)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mognad import longitudinal as lg
from mognad.errors import MognadError
from mognad.scoring import to_long
from mognad.synth import synthesize

DATA = Path(__file__).parent / "data"
NATIONAL_SEED = 20240501


# ------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def national(tmp_path_factory):
    """The national synthetic study as a study-like object (no store: ingest would take ~15 s)
    plus its truth. The functions accept any object with responses/organisations/events."""
    out = tmp_path_factory.mktemp("national") / "data"
    synthesize(out, seed=NATIONAL_SEED, profile="national")
    inputs = out / "inputs"
    dtypes = {"org_id": str, "respondent_id": str, "unit": str, "role": str}
    wide = pd.concat([pd.read_csv(f, dtype=dtypes) for f in sorted(inputs.glob("responses_*.csv"))],
                     ignore_index=True)
    study = SimpleNamespace(
        responses=to_long(wide),
        organisations=pd.read_csv(inputs / "organisations.csv", dtype=str),
        events=pd.read_csv(inputs / "events.csv", dtype={"org_id": str}, parse_dates=["date"]),
        codebook=None, is_synthetic=True)
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    org_rounds = pd.read_csv(out / "truth_org_rounds.csv", dtype={"org_id": str})
    return SimpleNamespace(study=study, truth=truth, org_rounds=org_rounds)


@pytest.fixture(scope="module")
def national_trend_both(national):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trend = lg.national_trend(national.study, panel="both")
    return trend, [w for w in caught if issubclass(w.category, lg.CompositionWarning)]


def _wide(rows: dict[str, list], **cols) -> pd.DataFrame:
    n = len(next(iter(rows.values())))
    return pd.DataFrame({**{k: [v] * n if not isinstance(v, list) else v for k, v in cols.items()},
                         **rows})


# ------------------------------------------------------------------------------ mixed model vs lme4
def test_fit_mixed_sleepstudy_reml_matches_lme4():
    data = pd.read_csv(DATA / "sleepstudy.csv", dtype={"Subject": str})
    fit = lg.fit_mixed(data, "Reaction ~ Days", groups="Subject")
    fixed = fit.fixed.set_index("term")
    # lmer(Reaction ~ Days + (1 | Subject), sleepstudy, REML = TRUE)  (r_reference_lme4.out)
    assert fixed.loc["Intercept", "estimate"] == pytest.approx(251.40510485, abs=1e-3)
    assert fixed.loc["Intercept", "se"] == pytest.approx(9.7467162692, abs=1e-3)
    assert fixed.loc["Days", "estimate"] == pytest.approx(10.46728596, abs=1e-3)
    assert fixed.loc["Days", "se"] == pytest.approx(0.8042214289, abs=1e-3)
    var = fit.variances.set_index("component")["variance"]
    # as.data.frame(VarCorr(.))$vcov: Subject 1378.1785138, Residual 960.4565786
    assert var["Subject"] == pytest.approx(1378.1785138, rel=1e-4)
    assert var["residual"] == pytest.approx(960.4565786, rel=1e-4)


def test_fit_mixed_sleepstudy_ml_matches_lme4():
    data = pd.read_csv(DATA / "sleepstudy.csv", dtype={"Subject": str})
    fixed = lg.fit_mixed(data, "Reaction ~ Days", groups="Subject", reml=False).fixed
    fixed = fixed.set_index("term")
    # lmer(Reaction ~ Days + (1 | Subject), sleepstudy, REML = FALSE)
    assert fixed.loc["Intercept", "se"] == pytest.approx(9.5061851929, abs=1e-3)
    assert fixed.loc["Days", "se"] == pytest.approx(0.8017354217, abs=1e-3)


def test_fit_mixed_nested_variance_component_matches_lme4():
    """Organisation / organisation-round nesting, as in national_trend: lme4's Pastes."""
    data = pd.read_csv(DATA / "pastes.csv")
    fit = lg.fit_mixed(data, "strength ~ 1", groups="batch", vc={"cask": "0 + C(cask)"})
    fixed = fit.fixed.set_index("term")
    # lmer(strength ~ 1 + (1 | batch/cask), Pastes, REML = TRUE)
    assert fixed.loc["Intercept", "estimate"] == pytest.approx(60.05333333, abs=1e-3)
    assert fixed.loc["Intercept", "se"] == pytest.approx(0.6768702151, abs=1e-3)
    var = fit.variances.set_index("component")["variance"]
    # cask:batch 8.4336659313, batch 1.6573109118, Residual 0.6779999497
    assert var["cask"] == pytest.approx(8.4336659313, rel=1e-3)
    assert var["batch"] == pytest.approx(1.6573109118, rel=2e-3)
    assert var["residual"] == pytest.approx(0.6779999497, rel=1e-3)



def test_fit_nested_means_matches_lme4_on_pastes():
    """The exact cell-means fit of national_trend's model: lme4's Pastes (batch/cask)."""
    data = pd.read_csv(DATA / "pastes.csv")
    fit = lg.fit_nested_means(data["strength"], pd.DataFrame({"Intercept": np.ones(len(data))}),
                              groups=data["batch"], cells=data["cask"])
    fixed = fit.fixed.set_index("term")
    # lmer(strength ~ 1 + (1 | batch/cask), Pastes, REML = TRUE)  (r_reference_lme4.out)
    assert fixed.loc["Intercept", "estimate"] == pytest.approx(60.05333333, abs=1e-6)
    assert fixed.loc["Intercept", "se"] == pytest.approx(0.6768702151, rel=1e-5)
    var = fit.variances.set_index("component")["variance"]
    assert var["cell"] == pytest.approx(8.4336659313, rel=1e-5)
    assert var["group"] == pytest.approx(1.6573109118, rel=1e-5)
    assert var["residual"] == pytest.approx(0.6779999497, rel=1e-5)


def test_fit_nested_means_equals_the_fit_on_every_observation():
    """Covariates constant within cells, unequal cell sizes, a variance near 0: the same
    estimates as statsmodels' MixedLM on all observations (an independent implementation)."""
    rng = np.random.default_rng(11)
    rows = []
    for g in range(40):
        kind = "b" if g % 3 else "a"
        for r in range(4):
            if rng.random() < 0.2:
                continue  # unbalanced: not every group in every round
            n = int(rng.integers(1, 25))
            level = 50 + 3 * r + (4 if kind == "b" else 0) + rng.normal(0, 5, 1)[0] * (g % 7 > 0)
            rows += [{"g": f"o{g}", "round": r, "kind": kind, "y": v}
                     for v in level + rng.normal(0, 2, 1)[0] + rng.normal(0, 10, n)]
    data = pd.DataFrame(rows)
    full = lg.fit_mixed(data, "y ~ C(round) + C(kind)", groups="g", vc={"gr": "0 + C(round)"})
    X = pd.DataFrame(full.result.model.exog, columns=full.result.model.exog_names)
    fast = lg.fit_nested_means(data["y"], X, groups=data["g"], cells=data["round"])
    # statsmodels' own restricted likelihood at our estimates is at least its optimum (its
    # optimisers stop a little short here), and the estimates agree closely
    from statsmodels.regression.mixed_linear_model import MixedLMParams

    var = fast.variances.set_index("component")["variance"]
    at_ours = MixedLMParams.from_components(
        fe_params=fast.fixed["estimate"].to_numpy(),
        cov_re=np.array([[var["group"] / var["residual"]]]),
        vcomp=np.array([var["cell"] / var["residual"]]))
    assert full.result.model.loglike(at_ours, profile_fe=False) >= full.result.llf - 1e-7
    a, b = fast.fixed.set_index("term"), full.fixed.set_index("term")
    assert a["estimate"].to_numpy() == pytest.approx(b["estimate"].to_numpy(), abs=1e-3)
    assert a["se"].to_numpy() == pytest.approx(b["se"].to_numpy(), rel=1e-3)
    va = fast.variances["variance"].to_numpy()
    vb = full.variances["variance"].to_numpy()
    assert va == pytest.approx(vb, rel=1e-2)
    with pytest.raises(lg.MognadError, match="constant within cells"):
        lg.fit_nested_means(data["y"], X.assign(x=rng.normal(size=len(X))), groups=data["g"],
                            cells=data["round"])

# ------------------------------------------------------------------------------ respondent scores
def test_respondent_scores_follow_the_codebook_rules():
    # r1 answers q01-q02 only in effektivitet (q01-q05): 2 < min 3 items -> no category score,
    # so no formaga and no total; r2 answers everything with 4 -> 60 % everywhere.
    items = {f"q{i:02d}": [6 if i <= 2 else (None if i <= 5 else 3), 4] for i in range(1, 31)}
    wide = _wide(items, org_id="0114", round=2024, respondent_id=["r1", "r2"])
    rs = lg.respondent_scores(to_long(wide)).set_index(["respondent_id", "level", "name"])
    r1 = rs.loc["r1"]["score_pct"]
    assert ("category", "effektivitet") not in r1.index
    assert ("dimension", "formaga") not in r1.index and ("total", "total") not in r1.index
    assert r1[("category", "innovation")] == pytest.approx(40.0)  # (3 - 1) / 5 * 100
    assert r1[("dimension", "arv")] == pytest.approx(40.0)
    assert rs.loc["r2"]["score_pct"].eq(60.0).all()
    assert len(rs.loc["r2"]) == 1 + 2 + 6


def test_respondent_scores_match_a_pandas_computation(small_study):
    # by hand with pandas: a respondent's category score is the mean of the answered items of
    # the category (equal item weights in the default codebook) when >= 3 of 5 are answered
    resp = small_study.responses_for(round=2024, org_id="R12")
    rs = lg.respondent_scores(resp, levels="category").set_index(["respondent_id", "name"])
    items = small_study.codebook.items[["item_id", "category"]]
    r = resp.merge(items, on="item_id").dropna(subset=["value"])
    per = r.groupby(["respondent_id", "category"])["value"].agg(["mean", "size"])
    per = per[per["size"] >= 3]
    hand = ((per["mean"] - 1) / 5 * 100).rename_axis(["respondent_id", "name"])
    assert len(rs) == len(hand) > 50
    assert rs["score_pct"].reindex(hand.index).to_numpy() == pytest.approx(hand.to_numpy(),
                                                                           abs=1e-9)
    # the item level is the answer rescaled
    items_rs = lg.respondent_scores(resp, levels="item")
    answered = resp.dropna(subset=["value"])
    assert len(items_rs) == len(answered)
    assert sorted(items_rs["score_pct"].unique()) == [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]


# ------------------------------------------------------------------------------ change
def test_change_paired_t_interval_by_hand():
    # same three named respondents: pomp 20, 40, 60 -> 40, 60, 60; differences 20, 20, 0:
    # mean 13.333, sd 11.547, se 6.667, t(0.975, 2) = 4.302653 -> 13.333 +/- 28.684
    wide = _wide({f"q{i:02d}": [2, 3, 4, 3, 4, 4] for i in range(1, 31)}, org_id="0114",
                 round=[2023] * 3 + [2024] * 3, respondent_id=["a", "b", "c"] * 2)
    out = lg.change(to_long(wide), org_id="0114", from_round=2023, to_round=2024).iloc[0]
    assert out["design"] == "paired" and out["n_paired"] == 3
    assert out["change"] == pytest.approx(13.3333, abs=1e-3)
    assert out["ci_low"] == pytest.approx(13.3333 - 28.6844, abs=1e-3)
    assert out["ci_high"] == pytest.approx(13.3333 + 28.6844, abs=1e-3)


def test_change_independent_t_and_bootstrap_agree_roughly():
    # different respondents: 40, 60, 60, 80 then 60, 80, 80, 100 (pomp) -> change +20.
    # Welch by hand: both variances 266.67/4 = 66.67, se = 11.547, df = 6, t = 2.446912
    wide = _wide({f"q{i:02d}": [3, 4, 4, 5, 4, 5, 5, 6] for i in range(1, 31)}, org_id="0114",
                 round=[2023] * 4 + [2024] * 4, respondent_id=[f"r{k}" for k in range(8)])
    long = to_long(wide)
    t = lg.change(long, org_id="0114", from_round=2023, to_round=2024, method="t").iloc[0]
    assert t["design"] == "independent" and t["n_paired"] == 0
    assert t["change"] == pytest.approx(20.0)
    assert t["ci_low"] == pytest.approx(20 - 2.446912 * 11.547005, abs=1e-3)
    boot = lg.change(long, org_id="0114", from_round=2023, to_round=2024, n_boot=2000,
                     method="bootstrap").iloc[0]
    assert boot["change"] == pytest.approx(20.0)
    assert boot["ci_low"] < 20 < boot["ci_high"]
    assert (boot["ci_high"] - boot["ci_low"]) == pytest.approx(t["ci_high"] - t["ci_low"], rel=0.5)
    again = lg.change(long, org_id="0114", from_round=2023, to_round=2024, n_boot=2000,
                      method="bootstrap").iloc[0]
    default = lg.change(long, org_id="0114", from_round=2023, to_round=2024).iloc[0]
    assert default["ci_low"] == t["ci_low"]  # the t-interval is the default
    assert again["ci_low"] == boot["ci_low"]  # same seed, same numbers


def test_change_rejects_a_missing_round(small_study):
    with pytest.raises(MognadError, match="no responses in round 2019"):
        lg.change(small_study, org_id="B001", from_round=2019, to_round=2024)


def test_change_decomposition_adds_up(small_study):
    dec = lg.change_decomposition(small_study, org_id="R12", n_boot=200)
    total = dec.loc[dec["level"] == "total", "change"].iloc[0]
    cats = dec.loc[dec["level"] == "category", "contribution"].sum()
    dims = dec.loc[dec["level"] == "dimension", "contribution"].sum()
    assert cats == pytest.approx(total, abs=1e-9) and dims == pytest.approx(total, abs=1e-9)


def test_largest_movers_are_disclosure_safe(small_study):
    movers = lg.largest_movers(small_study, to_round=2024, min_n=10, k=3, n_boot=200)
    assert len(movers) > 0
    assert (movers[["n_from", "n_to"]] >= 10).all().all()
    assert movers.loc[movers["direction"] == "up", "change"].gt(0).all()
    # a category's interval by hand: Welch's t on the respondents' category scores (pandas and
    # scipy, not mognad): mean of the answered items per respondent, >= 3 of 5 answered
    cat = lg.largest_movers(small_study, to_round=2024, min_n=10, k=1, level="category",
                            name="innovation").iloc[0]
    items = small_study.codebook.items
    inno = items.loc[items["category"] == "innovation", "item_id"]
    resp = small_study.responses_for(org_id=cat["org_id"], round=[2023, 2024])
    resp = resp[resp["item_id"].isin(inno)].dropna(subset=["value"])
    per = resp.groupby(["round", "respondent_id"])["value"].agg(["mean", "size"])
    per = per[per["size"] >= 3]
    pct = {r: ((per.loc[r, "mean"] - 1) / 5 * 100).to_numpy() for r in (2023, 2024)}
    va, vb = (pct[r].var(ddof=1) / pct[r].size for r in (2023, 2024))
    df = (va + vb) ** 2 / (va**2 / (pct[2023].size - 1) + vb**2 / (pct[2024].size - 1))
    diff = pct[2024].mean() - pct[2023].mean()
    half = stats.t.ppf(0.975, df) * np.sqrt(va + vb)
    assert cat["change"] == pytest.approx(diff, abs=1e-9)
    assert (cat["ci_low"], cat["ci_high"]) == pytest.approx((diff - half, diff + half), abs=1e-9)


# ------------------------------------------------------------------------------ recovery (national)
def test_national_trend_recovers_the_planted_trend_and_dip(national, national_trend_both):
    trend, _ = national_trend_both
    truth, tor = national.truth, national.org_rounds
    al = trend[trend["panel"] == "all"].set_index("round")
    ba = trend[trend["panel"] == "balanced"].set_index("round")

    # 1. The model's round-to-round change is a within-organisation change; its truth is the mean
    #    true change of the organisations taking part in both rounds (truth_org_rounds.csv).
    wide = tor.pivot(index="org_id", columns="round", values="total")
    for r in range(2020, 2025):
        planted = float((wide[r] - wide[r - 1]).mean())
        row = al.loc[r]
        print(f"change {r - 1}->{r}: planted {planted:+.2f} pp, estimated {row['change']:+.2f} "
              f"({row['change_ci_low']:+.2f}, {row['change_ci_high']:+.2f})")
        assert row["change_ci_low"] <= planted <= row["change_ci_high"], (
            f"{r}: planted within-organisation change {planted:.2f} pp outside the estimate "
            f"{row['change']:.2f} ({row['change_ci_low']:.2f}, {row['change_ci_high']:.2f})")

    # 2. The 2021 dip: planted -0.08 latent = dip_pp_reference at the reference organisation.
    dip = truth["national_trend"]["dip_pp_reference"]
    row = al.loc[truth["national_trend"]["dip_round"]]
    print(f"2021 dip: planted {dip:+.2f} pp (reference organisation), estimated "
          f"{row['change']:+.2f} ({row['change_ci_low']:+.2f}, {row['change_ci_high']:+.2f})")
    assert row["change_ci_low"] <= dip <= row["change_ci_high"]
    assert row["change_ci_high"] < 0, "the dip should be detected"

    # 3. Balanced panel level per round: truth = mean true total of the panel organisations.
    panel = tor.groupby("org_id")["round"].nunique()
    panel_truth = tor[tor["org_id"].isin(panel.index[panel == 6])].groupby("round")["total"].mean()
    assert int(ba["n_orgs"].iloc[0]) == int((panel == 6).sum())
    for r, planted in panel_truth.items():
        est = ba.loc[r]
        print(f"balanced {r}: planted {planted:.2f} %, estimated {est['estimate']:.2f} "
              f"({est['ci_low']:.2f}, {est['ci_high']:.2f})")
        assert est["ci_low"] <= planted <= est["ci_high"]

    # 4. The participants' plain mean per round: truth = national_true_mean_total_pct.
    for r, planted in truth["national_true_mean_total_pct"].items():
        est = al.loc[int(r)]
        print(f"participants {r}: planted {planted:.2f} %, estimated "
              f"{est['participants_mean']:.2f} ({est['participants_ci_low']:.2f}, "
              f"{est['participants_ci_high']:.2f})")
        assert est["participants_ci_low"] <= planted <= est["participants_ci_high"]
        assert est["n_orgs"] == truth["participating_by_round"][r]


def test_national_trend_warns_when_composition_drives_the_change(national_trend_both):
    # Early participants are more capable (planted): in 2021 the 35 new, less mature
    # organisations pull the participants' mean down more than the within-organisation change.
    trend, caught = national_trend_both
    flagged = trend[trend["composition_flag"]]
    print(flagged[["panel", "round", "change", "note"]].to_string())
    assert 2021 in set(flagged["round"])
    assert caught and "2021" in str(caught[0].message)
    assert flagged["note"].str.len().gt(0).all()


def test_programme_effect_recovers_the_planted_att(national):
    eff = lg.programme_effect(national.study).iloc[0]
    planted = national.truth["programme"]["att_total_pp"]  # realised pp on participants, >= 2022
    print(f"programme: planted ATT {planted:.2f} pp, estimated {eff['estimate']:.2f} "
          f"({eff['ci_low']:.2f}, {eff['ci_high']:.2f}); pre-trend p {eff['pretrend_p']:.3f}")
    assert eff["start_round"] == national.truth["programme"]["effect_first_round"]
    assert eff["ci_low"] <= planted <= eff["ci_high"]
    assert not eff["flag"], "parallel pre-trends were planted"


def test_pre_post_change_recovers_the_reorganisation(national):
    reorg = national.truth["reorganisation"]
    org = reorg["org_id"]
    ev = lg.pre_post_change(national.study, org_id=org).set_index("name")
    assert (ev["design"] == "pre_post").all()
    n = national.org_rounds.set_index(["org_id", "round"])["n_respondents"]
    for cat in ("effektivitet", "innovation", "balansering", "infrastruktur", "information",
                "forvaltning"):
        by_round = reorg["realised_pp_by_round"].get(cat)
        # like with like: the pooled "after" mean weights each round by its respondents
        planted = 0.0 if by_round is None else float(np.average(
            [v for v in by_round.values()], weights=[n[(org, int(r))] for r in by_round]))
        row = ev.loc[cat]
        print(f"reorganisation {cat}: planted {planted:+.2f} pp, estimated net "
              f"{row['net_change']:+.2f} ({row['net_ci_low']:+.2f}, {row['net_ci_high']:+.2f})")
        assert row["net_ci_low"] <= planted <= row["net_ci_high"], cat
    assert ev.loc["innovation", "net_ci_low"] > 0 and ev.loc["balansering", "net_ci_low"] > 0
    assert (ev["rounds_before"] == "2019").all()  # the 2020 round (event year) is left out
    # the organisation-round SD from the comparison organisations: planted d ~ N(0, 0.08)
    # latent, one latent unit about 23 pp -> about 1.8 pp
    assert ev["org_round_sd"].between(1.0, 3.0).all()


# ------------------------------------------------------------------------------ pre-trend
def _did_data(pre_slope_gap: float, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for o in range(40):
        part = o < 20
        level = 45 + rng.normal(0, 5)
        for r in range(2017, 2025):
            y = level + 1.0 * (r - 2017) + (pre_slope_gap * (r - 2017) if part else 0.0)
            if part and r >= 2022:
                y += 4.0 - pre_slope_gap * (r - 2021)  # the steeper trend stops at the start
            rows.append({"org_id": f"{o:04d}", "round": r, "score_pct": y + rng.normal(0, 1.5)})
    return pd.DataFrame(rows)


def test_pretrend_flags_a_planted_violation():
    participants = [f"{o:04d}" for o in range(20)]
    bad = lg.programme_effect(_did_data(1.5), participants=participants, start_round=2022)
    print(bad[["estimate", "pretrend_p", "pretrend_slope", "flag"]].to_string())
    assert bool(bad["flag"].iloc[0]) and bad["pretrend_p"].iloc[0] < 0.05
    # planted slope difference 1.5 pp per round before the start
    assert bad["pretrend_slope_low"].iloc[0] <= 1.5 <= bad["pretrend_slope_high"].iloc[0]
    assert "pre-trends differ" in bad["note"].iloc[0]
    good = lg.programme_effect(_did_data(0.0), participants=participants, start_round=2022)
    assert not bool(good["flag"].iloc[0])
    assert good["ci_low"].iloc[0] <= 4.0 <= good["ci_high"].iloc[0]  # planted effect 4 pp


def test_programme_effect_needs_rounds_before_the_start():
    data = _did_data(0.0)
    with pytest.raises(MognadError, match="before and from start_round"):
        lg.programme_effect(data, participants=["0000", "0001"], start_round=2017)


def _r_did_reference() -> dict[str, float]:
    """tests/data/r_reference_did.out (sandwich::vcovCL, see r_reference_did.R)."""
    text = (Path(__file__).parent / "data" / "r_reference_did.out").read_text()
    return {k: float(v) for k, v in (p.split("=") for p in text.split())}


def test_programme_effect_clustered_se_nested_convention_matches_r():
    ref = _r_did_reference()
    panel = pd.read_csv(Path(__file__).parent / "data" / "did_panel.csv", dtype={"org_id": str})
    participants = [f"{o:04d}" for o in range(20)]
    nested = lg.programme_effect(panel, participants=participants, start_round=2022).iloc[0]
    full = lg.programme_effect(panel, participants=participants, start_round=2022,
                               ssc="full").iloc[0]
    assert nested["estimate"] == pytest.approx(ref["estimate"], abs=1e-8)
    assert nested["se"] == pytest.approx(ref["se_nested"], abs=1e-8)
    assert full["se"] == pytest.approx(ref["se_full_sandwich_HC1"], abs=1e-8)
    assert (nested["ssc"], full["ssc"], nested["design"]) == ("nested", "full",
                                                             "difference_in_differences")
    # the interval is estimate +/- t(G - 1) * se, G = 40 organisations
    half = 2.0226909200 * ref["se_nested"]  # qt(0.975, 39)
    assert (nested["ci_low"], nested["ci_high"]) == pytest.approx(
        (ref["estimate"] - half, ref["estimate"] + half), abs=1e-6)


def test_programme_effect_saturated_pretrend_gives_nan_and_a_note():
    # 2 participants (A, B) and 2 comparison organisations; before the start only 5
    # organisation-rounds for the 6 parameters of the pre-period slope model
    cells = {"A": (2020, 2021, 2022), "B": (2021, 2022), "C": (2020, 2022), "D": (2021, 2022)}
    rows = [{"org_id": o, "round": r, "score_pct": 40.0 + 2 * (r - 2020) + k + (3 if o in "AB"
             and r >= 2022 else 0)} for k, (o, rs) in enumerate(cells.items()) for r in rs]
    rows[0]["score_pct"] += 0.7  # some residual noise in the main model
    out = lg.programme_effect(pd.DataFrame(rows), participants=["A", "B"], start_round=2022)
    row = out.iloc[0]
    assert np.isfinite(row["estimate"])
    assert np.isnan(row["pretrend_slope_low"]) and np.isnan(row["pretrend_slope_high"])
    assert "not estimable" in row["note"]


def test_programme_effect_flags_and_can_exclude_comparison_events(small_study):
    events = small_study.events
    own = set(events.loc[~events["kind"].isin(["programme_start", "programme_end"]), "org_id"])
    flagged = lg.programme_effect(small_study).iloc[0]
    listed = set(flagged["comparison_with_events"].split())
    assert listed and listed <= own
    assert flagged["n_comparison_with_events"] == len(listed)
    assert "events of their own" in flagged["note"]
    clean = lg.programme_effect(small_study, exclude_events=True).iloc[0]
    assert clean["n_comparison"] == flagged["n_comparison"] - len(listed)
    assert clean["n_comparison_with_events"] == 0 and clean["comparison_with_events"] == ""


# ------------------------------------------------------------------------------ small study
def test_national_trend_panels_on_the_small_study(small_study):
    trend = lg.national_trend(small_study, panel="both", warn=False)
    assert set(trend["panel"]) == {"all", "balanced"}
    assert trend.groupby("panel")["round"].nunique().eq(len(small_study.rounds)).all()
    bal = trend[trend["panel"] == "balanced"]
    assert bal["n_orgs"].nunique() == 1  # the same organisations every round
    assert (trend["ci_low"] < trend["estimate"]).all() and (trend["estimate"] < trend["ci_high"]).all()
    with pytest.raises(MognadError, match="panel must be one of"):
        lg.national_trend(small_study, panel="panel")


def test_pre_post_change_without_event(small_study):
    with pytest.raises(MognadError, match="no reorganisation event for B001"):
        lg.pre_post_change(small_study, org_id="B001")
    empty = lg.pre_post_change(small_study, org_id="B001", require=False)
    assert empty.empty and "net_change" in empty.columns


def test_target_path_and_chart():
    path = lg.target_path(start=(2021, 48.0), end=(2023, 55.0))
    assert path["round"].tolist() == [2021, 2022, 2023]
    assert path["target"].tolist() == pytest.approx([48.0, 51.5, 55.0])
    assert lg.target_path(rounds=[2020, 2022])["round"].tolist() == [2022]
    with pytest.raises(MognadError):
        lg.target_path(start=(2023, 48.0), end=(2021, 55.0))
