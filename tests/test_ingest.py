"""Ingestion: every rejection class with its message, Swedish-Excel variants, all-or-nothing,
idempotent re-ingest and pseudonymisation."""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from mognad.errors import ValidationError
from mognad.io.ingest import detect_kind, ingest, pseudonymise, read_raw
from mognad.io.store import init_study, open_study, read_key

ITEMS = [f"q{i:02d}" for i in range(1, 31)]


def wide_rows(org_id: str, round_: int, n: int, *, start: int = 0, value: int = 4) -> pd.DataFrame:
    """A wide responses frame of n respondents answering `value` on every item."""
    rows = {
        "org_id": [org_id] * n,
        "round": [str(round_)] * n,
        "respondent_id": [f"person{start + i}@example.se" for i in range(n)],
        "unit": ["Kultur/Bibliotek"] * n,
        "role": ["chef"] * n,
    }
    for item in ITEMS:
        rows[item] = [str(value)] * n
    return pd.DataFrame(rows)


@pytest.fixture()
def org_id(small_data) -> str:
    return pd.read_csv(small_data / "inputs" / "organisations.csv", dtype=str)["org_id"].iloc[0]


def snapshot(study_path) -> dict:
    """Everything in the store that ingest may change."""
    study = open_study(study_path)
    return {
        "counts": study.counts(),
        "responses": study.responses.to_csv(index=False),
        "provenance": study.provenance.to_csv(index=False),
    }


def reject(path, study, *fragments):
    """Ingest must reject `path`, leave the store unchanged, and say every fragment."""
    before = snapshot(study)
    with pytest.raises(ValidationError) as info:
        ingest(path, study=study)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    assert snapshot(study) == before, "a rejected file changed the store"
    return message


# --------------------------------------------------------------------------- accepted variants
def test_wide_csv_utf8_comma(fresh_study, tmp_path, org_id):
    f = tmp_path / "r.csv"
    wide_rows(org_id, 2024, 6).to_csv(f, index=False)
    res = ingest(f, study=fresh_study)
    assert [r.rows_added for r in res] == [6]
    resp = open_study(fresh_study).responses
    assert len(resp) == 6 * 30
    assert set(resp["value"].unique()) == {4}


def test_semicolon_cp1252_swedish_excel_export(fresh_study, tmp_path, org_id):
    """Swedish Excel writes ';'-separated cp1252 with 'Vet ej' texts and Swedish headers."""
    frame = wide_rows(org_id, 2024, 5)
    frame["unit"] = "Äldreomsorg/Hemtjänst – öst"  # en dash only exists in cp1252, not latin-1
    frame.loc[0, "q03"] = "Vet ej"
    frame.loc[1, "q04"] = "VET EJ"
    frame.loc[2, "q05"] = "-"
    frame.loc[3, "q06"] = ""
    frame = frame.rename(columns={"round": "År", "unit": "Enhet", "role": "Roll", "q01": "Q1"})
    f = tmp_path / "export.csv"
    f.write_bytes(frame.to_csv(index=False, sep=";", lineterminator="\r\n").encode("cp1252"))
    raw = read_raw(f)
    assert (raw.encoding, raw.delimiter) == ("cp1252", ";")
    ingest(f, study=fresh_study)
    resp = open_study(fresh_study).responses
    assert resp["unit"].unique().tolist() == ["Äldreomsorg/Hemtjänst – öst"]
    assert int(resp["value"].isna().sum()) == 4  # the four don't-knows are missing, never 0
    assert (resp["value"].dropna() == 4).all()


def test_utf8_with_bom(fresh_study, tmp_path, org_id):
    f = tmp_path / "bom.csv"
    f.write_bytes(b"\xef\xbb\xbf" + wide_rows(org_id, 2023, 5).to_csv(index=False).encode())
    assert ingest(f, study=fresh_study)[0].rows_added == 5


