"""Tables, sentences and figures of the DIOS reports (``notebooks/dios_report.ipynb`` and
``notebooks/dios_national.ipynb``).

The analyses are :mod:`mognad.dios` (numbers and codes); here the codes get their catalogue labels
(``dios.*`` keys in ``present/locale/*.yaml``), numbers the report language's format
(:mod:`mognad.present.numbers`), every table goes through the escaping renderer
(:func:`mognad.present.tables.table`; system, vendor, product, domain and organisation names are
data) and every figure is drawn in the reports' plot style on ``ax`` or a new figure. Amounts in
tables are in thousands of kronor (``tkr``) so that a column reads in one unit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from mognad.present import numbers as fmt
from mognad.present.cases import clear, join_names, lead, markdown, page_start, title
from mognad.present.catalogue import text
from mognad.present.markup import Safe, bullets, md_inline
from mognad.present.style import ACCENT, OWN, PEER, SERIES, axes, plain, plot_style
from mognad.present.tables import Col, Table, table

#: Colours of the TIME actions (green: keep, orange: migrate, red: eliminate).
TIME_COLOURS = {"invest": "#1b7837", "tolerate": "#5aae61", "migrate": "#e08214",
                "eliminate": "#b2182b", "unassessed": "#999999"}
TIME_ORDER = ("invest", "tolerate", "migrate", "eliminate", "unassessed")
REQUIREMENT_ORDER = ("data_ownership", "open_standards", "open_api", "all")
#: How each measure of :func:`mognad.dios.peer_comparison` is shown: (kind, decimals).
MEASURE_FORMAT = {"legacy_index": ("number", 1), "low_quality_share": ("share", 0),
                  "non_compliant_share": ("share", 0), "old_share": ("share", 0),
                  "mean_quality": ("number", 2), "mean_technical_quality": ("number", 2),
                  "mean_functional_quality": ("number", 2), "mean_age": ("number", 1)}


def _lower_first(label: str) -> str:
    return label[:1].lower() + label[1:]


def _value(x, kind: str, decimals: int, lang: str) -> str:
    return fmt.share(x, decimals, lang) if kind == "share" else fmt.number(x, decimals, lang)


# ============================================================================================
# Tables
# ============================================================================================
def time_table(summary: pd.DataFrame, lang: str = "sv") -> Table:
    """Systems and annual cost per TIME action (:func:`mognad.dios.portfolio_summary`)."""
    return table(summary, [("time", "dios.col.time", "label:dios.time"),
                           ("n_systems", "dios.col.n_systems", "int"),
                           ("share", "dios.col.share", "share"),
                           ("cost_sek", "dios.col.cost", "sek_k"),
                           ("cost_share", "dios.col.cost_share", "share")], lang=lang)


def freed_table(freed: pd.DataFrame, lang: str = "sv") -> Table:
    """Candidates and freed annual cost per scenario (:func:`mognad.dios.freed_cost`)."""
    return table(freed, [("scenario", "dios.col.scenario", "label:dios.scenario"),
                         ("n_candidates", "dios.col.n_candidates", "int"),
                         ("freed_cost_sek", "dios.col.freed_cost", "sek_k"),
                         ("freed_share", "dios.col.freed_share", "share")], lang=lang)


def candidates_table(candidates: pd.DataFrame, lang: str = "sv") -> Table:
    """The decommissioning candidates of one scenario, largest freed cost first."""
    return table(candidates, [("system_name", "dios.col.system"),
                              ("domain", "dios.col.domain"), ("vendor", "dios.col.vendor"),
                              ("reason", "dios.col.reason", "label:dios.reason"),
                              ("annual_cost_sek", "dios.col.cost", "sek_k"),
                              ("freed_cost_sek", "dios.col.freed_cost", "sek_k")],
                 lang=lang, empty="dios.no_candidates")


def compliance_table(versus: pd.DataFrame, lang: str = "sv") -> Table:
    """One organisation against the others per must-requirement
    (:func:`mognad.dios.compliance_vs_others`): shares and the difference with its interval."""
    rows = versus.assign(diff_pp=100 * versus["difference"],
                         diff_lo=100 * versus["diff_ci_low"], diff_hi=100 * versus["diff_ci_high"])
    return table(rows, [("requirement", "dios.col.requirement", "label:dios.requirement"),
                        ("n_known", "dios.col.n_known", "int"),
                        ("share", "dios.col.own_share", "share"),
                        ("others_share", "dios.col.others_share", "share"),
                        ("diff_pp", "dios.col.difference", "pp", 1),
                        (("diff_lo", "diff_hi"), "dios.col.ci", "interval_pp", 1)],
                 lang=lang, highlight=(rows["requirement"] == "all").tolist())


def compliance_sentences(versus: pd.DataFrame, lang: str = "sv") -> Safe:
    """Per requirement: clearly lower, clearly higher or within the statistical uncertainty."""
    out = []
    for r in versus.to_dict("records"):
        req = text(f"dios.requirement.{r['requirement']}", lang)
        verdict = clear(r["diff_ci_low"], r["diff_ci_high"])
        if verdict is None:
            out.append(md_inline("dios.compliance_unknown", lang, requirement=req))
            continue
        key = ("dios.compliance_unclear" if not verdict else
               "dios.compliance_lower" if r["difference"] < 0 else "dios.compliance_higher")
        out.append(md_inline(key, lang, requirement=req, own=fmt.share(r["share"], 0, lang),
                             others=fmt.share(r["others_share"], 0, lang),
                             diff=fmt.pp(100 * r["difference"], 1, lang),
                             lo=fmt.signed(100 * r["diff_ci_low"], 1, lang),
                             hi=fmt.signed(100 * r["diff_ci_high"], 1, lang)))
    return bullets(out)


def peers_table(peers: pd.DataFrame, lang: str = "sv") -> Table:
    """The legacy index and its parts against the other organisations
    (:func:`mognad.dios.peer_comparison`); each measure in its own unit."""
    rows = peers.copy()
    shown = {"value": [], "median": [], "iqr": []}
    for r in rows.to_dict("records"):
        kind, d = MEASURE_FORMAT.get(r["measure"], ("number", 2))
        shown["value"].append(_value(r["value"], kind, d, lang))
        shown["median"].append(_value(r["peer_median"], kind, d, lang))
        shown["iqr"].append(fmt.interval(r["peer_q1"], r["peer_q3"], d, lang,
                                         unit="share" if kind == "share" else "number"))
    for k, v in shown.items():
        rows[f"_{k}"] = v
    return table(rows, [("measure", "dios.col.measure", "label:dios.measure"),
                        Col("_value", "dios.col.value", "formatted"),
                        Col("_median", "dios.col.peer_median", "formatted"),
                        Col("_iqr", "dios.col.peer_iqr", "formatted"),
                        ("better_than_share", "dios.col.better_than", "share")],
                 lang=lang, note="dios.peers_note",
                 highlight=(rows["measure"] == "legacy_index").tolist())


def products_table(products: pd.DataFrame, *, org_id: str, lang: str = "sv") -> Table:
    """The organisation's products that others use too (:func:`mognad.dios.product_comparison`
    with ``org_id``): cost against the size class and the quality rank among the users."""
    rows = products[products["org_id"].astype(str) == str(org_id)].copy()
    rows["_rank"] = [fmt.MISSING if fmt.is_missing(q) else
                     text("dios.rank_of", lang, rank=fmt.integer(q, lang),
                          n=fmt.integer(n, lang))
                     for q, n in zip(rows.get("quality_rank", pd.Series(np.nan, rows.index)),
                                     rows["n_orgs"], strict=True)]
    cols = [("product", "dios.col.product"), ("n_orgs", "dios.col.n_orgs", "int"),
            ("cost_sek", "dios.col.cost", "sek_k"),
            ("cost_vs_size_peers", "dios.col.cost_vs_size", "number", 2)]
    for q in ("technical_quality", "functional_quality"):
        if q in rows:
            cols.append((q, f"dios.col.{q}", "number", 1))
    cols.append(Col("_rank", "dios.col.quality_rank", "formatted"))
    return table(rows, cols, lang=lang, empty="dios.no_products", note="dios.products_note")


def age_table(detail: pd.DataFrame, lang: str = "sv") -> Table:
    """Systems per age band and lifecycle phase (:func:`mognad.dios.age_profile` with
    ``detail=True``), one row per band, and their annual cost."""
    d = detail.copy()
    d["lifecycle"] = d["lifecycle"].where(d["lifecycle"].notna(), "_unknown")
    counts = d.pivot_table(index="age_band", columns="lifecycle", values="n_systems",
                           aggfunc="sum", fill_value=0, sort=False)
    bands = list(dict.fromkeys(d["age_band"]))
    counts = counts.reindex(bands)
    phases = [p for p in ("införande", "förvaltning", "avveckling", "_unknown")
              if p in counts.columns]
    rows = counts[phases].reset_index()
    rows["total"] = counts[phases].sum(axis=1).to_numpy()
    rows["cost"] = d.groupby("age_band", sort=False)["cost_sek"].sum().reindex(bands).to_numpy()
    cols = [("age_band", "dios.col.age_band")]
    cols += [(p, "dios.col.lifecycle_unknown" if p == "_unknown" else f"dios.lifecycle.{p}",
              "int") for p in phases]
    cols += [("total", "dios.col.total", "int"), ("cost", "dios.col.cost", "sek_k")]
    return table(rows, cols, lang=lang)


def concentration_table(by_orgs: pd.DataFrame, by_cost: pd.DataFrame | None = None,
                        lang: str = "sv", *, region: str | None = None) -> Table:
    """HHI and the top vendor per business domain (:func:`mognad.dios.vendor_concentration`),
    with the cost-based HHI beside it when *by_cost* is given; most concentrated first."""
    keys = ([region] if region else []) + ["domain"]
    rows = by_orgs.copy()
    if by_cost is not None:
        rows = rows.merge(by_cost[[*keys, "hhi"]].rename(columns={"hhi": "hhi_cost"}), on=keys,
                          how="left")
    rows = rows.sort_values([*([region] if region else []), "hhi"],
                            ascending=[*([True] if region else []), False])
    cols = ([(region, "dios.col.county")] if region else []) + [
        ("domain", "dios.col.domain"), ("n_orgs", "dios.col.n_orgs", "int"),
        ("n_vendors", "dios.col.n_vendors", "int"), ("hhi", "dios.col.hhi", "int"),
        ("top_vendor", "dios.col.top_vendor"), ("top_share", "dios.col.top_share", "share")]
    if by_cost is not None:
        cols.append(("hhi_cost", "dios.col.hhi_cost", "int"))
    return table(rows, cols, lang=lang, note="dios.concentration_note")


def domain_compliance_table(by_domain: pd.DataFrame, lang: str = "sv") -> Table:
    """Per business domain the share of systems meeting all three must-requirements."""
    rows = by_domain[by_domain["requirement"] == "all"].sort_values("share")
    return table(rows, [("domain", "dios.col.domain"), ("n_known", "dios.col.n_known", "int"),
                        ("n_compliant", "dios.col.compliant_all", "int"),
                        ("share", "dios.col.share", "share"),
                        (("ci_low", "ci_high"), "dios.col.ci", "interval_share")], lang=lang)


def domain_age_table(ages: pd.DataFrame, lang: str = "sv") -> Table:
    """Age and lifecycle per business domain (:func:`mognad.dios.age_profile` by domain)."""
    return table(ages.sort_values("age_mean", ascending=False),
                 [("domain", "dios.col.domain"), ("n_systems", "dios.col.n_systems", "int"),
                  ("age_mean", "dios.col.mean_age", "number", 1),
                  ("age_median", "dios.col.median_age", "number", 1),
                  ("old_share", "dios.col.old_share", "share"),
                  ("old_cost_share", "dios.col.old_cost_share", "share"),
                  ("share_avveckling", "dios.col.decommissioning_share", "share")], lang=lang)


def legacy_table(index: pd.DataFrame, names: Mapping, lang: str = "sv") -> Table:
    """The legacy index and its parts per organisation, lightest legacy first."""
    rows = index.assign(name=index["org_id"].map(lambda o: names.get(o, o)))
    return table(rows.sort_values("legacy_index"),
                 [("name", "dios.col.organisation"), ("n_systems", "dios.col.n_systems", "int"),
                  ("legacy_index", "dios.col.legacy_index", "number", 1),
                  ("low_quality_share", "dios.col.low_quality", "share"),
                  ("non_compliant_share", "dios.col.non_compliant", "share"),
                  ("old_share", "dios.col.old", "share"),
                  ("mean_quality", "dios.col.mean_quality", "number", 2)], lang=lang)


# ============================================================================================
# Sentences
# ============================================================================================
def summary(*, candidates: pd.DataFrame, total_cost: float, versus: pd.DataFrame,
            peers: pd.DataFrame, lang: str = "sv"):
    """The report's summary: candidates to eliminate and their cost, which must-requirements
    differ clearly from the other organisations', and the legacy index against peers."""
    items = []
    main = candidates[candidates["scenario"] == "eliminate"] if "scenario" in candidates \
        else candidates
    if len(main):
        cost = float(main["freed_cost_sek"].sum())
        items.append(md_inline("dios.summary_candidates", lang, n=fmt.integer(len(main), lang),
                               cost=fmt.sek(cost, lang),
                               share=fmt.share(cost / total_cost if total_cost else np.nan, 0,
                                               lang)))
    else:
        items.append(md_inline("dios.summary_no_candidates", lang))
    flags = [clear(lo, hi) for lo, hi in zip(versus["diff_ci_low"], versus["diff_ci_high"],
                                             strict=True)]
    reqs = versus.loc[[bool(f) for f in flags], "requirement"]
    reqs = [r for r in reqs if r != "all"]
    if reqs:
        which = [_lower_first(text(f"dios.requirement.{r}", lang)) + " (" + (
            text("dios.lower", lang) if float(versus.set_index("requirement").at[r, "difference"])
            < 0 else text("dios.higher", lang)) + ")" for r in reqs]
        items.append(md_inline("dios.summary_compliance", lang, n_clear=fmt.integer(len(reqs)),
                               which=join_names(which, lang)))
    else:
        items.append(md_inline("dios.summary_compliance_none", lang))
    li = peers[peers["measure"] == "legacy_index"]
    if len(li) and int(li["n_peers"].iloc[0]) > 0:
        r = li.iloc[0]
        items.append(md_inline("dios.summary_legacy", lang, value=fmt.number(r["value"], 1, lang),
                               better=fmt.share(r["better_than_share"], 0, lang),
                               n=fmt.integer(r["n_peers"], lang)))
    return markdown(md_inline("dios.summary", lang), bullets(items))


