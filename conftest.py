"""Test-session setup for the whole tree (tests/ and the doctests in src/mognad).

Pseudonymisation keys live outside study folders, by default under ``~/.config/mognad/keys``.
The test suite must never write into the real home directory, so every test process (each
pytest-xdist worker, and the notebook kernels and CLI subprocesses they start, which inherit the
environment) gets a key folder of its own in a temporary directory; and the session fails if a
key file appeared in the real default folder all the same.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

_KEY_DIR: str | None = None
_HOME_KEYS = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "mognad" / "keys"
_HOME_KEYS_BEFORE: set[str] = set()


def _home_keys() -> set[str]:
    return {p.name for p in _HOME_KEYS.glob("*")} if _HOME_KEYS.is_dir() else set()


def pytest_configure(config) -> None:
    global _KEY_DIR, _HOME_KEYS_BEFORE
    _HOME_KEYS_BEFORE = _home_keys()
    _KEY_DIR = tempfile.mkdtemp(prefix="mognad-test-keys-")
    os.environ["MOGNAD_KEY_DIR"] = _KEY_DIR
    os.environ.pop("MOGNAD_KEY_FILE", None)


def pytest_sessionfinish(session, exitstatus) -> None:
    new = _home_keys() - _HOME_KEYS_BEFORE
    if new:
        print(f"\nERROR: the tests wrote key files into {_HOME_KEYS}: {sorted(new)}")
        session.exitstatus = 1


def pytest_unconfigure(config) -> None:
    if _KEY_DIR:
        shutil.rmtree(_KEY_DIR, ignore_errors=True)
