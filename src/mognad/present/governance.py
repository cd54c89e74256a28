"""Tables, sentences and figures of the governance case report
(``notebooks/governance_case.ipynb``).

The analyses are :mod:`mognad.governance`; the numbers of one report are gathered by
:func:`mognad.views.cases.governance_case`. Here codes get their catalogue labels (``gov.*``),
numbers the report language's format, differences their interval in words (clear when it excludes
zero, for ratios one), tables go through the escaping renderer and figures are drawn in the
reports' plot style. Organisation names are data: escaped in tables and text, ``$``-safe on
figures.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from mognad.present import numbers as fmt
from mognad.present.cases import clear, join_names, lead, markdown, page_start, title
from mognad.present.catalogue import text
from mognad.present.markup import Safe, bullets, md_inline
from mognad.present.style import ACCENT, PEER, SERIES, plain, plot_style
from mognad.present.tables import Col, Table, table

#: At most this many characters of an organisation's name in a figure (title, legend).
_NAME_WIDTH = 60

#: The terms of :func:`mognad.governance.funding_effect` a report shows, in order.
TERMS = ("level_change", "slope_change", "mean_change")


def _names(frame: pd.DataFrame, names: Mapping) -> pd.Series:
    return frame["org_id"].map(lambda o: names.get(o, o))


def _periods(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop the "all" rows of organisations that have before/after rows; before first."""
    split = set(frame.loc[frame["period"] != "all", "org_id"])
    out = frame[~((frame["period"] == "all") & frame["org_id"].isin(split))]
    order = out["period"].map({"before": 0, "after": 1, "all": 2})
    return out.assign(_o=order).sort_values(["org_id", "_o"], kind="stable").drop(columns="_o")


# ============================================================================================
# Tables
# ============================================================================================
def gap_table(gap: pd.DataFrame, names: Mapping, lang: str = "sv") -> Table:
    """The capacity gap per organisation and period (:func:`mognad.governance.capacity_gap`)."""
    rows = _periods(gap).assign(name=lambda f: _names(f, names))
    return table(rows, [("name", "gov.col.organisation"),
                        ("period", "gov.col.period", "label:gov.period"),
                        ("n_months", "gov.col.n_months", "int"),
                        ("accepted_per_month", "gov.col.accepted", "number", 1),
                        ("starts_per_month", "gov.col.starts", "number", 1),
                        ("gap_per_month", "gov.col.gap", "signed", 2),
                        (("gap_ci_low", "gap_ci_high"), "gov.col.ci", "interval_number", 2),
                        ("queue_end", "gov.col.queue_end", "int")],
                 lang=lang, note="gov.gap_note")


def littles_table(littles: pd.DataFrame, names: Mapping, lang: str = "sv") -> Table:
    """Little's law per organisation and year (:func:`mognad.governance.littles_law`)."""
    rows = littles.assign(name=lambda f: _names(f, names),
                          year=pd.to_datetime(littles["period_start"]).dt.year)
    return table(rows, [("name", "gov.col.organisation"), ("year", "gov.col.year", "year"),
                        ("arrivals", "gov.col.arrivals", "int"), ("L", "gov.col.L", "number", 1),
                        ("lambda_per_month", "gov.col.lambda", "number", 1),
                        ("W_days", "gov.col.W", "number", 0),
                        ("ratio", "gov.col.ratio", "number", 2),
                        ("censored_share", "gov.col.open_share", "share"),
                        ("consistent", "gov.col.consistent", "yes_no")],
                 lang=lang, note="gov.littles_note")


def _effect_cells(r: Mapping, lang: str) -> tuple[str, str]:
    if r["scale"] == "ratio":
        return (fmt.number(r["estimate"], 2, lang),
                fmt.interval(r["ci_low"], r["ci_high"], 2, lang, unit="number"))
    return (fmt.signed(r["estimate"], 1, lang),
            fmt.interval(r["ci_low"], r["ci_high"], 1, lang, unit="pp"))


