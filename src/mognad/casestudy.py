"""Case studies: transformation around an event, training evaluation and internal comparison.

The analyses behind the case-study notebooks (``notebooks/*_case.ipynb``,
``notebooks/training_evaluation.ipynb``, ``notebooks/internal_comparison.ipynb``); governance
and pacing live in :mod:`mognad.governance`, the input formats in :mod:`mognad.io.governance`.
The numbers of one report are gathered by :mod:`mognad.views.cases`, its tables, texts and
figures are :mod:`mognad.present.cases`. Analyses return numbers and codes, never prose.

- **Transformation** (a reorganisation such as an IT split): :func:`category_trajectory` (the
  organisation's DiMiOS categories per round against comparison organisations),
  :func:`difference_in_differences` (against the comparison organisations' round effects),
  :func:`budget_trend` (resources over time), :func:`initiative_shares`
  (decentralisation: initiatives owned by business units; coordination: initiatives aligned with
  a strategic priority; Wilson intervals).
- **Training evaluation**: :func:`training_effects` (paired pre/post per item, category,
  dimension and total; mean change with a t interval, Cohen's d_z with a noncentral-t interval,
  Wilcoxon signed-rank test; by function under disclosure control) and
  :func:`course_challenges` (the course's challenges as tagged qualitative outcomes).
- **Internal comparison**: :func:`internal_comparison` (units of one organisation at any depth
  with mean, SD, IQR and rwg(j), under the organisation-round's publication plan; a wrapper of
  :func:`mognad.internal.compare_groups`, which the organisation report uses too) and
  :func:`unit_agreement` (ICC over the units shown).

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
    "difference_in_differences",
    "event_orgs",
    "initiative_shares",
    "internal_comparison",
    "internal_rounds",
    "linked_participants",
    "paired_scores",
    "pick_internal_org",
    "training_effects",
    "unit_agreement",
    "unit_contrast",
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


def difference_in_differences(study, org_id: str, *, event_date, first_round: int | None = None,
                              comparison: str | Sequence[str] = "org_type",
                              levels: Sequence[str] = ("category", "dimension", "total"),
                              ci: float = 0.95) -> pd.DataFrame:
    """Change in an organisation's scores after an event, net of the comparison organisations.

    The design is a **difference in differences** on organisation-round scores (column
    ``design``); :func:`mognad.longitudinal.pre_post_change` is the respondent-level
    before/after comparison of the same event (design ``pre_post``, with a national
    adjustment). Both are legitimate; a report says which one it shows.

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
        ``design`` (``"difference_in_differences"``), ``level, name, n_before, n_after``
        (rounds), ``naive_change`` (after minus before, unadjusted), ``change`` (the effect,
        percentage points), ``se``, ``df``, ``ci_low``, ``ci_high``, ``n_comparison``
        (organisations).
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
        row = {"design": "difference_in_differences", "level": level, "name": name,
               "n_before": len(pre), "n_after": len(post),
               "naive_change": (raw_post.mean() - raw_pre.mean()) if len(pre) and len(post)
               else np.nan,
               "change": (post.mean() - pre.mean()) if len(pre) and len(post) else np.nan,
               "n_comparison": int(others["org_id"].nunique())}
        df = len(pre) + len(post) - 2
        if len(pre) and len(post) and df >= 1:
            ss = ((pre - pre.mean()) ** 2).sum() + ((post - post.mean()) ** 2).sum()
            se = math.sqrt(ss / df * (1 / len(pre) + 1 / len(post)))
            half = stats.t.ppf(0.5 + ci / 2, df) * se
            row |= {"se": se, "df": df, "ci_low": row["change"] - half,
                    "ci_high": row["change"] + half}
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
    from statsmodels.regression.linear_model import OLS

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
        res = OLS(np.log(sh["total_sek"].to_numpy(float)), X).fit()
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

    Scores are :func:`mognad.scoring.respondent_scores` of each participant and phase (a
    category is the weighted mean of the answered items, missing with fewer than the codebook's
    minimum; don't know is missing), in percent of optimal.

    Returns
    -------
    DataFrame
        ``org_id, course, participant, function, level, name, score_pre, score_post, change``
        (missing where a phase is missing).
    """
    from mognad.codebook import load_codebook
    from mognad.scoring import respondent_scores

    _require(training, ("org_id", "course", "participant", "phase", "item_id", "value"),
             "paired_scores")
    cb = load_codebook(codebook) if not hasattr(codebook, "item_ids") else codebook
    sc = respondent_scores(training, codebook=cb, by=["org_id", "course", "phase"],
                           respondent="participant", levels=list(levels))
    wide = sc.pivot_table(index=["org_id", "course", "participant", "level", "name"],
                          columns="phase", values="score_pct", dropna=False).reset_index()
    for phase in ("pre", "post"):
        if phase not in wide:
            wide[phase] = np.nan
    wide = wide.rename(columns={"pre": "score_pre", "post": "score_post"})
    wide.columns.name = None
    func = (training.drop_duplicates(["org_id", "course", "participant"])
            .set_index(["org_id", "course", "participant"])["function"]
            if "function" in training else None)
    wide["function"] = (wide.set_index(["org_id", "course", "participant"]).index.map(func)
                        if func is not None else pd.NA)
    wide["change"] = wide["score_post"] - wide["score_pre"]
    wide = wide.dropna(subset=["score_pre", "score_post"], how="all")
    order = {lv: i for i, lv in enumerate(("total", "dimension", "category", "item"))}
    names = {("item", i): n for n, i in enumerate(cb.item_ids)}
    names |= {("category", c): n for n, c in enumerate(cb.categories["category"])}
    names |= {("dimension", d): n for n, d in enumerate(cb.dimensions["dimension"])}
    wide["_o"] = wide["level"].map(order) * 1000 + [names.get(k, 0) for k in zip(
        wide["level"], wide["name"], strict=True)]
    wide = wide.sort_values(["org_id", "course", "_o", "participant"]).drop(columns="_o")
    cols = ["org_id", "course", "participant", "function", "level", "name", "score_pre",
            "score_post", "change"]
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
    out = {"n_pairs": n, "score_pre": pre.mean() if n else np.nan,
           "score_post": post.mean() if n else np.nan, "change": diff.mean() if n else np.nan,
           "sd_change": diff.std(ddof=1) if n >= 2 else np.nan}
    if n >= 2 and out["sd_change"] > 0:
        half = stats.t.ppf(0.5 + ci / 2, n - 1) * out["sd_change"] / math.sqrt(n)
        d = out["change"] / out["sd_change"]
        lo, hi = _dz_interval(d, n, ci)
        out |= {"ci_low": out["change"] - half, "ci_high": out["change"] + half,
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


_EFFECT_VALUES = ("score_pre", "score_post", "change", "sd_change", "ci_low", "ci_high", "d_z",
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
        (``group``,) ``level, name, n_pairs, score_pre, score_post, change, sd_change, ci_low,
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
    >>> out[["name", "n_pairs", "score_pre", "score_post", "change"]].round(2)
        name  n_pairs  score_pre  score_post  change
    0  total        5     40.0     60.13      20.13
    """
    from mognad.disclosure import check_disclosure, suppress

    scores = paired_scores(training, codebook=codebook, levels=levels)
    both = scores.dropna(subset=["score_pre", "score_post"])
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
        stats_ = _paired_stats(g["score_pre"].to_numpy(float), g["score_post"].to_numpy(float),
                               ci)
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
_UNIT_COLUMNS = ("unit", "depth", "parent", "n_respondents", *_UNIT_VALUES)


def _latest_round(study, org_id: str) -> int:
    rounds = study.sql("SELECT DISTINCT round FROM respondents WHERE org_id = ? ORDER BY round",
                       [org_id])["round"]
    if not len(rounds):
        raise MognadError(f"organisation {org_id} has no survey responses in this study")
    return int(rounds.iloc[-1])


def internal_comparison(study, org_id: str, *, round: int | None = None, k_min: int = 5,
                        depth: int | None = None, method: str | None = None, n_boot: int = 1000,
                        seed: int = 0) -> dict:
    """Units of one organisation compared, with dispersion and agreement, under disclosure
    control.

    A study-aware wrapper of :func:`mognad.internal.compare_groups`, the same function (same
    publication plan, figures and intervals) as the organisation report's units. Per shown unit
    node down to ``depth`` (each the aggregate of everyone in its subtree): the total score with
    the interval of :func:`mognad.scoring.score`, the SD and quartiles (IQR) of the respondents'
    totals and rwg(j) over all items. Which units are shown is decided once for the
    organisation-round over every depth of the hierarchy and the roles
    (:func:`mognad.disclosure.publication_plan`), so this report at any ``depth`` and the
    organisation report together reveal no group of fewer than ``k_min``; hidden units are left
    out (not even their names). ICC(1)/ICC(2) are computed over the finest shown units only.

    Parameters
    ----------
    study : Study
    org_id : str
    round : int, optional
        Default the organisation's latest round.
    k_min : int, default 5
    depth : int, optional
        Show units down to this depth of the unit path (``1``: top-level units, each with
        everyone below it); default every depth.
    method : str, optional
        Interval method of :func:`mognad.scoring.score` (default: its default).
    n_boot, seed : int

    Returns
    -------
    dict
        ``units`` (DataFrame of the shown units in tree order: ``unit, depth, parent,
        n_respondents`` and the values ``score_pct, ci_low, ci_high, sd, q1, median, q3, iqr,
        rwg_j``), ``organisation`` (one row with the same columns for all respondents, ``unit``
        = ``"all_units"``), ``n_hidden`` and ``n_units`` (unit nodes down to ``depth``),
        ``round``, ``k_min``, ``depth``, ``icc1``, ``icc2``. Nothing respondent-level.
    """
    round = _latest_round(study, org_id) if round is None else int(round)
    result = _unit_view(study, org_id, round, k_min=k_min, depth=depth, method=method,
                        n_boot=n_boot, seed=seed)
    if result is None:
        raise MognadError(f"organisation {org_id} has fewer than k_min={k_min} respondents in "
                          f"round {round}: nothing of it can be shown")
    return result


def _unit_view(study, org_id: str, round: int, **kw) -> dict | None:
    """:func:`internal_comparison` of one round, ``None`` when the organisation total itself
    has fewer than ``k_min`` respondents."""
    from mognad.internal import compare_groups

    resp = study.responses_for(org_id=org_id, round=round)
    if not len(resp):
        raise MognadError(f"organisation {org_id} has no responses in round {round}")
    res = compare_groups(resp, codebook=study.codebook, roles=False, **kw)
    if not len(res.organisation()):
        return None
    units = res.units()
    units["n_respondents"] = units["n_respondents"].astype("int64")
    org = res.organisation().assign(unit="all_units", depth=0, parent=pd.NA)
    return {
        "units": units[list(_UNIT_COLUMNS)],
        "organisation": org[list(_UNIT_COLUMNS)],
        "n_hidden": res.n_hidden_units,
        "n_units": res.n_units,
        "round": round, "k_min": res.k_min, "depth": res.depth, "icc1": res.icc1,
        "icc2": res.icc2,
    }


def internal_rounds(study, org_id: str, *, rounds: Sequence[int] | None = None,
                    k_min: int = 5, depth: int | None = None, method: str | None = None,
                    n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """:func:`internal_comparison` for several rounds (follow-up measurements), long.

    Each round has its own respondents and so its own publication plan; a round with fewer than
    ``k_min`` respondents is left out. Returns ``round, unit, depth, n_respondents, score_pct,
    ci_low, ci_high, sd, iqr, rwg_j`` for the units shown in each round.
    """
    if rounds is None:
        rounds = study.sql("SELECT DISTINCT round FROM respondents WHERE org_id = ? ORDER BY 1",
                           [org_id])["round"].astype(int).tolist()
    parts = []
    for r in rounds:
        res = _unit_view(study, org_id, int(r), k_min=k_min, depth=depth, method=method,
                         n_boot=n_boot, seed=seed)
        if res is not None:  # a round with fewer than k_min respondents shows nothing
            parts.append(res["units"].assign(round=int(r)))
    cols = ["round", "unit", "depth", "n_respondents", "score_pct", "ci_low", "ci_high", "sd",
            "iqr", "rwg_j"]
    if not parts:
        return pd.DataFrame(columns=cols)
    return pd.concat(parts, ignore_index=True)[cols]


def unit_contrast(result: Mapping, unit_a: str, unit_b: str, *, ci: float = 0.95) -> dict:
    """Difference between two *shown* units' mean totals, with a Welch t interval.

    Only units that :func:`internal_comparison` shows can be contrasted; asking for a hidden
    unit raises (its figures must not be used), and so does a unit and one of its sub-units
    (they share respondents, so the samples are not independent).

    Examples
    --------
    >>> res = {"units": pd.DataFrame({"unit": ["A", "B"], "n_respondents": [8, 5],
    ...                               "score_pct": [70.0, 45.0], "sd": [10.0, 15.0]})}
    >>> out = unit_contrast(res, "A", "B")
    >>> round(out["difference"], 1), round(out["ci_low"], 1), round(out["ci_high"], 1)
    (25.0, 6.6, 43.4)
    """
    from mognad.intervals import welch_from_summary

    units = result["units"].set_index("unit")
    for u in (unit_a, unit_b):
        if u not in units.index:
            raise MognadError(f"unit {u!r} is not shown (too few respondents, or hidden to "
                              "protect another unit); it cannot be contrasted")
    if unit_a == unit_b or unit_a.startswith(unit_b + "/") or unit_b.startswith(unit_a + "/"):
        raise MognadError(f"units {unit_a!r} and {unit_b!r} share respondents (one contains "
                          "the other); contrast units that do not overlap")
    a, b = units.loc[unit_a], units.loc[unit_b]
    w = welch_from_summary(a["score_pct"], a["sd"], a["n_respondents"], b["score_pct"], b["sd"],
                           b["n_respondents"], ci=ci)
    return {"difference": w["change"], "se": w["se"], "df": w["df"], "ci_low": w["ci_low"],
            "ci_high": w["ci_high"]}


def unit_agreement(result: Mapping) -> dict:
    """ICC(1) and ICC(2) of an :func:`internal_comparison` result (over the shown units)."""
    return {"icc1": result["icc1"], "icc2": result["icc2"]}


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
