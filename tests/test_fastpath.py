"""Differential tests: the columnar fast path and the row-wise engine give identical findings.

Over randomised manifests (hypothesis) and over every policy test case of every version.
Identity is (row, rule, clause, severity, field, actual, expected), plus identical summaries.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

import generated
from checker.loader import load_policies_or_fail
from checker.paths import policies_dir
from checker.run import check_manifest
from checker.shipment import EvalEnv, Rates
from checker.yamlio import load_yaml_file
from differential import COLUMNS, ODD_VALUES, POLICIES, assert_same, both_engines, policy_test_dirs, row_st, typed, write_csv


@pytest.fixture(autouse=True)
def _plans_at_any_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """The column-wise plans explain even a handful of rows here (in a run they start at _PLAN_MIN_ROWS), so these
    small manifests test them; test_every_explanation_path_gives_identical_findings tests the other paths."""
    from checker import columnar

    monkeypatch.setattr(columnar, "_PLAN_MIN_ROWS", 0)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=st.lists(row_st, min_size=1, max_size=40), dup=st.booleans())
def test_random_manifests_give_identical_findings(tmp_path_factory, rows: list[dict[str, Any]], dup: bool) -> None:
    path = tmp_path_factory.mktemp("m") / "m.csv"
    for i, r in enumerate(rows):
        r["shipment_id"] = f"S{i if not (dup and i == len(rows) - 1) else 0}"
    write_csv(path, rows)
    rates = Rates(base="PLN", per_unit={"EUR": 4.3})
    fast, slow = both_engines(path, family="inpost-international", env=EvalEnv(rates=rates, categories=POLICIES.categories),
                       as_of=dt.date(2025, 12, 1))
    assert_same(fast, slow)


def test_semicolon_decimal_comma_example_gives_identical_findings(tmp_path: Path) -> None:
    from checker.paths import ROOT

    fast, slow = both_engines(ROOT / "examples" / "manifest.csv", family="inpost-international")
    assert_same(fast, slow)
    assert fast["summary"]["failed"] > 0


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@pytest.mark.parametrize("family,version,tests_dir", policy_test_dirs(), ids=lambda x: str(x).split("/")[-1] if isinstance(x, Path) else str(x))
def test_every_policy_test_case_gives_identical_findings(tmp_path: Path, family: str, version: str, tests_dir: Path,
                                                        fmt: str) -> None:
    """As CSV cells, and as JSON records whose values are typed as in the YAML (numbers, booleans, lists)."""
    rows = []
    for f in sorted(tests_dir.glob("*.yaml")):
        for i, case in enumerate(load_yaml_file(f).data["cases"]):
            rows.append({"shipment_id": f"{f.stem}-{i}", **case["shipment"]})
    path = write_csv(tmp_path / "cases.csv", rows) if fmt == "csv" else _write_jsonl(tmp_path / "cases.jsonl", rows)
    fast, slow = both_engines(path, family=family, version=version)
    assert_same(fast, slow)
    assert slow["summary"]["shipments"] == len(rows) and fast["manifest"]["dialect"]["format"] == fmt


def test_polars_float_parser_rejects_what_the_row_reader_rejects() -> None:
    """The fast path relies on this: only inf/nan are accepted by Polars and refused by the row-wise reader."""
    import re

    rx = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")
    samples = ["1", "1.5", ".5", "5.", "+5", "-5", "1e5", "1E-3", "inf", "nan", "NaN", "infinity", "1_000", "0x10", "1.2.3",
               "abc", "1e", "e5", "++5", "5-", "1d", "١٢", "１２", "1.5f", "0b1", " 1", "1 "]
    parsed = pl.Series(samples).cast(pl.Float64, strict=False).to_list()
    for text, value in zip(samples, parsed):
        if value is not None and value == value and value not in (float("inf"), float("-inf")):
            assert rx.match(text.strip()), text


def test_keyword_and_address_screens_give_identical_findings(tmp_path: Path) -> None:
    """Keywords match word by word ("li-ion" hits "Li ion"), and address screens see non-ASCII text."""
    contents = ["Akumulator Li ion 12V", "li-ion pack", "LI/PO battery", "Fajerwerki na sylwestra", "Feux d'artifice",
                "Ręcznie robione ŚWIECE", "Begun cotton shirts", "Wino czerwone", "Pistolet na klej"]
    streets = ["Hôtel Régina", "Camping Łąki 3", "Rue de l'Hôtelier 5", "Apartado 123", "ul. Długa 5", "Postbus 12"]
    rows = []
    for i, (text, street, dest) in enumerate((c, s, d) for c in contents for s in streets for d in ("ES", "PT", "FR", "PL", "IT")):
        rows.append({"shipment_id": f"K{i}", "dispatch_at": "2025-12-01", "origin_country": "PL", "destination_country": dest,
                     "delivery_type": "pudo", "dropoff_type": "pudo", "length_mm": "300", "width_mm": "200", "height_mm": "50",
                     "weight_kg": "1", "contents": text, "recipient_street": street, "recipient_name": "Żaneta Ñandú"})
    fast, slow = both_engines(write_csv(tmp_path / "k.csv", rows), family="inpost-international", as_of=dt.date(2025, 12, 1))
    assert_same(fast, slow)
    rules = {f["rule_id"] for f in slow["findings"]}
    assert {"delivery-place-excluded"} <= rules and any(f["field"] == "contents" for f in slow["findings"])


def test_a_mask_built_for_one_chunk_is_rebuilt_when_a_later_chunk_differs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Masks are built once and used again for later chunks (columnar._Run._mask) only while a chunk gives the same
    answers: the first chunks here have only Polish destinations and harmless contents, the last ones Spanish and
    Portuguese destinations with bad postcodes and phone numbers, and contents that hit keywords."""
    from checker import columnar

    rows = []
    for i in range(160):
        late = i >= 120
        dest = ("ES", "PT")[i % 2] if late else "PL"
        rows.append({"shipment_id": f"C{i}", "dispatch_at": "2025-12-01", "origin_country": "PL", "destination_country": dest,
                     "delivery_type": "pudo", "dropoff_type": "pudo", "length_mm": "300", "width_mm": "200", "height_mm": "50",
                     "weight_kg": "1", "recipient_postcode": ("1234", "12-345")[i % 3 == 0] if late else "00-950",
                     "recipient_phone": "+48 600 100 200" if not late else ("+34 612", "+351 912 345 678")[i % 2],
                     "contents": ("Akumulator Li ion 12V", "Fajerwerki na sylwestra")[i % 2] if late else "Książki"})
    path = write_csv(tmp_path / "c.csv", rows)
    monkeypatch.setattr(columnar, "CHUNK_BYTES", 1024)
    built = []
    real = columnar._Run._may_break
    monkeypatch.setattr(columnar._Run, "_may_break", lambda self, frame, rule: built.append(rule.id) or real(self, frame, rule))
    fast, slow = both_engines(path, family="inpost-international", as_of=dt.date(2025, 12, 1))
    assert_same(fast, slow)
    rules = {f["rule_id"] for f in slow["findings"]}
    assert {"recipient-postcode-format", "recipient-phone-format"} <= rules and any(f["field"] == "contents" for f in slow["findings"])
    with path.open("rb") as fh:
        chunks = sum(1 for _ in columnar._chunks(fh))
    assert chunks >= 8 and len(built) < 2 * len(set(built)), "masks were built again for every chunk"


