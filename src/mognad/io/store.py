"""The study store: one folder per study, holding one DuckDB file and the study's codebook.

Layout of a study folder::

    STUDY/
      study.duckdb     all ingested data (one file)
      codebook.yaml    the study's codebook (a copy, so the study is self-contained)

The **pseudonymisation key** (the secret that turns respondent ids into pseudonyms) is *not* in
the study folder: a study folder can be shared, archived or published to colleagues without it,
because reading, analysis and reports never need the key; only ingesting respondent files does.
The key is a file of its own, by default ``~/.config/mognad/keys/<study-id>.key`` (mode 600);
``--key PATH`` / ``key=`` or the environment variable ``MOGNAD_KEY_FILE`` name another file, and
``MOGNAD_KEY_DIR`` moves the default folder. The store records only the key's *id* (a truncated
SHA-256 of the key, from which the key cannot be recovered), so a wrong key is refused instead of
silently producing pseudonyms that match nobody. Studies made by older versions kept the key as
``STUDY/pseudonym.key``; ``mognad key move`` (:func:`move_key`) moves it out.

**Concurrency.** DuckDB lets one process write a store *or* any number of processes read it. A
:class:`Study` keeps one read-only connection for all its reads (not one per query), opened on
first use and closed by :meth:`Study.close` (or ``with open_study(...) as study:``, garbage
collection, or :data:`READER_IDLE_SECONDS` after its last read, so an idle study in a Jupyter
kernel does not keep writers out); writes (:meth:`Study.write`) take the store exclusively for
one transaction. A process that finds the store taken waits (``MOGNAD_BUSY_TIMEOUT`` seconds,
default 30, with a message) and then stops with :class:`StoreBusyError` ("store busy: …"), never
with DuckDB's lock traceback. The trade-off of the kept connection: while a study is being read
(and for a few seconds after), ``mognad ingest`` into it waits; a reader that never pauses for
longer than the busy timeout makes ingest give up with "store busy" (and nothing changes).

Raw files are never changed; everything in the store is rebuilt from them plus the codebook.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from mognad.codebook import Codebook, load_codebook, resolve_codebook_path
from mognad.errors import StudyError

DB_NAME = "study.duckdb"
CODEBOOK_NAME = "codebook.yaml"
#: Where studies made before key separation kept their key (inside the study: refused now).
LEGACY_KEY_NAME = "pseudonym.key"
SCHEMA_VERSION = "1"

#: Environment variable naming the key file (like ``--key PATH``).
KEY_FILE_ENV = "MOGNAD_KEY_FILE"
#: Environment variable naming the folder of the per-study default key files.
KEY_DIR_ENV = "MOGNAD_KEY_DIR"
#: Environment variable: seconds to wait for a store another process is using.
BUSY_TIMEOUT_ENV = "MOGNAD_BUSY_TIMEOUT"
DEFAULT_BUSY_TIMEOUT = 30.0
KEY_BYTES = 32

KEY_WARNING = (
    "Keep this file safe and private. Losing it means that respondents ingested later get new "
    "pseudonyms (they no longer link to earlier rounds); anyone who has it together with the "
    "study can re-identify respondents by hashing guessed e-mail addresses. Never put it in the "
    "study folder or share it with the study."
)

log = logging.getLogger("mognad.store")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS provenance (
    source_id INTEGER PRIMARY KEY, file_name VARCHAR, kind VARCHAR, sha256 VARCHAR,
    content_fingerprint VARCHAR, rows_read BIGINT, rows_added BIGINT, ingested_at VARCHAR,
    codebook_id VARCHAR, codebook_sha256 VARCHAR, mognad_version VARCHAR, synthetic BOOLEAN,
    notes VARCHAR);
CREATE TABLE IF NOT EXISTS organisations (
    org_id VARCHAR, name VARCHAR, org_type VARCHAR, county_code VARCHAR, kommungrupp VARCHAR,
    parent_org_id VARCHAR, size_class VARCHAR, source_id INTEGER);
CREATE TABLE IF NOT EXISTS respondents (
    rid BIGINT, org_id VARCHAR, round INTEGER, respondent_id VARCHAR, unit VARCHAR,
    role VARCHAR, source_id INTEGER);
CREATE TABLE IF NOT EXISTS answers (rid BIGINT, item_no SMALLINT, value TINYINT);
CREATE TABLE IF NOT EXISTS items (item_no SMALLINT, item_id VARCHAR);
CREATE TABLE IF NOT EXISTS invitations (
    org_id VARCHAR, round INTEGER, unit VARCHAR, invited INTEGER, source_id INTEGER);
CREATE TABLE IF NOT EXISTS events (
    org_id VARCHAR, date DATE, kind VARCHAR, text VARCHAR, source_id INTEGER);
"""

#: Tables a researcher sees, with the columns :class:`Study` returns.
PUBLIC_TABLES = {
    "organisations": [
        "org_id", "name", "org_type", "county_code", "kommungrupp", "parent_org_id", "size_class",
    ],
    "responses": ["org_id", "round", "respondent_id", "unit", "role", "item_id", "value"],
    "invitations": ["org_id", "round", "unit", "invited"],
    "events": ["org_id", "date", "kind", "text"],
}


class StoreBusyError(StudyError):
    """Another process kept the store taken for longer than the busy timeout."""


class PseudonymKeyError(StudyError):
    """The pseudonymisation key is missing, damaged, misplaced or belongs to another study."""


def _mognad_version() -> str:
    from mognad import __version__

    return __version__


