"""Change over time: per organisation, nationally, around programmes and around events.

Five questions, one function each (tidy DataFrames in and out):

- :func:`change`: how much did an organisation move between two rounds, with an interval?
  Respondents differ between rounds, so by default the two rounds are independent samples (the
  difference of the cluster-bootstrap draws of :func:`mognad.scoring.bootstrap_scores`, or the
  two standard errors combined); when the same (pseudonymous) respondents answered both named
  rounds, the paired differences of their scores with a t-interval.
- :func:`national_trend`: the national level per round from a **linear mixed model** of
  respondent scores, respondents nested in organisation-rounds nested in organisations, with
  round as a categorical fixed effect and organisation type as covariate; for all participants,
  for the balanced panel of organisations present in every round, or both, with a composition
  check.
- :func:`programme_effect`: a difference-in-differences on organisation-round scores with
  organisation and round fixed effects and standard errors clustered by organisation, plus a
  pre-trend test. :func:`target_path` and :func:`plot_target` set the national value against a
  target path such as the programme's 48 % → 55 %.
- :func:`pre_post_change`: category scores before and after an organisation event (e.g. a
  reorganisation), raw and net of the national change over the same rounds (a pre/post design;
  the organisation-round difference in differences is
  :func:`mognad.casestudy.difference_in_differences`).
- :func:`respondent_scores` (from :mod:`mognad.scoring`, the one implementation): every
  respondent's category, dimension and total score, the input of the respondent-level models.

Notebook helpers (participation, movers, trajectories, events, decomposition) give the report
notebooks ``notebooks/national_status.ipynb`` and ``notebooks/longitudinal_study.ipynb`` their
numbers; their texts, tables and figures are in :mod:`mognad.present.survey` and
:mod:`mognad.present.plots`.

All scores are percentages of optimal preconditions (the codebook's rescaling); differences are
percentage points (pp).

Examples
--------
>>> import pandas as pd
>>> from mognad.scoring import to_long
>>> wide = pd.DataFrame({"org_id": "0114", "round": [2023] * 4 + [2024] * 4,
...                      "respondent_id": [f"r{k}" for k in range(8)],
...                      **{f"q{i:02d}": [3, 4, 4, 5, 4, 5, 5, 6] for i in range(1, 31)}})
>>> out = change(to_long(wide), org_id="0114", from_round=2023, to_round=2024, method="t")
>>> out[["level", "name", "score_from", "score_to", "change"]]
   level   name  score_from  score_to  change
0  total  total        60.0      80.0    20.0
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from mognad import _bootstrap as _bs
from mognad.codebook import Codebook, load_codebook
from mognad.errors import MognadError
from mognad.intervals import t_interval, welch_interval, welch_se_df
from mognad.scoring import respondent_scores

__all__ = [
    "CompositionWarning",
    "MixedFit",
    "change",
    "change_decomposition",
    "fit_mixed",
    "fit_nested_means",
    "largest_movers",
    "national_category_profile",
    "national_trend",
    "org_events",
    "participation",
    "pre_post_change",
    "previous_round",
    "programme_effect",
    "programme_effect_or_none",
    "programme_start_round",
    "quadrant_shares",
    "reorganised_orgs",
    "select_rounds",
    "target_path",
    "trajectories",
]

LEVELS = ("total", "dimension", "category")
PANELS = ("all", "balanced", "both")
DESIGNS = ("auto", "independent", "paired")
CHANGE_METHODS = ("t", "bootstrap")


class CompositionWarning(UserWarning):
    """The national series moves differently depending on which organisations are counted."""


# ============================================================================== data access
def _open(study):
    """A Study from a path; any object with the tables needed (``responses``, ``events``,
    ``organisations``) is used as is."""
    if isinstance(study, str) or hasattr(study, "__fspath__"):
        from mognad.io.store import open_study

        return open_study(study)
    if not any(hasattr(study, a) for a in ("responses", "events", "organisations")):
        raise MognadError(
            f"expected a study (mognad.open_study(path)) or a study folder; got "
            f"{type(study).__name__}"
        )
    return study


def _responses(study, *, rounds=None, org_ids=None) -> pd.DataFrame:
    """Long responses of a study, optionally for some rounds / organisations."""
    if hasattr(study, "responses_for"):
        out = study.responses_for(
            round=None if rounds is None else [int(r) for r in rounds],
            org_id=None if org_ids is None else [str(o) for o in org_ids],
        )
    else:
        out = study.responses
        if rounds is not None:
            out = out[out["round"].isin([int(r) for r in rounds])]
        if org_ids is not None:
            out = out[out["org_id"].astype(str).isin([str(o) for o in org_ids])]
    return out.reset_index(drop=True)


def _codebook(study, codebook) -> Codebook:
    if codebook is not None:
        return load_codebook(codebook)
    cb = getattr(study, "codebook", None)
    return load_codebook(cb)


def _events(study) -> pd.DataFrame:
    events = getattr(study, "events", None)
    if events is None or len(events) == 0:
        return pd.DataFrame({"org_id": pd.Series(dtype="str"), "date": pd.Series(
            dtype="datetime64[ns]"), "kind": pd.Series(dtype="str"),
            "text": pd.Series(dtype="str")})
    out = events.copy()
    out["org_id"] = out["org_id"].astype("str")
    out["date"] = pd.to_datetime(out["date"])
    return out


def _org_types(study) -> pd.Series:
    orgs = getattr(study, "organisations", None)
    if orgs is None or "org_type" not in getattr(orgs, "columns", ()):
        return pd.Series(dtype="str")
    return orgs.assign(org_id=orgs["org_id"].astype("str")).set_index("org_id")["org_type"]


def _check_level(level: str, name: str | None, cb: Codebook) -> list[str]:
    """The score names a (level, name) request covers (all names of the level if name is None)."""
    if level not in LEVELS:
        raise MognadError(f"level must be one of {list(LEVELS)}; got {level!r}")
    known = {"total": ["total"], "dimension": cb.dimensions["dimension"].tolist(),
             "category": cb.categories["category"].tolist()}[level]
    if name is None:
        return known
    names = [name] if isinstance(name, str) else list(name)
    bad = [n for n in names if n not in known]
    if bad:
        raise MognadError(f"no {level} named {bad[0]!r}; known: {known}")
    return names


def _check_ci(ci) -> float:
    if isinstance(ci, bool) or not isinstance(ci, float | int) or not 0 < ci < 1:
        raise MognadError(f"ci must be a confidence level between 0 and 1, e.g. 0.95; got {ci!r}")
    return float(ci)


# ============================================================================== mixed model
@dataclass(frozen=True)
class MixedFit:
    """A fitted linear mixed model (:func:`fit_mixed`) in tidy form.

    Attributes
    ----------
    fixed : DataFrame
        ``term``, ``estimate``, ``se``, ``z``, ``p_value``, ``ci_low``, ``ci_high`` (Wald, normal).
    variances : DataFrame
        ``component``, ``variance``: the random-intercept variance of ``groups``, each variance
        component and the residual.
    cov : DataFrame
        Covariance matrix of the fixed effects.
    converged : bool
    method : str
        The optimiser that converged.
    result : statsmodels MixedLMResults
    """

    fixed: pd.DataFrame
    variances: pd.DataFrame
    cov: pd.DataFrame = field(repr=False)
    converged: bool
    method: str
    result: object = field(repr=False)


# Gradient optimisers can stop short when a variance lies near 0 (statsmodels may still call
# that converged) and Powell can stall elsewhere: the first _ALWAYS_TRY optimisers always run
# and the fit with the highest (restricted) likelihood is kept; the others are fallbacks when
# neither converged.
_OPTIMISERS = (["lbfgs"], ["powell"], ["bfgs"], ["cg"], ["nm", "lbfgs"])
_ALWAYS_TRY = 2


def fit_mixed(
    data: pd.DataFrame,
    formula: str,
    *,
    groups: str,
    vc: dict[str, str] | None = None,
    reml: bool = True,
    ci: float = 0.95,
) -> MixedFit:
    """Fit a linear mixed model with a random intercept per group (statsmodels ``MixedLM``).

    A thin, robust wrapper: it fits with L-BFGS and with Powell and keeps the fit with the
    higher likelihood (statsmodels' gradient optimisers can stop short when a variance is near
    0), falling back to other optimisers if neither converges with finite standard errors; it
    returns tidy tables. ``vc`` adds variance components nested in the groups, e.g.
    ``{"org_round": "0 + C(round)"}`` gives a random intercept per organisation-round within
    each organisation (lme4: ``(1 | org) + (1 | org:round)``).

    Parameters
    ----------
    data : DataFrame
    formula : str
        The fixed part, e.g. ``"score ~ C(round) + C(org_type)"``.
    groups : str
        Column of the top-level grouping (random intercept).
    vc : dict, optional
        Variance-component formulas, as statsmodels' ``vc_formula``.
    reml : bool
        Restricted maximum likelihood (default) or maximum likelihood.
    ci : float
        Level of the Wald intervals of the fixed effects.

    Returns
    -------
    MixedFit

    Raises
    ------
    MognadError
        If no optimiser converges.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> g = np.repeat(np.arange(8), 5)
    >>> data = pd.DataFrame({"g": g, "x": np.tile(np.arange(5.0), 8)})
    >>> data["y"] = 2 + 0.5 * data["x"] + rng.normal(0, 1, 8)[g] + rng.normal(0, 0.3, 40)
    >>> fit = fit_mixed(data, "y ~ x", groups="g")
    >>> fit.fixed[["term", "estimate"]].round(2)
            term  estimate
    0  Intercept      2.23
    1          x      0.47
    """
    import statsmodels.formula.api as smf

    ci = _check_ci(ci)
    kwargs = {"groups": groups}
    if vc:
        kwargs.update(re_formula="1", vc_formula=dict(vc))
    model = smf.mixedlm(formula, data, **kwargs)
    return _fit_model(model, groups, reml=reml, ci=ci)


def _fit_model(model, group_name: str, *, reml: bool, ci: float) -> MixedFit:
    """Fit a statsmodels MixedLM with fallback optimisers; tidy the result."""
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    result, used, last_error = None, "", None
    for i, method in enumerate(_OPTIMISERS):
        if result is not None and i >= _ALWAYS_TRY:
            break
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.filterwarnings("ignore", message=".*(boundary|Hessian|singular).*")
            try:
                # Powell refines from the gradient optimiser's point when it has one (faster)
                start = result.params_object if result is not None and i == 1 else None
                res = model.fit(reml=reml, method=method, start_params=start)
            except (np.linalg.LinAlgError, ValueError) as exc:
                last_error = exc
                continue
        try:
            bse = np.sqrt(np.diag(_gls_cov(model, res)))
        except np.linalg.LinAlgError:
            bse = np.array([np.nan])
        ok = res.converged and np.all(np.isfinite(bse)) and np.isfinite(res.llf)
        if ok and (result is None or res.llf > result.llf + 1e-9):
            result, used = res, "+".join(method)
    if result is None:
        raise MognadError(
            "the mixed model did not converge with any optimiser"
            + (f" (last error: {last_error})" if last_error else "")
            + "; too few organisations or rounds for the model?"
        )
    names = list(model.exog_names)
    cov = pd.DataFrame(_gls_cov(model, result), index=names, columns=names)
    fixed = _wald_table(names, np.asarray(result.fe_params, dtype=float), cov, ci)
    comps = [(group_name, float(np.asarray(result.cov_re)[0, 0]))]
    comps += [(n, float(v)) for n, v in zip(model.exog_vc.names, np.atleast_1d(result.vcomp),
                                            strict=True)]
    comps.append(("residual", float(result.scale)))
    variances = pd.DataFrame(comps, columns=["component", "variance"])
    variances["component"] = variances["component"].astype("str")
    return MixedFit(fixed, variances, cov, True, used, result)


def _wald_table(names: list[str], est: np.ndarray, cov: pd.DataFrame, ci: float) -> pd.DataFrame:
    """Fixed effects with Wald (normal) tests and intervals, one row per term."""
    se = np.sqrt(np.diag(cov.to_numpy()))
    zq = stats.norm.ppf(0.5 + ci / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = est / se
    return pd.DataFrame({
        "term": pd.array(names, dtype="str"),
        "estimate": est, "se": se, "z": z, "p_value": 2 * stats.norm.sf(np.abs(z)),
        "ci_low": est - zq * se, "ci_high": est + zq * se,
    })


def _psd_sqrt(m: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(np.atleast_2d(m))
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def _gls_cov(model, result) -> np.ndarray:
    """Covariance of the fixed effects, ``(X' V^-1 X)^-1`` at the estimated variances.

    This is what lme4's ``vcov()`` reports. (statsmodels' ``cov_params`` inverts the Hessian of
    the restricted likelihood instead, which under REML differs slightly for models with
    variance components and fails when a variance sits on the boundary.) Per group,
    ``V = s2 I + W W'`` with ``W`` the random-effect design times the square root of the
    random-effect covariance, so by Woodbury
    ``X' V^-1 X = (X'X - X'W (s2 I + W'W)^-1 W'X) / s2``.
    """
    s2 = float(result.scale)
    g_re = _psd_sqrt(np.asarray(result.cov_re)) if model.k_re else None
    vcomp = np.atleast_1d(np.asarray(result.vcomp, dtype=float))
    k = model.exog.shape[1]
    info = np.zeros((k, k))
    for i in range(len(model.group_labels)):
        X = model.exog_li[i]
        parts = []
        if g_re is not None:
            parts.append(model.exog_re_li[i] @ g_re)
        for j in range(len(model.exog_vc.names)):
            mat = model.exog_vc.mats[j][i]
            mat = mat.toarray() if hasattr(mat, "toarray") else np.asarray(mat)
            parts.append(mat * np.sqrt(max(vcomp[j], 0.0)))
        if parts:
            W = np.hstack(parts)
            XW = X.T @ W
            inner = s2 * np.eye(W.shape[1]) + W.T @ W
            info += X.T @ X - XW @ np.linalg.solve(inner, XW.T)
        else:
            info += X.T @ X
    return np.linalg.inv(info / s2)


def fit_nested_means(
    y,
    X: pd.DataFrame,
    *,
    groups,
    cells,
    reml: bool = True,
    ci: float = 0.95,
) -> MixedFit:
    """REML (or ML) fit of ``y ~ X + (1 | group) + (1 | group:cell)`` from cell summaries.

    The model of :func:`fit_mixed` with ``vc={"cell": "0 + C(cell)"}``, for the common case where
    every fixed-effect column is constant within a cell (e.g. round and organisation type within
    an organisation-round). Then the likelihood factorises exactly into a within-cell part
    (the residual variance only) and the likelihood of the cell means with covariance
    ``s2 * (diag(1/n + t_v**2) + t_u**2 * J)`` per group, so the fit needs only each cell's size,
    mean and fixed-effect row plus the pooled within-cell sum of squares: the same estimates as
    the fit on every observation (lme4, statsmodels), at a cost that does not grow with the
    number of observations. Like lme4, the residual variance is profiled out and the two
    relative standard deviations ``t_u = s_u / s``, ``t_v = s_v / s`` are optimised on
    ``[0, inf)`` (bounded L-BFGS from several starting points, best criterion kept). The
    covariance of the fixed effects is ``s2 (X' V*^-1 X)^-1`` (lme4's ``vcov``).

    Parameters
    ----------
    y : array-like
        The response, one value per observation.
    X : DataFrame
        The fixed-effect design, one row per observation (columns are the terms).
    groups, cells : array-like
        The group (random intercept) and the cell within the group (nested random intercept) of
        each observation. Cell labels need only be unique within their group.
    reml : bool
        Restricted maximum likelihood (default) or maximum likelihood.
    ci : float
        Level of the Wald intervals of the fixed effects.

    Returns
    -------
    MixedFit
        With ``result=None``; ``variances`` names the components ``"group"``, ``"cell"`` and
        ``"residual"``.

    Raises
    ------
    MognadError
        If a fixed-effect column varies within a cell, or the design is rank deficient.

    Examples
    --------
    The same estimates as the fit on every observation (:func:`fit_mixed`):

    >>> rng = np.random.default_rng(2)
    >>> g, c = np.repeat(np.arange(10), 6), np.tile(np.repeat([0, 1, 2], 2), 10)
    >>> u, v = rng.normal(0, 2, 10), rng.normal(0, 1, 30)
    >>> data = pd.DataFrame({"g": g, "c": c, "y": 50 + u[g] + v[g * 3 + c] + rng.normal(0, 1, 60)})
    >>> fast = fit_nested_means(data["y"], pd.DataFrame({"Intercept": np.ones(60)}),
    ...                         groups=data["g"], cells=data["c"])
    >>> full = fit_mixed(data, "y ~ 1", groups="g", vc={"c": "0 + C(c)"})
    >>> bool(np.allclose(fast.fixed[["estimate", "se"]], full.fixed[["estimate", "se"]], atol=1e-4))
    True
    """
    from scipy import optimize

    ci = _check_ci(ci)
    y = np.asarray(y, dtype=float)
    names = [str(c) for c in X.columns]
    Xa = X.to_numpy(dtype=float)
    key = pd.MultiIndex.from_arrays([pd.Series(groups).to_numpy(), pd.Series(cells).to_numpy()])
    cell_of, cell_keys = pd.factorize(key)
    k = len(cell_keys)
    n = np.bincount(cell_of, minlength=k).astype(float)
    ybar = np.bincount(cell_of, weights=y, minlength=k) / n
    xbar = np.column_stack([np.bincount(cell_of, weights=Xa[:, j], minlength=k)
                            for j in range(Xa.shape[1])]) / n[:, None]
    if np.abs(Xa - xbar[cell_of]).max(initial=0.0) > 1e-9 * max(1.0, np.abs(Xa).max()):
        raise MognadError("fit_nested_means needs fixed effects that are constant within cells")
    ssw = float(((y - ybar[cell_of]) ** 2).sum())
    group_of, _ = pd.factorize(cell_keys.get_level_values(0))
    m = int(group_of.max()) + 1
    N, p = len(y), Xa.shape[1]
    if np.linalg.matrix_rank(xbar) < p:
        raise MognadError(f"the fixed-effect design is rank deficient ({names})")
    dof = N - p if reml else N

    def gsum(values):
        values = np.asarray(values)
        if values.ndim == 1:
            return np.bincount(group_of, weights=values, minlength=m)
        return np.column_stack([np.bincount(group_of, weights=values[:, j], minlength=m)
                                for j in range(values.shape[1])])

    def parts(theta):
        tu2, tv2 = theta[0] ** 2, theta[1] ** 2
        d = tv2 + 1.0 / n
        w = 1.0 / d
        s = gsum(w)
        a = tu2 / (1.0 + tu2 * s)
        gx = gsum(xbar * w[:, None])
        gy = gsum(ybar * w)
        A = (xbar * w[:, None]).T @ xbar - (gx * a[:, None]).T @ gx
        b = (xbar * w[:, None]).T @ ybar - (gx * a[:, None]).T @ gy
        yy = float((w * ybar ** 2).sum() - (a * gy ** 2).sum())
        beta = np.linalg.solve(A, b)
        q = ssw + yy - float(b @ beta)
        logdet = float(np.log(d).sum() + np.log1p(tu2 * s).sum())
        return A, beta, q, logdet

    def criterion(theta):
        try:
            A, _, q, logdet = parts(theta)
        except np.linalg.LinAlgError:
            return np.inf
        if not q > 0:
            return np.inf
        value = dof * np.log(q) + logdet
        if reml:
            value += np.linalg.slogdet(A)[1]
        return value

    # a coarse bounded quasi-Newton search from a few starts, the best point polished by
    # Nelder-Mead to a tight tolerance (the numerical gradient is too noisy for that)
    best = None
    for start in ((1.0, 1.0), (0.2, 0.5)):  # lme4 starts at (1, 1) alone
        res = optimize.minimize(criterion, np.array(start), method="L-BFGS-B",
                                bounds=[(0.0, None), (0.0, None)])
        if np.isfinite(res.fun) and (best is None or res.fun < best.fun - 1e-12):
            best = res
    if best is not None:
        polish = optimize.minimize(criterion, best.x, method="Nelder-Mead",
                                   bounds=[(0.0, None), (0.0, None)],
                                   options={"xatol": 1e-8, "maxiter": 2000,
                                            "fatol": 1e-13 * max(1.0, abs(best.fun))})
        if polish.fun <= best.fun:
            best = polish
    if best is None:
        raise MognadError("the mixed model could not be fitted (no finite likelihood)")
    A, beta, q, _ = parts(best.x)
    s2 = q / dof
    cov = pd.DataFrame(s2 * np.linalg.inv(A), index=names, columns=names)
    fixed = _wald_table(names, beta, cov, ci)
    variances = pd.DataFrame({
        "component": pd.array(["group", "cell", "residual"], dtype="str"),
        "variance": [best.x[0] ** 2 * s2, best.x[1] ** 2 * s2, s2],
    })
    return MixedFit(fixed, variances, cov, bool(best.success), "REML on cell means"
                    if reml else "ML on cell means", None)


# ============================================================================== change per org
def _group_index(groups: pd.DataFrame, **keys) -> int | None:
    mask = np.ones(len(groups), dtype=bool)
    for col, val in keys.items():
        mask &= (groups[col].astype(str) == str(val)).to_numpy()
    hit = np.flatnonzero(mask)
    return int(hit[0]) if hit.size else None


def _paired_rows(responses, cb, *, org_id, from_round, to_round, names) -> pd.DataFrame:
    rs = respondent_scores(responses, codebook=cb, by=("round",), levels=LEVELS)
    rs = rs[rs["name"].isin([n for _, n in names])]
    a = rs[rs["round"] == from_round].set_index(["level", "name", "respondent_id"])["score_pct"]
    b = rs[rs["round"] == to_round].set_index(["level", "name", "respondent_id"])["score_pct"]
    both = pd.concat({"a": a, "b": b}, axis=1).dropna().sort_index()
    rows = []
    for level, name in names:
        try:
            sub = both.loc[(level, name)]
        except KeyError:
            sub = both.iloc[:0]
        d = (sub["b"] - sub["a"]).to_numpy(dtype=float)
        n = d.size
        rows.append({"level": level, "name": name, "n_paired": n,
                     "paired_mean": d.mean() if n else np.nan,
                     "paired_se": d.std(ddof=1) / np.sqrt(n) if n >= 2 else np.nan,
                     "paired_df": n - 1 if n >= 2 else np.nan,
                     "paired_from": sub["a"].mean() if n else np.nan,
                     "paired_to": sub["b"].mean() if n else np.nan})
    return pd.DataFrame(rows)


def _independent_interval(draws, ga: int, gb: int, j: int, *, ci: float, method: str
                          ) -> tuple[float, float]:
    """Interval of ``point[gb, j] - point[ga, j]`` for two independent groups of a ScoreDraws.

    ``"t"``: Welch-Satterthwaite on the two analytic standard errors; ``"bootstrap"``: the
    percentile interval of the difference of the two groups' independent draws.
    """
    if method == "bootstrap":
        a = (1 - ci) / 2
        diff = draws.draws[gb, j, :].astype(np.float64) - draws.draws[ga, j, :]
        diff = diff[np.isfinite(diff)]
        if not diff.size:
            return np.nan, np.nan
        lo, hi = np.quantile(diff, [a, 1 - a])
        return float(lo), float(hi)
    se, df = welch_se_df(draws.se[ga, j], draws.df[ga, j], draws.se[gb, j], draws.df[gb, j])
    lo, hi = t_interval(draws.point[gb, j] - draws.point[ga, j], se, df, ci)
    return float(lo), float(hi)


def change(
    study_or_responses,
    *,
    org_id: str,
    from_round: int,
    to_round: int,
    level: str | Sequence[str] = "total",
    name: str | None = None,
    design: str = "auto",
    method: str = "t",
    min_overlap: float = 0.5,
    ci: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
    codebook: str | Codebook | None = None,
) -> pd.DataFrame:
    """Change of an organisation's scores between two rounds, with an interval.

    Two designs:

    - **independent** (anonymous rounds, or different respondents): the rounds are independent
      samples. ``method="t"`` (default): the two analytic standard errors of
      :func:`mognad.scoring.score` combined, ``sqrt(se1² + se2²)``, with Welch-Satterthwaite
      degrees of freedom (:func:`mognad.intervals.welch_se_df`); like the score intervals it
      holds its coverage in small groups. ``method="bootstrap"``: the percentile interval of the
      difference of the two rounds' cluster-bootstrap draws
      (:func:`mognad.scoring.bootstrap_scores`; each organisation-round has its own random
      stream, so the draws are independent); too narrow for small groups.
    - **paired** (named rounds): the respondents who answered both rounds (same pseudonymous
      ``respondent_id``); the mean of their score differences with a t-interval. Scores
      ``score_from`` / ``score_to`` are then the means of these respondents.

    ``design="auto"`` chooses paired when the respondents in both rounds make up at least
    ``min_overlap`` of the respondents of each round, else independent. The column ``design``
    says which was used; ``n_paired`` always counts the respondents in both rounds.

    Parameters
    ----------
    study_or_responses : Study, path or DataFrame
        A study, or long responses (with ``org_id`` and ``round``).
    org_id : str
    from_round, to_round : int
    level : str or sequence of str
        ``"total"``, ``"dimension"``, ``"category"`` (or several).
    name : str, optional
        One score of the level (default: all of the level).
    design : {"auto", "independent", "paired"}
    method : {"t", "bootstrap"}
        Interval of the independent design.
    min_overlap : float
        Share of respondents in both rounds above which ``auto`` pairs.
    ci : float
    n_boot, seed : int
        Bootstrap resamples and seed (independent design).
    codebook : str, Path, Codebook or None
        Default: the study's codebook (or ``mognad-default-1`` for a DataFrame).

    Returns
    -------
    DataFrame
        One row per score: ``org_id``, ``from_round``, ``to_round``, ``level``, ``name``,
        ``score_from``, ``score_to``, ``change``, ``ci_low``, ``ci_high``, ``design``,
        ``n_from``, ``n_to``, ``n_paired``.

    Examples
    --------
    >>> import pandas as pd
    >>> from mognad.scoring import to_long
    >>> wide = pd.DataFrame({"org_id": "0114", "round": [2023] * 3 + [2024] * 3,
    ...                      "respondent_id": ["a", "b", "c"] * 2,
    ...                      **{f"q{i:02d}": [2, 3, 4, 3, 4, 4] for i in range(1, 31)}})
    >>> out = change(to_long(wide), org_id="0114", from_round=2023, to_round=2024)
    >>> out[["name", "change", "ci_low", "ci_high", "design", "n_paired"]].round(2)
        name  change  ci_low  ci_high  design  n_paired
    0  total   13.33  -15.35    42.02  paired         3
    """
    if design not in DESIGNS:
        raise MognadError(f"design must be one of {list(DESIGNS)}; got {design!r}")
    if method not in CHANGE_METHODS:
        raise MognadError(f"method must be one of {list(CHANGE_METHODS)}; got {method!r}")
    ci = _check_ci(ci)
    from_round, to_round, org_id = int(from_round), int(to_round), str(org_id)
    if from_round == to_round:
        raise MognadError("from_round and to_round are the same round")
    if isinstance(study_or_responses, pd.DataFrame):
        cb = load_codebook(codebook)
        resp = study_or_responses
        resp = resp[(resp["org_id"].astype(str) == org_id)
                    & resp["round"].isin([from_round, to_round])].reset_index(drop=True)
    else:
        study = _open(study_or_responses)
        cb = _codebook(study, codebook)
        resp = _responses(study, rounds=[from_round, to_round], org_ids=[org_id])
    for r in (from_round, to_round):
        if not (resp["round"] == r).any():
            raise MognadError(f"organisation {org_id} has no responses in round {r}")
    levels = [level] if isinstance(level, str) else list(level)
    names = [(lv, n) for lv in levels for n in _check_level(lv, name, cb)]

    from mognad.scoring import bootstrap_scores

    draws = bootstrap_scores(resp, codebook=cb, by=("org_id", "round"),
                             n_boot=n_boot if method == "bootstrap" else 0, seed=seed)
    ga = _group_index(draws.groups, round=from_round)
    gb = _group_index(draws.groups, round=to_round)
    paired = _paired_rows(resp, cb, org_id=org_id, from_round=from_round, to_round=to_round,
                          names=names).set_index(["level", "name"])
    ids_a = set(resp.loc[resp["round"] == from_round, "respondent_id"])
    ids_b = set(resp.loc[resp["round"] == to_round, "respondent_id"])
    overlap = len(ids_a & ids_b)
    share = overlap / max(1, max(len(ids_a), len(ids_b)))
    use = design
    if design == "auto":
        use = "paired" if overlap >= 2 and share >= min_overlap else "independent"
    rows = []
    for lv, nm in names:
        j = draws.index(lv, nm)
        pa, pb = draws.point[ga, j], draws.point[gb, j]
        row = {"org_id": org_id, "from_round": from_round, "to_round": to_round, "level": lv,
               "name": nm, "n_from": int(draws.n_respondents[ga, j]),
               "n_to": int(draws.n_respondents[gb, j]),
               "n_paired": int(paired.loc[(lv, nm), "n_paired"])}
        if use == "paired":
            p = paired.loc[(lv, nm)]
            lo, hi = t_interval(p["paired_mean"], p["paired_se"], p["paired_df"], ci)
            row.update(score_from=p["paired_from"], score_to=p["paired_to"],
                       change=p["paired_mean"], ci_low=float(lo), ci_high=float(hi))
        else:
            lo, hi = _independent_interval(draws, ga, gb, j, ci=ci, method=method)
            row.update(score_from=pa, score_to=pb, change=pb - pa, ci_low=lo, ci_high=hi)
        row["design"] = use
        rows.append(row)
    cols = ["org_id", "from_round", "to_round", "level", "name", "score_from", "score_to",
            "change", "ci_low", "ci_high", "design", "n_from", "n_to", "n_paired"]
    out = pd.DataFrame(rows)[cols]
    for c in ("org_id", "level", "name", "design"):
        out[c] = out[c].astype("str")
    return out


# ============================================================================== national trend
def _org_round_points(resp: pd.DataFrame, cb: Codebook, names) -> pd.DataFrame:
    """Scores of every organisation-round (as :func:`mognad.scoring.score`) with analytic SEs."""
    from mognad.scoring import bootstrap_scores

    sd = bootstrap_scores(resp, codebook=cb, by=("org_id", "round"), n_boot=0)
    parts = []
    for lv, nm in names:
        j = sd.index(lv, nm)
        part = sd.groups.copy()
        part["level"], part["name"] = lv, nm
        part["score_pct"] = sd.point[:, j]
        part["se"] = sd.se[:, j]
        part["n_respondents"] = sd.n_respondents[:, j]
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out["org_id"] = out["org_id"].astype("str")
    out["round"] = out["round"].astype("int64")
    return out[out["score_pct"].notna()].reset_index(drop=True)


def _reference_type(types: pd.Series) -> str:
    counts = types.value_counts()
    best = counts.max()
    return sorted(str(t) for t in counts.index[counts == best])[0]


def _fit_trend(frame: pd.DataFrame, rounds: list[int], ci: float) -> pd.DataFrame:
    """Mixed model on respondent scores of one score name; marginal means per round.

    The model of :func:`national_trend`, ``fit_mixed(d, "y ~ C(round) + C(org_type)",
    groups="org_id", vc={"org_round": "0 + C(round)"})``, fitted exactly from the
    organisation-round summaries (:func:`fit_nested_means`: round and type are constant within
    an organisation-round), with the design built by hand.
    """
    d = pd.DataFrame({
        "y": frame["score_pct"].to_numpy(dtype=float),
        "org_id": frame["org_id"].astype(str).to_numpy(),
        "round": frame["round"].astype(int).to_numpy(),
        "otype": frame["org_type"].astype(str).to_numpy(),
    })
    org_types = d.drop_duplicates("org_id").set_index("org_id")["otype"]
    cols = {"Intercept": np.ones(len(d))}
    for r in rounds[1:]:
        cols[f"round[{r}]"] = (d["round"] == r).to_numpy(dtype=float)
    types = []
    if org_types.nunique() > 1:
        ref = _reference_type(org_types)
        types = sorted(t for t in org_types.unique() if t != ref)
        for t in types:
            cols[f"org_type[{t}]"] = (d["otype"] == t).to_numpy(dtype=float)
    exog = pd.DataFrame(cols)
    exog = exog.loc[:, (exog != 0).any(axis=0)]  # a round without data has no column
    fit = fit_nested_means(d["y"], exog, groups=d["org_id"], cells=d["round"], ci=ci)
    terms = fit.fixed["term"].tolist()
    weights = org_types.value_counts(normalize=True)
    type_row = np.zeros(len(terms))
    for t, w in weights.items():
        if f"org_type[{t}]" in terms:
            type_row[terms.index(f"org_type[{t}]")] += w
    L = np.zeros((len(rounds), len(terms)))
    for i, r in enumerate(rounds):
        L[i, terms.index("Intercept")] = 1.0
        if f"round[{r}]" in terms:
            L[i, terms.index(f"round[{r}]")] = 1.0
        L[i] += type_row
    beta = fit.fixed["estimate"].to_numpy()
    V = fit.cov.to_numpy()
    est = L @ beta
    se = np.sqrt(np.einsum("ij,jk,ik->i", L, V, L))
    z = stats.norm.ppf(0.5 + ci / 2)
    Ld = np.vstack([np.full(L.shape[1], np.nan), L[1:] - L[:-1]])
    dest = Ld @ beta
    dse = np.sqrt(np.einsum("ij,jk,ik->i", Ld, V, Ld))
    return pd.DataFrame({
        "round": rounds, "estimate": est, "ci_low": est - z * se, "ci_high": est + z * se,
        "change": dest, "change_ci_low": dest - z * dse, "change_ci_high": dest + z * dse,
    })


def _participants_mean(points: pd.DataFrame, rounds, ci: float) -> pd.DataFrame:
    z = stats.norm.ppf(0.5 + ci / 2)
    rows = []
    for r in rounds:
        p = points[points["round"] == r]
        n = len(p)
        mean = p["score_pct"].mean() if n else np.nan
        se = np.sqrt(np.nansum(p["se"].to_numpy() ** 2)) / n if n else np.nan
        rows.append({"round": r, "participants_mean": mean,
                     "participants_ci_low": mean - z * se, "participants_ci_high": mean + z * se})
    return pd.DataFrame(rows)


def _fmt(x: float) -> str:
    return f"{x:+.1f}"


def national_trend(
    study,
    *,
    level: str = "total",
    name: str | None = None,
    panel: str = "all",
    rounds: Sequence[int] | None = None,
    ci: float = 0.95,
    warn: bool = True,
    codebook: str | Codebook | None = None,
) -> pd.DataFrame:
    """National maturity per round from a mixed model, for all participants and/or a panel.

    **Model.** For each score (the total, a dimension or a category) a linear mixed model of
    the respondents' scores (pomp %, :func:`respondent_scores`)::

        score ~ round (categorical) + org_type + (1 | organisation) + (1 | organisation:round)

    fitted by REML (statsmodels ``MixedLM``, :func:`fit_mixed`). Respondents are nested in
    organisation-rounds, nested in organisations: the organisation intercept carries the
    organisation's lasting level, the organisation-round intercept its year-to-year deviation
    (without it the intervals of the round effects would be too narrow). ``org_type`` is a
    covariate (reference: the most common type).

    **Estimate.** The marginal mean of each round: the round's prediction for an organisation
    with a random intercept of 0, averaged over the organisation-type distribution of the
    organisations in the fit (each organisation counted once, in every round alike). Because the
    organisation intercepts absorb each organisation's lasting level, the rounds are compared
    *within* organisations: organisations joining or leaving do not move the series by their
    level, only by their own changes. ``change`` is the difference to the previous round of the
    series, with its interval from the model's covariance matrix. Intervals are Wald (normal).

    **Panels.** ``"all"``: every participating organisation; ``"balanced"``: only the
    organisations present in every round compared (``rounds``); ``"both"``: both series.

    **Participants' mean.** ``participants_mean`` is the plain mean of the participating
    organisations' scores in the round, as national figures are usually published; its interval
    covers respondent sampling only (the participants are the population). It moves with who
    takes part.

    **Composition check.** For consecutive rounds, a ``CompositionWarning`` is issued and
    ``composition_flag`` set (with a ``note``) when the change of the participants' mean differs
    from the model's change by more than the half-width of the model change's interval, and
    (``panel="both"``) when the all-participants change differs from the balanced-panel change by
    more than that half-width: then who takes part, not maturity, drives the difference.

    Parameters
    ----------
    study : Study or path
        Or any object with ``responses`` and ``organisations`` DataFrames.
    level : {"total", "dimension", "category"} or a sequence of them
        Several levels are fitted from one reading of the data (one model per score).
    name : str, optional
        A dimension or category id; default: every name of the level (one model each).
    panel : {"all", "balanced", "both"}
    rounds : sequence of int, optional
        Rounds to compare (default: all).
    ci : float
    warn : bool
        Issue the ``CompositionWarning`` (the flag and note are set either way).
    codebook : optional
        Default: the study's codebook.

    Returns
    -------
    DataFrame
        One row per panel, score and round: ``panel``, ``level``, ``name``, ``round``,
        ``estimate``, ``ci_low``, ``ci_high``, ``change``, ``change_ci_low``,
        ``change_ci_high``, ``n_orgs``, ``n_respondents``, ``participants_mean``,
        ``participants_ci_low``, ``participants_ci_high``, ``composition_flag``, ``note``.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from mognad.synth import synthesize
    >>> from mognad.io.store import init_study
    >>> from mognad.io.ingest import ingest
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = synthesize(root / "data", seed=3, profile="small")
    >>> _ = init_study(root / "study")
    >>> _ = ingest(root / "data" / "inputs", study=root / "study")
    >>> trend = national_trend(root / "study", warn=False)
    >>> trend[["round", "n_orgs"]].T.to_numpy().tolist()
    [[2019, 2020, 2021, 2022, 2023, 2024], [9, 12, 15, 18, 21, 23]]
    >>> bool((trend["ci_low"] < trend["estimate"]).all())
    True
    """
    if panel not in PANELS:
        raise MognadError(f"panel must be one of {list(PANELS)}; got {panel!r}")
    ci = _check_ci(ci)
    study = _open(study)
    cb = _codebook(study, codebook)
    levels = [level] if isinstance(level, str) else list(level)
    if len(levels) > 1 and name is not None:
        raise MognadError("name= selects within one level; give a single level with it")
    names = [(lv, n) for lv in levels for n in _check_level(lv, name, cb)]
    resp = _responses(study, rounds=rounds)
    if resp.empty:
        raise MognadError("the study has no responses" + (f" in rounds {list(rounds)}"
                                                          if rounds is not None else ""))
    all_rounds = sorted(int(r) for r in resp["round"].unique())
    if len(all_rounds) < 2:
        raise MognadError(f"a trend needs at least two rounds; the data have {all_rounds}")
    rs = respondent_scores(resp, codebook=cb, by=("org_id", "round"), levels=levels)
    rs["org_id"] = rs["org_id"].astype("str")
    rs["round"] = rs["round"].astype("int64")
    rs["org_type"] = rs["org_id"].map(_org_types(study)).fillna("okänd").astype("str")
    points = _org_round_points(resp, cb, names)

    present = rs.groupby("org_id")["round"].nunique()
    balanced_orgs = set(present.index[present == len(all_rounds)])
    panels = ["all", "balanced"] if panel == "both" else [panel]
    if "balanced" in panels and len(balanced_orgs) < 2:
        raise MognadError(
            f"no balanced panel: {len(balanced_orgs)} organisation(s) took part in every round "
            f"{all_rounds}; choose fewer rounds (rounds=...)"
        )
    out = []
    for pn in panels:
        for lv, nm in names:
            sub = rs[(rs["level"] == lv) & (rs["name"] == nm)]
            pts = points[(points["level"] == lv) & (points["name"] == nm)]
            if pn == "balanced":
                sub = sub[sub["org_id"].isin(balanced_orgs)]
                pts = pts[pts["org_id"].isin(balanced_orgs)]
            res = _fit_trend(sub, all_rounds, ci)
            counts = sub.groupby("round").agg(n_orgs=("org_id", "nunique"),
                                              n_respondents=("respondent_id", "size"))
            res = res.merge(counts, left_on="round", right_index=True, how="left")
            res = res.merge(_participants_mean(pts, all_rounds, ci), on="round")
            res.insert(0, "name", nm)
            res.insert(0, "level", lv)
            res.insert(0, "panel", pn)
            out.append(res)
    out = pd.concat(out, ignore_index=True)
    out["n_orgs"] = out["n_orgs"].fillna(0).astype("int64")
    out["n_respondents"] = out["n_respondents"].fillna(0).astype("int64")
    out["composition_flag"] = False
    out["note"] = ""
    half = (out["change_ci_high"] - out["change_ci_low"]) / 2
    p_change = out.groupby(["panel", "name"], sort=False)["participants_mean"].diff()
    gap = p_change - out["change"]
    hit = gap.abs() > half
    for i in np.flatnonzero(hit.to_numpy()):
        out.loc[i, "composition_flag"] = True
        out.loc[i, "note"] = (
            f"participants' mean changed {_fmt(p_change.iloc[i])} pp, the within-organisation "
            f"model {_fmt(out['change'].iloc[i])} pp: composition"
        )
    if panel == "both":
        key = ["name", "round"]
        al = out[out["panel"] == "all"].set_index(key)
        ba = out[out["panel"] == "balanced"].set_index(key)
        diff = (al["change"] - ba["change"]).dropna()
        h = ((al["change_ci_high"] - al["change_ci_low"]) / 2).reindex(diff.index)
        for k in diff.index[(diff.abs() > h).to_numpy()]:
            i = out.index[(out["panel"] == "all") & (out["name"] == k[0])
                          & (out["round"] == k[1])][0]
            msg = (f"all participants changed {_fmt(al.loc[k, 'change'])} pp, the balanced "
                   f"panel {_fmt(ba.loc[k, 'change'])} pp")
            out.loc[i, "composition_flag"] = True
            out.loc[i, "note"] = "; ".join(x for x in (out.loc[i, "note"], msg) if x)
    for c in ("panel", "level", "name", "note"):
        out[c] = out[c].astype("str")
    if warn and out["composition_flag"].any():
        flagged = out[out["composition_flag"]]
        lines = "; ".join(f"{r.panel} {r.name} {r.round}: {r.note}"
                          for r in flagged.itertuples())
        warnings.warn(f"composition changes drive the national change ({lines})",
                      CompositionWarning, stacklevel=2)
    return out


# ============================================================================== programme effect
def programme_start_round(study, *, kind: str = "programme_start") -> int | None:
    """The first round after the earliest ``programme_start`` event (``None`` without events).

    A round is a calendar year and the survey date within the year is unknown, so the round of
    the start year may be partly before and partly after the start; the first *clean* round
    after the start is the next year's.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> ev = pd.DataFrame({"org_id": ["9006"], "date": ["2021-03-01"],
    ...                    "kind": ["programme_start"], "text": [""]})
    >>> programme_start_round(SimpleNamespace(events=ev))
    2022
    """
    ev = _events(study)
    ev = ev[ev["kind"] == kind]
    return None if ev.empty else int(ev["date"].min().year) + 1


def _org_round_scores(data, *, level, name, codebook) -> tuple[pd.DataFrame, object]:
    """Organisation-round scores (``org_id, round, score_pct``) from a study or a score table."""
    if isinstance(data, pd.DataFrame):
        need = ["org_id", "round", "score_pct"]
        miss = [c for c in need if c not in data.columns]
        if miss:
            raise MognadError(
                f"the score table has no column(s) {miss}; pass a study or a table with "
                "org_id, round, score_pct (e.g. mognad.score output)"
            )
        d = data
        if "level" in d.columns:
            d = d[d["level"] == level]
        if "name" in d.columns:
            d = d[d["name"] == (name or level)]
        out = d[need].copy()
        study = None
    else:
        study = _open(data)
        cb = _codebook(study, codebook)
        nm = _check_level(level, name if level != "total" else None, cb)
        if level != "total" and name is None:
            raise MognadError(f"give the {level} name (name=...); known: {nm}")
        out = _org_round_points(_responses(study), cb, [(level, nm[0])])
        out = out[["org_id", "round", "score_pct"]]
    out["org_id"] = out["org_id"].astype("str")
    out["round"] = out["round"].astype("int64")
    out["score_pct"] = out["score_pct"].astype(float)
    if out.duplicated(["org_id", "round"]).any():
        raise MognadError("the score table has more than one row per organisation and round")
    return out.dropna(subset=["score_pct"]).reset_index(drop=True), study


SSC_CONVENTIONS = ("nested", "full")


def _cluster_ols(formula: str, data: pd.DataFrame, cluster: str, method: str = "pinv",
                 *, nested: str | None = None, ssc: str = "nested"):
    """OLS with standard errors clustered by ``cluster`` (CR1, t with G - 1 df).

    The small-sample factor is ``G / (G - 1) * (N - 1) / (N - K)``. ``K`` is the rank of the
    design; with ``ssc="nested"`` the fixed effects of the formula term ``nested`` (e.g.
    ``"C(org_id)"``, with the intercept), which are nested in the clusters, are not counted, as
    in fixest (``ssc(fixef.K = "nested")``, its default) and reghdfe; ``ssc="full"`` counts
    every parameter (statsmodels' and ``sandwich::vcovCL(type = "HC1")``'s convention). When
    the model is saturated (as many observations as parameters, zero residuals) the standard
    errors are NaN instead of a division by zero or a spurious 0.
    ``method="qr"`` is faster for designs known to be of full rank.
    """
    import statsmodels.formula.api as smf
    from statsmodels.regression.linear_model import RegressionResultsWrapper

    if ssc not in SSC_CONVENTIONS:
        raise MognadError(f"ssc must be one of {list(SSC_CONVENTIONS)}; got {ssc!r}")
    fit = smf.ols(formula, data).fit(method=method)
    res = fit.get_robustcov_results(cov_type="cluster", groups=data[cluster].to_numpy(),
                                    use_correction=False, use_t=True)
    X = fit.model.exog
    n, k = X.shape[0], int(np.linalg.matrix_rank(X))
    saturated = n <= k  # zero residuals: no information about the error variance
    if ssc == "nested" and nested is not None:
        names = fit.model.exog_names
        fe = [j for j, nm in enumerate(names) if nm == "Intercept" or nm.startswith(nested + "[")]
        k -= int(np.linalg.matrix_rank(X[:, fe])) if fe else 0
    g = int(pd.Series(data[cluster]).nunique())
    factor = g / (g - 1) * (n - 1) / (n - k) if n > k and g > 1 and not saturated else np.nan
    res.cov_params_default = res.cov_params_default * factor
    res.ssc_factor = factor
    return RegressionResultsWrapper(res)  # named parameters, as from .fit()


def programme_effect(
    study,
    *,
    participants: Sequence[str] | None = None,
    start_round: int | None = None,
    level: str = "total",
    name: str | None = None,
    comparison: Sequence[str] | None = None,
    exclude_events: bool = False,
    ssc: str = "nested",
    ci: float = 0.95,
    codebook: str | Codebook | None = None,
) -> pd.DataFrame:
    """Effect of a programme on participants' scores: difference-in-differences with a pre-trend test.

    **Model** (organisation-round scores, :func:`mognad.scoring.score` point estimates)::

        score_or = a_o + l_r + effect * participant_o * [r >= start_round] + e_or

    with organisation and round fixed effects, fitted by OLS with standard errors clustered by
    organisation (CR1; t with G - 1 degrees of freedom, G the number of organisations).
    ``effect`` is the average effect on the participants after the start in percentage points,
    valid if participants and comparison organisations would have moved in parallel without the
    programme.

    **Small-sample factor.** ``G / (G - 1) * (N - 1) / (N - K)`` with ``N`` organisation-rounds.
    By default (``ssc="nested"``) ``K`` leaves out the organisation fixed effects, which are
    nested in the organisation clusters: the convention of fixest (``ssc(fixef.K =
    "nested")``, its default) and of reghdfe. ``ssc="full"`` counts them as well (statsmodels'
    and ``sandwich::vcovCL(type = "HC1")``'s convention), which inflates the standard error by
    ``sqrt((N - K_nested) / (N - K_full))``, e.g. 1.2 with six rounds.

    **Comparison organisations with events of their own** (a funding change, a course, a
    reorganisation: any recorded event other than the programme's own) may have moved for
    their own reasons. They are counted in ``n_comparison_with_events`` and listed in
    ``comparison_with_events``; ``exclude_events=True`` leaves them out of the comparison.

    A regression with no residual degrees of freedom (a small study with a small comparison
    group, where ``N <= K``) gives NaN standard errors and a ``note``, never an exception.

    **Pre-trend test.** (1) Leads: the same model plus ``participant x round`` indicators for
    every round before the start except the last one (the reference); ``pretrend_p`` is the
    joint cluster-robust F-test that they are all 0. (2) ``pretrend_slope``: on the rounds before
    the start only, the difference between the participants' and the comparison organisations'
    linear slope (pp per round), with its interval. ``flag`` is True when the joint test rejects
    parallel pre-trends at 5 %: then the estimate is not trustworthy. With fewer than two rounds
    before the start there is nothing to test (NaN, ``flag`` False, see ``note``).

    Parameters
    ----------
    study : Study, path or DataFrame
        A study, or a table of organisation-round scores (``org_id``, ``round``, ``score_pct``,
        and optionally ``level``/``name``, e.g. the output of :func:`mognad.scoring.score`).
    participants : sequence of str, optional
        Organisation ids in the programme; default: those with a ``programme_start`` event.
    start_round : int, optional
        First round counted as "after"; default :func:`programme_start_round` (the year after
        the earliest start event).
    level, name : str
        The score (default the total).
    comparison : sequence of str, optional
        Comparison organisations; default every non-participant of the participants'
        organisation types (all non-participants for a score table without types).
    exclude_events : bool
        Leave comparison organisations with recorded events of their own out (default: keep
        and flag them).
    ssc : {"nested", "full"}
        Small-sample convention of the clustered standard errors (see above).
    ci : float
    codebook : optional

    Returns
    -------
    DataFrame
        One row: ``design`` (``"difference_in_differences"``), ``level``, ``name``,
        ``start_round``, ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``p_value``,
        ``n_participants``, ``n_comparison``, ``n_comparison_with_events``,
        ``comparison_with_events``, ``n_org_rounds``, ``ssc``, ``pretrend_f``, ``pretrend_df``,
        ``pretrend_p``, ``pretrend_slope``, ``pretrend_slope_low``, ``pretrend_slope_high``,
        ``flag``, ``note``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> rows = [{"org_id": f"{o:04d}", "round": r,
    ...          "score_pct": 40 + o % 7 + 1.5 * (r - 2019) + 5 * (o < 10 and r >= 2022)
    ...                       + rng.normal(0, 1)}
    ...         for o in range(30) for r in range(2019, 2025)]
    >>> eff = programme_effect(pd.DataFrame(rows), participants=[f"{o:04d}" for o in range(10)],
    ...                        start_round=2022)
    >>> eff[["estimate", "ci_low", "ci_high", "flag"]].round(1)
       estimate  ci_low  ci_high   flag
    0       5.1     4.4      5.7  False
    """
    ci = _check_ci(ci)
    scores, st = _org_round_scores(study, level=level, name=name, codebook=codebook)
    if participants is None:
        if st is None:
            raise MognadError("give participants=[...] with a score table")
        ev = _events(st)
        participants = ev.loc[ev["kind"] == "programme_start", "org_id"].unique().tolist()
        if not participants:
            raise MognadError("the study has no programme_start events; pass participants=[...]")
    participants = {str(p) for p in participants}
    if start_round is None:
        if st is None:
            raise MognadError("give start_round=... with a score table")
        start_round = programme_start_round(st)
        if start_round is None:
            raise MognadError("no programme_start event to date the start; pass start_round=...")
    start_round = int(start_round)
    if comparison is None:
        comp = set(scores["org_id"]) - participants
        if st is not None:
            types = _org_types(st)
            ptypes = set(types.reindex(sorted(participants)).dropna())
            if ptypes:
                comp = {o for o in comp if types.get(o) in ptypes}
    else:
        comp = {str(c) for c in comparison} - participants
    if ssc not in SSC_CONVENTIONS:
        raise MognadError(f"ssc must be one of {list(SSC_CONVENTIONS)}; got {ssc!r}")
    own_events: set[str] = set()
    if st is not None:
        ev = _events(st)
        ev = ev[~ev["kind"].isin(["programme_start", "programme_end"])]
        own_events = set(ev["org_id"]) & comp & set(scores["org_id"])
    if exclude_events:
        comp -= own_events
        own_events = set()
    d = scores[scores["org_id"].isin(participants | comp)].copy()
    d["treated"] = d["org_id"].isin(participants).astype(float)
    d["post"] = (d["round"] >= start_round).astype(float)
    d["D"] = d["treated"] * d["post"]
    d["rnd"] = d["round"].astype(str)
    n_par = d.loc[d["treated"] == 1, "org_id"].nunique()
    n_com = d.loc[d["treated"] == 0, "org_id"].nunique()
    pre = sorted(d.loc[d["round"] < start_round, "round"].unique())
    if n_par < 2 or n_com < 2:
        raise MognadError(
            f"a difference-in-differences needs at least two participants and two comparison "
            f"organisations with scores; have {n_par} and {n_com}"
        )
    if not pre or not (d["round"] >= start_round).any():
        raise MognadError(f"need rounds both before and from start_round {start_round}; the "
                          f"data have {sorted(d['round'].unique())}")
    notes = []

    def fit(formula, data):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # rank-deficient designs are handled by NaN below
            return _cluster_ols(formula, data, "org_id", nested="C(org_id)", ssc=ssc)

    res = fit("score_pct ~ C(org_id) + C(rnd) + D", d)
    est, se = float(res.params["D"]), float(res.bse["D"])
    lo, hi = (float(v) for v in res.conf_int(alpha=1 - ci).loc["D"])
    if not np.isfinite(se):
        notes.append("no standard error: the model has no residual degrees of freedom "
                     f"({len(d)} organisation-rounds)")
    row = {"design": "difference_in_differences", "level": level, "name": name or level,
           "start_round": start_round, "estimate": est, "se": se, "ci_low": lo, "ci_high": hi,
           "p_value": float(res.pvalues["D"]), "n_participants": n_par,
           "n_comparison": n_com, "n_comparison_with_events": len(own_events),
           "comparison_with_events": " ".join(sorted(own_events)), "n_org_rounds": len(d),
           "ssc": ssc, "pretrend_f": np.nan, "pretrend_df": np.nan, "pretrend_p": np.nan,
           "pretrend_slope": np.nan, "pretrend_slope_low": np.nan, "pretrend_slope_high": np.nan,
           "flag": False, "note": ""}
    if len(pre) >= 2:
        leads = []
        for r in pre[:-1]:
            col = f"lead_{r}"
            d[col] = d["treated"] * (d["round"] == r)
            leads.append(col)
        res_l = fit("score_pct ~ C(org_id) + C(rnd) + D + " + " + ".join(leads), d)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ft = res_l.f_test(", ".join(f"{c} = 0" for c in leads))
            fval, pval = float(np.squeeze(ft.fvalue)), float(np.squeeze(ft.pvalue))
        except (ValueError, np.linalg.LinAlgError):
            fval = pval = np.nan
        row["pretrend_f"], row["pretrend_df"], row["pretrend_p"] = fval, len(leads), pval
        dp = d[d["round"] < start_round].copy()
        dp["slope"] = dp["treated"] * (dp["round"] - start_round)
        res_s = fit("score_pct ~ C(org_id) + C(rnd) + slope", dp)
        row["pretrend_slope"] = float(res_s.params["slope"])
        row["pretrend_slope_low"], row["pretrend_slope_high"] = (
            float(v) for v in res_s.conf_int(alpha=1 - ci).loc["slope"])
        if not (np.isfinite(pval) and np.isfinite(row["pretrend_slope_low"])):
            notes.append("pre-trend test not estimable: too few organisation-rounds before the "
                         f"start ({len(dp)}) for the parameters")
        row["flag"] = bool(np.isfinite(pval) and pval < 0.05)
        if row["flag"]:
            notes.append(f"pre-trends differ (joint test of leads p = {pval:.3f}); the estimate "
                         "assumes parallel trends")
    else:
        notes.append("no pre-trend test: fewer than two rounds before the start")
    if own_events:
        notes.append(f"{len(own_events)} comparison organisation(s) with events of their own "
                     "(exclude_events=True leaves them out)")
    row["note"] = "; ".join(notes)
    out = pd.DataFrame([row])
    for c in ("design", "level", "name", "comparison_with_events", "ssc", "note"):
        out[c] = out[c].astype("str")
    return out


def target_path(start: tuple[int, float] = (2021, 48.0), end: tuple[int, float] = (2023, 55.0),
                rounds: Sequence[int] | None = None) -> pd.DataFrame:
    """A straight target path between two (round, %) points, per round.

    The default is the national programme's aim: from 48 % (2021) to 55 % (spring 2023).

    Parameters
    ----------
    start, end : (int, float)
        Round and target value at the ends of the path.
    rounds : sequence of int, optional
        Rounds to give (default: every round from start to end). Rounds outside the path are
        left out.

    Returns
    -------
    DataFrame
        ``round``, ``target``.

    Examples
    --------
    >>> target_path()
       round  target
    0   2021    48.0
    1   2022    51.5
    2   2023    55.0
    """
    (r0, v0), (r1, v1) = start, end
    if int(r1) <= int(r0):
        raise MognadError(f"the path must end after it starts; got {r0} → {r1}")
    rounds = range(int(r0), int(r1) + 1) if rounds is None else \
        [int(r) for r in rounds if int(r0) <= int(r) <= int(r1)]
    rounds = list(rounds)
    vals = [float(v0) + (float(v1) - float(v0)) * (r - int(r0)) / (int(r1) - int(r0))
            for r in rounds]
    return pd.DataFrame({"round": pd.array(rounds, dtype="int64"), "target": vals})


# ============================================================================== event study
def _national_change(points: pd.DataFrame, focal: str, wa: pd.Series, wb: pd.Series):
    """Change of the other organisations between two weighted sets of rounds (two-way FE)."""
    others = points[points["org_id"] != focal].copy()
    rounds = sorted(set(wa.index) | set(wb.index))
    others = others[others["round"].isin(rounds)]
    multi = others.groupby("org_id")["round"].nunique()
    others = others[others["org_id"].isin(multi.index[multi >= 2])]
    if others["org_id"].nunique() < 2 or others["round"].nunique() < len(rounds):
        return np.nan, np.nan, np.nan, np.nan
    others["rnd"] = pd.Categorical(others["round"].astype(str),
                                   categories=[str(r) for r in rounds])
    res = _cluster_ols("score_pct ~ C(org_id) + C(rnd)", others, "org_id", method="qr",
                       nested="C(org_id)")
    L = np.zeros(len(res.params))
    names = list(res.params.index)
    for r in rounds:
        coef = wa.get(r, 0.0) - wb.get(r, 0.0)
        term = f"C(rnd)[T.{r}]"
        if term in names:
            L[names.index(term)] += coef
    tt = res.t_test(L)
    # year-to-year deviation of an organisation beyond respondent sampling: residual variance of
    # the two-way model minus the mean sampling variance of the organisation-round scores
    resid_var = float(np.sum(res.resid**2) / res.df_resid) if res.df_resid > 0 else np.nan
    dev_var = max(0.0, resid_var - float(np.nanmean(others["se"].to_numpy(float) ** 2)))
    return float(np.squeeze(tt.effect)), float(np.squeeze(tt.sd)), float(tt.df_denom), dev_var


def pre_post_change(
    study,
    *,
    org_id: str | Sequence[str],
    event_kind: str | None = "reorganisation",
    level: str = "category",
    name: str | None = None,
    event_round: str = "exclude",
    rounds: Sequence[int] | None = None,
    require: bool = True,
    ci: float = 0.95,
    codebook: str | Codebook | None = None,
) -> pd.DataFrame:
    """Scores before and after an organisation event (e.g. a reorganisation), with intervals.

    The design is a respondent-level **pre/post comparison** (column ``design``:
    ``"pre_post"``), with the national change over the same rounds as adjustment
    (``net_change``); :func:`mognad.casestudy.difference_in_differences` is the
    organisation-round difference in differences against comparison organisations. Both are
    legitimate; a report says which one it shows.

    The event's date comes from the study's events table. Rounds are calendar years, so the
    organisation's rounds are split into *before* (rounds before the event's year) and *after*
    (rounds after it); the round of the event year is left out by default, since it may have
    been measured on either side (``event_round="before"`` / ``"after"`` puts it there).

    - ``change``: mean of the respondents' scores after minus before (all respondents of the
      rounds in each segment pooled), with a Welch t-interval. When a respondent answered in
      several of the organisation's rounds (named rounds), the respondents are not independent
      observations, and the interval is cluster-robust by respondent instead (``se_method``).
    - ``national_change``: the change of the other organisations over the same rounds: round
      effects of a two-way fixed-effects regression of their organisation-round scores
      (organisation and round effects, SEs clustered by organisation), weighted by the focal
      organisation's respondents per round within each segment.
    - ``net_change`` = ``change`` - ``national_change``: the event's effect if the organisation
      would otherwise have followed the national trend. Its standard error combines both
      standard errors and the organisation's own year-to-year deviations, which a single
      organisation cannot average away: ``org_round_sd`` (estimated from the comparison
      organisations: residual variance of the two-way model minus the respondent-sampling
      variance of their scores) enters as ``org_round_sd² x (sum of squared round weights
      before + after)``.

    Parameters
    ----------
    study : Study or path
    org_id : str or sequence of str
    event_kind : str or None
        Kind of event (``reorganisation``, ``funding_change``, ``course_start`` …); ``None``:
        every event of the organisation(s) except ``programme_end``.
    level : {"category", "dimension", "total"}
    name : str, optional
        One score name (default all of the level).
    event_round : {"exclude", "before", "after"}
    rounds : sequence of int, optional
        Rounds to use (default: all).
    require : bool
        Raise when there is no such event (default); ``False`` returns an empty table.
    ci : float
    codebook : optional

    Returns
    -------
    DataFrame
        One row per organisation, event and score: ``design`` (``"pre_post"``), ``org_id``,
        ``event_kind``, ``event_date``, ``level``, ``name``, ``rounds_before``, ``rounds_after``,
        ``n_before``, ``n_after`` (respondent scores), ``score_before``, ``score_after``,
        ``change``, ``ci_low``, ``ci_high``, ``p_value``,
        ``se_method``, ``org_round_sd``, ``national_change``, ``national_ci_low``,
        ``national_ci_high``,
        ``net_change``, ``net_ci_low``, ``net_ci_high``, ``net_p_value``.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from mognad.synth import synthesize
    >>> from mognad.io.store import init_study
    >>> from mognad.io.ingest import ingest
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = synthesize(root / "data", seed=3, profile="small")
    >>> _ = init_study(root / "study")
    >>> _ = ingest(root / "data" / "inputs", study=root / "study")
    >>> ev = pre_post_change(root / "study", org_id="R12", name="innovation")
    >>> ev[["name", "rounds_before", "rounds_after", "se_method"]]
             name rounds_before            rounds_after se_method
    0  innovation          2019  2021 2022 2023 2024   cluster
    """
    if event_round not in ("exclude", "before", "after"):
        raise MognadError(f"event_round must be 'exclude', 'before' or 'after'; got {event_round!r}")
    ci = _check_ci(ci)
    study = _open(study)
    cb = _codebook(study, codebook)
    names = _check_level(level, name, cb)
    org_ids = [org_id] if isinstance(org_id, str) else [str(o) for o in org_id]
    ev = _events(study)
    ev = ev[ev["org_id"].isin(org_ids)]
    ev = ev[ev["kind"] != "programme_end"] if event_kind is None else ev[ev["kind"] == event_kind]
    cols = ["design", "org_id", "event_kind", "event_date", "level", "name", "rounds_before",
            "rounds_after", "n_before", "n_after", "score_before", "score_after", "change",
            "ci_low", "ci_high", "p_value", "se_method", "org_round_sd", "national_change",
            "national_ci_low",
            "national_ci_high", "net_change", "net_ci_low", "net_ci_high", "net_p_value"]
    if ev.empty:
        if not require:
            return pd.DataFrame({c: [] for c in cols})
        raise MognadError(
            f"no {event_kind or ''} event for {', '.join(org_ids)} in the events table".replace(
                "  ", " ")
        )
    resp_all = _responses(study, rounds=rounds)
    points = _org_round_points(resp_all, cb, [(level, n) for n in names])
    z = 0.5 + ci / 2
    rows = []
    for e in ev.sort_values(["org_id", "date"]).itertuples():
        resp = resp_all[resp_all["org_id"].astype(str) == e.org_id]
        if resp.empty:
            continue
        rs = respondent_scores(resp, codebook=cb, by=("round",), levels=[level])
        year = int(e.date.year)
        before = rs["round"] < year if event_round != "before" else rs["round"] <= year
        after = rs["round"] > year if event_round != "after" else rs["round"] >= year
        repeated = rs.drop_duplicates(["round", "respondent_id"])["respondent_id"] \
            .duplicated().any()
        for nm in names:
            s = rs[rs["name"] == nm]
            b, a = s[before.loc[s.index]], s[after.loc[s.index]]
            xb, xa = b["score_pct"].to_numpy(float), a["score_pct"].to_numpy(float)
            row = {"design": "pre_post", "org_id": e.org_id, "event_kind": e.kind,
                   "event_date": e.date.date(),
                   "level": level, "name": nm,
                   "rounds_before": " ".join(str(r) for r in sorted(b["round"].unique())),
                   "rounds_after": " ".join(str(r) for r in sorted(a["round"].unique())),
                   "n_before": xb.size, "n_after": xa.size,
                   "score_before": xb.mean() if xb.size else np.nan,
                   "score_after": xa.mean() if xa.size else np.nan}
            diff = row["score_after"] - row["score_before"]
            if repeated and xb.size >= 2 and xa.size >= 2:
                dd = pd.concat([b.assign(after=0.0), a.assign(after=1.0)], ignore_index=True)
                dd["respondent_id"] = dd["respondent_id"].astype(str)
                res = _cluster_ols("score_pct ~ after", dd, "respondent_id")
                se, df, method = float(res.bse["after"]), float(res.df_resid_inference), \
                    "cluster"
            else:
                w = welch_interval(xa, xb)
                se, df, method = w["se"], w["df"], "welch"
            half = stats.t.ppf(z, df) * se if np.isfinite(se) else np.nan
            row.update(change=diff, ci_low=diff - half, ci_high=diff + half,
                       p_value=2 * stats.t.sf(abs(diff / se), df) if se and np.isfinite(se)
                       else np.nan, se_method=method)
            wb = b["round"].value_counts(normalize=True)
            wa = a["round"].value_counts(normalize=True)
            nat, nse, ndf, dev_var = (np.nan, np.nan, np.nan, np.nan)
            if len(wb) and len(wa):
                nat, nse, ndf, dev_var = _national_change(points[points["name"] == nm],
                                                          e.org_id, wa, wb)
            nhalf = stats.t.ppf(z, ndf) * nse if np.isfinite(nse) else np.nan
            net = diff - nat
            dev = dev_var * (float(np.sum(wa.to_numpy() ** 2)) + float(np.sum(wb.to_numpy() ** 2)))
            tse = np.sqrt(se**2 + nse**2 + dev)
            with np.errstate(divide="ignore", invalid="ignore"):
                tdf = tse**4 / (se**4 / df + nse**4 / ndf + dev**2 / ndf)
            thalf = stats.t.ppf(z, tdf) * tse if np.isfinite(tse) else np.nan
            row.update(org_round_sd=np.sqrt(dev_var), national_change=nat,
                       national_ci_low=nat - nhalf,
                       national_ci_high=nat + nhalf, net_change=net, net_ci_low=net - thalf,
                       net_ci_high=net + thalf,
                       net_p_value=2 * stats.t.sf(abs(net / tse), tdf)
                       if np.isfinite(tse) and tse > 0 else np.nan)
            rows.append(row)
    out = pd.DataFrame(rows, columns=cols)
    for c in ("design", "org_id", "event_kind", "level", "name", "rounds_before", "rounds_after",
              "se_method"):
        out[c] = out[c].astype("str")
    return out


# ============================================================================== notebook helpers
def previous_round(study, round: int) -> int | None:
    """The study's round before ``round`` (``None`` if there is none)."""
    rounds = _rounds(study)
    earlier = [r for r in rounds if r < int(round)]
    return max(earlier) if earlier else None


