"""Findings built column-wise, for the kind whose explanation is arithmetic on near-unique numbers: `dimensions`.

Why: checker/columnar.py explains the rows a rule may break once per distinct combination of
the cells the rule reads. That is cheap for countries, services and descriptions, which repeat,
but sizes do not (402.1 × 239.6 × 51 mm): a day of parcels gives tens of thousands of distinct
size findings (the info-level Robomat note alone, 64 k per million rows), each a Python call.

Exact by construction, not by approximation:
- the categories, limits, problem texts and their order are those of checker/kinds/dimensions.py,
  restated as expressions over the same float64 values (rounding is floor(x + 0.5) in both);
- every number in a text is formatted by `fmt_num` itself, once per distinct value, and joined back;
- the message template is split by `string.Formatter` and filled with `concat_str`, leaving
  unknown placeholders visible as `engine.fill` does;
- the finding's JSON is the row-wise engine's own serialisation (`Engine._finding`, `dumps`): the
  rule's own runs of members once (rule_runs), the fields that vary filled per row.
Whatever falls outside that (a `when` that is not a plain comparison, a format spec in the
message, an unknown declared category) raises NotCompilable or is left to the Python path, and
the differential tests (tests/test_fastpath.py) compare both engines finding by finding.
"""

from __future__ import annotations

import re
import string
from typing import Any

from .engine import CompiledRule, Engine
from .fastpath import Frame, NotCompilable, predicate_expr, query_options
from .finding_lines import line_runs
from .kinds.base import Violation, fmt_num
from .kinds.dimensions import _box
from .manifest_columns import columns
from .recordlog import dumps
from .shipment import DERIVED, Shipment

SIDES = ("length_mm", "width_mm", "height_mm")
_VARYING = ("field", "actual", "expected", "message")  # the members run, in Finding.to_dict's order (rule_runs)
_SIDE_NAMES = ("shortest side", "middle side", "longest side")


# --------------------------------------------------------------------------------------------
# Which rules qualify
# --------------------------------------------------------------------------------------------
def _plain_when(p: Any) -> bool:
    """A `when` whose column expression is exact (fastpath.predicate_expr widens only `matches`)."""
    if not p:
        return True
    if "all" in p or "any" in p:
        return all(_plain_when(q) for q in p.get("all") or p.get("any"))
    if "not" in p:
        return _plain_when(p["not"])
    if p.get("currency") or p["op"] == "matches":
        return False
    spec = columns().get(p["field"], {})
    xtype = "number" if p["field"] in DERIVED else spec.get("x-type") or spec.get("type") or ("enum" if "enum" in spec else "string")
    if xtype == "datetime":
        return False
    if p["op"] in ("present", "absent"):
        return True
    values = p.get("value") if isinstance(p.get("value"), list) else [p.get("value")]
    if xtype == "number":
        return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if xtype == "boolean":
        return all(isinstance(v, bool) for v in values)
    return all(isinstance(v, str) for v in values)


def _template(text: str) -> list[tuple[str, str | None]]:
    """(literal, placeholder) pairs of a message template; NotCompilable unless every placeholder is a plain name."""
    out = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        raise NotCompilable("message template") from None
    for literal, name, spec, conversion in parsed:
        if name is not None and (spec or conversion or not name.isidentifier()):
            raise NotCompilable("message template with a format spec")
        out.append((literal, name))
    return out


_SHOWN: dict[float, str] = {}  # fmt_num of the sizes and weights seen so far: they repeat from chunk to chunk
_SHOWN_MAX = 200_000
_NUMBERS = ("__r:length_mm", "__r:width_mm", "__r:height_mm", "__lo", "__med", "__hi", "__w")  # the numbers a plan's texts show


def _shown(value: float) -> str:
    """fmt_num(value), remembered (a few thousand distinct sides and weights make up a whole day of parcels)."""
    got = _SHOWN.get(value)
    if got is None:
        if len(_SHOWN) >= _SHOWN_MAX:
            _SHOWN.clear()
        got = _SHOWN[value] = fmt_num(value)
    return got