# ---------------------------------------------------------------------------------------------
# The pseudonymisation key
# ---------------------------------------------------------------------------------------------
def key_dir() -> Path:
    """The folder of the per-study default key files.

    ``$MOGNAD_KEY_DIR`` if set, else ``$XDG_CONFIG_HOME/mognad/keys``, else
    ``~/.config/mognad/keys``.

    Examples
    --------
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {KEY_DIR_ENV: "vault/keys"}):
    ...     str(key_dir())
    'vault/keys'
    >>> with mock.patch.dict(os.environ, {"HOME": "/home/anna"}):
    ...     for name in (KEY_DIR_ENV, "XDG_CONFIG_HOME"):
    ...         _ = os.environ.pop(name, None)
    ...     str(key_dir())
    '/home/anna/.config/mognad/keys'
    """
    env = os.environ.get(KEY_DIR_ENV)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME")
    return (Path(base) if base else Path.home() / ".config") / "mognad" / "keys"


def key_id(key: bytes) -> str:
    """The public id of a key: 16 hex characters of a domain-separated SHA-256.

    The id tells keys apart; it cannot be turned back into the key (the key is 256 random bits).

    Examples
    --------
    >>> key_id(bytes(32))  # sha256(b'mognad pseudonym key id\\x00' + key)[:16]
    '4b83b899d497ce87'
    >>> key_id(bytes(32)) == key_id(bytes(31) + b"\\x01")
    False
    """
    return hashlib.sha256(b"mognad pseudonym key id\x00" + key).hexdigest()[:16]


def load_key(path: str | Path) -> bytes:
    """Read a key file (64 hexadecimal characters); any problem is a :class:`PseudonymKeyError`.

    The message names the file and the problem, never the file's content.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "k.key"
    >>> _ = p.write_text("00" * 32 + "\\n")
    >>> load_key(p) == bytes(32)
    True
    >>> _ = p.write_text("not a key")
    >>> load_key(p)
    Traceback (most recent call last):
    ...
    mognad.io.store.PseudonymKeyError: ...k.key: not a mognad pseudonymisation key ...
    """
    path = Path(path).expanduser()
    try:
        with open(path, "rb") as fh:
            data = fh.read(1025)
    except FileNotFoundError:
        raise PseudonymKeyError(f"{path}: no such key file") from None
    except IsADirectoryError:
        raise PseudonymKeyError(f"{path}: is a folder, not a key file") from None
    except PermissionError:
        raise PseudonymKeyError(
            f"{path}: permission denied reading the pseudonymisation key; the file must be "
            "readable by you (and by nobody else: mode 600)") from None
    except OSError as exc:
        raise PseudonymKeyError(f"{path}: cannot read the key file ({exc.strerror})") from None
    text = data.decode("ascii", errors="replace").strip()
    if len(data) > 1024 or not re.fullmatch(f"[0-9a-fA-F]{{{2 * KEY_BYTES}}}", text):
        raise PseudonymKeyError(
            f"{path}: not a mognad pseudonymisation key (expected {2 * KEY_BYTES} hexadecimal "
            "characters on one line); the file is damaged or is another file: restore the key "
            "from your backup")
    return bytes.fromhex(text)


def create_key(path: str | Path) -> bytes:
    """Write a new random key to a new file with mode 600 (never overwrites a file).

    Examples
    --------
    >>> import stat, tempfile
    >>> p = Path(tempfile.mkdtemp()) / "keys" / "k.key"
    >>> key = create_key(p)
    >>> len(key), load_key(p) == key, oct(stat.S_IMODE(p.stat().st_mode))
    (32, True, '0o600')
    """
    key = secrets.token_bytes(KEY_BYTES)
    _write_key(Path(path).expanduser(), key)
    return key


