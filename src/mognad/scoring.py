"""Scores, their uncertainty, the 2x2 type and ranks among peers.

Scoring follows the codebook (:mod:`mognad.codebook`):

1. **Respondent x category.** A respondent's category score is the weighted mean of the items of
   the category that the respondent answered (codebook item weights, renormalised over the answered
   items), provided at least ``min_items_per_category`` items were answered; otherwise the
   respondent has no score in that category (other categories are unaffected). Don't know and
   missing answers are left out, never counted as 0.
2. **Group x category.** The mean of the category scores of the group's respondents who have one.
3. **Dimension.** The weighted mean (codebook category weights) of the group's category scores;
   missing if any of its categories is missing for the group.
4. **Total.** The weighted mean (codebook dimension weights) of the dimension scores.
5. **Item.** The mean of the answers to the item in the group.

Every score is reported as a percentage of optimal preconditions by the codebook's rescaling rule
(``pomp``: ``(mean - 1) / 5 * 100`` on a 1-6 scale). Rescaling is linear, so it does not matter
at which step it is applied.

**Intervals.** By default (``method="t"``) a score's interval is the studentised t-interval
``score +/- t(n - 1) * se`` with the analytic standard error: for items and categories the
standard error of a mean over the answers or the respondents' category scores; for dimensions
and the total the delta method, which is exact here because they are linear in the category
means (see :func:`score`). It holds its nominal coverage down to groups of five respondents:
in the planted-truth simulation of ``tests/test_scoring.py`` (ordinal model, the truth computed
from the simulation parameters; 8,000 groups of 5-14 and 4,000 of 40-80) 95 % t-intervals
cover 94.2-95.5 % per score for 5-14 respondents (94.5-95.4 % for each single size) and
94.9-95.4 % for 40-80, whereas the percentile bootstrap covers 90-91 % for 5-14 (it uses the plug-in variance, ``(n - 1) / n`` of the unbiased one, and normal rather than t
quantiles: both shrink the interval by a factor that only vanishes for large groups) and still
92-95 % for 40-60. The percentile bootstrap stays available as ``method="bootstrap"``.

**Bootstrap.** Type probabilities (:func:`classify`), rank intervals (:func:`rank_in_peers`)
and ``method="bootstrap"`` rest on a **cluster bootstrap over respondents within each group**:
a group's respondents are resampled ``n_boot`` times and every score (items, categories,
dimensions, total) is recomputed from the same resample, so the draws of different scores of a
group are consistent with each other. The resampling is the Poisson bootstrap (each respondent
enters a resample ``Poisson(1)`` times, independently; Hanley & MacGibbon 2006): given its size
a resample is an ordinary multinomial resample, and all scores here are ratios of sums, so only
the slightly random resample size differs from the textbook bootstrap; it makes the bootstrap
one matrix product per group. Draws are kept in float32 (about 1e-5 percentage points).
:func:`bootstrap_scores` returns them once for reuse.

**Reproducibility.** Each group has its own random stream seeded by ``seed`` and the group's
key, and its respondents are taken in the order of their answers (not of their ids, which are
keyed pseudonyms that differ between studies): same input answers + same seed give the same
numbers on any machine, whatever the pseudonym key, the row order, the order in which files
were ingested or the other groups in the data. ``mognad score`` records ``n_boot``, ``seed``,
the interval method and this resampling scheme (:data:`RESAMPLING`) in its provenance.

Examples
--------
>>> import pandas as pd
>>> from mognad.scoring import score, to_long
>>> wide = pd.DataFrame({"org_id": "1384", "round": 2024, "respondent_id": ["r1", "r2", "r3"],
...                      **{f"q{i:02d}": [4, 5, 6] for i in range(1, 31)}})
>>> scores = score(to_long(wide), n_boot=200)
>>> scores.loc[scores.level != "item", ["level", "name", "score_pct", "n_respondents"]]
       level           name  score_pct  n_respondents
0      total          total       80.0              3
1  dimension        formaga       80.0              3
2  dimension            arv       80.0              3
3   category   effektivitet       80.0              3
4   category     innovation       80.0              3
5   category    balansering       80.0              3
6   category  infrastruktur       80.0              3
7   category    information       80.0              3
8   category    forvaltning       80.0              3
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from mognad import _bootstrap as _bs
from mognad.codebook import Codebook, load_codebook
from mognad.errors import MognadError

__all__ = [
    "ScoreDraws",
    "bootstrap_scores",
    "classify",
    "rank_in_peers",
    "respondent_scores",
    "score",
    "to_long",
]

DEFAULT_BY = ("org_id", "round")
METHODS = ("t", "bootstrap", "none")
DEFAULT_METHOD = "t"
RESAMPLING = _bs.RESAMPLING
SCORE_COLUMNS = (
    "level",
    "name",
    "score_pct",
    "n_respondents",
    "n_answers",
    "ci_low",
    "ci_high",
)


@dataclass(frozen=True)
class ScoreDraws:
    """Point estimates and cluster-bootstrap draws of every score of every group.

    Made by :func:`bootstrap_scores`; pass it to :func:`score`, :func:`classify` or
    :func:`rank_in_peers` in place of the responses to reuse one bootstrap pass. The arrays are
    indexed ``[group, name]`` (and ``[..., draw]``) in the order of :attr:`groups` and
    :attr:`names`.

    Attributes
    ----------
    codebook : Codebook
    by : tuple of str
        The grouping columns.
    groups : DataFrame
        One row per group with the ``by`` columns, sorted.
    names : DataFrame
        ``level`` and ``name`` of every score: total, dimensions, categories, items.
    point : ndarray, shape (n_groups, n_names)
        Scores in percent.
    n_respondents, n_answers : ndarray of int, shape (n_groups, n_names)
    se, df : ndarray, shape (n_groups, n_names)
        Analytic standard error and degrees of freedom (``method="t"``).
    draws : ndarray of float32, shape (n_groups, n_names, n_boot), or None
        Bootstrap draws in percent; NaN for groups with fewer than two respondents and for
        resamples in which a score is undefined.
    n_boot, seed : int
    """

    codebook: Codebook = field(repr=False)
    by: tuple[str, ...]
    groups: pd.DataFrame = field(repr=False)
    names: pd.DataFrame = field(repr=False)
    point: np.ndarray = field(repr=False)
    n_respondents: np.ndarray = field(repr=False)
    n_answers: np.ndarray = field(repr=False)
    se: np.ndarray = field(repr=False)
    df: np.ndarray = field(repr=False)
    draws: np.ndarray | None = field(repr=False)
    n_boot: int = 0
    seed: int = 0

    @property
    def n_groups(self) -> int:
        """Number of groups."""
        return len(self.groups)

    def index(self, level: str, name: str | None = None) -> int:
        """Column of the score ``(level, name)`` in the arrays (``name`` defaults to the level)."""
        if level not in _bs.LEVELS:
            raise MognadError(f"level must be one of {list(_bs.LEVELS)}; got {level!r}")
        name = level if name is None else name
        hit = np.flatnonzero((self.names["level"] == level) & (self.names["name"] == name))
        if hit.size == 0:
            known = self.names.loc[self.names["level"] == level, "name"].tolist()
            raise MognadError(f"no {level} named {name!r}; known: {known}")
        return int(hit[0])


# ------------------------------------------------------------------------------------ arguments
def _check_common(n_boot, seed, ci=None, method="bootstrap"):
    if method not in METHODS:
        raise MognadError(f"method must be one of {list(METHODS)}; got {method!r}")
    if ci is not None and not (isinstance(ci, float | int) and 0 < ci < 1):
        raise MognadError(f"ci must be a confidence level between 0 and 1, e.g. 0.95; got {ci!r}")
    if method == "bootstrap" and (
        isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 1
    ):
        raise MognadError(f"n_boot must be a whole number >= 1; got {n_boot!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise MognadError(f"seed must be a whole number >= 0; got {seed!r}")


def bootstrap_scores(
    responses: pd.DataFrame,
    *,
    codebook: str | Codebook | None = None,
    by: Sequence[str] | str = DEFAULT_BY,
    respondent: str = "respondent_id",
    item: str = "item_id",
    value: str = "value",
    n_boot: int = 1000,
    seed: int = 0,
) -> ScoreDraws:
    """Point estimates and cluster-bootstrap draws of all scores, for reuse.

    Parameters
    ----------
    responses : DataFrame
        Long responses: one row per respondent and item (see ``docs/CONVENTIONS.md``).
    codebook : str, Path, Codebook or None
        The codebook (default ``mognad-default-1``).
    by : sequence of str
        Columns that define a group, e.g. ``("org_id", "round", "unit")``.
    respondent, item, value : str
        Column names. ``value`` holds answers on the codebook scale; ``<NA>`` and the codebook's
        don't-know codes/labels are missing.
    n_boot : int
        Bootstrap resamples per group; ``0`` computes point estimates and t ingredients only.
    seed : int
        Random seed (non-negative).

    Returns
    -------
    ScoreDraws

    Examples
    --------
    >>> import pandas as pd
    >>> wide = pd.DataFrame({"org_id": "1384", "round": 2024,
    ...                      "respondent_id": ["r1", "r2", "r3", "r4"],
    ...                      **{f"q{i:02d}": [2, 3, 5, 6] for i in range(1, 31)}})
    >>> draws = bootstrap_scores(to_long(wide), n_boot=100, seed=1)
    >>> draws.draws.shape   # groups x names (total, 2 dimensions, 6 categories, 30 items) x draws
    (1, 39, 100)
    >>> float(draws.point[0, draws.index("total")])
    60.0
    """
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 0:
        raise MognadError(f"n_boot must be a whole number >= 0; got {n_boot!r}")
    _check_common(max(int(n_boot), 1), seed)
    cb = load_codebook(codebook)
    prep = _bs.prepare(responses, cb, by=by, respondent=respondent, item=item, value=value)
    pt = _bs.point_estimates(prep)
    draws = _bs.bootstrap_draws(prep, pt, n_boot, seed) if n_boot > 0 else None
    lay = prep.layout
    return ScoreDraws(
        codebook=cb,
        by=prep.by,
        groups=prep.groups,
        names=pd.DataFrame({"level": lay.levels.astype(str), "name": lay.names.astype(str)}),
        point=pt.value,
        n_respondents=pt.n_respondents,
        n_answers=pt.n_answers,
        se=pt.se,
        df=pt.df,
        draws=draws,
        n_boot=int(n_boot),
        seed=int(seed),
    )


def _as_draws(data, *, need_draws: bool, **kwargs) -> ScoreDraws:
    if isinstance(data, ScoreDraws):
        if need_draws and data.draws is None:
            raise MognadError(
                "these ScoreDraws hold no bootstrap draws (made with n_boot=0); "
                "call bootstrap_scores with n_boot >= 1"
            )
        return data
    if not need_draws:
        kwargs["n_boot"] = 0
    return bootstrap_scores(data, **kwargs)


# ------------------------------------------------------------------------------------ score
def score(
    responses: pd.DataFrame | ScoreDraws,
    *,
    codebook: str | Codebook | None = None,
    by: Sequence[str] | str = DEFAULT_BY,
    respondent: str = "respondent_id",
    item: str = "item_id",
    value: str = "value",
    ci: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
    method: str = DEFAULT_METHOD,
    levels: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Scores per group at every level, in percent of optimal preconditions, with intervals.

    Parameters
    ----------
    responses : DataFrame or ScoreDraws
        Long responses (one row per respondent and item), or the result of
        :func:`bootstrap_scores` (then ``codebook``, ``by``, the column names, ``n_boot`` and
        ``seed`` are those it was made with, and the arguments here are ignored).
    codebook : str, Path, Codebook or None
        The codebook (default ``mognad-default-1``).
    by : sequence of str
        Columns that define a group; add ``"unit"`` or ``"role"`` for internal comparisons.
    respondent, item, value : str
        Column names in ``responses``.
    ci : float
        Confidence level of the intervals.
    n_boot : int
        Bootstrap resamples per group (``method="bootstrap"``).
    seed : int
        Random seed; same seed, same numbers.
    method : {"t", "bootstrap", "none"}
        ``"t"`` (default): analytic t-interval, nominal coverage down to five respondents (see
        the module notes). Items and categories: ``mean +/- t(n-1) * sd / sqrt(n)``
        over the answers or the respondents' category scores. Dimensions and total: the delta
        method, which is exact here because they are linear in the category means:
        ``Var = sum_ab w_a w_b Cov(mean_a, mean_b)`` with
        ``Cov(mean_a, mean_b) = s_ab * n_ab / (n_a * n_b)`` (``s_ab`` the covariance of the
        respondents' scores over the ``n_ab`` respondents with both, ``0`` if ``n_ab < 2``) and
        ``t`` with ``min(n_a) - 1`` degrees of freedom. With complete data this equals the
        t-interval of the respondents' weighted composite. t-intervals are clipped to the
        possible range (0-100 % with ``pomp``).
        ``"bootstrap"``: percentile interval of the cluster (respondent) bootstrap; too narrow
        in small groups (about 91 % coverage for a 95 % interval with 5-14 respondents).
        ``"none"``: no intervals (fast).
    levels : sequence of str, optional
        Keep only these levels (``"total"``, ``"dimension"``, ``"category"``, ``"item"``).

    Returns
    -------
    DataFrame
        One row per group and score: the ``by`` columns, ``level``, ``name``, ``score_pct``,
        ``n_respondents`` (respondents behind the score), ``n_answers`` (answers behind it),
        ``ci_low``, ``ci_high``. Sorted by group, then total, dimensions, categories, items in
        codebook order. Intervals are NaN when fewer than two respondents are behind a score.

    Examples
    --------
    >>> import pandas as pd
    >>> wide = pd.DataFrame({"org_id": "1384", "round": 2024,
    ...                      "respondent_id": ["r1", "r2", "r3", "r4"],
    ...                      **{f"q{i:02d}": [3, 4, 4, 5] for i in range(1, 31)}})
    >>> out = score(to_long(wide), levels=["total", "dimension"])
    >>> out[["level", "name", "score_pct", "ci_low", "ci_high"]].round(2)
           level     name  score_pct  ci_low  ci_high
    0      total    total       60.0   34.02    85.98
    1  dimension  formaga       60.0   34.02    85.98
    2  dimension      arv       60.0   34.02    85.98
    """
    _check_common(n_boot, seed, ci, method)
    sd = _as_draws(
        responses,
        need_draws=method == "bootstrap",
        codebook=codebook,
        by=by,
        respondent=respondent,
        item=item,
        value=value,
        n_boot=n_boot,
        seed=seed,
    )
    G, L = sd.point.shape
    if method == "bootstrap":
        lo, hi = _bs.percentile_interval(sd.draws, ci)
    elif method == "t":
        with np.errstate(invalid="ignore"):
            half = stats.t.ppf(0.5 + ci / 2, np.where(sd.df >= 1, sd.df, np.nan)) * sd.se
        bounds = sd.codebook.rescale([sd.codebook.scale_min, sd.codebook.scale_max])
        lo = np.clip(sd.point - half, *bounds)
        hi = np.clip(sd.point + half, *bounds)
    else:
        lo = hi = np.full((G, L), np.nan)
    few = sd.n_respondents < 2
    lo = np.where(few, np.nan, lo)
    hi = np.where(few, np.nan, hi)

    keep = np.ones(L, dtype=bool)
    if levels is not None:
        levels = [levels] if isinstance(levels, str) else list(levels)
        bad = [lv for lv in levels if lv not in _bs.LEVELS]
        if bad:
            raise MognadError(f"unknown level(s) {bad}; use {list(_bs.LEVELS)}")
        keep = sd.names["level"].isin(levels).to_numpy()
    cols = np.flatnonzero(keep)
    k = len(cols)
    out = sd.groups.iloc[np.repeat(np.arange(G), k)].reset_index(drop=True)
    out["level"] = np.tile(sd.names["level"].to_numpy()[cols], G)
    out["name"] = np.tile(sd.names["name"].to_numpy()[cols], G)
    out["score_pct"] = sd.point[:, cols].ravel()
    out["n_respondents"] = sd.n_respondents[:, cols].ravel()
    out["n_answers"] = sd.n_answers[:, cols].ravel()
    out["ci_low"] = lo[:, cols].ravel()
    out["ci_high"] = hi[:, cols].ravel()
    out["level"] = out["level"].astype("str")
    out["name"] = out["name"].astype("str")
    return out


