"""A long-lived headless Chromium that prints many HTML pages to PDF (private).

One browser process per worker prints every PDF of a batch over the DevTools protocol instead of
one browser start per PDF (≈ 0.9 s saved per report). The protocol runs over a pair of pipes
(``--remote-debugging-pipe``: file descriptors 3 and 4 of the browser), so no TCP port is opened
that another local user could connect to, and the browser quits by itself when the pipes close
(also when this process is killed).

What a printed page can do is locked down:

- JavaScript is off (``--blink-settings=scriptEnabled=false`` and
  ``Emulation.setScriptExecutionDisabled``);
- the page is handed to the browser from memory under an address of its own
  (``https://report.mognad.invalid/``); every other request (network, local files, any
  sub-resource) is failed by request interception (``Fetch``), host names resolve to nothing,
  and the page's origin may not read ``file://`` URLs anyway. Only ``data:`` URIs (the
  notebook's embedded figures) render.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import json
import os
import select
import shutil
import signal
import tempfile
import threading
import time

#: The address under which a report is handed to the browser (``.invalid`` never resolves).
REPORT_URL = "https://report.mognad.invalid/report.html"

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--remote-debugging-pipe",
    "--blink-settings=scriptEnabled=false",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
    "--no-first-run",
    "--no-default-browser-check",
    "--mute-audio",
    "--hide-scrollbars",
)


class BrowserError(RuntimeError):
    """The browser died, could not start or broke the protocol."""


class BrowserTimeout(BrowserError):
    """The browser did not answer in time."""


class Browser:
    """One headless Chromium process driven over ``--remote-debugging-pipe``.

    The process is started at once; the page is opened on the first :meth:`print_pdf`, so a
    browser started early (:func:`prestart`) comes up while other work runs.

    Parameters
    ----------
    executable : str
        The Chromium binary.
    """

    def __init__(self, executable: str) -> None:
        self.executable = executable
        self.owner = os.getpid()
        self.tmp = tempfile.mkdtemp(prefix="mognad-chromium-")
        self.pid: int | None = None
        self._buf = b""
        self._id = 0
        self._events: list[dict] = []
        cmd_r, self._cmd_w = os.pipe()
        self._res_r, res_w = os.pipe()
        devnull = os.open(os.devnull, os.O_RDWR)
        log = os.open(os.path.join(self.tmp, "chromium.log"), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            args = [executable, *FLAGS, f"--user-data-dir={self.tmp}/profile", "about:blank"]
            env = {k: v for k, v in os.environ.items() if not k.startswith("MOGNAD_")}
            self.pid = os.posix_spawn(
                executable,
                args,
                env,
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, devnull, 0),
                    (os.POSIX_SPAWN_DUP2, log, 1),
                    (os.POSIX_SPAWN_DUP2, log, 2),
                    (os.POSIX_SPAWN_DUP2, cmd_r, 3),
                    (os.POSIX_SPAWN_DUP2, res_w, 4),
                ],
                setpgroup=0,
            )
        except OSError as exc:
            for fd in (self._cmd_w, self._res_r):
                os.close(fd)
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise BrowserError(f"could not start {executable}: {exc.strerror or exc}") from exc
        finally:
            for fd in (cmd_r, res_w, devnull, log):
                os.close(fd)
        self.session: str | None = None

    def _ensure_session(self, timeout: float) -> str:
        """Open the page the reports are printed in (once, on first use)."""
        if self.session is not None:
            return self.session
        try:
            target = self.call("Target.createTarget", {"url": "about:blank"},
                               timeout=timeout)["targetId"]
            session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True},
                                timeout=timeout)["sessionId"]
            for method, params in (
                ("Page.enable", {}),
                ("Emulation.setScriptExecutionDisabled", {"value": True}),
                ("Fetch.enable", {"patterns": [{"urlPattern": "*"}]}),
            ):
                self.call(method, params, session=session, timeout=timeout)
        except BrowserTimeout as exc:
            raise BrowserError(f"the browser did not start within {timeout:g} s") from exc
        self.session = session
        return session

    # ------------------------------------------------------------------ protocol
    def alive(self) -> bool:
        """Whether the browser process is still running."""
        if self.pid is None:
            return False
        try:
            done, _ = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            return False
        return done == 0

    def _send(self, method: str, params: dict | None = None, session: str | None = None) -> int:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        data = json.dumps(msg).encode() + b"\0"
        try:
            while data:
                written = os.write(self._cmd_w, data)
                data = data[written:]
        except OSError as exc:
            raise BrowserError(f"the browser went away ({exc.strerror or exc})") from exc
        return self._id

    def _recv(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            wait = deadline - time.monotonic()
            if wait <= 0:
                raise BrowserTimeout("the browser did not answer in time")
            ready, _, _ = select.select([self._res_r], [], [], wait)
            if not ready:
                raise BrowserTimeout("the browser did not answer in time")
            chunk = os.read(self._res_r, 1 << 20)
            if not chunk:
                raise BrowserError("the browser closed the connection (it crashed or was killed)"
                                   + self._log_tail())
            self._buf += chunk
        message, _, self._buf = self._buf.partition(b"\0")
        return json.loads(message)

    def call(self, method: str, params: dict | None = None, *, session: str | None = None,
             timeout: float = 60.0) -> dict:
        """Send one command and wait for its answer (events arriving meanwhile are kept)."""
        deadline = time.monotonic() + timeout
        msg_id = self._send(method, params, session)
        while True:
            message = self._recv(deadline)
            if message.get("id") == msg_id:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error'].get('message', 'error')}")
                return message.get("result", {})
            if "method" in message:
                self._events.append(message)

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError):
            with open(os.path.join(self.tmp, "chromium.log"), "rb") as fh:
                lines = fh.read().decode("utf-8", "replace").strip().splitlines()
            lines = [ln for ln in lines if ln.strip()][-2:]
            if lines:
                return ": " + " | ".join(lines)
        return ""

    # ------------------------------------------------------------------ printing
    def print_pdf(self, html: bytes, *, timeout: float = 120.0,
                  header_footer: dict | None = None) -> bytes:
        """Load *html* (the whole page, from memory) and print it; returns the PDF bytes.

        *header_footer* (``headerTemplate``/``footerTemplate``, already escaped HTML) prints a
        running header and page numbers on every page."""
        self._ensure_session(min(timeout, 60.0))
        deadline = time.monotonic() + timeout
        self._events.clear()
        self._send("Page.navigate", {"url": REPORT_URL}, self.session)
        loaded = False
        while not loaded:
            message = self._events.pop(0) if self._events else self._recv(deadline)
            method = message.get("method")
            if method == "Fetch.requestPaused":
                params = message["params"]
                if params["request"]["url"] == REPORT_URL and not params.get("responseStatusCode"):
                    self._send("Fetch.fulfillRequest", {
                        "requestId": params["requestId"], "responseCode": 200,
                        "responseHeaders": [
                            {"name": "Content-Type", "value": "text/html; charset=utf-8"},
                            {"name": "Content-Security-Policy", "value":
                             "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
                             "font-src data:"},
                        ],
                        "body": base64.b64encode(html).decode("ascii"),
                    }, self.session)
                else:  # anything else the page asks for: refused
                    self._send("Fetch.failRequest", {"requestId": params["requestId"],
                                                     "errorReason": "BlockedByClient"},
                               self.session)
            elif method == "Page.loadEventFired":
                loaded = True
            elif "error" in message and message.get("id"):
                raise BrowserError(message["error"].get("message", "navigation failed"))
        result = self.call(
            "Page.printToPDF",
            {"printBackground": True, "preferCSSPageSize": True,
             "displayHeaderFooter": bool(header_footer), **(header_footer or {})},
            session=self.session, timeout=max(1.0, deadline - time.monotonic()),
        )
        return base64.b64decode(result["data"])

    # ------------------------------------------------------------------ shutdown
    def close(self) -> None:
        """Stop the browser (closing the pipes ends it; killed if it lingers)."""
        if self.owner != os.getpid():  # a forked copy: the browser belongs to the parent
            return
        for fd in (getattr(self, "_cmd_w", None), getattr(self, "_res_r", None)):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._cmd_w = self._res_r = None
        pid, self.pid = self.pid, None
        if pid is not None:
            end = time.monotonic() + 3.0
            exited = False
            while time.monotonic() < end:
                try:
                    done, _ = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    exited = True
                    break
                if done:
                    exited = True
                    break
                time.sleep(0.02)
            # the browser's helpers (zygote, renderers) share its process group
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            if not exited:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)
        shutil.rmtree(self.tmp, ignore_errors=True)


_BROWSER: Browser | None = None
_LOCK = threading.Lock()


def print_pdf(html: bytes, executable: str, *, timeout: float = 120.0,
              header_footer: dict | None = None) -> bytes:
    """Print *html* with this process' browser (started on first use, restarted if it died).

    Raises
    ------
    BrowserTimeout
        The page did not print within *timeout* seconds (the browser is restarted next time).
    BrowserError
        The browser could not start or died twice in a row.
    """
    global _BROWSER
    with _LOCK:
        for attempt in (1, 2):
            browser = _BROWSER
            if browser is not None and (browser.owner != os.getpid()
                                        or browser.executable != executable
                                        or not browser.alive()):
                if browser.owner == os.getpid():
                    browser.close()
                browser = _BROWSER = None
            if browser is None:
                browser = _BROWSER = Browser(executable)
            try:
                return browser.print_pdf(html, timeout=timeout, header_footer=header_footer)
            except BrowserTimeout:
                browser.close()
                _BROWSER = None
                raise
            except BrowserError:
                browser.close()
                _BROWSER = None
                if attempt == 2:
                    raise
        raise BrowserError("unreachable")  # pragma: no cover


def prestart(executable: str) -> None:
    """Start this process' browser now (if none runs), without waiting for it."""
    global _BROWSER
    with _LOCK:
        if _BROWSER is None or _BROWSER.owner != os.getpid() or not _BROWSER.alive():
            with contextlib.suppress(BrowserError):
                _BROWSER = Browser(executable)


def close_browser() -> None:
    """Stop this process' browser, if one runs."""
    global _BROWSER
    with _LOCK:
        browser, _BROWSER = _BROWSER, None
    if browser is not None:
        browser.close()


atexit.register(close_browser)
