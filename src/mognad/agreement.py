"""Aggregation checks: may respondents' answers be averaged into one figure per organisation?

DiMiOS results are organisation-level figures built from several respondents. Three checks
justify (or question) that aggregation:

- :func:`response_rate`: how many of those invited answered.
- :func:`rwg_j`: *within-group agreement* rwg(j) (James, Demaree & Wolf 1984): do the respondents
  of one organisation agree on a multi-item scale more than random answers would?
- :func:`icc1_icc2`: ICC(1), the share of variance in respondents' scores that lies between
  groups, and ICC(2), the reliability of the group means (Bliese 2000), from a one-way ANOVA.

Inputs are the long responses DataFrame (``org_id, round, respondent_id, unit, role, item_id,
value``; ``value`` is Int64 with ``<NA>`` for "don't know") and the codebook.

References
----------
James, L. R., Demaree, R. G. & Wolf, G. (1984). Estimating within-group interrater reliability
with and without response bias. *Journal of Applied Psychology*, 69, 85-98.

Bliese, P. D. (2000). Within-group agreement, non-independence, and reliability: Implications for
data aggregation and analysis. In K. J. Klein & S. W. J. Kozlowski (Eds.), *Multilevel theory,
research, and methods in organizations* (pp. 349-381). Jossey-Bass.

LeBreton, J. M. & Senter, J. L. (2008). Answers to 20 questions about interrater reliability and
interrater agreement. *Organizational Research Methods*, 11, 815-852.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy import stats

from mognad.codebook import Codebook, load_codebook
from mognad.errors import MognadError

__all__ = ["SmallGroupWarning", "icc1_icc2", "response_rate", "rwg_j"]

LEVELS = ("category", "dimension", "total")


class SmallGroupWarning(UserWarning):
    """Some groups have fewer respondents than ``min_group_size``; their figures are unstable."""


# ---------------------------------------------------------------------------------------- helpers
def _as_tuple(cols: str | Iterable[str] | None) -> tuple[str, ...]:
    if cols is None:
        return ()
    if isinstance(cols, str):
        return (cols,)
    return tuple(cols)


def _require(frame: pd.DataFrame, cols: Iterable[str], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise MognadError(f"{what}: needs a DataFrame; got {type(frame).__name__}")
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise MognadError(
            f"{what}: missing column(s) {missing}; the table has {list(frame.columns)}"
        )


def _check_levels(levels: str | Iterable[str]) -> tuple[str, ...]:
    levels = _as_tuple(levels)
    bad = [lv for lv in levels if lv not in LEVELS]
    if bad or not levels:
        raise MognadError(f"levels must be among {LEVELS}; got {list(levels)}")
    return levels


def _clean_values(responses: pd.DataFrame, cb: Codebook, what: str) -> pd.DataFrame:
    """Responses with numeric ``value`` (NA for don't know) and the item's category/dimension."""
    _require(responses, ("respondent_id", "item_id", "value"), what)
    frame = responses.copy()
    unknown = sorted(set(frame["item_id"].dropna().astype(str)) - set(cb.item_ids))
    if unknown:
        raise MognadError(
            f"{what}: item(s) {unknown[:5]} are not in codebook {cb.id}; known items are "
            f"{cb.item_ids[0]}..{cb.item_ids[-1]}"
        )
    value = pd.to_numeric(frame["value"], errors="coerce").astype("Float64")
    value = value.mask(value.isin([float(c) for c in cb.dont_know_codes]))
    off = value.notna() & ((value < cb.scale_min) | (value > cb.scale_max))
    if off.any():
        row = frame.loc[off].iloc[0]
        raise MognadError(
            f"{what}: value {row['value']!r} for item {row['item_id']} (respondent "
            f"{row['respondent_id']}) is off the {cb.scale_min}-{cb.scale_max} scale"
        )
    frame["value"] = value.astype(float)
    items = cb.items[["item_id", "category", "dimension", "item_weight"]]
    return frame.merge(items, on="item_id", how="left", validate="many_to_one")


def _level_names(frame: pd.DataFrame, level: str) -> pd.Series:
    if level == "total":
        return pd.Series("total", index=frame.index, dtype=object)
    return frame[level]


# ---------------------------------------------------------------------------------------- response
def response_rate(
    responses: pd.DataFrame,
    invitations: pd.DataFrame,
    *,
    by: str | Iterable[str] = ("org_id", "round"),
) -> pd.DataFrame:
    """Respondents divided by invited, per group.

    Parameters
    ----------
    responses : DataFrame
        Long responses (``respondent_id`` and the ``by`` columns); a respondent counts once.
    invitations : DataFrame
        ``org_id, round, unit, invited``; ``invited`` is summed over the rows of a group (over
        units when ``unit`` is not in ``by``).
    by : str or sequence of str, default ("org_id", "round")
        Add ``"unit"`` for a rate per unit (invitations must then be recorded per unit).

    Returns
    -------
    DataFrame
        The ``by`` columns, ``n_respondents`` (Int64), ``n_invited`` (Int64, missing when the
        group has no invitation row or any of its ``invited`` is missing: a partial sum would
        overstate the rate), ``response_rate`` (Float64, 0-1, missing when ``n_invited`` is
        missing or 0) and ``warning`` (string, e.g. more respondents than invited). Groups with
        invitations but no respondents have rate 0.

    Examples
    --------
    >>> resp = pd.DataFrame({"org_id": ["1", "1", "1", "2"], "round": 2024,
    ...                      "respondent_id": ["a", "a", "b", "c"]})
    >>> inv = pd.DataFrame({"org_id": ["1", "1"], "round": 2024, "unit": ["X", "Y"],
    ...                     "invited": [3, 1]})
    >>> response_rate(resp, inv)[["org_id", "n_respondents", "n_invited", "response_rate"]]
      org_id  n_respondents  n_invited  response_rate
    0      1              2          4            0.5
    1      2              1       <NA>           <NA>
    """
    by = _as_tuple(by)
    _require(responses, (*by, "respondent_id"), "response_rate (responses)")
    _require(invitations, (*by, "invited"), "response_rate (invitations)")
    n_resp = (
        responses.groupby(list(by), dropna=False, sort=True)["respondent_id"]
        .nunique()
        .rename("n_respondents")
        .reset_index()
    )
    inv = invitations[[*by, "invited"]].copy()
    inv["invited"] = pd.to_numeric(inv["invited"], errors="coerce").astype("Float64")
    if (inv["invited"] < 0).any():
        raise MognadError("response_rate: 'invited' must not be negative")
    n_inv = (
        inv.groupby(list(by), dropna=False, sort=True)["invited"]
        .agg(lambda s: s.sum() if s.notna().all() else pd.NA)
        .rename("n_invited")
        .reset_index()
    )
    # align key dtypes (e.g. round as int in one table and Int64 in the other)
    for col in by:
        if n_resp[col].dtype != n_inv[col].dtype:
            n_inv[col] = n_inv[col].astype(n_resp[col].dtype)
    out = n_resp.merge(n_inv, on=list(by), how="outer", sort=True)
    out["n_respondents"] = out["n_respondents"].fillna(0).astype("Int64")
    out["n_invited"] = pd.to_numeric(out["n_invited"]).astype("Float64").round().astype("Int64")
    inv_f = out["n_invited"].astype("Float64")
    rate = out["n_respondents"].astype("Float64") / inv_f.where(inv_f > 0)
    out["response_rate"] = rate.astype("Float64")
    warn = pd.Series(pd.NA, index=out.index, dtype="string")
    warn[out["n_invited"].isna()] = "invitations unknown"
    warn[(out["n_invited"] == 0).fillna(False)] = "no one invited"
    warn[(out["response_rate"] > 1).fillna(False)] = "more respondents than invited"
    out["warning"] = warn
    return out.reset_index(drop=True)


# ---------------------------------------------------------------------------------------- rwg(j)
def rwg_j(
    responses: pd.DataFrame,
    *,
    codebook: str | Codebook | None = None,
    by: str | Iterable[str] = ("org_id", "round"),
    levels: str | Iterable[str] = ("category",),
    null_variance: float | None = None,
    min_group_size: int = 5,
) -> pd.DataFrame:
    """Within-group agreement rwg(j) per group and category (James, Demaree & Wolf 1984).

    For a group and a scale of ``J`` items::

        ratio  = mean item variance / null variance
        rwg(j) = J (1 - ratio) / (J (1 - ratio) + ratio)

    The item variances are sample variances (``ddof=1``) over the group's respondents who
    answered the item ("don't know" is left out item by item); items with fewer than two answers
    are left out and ``J`` counts the rest. The null variance is that of a uniform answer on an
    ``A``-point scale, ``(A**2 - 1) / 12`` (35/12 for six points).

    **Truncation.** When the observed variance exceeds the null variance (more disagreement than
    random answering), the formula leaves [0, 1] (it can turn negative or jump above 1). As is
    usual (James et al. 1984; LeBreton & Senter 2008; R ``multilevel::rwg.j``) the mean variance
    is then capped at the null variance, which gives rwg(j) = 0; ``truncated`` marks those rows
    and ``rwg_j_raw`` keeps the untruncated value.

    Parameters
    ----------
    responses : DataFrame
        Long responses (``respondent_id, item_id, value`` and the ``by`` columns).
    codebook : str, Codebook or None
        Item -> category/dimension and the answer scale; ``None`` for the default codebook.
    by : str or sequence of str, default ("org_id", "round")
        The groups whose agreement is measured (add ``"unit"`` for units).
    levels : str or sequence of str, default ("category",)
        Scales to assess: ``"category"``, ``"dimension"`` (all items of a dimension) and/or
        ``"total"`` (all items).
    null_variance : float, optional
        Expected variance under no agreement; default uniform ``(A**2 - 1) / 12``. Give a smaller
        value for a skewed null distribution (LeBreton & Senter 2008, table 2).
    min_group_size : int, default 5
        Groups with fewer respondents get a ``warning`` (and a :class:`SmallGroupWarning`).

    Returns
    -------
    DataFrame
        ``by`` columns, ``level``, ``name``, ``n_respondents``, ``n_items`` (J),
        ``mean_item_variance``, ``null_variance``, ``rwg_j_raw``, ``rwg_j`` (in [0, 1]; missing
        with fewer than two respondents), ``truncated`` and ``warning``.

    Examples
    --------
    Two respondents, two items of one category, answers (4, 5) and (5, 5): item variances 0.5
    and 0, mean 0.25, ratio 0.25 / (35/12) = 3/35, rwg(j) = 2 (32/35) / (2 (32/35) + 3/35)
    = 64/67:

    >>> resp = pd.DataFrame({"org_id": "1", "round": 2024, "respondent_id": ["a", "a", "b", "b"],
    ...                      "item_id": ["q01", "q02", "q01", "q02"],
    ...                      "value": pd.array([4, 5, 5, 5], dtype="Int64")})
    >>> out = rwg_j(resp, min_group_size=2)
    >>> out[["name", "n_respondents", "n_items", "rwg_j"]].round(4)
               name  n_respondents  n_items   rwg_j
    0  effektivitet              2        2  0.9552
    >>> round(64 / 67, 4)
    0.9552
    """
    cb = load_codebook(codebook)
    by = _as_tuple(by)
    levels = _check_levels(levels)
    _require(responses, by, "rwg_j")
    frame = _clean_values(responses, cb, "rwg_j")
    a = cb.scale_max - cb.scale_min + 1
    sigma2 = (a**2 - 1) / 12.0 if null_variance is None else float(null_variance)
    if not sigma2 > 0:
        raise MognadError(f"rwg_j: null_variance must be positive; got {null_variance!r}")

    answered = frame[frame["value"].notna()]
    item_var = (
        answered.groupby([*by, "item_id"], dropna=False, observed=True)["value"]
        .var(ddof=1)
        .rename("var")
        .reset_index()
        .merge(cb.items[["item_id", "category", "dimension"]], on="item_id")
    )
    rows = []
    for level in levels:
        iv = item_var.assign(name=_level_names(item_var, level)).dropna(subset=["var"])
        stat = (
            iv.groupby([*by, "name"], dropna=False, observed=True)
            .agg(mean_item_variance=("var", "mean"), n_items=("var", "size"))
            .reset_index()
        )
        ans = answered.assign(name=_level_names(answered, level))
        n_resp = (
            ans.groupby([*by, "name"], dropna=False, observed=True)["respondent_id"]
            .nunique()
            .rename("n_respondents")
            .reset_index()
        )
        merged = n_resp.merge(stat, on=[*by, "name"], how="left")
        merged.insert(len(by), "level", level)
        rows.append(merged)
    out = pd.concat(rows, ignore_index=True)

    j = out["n_items"].astype(float)
    ratio = out["mean_item_variance"].astype(float) / sigma2
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = j * (1 - ratio) / (j * (1 - ratio) + ratio)
        capped = np.minimum(ratio, 1.0)
        rwg = j * (1 - capped) / (j * (1 - capped) + capped)
    too_few = out["n_respondents"] < 2
    out["n_items"] = out["n_items"].fillna(0).astype("Int64")
    out["null_variance"] = sigma2
    out["rwg_j_raw"] = raw.where(~too_few & ratio.notna())
    out["rwg_j"] = rwg.clip(0.0, 1.0).where(~too_few & ratio.notna())
    out["truncated"] = (ratio > 1).fillna(False).astype(bool) & ~too_few
    out["n_respondents"] = out["n_respondents"].astype("Int64")
    warn = pd.Series(pd.NA, index=out.index, dtype="string")
    small = out["n_respondents"] < min_group_size
    warn[small] = (
        "n=" + out.loc[small, "n_respondents"].astype(str)
        + f" < {min_group_size}: rwg(j) is unstable"
    )
    warn[out["truncated"]] = "observed variance above the null variance: truncated to 0"
    warn[too_few] = "fewer than 2 respondents: rwg(j) undefined"
    out["warning"] = warn
    n_small = out.loc[small, list(by)].drop_duplicates().shape[0]
    if n_small:
        warnings.warn(
            f"rwg_j: {n_small} group(s) have fewer than {min_group_size} respondents; see the "
            "'warning' column",
            SmallGroupWarning,
            stacklevel=2,
        )
    cols = [*by, "level", "name", "n_respondents", "n_items", "mean_item_variance",
            "null_variance", "rwg_j_raw", "rwg_j", "truncated", "warning"]
    return out[cols].sort_values([*by, "level", "name"], kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------------------- ICC
def _one_way(values: np.ndarray, groups: np.ndarray) -> dict:
    """One-way ANOVA mean squares and Bliese's ICC(1)/ICC(2) with the adjusted group size."""
    labels, inverse = np.unique(groups, return_inverse=True)
    n_g = np.bincount(inverse).astype(float)
    sums = np.bincount(inverse, weights=values)
    means = sums / n_g
    n, g = float(len(values)), float(len(labels))
    grand = values.mean() if n else np.nan
    ssb = float(np.sum(n_g * (means - grand) ** 2))
    ssw = float(np.sum((values - means[inverse]) ** 2))
    df_b, df_w = g - 1, n - g
    out = {
        "n_groups": int(g), "n_respondents": int(n), "df_between": int(df_b),
        "df_within": int(df_w), "ms_between": np.nan, "ms_within": np.nan, "k_adjusted": np.nan,
        "f": np.nan, "p_value": np.nan, "icc1": np.nan, "icc2": np.nan,
    }
    if df_b < 1 or df_w < 1:
        return out
    msb, msw = ssb / df_b, ssw / df_w
    k0 = (n - np.sum(n_g**2) / n) / df_b
    out.update(ms_between=msb, ms_within=msw, k_adjusted=k0)
    if msw > 0:
        out["f"] = msb / msw
        out["p_value"] = float(stats.f.sf(msb / msw, df_b, df_w))
    denom = msb + (k0 - 1) * msw
    if denom > 0:
        out["icc1"] = (msb - msw) / denom
    if msb > 0:
        out["icc2"] = (msb - msw) / msb
    return out


def icc1_icc2(
    responses: pd.DataFrame,
    *,
    codebook: str | Codebook | None = None,
    group: str = "org_id",
    by: str | Iterable[str] | None = ("round",),
    levels: str | Iterable[str] = LEVELS,
    min_group_size: int = 5,
    drop_small: bool = False,
) -> pd.DataFrame:
    """ICC(1) and ICC(2) of respondents' scores in groups, from a one-way ANOVA (Bliese 2000).

    With ``G`` groups, ``N`` respondents, group sizes ``n_g`` and the ANOVA mean squares between
    (``MSB``, df ``G - 1``) and within (``MSW``, df ``N - G``)::

        k0     = (N - sum(n_g**2) / N) / (G - 1)      # adjusted group size; = n if all equal
        ICC(1) = (MSB - MSW) / (MSB + (k0 - 1) MSW)
        ICC(2) = (MSB - MSW) / MSB                    # = Spearman-Brown of ICC(1) at k0

    ICC(1) and ICC(2) are not truncated: a negative value means less variance between groups than
    chance would give. Note that R's ``multilevel::ICC1`` uses the mean group size ``N / G``
    instead of ``k0``; the two agree when all groups are the same size.

    Parameters
    ----------
    responses : DataFrame
        Long responses (``respondent_id, item_id, value``, ``group`` and ``by`` columns), scored
        per respondent as described below. Alternatively respondent-level scores with columns
        ``respondent_id, level, name, score_pct`` (used as given).
    codebook : str, Codebook or None
        Used to score respondents; ``None`` for the default codebook.
    group : str, default "org_id"
        The groups respondents are aggregated to (``"unit"`` for units within an organisation).
        Respondents with a missing group are left out.
    by : str, sequence of str or None, default ("round",)
        Separate analyses (one ANOVA per round, or per ``("org_id", "round")`` for units).
    levels : str or sequence of str, default ("category", "dimension", "total")
    min_group_size : int, default 5
        Groups with fewer respondents are counted in ``n_small_groups``, named in ``warning`` and
        reported with a :class:`SmallGroupWarning`.
    drop_small : bool, default False
        Leave the small groups out of the ANOVA instead of only flagging them.

    Returns
    -------
    DataFrame
        ``by`` columns, ``level``, ``name``, ``n_groups``, ``n_respondents``, ``df_between``,
        ``df_within``, ``ms_between``, ``ms_within``, ``k_adjusted``, ``f``, ``p_value``,
        ``icc1``, ``icc2``, ``n_small_groups`` and ``warning``.

    Notes
    -----
    Respondent scores come from :func:`mognad.scoring.respondent_scores`: a category is the weighted
    mean of the answered items (weights renormalised over the answered ones), missing with fewer
    than ``codebook.min_items_per_category`` answers; a dimension is the weighted mean of its
    category scores and missing if any is missing; the total likewise from the dimensions; all in
    percent of optimal (a linear map, which leaves ICCs unchanged).

    Examples
    --------
    Groups {1, 2, 3} and {4, 5, 6}: MSB = 13.5, MSW = 1, k0 = 3, so ICC(1) = 12.5 / 15.5 and
    ICC(2) = 12.5 / 13.5:

    >>> scores = pd.DataFrame({"round": 2024, "org_id": list("aaabbb"),
    ...                        "respondent_id": list("uvwxyz"), "level": "total",
    ...                        "name": "total", "score_pct": [1.0, 2, 3, 4, 5, 6]})
    >>> out = icc1_icc2(scores, min_group_size=3)
    >>> out[["ms_between", "ms_within", "icc1", "icc2"]].round(4)
       ms_between  ms_within    icc1    icc2
    0        13.5        1.0  0.8065  0.9259
    """
    by = _as_tuple(by)
    levels = _check_levels(levels)
    keys = tuple(dict.fromkeys((*by, group)))
    _require(responses, (*keys, "respondent_id"), "icc1_icc2")
    if {"level", "name", "score_pct"} <= set(responses.columns):
        scores = responses[[*keys, "respondent_id", "level", "name", "score_pct"]]
        scores = scores[scores["level"].isin(levels)]
    else:
        from mognad.scoring import respondent_scores

        scores = respondent_scores(responses, codebook=load_codebook(codebook),
                                   by=tuple(k for k in keys if k != "respondent_id"),
                                   levels=list(levels))
    scores = scores[scores["score_pct"].notna() & scores[group].notna()]
    dup = scores.duplicated(subset=[*keys, "respondent_id", "level", "name"])
    if dup.any():
        raise MognadError("icc1_icc2: a respondent has more than one score for the same name")

    rows, small_total = [], 0
    split = [*by, "level", "name"]
    for key, sub in scores.groupby(split, dropna=False, sort=True, observed=True):
        key = key if isinstance(key, tuple) else (key,)
        sizes = sub.groupby(group, observed=True).size()
        small = sizes[sizes < min_group_size]
        if drop_small and len(small):
            sub = sub[~sub[group].isin(small.index)]
        res = _one_way(sub["score_pct"].to_numpy(float), sub[group].astype(str).to_numpy())
        notes = []
        if len(small):
            small_total += len(small)
            names = ", ".join(map(str, small.index[:5])) + (", ..." if len(small) > 5 else "")
            verb = "left out" if drop_small else "kept"
            notes.append(
                f"{len(small)} of {len(sizes)} groups have fewer than {min_group_size} "
                f"respondents ({names}; {verb})"
            )
        if res["n_groups"] < 2:
            notes.append("fewer than 2 groups: ICC undefined")
        elif res["df_within"] < 1:
            notes.append("no group has 2 respondents: ICC undefined")
        rows.append(
            dict(zip(split, key, strict=True))
            | res
            | {"n_small_groups": len(small), "warning": "; ".join(notes) or pd.NA}
        )
    cols = [*split, "n_groups", "n_respondents", "df_between", "df_within", "ms_between",
            "ms_within", "k_adjusted", "f", "p_value", "icc1", "icc2", "n_small_groups", "warning"]
    out = pd.DataFrame(rows, columns=cols)
    out["warning"] = out["warning"].astype("string")
    if small_total:
        warnings.warn(
            f"icc1_icc2: groups with fewer than {min_group_size} respondents in "
            f"{int((out['n_small_groups'] > 0).sum())} analyses; see the 'warning' column",
            SmallGroupWarning,
            stacklevel=2,
        )
    return out