def test_a_mask_built_on_a_constant_column_is_rebuilt_when_the_value_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A column with one value in every row of a chunk enters the masks as that value (fastpath.Recording.col): the
    first chunks here all say "locker", the later ones all say "door" (not offered to France), then both alternate."""
    from checker import columnar

    rows = []
    for i in range(180):
        kind = "locker" if i < 60 else "door" if i < 120 else ("locker", "door")[i % 2]
        rows.append({"shipment_id": f"K{i}", "dispatch_at": "2025-12-01", "origin_country": "PL", "destination_country": "FR",
                     "delivery_type": kind, "dropoff_type": "pudo", "length_mm": "300", "width_mm": "200", "height_mm": "50",
                     "weight_kg": "1", "contents": "Książki"})
    path = write_csv(tmp_path / "k.csv", rows)
    monkeypatch.setattr(columnar, "CHUNK_BYTES", 1024)
    fast, slow = both_engines(path, family="inpost-international", as_of=dt.date(2025, 12, 1))
    assert_same(fast, slow)
    assert sum(f["rule_id"] == "delivery-type-available" for f in slow["findings"]) == 90


@pytest.mark.parametrize("memo", [3, 200_000], ids=["memo-starts-again", "memo-keeps-all"])
def test_texts_screened_in_an_earlier_chunk_still_hit_in_a_later_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, memo: int) -> None:
    """Each distinct description is screened once per run (fastpath.Screened): a text that hit in the first chunk
    hits again when it comes back, also after the memo filled up and started again."""
    from checker import columnar, fastpath

    texts = ["Fajerwerki na sylwestra", "Książki", "Akumulator Li ion 12V", "Herbata", "Feux d'artifice", "Wino czerwone"]
    rows = [{"shipment_id": f"T{i}", "dispatch_at": "2025-12-01", "origin_country": "PL", "destination_country": "ES",
             "delivery_type": "pudo", "dropoff_type": "pudo", "length_mm": "300", "width_mm": "200", "height_mm": "50",
             "weight_kg": "1", "contents": f"{texts[i % len(texts)]}{' ' + str(i % 7) if i % 4 else ''}"} for i in range(200)]
    monkeypatch.setattr(columnar, "CHUNK_BYTES", 1024)
    monkeypatch.setattr(fastpath, "_SCREEN_MEMO", memo)
    fast, slow = both_engines(write_csv(tmp_path / "t.csv", rows), family="inpost-international", as_of=dt.date(2025, 12, 1))
    assert_same(fast, slow)
    hit_rows = {f["row"] for f in slow["findings"] if f["field"] == "contents"}
    assert min(hit_rows) < 10 and max(hit_rows) > 190


@pytest.mark.parametrize("odd", ['A"1', "B\\2", "C\t3", "Łódź-4"], ids=["quote", "backslash", "tab", "non-ascii"])
def test_ids_that_need_json_escaping_give_identical_findings(tmp_path: Path, odd: str) -> None:
    """A finding's shipment id is written by Polars without escaping unless some id of the chunk needs it."""
    rows = [{"shipment_id": odd if i == 3 else f"E{i}", "dispatch_at": "2025-12-01", "origin_country": "PL",
             "destination_country": "XX" if i % 2 else "ES", "delivery_type": "door", "dropoff_type": "pudo",
             "length_mm": "300", "width_mm": "200", "height_mm": "50", "weight_kg": "1"} for i in range(8)]
    path = write_csv(tmp_path / "e.csv", rows)
    fast, slow = both_engines(path, family="inpost-international", as_of=dt.date(2025, 12, 1))
    assert_same(fast, slow)
    assert any(f["shipment_id"] == odd for f in fast["findings"])


def test_python_white_space_is_the_row_wise_readers() -> None:
    from checker import columnar

    assert set(columnar._PY_SPACE) == {chr(c) for c in range(0x110000) if chr(c).isspace()}
    assert set(columnar._SEPARATORS) == set(columnar._PY_SPACE) - {c for c in columnar._PY_SPACE if re_rust_space(c)}


def re_rust_space(c: str) -> bool:
    """Whether Polars (Rust) takes `c` for white space at the end of a cell."""
    return pl.Series([f"a{c}"]).str.strip_chars().str.len_bytes()[0] == 1


def test_information_separators_are_white_space_as_in_the_row_wise_reader(tmp_path: Path) -> None:
    """An id ending in U+001F is the id without it (a duplicate of it), a row of separators is no shipment, and a
    separator inside a cell reads as the row-wise engine reads it."""
    rows = [{"shipment_id": sid, "dispatch_at": "2025-12-01", "origin_country": "PL", "destination_country": "ES",
             "delivery_type": "door", "dropoff_type": "pudo", "length_mm": "300", "width_mm": "200", "height_mm": "50",
             "weight_kg": "1", "recipient_email": email, "recipient_name": name}
            for sid, email, name in [("E1\x1f", "a@b.es", "Ana"), ("E2", "a\x1fb@c.es", "Bo\x1c"), ("E1", "x@y.es", "Dee"),
                                     ("E3", "p@q.es", "\x1d")]]
    path = write_csv(tmp_path / "s.csv", rows)
    text = path.read_text(encoding="utf-8")
    path.write_text(text + ",".join(["\x1c", "\x1f"] + [""] * (len(COLUMNS) - 2)) + "\n", encoding="utf-8")  # separators only
    fast, slow = both_engines(path, family="inpost-international", as_of=dt.date(2025, 12, 1))
    assert_same(fast, slow)
    assert any(f["rule_id"] == "input-duplicate-id" and f["row"] == 4 for f in fast["findings"])
    assert fast["summary"]["shipments"] == 4


