"""A JSON manifest (one array of records) checked through its JSON Lines rewrite (checker/json_array.py).

The claim under test: the columnar run of the rewrite gives the whole-document reader's report, or the whole-document
reader reads the file itself (a cut inside a string, a broken document, another wrapper); and a broken document is
refused with the same sentence either way.
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

from checker import json_array
from checker.errors import FatalInput
from checker.run import check_manifest
from checker.shipment import EvalEnv, Rates
from checker.yamlio import load_yaml_file
from differential import ODD_VALUES, POLICIES, assert_same, both_engines, policy_test_dirs, row_st, typed

LAYOUTS = ["compact", "lines", "indent", "indent-crlf", "wrapped", "bom"]


def write_json(path: Path, records: list[Any], layout: str = "indent") -> Path:
    """The records as one JSON document, laid out as exports lay them out."""
    if layout == "compact":
        text = json.dumps(records, ensure_ascii=False, separators=(",", ":"))
    elif layout == "lines":  # one record per line, as a hand-written or streamed array
        text = "[\n" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n]\n"
    elif layout == "wrapped":
        text = json.dumps({"shipments": records}, ensure_ascii=False, indent=1)
    else:
        text = json.dumps(records, ensure_ascii=False, indent=2)
        if layout == "indent-crlf":
            text = text.replace("\n", "\r\n")
    data = text.encode("utf-8")
    path.write_bytes(codecs.BOM_UTF8 + data if layout == "bom" else data)
    return path


def _check(path: Path, mode: str) -> dict[str, Any] | str:
    """The report of one engine, or the sentence it refused the file with."""
    rates = Rates(base="PLN", per_unit={"EUR": 4.3})
    try:
        return check_manifest(str(path), POLICIES, engine_mode=mode, family="inpost-international",
                              env=EvalEnv(rates=rates, categories=POLICIES.categories), as_of=dt.date(2025, 12, 1)).report
    except FatalInput as exc:
        return str(exc)


def _same_or_refused(path: Path) -> dict[str, Any] | str:
    """Both engines' outcome, asserted equal: the same report (the columnar engine named in the dialect when it read
    the file) or the same sentence."""
    slow, fast = _check(path, "rowwise"), _check(path, "columnar")
    if isinstance(slow, str):
        assert fast == slow
        return slow
    assert isinstance(fast, dict)
    if fast["manifest"]["dialect"].get("engine") == "columnar":
        assert_same(fast, slow)
    else:
        assert fast == {**slow, "generated_at": fast["generated_at"]}
    return fast


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("family,version,tests_dir", policy_test_dirs(),
                         ids=lambda x: str(x).split("/")[-1] if isinstance(x, Path) else str(x))
def test_policy_test_cases_as_a_json_document_give_identical_findings(tmp_path: Path, family: str, version: str,
                                                                      tests_dir: Path, layout: str) -> None:
    """Every layout of the same typed records: the columnar run reads the rewrite, and reports a JSON document."""
    rows = []
    for f in sorted(tests_dir.glob("*.yaml")):
        for i, case in enumerate(load_yaml_file(f).data["cases"]):
            rows.append({"shipment_id": f"{f.stem}-{i}", **case["shipment"]})
    path = write_json(tmp_path / "cases.json", rows, layout)
    fast, slow = both_engines(path, family=family, version=version)
    assert_same(fast, slow)
    assert fast["manifest"]["dialect"]["format"] == "json" and slow["summary"]["shipments"] == len(rows)
    assert fast["manifest"]["dialect"]["encoding"] == ("utf-8 (with BOM)" if layout == "bom" else "utf-8")


# Damage a document may carry. Each keeps or breaks the document; the rewrite must not change which.
_DAMAGE = {
    "none": lambda t: t,
    "glue-in-a-string": lambda t: t.replace('"Anna"', '"An}, {na"', 1),  # the cut falls inside a string
    "newline-in-a-string": lambda t: t.replace('"Anna"', '"An\nna"', 1),  # a raw line break: json refuses it
    "tab-in-a-string": lambda t: t.replace('"Anna"', '"An\tna"', 1),
    "trailing-comma": lambda t: t[:t.rstrip().rfind("]")] + ",]",
    "missing-comma": lambda t: t.replace("},", "}", 1),
    "extra-data": lambda t: t + " []",
    "list-of-objects": lambda t: t.replace('"Anna"', '[{"a": 1}, {"b": 2}]', 1),
    "nan": lambda t: t.replace('"Anna"', "NaN", 1),
    "deep": lambda t: t.replace('"Anna"', "[" * 300 + "]" * 300, 1),
    "unclosed": lambda t: t.rstrip()[:-1],
    "other-wrapper-key": lambda t: '{"meta": {"n": 1}, "shipments": ' + t + "}",
    "two-wrappers": lambda t: '{"shipments": [{"shipment_id": "X"}], "shipments": ' + t + "}",
    "not-a-record": lambda t: t.replace("[", "[7, ", 1),
    "form-feed": lambda t: t.replace("},", "}\f,", 1),
}


@settings(max_examples=int(os.environ.get("JSON_EXAMPLES", 60)), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(row_st, st.dictionaries(st.sampled_from(["length_mm", "weight_kg", "declared_value",
                                                                        "sender_is_consumer", "contents_categories"]),
                                                       st.sampled_from(["int", "float", "bool", "list", "text"]), max_size=3),
                               st.dictionaries(st.sampled_from(["contents", "recipient_postcode", "note"]), ODD_VALUES,
                                               max_size=1)),
                     min_size=1, max_size=25),
       layout=st.sampled_from(LAYOUTS), damage=st.sampled_from(sorted(_DAMAGE)), block=st.sampled_from([7, 64, 1 << 20]))
def test_random_json_documents_give_the_whole_document_readers_outcome(tmp_path_factory, monkeypatch: pytest.MonkeyPatch,
                                                                      rows: list[tuple[Any, ...]], layout: str,
                                                                      damage: str, block: int) -> None:
    """Typed and odd values in every layout, intact or damaged; read in blocks of a few bytes up to the usual size."""
    monkeypatch.setattr(json_array, "BLOCK_BYTES", block)
    records = []
    for i, (row, types, odd) in enumerate(rows):
        rec = {k: typed(v, types.get(k, "text")) for k, v in row.items() if v != ""}
        rec.update(odd)
        records.append({"shipment_id": f"S{i}", **rec, "recipient_name": "Anna"})
    path = write_json(tmp_path_factory.mktemp("j") / "m.json", records, layout)
    text = path.read_bytes().decode("utf-8")
    path.write_bytes(_DAMAGE[damage](text).encode("utf-8"))
    outcome = _same_or_refused(path)
    read = "refused" if isinstance(outcome, str) else outcome["manifest"]["dialect"].get("engine", "row-wise")
    event(f"{damage}: {read}")
    if damage == "none":
        assert read == "columnar"


def test_the_rewrite_holds_one_record_a_line_at_every_block_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Records holding braces, commas and escaped line breaks in their strings, cut into blocks of every size up to a
    few records: line i is record i."""
    records = [{"shipment_id": f"S{i}", "contents": "a}, {b" if i % 3 == 0 else "x\ny", "dims": {"l": i}, "n": [i, {}]}
               for i in range(12)]
    path = write_json(tmp_path / "m.json", records, "indent-crlf")
    for block in range(1, 400, 7):
        monkeypatch.setattr(json_array, "BLOCK_BYTES", block)
        with json_array.rewritten(str(path)) as lines:
            assert lines is not None
            got = Path(lines.path).read_bytes().split(b"\n")
        assert got[-1] == b""
        # A record holding "}, {" in a string is cut there: its lines are no JSON (the run then gives up).
        parsed = []
        for line in got[:-1]:
            try:
                parsed.append(json.loads(line))
            except ValueError:
                parsed.append(None)
        intact = [r for i, r in enumerate(records) if i % 3]
        assert [p for p in parsed if p is not None][-len(intact):] == intact or None in parsed