def test_xlsx_and_sav(fresh_study, tmp_path, org_id):
    x = tmp_path / "r.xlsx"
    frame = wide_rows(org_id, 2022, 5)
    frame[ITEMS] = frame[ITEMS].astype(int)
    frame["round"] = 2022
    frame.to_excel(x, index=False)
    assert ingest(x, study=fresh_study)[0].rows_added == 5

    s = tmp_path / "r.sav"
    frame = wide_rows(org_id, 2021, 5, start=100)
    numeric = frame.copy()
    numeric[ITEMS] = numeric[ITEMS].astype(float)
    numeric.loc[0, "q10"] = 9.0  # a don't-know code from the codebook
    numeric["round"] = 2021.0
    pyreadstat.write_sav(numeric, str(s))
    assert ingest(s, study=fresh_study)[0].rows_added == 5
    resp = open_study(fresh_study).responses_for(round=2021)
    assert int(resp["value"].isna().sum()) == 1


def test_long_format_joins_wide_respondents(fresh_study, tmp_path, org_id):
    long = wide_rows(org_id, 2024, 5).melt(
        id_vars=["org_id", "round", "respondent_id", "unit", "role"],
        var_name="item_id", value_name="value")
    f = tmp_path / "long.csv"
    long.to_csv(f, index=False)
    ingest(f, study=fresh_study)
    assert len(open_study(fresh_study).responses) == 150


def test_kind_detection():
    assert detect_kind(["org_id", "name", "org_type"]) == "organisations"
    assert detect_kind(["org_id", "round", "unit", "invited"]) == "invitations"
    assert detect_kind(["org_id", "round", "respondent_id", "item_id", "value"]) == "responses"
    assert detect_kind(["foo", "bar"]) is None


# --------------------------------------------------------------------------- rejections
def test_missing_required_column(fresh_study, tmp_path, org_id):
    f = tmp_path / "r.csv"
    wide_rows(org_id, 2024, 5).drop(columns="round").to_csv(f, index=False)
    reject(f, fresh_study, "r.csv", "missing required column(s) round")


def test_unknown_item(fresh_study, tmp_path, org_id):
    f = tmp_path / "r.csv"
    wide_rows(org_id, 2024, 5).assign(q31="3").to_csv(f, index=False)
    reject(f, fresh_study, "column q31", "unknown item id")


def test_value_off_scale_names_row_and_column(fresh_study, tmp_path, org_id):
    frame = wide_rows(org_id, 2024, 6)
    frame.loc[3, "q07"] = "7"  # data row 3 -> spreadsheet row 5 (header is row 1)
    f = tmp_path / "r.csv"
    frame.to_csv(f, index=False)
    reject(f, fresh_study, "r.csv, row 5, column q07: value '7': off the scale; valid: 1–6")


def test_value_not_whole_or_not_number(fresh_study, tmp_path, org_id):
    frame = wide_rows(org_id, 2024, 6)
    frame.loc[0, "q01"] = "4.5"
    frame.loc[1, "q02"] = "bra"
    f = tmp_path / "r.csv"
    frame.to_csv(f, index=False)
    reject(f, fresh_study, "row 2, column q01: value '4.5': not a whole number",
           "row 3, column q02: value 'bra': not a number")


def test_duplicate_respondent(fresh_study, tmp_path, org_id):
    frame = wide_rows(org_id, 2024, 5)
    frame.loc[4, "respondent_id"] = frame.loc[1, "respondent_id"]  # data row 5 = row 6, as row 3
    f = tmp_path / "r.csv"
    frame.to_csv(f, index=False)
    message = reject(f, fresh_study, "row 6, column respondent_id", "duplicate respondent",
                     "same person as in row 3")
    assert "person1@example.se" not in message  # the row, never the identity
    # case differs: still the same person (see test_security_ingest.py for every other form)
    frame.loc[4, "respondent_id"] = frame.loc[1, "respondent_id"].upper()
    frame.to_csv(f, index=False)
    reject(f, fresh_study, "row 6, column respondent_id", "same person as in row 3")


def test_org_not_in_registry(fresh_study, tmp_path):
    f = tmp_path / "r.csv"
    wide_rows("0000", 2024, 5).to_csv(f, index=False)
    reject(f, fresh_study, "row 2, column org_id: value '0000'", "organisation registry")


def test_round_not_a_year(fresh_study, tmp_path, org_id):
    frame = wide_rows(org_id, 2024, 5)
    frame.loc[2, "round"] = "HT24"
    f = tmp_path / "r.csv"
    frame.to_csv(f, index=False)
    reject(f, fresh_study, "row 4, column round: value 'HT24'", "calendar year")


