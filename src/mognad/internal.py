"""Internal comparison: the units and roles of one organisation-round, under one publication plan.

:func:`compare_groups` is the one implementation behind every report that breaks an
organisation down: the organisation report (units and roles tables, ``results.json``) and the
internal-comparison report (at any ``depth``, and round by round). For the respondents of one
organisation-round it

1. decides once which groups may be published (:func:`mognad.disclosure.publication_plan`: the
   organisation total, unit nodes at every depth, roles; exact protection against any linear
   combination of all published figures),
2. scores every shown group with :func:`mognad.scoring.score` (one interval for everyone: the
   default method of ``score``, unless ``method`` is given), a unit node always as the aggregate
   of everyone in its subtree,
3. hides, within shown groups, the cells of statistics that rest on fewer respondents
   (a category many answered "don't know" on: :meth:`~mognad.disclosure.PublicationPlan.
   for_statistic`), and
4. adds the dispersion of respondents' totals (SD, quartiles, IQR), rwg(j) and ICC(1)/ICC(2) over
   the shown units.

Hidden groups are left out entirely (not even their names); the result carries only how many
were hidden. Nothing respondent-level leaves this module (no respondent totals for plots).

Examples
--------
>>> from mognad.scoring import to_long
>>> units = ["Kultur/Bibliotek"] * 6 + ["Kultur/Museum"] * 2 + ["Skola"] * 7
>>> wide = pd.DataFrame({"org_id": "0180", "round": 2024,
...                      "respondent_id": [f"r{i:02d}" for i in range(15)], "unit": units,
...                      "role": "chef", **{f"q{i:02d}": [3] * 8 + [5] * 7 for i in range(1, 31)}})
>>> res = compare_groups(to_long(wide), n_boot=50)
>>> res.units()[["unit", "depth", "n_respondents", "score_pct"]]
     unit  depth  n_respondents  score_pct
0  Kultur      1              8       40.0
1   Skola      1              7       80.0
>>> res.n_units, res.n_hidden_units
(4, 2)
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mognad.disclosure import check_disclosure, publication_plan, unit_ancestors, unit_path
from mognad.errors import MognadError

__all__ = ["DISPERSION", "VALUES", "GroupComparison", "compare_groups"]

#: Value columns of every group row.
VALUES = ("score_pct", "ci_low", "ci_high")
#: Dispersion and agreement columns (total level only): respondents' totals and rwg(j).
DISPERSION = ("sd", "q1", "median", "q3", "iqr", "rwg_j")


@dataclass(frozen=True)
class GroupComparison:
    """What :func:`compare_groups` returns.

    Attributes
    ----------
    table : DataFrame
        Tidy, shown groups only: the ``by`` columns, ``group_type`` (``organisation``, ``unit``,
        ``role``), ``group`` (unit path or role; missing for the organisation), ``depth`` (0 for
        the organisation, 1 for top-level units, missing for roles), ``parent``, ``level``,
        ``name``, ``n_respondents``, ``score_pct``, ``ci_low``, ``ci_high``, the
        :data:`DISPERSION` columns (total level; with ``dispersion=True``) and ``suppressed``
        (this statistic of a shown group is hidden: too few respondents have a value in it).
    k_min : int
    depth : int or None
        The depth of the view (units down to this depth; ``None``: all).
    n_units, n_hidden_units : int
        Unit nodes in the view (down to ``depth``) and how many of them are hidden.
    n_roles, n_hidden_roles : int
    icc1, icc2 : float
        Over the finest shown units of the view (shown units with no shown sub-unit in it),
        NaN with fewer than two.
    """

    table: pd.DataFrame
    k_min: int
    depth: int | None
    n_units: int
    n_hidden_units: int
    n_roles: int
    n_hidden_roles: int
    icc1: float
    icc2: float

    def _rows(self, group_type: str, column: str | None, level: str, name: str | None):
        t = self.table
        name = level if name is None and level in ("total",) else name
        sel = (t["group_type"] == group_type) & (t["level"] == level)
        if name is not None:
            sel &= t["name"] == name
        out = t[sel].drop(columns=["group_type"])
        if level == "total":
            out = out.drop(columns=["level", "name"])
        if column is not None:
            out = out.rename(columns={"group": column})
        else:
            out = out.drop(columns=["group"])
        if group_type == "role":
            out = out.drop(columns=["depth", "parent"])
        return out.reset_index(drop=True)

    def units(self, level: str = "total", name: str | None = None) -> pd.DataFrame:
        """The shown units (column ``unit``) at one level (default the total)."""
        return self._rows("unit", "unit", level, name)

    def roles(self, level: str = "total", name: str | None = None) -> pd.DataFrame:
        """The shown roles (column ``role``) at one level (default the total)."""
        return self._rows("role", "role", level, name)

    def organisation(self, level: str = "total", name: str | None = None) -> pd.DataFrame:
        """The organisation's own rows (all respondents) at one level."""
        return self._rows("organisation", None, level, name)


