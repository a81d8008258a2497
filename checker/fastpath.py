"""Rules compiled into Polars expressions that *select* the rows that may break them; checker/columnar.py
explains the selected rows with the row-wise engine's own code.

Why Polars: it reads a 1 M-row CSV in well under a second on two cores, evaluates the
compiled predicates column-wise in Rust, and needs no server or SQL generation; DuckDB was
equally fast at reading but would make us write every rule twice (SQL and Python).

Correctness by construction: a selected row is evaluated by exactly the same code as in the
row-wise engine, and a row not selected must have no finding. Every expression here is
therefore *conservative* — it may select too much, never too little — and the differential
tests (tests/test_fastpath.py) compare both engines finding by finding. Whatever cannot be
compiled exactly (a phone number the regex pre-check does not recognise, a window near its
edges, an unusual date) simply selects the row.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Any, Callable

import phonenumbers

from .categories import Categories
from .manifest_columns import columns, currency_field_of, value_type
from .model import Rule
from .shipment import DERIVED, EvalEnv



class NotCompilable(Exception):
    """This rule or predicate has no exact column expression; its rows go to the row-wise engine."""


# --------------------------------------------------------------------------------------------
# Reading and normalising columns
# --------------------------------------------------------------------------------------------
class Frame:
    """The converted columns of a chunk (canonical names); built by checker/columnar.py."""

    pl: Any
    df: Any
    present: set[str]
    countries: dict[str, set[str]]  # country column -> the codes that occur in it in this chunk
    n: int
    screened: Screened  # the contents texts screened so far; the run keeps it across chunks
    constants: dict[str, Any]  # column -> its one value (a 1-row Series) where every row of the chunk has it
    _texts: dict[str, frozenset[str]] | None = None

    def texts_hitting(self, categories: Categories, ids: list[str]) -> list[str]:
        """The `contents` texts whose keywords hit one of `ids`, by Categories.screen itself: every such text of this
        chunk, and those of earlier chunks (a text that does not occur here matches no row, so the list stays exact).

        Descriptions repeat (a shop sells a catalogue), so each distinct text is screened once per run
        (Screened), in Python, instead of one regular expression per rule over every row; a cheap substring pass
        over every keyword stem first leaves Python only the texts that can hit at all.
        """
        if self._texts is None:
            self._texts = self.screened.hits_after(self.pl, self.df.get_column("contents"), categories)
        wanted = set(ids)
        return sorted(t for t, got in self._texts.items() if got & wanted)

    def is_text(self, name: str) -> bool:
        """Whether `col(name)` is a String column (present as text, or absent and typed as text)."""
        if name in DERIVED:
            return False
        if name in self.present:
            return self.df.schema.get(name) == self.pl.String
        return value_type(columns().get(name, {})) == "string"

    def col(self, name: str) -> Any:
        pl = self.pl
        if name in DERIVED:
            return _derived(pl, name, SORTED_SIDES[0] in self.df.columns)
        if name in self.present:
            return pl.col(name)
        xtype = value_type(columns().get(name, {}))
        dtype = {"number": pl.Float64, "boolean": pl.Boolean, "list": pl.List(pl.String), "datetime": pl.Datetime}.get(xtype, pl.String)
        return pl.lit(None, dtype=dtype)  # an absent column is a typed null, so string and list operations still apply


class Screened:
    """The `contents` texts of a run screened so far (each once), and the keyword categories of those that hit any.

    Why: the prefilter regex over a chunk's ~44 k distinct texts cost 10-11 ms a chunk (7 ms with the memo), and
    the bench's 1 M rows hold only ~48 k distinct texts in all, nearly all of them in the first chunk. Bounded:
    past _SCREEN_MEMO texts it starts again from nothing. One run has one set of categories, so the memo is not
    keyed by them."""

    def __init__(self) -> None:  # noqa: D107
        self.known: Any = None  # a Polars Series of every text screened (hit or not)
        self.hits: dict[str, frozenset[str]] = {}

    def hits_after(self, pl: Any, cells: Any, categories: Categories) -> dict[str, frozenset[str]]:
        """Screen the texts among `cells` (a column of a chunk) not screened before; the texts that hit, with their
        categories.

        The column is probed against the texts known, and only what is left is made unique: after the first chunk
        that is a few hundred cells, where the distinct texts of the whole column cost ~7 ms a chunk to find
        (2026-11-22, 117 k rows with 44 k distinct texts: 15-23 -> ~8 ms a chunk with the probe)."""
        new = None
        if self.known is not None:
            new = cells.filter(~cells.is_in(self.known.implode())).drop_nulls().unique()
            if self.known.len() + new.len() > _SCREEN_MEMO:
                self.known, self.hits = None, {}
        if self.known is None:
            new = cells.drop_nulls().unique()
        rx = categories.prefilter
        every = list(categories.by_id)
        for text in new.filter(new.str.to_lowercase().str.contains(rx)).to_list() if rx and new.len() else []:
            got = frozenset(c for c, _ in categories.screen(text, every))
            if got:
                self.hits[text] = got
        if self.known is None or new.len():  # not an empty piece: a filtered column keeps its source's buffers alive
            self.known = new if self.known is None else pl.concat([self.known, new], rechunk=False)
        return self.hits


class Recording(Frame):
    """A view of a Frame that notes every answer it gives that depends on the chunk's data (the columns, the country
    codes that occur, the texts whose keywords hit), so that an expression built through it can be used again for a
    later chunk that gives the same answers (still_holds).

    Why: building the masks' expressions is Python (11-12 ms a chunk for the full policy, 2-4 ms when reused), and a
    large file's chunks nearly always give the same answers."""

    def __init__(self, inner: Frame) -> None:  # noqa: D107
        self.inner = inner
        self.pl, self.df, self.present, self.n, self.screened = inner.pl, inner.df, inner.present, inner.n, inner.screened
        self.asked: list[tuple[Any, ...]] = [("columns", frozenset(inner.df.columns))]
        self.countries = _AskedCountries(inner.countries, self.asked)
        self.constants = inner.constants

    def col(self, name: str) -> Any:
        """A column with one value in every row of the chunk is that value, so Polars folds the comparisons on it
        (2026-11-22, bench chunk with 11 such columns: the 71 masks 114 -> 105 ms). Only masks are built through a
        Recording, and each such answer is checked again for a later chunk (still_holds); the explanation plans,
        kept for the whole file, read the columns themselves."""
        const = self.constants.get(name) if name in self.present else None
        if const is None:
            return super().col(name)
        self.asked.append(("constant", name, const))
        return self.pl.lit(const)

    def texts_hitting(self, categories: Categories, ids: list[str]) -> list[str]:
        got = self.inner.texts_hitting(categories, ids)
        self.asked.append(("texts", categories, tuple(ids), tuple(got)))
        return got


