"""Write tables for use outside mognad: CSV, Excel, Parquet or SPSS (``.sav``).

:func:`export_table` writes any tidy DataFrame (scores, benchmark tables, respondent-level answers)
atomically: the file appears complete or not at all. SPSS files get variable labels from the
codebook (item texts, names of categories and dimensions) and value labels for the answer scale.
Respondent-level exports stay pseudonymous: a frame that carries something that looks like a raw
identity (an e-mail column, a person's name, a personal identity number, an ``@`` in
``respondent_id``) is refused.

Formula injection
-----------------
Text from data (unit, role and organisation names …) that a spreadsheet would take for a formula
never becomes one:

- **XLSX**: every text cell is written as a text cell (``t="s"``/inline string), also when it
  starts with ``=``; the value is kept exactly, and Excel or LibreOffice show it as text.
- **CSV**: a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (or
  their full-width forms ``＝ ＋ － ＠``) is prefixed with an apostrophe ``'``, as OWASP recommends
  ("CSV Injection"), so ``=HYPERLINK(...)`` is written ``'=HYPERLINK(...)``. A text that is a
  plain number (``-5``, ``+1.5``) is left alone, and numeric columns are never touched: negative
  numbers stay numbers. Column names get the same treatment.

Parquet and SPSS files are not evaluated by their readers and are written unchanged.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from mognad.codebook import LANGS, Codebook, load_codebook
from mognad.errors import MognadError
from mognad.io.readers import EMAIL_PATTERN, PERSONNUMMER_PATTERN
from mognad.io.wide import responses_wide

EXPORT_FORMATS = ("csv", "xlsx", "parquet", "sav")
_SUFFIXES = {".csv": "csv", ".xlsx": "xlsx", ".parquet": "parquet", ".pq": "parquet", ".sav": "sav"}

__all__ = [
    "EXPORT_FORMATS",
    "check_pseudonymous",
    "neutralise_formulas",
    "export_responses_wide",
    "export_table",
]

# Column names (normalised: lower case, "-"/space -> "_") that always denote a person's identity.
_IDENTITY_COLUMNS = {
    "email", "e_mail", "mail", "epost", "e_post", "e_postadress", "epostadress", "mejl",
    "email_address", "mail_address", "respondent_email", "personnummer", "person_nummer", "pnr",
    "samordningsnummer", "ssn", "personal_number", "personal_identity_number", "first_name",
    "firstname", "last_name", "lastname", "surname", "full_name", "fullname", "fornamn",
    "förnamn", "efternamn", "respondent_name", "person_name", "personnamn", "phone", "telephone",
    "telefon", "telefonnummer", "mobile", "mobil", "mobilnummer", "ip", "ip_address",
}  # fmt: skip
# Names that are a person's name only in respondent-level data (elsewhere e.g. an organisation's).
_NAME_COLUMNS = {"name", "namn"}
_IDENTITY_FRAGMENTS = ("email", "e_post", "epost", "personnummer")
# Columns that hold identifiers: written as text so that leading zeros survive.
_ID_COLUMNS = {"org_id", "respondent_id", "parent_org_id", "county_code", "municipality_code"}

_KNOWN_LABELS = {
    "org_id": {"sv": "Organisations-id", "en": "Organisation id"},
    "name": {"sv": "Organisation", "en": "Organisation"},
    "org_type": {"sv": "Typ av organisation", "en": "Type of organisation"},
    "county_code": {"sv": "Länskod", "en": "County code"},
    "kommungrupp": {"sv": "Kommungrupp (SKR)", "en": "Municipality group (SKR)"},
    "round": {"sv": "Mätomgång (år)", "en": "Measurement round (year)"},
    "respondent_id": {"sv": "Respondent (pseudonym)", "en": "Respondent (pseudonym)"},
    "unit": {"sv": "Enhet", "en": "Unit"},
    "role": {"sv": "Roll", "en": "Role"},
    "category": {"sv": "Kategori", "en": "Category"},
    "dimension": {"sv": "Dimension", "en": "Dimension"},
    "n": {"sv": "Antal svarande", "en": "Number of respondents"},
    "type": {"sv": "Typ (A-D)", "en": "Type (A-D)"},
}


# ---------------------------------------------------------------------------------------- privacy
def _normalise(name) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip().casefold())


def _text_columns(frame: pd.DataFrame) -> list:
    return [
        c
        for c in frame.columns
        if pd.api.types.is_string_dtype(frame[c]) or pd.api.types.is_object_dtype(frame[c])
    ]


def check_pseudonymous(frame: pd.DataFrame) -> None:
    """Refuse a frame that carries something that looks like a person's identity.

    Refused: columns named like an e-mail address, a personal identity number, a person's name or
    a phone number (``email``, ``e-post``, ``personnummer``, ``first_name``, ``namn`` ...; plain
    ``name``/``namn`` only when the frame is respondent-level, i.e. has ``respondent_id``, since
    elsewhere it is an organisation's name); any ``@`` in ``respondent_id``; and text cells that
    look like an e-mail address or a Swedish personal identity number.

    Raises
    ------
    MognadError
        Naming the column (and row) and what to do instead.

    Examples
    --------
    >>> import pandas as pd
    >>> check_pseudonymous(pd.DataFrame({"respondent_id": ["a1f3"], "q01": [4]}))
    >>> check_pseudonymous(pd.DataFrame({"respondent_id": ["anna@kommun.se"], "q01": [4]}))
    Traceback (most recent call last):
    ...
    mognad.errors.MognadError: refusing to export: column 'respondent_id' row 0 contains '@' ...
    """
    hint = (
        "Exports must stay pseudonymous: drop the column, or export from the study store, whose "
        "respondent ids are pseudonyms."
    )
    respondent_level = "respondent_id" in frame.columns
    for col in frame.columns:
        norm = _normalise(col)
        if (
            norm in _IDENTITY_COLUMNS
            or any(frag in norm for frag in _IDENTITY_FRAGMENTS)
            or (respondent_level and norm in _NAME_COLUMNS)
        ):
            raise MognadError(
                f"refusing to export: column {col!r} looks like a person's identity. {hint}"
            )
    if respondent_level:
        ids = frame["respondent_id"].astype("string")
        at = ids.str.contains("@", regex=False).fillna(False).to_numpy(dtype=bool)
        if at.any():
            row = frame.index[at.argmax()]
            raise MognadError(
                f"refusing to export: column 'respondent_id' row {row} contains '@' (an e-mail "
                f"address, not a pseudonym). {hint}"
            )
    for col in _text_columns(frame):
        text = frame[col].astype("string")
        for pattern, what in ((EMAIL_PATTERN, "an e-mail address"),
                              (PERSONNUMMER_PATTERN, "a personnummer")):
            hit = text.str.contains(pattern).fillna(False).to_numpy(dtype=bool)
            if hit.any():
                row = frame.index[hit.argmax()]
                raise MognadError(
                    f"refusing to export: column {col!r} row {row} looks like {what}. {hint}"
                )


# ---------------------------------------------------------------------------------------- helpers
def _format(path: Path, fmt: str | None) -> str:
    if fmt is None:
        fmt = _SUFFIXES.get(path.suffix.casefold())
        if fmt is None:
            raise MognadError(
                f"cannot tell the format of {path} from its suffix {path.suffix!r}; use one of "
                f"{sorted(_SUFFIXES)} or pass format= one of {EXPORT_FORMATS}"
            )
        return fmt
    fmt = fmt.casefold().lstrip(".")
    if fmt not in EXPORT_FORMATS:
        raise MognadError(f"unknown export format {fmt!r}; use one of {EXPORT_FORMATS}")
    return fmt


def _ids_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Identifier columns as strings (``1384.0`` would lose the code's meaning)."""
    out = frame.copy()
    for col in out.columns:
        if col not in _ID_COLUMNS and not str(col).endswith("_id"):
            continue
        values = out[col]
        if pd.api.types.is_float_dtype(values) and (values.dropna() % 1 == 0).all():
            values = values.astype("Int64")
        if not pd.api.types.is_string_dtype(values):
            values = values.astype("string")
        out[col] = values.astype("str")
    return out


def _atomic_write(path: Path, write: Callable[[str], None], fmt: str) -> None:
    """Write through a temporary file in the target folder, then rename it into place."""
    if path.is_dir():
        raise MognadError(f"cannot write {path}: it is a folder; give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Hidden, in the same folder (so os.replace is atomic), ending in the real suffix
        # (writers such as pandas' Excel writer check it).
        fd, tmp = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{path.suffix}"
        )
    except OSError as exc:
        raise MognadError(f"cannot write {path}: {exc.strerror or exc}") from None
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except Exception as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, MognadError):
            raise
        raise MognadError(f"could not write {path} as {fmt}: {exc}") from exc
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _variable_labels(frame: pd.DataFrame, cb: Codebook, lang: str) -> dict[str, str]:
    items = cb.items.set_index("item_id")[f"text_{lang}"]
    cats = cb.categories.set_index("category")[f"name_{lang}"]
    dims = cb.dimensions.set_index("dimension")[f"name_{lang}"]
    named = {**cats.to_dict(), **dims.to_dict()}
    total = {"sv": "Totalt", "en": "Overall"}[lang]
    labels: dict[str, str] = {}
    for col in frame.columns:
        key = str(col)
        label = None
        if key in items.index:
            label = items[key]
        elif key in named:
            label = named[key]
        elif key in ("total", "overall"):
            label = total
        elif key in _KNOWN_LABELS:
            label = _KNOWN_LABELS[key][lang]
        else:  # e.g. "effektivitet_pct" -> "Effektivitet (pct)"
            head, _, tail = key.partition("_")
            base = named.get(head) or (total if head in ("total", "overall") else None)
            if base is None:
                for name in sorted(named, key=len, reverse=True):
                    if key.startswith(name + "_"):
                        base, tail = named[name], key[len(name) + 1 :]
                        break
            if base is not None and tail:
                label = f"{base} ({tail})"
        if label is not None:
            labels[key] = _truncate_bytes(label, 255)
    return labels


