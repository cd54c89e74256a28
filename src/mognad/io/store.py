"""The study store: one folder per study, holding one DuckDB file, the study's codebook and its
pseudonymisation key.

Layout of a study folder::

    STUDY/
      study.duckdb     all ingested data (one file)
      codebook.yaml    the study's codebook (a copy, so the study is self-contained)
      pseudonym.key    the key that turns respondent ids into pseudonyms (never commit it)

Raw files are never changed; everything in the store is rebuilt from them plus the codebook.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from mognad.codebook import Codebook, load_codebook, resolve_codebook_path
from mognad.errors import StudyError

DB_NAME = "study.duckdb"
KEY_NAME = "pseudonym.key"
CODEBOOK_NAME = "codebook.yaml"
SCHEMA_VERSION = "1"

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


def _mognad_version() -> str:
    from mognad import __version__

    return __version__


def init_study(path: str | Path, *, codebook: str | Path | None = None, exist_ok: bool = False
               ) -> Path:
    """Create an empty study folder with its store, codebook copy and pseudonymisation key.

    Parameters
    ----------
    path : str or Path
        The study folder to create.
    codebook : str, Path or None
        A codebook YAML or bundled id; ``None`` for the default codebook.
    exist_ok : bool
        If the study already exists, leave it as it is instead of raising.

    Returns
    -------
    Path
        The study folder.

    Examples
    --------
    >>> import tempfile
    >>> folder = init_study(Path(tempfile.mkdtemp()) / "demo")
    >>> sorted(p.name for p in folder.iterdir())
    ['codebook.yaml', 'pseudonym.key', 'study.duckdb']
    """
    path = Path(path)
    db = path / DB_NAME
    if db.exists():
        if exist_ok:
            return path
        raise StudyError(f"a study already exists in {path}; use another folder or --exist-ok")
    cb_path = resolve_codebook_path(codebook)
    cb = load_codebook(cb_path)  # validate before creating anything
    path.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cb_path, path / CODEBOOK_NAME)
    key = path / KEY_NAME
    if not key.exists():
        key.write_text(secrets.token_hex(32) + "\n", encoding="ascii")
        key.chmod(0o600)
    tmp = path / (DB_NAME + ".tmp")
    tmp.unlink(missing_ok=True)
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
            ],
        )
    finally:
        con.close()
    tmp.replace(db)
    return path


def quiet(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Switch DuckDB's progress bar off (it would print into reports and logs).

    In a Jupyter kernel without ipywidgets DuckDB refuses to change the setting; it then prints
    no bar anyway.
    """
    with contextlib.suppress(duckdb.Error):
        con.execute("SET enable_progress_bar = false")
    return con


def _require_study(path: Path) -> Path:
    if not (path / DB_NAME).is_file():
        raise StudyError(
            f"{path} is not a mognad study (no {DB_NAME}); create it with 'mognad init {path}'"
        )
    return path


@dataclass
class Study:
    """A study store opened for analysis. Tables come back as tidy DataFrames.

    Open with :func:`open_study`. Tables are read on access; use :meth:`sql` for anything else.

    Examples
    --------
    >>> import tempfile
    >>> study = open_study(init_study(Path(tempfile.mkdtemp()) / "s"))
    >>> study.responses.columns.tolist()
    ['org_id', 'round', 'respondent_id', 'unit', 'role', 'item_id', 'value']
    >>> study.codebook.id, study.is_synthetic
    ('mognad-default-1', False)
    """

    path: Path
    _codebook: Codebook | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ connection
    def connect(self, *, read_only: bool = True) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection to the store (read-only by default)."""
        con = duckdb.connect(str(self.path / DB_NAME), read_only=read_only)
        quiet(con)
        return con

    def sql(self, query: str, params: list | None = None) -> pd.DataFrame:
        """Run a read-only SQL query against the store and return a DataFrame."""
        con = self.connect()
        try:
            return con.execute(query, params or []).df()
        finally:
            con.close()

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
    def responses(self) -> pd.DataFrame:
        """All survey answers, long: one row per respondent × item; ``value`` <NA> = don't know."""
        return self.responses_for()

    def responses_for(self, *, round: int | list[int] | None = None,
                      org_id: str | list[str] | None = None) -> pd.DataFrame:
        """Survey answers filtered by round(s) and/or organisation(s), in the long format.

        Examples
        --------
        >>> import tempfile
        >>> study = open_study(init_study(Path(tempfile.mkdtemp()) / "s"))
        >>> len(study.responses_for(round=2024, org_id="1384"))
        0
        """
        where, params = [], []
        for col, val in (("r.round", round), ("r.org_id", org_id)):
            if val is None:
                continue
            vals = list(val) if isinstance(val, list | tuple | set) else [val]
            where.append(f"{col} IN ({', '.join('?' for _ in vals)})")
            params.extend(vals)
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        out = self._frame(
            "SELECT r.org_id, r.round, r.respondent_id, r.unit, r.role, i.item_id, a.value "
            "FROM answers a JOIN respondents r USING (rid) JOIN items i USING (item_no) "
            f"{clause} ORDER BY r.org_id, r.round, r.respondent_id, a.item_no",
            params,
        )
        out["round"] = out["round"].astype("int64")
        out["value"] = out["value"].astype("Int64")
        return out

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
        con = self.connect()
        try:
            tables = ["organisations", "respondents", "answers", "invitations", "events",
                      "provenance"]
            return {t: int(con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]) for t in tables}
        finally:
            con.close()

    def info(self) -> dict:
        """A summary of the study: counts, rounds, organisations, provenance (JSON-ready)."""
        meta = self.meta
        prov = self.provenance
        per_round = self.sql(
            "SELECT round, count(DISTINCT org_id) AS organisations, count(*) AS respondents "
            "FROM respondents GROUP BY round ORDER BY round"
        )
        return {
            "study": str(self.path),
            "synthetic": meta.get("synthetic") == "true",
            "codebook": {"id": meta.get("codebook_id"), "sha256": meta.get("codebook_sha256")},
            "fingerprint": self.fingerprint,
            "counts": self.counts(),
            "rounds": [
                {k: int(v) for k, v in row.items()} for row in per_round.to_dict("records")
            ],
            "provenance": json.loads(prov.to_json(orient="records")),
        }


def open_study(path: str | Path) -> Study:
    """Open a study folder for analysis.

    Parameters
    ----------
    path : str or Path
        A folder created by :func:`init_study` / ``mognad init``.

    Returns
    -------
    Study
    """
    return Study(_require_study(Path(path)))


def read_key(path: str | Path) -> bytes:
    """The study's pseudonymisation key."""
    key = Path(path) / KEY_NAME
    if not key.is_file():
        raise StudyError(f"{key} is missing: without it respondent ids cannot be pseudonymised")
    return bytes.fromhex(key.read_text(encoding="ascii").strip())


__all__ = ["Study", "init_study", "open_study"]
