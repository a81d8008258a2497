"""The columnar run: a large CSV or JSON Lines manifest checked chunk by chunk with Polars, findings built column-wise.

A JSON Lines chunk is first turned into the text columns a CSV chunk would give (checker/jsonl_columns.py, which
says when a record is checked row-wise instead); from there on both are one run.

Data flow per chunk (32 MB of text, so memory stays flat on any file size):

1. Polars reads the chunk as text columns; each column is converted with cheap vectorised
   parsers, and every cell those parsers are unsure about is decided by the row-wise
   `Normaliser.convert` once per distinct text (a bad number becomes an `input` finding,
   an unusual but valid spelling sends its row to the row-wise engine).
2. Rows are resolved to (family, version, country layers, overlays) column-wise; each rule
   gets one conservative "may break" mask (checker/fastpath.py).
3. Explanation is exact by construction: for the rows a rule may break, the distinct
   combinations of the cells that rule reads are converted and evaluated by the row-wise
   engine's own code, once per combination; the resulting findings are serialised once and
   joined back to every row that has that combination. `dimensions` rules, whose cells are
   near-unique sizes, are explained column-wise instead (checker/fastexplain.py).

Anything this path does not model exactly (quoted newlines, long rows, duplicate columns,
waivers, agreements) makes `run` return None and the caller starts the row-wise engine over.
The differential tests (tests/test_fastpath.py) compare both engines finding by finding.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterator
from zoneinfo import ZoneInfo

from . import allocators, fastexplain, fastpath, halves, json_array, jsonl_columns, ranges, shares
from .engine import Engine
from .findings import input_finding, shipment_record, status_of
from .finding_lines import line_runs
from .kinds import KINDS
from .manifest import _KNOWN_COUNTRIES, Normaliser, _delimiter, csv_dialect, utf8_prefix
from .manifest_columns import aliases, columns, currency_field_of, value_type
from .model import Rule
from .recordlog import dumps
from .shipment import DERIVED, Shipment

FAST_MIN_BYTES = 2_000_000  # below this the row-wise engine is as fast as importing Polars
# Just under glibc's largest adaptive mmap threshold (32 MiB), so the block comes from the heap and its pages are used
# again by the next block even where allocators.keep_freed_memory could not raise the threshold (2026-11-22, reading
# the 1 M-row file alone in 32 MiB blocks, a fresh mapping each: 1.4 s, in these: 0.12 s). With the allocators set,
# 40 and 48 MB chunks were no faster (3.72 and 3.48 s against 3.62 and 3.41 s, alternating runs): a chunk's frames
# cost more page faults the larger it is. CHECKER_CHUNK_BYTES sets another size (tests use small chunks to check many
# chunks, and their hand-over between processes, on small files).
CHUNK_BYTES = int(os.environ.get("CHECKER_CHUNK_BYTES") or (32 << 20) - (64 << 10))
_DATE_RX = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?)?$"
_SIDES = ("length_mm", "width_mm", "height_mm")
_MEMO_PER_RULE = 2_000
# Fewer candidate rows than this are explained row by row even where a column-wise plan exists: a plan's queries
# cost ~2-4 ms however few its rows, a row ~0.03 ms in Python (2026-11-22, the 1 M-row bench's plan calls of 40-80
# rows: 4.6 ms each as a plan, 2.5 ms in Python; 80-160 rows about even; 160-320 rows 4.9 against 10.3 ms).
_PLAN_MIN_ROWS = 100
_GROUP_IN_PYTHON = 5_000  # candidate rows up to which a rule's combinations are grouped in a dict, not by Polars
# Python's str.strip() and `\s` (the row-wise engine) take the information separators U+001C-U+001F for white space;
# Unicode's White_Space, which Polars and Rust's `\s` follow, does not. A block holding one of them (rare: control
# characters) sends the rows that hold one to the row-wise engine, and strips shipment ids as Python does, so ids,
# blank cells and every pattern compare as in the row-wise engine.
_SEPARATORS = ["\x1c", "\x1d", "\x1e", "\x1f"]
_SEPARATOR_BYTES = [c.encode() for c in _SEPARATORS]
_PY_SPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
# Where a columnar row's input findings sort among its findings (seq, see _Run.process): before every rule's (seq >= 0),
# in the row-wise reader's order (Normaliser.shipment): the cells' problems by header position, a ragged row, the id.
_CELL_SEQ, _RAGGED_SEQ, _ID_SEQ = -(1 << 40), -2001, -2000
# Columns whose distinct raw texts key the explanation: a date stays a date (not midnight), a list is a list.
_RAW_KEYED = {name for name, spec in columns().items() if value_type(spec) in ("datetime", "list")}
_COUNTRY_CODES = sorted(_KNOWN_COUNTRIES)
# Code columns and their codes as the converter writes them (_as_members): lower-case enumerations, country codes.
_CODE_COLUMNS: dict[str, list[str]] = {
    name: (_COUNTRY_CODES if value_type(spec) == "country" else spec["enum"]) for name, spec in columns().items()
    if value_type(spec) == "country" or ("enum" in spec and all(isinstance(v, str) and v == v.lower() for v in spec["enum"]))}


class Unsuitable(Exception):
    """The file needs the row-wise reader (the caller starts over)."""


def applicable(path: str, data: bytes | None, engine: Engine, force: bool = False) -> bool:
    if data is not None or Path(path).suffix.lower() not in (".csv", ".txt", "", *jsonl_columns.SUFFIXES, *json_array.SUFFIXES):
        return False
    if engine.waivers is not None or engine.agreement is not None:
        return False  # waivers and agreements are applied per finding by the row-wise engine
    try:
        st = Path(path).stat()
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode):
        return False  # a pipe or device can be read once: the row-wise reader takes it
    return force or st.st_size >= FAST_MIN_BYTES


# --------------------------------------------------------------------------------------------
# What a rule reads
# --------------------------------------------------------------------------------------------
def _predicate_fields(p: Any, out: set[str]) -> None:
    if isinstance(p, dict):
        if "field" in p:
            out.add(p["field"])
            if p.get("currency") and currency_field_of(p["field"]):
                out.add(currency_field_of(p["field"]))  # type: ignore[arg-type]
        for v in p.values():
            _predicate_fields(v, out)
    elif isinstance(p, list):
        for v in p:
            _predicate_fields(v, out)


def reads(rule: Rule) -> set[str]:
    """Every manifest column the rule's `when` and its kind can look at (derived measures expanded)."""
    out: set[str] = set()
    _predicate_fields(rule.when, out)
    p = rule.params
    kind = rule.kind
    for key in ("field", "by"):
        if p.get(key):
            out.add(p[key])
    out.update(p.get("fields", []))
    if p.get("currency") and p.get("field") and currency_field_of(p["field"]):
        out.add(currency_field_of(p["field"]))  # type: ignore[arg-type]
    if kind == "format":
        out.add(p.get("country_field", "destination_country"))
    elif kind == "dimensions":
        out.update(_SIDES + ("weight_kg", "size_category"))
    elif kind == "prohibited_contents":
        out.update(("contents", "contents_categories"))
    elif kind == "route":
        out.update(("origin_country", "destination_country"))
    elif kind == "window":
        out.add(p.get("field", "dispatch_at"))
    elif kind == "requires":
        _predicate_fields(p.get("then"), out)
    if out & set(DERIVED):
        out = (out - set(DERIVED)) | set(_SIDES)
    return out


def _rule_key(cr: Any) -> tuple[Any, ...]:
    """A compiled rule's identity across partitions and chunks (version, rule, layer, exception file): the key of
    its mask, its plan and its memo of explained combinations."""
    return (cr.version.label, cr.rule.id, cr.rule.layer, (cr.rule.exception or {}).get("file"))


_ID_SEED = 7  # any fixed seed: the hashes of one run are only compared with each other


def _id_hash(sid: Any) -> Any:
    """64-bit hashes of shipment ids (_Run._first_uses compares texts wherever two hashes are equal)."""
    return sid.hash(seed=_ID_SEED)


# --------------------------------------------------------------------------------------------
# Reading: header, chunks
# --------------------------------------------------------------------------------------------
class _Header:
    """A CSV's header line; checker/jsonl_columns.JsonlHeader gives a JSON Lines file's columns in this shape."""

    format = "csv"
    first_line = 2  # the header is line 1

    def __init__(self, first: bytes) -> None:
        if first.startswith(b"\xef\xbb\xbf"):
            first, self.encoding = first[3:], "utf-8 (with BOM)"
        else:
            self.encoding = "utf-8"
        try:
            text = first.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            raise Unsuitable("header not UTF-8") from None
        if '"' in text or "\r" in text or not text.strip():
            raise Unsuitable("quoted or empty header")
        self.bytes = first if first.endswith(b"\n") else first + b"\n"
        self.delim = _delimiter(text)
        self.cells = text.split(self.delim)
        names = [h.strip().lower().lstrip("\ufeff") for h in self.cells]
        if len(set(names)) != len(names):
            raise Unsuitable("duplicate column names")
        cols, alias = columns(), aliases()
        self.source: dict[str, str] = {}  # canonical column -> header cell
        self.factor: dict[str, float | None] = {}
        for cell, name in zip(self.cells, names):
            canon, factor = alias.get(name, (name, None))
            if canon not in cols:
                continue
            if canon in self.source:
                raise Unsuitable("two columns for one field")  # the row-wise reader decides which one counts
            self.source[canon], self.factor[canon] = cell, factor
        self.unknown = [n for n in names if n and n not in cols and n not in alias]
        self.position = {cell: i for i, cell in enumerate(self.cells)}
        self.name = dict(zip(self.cells, names))  # header cell -> the column name findings use
        self.decimal_comma = self.delim != ","

    def dialect(self) -> dict[str, Any]:
        return csv_dialect(self.encoding, self.delim).to_dict()


