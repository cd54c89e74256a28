"""Disclosure control: no figure in a report may reveal a group of fewer than ``k`` respondents.

Every breakdown in every report goes through this module:

- :func:`publication_plan` decides, once per organisation-round, which groups of respondents may
  be published at all: the organisation total, every node of the unit hierarchy (at every depth)
  and every role. Every report kind (organisation report, internal comparison at any depth,
  ``results.json``) publishes only groups of that one plan, so that no combination of the figures
  of all reports reveals a group of fewer than ``k`` (see "The publication plan" below).
- :func:`suppress` hides small rows of other tables (primary and complementary suppression along
  one hierarchy), such as a training evaluation broken down by function.
- :func:`merge_small_peer_groups` merges peer groups with too few organisations upwards (for
  example kommungrupp ``A1`` into main group ``A``) or marks them as not shown.
- :func:`check_disclosure` is the last guard in a report notebook: it raises
  :class:`~mognad.errors.MognadError` if any shown row rests on fewer than ``k`` respondents.

The publication plan
--------------------
**What is published.** For one organisation-round the candidate groups are the organisation
total ``T``, every unit node ``v`` (unit paths such as ``"Kultur/Bibliotek"`` hang under
``"Kultur"``; a node's figure is always that of *all respondents in its subtree*, the same
definition in every report and at every depth) and every role ``r``. Respondents with no unit
belong to ``T`` only, respondents with no role to no role. A figure of a group is a sum over its
respondents divided by its ``n`` (a mean score; ``n`` and ``score * n`` add up), so an attacker who
knows all published figures knows ``sum(G)`` and ``n(G)`` for every published ``G`` and every
linear combination of them.

**The guarantee.** Respondents fall into *atoms*: respondents with the same membership in every
published group. A set of respondents ``S`` is *derivable* when its indicator is a linear
combination of the indicators of the published groups; then ``n(S)`` and ``sum(S)`` follow from
the published figures. The plan publishes a family of groups such that **no derivable set has
between 1 and k - 1 respondents**. Because a subset of a safe family is safe, every view that
publishes a subset of the plan (the internal comparison at ``depth=1``, the organisation report,
one round of ``internal_rounds``) is safe, and so is the union of all of them.

**Why the check is exact.** Let a *block* be a published unit node (or ``T``) minus its nearest
published descendants: the blocks partition the respondents, and the span of the published unit
groups is exactly the functions constant on blocks. Merge all unpublished roles (and "no role")
into one role node ``Z``. Then a vector in the span of everything published is
``p(block) - p(role node)`` on every non-empty (block, role node) cell, for free potentials ``p``;
a derivable *set* is such a vector with values in {0, 1}. Cutting the potentials at each integer
threshold splits a derivable set into derivable sets of the form "the blocks of ``N(Q)`` minus the
roles of ``Q``" for a set ``Q`` of role nodes and ``N(Q)`` the blocks that hold someone of ``Q``,
plus unions of whole blocks. Hence the family is safe if and only if

1. every non-empty block has at least ``k`` respondents, and
2. for every set ``Q`` of role nodes, ``c(Q) = sum over blocks b in N(Q) of (n(b) - n(b in Q))``
   is 0 or at least ``k``.

Both are checked exactly (integer counts; condition 2 for all ``2**m`` sets of the ``m`` role
nodes, at most ``MAX_PUBLISHED_ROLES + 1``). ``Q = {r}`` with all of role ``r`` in one unit is
the "unit minus role" case; ``Q`` = all roles but one is "total minus the other roles".

**How groups are chosen (greedy, deterministic).** Units first: a node with fewer than ``k``
respondents is hidden (*primary*); then, deepest first, a block with 1 to ``k - 1`` respondents is
merged with a neighbouring block by hiding the nearest shown sub-unit with the fewest respondents
(ties by name) or, when there is none, the node itself, so the organisation total and top-level
units are kept where possible. Roles next: a role with fewer than ``k`` respondents is hidden, and
while some ``Q`` violates condition 2 the smallest published role involved is hidden (hiding a
role or a unit never creates a new violation, and with all roles hidden condition 2 holds). When
``T`` itself has fewer than ``k`` respondents nothing at all is published.

**Different k in different reports.** ``publication_plan(k=j)`` is refined step by step from
``k = 1`` to ``k = j`` (each step starts from the previous step's groups), so plans for different
``k`` are nested: reports rendered with different ``k_min`` together still reveal no group below
the smallest ``k`` used.

**Statistics with their own respondents (cell level).** A category score rests only on the
respondents with a score in that category ("don't know" answers differ), so each statistic is its
own family over its own respondents: :meth:`PublicationPlan.for_statistic` runs the same exact
check on those respondents, starting from the groups of the plan and only ever hiding more (cells
of shown groups). The same chaining over ``k`` applies.

**What the reports print, and why it is covered.**

- ``n``, mean score and interval, SD (from ``sum(x)`` and ``sum(x**2)``, both linear), rwg(j)
  (from within-group item variances) are published only for groups of the plan, each statistic on
  its own respondents.
- ICC(1)/ICC(2) are computed over the shown units only (from their ``n``, means and SDs, which are
  published anyway); an ANOVA over hidden units would add equations about them.
- Quartiles of a shown group are order statistics of at least ``k`` respondents.
- Plots show aggregates only (means, intervals, quartile bars), never respondent-level points: a
  strip plot of a parent and of its shown sub-units would give the individual values of the
  respondents of a hidden sub-unit by multiset difference.
- Hidden groups are left out of every table and of ``results.json`` entirely (not even their
  names); only counts of shown and hidden groups are published.

**Not covered (residual risks).** Signed combinations: the span may contain a difference of two
small sets (``sum(A) - sum(B)``), which the guarantee does not exclude; an insider who knows their
own answers may learn a little more than ``k - 1`` strangers' average from a group of exactly
``k``. Non-linear reasoning: medians/quartiles are individual values (of unknown respondents),
scores are bounded (0-100), and the total is a weighted mean of category means, so inequalities
can narrow hidden values further than linear algebra does. Figures published outside the plan
(national or peer figures over several organisations, invitation counts per unit, response rates,
other rounds of the same respondents) are not part of the check. The plan treats each
organisation-round on its own and assumes the unit paths and roles recorded in the store are the
ones every report uses.

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
``score * n`` add up exactly like counts. :func:`suppress` protects one table along one
hierarchy; units and roles of the organisation reports use :func:`publication_plan` instead,
which covers all levels and both breakdowns together.

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
from functools import cached_property, lru_cache
from typing import Any

import numpy as np
import pandas as pd

from mognad.errors import MognadError

__all__ = [
    "DEFAULT_HIERARCHIES",
    "KOMMUNGRUPP_MAIN",
    "MAX_PUBLISHED_ROLES",
    "NATIONAL",
    "PeerGroups",
    "PublicationPlan",
    "Suppressed",
    "check_disclosure",
    "merge_small_peer_groups",
    "peer_chain",
    "peer_members",
    "publication_plan",
    "suppress",
    "unit_ancestors",
    "unit_path",
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


# ---------------------------------------------------------------------------------------- plan
#: Most roles one plan publishes; beyond it the smallest roles are hidden (condition 2 of the
#: module docstring is checked for all 2**(m + 1) sets of role nodes).
MAX_PUBLISHED_ROLES = 11


def unit_path(value: Any, sep: str = "/") -> str | None:
    """A unit path in the one spelling every report uses, or ``None`` for no unit.

    Parts are split at ``sep``, stripped of surrounding blanks, and empty parts dropped, so
    ``" Kultur / Bibliotek/"`` and ``"Kultur/Bibliotek"`` are the same unit.

    Examples
    --------
    >>> unit_path(" Kultur / Bibliotek/")
    'Kultur/Bibliotek'
    >>> unit_path("  ") is None, unit_path(None) is None
    (True, True)
    """
    if _is_na(value):
        return None
    parts = [p.strip() for p in str(value).split(sep)]
    parts = [p for p in parts if p]
    return sep.join(parts) if parts else None


def unit_ancestors(path: str | None, sep: str = "/") -> list[str]:
    """The unit nodes a respondent recorded on ``path`` belongs to, top level first.

    Examples
    --------
    >>> unit_ancestors("Kultur/Bibliotek/Barn")
    ['Kultur', 'Kultur/Bibliotek', 'Kultur/Bibliotek/Barn']
    >>> unit_ancestors(None)
    []
    """
    path = unit_path(path, sep)
    if path is None:
        return []
    parts = path.split(sep)
    return [sep.join(parts[: i + 1]) for i in range(len(parts))]


def _role_name(value: Any) -> str | None:
    if _is_na(value):
        return None
    text = str(value).strip()
    return text or None


class _Layout:
    """Units (tree nodes, row 0 = the organisation total) and roles (column 0 = no role) of the
    respondents of one organisation-round, and each respondent's cell."""

    def __init__(self, units: Iterable[Any], roles: Iterable[Any], sep: str):
        paths = [unit_path(u, sep) for u in units]
        role_of = [_role_name(r) for r in roles]
        if len(paths) != len(role_of):  # pragma: no cover - built from one frame
            raise MognadError("units and roles must have the same length")
        nodes = set()
        for p in set(paths):
            nodes.update(unit_ancestors(p, sep))
        ordered = sorted(nodes, key=lambda p: p.split(sep))  # a parent sorts before its children
        self.sep = sep
        self.names: list[str | None] = [None, *ordered]
        index = {p: i + 1 for i, p in enumerate(ordered)}
        self.parent = np.full(len(self.names), -1, dtype=np.int64)
        self.depth = np.zeros(len(self.names), dtype=np.int64)
        self.children: list[list[int]] = [[] for _ in self.names]
        for p, i in index.items():
            up = p.rsplit(sep, 1)[0] if sep in p else None
            self.parent[i] = index[up] if up is not None else 0
            self.depth[i] = p.count(sep) + 1
            self.children[self.parent[i]].append(i)
        self.roles: list[str | None] = [None, *sorted({r for r in role_of if r is not None})]
        rindex = {r: j for j, r in enumerate(self.roles)}
        self.resp_node = np.array([0 if p is None else index[p] for p in paths], dtype=np.int64)
        self.resp_role = np.array([rindex[r] for r in role_of], dtype=np.int64)

    @property
    def n_nodes(self) -> int:
        return len(self.names)

    @property
    def n_roles(self) -> int:
        return len(self.roles)

    def subtree_sizes(self, C: np.ndarray) -> np.ndarray:
        """Respondents in each node's subtree (index 0: everyone) from the cell counts."""
        size = C.sum(axis=1)
        for i in range(self.n_nodes - 1, 0, -1):  # children come after their parent
            size[self.parent[i]] += size[i]
        return size

    def counts(self, mask: np.ndarray | None = None) -> np.ndarray:
        """Respondents per (exact unit, role) cell, rows = nodes (0 = no unit), cols = roles."""
        cell = self.resp_node * self.n_roles + self.resp_role
        if mask is not None:
            cell = cell[mask]
        flat = np.bincount(cell, minlength=self.n_nodes * self.n_roles)
        return flat.reshape(self.n_nodes, self.n_roles)


