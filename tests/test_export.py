"""Tests for mognad.io.export: round trips, SPSS labels, pseudonymity, atomic writes.

Expected labels come from the codebook file itself (``mognad/data/mognad-default-1.yaml``), read
back from the written files with independent readers (pyreadstat, openpyxl, pyarrow).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pyreadstat
import pytest

from mognad.codebook import load_codebook
from mognad.errors import MognadError
from mognad.io.export import check_pseudonymous, export_responses_wide, export_table


@pytest.fixture
def long_responses() -> pd.DataFrame:
    rows = []
    for org, resp, unit, base in (
        ("0114", "p-7f3a", "Kultur/Bibliotek", 2),
        ("0114", "p-91c2", pd.NA, 4),
        ("1384", "p-03bd", "Skola", 5),
    ):
        for i in range(1, 31):
            value = pd.NA if (resp == "p-91c2" and i == 7) else (base + i) % 6 + 1
            rows.append(
                {
                    "org_id": org,
                    "round": 2024,
                    "respondent_id": resp,
                    "unit": unit,
                    "role": "chef" if resp == "p-03bd" else pd.NA,
                    "item_id": f"q{i:02d}",
                    "value": value,
                }
            )
    frame = pd.DataFrame(rows)
    frame["value"] = frame["value"].astype("Int64")
    return frame


@pytest.fixture
def wide(long_responses) -> pd.DataFrame:
    return export_responses_wide(long_responses)


@pytest.fixture
def scores() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "org_id": ["0114", "1384"],
            "name": ["Upplands Väsby", "Kungsbacka"],
            "round": [2024, 2024],
            "effektivitet": [52.5, 61.0],
            "forvaltning": [40.0, 70.25],
            "formaga": [55.0, 57.5],
            "arv_pct": [45.0, 66.0],
            "n": [12, 30],
        }
    )


# ------------------------------------------------------------------------------ wide responses
def test_export_responses_wide_shape_and_types(wide):
    cb = load_codebook()
    assert (
        wide.columns.tolist() == ["org_id", "round", "respondent_id", "unit", "role"] + cb.item_ids
    )
    assert len(wide) == 3
    assert wide["respondent_id"].tolist() == ["p-7f3a", "p-91c2", "p-03bd"]
    assert all(str(wide[i].dtype) == "Int64" for i in cb.item_ids)
    row = wide.set_index("respondent_id").loc["p-91c2"]
    assert pd.isna(row["q07"])  # don't know stays missing, never 0
    assert row["q01"] == (4 + 1) % 6 + 1
    assert wide["org_id"].tolist() == ["0114", "0114", "1384"]


def test_export_responses_wide_refuses_email_ids(long_responses):
    long_responses.loc[long_responses.respondent_id == "p-03bd", "respondent_id"] = "eva@x.se"
    with pytest.raises(MognadError, match="'@'"):
        export_responses_wide(long_responses)


# ------------------------------------------------------------------------------ round trips
def test_csv_round_trip_keeps_ids_and_writes_provenance(wide, tmp_path):
    out = export_table(wide, tmp_path / "resp.csv", provenance={"fingerprint": "abc123"})
    assert out == tmp_path / "resp.csv"
    back = pd.read_csv(out, dtype={"org_id": str, "respondent_id": str})
    assert back["org_id"].tolist() == ["0114", "0114", "1384"]
    assert back.columns.tolist() == wide.columns.tolist()
    pd.testing.assert_series_equal(back["q01"].astype("Int64"), wide["q01"], check_names=True)
    assert back["q07"].isna().tolist() == [False, True, False]
    sidecar = json.loads((tmp_path / "resp.csv.provenance.json").read_text("utf-8"))
    assert sidecar == {"fingerprint": "abc123"}


def test_xlsx_round_trip(scores, tmp_path):
    out = export_table(
        scores, tmp_path / "scores.xlsx", provenance={"codebook": "mognad-default-1"}
    )
    sheets = pd.read_excel(out, sheet_name=None, dtype={"org_id": str})
    assert list(sheets) == ["data", "provenance"]
    pd.testing.assert_frame_equal(sheets["data"], scores, check_dtype=False)
    assert sheets["provenance"].values.tolist() == [["codebook", "mognad-default-1"]]


def test_parquet_round_trip_keeps_dtypes(wide, tmp_path):
    out = export_table(wide, tmp_path / "resp.parquet", provenance={"synthetic": True})
    back = pd.read_parquet(out)
    pd.testing.assert_frame_equal(back, wide, check_dtype=False)
    assert str(back["q01"].dtype) == "Int64"
    assert pd.api.types.is_string_dtype(back["org_id"])
    meta = pq.read_schema(out).metadata[b"mognad.provenance"]
    assert json.loads(meta) == {"synthetic": True}


def test_sav_round_trip_has_codebook_labels(wide, tmp_path):
    out = export_table(wide, tmp_path / "resp.sav", provenance={"fingerprint": "abc123"})
    data, meta = pyreadstat.read_sav(out)
    # values and ids survive
    assert data["org_id"].tolist() == ["0114", "0114", "1384"]
    assert data["respondent_id"].tolist() == ["p-7f3a", "p-91c2", "p-03bd"]
    assert data["q01"].tolist() == wide["q01"].astype(float).tolist()
    assert pd.isna(data.loc[1, "q07"])
    # variable labels: the Swedish item texts of mognad-default-1.yaml
    labels = meta.column_names_to_labels
    assert labels["q01"] == "… systematiska i att förbättra våra arbetssätt med digitalt stöd."
    assert labels["q30"] == "… förvaltning som lämnar resurser över till ny utveckling."
    assert labels["org_id"] == "Organisations-id"
    # value labels: the codebook's scale (1 = Stämmer inte alls ... 6 = Stämmer helt)
    assert meta.variable_value_labels["q15"] == {
        1.0: "Stämmer inte alls",
        2.0: "Stämmer dåligt",
        3.0: "Stämmer ganska dåligt",
        4.0: "Stämmer ganska bra",
        5.0: "Stämmer bra",
        6.0: "Stämmer helt",
    }
    assert "org_id" not in meta.variable_value_labels
    assert meta.variable_measure["q01"] == "ordinal"
    assert meta.variable_measure["org_id"] == "nominal"
    assert meta.notes == ['{"fingerprint": "abc123"}']


def test_sav_labels_for_category_and_dimension_columns(scores, tmp_path):
    export_table(scores, tmp_path / "scores.sav")
    _, meta = pyreadstat.read_sav(tmp_path / "scores.sav")
    labels = meta.column_names_to_labels
    assert labels["effektivitet"] == "Effektivitet"
    assert labels["forvaltning"] == "Förvaltning"
    assert labels["formaga"] == "Digital förmåga"
    assert labels["arv_pct"] == "Digitalt arv (pct)"
    assert meta.variable_value_labels == {}  # scores are not answers on the scale

    export_table(scores, tmp_path / "scores_en.sav", labels_lang="en")
    _, meta_en = pyreadstat.read_sav(tmp_path / "scores_en.sav")
    assert meta_en.column_names_to_labels["formaga"] == "Digital capability"
    assert meta_en.column_names_to_labels["forvaltning"] == "Management of systems"


def test_sav_uses_a_given_codebook(wide, tmp_path):
    cb = load_codebook("mognad-default-1")
    export_table(wide, tmp_path / "resp.sav", codebook=cb, labels_lang="en")
    _, meta = pyreadstat.read_sav(tmp_path / "resp.sav")
    assert meta.column_names_to_labels["q16"] == cb.label("item", "q16", "en")
    assert meta.variable_value_labels["q16"][6.0] == "Fits completely"


def test_numeric_ids_are_written_as_text(tmp_path):
    frame = pd.DataFrame({"org_id": [1384.0, 114.0], "value": [1.5, 2.5]})
    export_table(frame, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text("utf-8").splitlines()[1].startswith("1384,")


# ------------------------------------------------------------------------------ formats
def test_format_from_suffix_and_explicit(scores, tmp_path):
    out = export_table(scores, tmp_path / "scores.data", format="parquet")
    assert pd.read_parquet(out)["org_id"].tolist() == ["0114", "1384"]
    export_table(scores, tmp_path / "scores.PQ")
    assert pq.read_table(tmp_path / "scores.PQ").num_rows == 2
    with pytest.raises(MognadError, match="suffix '.txt'"):
        export_table(scores, tmp_path / "scores.txt")
    with pytest.raises(MognadError, match="unknown export format 'json'"):
        export_table(scores, tmp_path / "scores.csv", format="json")
    with pytest.raises(MognadError, match="labels_lang"):
        export_table(scores, tmp_path / "scores.sav", labels_lang="de")
    assert not (tmp_path / "scores.txt").exists()


def test_creates_missing_folders(scores, tmp_path):
    out = export_table(scores, tmp_path / "a" / "b" / "scores.csv")
    assert out.is_file()


# ------------------------------------------------------------------------------ pseudonymity
@pytest.mark.parametrize(
    ("column", "values"),
    [
        ("email", ["a@x.se", "b@x.se", "c@x.se"]),
        ("E-post", ["a", "b", "c"]),
        ("respondent_email", ["a", "b", "c"]),
        ("personnummer", ["x", "y", "z"]),
        ("first_name", ["Anna", "Bo", "Cecilia"]),
        ("name", ["Anna", "Bo", "Cecilia"]),  # a person's name in respondent-level data
        ("comment", ["ok", "ring anna.berg@kommun.se", "bra"]),
        ("comment", ["ok", "19800101-1234", "bra"]),
    ],
)
def test_refuses_raw_identities(wide, tmp_path, column, values):
    frame = wide.assign(**{column: values})
    with pytest.raises(MognadError, match="refusing to export"):
        export_table(frame, tmp_path / "resp.csv")
    assert list(tmp_path.iterdir()) == []


def test_refuses_at_sign_in_respondent_id(wide, tmp_path):
    frame = wide.copy()
    frame.loc[2, "respondent_id"] = "cecilia.svensson@region.se"
    with pytest.raises(MognadError, match="'respondent_id' row 2 contains '@'"):
        export_table(frame, tmp_path / "resp.sav")
    assert list(tmp_path.iterdir()) == []


def test_organisation_names_are_allowed_outside_respondent_data(scores):
    check_pseudonymous(scores)  # "name" is the organisation's name here: no error


# ------------------------------------------------------------------------------ atomicity
def test_failed_sav_write_leaves_nothing(wide, tmp_path, monkeypatch):
    def broken_writer(df, dst_path, **kwargs):
        Path(dst_path).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(pyreadstat, "write_sav", broken_writer)
    with pytest.raises(MognadError, match="could not write .*resp.sav as sav: disk full"):
        export_table(wide, tmp_path / "resp.sav")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_previous_file(scores, tmp_path, monkeypatch):
    target = tmp_path / "scores.parquet"
    export_table(scores, target)
    before = target.read_bytes()

    def broken_writer(table, where, **kwargs):
        Path(where).write_bytes(b"PAR1 truncated")
        raise RuntimeError("interrupted")

    monkeypatch.setattr(pq, "write_table", broken_writer)
    with pytest.raises(MognadError, match="interrupted"):
        export_table(scores.assign(n=[1, 2]), target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.parquet"]


def test_invalid_spss_name_is_a_user_error(scores, tmp_path):
    with pytest.raises(MognadError, match="could not write"):
        export_table(scores.rename(columns={"n": "antal svar"}), tmp_path / "scores.sav")
    assert list(tmp_path.iterdir()) == []
