"""Ingestion: read raw files, validate them, pseudonymise respondents, write to the study store.

Guarantees
----------
- **Clear errors**: a rejected file raises :class:`~mognad.errors.ValidationError` naming the file,
  the row as a spreadsheet shows it (header = row 1, blank lines count; see
  :mod:`mognad.io.readers`), the column, the value and what is valid.
- **All or nothing** per file: everything is validated before the store is touched, and the write
  is one transaction.
- **Idempotent**: a file whose content was ingested before adds nothing (content fingerprint).
- **Privacy**: respondent ids are normalised (:func:`normalise_ids`: surrounding Unicode white
  space and zero-width characters removed, Unicode NFC, case-folded) and replaced by a keyed hash
  (HMAC-SHA256 with the study's key) before they reach the store; the same person in the same
  organisation gives the same pseudonym however the id was typed. Messages never show a
  respondent id (they give the row), nor any value that looks like an e-mail address or a
  personnummer.
- **No silent loss**: a wide responses file must have every item of the codebook (or be ingested
  with ``allow_missing_items=True``, which warns); the reader refuses formula cells without a
  saved value, files over the size limit and damaged text, and warns about XLSX sheets it did not
  read (see :mod:`mognad.io.readers`). Warnings are in :attr:`IngestResult.warnings`.

Accepted inputs: CSV (``,``, ``;`` or tab; UTF-8 with or without BOM, or cp1252 as Swedish
Excel writes it), XLSX (first sheet) and SPSS ``.sav``. "vet ej", "-" and empty cells are missing.
"""

from __future__ import annotations

import contextvars
import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import yaml

from mognad.errors import MognadError, ValidationError
from mognad.io.readers import (
    SUPPORTED_SUFFIXES,
    RawTable,
    display_name,
    looks_like_identity,
    read_preview,
    read_raw,
    show_columns,
)
from mognad.io.store import Study, open_study, quiet, read_key

__all__ = [
    "KINDS",
    "SUPPORTED_SUFFIXES",
    "IngestResult",
    "KindSpec",
    "Problems",
    "RawTable",
    "detect_kind",
    "ingest",
    "normalise_ids",
    "prepare",
    "pseudonymise",
    "read_raw",
    "check_orgs",
    "check_required",
    "check_round",
    "clean_str",
    "read_dataset",
    "register_kind",
]

ORG_TYPES = ("kommun", "region", "myndighet", "bolag", "annan")
# SKR's municipality groups (2017): A1-A2 large cities and nearby, B3-B5 larger towns and nearby,
# C6-C9 smaller towns and rural municipalities.
KOMMUNGRUPPER = ("A1", "A2", "B3", "B4", "B5", "C6", "C7", "C8", "C9")
ROUND_RANGE = (1990, 2100)
MAX_LISTED = 10
MAX_ORG_ID_CHARS = 64
#: Kinds whose large files are validated on their first rows before being read in full.
PREVIEW_KINDS = ("responses", "invitations", "events")
DATASET_FILE = "dataset.yaml"

# Other spellings of the canonical column names (compared after lower-casing and stripping).
ALIASES = {
    "org_id": ["org_id", "orgid", "org", "organisation", "organisation_id", "organisationsid",
               "org_nr", "kod", "kommunkod"],
    "name": ["name", "namn", "organisationsnamn"],
    "org_type": ["org_type", "typ", "organisationstyp", "orgtyp"],
    "county_code": ["county_code", "county", "län", "lan", "länskod", "lanskod"],
    "kommungrupp": ["kommungrupp", "municipality_group"],
    "parent_org_id": ["parent_org_id", "parent", "moder_org_id", "överordnad"],
    "size_class": ["size_class", "storlek", "storleksklass"],
    "round": ["round", "år", "ar", "year", "omgång", "omgang", "mätomgång", "matomgang"],
    "respondent_id": ["respondent_id", "respondent", "respondentid", "e-post", "epost", "email",
                      "e_mail"],
    "unit": ["unit", "enhet", "förvaltning_enhet", "organisationsenhet"],
    "role": ["role", "roll", "befattning"],
    "item_id": ["item_id", "item", "fråga", "fraga", "påstående"],
    "value": ["value", "svar", "answer"],
    "invited": ["invited", "inbjudna", "antal_inbjudna"],
    "date": ["date", "datum"],
    "kind": ["kind", "händelse", "handelse", "event"],
    "text": ["text", "beskrivning", "description"],
}
_ALIAS_LOOKUP = {a: canon for canon, names in ALIASES.items() for a in names}


# ---------------------------------------------------------------------------------------------
# Column names and kinds
# ---------------------------------------------------------------------------------------------
def _canonical(column: str, item_ids: set[str]) -> str:
    c = str(column).strip().lstrip("\ufeff").casefold().replace(" ", "_")
    m = re.fullmatch(r"q_?0*(\d+)", c)
    if m:
        cand = f"q{int(m.group(1)):02d}"
        return cand if cand in item_ids or not item_ids else c
    return _ALIAS_LOOKUP.get(c, c)


@dataclass(frozen=True)
class KindSpec:
    """What one kind of input file looks like and how it is validated and stored."""

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    order: int  # ingest order within a folder: registry first
    detect: Callable[[set[str]], bool]
    #: validate(frame, study, codebook, problems) -> {table: rows to insert}; ``None`` for the
    #: built-in kinds, whose validators live in this module.
    validate: Callable | None = None
    #: CREATE TABLE statements for tables this kind adds to the store (created on first ingest).
    tables: tuple[str, ...] = ()


KINDS: dict[str, KindSpec] = {
    "organisations": KindSpec(
        "organisations", ("org_id", "name", "org_type"),
        ("county_code", "kommungrupp", "parent_org_id", "size_class"), 0,
        lambda cols: {"name", "org_type"} <= cols),
    "responses": KindSpec(
        "responses", ("org_id", "round", "respondent_id"), ("unit", "role", "item_id", "value"), 1,
        lambda cols: "respondent_id" in cols),
    "invitations": KindSpec(
        "invitations", ("org_id", "round", "invited"), ("unit",), 1,
        lambda cols: "invited" in cols),
    "events": KindSpec(
        "events", ("org_id", "date", "kind"), ("text",), 1,
        lambda cols: {"date", "kind"} <= cols),
}