def _check_depth(depth) -> int | None:
    if depth is None:
        return None
    if isinstance(depth, bool) or not isinstance(depth, int | np.integer) or depth < 1:
        raise MognadError(f"depth must be None (all levels) or a whole number >= 1; got {depth!r}")
    return int(depth)


def _one_value(frame: pd.DataFrame, respondent: str, column: str) -> pd.Series:
    """The single ``column`` value of each respondent (raise when rows disagree)."""
    per = frame.groupby(respondent, sort=True)[column]
    n = per.nunique(dropna=True)
    if (n > 1).any():
        raise MognadError(
            f"column {column!r}: {int((n > 1).sum())} respondent(s) have rows with different "
            f"{column} values; each respondent belongs to one {column}"
        )
    return per.first()


def _dispersion(values: pd.Series) -> dict:
    v = values.dropna().to_numpy(dtype=float)
    if not len(v):
        return dict.fromkeys(("sd", "q1", "median", "q3", "iqr"), np.nan)
    q1, med, q3 = np.quantile(v, [0.25, 0.5, 0.75])
    sd = float(np.std(v, ddof=1)) if len(v) > 1 else np.nan
    return {"sd": sd, "q1": float(q1), "median": float(med), "q3": float(q3),
            "iqr": float(q3 - q1)}