def legacy_link_text(link, *, lang: str = "sv", year: int | None = None,
                     n_orgs: int | None = None):
    """The sentence on :func:`mognad.dios.legacy_vs_survey`: the correlation and the slope with
    their intervals, and in words whether inventory and survey agree (or too few to tell)."""
    if link is None:
        return markdown(md_inline("dios.no_link", lang, year=fmt.year(year),
                                  n=fmt.integer(n_orgs, lang)))
    r = link.correlations.set_index("method")
    slope = link.regression.set_index("term").loc[link.measure]
    lo, hi = r.at["pearson", "ci_low"], r.at["pearson", "ci_high"]
    verdict = clear(lo, hi)
    key = ("dios.verdict_unclear" if not verdict else
           "dios.verdict_negative" if hi < 0 else "dios.verdict_positive")
    return markdown(md_inline(
        "dios.legacy_summary", lang, r=fmt.number(r.at["pearson", "estimate"], 2, lang),
        lo=fmt.number(lo, 2, lang), hi=fmt.number(hi, 2, lang), n=fmt.integer(link.n, lang),
        rho=fmt.number(r.at["spearman", "estimate"], 2, lang),
        slope=fmt.signed(slope["coef"], 2, lang), slo=fmt.signed(slope["ci_low"], 2, lang),
        shi=fmt.signed(slope["ci_high"], 2, lang), verdict=Safe(text(key, lang))))