def test_a_missing_or_invalid_side_gives_identical_findings(tmp_path: Path) -> None:
    """Derived sides are null unless all three sides are numbers (Polars' min/max_horizontal would skip a null)."""
    rows = []
    for i, (sides, dest, day) in enumerate((s, d, day) for s in [("640.4", "640.4", "0"), ("300", "", "200"), ("abc", "20", "10"),
                                                                 ("100", "120", "-5"), ("700", "450", "")]
                                           for d in ("PT", "ES", "PL", "FR", "IT", "HU", "AT") for day in ("2025-11-19", "2025-12-01")):
        rows.append({"shipment_id": f"M{i}", "dispatch_at": day, "origin_country": "PL", "destination_country": dest,
                     "delivery_type": "pudo", "dropoff_type": "pudo", "length_mm": sides[0], "width_mm": sides[1],
                     "height_mm": sides[2], "weight_kg": "2", "size_category": "B"})
    fast, slow = both_engines(write_csv(tmp_path / "m.csv", rows), family="inpost-international", as_of=dt.date(2025, 12, 1))
    assert_same(fast, slow)
    assert any(f["rule_id"] == "minimum-size" for f in slow["findings"])


@pytest.mark.parametrize("newline,trailing,collide", [("\n", True, False), ("\r\n", True, False), ("\n", False, False),
                                                     ("\n", True, True)], ids=["lf", "crlf", "no-final-newline", "hashes-collide"])
def test_small_chunks_with_short_rows_and_duplicates_give_identical_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                            newline: str, trailing: bool, collide: bool) -> None:
    """Chunk edges: a block may start with a short row or a blank line, end mid-file, or repeat an id of an earlier block.
    `collide`: every id gets the same 64-bit hash, so earlier ids are told apart by their text alone."""
    from checker import columnar

    if collide:
        monkeypatch.setattr(columnar, "_id_hash", lambda sid: pl.repeat(42, sid.len(), dtype=pl.UInt64, eager=True))

    path = generated.manifest(tmp_path, 600, seed=7, violation_share=0.3)
    lines = path.read_text(encoding="utf-8").split("\n")
    for i in range(1, len(lines) - 1):
        if i % 9 == 0:
            lines[i] = ";".join(lines[i].split(";")[:-3])  # three cells short
        if i % 50 == 0:
            lines[i] = ";".join([lines[i - 40].split(";")[0]] + lines[i].split(";")[1:])  # an id of an earlier block
        if i % 23 == 0:
            lines[i] += "\n"  # a blank line after it: no shipment, but it counts for the row numbers
        if i % 31 == 0:
            lines[i] += "\n ; ;"  # a line of blanks and delimiters: no shipment either
    text = "\n".join(lines).rstrip("\n") + ("\n" if trailing else "")
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    monkeypatch.setattr(columnar, "CHUNK_BYTES", 2048)
    fast, slow = both_engines(path, family="inpost-international", version="2025-11-20")
    assert_same(fast, slow)
    assert slow["summary"]["shipments"] == 600
    assert {"input-ragged-row", "input-duplicate-id"} <= {f["rule_id"] for f in slow["findings"]}


def test_small_chunks_with_quoted_cells_give_identical_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A block without a quote is read whole and its tail (the start of the next block's first line) dropped as the last
    record; a block with a quote is cut to its lines instead, since a quoted delimiter or newline breaks "one line,
    one record"."""
    from checker import columnar

    path = generated.manifest(tmp_path, 400, seed=5, violation_share=0.3)
    lines = path.read_text(encoding="utf-8").split("\n")
    for i in range(1, len(lines) - 1):
        cells = lines[i].split(";")
        if i % 7 == 0:
            cells[19] = f'"Zabawki; drewniane ""{i}"""'  # contents with the delimiter and a quote inside
        lines[i] = ";".join(cells)
    path.write_text("\n".join(lines), encoding="utf-8")
    monkeypatch.setattr(columnar, "CHUNK_BYTES", 4096)
    fast, slow = both_engines(path, family="inpost-international", version="2025-11-20")
    assert_same(fast, slow)
    assert slow["summary"]["shipments"] == 400
    assert not any(f["rule_id"] == "input-ragged-row" for f in slow["findings"])
    # A quoted newline, and a first block that ends inside the last cell of a later line (so the line Polars would
    # take from the tail has all its cells): the file goes to the row-wise reader, with the same report as asked
    # for directly.
    lines[28] = lines[28].replace('"Zabawki;', '"Zabawki\nna dwie linie;')
    data = "\n".join(lines).encode("utf-8")
    last_cell = len("\n".join(lines[:40]).encode("utf-8")) + 1 + len(lines[40].rsplit(";", 1)[0].encode("utf-8")) + 1
    path.write_bytes(data)
    monkeypatch.setattr(columnar, "CHUNK_BYTES", last_cell - (len(lines[0].encode("utf-8")) + 1) + 1)
    fast, slow = both_engines(path, family="inpost-international", version="2025-11-20")
    assert fast["manifest"]["dialect"].get("engine") != "columnar"
    assert fast["summary"] == slow["summary"] and fast["findings"] == slow["findings"]


def test_a_block_edge_inside_a_character_gives_identical_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A block that ends inside a two-byte character: its tail is not UTF-8, so reading the whole block fails and its
    lines are read alone; the fast path still checks the file, with the row-wise engine's findings."""
    from checker import columnar

    path = generated.manifest(tmp_path, 300, seed=11, violation_share=0.3)
    lines = path.read_text(encoding="utf-8").split("\n")
    for i in range(1, len(lines) - 1):
        cells = lines[i].split(";")
        cells[19] = f"Zażółć gęślą jaźń {i}"
        lines[i] = ";".join(cells)
    data = "\n".join(lines).encode("utf-8")
    path.write_bytes(data)
    body = len(lines[0].encode("utf-8")) + 1
    inside = data.index("ż".encode("utf-8"), len("\n".join(lines[:12]).encode("utf-8"))) + 1  # after its first byte
    monkeypatch.setattr(columnar, "CHUNK_BYTES", inside - body)
    fast, slow = both_engines(path, family="inpost-international", version="2025-11-20")
    assert_same(fast, slow)
    assert slow["summary"]["shipments"] == 300


@pytest.mark.parametrize("cell", ["EUR", " eur ", "XYZ", ""], ids=["valid", "padded", "invalid", "empty"])
def test_constant_columns_give_identical_findings(tmp_path: Path, cell: str) -> None:
    """A column with one text in every row is converted once and repeated (columnar._constant): valid, unsure and
    invalid texts, and an empty column. A column equal at its first, middle and last row but not elsewhere is not
    constant."""
    rows = []
    for i in range(9):
        rows.append({"shipment_id": f"C{i}", "service": "inpost-international", "dispatch_at": "2025-12-01",
                     "origin_country": "PL", "destination_country": "FR", "delivery_type": "locker", "dropoff_type": "locker",
                     "length_mm": "300", "width_mm": "200", "height_mm": "50", "weight_kg": "1",
                     "declared_value": "1000" if i in (0, 4, 8) else "100", "value_currency": cell, "cod_amount": "",
                     "sender_name": "Sklep", "sender_is_consumer": "false", "contents": "Książki"})
    fast, slow = both_engines(write_csv(tmp_path / "c.csv", rows), family="inpost-international", as_of=dt.date(2025, 12, 1))
    assert_same(fast, slow)
    assert slow["summary"]["shipments"] == 9


@pytest.mark.parametrize("plan_min,group_in_python", [(10**9, 5_000), (0, 0)], ids=["rows-in-python", "groups-in-polars"])
def test_every_explanation_path_gives_identical_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, plan_min: int,
                                                         group_in_python: int) -> None:
    """Dimension findings explained row by row (below _PLAN_MIN_ROWS), and combinations grouped by Polars (above
    _GROUP_IN_PYTHON candidate rows) rather than in a dict: the same findings as the row-wise engine."""
    from checker import columnar

    monkeypatch.setattr(columnar, "_PLAN_MIN_ROWS", plan_min)
    monkeypatch.setattr(columnar, "_GROUP_IN_PYTHON", group_in_python)
    path = generated.manifest(tmp_path, 500, seed=3, violation_share=0.4)
    fast, slow = both_engines(path, family="inpost-international", version="2025-11-20")
    assert_same(fast, slow)
    assert {"locker-size", "declared-size-category", "robomat-limit"} <= {f["rule_id"] for f in slow["findings"]}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.integers(1, 300), st.integers(1, 32),
                                st.sampled_from([" {}", "{} ", "\t{}", "{}\u00a0", " {} ", "{}", "upper", "hyphen",
                                                 # Python's str.strip() also strips the separators U+001C-U+001F
                                                 # (Unicode's White_Space, and Rust's, does not); a cell of them alone
                                                 # is empty to the row-wise reader.
                                                 "{}\x1f", "\x1c{}", "\x1d", "\u00a0"])),
                      min_size=20, max_size=120))