def _write_key(path: Path, secret: bytes) -> None:
    """Write a key to a new file, mode 600 (its folder 700 if new); never overwrite a file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise PseudonymKeyError(f"{path}: a key file already exists there; it is never "
                                "overwritten") from None
    except OSError as exc:
        raise PseudonymKeyError(f"cannot write the key file {path} ({exc.strerror}); give "
                                f"another place with --key PATH or {KEY_FILE_ENV}") from None
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secret.hex() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(path, 0o600)
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise PseudonymKeyError(f"cannot write the key file {path} ({exc.strerror})") from None


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _check_outside(key_path: Path, study: Path) -> None:
    if _inside(key_path, study):
        raise PseudonymKeyError(
            f"{key_path}: the pseudonymisation key must not live inside the study folder "
            f"{study} (anyone with a copy of the folder could re-identify respondents); keep it "
            f"elsewhere, e.g. in {key_dir()}")


def _new_study_id(path: Path) -> str:
    """The folder's last two names (so ``data/demo/study`` gives ``demo-study-…``), then random
    characters: readable in a key folder, unique across studies."""
    parts = path.resolve().parts[-2:]
    slug = re.sub(r"[^a-z0-9]+", "-", "-".join(parts).casefold()).strip("-")[-40:].strip("-")
    return f"{slug or 'study'}-{secrets.token_hex(6)}"


# ---------------------------------------------------------------------------------------------
# Connections: bounded waiting for a store another process is using
# ---------------------------------------------------------------------------------------------
_READERS: dict[str, weakref.WeakSet] = {}
_READERS_LOCK = threading.Lock()


def _busy_timeout(value: float | None) -> float:
    if value is not None:
        return float(value)
    env = os.environ.get(BUSY_TIMEOUT_ENV)
    if not env:
        return DEFAULT_BUSY_TIMEOUT
    try:
        out = float(env)
    except ValueError:
        raise StudyError(f"{BUSY_TIMEOUT_ENV} must be a number of seconds; got {env!r}") from None
    if not out >= 0:
        raise StudyError(f"{BUSY_TIMEOUT_ENV} must be a number of seconds >= 0; got {env!r}")
    return out


def _is_busy(exc: duckdb.Error) -> bool:
    text = str(exc)
    return ("Could not set lock" in text or "Conflicting lock" in text
            or "different configuration than existing connections" in text)


def _holder(exc: duckdb.Error) -> str:
    m = re.search(r"\(PID (\d+)\)", str(exc))
    return f" (process {m.group(1)})" if m else ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _explain_open(study: Path, exc: duckdb.Error, read_only: bool) -> str:
    text = str(exc)
    if "Permission denied" in text or "Read-only file system" in text:
        if read_only:
            return (f"cannot read the study store {study / DB_NAME}: permission denied; ask the "
                    "owner for read access")
        return (f"cannot write to the study {study}: the store {DB_NAME} or its folder is "
                "read-only (permission denied); nothing was changed. Copy the study to a "
                "writable place or ask its owner for write access")
    if "not a valid DuckDB database" in text or "database file" in text.casefold():
        return (f"{study / DB_NAME} is not a readable mognad study store ({_first_line(exc)}); "
                "restore it from a backup or ingest the raw files into a new study")
    return f"cannot open the study store {study / DB_NAME} ({_first_line(exc)})"


def _connect(study: Path, *, read_only: bool, timeout: float | None = None
             ) -> duckdb.DuckDBPyConnection:
    """Open the store, waiting (bounded, with one message) while another process holds it."""
    wait = _busy_timeout(timeout)
    deadline = time.monotonic() + wait
    delay, told = 0.05, False
    while True:
        try:
            return quiet(duckdb.connect(str(study / DB_NAME), read_only=read_only))
        except duckdb.Error as exc:
            if not _is_busy(exc):
                raise StudyError(_explain_open(study, exc, read_only)) from None
            left = deadline - time.monotonic()
            if left <= 0:
                holder = _holder(exc)
                if read_only:
                    raise StoreBusyError(
                        f"store busy: another mognad process is writing to {study}{holder}; "
                        f"waited {wait:g} s. Try again when it has finished (or set "
                        f"{BUSY_TIMEOUT_ENV}=SECONDS to wait longer)") from None
                raise StoreBusyError(
                    f"store busy: another mognad process is writing to {study}, or is reading "
                    f"it{holder}; waited {wait:g} s and changed nothing. A process reading the "
                    "study without pause (or holding it open with release_after=None) keeps "
                    "writers out until it ends or calls study.close(); try again then (or set "
                    f"{BUSY_TIMEOUT_ENV}=SECONDS to wait longer)") from None
            if not told:
                # INFO: the command line shows it; a notebook does not (it would end up in a
                # report's output) and gets the StoreBusyError if the wait runs out
                log.info("store busy, waiting up to %g s: another mognad process is using %s",
                         wait, study)
                told = True
            time.sleep(min(delay, left))
            delay = min(delay * 2, 1.0)


#: Seconds after its last read that a study's kept connection is closed (it reopens on the
#: next read), so an idle study in a Jupyter kernel does not keep writers out.
READER_IDLE_SECONDS = 5.0
_closer_pid = 0


def _all_readers() -> list[Study]:
    with _READERS_LOCK:
        return [s for g in _READERS.values() for s in list(g)]


def _register_reader(study: Study) -> None:
    global _closer_pid
    with _READERS_LOCK:
        _READERS.setdefault(str(study.path.resolve()), weakref.WeakSet()).add(study)
        if _closer_pid != os.getpid():
            _closer_pid = os.getpid()
            threading.Thread(target=_close_idle_readers, name="mognad-store-idle-close",
                             daemon=True).start()


def _close_idle_readers() -> None:
    """Background loop: close kept read connections idle for longer than their limit."""
    while True:
        time.sleep(0.5)
        now = time.monotonic()
        studies = _all_readers()
        for study in studies:
            study._close_if_idle(now)
        studies = study = None  # hold no study alive between rounds


def _close_readers(path: Path | None = None) -> None:
    """Close the kept read connections of this process (of one store, or of all)."""
    if path is None:
        studies = _all_readers()
    else:
        with _READERS_LOCK:
            studies = list(_READERS.get(str(path.resolve()), ()))
    for s in studies:
        s._close_reader()


def _after_fork_in_child() -> None:
    """Locks another thread of the parent may have held at the fork are new in the child."""
    global _READERS_LOCK
    _READERS_LOCK = threading.Lock()
    for group in _READERS.values():
        for s in list(group):
            s._lock = threading.RLock()


# A forked child must not use (or close) connections it inherited: close them before forking,
# both sides reopen on their next read.
if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_close_readers, after_in_child=_after_fork_in_child)


def quiet(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Switch DuckDB's progress bar off (it would print into reports and logs).

    In a Jupyter kernel without ipywidgets DuckDB refuses to change the setting; it then prints
    no bar anyway.
    """
    with contextlib.suppress(duckdb.Error):
        con.execute("SET enable_progress_bar = false")
    return con


def _arrow(con: duckdb.DuckDBPyConnection, query: str, params: list | None = None) -> pa.Table:
    """A query's result as an Arrow table (through a relation: no extra copy of the rows)."""
    rel = con.sql(query, params=params or None)
    if rel is None:  # not a SELECT
        return pa.table({})
    fetch = getattr(rel, "to_arrow_table", None) or rel.arrow
    return fetch()


