"""Raw readers: CSV/TSV/TXT, XLSX and SPSS ``.sav`` files into a table of strings.

No validation of content happens here (that is :mod:`mognad.io.ingest`); this module only makes
sure that what it hands over is a complete, faithful table, or refuses the file with one
:class:`~mognad.errors.ValidationError` naming the file, the row (or line, or cell) and the
problem. Nothing from a file is ever executed; a file is never changed.

Guarantees
----------
- **Bounded memory before a file is trusted.** A file larger than the size limit is refused
  from its size alone (default 512 MB; ``max_bytes=``, ``mognad ingest --max-file-size MB`` or
  the environment variable ``MOGNAD_MAX_FILE_MB``). A CSV is checked in one streaming pass of
  1 MiB chunks (SHA-256, NUL and other control bytes anywhere in the file, line length, text
  encoding) before it is parsed, and its header is parsed and handed to ``check_header`` (which
  ingest uses to decide the kind of file) after reading only the first chunk, so junk is refused
  with memory that does not grow with the file.
- **No silent loss.** XLSX formula cells without a saved value, cells holding an Excel error
  (``#N/A`` …), text with control characters, rows wider than the header, lines longer than
  :data:`MAX_LINE_BYTES` and more than :data:`MAX_COLUMNS` columns are refused; sheets after
  the first that hold data are reported in :attr:`RawTable.warnings`.
- **Rows as a person sees them.** :attr:`RawTable.rows` numbers the data rows as a spreadsheet
  does (header = row 1, blank lines count, a cell with a line break inside quotes is still one
  row; XLSX: the sheet's own row numbers; SPSS: the case number of Data View). Rows that are
  entirely empty are dropped (they hold nothing), keeping the numbering of the others.
- **No identities in messages.** Messages about a file never quote its cells; column names that
  look like an e-mail address or a personal identity number are not shown either.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import os
import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mognad.errors import MognadError, ValidationError

SUPPORTED_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".sav")
#: Default size limit of one input file, in MB (2**20 bytes).
DEFAULT_MAX_FILE_MB = 512
#: Environment variable that overrides :data:`DEFAULT_MAX_FILE_MB`.
MAX_FILE_ENV = "MOGNAD_MAX_FILE_MB"
#: Longest physical line of a text file (a header of 40 000 columns fits easily).
MAX_LINE_BYTES = 1 << 20
#: Longest record of a CSV, which may span lines through quoted line breaks (pyarrow block size).
MAX_RECORD_BYTES = 16 << 20
#: Most columns a table may have (the widest real input has a few dozen).
MAX_COLUMNS = 2000
CHUNK_BYTES = 1 << 20
#: Files from this size on are first checked on their first rows (see :func:`read_preview`).
PREVIEW_MIN_BYTES = 8 << 20
PREVIEW_BYTES = 2 << 20
_BOM = b"\xef\xbb\xbf"
# bytes that never belong in a text table: C0 controls other than tab, LF and CR, and DEL
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_TEXT = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
# bytes cp1252 does not define (a file with them and invalid UTF-8 is neither encoding)
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
#: Text that looks like an e-mail address / a Swedish personal identity number (personnummer).
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
PERSONNUMMER_PATTERN = re.compile(r"\b(?:19|20)?\d{6}[-+]\d{4}\b")


# ---------------------------------------------------------------------------------------------
# Small shared helpers
# ---------------------------------------------------------------------------------------------
def looks_like_identity(text) -> str | None:
    """What a text looks like if it could identify a person (``None`` otherwise).

    Used to keep e-mail addresses and Swedish personal identity numbers out of messages and
    exports.

    Examples
    --------
    >>> looks_like_identity("anna.berg@kommun.se"), looks_like_identity("19800101-1234")
    ('an e-mail address', 'a personnummer')
    >>> looks_like_identity("Kultur/Bibliotek") is None
    True
    """
    text = str(text)
    if "@" in text and EMAIL_PATTERN.search(text):
        return "an e-mail address"
    if PERSONNUMMER_PATTERN.search(text):
        return "a personnummer"
    return None


def display_name(path: str | Path) -> str:
    """A file name safe to print: control characters (terminal escapes) become ``?``.

    Examples
    --------
    >>> display_name(Path("/x/svar\\x1b[31m.csv"))
    'svar?[31m.csv'
    """
    return "".join(c if c.isprintable() else "?" for c in Path(path).name)


def show_columns(columns: Iterable, limit: int = 8) -> str:
    """Column names for a message; a name that looks like an identity is not shown.

    (A file without a header row has its first data row as "column names".)

    Examples
    --------
    >>> show_columns(["org_id", "anna@x.se", "q01"])
    'org_id, (a value that looks like an e-mail address), q01'
    """
    shown = []
    for c in list(columns)[:limit]:
        what = looks_like_identity(c)
        name = "".join(ch if ch.isprintable() else "?" for ch in str(c))
        shown.append(f"(a value that looks like {what})" if what else name)
    more = len(list(columns)) - limit
    return ", ".join(shown) + (f", … ({more} more)" if more > 0 else "")


def max_file_bytes(max_bytes: int | None = None) -> int:
    """The size limit in bytes: ``max_bytes``, else ``$MOGNAD_MAX_FILE_MB`` MB, else 512 MB.

    Examples
    --------
    >>> max_file_bytes(5_000_000)
    5000000
    """
    if max_bytes is not None:
        if int(max_bytes) <= 0:
            raise MognadError(f"the file size limit must be positive; got {max_bytes}")
        return int(max_bytes)
    env = os.environ.get(MAX_FILE_ENV, "").strip()
    if not env:
        return DEFAULT_MAX_FILE_MB << 20
    try:
        mb = float(env)
    except ValueError:
        mb = -1.0
    if mb <= 0:
        raise MognadError(f"{MAX_FILE_ENV}={env!r}: give the size limit in MB, a positive number")
    return int(mb * (1 << 20))


def _mb(n: int) -> str:
    return f"{n / (1 << 20):,.0f} MB" if n >= 1 << 20 else f"{n:,} bytes"


@dataclass
class RawTable:
    """A file read as strings, before any validation."""

    path: Path
    frame: pd.DataFrame  # every column str dtype, missing = NaN
    sha256: str
    encoding: str = ""
    delimiter: str = ""
    renamed: dict[str, str] = field(default_factory=dict)
    #: Row number of every row of ``frame`` as the user's program shows it (see module notes).
    rows: np.ndarray | None = None
    #: Things the user should know that do not reject the file (e.g. ignored sheets).
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.rows is None:
            self.rows = np.arange(2, len(self.frame) + 2)

    @property
    def name(self) -> str:
        return display_name(self.path)


def _drop_empty_rows(frame: pd.DataFrame, rows: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    if frame.shape[1] == 0 or len(frame) == 0:
        return frame, rows
    empty = frame.isna().all(axis=1).to_numpy()
    if empty.any():
        frame = frame.loc[~empty].reset_index(drop=True)
        rows = rows[~empty]
    return frame, rows


def _check_names(name: str, names: list[str], where: str = "row 1", *,
                 check_header=None) -> list[str]:
    """Refuse too many columns, run ``check_header`` (the caller's), refuse duplicate names."""
    if len(names) > MAX_COLUMNS:
        raise ValidationError(f"{name}, {where}: {len(names):,} columns; at most {MAX_COLUMNS:,} "
                              "are read (is this really a table?)")
    if check_header is not None:
        check_header(names)
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        if n in seen:
            what = f"column {n!r}" if n and not looks_like_identity(n) else "a column name"
            raise ValidationError(f"{name}, {where}: {what} appears twice (columns {seen[n] + 1} "
                                  f"and {i + 1}); every column needs its own name")
        seen[n] = i
    return names


def _control_problem(name: str, frame: pd.DataFrame, rows: np.ndarray, cell=None) -> None:
    """Refuse text cells holding control characters (terminal escapes, form feeds …)."""
    for col in frame.columns:
        s = frame[col]
        if not (pd.api.types.is_string_dtype(s) or pd.api.types.is_object_dtype(s)):
            continue
        hit = s.str.contains(_CONTROL_TEXT, regex=True, na=False).to_numpy(dtype=bool)
        if hit.any():
            i = int(hit.argmax())
            where = cell(i, col) if cell else f"row {rows[i]}, column {col}"
            raise ValidationError(f"{name}, {where}: the text holds a control character (such as "
                                  "an escape or form feed); remove it and save the file again")


# ---------------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------------
@dataclass
class _Scan:
    sha256: str
    has_quote: bool


def _line_of(data: bytes, pos: int, before: int) -> int:
    return before + data.count(b"\n", 0, pos) + 1


# every byte except the control bytes: ``chunk.translate(None, _NOT_CONTROL)`` leaves only those
_NOT_CONTROL = bytes(b for b in range(256) if not _CONTROL_BYTES.match(bytes([b])))


def _scan_text(path: Path, name: str) -> _Scan:
    """One streaming pass over a text file: hash, control bytes, line length.

    (UTF-8 validity is checked by the parser itself, which is faster.)
    """
    h = hashlib.sha256()
    lines_before = 0  # complete lines before this chunk
    current = 0  # bytes of the line running into this chunk
    has_quote = False
    offset = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            h.update(chunk)
            if chunk.translate(None, _NOT_CONTROL):
                bad = _CONTROL_BYTES.search(chunk)
                byte = chunk[bad.start()]
                line = _line_of(chunk, bad.start(), lines_before)
                if byte == 0 and offset + bad.start() < 65536:
                    raise ValidationError(f"{name}: not a text table (binary content); expected "
                                          "CSV, XLSX or SAV")
                what = "a NUL byte (binary content)" if byte == 0 else f"control byte 0x{byte:02X}"
                raise ValidationError(f"{name}, line {line}: {what}; a text table holds only "
                                      "text, tabs and line breaks (was the file damaged, or is "
                                      "it not a table?)")
            if not has_quote and b'"' in chunk:
                has_quote = True
            arr = np.frombuffer(chunk, dtype=np.uint8)
            breaks = np.flatnonzero((arr == 10) | (arr == 13))
            if len(breaks) == 0:
                longest, at = current + len(chunk), 0
                current += len(chunk)
            else:
                gaps = np.diff(breaks) - 1
                first = current + int(breaks[0])
                k = int(gaps.argmax()) if len(gaps) else -1
                if len(gaps) and gaps[k] > first:
                    longest, at = int(gaps[k]), int(breaks[k]) + 1
                else:
                    longest, at = first, 0
                current = len(chunk) - int(breaks[-1]) - 1
            if longest > MAX_LINE_BYTES:
                line = _line_of(chunk, at, lines_before)
                raise ValidationError(
                    f"{name}, line {line}: a line longer than {_mb(MAX_LINE_BYTES)}; a table row "
                    "is far shorter (is this really a CSV file, with line breaks?)")
            lines_before += chunk.count(b"\n")
            offset += len(chunk)
    return _Scan(h.hexdigest(), has_quote)


def _undecodable(path: Path, name: str) -> ValidationError:
    """The error for a file that is neither UTF-8 nor cp1252, naming the first bad line."""
    lines_before = 0
    line = None
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            m = _CP1252_UNDEFINED.search(chunk)
            if m:
                line = _line_of(chunk, m.start(), lines_before)
                break
            lines_before += chunk.count(b"\n")
    where = f", line {line}" if line else ""
    return ValidationError(f"{name}{where}: cannot decode the file; save it as UTF-8 or as "
                           "Windows-1252 (Swedish Excel's 'CSV')")


def _sniff_delimiter(header: str) -> str:
    """The most frequent of ``;``, ``,`` and tab in the header line (``,`` if none).

    Examples
    --------
    >>> _sniff_delimiter("org_id;name;org_type"), _sniff_delimiter("a\\tb"), _sniff_delimiter("x")
    (';', '\\t', ',')
    """
    counts = {d: header.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


@contextlib.contextmanager
def _csv_field_limit(limit: int):
    old = csv.field_size_limit()
    csv.field_size_limit(max(old, limit))
    try:
        yield
    finally:
        csv.field_size_limit(old)


def _text_stream(path: Path, encoding: str):
    return open(path, encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline="",
                errors="replace")


def _parse_header(path: Path, name: str, encoding: str, delimiter: str) -> list[str]:
    """The first record, parsed with quoting (a header may hold quoted line breaks)."""
    with _csv_field_limit(MAX_LINE_BYTES), _text_stream(path, encoding) as fh:
        try:
            row = next(csv.reader(fh, delimiter=delimiter), [])
        except csv.Error:
            raise ValidationError(f"{name}, row 1: the header cannot be read (an unclosed quote "
                                  f"or a name longer than {_mb(MAX_LINE_BYTES)})") from None
    return [str(c).strip() for c in row]


def _first_line(path: Path, name: str, size: int) -> tuple[bytes, bool]:
    with open(path, "rb") as fh:
        head = fh.read(min(CHUNK_BYTES, MAX_LINE_BYTES + 2))
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValidationError(f"{name}: the file is UTF-16 (Excel's 'Unicode text'); save it as "
                              "'CSV UTF-8' or as 'CSV (semikolonavgränsad)'")
    if b"\x00" in head[:65536]:
        raise ValidationError(f"{name}: not a text table (binary content); expected CSV, XLSX "
                              "or SAV")
    if head.startswith(_BOM):
        head = head[3:]
    cut = re.search(rb"[\r\n]", head)
    if cut is None and size > MAX_LINE_BYTES:
        raise ValidationError(f"{name}, line 1: a line longer than {_mb(MAX_LINE_BYTES)}; a "
                              "table row is far shorter (is this really a CSV file?)")
    line = head[: cut.start()] if cut else head
    try:
        head.decode("utf-8")
        utf8 = True
    except UnicodeDecodeError as exc:
        utf8 = exc.start >= len(head) - 3  # only a character cut at the end of the chunk
    return line, utf8


def _read_csv(path: Path, name: str, size: int, check_header, preview: bool = False
              ) -> RawTable:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    line, utf8_guess = _first_line(path, name, size)
    if not line.strip():
        raise ValidationError(f"{name}, row 1: the first row is empty; the header (the column "
                              "names) must be in row 1")
    encoding = "utf-8" if utf8_guess else "cp1252"
    delimiter = _sniff_delimiter(line.decode(encoding, errors="replace"))
    # check_header decides e.g. the kind of file: junk stops here, after one chunk
    names = _check_names(name, _parse_header(path, name, encoding, delimiter),
                         check_header=check_header)
    scan = _Scan("", True) if preview else _scan_text(path, name)
    while True:
        width = len(names)
        options = {
            "read_options": pacsv.ReadOptions(
                block_size=PREVIEW_BYTES if preview else MAX_RECORD_BYTES,
                autogenerate_column_names=True,
                encoding="utf8" if encoding == "utf-8" else encoding),
            "parse_options": pacsv.ParseOptions(
                delimiter=delimiter, newlines_in_values=scan.has_quote, ignore_empty_lines=False),
            "convert_options": pacsv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(width)},
                strings_can_be_null=True, null_values=[""], quoted_strings_can_be_null=True),
        }
        try:
            if preview:  # the first block only: a streaming reader stops after it
                with pacsv.open_csv(path, **options) as reader:
                    table = pa.Table.from_batches([reader.read_next_batch()])
            else:
                table = pacsv.read_csv(path, **options)
            break
        except pa.ArrowInvalid as exc:
            if encoding == "utf-8" and "UTF8" in str(exc):
                encoding = "cp1252"  # valid UTF-8 at the start only: Windows-1252 after all
                names = _check_names(name, _parse_header(path, name, encoding, delimiter),
                                     check_header=check_header)
                continue
            raise ValidationError(_explain_csv_error(path, name, encoding, delimiter, width,
                                                     exc)) from None
        except UnicodeDecodeError:
            raise _undecodable(path, name) from None
    if table.num_columns != width:  # pyarrow saw another header than Python's csv module
        raise ValidationError(f"{name}, row 1: the header cannot be read consistently (check "
                              "its quotes)")
    frame = table.slice(1).to_pandas()
    frame.columns = names
    rows = np.arange(2, len(frame) + 2)
    frame, rows = _drop_empty_rows(frame, rows)
    frame = _drop_unnamed_empty(name, frame, rows, lambda i: f"column {i + 1}")
    return RawTable(path, frame, scan.sha256, encoding, delimiter, rows=rows)


