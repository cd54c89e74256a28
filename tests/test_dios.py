"""DIOS inventories: the ``systems`` input kind (validation, all-or-nothing, idempotence) and the
analyses, checked against hand-worked tables and against the truth planted by ``mognad.synth``
(truth.json -> "dios")."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from mognad import dios
from mognad.errors import MognadError, ValidationError
from mognad.io import dios as dios_format
from mognad.io.ingest import detect_kind, ingest
from mognad.io.store import open_study
from mognad.scoring import score, to_long
from mognad.synth import synthesize

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SD_ORG_FACTOR = 0.40  # synth: (F_o, L_o) ~ N(0, 0.40^2); legacy_z = L / 0.40 (docs/synthetic_study.md)


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def dios_study_path(small_study_path, small_data, tmp_path_factory) -> Path:
    """The small synthetic study with its DIOS inventory (cases/systems.csv) ingested."""
    dest = tmp_path_factory.mktemp("dios") / "study"
    shutil.copytree(small_study_path, dest)
    ingest(small_data / "cases" / "systems.csv", study=dest)
    return dest


@pytest.fixture(scope="module")
def small_truth(small_data) -> dict:
    return json.loads((small_data / "truth.json").read_text(encoding="utf-8"))["dios"]


@pytest.fixture(scope="module")
def national(tmp_path_factory) -> dict:
    """The national synthetic universe (36 DIOS organisations): inventory, truth, and the DiMiOS
    dimension scores of the DIOS organisations in 2024 (scored from the raw CSV, method "t")."""
    out = tmp_path_factory.mktemp("national") / "data"
    synthesize(out, seed=20240501, profile="national")
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    systems = pd.read_csv(out / "cases" / "systems.csv", dtype={"org_id": str})
    wide = pd.read_csv(out / "inputs" / "responses_2024.csv", dtype=str)
    wide = wide[wide["org_id"].isin(truth["dios"]["org_ids"])]
    scores = score(to_long(wide.drop(columns=["unit", "role"])), method="t",
                   levels=["dimension"])
    orgs = pd.read_csv(out / "truth_orgs.csv", dtype={"org_id": str})
    return {"truth": truth["dios"], "systems": systems, "scores": scores, "orgs": orgs}


def _registry_ids(small_data) -> list[str]:
    return pd.read_csv(small_data / "inputs" / "organisations.csv", dtype=str)["org_id"].tolist()


def valid_rows(org_id: str) -> pd.DataFrame:
    """Three valid inventory rows of one organisation (all text, as in a file)."""
    return pd.DataFrame({
        "org_id": [org_id] * 3, "year": ["2024"] * 3, "system_id": ["S1", "S2", "S3"],
        "system_name": ["Ekonomisystem", "Lönesystem", "Diarium"],
        "domain": ["Ekonomi", "HR och lön", "Ärende och dokument"],
        "vendor": ["Ekonomera AB", "Lönekraft AB", ""], "product": ["Ekonomi", "Lön", ""],
        "hosting": ["saas", "lokal", ""], "introduced_year": ["2018", "1999", ""],
        "lifecycle": ["förvaltning", "avveckling", "införande"],
        "annual_cost_sek": ["450000", "1 200 000", ""], "importance": ["4", "3", "vet ej"],
        "technical_quality": ["3", "1", ""], "functional_quality": ["4", "2", ""],
        "rated_by": ["systemägare", "IT-avdelningen", ""], "open_standards": ["ja", "nej", ""],
        "open_api": ["yes", "0", ""], "data_ownership": ["ja", "delvis", ""],
        "integrations": ["3", "0", ""],
    })


def snapshot(study_path) -> dict:
    study = open_study(study_path)
    systems = study.table("systems")
    return {"counts": study.counts(), "provenance": study.provenance.to_csv(index=False),
            "systems": systems.to_csv(index=False)}


def reject(path, study, *fragments) -> str:
    """Ingest must reject `path`, leave the store unchanged and say every fragment."""
    before = snapshot(study)
    with pytest.raises(ValidationError) as info:
        ingest(path, study=study)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    assert snapshot(study) == before, "a rejected file changed the store"
    return message


@pytest.fixture()
def org_id(small_data) -> str:
    return _registry_ids(small_data)[0]


# --------------------------------------------------------------------------- the input kind
def test_detected_as_systems():
    cols = ["org_id", "round", "system_id", "system_name", "domain", "importance",
            "technical_quality", "functional_quality"]  # ingest maps year -> round first
    assert detect_kind(cols) == "systems"
    assert detect_kind(["org_id", "round", "system_id", "verksamhetsbetydelse"]) == "systems"


def test_synthetic_inventory_round_trips(dios_study_path, small_data):
    stored = dios.load_systems(dios_study_path)
    raw = pd.read_csv(small_data / "cases" / "systems.csv", dtype=str, keep_default_na=False)
    assert len(stored) == len(raw) == 741
    prov = open_study(dios_study_path).provenance
    assert prov.iloc[-1]["kind"] == "systems" and prov.iloc[-1]["rows_added"] == 741
    raw = raw.sort_values(["org_id", "year", "system_id"]).reset_index(drop=True)
    for col in raw.columns:
        got = stored[col].astype("str").fillna("")
        want = raw[col]
        if col == "annual_cost_sek":
            got = stored[col].map(lambda v: f"{v:.0f}")
        assert (got.to_numpy() == want.to_numpy()).all(), col
    assert str(stored["importance"].dtype) == "Int64"
    # unassessed quality stays missing, never 0
    assert stored["technical_quality"].isna().sum() == (raw["technical_quality"] == "").sum() > 0
    assert not (stored[list(dios_format.ORDINALS)] == 0).any().any()


def test_reingest_adds_nothing(dios_study_path, small_data, tmp_path):
    before = snapshot(dios_study_path)
    res = ingest(small_data / "cases" / "systems.csv", study=dios_study_path)
    assert [(r.status, r.rows_added) for r in res] == [("unchanged", 0)]
    # the same rows re-saved by Swedish Excel: ';', cp1252, Swedish headers -> same content?
    # Not the same fingerprint (headers differ), so the validator's row check must skip them.
    frame = pd.read_csv(small_data / "cases" / "systems.csv", dtype=str, keep_default_na=False)
    frame = frame.rename(columns={"year": "År", "vendor": "Leverantör",
                                  "annual_cost_sek": "Årskostnad"})
    f = tmp_path / "export.csv"
    f.write_bytes(frame.to_csv(index=False, sep=";").encode("cp1252"))
    res = ingest(f, study=dios_study_path)
    assert res[0].status == "added" and res[0].rows_added == 0
    after = snapshot(dios_study_path)
    assert after["systems"] == before["systems"]
    assert after["counts"]["provenance"] == before["counts"]["provenance"] + 1


def test_overlapping_file_adds_only_new_rows(fresh_study, tmp_path, org_id):
    f = tmp_path / "a.csv"
    valid_rows(org_id).iloc[:2].to_csv(f, index=False)
    assert ingest(f, study=fresh_study)[0].rows_added == 2
    g = tmp_path / "b.csv"
    valid_rows(org_id).to_csv(g, index=False)  # the two rows again plus a third
    assert ingest(g, study=fresh_study)[0].rows_added == 1
    stored = dios.load_systems(fresh_study)
    assert stored["system_id"].tolist() == ["S1", "S2", "S3"]
    s2 = stored.set_index("system_id").loc["S2"]
    assert s2["annual_cost_sek"] == 1_200_000 and s2["open_api"] == "nej"
    assert s2["data_ownership"] == "delvis" and s2["hosting"] == "lokal"
    s3 = stored.set_index("system_id").loc["S3"]
    assert pd.isna(s3["importance"]) and pd.isna(s3["vendor"]) and pd.isna(s3["open_api"])


def test_conflicting_row_is_rejected(fresh_study, tmp_path, org_id):
    f = tmp_path / "a.csv"
    valid_rows(org_id).to_csv(f, index=False)
    ingest(f, study=fresh_study)
    changed = valid_rows(org_id)
    changed.loc[1, "importance"] = "4"  # S2 was 3
    g = tmp_path / "b.csv"
    changed.to_csv(g, index=False)
    reject(g, fresh_study, "b.csv", "row 3, column importance: value '4'",
           "already in the store with importance '3'", "never overwritten")


# --------------------------------------------------------------------------- rejections
BAD_VALUES = [  # column, bad value, what the message must say
    ("importance", "0", "0 is not a rating; valid: 1–4, or vet ej / empty when not assessed"),
    ("technical_quality", "5", "off the scale; valid: 1–4"),
    ("functional_quality", "2.5", "not a whole number"),
    ("open_standards", "kanske", "must be ja or nej (also yes/no, 1/0, true/false)"),
    ("data_ownership", "mest", "must be ja, delvis or nej"),
    ("hosting", "moln-ish", "must be one of lokal, driftpartner, saas, publikt_moln"),
    ("lifecycle", "pensionerad", "must be one of införande, förvaltning, avveckling"),
    ("year", "HT24", "the inventory year must be a calendar year"),
    ("introduced_year", "2031", "must be a year from 1950 up to the inventory year + 2"),
    ("annual_cost_sek", "-5", "must be an amount in SEK"),
    ("integrations", "många", "must be a whole number of integrations (>= 0)"),
]


@pytest.mark.parametrize("part", [0, 1])
def test_bad_values_name_row_column_value(fresh_study, tmp_path, org_id, part):
    """Each bad value in its own row (two files, to stay under the 10 problems listed)."""
    cases = BAD_VALUES[part::2]
    frame = pd.concat([valid_rows(org_id).iloc[:1]] * len(cases), ignore_index=True)
    frame["system_id"] = [f"S{i}" for i in range(len(cases))]
    for i, (column, value, _) in enumerate(cases):
        frame.loc[i, column] = value
    f = tmp_path / "systems.csv"
    frame.to_csv(f, index=False)
    message = reject(f, fresh_study, f"rejected, {len(cases)} problem(s); nothing was ingested",
                     *[f"systems.csv, row {i + 2}, column {column}: value {value!r}: {fragment}"
                       for i, (column, value, fragment) in enumerate(cases)])
    assert message.count("\n") == len(cases)


def test_unknown_org(fresh_study, tmp_path, org_id):
    frame = valid_rows(org_id)
    frame.loc[2, "org_id"] = "0000"
    f = tmp_path / "systems.csv"
    frame.to_csv(f, index=False)
    reject(f, fresh_study, "row 4, column org_id: value '0000'", "organisation registry")


def test_missing_column(fresh_study, tmp_path, org_id):
    f = tmp_path / "systems.csv"
    valid_rows(org_id).drop(columns="technical_quality").to_csv(f, index=False)
    reject(f, fresh_study, "missing required column(s) technical_quality for a systems file")


def test_unknown_column_and_duplicate_system(fresh_study, tmp_path, org_id):
    frame = valid_rows(org_id).assign(kostnadsställe="12")
    frame.loc[2, "system_id"] = "S1"
    f = tmp_path / "systems.csv"
    frame.to_csv(f, index=False)
    reject(f, fresh_study, "column kostnadsställe", "unknown column for a systems file")
    frame = frame.drop(columns="kostnadsställe")
    frame.to_csv(f, index=False)
    reject(f, fresh_study, "row 4, column system_id: value 'S1'", "appears earlier in the file")


def test_required_value_missing(fresh_study, tmp_path, org_id):
    frame = valid_rows(org_id)
    frame.loc[0, "system_name"] = " "
    f = tmp_path / "systems.csv"
    frame.to_csv(f, index=False)
    reject(f, fresh_study, "row 2, column system_name", "a value is required here")


def test_swedish_headers_and_excel_numbers(fresh_study, tmp_path, org_id):
    frame = valid_rows(org_id).rename(columns={
        "year": "År", "system_name": "Systemnamn", "domain": "Verksamhetsområde",
        "vendor": "Leverantör", "importance": "Verksamhetsbetydelse",
        "technical_quality": "Teknisk kvalitet", "functional_quality": "Funktionell kvalitet",
        "open_standards": "Öppna standarder", "open_api": "Öppet API",
        "data_ownership": "Dataägarskap", "annual_cost_sek": "Årskostnad"})
    frame.loc[0, "Årskostnad"] = "450 000,50"
    frame.loc[1, "Teknisk kvalitet"] = "Vet ej"
    f = tmp_path / "inventering.csv"
    f.write_bytes(frame.to_csv(index=False, sep=";").encode("cp1252"))
    assert ingest(f, study=fresh_study)[0].rows_added == 3
    stored = dios.load_systems(fresh_study).set_index("system_id")
    assert stored.loc["S1", "annual_cost_sek"] == 450_000.5
    assert pd.isna(stored.loc["S2", "technical_quality"])
    assert stored.loc["S1", "open_api"] == "ja"


def test_load_systems_errors(fresh_study, dios_study_path):
    with pytest.raises(MognadError, match="no DIOS inventory; ingest one first"):
        dios.load_systems(fresh_study)
    with pytest.raises(MognadError, match="inventory years: 2022, 2023, 2024"):
        dios.load_systems(dios_study_path, year=2019)
    with pytest.raises(MognadError, match="no DIOS inventory for organisation"):
        dios.load_systems(dios_study_path, org_id="0000")


# --------------------------------------------------------------------------- TIME portfolio
def test_time_classification_by_hand():
    # importance, technical, functional -> expected action (thresholds 3/3, mean quality)
    cases = [
        (4, 4, 4, "invest"), (3, 3, 3, "invest"), (1, 4, 3, "tolerate"), (2, 3, 3, "tolerate"),
        (4, 2, 3, "migrate"),  # quality 2.5 < 3
        (3, 1, 1, "migrate"), (2, 2, 2, "eliminate"), (1, 3, 2, "eliminate"),
        ("vet ej", 4, 4, "unassessed"), (4, 4, None, "unassessed"),
    ]
    frame = pd.DataFrame(cases, columns=["importance", "technical_quality",
                                         "functional_quality", "expected"])
    out = dios.portfolio(frame.drop(columns="expected"))
    assert out["time"].tolist() == frame["expected"].tolist()
    # thresholds are configurable: at 2.5 the migrate row with quality 2.5 becomes invest
    out = dios.portfolio(frame.drop(columns="expected"), thresholds={"quality": 2.5})
    assert out["time"].iloc[4] == "invest"
    # 'min' makes the weaker rating decide: (1, 3, 2) -> quality 2; (2, 3, 3) stays tolerate
    out = dios.portfolio(frame.drop(columns="expected"), combine="min")
    assert out["quality_score"].iloc[7] == 2 and out["time"].iloc[3] == "tolerate"


def test_portfolio_rejects_zero_rating():
    frame = pd.DataFrame({"importance": [0], "technical_quality": [2], "functional_quality": [2]})
    with pytest.raises(MognadError, match="column importance, value 0: 0 is not a rating"):
        dios.portfolio(frame)
    with pytest.raises(MognadError, match="unknown threshold"):
        dios.portfolio(frame.assign(importance=2), thresholds={"value": 2})


def test_decommissioning_scenarios_by_hand():
    frame = pd.DataFrame({
        "org_id": ["a", "a", "a", "a", "b"], "system_id": ["1", "2", "3", "4", "5"],
        "importance": [1, 4, 4, 2, 1], "technical_quality": [1, 1, 4, 4, 2],
        "functional_quality": [2, 2, 4, 4, 2],
        "lifecycle": ["förvaltning", "avveckling", "avveckling", "förvaltning", "förvaltning"],
        "annual_cost_sek": [100.0, 1000.0, 400.0, 50.0, np.nan]})
    # 1: eliminate; 2: migrate and planned -> planned (whole cost); 3: invest but planned;
    # 4: tolerate; 5: eliminate with unknown cost.
    out = dios.freed_cost(frame, replacement_share=0.25)
    got = out.set_index(["scenario", "org_id"])["freed_cost_sek"]
    assert got[("eliminate", "a")] == 100
    assert got[("eliminate_migrate", "a")] == 100 + 0.75 * 1000
    assert got[("eliminate_planned", "a")] == 100 + 1000 + 400
    assert got[("all", "a")] == 100 + 1000 + 400
    assert got[("eliminate", "riket")] == 100  # b's candidate has no cost
    n = out.set_index(["scenario", "org_id"])["n_candidates"]
    assert n[("eliminate", "b")] == 1 and n[("eliminate", "riket")] == 2
    share = out.set_index(["scenario", "org_id"])["freed_share"]
    assert share[("all", "a")] == pytest.approx(1500 / 1550)
    cand = dios.decommissioning(frame, scenario="all")
    assert cand.set_index("system_id")["reason"].to_dict() == {
        "2": "planned", "3": "planned", "1": "eliminate", "5": "eliminate"}


# --------------------------------------------------------------------------- compliance
def test_wilson_interval_against_statsmodels_and_hand():
    lo, hi = dios.wilson_ci([0, 8, 37, 20], [12, 20, 50, 20])
    ref = [proportion_confint(k, n, method="wilson") for k, n in
           [(0, 12), (8, 20), (37, 50), (20, 20)]]
    np.testing.assert_allclose(lo, [r[0] for r in ref], atol=1e-12)
    np.testing.assert_allclose(hi, [r[1] for r in ref], atol=1e-12)
    # hand-worked (Wilson 1927), k = 8, n = 20, z = 1.959964: centre 0.41578, half 0.19734
    assert (round(float(lo[1]), 4), round(float(hi[1]), 4)) == (0.2188, 0.6134)


def test_non_compliance_share_recovered(dios_study_path, small_data, small_truth):
    systems = dios.load_systems(dios_study_path)
    comp = dios.compliance(systems, by=())
    allrow = comp[comp["requirement"] == "all"].set_index("year")
    orgs = pd.read_csv(small_data / "truth_orgs.csv", dtype={"org_id": str}).set_index("org_id")
    model = small_truth["compliance_model"]
    for year, realised in small_truth["non_compliant_share_by_year"].items():
        row = allrow.loc[int(year)]
        # the realised share (truth.json, same definition: any 'nej'; 'delvis' passes)
        assert 1 - row["share"] == pytest.approx(realised, abs=5e-5)
        # the planted model: P(non-compliant) = 1 - P(os) P(api) P(ownership != nej), averaged
        # over the year's systems; the Wilson interval must cover it
        s = systems[systems["year"] == int(year)]
        x = (s["introduced_year"].to_numpy(float) - 2010) / 10
        z = orgs.loc[s["org_id"], "legacy_factor"].to_numpy() / SD_ORG_FACTOR

        def lin(key, x=x, z=z):
            m = model[key]
            return m["intercept"] + m["per_decade_since_2010"] * x + m["per_sd_legacy_factor"] * z

        expected = 1 - (stats.logistic.cdf(lin("open_standards")) * stats.logistic.cdf(
            lin("open_api")) * stats.logistic.cdf(lin("data_ownership") + 1.0)).mean()
        assert 1 - row["ci_high"] <= expected <= 1 - row["ci_low"], (year, expected, row)


def test_compliance_per_org_and_domain(dios_study_path):
    systems = dios.load_systems(dios_study_path, year=2024)
    per_org = dios.compliance(systems)
    per_domain = dios.compliance(systems, by=("domain",))
    national = dios.compliance(systems, by=())
    for frame in (per_org, per_domain):
        sums = frame.groupby("requirement")[["n_known", "n_compliant"]].sum()
        nat = national.set_index("requirement")[["n_known", "n_compliant"]]
        pd.testing.assert_frame_equal(sums.loc[nat.index], nat, check_dtype=False)
    strict = dios.compliance(systems, by=(), partial_ownership="fail").set_index("requirement")
    n_delvis = int((systems["data_ownership"] == "delvis").sum())
    loose = national.set_index("requirement")
    assert loose.at["data_ownership", "n_compliant"] - strict.at["data_ownership",
                                                                 "n_compliant"] == n_delvis


# --------------------------------------------------------------------------- vendor concentration
def test_planted_monopoly_small(dios_study_path, small_truth):
    systems = dios.load_systems(dios_study_path, year=2024)
    mono = small_truth["monopoly"]
    vc = dios.vendor_concentration(systems).set_index("domain").loc[mono["domain"]]
    assert mono["org_share_latest_year"] == 1.0  # every small-profile municipality
    assert vc["top_vendor"] == mono["vendor"]
    assert vc["hhi"] == 10_000 and vc["top_share"] == 1.0 and vc["n_vendors"] == 1
    # no other domain is a monopoly
    others = dios.vendor_concentration(systems).set_index("domain").drop(index=mono["domain"])
    assert (others.loc[others["n_orgs"] > 1, "hhi"] < 10_000).all()


def test_planted_monopoly_national(national):
    mono = national["truth"]["monopoly"]
    systems = national["systems"]
    latest = systems[systems["year"] == 2024]
    by_orgs = dios.vendor_concentration(latest).set_index("domain").loc[mono["domain"]]
    p = mono["org_share_latest_year"]  # realised share of municipalities with Omsorgia only
    assert by_orgs["top_vendor"] == mono["vendor"] and by_orgs["n_vendors"] == 2
    assert by_orgs["top_share"] == pytest.approx(p, abs=5e-5)
    # two vendors, every organisation with exactly one of them: HHI = 10 000 (p^2 + (1-p)^2)
    assert by_orgs["hhi"] == pytest.approx(10_000 * (p**2 + (1 - p) ** 2), abs=1.0)
    by_sys = dios.vendor_concentration(latest, basis="systems").set_index("domain")
    assert by_sys.at[mono["domain"], "top_share"] == pytest.approx(
        mono["system_share_latest_year"], abs=5e-5)
    # the planted probability 0.92 lies in the binomial interval of the realised org share
    n = int(by_orgs["n_orgs"])
    lo, hi = dios.wilson_ci(round(p * n), n)
    assert lo <= mono["planted_org_probability"] <= hi


def test_concentration_bases_and_region_by_hand():
    s = pd.DataFrame({"org_id": ["a", "a", "b", "c", "c"], "domain": "Skola",
                      "vendor": ["X", "Y", "X", "Y", "Y"],
                      "annual_cost_sek": [300.0, 100, 100, 400, 100]})
    orgs = pd.DataFrame({"org_id": ["a", "b", "c"], "county_code": ["01", "01", "02"]})
    # cost: X 400, Y 600 -> 0.16 + 0.36 = 0.52
    cost = dios.vendor_concentration(s, basis="cost").iloc[0]
    assert cost["hhi"] == pytest.approx(5200) and cost["top_vendor"] == "Y"
    # systems: X 2, Y 3 of 5 -> 0.16 + 0.36
    assert dios.vendor_concentration(s, basis="systems").iloc[0]["hhi"] == pytest.approx(5200)
    # orgs: X used by a, b; Y by a, c -> 0.5/0.5 -> 5000; tie broken alphabetically
    org = dios.vendor_concentration(s).iloc[0]
    assert org["hhi"] == 5000 and org["top_vendor"] == "X"
    reg = dios.vendor_concentration(s, orgs, region="county_code").set_index("county_code")
    assert reg.at["02", "hhi"] == 10_000 and reg.at["01", "n_orgs"] == 2
    with pytest.raises(MognadError, match="needs the organisations registry"):
        dios.vendor_concentration(s, region="county_code")


# --------------------------------------------------------------------------- age, products
def test_age_profile_detail_adds_up(dios_study_path):
    systems = dios.load_systems(dios_study_path, year=2024)
    detail = dios.age_profile(systems, detail=True)
    summary = dios.age_profile(systems)
    assert detail.groupby("org_id")["n_systems"].sum().tolist() == summary["n_systems"].tolist()
    assert set(detail["age_band"]) <= {"0–4", "5–9", "10–14", "15–19", "20+"}
    ages = 2024 - systems["introduced_year"].astype(float)
    assert summary["age_mean"].mean() == pytest.approx(ages.groupby(systems["org_id"]).mean()
                                                       .mean())


def test_product_comparison_per_population():
    s = pd.DataFrame({"org_id": ["a", "b", "c", "d"], "product": ["P", "P", "P", "Q"],
                      "annual_cost_sek": [100.0, 300, 200, 50], "technical_quality": [2, 3, 4, 1],
                      "functional_quality": [2, 3, 4, 1]})
    orgs = pd.DataFrame({"org_id": list("abcd"), "size_class": ["M", "M", "M", "S"],
                         "population": [10_000, 20_000, 40_000, 5_000]})
    out = dios.product_comparison(s, orgs, per="population", org_id="a")
    assert out["org_id"].tolist() == ["a", "b", "c"]  # Q has one user, a does not use it
    assert out["cost_per_unit"].tolist() == [0.01, 0.015, 0.005]
    assert out["cost_vs_size_peers"].tolist() == [0.5, 1.5, 1.0]  # median of M users = 200
    assert out["quality_rank"].tolist() == [3, 2, 1] and out["is_focus"].tolist() == [1, 0, 0]


# --------------------------------------------------------------------------- legacy
def test_legacy_index_by_hand():
    s = pd.DataFrame({"org_id": "a", "year": 2024, "introduced_year": [2000, 2020, 2015],
                      "technical_quality": [1, 4, None], "functional_quality": [2, 4, 3],
                      "open_standards": ["nej", "ja", "ja"], "open_api": ["ja", "ja", "vet ej"],
                      "data_ownership": "ja", "annual_cost_sek": [300.0, 100.0, 600.0]})
    out = dios.legacy_index(s).iloc[0]
    # low quality: system 3 unassessed -> 300 / (300 + 100); non-compliant: system 3 unknown ->
    # 300 / 400; old (>= 15 years): system 1 only -> 300 / 1000
    assert out["low_quality_share"] == 0.75 and out["non_compliant_share"] == 0.75
    assert out["old_share"] == 0.3
    assert out["legacy_index"] == pytest.approx(100 * (0.75 + 0.75 + 0.3) / 3)
    w = dios.legacy_index(s, weights={"old_share": 0, "low_quality_share": 1,
                                      "non_compliant_share": 1}).iloc[0]
    assert w["legacy_index"] == pytest.approx(75)
    unweighted = dios.legacy_index(s, cost=None).iloc[0]
    assert unweighted["old_share"] == pytest.approx(1 / 3)


def test_fisher_interval_against_scipy():
    rng = np.random.default_rng(1)
    x = rng.normal(size=30)
    y = 0.5 * x + rng.normal(size=30)
    res = stats.pearsonr(x, y)
    ref = res.confidence_interval(0.95)  # scipy: Fisher transformation, as R's cor.test
    lo, hi = dios.fisher_ci(float(res.statistic), 30)
    assert (lo, hi) == pytest.approx((ref.low, ref.high), abs=1e-12)


def test_planted_legacy_link_recovered(national):
    """Synth: system quality latent = 0.6 x (survey legacy factor / SD) + noise, so inventory
    quality and the survey's Digitalt arv (arv) must correlate positively; truth.json gives the
    realised correlation of organisation mean technical quality with the *true* arv % of 2024."""
    truth = national["truth"]["legacy_link"]
    planted = truth["corr_org_mean_technical_quality_vs_true_arv_pct_2024"]
    link = dios.legacy_vs_survey(national["systems"], national["scores"],
                                 measure="mean_technical_quality", year=2024)
    assert link.n == 36
    r = link.correlations.set_index("method")
    assert r.at["pearson", "estimate"] > 0 and r.at["pearson", "p_value"] < 0.01
    assert r.at["pearson", "ci_low"] <= planted <= r.at["pearson", "ci_high"]
    slope = link.regression.set_index("term").loc["mean_technical_quality"]
    assert slope["ci_low"] > 0  # positive slope, interval excluding 0
    # the same data with numpy/statsmodels-free arithmetic: OLS slope = r * sd_y / sd_x
    d = link.data
    hand = np.corrcoef(d["mean_technical_quality"], d["score_pct"])[0, 1] * d["score_pct"].std() \
        / d["mean_technical_quality"].std()
    assert slope["coef"] == pytest.approx(hand)
    # the legacy index (high = heavy legacy) goes the other way
    idx = dios.legacy_vs_survey(national["systems"], national["scores"], year=2024)
    assert idx.correlations.set_index("method").at["pearson", "ci_high"] < 0
    assert "LegacyLink(legacy_index vs arv, 2024, n=36" in repr(idx)


def test_legacy_vs_survey_too_few(dios_study_path):
    systems = dios.load_systems(dios_study_path)
    scores = pd.DataFrame({"org_id": ["9065", "9111"], "round": 2024, "level": "dimension",
                           "name": "arv", "score_pct": [40.0, 50.0]})
    with pytest.raises(MognadError, match="no year has at least 4 organisations"):
        dios.legacy_vs_survey(systems, scores)
    assert dios.legacy_vs_survey(systems, scores, too_few="none") is None
    with pytest.raises(MognadError, match="unknown measure"):
        dios.legacy_vs_survey(systems, scores, measure="nonsense")


def test_peer_comparison(dios_study_path):
    systems = dios.load_systems(dios_study_path, year=2024)
    out = dios.peer_comparison(systems, "9116").set_index("measure")
    idx = dios.legacy_index(systems).set_index("org_id")
    assert out.at["legacy_index", "value"] == pytest.approx(idx.at["9116", "legacy_index"])
    assert out.at["legacy_index", "n_peers"] == len(idx) - 1
    others = idx.drop(index="9116")["legacy_index"]
    assert out.at["legacy_index", "peer_median"] == pytest.approx(others.median())
    below = (others < idx.at["9116", "legacy_index"]).mean()
    assert out.at["legacy_index", "better_than_share"] == pytest.approx(1 - below)


def _wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    # Wilson score interval by hand: (p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)
    p = k / n
    centre, half = p + z * z / (2 * n), z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)


def test_compliance_vs_others_by_hand():
    """Newcombe's hybrid score interval (Newcombe 1998, method 10) written out from the two
    Wilson intervals: L = d - sqrt((p1-l1)² + (u2-p2)²), U = d + sqrt((u1-p1)² + (p2-l2)²)."""
    own = pd.DataFrame({"org_id": "a", "system_id": [f"a{i}" for i in range(12)],
                        "open_api": ["ja"] * 3 + ["nej"] * 9, "open_standards": "ja",
                        "data_ownership": ["ja"] * 11 + ["vet ej"]})
    others = pd.DataFrame({"org_id": ["b"] * 30 + ["c"] * 30,
                           "system_id": [f"x{i}" for i in range(60)],
                           "open_api": ["ja"] * 42 + ["nej"] * 18, "open_standards": "ja",
                           "data_ownership": "ja"})
    out = dios.compliance_vs_others(pd.concat([own, others]), "a").set_index("requirement")
    r = out.loc["open_api"]
    p1, p2 = 3 / 12, 42 / 60
    (l1, u1), (l2, u2) = _wilson(3, 12), _wilson(42, 60)
    assert r["difference"] == pytest.approx(p1 - p2)
    assert r["diff_ci_low"] == pytest.approx(p1 - p2 - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2))
    assert r["diff_ci_high"] == pytest.approx(p1 - p2 + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))
    assert bool(r["clear"]) and r["n_others"] == 2
    assert (r["ci_low"], r["ci_high"]) == pytest.approx(_wilson(3, 12))
    # data ownership: 11 of 11 known against 60 of 60, no clear difference; 1 unknown left out
    d = out.loc["data_ownership"]
    assert (d["n_known"], d["others_n_known"], d["difference"]) == (11, 60, 0.0)
    assert not bool(d["clear"])
    with pytest.raises(MognadError, match="no systems"):
        dios.compliance_vs_others(others, "a")


def test_report_tables_are_formatted_and_escaped():
    from mognad.present import dios as show

    summary = pd.DataFrame({"time": ["invest", "unassessed"], "n_systems": [4, 1],
                            "share": [0.1053, 0.0263], "cost_sek": [3_610_000.0, 1_209_400.0],
                            "cost_share": [0.1335, 0.0447]})
    html = str(show.time_table(summary, "sv"))
    for cell in (">Investera<", ">Ej bedömd<", ">11\xa0%<", ">3\xa0610\xa0tkr<",
                 ">1\xa0209\xa0tkr<", ">4\xa0%<", ">TIME-åtgärd</th>", ">Kostnadsandel</th>"):
        assert cell in html, cell
    cands = pd.DataFrame({"system_name": ["<script>x</script>"], "domain": ["Skola"],
                          "vendor": [None], "reason": ["planned"], "annual_cost_sek": [450_000.0],
                          "freed_cost_sek": [450_000.0]})
    html = str(show.candidates_table(cands, "en"))
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert ">Planned decommissioning<" in html and ">450\xa0kSEK<" in html
    assert "– = not available." in html     # the missing vendor, with the footnote
    assert "No system" in str(show.candidates_table(cands.iloc[:0], "en"))
    peers = pd.DataFrame({"measure": ["legacy_index", "old_share", "mean_quality"],
                          "value": [46.71, 0.1305, 2.071], "n_peers": 7,
                          "peer_median": [51.0, 0.22, 2.33], "peer_q1": [41.6, 0.18, 2.13],
                          "peer_q3": [52.4, 0.28, 2.49],
                          "better_than_share": [0.5714, 0.857, 0.2857]})
    html = str(show.peers_table(peers, "sv"))
    for cell in (">46,7<", ">13\xa0%<", ">2,07<", ">41,6–52,4<", ">18–28\xa0%<", ">57\xa0%<",
                 ">Arvsindex (0–100)<"):
        assert cell in html, cell


def test_compliance_sentences_say_what_is_clear():
    from mognad.present import dios as show

    versus = pd.DataFrame({"requirement": ["open_api", "open_standards", "all"],
                           "share": [0.63, 0.74, 0.9], "others_share": [0.79, 0.79, 0.6],
                           "difference": [-0.16, -0.05, 0.3],
                           "diff_ci_low": [-0.33, -0.22, 0.1],
                           "diff_ci_high": [-0.016, 0.07, 0.5]})
    lines = show.compliance_sentences(versus, "sv").replace("\\", "").split("\n")
    assert "tydligt lägre (−16,0\xa0p.e., 95\xa0% KI −33,0 till −1,6)" in lines[0]
    assert "inom den statistiska osäkerheten" in lines[1]
    assert "tydligt högre" in lines[2]


# --------------------------------------------------------------------------- notebooks
# Both report notebooks are executed in tests/test_report_escaping.py (with hostile names).


def test_notebook_parameters_match_brief():
    import ast

    for nb, names in (("dios_report.ipynb", {"study", "org_id", "year", "lang"}),
                      ("dios_national.ipynb", {"study", "year", "lang"})):
        cell = json.loads((NOTEBOOKS / nb).read_text(encoding="utf-8"))["cells"][0]
        tree = ast.parse("".join(cell["source"]))
        assigned = {t.id for node in tree.body if isinstance(node, ast.Assign)
                    for t in node.targets}
        assert names <= assigned, (nb, assigned)
