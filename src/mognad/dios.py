"""DIOS: the analyses of the digital infrastructure inventory.

One row per system, organisation and inventory year. The input format (the ``systems`` kind of
input file, its parsers and :func:`load_systems`) is :mod:`mognad.io.dios`, imported (and the kind
registered) with this module; the report tables, texts and figures are
:mod:`mognad.present.dios`; ``docs/dios.md`` describes both.

Analyses (tidy DataFrames in and out; column roles are keyword-only arguments; numbers and codes,
never prose):

- :func:`portfolio`: importance x quality with a TIME action per system (Gartner's *Tolerate,
  Invest, Migrate, Eliminate*; ``unassessed`` when a rating is missing); :func:`portfolio_summary`.
- :func:`decommissioning` and :func:`freed_cost`: decommissioning candidates under scenarios and
  the annual cost they free, per organisation and in total.
- :func:`compliance`: the "must" requirements (the organisation owns its data, open standards,
  open API) with Wilson intervals, per organisation, domain or nationally;
  :func:`compliance_vs_others`: one organisation against the others, with the difference.
- :func:`vendor_concentration`: Herfindahl-Hirschman index and top-vendor share per business
  domain, nationally or per county.
- :func:`age_profile`: age and lifecycle profile.
- :func:`product_comparison`: the same product across organisations.
- :func:`legacy_index`, :func:`peer_comparison` and :func:`legacy_vs_survey`: a legacy index per
  organisation, set against its peers and against the DiMiOS legacy dimension (``arv``).

Conventions
-----------
- Every aggregate is computed **per inventory year** when the table has a ``year`` column (the
  ``year`` argument names it; ``year=None`` pools the rows).
- Ratings (``importance``, ``technical_quality``, ``functional_quality``) are ordinal 1-4;
  ``vet ej`` / empty means *not assessed* (missing, never 0).
- ``open_standards``/``open_api`` are ``ja``/``nej``; ``data_ownership`` is ``ja``/``delvis``/
  ``nej``. Booleans, ``yes``/``no``, ``1``/``0`` and ``true``/``false`` are accepted too.
- Shares are fractions (0-1); the legacy index and HHI are on the scales given in their functions.

Examples
--------
>>> systems = pd.DataFrame({
...     "org_id": ["0114"] * 4, "year": 2024, "system_id": ["S1", "S2", "S3", "S4"],
...     "importance": [4, 4, 1, 1], "technical_quality": [4, 1, 4, 1],
...     "functional_quality": [3, 2, 4, 1], "annual_cost_sek": [500_000, 900_000, 50_000, 80_000]})
>>> portfolio(systems)[["system_id", "quality_score", "time"]]
  system_id  quality_score       time
0        S1            3.5     invest
1        S2            1.5    migrate
2        S3            4.0   tolerate
3        S4            1.0  eliminate
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from mognad.disclosure import NATIONAL
from mognad.errors import MognadError
from mognad.intervals import wilson_interval
from mognad.io.dios import (
    HOSTING,
    LIFECYCLE,
    ORDINAL_RANGE,
    SYSTEM_COLUMNS,
    amount_one,
    lifecycle_one,
    load_systems,
    ordinal_one,
    ownership_one,
    parse_series,
    yes_no_one,
)

__all__ = [
    "HOSTING",
    "LIFECYCLE",
    "REQUIREMENTS",
    "SCENARIOS",
    "SYSTEM_COLUMNS",
    "TIME_ACTIONS",
    "LegacyLink",
    "age_profile",
    "compliance",
    "compliance_vs_others",
    "decommissioning",
    "fisher_ci",
    "freed_cost",
    "legacy_index",
    "legacy_vs_survey",
    "load_systems",
    "peer_comparison",
    "portfolio",
    "portfolio_summary",
    "product_comparison",
    "survey_scores",
    "vendor_concentration",
    "wilson_ci",
]

# ============================================================================================
# ============================================================================================
# The inventory format lives in mognad.io.dios (importing it registers the "systems" kind)
# ============================================================================================
#: The must-requirements, in report order; ``all`` = compliant with every one of them.
REQUIREMENTS = ("data_ownership", "open_standards", "open_api")
TIME_ACTIONS = ("invest", "tolerate", "migrate", "eliminate", "unassessed")
DEFAULT_THRESHOLDS = {"importance": 3.0, "quality": 3.0}
DEFAULT_QUALITY = ("technical_quality", "functional_quality")
#: Decommissioning scenarios: which kinds of candidate each includes.
SCENARIOS = {
    "eliminate": ("eliminate",),
    "eliminate_migrate": ("eliminate", "migrate"),
    "eliminate_planned": ("eliminate", "planned"),
    "all": ("eliminate", "planned", "migrate"),
}




def _require(frame: Any, cols: Iterable[str], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise MognadError(f"{what}: needs a DataFrame; got {type(frame).__name__}")
    missing = [c for c in cols if c is not None and c not in frame.columns]
    if missing:
        raise MognadError(f"{what}: missing column(s) {missing}; the table has "
                          f"{list(frame.columns)}")


def _as_tuple(cols: str | Iterable[str] | None) -> tuple[str, ...]:
    if cols is None:
        return ()
    if isinstance(cols, str):
        return (cols,)
    return tuple(cols)


def _keys(frame: pd.DataFrame, by: Iterable[str], year: str | None) -> list[str]:
    keys = list(_as_tuple(by))
    if year is not None and year in frame.columns and year not in keys:
        keys.append(year)
    return keys


def _checked(s: pd.Series, parse, column: str, what: str) -> np.ndarray:
    values, bad = parse_series(s, parse)
    if (bad != "").any():
        i = int(np.flatnonzero(bad != "")[0])
        raise MognadError(f"{what}: column {column}, value {s.iloc[i]!r}: {bad[i]}")
    return values


def _ordinal(s: pd.Series, column: str, what: str) -> np.ndarray:
    """Ratings as float (NaN = not assessed); a bad value raises with its column and value."""
    if pd.api.types.is_bool_dtype(s):
        raise MognadError(f"{what}: column {column} holds booleans; expected ratings 1–4")
    if pd.api.types.is_numeric_dtype(s):
        x = pd.to_numeric(s, errors="coerce").astype(float).to_numpy()
        bad = ~np.isnan(x) & ((x != np.floor(x)) | (x < ORDINAL_RANGE[0]) | (x > ORDINAL_RANGE[1]))
        if bad.any():
            v = x[np.flatnonzero(bad)[0]]
            raise MognadError(f"{what}: column {column}, value {v:g}: {ordinal_one(v)[1]}")
        return x
    return _checked(s, ordinal_one, column, what).astype(float)


def _pass_fail(s: pd.Series, column: str, what: str, *, ownership: bool = False,
               partial: str = "pass") -> np.ndarray:
    """A requirement as float 1 (met), 0 (not met) or NaN (unknown)."""
    if pd.api.types.is_bool_dtype(s):
        return s.astype("boolean").astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    values = _checked(s, ownership_one if ownership else yes_no_one, column, what)
    out = np.full(len(values), np.nan)
    out[values == "ja"] = 1.0
    out[values == "nej"] = 0.0
    out[values == "delvis"] = 1.0 if partial == "pass" else 0.0
    return out


def _numeric(s: pd.Series, column: str, what: str) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return pd.to_numeric(s, errors="coerce").astype(float).to_numpy()
    return _checked(s, amount_one, column, what).astype(float)


def _check_partial(partial_ownership: str) -> str:
    if partial_ownership not in ("pass", "fail"):
        raise MognadError(f"partial_ownership must be 'pass' or 'fail'; got {partial_ownership!r}")
    return partial_ownership


def _requirement_matrix(systems: pd.DataFrame, what: str, partial_ownership: str) -> pd.DataFrame:
    """Per system: 1/0/NaN for each requirement and for ``all``."""
    _require(systems, REQUIREMENTS, what)
    out = pd.DataFrame(index=systems.index)
    for r in REQUIREMENTS:
        out[r] = _pass_fail(systems[r], r, what, ownership=r == "data_ownership",
                            partial=partial_ownership)
    m = out[list(REQUIREMENTS)].to_numpy()
    fails = (m == 0).any(axis=1)
    known = ~np.isnan(m).any(axis=1)
    out["all"] = np.where(fails, 0.0, np.where(known, 1.0, np.nan))
    return out


# ============================================================================================
# Intervals
# ============================================================================================
#: Wilson score interval (one implementation, in :mod:`mognad.intervals`).
wilson_ci = wilson_interval


def fisher_ci(r: float, n: int, ci: float = 0.95, *, method: str = "pearson") -> tuple[float, float]:
    """Confidence interval of a correlation by Fisher's z transformation.

    ``tanh(atanh(r) ± z / sqrt(n - 3))`` for Pearson's r (what R's ``cor.test`` reports); for
    Spearman's rho the standard error is ``sqrt(1.06 / (n - 3))`` (Fieller, Hartley & Pearson
    1957). NaN for ``n < 4``.

    Examples
    --------
    >>> lo, hi = fisher_ci(0.5, 28)   # hand-worked: tanh(0.5493 -/+ 1.96 x 0.2)
    >>> round(lo, 4), round(hi, 4)
    (0.156, 0.7358)
    """
    if n < 4 or not np.isfinite(r):
        return float("nan"), float("nan")
    se = math.sqrt((1.06 if method == "spearman" else 1.0) / (n - 3))
    z = NormalDist().inv_cdf(0.5 + ci / 2)
    zr = math.atanh(max(min(r, 1 - 1e-15), -1 + 1e-15))
    return math.tanh(zr - z * se), math.tanh(zr + z * se)


# ============================================================================================
# Portfolio (TIME)
# ============================================================================================
def _quality_score(systems: pd.DataFrame, quality, combine: str, what: str) -> np.ndarray:
    qcols = _as_tuple(quality)
    if not qcols:
        raise MognadError(f"{what}: give at least one quality column")
    if combine not in ("mean", "min"):
        raise MognadError(f"{what}: combine must be 'mean' or 'min'; got {combine!r}")
    _require(systems, qcols, what)
    q = np.column_stack([_ordinal(systems[c], c, what) for c in qcols])
    return q.mean(axis=1) if combine == "mean" else q.min(axis=1)  # NaN if any is missing


def _thresholds(thresholds: Mapping | None, what: str) -> dict[str, float]:
    thr = dict(DEFAULT_THRESHOLDS)
    if thresholds:
        unknown = set(thresholds) - set(thr)
        if unknown:
            raise MognadError(f"{what}: unknown threshold(s) {sorted(unknown)}; use "
                              f"{sorted(thr)}")
        thr.update({k: float(v) for k, v in thresholds.items()})
    return thr


def portfolio(
    systems: pd.DataFrame,
    *,
    importance: str = "importance",
    quality: str | Sequence[str] = DEFAULT_QUALITY,
    thresholds: Mapping[str, float] | None = None,
    combine: str = "mean",
) -> pd.DataFrame:
    """Importance x quality portfolio with a TIME action per system.

    The quality score is the ``mean`` (or, with ``combine="min"``, the lowest) of the quality
    ratings. A rating is *high* when it is at least its threshold (default 3 on the 1-4 scale,
    i.e. the upper half; a quality mean of 2.5 is low). The action follows Gartner's TIME model:

    ============  ===============  ===============
    importance    quality high     quality low
    ============  ===============  ===============
    high          ``invest``       ``migrate``
    low           ``tolerate``     ``eliminate``
    ============  ===============  ===============

    A system with its importance or any quality rating missing is ``unassessed`` (it is never
    given an action on half the information).

    Parameters
    ----------
    systems : DataFrame
        One row per system (see :func:`load_systems`).
    importance : str, default "importance"
        Column of the business importance (1-4).
    quality : str or sequence of str, default ("technical_quality", "functional_quality")
        Quality column(s) (1-4).
    thresholds : mapping, optional
        ``{"importance": 3, "quality": 3}`` by default; a value at or above the threshold is high.
    combine : {"mean", "min"}, default "mean"
        How several quality ratings make one score.

    Returns
    -------
    DataFrame
        ``systems`` with ``quality_score`` (float), ``high_importance``, ``high_quality``
        (nullable booleans) and ``time`` (one of :data:`TIME_ACTIONS`).

    Examples
    --------
    >>> s = pd.DataFrame({"importance": [3, 2, 4, 2, 4], "technical_quality": [3, 4, 2, 2, 4],
    ...                   "functional_quality": [3, 3, 3, 2, "vet ej"]})
    >>> portfolio(s)[["quality_score", "high_importance", "high_quality", "time"]]
       quality_score  high_importance  high_quality        time
    0            3.0             True          True      invest
    1            3.5            False          True    tolerate
    2            2.5             True         False     migrate
    3            2.0            False         False   eliminate
    4            NaN             True          <NA>  unassessed
    """
    what = "portfolio"
    _require(systems, (importance,), what)
    thr = _thresholds(thresholds, what)
    imp = _ordinal(systems[importance], importance, what)
    q = _quality_score(systems, quality, combine, what)
    hi_imp = imp >= thr["importance"]
    hi_q = q >= thr["quality"]
    assessed = ~np.isnan(imp) & ~np.isnan(q)
    action = np.select([~assessed, hi_imp & hi_q, ~hi_imp & hi_q, hi_imp & ~hi_q],
                       ["unassessed", "invest", "tolerate", "migrate"], "eliminate")
    out = systems.copy()
    out["quality_score"] = q
    out["high_importance"] = pd.array(np.where(np.isnan(imp), None, hi_imp), dtype="boolean")
    out["high_quality"] = pd.array(np.where(np.isnan(q), None, hi_q), dtype="boolean")
    out["time"] = pd.Series(action, index=out.index, dtype="str")
    return out


def portfolio_summary(
    systems: pd.DataFrame,
    *,
    by: str | Sequence[str] = ("org_id",),
    year: str | None = "year",
    cost: str | None = "annual_cost_sek",
    **portfolio_kw,
) -> pd.DataFrame:
    """Number of systems and annual cost per TIME action, per group.

    Parameters
    ----------
    systems : DataFrame
        Systems (or the output of :func:`portfolio`, whose ``time`` column is then used).
    by : str or sequence of str, default ("org_id",)
        Groups; ``()`` for all systems together.
    year : str or None, default "year"
        Inventory-year column (added to the groups when present).
    cost : str or None
        Cost column; ``None`` to leave cost out.
    **portfolio_kw
        Passed to :func:`portfolio` (thresholds, columns).

    Returns
    -------
    DataFrame
        The group columns, ``time`` (every action of :data:`TIME_ACTIONS`, in that order),
        ``n_systems``, ``share`` (of the group's systems), ``cost_sek`` and ``cost_share``.

    Examples
    --------
    >>> s = pd.DataFrame({"org_id": "0114", "importance": [4, 4, 1],
    ...                   "technical_quality": [4, 1, 1], "functional_quality": [4, 1, 1],
    ...                   "annual_cost_sek": [100.0, 300.0, 100.0]})
    >>> portfolio_summary(s)
      org_id        time  n_systems     share  cost_sek  cost_share
    0   0114      invest          1  0.333333     100.0         0.2
    1   0114    tolerate          0  0.000000       0.0         0.0
    2   0114     migrate          1  0.333333     300.0         0.6
    3   0114   eliminate          1  0.333333     100.0         0.2
    4   0114  unassessed          0  0.000000       0.0         0.0
    """
    port = systems if "time" in systems.columns else portfolio(systems, **portfolio_kw)
    keys = _keys(port, by, year)
    _require(port, keys + ([cost] if cost is not None else []), "portfolio_summary")
    frame = port[keys + ["time"]].copy()
    frame["_cost"] = (_numeric(port[cost], cost, "portfolio_summary") if cost is not None
                      else np.nan)
    frame["_one"] = 1
    if keys:
        groups = frame[keys].drop_duplicates().sort_values(keys).reset_index(drop=True)
    else:
        groups = pd.DataFrame(index=[0])
    grid = groups.merge(pd.DataFrame({"time": list(TIME_ACTIONS)}), how="cross")
    agg = (frame.groupby(keys + ["time"], dropna=False)
           .agg(n_systems=("_one", "sum"), cost_sek=("_cost", "sum")).reset_index())
    out = grid.merge(agg, on=keys + ["time"], how="left")
    out["n_systems"] = out["n_systems"].fillna(0).astype("int64")
    out["cost_sek"] = out["cost_sek"].fillna(0.0)
    if keys:
        tot_n = out.groupby(keys)["n_systems"].transform("sum")
        tot_c = out.groupby(keys)["cost_sek"].transform("sum")
    else:
        tot_n, tot_c = out["n_systems"].sum(), out["cost_sek"].sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share"] = out["n_systems"] / tot_n
        out["cost_share"] = out["cost_sek"] / tot_c if cost is not None else np.nan
    if cost is None:
        out = out.drop(columns=["cost_sek", "cost_share"])
        return out[keys + ["time", "n_systems", "share"]]
    return out[keys + ["time", "n_systems", "share", "cost_sek", "cost_share"]]


# ============================================================================================
# Decommissioning
# ============================================================================================
def decommissioning(
    systems: pd.DataFrame,
    *,
    scenario: str | Sequence[str] = "eliminate",
    replacement_share: float = 0.5,
    cost: str = "annual_cost_sek",
    lifecycle: str = "lifecycle",
    **portfolio_kw,
) -> pd.DataFrame:
    """Decommissioning candidates and the annual cost each one frees, under scenarios.

    Kinds of candidate (each system counts once, in this order of precedence):

    - ``eliminate``: TIME action *Eliminate* (low importance, low quality); switched off, the
      whole annual cost is freed.
    - ``planned``: lifecycle already ``avveckling`` (decommissioning decided); whole cost freed.
    - ``migrate``: TIME action *Migrate* (high importance, low quality); replaced by a new system
      that costs ``replacement_share`` of the old one, so ``(1 - replacement_share) x cost`` is
      freed.

    Scenarios (:data:`SCENARIOS`): ``eliminate``; ``eliminate_migrate`` (also migrate with
    replacement); ``eliminate_planned`` (also planned decommissioning); ``all``.

    Parameters
    ----------
    systems : DataFrame
        One row per system.
    scenario : str or sequence of str, default "eliminate"
        One or more scenarios; the result has one block per scenario.
    replacement_share : float, default 0.5
        Cost of a replacement as a share of the replaced system's cost (*ours*, an assumption to
        set from local knowledge: 0 frees the whole cost, 1 frees nothing).
    cost, lifecycle : str
        Column names.
    **portfolio_kw
        Passed to :func:`portfolio` (thresholds, rating columns).

    Returns
    -------
    DataFrame
        ``scenario``, ``reason`` (eliminate/planned/migrate), the system's columns,
        ``quality_score``, ``time`` and ``freed_cost_sek`` (NaN when the cost is unknown);
        sorted by scenario, organisation, year and freed cost (largest first).

    Examples
    --------
    >>> s = pd.DataFrame({"org_id": "0114", "system_id": ["A", "B", "C"],
    ...                   "importance": [1, 4, 4], "technical_quality": [1, 1, 4],
    ...                   "functional_quality": [1, 2, 4], "lifecycle": "förvaltning",
    ...                   "annual_cost_sek": [100.0, 1000.0, 50.0]})
    >>> out = decommissioning(s, scenario=["eliminate", "eliminate_migrate"])
    >>> out[["scenario", "system_id", "reason", "freed_cost_sek"]]
                scenario system_id     reason  freed_cost_sek
    0          eliminate         A  eliminate           100.0
    1  eliminate_migrate         B    migrate           500.0
    2  eliminate_migrate         A  eliminate           100.0
    """
    what = "decommissioning"
    scenarios = list(_as_tuple(scenario))
    bad = [s for s in scenarios if s not in SCENARIOS]
    if bad or not scenarios:
        raise MognadError(f"{what}: unknown scenario(s) {bad}; use {', '.join(SCENARIOS)}")
    if not 0 <= replacement_share <= 1:
        raise MognadError(f"{what}: replacement_share must be between 0 and 1; got "
                          f"{replacement_share}")
    _require(systems, (cost,), what)
    port = portfolio(systems, **portfolio_kw)
    c = _numeric(port[cost], cost, what)
    action = port["time"].to_numpy()
    if lifecycle in port.columns:
        phase = _checked(port[lifecycle], lifecycle_one, lifecycle, what)
        planned = phase == "avveckling"
    else:
        planned = np.zeros(len(port), dtype=bool)
    blocks = []
    for sc in scenarios:
        kinds = SCENARIOS[sc]
        reason = np.full(len(port), None, dtype=object)
        freed = np.full(len(port), np.nan)
        if "migrate" in kinds:
            m = action == "migrate"
            reason[m], freed[m] = "migrate", c[m] * (1 - replacement_share)
        if "planned" in kinds:
            reason[planned], freed[planned] = "planned", c[planned]
        e = action == "eliminate"
        reason[e], freed[e] = "eliminate", c[e]
        sel = np.array([r is not None for r in reason], dtype=bool)
        block = port.loc[sel].copy()
        block.insert(0, "reason", pd.Series(reason[sel], index=block.index, dtype="str"))
        block.insert(0, "scenario", sc)
        block["freed_cost_sek"] = freed[sel]
        blocks.append(block)
    out = pd.concat(blocks, ignore_index=True)
    order = ["scenario"] + [k for k in ("org_id", "year") if k in out.columns]
    out["_sc"] = out["scenario"].map({s: i for i, s in enumerate(scenarios)})
    out = out.sort_values(["_sc"] + order[1:] + ["freed_cost_sek"],
                          ascending=[True] * len(order) + [False], na_position="last",
                          kind="stable").drop(columns="_sc")
    return out.drop(columns=["high_importance", "high_quality"]).reset_index(drop=True)


def freed_cost(
    systems: pd.DataFrame,
    *,
    scenario: str | Sequence[str] = tuple(SCENARIOS),
    by: str | Sequence[str] = ("org_id",),
    year: str | None = "year",
    total: bool = True,
    cost: str = "annual_cost_sek",
    **decommissioning_kw,
) -> pd.DataFrame:
    """Annual cost freed by each decommissioning scenario, per group and in total.

    Parameters
    ----------
    systems : DataFrame
        One row per system.
    scenario : str or sequence of str, default every scenario
        See :func:`decommissioning`.
    by : str or sequence of str, default ("org_id",)
        Groups (``()`` for one row per scenario and year).
    year : str or None, default "year"
    total : bool, default True
        Add a row per scenario and year over all groups, its group columns set to ``"riket"``.
    cost : str
    **decommissioning_kw
        Passed to :func:`decommissioning` (``replacement_share``, thresholds ...).

    Returns
    -------
    DataFrame
        ``scenario``, the group columns, ``n_systems``, ``total_cost_sek`` (all systems of the
        group), ``n_candidates``, ``freed_cost_sek`` and ``freed_share`` (of the total cost;
        systems with unknown cost count in neither).

    Examples
    --------
    >>> s = pd.DataFrame({"org_id": ["a", "a", "b"], "system_id": ["1", "2", "3"],
    ...                   "importance": [1, 4, 1], "technical_quality": [1, 4, 4],
    ...                   "functional_quality": [1, 4, 4], "annual_cost_sek": [100.0, 300, 50]})
    >>> out = freed_cost(s, scenario="eliminate")
    >>> out[["org_id", "total_cost_sek", "n_candidates", "freed_cost_sek", "freed_share"]]
      org_id  total_cost_sek  n_candidates  freed_cost_sek  freed_share
    0      a           400.0             1           100.0     0.250000
    1      b            50.0             0             0.0     0.000000
    2  riket           450.0             1           100.0     0.222222
    """
    what = "freed_cost"
    by = _as_tuple(by)
    keys = _keys(systems, by, year)
    _require(systems, keys + [cost], what)
    cand = decommissioning(systems, scenario=scenario, cost=cost, **decommissioning_kw)
    base = systems[keys].copy()
    base["_cost"] = _numeric(systems[cost], cost, what)
    base["_one"] = 1
    scenarios = list(_as_tuple(scenario))

    def summarise(group_keys: list[str]) -> pd.DataFrame:
        if group_keys:
            b = base.groupby(group_keys, dropna=False).agg(
                n_systems=("_one", "sum"), total_cost_sek=("_cost", "sum")).reset_index()
        else:
            b = pd.DataFrame({"n_systems": [len(base)], "total_cost_sek": [base["_cost"].sum()]})
        rows = []
        for sc in scenarios:
            cs = cand[cand["scenario"] == sc]
            if group_keys:
                a = cs.groupby(group_keys, dropna=False).agg(
                    n_candidates=("scenario", "size"),
                    freed_cost_sek=("freed_cost_sek", "sum")).reset_index()
                m = b.merge(a, on=group_keys, how="left")
            else:
                m = b.assign(n_candidates=len(cs), freed_cost_sek=cs["freed_cost_sek"].sum())
            m.insert(0, "scenario", sc)
            rows.append(m)
        return pd.concat(rows, ignore_index=True)

    out = summarise(keys)
    if total and by:
        tot = summarise([k for k in keys if k not in by])
        for k in by:
            tot[k] = NATIONAL
        out = pd.concat([out, tot[out.columns]], ignore_index=True)
    out["n_candidates"] = out["n_candidates"].fillna(0).astype("int64")
    out["n_systems"] = out["n_systems"].astype("int64")
    out["freed_cost_sek"] = out["freed_cost_sek"].fillna(0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["freed_share"] = out["freed_cost_sek"] / out["total_cost_sek"]
    out["_sc"] = out["scenario"].map({s: i for i, s in enumerate(scenarios)})
    out["_tot"] = out[list(by)].eq(NATIONAL).all(axis=1) if by else False
    sort = ["_sc"] + [k for k in keys if k not in by] + ["_tot"] + list(by)
    out = out.sort_values(sort, kind="stable").drop(columns=["_sc", "_tot"])
    cols = ["scenario"] + keys + ["n_systems", "total_cost_sek", "n_candidates",
                                  "freed_cost_sek", "freed_share"]
    return out[cols].reset_index(drop=True)


# ============================================================================================
# Compliance with the must-requirements
# ============================================================================================
def compliance(
    systems: pd.DataFrame,
    *,
    by: str | Sequence[str] = ("org_id",),
    year: str | None = "year",
    partial_ownership: str = "pass",
    ci: float = 0.95,
) -> pd.DataFrame:
    """Share of systems that meet each must-requirement, with Wilson intervals.

    Requirements: ``data_ownership`` (the organisation owns and controls its data; ``delvis``
    passes by default, ``partial_ownership="fail"`` makes it fail), ``open_standards`` and
    ``open_api``. ``all``: a system meets all three; it fails as soon as one known requirement
    fails, and is unknown when none fails but one is unknown. Unknown values are left out of the
    denominator (``n_known``).

    The interval treats systems as independent trials (:func:`wilson_ci`); systems of one
    organisation are alike, so for national figures the interval is optimistic — compare
    organisations with ``by=("org_id",)``.

    Parameters
    ----------
    systems : DataFrame
    by : str or sequence of str, default ("org_id",)
        ``("org_id",)`` per organisation, ``("domain",)`` per business domain, ``()`` nationally.
    year : str or None, default "year"
    partial_ownership : {"pass", "fail"}, default "pass"
    ci : float, default 0.95

    Returns
    -------
    DataFrame
        The group columns, ``requirement`` (data_ownership, open_standards, open_api, all),
        ``n_systems``, ``n_known``, ``n_compliant``, ``share``, ``ci_low``, ``ci_high``.

    Examples
    --------
    >>> s = pd.DataFrame({"org_id": "0114", "open_standards": ["ja", "nej", "ja", "ja"],
    ...                   "open_api": ["ja", "ja", "vet ej", "nej"],
    ...                   "data_ownership": ["delvis", "ja", "ja", "ja"]})
    >>> compliance(s)[["requirement", "n_known", "n_compliant", "share"]]
          requirement  n_known  n_compliant     share
    0  data_ownership        4            4  1.000000
    1  open_standards        4            3  0.750000
    2        open_api        3            2  0.666667
    3             all        3            1  0.333333
    """
    what = "compliance"
    _check_partial(partial_ownership)
    keys = _keys(systems, by, year)
    _require(systems, keys, what)
    req = _requirement_matrix(systems, what, partial_ownership)
    long = []
    for r in (*REQUIREMENTS, "all"):
        part = systems[keys].copy()
        part["requirement"] = r
        part["_ok"] = req[r].to_numpy()
        long.append(part)
    frame = pd.concat(long, ignore_index=True)
    frame["_known"] = frame["_ok"].notna()
    gk = keys + ["requirement"]
    out = frame.groupby(gk, sort=False, dropna=False).agg(
        n_systems=("_ok", "size"), n_known=("_known", "sum"), n_compliant=("_ok", "sum"),
    ).reset_index()
    out["n_compliant"] = out["n_compliant"].astype("int64")
    out["n_known"] = out["n_known"].astype("int64")
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share"] = np.where(out["n_known"] > 0, out["n_compliant"] / out["n_known"], np.nan)
    out["ci_low"], out["ci_high"] = wilson_ci(out["n_compliant"], out["n_known"], ci)
    out["_r"] = out["requirement"].map({r: i for i, r in enumerate((*REQUIREMENTS, "all"))})
    out = out.sort_values(keys + ["_r"], kind="stable").drop(columns="_r")
    return out.reset_index(drop=True)


def compliance_vs_others(
    systems: pd.DataFrame,
    org_id: str,
    *,
    year: int | None = None,
    org: str = "org_id",
    year_col: str = "year",
    partial_ownership: str = "pass",
    ci: float = 0.95,
) -> pd.DataFrame:
    """One organisation's compliance with each must-requirement against all other organisations.

    Shares as in :func:`compliance` (systems with an unknown value left out), each with its
    Wilson interval, and the difference own minus others with Newcombe's hybrid score interval
    (Newcombe 1998, method 10; :func:`statsmodels.stats.proportion.confint_proportions_2indep`
    with ``method="newcomb"``). ``clear`` says whether the difference's interval excludes 0. As in
    :func:`compliance`, systems count as independent trials, so the intervals are optimistic.

    Parameters
    ----------
    systems : DataFrame
        The inventory of every organisation (one year, or give ``year``).
    org_id : str
    year : int, optional
        Keep only this inventory year.
    org, year_col : str
        Column names.
    partial_ownership : {"pass", "fail"}
    ci : float, default 0.95

    Returns
    -------
    DataFrame
        One row per requirement (data_ownership, open_standards, open_api, all):
        ``requirement``, ``n_known``, ``n_compliant``, ``share``, ``ci_low``, ``ci_high``,
        ``others_n_known``, ``others_n_compliant``, ``others_share``, ``others_ci_low``,
        ``others_ci_high``, ``n_others`` (organisations), ``difference``, ``diff_ci_low``,
        ``diff_ci_high``, ``clear`` (nullable boolean; missing without known systems on a side).

    Examples
    --------
    8 of 10 systems against 40 of 100 (Newcombe by hand: Wilson limits 0.4902-0.9433 and
    0.3094-0.4980; 0.4 - sqrt(0.3098² + 0.0980²) = 0.0750, 0.4 + sqrt(0.1433² + 0.0906²) = 0.5696):

    >>> s = pd.DataFrame({"org_id": ["a"] * 10 + ["b"] * 100,
    ...                   "open_api": ["ja"] * 8 + ["nej"] * 2 + ["ja"] * 40 + ["nej"] * 60,
    ...                   "open_standards": "ja", "data_ownership": "ja"})
    >>> row = compliance_vs_others(s, "a").set_index("requirement").loc["open_api"]
    >>> [round(float(row[c]), 4) for c in ("difference", "diff_ci_low", "diff_ci_high")]
    [0.4, 0.075, 0.5696]
    >>> bool(row["clear"])
    True
    """
    from statsmodels.stats.proportion import confint_proportions_2indep

    what = "compliance_vs_others"
    _require(systems, (org,), what)
    frame = systems
    if year is not None:
        _require(systems, (year_col,), what)
        frame = systems[systems[year_col].astype("Int64") == int(year)]
    org_id = str(org_id)
    own = frame[frame[org].astype(str) == org_id]
    if own.empty:
        raise MognadError(f"{what}: organisation {org_id} has no systems in the inventory")
    others = frame[frame[org].astype(str) != org_id]
    a = compliance(own, by=(), year=None, partial_ownership=partial_ownership, ci=ci)
    b = compliance(others, by=(), year=None, partial_ownership=partial_ownership, ci=ci)
    b = b.set_index("requirement").reindex(a["requirement"]).reset_index()
    out = a[["requirement", "n_known", "n_compliant", "share", "ci_low", "ci_high"]].copy()
    for c in ("n_known", "n_compliant", "share", "ci_low", "ci_high"):
        out[f"others_{c}"] = b[c].to_numpy()
    out["others_n_known"] = out["others_n_known"].fillna(0).astype("int64")
    out["others_n_compliant"] = out["others_n_compliant"].fillna(0).astype("int64")
    out["n_others"] = int(others[org].nunique())
    out["difference"] = out["share"] - out["others_share"]
    lows, highs = [], []
    for r in out.itertuples(index=False):
        if r.n_known > 0 and r.others_n_known > 0:
            lo, hi = confint_proportions_2indep(r.n_compliant, r.n_known, r.others_n_compliant,
                                                r.others_n_known, method="newcomb",
                                                compare="diff", alpha=1 - ci)
            lows.append(float(lo))
            highs.append(float(hi))
        else:
            lows.append(np.nan)
            highs.append(np.nan)
    out["diff_ci_low"], out["diff_ci_high"] = lows, highs
    known = out["diff_ci_low"].notna().to_numpy()
    clear = (out["diff_ci_low"] > 0) | (out["diff_ci_high"] < 0)
    out["clear"] = pd.array(np.where(known, clear, None), dtype="boolean")
    return out.reset_index(drop=True)


# ============================================================================================
# Vendor concentration
# ============================================================================================
BASES = ("orgs", "systems", "cost")


def vendor_concentration(
    systems: pd.DataFrame,
    organisations: pd.DataFrame | None = None,
    *,
    by: str | Sequence[str] = ("domain",),
    region: str | None = None,
    basis: str = "orgs",
    year: str | None = "year",
    vendor: str = "vendor",
    org: str = "org_id",
    cost: str = "annual_cost_sek",
) -> pd.DataFrame:
    """Herfindahl-Hirschman index and top-vendor share per business domain.

    A vendor's share in a group is, by ``basis``:

    - ``"orgs"`` (default): the number of organisations using the vendor in the group (at least
      one system) over the sum of these counts over vendors — customer counts; an organisation
      with two vendors in a domain counts once for each;
    - ``"systems"``: its number of systems over all systems;
    - ``"cost"``: its annual cost over the total (systems with unknown cost left out).

    ``HHI = 10 000 x sum(share²)`` (0-10 000; 10 000 = one vendor). ``equivalent_vendors =
    10 000 / HHI``. The US merger guidelines (2010) call HHI above 2 500 highly concentrated and
    1 500-2 500 moderately concentrated. Systems with no vendor (e.g. built in-house, empty
    ``vendor``) are left out.

    Parameters
    ----------
    systems : DataFrame
    organisations : DataFrame, optional
        The registry; needed for ``region``.
    by : str or sequence of str, default ("domain",)
    region : str, optional
        A registry column to break down by as well (e.g. ``"county_code"``); ``None`` nationally.
    basis : {"orgs", "systems", "cost"}, default "orgs"
    year, vendor, org, cost : str
        Column names.

    Returns
    -------
    DataFrame
        ``region`` (if given), the group columns, ``basis``, ``n_orgs``, ``n_systems``,
        ``n_vendors``, ``hhi``, ``equivalent_vendors``, ``top_vendor``, ``top_share`` and
        ``top_vendor_org_share`` (share of the group's organisations that use the top vendor).

    Examples
    --------
    >>> s = pd.DataFrame({"org_id": ["a", "a", "b", "c"], "domain": "Skola",
    ...                   "vendor": ["X", "Y", "X", "X"], "annual_cost_sek": [1.0, 1, 1, 1]})
    >>> out = vendor_concentration(s)
    >>> out[["domain", "n_orgs", "hhi", "top_vendor", "top_share", "top_vendor_org_share"]]
      domain  n_orgs     hhi top_vendor  top_share  top_vendor_org_share
    0  Skola       3  6250.0          X       0.75                   1.0
    """
    what = "vendor_concentration"
    if basis not in BASES:
        raise MognadError(f"{what}: basis must be one of {', '.join(BASES)}; got {basis!r}")
    frame = systems
    if region is not None and region not in systems.columns:
        if organisations is None:
            raise MognadError(f"{what}: region={region!r} needs the organisations registry")
        _require(organisations, (org, region), what)
        frame = systems.merge(organisations[[org, region]].drop_duplicates(org), on=org,
                              how="left")
    groups = ([region] if region else []) + _keys(systems, by, year)
    _require(frame, groups + [vendor, org], what)
    frame = frame[groups + [org, vendor]].assign(
        _cost=_numeric(frame[cost], cost, what) if basis == "cost" else 1.0)
    frame = frame[frame[vendor].notna()]
    if basis == "cost":
        frame = frame[~np.isnan(frame["_cost"].to_numpy())]
    rows = []
    for key, g in (frame.groupby(groups, sort=True, dropna=False) if groups
                   else [((), frame)]):
        key = key if isinstance(key, tuple) else (key,)
        if basis == "orgs":
            w = g.groupby(vendor)[org].nunique()
        elif basis == "systems":
            w = g.groupby(vendor).size()
        else:
            w = g.groupby(vendor)["_cost"].sum()
        w = w.astype(float)
        total = w.sum()
        if total <= 0:
            continue
        share = w / total
        hhi = float(10_000 * (share**2).sum())
        top = sorted(share.index[share == share.max()])[0]
        n_orgs = g[org].nunique()
        rows.append(dict(zip(groups, key, strict=True)) | {
            "basis": basis, "n_orgs": int(n_orgs), "n_systems": len(g),
            "n_vendors": int(len(w)), "hhi": hhi, "equivalent_vendors": 10_000 / hhi,
            "top_vendor": top, "top_share": float(share[top]),
            "top_vendor_org_share": g.loc[g[vendor] == top, org].nunique() / n_orgs,
        })
    cols = groups + ["basis", "n_orgs", "n_systems", "n_vendors", "hhi", "equivalent_vendors",
                     "top_vendor", "top_share", "top_vendor_org_share"]
    return pd.DataFrame(rows, columns=cols)


# ============================================================================================
# Age and lifecycle
# ============================================================================================
def _ages(systems: pd.DataFrame, year: str | None, introduced: str, what: str,
          reference_year: int | None) -> np.ndarray:
    _require(systems, (introduced,), what)
    intro = _numeric(systems[introduced], introduced, what)
    if reference_year is not None:
        ref = np.full(len(systems), float(reference_year))
    elif year is not None and year in systems.columns:
        ref = _numeric(systems[year], year, what)
    else:
        raise MognadError(f"{what}: the age needs the inventory year (column {year!r}) or "
                          "reference_year")
    return np.maximum(ref - intro, 0.0)


def _band_labels(bands: Sequence[int]) -> list[str]:
    edges = [0, *bands]
    labels = [f"{a}–{b - 1}" for a, b in zip(edges[:-1], edges[1:], strict=True)]
    return labels + [f"{edges[-1]}+"]


def age_profile(
    systems: pd.DataFrame,
    *,
    by: str | Sequence[str] = ("org_id",),
    year: str | None = "year",
    introduced: str = "introduced_year",
    lifecycle: str = "lifecycle",
    cost: str | None = "annual_cost_sek",
    old: int = 15,
    bands: Sequence[int] = (5, 10, 15, 20),
    detail: bool = False,
    reference_year: int | None = None,
) -> pd.DataFrame:
    """Age and lifecycle profile of the systems.

    A system's age is the inventory year minus ``introduced_year`` (0 for systems introduced
    in or after the inventory year), or ``reference_year - introduced_year`` if given.

    Parameters
    ----------
    systems : DataFrame
    by : str or sequence of str, default ("org_id",)
    year, introduced, lifecycle, cost : str
        Column names (``cost=None`` for no cost weighting).
    old : int, default 15
        A system at least this many years old counts as old.
    bands : sequence of int, default (5, 10, 15, 20)
        Upper edges of the age bands of ``detail=True`` (``0–4, 5–9, ..., 20+``).
    detail : bool, default False
        ``False``: one summary row per group. ``True``: counts and cost per age band and
        lifecycle phase.
    reference_year : int, optional
        Compute ages at this year instead of the inventory year.

    Returns
    -------
    DataFrame
        Summary: the group columns, ``n_systems``, ``n_age_known``, ``age_mean``,
        ``age_median``, ``age_q1``, ``age_q3``, ``age_max``, ``age_cost_weighted``,
        ``old_share``, ``old_cost_share`` and ``share_<phase>`` for each lifecycle phase.
        Detail: the group columns, ``age_band``, ``lifecycle``, ``n_systems``, ``cost_sek``.

    Examples
    --------
    >>> s = pd.DataFrame({"org_id": "0114", "year": 2024,
    ...                   "introduced_year": [2000, 2010, 2020, 2023],
    ...                   "lifecycle": ["avveckling", "förvaltning", "förvaltning", "införande"],
    ...                   "annual_cost_sek": [100.0, 100, 100, 100]})
    >>> age_profile(s)[["n_systems", "age_mean", "age_median", "old_share", "share_avveckling"]]
       n_systems  age_mean  age_median  old_share  share_avveckling
    0          4     10.75         9.0       0.25              0.25
    """
    what = "age_profile"
    keys = _keys(systems, by, year)
    _require(systems, keys + ([cost] if cost is not None else []), what)
    frame = systems[keys].copy()
    frame["_age"] = _ages(systems, year, introduced, what, reference_year)
    frame["_cost"] = _numeric(systems[cost], cost, what) if cost is not None else 1.0
    if lifecycle in systems.columns:
        frame["_phase"] = _checked(systems[lifecycle], lifecycle_one, lifecycle, what)
    else:
        frame["_phase"] = None
    if detail:
        labels = _band_labels(bands)
        cut = pd.cut(frame["_age"], [-np.inf, *[b - 0.5 for b in bands], np.inf], labels=labels,
                     right=False)
        frame["age_band"] = cut.astype("str")
        frame["lifecycle"] = frame["_phase"]
        gk = keys + ["age_band", "lifecycle"]
        out = frame.groupby(gk, dropna=False).agg(n_systems=("_age", "size"),
                                                  cost_sek=("_cost", "sum")).reset_index()
        out["_b"] = out["age_band"].map({b: i for i, b in enumerate(labels)})
        out["_p"] = out["lifecycle"].map({p: i for i, p in enumerate(LIFECYCLE)})
        return (out.sort_values(keys + ["_b", "_p"], kind="stable").drop(columns=["_b", "_p"])
                .reset_index(drop=True))

    def summary(g: pd.DataFrame) -> pd.Series:
        age = g["_age"].to_numpy(float)
        c = g["_cost"].to_numpy(float)
        known = ~np.isnan(age)
        a = age[known]
        cw = known & ~np.isnan(c)
        row = {
            "n_systems": len(g), "n_age_known": int(known.sum()),
            "age_mean": a.mean() if len(a) else np.nan,
            "age_median": np.median(a) if len(a) else np.nan,
            "age_q1": np.percentile(a, 25) if len(a) else np.nan,
            "age_q3": np.percentile(a, 75) if len(a) else np.nan,
            "age_max": a.max() if len(a) else np.nan,
            "age_cost_weighted": (np.average(age[cw], weights=c[cw])
                                  if cw.any() and c[cw].sum() > 0 else np.nan),
            "old_share": (a >= old).mean() if len(a) else np.nan,
            "old_cost_share": (c[cw][age[cw] >= old].sum() / c[cw].sum()
                               if cw.any() and c[cw].sum() > 0 else np.nan),
        }
        phases = g["_phase"]
        for p in LIFECYCLE:
            row[f"share_{p}"] = (phases == p).sum() / phases.notna().sum() \
                if phases.notna().any() else np.nan
        return pd.Series(row)

    if keys:
        out = frame.groupby(keys, dropna=False).apply(summary, include_groups=False).reset_index()
    else:
        out = summary(frame).to_frame().T
    for c in ("n_systems", "n_age_known"):
        out[c] = out[c].astype("int64")
    return out.reset_index(drop=True)


# ============================================================================================
# The same product across organisations
# ============================================================================================
def product_comparison(
    systems: pd.DataFrame,
    organisations: pd.DataFrame | None = None,
    *,
    product: str = "product",
    org_id: str | None = None,
    size: str = "size_class",
    per: str | None = None,
    min_orgs: int = 2,
    year: str | None = "year",
    org: str = "org_id",
    cost: str = "annual_cost_sek",
    quality: str | Sequence[str] = DEFAULT_QUALITY,
) -> pd.DataFrame:
    """The same product across the organisations that use it: quality and cost.

    Costs are only comparable relative to the organisation's size. The registry has no
    population, so by default the cost is compared with organisations **of the same size class**
    (``size``, S/M/L/XL): ``cost_vs_size_peers`` = the organisation's cost of the product over the
    median cost of the product among the organisations of its size class that use it (NaN when
    fewer than two organisations of that class use it; 1 = typical). When ``organisations`` has
    a population or employee count, name it with ``per`` to get ``cost_per_unit`` = cost /
    that number (e.g. SEK per inhabitant).

    Parameters
    ----------
    systems : DataFrame
    organisations : DataFrame, optional
        The registry (``org_id``, ``size_class``, and ``per`` if given).
    product : str, default "product"
        The product column.
    org_id : str, optional
        Keep only the products this organisation uses (and mark its rows in ``is_focus``).
    size : str, default "size_class"
    per : str, optional
        A registry column with the size to divide the cost by (population, employees).
    min_orgs : int, default 2
        Products used by fewer organisations (in a year) are left out.
    year, org, cost : str
    quality : str or sequence of str
        Rating columns averaged per organisation and product.

    Returns
    -------
    DataFrame
        ``product``, ``year``, ``org_id``, ``size_class``, ``n_orgs`` (using the product),
        ``n_systems``, ``cost_sek``, ``cost_vs_size_peers``, ``cost_per_unit`` (if ``per``),
        the mean of each quality column, ``quality_rank`` (1 = best mean quality among the
        product's users) and ``is_focus``.

    Examples
    --------
    >>> s = pd.DataFrame({"org_id": ["a", "b", "c"], "product": "Lön X",
    ...                   "annual_cost_sek": [100.0, 200, 400], "technical_quality": [3, 2, 4],
    ...                   "functional_quality": [3, 2, 4]})
    >>> orgs = pd.DataFrame({"org_id": ["a", "b", "c"], "size_class": ["M", "M", "L"]})
    >>> out = product_comparison(s, orgs)
    >>> out[["org_id", "n_orgs", "cost_sek", "cost_vs_size_peers", "quality_rank"]]
      org_id  n_orgs  cost_sek  cost_vs_size_peers  quality_rank
    0      a       3     100.0            0.666667           2.0
    1      b       3     200.0            1.333333           3.0
    2      c       3     400.0                 NaN           1.0
    """
    what = "product_comparison"
    qcols = list(_as_tuple(quality))
    keys = [product] + ([year] if year is not None and year in systems.columns else [])
    _require(systems, keys + [org, cost] + qcols, what)
    frame = systems[keys + [org]].copy()
    frame["_cost"] = _numeric(systems[cost], cost, what)
    for c in qcols:
        frame[c] = _ordinal(systems[c], c, what)
    frame = frame[frame[product].notna()]
    g = frame.groupby(keys + [org], dropna=False)
    out = g.agg(n_systems=("_cost", "size"),
                cost_sek=("_cost", lambda x: x.sum(min_count=1))).reset_index()
    means = g[qcols].mean().reset_index() if qcols else None
    if means is not None:
        out = out.merge(means, on=keys + [org], how="left")
    out["n_orgs"] = out.groupby(keys)[org].transform("nunique")
    out = out[out["n_orgs"] >= min_orgs]
    if org_id is not None:
        used = out.loc[out[org] == str(org_id), keys].drop_duplicates()
        out = out.merge(used, on=keys, how="inner")
    if organisations is not None:
        reg_cols = [org] + [c for c in (size, per) if c is not None and c in organisations]
        if per is not None and per not in organisations.columns:
            raise MognadError(f"{what}: per={per!r} is not a column of the organisations")
        out = out.merge(organisations[reg_cols].drop_duplicates(org), on=org, how="left")
    if size in out.columns:
        peers = out.groupby(keys + [size], dropna=False)
        med = peers["cost_sek"].transform("median")
        n_peer = peers[org].transform("nunique")
        with np.errstate(invalid="ignore", divide="ignore"):
            out["cost_vs_size_peers"] = np.where(n_peer >= 2, out["cost_sek"] / med, np.nan)
    else:
        out["cost_vs_size_peers"] = np.nan
    if per is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            out["cost_per_unit"] = out["cost_sek"] / pd.to_numeric(out[per], errors="coerce")
    if qcols:
        out["_q"] = out[qcols].mean(axis=1)
        out["quality_rank"] = out.groupby(keys)["_q"].rank(ascending=False, method="min")
        out = out.drop(columns="_q")
    out["is_focus"] = out[org] == str(org_id) if org_id is not None else False
    cols = keys + [org] + ([size] if size in out.columns else []) + ["n_orgs", "n_systems",
                                                                      "cost_sek",
                                                                      "cost_vs_size_peers"]
    cols += (["cost_per_unit"] if per is not None else []) + qcols
    cols += (["quality_rank"] if qcols else []) + ["is_focus"]
    return out.sort_values(keys + [org]).reset_index(drop=True)[cols]


# ============================================================================================
# Legacy index, peers and the DiMiOS legacy dimension
# ============================================================================================
LEGACY_COMPONENTS = ("low_quality_share", "non_compliant_share", "old_share")


def legacy_index(
    systems: pd.DataFrame,
    *,
    by: str | Sequence[str] = ("org_id",),
    year: str | None = "year",
    weights: Mapping[str, float] | None = None,
    old: int = 15,
    cost: str | None = "annual_cost_sek",
    quality: str | Sequence[str] = DEFAULT_QUALITY,
    thresholds: Mapping[str, float] | None = None,
    combine: str = "mean",
    partial_ownership: str = "pass",
    introduced: str = "introduced_year",
) -> pd.DataFrame:
    """A legacy index per organisation: how much of the portfolio is a burden (0-100).

    Three components, each a **cost-weighted share** of the organisation's systems (weights
    ``cost``; ``cost=None`` counts systems instead; systems with unknown cost or an unknown
    component are left out of that component):

    - ``low_quality_share``: quality below the portfolio threshold (the systems :func:`portfolio`
      would Migrate or Eliminate; unassessed systems left out);
    - ``non_compliant_share``: fails a must-requirement (``all`` of :func:`compliance`);
    - ``old_share``: at least ``old`` years old.

    ``legacy_index = 100 x sum_k w_k share_k / sum_k w_k`` (default equal weights; NaN when a
    component is undefined). High means a heavy legacy; DiMiOS's ``arv`` is the other way round
    (high = enabling legacy), so the two should correlate negatively.

    Parameters
    ----------
    systems : DataFrame
    by : str or sequence of str, default ("org_id",)
    year : str or None, default "year"
    weights : mapping, optional
        Component weights, e.g. ``{"low_quality_share": 2, "non_compliant_share": 1,
        "old_share": 1}``.
    old : int, default 15
    cost : str or None, default "annual_cost_sek"
    quality, thresholds, combine
        As in :func:`portfolio` (only the quality threshold is used).
    partial_ownership : {"pass", "fail"}
        As in :func:`compliance`.
    introduced : str

    Returns
    -------
    DataFrame
        The group columns, ``n_systems``, ``n_assessed``, ``total_cost_sek``, the three
        components, ``legacy_index``, ``mean_quality`` (mean quality score of the assessed
        systems, 1-4), one ``mean_<column>`` per quality column and ``mean_age``.

    Examples
    --------
    >>> s = pd.DataFrame({"org_id": "a", "year": 2024, "introduced_year": [2000, 2020],
    ...                   "technical_quality": [1, 4], "functional_quality": [2, 4],
    ...                   "open_standards": ["nej", "ja"], "open_api": "ja",
    ...                   "data_ownership": "ja", "annual_cost_sek": [300.0, 100.0]})
    >>> out = legacy_index(s)
    >>> out[["low_quality_share", "non_compliant_share", "old_share", "legacy_index"]]
       low_quality_share  non_compliant_share  old_share  legacy_index
    0               0.75                 0.75       0.75          75.0
    """
    what = "legacy_index"
    _check_partial(partial_ownership)
    w = {k: 1.0 for k in LEGACY_COMPONENTS}
    if weights:
        unknown = set(weights) - set(w)
        if unknown:
            raise MognadError(f"{what}: unknown weight(s) {sorted(unknown)}; use "
                              f"{list(LEGACY_COMPONENTS)}")
        w.update({k: float(v) for k, v in weights.items()})
    if sum(w.values()) <= 0:
        raise MognadError(f"{what}: the weights must sum to more than 0")
    thr = _thresholds(thresholds, what)
    keys = _keys(systems, by, year)
    _require(systems, keys + ([cost] if cost is not None else []), what)
    qcols = list(_as_tuple(quality))
    frame = systems[keys].copy()
    q = _quality_score(systems, qcols, combine, what)
    frame["_q"] = q
    for c in qcols:
        frame[f"mean_{c}"] = _ordinal(systems[c], c, what)
    frame["_low"] = np.where(np.isnan(q), np.nan, (q < thr["quality"]).astype(float))
    frame["_nc"] = 1.0 - _requirement_matrix(systems, what, partial_ownership)["all"].to_numpy()
    age = _ages(systems, year, introduced, what, None)
    frame["_age"] = age
    frame["_old"] = np.where(np.isnan(age), np.nan, (age >= old).astype(float))
    frame["_w"] = _numeric(systems[cost], cost, what) if cost is not None else 1.0

    def wshare(x: np.ndarray, wt: np.ndarray) -> float:
        ok = ~np.isnan(x) & ~np.isnan(wt)
        return float(np.sum(x[ok] * wt[ok]) / np.sum(wt[ok])) if ok.any() and wt[ok].sum() > 0 \
            else np.nan

    def summary(g: pd.DataFrame) -> pd.Series:
        wt = g["_w"].to_numpy(float)
        row = {"n_systems": len(g), "n_assessed": int((~np.isnan(g["_q"])).sum()),
               "total_cost_sek": float(np.nansum(wt)) if cost is not None else np.nan,
               "low_quality_share": wshare(g["_low"].to_numpy(float), wt),
               "non_compliant_share": wshare(g["_nc"].to_numpy(float), wt),
               "old_share": wshare(g["_old"].to_numpy(float), wt)}
        row["legacy_index"] = 100 * sum(w[k] * row[k] for k in LEGACY_COMPONENTS) / sum(w.values())
        row["mean_quality"] = g["_q"].mean()
        for c in qcols:
            row[f"mean_{c}"] = g[f"mean_{c}"].mean()
        row["mean_age"] = g["_age"].mean()
        return pd.Series(row)

    if keys:
        out = frame.groupby(keys, dropna=False).apply(summary, include_groups=False).reset_index()
    else:
        out = summary(frame).to_frame().T
    for c in ("n_systems", "n_assessed"):
        out[c] = out[c].astype("int64")
    return out.reset_index(drop=True)


#: Measures of :func:`peer_comparison` and whether a lower value is better.
PEER_MEASURES = {
    "legacy_index": True, "low_quality_share": True, "non_compliant_share": True,
    "old_share": True, "mean_quality": False, "mean_age": True,
}


def peer_comparison(
    systems: pd.DataFrame,
    org_id: str,
    organisations: pd.DataFrame | None = None,
    *,
    peer: str | None = None,
    measures: Sequence[str] = tuple(PEER_MEASURES),
    year: str | None = "year",
    org: str = "org_id",
    **index_kw,
) -> pd.DataFrame:
    """One organisation's inventory measures against the other organisations' (its peers).

    The measures come from :func:`legacy_index`. Peers are every other organisation in the
    inventory in the same year, or, with ``peer`` (a registry column such as ``org_type`` or
    ``size_class``), those with the same value. ``percentile_rank`` = 100 x (peers below +
    0.5 x peers equal) / peers: 0 lowest, 100 highest; ``better_than_share`` turns it round for
    measures where lower is better, so that it always reads "the share of peers this
    organisation does better than".

    Parameters
    ----------
    systems : DataFrame
    org_id : str
    organisations : DataFrame, optional
        Needed for ``peer``.
    peer : str, optional
    measures : sequence of str
        Columns of :func:`legacy_index`.
    year, org : str
    **index_kw
        Passed to :func:`legacy_index`.

    Returns
    -------
    DataFrame
        ``year``, ``measure``, ``value``, ``n_peers``, ``peer_median``, ``peer_q1``,
        ``peer_q3``, ``percentile_rank``, ``better_than_share``, ``lower_is_better``.

    Examples
    --------
    >>> s = pd.DataFrame({"org_id": ["a", "b", "c", "d"], "year": 2024,
    ...                   "introduced_year": [2000, 2010, 2015, 2020],
    ...                   "technical_quality": [1, 2, 3, 4], "functional_quality": [1, 2, 3, 4],
    ...                   "open_standards": "ja", "open_api": "ja", "data_ownership": "ja",
    ...                   "annual_cost_sek": 1.0})
    >>> out = peer_comparison(s, "d", measures=["mean_quality", "mean_age"])
    >>> out[["measure", "value", "n_peers", "peer_median", "better_than_share"]]
            measure  value  n_peers  peer_median  better_than_share
    0  mean_quality    4.0        3          2.0                1.0
    1      mean_age    4.0        3         14.0                1.0
    """
    what = "peer_comparison"
    bad = [m for m in measures if m not in PEER_MEASURES and not str(m).startswith("mean_")]
    if bad:
        raise MognadError(f"{what}: unknown measure(s) {bad}; use {list(PEER_MEASURES)}")
    idx = legacy_index(systems, by=(org,), year=year, **index_kw)
    org_id = str(org_id)
    if org_id not in set(idx[org]):
        raise MognadError(f"{what}: organisation {org_id} has no systems in the inventory")
    if peer is not None:
        if organisations is None:
            raise MognadError(f"{what}: peer={peer!r} needs the organisations registry")
        _require(organisations, (org, peer), what)
        idx = idx.merge(organisations[[org, peer]].drop_duplicates(org), on=org, how="left")
    ycol = [year] if year is not None and year in idx.columns else []
    rows = []
    for key, g in (idx.groupby(ycol) if ycol else [((None,), idx)]):
        own = g[g[org] == org_id]
        if own.empty:
            continue
        others = g[g[org] != org_id]
        if peer is not None:
            others = others[others[peer] == own[peer].iloc[0]]
        for m in measures:
            v = float(own[m].iloc[0])
            x = others[m].dropna().to_numpy(float)
            n = len(x)
            pr = 100 * (np.sum(x < v) + 0.5 * np.sum(x == v)) / n if n and np.isfinite(v) \
                else np.nan
            lower = PEER_MEASURES.get(m, False)
            rows.append(({year: key[0]} if ycol else {}) | {
                "measure": m, "value": v, "n_peers": n,
                "peer_median": np.median(x) if n else np.nan,
                "peer_q1": np.percentile(x, 25) if n else np.nan,
                "peer_q3": np.percentile(x, 75) if n else np.nan,
                "percentile_rank": pr,
                "better_than_share": ((100 - pr) if lower else pr) / 100 if n else np.nan,
                "lower_is_better": lower})
    cols = ycol + ["measure", "value", "n_peers", "peer_median", "peer_q1", "peer_q3",
                   "percentile_rank", "better_than_share", "lower_is_better"]
    return pd.DataFrame(rows, columns=cols)


@dataclass(frozen=True)
class LegacyLink:
    """Inventory against survey: the result of :func:`legacy_vs_survey`.

    Attributes
    ----------
    data : DataFrame
        One row per organisation: ``org_id``, ``year``, the inventory ``measure`` and the
        survey score (``score_pct``, ``ci_low``, ``ci_high``, ``n_respondents`` where given).
    correlations : DataFrame
        ``method`` (pearson, spearman), ``estimate``, ``ci_low``, ``ci_high``, ``p_value``, ``n``.
    regression : DataFrame
        OLS of the score on the measure: ``term``, ``coef``, ``se``, ``t``, ``p_value``,
        ``ci_low``, ``ci_high``; with ``n`` and ``r_squared``.
    fit : statsmodels RegressionResults
    measure, dimension : str
    year : int
    """

    data: pd.DataFrame = field(repr=False)
    correlations: pd.DataFrame = field(repr=False)
    regression: pd.DataFrame = field(repr=False)
    fit: Any = field(repr=False)
    measure: str
    dimension: str
    year: int
    n: int

    def __repr__(self) -> str:
        r = self.correlations.set_index("method")
        p = r.loc["pearson"]
        return (f"LegacyLink({self.measure} vs {self.dimension}, {self.year}, n={self.n}: "
                f"r = {p['estimate']:.2f} [{p['ci_low']:.2f}, {p['ci_high']:.2f}], "
                f"rho = {r.loc['spearman', 'estimate']:.2f})")


def legacy_vs_survey(
    systems: pd.DataFrame,
    scores: pd.DataFrame,
    *,
    measure: str = "legacy_index",
    dimension: str = "arv",
    level: str = "dimension",
    year: int | None = None,
    value: str = "score_pct",
    ci: float = 0.95,
    org: str = "org_id",
    round_col: str = "round",
    inventory_year: str = "year",
    too_few: str = "raise",
    **index_kw,
) -> LegacyLink | None:
    """Does the inventory agree with the survey? A measure of :func:`legacy_index` against the
    DiMiOS legacy dimension of the same organisations in the same year.

    The inventory year is matched to the survey round of the same calendar year (the round *is*
    the year). Only organisation-level scores are used (rows with a ``unit`` or ``role`` set
    are dropped). Reported:

    - Pearson's r with a Fisher-z interval and Spearman's rho with the Fieller-Hartley-Pearson
      interval (:func:`fisher_ci`), p-values from :func:`scipy.stats.pearsonr` /
      :func:`scipy.stats.spearmanr`;
    - OLS ``score = b0 + b1 x measure`` (statsmodels) with t-intervals.

    The score's own sampling error is not propagated (it attenuates the correlation).

    Parameters
    ----------
    systems : DataFrame
        The inventory (several years allowed).
    scores : DataFrame
        Score table of :func:`mognad.scoring.score` (``org_id, round, level, name, score_pct,
        ...``).
    measure : str, default "legacy_index"
        A column of :func:`legacy_index`: ``legacy_index``, ``low_quality_share``,
        ``non_compliant_share``, ``old_share``, ``mean_quality``, ``mean_technical_quality`` ...
    dimension : str, default "arv"
        The score's ``name`` (a dimension or category id of the codebook).
    level : str, default "dimension"
    year : int, optional
        The year to compare; default the latest year with at least 4 matched organisations.
    value : str, default "score_pct"
    ci : float, default 0.95
    org, round_col, inventory_year : str
        Column names.
    too_few : {"raise", "none"}, default "raise"
        What to do when fewer than 4 organisations can be matched (or nothing varies): raise
        :class:`~mognad.errors.MognadError`, or return ``None`` (for reports).
    **index_kw
        Passed to :func:`legacy_index`.

    Returns
    -------
    LegacyLink or None

    Examples
    --------
    >>> s = pd.DataFrame({"org_id": list("abcde"), "year": 2024,
    ...                   "introduced_year": 2015, "technical_quality": [1, 2, 2, 3, 4],
    ...                   "functional_quality": [1, 2, 3, 3, 4], "open_standards": "ja",
    ...                   "open_api": "ja", "data_ownership": "ja", "annual_cost_sek": 1.0})
    >>> sc = pd.DataFrame({"org_id": list("abcde"), "round": 2024, "level": "dimension",
    ...                    "name": "arv", "score_pct": [30.0, 42, 45, 55, 70]})
    >>> link = legacy_vs_survey(s, sc, measure="mean_quality")
    >>> link.correlations[["method", "estimate", "n"]].round(3)
         method  estimate  n
    0   pearson     0.991  5
    1  spearman     1.000  5
    >>> round(float(link.regression.set_index("term").loc["mean_quality", "coef"]), 2)
    13.3
    """
    from scipy import stats
    from statsmodels.regression.linear_model import OLS
    from statsmodels.tools.tools import add_constant

    what = "legacy_vs_survey"
    if too_few not in ("raise", "none"):
        raise MognadError(f"{what}: too_few must be 'raise' or 'none'; got {too_few!r}")
    _require(scores, (org, round_col, "level", "name", value), what)
    idx = legacy_index(systems, by=(org,), year=inventory_year, **index_kw)
    if measure not in idx.columns or measure in (org, inventory_year):
        raise MognadError(f"{what}: unknown measure {measure!r}; use one of "
                          f"{[c for c in idx.columns if c not in (org, inventory_year)]}")
    if inventory_year not in idx.columns:
        raise MognadError(f"{what}: the inventory needs its year column {inventory_year!r}")
    sc = scores[(scores["level"] == level) & (scores["name"] == dimension)]
    for col in ("unit", "role"):
        if col in sc.columns:
            sc = sc[sc[col].isna()]
    if sc.empty and too_few == "raise":
        raise MognadError(f"{what}: the scores have no {level} {dimension!r} (at organisation "
                          "level)")
    keep = [org, round_col, value] + [c for c in ("ci_low", "ci_high", "n_respondents")
                                      if c in sc.columns]
    sc = sc[keep].rename(columns={round_col: inventory_year})
    sc = sc.assign(**{inventory_year: sc[inventory_year].astype("int64"),
                      org: sc[org].astype("str")})
    idx = idx.assign(**{inventory_year: idx[inventory_year].astype("int64"),
                        org: idx[org].astype("str")})
    both = idx[[org, inventory_year, measure]].merge(sc, on=[org, inventory_year], how="inner")
    both = both.dropna(subset=[measure, value])
    counts = both.groupby(inventory_year).size()
    problem = ""
    if year is None:
        ok = counts[counts >= 4]
        if ok.empty:
            problem = (f"no year has at least 4 organisations with both an inventory and a "
                       f"{dimension} score (matched per year: "
                       f"{ {int(k): int(v) for k, v in counts.items()} })")
        else:
            year = int(ok.index.max())
    data = both[both[inventory_year] == int(year)].reset_index(drop=True) if not problem \
        else both.iloc[:0]
    n = len(data)
    x = data[measure].to_numpy(float)
    y = data[value].to_numpy(float)
    if not problem and n < 4:
        problem = (f"{n} organisation(s) with both an inventory and a {dimension} score in "
                   f"{year}; at least 4 are needed")
    elif not problem and (np.ptp(x) == 0 or np.ptp(y) == 0):
        problem = f"{measure} or {dimension} does not vary between the organisations in {year}"
    if problem:
        if too_few == "none":
            return None
        raise MognadError(f"{what}: {problem}")
    pr = stats.pearsonr(x, y)
    sr = stats.spearmanr(x, y)
    rows = []
    for method, r, p in (("pearson", float(pr.statistic), float(pr.pvalue)),
                         ("spearman", float(sr.statistic), float(sr.pvalue))):
        lo, hi = fisher_ci(r, n, ci, method=method)
        rows.append({"method": method, "estimate": r, "ci_low": lo, "ci_high": hi,
                     "p_value": p, "n": n})
    correlations = pd.DataFrame(rows)
    fit = OLS(y, add_constant(pd.Series(x, name=measure))).fit()
    conf = np.asarray(fit.conf_int(alpha=1 - ci))
    regression = pd.DataFrame({
        "term": ["const", measure], "coef": np.asarray(fit.params),
        "se": np.asarray(fit.bse), "t": np.asarray(fit.tvalues),
        "p_value": np.asarray(fit.pvalues), "ci_low": conf[:, 0], "ci_high": conf[:, 1],
        "n": n, "r_squared": fit.rsquared,
    })
    return LegacyLink(data=data, correlations=correlations, regression=regression, fit=fit,
                      measure=measure, dimension=dimension, year=int(year), n=n)


def survey_scores(study, *, year: int | Sequence[int], org_id: Sequence[str] | None = None,
                  level: str | Sequence[str] = "dimension", method: str = "t",
                  **score_kw) -> pd.DataFrame:
    """DiMiOS scores of the inventoried organisations, to set against the inventory.

    A thin wrapper: :func:`mognad.scoring.score` on ``study.responses_for(round=year,
    org_id=...)`` with ``method="t"`` (analytic intervals, fast) by default. An empty score table
    (with the usual columns) when none of the organisations answered the survey that year.

    Parameters
    ----------
    study : Study
    year : int or sequence of int
        Survey round(s) (calendar years).
    org_id : sequence of str, optional
        Organisations (default: every organisation in the study's inventory).
    level : str or sequence of str, default "dimension"
    method : str, default "t"
    **score_kw
        Passed to :func:`mognad.scoring.score` (``n_boot``, ``seed`` ...).
    """
    from mognad.scoring import SCORE_COLUMNS, score

    if org_id is None:
        org_id = sorted(load_systems(study)["org_id"].unique())
    rounds = [int(year)] if np.isscalar(year) else [int(y) for y in year]
    responses = study.responses_for(round=rounds, org_id=list(org_id))
    if responses.empty:
        return pd.DataFrame(columns=["org_id", "round", *SCORE_COLUMNS])
    return score(responses, codebook=study.codebook, method=method,
                 levels=_as_tuple(level), **score_kw)
