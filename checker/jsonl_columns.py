"""JSON Lines blocks as the text columns the columnar run converts (checker/columnar.py), for large `.jsonl` manifests.

Why: a carrier's system exports a day of parcels as JSON Lines as often as CSV, and the row-wise engine takes about
half a millisecond a record (2026-11-23: 100 k records in 52 s; the same parcels as CSV in 1.5 s). A JSON record's
values are turned into the cells a CSV row would hold, and the columnar run does the rest as for a CSV.

Exact by construction: a line means what the row-wise reader's own function makes of it (manifest.jsonl_record).
orjson parses it first, three times faster; where orjson refuses a line json reads (NaN, 1e400, a lone surrogate,
deep nesting) or reads it otherwise (an integer beyond 64 bits becomes a float), json reads it. A value becomes a cell
only where the row-wise converter gives the same value for the cell as for the JSON value: a string is its own cell;
a number, true/false or a list of plain items becomes the text Python's `str` gives it, which is what the converter
reads from them. Everything else keeps its record, as json reads it, and the row-wise engine checks that record: a
line that is no JSON object, a nested object, an empty list, a list item holding a separator, a key spelled otherwise
than the first record spelled it; and (columnar._Run.process) a row with a refused cell that was no JSON string, or
with two refused cells, since the findings quote the JSON value itself, in the record's key order. The differential
tests give both engines the same files (tests/test_fastpath.py, tests/test_hostile.py, tests/test_halves.py).
"""

from __future__ import annotations

from typing import Any

import orjson

from .manifest import Dialect, broken, jsonl_record, too_deep
from .manifest_columns import aliases, columns, value_type

FORMAT = "jsonl"
SUFFIXES = (".jsonl", ".ndjson")  # as manifest.read_manifest reads them
_LIST_SEPARATORS = (";", ",", "|")  # what the row-wise converter splits a list's text at (Normaliser.convert)


class NotColumnar(Exception):
    """The file needs the row-wise reader (columnar.Unsuitable is raised in its place)."""


def _name(key: Any) -> str:
    """A key as the row-wise reader names a column (Normaliser.convert_record)."""
    return str(key).strip().lower().lstrip("\ufeff")


class JsonlHeader:
    """The run's columns, in the shape columnar._Header gives a CSV's: every known column, each read from one key.

    A column's key is the one the file's first record uses for it, or the column's own name; so a record that spells
    a column another way (an alias, other capitals) is checked row-wise, where the first spelling in the record wins as
    the row-wise reader decides. Every known column is `present` (an absent key is an empty cell, as in the row-wise
    reader), so the masks of one chunk fit every other."""

    format = FORMAT
    first_line = 1  # no header line: the first record is on line 1
    decimal_comma = True  # manifest.Dialect("jsonl") has no decimal point set, so the row-wise reader accepts "10,5"
    encoding = "utf-8"

    def __init__(self, first: dict[str, Any], strict: bool = False) -> None:
        """`strict`: the file is a JSON document rewritten as lines (checker/json_array.py); a line that is no JSON
        value means the document's own reader must read it, so the run gives up (NotColumnar) instead of reporting
        the line as a broken record."""
        self.strict = strict
        cols, alias = columns(), aliases()
        self.source: dict[str, str] = {}  # canonical column -> its key
        self.factor: dict[str, float | None] = {}
        for key in first:
            name = _name(key)
            canon, factor = alias.get(name, (name, None))
            if canon not in cols:
                continue
            if canon in self.source:
                raise NotColumnar("two keys for one column")  # the row-wise reader decides which one counts
            self.source[canon], self.factor[canon] = str(key), factor
        for canon in cols:
            if canon not in self.source:
                self.source[canon], self.factor[canon] = canon, None
        self.cells = list(self.source.values())
        self.unknown: list[str] = []  # counted per record here, not per chunk (read_block)
        self.position = {cell: i for i, cell in enumerate(self.cells)}
        self.name = {cell: _name(cell) for cell in self.cells}
        # key -> what it is (see slot), filled as keys are met
        self.slots: dict[str, tuple[int, str] | str | bool] = {
            key: (k, "list" if value_type(cols[canon]) == "list" else "scalar") for k, (canon, key) in
            enumerate(self.source.items())}

    def dialect(self) -> dict[str, Any]:
        return Dialect(FORMAT, self.encoding).to_dict()

    def slot(self, key: str) -> tuple[int, str] | str | bool:
        """(position, "list" or "scalar") for the key of a column; False for another spelling of a column (its record
        goes to the row-wise engine); for a key no column has, the name the report's warning gives it ("" for one it
        does not name: empty, or starting with "__"), as the row-wise reader ignores and names it."""
        got = self.slots.get(key)
        if got is None:
            name = _name(key)
            if name in columns() or name in aliases():
                got = False
            else:
                got = name if name and not name.startswith("__") else ""
            self.slots[key] = got
        return got


def first_record(fh: Any) -> dict[str, Any] | None:
    """The first record of the file open in `fh` (binary, at its start) as the row-wise reader parses it; None when
    the first non-blank line is no JSON object (the row-wise engine reads such a file)."""
    for raw in fh:
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if line.strip():
            rec = jsonl_record(line.rstrip("\n"))
            return rec if type(rec) is dict else None
    return None


_BIG = float(1 << 63)  # orjson reads an integer beyond 64 bits as a float, json as an integer: such a record goes to json


