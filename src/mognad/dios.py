"""DIOS: the digital infrastructure inventory — its input format and its analyses.

One row per system, organisation and inventory year (see ``docs/dios.md`` for the file format).
Importing this module registers the ``systems`` kind of input file with :mod:`mognad.io.ingest`, so
``mognad ingest systems.csv --study S`` validates an inventory and stores it in the table
``systems`` (read it back with :func:`load_systems`).

Analyses (tidy DataFrames in and out; column roles are keyword-only arguments):

- :func:`portfolio`: importance x quality with a TIME action per system (Gartner's *Tolerate,
  Invest, Migrate, Eliminate*; ``unassessed`` when a rating is missing); :func:`portfolio_summary`.
- :func:`decommissioning` and :func:`freed_cost`: decommissioning candidates under scenarios and
  the annual cost they free, per organisation and in total.
- :func:`compliance`: the "must" requirements (the organisation owns its data, open standards,
  open API) with Wilson intervals, per organisation, domain or nationally.
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
- Labels for reports are Swedish by default, English with ``lang="en"`` (:func:`localise`,
  :func:`text` and the ``plot_*`` functions).

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
    "decommissioning",
    "fisher_ci",
    "format_number",
    "format_pct",
    "format_sek",
    "freed_cost",
    "label",
    "legacy_index",
    "legacy_vs_survey",
    "load_systems",
    "localise",
    "markdown",
    "peer_comparison",
    "plot_compliance",
    "plot_concentration",
    "plot_legacy_link",
    "plot_portfolio",
    "portfolio",
    "show_legacy_link",
    "portfolio_summary",
    "product_comparison",
    "survey_scores",
    "synthetic_banner",
    "text",
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
    import statsmodels.api as sm
    from scipy import stats

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
    fit = sm.OLS(y, sm.add_constant(pd.Series(x, name=measure))).fit()
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


# ============================================================================================
# Labels, texts and plots for the report notebooks
# ============================================================================================
_LANGS = ("sv", "en")
_VALUE_LABELS = {
    "sv": {
        "time": {"invest": "Investera", "tolerate": "Tolerera", "migrate": "Migrera",
                 "eliminate": "Eliminera", "unassessed": "Ej bedömd"},
        "requirement": {"data_ownership": "Organisationen äger sina data",
                        "open_standards": "Öppna standarder", "open_api": "Öppet API",
                        "all": "Alla tre kraven"},
        "scenario": {"eliminate": "Eliminera", "eliminate_migrate": "Eliminera + migrera",
                     "eliminate_planned": "Eliminera + planerad avveckling",
                     "all": "Eliminera + planerad + migrera"},
        "reason": {"eliminate": "Eliminera", "migrate": "Migrera",
                   "planned": "Planerad avveckling"},
        "measure": {"legacy_index": "Arvsindex", "low_quality_share": "Andel låg kvalitet",
                    "non_compliant_share": "Andel som bryter mot skallkrav",
                    "old_share": "Andel gamla system", "mean_quality": "Medelkvalitet (1–4)",
                    "mean_technical_quality": "Teknisk kvalitet (1–4)",
                    "mean_functional_quality": "Funktionell kvalitet (1–4)",
                    "mean_age": "Medelålder (år)"},
        "basis": {"orgs": "organisationer", "systems": "system", "cost": "kostnad"},
        "group": {NATIONAL: "Riket"},
    },
    "en": {
        "time": {"invest": "Invest", "tolerate": "Tolerate", "migrate": "Migrate",
                 "eliminate": "Eliminate", "unassessed": "Unassessed"},
        "requirement": {"data_ownership": "Organisation owns its data",
                        "open_standards": "Open standards", "open_api": "Open API",
                        "all": "All three requirements"},
        "scenario": {"eliminate": "Eliminate", "eliminate_migrate": "Eliminate + migrate",
                     "eliminate_planned": "Eliminate + planned decommissioning",
                     "all": "Eliminate + planned + migrate"},
        "reason": {"eliminate": "Eliminate", "migrate": "Migrate",
                   "planned": "Planned decommissioning"},
        "measure": {"legacy_index": "Legacy index", "low_quality_share": "Share low quality",
                    "non_compliant_share": "Share non-compliant",
                    "old_share": "Share old systems", "mean_quality": "Mean quality (1–4)",
                    "mean_technical_quality": "Technical quality (1–4)",
                    "mean_functional_quality": "Functional quality (1–4)",
                    "mean_age": "Mean age (years)"},
        "basis": {"orgs": "organisations", "systems": "systems", "cost": "cost"},
        "group": {NATIONAL: "National"},
        "lifecycle": {"införande": "introduction", "förvaltning": "operation",
                      "avveckling": "decommissioning"},
    },
}
#: Which kinds of label a bare :func:`label` call looks in, in order.
_LABEL_ORDER = ("time", "requirement", "reason", "measure", "group", "basis", "scenario",
                "lifecycle")
_COLUMN_LABELS = {
    "sv": {
        "org_id": "Organisation", "name": "Namn", "year": "År", "system_id": "System-id",
        "system_name": "System", "domain": "Verksamhetsområde", "vendor": "Leverantör",
        "product": "Produkt", "lifecycle": "Livscykel", "importance": "Betydelse",
        "quality_score": "Kvalitet", "time": "TIME", "reason": "Skäl", "scenario": "Scenario",
        "annual_cost_sek": "Årskostnad (kr)", "freed_cost_sek": "Frigjord kostnad (kr)",
        "n_systems": "Antal system", "total_cost_sek": "Total kostnad (kr)",
        "n_candidates": "Kandidater", "freed_share": "Andel frigjord", "share": "Andel",
        "cost_sek": "Kostnad (kr)", "cost_share": "Kostnadsandel", "requirement": "Krav",
        "n_known": "Kända", "n_compliant": "Uppfyller", "ci_low": "KI låg", "ci_high": "KI hög",
        "n_orgs": "Organisationer", "n_vendors": "Leverantörer", "hhi": "HHI",
        "equivalent_vendors": "Motsvarande antal leverantörer", "top_vendor": "Största leverantör",
        "top_share": "Största andel", "top_vendor_org_share": "Andel org. med största",
        "county_code": "Län", "measure": "Mått", "value": "Värde", "n_peers": "Jämförda org.",
        "peer_median": "Median övriga", "peer_q1": "Kvartil 1", "peer_q3": "Kvartil 3",
        "better_than_share": "Bättre än andel", "percentile_rank": "Percentil",
        "legacy_index": "Arvsindex", "low_quality_share": "Andel låg kvalitet",
        "non_compliant_share": "Andel bryter mot krav", "old_share": "Andel gamla",
        "mean_quality": "Medelkvalitet", "mean_age": "Medelålder", "age_mean": "Medelålder",
        "age_median": "Medianålder", "old_cost_share": "Kostnadsandel gamla",
        "share_avveckling": "Andel i avveckling", "cost_vs_size_peers": "Kostnad mot storleksgrupp",
        "quality_rank": "Kvalitetsrang", "size_class": "Storlek", "estimate": "Skattning",
        "method": "Metod", "p_value": "p-värde", "n": "n", "term": "Term", "coef": "Koefficient",
        "se": "Medelfel", "basis": "Bas", "technical_quality": "Teknisk kvalitet",
        "functional_quality": "Funktionell kvalitet", "group": "", "age_band": "Ålder (år)",
        "hhi_cost": "HHI (kostnad)", "top_share_cost": "Största andel (kostnad)",
        "n_age_known": "Känd ålder", "age_q1": "Ålder kvartil 1", "age_q3": "Ålder kvartil 3",
        "age_max": "Högsta ålder", "age_cost_weighted": "Kostnadsviktad ålder",
        "share_införande": "Andel i införande", "share_förvaltning": "Andel i förvaltning",
        "n_assessed": "Bedömda", "cost_per_unit": "Kostnad per enhet",
        "mean_technical_quality": "Teknisk kvalitet", "mean_functional_quality":
        "Funktionell kvalitet", "t": "t", "r_squared": "R²", "high_importance": "Hög betydelse",
        "high_quality": "Hög kvalitet",
    },
    "en": {
        "org_id": "Organisation", "name": "Name", "year": "Year", "system_id": "System id",
        "system_name": "System", "domain": "Business domain", "vendor": "Vendor",
        "product": "Product", "lifecycle": "Lifecycle", "importance": "Importance",
        "quality_score": "Quality", "time": "TIME", "reason": "Reason", "scenario": "Scenario",
        "annual_cost_sek": "Annual cost (SEK)", "freed_cost_sek": "Freed cost (SEK)",
        "n_systems": "Systems", "total_cost_sek": "Total cost (SEK)",
        "n_candidates": "Candidates", "freed_share": "Share freed", "share": "Share",
        "cost_sek": "Cost (SEK)", "cost_share": "Cost share", "requirement": "Requirement",
        "n_known": "Known", "n_compliant": "Compliant", "ci_low": "CI low", "ci_high": "CI high",
        "n_orgs": "Organisations", "n_vendors": "Vendors", "hhi": "HHI",
        "equivalent_vendors": "Equivalent vendors", "top_vendor": "Top vendor",
        "top_share": "Top share", "top_vendor_org_share": "Share of orgs using top",
        "county_code": "County", "measure": "Measure", "value": "Value", "n_peers": "Peers",
        "peer_median": "Peer median", "peer_q1": "Quartile 1", "peer_q3": "Quartile 3",
        "better_than_share": "Better than share", "percentile_rank": "Percentile",
        "legacy_index": "Legacy index", "low_quality_share": "Share low quality",
        "non_compliant_share": "Share non-compliant", "old_share": "Share old",
        "mean_quality": "Mean quality", "mean_age": "Mean age", "age_mean": "Mean age",
        "age_median": "Median age", "old_cost_share": "Cost share old",
        "share_avveckling": "Share decommissioning", "cost_vs_size_peers": "Cost vs size peers",
        "quality_rank": "Quality rank", "size_class": "Size", "estimate": "Estimate",
        "method": "Method", "p_value": "p value", "n": "n", "term": "Term", "coef": "Coefficient",
        "se": "Std. error", "basis": "Basis", "technical_quality": "Technical quality",
        "functional_quality": "Functional quality", "group": "", "age_band": "Age (years)",
        "hhi_cost": "HHI (cost)", "top_share_cost": "Top share (cost)",
        "n_age_known": "Age known", "age_q1": "Age quartile 1", "age_q3": "Age quartile 3",
        "age_max": "Max age", "age_cost_weighted": "Cost-weighted age",
        "share_införande": "Share introduction", "share_förvaltning": "Share operation",
        "n_assessed": "Assessed", "cost_per_unit": "Cost per unit",
        "mean_technical_quality": "Technical quality", "mean_functional_quality":
        "Functional quality", "t": "t", "r_squared": "R²", "high_importance": "High importance",
        "high_quality": "High quality",
    },
}
_TIME_COLOURS = {"invest": "#1b7837", "tolerate": "#5aae61", "migrate": "#e08214",
                 "eliminate": "#b2182b", "unassessed": "#999999"}

_TEXTS = {
    "sv": {
        "banner": "Syntetiska data – fiktiva organisationer och system, inga verkliga resultat.",
        "title_org": "# Systemportfölj (DIOS) – {name}, {year}",
        "intro_org": "Rapporten bygger på organisationens inventering av befintliga system: "
                     "{n_systems} system med en sammanlagd årskostnad på {cost} kr. Betydelse "
                     "och kvalitet är bedömda på en fyrgradig skala; {n_unassessed} system saknar "
                     "bedömning och redovisas som *ej bedömda*.",
        "portfolio": "## Portfölj: betydelse och kvalitet\n\nVarje system placeras efter "
                     "verksamhetsbetydelse och kvalitet (medel av teknisk och funktionell "
                     "kvalitet). Gränsen går vid {thr_q:g} för kvalitet och {thr_i:g} för "
                     "betydelse. TIME-modellen ger en åtgärd per ruta: **investera** (hög "
                     "betydelse, hög kvalitet), **tolerera** (låg betydelse, hög kvalitet), "
                     "**migrera** (hög betydelse, låg kvalitet) och **eliminera** (låg betydelse, "
                     "låg kvalitet).",
        "decommissioning": "## Avveckling och frigjorda resurser\n\nKandidater för avveckling "
                           "är i första hand system att *eliminera*. Scenarierna lägger till "
                           "system som ska *migreras* (ersättningen antas kosta {repl} av "
                           "dagens system) och system som redan är under avveckling.",
        "no_candidates": "Inga system är kandidater för avveckling i huvudscenariot.",
        "compliance": "## Skallkrav: dataägarskap, öppna standarder och öppna API:er\n\nAndel "
                      "system som uppfyller kraven, med 95 % konfidensintervall (Wilson), jämfört "
                      "med alla organisationer i inventeringen.",
        "peers": "## Jämförelse med andra organisationer\n\nArvsindex (0–100, högre = tyngre "
                 "arv) väger samman kostnadsviktade andelar system med låg kvalitet, system "
                 "som inte uppfyller skallkraven och system som är minst {old} år gamla.",
        "products": "## Samma produkt i andra organisationer\n\nKostnaden jämförs med "
                    "organisationer i samma storleksklass som använder produkten (1 = typisk).",
        "no_products": "Ingen av organisationens produkter används av andra organisationer i "
                       "inventeringen.",
        "age": "## Ålder och livscykel",
        "title_national": "# Digital infrastruktur i offentlig sektor (DIOS), {year}",
        "intro_national": "{n_orgs} organisationer har inventerat {n_systems} system med en "
                          "sammanlagd årskostnad på {cost} kr.",
        "concentration": "## Leverantörskoncentration per verksamhetsområde\n\n"
                         "Herfindahl–Hirschman-index (HHI, 0–10 000) på antal organisationer per "
                         "leverantör: 10 000 betyder att alla organisationer har samma "
                         "leverantör. Över 2 500 räknas marknaden som starkt koncentrerad.",
        "concentration_county": "### Per län (de mest koncentrerade områdena)",
        "compliance_national": "## Skallkrav per verksamhetsområde\n\nAndel system som "
                               "uppfyller alla tre skallkraven, med 95 % konfidensintervall.",
        "legacy_link": "## Inventering och enkät: stämmer bilden av det digitala arvet?\n\n"
                       "Arvsindex från inventeringen jämförs med dimensionen *Digitalt arv* i "
                       "DiMiOS-mätningen {year} för samma organisationer. Ett högt arvsindex "
                       "(tungt arv) bör gå ihop med ett lågt resultat på Digitalt arv.",
        "legacy_summary": "Korrelation (Pearson) r = {r} (95 % KI {lo} till {hi}, n = {n}); "
                          "Spearman ρ = {rho}. Regressionen ger {slope} procentenheter Digitalt "
                          "arv per enhet {measure} (95 % KI {slo} till {shi}).",
        "no_link": "För få organisationer har både inventering och DiMiOS-resultat {year} för "
                   "en jämförelse ({reason}).",
        "age_national": "## Ålder och livscykel per verksamhetsområde",
        "method": "*Metod: `mognad.dios` (TIME-trösklar {thr_i:g}/{thr_q:g}, gamla system ≥ "
                  "{old} år). Data: {fingerprint}.*",
    },
    "en": {
        "banner": "Synthetic data – fictional organisations and systems, no real results.",
        "title_org": "# System portfolio (DIOS) – {name}, {year}",
        "intro_org": "This report is based on the organisation's inventory of existing systems: "
                     "{n_systems} systems with a total annual cost of SEK {cost}. Importance and "
                     "quality are rated on a four-point scale; {n_unassessed} systems are not "
                     "rated and are shown as *unassessed*.",
        "portfolio": "## Portfolio: importance and quality\n\nEach system is placed by business "
                     "importance and quality (mean of technical and functional quality). The "
                     "cut-offs are {thr_q:g} for quality and {thr_i:g} for importance. The TIME "
                     "model gives one action per quadrant: **invest** (high importance, high "
                     "quality), **tolerate** (low importance, high quality), **migrate** (high "
                     "importance, low quality) and **eliminate** (low importance, low quality).",
        "decommissioning": "## Decommissioning and freed resources\n\nThe first candidates are "
                           "systems to *eliminate*. The scenarios add systems to *migrate* (the "
                           "replacement is assumed to cost {repl} of today's system) and "
                           "systems already being decommissioned.",
        "no_candidates": "No system is a decommissioning candidate in the main scenario.",
        "compliance": "## Must-requirements: data ownership, open standards and open APIs\n\n"
                      "Share of systems meeting each requirement, with 95 % confidence intervals "
                      "(Wilson), against all organisations in the inventory.",
        "peers": "## Comparison with other organisations\n\nThe legacy index (0–100, higher = "
                 "heavier legacy) combines cost-weighted shares of low-quality systems, "
                 "systems failing a must-requirement and systems at least {old} years old.",
        "products": "## The same product in other organisations\n\nThe cost is compared with "
                    "organisations of the same size class using the product (1 = typical).",
        "no_products": "None of the organisation's products is used by another organisation in "
                       "the inventory.",
        "age": "## Age and lifecycle",
        "title_national": "# Digital infrastructure in the public sector (DIOS), {year}",
        "intro_national": "{n_orgs} organisations have inventoried {n_systems} systems with a "
                          "total annual cost of SEK {cost}.",
        "concentration": "## Vendor concentration per business domain\n\nHerfindahl–Hirschman "
                         "index (HHI, 0–10,000) on the number of organisations per vendor: "
                         "10,000 means every organisation has the same vendor. Above 2,500 a "
                         "market counts as highly concentrated.",
        "concentration_county": "### By county (the most concentrated domains)",
        "compliance_national": "## Must-requirements per business domain\n\nShare of systems "
                               "meeting all three must-requirements, with 95 % confidence "
                               "intervals.",
        "legacy_link": "## Inventory and survey: do they agree on the digital legacy?\n\nThe "
                       "inventory's legacy index is set against the *Digital legacy* dimension "
                       "of the DiMiOS survey {year} for the same organisations. A high legacy "
                       "index (heavy legacy) should go with a low Digital legacy score.",
        "legacy_summary": "Correlation (Pearson) r = {r} (95 % CI {lo} to {hi}, n = {n}); "
                          "Spearman ρ = {rho}. The regression gives {slope} percentage points of "
                          "Digital legacy per unit of {measure} (95 % CI {slo} to {shi}).",
        "no_link": "Too few organisations have both an inventory and DiMiOS results in {year} "
                   "for a comparison ({reason}).",
        "age_national": "## Age and lifecycle per business domain",
        "method": "*Method: `mognad.dios` (TIME cut-offs {thr_i:g}/{thr_q:g}, old systems ≥ "
                  "{old} years). Data: {fingerprint}.*",
    },
}


def _check_lang(lang: str) -> str:
    if lang not in _LANGS:
        raise MognadError(f"lang must be one of {', '.join(_LANGS)}; got {lang!r}")
    return lang


def label(value: str, lang: str = "sv", kind: str | None = None) -> str:
    """The report label of a code (TIME action, requirement, scenario, measure ...).

    ``kind`` (``time``, ``requirement``, ``scenario``, ``reason``, ``measure``, ``basis``,
    ``group``, ``lifecycle``) picks the vocabulary; without it the first vocabulary that knows the
    code is used (``all`` is then the requirement). Unknown codes come back unchanged.

    Examples
    --------
    >>> label("eliminate"), label("eliminate", "en"), label("Socialtjänst")
    ('Eliminera', 'Eliminate', 'Socialtjänst')
    >>> label("all", kind="scenario")
    'Eliminera + planerad + migrera'
    """
    vocab = _VALUE_LABELS[_check_lang(lang)]
    kinds = (kind,) if kind is not None else _LABEL_ORDER
    for k in kinds:
        if value in vocab.get(k, {}):
            return vocab[k][value]
    return value


def text(key: str, lang: str = "sv", **fields) -> str:
    """A report text in Swedish (default) or English, with ``fields`` filled in.

    Examples
    --------
    >>> text("banner")
    'Syntetiska data – fiktiva organisationer och system, inga verkliga resultat.'
    """
    texts = _TEXTS[_check_lang(lang)]
    if key not in texts:
        raise MognadError(f"no report text {key!r}; texts: {', '.join(texts)}")
    return texts[key].format(**fields)


def markdown(key: str, lang: str = "sv", **fields):
    """:func:`text` as an IPython ``Markdown`` object, for ``display`` in a notebook."""
    from IPython.display import Markdown

    return Markdown(text(key, lang, **fields))


def format_sek(amount: float, lang: str = "sv") -> str:
    """An amount with thousands separators (no-break space in Swedish, comma in English).

    Examples
    --------
    >>> format_sek(1234567.4) == "1\u00a0234\u00a0567", format_sek(1234567.4, "en")
    (True, '1,234,567')
    """
    if amount is None or not np.isfinite(amount):
        return "–"
    s = f"{amount:,.0f}"
    return s.replace(",", "\u00a0") if _check_lang(lang) == "sv" else s


def format_number(x: float, lang: str = "sv", digits: int = 2) -> str:
    """A number for running text: decimal comma and a true minus sign in Swedish.

    Examples
    --------
    >>> format_number(-0.1234), format_number(-0.1234, "en")
    ('−0,12', '-0.12')
    """
    if x is None or not np.isfinite(x):
        return "–"
    s = f"{x:.{digits}f}"
    return s.replace(".", ",").replace("-", "\u2212") if _check_lang(lang) == "sv" else s


def format_pct(share: float, lang: str = "sv", digits: int = 0) -> str:
    """A share as a percentage: ``"25 %"`` in Swedish (no-break space), ``"25%"`` in English.

    Examples
    --------
    >>> format_pct(0.25, "en"), format_pct(0.125, "en", 1), format_pct(float("nan"))
    ('25%', '12.5%', '–')
    """
    if share is None or not np.isfinite(share):
        return "–"
    s = f"{share:.{digits}%}"
    return s.replace("%", "\u00a0%").replace(".", ",") if _check_lang(lang) == "sv" else s


def synthetic_banner(study, lang: str = "sv"):
    """A visible banner for reports on synthetic data (an empty ``HTML`` otherwise)."""
    from mognad.present.text import synthetic_banner as _banner

    return _banner(study, lang, text('banner', lang))


def localise(frame: pd.DataFrame, lang: str = "sv", *, columns: bool = True,
             formats: bool = True) -> pd.DataFrame:
    """A table ready for a report: codes and column names in the report language.

    Codes in the columns ``time``, ``requirement``, ``scenario``, ``reason``, ``measure``,
    ``basis``, ``group``/``org_id`` (``riket``) and, in English, ``lifecycle`` are replaced by
    their labels (:func:`label`). With ``formats``, amounts in kronor (columns ending in
    ``_sek``) become text with thousands separators and shares (columns whose name contains
    ``share``) become whole percentages — the result is for display, not for computing.

    Examples
    --------
    >>> t = pd.DataFrame({"time": ["invest"], "n_systems": [3], "share": [0.25]})
    >>> localise(t)[["TIME", "Antal system"]]
            TIME  Antal system
    0  Investera             3
    >>> localise(t, "en")
         TIME  Systems Share
    0  Invest        3   25%
    """
    lang = _check_lang(lang)
    out = frame.copy()
    kinds = {"time": "time", "requirement": "requirement", "scenario": "scenario",
             "reason": "reason", "measure": "measure", "basis": "basis", "group": "group",
             "org_id": "group", "lifecycle": "lifecycle"}
    for c, kind in kinds.items():
        if c in out.columns:
            out[c] = out[c].map(lambda v, k=kind: label(v, lang, k) if isinstance(v, str) else v)
    if formats:
        for c in out.columns:
            if not pd.api.types.is_numeric_dtype(out[c]) or pd.api.types.is_bool_dtype(out[c]):
                continue
            if str(c).endswith("_sek"):
                out[c] = [format_sek(v, lang) for v in out[c].astype(float)]
            elif "share" in str(c):
                out[c] = [format_pct(v, lang) for v in out[c].astype(float)]
    if columns:
        out = out.rename(columns=_COLUMN_LABELS[lang])
    return out


def plot_portfolio(
    port: pd.DataFrame,
    *,
    ax=None,
    lang: str = "sv",
    thresholds: Mapping[str, float] | None = None,
    importance: str = "importance",
    size: str | None = "annual_cost_sek",
    seed: int = 0,
    title: str | None = None,
):
    """The TIME portfolio: quality (x) against importance (y), one point per system.

    Points are jittered a little (seeded, so the figure is reproducible) because ratings are
    whole numbers; their area follows the annual cost. The quadrant lines lie between the last
    low and the first high value; the quadrants carry their action. Unassessed systems cannot
    be placed and are counted in the corner note.

    Parameters
    ----------
    port : DataFrame
        Output of :func:`portfolio`.
    ax : matplotlib Axes, optional
    lang : str
    thresholds : mapping, optional
        The thresholds used for ``port`` (for the quadrant lines).
    importance, size : str
        Column names (``size=None``: equal points).
    seed : int
        Seed of the jitter.
    title : str, optional

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt

    lang = _check_lang(lang)
    _require(port, ("quality_score", "time", importance), "plot_portfolio")
    thr = _thresholds(thresholds, "plot_portfolio")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 6))
    rng = np.random.default_rng(seed)
    placed = port[port["time"] != "unassessed"]
    x = placed["quality_score"].to_numpy(float) + rng.uniform(-0.12, 0.12, len(placed))
    y = (_ordinal(placed[importance], importance, "plot_portfolio")
         + rng.uniform(-0.12, 0.12, len(placed)))
    if size is not None and size in placed.columns and len(placed):
        c = _numeric(placed[size], size, "plot_portfolio")
        ref = np.nanmedian(c) if np.isfinite(np.nanmedian(c)) and np.nanmedian(c) > 0 else 1.0
        s = 60 * np.sqrt(np.nan_to_num(c, nan=ref) / ref)
        s = np.clip(s, 12, 400)
    else:
        s = np.full(len(placed), 60.0)
    for action in TIME_ACTIONS[:4]:
        m = (placed["time"] == action).to_numpy()
        if m.any():
            ax.scatter(x[m], y[m], s=s[m], color=_TIME_COLOURS[action], alpha=0.75,
                       edgecolor="white", linewidth=0.6,
                       label=f"{label(action, lang)} ({int(m.sum())})")
    qx, qy = thr["quality"] - 0.25, thr["importance"] - 0.25
    ax.axvline(qx, color="0.3", lw=1, ls="--")
    ax.axhline(qy, color="0.3", lw=1, ls="--")
    ax.set(xlim=(0.6, 4.4), ylim=(0.6, 4.4), xticks=[1, 2, 3, 4], yticks=[1, 2, 3, 4])
    corners = {"migrate": (0.65, 4.35, "left", "top"), "invest": (4.35, 4.35, "right", "top"),
               "eliminate": (0.65, 0.65, "left", "bottom"),
               "tolerate": (4.35, 0.65, "right", "bottom")}
    for action, (cx, cy, ha, va) in corners.items():
        ax.text(cx, cy, label(action, lang).upper(), ha=ha, va=va, fontsize=11,
                fontweight="bold", color=_TIME_COLOURS[action], alpha=0.9)
    n_un = int((port["time"] == "unassessed").sum())
    if n_un:
        note = (f"{label('unassessed', lang)}: {n_un} system" if lang == "sv"
                else f"{label('unassessed', lang)}: {n_un} systems")
        ax.text(0.99, -0.1, note, transform=ax.transAxes, ha="right", va="top", fontsize=9,
                color="0.3")
    sv = lang == "sv"
    ax.set_xlabel("Kvalitet (medel av teknisk och funktionell, 1–4)" if sv
                  else "Quality (mean of technical and functional, 1–4)")
    ax.set_ylabel("Verksamhetsbetydelse (1–4)" if sv else "Business importance (1–4)")
    if title:
        ax.set_title(title)
    if len(placed):
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=4, frameon=False,
                  fontsize=9, markerscale=0.7)
    return ax