def test_cells_the_row_reader_normalises_give_identical_findings(tmp_path_factory, edits: list[tuple[int, int, str]]) -> None:
    """White space at either end (or only white space), other cases and hyphens: the row-wise converter's value is
    patched into the column (not the whole row sent row-wise), and every finding stays the same."""
    from checker import columnar

    path = generated.manifest(tmp_path_factory.mktemp("p"), 300, seed=11, violation_share=0.3)
    lines = path.read_text(encoding="utf-8").split("\n")
    for row, col, how in edits:
        cells = lines[row].split(";")
        cell = cells[col]
        cells[col] = cell.upper() if how == "upper" else cell.replace("_", "-") if how == "hyphen" else how.format(cell)
        lines[row] = ";".join(cells)
    path.write_text("\n".join(lines), encoding="utf-8")
    seen_rowwise = []
    original = columnar._Run._patch

    def spy(self: Any, column: Any, canon: str, idx: list[int], values: list[Any]) -> Any:
        out = original(self, column, canon, idx, values)
        if out is None:
            seen_rowwise.append(canon)
        return out

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(columnar._Run, "_patch", spy)
        fast, slow = both_engines(path, family="inpost-international", version="2025-11-20")
    assert_same(fast, slow)
    assert set(seen_rowwise) <= columnar._RAW_KEYED  # only date-times and lists still go row-wise


# ---- masks against the row-wise kind, for shapes no shipped policy uses --------------------------------
def _mask(rule_raw: dict[str, Any], df: pl.DataFrame, countries: dict[str, set[str]]) -> list[bool]:
    """The rule's column mask over `df` (text columns), with `countries`: the codes each country column has."""
    from checker import columnar, fastpath
    from checker.model import Rule
    from checker.yamlio import Mark

    frame = columnar._Frame(pl, df, set(df.columns), countries, fastpath.Screened())
    return df.select(fastpath.kind_expr(frame, Rule(rule_raw, Mark("t.yaml", 1, 1)), EvalEnv(), POLICIES.categories).alias("m"))["m"].to_list()


def _mask_vs_rowwise(rule_raw: dict[str, Any], rows: list[dict[str, Any]], exact: bool = True) -> None:
    """The column mask must select every row the row-wise kind finds a violation in (masks may select more)."""
    from checker.kinds import KINDS
    from checker.model import Rule
    from checker.shipment import Shipment
    from checker.yamlio import Mark

    rule = Rule(rule_raw, Mark("t.yaml", 1, 1))
    df = pl.DataFrame(rows, schema={k: pl.String for k in rows[0]})
    mask = _mask(rule_raw, df, {c: {v for v in df[c].to_list() if v} for c in df.columns if c.endswith("_country")})
    check = KINDS[rule.kind].compile(rule.params, None)
    for row, selected in zip(rows, mask):
        found = bool(check(Shipment(0, {k: v for k, v in row.items() if v is not None}), EvalEnv()))
        assert selected == found if exact else selected or not found, (row, selected, found)


@pytest.mark.parametrize("default", [None, ["pudo"]], ids=["no-default", "default"])
def test_allowed_by_table_mask_matches_the_row_wise_kind(default: list[str] | None) -> None:
    raw: dict[str, Any] = {"id": "t", "kind": "allowed", "clause": "x", "field": "delivery_type", "by": "destination_country",
                           "table": {"PL": ["locker", "pudo"], "FR": ["pudo"], "DE": []}}
    if default is not None:
        raw["default"] = default
    rows = [{"destination_country": c, "delivery_type": t}
            for c in ("PL", "FR", "DE", "IT", None) for t in ("locker", "pudo", "door", "PL\x1fpudo", None)]
    _mask_vs_rowwise(raw, rows)


_CODES = ["PL", "FR", "DE", "IT", "AT", "HU", "ES"]
_TYPES = ["locker", "pudo", "door", "courier", "pallet", "box", "van", "bike", "drone", "boat"]


@settings(max_examples=120, deadline=None)
@given(table=st.dictionaries(st.sampled_from(_CODES), st.lists(st.sampled_from(_TYPES), unique=True, max_size=10),
                             min_size=1, max_size=7),
       default=st.none() | st.lists(st.sampled_from(_TYPES), unique=True, max_size=3))
def test_allowed_tables_of_any_shape_mask_exactly_the_rows_the_row_wise_kind_finds(table: dict[str, list[str]],
                                                                                 default: list[str] | None) -> None:
    """Both column forms: a test per listed value (up to eight values) and the "key<US>value" lookup (more)."""
    raw: dict[str, Any] = {"id": "t", "kind": "allowed", "clause": "x", "field": "delivery_type", "by": "destination_country",
                           "table": table}
    if default is not None:
        raw["default"] = default
    rows = [{"destination_country": c, "delivery_type": t} for c in [*_CODES, "LT", None] for t in [*_TYPES, "other", None]]
    _mask_vs_rowwise(raw, rows)