def _rounds(study) -> list[int]:
    if hasattr(study, "rounds"):
        return [int(r) for r in study.rounds]
    return sorted(int(r) for r in study.responses["round"].unique())


def _respondent_counts(study) -> pd.DataFrame:
    if hasattr(study, "sql"):
        out = study.sql("SELECT org_id, round, count(*) AS n_respondents FROM respondents "
                        "GROUP BY org_id, round")
    else:
        out = (study.responses.drop_duplicates(["org_id", "round", "respondent_id"])
               .groupby(["org_id", "round"]).size().rename("n_respondents").reset_index())
    out["org_id"] = out["org_id"].astype("str")
    out["round"] = out["round"].astype("int64")
    out["n_respondents"] = out["n_respondents"].astype("int64")
    return out


def participation(study) -> pd.DataFrame:
    """Participating organisations and respondents per round and organisation type.

    Parameters
    ----------
    study : Study or path

    Returns
    -------
    DataFrame
        Tidy: ``round``, ``org_type`` (``"okänd"`` when the registry has none), ``n_orgs``,
        ``n_respondents`` (the report table: :func:`mognad.present.survey.participation_table`).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> resp = pd.DataFrame({"org_id": ["1", "1", "2"], "round": [2023, 2024, 2024],
    ...                      "respondent_id": ["a", "b", "c"]})
    >>> orgs = pd.DataFrame({"org_id": ["1", "2"], "org_type": ["kommun", "region"]})
    >>> participation(SimpleNamespace(responses=resp, organisations=orgs))
       round org_type  n_orgs  n_respondents
    0   2023   kommun       1              1
    1   2024   kommun       1              1
    2   2024   region       1              1
    """
    study = _open(study)
    counts = _respondent_counts(study)
    counts["org_type"] = counts["org_id"].map(_org_types(study)).fillna("okänd").astype("str")
    return (counts.groupby(["round", "org_type"])
            .agg(n_orgs=("org_id", "nunique"), n_respondents=("n_respondents", "sum"))
            .reset_index())