def plot_compliance(
    comp: pd.DataFrame,
    *,
    group: str = "org_id",
    ax=None,
    lang: str = "sv",
    order: Sequence[str] | None = None,
    title: str | None = None,
):
    """Share meeting each must-requirement with its Wilson interval, one bar per group.

    Parameters
    ----------
    comp : DataFrame
        Output of :func:`compliance` (several groups concatenated are fine).
    group : str
        The column whose values are the bars of each requirement (e.g. ``org_id`` with the
        organisation and ``"riket"``).
    ax : matplotlib Axes, optional
    lang : str
    order : sequence, optional
        Order of the groups.
    title : str, optional
    """
    import matplotlib.pyplot as plt

    lang = _check_lang(lang)
    _require(comp, ("requirement", "share", "ci_low", "ci_high", group), "plot_compliance")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    reqs = [r for r in (*REQUIREMENTS, "all") if r in set(comp["requirement"])]
    groups = list(order) if order is not None else list(pd.unique(comp[group]))
    palette = ["#2166ac", "#b2abd2", "#fdb863", "#5aae61", "#999999"]
    h = 0.8 / max(len(groups), 1)
    for j, gname in enumerate(groups):
        sub = comp[comp[group] == gname].set_index("requirement").reindex(reqs)
        pos = np.arange(len(reqs)) + (j - (len(groups) - 1) / 2) * h
        share = sub["share"].to_numpy(float)
        # clip: a Wilson bound can sit a rounding error inside a share of exactly 0 or 1
        err = np.clip(np.vstack([share - sub["ci_low"].to_numpy(float),
                                 sub["ci_high"].to_numpy(float) - share]), 0, None)
        ax.barh(pos, share, height=h * 0.9, xerr=err, capsize=3,
                color=palette[j % len(palette)], label=label(str(gname), lang, "group"))
    ax.set_yticks(np.arange(len(reqs)), [label(r, lang, "requirement") for r in reqs])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_xlabel("Andel system som uppfyller kravet" if lang == "sv"
                  else "Share of systems meeting the requirement")
    ax.legend(loc="lower right", fontsize=9)
    if title:
        ax.set_title(title)
    return ax


