"""The spool of report records (checker/recordlog.py): what goes in comes out, in memory or on disk."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from checker import recordlog
from checker.recordlog import RecordLog

RECORDS = [{"shipment_id": f"S-{i}", "row": i + 2, "message": "Łódź → 25 kg \u2028 \"quoted\"", "n": i} for i in range(500)]


def _log(monkeypatch: pytest.MonkeyPatch, spool: int) -> RecordLog:
    monkeypatch.setattr(recordlog, "SPOOL_BYTES", spool)
    log = RecordLog(large=spool == 0)  # 0: a large run's log, in a temp file from the start
    for r in RECORDS[:200]:
        log.append(r)
    log.append_lines(recordlog.dumps(r) for r in RECORDS[200:])
    return log


@pytest.mark.parametrize("spool", [1 << 20, 512, 0], ids=["in-memory", "on-disk", "large-run"])
def test_records_read_back_and_written_as_a_json_array(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spool: int) -> None:
    log = _log(monkeypatch, spool)
    assert getattr(log._fh, "_rolled", True) == (spool != 1 << 20)
    assert log._on_disk() == (spool != 1 << 20)
    assert len(log) == 500 and log[0] == RECORDS[0] and log[-1] == RECORDS[-1] and list(log) == RECORDS
    _assert_written(log, tmp_path, RECORDS)


def _assert_written(log: RecordLog, tmp_path: Path, expected: list[dict[str, object]]) -> None:
    """`log` written as a JSON array holds `expected`: into a real file (the report's atomic temp file: the spool's
    bytes are copied under the text layer) and into a text buffer (no bytes layer: decoded block by block)."""
    target = tmp_path / "out.json"
    with target.open("w", encoding="utf-8") as fh:
        fh.write('{"findings": ')
        log.write_json_array(fh)
        fh.write(', "after": 1}')
    assert json.loads(target.read_text(encoding="utf-8")) == {"findings": expected, "after": 1}
    text = io.StringIO()
    log.write_json_array(text)
    assert json.loads(text.getvalue()) == expected


def test_an_empty_log_is_an_empty_array() -> None:
    out = io.StringIO()
    RecordLog().write_json_array(out)
    assert out.getvalue() == "[]"


@pytest.mark.parametrize("spool", [1 << 20, 512], ids=["in-memory", "on-disk"])
@pytest.mark.parametrize("split", [0, 300, 500], ids=["all-in-tail", "both", "empty-tail"])
def test_a_log_spooled_into_a_file_is_appended_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spool: int, split: int) -> None:
    """The forked half's findings (checker/halves.py) come after this process's own, record for record: read back,
    written as the report's array (copied from the tail file, which its folder no longer lists), and kept in order
    when more records are appended after them."""
    other = RecordLog(str(tmp_path / "findings"))
    other.append_lines(recordlog.dumps(r) for r in RECORDS[split:])
    assert other.flush() == 500 - split
    monkeypatch.setattr(recordlog, "SPOOL_BYTES", spool)
    log = RecordLog()
    log.append_lines(recordlog.dumps(r) for r in RECORDS[:split])
    log.extend_from(str(tmp_path / "findings"), len(other))
    other.close()
    (tmp_path / "findings").unlink()  # the child's folder is removed before the report is written
    assert len(log) == 500 and list(log) == RECORDS and log[-1] == RECORDS[-1]
    _assert_written(log, tmp_path, RECORDS)
    log.append(RECORDS[0])
    assert len(log) == 501 and list(log) == RECORDS + [RECORDS[0]]
    _assert_written(log, tmp_path, RECORDS + [RECORDS[0]])
    log.close()


def test_row_span_finds_a_rows_records_or_where_they_would_go(tmp_path) -> None:
    """Binary search over a spool of records in row order: every row's lines, and for a row without any the place
    between its neighbours; an id that looks like a row number inside its text does not mislead it."""
    import json as _json

    from checker import recordlog

    log = recordlog.RecordLog(str(tmp_path / "spool"))
    want: dict[int, list[bytes]] = {}
    for row in range(2, 3000):
        if row % 7 == 0:
            continue  # a clean row: no record
        for k in range(row % 3 + 1):
            line = _json.dumps({"shipment_id": f'S,"row":{row + 1},x', "row": row, "k": k, "pad": "x" * (row % 50)},
                               separators=(",", ":"))
            log.append_lines([line])
            want.setdefault(row, []).append(line.encode())
    log.flush()
    data = (tmp_path / "spool").read_bytes()
    for row in [2, 3, 7, 8, 700, 1400, 2996, 2999, 3000, 5000]:
        start, end, lines = recordlog.row_span(str(tmp_path / "spool"), row)
        assert lines == want.get(row, [])
        assert data[start:end] == b"".join(x + b",\n" for x in lines)
        before = [r for r in want if r < row]
        assert start == sum(len(x) + 2 for r in before for x in want[r])
    log.close()


def test_patched_puts_records_in_place_of_others(tmp_path) -> None:
    from checker import recordlog

    src = tmp_path / "spool"
    src.write_bytes(b"a,\nbb,\nccc,\n")
    recordlog.patched(str(src), [(0, 3, b""), (7, 7, recordlog.records(["x", "y"])), (12, 12, b"z,\n")], str(tmp_path / "out"))
    assert (tmp_path / "out").read_bytes() == b"bb,\nx,\ny,\nccc,\nz,\n"


@pytest.mark.parametrize("spool", [1 << 20, 0], ids=["in-memory", "large-run"])
def test_lines_from_polars_reach_the_kernel_in_small_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spool: int) -> None:
    """A column of serialised records goes to an on-disk spool in writes of at most PIECE_BYTES (see Pieces), every
    byte in order even when the kernel takes fewer bytes than asked; records appended before and after stay around
    them. An in-memory spool has no descriptor and takes Polars' writes itself."""
    pl = pytest.importorskip("polars")
    sizes: list[int] = []
    real_write = recordlog.os.write

    def short_write(fd: int, data: memoryview) -> int:
        sizes.append(len(data))
        return real_write(fd, data[: max(1, len(data) - 7)])  # the kernel may take fewer bytes than asked

    monkeypatch.setattr(recordlog, "PIECE_BYTES", 100)
    monkeypatch.setattr(recordlog.os, "write", short_write)
    log = RecordLog(large=spool == 0)
    log.append(RECORDS[0])
    log.append_lines_of(pl.DataFrame({"line": [recordlog.dumps(r) for r in RECORDS[1:499]]}), "line")
    log.append(RECORDS[499])
    assert len(log) == 500 and list(log) == RECORDS
    if spool == 0:
        assert sizes and max(sizes) <= 100 and sum(sizes) >= sum(len(recordlog.dumps(r).encode()) + 2 for r in RECORDS[1:499])
    else:
        assert not sizes
    _assert_written(log, tmp_path, RECORDS)