def rule_runs(engine: Engine, cr: CompiledRule) -> tuple[str, str, str]:
    """A finding of `cr` as JSON is six runs of members: `{"shipment_id":…,"row":…`, `"severity":…`, the rule's
    own from `"rule_id"` to `"waived"`, the varying `"field"` to `"message"` (members), its own `"fix"` and
    `"also_cites"`, and `"destination_country":…}` (Finding.to_dict's order). This gives the rule's two runs, and its
    severity.

    Why: the rule's runs hold its clause, quotes and fix (~1.3 kB of a ~1.6 kB finding) and are the same in all its
    findings; findings refer to them and the report is written from them (columnar._emit), instead of each finding
    carrying its own copy."""
    probe = engine._finding(cr, Shipment(0, {}), Violation(None, None, ""))
    runs = line_runs(dumps(probe.to_dict()))
    return runs[2], runs[4], probe.severity


def members(field: Any, actual: Any, expected: Any, message: Any) -> str:
    """The varying run of a finding (rule_runs), `actual` already as its JSON value (Engine.varying)."""
    return ",".join(f'"{k}":{dumps(v)}' for k, v in zip(_VARYING, (field, actual, expected, message)))


class Plan:
    """One `dimensions` rule ready to be explained column-wise."""

    def __init__(self, engine: Engine, cr: CompiledRule) -> None:
        rule = cr.rule
        if rule.kind != "dimensions" or not _plain_when(rule.when):
            raise NotCompilable(rule.kind)
        self.cr, self.p = cr, rule.params
        self.declared = self.p.get("mode") == "declared"
        self.message = _template(rule.get("message", "{detail}"))
        self.severity = rule_runs(engine, cr)[2]
        self._steps: dict[Any, list[tuple[str, Any]]] = {}
        self._reads: dict[Any, list[str]] = {}

    # ---- per rows -------------------------------------------------------------------------------
    def python_rows(self, f: Frame) -> Any:
        """Rows whose finding this plan does not build (an unknown declared category): the Python path takes them;
        None where there are none."""
        if not self.declared:
            return None
        decl = f.col("size_category")
        return (decl.is_not_null() & (decl != "") & ~decl.is_in(list(self.p["categories"]))).fill_null(False)

    def reads(self, f: Frame) -> list[str]:
        """The chunk's columns `explain` and `python_rows` read (and the row index and partition `_explain` needs)."""
        key = (frozenset(f.present), tuple(f.df.columns))
        got = self._reads.get(key)
        if got is None:
            exprs = [e for e in [self.python_rows(f)] if e is not None] + [e for kind, arg in self._steps_of(f) if arg is not None
                                                                           for e in (arg if isinstance(arg, list) else [arg])]
            roots = {"__i", "__pid"} | {c for e in exprs for c in e.meta.root_names()}
            got = self._reads[key] = [c for c in f.df.columns if c in roots]
        return got

    def explain(self, f: Frame, sub: Any) -> Any:
        """The rows of `sub` (the candidates) that break the rule, with a column `__b`: the finding's varying members.

        The expressions depend on the rule and on which columns the file has, not on the chunk: they are
        built once per file shape and reused; only the number formatting is per chunk (its values are).
        """
        pl = f.pl
        if not set(SIDES) <= f.present:
            return sub.head(0).with_columns(pl.lit(None, dtype=pl.String).alias("__b"))
        steps = self._steps_of(f)
        # One lazy query before the numbers are formatted and one after, on the in-memory engine: each of the ~9
        # eager steps was planned on its own, and a call cost ~3.5 ms however few its rows (2026-11-22, the 70 plan
        # calls of 1 M rows: 373-395 -> 340-353 ms; on 5 rows each, 238-253 -> 214-223 ms).
        # Without the optimiser: these queries are small and built to be run as written (a named column per
        # stage), and planning, not the rows, is most of their cost. 2026-11-22, the 32 plan queries of a bench
        # chunk set, alternating in one process: 80-89 ms with the default passes, 59-77 ms with none; same frames.
        passes = query_options(pl)  # none on; None for a Polars without QueryOptFlags
        run = {"engine": "in-memory"} if passes is None else {"engine": "in-memory", "optimizations": passes}
        lazy = sub.lazy()
        for kind, arg in steps:
            if kind == "with":
                lazy = lazy.with_columns(arg)
            elif kind == "filter":
                lazy = lazy.filter(arg)
            else:  # every number a text shows, formatted by fmt_num itself once per distinct value
                # Sides rounded half up are whole numbers, which fmt_num writes as str(int(x)): Polars' integer text,
                # without collecting their values (2026-11-22: the 12 plans of a bench chunk 60-80 -> 46-57 ms).
                whole = [k for k in _NUMBERS if k != "__w"] if self.p.get("rounding", "none") == "half_up" else []
                other = [k for k in _NUMBERS if k not in whole]
                sub = lazy.collect(**run)
                nums = sub.select(pl.concat([pl.col(k) for k in other if k in ("__lo", "__med", "__hi", "__w")]).drop_nulls().unique()
                                  .alias("v")).get_column("v").to_list()
                shown_of = {v: _shown(v) for v in nums}
                # Series, built once: replace_strict converts a Python list again for every column (7 columns of
                # 7.5 k rows with 8.9 k keys: 16 ms with lists, 6.6 ms with Series, 2026-11-22).
                keys = pl.Series(list(shown_of), dtype=pl.Float64)
                vals = pl.Series(list(shown_of.values()), dtype=pl.String)
                lazy = sub.lazy().with_columns(*[pl.col(k).cast(pl.Int64).cast(pl.String).alias(f"__f{k}") for k in whole],
                                               *[pl.col(k).replace_strict(keys, vals, default=None, return_dtype=pl.String).alias(f"__f{k}")
                                                 for k in other])
        return lazy.collect(**run)

    def _steps_of(self, f: Frame) -> list[tuple[str, Any]]:
        """The steps of `explain` for the chunk's file shape (its columns), built once per shape."""
        key = (frozenset(f.present), tuple(f.df.columns))
        steps = self._steps.get(key)
        if steps is None:
            steps = self._steps[key] = self._build(f)
        return steps

    def _build(self, f: Frame) -> list[tuple[str, Any]]:
        """The steps of `explain`: ("with", expressions), ("filter", condition) or ("format", None)."""
        pl = f.pl
        steps: list[tuple[str, Any]] = []
        rnd = (lambda x: (x + 0.5).floor()) if self.p.get("rounding", "none") == "half_up" else (lambda x: x)
        # Stage the intermediate columns (materialised once, not re-computed inside every text).
        steps.append(("with", [*[rnd(pl.col(c)).alias(f"__r:{c}") for c in SIDES], f.col("weight_kg").cast(pl.Float64).alias("__w")]))
        a, b, c = (pl.col(f"__r:{k}") for k in SIDES)
        steps.append(("with", [pl.min_horizontal(a, b, c).alias("__lo"), pl.max_horizontal(a, b, c).alias("__hi"),
                               pl.max_horizontal(pl.min_horizontal(a, b), pl.min_horizontal(pl.max_horizontal(a, b), c)).alias("__med")]))
        steps.append(("format", None))

        def fmt(x: Any) -> Any:
            return pl.col(f"__f{x.meta.output_name()}")

        sides = (pl.col("__lo"), pl.col("__med"), pl.col("__hi"))
        w = pl.col("__w")
        cats: dict[str, dict[str, Any]] = self.p["categories"]
        names = list(cats)
        # Each stage names its results and the next refers to them by name: one large tree with repeated
        # sub-trees costs Polars more to plan than the rows cost to compute.
        stage = [pl.concat_str([fmt(a), pl.lit(" × "), fmt(b), pl.lit(" × "), fmt(c), pl.lit(" mm"),
                                pl.when(w.is_not_null()).then(pl.lit(", ") + fmt(w) + pl.lit(" kg")).otherwise(pl.lit(""))]).alias("__dims"),
                 (pl.all_horizontal([pl.col(k).is_not_null() for k in SIDES])
                  & predicate_expr(f, self.cr.rule.when, None)).fill_null(False).alias("__hit0")]  # type: ignore[arg-type]
        for i, name in enumerate(names):
            ps = _problems(pl, cats[name], sides, w, fmt)
            stage += [pl.sum_horizontal([cond.cast(pl.Int32) for cond, _, _ in ps] or [pl.lit(0, dtype=pl.Int32)]).alias(f"__n{i}"),
                      pl.sum_horizontal([cond.cast(pl.Int32) for cond, fld, _ in ps if fld == "weight_kg"] or [pl.lit(0, dtype=pl.Int32)]).alias(f"__nw{i}"),
                      _joined(pl, ps).alias(f"__why{i}")]
        steps.append(("with", stage))
        fits = pl.lit(None, dtype=pl.String)
        for i in reversed(range(len(names))):  # the first (smallest) category the parcel fits
            fits = pl.when(pl.col(f"__n{i}") == 0).then(pl.lit(names[i])).otherwise(fits)
        if self.declared:
            decl = f.col("size_category")
            broken = pl.lit(False)
            reasons = pl.lit(None, dtype=pl.String)
            for i, name in enumerate(names):
                is_it = (decl == name).fill_null(False)
                broken = broken | (is_it & (pl.col(f"__n{i}") > 0))
                reasons = pl.when(is_it).then(pl.col(f"__why{i}")).otherwise(reasons)
            steps.append(("with", [fits.alias("__fits"), (pl.col("__hit0") & broken).alias("__hit"), reasons.alias("__detail")]))
            values = {"actual": decl, "expected": pl.concat_str([pl.col("__fits").fill_null("no category"), pl.lit(" (measured)")]),
                      "field": pl.lit("size_category"), "detail": pl.col("__detail"), "dims": pl.col("__dims"),
                      "measured": pl.col("__fits").fill_null("no size category")}
        else:
            best_count = pl.min_horizontal([pl.col(f"__n{i}") for i in range(len(names))])
            best = pl.lit(None, dtype=pl.Int32)
            for i in reversed(range(len(names))):  # fewest broken limits, the smaller category on a tie
                best = pl.when(pl.col(f"__n{i}") == best_count).then(pl.lit(i, dtype=pl.Int32)).otherwise(best)
            steps.append(("with", [fits.alias("__fits"), best.alias("__best")]))
            why = pl.lit(None, dtype=pl.String)
            only_weight = pl.lit(False)
            closest = pl.lit(None, dtype=pl.String)
            for i in reversed(range(len(names))):
                is_best = pl.col("__best") == i
                why = pl.when(is_best).then(pl.col(f"__why{i}")).otherwise(why)
                only_weight = pl.when(is_best).then(pl.col(f"__n{i}") == pl.col(f"__nw{i}")).otherwise(only_weight)
                closest = pl.when(is_best).then(pl.lit(names[i])).otherwise(closest)
            steps.append(("with", [(pl.col("__hit0") & pl.col("__fits").is_null()).alias("__hit"), closest.alias("__closest"),
                                   pl.concat_str([pl.lit("size "), closest, pl.lit(": "), why]).alias("__detail"),
                                   pl.when(only_weight).then(pl.lit("weight_kg")).otherwise(pl.lit("dimensions")).alias("__field")]))
            expected_all = "; ".join(f"{n}: ≤ {_box(c)}" + (f", ≤ {fmt_num(c['max_weight_kg'])} kg" if "max_weight_kg" in c else "")
                                     for n, c in cats.items())
            values = {"actual": pl.col("__dims"), "expected": pl.lit(expected_all), "field": pl.col("__field"),
                      "detail": pl.col("__detail"), "dims": pl.col("__dims"),
                      "weight": pl.when(w.is_not_null()).then(fmt(w)).otherwise(pl.lit("?")), "closest": pl.col("__closest")}
        steps.append(("filter", pl.col("__hit").fill_null(False)))
        values["message"] = pl.concat_str([part for literal, name in self.message
                                           for part in (pl.lit(literal), values.get(name, pl.lit("{" + name + "}")) if name else pl.lit(""))])
        # A text that holds no manifest cell (all but a declared category's) is made of the policy's words, the
        # numbers and this module's literals: where none of the policy's words needs escaping, neither does the text,
        # and its JSON is the text in quotes (2026-11-22, 600 k rows: the plans' queries 135-158 -> 110-124 ms).
        words = [literal for literal, _ in self.message] + names  # the expected texts: names and numbers
        enc = _json if self.declared or any(_NEEDS_ESCAPE.search(w) for w in words) else _quoted
        steps.append(("with", [enc(pl, values[k]).alias(f"__j:{k}") for k in _VARYING]))
        body = pl.concat_str([part for k in _VARYING for part in (pl.lit(("," if k != _VARYING[0] else "") + f'"{k}":'),
                                                                  pl.col(f"__j:{k}"))])
        steps.append(("with", [body.alias("__b")]))  # the members run (see members)
        return steps