@pytest.mark.parametrize("nots", [0, 1, 2, 3])
def test_requires_mask_with_negations_matches_the_row_wise_kind_without_double_negations(nots: int) -> None:
    # `requires` negates its `then`, and "then: not: any" (the shipped surcharge rules) made a mask with a
    # double negation that every chunk planned again; pairs of negations are now dropped (fastpath.negated).
    inner: dict[str, Any] = {"any": [{"field": "shape", "op": "in", "value": ["tube", "irregular"]},
                                     {"field": "delivery_type", "op": "eq", "value": "courier"}]}
    then = inner
    for _ in range(nots):
        then = {"not": then}
    raw = {"id": "t", "kind": "requires", "clause": "x", "then": then}
    rows = [{"shape": s, "delivery_type": d} for s in ("box", "tube", "irregular", None) for d in ("courier", "pudo", None)]
    _mask_vs_rowwise(raw, rows)
    from checker import columnar, fastpath
    from checker.model import Rule
    from checker.yamlio import Mark

    df = pl.DataFrame(rows, schema={"shape": pl.String, "delivery_type": pl.String})
    frame = columnar._Frame(pl, df, set(df.columns), {}, fastpath.Screened())
    tree = str(fastpath.kind_expr(frame, Rule(raw, Mark("t.yaml", 1, 1)), EvalEnv(), POLICIES.categories))
    assert ".not().not()" not in tree
    assert tree.count(".not()") == (nots + 1) % 2  # one negation left where their number is odd

def test_postcode_mask_matches_the_row_wise_kind() -> None:
    raw = {"id": "t", "kind": "format", "clause": "x", "field": "recipient_postcode", "format": "postcode"}
    rows = [{"destination_country": c, "recipient_postcode": p}
            for c in ("PL", "PT", "NL", "LT", "GB", "US", None)
            for p in ("31-042", " 31-042 ", "9000-123", "1011 ab", "LT-01100", "01100", "SW1A 1AA", "PL:31-042", "12", None)]
    _mask_vs_rowwise(raw, rows)


def test_email_mask_matches_the_row_wise_kind() -> None:
    raw = {"id": "t", "kind": "format", "clause": "x", "field": "recipient_email", "format": "email"}
    rows = [{"recipient_email": e} for e in ("a@b.pl", " a@b.pl ", "a@b.pl\t", "\u00a0a@b.pl\u00a0", "a @b.pl", "a@b",
                                             "a@@b.pl", "a@b.p1", "ä@ö.de", "a@b.pl\n", "@b.pl", "a@.pl", None)]
    _mask_vs_rowwise(raw, rows)


@pytest.mark.parametrize("fmt", ["mobile_phone", "phone"])
def test_phone_mask_selects_every_number_libphonenumber_rejects(fmt: str) -> None:
    """Numbers of every length around each region's mobile lengths: the mask must select every invalid one (it may
    select valid ones). NL is the region whose pattern's width (9-11 digits) spans a length its mobiles cannot have (10),
    so its possible-length regex is still run."""
    import phonenumbers

    raw = {"id": "t", "kind": "format", "clause": "x", "field": "recipient_phone", "format": fmt}
    rows = []
    for region in ("AT", "BE", "DE", "ES", "FR", "HU", "IT", "LU", "NL", "PL", "PT"):
        example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
        national = str(example.national_number)
        for n in range(len(national) - 3, len(national) + 4):
            digits = (national * 2)[:n]
            for text in (f"+{example.country_code} {digits}", f"+{example.country_code}{digits}"):
                rows += [{"destination_country": c, "recipient_phone": text} for c in (region, "PL", None)]
    rows.append({"destination_country": "NL", "recipient_phone": "+31 6 123456789"})  # 10 digits, the pattern's width
    _mask_vs_rowwise(raw, rows, exact=False)


def test_phone_mask_vouches_for_valid_mobiles_without_a_country() -> None:
    """A row whose country code was invalid (emptied by the reader) is checked by libphonenumber against the region
    of its "+CC" prefix: a valid mobile there is no finding, so the mask must not send it to Python (it did, half
    of all phone candidates on the benchmark's data); NL's lengths need its region, so NL numbers stay selected."""
    import phonenumbers

    regions = ("AT", "BE", "DE", "ES", "FR", "HU", "IT", "LU", "NL", "PL", "PT")
    numbers = [phonenumbers.format_number(phonenumbers.example_number_for_type(r, phonenumbers.PhoneNumberType.MOBILE),
                                          phonenumbers.PhoneNumberFormat.INTERNATIONAL) for r in regions]
    df = pl.DataFrame({"destination_country": [None] * len(numbers), "recipient_phone": numbers},
                      schema={"destination_country": pl.String, "recipient_phone": pl.String})
    mask = _mask({"id": "t", "kind": "format", "clause": "x", "field": "recipient_phone", "format": "mobile_phone"}, df,
                 {"destination_country": set(regions)})
    assert dict(zip(regions, mask)) == {r: r == "NL" for r in regions}


_KEYWORDS = sorted({k for c in POLICIES.categories.by_id.values() for ks in c.keywords.values() for k in ks})
_GLUE = st.sampled_from([" ", "", "-", "_", "/", "ą", "ł", "É", "1", "x", ".", "\u00a0", "’", "İ", "ß", "\t"])


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.tuples(_GLUE, st.sampled_from(_KEYWORDS), _GLUE, st.sampled_from(["", "a", "ów", "S", "12", " "])),
                      min_size=1, max_size=3))
def test_keyword_prefilter_admits_every_text_screen_hits(parts: list[tuple[str, str, str, str]]) -> None:
    """The prefilter may admit too much, never too little: keywords glued to letters, digits, '_' and non-ASCII."""
    cats = POLICIES.categories
    text = "".join(a + kw.rstrip("*") + b + c for a, kw, b, c in parts)
    if cats.screen(text, list(cats.by_id)):
        admitted = pl.Series([text]).str.to_lowercase().str.contains(cats.prefilter)[0]
        assert admitted, text


def test_keyword_prefilter_anchors_words_at_token_starts() -> None:
    """Bare substrings admitted nine catalogue texts in ten; anchored at token starts they do not."""
    rx = POLICIES.categories.prefilter
    texts = pl.Series(["herbata liściasta mini 15", "pościel bawełniana classic 87", "kubek ceramiczny s 189", "akumulator li ion"])
    assert texts.str.contains(rx).to_list() == [False, False, False, True]


def test_keyword_prefilter_treats_only_non_word_characters_as_boundaries() -> None:
    """Every character the prefilter's boundary class excludes must be \\w to Python (else a hit could be missed)."""
    import re

    from checker.categories import _NOT_WORD

    every = pl.Series([chr(c) for c in range(0x30000) if not 0xD800 <= c <= 0xDFFF])
    inside = every.filter(~every.str.contains(f"^{_NOT_WORD}$")).to_list()
    assert len(inside) > 200 and all(re.match(r"\w", c) for c in inside)