# ============================================================================================
# Figures
# ============================================================================================
def plot_portfolio(port: pd.DataFrame, *, ax=None, lang: str = "sv",
                   thresholds: Mapping[str, float] | None = None, seed: int = 0,
                   importance: str = "importance", size: str | None = "annual_cost_sek"):
    """The TIME portfolio: quality (x) against importance (y), one point per system.

    Points are jittered a little (seeded: the figure is reproducible) because ratings are whole
    numbers; their area follows the annual cost. The quadrant lines lie between the last low and
    the first high value; the quadrants carry their action. Unassessed systems cannot be placed
    and are counted in the corner.

    Parameters
    ----------
    port : DataFrame
        :func:`mognad.dios.portfolio` output.
    thresholds : mapping, optional
        The thresholds used for *port* (default 3 and 3).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> port = pd.DataFrame({"importance": [4, 1, 2], "quality_score": [3.5, 1.0, None],
    ...                      "time": ["invest", "eliminate", "unassessed"],
    ...                      "annual_cost_sek": [1e5, 2e5, 3e4]})
    >>> fig = plot_portfolio(port)
    >>> sorted(t.get_text() for t in fig.axes[0].get_legend().get_texts())
    ['Eliminera (1)', 'Investera (1)']
    """
    thr = {"importance": 3.0, "quality": 3.0} | dict(thresholds or {})
    rng = np.random.default_rng(seed)
    placed = port[port["time"] != "unassessed"]
    x = pd.to_numeric(placed["quality_score"], errors="coerce").to_numpy(float)
    y = pd.to_numeric(placed[importance], errors="coerce").to_numpy(float)
    x = x + rng.uniform(-0.12, 0.12, len(placed))
    y = y + rng.uniform(-0.12, 0.12, len(placed))
    if size is not None and size in placed and len(placed):
        c = pd.to_numeric(placed[size], errors="coerce").to_numpy(float)
        med = np.nanmedian(c) if np.isfinite(c).any() else np.nan
        ref = med if np.isfinite(med) and med > 0 else 1.0
        s = np.clip(60 * np.sqrt(np.nan_to_num(c, nan=ref) / ref), 12, 400)
    else:
        s = np.full(len(placed), 60.0)
    with plot_style():
        fig, ax = axes(ax, figsize=(4.9, 3.9))
        for action in TIME_ORDER[:4]:
            m = (placed["time"] == action).to_numpy()
            if m.any():
                ax.scatter(x[m], y[m], s=s[m], color=TIME_COLOURS[action], alpha=0.75,
                           edgecolor="white", linewidth=0.6,
                           label=f"{text(f'dios.time.{action}', lang)} ({int(m.sum())})")
        ax.axvline(thr["quality"] - 0.25, color="0.3", lw=1, ls="--")
        ax.axhline(thr["importance"] - 0.25, color="0.3", lw=1, ls="--")
        ax.set(xlim=(0.6, 4.4), ylim=(0.6, 4.4), xticks=[1, 2, 3, 4], yticks=[1, 2, 3, 4])
        corners = {"migrate": (0.65, 4.35, "left", "top"),
                   "invest": (4.35, 4.35, "right", "top"),
                   "eliminate": (0.65, 0.65, "left", "bottom"),
                   "tolerate": (4.35, 0.65, "right", "bottom")}
        for action, (cx, cy, ha, va) in corners.items():
            ax.text(cx, cy, text(f"dios.time.{action}", lang).upper(), ha=ha, va=va,
                    fontsize=10, fontweight="bold", color=TIME_COLOURS[action], alpha=0.9)
        n_un = int((port["time"] == "unassessed").sum())
        if n_un:
            ax.text(1.0, 1.01, text("dios.unassessed_note", lang, n=fmt.integer(n_un, lang)),
                    transform=ax.transAxes, ha="right", va="bottom", fontsize=8, color="0.3")
        ax.set_xlabel(text("dios.axis_quality", lang))
        ax.set_ylabel(text("dios.axis_importance", lang))
        if len(placed):
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=4, fontsize=7.5,
                      markerscale=0.7)
        fig.tight_layout()
    return fig