def register_kind(spec: KindSpec) -> None:
    """Add a kind of input file (used by modules such as :mod:`mognad.dios`).

    The spec's ``validate`` must add every problem to the :class:`Problems` it is given and
    return the rows to insert per table; ingest then writes them in one transaction with the
    file's provenance, exactly as for the built-in kinds.
    """
    KINDS[spec.name] = spec


def _load_plugins() -> None:
    """Import the input formats that register further kinds (DIOS, governance and courses)."""
    import mognad.io.dios  # noqa: F401
    import mognad.io.governance  # noqa: F401


def detect_kind(columns: Iterable[str]) -> str | None:
    """The kind of input file, from its (canonical) column names.

    Examples
    --------
    >>> detect_kind(["org_id", "round", "respondent_id", "q01"])
    'responses'
    >>> detect_kind(["org_id", "date", "kind", "text"])
    'events'
    """
    cols = set(columns)
    for spec in sorted(KINDS.values(), key=lambda s: s.order):
        if spec.detect(cols):
            return spec.name
    return None


# ---------------------------------------------------------------------------------------------
# Problems
# ---------------------------------------------------------------------------------------------
#: Columns whose values identify a person: messages give the row, never the value.
HIDDEN_COLUMNS = frozenset({"respondent_id", "participant"})


class Problems:
    """Collects the problems of one file and raises them as one :class:`ValidationError`.

    Values of :data:`HIDDEN_COLUMNS`, and any value that looks like an e-mail address or a
    personnummer, are never put into the message (nor into ``ValidationError.problems``).

    Examples
    --------
    >>> p = Problems("svar.csv")
    >>> p.add([5], "respondent_id", ["anna@x.se"], "duplicate respondent")
    >>> p.add([6], "unit", ["bo@x.se"], "not a unit")
    >>> p.raise_if_any()
    Traceback (most recent call last):
    ...
    mognad.errors.ValidationError: svar.csv: rejected, 2 problem(s); nothing was ingested
      svar.csv, row 5, column respondent_id: duplicate respondent
      svar.csv, row 6, column unit: value not shown (it looks like an e-mail address): not a unit
    """

    def __init__(self, file: str, *, scope: str = ""):
        self.file = file
        self.scope = scope  # e.g. " in its first 14,000 rows (the rest was not read)"
        self.items: list[dict] = []
        self.total = 0
        self.conflicts = 0  # problems that only say "already in the store"

    def add(self, rows, column: str | None, values, expected: str, *,
            hidden: bool = False, conflict: bool = False) -> None:
        rows = list(rows)
        values = list(values)
        self.total += len(rows)
        self.conflicts += len(rows) if conflict else 0
        hidden = hidden or column in HIDDEN_COLUMNS
        for r, v in zip(rows[: MAX_LISTED], values[: MAX_LISTED], strict=False):
            if len(self.items) < MAX_LISTED:
                if hidden:
                    v = None
                elif isinstance(v, str) and (what := looks_like_identity(v)):
                    v = _NotShown(what)
                self.items.append({"file": self.file, "row": int(r) if r is not None else None,
                                   "column": column, "value": v, "expected": expected})

    def add_mask(self, frame: pd.DataFrame, mask, column: str, expected: str,
                 value_col: str | None = None) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            idx = np.flatnonzero(mask)
            vals = frame[value_col or column].iloc[idx[:MAX_LISTED]]
            self.add(frame["_row"].iloc[idx].tolist(), column, vals.tolist(), expected,
                     hidden=(value_col or column) in HIDDEN_COLUMNS)

    def raise_if_any(self) -> None:
        if not self.total:
            return
        lines = []
        for p in self.items:
            where = [self.file]
            if p["row"] is not None:
                where.append(f"row {p['row']}")
            if p["column"]:
                where.append(f"column {p['column']}")
            v = p["value"]
            if isinstance(v, _NotShown):
                value = f"value not shown (it looks like {v.what}): "
                p["value"] = None
            elif v is None or v is pd.NA:
                value = ""
            elif isinstance(v, float) and np.isnan(v):
                value = "empty: "
            else:
                value = f"value {v!r}: "
            lines.append(f"  {', '.join(where)}: {value}{p['expected']}")
        more = self.total - len(self.items)
        if more > 0:
            lines.append(f"  … and {more} more problem(s)")
        head = f"{self.file}: rejected, {self.total} problem(s){self.scope}; nothing was ingested"
        raise ValidationError(head + "\n" + "\n".join(lines), self.items)


@dataclass(frozen=True)
class _NotShown:
    what: str


def clean_str(s: pd.Series) -> pd.Series:
    s = s.str.strip()
    return s.where(s.notna() & (s != ""))


# ---------------------------------------------------------------------------------------------
# Kind-specific validation
# ---------------------------------------------------------------------------------------------
def check_required(frame: pd.DataFrame, spec: KindSpec, problems: Problems) -> None:
    missing = [c for c in spec.required if c not in frame.columns]
    if missing:
        have = [c for c in frame.columns if c != "_row"]
        problems.add([None], None, [None],
                     f"missing required column(s) {', '.join(missing)} for a {spec.name} file "
                     f"(found: {show_columns(have, limit=40)})")
        problems.raise_if_any()
    for col in spec.required:
        problems.add_mask(frame, frame[col].isna().to_numpy(), col,
                          "a value is required here")


def check_round(frame: pd.DataFrame, problems: Problems) -> pd.Series:
    r = pd.to_numeric(frame["round"].str.strip(), errors="coerce")
    bad = r.isna() | (r != np.floor(r)) | (r < ROUND_RANGE[0]) | (r > ROUND_RANGE[1])
    bad &= frame["round"].notna()
    problems.add_mask(frame, bad.to_numpy(), "round",
                      f"the round must be a calendar year ({ROUND_RANGE[0]}–{ROUND_RANGE[1]})")
    return r.fillna(-1).astype("int64")


def _known_orgs(study: Study, extra: pd.DataFrame | None = None) -> set[str]:
    known = set(study.sql("SELECT org_id FROM organisations")["org_id"])
    return known


