"""The case-study input formats: budgets, development requests and course answers.

Importing this module registers three kinds of input file with :mod:`mognad.io.ingest` (the
formats, with examples, are in ``docs/case_studies.md``):

- ``budgets``: digital budget lines per organisation, year and kind (drift, förvaltning,
  vidareutveckling, nyutveckling) with the funding model in force (central / intern prissättning);
- ``requests``: the log of development requests (received, decided, started, delivered, status,
  estimated cost, owner, strategic priority);
- ``training``: a course's pre/post answers on the survey items, participants pseudonymised like
  survey respondents.

Ingest guarantees are those of the survey data: one clear message per problem (file, row,
column, value, what is valid), all or nothing per file, identical rows already in the store are
skipped and conflicting ones rejected. :func:`load_budgets`, :func:`load_requests` and
:func:`load_training` read the tables back typed; the analyses are in :mod:`mognad.governance`
and :mod:`mognad.casestudy`.

Examples
--------
>>> _code_parser(_STATUS_ALIASES)("Levererad"), _parse_date("2024-03-01").date()
('levererad', datetime.date(2024, 3, 1))
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mognad.errors import MognadError
from mognad.io.dios import parse_number, rename_columns

__all__ = [
    "BUDGET_KINDS",
    "EXPLOITATION",
    "EXPLORATION",
    "FUNDING_MODELS",
    "OWNERS",
    "PHASES",
    "STATUSES",
    "course_events",
    "ingest_training",
    "load_budgets",
    "load_requests",
    "load_training",
]

# ============================================================================================
# Codes and their other spellings
# ============================================================================================
#: Kinds of digital budget line, exploitation first.
BUDGET_KINDS = ("drift", "forvaltning", "vidareutveckling", "nyutveckling")
#: Budget kinds that count as exploitation (running what exists) and exploration (developing).
EXPLOITATION = ("drift", "forvaltning")
EXPLORATION = ("vidareutveckling", "nyutveckling")
FUNDING_MODELS = ("central", "intern_prissattning")
#: Request status as of the extract: delivered, in progress, queued (accepted, not started),
#: rejected, not decided.
STATUSES = ("levererad", "pagaende", "i_ko", "avslagen", "ej_beslutad")
OWNERS = ("verksamhet", "central_it")
PHASES = ("pre", "post")
YEAR_RANGE = (1990, 2100)
DATE_RANGE = ("1990-01-01", "2100-12-31")

_KIND_ALIASES = {
    "drift": {"drift", "operation", "operations", "drift_och_underhall", "it_drift"},
    "forvaltning": {"forvaltning", "maintenance", "systemforvaltning", "underhall"},
    "vidareutveckling": {"vidareutveckling", "further_development", "vidareutv"},
    "nyutveckling": {"nyutveckling", "new_development", "innovation", "nyutveckling_innovation"},
}
_FUNDING_ALIASES = {
    "central": {"central", "centralt", "central_finansiering", "anslag", "central_funding",
                "centrally_funded"},
    "intern_prissattning": {"intern_prissattning", "internprissattning", "internal_pricing",
                            "kop_salj", "kop/salj", "buy_sell", "intern_debitering",
                            "internal_charging"},
}
_STATUS_ALIASES = {
    "levererad": {"levererad", "delivered", "klar", "avslutad", "done", "completed"},
    "pagaende": {"pagaende", "in_progress", "ongoing", "startad", "started"},
    "i_ko": {"i_ko", "ko", "queued", "in_queue", "koad", "beviljad", "accepted"},
    "avslagen": {"avslagen", "avslag", "rejected", "declined", "nekad"},
    "ej_beslutad": {"ej_beslutad", "inte_beslutad", "obeslutad", "undecided", "pending", "ny",
                    "inkommen", "new"},
}
_OWNER_ALIASES = {
    "verksamhet": {"verksamhet", "verksamheten", "business", "business_unit", "verksamhetsagd"},
    "central_it": {"central_it", "it", "central", "it_avdelningen", "central_it_funktion",
                   "it_funktionen"},
}
_YES = {"ja", "j", "yes", "y", "1", "1.0", "true", "sant"}
_NO = {"nej", "n", "no", "0", "0.0", "false", "falskt"}
_PHASE_ALIASES = {
    "pre": {"pre", "fore", "forematning", "before", "t0", "0", "1_pre"},
    "post": {"post", "efter", "eftermatning", "after", "t1", "1", "2_post"},
}
_MISSING = {"", "-", "nan", "<na>", "none", "na", "n/a", "saknas"}

# Other spellings of column names, after mognad.io.ingest's own mapping (which already turned
# year/år into "round", enhet into "unit", roll into "role", händelse/event into "kind").
_COLUMN_ALIASES = {
    "budgets": {
        "year": ["round", "year", "budgetår", "budgetar"],
        "kind": ["kind", "slag", "budgetslag", "kostnadsslag", "category", "kategori"],
        "amount_sek": ["amount_sek", "amount", "belopp", "belopp_sek", "belopp_kr", "kronor",
                       "sek", "budget_sek"],
        "funding_model": ["funding_model", "finansieringsmodell", "finansiering", "funding"],
    },
    "requests": {
        "request_id": ["request_id", "ärende_id", "arende_id", "ärendenummer", "arendenummer",
                       "ärende", "arende", "beställning_id", "bestallning_id"],
        "received": ["received", "inkommen", "inkom", "mottagen", "registrerad"],
        "decided": ["decided", "beslutad", "beslut", "beslutsdatum"],
        "started": ["started", "påbörjad", "paborjad", "startad", "start"],
        "delivered": ["delivered", "levererad", "klar", "avslutad", "leverans"],
        "status": ["status", "läge", "lage"],
        "estimated_cost_sek": ["estimated_cost_sek", "estimated_cost", "uppskattad_kostnad",
                               "uppskattad_kostnad_sek", "kostnad", "kostnad_sek"],
        "funding_model": ["funding_model", "finansieringsmodell", "finansiering", "funding"],
        "owner": ["owner", "ägare", "agare", "initiativägare", "initiativagare"],
        "strategic": ["strategic", "strategisk", "strategisk_prioritet", "strategic_priority",
                      "prioriterad"],
    },
    "training": {
        "participant": ["participant", "deltagare", "deltagar_id", "participant_id"],
        "function": ["function", "funktion", "role", "yrkesroll"],
        "phase": ["phase", "fas", "tillfälle", "tillfalle", "mättillfälle", "mattillfalle"],
        "course": ["course", "kurs", "course_id", "kurs_id"],
    },
}
_LOOKUP = {kind: {a: canon for canon, names in aliases.items() for a in names}
           for kind, aliases in _COLUMN_ALIASES.items()}

_COLUMNS = {
    "budgets": ("org_id", "year", "kind", "amount_sek", "funding_model"),
    "requests": ("request_id", "org_id", "unit", "received", "decided", "started", "delivered",
                 "status", "estimated_cost_sek", "funding_model", "owner", "strategic"),
    "training": ("org_id", "course", "participant", "function", "phase"),
}
_REQUIRED = {
    "budgets": ("org_id", "year", "kind", "amount_sek", "funding_model"),
    "requests": ("request_id", "org_id", "received", "status"),
    "training": ("participant", "phase"),
}

_DDL = {
    "budgets": (
        "CREATE TABLE IF NOT EXISTS budgets (org_id VARCHAR, year INTEGER, kind VARCHAR, "
        "amount_sek DOUBLE, funding_model VARCHAR, source_id INTEGER)",
    ),
    "requests": (
        "CREATE TABLE IF NOT EXISTS requests (request_id VARCHAR, org_id VARCHAR, unit VARCHAR, "
        "received DATE, decided DATE, started DATE, delivered DATE, status VARCHAR, "
        "estimated_cost_sek DOUBLE, funding_model VARCHAR, owner VARCHAR, strategic VARCHAR, "
        "source_id INTEGER)",
    ),
    "training": (
        "CREATE TABLE IF NOT EXISTS training (org_id VARCHAR, course VARCHAR, "
        "participant VARCHAR, function VARCHAR, phase VARCHAR, item_id VARCHAR, value TINYINT, "
        "source_id INTEGER)",
    ),
}


# ============================================================================================
# Value parsing
# ============================================================================================
def _fold(text: Any) -> str:
    """Lower case, trimmed, å/ä/ö folded, spaces and dashes as underscores."""
    t = unicodedata.normalize("NFC", str(text)).strip().casefold()
    t = t.replace("å", "a").replace("ä", "a").replace("ö", "o").replace("é", "e")
    return re.sub(r"[\s\-–—]+", "_", t)


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return _fold(value) in _MISSING


def _code_parser(aliases: Mapping[str, set[str]]):
    lookup = {a: canon for canon, names in aliases.items() for a in names}
    return lambda value: lookup.get(_fold(value))


def _parse_column(frame: pd.DataFrame, column: str, parse, expected: str, problems) -> pd.Series:
    """Parse each distinct text of a column once; report the rows whose text does not parse.

    Missing cells (empty, ``-``) give ``None``; required values are checked separately.
    """
    s = frame[column]
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    values = [None if _is_missing(u) else parse(u) for u in uniques]
    lookup = np.array([*values, None], dtype=object)
    for i, (u, v) in enumerate(zip(uniques, values, strict=True)):
        if v is None and not _is_missing(u):
            problems.add_mask(frame, codes == i, column, expected)
    return pd.Series(lookup[codes], index=s.index, dtype=object)


def _parse_date(value: Any):
    t = str(value).strip()
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2})(?:[ T]00:00(?::00(?:\.0+)?)?)?", t)
    if not m:
        return None
    try:
        d = pd.Timestamp(m.group(1))
    except ValueError:
        return None
    if not pd.Timestamp(DATE_RANGE[0]) <= d <= pd.Timestamp(DATE_RANGE[1]):
        return None
    return d


def _parse_year(value: Any):
    x = parse_number(value)
    if x is None or x != math.floor(x) or not YEAR_RANGE[0] <= x <= YEAR_RANGE[1]:
        return None
    return int(x)


def _parse_amount(value: Any):
    x = parse_number(value)
    return None if x is None or x < 0 else x


def _parse_yes_no(value: Any):
    t = _fold(value)
    return "ja" if t in _YES else "nej" if t in _NO else None


# ============================================================================================
# Validators (one per kind); each returns {table: rows to insert}
# ============================================================================================
def _canonical_columns(frame: pd.DataFrame, kind: str, problems) -> None:
    rename_columns(frame, _LOOKUP[kind], problems)


def _check_columns(frame: pd.DataFrame, kind: str, problems, *, extra: Iterable[str] = ()
                   ) -> None:
    names = [c for c in frame.columns if c != "_row"]
    allowed = set(_COLUMNS[kind]) | set(extra)
    for c in names:
        if c not in allowed:
            problems.add([1], c, [c], f"unknown column for a {kind} file; valid columns: "
                                      f"{', '.join(sorted(allowed, key=_column_order(kind)))}")
    missing = [c for c in _REQUIRED[kind] if c not in names]
    if missing:
        problems.add([None], None, [None],
                     f"missing required column(s) {', '.join(missing)} for a {kind} file "
                     f"(found: {', '.join(names)}); see docs/case_studies.md")
    problems.raise_if_any()
    from mognad.io.ingest import clean_str

    for c in _COLUMNS[kind]:
        if c in frame:
            frame[c] = clean_str(frame[c].astype("str"))
        else:
            frame[c] = pd.Series(np.nan, index=frame.index, dtype="str")


def _column_order(kind: str):
    order = {c: i for i, c in enumerate(_COLUMNS[kind])}
    return lambda c: (order.get(c, len(order)), c)


def _require_values(frame: pd.DataFrame, columns: Iterable[str], problems) -> None:
    for c in columns:
        problems.add_mask(frame, frame[c].isna().to_numpy(), c, "a value is required here")


def _table_exists(study, name: str) -> bool:
    tables = study.sql("SELECT table_name FROM information_schema.tables")["table_name"]
    return name in set(tables)


def _text_key(frame: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """One comparable string per row (numbers normalised, missing as an empty field)."""
    parts = []
    for c in columns:
        s = frame[c]
        if pd.api.types.is_datetime64_any_dtype(s):
            t = s.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_numeric_dtype(s):
            t = pd.Series([("" if pd.isna(v) else repr(float(v))) for v in s], index=s.index)
        else:
            t = s.astype("str")
        parts.append(t.fillna("").astype(str))
    out = parts[0]
    for p in parts[1:]:
        out = out + "\x1f" + p
    return out


def _skip_or_reject(out: pd.DataFrame, frame: pd.DataFrame, *, table: str, key: Sequence[str],
                    compare: Sequence[str], problems, study, what: str) -> pd.DataFrame:
    """Drop rows identical to stored ones; reject rows whose key is stored with other values."""
    if not _table_exists(study, table):
        return out
    cols = ", ".join(dict.fromkeys([*key, *compare]))
    existing = study.sql(f"SELECT {cols} FROM {table}")
    if not len(existing):
        return out
    for c in key:
        if c in ("year",):
            existing[c] = existing[c].astype("int64")
    new_key = _text_key(out, key).to_numpy()
    old_key = _text_key(existing, key)
    old_val = dict(zip(old_key, _text_key(existing, compare), strict=True))
    new_val = _text_key(out, compare).to_numpy()
    stored = np.array([k in old_val for k in new_key], dtype=bool)
    conflict = np.array([s and old_val[k] != v for s, k, v in zip(stored, new_key, new_val,
                                                                 strict=True)], dtype=bool)
    if conflict.any():
        rows = frame["_row"].to_numpy()[conflict]
        problems.add(rows, key[-1], out.loc[conflict, key[-1]].astype(str).tolist(),
                     f"this {what} is already in the store with other values; stored rows are "
                     "never overwritten (fix the file, or start a new study for a new extract)")
        problems.raise_if_any()
    return out[~stored]


def _validate_budgets(frame: pd.DataFrame, study, codebook, problems) -> dict:
    """Validate a budgets file (see docs/case_studies.md); return ``{"budgets": rows}``."""
    from mognad.io.ingest import check_orgs

    _canonical_columns(frame, "budgets", problems)
    _check_columns(frame, "budgets", problems)
    _require_values(frame, ("org_id", "year", "kind", "amount_sek", "funding_model"), problems)
    check_orgs(frame, study, problems)
    year = _parse_column(frame, "year", _parse_year, "the budget year must be a calendar year "
                         f"({YEAR_RANGE[0]}–{YEAR_RANGE[1]})", problems)
    kind = _parse_column(frame, "kind", _code_parser(_KIND_ALIASES),
                         f"must be one of {', '.join(BUDGET_KINDS)} (also operation, "
                         "maintenance, further_development, new_development/innovation)",
                         problems)
    amount = _parse_column(frame, "amount_sek", _parse_amount,
                           "must be an amount in SEK (a number >= 0; spaces as thousands "
                           "separators and a decimal comma are fine)", problems)
    model = _parse_column(frame, "funding_model", _code_parser(_FUNDING_ALIASES),
                          f"must be one of {', '.join(FUNDING_MODELS)} (also intern "
                          "prissättning, köp-sälj, internal_pricing)", problems)
    out = pd.DataFrame({
        "org_id": frame["org_id"],
        "year": pd.array(year.to_list(), dtype="Int64"),
        "kind": pd.array(kind.to_list(), dtype="str"),
        "amount_sek": pd.to_numeric(amount, errors="coerce").astype(float),
        "funding_model": pd.array(model.to_list(), dtype="str"),
    })
    key = ["org_id", "year", "kind"]
    complete = out[key].notna().all(axis=1).to_numpy()
    dup = out.duplicated(key, keep="first").to_numpy() & complete
    problems.add_mask(frame, dup, "kind", "org_id, year and kind appear earlier in the file")
    per_year = out.groupby(["org_id", "year"], dropna=True)["funding_model"].transform("nunique")
    problems.add_mask(frame, (per_year > 1).fillna(False).to_numpy(), "funding_model",
                      "differs between the lines of the same org_id and year (give the model in "
                      "force that budget year)")
    problems.raise_if_any()
    out = _skip_or_reject(out, frame, table="budgets", key=key,
                          compare=("amount_sek", "funding_model"), problems=problems,
                          study=study, what="org_id/year/kind")
    return {"budgets": out}


def _validate_requests(frame: pd.DataFrame, study, codebook, problems) -> dict:
    """Validate a development-request log; return ``{"requests": rows}``."""
    from mognad.io.ingest import check_orgs

    _canonical_columns(frame, "requests", problems)
    _check_columns(frame, "requests", problems)
    _require_values(frame, _REQUIRED["requests"], problems)
    check_orgs(frame, study, problems)
    date_text = "must be a date written YYYY-MM-DD (or empty when it has not happened)"
    dates = {c: pd.to_datetime(_parse_column(frame, c, _parse_date, date_text, problems))
             for c in ("received", "decided", "started", "delivered")}
    status = _parse_column(frame, "status", _code_parser(_STATUS_ALIASES),
                           f"must be one of {', '.join(STATUSES)} (levererad = delivered, "
                           "pagaende = started, i_ko = accepted but not started, avslagen = "
                           "rejected, ej_beslutad = not decided)", problems)
    cost = _parse_column(frame, "estimated_cost_sek", _parse_amount,
                         "must be an amount in SEK (a number >= 0) or empty", problems)
    model = _parse_column(frame, "funding_model", _code_parser(_FUNDING_ALIASES),
                          f"must be one of {', '.join(FUNDING_MODELS)} or empty", problems)
    owner = _parse_column(frame, "owner", _code_parser(_OWNER_ALIASES),
                          f"must be one of {', '.join(OWNERS)} (verksamhet = a business unit "
                          "owns the initiative, central_it = central IT) or empty", problems)
    strategic = _parse_column(frame, "strategic", _parse_yes_no,
                              "must be ja or nej (aligned with a strategic priority) or empty",
                              problems)
    problems.raise_if_any()

    # chronology: received <= decided <= started <= delivered
    steps = ("received", "decided", "started", "delivered")
    for a, b in zip(steps, steps[1:], strict=False):
        early = (dates[b] < dates[a]).fillna(False).to_numpy()
        problems.add_mask(frame, early, b, f"is before {a} ({a} <= {b} is required)")
    for later, before in (("started", "decided"), ("delivered", "started")):
        orphan = (dates[later].notna() & dates[before].isna()).to_numpy()
        problems.add_mask(frame, orphan, later, f"is given but {before} is empty")
    st = status.astype("str")
    rules = {
        "levererad": (dates["delivered"].notna(), "needs a delivered date"),
        "pagaende": (dates["started"].notna() & dates["delivered"].isna(),
                     "needs a started date and no delivered date"),
        "i_ko": (dates["decided"].notna() & dates["started"].isna(),
                 "needs a decided date and no started date"),
        "avslagen": (dates["decided"].notna() & dates["started"].isna(),
                     "needs a decided date and no started date"),
        "ej_beslutad": (dates["decided"].isna(), "must have no decided date"),
    }
    for code, (ok, why) in rules.items():
        bad = ((st == code) & ~ok).fillna(False).to_numpy()
        problems.add_mask(frame, bad, "status", f"status {code} {why}")
    dup = frame.duplicated(["org_id", "request_id"], keep="first").to_numpy() \
        & frame["request_id"].notna().to_numpy()
    problems.add_mask(frame, dup, "request_id", "this request_id appears earlier in the file "
                                                "for the same org_id")
    problems.raise_if_any()
    out = pd.DataFrame({
        "request_id": frame["request_id"],
        "org_id": frame["org_id"],
        "unit": frame["unit"],
        **{c: dates[c] for c in steps},
        "status": pd.array(status.to_list(), dtype="str"),
        "estimated_cost_sek": pd.to_numeric(cost, errors="coerce").astype(float),
        "funding_model": pd.array(model.to_list(), dtype="str"),
        "owner": pd.array(owner.to_list(), dtype="str"),
        "strategic": pd.array(strategic.to_list(), dtype="str"),
    })
    out = _skip_or_reject(out, frame, table="requests", key=("org_id", "request_id"),
                          compare=_COLUMNS["requests"][2:], problems=problems, study=study,
                          what="org_id/request_id")
    return {"requests": out}


def course_events(study) -> pd.DataFrame:
    ev = study.events
    return ev[ev["kind"] == "course_start"].reset_index(drop=True)


def _validate_training(frame: pd.DataFrame, study, codebook, problems) -> dict:
    """Validate a course's pre/post answers; return ``{"training": long rows}``."""
    from mognad.io.ingest import _canonical, check_orgs, pseudonymise
    from mognad.io.store import read_key

    item_ids = list(codebook.item_ids)
    frame.columns = [_canonical(c, set(item_ids)) if c != "_row" else c for c in frame.columns]
    _canonical_columns(frame, "training", problems)
    items = [c for c in frame.columns if c in set(item_ids)]
    unknown_items = [c for c in frame.columns if re.fullmatch(r"q_?\d+", str(c))
                     and c not in item_ids]
    for c in unknown_items:
        problems.add([1], c, [c], f"unknown item id; codebook {codebook.id} has "
                                  f"{item_ids[0]}–{item_ids[-1]}")
    if not items:
        problems.add([None], None, [None], f"a training file needs item columns ({item_ids[0]}…"
                                           f"{item_ids[-1]}) with the answers")
    problems.raise_if_any()
    _check_columns(frame, "training", problems, extra=[*items, *unknown_items])
    _require_values(frame, ("participant", "phase"), problems)

    # organisation and course: columns, or the study's single course_start event
    if frame["org_id"].isna().all() or frame["course"].isna().all():
        events = course_events(study)
        if frame["org_id"].notna().any():
            orgs = set(frame["org_id"].dropna())
            events = events[events["org_id"].isin(orgs)]
        if len(events) != 1:
            where = "in the study" if frame["org_id"].isna().all() else "for these org_ids"
            problems.add([None], "org_id" if frame["org_id"].isna().all() else "course", [None],
                         f"cannot tell which course this is: {len(events)} course_start "
                         f"events {where} (exactly one is needed); add the columns org_id and "
                         "course (e.g. the course start date) to the file")
            problems.raise_if_any()
        ev = events.iloc[0]
        frame["org_id"] = frame["org_id"].fillna(str(ev["org_id"]))
        frame["course"] = frame["course"].fillna(pd.Timestamp(ev["date"]).strftime("%Y-%m-%d"))
    problems.add_mask(frame, frame["org_id"].isna().to_numpy(), "org_id",
                      "a value is required here (or leave the whole column empty)")
    problems.add_mask(frame, frame["course"].isna().to_numpy(), "course",
                      "a value is required here (or leave the whole column empty)")
    check_orgs(frame, study, problems)
    phase = _parse_column(frame, "phase", _code_parser(_PHASE_ALIASES),
                          "must be pre or post (also före/efter, before/after)", problems)
    frame["phase"] = phase.astype("str")

    dk_text = {"vet ej", "vetej", "vet inte", "-", ""} | {
        str(lab).casefold() for lab in codebook.dont_know_labels}
    dk_codes = {float(c) for c in codebook.dont_know_codes}
    valid = f"{codebook.scale_min}–{codebook.scale_max} or vet ej"

    def parse_answer(text: Any) -> tuple[int, str]:
        t = str(text).strip().casefold()
        if t in dk_text:
            return -1, ""
        x = parse_number(t)
        if x is None:
            return -1, f"not a number; valid: {valid}"
        if x in dk_codes:
            return -1, ""
        if x != math.floor(x) or not codebook.scale_min <= x <= codebook.scale_max:
            return -1, f"off the scale or not whole; valid: {valid}"
        return int(x), ""

    matrix = np.full((len(frame), len(items)), -1, dtype=np.int16)
    for j, col in enumerate(items):
        codes, uniques = pd.factorize(frame[col], use_na_sentinel=True)
        parsed = [parse_answer(u) for u in uniques]
        lookup = np.array([v for v, _ in parsed] + [-1], dtype=np.int16)
        for i, (_, why) in enumerate(parsed):
            if why:
                problems.add_mask(frame, codes == i, col, why)
        matrix[:, j] = lookup[codes]
    key = ["org_id", "course", "participant", "phase"]
    folded = frame["participant"].str.strip().str.lower()
    dup = pd.DataFrame({**{c: frame[c] for c in key[:2]}, "participant": folded,
                        "phase": frame["phase"]}).duplicated(keep="first").to_numpy()
    dup = dup & frame["participant"].notna().to_numpy()
    problems.add_mask(frame, dup, "phase", "this participant already has this phase earlier in "
                                           "the file", "participant")
    n_func = frame.assign(_p=folded).groupby(["org_id", "course", "_p"], dropna=False)[
        "function"].transform(lambda s: s.nunique(dropna=False))
    problems.add_mask(frame, (n_func > 1).to_numpy(), "function",
                      "differs between the rows of the same participant")
    problems.raise_if_any()

    frame["participant"] = pseudonymise(frame["org_id"], frame["participant"],
                                        key=read_key(study))
    n, k = matrix.shape
    long = pd.DataFrame({
        "org_id": np.repeat(frame["org_id"].to_numpy(), k),
        "course": np.repeat(frame["course"].to_numpy(), k),
        "participant": np.repeat(frame["participant"].to_numpy(), k),
        "function": np.repeat(frame["function"].to_numpy(), k),
        "phase": np.repeat(frame["phase"].to_numpy(), k),
        "item_id": np.tile(np.array(items, dtype=object), n),
        "value": pd.array(np.where(matrix.ravel() < 0, None, matrix.ravel()), dtype="Int64"),
    })
    long = long.astype({c: "str" for c in ("org_id", "course", "participant", "function",
                                           "phase", "item_id")})
    # a participant-phase already stored: identical answers are skipped, other answers rejected
    if _table_exists(study, "training"):
        existing = study.sql("SELECT org_id, course, participant, function, phase, item_id, "
                             "value FROM training")
        if len(existing):
            sig_new = _phase_signatures(long)
            sig_old = _phase_signatures(existing)
            rows = frame["_row"].to_numpy()
            stored = np.zeros(n, dtype=bool)
            conflict = np.zeros(n, dtype=bool)
            for i, kv in enumerate(zip(*(frame[c] for c in key), strict=True)):
                if kv in sig_old:
                    stored[i] = True
                    conflict[i] = sig_old[kv] != sig_new[kv]
            if conflict.any():
                problems.add(rows[conflict], "participant", ["(pseudonymised)"] * int(
                    conflict.sum()), "this participant's answers for this course and phase are "
                                     "already in the store with other values; stored rows are "
                                     "never overwritten")
                problems.raise_if_any()
            keep = ~np.repeat(stored, k)
            long = long[keep]
    return {"training": long.reset_index(drop=True)}


