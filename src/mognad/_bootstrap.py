"""Numerical engine behind :mod:`mognad.scoring` (private; the public API is in ``scoring``).

The long responses frame is turned once into integer codes and dense numpy arrays:

* ``X`` - respondents x items, the answers on the codebook scale (float32, NaN = missing or
  don't know), respondents sorted by group and, within a group, by their answers
  (:func:`content_order`), so that each group is a contiguous block of rows whose order does not
  depend on respondent ids;
* ``S`` - respondents x categories, each respondent's category score in percent (float64, NaN when
  the respondent answered fewer than ``min_items_per_category`` items of the category).

Point estimates are segment sums over those blocks (``np.add.reduceat``). The cluster bootstrap
draws, for each group, a matrix of resampling counts (``n_boot x n``; Poisson(1) counts from a
16-bit lookup table) and multiplies it with the group's block of a respondent matrix of centred
item/category values and their validity masks (one float32 BLAS GEMM per group). Every resampled
statistic is a ratio of two such sums, so the whole bootstrap is one GEMM per group. The
post-processing (ratios, dimension and total composites) is vectorised over chunks of groups.

Each group gets its own random stream, seeded by ``(seed, hash of the group's key)``, and its
respondents are taken in the order of their answers: the draws of an organisation depend only on
the seed, the group's key and the answers of its respondents, not on which other organisations
are in the data, on row order, on ingest order or on the (keyed, per-study) pseudonyms. Two
studies built from the same files therefore give byte-identical scores. This is the resampling
scheme :data:`RESAMPLING` names in provenance records.
"""

from __future__ import annotations

import functools
import hashlib
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_integer_dtype, is_numeric_dtype

from mognad.codebook import Codebook
from mognad.errors import MognadError

LEVELS = ("total", "dimension", "category", "item")
#: The resampling scheme, for provenance records (``mognad score`` writes it with n_boot and seed).
RESAMPLING = (
    "Poisson(1) cluster bootstrap of respondents within each group; stream PCG64 seeded by "
    "(seed, blake2b-64 of the group key); respondents ordered by their answers"
)
_CHUNK_CELLS = 20_000_000  # respondents x resamples per chunk of groups
_CHUNK_GROUPS = 1024


@dataclass(frozen=True)
class Layout:
    """Order of the scored names: total, dimensions, categories, items (codebook order)."""

    levels: np.ndarray  # (L,) level of each name
    names: np.ndarray  # (L,) name
    item_ids: list[str]
    categories: list[str]
    dimensions: list[str]
    item_cols: list[np.ndarray]  # per category: item column positions
    item_weights: list[np.ndarray]  # per category: item weights
    cat_dim: np.ndarray  # (C,) dimension position of each category
    cat_weight: np.ndarray  # (C,) weight of the category within its dimension
    dim_weight: np.ndarray  # (D,) weight of each dimension in the total

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_cats(self) -> int:
        return len(self.categories)

    @property
    def n_dims(self) -> int:
        return len(self.dimensions)

    def index(self, level: str, name: str) -> int:
        hit = np.flatnonzero((self.levels == level) & (self.names == name))
        if hit.size == 0:
            raise MognadError(
                f"no score named {name!r} at level {level!r}; known {level} names: "
                f"{self.names[self.levels == level].tolist()}"
            )
        return int(hit[0])