def plot_concentration(vc: pd.DataFrame, *, ax=None, lang: str = "sv", title: str | None = None):
    """HHI per business domain as bars, with the top vendor's share written beside each bar and
    the 1 500 / 2 500 lines of the US merger guidelines.

    Parameters
    ----------
    vc : DataFrame
        Output of :func:`vendor_concentration` (one row per domain).
    """
    import matplotlib.pyplot as plt

    lang = _check_lang(lang)
    _require(vc, ("domain", "hhi", "top_vendor", "top_share"), "plot_concentration")
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.45 * max(len(vc), 4) + 1))
    d = vc.sort_values("hhi", ascending=False)
    ax.barh(d["domain"], d["hhi"], color=["#b2182b" if h > 2500 else "#e08214" if h > 1500
                                          else "#4393c3" for h in d["hhi"]])
    for yi, (h, v, s) in enumerate(zip(d["hhi"], d["top_vendor"], d["top_share"], strict=True)):
        ax.text(min(h, 10_000) + 100, yi, f"{v} ({s:.0%})", va="center", fontsize=8)
    for line in (1500, 2500):
        ax.axvline(line, color="0.4", lw=0.8, ls=":")
    ax.invert_yaxis()
    ax.set_xlim(0, 13_500)
    ax.set_xticks([0, 2500, 5000, 7500, 10_000])
    ax.set_xlabel("HHI (0–10 000)" if lang == "sv" else "HHI (0–10,000)")
    if title:
        ax.set_title(title)
    return ax


