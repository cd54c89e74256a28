"""Run one parameterised notebook into a report: self-contained HTML, PDF and a results sidecar.

A report notebook is an ordinary Jupyter notebook with a cell tagged ``parameters`` (papermill's
convention). :func:`render_report` executes it with the given parameters and exports

- ``<out_dir>/<stem>.html``: self-contained (images embedded, no script, style sheet or font
  from any outside host), without code cells or prompts, with a print style sheet for A4, and
  sanitised: nothing on the page can load a file or URL or run code, whatever a string in the
  data contained (:func:`safe_page`);
- ``<out_dir>/<stem>.pdf``: the same HTML printed by a long-lived headless Chromium with
  JavaScript off that can load nothing but the page (:mod:`mognad.report._chromium`);
- ``<out_dir>/<stem>.results.json``: whatever the notebook handed to :func:`record_results`;
- optionally ``<out_dir>/<stem>.ipynb``: the executed notebook.

Every file is written under a temporary name in a hidden folder inside *out_dir* and moved into
place with :func:`os.replace` once the whole report succeeded, so a failure or an interruption
never leaves a half-written report behind.

Engines
-------
``engine="fast"`` (default) executes the notebook in a fresh fork of a warm worker process that
has already imported pandas, scipy, statsmodels' formulas and matplotlib, with an IPython shell that
records outputs exactly as nbclient records them from a kernel; before forking, the worker has
also imported what the notebook imports and read the study's per-batch data once
(:func:`mognad.report._executor.prepare`). ``engine="papermill"`` is plain papermill with a fresh
ipykernel per report. Both give the same report text (tested, also on the real organisation
report).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import math
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mognad.errors import MognadError

__all__ = [
    "FORMATS",
    "ReportError",
    "ReportResult",
    "export_html",
    "find_chromium",
    "html_to_pdf",
    "record_results",
    "render_report",
]

#: Output formats :func:`render_report` knows.
FORMATS = ("html", "pdf")
ENGINES = ("fast", "papermill")
RESULTS_ENV = "MOGNAD_RESULTS_PATH"

_STEM_RE = re.compile(r"^[A-Za-z0-9ÅÄÖåäöÉéÜü][A-Za-z0-9ÅÄÖåäöÉéÜü._ -]*$")


class ReportError(MognadError):
    """A report could not be produced (the notebook raised, timed out, or export failed).

    Parameters
    ----------
    message : str
        One line: which report, which cell, what went wrong.
    stem : str
        The report's file stem.
    ename, evalue : str
        Exception name and value (``evalue`` may be empty).
    traceback : str
        The notebook's traceback as plain text (ANSI colours removed).
    cell_index : int or None
        Index of the failing cell, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        stem: str = "",
        ename: str = "",
        evalue: str = "",
        traceback: str = "",
        cell_index: int | None = None,
    ):
        super().__init__(message)
        self.stem = stem
        self.ename = ename
        self.evalue = evalue
        self.traceback = traceback
        self.cell_index = cell_index

    @property
    def last_line(self) -> str:
        """``"ename: evalue"``, the error's last traceback line."""
        return f"{self.ename}: {self.evalue}" if self.evalue else self.ename


@dataclass(frozen=True)
class ReportResult:
    """What :func:`render_report` produced.

    Attributes
    ----------
    stem : str
        The reports' file stem.
    outputs : dict
        ``{"html": Path, "pdf": Path, "results": Path, "ipynb": Path}`` for the files written.
    results : dict or None
        What the notebook recorded with :func:`record_results` (``None`` if nothing).
    seconds : float
        Wall time of the whole report.
    engine : str
        ``"fast"`` or ``"papermill"``.
    """

    stem: str
    outputs: dict[str, Path] = field(default_factory=dict)
    results: dict | None = None
    seconds: float = 0.0
    engine: str = "fast"

    @property
    def html(self) -> Path | None:
        """Path of the HTML report, if written."""
        return self.outputs.get("html")

    @property
    def pdf(self) -> Path | None:
        """Path of the PDF report, if written."""
        return self.outputs.get("pdf")


# --------------------------------------------------------------------------------------------
# Results sidecar (called from inside notebooks)
# --------------------------------------------------------------------------------------------

_INTERACTIVE_RESULTS: dict = {}