def test_records_written_from_several_columns_are_their_members_joined_by_commas(tmp_path: Path) -> None:
    """append_lines_of with columns: each holds whole members of the record, and the record is their join; finding
    lines are cut into their runs (finding_lines.line_runs) wherever their texts hold the marks it cuts at."""
    pl = pytest.importorskip("polars")
    from checker.columnar import _RUNS
    from checker.finding_lines import line_runs as _line_runs
    from checker.findings import Finding

    odd = ',"destination_country":"XX","fix":"f","field":"g","severity":"h"'
    records = [Finding(sid, k + 2, "error", "r", "k", msg, field="weight_kg", actual=odd, expected=msg, fix=msg,
                       clause={"id": "§1", "quote": odd}, also_cites=[{"id": "§2", "quote": odd}], country=dc).to_dict()
               for k, (sid, msg, dc) in enumerate([("S-1", "plain", "PL"), ('a,"row":9', odd, None),
                                                   ("Łódź\\1", 'tab\there, quote " and ,"', "PT")])]
    runs = [_line_runs(recordlog.dumps(r)) for r in records]
    assert [",".join(p) for p in runs] == [recordlog.dumps(r) for r in records]
    for r, p in zip(records, runs):
        assert [json.loads("{" + x.lstrip("{").rstrip("}") + "}") for x in p] == [
            {k: r[k] for k in keys} for keys in (("shipment_id", "row"), ("severity",), ("rule_id", "kind", "policy", "clause", "layer",
                                                 "exception", "waived"), ("field", "actual", "expected", "message"),
                                                 ("fix", "also_cites"), ("destination_country",))]
    log = RecordLog()
    log.append_lines_of(pl.DataFrame({k: [p[j] for p in runs] for j, k in enumerate(_RUNS)}), list(_RUNS))
    assert list(log) == records
    _assert_written(log, tmp_path, records)


def test_the_report_file_gets_its_blocks_before_the_findings_are_copied_in(tmp_path: Path) -> None:
    """recordlog._reserve: disk blocks for what is about to be copied, the file's size unchanged (so the writes that
    follow land where they would have); a pipe is left alone."""
    import os
    import sys

    target = tmp_path / "report.json"
    with target.open("wb") as fh:
        fh.write(b"{")
        recordlog._reserve(fh, 64 << 20)
        size, blocks = os.fstat(fh.fileno()).st_size, os.fstat(fh.fileno()).st_blocks
        fh.write(b"}")
    assert size == 1 and target.read_bytes() == b"{}"
    if sys.platform.startswith("linux"):  # elsewhere nothing is reserved
        assert blocks * 512 >= 64 << 20
    r, w = os.pipe()
    with os.fdopen(w, "wb") as pipe:
        recordlog._reserve(pipe, 64 << 20)  # not a regular file: nothing, and no error
        pipe.write(b"x")
    assert os.read(r, 10) == b"x"
    os.close(r)