@lru_cache(maxsize=16)
def _subsets(m: int) -> np.ndarray:
    """All subsets of ``m`` elements as a (2**m, m) 0/1 matrix."""
    codes = np.arange(2**m, dtype=np.int64)
    return ((codes[:, None] >> np.arange(m)) & 1).astype(np.int64)


def _refine(lay: _Layout, C: np.ndarray, show_u: np.ndarray, show_r: np.ndarray, k: int,
            why: dict) -> tuple[np.ndarray, np.ndarray]:
    """One step of the plan: from the candidate groups (``show_u`` over nodes, index 0 = the
    total; ``show_r`` over roles, index 0 = no role) hide groups until the published family is
    safe at ``k`` (module docstring). ``why`` collects the reason of every newly hidden group."""
    show_u, show_r = show_u.copy(), show_r.copy()
    show_r[0] = False
    own = C.sum(axis=1)
    size = lay.subtree_sizes(C)
    role_n = C.sum(axis=0)
    names = lay.names

    def hide_unit(i: int, kind: str, reason: str) -> None:
        show_u[i] = False
        why.setdefault(("unit", i), (kind, reason))

    def hide_role(j: int, kind: str, reason: str) -> None:
        show_r[j] = False
        why.setdefault(("role", j), (kind, reason))

    if size[0] < k:  # the organisation total itself is too small: nothing is published
        for i in np.flatnonzero(show_u):
            hide_unit(int(i), "primary", "organisation total n < k")
        for j in np.flatnonzero(show_r):
            hide_role(int(j), "primary", "organisation total n < k")
        return show_u, show_r

    # --- units: primary, then blocks of 1..k-1 respondents, deepest first
    for i in range(1, lay.n_nodes):
        if show_u[i] and size[i] < k:
            hide_unit(i, "primary", f"primary: n={int(size[i])} < k={k}")
    block = np.zeros(lay.n_nodes, dtype=np.int64)
    front: list[list[int]] = [[] for _ in range(lay.n_nodes)]

    def frontier(v: int) -> tuple[list[int], int]:
        found, extra, stack = [], 0, list(lay.children[v])
        while stack:
            c = stack.pop()
            if show_u[c]:
                found.append(c)
            else:
                extra += own[c]
                stack.extend(lay.children[c])
        return found, int(extra)

    def smallest(cands: list[int]) -> int:
        return min(cands, key=lambda c: (size[c], names[c]))

    for v in range(lay.n_nodes - 1, -1, -1):
        if not show_u[v]:
            continue
        fr, extra = frontier(v)
        b = int(own[v]) + extra
        what = "respondents in no shown unit" if v == 0 else f"respondents of {names[v]} in no shown sub-unit"
        while 0 < b < k:
            cands = [c for c in fr if block[c] > 0]
            if not cands and v != 0:
                hide_unit(v, "complementary", f"complementary: protects {what}")
                break
            c = smallest(cands or fr)
            hide_unit(c, "complementary", f"complementary: protects {what}")
            b += int(block[c])
            fr = [x for x in fr if x != c] + front[c]
        block[v], front[v] = b, fr

    # --- roles: primary, at most MAX_PUBLISHED_ROLES, then condition 2 over all sets of roles
    for j in range(1, lay.n_roles):
        if show_r[j] and role_n[j] < k:
            hide_role(j, "primary", f"primary: n={int(role_n[j])} < k={k}")
    pub = [j for j in range(1, lay.n_roles) if show_r[j]]
    if len(pub) > MAX_PUBLISHED_ROLES:
        keep = sorted(pub, key=lambda j: (-role_n[j], lay.roles[j]))[:MAX_PUBLISHED_ROLES]
        for j in set(pub) - set(keep):
            hide_role(j, "complementary", f"complementary: more than {MAX_PUBLISHED_ROLES} roles")
    blk = np.zeros(lay.n_nodes, dtype=np.int64)
    for i in range(1, lay.n_nodes):
        blk[i] = i if show_u[i] else blk[lay.parent[i]]
    W = np.zeros_like(C)
    np.add.at(W, blk, C)
    W = W[W.sum(axis=1) > 0]
    while True:
        pub = [j for j in range(1, lay.n_roles) if show_r[j]]
        if not pub:
            break
        z = W[:, [j for j in range(lay.n_roles) if not show_r[j]]].sum(axis=1)
        nodes = [W[:, j] for j in pub] + ([z] if z.any() else [])
        Wn = np.column_stack(nodes)
        masks = _subsets(Wn.shape[1])
        in_q = Wn @ masks.T  # respondents of each block in Q, for every Q
        touched = ((Wn > 0).astype(np.int64) @ masks.T) > 0  # block in N(Q)
        c = ((Wn.sum(axis=1)[:, None] - in_q) * touched).sum(axis=0)
        bad = np.flatnonzero((c > 0) & (c < k))
        if not bad.size:
            break
        q = int(bad[np.argmin(c[bad])])
        revealed = (Wn[touched[:, q]] > 0).any(axis=0) & (masks[q] == 0)
        involved = [pub[i] for i in range(len(pub)) if masks[q, i] or revealed[i]]
        j = min(involved, key=lambda j: (role_n[j], lay.roles[j]))
        hide_role(j, "complementary",
                  f"complementary: units and roles together would reveal {int(c[q])} "
                  f"respondent(s)")
    return show_u, show_r