def plot_legacy_link(link: LegacyLink, *, ax=None, lang: str = "sv", ci: float = 0.95,
                     title: str | None = None):
    """The inventory measure against the survey score, with the OLS line and its interval.

    Parameters
    ----------
    link : LegacyLink
        Output of :func:`legacy_vs_survey`.
    """
    import matplotlib.pyplot as plt

    lang = _check_lang(lang)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 5))
    d = link.data
    x = d[link.measure].to_numpy(float)
    y = d["score_pct"].to_numpy(float)
    if {"ci_low", "ci_high"} <= set(d.columns):
        err = np.vstack([y - d["ci_low"].to_numpy(float), d["ci_high"].to_numpy(float) - y])
        err = np.where(np.isfinite(err), np.maximum(err, 0), 0)
        ax.errorbar(x, y, yerr=err, fmt="none", ecolor="0.7", lw=0.8, zorder=1)
    ax.scatter(x, y, color="#2166ac", zorder=2)
    grid = np.linspace(np.nanmin(x), np.nanmax(x), 50)
    exog = np.column_stack([np.ones_like(grid), grid])
    pred = link.fit.get_prediction(exog).summary_frame(alpha=1 - ci)
    ax.plot(grid, pred["mean"], color="#b2182b")
    ax.fill_between(grid, pred["mean_ci_lower"], pred["mean_ci_upper"], color="#b2182b",
                    alpha=0.15, lw=0)
    ax.set_xlabel(label(link.measure, lang, "measure"))
    ax.set_ylabel(("Digitalt arv (DiMiOS, %)" if lang == "sv" else "Digital legacy (DiMiOS, %)")
                  if link.dimension == "arv" else f"{link.dimension} (%)")
    r = link.correlations.set_index("method").loc["pearson"]
    ax.set_title(title or f"{link.year}: r = {r['estimate']:.2f} "
                          f"[{r['ci_low']:.2f}, {r['ci_high']:.2f}], n = {link.n}")
    return ax