def _phase_signatures(long: pd.DataFrame) -> dict:
    frame = long.copy()
    frame["value"] = frame["value"].astype("Int64").astype("str").fillna("")
    frame["function"] = frame["function"].astype("str").fillna("")
    frame = frame.sort_values("item_id")
    sig = {}
    for key, sub in frame.groupby(["org_id", "course", "participant", "phase"], sort=False):
        sig[tuple(key)] = (sub["function"].iloc[0],
                           tuple(zip(sub["item_id"], sub["value"], strict=True)))
    return sig


def _detector(kind: str, needed: Sequence[str]):
    def detect(columns: Iterable[str]) -> bool:
        cols = {_LOOKUP[kind].get(c, c) for c in columns}
        return set(needed) <= cols and "respondent_id" not in cols

    return detect


def _register() -> None:
    from mognad.io.ingest import KindSpec, register_kind

    specs = {
        "budgets": (("amount_sek", "kind"), _validate_budgets),
        "requests": (("request_id", "received"), _validate_requests),
        "training": (("participant", "phase"), _validate_training),
    }
    for name, (needed, validate) in specs.items():
        register_kind(KindSpec(
            name=name,
            required=_REQUIRED[name],
            optional=tuple(c for c in _COLUMNS[name] if c not in _REQUIRED[name]),
            order=2,
            detect=_detector(name, needed),
            validate=validate,
            tables=_DDL[name],
        ))


