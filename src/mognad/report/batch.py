"""Run one report notebook for many organisations: parallel, resumable, with a manifest.

:func:`run_batch` renders every job with :func:`mognad.report.render.render_report`'s machinery on
a pool of warm local worker processes (or on a Dask cluster), and keeps in *out_dir*:

- ``<stem>.html`` / ``<stem>.pdf`` / ``<stem>.results.json`` per report (atomic, as always);
- ``manifest.csv`` and ``manifest.json``: one row per report with status (``ok``, ``failed``,
  ``skipped``; ``interrupted`` after Ctrl-C/SIGTERM), seconds, the error's last line, the output
  files and the input fingerprint;
- ``index.html``: every report with its status and links (self-contained, Swedish by default).

A failing report never stops the batch. A second run skips every report whose input fingerprint
(notebook bytes, parameters, the caller's data fingerprint and mognad's version) is unchanged
and whose files are still there.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from mognad.errors import MognadError
from mognad.report.render import (
    _atomic_write_text,
    _check_fast_kernel,
    _check_formats,
    _check_notebook,
    _failed_row,
    _render_job,
    _report_spec,
    _run_spec,
    find_chromium,
)

__all__ = [
    "MANIFEST_COLUMNS",
    "batch_failed",
    "input_fingerprint",
    "make_jobs",
    "read_manifest",
    "run_batch",
    "write_index",
]

#: Columns of ``manifest.csv`` and of the DataFrame :func:`run_batch` returns.
MANIFEST_COLUMNS = [
    "stem",
    "org_id",
    "label",
    "status",
    "seconds",
    "error",
    "reason",
    "outputs",
    "fingerprint",
    "finished_at",
]

_OK = ("ok", "skipped")


def _version() -> str:
    from mognad import __version__

    return __version__


def input_fingerprint(notebook, parameters: Mapping, data_fingerprint: str = "") -> str:
    """SHA-256 of everything a report depends on.

    Parameters
    ----------
    notebook : path-like
        The report notebook (its bytes count).
    parameters : mapping
        The report's parameters (canonical JSON: sorted keys).
    data_fingerprint : str
        The caller's fingerprint of the data, e.g. ``study.fingerprint``.

    Returns
    -------
    str
        64 hex digits; it also covers mognad's version.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> nb = pathlib.Path(tempfile.mkdtemp()) / "r.ipynb"
    >>> _ = nb.write_text("{}")
    >>> a = input_fingerprint(nb, {"org_id": "0180", "round": 2024}, "abc")
    >>> a == input_fingerprint(nb, {"round": 2024, "org_id": "0180"}, "abc")
    True
    >>> a == input_fingerprint(nb, {"org_id": "0180", "round": 2025}, "abc")
    False
    """
    digest = hashlib.sha256()
    digest.update(Path(notebook).read_bytes())
    digest.update(b"\0")
    digest.update(
        json.dumps(dict(parameters), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        .encode("utf-8")
    )
    digest.update(b"\0")
    digest.update(str(data_fingerprint or "").encode("utf-8"))
    digest.update(b"\0")
    digest.update(_version().encode("utf-8"))
    return digest.hexdigest()


def make_jobs(
    org_ids: Iterable[str],
    *,
    study: str,
    round: int,  # noqa: A002 - the notebooks' parameter name
    lang: str = "sv",
    stem: str = "{org_id}_{round}",
    labels: Mapping[str, str] | None = None,
    **extra,
) -> list[dict]:
    """Jobs for :func:`run_batch`: one per organisation, with the standard report parameters.

    Parameters
    ----------
    org_ids : iterable of str
        Organisation ids (strings; leading zeros kept).
    study : str
        Study folder, passed to the notebook as ``study``.
    round : int
        Survey round (year), passed as ``round``.
    lang : str
        Report language, passed as ``lang``.
    stem : str
        Format of the file stem; fields ``org_id``, ``round``, ``lang``.
    labels : mapping, optional
        ``org_id -> display name`` for ``index.html``.
    **extra
        More parameters for every notebook.

    Returns
    -------
    list of dict
        ``{"stem", "parameters", "label"}`` per organisation.

    Examples
    --------
    >>> make_jobs(["0180", "1480"], study="data/demo/study", round=2024)[0]
    {'stem': '0180_2024', 'parameters': {'study': 'data/demo/study', 'org_id': '0180', 'round': 2024, 'lang': 'sv'}, 'label': '0180'}
    """
    jobs = []
    for org in org_ids:
        org = str(org)
        params = {"study": str(study), "org_id": org, "round": int(round), "lang": lang, **extra}
        jobs.append(
            {
                "stem": stem.format(org_id=org, round=round, lang=lang),
                "parameters": params,
                "label": (labels or {}).get(org, org),
            }
        )
    return jobs


def read_manifest(out_dir) -> dict:
    """The previous batch's ``manifest.json`` in *out_dir* (``{}`` if none or unreadable)."""
    path = Path(out_dir) / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def batch_failed(manifest: pd.DataFrame) -> bool:
    """Whether any report of a batch failed, or its manifest or index could not be written
    (the CLI then exits non-zero).

    Examples
    --------
    >>> batch_failed(pd.DataFrame({"status": ["ok", "skipped"]}))
    False
    >>> batch_failed(pd.DataFrame({"status": ["ok", "failed"]}))
    True
    """
    if manifest is None:
        return False
    if manifest.attrs.get("write_errors"):
        return True
    if len(manifest) == 0 or "status" not in manifest:
        return False
    return bool(manifest["status"].isin(["failed", "interrupted"]).any())


