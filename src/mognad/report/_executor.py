"""Notebook execution engines and warm worker processes (private; see :mod:`mognad.report.render`).

Two papermill engines are registered here:

``mognad-papermill``
    papermill's own nbclient engine, one fresh ipykernel per notebook, with the kernel settings
    reports need (quiet kernel log, deprecation warnings filtered, the results sidecar path in
    the kernel's environment). This is "plain papermill".
``mognad-fast``
    runs the cells in-process with an IPython ``InteractiveShell`` whose display hook, display
    publisher, traceback hook and ``sys.stdout``/``sys.stderr`` turn everything a cell shows into
    nbformat outputs exactly as nbclient would record them from ipykernel's messages (stream,
    display_data, execute_result, error, clear_output, display updates). It is meant to run in a
    process that was *forked* from a warm worker (:func:`execute_forked`): the worker has already
    imported pandas, scipy, statsmodels' formulas, matplotlib's inline backend, IPython, nbformat and
    papermill, so a report pays neither interpreter start, nor kernel start, nor those imports,
    nor kernel shutdown; and since every notebook runs in its own fresh fork, nothing one
    notebook does (globals, rcParams, monkey patches, open figures) reaches the next.

Warm workers are ``python -c`` subprocesses managed by :class:`WarmPool` (:func:`worker_main`).
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import datetime as _dt
import functools
import importlib
import io
import json
import os
import pickle
import queue
import select
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback as _traceback
import warnings
from concurrent.futures import Future

#: Warning filters applied to every notebook run (both engines): deprecation noise from
#: libraries (pingouin under pandas 3, Matplotlib via seaborn) must not reach a report.
REPORT_WARNING_FILTERS = (
    "ignore::DeprecationWarning",
    "ignore::PendingDeprecationWarning",
    "ignore::FutureWarning",
)

#: Kernel arguments for the papermill engine (ipykernel warns about unencrypted local TCP at
#: every start otherwise).
KERNEL_ARGUMENTS = ("--IPKernelApp.log_level=ERROR",)

#: Modules a fast worker imports once, before forking per notebook.
DEFAULT_PRELOAD = (
    "numpy",
    "pandas",
    "scipy.stats",
    "matplotlib",
    "matplotlib.pyplot",
    "statsmodels.formula.api",
    "IPython.display",
    "bs4",
    "mognad",
    "mognad.report.render",
    "mognad.report._sanitize",
    "mognad.report._chromium",
)

#: Environment variable through which a running notebook finds its results sidecar.
RESULTS_ENV = "MOGNAD_RESULTS_PATH"
#: Environment variable naming a file to which the fast engine appends "done/total" per cell.
PROGRESS_ENV = "MOGNAD_PROGRESS_PATH"

FAST_ENGINE = "mognad-fast"
PAPERMILL_ENGINE = "mognad-papermill"


def avoid_slow_imports() -> None:
    """Keep ``nbformat`` from building the ``rfc3987_syntax`` grammar (≈ 1 s per process).

    jsonschema imports it only to validate the ``iri`` string format, which notebook validation
    never uses; a ``None`` entry in :data:`sys.modules` makes that optional import fail quietly.
    Only done when neither module is loaded yet.
    """
    if "nbformat" not in sys.modules and "rfc3987_syntax" not in sys.modules:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]


def apply_warning_filters() -> None:
    """Install :data:`REPORT_WARNING_FILTERS` in this process, as ``PYTHONWARNINGS`` would."""
    import builtins

    for spec in reversed(REPORT_WARNING_FILTERS):
        action, _message, category = spec.split(":")[:3]
        warnings.filterwarnings(action, category=getattr(builtins, category))
        if spec not in sys.warnoptions:
            sys.warnoptions.append(spec)


def kernel_environment(results_path: str | None) -> dict[str, str]:
    """Environment for a notebook run: the results sidecar path and the warning filters."""
    env = dict(os.environ)
    env["PYTHONWARNINGS"] = ",".join(REPORT_WARNING_FILTERS)
    if results_path:
        env[RESULTS_ENV] = str(results_path)
    else:
        env.pop(RESULTS_ENV, None)
    return env


def _now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat().replace("+00:00", "Z")


# --------------------------------------------------------------------------------------------
# The capturing shell
# --------------------------------------------------------------------------------------------


class _Capture:
    """Collects the outputs of the cell being executed, the way nbclient would."""

    def __init__(self) -> None:
        self.outputs: list = []
        self.cell_index = 0
        self.clear_pending = False
        # display_id -> {cell outputs list id: (outputs list, [indices])}
        self.display_ids: dict[str, list[tuple[list, int]]] = {}

    def begin(self, outputs: list, cell_index: int) -> None:
        self.outputs = outputs
        self.cell_index = cell_index
        self.clear_pending = False

    def _before_output(self) -> None:
        if self.clear_pending:
            self._clear_now()
            self.clear_pending = False

    def _clear_now(self) -> None:
        self.outputs[:] = []
        for refs in self.display_ids.values():
            refs[:] = [r for r in refs if r[0] is not self.outputs]

    def stream(self, name: str, text: str) -> None:
        from nbformat.v4 import new_output

        if not text:
            return
        self._before_output()
        last = self.outputs[-1] if self.outputs else None
        if last is not None and last.get("output_type") == "stream" and last.get("name") == name:
            last["text"] += text
        else:
            self.outputs.append(new_output("stream", name=name, text=text))

    def display(self, data, metadata, transient, update: bool) -> None:
        from nbformat.v4 import new_output

        data = _encode_binary(data)
        metadata = dict(metadata or {})
        display_id = (transient or {}).get("display_id")
        if update:
            for outs, idx in self.display_ids.get(display_id, []):
                if idx < len(outs):
                    outs[idx]["data"] = data
                    outs[idx]["metadata"] = metadata
            return
        self._before_output()
        if display_id:
            self.display_ids.setdefault(display_id, []).append((self.outputs, len(self.outputs)))
        self.outputs.append(new_output("display_data", data=data, metadata=metadata))

    def execute_result(self, data, metadata, execution_count: int) -> None:
        from nbformat.v4 import new_output

        self._before_output()
        self.outputs.append(
            new_output(
                "execute_result",
                data=_encode_binary(data),
                metadata=dict(metadata or {}),
                execution_count=execution_count,
            )
        )

    def error(self, ename: str, evalue: str, traceback: list[str]) -> None:
        from nbformat.v4 import new_output

        self._before_output()
        self.outputs.append(
            new_output("error", ename=ename, evalue=evalue, traceback=list(traceback))
        )

    def clear(self, wait: bool) -> None:
        if wait:
            self.clear_pending = True
        else:
            self._clear_now()


_CAPTURE = _Capture()


def _encode_binary(data) -> dict:
    """Base64-encode binary mime data, as ipykernel/jupyter_client do on the wire."""
    out = {}
    for key, value in (data or {}).items():
        if isinstance(value, bytes | bytearray | memoryview):
            value = base64.b64encode(bytes(value)).decode("ascii")
        out[key] = value
    return out


class _CaptureStream(io.TextIOBase):
    """``sys.stdout``/``sys.stderr`` replacement feeding :data:`_CAPTURE` (like ipykernel's
    ``OutStream``)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "UTF-8"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, text) -> int:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        _CAPTURE.stream(self.name, str(text))
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass


_SHELL = None


def get_shell():
    """The process' capturing ``InteractiveShell`` (created on first use).

    Created in the warm worker before the heavy imports so that matplotlib's inline backend
    registers its figure flushing with it, exactly as in an ipykernel.
    """
    global _SHELL
    if _SHELL is not None:
        return _SHELL

    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets import Type
    from traitlets.config import Config

    class CaptureDisplayHook(DisplayHook):
        """Turns a cell's last expression into an ``execute_result`` output."""

        _pending = None

        def start_displayhook(self):
            self._pending = None

        def write_output_prompt(self):
            pass

        def write_format_data(self, format_dict, md_dict=None):
            self._pending = (format_dict, md_dict)

        def finish_displayhook(self):
            if self._pending and self._pending[0]:
                _CAPTURE.execute_result(self._pending[0], self._pending[1], self.prompt_count)
            self._pending = None

    class CaptureDisplayPublisher(DisplayPublisher):
        """Turns ``display()`` (and inline matplotlib figures) into ``display_data`` outputs."""

        def publish(self, data, metadata=None, *args, transient=None, update=False, **kwargs):
            self._validate_data(data, metadata)
            _CAPTURE.display(data, metadata, transient, update)

        def clear_output(self, wait=False):
            _CAPTURE.clear(wait)

    # The class name contains "ZMQ" on purpose: pandas (console width), tqdm and others detect
    # a notebook front end by ``"zmq" in str(type(get_ipython())).lower()``; ipykernel's shell is
    # ``ZMQInteractiveShell`` and the outputs must be the ones a kernel would produce.
    class ZMQCompatibleCaptureShell(InteractiveShell):
        """An ``InteractiveShell`` recording outputs like nbclient does from an ipykernel."""

        displayhook_class = Type(CaptureDisplayHook)
        display_pub_class = Type(CaptureDisplayPublisher)

        def init_virtualenv(self):
            """ipykernel does not add virtualenv paths either."""

        def init_environment(self):
            """Same environment tweaks as ipykernel's shell."""
            env = os.environ
            env["TERM"] = "xterm-color"
            env["CLICOLOR"] = "1"
            env["FORCE_COLOR"] = "1"
            env["CLICOLOR_FORCE"] = "1"
            env["PAGER"] = "cat"
            env["GIT_PAGER"] = "cat"

        def _showtraceback(self, etype, evalue, stb):
            _CAPTURE.error(str(etype.__name__), str(evalue), stb)
            self._last_traceback = stb

    config = Config()
    config.HistoryManager.hist_file = ":memory:"  # as nbclient starts its kernels
    # ipykernel's shell adds this so tqdm.auto detects a notebook; do the same.
    config.IPKernelApp.tqdm = "dummy value for https://github.com/tqdm/tqdm/pull/1628"
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    if "" not in sys.path[:1]:
        sys.path.insert(0, "")  # ipykernel puts the working directory first on sys.path
    _SHELL = ZMQCompatibleCaptureShell.instance(config=config)
    return _SHELL


