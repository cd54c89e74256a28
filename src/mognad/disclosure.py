"""Disclosure control: no figure in a report may reveal a group of fewer than ``k`` respondents.

Every breakdown in every report goes through this module:

- :func:`suppress` hides groups (units, roles, ...) with fewer than ``k`` respondents (*primary
  suppression*) and then hides enough further groups (*complementary suppression*) that no hidden
  figure can be recovered by subtraction from a published total or parent unit.
- :func:`merge_small_peer_groups` merges peer groups with too few organisations upwards (for
  example kommungrupp ``A1`` into main group ``A``) or marks them as not shown.
- :func:`check_disclosure` is the last guard in a report notebook: it raises
  :class:`~mognad.errors.MognadError` if any shown row rests on fewer than ``k`` respondents.

The protection model of :func:`suppress`
----------------------------------------
Within one ``by`` group (by default one organisation in one round) the rows of the table are
*cells*; the ``group`` column (by default ``unit``) places each cell in a tree: unit paths such as
``"Kultur/Bibliotek"`` hang under ``"Kultur"``, top-level units under the organisation total. A row
whose ``group`` value is missing is, by default (``na_group="part"``, as ``score(...,
by=("org_id", "round", "unit"))`` produces it), the respondents recorded on no unit: one more part
under the total. With ``na_group="total"`` it *is* the organisation total (a table that
concatenates organisation and unit rows). An attacker knows every shown figure and the
organisation total (assumed published elsewhere in the report even when it is not a row of the
table) and can add and subtract. Scores are respondent-weighted means, so ``n`` and
``score * n`` add up exactly like counts.

Each published aggregate gives one equation ``aggregate = sum of its parts``:

- ``rollup=False`` (default; what ``score(..., by=("org_id", "round", "unit"))`` produces): each
  row holds only the respondents recorded with exactly that unit, so the rows are disjoint and the
  only published aggregate is the organisation total: ``total = all unit rows + respondents in no
  listed unit``.
- ``rollup=True``: a row for ``"Kultur"`` already includes ``"Kultur/Bibliotek"`` and the other
  units below it, so every such row is an aggregate too: ``Kultur = its nearest listed
  descendants + respondents recorded directly on Kultur``.

The table must list every part of the total: respondents left out of it (say, those with no unit
dropped from the breakdown) are unknown to :func:`suppress`, which then assumes there are none;
with ``na_group="total"`` include the total row and the remainder is computed from it.

The part of an aggregate not covered by listed rows (its *remainder*, computed from the counts) is
never shown and counts as hidden. An equation is safe when it has no hidden part, or at least two
hidden parts that together hold at least ``k`` respondents (if the aggregate is shown). While an
equation is unsafe, the visible part nearest in the tree to the part being protected and with the
fewest respondents is hidden too ("the next smallest sibling"); when no part qualifies, the
aggregate itself is hidden ("the parent"). For a one-dimensional hierarchy this prevents exact
recovery of any hidden count or score by subtraction, at any depth (the tests check it with an
independent linear-algebra attacker on random unit trees).

Suppression runs in two stages. First whole groups: a group whose size (largest ``count`` over its
rows) is below ``k`` is hidden in every row, and complementary groups are chosen on group sizes, so
a unit hidden at this stage is hidden in every statistic. Then each separate statistic (each
``level`` x ``name`` slice) on its own: a row of a shown group whose own count is below ``k`` (for
example a category many respondents answered "don't know" on) is hidden, with complementary cells
chosen within that slice. Residual risk, documented rather than solved: the count of a cell hidden
only at the second stage may be bounded from the same group's counts in other slices.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mognad.errors import MognadError

__all__ = [
    "DEFAULT_HIERARCHIES",
    "KOMMUNGRUPP_MAIN",
    "NATIONAL",
    "PeerGroups",
    "Suppressed",
    "check_disclosure",
    "merge_small_peer_groups",
    "peer_chain",
    "peer_members",
    "suppress",
]

#: Label of the national (all organisations) level in peer group hierarchies ("riket").
NATIONAL = "riket"

#: SKR's main municipality groups, the parents of kommungrupp A1-C9.
KOMMUNGRUPP_MAIN = {
    "A": "Storstäder och storstadsnära kommuner",
    "B": "Större städer och kommuner nära större stad",
    "C": "Mindre städer/tätorter och landsbygdskommuner",
}



class _Root:
    """Tree keys no group value can equal: the by-group total and the "no unit" part."""

    def __init__(self, label: str):
        self.label = label

    def __repr__(self) -> str:
        return self.label


_ROOT = _Root("(total)")
_NOUNIT = _Root("(no unit)")  # respondents with a missing group value, a part under the total

#: Value columns hidden by default (those present); explicitly given columns must all exist.
DEFAULT_VALUES = ("score_pct", "ci_low", "ci_high")


# ---------------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class Suppressed:
    """What :func:`suppress` returns: the protected table and the log of every suppression.

    Unpacks like a tuple: ``table, log = suppress(...)``.

    Attributes
    ----------
    table : DataFrame
        The input rows in input order (and with the input index), suppressed cells set to
        missing, plus ``suppressed`` (bool) and ``suppression_reason`` (string, missing for shown
        rows).
    suppression_log : DataFrame
        One row per suppressed row: the key columns, ``n`` (the true count, so the log itself must
        never be published), ``kind`` (``primary``/``complementary``), ``stage``
        (``group``/``cell``), ``protects`` and ``reason``.
    """

    table: pd.DataFrame
    suppression_log: pd.DataFrame

    @property
    def log(self) -> pd.DataFrame:
        """Alias of :attr:`suppression_log`."""
        return self.suppression_log

    def __iter__(self):
        return iter((self.table, self.suppression_log))


@dataclass(frozen=True)
class PeerGroups:
    """What :func:`merge_small_peer_groups` returns; unpacks like ``orgs, log = ...``.

    Attributes
    ----------
    organisations : DataFrame
        The input rows plus ``peer_group`` (string, missing = not shown) and ``n_peer_orgs``.
    merge_log : DataFrame
        One row per original peer group value: ``column``, ``value``, ``n_orgs``, ``peer_group``,
        ``n_peer_orgs``, ``action`` (``kept``/``merged``/``not shown``) and ``reason``.
    """

    organisations: pd.DataFrame
    merge_log: pd.DataFrame

    @property
    def log(self) -> pd.DataFrame:
        """Alias of :attr:`merge_log`."""
        return self.merge_log

    def __iter__(self):
        return iter((self.organisations, self.merge_log))


# ---------------------------------------------------------------------------------------- helpers
def _as_tuple(cols: str | Iterable[str] | None) -> tuple[str, ...]:
    if cols is None:
        return ()
    if isinstance(cols, str):
        return (cols,)
    return tuple(cols)


def _require(frame: pd.DataFrame, cols: Iterable[str], what: str) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise MognadError(
            f"{what}: missing column(s) {missing}; the table has {list(frame.columns)}"
        )


def _check_k(k: Any, name: str = "k") -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise MognadError(f"{name} must be a whole number >= 1; got {k!r}")
    return int(k)


def _is_na(value: Any) -> bool:
    return value is None or (not isinstance(value, _Root) and bool(pd.isna(value)))


def _label(node: Any) -> str:
    return node.label if isinstance(node, _Root) else str(node)


class _Tree:
    """Parent links between group values; the by-group total is ``_ROOT``."""

    def __init__(self, groups: Iterable[Any], hierarchy: Any, sep: str):
        self.parent: dict[Any, Any] = {}
        for g in groups:
            self._add(g, hierarchy, sep)
        self.children: dict[Any, list[Any]] = {}
        for node, par in self.parent.items():
            self.children.setdefault(par, []).append(node)
        for kids in self.children.values():
            kids.sort(key=str)

    def _parent_of(self, node: Any, hierarchy: Any, sep: str) -> Any:
        if node is _NOUNIT:
            return _ROOT
        if hierarchy is None:
            text = str(node)
            return text.rsplit(sep, 1)[0] if sep in text else _ROOT
        if node not in hierarchy:
            raise MognadError(
                f"group {node!r} is not in the hierarchy; add it with its parent "
                f"(None for a top-level group)"
            )
        par = hierarchy[node]
        return _ROOT if _is_na(par) else par

    def _add(self, node: Any, hierarchy: Any, sep: str) -> None:
        seen = []
        while node != _ROOT and node not in self.parent:
            seen.append(node)
            par = self._parent_of(node, hierarchy, sep)
            if par in seen or par == node:
                raise MognadError(f"the hierarchy has a cycle through {node!r}")
            self.parent[node] = par
            node = par

    def ancestors(self, node: Any) -> list[Any]:
        """The node, its parent, ..., the root."""
        out = [node]
        while node != _ROOT:
            node = self.parent[node]
            out.append(node)
        return out

    def distance(self, a: Any, b: Any) -> int:
        up_a, up_b = self.ancestors(a), self.ancestors(b)
        common = set(up_b)
        for i, node in enumerate(up_a):
            if node in common:
                return i + up_b.index(node)
        return len(up_a) + len(up_b)  # pragma: no cover - both end at the root


def _normalise_hierarchy(hierarchy: Any) -> Mapping | None:
    if hierarchy is None or isinstance(hierarchy, Mapping):
        return hierarchy
    if isinstance(hierarchy, pd.DataFrame):
        if hierarchy.shape[1] != 2:
            raise MognadError(
                "hierarchy as a DataFrame needs exactly two columns: group and its parent"
            )
        return dict(zip(hierarchy.iloc[:, 0], hierarchy.iloc[:, 1], strict=True))
    raise MognadError(
        "hierarchy must be None (unit paths like 'Kultur/Bibliotek'), a mapping "
        f"{{group: parent}} or a two-column DataFrame; got {type(hierarchy).__name__}"
    )


@dataclass
class _Equation:
    node: Any  # tree node of the aggregate
    lhs: Any  # cell id of the aggregate row, or None when the aggregate is not a row
    lhs_known: bool  # a published figure (a shown row, or the assumed-published total)
    parts: list[Any]  # cell ids of the listed parts
    remainder: float  # respondents of the aggregate in no listed part (never shown)


def _equations(cells: Mapping[Any, Any], counts: Mapping[Any, float], tree: _Tree, k: int,
               rollup: bool) -> list[_Equation]:
    """Equations ``aggregate = parts + remainder`` for one by-group (see the module docstring)."""
    node_cell = {node: cid for cid, node in cells.items()}

    def frontier(node: Any) -> list[Any]:
        found = []
        for child in tree.children.get(node, []):
            if child in node_cell:
                found.append(node_cell[child])
                if not rollup:
                    found.extend(frontier(child))
            else:
                found.extend(frontier(child))
        return found

    aggregates = [_ROOT] + ([n for n in node_cell if n != _ROOT] if rollup else [])
    out = []
    for node in aggregates:
        parts = frontier(node)
        if not parts:
            continue
        part_n = sum(counts[c] for c in parts if not pd.isna(counts[c]))
        lhs = node_cell.get(node)
        if lhs is not None and not pd.isna(counts[lhs]):
            remainder = max(float(counts[lhs]) - part_n, 0.0)
            known = True
        elif lhs is not None:  # aggregate row of unknown size: hidden as primary anyway
            remainder, known = 0.0, True
        else:  # the total is not a row: assume it is published unless it is itself too small
            remainder, known = 0.0, part_n >= k
        out.append(_Equation(node, lhs, known, parts, remainder))
    return out


def _protect(cells: Mapping[Any, Any], counts: Mapping[Any, float], hidden: dict[Any, dict],
             tree: _Tree, k: int, rollup: bool) -> list[str]:
    """Add complementary suppressions to ``hidden`` (cell id -> info) until every equation is safe.

    Returns warnings for equations that cannot be made safe (should not happen with consistent
    counts).
    """
    equations = _equations(cells, counts, tree, k, rollup)
    warnings_: list[str] = []

    def n_of(cid: Any) -> float:
        n = counts[cid]
        return np.inf if pd.isna(n) else float(n)

    changed = True
    while changed:
        changed = False
        for eq in equations:
            lhs_visible = eq.lhs_known and (eq.lhs is None or eq.lhs not in hidden)
            hidden_parts = [c for c in eq.parts if c in hidden]
            n_hidden_terms = len(hidden_parts) + (eq.remainder > 0) + (not lhs_visible)
            hidden_n = sum(n_of(c) for c in hidden_parts) + eq.remainder
            too_few = lhs_visible and 0 < hidden_n < k
            if n_hidden_terms != 1 and not too_few:
                continue
            # what is being protected, as tree nodes (the remainder sits on the aggregate's node)
            if hidden_parts:
                targets = [cells[c] for c in hidden_parts]
                protects = ", ".join(_label(cells[c]) for c in hidden_parts)
            elif eq.remainder > 0:
                targets = [eq.node]
                protects = (
                    "respondents in no listed group"
                    if eq.node == _ROOT
                    else f"respondents directly in {_label(eq.node)}"
                )
            else:
                targets = [eq.node]
                protects = _label(eq.node)
            candidates = [c for c in eq.parts if c not in hidden]
            if candidates:
                pick = min(
                    candidates,
                    key=lambda c: (
                        min(tree.distance(cells[c], t) for t in targets),
                        n_of(c),
                        _label(cells[c]),
                    ),
                )
            elif eq.lhs is not None and eq.lhs not in hidden:
                pick = eq.lhs
            else:
                warnings_.append(
                    f"cannot protect {protects}: the total of its group reveals it; "
                    "do not publish that total"
                )
                eq.lhs_known = False
                changed = True
                continue
            hidden[pick] = {
                "kind": "complementary",
                "protects": protects,
                "reason": f"complementary: protects {protects}",
                "log_reason": f"complementary: protects {protects}",
            }
            changed = True
    return warnings_


def _primary(n: Any, k: int) -> dict | None:
    if pd.isna(n):
        return {
            "kind": "primary",
            "protects": pd.NA,
            "reason": "primary: n unknown",
            "log_reason": "primary: n unknown",
        }
    if n < k:
        return {
            "kind": "primary",
            "protects": pd.NA,
            "reason": f"primary: n < k={k}",
            "log_reason": f"primary: n={int(n)} < k={k}",
        }
    return None


# ---------------------------------------------------------------------------------------- suppress
def suppress(
    table: pd.DataFrame,
    *,
    k: int = 5,
    count: str = "n_respondents",
    by: str | Iterable[str] | None = ("org_id", "round"),
    group: str | None = "unit",
    values: str | Iterable[str] = ("score_pct", "ci_low", "ci_high"),
    hierarchy: Mapping | pd.DataFrame | None = None,
    within: str | Iterable[str] = ("level", "name"),
    also_hide: str | Iterable[str] = ("n_answers",),
    rollup: bool = False,
    na_group: str = "part",
    sep: str = "/",
) -> Suppressed:
    """Primary and complementary suppression of small groups (see the module docstring).

    Parameters
    ----------
    table : DataFrame
        A tidy table of figures per group, such as the score table (``by`` columns, ``group``,
        ``level``, ``name``, ``score_pct``, ``n_respondents``, ``n_answers``, ``ci_low``,
        ``ci_high``). For rows with a missing ``group`` value see ``na_group``.
    k : int, default 5
        Smallest number of respondents a shown figure may rest on.
    count : str, default "n_respondents"
        Column with the number of respondents behind each row.
    by : str or sequence of str, default ("org_id", "round")
        Columns whose groups are protected independently (one tree per organisation and round).
    group : str or None, default "unit"
        Column with the breakdown being protected. ``None``: no breakdown, only primary
        suppression row by row.
    values : str or sequence of str
        Columns set to missing in suppressed rows (``count`` and ``also_hide`` are hidden too).
        Of the default columns, those present are hidden; columns given explicitly must exist.
    hierarchy : mapping, DataFrame or None
        ``None``: the tree comes from paths in ``group`` split at ``sep`` (``"Kultur/Bibliotek"``
        is a child of ``"Kultur"``). Otherwise ``{group: parent}`` (or a two-column DataFrame);
        a missing parent means a top-level group.
    within : str or sequence of str, default ("level", "name")
        Columns telling separate statistics of the same group apart; each is protected on its own
        in the second stage. Columns not in the table are ignored.
    also_hide : str or sequence of str, default ("n_answers",)
        Further count columns to hide in suppressed rows, where present.
    rollup : bool, default False
        Whether a parent unit's row already includes the units below it (see the module
        docstring). ``False`` matches a score table grouped by exact unit.
    na_group : {"part", "total"}, default "part"
        What a row with a missing ``group`` is: the respondents in no unit (a part of the total,
        as in a score table grouped by unit) or the total itself (a table that stacks the
        organisation's own row on its unit rows).
    sep : str, default "/"
        Path separator in unit names.

    Returns
    -------
    Suppressed
        ``.table`` (the input with suppressed cells missing, ``suppressed`` and
        ``suppression_reason``) and ``.suppression_log``; unpacks as ``table, log``. The table's
        reasons never carry the hidden count (``"primary: n < k=5"``); the log, which is for the
        analyst only, does (``"primary: n=3 < k=5"``).

    Raises
    ------
    MognadError
        Missing columns, a bad ``k``, duplicate rows, or groups missing from ``hierarchy``.

    Examples
    --------
    >>> t = pd.DataFrame({"org_id": "1384", "round": 2024,
    ...                   "unit": ["Kultur", "Skola", "Vård"], "level": "total", "name": "total",
    ...                   "score_pct": [61.0, 48.0, 55.0], "n_respondents": [3, 9, 12]})
    >>> table, log = suppress(t)
    >>> table[["unit", "score_pct", "n_respondents", "suppressed"]]
         unit  score_pct  n_respondents  suppressed
    0  Kultur        NaN           <NA>        True
    1   Skola        NaN           <NA>        True
    2    Vård       55.0             12       False
    >>> log["reason"].tolist()
    ['primary: n=3 < k=5', 'complementary: protects Kultur']
    """
    k = _check_k(k)
    by = _as_tuple(by)
    values = _as_tuple(values)
    if na_group not in ("part", "total"):
        raise MognadError(f"na_group must be 'part' or 'total'; got {na_group!r}")
    na_node = _ROOT if na_group == "total" else _NOUNIT
    if not isinstance(table, pd.DataFrame):
        raise MognadError(f"suppress needs a DataFrame; got {type(table).__name__}")
    if values == DEFAULT_VALUES:  # the defaults that the table lacks are simply not there to hide
        values = tuple(c for c in values if c in table.columns)
    _require(table, (*by, *((group,) if group else ()), count, *values), "suppress")
    within = tuple(c for c in _as_tuple(within) if c in table.columns and c != group)
    hide_cols = [*values, count, *(c for c in _as_tuple(also_hide) if c in table.columns)]
    hierarchy = _normalise_hierarchy(hierarchy)

    out = table.copy()  # keeps the caller's index; the work below is by row position
    key_cols = [*by, *((group,) if group else ()), *within]
    dup = out.duplicated(subset=key_cols, keep=False) if key_cols else pd.Series(False, out.index)
    if dup.any():
        first = out.loc[dup, key_cols].iloc[0].to_dict()
        raise MognadError(
            f"suppress: {int(dup.sum())} rows share the same {key_cols}, e.g. {first}; "
            "each group and statistic must appear once (add the distinguishing column to `by` "
            "or `within`)"
        )
    counts = pd.to_numeric(out[count], errors="coerce").astype(float).to_numpy()
    info: dict[int, dict] = {}  # row position -> suppression info
    stage: dict[int, str] = {}
    problems: list[str] = []

    if group is None:
        for idx, n in enumerate(counts):
            hit = _primary(n, k)
            if hit:
                info[idx], stage[idx] = hit, "cell"
    else:
        gvals = [na_node if _is_na(g) else g for g in out[group].tolist()]
        by_groups = (
            out.groupby(list(by), dropna=False, sort=False).indices.values()
            if by
            else [np.arange(len(out))]
        )
        slice_code = (
            out.groupby(list(within), dropna=False, sort=False).ngroup().to_numpy()
            if within
            else np.zeros(len(out), dtype=int)
        )
        for rows in by_groups:
            rows = rows.tolist()
            tree = _Tree({gvals[i] for i in rows if gvals[i] != _ROOT}, hierarchy, sep)

            # stage 1: whole groups, on group size (largest count over the group's rows)
            sizes: dict[Any, float] = {}
            for i in rows:
                g, n = gvals[i], counts[i]
                if not np.isnan(n) and (g not in sizes or np.isnan(sizes[g]) or n > sizes[g]):
                    sizes[g] = n
                else:
                    sizes.setdefault(g, np.nan)
            g_hidden: dict[Any, dict] = {}
            for g, n in sizes.items():
                hit = _primary(n, k)
                if hit:
                    g_hidden[g] = hit
            problems += _protect({g: g for g in sizes}, sizes, g_hidden, tree, k, rollup)
            for i in rows:
                if gvals[i] in g_hidden:
                    info[i], stage[i] = g_hidden[gvals[i]], "group"

            # stage 2: each statistic (level x name) on its own, on the row's own count
            slices: dict[int, list[int]] = {}
            for i in rows:
                slices.setdefault(slice_code[i], []).append(i)
            for srows in slices.values():
                hidden = {i: info[i] for i in srows if i in info}
                for i in srows:
                    if i not in hidden:
                        hit = _primary(counts[i], k)
                        if hit:
                            hidden[i] = hit
                if not hidden and not (rollup or _ROOT in sizes):
                    continue  # nothing hidden and no remainder to protect
                cells = {i: gvals[i] for i in srows}
                problems += _protect(cells, {i: counts[i] for i in srows}, hidden, tree, k, rollup)
                for i, hit in hidden.items():
                    if i not in info:
                        info[i], stage[i] = hit, "cell"

    mask = np.zeros(len(out), dtype=bool)
    mask[list(info)] = True
    for col in hide_cols:
        if pd.api.types.is_integer_dtype(out[col]) or pd.api.types.is_bool_dtype(out[col]):
            out[col] = out[col].astype("Int64")
        elif not (pd.api.types.is_float_dtype(out[col]) or out[col].dtype == object):
            out[col] = out[col].astype(object)
        out.loc[mask, col] = np.nan if pd.api.types.is_float_dtype(out[col]) else pd.NA
    out["suppressed"] = mask.astype(bool)
    out["suppression_reason"] = pd.array(
        [info[i]["reason"] if i in info else pd.NA for i in range(len(out))], dtype="string"
    )

    order = sorted(info)
    log = table.iloc[order][key_cols].reset_index(drop=True)
    log_n = pd.array([counts[i] for i in order], dtype="Float64")
    integral = bool(((log_n.fillna(0) % 1) == 0).all())
    log["n"] = log_n.astype("Int64") if integral else log_n
    log["kind"] = pd.array([info[i]["kind"] for i in order], dtype="string")
    log["stage"] = pd.array([stage[i] for i in order], dtype="string")
    log["protects"] = pd.array([info[i]["protects"] for i in order], dtype="string")
    log["reason"] = pd.array([info[i]["log_reason"] for i in order], dtype="string")
    if problems:
        import warnings

        for msg in dict.fromkeys(problems):
            warnings.warn(msg, UserWarning, stacklevel=2)
    return Suppressed(out, log)


# ---------------------------------------------------------------------------------------- peers
def _kommungrupp_parent(value: str) -> str | None:
    text = str(value).strip()
    if text == "kommun":
        return None
    if len(text) > 1 and text[0].upper() in KOMMUNGRUPP_MAIN:
        return text[0].upper()
    return "kommun"


def _national_parent(value: str) -> str | None:
    return None if value == NATIONAL else NATIONAL


#: Default hierarchies of :func:`merge_small_peer_groups`, by column: kommungrupp A1 -> A ->
#: "kommun" (all municipalities); every other column -> "riket" (all organisations).
DEFAULT_HIERARCHIES: dict[str, Callable[[str], str | None]] = {
    "kommungrupp": _kommungrupp_parent,
}


def _parent_function(hierarchy: Any, column: str) -> Callable[[Any], Any]:
    if hierarchy == "default":
        return DEFAULT_HIERARCHIES.get(column, _national_parent)
    if hierarchy is None:
        return lambda value: None
    if callable(hierarchy):
        return hierarchy
    if isinstance(hierarchy, Mapping):
        return lambda value: None if _is_na(hierarchy.get(value)) else hierarchy.get(value)
    raise MognadError(
        "hierarchy must be 'default', None (no merging), a mapping {group: parent} or a "
        f"function group -> parent; got {type(hierarchy).__name__}"
    )


def peer_chain(value: Any, *, column: str = "kommungrupp", hierarchy: Any = "default") -> list:
    """The peer group ``value`` and its ancestors, most specific first.

    Examples
    --------
    >>> peer_chain("A1")
    ['A1', 'A', 'kommun']
    >>> peer_chain("kommun", column="org_type")
    ['kommun', 'riket']
    """
    parent = _parent_function(hierarchy, column)
    chain = [value]
    while True:
        nxt = parent(chain[-1])
        if _is_na(nxt) or nxt in chain:
            return chain
        chain.append(nxt)


def merge_small_peer_groups(
    organisations: pd.DataFrame,
    *,
    column: str = "kommungrupp",
    min_orgs: int = 5,
    hierarchy: Mapping | Callable | str | None = "default",
) -> PeerGroups:
    """Give every organisation a peer group with at least ``min_orgs`` organisations.

    A peer group with too few organisations is replaced, for its members, by its parent in the
    hierarchy, and so on upwards; the parent group contains *all* organisations below it (an A1
    municipality merged into ``A`` is compared with every A municipality). Organisations for which
    no level is large enough, or without a value in ``column``, get a missing ``peer_group``
    (not shown).

    Parameters
    ----------
    organisations : DataFrame
        One row per organisation (the registry, or the organisations with results in one round:
        the counts are taken over the rows given).
    column : str, default "kommungrupp"
        The peer grouping: ``org_type``, ``kommungrupp``, ``county_code``, ``size_class`` ...
    min_orgs : int, default 5
        Smallest peer group shown.
    hierarchy : "default", mapping, callable or None
        Parent of each group value. ``"default"``: kommungrupp ``A1`` -> ``A`` (SKR main group,
        see :data:`KOMMUNGRUPP_MAIN`) -> ``"kommun"``; any other column -> ``"riket"``
        (national). A mapping ``{value: parent}`` or a function ``value -> parent`` (``None`` at
        the top); ``None``: no merging, small groups are not shown.

    Returns
    -------
    PeerGroups
        ``.organisations`` with ``peer_group`` and ``n_peer_orgs`` and ``.merge_log``; unpacks as
        ``orgs, log``.

    Examples
    --------
    >>> orgs = pd.DataFrame({"org_id": [f"{i:04d}" for i in range(9)],
    ...                      "kommungrupp": ["A1"] * 2 + ["A2"] * 3 + ["B3"] * 4})
    >>> merged, log = merge_small_peer_groups(orgs)
    >>> merged.groupby("kommungrupp")["peer_group"].first().to_dict()
    {'A1': 'A', 'A2': 'A', 'B3': 'kommun'}
    >>> log[["value", "n_orgs", "peer_group", "n_peer_orgs", "action"]]
      value  n_orgs peer_group  n_peer_orgs  action
    0    A1       2          A            5  merged
    1    A2       3          A            5  merged
    2    B3       4     kommun            9  merged
    """
    min_orgs = _check_k(min_orgs, "min_orgs")
    if not isinstance(organisations, pd.DataFrame):
        raise MognadError(
            f"merge_small_peer_groups needs a DataFrame; got {type(organisations).__name__}"
        )
    _require(organisations, (column,), "merge_small_peer_groups")
    if "org_id" in organisations.columns and organisations["org_id"].duplicated().any():
        dup = organisations.loc[organisations["org_id"].duplicated(), "org_id"].iloc[0]
        raise MognadError(f"merge_small_peer_groups: org_id {dup!r} appears more than once")

    out = organisations.copy()
    raw = out[column]
    present = [v for v in raw if not _is_na(v)]
    chains = {v: peer_chain(v, column=column, hierarchy=hierarchy) for v in dict.fromkeys(present)}
    population: dict[Any, int] = {}
    for v in present:
        for node in chains[v]:
            population[node] = population.get(node, 0) + 1
    assigned: dict[Any, Any] = {}
    for v, chain in chains.items():
        assigned[v] = next((node for node in chain if population[node] >= min_orgs), None)

    out["peer_group"] = pd.array(
        [pd.NA if _is_na(v) or assigned[v] is None else str(assigned[v]) for v in raw],
        dtype="string",
    )
    out["n_peer_orgs"] = pd.array(
        [pd.NA if _is_na(v) or assigned[v] is None else population[assigned[v]] for v in raw],
        dtype="Int64",
    )

    rows = []
    for v in sorted(chains, key=str):
        n, peer = population[v], assigned[v]
        if peer == v:
            action, reason = "kept", f"{v}: {n} organisations >= {min_orgs}"
        elif peer is not None:
            action = "merged"
            reason = (
                f"{v}: {n} organisations < {min_orgs}, merged into {peer} "
                f"({population[peer]} organisations)"
            )
        else:
            action = "not shown"
            reason = f"{v}: {n} organisations < {min_orgs} and no larger group above it"
        rows.append(
            {
                "column": column,
                "value": str(v),
                "n_orgs": sum(1 for x in present if x == v),
                "peer_group": pd.NA if peer is None else str(peer),
                "n_peer_orgs": pd.NA if peer is None else population[peer],
                "action": action,
                "reason": reason,
            }
        )
    n_missing = len(raw) - len(present)
    if n_missing:
        rows.append(
            {
                "column": column,
                "value": pd.NA,
                "n_orgs": n_missing,
                "peer_group": pd.NA,
                "n_peer_orgs": pd.NA,
                "action": "not shown",
                "reason": f"{n_missing} organisations without a value in {column}",
            }
        )
    log = pd.DataFrame(
        rows,
        columns=["column", "value", "n_orgs", "peer_group", "n_peer_orgs", "action", "reason"],
    )
    log = log.astype(
        {
            "column": "string",
            "value": "string",
            "n_orgs": "Int64",
            "peer_group": "string",
            "n_peer_orgs": "Int64",
            "action": "string",
            "reason": "string",
        }
    )
    return PeerGroups(out, log)


def peer_members(organisations: pd.DataFrame, label: Any, *, column: str,
                 hierarchy: Any = "default") -> pd.Series:
    """Boolean mask of the organisations in peer group ``label`` (including merged-up levels).

    ``"riket"`` (:data:`NATIONAL`) holds every row.

    Examples
    --------
    >>> orgs = pd.DataFrame({"kommungrupp": ["A1", "A2", "B3", None]})
    >>> peer_members(orgs, "A", column="kommungrupp").tolist()
    [True, True, False, False]
    """
    if label == NATIONAL:
        return pd.Series(True, index=organisations.index)
    chains = {}
    mask = []
    for v in organisations[column]:
        if _is_na(v):
            mask.append(False)
            continue
        if v not in chains:
            chains[v] = peer_chain(v, column=column, hierarchy=hierarchy)
        mask.append(label in chains[v])
    return pd.Series(mask, index=organisations.index, dtype=bool)


# ---------------------------------------------------------------------------------------- guard
def check_disclosure(
    frame: pd.DataFrame,
    *,
    k: int = 5,
    count: str = "n_respondents",
    values: str | Iterable[str] = ("score_pct", "ci_low", "ci_high"),
    suppressed: str = "suppressed",
) -> pd.DataFrame:
    """Last guard before a table is shown: raise if any shown row rests on fewer than ``k``.

    A row is *shown* unless its ``suppressed`` column (when present) is true. A shown row with any
    value or count present must have ``count >= k`` (a missing count with a shown value fails: it
    cannot be checked). A suppressed row must show no value and no count.

    Parameters
    ----------
    frame : DataFrame
        The table about to be shown.
    k : int, default 5
    count : str, default "n_respondents"
    values : str or sequence of str
        Value columns; those not in ``frame`` are ignored.
    suppressed : str, default "suppressed"
        Boolean column marking suppressed rows, if present.

    Returns
    -------
    DataFrame
        ``frame`` unchanged, so the call can sit in a chain.

    Raises
    ------
    MognadError
        Naming the offending rows.

    Examples
    --------
    >>> ok = pd.DataFrame({"unit": ["A", "B"], "score_pct": [50.0, None],
    ...                    "n_respondents": [7, None], "suppressed": [False, True]})
    >>> check_disclosure(ok) is ok
    True
    >>> check_disclosure(pd.DataFrame({"unit": ["A"], "score_pct": [50.0], "n_respondents": [3]}))
    Traceback (most recent call last):
    ...
    mognad.errors.MognadError: disclosure check failed (k=5): 1 shown row(s) rest on fewer than ...
    """
    k = _check_k(k)
    if not isinstance(frame, pd.DataFrame):
        raise MognadError(f"check_disclosure needs a DataFrame; got {type(frame).__name__}")
    _require(frame, (count,), "check_disclosure")
    vals = [c for c in _as_tuple(values) if c in frame.columns]
    n = pd.to_numeric(frame[count], errors="coerce")
    anything = frame[vals].notna().any(axis=1) | n.notna() if vals else n.notna()
    if suppressed in frame.columns:
        is_supp = frame[suppressed].fillna(False).astype(bool)
    else:
        is_supp = pd.Series(False, index=frame.index)
    small = ~is_supp & anything & ~(n >= k).fillna(False).astype(bool)
    leak = is_supp & anything
    msgs = []
    if small.any():
        shown = frame.loc[small].drop(columns=vals, errors="ignore").head(5)
        msgs.append(
            f"{int(small.sum())} shown row(s) rest on fewer than {k} respondents (or an unknown "
            f"number): {shown.to_dict(orient='records')}"
        )
    if leak.any():
        shown = frame.loc[leak].drop(columns=[*vals, count], errors="ignore").head(5)
        msgs.append(
            f"{int(leak.sum())} suppressed row(s) still show a value or count: "
            f"{shown.to_dict(orient='records')}"
        )
    if msgs:
        raise MognadError(
            f"disclosure check failed (k={k}): "
            + "; ".join(msgs)
            + ". Run mognad.disclosure.suppress on the table before showing it."
        )
    return frame