def _jsonable(value):
    """Plain-JSON version of *value* (numpy/pandas scalars, frames, dates, NaN -> null)."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    module = type(value).__module__.split(".")[0]
    if module in ("pandas", "numpy"):
        import numpy as np
        import pandas as pd

        if isinstance(value, pd.DataFrame):
            return _jsonable(value.to_dict(orient="records"))
        if isinstance(value, pd.Series | pd.Index):
            return _jsonable(value.tolist())
        if isinstance(value, np.ndarray):
            return _jsonable(value.tolist())
        if value is pd.NA or value is pd.NaT:
            return None
        if isinstance(value, pd.Timestamp):
            return value.isoformat()
        if isinstance(value, np.generic):
            return _jsonable(value.item())
    if isinstance(value, Iterable):
        return [_jsonable(v) for v in value]
    raise MognadError(
        f"record_results: cannot store a value of type {type(value).__name__} as JSON; "
        "pass numbers, strings, lists, dicts or DataFrames"
    )


def record_results(results: Mapping) -> None:
    """Hand key results of a report notebook to the runner (a JSON sidecar).

    Call it from a report notebook. Under :func:`render_report` / :func:`mognad.report.batch.run_batch`
    the values end up in ``<out_dir>/<stem>.results.json`` (and in the batch manifest's
    ``results`` column of ``manifest.json``); calls add up, a later key replaces an earlier one.
    Run interactively (no runner), the values are only kept in memory.

    Parameters
    ----------
    results : mapping
        JSON-able values; numpy/pandas scalars, Series and DataFrames (as records), dates and
        NaN (as null) are converted.

    Examples
    --------
    >>> record_results({"org_id": "0180", "mean": 3.25, "n": 41})
    """
    if not isinstance(results, Mapping):
        raise MognadError("record_results expects a dict of results, e.g. {'mean': 3.2}")
    clean = _jsonable(dict(results))
    path = os.environ.get(RESULTS_ENV)
    if not path:
        _INTERACTIVE_RESULTS.update(clean)
        return None
    target = Path(path)
    merged = {}
    if target.exists():
        with contextlib.suppress(ValueError, OSError):
            merged = json.loads(target.read_text(encoding="utf-8"))
    merged.update(clean)
    _atomic_write_text(target, json.dumps(merged, ensure_ascii=False, indent=2, allow_nan=False))
    return None


# --------------------------------------------------------------------------------------------
# Atomic files
# --------------------------------------------------------------------------------------------


def _atomic_write_text(path: Path, text: str) -> None:
    _atomic_write_bytes(Path(path), text.encode("utf-8"))


def _current_umask() -> int:
    try:  # Linux: read it without changing it (os.umask would, for all threads)
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write *data* to *path* via a temporary file in the same folder and :func:`os.replace`.

    The file gets ordinary permissions (``0666`` minus the umask), not ``mkstemp``'s ``0600``.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_current_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# --------------------------------------------------------------------------------------------
# HTML export
# --------------------------------------------------------------------------------------------

PRINT_CSS = """
/* mognad: readable on screen, clean on A4 paper */
body.jp-Notebook { max-width: 62rem; margin: 0 auto; padding: 1.5rem 1.25rem 3rem; }
.jp-Cell.jp-mod-noInput.jp-mod-noOutputs { display: none; }
.jp-OutputArea-output img { max-width: 100%; height: auto; }
.jp-RenderedHTMLCommon table { margin-left: 0; }
@page { size: A4; margin: 18mm 16mm 20mm 16mm; }
@media print {
  body.jp-Notebook { max-width: none; margin: 0; padding: 0; font-size: 10pt; }
  .jp-Cell { padding: 2px 0; }
  h1, h2, h3, h4, h5 { break-after: avoid; page-break-after: avoid; }
  img, svg, table, pre, .jp-RenderedImage { break-inside: avoid; page-break-inside: avoid; }
  .jp-OutputArea-output { overflow: visible; }
  a { color: inherit; text-decoration: none; }
}
"""

# A template on top of nbconvert's "lab" one without any of its outside resources (require.js,
# MathJax, mermaid and widget managers from CDNs): reports are opened offline and archived.
_TEMPLATE = (
    "{%- extends 'index.html.j2' -%}\n"
    "{%- block html_head_js -%}{%- endblock html_head_js -%}\n"
    "{% block jupyter_widgets %}{% endblock jupyter_widgets %}\n"
    "{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}\n"
    "{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}\n"
    "{%- block html_head_css -%}\n<style type=\"text/css\">" + PRINT_CSS + "</style>\n"
    "{%- endblock html_head_css -%}\n"
)
_TEMPLATE_NAME = "mognad_report.html.j2"

_REMOTE_TAG_RE = re.compile(
    r"<(script|link|img|iframe|source|video|audio|embed)\b[^>]*?\b(?:src|href)\s*=\s*"
    r"[\"']?\s*(?:https?:)?//[^>]*>(?:\s*</\1\s*>)?",
    re.IGNORECASE,
)
_REMOTE_CSS_RE = re.compile(r"@import\s+url\(\s*[\"']?(?:https?:)?//[^)]*\)\s*;?", re.IGNORECASE)

_EXPORTER = None
_EXPORTER_LOCK = threading.Lock()


def _make_exporter():
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    class ReportHTMLExporter(HTMLExporter):
        """HTMLExporter whose page language comes from the resources of each call."""

        def _init_resources(self, resources):
            lang = (resources or {}).get("mognad_lang")
            resources = super()._init_resources(resources)
            if lang:
                resources["language_code"] = lang
            return resources

    # embed_images stays False: with it, nbconvert reads any local file named by an <img> in a
    # Markdown output (an organisation called '<img src="/study/pseudonym.key">' would put the
    # key into the report). The figures a notebook produced are already base64 in its outputs.
    return ReportHTMLExporter(
        template_name="lab",
        template_file=_TEMPLATE_NAME,
        extra_loaders=[DictLoader({_TEMPLATE_NAME: _TEMPLATE})],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=False,
    )


_TRUSTED_STYLES: frozenset[str] = frozenset()


def get_exporter():
    """The process' HTML exporter (built once and reused: ≈ 50 ms per export instead of ≈ 2 s)."""
    global _EXPORTER, _TRUSTED_STYLES
    with _EXPORTER_LOCK:
        if _EXPORTER is None:
            from mognad.report._executor import avoid_slow_imports

            avoid_slow_imports()
            exporter = _make_exporter()
            import nbformat

            # Warm the template environment once, and remember the template's own style sheets
            # (the only <style> texts trusted as they are).
            page, _ = exporter.from_notebook_node(nbformat.v4.new_notebook())
            _TRUSTED_STYLES = frozenset(_style_texts(page))
            _EXPORTER = exporter
        return _EXPORTER