def _language_info() -> dict:
    # The same dict ipykernel's IPythonKernel reports in kernel_info.
    return {
        "codemirror_mode": {"name": "ipython", "version": sys.version_info[0]},
        "file_extension": ".py",
        "mimetype": "text/x-python",
        "name": "python",
        "nbconvert_exporter": "python",
        "pygments_lexer": "ipython3",
        "version": sys.version.split()[0],
    }


@contextlib.contextmanager
def _captured_std_streams():
    old_out, old_err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _CaptureStream("stdout"), _CaptureStream("stderr")
    try:
        yield
    finally:
        sys.stdout, sys.stderr = old_out, old_err


class _ProgressFile:
    """Appends ``done/total`` lines to a file (read by the caller for a progress bar)."""

    def __init__(self, path: str | None, total: int) -> None:
        self.path, self.total = path, total

    def step(self, done: int) -> None:
        if not self.path:
            return
        with contextlib.suppress(OSError), open(self.path, "a", encoding="ascii") as fh:
            fh.write(f"{done}/{self.total}\n")


def read_progress(path: str | None) -> tuple[int, int] | None:
    """The last ``(done, total)`` a notebook run wrote to *path* (``None`` if nothing yet)."""
    if not path:
        return None
    try:
        with open(path, encoding="ascii") as fh:
            lines = fh.read().split()
    except OSError:
        return None
    for line in reversed(lines):
        done, _, total = line.partition("/")
        if done.isdigit() and total.isdigit():
            return int(done), int(total)
    return None


def _register_engines() -> None:
    from papermill.engines import Engine, NBClientEngine, papermill_engines

    if FAST_ENGINE in papermill_engines._engines and PAPERMILL_ENGINE in papermill_engines._engines:
        return

    class FastEngine(Engine):
        """papermill engine executing cells in this process' capturing InteractiveShell."""

        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, resources=None, **kwargs):
            shell = get_shell()
            path = ((resources or {}).get("metadata") or {}).get("path")
            old_cwd = os.getcwd()
            if path:
                os.chdir(path)
            nb = nb_man.nb
            try:
                progress = _ProgressFile(os.environ.get(PROGRESS_ENV), len(nb.cells))
                with _captured_std_streams():
                    for index, cell in enumerate(nb.cells):
                        try:
                            nb_man.cell_start(cell, index)
                            if not cls._execute_cell(shell, cell, index):
                                nb_man.cell_exception(nb.cells[index], cell_index=index)
                                break
                        finally:
                            nb_man.cell_complete(nb.cells[index], cell_index=index)
                            progress.step(index + 1)
            finally:
                os.chdir(old_cwd)
            nb.metadata["language_info"] = _language_info()
            return nb

        @staticmethod
        def _execute_cell(shell, cell, index) -> bool:
            # Mirrors nbclient.NotebookClient.async_execute_cell.
            if cell.cell_type != "code" or not cell.source.strip():
                return True
            tags = cell.metadata.get("tags", [])
            if "skip-execution" in tags:
                return True
            timing = {"iopub.status.busy": _now_iso()}
            cell.outputs = []
            _CAPTURE.begin(cell.outputs, index)
            cell.execution_count = shell.execution_count
            timing["iopub.execute_input"] = _now_iso()
            try:
                result = shell.run_cell(cell.source, store_history=True)
            finally:
                timing["shell.execute_reply"] = timing["iopub.status.idle"] = _now_iso()
                cell["metadata"]["execution"] = timing
            return bool(result.success) or "raises-exception" in tags

    class KernelEngine(NBClientEngine):
        """papermill's nbclient engine with the kernel environment and arguments reports need."""

        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, kernel_env=None, **kwargs):
            from papermill.clientwrap import PapermillNotebookClient
            from papermill.engines import logger
            from papermill.utils import merge_kwargs, remove_args

            kwargs = remove_args(["input_path"], **kwargs)
            execution_timeout = kwargs.pop("execution_timeout", None)
            start_timeout = kwargs.pop("start_timeout", 60)
            safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
            final_kwargs = merge_kwargs(
                safe_kwargs,
                timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log=logger,
                extra_arguments=list(KERNEL_ARGUMENTS),
                shutdown_kernel="immediate",
            )
            env = kernel_env or kernel_environment(None)
            progress = _ProgressFile(env.get(PROGRESS_ENV), len(nb_man.nb.cells))
            cell_complete = nb_man.cell_complete

            def complete(cell, cell_index=None, **kw):
                try:
                    return cell_complete(cell, cell_index=cell_index, **kw)
                finally:
                    if cell_index is not None:
                        progress.step(cell_index + 1)

            nb_man.cell_complete = complete
            client = PapermillNotebookClient(nb_man, **final_kwargs)
            return client.execute(env=env)

    papermill_engines.register(FAST_ENGINE, FastEngine)
    papermill_engines.register(PAPERMILL_ENGINE, KernelEngine)