_VARYING = ("severity", "field", "actual", "expected", "message")


def test_a_findings_json_cut_once_per_rule_is_its_full_serialisation() -> None:
    """fastexplain.rule_runs: for every rule of every version and country layer, a finding put together from the rule's
    runs and its varying members is byte for byte the JSON of Finding.to_dict (quotes, non-ASCII, lists, numbers and
    None included)."""
    from checker import fastexplain
    from checker.engine import Engine
    from checker.findings import jsonable
    from checker.kinds.base import Violation
    from checker.recordlog import dumps
    from checker.shipment import Shipment

    engine = Engine(POLICIES)
    values = [("weight_kg", 31.5, "≤ 30 kg", 'Waga "31,5" > 30 kg — łódź', "error"),
              (None, ["bateria", "ogień"], None, "a\\b\nc", "warning"), ("dimensions", None, "A: ≤ 8 × 38 × 64 cm", "", "info")]
    checked = 0
    for fam in POLICIES.families.values():
        for version in fam.versions:
            layers = {(c if ly.applies_to == "origin" else None, c if ly.applies_to == "destination" else None)
                      for ly in version.layers for c in ly.countries}
            for origin, dest in {(None, None)} | layers:
                probe = Shipment(0, {"origin_country": origin, "destination_country": dest})
                for cr in engine._compile(fam, version, probe, "base", dt.date(2025, 12, 1)):
                    own, cited, severity_of_rule = fastexplain.rule_runs(engine, cr)
                    assert severity_of_rule == cr.rule.severity
                    for field, actual, expected, message, severity in values:
                        f = engine._finding(cr, Shipment(7, {"destination_country": "PL"}), Violation(field, actual, expected))
                        f.message, f.severity = message, severity
                        full = f.to_dict()
                        del full["shipment_id"], full["row"], full["destination_country"]
                        cut = ",".join([f'"severity":{dumps(f.severity)}', own,
                                        fastexplain.members(f.field, jsonable(f.actual), f.expected, f.message), cited])
                        assert cut == dumps(full)[1:-1], (fam.id, version.id, cr.rule.id)
                        # Engine.varying (what the columnar path serialises) is that finding's own varying fields.
                        viol = Violation(field, actual, expected, message, severity=severity, vars={"missing_rate": "EUR→PLN"})
                        for missing_rate in (False, True):
                            d = engine._finding(cr, Shipment(7, {}), viol, missing_rate).to_dict()
                            assert Engine.varying(cr, viol, missing_rate) == {k: d[k] for k in _VARYING}
                        checked += 1
    assert checked > 500


_PHONE_REGIONS = ["PL", "PT", "FR", "ES", "IT", "DE", "AT", "BE", "NL", "LU", "HU", "CZ", "SK", "RO", "BG", "HR", "SI", "LT",
                  "LV", "EE", "FI", "SE", "DK", "IE", "GR", "CY", "MT", "GB"]


@settings(max_examples=300, deadline=None)
@given(region=st.sampled_from(_PHONE_REGIONS), digits=st.lists(st.integers(0, 9), min_size=0, max_size=4),
       cuts=st.lists(st.tuples(st.integers(0, 20), st.sampled_from([" ", "-", "(", ")", ".", " - ", "/", "\u00a0"])), max_size=5),
       mutate=st.booleans())
def test_phone_patterns_with_separators_match_the_number_without_them(region: str, digits: list[int],
                                                                       cuts: list[tuple[int, str]], mutate: bool) -> None:
    """fastpath._spread: the pattern with separators allowed matches a number exactly where the plain pattern matches the
    number with the usual separators (space, hyphen, brackets, dot) removed; any other character fails both."""
    import re

    import phonenumbers

    from checker import fastpath

    plain, spread = fastpath._mobile_regex_plain(region), fastpath._mobile_regex(region)
    if plain is None:
        assert spread is None
        return
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    number = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    if mutate:  # another length or other digits: often not a mobile any more
        number = number[:-len(digits)] if digits and len(number) > len(digits) + 3 else number + "".join(map(str, digits))
    for at, sep in sorted(cuts, reverse=True):
        number = number[:at] + sep + number[at:]
    removed = re.sub(r"[ \-().]", "", number)
    for p, s in zip(plain, spread):
        if p is not None:
            assert bool(re.fullmatch(s, number)) == bool(re.fullmatch(p, removed)), (p, number)


def test_phone_pattern_syntax_outside_libphonenumbers_is_not_spread() -> None:
    from checker import fastpath

    assert fastpath._spread(r"^\+48(?:5\d{8}|6[0-3]\d{7,8})$").count("(?:[ \\-().]*") == 8  # one per digit, class, \d and +
    with pytest.raises(fastpath.NotCompilable):
        fastpath._spread(r"^\+48(?:\w{9})$")


@pytest.mark.parametrize("fails", [False, True], ids=["advised", "refused"])
def test_the_whole_file_is_asked_into_the_page_cache_first(monkeypatch: pytest.MonkeyPatch, fails: bool) -> None:
    """columnar._read_ahead: the manifest is read ahead in the background, the whole file, before its first read;
    a platform or file that refuses the advice changes nothing."""
    import os

    from checker.paths import ROOT

    calls: list[tuple[int, int, int]] = []

    def advise(fd: int, offset: int, length: int, advice: int) -> None:
        calls.append((offset, length, advice))
        if fails:
            raise OSError(29, "Illegal seek")

    monkeypatch.setattr(os, "posix_fadvise", advise, raising=False)
    fast, slow = both_engines(ROOT / "examples" / "manifest.csv", family="inpost-international")
    assert calls == [(0, 0, os.POSIX_FADV_WILLNEED)]
    assert_same(fast, slow)


