"""Read a manifest (CSV, JSON, JSON Lines, YAML) into raw records, then normalise them into Shipments.

Spreadsheet exports vary: Polish Excel writes semicolons, decimal commas and sometimes
Windows-1250. We detect these and *say what we detected* in the report, instead of
guessing silently. A bad cell is an `input` finding naming row and column; a file that
cannot be read at all is a FatalInput (exit 2).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import itertools
import json
import math
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Iterator

import phonenumbers

from .errors import FatalInput
from .findings import Finding, input_finding
from .manifest_columns import aliases, columns
from .shipment import Shipment

csv.field_size_limit(16 * 1024 * 1024)

_KNOWN_COUNTRIES = frozenset(phonenumbers.SUPPORTED_REGIONS) | {"XK"}
_TRUE = {"true", "yes", "y", "1", "tak", "t", "x", "sim", "oui", "si", "ja", "igen"}
_FALSE = {"false", "no", "n", "0", "nie", "f", "", "não", "nao", "non", "nein", "nem"}
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


@dataclass
class Dialect:
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    decimal: str | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}


def csv_dialect(encoding: str | None, delim: str) -> Dialect:
    """The dialect a delimited file is reported with, by this reader and by the columnar one (checker/columnar.py),
    so a report says the same of a file whichever engine read it."""
    dialect = Dialect("csv", encoding, {"\t": "tab"}.get(delim, delim), "," if delim != "," else ".")
    if delim != ",":
        dialect.note = "decimal comma accepted in numbers"
    return dialect


@dataclass
class RawManifest:
    path: str
    dialect: Dialect
    records: Iterator[tuple[int, dict[str, Any]]]
    warnings: list[str] = field(default_factory=list)


_MAGIC = {b"\x1f\x8b": "a gzip archive", b"PK\x03\x04": "a ZIP archive (an .xlsx workbook?) — export it as CSV",
          b"%PDF": "a PDF document", b"\xd0\xcf\x11\xe0": "an old Excel/Office file — export it as CSV"}


def utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text without a BOM shows NULs in every other byte of ASCII characters."""
    head = data[:4096]
    if len(head) < 4 or head.count(b"\x00") < len(head) // 4:
        return None
    even, odd = head[0::2].count(b"\x00"), head[1::2].count(b"\x00")
    return "utf-16-be" if even > odd else "utf-16-le"


def _decode(data: bytes, path: str) -> tuple[str, str]:
    """The text of a whole file and the encoding it was read in (the decisions of `_detect_encoding`)."""
    decoded: dict[str, str] = {}

    def valid(codec: str) -> bool:  # in memory, the strict check is the decoding itself: kept, not done twice
        try:
            decoded[codec] = data.decode(codec)
        except UnicodeDecodeError:
            return False
        return True

    codec, errors, label, skip = _detect_encoding(valid, data[:65536], path)
    if codec in decoded:
        return decoded[codec], label
    return data[skip:].decode(codec, errors), label