def execute_notebook(
    notebook: str,
    *,
    parameters: dict,
    engine: str,
    kernel_name: str,
    cwd: str,
    results_path: str | None,
    timeout: float | None,
    output_path: str | None = None,
    progress_path: str | None = None,
):
    """Execute *notebook* with papermill and the given engine, in this process.

    For ``engine=FAST_ENGINE`` this process should be a fresh fork (see :func:`execute_forked`).
    Raises papermill's ``PapermillExecutionError`` when a cell fails.
    """
    avoid_slow_imports()
    import papermill

    _register_engines()
    kwargs: dict = {"resources": {"metadata": {"path": cwd}}}
    if engine == PAPERMILL_ENGINE:
        kwargs["kernel_env"] = kernel_environment(results_path)
        if progress_path:
            kwargs["kernel_env"][PROGRESS_ENV] = str(progress_path)
        kwargs["execution_timeout"] = timeout
    else:
        if results_path:
            os.environ[RESULTS_ENV] = str(results_path)
        else:
            os.environ.pop(RESULTS_ENV, None)
        if progress_path:
            os.environ[PROGRESS_ENV] = str(progress_path)
        else:
            os.environ.pop(PROGRESS_ENV, None)
    return papermill.execute_notebook(
        notebook,
        output_path,
        parameters=parameters,
        engine_name=engine,
        kernel_name=kernel_name,
        progress_bar=False,
        log_output=False,
        request_save_on_cell_execute=False,
        **kwargs,
    )


# --------------------------------------------------------------------------------------------
# Fork per notebook
# --------------------------------------------------------------------------------------------


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (no orphans after an interrupt)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def error_info(exc: BaseException) -> dict:
    """A JSON-able description of a notebook failure."""
    ename = getattr(exc, "ename", None) or type(exc).__name__
    evalue = getattr(exc, "evalue", None)
    if evalue is None:
        evalue = str(exc)
    tb = getattr(exc, "traceback", None)
    if isinstance(tb, list) and tb:
        text = "\n".join(tb)
    else:
        text = "".join(_traceback.format_exception(type(exc), exc, exc.__traceback__))
    return {
        "ename": str(ename),
        "evalue": str(evalue),
        "cell_index": getattr(exc, "cell_index", None),
        "exec_count": getattr(exc, "exec_count", None),
        "traceback": text,
    }