def test_a_clean_document_is_rewritten_record_for_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    records = [{"shipment_id": f"S{i}", "contents": "x\ny \\ \"q\"", "dims": {"l": i}, "n": [i, {"a": [1]}]} for i in range(40)]
    for layout in LAYOUTS:
        path = write_json(tmp_path / f"{layout}.json", records, layout)
        for block in (5, 97, 1 << 20):
            monkeypatch.setattr(json_array, "BLOCK_BYTES", block)
            with json_array.rewritten(str(path)) as lines:
                assert lines is not None
                got = Path(lines.path).read_text(encoding="utf-8").split("\n")
            assert got[-1] == "" and [json.loads(line) for line in got[:-1]] == records, (layout, block)


@pytest.mark.parametrize("data", [b"[]", b"  [ \n ]  ", b'{"shipments": []}', b'{"rows": [{"shipment_id": "S1"}]}',
                                  b'"text"', b"", b'[{"shipment_id": "S1"}', '[{"shipment_id": "S1"}]'.encode("utf-16"),
                                  '[{"shipment_id": "S1"}]'.encode("utf-16-le")],
                         ids=["empty", "empty-spaced", "empty-wrapped", "other-key", "string", "nothing", "unclosed",
                              "utf-16", "utf-16-no-bom"])