class _AskedCountries(dict):  # type: ignore[type-arg]
    """Frame.countries that notes which country columns were asked for (Recording)."""

    def __init__(self, countries: dict[str, set[str]], asked: list[tuple[Any, ...]]) -> None:  # noqa: D107
        super().__init__(countries)
        self.asked = asked

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.asked.append(("countries", key, frozenset(super().get(key, ()))))
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.get(key)  # noted
        return super().__getitem__(key)


def still_holds(frame: Frame, asked: list[tuple[Any, ...]]) -> bool:
    """Whether `frame` gives every answer in `asked` (a Recording's) as the frame it was recorded on did."""
    for q in asked:
        if q[0] == "columns":
            if frozenset(frame.df.columns) != q[1]:
                return False
        elif q[0] == "countries":
            if frozenset(frame.countries.get(q[1], ())) != q[2]:
                return False
        elif q[0] == "constant":
            now = frame.constants.get(q[1])
            if now is None or not now.equals(q[2]):
                return False
        elif tuple(frame.texts_hitting(q[1], list(q[2]))) != q[3]:
            return False
    return True


SORTED_SIDES = ("__side_s", "__side_m", "__side_l")
ROUNDED_SIDES = ("__side_s:half_up", "__side_m:half_up", "__side_l:half_up")


def stage_sides(pl: Any, df: Any) -> Any:
    """`df` with the sorted sides as columns, and the same rounded half up, computed once for every rule that reads
    them (a dimension rule's eager expression would otherwise round each side again at every comparison)."""
    df = df.with_columns(*[e.alias(n) for e, n in zip(_sides(pl), SORTED_SIDES)])
    return df.with_columns(*[_round(pl, pl.col(a), "half_up").alias(b) for a, b in zip(SORTED_SIDES, ROUNDED_SIDES)])