def compare_groups(
    responses: pd.DataFrame,
    *,
    codebook=None,
    k_min: int = 5,
    depth: int | None = None,
    levels: Sequence[str] = ("total",),
    roles: bool = True,
    dispersion: bool = True,
    method: str | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    by: Sequence[str] = ("org_id", "round"),
    respondent: str = "respondent_id",
    unit: str = "unit",
    role: str = "role",
    sep: str = "/",
) -> GroupComparison:
    """Units (at every depth) and roles of one organisation-round, under one publication plan.

    Parameters
    ----------
    responses : DataFrame
        Long responses of one organisation-round: the ``by`` columns, ``respondent_id``,
        ``item_id``, ``value`` and (when present) ``unit`` (paths like ``"Kultur/Bibliotek"``)
        and ``role``.
    codebook : Codebook, str or None
    k_min : int, default 5
        Smallest group of respondents any combination of published figures may reveal.
    depth : int, optional
        Show unit nodes down to this depth (``1``: top-level units only). The plan is the same
        for every depth (it covers the whole hierarchy), so views at different depths together
        reveal nothing more than one of them.
    levels : sequence of str, default ("total",)
        Score levels to report per group (``"total"``, ``"dimension"``, ``"category"``,
        ``"item"``); each statistic is protected on the respondents who have a value in it.
    roles : bool, default True
        Include the roles in the table (the plan always takes them into account, because the
        organisation report publishes them).
    dispersion : bool, default True
        Add SD, quartiles and IQR of respondents' totals, rwg(j) over all items, and the ICC.
    method : str, optional
        Interval method passed to :func:`mognad.scoring.score`; default that of ``score``.
    n_boot, seed : int
        Passed to :func:`mognad.scoring.score`.
    by, respondent, unit, role : str
        Column names.
    sep : str, default "/"
        Separator of unit paths.

    Returns
    -------
    GroupComparison
        ``.table`` (tidy), ``.units()``, ``.roles()``, ``.organisation()`` and the counts of
        hidden groups and the ICC.

    Raises
    ------
    MognadError
        Missing columns, more than one organisation-round, no scorable answers, a respondent
        with two units or roles, a bad ``depth``.
    """
    from mognad.agreement import icc1_icc2, rwg_j
    from mognad.codebook import load_codebook
    from mognad.scoring import score

    if not isinstance(responses, pd.DataFrame):
        raise MognadError(f"compare_groups needs a DataFrame; got {type(responses).__name__}")
    by = [by] if isinstance(by, str) else list(by)
    missing = [c for c in (*by, respondent, "item_id", "value") if c not in responses.columns]
    if missing:
        raise MognadError(f"compare_groups: missing column(s) {missing}; the responses have "
                          f"{list(responses.columns)}")
    depth = _check_depth(depth)
    levels = [levels] if isinstance(levels, str) else list(levels)
    keys = responses[by].drop_duplicates()
    if len(keys) != 1:
        raise MognadError(
            f"compare_groups works on one organisation-round at a time; the responses hold "
            f"{len(keys)} combinations of {by}"
        )
    cb = load_codebook(codebook) if not hasattr(codebook, "categories") else codebook
    score_kw = {"n_boot": n_boot, "seed": seed} | ({} if method is None else {"method": method})

    resp = responses.copy()
    resp[unit] = (resp[unit].map(lambda u: unit_path(u, sep)).astype("string")
                  if unit in resp else pd.array([pd.NA] * len(resp), dtype="string"))
    resp[role] = (resp[role].map(lambda r: None if pd.isna(r) or not str(r).strip()
                                 else str(r).strip()).astype("string")
                  if role in resp else pd.array([pd.NA] * len(resp), dtype="string"))

    # --- who has a value in which statistic (one row per respondent)
    rlevels = ["total", "category"] + (["item"] if "item" in levels else [])
    per = score(resp.assign(_person=resp[respondent]), codebook=cb, by=[*by, respondent],
                respondent="_person", method="none", levels=rlevels)
    wide = per.pivot_table(index=respondent, columns=["level", "name"], values="score_pct",
                           aggfunc="first", dropna=False)
    cats = cb.categories
    cat_ok = pd.DataFrame({c: wide[("category", c)].notna() if ("category", c) in wide else False
                           for c in cats["category"]}, index=wide.index)
    counted = cat_ok[[c for c, w in zip(cats["category"], cats["weight"], strict=True)
                      if w > 0]].any(axis=1)
    people = pd.DataFrame({unit: _one_value(resp, respondent, unit),
                           role: _one_value(resp, respondent, role)})
    people = people.loc[counted[counted].index]
    if not len(people):
        raise MognadError("compare_groups: no respondent has a score (every answer is "
                          "\"don't know\" or missing)")
    resp = resp[resp[respondent].isin(people.index)]
    wide, cat_ok = wide.loc[people.index], cat_ok.loc[people.index]

    plan = publication_plan(people, k=k_min, unit=unit, role=role, sep=sep)
    shown_units = plan.units if depth is None else plan.units[plan.units["depth"] <= depth]
    shown_set = set(shown_units["unit"])
    shown_roles = set(plan.roles["role"]) if roles else set()

    def masks(level: str, name: str) -> np.ndarray:
        if level == "total":
            return np.ones(len(people), dtype=bool)
        if level == "category":
            return cat_ok[name].to_numpy()
        if level == "dimension":
            sel = cats.loc[cats["dimension"] == name, "category"]
            return cat_ok[list(sel)].any(axis=1).to_numpy()
        col = (level, name)
        return wide[col].notna().to_numpy() if col in wide else np.zeros(len(people), bool)

    # --- scores of the shown groups (a unit node = everyone in its subtree)
    member = [(rid, node) for rid, path in people[unit].items()
              for node in unit_ancestors(None if pd.isna(path) else path, sep)
              if node in shown_set]
    frames = []
    if plan.total_shown:
        sc = score(resp, codebook=cb, by=by, levels=levels, **score_kw)
        frames.append(sc.assign(group_type="organisation", group=pd.NA))
    if plan.total_shown and member:
        mapping = pd.DataFrame(member, columns=[respondent, "_node"])
        expanded = (resp.drop(columns=[unit]).merge(mapping, on=respondent)
                    .rename(columns={"_node": unit}))
        sc = score(expanded, codebook=cb, by=[*by, unit], levels=levels, **score_kw)
        frames.append(sc.rename(columns={unit: "group"}).assign(group_type="unit"))
    else:
        expanded = resp.iloc[:0]
    with_role = resp[resp[role].isin(shown_roles)]
    if plan.total_shown and len(with_role):
        sc = score(with_role, codebook=cb, by=[*by, role], levels=levels, **score_kw)
        frames.append(sc.rename(columns={role: "group"}).assign(group_type="role"))
    cols = [*by, "group_type", "group", "depth", "parent", "level", "name", "n_respondents",
            *VALUES, *(DISPERSION if dispersion else ()), "suppressed"]
    if not frames:
        table = pd.DataFrame(columns=cols)
    else:
        table = pd.concat(frames, ignore_index=True).drop(columns=["n_answers"])
        table["group"] = table["group"].astype("string")
        info = shown_units.set_index("unit")
        table["depth"] = pd.array(
            [0 if g == "organisation" else (info.at[u, "depth"] if g == "unit" else pd.NA)
             for g, u in zip(table["group_type"], table["group"], strict=True)], dtype="Int64")
        table["parent"] = pd.array(
            [info.at[u, "parent"] if g == "unit" else pd.NA
             for g, u in zip(table["group_type"], table["group"], strict=True)], dtype="string")

        # --- cells: each statistic on the respondents with a value in it
        hide = np.zeros(len(table), dtype=bool)
        for (lv, nm), idx in table.groupby(["level", "name"], sort=False).indices.items():
            cell = plan.for_statistic(masks(lv, nm))
            if cell is plan:
                continue
            ok_u, ok_r = set(cell.shown_units), set(cell.shown_roles)
            for i in idx:
                g, grp = table.at[i, "group_type"], table.at[i, "group"]
                allowed = (cell.total_shown if g == "organisation" else
                           cell.total_shown and (grp in ok_u if g == "unit" else grp in ok_r))
                hide[i] = not allowed
        table["suppressed"] = hide

        if dispersion:
            totals = wide[("total", "total")] if ("total", "total") in wide else \
                pd.Series(np.nan, index=wide.index)
            disp_plan = plan.for_statistic(totals.notna().to_numpy())
            ok_u, ok_r = set(disp_plan.shown_units), set(disp_plan.shown_roles)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rwg = {}
                for g, frame, col in (("organisation", resp, None), ("unit", expanded, unit),
                                      ("role", with_role, role)):
                    if not len(frame):
                        continue
                    out = rwg_j(frame, codebook=cb, by=[*by, *([col] if col else [])],
                                levels=["total"], min_group_size=k_min)
                    for rec in out.itertuples(index=False):
                        rwg[(g, getattr(rec, col) if col else None)] = rec.rwg_j
            groups_of = {
                ("organisation", None): people.index,
                **{("unit", u): [rid for rid, node in member if node == u] for u in shown_set},
                **{("role", r): people.index[people[role] == r] for r in shown_roles},
            }
            stats = {}
            for (g, grp), ids in groups_of.items():
                allowed = disp_plan.total_shown and (
                    g == "organisation" or (grp in ok_u if g == "unit" else grp in ok_r))
                d = _dispersion(totals.loc[list(ids)]) if allowed else \
                    dict.fromkeys(DISPERSION[:-1], np.nan)
                d["rwg_j"] = rwg.get((g, grp), np.nan)
                stats[(g, grp)] = d
            is_total = (table["level"] == "total").to_numpy()
            for c in DISPERSION:
                table[c] = [stats[(g, None if pd.isna(grp) else grp)][c] if tot and not h
                            else np.nan
                            for g, grp, tot, h in zip(table["group_type"], table["group"],
                                                      is_total, hide, strict=True)]

        for c in ("n_respondents", *VALUES):
            table[c] = table[c].astype(float)
            table.loc[hide, c] = np.nan
        table["n_respondents"] = table["n_respondents"].astype("Int64")
        order = {("organisation", None): 0}
        order |= {("unit", u): i + 1 for i, u in enumerate(shown_units["unit"])}
        order |= {("role", r): len(order) + i for i, r in enumerate(sorted(shown_roles))}
        table["_order"] = [order[(g, None if pd.isna(grp) else grp)]
                           for g, grp in zip(table["group_type"], table["group"], strict=True)]
        table = (table.sort_values("_order", kind="stable").drop(columns="_order")
                 .reset_index(drop=True)[cols])
        check_disclosure(table, k=k_min, values=[*VALUES, *(DISPERSION if dispersion else ())])

    # --- ICC over the finest shown units of the view (disjoint, published figures only)
    icc1 = icc2 = np.nan
    if dispersion and plan.total_shown:
        finest = [u for u in shown_set
                  if not any(v != u and v.startswith(u + sep) for v in shown_set)
                  and u in set(disp_plan.shown_units)]
        if len(finest) >= 2:
            totals = wide[("total", "total")]
            kept = pd.DataFrame([(rid, node, totals.at[rid]) for rid, node in member
                                 if node in finest], columns=[respondent, unit, "score_pct"])
            kept = kept.dropna(subset=["score_pct"])
            kept = kept.assign(**{c: keys[c].iloc[0] for c in by}, level="total", name="total")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                icc = icc1_icc2(kept, group=unit, by=by, levels=("total",),
                                min_group_size=k_min)
            if len(icc):
                icc1, icc2 = float(icc["icc1"].iloc[0]), float(icc["icc2"].iloc[0])

    n_units, n_hidden = plan.unit_counts(depth)
    return GroupComparison(
        table=table, k_min=k_min, depth=depth, n_units=n_units, n_hidden_units=n_hidden,
        n_roles=plan.n_roles, n_hidden_roles=plan.n_hidden_roles, icc1=icc1, icc2=icc2,
    )