def test_masks_without_query_options_give_identical_findings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The masks are one lazy query with common-subexpression elimination (columnar._mask_options); a Polars without
    QueryOptFlags computes them eagerly, with the same findings."""
    from checker import columnar
    from checker.paths import ROOT

    assert columnar._mask_options(pl) is not None  # this Polars takes the lazy query, which the other tests check
    monkeypatch.setattr(pl, "QueryOptFlags", None, raising=False)
    assert columnar._mask_options(pl) is None
    fast, slow = both_engines(ROOT / "examples" / "manifest.csv", family="inpost-international")
    assert_same(fast, slow)
    assert fast["summary"]["failed"] > 0


def test_code_columns_with_a_few_other_spellings_give_identical_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Code columns (enumerations, countries) whose cells are nearly all spelled as the codes are taken as they are
    (columnar._as_members); the few other cells, a capital letter, a lower-case country, an unknown code, a space,
    are decided by the row-wise converter, as in a column converted in full."""
    from checker import columnar

    taken: list[str] = []
    real = columnar._as_members
    monkeypatch.setattr(columnar, "_as_members", lambda cells, canon: taken.append(canon) or real(cells, canon))
    odd = {7: {"delivery_type": "Locker", "origin_country": "pl"}, 90: {"destination_country": "XX", "shape": "BOX"},
           150: {"dropoff_type": " pudo", "destination_country": "it"}, 199: {"delivery_type": "Paczkomat", "shape": ""}}
    rows = []
    for i in range(256):
        row = {"shipment_id": f"C{i}", "dispatch_at": "2025-12-01", "origin_country": ("PL", "FR", "IT")[i % 3],
               "destination_country": ("PL", "ES", "PT", "FR", "IT")[i % 5], "delivery_type": ("locker", "pudo", "door")[i % 3],
               "dropoff_type": ("pudo", "locker")[i % 2], "shape": ("box", "foil_bag", "envelope")[i % 3],
               "length_mm": "300", "width_mm": "200", "height_mm": str(40 + i), "weight_kg": "2", "contents": "Książki",
               "recipient_phone": "+48 512 345 678", "recipient_postcode": "31-042"}
        rows.append({**row, **odd.get(i, {})})
    fast, slow = both_engines(write_csv(tmp_path / "codes.csv", rows), family="inpost-international", as_of=dt.date(2025, 12, 1))
    assert_same(fast, slow)
    assert {"delivery_type", "dropoff_type", "shape", "origin_country", "destination_country"} <= set(taken)
    bad = {(f["row"], f["field"]) for f in slow["findings"] if f["kind"] == "input"}
    assert {(92, "destination_country"), (201, "delivery_type")} <= bad  # row = index + 2 (the header is line 1)
    # At most one cell in 64 otherwise spelled; beyond that the column is converted in full.
    one = real(pl.Series(["Locker"] + ["locker"] * 63 + [None]), "delivery_type")
    assert one is not None and one.to_list() == [True] + [False] * 64
    assert real(pl.Series(["Locker"] * 2 + ["locker"] * 62), "delivery_type") is None
    assert real(pl.Series(["PL"] * 64), "recipient_city") is None  # not a code column


def test_plan_texts_with_policy_words_that_need_escaping_give_identical_findings(tmp_path: Path) -> None:
    """A dimensions plan writes its texts' JSON as the text in quotes only where the policy's own words need no
    escaping (fastexplain._quoted); a message with a quote and a backslash must still come out as the row-wise
    engine writes it."""
    import shutil

    root = tmp_path / "policies"
    shutil.copytree(policies_dir(), root)
    pl_yaml = root / "inpost-international" / "2025-11-20" / "countries" / "PL.yaml"
    text = pl_yaml.read_text(encoding="utf-8")
    start = text.index("  - id: robomat-limit")
    at = text.index("    message:", start)
    end = text.index("\n    ", at + 1)
    while text[end + 5] == " ":  # the folded message's continuation lines
        end = text.index("\n    ", end + 1)
    odd = '    message: \'{dims} is over the "Robomat" limit \\ {detail}\''
    pl_yaml.write_text(text[:at] + odd + text[end:], encoding="utf-8")
    policies = load_policies_or_fail(root)
    path = generated.manifest(tmp_path, 500, seed=3, violation_share=0.4)
    kw = {"family": "inpost-international", "version": "2025-11-20"}
    fast = check_manifest(str(path), policies, engine_mode="columnar", **kw).report
    slow = check_manifest(str(path), policies, engine_mode="rowwise", **kw).report
    assert_same(fast, slow)
    robomat = [f["message"] for f in fast["findings"] if f["rule_id"] == "robomat-limit"]
    assert robomat and all('"Robomat" limit \\' in m for m in robomat)


# ---- JSON Lines: the same columnar run over records (checker/jsonl_columns.py) ---------------------------------------
def _write_jsonl(path: Path, records: list[Any], newline: str = "\n") -> Path:
    """One JSON value per line; a str item is written as it is (a blank line, a broken line)."""
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False, default=str) for r in records]
    path.write_bytes((newline.join(lines) + newline).encode("utf-8"))
    return path


# Keys the first record may not use: an alias, other capitals, white space, a key of no column. (Two keys for the
# shipment id send the whole file to the row-wise engine: test_json_lines_the_columnar_run_cannot_take_are_read_row_wise.)
_SPELLS = {"length_cm": "length_mm", "Weight_KG": "weight_kg", "weight_g": "weight_kg", "  contents ": "contents",
           "Service": "service"}
_KEYS = st.sampled_from(["length_cm", "Weight_KG", "weight_g", "note", "__meta", "  contents ", "Service", "pallet"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(row_st, st.dictionaries(st.sampled_from(["length_mm", "weight_kg", "declared_value",
                                                                        "sender_is_consumer", "contents_categories",
                                                                        "recipient_postcode", "shipment_id", "service"]),
                                                       st.sampled_from(["int", "float", "bool", "list", "text"]), max_size=4),
                               st.dictionaries(st.sampled_from(COLUMNS), ODD_VALUES, max_size=2),
                               st.dictionaries(_KEYS, ODD_VALUES, max_size=2),
                               st.sampled_from(["record"] * 20 + ["", "   ", "\u00a0", "\x1f", "{broken", "[1, 2]", "7", '"text"',
                                                                   "null", "{}"])),
                     min_size=1, max_size=30),
       newline=st.sampled_from(["\n", "\r\n"]), dup=st.booleans())