# --------------------------------------------------------------------------------------------
# index.html
# --------------------------------------------------------------------------------------------

_TEXTS = {  # the progress bar and the manifest (the index page's texts are in the catalogue)
    "sv": {"title": "Rapporter", "failed": "misslyckades", "interrupted": "avbruten"},
    "en": {"title": "Reports", "failed": "failed", "interrupted": "interrupted"},
}

def write_index(rows: Sequence[Mapping], out_dir, *, notebook: str = "", lang: str = "sv") -> Path:
    """Write ``index.html`` listing every report with its score, type, status and links.

    The page is :func:`mognad.present.survey.index_page` (the one table renderer, escaped, with
    the synthetic banner when the reports say their data is synthetic). A failed report shows a
    short reason only, never exception text: ``error`` and the traceback stay in the manifest.

    Parameters
    ----------
    rows : sequence of mapping
        Manifest records (``stem``, ``label``, ``status``, ``files``, ``error``, ``results``,
        ``parameters``).
    out_dir : path-like
        The batch folder; links are relative to it.
    notebook : str
        Notebook name shown under the table.
    lang : {"sv", "en"}
        Language of the page.

    Returns
    -------
    pathlib.Path
        The path of ``index.html``.
    """
    from mognad.present.survey import index_page

    rounds = {(r.get("parameters") or {}).get("round") or (r.get("parameters") or {}).get("year")
              for r in rows}
    rounds.discard(None)
    created = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M")
    page = index_page(rows, lang=lang, round=int(rounds.pop()) if len(rounds) == 1 else None,
                      notebook=notebook, created=created, version=_version())
    path = Path(out_dir) / "index.html"
    _atomic_write_text(path, page)
    return path


# --------------------------------------------------------------------------------------------
# The batch
# --------------------------------------------------------------------------------------------


def _validate_jobs(jobs) -> list[dict]:
    if isinstance(jobs, Mapping) or not isinstance(jobs, Iterable):
        raise MognadError("jobs must be a list of dicts with 'stem' and 'parameters'")
    out, seen = [], set()
    for i, job in enumerate(jobs):
        if not isinstance(job, Mapping) or "stem" not in job:
            raise MognadError(f"job {i} has no 'stem' (each job: {{'stem': ..., 'parameters': ...}})")
        stem = str(job["stem"])
        if stem in seen:
            raise MognadError(f"two jobs write the same report {stem!r}: stems must be unique")
        seen.add(stem)
        params = dict(job.get("parameters") or {})
        org = params.get("org_id", job.get("org_id"))
        out.append(
            {
                "stem": stem,
                "parameters": params,
                "org_id": None if org is None else str(org),
                "label": str(job.get("label") or (org if org is not None else stem)),
            }
        )
    return out