def execute_forked(
    notebook: str,
    *,
    parameters: dict,
    kernel_name: str,
    cwd: str,
    results_path: str | None,
    timeout: float | None,
    progress_path: str | None = None,
    profile: bool = False,
) -> tuple[dict, str | None]:
    """Execute *notebook* with the fast engine in a fresh fork of this (warm) process.

    With *profile*, the child also counts store connections/queries and figure renderings and
    their seconds (``status["profile"]``).

    Returns
    -------
    status : dict
        ``{"ok": True}`` or ``{"ok": False, "ename", "evalue", "traceback", ...}``.
    notebook_json : str or None
        The executed notebook (also when a cell failed), or ``None`` when the run was killed.
    """
    import gc

    read_fd, write_fd = os.pipe()
    # Objects of the warm parent are frozen for the child's garbage collector: it never walks
    # (and so never copies) the parent's memory pages.
    gc.freeze()
    pid = os.fork()
    if pid != 0:
        gc.unfreeze()
    if pid == 0:  # the child: run the notebook, send "status JSON\n" + notebook JSON, exit
        code = 0
        try:
            os.close(read_fd)
            _die_with_parent()
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            if "numpy" in sys.modules:  # a fresh kernel would not share the parent's global RNG
                sys.modules["numpy"].random.seed()
            status: dict = {"ok": True}
            nb = None
            counters = _install_profiling() if profile else None
            try:
                nb = execute_notebook(
                    notebook,
                    parameters=parameters,
                    engine=FAST_ENGINE,
                    kernel_name=kernel_name,
                    cwd=cwd,
                    results_path=results_path,
                    timeout=timeout,
                    progress_path=progress_path,
                )
            except BaseException as exc:  # noqa: BLE001 - everything is reported to the parent
                status = {"ok": False, **error_info(exc)}
            if counters is not None:
                status["profile"] = counters
            import nbformat

            payload = json.dumps(status).encode() + b"\n"
            if nb is not None:  # made by nbformat in this process: no need to validate it again
                payload += nbformat.v4.writes(nb).encode("utf-8")
            with os.fdopen(write_fd, "wb") as pipe:
                pipe.write(payload)
        except BaseException:  # noqa: BLE001
            code = 70
        finally:
            os._exit(code)

    os.close(write_fd)
    chunks: list[bytes] = []
    deadline = None if timeout is None else time.monotonic() + timeout
    timed_out = False
    try:
        while True:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([read_fd], [], [], wait)
            if not ready:
                timed_out = True
                break
            chunk = os.read(read_fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    except BaseException:  # interrupted (SIGTERM -> KeyboardInterrupt): take the child along
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    finally:
        os.close(read_fd)
    if timed_out:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _, wstatus = os.waitpid(pid, 0)

    if timed_out:
        return (
            {
                "ok": False,
                "ename": "TimeoutError",
                "evalue": f"the notebook did not finish within {timeout:g} s",
                "traceback": "",
            },
            None,
        )
    data = b"".join(chunks)
    head, _, body = data.partition(b"\n")
    if not head:
        how = (
            f"signal {os.WTERMSIG(wstatus)}"
            if os.WIFSIGNALED(wstatus)
            else f"exit code {os.waitstatus_to_exitcode(wstatus)}"
        )
        return (
            {
                "ok": False,
                "ename": "WorkerError",
                "evalue": f"the notebook process died ({how})",
                "traceback": "",
            },
            None,
        )
    return json.loads(head), (body.decode("utf-8") if body else None)


def _install_profiling() -> dict:
    """Count store connections, queries and figure renderings in this (forked) process.

    Only wraps functions (results unchanged); used by ``benchmarks/batch.py`` for the time
    breakdown per report.
    """
    counters = {"connections": 0, "connect_seconds": 0.0, "queries": 0, "query_seconds": 0.0,
                "figures": 0, "figure_seconds": 0.0}

    def timed(fn, count_key, seconds_key):
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                counters[count_key] += 1
                counters[seconds_key] += time.perf_counter() - t

        wrapper.__wrapped__ = fn
        return wrapper

    with contextlib.suppress(Exception):
        from mognad.io import store

        store.Study.connect = timed(store.Study.connect, "connections", "connect_seconds")
        store.Study.sql = timed(store.Study.sql, "queries", "query_seconds")
    with contextlib.suppress(Exception):
        from matplotlib.backend_bases import FigureCanvasBase

        # every PNG/SVG a figure output gets is rendered through the canvas' print_figure
        FigureCanvasBase.print_figure = timed(FigureCanvasBase.print_figure, "figures",
                                              "figure_seconds")
    return counters


# --------------------------------------------------------------------------------------------
# Per-notebook and per-batch preparation in a warm worker (before forking)
# --------------------------------------------------------------------------------------------

_PREPARED: dict = {}


def notebook_imports(notebook: str) -> list[str]:
    """Module names the code cells of *notebook* import (``import x`` / ``from x import y``)."""
    return [name for name in _notebook_names(notebook) if ":" not in name]


def _notebook_names(notebook: str) -> list[str]:
    """Imported module names, and ``module:attribute`` for every ``module.attribute`` the code
    uses on a plainly imported module (``mognad.organisation_profile``: the façade loads those
    lazily, so a warm worker resolves them before forking)."""
    import ast

    with open(notebook, encoding="utf-8") as fh:
        nb = json.load(fh)
    names: list[str] = []
    attributes: list[str] = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        # IPython magics and shell escapes are not Python: leave those lines out
        lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError:
            continue
        aliases = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.extend(alias.name for alias in node.names)
                aliases.update({alias.asname or alias.name: alias.name for alias in node.names
                                if "." not in alias.name})
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.append(node.module)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases):
                attributes.append(f"{aliases[node.value.id]}:{node.attr}")
    return list(dict.fromkeys(names + attributes))


