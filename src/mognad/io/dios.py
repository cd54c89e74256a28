"""The DIOS system inventory as an input format: columns, other spellings, value parsers, the
validator of the ``systems`` kind of input file, its table in the study store and its reader.

Importing this module registers the ``systems`` kind with :mod:`mognad.io.ingest` (so
``mognad ingest systems.csv --study S`` validates an inventory and stores it in the table
``systems``); :func:`load_systems` reads it back typed. The format is described in
``docs/dios.md``; the analyses are in :mod:`mognad.dios`.

Examples
--------
>>> ordinal_one("vet ej"), ordinal_one("3"), ordinal_one("0")[1][:19]
((nan, ''), (3.0, ''), '0 is not a rating; ')
>>> yes_no_one("Ja"), ownership_one("delvis"), lifecycle_one("Avveckling")
(('ja', ''), ('delvis', ''), ('avveckling', ''))
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mognad.errors import MognadError

__all__ = [
    "DIOS_ALIASES",
    "HOSTING",
    "LIFECYCLE",
    "OPTIONAL_COLUMNS",
    "ORDINALS",
    "ORDINAL_RANGE",
    "REQUIRED_COLUMNS",
    "SYSTEM_COLUMNS",
    "amount_one",
    "hosting_one",
    "lifecycle_one",
    "load_systems",
    "ordinal_one",
    "ownership_one",
    "parse_number",
    "parse_series",
    "rename_columns",
    "yes_no_one",
]

#: Columns of a systems file, in the order the store keeps them.
SYSTEM_COLUMNS = (
    "org_id", "year", "system_id", "system_name", "domain", "vendor", "product", "hosting",
    "introduced_year", "lifecycle", "annual_cost_sek", "importance", "technical_quality",
    "functional_quality", "rated_by", "open_standards", "open_api", "data_ownership",
    "integrations", "comment",
)
#: Columns a systems file must have (the rating columns may hold ``vet ej`` / empty cells).
REQUIRED_COLUMNS = ("org_id", "year", "system_id", "system_name", "domain", "importance",
                    "technical_quality", "functional_quality")
#: Columns that must have a value in every row.
VALUE_REQUIRED = ("org_id", "year", "system_id", "system_name", "domain")
OPTIONAL_COLUMNS = tuple(c for c in SYSTEM_COLUMNS if c not in REQUIRED_COLUMNS)
ORDINALS = ("importance", "technical_quality", "functional_quality")
ORDINAL_RANGE = (1, 4)
HOSTING = ("lokal", "driftpartner", "saas", "publikt_moln")
LIFECYCLE = ("införande", "förvaltning", "avveckling")
INTRODUCED_MIN = 1950
YEAR_RANGE = (1990, 2100)

# Other spellings of the column names (after mognad.io.ingest's own mapping, which turns
# year/år/omgång into "round" and namn into "name").
DIOS_ALIASES = {
    "year": ["round", "year", "inventeringsår", "inventeringsar"],
    "system_id": ["system_id", "systemid", "system-id", "system_nr", "systemnummer"],
    "system_name": ["system_name", "systemnamn", "system", "name", "system_namn"],
    "domain": ["domain", "verksamhetsområde", "verksamhetsomrade", "område", "omrade"],
    "vendor": ["vendor", "leverantör", "leverantor", "supplier"],
    "product": ["product", "produkt"],
    "hosting": ["hosting", "driftform", "driftsform", "drift"],
    "introduced_year": ["introduced_year", "införandeår", "inforandear", "infört_år", "infort_ar",
                        "införd", "inford"],
    "lifecycle": ["lifecycle", "livscykel", "livscykelfas", "fas"],
    "annual_cost_sek": ["annual_cost_sek", "annual_cost", "årskostnad", "arskostnad",
                        "årskostnad_sek", "arskostnad_sek", "kostnad_sek", "kostnad"],
    "importance": ["importance", "verksamhetsbetydelse", "betydelse", "vikt", "affärsvärde",
                   "affarsvarde"],
    "technical_quality": ["technical_quality", "teknisk_kvalitet"],
    "functional_quality": ["functional_quality", "funktionell_kvalitet",
                           "verksamhetsmässig_kvalitet", "verksamhetsmassig_kvalitet"],
    "rated_by": ["rated_by", "bedömd_av", "bedomd_av", "bedömare", "bedomare"],
    "open_standards": ["open_standards", "öppna_standarder", "oppna_standarder"],
    "open_api": ["open_api", "öppet_api", "oppet_api", "öppna_api", "oppna_api"],
    "data_ownership": ["data_ownership", "dataägarskap", "dataagarskap", "äger_data", "ager_data"],
    "integrations": ["integrations", "integrationer", "antal_integrationer"],
    "comment": ["comment", "kommentar", "anteckning", "text"],
}
_DIOS_LOOKUP = {a: canon for canon, names in DIOS_ALIASES.items() for a in names}

_MISSING_TEXT = {"", "vet ej", "vetej", "vet inte", "-", "ej bedömd", "ej bedomd", "okänd",
                 "okand", "nan", "<na>", "none", "na", "n/a"}
_YES = {"ja", "j", "yes", "y", "1", "1.0", "true", "sant"}
_NO = {"nej", "n", "no", "0", "0.0", "false", "falskt"}
_PARTLY = {"delvis", "partly", "partial", "partially"}
_HOSTING_ALIASES = {
    "lokal": {"lokal", "lokalt", "on_prem", "on_premise", "on_premises", "egen_drift"},
    "driftpartner": {"driftpartner", "partner", "outsourcad", "outsourcing"},
    "saas": {"saas"},
    "publikt_moln": {"publikt_moln", "public_cloud", "publikt_molntjänst", "moln"},
}
_LIFECYCLE_ALIASES = {
    "införande": {"införande", "inforande", "introduction", "implementation"},
    "förvaltning": {"förvaltning", "forvaltning", "operation", "maintenance", "drift"},
    "avveckling": {"avveckling", "decommissioning", "utfasning", "phase_out"},
}
_VALID = {
    "ordinal": "1–4, or vet ej / empty when not assessed (never 0)",
    "yes_no": "ja or nej (also yes/no, 1/0, true/false), or vet ej / empty when not known",
    "ownership": "ja, delvis or nej (also yes/partly/no), or vet ej / empty when not known",
    "hosting": f"one of {', '.join(HOSTING)}, or empty",
    "lifecycle": f"one of {', '.join(LIFECYCLE)}, or empty",
}

_DDL = (
    "CREATE TABLE IF NOT EXISTS systems (org_id VARCHAR, year INTEGER, system_id VARCHAR, "
    "system_name VARCHAR, domain VARCHAR, vendor VARCHAR, product VARCHAR, hosting VARCHAR, "
    "introduced_year INTEGER, lifecycle VARCHAR, annual_cost_sek DOUBLE, importance TINYINT, "
    "technical_quality TINYINT, functional_quality TINYINT, rated_by VARCHAR, "
    "open_standards VARCHAR, open_api VARCHAR, data_ownership VARCHAR, integrations INTEGER, "
    "comment VARCHAR, source_id INTEGER)"
)
_INT_COLUMNS = ("year", "introduced_year", "importance", "technical_quality",
                "functional_quality", "integrations")


# --------------------------------------------------------------------------------- value parsing
def _norm(text: Any) -> str:
    return str(text).strip().casefold()


def parse_number(text: Any) -> float | None:
    """A number written the Swedish or the English way: ``633 000``, ``1,5``, ``12000 kr``
    (``None`` when it is none).

    Examples
    --------
    >>> parse_number("1 200 000"), parse_number("1,5"), parse_number("12000 kr"), parse_number("x")
    (1200000.0, 1.5, 12000.0, None)
    """
    t = _norm(text)
    for junk in (" ", "\u00a0", "\u202f", "\u2009"):
        t = t.replace(junk, "")
    for suffix in ("kr", "sek", ":-"):
        t = t.removesuffix(suffix)
    t = t.replace(",", ".")
    try:
        x = float(t)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def ordinal_one(text: Any) -> tuple[float, str]:
    t = _norm(text)
    if t in _MISSING_TEXT:
        return np.nan, ""
    x = parse_number(t)
    if x is None:
        return np.nan, f"not a rating; valid: {_VALID['ordinal']}"
    if x == 0:
        return np.nan, f"0 is not a rating; valid: {_VALID['ordinal']}"
    if x != math.floor(x):
        return np.nan, f"not a whole number; valid: {_VALID['ordinal']}"
    if not ORDINAL_RANGE[0] <= x <= ORDINAL_RANGE[1]:
        return np.nan, f"off the scale; valid: {_VALID['ordinal']}"
    return float(x), ""


def yes_no_one(text: Any) -> tuple[Any, str]:
    t = _norm(text)
    if t in _MISSING_TEXT:
        return None, ""
    if t in _YES:
        return "ja", ""
    if t in _NO:
        return "nej", ""
    return None, f"must be {_VALID['yes_no']}"


def ownership_one(text: Any) -> tuple[Any, str]:
    t = _norm(text)
    if t in _PARTLY:
        return "delvis", ""
    value, problem = yes_no_one(t)
    return value, (f"must be {_VALID['ownership']}" if problem else "")


def _code_one(aliases: Mapping[str, set[str]], valid: str):
    def parse(text: Any) -> tuple[Any, str]:
        t = _norm(text)
        if t in _MISSING_TEXT:
            return None, ""
        t = t.replace(" ", "_").replace("-", "_")
        for code, names in aliases.items():
            if t in names:
                return code, ""
        return None, f"must be {valid}"
    return parse


hosting_one = _code_one(_HOSTING_ALIASES, _VALID["hosting"])
lifecycle_one = _code_one(_LIFECYCLE_ALIASES, _VALID["lifecycle"])


def parse_series(s: pd.Series, parse) -> tuple[np.ndarray, np.ndarray]:
    """Apply ``parse(text) -> (value, problem)`` to the distinct values of ``s`` (fast).

    Returns the values (object array; missing cells give the parser's missing value) and the
    problem text per row ("" = fine)."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    parsed = [parse(u) for u in uniques]
    missing_value = parse("")[0]
    values = np.array([v for v, _ in parsed] + [missing_value], dtype=object)
    problems = np.array([p for _, p in parsed] + [""], dtype=object)
    return values[codes], problems[codes]


def _report(frame: pd.DataFrame, problems_of_rows: np.ndarray, column: str, problems) -> None:
    for message in pd.unique(problems_of_rows[problems_of_rows != ""]):
        problems.add_mask(frame, problems_of_rows == message, column, message)


# --------------------------------------------------------------------------------- the validator
def _canonical_dios(column: str) -> str:
    return _DIOS_LOOKUP.get(column, column)


def _detect(columns: Iterable[str]) -> bool:
    cols = {_canonical_dios(c) for c in columns}
    return {"system_id", "importance"} <= cols


def _table_exists(study, name: str) -> bool:
    tables = study.sql("SELECT table_name FROM information_schema.tables")["table_name"]
    return name in set(tables)


def _canonical_rows(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Values as comparable text (None = missing), for comparing file rows with stored rows."""
    out = pd.DataFrame(index=frame.index)
    for c in columns:
        s = frame[c]
        if c == "annual_cost_sek":
            x = pd.to_numeric(s, errors="coerce").astype(float)
            out[c] = [None if np.isnan(v) else repr(float(v)) for v in x]
        elif c in _INT_COLUMNS:
            x = pd.to_numeric(s, errors="coerce").astype(float)
            out[c] = [None if np.isnan(v) else str(int(v)) for v in x]
        else:
            out[c] = [None if (v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)))
                      else str(v) for v in s.tolist()]
    return out


def rename_columns(frame: pd.DataFrame, lookup: Mapping[str, str], problems) -> pd.DataFrame:
    """Other spellings of column names to the canonical ones (*lookup*), in place; a column that
    appears twice after the mapping is a problem (raised at once: nothing else can be checked).

    Examples
    --------
    >>> from mognad.io.ingest import Problems
    >>> frame = pd.DataFrame(columns=["_row", "systemnamn", "year"])
    >>> list(rename_columns(frame, {"systemnamn": "system_name"}, Problems("x.csv")).columns)
    ['_row', 'system_name', 'year']
    >>> rename_columns(frame, {"year": "system_name"}, Problems("x.csv"))
    Traceback (most recent call last):
    mognad.errors.ValidationError: x.csv: rejected, 1 problem(s); nothing was ingested
      x.csv, row 1: column(s) system_name appear twice (after mapping other spellings to the canonical names)
    """
    frame.columns = [lookup.get(c, c) if c != "_row" else c for c in frame.columns]
    names = [c for c in frame.columns if c != "_row"]
    dup = sorted({c for c in names if names.count(c) > 1})
    if dup:
        problems.add([1], None, [None], f"column(s) {', '.join(dup)} appear twice (after mapping "
                                        "other spellings to the canonical names)")
        problems.raise_if_any()
    return frame


def _validate_systems(frame: pd.DataFrame, study, codebook, problems) -> dict[str, pd.DataFrame]:
    """Validate a DIOS inventory file; return ``{"systems": rows to add}`` (see docs/dios.md)."""
    from mognad.io.ingest import check_orgs, clean_str

    # --- columns: other spellings, duplicates, unknown and missing columns
    frame = rename_columns(frame, _DIOS_LOOKUP, problems)
    names = [c for c in frame.columns if c != "_row"]
    unknown = [c for c in names if c not in SYSTEM_COLUMNS]
    for c in unknown:
        problems.add([1], c, [c], "unknown column for a systems file; valid columns: "
                                  f"{', '.join(SYSTEM_COLUMNS)} (rename or remove it)")
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        problems.add([None], None, [None],
                     f"missing required column(s) {', '.join(missing)} for a systems file "
                     f"(found: {', '.join(names)})")
    problems.raise_if_any()
    for c in SYSTEM_COLUMNS:
        if c in frame:
            frame[c] = clean_str(frame[c].astype("str"))
        else:
            frame[c] = pd.Series(np.nan, index=frame.index, dtype="str")

    # --- values
    for c in VALUE_REQUIRED:
        problems.add_mask(frame, frame[c].isna().to_numpy(), c, "a value is required here")
    check_orgs(frame, study, problems)

    year, year_bad = parse_series(frame["year"], lambda t: _whole(t, *YEAR_RANGE))
    year_bad = np.where(year_bad != "", "the inventory year must be a calendar year "
                                        f"({YEAR_RANGE[0]}–{YEAR_RANGE[1]})", "")
    _report(frame, year_bad, "year", problems)
    year = pd.to_numeric(pd.Series(year, index=frame.index), errors="coerce")

    out = pd.DataFrame({"org_id": frame["org_id"], "year": year.astype("Int64")})
    for c in ("system_id", "system_name", "domain", "vendor", "product"):
        out[c] = frame[c]

    intro, intro_bad = parse_series(frame["introduced_year"],
                                     lambda t: _whole(t, INTRODUCED_MIN, YEAR_RANGE[1]))
    intro = pd.to_numeric(pd.Series(intro, index=frame.index), errors="coerce")
    late = (intro > year + 2).to_numpy() & (intro_bad == "")
    intro_bad = np.where((intro_bad != "") | late,
                         f"must be a year from {INTRODUCED_MIN} up to the inventory year + 2", "")
    _report(frame, intro_bad, "introduced_year", problems)

    for c, parse in (("hosting", hosting_one), ("lifecycle", lifecycle_one)):
        values, bad = parse_series(frame[c], parse)
        _report(frame, bad, c, problems)
        out[c] = pd.Series(values, index=frame.index).astype("str")
    out["introduced_year"] = intro.astype("Int64")

    cost, cost_bad = parse_series(frame["annual_cost_sek"], amount_one)
    _report(frame, cost_bad, "annual_cost_sek", problems)
    out["annual_cost_sek"] = pd.to_numeric(pd.Series(cost, index=frame.index), errors="coerce")

    for c in ORDINALS:
        values, bad = parse_series(frame[c], ordinal_one)
        _report(frame, bad, c, problems)
        out[c] = pd.to_numeric(pd.Series(values, index=frame.index)).astype("Int64")
    out["rated_by"] = frame["rated_by"]
    for c, parse in (("open_standards", yes_no_one), ("open_api", yes_no_one),
                     ("data_ownership", ownership_one)):
        values, bad = parse_series(frame[c], parse)
        _report(frame, bad, c, problems)
        out[c] = pd.Series(values, index=frame.index).astype("str")
    integ, integ_bad = parse_series(frame["integrations"], lambda t: _whole(t, 0, 10**6))
    integ_bad = np.where(integ_bad != "", "must be a whole number of integrations (>= 0)", "")
    _report(frame, integ_bad, "integrations", problems)
    out["integrations"] = pd.to_numeric(pd.Series(integ, index=frame.index),
                                        errors="coerce").astype("Int64")
    out["comment"] = frame["comment"]

    key = ["org_id", "year", "system_id"]
    dup = out.duplicated(key, keep="first").to_numpy() & out[key].notna().all(axis=1).to_numpy()
    problems.add_mask(frame, dup, "system_id",
                      "this system_id appears earlier in the file for the same org_id and year")
    problems.raise_if_any()
    out = out[list(SYSTEM_COLUMNS)]

    # --- rows already in the store: identical rows are skipped, conflicting ones rejected
    if _table_exists(study, "systems"):
        cols = ", ".join(SYSTEM_COLUMNS)
        existing = study.sql(f"SELECT {cols} FROM systems")
        if len(existing):
            new_c = _canonical_rows(out, SYSTEM_COLUMNS)
            old_c = _canonical_rows(existing, SYSTEM_COLUMNS)
            m = new_c.reset_index(drop=True).merge(old_c, on=key, how="left",
                                                   suffixes=("", "_old"), indicator=True)
            both = (m["_merge"] == "both").to_numpy()
            rows = frame["_row"].to_numpy()
            for c in SYSTEM_COLUMNS:
                if c in key:
                    continue
                a = m[c].fillna("\x00").to_numpy()
                b = m[f"{c}_old"].fillna("\x00").to_numpy()
                differ = both & (a != b)
                if differ.any():
                    olds = m.loc[differ, f"{c}_old"].tolist()
                    shown = ", ".join(repr(v) if v is not None else "empty"
                                      for v in pd.unique(pd.Series(olds, dtype=object))[:3])
                    problems.add(rows[differ], c, frame.loc[differ, c].tolist(),
                                 f"this org_id/year/system_id is already in the store with "
                                 f"{c} {shown}; stored rows are never overwritten (fix the file "
                                 "or start a new study)")
            problems.raise_if_any()
            out = out[~both]
    return {"systems": out}


def _whole(text: Any, low: float, high: float) -> tuple[float, str]:
    t = _norm(text)
    if t in _MISSING_TEXT:
        return np.nan, ""
    x = parse_number(t)
    if x is None or x != math.floor(x) or not low <= x <= high:
        return np.nan, "bad"
    return float(x), ""


def amount_one(text: Any) -> tuple[float, str]:
    t = _norm(text)
    if t in _MISSING_TEXT:
        return np.nan, ""
    x = parse_number(t)
    if x is None or x < 0:
        return np.nan, ("must be an amount in SEK (a number >= 0; spaces as thousands separators "
                        "and a decimal comma are fine)")
    return float(x), ""


def _register() -> None:
    from mognad.io.ingest import KindSpec, register_kind

    register_kind(KindSpec(
        name="systems",
        required=REQUIRED_COLUMNS,
        optional=OPTIONAL_COLUMNS,
        order=1,
        detect=_detect,
        validate=_validate_systems,
        tables=(_DDL,),
    ))


_register()


def load_systems(study, *, org_id: str | Sequence[str] | None = None,
                 year: int | Sequence[int] | None = None) -> pd.DataFrame:
    """The study's DIOS inventory as a typed DataFrame (one row per system, organisation, year).

    Parameters
    ----------
    study : Study or path
        An open study (:func:`mognad.io.store.open_study`) or its folder.
    org_id, year : optional
        Keep only these organisation(s) / inventory year(s).

    Returns
    -------
    DataFrame
        The columns of :data:`SYSTEM_COLUMNS`; ratings, years and counts as ``Int64``, the cost
        as float, text as ``str``. Sorted by ``org_id, year, system_id``.

    Raises
    ------
    MognadError
        If the study has no inventory, or none for the organisation / year asked for.
    """
    from mognad.io.store import Study, open_study

    study = study if isinstance(study, Study) else open_study(study)
    frame = study.table("systems")
    if frame.empty:
        raise MognadError(f"{study.path}: the study has no DIOS inventory; ingest one first "
                          f"(mognad ingest systems.csv --study {study.path})")
    frame = frame[list(SYSTEM_COLUMNS)].copy()
    for c in _INT_COLUMNS:
        frame[c] = frame[c].astype("Int64")
    frame["annual_cost_sek"] = frame["annual_cost_sek"].astype(float)
    years = sorted(int(y) for y in frame["year"].dropna().unique())
    if org_id is not None:
        ids = [org_id] if np.isscalar(org_id) else list(org_id)
        keep = frame["org_id"].isin([str(i) for i in ids])
        if not keep.any():
            raise MognadError(f"no DIOS inventory for organisation(s) {', '.join(map(str, ids))} "
                              f"in {study.path}")
        frame = frame[keep]
    if year is not None:
        ys = [int(year)] if np.isscalar(year) else [int(y) for y in year]
        keep = frame["year"].isin(ys)
        if not keep.any():
            have = sorted(int(y) for y in frame["year"].dropna().unique()) or years
            raise MognadError(f"no DIOS inventory for year(s) {', '.join(map(str, ys))}"
                              + (f" for {org_id}" if org_id is not None else "")
                              + f"; inventory years: {', '.join(map(str, have))}")
        frame = frame[keep]
    return frame.sort_values(["org_id", "year", "system_id"]).reset_index(drop=True)
