"""Peer benchmarks as the DiMiOS tool shows them: the organisation against similar organisations.

Inputs are the organisation-level score table (from :func:`mognad.scoring.score` with the default
``by=("org_id", "round")``: ``org_id, round, level, name, score_pct, ci_low, ci_high, ...``) and
the organisations registry (``org_id, org_type, county_code, kommungrupp, size_class, ...``).

- :func:`peer_distribution`: national and peer-group distributions per round (number of
  organisations, mean, standard deviation, quartiles).
- :func:`compare_to_peers`: one organisation against its peer group: percentile rank and the
  difference to the peer mean with a confidence interval.
- :func:`compare_to_peer_groups`: the same against several groupings at once (e.g. all
  organisations, the organisation type and the municipality group), side by side.
- :func:`similar_organisations`: the default grouping of "similar organisations" for one
  organisation (municipalities: their municipality group; others: their organisation type).
- :func:`weakest_categories`: the categories in which the organisation lies furthest below its
  peers (the tool's "three weakest categories").

Peer groups with fewer than ``min_orgs`` organisations in a round are merged upwards by
:func:`mognad.disclosure.merge_small_peer_groups` (kommungrupp ``A1`` -> ``A`` -> all
municipalities; county, organisation type or size class -> ``riket``, the national group).
A merged group contains every organisation below it: an A1 municipality merged into ``A`` is
compared with all A municipalities.

Definitions
-----------
*Percentile rank* of an organisation with score ``x`` among its ``n`` peers (the organisation
itself excluded)::

    percentile_rank = 100 * (#peers below x + 0.5 * #peers equal to x) / n

(``scipy.stats.percentileofscore(peers, x, kind="mean")``): 0 below every peer, 100 above every
peer, 50 in the middle.

*Difference to peers*: ``score - mean(peers)``, peers excluding the organisation. Its standard
error combines the organisation's own uncertainty, read from its interval assuming normality
(``se = (ci_high - ci_low) / (2 z)``, ``z`` the normal quantile of the interval's level), with
the standard error of the peer mean (``sd / sqrt(n)``): ``se_diff = sqrt(se_org**2 +
se_peer**2)``; the interval is ``difference +/- z * se_diff``.

Quartiles use linear interpolation between order statistics (numpy's default, R type 7).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy import stats

from mognad.disclosure import NATIONAL, merge_small_peer_groups, peer_members
from mognad.errors import MognadError

__all__ = ["compare_to_peer_groups", "compare_to_peers", "peer_distribution",
           "similar_organisations", "weakest_categories"]

LEVELS = ("category", "dimension", "total", "item")
_BREAKDOWNS = ("unit", "role")  # rows with these set are not organisation-level figures


# ---------------------------------------------------------------------------------------- helpers
def _as_tuple(cols: str | Iterable[str] | None) -> tuple[str, ...]:
    if cols is None:
        return ()
    if isinstance(cols, str):
        return (cols,)
    return tuple(cols)


def _org_scores(scores: pd.DataFrame, *, value: str, org: str, round_col: str,
                levels: tuple[str, ...] | None, round=None) -> pd.DataFrame:
    """Organisation-level rows of the score table, checked (only *round*'s when given: a
    comparison within one round neither copies nor checks the other rounds)."""
    if not isinstance(scores, pd.DataFrame):
        raise MognadError(f"scores must be a DataFrame; got {type(scores).__name__}")
    need = [org, round_col, "level", "name", value]
    missing = [c for c in need if c not in scores.columns]
    if missing:
        raise MognadError(
            f"the score table lacks column(s) {missing}; it has {list(scores.columns)} "
            "(expected the output of mognad.scoring.score)"
        )
    frame = scores if round is None else scores[scores[round_col] == round]
    for col in _BREAKDOWNS:
        if col in frame.columns:
            frame = frame[frame[col].isna()]
    if levels is not None:
        bad = [lv for lv in levels if lv not in LEVELS]
        if bad:
            raise MognadError(f"level must be among {LEVELS}; got {bad}")
        frame = frame[frame["level"].isin(levels)]
    dup = frame.duplicated(subset=[org, round_col, "level", "name"])
    if dup.any():
        row = frame.loc[dup].iloc[0]
        raise MognadError(
            f"the score table has more than one row for {org}={row[org]!r}, "
            f"{round_col}={row[round_col]!r}, {row['level']}/{row['name']}; pass organisation-level "
            "scores (one row per organisation, round, level and name)"
        )
    frame = frame.copy()
    frame[value] = pd.to_numeric(frame[value], errors="coerce").astype(float)
    return frame


def _registry(organisations: pd.DataFrame, peer: str | None, org: str) -> pd.DataFrame:
    if not isinstance(organisations, pd.DataFrame):
        raise MognadError(f"organisations must be a DataFrame; got {type(organisations).__name__}")
    need = [org] + ([peer] if peer else [])
    missing = [c for c in need if c not in organisations.columns]
    if missing:
        raise MognadError(
            f"organisations lacks column(s) {missing}; it has {list(organisations.columns)}"
        )
    dup = organisations[org].duplicated()
    if dup.any():
        raise MognadError(
            f"organisations lists {org} {organisations.loc[dup, org].iloc[0]!r} more than once"
        )
    return organisations


def _round_peers(frame: pd.DataFrame, organisations: pd.DataFrame, *, peer: str | None,
                 org: str, value: str, min_orgs: int, hierarchy) -> pd.DataFrame:
    """The organisations with a score in one round, with their merged ``peer_group``."""
    present = frame.loc[frame[value].notna(), org].drop_duplicates()
    unknown = sorted(set(present.astype(str)) - set(organisations[org].astype(str)))
    if unknown:
        raise MognadError(
            f"organisation(s) {unknown[:5]} have scores but are not in the organisations registry"
        )
    orgs = organisations[organisations[org].isin(present)].reset_index(drop=True)
    if peer is None:
        orgs = orgs.assign(peer_group=NATIONAL if len(orgs) >= min_orgs else pd.NA)
        return orgs
    merged, _ = merge_small_peer_groups(orgs, column=peer, min_orgs=min_orgs, hierarchy=hierarchy)
    return merged


def _members(orgs: pd.DataFrame, label, *, peer: str | None, hierarchy) -> pd.Series:
    if peer is None or label == NATIONAL:
        return pd.Series(True, index=orgs.index)
    return peer_members(orgs, label, column=peer, hierarchy=hierarchy)


def _describe(x: np.ndarray) -> dict:
    n = len(x)
    if n == 0:
        return {"n_orgs": 0, "mean": np.nan, "sd": np.nan, "q1": np.nan, "median": np.nan,
                "q3": np.nan}
    q1, med, q3 = np.percentile(x, [25, 50, 75])
    return {
        "n_orgs": n,
        "mean": float(np.mean(x)),
        "sd": float(np.std(x, ddof=1)) if n > 1 else np.nan,
        "q1": float(q1),
        "median": float(med),
        "q3": float(q3),
    }


def _z(ci: float) -> float:
    if not 0 < ci < 1:
        raise MognadError(f"ci must be between 0 and 1; got {ci!r}")
    return float(stats.norm.ppf(0.5 + ci / 2))


# ---------------------------------------------------------------------------------------- API
def peer_distribution(
    scores: pd.DataFrame,
    organisations: pd.DataFrame,
    *,
    peer: str | None = "org_type",
    level: str | Iterable[str] | None = "category",
    value: str = "score_pct",
    min_orgs: int = 5,
    hierarchy="default",
    org: str = "org_id",
    round_col: str = "round",
) -> pd.DataFrame:
    """National and peer-group distributions of organisation scores, per round.

    Parameters
    ----------
    scores : DataFrame
        Organisation-level score table (rows with a ``unit`` or ``role`` are ignored).
    organisations : DataFrame
        The registry: ``org_id`` and the ``peer`` column.
    peer : str or None, default "org_type"
        Peer grouping: ``org_type``, ``kommungrupp``, ``county_code``, ``size_class`` (any
        column of ``organisations``); ``None`` for the national distribution only.
    level : str, sequence of str or None, default "category"
        Levels of the score table to describe (``None``: all).
    value : str, default "score_pct"
    min_orgs : int, default 5
        Smallest group described: smaller peer groups are merged upwards (see
        :func:`mognad.disclosure.merge_small_peer_groups`), and a row with fewer organisations
        with a value (e.g. after suppression) has ``shown`` false and missing statistics.
    hierarchy : "default", mapping, callable or None
        Passed to :func:`~mognad.disclosure.merge_small_peer_groups`.
    org, round_col : str
        Column names of the organisation id and the round.

    Returns
    -------
    DataFrame
        ``round``, ``level``, ``name``, ``peer`` (the peer column, or ``"national"``),
        ``peer_group`` (``"riket"`` for national), ``n_orgs``, ``mean``, ``sd`` (``ddof=1``),
        ``q1``, ``median``, ``q3`` and ``shown``. National rows come first in each round.

    Examples
    --------
    >>> scores = pd.DataFrame({"org_id": list("abcdef"), "round": 2024, "level": "total",
    ...                        "name": "total", "score_pct": [40.0, 50, 50, 60, 70, 80]})
    >>> orgs = pd.DataFrame({"org_id": list("abcdef"), "org_type": "kommun"})
    >>> out = peer_distribution(scores, orgs, level="total")
    >>> out[["peer", "peer_group", "n_orgs", "mean", "q1", "median", "q3"]].round(2)
           peer peer_group  n_orgs   mean    q1  median    q3
    0  national      riket       6  58.33  50.0    55.0  67.5
    1  org_type     kommun       6  58.33  50.0    55.0  67.5
    """
    levels = None if level is None else _as_tuple(level)
    frame = _org_scores(scores, value=value, org=org, round_col=round_col, levels=levels)
    organisations = _registry(organisations, peer, org)
    rows = []
    for rnd, rframe in frame.groupby(round_col, sort=True):
        orgs = _round_peers(rframe, organisations, peer=peer, org=org, value=value,
                            min_orgs=min_orgs, hierarchy=hierarchy)
        groups = [("national", NATIONAL, pd.Series(True, index=orgs.index))]
        if peer is not None:
            labels = sorted(orgs["peer_group"].dropna().unique(), key=str)
            groups += [(peer, lab, _members(orgs, lab, peer=peer, hierarchy=hierarchy))
                       for lab in labels if lab != NATIONAL]
        if len(orgs) < min_orgs:
            groups = groups[:1]
        by_name = {key: sub for key, sub in rframe.groupby(["level", "name"], sort=False)}
        for peer_name, label, mask in groups:
            ids = set(orgs.loc[mask, org])
            for (lv, nm), sub in by_name.items():
                x = sub.loc[sub[org].isin(ids), value].dropna().to_numpy(float)
                d = _describe(x)
                shown = d["n_orgs"] >= min_orgs
                if not shown:
                    d = {k: (v if k == "n_orgs" else np.nan) for k, v in d.items()}
                rows.append({round_col: rnd, "level": lv, "name": nm, "peer": peer_name,
                             "peer_group": str(label)} | d | {"shown": shown})
    cols = [round_col, "level", "name", "peer", "peer_group", "n_orgs", "mean", "sd", "q1",
            "median", "q3", "shown"]
    out = pd.DataFrame(rows, columns=cols)
    out["n_orgs"] = out["n_orgs"].astype("Int64")
    out["shown"] = out["shown"].astype(bool)
    return out


def compare_to_peers(
    scores: pd.DataFrame,
    organisations: pd.DataFrame,
    *,
    org_id: str,
    round: int,
    peer: str | None = "org_type",
    levels: str | Iterable[str] = ("category", "dimension", "total"),
    value: str = "score_pct",
    ci: float = 0.95,
    min_orgs: int = 5,
    hierarchy="default",
    org: str = "org_id",
    round_col: str = "round",
) -> pd.DataFrame:
    """One organisation against its peer group: percentile rank and difference to the peer mean.

    Definitions are in the module docstring: peers exclude the organisation itself; the
    difference's standard error combines the organisation's interval (``ci_low``/``ci_high``,
    read as a normal interval of level ``ci``) with the standard error of the peer mean.

    Parameters
    ----------
    scores, organisations : DataFrame
        As in :func:`peer_distribution`; ``scores`` should have ``ci_low`` and ``ci_high`` (else
        the difference has no interval).
    org_id : str
        The organisation.
    round : int
        The measurement round (year).
    peer : str or None, default "org_type"
        Peer grouping column; ``None`` compares with all other organisations of the round.
    levels : str or sequence of str, default ("category", "dimension", "total")
    value : str, default "score_pct"
    ci : float, default 0.95
        Level of the organisation's interval and of the interval of the difference.
    min_orgs, hierarchy
        Peer group merging, as in :func:`peer_distribution`.
    org, round_col : str

    Returns
    -------
    DataFrame
        One row per level and name of the organisation: ``org_id``, ``round``, ``level``,
        ``name``, ``score_pct``, ``ci_low``, ``ci_high``, ``se``, ``peer``, ``peer_group``,
        ``n_peers``, ``peer_mean``, ``peer_sd``, ``peer_se``, ``difference``, ``diff_se``,
        ``diff_ci_low``, ``diff_ci_high``, ``percentile_rank`` and ``note`` (why a figure is
        missing). Without a shown peer group the peer columns are missing.

    Raises
    ------
    MognadError
        If the organisation has no scores in the round.

    Examples
    --------
    >>> scores = pd.DataFrame({"org_id": list("abcdef"), "round": 2024, "level": "total",
    ...                        "name": "total", "score_pct": [40.0, 50, 50, 60, 70, 80],
    ...                        "ci_low": [30.0, 40, 40, 50, 60, 70],
    ...                        "ci_high": [50.0, 60, 60, 70, 80, 90]})
    >>> orgs = pd.DataFrame({"org_id": list("abcdef"), "org_type": "kommun"})
    >>> out = compare_to_peers(scores, orgs, org_id="b", round=2024, levels="total")
    >>> out[["n_peers", "peer_mean", "difference", "percentile_rank"]]
       n_peers  peer_mean  difference  percentile_rank
    0        5       60.0       -10.0             30.0
    """
    z = _z(ci)
    levels = _as_tuple(levels)
    rframe = _org_scores(scores, value=value, org=org, round_col=round_col, levels=levels,
                         round=round)
    organisations = _registry(organisations, peer, org)
    own = rframe[rframe[org] == org_id]
    if own.empty or own[value].isna().all():
        raise MognadError(f"organisation {org_id!r} has no {value} in round {round!r}")
    orgs = _round_peers(rframe, organisations, peer=peer, org=org, value=value,
                        min_orgs=min_orgs, hierarchy=hierarchy)
    own_group = orgs.loc[orgs[org] == org_id, "peer_group"]
    label = own_group.iloc[0] if len(own_group) else pd.NA
    if pd.isna(label):
        ids: set = set()
        note = (
            f"no peer group: fewer than {min_orgs} organisations"
            if peer is None
            else f"no peer group shown for {peer} (missing value or fewer than {min_orgs} "
            "organisations)"
        )
    else:
        mask = _members(orgs, label, peer=peer, hierarchy=hierarchy)
        ids = set(orgs.loc[mask, org]) - {org_id}
        note = None

    has_ci = {"ci_low", "ci_high"} <= set(own.columns)
    # the peers' values of every level and name, grouped once
    peer_rows = rframe[rframe[org].isin(ids)].dropna(subset=[value])
    peer_values = {(str(lv), str(nm)): g.to_numpy(float) for (lv, nm), g in
                   peer_rows.groupby(["level", "name"], sort=False, observed=True)[value]}
    empty = np.array([], dtype=float)
    rows = []
    for _, r in own.iterrows():
        x = r[value]
        lo = float(r["ci_low"]) if has_ci and pd.notna(r["ci_low"]) else np.nan
        hi = float(r["ci_high"]) if has_ci and pd.notna(r["ci_high"]) else np.nan
        se = (hi - lo) / (2 * z)
        peers = peer_values.get((str(r["level"]), str(r["name"])), empty)
        n = len(peers)
        row = {
            org: org_id, round_col: round, "level": r["level"], "name": r["name"],
            value: x, "ci_low": lo, "ci_high": hi, "se": se,
            "peer": "national" if peer is None else peer,
            "peer_group": pd.NA if pd.isna(label) else str(label),
            "n_peers": n, "peer_mean": np.nan, "peer_sd": np.nan, "peer_se": np.nan,
            "difference": np.nan, "diff_se": np.nan, "diff_ci_low": np.nan,
            "diff_ci_high": np.nan, "percentile_rank": np.nan, "note": note,
        }
        if n and pd.notna(x):
            mean = float(peers.mean())
            sd = float(peers.std(ddof=1)) if n > 1 else np.nan
            peer_se = sd / np.sqrt(n)
            diff_se = float(np.sqrt(se**2 + peer_se**2))
            row.update(
                peer_mean=mean, peer_sd=sd, peer_se=peer_se, difference=x - mean,
                diff_se=diff_se, diff_ci_low=x - mean - z * diff_se,
                diff_ci_high=x - mean + z * diff_se,
                percentile_rank=100.0 * (np.sum(peers < x) + 0.5 * np.sum(peers == x)) / n,
            )
            if np.isnan(diff_se):
                row["note"] = (
                    "no interval for the organisation's score" if np.isnan(se)
                    else "fewer than 2 peers: no interval"
                )
        elif note is None:
            row["note"] = "no score" if pd.isna(x) else "no peer with a score"
        rows.append(row)
    out = pd.DataFrame(rows)
    out["n_peers"] = out["n_peers"].astype("Int64")
    out["peer_group"] = out["peer_group"].astype("string")
    out["note"] = out["note"].astype("string")
    return out.reset_index(drop=True)


def weakest_categories(
    scores: pd.DataFrame,
    organisations: pd.DataFrame,
    *,
    org_id: str,
    round: int,
    peer: str | None = "org_type",
    n: int = 3,
    comparison: pd.DataFrame | None = None,
    **kwargs,
) -> pd.DataFrame:
    """The ``n`` categories in which the organisation lies furthest below its peers.

    Ordered by the difference to the peer mean (most negative first; ties by own score, then
    name). When the organisation has no shown peer group, the categories with the lowest own
    scores are returned instead; the ``basis`` column says which (``"peers"`` or
    ``"own score"``).

    Parameters
    ----------
    scores, organisations, org_id, round, peer
        As in :func:`compare_to_peers`.
    n : int, default 3
    comparison : DataFrame, optional
        The organisation's rows of :func:`compare_to_peers` for this round and *peer*, when
        they are already at hand (its ``category`` rows are used instead of comparing again).
    **kwargs
        Passed to :func:`compare_to_peers` (``ci``, ``min_orgs``, ``hierarchy``, ...).

    Returns
    -------
    DataFrame
        The rows of :func:`compare_to_peers` for the chosen categories, plus ``rank`` (1 =
        weakest) and ``basis``.

    Examples
    --------
    >>> rows = [(o, c, s) for o, prof in {"a": [30, 70, 45], "b": [50, 50, 50],
    ...         "c": [48, 52, 50], "d": [52, 48, 50], "e": [50, 50, 48]}.items()
    ...         for c, s in zip(["effektivitet", "innovation", "balansering"], prof)]
    >>> scores = pd.DataFrame(rows, columns=["org_id", "name", "score_pct"]).assign(
    ...     round=2024, level="category")
    >>> orgs = pd.DataFrame({"org_id": list("abcde"), "org_type": "kommun"})
    >>> weakest_categories(scores, orgs, org_id="a", round=2024, n=2)[["rank", "name",
    ...                                                                 "difference"]]
       rank          name  difference
    0     1  effektivitet       -20.0
    1     2   balansering        -4.5
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise MognadError(f"n must be a whole number >= 1; got {n!r}")
    kwargs.pop("levels", None)
    if comparison is not None:
        cmp = comparison[comparison["level"] == "category"].reset_index(drop=True)
    else:
        cmp = compare_to_peers(scores, organisations, org_id=org_id, round=round, peer=peer,
                               levels="category", **kwargs)
    value = kwargs.get("value", "score_pct")
    if cmp["difference"].notna().any():
        ordered = cmp.sort_values(["difference", value, "name"], na_position="last",
                                  kind="stable")
        basis = "peers"
    else:
        ordered = cmp.sort_values([value, "name"], na_position="last", kind="stable")
        basis = "own score"
    out = ordered.head(n).reset_index(drop=True)
    out.insert(0, "rank", range(1, len(out) + 1))
    out["basis"] = basis
    return out


