"""Manifest reading and normalisation (checker/manifest.py): formats, encodings, rows, units, bad cells."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from checker.errors import FatalInput
from checker.manifest import Normaliser, read_manifest


def load(path: Path):
    """(raw manifest, normaliser, [(shipment, findings)]) the way a check run reads a file."""
    raw = read_manifest(str(path))
    norm = Normaliser(str(path), decimal_comma=raw.dialect.decimal != ".")
    rows = [norm.shipment(row, rec) for row, rec in raw.records]
    return raw, norm, rows


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


HEADER = "shipment_id,destination_country,length_mm,width_mm,height_mm,weight_kg,contents\n"


# ---- CSV dialects --------------------------------------------------------------------------------

def test_csv_comma(tmp_path):
    p = write(tmp_path, "m.csv", HEADER + "S-1,at,620,300,70,5.5,books\nS-2,PL,100,100,100,1,toys\n")
    raw, norm, rows = load(p)
    assert raw.dialect.format == "csv"
    assert raw.dialect.delimiter == ","
    assert raw.dialect.decimal == "."
    (s1, f1), (s2, f2) = rows
    assert f1 == [] and f2 == []
    assert (s1.row, s2.row) == (2, 3)   # header is line 1
    assert s1.shipment_id == "S-1"
    assert s1.values["destination_country"] == "AT"  # upper-cased
    assert s1.values["length_mm"] == 620 and s1.values["weight_kg"] == 5.5
    assert s1.values["contents"] == "books"
    assert s1.sides == (70, 300, 620)


def test_csv_semicolon_with_decimal_comma(tmp_path):
    text = HEADER.replace(",", ";") + "S-1;AT;620,5;300;70;5,25;książki\n"
    raw, _, rows = load(write(tmp_path, "m.csv", text))
    assert raw.dialect.delimiter == ";"
    assert raw.dialect.decimal == ","
    s, findings = rows[0]
    assert findings == []
    assert s.values["length_mm"] == pytest.approx(620.5)
    assert s.values["weight_kg"] == pytest.approx(5.25)
    assert s.values["contents"] == "książki"


def test_csv_tab(tmp_path):
    text = HEADER.replace(",", "\t") + "S-1\tAT\t620\t300\t70\t5\tbooks, used\n"
    raw, _, rows = load(write(tmp_path, "m.csv", text))
    assert raw.dialect.delimiter in ("tab", "\t")
    s, findings = rows[0]
    assert findings == []
    assert s.values["contents"] == "books, used"
    assert s.values["weight_kg"] == 5


def test_csv_comma_file_rejects_a_decimal_comma(tmp_path):
    # in a comma-delimited file "5,5" (quoted) is ambiguous: an input finding, not a silent 55 or 5.5
    p = write(tmp_path, "m.csv", HEADER + 'S-1,AT,620,300,70,"5,5",books\n')
    _, _, rows = load(p)
    s, findings = rows[0]
    assert [f.field for f in findings] == ["weight_kg"]
    assert "weight_kg" not in s.values


# ---- encodings -----------------------------------------------------------------------------------

POLISH = "shipment_id,recipient_city,contents\nS-1,Łódź,zażółć gęślą jaźń\n"


def test_utf8(tmp_path):
    raw, _, rows = load(write(tmp_path, "m.csv", POLISH))
    assert raw.dialect.encoding == "utf-8"
    assert rows[0][0].values["recipient_city"] == "Łódź"


def test_utf8_with_bom(tmp_path):
    p = tmp_path / "m.csv"
    p.write_bytes(b"\xef\xbb\xbf" + POLISH.encode("utf-8"))
    raw, norm, rows = load(p)
    assert "bom" in raw.dialect.encoding.lower()
    s, findings = rows[0]
    assert findings == []
    assert s.shipment_id == "S-1"                 # the first header cell is 'shipment_id', not '\ufeffshipment_id'
    assert s.values["recipient_city"] == "Łódź"
    assert norm.unknown == {}


def test_windows_1250(tmp_path):
    p = write(tmp_path, "m.csv", POLISH, encoding="cp1250")
    with pytest.raises(UnicodeDecodeError):
        p.read_bytes().decode("utf-8")   # the fixture really is not UTF-8
    raw, _, rows = load(p)
    assert raw.dialect.encoding.lower().startswith("windows-1250")
    s, findings = rows[0]
    assert findings == []
    assert s.values["recipient_city"] == "Łódź"
    assert s.values["contents"] == "zażółć gęślą jaźń"


# ---- record numbers ------------------------------------------------------------------------------

def test_quoted_newline_keeps_the_records_first_line(tmp_path):
    text = ('shipment_id,contents,weight_kg\n'
            'S-1,"first line\nsecond line",1\n'   # lines 2-3
            'S-2,plain,2\n'                        # line 4
            'S-3,"a\nb\nc",3\n'                    # lines 5-7
            'S-4,last,4\n')                        # line 8
    _, _, rows = load(write(tmp_path, "m.csv", text))
    assert [(s.shipment_id, s.row) for s, _ in rows] == [("S-1", 2), ("S-2", 4), ("S-3", 5), ("S-4", 8)]
    assert rows[0][0].values["contents"] == "first line\nsecond line"


def test_blank_lines_are_skipped_but_counted(tmp_path):
    text = "shipment_id,weight_kg\nS-1,1\n\nS-2,2\n"
    _, _, rows = load(write(tmp_path, "m.csv", text))
    assert [(s.shipment_id, s.row) for s, _ in rows] == [("S-1", 2), ("S-2", 4)]


# ---- JSON, JSON Lines, YAML ----------------------------------------------------------------------

RECORDS = [{"shipment_id": "S-1", "destination_country": "AT", "weight_kg": 5, "contents_categories": ["Books"]},
           {"shipment_id": "S-2", "destination_country": "PL", "weight_kg": "2,5"}]


def test_json_array(tmp_path):
    raw, _, rows = load(write(tmp_path, "m.json", json.dumps(RECORDS)))
    assert raw.dialect.format == "json"
    assert [(s.shipment_id, s.row) for s, _ in rows] == [("S-1", 1), ("S-2", 2)]
    assert rows[0][0].values["weight_kg"] == 5
    assert rows[0][0].values["contents_categories"] == ["books"]


def test_json_object_with_shipments(tmp_path):
    raw, _, rows = load(write(tmp_path, "m.json", json.dumps({"generated": "today", "shipments": RECORDS})))
    assert raw.dialect.format == "json"
    assert [s.shipment_id for s, _ in rows] == ["S-1", "S-2"]


def test_json_of_another_shape_is_fatal(tmp_path):
    with pytest.raises(FatalInput):
        load(write(tmp_path, "m.json", json.dumps({"rows": RECORDS})))


def test_jsonl_row_is_the_line_number(tmp_path):
    text = json.dumps(RECORDS[0]) + "\n\n" + json.dumps(RECORDS[1]) + "\n" + "{not json\n" + '{"shipment_id": "S-4"}\n'
    raw, _, rows = load(write(tmp_path, "m.jsonl", text))
    assert raw.dialect.format == "jsonl"
    assert [s.row for s, _ in rows] == [1, 3, 4, 5]
    assert [s.shipment_id for s, _ in rows][:2] == ["S-1", "S-2"]
    broken, findings = rows[2]
    assert len(findings) == 1 and findings[0].kind == "input" and findings[0].row == 4
    assert rows[3][0].shipment_id == "S-4" and rows[3][1] == []


def test_yaml(tmp_path):
    text = ("- shipment_id: S-1\n  destination_country: AT\n  weight_kg: 5\n  dispatch_at: 2025-12-01\n"
            "- shipment_id: S-2\n  destination_country: PL\n")
    raw, _, rows = load(write(tmp_path, "m.yaml", text))
    assert raw.dialect.format == "yaml"
    assert [(s.shipment_id, s.row) for s, _ in rows] == [("S-1", 1), ("S-2", 2)]
    assert rows[0][0].values["dispatch_at"] == dt.date(2025, 12, 1)
    assert rows[0][0].values["weight_kg"] == 5


def test_yaml_object_with_shipments(tmp_path):
    text = "shipments:\n  - shipment_id: S-1\n  - shipment_id: S-2\n"
    _, _, rows = load(write(tmp_path, "m.yml", text))
    assert [s.shipment_id for s, _ in rows] == ["S-1", "S-2"]


# ---- cell conversion -----------------------------------------------------------------------------

def test_unit_variants_are_converted(tmp_path):
    text = "shipment_id,length_cm,width_cm,height_cm,weight_g\nS-1,62,30,7.5,5000\n"
    _, norm, rows = load(write(tmp_path, "m.csv", text))
    s, findings = rows[0]
    assert findings == []
    assert s.values["length_mm"] == pytest.approx(620)
    assert s.values["width_mm"] == pytest.approx(300)
    assert s.values["height_mm"] == pytest.approx(75)
    assert s.values["weight_kg"] == pytest.approx(5)
    assert not {"length_cm", "width_cm", "height_cm", "weight_g"} & set(s.values)
    assert norm.unknown == {}


def test_column_names_are_case_insensitive(tmp_path):
    text = "Shipment_ID,WEIGHT_KG,Destination_Country\nS-1,2,de\n"
    _, norm, rows = load(write(tmp_path, "m.csv", text))
    s, findings = rows[0]
    assert findings == []
    assert s.shipment_id == "S-1" and s.values["weight_kg"] == 2 and s.values["destination_country"] == "DE"
    assert norm.unknown == {}


def test_typed_cells(tmp_path):
    text = ("shipment_id,dispatch_at,sender_is_consumer,pallet,contents_categories,delivery_type\n"
            "S-1,2025-12-01,tak,no,Alcohol; tobacco,Door\n"
            "S-2,2025-12-01T10:30,yes,false,,pudo\n"
            "S-3,2025-12-01T10:30:00Z,1,0,books,locker\n")
    _, _, rows = load(write(tmp_path, "m.csv", text))
    assert all(f == [] for _, f in rows)
    s1, s2, s3 = (s for s, _ in rows)
    assert s1.values["dispatch_at"] == dt.date(2025, 12, 1)
    assert s1.values["sender_is_consumer"] is True and s1.values["pallet"] is False
    assert s1.values["contents_categories"] == ["alcohol", "tobacco"]
    assert s1.values["delivery_type"] == "door"
    assert s2.values["dispatch_at"] == dt.datetime(2025, 12, 1, 10, 30)
    assert s2.values["dispatch_at"].tzinfo is None
    assert s3.values["dispatch_at"] == dt.datetime(2025, 12, 1, 10, 30, tzinfo=dt.timezone.utc)


def test_bad_number_is_an_input_finding_and_the_row_survives(tmp_path):
    text = HEADER + "S-1,AT,620,300,70,5,books\nS-2,AT,620,300,70,five,books\n"
    _, _, rows = load(write(tmp_path, "m.csv", text))
    assert rows[0][1] == []
    s, findings = rows[1]
    assert len(findings) == 1
    f = findings[0]
    assert f.kind == "input"
    assert f.severity == "error"
    assert f.field == "weight_kg"
    assert f.row == 3 and f.shipment_id == "S-2"
    assert f.actual == "five"
    assert "row 3" in f.message and "weight_kg" in f.message
    # the other cells of the row are kept
    assert "weight_kg" not in s.values and "weight_kg" in s.invalid
    assert s.values["length_mm"] == 620 and s.values["destination_country"] == "AT" and s.values["contents"] == "books"


def test_bad_cell_in_a_unit_variant_names_the_column_as_written(tmp_path):
    text = "shipment_id,length_cm\nS-1,abc\n"
    _, _, rows = load(write(tmp_path, "m.csv", text))
    s, findings = rows[0]
    assert [f.field for f in findings] == ["length_cm"]
    assert "length_cm" in findings[0].message


@pytest.mark.parametrize("column, cell", [
    ("destination_country", "Austria"),
    ("delivery_type", "drone"),
    ("dispatch_at", "1 December 2025"),
    ("pallet", "maybe"),
    ("weight_kg", "-1"),
    ("weight_kg", "0"),
])
def test_other_bad_cells_are_input_findings(tmp_path, column, cell):
    text = f"shipment_id,{column},contents\nS-1,{cell},books\n"
    _, _, rows = load(write(tmp_path, "m.csv", text))
    s, findings = rows[0]
    assert [(f.kind, f.field, f.row) for f in findings] == [("input", column, 2)]
    assert column not in s.values and s.values["contents"] == "books"


def test_duplicate_shipment_id(tmp_path):
    text = "shipment_id,weight_kg\nS-1,1\nS-2,1\nS-1,2\n"
    _, _, rows = load(write(tmp_path, "m.csv", text))
    assert rows[0][1] == [] and rows[1][1] == []
    s, findings = rows[2]
    assert len(findings) == 1
    f = findings[0]
    assert f.kind == "input" and f.field == "shipment_id" and f.row == 4
    assert "S-1" in f.message and "row 2" in f.message   # names the first use
    assert s.values["weight_kg"] == 2                     # the row is still read


def test_missing_shipment_id_gets_a_row_reference(tmp_path):
    _, _, rows = load(write(tmp_path, "m.csv", "shipment_id,weight_kg\n,1\n"))
    s, findings = rows[0]
    assert s.shipment_id == "row-2"
    assert [(f.kind, f.field) for f in findings] == [("input", "shipment_id")]


def test_unknown_columns_are_counted_and_ignored(tmp_path):
    text = "shipment_id,colour,weight_kg,Notes\nS-1,red,1,x\nS-2,blue,2,\n"
    _, norm, rows = load(write(tmp_path, "m.csv", text))
    assert all(f == [] for _, f in rows)
    assert norm.unknown == {"colour": 2, "notes": 2}
    assert "colour" not in rows[0][0].values


# ---- unreadable input ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["m.csv", "m.json", "m.jsonl", "m.yaml"])
def test_empty_file_is_fatal(tmp_path, name):
    p = tmp_path / name
    p.write_bytes(b"")
    with pytest.raises(FatalInput) as exc:
        load(p)
    assert str(p) in str(exc.value)


def test_whitespace_only_csv_is_fatal(tmp_path):
    with pytest.raises(FatalInput):
        load(write(tmp_path, "m.csv", "\n  \n"))


def test_missing_file_is_fatal(tmp_path):
    p = tmp_path / "nope.csv"
    with pytest.raises(FatalInput) as exc:
        read_manifest(str(p))
    assert "nope.csv" in str(exc.value)


def test_a_directory_is_fatal(tmp_path):
    with pytest.raises(FatalInput):
        read_manifest(str(tmp_path))


def test_broken_json_is_fatal_with_a_position(tmp_path):
    with pytest.raises(FatalInput) as exc:
        read_manifest(str(write(tmp_path, "m.json", '[\n  {"shipment_id": "S-1",}\n]')))
    assert "line 2" in str(exc.value)


def test_excel_export_crlf_semicolons_windows_1250(tmp_path):
    # what Polish Excel writes: CRLF line ends, semicolons, decimal commas, Windows-1250
    text = ("shipment_id;recipient_city;length_cm;weight_kg\r\n"
            "S-1;Łódź;62,5;1,5\r\n"
            "S-2;\"Gdańsk\r\nOliwa\";10;2\r\n"
            "S-3;Kraków;20;3\r\n")
    raw, norm, rows = load(write(tmp_path, "m.csv", text, encoding="cp1250"))
    assert raw.dialect.delimiter == ";" and raw.dialect.encoding.lower().startswith("windows-1250")
    assert all(f == [] for _, f in rows)
    assert [(s.shipment_id, s.row) for s, _ in rows] == [("S-1", 2), ("S-2", 3), ("S-3", 5)]
    s1 = rows[0][0]
    assert s1.values["recipient_city"] == "Łódź"
    assert s1.values["length_mm"] == pytest.approx(625)
    assert s1.values["weight_kg"] == pytest.approx(1.5)
    assert rows[2][0].values["recipient_city"] == "Kraków"
    assert norm.unknown == {}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1250"])
def test_csv_files_are_streamed_not_read_whole(tmp_path, monkeypatch, encoding):
    """Memory does not follow the file size on the row-wise path either: the file is never read at once."""
    body = HEADER + "".join(f'S-{i},PL,300,200,"1{i % 10}0",2,"Książki\nline two"\n' for i in range(3000))
    p = tmp_path / "m.csv"
    p.write_bytes(body.encode(encoding))
    whole = {"calls": 0}
    real = Path.read_bytes

    def counted(self: Path) -> bytes:
        whole["calls"] += 1
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", counted)
    raw, _, rows = load(p)
    assert whole["calls"] == 0
    assert len(rows) == 3000 and rows[-1][0].shipment_id == "S-2999"
    assert rows[5][0].values["contents"] == "Książki\nline two"   # a quoted line break stays inside its cell
    assert rows[5][0].values["height_mm"] == 150
    assert raw.dialect.encoding.lower().startswith({"utf-8": "utf-8", "utf-8-sig": "utf-8 (with bom)", "utf-16": "utf-16",
                                                    "cp1250": "windows-1250"}[encoding])


def test_json_lines_files_are_streamed_not_read_whole(tmp_path, monkeypatch):
    """JSON Lines are read line by line from disk, cut at \\n only (U+2028 inside a string is not a line end)."""
    lines = [json.dumps({"shipment_id": f"S-{i}", "destination_country": "PL", "weight_kg": 2,
                         "contents": "Książki\u2028tom 2"}, ensure_ascii=False) for i in range(2000)]
    lines[7] = '{"shipment_id": "S-7", broken'
    p = tmp_path / "m.jsonl"
    p.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("the file was read whole"))
    raw, _, rows = load(p)
    assert raw.dialect.format == "jsonl" and len(rows) == 2000
    assert rows[0][0].values["contents"] == "Książki\u2028tom 2"
    assert rows[7][1] and rows[7][1][0].rule_id.startswith("input-") and rows[7][0].row == 8
    assert rows[-1][0].shipment_id == "S-1999" and rows[-1][0].row == 2000


def test_a_named_pipe_is_not_opened_to_ask_whether_it_can_be_streamed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Opening a pipe takes its writer's one session: the streaming reader asked by opening it, then the whole-file
    reader opened it again and could wait for a writer that had already gone (a hang, seen once in the hostile tests)."""
    import builtins
    import os

    from checker import manifest

    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    real_open = builtins.open

    def guarded(file, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        assert str(file) != str(fifo), "the pipe was opened by the streaming reader"
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded)
    assert manifest._stream(str(fifo)) is None