def check_orgs(frame: pd.DataFrame, study: Study, problems: Problems) -> None:
    known = _known_orgs(study)
    ids = frame["org_id"]
    bad = ids.notna() & ~ids.isin(known)
    if bad.any():
        hint = ("the registry is empty: ingest the organisations file first" if not known
                else "org ids must be in the organisation registry (ingest it first)")
        problems.add_mask(frame, bad.to_numpy(), "org_id", hint)


def _validate_organisations(frame, study, codebook, problems):
    frame["org_id"] = clean_str(frame["org_id"])
    frame["name"] = clean_str(frame["name"])
    for col in KINDS["organisations"].optional:
        frame[col] = clean_str(frame[col]) if col in frame else pd.Series(np.nan, index=frame.index,
                                                                             dtype="str")
    frame["org_type"] = clean_str(frame["org_type"]).str.casefold()
    check_required(frame, KINDS["organisations"], problems)
    bad = frame["org_type"].notna() & ~frame["org_type"].isin(ORG_TYPES)
    problems.add_mask(frame, bad, "org_type", f"must be one of {', '.join(ORG_TYPES)}")
    kg = frame["kommungrupp"].str.upper()
    frame["kommungrupp"] = kg
    bad = kg.notna() & ~kg.isin(KOMMUNGRUPPER)
    problems.add_mask(frame, bad, "kommungrupp", "must be one of A1, A2, B3–B5, C6–C9 (SKR's groups) or empty")
    ids = frame["org_id"]
    unsafe = ids.notna() & (ids.str.contains(r"[/\\\x00-\x1f\x7f]|^\.+$", regex=True, na=False)
                            | (ids.str.len() > MAX_ORG_ID_CHARS))
    problems.add_mask(frame, unsafe, "org_id",
                      "an org_id names report files: no / or \\, no control characters, not . "
                      f"or .., at most {MAX_ORG_ID_CHARS} characters")
    dup = frame["org_id"].duplicated(keep="first") & frame["org_id"].notna()
    problems.add_mask(frame, dup, "org_id", "this org_id appears earlier in the file")
    known = set(frame["org_id"].dropna()) | _known_orgs(study)
    bad = frame["parent_org_id"].notna() & ~frame["parent_org_id"].isin(known)
    problems.add_mask(frame, bad, "parent_org_id", "the parent must be an organisation in the "
                                                   "registry or in this file")
    problems.raise_if_any()
    cols = list(KINDS["organisations"].required + KINDS["organisations"].optional)
    existing = study.sql(f"SELECT {', '.join(cols)} FROM organisations")
    new = frame[cols]
    if len(existing):
        merged = new.merge(existing, on="org_id", how="left", suffixes=("", "_old"),
                           indicator=True)
        old = merged["_merge"] == "both"
        changed = np.zeros(len(merged), dtype=bool)
        for c in cols[1:]:
            a, b = merged[c].fillna(""), merged[f"{c}_old"].fillna("")
            changed |= (old & (a != b)).to_numpy()
        if changed.any():
            rows = frame["_row"].to_numpy()[changed]
            problems.add(rows, "org_id", merged.loc[changed, "org_id"],
                         "already in the registry with other attributes; registry rows are "
                         "not overwritten (fix the file or start a new study)")
            problems.raise_if_any()
        new = new[~old.to_numpy()]
    return {"organisations": new}


def _validate_invitations(frame, study, codebook, problems):
    for col in ("org_id", "unit"):
        if col in frame:
            frame[col] = clean_str(frame[col])
    if "unit" not in frame:
        frame["unit"] = pd.Series(np.nan, index=frame.index, dtype="str")
    check_required(frame, KINDS["invitations"], problems)
    frame["round_int"] = check_round(frame, problems)
    inv = pd.to_numeric(frame["invited"].str.strip(), errors="coerce")
    bad = frame["invited"].notna() & (inv.isna() | (inv < 0) | (inv != np.floor(inv)))
    problems.add_mask(frame, bad, "invited", "must be a whole number of invited people (>= 0)")
    check_orgs(frame, study, problems)
    key = ["org_id", "round_int", "unit"]
    dup = frame.duplicated(key, keep="first")
    problems.add_mask(frame, dup, "unit", "org_id, round and unit appear earlier in the file")
    problems.raise_if_any()
    out = pd.DataFrame({"org_id": frame["org_id"], "round": frame["round_int"].astype("int32"),
                        "unit": frame["unit"], "invited": inv.astype("int64")})
    existing = study.sql("SELECT org_id, round, unit, invited FROM invitations")
    if len(existing):
        m = out.merge(existing, on=["org_id", "round", "unit"], how="left",
                      suffixes=("", "_old"), indicator=True)
        both = (m["_merge"] == "both").to_numpy()
        conflict = both & (m["invited"] != m["invited_old"]).to_numpy()
        if conflict.any():
            problems.add(frame["_row"].to_numpy()[conflict], "invited",
                         m.loc[conflict, "invited"], "this org/round/unit already has another "
                         "number of invited in the store")
            problems.raise_if_any()
        out = out[~both]
    return {"invitations": out}


def _validate_events(frame, study, codebook, problems):
    for col in ("org_id", "kind", "text"):
        if col in frame:
            frame[col] = clean_str(frame[col])
    if "text" not in frame:
        frame["text"] = pd.Series(np.nan, index=frame.index, dtype="str")
    check_required(frame, KINDS["events"], problems)
    dates = pd.to_datetime(frame["date"].str.strip(), errors="coerce", format="ISO8601")
    bad = frame["date"].notna() & dates.isna()
    problems.add_mask(frame, bad, "date", "must be a date written YYYY-MM-DD")
    bad = frame["kind"].notna() & ~frame["kind"].str.fullmatch(r"[a-z_]+")
    problems.add_mask(frame, bad, "kind", "must be a lower-case word such as programme_start, "
                                          "reorganisation, funding_change, course_start")
    check_orgs(frame, study, problems)
    problems.raise_if_any()
    out = pd.DataFrame({"org_id": frame["org_id"], "date": dates.dt.date, "kind": frame["kind"],
                        "text": frame["text"]})
    existing = study.sql("SELECT org_id, CAST(date AS VARCHAR) AS date, kind, text FROM events")
    if len(existing):
        key = out.assign(date=out["date"].astype(str)).fillna({"text": ""})
        have = set(map(tuple, existing.fillna({"text": ""}).to_numpy().tolist()))
        dup = np.array([tuple(r) in have for r in key.to_numpy().tolist()], dtype=bool)
        out = out[~dup]
    return {"events": out}