_register()


# ============================================================================================
# Reading the case-study tables back, typed
# ============================================================================================
def _select(frame: pd.DataFrame, org_id) -> pd.DataFrame:
    if org_id is None or not len(frame):
        return frame
    ids = [org_id] if isinstance(org_id, str) else [str(o) for o in org_id]
    return frame[frame["org_id"].isin(ids)]


def load_budgets(study, *, org_id: str | Sequence[str] | None = None) -> pd.DataFrame:
    """The study's budget lines: ``org_id, year, kind, amount_sek, funding_model``.

    Empty (with these columns) when no budgets file has been ingested.
    """
    frame = study.table("budgets")
    if not len(frame.columns):
        frame = pd.DataFrame({c: pd.Series(dtype="str") for c in _COLUMNS["budgets"]})
    frame = frame[list(_COLUMNS["budgets"])].astype({"year": "int64", "amount_sek": float})
    frame = _select(frame, org_id)
    return frame.sort_values(["org_id", "year", "kind"], key=_kind_sort).reset_index(drop=True)


def _kind_sort(s: pd.Series) -> pd.Series:
    if s.name == "kind":
        return s.map({k: i for i, k in enumerate(BUDGET_KINDS)}).fillna(len(BUDGET_KINDS))
    return s


def load_requests(study, *, org_id: str | Sequence[str] | None = None) -> pd.DataFrame:
    """The study's development requests, dates as ``datetime64``, one row per request."""
    frame = study.table("requests")
    if not len(frame.columns):
        frame = pd.DataFrame({c: pd.Series(dtype="str") for c in _COLUMNS["requests"]})
    frame = frame[list(_COLUMNS["requests"])].copy()
    for c in ("received", "decided", "started", "delivered"):
        frame[c] = pd.to_datetime(frame[c])
    frame["estimated_cost_sek"] = frame["estimated_cost_sek"].astype(float)
    frame = _select(frame, org_id)
    return frame.sort_values(["org_id", "received", "request_id"]).reset_index(drop=True)


