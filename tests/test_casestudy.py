"""Case studies: transformation around an event, training evaluation, internal comparison.

Planted truths come from ``truth.json`` of the small synthetic study (docs/synthetic_study.md):
``reorganisation`` (innovation/balansering effects from 2021, the region's budget step and
shares), ``training`` (expected pre/post change per category for the participants with both
phases) and ``company`` (true department totals, the 3-respondent department).
"""

from __future__ import annotations

import json
import math
import shutil
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mognad import casestudy as cs
from mognad import governance as gv
from mognad.errors import MognadError
from mognad.io.ingest import ingest
from mognad.io.store import open_study
from mognad.present import cases as show
from mognad.views import cases as views

CASE_FILES = ("budgets.csv", "requests.csv", "training.csv")
# the transformation and training reports run in tests/test_report_escaping.py
NOTEBOOKS = ("internal_comparison",)


@pytest.fixture(scope="module")
def case_study_path(small_data, small_study_path, tmp_path_factory):
    """The small study (survey inputs) plus the three case-study files (treat as read-only)."""
    dest = tmp_path_factory.mktemp("cases") / "study"
    shutil.copytree(small_study_path, dest)
    ingest([small_data / "cases" / f for f in CASE_FILES], study=dest)
    return dest


@pytest.fixture(scope="module")
def study(case_study_path):
    return open_study(case_study_path)