# ---------------------------------------------------------------------------------------------
# Creating a study
# ---------------------------------------------------------------------------------------------
def init_study(path: str | Path, *, codebook: str | Path | None = None, exist_ok: bool = False,
               key: str | Path | None = None) -> Path:
    """Create an empty study folder (store and codebook copy) and its pseudonymisation key.

    The key goes *outside* the study: to ``key`` if given, else to ``$MOGNAD_KEY_FILE``, else to
    ``<key_dir()>/<study-id>.key``. An existing key file there is used as it is (studies sharing
    a key give the same pseudonyms); otherwise a new random key is written with mode 600 and a
    warning is logged (``mognad.store``): keep it, and never share it.

    Parameters
    ----------
    path : str or Path
        The study folder to create.
    codebook : str, Path or None
        A codebook YAML or bundled id; ``None`` for the default codebook.
    exist_ok : bool
        If the study already exists, leave it as it is instead of raising.
    key : str, Path or None
        The key file (created if it does not exist).

    Returns
    -------
    Path
        The study folder.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> folder = init_study(root / "demo", key=root / "demo.key")
    >>> sorted(p.name for p in folder.iterdir())
    ['codebook.yaml', 'study.duckdb']
    >>> open_study(folder, key_file=root / "demo.key").key_status()["matches"]
    True
    """
    path = Path(path)
    if (path / DB_NAME).exists():
        if exist_ok:
            return path
        raise StudyError(f"a study already exists in {path}; use another folder or --exist-ok")
    cb_path = resolve_codebook_path(codebook)
    cb = load_codebook(cb_path)  # validate before creating anything
    study_id = _new_study_id(path)
    if key is not None:
        key_path = Path(key).expanduser()
    elif os.environ.get(KEY_FILE_ENV):
        key_path = Path(os.environ[KEY_FILE_ENV]).expanduser()
    else:
        key_path = key_dir() / f"{study_id}.key"
    _check_outside(key_path, path)
    created = not key_path.exists()
    secret = create_key(key_path) if created else load_key(key_path)
    try:
        _create_store(path, cb_path, cb, study_id=study_id, key=secret)
    except BaseException:
        if created:
            key_path.unlink(missing_ok=True)
        raise
    if created:
        log.warning("pseudonymisation key for %s written to %s. %s", path, key_path, KEY_WARNING)
    else:
        log.warning("using the existing pseudonymisation key %s for %s (pseudonyms match every "
                    "other study made with this key)", key_path, path)
    return path


def _create_store(path: Path, cb_path: Path, cb: Codebook, *, study_id: str, key: bytes) -> None:
    tmp = path / (DB_NAME + ".tmp")
    try:
        path.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cb_path, path / CODEBOOK_NAME)
        tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise StudyError(f"cannot create the study in {path} ({exc.strerror}); choose a "
                         "writable folder") from None
    try:
        con = duckdb.connect(str(tmp))
        try:
            con.execute(_SCHEMA)
            con.executemany(
                "INSERT INTO items VALUES (?, ?)", [(i, item) for i, item in enumerate(cb.item_ids)]
            )
            con.executemany(
                "INSERT INTO meta VALUES (?, ?)",
                [
                    ("schema_version", SCHEMA_VERSION),
                    ("codebook_id", cb.id),
                    ("codebook_sha256", cb.fingerprint),
                    ("synthetic", "false"),
                    ("mognad_version", _mognad_version()),
                    ("study_id", study_id),
                    ("key_id", key_id(key)),
                ],
            )
        finally:
            con.close()
        tmp.replace(path / DB_NAME)
    except (duckdb.Error, OSError) as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
            Path(str(tmp) + ".wal").unlink(missing_ok=True)
        raise StudyError(f"cannot create the study store in {path} ({_first_line(exc)}); "
                         "choose a writable folder with free space") from None


def _require_study(path: Path) -> Path:
    if not (path / DB_NAME).is_file():
        raise StudyError(
            f"{path} is not a mognad study (no {DB_NAME}); create it with 'mognad init {path}'"
        )
    return path