def _style_texts(page: str) -> list[str]:
    from bs4 import BeautifulSoup

    return [tag.string or "" for tag in BeautifulSoup(page, "html.parser").find_all("style")]


def strip_remote_resources(html: str) -> str:
    """Remove any tag that would load a script, style sheet or media from an outside host.

    A safety net behind the template (e.g. for HTML that a notebook output embeds itself);
    ordinary ``<a href>`` links in the text are kept: they load nothing.
    """
    html = _REMOTE_TAG_RE.sub("", html)
    return _REMOTE_CSS_RE.sub("", html)


def safe_page(html: str) -> str:
    """*html* (an exported report page) with everything that could load or run neutralised.

    The page's head up to ``<body`` is the template's (its title is escaped by the template);
    everything from ``<body`` on holds notebook outputs and goes through
    :func:`mognad.report._sanitize.sanitize_html`: no script, no event handler, no
    ``javascript:`` link, no image other than embedded ``data:image/…`` figures, no element or
    style that fetches a file or URL.
    """
    from mognad.report._sanitize import sanitize_html

    get_exporter()  # the trusted template styles
    cut = html.find("<body")
    head, body = (html[:cut], html[cut:]) if cut >= 0 else ("", html)
    page = head + sanitize_html(body, trusted_styles=_TRUSTED_STYLES)
    if head and "</html>" not in page[-200:]:  # the fragment parser drops the unmatched end tag
        page = page.rstrip() + "\n</html>\n"
    return page


def export_html(nb, *, title: str | None = None, lang: str = "sv") -> str:
    """Export an executed notebook as a self-contained report page.

    Parameters
    ----------
    nb : nbformat.NotebookNode or str or path-like
        The executed notebook (or the path of an ``.ipynb``).
    title : str, optional
        The page title (default: the notebook's metadata title or file name).
    lang : str
        The page language (``<html lang=...>``), ``"sv"`` by default.

    Returns
    -------
    str
        The HTML: no code, no prompts, images embedded as data URIs, nothing from outside
        hosts, nothing that loads a local file or runs (see :func:`safe_page`).
    """
    from mognad.report._executor import avoid_slow_imports

    avoid_slow_imports()
    import nbformat

    if isinstance(nb, str | os.PathLike):
        name = Path(nb).stem
        nb = nbformat.read(str(nb), as_version=4)
    else:
        name = "report"
    exporter = get_exporter()
    resources = {"metadata": {"name": title or name}, "mognad_lang": lang or "sv"}
    nb = _report_outputs(nb)
    with _EXPORTER_LOCK:
        body, _ = exporter.from_notebook_node(nb, resources=resources)
    return safe_page(strip_remote_resources(body))