def test_random_json_lines_give_identical_findings(tmp_path_factory, rows: list[tuple[Any, ...]], newline: str, dup: bool) -> None:
    """Records with values of every JSON type (numbers, booleans, lists, nested objects, null), keys spelled otherwise
    than the first record spelled them or known to no column, and lines that are blank, broken or no object."""
    records: list[Any] = []
    for i, (row, types, odd, extra, line) in enumerate(rows):
        if line != "record":
            records.append(line)
            continue
        rec = {k: typed(v, types.get(k, "text")) for k, v in row.items() if v != ""}
        rec["shipment_id"] = f"S{i if not (dup and i == len(rows) - 1) else 0}" if "shipment_id" not in odd else odd["shipment_id"]
        rec.update(odd)
        if not any(isinstance(r, dict) for r in records):
            # The first record may spell a column its own way (an alias, other capitals), which the run then reads
            # that column from; other records spelling it otherwise go to the row-wise engine.
            for key in extra:
                rec.pop(_SPELLS.get(key, ""), None)
        rec.update(extra)
        records.append(rec)
    path = _write_jsonl(tmp_path_factory.mktemp("m") / "m.jsonl", records, newline)
    rates = Rates(base="PLN", per_unit={"EUR": 4.3})
    try:
        slow = check_manifest(str(path), POLICIES, engine_mode="rowwise", family="inpost-international",
                              env=EvalEnv(rates=rates, categories=POLICIES.categories), as_of=dt.date(2025, 12, 1)).report
    except Exception as exc:  # noqa: BLE001 - e.g. no record at all: the fast path must refuse the same way
        with pytest.raises(type(exc)):
            check_manifest(str(path), POLICIES, engine_mode="columnar", family="inpost-international",
                           env=EvalEnv(rates=rates, categories=POLICIES.categories), as_of=dt.date(2025, 12, 1))
        return
    fast = check_manifest(str(path), POLICIES, engine_mode="columnar", family="inpost-international",
                          env=EvalEnv(rates=rates, categories=POLICIES.categories), as_of=dt.date(2025, 12, 1)).report
    # The fast path reads a file whose first non-blank line is a record with one key per column.
    first = next((r for r in records if not (isinstance(r, str) and not r.strip())), None)
    if isinstance(first, str):
        try:
            first = json.loads(first)  # "{}" is a record too
        except ValueError:
            pass
    taken = isinstance(first, dict) and _one_key_per_column(first) and not any(
        isinstance(r, dict) and sum(k.strip().lower() == "shipment_id" for k in r) > 1 for r in records)
    assert (fast["manifest"]["dialect"].get("engine") == "columnar") == taken
    event("the fast path read the file" if taken else "the row-wise engine read the file")
    if taken:
        assert_same(fast, slow)
    else:
        assert fast == {**slow, "generated_at": fast["generated_at"]}  # the row-wise engine read it for both


def _one_key_per_column(rec: dict[str, Any]) -> bool:
    from checker.jsonl_columns import JsonlHeader, NotColumnar

    try:
        JsonlHeader(rec)
    except NotColumnar:
        return False
    return True


@pytest.mark.parametrize("newline,trailing", [("\n", True), ("\r\n", True), ("\n", False)], ids=["lf", "crlf", "no-final-newline"])
def test_small_chunks_of_json_lines_with_blank_lines_and_repeated_ids_give_identical_findings(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, newline: str, trailing: bool) -> None:
    """Chunk edges in JSON Lines: blank lines count for the row numbers, ids repeat those of earlier blocks, and some
    records go to the row-wise engine (a nested value, an alias the first record did not use)."""
    from checker import columnar

    path = generated.manifest(tmp_path, 600, seed=7, violation_share=0.3)
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    records: list[Any] = []
    for i, row in enumerate(rows):
        rec: dict[str, Any] = {k: v for k, v in row.items() if v}
        for k in ("length_mm", "weight_kg"):
            if i % 3 and k in rec:
                rec[k] = typed(rec[k].replace(",", "."), "float")
        if i % 50 == 0 and i:
            rec["shipment_id"] = rows[i - 40]["shipment_id"]
        if i % 37 == 1:
            rec["note"] = {"nested": True}
        if i % 41 == 1:
            rec["weight_g"] = 1200  # a second key for the weight, which the first record did not use
        records.append(rec)
        if i % 23 == 0:
            records.append("")
    path = _write_jsonl(tmp_path / "m.jsonl", records, newline)
    if not trailing:
        path.write_bytes(path.read_bytes().rstrip(b"\r\n"))
    monkeypatch.setattr(columnar, "CHUNK_BYTES", 4096)
    fast, slow = both_engines(path, family="inpost-international", version="2025-11-20")
    assert_same(fast, slow)
    assert slow["summary"]["shipments"] == 600 and fast["findings"][-1]["row"] > 600  # numbered by line, blanks too
    assert "input-duplicate-id" in {f["rule_id"] for f in slow["findings"]}
    assert "unknown columns kept and ignored: note" in slow["manifest"]["warnings"]


def test_json_lines_the_columnar_run_cannot_take_are_read_row_wise(tmp_path: Path) -> None:
    """A first line that is no object, a file not in UTF-8, a record with two keys for one column: the row-wise
    engine reads them, with the same report as without the fast path."""
    cases = {
        "first-not-object": b'[1, 2]\n{"shipment_id": "S1", "weight_kg": 3}\n',
        "latin-2": '{"shipment_id": "S1", "contents": "Książki"}\n'.encode("iso-8859-2"),
        "two-keys": b'{"shipment_id": "S1", "weight_kg": 3, "weight_g": 3000}\n',
        "two-ids-later": b'{"shipment_id": "S1", "weight_kg": 3}\n{"shipment_id": "S2", "Shipment_ID": "S3"}\n',
        "bom": b'\xef\xbb\xbf{"shipment_id": "S1", "weight_kg": 3}\n',
    }
    for name, data in cases.items():
        path = tmp_path / f"{name}.jsonl"
        path.write_bytes(data)
        fast, slow = both_engines(path, family="inpost-international", version="2025-11-20")
        assert "engine" not in fast["manifest"]["dialect"], name
        assert fast == {**slow, "generated_at": fast["generated_at"]}, name


def test_json_values_orjson_reads_otherwise_give_the_row_wise_findings(tmp_path: Path) -> None:
    """orjson (the JSON Lines reader's parser) reads an integer beyond 64 bits as a float and refuses NaN, 1e400 and a
    lone surrogate, which json reads; those records are checked as json reads them (checker/jsonl_columns.py)."""
    base = {"service": "inpost-international", "origin_country": "PL", "destination_country": "PL",
            "delivery_type": "locker", "length_mm": 100, "width_mm": 100, "height_mm": 50, "weight_kg": 2.5}
    lines = [json.dumps({"shipment_id": "S0", **base}),
             json.dumps({**base, "shipment_id": 18446744073709551616}),  # an id beyond 64 bits: "18446744073709551616"
             json.dumps({**base, "shipment_id": "S2", "recipient_postcode": -9223372036854775809}),
             json.dumps({**base, "shipment_id": "S3", "contents_categories": [18446744073709551617, "alcohol"]}),
             '{"shipment_id": "S4", "weight_kg": NaN, "length_mm": 1e400}',
             '{"shipment_id": "S5", "contents": "Baterie \\ud800"}',
             json.dumps({**base, "shipment_id": 18446744073709551616})]  # the same id again: a duplicate
    path = tmp_path / "m.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    fast, slow = both_engines(path, family="inpost-international", version="2025-11-20")
    assert_same(fast, slow)
    assert {s["shipment_id"] for s in slow["shipments"]} >= {"18446744073709551616", "S4"}
    assert [f["row"] for f in slow["findings"] if f["rule_id"] == "input-duplicate-id"] == [7]