def quadrant_shares(types: pd.DataFrame, *, codebook: str | Codebook | None = None
                    ) -> pd.DataFrame:
    """How many organisations fall in each type (A-D) of the 2x2 map.

    Parameters
    ----------
    types : DataFrame
        :func:`mognad.scoring.classify` output (e.g. ``national_round(study, 2024).types``).

    Returns
    -------
    DataFrame
        ``type``, ``n_orgs``, ``share`` (0-1), and ``mean_probability`` (mean bootstrap
        probability of the type among its organisations); the report table with the types'
        names is :func:`mognad.present.survey.quadrant_table`.

    Examples
    --------
    >>> types = pd.DataFrame({"type": ["A", "A", "D"], "type_probability": [0.9, 0.7, 0.6]})
    >>> quadrant_shares(types)[["type", "n_orgs", "share"]].round(2)
      type  n_orgs  share
    0    A       2   0.67
    1    B       0   0.00
    2    C       0   0.00
    3    D       1   0.33
    """
    cb = load_codebook(codebook)
    t = types.dropna(subset=["type"])
    rows = []
    for code in sorted(cb.types):
        sel = t[t["type"] == code]
        rows.append({"type": code, "n_orgs": len(sel),
                     "share": len(sel) / len(t) if len(t) else np.nan,
                     "mean_probability": sel["type_probability"].mean()
                     if "type_probability" in sel and len(sel) else np.nan})
    out = pd.DataFrame(rows)
    out["type"] = out["type"].astype("str")
    return out