def _sides(pl: Any, staged: bool = False) -> tuple[Any, Any, Any]:
    if staged:
        return pl.col(SORTED_SIDES[0]), pl.col(SORTED_SIDES[1]), pl.col(SORTED_SIDES[2])
    a, b, c = pl.col("length_mm"), pl.col("width_mm"), pl.col("height_mm")
    # min/max_horizontal skip nulls; Shipment.sides is None unless all three sides are numbers.
    complete = a.is_not_null() & b.is_not_null() & c.is_not_null()
    lo = pl.when(complete).then(pl.min_horizontal(a, b, c))
    hi = pl.when(complete).then(pl.max_horizontal(a, b, c))
    # The median by selection, not a + b + c - lo - hi: the arithmetic form can be off in the last bit.
    mid = pl.when(complete).then(pl.max_horizontal(pl.min_horizontal(a, b), pl.min_horizontal(pl.max_horizontal(a, b), c)))
    return lo, mid, hi


def _derived(pl: Any, name: str, staged: bool = False) -> Any:
    s, m, l = _sides(pl, staged)
    return {"shortest_side_mm": s, "middle_side_mm": m, "longest_side_mm": l, "sum_of_sides_mm": s + m + l,
            "girth_mm": l + 2 * (s + m), "volume_l": s * m * l / 1_000_000}[name]