def similar_organisations(organisations: pd.DataFrame, org_id: str, *,
                          org: str = "org_id") -> str:
    """The grouping of "similar organisations" for one organisation, as the DiMiOS tool uses it.

    A municipality (``org_type`` ``kommun``) with a ``kommungrupp`` is compared within its
    municipality group (merged upwards when small, see :func:`compare_to_peers`); every other
    organisation within its organisation type.

    Returns
    -------
    str
        ``"kommungrupp"`` or ``"org_type"``.

    Examples
    --------
    >>> orgs = pd.DataFrame({"org_id": ["0114", "R01"], "org_type": ["kommun", "region"],
    ...                      "kommungrupp": ["A2", None]})
    >>> similar_organisations(orgs, "0114"), similar_organisations(orgs, "R01")
    ('kommungrupp', 'org_type')
    """
    organisations = _registry(organisations, None, org)
    hit = organisations[organisations[org].astype(str) == str(org_id)]
    if hit.empty:
        raise MognadError(f"organisation {org_id!r} is not in the organisations registry")
    row = hit.iloc[0]
    if ("kommungrupp" in hit.columns and row.get("org_type") == "kommun"
            and not pd.isna(row.get("kommungrupp")) and str(row.get("kommungrupp")).strip()):
        return "kommungrupp"
    return "org_type"