# ---------------------------------------------------------------------------------------------
# The study
# ---------------------------------------------------------------------------------------------
@dataclass(eq=False)
class Study:
    """A study store opened for analysis. Tables come back as tidy DataFrames.

    Open with :func:`open_study`. Tables are read on access through one read-only DuckDB
    connection, opened on first use and kept until :meth:`close` (also ``with``, garbage
    collection, or ``release_after`` seconds without a read); use :meth:`sql` for anything else.
    While it is open no other process can write the store (see the module notes).

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> with open_study(init_study(root / "s", key=root / "s.key")) as study:
    ...     study.responses.columns.tolist()
    ['org_id', 'round', 'respondent_id', 'unit', 'role', 'item_id', 'value']
    >>> study.codebook.id, study.is_synthetic
    ('mognad-default-1', False)
    """

    path: Path
    _codebook: Codebook | None = field(default=None, repr=False)
    #: The key file given explicitly (``--key``); ``None``: ``$MOGNAD_KEY_FILE`` or the default.
    key_file: Path | None = None
    #: Seconds to wait for a store another process is using (``None``: ``$MOGNAD_BUSY_TIMEOUT``
    #: or 30).
    busy_timeout: float | None = None
    #: Seconds after the last read before the kept read connection is closed (``None``: keep
    #: it until :meth:`close`).
    release_after: float | None = READER_IDLE_SECONDS
    _con: duckdb.DuckDBPyConnection | None = field(default=None, repr=False)
    _con_pid: int = field(default=0, repr=False)
    _write_con: duckdb.DuckDBPyConnection | None = field(default=None, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _last_used: float = field(default=0.0, repr=False)

    # ------------------------------------------------------------------ connection
    def _reader(self) -> duckdb.DuckDBPyConnection:
        if self._write_con is not None:
            return self._write_con
        if self._con is not None and self._con_pid != os.getpid():
            self._con = None  # inherited through a fork: never use (or close) it here
        if self._con is None:
            self._con = _connect(self.path, read_only=True, timeout=self.busy_timeout)
            self._con_pid = os.getpid()
            _register_reader(self)
        return self._con

    @contextlib.contextmanager
    def _cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._lock:
            con = self._reader()
            try:
                if con is self._write_con:
                    yield con  # inside a write: read what the transaction sees
                    return
                cur = con.cursor()
                try:
                    yield cur
                finally:
                    cur.close()
            finally:
                self._last_used = time.monotonic()

    def _close_reader(self) -> None:
        with self._lock:
            con, self._con = self._con, None
            if con is not None and self._con_pid == os.getpid():
                with contextlib.suppress(duckdb.Error):
                    con.close()

    def _close_if_idle(self, now: float) -> None:
        if self._con is None or self.release_after is None:
            return
        if self._lock.acquire(blocking=False):
            try:
                if now - self._last_used >= self.release_after:
                    self._close_reader()
            finally:
                self._lock.release()

    def close(self) -> None:
        """Close the study's read connection (it reopens on the next read)."""
        self._close_reader()

    def __enter__(self) -> Study:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self._close_reader()

    def connect(self, *, read_only: bool = True) -> duckdb.DuckDBPyConnection:
        """A new DuckDB connection to the store (read-only by default); close it yourself.

        Prefer :meth:`sql` for reading and :meth:`write` for writing.
        """
        if not read_only:
            _close_readers(self.path)
        return _connect(self.path, read_only=read_only, timeout=self.busy_timeout)

    @contextlib.contextmanager
    def write(self, *, timeout: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """One write transaction, holding the store exclusively: committed if the block ends
        normally, rolled back (store unchanged) on any error.

        Waits while another process uses the store (``timeout`` seconds, default the study's
        ``busy_timeout``), then raises :class:`StoreBusyError`. Reads through this study inside
        the block see the transaction. A read-only store or folder, or a full disk, raises
        :class:`~mognad.errors.StudyError`.

        Examples
        --------
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> study = open_study(init_study(root / "s", key=root / "s.key"))
        >>> with study.write() as con:
        ...     _ = con.execute("INSERT INTO meta VALUES ('note', 'pilot')")
        ...     study.meta["note"]  # reads inside the block see the transaction
        'pilot'
        >>> try:
        ...     with study.write() as con:
        ...         _ = con.execute("UPDATE meta SET value = 'changed' WHERE key = 'note'")
        ...         raise ValueError("something went wrong")
        ... except ValueError:
        ...     pass
        >>> study.meta["note"]  # rolled back
        'pilot'
        """
        if self._write_con is not None:
            raise RuntimeError("Study.write() blocks do not nest")
        _close_readers(self.path)
        con = _connect(self.path, read_only=False,
                       timeout=self.busy_timeout if timeout is None else timeout)
        self._write_con = con
        try:
            con.execute("BEGIN TRANSACTION")
            yield con
            con.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            if isinstance(exc, duckdb.Error | OSError) and _is_io_problem(exc):
                raise StudyError(
                    f"could not write to the study {self.path} ({_io_reason(exc)}); nothing was "
                    "changed (the transaction was rolled back)") from None
            raise
        finally:
            self._write_con = None
            with contextlib.suppress(duckdb.Error):
                con.close()

    def sql(self, query: str, params: list | None = None) -> pd.DataFrame:
        """Run a read-only SQL query against the store and return a DataFrame."""
        with self._cursor() as cur:
            return cur.execute(query, params or []).df()

    def arrow(self, query: str, params: list | None = None) -> pa.Table:
        """Run a read-only SQL query against the store and return an Arrow table."""
        with self._cursor() as cur:
            return _arrow(cur, query, params)

    # ------------------------------------------------------------------ the key
    def key_location(self) -> tuple[Path | None, str]:
        """Where this study's key is expected, and why there.

        Returns ``(path, source)`` with source ``"--key"`` (given explicitly), ``KEY_FILE_ENV``
        or ``"default"`` (``<key_dir()>/<study-id>.key``); path ``None`` for a study made
        before key separation that records no study id.
        """
        if self.key_file is not None:
            return Path(self.key_file).expanduser(), "--key"
        env = os.environ.get(KEY_FILE_ENV)
        if env:
            return Path(env).expanduser(), KEY_FILE_ENV
        sid = self.meta.get("study_id")
        return (key_dir() / f"{sid}.key" if sid else None), "default"

    def key_status(self) -> dict:
        """Where the key is expected and whether it is there and right (never the key itself).

        Returns a dict with ``path``, ``source``, ``present``, ``matches`` (``None`` when it
        cannot be checked), ``key_in_study_folder`` (an old layout to migrate) and ``problem``
        (``None`` when ingest could use the key).

        Examples
        --------
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> s = init_study(root / "s", key=root / "s.key")
        >>> status = open_study(s, key_file=root / "elsewhere.key").key_status()
        >>> status["source"], status["present"], "is not at" in status["problem"]
        ('--key', False, True)
        """
        legacy = self.path / LEGACY_KEY_NAME
        path, source = self.key_location()
        out = {"path": str(path) if path else None, "source": source,
               "present": bool(path and path.is_file()), "matches": None,
               "key_in_study_folder": legacy.exists(), "problem": None}
        try:
            self.pseudonym_key()
            out["matches"] = True
        except PseudonymKeyError as exc:
            out["problem"] = str(exc)
            if "does not belong" in str(exc):
                out["matches"] = False
        return out

    def pseudonym_key(self) -> bytes:
        """The study's pseudonymisation key, checked against the key id the study records.

        Raises
        ------
        PseudonymKeyError
            The key is in the study folder (old layout: ``mognad key move``), missing, damaged,
            unreadable, inside the study folder, or belongs to another study.
        """
        legacy = self.path / LEGACY_KEY_NAME
        if legacy.exists():
            raise PseudonymKeyError(
                f"{legacy}: the pseudonymisation key is inside the study folder, so anyone with "
                "a copy of the folder can re-identify respondents. Move it out first: "
                f"mognad key move --study {self.path} (add --key PATH to choose where it goes), "
                "then run the command again")
        expected = self.meta.get("key_id")
        path, source = self.key_location()
        if not expected:
            raise PseudonymKeyError(
                f"the study {self.path} records no pseudonymisation key (made by an older "
                "mognad); register the key file it was made with: mognad key move --study "
                f"{self.path} --key PATH")
        if path is None:  # pragma: no cover - a study with a key id always has a study id
            raise PseudonymKeyError(f"the study {self.path} records no study id")
        _check_outside(path, self.path)
        where = {"--key": "given with --key", KEY_FILE_ENV: f"named by {KEY_FILE_ENV}",
                 "default": "the default place"}[source]
        if not path.exists():
            raise PseudonymKeyError(
                f"the pseudonymisation key of the study {self.path} is not at {path} ({where}). "
                "Ingesting respondent files needs it (reading and reports do not): give the key "
                f"file with --key PATH or {KEY_FILE_ENV}=PATH. If the key is lost, new "
                "respondents cannot be linked to the pseudonyms already in the store: start a "
                "new study for them")
        key = load_key(path)
        if key_id(key) != expected:
            raise PseudonymKeyError(
                f"{path}: this key does not belong to the study {self.path} (key id "
                f"{key_id(key)}, the study was made with {expected}); with it respondents would "
                f"get pseudonyms that match nobody in the store. Give the study's own key with "
                f"--key PATH or {KEY_FILE_ENV}=PATH")
        return key

    # ------------------------------------------------------------------ metadata
    @property
    def meta(self) -> dict[str, str]:
        """The study's key/value metadata."""
        return dict(self.sql("SELECT key, value FROM meta").itertuples(index=False))

    @property
    def codebook(self) -> Codebook:
        """The study's codebook (the copy kept in the study folder)."""
        if self._codebook is None:
            self._codebook = load_codebook(self.path / CODEBOOK_NAME)
        return self._codebook

    @property
    def is_synthetic(self) -> bool:
        """Whether any ingested data is marked synthetic."""
        return self.meta.get("synthetic") == "true"

    @property
    def provenance(self) -> pd.DataFrame:
        """One row per ingested file: name, SHA-256, rows, time, codebook version."""
        return self.sql("SELECT * FROM provenance ORDER BY source_id")

    @property
    def fingerprint(self) -> str:
        """SHA-256 over the content fingerprints of every ingested file and the codebook."""
        prov = self.sql("SELECT content_fingerprint FROM provenance ORDER BY content_fingerprint")
        h = hashlib.sha256(self.codebook.fingerprint.encode())
        for fp in prov["content_fingerprint"]:
            h.update(fp.encode())
        return h.hexdigest()

    # ------------------------------------------------------------------ tables
    def _frame(self, query: str, params: list | None = None) -> pd.DataFrame:
        out = self.sql(query, params)
        for col in out.columns:
            if out[col].dtype == object:
                out[col] = out[col].astype("str")
        return out

    @property
    def organisations(self) -> pd.DataFrame:
        """The organisation registry (one row per organisation)."""
        cols = ", ".join(PUBLIC_TABLES["organisations"])
        return self._frame(f"SELECT {cols} FROM organisations ORDER BY org_id")

    @property
    def organisation_names(self) -> dict[str, str]:
        """``{org_id: name}`` of the organisation registry (one read).

        Examples
        --------
        >>> import tempfile
        >>> open_study(init_study(Path(tempfile.mkdtemp()) / "s")).organisation_names
        {}
        """
        orgs = self.organisations
        return dict(zip(orgs["org_id"].astype(str), orgs["name"].astype(str), strict=True))

    @property
    def responses(self) -> pd.DataFrame:
        """All survey answers, long: one row per respondent × item; ``value`` <NA> = don't know."""
        return self.responses_for()

    def responses_for(self, *, round: int | list[int] | None = None,
                      org_id: str | list[str] | None = None) -> pd.DataFrame:
        """Survey answers filtered by round(s) and/or organisation(s), in the long format.

        Rows are sorted by organisation, round, respondent and item (codebook order). The
        string columns ``org_id``, ``respondent_id``, ``unit``, ``role`` and ``item_id`` are
        pandas categoricals of strings (compact: a national study of 30 million answers is
        well under 1 GB); ``round`` is int64 and ``value`` nullable Int64 (<NA> = don't know or
        not answered, as in the raw files).

        Examples
        --------
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> study = open_study(init_study(root / "s", key=root / "s.key"))
        >>> len(study.responses_for(round=2024, org_id="1384"))
        0
        >>> study.responses.dtypes.astype(str).tolist()
        ['category', 'int64', 'category', 'category', 'category', 'category', 'Int64']
        """
        where, params = [], []
        for col, val in (("round", round), ("org_id", org_id)):
            if val is None:
                continue
            vals = list(val) if isinstance(val, list | tuple | set) else [val]
            if col == "org_id":
                vals = [str(v) for v in vals]
            if not vals:
                where.append("FALSE")  # an empty selection selects nothing
                continue
            where.append(f"{col} IN ({', '.join('?' for _ in vals)})")
            params.extend(vals)
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        # Respondents (one row each, in order) and their answers (three small integers each,
        # unordered) are fetched separately and joined in numpy: no per-answer strings are
        # built and the 30 M answers of a national study are never sorted.
        with self._cursor() as cur:
            resp = _arrow(cur, "SELECT rid, org_id, round, respondent_id, dense_rank() OVER "
                               "(ORDER BY respondent_id) - 1 AS respondent_rank, unit, role FROM "
                               f"respondents {clause} ORDER BY org_id, round, respondent_id, rid",
                          params)
            ans = cur.execute("SELECT rid, item_no, coalesce(value, -1)::TINYINT AS value FROM "
                              "answers" + (f" WHERE rid IN (SELECT rid FROM respondents {clause})"
                                           if clause else ""), params).fetchnumpy()
            items = cur.execute("SELECT item_no, item_id FROM items").fetchall()
        return _long_frame(resp, ans, items)

    @property
    def invitations(self) -> pd.DataFrame:
        """Invited respondents per organisation, round and unit."""
        out = self._frame(
            "SELECT org_id, round, unit, invited FROM invitations ORDER BY org_id, round, unit"
        )
        return out.astype({"round": "int64", "invited": "int64"})

    @property
    def events(self) -> pd.DataFrame:
        """Organisation events (programme start, reorganisation, funding change …)."""
        out = self._frame("SELECT org_id, date, kind, text FROM events ORDER BY org_id, date")
        out["date"] = pd.to_datetime(out["date"])
        return out

    def table(self, name: str) -> pd.DataFrame:
        """Any table of the store by name (e.g. ``systems`` once DIOS inventories are ingested).

        A table that no ingested file has created yet comes back empty with no columns.
        """
        if not name.isidentifier():
            raise StudyError(f"{name!r} is not a table name")
        known = set(self.sql("SELECT table_name FROM information_schema.tables")["table_name"])
        if name not in known:
            return pd.DataFrame()
        return self._frame(f"SELECT * EXCLUDE (source_id) FROM {name}"
                           if "source_id" in self.sql(f"SELECT * FROM {name} LIMIT 0").columns
                           else f"SELECT * FROM {name}")

    @property
    def rounds(self) -> list[int]:
        """Measurement rounds present in the responses."""
        return [int(r) for r in self.sql("SELECT DISTINCT round FROM respondents ORDER BY 1")["round"]]

    def counts(self) -> dict[str, int]:
        """Row counts per table."""
        tables = ["organisations", "respondents", "answers", "invitations", "events", "provenance"]
        with self._cursor() as cur:
            return {t: int(cur.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0])
                    for t in tables}

    def info(self) -> dict:
        """A summary of the study: counts, rounds, organisations, provenance, where the key is
        expected and whether it is there (JSON-ready; never the key itself)."""
        meta = self.meta
        prov = self.provenance
        per_round = self.sql(
            "SELECT round, count(DISTINCT org_id) AS organisations, count(*) AS respondents "
            "FROM respondents GROUP BY round ORDER BY round"
        )
        return {
            "study": str(self.path),
            "study_id": meta.get("study_id"),
            "synthetic": meta.get("synthetic") == "true",
            "codebook": {"id": meta.get("codebook_id"), "sha256": meta.get("codebook_sha256")},
            "fingerprint": self.fingerprint,
            "key": {"id": meta.get("key_id"), **self.key_status()},
            "counts": self.counts(),
            "rounds": [
                {k: int(v) for k, v in row.items()} for row in per_round.to_dict("records")
            ],
            "provenance": json.loads(prov.to_json(orient="records")),
        }


def _is_io_problem(exc: BaseException) -> bool:
    if isinstance(exc, OSError):
        return True
    text = str(exc)
    return isinstance(exc, duckdb.IOException) or any(
        s in text for s in ("Permission denied", "Read-only file system", "No space left",
                            "Disk quota", "Could not write", "Failed to commit"))


def _io_reason(exc: BaseException) -> str:
    text = str(exc)
    if "Permission denied" in text or "Read-only file system" in text:
        return "the store or its folder is read-only: permission denied"
    if "No space left" in text or "Disk quota" in text:
        return "the disk is full"
    return _first_line(exc)


def _smallest_int(n: int) -> type:
    return np.int8 if n < 127 else np.int16 if n < 32767 else np.int32


def _categorical(arr: pa.ChunkedArray, rank: np.ndarray | None = None) -> pd.Categorical:
    """Strings as a categorical with sorted categories (codes of the smallest integer type).

    ``rank``: the strings' dense ranks (0 for the smallest; from SQL), which spares sorting a
    large dictionary here.
    """
    if rank is not None:
        words = arr.to_numpy(zero_copy_only=False)
        cats = np.empty(int(rank.max(initial=-1)) + 1, dtype=object)
        cats[rank] = words
        return pd.Categorical.from_codes(rank.astype(_smallest_int(len(cats))),
                                         categories=pd.Index(cats, dtype="str"))
    enc = arr.combine_chunks().dictionary_encode()
    words = enc.dictionary.to_pandas().astype("str").to_numpy()
    order = np.argsort(words, kind="stable")
    to_sorted = np.empty(len(order) + 1, dtype=np.int64)
    to_sorted[order] = np.arange(len(order))
    to_sorted[-1] = -1  # null (index -1) stays missing
    idx = to_sorted[enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)]
    return pd.Categorical.from_codes(idx.astype(_smallest_int(len(order))),
                                     categories=pd.Index(words[order], dtype="str"))