def read_preview(path: str | Path, *, max_bytes: int | None = None) -> RawTable | None:
    """The first rows of a large CSV (about 2 MiB of it), read as :func:`read_raw` reads all.

    Ingest validates them before reading the whole file, so a large file of junk is refused
    early, with little memory. ``None`` for a file smaller than :data:`PREVIEW_MIN_BYTES` or not a
    CSV (XLSX and SAV are bounded by their formats and the size limit).

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_text("org_id,name\\n" + "0114,Väsby\\n" * 800_000)
    >>> len(read_preview(p).frame) < 800_000, read_preview(p).rows[:2].tolist()
    (True, [2, 3])
    """
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".sav"):
        return None
    raw = read_raw(path, max_bytes=max_bytes, _preview=True)
    return raw


def _drop_unnamed_empty(name: str, frame: pd.DataFrame, rows, label) -> pd.DataFrame:
    """Columns without a header: dropped when empty, refused when they hold data."""
    keep = []
    for i, col in enumerate(frame.columns):
        if col != "":
            keep.append(i)
            continue
        filled = frame.iloc[:, i].notna().to_numpy()
        if filled.any():
            raise ValidationError(f"{name}, row {rows[int(filled.argmax())]}, {label(i)}: a value "
                                  "in a column without a name in the header row; name the "
                                  "column or delete it")
    return frame.iloc[:, keep]