class PublicationPlan:
    """Which groups of one organisation-round may be published (see :func:`publication_plan`).

    Attributes
    ----------
    k : int
    total_shown : bool
        Whether the organisation total may be published (at least ``k`` respondents).
    n_respondents : int
        Respondents of the organisation-round (of the statistic, for :meth:`for_statistic`):
        the organisation total's ``n``.
    units : DataFrame
        The shown unit nodes only, in tree order (a parent before its sub-units): ``unit``
        (normalised path, see :func:`unit_path`), ``depth`` (1 = top level), ``parent`` (missing
        at the top level) and ``n_respondents`` (everyone in the node's subtree).
    roles : DataFrame
        The shown roles only: ``role`` and ``n_respondents``.
    n_units, n_hidden_units, n_roles, n_hidden_roles : int
        How many unit nodes / roles there are and how many are hidden.
    log : DataFrame
        Every group with its true ``n_respondents``, ``shown`` and ``reason``. For the analyst
        only: it names hidden groups and their sizes, so it must never be published.
    """

    def __init__(self, layout: _Layout, counts: np.ndarray, k: int, steps: tuple, why: dict):
        self._layout, self._counts, self._steps, self._why = layout, counts, steps, why
        self.k = k
        show_u, show_r = steps[-1]
        size = layout.subtree_sizes(counts)
        self._size, self._role_n = size, counts.sum(axis=0)
        self.n_respondents = int(size[0])
        self.total_shown = bool(show_u[0] and size[0] >= k)
        self.n_units, self.n_roles = layout.n_nodes - 1, layout.n_roles - 1
        self.n_hidden_units = self.n_units - int(show_u[1:].sum())
        self.n_hidden_roles = self.n_roles - int(show_r[1:].sum())

    def __repr__(self) -> str:
        return (f"PublicationPlan(k={self.k}, n_respondents={self.n_respondents}, "
                f"units shown {self.n_units - self.n_hidden_units}/{self.n_units}, "
                f"roles shown {self.n_roles - self.n_hidden_roles}/{self.n_roles})")

    @property
    def shown_units(self) -> list[str]:
        """Paths of the shown unit nodes, in tree order."""
        show_u = self._steps[-1][0]
        return [self._layout.names[i] for i in range(1, self._layout.n_nodes) if show_u[i]]

    @property
    def shown_roles(self) -> list[str]:
        """The shown roles, sorted."""
        show_r = self._steps[-1][1]
        return [self._layout.roles[j] for j in range(1, self._layout.n_roles) if show_r[j]]

    @cached_property
    def units(self) -> pd.DataFrame:
        lay, show_u = self._layout, self._steps[-1][0]
        idx = [i for i in range(1, lay.n_nodes) if show_u[i]]
        return pd.DataFrame({
            "unit": pd.array([lay.names[i] for i in idx], dtype="string"),
            "depth": np.array([lay.depth[i] for i in idx], dtype=np.int64),
            "parent": pd.array([lay.names[lay.parent[i]] for i in idx], dtype="string"),
            "n_respondents": np.array([self._size[i] for i in idx], dtype=np.int64),
        })

    @cached_property
    def roles(self) -> pd.DataFrame:
        lay, show_r = self._layout, self._steps[-1][1]
        idx = [j for j in range(1, lay.n_roles) if show_r[j]]
        return pd.DataFrame({
            "role": pd.array([lay.roles[j] for j in idx], dtype="string"),
            "n_respondents": np.array([self._role_n[j] for j in idx], dtype=np.int64),
        })

    @cached_property
    def log(self) -> pd.DataFrame:
        lay, (show_u, show_r), k = self._layout, self._steps[-1], self.k
        rows = [("organisation", None, 0, self.n_respondents, self.total_shown,
                 None if self.total_shown else f"organisation total n={self.n_respondents} < k={k}")]
        def reason(key, n, shown):
            if shown:
                return None
            kind, text = self._why.get(key, ("primary", ""))
            # a group hidden as primary at an earlier step of the chain is primary at k too
            return f"primary: n={n} < k={k}" if kind == "primary" and n < k else text

        for i in range(1, lay.n_nodes):
            n = int(self._size[i])
            rows.append(("unit", lay.names[i], int(lay.depth[i]), n, bool(show_u[i]),
                         reason(("unit", i), n, show_u[i])))
        for j in range(1, lay.n_roles):
            n = int(self._role_n[j])
            rows.append(("role", lay.roles[j], None, n, bool(show_r[j]),
                         reason(("role", j), n, show_r[j])))
        cols = list(zip(*rows, strict=True))
        return pd.DataFrame({
            "group_type": pd.array(cols[0], dtype="string"),
            "group": pd.array(cols[1], dtype="string"),
            "depth": pd.array(cols[2], dtype="Int64"),
            "n_respondents": np.array(cols[3], dtype=np.int64),
            "shown": np.array(cols[4], dtype=bool),
            "reason": pd.array(cols[5], dtype="string"),
        })

    def unit_counts(self, depth: int | None = None) -> tuple[int, int]:
        """``(n_units, n_hidden)`` among the unit nodes down to ``depth`` (``None``: all)."""
        d = self._layout.depth[1:]
        sel = np.ones(len(d), dtype=bool) if depth is None else d <= depth
        shown = self._steps[-1][0][1:]
        return int(sel.sum()), int((sel & ~shown).sum())

    def for_statistic(self, contributes: Any) -> PublicationPlan:
        """The plan of one statistic that rests on only some of the respondents.

        ``contributes`` (booleans, one per respondent in the order given to
        :func:`publication_plan`) marks who has a value in the statistic (a category score, an
        item answer, a respondent total). The same exact check runs on those respondents,
        starting from the groups of this plan (and, step by step, of its plans for smaller
        ``k``), so the result never shows more than this plan: groups of this plan missing from
        it are *cells* to hide within a shown group.
        """
        lay = self._layout
        mask = np.asarray(contributes, dtype=bool)
        if mask.shape != lay.resp_node.shape:
            raise MognadError(
                f"for_statistic needs one value per respondent ({len(lay.resp_node)}); got "
                f"{mask.shape[0] if mask.ndim else 'a scalar'}"
            )
        if mask.all():
            return self
        C = lay.counts(mask)
        why: dict = {}
        show_u = np.ones(lay.n_nodes, dtype=bool)
        show_r = np.ones(lay.n_roles, dtype=bool)
        steps = []
        for j, (plan_u, plan_r) in enumerate(self._steps, start=1):
            show_u, show_r = _refine(lay, C, show_u & plan_u, show_r & plan_r, j, why)
            steps.append((show_u, show_r))
        return PublicationPlan(lay, C, self.k, tuple(steps), why)