def effects_table(effects: pd.DataFrame, names: Mapping, lang: str = "sv") -> Table:
    """The effect of the change of funding model (:func:`mognad.governance.funding_effect`):
    level and slope change and the before/after difference per outcome."""
    rows = effects[effects["term"].isin(TERMS)].copy()
    rows["_t"] = rows["term"].map({t: i for i, t in enumerate(TERMS)})
    rows = rows.sort_values(["org_id", "outcome", "_t"], kind="stable")
    cells = [_effect_cells(r, lang) for r in rows.to_dict("records")]
    rows["_est"] = [c[0] for c in cells]
    rows["_ci"] = [c[1] for c in cells]
    rows["name"] = _names(rows, names)
    return table(rows, [("name", "gov.col.organisation"),
                        ("outcome", "gov.col.outcome", "label:gov.outcome"),
                        ("term", "gov.col.term", "label:gov.term"),
                        Col("_est", "gov.col.estimate", "formatted"),
                        Col("_ci", "gov.col.ci", "formatted"),
                        ("n_before", "gov.col.n_before", "int"),
                        ("n_after", "gov.col.n_after", "int")], lang=lang, note="gov.its_note")


def lead_table(summary: pd.DataFrame, names: Mapping, lang: str = "sv") -> Table:
    """Kaplan-Meier quantiles of the lead time (:func:`mognad.governance.lead_time_summary`)."""
    rows = _periods(summary).assign(name=lambda f: _names(f, names))
    return table(rows, [("name", "gov.col.organisation"),
                        ("period", "gov.col.period", "label:gov.period"),
                        ("n", "gov.col.n", "int"), ("n_censored", "gov.col.n_censored", "int"),
                        ("q50", "gov.col.median", "number", 0),
                        (("q50_ci_low", "q50_ci_high"), "gov.col.ci", "interval_number", 0),
                        ("q75", "gov.col.q75", "number", 0), ("q90", "gov.col.q90", "number", 0)],
                 lang=lang, note="gov.leadtime_note")


def maturity_table(both: pd.DataFrame, names: Mapping, lang: str = "sv") -> Table:
    """The development share next to DiMiOS innovation and effektivitet
    (:func:`mognad.governance.spending_vs_maturity`)."""
    rows = both.assign(name=lambda f: _names(f, names))
    cols = [("name", "gov.col.organisation"), ("year", "gov.col.year", "year"),
            ("funding_model", "gov.col.funding_model", "label:gov.funding_model"),
            ("exploration_share", "gov.col.development_share", "share")]
    for cat in ("innovation", "effektivitet"):
        if f"{cat}_pct" in rows:
            cols += [(f"{cat}_pct", f"gov.col.{cat}", "pct"),
                     ((f"{cat}_ci_low", f"{cat}_ci_high"), "gov.col.ci", "interval")]
    return table(rows, cols, lang=lang)


# ============================================================================================
# Sentences
# ============================================================================================
def gap_sentences(gap: pd.DataFrame, names: Mapping, lang: str = "sv") -> Safe:
    """Per organisation and period: the queue clearly grows, clearly shrinks, or neither."""
    out = []
    for r in _periods(gap).to_dict("records"):
        verdict = clear(r["gap_ci_low"], r["gap_ci_high"])
        key = ("gov.gap_unclear" if not verdict else
               "gov.gap_growing" if r["gap_per_month"] > 0 else "gov.gap_shrinking")
        value = abs(r["gap_per_month"]) if verdict else r["gap_per_month"]
        out.append(md_inline(key, lang, name=names.get(r["org_id"], r["org_id"]),
                             period=text(f"gov.period_long.{r['period']}", lang),
                             gap=fmt.number(value, 2, lang) if verdict
                             else fmt.signed(value, 2, lang),
                             lo=fmt.signed(r["gap_ci_low"], 2, lang),
                             hi=fmt.signed(r["gap_ci_high"], 2, lang)))
    return bullets(out)


