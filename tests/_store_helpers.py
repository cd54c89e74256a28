"""Helpers shared by test_store.py and test_security_store.py: real ``mognad`` processes, and
running them without root's power to ignore file permissions."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ITEMS = [f"q{i:02d}" for i in range(1, 31)]


def wide_rows(org_id: str, round_: int, n: int, *, start: int = 0, value: int = 4,
              domain: str = "example.se") -> pd.DataFrame:
    """A wide responses frame of n respondents answering ``value`` on every item."""
    rows = {
        "org_id": [org_id] * n,
        "round": [str(round_)] * n,
        "respondent_id": [f"person{start + i}@{domain}" for i in range(n)],
        "unit": ["Kultur/Bibliotek"] * n,
        "role": ["chef"] * n,
    }
    for item in ITEMS:
        rows[item] = [str(value)] * n
    return pd.DataFrame(rows)


def no_dac_prefix() -> list[str]:
    """A command prefix under which file permissions bind, also for root (or skip the test).

    Root ignores permission bits through CAP_DAC_OVERRIDE; ``setpriv`` drops it from the
    bounding set so a read-only file or folder really is read-only for the child.
    """
    import pytest

    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot make files read-only for a child")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]


def mognad_cmd(*args: str, prefix: list[str] | None = None) -> list[str]:
    return [*(prefix or []), sys.executable, "-m", "mognad.cli", *map(str, args)]


def env_with(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run(*args, env: dict | None = None, prefix: list[str] | None = None, timeout: float = 180,
        cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``mognad ARGS`` in a fresh process; text output."""
    return subprocess.run(mognad_cmd(*args, prefix=prefix), capture_output=True, text=True,
                          env=env or dict(os.environ), timeout=timeout, cwd=cwd)


def start(*args, env: dict | None = None, stderr_path: Path | None = None) -> subprocess.Popen:
    """Start ``mognad ARGS`` in the background (stderr to a file, so it can be watched)."""
    err = open(stderr_path, "w") if stderr_path else subprocess.PIPE  # noqa: SIM115
    return subprocess.Popen(mognad_cmd(*args), stdout=subprocess.PIPE, stderr=err, text=True,
                            env=env or dict(os.environ))


def wait_for_text(path: Path, text: str, *, timeout: float = 60) -> None:
    """Wait until the file contains ``text`` (a process printed its busy message)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared in {path}: {path.read_text()!r}")


def assert_clean_error(proc: subprocess.CompletedProcess, *fragments: str) -> str:
    """Exit code 2, one clear message containing every fragment, no traceback."""
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, f"exit {proc.returncode}:\n{out}"
    assert "Traceback" not in out, out
    for fragment in fragments:
        assert fragment in out, f"{fragment!r} not in:\n{out}"
    return out