def plot_compliance(comp: pd.DataFrame, *, groups: Sequence[tuple[str, str]], ax=None,
                    lang: str = "sv"):
    """Share meeting each must-requirement with its interval, one bar per group.

    Parameters
    ----------
    comp : DataFrame
        Long rows ``group, requirement, share, ci_low, ci_high`` (e.g. :func:`mognad.dios.
        compliance` per group, concatenated with a ``group`` column).
    groups : sequence of (code, label)
        The groups in order, with the label shown in the legend (plain text, e.g. a name).

    Examples
    --------
    >>> c = pd.DataFrame({"group": "own", "requirement": ["open_api", "all"],
    ...                   "share": [0.5, 0.25], "ci_low": [0.3, 0.1], "ci_high": [0.7, 0.5]})
    >>> fig = plot_compliance(c, groups=[("own", "<b>Asknäs</b>")])
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['<b>Asknäs</b>']
    """
    from matplotlib.ticker import FuncFormatter

    reqs = [r for r in REQUIREMENT_ORDER if r in set(comp["requirement"])]
    colours = [OWN, PEER, SERIES[1], SERIES[2]]
    h = 0.8 / max(len(groups), 1)
    with plot_style():
        fig, ax = axes(ax, figsize=(7.2, 0.25 * len(reqs) * max(len(groups), 1) + 1.1))
        for j, (code, name) in enumerate(groups):
            sub = comp[comp["group"] == code].set_index("requirement").reindex(reqs)
            pos = np.arange(len(reqs)) + (j - (len(groups) - 1) / 2) * h
            share = sub["share"].to_numpy(float)
            # clip: a Wilson bound can sit a rounding error inside a share of exactly 0 or 1
            err = np.clip(np.vstack([share - sub["ci_low"].to_numpy(float),
                                     sub["ci_high"].to_numpy(float) - share]), 0, None)
            ax.barh(pos, np.nan_to_num(share), height=h * 0.9, xerr=np.nan_to_num(err),
                    capsize=3, color=colours[j % len(colours)], label=plain(name))
        ax.set_yticks(np.arange(len(reqs)), [text(f"dios.requirement.{r}", lang) for r in reqs])
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt.share(v, 0, lang)))
        ax.set_xlabel(text("dios.axis_compliance", lang))
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(groups), fontsize=8)
        fig.tight_layout()
    return fig