@pytest.fixture(scope="module")
def truth(small_data):
    return json.loads((small_data / "truth.json").read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- transformation
def test_difference_in_differences_recovers_reorganisation(study, truth):
    reorg = truth["reorganisation"]
    event = views.find_event(study, "reorganisation")
    assert event["org_id"] == reorg["org_id"]
    assert event["date"] == pd.Timestamp(reorg["date"])
    eff = cs.difference_in_differences(study, event["org_id"],
                                       event_date=event["date"]).set_index("name")
    assert (eff["design"] == "difference_in_differences").all()
    assert (eff["n_before"] == 2).all() and (eff["n_after"] == 4).all()  # 2019-20 vs 2021-24
    for category, by_round in reorg["realised_pp_by_round"].items():
        planted = float(np.mean(list(by_round.values())))
        row = eff.loc[category]
        assert row["ci_low"] <= planted <= row["ci_high"], (
            f"{category}: planted +{planted:.1f} pp (realised, mean over 2021-2024), "
            f"estimated {row['change']:+.1f} [{row['ci_low']:.1f}, {row['ci_high']:.1f}]")
    # no planted effect on effektivitet: its interval covers 0
    row = eff.loc["effektivitet"]
    assert row["ci_low"] <= 0 <= row["ci_high"], row.to_dict()


def test_round_effects_are_composition_free():
    # two organisations with constant levels, one missing in round 2: no spurious round effect
    scores = pd.DataFrame({"org_id": ["a", "a", "a", "b", "b"],
                           "round": [1, 2, 3, 1, 3],
                           "score_pct": [40.0, 43.0, 46.0, 60.0, 66.0]})
    effects = cs._round_effects(scores)
    # hand: a_o + g_r with g_1 = 0 fits exactly: g_2 = 3, g_3 = 6
    assert effects.to_numpy() == pytest.approx([0.0, 3.0, 6.0])


def test_category_trajectory(study, truth, small_data):
    org = truth["reorganisation"]["org_id"]
    tr = cs.category_trajectory(study, org, event_date=truth["reorganisation"]["date"],
                                n_boot=200)
    assert set(tr["round"]) == set(range(2019, 2025))
    # the intervals against the generator's true organisation-round category scores: 36
    # intervals at 95 %, about 34 expected to cover; fewer than 31 would be 1 % improbable
    true = pd.read_csv(small_data / "truth_org_rounds.csv", dtype={"org_id": str})
    true = true[true["org_id"] == org].melt(id_vars="round", value_vars=list(
        study.codebook.categories["category"]), var_name="name", value_name="truth")
    est = tr.merge(true, on=["round", "name"], validate="one_to_one")
    assert len(est) == 36
    covered = ((est["ci_low"] <= est["truth"]) & (est["truth"] <= est["ci_high"])).sum()
    assert covered >= 31, est
    assert tr.loc[tr["round"] == 2021, "relative_round"].eq(1).all()
    assert (tr["n_comparison"] >= 1).all()  # other regions without events


def test_budget_trend_recovers_step_and_shares(study, truth):
    b = truth["reorganisation"]["budgets"]
    budgets = gv.load_budgets(study)
    trend = cs.budget_trend(budgets, org_id=truth["reorganisation"]["org_id"],
                            first_year=b["step_from_year"])
    assert trend["step_ci_low"] <= b["step_factor"] <= trend["step_ci_high"], (
        f"planted step x{b['step_factor']}, estimated x{trend['step']:.3f} "
        f"[{trend['step_ci_low']:.3f}, {trend['step_ci_high']:.3f}]")
    dev = {k: b[k]["vidareutveckling"] + b[k]["nyutveckling"]
           for k in ("shares_before", "shares_after")}
    planted = dev["shares_after"] - dev["shares_before"]
    row = trend["share_change"]
    assert row["ci_low"] <= planted <= row["ci_high"], (
        f"planted development share change {planted:+.3f}, estimated {row['change']:+.3f} "
        f"[{row['ci_low']:+.3f}, {row['ci_high']:+.3f}]")


def test_initiative_shares(study, truth):
    shares = cs.initiative_shares(gv.load_requests(study), by=("org_id",))
    for org, g in truth["governance"].items():
        for measure, key in (("decentral", "owner_verksamhet_share"),
                             ("strategic", "strategic_share")):
            row = shares[(shares["org_id"] == org) & (shares["measure"] == measure)].iloc[0]
            planted = g["requests"][key]
            assert row["ci_low"] <= planted <= row["ci_high"], (
                f"{org} {measure}: planted {planted}, estimated {row['share']:.3f} "
                f"[{row['ci_low']:.3f}, {row['ci_high']:.3f}]")
    # Wilson by hand for 8 of 10: (p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)
    z, p, n = stats.norm.ppf(0.975), 0.8, 10
    centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    lo, hi = cs.wilson_interval([8], [10])
    assert (lo[0], hi[0]) == pytest.approx(((centre - half) / (1 + z * z / n),
                                            (centre + half) / (1 + z * z / n)))


def test_transformation_uses_only_the_organisations_own_data(study, truth):
    """The region has budgets but no request log: its own budget trend is shown, and for
    initiatives the report says there are none instead of showing the municipalities' logs."""
    region = truth["reorganisation"]["org_id"]
    case = views.transformation_case(study, region, n_boot=50)
    assert case.org_id == region
    assert case.trend is not None and set(case.trend["table"]["year"]) == set(
        gv.load_budgets(study, org_id=region)["year"])
    assert case.requests.empty and case.shares.empty
    text = "\n".join(str(o.data) for o in show.initiatives_section(case, "sv"))
    assert "ingen logg över utvecklingsinitiativ" in text
    assert not any(n in text for n in ("Kustvik", "Norrsund"))
    own = views.transformation_case(study, "9116", event_kind="funding_change", n_boot=50)
    assert set(own.shares["org_id"]) == {"9116"}


# --------------------------------------------------------------------------- training
def test_training_effect_recovers_planted(study, truth):
    info, training = views.course_info(study)
    t = truth["training"]
    assert info["org_id"] == t["org_id"]
    assert (info["n"], info["n_pairs"]) == (t["n_participants"], t["n_with_post"])
    eff = cs.training_effects(training, codebook=study.codebook).set_index("name")
    change = t["expected_change_pp"]
    cats = study.codebook.categories
    planted = {d: float(np.mean([change[c] for c in cats.loc[cats["dimension"] == d,
                                                               "category"]]))
               for d in cats["dimension"].unique()}
    planted["total"] = float(np.mean(list(planted.values())))  # equal weights
    for name, value in planted.items():
        row = eff.loc[name]
        assert row["n_pairs"] == t["n_with_post"]
        assert row["ci_low"] <= value <= row["ci_high"], (
            f"{name}: planted expected change {value:+.2f} pp, estimated "
            f"{row['change']:+.2f} [{row['ci_low']:.2f}, {row['ci_high']:.2f}]")
    # capability (+0.50 latent) clearly larger than legacy (+0.15)
    assert eff.loc["formaga", "d_z_ci_low"] > eff.loc["arv", "d_z"]


def test_dz_interval():
    # the bounds are where the noncentral t puts the observed t at 97.5 % / 2.5 %
    d, n = 0.5, 20
    lo, hi = cs._dz_interval(d, n, 0.95)
    t = d * math.sqrt(n)
    assert stats.nct.cdf(t, n - 1, lo * math.sqrt(n)) == pytest.approx(0.975, abs=1e-6)
    assert stats.nct.cdf(t, n - 1, hi * math.sqrt(n)) == pytest.approx(0.025, abs=1e-6)
    # large n: the normal approximation se = sqrt(1/n + d²/(2n)) (Hedges & Olkin 1985)
    n = 2000
    lo, hi = cs._dz_interval(d, n, 0.95)
    se = math.sqrt(1 / n + d * d / (2 * n))
    assert (lo, hi) == pytest.approx((d - 1.96 * se, d + 1.96 * se), abs=0.005)


def test_training_by_function_under_disclosure_control(study):
    _info, training = views.course_info(study)
    pairs = training.groupby("participant")["phase"].nunique().eq(2)
    functions = training.drop_duplicates("participant").set_index("participant")["function"]
    n_by_function = functions[pairs[pairs].index].value_counts()
    raw = cs.training_effects(training, codebook=study.codebook, levels=["total"],
                              by="function", k_min=5)
    assert (raw["n_pairs"] >= 5).all()
    small = set(n_by_function[n_by_function < 5].index)
    assert small and not small & set(raw["group"]), "a group under k was shown"
    # what is hidden cannot be recovered: together it holds at least k participants
    assert n_by_function.sum() - raw["n_pairs"].sum() >= 5
    assert raw.attrs["n_hidden"] >= 2
    merged = cs.training_effects(
        training, codebook=study.codebook, levels=["total"], by="function",
        groups={"chef": "ledning", "verksamhetsutvecklare": "ledning"}
        | {f: "stöd" for f in ("IT", "HR", "ekonomi", "kommunikation")})
    assert set(merged["group"]) == {"ledning", "stöd"}
    assert merged["n_pairs"].sum() == pairs.sum()


def test_course_challenges(truth):
    table = cs.course_challenges()
    assert len(table) == 4 and table["outcome_type"].eq("qualitative").all()
    assert set(table["capability"]) <= {"sense", "seize", "transform"}
    html = str(show.challenges_table(table, "sv")).lower()
    for planted in truth["training"]["challenges"]:
        assert planted.lower() in html, planted
    assert "omvandla" in html and "transform" in str(show.challenges_table(table, "en"))


# --------------------------------------------------------------------------- internal comparison
def test_small_department_never_shown(study, truth):
    company = truth["company"]
    small = company["small_department"]
    for r in (2022, 2023, 2024):
        for depth in (None, 1):
            res = cs.internal_comparison(study, company["org_id"], round=r, depth=depth)
            units = res["units"]
            assert small not in set(units["unit"]), f"round {r}: {small} is shown"
            assert (units["n_respondents"] >= 5).all()
            n_org = int(res["organisation"]["n_respondents"].iloc[0])
            # what the top-level units leave over holds no respondent or at least k
            rest = n_org - units.loc[units["depth"] == 1, "n_respondents"].sum()
            assert rest == 0 or rest >= 5
            assert small not in json.dumps(res["units"].to_dict("records"), ensure_ascii=False)
            assert "totals" not in res  # nothing respondent-level leaves the analysis
    latest = cs.internal_comparison(study, company["org_id"])
    assert latest["round"] == company["latest_round"]
    with pytest.raises(MognadError, match="not shown"):
        cs.unit_contrast(latest, small, "Scenteknik")
    with pytest.raises(MognadError, match="share respondents"):
        cs.unit_contrast(latest, "Konstnärlig verksamhet", "Konstnärlig verksamhet/Kör")


def test_depth_views_are_subsets_of_one_plan(study, truth):
    """depth=1 shows exactly the top-level rows of the full view, with the same figures."""
    org = truth["company"]["org_id"]
    full = cs.internal_comparison(study, org)["units"]
    top = cs.internal_comparison(study, org, depth=1)["units"]
    cols = ["unit", "n_respondents", "score_pct", "ci_low", "ci_high", "sd", "rwg_j"]
    pd.testing.assert_frame_equal(top[cols], full.loc[full["depth"] == 1, cols]
                                  .reset_index(drop=True))
    rounds = cs.internal_rounds(study, org)
    assert set(rounds["round"]) == {2022, 2023, 2024}
    assert truth["company"]["small_department"] not in set(rounds["unit"])


def test_departmental_spread_recovered(study, truth):
    company = truth["company"]
    res = cs.internal_comparison(study, company["org_id"])
    true = company["department_true_total_pct_latest_round"]
    top, bottom = "Marknad och kommunikation", "Konstnärlig verksamhet/Balett"
    planted = true[top] - true[bottom]  # marketing versus an artistic group
    c = cs.unit_contrast(res, top, bottom)
    assert c["ci_low"] <= planted <= c["ci_high"], (
        f"planted spread {planted:.1f} pp, estimated {c['difference']:.1f} "
        f"[{c['ci_low']:.1f}, {c['ci_high']:.1f}]")
    units = res["units"]
    assert ((units["rwg_j"] >= 0) & (units["rwg_j"] <= 1)).all()
    assert (units["iqr"] == units["q3"] - units["q1"]).all()
    assert 0 < res["icc1"] < 1 and 0 < res["icc2"] < 1
    # departments differ a lot: the spread of unit means is far above sampling noise
    assert units["score_pct"].max() - units["score_pct"].min() > 20


def test_pick_internal_org(study, truth):
    assert cs.pick_internal_org(study) == truth["company"]["org_id"]


def test_show_and_texts():
    frame = pd.DataFrame({"org_id": ["9116"], "year": [2024], "exploration_share": [0.35],
                          "gap": [-0.5], "consistent": [True]})
    html = str(show.show(frame, lang="sv", names={"9116": "<b>Kustvik</b>"},
                         percent=["exploration_share"]))
    assert "&lt;b&gt;Kustvik" in html and ">2024<" in html and "2\xa0024" not in html
    assert "35\xa0%" in html and "\u22120,5" in html and ">ja<" in html
    html = str(show.show(frame, lang="en", percent=["exploration_share"]))
    assert "35%" in html and "-0.5" in html and ">yes<" in html
    assert show.bullets([show.md_inline("cases.ic.hidden", "sv", n_hidden=2)]) == \
        "- 2 enheter döljs."
    assert show.title("cases.ic.title", "sv", name="<i>", round=2024).count("&lt;i&gt;") == 1


def test_report_names_and_case_list(study):
    """Case reports are named after their case (planted: Kustvik and Norrsund change funding
    model, Region Västkust reorganises, Kvarndal runs the course; docs/synthetic_study.md)."""
    assert views.report_name("governance_case", study) == "styrning-kustvik-norrsund"
    assert views.report_name("transformation_case", study) == "transformation-region-vastkust"
    assert views.report_name("training_evaluation", study, lang="en") == \
        "kursutvardering-kvarndal-en"
    assert views.report_name("notebooks/transformation_case.ipynb", study,
                             parameters={"org_id": "9116", "event_kind": "funding_change"}
                             ) == "transformation-kustvik"
    listed = show.case_reports(study)
    assert [r["file"] for r in listed] == ["styrning-kustvik-norrsund.html",
                                           "transformation-region-vastkust.html",
                                           "kursutvardering-kvarndal.html",
                                           "intern-jamforelse-alvhamns-scenkonst-ab.html"]
    assert listed[0]["title"] == "Styrning och taktning: Kustvik kommun och Norrsund kommun"
    assert all(r["description"] for r in listed)
    with pytest.raises(MognadError, match="not a case-study notebook"):
        views.report_name("organisation_report", study)
    assert views.name_slug("Älvhamns <b>Scenkonst</b> AB") == "alvhamns-b-scenkonst-b-ab"


def test_training_tables_and_sentences():
    """Hand-made effects: the sentences say clear when the interval excludes 0, the tables use
    Swedish number formats and the catalogue's headers."""
    eff = pd.DataFrame({"level": ["total", "dimension"], "name": ["total", "arv"],
                        "n_pairs": [20, 20], "score_pre": [46.2, 52.6], "score_post": [53.2, 54.0],
                        "change": [7.04, 1.4], "ci_low": [4.6, -0.9], "ci_high": [9.3, 3.8],
                        "d_z": [1.40, 0.28], "d_z_ci_low": [0.77, -0.17],
                        "d_z_ci_high": [2.02, 0.73], "wilcoxon_p": [0.00001, 0.227]})
    text = show.training_sentences(eff, lang="sv").replace("\\", "")  # Markdown escapes
    assert "**Totalt**: +7,0\xa0p.e. (95\xa0% KI +4,6 till +9,3), en tydlig förändring" in text
    assert "inom den statistiska osäkerheten" in text.split("\n")[1]
    html = str(show.training_table(eff, lang="sv"))
    for header in ("Namn", "Par", "Före", "Efter", "Förändring (p.e.)", "95\xa0% KI", "d_z",
                   "Wilcoxon p"):
        assert f">{header}</th>" in html, header
    assert "46,2\xa0%" in html and "&lt;\xa00,001" in html and "\u22120,9 till +3,8" in html


# --------------------------------------------------------------------------- notebooks
@pytest.fixture(scope="module")
def executed(case_study_path, tmp_path_factory):
    """The three notebooks executed with papermill (in parallel kernels)."""
    import papermill as pm

    out_dir = tmp_path_factory.mktemp("nb")

    def run(name):
        try:
            nb = pm.execute_notebook(f"notebooks/{name}.ipynb", str(out_dir / f"{name}.ipynb"),
                                     parameters={"study": str(case_study_path)},
                                     kernel_name="python3", progress_bar=False,
                                     log_output=False)
            return json.dumps(nb["cells"], ensure_ascii=False)
        except Exception as exc:  # reported by the test of that notebook
            return exc

    with ThreadPoolExecutor(len(NOTEBOOKS)) as pool:
        return dict(zip(NOTEBOOKS, pool.map(run, NOTEBOOKS), strict=True))


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs(executed, name, study):
    text = executed[name]
    if isinstance(text, Exception):
        raise text
    assert '"output_type": "error"' not in text
    assert "SYNTETISKA DATA" in text
    assert study.fingerprint in text
    assert "image/png" in text


def test_internal_comparison_notebook_hides_small_department(executed, truth):
    text = executed["internal_comparison"]
    if isinstance(text, Exception):
        raise text
    assert truth["company"]["name"] in text
    assert truth["company"]["small_department"] not in text