def test_empty_file(fresh_study, tmp_path):
    f = tmp_path / "empty.csv"
    f.write_bytes(b"")
    reject(f, fresh_study, "empty.csv: the file is empty")
    g = tmp_path / "header_only.csv"
    g.write_text("org_id,round,respondent_id,q01\n")
    reject(g, fresh_study, "header_only.csv: the file has a header but no data rows")


def test_undecodable_or_not_tabular(fresh_study, tmp_path):
    f = tmp_path / "picture.csv"
    f.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    reject(f, fresh_study, "picture.csv: not a text table")
    g = tmp_path / "letter.csv"
    g.write_text("Hej!\nHär kommer svaren.\n")
    reject(g, fresh_study, "letter.csv", "cannot tell what kind of file this is")
    h = tmp_path / "x.docx"
    h.write_bytes(b"PK\x03\x04")
    reject(h, fresh_study, "unsupported file type '.docx'")


def test_ragged_csv_names_the_row(fresh_study, tmp_path, org_id):
    lines = wide_rows(org_id, 2024, 5).to_csv(index=False).splitlines()
    lines[3] += ",extra"
    f = tmp_path / "ragged.csv"
    f.write_text("\n".join(lines) + "\n")
    reject(f, fresh_study, "ragged.csv, row 4", "fields where the header has")


def test_registry_rejections(tmp_path):
    study = tmp_path / "s"
    init_study(study)
    f = tmp_path / "orgs.csv"
    pd.DataFrame({
        "org_id": ["0114", "0115", "0114"],
        "name": ["A kommun", "B kommun", "C kommun"],
        "org_type": ["kommun", "landsting", "kommun"],
        "kommungrupp": ["B3", "D1", ""],
    }).to_csv(f, index=False)
    reject(f, study, "row 3, column org_type: value 'landsting'", "kommun, region",
           "row 3, column kommungrupp: value 'D1'", "row 4, column org_id: value '0114'",
           "appears earlier")


def test_org_ids_keep_leading_zeros(tmp_path):
    study = tmp_path / "s"
    init_study(study)
    f = tmp_path / "orgs.csv"
    f.write_text("org_id,name,org_type,county_code\n0114,Upplands Väsby kommun,kommun,01\n")
    ingest(f, study=study)
    orgs = open_study(study).organisations
    assert orgs[["org_id", "county_code"]].iloc[0].tolist() == ["0114", "01"]


# --------------------------------------------------------------------------- guarantees
def test_rejected_file_in_a_folder_changes_nothing_but_others_land(fresh_study, tmp_path, org_id):
    folder = tmp_path / "batch"
    folder.mkdir()
    wide_rows(org_id, 2023, 5).to_csv(folder / "good.csv", index=False)
    bad = wide_rows(org_id, 2024, 5)
    bad.loc[4, "q30"] = "8"
    bad.to_csv(folder / "bad.csv", index=False)
    with pytest.raises(ValidationError, match="bad.csv, row 6, column q30"):
        ingest(folder, study=fresh_study)
    study = open_study(fresh_study)
    assert study.rounds == [2023]  # good.csv landed, nothing of bad.csv did
    assert study.provenance["file_name"].tolist() == ["organisations.csv", "good.csv"]


def test_reingest_adds_nothing(copy_of_small_study, small_data):
    before = open_study(copy_of_small_study).counts()
    results = ingest(small_data / "inputs", study=copy_of_small_study)
    assert {r.status for r in results} == {"unchanged"}
    assert sum(r.rows_added for r in results) == 0
    assert open_study(copy_of_small_study).counts() == before


def test_same_content_in_another_format_adds_nothing(fresh_study, tmp_path, org_id):
    frame = wide_rows(org_id, 2024, 5)
    frame.to_csv(tmp_path / "a.csv", index=False)
    (tmp_path / "b.csv").write_bytes(frame.to_csv(index=False, sep=";").encode("cp1252"))
    ingest(tmp_path / "a.csv", study=fresh_study)
    assert ingest(tmp_path / "b.csv", study=fresh_study)[0].status == "unchanged"