def national_category_profile(scores: pd.DataFrame, *, ci: float = 0.95) -> pd.DataFrame:
    """National mean of the organisations' category and dimension scores, with t-intervals.

    The organisations are the unit: the interval reflects the spread between organisations
    (for :func:`mognad.present.plots.category_profile`).

    Parameters
    ----------
    scores : DataFrame
        :func:`mognad.scoring.score` output for one round (``national_round(...).scores``).

    Returns
    -------
    DataFrame
        ``level``, ``name``, ``score_pct``, ``ci_low``, ``ci_high``, ``n_orgs``, ``sd``.

    Examples
    --------
    >>> scores = pd.DataFrame({"org_id": ["1", "2", "3"], "level": "category",
    ...                        "name": "innovation", "score_pct": [40.0, 50.0, 60.0]})
    >>> national_category_profile(scores)[["name", "score_pct", "ci_low", "ci_high"]].round(1)
             name  score_pct  ci_low  ci_high
    0  innovation       50.0    25.2     74.8
    """
    ci = _check_ci(ci)
    s = scores[scores["level"].isin(["total", "dimension", "category"])].dropna(
        subset=["score_pct"])
    g = s.groupby(["level", "name"], sort=False)["score_pct"]
    out = g.agg(score_pct="mean", sd="std", n_orgs="size").reset_index()
    half = stats.t.ppf(0.5 + ci / 2, out["n_orgs"] - 1) * out["sd"] / np.sqrt(out["n_orgs"])
    out["ci_low"] = out["score_pct"] - half
    out["ci_high"] = out["score_pct"] + half
    return out[["level", "name", "score_pct", "ci_low", "ci_high", "n_orgs", "sd"]]