def _long_frame(resp: pa.Table, ans: dict[str, np.ndarray], items: list[tuple[int, str]]
                ) -> pd.DataFrame:
    """The long responses frame: respondents (in their order) joined with their answers.

    The answers arrive unsorted; they are put in (respondent, item) order without sorting: each
    (respondent position, item number) pair is a cell of a dense respondents x items grid (a
    respondent answers an item at most once), filled by one scatter and read back row by row.
    The respondent columns are then repeated over each respondent's answers.
    """
    n_resp = resp.num_rows
    item_cats = sorted({iid for _, iid in items})
    width = max((n for n, _ in items), default=-1) + 1  # items per respondent in the grid
    item_code = np.full(max(width, 1), -1, dtype=np.int8)
    for n, iid in items:
        item_code[n] = item_cats.index(iid)
    rid_r = resp.column("rid").to_numpy().astype(np.int64, copy=False)
    rid_a = ans["rid"]
    top = int(max(rid_r.max(initial=0), rid_a.max(initial=0))) + 1
    pos_of_rid = np.full(top, -1, dtype=np.int64)
    pos_of_rid[rid_r] = np.arange(n_resp)
    cell = pos_of_rid[rid_a]
    del pos_of_rid
    value = ans["value"]
    orphan = cell < 0  # answers without a selected respondent (none in a consistent store)
    if orphan.any():
        cell, value = cell[~orphan], value[~orphan]
    cell *= width
    cell += ans["item_no"][~orphan] if orphan.any() else ans["item_no"]
    grid = np.full(n_resp * width, -2, dtype=np.int8)  # -2: no answer row, -1: missing value
    grid[cell] = value
    del cell, value, orphan
    present = grid != -2
    if present.all():  # every respondent has a row for every item (wide files)
        values = grid
        item_no = np.tile(np.arange(width, dtype=np.int16), n_resp)
        counts = np.full(n_resp, width, dtype=np.int64)
    else:
        values = grid[present]
        counts = present.reshape(n_resp, width).sum(axis=1)
        item_no = (np.flatnonzero(present) % width).astype(np.int16)
    del present

    def per_answer(cat: pd.Categorical) -> pd.Categorical:
        return pd.Categorical.from_codes(np.repeat(cat.codes, counts), categories=cat.categories)

    rank = resp.column("respondent_rank").to_numpy().astype(np.int64, copy=False)
    out = pd.DataFrame({
        "org_id": per_answer(_categorical(resp.column("org_id"))),
        "round": np.repeat(resp.column("round").to_numpy().astype(np.int64), counts),
        "respondent_id": per_answer(_categorical(resp.column("respondent_id"), rank)),
        "unit": per_answer(_categorical(resp.column("unit"))),
        "role": per_answer(_categorical(resp.column("role"))),
        "item_id": pd.Categorical.from_codes(item_code[item_no],
                                             categories=pd.Index(item_cats, dtype="str")),
        "value": pd.arrays.IntegerArray(values.astype(np.int64), values < 0),
    }, copy=False)
    return out