def _truncate_bytes(text: str, limit: int) -> str:
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    return raw[: limit - 3].decode("utf-8", errors="ignore") + "..."


def _provenance_text(provenance: dict | None) -> str:
    return json.dumps(provenance or {}, ensure_ascii=False, sort_keys=True, default=str)


#: SPSS document (note) lines hold at most 80 bytes; readers drop trailing blanks of a line.
SPSS_NOTE_BYTES = 80


def _note_lines(text: str, limit: int = SPSS_NOTE_BYTES) -> list[str]:
    """Split a text into SPSS document lines of at most ``limit`` UTF-8 bytes.

    No character is cut, and no line ends with a blank (SPSS pads lines with blanks and readers
    strip them), so ``"".join(lines) == text``.

    Examples
    --------
    >>> lines = _note_lines('{"study": "Åre kommun", "x": "' + "ö" * 50 + '"}', limit=20)
    >>> max(len(x.encode()) for x in lines) <= 20, "".join(lines).startswith('{"study": "Åre')
    (True, True)
    >>> any(x.endswith(" ") for x in lines)
    False
    """
    lines: list[str] = []
    rest = text
    while rest:
        cut, size = 0, 0
        for ch in rest:
            n = len(ch.encode("utf-8"))
            if size + n > limit:
                break
            size += n
            cut += 1
        back = cut
        while back < len(rest) and back > 1 and rest[back - 1] == " ":
            back -= 1  # do not end a line with a blank
        if back < len(rest) and rest[back - 1] != " ":
            cut = back
        lines.append(rest[:cut])
        rest = rest[cut:]
    return lines


