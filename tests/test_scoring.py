"""Tests for mognad.scoring: scores, intervals, type probabilities and ranks.

Expected numbers come from hand-worked arithmetic (shown beside each number), from scipy's t
quantile applied by hand, from the analytic expectation of a planted ordinal model, or from the
truth that ``mognad.synth`` writes (normal CDFs of its latent model), never from scoring code.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from mognad.codebook import load_codebook, resolve_codebook_path
from mognad.errors import MognadError
from mognad.scoring import bootstrap_scores, classify, rank_in_peers, score, to_long

CB = load_codebook()
ITEMS = CB.item_ids
CATS = {  # category -> its five items (default codebook)
    "effektivitet": ITEMS[0:5],
    "innovation": ITEMS[5:10],
    "balansering": ITEMS[10:15],
    "infrastruktur": ITEMS[15:20],
    "information": ITEMS[20:25],
    "forvaltning": ITEMS[25:30],
}
TOL = 1e-9


def respondent(**per_category) -> dict:
    """Answers of one respondent: a value (all five items) or a list of five per category."""
    out = {}
    for cat, items in CATS.items():
        v = per_category[cat]
        vals = v if isinstance(v, list) else [v] * 5
        out.update(dict(zip(items, vals, strict=True)))
    return out


def long_frame(rows: list[dict], **ids) -> pd.DataFrame:
    """Long responses from wide dicts (each with respondent_id and maybe unit/org_id/round)."""
    wide = pd.DataFrame(rows)
    for col, v in {"org_id": "1384", "round": 2024, **ids}.items():
        if col not in wide:
            wide[col] = v
    wide = wide.astype({i: "Int64" for i in ITEMS})
    return to_long(wide)


def pick(scores: pd.DataFrame, name: str, **where) -> pd.Series:
    sel = scores["name"] == name
    for col, v in where.items():
        sel &= scores[col] == v
    assert sel.sum() == 1, (name, where)
    return scores.loc[sel].iloc[0]


# ----------------------------------------------------------------------------- hand-worked example
# Three respondents, all 30 items, r1 answers "don't know" (<NA>) to q01.
# pomp: pct = (mean - 1) / 5 * 100 = (mean - 1) * 20.
R1 = respondent(effektivitet=[None, 4, 4, 5, 5], innovation=3, balansering=4,
                infrastruktur=2, information=3, forvaltning=5)
R2 = respondent(effektivitet=[2, 3, 3, 4, 3], innovation=4, balansering=[4, 4, 5, 5, 5],
                infrastruktur=3, information=2, forvaltning=4)
R3 = respondent(effektivitet=[6, 6, 5, 6, 6], innovation=5, balansering=6,
                infrastruktur=[1, 2, 1, 2, 1], information=4, forvaltning=3)
HAND = [dict(respondent_id="r1", **R1), dict(respondent_id="r2", **R2),
        dict(respondent_id="r3", **R3)]


@pytest.fixture(scope="module")
def hand_scores() -> pd.DataFrame:
    return score(long_frame(HAND), n_boot=200, seed=3)


def test_hand_worked_categories(hand_scores):
    expected = {
        # r1: (4+4+5+5)/4 = 4.5 -> 70 (q01 don't know: 4 items, not 5, and never a 0)
        # r2: (2+3+3+4+3)/5 = 3 -> 40;  r3: (6+6+5+6+6)/5 = 5.8 -> 96
        "effektivitet": (70 + 40 + 96) / 3,  # = 206/3 = 68.666...
        # r1: 3 -> 40, r2: 4 -> 60, r3: 5 -> 80
        "innovation": (40 + 60 + 80) / 3,  # = 60
        # r1: 4 -> 60, r2: (4+4+5+5+5)/5 = 4.6 -> 72, r3: 6 -> 100
        "balansering": (60 + 72 + 100) / 3,  # = 232/3 = 77.333...
        # r1: 2 -> 20, r2: 3 -> 40, r3: (1+2+1+2+1)/5 = 1.4 -> 8
        "infrastruktur": (20 + 40 + 8) / 3,  # = 68/3 = 22.666...
        # r1: 3 -> 40, r2: 2 -> 20, r3: 4 -> 60
        "information": (40 + 20 + 60) / 3,  # = 40
        # r1: 5 -> 80, r2: 4 -> 60, r3: 3 -> 40
        "forvaltning": (80 + 60 + 40) / 3,  # = 60
    }
    for cat, value in expected.items():
        row = pick(hand_scores, cat)
        assert row["level"] == "category"
        assert row["score_pct"] == pytest.approx(value, abs=TOL)
        assert row["n_respondents"] == 3
    assert pick(hand_scores, "effektivitet")["n_answers"] == 14  # 4 + 5 + 5 answers
    assert pick(hand_scores, "innovation")["n_answers"] == 15


def test_hand_worked_dimensions_total_items(hand_scores):
    # formaga = (206/3 + 60 + 232/3) / 3 = (206 + 180 + 232) / 9 = 618/9 = 68.666...
    assert pick(hand_scores, "formaga")["score_pct"] == pytest.approx(618 / 9, abs=TOL)
    # arv = (68/3 + 40 + 60) / 3 = (68 + 120 + 180) / 9 = 368/9 = 40.888...
    assert pick(hand_scores, "arv")["score_pct"] == pytest.approx(368 / 9, abs=TOL)
    # total = (618/9 + 368/9) / 2 = 986/18 = 54.777...
    assert pick(hand_scores, "total")["score_pct"] == pytest.approx(986 / 18, abs=TOL)
    assert pick(hand_scores, "total")["n_answers"] == 89  # 90 answers minus one don't know
    # q01: r1 don't know, r2 = 2, r3 = 6 -> mean 4 -> 60 from 2 answers
    q01 = pick(hand_scores, "q01")
    assert (q01["level"], q01["score_pct"], q01["n_respondents"], q01["n_answers"]) == (
        "item", pytest.approx(60.0, abs=TOL), 2, 2)
    # q16: 2, 3, 1 -> mean 2 -> 20
    assert pick(hand_scores, "q16")["score_pct"] == pytest.approx(20.0, abs=TOL)


def test_output_contract(hand_scores):
    assert list(hand_scores.columns) == [
        "org_id", "round", "level", "name", "score_pct", "n_respondents", "n_answers",
        "ci_low", "ci_high"]
    assert len(hand_scores) == 1 + 2 + 6 + 30
    assert hand_scores["level"].tolist()[:9] == ["total"] + ["dimension"] * 2 + ["category"] * 6
    assert hand_scores["org_id"].iloc[0] == "1384"
    # the default t-interval by hand for q16 (answers 2, 3, 1 -> 20, 40, 0 %): mean 20, sd 20,
    # se 20 / sqrt(3) = 11.547005, t(0.975, 2) = 4.302653 -> 20 +/- 49.683, clipped at 0
    q16 = pick(hand_scores, "q16")
    assert (q16["ci_low"], q16["ci_high"]) == pytest.approx((0.0, 20 + 4.302653 * 11.547005),
                                                            abs=1e-4)


def test_hand_worked_type():
    # x = formaga = 68.67 >= 50 (high), y = arv = 40.89 < 50 (low) -> B. In every resample too:
    # each respondent's formaga is >= 50 (56.7, 57.3, 92) and arv < 50 (46.7, 40, 36).
    out = classify(long_frame(HAND), n_boot=300)
    row = out.iloc[0]
    assert row["type"] == "B"
    assert row["x_pct"] == pytest.approx(618 / 9, abs=TOL)
    assert row["y_pct"] == pytest.approx(368 / 9, abs=TOL)
    assert (row["p_A"], row["p_B"], row["p_C"], row["p_D"]) == (0.0, 1.0, 0.0, 0.0)
    assert row["type_probability"] == 1.0


# ----------------------------------------------------------------------------- rules
def test_min_items_excludes_respondent_from_that_category_only():
    # r4 answers only 2 items of effektivitet (minimum is 3): no effektivitet score for r4,
    # but r4 counts everywhere else.
    r4 = respondent(effektivitet=[6, 6, None, None, None], innovation=6, balansering=6,
                    infrastruktur=6, information=6, forvaltning=6)
    out = score(long_frame([*HAND, dict(respondent_id="r4", **r4)]), method="none")
    eff = pick(out, "effektivitet")
    assert eff["score_pct"] == pytest.approx(206 / 3, abs=TOL)  # as without r4
    assert eff["n_respondents"] == 3
    # innovation with r4 (6 -> 100): (40 + 60 + 80 + 100) / 4 = 70
    assert pick(out, "innovation")["score_pct"] == pytest.approx(70.0, abs=TOL)
    assert pick(out, "innovation")["n_respondents"] == 4
    # items still count r4's two answers: q01 = (2 + 6 + 6) / 3 = 14/3 -> (14/3 - 1) * 20
    assert pick(out, "q01")["score_pct"] == pytest.approx((14 / 3 - 1) * 20, abs=TOL)
    # a don't know counted as 0 would pull q03 down; it is left out: (4 + 3 + 5) / 3 = 4 -> 60
    assert pick(out, "q03")["score_pct"] == pytest.approx(60.0, abs=TOL)
    assert pick(out, "q03")["n_answers"] == 3


def test_dont_know_codes_and_labels_are_missing():
    base = score(long_frame(HAND), method="none")
    long = long_frame(HAND)
    long["value"] = long["value"].astype(object)
    q01_r1 = (long["respondent_id"] == "r1") & (long["item_id"] == "q01")
    for code in (0, 9, 99, "vet ej", "Vet ej", ""):
        long.loc[q01_r1, "value"] = code
        out = score(long, method="none")
        np.testing.assert_allclose(out["score_pct"], base["score_pct"], atol=TOL)


def test_by_unit():
    rows = [dict(HAND[0], unit="Kultur"), dict(HAND[1], unit="Kultur"),
            dict(HAND[2], unit="Skola")]
    out = score(long_frame(rows), by=("org_id", "round", "unit"), method="none")
    assert list(out.columns[:3]) == ["org_id", "round", "unit"]
    assert sorted(out["unit"].unique()) == ["Kultur", "Skola"]
    # Kultur = r1, r2: effektivitet (70 + 40) / 2 = 55; Skola = r3: 96
    assert pick(out, "effektivitet", unit="Kultur")["score_pct"] == pytest.approx(55.0, abs=TOL)
    assert pick(out, "effektivitet", unit="Skola")["score_pct"] == pytest.approx(96.0, abs=TOL)
    # Kultur total: formaga (55 + 50 + 66) / 3 = 57, arv (30 + 30 + 70) / 3 = 130/3
    # total = (57 + 130/3) / 2 = (171 + 130) / 6 = 301/6
    assert pick(out, "total", unit="Kultur")["score_pct"] == pytest.approx(301 / 6, abs=TOL)
    # one respondent: no interval
    assert np.isnan(pick(out, "total", unit="Skola")["ci_low"])


@pytest.fixture()
def weighted_codebook(tmp_path):
    raw = yaml.safe_load(resolve_codebook_path(None).read_text(encoding="utf-8"))
    raw["id"] = "test-weighted"
    formaga, arv = raw["dimensions"]
    formaga["weight"], arv["weight"] = 0.7, 0.3
    eff, inn, bal = formaga["categories"]
    eff["weight"], inn["weight"], bal["weight"] = 0.5, 0.25, 0.25
    for item, w in zip(eff["items"], [0.4, 0.3, 0.1, 0.1, 0.1], strict=True):
        item["weight"] = w
    path = tmp_path / "weighted.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_codebook(path)


def test_codebook_weights(weighted_codebook):
    out = score(long_frame(HAND), codebook=weighted_codebook, method="none")
    # effektivitet, item weights 0.4, 0.3, 0.1, 0.1, 0.1 renormalised over the answered items:
    # r1 (q01 don't know): (.3*4 + .1*4 + .1*5 + .1*5) / .6 = 2.6/.6 = 13/3 -> (13/3 - 1)*20 = 200/3
    # r2: .4*2 + .3*3 + .1*3 + .1*4 + .1*3 = 2.7 -> 34;  r3: 2.4+1.8+.5+.6+.6 = 5.9 -> 98
    # group: (200/3 + 34 + 98) / 3 = (200 + 102 + 294) / 9 = 596/9
    assert pick(out, "effektivitet")["score_pct"] == pytest.approx(596 / 9, abs=TOL)
    # formaga = .5 * 596/9 + .25 * 60 + .25 * 232/3 = 298/9 + 135/9 + 174/9 = 607/9
    assert pick(out, "formaga")["score_pct"] == pytest.approx(607 / 9, abs=TOL)
    assert pick(out, "arv")["score_pct"] == pytest.approx(368 / 9, abs=TOL)  # unchanged
    # total = .7 * 607/9 + .3 * 368/9 = (424.9 + 110.4) / 9 = 535.3/9
    assert pick(out, "total")["score_pct"] == pytest.approx(535.3 / 9, abs=TOL)


def test_ratio_rescaling(tmp_path):
    raw = yaml.safe_load(resolve_codebook_path(None).read_text(encoding="utf-8"))
    raw["rescaling"] = "ratio"
    path = tmp_path / "ratio.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    out = score(long_frame(HAND), codebook=path, method="none")
    # innovation: answers 3, 4, 5 -> mean 4 -> 4/6 * 100
    assert pick(out, "innovation")["score_pct"] == pytest.approx(400 / 6, abs=TOL)


def test_row_order_and_other_groups_do_not_change_numbers():
    rng = np.random.default_rng(5)
    frames = []
    for org, level in [("0114", 2), ("0115", 4), ("0117", 5)]:
        rows = [dict(respondent_id=f"{org}-{k}", org_id=org,
                     **{i: int(np.clip(level + rng.integers(-1, 2), 1, 6)) for i in ITEMS})
                for k in range(8)]
        frames.append(long_frame(rows))
    long = pd.concat(frames, ignore_index=True)
    a = score(long, n_boot=300, seed=4)
    shuffled = long.sample(frac=1.0, random_state=1)
    b = score(shuffled, n_boot=300, seed=4)
    pd.testing.assert_frame_equal(a, b)
    alone = score(long[long["org_id"] == "0115"], n_boot=300, seed=4)
    pd.testing.assert_frame_equal(
        a[a["org_id"] == "0115"].reset_index(drop=True), alone.reset_index(drop=True))


def test_numbers_do_not_depend_on_respondent_ids():
    # pseudonyms are keyed per study: renaming every respondent (a different key) and shuffling
    # the rows must leave every bootstrap draw, interval and type probability unchanged
    rng = np.random.default_rng(8)
    rows = [dict(respondent_id=f"r{k}", org_id=org,
                 **{i: int(rng.integers(1, 7)) for i in ITEMS})
            for org in ("0114", "0115") for k in range(9)]
    long = long_frame(rows)
    new_ids = {old: f"{rng.integers(10**12):012x}" for old in long["respondent_id"].unique()}
    renamed = long.assign(respondent_id=long["respondent_id"].map(new_ids))
    renamed = renamed.sample(frac=1.0, random_state=3)
    a = bootstrap_scores(long, n_boot=200, seed=5)
    b = bootstrap_scores(renamed, n_boot=200, seed=5)
    np.testing.assert_array_equal(a.draws, b.draws)
    pd.testing.assert_frame_equal(classify(a), classify(b))
    pd.testing.assert_frame_equal(score(a, method="bootstrap"), score(b, method="bootstrap"))


def test_two_stores_from_the_same_files_give_byte_identical_score_csv(small_data, tmp_path):
    from typer.testing import CliRunner

    from mognad.cli import app
    from mognad.io.ingest import ingest
    from mognad.io.store import init_study

    inputs = small_data / "inputs"
    files = sorted(inputs.glob("*.csv"))
    orgs = [f for f in files if f.name == "organisations.csv"]
    rest = [f for f in files if f not in orgs]
    outputs = []
    for k, order in enumerate([rest, rest, rest[::-1]]):  # the third ingests in reverse order
        path = init_study(tmp_path / f"study{k}")
        ingest(orgs, study=path)
        for f in order:
            ingest(f, study=path)
        out = tmp_path / f"scores{k}.csv"
        res = CliRunner().invoke(app, ["score", "--study", str(path), "--out", str(out),
                                       "--round", "2024", "--n-boot", "200", "--seed", "7",
                                       "--method", "bootstrap"])
        assert res.exit_code == 0, res.output
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]
    assert len(outputs[0]) > 10_000
    prov = json.loads((tmp_path / "scores0.csv.provenance.json").read_text())
    params = prov["parameters"]
    assert (params["n_boot"], params["seed"], params["interval_method"]) == (200, 7, "bootstrap")
    assert "Poisson" in params["resampling"] and "answers" in params["resampling"]


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.drop(columns="item_id"), "no column"),
        (lambda d: d.assign(item_id=d["item_id"].replace("q05", "q99")), "q99"),
        (lambda d: d.assign(value=d["value"].replace(4, 7)), "answer scale"),
        (lambda d: d.assign(value=d["value"].astype(object).replace(4, "fyra")), "fyra"),
        (lambda d: pd.concat([d, d.iloc[[0]]]), "more than once"),
        (lambda d: d.iloc[0:0], "no responses"),
    ],
)
def test_bad_input_raises_one_clear_error(change, message):
    with pytest.raises(MognadError, match=message):
        score(change(long_frame(HAND)), method="none")


def test_bad_arguments():
    long = long_frame(HAND)
    for kwargs in ({"ci": 1.5}, {"method": "jackknife"}, {"n_boot": 0, "method": "bootstrap"},
                   {"seed": -1},
                   {"levels": ["kategori"]}):
        with pytest.raises(MognadError):
            score(long, **kwargs)


def test_to_long():
    wide = pd.DataFrame({"org_id": ["0114", "0114"], "round": [2024, 2024],
                         "respondent_id": ["a", "b"], **{i: ["4", "vet ej"] for i in ITEMS}})
    long = to_long(wide)
    assert list(long.columns) == ["org_id", "round", "respondent_id", "item_id", "value"]
    assert len(long) == 60
    assert str(long["value"].dtype) == "Int64"
    assert long["item_id"].tolist()[:3] == ["q01", "q02", "q03"]
    assert long.loc[long["respondent_id"] == "a", "value"].eq(4).all()
    assert long.loc[long["respondent_id"] == "b", "value"].isna().all()
    with pytest.raises(MognadError, match="row 1"):
        to_long(wide.assign(q07=["4", "8"]))
    with pytest.raises(MognadError, match="none of the item columns"):
        to_long(wide[["org_id"]])


# ----------------------------------------------------------------------------- intervals
def test_same_seed_same_numbers_other_seed_slightly_different():
    long = long_frame(HAND + [dict(respondent_id=f"x{k}", **respondent(
        effektivitet=2 + k % 4, innovation=3, balansering=1 + k % 6, infrastruktur=4,
        information=2 + k % 3, forvaltning=5)) for k in range(12)])
    a = score(long, n_boot=400, seed=11, method="bootstrap")
    b = score(long, n_boot=400, seed=11, method="bootstrap")
    c = score(long, n_boot=400, seed=12, method="bootstrap")
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_series_equal(a["score_pct"], c["score_pct"])
    diff = (a["ci_low"] - c["ci_low"]).abs()
    assert diff.max() > 0
    assert diff.max() < 5.0  # Monte Carlo noise of 400 resamples, in percentage points


def test_single_respondent_group_has_no_intervals_or_probabilities():
    long = long_frame(HAND[:1])
    out = score(long, n_boot=100)
    assert out["ci_low"].isna().all() and out["ci_high"].isna().all()
    assert score(long, method="t")["ci_low"].isna().all()
    types = classify(long, n_boot=100)
    assert types["type"].iloc[0] in "ABCD"
    assert types[["p_A", "p_B", "p_C", "p_D", "type_probability"]].isna().all(axis=None)


def test_t_interval_matches_scipy_formula():
    # respondents with constant answers per category: category pct = (v - 1) * 20
    v_eff = [3, 4, 4, 5, 3, 4]
    v_inf = [2, 4, 3, 3, 5, 2]
    rows = [dict(respondent_id=f"r{k}", **respondent(
        effektivitet=e, innovation=4, balansering=3, infrastruktur=f, information=3,
        forvaltning=4)) for k, (e, f) in enumerate(zip(v_eff, v_inf, strict=True))]
    out = score(long_frame(rows), method="t", ci=0.90)

    def t_interval(x, ci=0.90):
        x = np.asarray(x, dtype=float)
        half = stats.t.ppf(0.5 + ci / 2, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
        return x.mean() - half, x.mean() + half

    eff = (np.array(v_eff) - 1) * 20.0
    row = pick(out, "effektivitet")
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(t_interval(eff), abs=TOL)
    # complete data: the dimension's delta-method interval is the t-interval of the respondents'
    # composite formaga_r = (eff_r + 60 + 40) / 3
    row = pick(out, "formaga")
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(
        t_interval((eff + 60 + 40) / 3), abs=TOL)
    inf = (np.array(v_inf) - 1) * 20.0
    total = ((eff + 60 + 40) / 3 + (inf + 40 + 60) / 3) / 2
    row = pick(out, "total")
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(t_interval(total), abs=TOL)


# ----------------------------------------------------------------------------- simulation
THRESHOLDS = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
SD_RESP, SD_ITEM = 0.6, 1.0


def simulate(n_orgs: int, sizes: tuple[int, int], seed: int, spread: float = 1.2):
    """Ordinal model: answer = 1 + #{k : mu_d + u_rd + delta_i + e_ri > tau_k}.

    Returns long responses and the analytic truth per organisation: E[answer_i] =
    1 + sum_k Phi((mu_d + delta_i - tau_k) / sqrt(SD_RESP^2 + SD_ITEM^2)), in percent.
    """
    rng = np.random.default_rng(seed)
    dim = np.repeat([0, 1], 15)
    delta = rng.normal(0.0, 0.3, 30)
    mu = rng.uniform(-spread, spread, (n_orgs, 2))
    n = rng.integers(sizes[0], sizes[1] + 1, n_orgs)
    org = np.repeat(np.arange(n_orgs), n)
    eta = mu[org] + rng.normal(0.0, SD_RESP, (org.size, 2))
    lat = eta[:, dim] + delta + rng.normal(0.0, SD_ITEM, (org.size, 30))
    answers = 1 + (lat[:, :, None] > THRESHOLDS).sum(axis=2)
    wide = pd.DataFrame(answers, columns=ITEMS)
    wide.insert(0, "org_id", [f"{k:04d}" for k in org])
    wide.insert(1, "round", 2024)
    wide.insert(2, "respondent_id", [f"p{k}" for k in range(org.size)])
    z = (mu[:, dim][:, :, None] + delta[None, :, None] - THRESHOLDS) / np.hypot(SD_RESP, SD_ITEM)
    item_pct = stats.norm.cdf(z).sum(axis=2) / 5 * 100  # (E[answer] - 1) / 5 * 100
    cats = item_pct.reshape(n_orgs, 6, 5).mean(axis=2)
    truth = pd.DataFrame(cats, columns=list(CATS))
    truth["formaga"] = cats[:, :3].mean(axis=1)
    truth["arv"] = cats[:, 3:].mean(axis=1)
    truth["total"] = (truth["formaga"] + truth["arv"]) / 2
    truth["true_type"] = CB.classify(truth["formaga"], truth["arv"])
    truth.insert(0, "org_id", [f"{k:04d}" for k in range(n_orgs)])
    return to_long(wide), truth


@pytest.fixture(scope="module")
def simulated():
    long, truth = simulate(n_orgs=400, sizes=(12, 40), seed=2024)
    return bootstrap_scores(long, n_boot=400, seed=9), truth


# Coverage of the default (t) intervals against the planted truth. Each organisation is one
# Bernoulli trial per score, so the Monte Carlo SE of a coverage share over m organisations is
# sqrt(0.95 * 0.05 / m): 0.24 pp for m = 8000 (small groups, per score name), 0.77 pp for the
# 800 organisations of each single size 5..14 (pooled over the nine names, which are positively
# correlated within an organisation, so the SE lies between 0.26 and 0.77 pp), and 0.34 pp for
# m = 4000 (groups of 40-80). The tolerance of +/- 1.5 pp is thus 2-6 Monte Carlo SEs; a 95 %
# percentile bootstrap misses it (about 91 % for 5-14 respondents, see mognad.scoring).
COVERAGE_NAMES = [*CATS, "formaga", "arv", "total"]


def _coverage(long, truth, ci=0.95):
    out = score(long, ci=ci, levels=["total", "dimension", "category"])
    est = out.merge(truth.melt(id_vars="org_id", value_vars=COVERAGE_NAMES, var_name="name",
                               value_name="truth"), on=["org_id", "name"], validate="one_to_one")
    est["cover"] = (est["ci_low"] <= est["truth"]) & (est["truth"] <= est["ci_high"])
    return est


@pytest.mark.parametrize(("sizes", "n_orgs", "seed"), [((5, 14), 8000, 51), ((40, 80), 4000, 52)])
def test_default_intervals_hold_nominal_coverage_small_and_large_groups(sizes, n_orgs, seed):
    long, truth = simulate(n_orgs=n_orgs, sizes=sizes, seed=seed)
    est = _coverage(long, truth)
    assert len(est) == n_orgs * len(COVERAGE_NAMES)
    by_name = est.groupby("name")["cover"].mean()
    assert ((by_name - 0.95).abs() <= 0.015).all(), by_name
    if sizes[0] == 5:
        by_n = est.groupby("n_respondents")["cover"].mean()
        assert list(by_n.index) == list(range(5, 15))
        assert ((by_n - 0.95).abs() <= 0.015).all(), by_n


def test_type_probabilities_far_near_and_sum(simulated):
    draws, truth = simulated
    types = classify(draws).merge(truth, on="org_id")
    p = types[["p_A", "p_B", "p_C", "p_D"]].to_numpy()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    true_dist = np.minimum((types["formaga"] - 50).abs(), (types["arv"] - 50).abs())
    far = types[true_dist > 15]
    assert len(far) > 20
    assert (far["type_probability"] > 0.99).all()
    assert (far["type"] == far["true_type"]).all()
    # an estimate sitting on a cut: the probability is split between two neighbouring types
    dist = np.minimum((types["x_pct"] - 50).abs(), (types["y_pct"] - 50).abs())
    near = types[dist < 0.5]
    assert len(near) > 3
    assert (near["type_probability"] < 0.75).all()
    assert (np.sort(near[["p_A", "p_B", "p_C", "p_D"]].to_numpy(), axis=1)[:, -2] > 0.1).all()


def test_type_probabilities_are_calibrated(simulated):
    draws, truth = simulated
    types = classify(draws).merge(truth[["org_id", "true_type"]], on="org_id")
    mid = types[(types["type_probability"] >= 0.6) & (types["type_probability"] <= 0.9)]
    assert len(mid) >= 30
    hit = (mid["type"] == mid["true_type"]).mean()
    # mean stated probability is about 0.75; the realised share must be in a reasonable band
    assert abs(hit - mid["type_probability"].mean()) < 0.15, (hit, len(mid))
    sure = types[types["type_probability"] > 0.99]
    assert (sure["type"] == sure["true_type"]).mean() > 0.97


def test_rank_in_peers(simulated):
    draws, truth = simulated
    orgs = pd.DataFrame({"org_id": truth["org_id"],
                         "org_type": np.where(np.arange(len(truth)) % 4 == 0, "region", "kommun")})
    ranks = rank_in_peers(draws, orgs, peer="org_type")
    assert list(ranks.columns) == ["org_id", "round", "org_type", "level", "name", "score_pct",
                                   "n_respondents", "rank", "rank_low", "rank_high", "n_peers"]
    assert (ranks["rank_low"] <= ranks["rank"]).all()
    assert (ranks["rank"] <= ranks["rank_high"]).all()
    assert set(ranks["n_peers"]) == {100, 300}
    for _, peers in ranks.groupby("org_type"):
        # rank = 1 + number of peers with a strictly higher score (ties share the best rank)
        x = peers["score_pct"].to_numpy()
        expected = 1 + (x[None, :] > x[:, None]).sum(axis=1)
        assert peers["rank"].tolist() == expected.tolist()
    # a category, and all organisations of the round as peers
    cat = rank_in_peers(draws, peer=None, level="category", name="innovation")
    assert set(cat["n_peers"]) == {400}
    assert (cat["rank_low"] <= cat["rank"]).all() and (cat["rank"] <= cat["rank_high"]).all()


# ----------------------------------------------------------------------------- synth recovery
@pytest.fixture(scope="module")
def synth_recovery(tmp_path_factory):
    from mognad.synth import synthesize

    paths = synthesize(tmp_path_factory.mktemp("synth"), seed=20240501, profile="national")
    wide = pd.concat(
        [pd.read_csv(p, dtype=str, keep_default_na=False)
         for key, p in sorted(paths.items()) if key.startswith("responses_")],
        ignore_index=True,
    )
    wide["round"] = wide["round"].astype(int)
    long = to_long(wide, id_vars=["org_id", "round", "respondent_id"])
    truth = pd.read_csv(paths["truth_org_rounds"], dtype={"org_id": str})
    return bootstrap_scores(long, n_boot=500, seed=1), truth


def test_synth_planted_means_inside_intervals(synth_recovery):
    draws, truth = synth_recovery
    out = score(draws)
    names = [*CATS, "formaga", "arv", "total"]
    tidy = truth.melt(id_vars=["org_id", "round"], value_vars=names, var_name="name",
                      value_name="truth")
    est = out.merge(tidy, on=["org_id", "round", "name"], validate="one_to_one")
    assert len(est) == len(truth) * len(names)
    est["cover"] = (est["ci_low"] <= est["truth"]) & (est["truth"] <= est["ci_high"])
    by_name = est.groupby("name")["cover"].mean()
    assert (by_name >= 0.90).all(), by_name
    assert (by_name <= 0.99).all(), by_name


def test_synth_type_probabilities_calibrated(synth_recovery):
    draws, truth = synth_recovery
    types = classify(draws).merge(truth[["org_id", "round", "true_type"]],
                                  on=["org_id", "round"], validate="one_to_one")
    p_true = np.choose(types["true_type"].map({"A": 0, "B": 1, "C": 2, "D": 3}).to_numpy(),
                       types[["p_A", "p_B", "p_C", "p_D"]].to_numpy().T)
    # stated and realised agreement with the true type match on average ...
    assert abs(types["type_probability"].mean() - (types["type"] == types["true_type"]).mean()) < 0.05
    assert p_true.mean() > 0.7
    # ... and within the band of uncertain types
    mid = types[types["type_probability"].between(0.6, 0.9)]
    assert len(mid) >= 50
    assert abs((mid["type"] == mid["true_type"]).mean() - mid["type_probability"].mean()) < 0.12
