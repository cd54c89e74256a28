"""Shared fixtures: a small synthetic study, synthesised and ingested once per test session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mognad.io.ingest import ingest
from mognad.io.store import init_study, open_study
from mognad.synth import synthesize

SMALL_SEED = 20240501


@pytest.fixture(scope="session")
def small_data(tmp_path_factory) -> Path:
    """Folder written by ``synthesize(profile="small")``: inputs/, cases/, truth.json."""
    out = tmp_path_factory.mktemp("small") / "data"
    synthesize(out, seed=SMALL_SEED, profile="small")
    return out


@pytest.fixture(scope="session")
def small_study_path(small_data, tmp_path_factory) -> Path:
    """A study store with the small synthetic study ingested (treat as read-only)."""
    path = tmp_path_factory.mktemp("store") / "study"
    init_study(path)
    ingest(small_data / "inputs", study=path)
    return path


@pytest.fixture(scope="session")
def small_study(small_study_path):
    """The small synthetic study opened for analysis (read-only)."""
    return open_study(small_study_path)


@pytest.fixture()
def fresh_study(tmp_path, small_data) -> Path:
    """An empty study with only the small study's organisation registry ingested."""
    path = tmp_path / "study"
    init_study(path)
    ingest(small_data / "inputs" / "organisations.csv", study=path)
    return path


@pytest.fixture()
def copy_of_small_study(tmp_path, small_study_path) -> Path:
    """A private, writable copy of the ingested small study."""
    dest = tmp_path / "study"
    shutil.copytree(small_study_path, dest)
    return dest