def _outputs_exist(out_dir: Path, files: Mapping, formats) -> bool:
    needed = [files.get(f) for f in formats]
    if not all(needed):
        return False
    return all((out_dir / name).is_file() for name in list(files.values()))


def _as_frame(records: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(
        [
            {
                **{k: r.get(k) for k in MANIFEST_COLUMNS if k != "outputs"},
                "outputs": ";".join((r.get("files") or {}).values()),
            }
            for r in records
        ],
        columns=MANIFEST_COLUMNS,
    )
    frame["seconds"] = pd.to_numeric(frame["seconds"], errors="coerce").round(3)
    for col in ("stem", "org_id", "label", "status", "error", "outputs", "fingerprint",
                "finished_at"):
        frame[col] = frame[col].astype("string")
    return frame


class _ManifestWriter:
    """Writes manifest.csv/json atomically whenever a report finishes (thread-safe).

    A write that fails (a full disk, a read-only folder) never stops the batch: the old files
    stay as they were, the reason is kept in :attr:`errors` and the next write tries again.
    """

    def __init__(self, out_dir: Path, header: dict, records: list[dict]) -> None:
        self.out_dir = out_dir
        self.header = header
        self.records = records
        self.lock = threading.Lock()
        self.errors: dict[str, str] = {}

    def write(self) -> pd.DataFrame:
        with self.lock:
            frame = _as_frame(self.records)
            doc = {**self.header, "written_at": _now(), "reports": self.records}
            for name, text in (
                ("manifest.json", lambda: json.dumps(doc, ensure_ascii=False, indent=2,
                                                     default=str)),
                ("manifest.csv", lambda: frame.to_csv(index=False)),
            ):
                try:
                    _atomic_write_text(self.out_dir / name, text())
                except OSError as exc:
                    self.errors[name] = _os_reason(exc)
                else:
                    self.errors.pop(name, None)
            return frame


def _os_reason(exc: OSError) -> str:
    from mognad.report.render import failure_reason

    if exc.errno is not None:
        return failure_reason("OSError", f"[Errno {exc.errno}] {exc.strerror}")
    return str(exc)


def _now() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """Turn SIGTERM into KeyboardInterrupt while a batch runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


_STAGING_PREFIX = ".mognad-batch-"
_LOCK_NAME = ".lock"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _host() -> str:
    import socket

    return "".join(c if c.isalnum() else "_" for c in socket.gethostname())[:40] or "host"


def _open_staging(out: Path):
    """A staging folder ``.mognad-batch-<host>-<pid>-<random>`` with a lock file this process
    holds (flock) until the batch ends; returns ``(path, lock_fd)``."""
    staging = Path(tempfile.mkdtemp(dir=out, prefix=f"{_STAGING_PREFIX}{_host()}-{os.getpid()}-"))
    fd = os.open(staging / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    with contextlib.suppress(OSError):
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return staging, fd


def clean_stale_staging(out_dir) -> list[str]:
    """Remove staging folders that batches killed with ``kill -9`` (or a crash) left behind.

    A folder is stale when no live process holds its lock file (``flock``). Folders without a
    lock file count as stale when the process named in the folder name (same host) is gone, or
    when they are older than a day (folders of older versions name no process).

    Returns
    -------
    list of str
        Names of the folders removed.
    """
    import fcntl

    removed = []
    out = Path(out_dir)
    for folder in sorted(out.glob(f"{_STAGING_PREFIX}*")):
        if not folder.is_dir():
            continue
        stale = False
        lock = folder / _LOCK_NAME
        if lock.exists():
            try:
                fd = os.open(lock, os.O_RDWR)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                stale = False  # a live batch holds it (or locks are not supported here)
            else:
                stale = True
            finally:
                if stale:
                    shutil.rmtree(folder, ignore_errors=True)
                os.close(fd)
        else:
            parts = folder.name[len(_STAGING_PREFIX):].split("-")
            if len(parts) >= 3 and parts[0] == _host() and parts[1].isdigit():
                stale = not _pid_alive(int(parts[1]))
            else:
                with contextlib.suppress(OSError):
                    stale = time.time() - folder.stat().st_mtime > 86400
            if stale:
                shutil.rmtree(folder, ignore_errors=True)
        if stale:
            removed.append(folder.name)
    return removed


def _dask_render(spec: dict) -> dict:
    """Dask task: one report on a Dask worker (warm pool of that worker for the fast engine)."""
    try:
        return _run_spec(spec)
    except Exception as exc:  # noqa: BLE001 - recorded as a failed report
        return _failed_row(exc)


def run_batch(
    notebook,
    *,
    jobs: list[dict],
    out_dir,
    jobs_n: int | None = None,
    scheduler=None,
    timeout: float = 600,
    formats=("html", "pdf"),
    resume: bool = True,
    progress: bool = True,
    engine: str = "fast",
    kernel_name: str = "python3",
    data_fingerprint: str = "",
    lang: str = "sv",
    keep_ipynb: bool = False,
    profile: bool = False,
) -> pd.DataFrame:
    """Render one notebook for many parameter sets, in parallel, resumably.

    Parameters
    ----------
    notebook : path-like
        The report notebook (cell tagged ``parameters``).
    jobs : list of dict
        ``{"stem": "0180_2024", "parameters": {...}, "label": "Stockholm"}`` per report
        (``label`` optional; see :func:`make_jobs`). Stems must be unique.
    out_dir : path-like
        Folder for reports, ``manifest.csv``, ``manifest.json`` and ``index.html``.
    jobs_n : int, optional
        Worker processes (default ``os.cpu_count()``); ignored with *scheduler*.
    scheduler : str or distributed.Client, optional
        Address of a Dask scheduler (``"tcp://host:8786"``) or a client: run the reports on that
        cluster (its workers must see *out_dir* and the notebook at the same paths).
    timeout : float
        Seconds per report (per cell with ``engine="papermill"``).
    formats : sequence of {"html", "pdf"} or str
        What to write per report.
    resume : bool
        Skip reports whose fingerprint is unchanged and whose files exist (status ``skipped``).
    progress : bool
        Show a progress bar (tqdm, on stderr).
    engine : {"fast", "papermill"}
        See :func:`mognad.report.render.render_report`.
    kernel_name : str
        Jupyter kernel name.
    data_fingerprint : str
        The data's fingerprint (e.g. ``study.fingerprint``); part of each report's fingerprint.
    lang : {"sv", "en"}
        Language of ``index.html``.
    keep_ipynb : bool
        Also keep each executed notebook.
    profile : bool
        Also count store queries and figure renderings per report (``timings`` in
        ``manifest.json``; used by ``benchmarks/batch.py``).

    Returns
    -------
    pandas.DataFrame
        The manifest: ``stem, org_id, label, status, seconds, error, reason, outputs,
        fingerprint, finished_at``; ``status`` is ``ok``, ``failed`` or ``skipped``; ``error``
        is the exception's last line, ``reason`` the short text ``index.html`` shows.
        ``frame.attrs["write_errors"]`` names the batch files that could not be written
        (``{"manifest.json": "no space left on device"}``); :func:`batch_failed` counts them.

    A report whose stem is not a valid file name fails alone (the others run); stale staging
    folders of killed batches are removed first (:func:`clean_stale_staging`).

    Raises
    ------
    KeyboardInterrupt
        After Ctrl-C or SIGTERM: running reports are stopped, no partial file is left, and the
        manifest (unfinished reports ``interrupted``) and index are written first.

    Examples
    --------
    >>> jobs = make_jobs(["0180", "1480"], study="data/demo/study", round=2024)
    >>> manifest = run_batch("notebooks/org_report.ipynb", jobs=jobs,
    ...                      out_dir="reports/demo")  # doctest: +SKIP
    >>> batch_failed(manifest)  # doctest: +SKIP
    False
    """
    nb_path = _check_notebook(notebook)
    formats = _check_formats(formats)
    if engine == "fast" and scheduler is None:
        _check_fast_kernel(kernel_name)
    chromium = find_chromium() if "pdf" in formats else None
    jobs = _validate_jobs(jobs)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MognadError(f"cannot create the output folder {out}: {_os_reason(exc)}") from None
    out = out.resolve()
    clean_stale_staging(out)

    previous = {}
    if resume:
        for rec in read_manifest(out).get("reports", []):
            if isinstance(rec, Mapping) and "stem" in rec:
                previous[str(rec["stem"])] = rec

    records: list[dict] = []
    to_run: list[tuple[int, dict]] = []
    rejected: list[tuple[int, dict]] = []
    for job in jobs:
        fingerprint = input_fingerprint(nb_path, job["parameters"], data_fingerprint)
        record = {
            "stem": job["stem"],
            "org_id": job["org_id"],
            "label": job["label"],
            "status": "pending",
            "seconds": None,
            "error": None,
            "reason": None,
            "files": {},
            "fingerprint": fingerprint,
            "finished_at": None,
            "parameters": job["parameters"],
            "results": None,
        }
        prev = previous.get(job["stem"])
        if (
            prev is not None
            and prev.get("status") in _OK
            and prev.get("fingerprint") == fingerprint
            and _outputs_exist(out, prev.get("files") or {}, formats)
        ):
            record.update(
                status="skipped",
                seconds=0.0,
                files=dict(prev.get("files") or {}),
                finished_at=prev.get("finished_at"),
                results=prev.get("results"),
            )
        else:
            try:
                spec = _report_spec(
                    nb_path,
                    parameters=job["parameters"],
                    out_dir=out,
                    stem=job["stem"],
                    formats=formats,
                    timeout=timeout,
                    kernel_name=kernel_name,
                    engine=engine,
                    keep_ipynb=keep_ipynb,
                    lang=job["parameters"].get("lang") or lang,
                    chromium=chromium,
                )
            except MognadError as exc:  # e.g. an org id that makes no file name: this one fails
                rejected.append((len(records), _failed_row(exc)))
            else:
                spec["profile"] = bool(profile)
                to_run.append((len(records), spec))
        records.append(record)

    header = {
        "notebook": str(nb_path),
        "mognad_version": _version(),
        "data_fingerprint": data_fingerprint,
        "formats": list(formats),
        "engine": engine,
        "started_at": _now(),
    }
    writer = _ManifestWriter(out, header, records)
    staging, lock_fd = None, None
    if to_run:
        try:
            staging, lock_fd = _open_staging(out)
        except OSError as exc:  # e.g. a full disk: every report that would run fails
            rejected.extend((index, _failed_row(exc)) for index, _ in to_run)
            to_run = []
    for _, spec in to_run:
        spec["staging_root"] = str(staging)

    from tqdm import tqdm

    texts = _TEXTS.get(lang, _TEXTS["sv"])
    bar = tqdm(
        total=len(records),
        initial=len(records) - len(to_run) - len(rejected),
        desc=texts["title"],
        unit="st",
        disable=not progress,
        dynamic_ncols=True,
    )
    n_failed = 0

    def finish(index: int, row: dict) -> None:
        nonlocal n_failed
        rec = records[index]
        rec["status"] = row.get("status", "failed")
        rec["seconds"] = round(float(row.get("seconds") or 0.0), 3)
        rec["files"] = dict(row.get("outputs") or {})
        rec["results"] = row.get("results")
        rec["finished_at"] = _now()
        if row.get("timings"):
            rec["timings"] = row["timings"]
        if rec["status"] != "ok":
            n_failed += 1
            ename, evalue = row.get("ename", "Error"), row.get("evalue", "")
            rec["error"] = f"{ename}: {evalue}" if evalue else ename
            rec["reason"] = row.get("reason") or rec["error"].splitlines()[0][:200]
            rec["traceback"] = row.get("traceback", "")
            if row.get("cell_index") is not None:
                rec["cell_index"] = row["cell_index"]
            bar.set_postfix_str(f"{texts['failed']}: {n_failed}")
        writer.write()
        bar.update(1)

    write_errors: dict[str, str] = {}
    try:
        with _sigterm_as_interrupt():
            try:
                for index, row in rejected:
                    finish(index, row)
                if to_run:
                    if scheduler is not None:
                        _run_on_dask(scheduler, to_run, finish, nb_path, engine)
                    else:
                        _run_local(to_run, finish, jobs_n, engine)
            except BaseException:
                for rec in records:
                    if rec["status"] == "pending":
                        rec["status"] = "interrupted"
                        rec["error"] = "KeyboardInterrupt: the batch was interrupted"
                        rec["reason"] = texts["interrupted"]
                raise
    finally:
        bar.close()
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        if lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(lock_fd)
        frame = writer.write()
        write_errors.update(writer.errors)
        try:
            write_index(records, out, notebook=nb_path.name, lang=lang)
        except OSError as exc:
            write_errors["index.html"] = _os_reason(exc)
    frame.attrs["write_errors"] = write_errors
    return frame


def _run_local(to_run, finish, jobs_n, engine) -> None:
    """Run on this machine's warm worker pool, at most *jobs_n* reports at a time."""
    from concurrent.futures import FIRST_COMPLETED, wait

    from mognad.report import _executor

    workers = max(1, int(jobs_n or os.cpu_count() or 1))
    pool = _executor.shared_pool(engine, min_workers=workers)
    queue = list(to_run)
    pending: dict = {}
    try:
        while queue or pending:
            while queue and len(pending) < workers:
                index, spec = queue.pop(0)
                pending[pool.submit(_render_job, spec)] = index
            done, _ = wait(list(pending), timeout=0.5, return_when=FIRST_COMPLETED)
            for future in done:
                index = pending.pop(future)
                try:
                    row = future.result()
                except Exception as exc:  # noqa: BLE001 - a worker died: this report failed
                    row = _failed_row(exc)
                finish(index, row)
    except BaseException:
        # Interrupted: stop the running reports now (their workers remove their own temporary
        # files when told by SIGTERM); the next batch starts fresh workers.
        _executor.reset_shared_pool(engine)
        raise


def _run_on_dask(scheduler, to_run, finish, notebook, engine) -> None:
    import distributed

    from mognad.report._dask import WarmReportWorkers

    own_client = not isinstance(scheduler, distributed.Client)
    try:
        client = distributed.Client(scheduler, timeout=30) if own_client else scheduler
    except (OSError, TimeoutError) as exc:
        raise MognadError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
    futures = {}
    try:
        # every Dask worker starts warm report workers prepared for this notebook and study
        with contextlib.suppress(Exception):
            client.register_plugin(WarmReportWorkers(to_run[0][1], engine=engine))
        token = hashlib.sha256(f"{time.time_ns()}{os.getpid()}".encode()).hexdigest()[:8]
        for index, spec in to_run:
            future = client.submit(
                _dask_render, spec, key=f"mognad-report-{spec['stem']}-{token}", pure=False
            )
            futures[future] = index
        for future in distributed.as_completed(list(futures)):
            index = futures.pop(future)
            try:
                row = future.result()
            except Exception as exc:  # noqa: BLE001 - a task failed outside the notebook
                row = _failed_row(exc)
            finish(index, row)
    except BaseException:
        with contextlib.suppress(Exception):
            client.cancel(list(futures))
        raise
    finally:
        if own_client:
            with contextlib.suppress(Exception):
                client.close()
