"""The study store: concurrent writers and readers (real processes), read-only stores, failed
writes, and the compact read path (categoricals, one connection per Study)."""

from __future__ import annotations

import gc
import os
import stat
import subprocess
import sys
import time

import duckdb
import numpy as np
import pandas as pd
import pytest
from _store_helpers import (
    assert_clean_error,
    env_with,
    no_dac_prefix,
    run,
    start,
    wait_for_text,
    wide_rows,
)

from mognad.errors import StudyError, ValidationError
from mognad.io import ingest as ingest_module
from mognad.io.ingest import _write_responses, ingest
from mognad.io.store import DB_NAME, StoreBusyError, init_study, open_study
from mognad.scoring import bootstrap_scores, score


@pytest.fixture()
def org_id(small_data) -> str:
    return pd.read_csv(small_data / "inputs" / "organisations.csv", dtype=str)["org_id"].iloc[0]


def counts(path) -> dict:
    with open_study(path) as st:
        return st.counts()


# ------------------------------------------------------------------------ concurrent writers
def _two_ingests_behind_a_reader(study, file_a, file_b, tmp_path):
    """Start two ``mognad ingest`` processes while this process holds the store open for reading:
    both validate (reading is allowed), both then wait for the write lock; the reader is closed
    only when both say they are waiting. Returns both finished processes."""
    holder = open_study(study)
    holder.release_after = None  # keep the connection however long the ingests take to start
    holder.counts()  # the read connection is now open: writers must wait
    env = env_with(MOGNAD_BUSY_TIMEOUT="120")
    procs, errs = [], []
    for i, f in enumerate((file_a, file_b)):
        err = tmp_path / f"ingest{i}.err"
        procs.append(start("ingest", f, "--study", study, env=env, stderr_path=err))
        errs.append(err)
    try:
        for err in errs:
            wait_for_text(err, "store busy, waiting")
    finally:
        holder.close()
    outs = []
    for p, err in zip(procs, errs, strict=True):
        stdout, _ = p.communicate(timeout=120)
        outs.append((p.returncode, stdout + err.read_text()))
    return outs


def test_two_ingests_of_the_same_file_at_once_add_it_once(fresh_study, tmp_path, org_id):
    f = tmp_path / "a.csv"
    wide_rows(org_id, 2024, 40).to_csv(f, index=False)
    before = counts(fresh_study)
    outs = _two_ingests_behind_a_reader(fresh_study, f, f, tmp_path)
    for rc, text in outs:
        assert rc == 0 and "Traceback" not in text, text
    assert sorted("added" if "40 added" in t else "unchanged" for _, t in outs) == [
        "added", "unchanged"]
    after = counts(fresh_study)
    # 40 respondents x 30 items, once (the wide_rows fixture plants exactly that)
    assert after["respondents"] - before["respondents"] == 40
    assert after["answers"] - before["answers"] == 40 * 30
    assert after["provenance"] - before["provenance"] == 1


def test_two_files_with_the_same_respondents_at_once(fresh_study, tmp_path, org_id):
    """Same people, other answers, in two files ingested at once: one is added, the other is
    rejected (the clash check runs again inside the write transaction)."""
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    wide_rows(org_id, 2024, 30, value=4).to_csv(a, index=False)
    wide_rows(org_id, 2024, 30, value=2).to_csv(b, index=False)
    before = counts(fresh_study)
    outs = _two_ingests_behind_a_reader(fresh_study, a, b, tmp_path)
    codes = sorted(rc for rc, _ in outs)
    assert codes == [0, 2], outs
    rejected = next(t for rc, t in outs if rc == 2)
    assert "already in the store" in rejected and "Traceback" not in rejected
    assert "@example.se" not in rejected  # rows are named, identities never
    assert counts(fresh_study)["respondents"] - before["respondents"] == 30
    with open_study(fresh_study) as st:
        per = st.sql("SELECT count(*) AS n FROM respondents GROUP BY org_id, round, "
                     "respondent_id HAVING count(*) > 1")
    assert per.empty


def test_two_registries_at_once_do_not_duplicate_an_organisation(tmp_path):
    """Two registry files, both new to the store, naming one org differently: only one lands."""
    study = init_study(tmp_path / "s")
    a, b = tmp_path / "reg_a.csv", tmp_path / "reg_b.csv"
    a.write_text("org_id,name,org_type\n0114,Upplands Väsby kommun,kommun\n", encoding="utf-8")
    b.write_text("org_id,name,org_type\n0114,Väsby kommun,kommun\n0115,Vallentuna kommun,kommun\n",
                 encoding="utf-8")
    outs = _two_ingests_behind_a_reader(study, a, b, tmp_path)
    assert sorted(rc for rc, _ in outs) == [0, 2], outs
    with open_study(study) as st:
        orgs = st.organisations
    assert orgs["org_id"].value_counts().max() == 1