def _notebook_defaults(notebook: str) -> dict:
    """Literal default values of the notebook's parameters cell."""
    import ast

    with open(notebook, encoding="utf-8") as fh:
        nb = json.load(fh)
    for cell in nb.get("cells", []):
        if "parameters" in (cell.get("metadata") or {}).get("tags", []):
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else source
            out = {}
            with contextlib.suppress(SyntaxError):
                for node in ast.parse(source).body:
                    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(
                        node.targets[0], ast.Name
                    ):
                        with contextlib.suppress(ValueError, TypeError, SyntaxError):
                            out[node.targets[0].id] = ast.literal_eval(node.value)
            return out
    return {}


def _national_grouping(peer_group: str) -> str:
    from mognad.views.organisation import national_grouping

    return national_grouping(peer_group)


@functools.lru_cache(maxsize=64)
def _notebook_names_at(notebook: str, stamp: int) -> tuple[str, ...]:
    """:func:`_notebook_names` read once per notebook version (*stamp*: its mtime)."""
    return tuple(_notebook_names(notebook))


def prepare(spec: dict, *, data: bool = True) -> dict:
    """Warm this worker for *spec* before the notebook is forked off (done once per notebook
    and study, reused by every later report).

    - imports every module the notebook's code imports, and resolves the names it uses from a
      lazily loading module such as the ``mognad`` façade (so no report pays for them);
    - for a notebook with a ``study`` parameter, reads the study's per-batch data once
      (:func:`mognad.views.national.preload`: registry, invitations, metadata, fingerprint and,
      for a ``round``, that round's national results with the notebook's ``n_boot``, ``seed``
      and ``peer_group``).

    - for a report with a PDF (``spec["chromium"]``), starts this worker's browser.

    With ``data=False`` only the imports (and the browser) are done: a batch warms its workers
    that way while it is still computing the national figures.

    Failures are ignored here: the notebook itself then does the work (and reports errors).

    Returns
    -------
    dict
        Seconds spent now on ``imports`` and ``data`` (0 when already prepared).
    """
    spent = {"imports": 0.0, "data": 0.0}
    notebook = spec["notebook"]
    try:
        stamp = os.stat(notebook).st_mtime_ns
    except OSError:
        return spent
    key = ("imports", notebook, stamp)
    if key not in _PREPARED:
        t = time.perf_counter()
        defaults = {}
        with contextlib.suppress(Exception):
            for name in _notebook_names_at(notebook, stamp):
                with contextlib.suppress(Exception):
                    module, _, attribute = name.partition(":")
                    loaded = importlib.import_module(module)
                    if attribute:
                        getattr(loaded, attribute)
            defaults = _notebook_defaults(notebook)
        _PREPARED[key] = defaults
        spent["imports"] = time.perf_counter() - t
    if spec.get("chromium"):
        with contextlib.suppress(Exception):
            from mognad.report import _chromium

            _chromium.prestart(spec["chromium"])
    params = {**_PREPARED[key], **(spec.get("parameters") or {})}
    study = params.get("study")
    if data and isinstance(study, str) and study:
        rnd = params.get("round", params.get("year"))
        settings = {
            "round": int(rnd) if isinstance(rnd, int | str) and str(rnd).isdigit() else None,
            "n_boot": params.get("n_boot", 1000),
            "seed": params.get("seed", 0),
            "peer": _national_grouping(params.get("peer_group", "org_type")),
        }
        data_key = ("data", os.path.abspath(os.path.join(os.path.dirname(notebook), study)),
                    json.dumps(settings, sort_keys=True, default=str))
        with contextlib.suppress(Exception):
            from mognad.views import national

            snap = national._PRELOADED.get(data_key[1])
            if data_key not in _PREPARED or snap is None or not snap.is_current():
                t = time.perf_counter()
                national.preload(data_key[1], **settings)
                if settings["round"] is not None and "mognad:organisation_profile" in \
                        _notebook_names_at(notebook, stamp):
                    from mognad.views import organisation

                    organisation.warm_up(data_key[1], settings["round"],
                                         n_boot=settings["n_boot"], seed=settings["seed"],
                                         peer_group=params.get("peer_group", "auto"))
                _PREPARED[data_key] = True
                spent["data"] = time.perf_counter() - t
    return spent


# --------------------------------------------------------------------------------------------
# Warm workers
# --------------------------------------------------------------------------------------------

_WORKER_ENGINE: str | None = None


class WorkerError(RuntimeError):
    """A warm worker process died or could not start."""


def _raise_keyboard_interrupt(signum, frame):  # pragma: no cover - signal handler
    raise KeyboardInterrupt


def _warm_up() -> None:
    """Load what the first notebook would otherwise load lazily, without touching global state."""
    with contextlib.suppress(Exception):
        import numpy as np
        import pandas as pd
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=(2, 2))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        ax.plot(np.arange(3), np.arange(3))
        ax.bar(["a", "b"], [1, 2])
        fig.savefig(io.BytesIO(), format="png")
        frame = pd.DataFrame({"a": [1.5, 2.0], "b": ["x", "y"]})
        frame._repr_html_()
        repr(frame)
        frame.groupby("b")["a"].agg(["mean", "count"])
    with contextlib.suppress(Exception):
        from mognad.present import style

        style.warm_up()  # catalogues, the plot style, fonts as the reports use them