def publication_plan(respondents: pd.DataFrame, *, k: int = 5, unit: str | None = "unit",
                     role: str | None = "role", sep: str = "/") -> PublicationPlan:
    """Decide once, for one organisation-round, which groups every report may publish.

    Candidate groups are the organisation total, every unit node at every depth (a node's
    figure is that of everyone in its subtree) and every role. The plan is the largest family
    the greedy of the module docstring keeps such that no linear combination of the figures of
    all published groups reveals a set of 1 to ``k - 1`` respondents; the check is exact.

    Parameters
    ----------
    respondents : DataFrame
        One row per respondent of one organisation-round (those who count in the figures,
        e.g. with at least one score), with the ``unit`` and ``role`` columns (missing = none).
    k : int, default 5
        Smallest group of respondents that may be revealed.
    unit, role : str or None
        Column names; ``None`` (or a column that is absent) means no such breakdown.
    sep : str, default "/"
        Separator of unit paths.

    Returns
    -------
    PublicationPlan
        ``.units`` and ``.roles`` list the shown groups only; ``.for_statistic(mask)`` gives the
        plan of a statistic resting on fewer respondents (cell-level suppression);
        ``.log`` (never to be published) gives every group's reason.

    Examples
    --------
    Two respondents in ``Kultur/Museum``: hidden, and ``Kultur/Bibliotek`` with them, since
    ``Kultur`` minus ``Kultur/Bibliotek`` would be those two. The role ``ledning`` has all its
    five respondents in ``Skola``, which has seven, so ``Skola`` minus ``ledning`` would reveal
    the other two: the role is hidden (``strateg``, with two respondents, is hidden anyway).

    >>> resp = pd.DataFrame({
    ...     "unit": ["Kultur/Bibliotek"] * 6 + ["Kultur/Museum"] * 2 + ["Skola"] * 7
    ...             + ["Vård"] * 8,
    ...     "role": ["chef"] * 8 + ["ledning"] * 5 + ["strateg"] * 2 + ["chef"] * 8})
    >>> plan = publication_plan(resp)
    >>> plan.units
         unit  depth  parent  n_respondents
    0  Kultur      1    <NA>              8
    1   Skola      1    <NA>              7
    2    Vård      1    <NA>              8
    >>> plan.roles
       role  n_respondents
    0  chef             16
    >>> plan.n_hidden_units, plan.n_hidden_roles
    (2, 2)
    """
    k = _check_k(k)
    if not isinstance(respondents, pd.DataFrame):
        raise MognadError(f"publication_plan needs a DataFrame; got {type(respondents).__name__}")
    n = len(respondents)
    units = respondents[unit] if unit is not None and unit in respondents else [None] * n
    roles = respondents[role] if role is not None and role in respondents else [None] * n
    lay = _Layout(list(units), list(roles), sep)
    C = lay.counts()
    why: dict = {}
    show_u = np.ones(lay.n_nodes, dtype=bool)
    show_r = np.ones(lay.n_roles, dtype=bool)
    steps = []
    for j in range(1, k + 1):  # nested plans: k=j starts from the groups of k=j-1
        show_u, show_r = _refine(lay, C, show_u, show_r, j, why)
        steps.append((show_u, show_r))
    return PublicationPlan(lay, C, k, tuple(steps), why)


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
