"""Key separation (issue 10, item 3), tried as an attacker would: the pseudonymisation key never
lives in the study folder, a study is usable for analysis without it, a wrong or damaged key is
refused with a clear message, and old studies are migrated by ``mognad key move``."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import stat

import duckdb
import pandas as pd
import pytest
from _store_helpers import assert_clean_error, env_with, no_dac_prefix, run, wide_rows

from mognad.io.ingest import ingest
from mognad.io.store import (
    DB_NAME,
    KEY_FILE_ENV,
    LEGACY_KEY_NAME,
    PseudonymKeyError,
    init_study,
    key_dir,
    load_key,
    move_key,
    open_study,
    read_key,
)


@pytest.fixture()
def org_id(small_data) -> str:
    return pd.read_csv(small_data / "inputs" / "organisations.csv", dtype=str)["org_id"].iloc[0]


def hmac_pseudonym(key: bytes, org: str, rid: str) -> str:
    """RFC 2104 HMAC-SHA256 with Python's hmac (independent of mognad's DuckDB implementation)."""
    return hmac.new(key, f"{org}\x1f{rid.strip().lower()}".encode(), hashlib.sha256).hexdigest()[:20]


def folder_bytes(folder) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def counts(path) -> dict:
    with open_study(path) as st:
        return st.counts()


# ------------------------------------------------------------------------ the key is outside
def test_key_is_outside_the_study_with_mode_600(small_study_path):
    st = open_study(small_study_path)
    path, source = st.key_location()
    assert source == "default" and path.parent == key_dir()
    assert path.name == st.meta["study_id"] + ".key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not (small_study_path / LEGACY_KEY_NAME).exists()
    key = load_key(path)
    everything = folder_bytes(small_study_path)
    # neither the key (hex, upper-case hex, raw bytes) nor a file name pointing at it is there
    for needle in (key.hex().encode(), key.hex().upper().encode(), key, str(path).encode()):
        assert needle not in everything
    # what the study does record is an id that is not the key and cannot stand in for it
    kid = st.meta["key_id"]
    assert kid not in key.hex()


def _attack(folder, org: str, email: str, stored: set[str]) -> list[bytes]:
    """Issue 10's attacker: try every hex run and every short hex value found in the folder's
    files as the key of a guessed e-mail; the keys that reproduce a stored pseudonym."""
    import re

    candidates = set()
    for p in folder.rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            for run_ in re.findall(rb"[0-9a-fA-F]{16,}", data):
                text = run_.decode()
                candidates.add(run_)
                for size in (16, 64):
                    candidates.update(bytes.fromhex(text[i:i + size])
                                      for i in range(0, len(text) - size + 1, 2))
    return [k for k in candidates if hmac_pseudonym(k, org, email) in stored]


def test_attacker_with_only_the_folder_cannot_re_identify(small_study_path, small_data, tmp_path):
    raw = pd.read_csv(next((small_data / "inputs").glob("responses_*.csv")), dtype=str)
    row = raw.iloc[0]
    st = open_study(small_study_path)
    stored = set(st.responses["respondent_id"].astype(str))
    true_key = read_key(st)
    assert hmac_pseudonym(true_key, row.org_id, row.respondent_id) in stored
    shared = tmp_path / "shared"
    shutil.copytree(small_study_path, shared)
    assert _attack(shared, row.org_id, row.respondent_id, stored) == []
    # positive control: the same attack on the old layout (key file in the folder) succeeds
    (shared / LEGACY_KEY_NAME).write_text(true_key.hex() + "\n")
    assert _attack(shared, row.org_id, row.respondent_id, stored) == [true_key]


def test_init_writes_a_new_key_and_warns(tmp_path):
    keys = tmp_path / "keys"
    proc = run("init", tmp_path / "study", env=env_with(MOGNAD_KEY_DIR=str(keys)))
    assert proc.returncode == 0, proc.stderr
    made = list(keys.glob("*.key"))
    assert len(made) == 1 and stat.S_IMODE(made[0].stat().st_mode) == 0o600
    assert str(made[0]) in proc.stderr
    for fragment in ("Losing it", "re-identify", "Never put it in the study folder"):
        assert fragment in proc.stderr
    assert load_key(made[0]).hex() not in proc.stdout + proc.stderr
    assert sorted(p.name for p in (tmp_path / "study").iterdir()) == ["codebook.yaml", DB_NAME]


def test_key_option_and_environment_variable(tmp_path, small_data, org_id):
    """--key PATH (here through the API's key_file) and MOGNAD_KEY_FILE both name the key; one
    key shared by two studies gives the same pseudonyms in both."""
    key = tmp_path / "secret" / "shared.key"
    a = init_study(tmp_path / "a", key=key)
    b = tmp_path / "b"
    env = env_with(**{KEY_FILE_ENV: str(key)})
    proc = run("init", b, env=env)
    assert proc.returncode == 0 and "using the existing pseudonymisation key" in proc.stderr
    reg = small_data / "inputs" / "organisations.csv"
    wide_rows(org_id, 2024, 3).to_csv(tmp_path / "r.csv", index=False)
    ingest([reg, tmp_path / "r.csv"], study=open_study(a, key_file=key))
    proc = run("ingest", reg, tmp_path / "r.csv", "--study", b, env=env)
    assert proc.returncode == 0, proc.stderr
    ids = [set(open_study(s).responses["respondent_id"].astype(str)) for s in (a, b)]
    assert ids[0] == ids[1]
    # and they are HMAC(key, org \x1f e-mail) by Python's hmac
    assert hmac_pseudonym(load_key(key), org_id, "person0@example.se") in ids[0]
    # the CLI option: the same key given with --key is accepted
    wide_rows(org_id, 2023, 2).to_csv(tmp_path / "r23.csv", index=False)
    proc = run("ingest", tmp_path / "r23.csv", "--study", a, "--key", key)
    assert proc.returncode == 0 and "2 added" in proc.stdout, proc.stderr


def test_study_is_usable_without_its_key(copy_of_small_study, tmp_path, small_data, org_id):
    """Copy a study to a colleague who has no key: info, scores and reports work; only
    ingesting respondent files needs the key, and says so."""
    empty = tmp_path / "no-keys"
    env = env_with(MOGNAD_KEY_DIR=str(empty))
    proc = run("info", "--study", copy_of_small_study, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "not present (needed only to ingest respondent files)" in proc.stdout
    assert str(empty) in proc.stdout
    out = tmp_path / "scores.csv"
    proc = run("score", "--study", copy_of_small_study, "--out", out, "--n-boot", "10", env=env)
    assert proc.returncode == 0 and out.stat().st_size > 0, proc.stderr
    wide_rows(org_id, 2024, 3, domain="nokey.example").to_csv(tmp_path / "r.csv", index=False)
    before = counts(copy_of_small_study)
    proc = run("ingest", tmp_path / "r.csv", "--study", copy_of_small_study, env=env)
    assert_clean_error(proc, "pseudonymisation key", "is not at", "--key PATH", KEY_FILE_ENV)
    assert "nokey.example" not in proc.stdout + proc.stderr
    assert counts(copy_of_small_study) == before


def test_key_of_another_study_is_refused(copy_of_small_study, tmp_path, org_id):
    other = tmp_path / "other.key"
    init_study(tmp_path / "other", key=other)
    wide_rows(org_id, 2024, 3, domain="wrong.example").to_csv(tmp_path / "r.csv", index=False)
    before = counts(copy_of_small_study)
    proc = run("ingest", tmp_path / "r.csv", "--study", copy_of_small_study, "--key", other)
    assert_clean_error(proc, str(other), "this key does not belong to the study")
    assert counts(copy_of_small_study) == before
    proc = run("info", "--study", copy_of_small_study, "--key", other)
    assert proc.returncode == 0 and "WRONG KEY" in proc.stdout


SECRET_LOOKING = "SECRET-do-not-print-"


@pytest.mark.parametrize("content", [
    pytest.param(b"", id="empty"),
    pytest.param(b"zz" * 32 + b"\n", id="not-hex"),
    pytest.param(b"ab" * 31 + b"\n", id="too-short"),
    pytest.param(b"ab" * 33 + b"\n", id="too-long"),
    pytest.param(b"ab" * 32 + b"\nab\n", id="two-lines"),
    pytest.param(bytes(range(256)) * 4, id="binary"),
    pytest.param((SECRET_LOOKING * 100).encode(), id="another-secret"),
    pytest.param(b"ab" * 32 + b" " * 5_000_000, id="huge"),
])
def test_damaged_key_file_is_refused(small_study_path, tmp_path, content):
    bad = tmp_path / "bad.key"
    bad.write_bytes(content)
    with pytest.raises(PseudonymKeyError) as info:
        read_key(small_study_path, key_file=bad)
    assert str(bad) in str(info.value) and "not a mognad pseudonymisation key" in str(info.value)
    assert SECRET_LOOKING not in str(info.value)  # the file's content is never echoed


def test_damaged_key_file_on_the_command_line(copy_of_small_study, tmp_path, org_id):
    bad = tmp_path / "bad.key"
    bad.write_text(SECRET_LOOKING * 3)
    wide_rows(org_id, 2024, 3, domain="dmg.example").to_csv(tmp_path / "r.csv", index=False)
    before = counts(copy_of_small_study)
    proc = run("ingest", tmp_path / "r.csv", "--study", copy_of_small_study, "--key", bad)
    out = assert_clean_error(proc, str(bad), "not a mognad pseudonymisation key")
    assert SECRET_LOOKING not in out
    assert counts(copy_of_small_study) == before


def test_key_that_is_a_folder_or_unreadable(copy_of_small_study, tmp_path, org_id):
    wide_rows(org_id, 2024, 3, domain="dmg.example").to_csv(tmp_path / "r.csv", index=False)
    folder = tmp_path / "a-folder.key"
    folder.mkdir()
    proc = run("ingest", tmp_path / "r.csv", "--study", copy_of_small_study, "--key", folder)
    assert_clean_error(proc, "is a folder, not a key file")
    locked = tmp_path / "locked.key"
    shutil.copyfile(open_study(copy_of_small_study).key_location()[0], locked)
    locked.chmod(0o000)
    try:
        proc = run("ingest", tmp_path / "r.csv", "--study", copy_of_small_study, "--key", locked,
                   prefix=no_dac_prefix())
        assert_clean_error(proc, str(locked), "permission denied")
    finally:
        locked.chmod(0o600)


def test_key_inside_the_study_folder_is_refused(tmp_path, copy_of_small_study, org_id):
    proc = run("init", tmp_path / "s", "--key", tmp_path / "s" / "inside.key")
    assert_clean_error(proc, "must not live inside the study folder")
    assert not (tmp_path / "s").exists()
    inside = copy_of_small_study / "my.key"
    shutil.copyfile(open_study(copy_of_small_study).key_location()[0], inside)
    wide_rows(org_id, 2024, 3).to_csv(tmp_path / "r.csv", index=False)
    proc = run("ingest", tmp_path / "r.csv", "--study", copy_of_small_study, "--key", inside)
    assert_clean_error(proc, "must not live inside the study folder")


def test_info_says_where_the_key_is_and_never_prints_it(small_study_path):
    key = read_key(small_study_path)
    proc = run("info", "--study", small_study_path, "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)["key"]
    assert info["present"] and info["matches"] and info["source"] == "default"
    assert info["path"] == str(open_study(small_study_path).key_location()[0])
    assert info["id"] == open_study(small_study_path).meta["key_id"]
    text = run("info", "--study", small_study_path).stdout
    assert "present, belongs to this study" in text
    for shown in (proc.stdout, text):
        assert key.hex() not in shown and key.hex().upper() not in shown


# ------------------------------------------------------------------------ migrating old studies
def _old_layout(path, tmp_path) -> bytes:
    """Turn a study into the pre-separation layout: key in the folder, no key or study id."""
    st = open_study(path)
    src = st.key_location()[0]
    key = load_key(src)
    shutil.copyfile(src, path / LEGACY_KEY_NAME)  # a copy: the original study keeps its key
    st.close()
    con = duckdb.connect(str(path / DB_NAME))
    con.execute("DELETE FROM meta WHERE key IN ('key_id', 'study_id')")
    con.close()
    return key


def test_old_study_with_key_in_folder_is_migrated_by_key_move(copy_of_small_study, tmp_path,
                                                              small_data, org_id):
    old_key = _old_layout(copy_of_small_study, tmp_path)
    wide_rows(org_id, 2024, 3, domain="late.example").to_csv(tmp_path / "r.csv", index=False)
    before = counts(copy_of_small_study)
    proc = run("ingest", tmp_path / "r.csv", "--study", copy_of_small_study)
    assert_clean_error(proc, "inside the study folder",
                       f"mognad key move --study {copy_of_small_study}")
    assert counts(copy_of_small_study) == before
    proc = run("info", "--study", copy_of_small_study)
    assert proc.returncode == 0 and "WARNING" in proc.stderr and "key move" in proc.stderr

    proc = run("key", "move", "--study", copy_of_small_study)
    assert proc.returncode == 0, proc.stderr
    assert "Copies of the study folder made before this still contain the key" in proc.stderr
    assert not (copy_of_small_study / LEGACY_KEY_NAME).exists()
    st = open_study(copy_of_small_study)
    moved = st.key_location()[0]
    assert load_key(moved) == old_key and stat.S_IMODE(moved.stat().st_mode) == 0o600
    assert st.key_status()["matches"] is True
    st.close()
    # the same key, so respondents of earlier rounds keep their pseudonyms
    proc = run("ingest", tmp_path / "r.csv", "--study", copy_of_small_study)
    assert proc.returncode == 0, proc.stderr
    stored = set(open_study(copy_of_small_study).responses["respondent_id"].astype(str))
    assert hmac_pseudonym(old_key, org_id, "person0@late.example") in stored
    raw = pd.read_csv(next((small_data / "inputs").glob("responses_*.csv")), dtype=str).iloc[0]
    assert hmac_pseudonym(old_key, raw.org_id, raw.respondent_id) in stored


def test_key_move_refuses_to_overwrite_another_key(copy_of_small_study, tmp_path):
    _old_layout(copy_of_small_study, tmp_path)
    taken = tmp_path / "taken.key"
    init_study(tmp_path / "x", key=taken)
    with pytest.raises(PseudonymKeyError, match="another key is already there"):
        move_key(copy_of_small_study, key=taken)
    assert (copy_of_small_study / LEGACY_KEY_NAME).exists()  # nothing was moved


def test_key_move_registers_a_key_moved_by_hand(copy_of_small_study, tmp_path):
    old_key = _old_layout(copy_of_small_study, tmp_path)
    by_hand = tmp_path / "by-hand.key"
    shutil.move(copy_of_small_study / LEGACY_KEY_NAME, by_hand)
    os.chmod(by_hand, 0o600)
    with pytest.raises(PseudonymKeyError, match="records no pseudonymisation key"):
        read_key(copy_of_small_study, key_file=by_hand)
    proc = run("key", "move", "--study", copy_of_small_study)
    assert_clean_error(proc, "give the key file it was made with: --key PATH")
    move_key(copy_of_small_study, key=by_hand)
    assert read_key(copy_of_small_study, key_file=by_hand) == old_key


def test_tests_never_write_keys_into_the_home_directory():
    assert key_dir() != (os.path.expanduser("~/.config/mognad/keys"))
    assert "mognad-test-keys-" in str(key_dir())


def test_ingest_api_honours_key_file(fresh_study, tmp_path, org_id):
    wide_rows(org_id, 2024, 3).to_csv(tmp_path / "r.csv", index=False)
    with pytest.raises(PseudonymKeyError, match="is not at"):
        ingest(tmp_path / "r.csv", study=open_study(fresh_study, key_file=tmp_path / "none.key"))
    ingest(tmp_path / "r.csv", study=open_study(fresh_study))
    assert counts(fresh_study)["respondents"] == 3


def test_training_files_use_the_same_key_checks(copy_of_small_study, small_data, tmp_path):
    """Course participants are pseudonymised with the study's key too (governance's training
    files): a wrong key is refused there as well, the right one (default place) works."""
    other = tmp_path / "other.key"
    init_study(tmp_path / "other", key=other)
    training = small_data / "cases" / "training.csv"
    before = counts(copy_of_small_study)
    with pytest.raises(PseudonymKeyError, match="does not belong to the study"):
        ingest(training, study=open_study(copy_of_small_study, key_file=other))
    assert counts(copy_of_small_study) == before
    results = ingest(training, study=open_study(copy_of_small_study))
    assert [r.status for r in results] == ["added"]