def plot_concentration(vc: pd.DataFrame, *, ax=None, lang: str = "sv"):
    """HHI per business domain as bars, with the top vendor and its share beside each bar and
    the 1 500 / 2 500 lines of the US merger guidelines.

    Examples
    --------
    >>> vc = pd.DataFrame({"domain": ["Skola", "Vård"], "hhi": [6250.0, 1200.0],
    ...                    "top_vendor": ["X $AB$", "Y"], "top_share": [0.75, 0.3]})
    >>> fig = plot_concentration(vc)
    >>> [t.get_text() for t in fig.axes[0].texts][:1]
    ['X \\\\$AB\\\\$ (75\\xa0%)']
    """
    from matplotlib.ticker import FuncFormatter

    d = vc.sort_values("hhi", ascending=False).reset_index(drop=True)
    with plot_style():
        fig, ax = axes(ax, figsize=(7.4, 0.22 * max(len(d), 4) + 0.75))
        y = np.arange(len(d))
        ax.barh(y, d["hhi"], color=[ACCENT if h > 2500 else SERIES[1] if h > 1500 else SERIES[0]
                                    for h in d["hhi"]])
        for yi, (h, v, s) in enumerate(zip(d["hhi"], d["top_vendor"], d["top_share"],
                                           strict=True)):
            ax.text(min(h, 10_000) + 120, yi, f"{plain(v)} ({fmt.share(s, 0, lang)})",
                    va="center", fontsize=7.5)
        for line in (1500, 2500):
            ax.axvline(line, color="0.4", lw=0.8, ls=":")
        ax.set_yticks(y, [plain(v) for v in d["domain"]], fontsize=8)
        ax.invert_yaxis()
        ax.set_xlim(0, 14_000)
        ax.set_xticks([0, 2500, 5000, 7500, 10_000])
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt.integer(v, lang)))
        ax.set_xlabel(text("dios.axis_hhi", lang))
        fig.tight_layout()
    return fig