def _explain_csv_error(path: Path, name: str, encoding: str, delimiter: str, width: int,
                       exc: Exception) -> str:
    """A message for a CSV pyarrow refused, naming the row; never quoting the row's content
    (pyarrow's own message quotes it, and it may hold an e-mail address)."""
    text = str(exc)
    if "straddling" in text:
        return (f"{name}: a row longer than {_mb(MAX_RECORD_BYTES)} (usually a quote \" that is "
                "never closed, so the rest of the file reads as one cell); check the quotes")
    with _csv_field_limit(MAX_RECORD_BYTES), _text_stream(path, encoding) as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        try:
            for row_no, row in enumerate(reader, start=1):
                if row_no > 1 and row and len(row) != width:
                    return (f"{name}, row {row_no}: {len(row)} fields where the header has {width} "
                            f"(separator {delimiter!r}); check quoting and separators in that row")
        except csv.Error:
            return (f"{name}, row {reader.line_num}: the row cannot be read (an unclosed quote \" "
                    "or a cell that is far too long)")
    return f"{name}: not a readable table (pyarrow: {text.split(':')[0]}); check quotes and separators"


# ---------------------------------------------------------------------------------------------
# XLSX
# ---------------------------------------------------------------------------------------------
def _cell_text(value) -> str | None:
    """A cell value as the text a CSV export of the sheet would hold."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value)


_FORMULA = object()  # a formula cell whose saved value is read in a second pass


def _column_letter(col: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(col + 1)


def _cell_name(row: int, col: int) -> str:
    return f"{_column_letter(col)}{row}"


def _sheet_rows(ws) -> Iterable[tuple]:
    """Every row of a read-only sheet as cells, ignoring its (untrusted) dimension record."""
    with contextlib.suppress(AttributeError):
        ws.reset_dimensions()
    yield from ws.iter_rows()


def _read_xlsx(path: Path, name: str, size: int, limit: int, check_header) -> RawTable:
    import openpyxl

    try:
        with zipfile.ZipFile(path) as zf:
            unpacked = sum(i.file_size for i in zf.infolist())
    except (zipfile.BadZipFile, OSError):
        raise ValidationError(f"{name}: not a readable XLSX workbook (not a zip archive)") from None
    if unpacked > limit:
        raise ValidationError(f"{name}: the workbook unpacks to {_mb(unpacked)}, over the limit of "
                              f"{_mb(limit)} (raise it with --max-file-size if the file is real)")
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise ValidationError(f"{name}: not a readable XLSX workbook "
                              f"({type(exc).__name__})") from None
    try:
        sheets = wb.worksheets
        if not sheets:
            raise ValidationError(f"{name}: the workbook has no worksheet")
        ws = sheets[0]
        sheet = ws.title
        header: list[str] | None = None
        data: list[list] = []
        rows: list[int] = []
        formulas: dict[tuple[int, int], int] = {}  # (row, col) -> index into data
        for r, cells in enumerate(_sheet_rows(ws), start=1):
            values = []
            for c, cell in enumerate(cells):
                v = cell.value
                kind = getattr(cell, "data_type", "n")
                if kind == "e":
                    raise ValidationError(f"{name}, sheet {sheet!r}, cell {_cell_name(r, c)}: an "
                                          "Excel error value (such as #N/A or #DIV/0!) where data "
                                          "should be; fix the cell or leave it empty")
                if kind == "f":
                    if header is None:
                        raise ValidationError(f"{name}, sheet {sheet!r}, cell {_cell_name(r, c)}: "
                                              "a formula in the header row; type the column "
                                              "names")
                    formulas[(r, c)] = len(data)
                    v = _FORMULA
                values.append(v)
            while values and values[-1] is None:
                values.pop()
            if header is None:
                if not values:
                    continue
                if len(values) > MAX_COLUMNS:
                    _check_names(name, [""] * len(values), f"sheet {sheet!r}, row {r}")
                header = [(_cell_text(v) or "").strip() for v in values]
                _check_names(name, header, f"sheet {sheet!r}, row {r}", check_header=check_header)
                continue
            if len(values) > len(header):
                c = len(values) - 1
                raise ValidationError(f"{name}, sheet {sheet!r}, cell {_cell_name(r, c)}: a value "
                                      "to the right of the last named column; name the column "
                                      "in the header row or delete the value")
            data.append(values)
            rows.append(r)
        if header is None:
            raise ValidationError(f"{name}: the file is empty (sheet {sheet!r} holds nothing)")
        others = [s.title for s in sheets[1:] if _has_values(s)]
    finally:
        wb.close()
    if formulas:
        _fill_formulas(path, name, sheet, data, formulas)
    width = len(header)
    table = [[_cell_text(v) for v in row] + [None] * (width - len(row)) for row in data]
    frame = pd.DataFrame(table, columns=header, dtype="str") if table else pd.DataFrame(
        columns=header, dtype="str")
    frame = frame.astype("str").where(frame.notna())
    row_numbers = np.asarray(rows, dtype=np.int64)
    frame, row_numbers = _drop_empty_rows(frame, row_numbers)
    frame = _drop_unnamed_empty(name, frame, row_numbers,
                                lambda i: f"column {_column_letter(i)}")
    _control_problem(name, frame, row_numbers,
                     lambda i, col: f"sheet {sheet!r}, row {row_numbers[i]}, column {col}")
    warnings = []
    if others:
        listed = ", ".join(repr(s) for s in others)
        warnings.append(f"{name}: only the first sheet {sheet!r} was read; sheet(s) {listed} "
                        "also hold data and were NOT ingested (put each table in a file of its "
                        "own)")
    return RawTable(path, frame, _sha256_file(path), "xlsx", rows=row_numbers, warnings=warnings)


def _has_values(ws) -> bool:
    for cells in _sheet_rows(ws):
        if any(getattr(c, "value", None) is not None for c in cells):
            return True
    return False


def _fill_formulas(path: Path, name: str, sheet: str, data: list[list],
                   formulas: dict[tuple[int, int], int]) -> None:
    """Put the saved (cached) value of every formula cell in place, or refuse the file."""
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        ws = wb.worksheets[0]
        missing = []
        for r, cells in enumerate(_sheet_rows(ws), start=1):
            for c, cell in enumerate(cells):
                i = formulas.get((r, c))
                if i is None:
                    continue
                if cell.value is None:
                    missing.append(_cell_name(r, c))
                else:
                    data[i][c] = cell.value
    finally:
        wb.close()
    if missing:
        shown = ", ".join(missing[:10]) + (f" … ({len(missing) - 10} more)" if len(missing) > 10
                                           else "")
        raise ValidationError(
            f"{name}, sheet {sheet!r}, cell(s) {shown}: a formula without a saved value (the file "
            "was written by a program that does not calculate); open it in Excel or LibreOffice "
            "and save it again, or paste the values")


# ---------------------------------------------------------------------------------------------
# SPSS
# ---------------------------------------------------------------------------------------------
def _read_sav(path: Path, name: str, size: int, limit: int, check_header) -> RawTable:
    import pyreadstat

    try:
        _, meta = pyreadstat.read_sav(str(path), metadataonly=True)
    except Exception as exc:
        raise ValidationError(f"{name}: not a readable SPSS file ({type(exc).__name__})") from None
    cells = int(meta.number_rows or 0) * int(meta.number_columns or 0)
    if cells * 8 > limit:
        raise ValidationError(f"{name}: {meta.number_rows:,} cases x {meta.number_columns:,} "
                              f"variables unpack to more than the limit of {_mb(limit)}")
    _check_names(name, [str(c) for c in meta.column_names], "the variable list",
                 check_header=check_header)
    try:
        frame, _meta = pyreadstat.read_sav(str(path), apply_value_formats=False)
    except Exception as exc:
        raise ValidationError(f"{name}: not a readable SPSS file ({type(exc).__name__})") from None
    out = pd.DataFrame(index=frame.index)
    for col in frame.columns:
        s = frame[col]
        if pd.api.types.is_float_dtype(s):
            whole = s.dropna()
            if (whole == np.floor(whole)).all():
                s = s.astype("Int64")
        elif pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s):
            s = s.where(s.astype("str").str.strip() != "")  # SPSS pads strings with blanks
        out[str(col)] = s.astype("str").where(s.notna())
    rows = np.arange(1, len(out) + 1)  # SPSS Data View numbers cases from 1 (no header row)
    out, rows = _drop_empty_rows(out, rows)
    _control_problem(name, out, rows, lambda i, col: f"case {rows[i]}, variable {col}")
    return RawTable(path, out, _sha256_file(path), "sav", rows=rows)


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------
def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            h.update(chunk)
    return h.hexdigest()


def read_raw(path: str | Path, *, max_bytes: int | None = None,
             check_header: Callable[[list[str]], None] | None = None,
             _preview: bool = False) -> RawTable | None:
    """Read a CSV, XLSX or SAV file as a table of strings (no validation of content yet).

    Parameters
    ----------
    path : str or Path
        The file (``.csv``, ``.txt``, ``.tsv``, ``.xlsx`` or ``.sav``).
    max_bytes : int, optional
        Size limit (for XLSX: of the unpacked workbook); default from ``$MOGNAD_MAX_FILE_MB``
        or 512 MB.
    check_header : callable, optional
        Called with the column names as soon as the header is read, before the body; raise
        :class:`~mognad.errors.ValidationError` to refuse the file early.

    Returns
    -------
    RawTable

    Raises
    ------
    ValidationError
        Naming the file and the row, line or cell; never quoting cell contents.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_bytes("org_id;name\\n\\n0114;Upplands Väsby kommun\\n".encode("cp1252"))
    >>> raw = read_raw(p)
    >>> raw.encoding, raw.delimiter, raw.frame.iloc[0].tolist(), raw.rows.tolist()
    ('cp1252', ';', ['0114', 'Upplands Väsby kommun'], [3])
    """
    path = Path(path)
    name = display_name(path)
    limit = max_file_bytes(max_bytes)
    try:
        if not path.is_file():
            raise ValidationError(f"{path}: no such file")
        suffix = path.suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            raise ValidationError(f"{name}: unsupported file type {suffix!r}; use one of "
                                  f"{', '.join(SUPPORTED_SUFFIXES)}")
        size = path.stat().st_size
        if _preview and size < PREVIEW_MIN_BYTES:
            return None
        if size > limit:
            raise ValidationError(
                f"{name}: {_mb(size)}, over the size limit of {_mb(limit)}; if the file is real, "
                f"raise the limit with --max-file-size MB (or {MAX_FILE_ENV})")
        with open(path, "rb") as fh:
            head = fh.read(4096)
        body = head[3:] if head.startswith(_BOM) else head
        if size <= len(head) and not body.strip():
            raise ValidationError(f"{name}: the file is empty")
        if suffix == ".xlsx":
            raw = _read_xlsx(path, name, size, limit, check_header)
        elif suffix == ".sav":
            raw = _read_sav(path, name, size, limit, check_header)
        else:
            raw = _read_csv(path, name, size, check_header, preview=_preview)
    except PermissionError:
        raise ValidationError(f"{name}: cannot read the file (permission denied); check its "
                              "permissions") from None
    except (IsADirectoryError, FileNotFoundError):
        raise ValidationError(f"{name}: no such file (it vanished or is a folder)") from None
    except OSError as exc:
        raise ValidationError(f"{name}: cannot read the file ({exc.strerror or exc})") from None
    except MemoryError:
        raise ValidationError(f"{name}: not enough memory to read the file; lower "
                              "--max-file-size or split the file") from None
    if raw.frame.shape[1] == 0 or raw.frame.shape[0] == 0:
        raise ValidationError(f"{name}: the file has a header but no data rows")
    return raw


__all__ = [
    "DEFAULT_MAX_FILE_MB",
    "EMAIL_PATTERN",
    "MAX_COLUMNS",
    "MAX_FILE_ENV",
    "MAX_LINE_BYTES",
    "PERSONNUMMER_PATTERN",
    "SUPPORTED_SUFFIXES",
    "RawTable",
    "display_name",
    "looks_like_identity",
    "max_file_bytes",
    "read_preview",
    "read_raw",
    "show_columns",
]
