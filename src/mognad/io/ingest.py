"""Ingestion: read raw files, validate them, pseudonymise respondents, write to the study store.

Guarantees
----------
- **Clear errors**: a rejected file raises :class:`~mognad.errors.ValidationError` naming the file,
  the row as a spreadsheet shows it (header = row 1), the column, the value and what is valid.
- **All or nothing** per file: everything is validated before the store is touched, and the write
  is one transaction.
- **Idempotent**: a file whose content was ingested before adds nothing (content fingerprint).
- **Privacy**: respondent ids are replaced by a keyed hash (HMAC-SHA256 with the study's key)
  before they reach the store; the same id in the same organisation gives the same pseudonym.

Accepted inputs: CSV (``,``, ``;`` or tab; UTF-8 with or without BOM, or cp1252 as Swedish
Excel writes it), XLSX (first sheet) and SPSS ``.sav``. "vet ej", "-" and empty cells are missing.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import yaml

from mognad.errors import MognadError, ValidationError
from mognad.io.store import Study, open_study, quiet, read_key

SUPPORTED_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".sav")
ORG_TYPES = ("kommun", "region", "myndighet", "bolag", "annan")
# SKR's municipality groups (2017): A1-A2 large cities and nearby, B3-B5 larger towns and nearby,
# C6-C9 smaller towns and rural municipalities.
KOMMUNGRUPPER = ("A1", "A2", "B3", "B4", "B5", "C6", "C7", "C8", "C9")
ROUND_RANGE = (1990, 2100)
MAX_LISTED = 10
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
# Reading files into a table of strings
# ---------------------------------------------------------------------------------------------
@dataclass
class RawTable:
    """A file read as strings, before any validation."""

    path: Path
    frame: pd.DataFrame  # every column str dtype, missing = NaN
    sha256: str
    encoding: str = ""
    delimiter: str = ""
    renamed: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.name


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _decode(path: Path, data: bytes) -> tuple[str, str]:
    if b"\x00" in data[:65536]:
        raise ValidationError(f"{path.name}: not a text table (binary content); expected CSV, "
                              "XLSX or SAV")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ValidationError(
            f"{path.name}, row {line}: cannot decode the file; save it as UTF-8 or as "
            "Windows-1252 (Swedish Excel's 'CSV')"
        ) from None


def _sniff_delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


def _read_csv(path: Path, data: bytes) -> RawTable:
    text, encoding = _decode(path, data)
    if not text.strip():
        raise ValidationError(f"{path.name}: the file is empty")
    header = text.split("\n", 1)[0]
    delimiter = _sniff_delimiter(header)
    payload = text.encode("utf-8") if encoding != "utf-8" or data.startswith(b"\xef") else data
    if payload.startswith(b"\xef\xbb\xbf"):
        payload = payload[3:]
    try:
        names = pacsv.read_csv(
            io.BytesIO(payload),
            read_options=pacsv.ReadOptions(block_size=1 << 16, skip_rows_after_names=0),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(include_columns=[]),
        ).column_names
    except pa.ArrowInvalid:
        names = None
    if not names:
        names = next(iter(pd.read_csv(io.StringIO(header), sep=delimiter, dtype=str).columns), [])
    try:
        table = pacsv.read_csv(
            io.BytesIO(payload),
            read_options=pacsv.ReadOptions(block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=True,
                null_values=[""],
                quoted_strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise ValidationError(_explain_csv_error(path, payload, delimiter, exc)) from None
    frame = table.to_pandas()
    return RawTable(path, frame, _sha256(data), encoding, delimiter)


def _explain_csv_error(path: Path, payload: bytes, delimiter: str, exc: Exception) -> str:
    import csv

    reader = csv.reader(io.StringIO(payload.decode("utf-8")), delimiter=delimiter)
    width = None
    for row_no, row in enumerate(reader, start=1):
        if width is None:
            width = len(row)
        elif row and len(row) != width:
            return (f"{path.name}, row {row_no}: {len(row)} fields where the header has {width} "
                    f"(separator {delimiter!r}); check quoting and separators in that row")
    return f"{path.name}: not a readable table ({str(exc).splitlines()[0]})"


def _read_xlsx(path: Path, data: bytes) -> RawTable:
    try:
        frame = pd.read_excel(io.BytesIO(data), sheet_name=0, dtype=str, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise ValidationError(f"{path.name}: not a readable XLSX workbook ({exc})") from None
    frame = frame.astype("str").where(frame.notna())
    frame.columns = [str(c) for c in frame.columns]
    return RawTable(path, frame, _sha256(data), "xlsx")


def _read_sav(path: Path, data: bytes) -> RawTable:
    import tempfile

    import pyreadstat

    with tempfile.NamedTemporaryFile(suffix=".sav") as tmp:
        tmp.write(data)
        tmp.flush()
        try:
            frame, _meta = pyreadstat.read_sav(tmp.name, apply_value_formats=False)
        except Exception as exc:
            raise ValidationError(f"{path.name}: not a readable SPSS file ({exc})") from None
    out = pd.DataFrame(index=frame.index)
    for col in frame.columns:
        s = frame[col]
        if pd.api.types.is_float_dtype(s):
            whole = s.dropna()
            if (whole == np.floor(whole)).all():
                s = s.astype("Int64")
        out[str(col)] = s.astype("str").where(s.notna())
    return RawTable(path, out, _sha256(data), "sav")


def read_raw(path: str | Path) -> RawTable:
    """Read a CSV, XLSX or SAV file as a table of strings (no validation yet).

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_bytes("org_id;name\\n0114;Upplands Väsby kommun\\n".encode("cp1252"))
    >>> raw = read_raw(p)
    >>> raw.encoding, raw.delimiter, raw.frame.iloc[0].tolist()
    ('cp1252', ';', ['0114', 'Upplands Väsby kommun'])
    """
    path = Path(path)
    if not path.is_file():
        raise ValidationError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ValidationError(
            f"{path.name}: unsupported file type {suffix!r}; use one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    data = path.read_bytes()
    if not data.strip():
        raise ValidationError(f"{path.name}: the file is empty")
    reader = {".xlsx": _read_xlsx, ".sav": _read_sav}.get(suffix, _read_csv)
    raw = reader(path, data)
    if raw.frame.shape[1] == 0 or raw.frame.shape[0] == 0:
        raise ValidationError(f"{path.name}: the file has a header but no data rows")
    return raw


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
    """Import the modules that register further kinds (DIOS, case studies), if present."""
    import importlib

    for module in ("mognad.dios", "mognad.governance"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


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
class Problems:
    def __init__(self, file: str):
        self.file = file
        self.items: list[dict] = []
        self.total = 0

    def add(self, rows, column: str | None, values, expected: str) -> None:
        rows = list(rows)
        values = list(values)
        self.total += len(rows)
        for r, v in zip(rows[: MAX_LISTED], values[: MAX_LISTED], strict=False):
            if len(self.items) < MAX_LISTED:
                self.items.append({"file": self.file, "row": int(r) if r is not None else None,
                                   "column": column, "value": v, "expected": expected})

    def add_mask(self, frame: pd.DataFrame, mask, column: str, expected: str,
                 value_col: str | None = None) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            idx = np.flatnonzero(mask)
            vals = frame[value_col or column].iloc[idx[:MAX_LISTED]]
            self.add(frame["_row"].iloc[idx].tolist(), column, vals.tolist(), expected)
            self.total += 0

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
            value = "" if p["value"] is None or p["value"] is pd.NA else f"value {p['value']!r}: "
            if isinstance(p["value"], float) and np.isnan(p["value"]):
                value = "empty: "
            lines.append(f"  {', '.join(where)}: {value}{p['expected']}")
        more = self.total - len(self.items)
        if more > 0:
            lines.append(f"  … and {more} more problem(s)")
        head = f"{self.file}: rejected, {self.total} problem(s); nothing was ingested"
        raise ValidationError(head + "\n" + "\n".join(lines), self.items)


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
                     f"(found: {', '.join(have)})")
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
    for col in ("org_id", "respondent_id", "unit", "role"):
        if col in frame:
            frame[col] = clean_str(frame[col])
        else:
            frame[col] = pd.Series(np.nan, index=frame.index, dtype="str")
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
        dup = frame.duplicated(["org_id", "round_int", "respondent_id", "item_id"], keep="first")
        problems.add_mask(frame, dup, "item_id",
                          "this respondent already answered this item earlier in the file",
                          "respondent_id")
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
        dup = frame.duplicated(["org_id", "round_int", "respondent_id"], keep="first")
        dup &= frame["respondent_id"].notna()
        problems.add_mask(frame, dup, "respondent_id",
                          "duplicate respondent in this organisation and round (appears earlier "
                          "in the file)")
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
                         "round (ingested from another file)")
            problems.raise_if_any()
    return {"responses": (resp, answers)}


_VALIDATORS = {
    "organisations": _validate_organisations,
    "invitations": _validate_invitations,
    "events": _validate_events,
    "responses": _validate_responses,
}


def pseudonymise(org_ids: pd.Series, respondent_ids: pd.Series, *, key: bytes) -> pd.Series:
    """Replace respondent ids by a keyed hash: HMAC-SHA256, first 20 hex characters.

    The message is ``org_id + "\\x1f" + id`` with the id trimmed and lower-cased, so
    ``Anna@X.se`` and ``anna@x.se `` are one person, and the same id in two organisations gives
    two pseudonyms. Without the study's key, a pseudonym cannot be linked back to the id. The
    HMAC is computed inside DuckDB (``H(K^opad || H(K^ipad || m))``, RFC 2104), vectorised and
    multi-threaded; the tests check it against Python's :mod:`hmac`.

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
                          "r": respondent_ids.astype("str").to_numpy()})
    con = duckdb.connect()
    try:
        quiet(con)
        con.register("ids", frame)
        out = con.execute(
            "SELECT substr(sha256(?::BLOB || unhex(sha256(?::BLOB || "
            "encode(o || chr(31) || lower(trim(r)))))), 1, 20) AS p FROM ids",
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


def _content_fingerprint(kind: str, frame: pd.DataFrame) -> str:
    """SHA-256 over the sorted row hashes of the table: the same rows in any file format,
    separator, encoding or row order give the same fingerprint."""
    cols = sorted(c for c in frame.columns if not c.startswith("_"))
    canon = frame[cols].astype("str").fillna("")
    rows = np.sort(pd.util.hash_pandas_object(canon, index=False).to_numpy())
    h = hashlib.sha256(f"{kind}\n{','.join(cols)}\n".encode())
    h.update(rows.tobytes())
    return h.hexdigest()


def _list_files(paths: Iterable[str | Path]) -> tuple[list[Path], dict]:
    files: list[Path] = []
    dataset: dict = {}
    for p in paths:
        p = Path(p)
        if p.is_dir():
            ds = p / DATASET_FILE
            if ds.is_file():
                dataset.update(yaml.safe_load(ds.read_text(encoding="utf-8")) or {})
            files.extend(sorted(f for f in p.iterdir()
                                if f.is_file() and f.suffix.lower() in SUPPORTED_SUFFIXES))
        elif p.exists():
            files.append(p)
        else:
            raise MognadError(f"{p}: no such file or folder")
    return files, dataset


def prepare(path: str | Path, *, study: Study, kind: str | None = None) -> tuple[str, RawTable]:
    """Read a file and decide its kind (without validating its content)."""
    raw = read_raw(path)
    codebook = study.codebook
    renamed = {c: _canonical(c, set(codebook.item_ids)) for c in raw.frame.columns}
    raw.frame = raw.frame.rename(columns=renamed)
    raw.renamed = {k: v for k, v in renamed.items() if k != v}
    dup = raw.frame.columns[raw.frame.columns.duplicated()].tolist()
    if dup:
        raise ValidationError(f"{raw.name}, row 1: column(s) {', '.join(dup)} appear twice "
                              "(after mapping other spellings to canonical names)")
    detected = detect_kind(raw.frame.columns)
    if kind is None:
        if detected is None:
            raise ValidationError(
                f"{raw.name}, row 1: cannot tell what kind of file this is from its columns "
                f"({', '.join(map(str, raw.frame.columns[:8]))}); give --kind, one of "
                f"{', '.join(KINDS)}")
        kind = detected
    elif kind not in KINDS:
        raise MognadError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    return kind, raw


def ingest(paths: str | Path | Iterable[str | Path], *, study: str | Path | Study,
           kind: str | None = None, synthetic: bool | None = None,
           on_result: Callable[[IngestResult], None] | None = None) -> list[IngestResult]:
    """Validate files and add them to the study store, each file all or nothing.

    Parameters
    ----------
    paths : path or list of paths
        Files, or folders whose files are ingested in dependency order (registry first). A
        folder's ``dataset.yaml`` with ``synthetic: true`` marks the study as synthetic.
    study : path or Study
        The study folder (see :func:`mognad.io.store.init_study`).
    kind : str, optional
        ``organisations``, ``responses``, ``invitations`` or ``events``; detected from the columns
        when omitted.
    synthetic : bool, optional
        Mark the data as synthetic (overrides ``dataset.yaml``).
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
    """
    study = study if isinstance(study, Study) else open_study(study)
    _load_plugins()
    if isinstance(paths, str | Path):
        paths = [paths]
    files, dataset = _list_files(paths)
    if synthetic is None:
        synthetic = bool(dataset.get("synthetic", False))
    prepared, errors, results = [], [], []

    def report(res: IngestResult) -> None:
        results.append(res)
        if on_result is not None:
            on_result(res)

    for f in files:
        try:
            prepared.append(prepare(f, study=study, kind=kind) + (f,))
        except ValidationError as exc:
            errors.append(str(exc))
            report(IngestResult(f.name, kind or "?", 0, 0, "rejected", str(exc)))
    prepared.sort(key=lambda t: (KINDS[t[0]].order, str(t[2])))
    failed_registry = None
    for k, raw, f in prepared:
        if failed_registry and KINDS[k].order > 0:
            msg = f"{f.name}: not ingested because the registry {failed_registry} was rejected"
            errors.append(msg)
            report(IngestResult(f.name, k, len(raw.frame), 0, "rejected", msg))
            continue
        try:
            report(_ingest_one(raw, kind=k, study=study, synthetic=synthetic))
        except ValidationError as exc:
            errors.append(str(exc))
            report(IngestResult(f.name, k, len(raw.frame), 0, "rejected", str(exc)))
            if KINDS[k].order == 0:
                failed_registry = f.name
    if errors:
        raise ValidationError("\n".join(errors))
    return results


def _validated(raw: RawTable, kind: str, study: Study) -> dict:
    """Run the kind's validator on a fresh copy of the file's rows; the rows to insert."""
    frame = raw.frame.copy()
    frame["_row"] = np.arange(2, len(frame) + 2)  # as a spreadsheet numbers rows (header = 1)
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
    tables = _validated(raw, kind, study)
    spec = KINDS[kind]

    with study.write() as con:
        if con.execute(_SEEN, [fingerprint, raw.sha256]).fetchall():
            return unchanged  # a concurrent run added it first (nothing was written here)
        if int(con.execute(_VERSION).fetchall()[0][0]) != version:
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