def _validate_responses(frame, study, codebook, problems):
    item_ids = codebook.item_ids
    long = "item_id" in frame.columns
    wide_items = [c for c in frame.columns if c in set(item_ids)]
    unknown_items = [c for c in frame.columns if re.fullmatch(r"q_?\d+", c) and c not in item_ids]
    for c in unknown_items:
        problems.add([1], c, [c], f"unknown item id; codebook {codebook.id} has "
                                  f"{item_ids[0]}–{item_ids[-1]}")
    if long and "value" not in frame.columns:
        problems.add([None], None, [None], "a long responses file needs columns item_id and value")
    if not long and not wide_items:
        problems.add([None], None, [None],
                     f"a responses file needs item columns ({item_ids[0]}…{item_ids[-1]}) or "
                     "the long columns item_id and value")
    problems.raise_if_any()
    if not long:
        absent = [c for c in item_ids if c not in set(wide_items)]
        if absent and not _options().allow_missing_items:
            problems.add([1], None, [None],
                         f"item column(s) {_id_ranges(absent, item_ids)} missing: a wide "
                         f"responses file needs every item of codebook {codebook.id} "
                         f"({item_ids[0]}–{item_ids[-1]}); if the survey really did not ask "
                         "them, ingest with --allow-missing-items (allow_missing_items=True) "
                         "and they are stored as not answered")
            problems.raise_if_any()
        elif absent:
            _options().warnings.append(
                f"{problems.file}: item column(s) {_id_ranges(absent, item_ids)} are not in the "
                "file; ingested as not answered by anyone (allow_missing_items)")
    for col in ("org_id", "respondent_id", "unit", "role"):
        if col in frame:
            frame[col] = clean_str(frame[col])
        else:
            frame[col] = pd.Series(np.nan, index=frame.index, dtype="str")
    # one person, one id: 'Anna@X.se', ' anna@x.se' and NFD 'å' are the same respondent, both
    # for the duplicate checks below and for the pseudonym
    frame["respondent_id"] = normalise_ids(frame["respondent_id"])
    check_required(frame, KINDS["responses"], problems)
    frame["round_int"] = check_round(frame, problems)
    check_orgs(frame, study, problems)
    valid = f"{codebook.scale_min}–{codebook.scale_max} or vet ej"

    dk_text = {"vet ej", "-", "", "vetej", "vet inte"} | {
        lab.casefold() for lab in codebook.dont_know_labels}
    dk_codes = set(codebook.dont_know_codes)

    def parse_one(text: str) -> tuple[float, str]:
        """(value, problem) for one distinct answer text; value -1 = missing."""
        t = text.strip().casefold()
        if t in dk_text:
            return -1.0, ""
        try:
            x = float(t.replace(",", "."))
        except ValueError:
            return -1.0, f"not a number; valid: {valid}"
        if x in dk_codes:
            return -1.0, ""
        if x != np.floor(x):
            return -1.0, f"not a whole number; valid: {valid}"
        if not codebook.scale_min <= x <= codebook.scale_max:
            return -1.0, f"off the scale; valid: {valid}"
        return x, ""

    def parse_values(col_frame: pd.DataFrame, col: str, label: str) -> np.ndarray:
        """Answers as int8 (-1 = missing); only the distinct texts are parsed (fast)."""
        codes, uniques = pd.factorize(col_frame[col], use_na_sentinel=True)
        parsed = [parse_one(str(u)) for u in uniques]
        lookup = np.array([v for v, _ in parsed] + [-1.0], dtype=np.int8)
        for u_i, (_, problem) in enumerate(parsed):
            if problem:
                problems.add_mask(col_frame, codes == u_i, label, problem, col)
        return lookup[codes]  # code -1 (empty cell) picks the trailing -1

    if long:
        frame["item_id"] = clean_str(frame["item_id"]).map(
            lambda x: _canonical(x, set(item_ids)) if isinstance(x, str) else x)
        bad = frame["item_id"].notna() & ~frame["item_id"].isin(item_ids)
        problems.add_mask(frame, bad, "item_id",
                          f"unknown item id; codebook {codebook.id} has {item_ids[0]}–{item_ids[-1]}")
        values = parse_values(frame, "value", "value")
        key = ["org_id", "round_int", "respondent_id", "item_id"]
        dup = frame.duplicated(key, keep="first").to_numpy()
        if dup.any():
            first = frame.groupby(key, sort=False, dropna=False)["_row"].transform("first")
            for r, f in list(zip(frame["_row"].to_numpy()[dup], first.to_numpy()[dup],
                                 strict=True))[:MAX_LISTED]:
                problems.add([r], "item_id", [None],
                             f"this respondent already answered this item in row {f}")
            problems.total += max(0, int(dup.sum()) - MAX_LISTED)
        resp_cols = ["org_id", "round_int", "respondent_id"]
        # unit and role must be constant per respondent
        per = frame.groupby(resp_cols, sort=False, dropna=False)
        for col in ("unit", "role"):
            n = per[col].transform(lambda s: s.nunique(dropna=False))
            problems.add_mask(frame, (n > 1).to_numpy(), col,
                              "differs between rows of the same respondent")
        problems.raise_if_any()
        first = ~frame.duplicated(resp_cols, keep="first")
        resp = frame.loc[first, resp_cols + ["unit", "role", "_row"]].reset_index(drop=True)
        # map every row to its respondent's position
        key_index = pd.MultiIndex.from_frame(resp[resp_cols])
        resp_pos = key_index.get_indexer(pd.MultiIndex.from_frame(frame[resp_cols]))
        item_no = pd.Index(item_ids).get_indexer(frame["item_id"])
        answers = (resp_pos, item_no.astype(np.int16), values)
    else:
        key = ["org_id", "round_int", "respondent_id"]
        dup = (frame.duplicated(key, keep="first") & frame["respondent_id"].notna()).to_numpy()
        if dup.any():
            first = frame.groupby(key, sort=False, dropna=False)["_row"].transform("first")
            for r, f in list(zip(frame["_row"].to_numpy()[dup], first.to_numpy()[dup],
                                 strict=True))[:MAX_LISTED]:
                problems.add([r], "respondent_id", [None],
                             "duplicate respondent in this organisation and round (the same "
                             f"person as in row {f}, once case, spaces and Unicode form are "
                             "ignored)")
            problems.total += max(0, int(dup.sum()) - MAX_LISTED)
        matrix = np.empty((len(frame), len(wide_items)), dtype=np.int8)
        for j, col in enumerate(wide_items):
            matrix[:, j] = parse_values(frame, col, col)
        problems.raise_if_any()
        resp = frame[["org_id", "round_int", "respondent_id", "unit", "role", "_row"]]
        resp = resp.reset_index(drop=True)
        item_no = pd.Index(item_ids).get_indexer(wide_items).astype(np.int16)
        n, k = matrix.shape
        answers = (np.repeat(np.arange(n), k), np.tile(item_no, n), matrix.ravel())

    # pseudonymise before anything reaches the store
    key = read_key(study)  # the study's key file, checked against the key id it records
    resp["respondent_id"] = pseudonymise(resp["org_id"], resp["respondent_id"], key=key)
    existing = study.sql("SELECT org_id, round, respondent_id FROM respondents")
    if len(existing):
        m = resp.merge(existing.rename(columns={"round": "round_int"}), how="left",
                       on=["org_id", "round_int", "respondent_id"], indicator=True)
        clash = (m["_merge"] == "both").to_numpy()
        if clash.any():
            problems.add(resp["_row"].to_numpy()[clash], "respondent_id",
                         ["(pseudonymised)"] * int(clash.sum()),
                         "this respondent is already in the store for this organisation and "
                         "round (ingested from another file)", conflict=True)
            problems.raise_if_any()
    return {"responses": (resp, answers)}