# ------------------------------------------------------------------------------ formula injection
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_PLAIN_NUMBER = r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?"


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells a spreadsheet would run as a formula, prefixed with ``'`` (for CSV).

    Only text columns (and the column names) are touched; a text that is a plain number keeps
    its form.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"unit": ["=HYPERLINK(\\"http://x\\")", "@SUM(A1)", "-5", "Skola"],
    ...                   "delta": [-1.5, 2.0, -3.0, 0.0]})
    >>> out = neutralise_formulas(t)
    >>> out["unit"].tolist(), out["delta"].tolist()
    (['\\'=HYPERLINK("http://x")', "'@SUM(A1)", '-5', 'Skola'], [-1.5, 2.0, -3.0, 0.0])
    """
    out = frame.copy()
    for col in _text_columns(out):
        text = out[col].astype("string")
        risky = text.str.startswith(_FORMULA_START).fillna(False)
        risky &= ~text.str.fullmatch(_PLAIN_NUMBER).fillna(False)
        if risky.any():
            values = out[col].astype(object)
            values[risky.to_numpy(dtype=bool)] = "'" + text[risky]
            out[col] = values
    out.columns = [
        "'" + c if isinstance(c, str) and c.startswith(_FORMULA_START)
        and not re.fullmatch(_PLAIN_NUMBER, c) else c
        for c in out.columns
    ]
    return out


def _cells_as_text(ws, frame: pd.DataFrame, header_rows: int = 1) -> None:
    """Make every text cell of a sheet written from ``frame`` a text cell, never a formula.

    openpyxl turns any string starting with ``=`` into a formula; this undoes that for data.
    """
    for j, col in enumerate(frame.columns, start=1):
        head = ws.cell(row=1, column=j)
        if isinstance(head.value, str) and head.data_type == "f":
            head.data_type = "s"
        if col not in _text_columns(frame):
            continue
        text = frame[col].astype("string")
        hits = text.str.startswith("=").fillna(False).to_numpy(dtype=bool)
        for i in hits.nonzero()[0]:
            cell = ws.cell(row=int(i) + 1 + header_rows, column=j)
            cell.data_type = "s"


# ---------------------------------------------------------------------------------------- writers
def _write_csv(frame: pd.DataFrame, tmp: str) -> None:
    # CRLF line ends (RFC 4180): the writer then quotes any cell holding a CR or LF, so a line
    # break inside a name cannot split a row
    neutralise_formulas(frame).to_csv(tmp, index=False, encoding="utf-8", lineterminator="\r\n")


def _write_xlsx(frame: pd.DataFrame, tmp: str, provenance: dict | None) -> None:
    with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
        frame.to_excel(writer, sheet_name="data", index=False)
        _cells_as_text(writer.sheets["data"], frame)
        if provenance:
            prov = pd.DataFrame(
                {"key": list(provenance), "value": [str(v) for v in provenance.values()]}
            )
            prov.to_excel(writer, sheet_name="provenance", index=False)
            _cells_as_text(writer.sheets["provenance"], prov)


def _write_parquet(frame: pd.DataFrame, tmp: str, provenance: dict | None) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    if provenance:
        meta = dict(table.schema.metadata or {})
        meta[b"mognad.provenance"] = _provenance_text(provenance).encode("utf-8")
        table = table.replace_schema_metadata(meta)
    pq.write_table(table, tmp)


def _write_sav(
    frame: pd.DataFrame, tmp: str, cb: Codebook, lang: str, provenance: dict | None
) -> None:
    import pyreadstat

    data = frame.copy()
    data.columns = [str(c) for c in data.columns]
    measure: dict[str, str] = {}
    formats: dict[str, str] = {}
    for col in data.columns:
        values = data[col]
        if pd.api.types.is_bool_dtype(values) or pd.api.types.is_integer_dtype(values):
            # whole numbers: show them without decimals in SPSS
            biggest = values.dropna().astype("int64").abs().max() if values.notna().any() else 0
            formats[col] = f"F{len(str(int(biggest))) + 1}.0"
            data[col] = values.astype("float64")
        elif pd.api.types.is_numeric_dtype(values):
            data[col] = values.astype("float64")  # SPSS numbers are doubles; <NA> -> system missing
        elif isinstance(values.dtype, pd.CategoricalDtype):
            data[col] = values.astype("str")
        measure[col] = "scale" if pd.api.types.is_numeric_dtype(data[col]) else "nominal"
    items = [c for c in data.columns if c in set(cb.item_ids)]
    scale = {
        float(code): _truncate_bytes(texts[lang], 120) for code, texts in cb.scale_labels.items()
    }
    value_labels = {c: scale for c in items if pd.api.types.is_numeric_dtype(data[c]) and scale}
    for c in items:
        measure[c] = "ordinal"
    note = _note_lines(_provenance_text(provenance)) if provenance else None
    pyreadstat.write_sav(
        data,
        tmp,
        file_label=_truncate_bytes(f"mognad {cb.id}", 64),
        column_labels=_variable_labels(data, cb, lang),
        variable_value_labels=value_labels,
        variable_measure=measure,
        variable_format=formats,
        note=note,
    )


# ---------------------------------------------------------------------------------------- API
def export_table(
    frame: pd.DataFrame,
    path,
    *,
    format: str | None = None,
    codebook=None,
    labels_lang: str = "sv",
    provenance: dict | None = None,
) -> Path:
    """Write a table to CSV, Excel, Parquet or SPSS, atomically and pseudonymously.

    Parameters
    ----------
    frame : DataFrame
        Any tidy table: scores, benchmarks, or respondent-level answers (see
        :func:`export_responses_wide`). The index is not written.
    path : str or Path
        The file to write; missing folders are created. An existing file is replaced only once
        the new one is complete.
    format : {"csv", "xlsx", "parquet", "sav"}, optional
        Taken from the suffix when omitted (``.csv``, ``.xlsx``, ``.parquet``/``.pq``, ``.sav``).
    codebook : str, Path, Codebook or None
        For SPSS labels: item texts as variable labels of ``q01``..., names of categories and
        dimensions for columns named by their ids, the answer scale as value labels of the items.
    labels_lang : {"sv", "en"}
        Language of the SPSS labels.
    provenance : dict, optional
        Where the numbers come from (data fingerprint, codebook version, parameters, package
        version, synthetic or not). Stored inside the file (Excel: sheet ``provenance``; Parquet:
        schema metadata ``mognad.provenance``; SPSS: the document record, JSON split into lines of
        at most 80 bytes, to be joined without separator, e.g. ``"".join(meta.notes)`` in
        pyreadstat or ``paste(attr(d, "notes"), collapse = "")`` in R haven) or, for CSV, in a
        sidecar ``<file>.provenance.json``.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    MognadError
        Unknown format, a frame that looks like it carries raw identities (see
        :func:`check_pseudonymous`), or a writer failure (then nothing is left behind).

    Notes
    -----
    Identifier columns (``org_id``, ``respondent_id``, ``county_code``, anything ending ``_id``)
    are written as text so that leading zeros survive; read them back as strings (e.g.
    ``pd.read_csv(path, dtype={"org_id": str})``). CSV is UTF-8 with a header row. In SPSS all
    numbers are doubles and ``<NA>`` becomes system-missing; missing text becomes an empty string.
    CSV lines end in CRLF (RFC 4180). Text that a spreadsheet would take for a formula is
    neutralised in CSV and written as text in XLSX (see the module notes).

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> scores = pd.DataFrame({"org_id": ["0114", "1384"], "effektivitet": [52.5, 61.0]})
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     out = export_table(scores, f"{folder}/scores.csv")
    ...     pd.read_csv(out, dtype={"org_id": str})["org_id"].tolist()
    ['0114', '1384']
    """
    if not isinstance(frame, pd.DataFrame):
        raise MognadError(f"export_table: frame must be a DataFrame; got {type(frame).__name__}")
    if labels_lang not in LANGS:
        raise MognadError(f"labels_lang must be one of {LANGS}; got {labels_lang!r}")
    if provenance is not None and not isinstance(provenance, dict):
        raise MognadError("provenance must be a dict of key -> value")
    path = Path(path)
    fmt = _format(path, format)
    if frame.columns.duplicated().any():
        dup = frame.columns[frame.columns.duplicated()].tolist()
        raise MognadError(f"export_table: duplicate column names {dup}")
    check_pseudonymous(frame)
    data = _ids_as_text(frame.reset_index(drop=True))

    if fmt == "csv":
        _atomic_write(path, lambda tmp: _write_csv(data, tmp), fmt)
        if provenance:
            sidecar = path.with_name(path.name + ".provenance.json")
            text = json.dumps(provenance, ensure_ascii=False, indent=2, sort_keys=True, default=str)
            _atomic_write(sidecar, lambda tmp: Path(tmp).write_text(text + "\n", "utf-8"), "json")
    elif fmt == "xlsx":
        _atomic_write(path, lambda tmp: _write_xlsx(data, tmp, provenance), fmt)
    elif fmt == "parquet":
        _atomic_write(path, lambda tmp: _write_parquet(data, tmp, provenance), fmt)
    else:
        cb = load_codebook(codebook)
        _atomic_write(path, lambda tmp: _write_sav(data, tmp, cb, labels_lang, provenance), fmt)
    return path


def export_responses_wide(responses_long: pd.DataFrame, *, codebook=None) -> pd.DataFrame:
    """One row per respondent (and round) with the items as columns, ready for export.

    Parameters
    ----------
    responses_long : DataFrame
        The store's long format (``study.responses``): ``org_id``, ``round``,
        ``respondent_id``, ``unit``, ``role``, ``item_id``, ``value`` (``<NA>`` = don't know).
    codebook : str, Path, Codebook or None
        The item columns and their order: every codebook item, unanswered ones as ``<NA>``.

    Returns
    -------
    DataFrame
        ``org_id``, ``round``, ``respondent_id`` (and ``unit``, ``role`` when given), then
        ``q01``..``q30`` as ``Int64``. Respondent ids stay the store's pseudonyms.

    Examples
    --------
    >>> import pandas as pd
    >>> long = pd.DataFrame({"org_id": ["0114"] * 2, "round": [2024] * 2,
    ...                      "respondent_id": ["r1", "r1"], "unit": ["Kultur"] * 2,
    ...                      "role": [pd.NA] * 2, "item_id": ["q01", "q30"],
    ...                      "value": pd.array([4, 6], dtype="Int64")})
    >>> wide = export_responses_wide(long)
    >>> wide.columns[:6].tolist(), wide.shape
    (['org_id', 'round', 'respondent_id', 'unit', 'role', 'q01'], (1, 35))
    """
    wide = responses_wide(responses_long, codebook=codebook)
    check_pseudonymous(wide)
    return wide