def plot_legacy_link(link, *, ax=None, lang: str = "sv", ci: float = 0.95):
    """The inventory measure against the survey score, with the OLS line and its interval
    (:func:`mognad.dios.legacy_vs_survey`)."""
    d = link.data
    x = d[link.measure].to_numpy(float)
    y = d["score_pct"].to_numpy(float)
    with plot_style():
        fig, ax = axes(ax, figsize=(5.6, 3.3))
        if {"ci_low", "ci_high"} <= set(d.columns):
            err = np.vstack([y - d["ci_low"].to_numpy(float), d["ci_high"].to_numpy(float) - y])
            err = np.where(np.isfinite(err), np.maximum(err, 0), 0)
            ax.errorbar(x, y, yerr=err, fmt="none", ecolor="0.75", lw=0.8, zorder=1)
        ax.scatter(x, y, color=OWN, zorder=2, s=22)
        grid = np.linspace(np.nanmin(x), np.nanmax(x), 50)
        pred = link.fit.get_prediction(np.column_stack([np.ones_like(grid), grid])
                                       ).summary_frame(alpha=1 - ci)
        ax.plot(grid, pred["mean"], color=ACCENT, label=text("dios.fit", lang))
        ax.fill_between(grid, pred["mean_ci_lower"], pred["mean_ci_upper"], color=ACCENT,
                        alpha=0.15, lw=0)
        ax.set_xlabel(text(f"dios.measure.{link.measure}", lang)
                      if link.measure in MEASURE_FORMAT else plain(link.measure))
        ax.set_ylabel(text("dios.axis_arv", lang) if link.dimension == "arv"
                      else f"{plain(link.dimension)} (%)")
        ax.legend(loc="upper right", fontsize=8)
        fig.tight_layout()
    return fig