def load_training(study, *, org_id: str | Sequence[str] | None = None,
                  course: str | None = None) -> pd.DataFrame:
    """The study's course answers, long: ``org_id, course, participant, function, phase,
    item_id, value`` (``value`` Int64, <NA> = don't know)."""
    cols = ["org_id", "course", "participant", "function", "phase", "item_id", "value"]
    frame = study.table("training")
    if not len(frame.columns):
        frame = pd.DataFrame({c: pd.Series(dtype="str") for c in cols})
    frame = frame[cols].copy()
    frame["value"] = pd.to_numeric(frame["value"]).astype("Int64")
    frame = _select(frame, org_id)
    if course is not None:
        frame = frame[frame["course"] == str(course)]
    return frame.reset_index(drop=True)



def ingest_training(path, *, study, org_id: str, course: str | None = None):
    """Ingest a course file that has no ``org_id``/``course`` columns, giving them here.

    Use it when the study holds several courses (so the single ``course_start`` event cannot
    tell which one a file belongs to). The file is read as it is, the two columns are added and
    the result is ingested under the file's own name with the usual guarantees
    (:func:`mognad.io.ingest.ingest`). ``course`` defaults to the date of the organisation's single
    ``course_start`` event.

    Returns
    -------
    list of IngestResult
    """
    import tempfile
    from pathlib import Path

    from mognad.io.ingest import ingest, read_raw
    from mognad.io.store import Study, open_study

    study = study if isinstance(study, Study) else open_study(study)
    raw = read_raw(path)
    frame = raw.frame.copy()
    if course is None:
        ev = course_events(study)
        ev = ev[ev["org_id"] == str(org_id)]
        if len(ev) != 1:
            raise MognadError(f"{raw.name}: {len(ev)} course_start events for {org_id}; give "
                              "course= (e.g. the course start date)")
        course = pd.Timestamp(ev["date"].iloc[0]).strftime("%Y-%m-%d")
    for col, value in (("org_id", str(org_id)), ("course", str(course))):
        if col in frame.columns:
            raise MognadError(f"{raw.name}: the file already has a column {col}; ingest it "
                              "with mognad.io.ingest.ingest")
        frame.insert(0, col, value)
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / (Path(path).stem + ".csv")
        frame.to_csv(target, index=False)
        return ingest(target, study=study, kind="training")
