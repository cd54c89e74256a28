"""Governance and pacing: the case-study input formats and the analyses of demand and delivery.

Importing this module registers three kinds of input file with :mod:`mognad.io.ingest` (see
``docs/case_studies.md`` for the formats, with examples):

- ``budgets``: digital budget lines per organisation, year and kind (drift, förvaltning,
  vidareutveckling, nyutveckling) with the funding model in force (central / intern prissättning);
- ``requests``: the log of development requests (received, decided, started, delivered, status,
  estimated cost, owner, strategic priority);
- ``training``: a course's pre/post answers on the survey items, participants pseudonymised like
  survey respondents.

Ingest guarantees are those of the survey data: one clear message per problem (file, row,
column, value, what is valid), all or nothing per file, identical rows already in the store are
skipped and conflicting ones rejected.

Analyses (tidy DataFrames in and out; column roles are keyword-only arguments):

- :func:`monthly_flow`: arrivals, decisions, starts and completions per month, with the backlog;
- :func:`lead_times` and :func:`lead_time_summary`: lead times per request and their
  distribution (Kaplan-Meier, so requests still open count as censored);
- :func:`littles_law`: the consistency check L = lambda W per period;
- :func:`capacity_gap` and :func:`capacity_needed`: how far delivery falls short of accepted
  demand, and the capacity that stabilises (or clears) the backlog within N months;
- :func:`funding_effect`: the effect of a change of funding model on arrivals (Poisson or
  negative-binomial segmented regression) and on lead times (interrupted time series, OLS with
  Newey-West errors);
- :func:`spending_shares` and :func:`spending_vs_maturity`: exploration (vidareutveckling +
  nyutveckling) versus exploitation (drift + förvaltning) over time, against peers and against
  the DiMiOS categories innovation and effektivitet.

Examples
--------
>>> requests = pd.DataFrame({
...     "org_id": "0114", "request_id": ["a", "b", "c"],
...     "received": pd.to_datetime(["2024-01-05", "2024-01-20", "2024-02-03"]),
...     "decided": pd.to_datetime(["2024-01-10", "2024-01-25", "2024-02-10"]),
...     "started": pd.to_datetime(["2024-01-15", pd.NaT, "2024-02-20"]),
...     "delivered": pd.to_datetime(["2024-02-15", pd.NaT, pd.NaT]),
...     "status": ["levererad", "avslagen", "pagaende"]})
>>> flow = monthly_flow(requests, end="2024-02-29")
>>> flow[["month", "arrivals", "accepted", "rejected", "starts", "completions", "backlog"]]
       month  arrivals  accepted  rejected  starts  completions  backlog
0 2024-01-01         2         1         1       1            0        1
1 2024-02-01         1         1         0       1            1        1
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

__all__ = [
    "BUDGET_KINDS",
    "EXPLORATION",
    "EXPLOITATION",
    "FUNDING_MODELS",
    "OWNERS",
    "PHASES",
    "STATUSES",
    "capacity_gap",
    "capacity_needed",
    "funding_change_dates",
    "funding_effect",
    "governance_orgs",
    "ingest_training",
    "lead_time_summary",
    "lead_times",
    "littles_law",
    "load_budgets",
    "load_requests",
    "load_training",
    "monthly_flow",
    "plot_flow",
    "plot_its",
    "plot_lead_times",
    "plot_spending",
    "share_change",
    "spending_shares",
    "spending_vs_maturity",
    "category_scores",
    "its_series",
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


def _parse_number(value: Any) -> float | None:
    t = str(value).strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    t = re.sub(r"(?i)(kr|sek)$", "", t)
    if t.count(",") == 1 and "." not in t:
        t = t.replace(",", ".")
    try:
        x = float(t)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


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
    x = _parse_number(value)
    if x is None or x != math.floor(x) or not YEAR_RANGE[0] <= x <= YEAR_RANGE[1]:
        return None
    return int(x)


def _parse_amount(value: Any):
    x = _parse_number(value)
    return None if x is None or x < 0 else x


def _parse_yes_no(value: Any):
    t = _fold(value)
    return "ja" if t in _YES else "nej" if t in _NO else None


# ============================================================================================
# Validators (one per kind); each returns {table: rows to insert}
# ============================================================================================
def _canonical_columns(frame: pd.DataFrame, kind: str, problems) -> None:
    frame.columns = [_LOOKUP[kind].get(c, c) if c != "_row" else c for c in frame.columns]
    names = [c for c in frame.columns if c != "_row"]
    dup = sorted({c for c in names if names.count(c) > 1})
    if dup:
        problems.add([1], None, [None], f"column(s) {', '.join(dup)} appear twice (after mapping "
                                        "other spellings to the canonical names)")
        problems.raise_if_any()


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


def _course_events(study) -> pd.DataFrame:
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
        events = _course_events(study)
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
        x = _parse_number(t)
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


# ============================================================================================
# Demand and delivery
# ============================================================================================
_DAYS_PER_MONTH = 365.25 / 12


def _as_of(requests: pd.DataFrame, as_of) -> pd.Timestamp:
    if as_of is not None:
        return pd.Timestamp(as_of)
    dates = requests[["received", "decided", "started", "delivered"]].max().max()
    if pd.isna(dates):
        raise MognadError("the request log has no dates; give as_of")
    return pd.Timestamp(dates) + pd.offsets.MonthEnd(0)


def _require(frame: Any, cols: Iterable[str], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise MognadError(f"{what}: needs a DataFrame; got {type(frame).__name__}")
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise MognadError(f"{what}: missing column(s) {missing}; the table has "
                          f"{list(frame.columns)}")


def _counts_by_month(dates: pd.Series, month_ends: pd.DatetimeIndex) -> np.ndarray:
    """Cumulative number of dates on or before each month end."""
    d = np.sort(dates.dropna().to_numpy(dtype="datetime64[ns]"))
    return np.searchsorted(d, month_ends.to_numpy(dtype="datetime64[ns]"), side="right")


def monthly_flow(requests: pd.DataFrame, *, start=None, end=None, as_of=None) -> pd.DataFrame:
    """Arrivals, decisions, starts and completions per month, and the backlog at each month end.

    Parameters
    ----------
    requests : DataFrame
        The request log (:func:`load_requests`): ``org_id, received, decided, started,
        delivered, status``.
    start, end : date-like, optional
        First and last month (default: the first month with an arrival, and ``as_of``).
    as_of : date-like, optional
        The date of the extract; default the end of the month of the latest date in the log.

    Returns
    -------
    DataFrame
        One row per organisation and month: ``org_id, month`` (first day), ``arrivals``,
        ``decisions``, ``accepted``, ``rejected``, ``starts``, ``completions`` (deliveries), and at
        the month end ``undecided`` (received, not decided), ``queue`` (accepted, not started),
        ``in_progress`` (started, not delivered) and ``backlog`` (all open requests: the sum of
        the three). A rejected request closes when it is decided.

    Examples
    --------
    See the module docstring.
    """
    _require(requests, ("org_id", "received", "decided", "started", "delivered", "status"),
             "monthly_flow")
    as_of = _as_of(requests, as_of)
    rows = []
    for org, g in requests.groupby("org_id", sort=True):
        first = pd.Timestamp(start) if start is not None else g["received"].min()
        last = pd.Timestamp(end) if end is not None else as_of
        months = pd.date_range(first.to_period("M").to_timestamp(),
                               last.to_period("M").to_timestamp(), freq="MS")
        ends = months + pd.offsets.MonthEnd(0)
        rejected = g["status"] == "avslagen"
        accepted_dec = g["decided"].where(~rejected)
        closed = g["delivered"].where(~rejected, g["decided"])
        cum = {
            "received": _counts_by_month(g["received"], ends),
            "decided": _counts_by_month(g["decided"], ends),
            "accepted": _counts_by_month(accepted_dec, ends),
            "rejected": _counts_by_month(g["decided"].where(rejected), ends),
            "started": _counts_by_month(g["started"], ends),
            "delivered": _counts_by_month(g["delivered"], ends),
            "closed": _counts_by_month(closed, ends),
        }
        before = {k: _counts_by_month(s, months[:1] - pd.Timedelta(days=1))[0]
                  for k, s in (("received", g["received"]), ("decided", g["decided"]),
                               ("accepted", accepted_dec),
                               ("rejected", g["decided"].where(rejected)),
                               ("started", g["started"]), ("delivered", g["delivered"]))}

        def per_month(name, cum=cum, before=before):
            c = cum[name]
            return np.diff(np.concatenate([[before[name]], c]))

        rows.append(pd.DataFrame({
            "org_id": org,
            "month": months,
            "arrivals": per_month("received"),
            "decisions": per_month("decided"),
            "accepted": per_month("accepted"),
            "rejected": per_month("rejected"),
            "starts": per_month("started"),
            "completions": per_month("delivered"),
            "undecided": cum["received"] - cum["decided"],
            "queue": cum["accepted"] - cum["started"],
            "in_progress": cum["started"] - cum["delivered"],
            "backlog": cum["received"] - cum["closed"],
        }))
    if not rows:
        return pd.DataFrame(columns=["org_id", "month", "arrivals", "decisions", "accepted",
                                     "rejected", "starts", "completions", "undecided", "queue",
                                     "in_progress", "backlog"])
    out = pd.concat(rows, ignore_index=True)
    for c in out.columns[2:]:
        out[c] = out[c].astype("int64")
    return out


def funding_change_dates(events: pd.DataFrame | None = None, *,
                         requests: pd.DataFrame | None = None,
                         budgets: pd.DataFrame | None = None) -> pd.Series:
    """The date each organisation changed its funding model.

    Taken from ``funding_change`` events (the first per organisation); for organisations without
    one, from the first request received under ``intern_prissattning`` after one under
    ``central`` (or the first budget year under it, as 1 January).

    Returns
    -------
    Series
        ``org_id`` -> Timestamp, sorted by org_id.

    Examples
    --------
    >>> ev = pd.DataFrame({"org_id": ["0114", "1384"], "date": pd.to_datetime(["2020-01-01",
    ...                    "2021-03-01"]), "kind": ["funding_change", "reorganisation"]})
    >>> funding_change_dates(ev).to_dict()
    {'0114': Timestamp('2020-01-01 00:00:00')}
    """
    found: dict[str, pd.Timestamp] = {}
    if events is not None and len(events):
        ev = events[events["kind"] == "funding_change"].sort_values("date")
        for org, d in zip(ev["org_id"], pd.to_datetime(ev["date"]), strict=True):
            found.setdefault(str(org), d)
    for frame, col in ((requests, "received"), (budgets, "year")):
        if frame is None or not len(frame) or "funding_model" not in frame:
            continue
        for org, g in frame.sort_values(col).groupby("org_id"):
            if org in found:
                continue
            models = g["funding_model"].to_numpy()
            switch = np.flatnonzero((models[1:] == "intern_prissattning")
                                    & (models[:-1] == "central"))
            if len(switch):
                when = g[col].iloc[switch[0] + 1]
                found[str(org)] = (pd.Timestamp(f"{int(when)}-01-01") if col == "year"
                                   else pd.Timestamp(when))
    return pd.Series(found, dtype="datetime64[ns]").sort_index().rename("change_date")


def _period(months: pd.Series, change) -> pd.Series:
    if change is None or pd.isna(change):
        return pd.Series("all", index=months.index, dtype="str")
    return pd.Series(np.where(months >= pd.Timestamp(change), "after", "before"),
                     index=months.index, dtype="str")


def _hac_mean(values: np.ndarray, maxlags: int, ci: float) -> tuple[float, float, float, float]:
    """Mean with a Newey-West (HAC) standard error and normal interval."""
    import statsmodels.api as sm
    from scipy import stats

    values = np.asarray(values, dtype=float)
    if len(values) < 3:
        m = float(values.mean()) if len(values) else np.nan
        return m, np.nan, np.nan, np.nan
    res = sm.OLS(values, np.ones(len(values))).fit(
        cov_type="HAC", cov_kwds={"maxlags": min(maxlags, len(values) - 2)})
    z = stats.norm.ppf(0.5 + ci / 2)
    m, se = float(res.params[0]), float(res.bse[0])
    return m, se, m - z * se, m + z * se


def capacity_gap(flow: pd.DataFrame, *, change_dates: Mapping | pd.Series | None = None,
                 skip_months: int = 3, maxlags: int = 3, ci: float = 0.95) -> pd.DataFrame:
    """Accepted demand against delivery capacity, per organisation and period.

    The *capacity gap* is the number of accepted requests per month minus the number of
    requests started per month: by how much the queue of accepted, not yet started requests
    grows each month. A positive gap means the backlog and the waiting time keep growing.
    Starts, not completions, measure capacity here because a delivery team limits how much work it
    takes on; completions follow starts after the execution time.

    Parameters
    ----------
    flow : DataFrame
        :func:`monthly_flow`.
    change_dates : mapping or Series, optional
        ``org_id`` -> date of the change of funding model (:func:`funding_change_dates`); the
        months are split into ``before`` and ``after`` it (``all`` without a date).
    skip_months : int, default 3
        Months after the change left out as a transition (decision delays change at once).
    maxlags : int, default 3
        Lags of the Newey-West (HAC) standard error of the monthly means.
    ci : float, default 0.95

    Returns
    -------
    DataFrame
        ``org_id, period, first_month, last_month, n_months``, ``accepted_per_month``,
        ``starts_per_month``, ``completions_per_month``, ``capacity_per_month`` (starts per
        month in months that began with a queue, i.e. when capacity, not demand, limited the
        starts; missing if there was none), ``gap_per_month`` with ``gap_se``, ``gap_ci_low``,
        ``gap_ci_high``, and ``queue_start``, ``queue_end``.

    Examples
    --------
    >>> flow = pd.DataFrame({"org_id": "0114", "month": pd.date_range("2024-01-01", periods=6,
    ...                      freq="MS"), "accepted": [10, 12, 11, 9, 13, 11],
    ...                      "starts": [9, 9, 9, 9, 9, 9], "completions": [8, 9, 9, 10, 9, 9],
    ...                      "queue": [1, 4, 6, 6, 10, 12]})
    >>> gap = capacity_gap(flow)
    >>> gap[["period", "n_months", "accepted_per_month", "capacity_per_month", "gap_per_month"]]
      period  n_months  accepted_per_month  capacity_per_month  gap_per_month
    0    all         6                11.0                 9.0            2.0
    """
    _require(flow, ("org_id", "month", "accepted", "starts", "completions", "queue"),
             "capacity_gap")
    change_dates = {} if change_dates is None else dict(change_dates)
    rows = []
    for org, g in flow.sort_values("month").groupby("org_id", sort=True):
        g = g.reset_index(drop=True)
        change = change_dates.get(org)
        period = _period(g["month"], change)
        queue_before = g["queue"].shift(1).fillna(0).to_numpy()
        for name in ("before", "after", "all"):
            sel = (period == name).to_numpy().copy()
            if name == "after" and change is not None:
                sel &= (g["month"] >= pd.Timestamp(change) + pd.DateOffset(months=skip_months)
                        ).to_numpy()
            if not sel.any():
                continue
            sub = g[sel]
            gap = (sub["accepted"] - sub["starts"]).to_numpy(float)
            m, se, lo, hi = _hac_mean(gap, maxlags, ci)
            bound = sel & (queue_before > 0)
            rows.append({
                "org_id": org, "period": name, "first_month": sub["month"].iloc[0],
                "last_month": sub["month"].iloc[-1], "n_months": int(sel.sum()),
                "accepted_per_month": float(sub["accepted"].mean()),
                "starts_per_month": float(sub["starts"].mean()),
                "completions_per_month": float(sub["completions"].mean()),
                "capacity_per_month": (float(g.loc[bound, "starts"].mean()) if bound.any()
                                       else np.nan),
                "gap_per_month": m, "gap_se": se, "gap_ci_low": lo, "gap_ci_high": hi,
                "queue_start": int(queue_before[sel][0]),
                "queue_end": int(sub["queue"].iloc[-1]),
            })
    return pd.DataFrame(rows)


def capacity_needed(flow: pd.DataFrame, *, months: int = 12, window: int = 12,
                    target_wait_days: float = 30.0, ci: float = 0.95) -> pd.DataFrame:
    """The delivery capacity that stabilises the backlog, and that clears it within ``months``.

    From the last ``window`` months of the flow: the accepted demand ``a`` per month (with an
    exact Poisson interval), the current capacity ``c`` (starts per month) and the queue ``Q``
    of accepted, not started requests at the end. Stabilising the queue needs ``c >= a``. Bringing
    it down to the queue that a wait of ``target_wait_days`` implies, ``Q* = a * target_wait /
    30.44``, within ``months`` months needs::

        capacity_needed = a + max(Q - Q*, 0) / months

    Parameters
    ----------
    flow : DataFrame
        :func:`monthly_flow`.
    months : int, default 12
        Horizon for clearing the excess queue.
    window : int, default 12
        Recent months over which demand and capacity are measured.
    target_wait_days : float, default 30
        The acceptable wait from decision to start.
    ci : float, default 0.95

    Returns
    -------
    DataFrame
        One row per organisation: ``as_of`` (last month), ``queue_now``, ``backlog_now``,
        ``accepted_per_month`` with ``accepted_ci_low``/``accepted_ci_high``,
        ``capacity_per_month`` (starts per month in the window), ``gap_per_month``,
        ``target_queue``, ``capacity_to_stabilise`` (= accepted demand), ``capacity_needed``
        with ``needed_ci_low``/``needed_ci_high``, ``extra_capacity`` (needed minus current,
        per month) and ``extra_capacity_pct``.

    Examples
    --------
    >>> flow = pd.DataFrame({"org_id": "0114", "month": pd.date_range("2024-01-01",
    ...                      periods=12, freq="MS"), "accepted": 8, "starts": 7,
    ...                      "queue": range(21, 33), "backlog": range(41, 53)})
    >>> need = capacity_needed(flow, months=12, target_wait_days=30.44)
    >>> need[["queue_now", "accepted_per_month", "target_queue", "capacity_needed",
    ...       "extra_capacity"]].round(2)
       queue_now  accepted_per_month  target_queue  capacity_needed  extra_capacity
    0         32                 8.0           8.0             10.0             3.0
    """
    from scipy import stats

    _require(flow, ("org_id", "month", "accepted", "starts", "queue", "backlog"),
             "capacity_needed")
    if months < 1 or window < 1:
        raise MognadError("months and window must be at least 1")
    alpha = 1 - ci
    rows = []
    for org, g in flow.sort_values("month").groupby("org_id", sort=True):
        w = g.tail(window)
        n = len(w)
        k = int(w["accepted"].sum())
        a = k / n
        lo = stats.chi2.ppf(alpha / 2, 2 * k) / 2 / n if k > 0 else 0.0
        hi = stats.chi2.ppf(1 - alpha / 2, 2 * k + 2) / 2 / n
        c = float(w["starts"].mean())
        q = int(w["queue"].iloc[-1])
        target = a * target_wait_days / _DAYS_PER_MONTH

        def need(rate, q=q, months=months):
            return rate + max(q - rate * target_wait_days / _DAYS_PER_MONTH, 0.0) / months

        needed = need(a)
        rows.append({
            "org_id": org, "as_of": w["month"].iloc[-1], "window_months": n,
            "queue_now": q, "backlog_now": int(w["backlog"].iloc[-1]),
            "accepted_per_month": a, "accepted_ci_low": lo, "accepted_ci_high": hi,
            "capacity_per_month": c, "gap_per_month": a - c, "target_queue": target,
            "horizon_months": months, "capacity_to_stabilise": a,
            "capacity_needed": needed, "needed_ci_low": need(lo), "needed_ci_high": need(hi),
            "extra_capacity": needed - c,
            "extra_capacity_pct": 100 * (needed - c) / c if c > 0 else np.nan,
        })
    return pd.DataFrame(rows)


# ============================================================================================
# Lead times
# ============================================================================================
#: Lead-time measures: (from, to) columns of the log.
MEASURES = {
    "decision_days": ("received", "decided"),
    "wait_days": ("decided", "started"),
    "execution_days": ("started", "delivered"),
    "lead_time_days": ("received", "delivered"),
}


def lead_times(requests: pd.DataFrame, *, as_of=None,
               change_dates: Mapping | pd.Series | None = None) -> pd.DataFrame:
    """Lead times per request, in days, with censoring for what has not happened yet.

    Measures: ``decision_days`` (received to decided), ``wait_days`` (decided to started),
    ``execution_days`` (started to delivered), ``lead_time_days`` (received to delivered) and
    ``open_days`` (received to closed: delivered, or decided when rejected). Rejected requests
    have no wait, execution or lead time. A measure whose end has not happened by ``as_of`` is
    *censored*: its value is the time until ``as_of`` and ``<measure>_observed`` is False.

    Returns
    -------
    DataFrame
        ``org_id, request_id, received, month`` (of receipt), ``period`` (``before``/``after``
        the change of funding model, or ``all``), ``status``, and per measure the value and
        ``<measure>_observed``.

    Examples
    --------
    >>> log = pd.DataFrame({"org_id": "0114", "request_id": ["a", "b"],
    ...     "received": pd.to_datetime(["2024-01-01", "2024-03-01"]),
    ...     "decided": pd.to_datetime(["2024-01-11", pd.NaT]),
    ...     "started": pd.to_datetime(["2024-01-21", pd.NaT]),
    ...     "delivered": pd.to_datetime(["2024-03-01", pd.NaT]),
    ...     "status": ["levererad", "ej_beslutad"]})
    >>> lt = lead_times(log, as_of="2024-03-31")
    >>> lt[["request_id", "decision_days", "decision_days_observed", "lead_time_days"]]
      request_id  decision_days  decision_days_observed  lead_time_days
    0          a           10.0                    True            60.0
    1          b           30.0                   False            30.0
    """
    _require(requests, ("org_id", "request_id", "received", "decided", "started", "delivered",
                        "status"), "lead_times")
    as_of = _as_of(requests, as_of)
    change_dates = {} if change_dates is None else dict(change_dates)
    r = requests.reset_index(drop=True)
    out = r[["org_id", "request_id", "received", "status"]].copy()
    out["month"] = r["received"].dt.to_period("M").dt.to_timestamp()
    out["period"] = "all"
    for org, idx in out.groupby("org_id").groups.items():
        if org in change_dates:
            out.loc[idx, "period"] = _period(out.loc[idx, "received"], change_dates[org])
    rejected = (r["status"] == "avslagen").to_numpy()
    ends = dict(MEASURES)
    ends["open_days"] = ("received", "closed")
    r = r.assign(closed=r["delivered"].where(~rejected, r["decided"]))
    for name, (a, b) in ends.items():
        start, stop = r[a], r[b]
        observed = stop.notna() & start.notna()
        value = (stop.where(observed, as_of) - start).dt.days.astype(float)
        applicable = start.notna() | (name in ("decision_days", "lead_time_days", "open_days"))
        if name in ("wait_days", "execution_days", "lead_time_days"):
            applicable &= ~rejected
        if name == "wait_days":
            applicable &= r["decided"].notna()
        if name == "execution_days":
            applicable &= r["started"].notna()
        out[name] = value.where(applicable)
        out[f"{name}_observed"] = observed & applicable
    return out


def lead_time_summary(lead: pd.DataFrame, *, measure: str = "lead_time_days",
                      by: str | Sequence[str] = ("org_id", "period"),
                      quantiles: Sequence[float] = (0.5, 0.75, 0.9),
                      ci: float = 0.95) -> pd.DataFrame:
    """The distribution of a lead time per group: Kaplan-Meier quantiles with intervals.

    Requests whose measure has not ended yet are right-censored, so open requests lengthen the
    estimate as they should instead of being dropped (dropping them would make a growing queue
    look faster). A quantile that the follow-up does not reach is missing.

    Parameters
    ----------
    lead : DataFrame
        :func:`lead_times`.
    measure : str, default "lead_time_days"
        One of ``decision_days``, ``wait_days``, ``execution_days``, ``lead_time_days``,
        ``open_days``.
    by : str or sequence of str, default ("org_id", "period")
    quantiles : sequence of float
    ci : float, default 0.95

    Returns
    -------
    DataFrame
        ``by`` columns, ``measure``, ``n``, ``n_censored``, ``mean_observed`` (mean of the ended
        ones only), and per quantile ``q50``, ``q50_ci_low``, ``q50_ci_high`` (for 0.5) ... in
        days.

    Examples
    --------
    >>> lead = pd.DataFrame({"org_id": "0114", "period": "all",
    ...                      "lead_time_days": [10.0, 20, 30, 40, 50],
    ...                      "lead_time_days_observed": [True, True, True, True, False]})
    >>> lead_time_summary(lead, quantiles=(0.5,))[["n", "n_censored", "q50"]]
       n  n_censored   q50
    0  5           1  30.0
    """
    from statsmodels.duration.survfunc import SurvfuncRight

    if measure not in (*MEASURES, "open_days"):
        raise MognadError(f"measure must be one of {[*MEASURES, 'open_days']}; got {measure!r}")
    by = [by] if isinstance(by, str) else list(by)
    _require(lead, (*by, measure, f"{measure}_observed"), "lead_time_summary")
    rows = []
    data = lead[lead[measure].notna()]
    for key, g in data.groupby(by, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        time = g[measure].to_numpy(float)
        status = g[f"{measure}_observed"].to_numpy(bool).astype(int)
        row = dict(zip(by, key, strict=True)) | {
            "measure": measure, "n": len(g), "n_censored": int((status == 0).sum()),
            "mean_observed": float(time[status == 1].mean()) if status.any() else np.nan}
        sf = SurvfuncRight(np.maximum(time, 0.0), status) if status.any() else None
        for q in quantiles:
            name = f"q{round(q * 100)}"
            val = lo = hi = np.nan
            if sf is not None:
                val = float(sf.quantile(q))
                try:
                    with np.errstate(all="ignore"):
                        lo, hi = (float(x) for x in sf.quantile_ci(q, alpha=1 - ci))
                except (ValueError, IndexError):
                    lo = hi = np.nan
                val = val if np.isfinite(val) else np.nan
            row[name], row[f"{name}_ci_low"], row[f"{name}_ci_high"] = val, lo, hi
        rows.append(row)
    return pd.DataFrame(rows)


def littles_law(requests: pd.DataFrame, *, freq: str = "YS", as_of=None,
                tolerance: float = 0.2, max_censored: float = 0.05) -> pd.DataFrame:
    """Little's law check per organisation and period: is L = lambda W?

    ``L`` is the time-average number of open requests in the period (from the daily count),
    ``lambda`` the arrivals per day in the period and ``W`` the mean time from receipt to
    closure of the requests that arrived in it (to ``as_of`` for those still open). In a
    steady state ``lambda W / L`` is 1; a ratio clearly above 1 says the backlog is growing
    (arrivals stay longer than those they replace), below 1 that it is shrinking, and the
    check is not meaningful when many of the period's requests are still open.

    Parameters
    ----------
    requests : DataFrame
        The request log.
    freq : str, default "YS"
        Period length (pandas offset alias; ``"YS"`` calendar years, ``"QS"`` quarters).
    as_of : date-like, optional
    tolerance : float, default 0.2
        ``consistent`` is True when ``|lambda W / L - 1| <= tolerance``.
    max_censored : float, default 0.05
        Periods with a larger share of still-open arrivals get ``consistent`` missing.

    Returns
    -------
    DataFrame
        ``org_id, period_start, period_end, L, arrivals, lambda_per_month, W_days,
        lambda_W, ratio, censored_share, consistent``.

    Examples
    --------
    A request every third day, each open for 30 days, keeps L = 10 requests open:

    >>> received = pd.date_range("2022-01-01", "2023-12-31", freq="3D")
    >>> log = pd.DataFrame({"org_id": "0114", "request_id": range(len(received)),
    ...                     "received": received, "decided": received, "started": received,
    ...                     "delivered": received + pd.Timedelta(days=30), "status": "levererad"})
    >>> ll = littles_law(log, as_of="2023-12-31")
    >>> ll[["L", "lambda_W", "ratio", "consistent"]].round(2)
           L  lambda_W  ratio  consistent
    0   9.63     10.03   1.04        True
    1  10.00     10.03   1.00        True

    (The first year starts with an empty system, so L is a little lower.)
    """

    _require(requests, ("org_id", "received", "decided", "delivered", "status"), "littles_law")
    as_of = _as_of(requests, as_of)
    rows = []
    for org, g in requests.groupby("org_id", sort=True):
        rejected = g["status"] == "avslagen"
        closed = g["delivered"].where(~rejected, g["decided"])
        close = closed.fillna(as_of + pd.Timedelta(days=1))
        starts = pd.date_range(g["received"].min().to_period("Y" if freq.startswith("Y") else
                                                             "Q" if freq.startswith("Q") else
                                                             "M").to_timestamp(),
                               as_of, freq=freq)
        for a in starts:
            b = min(a + pd.tseries.frequencies.to_offset(freq), as_of + pd.Timedelta(days=1))
            span = (b - a).days
            if span <= 0:
                continue
            overlap = (np.minimum(close, b) - np.maximum(g["received"], a)).dt.days.clip(lower=0)
            L = float(overlap.sum()) / span
            arr = (g["received"] >= a) & (g["received"] < b)
            n = int(arr.sum())
            lam = n / span
            W = float((close[arr] - g.loc[arr, "received"]).dt.days.mean()) if n else np.nan
            cens = float(closed[arr].isna().mean()) if n else np.nan
            if n == 0 and L == 0:
                continue
            ratio = lam * W / L if L > 0 and n else np.nan
            consistent = (pd.NA if not np.isfinite(ratio) or cens > max_censored
                          else bool(abs(ratio - 1) <= tolerance))
            rows.append({"org_id": org, "period_start": a,
                         "period_end": b - pd.Timedelta(days=1), "L": L, "arrivals": n,
                         "lambda_per_month": lam * _DAYS_PER_MONTH, "W_days": W,
                         "lambda_W": lam * W, "ratio": ratio, "censored_share": cens,
                         "consistent": consistent})
    out = pd.DataFrame(rows)
    if len(out):
        out["consistent"] = out["consistent"].astype("boolean")
    return out


# ============================================================================================
# The effect of a change of funding model (interrupted time series)
# ============================================================================================
#: Outcomes :func:`funding_effect` knows: arrivals (a count per month) and mean lead times of the
#: requests received in a month.
OUTCOMES = ("arrivals", "decision_days", "wait_days", "lead_time_days")


def _monthly_outcome(requests: pd.DataFrame, org: str, outcome: str, as_of,
                     complete: float) -> pd.DataFrame:
    g = requests[requests["org_id"] == org]
    months = pd.date_range(g["received"].min().to_period("M").to_timestamp(),
                           as_of.to_period("M").to_timestamp(), freq="MS")
    month = g["received"].dt.to_period("M").dt.to_timestamp()
    if outcome == "arrivals":
        y = month.value_counts().reindex(months, fill_value=0)
        return pd.DataFrame({"month": months, "y": y.to_numpy(float), "n": y.to_numpy()})
    a, b = MEASURES[outcome]
    sub = g.assign(month=month)
    if outcome != "decision_days":
        sub = sub[sub["status"] != "avslagen"]
    if a == "decided":
        sub = sub[sub["decided"].notna()]
    done = sub[b].notna()
    share = done.groupby(sub["month"]).mean().reindex(months)
    days = (sub[b] - sub[a]).dt.days.where(done)
    mean = days.groupby(sub["month"]).mean().reindex(months)
    n = done.groupby(sub["month"]).sum().reindex(months, fill_value=0)
    # keep months up to the first one in which fewer than `complete` have ended: later
    # months would only show the short lead times (right-censoring)
    short = (share < complete).to_numpy()
    cut = int(np.argmax(short)) if short.any() else len(months)
    frame = pd.DataFrame({"month": months, "y": mean.to_numpy(float), "n": n.to_numpy()})
    return frame.iloc[:cut][frame["y"].iloc[:cut].notna()].reset_index(drop=True)


def _its_design(months: pd.Series, change: pd.Timestamp, trend: bool) -> tuple[np.ndarray, list]:
    t = ((months.dt.year - months.dt.year.iloc[0]) * 12
         + months.dt.month - months.dt.month.iloc[0]).to_numpy(float)
    after = (months >= change).to_numpy(float)
    t0 = float((change.year - months.dt.year.iloc[0]) * 12 + change.month
               - months.dt.month.iloc[0])
    if trend:
        return (np.column_stack([np.ones_like(t), t, after, (t - t0) * after]),
                ["baseline", "pre_slope", "level_change", "slope_change"])
    return np.column_stack([np.ones_like(t), after]), ["baseline", "level_change"]


def _fit_its(y: np.ndarray, X: np.ndarray, outcome: str, family: str, maxlags: int):
    import statsmodels.api as sm

    cov = {"cov_type": "HAC", "cov_kwds": {"maxlags": maxlags}}
    if outcome == "arrivals":
        if family == "negbin":
            return sm.NegativeBinomial(y, X).fit(disp=0, maxiter=200, **cov)
        if family != "poisson":
            raise MognadError(f"family must be 'poisson' or 'negbin'; got {family!r}")
        return sm.GLM(y, X, family=sm.families.Poisson()).fit(**cov)
    return sm.OLS(y, X).fit(**cov)


def funding_effect(requests: pd.DataFrame, *, change_dates: Mapping | pd.Series,
                   outcomes: Sequence[str] = ("arrivals", "decision_days", "lead_time_days"),
                   family: str = "poisson", maxlags: int = 3, complete: float = 0.99,
                   as_of=None, ci: float = 0.95) -> pd.DataFrame:
    """The effect of a change of funding model: interrupted time series per organisation.

    Each outcome is a monthly series: ``arrivals`` (requests received per month) or the mean
    lead time (``decision_days``, ``wait_days``, ``lead_time_days``) of the requests received in
    the month. Two models are fitted on it, both with Newey-West (HAC) standard errors that allow
    for autocorrelation up to ``maxlags`` months:

    - ``segmented``: ``y = b0 + b1 t + b2 after + b3 (t - t0) after`` (segmented regression,
      Wagner et al. 2002): ``level_change`` (b2) is the jump at the change and
      ``slope_change`` (b3) the change of trend per month, against the pre-change trend
      continued;
    - ``level``: ``y = b0 + b2 after``, the plain before/after difference (``mean_change``).

    Arrivals are counts: a Poisson GLM with a log link (``family="negbin"`` for a
    negative-binomial model), so the effects are *rate ratios*; lead times use OLS, effects in
    days. Lead-time months are kept only up to the first month in which fewer than ``complete``
    of the requests have reached the measure's end (right-censoring).

    Parameters
    ----------
    requests : DataFrame
        The request log.
    change_dates : mapping or Series
        ``org_id`` -> date of the change (:func:`funding_change_dates`); organisations without
        one are skipped.
    outcomes : sequence of str
        Among ``arrivals``, ``decision_days``, ``wait_days``, ``lead_time_days``.
    family : {"poisson", "negbin"}
    maxlags : int, default 3
    complete : float, default 0.99
    as_of : date-like, optional
    ci : float, default 0.95

    Returns
    -------
    DataFrame
        ``org_id, outcome, model, term`` (``level_change``, ``slope_change``, ``pre_slope``,
        ``baseline``, ``mean_change``), ``scale`` (``ratio`` or ``days``), ``estimate``,
        ``ci_low``, ``ci_high``, ``p_value``, ``n_months``, ``n_before``, ``n_after``,
        ``last_month``.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> months = pd.date_range("2018-01-01", "2023-12-01", freq="MS")
    >>> counts = rng.poisson(np.where(months >= "2021-01-01", 6.0, 12.0))
    >>> received = np.repeat(months, counts) + pd.Timedelta(days=3)
    >>> log = pd.DataFrame({"org_id": "0114", "request_id": range(len(received)),
    ...     "received": received, "decided": received, "started": pd.NaT,
    ...     "delivered": pd.NaT, "status": "avslagen"})
    >>> eff = funding_effect(log, change_dates={"0114": "2021-01-01"}, outcomes=["arrivals"])
    >>> row = eff.query("term == 'mean_change'").iloc[0]
    >>> round(float(row.estimate), 2), bool(row.ci_low < 0.5 < row.ci_high)
    (0.44, True)
    """
    from scipy import stats

    bad = [o for o in outcomes if o not in OUTCOMES]
    if bad:
        raise MognadError(f"unknown outcome(s) {bad}; use {list(OUTCOMES)}")
    _require(requests, ("org_id", "received", "decided", "started", "delivered", "status"),
             "funding_effect")
    as_of = _as_of(requests, as_of)
    z = stats.norm.ppf(0.5 + ci / 2)
    rows = []
    for org, change in dict(change_dates).items():
        if org not in set(requests["org_id"]) or change is None or pd.isna(change):
            continue
        change = pd.Timestamp(change)
        for outcome in outcomes:
            data = _monthly_outcome(requests, org, outcome, as_of, complete)
            after = data["month"] >= change
            if after.sum() < 3 or (~after).sum() < 3:
                continue
            for model, trend in (("segmented", True), ("level", False)):
                X, names = _its_design(data["month"], change, trend)
                res = _fit_its(data["y"].to_numpy(float), X, outcome, family, maxlags)
                params = np.asarray(res.params)[: len(names)]
                bse = np.asarray(res.bse)[: len(names)]
                pvals = np.asarray(res.pvalues)[: len(names)]
                for i, term in enumerate(names):
                    if model == "level" and term == "baseline":
                        continue
                    est, lo, hi = params[i], params[i] - z * bse[i], params[i] + z * bse[i]
                    ratio = outcome == "arrivals" and term != "baseline"
                    if outcome == "arrivals":
                        est, lo, hi = np.exp(est), np.exp(lo), np.exp(hi)
                    rows.append({
                        "org_id": org, "outcome": outcome, "model": model,
                        "term": "mean_change" if model == "level" else term,
                        "scale": "ratio" if ratio else ("count" if outcome == "arrivals"
                                                        else "days"),
                        "estimate": float(est), "ci_low": float(lo), "ci_high": float(hi),
                        "p_value": float(pvals[i]), "n_months": len(data),
                        "n_before": int((~after).sum()), "n_after": int(after.sum()),
                        "last_month": data["month"].iloc[-1],
                    })
    return pd.DataFrame(rows)


def its_series(requests: pd.DataFrame, *, org_id: str, change_date, outcome: str = "arrivals",
               family: str = "poisson", maxlags: int = 3, complete: float = 0.99,
               as_of=None) -> pd.DataFrame:
    """The monthly series behind :func:`funding_effect` with the segmented fit and the
    counterfactual (the pre-change trend continued), for plotting.

    Returns
    -------
    DataFrame
        ``month, y, n, fitted, counterfactual, after``.
    """
    if outcome not in OUTCOMES:
        raise MognadError(f"unknown outcome {outcome!r}; use {list(OUTCOMES)}")
    as_of = _as_of(requests, as_of)
    change = pd.Timestamp(change_date)
    data = _monthly_outcome(requests, org_id, outcome, as_of, complete)
    X, _ = _its_design(data["month"], change, True)
    res = _fit_its(data["y"].to_numpy(float), X, outcome, family, maxlags)
    params = np.asarray(res.params)[:4]
    lin, lin0 = X @ params, X[:, :2] @ params[:2]
    link = np.exp if outcome == "arrivals" else (lambda v: v)
    return data.assign(fitted=link(lin), counterfactual=link(lin0),
                       after=(data["month"] >= change).to_numpy())


# ============================================================================================
# Spending: exploration versus exploitation
# ============================================================================================
def spending_shares(budgets: pd.DataFrame, *, peers: bool = True) -> pd.DataFrame:
    """Exploration and exploitation shares of digital spending per organisation and year.

    Exploration = vidareutveckling + nyutveckling (developing new capability); exploitation =
    drift + förvaltning (running and maintaining what exists), the two sides of an ambidextrous
    organisation. A share is of the year's total over the four kinds.

    Parameters
    ----------
    budgets : DataFrame
        :func:`load_budgets`.
    peers : bool, default True
        Add ``peer_median``, ``peer_min``, ``peer_max`` and ``n_peers``: the exploration share of
        the *other* organisations in the table the same year.

    Returns
    -------
    DataFrame
        ``org_id, year, funding_model``, the amount per kind, ``total_sek``,
        ``exploitation_sek``, ``exploration_sek``, ``exploration_share`` (0-1),
        ``exploitation_share`` and, with ``peers``, the peer columns.

    Examples
    --------
    >>> b = pd.DataFrame({"org_id": "0114", "year": 2024, "kind": list(BUDGET_KINDS),
    ...                   "amount_sek": [40.0, 25, 20, 15], "funding_model": "central"})
    >>> spending_shares(b)[["org_id", "year", "total_sek", "exploration_share"]]
      org_id  year  total_sek  exploration_share
    0   0114  2024      100.0               0.35
    """
    _require(budgets, ("org_id", "year", "kind", "amount_sek", "funding_model"),
             "spending_shares")
    wide = budgets.pivot_table(index=["org_id", "year"], columns="kind", values="amount_sek",
                               aggfunc="sum", fill_value=0.0)
    wide = wide.reindex(columns=list(BUDGET_KINDS), fill_value=0.0)
    wide.columns = [f"{c}_sek" for c in wide.columns]
    out = wide.reset_index()
    model = budgets.groupby(["org_id", "year"])["funding_model"].first().reset_index()
    out = model.merge(out, on=["org_id", "year"])
    out["total_sek"] = out[[f"{k}_sek" for k in BUDGET_KINDS]].sum(axis=1)
    out["exploitation_sek"] = out[[f"{k}_sek" for k in EXPLOITATION]].sum(axis=1)
    out["exploration_sek"] = out[[f"{k}_sek" for k in EXPLORATION]].sum(axis=1)
    total = out["total_sek"].where(out["total_sek"] > 0)
    out["exploration_share"] = out["exploration_sek"] / total
    out["exploitation_share"] = out["exploitation_sek"] / total
    out["year"] = out["year"].astype("int64")
    if peers:
        med, lo, hi, n = [], [], [], []
        for org, year in zip(out["org_id"], out["year"], strict=True):
            other = out.loc[(out["year"] == year) & (out["org_id"] != org), "exploration_share"]
            other = other.dropna()
            med.append(other.median() if len(other) else np.nan)
            lo.append(other.min() if len(other) else np.nan)
            hi.append(other.max() if len(other) else np.nan)
            n.append(len(other))
        out["peer_median"], out["peer_min"], out["peer_max"] = med, lo, hi
        out["n_peers"] = n
    return out.sort_values(["org_id", "year"]).reset_index(drop=True)


def share_change(shares: pd.DataFrame, *, change_dates: Mapping | pd.Series,
                 column: str = "exploration_share", ci: float = 0.95) -> pd.DataFrame:
    """Mean share before and after the change of funding model, with Welch intervals.

    Years from the change year on count as *after* (a budget year under the new model).

    Returns
    -------
    DataFrame
        ``org_id, change_year, n_before, n_after, mean_before, mean_after, change`` and
        ``ci_low``/``ci_high`` of the change (Welch t), plus each period mean's t-interval.

    Examples
    --------
    >>> s = pd.DataFrame({"org_id": "0114", "year": range(2018, 2024),
    ...                   "exploration_share": [0.35, 0.36, 0.34, 0.24, 0.25, 0.23]})
    >>> out = share_change(s, change_dates={"0114": "2021-01-01"})
    >>> out[["mean_before", "mean_after", "change"]].round(2)
       mean_before  mean_after  change
    0         0.35        0.24   -0.11
    """
    from scipy import stats

    from mognad.intervals import welch_interval

    rows = []
    for org, change in dict(change_dates).items():
        g = shares[shares["org_id"] == org]
        if not len(g) or change is None or pd.isna(change):
            continue
        year = pd.Timestamp(change).year
        pre = g.loc[g["year"] < year, column].dropna().to_numpy(float)
        post = g.loc[g["year"] >= year, column].dropna().to_numpy(float)
        row = {"org_id": org, "change_year": year, "n_before": len(pre), "n_after": len(post),
               "mean_before": pre.mean() if len(pre) else np.nan,
               "mean_after": post.mean() if len(post) else np.nan}
        for name, x in (("before", pre), ("after", post)):
            if len(x) >= 2:
                half = stats.t.ppf(0.5 + ci / 2, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
                row[f"{name}_ci_low"], row[f"{name}_ci_high"] = x.mean() - half, x.mean() + half
            else:
                row[f"{name}_ci_low"] = row[f"{name}_ci_high"] = np.nan
        row["change"] = row["mean_after"] - row["mean_before"]
        w = welch_interval(post, pre, ci=ci)  # the package's one Welch interval
        row["ci_low"], row["ci_high"] = w["ci_low"], w["ci_high"]
        rows.append(row)
    return pd.DataFrame(rows)


def category_scores(study, *, org_id: str | Sequence[str],
                    categories: Sequence[str] = ("innovation", "effektivitet"),
                    method: str = "t", n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """DiMiOS category scores per organisation and round (:func:`mognad.scoring.score`).

    Returns
    -------
    DataFrame
        ``org_id, round, name`` (category), ``score_pct, ci_low, ci_high, n_respondents``.
    """
    from mognad.scoring import score

    ids = [org_id] if isinstance(org_id, str) else list(org_id)
    resp = study.responses_for(org_id=ids)
    if not len(resp):
        return pd.DataFrame(columns=["org_id", "round", "name", "score_pct", "ci_low",
                                     "ci_high", "n_respondents"])
    unknown = [c for c in categories if c not in set(study.codebook.categories["category"])]
    if unknown:
        raise MognadError(f"unknown categor(y/ies) {unknown} in codebook {study.codebook.id}")
    sc = score(resp, codebook=study.codebook, method=method, n_boot=n_boot, seed=seed,
               levels=["category"])
    sc = sc[sc["name"].isin(categories)]
    return sc[["org_id", "round", "name", "score_pct", "ci_low", "ci_high",
               "n_respondents"]].reset_index(drop=True)


def spending_vs_maturity(shares: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """Exploration share next to the DiMiOS categories of the same organisation and year.

    Parameters
    ----------
    shares : DataFrame
        :func:`spending_shares`.
    scores : DataFrame
        :func:`category_scores` (``org_id, round, name, score_pct, ci_low, ci_high``).

    Returns
    -------
    DataFrame
        ``org_id, year, funding_model, exploration_share`` and per category ``<name>_pct``,
        ``<name>_ci_low``, ``<name>_ci_high``; missing where the organisation took no part that
        year.

    Examples
    --------
    >>> sh = pd.DataFrame({"org_id": "0114", "year": [2023, 2024], "funding_model": "central",
    ...                    "exploration_share": [0.3, 0.32]})
    >>> sc = pd.DataFrame({"org_id": "0114", "round": 2024, "name": "innovation",
    ...                    "score_pct": [52.0], "ci_low": [47.0], "ci_high": [57.0]})
    >>> spending_vs_maturity(sh, sc)[["year", "exploration_share", "innovation_pct"]]
       year  exploration_share  innovation_pct
    0  2023               0.30             NaN
    1  2024               0.32            52.0
    """
    base = shares[["org_id", "year", "funding_model", "exploration_share"]].copy()
    if not len(scores):
        return base
    wide = scores.pivot_table(index=["org_id", "round"], columns="name",
                              values=["score_pct", "ci_low", "ci_high"])
    flat = pd.DataFrame(index=wide.index)
    for name in scores["name"].unique():
        flat[f"{name}_pct"] = wide[("score_pct", name)]
        flat[f"{name}_ci_low"] = wide[("ci_low", name)]
        flat[f"{name}_ci_high"] = wide[("ci_high", name)]
    flat = flat.reset_index().rename(columns={"round": "year"})
    flat["year"] = flat["year"].astype("int64")
    return base.merge(flat, on=["org_id", "year"], how="left")


# ============================================================================================
# Figures (Swedish labels by default, English with lang="en")
# ============================================================================================
_COLOURS = ("#1f4e79", "#c0504d", "#4f8a3c", "#8064a2", "#d08c30", "#2a9d8f")


def _style():
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook", font_scale=0.9)
    return plt


def _label(key: str, lang: str) -> str:
    from mognad.casestudy import label

    return label(key, lang)


def _names(names: Mapping | None, orgs: Iterable[str]) -> dict:
    names = dict(names or {})
    return {o: names.get(o, o) for o in orgs}


def _mark_change(ax, change) -> None:
    if change is not None and not pd.isna(change):
        ax.axvline(pd.Timestamp(change), color="0.3", ls="--", lw=1)


def plot_flow(flow: pd.DataFrame, *, change_dates: Mapping | pd.Series | None = None,
              names: Mapping | None = None, rolling: int = 3, lang: str = "sv"):
    """Demand against delivery per organisation: monthly arrivals, starts and completions
    (``rolling``-month means) and the queue and all open requests at month end.

    Returns
    -------
    matplotlib.figure.Figure
        One row per organisation, two panels.

    Examples
    --------
    >>> flow = pd.DataFrame({"org_id": "0114", "month": pd.date_range("2024-01-01",
    ...     periods=6, freq="MS"), "arrivals": 5, "starts": 4, "completions": 4,
    ...     "queue": range(6), "backlog": range(2, 8)})
    >>> len(plot_flow(flow).axes)
    2
    """
    plt = _style()
    orgs = sorted(flow["org_id"].unique())
    names = _names(names, orgs)
    change_dates = {} if change_dates is None else dict(change_dates)
    fig, axes = plt.subplots(len(orgs), 2, figsize=(11, 3.2 * len(orgs)), squeeze=False,
                             sharex=True)
    for i, org in enumerate(orgs):
        g = flow[flow["org_id"] == org].sort_values("month")
        ax = axes[i, 0]
        for col, colour in (("arrivals", _COLOURS[0]), ("starts", _COLOURS[2]),
                            ("completions", _COLOURS[1])):
            ax.plot(g["month"], g[col].rolling(rolling, min_periods=1).mean(), color=colour,
                    label=_label(col, lang))
        ax.set_title(names[org], loc="left", fontsize=10)
        ax.set_ylabel("per månad" if lang == "sv" else "per month")
        _mark_change(ax, change_dates.get(org))
        ax = axes[i, 1]
        ax.fill_between(g["month"], 0, g["backlog"], color=_COLOURS[0], alpha=0.15,
                        label=_label("backlog", lang))
        ax.plot(g["month"], g["queue"], color=_COLOURS[1], label=_label("queue", lang))
        ax.set_ylabel("antal" if lang == "sv" else "count")
        _mark_change(ax, change_dates.get(org))
    axes[0, 0].legend(loc="upper right", fontsize=8, frameon=True)
    axes[0, 1].legend(loc="upper left", fontsize=8, frameon=True)
    fig.tight_layout()
    return fig


def plot_its(requests: pd.DataFrame, *, change_dates: Mapping | pd.Series,
             outcomes: Sequence[str] = ("arrivals", "lead_time_days"),
             names: Mapping | None = None, lang: str = "sv", **kwargs):
    """The interrupted time series of :func:`funding_effect`: observed months, the segmented
    fit and the counterfactual (the pre-change trend continued, dashed)."""
    plt = _style()
    change_dates = {o: d for o, d in dict(change_dates).items()
                    if o in set(requests["org_id"]) and not pd.isna(d)}
    orgs = sorted(change_dates)
    names = _names(names, orgs)
    fig, axes = plt.subplots(max(len(orgs), 1), len(outcomes),
                             figsize=(5.5 * len(outcomes), 3.0 * max(len(orgs), 1)),
                             squeeze=False)
    for i, org in enumerate(orgs):
        for j, outcome in enumerate(outcomes):
            ax = axes[i, j]
            s = its_series(requests, org_id=org, change_date=change_dates[org],
                           outcome=outcome, **kwargs)
            ax.plot(s["month"], s["y"], "o", ms=3, color=_COLOURS[0], alpha=0.6)
            ax.plot(s["month"], s["fitted"], color=_COLOURS[1], lw=2)
            post = s[s["after"]]
            ax.plot(post["month"], post["counterfactual"], color=_COLOURS[1], ls="--", lw=1.2)
            _mark_change(ax, change_dates[org])
            ax.set_title(f"{names[org]}: {_label(outcome, lang)}", loc="left", fontsize=10)
    fig.tight_layout()
    return fig


def plot_lead_times(lead: pd.DataFrame, *, measure: str = "lead_time_days",
                    names: Mapping | None = None, lang: str = "sv"):
    """Kaplan-Meier curves of a lead time: the share of requests not yet through, by days,
    before and after the change, one panel per organisation."""
    from statsmodels.duration.survfunc import SurvfuncRight

    plt = _style()
    data = lead[lead[measure].notna()]
    orgs = sorted(data["org_id"].unique())
    names = _names(names, orgs)
    fig, axes = plt.subplots(1, max(len(orgs), 1), figsize=(5.5 * max(len(orgs), 1), 3.6),
                             squeeze=False, sharey=True)
    for j, org in enumerate(orgs):
        ax = axes[0, j]
        g = data[data["org_id"] == org]
        for k, (period, sub) in enumerate(g.groupby("period", sort=False)):
            status = sub[f"{measure}_observed"].to_numpy(bool).astype(int)
            if not status.any():
                continue
            sf = SurvfuncRight(np.maximum(sub[measure].to_numpy(float), 0), status)
            ax.step(np.concatenate([[0], sf.surv_times]), np.concatenate([[1], sf.surv_prob]),
                    where="post", color=_COLOURS[k % len(_COLOURS)],
                    label=f"{_label(period, lang)} (n={len(sub)})")
        ax.set_title(names[org], loc="left", fontsize=10)
        ax.set_xlabel(_label(measure, lang))
        ax.legend(fontsize=8)
    axes[0, 0].set_ylabel("andel ej klara" if lang == "sv" else "share not yet done")
    fig.tight_layout()
    return fig


def plot_spending(shares: pd.DataFrame, *, org_ids: Sequence[str] | None = None,
                  change_dates: Mapping | pd.Series | None = None,
                  scores: pd.DataFrame | None = None, names: Mapping | None = None,
                  lang: str = "sv"):
    """Development (exploration) share of digital spending by year for the organisations in
    focus (colours) against the other organisations (grey); with ``scores``
    (:func:`category_scores`), a second panel with the DiMiOS category scores."""
    plt = _style()
    focus = list(org_ids) if org_ids is not None else sorted(shares["org_id"].unique())
    names = _names(names, shares["org_id"].unique())
    change_dates = {} if change_dates is None else dict(change_dates)
    ncol = 2 if scores is not None and len(scores) else 1
    fig, axes = plt.subplots(1, ncol, figsize=(5.8 * ncol, 3.8), squeeze=False)
    ax = axes[0, 0]
    for org, g in shares.groupby("org_id"):
        if org in focus:
            continue
        ax.plot(g["year"], 100 * g["exploration_share"], color="0.7", lw=1,
                label=f"{names[org]}")
    for k, org in enumerate(focus):
        g = shares[shares["org_id"] == org]
        ax.plot(g["year"], 100 * g["exploration_share"], "o-", color=_COLOURS[k],
                label=names[org])
        if org in change_dates:
            ax.axvline(pd.Timestamp(change_dates[org]).year - 0.5, color=_COLOURS[k], ls="--",
                       lw=1)
    ax.set_ylabel(_label("exploration_share", lang) + " (%)")
    ax.set_xlabel(_label("year", lang))
    ax.legend(fontsize=8)
    if ncol == 2:
        ax = axes[0, 1]
        for k, org in enumerate(focus):
            for name, ls in (("innovation", "-"), ("effektivitet", ":")):
                g = scores[(scores["org_id"] == org) & (scores["name"] == name)]
                if not len(g):
                    continue
                ax.errorbar(g["round"] + (0.08 * k), g["score_pct"],
                            yerr=[g["score_pct"] - g["ci_low"], g["ci_high"] - g["score_pct"]],
                            fmt="o", ls=ls, color=_COLOURS[k], capsize=2,
                            label=f"{names[org]}: {_label(name + '_pct', lang)}")
        ax.set_ylabel("%")
        ax.set_xlabel(_label("round", lang))
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def governance_orgs(study, org_ids: Sequence[str] = (), *, requests: pd.DataFrame | None = None,
                    changes: pd.Series | None = None) -> list[str]:
    """The organisations a governance report compares.

    Given ids are checked against the request log; with none given, every organisation that
    has both a request log and a change of funding model (:func:`funding_change_dates`) in the
    study.
    """
    requests = load_requests(study) if requests is None else requests
    have = sorted(set(requests["org_id"]))
    if org_ids:
        ids = [str(o) for o in org_ids]
        missing = [o for o in ids if o not in have]
        if missing:
            raise MognadError(f"no request log for {missing} in this study; organisations with "
                              f"one: {have or 'none'}")
        return ids
    if changes is None:
        changes = funding_change_dates(study.events, requests=requests)
    ids = [o for o in have if o in set(changes.index)]
    if not ids:
        raise MognadError("no organisation has both a request log and a change of funding model; "
                          "ingest requests.csv and a funding_change event, or give org_ids")
    return ids


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
        ev = _course_events(study)
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
