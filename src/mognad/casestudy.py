"""Case studies: transformation around an event, training evaluation and internal comparison.

The analyses behind the case-study notebooks (``notebooks/*_case.ipynb``,
``notebooks/training_evaluation.ipynb``, ``notebooks/internal_comparison.ipynb``); governance
and pacing live in :mod:`mognad.governance`, the input formats in :mod:`mognad.io.governance`.
The numbers of one report are gathered by :mod:`mognad.views.cases`, its tables, texts and
figures are :mod:`mognad.present.cases`. Analyses return numbers and codes, never prose.

- **Transformation** (a reorganisation such as an IT split): :func:`category_trajectory` (the
  organisation's DiMiOS categories per round against comparison organisations),
  :func:`event_effect` (difference in differences against the comparison organisations' round
  effects), :func:`budget_trend` (resources over time), :func:`initiative_shares`
  (decentralisation: initiatives owned by business units; coordination: initiatives aligned with
  a strategic priority; Wilson intervals).
- **Training evaluation**: :func:`training_effects` (paired pre/post per item, category,
  dimension and total; mean change with a t interval, Cohen's d_z with a noncentral-t interval,
  Wilcoxon signed-rank test; by function under disclosure control) and
  :func:`course_challenges` (the course's challenges as tagged qualitative outcomes).
- **Internal comparison**: :func:`internal_comparison` (units of one organisation with mean,
  SD, IQR and rwg(j), strictly under disclosure control) and :func:`unit_agreement` (ICC over
  the units shown).

Examples
--------
>>> initiative_shares(pd.DataFrame({"org_id": "0114", "received": pd.to_datetime(
...     ["2023-02-01", "2023-05-01", "2023-09-01", "2024-01-10"]),
...     "owner": ["verksamhet", "central_it", "verksamhet", "verksamhet"]}), measure="owner"
... ).round(3)
  org_id  year    measure  n  k  share  ci_low  ci_high
0   0114  2023  decentral  3  2  0.667   0.208    0.939
1   0114  2024  decentral  1  1  1.000   0.207    1.000
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mognad.errors import MognadError
from mognad.intervals import wilson_interval

__all__ = [
    "CHALLENGES",
    "budget_trend",
    "category_trajectory",
    "course_challenges",
    "event_effect",
    "event_orgs",
    "initiative_shares",
    "internal_comparison",
    "internal_rounds",
    "linked_participants",
    "org_names",
    "paired_scores",
    "plot_units",
    "training_effects",
    "unit_agreement",
    "unit_contrast",
    "wilson_interval",
]


def _require(frame: Any, cols, what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise MognadError(f"{what}: needs a DataFrame; got {type(frame).__name__}")
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise MognadError(f"{what}: missing column(s) {missing}; the table has "
                          f"{list(frame.columns)}")


def event_orgs(study, kind: str) -> pd.DataFrame:
    """Organisations with events of one kind: ``org_id, name, date, text`` (first per org).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from mognad.io.store import init_study, open_study
    >>> event_orgs(open_study(init_study(Path(tempfile.mkdtemp()) / "s")), "reorganisation")
    Empty DataFrame
    Columns: [org_id, name, date, text]
    Index: []
    """
    ev = study.events
    ev = ev[ev["kind"] == kind].sort_values(["org_id", "date"])
    ev = ev.drop_duplicates("org_id")
    names = study.organisations.set_index("org_id")["name"]
    out = pd.DataFrame({"org_id": ev["org_id"].astype("str"),
                        "name": ev["org_id"].map(names).astype("str"),
                        "date": ev["date"], "text": ev["text"]})
    return out.reset_index(drop=True)


# ============================================================================================
# Transformation: categories around an event, resources, decentralisation and coordination
# ============================================================================================
def _comparison_orgs(study, org_id: str, comparison) -> list[str]:
    orgs = study.organisations
    if isinstance(comparison, str):
        with_events = set(study.events["org_id"])
        if comparison == "org_type":
            own = orgs.loc[orgs["org_id"] == org_id, "org_type"]
            pool = orgs[orgs["org_type"].isin(own)]
        elif comparison == "all":
            pool = orgs
        else:
            raise MognadError("comparison must be 'org_type', 'all' or a list of org ids; got "
                              f"{comparison!r}")
        ids = [o for o in pool["org_id"] if o != org_id and o not in with_events]
    else:
        ids = [str(o) for o in comparison if str(o) != org_id]
    return ids


def category_trajectory(study, org_id: str, *, comparison: str | Sequence[str] = "org_type",
                        event_date=None, levels: Sequence[str] = ("category",),
                        n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """An organisation's DiMiOS scores per round, next to comparison organisations.

    Parameters
    ----------
    study : Study
    org_id : str
    comparison : "org_type", "all" or list of org ids
        ``"org_type"`` (default): other organisations of the same type without any recorded
        event (programme, reorganisation, funding change, course), so that their changes are
        the background trend; ``"all"``: every organisation without events; or explicit ids.
    event_date : date-like, optional
        Adds ``relative_round`` (round minus the event's year).
    levels : sequence of str
        Score levels: ``"category"``, ``"dimension"``, ``"total"``.
    n_boot, seed : int
        Cluster bootstrap of the organisation's scores (:func:`mognad.scoring.score`).

    Returns
    -------
    DataFrame
        ``round, level, name, score_pct, ci_low, ci_high, n_respondents`` of the organisation,
        ``comparison_pct`` (unweighted mean of the comparison organisations' scores that round),
        ``n_comparison`` and, with ``event_date``, ``relative_round``.
    """
    from mognad.scoring import score

    comp = _comparison_orgs(study, org_id, comparison)
    own = study.responses_for(org_id=org_id)
    if not len(own):
        raise MognadError(f"organisation {org_id} has no survey responses in this study")
    sc = score(own, codebook=study.codebook, n_boot=n_boot, seed=seed, levels=list(levels))
    out = sc[["round", "level", "name", "score_pct", "ci_low", "ci_high", "n_respondents"]]
    if comp:
        cs = score(study.responses_for(org_id=comp), codebook=study.codebook, method="none",
                   levels=list(levels))
        mean = (cs.groupby(["round", "level", "name"])
                .agg(comparison_pct=("score_pct", "mean"), n_comparison=("org_id", "nunique"))
                .reset_index())
        out = out.merge(mean, on=["round", "level", "name"], how="left")
    else:
        out = out.assign(comparison_pct=np.nan, n_comparison=0)
    out["n_comparison"] = out["n_comparison"].fillna(0).astype("int64")
    if event_date is not None:
        out["relative_round"] = out["round"] - pd.Timestamp(event_date).year
    return out.reset_index(drop=True)


def _round_effects(scores: pd.DataFrame) -> pd.Series:
    """Round effects of an org x round table (two-way fixed effects, least squares)."""
    orgs = pd.Index(sorted(scores["org_id"].unique()))
    rounds = pd.Index(sorted(scores["round"].unique()))
    X = np.zeros((len(scores), len(orgs) + len(rounds) - 1))
    X[np.arange(len(scores)), orgs.get_indexer(scores["org_id"])] = 1.0
    r = rounds.get_indexer(scores["round"])
    has = r > 0
    X[np.flatnonzero(has), len(orgs) + r[has] - 1] = 1.0
    beta, *_ = np.linalg.lstsq(X, scores["score_pct"].to_numpy(float), rcond=None)
    effects = np.concatenate([[0.0], beta[len(orgs):]])
    return pd.Series(effects, index=rounds)


def event_effect(study, org_id: str, *, event_date, first_round: int | None = None,
                 comparison: str | Sequence[str] = "org_type",
                 levels: Sequence[str] = ("category", "dimension", "total"),
                 ci: float = 0.95) -> pd.DataFrame:
    """Change in an organisation's scores after an event, net of the comparison organisations.

    For each score, the organisation's round scores ``y_r`` are adjusted by round effects
    ``g_r`` estimated from the comparison organisations with organisation fixed effects
    (``y_or = a_o + g_r``, so changes in which organisations took part do not shift them):
    ``z_r = y_r - g_r``. The effect is ``mean(z, rounds >= first_round) - mean(z, earlier
    rounds)``, a difference in differences with one treated organisation. Its interval is a
    pooled two-sample t interval on the ``z_r`` (``n_rounds - 2`` degrees of freedom): it rests
    on how much the organisation's adjusted score varies from round to round, which includes
    sampling error, the organisation's own round-to-round variation and the error in ``g_r``.

    Parameters
    ----------
    study : Study
    org_id : str
    event_date : date-like
        The event (e.g. the reorganisation date from the events table).
    first_round : int, optional
        First round counted as *after*; default the year after the event's year (answers
        given in the year of a reorganisation mostly describe the organisation before it takes
        effect; set it to the event's year to count that round as after).
    comparison : "org_type", "all" or list of org ids
        See :func:`category_trajectory`.
    levels : sequence of str
    ci : float, default 0.95

    Returns
    -------
    DataFrame
        ``level, name, n_before, n_after, naive_change`` (after minus before, unadjusted),
        ``estimate`` (percentage points), ``se``, ``df``, ``ci_low``, ``ci_high``,
        ``n_comparison`` (organisations).
    """
    from scipy import stats

    from mognad.scoring import score

    first_round = (pd.Timestamp(event_date).year + 1 if first_round is None
                   else int(first_round))
    comp = _comparison_orgs(study, org_id, comparison)
    if not comp:
        raise MognadError(f"no comparison organisations for {org_id}; give comparison= as a "
                          "list of org ids")
    resp = study.responses_for(org_id=[org_id, *comp])
    sc = score(resp, codebook=study.codebook, method="none", levels=list(levels))
    rows = []
    for (level, name), g in sc.groupby(["level", "name"], sort=False):
        own = g[g["org_id"] == org_id].set_index("round")["score_pct"].dropna()
        others = g[g["org_id"] != org_id].dropna(subset=["score_pct"])
        effects = _round_effects(others)
        own = own[own.index.isin(effects.index)]
        z = own - effects.reindex(own.index)
        pre, post = z[z.index < first_round], z[z.index >= first_round]
        raw_pre, raw_post = own[own.index < first_round], own[own.index >= first_round]
        row = {"level": level, "name": name, "n_before": len(pre), "n_after": len(post),
               "naive_change": (raw_post.mean() - raw_pre.mean()) if len(pre) and len(post)
               else np.nan,
               "estimate": (post.mean() - pre.mean()) if len(pre) and len(post) else np.nan,
               "n_comparison": int(others["org_id"].nunique())}
        df = len(pre) + len(post) - 2
        if len(pre) and len(post) and df >= 1:
            ss = ((pre - pre.mean()) ** 2).sum() + ((post - post.mean()) ** 2).sum()
            se = math.sqrt(ss / df * (1 / len(pre) + 1 / len(post)))
            half = stats.t.ppf(0.5 + ci / 2, df) * se
            row |= {"se": se, "df": df, "ci_low": row["estimate"] - half,
                    "ci_high": row["estimate"] + half}
        else:
            row |= {"se": np.nan, "df": max(df, 0), "ci_low": np.nan, "ci_high": np.nan}
        rows.append(row)
    return pd.DataFrame(rows)


def budget_trend(budgets: pd.DataFrame, *, org_id: str, first_year: int,
                 ci: float = 0.95) -> dict:
    """Resources over time: digital spending per year, its development share, and the step.

    The step is estimated from ``log(total) = a + b (year - first) + c [year >= first_year]``
    by OLS: ``step = exp(c)`` is the lasting change of the budget level from ``first_year`` on
    top of the trend (t interval, ``n_years - 3`` degrees of freedom).

    Returns
    -------
    dict
        ``table`` (DataFrame: ``year, total_sek, exploration_sek, exploitation_sek,
        exploration_share``), ``step``, ``step_ci_low``, ``step_ci_high``, ``trend`` (yearly
        growth factor), ``share_before``, ``share_after`` and ``share_change`` (a row of
        :func:`mognad.governance.share_change`).

    Examples
    --------
    >>> b = pd.DataFrame({"org_id": "R99", "year": np.repeat(np.arange(2018, 2025), 4),
    ...                   "kind": ["drift", "forvaltning", "vidareutveckling", "nyutveckling"] * 7,
    ...                   "funding_model": "central"})
    >>> level = 100 * 1.03 ** (b["year"] - 2018) * np.where(b["year"] >= 2021, 1.12, 1.0)
    >>> share = np.where(b["year"] >= 2021, [0.36, 0.26, 0.21, 0.17] * 7, [0.42, 0.30, 0.16, 0.12] * 7)
    >>> b["amount_sek"] = level * share
    >>> out = budget_trend(b, org_id="R99", first_year=2021)
    >>> round(out["step"], 3), round(out["trend"], 3), round(out["share_after"], 2)
    (1.12, 1.03, 0.38)
    """
    import statsmodels.api as sm

    from mognad.governance import share_change, spending_shares

    sh = spending_shares(budgets[budgets["org_id"] == org_id], peers=False)
    if not len(sh):
        raise MognadError(f"no budget lines for {org_id}")
    years = sh["year"].to_numpy(float)
    X = np.column_stack([np.ones_like(years), years - first_year,
                         (years >= first_year).astype(float)])
    out: dict = {"table": sh[["year", "total_sek", "exploitation_sek", "exploration_sek",
                              "exploration_share"]].reset_index(drop=True)}
    if len(years) >= 4 and 0 < (years >= first_year).sum() < len(years):
        res = sm.OLS(np.log(sh["total_sek"].to_numpy(float)), X).fit()
        lo, hi = res.conf_int(alpha=1 - ci)[2]
        out |= {"step": float(np.exp(res.params[2])), "step_ci_low": float(np.exp(lo)),
                "step_ci_high": float(np.exp(hi)), "trend": float(np.exp(res.params[1]))}
    else:
        out |= {"step": np.nan, "step_ci_low": np.nan, "step_ci_high": np.nan,
                "trend": np.nan}
    change = share_change(sh, change_dates={org_id: f"{first_year}-01-01"}, ci=ci)
    row = change.iloc[0] if len(change) else pd.Series(dtype=float)
    out |= {"share_before": float(row.get("mean_before", np.nan)),
            "share_after": float(row.get("mean_after", np.nan)),
            "share_change": row}
    return out


_INITIATIVE_MEASURES = {"decentral": ("owner", "verksamhet"), "strategic": ("strategic", "ja")}


def initiative_shares(requests: pd.DataFrame, *, measure: str | Sequence[str] = (
                      "decentral", "strategic"), by: Sequence[str] = ("org_id", "year"),
                      ci: float = 0.95) -> pd.DataFrame:
    """Decentralisation and coordination of initiatives, per group, with Wilson intervals.

    ``decentral`` (alias ``owner``): the share of initiatives (development requests) owned by a
    business unit (``owner == "verksamhet"``) rather than central IT; ``strategic``: the share
    aligned with a strategic priority (``strategic == "ja"``). Requests with the field empty are
    left out of that measure. ``year`` is the year the request was received.

    Returns
    -------
    DataFrame
        ``by`` columns, ``measure``, ``n`` (initiatives with the field known), ``k`` (with the
        property), ``share``, ``ci_low``, ``ci_high``.
    """
    measures = [measure] if isinstance(measure, str) else list(measure)
    measures = ["decentral" if m == "owner" else m for m in measures]
    bad = [m for m in measures if m not in _INITIATIVE_MEASURES]
    if bad:
        raise MognadError(f"unknown measure(s) {bad}; use 'decentral' (owner) or 'strategic'")
    frame = requests.copy()
    if "year" in by and "year" not in frame:
        _require(frame, ("received",), "initiative_shares")
        frame["year"] = pd.to_datetime(frame["received"]).dt.year.astype("int64")
    rows = []
    for m in measures:
        col, yes = _INITIATIVE_MEASURES[m]
        _require(frame, (*by, col), "initiative_shares")
        known = frame[frame[col].notna()]
        g = known.groupby(list(by), sort=True)[col]
        agg = pd.DataFrame({"n": g.size(), "k": g.apply(lambda s, yes=yes: int((s == yes).sum()))}
                           ).reset_index()
        agg.insert(len(by), "measure", m)
        rows.append(agg)
    out = pd.concat(rows, ignore_index=True)
    out["share"] = out["k"] / out["n"]
    out["ci_low"], out["ci_high"] = wilson_interval(out["k"], out["n"], ci)
    out[["n", "k"]] = out[["n", "k"]].astype("int64")
    return out


# ============================================================================================
# Training evaluation
# ============================================================================================
#: The four challenges the Mölndal course ended with, as tagged qualitative outcomes: a key
#: (texts, themes and follow-up sources in the locale catalogue, ``cases.challenge.<key>``) and
#: the dynamic capability it mainly builds (``sense``, ``seize``, ``transform``). The tags are
#: this project's reading, not the course's.
CHALLENGES = (
    {"no": 1, "key": "c1", "capability": "transform"},   # a shared definition of digitalisation
    {"no": 2, "key": "c2", "capability": "seize"},       # more political involvement
    {"no": 3, "key": "c3", "capability": "sense"},       # a new development forum
    {"no": 4, "key": "c4", "capability": "transform"},   # more HR involvement
)


def course_challenges() -> pd.DataFrame:
    """The course's four challenges as a tidy table of tagged, qualitative outcomes (codes;
    their texts are in the report catalogue).

    Examples
    --------
    >>> course_challenges()
       no key capability outcome_type
    0   1  c1  transform  qualitative
    1   2  c2      seize  qualitative
    2   3  c3      sense  qualitative
    3   4  c4  transform  qualitative
    """
    return pd.DataFrame([dict(c, outcome_type="qualitative") for c in CHALLENGES])


def paired_scores(training: pd.DataFrame, *, codebook=None,
                  levels: Sequence[str] = ("total", "dimension", "category", "item")
                  ) -> pd.DataFrame:
    """Each participant's scores before and after, side by side.

    Scores follow :mod:`mognad.scoring` for a single person (a category is the mean of the
    answered items, missing with fewer than the codebook's minimum; don't know is missing),
    in percent of optimal.

    Returns
    -------
    DataFrame
        ``org_id, course, participant, function, level, name, pre_pct, post_pct, change_pp``
        (missing where a phase is missing).
    """
    from mognad.codebook import load_codebook
    from mognad.scoring import score

    _require(training, ("org_id", "course", "participant", "phase", "item_id", "value"),
             "paired_scores")
    cb = load_codebook(codebook) if not hasattr(codebook, "item_ids") else codebook
    keys = ["org_id", "course", "participant", "phase"]
    sc = score(training.assign(_person=training["participant"]), codebook=cb, by=keys,
               respondent="_person", method="none", levels=list(levels))
    wide = sc.pivot_table(index=["org_id", "course", "participant", "level", "name"],
                          columns="phase", values="score_pct", dropna=False).reset_index()
    for phase in ("pre", "post"):
        if phase not in wide:
            wide[phase] = np.nan
    wide = wide.rename(columns={"pre": "pre_pct", "post": "post_pct"})
    wide.columns.name = None
    func = (training.drop_duplicates(["org_id", "course", "participant"])
            .set_index(["org_id", "course", "participant"])["function"]
            if "function" in training else None)
    wide["function"] = (wide.set_index(["org_id", "course", "participant"]).index.map(func)
                        if func is not None else pd.NA)
    wide["change_pp"] = wide["post_pct"] - wide["pre_pct"]
    wide = wide.dropna(subset=["pre_pct", "post_pct"], how="all")
    order = {lv: i for i, lv in enumerate(("total", "dimension", "category", "item"))}
    names = {("item", i): n for n, i in enumerate(cb.item_ids)}
    names |= {("category", c): n for n, c in enumerate(cb.categories["category"])}
    names |= {("dimension", d): n for n, d in enumerate(cb.dimensions["dimension"])}
    wide["_o"] = wide["level"].map(order) * 1000 + [names.get(k, 0) for k in zip(
        wide["level"], wide["name"], strict=True)]
    wide = wide.sort_values(["org_id", "course", "_o", "participant"]).drop(columns="_o")
    cols = ["org_id", "course", "participant", "function", "level", "name", "pre_pct",
            "post_pct", "change_pp"]
    return wide[cols].reset_index(drop=True)


def _dz_interval(d: float, n: int, ci: float) -> tuple[float, float]:
    """Interval for Cohen's d_z by inverting the noncentral t distribution."""
    from scipy import optimize, stats

    if n < 2 or not np.isfinite(d):
        return np.nan, np.nan
    df, t = n - 1, d * math.sqrt(n)
    alpha = 1 - ci

    def f(ncp, p):
        return float(stats.nct.cdf(t, df, ncp)) - p

    def solve(p):
        # the cdf falls from 1 to 0 as ncp grows; T has about sd sqrt(1 + ncp²/2df) around
        # ncp, so widen a bracket of that scale until the sign changes
        scale = math.sqrt(1 + t * t / (2 * df))
        for span in (4.0, 8.0, 16.0, 32.0):
            a, b = t - span * scale, t + span * scale
            fa, fb = f(a, p), f(b, p)
            if np.isfinite(fa) and np.isfinite(fb) and fa > 0 > fb:
                try:
                    return optimize.brentq(f, a, b, args=(p,))
                except ValueError:
                    return np.nan
        return np.nan

    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return solve(1 - alpha / 2) / math.sqrt(n), solve(alpha / 2) / math.sqrt(n)


def _paired_stats(pre: np.ndarray, post: np.ndarray, ci: float) -> dict:
    from scipy import stats

    diff = post - pre
    n = len(diff)
    out = {"n_pairs": n, "pre_pct": pre.mean() if n else np.nan,
           "post_pct": post.mean() if n else np.nan, "change_pp": diff.mean() if n else np.nan,
           "sd_change": diff.std(ddof=1) if n >= 2 else np.nan}
    if n >= 2 and out["sd_change"] > 0:
        half = stats.t.ppf(0.5 + ci / 2, n - 1) * out["sd_change"] / math.sqrt(n)
        d = out["change_pp"] / out["sd_change"]
        lo, hi = _dz_interval(d, n, ci)
        out |= {"ci_low": out["change_pp"] - half, "ci_high": out["change_pp"] + half,
                "d_z": d, "d_z_ci_low": lo, "d_z_ci_high": hi}
    else:
        out |= {"ci_low": np.nan, "ci_high": np.nan, "d_z": np.nan, "d_z_ci_low": np.nan,
                "d_z_ci_high": np.nan}
    if n >= 1 and np.any(diff != 0):
        res = stats.wilcoxon(diff, zero_method="wilcox")
        out |= {"wilcoxon_w": float(res.statistic), "wilcoxon_p": float(res.pvalue)}
    else:
        out |= {"wilcoxon_w": np.nan, "wilcoxon_p": np.nan}
    return out


_EFFECT_VALUES = ("pre_pct", "post_pct", "change_pp", "sd_change", "ci_low", "ci_high", "d_z",
                  "d_z_ci_low", "d_z_ci_high", "wilcoxon_w", "wilcoxon_p")


def training_effects(training: pd.DataFrame, *, codebook=None,
                     levels: Sequence[str] = ("total", "dimension", "category"),
                     by: str | None = None, groups: Mapping[str, str] | None = None,
                     k_min: int = 5, ci: float = 0.95) -> pd.DataFrame:
    """Paired pre/post change per score, with effect sizes, optionally by function.

    For each score (total, dimension, category, item) and the participants with both phases:
    the mean before and after, the mean change in percentage points with a paired t interval,
    Cohen's ``d_z`` (mean change / SD of the changes) with an exact interval from the noncentral
    t distribution (Cumming & Finch 2001), and Wilcoxon's signed-rank test (``scipy.stats.
    wilcoxon``, zero differences dropped).

    Parameters
    ----------
    training : DataFrame
        Course answers, long (:func:`mognad.governance.load_training`).
    codebook : Codebook, str or None
    levels : sequence of str
    by : str, optional
        ``"function"`` for a breakdown by the participants' function. Groups are protected
        like respondents in a report: those with fewer than ``k_min`` participants with both
        phases are hidden, plus complementary groups so that none can be derived from the
        total (:func:`mognad.disclosure.suppress`, then :func:`~mognad.disclosure.
        check_disclosure`); hidden groups are left out of the result.
    groups : mapping, optional
        Merge functions into larger groups first, ``{function: group}`` (unmapped functions
        keep their name).
    k_min : int, default 5
    ci : float, default 0.95

    Returns
    -------
    DataFrame
        (``group``,) ``level, name, n_pairs, pre_pct, post_pct, change_pp, sd_change, ci_low,
        ci_high, d_z, d_z_ci_low, d_z_ci_high, wilcoxon_w, wilcoxon_p``. With ``by``, the
        attribute ``attrs["n_hidden"]`` says how many groups were hidden.

    Examples
    --------
    Five participants, every answer one step higher after the course (20 points on the 0-100
    scale); the changes differ only through one answer, so d_z is large:

    >>> rows = []
    >>> for p in range(5):
    ...     for phase, add in (("pre", 0), ("post", 1)):
    ...         for i in range(1, 31):
    ...             v = 3 + add + (1 if (p == 0 and phase == "post" and i == 1) else 0)
    ...             rows.append(("0114", "k1", f"p{p}", "chef", phase, f"q{i:02d}", v))
    >>> t = pd.DataFrame(rows, columns=["org_id", "course", "participant", "function", "phase",
    ...                                 "item_id", "value"])
    >>> out = training_effects(t, levels=["total"])
    >>> out[["name", "n_pairs", "pre_pct", "post_pct", "change_pp"]].round(2)
        name  n_pairs  pre_pct  post_pct  change_pp
    0  total        5     40.0     60.13      20.13
    """
    from mognad.disclosure import check_disclosure, suppress

    scores = paired_scores(training, codebook=codebook, levels=levels)
    both = scores.dropna(subset=["pre_pct", "post_pct"])
    keys = ["level", "name"]
    if by is not None:
        if by != "function":
            raise MognadError(f"by must be None or 'function'; got {by!r}")
        groups = dict(groups or {})
        both = both.assign(group=both["function"].map(lambda f: groups.get(f, f)))
        keys = ["group", *keys]
    rows = []
    for key, g in both.groupby(keys, sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        stats_ = _paired_stats(g["pre_pct"].to_numpy(float), g["post_pct"].to_numpy(float), ci)
        rows.append(dict(zip(keys, key, strict=True)) | stats_)
    out = pd.DataFrame(rows, columns=[*keys, "n_pairs", *_EFFECT_VALUES])
    if by is None:
        return out
    table, _log = suppress(out, k=k_min, count="n_pairs", by=None, group="group",
                           values=list(_EFFECT_VALUES), within=("level", "name"))
    check_disclosure(table, k=k_min, count="n_pairs", values=list(_EFFECT_VALUES))
    shown = table[~table["suppressed"]].drop(columns=["suppressed", "suppression_reason"])
    shown = shown.reset_index(drop=True)
    shown["n_pairs"] = shown["n_pairs"].astype("int64")
    shown.attrs["n_hidden"] = int(table.loc[table["suppressed"], "group"].nunique())
    return shown


def linked_participants(study, training: pd.DataFrame) -> int:
    """How many course participants are also survey respondents of the same organisation.

    Participants and respondents are pseudonymised with the same key, so the same person has
    the same pseudonym in both (the raw ids never reach the store).
    """
    n = 0
    for org, g in training.groupby("org_id"):
        resp = study.sql("SELECT DISTINCT respondent_id FROM respondents WHERE org_id = ?",
                         [org])
        n += len(set(g["participant"]) & set(resp["respondent_id"]))
    return n


# ============================================================================================
# Internal comparison under disclosure control
# ============================================================================================
_UNIT_VALUES = ("score_pct", "ci_low", "ci_high", "sd", "q1", "median", "q3", "iqr", "rwg_j")


def _respondent_totals(resp: pd.DataFrame, codebook) -> pd.DataFrame:
    from mognad.scoring import score

    by = ["org_id", "round", "unit", "respondent_id"]
    sc = score(resp.assign(_person=resp["respondent_id"]), codebook=codebook, by=by,
               respondent="_person", method="none", levels=["total"])
    return sc[[*by, "score_pct"]]


def _dispersion(totals: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    g = totals.groupby(list(by), dropna=False)["score_pct"]
    out = pd.DataFrame({"sd": g.std(ddof=1), "q1": g.quantile(0.25), "median": g.median(),
                        "q3": g.quantile(0.75)}).reset_index()
    out["iqr"] = out["q3"] - out["q1"]
    return out


def internal_comparison(study, org_id: str, *, round: int | None = None, k_min: int = 5,
                        depth: int | None = None, method: str = "t", n_boot: int = 1000,
                        seed: int = 0) -> dict:
    """Units of one organisation compared, with dispersion and agreement, under disclosure
    control.

    Per unit: the total score (mean of respondents, t interval by default), the SD and
    quartiles (IQR) of the respondents' totals, and rwg(j) over all items
    (:func:`mognad.agreement.rwg_j`). Every figure of a unit rests on that unit's respondents,
    so all of them are suppressed together: units with fewer than ``k_min`` respondents, and
    complementary units so that no hidden unit can be recovered by subtraction from the
    organisation's total (:func:`mognad.disclosure.suppress`); the result passes
    :func:`~mognad.disclosure.check_disclosure` and hidden units are left out (not even
    their names are returned). ICC(1)/ICC(2) are computed over the units shown only: an ANOVA
    over all units would, together with the shown units' figures, let a hidden unit's mean be
    solved for.

    Parameters
    ----------
    study : Study
    org_id : str
    round : int, optional
        Default the organisation's latest round.
    k_min : int, default 5
    depth : int, optional
        Compare units at this depth of the unit path (``1``: ``"Kultur/Bibliotek"`` counts as
        ``"Kultur"``); default the units as recorded.
    method : {"t", "bootstrap"}, default "t"
        Interval of the unit means (:func:`mognad.scoring.score`). The t interval is the
        default because units hold few respondents (5-10), where the percentile bootstrap is
        too narrow.
    n_boot, seed : int
        For ``method="bootstrap"``.

    Returns
    -------
    dict
        ``units`` (DataFrame of the shown units: ``unit, n_respondents`` and the values
        ``score_pct, ci_low, ci_high, sd, q1, median, q3, iqr, rwg_j``), ``organisation`` (one
        row with the same columns for all respondents), ``n_hidden``, ``n_units``, ``round``,
        ``k_min``, ``icc1``, ``icc2``, ``totals`` (respondent totals of the shown units only,
        for plots; no respondent ids).
    """
    from mognad.agreement import icc1_icc2, rwg_j
    from mognad.disclosure import check_disclosure, suppress
    from mognad.scoring import score

    cb = study.codebook
    if round is None:
        rounds = study.sql("SELECT DISTINCT round FROM respondents WHERE org_id = ? "
                           "ORDER BY round", [org_id])["round"]
        if not len(rounds):
            raise MognadError(f"organisation {org_id} has no survey responses in this study")
        round = int(rounds.iloc[-1])
    resp = study.responses_for(org_id=org_id, round=int(round))
    if not len(resp):
        raise MognadError(f"organisation {org_id} has no responses in round {round}")
    if depth is not None:
        resp["unit"] = resp["unit"].map(
            lambda u: "/".join(str(u).split("/")[:depth]) if isinstance(u, str) else u)
    by = ["org_id", "round", "unit"]
    sc = score(resp, codebook=cb, by=by, method=method, n_boot=n_boot, seed=seed,
               levels=["total"])
    totals = _respondent_totals(resp, cb)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rwg = rwg_j(resp, codebook=cb, by=by, levels=["total"], min_group_size=k_min)
        rwg_org = rwg_j(resp, codebook=cb, by=["org_id", "round"], levels=["total"],
                        min_group_size=k_min)
    table = (sc[[*by, "n_respondents", "score_pct", "ci_low", "ci_high"]]
             .merge(_dispersion(totals, by), on=by, how="left")
             .merge(rwg[[*by, "rwg_j"]], on=by, how="left"))
    protected, _log = suppress(table, k=k_min, count="n_respondents", by=("org_id", "round"),
                               group="unit", values=list(_UNIT_VALUES))
    check_disclosure(protected, k=k_min, values=list(_UNIT_VALUES))
    shown = protected[~protected["suppressed"]].drop(columns=["suppressed",
                                                              "suppression_reason"])
    shown = shown.sort_values("score_pct", ascending=False).reset_index(drop=True)
    shown["n_respondents"] = shown["n_respondents"].astype("int64")

    org_sc = score(resp, codebook=cb, method=method, n_boot=n_boot, seed=seed,
                   levels=["total"])
    org = (org_sc[["org_id", "round", "n_respondents", "score_pct", "ci_low", "ci_high"]]
           .merge(_dispersion(totals, ["org_id", "round"]), on=["org_id", "round"])
           .merge(rwg_org[["org_id", "round", "rwg_j"]], on=["org_id", "round"]))
    kept = totals[totals["unit"].isin(set(shown["unit"]))]
    icc1 = icc2 = np.nan
    if shown["unit"].nunique() >= 2:
        icc = icc1_icc2(kept.assign(level="total", name="total"), group="unit",
                        by=("round",), levels=("total",), min_group_size=k_min)
        icc1, icc2 = float(icc["icc1"].iloc[0]), float(icc["icc2"].iloc[0])
    return {
        "units": shown[["unit", "n_respondents", *_UNIT_VALUES]],
        "organisation": org[["n_respondents", *_UNIT_VALUES]].assign(
            unit="all_units")[["unit", "n_respondents", *_UNIT_VALUES]],
        "n_hidden": int(protected["suppressed"].sum()),
        "n_units": len(protected),
        "round": int(round), "k_min": k_min, "icc1": icc1, "icc2": icc2,
        "totals": kept[["unit", "score_pct"]].reset_index(drop=True),
    }


def internal_rounds(study, org_id: str, *, rounds: Sequence[int] | None = None,
                    k_min: int = 5, depth: int | None = None, method: str = "t",
                    n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """:func:`internal_comparison` for several rounds (follow-up measurements), long.

    Each round is protected on its own. Returns ``round, unit, n_respondents, score_pct,
    ci_low, ci_high, sd, iqr, rwg_j`` for the units shown in each round.
    """
    if rounds is None:
        rounds = study.sql("SELECT DISTINCT round FROM respondents WHERE org_id = ? ORDER BY 1",
                           [org_id])["round"].astype(int).tolist()
    parts = []
    for r in rounds:
        res = internal_comparison(study, org_id, round=int(r), k_min=k_min, depth=depth,
                                  method=method, n_boot=n_boot, seed=seed)
        parts.append(res["units"].assign(round=int(r)))
    cols = ["round", "unit", "n_respondents", "score_pct", "ci_low", "ci_high", "sd", "iqr",
            "rwg_j"]
    if not parts:
        return pd.DataFrame(columns=cols)
    return pd.concat(parts, ignore_index=True)[cols]


def unit_contrast(result: Mapping, unit_a: str, unit_b: str, *, ci: float = 0.95) -> dict:
    """Difference between two *shown* units' mean totals, with a Welch t interval.

    Only units that :func:`internal_comparison` shows can be contrasted; asking for a hidden
    unit raises (its figures must not be used).

    Examples
    --------
    >>> res = {"units": pd.DataFrame({"unit": ["A", "B"], "n_respondents": [8, 5],
    ...                               "score_pct": [70.0, 45.0], "sd": [10.0, 15.0]})}
    >>> out = unit_contrast(res, "A", "B")
    >>> round(out["difference"], 1), round(out["ci_low"], 1), round(out["ci_high"], 1)
    (25.0, 6.6, 43.4)
    """
    from scipy import stats

    units = result["units"].set_index("unit")
    for u in (unit_a, unit_b):
        if u not in units.index:
            raise MognadError(f"unit {u!r} is not shown (too few respondents, or hidden to "
                              "protect another unit); it cannot be contrasted")
    a, b = units.loc[unit_a], units.loc[unit_b]
    va, vb = a["sd"] ** 2 / a["n_respondents"], b["sd"] ** 2 / b["n_respondents"]
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (a["n_respondents"] - 1) + vb**2 / (b["n_respondents"] - 1))
    diff = float(a["score_pct"] - b["score_pct"])
    half = float(stats.t.ppf(0.5 + ci / 2, df)) * se
    return {"difference": diff, "se": se, "df": float(df), "ci_low": diff - half,
            "ci_high": diff + half}


def unit_agreement(result: Mapping) -> dict:
    """ICC(1) and ICC(2) of an :func:`internal_comparison` result (over the shown units)."""
    return {"icc1": result["icc1"], "icc2": result["icc2"]}


# ============================================================================================
# Figures and texts of the internal comparison
# ============================================================================================
_OWN, _PEER, _ACCENT = "#1f4e79", "#8c96a5", "#c0504d"


def _plt():
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook", font_scale=0.9)
    return plt


def _pct_axis(lang: str) -> str:
    return "% av optimala förutsättningar" if lang == "sv" else "% of optimal preconditions"


def plot_units(result: Mapping, *, lang: str = "sv", name: str = ""):
    """Shown units of :func:`internal_comparison`: mean with interval (dot and thin line) and
    the interquartile range of respondents' totals (thick bar); the organisation's mean dashed.
    """
    plt = _plt()
    units = result["units"].sort_values("score_pct")
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(units) + 1.5))
    y = np.arange(len(units))
    ax.hlines(y, units["q1"], units["q3"], color=_PEER, lw=9, alpha=0.6,
              label="kvartilavstånd" if lang == "sv" else "interquartile range")
    ax.hlines(y, units["ci_low"], units["ci_high"], color=_OWN, lw=2,
              label="95 % intervall" if lang == "sv" else "95% interval")
    ax.plot(units["score_pct"], y, "o", color=_OWN)
    org = result["organisation"]["score_pct"].iloc[0]
    ax.axvline(org, color=_ACCENT, ls="--", lw=1, label=label("all_units", lang))
    ax.set_yticks(y, units["unit"])
    ax.set_xlim(0, 100)
    ax.set_xlabel(_pct_axis(lang))
    ax.set_title(name, loc="left", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def org_names(study, org_ids: Sequence[str] | None = None) -> dict:
    """``{org_id: name}`` from the study's registry (all organisations when ``org_ids`` is
    None)."""
    orgs = study.organisations
    if org_ids is not None:
        orgs = orgs[orgs["org_id"].isin([str(o) for o in org_ids])]
    return dict(zip(orgs["org_id"], orgs["name"], strict=True))


def pick_internal_org(study, *, k_min: int = 5, prefer_type: str | None = "bolag") -> str:
    """The default organisation of the internal-comparison report.

    The case behind the report is a municipal company's first measurement (a stage company
    comparing its departments), so organisations of type ``prefer_type`` (default ``bolag``)
    come first; among them (or among all, when none has at least two units with ``k_min``
    respondents) the one whose latest round has the most such units (ties: more respondents).
    """
    counts = study.sql(
        "WITH latest AS (SELECT org_id, max(round) AS round FROM respondents GROUP BY org_id) "
        "SELECT r.org_id, r.unit, count(*) AS n FROM respondents r JOIN latest l "
        "ON r.org_id = l.org_id AND r.round = l.round GROUP BY r.org_id, r.unit")
    if not len(counts):
        raise MognadError("the study has no survey responses")
    agg = counts.groupby("org_id").agg(units=("n", lambda s: int((s >= k_min).sum())),
                                       n=("n", "sum")).reset_index()
    types = study.organisations.set_index("org_id")["org_type"]
    agg["preferred"] = agg["org_id"].map(types).eq(prefer_type) & (agg["units"] >= 2)
    agg = agg.sort_values(["preferred", "units", "n", "org_id"],
                          ascending=[False, False, False, True])
    return str(agg["org_id"].iloc[0])


def rounds_wide(rounds: pd.DataFrame) -> pd.DataFrame:
    """:func:`internal_rounds` as units x rounds (total score; missing = not shown)."""
    if not len(rounds):
        return pd.DataFrame()
    wide = rounds.pivot_table(index="unit", columns="round", values="score_pct")
    wide.columns = [str(c) for c in wide.columns]
    return wide.reset_index()


def units_text(result: Mapping, lang: str = "sv"):
    """The Markdown introducing the units of :func:`internal_comparison` (how many are hidden,
    never which)."""
    hidden = (text("ic_hidden", lang, n_hidden=result["n_hidden"]) if result["n_hidden"]
              else text("ic_none_hidden", lang))
    return markdown("ic_units", lang, k=result["k_min"], hidden=hidden)


# ============================================================================================
# Compatibility: names the internal-comparison report still calls (units_text, plot_units and
# notebooks/internal_comparison.ipynb). The texts are in the locale catalogue (``cases.ic.*``),
# tables go through mognad.present.tables; remove these once nothing uses them.
# ============================================================================================
def text(key: str, lang: str = "sv", **fields) -> str:
    """:func:`mognad.present.cases.legacy_text` (``ic_hidden`` → ``cases.ic.hidden``)."""
    from mognad.present.cases import legacy_text

    return legacy_text(key, lang, **fields)


def markdown(key: str, lang: str = "sv", **fields):
    """:func:`text` as IPython ``Markdown`` with the fields escaped."""
    from IPython.display import Markdown

    from mognad.present.markup import escape_md

    return Markdown(text(key, lang, **{k: escape_md(v) for k, v in fields.items()}))


def label(key: str, lang: str = "sv") -> str:
    """A column label of the catalogue (``cases.col.<key>``; ``all_units``), else *key*."""
    from mognad.present.catalogue import has
    from mognad.present.catalogue import text as _text

    for k in (f"cases.ic.{key}", f"cases.col.{key}", f"col.{key}"):
        if has(k, lang):
            return _text(k, lang)
    return key


def show(frame: pd.DataFrame, columns: Sequence[str] | None = None, **kwargs):
    """:func:`mognad.present.cases.show` (the escaping table renderer)."""
    from mognad.present.cases import show as _show

    return _show(frame, columns, **kwargs)


def synthetic_banner(study, lang: str = "sv"):
    """:func:`mognad.present.cases.page_start` (style sheet and banner)."""
    from mognad.present.cases import page_start

    return page_start(study, lang)


def footer(study, lang: str = "sv"):
    """:func:`mognad.present.cases.footer`."""
    from mognad.present.cases import footer as _footer

    return _footer(study, lang)


def fmt_number(x, decimals: int = 0, lang: str = "sv") -> str:
    """:func:`mognad.present.numbers.number`."""
    from mognad.present.numbers import number

    return number(x, decimals, lang)