def _report_outputs(nb):
    """*nb* as the report shows it (a copy if anything changes): the raw HTML of every
    HTML/Markdown output closed in itself, so an unclosed tag in one output cannot hide the
    outputs after it; and no ``stderr`` stream (warnings are for the analyst: they stay in the
    executed notebook, ``keep_ipynb=True``, not in a page sent to an organisation)."""
    import copy

    from mognad.report._sanitize import balance_fragment

    changes = {}
    dropped = {(i, j) for i, cell in enumerate(nb.cells)
               for j, output in enumerate(cell.get("outputs") or [])
               if output.get("output_type") == "stream" and output.get("name") == "stderr"}
    for i, cell in enumerate(nb.cells):
        for j, output in enumerate(cell.get("outputs") or []):
            for mime in ("text/html", "text/markdown"):
                value = (output.get("data") or {}).get(mime)
                if value is None:
                    continue
                text = "".join(value) if isinstance(value, list) else str(value)
                fixed = balance_fragment(text)
                if fixed != text:
                    changes[(i, j, mime)] = fixed
    if not changes and not dropped:
        return nb
    nb = copy.deepcopy(nb)
    for (i, j, mime), fixed in changes.items():
        nb.cells[i].outputs[j]["data"][mime] = fixed
    for i in sorted({i for i, _ in dropped}):
        nb.cells[i].outputs = [o for j, o in enumerate(nb.cells[i].outputs)
                               if (i, j) not in dropped]
    return nb


# --------------------------------------------------------------------------------------------
# PDF with headless Chromium
# --------------------------------------------------------------------------------------------


def find_chromium() -> str:
    """Path of the Chromium binary used for PDFs.

    Looks for ``chromium`` (Debian's package), then ``chromium-browser`` and ``google-chrome``;
    the environment variable ``MOGNAD_CHROMIUM`` overrides.

    Raises
    ------
    MognadError
        When none is installed (with the install command).
    """
    override = os.environ.get("MOGNAD_CHROMIUM")
    if override:
        found = shutil.which(override)
        if found:
            return found
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise MognadError(
        "PDF reports need Chromium, which is not installed: run "
        "`apt-get install -y chromium` (Debian), or ask for --format html only"
    )


def html_to_pdf(html_path, pdf_path, *, timeout: float = 120, chromium: str | None = None,
                header_footer: dict | None = None) -> Path:
    """Print an HTML file to PDF with headless Chromium, atomically.

    The page is handed to a long-lived browser of this process from memory (see
    :mod:`mognad.report._chromium`): JavaScript is off and the page can load nothing, neither
    from the network nor from local files; only its embedded ``data:`` images render.

    Parameters
    ----------
    html_path : path-like
        A local HTML file.
    pdf_path : path-like
        Where the PDF goes; written under a temporary name first.
    timeout : float
        Seconds before the browser is given up on (and restarted for the next PDF).
    chromium : str, optional
        The browser binary (default: :func:`find_chromium`).
    header_footer : dict, optional
        Chromium's ``headerTemplate``/``footerTemplate`` (escaped HTML, see
        :func:`mognad.present.page.print_templates`): a running header and page numbers.

    Returns
    -------
    pathlib.Path
        *pdf_path*.

    Raises
    ------
    ReportError
        The browser could not start, died, or did not finish in time (``ename`` ``PDFError``
        or ``TimeoutError``); ``OSError`` when the PDF cannot be written (e.g. a full disk).
    """
    from mognad.report import _chromium

    html_path = Path(html_path)
    pdf_path = Path(pdf_path)
    chromium = chromium or find_chromium()
    html = html_path.read_bytes()
    try:
        data = _chromium.print_pdf(html, chromium, timeout=timeout, header_footer=header_footer)
    except _chromium.BrowserTimeout as exc:
        raise ReportError(
            f"Chromium did not print {html_path.name} within {timeout:g} s",
            ename="TimeoutError",
            evalue=f"PDF export took longer than {timeout:g} s",
        ) from exc
    except _chromium.BrowserError as exc:
        raise ReportError(
            f"Chromium could not print {html_path.name} to PDF: {exc}",
            ename="PDFError",
            evalue=f"Chromium could not print the report: {exc}",
        ) from exc
    if not data.startswith(b"%PDF"):
        raise ReportError(f"Chromium returned no PDF for {html_path.name}", ename="PDFError",
                          evalue="Chromium returned no PDF")
    _atomic_write_bytes(pdf_path, data)
    return pdf_path


# --------------------------------------------------------------------------------------------
# One report
# --------------------------------------------------------------------------------------------

_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _plain(text: str) -> str:
    return _ANSI_RE.sub("", text or "")


#: Longest report file stem, in UTF-8 bytes: room for ".results.json", the temporary names
#: and the 255-byte file name limit of common file systems.
MAX_STEM_BYTES = 150
_RESERVED_NAMES = re.compile(r"^(?:con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(?:\..*)?$", re.I)


