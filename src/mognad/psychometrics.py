"""Reliability and structure of the instrument: alpha, omega, KMO, Bartlett and CFA.

Modelled on pingouin's ``reliability.py``: a wide DataFrame (one row per respondent, one column per
item) plus column names in, a small tidy result out. The numbers follow R so that they can be
checked against it (``tests/test_psychometrics.py`` holds the reference values and the R calls):

- :func:`cronbach_alpha` follows ``psych::alpha()`` (raw alpha from the covariance matrix, Feldt's
  F-based interval as ``psych::alpha.ci()``, ``r.drop`` and alpha-if-item-dropped);
- :func:`mcdonald_omega` is omega total from a one-factor maximum-likelihood model, as from
  ``lavaan::cfa("f =~ ...", std.lv = TRUE)``: ``(sum(lambda))^2 / ((sum(lambda))^2 + sum(theta))``;
- :func:`kmo` and :func:`bartlett_sphericity` follow ``psych::KMO()`` and
  ``psych::cortest.bartlett()``;
- :func:`cfa` fits a confirmatory factor model with semopy (maximum likelihood) and reports the
  fit indices as lavaan's ``fitMeasures()`` defines them (chi-square ``N * F_ML``, CFI, TLI,
  RMSEA with ``N``, SRMR = lavaan's ``srmr_bentler``);
- :func:`hierarchical_omega` is omega hierarchical and Schmid-Leiman omega total as
  ``psych::omega()`` computes them (minres, oblimin, Schmid-Leiman);
- :func:`reliability_table` puts alpha and omega per category and dimension of a codebook into one
  tidy table, from wide or long responses (:func:`responses_wide` pivots the long store format).

Missing answers ("don't know" is ``<NA>``) are handled listwise by default: a respondent counts
only with answers to every item of the scale. ``missing="pairwise"`` uses every available pair, as
``psych`` does by default; on complete data both give the same numbers.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

from mognad.codebook import Codebook, load_codebook
from mognad.errors import MognadError
from mognad.io.wide import responses_wide

MISSING_RULES = ("listwise", "pairwise")
CFA_MODELS = ("categories", "2x3")
LEVELS = ("category", "dimension", "total")

__all__ = [
    "CFA_MODELS",
    "AlphaResult",
    "BartlettResult",
    "CFAResult",
    "KMOResult",
    "HierarchicalOmegaResult",
    "OmegaResult",
    "bartlett_sphericity",
    "cfa",
    "cfa_model_spec",
    "cronbach_alpha",
    "hierarchical_omega",
    "kmo",
    "mcdonald_omega",
    "reliability_table",
]


# ---------------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class AlphaResult:
    """Cronbach's alpha with its confidence interval and item statistics.

    Attributes
    ----------
    alpha : float
        Raw alpha (``psych::alpha()$total$raw_alpha``).
    ci_low, ci_high : float
        Feldt's F-based confidence interval (``psych::alpha.ci()``, ``$feldt`` of ``alpha()``).
    ci_level : float
        Coverage of the interval, e.g. 0.95.
    n : int
        Respondents used: complete cases (listwise) or respondents with any answer (pairwise).
        This is the ``n`` of the Feldt interval.
    k : int
        Number of items.
    missing : str
        ``"listwise"`` or ``"pairwise"``.
    items : DataFrame
        One row per item: ``item``, ``n`` (answers used), ``mean``, ``sd``, ``r_drop`` (item-rest
        correlation, psych's ``r.drop``) and ``alpha_if_dropped`` (psych's ``alpha.drop``).
    """

    alpha: float
    ci_low: float
    ci_high: float
    ci_level: float
    n: int
    k: int
    missing: str
    items: pd.DataFrame = field(repr=False)
    ci_method: str = "feldt"

    @property
    def ci(self) -> tuple[float, float]:
        """The interval as ``(low, high)``."""
        return (self.ci_low, self.ci_high)

    def to_frame(self) -> pd.DataFrame:
        """One-row tidy summary."""
        return pd.DataFrame(
            [
                {
                    "alpha": self.alpha,
                    "ci_low": self.ci_low,
                    "ci_high": self.ci_high,
                    "ci_level": self.ci_level,
                    "ci_method": self.ci_method,
                    "n": self.n,
                    "k": self.k,
                    "missing": self.missing,
                }
            ]
        )


@dataclass(frozen=True)
class OmegaResult:
    """McDonald's omega total from a one-factor maximum-likelihood model.

    Attributes
    ----------
    omega : float
        ``(sum(lambda))^2 / ((sum(lambda))^2 + sum(theta))`` in the metric of the items (as from a
        lavaan one-factor CFA with ``std.lv = TRUE``).
    omega_std : float
        The same from the standardised solution (items scaled to unit variance).
    n, k : int
        Respondents and items used.
    missing : str
        ``"listwise"`` or ``"pairwise"``.
    converged : bool
        Whether the optimiser reported convergence.
    items : DataFrame
        ``item``, ``loading`` and ``residual_variance`` (item metric), ``std_loading``.
    """

    omega: float
    omega_std: float
    n: int
    k: int
    missing: str
    converged: bool
    items: pd.DataFrame = field(repr=False)


@dataclass(frozen=True)
class KMOResult:
    """Kaiser-Meyer-Olkin measure of sampling adequacy (``psych::KMO()``).

    Attributes
    ----------
    msa : float
        Overall MSA.
    n, k : int
        Respondents and items used.
    missing : str
        ``"listwise"`` or ``"pairwise"``.
    items : DataFrame
        ``item`` and ``msa`` (psych's ``MSAi``).
    """

    msa: float
    n: int
    k: int
    missing: str
    items: pd.DataFrame = field(repr=False)


@dataclass(frozen=True)
class BartlettResult:
    """Bartlett's test that the correlation matrix is an identity (``psych::cortest.bartlett``).

    Attributes
    ----------
    chi2 : float
        ``-log(det(R)) * (n - 1 - (2k + 5) / 6)``.
    df : int
        ``k * (k - 1) / 2``.
    p : float
        Upper-tail chi-square probability.
    n, k : int
        Respondents and items used.
    """

    chi2: float
    df: int
    p: float
    n: int
    k: int


@dataclass(frozen=True)
class CFAResult:
    """A fitted confirmatory factor model and its fit indices (as lavaan defines them).

    Attributes
    ----------
    model : str
        ``"categories"``, ``"2x3"`` or ``"custom"``.
    spec : dict
        Factor -> indicators (items or, for higher-order factors, other factors).
    n : int
        Respondents used (complete cases on the model's items).
    chi2, df, p : float, int, float
        Likelihood-ratio test against the saturated model, ``chi2 = N * F_ML``.
    cfi, tli, rmsea, srmr : float
        Fit indices; RMSEA uses ``N`` (lavaan), SRMR is lavaan's ``srmr`` (Bentler's: residual
        covariances scaled by the observed standard deviations, diagonal included).
    baseline_chi2, baseline_df : float, int
        The independence model.
    converged : bool
        Whether semopy's optimiser reported convergence.
    estimates : DataFrame
        ``lhs``, ``op`` (``=~`` loading, ``~~`` (co)variance), ``rhs``, ``estimate``,
        ``std_estimate``, ``se``, ``z``, ``p`` (marker-variable identification: the first loading of
        each factor is fixed to 1).
    syntax : str
        The model in lavaan/semopy syntax.
    """

    model: str
    spec: dict
    n: int
    chi2: float
    df: int
    p: float
    cfi: float
    tli: float
    rmsea: float
    srmr: float
    baseline_chi2: float
    baseline_df: int
    converged: bool
    estimates: pd.DataFrame = field(repr=False)
    syntax: str = field(default="", repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One-row tidy summary of the fit."""
        keys = ("model", "n", "chi2", "df", "p", "cfi", "tli", "rmsea", "srmr", "converged")
        return pd.DataFrame([{key: getattr(self, key) for key in keys}])


# ---------------------------------------------------------------------------------------- input
def _check_missing(missing: str) -> str:
    if missing not in MISSING_RULES:
        raise MognadError(f"missing must be one of {MISSING_RULES}; got {missing!r}")
    return missing


def _item_data(
    data, items, missing: str, *, what: str, min_items: int = 2, min_rows: int = 3
) -> pd.DataFrame:
    """The item columns as floats (NaN for missing), rows kept according to ``missing``."""
    _check_missing(missing)
    if not isinstance(data, pd.DataFrame):
        raise MognadError(
            f"{what}: data must be a wide DataFrame (one row per respondent, one column per "
            f"item); got {type(data).__name__}"
        )
    cols = list(data.columns) if items is None else list(items)
    absent = [c for c in cols if c not in data.columns]
    if absent:
        raise MognadError(
            f"{what}: items {absent} are not columns of the data; columns are {list(data.columns)}"
        )
    if len(set(cols)) != len(cols):
        raise MognadError(f"{what}: items are listed more than once: {cols}")
    if len(cols) < min_items:
        raise MognadError(f"{what}: needs at least {min_items} items; got {len(cols)}: {cols}")
    bad = [
        c
        for c in cols
        if not pd.api.types.is_numeric_dtype(data[c]) or pd.api.types.is_bool_dtype(data[c])
    ]
    if bad:
        raise MognadError(
            f"{what}: columns {bad} are not numeric item answers; pass items=[...] to choose the "
            "item columns"
        )
    x = data[cols].astype("float64")
    x = x.loc[x.notna().any(axis=1)]  # a respondent without any answer carries no information
    if missing == "listwise":
        x = x.dropna()
    if len(x) < min_rows:
        who = "complete answers to" if missing == "listwise" else "an answer to any of"
        raise MognadError(
            f"{what}: only {len(x)} respondents with {who} the {len(cols)} items; at least "
            f"{min_rows} are needed"
        )
    return x


def _covariance(x: pd.DataFrame, missing: str, *, what: str) -> np.ndarray:
    if missing == "listwise":
        cov = np.cov(x.to_numpy().T, ddof=1)
    else:
        cov = x.cov(min_periods=2).to_numpy()  # pairwise, like R's cov(use = "pairwise")
    if not np.all(np.isfinite(cov)):
        raise MognadError(f"{what}: some pairs of items have fewer than two joint answers")
    return np.atleast_2d(cov)


def _correlation(x: pd.DataFrame, missing: str, *, what: str) -> np.ndarray:
    """Correlations; pairwise ones use each pair's own means and SDs, like R's ``cor()``."""
    constant = [c for c in x.columns if not x[c].std(ddof=1) > 0]
    if constant:
        raise MognadError(f"{what}: items {constant} have no variance")
    cor = np.corrcoef(x.to_numpy().T) if missing == "listwise" else x.corr(min_periods=2).to_numpy()
    if not np.all(np.isfinite(cor)):
        raise MognadError(f"{what}: some pairs of items have too few joint answers")
    return np.atleast_2d(cor)


def _check_invertible(r: np.ndarray, columns, *, what: str) -> None:
    if np.linalg.eigvalsh(r).min() <= 1e-10:
        raise MognadError(
            f"{what}: the correlation matrix of {list(columns)} is singular (an item is a linear "
            "combination of others, or there are too few respondents)"
        )


# ---------------------------------------------------------------------------------------- alpha
def _feldt(alpha: float, n: int, k: int, level: float) -> tuple[float, float]:
    """Feldt's interval, as ``psych::alpha.ci()``."""
    tail = (1.0 - level) / 2.0
    df1, df2 = n - 1, (n - 1) * (k - 1)
    low = 1.0 - (1.0 - alpha) * stats.f.ppf(1.0 - tail, df1, df2)
    high = 1.0 - (1.0 - alpha) * stats.f.ppf(tail, df1, df2)
    return float(low), float(high)


def _raw_alpha(cov: np.ndarray) -> float:
    k = cov.shape[0]
    total = cov.sum()
    if total <= 0:
        return float("nan")
    return float(k / (k - 1) * (1.0 - np.trace(cov) / total))


def cronbach_alpha(data, *, items=None, ci=0.95, missing="listwise") -> AlphaResult:
    """Cronbach's alpha with Feldt's confidence interval and item statistics.

    Parameters
    ----------
    data : DataFrame
        Wide data: one row per respondent, one numeric column per item (``<NA>``/NaN = missing).
    items : list of str, optional
        The item columns; all columns when omitted.
    ci : float
        Coverage of the confidence interval (default 0.95).
    missing : {"listwise", "pairwise"}
        ``"listwise"`` (default) uses respondents who answered every item. ``"pairwise"`` uses
        the pairwise covariance matrix and counts every respondent with any answer, as
        ``psych::alpha()`` does by default.

    Returns
    -------
    AlphaResult
        ``alpha``, ``ci_low``, ``ci_high``, ``n``, ``k`` and ``items`` (``r_drop``,
        ``alpha_if_dropped``, ``mean``, ``sd`` per item).

    Notes
    -----
    Raw alpha ``k / (k - 1) * (1 - tr(C) / sum(C))`` from the covariance matrix ``C``, as
    ``psych::alpha()$total$raw_alpha``. The interval is Feldt's (1965), the one ``psych`` prints as
    "Feldt" and pingouin returns: ``1 - (1 - alpha) * F(q; n - 1, (n - 1)(k - 1))``. The item-rest
    correlation is psych's ``r.drop``, the correlation of an item with the sum of the other items.
    Items are taken as keyed in the same direction; reverse negatively worded items first.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"q1": [1, 2, 3, 4, 5, 6, 4, 3],
    ...                    "q2": [2, 2, 3, 5, 5, 6, 3, 3],
    ...                    "q3": [1, 3, 2, 4, 6, 5, 4, 2]})
    >>> res = cronbach_alpha(df)
    >>> round(res.alpha, 3), res.n, res.k  # R psych::alpha(df)$total$raw_alpha: 0.947774
    (0.948, 8, 3)
    >>> [round(v, 3) for v in res.ci]  # psych::alpha(df)$feldt: 0.8234795, 0.9886369
    [0.823, 0.989]
    >>> res.items[["item", "r_drop", "alpha_if_dropped"]].round(3)
      item  r_drop  alpha_if_dropped
    0   q1   0.943             0.883
    1   q2   0.883             0.931
    2   q3   0.853             0.956
    """
    if not isinstance(ci, float | int) or not 0 < ci < 1:
        raise MognadError(f"cronbach_alpha: ci must be a coverage between 0 and 1; got {ci!r}")
    x = _item_data(data, items, missing, what="cronbach_alpha")
    cov = _covariance(x, missing, what="cronbach_alpha")
    n, k = len(x), cov.shape[0]
    alpha = _raw_alpha(cov)
    low, high = _feldt(alpha, n, k, float(ci))
    rows = []
    for i, item in enumerate(x.columns):
        keep = np.arange(k) != i
        rest = cov[np.ix_(keep, keep)]
        covar_rest = cov[i].sum() - cov[i, i]
        with np.errstate(divide="ignore", invalid="ignore"):  # an item without variance: NaN
            r_drop = covar_rest / np.sqrt(cov[i, i] * rest.sum())
        rows.append(
            {
                "item": item,
                "n": int(x[item].notna().sum()),
                "mean": float(x[item].mean()),
                "sd": float(x[item].std(ddof=1)),
                "r_drop": float(r_drop),
                "alpha_if_dropped": _raw_alpha(rest) if k > 2 else float("nan"),
            }
        )
    return AlphaResult(
        alpha=alpha,
        ci_low=low,
        ci_high=high,
        ci_level=float(ci),
        n=n,
        k=k,
        missing=missing,
        items=pd.DataFrame(rows),
    )


# ---------------------------------------------------------------------------------------- omega
def _one_factor_ml(r: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Maximum-likelihood one-factor model of a correlation matrix (the method of R's factanal).

    Minimises the concentrated ML discrepancy over the uniquenesses; loadings follow from the
    largest eigenvalue. Returns standardised loadings, uniquenesses and convergence.
    """
    p = r.shape[0]

    def _loadings(psi):
        sc = 1.0 / np.sqrt(psi)
        vals, vecs = np.linalg.eigh(r * np.outer(sc, sc))
        lam = np.sqrt(psi) * vecs[:, -1] * np.sqrt(max(vals[-1] - 1.0, 0.0))
        return lam, vals

    def objective(psi):
        sc = 1.0 / np.sqrt(psi)
        vals = np.linalg.eigvalsh(r * np.outer(sc, sc))[:-1]
        return -(np.sum(np.log(vals) - vals) - 1.0 + p)

    def gradient(psi):
        lam, _ = _loadings(psi)
        g = np.outer(lam, lam) + np.diag(psi) - r
        return np.diag(g) / psi**2

    start = (1.0 - 0.5 / p) / np.diag(np.linalg.inv(r))
    res = optimize.minimize(
        objective,
        np.clip(start, 0.005, 1.0),
        jac=gradient,
        method="L-BFGS-B",
        bounds=[(0.005, 1.0)] * p,
        options={"maxiter": 1000, "ftol": 1e-14, "gtol": 1e-10},
    )
    lam, _ = _loadings(res.x)
    if lam.sum() < 0:
        lam = -lam
    return lam, res.x, bool(res.success)


def mcdonald_omega(data, *, items=None, missing="listwise") -> OmegaResult:
    """McDonald's omega total from a one-factor maximum-likelihood model.

    Parameters
    ----------
    data : DataFrame
        Wide data: one row per respondent, one numeric column per item.
    items : list of str, optional
        The item columns (at least 3); all columns when omitted.
    missing : {"listwise", "pairwise"}
        Complete cases (default) or the pairwise covariance matrix.

    Returns
    -------
    OmegaResult
        ``omega`` (item metric, as lavaan), ``omega_std`` (standardised items), loadings.

    Notes
    -----
    The model is fitted by maximum likelihood to the correlation matrix (the algorithm of R's
    ``factanal``, uniquenesses bounded below by 0.005) and carried back to the item metric, which
    is exact because the ML solution is scale-equivariant. ``omega`` equals
    ``(sum(lambda))^2 / ((sum(lambda))^2 + sum(theta))`` from
    ``lavaan::cfa("f =~ i1 + ...", std.lv = TRUE)``; ``omega_std`` is the same on the
    correlation metric, which ``psych::omega(x, nfactors = 1, fm = "ml")$omega.tot`` approximates
    (psych divides by the observed rather than the model-implied total variance).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"q1": [1, 2, 2, 4, 5, 6, 3, 3, 2, 5, 3, 3],
    ...                    "q2": [2, 2, 4, 5, 4, 6, 3, 3, 1, 4, 4, 2],
    ...                    "q3": [1, 3, 2, 4, 6, 5, 4, 2, 2, 6, 2, 4],
    ...                    "q4": [2, 3, 3, 4, 5, 5, 4, 2, 1, 4, 3, 4]})
    >>> res = mcdonald_omega(df)
    >>> round(res.omega, 3), res.n, res.k  # lavaan one-factor CFA, std.lv = TRUE: 0.9277766
    (0.928, 12, 4)
    """
    x = _item_data(data, items, missing, what="mcdonald_omega", min_items=3, min_rows=4)
    cov = _covariance(x, missing, what="mcdonald_omega")
    sd = np.sqrt(np.diag(cov))
    if np.any(sd == 0):
        constant = [c for c, s in zip(x.columns, sd, strict=True) if s == 0]
        raise MognadError(f"mcdonald_omega: items {constant} have no variance")
    r = cov / np.outer(sd, sd)
    _check_invertible(r, x.columns, what="mcdonald_omega")
    lam_std, psi, converged = _one_factor_ml(r)
    lam, theta = lam_std * sd, psi * sd**2
    omega = lam.sum() ** 2 / (lam.sum() ** 2 + theta.sum())
    omega_std = lam_std.sum() ** 2 / (lam_std.sum() ** 2 + psi.sum())
    if not converged:
        warnings.warn(
            "mcdonald_omega: the optimiser did not converge", RuntimeWarning, stacklevel=2
        )
    frame = pd.DataFrame(
        {
            "item": list(x.columns),
            "loading": lam,
            "residual_variance": theta,
            "std_loading": lam_std,
        }
    )
    return OmegaResult(
        omega=float(omega),
        omega_std=float(omega_std),
        n=len(x),
        k=len(x.columns),
        missing=missing,
        converged=converged,
        items=frame,
    )


# ---------------------------------------------------------------------------------------- omega_h
@dataclass(frozen=True)
class HierarchicalOmegaResult:
    """Hierarchical omega from a Schmid-Leiman solution, as ``psych::omega`` (see
    :func:`hierarchical_omega`).

    Attributes
    ----------
    omega_h : float
        Share of the total score variance due to the general factor:
        ``(sum g)^2 / sum(R)`` (``psych::omega(...)$omega_h``).
    omega_total : float
        Share due to all common factors, ``(sum(R) - sum(u2)) / sum(R)`` with ``u2`` the
        uniquenesses of the ``nfactors``-factor solution (``$omega.tot``).
    omega_limit : float
        ``(sum g)^2 / (sum(R) - sum(u2))``, omega_h of an infinitely long test (``$omega.lim``).
    ecv : float
        Explained common variance of the general factor (``$ECV``).
    n, k, nfactors : int
        Respondents (rows with at least one answer; complete rows with ``listwise``), items and
        group factors.
    missing : str
    converged : bool
        Whether the factor extraction and both rotations converged.
    loadings : DataFrame
        ``item``, ``g`` and one column per group factor ``F1*`` ..., the Schmid-Leiman
        loadings (``$schmid$sl``), plus ``h2`` and ``u2``.
    """

    omega_h: float
    omega_total: float
    omega_limit: float
    ecv: float
    n: int
    k: int
    nfactors: int
    missing: str
    converged: bool
    loadings: pd.DataFrame = field(repr=False)


def _minres(r: np.ndarray, nf: int) -> tuple[np.ndarray, bool]:
    """Minimum-residual factor loadings (``psych::fa(fm = "minres")``), unrotated.

    Minimises the sum of squared off-diagonal residuals ``sum_{i != j} (r_ij - (L L')_ij)^2``
    over the loadings ``L`` (analytic gradient, L-BFGS), starting from principal axes with
    squared multiple correlations as communalities. psych minimises the same criterion over the
    uniquenesses; both reach the same stationary point (the iterated principal-axis fixed point).
    """
    p = r.shape[0]
    off = ~np.eye(p, dtype=bool)
    try:
        smc = 1.0 - 1.0 / np.diag(np.linalg.inv(r))
    except np.linalg.LinAlgError:
        smc = np.full(p, 0.5)
    start_r = r.copy()
    np.fill_diagonal(start_r, np.clip(smc, 0.005, 0.995))
    vals, vecs = np.linalg.eigh(start_r)
    top = np.argsort(vals)[::-1][:nf]
    start = vecs[:, top] * np.sqrt(np.clip(vals[top], 1e-6, None))

    def fun(flat):
        L = flat.reshape(p, nf)
        res = (r - L @ L.T) * off
        return float(np.sum(res**2)), (-4.0 * res @ L).ravel()

    out = optimize.minimize(fun, start.ravel(), jac=True, method="L-BFGS-B",
                            options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-10})
    L = out.x.reshape(p, nf)
    L = L * np.where(L.sum(axis=0) < 0, -1.0, 1.0)
    # L-BFGS may stop on a line search at machine precision; judge by the gradient instead
    converged = bool(out.success) or float(np.max(np.abs(out.jac))) < 1e-6
    return L, converged


def _varimax(L: np.ndarray, eps: float = 1e-5, max_iter: int = 1000) -> np.ndarray:
    """Varimax rotation with Kaiser normalisation (R's ``stats::varimax``)."""
    p, nf = L.shape
    if nf < 2:
        return L
    sc = np.sqrt(np.sum(L**2, axis=1))[:, None]
    x = L / sc
    T = np.eye(nf)
    d = 0.0
    for _ in range(max_iter):
        z = x @ T
        b = x.T @ (z**3 - z @ np.diag(np.sum(z**2, axis=0)) / p)
        u, sv, vt = np.linalg.svd(b)
        T = u @ vt
        d_old, d = d, float(np.sum(sv))
        if d < d_old * (1 + eps):
            break
    return (x @ T) * sc


def _oblimin(A: np.ndarray, eps: float = 1e-7, max_iter: int = 5000
             ) -> tuple[np.ndarray, np.ndarray, bool]:
    """Direct quartimin (oblimin, gamma 0) by gradient projection, as ``GPArotation::oblimin``.

    The oblique GPA algorithm of Bernaards & Jennrich (2005, ``GPFoblq``), started at the
    identity; returns the pattern loadings, the factor correlations and convergence.
    """
    nf = A.shape[1]
    notdiag = 1.0 - np.eye(nf)

    def crit(L):
        X = (L**2) @ notdiag
        return float(np.sum(L**2 * X) / 4.0), L * X

    T = np.eye(nf)
    L = A @ np.linalg.inv(T).T
    f, Gq = crit(L)
    G = -(L.T @ Gq @ np.linalg.inv(T)).T
    al = 1.0
    converged = False
    for _ in range(max_iter):
        Gp = G - T @ np.diag(np.sum(T * G, axis=0))
        s = float(np.sqrt(np.sum(Gp**2)))
        if s < eps:
            converged = True
            break
        al *= 2.0
        for _ in range(11):
            X = T - al * Gp
            Tt = X / np.sqrt(np.sum(X**2, axis=0))
            Lt = A @ np.linalg.inv(Tt).T
            ft, Gqt = crit(Lt)
            if f - ft > 0.5 * s**2 * al:
                break
            al /= 2.0
        T, L, f, Gq = Tt, Lt, ft, Gqt
        G = -(L.T @ Gq @ np.linalg.inv(T)).T
    return L, T.T @ T, converged


def hierarchical_omega(data, *, items=None, nfactors: int = 3, missing="listwise"
                       ) -> HierarchicalOmegaResult:
    """Omega hierarchical (and Schmid-Leiman omega total), as ``psych::omega``.

    The steps and defaults of ``psych::omega`` (psych 2.2.9): the correlation matrix of the
    items; ``nfactors`` minimum-residual factors (``fm = "minres"``), varimax, then oblimin
    (``GPArotation::oblimin``); one minres factor of the factor correlations gives the general
    factor; the Schmid-Leiman transformation (``psych::schmid``) turns this into a general
    factor ``g`` and ``nfactors`` orthogonal group factors. Items with a negative ``g``
    loading are reversed (``flip = TRUE``). For the DiMiOS 2x3 structure, use one dimension's
    items with ``nfactors`` = its number of categories (3), or all items with
    ``nfactors`` = 6. With fewer than three group factors the general factor is not identified
    (psych then sets equal loadings); this function refuses.

    Parameters
    ----------
    data : DataFrame
        Wide data: one row per respondent, one numeric column per item.
    items : list of str, optional
        The item columns (at least ``2 * nfactors``); all columns when omitted.
    nfactors : int
        Number of group factors (default 3, as psych).
    missing : {"listwise", "pairwise"}
        Complete rows (default) or pairwise correlations (``psych``'s ``cor(use =
        "pairwise")``, its behaviour on data with missing answers).

    Returns
    -------
    HierarchicalOmegaResult

    Notes
    -----
    Checked against ``psych::omega`` on ``tests/data/dimios_synthetic_2x3.csv`` (both
    dimensions with 3 factors, all items with 6; pairwise and listwise): the coefficients agree
    within 1e-4 (``tests/data/r_reference_omega.R`` and its ``.out``).

    Examples
    --------
    Nine items, three group factors under one general factor (planted loadings: general 0.6,
    group 0.5); omega_h of the population matrix is (9 * 0.6)^2 / sum(R) = 29.16 / 39.42, the
    estimate from 4,000 respondents is close:

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(4)
    >>> g, s = rng.normal(size=(4000, 1)), rng.normal(size=(4000, 3))
    >>> x = 0.6 * g + 0.5 * np.repeat(s, 3, axis=1) + np.sqrt(0.39) * rng.normal(size=(4000, 9))
    >>> res = hierarchical_omega(pd.DataFrame(x, columns=[f"i{k}" for k in range(9)]))
    >>> round(29.16 / 39.42, 3), round(res.omega_h, 2), res.nfactors
    (0.74, 0.73, 3)
    """
    what = "hierarchical_omega"
    if isinstance(nfactors, bool) or not isinstance(nfactors, int | np.integer) or nfactors < 3:
        raise MognadError(
            f"{what}: nfactors must be a whole number >= 3 (with fewer group factors the general "
            f"factor is not identified); got {nfactors!r}"
        )
    x = _item_data(data, items, missing, what=what, min_items=2 * nfactors, min_rows=4)
    r = _correlation(x, missing, what=what)
    L, ok1 = _minres(r, int(nfactors))
    h2 = np.sum(L**2, axis=1)
    u2 = 1.0 - h2
    pattern, phi, ok2 = _oblimin(_varimax(L))
    gload, ok3 = _minres(phi, 1)
    gload = gload[:, 0]
    g = pattern @ gload
    key = np.where(g < 0, -1.0, 1.0)
    rk = r * np.outer(key, key)
    g = g * key
    group = pattern * key[:, None] * np.sqrt(np.clip(1.0 - gload**2, 0.0, None))
    Vt = float(rk.sum())
    gsq = float(g.sum() ** 2)
    ev = np.sum(g**2) + np.sum(group**2)
    loadings = pd.DataFrame({"item": list(x.columns), "g": g})
    for j in range(int(nfactors)):
        loadings[f"F{j + 1}*"] = group[:, j]
    loadings["h2"] = h2
    loadings["u2"] = u2
    return HierarchicalOmegaResult(
        omega_h=gsq / Vt,
        omega_total=(Vt - float(u2.sum())) / Vt,
        omega_limit=gsq / (Vt - float(u2.sum())),
        ecv=float(np.sum(g**2) / ev),
        n=len(x),
        k=len(x.columns),
        nfactors=int(nfactors),
        missing=missing,
        converged=ok1 and ok2 and ok3,
        loadings=loadings,
    )


# ---------------------------------------------------------------------------------------- KMO
def kmo(data, *, items=None, missing="listwise") -> KMOResult:
    """Kaiser-Meyer-Olkin measure of sampling adequacy, overall and per item.

    Parameters
    ----------
    data : DataFrame
        Wide data: one row per respondent, one numeric column per item.
    items : list of str, optional
        The item columns; all columns when omitted.
    missing : {"listwise", "pairwise"}
        Complete cases (default) or pairwise correlations (``psych::KMO`` on raw data).

    Returns
    -------
    KMOResult
        ``msa`` and ``items`` (per-item MSA), as ``psych::KMO()`` ``MSA`` and ``MSAi``.

    Notes
    -----
    ``MSA = sum(r^2) / (sum(r^2) + sum(q^2))`` over the off-diagonal correlations ``r`` and partial
    (anti-image) correlations ``q`` from the inverse correlation matrix.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"q1": [1, 2, 2, 4, 5, 6, 3, 3, 2, 5, 3, 3],
    ...                    "q2": [2, 2, 4, 5, 4, 6, 3, 3, 1, 4, 4, 2],
    ...                    "q3": [1, 3, 2, 4, 6, 5, 4, 2, 2, 6, 2, 4],
    ...                    "q4": [2, 3, 3, 4, 5, 5, 4, 2, 1, 4, 3, 4]})
    >>> round(kmo(df).msa, 3)  # R psych::KMO(df)$MSA: 0.5076434
    0.508
    """
    x = _item_data(data, items, missing, what="kmo")
    r = _correlation(x, missing, what="kmo")
    _check_invertible(r, x.columns, what="kmo")
    inv = np.linalg.inv(r)
    d = 1.0 / np.sqrt(np.diag(inv))
    partial = inv * np.outer(d, d)
    np.fill_diagonal(partial, 0.0)
    off = r.copy()
    np.fill_diagonal(off, 0.0)
    r2, q2 = (off**2).sum(axis=0), (partial**2).sum(axis=0)
    msa = r2.sum() / (r2.sum() + q2.sum())
    frame = pd.DataFrame({"item": list(x.columns), "msa": r2 / (r2 + q2)})
    return KMOResult(msa=float(msa), n=len(x), k=len(x.columns), missing=missing, items=frame)


def bartlett_sphericity(data, *, items=None, missing="listwise") -> BartlettResult:
    """Bartlett's test of sphericity: are the items correlated at all?

    Parameters
    ----------
    data : DataFrame
        Wide data: one row per respondent, one numeric column per item.
    items : list of str, optional
        The item columns; all columns when omitted.
    missing : {"listwise", "pairwise"}
        Complete cases (default), or pairwise correlations with ``n`` = respondents with any
        answer (``psych::cortest.bartlett`` on raw data uses all rows).

    Returns
    -------
    BartlettResult
        ``chi2``, ``df``, ``p``, ``n``, ``k``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"q1": [1, 2, 2, 4, 5, 6, 3, 3, 2, 5, 3, 3],
    ...                    "q2": [2, 2, 4, 5, 4, 6, 3, 3, 1, 4, 4, 2],
    ...                    "q3": [1, 3, 2, 4, 6, 5, 4, 2, 2, 6, 2, 4],
    ...                    "q4": [2, 3, 3, 4, 5, 5, 4, 2, 1, 4, 3, 4]})
    >>> res = bartlett_sphericity(df)  # R psych::cortest.bartlett(df): 40.67685, df 6
    >>> round(res.chi2, 2), res.df, round(res.p, 9)
    (40.68, 6, 3.35e-07)
    """
    x = _item_data(data, items, missing, what="bartlett_sphericity")
    r = _correlation(x, missing, what="bartlett_sphericity")
    n, k = len(x), r.shape[0]
    sign, logdet = np.linalg.slogdet(r)
    if sign <= 0:
        raise MognadError("bartlett_sphericity: the correlation matrix is not positive definite")
    chi2 = -logdet * (n - 1 - (2 * k + 5) / 6)
    df = k * (k - 1) // 2
    return BartlettResult(chi2=float(chi2), df=df, p=float(stats.chi2.sf(chi2, df)), n=n, k=k)


# ---------------------------------------------------------------------------------------- long -> wide
def _looks_long(frame: pd.DataFrame) -> bool:
    return {"item_id", "value"} <= set(frame.columns)


def _as_wide(responses, codebook: Codebook) -> pd.DataFrame:
    if not isinstance(responses, pd.DataFrame):
        raise MognadError(f"responses must be a DataFrame; got {type(responses).__name__}")
    if _looks_long(responses):
        return responses_wide(responses, codebook=codebook)
    absent = [i for i in codebook.item_ids if i not in responses.columns]
    if absent:
        raise MognadError(
            f"wide responses lack the items {absent} of codebook {codebook.id}; give one column "
            "per item, or the long format with item_id and value"
        )
    return responses


# ---------------------------------------------------------------------------------------- table
def reliability_table(
    responses,
    *,
    codebook=None,
    by_level=("category", "dimension"),
    missing="listwise",
    ci=0.95,
    min_n=10,
) -> pd.DataFrame:
    """Alpha (with Feldt's interval), omega and hierarchical omega per category and dimension.

    Parameters
    ----------
    responses : DataFrame
        Wide responses (one column per codebook item) or the long store format (with
        ``item_id`` and ``value``; pivoted with :func:`responses_wide`).
    codebook : str, Path, Codebook or None
        Which items form each category and dimension; the default codebook when omitted.
    by_level : sequence of {"category", "dimension", "total"}
        Levels to report, in this order.
    missing : {"listwise", "pairwise"}
        Handling of don't-know answers, per scale (see :func:`cronbach_alpha`). Listwise: a
        respondent counts for a scale only with answers to all of its items.
    ci : float
        Coverage of alpha's interval.
    min_n : int
        Scales with fewer respondents (as counted under ``missing``) get no alpha or omega, only
        ``n`` and a note: with a handful of respondents the coefficients are noise.

    Returns
    -------
    DataFrame
        One row per scale: ``level``, ``group``, ``k``, ``n``, ``alpha``,
        ``alpha_ci_low``, ``alpha_ci_high``, ``omega`` (one-factor omega total), ``omega_h`` and
        ``omega_total_sl`` (hierarchical omega and Schmid-Leiman omega total,
        :func:`hierarchical_omega` with one group factor per category of the scale; dimension
        and total rows only, NaN for categories), ``note`` (why a value is missing, e.g. too
        few respondents; empty otherwise).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from mognad.codebook import load_codebook
    >>> cb = load_codebook()
    >>> rng = np.random.default_rng(1)
    >>> trait = rng.normal(size=(40, 1))
    >>> answers = np.clip(np.rint(3.5 + trait + rng.normal(scale=0.8, size=(40, 30))), 1, 6)
    >>> wide = pd.DataFrame(answers, columns=cb.item_ids)
    >>> table = reliability_table(wide, codebook=cb)
    >>> table[["level", "group", "k", "n"]].head(3)
          level         group  k   n
    0  category  effektivitet  5  40
    1  category    innovation  5  40
    2  category   balansering  5  40
    >>> bool((table["alpha"] > 0.7).all())
    True
    """
    cb = load_codebook(codebook)
    _check_missing(missing)
    if isinstance(min_n, bool) or not isinstance(min_n, int) or min_n < 3:
        raise MognadError(f"min_n must be a whole number >= 3; got {min_n!r}")
    if isinstance(by_level, str):
        by_level = (by_level,)
    unknown = [lv for lv in by_level if lv not in LEVELS]
    if unknown:
        raise MognadError(f"by_level: unknown levels {unknown}; use some of {LEVELS}")
    wide = _item_data(
        _as_wide(responses, cb), cb.item_ids, "pairwise", what="reliability_table", min_rows=0
    )
    scales: list[tuple[str, str, list[str]]] = []
    for level in by_level:
        if level == "total":
            scales.append(("total", "total", cb.item_ids))
            continue
        order = cb.categories["category"] if level == "category" else cb.dimensions["dimension"]
        for group in order:
            scales.append(
                (level, group, cb.items.loc[cb.items[level] == group, "item_id"].tolist())
            )
    rows = []
    for level, group, items in scales:
        row = {
            "level": level,
            "group": group,
            "k": len(items),
            "n": 0,
            "alpha": np.nan,
            "alpha_ci_low": np.nan,
            "alpha_ci_high": np.nan,
            "omega": np.nan,
            "omega_h": np.nan,
            "omega_total_sl": np.nan,
            "note": "",
        }
        notes = []
        x = _item_data(wide, items, missing, what="reliability_table", min_rows=0)
        row["n"] = len(x)
        if len(x) < min_n:
            row["note"] = f"only {len(x)} respondents; min_n={min_n}"
            rows.append(row)
            continue
        try:
            res = cronbach_alpha(wide, items=items, ci=ci, missing=missing)
            row.update(n=res.n, alpha=res.alpha, alpha_ci_low=res.ci_low, alpha_ci_high=res.ci_high)
        except MognadError as exc:
            notes.append(f"alpha: {exc}")
        if len(items) >= 3:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    om = mcdonald_omega(wide, items=items, missing=missing)
                row["omega"] = om.omega
                if not om.converged:
                    notes.append("omega: the optimiser did not converge")
            except MognadError as exc:
                notes.append(f"omega: {exc}")
        else:
            notes.append("omega: needs at least 3 items")
        if level in ("dimension", "total"):
            n_groups = int(cb.items.loc[cb.items["item_id"].isin(items), "category"].nunique())
            if n_groups >= 3:
                try:
                    hom = hierarchical_omega(wide, items=items, nfactors=n_groups,
                                             missing=missing)
                    row["omega_h"], row["omega_total_sl"] = hom.omega_h, hom.omega_total
                    if not hom.converged:
                        notes.append("omega_h: the factor solution did not converge")
                except MognadError as exc:
                    notes.append(f"omega_h: {exc}")
            else:
                notes.append(f"omega_h: needs at least 3 categories; the scale has {n_groups}")
        row["note"] = "; ".join(notes)
        rows.append(row)
    out = pd.DataFrame(rows)
    out["n"] = out["n"].astype("int64")
    return out


# ---------------------------------------------------------------------------------------- CFA
def cfa_model_spec(codebook=None, model="2x3") -> dict[str, list[str]]:
    """The codebook's factor structure as ``{factor: [indicators]}``.

    Parameters
    ----------
    codebook : str, Path, Codebook or None
        The codebook; the default when omitted.
    model : {"2x3", "categories"}
        ``"categories"``: one correlated factor per category, loading on its items.
        ``"2x3"``: the same first-order factors plus one second-order factor per dimension,
        loading on the dimension's categories (the two dimension factors correlate).

    Examples
    --------
    >>> spec = cfa_model_spec(model="2x3")
    >>> spec["effektivitet"]
    ['q01', 'q02', 'q03', 'q04', 'q05']
    >>> spec["arv"]
    ['infrastruktur', 'information', 'forvaltning']
    """
    cb = load_codebook(codebook)
    if model not in CFA_MODELS:
        raise MognadError(
            f"model must be one of {CFA_MODELS} or a dict factor -> items; got {model!r}"
        )
    spec = {
        cat: cb.items.loc[cb.items["category"] == cat, "item_id"].tolist()
        for cat in cb.categories["category"]
    }
    if model == "2x3":
        for dim in cb.dimensions["dimension"]:
            cats = cb.categories.loc[cb.categories["dimension"] == dim, "category"].tolist()
            if len(cats) < 2:
                raise MognadError(
                    f"model '2x3': dimension {dim!r} has {len(cats)} category; a second-order "
                    "factor needs at least 2 (use model='categories')"
                )
            spec[dim] = cats
    return spec


def _check_spec(spec, columns) -> dict[str, list[str]]:
    if not isinstance(spec, dict) or not spec:
        raise MognadError("cfa: a model spec must be a non-empty dict factor -> list of indicators")
    clean: dict[str, list[str]] = {}
    for factor, indicators in spec.items():
        if isinstance(indicators, str) or not all(isinstance(i, str) for i in indicators):
            raise MognadError(f"cfa: indicators of factor {factor!r} must be a list of names")
        indicators = list(indicators)
        if factor in indicators:
            raise MognadError(f"cfa: factor {factor!r} lists itself as an indicator")
        if factor in columns:
            raise MognadError(f"cfa: factor name {factor!r} is also a column of the data")
        if len(indicators) < 2:
            raise MognadError(f"cfa: factor {factor!r} needs at least 2 indicators")
        clean[str(factor)] = indicators
    observed = [i for inds in clean.values() for i in inds if i not in clean]
    absent = [i for i in dict.fromkeys(observed) if i not in columns]
    if absent:
        raise MognadError(f"cfa: items {absent} are neither factors nor columns of the data")
    return clean


def _ml_discrepancy(s: np.ndarray, sigma: np.ndarray) -> float:
    p = s.shape[0]
    _, logdet_sigma = np.linalg.slogdet(sigma)
    _, logdet_s = np.linalg.slogdet(s)
    return float(logdet_sigma + np.trace(s @ np.linalg.inv(sigma)) - logdet_s - p)


def _fit_indices(s: np.ndarray, sigma: np.ndarray, n: int, df: int) -> dict[str, float]:
    """Fit indices as lavaan's fitMeasures() (ML, normal likelihood, no mean structure)."""
    p = s.shape[0]
    chi2 = n * _ml_discrepancy(s, sigma)
    base_chi2 = n * float(np.sum(np.log(np.diag(s))) - np.linalg.slogdet(s)[1])
    base_df = p * (p - 1) // 2
    num = max(chi2 - df, 0.0)
    den = max(chi2 - df, base_chi2 - base_df, 0.0)
    cfi = 1.0 if den == 0 else 1.0 - num / den
    if df > 0:
        tli = (base_chi2 / base_df - chi2 / df) / (base_chi2 / base_df - 1.0)
        rmsea = float(np.sqrt(num / (df * n)))
        pval = float(stats.chi2.sf(chi2, df))
    else:
        tli = rmsea = pval = float("nan")
    d = 1.0 / np.sqrt(np.diag(s))
    resid = (s - sigma) * np.outer(d, d)
    srmr = float(np.sqrt(np.mean(resid[np.tril_indices(p)] ** 2)))
    return {
        "chi2": float(chi2),
        "p": pval,
        "cfi": float(cfi),
        "tli": float(tli),
        "rmsea": rmsea,
        "srmr": srmr,
        "baseline_chi2": base_chi2,
        "baseline_df": base_df,
    }


def cfa(data, *, codebook=None, model="2x3") -> CFAResult:
    """Confirmatory factor analysis of the codebook's structure (or any model) with semopy.

    Parameters
    ----------
    data : DataFrame
        Wide responses (one numeric column per item) or the long store format (pivoted with
        :func:`responses_wide`). Respondents with a missing answer on any model item are dropped
        (listwise).
    codebook : str, Path, Codebook or None
        The codebook whose structure is fitted when ``model`` is a name.
    model : {"2x3", "categories"} or dict
        ``"2x3"`` (default): six category factors under two correlated second-order dimension
        factors; ``"categories"``: six correlated category factors (see :func:`cfa_model_spec`).
        A dict ``{factor: [indicators]}`` fits any model; an indicator that is itself a factor
        makes a higher-order factor. Exogenous factors correlate, as in ``lavaan::cfa()``.

    Returns
    -------
    CFAResult
        ``chi2``, ``df``, ``p``, ``cfi``, ``tli``, ``rmsea``, ``srmr``, ``n``, estimates.

    Notes
    -----
    Maximum likelihood (semopy's ``MLW`` objective), the first loading of each factor fixed to 1.
    The fit indices are computed here from the observed and model-implied covariance matrices as
    lavaan computes them: ``chi2 = N * F_ML``; CFI and TLI against the independence model;
    ``RMSEA = sqrt(max(chi2 - df, 0) / (df * N))``; SRMR is lavaan's ``srmr`` (Bentler's),
    the root mean square of ``(s_ij - sigma_ij) / sqrt(s_ii * s_jj)`` over the lower triangle with
    the diagonal. With ``df = 0`` TLI, RMSEA and ``p`` are undefined (NaN).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(7)
    >>> f = rng.normal(size=(300, 2))
    >>> x = np.hstack([f[:, [0]] + rng.normal(scale=.7, size=(300, 3)),
    ...                f[:, [1]] + rng.normal(scale=.7, size=(300, 3))])
    >>> df = pd.DataFrame(x, columns=["a1", "a2", "a3", "b1", "b2", "b3"])
    >>> res = cfa(df, model={"A": ["a1", "a2", "a3"], "B": ["b1", "b2", "b3"]})
    >>> res.df, res.n, res.converged
    (8, 300, True)
    >>> bool(res.cfi > 0.95 and res.srmr < 0.08)
    True
    """
    cb = None
    if isinstance(model, dict):
        model_name = "custom"
        if isinstance(data, pd.DataFrame) and _looks_long(data):
            cb = load_codebook(codebook)
    else:
        model_name = model
        cb = load_codebook(codebook)
        model = cfa_model_spec(cb, model)
    if not isinstance(data, pd.DataFrame):
        raise MognadError(f"cfa: data must be a DataFrame; got {type(data).__name__}")
    wide = _as_wide(data, cb) if cb is not None else data
    spec = _check_spec(model, list(wide.columns))
    observed = list(dict.fromkeys(i for inds in spec.values() for i in inds if i not in spec))
    x = _item_data(wide, observed, "listwise", what="cfa", min_items=3, min_rows=len(observed) + 1)

    # semopy parses names: give it safe ones and map back.
    obs_name = {item: f"v{i}" for i, item in enumerate(observed)}
    lat_name = {factor: f"F{j}" for j, factor in enumerate(spec)}
    safe = {**obs_name, **lat_name}
    back = {v: k for k, v in safe.items()}
    syntax = "\n".join(
        f"{lat_name[f]} =~ " + " + ".join(safe[i] for i in inds) for f, inds in spec.items()
    )
    readable = "\n".join(f"{f} =~ " + " + ".join(inds) for f, inds in spec.items())

    import semopy  # slow to import (seconds): only when a CFA is asked for

    sem = semopy.Model(syntax)
    frame = x.rename(columns=obs_name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = sem.fit(frame)
    converged = bool(getattr(result, "success", False))
    if not converged:
        warnings.warn("cfa: the optimiser did not converge", RuntimeWarning, stacklevel=2)
    order = list(sem.vars["observed"])
    s = np.asarray(sem.mx_cov, dtype=float)
    sigma = np.asarray(sem.calc_sigma()[0], dtype=float)
    p = len(order)
    df = p * (p + 1) // 2 - len(sem.param_vals)
    fit = _fit_indices(s, sigma, len(x), df)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = sem.inspect(std_est=True)
    loading = (est["op"] == "~") & est["rval"].isin(list(lat_name.values()))
    lhs = est["lval"].where(~loading, est["rval"])
    rhs = est["rval"].where(~loading, est["lval"])
    estimates = pd.DataFrame(
        {
            "lhs": lhs.map(lambda v: back.get(v, v)),
            "op": est["op"].where(~loading, "=~"),
            "rhs": rhs.map(lambda v: back.get(v, v)),
            "estimate": pd.to_numeric(est["Estimate"], errors="coerce"),
            "std_estimate": pd.to_numeric(est.get("Est. Std"), errors="coerce"),
            "se": pd.to_numeric(est["Std. Err"], errors="coerce"),
            "z": pd.to_numeric(est["z-value"], errors="coerce"),
            "p": pd.to_numeric(est["p-value"], errors="coerce"),
        }
    )
    return CFAResult(
        model=model_name,
        spec=spec,
        n=len(x),
        df=int(df),
        converged=converged,
        estimates=estimates,
        syntax=readable,
        **fit,
    )