def capacity_sentences(need: pd.DataFrame, names: Mapping, lang: str = "sv"):
    """One sentence per organisation from :func:`mognad.governance.capacity_needed`."""
    out = []
    for r in need.to_dict("records"):
        out.append(md_inline(
            "gov.capacity_bullet", lang, name=names.get(r["org_id"], r["org_id"]),
            accepted=fmt.number(r["accepted_per_month"], 1, lang),
            lo=fmt.number(r["accepted_ci_low"], 1, lang),
            hi=fmt.number(r["accepted_ci_high"], 1, lang),
            capacity=fmt.number(r["capacity_per_month"], 1, lang),
            queue=fmt.integer(r["queue_now"], lang), months=fmt.integer(r["horizon_months"], lang),
            needed=fmt.number(r["capacity_needed"], 1, lang),
            extra=fmt.pct(r["extra_capacity_pct"], 0, lang)))
    return markdown(md_inline("gov.capacity", lang), bullets(out))


def effect_sentences(effects: pd.DataFrame, names: Mapping, changes: Mapping,
                     lang: str = "sv") -> Safe:
    """Per organisation: the before/after change of arrivals (a ratio), decision time and lead
    time (days), each with its interval and whether it is clear."""
    out = []
    changes = dict(changes)
    for org in dict.fromkeys(effects["org_id"]):
        e = effects[(effects["org_id"] == org) & (effects["term"] == "mean_change")]
        e = e.set_index("outcome")

        def get(outcome, col, e=e):
            return e.at[outcome, col] if outcome in e.index else np.nan

        def verdict(outcome, null, get=get):
            flag = clear(get(outcome, "ci_low"), get(outcome, "ci_high"), null=null)
            return text("gov.clear" if flag else "gov.unclear", lang)

        out.append(md_inline(
            "gov.its_bullet", lang, name=names.get(org, org), date=fmt.date(changes.get(org)),
            rr=fmt.number(get("arrivals", "estimate"), 2, lang),
            rr_lo=fmt.number(get("arrivals", "ci_low"), 2, lang),
            rr_hi=fmt.number(get("arrivals", "ci_high"), 2, lang),
            rr_verdict=verdict("arrivals", 1.0),
            dec=fmt.signed(get("decision_days", "estimate"), 0, lang),
            dec_lo=fmt.signed(get("decision_days", "ci_low"), 0, lang),
            dec_hi=fmt.signed(get("decision_days", "ci_high"), 0, lang),
            dec_verdict=verdict("decision_days", 0.0),
            lead=fmt.signed(get("lead_time_days", "estimate"), 0, lang),
            lead_lo=fmt.signed(get("lead_time_days", "ci_low"), 0, lang),
            lead_hi=fmt.signed(get("lead_time_days", "ci_high"), 0, lang),
            lead_verdict=verdict("lead_time_days", 0.0)))
    return bullets(out)


def spending_sentences(change: pd.DataFrame, names: Mapping, lang: str = "sv") -> Safe:
    """Per organisation: the development share before and after the change, with the
    difference's Welch interval in words."""
    out = []
    for r in change.to_dict("records"):
        flag = clear(r["ci_low"], r["ci_high"])
        out.append(md_inline(
            "gov.spending_bullet", lang, name=names.get(r["org_id"], r["org_id"]),
            before=fmt.share(r["mean_before"], 0, lang), after=fmt.share(r["mean_after"], 0, lang),
            change=fmt.pp(100 * r["change"], 1, lang), lo=fmt.signed(100 * r["ci_low"], 1, lang),
            hi=fmt.signed(100 * r["ci_high"], 1, lang),
            verdict=text("gov.clear" if flag else "gov.unclear", lang)))
    return bullets(out)


# ============================================================================================
# Figures
# ============================================================================================
def _mark(ax, change) -> None:
    if change is not None and not pd.isna(change):
        ax.axvline(pd.Timestamp(change), color="0.3", ls="--", lw=1)