def check_stem(stem: str) -> str:
    """Validate a report file stem (a plain file name without folder or extension).

    Examples
    --------
    >>> check_stem("0180_2024")
    '0180_2024'
    >>> check_stem("../x")
    Traceback (most recent call last):
    ...
    mognad.errors.MognadError: invalid report name '../x': use letters, digits, '.', '_', '-' or spaces, no folders (e.g. '0180_2024')
    """
    stem = str(stem)
    if not stem or not _STEM_RE.match(stem) or stem in (".", ".."):
        raise MognadError(
            f"invalid report name {stem!r}: use letters, digits, '.', '_', '-' or spaces, "
            "no folders (e.g. '0180_2024')"
        )
    if len(stem.encode("utf-8")) > MAX_STEM_BYTES:
        raise MognadError(
            f"invalid report name {stem[:40]!r}…: {len(stem.encode('utf-8'))} bytes long, at most "
            f"{MAX_STEM_BYTES} make a file name"
        )
    if _RESERVED_NAMES.match(stem) or stem.endswith((".", " ")):
        raise MognadError(
            f"invalid report name {stem!r}: reserved or not portable as a file name (Windows "
            "device names such as CON or NUL, or a trailing dot or space)"
        )
    return stem


_ERRNO_RE = re.compile(r"^\[Errno (\d+)\]")


def failure_reason(ename: str, evalue: str) -> str:
    """A short reason for a failed report, for people (no exception class, no traceback).

    Examples
    --------
    >>> failure_reason("OSError", "[Errno 28] No space left on device: '/r/a.pdf'")
    'no space left on device'
    >>> failure_reason("ValueError", "organisationen X finns inte\\nmore")
    'organisationen X finns inte'
    >>> failure_reason("KeyError", "")
    'the notebook failed (KeyError)'
    """
    import errno as _errno

    text = str(evalue or "").strip()
    code = _ERRNO_RE.match(text)
    if code:
        number = int(code.group(1))
        return os.strerror(number).lower() if number in _errno.errorcode else text.splitlines()[0]
    line = text.splitlines()[0].strip() if text else ""
    if not line:
        return f"the notebook failed ({ename or 'error'})"
    return line if len(line) <= 200 else line[:199] + "…"


def _check_formats(formats) -> tuple[str, ...]:
    if isinstance(formats, str):
        formats = tuple(f.strip() for f in formats.split(",") if f.strip())
    formats = tuple(dict.fromkeys(str(f).lower() for f in formats))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise MognadError(
            f"unknown report format(s) {', '.join(unknown) or '(none)'}: choose from "
            f"{', '.join(FORMATS)}"
        )
    return formats


def _check_notebook(notebook) -> Path:
    path = Path(notebook)
    if not path.is_file():
        raise MognadError(f"notebook not found: {path}")
    if path.suffix != ".ipynb":
        raise MognadError(f"not a Jupyter notebook (.ipynb): {path}")
    return path.resolve()


def _report_spec(
    notebook,
    *,
    parameters,
    out_dir,
    stem,
    formats,
    timeout,
    kernel_name,
    engine,
    keep_ipynb,
    title=None,
    lang=None,
    chromium=None,
) -> dict:
    """Validate the arguments of one report and bundle them (picklable) for a worker."""
    if engine not in ENGINES:
        raise MognadError(f"unknown engine {engine!r}: choose 'fast' or 'papermill'")
    nb_path = _check_notebook(notebook)
    formats = _check_formats(formats)
    if "pdf" in formats:
        chromium = chromium or find_chromium()
    params = dict(parameters or {})
    try:
        json.dumps(params)
    except TypeError as exc:
        raise MognadError(f"report parameters must be JSON values (str, int, ...): {exc}") from None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return {
        "notebook": str(nb_path),
        "parameters": params,
        "out_dir": str(out.resolve()),
        "stem": check_stem(stem),
        "formats": formats,
        "timeout": float(timeout) if timeout else None,
        "kernel_name": kernel_name,
        "engine": engine,
        "keep_ipynb": bool(keep_ipynb),
        "title": title or params.get("title") or str(stem),
        "lang": lang or params.get("lang") or "sv",
        "staging_root": None,
        "chromium": chromium if "pdf" in formats else None,
        "progress_path": None,
        "profile": False,
    }


