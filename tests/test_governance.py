"""Case-study formats (budgets, requests, training) and the governance analyses.

Planted truths come from ``truth.json`` of the small synthetic study (``synthesize(profile=
"small")``, docs/synthetic_study.md): funding-model change per municipality, the request queue
(arrivals, decision delay, capacity and the capacity gap before/after) and the budget shares.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from mognad import governance as gv
from mognad.errors import ValidationError
from mognad.io.ingest import detect_kind, ingest
from mognad.io.store import open_study

CASE_FILES = ("budgets.csv", "requests.csv", "training.csv")


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def case_study_path(small_data, small_study_path, tmp_path_factory):
    """The small study (survey inputs) plus the three case-study files (treat as read-only)."""
    dest = tmp_path_factory.mktemp("gov") / "study"
    shutil.copytree(small_study_path, dest)
    ingest([small_data / "cases" / f for f in CASE_FILES], study=dest)
    return dest


@pytest.fixture(scope="module")
def case_study(case_study_path):
    return open_study(case_study_path)


@pytest.fixture(scope="module")
def truth(small_data):
    return json.loads((small_data / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def requests_log(case_study):
    return gv.load_requests(case_study)


@pytest.fixture(scope="module")
def changes(case_study, requests_log):
    return gv.funding_change_dates(case_study.events, requests=requests_log)


@pytest.fixture()
def events_study(tmp_path, small_data, small_study_path):
    """A writable study with the registry and events (no case files yet)."""
    path = tmp_path / "events_study"
    shutil.copytree(small_study_path, path)
    return path


@pytest.fixture(scope="module")
def shared_study(case_study_path, tmp_path_factory):
    """A copy of the case study for the rejection tests: a rejected file changes nothing, and
    every test checks exactly that, so they can share one store."""
    path = tmp_path_factory.mktemp("reject") / "study"
    shutil.copytree(case_study_path, path)
    return path


TABLES = ("provenance", "organisations", "respondents", "answers", "invitations", "events",
          "budgets", "requests", "training")


def snapshot(path) -> dict:
    """Row count and an order-free content hash of every table ingest may change."""
    study = open_study(path)
    con = study.connect()
    try:
        have = set(con.execute("SELECT table_name FROM information_schema.tables").df()
                   ["table_name"])
        return {t: con.execute(f"SELECT count(*), sum(hash(x)) FROM {t} x").fetchall()[0]
                for t in TABLES if t in have}
    finally:
        con.close()


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


def cases_frame(small_data, name: str) -> pd.DataFrame:
    return pd.read_csv(small_data / "cases" / name, dtype=str, keep_default_na=False)


# --------------------------------------------------------------------------- formats and ingest
def test_kinds_detected_without_collisions():
    # canonical names after mognad.io.ingest's own mapping (year -> round)
    assert detect_kind(["org_id", "round", "kind", "amount_sek", "funding_model"]) == "budgets"
    assert detect_kind(["request_id", "org_id", "unit", "received", "decided", "status"]) \
        == "requests"
    assert detect_kind(["participant", "function", "phase", "q01", "q02"]) == "training"
    # the built-in kinds keep their files
    assert detect_kind(["org_id", "date", "kind", "text"]) == "events"
    assert detect_kind(["org_id", "round", "respondent_id", "unit", "role", "q01"]) == "responses"
    assert detect_kind(["org_id", "name", "org_type"]) == "organisations"
    assert detect_kind(["org_id", "round", "unit", "invited"]) == "invitations"
    # Swedish headers
    assert detect_kind(["org_id", "round", "slag", "belopp", "finansieringsmodell"]) == "budgets"
    assert detect_kind(["ärende_id", "org_id", "inkommen", "status"]) == "requests"
    assert detect_kind(["deltagare", "funktion", "fas", "q01"]) == "training"


def test_ingest_all_three(case_study, small_data):
    counts = {t: len(case_study.table(t)) for t in ("budgets", "requests", "training")}
    # rows of the synthetic files (training is stored long: one row per answer)
    assert counts["budgets"] == len(cases_frame(small_data, "budgets.csv"))
    assert counts["requests"] == len(cases_frame(small_data, "requests.csv"))
    assert counts["training"] == len(cases_frame(small_data, "training.csv")) * 30
    b = gv.load_budgets(case_study)
    assert set(b["kind"]) == set(gv.BUDGET_KINDS)
    assert b["amount_sek"].dtype == float
    r = gv.load_requests(case_study)
    assert pd.api.types.is_datetime64_any_dtype(r["received"])
    assert set(r["status"]) <= set(gv.STATUSES)


def test_training_participants_are_pseudonymised(case_study, small_data, truth):
    t = gv.load_training(case_study)
    raw = cases_frame(small_data, "training.csv")["participant"]
    assert not set(raw) & set(t["participant"]), "raw participant ids reached the store"
    assert not t["participant"].str.contains("@").any()
    assert set(t["org_id"]) == {truth["training"]["org_id"]}  # from the course_start event
    assert set(t["course"]) == {truth["training"]["course_start"]}
    # the same key as the survey: follow-up respondents link without their raw ids
    resp = case_study.sql("SELECT DISTINCT respondent_id FROM respondents WHERE org_id = ?",
                          [truth["training"]["org_id"]])
    linked = len(set(t["participant"]) & set(resp["respondent_id"]))
    assert linked == truth["training"]["follow_up_respondents_among_participants"]


def test_reingest_is_idempotent(events_study, small_data, tmp_path):
    files = [small_data / "cases" / f for f in CASE_FILES]
    ingest(files, study=events_study)
    before = snapshot(events_study)
    assert {r.status for r in ingest(files, study=events_study)} == {"unchanged"}
    # the same rows in another file (other separator and order, a subset): nothing added
    for name in CASE_FILES:
        frame = cases_frame(small_data, name).iloc[::-1].head(30)
        f = tmp_path / f"again_{name}"
        frame.to_csv(f, sep=";", index=False)
        res = ingest(f, study=events_study)
        assert res[0].status == "added" and res[0].rows_added == 0, res
    after = snapshot(events_study)
    for table in ("budgets", "requests", "training"):
        assert after[table] == before[table]


def test_conflicting_rows_rejected(shared_study, small_data, tmp_path):
    events_study = shared_study
    b = cases_frame(small_data, "budgets.csv").head(3)
    b.loc[1, "amount_sek"] = "1"
    f = tmp_path / "b.csv"
    b.to_csv(f, index=False)
    reject(f, events_study, "b.csv, row 3, column kind", "already in the store with other values")

    r = cases_frame(small_data, "requests.csv").head(2)
    r.loc[0, "unit"] = "Kommunledningskontoret"
    f = tmp_path / "r.csv"
    r.to_csv(f, index=False)
    reject(f, events_study, "r.csv, row 2, column request_id", "already in the store")

    t = cases_frame(small_data, "training.csv").head(2)
    t.loc[1, "q05"] = "6" if t.loc[1, "q05"] != "6" else "1"
    f = tmp_path / "t.csv"
    t.to_csv(f, index=False)
    reject(f, events_study, "t.csv, row 3, column participant",
           "already in the store with other values")


@pytest.mark.parametrize("change, fragments", [
    ({"kind": "investering"}, ["row 2, column kind", "'investering'", "must be one of drift"]),
    ({"amount_sek": "-5"}, ["row 2, column amount_sek", "'-5'", "an amount in SEK"]),
    ({"amount_sek": "tolv"}, ["row 2, column amount_sek", "'tolv'"]),
    ({"year": "20x9"}, ["row 2, column year", "calendar year"]),
    ({"org_id": "9999"}, ["row 2, column org_id", "organisation registry"]),
    ({"funding_model": "gratis"}, ["row 2, column funding_model", "central, intern_prissattning"]),
    ({"funding_model": "intern_prissattning"}, ["column funding_model", "differs between the lines"]),
    ({"amount_sek": ""}, ["row 2, column amount_sek", "a value is required"]),
])
def test_bad_budgets(shared_study, small_data, tmp_path, change, fragments):
    frame = cases_frame(small_data, "budgets.csv").head(8)
    for col, value in change.items():
        frame.loc[0, col] = value
    f = tmp_path / "budgets_bad.csv"
    frame.to_csv(f, index=False)
    reject(f, shared_study, "budgets_bad.csv", "nothing was ingested", *fragments)


def test_budgets_structure_errors(shared_study, small_data, tmp_path):
    events_study = shared_study
    frame = cases_frame(small_data, "budgets.csv").head(4)
    f = tmp_path / "dup.csv"
    pd.concat([frame, frame.head(1)]).to_csv(f, index=False)
    reject(f, events_study, "dup.csv, row 6, column kind", "appear earlier in the file")
    f = tmp_path / "nomodel.csv"
    frame.drop(columns="funding_model").to_csv(f, index=False)
    reject(f, events_study, "missing required column(s) funding_model")
    f = tmp_path / "extra.csv"
    frame.assign(kommentar="x").to_csv(f, index=False)
    reject(f, events_study, "column kommentar", "unknown column for a budgets file")


def test_budgets_swedish_spellings(fresh_study, tmp_path):
    f = tmp_path / "budget_sv.csv"
    f.write_bytes("org_id;År;Slag;Belopp;Finansieringsmodell\n"
                  "9116;2025;Drift;12 500 000;Intern prissättning\n"
                  "9116;2025;Förvaltning;4 000 000,50;köp-sälj\n"
                  "9116;2025;Innovation;1 000 000;intern prissättning\n".encode("cp1252"))
    assert ingest(f, study=fresh_study)[0].rows_added == 3
    b = gv.load_budgets(open_study(fresh_study))
    assert b["kind"].tolist() == ["drift", "forvaltning", "nyutveckling"]
    assert b["amount_sek"].tolist() == [12_500_000.0, 4_000_000.5, 1_000_000.0]
    assert set(b["funding_model"]) == {"intern_prissattning"}


@pytest.mark.parametrize("row, change, fragments", [
    (1, {"received": "2018-13-40"}, ["row 3, column received", "YYYY-MM-DD"]),
    (1, {"delivered": "2018-01-01"}, ["row 3, column delivered", "before started"]),
    (1, {"delivered": ""}, ["row 3, column status", "levererad needs a delivered date"]),
    (1, {"status": "kanske"}, ["row 3, column status", "'kanske'", "must be one of levererad"]),
    (0, {"started": "2018-01-20"}, ["row 2, column status", "avslagen needs a decided date and "
                                    "no started date"]),
    (1, {"owner": "konsult"}, ["row 3, column owner", "verksamhet, central_it"]),
    (1, {"strategic": "kanske"}, ["row 3, column strategic", "ja or nej"]),
    (1, {"estimated_cost_sek": "dyr"}, ["row 3, column estimated_cost_sek"]),
    (1, {"request_id": "9116-U00001"}, ["row 3, column request_id", "appears earlier"]),
    (1, {"received": ""}, ["row 3, column received", "a value is required"]),
])
def test_bad_requests(shared_study, small_data, tmp_path, row, change, fragments):
    frame = cases_frame(small_data, "requests.csv").head(6)
    assert frame.loc[0, "status"] == "avslagen" and frame.loc[1, "status"] == "levererad"
    for col, value in change.items():
        frame.loc[row, col] = value
    f = tmp_path / "requests_bad.csv"
    frame.to_csv(f, index=False)
    reject(f, shared_study, "requests_bad.csv", *fragments)


@pytest.mark.parametrize("change, fragments", [
    ({"phase": "mitt"}, ["row 2, column phase", "'mitt'", "pre or post"]),
    ({"q07": "7"}, ["row 2, column q07", "'7'", "1–6 or vet ej"]),
    ({"q07": "tre"}, ["row 2, column q07", "not a number"]),
    ({"function": "politiker"}, ["column function", "differs between the rows of the same "
                                 "participant"]),
    ({"participant": ""}, ["row 2, column participant", "a value is required"]),
])
def test_bad_training(shared_study, small_data, tmp_path, change, fragments):
    frame = cases_frame(small_data, "training.csv").head(4)
    for col, value in change.items():
        frame.loc[0, col] = value
    f = tmp_path / "training_bad.csv"
    frame.to_csv(f, index=False)
    reject(f, shared_study, "training_bad.csv", *fragments)


def test_training_structure_errors(shared_study, fresh_study, small_data, tmp_path):
    events_study = shared_study
    frame = cases_frame(small_data, "training.csv").head(4)
    f = tmp_path / "dup.csv"
    pd.concat([frame, frame.head(1)]).to_csv(f, index=False)
    reject(f, events_study, "dup.csv, row 6, column phase", "already has this phase")
    f = tmp_path / "q31.csv"
    frame.assign(q31="3").to_csv(f, index=False)
    reject(f, events_study, "column q31", "unknown item id")
    # without org_id/course columns the course comes from the single course_start event;
    # a study without one gets a clear message instead of a guess
    f = tmp_path / "training.csv"
    frame.to_csv(f, index=False)
    reject(f, fresh_study, "cannot tell which course this is", "0 course_start events",
           "add the columns org_id and course")
    # with the columns it works in that study too
    frame.insert(0, "course", "kurs-2022")
    frame.insert(0, "org_id", "9142")
    f = tmp_path / "training_cols.csv"
    frame.to_csv(f, index=False)
    assert ingest(f, study=fresh_study)[0].rows_added == 4 * 30
    assert set(gv.load_training(open_study(fresh_study))["course"]) == {"kurs-2022"}
    # or give them as parameters
    f = tmp_path / "training_post.csv"
    cases_frame(small_data, "training.csv").iloc[4:8].to_csv(f, index=False)
    res = gv.ingest_training(f, study=fresh_study, org_id="9142", course="kurs-2022")
    assert res[0].rows_added == 4 * 30 and res[0].file == "training_post.csv"
    assert gv.load_training(open_study(fresh_study))["participant"].nunique() == 4


# --------------------------------------------------------------------------- flow and queue
def test_flow_accounting_identities(requests_log):
    flow = gv.monthly_flow(requests_log)
    for _org, g in flow.groupby("org_id"):
        d_backlog = g["backlog"].diff().iloc[1:]
        closed = (g["arrivals"] - g["completions"] - g["rejected"]).iloc[1:]
        assert (d_backlog == closed).all()
        d_queue = g["queue"].diff().iloc[1:]
        assert (d_queue == (g["accepted"] - g["starts"]).iloc[1:]).all()
        assert (g["backlog"] == g["undecided"] + g["queue"] + g["in_progress"]).all()
    # every request arrives exactly once
    assert flow["arrivals"].sum() == len(requests_log)


def test_change_dates_from_events_and_log(case_study, requests_log, truth):
    planted = {o: pd.Timestamp(g["funding_change_date"]) for o, g in truth["governance"].items()}
    assert gv.funding_change_dates(case_study.events).to_dict() == planted
    # without events: the first request received under internal pricing
    from_log = gv.funding_change_dates(None, requests=requests_log)
    for org, date in planted.items():
        assert date <= from_log[org] <= date + pd.Timedelta(days=31)
    assert gv.governance_orgs(case_study) == sorted(planted)


def test_capacity_gap_recovers_planted(requests_log, changes, truth):
    flow = gv.monthly_flow(requests_log)
    gap = gv.capacity_gap(flow, change_dates=changes)
    for org, g in truth["governance"].items():
        q = g["requests"]
        for period in ("before", "after"):
            row = gap[(gap["org_id"] == org) & (gap["period"] == period)].iloc[0]
            planted = q["capacity_gap_per_month"][period]
            assert row["gap_ci_low"] <= planted <= row["gap_ci_high"], (
                f"{org} {period}: planted gap {planted}, estimated {row['gap_per_month']:.2f} "
                f"[{row['gap_ci_low']:.2f}, {row['gap_ci_high']:.2f}]")
            # capacity = starts in months that began with a queue: the planted start rate
            cap = q["capacity_per_month"][period]
            assert abs(row["capacity_per_month"] - cap) / cap < 0.05, (
                f"{org} {period}: planted capacity {cap}, estimated {row['capacity_per_month']}")


def test_capacity_needed(requests_log):
    flow = gv.monthly_flow(requests_log)
    need = gv.capacity_needed(flow, months=12, window=12, target_wait_days=30)
    for row in need.itertuples():
        last = flow[flow["org_id"] == row.org_id].tail(12)
        a = last["accepted"].mean()
        q = last["queue"].iloc[-1]
        # hand formula: a + (Q - a * 30 / 30.44) / 12
        assert row.capacity_needed == pytest.approx(a + (q - a * 30 / (365.25 / 12)) / 12)
        assert row.needed_ci_low < row.capacity_needed < row.needed_ci_high
        assert row.extra_capacity > 0  # the planted queues grow until the end


def test_funding_effect_recovers_planted(requests_log, changes, truth):
    eff = gv.funding_effect(requests_log, change_dates=changes,
                            outcomes=["arrivals", "decision_days", "lead_time_days"])
    for org, g in truth["governance"].items():
        q = g["requests"]
        e = eff[eff["org_id"] == org].set_index(["outcome", "term"])
        ratio = q["arrivals_per_month"]["after"] / q["arrivals_per_month"]["before"]
        for term in ("level_change", "mean_change"):
            lo, est, hi = e.loc[("arrivals", term), ["ci_low", "estimate", "ci_high"]]
            assert lo <= ratio <= hi, (f"{org} arrivals {term}: planted rate ratio {ratio:.3f}, "
                                       f"estimated {est:.3f} [{lo:.3f}, {hi:.3f}]")
        planted = q["decision_days_increase"]
        for term in ("level_change", "mean_change"):
            lo, est, hi = e.loc[("decision_days", term), ["ci_low", "estimate", "ci_high"]]
            assert lo <= planted <= hi, (f"{org} decision days {term}: planted +{planted}, "
                                         f"estimated {est:.1f} [{lo:.1f}, {hi:.1f}]")
        # total lead time lengthens by more than the decision delay (the queue grows)
        lo, est = e.loc[("lead_time_days", "mean_change"), ["ci_low", "estimate"]]
        assert lo > planted, (f"{org}: total lead time +{est:.0f} days (lower bound {lo:.0f}) "
                              f"should exceed the planted decision delay +{planted}")


def test_lead_time_summary_matches_plain_quantiles_without_censoring(requests_log, changes):
    lead = gv.lead_times(requests_log, change_dates=changes)
    summary = gv.lead_time_summary(lead, measure="decision_days")
    for row in summary[summary["period"] == "before"].itertuples():
        x = np.sort(lead.loc[(lead["org_id"] == row.org_id) & (lead["period"] == "before"),
                             "decision_days"].to_numpy())
        assert row.n_censored == 0
        # Kaplan-Meier without censoring: the smallest t with S(t) <= 0.5
        assert row.q50 == x[int(np.ceil(len(x) / 2)) - 1]
    after = summary[summary["period"] == "after"]
    assert (after["n_censored"] > 0).all()


def test_littles_law(requests_log):
    # a stationary queue: exactly one request every 3 days, each open 30 days -> L = 10
    received = pd.date_range("2021-01-01", "2023-12-31", freq="3D")
    log = pd.DataFrame({"org_id": "0114", "request_id": range(len(received)),
                        "received": received, "decided": received, "started": received,
                        "delivered": received + pd.Timedelta(days=30), "status": "levererad"})
    ll = gv.littles_law(log, as_of="2023-12-31")
    assert ll["L"].iloc[-1] == pytest.approx(10.0, rel=0.01)
    assert ll["ratio"].iloc[1:].to_numpy() == pytest.approx(1.0, abs=0.01)
    # the planted queues grow: complete years have lambda W >= L (never much below)
    ll = gv.littles_law(requests_log)
    done = ll[ll["censored_share"] == 0]
    assert (done["ratio"] > 0.95).all() and (done["ratio"] < 1.3).all()
    assert ll.loc[ll["censored_share"] > 0.05, "consistent"].isna().all()


def test_spending_shares_recover_planted(case_study, changes, truth):
    shares = gv.spending_shares(gv.load_budgets(case_study))
    assert np.allclose(shares["exploration_share"] + shares["exploitation_share"], 1.0)
    change = gv.share_change(shares, change_dates=changes).set_index("org_id")
    for org, g in truth["governance"].items():
        b = g["budgets"]
        planted = b["development_share_after"] - b["development_share_before"]
        row = change.loc[org]
        assert row["ci_low"] <= planted <= row["ci_high"], (
            f"{org}: planted development share change {planted:+.3f}, estimated "
            f"{row['change']:+.3f} [{row['ci_low']:+.3f}, {row['ci_high']:+.3f}]")
        # peers are the other organisations with budgets the same year
        assert (shares.loc[shares["org_id"] == org, "n_peers"] == 3).all()


def test_spending_vs_maturity(case_study):
    shares = gv.spending_shares(gv.load_budgets(case_study))
    scores = gv.category_scores(case_study, org_id=["9116", "9226"])
    both = gv.spending_vs_maturity(shares, scores)
    assert len(both) == len(shares)
    have = both.dropna(subset=["innovation_pct"])
    assert set(have["org_id"]) == {"9116", "9226"}
    assert (have["innovation_ci_low"] <= have["innovation_pct"]).all()


# --------------------------------------------------------------------------- the report
# The notebook itself runs in tests/test_report_escaping.py (with hostile names).
def test_survival_curves_without_censoring_are_the_empirical_survival():
    """Without censoring, Kaplan-Meier is 1 - the empirical distribution function (by hand)."""
    lead = pd.DataFrame({"org_id": "0114", "period": ["before"] * 5 + ["after"] * 2,
                         "lead_time_days": [5.0, 5, 10, 20, 40, 30, 60],
                         "lead_time_days_observed": True})
    curves = gv.survival_curves(lead)
    before = curves[curves["period"] == "before"]
    assert before["days"].tolist() == [0.0, 5.0, 10.0, 20.0, 40.0]
    assert before["survival"].tolist() == pytest.approx([1.0, 0.6, 0.4, 0.2, 0.0])
    assert set(curves["n"]) == {5, 2}


def test_governance_sentences_put_uncertainty_into_words():
    from mognad.present import governance as show

    names = {"1": "<b>Kustvik</b>"}
    gap = pd.DataFrame({"org_id": "1", "period": ["all", "before", "after"],
                        "n_months": [60, 24, 33], "accepted_per_month": [11.0, 12.0, 10.0],
                        "starts_per_month": [10.5, 10.6, 9.6], "gap_per_month": [0.5, 1.36, 0.42],
                        "gap_ci_low": [0.1, 0.35, -0.14], "gap_ci_high": [0.9, 2.37, 0.99],
                        "queue_end": [10, 49, 86]})
    lines = show.gap_sentences(gap, names, "sv").replace("\\", "").split("\n")
    assert len(lines) == 2 and "före bytet" in lines[0] and "efter bytet" in lines[1]
    assert "&lt;b&gt;Kustvik" in lines[0]
    assert "kön växte med 1,36 ärenden per månad (95\xa0% KI +0,35 till +2,37)" in lines[0]
    assert "omfattar noll" in lines[1]
    html = str(show.gap_table(gap, names, "sv"))
    assert html.count("<tr>") + html.count('<tr class="mark">') == 3   # header + before + after
    for header in ("Organisation", "Period", "Mån.", "Beviljade/mån", "Påbörjade/mån",
                   "Glapp/mån", "95\xa0% KI", "Kö vid slut"):
        assert f">{header}</th>" in html, header
    effects = pd.DataFrame({"org_id": "1", "outcome": ["arrivals", "decision_days",
                                                         "lead_time_days"],
                            "term": "mean_change", "scale": ["ratio", "days", "days"],
                            "estimate": [0.68, 27.7, 3.0], "ci_low": [0.61, 25.4, -4.0],
                            "ci_high": [0.76, 30.1, 9.0], "n_before": 24, "n_after": 36})
    text = show.effect_sentences(effects, names, {"1": "2020-01-01"}, "en").replace("\\", "")
    assert "factor of 0.68 (95% CI 0.61–0.76), a clear change" in text
    assert "+28 days (95% CI +25 to +30), a clear change" in text
    assert "+3 days (95% CI -4 to +9), within the statistical uncertainty" in text
    html = str(show.effects_table(effects, names, "sv"))
    assert ">0,68<" in html and ">0,61–0,76<" in html and ">+27,7<" in html
    assert ">Inkomna beställningar per månad<" in html and ">Före/efter<" in html