def test_same_respondents_from_another_file_rejected(fresh_study, tmp_path, org_id):
    wide_rows(org_id, 2024, 5).to_csv(tmp_path / "a.csv", index=False)
    ingest(tmp_path / "a.csv", study=fresh_study)
    other = wide_rows(org_id, 2024, 5, value=3)  # same people, different answers
    other.to_csv(tmp_path / "b.csv", index=False)
    reject(tmp_path / "b.csv", fresh_study, "already in the store")


def test_pseudonyms_never_raw_ids(small_study, small_data):
    raw = pd.concat(pd.read_csv(p, dtype=str) for p in
                    sorted((small_data / "inputs").glob("responses_*.csv")))
    stored = set(small_study.responses["respondent_id"])
    assert not stored & set(raw["respondent_id"])
    assert not any("@" in s for s in stored)
    # every raw e-mail is in the store only as HMAC-SHA256(key, org \x1f id) (Python's hmac,
    # independent of mognad's code path)
    key = read_key(small_study.path)
    row = raw.iloc[0]
    expected = hmac.new(key, f"{row.org_id}\x1f{row.respondent_id.strip().lower()}".encode(),
                        hashlib.sha256).hexdigest()[:20]
    assert expected in stored
    # the key is the study's own, so two studies give different pseudonyms
    other = pseudonymise(pd.Series([row.org_id]), pd.Series([row.respondent_id]), key=bytes(32))
    assert other.iloc[0] != expected
    # the raw e-mail does not occur anywhere in the store file
    db = (small_study.path / "study.duckdb").read_bytes()
    assert row.respondent_id.encode() not in db


def test_named_follow_up_rounds_join(fresh_study, tmp_path, org_id):
    wide_rows(org_id, 2023, 5).to_csv(tmp_path / "a.csv", index=False)
    wide_rows(org_id, 2024, 5).to_csv(tmp_path / "b.csv", index=False)
    ingest([tmp_path / "a.csv", tmp_path / "b.csv"], study=fresh_study)
    resp = open_study(fresh_study).responses
    ids = resp.groupby("round")["respondent_id"].apply(set)
    assert ids[2023] == ids[2024]


def test_provenance_records_file_hash_rows_codebook(small_study, small_data):
    prov = small_study.provenance
    f = small_data / "inputs" / "organisations.csv"
    row = prov.loc[prov.file_name == "organisations.csv"].iloc[0]
    assert row.sha256 == hashlib.sha256(f.read_bytes()).hexdigest()
    assert row.rows_read == len(pd.read_csv(f))
    assert row.codebook_id == "mognad-default-1"
    assert small_study.is_synthetic


def test_store_matches_generated_answers(small_study, small_data):
    """The long store holds exactly the generated answers (don't-know as missing)."""
    raw = pd.concat(pd.read_csv(p, dtype=str) for p in
                    sorted((small_data / "inputs").glob("responses_*.csv")))
    values = raw[ITEMS].replace({"vet ej": np.nan}).astype(float)
    stored = small_study.responses["value"]
    assert len(stored) == values.size
    assert int(stored.isna().sum()) == int(values.isna().sum().sum())
    assert float(stored.astype(float).sum()) == pytest.approx(float(np.nansum(values.to_numpy())))


def test_events_and_invitations(small_study, small_data):
    events = small_study.events
    assert {"programme_start", "reorganisation", "funding_change", "course_start"} <= set(
        events["kind"])
    inv = pd.read_csv(small_data / "inputs" / "invitations.csv")
    assert small_study.invitations["invited"].sum() == inv["invited"].sum()


def test_folder_ingest_into_copy_is_deterministic(tmp_path, small_data):
    """Two ingests of the same folder into two studies give the same answers table."""
    tables = []
    for name in ("a", "b"):
        init_study(tmp_path / name)
        ingest(small_data / "inputs", study=tmp_path / name)
        resp = open_study(tmp_path / name).responses.drop(columns="respondent_id")
        # pseudonyms differ between studies (each has its own key), so sort without them
        tables.append(resp.sort_values(list(resp.columns)).reset_index(drop=True))
    pd.testing.assert_frame_equal(tables[0], tables[1])