_VALIDATORS = {
    "organisations": _validate_organisations,
    "invitations": _validate_invitations,
    "events": _validate_events,
    "responses": _validate_responses,
}


# Python's str.isspace() characters (Unicode White_Space and the ASCII separators) plus the
# invisible format characters copy-paste leaves around an address: zero-width space/joiners,
# word joiner, Mongolian vowel separator, byte-order mark.
_ID_EDGE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
            "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
            "\u200b\u200c\u200d\u2060\u180e\ufeff")


def normalise_ids(ids: pd.Series) -> pd.Series:
    """Respondent ids as one canonical text per person (before duplicate checks and hashing).

    Surrounding white space of any kind (also non-breaking and full-width spaces) and zero-width
    characters are removed, the text is case-folded and put in Unicode NFC
    (``NFC(casefold(NFD(id)))``, Unicode's canonical caseless match), so ``Anna@X.se``,
    ``" anna@x.se"`` and an ``å`` typed as ``a`` + combining ring are one respondent. An id that
    is already normal (ASCII, lower case, trimmed) is unchanged, so its pseudonym is too.
    Missing ids stay missing.

    Examples
    --------
    >>> ids = pd.Series(["Anna@X.se", "\u00a0anna@x.se\u3000", "a\u030angström@x.se", None])
    >>> normalise_ids(ids).tolist()
    ['anna@x.se', 'anna@x.se', 'ångström@x.se', nan]
    """
    s = ids.astype("str").where(ids.notna())
    s = s.str.strip(_ID_EDGE)
    other = s.str.contains(r"[^\x00-\x7f]", regex=True, na=False).to_numpy(dtype=bool)
    out = s.str.lower()
    if other.any():
        wide = s[other].str.normalize("NFD").str.casefold().str.normalize("NFC")
        out = out.where(~other, wide.str.strip(_ID_EDGE).reindex(out.index))
    return out.where(out.notna() & (out != ""))


def pseudonymise(org_ids: pd.Series, respondent_ids: pd.Series, *, key: bytes) -> pd.Series:
    """Replace respondent ids by a keyed hash: HMAC-SHA256, first 20 hex characters.

    The message is ``org_id + "\\x1f" + id`` with the id normalised by :func:`normalise_ids`
    (trimmed of any white space, case-folded, Unicode NFC), so ``Anna@X.se`` and ``anna@x.se `` are
    one person, and the same id in two organisations gives two pseudonyms. Without the study's
    key, a pseudonym cannot be linked back to the id. The HMAC is computed inside DuckDB
    (``H(K^opad || H(K^ipad || m))``, RFC 2104), vectorised and multi-threaded; the tests check it
    against Python's :mod:`hmac`.

    Examples
    --------
    >>> import hmac
    >>> key = bytes(32)
    >>> p = pseudonymise(pd.Series(["0114", "0114"]), pd.Series(["Anna@X.se", "anna@x.se "]), key=key)
    >>> p.iloc[0] == p.iloc[1], len(p.iloc[0]), "anna" in p.iloc[0]
    (True, 20, False)
    >>> p.iloc[0] == hmac.new(key, b"0114\\x1fanna@x.se", "sha256").hexdigest()[:20]
    True
    """
    import duckdb

    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    block = key.ljust(64, b"\0")
    ipad = bytes(b ^ 0x36 for b in block)
    opad = bytes(b ^ 0x5C for b in block)
    frame = pd.DataFrame({"o": org_ids.astype("str").to_numpy(),
                          "r": normalise_ids(respondent_ids).astype("str").to_numpy()})
    con = duckdb.connect()
    try:
        quiet(con)
        con.register("ids", frame)
        out = con.execute(
            "SELECT substr(sha256(?::BLOB || unhex(sha256(?::BLOB || "
            "encode(o || chr(31) || r)))), 1, 20) AS p FROM ids",
            [opad, ipad],
        ).fetchnumpy()["p"]
    finally:
        con.close()
    return pd.Series(np.asarray(out, dtype=object), index=respondent_ids.index, dtype="str")


# ---------------------------------------------------------------------------------------------
# The ingest entry point
# ---------------------------------------------------------------------------------------------
@dataclass
class IngestResult:
    """What happened to one file."""

    file: str
    kind: str
    rows_read: int
    rows_added: int
    status: str  # "added", "unchanged" (content seen before) or "rejected"
    message: str = ""
    #: What the user should know although the file was not rejected (ignored sheets, items
    #: missing with ``allow_missing_items``).
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Options:
    """Per-call ingest options the validators read (set by :func:`ingest`)."""

    allow_missing_items: bool = False
    warnings: list[str] = field(default_factory=list)