def largest_movers(
    study,
    *,
    to_round: int,
    from_round: int | None = None,
    level: str = "total",
    name: str | None = None,
    k: int = 5,
    min_n: int = 5,
    ci: float = 0.95,
    method: str = "t",
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """The organisations that rose and fell most between two rounds, with intervals.

    Disclosure-safe: organisations only (no units), and only those with at least ``min_n``
    respondents in *both* rounds. Changes and intervals are those of :func:`change` with
    ``design="independent"`` (same ``method``), so named follow-up respondents are not paired
    here (the intervals are then somewhat conservative).

    Parameters
    ----------
    study : Study or path
    to_round : int
    from_round : int, optional
        Default: the study's previous round.
    level, name : str
        The score (default the total).
    k : int
        Organisations per direction.
    min_n : int
        Minimum respondents in each round.
    ci, method, n_boot, seed
        Interval settings as in :func:`change` (``n_boot`` and ``seed`` for
        ``method="bootstrap"``).

    Returns
    -------
    DataFrame
        Up to ``2k`` rows, largest rises first, then largest falls: ``direction`` (``"up"`` /
        ``"down"``), ``org_id``, ``org_name``, ``org_type``, ``score_from``, ``score_to``,
        ``change``, ``ci_low``, ``ci_high``, ``n_from``, ``n_to``.
    """
    from mognad.scoring import bootstrap_scores

    ci = _check_ci(ci)
    study = _open(study)
    cb = _codebook(study, None)
    to_round = int(to_round)
    from_round = previous_round(study, to_round) if from_round is None else int(from_round)
    if from_round is None:
        raise MognadError(f"there is no round before {to_round} in the study")
    nm = _check_level(level, name if level != "total" else None, cb)[0]
    resp = _responses(study, rounds=[from_round, to_round])
    if method not in CHANGE_METHODS:
        raise MognadError(f"method must be one of {list(CHANGE_METHODS)}; got {method!r}")
    sd = bootstrap_scores(resp, codebook=cb, by=("org_id", "round"),
                          n_boot=n_boot if method == "bootstrap" else 0, seed=seed)
    j = sd.index(level, nm)
    g = sd.groups.assign(org_id=sd.groups["org_id"].astype(str), row=np.arange(sd.n_groups))
    wide = g.pivot(index="org_id", columns="round", values="row").dropna()
    rows = []
    for org, (ia, ib) in zip(wide.index, wide[[from_round, to_round]].to_numpy(dtype=int),
                             strict=True):
        na, nb = int(sd.n_respondents[ia, j]), int(sd.n_respondents[ib, j])
        if min(na, nb) < min_n:
            continue
        lo, hi = _independent_interval(sd, ia, ib, j, ci=ci, method=method)
        rows.append({"org_id": org, "score_from": sd.point[ia, j], "score_to": sd.point[ib, j],
                     "change": sd.point[ib, j] - sd.point[ia, j], "ci_low": lo, "ci_high": hi,
                     "n_from": na, "n_to": nb})
    cols = ["direction", "org_id", "org_name", "org_type", "score_from", "score_to", "change",
            "ci_low", "ci_high", "n_from", "n_to"]
    if not rows:
        return pd.DataFrame({c: [] for c in cols})
    m = pd.DataFrame(rows)
    up = m[m["change"] > 0].nlargest(k, "change").assign(direction="up")
    down = m[m["change"] < 0].nsmallest(k, "change").assign(direction="down")
    out = pd.concat([up, down], ignore_index=True)
    orgs = study.organisations.assign(org_id=lambda f: f["org_id"].astype(str))
    out["org_name"] = out["org_id"].map(orgs.set_index("org_id")["name"]).astype("str")
    out["org_type"] = out["org_id"].map(orgs.set_index("org_id")["org_type"]).astype("str")
    out["direction"] = out["direction"].astype("str")
    out["org_id"] = out["org_id"].astype("str")
    return out[cols]


def reorganised_orgs(study, org_ids: Sequence[str] | None = None, *,
                     kind: str = "reorganisation") -> list[str]:
    """``org_ids`` as strings, or (when empty) the organisations with an event of ``kind``.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> ev = pd.DataFrame({"org_id": ["R12"], "date": ["2020-03-01"], "kind": ["reorganisation"],
    ...                    "text": [""]})
    >>> reorganised_orgs(SimpleNamespace(events=ev)), reorganised_orgs(None, [9142])
    (['R12'], ['9142'])
    """
    if org_ids:
        return [str(o) for o in org_ids]
    ev = _events(_open(study))
    found = sorted(ev.loc[ev["kind"] == kind, "org_id"].unique().tolist())
    if not found:
        raise MognadError(f"no organisation has a {kind} event; give org_ids=[...]")
    return found


def org_events(study, org_ids: Sequence[str]) -> pd.DataFrame:
    """The events of some organisations (``programme_end`` left out), sorted by date."""
    ev = _events(_open(study))
    ev = ev[ev["org_id"].isin([str(o) for o in org_ids]) & (ev["kind"] != "programme_end")]
    return ev.sort_values(["date", "org_id"]).reset_index(drop=True)


def trajectories(
    study,
    *,
    org_ids: Sequence[str],
    rounds: Sequence[int] | None = None,
    level: str | Sequence[str] = "category",
    ci: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Scores of some organisations in every round, with cluster-bootstrap intervals.

    Returns
    -------
    DataFrame
        :func:`mognad.scoring.score` rows of the levels asked for, plus ``org_name``.
    """
    from mognad.scoring import score

    study = _open(study)
    org_ids = [org_ids] if isinstance(org_ids, str) else [str(o) for o in org_ids]
    if not org_ids:
        raise MognadError("give at least one organisation id (org_ids=[...])")
    resp = _responses(study, rounds=rounds, org_ids=org_ids)
    if resp.empty:
        raise MognadError(f"no responses for organisation(s) {org_ids}"
                          + (f" in rounds {list(rounds)}" if rounds is not None else ""))
    levels = [level] if isinstance(level, str) else list(level)
    out = score(resp, codebook=_codebook(study, None), ci=ci, n_boot=n_boot, seed=seed,
                levels=levels)
    names = study.organisations.assign(org_id=lambda f: f["org_id"].astype(str)) \
        .set_index("org_id")["name"]
    out["org_name"] = out["org_id"].astype(str).map(names).astype("str")
    return out


def change_decomposition(
    study,
    *,
    org_id: str | Sequence[str],
    from_round: int | None = None,
    to_round: int | None = None,
    rounds: Sequence[int] | None = None,
    ci: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """An organisation's change in the total, split into the contributions of its categories.

    The total is a weighted mean of the categories (weight = category weight within its
    dimension x dimension weight), so its change is exactly the sum of ``weight x category
    change``; ``contribution`` says how many of the total's percentage points each category
    brought. Changes and intervals as :func:`change` (``design="auto"``).

    Parameters
    ----------
    org_id : str or sequence of str
    from_round, to_round : int, optional
        Default: the organisation's first and last rounds (among ``rounds``).
    rounds : sequence of int, optional
        Rounds to choose the default ends from (default: all).

    Returns
    -------
    DataFrame
        :func:`change` columns plus ``weight`` (in the total) and ``contribution`` (pp).
    """
    study = _open(study)
    cb = _codebook(study, None)
    lay = _bs.layout(cb)
    wdim = lay.dim_weight / lay.dim_weight.sum()
    wcat = {}
    for c, cat in enumerate(lay.categories):
        in_dim = lay.cat_dim == lay.cat_dim[c]
        wcat[cat] = lay.cat_weight[c] / lay.cat_weight[in_dim].sum() * wdim[lay.cat_dim[c]]
    weight = {("total", "total"): 1.0,
              **{("dimension", d): wdim[i] for i, d in enumerate(lay.dimensions)},
              **{("category", c): w for c, w in wcat.items()}}
    org_ids = [org_id] if isinstance(org_id, str) else [str(o) for o in org_id]
    counts = _respondent_counts(study)
    parts = []
    for org in org_ids:
        have = sorted(counts.loc[counts["org_id"] == org, "round"])
        if rounds is not None:
            have = [r for r in have if r in {int(x) for x in rounds}]
        if len(have) < 2:
            continue
        a = have[0] if from_round is None else int(from_round)
        b = have[-1] if to_round is None else int(to_round)
        ch = change(study, org_id=org, from_round=a, to_round=b,
                    level=["total", "dimension", "category"], ci=ci, n_boot=n_boot, seed=seed)
        ch["weight"] = [weight[(lv, nm)] for lv, nm in zip(ch["level"], ch["name"], strict=True)]
        ch["contribution"] = ch["weight"] * ch["change"]
        parts.append(ch)
    if not parts:
        raise MognadError(f"no organisation among {org_ids} has two rounds to compare")
    return pd.concat(parts, ignore_index=True)


def programme_effect_or_none(study, **kwargs) -> pd.DataFrame | None:
    """:func:`programme_effect` with the defaults, or ``None`` when the study has no programme
    to evaluate (no ``programme_start`` events, too few participants or rounds)."""
    try:
        return programme_effect(study, **kwargs)
    except MognadError:
        return None


def select_rounds(study, rounds: Sequence[int] | None = None, until: int | None = None
                  ) -> list[int]:
    """The study's rounds, optionally only ``rounds`` and only up to ``until``.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> select_rounds(SimpleNamespace(rounds=[2019, 2020, 2021]), until=2020)
    [2019, 2020]
    """
    have = _rounds(study)
    if rounds is not None:
        have = [r for r in have if r in {int(x) for x in rounds}]
    if until is not None:
        have = [r for r in have if r <= int(until)]
    if not have:
        raise MognadError(f"no rounds left to show (rounds={rounds}, until={until})")
    return have