def layout(cb: Codebook) -> Layout:
    """The scoring layout of a codebook."""
    items = cb.items
    cats = cb.categories
    dims = cb.dimensions
    item_ids = items["item_id"].tolist()
    categories = cats["category"].tolist()
    dimensions = dims["dimension"].tolist()
    pos = {i: k for k, i in enumerate(item_ids)}
    item_cols, item_weights = [], []
    for c in categories:
        sub = items.loc[items["category"] == c]
        item_cols.append(np.array([pos[i] for i in sub["item_id"]], dtype=np.intp))
        item_weights.append(sub["item_weight"].to_numpy(dtype=np.float64))
    dim_pos = {d: k for k, d in enumerate(dimensions)}
    levels = ["total"] + ["dimension"] * len(dimensions) + ["category"] * len(categories)
    levels += ["item"] * len(item_ids)
    names = ["total", *dimensions, *categories, *item_ids]
    return Layout(
        levels=np.array(levels, dtype=object),
        names=np.array(names, dtype=object),
        item_ids=item_ids,
        categories=categories,
        dimensions=dimensions,
        item_cols=item_cols,
        item_weights=item_weights,
        cat_dim=np.array([dim_pos[d] for d in cats["dimension"]], dtype=np.intp),
        cat_weight=cats["weight"].to_numpy(dtype=np.float64),
        dim_weight=dims["weight"].to_numpy(dtype=np.float64),
    )


@dataclass
class Prepared:
    """The responses as dense arrays, respondents grouped in contiguous blocks."""

    codebook: Codebook
    layout: Layout
    by: tuple[str, ...]
    groups: pd.DataFrame  # one row per group, the by columns
    start: np.ndarray  # (G+1,) first respondent row of each group
    X: np.ndarray  # (R, NI) float32 answers on the codebook scale, NaN missing
    S: np.ndarray  # (R, C) float64 respondent category score in percent, NaN invalid
    S_answers: np.ndarray  # (R, C) answered items behind each valid category score

    @functools.cached_property
    def seed_words(self) -> list[tuple[int, int]]:
        """Per group: a stable hash of its key (computed when resampling first needs it)."""
        return _group_seed_words(self.groups)

    @property
    def n_groups(self) -> int:
        return len(self.start) - 1

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.start)


def as_columns(by) -> tuple[str, ...]:
    """``by`` as a tuple of column names (a single string is one column)."""
    if by is None:
        return ()
    if isinstance(by, str):
        return (by,)
    return tuple(by)


def _group_seed_words(groups: pd.DataFrame) -> list[tuple[int, int]]:
    out = []
    for row in groups.itertuples(index=False, name=None):
        key = "\x1f".join("<NA>" if pd.isna(v) else str(v) for v in row)
        digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
        out.append((int.from_bytes(digest[:4], "little"), int.from_bytes(digest[4:], "little")))
    return out


def _values(responses: pd.DataFrame, value: str, cb: Codebook) -> np.ndarray:
    """Answers as float32 with NaN for missing and don't know; bad values raise."""
    col = responses[value]
    dk_codes = np.asarray(cb.dont_know_codes, dtype=np.int64)
    if is_integer_dtype(col.dtype):
        missing = col.isna().to_numpy()
        data = col.to_numpy(dtype=np.int64, na_value=cb.scale_min)
        if dk_codes.size:
            missing = missing | np.isin(data, dk_codes)
        bad = ~missing & ((data < cb.scale_min) | (data > cb.scale_max))
        vals = data.astype(np.float32)
        del data
        vals[missing] = np.nan
    else:
        if is_numeric_dtype(col.dtype) and not is_bool_dtype(col.dtype):
            vals = np.array(col.to_numpy(dtype=np.float32, na_value=np.nan), copy=True)
        else:
            dk = cb.is_dont_know(col).to_numpy()
            num = pd.to_numeric(col.where(~dk), errors="coerce")
            bad = num.isna().to_numpy() & ~dk
            if bad.any():
                k = int(np.flatnonzero(bad)[0])
                raise MognadError(
                    f"column {value!r}, row {responses.index[k]!r}: value {col.iloc[k]!r} is "
                    f"neither an answer {cb.scale_min}-{cb.scale_max} nor a don't-know code "
                    f"{list(cb.dont_know_codes)} or label {list(cb.dont_know_labels)}"
                )
            vals = np.array(num.to_numpy(dtype=np.float32, na_value=np.nan), copy=True)
        if dk_codes.size:
            vals[np.isin(vals, dk_codes.astype(np.float32))] = np.nan
        bad = ~np.isnan(vals) & (
            (vals < cb.scale_min) | (vals > cb.scale_max) | (vals != np.round(vals))
        )
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise MognadError(
            f"column {value!r}, row {responses.index[k]!r}: value {col.iloc[k]!r} is not on the "
            f"answer scale {cb.scale_min}-{cb.scale_max} (whole numbers) and is not a don't-know "
            f"code {list(cb.dont_know_codes)}; {int(bad.sum())} such value(s) in all"
        )
    return vals