def test_write_transaction_refuses_respondents_already_in_the_store(fresh_study, tmp_path,
                                                                    org_id):
    """The last check before the insert (in the transaction) names rows, never identities."""
    wide_rows(org_id, 2024, 5).to_csv(tmp_path / "a.csv", index=False)
    ingest(tmp_path / "a.csv", study=fresh_study)
    st = open_study(fresh_study)
    have = st.sql("SELECT org_id, round AS round_int, respondent_id, unit, role FROM "
                  "respondents ORDER BY rid")
    resp = have.assign(_row=np.arange(2, 2 + len(have)))
    data = (resp, (np.repeat(np.arange(len(resp)), 1), np.zeros(len(resp), np.int16),
                   np.full(len(resp), 3, np.int8)))
    before = counts(fresh_study)
    with pytest.raises(ValidationError) as info, st.write() as con:
        _write_responses(con, data, 99, file="b.csv")
    assert "b.csv" in str(info.value) and "row 2" in str(info.value)
    assert "already in the store" in str(info.value)
    assert counts(fresh_study) == before


# ------------------------------------------------------------------------ busy store: readers
@pytest.mark.parametrize("command", [
    ["info"],
    ["score", "--out", "{tmp}/scores.csv", "--n-boot", "10"],
    ["report", "organisation_report", "--org", "X", "--round", "2024", "--out", "{tmp}/r"],
])
def test_reader_during_a_write_gets_store_busy(copy_of_small_study, tmp_path, command):
    st = open_study(copy_of_small_study)
    args = [c.replace("{tmp}", str(tmp_path)) for c in command]
    with st.write():  # a write transaction holds the store exclusively
        proc = run(*args, "--study", copy_of_small_study, env=env_with(MOGNAD_BUSY_TIMEOUT="0.5"))
    assert_clean_error(proc, "store busy: another mognad process is writing to",
                       str(copy_of_small_study))
    assert not (tmp_path / "scores.csv").exists()


def test_reader_waits_for_a_short_write(copy_of_small_study, tmp_path):
    st = open_study(copy_of_small_study)
    err = tmp_path / "info.err"
    with st.write():
        proc = start("info", "--study", copy_of_small_study, env=env_with(MOGNAD_BUSY_TIMEOUT="60"),
                     stderr_path=err)
        wait_for_text(err, "store busy, waiting up to 60 s")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.read_text()
    assert "rows:" in out and "Traceback" not in err.read_text()


def test_reader_during_a_real_long_ingest(copy_of_small_study, tmp_path, org_id):
    """A real ingest of 20,000 respondents and `mognad info` at the same time: info either
    waits and succeeds or says "store busy" (exit 2); never a traceback."""
    big = tmp_path / "big.csv"
    wide_rows(org_id, 2024, 20_000, domain="big.example").to_csv(big, index=False)
    writer = start("ingest", big, "--study", copy_of_small_study, stderr_path=tmp_path / "w.err")
    results = []
    while writer.poll() is None and len(results) < 40:
        results.append(run("info", "--study", copy_of_small_study,
                           env=env_with(MOGNAD_BUSY_TIMEOUT="0")))
    writer.communicate(timeout=180)
    assert writer.returncode == 0, (tmp_path / "w.err").read_text()
    for proc in results:
        assert proc.returncode in (0, 2) and "Traceback" not in proc.stderr, proc.stderr
        if proc.returncode == 2:
            assert "store busy" in proc.stderr


# ------------------------------------------------------------------------ busy store: writers
def test_ingest_blocked_by_an_open_study_says_so_and_changes_nothing(fresh_study, tmp_path,
                                                                     org_id):
    wide_rows(org_id, 2024, 5).to_csv(tmp_path / "a.csv", index=False)
    holder = open_study(fresh_study)
    holder.release_after = None
    before = holder.counts()
    proc = run("ingest", tmp_path / "a.csv", "--study", fresh_study,
               env=env_with(MOGNAD_BUSY_TIMEOUT="0.3"))
    assert_clean_error(proc, "store busy", "study.close()")
    assert holder.counts() == before
    holder.close()
    proc = run("ingest", tmp_path / "a.csv", "--study", fresh_study,
               env=env_with(MOGNAD_BUSY_TIMEOUT="0"))
    assert proc.returncode == 0, proc.stderr