def compare_to_peer_groups(
    scores: pd.DataFrame,
    organisations: pd.DataFrame,
    *,
    org_id: str,
    round: int,
    peers: Iterable[str | None] = (None, "org_type", "kommungrupp"),
    levels: str | Iterable[str] = ("category", "dimension", "total"),
    min_orgs: int = 5,
    hierarchy="default",
    org: str = "org_id",
    round_col: str = "round",
    **kwargs,
) -> pd.DataFrame:
    """One organisation against several peer groupings, side by side.

    :func:`compare_to_peers` once per grouping in ``peers`` (``None``: all other organisations
    of the round). A grouping is left out when the organisation has no shown group in it, or
    when its group has exactly the same members as a grouping before it (a municipality group
    merged up to all municipalities is the organisation type again).

    Parameters
    ----------
    scores, organisations, org_id, round, levels, min_orgs, hierarchy, org, round_col
        As in :func:`compare_to_peers`.
    peers : iterable of str or None
        Groupings in display order; columns of ``organisations`` missing from the registry are
        skipped.
    **kwargs
        Passed to :func:`compare_to_peers` (``ci``, ``value``).

    Returns
    -------
    DataFrame
        The rows of :func:`compare_to_peers` of every grouping kept, with ``peer`` saying which
        (``"national"`` for ``None``) and ``peer_order`` (0, 1, … in the order shown).

    Examples
    --------
    >>> scores = pd.DataFrame({"org_id": list("abcdefghij"), "round": 2024, "level": "total",
    ...                        "name": "total",
    ...                        "score_pct": [40.0, 50, 50, 60, 70, 80, 45, 55, 65, 75]})
    >>> orgs = pd.DataFrame({"org_id": list("abcdefghij"),
    ...                      "org_type": ["kommun"] * 6 + ["region"] * 4,
    ...                      "kommungrupp": ["B3"] * 6 + [None] * 4})
    >>> out = compare_to_peer_groups(scores, orgs, org_id="b", round=2024, levels="total")
    >>> out[["peer", "peer_group", "n_peers", "peer_mean"]]
           peer peer_group  n_peers  peer_mean
    0  national      riket        9       60.0
    1  org_type     kommun        5       60.0
    """
    value = kwargs.get("value", "score_pct")
    rframe = _org_scores(scores, value=value, org=org, round_col=round_col,
                         levels=_as_tuple(levels), round=round)
    parts = []
    seen: list[frozenset] = []
    for peer in peers:
        if peer is not None and peer not in organisations.columns:
            continue
        orgs = _round_peers(rframe, _registry(organisations, peer, org), peer=peer, org=org,
                            value=value, min_orgs=min_orgs, hierarchy=hierarchy)
        label = orgs.loc[orgs[org] == org_id, "peer_group"]
        if label.empty or pd.isna(label.iloc[0]):
            continue
        members = frozenset(orgs.loc[_members(orgs, label.iloc[0], peer=peer,
                                              hierarchy=hierarchy), org])
        if members in seen:
            continue
        seen.append(members)
        out = compare_to_peers(scores, organisations, org_id=org_id, round=round, peer=peer,
                               levels=levels, min_orgs=min_orgs, hierarchy=hierarchy, org=org,
                               round_col=round_col, **kwargs)
        parts.append(out.assign(peer_order=len(parts)))
    if not parts:
        empty = compare_to_peers(scores, organisations, org_id=org_id, round=round, peer=None,
                                 levels=levels, min_orgs=min_orgs, hierarchy=hierarchy, org=org,
                                 round_col=round_col, **kwargs)
        return empty.iloc[0:0].assign(peer_order=pd.Series(dtype="int64"))
    return pd.concat(parts, ignore_index=True)