def _execute(spec: dict, results_path: str):
    """Execute the notebook of *spec*; returns ``(nb, error_dict_or_None)``."""
    from mognad.report import _executor

    cwd = str(Path(spec["notebook"]).parent)
    if spec["engine"] == "fast":
        if _executor._WORKER_ENGINE != "fast":
            raise RuntimeError("the fast engine runs in a warm worker process")
        status, nb_json = _executor.execute_forked(
            spec["notebook"],
            parameters=spec["parameters"],
            kernel_name=spec["kernel_name"],
            cwd=cwd,
            results_path=results_path,
            timeout=spec["timeout"],
            progress_path=spec.get("progress_path"),
            profile=bool(spec.get("profile")),
        )
        spec["_child_profile"] = status.pop("profile", None)
        if not status.get("ok"):
            return None, status
        from nbformat import v4

        # Written by nbformat in the child a moment ago: read without validating it again.
        return v4.reads(nb_json), None
    try:
        nb = _executor.execute_notebook(
            spec["notebook"],
            parameters=spec["parameters"],
            engine=_executor.PAPERMILL_ENGINE,
            kernel_name=spec["kernel_name"],
            cwd=cwd,
            results_path=results_path,
            timeout=spec["timeout"],
            progress_path=spec.get("progress_path"),
        )
    except Exception as exc:  # noqa: BLE001 - reported as a failed report
        return None, _executor.error_info(exc)
    return nb, None


def _cell_seconds(nb) -> list[list]:
    """``[first source line, seconds]`` per executed code cell (nbclient's timestamps)."""
    out = []
    for cell in nb.cells:
        timing = (cell.get("metadata") or {}).get("execution") or {}
        begin, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
        if begin and end:
            t0 = _dt.datetime.fromisoformat(begin.replace("Z", "+00:00"))
            t1 = _dt.datetime.fromisoformat(end.replace("Z", "+00:00"))
            lines = [ln for ln in (cell.source or "").splitlines() if ln.strip()]
            out.append([(lines[0] if lines else "")[:60], round((t1 - t0).total_seconds(), 4)])
    return out


def _render_job(spec: dict) -> dict:
    """Produce one report (runs in a worker process, or in-process for ``engine="papermill"``).

    Returns a JSON-able dict: ``status`` ("ok"/"failed"), ``seconds``, ``outputs`` (format ->
    file name), ``results``, ``timings`` (seconds per step), and for failures ``ename``,
    ``evalue``, ``reason`` (short, for people), ``traceback``, ``cell_index``. Never raises for
    a notebook or export failure (a full disk included).
    """
    from mognad.report._executor import avoid_slow_imports

    avoid_slow_imports()
    import nbformat

    start = time.perf_counter()
    timings: dict = {}
    out_dir = Path(spec["out_dir"])
    stem = spec["stem"]
    # A batch's staging folder is never re-created here: once the batch removed it (after an
    # interruption), a straggling worker fails instead of leaving files behind.
    root = Path(spec.get("staging_root") or out_dir)
    try:
        staging = Path(tempfile.mkdtemp(dir=root, prefix=f".{stem}.tmp-"))
    except OSError as exc:
        return _failed_row(exc, time.perf_counter() - start)
    try:
        results_path = staging / "results.json"
        try:
            if spec["engine"] == "fast":
                from mognad.report import _executor

                t = time.perf_counter()
                timings["prepare"] = _executor.prepare(spec)
                timings["prepare"]["total"] = time.perf_counter() - t
            t = time.perf_counter()
            nb, error = _execute(spec, str(results_path))
            timings["execute"] = time.perf_counter() - t
            if spec.get("_child_profile"):
                timings["child"] = spec.pop("_child_profile")
            if error is not None:
                ename, evalue = error.get("ename", "Error"), error.get("evalue", "")
                return {
                    "status": "failed",
                    "seconds": time.perf_counter() - start,
                    "outputs": {},
                    "results": None,
                    "ename": ename,
                    "evalue": evalue,
                    "reason": failure_reason(ename, evalue),
                    "traceback": _plain(error.get("traceback", "")),
                    "cell_index": error.get("cell_index"),
                    "timings": timings,
                }
            timings["cells"] = _cell_seconds(nb)
            staged: dict[str, Path] = {}
            formats = spec["formats"]
            t = time.perf_counter()
            from mognad.present.page import print_templates, read_page_meta

            meta = read_page_meta(nb)  # the report's own title and running header, if it has one
            title = meta.get("report_title") or spec["title"]
            html = export_html(nb, title=title, lang=spec["lang"])
            html_tmp = staging / f"{stem}.html"
            html_tmp.write_text(html, encoding="utf-8")
            timings["export_html"] = time.perf_counter() - t
            if "html" in formats:
                staged["html"] = html_tmp
            if "pdf" in formats:
                t = time.perf_counter()
                pdf_timeout = max(30.0, min(spec["timeout"] or 300.0, 300.0))
                staged["pdf"] = html_to_pdf(
                    html_tmp, staging / f"{stem}.pdf", timeout=pdf_timeout,
                    chromium=spec.get("chromium"),
                    header_footer=print_templates({"running_header": title, **meta},
                                                  lang=spec["lang"]),
                )
                timings["pdf"] = time.perf_counter() - t
            if spec["keep_ipynb"]:
                ipynb_tmp = staging / f"{stem}.ipynb"
                ipynb_tmp.write_text(nbformat.writes(nb), encoding="utf-8")
                staged["ipynb"] = ipynb_tmp
            results = None
            if results_path.exists():
                results = json.loads(results_path.read_text(encoding="utf-8"))
                staged["results"] = results_path
            names = {
                "html": f"{stem}.html",
                "pdf": f"{stem}.pdf",
                "ipynb": f"{stem}.ipynb",
                "results": f"{stem}.results.json",
            }
            outputs = {}
            # Commit: every file is complete before it gets its final name.
            for kind in ("results", "ipynb", "pdf", "html"):
                if kind in staged:
                    os.replace(staged[kind], out_dir / names[kind])
                    outputs[kind] = names[kind]
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # noqa: BLE001 - export problems fail this report only
            row = _failed_row(exc, time.perf_counter() - start)
            row["timings"] = timings
            return row
        return {
            "status": "ok",
            "seconds": time.perf_counter() - start,
            "outputs": outputs,
            "results": results,
            "timings": timings,
        }
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _run_spec(spec: dict) -> dict:
    """Run *spec* with its engine: fast in the shared warm pool, papermill in this process."""
    if spec["engine"] == "papermill":
        return _render_job(spec)
    from mognad.report import _executor

    try:
        return _executor.shared_pool("fast").submit(_render_job, spec).result()
    except _executor.WorkerError as exc:
        return _failed_row(exc)