def test_garbage_collected_study_releases_the_store(fresh_study, tmp_path, org_id):
    wide_rows(org_id, 2024, 5).to_csv(tmp_path / "a.csv", index=False)
    st = open_study(fresh_study)
    st.release_after = None
    st.counts()
    del st
    gc.collect()
    proc = run("ingest", tmp_path / "a.csv", "--study", fresh_study,
               env=env_with(MOGNAD_BUSY_TIMEOUT="0"))
    assert proc.returncode == 0, proc.stderr


def test_bad_busy_timeout_is_explained(fresh_study):
    proc = run("info", "--study", fresh_study, env=env_with(MOGNAD_BUSY_TIMEOUT="soon"))
    assert_clean_error(proc, "MOGNAD_BUSY_TIMEOUT must be a number of seconds", "'soon'")


def test_busy_error_in_process(fresh_study):
    holder = open_study(fresh_study)
    # another process would wait; in this process a second study object is refused the same
    # way after its (short) wait, with the same message
    with holder.write(), pytest.raises(StoreBusyError, match="store busy"):
        open_study(fresh_study, busy_timeout=0.2).counts()


# ------------------------------------------------------------------------ read-only, failed writes
def _make_read_only(path):
    for p in [path, *path.rglob("*")]:
        mode = p.stat().st_mode
        p.chmod(stat.S_IMODE(mode) & ~0o222)


def test_read_only_store_file_ingest_is_a_clear_error(copy_of_small_study, tmp_path, org_id):
    wide_rows(org_id, 2024, 5, domain="ro.example").to_csv(tmp_path / "a.csv", index=False)
    db = copy_of_small_study / DB_NAME
    db.chmod(0o444)
    before = db.read_bytes()
    try:
        proc = run("ingest", tmp_path / "a.csv", "--study", copy_of_small_study,
                   prefix=no_dac_prefix())
        assert_clean_error(proc, "read-only", "nothing was changed")
        assert db.read_bytes() == before
    finally:
        db.chmod(0o644)


def test_read_only_study_folder_ingest_fails_cleanly_but_reading_works(copy_of_small_study,
                                                                       tmp_path, org_id):
    wide_rows(org_id, 2024, 5, domain="ro.example").to_csv(tmp_path / "a.csv", index=False)
    before = counts(copy_of_small_study)
    _make_read_only(copy_of_small_study)
    try:
        proc = run("ingest", tmp_path / "a.csv", "--study", copy_of_small_study,
                   prefix=no_dac_prefix())
        assert_clean_error(proc, "read-only", "nothing was changed")
        # a shared, read-only copy of a study can still be analysed
        out = tmp_path / "scores.csv"
        proc = run("score", "--study", copy_of_small_study, "--out", out, "--n-boot", "10",
                   prefix=no_dac_prefix())
        assert proc.returncode == 0, proc.stderr
        assert out.stat().st_size > 0
    finally:
        for p in [copy_of_small_study, *copy_of_small_study.rglob("*")]:
            p.chmod(stat.S_IMODE(p.stat().st_mode) | 0o200)
    assert counts(copy_of_small_study) == before


def test_init_in_a_read_only_folder_is_a_clear_error(tmp_path):
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    keys = tmp_path / "keys"
    try:
        proc = run("init", parent / "study", prefix=no_dac_prefix(),
                   env=env_with(MOGNAD_KEY_DIR=str(keys)))
        assert_clean_error(proc, "cannot create the study", str(parent / "study"))
    finally:
        parent.chmod(0o755)
    assert not (parent / "study" / DB_NAME).exists()
    # the key made for the study that could not be created is removed again
    assert list(keys.glob("*")) == []


def test_init_with_read_only_key_folder_creates_nothing(tmp_path):
    keys = tmp_path / "keys"
    keys.mkdir()
    keys.chmod(0o555)
    try:
        proc = run("init", tmp_path / "study", env=env_with(MOGNAD_KEY_DIR=str(keys)),
                   prefix=no_dac_prefix())
        assert_clean_error(proc, "cannot write the key file", "--key PATH")
    finally:
        keys.chmod(0o755)
    assert not (tmp_path / "study").exists()