def _factorize(col: pd.Series, *, keep_na: bool) -> tuple[np.ndarray, pd.Series]:
    """Sorted integer codes (int64) and the matching unique values.

    With ``keep_na`` missing values get a code of their own (last); otherwise code -1. Categorical
    columns are coded from their categories without hashing the rows (unused categories may
    appear among the uniques).
    """
    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = col.cat.categories
        order = np.asarray(cats.argsort())
        rank = np.empty(len(cats) + 1, dtype=np.int64)
        rank[order] = np.arange(len(cats))
        codes = col.cat.codes.to_numpy()
        uniq = pd.Series(cats.take(order))
        rank[-1] = -1  # code -1 (missing) indexes the last slot
        if keep_na and (codes < 0).any():
            rank[-1] = len(cats)
            uniq = pd.concat([uniq, pd.Series([None], dtype=uniq.dtype)], ignore_index=True)
        return rank[codes], uniq
    codes, uniq = pd.factorize(col, sort=True, use_na_sentinel=not keep_na)
    return codes.astype(np.int64, copy=False), pd.Series(uniq)


def prepare(
    responses: pd.DataFrame,
    cb: Codebook,
    *,
    by,
    respondent: str,
    item: str,
    value: str,
) -> Prepared:
    """Validate the long responses and build the dense arrays."""
    if not isinstance(responses, pd.DataFrame):
        raise MognadError(
            f"responses must be a long pandas DataFrame; got {type(responses).__name__}"
        )
    by = as_columns(by)
    needed = [*by, respondent, item, value]
    missing = [c for c in needed if c not in responses.columns]
    if missing:
        raise MognadError(
            f"the responses have no column(s) {missing}; they have {list(responses.columns)}. "
            "Scoring needs the long format (one row per respondent and item, see "
            "docs/CONVENTIONS.md); use mognad.scoring.to_long for a wide frame"
        )
    if respondent in by or item in by or value in by:
        raise MognadError(f"'by' {list(by)} must not contain the respondent, item or value column")
    if len(set(by)) != len(by):
        raise MognadError(f"'by' {list(by)} names a column twice")
    n_rows = len(responses)
    if n_rows == 0:
        raise MognadError("there are no responses to score (the frame is empty)")
    lay = layout(cb)

    # --- groups: lexicographic combined code of the by columns (NA is a group of its own)
    gkey = np.zeros(n_rows, dtype=np.int64)
    mult = 1
    uniques, mults = [], []
    for col in reversed(by):
        codes, uniq = _factorize(responses[col], keep_na=True)
        gkey += codes * mult if mult > 1 else codes
        uniques.append(uniq)
        mults.append(mult)
        mult *= max(len(uniq), 1)
    if mult <= max(4 * n_rows, 10_000_000):  # dense key space: compact without hashing
        present = np.bincount(gkey, minlength=mult) > 0
        group_keys = np.flatnonzero(present)
        remap = np.cumsum(present) - 1
        gid = remap[gkey]
        del present, remap
    else:
        gid, group_keys = pd.factorize(gkey, sort=True)
        group_keys = np.asarray(group_keys)
    del gkey
    n_groups = len(group_keys)
    groups = pd.DataFrame(
        {
            col: uniq.take((group_keys // m) % max(len(uniq), 1)).reset_index(drop=True)
            for col, uniq, m in zip(reversed(by), uniques, mults, strict=True)
        }
    )[list(by)] if by else pd.DataFrame(index=range(1))

    # --- respondents: sorted by (group, respondent id)
    rcodes, runiq = _factorize(responses[respondent], keep_na=False)
    if (rcodes < 0).any():
        k = int(np.flatnonzero(rcodes < 0)[0])
        raise MognadError(f"column {respondent!r}, row {responses.index[k]!r}: respondent id missing")
    n_ids = len(runiq)
    group_of_id = np.full(n_ids, -1, dtype=np.int64)
    group_of_id[rcodes] = gid
    if (group_of_id[rcodes] == gid).all():
        # usual case: each respondent id lies in one group; order ids by (group, id)
        ids = np.flatnonzero(group_of_id >= 0)
        ids = ids[np.lexsort((ids, group_of_id[ids]))]
        rid_of_id = np.empty(n_ids, dtype=np.int64)
        rid_of_id[ids] = np.arange(len(ids))
        rid = rid_of_id[rcodes]
        rgroup = group_of_id[ids]
        del rid_of_id, ids
    else:  # an id recurs in several groups (e.g. named rounds): one respondent per (group, id)
        rkey = gid * n_ids
        rkey += rcodes
        rid, ru = pd.factorize(rkey, sort=True)
        del rkey
        rgroup = np.asarray(ru, dtype=np.int64) // n_ids
    del rcodes, group_of_id
    n_resp = len(rgroup)
    start = np.searchsorted(rgroup, np.arange(n_groups + 1)).astype(np.int64)

    # --- items: positions in codebook order
    icodes, iuniq = _factorize(responses[item], keep_na=False)
    pos = pd.Index(lay.item_ids).get_indexer(pd.Index([str(x) for x in iuniq]))
    used = np.bincount(icodes[icodes >= 0], minlength=len(iuniq)) > 0
    if (icodes < 0).any() or (used & (pos < 0)).any():
        unknown = [str(x) for x in iuniq[used & (pos < 0)]]
        if (icodes < 0).any():
            unknown.append("<missing>")
        raise MognadError(
            f"column {item!r}: item id(s) {unknown[:10]} are not in codebook {cb.id}; "
            f"its items are {lay.item_ids[0]}..{lay.item_ids[-1]}"
        )
    n_items = lay.n_items
    flat = rid * n_items
    del rid
    flat += pos.astype(np.int64)[icodes]
    del icodes

    vals = _values(responses, value, cb)

    hits = np.bincount(flat, minlength=n_resp * n_items)
    if hits.max() > 1:
        cell = int(np.argmax(hits))
        r, i = divmod(cell, n_items)
        where = ", ".join(f"{c}={v!r}" for c, v in groups.iloc[int(rgroup[r])].items())
        raise MognadError(
            f"a respondent answers item {lay.item_ids[i]!r} more than once ({int(hits[cell])} "
            f"rows; group {where or '(all)'}); each respondent gives one row per item"
        )
    del hits
    X = np.full(n_resp * n_items, np.nan, dtype=np.float32)
    X[flat] = vals
    X = X.reshape(n_resp, n_items)
    del flat, vals, gid
    X = X[content_order(X, rgroup, cb)]  # resampling order independent of respondent ids

    S, S_answers = respondent_categories(X, cb, lay)
    return Prepared(
        codebook=cb,
        layout=lay,
        by=by,
        groups=groups,
        start=start,
        X=X,
        S=S,
        S_answers=S_answers,
    )


def content_order(X: np.ndarray, rgroup: np.ndarray, cb: Codebook) -> np.ndarray:
    """Row order that sorts respondents by group, then by their answers (codebook item order).

    The bootstrap hands the ``k``-th Poisson count of a group's stream to the ``k``-th respondent
    of its block, so the block order decides which respondent gets which count. Ordering by the
    answers themselves (missing before the lowest answer) makes that assignment a function of
    the *multiset* of the group's answer vectors: it does not depend on respondent ids (which
    are keyed pseudonyms, different in every study), on row order, or on the order in which
    files were ingested. Respondents with identical answers are interchangeable (their rows of
    every resampled sum are equal), so the order among them does not matter.

    The answers are packed into integers, one base-``levels + 1`` digit per item (exact float64
    dot products with the digit weights, at most 2**53), and sorted with one ``np.lexsort``.

    Examples
    --------
    >>> from mognad.codebook import load_codebook
    >>> X = np.array([[3, 1], [np.nan, 6], [2, 2], [1, 1]], dtype=np.float32)
    >>> content_order(X, np.array([0, 0, 1, 1]), load_codebook()).tolist()
    [1, 0, 3, 2]
    """
    base = int(round(cb.scale_max - cb.scale_min)) + 2  # answers + missing
    per_word = max(1, int(52 // np.log2(base)))
    digits = np.nan_to_num(X - np.float32(cb.scale_min - 1), nan=0.0)
    keys = []
    for j0 in range(0, X.shape[1], per_word):
        block = digits[:, j0 : j0 + per_word].astype(np.float64)
        weights = float(base) ** np.arange(block.shape[1] - 1, -1, -1, dtype=np.float64)
        keys.append((block @ weights).astype(np.int64))
    # np.lexsort sorts by the last key first: group, then the words in item order
    return np.lexsort((*reversed(keys), rgroup))


def respondent_categories(X: np.ndarray, cb: Codebook, lay: Layout):
    """Each respondent's category scores in percent and the answered items behind them."""
    n_resp = X.shape[0]
    S = np.full((n_resp, lay.n_cats), np.nan)
    A = np.zeros((n_resp, lay.n_cats), dtype=np.int64)
    for c, (cols, w) in enumerate(zip(lay.item_cols, lay.item_weights, strict=True)):
        Xc = X[:, cols]
        M = ~np.isnan(Xc)
        cnt = M.sum(axis=1)
        num = np.where(M, Xc, 0).astype(np.float64) @ w
        den = M.astype(np.float64) @ w
        ok = (cnt >= cb.min_items_per_category) & (den > 0)
        S[ok, c] = cb.rescale(num[ok] / den[ok])
        A[ok, c] = cnt[ok]
    return S, A


# ---------------------------------------------------------------------------------- point estimates
@dataclass
class Point:
    """Point estimates and the ingredients of the t-intervals, each (G, L)."""

    value: np.ndarray
    n_respondents: np.ndarray
    n_answers: np.ndarray
    se: np.ndarray
    df: np.ndarray
    centers: np.ndarray  # (G, NI + C): item and category means used to centre the bootstrap


def _gsum(A: np.ndarray, start: np.ndarray) -> np.ndarray:
    return np.add.reduceat(A, start[:-1], axis=0, dtype=np.float64)


def point_estimates(prep: Prepared) -> Point:
    """Point estimates, counts and analytic standard errors for every group and name."""
    cb, lay, start = prep.codebook, prep.layout, prep.start
    G, NI, C, D = prep.n_groups, lay.n_items, lay.n_cats, lay.n_dims
    L = 1 + D + C + NI
    slope = cb.rescale(1.0) - cb.rescale(0.0)
    rg = np.repeat(np.arange(G), prep.sizes)
    value = np.full((G, L), np.nan)
    n_resp = np.zeros((G, L), dtype=np.int64)
    n_ans = np.zeros((G, L), dtype=np.int64)
    se = np.full((G, L), np.nan)
    df = np.full((G, L), np.nan)
    o_dim, o_cat, o_item = 1, 1 + D, 1 + D + C

    with np.errstate(invalid="ignore", divide="ignore"):
        # items: mean of the answers, rescaled
        M = ~np.isnan(prep.X)
        X0 = np.where(M, prep.X, 0)
        i_n = _gsum(M, start)
        i_sum = _gsum(X0, start)
        i_ss = _gsum(X0 * X0, start)
        del X0
        i_mean = i_sum / i_n
        i_var = (i_ss - i_n * i_mean**2) / (i_n - 1)
        value[:, o_item:] = cb.rescale(i_mean)
        n_resp[:, o_item:] = i_n
        n_ans[:, o_item:] = i_n
        se[:, o_item:] = np.sqrt(np.clip(i_var, 0, None) / i_n) * slope
        df[:, o_item:] = i_n - 1

        # categories: mean of the respondents' category scores
        V = ~np.isnan(prep.S)
        S0 = np.where(V, prep.S, 0.0)
        c_n = _gsum(V, start)
        c_mean = _gsum(S0, start) / c_n
        Dv = np.where(V, prep.S - c_mean[rg], 0.0)  # centred, zero where invalid
        Q = np.empty((G, C, C))
        N2 = np.empty((G, C, C))
        for a in range(C):
            for b in range(a, C):
                Q[:, a, b] = Q[:, b, a] = _gsum(Dv[:, a] * Dv[:, b], start)
                N2[:, a, b] = N2[:, b, a] = _gsum(V[:, a] & V[:, b], start)
        del Dv
        # Cov(mean_a, mean_b) = sigma_ab * n_ab / (n_a n_b), sigma_ab from pairwise-complete rows
        cov = Q / (N2 - 1) * N2 / (c_n[:, :, None] * c_n[:, None, :])
        cov[N2 < 2] = 0.0
        diag = np.arange(C)
        cov[:, diag, diag] = np.where(c_n >= 2, Q[:, diag, diag] / (c_n - 1) / c_n, np.nan)
        value[:, o_cat:o_item] = c_mean
        n_resp[:, o_cat:o_item] = c_n
        n_ans[:, o_cat:o_item] = _gsum(prep.S_answers, start)
        se[:, o_cat:o_item] = np.sqrt(cov[:, diag, diag])
        df[:, o_cat:o_item] = c_n - 1

        # dimensions and total: weighted means of the group's category scores (delta method)
        any_valid = []
        for d in range(D):
            sel = lay.cat_dim == d
            w = np.where(sel, lay.cat_weight, 0.0)
            value[:, o_dim + d] = _wsum(c_mean, w)
            var = np.einsum("c,gcd,d->g", w, np.nan_to_num(cov, nan=0.0), w)
            var[np.isnan(cov[:, sel][:, :, sel]).any(axis=(1, 2))] = np.nan
            se[:, o_dim + d] = np.sqrt(var)
            df[:, o_dim + d] = c_n[:, sel].min(axis=1) - 1
            vd = V[:, sel].any(axis=1)
            any_valid.append(vd)
            n_resp[:, o_dim + d] = _gsum(vd, start)
            n_ans[:, o_dim + d] = n_ans[:, o_cat:o_item][:, sel].sum(axis=1)
        wt = lay.cat_weight * lay.dim_weight[lay.cat_dim]
        value[:, 0] = _wsum(value[:, o_dim:o_cat], lay.dim_weight)
        var = np.einsum("c,gcd,d->g", wt, np.nan_to_num(cov, nan=0.0), wt)
        var[np.isnan(cov[:, wt > 0][:, :, wt > 0]).any(axis=(1, 2))] = np.nan
        se[:, 0] = np.sqrt(var)
        df[:, 0] = c_n[:, wt > 0].min(axis=1) - 1
        n_resp[:, 0] = _gsum(np.logical_or.reduce(any_valid), start)
        n_ans[:, 0] = n_ans[:, o_dim:o_cat].sum(axis=1)

    centers = np.concatenate([np.nan_to_num(cb.rescale(i_mean)), np.nan_to_num(c_mean)], axis=1)
    return Point(value, n_resp, n_ans, se, df, centers)


def _wsum(values: np.ndarray, w: np.ndarray, axis: int = -1) -> np.ndarray:
    """Weighted sum along ``axis``; NaN if any name with a positive weight is NaN.

    Names with weight 0 are left out entirely (so their NaN does not spread)."""
    keep = w > 0
    return np.tensordot(np.take(values, np.flatnonzero(keep), axis=axis), w[keep], axes=([axis], [0]))


# ---------------------------------------------------------------------------------- bootstrap
def _poisson_table(bits: int = 16) -> np.ndarray:
    """Inverse CDF of Poisson(1) at the midpoints of ``2**bits`` equal slices of (0, 1).

    Indexing it with uniform ``bits``-bit integers gives Poisson(1) counts; the probabilities are
    exact to within ``2**-bits`` (the largest count is 8 for 16 bits).
    """
    k = np.arange(30)
    pmf = np.exp(-1.0) / np.cumprod(np.r_[1.0, k[1:].astype(float)])
    cdf = np.cumsum(pmf)
    u = (np.arange(2**bits) + 0.5) / 2**bits
    return np.searchsorted(cdf, u, side="left").astype(np.float32)


POISSON_TABLE = _poisson_table()


def group_counts(
    seed: int, words: tuple[int, int], n: int, n_boot: int, out: np.ndarray | None = None
) -> np.ndarray:
    """Poisson(1) resampling counts of one group, shape (n_boot, n), float32.

    The stream (PCG64) is seeded by ``(seed, *words)`` only, so it is the same whatever else is
    in the data; each 64-bit word gives four 16-bit uniforms, read little-endian, so the counts
    are the same on any machine. ``out`` (float32, at least ``n * n_boot`` long) is reused.
    """
    bitgen = np.random.PCG64(np.random.SeedSequence([int(seed), *words]))
    cells = n * n_boot
    raw = bitgen.random_raw(-(-cells // 4)).astype("<u8", copy=False)
    u = raw.view("<u2")[:cells]
    if out is None:
        return np.take(POISSON_TABLE, u).reshape(n_boot, n)
    return np.take(POISSON_TABLE, u, out=out[:cells]).reshape(n_boot, n)


def bootstrap_draws(prep: Prepared, point: Point, n_boot: int, seed: int) -> np.ndarray:
    """Cluster (respondent) bootstrap draws of every score, shape (G, L, n_boot), float32.

    Poisson bootstrap: in each resample every respondent of the group enters ``Poisson(1)``
    times, independently (Hanley & MacGibbon 2006; Chamandy et al. 2012). Given the resample
    size this is exactly the multinomial bootstrap; every score here is a ratio of weighted
    sums, which is the same whatever the resample size. A resample in which a score has no
    respondent leaves that draw NaN. Groups with fewer than two respondents get all-NaN draws.
    """
    lay = prep.layout
    G, NI, C, D = prep.n_groups, lay.n_items, lay.n_cats, lay.n_dims
    L = 1 + D + C + NI
    H = NI + C
    B = int(n_boot)
    draws = np.full((G, L, B), np.nan, dtype=np.float32)
    if B < 1:
        return draws
    start, sizes = prep.start, prep.sizes
    Z = _respondent_matrix(prep, point)  # (R, 2H): centred values, then validity masks
    dim_w = [np.where(lay.cat_dim == d, lay.cat_weight, 0.0) for d in range(D)]
    chunk = max(1, _CHUNK_CELLS // B)
    buf = np.empty(int(sizes.max()) * B, dtype=np.float32)
    with _single_threaded_blas():
        g0 = 0
        while g0 < G:
            g1 = g0 + 1
            while g1 < G and g1 - g0 < _CHUNK_GROUPS and start[g1 + 1] - start[g0] <= chunk:
                g1 += 1
            raw = np.full((g1 - g0, B, 2 * H), np.nan, dtype=np.float32)
            for g in range(g0, g1):
                if sizes[g] >= 2:
                    # (n_boot x n) @ (n x 2H): one GEMM per group
                    counts = group_counts(seed, prep.seed_words[g], int(sizes[g]), B, out=buf)
                    np.matmul(counts, Z[start[g] : start[g + 1]], out=raw[g - g0])
            _post_process(raw, draws, g0, point, lay, dim_w)
            g0 = g1
    return draws


def _post_process(raw, draws, g0, point, lay, dim_w):
    """Ratios of the resampled sums, then dimension and total composites, for a chunk."""
    NI, H = lay.n_items, lay.n_items + lay.n_cats
    g1 = g0 + raw.shape[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        den = raw[:, :, H:]
        est = point.centers[g0:g1, None, :] + raw[:, :, :H].astype(np.float64) / den
        est[den == 0] = np.nan
    cats = est[:, :, NI:]
    dims = np.stack([_wsum(cats, w) for w in dim_w], axis=-1)
    total = _wsum(dims, lay.dim_weight)[..., None]
    block = np.concatenate([total, dims, cats, est[:, :, :NI]], axis=-1)
    draws[g0:g1] = block.transpose(0, 2, 1)


@contextmanager
def _single_threaded_blas():
    """BLAS on one thread while the bootstrap runs.

    Many mid-sized GEMMs interleaved with numpy work make multi-threaded OpenBLAS spin its idle
    worker threads against the main thread: measured 2x slower on 2 cores (30 s against 14 s for
    1,000,000 respondents). Without ``threadpoolctl`` nothing is changed.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is in the pinned environment
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _respondent_matrix(prep: Prepared, point: Point) -> np.ndarray:
    """Per respondent: item and category values centred on the group mean (0 when missing),
    then the item and category validity masks; float32, shape (R, 2 * (NI + C))."""
    lay = prep.layout
    NI, H = lay.n_items, lay.n_items + lay.n_cats
    rg = np.repeat(np.arange(prep.n_groups), prep.sizes)
    Z = np.empty((prep.X.shape[0], 2 * H), dtype=np.float32)
    M = ~np.isnan(prep.X)
    Xp = prep.codebook.rescale(prep.X.astype(np.float64))
    Z[:, :NI] = np.where(M, Xp - point.centers[rg, :NI], 0.0)
    del Xp
    V = ~np.isnan(prep.S)
    Z[:, NI:H] = np.where(V, prep.S - point.centers[rg, NI:], 0.0)
    Z[:, H : H + NI] = M
    Z[:, H + NI :] = V
    return Z


def percentile_interval(draws: np.ndarray, ci: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval over the last axis ignoring NaN draws (linear interpolation).

    Returns two float64 arrays of shape ``draws.shape[:-1]``; NaN where every draw is NaN.
    """
    a = (1.0 - ci) / 2.0
    shape = draws.shape[:-1]
    B = draws.shape[-1]
    flat = draws.reshape(-1, B)
    lo = np.full(flat.shape[0], np.nan)
    hi = np.full(flat.shape[0], np.nan)
    n_valid = B - np.isnan(flat).sum(axis=1)
    step = max(1, 4_000_000 // max(B, 1))
    full = np.flatnonzero(n_valid == B)
    for k in range(0, full.size, step):
        rows = full[k : k + step]
        q = np.quantile(flat[rows], [a, 1.0 - a], axis=1)
        lo[rows], hi[rows] = q[0], q[1]
    part = np.flatnonzero((n_valid > 0) & (n_valid < B))
    for k in range(0, part.size, step):
        rows = part[k : k + step]
        srt = np.sort(flat[rows], axis=1).astype(np.float64)  # NaN sort to the end
        nv = n_valid[rows]
        for p, out in ((a, lo), (1.0 - a, hi)):
            pos = p * (nv - 1)
            i0 = np.floor(pos).astype(np.intp)
            i1 = np.minimum(i0 + 1, nv - 1)
            v0 = np.take_along_axis(srt, i0[:, None], axis=1)[:, 0]
            v1 = np.take_along_axis(srt, i1[:, None], axis=1)[:, 0]
            out[rows] = v0 + (pos - i0) * (v1 - v0)
    return lo.reshape(shape), hi.reshape(shape)