def flow_figure(flow: pd.DataFrame, *, names: Mapping, changes: Mapping | None = None,
                rolling: int = 3, lang: str = "sv"):
    """Demand against delivery, one row per organisation: monthly arrivals, starts and
    completions (``rolling``-month means) on the left, the queue and all open requests at month
    end on the right; the change of funding model dashed.

    Examples
    --------
    >>> flow = pd.DataFrame({"org_id": "0114", "month": pd.date_range("2024-01-01",
    ...     periods=6, freq="MS"), "arrivals": 5, "starts": 4, "completions": 4,
    ...     "queue": range(6), "backlog": range(2, 8)})
    >>> len(flow_figure(flow, names={"0114": "Asknäs"}).axes)
    2
    """
    import matplotlib.pyplot as plt

    orgs = list(dict.fromkeys(flow["org_id"]))
    changes = {} if changes is None else dict(changes)
    with plot_style():
        fig, grid = plt.subplots(len(orgs), 2, figsize=(7.4, 1.3 * len(orgs) + 0.45),
                                 squeeze=False, sharex=True)
        for i, org in enumerate(orgs):
            g = flow[flow["org_id"] == org].sort_values("month")
            ax = grid[i, 0]
            for col, colour in (("arrivals", SERIES[0]), ("starts", SERIES[2]),
                                ("completions", SERIES[3])):
                ax.plot(g["month"], g[col].rolling(rolling, min_periods=1).mean(), color=colour,
                        lw=1.3, label=text(f"gov.series.{col}", lang))
            ax.set_title(plain(names.get(org, org), width=_NAME_WIDTH), loc="left", fontsize=9)
            ax.set_ylabel(text("gov.axis_per_month", lang), fontsize=8)
            _mark(ax, changes.get(org))
            ax = grid[i, 1]
            ax.fill_between(g["month"], 0, g["backlog"], color=SERIES[0], alpha=0.15,
                            label=text("gov.series.backlog", lang))
            ax.plot(g["month"], g["queue"], color=ACCENT, lw=1.3,
                    label=text("gov.series.queue", lang))
            ax.set_ylabel(text("gov.axis_count", lang), fontsize=8)
            _mark(ax, changes.get(org))
        for ax in grid.ravel():
            ax.tick_params(labelsize=7)
        h0, l0 = grid[0, 0].get_legend_handles_labels()
        h1, l1 = grid[0, 1].get_legend_handles_labels()
        fig.legend(h0 + h1, l0 + l1, loc="upper center", ncol=5, fontsize=7,
                   bbox_to_anchor=(0.5, 1.0))
        fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / (1.3 * len(orgs) + 0.45)))
    return fig


def its_figure(series: Mapping, *, names: Mapping, changes: Mapping,
               outcomes=("arrivals", "lead_time_days"), lang: str = "sv"):
    """The interrupted time series of :func:`mognad.governance.funding_effect`: the monthly
    values, the segmented fit and the counterfactual (the pre-change trend continued, dashed).

    Parameters
    ----------
    series : mapping
        ``{(org_id, outcome): its_series(...)}`` (:func:`mognad.governance.its_series`).
    """
    import matplotlib.pyplot as plt

    orgs = list(dict.fromkeys(o for o, _ in series))
    with plot_style():
        fig, grid = plt.subplots(max(len(orgs), 1), len(outcomes),
                                 figsize=(7.4, 1.5 * max(len(orgs), 1) + 0.5), squeeze=False)
        for i, org in enumerate(orgs):
            for j, outcome in enumerate(outcomes):
                ax = grid[i, j]
                s = series.get((org, outcome))
                if s is None or not len(s):
                    ax.set_visible(False)
                    continue
                ax.plot(s["month"], s["y"], "o", ms=2.5, color=SERIES[0], alpha=0.6,
                        label=text("gov.series.observed", lang))
                ax.plot(s["month"], s["fitted"], color=ACCENT, lw=1.8,
                        label=text("gov.series.fitted", lang))
                post = s[s["after"]]
                ax.plot(post["month"], post["counterfactual"], color=ACCENT, ls="--", lw=1.1,
                        label=text("gov.series.counterfactual", lang))
                _mark(ax, dict(changes).get(org))
                if i == 0:
                    ax.set_title(text(f"gov.outcome.{outcome}", lang), fontsize=8.5)
                if j == 0:
                    ax.set_ylabel(plain(names.get(org, org), width=_NAME_WIDTH), fontsize=8.5)
                ax.tick_params(labelsize=7)
        handles, labels = grid[0, 0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="upper center", ncol=3, fontsize=7,
                   bbox_to_anchor=(0.5, 1.0))
        fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / (1.5 * max(len(orgs), 1) + 0.5)))
    return fig