def _chunks(fh: Any, end: int | None = None) -> Iterator[tuple[bytes, int]]:
    """Blocks of about CHUNK_BYTES, up to `end` (a line start) or the end of the file, as (block, size): the block's
    first `size` bytes are whole lines, and what follows is the start of the next block's first line, which is read
    again with the next block (a seek back). The block is not cut to `size`: that copy of 32 MB, into fresh pages,
    cost more than the parse reading only its first lines (Polars' `n_rows`), 2026-11-22."""
    while True:
        want = CHUNK_BYTES if end is None else min(CHUNK_BYTES, end - fh.tell())
        block = fh.read(want) if want > 0 else b""
        if not block:
            return
        if len(block) < CHUNK_BYTES:
            yield block, len(block)  # the end of the file, or of this process's half
            return
        cut = block.rfind(b"\n")
        if cut < 0:
            raise Unsuitable("a line longer than a chunk")
        tail = len(block) - cut - 1
        if tail:
            fh.seek(-tail, 1)
        yield block, cut + 1
        del block  # before the next read (the caller drops its reference too), so that read reuses this block's memory


# --------------------------------------------------------------------------------------------
# Column conversion (fast, with "unsure" flags) and the exact decision for unsure cells
# --------------------------------------------------------------------------------------------
_TRUTHY = ["true", "yes", "y", "1", "tak", "t", "x", "sim", "oui", "si", "ja", "igen"]
_FALSY = ["false", "no", "n", "0", "nie", "f", "não", "nao", "non", "nein", "nem"]


def _convert(pl: Any, text: Any, spec: dict[str, Any], decimal_comma: bool) -> tuple[Any, Any]:
    """(value, unsure): `value` is exact wherever `unsure` is False; the row-wise converter decides the rest."""
    xtype = value_type(spec)
    if "enum" in spec:
        value = text.str.to_lowercase()
        return value, ~fastpath._member(value, spec["enum"])
    if xtype == "number":
        # replace_all, not replace: ~1 ms a column cheaper, and a cell with two commas is no number either way.
        value = (text.str.replace_all(",", ".", literal=True) if decimal_comma else text).cast(pl.Float64, strict=False)
        unsure = value.is_null() | value.is_nan() | value.is_infinite() | (value.abs() > 1e12)
        if "exclusiveMinimum" in spec:
            unsure = unsure | (value <= spec["exclusiveMinimum"])
        if "minimum" in spec:
            unsure = unsure | (value < spec["minimum"])
        return value, unsure.fill_null(True)
    if xtype == "boolean":
        low = text.str.to_lowercase()
        return low.is_in(_TRUTHY), ~(low.is_in(_TRUTHY) | low.is_in(_FALSY))
    if xtype == "datetime":
        ok = text.str.contains(_DATE_RX).fill_null(False)
        full = pl.when(text.str.len_bytes() == 10).then(text + "T00:00:00") \
            .when(text.str.len_bytes() == 16).then(text + ":00").otherwise(text).str.replace(" ", "T", literal=True)
        value = full.str.to_datetime("%Y-%m-%dT%H:%M:%S", strict=False)
        return value, ~ok | value.is_null()
    if xtype == "country":
        up = text.str.to_uppercase()
        return up, ~up.is_in(_COUNTRY_CODES)
    if xtype == "list":
        return text.str.to_lowercase().str.split(";"), text.str.contains(r"[\s,|]|^;|;$|;;").fill_null(False)
    value = text.str.to_uppercase() if spec.get("x-upper") else text
    # White space at either end (the row-wise reader strips it): a byte-length comparison is ~5x cheaper than
    # the regex ^\s|\s$, and strip_chars() strips exactly Unicode White_Space, which is what \s means to Rust.
    unsure = text.str.strip_chars().str.len_bytes() != text.str.len_bytes()
    if spec.get("pattern"):
        unsure = unsure | ~value.str.contains(spec["pattern"])
    return value, unsure.fill_null(False)


def _as_members(cells: Any, canon: str) -> Any:
    """For a column of codes (an enumeration, a country) whose cells are nearly all spelled as the codes themselves:
    its "unsure" flags, which are then only the cells that are not a code (the row-wise converter decides those,
    as any unsure cell, and its value replaces the cell); else None, and the column is converted in full (_convert).

    Why: converting a code column lower- or upper-cases every cell into a new column to compare it; a manifest
    writes `locker`, `pudo` and `PL` as they are, and comparing the cells as they are costs a tenth (2026-11-22, 115 k
    rows: delivery_type 6.4 -> 0.5 ms, origin_country 3.6 -> 1.0 ms; about 18 ms a chunk over four such columns).
    Only while at most one cell in 64 is something else: a column of `Locker` would send every cell to Python."""
    codes = _CODE_COLUMNS.get(canon)
    if codes is None:
        return None
    unsure = ~fastpath._member(cells, codes).fill_null(True)  # an empty cell is none (null), not unsure
    return unsure.alias(f"__u:{canon}") if int(unsure.sum()) * 64 <= cells.len() else None