def utf8_prefix(head: bytes) -> bool:
    """Whether the first bytes of a file are UTF-8 text (a character cut at the end of `head` is fine)."""
    if b"\x00" in head or utf16_without_bom(head):
        return False
    try:
        codecs.getincrementaldecoder("utf-8")("strict").decode(head[3:] if head.startswith(codecs.BOM_UTF8) else head)
    except UnicodeDecodeError:
        return False
    return True


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (";", ",", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


_WHOLE_DOCUMENT = (".json", ".yaml", ".yml")
_JSON_LINES = (".jsonl", ".ndjson")


def read_manifest(path: str, data: bytes | None = None) -> RawManifest:
    """Open and parse `path` ('-' reads standard input bytes passed as `data`).

    A CSV file on disk is decoded and parsed as a stream (memory does not follow the file size);
    JSON and YAML documents, and standard input, are read whole.
    """
    if data is None and Path(path).suffix.lower() not in _WHOLE_DOCUMENT:
        streamed = _stream(path)
        if streamed is not None:
            return streamed
    if data is None:
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:
            raise FatalInput(f"Cannot read manifest {path}: the file does not exist.") from None
        except IsADirectoryError:
            raise FatalInput(f"Cannot read manifest {path}: it is a directory, not a file.") from None
        except OSError as exc:
            raise FatalInput(f"Cannot read manifest {path}: {exc.strerror or exc}.") from None
    suffix = Path(path).suffix.lower()
    text, encoding = _decode(data, path)
    if not text.strip():
        raise FatalInput(f"Cannot read manifest {path}: the file is empty.")
    stripped = text.lstrip()
    if suffix == ".jsonl" or suffix == ".ndjson":
        return _read_jsonl(path, text, encoding)
    if suffix == ".json" or (suffix not in (".csv", ".txt", ".yaml", ".yml") and stripped[:1] in ("[", "{")):
        return _read_json(path, text, encoding)
    if suffix in (".yaml", ".yml"):
        return _read_yaml(path, text, encoding)
    return _read_csv(path, text, encoding)


def _records_from(obj: Any, path: str, what: str) -> list[Any]:
    if isinstance(obj, dict) and isinstance(obj.get("shipments"), list):
        return obj["shipments"]
    if isinstance(obj, list):
        return obj
    raise FatalInput(f"Cannot read manifest {path}: {what} must be a list of shipments or an object with a 'shipments' list.")


def _int_or_text(digits: str) -> int | str:
    """Integers beyond Python's conversion limit stay text; the cell then becomes an input finding, not a crash."""
    return int(digits) if len(digits) <= 4000 else digits


def _read_json(path: str, text: str, encoding: str) -> RawManifest:
    try:
        obj = json.loads(text, parse_int=_int_or_text)
    except json.JSONDecodeError as exc:
        raise FatalInput(f"Cannot read manifest {path}: invalid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg}).") from None
    except RecursionError:
        raise FatalInput(f"Cannot read manifest {path}: the JSON is nested too deeply.") from None
    recs = _records_from(obj, path, "the JSON document")
    return RawManifest(path, Dialect("json", encoding), ((i + 1, r) for i, r in enumerate(recs)))


def _jsonl_lines(text: str | Callable[[], IO[str]]) -> Iterator[str]:
    """The lines of a JSON Lines text or stream, cut at \\n only (str.splitlines() would also cut at U+2028)."""
    if isinstance(text, str):
        yield from text.split("\n")
        return
    with text() as fh:  # opened with newline="\n": lines end at \n alone, nothing translated
        for line in fh:
            yield line[:-1] if line.endswith("\n") else line


# Nesting deeper than this is refused in a JSON Lines line, whoever reads it. json's own limit is Python's recursion
# limit less the frames in use, so the same line could be read by one engine and refused by the other (and orjson reads
# up to 1,023 levels); a line with fewer brackets than this cannot be nested that deep, and is not measured.
MAX_DEPTH = 256
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(r"[\[\]{}]")


def too_deep(line: str) -> bool:
    """Whether `line` may nest deeper than MAX_DEPTH: a quick count of its brackets (strings included, so never too
    few)."""
    return line.count("[") + line.count("{") > MAX_DEPTH


def _depth(line: str) -> int:
    """The deepest nesting of `line` (the brackets outside its strings)."""
    depth = deepest = 0
    for b in _BRACKET.findall(_STRING.sub("", line)):
        depth += 1 if b in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def jsonl_record(line: str) -> Any:
    """The record of one non-blank JSON Lines line; a _Broken one where the line is no JSON. Shared with the columnar
    reader of JSON Lines (checker/jsonl_columns.py), so a line means the same thing to both engines."""
    if too_deep(line) and _depth(line) > MAX_DEPTH:
        return _Broken("invalid JSON (nested too deeply)")
    try:
        return json.loads(line, parse_int=_int_or_text)
    except json.JSONDecodeError as exc:
        return _Broken(f"invalid JSON ({exc.msg})")
    except RecursionError:
        return _Broken("invalid JSON (nested too deeply)")
    except ValueError as exc:
        return _Broken(f"unusable JSON value ({exc})")


def broken(record: Any) -> bool:
    """Whether jsonl_record found no JSON value in its line."""
    return isinstance(record, _Broken)


def _read_jsonl(path: str, text: str | Callable[[], IO[str]], encoding: str) -> RawManifest:
    def gen() -> Iterator[tuple[int, Any]]:
        for lineno, line in enumerate(_jsonl_lines(text), start=1):
            if line.strip():
                yield lineno, jsonl_record(line)
    return RawManifest(path, Dialect("jsonl", encoding), gen())


def _read_yaml(path: str, text: str, encoding: str) -> RawManifest:
    from .yamlio import YamlError, load_yaml_text

    try:
        doc = load_yaml_text(text, path)
    except YamlError as exc:
        raise FatalInput(f"Cannot read manifest {exc.mark}: {exc.message}.") from None
    recs = _records_from(doc.data, path, "the YAML document")
    return RawManifest(path, Dialect("yaml", encoding), ((i + 1, r) for i, r in enumerate(recs)))


def _split_lines(fh: IO[str]) -> Iterator[str]:
    """The stream's lines as str.splitlines(keepends=True) cuts them (also at U+2028, form feed, ...)."""
    with fh:
        for line in fh:
            yield from line.splitlines(keepends=True)


def _io_lines(pieces: Iterator[str]) -> Iterator[str]:
    """Pieces joined back into the lines a newline="" stream gives (cut only after \\n, \\r or \\r\\n)."""
    buf: list[str] = []
    for piece in pieces:
        buf.append(piece)
        if piece.endswith(("\n", "\r")):
            yield "".join(buf)
            buf = []
    if buf:
        yield "".join(buf)


def _stream(path: str) -> RawManifest | None:
    """A CSV or JSON Lines manifest read as a stream: the encoding decided as `_decode` decides it, by a first pass
    that keeps nothing; None when `path` is not a regular file (a pipe can be read once: the whole-file reader takes it)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None  # decided before opening: opening a named pipe takes its writer's one session
        fh = open(path, "rb")
    except OSError:
        return None  # the whole-file reader gives the one-sentence error
    with fh:
        try:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                return None
            head = fh.read(65536)
            codec, errors, label, skip = _detect_encoding(lambda c: _valid(fh, c), head, path)
        except OSError:
            return None

    def opener(newline: str = "") -> IO[str]:
        raw = open(path, "rb")
        raw.seek(skip)
        return io.TextIOWrapper(raw, encoding=codec, errors=errors, newline=newline)

    with opener() as text:
        first = ""
        for line in text:
            if line.strip():
                first = line.lstrip()
                break
    if not first:
        raise FatalInput(f"Cannot read manifest {path}: the file is empty.")
    if Path(path).suffix.lower() in _JSON_LINES:
        return _read_jsonl(path, lambda: opener("\n"), label)
    if Path(path).suffix.lower() not in (".csv", ".txt") and first[:1] in ("[", "{"):
        with opener() as text:
            return _read_json(path, text.read(), label)
    return _read_csv(path, opener, label)


def _valid(fh: IO[bytes], codec: str) -> bool:
    """Whether the whole file decodes strictly with `codec`, read in blocks and discarded."""
    decoder = codecs.getincrementaldecoder(codec)("strict")
    fh.seek(0)
    try:
        while block := fh.read(1 << 20):
            decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _detect_encoding(valid: Callable[[str], bool], head: bytes, path: str) -> tuple[str, str, str, int]:
    """(codec, errors, label, bytes to skip) of a file that starts with `head`; `valid(codec)` tells whether the
    whole file decodes strictly (a pass over the stream, or the decoding of bytes in memory)."""
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            raise FatalInput(f"Cannot read manifest {path}: it is {what}, not a CSV, JSON or YAML manifest.")
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8", "replace", "utf-8 (with BOM)", 3
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        if not valid("utf-16"):
            raise FatalInput(f"Cannot read manifest {path}: it starts as UTF-16 but is not valid UTF-16 text.")
        return "utf-16", "strict", "utf-16", 0
    utf16 = utf16_without_bom(head)
    if not utf16 and valid("utf-8"):
        return "utf-8", "strict", "utf-8", 0  # a stray NUL inside a cell is just an odd character
    if utf16 and valid(utf16):
        return utf16, "strict", f"{utf16} (no BOM)", 0
    if head[:4096].count(b"\x00") > 64:
        raise FatalInput(f"Cannot read manifest {path}: it holds binary data (NUL bytes), not text.")
    # Not UTF-8: Polish spreadsheets export Windows-1250; every byte but five decodes, and those become U+FFFD.
    return "cp1250", "replace", "windows-1250 (the file is not valid UTF-8)", 0


@dataclass
class _Broken:
    """A record that could not be parsed at all; it still counts as a shipment with an input finding."""

    reason: str


def _read_csv(path: str, text: str | Callable[[], IO[str]], encoding: str) -> RawManifest:
    """`text` is the decoded file, or a function that opens it as a text stream (newline="") from the start."""
    if isinstance(text, str):
        if not text.strip():
            raise FatalInput(f"Cannot read manifest {path}: the file is empty.")
        whole = text
        opener: Callable[[], IO[str]] = lambda: io.StringIO(whole, newline="")  # noqa: E731
    else:
        opener = text
    with opener() as fh:
        first = fh.readline()
    first_line = first.splitlines()[0] if first else ""
    delim = _delimiter(first_line)
    reader = csv.reader(opener(), delimiter=delim, strict=True)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise FatalInput(f"Cannot read manifest {path}: the header line is not valid CSV ({exc}).") from None
    header = [h.strip().lstrip("\ufeff") for h in header]
    dialect = csv_dialect(encoding, delim)
    warnings: list[str] = []
    seen: dict[str, int] = {}
    for i, h in enumerate(header):
        key = h.lower()
        if key in seen and key:
            warnings.append(f"duplicate column '{h}' (columns {seen[key] + 1} and {i + 1}); the first one is used")
        seen.setdefault(key, i)
    keep = sorted(seen.values())  # first occurrence of every column name
    dupes = [(i, seen[h.lower()]) for i, h in enumerate(header) if h and seen[h.lower()] != i]

    def records(rdr: Any, start: int) -> Iterator[tuple[int, Any]]:
        """Records with the line each starts on; an unterminated quote is reported and parsing resumes on the next line."""
        while True:
            try:
                cells = next(rdr)
            except StopIteration:
                return
            except csv.Error as exc:
                yield start, _Broken(f"not valid CSV ({exc}); parsing resumes on the next line")
                # Only after an unterminated quote is the text split into lines again: never on the normal path.
                rest = _io_lines(itertools.islice(_split_lines(opener()), start, None))  # after the broken record's first line
                rdr = csv.reader(rest, delimiter=delim, strict=True)
                offset = start
                yield from ((offset + row, rec) for row, rec in records(rdr, 1))
                return
            if not cells or all(not c.strip() for c in cells):
                start = rdr.line_num + 1
                continue
            rec: dict[str, Any] = {header[i]: cells[i] for i in keep if i < len(cells)}
            for i, first in dupes:
                if i < len(cells) and first < len(cells) and cells[i].strip() != cells[first].strip():
                    rec.setdefault("__conflicts__", []).append((header[first], cells[first], cells[i]))
            if len(cells) > len(header):
                rec["__extra_cells__"] = len(cells) - len(header)
            elif len(cells) < len(header):
                rec["__missing_cells__"] = len(header) - len(cells)
            yield start, rec
            start = rdr.line_num + 1
    return RawManifest(path, dialect, records(reader, reader.line_num + 1), warnings)


@dataclass
class Normaliser:
    """Turns raw records into Shipments; keeps per-manifest state (duplicate ids, unknown columns)."""

    path: str
    decimal_comma: bool = True
    seen_ids: dict[str, int] = field(default_factory=dict)
    unknown: dict[str, int] = field(default_factory=dict)

    def shipment(self, row: int, rec: Any) -> tuple[Shipment, list[Finding]]:
        sid = f"row-{row}"
        if isinstance(rec, _Broken):
            return Shipment(row, {}, sid, self.path), [input_finding(sid, row, None, "unreadable-record",
                                                                      f"{self.path} row {row}: {rec.reason}")]
        if not isinstance(rec, dict):
            return Shipment(row, {}, sid, self.path), [input_finding(sid, row, None, "unreadable-record",
                                                                      f"{self.path} row {row}: a shipment must be an object, not {type(rec).__name__}")]
        findings: list[Finding] = []
        for name in self.unknown_columns(rec):
            self.unknown[name] = self.unknown.get(name, 0) + 1
        raw_id = next((raw for key, raw in rec.items() if str(key).strip().lower().lstrip("\ufeff") == "shipment_id"), None)
        if raw_id not in (None, "") and not isinstance(raw_id, (dict, list)):
            sid = str(raw_id).strip() or sid
        values, invalid, problems = self.convert_record(rec)
        for src, raw, problem in problems:
            findings.append(input_finding(sid, row, src, problem[0], f"{self.path} row {row}, column {src}: {problem[1]}",
                                          actual=raw if not isinstance(raw, (dict, list)) else json.dumps(raw)[:120],
                                          expected=problem[2]))
        for column, used, other in rec.get("__conflicts__", []):
            findings.append(input_finding(sid, row, column.lower(), "duplicate-column",
                                          f"{self.path} row {row}, column {column}: duplicate column {column} holds different values "
                                          f"('{_short(used)}' and '{_short(other)}'); the first is used",
                                          actual=other, expected=f"the same value as the first {column} column"))
        if "__extra_cells__" in rec:
            findings.append(input_finding(sid, row, None, "ragged-row", f"{self.path} row {row}: {rec['__extra_cells__']} cell(s) more than the header has; the extra cells are ignored",
                                          severity="warning"))
        if "__missing_cells__" in rec:
            findings.append(input_finding(sid, row, None, "ragged-row", f"{self.path} row {row}: {rec['__missing_cells__']} cell(s) fewer than the header has",
                                          severity="warning"))
        if "shipment_id" not in values and "shipment_id" not in invalid:
            findings.append(input_finding(sid, row, "shipment_id", "missing-id", f"{self.path} row {row}: shipment_id is empty; the row is reported as {sid}",
                                          expected="a unique reference"))
        elif "shipment_id" in values:
            first = self.seen_ids.get(sid)
            if first is not None:
                findings.append(input_finding(sid, row, "shipment_id", "duplicate-id",
                                              f"{self.path} row {row}: shipment_id {sid} was already used on row {first}",
                                              actual=sid, expected="unique"))
            else:
                self.seen_ids[sid] = row
        return Shipment(row, values, sid, self.path, invalid), findings

    @staticmethod
    def unknown_columns(rec: dict[str, Any]) -> list[str]:
        cols, alias = columns(), aliases()
        names = (str(key).strip().lower().lstrip("\ufeff") for key in rec)
        return [n for n in names if n and not n.startswith("__") and n not in cols and n not in alias]

    def convert_record(self, rec: dict[str, Any]) -> tuple[dict[str, Any], set[str], list[tuple[str, Any, tuple[str, str, str]]]]:
        """(values, invalid columns, problems as (source column, raw cell, (id, message, expected))), without side effects.

        The columnar fast path builds shipments of a few columns through this same function, so a
        value means the same thing on both paths.
        """
        values: dict[str, Any] = {}
        invalid: set[str] = set()
        problems: list[tuple[str, Any, tuple[str, str, str]]] = []
        cols, alias = columns(), aliases()
        for key, raw in rec.items():
            name = str(key).strip().lower().lstrip("\ufeff")
            if name.startswith("__"):
                continue
            if name in alias:
                canon, factor = alias[name]
            elif name in cols:
                canon, factor = name, None
            else:
                continue
            if canon in values and raw in (None, ""):
                continue
            ok, value, problem = self.convert(canon, raw, cols[canon])
            if not ok:
                invalid.add(canon)
                problems.append((name, raw, problem))
                continue
            if value is None:
                continue
            if factor is not None:
                value = value * factor
            values[canon] = value
        return values, invalid, problems

    def convert(self, name: str, raw: Any, spec: dict[str, Any]) -> tuple[bool, Any, tuple[str, str, str]]:
        """(ok, value, (problem id, message, expected)); empty cells are None, not errors."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return True, None, ("", "", "")
        xtype = spec.get("x-type") or spec.get("type") or ("enum" if "enum" in spec else "string")
        if "enum" in spec:
            text = str(raw).strip().lower().replace("-", "_").replace(" ", "_")
            if text in spec["enum"]:
                return True, text, ("", "", "")
            return False, None, ("invalid-value", f"'{_short(raw)}' is not one of {', '.join(spec['enum'])}", "one of " + ", ".join(spec["enum"]))
        if xtype == "number":
            return self.number(raw, spec)
        if xtype == "boolean":
            if isinstance(raw, bool):
                return True, raw, ("", "", "")
            text = str(raw).strip().lower()
            if text in _TRUE:
                return True, True, ("", "", "")
            if text in _FALSE:
                return True, False, ("", "", "")
            return False, None, ("invalid-boolean", f"'{_short(raw)}' is not true or false", "true or false")
        if xtype == "datetime":
            return _datetime(raw)
        if xtype == "country":
            code = str(raw).strip().upper()
            if re.fullmatch(r"[A-Z]{2}", code) and code in _KNOWN_COUNTRIES:
                return True, code, ("", "", "")
            return False, None, ("invalid-country", f"'{_short(raw)}' is not an ISO 3166-1 alpha-2 country code", "ISO 3166-1 alpha-2, e.g. PL")
        if xtype == "list":
            items = raw if isinstance(raw, list) else re.split(r"[;,|]", str(raw))
            return True, [str(i).strip().lower() for i in items if str(i).strip()], ("", "", "")
        if isinstance(raw, (dict, list)):
            return False, None, ("invalid-text", "expected text, found a nested structure", "text")
        text = str(raw).strip()
        if spec.get("x-upper"):
            text = text.upper()
        pattern = spec.get("pattern")
        if pattern and not re.fullmatch(pattern[1:-1] if pattern.startswith("^") else pattern, text):
            return False, None, ("invalid-format", f"'{_short(raw)}' does not match {pattern}", pattern)
        return True, text, ("", "", "")

    def number(self, raw: Any, spec: dict[str, Any]) -> tuple[bool, Any, tuple[str, str, str]]:
        if isinstance(raw, bool):
            return False, None, ("invalid-number", f"'{raw}' is not a number", "a number")
        if isinstance(raw, (int, float)):
            value = float(raw)
        else:
            text = str(raw).strip().replace("\u00a0", "").replace(" ", "")
            if not _NUMBER.match(text):
                return False, None, ("invalid-number", f"'{_short(raw)}' is not a number", "a number")
            if "," in text:
                if not self.decimal_comma:
                    return False, None, ("invalid-number", f"'{_short(raw)}' uses a decimal comma in a comma-delimited file", "a number with a decimal point")
                text = text.replace(",", ".")
            value = float(text)
        if math.isnan(value) or math.isinf(value) or abs(value) > 1e12:
            return False, None, ("invalid-number", f"'{_short(raw)}' is not a usable number", "a finite number")
        if "exclusiveMinimum" in spec and value <= spec["exclusiveMinimum"]:
            return False, None, ("out-of-range", f"{_short(raw)} must be greater than {spec['exclusiveMinimum']}", f"> {spec['exclusiveMinimum']}")
        if "minimum" in spec and value < spec["minimum"]:
            return False, None, ("out-of-range", f"{_short(raw)} must not be below {spec['minimum']}", f">= {spec['minimum']}")
        return True, value, ("", "", "")


def _short(raw: Any) -> str:
    text = str(raw)
    return text if len(text) <= 60 else text[:57] + "..."


def _datetime(raw: Any) -> tuple[bool, Any, tuple[str, str, str]]:
    if isinstance(raw, dt.datetime):
        return True, raw, ("", "", "")
    if isinstance(raw, dt.date):
        return True, raw, ("", "", "")
    text = str(raw).strip()
    try:
        if len(text) == 10:
            return True, dt.date.fromisoformat(text), ("", "", "")
        return True, dt.datetime.fromisoformat(text.replace("Z", "+00:00")), ("", "", "")
    except ValueError:
        return False, None, ("invalid-date", f"'{_short(raw)}' is not an ISO 8601 date or date-time", "e.g. 2025-12-01 or 2025-12-01T10:00")