def _json(pl: Any, expr: Any) -> Any:
    """A string expression as a JSON value, escaped as `json.dumps` escapes it (null stays null)."""
    return pl.struct(expr.alias("v")).struct.json_encode().str.slice(5).str.strip_suffix("}")


# What recordlog.dumps (ensure_ascii off) escapes in a text: a quote, a backslash, a control character.
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')


def _quoted(pl: Any, expr: Any) -> Any:
    """`_json` for a text known to need no escaping: the text in quotes (null stays null)."""
    return pl.concat_str([pl.lit('"'), expr, pl.lit('"')]).fill_null(pl.lit("null"))


def _joined(pl: Any, problems: list[tuple[Any, str, Any]]) -> Any:
    """The reasons that hold, in order, joined with "; " (dimensions.check's "; ".join(r for _, r in why))."""
    if not problems:
        return pl.lit("")
    return pl.concat_str([pl.when(cond).then(reason) for cond, _, reason in problems], separator="; ", ignore_nulls=True)


def _problems(pl: Any, cat: dict[str, Any], sides: tuple[Any, Any, Any], w: Any, fmt: Any) -> list[tuple[Any, str, Any]]:
    """(condition, field, reason) in the order of dimensions.problems."""
    s, m, l = sides
    height = cat.get("height", "any")
    out: list[tuple[Any, str, Any]] = []

    def reason(name: str, side: Any, op: str, limit: float, unit: str = "mm") -> Any:
        return pl.concat_str([pl.lit(f"{name} "), fmt(side), pl.lit(f" {unit} {op} {fmt_num(limit)} {unit}")])

    mh, mw, ml = cat["max_mm"]
    if height == "any":
        h = s
        for name, side, limit in zip(_SIDE_NAMES, sides, sorted(cat["max_mm"])):
            out.append((side > limit, "dimensions", reason(name, side, ">", limit)))
    else:
        h, x, y = (s, m, l) if height == "shortest" else (m, s, l)  # width <= length already: x <= y
        for name, side, limit in zip(("height", "width", "length"), (h, x, y), (mh, min(mw, ml), max(mw, ml))):
            out.append((side > limit, "dimensions", reason(name, side, ">", limit)))
    if "min_height_mm" in cat:
        out.append((h < cat["min_height_mm"], "dimensions", reason("height", h, "<", cat["min_height_mm"])))
    if "min_mm" in cat:
        for name, side, limit in zip(_SIDE_NAMES, sides, sorted(cat["min_mm"])):
            out.append((side < limit, "dimensions", reason(name, side, "<", limit)))
    if "max_weight_kg" in cat:
        out.append(((w > cat["max_weight_kg"]).fill_null(False), "weight_kg", reason("weight", w, ">", cat["max_weight_kg"], "kg")))
    return out
