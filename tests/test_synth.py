"""Tests for mognad.synth: the synthetic study and the truth planted in it.

Expected values come from the planted parameters in truth.json (written by the generator from its
constants), never from mognad's own scoring code: national means are recomputed here with plain
pandas from the response CSVs.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mognad.codebook import load_codebook
from mognad.errors import MognadError
from mognad.synth import DONT_KNOW_TEXT, ROUNDS, synthesize

ITEMS = [f"q{i:02d}" for i in range(1, 31)]


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def small(tmp_path_factory) -> dict[str, Path]:
    return synthesize(tmp_path_factory.mktemp("small"), seed=11, profile="small")


@pytest.fixture(scope="module")
def national(tmp_path_factory) -> dict[str, Path]:
    # the one national run of this file (about 3 s)
    return synthesize(tmp_path_factory.mktemp("national"), seed=20240501, profile="national")


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _responses(paths: dict[str, Path]) -> pd.DataFrame:
    return pd.concat([_read(paths[f"responses_{r}"]) for r in ROUNDS], ignore_index=True)


def _truth(paths: dict[str, Path]) -> dict:
    return json.loads(paths["truth"].read_text(encoding="utf-8"))


def _tree_hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _respondent_scores(resp: pd.DataFrame) -> pd.DataFrame:
    """Respondent category, dimension and total % with plain pandas (pomp, vet ej = missing)."""
    cb = load_codebook()
    values = resp[ITEMS].replace(DONT_KNOW_TEXT, np.nan).astype(float)
    out = pd.DataFrame({"org_id": resp["org_id"], "round": resp["round"].astype(int)})
    for cat, items in cb.items.groupby("category", sort=False)["item_id"]:
        out[cat] = (values[list(items)].mean(axis=1) - 1) / 5 * 100
    for dim, cats in cb.categories.groupby("dimension", sort=False)["category"]:
        out[dim] = out[list(cats)].mean(axis=1)
    out["total"] = out[cb.dimensions["dimension"].tolist()].mean(axis=1)
    return out


# ----------------------------------------------------------------------------- determinism
def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path, small):
    a = synthesize(tmp_path / "a", seed=11, profile="small")
    b = synthesize(tmp_path / "b", seed=11, profile="small")
    c = synthesize(tmp_path / "c", seed=12, profile="small")
    ha, hb, hc = (_tree_hashes(tmp_path / x) for x in "abc")
    assert ha == hb
    assert ha == _tree_hashes(small["truth"].parent)  # the fixture used the same seed
    assert set(ha) == set(hc)
    assert ha["inputs/responses_2024.csv"] != hc["inputs/responses_2024.csv"]
    assert ha["truth.json"] != hc["truth.json"]
    assert set(a) == set(b) == set(c)
    assert all(p.is_file() for p in a.values())


def test_files_are_utf8_with_unix_line_endings_and_no_timestamps(small):
    for path in small.values():
        data = path.read_bytes()
        data.decode("utf-8")
        assert b"\r" not in data, path
        # no wall-clock time anywhere (ISO dates are fine, times of day are not)
        assert not re.search(rb"\d{2}:\d{2}:\d{2}", data), path


def test_unknown_profile_and_bad_seed_are_user_errors(tmp_path):
    with pytest.raises(MognadError, match="unknown synth profile"):
        synthesize(tmp_path, profile="huge")
    with pytest.raises(MognadError, match="seed"):
        synthesize(tmp_path, seed=-1, profile="small")


# ----------------------------------------------------------------------------- planted truth
@pytest.mark.parametrize("which", ["small", "national"])
def test_planted_national_means_are_recovered_from_the_csvs(which, request):
    paths = request.getfixturevalue(which)
    scores = _respondent_scores(_responses(paths))
    by_org = scores.groupby(["round", "org_id"])["total"].agg(["mean", "var", "size"])
    truth = _truth(paths)["national_true_mean_total_pct"]
    for rnd, g in by_org.groupby(level="round"):
        est = g["mean"].mean()
        # The national mean is an unweighted mean of K independent organisation means, each
        # unbiased for its truth row (the truth is conditional on the realised units and roles).
        # SE = sqrt(sum(s_o^2 / n_o)) / K; 4 SE leaves a false-alarm rate of about 6e-5.
        se = np.sqrt((g["var"] / g["size"]).sum()) / len(g)
        assert abs(est - truth[str(rnd)]) < 4 * se, (rnd, est, truth[str(rnd)], se)


def test_truth_has_a_dip_in_2021_and_national_means_in_the_published_range(national):
    truth = _truth(national)
    trend = truth["national_trend"]["latent"]
    assert trend["2021"] < trend["2020"] and trend["2022"] > trend["2021"]
    means = truth["national_true_mean_total_pct"]
    assert all(44 <= v <= 56 for v in means.values()), means  # DOMAIN.md: 47-53 %
    assert means["2021"] < means["2020"]


def test_truth_org_rounds_follow_the_codebook_rules(small):
    cb = load_codebook()
    t = pd.read_csv(small["truth_org_rounds"], dtype={"org_id": str})
    cats = cb.categories
    for dim, g in cats.groupby("dimension"):
        np.testing.assert_allclose(t[dim], t[list(g["category"])].mean(axis=1), atol=2e-4)
    np.testing.assert_allclose(t["total"], t[["formaga", "arv"]].mean(axis=1), atol=2e-4)
    assert (t["true_type"] == cb.classify(t["formaga"], t["arv"])).all()
    # one row per participating organisation-round, with its number of respondents
    resp = _responses(small)
    counts = resp.groupby(["org_id", "round"]).size()
    counts.index = counts.index.set_levels(counts.index.levels[1].astype(int), level=1)
    got = t.set_index(["org_id", "round"])["n_respondents"].sort_index()
    assert got.index.equals(counts.sort_index().index)
    assert (got.to_numpy() == counts.sort_index().to_numpy()).all()


def test_types_spread_over_all_four_quadrants(national):
    t = pd.read_csv(national["truth_org_rounds"], dtype={"org_id": str})
    shares = t["true_type"].value_counts(normalize=True)
    assert set(shares.index) == {"A", "B", "C", "D"}
    assert shares.min() > 0.05


def test_dont_know_share_is_about_three_percent(national):
    resp = _responses(national)
    cells = resp[ITEMS].to_numpy()
    share = (cells == DONT_KNOW_TEXT).mean()
    # binomial SE = sqrt(0.03 * 0.97 / n_cells), about 0.0002 here; 4 SE
    se = np.sqrt(0.03 * 0.97 / cells.size)
    assert abs(share - 0.03) < 4 * se
    assert abs(_truth(national)["dont_know_share_realised"] - share) < 1e-4


@pytest.mark.parametrize("which", ["small", "national"])
def test_all_answers_are_on_the_scale_or_dont_know(which, request):
    resp = _responses(request.getfixturevalue(which))
    allowed = {str(v) for v in range(1, 7)} | {DONT_KNOW_TEXT}
    assert set(np.unique(resp[ITEMS].to_numpy())) <= allowed
    assert (resp["round"].astype(int).isin(ROUNDS)).all()


def test_participation_grows_and_composition_changes(national):
    resp = _responses(national)
    part = resp.groupby("round")["org_id"].nunique()
    assert part.is_monotonic_increasing and part.iloc[0] < 50 and part.iloc[-1] >= 190
    wide = resp.drop_duplicates(["org_id", "round"]).assign(x=1).pivot(
        index="org_id", columns="round", values="x").fillna(0)
    # organisations that drop out and come back: a 1, 0, 1 pattern somewhere
    comeback = wide.apply(lambda r: re.search("10+1", "".join(map(str, r.astype(int)))) is not None,
                          axis=1)
    assert comeback.sum() >= 10


def test_respondents_per_org_round_within_10_to_150(national):
    n = _responses(national).groupby(["org_id", "round"]).size()
    assert n.min() >= 10 and n.max() <= 150


def test_invitations_cover_respondents_with_plausible_response_rates(small):
    resp = _responses(small)
    inv = _read(small["invitations"])
    inv["invited"] = inv["invited"].astype(int)
    n = resp.groupby(["org_id", "round", "unit"]).size().rename("n")
    both = inv.set_index(["org_id", "round", "unit"]).join(n, how="outer")
    assert both["n"].notna().all() and both["invited"].notna().all()
    assert (both["invited"] >= both["n"]).all()
    org = both.groupby(level=[0, 1]).sum()
    rate = org["n"] / org["invited"]
    assert rate.between(0.3, 1.0).all() and rate.median() < 0.8


def test_events_contain_every_planted_event(small):
    ev = _read(small["events"])
    truth = _truth(small)
    assert set(ev["kind"]) == {"programme_start", "programme_end", "reorganisation",
                               "funding_change", "course_start"}
    starts = ev.loc[ev["kind"] == "programme_start"]
    assert sorted(starts["org_id"]) == sorted(truth["programme"]["cohort_org_ids"])
    assert (starts["date"] == truth["programme"]["start"]).all()
    reorg = ev.loc[ev["kind"] == "reorganisation"]
    assert reorg[["org_id", "date"]].values.tolist() == [
        [truth["reorganisation"]["org_id"], truth["reorganisation"]["date"]]]
    funding = ev.loc[ev["kind"] == "funding_change"].set_index("org_id")["date"].to_dict()
    assert funding == {k: v["funding_change_date"] for k, v in truth["governance"].items()}
    course = ev.loc[ev["kind"] == "course_start"]
    assert course[["org_id", "date"]].values.tolist() == [
        [truth["course"]["org_id"], truth["course"]["date"]]]
    assert (pd.to_datetime(ev["date"], format="%Y-%m-%d").notna()).all()


def test_small_profile_holds_every_case_organisation(small):
    orgs = _read(small["organisations"])
    truth = _truth(small)
    ids = set(orgs["org_id"])
    assert 20 <= len(orgs) <= 30
    assert {truth["reorganisation"]["org_id"], truth["company"]["org_id"],
            truth["course"]["org_id"], *truth["governance"]} <= ids
    assert truth["company"]["parent_org_id"] in ids
    assert len(truth["programme"]["cohort_org_ids"]) >= 5
    assert set(orgs["org_type"]) == {"kommun", "region", "myndighet", "bolag"}


def test_company_has_one_department_of_exactly_three_in_the_latest_round(small):
    resp = _responses(small)
    company = resp.loc[(resp["org_id"] == "B001") & (resp["round"] == str(ROUNDS[-1]))]
    per_dept = company.groupby("unit").size()
    assert (per_dept == 3).sum() == 1
    assert (per_dept >= 5).sum() >= 3
    offsets = _truth(small)["company"]["department_offsets_latent"]
    assert max(offsets.values()) - min(offsets.values()) >= 1.0  # wide planted spread


def test_org_ids_never_collide_with_real_codes_and_names_are_fictional(national):
    orgs = _read(national["organisations"])
    numeric = orgs["org_id"].str.fullmatch(r"\d+")
    # real municipality codes are four digits below 2600; ours start at 9001
    assert (orgs.loc[numeric, "org_id"].astype(int) >= 9001).all()
    assert orgs.loc[~numeric, "org_id"].str.fullmatch(r"R\d{2}|M\d{3}|B\d{3}").all()
    assert orgs["org_id"].is_unique and orgs["name"].is_unique
    kommun = orgs["org_type"] == "kommun"
    assert kommun.sum() == 260 and (orgs.loc[kommun, "kommungrupp"].str.fullmatch(
        r"A[12]|B[345]|C[6789]")).all()
    assert (orgs.loc[~kommun, "kommungrupp"] == "").all()
    assert orgs["county_code"].str.fullmatch(r"\d{2}").all()
    # a few real municipality names that must not appear (the stand-ins are fictional)
    real = {"Kungsbacka", "Sundsvall", "Mölndal", "Göteborg", "Ljungby", "Hagfors", "Sjöbo"}
    assert not set(orgs["name"].str.removesuffix(" kommun")) & real


def test_respondent_ids_are_example_addresses_and_follow_ups_reappear(small):
    resp = _responses(small)
    orgs = _read(small["organisations"]).set_index("org_id")["org_type"]
    named = resp.loc[resp["org_id"].map(orgs) != "myndighet", "respondent_id"]
    assert named.str.fullmatch(r"[a-z]+\.[a-z]+\.\d{4}@[a-z0-9]+\.example").all()
    assert not resp.duplicated(["round", "respondent_id"]).any()
    truth = _truth(small)
    for case in ("reorganisation", "course"):
        ids = truth[case]["follow_up_respondent_ids"]
        rounds = resp.loc[resp["respondent_id"].isin(ids)].groupby("respondent_id")["round"]
        assert len(ids) >= 5 and (rounds.nunique() >= 3).all()
        unit_per_person = resp.loc[resp["respondent_id"].isin(ids)].groupby(
            "respondent_id")["role"].nunique()
        assert (unit_per_person == 1).all()  # the same person keeps the same role


def test_reorganised_region_splits_its_it_unit(small):
    resp = _responses(small)
    truth = _truth(small)["reorganisation"]
    region = resp.loc[resp["org_id"] == truth["org_id"]]
    split = truth["units_change_from_round"]
    before = set(region.loc[region["round"].astype(int) < split, "unit"])
    after = set(region.loc[region["round"].astype(int) >= split, "unit"])
    assert not before & set(truth["units_after"])
    assert not after & set(truth["units_before"])


def test_programme_effect_is_recorded_on_both_scales(small):
    prog = _truth(small)["programme"]
    assert prog["effect_latent"] > 0 and prog["implied_pp_reference"]["total"] > 0
    assert all(v == 0 for r, v in prog["effect_by_round_latent"].items()
               if int(r) < prog["effect_first_round"])
    # the realised ATT is close to the reference conversion (the model is nearly linear there)
    assert prog["att_total_pp"] == pytest.approx(prog["implied_pp_reference"]["total"], abs=1.0)


# ----------------------------------------------------------------------------- case inputs
def test_case_files_have_the_documented_columns(small):
    assert _read(small["systems"]).columns.tolist() == [
        "org_id", "year", "system_id", "system_name", "domain", "vendor", "product", "hosting",
        "introduced_year", "lifecycle", "annual_cost_sek", "importance", "technical_quality",
        "functional_quality", "rated_by", "open_standards", "open_api", "data_ownership",
        "integrations"]
    assert _read(small["budgets"]).columns.tolist() == [
        "org_id", "year", "kind", "amount_sek", "funding_model"]
    assert _read(small["requests"]).columns.tolist() == [
        "request_id", "org_id", "unit", "received", "decided", "started", "delivered", "status",
        "estimated_cost_sek", "funding_model", "owner", "strategic"]
    assert _read(small["training"]).columns.tolist() == ["participant", "function", "phase",
                                                         *ITEMS]


def test_dios_inventory_matches_its_planted_truth(small):
    sysf = _read(small["systems"])
    dios = _truth(small)["dios"]
    assert set(sysf["org_id"]) == set(dios["org_ids"])
    nonc = ((sysf["open_standards"] == "nej") | (sysf["open_api"] == "nej")
            | (sysf["data_ownership"] == "nej"))
    for year, share in dios["non_compliant_share_by_year"].items():
        assert nonc[sysf["year"] == year].mean() == pytest.approx(share, abs=1e-4)
    assessed = sysf["technical_quality"] != ""
    assert set(sysf.loc[assessed, "technical_quality"]) <= {"1", "2", "3", "4"}
    assert 0 < (~assessed).mean() < 0.15
    assert sysf["open_api"].isin(["ja", "nej"]).all()
    assert sysf["data_ownership"].isin(["ja", "nej", "delvis"]).all()


def test_request_arrivals_and_decision_times_recover_the_planted_change(national):
    req = _read(national["requests"])
    gov = _truth(national)["governance"]
    for org_id, info in gov.items():
        r = req.loc[req["org_id"] == org_id]
        received = pd.to_datetime(r["received"])
        change = pd.Timestamp(info["funding_change_date"])
        months_before = (change.year - 2018) * 12 + change.month - 1
        months_after = 84 - months_before
        for part, months, mask in (("before", months_before, received < change),
                                   ("after", months_after, received >= change)):
            lam = info["requests"]["arrivals_per_month"][part]
            # Poisson: SE of the monthly mean = sqrt(lambda / months); 4 SE
            assert abs(mask.sum() / months - lam) < 4 * np.sqrt(lam / months), (org_id, part)
            decided = pd.to_datetime(r.loc[mask, "decided"].replace("", None))
            days = (decided - received[mask]).dt.days.dropna()
            mean = info["requests"]["decision_days_mean"][part]
            # gamma(shape 2): SD = mean / sqrt(2); rounding up adds about half a day
            assert abs(days.mean() - mean - 0.5) < 4 * mean / np.sqrt(2 * len(days)), (org_id, part)
        assert set(r.loc[received >= change, "funding_model"]) == {"intern_prissattning"}
        assert set(r.loc[received < change, "funding_model"]) == {"central"}


def test_training_pre_post_change_matches_the_planted_effect(small):
    tr = _read(small["training"])
    truth = _truth(small)["training"]
    scores = _respondent_scores(tr.assign(org_id="x", round="2022"))
    scores["participant"], scores["phase"] = tr["participant"], tr["phase"]
    wide = scores.pivot(index="participant", columns="phase", values="formaga").dropna()
    assert len(wide) == truth["n_with_post"]
    diff = wide["post"] - wide["pre"]
    expected = np.mean([truth["expected_change_pp"][c]
                        for c in ("effektivitet", "innovation", "balansering")])
    # paired design: SE = sd(diff) / sqrt(n); 4 SE
    assert abs(diff.mean() - expected) < 4 * diff.std() / np.sqrt(len(diff))
    assert expected > 5


def test_budgets_show_the_planted_development_share(small):
    b = _read(small["budgets"])
    b["amount_sek"] = b["amount_sek"].astype(float)
    for org_id, info in _truth(small)["governance"].items():
        g = b.loc[b["org_id"] == org_id]
        share = (g.loc[g["kind"].isin(["vidareutveckling", "nyutveckling"])]
                 .groupby("funding_model")["amount_sek"].sum()
                 / g.groupby("funding_model")["amount_sek"].sum())
        # multiplicative noise sdlog 0.03 per amount: shares are within 0.03 of the plan
        assert share["central"] == pytest.approx(
            info["budgets"]["development_share_before"], abs=0.03)
        assert share["intern_prissattning"] == pytest.approx(
            info["budgets"]["development_share_after"], abs=0.03)


def test_dataset_yaml_marks_the_study_synthetic(small):
    import yaml

    meta = yaml.safe_load(small["dataset"].read_text(encoding="utf-8"))
    assert meta["synthetic"] is True and meta["seed"] == 11 and meta["profile"] == "small"
    assert meta["generator"].startswith("mognad synth") and meta["codebook"] == "mognad-default-1"