_OPTIONS: contextvars.ContextVar[_Options] = contextvars.ContextVar("mognad_ingest_options")


def _options() -> _Options:
    try:
        return _OPTIONS.get()
    except LookupError:
        return _Options()


def _id_ranges(ids: list[str], order: list[str]) -> str:
    """Item ids as runs: ``q05, q17–q20``.

    Examples
    --------
    >>> _id_ranges(["q05", "q17", "q18", "q19"], [f"q{i:02d}" for i in range(1, 31)])
    'q05, q17–q19'
    """
    pos = sorted(order.index(i) for i in ids)
    runs, start = [], None
    for k, p in enumerate(pos):
        if start is None:
            start = p
        if k + 1 == len(pos) or pos[k + 1] != p + 1:
            runs.append(order[start] if start == p else f"{order[start]}–{order[p]}")
            start = None
    return ", ".join(runs)


def _content_fingerprint(kind: str, frame: pd.DataFrame) -> str:
    """SHA-256 over the sorted row hashes of the table: the same rows in any file format,
    separator, encoding or row order give the same fingerprint."""
    cols = sorted(c for c in frame.columns if not c.startswith("_"))
    canon = frame[cols].astype("str").fillna("")
    rows = np.sort(pd.util.hash_pandas_object(canon, index=False).to_numpy())
    h = hashlib.sha256(f"{kind}\n{','.join(cols)}\n".encode())
    h.update(rows.tobytes())
    return h.hexdigest()


_DATASET_MAX_BYTES = 64 << 10