def _failed_row(exc: BaseException, seconds: float = 0.0) -> dict:
    """A failed-report row for an exception raised outside the notebook."""
    import traceback

    ename = getattr(exc, "ename", "") or type(exc).__name__
    evalue = getattr(exc, "evalue", "") or str(exc)
    if isinstance(exc, OSError) and exc.errno is not None:
        reason = failure_reason(ename, f"[Errno {exc.errno}] {exc.strerror}")
    elif isinstance(exc, MognadError) and not isinstance(exc, ReportError):
        reason = failure_reason(ename, str(exc))
    elif type(exc).__name__ == "WorkerError":
        reason = "the report's worker process ended unexpectedly"
    else:
        reason = failure_reason(ename, evalue)
    return {
        "status": "failed",
        "seconds": seconds,
        "outputs": {},
        "results": None,
        "ename": ename,
        "evalue": evalue,
        "reason": reason,
        "traceback": _plain("".join(traceback.format_exception(exc))),
        "cell_index": None,
    }


def _result_from_row(spec: dict, row: dict) -> ReportResult:
    if row["status"] != "ok":
        where = f" in cell {row['cell_index']}" if row.get("cell_index") is not None else ""
        last = f"{row['ename']}: {row['evalue']}" if row.get("evalue") else row.get("ename", "")
        raise ReportError(
            f"report {spec['stem']!r} failed{where}: {last}",
            stem=spec["stem"],
            ename=row.get("ename", ""),
            evalue=row.get("evalue", ""),
            traceback=row.get("traceback", ""),
            cell_index=row.get("cell_index"),
        )
    out_dir = Path(spec["out_dir"])
    return ReportResult(
        stem=spec["stem"],
        outputs={k: out_dir / v for k, v in row["outputs"].items()},
        results=row.get("results"),
        seconds=row["seconds"],
        engine=spec["engine"],
    )