# ============================================================================================
# Report sections: each returns the outputs of one section, in order, for ``display(*...)``
# ============================================================================================
def _thr(x) -> str:
    return fmt.number(x, 0 if float(x).is_integer() else 1)


def organisation_header(report, lang: str = "sv") -> list:
    """Style sheet and banner, title, introduction and summary of the organisation report
    (*report*: :class:`mognad.views.dios.OrganisationInventory`)."""
    intro = md_inline("dios.intro_org", lang, year=fmt.year(report.year),
                      n_systems=fmt.integer(len(report.own), lang),
                      cost=fmt.sek(report.total_cost, lang),
                      n_unassessed=fmt.integer(report.n_unassessed, lang))
    return [page_start(report.synthetic, lang, title="dios.title_org",
                       year=fmt.year(report.year), name=report.name),
            markdown(title("dios.title_org", lang, year=fmt.year(report.year), name=report.name),
                     intro),
            summary(candidates=report.candidates, total_cost=report.total_cost,
                    versus=report.versus, peers=report.peers, lang=lang)]


def portfolio_section(report, lang: str = "sv") -> list:
    """The TIME portfolio: text, figure and the summary per action."""
    thr = report.thresholds
    return [lead(md_inline("dios.portfolio", lang, thr_i=_thr(thr["importance"]),
                           thr_q=_thr(thr["quality"])),
                 plot_portfolio(report.portfolio, lang=lang, thresholds=thr)),
            time_table(report.time_summary, lang)]


def decommissioning_section(report, lang: str = "sv") -> list:
    """Freed cost per scenario and the candidates of the widest scenario."""
    widest = report.candidates[report.candidates["scenario"] == "all"]
    out = [lead(md_inline("dios.decommissioning", lang,
                          repl=fmt.share(report.replacement_share, 0, lang)),
                freed_table(report.freed, lang))]
    if len(widest):
        return [*out, lead(md_inline("dios.candidates", lang), candidates_table(widest, lang))]
    return [*out, candidates_table(widest, lang)]


def compliance_section(report, lang: str = "sv") -> list:
    """Must-requirements against the other organisations: text, figure, sentences, table."""
    groups = [("own", report.name), ("others", text("dios.others", lang))]
    return [lead(md_inline("dios.compliance", lang, year=fmt.year(report.year)),
                 plot_compliance(report.compliance, groups=groups, lang=lang)),
            markdown(compliance_sentences(report.versus, lang)),
            compliance_table(report.versus, lang)]


def peers_section(report, lang: str = "sv") -> list:
    """The legacy index and its parts against the other organisations."""
    n = int(report.peers["n_peers"].max()) if len(report.peers) else 0
    return [lead(md_inline("dios.peers", lang, old=fmt.integer(report.old, lang),
                           n=fmt.integer(n, lang)),
                 peers_table(report.peers, lang))]


def products_section(report, lang: str = "sv") -> list:
    """The organisation's products used by other organisations too."""
    return [lead(md_inline("dios.products", lang),
                 products_table(report.products, org_id=report.org_id, lang=lang))]