def test_documents_the_rewrite_does_not_take(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "m.json"
    path.write_bytes(data)
    with json_array.rewritten(str(path)) as lines:
        assert lines is None or data.strip() in (b"[ \n ]",)
    _same_or_refused(path)


def test_the_rewrite_is_removed_after_the_run_and_after_a_refusal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    good = write_json(tmp_path / "good.json", [{"shipment_id": "S1", "weight_kg": 3}], "indent")
    bad = tmp_path / "bad.json"
    bad.write_text('[{"shipment_id": "S1"},\n {"shipment_id": "S2",}]', encoding="utf-8")
    assert isinstance(_same_or_refused(good), dict)
    assert "invalid JSON at line 2, column 23" in str(_same_or_refused(bad))
    assert os.listdir(tmp_path / "tmp") == []


def test_a_json_lines_line_nested_deeply_is_refused_by_both_engines(tmp_path: Path) -> None:
    """json's own limit depends on the call stack, orjson's is 1,023 levels: both engines refuse a line deeper than
    manifest.MAX_DEPTH (checker/manifest.py) the same way, and read one just within it."""
    from checker.manifest import MAX_DEPTH

    base = {"service": "inpost-international", "origin_country": "PL", "destination_country": "PL", "weight_kg": 2}
    lines = [json.dumps({"shipment_id": "S0", **base}),
             json.dumps({"shipment_id": "S1", **base, "note": json.loads("[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1))}),
             # a key of no column before the deep value: the row-wise reader, refusing the line, names neither
             json.dumps({"shipment_id": "S2", **base, "pallet": 1, "layers": json.loads("[" * MAX_DEPTH + "]" * MAX_DEPTH)}),
             json.dumps({"shipment_id": "S3", **base, "contents": "[" * 2000})]  # brackets in a string are no nesting
    path = tmp_path / "m.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    fast, slow = both_engines(path, family="inpost-international", version="2025-11-20")
    assert_same(fast, slow)
    broken = [f["row"] for f in slow["findings"] if "nested too deeply" in f["message"]]
    assert broken == [3]
    assert slow["manifest"]["warnings"] == ["unknown columns kept and ignored: note"]


def test_a_json_lines_column_nested_deeply_is_refused_by_both_engines(tmp_path: Path) -> None:
    """A column's value nested deeper than manifest.MAX_DEPTH, after a key of no column: the row-wise reader refuses
    the line, so it names neither key; the columnar run agrees."""
    from checker.manifest import MAX_DEPTH

    base = {"service": "inpost-international", "origin_country": "PL", "destination_country": "PL", "weight_kg": 2}
    deep = json.loads("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    lines = [json.dumps({"shipment_id": "S0", **base}),
             json.dumps({"shipment_id": "S1", **base, "tier": 1, "contents_categories": deep}),
             json.dumps({"shipment_id": "S2", **base, "contents": deep})]
    path = tmp_path / "m.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    fast, slow = both_engines(path, family="inpost-international", version="2025-11-20")
    assert_same(fast, slow)
    assert [f["row"] for f in slow["findings"] if "nested too deeply" in f["message"]] == [2, 3]
    assert slow["manifest"]["warnings"] == []