def read_dataset(path: str | Path) -> dict:
    """A folder's ``dataset.yaml``: a mapping; ``synthetic`` must be a real boolean.

    Raises
    ------
    ValidationError
        Not YAML (with the line), not a mapping, larger than 64 KiB, or ``synthetic`` not
        ``true``/``false`` (the string ``"false"`` would otherwise count as true).

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "dataset.yaml"
    >>> _ = p.write_text("name: Demo\\nsynthetic: true\\n")
    >>> read_dataset(p)["synthetic"]
    True
    >>> _ = p.write_text('synthetic: "false"\\n')
    >>> read_dataset(p)
    Traceback (most recent call last):
    ...
    mognad.errors.ValidationError: dataset.yaml: 'synthetic' must be true or false (a YAML boolean, without quotes); got the text 'false'
    """
    path = Path(path)
    name = display_name(path)
    try:
        if path.stat().st_size > _DATASET_MAX_BYTES:
            raise ValidationError(f"{name}: larger than 64 KiB; a dataset description is a few "
                                  "lines of YAML")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValidationError(f"{name}: not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise ValidationError(f"{name}: cannot read the file ({exc.strerror or exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ValidationError(f"{name}{where}: not valid YAML ({problem}); write it as lines "
                              "of 'key: value', e.g. 'synthetic: true'") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValidationError(f"{name}: must be a mapping of 'key: value' lines (e.g. "
                              f"'synthetic: true'); got a {type(data).__name__}")
    if "synthetic" in data and not isinstance(data["synthetic"], bool):
        got = data["synthetic"]
        shown = f"the text {got!r}" if isinstance(got, str) else f"{got!r}"
        raise ValidationError(f"{name}: 'synthetic' must be true or false (a YAML boolean, "
                              f"without quotes); got {shown}")
    return data


def _list_files(paths: Iterable[str | Path]) -> tuple[list[Path], dict]:
    """The files to ingest and the merged ``dataset.yaml`` of the folders.

    In a folder: files with a supported suffix, in name order, except hidden files (``.*``,
    such as macOS ``._x.csv``) and Office lock files (``~$x.xlsx``); sub-folders are not
    entered. A symbolic link to a file outside the folder is refused (a folder handed over
    must not pull in other files). A folder with nothing to ingest is an error.
    """
    files: list[Path] = []
    dataset: dict = {}
    for p in paths:
        p = Path(p)
        if p.is_dir():
            ds = p / DATASET_FILE
            if ds.is_file():
                dataset.update(read_dataset(ds))
            try:
                entries = sorted(p.iterdir())
            except OSError as exc:
                raise MognadError(f"{p}: cannot list the folder ({exc.strerror or exc})") from None
            found = []
            root = p.resolve()
            for f in entries:
                if f.name.startswith((".", "~$")) or f.suffix.lower() not in SUPPORTED_SUFFIXES:
                    continue
                if f.is_symlink() and not f.resolve().is_relative_to(root):
                    raise MognadError(
                        f"{p / display_name(f)}: a symbolic link to a file outside the folder; "
                        "mognad does not follow it (copy the file into the folder, or name it "
                        "on the command line)")
                if f.is_file():
                    found.append(f)
            if not found:
                raise MognadError(f"{p}: no files to ingest (looked for "
                                  f"{', '.join(SUPPORTED_SUFFIXES)})")
            files.extend(found)
        elif p.exists():
            files.append(p)
        else:
            raise MognadError(f"{p}: no such file or folder")
    return files, dataset


class _KindFound(Exception):  # noqa: N818 - a signal, not an error
    """Raised from the header check to stop reading once the kind is known."""

    def __init__(self, kind: str):
        self.kind = kind


def _header_check(study: Study, kind: str | None, name: str) -> Callable[[list[str]], str]:
    """A check of a file's header: canonical names unique, kind known or detectable."""
    item_ids = set(study.codebook.item_ids)

    def check(names: list[str]) -> str:
        canon = [_canonical(c, item_ids) for c in names]
        detected = kind if kind is not None else detect_kind(canon)
        if detected is None:
            raise ValidationError(
                f"{name}, row 1: cannot tell what kind of file this is from its columns "
                f"({show_columns(names)}); give --kind, one of {', '.join(KINDS)}")
        seen: set[str] = set()
        dup = [c for c in canon if c in seen or seen.add(c)]
        if dup:
            raise ValidationError(f"{name}, row 1: column(s) {show_columns(dup)} appear twice "
                                  "(after mapping other spellings to canonical names)")
        return detected

    return check


def _sniff_kind(path: Path, *, study: Study, kind: str | None, max_bytes: int | None) -> str:
    """The kind of a file from its header alone (the body is not read, except for .sav)."""
    check = _header_check(study, kind, display_name(path))

    def stop(names: list[str]) -> None:
        raise _KindFound(check(names))

    try:
        read_raw(path, max_bytes=max_bytes, check_header=stop)
    except _KindFound as found:
        return found.kind
    raise ValidationError(f"{display_name(path)}: the header cannot be read")  # pragma: no cover


def prepare(path: str | Path, *, study: Study, kind: str | None = None,
            max_bytes: int | None = None) -> tuple[str, RawTable]:
    """Read a file and decide its kind (without validating its content)."""
    if kind is not None and kind not in KINDS:
        raise MognadError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    path = Path(path)
    check = _header_check(study, kind, display_name(path))
    raw = read_raw(path, max_bytes=max_bytes, check_header=check)
    codebook = study.codebook
    renamed = {c: _canonical(c, set(codebook.item_ids)) for c in raw.frame.columns}
    raw.frame = raw.frame.rename(columns=renamed)
    raw.renamed = {k: v for k, v in renamed.items() if k != v}
    return check(list(raw.frame.columns)), raw


def _check_preview(path: Path, *, kind: str, study: Study, max_bytes: int | None) -> None:
    """Validate the first rows of a large file before reading all of it (junk stops early).

    The same validation as for the whole file, so a file refused here would be refused anyway;
    the message says that only the first rows were read. Only for kinds whose checks hold for
    any first part of a file (:data:`PREVIEW_KINDS`; a registry may name a parent further down,
    other kinds check pairs of rows).
    """
    if kind not in PREVIEW_KINDS:
        return
    preview = read_preview(path, max_bytes=max_bytes)
    if preview is None:
        return
    item_ids = set(study.codebook.item_ids)
    frame = preview.frame.rename(columns={c: _canonical(c, item_ids) for c in preview.frame})
    frame["_row"] = preview.rows
    problems = Problems(preview.name, scope=f" in its first {len(frame):,} rows (the rest of the "
                                            "file was not read)")
    validate = KINDS[kind].validate or _VALIDATORS[kind]
    token = _OPTIONS.set(_Options(allow_missing_items=_options().allow_missing_items))
    try:
        validate(frame, study, study.codebook, problems)
        problems.raise_if_any()
    except ValidationError:
        if problems.total and problems.total == problems.conflicts:
            return  # perhaps the same content again: the whole file decides ("unchanged")
        raise
    finally:
        _OPTIONS.reset(token)


def ingest(paths: str | Path | Iterable[str | Path], *, study: str | Path | Study,
           kind: str | None = None, synthetic: bool | None = None,
           allow_missing_items: bool = False, max_file_bytes: int | None = None,
           on_result: Callable[[IngestResult], None] | None = None) -> list[IngestResult]:
    """Validate files and add them to the study store, each file all or nothing.

    Parameters
    ----------
    paths : path or list of paths
        Files, or folders whose files are ingested in dependency order (registry first). A
        folder's ``dataset.yaml`` with ``synthetic: true`` marks the study as synthetic (see
        :func:`read_dataset`). Hidden files and Office lock files in a folder are skipped; an
        empty folder is an error.
    study : path or Study
        The study folder (see :func:`mognad.io.store.init_study`).
    kind : str, optional
        ``organisations``, ``responses``, ``invitations`` or ``events``; detected from the columns
        when omitted.
    synthetic : bool, optional
        Mark the data as synthetic (overrides ``dataset.yaml``).
    allow_missing_items : bool
        Accept a wide responses file that lacks some of the codebook's item columns (they are
        stored as not answered, and the result carries a warning). Without it such a file is
        rejected.
    max_file_bytes : int, optional
        Size limit per file (default ``$MOGNAD_MAX_FILE_MB`` MB or 512 MB; see
        :mod:`mognad.io.readers`).
    on_result : callable, optional
        Called with each file's :class:`IngestResult` as soon as it is known.

    Returns
    -------
    list of IngestResult

    Raises
    ------
    ValidationError
        When a file is rejected (after the earlier files were ingested; the rejected file
        changes nothing). Every later file is still attempted; the first error is raised at the
        end with the others appended.
    MognadError
        Before anything is ingested: a path that does not exist, a folder with nothing to
        ingest or a symbolic link out of it, an invalid ``dataset.yaml``.
    """
    if synthetic is not None and not isinstance(synthetic, bool | np.bool_):
        raise MognadError(f"synthetic must be True, False or None; got {synthetic!r}")
    if kind is not None and kind not in KINDS:
        _load_plugins()
        if kind not in KINDS:
            raise MognadError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    study = study if isinstance(study, Study) else open_study(study)
    _load_plugins()
    if isinstance(paths, str | Path):
        paths = [paths]
    files, dataset = _list_files(paths)
    if synthetic is None:
        synthetic = dataset.get("synthetic", False)
    synthetic = bool(synthetic)
    sniffed, errors, results = [], [], []

    def report(res: IngestResult) -> None:
        results.append(res)
        if on_result is not None:
            on_result(res)

    # 1. the kind of every file from its header alone (cheap: nothing big is held in memory)
    for f in files:
        try:
            sniffed.append((_sniff_kind(f, study=study, kind=kind, max_bytes=max_file_bytes), f))
        except ValidationError as exc:
            errors.append(str(exc))
            report(IngestResult(display_name(f), kind or "?", 0, 0, "rejected", str(exc)))
    sniffed.sort(key=lambda t: (KINDS[t[0]].order, str(t[1])))
    # 2. one file at a time: read, validate, write
    failed_registry = None
    for k, f in sniffed:
        name = display_name(f)
        if failed_registry and KINDS[k].order > 0:
            msg = f"{name}: not ingested because the registry {failed_registry} was rejected"
            errors.append(msg)
            report(IngestResult(name, k, 0, 0, "rejected", msg))
            continue
        options = _Options(allow_missing_items=allow_missing_items)
        token = _OPTIONS.set(options)
        raw = None
        try:
            _check_preview(f, kind=k, study=study, max_bytes=max_file_bytes)
            k, raw = prepare(f, study=study, kind=k, max_bytes=max_file_bytes)
            res = _ingest_one(raw, kind=k, study=study, synthetic=synthetic)
            res.warnings = [*raw.warnings, *options.warnings]
            report(res)
        except ValidationError as exc:
            errors.append(str(exc))
            report(IngestResult(name, k, 0 if raw is None else len(raw.frame), 0, "rejected",
                                str(exc), list(raw.warnings) if raw is not None else []))
            if KINDS[k].order == 0:
                failed_registry = name
        finally:
            _OPTIONS.reset(token)
            del raw
    if errors:
        raise ValidationError("\n".join(errors))
    return results


def _validated(raw: RawTable, kind: str, study: Study) -> dict:
    """Run the kind's validator on a fresh copy of the file's rows; the rows to insert."""
    frame = raw.frame.copy()
    frame["_row"] = raw.rows  # as the user's program numbers rows (see mognad.io.readers)
    problems = Problems(raw.name)
    spec = KINDS[kind]
    validate = spec.validate or _VALIDATORS[kind]
    tables = validate(frame, study, study.codebook, problems)
    problems.raise_if_any()
    return tables


_SEEN = "SELECT 1 FROM provenance WHERE content_fingerprint = ? OR sha256 = ? LIMIT 1"
#: The store's version for optimistic concurrency: every ingest that adds data adds a
#: provenance row with the next source_id.
_VERSION = "SELECT coalesce(max(source_id), 0) FROM provenance"


def _ingest_one(raw: RawTable, *, kind: str, study: Study, synthetic: bool) -> IngestResult:
    """Validate one file against the store and add it in one transaction.

    Validation runs first without holding the store (a bad file is rejected without blocking
    anyone). The write then takes the store exclusively and checks again what another process
    may have changed meanwhile: the same content (fingerprint or file hash) ingested by a
    concurrent run gives "unchanged"; any other new data means the file is validated once more
    against the store as it is now, inside the transaction (so respondent clashes, registry
    conflicts and duplicates are judged on what is really there); and the respondents are
    checked against the store once more just before they are inserted.
    """
    from mognad import __version__

    n_rows = len(raw.frame)
    fingerprint = _content_fingerprint(kind, raw.frame)
    unchanged = IngestResult(raw.name, kind, n_rows, 0, "unchanged",
                             "same content ingested before; nothing added")
    if len(study.sql(_SEEN, [fingerprint, raw.sha256])):
        return unchanged
    version = int(study.sql(_VERSION).iloc[0, 0])
    n_warnings = len(_options().warnings)
    tables = _validated(raw, kind, study)
    spec = KINDS[kind]

    with study.write() as con:
        if con.execute(_SEEN, [fingerprint, raw.sha256]).fetchall():
            return unchanged  # a concurrent run added it first (nothing was written here)
        if int(con.execute(_VERSION).fetchall()[0][0]) != version:
            del _options().warnings[n_warnings:]  # the second run warns again
            tables = _validated(raw, kind, study)  # reads go through this transaction
        for ddl in spec.tables:
            con.execute(ddl)
        source_id = int(con.execute("SELECT coalesce(max(source_id), 0) + 1 FROM provenance")
                        .fetchall()[0][0])
        added = 0
        for table, data in tables.items():
            if table == "responses":
                added += _write_responses(con, data, source_id, file=raw.name)
            else:
                df = data.copy()
                df["source_id"] = source_id
                con.register("_incoming", df)
                cols = ", ".join(df.columns)
                con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _incoming")
                con.unregister("_incoming")
                added += len(df)
        notes = f"renamed columns: {raw.renamed}" if raw.renamed else ""
        con.execute(
            "INSERT INTO provenance VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [source_id, raw.name, kind, raw.sha256, fingerprint, n_rows, added,
             datetime.now(UTC).isoformat(timespec="seconds"), study.codebook.id,
             study.codebook.fingerprint, __version__, synthetic, notes],
        )
        if synthetic:
            con.execute("UPDATE meta SET value = 'true' WHERE key = 'synthetic'")
    return IngestResult(raw.name, kind, n_rows, added, "added")


def _write_responses(con, data, source_id: int, *, file: str = "") -> int:
    """Insert respondents and answers; refuse respondents the store already has.

    Runs inside the write transaction, so the check and the insert see the same store.
    """
    resp, (resp_pos, item_no, values) = data
    base = int(con.execute("SELECT coalesce(max(rid), 0) + 1 FROM respondents").fetchall()[0][0])
    rid = np.arange(base, base + len(resp), dtype=np.int64)
    respondents = pa.table({
        "rid": rid,
        "org_id": pa.array(resp["org_id"].tolist(), pa.string()),
        "round": pa.array(resp["round_int"].to_numpy(dtype=np.int32)),
        "respondent_id": pa.array(resp["respondent_id"].tolist(), pa.string()),
        "unit": pa.array(resp["unit"].tolist(), pa.string(), from_pandas=True),
        "role": pa.array(resp["role"].tolist(), pa.string(), from_pandas=True),
        "source_id": pa.array(np.full(len(resp), source_id, dtype=np.int32)),
    })
    con.register("_resp", respondents)
    try:
        clash = con.execute(
            "SELECT n.rid FROM _resp n JOIN respondents r ON r.org_id = n.org_id AND "
            "r.round = n.round AND r.respondent_id = n.respondent_id ORDER BY n.rid"
        ).fetchnumpy()["rid"]
        if len(clash):
            problems = Problems(file)
            problems.add(resp["_row"].to_numpy()[np.asarray(clash, dtype=np.int64) - base],
                         "respondent_id", ["(pseudonymised)"] * len(clash),
                         "this respondent is already in the store for this organisation and "
                         "round (ingested from another file)")
            problems.raise_if_any()
        values = np.asarray(values)
        answers = pa.table({
            "rid": pa.array(rid[np.asarray(resp_pos)]),
            "item_no": pa.array(np.asarray(item_no, dtype=np.int16)),
            "value": pa.array(values, mask=values < 0),
        })
        con.register("_ans", answers)
        con.execute("INSERT INTO respondents SELECT * FROM _resp")
        con.execute("INSERT INTO answers SELECT * FROM _ans")
        con.unregister("_ans")
    finally:
        con.unregister("_resp")
    return len(resp)


__all__ = ["IngestResult", "KindSpec", "ingest", "register_kind"]