def _constant(cells: Any) -> bool:
    """Whether every cell of the column is the same text (or every one is empty).

    Why: a shipper's manifest repeats its sender, service, currency and empty optional columns on every row; such a
    column is converted once and repeated (2026-11-22, bench chunk: 9 constant columns of 33 took 25 of the 102 ms of
    conversion). Three cells are compared first, so a varying column costs microseconds."""
    n = cells.len()
    if not n:
        return False
    first = cells[0]
    if first != cells[n // 2] or first != cells[n - 1]:
        return False
    if first is None:
        return cells.null_count() == n
    return cells.null_count() == 0 and bool((cells == first).all())


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


def _in_force(pl: Any, fam: Any, when: Any, otherwise: int | None, index: dict[str, int]) -> Any:
    """The position in `index` of `fam`'s dated version in force at the date-time `when` (Family.resolve,
    column-wise: on the day of `when`), else `otherwise`.

    Compared as date-times with the days' midnights, which is the same as comparing the days (the day of x is on or
    after D exactly when x is at or after D's midnight, and before U exactly when x is before U's midnight), without
    taking the day of every cell: that cost ~3 ms a chunk for each comparison (2026-11-22, 117 k rows)."""
    expr = pl.lit(otherwise, dtype=pl.Int64)
    for v in reversed(fam.dated()):  # built inside out, so the earliest matching version wins as in Family.resolve
        until = fam.until_of(v)
        cond = when >= pl.lit(_midnight(v.effective_from))
        if until is not None:
            cond = cond & (when < pl.lit(_midnight(until)))
        expr = pl.when(cond).then(pl.lit(index[v.id], dtype=pl.Int64)).otherwise(expr)
    return expr


def _code(pl: Any, col: Any, values: list[str]) -> Any:
    """1 + the position of the cell in `values`, 0 for any other cell or none."""
    if not values:
        return pl.lit(0, dtype=pl.Int64)
    return col.replace_strict(values, list(range(1, len(values) + 1)), default=0, return_dtype=pl.Int64).fill_null(0)


def _mask_options(pl: Any) -> Any:
    """The query options the masks are computed with, or None for an eager select (a Polars without QueryOptFlags).

    Why: the ~70 masks of a chunk test the same cells again and again (`size_category == "A"` in every variant of
    four dimension rules, the partition tests, the sorted sides); a lazy query with common-subexpression elimination
    on the in-memory engine computes each once. 2026-11-22, bench chunks of 115 k rows: 97-100 ms eager, 83-88 ms
    this way (the in-memory engine with its default optimisations as fast); the default engine, streaming, took
    110-116 ms."""
    return fastpath.query_options(pl, comm_subexpr_elim=True, simplify_expression=True)


class _Frame(fastpath.Frame):
    """The converted columns of one chunk, in the shape checker/fastpath.py's expressions expect."""

    def __init__(self, pl: Any, df: Any, present: set[str], countries: dict[str, set[str]], screened: fastpath.Screened,
                 constants: dict[str, Any] | None = None) -> None:  # noqa: D107
        self.pl, self.df, self.present, self.countries, self.n = pl, df, present, countries, df.height
        self.screened, self.constants = screened, constants or {}


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------
class _Run:
    def __init__(self, pl: Any, engine: Engine, norm: Normaliser, out: Any, header: _Header) -> None:
        self.pl, self.engine, self.norm, self.out, self.h = pl, engine, norm, out, header
        self.decimal_comma = header.decimal_comma
        self.norm.decimal_comma = self.decimal_comma
        # Every valid shipment id of the chunks checked so far, with its 64-bit hash and the row that used it first.
        self.seen = pl.DataFrame(schema={"__h": pl.UInt64, "__sid": pl.String, "__first": pl.Int64})
        # The rows that repeat an id of this range (after its first row), as (__row, __sid) tables per chunk: when the
        # id turns out to be used in an earlier range too, their findings are rewritten (ranges.settle_ids).
        self.repeats: list[Any] = []
        self.verdicts: dict[tuple[str, str], tuple[bool, Any, tuple[str, str, str]]] = {}
        self.plans: dict[tuple[Any, ...], fastexplain.Plan | None] = {}
        self.screened = fastpath.Screened()  # contents texts -> keyword categories (fastpath.Frame.texts_hitting)
        self.combos: dict[tuple[Any, ...], dict[tuple[Any, ...], list[tuple[str, str]]]] = {}  # rule -> cells -> findings
        self.pid_policy: dict[int, tuple[str, str]] = {}  # partition -> (family, version) of the chunk being checked (_resolve)
        self.per_value: dict[str, bool] = {}  # column -> whether it is converted once per distinct value (_few_values)
        self.mask_exprs: dict[tuple[Any, ...], tuple[list[tuple[Any, ...]], Any]] = {}  # rule -> (answers it was built on, expr)
        # id(compiled rule) -> (the rule, its position in rule_runs); the rules' own runs of a finding, from "rule_id" to
        # "waived" and from "fix" on (fastexplain.rule_runs), which findings refer to by position (column __r).
        self.rule_index: dict[int, tuple[Any, int]] = {}
        self.rule_runs: tuple[list[str], list[str]] = ([], [])

    def begin(self, out: Any) -> None:
        """Check a range further on in the file into `out` (checker/shares.py), as if it were a file of its own: no
        shipment id is known before it. Whether an id is used in two ranges is settled after all ranges."""
        self.out = out
        self.seen = self.seen.head(0)
        self.repeats = []
        self.norm.seen_ids = {}

    # ---- one chunk --------------------------------------------------------------------------
    def chunk(self, block: bytes, first_line: int, size: int | None = None) -> int:
        """Check the whole lines in the first `size` bytes of `block` (all of it by default); the number of lines."""
        parsed = self.parse(block, first_line, size)
        self.process(parsed)
        return int(parsed[0].height)

    def check_range(self, fh: Any, first_line: int, end: int | None = None, each: Callable[[], None] | None = None) -> int:
        """Check the lines from `fh`'s position up to `end` (a line start) or the end of the file, numbered from
        `first_line`; `each` is called after every chunk. The number of the next line."""
        line = first_line
        for block, size in _chunks(fh, end):
            line += self.chunk(block, line, size)
            del block  # released before the next read (see _chunks)
            if each is not None:
                each()
        return line

    def parse(self, block: bytes, first_line: int, size: int | None = None) -> tuple[Any, ...]:
        """Read and convert the lines in the first `size` bytes of `block`: Polars only, no state of the run.

        Overlapping this with the previous chunk's Python work in a thread was measured (2026-11-21, 1 M rows):
        no faster on two cores, since Polars already uses both, and one more chunk in memory."""
        pl, h = self.pl, self.h
        size = len(block) if size is None else size
        if h.format == jsonl_columns.FORMAT:
            return self._parse_jsonl(block, first_line, size)
        if block.find(b"\x00", 0, size) >= 0:
            raise Unsuitable("NUL bytes")
        if block.find(b"\r", 0, size) >= 0 and block.count(b"\r", 0, size) != block.count(b"\r\n", 0, size):
            raise Unsuitable("CR line ends")
        quoted = block.find(b'"', 0, size) >= 0
        separators = any(block.find(c, 0, size) >= 0 for c in _SEPARATOR_BYTES)  # ~3 ms a block (see _SEPARATORS)
        # Without a quote every line is one record (an empty line too: Polars reads it as a row of nulls), so the
        # whole block is read and the one record past `size` (the start of the next block's first line, no newline)
        # is dropped: counting the lines cost ~12 ms a 32 MB block (2026-11-22). With a quote, a quoted newline
        # makes fewer records than lines: such a block is cut to its lines and the records are counted against them.
        tail = 1 if size < len(block) and not quoted else 0
        lines = None
        if quoted:
            block = block[:size] if size < len(block) else block
            lines = block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
        options = {"separator": h.delim, "infer_schema": False, "quote_char": '"' if quoted else None,
                   "truncate_ragged_lines": False, "raise_if_empty": True}
        try:
            raw = pl.read_csv(block, has_header=False, new_columns=h.cells, **options)  # no copy of the block
            if tail:
                raw = raw.head(raw.height - 1)
        except Exception:  # noqa: BLE001 - e.g. a short first line sets the width, or the tail cuts a character: read the lines under their header
            try:
                raw = pl.read_csv(h.bytes + block[:size], has_header=True, **options)
            except Exception as exc:  # noqa: BLE001 - long rows, bad UTF-8, odd quoting: the row-wise reader explains
                raise Unsuitable(str(exc)) from None
        # One array per column, not the reader's ~17 pieces (one per morsel of its streaming engine): an eager query
        # over a frame with pieced columns first copies every column of the frame into one piece, so each of the
        # later frames built from these columns (conv, df) paid that copy again at its first query (2026-11-22,
        # bench chunk of 117 k rows: the partition key 16 -> 7.5 ms, of which ~5 ms the copy of 23 columns; the
        # whole chunk alternating in one process, medians 33-52 ms less of ~600 ms CPU; peak memory the same).
        # Column by column, each column's pieces freed as soon as it is copied, so the chunk never holds two copies
        # of every column: 2026-11-22, a bench block alone, four reads in one process: peak RSS 251 -> 224 MB, the
        # first read's page faults 36.5 k -> 28 k (each a few microseconds on this VM), the later reads' time the same.
        cols = raw.get_columns()
        del raw
        for k, col in enumerate(cols):
            cols[k] = col.rechunk()
            del col
        raw = pl.DataFrame(cols)
        del cols
        if lines is None:
            lines = raw.height
        if raw.height != lines or raw.width != len(h.cells):
            raise Unsuitable("quoted newlines")
        short = self._short_rows(raw, block, size, lines, quoted)
        n = raw.height
        rows = pl.int_range(first_line, first_line + n, eager=True).alias("__row")
        blank = self._blank(raw)
        return (raw, short, rows, blank, *self._converted(raw, n), separators, None)

    def _parse_jsonl(self, block: bytes, first_line: int, size: int) -> tuple[Any, ...]:
        """`parse` for JSON Lines (checker/jsonl_columns.py): one row per line, the lines' records kept for the rows
        the row-wise engine takes."""
        pl = self.pl
        body = block[:size] if size < len(block) else block
        try:
            cells, blank_list, forced, lines = jsonl_columns.read_block(self.h, body, self.norm.unknown)
            raw = pl.DataFrame([pl.Series(cell, col, dtype=pl.String) for cell, col in zip(self.h.cells, cells)])
        except jsonl_columns.NotColumnar as exc:
            raise Unsuitable(str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - e.g. a lone surrogate, which Polars cannot hold: the row-wise engine
            raise Unsuitable(f"JSON Lines: {exc}") from None
        del cells
        n = raw.height
        rows = pl.int_range(first_line, first_line + n, eager=True).alias("__row")
        separators = any(body.find(c) >= 0 for c in _SEPARATOR_BYTES)
        blank = pl.Series("b", blank_list, dtype=pl.Boolean)
        return (raw, {}, rows, blank, *self._converted(raw, n), separators, (lines, forced))

    def _converted(self, raw: Any, n: int) -> tuple[Any, Any, set[str], list[str]]:
        """Step 1 of a chunk: its columns converted, with the cells the converters are unsure of flagged."""
        pl = self.pl
        # 1. conversion with unsure flags
        direct, by_value, constant, names, same = [], {}, [], [], []
        cols = {}
        for canon, src in self.h.source.items():
            constant_cells = _constant(raw.get_column(src))
            if not constant_cells and (members := _as_members(raw.get_column(src), canon)) is not None:
                names.append(canon)  # codes already spelled as codes
                cols[canon], cols[f"__u:{canon}"] = raw.get_column(src).alias(canon), members
                continue
            value, unsure = _convert(pl, pl.col(src), columns()[canon], self.decimal_comma)
            if self.h.factor[canon] is not None:
                value = value * self.h.factor[canon]
            # A quoted empty cell ("") is an empty string to Polars and None to the row-wise reader.
            pair = [value.alias(canon), (pl.col(src).is_not_null() & (unsure | (pl.col(src).str.len_bytes() == 0))).alias(f"__u:{canon}")]
            names.append(canon)
            if constant_cells:
                constant += pair
                same.append(canon)
            elif (distinct := self._few_values(raw[src], canon)) is not None:
                by_value[canon] = (src, distinct, pair)
            else:
                direct += pair
        # One lazy query, so each value is parsed once for both the value and its "unsure" flag (measured 2x faster
        # than two eager selects, which parse every number and date twice).
        both = raw.lazy().select(direct).collect() if direct else pl.DataFrame()
        cols.update({c: both.get_column(c) for c in both.columns})
        if constant:  # converted once, on the first row, and repeated
            one = raw.head(1).lazy().select(constant).collect()
            cols.update({c: one.get_column(c).new_from_index(0, n) for c in one.columns})
        for canon, (src, distinct, pair) in by_value.items():
            per_value = pl.DataFrame({src: distinct}).lazy().select(pl.col(src).alias("__cell"), *pair).collect()
            mapped = raw.select(pl.col(src).alias("__cell")).join(per_value, on="__cell", how="left", nulls_equal=True,
                                                                  maintain_order="left")
            cols[canon], cols[f"__u:{canon}"] = mapped.get_column(canon), mapped.get_column(f"__u:{canon}")
        conv = pl.DataFrame([cols[c] for c in names])  # by column, not select(): a select rechunks every column (~20 ms a chunk)
        unsure_df = pl.DataFrame([cols[f"__u:{c}"].alias(c) for c in names])
        return conv, unsure_df, set(names), same

    def reevaluate(self, items: list[tuple[bytes, int, str, int]]) -> list[tuple[list[str], list[str], str, str | None]]:
        """The records of manifest lines whose shipment id was first used on an earlier row, by the row-wise engine, as
        the fast path gives them for a row it cannot take (process, step 6). `items`: (line with its line end, row
        number, shipment id, the row that used it first). Per item: (finding lines, their severities, status,
        shipment line or None). For rows whose id another range used first (ranges.settle_ids); the lines are read in
        one block, and nothing of the run's state changes."""
        jsonl = self.h.format == jsonl_columns.FORMAT
        raw, short = self.parse(b"".join(item[0] for item in items), items[0][1])[:2] if not jsonl else (None, {})
        norm = self.norm
        seen_ids, unknown = norm.seen_ids, norm.unknown
        out = []
        try:
            for i, (_, row, sid, first) in enumerate(items):
                norm.seen_ids, norm.unknown = {sid: first}, {}
                rec = jsonl_columns.record(items[i][0]) if jsonl else dict(zip(raw.columns, raw.row(i)))
                _, found, ship_line = self._row_wise(row, rec, short.get(i))
                out.append(([dumps(f.to_dict()) for f in found], [f.severity for f in found], status_of(found), ship_line))
        finally:
            norm.seen_ids, norm.unknown = seen_ids, unknown
        return out

    def _row_wise(self, row: int, rec: dict[str, Any], missing: int | None) -> tuple[Shipment, list[Any], str | None]:
        """Row `row`, its raw cells `rec` with `missing` cells fewer than the header has, checked by the row-wise
        engine: (shipment, findings, its shipment line or None when it has no finding). Shared by the rows a chunk
        cannot take (process, step 6) and the rows checked again (reevaluate)."""
        if missing:
            rec["__missing_cells__"] = missing
        ship, input_findings = self.norm.shipment(row, rec)
        ev = self.engine.evaluate(ship)
        found = input_findings + ev.findings
        if not found:
            return ship, found, None
        return ship, found, dumps(shipment_record(ship.shipment_id, ship.row, status_of(found), ev.policy,
                                                  ship.get("destination_country"), found))

    def _few_values(self, cells: Any, canon: str) -> Any:
        """The distinct cells of a column worth converting once per distinct value, or None to convert every cell.

        Why: dates, yes/no flags and codes checked by a pattern cost 5-16 ms a chunk cell by cell, and a day's
        manifest repeats a few hundred of them; converted once per value and joined back they cost 1-5 ms
        (2026-11-22, 117 k rows: dispatch_at 16 -> 5 ms). Enumerations, numbers and free text gain nothing (their
        conversion is as cheap as the join), so they are not tried. A column with many values in one chunk is not
        tried again."""
        spec = columns()[canon]
        if self.per_value.get(canon) is False or not (value_type(spec) in ("datetime", "boolean")
                                                        or (value_type(spec) == "string" and spec.get("pattern"))):
            return None
        distinct = cells.unique()
        few = distinct.len() <= max(16, cells.len() // 16)
        self.per_value[canon] = few
        return distinct if few else None

    def process(self, parsed: tuple[Any, ...]) -> None:
        """Everything after parsing: exact cell decisions, ids, resolution, masks, explanation, output."""
        pl = self.pl
        raw, short, rows, blank, conv, unsure_df, present, same, separators, jsonl = parsed
        n = raw.height
        rowwise = pl.repeat(False, n, eager=True).alias("rw")  # not a Python list of n items (~1.3 ms a chunk)
        if separators:  # see _SEPARATORS: those rows are the row-wise engine's
            rowwise = raw.select(pl.any_horizontal([pl.col(c).str.contains_any(_SEPARATORS).fill_null(False)
                                                    for c in raw.columns]))[:, 0].alias("rw")
        if jsonl is not None and jsonl[1]:  # JSON Lines records the row-wise engine checks (checker/jsonl_columns.py)
            rowwise = rowwise.scatter(list(jsonl[1]), True)
        refused: list[int] = []  # JSON Lines rows with a cell from a JSON number, list or true/false the converter refuses
        problems: list[tuple[int, int, str, Any, tuple[str, str, str]]] = []  # (index, header position, column, raw, problem)
        nulls: dict[str, Any] = {}
        settled: set[str] = set()  # columns with a cell the row-wise converter decided
        for canon in unsure_df.columns:
            col = unsure_df[canon]
            if not col.any():
                continue
            settled.add(canon)
            src = self.h.source[canon]
            idx = col.arg_true()
            cells = raw[src].gather(idx)
            bad, empty, odd, odd_values = [], [], [], []
            for i, cell in zip(idx.to_list(), cells.to_list()):
                key = (canon, cell)
                verdict = self.verdicts.get(key)
                if verdict is None:
                    verdict = self.verdicts[key] = self.norm.convert(canon, cell, columns()[canon])
                ok, value, problem = verdict
                if not ok:
                    bad.append(i)
                    if jsonl is None or jsonl_columns.from_text(jsonl, i, src):
                        problems.append((i, self.h.position[src], self.h.name[src], cell, problem))
                    else:
                        refused.append(i)  # its finding quotes the JSON value itself: the row-wise engine gives it
                elif value is None:
                    empty.append(i)
                else:
                    odd.append(i)
                    odd_values.append(value)
            if bad or empty:
                nulls[canon] = bad + empty
            if odd:
                patched = self._patch(conv[canon], canon, odd, odd_values)
                if patched is None:
                    rowwise = rowwise.scatter(odd, True)
                else:
                    conv = conv.with_columns(patched)
        if jsonl is not None and problems:
            # The row-wise reader lists a record's refused cells in its keys' order, this run in the columns' order:
            # a record with two or more is the row-wise engine's.
            per_row = Counter(x[0] for x in problems)
            refused += [i for i, k in per_row.items() if k > 1]
            problems = [x for x in problems if per_row[x[0]] == 1]
        if refused:
            rowwise = rowwise.scatter(refused, True)
        for canon, idx in nulls.items():
            mask = pl.repeat(False, n, eager=True).scatter(idx, True)
            conv = conv.with_columns(pl.when(mask).then(None).otherwise(pl.col(canon)).alias(canon))
        invalid_cols: dict[int, set[str]] = {}
        for i, _, src, _, _ in problems:
            invalid_cols.setdefault(i, set()).add(src)

        # 2. shipment ids, duplicates across the whole file
        sid_raw = raw[self.h.source["shipment_id"]] if "shipment_id" in present else pl.repeat(None, n, dtype=pl.String, eager=True)
        stripped = sid_raw.str.strip_chars(_PY_SPACE if separators else None)  # the id as the row-wise reader strips it
        sid = pl.select(pl.when(stripped.is_null() | (stripped == "")).then(pl.format("row-{}", rows)).otherwise(stripped)).to_series()
        valid_id = conv["shipment_id"].is_not_null() if "shipment_id" in present else pl.repeat(False, n, eager=True)
        first_of, dup = self._first_uses(sid, rows, valid_id & ~blank)

        # 3. resolution (family, version, layers, overlays); rows it cannot settle go row-wise
        df = conv.with_columns(rows, pl.Series("__sid", sid), pl.int_range(0, n, eager=True).alias("__i"),
                               *[raw[self.h.source[f]].alias(f"__raw:{f}") for f in _RAW_KEYED if f in self.h.source])
        df, part_rules = self._resolve(df, present)
        rowwise = rowwise | df["__pid"].is_null()
        rowwise = rowwise & ~blank
        keep = ~rowwise & ~blank

        # 4. candidates per rule, explained per distinct combination of the cells the rule reads
        if {"length_mm", "width_mm", "height_mm"} <= present:
            df = fastpath.stage_sides(pl, df)
        chunk_rules = [entries[0][2].rule for entries in part_rules.values()]
        df = fastpath.stage_phone_keys(pl, df, present, chunk_rules)
        df = fastpath.stage_keyword_hits(pl, df, present, chunk_rules, self.screened, self.engine.policies.categories)
        frame = _Frame(pl, df, present, {k: {c for c in conv[k].unique().to_list() if c}
                                         for k in ("origin_country", "destination_country") if k in present}, self.screened,
                       {c: conv.get_column(c).head(1) for c in same if c not in settled})
        exprs = [self._mask(frame, entries).alias(f"r{k}") for k, entries in enumerate(part_rules.values())]
        opts = _mask_options(pl)
        if opts is None:
            masks = df.select(exprs)
        else:
            masks = df.lazy().select(exprs).collect(engine="in-memory", optimizations=opts)
        masks = masks.with_columns(pl.all() & pl.lit(keep))
        # Counted first, in one pass over all the masks: about half the rules have no candidate in a chunk, and an
        # arg_true costs ~0.2 ms however few rows it finds (2026-11-22: 70 of them took 12-16 ms a chunk).
        counts = masks.sum().row(0)
        pieces = [self._explain(df, frame, masks[f"r{k}"].arg_true(), invalid_cols, entries)
                  for k, entries in enumerate(part_rules.values()) if counts[k]]
        found = [p for p in pieces if p is not None and p.height]

        # 5. input findings of the columnar rows (Python: few, and their messages name the row)
        # (index, seq, json line, severity). A row's findings are ordered by seq as the row-wise engine orders them: its
        # input problems first (_CELL_SEQ, _RAGGED_SEQ, _ID_SEQ: all negative), then the rules' findings from 0 (a
        # rule's position in its partition times 64, plus the finding's place among the rule's).
        lines: list[tuple[int, int, str, str]] = []
        # Only the rows named here become Python values (a few thousand), not whole 100 k-row columns.
        id_rows = (((~valid_id) | dup) & keep).arg_true().to_list()  # only the rows with an id problem, not every row
        rw_rows = rowwise.arg_true().to_list()
        need = sorted({x[0] for x in problems} | set(short) | set(id_rows) | set(rw_rows))
        at = pl.DataFrame({"keep": keep, "row": rows, "sid": sid, "first": first_of, "valid": valid_id}).gather(need)
        keep_at, row_at, sid_at, first_at, valid_at = (dict(zip(need, at[c].to_list())) for c in at.columns)
        for i, pos, src, cell, problem in problems:
            if keep_at[i]:
                f = input_finding(sid_at[i], row_at[i], src, problem[0],
                                  f"{self.norm.path} row {row_at[i]}, column {src}: {problem[1]}", actual=cell, expected=problem[2])
                lines.append((i, _CELL_SEQ + pos, dumps(f.to_dict()), f.severity))
        for i, missing in short.items():
            if keep_at[i]:
                f = input_finding(sid_at[i], row_at[i], None, "ragged-row",
                                  f"{self.norm.path} row {row_at[i]}: {missing} cell(s) fewer than the header has", severity="warning")
                lines.append((i, _RAGGED_SEQ, dumps(f.to_dict()), f.severity))
        for i in id_rows:
            if not valid_at[i]:
                if "shipment_id" in invalid_cols.get(i, ()):
                    continue  # already reported as an invalid cell
                f = input_finding(sid_at[i], row_at[i], "shipment_id", "missing-id",
                                  f"{self.norm.path} row {row_at[i]}: shipment_id is empty; the row is reported as {sid_at[i]}",
                                  expected="a unique reference")
                lines.append((i, _ID_SEQ, dumps(f.to_dict()), f.severity))
            else:
                f = input_finding(sid_at[i], row_at[i], "shipment_id", "duplicate-id",
                                  f"{self.norm.path} row {row_at[i]}: shipment_id {sid_at[i]} was already used on row {first_at[i]}",
                                  actual=sid_at[i], expected="unique")
                lines.append((i, _ID_SEQ, dumps(f.to_dict()), f.severity))

        # 6. the rows the row-wise engine takes in full
        ship_lines: list[tuple[int, str]] = []
        for i in rw_rows:
            if jsonl is not None:
                rec = jsonl_columns.record_at(jsonl, i)
            else:
                rec = dict(zip(raw.columns, raw.row(i)))
                if all(v is None or not str(v).strip() for v in rec.values()):
                    continue  # a blank line is no shipment
            if first_at[i] is not None and first_at[i] < row_at[i]:
                self.norm.seen_ids[sid_at[i]] = first_at[i]
            ship, found_here, ship_line = self._row_wise(row_at[i], rec, short.get(i))
            self.out.tally(ship, found_here)
            for k, f in enumerate(found_here):
                lines.append((i, -1000 + k, dumps(f.to_dict()), f.severity))
            if ship_line is not None:
                ship_lines.append((i, ship_line))

        # 7. merge, order by row then by position in the row, count, write
        self._emit(df, keep, found, lines, ship_lines, rowwise)
        for name in self.h.unknown:
            self.norm.unknown[name] = self.norm.unknown.get(name, 0) + int(keep.sum())

    def _first_uses(self, sid: Any, rows: Any, ok: Any) -> tuple[Any, Any]:
        """(first_of, dup) for one chunk: the row that first used each repeated id (null for a first use) and
        whether the row repeats an id of this chunk or of an earlier one; only `ok` rows (a valid id, not blank) count.

        Why hashes: the ids of earlier chunks are probed by their 64-bit hash and compared as text only where a hash
        matches, so a chunk's cost does not grow with the texts of all the ids before it; and only the few rows that
        repeat an id are joined to find the first row (2026-11-22: ~20 ms a chunk against ~63 ms for a join of every
        row on its text)."""
        pl = self.pl
        n = sid.len()
        ids = pl.DataFrame({"__i": pl.int_range(0, n, eager=True, dtype=pl.UInt32), "__sid": sid, "__row": rows,
                            "__h": _id_hash(sid)}).filter(ok)
        first_here = ids["__sid"].is_first_distinct()
        firsts = ids.filter(first_here)  # rows are in order, so an id's first row in the chunk is its first here
        hits = self.seen.filter(pl.col("__h").is_in(firsts["__h"].implode()))
        # Only a first use whose hash an earlier id has can be a known id: the text join runs on those few rows, not on
        # all the chunk's first uses (that join cost ~30 ms a chunk even when nothing matched, 2026-11-22).
        maybe = firsts.filter(pl.col("__h").is_in(hits["__h"].implode())) if hits.height else firsts.head(0)
        known = maybe.select("__sid").join(hits.select("__sid", "__first"), on="__sid", how="inner")  # used in an earlier chunk
        new = firsts.join(known, on="__sid", how="anti") if known.height else firsts
        # Rechunked: a filtered column keeps its chunk's whole arrays alive, and the table grew ~30 MB a chunk
        # (2026-11-22: 10 M rows peaked at 2,690 MiB; 3 M rows in one process 888 -> 642 MiB with the rechunk).
        self.seen = pl.concat([self.seen, new.select("__h", "__sid", pl.col("__row").alias("__first")).rechunk()], rechunk=False)
        again = ids.filter(~first_here | ids["__sid"].is_in(known["__sid"].implode()))
        if not again.height:
            return pl.repeat(None, n, dtype=pl.Int64, eager=True), pl.repeat(False, n, eager=True)
        first = pl.concat([known, firsts.filter(pl.col("__sid").is_in(again["__sid"].implode()))
                           .join(known, on="__sid", how="anti").select("__sid", pl.col("__row").alias("__first"))])
        again = again.join(first, on="__sid", how="left")
        self.repeats.append(again.select("__row", "__sid"))
        first_of = pl.repeat(None, n, dtype=pl.Int64, eager=True).scatter(again["__i"], again["__first"])
        return first_of, pl.repeat(False, n, eager=True).scatter(again["__i"], True)

    def _patch(self, column: Any, canon: str, idx: list[int], values: list[Any]) -> Any:
        """`column` with the row-wise converter's exact values at `idx` (cells Polars read differently: white space
        at an end, another number notation); None when the values do not fit the column (the rows go row-wise).

        A trailing space is common in spreadsheet exports; each such row checked row-wise cost about a millisecond.
        Date-times and lists are left to the row-wise engine: their explanations key on the raw text."""
        if canon in _RAW_KEYED:
            return None
        factor = self.h.factor[canon]
        if factor is not None:
            values = [v * factor for v in values]
        try:
            return column.scatter(idx, self.pl.Series(values, dtype=column.dtype, strict=True))
        except Exception:  # noqa: BLE001 - a value of another type (a Decimal, an int too large): row-wise, exactly
            return None

    def _blank(self, raw: Any) -> Any:
        """Rows whose cells are all empty or white space: no shipment, as in the row-wise reader.

        Only rows whose first cell is blank can be blank, so the per-cell test runs on those alone.
        """
        pl = self.pl
        first = raw.get_column(raw.columns[0])
        # On the column, not raw.select(): an eager select first copies every column of raw into one chunk (~3 ms).
        idx = (first.is_null() | ~first.str.contains(r"\S")).arg_true()
        out = pl.repeat(False, raw.height, eager=True).alias("b")
        if idx.len():
            sub = raw[idx].select(pl.all_horizontal([(pl.col(c).is_null() | ~pl.col(c).str.contains(r"\S")) for c in raw.columns]).alias("b"))["b"]
            out = out.scatter(idx.filter(sub), True)
        return out

    def _short_rows(self, raw: Any, block: bytes, size: int, lines: int, quoted: bool) -> dict[int, int]:
        """{row index: missing cells} for rows with fewer cells than the header (Polars pads them silently);
        the rows are the lines in the first `size` bytes of `block`, `quoted` whether they hold a quote."""
        pl, h = self.pl, self.h
        expected = len(h.cells) - 1
        if raw[raw.columns[-1]].null_count() == 0:
            return {}  # a short row has no last cell, which Polars reads as null
        if not quoted and block.count(h.delim.encode(), 0, size) == expected * lines:
            return {}
        body = block if size == len(block) else block[:size]
        per_line = pl.read_csv(body, has_header=False, separator="\x1f", quote_char=None, new_columns=["line"],
                               infer_schema=False)
        if per_line.height != lines:
            raise Unsuitable("line split")
        unquoted = pl.col("line").str.replace_all(r'"[^"]*"', "")
        counts = per_line.select(unquoted.str.count_matches(h.delim, literal=True).alias("n"),
                                 unquoted.str.contains('"', literal=True).alias("q"))
        if counts["q"].any():
            raise Unsuitable("unbalanced quote")
        n = counts["n"].fill_null(0)
        if (n > expected).any():
            raise Unsuitable("long rows")
        idx = (n < expected).arg_true().to_list()
        return {i: expected - c for i, c in zip(idx, n.gather(idx).to_list())} if idx else {}

    # ---- resolution ---------------------------------------------------------------------------
    def _resolve(self, df: Any, present: set[str]) -> tuple[Any, dict[Any, list[Any]]]:
        """`df` with `__pid`, the row's partition (family, version, country layers, overlays) as one integer, null where
        no version is in force; and the rules of the chunk's partitions grouped by rule.

        Why one integer: each part of a partition is a small code (a family's position, a version's, a layer
        country's), so the partition is their mixed-radix number, computed with integer arithmetic and decoded in
        Python for the few distinct values; texts made unique and joined back cost ~38 ms a chunk (2026-11-22)."""
        pl, eng = self.pl, self.engine
        policies = eng.policies
        service = df.get_column("service") if "service" in present else None
        names = [eng.default_family] if service is None else service.unique().fill_null(eng.default_family).to_list()
        fams = sorted({f for f in names if f and policies.family(f) is not None and not policies.family(f).is_overlay})
        fam_text = pl.col("service").fill_null(pl.lit(eng.default_family)) if service is not None else pl.lit(eng.default_family)
        fam_idx = pl.lit(None, dtype=pl.Int64)
        if fams and set(names) == {fams[0]}:  # the usual chunk: one service, spelled as its family id, on every row
            fam_idx = pl.lit(0, dtype=pl.Int64)
        else:
            for k, fid in reversed(list(enumerate(fams))):
                fam_idx = pl.when(fam_text == fid).then(pl.lit(k, dtype=pl.Int64)).otherwise(fam_idx)
        when = pl.col("dispatch_at") if "dispatch_at" in present else pl.lit(None, dtype=pl.Datetime("us"))
        # Codes: a family's versions (with a pinned id it may lack), each overlay's versions (0: none in force).
        versions = {fid: [v.id for v in policies.family(fid).versions] for fid in fams}
        if eng.pinned and eng.default_family in versions and eng.pinned not in versions[eng.default_family]:
            versions[eng.default_family].append(eng.pinned)
        overlays = sorted({ov.id for fid in fams for ov in policies.overlays_for(fid)})
        ov_versions = {oid: [None] + [v.id for v in policies.family(oid).versions] for oid in overlays}
        ver = pl.lit(None, dtype=pl.Int64)
        ov_codes = {oid: pl.lit(0, dtype=pl.Int64) for oid in overlays}
        for k, fid in enumerate(fams):
            fam = policies.family(fid)
            fallback = eng.as_of or dt.datetime.now(ZoneInfo(fam.timezone)).date()
            d = when.fill_null(pl.lit(_midnight(fallback)))
            is_fam = fam_idx == k
            index = {v: i for i, v in enumerate(versions[fid])}
            if eng.pinned and fid == eng.default_family:
                ver = pl.when(is_fam).then(pl.lit(index[eng.pinned], dtype=pl.Int64)).otherwise(ver)
            else:
                undated = fam.undated()
                ver = pl.when(is_fam).then(_in_force(pl, fam, d, index[undated.id] if undated else None, index)).otherwise(ver)
            for ov in policies.overlays_for(fid):  # overlays have no undated fallback (Engine.evaluate)
                ov_index = {v: i for i, v in enumerate(ov_versions[ov.id]) if v is not None}
                ov_codes[ov.id] = pl.when(is_fam).then(_in_force(pl, ov, d, 0, ov_index)).otherwise(ov_codes[ov.id])
        # Country layers: the rule set depends on the origin/destination only through the layers that name them.
        layer_o, layer_d = set(), set()
        for fid in fams:
            for v in policies.family(fid).versions:
                layer_o |= {c for ly in v.layers if ly.applies_to == "origin" for c in ly.countries}
                layer_d |= {c for ly in v.layers if ly.applies_to == "destination" for c in ly.countries}
        layer_o_list, layer_d_list = sorted(layer_o), sorted(layer_d)
        ok = _code(pl, pl.col("origin_country"), layer_o_list) if "origin_country" in present else pl.lit(0, dtype=pl.Int64)
        dk = _code(pl, pl.col("destination_country"), layer_d_list) if "destination_country" in present else pl.lit(0, dtype=pl.Int64)
        radix = [max((len(v) for v in versions.values()), default=1), len(layer_o_list) + 1, len(layer_d_list) + 1,
                 *[len(ov_versions[o]) for o in overlays]]
        key = fam_idx
        for r, code in zip(radix, [ver, ok, dk, *[ov_codes[o] for o in overlays]]):
            key = key * r + code  # null stays null: no family, or no version in force
        # Lazy, so that the family test and the date-time shared by the parts are computed once (eager queries
        # skip common-subexpression elimination).
        df = df.lazy().with_columns(key.alias("__pid")).collect(engine="in-memory")
        pids = df.get_column("__pid").unique().drop_nulls().to_list()
        parts = []
        for pid in pids:
            digits, rest = [], pid
            for r in reversed(radix):
                rest, digit = divmod(rest, r)
                digits.append(digit)
            v_code, o_code, d_code, *ov_digits = reversed(digits)
            fid = fams[rest]
            rec = {"__pid": pid, "__fam": fid, "__ver": versions[fid][v_code],
                   "__ok": layer_o_list[o_code - 1] if o_code else None, "__dk": layer_d_list[d_code - 1] if d_code else None}
            rec.update({f"__ov:{o}": ov_versions[o][c] for o, c in zip(overlays, ov_digits)})
            parts.append(rec)
        self.pid_policy = {rec["__pid"]: (rec["__fam"], rec["__ver"]) for rec in parts}
        part_rules: dict[Any, list[Any]] = {}
        for rec in parts:
            fam = policies.family(rec["__fam"])
            v = fam.version(rec["__ver"])
            if v is None:
                continue
            probe = Shipment(0, {"origin_country": rec["__ok"], "destination_country": rec["__dk"]})
            today = dt.date.today()
            eng.used[(fam.id, v.id)] = v
            rules = list(eng._compile(fam, v, probe, "base", today))
            for k in overlays:
                if rec[f"__ov:{k}"] is not None:
                    ov = policies.family(k)
                    ov_v = ov.version(rec[f"__ov:{k}"])
                    eng.used[(ov.id, ov_v.id)] = ov_v
                    rules += eng._compile(ov, ov_v, probe, f"overlay:{ov.id}@{ov_v.id}", today)
            part_rules[rec["__pid"]] = [(rec["__pid"], k, cr) for k, cr in enumerate(rules)]
        # Group by rule identity: one mask per rule over all the partitions that contain it.
        by_rule: dict[Any, list[Any]] = {}
        for entries in part_rules.values():
            for pid, k, cr in entries:
                key = _rule_key(cr)
                by_rule.setdefault(key, []).append((pid, k, cr))
        return df, by_rule

    # ---- explanation ------------------------------------------------------------------------------
    def _mask(self, frame: _Frame, entries: list[Any]) -> Any:
        """Rows this rule may break: conservative (too many is safe, too few is a bug the differential tests catch)."""
        pl = self.pl
        cr = entries[0][2]
        pids = {pid for pid, _, _ in entries}
        # A rule of every partition of the chunk (most base rules) applies wherever a partition was found.
        applies = pl.col("__pid").is_not_null() if pids == self.pid_policy.keys() else pl.col("__pid").is_in(sorted(pids)).fill_null(False)
        key = _rule_key(cr)
        got = self.mask_exprs.get(key)
        if got is None or not fastpath.still_holds(frame, got[0]):
            seen = fastpath.Recording(frame)
            got = self.mask_exprs[key] = (seen.asked, self._may_break(seen, cr.rule))
        return applies if got[1] is None else applies & got[1]

    def _may_break(self, frame: fastpath.Frame, rule: Rule) -> Any:
        """The rule's mask apart from the partitions it applies to; None when it has no column expression."""
        eng = self.engine
        try:
            may = fastpath.kind_expr(frame, rule, eng.env, eng.policies.categories).fill_null(True)
            # A `when` is never null (fastpath.predicate_expr), and no `when` needs no node.
            hit = may if not rule.when else fastpath.predicate_expr(frame, rule.when, eng.env) & may
            # A missing exchange rate inside `when` is itself reported (a warning), whatever the kind would say.
            return fastpath.either(hit, fastpath._rate_unknown(frame, rule.when, eng.env))
        except fastpath.NotCompilable:
            return None

    def _explain(self, df: Any, frame: _Frame, idx: Any, invalid_cols: dict[int, set[str]], entries: list[Any]) -> Any:
        """Findings of one rule for the candidate rows `idx`, evaluated once per distinct combination of its cells.

        Cells are taken converted (exact wherever the converter was sure; unsure cells were settled
        before), except date-times and lists (_RAW_KEYED), whose Python value depends on their text,
        so they come from the raw cell. Results are remembered across chunks (up to _MEMO_PER_RULE).
        """
        pl = self.pl
        if not idx.len():
            return None
        cr = entries[0][2]
        rule_key = _rule_key(cr)
        fields = sorted(f for f in reads(cr.rule) if f in self.h.source)
        plan = self._plan(rule_key, cr)
        pos = {pid: k for pid, k, _ in entries}
        r = self._rule_index(cr)
        if plan is None or idx.len() < _PLAN_MIN_ROWS:
            return self._explain_python(df, idx, invalid_cols, pos, cr, rule_key, fields, r)
        srcs = {self.h.name[self.h.source[f]] for f in fields}
        bad = [i for i in idx.to_list() if i in invalid_cols and not srcs.isdisjoint(invalid_cols[i])] if invalid_cols else []
        # The columns the plan reads, not all ~50 of the chunk; df[rows, columns] takes them without a query to plan
        # (~50 against ~150 us a call, 2026-11-22).
        sub = df[idx, plan.reads(frame)]
        odd = plan.python_rows(frame)
        to_python = sub.select(odd.alias("p"))["p"] if odd is not None else None
        if bad:
            to_python = idx.is_in(bad) if to_python is None else to_python | idx.is_in(bad)
        # Most chunks have no row for Python here: then neither the filters nor the Python path's queries run.
        some = to_python is not None and to_python.any()
        pieces = [self._explain_python(df, idx.filter(to_python), invalid_cols, pos, cr, rule_key, fields, r)] if some else []
        done = plan.explain(frame, sub.filter(~to_python) if some else sub).filter(pl.col("__b").is_not_null())
        if done.height:
            pieces.append(done.select(pl.col("__i").cast(pl.UInt32), "__b", pl.lit(plan.severity).alias("__sev"),
                                      (pl.col("__pid").replace_strict(list(pos), list(pos.values()), return_dtype=pl.Int64) * 64)
                                      .alias("__seq"), pl.lit(r, dtype=pl.UInt32).alias("__r")))
        pieces = [p for p in pieces if p is not None and p.height]
        return pl.concat(pieces) if pieces else None

    def _plan(self, rule_key: tuple[Any, ...], cr: Any) -> fastexplain.Plan | None:
        """The column-wise explanation of this rule, built once per rule; None when it has none."""
        if rule_key not in self.plans:
            try:
                self.plans[rule_key] = fastexplain.Plan(self.engine, cr)
            except fastpath.NotCompilable:
                self.plans[rule_key] = None
        return self.plans[rule_key]

    def _explain_python(self, df: Any, idx: Any, invalid_cols: dict[int, set[str]], pos: dict[Any, int], cr: Any,
                        rule_key: tuple[Any, ...], fields: list[str], r: int) -> Any:
        """Findings of the candidate rows `idx`, by the row-wise engine once per distinct combination of cells.

        `pos`: partition -> the rule's position in that partition's rule list (the findings' order in a row); `r`: the
        rule's position in self.rule_runs."""
        pl = self.pl
        if not idx.len():
            return None
        key_cols = [f"__raw:{f}" if f in _RAW_KEYED else f for f in fields]
        cells = df[idx, key_cols] if key_cols else pl.DataFrame({"__k": [0] * idx.len()})
        bad = None
        if invalid_cols:
            srcs = {self.h.name[self.h.source[f]]: f for f in fields}
            rows = idx.to_list()
            # Texts only for the few candidates with an unusable cell (2026-11-22: ~7 -> ~2 ms a chunk).
            flagged = {i: ",".join(sorted(srcs[c] for c in invalid_cols[i] if c in srcs)) for i in rows if i in invalid_cols}
            if any(flagged.values()):
                bad = pl.Series("__bad", [flagged.get(i, "") for i in rows])
        if bad is not None:
            cells = cells.with_columns(bad)
        memo = self.combos.setdefault(rule_key, {})
        presence = (getattr(KINDS[cr.rule.kind], "READS_PRESENCE_ONLY", False) and not cr.rule.when
                    and not set(fields) & _RAW_KEYED)
        if idx.len() <= _GROUP_IN_PYTHON or presence:
            return self._explain_rows(cells, idx, df["__pid"].gather(idx), memo, pos, cr, fields, bad is not None, r,
                                      len(fields) if presence else None)
        key_cols = cells.columns
        cells = cells.with_columns(pl.Series("__i", idx))
        uniq = cells.select(key_cols).unique(maintain_order=True).with_row_index("__c")
        cells = cells.join(uniq, on=key_cols, how="left", nulls_equal=True, maintain_order="left")
        frag_c, frag_v, frag_b, frag_sev = [], [], [], []
        for c, rec in enumerate(uniq.select(key_cols).iter_rows()):
            for v, (b, sev) in enumerate(self._remembered(memo, rec, cr, fields, rec, bad is not None)):
                frag_c.append(c)
                frag_v.append(v)
                frag_b.append(b)
                frag_sev.append(sev)
        if not frag_c:
            return None
        frags = pl.DataFrame({"__c": frag_c, "__v": frag_v, "__b": frag_b, "__sev": frag_sev},
                             schema={"__c": pl.UInt32, "__v": pl.Int64, "__b": pl.String, "__sev": pl.String})
        hits = cells.select("__i", "__c").join(frags, on="__c", how="inner")
        pid_of = df["__pid"].gather(hits["__i"])
        seq = pid_of.replace_strict(list(pos), list(pos.values()), return_dtype=pl.Int64) * 64 + hits["__v"]
        return hits.select("__i", "__b", "__sev").with_columns(seq.alias("__seq"), pl.lit(r, dtype=pl.UInt32).alias("__r"))

    def _explain_rows(self, cells: Any, idx: Any, pids: Any, memo: dict[tuple[Any, ...], list[tuple[str, str]]],
                      pos: dict[Any, int], cr: Any, fields: list[str], has_bad: bool, r: int, presence: int | None = None) -> Any:
        """`_explain_python` for a few thousand rows: grouped in a dict, which costs less than Polars' unique and
        joins at that size. Same keys, same memo, same output.

        `presence`: the rule reads only whether its first `presence` cells are empty (required.READS_PRESENCE_ONLY),
        so rows are grouped by that pattern, and the first row of each pattern is evaluated for all of them."""
        pl = self.pl
        here: dict[tuple[Any, ...], list[tuple[str, str]]] = {}
        out_i, out_b, out_sev, out_seq = [], [], [], []
        for i, pid, rec in zip(idx.to_list(), pids.to_list(), cells.rows()):
            key = rec if presence is None else tuple(v is None or v == "" or v == [] for v in rec[:presence]) + rec[presence:]
            got = here.get(key)
            if got is None:
                got = here[key] = self._remembered(memo, key, cr, fields, rec, has_bad)
            for v, (b, sev) in enumerate(got):
                out_i.append(i)
                out_b.append(b)
                out_sev.append(sev)
                out_seq.append(pos[pid] * 64 + v)
        if not out_i:
            return None
        return pl.DataFrame({"__i": out_i, "__b": out_b, "__sev": out_sev, "__seq": out_seq, "__r": [r] * len(out_i)},
                            schema={"__i": pl.UInt32, "__b": pl.String, "__sev": pl.String, "__seq": pl.Int64, "__r": pl.UInt32})

    def _remembered(self, memo: dict[tuple[Any, ...], list[tuple[str, str]]], key: tuple[Any, ...], cr: Any, fields: list[str],
                    rec: tuple[Any, ...], has_bad: bool) -> list[tuple[str, str]]:
        """`_evaluate(rec)` through the rule's memo under `key`; the memo is bounded, since near-unique combinations
        (exact sizes, phone numbers) would only eat memory."""
        got = memo.get(key)
        if got is None:
            got = self._evaluate(cr, fields, rec, has_bad)
            if len(memo) < _MEMO_PER_RULE:
                memo[key] = got
        return got

    def _evaluate(self, cr: Any, fields: list[str], rec: tuple[Any, ...], has_bad: bool) -> list[tuple[str, str]]:
        """The findings (serialised without shipment id, row and country) of one combination of cells."""
        values: dict[str, Any] = {}
        invalid = set(rec[-1].split(",")) - {""} if has_bad else set()
        for f, v in zip(fields, rec):
            if v is None:
                continue
            if f in _RAW_KEYED:
                ok, v, _ = self.norm.convert(f, v, columns()[f])
                if not ok or v is None:
                    continue
            values[f] = v
        ship = Shipment(0, values, "", self.norm.path, invalid)
        out = []
        # The violations, not whole findings: the rest of a finding's JSON is the rule's (fastexplain.rule_runs).
        for _, viol, missing_rate in self.engine.violations([cr], ship):
            v = Engine.varying(cr, viol, missing_rate)
            out.append((fastexplain.members(v["field"], v["actual"], v["expected"], v["message"]), v["severity"]))
        return out

    def _rule_index(self, cr: Any) -> int:
        """The position of `cr`'s own runs of a finding in self.rule_runs (fastexplain.rule_runs), added at first use."""
        got = self.rule_index.get(id(cr))
        if got is None:
            got = self.rule_index[id(cr)] = (cr, len(self.rule_runs[0]))  # cr kept: its id stays its own
            p1, p5, _ = fastexplain.rule_runs(self.engine, cr)
            self.rule_runs[0].append(p1)
            self.rule_runs[1].append(p5)
        return got[1]

    # ---- output ----------------------------------------------------------------------------------
    def _emit(self, df: Any, keep: Any, found: list[Any], lines: list[tuple[int, int, str, str]],
              ship_lines: list[tuple[int, str]], rowwise: Any) -> None:
        pl, out = self.pl, self.out
        base = df.select("__i", "__row", "__sid", "__pid",
                         (pl.col("destination_country") if "destination_country" in df.columns else pl.lit(None, dtype=pl.String)).alias("__dc"))
        rule_f = pl.concat(found) if found else pl.DataFrame(schema={"__i": pl.UInt32, "__b": pl.String, "__sev": pl.String,
                                                                     "__seq": pl.Int64, "__r": pl.UInt32})
        # `base` row k is the chunk's row k (its __i), so the row facts are gathered by position, not joined by hash.
        rule_f = pl.concat([rule_f, base.drop("__i").gather(rule_f["__i"].cast(pl.UInt32))], how="horizontal")
        # Shipment ids are JSON-encoded by Polars only when one needs escaping (a quote, a backslash, a control
        # character); country codes are validated codes or null. Lazy: an eager select on the ~20 concatenated pieces
        # first copies every column into one chunk (2026-11-22: 13.0 -> 8.7 ms a chunk).
        if rule_f["__sid"].str.contains(r'["\\\x00-\x1f]').any():
            sid = pl.struct(pl.col("__sid").alias("shipment_id")).struct.json_encode().str.slice(1).str.strip_suffix("}")
        else:
            sid = pl.lit('"shipment_id":"') + pl.col("__sid") + pl.lit('"')
        dc = pl.when(pl.col("__dc").is_null()).then(pl.lit("null")).otherwise(pl.lit('"') + pl.col("__dc") + pl.lit('"'))
        # A line is written as its six runs of members (fastexplain.rule_runs, RecordLog.append_lines_of): the rule's
        # own runs (clause, quotes, fix: ~1.3 kB) are taken by reference from self.rule_runs, not copied into one text
        # per finding (2026-11-22: the whole line built per finding cost ~20 ms and ~28 MB a chunk).
        runs = [pl.Series(x, dtype=pl.String) for x in self.rule_runs]
        rule_f = rule_f.lazy().select(
            pl.col("__i").cast(pl.Int64), pl.col("__seq"),
            pl.concat_str([pl.lit("{"), sid, pl.lit(',"row":'), pl.col("__row").cast(pl.String)]).alias("__head"),
            pl.concat_str([pl.lit('"severity":"'), pl.col("__sev"), pl.lit('"')]).alias("__s"),  # error, warning or info
            pl.lit(runs[0]).gather(pl.col("__r")).alias("__p1"), pl.col("__b"), pl.lit(runs[1]).gather(pl.col("__r")).alias("__p5"),
            pl.concat_str([pl.lit('"destination_country":'), dc, pl.lit("}")]).alias("__tail"),
            pl.col("__sev")).collect()
        cut = list(zip(*[line_runs(x[2]) for x in lines])) or [()] * 6
        other = pl.DataFrame({"__i": [x[0] for x in lines], "__seq": [x[1] for x in lines],
                              **{k: list(v) for k, v in zip(_RUNS, cut)}, "__sev": [x[3] for x in lines]},
                             schema={"__i": pl.Int64, "__seq": pl.Int64, **{k: pl.String for k in _RUNS}, "__sev": pl.String})
        allf = pl.concat([rule_f, other]).sort(["__i", "__seq"])
        if allf.height:
            out.findings.append_lines_of(allf, list(_RUNS))
            for sev, cnt in allf.group_by("__sev").len().iter_rows():
                out.severities[sev] += cnt
        # Shipments of the columnar rows: status from their findings (row-wise rows were counted already).
        col_f = allf.filter(~pl.col("__i").is_in(rowwise.arg_true().cast(pl.Int64).implode()))
        per = col_f.group_by("__i").agg((pl.col("__sev") == "error").sum().alias("errors"),
                                        (pl.col("__sev") == "warning").sum().alias("warnings"))
        pids = list(self.pid_policy)
        per = pl.concat([per, base.drop("__i").gather(per["__i"])], how="horizontal").with_columns(
            pl.when(pl.col("errors") > 0).then(pl.lit("failed")).when(pl.col("warnings") > 0).then(pl.lit("warning"))
            .otherwise(pl.lit("passed")).alias("status"),
            *[pl.col("__pid").replace_strict(pids, [self.pid_policy[p][k] for p in pids], default=None, return_dtype=pl.String)
              .alias(name) for k, name in enumerate(("__fam", "__ver"))])
        rec = pl.struct(pl.col("__sid").alias("shipment_id"), pl.col("__row").alias("row"), pl.col("status"),
                        pl.struct(pl.col("__fam").alias("family"), pl.col("__ver").alias("version")).alias("policy"),
                        pl.col("__dc").alias("destination_country"), pl.col("errors").cast(pl.Int64), pl.col("warnings").cast(pl.Int64))
        ships = per.select(pl.col("__i"), rec.struct.json_encode().alias("__line"))
        ships = pl.concat([ships, pl.DataFrame({"__i": [x[0] for x in ship_lines], "__line": [x[1] for x in ship_lines]},
                                               schema={"__i": pl.Int64, "__line": pl.String})]).sort("__i")
        out.shipments.append_lines_of(ships, "__line")
        n_keep = int(keep.sum())
        out.rows += n_keep
        for status, cnt in per.group_by("status").len().iter_rows():
            out.statuses[status] += cnt
        out.statuses["passed"] += n_keep - per.height
        if out.want_passed:
            clean = base.with_columns(pl.Series("k", keep)).filter(pl.col("k") & ~pl.col("__i").cast(pl.Int64).is_in(per["__i"].implode()))
            out.passed.extend(clean["__sid"].to_list(), clean["__row"].to_list())
            out.passed.seal()  # this chunk's rows, the row-wise ones among them, in row order


_RUNS = ("__head", "__s", "__p1", "__b", "__p5", "__tail")  # a finding line's runs of members (fastexplain.rule_runs)


def _read_ahead(fh: Any) -> None:
    """Ask the kernel to bring the whole file into the page cache now, in the background.

    Why: a manifest is read front to back by two processes, and the second first counts the lines of the first's
    share; any part of the file no longer in the page cache is then read from disk by whoever gets there, a block at a
    time. On this project's VM, pages of a cached file are dropped now and then; once, counting the lines of a 144 MB
    share that way took 7.1 s against the usual 0.09 s (2026-11-22). The call costs ~0.1 ms on a cached file."""
    try:
        os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_WILLNEED)
    except (AttributeError, OSError):  # not Linux, or not a regular file
        pass


def run(path: str, engine: Engine, norm: Normaliser, out: Any, progress: Callable[[int], None] | None = None,
        strict: bool = False) -> dict[str, Any] | None:
    """Check the CSV or JSON Lines file at `path` into `out` (a run.ReportBuilder); the dialect, or None when the
    row-wise reader must do it. `strict`: JSON Lines rewritten from a JSON document (jsonl_columns.JsonlHeader)."""
    allocators.keep_freed_memory()  # chunk after chunk reuses the memory of the last (see checker/allocators.py)
    half = None
    try:
        with allocators.frozen_heap(), open(path, "rb") as fh:
            _read_ahead(fh)
            head = fh.read(65536)
            if not utf8_prefix(head):
                return None  # UTF-16, legacy code pages and NUL bytes are the row-wise reader's job
            fh.seek(0)
            if Path(path).suffix.lower() in jsonl_columns.SUFFIXES:
                first = jsonl_columns.first_record(fh)
                if first is None:
                    return None
                header: Any = jsonl_columns.JsonlHeader(first, strict)
                fh.seek(0)
            else:
                header = _Header(fh.readline())
            body_start, size = fh.tell(), os.fstat(fh.fileno()).st_size
            cut = halves.cut_point(fh, body_start, size) if halves.wanted(size) else None
            if cut is not None:  # decided while Polars is not loaded: see checker/halves.py
                half = halves.fork(path, header, body_start, cut, size, engine, norm, out.want_passed, CHUNK_BYTES)
            import polars as pl

            state = _Run(pl, engine, norm, out, header)
            mine: list[shares.Segment] = []  # the ranges this process checked, the first into `out`

            def report() -> None:
                if progress is not None:
                    rows = out.rows + sum(s.out.rows for s in mine[1:])
                    progress(rows + (half.rows_done() if half is not None and half.pid else 0))  # pid: still running

            if half is None:
                state.check_range(fh, header.first_line, None, report)
            else:
                shares.work(half.shares, 0, state, fh, body_start, header.first_line, half.tmp, mine, report, half.gone)
                result = half.result(report if progress is not None else None)
                if result is not None and "unsuitable" in result:
                    raise Unsuitable(result["unsuitable"])
                todo = ranges.ranges(pl, mine, result) if result is not None else None
                if todo is not None and ranges.settle_ids(pl, state, fh, todo):
                    ranges.merge(todo, mine, result, out, engine, norm)
                    out.processes, out.cpus, out.moves = 2, half.cpus, len(todo) - 2
                    del mine[1:]
                    report()
                else:  # the child died, or many rows repeat ids of other ranges: all after this process's first range is checked here
                    first = mine[0]
                    for s in mine[1:]:
                        s.out.close()
                    del mine[1:]
                    state.out, state.seen, norm.seen_ids, norm.unknown = out, first.seen, first.seen_ids, first.unknown
                    fh.seek(first.end)
                    state.check_range(fh, first.end_line, None, report)
    except Exception:  # noqa: BLE001 - Unsuitable, or Polars refused something unusual: the row-wise engine decides, from the start
        return None
    finally:
        if half is not None:
            half.abandon()  # idempotent: stops a child still running (an error, Ctrl-C) and removes its files
    return {**header.dialect(), "engine": "columnar"}