def age_section(report, lang: str = "sv") -> list:
    """Age and lifecycle: a sentence with the median age and the share of old systems, and the
    systems per age band and phase."""
    a = report.age_summary.iloc[0] if len(report.age_summary) else None
    if a is None or int(a["n_age_known"]) == 0:
        return [markdown(md_inline("dios.age_unknown", lang))]
    return [lead(md_inline("dios.age", lang, median=fmt.number(a["age_median"], 0, lang),
                           old=fmt.share(a["old_share"], 0, lang),
                           years=fmt.integer(report.old, lang)),
                 age_table(report.age_detail, lang))]


def method_section(report, lang: str = "sv", *, national: bool = False) -> list:
    """Thresholds and assumptions, and the study's fingerprint."""
    thr = report.thresholds
    fields = {"thr_i": _thr(thr["importance"]), "thr_q": _thr(thr["quality"]),
              "old": fmt.integer(report.old, lang), "fingerprint": report.fingerprint[:16]}
    if national:
        return [markdown(md_inline("dios.method_national", lang, **fields))]
    return [markdown(md_inline("dios.method", lang, repl=fmt.share(report.replacement_share, 0,
                                                                    lang), **fields))]


def national_header(report, lang: str = "sv") -> list:
    """Style sheet and banner, title, introduction and the TIME summary of the national report
    (*report*: :class:`mognad.views.dios.NationalInventory`)."""
    thr = report.thresholds
    intro = md_inline("dios.intro_national", lang, n_orgs=fmt.integer(report.n_orgs, lang),
                      n_systems=fmt.integer(len(report.systems), lang),
                      cost=fmt.sek(float(report.systems["annual_cost_sek"].sum()), lang),
                      thr_i=_thr(thr["importance"]), thr_q=_thr(thr["quality"]))
    return [page_start(report.synthetic, lang, title="dios.title_national",
                       year=fmt.year(report.year)),
            lead(title("dios.title_national", lang, year=fmt.year(report.year)), intro,
                 time_table(report.time_summary, lang))]


def concentration_section(report, lang: str = "sv") -> list:
    """Vendor concentration per domain (figure and table) and by county for the top domains."""
    return [lead(md_inline("dios.concentration", lang),
                 plot_concentration(report.concentration, lang=lang)),
            concentration_table(report.concentration, report.concentration_cost, lang),
            lead(md_inline("dios.concentration_county", lang),
                 concentration_table(report.by_county, None, lang, region="county_code"))]


def national_compliance_section(report, lang: str = "sv") -> list:
    """The must-requirements nationally (figure) and per domain (table)."""
    comp = report.compliance.assign(group="national")
    return [lead(md_inline("dios.compliance_national", lang),
                 plot_compliance(comp, groups=[("national", text("dios.national", lang))],
                                 lang=lang)),
            domain_compliance_table(report.compliance_by_domain, lang)]


def national_age_section(report, lang: str = "sv") -> list:
    """Age and lifecycle per business domain."""
    return [lead(md_inline("dios.age_national", lang, old=fmt.integer(report.old, lang)),
                 domain_age_table(report.ages, lang))]


def legacy_section(report, lang: str = "sv") -> list:
    """Inventory against survey (figure and the sentence in words) and the index per
    organisation."""
    head = md_inline("dios.legacy_link", lang, year=fmt.year(report.year))
    n = int(report.scores["org_id"].nunique()) if len(report.scores) else 0
    words = legacy_link_text(report.link, lang=lang, year=report.year, n_orgs=n)
    out = ([lead(head, plot_legacy_link(report.link, lang=lang)), words]
           if report.link is not None else [lead(head, Safe(words.data))])
    return [*out, lead(md_inline("dios.legacy_table", lang),
                       legacy_table(report.legacy, report.names, lang))]


__all__ = ["MEASURE_FORMAT", "TIME_COLOURS", "age_section", "age_table", "candidates_table",
           "compliance_section", "concentration_section", "decommissioning_section",
           "legacy_section", "method_section", "national_age_section",
           "national_compliance_section", "national_header", "organisation_header",
           "peers_section", "portfolio_section", "products_section",
           "compliance_sentences", "compliance_table", "concentration_table",
           "domain_age_table", "domain_compliance_table", "freed_table", "legacy_link_text",
           "legacy_table", "peers_table", "plot_compliance", "plot_concentration",
           "plot_legacy_link", "plot_portfolio", "products_table", "summary", "time_table"]