def render_report(
    notebook,
    *,
    parameters: dict,
    out_dir,
    stem: str,
    formats=("html", "pdf"),
    timeout: float = 600,
    kernel_name: str = "python3",
    engine: str = "fast",
    keep_ipynb: bool = False,
    title: str | None = None,
    progress: bool = False,
) -> ReportResult:
    """Execute a parameterised notebook and export it as a report.

    Parameters
    ----------
    notebook : path-like
        The ``.ipynb`` with a cell tagged ``parameters``. It runs with its own folder as working
        directory (as in JupyterLab).
    parameters : dict
        Values injected after the parameters cell (papermill), e.g. ``{"study": "data/demo/
        study", "org_id": "0180", "round": 2024, "lang": "sv"}``. ``lang`` also sets the page
        language.
    out_dir : path-like
        Folder for the outputs (created if missing).
    stem : str
        File name without extension: ``<out_dir>/<stem>.html``, ``.pdf``, ``.results.json``.
    formats : sequence of {"html", "pdf"} or str
        What to write (``"html,pdf"`` also accepted).
    timeout : float
        Seconds the notebook may run (the whole notebook with ``engine="fast"``; each cell with
        ``engine="papermill"``, as papermill counts).
    kernel_name : str
        Jupyter kernel; the fast engine requires the Python kernel of this environment.
    engine : {"fast", "papermill"}
        ``"fast"``: warm worker process forked per notebook; ``"papermill"``: a fresh ipykernel.
    keep_ipynb : bool
        Also write the executed notebook ``<stem>.ipynb``.
    title : str, optional
        Page title (default: *stem*).
    progress : bool
        Show a progress bar over the notebook's cells, then the export (tqdm, on stderr).

    Returns
    -------
    ReportResult

    Raises
    ------
    ReportError
        The notebook raised or timed out, or the export failed; nothing was written.
    MognadError
        Bad arguments (missing notebook, unknown format, Chromium missing for PDF).

    Examples
    --------
    >>> res = render_report("notebooks/org_report.ipynb", parameters={"org_id": "0180"},
    ...                     out_dir="reports/demo", stem="0180")  # doctest: +SKIP
    >>> res.html  # doctest: +SKIP
    PosixPath('reports/demo/0180.html')
    """
    spec = _report_spec(
        notebook,
        parameters=parameters,
        out_dir=out_dir,
        stem=stem,
        formats=formats,
        timeout=timeout,
        kernel_name=kernel_name,
        engine=engine,
        keep_ipynb=keep_ipynb,
        title=title,
    )
    if engine == "fast":
        _check_fast_kernel(kernel_name)
    if not progress:
        return _result_from_row(spec, _run_spec(spec))
    return _result_from_row(spec, _run_with_progress(spec))


def _run_with_progress(spec: dict) -> dict:
    """:func:`_run_spec` with a tqdm bar fed by the notebook's per-cell progress file."""
    from concurrent.futures import Future

    from tqdm import tqdm

    from mognad.report._executor import read_progress

    with tempfile.TemporaryDirectory(prefix="mognad-progress-") as tmp:
        spec = {**spec, "progress_path": str(Path(tmp) / "progress")}
        future: Future = Future()

        def run() -> None:
            try:
                future.set_result(_run_spec(spec))
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                future.set_exception(exc)

        threading.Thread(target=run, daemon=True, name="mognad-report").start()
        with tqdm(total=None, desc=spec["stem"], unit="cell", dynamic_ncols=True,
                  leave=False, mininterval=0.5) as bar:
            while True:
                try:
                    return future.result(timeout=0.25)
                except TimeoutError:
                    pass
                state = read_progress(spec["progress_path"])
                if state is not None and state[0] != bar.n:
                    done, total = state
                    if bar.total != total + 1:  # the cells, then the export
                        bar.total = total + 1
                    if done >= total:
                        bar.set_postfix_str("export", refresh=False)
                    bar.update(done - bar.n)


def _check_fast_kernel(kernel_name: str) -> None:
    """The fast engine runs cells in this environment's Python: the kernel must be that one."""
    import sys

    try:
        from jupyter_client.kernelspec import KernelSpecManager

        spec = KernelSpecManager().get_kernel_spec(kernel_name)
    except Exception as exc:  # noqa: BLE001
        raise MognadError(f"unknown Jupyter kernel {kernel_name!r}: {exc}") from None
    exe = spec.argv[0] if spec.argv else ""
    same = exe in ("python", "python3", "{python}") or (
        shutil.which(exe) and Path(shutil.which(exe)).resolve() == Path(sys.executable).resolve()
    )
    if spec.language.lower() != "python" or not same:
        raise MognadError(
            f"engine='fast' runs notebooks in this Python ({sys.executable}); kernel "
            f"{kernel_name!r} uses {exe}: use engine='papermill' for other kernels"
        )


def report_text(html: str) -> str:
    """Visible text of a report page (for comparing reports; scripts and styles dropped).

    Examples
    --------
    >>> report_text("<html><style>p{}</style><body><p>Hej  <b>du</b></p></body></html>")
    'Hej du'
    """
    from html.parser import HTMLParser

    class _Text(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []
            self.skip = 0

        def handle_starttag(self, tag, attrs):
            if tag in ("script", "style", "head", "title"):
                self.skip += 1

        def handle_endtag(self, tag):
            if tag in ("script", "style", "head", "title") and self.skip:
                self.skip -= 1

        def handle_data(self, data):
            if not self.skip:
                self.parts.append(data)

    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())