def show_legacy_link(link: LegacyLink | None, *, lang: str = "sv", year: int | None = None,
                     n_orgs: int | None = None) -> None:
    """Report section body for :func:`legacy_vs_survey`: the plot and a sentence with the
    correlation and the slope, or a note that too few organisations could be compared.

    Parameters
    ----------
    link : LegacyLink or None
        From ``legacy_vs_survey(..., too_few="none")``.
    lang : str
    year : int, optional
        For the note when ``link`` is None.
    n_orgs : int, optional
        Organisations with survey scores, for the note.
    """
    import matplotlib.pyplot as plt
    from IPython.display import display

    if link is None:
        reason = (f"{n_orgs} " + ("organisationer med enkätresultat" if lang == "sv"
                                  else "organisations with survey results")
                  if n_orgs is not None else "–")
        display(markdown("no_link", lang, year=year, reason=reason))
        return
    ax = plot_legacy_link(link, lang=lang)
    display(ax.figure)
    plt.close(ax.figure)
    slope = link.regression.set_index("term").loc[link.measure]
    r = link.correlations.set_index("method")
    display(markdown("legacy_summary", lang, r=format_number(r.at["pearson", "estimate"], lang),
                     lo=format_number(r.at["pearson", "ci_low"], lang),
                     hi=format_number(r.at["pearson", "ci_high"], lang), n=link.n,
                     rho=format_number(r.at["spearman", "estimate"], lang),
                     slope=format_number(slope["coef"], lang),
                     slo=format_number(slope["ci_low"], lang),
                     shi=format_number(slope["ci_high"], lang),
                     measure=label(link.measure, lang, "measure").lower()))