# --------------------------------------------------------------------------------------------
# Predicates: exact expressions (Kleene logic is avoided: every leaf yields True/False, never null)
# --------------------------------------------------------------------------------------------
def predicate_expr(f: Frame, p: dict[str, Any] | None, env: EvalEnv, positive: bool = True) -> Any:
    """`positive`: whether a True here selects rows (so a wider match is safe) or, under a negation, the opposite."""
    pl = f.pl
    if not p:
        return pl.lit(True)
    if "all" in p:
        return pl.all_horizontal([predicate_expr(f, q, env, positive) for q in p["all"]])
    if "any" in p:
        return pl.any_horizontal([predicate_expr(f, q, env, positive) for q in p["any"]])
    if "not" in p:
        return negated(f, p["not"], env, not positive)
    fld, op, value = p["field"], p["op"], p.get("value")
    if fld in ("dispatch_at",) and op not in ("present", "absent"):
        raise NotCompilable("date predicates")
    col = f.col(fld)
    if p.get("currency"):
        col = _converted(f, fld, p["currency"], env)
    spec = columns().get(fld, {})
    if op == "present":
        return col.is_not_null() if spec.get("x-type") != "list" else (col.is_not_null() & (col.list.len() > 0))
    if op == "absent":
        return col.is_null() if spec.get("x-type") != "list" else (col.is_null() | (col.list.len() == 0))
    if spec.get("x-type") == "list":
        members = value if isinstance(value, list) else [value]
        hit = col.list.eval(pl.element().is_in(members)).list.any().fill_null(False)
        if op == "in":
            return hit
        if op == "not_in":
            return ~hit
        raise NotCompilable("list comparison")
    if op in ("in", "not_in"):
        members = value if isinstance(value, list) else [value]
        hit = _member(col, members).fill_null(False)
        return hit if op == "in" else ~hit
    if op == "matches":
        return col.str.contains(_rust_regex(str(value), widen=positive)).fill_null(False)
    cmp: dict[str, Callable[[Any, Any], Any]] = {"eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "lt": lambda a, b: a < b,
                                                 "le": lambda a, b: a <= b, "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b}
    if isinstance(value, bool) and spec.get("type") != "boolean":
        raise NotCompilable("boolean against non-boolean")
    out = cmp[op](col, pl.lit(value))
    return out.fill_null(op == "ne")


def negated(f: Frame, p: dict[str, Any] | None, env: EvalEnv, positive: bool = True) -> Any:
    """`~predicate_expr(p)`, with a double negation dropped: a mask's expression is planned again for every chunk, at a
    cost that grows with its nodes (`requires` reads "then: not: any" and negates it)."""
    if p and "not" in p:
        return predicate_expr(f, p["not"], env, not positive)
    return ~predicate_expr(f, p, env, positive)


def query_options(pl: Any, **passes: bool) -> Any:
    """Query options with only the named optimisation passes on (`comm_subexpr_elim=True`, ...), or None for a Polars
    without QueryOptFlags (its callers then run their queries as before: eagerly, or with the default passes)."""
    flags = getattr(pl, "QueryOptFlags", None)
    if flags is None:
        return None
    opts = flags.none()
    for name, on in passes.items():
        setattr(opts, name, on)
    return opts


def either(*exprs: Any) -> Any:
    """`a | b | …` of the expressions that are not None; None when all are (see _rate_unknown)."""
    present = [e for e in exprs if e is not None]
    if not present:
        return None
    out = present[0]
    for e in present[1:]:
        out = out | e
    return out


def _converted(f: Frame, fld: str, target: str, env: EvalEnv) -> Any:
    """The amount converted into `target`; a row whose currency has no rate gets null (and is selected by the caller)."""
    pl = f.pl
    cur_field = currency_field_of(fld)
    amount = f.col(fld)
    if not cur_field or cur_field not in f.present:
        return amount
    rates = env.rates
    factors: dict[str, float] = {}
    for cur in set(rates.per_unit) | {rates.base, target}:
        try:
            factors[cur] = rates.convert(1.0, cur, target)
        except Exception:  # noqa: BLE001 - a missing rate is decided row-wise
            pass
    cur = pl.col(cur_field).fill_null(target)
    factor = cur.replace_strict(list(factors), list(factors.values()), default=None, return_dtype=pl.Float64)
    return amount * factor


def _rate_unknown(f: Frame, p: Any, env: EvalEnv) -> Any:
    """Rows where a currency conversion inside `p` lacks a rate (the row-wise engine reports the missing rate); None
    where `p` converts no currency (most rules: no `| False` node to plan in every chunk)."""
    pl = f.pl
    masks = []

    def walk(q: Any) -> None:
        if isinstance(q, dict):
            if q.get("currency") and q.get("field"):
                fld = q["field"]
                masks.append(f.col(fld).is_not_null() & _converted(f, fld, q["currency"], env).is_null())
            for v in q.values():
                walk(v)
        elif isinstance(q, list):
            for v in q:
                walk(v)
    walk(p)
    return pl.any_horizontal(masks) if masks else None


# --------------------------------------------------------------------------------------------
# Kinds: "may violate" expressions
# --------------------------------------------------------------------------------------------
def _round(pl: Any, x: Any, mode: str) -> Any:
    return (x + 0.5).floor() if mode == "half_up" else x


def _fits(pl: Any, cat: dict[str, Any], s: Any, m: Any, l: Any, w: Any) -> Any:
    height = cat.get("height", "any")
    mh, mw, ml = cat["max_mm"]
    if height == "any":
        b = sorted(cat["max_mm"])
        ok = (s <= b[0]) & (m <= b[1]) & (l <= b[2])
        h = s
    else:
        # s <= m <= l (sorted, and rounding keeps the order), so of the two sides besides the height, x <= y:
        # min(x, y) is x and max(x, y) is y, as the row-wise kind computes them.
        h, x, y = (s, m, l) if height == "shortest" else (m, s, l)
        ok = (h <= mh) & (x <= min(mw, ml)) & (y <= max(mw, ml))
    if "min_height_mm" in cat:
        ok = ok & (h >= cat["min_height_mm"])
    if "min_mm" in cat:
        lo = sorted(cat["min_mm"])
        ok = ok & (s >= lo[0]) & (m >= lo[1]) & (l >= lo[2])
    if "max_weight_kg" in cat:
        ok = ok & (w.is_null() | (w <= cat["max_weight_kg"]))
    return ok


def kind_expr(f: Frame, rule: Rule, env: EvalEnv, categories: Categories) -> Any:
    pl = f.pl
    p = rule.params
    kind = rule.kind
    if kind == "refuse":
        return pl.lit(True)
    if kind == "required":
        return pl.any_horizontal([predicate_expr(f, {"field": x, "op": "absent"}, env) for x in p["fields"]])
    if kind == "limit":
        col = _converted(f, p["field"], p["currency"], env) if p.get("currency") else f.col(p["field"])
        v = _round(pl, col, p.get("rounding", "none"))
        incl = p.get("inclusive", True)
        bad = either(((v < p["min"]) if incl else (v <= p["min"])) if "min" in p else None,
                     ((v > p["max"]) if incl else (v >= p["max"])) if "max" in p else None)
        unknown = (f.col(p["field"]).is_not_null() & col.is_null()) if p.get("currency") else None
        return either(pl.lit(False) if bad is None else bad.fill_null(False), unknown)
    if kind == "dimensions":
        if not {"length_mm", "width_mm", "height_mm"} <= f.present:
            return pl.lit(False)
        mode = p.get("rounding", "none")
        if mode == "half_up" and ROUNDED_SIDES[0] in f.df.columns:
            s, m, l = (pl.col(x) for x in ROUNDED_SIDES)
        else:
            s, m, l = (_round(pl, x, mode) for x in _sides(pl, SORTED_SIDES[0] in f.df.columns))
        w = f.col("weight_kg")
        complete = pl.col("length_mm").is_not_null() & pl.col("width_mm").is_not_null() & pl.col("height_mm").is_not_null()
        cats = p["categories"]
        if p.get("mode") == "declared":
            decl = f.col("size_category")
            bad = decl.is_not_null() & ~_member(decl, list(cats)).fill_null(False)
            for name, cat in cats.items():
                bad = bad | ((decl == name).fill_null(False) & ~_fits(pl, cat, s, m, l, w))
            return complete & bad
        fits_any = pl.any_horizontal([_fits(pl, c, s, m, l, w) for c in cats.values()])
        return complete & ~fits_any
    if kind == "allowed":
        col = f.col(p["field"])
        if "by" in p:
            key = f.col(p["by"])
            if f.is_text(p["field"]) and f.is_text(p["by"]):
                by_value = _allowed_by_value(key, col, p)
                if by_value is not None:
                    return by_value
                pairs = _pairs(p["table"])
                if pairs is not None:
                    # One membership test of "key<US>value" instead of a when/then per key (each over the whole column).
                    in_table = _member(key, list(p["table"]))
                    listed = pl.concat_str([key, pl.lit(_US), col]).is_in(pairs)
                    out = pl.when(in_table).then(~listed)
                    out = out.otherwise(~_member(col, p["default"])) if "default" in p else out.otherwise(False)
                    return (col.is_not_null() & key.is_not_null() & out).fill_null(False)
            out = pl.lit(False)
            for k, vals in p["table"].items():
                out = pl.when(key == k).then(~_member(col, vals)).otherwise(out)
            if "default" in p:
                known = _member(key, list(p["table"]))
                out = pl.when(~known.fill_null(True)).then(~_member(col, p["default"])).otherwise(out)
            return (col.is_not_null() & key.is_not_null() & out).fill_null(False)
        return (col.is_not_null() & ~_member(col, p.get("values", []))).fill_null(False)
    if kind == "format":
        return _format_expr(f, p)
    if kind == "prohibited_contents":
        banned = list(p["categories"])
        declared = f.col("contents_categories")
        out = pl.lit(False)
        if "contents_categories" in f.present:
            out = declared.list.eval(pl.element().is_in(banned)).list.any().fill_null(False)
        if p.get("screen_keywords", True) and "contents" in f.present:
            if KEYWORD_HITS in f.df.columns:
                out = out | ((pl.col(KEYWORD_HITS) & _keyword_bits(categories, banned)) != 0).fill_null(False)
            else:
                out = out | f.col("contents").is_in(f.texts_hitting(categories, banned)).fill_null(False)
        return out
    if kind == "requires":
        return either(negated(f, p["then"], env, positive=False), _rate_unknown(f, p["then"], env))
    if kind == "window":
        fld = p.get("field", "dispatch_at")
        if fld not in f.present:
            return pl.lit(False)
        col = pl.col(fld)
        # Select a day either side of every window: timezones and DST are then decided row-wise.
        near = pl.lit(False)
        for w in p["windows"]:
            a = dt.datetime.fromisoformat(w["from"]).replace(tzinfo=None) - dt.timedelta(days=1)
            b = dt.datetime.fromisoformat(w["until"]).replace(tzinfo=None) + dt.timedelta(days=1)
            near = near | ((col >= a) & (col <= b)).fill_null(False)
        return near if p.get("mode", "forbidden") == "forbidden" else (col.is_not_null() & ~near) | near
    if kind == "route":
        pairs = [f"{o}>{d}" for o, ds in p["lanes"].items() for d in ds]
        o, d = f.col("origin_country"), f.col("destination_country")
        return (o.is_not_null() & d.is_not_null() & ~pl.concat_str([o, pl.lit(">"), d]).is_in(pairs)).fill_null(False)
    raise NotCompilable(kind)


_SCREEN_MEMO = 200_000  # distinct descriptions remembered across chunks (a few tens of MB at most)


@lru_cache(maxsize=None)
def _mobile_regex(region: str) -> tuple[str, str | None] | None:
    """Two regexes over `+CC` + national digits, with the usual separators anywhere (_spread): the region's mobile
    pattern (a match is certainly a valid mobile of that region), and its possible lengths, or None where the pattern
    already implies them; None for a region left to libphonenumber."""
    plain = _mobile_regex_plain(region)
    try:
        return None if plain is None else (_spread(plain[0]), None if plain[1] is None else _spread(plain[1]))
    except NotCompilable:
        return None  # every number of the region is then a candidate: libphonenumber decides


_PHONE_SEPARATORS = r"[ \-().]*"
_PHONE_TOKEN = re.compile(r"\\[d+]|\[[0-9\-]+\]|\{\d+(?:,\d*)?\}|\(\?:|[0-9()|^$?*+]")


def _spread(rx: str) -> str:
    """`rx` matching the number with the usual separators (space, hyphen, brackets, dot) before any digit or `+` and
    at the end: it matches a number exactly where `rx` matches the number with its separators removed, since no digit
    or `+` is a separator.

    Why: removing them from every number first (replace_many, then the key) cost ~17 ms of the ~23 ms a phone column's
    mask took per chunk (2026-11-22, 117 k rows); the separators in the pattern cost the regex a few ms. Only
    libphonenumber's pattern syntax is taken (digits, digit classes, `\\d`, groups, alternatives, counts); anything else
    raises NotCompilable."""
    out, pos = [], 0
    for m in _PHONE_TOKEN.finditer(rx):
        if m.start() != pos:
            raise NotCompilable(f"phone pattern syntax: {rx[pos:m.start()]!r}")
        tok, pos = m.group(), m.end()
        if tok in ("\\d", "\\+") or tok[0] == "[" or tok.isdigit():
            out.append(f"(?:{_PHONE_SEPARATORS}{tok})")
        elif tok == "$":
            out.append(_PHONE_SEPARATORS + "$")
        else:
            out.append(tok)
    if pos != len(rx):
        raise NotCompilable(f"phone pattern syntax: {rx[pos:]!r}")
    return "".join(out)


def _mobile_regex_plain(region: str) -> tuple[str, str | None] | None:
    """_mobile_regex before _spread: over `+CC` and the national digits alone."""
    md = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if md is None or md.mobile is None or not md.mobile.national_number_pattern:
        return None
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(md.country_code, ())
    if regions and regions[0] != region or md.leading_digits:
        return None  # a secondary region of a shared code (e.g. VA under +39) is left to libphonenumber
    lengths = [n for n in (md.mobile.possible_length or md.general_desc.possible_length) if n > 0]
    if not lengths:
        return None
    pattern = md.mobile.national_number_pattern
    # libphonenumber checks the possible lengths before the pattern; the length alternation does the same here,
    # unless every length the pattern can match is a possible one (all regions but a few): then it is implied.
    low, high = re._parser.parse(pattern).getwidth()  # type: ignore[attr-defined]
    if set(range(low, high + 1)) <= set(lengths):
        return rf"^\+{md.country_code}(?:{pattern})$", None
    by_len = "|".join(rf"\d{{{n}}}" for n in sorted(set(lengths)))
    return rf"^\+{md.country_code}(?:{pattern})$", rf"^\+{md.country_code}(?:{by_len})$"


def phone_key_column(field: str, country_field: str) -> str:
    return f"__phone:{field}:{country_field}"


def _phone_key(pl: Any, country: Any, number: Any) -> Any:
    """"CC:number", the row's region and its number, for the phone masks' regexes (which allow the usual separators in
    the number: _spread; any other character makes the regex fail, the safe direction).

    No country (an invalid code was reported and emptied): libphonenumber then takes the region from the
    "+CC" prefix and checks no region, so such a row is keyed "*" and every region's pattern may vouch for
    it, except where the pattern does not imply the lengths (the length check needs the row's region)."""
    return pl.concat_str([country.fill_null("*"), pl.lit(":"), number])


def stage_phone_keys(pl: Any, df: Any, present: set[str], rules: list[Rule]) -> Any:
    """`df` with the phone key of every phone `format` rule's columns, computed once per chunk: a mask uses it
    twice (the pattern and the lengths), and an eager select computes a shared expression again for each use."""
    keys = {}
    for rule in rules:
        p = rule.params
        if rule.kind == "format" and p.get("format") in ("phone", "mobile_phone"):
            country_field = p.get("country_field", "destination_country")
            if {p["field"], country_field} <= present:
                keys[phone_key_column(p["field"], country_field)] = _phone_key(pl, pl.col(country_field), pl.col(p["field"]))
    return df.with_columns(**keys) if keys else df


def _member(col: Any, values: list[Any]) -> Any:
    """`col.is_in(values)`: for up to four texts as equalities joined by "or", which give the same values (null for a
    null cell) at a quarter of the cost (2026-11-22, 117 k rows: is_in of two texts 1.2 ms, two equalities 0.25 ms);
    masks test a handful of delivery types, shapes and categories dozens of times a chunk."""
    values = list(values)
    if not 1 <= len(values) <= 4 or not all(isinstance(v, str) for v in values):
        return col.is_in(values)
    out = col == values[0]
    for v in values[1:]:
        out = out | (col == v)
    return out


KEYWORD_HITS = "__kw:hits"


def _keyword_bits(categories: Categories, ids: list[str]) -> int:
    """The keyword categories `ids` as bits of a 64-bit mask, in the order of categories.by_id."""
    pos = {c: i for i, c in enumerate(categories.by_id)}
    return sum(1 << pos[c] for c in set(ids) if c in pos)


def stage_keyword_hits(pl: Any, df: Any, present: set[str], rules: list[Rule], screened: Screened, categories: Categories) -> Any:
    """`df` with the keyword categories each row's `contents` hits, as bits (KEYWORD_HITS), when a rule screens keywords.

    Why: every prohibited_contents rule tested its own list of hitting texts with is_in, which hashes every row's
    text again (17 rules over 117 k rows: ~2 M string probes a chunk); here the texts are looked up once and each
    rule tests its bits (2026-11-22: the 71 masks 140 -> 134 ms a chunk)."""
    if "contents" not in present or len(categories.by_id) > 64 or not any(
            r.kind == "prohibited_contents" and r.params.get("screen_keywords", True) for r in rules):
        return df
    hits = screened.hits_after(pl, df.get_column("contents"), categories)
    if not hits:
        return df.with_columns(pl.lit(0, dtype=pl.UInt64).alias(KEYWORD_HITS))
    keys = pl.Series(list(hits), dtype=pl.String)
    bits = pl.Series([_keyword_bits(categories, list(got)) for got in hits.values()], dtype=pl.UInt64)
    return df.with_columns(pl.col("contents").replace_strict(keys, bits, default=0, return_dtype=pl.UInt64)
                           .fill_null(0).alias(KEYWORD_HITS))


_US = "\x1f"


_BY_VALUE_MAX = 8


def _allowed_by_value(key: Any, col: Any, p: dict[str, Any]) -> Any:
    """An `allowed` table with a key as one test per listed value: the value is bad where the key is one of the table's
    keys that do not list it; and a value no key lists is bad for every key of the table. None for a table of texts
    with more than _BY_VALUE_MAX values, or not of texts (the caller's membership test of "key<US>value" then).

    Why: delivery and drop-off types are a few values offered by most countries; comparing the cells with those few
    values costs a third of joining every row's key and value into a text and looking it up (2026-11-22, 116 k rows:
    delivery-type-available 6.3 -> 2.1 ms a chunk)."""
    table = p["table"]
    keys = list(table)
    if not keys or not all(isinstance(k, str) for k in keys) or not all(
            isinstance(v, str) for vals in table.values() for v in vals):
        return None
    values = sorted({v for vals in table.values() for v in vals})
    if len(values) > _BY_VALUE_MAX or ("default" in p and not all(isinstance(v, str) for v in p["default"])):
        return None
    in_table = _member(key, keys)
    out = in_table & ~_member(col, values)
    for v in values:
        listing = [k for k in keys if v in table[k]]
        if len(listing) == len(keys):
            continue
        others = [k for k in keys if v not in table[k]]
        out = out | ((col == v) & (_member(key, others) if len(others) <= 4 else in_table & ~_member(key, listing)))
    if "default" in p:
        out = out | (~in_table & ~_member(col, p["default"]))
    return (col.is_not_null() & key.is_not_null() & out).fill_null(False)


def _pairs(table: dict[Any, Any]) -> list[str] | None:
    """"key<US>value" for every listed value of an `allowed` table; None when a key or value is not plain text."""
    out = []
    for k, vals in table.items():
        if not isinstance(k, str) or _US in k or not all(isinstance(v, str) and _US not in v for v in vals):
            return None
        out += [f"{k}{_US}{v}" for v in vals]
    return out


def _format_expr(f: Frame, p: dict[str, Any]) -> Any:
    pl = f.pl
    col = f.col(p["field"])
    fmt = p["format"]
    country_field = p.get("country_field", "destination_country")
    country = f.col(country_field)
    codes = f.countries.get(country_field, set())
    if fmt in ("phone", "mobile_phone"):
        # One pass of two regexes over "CC:digits" (each region's alternative anchored on its code),
        # not two passes per region over the whole column.
        regions = [(r, rx) for r in sorted(codes) if (rx := _mobile_regex(r)) and re.fullmatch(r"[A-Z]{2}", r)]
        if not regions:
            return col.is_not_null()
        staged = phone_key_column(p["field"], country_field)
        keyed = pl.col(staged) if staged in f.df.columns else _phone_key(pl, country, col)
        # ASCII digits only: a match means "certainly valid", so matching less is the safe direction.
        alternatives = "|".join([f"{r}:(?:{rx[0][1:-1]})" for r, rx in regions]
                                + [rf"\*:(?:{rx[0][1:-1]})" for _, rx in regions if rx[1] is None]).replace(r"\d", "[0-9]")
        certain = keyed.str.contains(f"^(?:{alternatives})$")
        checked = [(r, rx[1]) for r, rx in regions if rx[1] is not None]  # regions whose lengths the pattern does not imply
        if checked:
            by_len = "|".join(f"{r}:(?:{rx[1:-1]})" for r, rx in checked).replace(r"\d", "[0-9]")
            certain = certain & (~country.is_in([r for r, _ in checked]).fill_null(False) | keyed.str.contains(f"^(?:{by_len})$"))
        return (col.is_not_null() & ~certain.fill_null(False)).fill_null(True)
    if fmt == "email":
        # `\s*` at the ends is the row-wise check's strip(), without a stripped copy of the column.
        return (col.is_not_null() & ~col.str.contains(r"^\s*[^@\s]+@[^@\s]+\.[A-Za-z]{2,}\s*$").fill_null(False))
    if fmt == "postcode":
        from .kinds.format import postcode_patterns

        pats = {c: rx.pattern for c, rx in postcode_patterns().items() if c in codes}
        if not pats:
            return pl.lit(False)
        # One regex over "CC:POSTCODE" (each country's alternative anchored on its code): a when/then chain
        # would run every country's regex over the whole column.
        if not all(x.startswith("^") and x.endswith("$") and "|" not in x for x in pats.values()):
            raise NotCompilable("postcode pattern not anchored")
        # Trimming is `\s*` at both ends, upper-casing is matching case-insensitively in ASCII only: where this
        # matches, the text is ASCII letters and digits that `pattern.match(value.strip().upper())` accepts too, and
        # any other letter, digit or line end fails here and goes to the row-wise check (2026-11-22: 12.5 -> 8.7 ms
        # a chunk, without the stripped and upper-cased copies of the column).
        alternatives = "|".join(f"{c}:\\s*(?i-u:{x[1:-1]})\\s*" for c, x in pats.items())
        keyed = pl.concat_str([country, pl.lit(":"), col])
        bad = country.is_in(list(pats)) & ~keyed.str.contains(f"^(?:{alternatives})$")
        return (col.is_not_null() & bad).fill_null(False)
    if fmt == "pattern":
        return (col.is_not_null() & ~col.str.contains(_rust_regex(p["pattern"], widen=False)).fill_null(False))
    if fmt == "not_pattern":
        return col.str.contains(_rust_regex(p["pattern"], widen=True)).fill_null(False)
    raise NotCompilable(fmt)


_LOOKAROUND = re.compile(r"\(\?<?[!=]")


def _rust_regex(pattern: str, widen: bool) -> str:
    """The pattern for Polars' (Rust) regex engine, case-insensitive like the row-wise `re.IGNORECASE`.

    Rust has no look-around. Where a match *selects* a row (`widen`), dropping a look-around only makes
    the pattern match more often, which is safe; elsewhere the rule is not compiled.
    """
    if "\\" in pattern.replace("\\\\", "") and re.search(r"\\[1-9]", pattern):
        raise NotCompilable("back-reference")
    while True:
        m = _LOOKAROUND.search(pattern)
        if not m:
            break
        if not widen:
            raise NotCompilable("look-around")
        depth, i = 0, m.start()
        while i < len(pattern):
            ch = pattern[i]
            if ch == "\\":
                i += 2
                continue
            depth += ch == "("
            depth -= ch == ")"
            i += 1
            if depth == 0:
                break
        pattern = pattern[: m.start()] + pattern[i:]
    if widen:
        pattern = _drop_word_boundaries(pattern)
    return "(?i)" + pattern


def _drop_word_boundaries(pattern: str) -> str:
    r"""The pattern without `\b` / `\B` outside character classes: it then matches wherever the original does.

    Unicode word boundaries keep Rust's fast regex engine from running on non-ASCII text (a Polish
    street name made one rule's mask twelve times slower); where a match only *selects* rows for
    the row-wise engine, matching more is safe.
    """
    out, i, in_class = [], 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            pair = pattern[i:i + 2]
            if not in_class and pair in ("\\b", "\\B"):
                i += 2
                continue
            out.append(pair)
            i += 2
            continue
        if ch == "[" and not in_class:
            in_class = True
        elif ch == "]" and in_class:
            in_class = False
        out.append(ch)
        i += 1
    return "".join(out)