def _cell(value: Any, kind: str) -> str | None | bool:
    """The cell that converts as `value` does; None for an empty one; False where there is none."""
    t = type(value)
    if t is str:
        return value
    if value is None:
        return None
    if t is int or t is bool or (t is float and not (abs(value) >= _BIG and value.is_integer())):
        return str(value)  # what Normaliser.convert reads from them (a number column reads float(value), the same)
    if t is list and kind == "list":
        items = [_cell(item, "scalar") for item in value]  # a null item is "None" to the row-wise reader: no cell
        if any(text is None or text is False or any(sep in text for sep in _LIST_SEPARATORS) for text in items):
            return False
        joined = ";".join(items)  # type: ignore[arg-type]
        # [] and [""] are an empty list to the row-wise reader, and an empty cell is no list at all
        return joined if joined.strip(";").strip() else False
    return False


def read_block(h: JsonlHeader, body: bytes, unknown: dict[str, int]
               ) -> tuple[list[list[str | None]], list[bool], dict[int, Any], list[bytes]]:
    """The lines of `body` (whole lines) as columns of cells in `h.cells` order, whether each line is blank, the
    records of the lines the row-wise engine must check ({line index: record}), and the lines (other rows may go to the
    row-wise engine later: `record` reads them again). `unknown` counts the keys no column has (the report names them,
    as the row-wise reader does)."""
    lines = body.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    n = len(lines)
    cols: list[list[str | None]] = [[None] * n for _ in h.cells]
    blank = [False] * n
    forced: dict[int, Any] = {}
    slots, slot_of = h.slots, h.slot
    id_col = cols[h.position[h.source["shipment_id"]]]
    for i, raw in enumerate(lines):
        if not raw.strip():
            if h.strict:
                raise NotColumnar("a blank line in a rewritten JSON document")
            blank[i] = True
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise NotColumnar("not UTF-8") from None  # the row-wise reader decodes the whole file another way
        if not line.strip():
            blank[i] = True  # white space that Python strips and bytes.strip() does not (U+00A0, U+001F, ...)
            continue
        try:
            rec = orjson.loads(raw)
        except orjson.JSONDecodeError:
            rec = None  # json decides: it reads some lines orjson refuses (NaN, 1e400, a lone surrogate, deep nesting)
        if type(rec) is not dict:
            forced[i] = _json_record(h, line)
            if type(forced[i]) is dict:
                id_col[i] = _forced_id(forced[i])
            continue
        for key, value in rec.items():
            slot = slots.get(key)
            if slot is None:
                slot = slot_of(key)
            if slot.__class__ is tuple:
                if value.__class__ is str:
                    cols[slot[0]][i] = value
                    continue
                cell = _cell(value, slot[1])
                if cell is not False:
                    cols[slot[0]][i] = cell
                    continue
            elif slot.__class__ is str:  # a key of no column
                if slot:
                    unknown[slot] = unknown.get(slot, 0) + 1
                if (value.__class__ is not list and value.__class__ is not dict) or not too_deep(line):
                    continue
                # A nested value no column reads, in a line with many brackets: jsonl_record refuses nesting beyond
                # manifest.MAX_DEPTH, which orjson reads (a column's nested value is no cell: it comes here anyway).
                # Checked here, not for every line: counting a line's brackets cost ~0.9 s a million lines.
            # Another spelling of a column, a value no cell gives, or a deep one: the row-wise engine checks the record
            # as json reads it.
            forced[i] = _json_record(h, line)
            if type(forced[i]) is dict:
                id_col[i] = _forced_id(forced[i])
            else:  # refused (nested too deeply): the row-wise reader names none of its keys
                _uncount(h, rec, key, unknown)
            break
    return cols, blank, forced, lines


def _uncount(h: JsonlHeader, rec: dict[str, Any], upto: str, unknown: dict[str, int]) -> None:
    """Take back the counts of the keys of no column that read_block counted for `rec`, up to key `upto`."""
    for key in rec:
        name = h.slots.get(key)
        if name.__class__ is str and name:
            unknown[name] -= 1  # type: ignore[index]
            if not unknown[name]:  # type: ignore[index]
                del unknown[name]  # type: ignore[arg-type]
        if key == upto:
            return


def _json_record(h: JsonlHeader, line: str) -> Any:
    """The record of a line as json reads it (manifest.jsonl_record); in a rewritten JSON document (h.strict), a line
    that is no JSON value stops the columnar run: the document's own reader says where it is broken."""
    rec = jsonl_record(line)
    if h.strict and broken(rec):
        raise NotColumnar("a line of a rewritten JSON document is no JSON value")
    return rec


def _forced_id(rec: dict[str, Any]) -> str | None:
    """The shipment id cell of a record the row-wise engine checks: the run still numbers its id's uses (a later row
    repeating it is a duplicate, and so is this row if an earlier one used it)."""
    ids = [value for key, value in rec.items() if _name(key) == "shipment_id"]
    if len(ids) > 1:
        # The row-wise reader names the row by the first and keeps the last non-empty one: one cell cannot say both.
        raise NotColumnar("two keys for the shipment id in one record")
    cell = _cell(ids[0], "scalar") if ids else None
    return None if cell is False else cell


def record_at(block: tuple[list[bytes], dict[int, Any]], i: int) -> Any:
    """The record of line `i` of a block (read_block's lines and forced records) as the row-wise reader gives it."""
    lines, forced = block
    return forced[i] if i in forced else record(lines[i])


def from_text(block: tuple[list[bytes], dict[int, Any]], i: int, key: str) -> bool:
    """Whether the cell of `key` in line `i` of a block is a JSON string: then a finding about it quotes the same text
    from the cell as from the record, and the columnar run may give it."""
    rec = record_at(block, i)
    return type(rec) is dict and type(rec.get(key)) is str


def record(line: bytes) -> Any:
    """The record the row-wise reader gives for one line (with or without its line end)."""
    return jsonl_record(line.decode("utf-8").rstrip("\n"))
