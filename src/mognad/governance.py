"""Governance and pacing: the analyses of demand for and delivery of digital development.

The input formats (``budgets``, ``requests``, ``training``) and their readers are
:mod:`mognad.io.governance`, imported (and the kinds registered) with this module; the report
tables, sentences and figures are :mod:`mognad.present.governance`. Analyses return numbers and
codes, never prose.

Analyses (tidy DataFrames in and out; column roles are keyword-only arguments):

- :func:`monthly_flow`: arrivals, decisions, starts and completions per month, with the backlog;
- :func:`lead_times` and :func:`lead_time_summary`: lead times per request and their
  distribution (Kaplan-Meier, so requests still open count as censored);
- :func:`littles_law`: the consistency check L = lambda W per period;
- :func:`capacity_gap` and :func:`capacity_needed`: how far delivery falls short of accepted
  demand, and the capacity that stabilises (or clears) the backlog within N months;
- :func:`funding_effect`: the effect of a change of funding model on arrivals (Poisson or
  negative-binomial segmented regression) and on lead times (interrupted time series, OLS with
  Newey-West errors);
- :func:`spending_shares` and :func:`spending_vs_maturity`: exploration (vidareutveckling +
  nyutveckling) versus exploitation (drift + förvaltning) over time, against peers and against
  the DiMiOS categories innovation and effektivitet;
- :func:`survival_curves`: the Kaplan-Meier step functions of a lead time, for figures.

Examples
--------
>>> requests = pd.DataFrame({
...     "org_id": "0114", "request_id": ["a", "b", "c"],
...     "received": pd.to_datetime(["2024-01-05", "2024-01-20", "2024-02-03"]),
...     "decided": pd.to_datetime(["2024-01-10", "2024-01-25", "2024-02-10"]),
...     "started": pd.to_datetime(["2024-01-15", pd.NaT, "2024-02-20"]),
...     "delivered": pd.to_datetime(["2024-02-15", pd.NaT, pd.NaT]),
...     "status": ["levererad", "avslagen", "pagaende"]})
>>> flow = monthly_flow(requests, end="2024-02-29")
>>> flow[["month", "arrivals", "accepted", "rejected", "starts", "completions", "backlog"]]
       month  arrivals  accepted  rejected  starts  completions  backlog
0 2024-01-01         2         1         1       1            0        1
1 2024-02-01         1         1         0       1            1        1
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mognad.errors import MognadError
from mognad.io.governance import (
    BUDGET_KINDS,
    EXPLOITATION,
    EXPLORATION,
    FUNDING_MODELS,
    OWNERS,
    PHASES,
    STATUSES,
    ingest_training,
    load_budgets,
    load_requests,
    load_training,
)

__all__ = [
    "BUDGET_KINDS",
    "EXPLORATION",
    "EXPLOITATION",
    "FUNDING_MODELS",
    "OWNERS",
    "PHASES",
    "STATUSES",
    "capacity_gap",
    "capacity_needed",
    "funding_change_dates",
    "funding_effect",
    "governance_orgs",
    "ingest_training",
    "lead_time_summary",
    "lead_times",
    "littles_law",
    "load_budgets",
    "load_requests",
    "load_training",
    "monthly_flow",
    "share_change",
    "spending_shares",
    "spending_vs_maturity",
    "survival_curves",
    "category_scores",
    "its_series",
]



# ============================================================================================
# Demand and delivery
# ============================================================================================
_DAYS_PER_MONTH = 365.25 / 12


def _as_of(requests: pd.DataFrame, as_of) -> pd.Timestamp:
    if as_of is not None:
        return pd.Timestamp(as_of)
    dates = requests[["received", "decided", "started", "delivered"]].max().max()
    if pd.isna(dates):
        raise MognadError("the request log has no dates; give as_of")
    return pd.Timestamp(dates) + pd.offsets.MonthEnd(0)


def _require(frame: Any, cols: Iterable[str], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise MognadError(f"{what}: needs a DataFrame; got {type(frame).__name__}")
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise MognadError(f"{what}: missing column(s) {missing}; the table has "
                          f"{list(frame.columns)}")


def _counts_by_month(dates: pd.Series, month_ends: pd.DatetimeIndex) -> np.ndarray:
    """Cumulative number of dates on or before each month end."""
    d = np.sort(dates.dropna().to_numpy(dtype="datetime64[ns]"))
    return np.searchsorted(d, month_ends.to_numpy(dtype="datetime64[ns]"), side="right")


def monthly_flow(requests: pd.DataFrame, *, start=None, end=None, as_of=None) -> pd.DataFrame:
    """Arrivals, decisions, starts and completions per month, and the backlog at each month end.

    Parameters
    ----------
    requests : DataFrame
        The request log (:func:`load_requests`): ``org_id, received, decided, started,
        delivered, status``.
    start, end : date-like, optional
        First and last month (default: the first month with an arrival, and ``as_of``).
    as_of : date-like, optional
        The date of the extract; default the end of the month of the latest date in the log.

    Returns
    -------
    DataFrame
        One row per organisation and month: ``org_id, month`` (first day), ``arrivals``,
        ``decisions``, ``accepted``, ``rejected``, ``starts``, ``completions`` (deliveries), and at
        the month end ``undecided`` (received, not decided), ``queue`` (accepted, not started),
        ``in_progress`` (started, not delivered) and ``backlog`` (all open requests: the sum of
        the three). A rejected request closes when it is decided.

    Examples
    --------
    See the module docstring.
    """
    _require(requests, ("org_id", "received", "decided", "started", "delivered", "status"),
             "monthly_flow")
    as_of = _as_of(requests, as_of)
    rows = []
    for org, g in requests.groupby("org_id", sort=True):
        first = pd.Timestamp(start) if start is not None else g["received"].min()
        last = pd.Timestamp(end) if end is not None else as_of
        months = pd.date_range(first.to_period("M").to_timestamp(),
                               last.to_period("M").to_timestamp(), freq="MS")
        ends = months + pd.offsets.MonthEnd(0)
        rejected = g["status"] == "avslagen"
        accepted_dec = g["decided"].where(~rejected)
        closed = g["delivered"].where(~rejected, g["decided"])
        cum = {
            "received": _counts_by_month(g["received"], ends),
            "decided": _counts_by_month(g["decided"], ends),
            "accepted": _counts_by_month(accepted_dec, ends),
            "rejected": _counts_by_month(g["decided"].where(rejected), ends),
            "started": _counts_by_month(g["started"], ends),
            "delivered": _counts_by_month(g["delivered"], ends),
            "closed": _counts_by_month(closed, ends),
        }
        before = {k: _counts_by_month(s, months[:1] - pd.Timedelta(days=1))[0]
                  for k, s in (("received", g["received"]), ("decided", g["decided"]),
                               ("accepted", accepted_dec),
                               ("rejected", g["decided"].where(rejected)),
                               ("started", g["started"]), ("delivered", g["delivered"]))}

        def per_month(name, cum=cum, before=before):
            c = cum[name]
            return np.diff(np.concatenate([[before[name]], c]))

        rows.append(pd.DataFrame({
            "org_id": org,
            "month": months,
            "arrivals": per_month("received"),
            "decisions": per_month("decided"),
            "accepted": per_month("accepted"),
            "rejected": per_month("rejected"),
            "starts": per_month("started"),
            "completions": per_month("delivered"),
            "undecided": cum["received"] - cum["decided"],
            "queue": cum["accepted"] - cum["started"],
            "in_progress": cum["started"] - cum["delivered"],
            "backlog": cum["received"] - cum["closed"],
        }))
    if not rows:
        return pd.DataFrame(columns=["org_id", "month", "arrivals", "decisions", "accepted",
                                     "rejected", "starts", "completions", "undecided", "queue",
                                     "in_progress", "backlog"])
    out = pd.concat(rows, ignore_index=True)
    for c in out.columns[2:]:
        out[c] = out[c].astype("int64")
    return out


def funding_change_dates(events: pd.DataFrame | None = None, *,
                         requests: pd.DataFrame | None = None,
                         budgets: pd.DataFrame | None = None) -> pd.Series:
    """The date each organisation changed its funding model.

    Taken from ``funding_change`` events (the first per organisation); for organisations without
    one, from the first request received under ``intern_prissattning`` after one under
    ``central`` (or the first budget year under it, as 1 January).

    Returns
    -------
    Series
        ``org_id`` -> Timestamp, sorted by org_id.

    Examples
    --------
    >>> ev = pd.DataFrame({"org_id": ["0114", "1384"], "date": pd.to_datetime(["2020-01-01",
    ...                    "2021-03-01"]), "kind": ["funding_change", "reorganisation"]})
    >>> funding_change_dates(ev).to_dict()
    {'0114': Timestamp('2020-01-01 00:00:00')}
    """
    found: dict[str, pd.Timestamp] = {}
    if events is not None and len(events):
        ev = events[events["kind"] == "funding_change"].sort_values("date")
        for org, d in zip(ev["org_id"], pd.to_datetime(ev["date"]), strict=True):
            found.setdefault(str(org), d)
    for frame, col in ((requests, "received"), (budgets, "year")):
        if frame is None or not len(frame) or "funding_model" not in frame:
            continue
        for org, g in frame.sort_values(col).groupby("org_id"):
            if org in found:
                continue
            models = g["funding_model"].to_numpy()
            switch = np.flatnonzero((models[1:] == "intern_prissattning")
                                    & (models[:-1] == "central"))
            if len(switch):
                when = g[col].iloc[switch[0] + 1]
                found[str(org)] = (pd.Timestamp(f"{int(when)}-01-01") if col == "year"
                                   else pd.Timestamp(when))
    return pd.Series(found, dtype="datetime64[ns]").sort_index().rename("change_date")


def _period(months: pd.Series, change) -> pd.Series:
    if change is None or pd.isna(change):
        return pd.Series("all", index=months.index, dtype="str")
    return pd.Series(np.where(months >= pd.Timestamp(change), "after", "before"),
                     index=months.index, dtype="str")


def _hac_mean(values: np.ndarray, maxlags: int, ci: float) -> tuple[float, float, float, float]:
    """Mean with a Newey-West (HAC) standard error and normal interval."""
    from scipy import stats
    from statsmodels.regression.linear_model import OLS

    values = np.asarray(values, dtype=float)
    if len(values) < 3:
        m = float(values.mean()) if len(values) else np.nan
        return m, np.nan, np.nan, np.nan
    res = OLS(values, np.ones(len(values))).fit(
        cov_type="HAC", cov_kwds={"maxlags": min(maxlags, len(values) - 2)})
    z = stats.norm.ppf(0.5 + ci / 2)
    m, se = float(res.params[0]), float(res.bse[0])
    return m, se, m - z * se, m + z * se


def capacity_gap(flow: pd.DataFrame, *, change_dates: Mapping | pd.Series | None = None,
                 skip_months: int = 3, maxlags: int = 3, ci: float = 0.95) -> pd.DataFrame:
    """Accepted demand against delivery capacity, per organisation and period.

    The *capacity gap* is the number of accepted requests per month minus the number of
    requests started per month: by how much the queue of accepted, not yet started requests
    grows each month. A positive gap means the backlog and the waiting time keep growing.
    Starts, not completions, measure capacity here because a delivery team limits how much work it
    takes on; completions follow starts after the execution time.

    Parameters
    ----------
    flow : DataFrame
        :func:`monthly_flow`.
    change_dates : mapping or Series, optional
        ``org_id`` -> date of the change of funding model (:func:`funding_change_dates`); the
        months are split into ``before`` and ``after`` it (``all`` without a date).
    skip_months : int, default 3
        Months after the change left out as a transition (decision delays change at once).
    maxlags : int, default 3
        Lags of the Newey-West (HAC) standard error of the monthly means.
    ci : float, default 0.95

    Returns
    -------
    DataFrame
        ``org_id, period, first_month, last_month, n_months``, ``accepted_per_month``,
        ``starts_per_month``, ``completions_per_month``, ``capacity_per_month`` (starts per
        month in months that began with a queue, i.e. when capacity, not demand, limited the
        starts; missing if there was none), ``gap_per_month`` with ``gap_se``, ``gap_ci_low``,
        ``gap_ci_high``, and ``queue_start``, ``queue_end``.

    Examples
    --------
    >>> flow = pd.DataFrame({"org_id": "0114", "month": pd.date_range("2024-01-01", periods=6,
    ...                      freq="MS"), "accepted": [10, 12, 11, 9, 13, 11],
    ...                      "starts": [9, 9, 9, 9, 9, 9], "completions": [8, 9, 9, 10, 9, 9],
    ...                      "queue": [1, 4, 6, 6, 10, 12]})
    >>> gap = capacity_gap(flow)
    >>> gap[["period", "n_months", "accepted_per_month", "capacity_per_month", "gap_per_month"]]
      period  n_months  accepted_per_month  capacity_per_month  gap_per_month
    0    all         6                11.0                 9.0            2.0
    """
    _require(flow, ("org_id", "month", "accepted", "starts", "completions", "queue"),
             "capacity_gap")
    change_dates = {} if change_dates is None else dict(change_dates)
    rows = []
    for org, g in flow.sort_values("month").groupby("org_id", sort=True):
        g = g.reset_index(drop=True)
        change = change_dates.get(org)
        period = _period(g["month"], change)
        queue_before = g["queue"].shift(1).fillna(0).to_numpy()
        for name in ("before", "after", "all"):
            sel = (period == name).to_numpy().copy()
            if name == "after" and change is not None:
                sel &= (g["month"] >= pd.Timestamp(change) + pd.DateOffset(months=skip_months)
                        ).to_numpy()
            if not sel.any():
                continue
            sub = g[sel]
            gap = (sub["accepted"] - sub["starts"]).to_numpy(float)
            m, se, lo, hi = _hac_mean(gap, maxlags, ci)
            bound = sel & (queue_before > 0)
            rows.append({
                "org_id": org, "period": name, "first_month": sub["month"].iloc[0],
                "last_month": sub["month"].iloc[-1], "n_months": int(sel.sum()),
                "accepted_per_month": float(sub["accepted"].mean()),
                "starts_per_month": float(sub["starts"].mean()),
                "completions_per_month": float(sub["completions"].mean()),
                "capacity_per_month": (float(g.loc[bound, "starts"].mean()) if bound.any()
                                       else np.nan),
                "gap_per_month": m, "gap_se": se, "gap_ci_low": lo, "gap_ci_high": hi,
                "queue_start": int(queue_before[sel][0]),
                "queue_end": int(sub["queue"].iloc[-1]),
            })
    return pd.DataFrame(rows)


def capacity_needed(flow: pd.DataFrame, *, months: int = 12, window: int = 12,
                    target_wait_days: float = 30.0, ci: float = 0.95) -> pd.DataFrame:
    """The delivery capacity that stabilises the backlog, and that clears it within ``months``.

    From the last ``window`` months of the flow: the accepted demand ``a`` per month (with an
    exact Poisson interval), the current capacity ``c`` (starts per month) and the queue ``Q``
    of accepted, not started requests at the end. Stabilising the queue needs ``c >= a``. Bringing
    it down to the queue that a wait of ``target_wait_days`` implies, ``Q* = a * target_wait /
    30.44``, within ``months`` months needs::

        capacity_needed = a + max(Q - Q*, 0) / months

    Parameters
    ----------
    flow : DataFrame
        :func:`monthly_flow`.
    months : int, default 12
        Horizon for clearing the excess queue.
    window : int, default 12
        Recent months over which demand and capacity are measured.
    target_wait_days : float, default 30
        The acceptable wait from decision to start.
    ci : float, default 0.95

    Returns
    -------
    DataFrame
        One row per organisation: ``as_of`` (last month), ``queue_now``, ``backlog_now``,
        ``accepted_per_month`` with ``accepted_ci_low``/``accepted_ci_high``,
        ``capacity_per_month`` (starts per month in the window), ``gap_per_month``,
        ``target_queue``, ``capacity_to_stabilise`` (= accepted demand), ``capacity_needed``
        with ``needed_ci_low``/``needed_ci_high``, ``extra_capacity`` (needed minus current,
        per month) and ``extra_capacity_pct``.

    Examples
    --------
    >>> flow = pd.DataFrame({"org_id": "0114", "month": pd.date_range("2024-01-01",
    ...                      periods=12, freq="MS"), "accepted": 8, "starts": 7,
    ...                      "queue": range(21, 33), "backlog": range(41, 53)})
    >>> need = capacity_needed(flow, months=12, target_wait_days=30.44)
    >>> need[["queue_now", "accepted_per_month", "target_queue", "capacity_needed",
    ...       "extra_capacity"]].round(2)
       queue_now  accepted_per_month  target_queue  capacity_needed  extra_capacity
    0         32                 8.0           8.0             10.0             3.0
    """
    from scipy import stats

    _require(flow, ("org_id", "month", "accepted", "starts", "queue", "backlog"),
             "capacity_needed")
    if months < 1 or window < 1:
        raise MognadError("months and window must be at least 1")
    alpha = 1 - ci
    rows = []
    for org, g in flow.sort_values("month").groupby("org_id", sort=True):
        w = g.tail(window)
        n = len(w)
        k = int(w["accepted"].sum())
        a = k / n
        lo = stats.chi2.ppf(alpha / 2, 2 * k) / 2 / n if k > 0 else 0.0
        hi = stats.chi2.ppf(1 - alpha / 2, 2 * k + 2) / 2 / n
        c = float(w["starts"].mean())
        q = int(w["queue"].iloc[-1])
        target = a * target_wait_days / _DAYS_PER_MONTH

        def need(rate, q=q, months=months):
            return rate + max(q - rate * target_wait_days / _DAYS_PER_MONTH, 0.0) / months

        needed = need(a)
        rows.append({
            "org_id": org, "as_of": w["month"].iloc[-1], "window_months": n,
            "queue_now": q, "backlog_now": int(w["backlog"].iloc[-1]),
            "accepted_per_month": a, "accepted_ci_low": lo, "accepted_ci_high": hi,
            "capacity_per_month": c, "gap_per_month": a - c, "target_queue": target,
            "horizon_months": months, "capacity_to_stabilise": a,
            "capacity_needed": needed, "needed_ci_low": need(lo), "needed_ci_high": need(hi),
            "extra_capacity": needed - c,
            "extra_capacity_pct": 100 * (needed - c) / c if c > 0 else np.nan,
        })
    return pd.DataFrame(rows)


# ============================================================================================
# Lead times
# ============================================================================================
#: Lead-time measures: (from, to) columns of the log.
MEASURES = {
    "decision_days": ("received", "decided"),
    "wait_days": ("decided", "started"),
    "execution_days": ("started", "delivered"),
    "lead_time_days": ("received", "delivered"),
}


def lead_times(requests: pd.DataFrame, *, as_of=None,
               change_dates: Mapping | pd.Series | None = None) -> pd.DataFrame:
    """Lead times per request, in days, with censoring for what has not happened yet.

    Measures: ``decision_days`` (received to decided), ``wait_days`` (decided to started),
    ``execution_days`` (started to delivered), ``lead_time_days`` (received to delivered) and
    ``open_days`` (received to closed: delivered, or decided when rejected). Rejected requests
    have no wait, execution or lead time. A measure whose end has not happened by ``as_of`` is
    *censored*: its value is the time until ``as_of`` and ``<measure>_observed`` is False.

    Returns
    -------
    DataFrame
        ``org_id, request_id, received, month`` (of receipt), ``period`` (``before``/``after``
        the change of funding model, or ``all``), ``status``, and per measure the value and
        ``<measure>_observed``.

    Examples
    --------
    >>> log = pd.DataFrame({"org_id": "0114", "request_id": ["a", "b"],
    ...     "received": pd.to_datetime(["2024-01-01", "2024-03-01"]),
    ...     "decided": pd.to_datetime(["2024-01-11", pd.NaT]),
    ...     "started": pd.to_datetime(["2024-01-21", pd.NaT]),
    ...     "delivered": pd.to_datetime(["2024-03-01", pd.NaT]),
    ...     "status": ["levererad", "ej_beslutad"]})
    >>> lt = lead_times(log, as_of="2024-03-31")
    >>> lt[["request_id", "decision_days", "decision_days_observed", "lead_time_days"]]
      request_id  decision_days  decision_days_observed  lead_time_days
    0          a           10.0                    True            60.0
    1          b           30.0                   False            30.0
    """
    _require(requests, ("org_id", "request_id", "received", "decided", "started", "delivered",
                        "status"), "lead_times")
    as_of = _as_of(requests, as_of)
    change_dates = {} if change_dates is None else dict(change_dates)
    r = requests.reset_index(drop=True)
    out = r[["org_id", "request_id", "received", "status"]].copy()
    out["month"] = r["received"].dt.to_period("M").dt.to_timestamp()
    out["period"] = "all"
    for org, idx in out.groupby("org_id").groups.items():
        if org in change_dates:
            out.loc[idx, "period"] = _period(out.loc[idx, "received"], change_dates[org])
    rejected = (r["status"] == "avslagen").to_numpy()
    ends = dict(MEASURES)
    ends["open_days"] = ("received", "closed")
    r = r.assign(closed=r["delivered"].where(~rejected, r["decided"]))
    for name, (a, b) in ends.items():
        start, stop = r[a], r[b]
        observed = stop.notna() & start.notna()
        value = (stop.where(observed, as_of) - start).dt.days.astype(float)
        applicable = start.notna() | (name in ("decision_days", "lead_time_days", "open_days"))
        if name in ("wait_days", "execution_days", "lead_time_days"):
            applicable &= ~rejected
        if name == "wait_days":
            applicable &= r["decided"].notna()
        if name == "execution_days":
            applicable &= r["started"].notna()
        out[name] = value.where(applicable)
        out[f"{name}_observed"] = observed & applicable
    return out



def _km_fits(lead: pd.DataFrame, measure: str, by, what: str, *, sort: bool):
    """Per group of *lead*: ``(keys, time, status, SurvfuncRight or None)`` for *measure*
    (requests still open are censored; ``None`` when nothing has ended in the group)."""
    from statsmodels.duration.survfunc import SurvfuncRight

    by = [by] if isinstance(by, str) else list(by)
    _require(lead, (*by, measure, f"{measure}_observed"), what)
    data = lead[lead[measure].notna()]
    for key, g in data.groupby(by, sort=sort, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        time = g[measure].to_numpy(float)
        status = g[f"{measure}_observed"].to_numpy(bool).astype(int)
        sf = SurvfuncRight(np.maximum(time, 0.0), status) if status.any() else None
        yield dict(zip(by, key, strict=True)), time, status, sf

def lead_time_summary(lead: pd.DataFrame, *, measure: str = "lead_time_days",
                      by: str | Sequence[str] = ("org_id", "period"),
                      quantiles: Sequence[float] = (0.5, 0.75, 0.9),
                      ci: float = 0.95) -> pd.DataFrame:
    """The distribution of a lead time per group: Kaplan-Meier quantiles with intervals.

    Requests whose measure has not ended yet are right-censored, so open requests lengthen the
    estimate as they should instead of being dropped (dropping them would make a growing queue
    look faster). A quantile that the follow-up does not reach is missing.

    Parameters
    ----------
    lead : DataFrame
        :func:`lead_times`.
    measure : str, default "lead_time_days"
        One of ``decision_days``, ``wait_days``, ``execution_days``, ``lead_time_days``,
        ``open_days``.
    by : str or sequence of str, default ("org_id", "period")
    quantiles : sequence of float
    ci : float, default 0.95

    Returns
    -------
    DataFrame
        ``by`` columns, ``measure``, ``n``, ``n_censored``, ``mean_observed`` (mean of the ended
        ones only), and per quantile ``q50``, ``q50_ci_low``, ``q50_ci_high`` (for 0.5) ... in
        days.

    Examples
    --------
    >>> lead = pd.DataFrame({"org_id": "0114", "period": "all",
    ...                      "lead_time_days": [10.0, 20, 30, 40, 50],
    ...                      "lead_time_days_observed": [True, True, True, True, False]})
    >>> lead_time_summary(lead, quantiles=(0.5,))[["n", "n_censored", "q50"]]
       n  n_censored   q50
    0  5           1  30.0
    """
    if measure not in (*MEASURES, "open_days"):
        raise MognadError(f"measure must be one of {[*MEASURES, 'open_days']}; got {measure!r}")
    rows = []
    for keys, time, status, sf in _km_fits(lead, measure, by, "lead_time_summary", sort=True):
        row = keys | {
            "measure": measure, "n": len(time), "n_censored": int((status == 0).sum()),
            "mean_observed": float(time[status == 1].mean()) if status.any() else np.nan}
        for q in quantiles:
            name = f"q{round(q * 100)}"
            val = lo = hi = np.nan
            if sf is not None:
                val = float(sf.quantile(q))
                try:
                    with np.errstate(all="ignore"):
                        lo, hi = (float(x) for x in sf.quantile_ci(q, alpha=1 - ci))
                except (ValueError, IndexError):
                    lo = hi = np.nan
                val = val if np.isfinite(val) else np.nan
            row[name], row[f"{name}_ci_low"], row[f"{name}_ci_high"] = val, lo, hi
        rows.append(row)
    return pd.DataFrame(rows)


def survival_curves(lead: pd.DataFrame, *, measure: str = "lead_time_days",
                    by: str | Sequence[str] = ("org_id", "period")) -> pd.DataFrame:
    """Kaplan-Meier curves of a lead time: the share of requests not yet through, by days.

    The step function behind :func:`lead_time_summary` (statsmodels ``SurvfuncRight``; open
    requests censored), as tidy rows for a figure.

    Returns
    -------
    DataFrame
        ``by`` columns, ``days`` (0 and every day on which a request ended), ``survival`` (share
        not yet through after that day) and ``n`` (requests in the group).

    Examples
    --------
    Four requests ending after 10, 20 and 30 days and one still open at 40 (censored):

    >>> lead = pd.DataFrame({"org_id": "0114", "period": "all",
    ...                      "lead_time_days": [10.0, 20, 30, 40],
    ...                      "lead_time_days_observed": [True, True, True, False]})
    >>> survival_curves(lead)[["days", "survival"]]
       days  survival
    0   0.0      1.00
    1  10.0      0.75
    2  20.0      0.50
    3  30.0      0.25
    """
    by = [by] if isinstance(by, str) else list(by)
    rows = []
    for keys, time, _status, sf in _km_fits(lead, measure, by, "survival_curves", sort=False):
        if sf is None:
            continue
        days = np.concatenate([[0.0], np.asarray(sf.surv_times, float)])
        surv = np.concatenate([[1.0], np.asarray(sf.surv_prob, float)])
        rows.append(pd.DataFrame({**keys, "days": days, "survival": surv, "n": len(time)}))
    cols = [*by, "days", "survival", "n"]
    return pd.concat(rows, ignore_index=True)[cols] if rows else pd.DataFrame(columns=cols)


def littles_law(requests: pd.DataFrame, *, freq: str = "YS", as_of=None,
                tolerance: float = 0.2, max_censored: float = 0.05) -> pd.DataFrame:
    """Little's law check per organisation and period: is L = lambda W?

    ``L`` is the time-average number of open requests in the period (from the daily count),
    ``lambda`` the arrivals per day in the period and ``W`` the mean time from receipt to
    closure of the requests that arrived in it (to ``as_of`` for those still open). In a
    steady state ``lambda W / L`` is 1; a ratio clearly above 1 says the backlog is growing
    (arrivals stay longer than those they replace), below 1 that it is shrinking, and the
    check is not meaningful when many of the period's requests are still open.

    Parameters
    ----------
    requests : DataFrame
        The request log.
    freq : str, default "YS"
        Period length (pandas offset alias; ``"YS"`` calendar years, ``"QS"`` quarters).
    as_of : date-like, optional
    tolerance : float, default 0.2
        ``consistent`` is True when ``|lambda W / L - 1| <= tolerance``.
    max_censored : float, default 0.05
        Periods with a larger share of still-open arrivals get ``consistent`` missing.

    Returns
    -------
    DataFrame
        ``org_id, period_start, period_end, L, arrivals, lambda_per_month, W_days,
        lambda_W, ratio, censored_share, consistent``.

    Examples
    --------
    A request every third day, each open for 30 days, keeps L = 10 requests open:

    >>> received = pd.date_range("2022-01-01", "2023-12-31", freq="3D")
    >>> log = pd.DataFrame({"org_id": "0114", "request_id": range(len(received)),
    ...                     "received": received, "decided": received, "started": received,
    ...                     "delivered": received + pd.Timedelta(days=30), "status": "levererad"})
    >>> ll = littles_law(log, as_of="2023-12-31")
    >>> ll[["L", "lambda_W", "ratio", "consistent"]].round(2)
           L  lambda_W  ratio  consistent
    0   9.63     10.03   1.04        True
    1  10.00     10.03   1.00        True

    (The first year starts with an empty system, so L is a little lower.)
    """

    _require(requests, ("org_id", "received", "decided", "delivered", "status"), "littles_law")
    as_of = _as_of(requests, as_of)
    rows = []
    for org, g in requests.groupby("org_id", sort=True):
        rejected = g["status"] == "avslagen"
        closed = g["delivered"].where(~rejected, g["decided"])
        close = closed.fillna(as_of + pd.Timedelta(days=1))
        starts = pd.date_range(g["received"].min().to_period("Y" if freq.startswith("Y") else
                                                             "Q" if freq.startswith("Q") else
                                                             "M").to_timestamp(),
                               as_of, freq=freq)
        for a in starts:
            b = min(a + pd.tseries.frequencies.to_offset(freq), as_of + pd.Timedelta(days=1))
            span = (b - a).days
            if span <= 0:
                continue
            overlap = (np.minimum(close, b) - np.maximum(g["received"], a)).dt.days.clip(lower=0)
            L = float(overlap.sum()) / span
            arr = (g["received"] >= a) & (g["received"] < b)
            n = int(arr.sum())
            lam = n / span
            W = float((close[arr] - g.loc[arr, "received"]).dt.days.mean()) if n else np.nan
            cens = float(closed[arr].isna().mean()) if n else np.nan
            if n == 0 and L == 0:
                continue
            ratio = lam * W / L if L > 0 and n else np.nan
            consistent = (pd.NA if not np.isfinite(ratio) or cens > max_censored
                          else bool(abs(ratio - 1) <= tolerance))
            rows.append({"org_id": org, "period_start": a,
                         "period_end": b - pd.Timedelta(days=1), "L": L, "arrivals": n,
                         "lambda_per_month": lam * _DAYS_PER_MONTH, "W_days": W,
                         "lambda_W": lam * W, "ratio": ratio, "censored_share": cens,
                         "consistent": consistent})
    out = pd.DataFrame(rows)
    if len(out):
        out["consistent"] = out["consistent"].astype("boolean")
    return out


# ============================================================================================
# The effect of a change of funding model (interrupted time series)
# ============================================================================================
#: Outcomes :func:`funding_effect` knows: arrivals (a count per month) and mean lead times of the
#: requests received in a month.
OUTCOMES = ("arrivals", "decision_days", "wait_days", "lead_time_days")


def _monthly_outcome(requests: pd.DataFrame, org: str, outcome: str, as_of,
                     complete: float) -> pd.DataFrame:
    g = requests[requests["org_id"] == org]
    months = pd.date_range(g["received"].min().to_period("M").to_timestamp(),
                           as_of.to_period("M").to_timestamp(), freq="MS")
    month = g["received"].dt.to_period("M").dt.to_timestamp()
    if outcome == "arrivals":
        y = month.value_counts().reindex(months, fill_value=0)
        return pd.DataFrame({"month": months, "y": y.to_numpy(float), "n": y.to_numpy()})
    a, b = MEASURES[outcome]
    sub = g.assign(month=month)
    if outcome != "decision_days":
        sub = sub[sub["status"] != "avslagen"]
    if a == "decided":
        sub = sub[sub["decided"].notna()]
    done = sub[b].notna()
    share = done.groupby(sub["month"]).mean().reindex(months)
    days = (sub[b] - sub[a]).dt.days.where(done)
    mean = days.groupby(sub["month"]).mean().reindex(months)
    n = done.groupby(sub["month"]).sum().reindex(months, fill_value=0)
    # keep months up to the first one in which fewer than `complete` have ended: later
    # months would only show the short lead times (right-censoring)
    short = (share < complete).to_numpy()
    cut = int(np.argmax(short)) if short.any() else len(months)
    frame = pd.DataFrame({"month": months, "y": mean.to_numpy(float), "n": n.to_numpy()})
    return frame.iloc[:cut][frame["y"].iloc[:cut].notna()].reset_index(drop=True)


def _its_design(months: pd.Series, change: pd.Timestamp, trend: bool) -> tuple[np.ndarray, list]:
    t = ((months.dt.year - months.dt.year.iloc[0]) * 12
         + months.dt.month - months.dt.month.iloc[0]).to_numpy(float)
    after = (months >= change).to_numpy(float)
    t0 = float((change.year - months.dt.year.iloc[0]) * 12 + change.month
               - months.dt.month.iloc[0])
    if trend:
        return (np.column_stack([np.ones_like(t), t, after, (t - t0) * after]),
                ["baseline", "pre_slope", "level_change", "slope_change"])
    return np.column_stack([np.ones_like(t), after]), ["baseline", "level_change"]


def _fit_its(y: np.ndarray, X: np.ndarray, outcome: str, family: str, maxlags: int):
    # the models themselves, not statsmodels.api (which imports all of statsmodels)
    from statsmodels.discrete.discrete_model import NegativeBinomial
    from statsmodels.genmod.families import Poisson
    from statsmodels.genmod.generalized_linear_model import GLM
    from statsmodels.regression.linear_model import OLS

    cov = {"cov_type": "HAC", "cov_kwds": {"maxlags": maxlags}}
    if outcome == "arrivals":
        if family == "negbin":
            return NegativeBinomial(y, X).fit(disp=0, maxiter=200, **cov)
        if family != "poisson":
            raise MognadError(f"family must be 'poisson' or 'negbin'; got {family!r}")
        return GLM(y, X, family=Poisson()).fit(**cov)
    return OLS(y, X).fit(**cov)


def funding_effect(requests: pd.DataFrame, *, change_dates: Mapping | pd.Series,
                   outcomes: Sequence[str] = ("arrivals", "decision_days", "lead_time_days"),
                   family: str = "poisson", maxlags: int = 3, complete: float = 0.99,
                   as_of=None, ci: float = 0.95) -> pd.DataFrame:
    """The effect of a change of funding model: interrupted time series per organisation.

    Each outcome is a monthly series: ``arrivals`` (requests received per month) or the mean
    lead time (``decision_days``, ``wait_days``, ``lead_time_days``) of the requests received in
    the month. Two models are fitted on it, both with Newey-West (HAC) standard errors that allow
    for autocorrelation up to ``maxlags`` months:

    - ``segmented``: ``y = b0 + b1 t + b2 after + b3 (t - t0) after`` (segmented regression,
      Wagner et al. 2002): ``level_change`` (b2) is the jump at the change and
      ``slope_change`` (b3) the change of trend per month, against the pre-change trend
      continued;
    - ``level``: ``y = b0 + b2 after``, the plain before/after difference (``mean_change``).

    Arrivals are counts: a Poisson GLM with a log link (``family="negbin"`` for a
    negative-binomial model), so the effects are *rate ratios*; lead times use OLS, effects in
    days. Lead-time months are kept only up to the first month in which fewer than ``complete``
    of the requests have reached the measure's end (right-censoring).

    Parameters
    ----------
    requests : DataFrame
        The request log.
    change_dates : mapping or Series
        ``org_id`` -> date of the change (:func:`funding_change_dates`); organisations without
        one are skipped.
    outcomes : sequence of str
        Among ``arrivals``, ``decision_days``, ``wait_days``, ``lead_time_days``.
    family : {"poisson", "negbin"}
    maxlags : int, default 3
    complete : float, default 0.99
    as_of : date-like, optional
    ci : float, default 0.95

    Returns
    -------
    DataFrame
        ``org_id, outcome, model, term`` (``level_change``, ``slope_change``, ``pre_slope``,
        ``baseline``, ``mean_change``), ``scale`` (``ratio`` or ``days``), ``estimate``,
        ``ci_low``, ``ci_high``, ``p_value``, ``n_months``, ``n_before``, ``n_after``,
        ``last_month``.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> months = pd.date_range("2018-01-01", "2023-12-01", freq="MS")
    >>> counts = rng.poisson(np.where(months >= "2021-01-01", 6.0, 12.0))
    >>> received = np.repeat(months, counts) + pd.Timedelta(days=3)
    >>> log = pd.DataFrame({"org_id": "0114", "request_id": range(len(received)),
    ...     "received": received, "decided": received, "started": pd.NaT,
    ...     "delivered": pd.NaT, "status": "avslagen"})
    >>> eff = funding_effect(log, change_dates={"0114": "2021-01-01"}, outcomes=["arrivals"])
    >>> row = eff.query("term == 'mean_change'").iloc[0]
    >>> round(float(row.estimate), 2), bool(row.ci_low < 0.5 < row.ci_high)
    (0.44, True)
    """
    from scipy import stats

    bad = [o for o in outcomes if o not in OUTCOMES]
    if bad:
        raise MognadError(f"unknown outcome(s) {bad}; use {list(OUTCOMES)}")
    _require(requests, ("org_id", "received", "decided", "started", "delivered", "status"),
             "funding_effect")
    as_of = _as_of(requests, as_of)
    z = stats.norm.ppf(0.5 + ci / 2)
    rows = []
    for org, change in dict(change_dates).items():
        if org not in set(requests["org_id"]) or change is None or pd.isna(change):
            continue
        change = pd.Timestamp(change)
        for outcome in outcomes:
            data = _monthly_outcome(requests, org, outcome, as_of, complete)
            after = data["month"] >= change
            if after.sum() < 3 or (~after).sum() < 3:
                continue
            for model, trend in (("segmented", True), ("level", False)):
                X, names = _its_design(data["month"], change, trend)
                res = _fit_its(data["y"].to_numpy(float), X, outcome, family, maxlags)
                params = np.asarray(res.params)[: len(names)]
                bse = np.asarray(res.bse)[: len(names)]
                pvals = np.asarray(res.pvalues)[: len(names)]
                for i, term in enumerate(names):
                    if model == "level" and term == "baseline":
                        continue
                    est, lo, hi = params[i], params[i] - z * bse[i], params[i] + z * bse[i]
                    ratio = outcome == "arrivals" and term != "baseline"
                    if outcome == "arrivals":
                        est, lo, hi = np.exp(est), np.exp(lo), np.exp(hi)
                    rows.append({
                        "org_id": org, "outcome": outcome, "model": model,
                        "term": "mean_change" if model == "level" else term,
                        "scale": "ratio" if ratio else ("count" if outcome == "arrivals"
                                                        else "days"),
                        "estimate": float(est), "ci_low": float(lo), "ci_high": float(hi),
                        "p_value": float(pvals[i]), "n_months": len(data),
                        "n_before": int((~after).sum()), "n_after": int(after.sum()),
                        "last_month": data["month"].iloc[-1],
                    })
    return pd.DataFrame(rows)


def its_series(requests: pd.DataFrame, *, org_id: str, change_date, outcome: str = "arrivals",
               family: str = "poisson", maxlags: int = 3, complete: float = 0.99,
               as_of=None) -> pd.DataFrame:
    """The monthly series behind :func:`funding_effect` with the segmented fit and the
    counterfactual (the pre-change trend continued), for plotting.

    Returns
    -------
    DataFrame
        ``month, y, n, fitted, counterfactual, after``.
    """
    if outcome not in OUTCOMES:
        raise MognadError(f"unknown outcome {outcome!r}; use {list(OUTCOMES)}")
    as_of = _as_of(requests, as_of)
    change = pd.Timestamp(change_date)
    data = _monthly_outcome(requests, org_id, outcome, as_of, complete)
    X, _ = _its_design(data["month"], change, True)
    res = _fit_its(data["y"].to_numpy(float), X, outcome, family, maxlags)
    params = np.asarray(res.params)[:4]
    lin, lin0 = X @ params, X[:, :2] @ params[:2]
    link = np.exp if outcome == "arrivals" else (lambda v: v)
    return data.assign(fitted=link(lin), counterfactual=link(lin0),
                       after=(data["month"] >= change).to_numpy())


# ============================================================================================
# Spending: exploration versus exploitation
# ============================================================================================
def spending_shares(budgets: pd.DataFrame, *, peers: bool = True) -> pd.DataFrame:
    """Exploration and exploitation shares of digital spending per organisation and year.

    Exploration = vidareutveckling + nyutveckling (developing new capability); exploitation =
    drift + förvaltning (running and maintaining what exists), the two sides of an ambidextrous
    organisation. A share is of the year's total over the four kinds.

    Parameters
    ----------
    budgets : DataFrame
        :func:`load_budgets`.
    peers : bool, default True
        Add ``peer_median``, ``peer_min``, ``peer_max`` and ``n_peers``: the exploration share of
        the *other* organisations in the table the same year.

    Returns
    -------
    DataFrame
        ``org_id, year, funding_model``, the amount per kind, ``total_sek``,
        ``exploitation_sek``, ``exploration_sek``, ``exploration_share`` (0-1),
        ``exploitation_share`` and, with ``peers``, the peer columns.

    Examples
    --------
    >>> b = pd.DataFrame({"org_id": "0114", "year": 2024, "kind": list(BUDGET_KINDS),
    ...                   "amount_sek": [40.0, 25, 20, 15], "funding_model": "central"})
    >>> spending_shares(b)[["org_id", "year", "total_sek", "exploration_share"]]
      org_id  year  total_sek  exploration_share
    0   0114  2024      100.0               0.35
    """
    _require(budgets, ("org_id", "year", "kind", "amount_sek", "funding_model"),
             "spending_shares")
    wide = budgets.pivot_table(index=["org_id", "year"], columns="kind", values="amount_sek",
                               aggfunc="sum", fill_value=0.0)
    wide = wide.reindex(columns=list(BUDGET_KINDS), fill_value=0.0)
    wide.columns = [f"{c}_sek" for c in wide.columns]
    out = wide.reset_index()
    model = budgets.groupby(["org_id", "year"])["funding_model"].first().reset_index()
    out = model.merge(out, on=["org_id", "year"])
    out["total_sek"] = out[[f"{k}_sek" for k in BUDGET_KINDS]].sum(axis=1)
    out["exploitation_sek"] = out[[f"{k}_sek" for k in EXPLOITATION]].sum(axis=1)
    out["exploration_sek"] = out[[f"{k}_sek" for k in EXPLORATION]].sum(axis=1)
    total = out["total_sek"].where(out["total_sek"] > 0)
    out["exploration_share"] = out["exploration_sek"] / total
    out["exploitation_share"] = out["exploitation_sek"] / total
    out["year"] = out["year"].astype("int64")
    if peers:
        med, lo, hi, n = [], [], [], []
        for org, year in zip(out["org_id"], out["year"], strict=True):
            other = out.loc[(out["year"] == year) & (out["org_id"] != org), "exploration_share"]
            other = other.dropna()
            med.append(other.median() if len(other) else np.nan)
            lo.append(other.min() if len(other) else np.nan)
            hi.append(other.max() if len(other) else np.nan)
            n.append(len(other))
        out["peer_median"], out["peer_min"], out["peer_max"] = med, lo, hi
        out["n_peers"] = n
    return out.sort_values(["org_id", "year"]).reset_index(drop=True)


def share_change(shares: pd.DataFrame, *, change_dates: Mapping | pd.Series,
                 column: str = "exploration_share", ci: float = 0.95) -> pd.DataFrame:
    """Mean share before and after the change of funding model, with Welch intervals.

    Years from the change year on count as *after* (a budget year under the new model).

    Returns
    -------
    DataFrame
        ``org_id, change_year, n_before, n_after, mean_before, mean_after, change`` and
        ``ci_low``/``ci_high`` of the change (Welch t), plus each period mean's t-interval.

    Examples
    --------
    >>> s = pd.DataFrame({"org_id": "0114", "year": range(2018, 2024),
    ...                   "exploration_share": [0.35, 0.36, 0.34, 0.24, 0.25, 0.23]})
    >>> out = share_change(s, change_dates={"0114": "2021-01-01"})
    >>> out[["mean_before", "mean_after", "change"]].round(2)
       mean_before  mean_after  change
    0         0.35        0.24   -0.11
    """
    from scipy import stats

    from mognad.intervals import welch_interval

    rows = []
    for org, change in dict(change_dates).items():
        g = shares[shares["org_id"] == org]
        if not len(g) or change is None or pd.isna(change):
            continue
        year = pd.Timestamp(change).year
        pre = g.loc[g["year"] < year, column].dropna().to_numpy(float)
        post = g.loc[g["year"] >= year, column].dropna().to_numpy(float)
        row = {"org_id": org, "change_year": year, "n_before": len(pre), "n_after": len(post),
               "mean_before": pre.mean() if len(pre) else np.nan,
               "mean_after": post.mean() if len(post) else np.nan}
        for name, x in (("before", pre), ("after", post)):
            if len(x) >= 2:
                half = stats.t.ppf(0.5 + ci / 2, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
                row[f"{name}_ci_low"], row[f"{name}_ci_high"] = x.mean() - half, x.mean() + half
            else:
                row[f"{name}_ci_low"] = row[f"{name}_ci_high"] = np.nan
        row["change"] = row["mean_after"] - row["mean_before"]
        w = welch_interval(post, pre, ci=ci)  # the package's one Welch interval
        row["ci_low"], row["ci_high"] = w["ci_low"], w["ci_high"]
        rows.append(row)
    return pd.DataFrame(rows)


def category_scores(study, *, org_id: str | Sequence[str],
                    categories: Sequence[str] = ("innovation", "effektivitet"),
                    method: str = "t", n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """DiMiOS category scores per organisation and round (:func:`mognad.scoring.score`).

    Returns
    -------
    DataFrame
        ``org_id, round, name`` (category), ``score_pct, ci_low, ci_high, n_respondents``.
    """
    from mognad.scoring import score

    ids = [org_id] if isinstance(org_id, str) else list(org_id)
    resp = study.responses_for(org_id=ids)
    if not len(resp):
        return pd.DataFrame(columns=["org_id", "round", "name", "score_pct", "ci_low",
                                     "ci_high", "n_respondents"])
    unknown = [c for c in categories if c not in set(study.codebook.categories["category"])]
    if unknown:
        raise MognadError(f"unknown categor(y/ies) {unknown} in codebook {study.codebook.id}")
    sc = score(resp, codebook=study.codebook, method=method, n_boot=n_boot, seed=seed,
               levels=["category"])
    sc = sc[sc["name"].isin(categories)]
    return sc[["org_id", "round", "name", "score_pct", "ci_low", "ci_high",
               "n_respondents"]].reset_index(drop=True)


def spending_vs_maturity(shares: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """Exploration share next to the DiMiOS categories of the same organisation and year.

    Parameters
    ----------
    shares : DataFrame
        :func:`spending_shares`.
    scores : DataFrame
        :func:`category_scores` (``org_id, round, name, score_pct, ci_low, ci_high``).

    Returns
    -------
    DataFrame
        ``org_id, year, funding_model, exploration_share`` and per category ``<name>_pct``,
        ``<name>_ci_low``, ``<name>_ci_high``; missing where the organisation took no part that
        year.

    Examples
    --------
    >>> sh = pd.DataFrame({"org_id": "0114", "year": [2023, 2024], "funding_model": "central",
    ...                    "exploration_share": [0.3, 0.32]})
    >>> sc = pd.DataFrame({"org_id": "0114", "round": 2024, "name": "innovation",
    ...                    "score_pct": [52.0], "ci_low": [47.0], "ci_high": [57.0]})
    >>> spending_vs_maturity(sh, sc)[["year", "exploration_share", "innovation_pct"]]
       year  exploration_share  innovation_pct
    0  2023               0.30             NaN
    1  2024               0.32            52.0
    """
    base = shares[["org_id", "year", "funding_model", "exploration_share"]].copy()
    if not len(scores):
        return base
    wide = scores.pivot_table(index=["org_id", "round"], columns="name",
                              values=["score_pct", "ci_low", "ci_high"])
    flat = pd.DataFrame(index=wide.index)
    for name in scores["name"].unique():
        flat[f"{name}_pct"] = wide[("score_pct", name)]
        flat[f"{name}_ci_low"] = wide[("ci_low", name)]
        flat[f"{name}_ci_high"] = wide[("ci_high", name)]
    flat = flat.reset_index().rename(columns={"round": "year"})
    flat["year"] = flat["year"].astype("int64")
    return base.merge(flat, on=["org_id", "year"], how="left")


# ============================================================================================
# Choosing the organisations of a governance report
# ============================================================================================
def governance_orgs(study, org_ids: Sequence[str] = (), *, requests: pd.DataFrame | None = None,
                    changes: pd.Series | None = None) -> list[str]:
    """The organisations a governance report compares.

    Given ids are checked against the request log; with none given, every organisation that
    has both a request log and a change of funding model (:func:`funding_change_dates`) in the
    study.
    """
    requests = load_requests(study) if requests is None else requests
    have = sorted(set(requests["org_id"]))
    if org_ids:
        ids = [str(o) for o in org_ids]
        missing = [o for o in ids if o not in have]
        if missing:
            raise MognadError(f"no request log for {missing} in this study; organisations with "
                              f"one: {have or 'none'}")
        return ids
    if changes is None:
        changes = funding_change_dates(study.events, requests=requests)
    ids = [o for o in have if o in set(changes.index)]
    if not ids:
        raise MognadError("no organisation has both a request log and a change of funding model; "
                          "ingest requests.csv and a funding_change event, or give org_ids")
    return ids