def test_failed_write_leaves_the_store_unchanged(fresh_study, tmp_path, org_id, monkeypatch):
    """A disk that fills up after the respondents were inserted: the transaction is rolled
    back, the store is byte-for-byte what it was in content, and the message says why."""
    wide_rows(org_id, 2024, 10).to_csv(tmp_path / "a.csv", index=False)
    before = counts(fresh_study)
    real = ingest_module._write_responses

    def fill_disk(con, data, source_id, **kw):
        real(con, data, source_id, **kw)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ingest_module, "_write_responses", fill_disk)
    with pytest.raises(StudyError, match="the disk is full.*nothing was changed"):
        ingest(tmp_path / "a.csv", study=fresh_study)
    assert counts(fresh_study) == before
    monkeypatch.undo()
    ingest(tmp_path / "a.csv", study=fresh_study)  # and the same file lands afterwards
    assert counts(fresh_study)["respondents"] == before["respondents"] + 10


def test_killed_ingest_leaves_nothing(fresh_study, tmp_path, org_id):
    """kill -9 in the middle of a big write: the store has all or nothing of the file."""
    big = tmp_path / "big.csv"
    wide_rows(org_id, 2024, 30_000, domain="kill.example").to_csv(big, index=False)
    before = counts(fresh_study)
    err = tmp_path / "w.err"
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys, mognad.io.ingest as m, mognad.io.store as s\n"
         "orig = m._write_responses\n"
         "def slow(*a, **k):\n"
         "    n = orig(*a, **k); print('written', file=sys.stderr, flush=True)\n"
         "    import time; time.sleep(60); return n\n"
         "m._write_responses = slow\n"
         f"m.ingest({str(big)!r}, study={str(fresh_study)!r})\n"],
        stderr=open(err, "w"))  # noqa: SIM115
    wait_for_text(err, "written", timeout=120)
    proc.kill()
    proc.wait()
    assert counts(fresh_study) == before


# ------------------------------------------------------------------------ the compact read path
def _plain_read(path, where: str = "") -> pd.DataFrame:
    """The responses read the simple way (strings, one query), independent of Study."""
    con = duckdb.connect(str(path / DB_NAME), read_only=True)
    try:
        out = con.execute(
            "SELECT r.org_id, r.round, r.respondent_id, r.unit, r.role, i.item_id, a.value "
            "FROM answers a JOIN respondents r USING (rid) JOIN items i USING (item_no) "
            f"{where} ORDER BY r.org_id, r.round, r.respondent_id, a.item_no").df()
    finally:
        con.close()
    out["round"] = out["round"].astype("int64")
    out["value"] = out["value"].astype("Int64")
    return out