def lead_figure(curves: pd.DataFrame, *, names: Mapping, lang: str = "sv"):
    """Kaplan-Meier curves of the lead time before and after the change, one panel per
    organisation (:func:`mognad.governance.survival_curves`)."""
    import matplotlib.pyplot as plt

    orgs = list(dict.fromkeys(curves["org_id"]))
    with plot_style():
        fig, grid = plt.subplots(1, max(len(orgs), 1), figsize=(7.4, 2.6), squeeze=False,
                                 sharey=True)
        for j, org in enumerate(orgs):
            ax = grid[0, j]
            g = curves[curves["org_id"] == org]
            for k, (period, sub) in enumerate(g.groupby("period", sort=False)):
                ax.step(sub["days"], sub["survival"], where="post", color=SERIES[k],
                        label=f"{text(f'gov.period_long.{period}', lang)} "
                              f"(n = {fmt.integer(sub['n'].iloc[0], lang)})")
            ax.set_title(plain(names.get(org, org), width=_NAME_WIDTH), loc="left", fontsize=9)
            ax.set_xlabel(text("gov.axis_days", lang), fontsize=8)
            ax.tick_params(labelsize=7)
            ax.legend(fontsize=7)
        grid[0, 0].set_ylabel(text("gov.axis_not_done", lang), fontsize=8)
        fig.tight_layout()
    return fig


def spending_figure(shares: pd.DataFrame, *, focus, names: Mapping, changes: Mapping,
                    scores: pd.DataFrame | None = None, lang: str = "sv"):
    """The development share per year of the organisations in focus (colours) against the
    other organisations (grey); with *scores* (:func:`mognad.governance.category_scores`) a
    second panel with DiMiOS innovation (solid) and effektivitet (dotted)."""
    import matplotlib.pyplot as plt

    focus = list(focus)
    ncol = 2 if scores is not None and len(scores) else 1
    changes = dict(changes)
    with plot_style():
        fig, grid = plt.subplots(1, ncol, figsize=(7.4, 2.9), squeeze=False)
        ax = grid[0, 0]
        first = True
        for org, g in shares.groupby("org_id"):
            if org in focus:
                continue
            ax.plot(g["year"], 100 * g["exploration_share"], color=PEER, lw=0.8, alpha=0.6,
                    label=text("gov.series.peers", lang) if first else None)
            first = False
        for k, org in enumerate(focus):
            g = shares[shares["org_id"] == org]
            ax.plot(g["year"], 100 * g["exploration_share"], "o-", ms=3, color=SERIES[k],
                    label=plain(names.get(org, org), width=_NAME_WIDTH))
            if org in changes:
                ax.axvline(pd.Timestamp(changes[org]).year - 0.5, color=SERIES[k], ls="--",
                           lw=1)
        ax.set_ylabel(text("gov.axis_share", lang), fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7)
        if ncol == 2:
            ax = grid[0, 1]
            for k, org in enumerate(focus):
                for cat, ls in (("innovation", "-"), ("effektivitet", ":")):
                    g = scores[(scores["org_id"] == org) & (scores["name"] == cat)]
                    if not len(g):
                        continue
                    g = g.sort_values("round")
                    ax.errorbar(g["round"] + 0.08 * k, g["score_pct"],
                                yerr=[g["score_pct"] - g["ci_low"], g["ci_high"] - g["score_pct"]],
                                fmt="o", ls=ls, ms=3, color=SERIES[k], capsize=2,
                                label=f"{plain(names.get(org, org), width=_NAME_WIDTH)}: "
                                      f"{text(f'gov.series.{cat}', lang)}")
            ax.set_ylabel(text("gov.axis_score", lang), fontsize=8)
            ax.tick_params(labelsize=7)
            ax.legend(fontsize=6.5)
        fig.tight_layout()
    return fig