def open_study(path: str | Path | Study, *, key_file: str | Path | None = None,
               busy_timeout: float | None = None,
               release_after: float | None = READER_IDLE_SECONDS) -> Study:
    """Open a study folder for analysis.

    Parameters
    ----------
    path : str, Path or Study
        A folder created by :func:`init_study` / ``mognad init``; an open :class:`Study` is
        returned as it is (so functions can take either).
    key_file : str, Path or None
        The pseudonymisation key file, needed only to ingest respondent files (default:
        ``$MOGNAD_KEY_FILE`` or ``<key_dir()>/<study-id>.key``).
    busy_timeout : float or None
        Seconds to wait while another process uses the store (default
        ``$MOGNAD_BUSY_TIMEOUT`` or 30).
    release_after : float or None
        Seconds without a read after which the kept read connection is closed, letting writers
        in (default :data:`READER_IDLE_SECONDS`); ``None`` keeps it until :meth:`Study.close`.

    Returns
    -------
    Study
    """
    if isinstance(path, Study):
        return path
    return Study(_require_study(Path(path)),
                 key_file=Path(key_file).expanduser() if key_file is not None else None,
                 busy_timeout=busy_timeout, release_after=release_after)


def read_key(study: str | Path | Study, *, key_file: str | Path | None = None) -> bytes:
    """The pseudonymisation key of a study (see :meth:`Study.pseudonym_key`)."""
    if not isinstance(study, Study):
        study = open_study(study, key_file=key_file)
    elif key_file is not None:
        study = Study(study.path, key_file=Path(key_file).expanduser(),
                      busy_timeout=study.busy_timeout)
    return study.pseudonym_key()