def init_worker(engine: str, preload: tuple[str, ...] = DEFAULT_PRELOAD) -> None:
    """Prepare this process as a warm worker.

    Parameters
    ----------
    engine : {"fast", "papermill"}
        With ``"fast"``, create the capturing shell and import *preload* so every forked notebook
        finds them loaded.
    preload : tuple of str
        Module names to import.
    """
    global _WORKER_ENGINE
    _WORKER_ENGINE = engine
    avoid_slow_imports()
    apply_warning_filters()
    import nbformat  # noqa: F401
    import papermill  # noqa: F401

    _register_engines()
    if engine == "fast":
        get_shell()
        for name in preload:
            with contextlib.suppress(ImportError):
                importlib.import_module(name)
        _warm_up()
    from mognad.report import render as reporting

    reporting.get_exporter()


def _send(stream, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("!Q", len(data)) + data)
    stream.flush()


def _recv(stream):
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError("worker pipe closed")
    (size,) = struct.unpack("!Q", head)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("worker pipe closed")
    return pickle.loads(data)


def worker_main() -> None:
    """Entry point of a warm worker process (started by :class:`WarmPool`).

    Reads pickled ``(function, args, kwargs)`` requests on stdin and answers ``("ok", value)``
    or ``("error", exception)`` on the original stdout; anything else the process prints goes to
    its stderr (a log file the pool reads when a worker dies).
    """
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    _die_with_parent()
    # Ctrl-C reaches the whole process group: the runner decides and tells workers by SIGTERM,
    # which unwinds (removing temporary files) instead of dying mid-write.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        init_worker(os.environ.get("MOGNAD_WORKER_ENGINE", "fast"))
        _send(replies, ("ready", os.getpid()))
        while True:
            try:
                fn, args, kwargs = _recv(requests)
            except EOFError:
                break
            try:
                value = fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - handed to the caller's future
                try:
                    pickle.dumps(exc)
                except Exception:  # noqa: BLE001
                    exc = WorkerError(f"{type(exc).__name__}: {exc}")
                _send(replies, ("error", exc))
            else:
                _send(replies, ("ok", value))
    except KeyboardInterrupt:
        pass
    finally:
        with contextlib.suppress(Exception):
            from mognad.report import _chromium

            _chromium.close_browser()
        with contextlib.suppress(Exception):
            replies.close()
        os._exit(0)


class _Worker:
    """One worker process and the thread that feeds it tasks."""

    def __init__(self, pool: WarmPool) -> None:
        self.pool = pool
        self.proc: subprocess.Popen | None = None
        self.log = None
        self.thread = threading.Thread(target=self._loop, daemon=True, name="mognad-worker")
        self.thread.start()

    def _start(self) -> None:
        env = dict(os.environ)
        env["MOGNAD_WORKER_ENGINE"] = self.pool.engine
        env["PYTHONWARNINGS"] = ",".join(REPORT_WARNING_FILTERS)
        env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the worker
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from mognad.report._executor import worker_main; worker_main()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=env,
            close_fds=True,
        )
        with self.pool.lock:
            self.pool.procs.add(self.proc)
        kind, _ = _recv(self.proc.stdout)
        if kind != "ready":  # pragma: no cover - protocol error
            raise WorkerError("worker did not start")

    def _log_tail(self) -> str:
        if self.log is None:
            return ""
        with contextlib.suppress(Exception):
            self.log.seek(0)
            lines = self.log.read().decode("utf-8", "replace").strip().splitlines()
            return " | ".join(lines[-3:])
        return ""

    def _stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            with contextlib.suppress(Exception):
                proc.kill()
                proc.wait(5)
            with self.pool.lock:
                self.pool.procs.discard(proc)
        if self.log is not None:
            with contextlib.suppress(Exception):
                self.log.close()
            self.log = None

    def _loop(self) -> None:
        while True:
            item = self.pool.tasks.get()
            if item is None:
                break
            future, fn, args, kwargs = item
            if not future.set_running_or_notify_cancel():
                continue
            with self.pool.lock:
                self.pool.busy += 1
            try:
                if self.proc is None or self.proc.poll() is not None:
                    self._stop()
                    self._start()
                _send(self.proc.stdin, (fn, args, kwargs))
                kind, value = _recv(self.proc.stdout)
            except Exception as exc:  # noqa: BLE001 - the worker died or could not start
                code = self.proc.poll() if self.proc is not None else None
                tail = self._log_tail()
                self._stop()
                future.set_exception(
                    WorkerError(
                        f"report worker process ended unexpectedly (exit code {code})"
                        + (f": {tail}" if tail else "")
                    ).with_traceback(exc.__traceback__)
                )
            else:
                if kind == "ok":
                    future.set_result(value)
                else:
                    future.set_exception(value)
            finally:
                with self.pool.lock:
                    self.pool.busy -= 1
        self._stop()