def _as_strings(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for c in ("org_id", "respondent_id", "unit", "role", "item_id"):
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out


def test_responses_are_compact_and_equal_to_a_plain_read(small_study, small_study_path):
    resp = small_study.responses
    assert {c: str(t) for c, t in resp.dtypes.items()} == {
        "org_id": "category", "round": "int64", "respondent_id": "category",
        "unit": "category", "role": "category", "item_id": "category", "value": "Int64"}
    for col in ("org_id", "respondent_id", "unit", "role", "item_id"):
        cats = resp[col].cat.categories
        assert cats.is_monotonic_increasing and cats.is_unique and str(cats.dtype) == "str"
    plain = _plain_read(small_study_path)
    pd.testing.assert_frame_equal(_as_strings(resp), _as_strings(plain))
    assert resp["unit"].isna().sum() == plain["unit"].isna().sum()


def test_filtered_reads_equal_a_plain_read(small_study, small_study_path):
    org = str(small_study.organisations["org_id"].iloc[3])
    got = small_study.responses_for(round=[2023, 2024], org_id=org)
    want = _plain_read(small_study_path, f"WHERE r.round IN (2023, 2024) AND r.org_id = '{org}'")
    assert len(got) > 0
    pd.testing.assert_frame_equal(_as_strings(got), _as_strings(want))
    # the categories hold only what the selection has
    assert list(got["org_id"].cat.categories) == [org]
    assert len(small_study.responses_for(org_id="no such org")) == 0


def test_long_file_with_some_items_reads_back_in_order(fresh_study, tmp_path, org_id):
    """Respondents with different subsets of items, given in shuffled order, some don't know:
    the read path fills its respondents x items grid only where rows exist."""
    rows = [("b@x.se", "q03", "2"), ("a@x.se", "q30", "vet ej"), ("a@x.se", "q01", "6"),
            ("b@x.se", "q01", "1"), ("c@x.se", "q17", "4"), ("a@x.se", "q02", "5")]
    frame = pd.DataFrame(rows, columns=["respondent_id", "item_id", "value"])
    frame.insert(0, "round", "2024")
    frame.insert(0, "org_id", org_id)
    frame.to_csv(tmp_path / "long.csv", index=False)
    ingest(tmp_path / "long.csv", study=fresh_study)
    with open_study(fresh_study) as st:
        got = st.responses
    want = _plain_read(fresh_study)
    assert len(got) == 6 and int(got["value"].isna().sum()) == 1
    pd.testing.assert_frame_equal(_as_strings(got), _as_strings(want))
    # within each respondent the items come in codebook order
    for _, one in got.groupby("respondent_id", observed=True):
        assert list(one["item_id"].astype(str)) == sorted(one["item_id"].astype(str))


def test_scores_from_categoricals_equal_scores_from_strings(small_study):
    """The point estimates, intervals and bootstrap draws do not depend on the dtypes."""
    resp = small_study.responses_for(round=2024)
    strings = resp.astype({c: "str" for c in ("org_id", "respondent_id", "item_id")})
    strings["unit"] = resp["unit"].astype(object)
    a = score(resp, codebook=small_study.codebook, method="t")
    b = score(strings, codebook=small_study.codebook, method="t")
    pd.testing.assert_frame_equal(a.astype({"org_id": "str"}), b.astype({"org_id": "str"}))
    da = bootstrap_scores(resp, codebook=small_study.codebook, n_boot=30, seed=5)
    db = bootstrap_scores(strings, codebook=small_study.codebook, n_boot=30, seed=5)
    pd.testing.assert_frame_equal(score(da), score(db))


def test_idle_study_releases_the_store_to_a_waiting_writer(fresh_study, tmp_path, org_id):
    """A study left open in a kernel (no close) does not keep `mognad ingest` out: its kept
    connection closes after release_after seconds without a read, and the writer proceeds."""
    wide_rows(org_id, 2024, 5).to_csv(tmp_path / "a.csv", index=False)
    st = open_study(fresh_study)
    st.release_after = 1.0
    st.counts()
    assert st._con is not None
    err = tmp_path / "ingest.err"
    proc = start("ingest", tmp_path / "a.csv", "--study", fresh_study,
                 env=env_with(MOGNAD_BUSY_TIMEOUT="60"), stderr_path=err)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0 and "5 added" in out, err.read_text()
    assert st._con is None
    assert st.counts()["respondents"] == len(pd.read_csv(tmp_path / "a.csv"))  # reopens


def test_one_connection_per_study_and_close(fresh_study):
    st = open_study(fresh_study)
    st.release_after = None
    st.counts()
    con = st._con
    st.responses  # noqa: B018
    st.organisations  # noqa: B018
    assert st.meta["schema_version"] == "1"
    assert st._con is con  # the same connection served every read
    st.close()
    assert st._con is None
    with open_study(fresh_study) as again:
        assert again.counts() == st.counts()  # reopens lazily after close
    assert again._con is None


def test_forked_child_reads_the_study(small_study):
    small_study.counts()  # a connection is open before the fork
    expected = small_study.counts()
    pid = os.fork()
    if pid == 0:  # child: reads must work on a connection of its own
        try:
            ok = small_study.counts() == expected
        except BaseException:
            ok = False
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert small_study.counts() == expected


@pytest.mark.parametrize("damage", ["junk", "truncated"])
def test_damaged_store_file_is_a_clear_error(copy_of_small_study, damage):
    db = copy_of_small_study / DB_NAME
    if damage == "junk":
        db.write_bytes(os.urandom(5000))
    else:
        with open(db, "r+b") as fh:
            fh.truncate(20_000)
    proc = run("info", "--study", copy_of_small_study)
    assert_clean_error(proc, str(db))


def test_waiting_in_a_notebook_prints_nothing(copy_of_small_study, tmp_path):
    """Outside the command line (a notebook, a report kernel) the wait is silent: a message on
    stderr would end up in a report's output. The read succeeds once the write is over."""
    st = open_study(copy_of_small_study)
    code = ("import sys\nfrom mognad.io.store import open_study\n"
            "print('started', file=sys.stderr, flush=True)\n"
            f"print(open_study({str(copy_of_small_study)!r}).counts()['answers'])\n")
    err = tmp_path / "kernel.err"
    with st.write():
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                stderr=open(err, "w"), text=True,  # noqa: SIM115
                                env=env_with(MOGNAD_BUSY_TIMEOUT="60"))
        wait_for_text(err, "started")
        time.sleep(1.5)  # the reader is now waiting for the lock
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and int(out) == st.counts()["answers"]
    assert err.read_text().strip() == "started"