def move_key(study: str | Path, *, key: str | Path | None = None) -> Path:
    """Move an old study's key out of the study folder (``mognad key move``).

    Studies made before key separation kept the key as ``STUDY/pseudonym.key``. This writes it
    to ``key`` (default ``<key_dir()>/<study-id>.key``; an existing file there must hold the
    same key), records the key's id (and a study id if missing) in the store, and only then
    deletes the file in the study folder. Copies of the folder made earlier still contain the
    key: treat them as secret.

    A study that records no key id and has no key in its folder (its key was moved by hand) is
    given one with ``key=PATH``: that file's id is recorded.

    Returns
    -------
    Path
        Where the key is now.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> s = init_study(root / "old", key=root / "k.key")
    >>> _ = (root / "k.key").replace(s / LEGACY_KEY_NAME)  # the old layout
    >>> move_key(s, key=root / "moved.key") == root / "moved.key"
    True
    >>> (s / LEGACY_KEY_NAME).exists(), open_study(s, key_file=root / "moved.key").key_status()["matches"]
    (False, True)
    """
    st = open_study(study)
    legacy = st.path / LEGACY_KEY_NAME
    meta = st.meta
    sid = meta.get("study_id") or _new_study_id(st.path)
    target = Path(key).expanduser() if key is not None else key_dir() / f"{sid}.key"
    _check_outside(target, st.path)
    if legacy.exists():
        secret = load_key(legacy)
        if meta.get("key_id") and meta["key_id"] != key_id(secret):
            raise PseudonymKeyError(f"{legacy}: this key does not belong to the study "
                                    f"{st.path}; nothing was moved")
        if target.exists():
            if load_key(target) != secret:
                raise PseudonymKeyError(
                    f"{target}: another key is already there; nothing was moved. Give another "
                    "place with --key PATH")
        else:
            _write_key(target, secret)
    else:
        if meta.get("key_id"):
            raise PseudonymKeyError(f"{st.path} has no key in its folder: nothing to move "
                                    "(mognad info shows where its key is expected)")
        if key is None:
            raise PseudonymKeyError(f"{st.path} has no key in its folder and records none; give "
                                    "the key file it was made with: --key PATH")
        secret = load_key(target)
    with st.write() as con:
        for k, v in (("study_id", sid), ("key_id", key_id(secret))):
            con.execute("DELETE FROM meta WHERE key = ?", [k])
            con.execute("INSERT INTO meta VALUES (?, ?)", [k, v])
    st.close()
    if legacy.exists():
        legacy.unlink()
    return target


__all__ = ["Study", "init_study", "open_study"]