class WarmPool:
    """Warm worker processes: each prepared once, then used for many notebooks.

    Workers are ``python -c`` subprocesses of this interpreter (so nothing of the caller's
    ``__main__`` is imported again), started on demand up to *max_workers*.

    Parameters
    ----------
    max_workers : int
        Upper bound of worker processes.
    engine : {"fast", "papermill"}
        What the workers prepare for (``"fast"`` preloads the heavy libraries).
    """

    def __init__(self, max_workers: int, engine: str) -> None:
        self.max_workers = max(1, int(max_workers))
        self.engine = engine
        self.tasks: queue.SimpleQueue = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.workers: list[_Worker] = []
        self.procs: set[subprocess.Popen] = set()
        self.busy = 0
        self.queued = 0
        self.closed = False

    def submit(self, fn, *args, **kwargs) -> Future:
        """Run ``fn(*args, **kwargs)`` in a worker; *fn* must be importable (picklable)."""
        future: Future = Future()
        with self.lock:
            if self.closed:
                raise RuntimeError("the worker pool is shut down")
            idle = len(self.workers) - self.busy - self.tasks.qsize()
            if idle <= 0 and len(self.workers) < self.max_workers:
                self.workers.append(_Worker(self))
        self.tasks.put((future, fn, args, kwargs))
        return future

    def shutdown(self, *, kill: bool = False, grace: float = 5.0) -> None:
        """Stop the workers; with *kill*, interrupt running work (SIGTERM, then SIGKILL)."""
        with self.lock:
            self.closed = True
            procs = list(self.procs)
        # cancel what has not started
        pending = []
        while True:
            try:
                pending.append(self.tasks.get_nowait())
            except queue.Empty:
                break
        for item in pending:
            if item is not None:
                item[0].cancel()
        if kill:
            for proc in procs:
                with contextlib.suppress(Exception):
                    proc.send_signal(signal.SIGTERM)
            end = time.monotonic() + grace
            for proc in procs:
                with contextlib.suppress(Exception):
                    proc.wait(max(0.05, end - time.monotonic()))
                with contextlib.suppress(Exception):
                    if proc.poll() is None:
                        proc.kill()
                        proc.wait(2)
        for _ in self.workers:
            self.tasks.put(None)
        for worker in self.workers:
            worker.thread.join(None if not kill else grace)


_SHARED_POOLS: dict[str, WarmPool] = {}
_SHARED_LOCK = threading.Lock()


def shared_pool(engine: str, min_workers: int = 1) -> WarmPool:
    """The process-wide warm pool for *engine* (workers start on demand and stay until exit).

    Parameters
    ----------
    engine : {"fast", "papermill"}
        What the workers prepare for.
    min_workers : int
        Raise the pool's bound to at least this many workers (default bound: CPU count).
    """
    with _SHARED_LOCK:
        pool = _SHARED_POOLS.get(engine)
        if pool is None or pool.closed:
            pool = _SHARED_POOLS[engine] = WarmPool(os.cpu_count() or 1, engine)
        with pool.lock:
            pool.max_workers = max(pool.max_workers, int(min_workers))
        return pool


def warm_up(notebook, *, parameters: dict | None = None, workers: int = 1, engine: str = "fast",
            chromium: str | None = None) -> None:
    """Start *workers* warm workers of the shared pool now and prepare them for *notebook*
    (imports and browser; :func:`prepare` with ``data=False``), without waiting."""
    if engine != "fast":
        return
    pool = shared_pool(engine, min_workers=workers)
    spec = {"notebook": str(notebook), "parameters": dict(parameters or {}), "chromium": chromium}
    for _ in range(max(1, int(workers)) - len(pool.workers)):
        pool.submit(prepare, spec, data=False)


def reset_shared_pool(engine: str) -> None:
    """Kill the shared pool for *engine* (running work is interrupted); the next use starts anew."""
    with _SHARED_LOCK:
        pool = _SHARED_POOLS.pop(engine, None)
    if pool is not None:
        pool.shutdown(kill=True)


@atexit.register
def _shutdown_shared_pools() -> None:  # pragma: no cover - exit hook
    with _SHARED_LOCK:
        pools = list(_SHARED_POOLS.values())
        _SHARED_POOLS.clear()
    for pool in pools:
        pool.shutdown(kill=True, grace=1.0)
