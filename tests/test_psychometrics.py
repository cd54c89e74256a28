"""Tests for mognad.psychometrics against reference values computed in R.

Reference software: R 4.2.2 Patched (2022-11-10 r83330), psych 2.2.9, lavaan 0.6-14, GPArotation
2022.10-2 (Debian 12 packages). Every number below was produced by ``tests/data/r_reference.R``
(its full output is in ``tests/data/r_reference.out``); the R call sits beside each number.

Data (public): ``tests/data/bfi.csv`` is ``psych::bfi`` (2800 rows, written with
``write.csv(psych::bfi, na = "")``); ``tests/data/holzinger_swineford_1939.csv`` is
``lavaan::HolzingerSwineford1939`` (301 rows); ``tests/data/dimios_synthetic_2x3.csv`` is
synthetic DiMiOS data with a planted 2x3 structure (``tests/data/make_dimios_synthetic_2x3.py``).
In R below, ``N <- c("N1", ..., "N5")``, ``nN <- na.omit(bfi[, N])`` (2694 rows),
``A <- c("A2", "A3", "A4", "A5")``, ``nA <- na.omit(bfi[, A])`` (2721 rows),
``b25 <- bfi[, 2:26]`` (the 25 personality items).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mognad.codebook import load_codebook
from mognad.errors import MognadError
from mognad.psychometrics import (
    bartlett_sphericity,
    cfa,
    cfa_model_spec,
    cronbach_alpha,
    hierarchical_omega,
    kmo,
    mcdonald_omega,
    reliability_table,
    responses_wide,
)

DATA = Path(__file__).parent / "data"
N_ITEMS = ["N1", "N2", "N3", "N4", "N5"]
A_ITEMS = ["A2", "A3", "A4", "A5"]
HS_SPEC = {
    "visual": ["x1", "x2", "x3"],
    "textual": ["x4", "x5", "x6"],
    "speed": ["x7", "x8", "x9"],
}


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    return pd.read_csv(DATA / "bfi.csv", dtype={"id": str})


@pytest.fixture(scope="module")
def b25(bfi) -> list[str]:
    return list(bfi.columns[1:26])


@pytest.fixture(scope="module")
def hs() -> pd.DataFrame:
    return pd.read_csv(DATA / "holzinger_swineford_1939.csv")


@pytest.fixture(scope="module")
def dimios() -> pd.DataFrame:
    return pd.read_csv(DATA / "dimios_synthetic_2x3.csv", dtype={"respondent_id": str})


# ------------------------------------------------------------------------------ Cronbach's alpha
def test_alpha_listwise_matches_psych(bfi):
    res = cronbach_alpha(bfi, items=N_ITEMS)
    assert res.n == 2694  # nrow(nN)
    assert res.k == 5
    # psych::alpha(nN)$total$raw_alpha
    assert res.alpha == pytest.approx(0.8133031432, abs=1e-6)
    # psych::alpha(nN)$feldt  (lower.ci, upper.ci)
    assert res.ci_low == pytest.approx(0.8019199905, abs=1e-6)
    assert res.ci_high == pytest.approx(0.8242229228, abs=1e-6)
    # psych::alpha(nN)$alpha.drop$raw_alpha
    np.testing.assert_allclose(
        res.items["alpha_if_dropped"],
        [0.7573075145, 0.7626780980, 0.7548653524, 0.7945587221, 0.8116136344],
        atol=1e-6,
    )
    # psych::alpha(nN)$item.stats$r.drop
    np.testing.assert_allclose(
        res.items["r_drop"],
        [0.6662858062, 0.6509020558, 0.6729470883, 0.5421489980, 0.4867294373],
        atol=1e-6,
    )
    assert res.items["item"].tolist() == N_ITEMS


def test_alpha_pairwise_matches_psych_default(bfi):
    res = cronbach_alpha(bfi, items=N_ITEMS, missing="pairwise")
    assert res.n == 2800  # psych's nsub: all rows (every bfi row answers some N item)
    # psych::alpha(bfi[, N])$total$raw_alpha   (use = "pairwise" is psych's default)
    assert res.alpha == pytest.approx(0.8139629499, abs=1e-6)
    # psych::alpha(bfi[, N])$feldt
    assert res.ci == pytest.approx((0.8028413025, 0.8246403507), abs=1e-6)
    # psych::alpha(bfi[, N])$alpha.drop$raw_alpha and $item.stats$r.drop
    np.testing.assert_allclose(
        res.items["alpha_if_dropped"],
        [0.7581379139, 0.7632326519, 0.7553428060, 0.7953499088, 0.8126021783],
        atol=1e-6,
    )
    np.testing.assert_allclose(
        res.items["r_drop"],
        [0.6672057085, 0.6526162493, 0.6748167104, 0.5428001298, 0.4864824061],
        atol=1e-6,
    )


def test_alpha_ci_level(bfi):
    res = cronbach_alpha(bfi, items=A_ITEMS, ci=0.90)
    assert res.n == 2721  # nrow(nA)
    # psych::alpha(nA)$total$raw_alpha
    assert res.alpha == pytest.approx(0.7184754946, abs=1e-6)
    # psych::alpha.ci(0.7184754946, 2721, 4, p.val = 0.10)  (lower.ci, upper.ci)
    assert res.ci == pytest.approx((0.7037082689, 0.7327123527), abs=1e-6)


def test_alpha_listwise_equals_pairwise_on_complete_data(bfi):
    complete = bfi[N_ITEMS].dropna()
    a = cronbach_alpha(complete, missing="listwise")
    b = cronbach_alpha(complete, missing="pairwise")
    assert a.alpha == pytest.approx(b.alpha, abs=1e-12)
    assert a.ci == pytest.approx(b.ci, abs=1e-12)


def test_alpha_accepts_nullable_integers(bfi):
    as_int = bfi[N_ITEMS].astype("Int64")
    assert cronbach_alpha(as_int).alpha == pytest.approx(0.8133031432, abs=1e-6)


def test_alpha_recovers_planted_reliability():
    # Six parallel items, true-score variance 1, error variance 1.5: item reliability
    # rho = 1 / 2.5 = 0.4; population alpha (Spearman-Brown) = 6 * 0.4 / (1 + 5 * 0.4) = 0.8.
    rng = np.random.default_rng(11)
    true = rng.normal(size=(800, 1))
    items = pd.DataFrame(true + rng.normal(scale=np.sqrt(1.5), size=(800, 6)))
    items.columns = [f"i{j}" for j in range(6)]
    res = cronbach_alpha(items)
    assert res.ci_low < 0.8 < res.ci_high
    assert res.ci_high - res.ci_low < 0.05


def test_alpha_errors(bfi):
    with pytest.raises(MognadError, match="not numeric"):
        cronbach_alpha(bfi[["id", *N_ITEMS]])
    with pytest.raises(MognadError, match="not columns"):
        cronbach_alpha(bfi, items=["N1", "Z9"])
    with pytest.raises(MognadError, match="at least 2 items"):
        cronbach_alpha(bfi, items=["N1"])
    with pytest.raises(MognadError, match="missing must be"):
        cronbach_alpha(bfi, items=N_ITEMS, missing="mean")
    with pytest.raises(MognadError, match="ci must be"):
        cronbach_alpha(bfi, items=N_ITEMS, ci=95)
    with pytest.raises(MognadError, match="only 2 respondents"):
        cronbach_alpha(bfi[N_ITEMS].dropna().head(2))
    with pytest.raises(MognadError, match="wide DataFrame"):
        cronbach_alpha(bfi[N_ITEMS].to_numpy())


# ------------------------------------------------------------------------------ omega
def test_omega_matches_lavaan_one_factor(bfi):
    res = mcdonald_omega(bfi, items=N_ITEMS)
    assert res.converged
    assert res.n == 2694
    # fit <- lavaan::cfa("f =~ N1 + N2 + N3 + N4 + N5", data = nN, std.lv = TRUE)
    # omega = sum(lambda)^2 / (sum(lambda)^2 + sum(theta)) from parameterEstimates(fit)
    assert res.omega == pytest.approx(0.8128443682, abs=1e-3)
    # parameterEstimates(fit)$est[op == "=~"] and the residual variances
    np.testing.assert_allclose(
        res.items["loading"],
        [1.2864688108, 1.2249086525, 1.1469119629, 0.8715416474, 0.8134705425],
        atol=2e-3,
    )
    np.testing.assert_allclose(
        res.items["residual_variance"],
        [0.8187519357, 0.8282184250, 1.2448746416, 1.7140872663, 1.9678433831],
        atol=2e-3,
    )
    # psych::omega(nN, nfactors = 1, fm = "ml")$omega.tot -> 0.8176670173 (correlation metric,
    # observed total variance): within 0.01 of the standardised omega
    assert res.omega_std == pytest.approx(0.8176670173, abs=0.01)


def test_omega_four_items(bfi):
    # lavaan::cfa("f =~ A2 + A3 + A4 + A5", data = nA, std.lv = TRUE) -> omega 0.7224384752
    assert mcdonald_omega(bfi, items=A_ITEMS).omega == pytest.approx(0.7224384752, abs=1e-3)


def test_omega_needs_three_items(bfi):
    with pytest.raises(MognadError, match="at least 3 items"):
        mcdonald_omega(bfi, items=["N1", "N2"])


def test_omega_singular_matrix(bfi):
    data = bfi[N_ITEMS].dropna().copy()
    data["N6"] = data["N1"] + data["N2"]
    with pytest.raises(MognadError, match="singular"):
        mcdonald_omega(data)


# ------------------------------------------------------------------------------ KMO, Bartlett
# psych::KMO(na.omit(b25))$MSAi
KMO_ITEMS_LISTWISE = [
    0.7540715967, 0.8364319767, 0.8702024137, 0.8780416377, 0.9035590475, 0.8433626433,
    0.7958161031, 0.8519721668, 0.8265898017, 0.8641133216, 0.8381301665, 0.8838897443,
    0.8970459448, 0.8774010944, 0.8933998126, 0.7794802024, 0.7803909489, 0.8623966664,
    0.8852681060, 0.8602403092, 0.8586863952, 0.7803387720, 0.8444574637, 0.7701769619,
    0.7615938191,
]  # fmt: skip
# psych::KMO(b25)$MSAi  (pairwise correlations)
KMO_ITEMS_PAIRWISE = [
    0.7447239242, 0.8377403200, 0.8730536489, 0.8698499903, 0.9012646842, 0.8339756031,
    0.7880767540, 0.8485310950, 0.8220118006, 0.8609074719, 0.8340542765, 0.8819190948,
    0.8938778815, 0.8715778479, 0.8919188696, 0.7811098000, 0.7839859091, 0.8598059588,
    0.8848144982, 0.8618155597, 0.8488409800, 0.7772084487, 0.8420618045, 0.7646370365,
    0.7573680846,
]  # fmt: skip


def test_kmo_listwise_matches_psych(bfi, b25):
    res = kmo(bfi, items=b25)
    assert res.n == 2436  # nrow(na.omit(b25))
    assert res.msa == pytest.approx(0.8486452309, abs=1e-6)  # psych::KMO(na.omit(b25))$MSA
    np.testing.assert_allclose(res.items["msa"], KMO_ITEMS_LISTWISE, atol=1e-6)
    assert res.items["item"].tolist() == b25


def test_kmo_pairwise_matches_psych(bfi, b25):
    res = kmo(bfi, items=b25, missing="pairwise")
    assert res.msa == pytest.approx(0.8458974926, abs=1e-6)  # psych::KMO(b25)$MSA
    np.testing.assert_allclose(res.items["msa"], KMO_ITEMS_PAIRWISE, atol=1e-6)


def test_bartlett_matches_psych(bfi, b25):
    res = bartlett_sphericity(bfi, items=b25)
    # psych::cortest.bartlett(na.omit(b25)) -> chisq 18146.06558, df 300, p.value 0
    assert res.chi2 == pytest.approx(18146.06558, rel=1e-8)
    assert res.df == 300
    assert res.p == pytest.approx(0.0, abs=1e-300)
    assert res.n == 2436
    # psych::cortest.bartlett(nN) -> chisq 4718.482375, df 10
    small = bartlett_sphericity(bfi, items=N_ITEMS)
    assert small.chi2 == pytest.approx(4718.482375, rel=1e-8)
    assert small.df == 10
    # psych::cortest.bartlett(b25) (pairwise correlations, n = 2800) -> chisq 20163.78856
    pairwise = bartlett_sphericity(bfi, items=b25, missing="pairwise")
    assert pairwise.chi2 == pytest.approx(20163.78856, rel=1e-8)
    assert pairwise.n == 2800


def test_bartlett_uncorrelated_items_not_significant():
    rng = np.random.default_rng(3)
    noise = pd.DataFrame(rng.normal(size=(500, 4)), columns=list("abcd"))
    res = bartlett_sphericity(noise)
    assert res.df == 6
    assert res.p > 0.01


def test_kmo_constant_item():
    data = pd.DataFrame({"a": [1, 2, 3, 4], "b": [2, 1, 4, 3], "c": [3, 3, 3, 3]})
    with pytest.raises(MognadError, match="no variance"):
        kmo(data)


# ------------------------------------------------------------------------------ CFA
def test_cfa_holzinger_swineford_matches_lavaan(hs):
    res = cfa(hs, model=HS_SPEC)
    assert res.converged
    assert res.model == "custom"
    # lavaan::fitMeasures(lavaan::cfa(HS.model, data = hs), c(...)) with
    # HS.model <- "visual =~ x1 + x2 + x3\n textual =~ x4 + x5 + x6\n speed =~ x7 + x8 + x9"
    assert res.n == 301  # ntotal
    assert res.df == 24  # df
    assert res.chi2 == pytest.approx(85.30552177, rel=1e-4)  # chisq
    assert res.baseline_chi2 == pytest.approx(918.8515893, rel=1e-6)  # baseline.chisq
    assert res.baseline_df == 36  # baseline.df
    assert res.p == pytest.approx(8.502553217e-09, rel=1e-2)  # pvalue
    assert res.cfi == pytest.approx(0.9305596518, abs=1e-3)  # cfi
    assert res.tli == pytest.approx(0.8958394777, abs=1e-3)  # tli
    assert res.rmsea == pytest.approx(0.09212148451, abs=1e-3)  # rmsea
    assert res.srmr == pytest.approx(0.06520505718, abs=1e-3)  # srmr
    loadings = res.estimates.query("op == '=~'")
    assert loadings[["lhs", "rhs"]].values.tolist()[:3] == [
        ["visual", "x1"],
        ["visual", "x2"],
        ["visual", "x3"],
    ]
    # parameterEstimates(fit): visual =~ x2 0.554, textual =~ x5 1.113, speed =~ x8 1.180
    est = loadings.set_index("rhs")["estimate"]
    assert est[["x2", "x5", "x8"]].tolist() == pytest.approx([0.554, 1.113, 1.180], abs=2e-3)


def test_cfa_second_order_over_three_factors_is_equivalent(hs):
    res = cfa(hs, model={**HS_SPEC, "g": ["visual", "textual", "speed"]})
    # lavaan::fitMeasures(lavaan::cfa(paste(HS.model, "\n g =~ visual + textual + speed"), hs))
    # -> chisq 85.30552177, df 24, cfi 0.9305596518, tli 0.8958394777, rmsea 0.09212148451,
    #    srmr 0.06520502792 (just-identified at the second level: the same fit)
    assert res.df == 24
    assert res.chi2 == pytest.approx(85.30552177, rel=1e-4)
    assert res.cfi == pytest.approx(0.9305596518, abs=1e-3)
    assert res.srmr == pytest.approx(0.06520502792, abs=1e-3)
    assert ("g", "=~", "visual") in set(map(tuple, res.estimates[["lhs", "op", "rhs"]].values))


def test_cfa_worse_model_fits_worse(hs):
    res = cfa(hs, model={"vt": HS_SPEC["visual"] + HS_SPEC["textual"], "speed": HS_SPEC["speed"]})
    # lavaan::fitMeasures(lavaan::cfa("vt =~ x1 + x2 + x3 + x4 + x5 + x6\n speed =~ x7 + x8 + x9",
    #                                 data = hs), c("chisq", "df", "cfi", "tli", "rmsea", "srmr"))
    assert res.df == 26
    assert res.chi2 == pytest.approx(181.3365222, rel=1e-4)
    assert res.cfi == pytest.approx(0.8240513761, abs=1e-3)
    assert res.tli == pytest.approx(0.7563788285, abs=1e-3)
    assert res.rmsea == pytest.approx(0.1408856847, abs=1e-3)
    assert res.srmr == pytest.approx(0.1125535169, abs=1e-3)


def test_cfa_codebook_models_match_lavaan(dimios):
    # dm <- read.csv("dimios_synthetic_2x3.csv"); first = six "category =~ 5 items" lines,
    # second = "formaga =~ effektivitet + innovation + balansering\n arv =~ infrastruktur +
    # information + forvaltning"; lavaan::fitMeasures(lavaan::cfa(first, data = dm), ...)
    cats = cfa(dimios, model="categories")
    assert cats.n == 323  # ntotal (listwise)
    assert cats.df == 390
    assert cats.chi2 == pytest.approx(357.2215875, rel=1e-4)
    assert cats.cfi == pytest.approx(1.0, abs=1e-3)
    assert cats.tli == pytest.approx(1.006341807, abs=1e-3)
    assert cats.rmsea == pytest.approx(0.0, abs=1e-3)
    assert cats.srmr == pytest.approx(0.02917570617, abs=1e-3)
    # lavaan::fitMeasures(lavaan::cfa(paste(first, second, sep = "\n"), data = dm), ...)
    hier = cfa(dimios, model="2x3")
    assert hier.model == "2x3"
    assert hier.df == 398
    assert hier.chi2 == pytest.approx(365.2588781, rel=1e-4)
    assert hier.tli == pytest.approx(1.006207264, abs=1e-3)
    assert hier.srmr == pytest.approx(0.03118733714, abs=1e-3)
    assert hier.to_frame().columns.tolist()[:3] == ["model", "n", "chi2"]


def test_cfa_model_spec_follows_codebook():
    cb = load_codebook()
    spec = cfa_model_spec(cb, model="categories")
    assert list(spec) == cb.categories["category"].tolist()
    assert sum(len(v) for v in spec.values()) == 30
    hier = cfa_model_spec(cb, model="2x3")
    assert hier["formaga"] == ["effektivitet", "innovation", "balansering"]
    assert hier["arv"] == ["infrastruktur", "information", "forvaltning"]


def test_cfa_errors(hs):
    with pytest.raises(MognadError, match="model must be one of"):
        cfa(hs, model="3x2")
    with pytest.raises(MognadError, match="neither factors nor columns"):
        cfa(hs, model={"visual": ["x1", "x2", "z3"]})
    with pytest.raises(MognadError, match="at least 2 indicators"):
        cfa(hs, model={"visual": ["x1"], "textual": ["x4", "x5", "x6"]})
    with pytest.raises(MognadError, match="lacks the items|lack the items"):
        cfa(hs)  # the codebook's items are not in these data


# ------------------------------------------------------------------------------ hierarchical omega
def _r_omega_reference() -> dict[str, dict[str, float]]:
    """The lines of tests/data/r_reference_omega.out (psych::omega, see r_reference_omega.R)."""
    out = {}
    for line in (DATA / "r_reference_omega.out").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 3 and "/" in parts[0] and parts[1].startswith("nfactors="):
            out[parts[0]] = {k: float(v) for k, v in (p.split("=") for p in parts[1:])}
    return out


@pytest.mark.parametrize("missing", ["pairwise", "listwise"])
@pytest.mark.parametrize(("scale", "first", "last"), [("formaga", 1, 15), ("arv", 16, 30),
                                                       ("total", 1, 30)])
def test_hierarchical_omega_matches_psych(dimios, scale, first, last, missing):
    ref = _r_omega_reference()[f"{scale}/{missing}"]
    items = [f"q{i:02d}" for i in range(first, last + 1)]
    res = hierarchical_omega(dimios, items=items, nfactors=int(ref["nfactors"]), missing=missing)
    assert res.converged
    assert res.omega_h == pytest.approx(ref["omega_h"], abs=1e-3)
    assert res.omega_total == pytest.approx(ref["omega_total"], abs=1e-3)
    assert res.omega_limit == pytest.approx(ref["omega_lim"], abs=1e-3)
    assert res.ecv == pytest.approx(ref["ecv"], abs=1e-3)
    # the Schmid-Leiman general loadings, item by item
    g_line = next(line for line in (DATA / "r_reference_omega.out").read_text().splitlines()
                  if line.startswith(f"{scale}/{missing} g_loadings="))
    g_ref = [float(v) for v in g_line.split("=", 1)[1].split()]
    np.testing.assert_allclose(res.loadings["g"], g_ref, atol=2e-3)


def test_hierarchical_omega_planted_population_value():
    # population correlation matrix of a bifactor model (general loading 0.6, group 0.5 on three
    # blocks of three items): omega_h = (9 * 0.6)^2 / sum(R), omega_t = (sum(R) - sum(u2)) / sum(R)
    # with u2 = 1 - 0.36 - 0.25 = 0.39; the correlations are given as a 9 x 9 "data set" would
    # give them, so build data whose sample correlation equals R exactly
    lam_g = np.full(9, 0.6)
    lam_s = np.kron(np.eye(3), np.full((3, 1), 0.5))
    R = np.outer(lam_g, lam_g) + lam_s @ lam_s.T
    np.fill_diagonal(R, 1.0)
    z = np.random.default_rng(0).normal(size=(500, 9))
    z = (z - z.mean(0)) @ np.linalg.inv(np.linalg.cholesky(np.cov(z.T)).T)  # sample cov = I
    x = z @ np.linalg.cholesky(R).T
    res = hierarchical_omega(pd.DataFrame(x, columns=[f"i{k}" for k in range(9)]))
    total = R.sum()
    assert res.omega_h == pytest.approx(5.4**2 / total, abs=1e-4)
    assert res.omega_total == pytest.approx((total - 9 * 0.39) / total, abs=1e-4)


def test_hierarchical_omega_bad_arguments(dimios):
    with pytest.raises(MognadError, match="nfactors"):
        hierarchical_omega(dimios, items=[f"q{i:02d}" for i in range(1, 16)], nfactors=2)
    with pytest.raises(MognadError, match="at least 6 items"):
        hierarchical_omega(dimios, items=["q01", "q02", "q03", "q04"], nfactors=3)


# ------------------------------------------------------------------------------ table and pivot
# For each scale: it <- the scale's items; d <- na.omit(dm[, it]); psych::alpha(d) and the lavaan
# one-factor omega; printed as: nrow(d), raw_alpha, feldt lower, feldt upper, omega
R_TABLE = {
    "effektivitet": (546, 0.8892587762, 0.8738630046, 0.9032956242, 0.88935377),
    "innovation": (540, 0.8848829023, 0.8687858126, 0.899551635, 0.8850878659),
    "balansering": (543, 0.8866260259, 0.8708186549, 0.9010344604, 0.887342868),
    "infrastruktur": (543, 0.8809067818, 0.8643019949, 0.8960420617, 0.8810249855),
    "information": (546, 0.8971148103, 0.882811222, 0.9101558777, 0.897209071),
    "forvaltning": (541, 0.8846546023, 0.8685412245, 0.8993394426, 0.8849460193),
    "formaga": (440, 0.9307359218, 0.9208864236, 0.939857213, 0.9308984656),
    "arv": (438, 0.9301848377, 0.9202334376, 0.9393988779, 0.9303390048),
}


def test_reliability_table_matches_r(dimios):
    table = reliability_table(dimios)
    assert table.columns.tolist() == [
        "level", "group", "label", "k", "n", "alpha", "alpha_ci_low", "alpha_ci_high", "omega",
        "omega_h", "omega_total_sl", "note",
    ]  # fmt: skip
    assert table["level"].tolist() == ["category"] * 6 + ["dimension"] * 2
    assert table["group"].tolist() == list(R_TABLE)
    assert table.loc[table.group == "forvaltning", "label"].item() == "Förvaltning"
    for row in table.itertuples():
        n, alpha, low, high, omega = R_TABLE[row.group]
        assert row.n == n
        assert row.k == (5 if row.level == "category" else 15)
        assert row.alpha == pytest.approx(alpha, abs=1e-6)
        assert (row.alpha_ci_low, row.alpha_ci_high) == pytest.approx((low, high), abs=1e-6)
        assert row.omega == pytest.approx(omega, abs=1e-3)
        assert row.note == ""
    # hierarchical omega of each dimension (listwise): r_reference_omega.out, "/listwise" lines
    dims = table.set_index("group")
    assert dims.loc["formaga", "omega_h"] == pytest.approx(0.8047698845, abs=1e-3)
    assert dims.loc["formaga", "omega_total_sl"] == pytest.approx(0.9497129779, abs=1e-3)
    assert dims.loc["arv", "omega_h"] == pytest.approx(0.8036405600, abs=1e-3)
    assert dims.loc["arv", "omega_total_sl"] == pytest.approx(0.9498529454, abs=1e-3)
    assert table.loc[table.level == "category", ["omega_h", "omega_total_sl"]].isna().all(axis=None)


def _to_long(wide: pd.DataFrame) -> pd.DataFrame:
    long = wide.melt(id_vars="respondent_id", var_name="item_id", value_name="value")
    long["value"] = long["value"].astype("Int64")
    long.insert(0, "org_id", "0114")
    long.insert(1, "round", 2024)
    long["unit"] = "Kultur/Bibliotek"
    long["role"] = pd.NA
    return long


def test_reliability_table_from_long_equals_wide(dimios):
    part = dimios.head(150)
    wide_table = reliability_table(part, by_level=("dimension", "total"), lang="en")
    long_table = reliability_table(_to_long(part), by_level=("dimension", "total"), lang="en")
    pd.testing.assert_frame_equal(wide_table, long_table)
    assert long_table["label"].iloc[-1] == "Overall"
    assert long_table["k"].iloc[-1] == 30


def test_reliability_table_notes_small_groups(dimios):
    table = reliability_table(dimios.head(3), by_level="category")
    assert table["alpha"].isna().all()
    assert table["omega"].isna().all()
    assert table["n"].tolist() == [3, 3, 3, 2, 2, 3]  # r0000 and r0002 have a don't know in 16-25
    assert table["note"].iloc[0] == "only 3 respondents; min_n=10"
    lenient = reliability_table(dimios.head(40), by_level="category", min_n=3)
    assert lenient["alpha"].notna().all()


def test_reliability_table_errors(dimios):
    with pytest.raises(MognadError, match="unknown levels"):
        reliability_table(dimios, by_level=("capability",))
    with pytest.raises(MognadError, match="lack the items"):
        reliability_table(dimios.drop(columns="q07"))
    with pytest.raises(MognadError, match="min_n"):
        reliability_table(dimios, min_n=1)
    with pytest.raises(MognadError, match="not numeric"):
        reliability_table(dimios.astype({"q07": str}))


def test_responses_wide_pivots_the_store_format(dimios):
    long = _to_long(dimios.head(5))
    long = long.sample(frac=1.0, random_state=0)  # order must not matter
    wide = responses_wide(long)
    assert wide.columns.tolist() == [
        "org_id", "round", "respondent_id", "unit", "role", *load_codebook().item_ids,
    ]  # fmt: skip
    assert wide["respondent_id"].tolist() == ["r0000", "r0001", "r0002", "r0003", "r0004"]
    assert wide["org_id"].tolist() == ["0114"] * 5
    assert str(wide["q01"].dtype) == "Int64"
    expected = dimios.head(5).set_index("respondent_id")["q21"].astype("Int64")
    assert wide.set_index("respondent_id")["q21"].equals(expected)
    assert wide["q21"].isna().iloc[0]  # r0000 did not know (empty in the CSV)


def test_responses_wide_keeps_unanswered_items_as_missing():
    long = pd.DataFrame(
        {
            "org_id": ["1384", "1384"],
            "round": [2023, 2023],
            "respondent_id": ["p1", "p2"],
            "item_id": ["q30", "q30"],
            "value": pd.array([6, 1], dtype="Int64"),
        }
    )
    wide = responses_wide(long)
    assert wide.shape == (2, 33)
    assert wide["q30"].tolist() == [6, 1]
    assert wide["q01"].isna().all()


def test_responses_wide_errors():
    base = {
        "org_id": ["1384", "1384"],
        "round": [2023, 2023],
        "respondent_id": ["p1", "p1"],
        "item_id": ["q01", "q01"],
        "value": pd.array([6, 1], dtype="Int64"),
    }
    with pytest.raises(MognadError, match="more than once"):
        responses_wide(pd.DataFrame(base))
    with pytest.raises(MognadError, match="not in codebook"):
        responses_wide(pd.DataFrame({**base, "item_id": ["q01", "q31"]}))
    with pytest.raises(MognadError, match="missing \\['respondent_id'\\]"):
        responses_wide(pd.DataFrame(base).drop(columns="respondent_id"))
    with pytest.raises(MognadError, match="must be numeric"):
        responses_wide(pd.DataFrame({**base, "item_id": ["q01", "q02"], "value": ["6", "x"]}))


def test_cli_reliability_reports_hierarchical_omega(small_study_path):
    from typer.testing import CliRunner

    from mognad.cli import app

    res = CliRunner().invoke(app, ["reliability", "--study", str(small_study_path), "--round",
                                   "2024", "--no-cfa"])
    assert res.exit_code == 0, res.output
    header = next(line for line in res.output.splitlines() if line.lstrip().startswith("level"))
    assert "omega_h" in header and "omega_total_sl" in header
    rows = [line.split() for line in res.output.splitlines() if line.lstrip().startswith(
        ("dimension", "total"))]
    assert len(rows) == 3
    # omega_h <= omega_total_sl <= 1 on every dimension/total row (shares of variance); the
    # labels hold spaces, so read the two last columns (the note is empty here)
    assert header.split()[-3:] == ["omega_h", "omega_total_sl", "note"]
    for row in rows:
        assert 0 < float(row[-2]) <= float(row[-1]) <= 1
