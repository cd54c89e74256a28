"""Test-session setup for the whole tree (tests/ and the doctests in src/mognad).

Pseudonymisation keys live outside study folders, by default under ``~/.config/mognad/keys``.
The test suite must never write into the real home directory, so every test process (each
pytest-xdist worker, and the notebook kernels and CLI subprocesses they start, which inherit the
environment) gets a key folder of its own in a temporary directory.
"""

from __future__ import annotations

import os
import shutil
import tempfile

_KEY_DIR: str | None = None


def pytest_configure(config) -> None:
    global _KEY_DIR
    _KEY_DIR = tempfile.mkdtemp(prefix="mognad-test-keys-")
    os.environ["MOGNAD_KEY_DIR"] = _KEY_DIR
    os.environ.pop("MOGNAD_KEY_FILE", None)


def pytest_unconfigure(config) -> None:
    if _KEY_DIR:
        shutil.rmtree(_KEY_DIR, ignore_errors=True)