# ============================================================================================
# Report sections (each returns its outputs in order, for ``display(*...)``)
# ============================================================================================
def header(case, lang: str = "sv") -> list:
    """Style sheet and banner, title, introduction and the dates of the changes
    (*case*: :class:`mognad.views.cases.GovernanceCase`)."""
    names = [case.names.get(o, o) for o in case.org_ids]
    items = [text("gov.change_item", lang, name=case.names.get(o, o), date=fmt.date(d))
             for o, d in case.changes.items()]
    return [page_start(case.synthetic, lang, title="gov.title", names=join_names(names, lang)),
            markdown(title("gov.title", lang, names=join_names(names, lang)),
                     md_inline("gov.intro", lang),
                     md_inline("gov.changes", lang, changes=join_names(items, lang))
                     if items else "")]


def flow_section(case, lang: str = "sv") -> list:
    """Demand and delivery month by month."""
    return [lead(md_inline("gov.flow", lang),
                 flow_figure(case.flow, names=case.names, changes=case.changes, lang=lang))]


def gap_section(case, lang: str = "sv") -> list:
    """The capacity gap before and after the change, in words and as a table."""
    return [lead(md_inline("gov.gap", lang), gap_sentences(case.gap, case.names, lang),
                 gap_table(case.gap, case.names, lang))]


def capacity_section(case, lang: str = "sv") -> list:
    """The capacity needed to stabilise and to shorten the queue."""
    return [capacity_sentences(case.need, case.names, lang)]


def littles_section(case, lang: str = "sv") -> list:
    """Little's law per year."""
    return [lead(md_inline("gov.littles", lang), littles_table(case.littles, case.names, lang))]


def effect_section(case, lang: str = "sv") -> list:
    """The interrupted time series: text, sentences, figure and table."""
    return [lead(md_inline("gov.its", lang),
                 its_figure(case.its, names=case.names, changes=case.changes, lang=lang)),
            markdown(effect_sentences(case.effects, case.names, case.changes, lang)),
            effects_table(case.effects, case.names, lang)]


def leadtime_section(case, lang: str = "sv") -> list:
    """Kaplan-Meier lead times before and after the change."""
    return [lead(md_inline("gov.leadtime", lang),
                 lead_figure(case.curves, names=case.names, lang=lang)),
            lead_table(case.lead_summary, case.names, lang)]


def spending_section(case, lang: str = "sv") -> list:
    """Development or maintenance: the share of spending on development, and against the
    DiMiOS categories."""
    if not len(case.shares):
        return [markdown(md_inline("gov.no_budgets", lang))]
    return [lead(md_inline("gov.spending", lang),
                 spending_figure(case.shares, focus=case.org_ids, names=case.names,
                                 changes=case.changes, scores=case.scores, lang=lang)),
            markdown(spending_sentences(case.spending, case.names, lang)),
            lead(md_inline("gov.maturity", lang), maturity_table(case.maturity, case.names, lang))]


__all__ = ["TERMS", "capacity_section", "capacity_sentences", "effect_section",
           "effect_sentences", "effects_table", "flow_figure", "flow_section", "gap_section",
           "gap_sentences", "gap_table", "header", "its_figure", "lead_figure", "lead_table",
           "leadtime_section", "littles_section", "littles_table", "maturity_table",
           "spending_figure", "spending_section", "spending_sentences"]