# ------------------------------------------------------------------------------------ classify
def classify(
    responses: pd.DataFrame | ScoreDraws,
    *,
    codebook: str | Codebook | None = None,
    by: Sequence[str] | str = DEFAULT_BY,
    respondent: str = "respondent_id",
    item: str = "item_id",
    value: str = "value",
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Type (A-D) of each group on the 2x2 map, with bootstrap probabilities of each type.

    The point type comes from the group's dimension scores and the codebook's quadrant rules
    (:meth:`Codebook.classify`; a score equal to the cut counts as high). ``p_A`` ... ``p_D`` are
    the shares of cluster-bootstrap resamples (respondents resampled within the group) that fall in
    each quadrant, so a report can say "typ B (sannolikhet 0,83)". They express how stable the type
    is under resampling of the group's respondents; they are not posterior probabilities.

    Parameters
    ----------
    responses : DataFrame or ScoreDraws
        Long responses, or the result of :func:`bootstrap_scores` (its settings are then used).
    codebook, by, respondent, item, value, n_boot, seed
        As in :func:`score`.

    Returns
    -------
    DataFrame
        One row per group: the ``by`` columns, ``x_pct`` and ``y_pct`` (the codebook's quadrant x
        and y dimensions, by default förmåga and arv), ``type``, ``p_A``, ``p_B``, ``p_C``,
        ``p_D`` (one column per type code), ``type_probability`` (the probability of the point
        type) and ``n_respondents``. Probabilities are NaN for groups with fewer than two
        respondents; type and probabilities are missing when a dimension score is missing.

    Examples
    --------
    >>> import pandas as pd
    >>> items = {f"q{i:02d}": [5, 6, 5, 6] if i <= 15 else [1, 2, 2, 1] for i in range(1, 31)}
    >>> wide = pd.DataFrame({"org_id": "1384", "round": 2024,
    ...                      "respondent_id": ["r1", "r2", "r3", "r4"], **items})
    >>> types = classify(to_long(wide), n_boot=200)
    >>> types[["x_pct", "y_pct", "type", "p_A", "p_B", "type_probability"]].round(2)
       x_pct  y_pct type  p_A  p_B  type_probability
    0   90.0   10.0    B  0.0  1.0               1.0
    """
    _check_common(n_boot, seed)
    sd = _as_draws(
        responses,
        need_draws=True,
        codebook=codebook,
        by=by,
        respondent=respondent,
        item=item,
        value=value,
        n_boot=n_boot,
        seed=seed,
    )
    cb = sd.codebook
    jx = sd.index("dimension", cb.quadrant_x)
    jy = sd.index("dimension", cb.quadrant_y)
    x, y = sd.point[:, jx], sd.point[:, jy]
    point_type = np.asarray(cb.classify(x, y), dtype=object).reshape(-1)
    xd, yd = sd.draws[:, jx, :], sd.draws[:, jy, :]
    valid = ~(np.isnan(xd) | np.isnan(yd))
    n_valid = valid.sum(axis=1)
    xh, yh = xd >= cb.cut_x, yd >= cb.cut_y
    n_resp = sd.n_respondents[:, sd.index("total")]
    usable = (n_resp >= 2) & (n_valid > 0) & ~(np.isnan(x) | np.isnan(y))
    out = sd.groups.copy()
    out["x_pct"] = x
    out["y_pct"] = y
    out["type"] = pd.array(point_type, dtype="str")
    codes = sorted(cb.types)
    probs = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for code in codes:
            t = cb.types[code]
            hit = valid & (xh == (t.x == "high")) & (yh == (t.y == "high"))
            probs[code] = np.where(usable, hit.sum(axis=1) / n_valid, np.nan)
    for code in codes:
        out[f"p_{code}"] = probs[code]
    tp = np.full(len(out), np.nan)
    for code in codes:
        sel = point_type == code
        tp[sel] = probs[code][sel]
    out["type_probability"] = tp
    out["n_respondents"] = n_resp
    return out


# ------------------------------------------------------------------------------------ ranks
def rank_in_peers(
    responses: pd.DataFrame | ScoreDraws,
    organisations: pd.DataFrame | None = None,
    *,
    peer: str | None = "org_type",
    level: str = "total",
    name: str | None = None,
    org: str = "org_id",
    codebook: str | Codebook | None = None,
    by: Sequence[str] | str = DEFAULT_BY,
    respondent: str = "respondent_id",
    item: str = "item_id",
    value: str = "value",
    ci: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Rank of each group among its peers, with a bootstrap rank interval.

    Peers are the groups with the same ``peer`` value (a column of ``organisations``, e.g.
    ``org_type`` or ``kommungrupp``) and the same values of the other ``by`` columns (typically
    the round). Rank 1 is the highest score; ties share the best rank. In every bootstrap draw the
    peers are ranked again; ``rank_low`` and ``rank_high`` are the ``(1 - ci) / 2`` and
    ``(1 + ci) / 2`` percentiles of the group's rank over the draws. A peer whose draws are
    undefined (fewer than two respondents) keeps its point score in every draw.

    Parameters
    ----------
    responses : DataFrame or ScoreDraws
        Long responses, or the result of :func:`bootstrap_scores`.
    organisations : DataFrame, optional
        One row per organisation with ``org`` and ``peer`` columns. If omitted, ``peer`` must be
        one of the ``by`` columns, or ``None`` (all groups of a round are peers).
    peer : str or None
        The column defining the peer group.
    level, name : str
        The score to rank (default the total; ``name`` defaults to ``level`` for the total).
    org : str
        The organisation id column, shared by ``by`` and ``organisations``.
    codebook, by, respondent, item, value, ci, n_boot, seed
        As in :func:`score`.

    Returns
    -------
    DataFrame
        One row per group: the ``by`` columns, the ``peer`` column (if not already among them),
        ``level``, ``name``, ``score_pct``, ``n_respondents``, ``rank``, ``rank_low``,
        ``rank_high``, ``n_peers`` (peers with a score, itself included). Ranks are missing for
        groups without a score or without a peer value.

    Examples
    --------
    >>> import pandas as pd
    >>> frames = [pd.DataFrame({"org_id": org, "round": 2024,
    ...                         "respondent_id": [f"{org}-{k}" for k in range(4)],
    ...                         **{f"q{i:02d}": [v, v + 1, v, v + 1] for i in range(1, 31)}})
    ...           for org, v in [("0114", 1), ("0115", 3), ("0117", 5)]]
    >>> orgs = pd.DataFrame({"org_id": ["0114", "0115", "0117"], "org_type": "kommun"})
    >>> ranks = rank_in_peers(to_long(pd.concat(frames)), orgs, n_boot=200)
    >>> ranks[["org_id", "score_pct", "rank", "rank_low", "rank_high", "n_peers"]]
      org_id  score_pct  rank  rank_low  rank_high  n_peers
    0   0114       10.0     3         3          3        3
    1   0115       50.0     2         2          2        3
    2   0117       90.0     1         1          1        3
    """
    _check_common(n_boot, seed, ci)
    sd = _as_draws(
        responses,
        need_draws=True,
        codebook=codebook,
        by=by,
        respondent=respondent,
        item=item,
        value=value,
        n_boot=n_boot,
        seed=seed,
    )
    j = sd.index(level, name)
    groups = sd.groups
    if organisations is not None:
        if peer is None:
            raise MognadError("give the peer column (e.g. peer='org_type') with organisations")
        for col in (org, peer):
            if col not in organisations.columns:
                raise MognadError(
                    f"organisations has no column {col!r}; it has {list(organisations.columns)}"
                )
        if org not in sd.by:
            raise MognadError(f"the organisation column {org!r} is not among by={list(sd.by)}")
        dup = organisations[org].duplicated()
        if dup.any():
            raise MognadError(
                f"organisations lists {org} {organisations.loc[dup, org].iloc[0]!r} more than once"
            )
        mapping = organisations.set_index(org)[peer]
        peer_values = groups[org].map(mapping)
    elif peer is None:
        peer_values = pd.Series("alla", index=groups.index)
    elif peer in groups.columns:
        peer_values = groups[peer]
    else:
        raise MognadError(
            f"peer column {peer!r} is not among by={list(sd.by)}; pass the organisations table"
        )
    within = [c for c in sd.by if c not in (org, peer)]
    keys = groups[within].copy() if within else pd.DataFrame(index=groups.index)
    keys["__peer"] = peer_values.to_numpy()
    G = len(groups)
    pt = sd.point[:, j]
    rank = np.full(G, np.nan)
    lo = np.full(G, np.nan)
    hi = np.full(G, np.nan)
    n_peers = np.full(G, np.nan)
    a = (1.0 - ci) / 2.0
    for _, rows in keys.groupby(list(keys.columns), dropna=False, sort=False).indices.items():
        rows = np.asarray(rows)
        if pd.isna(keys["__peer"].iloc[rows[0]]):
            continue
        rows = rows[~np.isnan(pt[rows])]
        if rows.size == 0:
            continue
        rank[rows] = stats.rankdata(-pt[rows], method="min")
        n_peers[rows] = rows.size
        d = sd.draws[rows, j, :].astype(np.float64)
        d = np.where(np.isnan(d), pt[rows, None], d)
        r = stats.rankdata(-d, axis=0, method="min")
        lo[rows] = np.quantile(r, a, axis=1, method="inverted_cdf")
        hi[rows] = np.quantile(r, 1.0 - a, axis=1, method="inverted_cdf")
    out = groups.copy()
    if peer is not None and peer not in out.columns:
        out[peer] = peer_values.to_numpy()
    out["level"] = level
    out["name"] = sd.names["name"].iloc[j]
    out["score_pct"] = pt
    out["n_respondents"] = sd.n_respondents[:, j]
    for col, arr in (("rank", rank), ("rank_low", lo), ("rank_high", hi), ("n_peers", n_peers)):
        out[col] = pd.array(np.where(np.isnan(arr), np.nan, arr), dtype="Float64").astype("Int64")
    out["level"] = out["level"].astype("str")
    out["name"] = out["name"].astype("str")
    return out


# ------------------------------------------------------------------------------------ respondents
RESPONDENT_LEVELS = ("total", "dimension", "category")


def respondent_scores(
    responses: pd.DataFrame,
    *,
    codebook: str | Codebook | None = None,
    by: Sequence[str] | str = ("org_id", "round"),
    levels: Sequence[str] | str = RESPONDENT_LEVELS,
    respondent: str = "respondent_id",
    item: str = "item_id",
    value: str = "value",
) -> pd.DataFrame:
    """Every respondent's score per category, dimension and total (and item), in percent.

    The one implementation of respondent-level scores (the longitudinal models, agreement
    indices and the paired pre/post comparisons use it). The codebook rules of this module,
    applied to one respondent: a category score is the weighted mean of the answered items of
    the category (item weights renormalised over the answered ones), missing when fewer than
    ``min_items_per_category`` were answered; a dimension is the weighted mean of its
    categories, missing if one of them is missing; the total is the weighted mean of the
    dimensions, missing likewise; an item score is the answer rescaled. Don't know is missing,
    never 0.

    Parameters
    ----------
    responses : DataFrame
        Long responses (one row per respondent and item).
    codebook : str, Path, Codebook or None
        The codebook (default ``mognad-default-1``).
    by : sequence of str
        Columns identifying the occasion (default organisation and round). A respondent id may
        recur in several groups (named rounds); each (group, respondent) is one row set.
    levels : sequence of {"total", "dimension", "category", "item"}
        Levels to return (default the first three).
    respondent, item, value : str
        Column names.

    Returns
    -------
    DataFrame
        The ``by`` columns, ``respondent`` (the column named so), ``level``, ``name``,
        ``score_pct``; per respondent total, dimensions, categories, items in codebook order.
        Scores that are missing under the rules are left out.

    Examples
    --------
    >>> import pandas as pd
    >>> wide = pd.DataFrame({"org_id": "0114", "round": 2024, "respondent_id": ["a", "b"],
    ...                      **{f"q{i:02d}": [2, 6] if i <= 15 else [4, 4] for i in range(1, 31)}})
    >>> rs = respondent_scores(to_long(wide), levels=["total", "dimension"])
    >>> rs
      org_id  round respondent_id      level     name  score_pct
    0   0114   2024             a      total    total       40.0
    1   0114   2024             a  dimension  formaga       20.0
    2   0114   2024             a  dimension      arv       60.0
    3   0114   2024             b      total    total       80.0
    4   0114   2024             b  dimension  formaga      100.0
    5   0114   2024             b  dimension      arv       60.0
    """
    cb = load_codebook(codebook)
    by = _bs.as_columns(by)
    levels = [levels] if isinstance(levels, str) else list(levels)
    bad = [lv for lv in levels if lv not in _bs.LEVELS]
    if bad or not levels:
        raise MognadError(f"levels must be among {list(_bs.LEVELS)}; got {levels}")
    if not isinstance(responses, pd.DataFrame):
        raise MognadError(f"responses must be a long DataFrame; got {type(responses).__name__}")
    if respondent not in responses.columns:
        raise MognadError(f"the responses have no column {respondent!r}")
    key = "__respondent_key"
    frame = responses.assign(**{key: responses[respondent]})
    prep = _bs.prepare(frame, cb, by=(*by, key), respondent=respondent, item=item, value=value)
    lay = prep.layout
    S = prep.S  # one row per group = per respondent
    D = np.full((S.shape[0], lay.n_dims), np.nan)
    for d in range(lay.n_dims):
        sel = (lay.cat_dim == d) & (lay.cat_weight > 0)
        w = lay.cat_weight[sel] / lay.cat_weight[sel].sum()
        D[:, d] = S[:, sel] @ w  # NaN propagates
    wd = lay.dim_weight / lay.dim_weight.sum()
    pos = wd > 0
    T = D[:, pos] @ wd[pos]
    blocks = {"total": (T[:, None], ["total"]), "dimension": (D, lay.dimensions),
              "category": (S, lay.categories),
              "item": (cb.rescale(prep.X.astype(np.float64)), lay.item_ids)}
    groups = prep.groups.rename(columns={key: respondent})
    parts = []
    for lv in _bs.LEVELS:
        if lv not in levels:
            continue
        M, names = blocks[lv]
        k = len(names)
        part = groups.iloc[np.repeat(np.arange(len(groups)), k)].reset_index(drop=True)
        part["level"] = lv
        part["name"] = np.tile(np.asarray(names, dtype=object), len(groups))
        part["score_pct"] = np.asarray(M, dtype=np.float64).ravel()
        part["__order"] = np.repeat(np.arange(len(groups)), k)
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out["__lv"] = out["level"].map({lv: i for i, lv in enumerate(_bs.LEVELS)})
    out = out.sort_values(["__order", "__lv"], kind="stable")
    out = out[out["score_pct"].notna()].drop(columns=["__order", "__lv"])
    out["level"] = out["level"].astype("str")
    out["name"] = out["name"].astype("str")
    return out.reset_index(drop=True)


# ------------------------------------------------------------------------------------ wide -> long
def to_long(
    wide: pd.DataFrame,
    *,
    codebook: str | Codebook | None = None,
    id_vars: Sequence[str] | None = None,
    item: str = "item_id",
    value: str = "value",
) -> pd.DataFrame:
    """Turn a wide frame (one row per respondent, item columns ``q01``..``q30``) into long form.

    Parameters
    ----------
    wide : DataFrame
        One row per respondent; the codebook's item ids as column names.
    codebook : str, Path, Codebook or None
        The codebook whose item ids are the item columns.
    id_vars : sequence of str, optional
        Columns to keep on every row (default: every column that is not an item).
    item, value : str
        Names of the item and value columns of the result.

    Returns
    -------
    DataFrame
        ``id_vars`` + ``item`` + ``value``, one row per respondent and item (codebook order).
        ``value`` is ``Int64``; don't-know codes and labels of the codebook become ``<NA>``.

    Raises
    ------
    MognadError
        If no item column is present, or a value is neither on the scale nor don't know (the
        message names the row and column).

    Examples
    --------
    >>> import pandas as pd
    >>> wide = pd.DataFrame({"respondent_id": ["r1"], "q01": [4], "q02": ["vet ej"], "q03": [9]})
    >>> to_long(wide)
      respondent_id item_id  value
    0            r1     q01      4
    1            r1     q02   <NA>
    2            r1     q03   <NA>
    """
    if not isinstance(wide, pd.DataFrame):
        raise MognadError(f"to_long needs a pandas DataFrame; got {type(wide).__name__}")
    cb = load_codebook(codebook)
    items = [c for c in cb.item_ids if c in wide.columns]
    if not items:
        raise MognadError(
            f"the wide frame has none of the item columns of codebook {cb.id} "
            f"({cb.item_ids[0]}..{cb.item_ids[-1]}); it has {list(wide.columns)[:12]}"
        )
    if id_vars is None:
        id_vars = [c for c in wide.columns if c not in items]
    else:
        id_vars = [id_vars] if isinstance(id_vars, str) else list(id_vars)
        missing = [c for c in id_vars if c not in wide.columns]
        if missing:
            raise MognadError(f"id_vars {missing} are not columns of the wide frame")
    n, k = len(wide), len(items)
    vals = np.empty((n, k), dtype=np.float32)
    for j, col in enumerate(items):
        vals[:, j] = _bs._values(wide, col, cb)
    out = wide[id_vars].iloc[np.repeat(np.arange(n), k)].reset_index(drop=True)
    out[item] = pd.array(np.tile(np.array(items, dtype=object), n), dtype="str")
    out[value] = pd.array(vals.ravel(), dtype="Float64").astype("Int64")
    return out


# ------------------------------------------------------------------------------------ combined
def scores_with_types(
    responses: pd.DataFrame,
    *,
    codebook: str | Codebook | None = None,
    by: Sequence[str] | str = DEFAULT_BY,
    ci: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
    method: str = DEFAULT_METHOD,
) -> pd.DataFrame:
    """The :func:`score` table with each group's type and type probabilities, from one bootstrap.

    This is the table ``mognad score`` writes: one row per group x level x name with
    ``score_pct``, ``ci_low``, ``ci_high``, counts, and the group's ``type``,
    ``type_probability`` and ``p_A`` ... ``p_D`` repeated on each of its rows. ``method`` is
    the interval method of :func:`score` (default the t-interval); the type probabilities always
    come from the bootstrap.

    Examples
    --------
    >>> import pandas as pd
    >>> items = {f"q{i:02d}": [5, 6, 5, 6] if i <= 15 else [1, 2, 2, 1] for i in range(1, 31)}
    >>> wide = pd.DataFrame({"org_id": "1384", "round": 2024,
    ...                      "respondent_id": ["r1", "r2", "r3", "r4"], **items})
    >>> table = scores_with_types(to_long(wide), n_boot=100)
    >>> table.loc[table.level == "total", ["score_pct", "type", "type_probability"]]
       score_pct type  type_probability
    0       50.0    B               1.0
    """
    draws = bootstrap_scores(responses, codebook=codebook, by=by, n_boot=n_boot, seed=seed)
    table = score(draws, ci=ci, method=method)
    types = classify(draws)
    keep = [*draws.by, "type", "type_probability",
            *[c for c in types.columns if c.startswith("p_")]]
    return table.merge(types[keep], on=list(draws.by), how="left")
