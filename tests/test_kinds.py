"""Each rule kind in checker/kinds/: compile once, evaluate shipments on both sides of every bound."""

from __future__ import annotations

import datetime as dt

import pytest

from checker.categories import Categories
from checker.errors import MissingRate
from checker.kinds import KINDS
from checker.kinds.base import round_half_up
from checker.kinds.dimensions import classify
from checker.shipment import EvalEnv, Rates

from conftest import ship

UTC = dt.timezone.utc


def run(kind: str, params: dict, s, ctx, env=None):
    return KINDS[kind].compile(params, ctx)(s, env or EvalEnv())


DESIGN_KINDS = {"required", "limit", "dimensions", "allowed", "format", "prohibited_contents", "requires", "window", "route"}


def test_every_documented_kind_exists():
    assert DESIGN_KINDS <= set(KINDS)


@pytest.mark.parametrize("name", sorted(KINDS))
def test_each_kind_module_owns_schema_evaluation_and_description(name):
    mod = KINDS[name]
    assert mod.NAME == name
    assert isinstance(mod.PARAMS, dict) and isinstance(mod.REQUIRED, list)
    assert set(mod.REQUIRED) <= set(mod.PARAMS)
    assert mod.SUMMARY.strip()
    assert callable(mod.compile) and callable(mod.describe)


# ---- required ------------------------------------------------------------------------------------

REQ = {"fields": ["recipient_name", "recipient_phone"]}


def test_required_all_present(ctx):
    assert run("required", REQ, ship(recipient_name="Jan", recipient_phone="+48512345678"), ctx) == []


def test_required_missing_and_empty_fields(ctx):
    out = run("required", REQ, ship(recipient_name=""), ctx)
    assert sorted(v.field for v in out) == ["recipient_name", "recipient_phone"]
    assert all(v.expected == "present" for v in out)


def test_required_empty_list_counts_as_missing(ctx):
    out = run("required", {"fields": ["contents_categories"]}, ship(contents_categories=[]), ctx)
    assert [v.field for v in out] == ["contents_categories"]
    assert run("required", {"fields": ["contents_categories"]}, ship(contents_categories=["books"]), ctx) == []


def test_required_does_not_repeat_an_unreadable_cell(ctx):
    s = ship(recipient_name="Jan")
    s.invalid.add("recipient_phone")  # already reported as an input finding by the reader
    assert run("required", REQ, s, ctx) == []


# ---- limit ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("weight, broken", [(24.99, False), (25, False), (25.001, True), (30, True)])
def test_limit_max_inclusive(ctx, weight, broken):
    out = run("limit", {"field": "weight_kg", "max": 25}, ship(weight_kg=weight), ctx)
    assert bool(out) is broken
    if broken:
        assert out[0].field == "weight_kg"
        assert out[0].actual == weight
        assert "25" in out[0].expected and "kg" in out[0].expected


@pytest.mark.parametrize("weight, broken", [(24.99, False), (25, True)])
def test_limit_max_exclusive(ctx, weight, broken):
    assert bool(run("limit", {"field": "weight_kg", "max": 25, "inclusive": False}, ship(weight_kg=weight), ctx)) is broken


@pytest.mark.parametrize("weight, broken", [(0.09, True), (0.1, False), (0.2, False)])
def test_limit_min(ctx, weight, broken):
    assert bool(run("limit", {"field": "weight_kg", "min": 0.1}, ship(weight_kg=weight), ctx)) is broken


def test_limit_min_exclusive(ctx):
    p = {"field": "weight_kg", "min": 0.1, "inclusive": False}
    assert run("limit", p, ship(weight_kg=0.1), ctx)
    assert not run("limit", p, ship(weight_kg=0.11), ctx)


def test_limit_missing_value_is_not_a_violation(ctx):
    assert run("limit", {"field": "weight_kg", "max": 25}, ship(), ctx) == []


@pytest.mark.parametrize("sides, broken", [((300, 300, 300), False), ((300, 300, 301), True)])
def test_limit_on_a_derived_measure(ctx, sides, broken):
    l, w, h = sides
    out = run("limit", {"field": "sum_of_sides_mm", "max": 900}, ship(length_mm=l, width_mm=w, height_mm=h), ctx)
    assert bool(out) is broken


def test_limit_girth_is_longest_plus_twice_the_others(ctx):
    # 100 x 200 x 1000: girth = 1000 + 2 * (100 + 200) = 1600
    p_ok, p_bad = {"field": "girth_mm", "max": 1600}, {"field": "girth_mm", "max": 1599}
    s = ship(length_mm=200, width_mm=1000, height_mm=100)
    assert run("limit", p_ok, s, ctx) == []
    assert run("limit", p_bad, s, ctx)


@pytest.mark.parametrize("weight, broken", [(25.4, False), (25.49, False), (25.5, True)])
def test_limit_rounding_half_up(ctx, weight, broken):
    p = {"field": "weight_kg", "max": 25, "rounding": "half_up"}
    assert bool(run("limit", p, ship(weight_kg=weight), ctx)) is broken


CAP = {"field": "declared_value", "max": 1000, "currency": "PLN"}


@pytest.mark.parametrize("amount, broken", [(1000, False), (1000.01, True)])
def test_limit_currency_same_currency(ctx, env, amount, broken):
    assert bool(run("limit", CAP, ship(declared_value=amount, value_currency="PLN"), ctx, env)) is broken


def test_limit_currency_absent_means_the_bound_currency(ctx):
    # no value_currency and no rates at all: the amount is taken to be in PLN, no conversion needed
    assert run("limit", CAP, ship(declared_value=999), ctx, EvalEnv()) == []
    assert run("limit", CAP, ship(declared_value=1001), ctx, EvalEnv())


@pytest.mark.parametrize("eur, broken", [(250, False), (250.01, True)])
def test_limit_currency_converted_with_rates(ctx, env, eur, broken):
    # 1 EUR = 4 PLN: 250 EUR = 1000 PLN (allowed), 250.01 EUR = 1000.04 PLN (over)
    out = run("limit", CAP, ship(declared_value=eur, value_currency="EUR"), ctx, env)
    assert bool(out) is broken
    if broken:
        assert out[0].actual == eur
        assert "EUR" in out[0].detail and "PLN" in out[0].detail


def test_limit_currency_without_rate_raises_missing_rate(ctx, env):
    with pytest.raises(MissingRate) as exc:
        run("limit", CAP, ship(declared_value=100, value_currency="USD"), ctx, env)
    assert (exc.value.source, exc.value.target) == ("USD", "PLN")
    assert "USD" in str(exc.value) and "PLN" in str(exc.value)


def test_rates_convert_through_the_base_currency():
    r = Rates(base="PLN", per_unit={"EUR": 4.0, "USD": 3.6})
    assert r.convert(100, "USD", "EUR") == pytest.approx(90.0)
    assert r.convert(90, "EUR", "USD") == pytest.approx(100.0)
    assert r.convert(10, "EUR", "PLN") == pytest.approx(40.0)
    assert r.convert(40, "PLN", "EUR") == pytest.approx(10.0)
    assert r.convert(7, "CHF", "CHF") == 7  # same currency needs no rate
    with pytest.raises(MissingRate):
        r.convert(1, "CHF", "PLN")


def test_limit_describe_names_field_and_bound():
    text = KINDS["limit"].describe({"field": "weight_kg", "max": 25})
    assert "weight_kg" in text and "25" in text and "kg" in text


# ---- dimensions ----------------------------------------------------------------------------------

LOCKER = {
    "categories": {
        "A": {"height": "shortest", "min_height_mm": 21, "max_mm": [80, 380, 640], "max_weight_kg": 25},
        "B": {"height": "shortest", "min_height_mm": 81, "max_mm": [190, 380, 640], "max_weight_kg": 25},
        "C": {"height": "middle", "min_height_mm": 191, "max_mm": [390, 380, 640], "max_weight_kg": 25},
    },
    "rounding": "half_up",
}


def box(l, w, h, kg=None, **more):
    values = {"length_mm": l, "width_mm": w, "height_mm": h, **more}
    if kg is not None:
        values["weight_kg"] = kg
    return ship(**values)


def one(cat: dict, **top) -> dict:
    return {"categories": {"X": cat}, **top}


@pytest.mark.parametrize("sides, fits", [
    ((80, 380, 640), True),
    ((640, 80, 380), True),    # the sides come in any order
    ((81, 380, 640), False),   # height (shortest side) over 80
    ((80, 381, 640), False),
    ((80, 380, 641), False),
])
def test_dimensions_shortest_side_is_height(ctx, sides, fits):
    p = one({"height": "shortest", "max_mm": [80, 380, 640]})
    assert (run("dimensions", p, box(*sides), ctx) == []) is fits


def test_dimensions_middle_side_is_height(ctx):
    # 300 x 385 x 600: with the middle side as height (385 <= 390) the other sides are 300 <= 380 and 600 <= 640
    middle = one({"height": "middle", "max_mm": [390, 380, 640]})
    shortest = one({"height": "shortest", "max_mm": [390, 380, 640]})
    parcel = box(600, 385, 300)
    assert run("dimensions", middle, parcel, ctx) == []
    # read with the shortest side as height, the width is 385 > 380
    assert run("dimensions", shortest, parcel, ctx)
    # middle side over the height limit
    assert run("dimensions", middle, box(600, 395, 300), ctx)


@pytest.mark.parametrize("sides, fits", [
    ((600, 600, 1000), True),
    ((1000, 600, 600), True),
    ((600, 600, 1001), False),
    ((601, 601, 100), False),  # sorted 100, 601, 601 against 600, 600, 1000
    ((100, 100, 700), True),
])
def test_dimensions_any_orientation(ctx, sides, fits):
    p = one({"height": "any", "max_mm": [600, 600, 1000]})
    assert (run("dimensions", p, box(*sides), ctx) == []) is fits


@pytest.mark.parametrize("sides, fits", [
    ((10, 90, 140), True),
    ((140, 10, 90), True),
    ((9, 90, 140), False),
    ((10, 89, 140), False),
    ((10, 90, 139), False),
])
def test_dimensions_min_mm(ctx, sides, fits):
    p = one({"height": "any", "min_mm": [10, 90, 140], "max_mm": [600, 600, 1000]})
    assert (run("dimensions", p, box(*sides), ctx) == []) is fits


@pytest.mark.parametrize("shortest, fits", [(20, False), (20.4, False), (20.5, True), (21, True), (80, True)])
def test_dimensions_min_height_with_rounding(ctx, shortest, fits):
    p = one({"height": "shortest", "min_height_mm": 21, "max_mm": [80, 380, 640]}, rounding="half_up")
    assert (run("dimensions", p, box(300, 200, shortest), ctx) == []) is fits


@pytest.mark.parametrize("longest, fits", [(639.5, True), (640, True), (640.4, True), (640.49, True), (640.5, False), (641, False)])
def test_dimensions_rounding_half_up(ctx, longest, fits):
    p = one({"height": "any", "max_mm": [80, 380, 640]}, rounding="half_up")
    assert (run("dimensions", p, box(longest, 300, 70), ctx) == []) is fits


def test_dimensions_without_rounding_640_4_is_over(ctx):
    p = one({"height": "any", "max_mm": [80, 380, 640]})
    assert run("dimensions", p, box(640.4, 300, 70), ctx)


def test_round_half_up_is_not_bankers_rounding():
    assert round_half_up(0.5) == 1
    assert round_half_up(1.5) == 2
    assert round_half_up(2.5) == 3  # round() would give 2
    assert round_half_up(19.59) == 20
    assert round_half_up(19.40) == 19


@pytest.mark.parametrize("kg, broken", [(None, False), (24.9, False), (25, False), (25.01, True)])
def test_dimensions_weight(ctx, kg, broken):
    out = run("dimensions", LOCKER, box(300, 200, 60, kg), ctx)
    assert bool(out) is broken
    if broken:
        assert out[0].field == "weight_kg"  # only the weight is wrong


def test_dimensions_size_violation_names_dimensions(ctx):
    out = run("dimensions", LOCKER, box(700, 200, 60, 2), ctx)
    assert len(out) == 1
    assert out[0].field == "dimensions"
    assert "640" in out[0].detail and "700" in out[0].detail


def test_dimensions_locker_table_classification():
    # the smallest category the parcel fits, with A/B height = shortest and C height = middle
    assert classify(LOCKER, (60, 200, 300), 2) == "A"
    assert classify(LOCKER, (100, 200, 300), 2) == "B"
    assert classify(LOCKER, (200, 385, 600), 2) == "C"
    assert classify(LOCKER, (15, 100, 300), 2) is None  # thinner than 21 mm, middle side < 191
    assert classify(LOCKER, (60, 200, 300), 26) is None


def test_dimensions_declared_mode(ctx):
    p = {**LOCKER, "mode": "declared"}
    # measures B (shortest side 100)
    assert run("dimensions", p, box(300, 200, 100, 3, size_category="B"), ctx) == []
    out = run("dimensions", p, box(300, 200, 100, 3, size_category="A"), ctx)
    assert len(out) == 1
    assert out[0].field == "size_category" and out[0].actual == "A"
    assert out[0].vars["measured"] == "B"
    unknown = run("dimensions", p, box(300, 200, 100, 3, size_category="Z"), ctx)
    assert unknown and unknown[0].actual == "Z"


def test_dimensions_describe_mentions_boxes_and_rounding():
    text = KINDS["dimensions"].describe(LOCKER)
    assert "80 × 380 × 640" in text and "390 × 380 × 640" in text
    assert "half up" in text


# ---- allowed -------------------------------------------------------------------------------------

def test_allowed_values(ctx):
    p = {"field": "shape", "values": ["box", "foil_bag"]}
    assert run("allowed", p, ship(shape="box"), ctx) == []
    out = run("allowed", p, ship(shape="tube"), ctx)
    assert len(out) == 1 and out[0].field == "shape" and out[0].actual == "tube"
    assert "box" in out[0].expected and "foil_bag" in out[0].expected
    assert run("allowed", p, ship(), ctx) == []  # nothing to check


def test_allowed_by_table(ctx):
    p = {"field": "delivery_type", "by": "destination_country",
         "table": {"PL": ["locker", "pudo"], "AT": ["locker", "pudo", "door"]}}
    assert run("allowed", p, ship(delivery_type="door", destination_country="AT"), ctx) == []
    assert run("allowed", p, ship(delivery_type="locker", destination_country="PL"), ctx) == []
    out = run("allowed", p, ship(delivery_type="door", destination_country="PL"), ctx)
    assert len(out) == 1 and out[0].actual == "door" and "PL" in out[0].expected
    # a value of `by` absent from the table, without a default, is not checked here (PARAMS description)
    assert run("allowed", p, ship(delivery_type="door", destination_country="DE"), ctx) == []
    # nor is a shipment without the `by` field
    assert run("allowed", p, ship(delivery_type="door"), ctx) == []


def test_allowed_by_table_default(ctx):
    p = {"field": "delivery_type", "by": "destination_country", "table": {"PL": ["locker"]}, "default": ["door"]}
    assert run("allowed", p, ship(delivery_type="door", destination_country="DE"), ctx) == []
    assert run("allowed", p, ship(delivery_type="locker", destination_country="DE"), ctx)
    assert run("allowed", p, ship(delivery_type="door", destination_country="PL"), ctx)


# ---- format --------------------------------------------------------------------------------------

PHONE = {"field": "recipient_phone", "format": "phone"}


@pytest.mark.parametrize("number, country, ok", [
    ("+48 512 345 678", "PL", True),
    ("512 345 678", "PL", True),        # national format, read for the destination country
    ("+48 512 345 678", "DE", False),   # a Polish number is not valid for Germany
    ("+49 1512 3456789", "DE", True),
    ("12345", "PL", False),
    ("not a phone", "PL", False),
])
def test_format_phone(ctx, number, country, ok):
    out = run("format", PHONE, ship(recipient_phone=number, destination_country=country), ctx)
    assert (out == []) is ok
    if not ok:
        assert out[0].field == "recipient_phone" and out[0].actual == number


def test_format_mobile_phone(ctx):
    p = {"field": "recipient_phone", "format": "mobile_phone"}
    assert run("format", p, ship(recipient_phone="+48 512 345 678", destination_country="PL"), ctx) == []
    # +48 22 ... is a Warsaw landline: a valid phone, not a mobile
    assert run("format", PHONE, ship(recipient_phone="+48 22 123 45 67", destination_country="PL"), ctx) == []
    assert run("format", p, ship(recipient_phone="+48 22 123 45 67", destination_country="PL"), ctx)


def test_format_phone_country_field(ctx):
    p = {"field": "sender_phone", "format": "phone", "country_field": "origin_country"}
    s = ship(sender_phone="+48 512 345 678", origin_country="PL", destination_country="DE")
    assert run("format", p, s, ctx) == []
    assert run("format", p, ship(sender_phone="+48 512 345 678", origin_country="DE", destination_country="PL"), ctx)


def test_format_empty_value_is_left_to_required(ctx):
    assert run("format", PHONE, ship(recipient_phone="", destination_country="PL"), ctx) == []
    assert run("format", PHONE, ship(destination_country="PL"), ctx) == []


@pytest.mark.parametrize("email, ok", [
    ("jan.kowalski@example.pl", True),
    ("a+b@sub.example.com", True),
    ("jan.kowalski@example", False),
    ("jan kowalski@example.pl", False),
    ("jan@@example.pl", False),
    ("example.pl", False),
])
def test_format_email(ctx, email, ok):
    out = run("format", {"field": "recipient_email", "format": "email"}, ship(recipient_email=email), ctx)
    assert (out == []) is ok


@pytest.mark.parametrize("code, country, ok", [
    ("00-950", "PL", True),
    ("00950", "PL", False),
    ("00-9500", "PL", False),
    ("0-950", "PL", False),
    ("10115", "DE", True),
    ("1011", "DE", False),
    ("00-950", "DE", False),
    ("1010", "AT", True),
    ("10100", "AT", False),
    ("1012 AB", "NL", True),
    ("1012 ab", "NL", True),
    ("1012", "NL", False),
    ("1000-001", "PT", True),
    ("1000001", "PT", False),
])
def test_format_postcode_per_country(ctx, code, country, ok):
    p = {"field": "recipient_postcode", "format": "postcode"}
    out = run("format", p, ship(recipient_postcode=code, destination_country=country), ctx)
    assert (out == []) is ok


def test_format_pattern_and_not_pattern(ctx):
    p = {"field": "target_point", "format": "pattern", "pattern": r"^[A-Z]{3}\d{2,3}[A-Z]$"}
    assert run("format", p, ship(target_point="KRA01M"), ctx) == []
    assert run("format", p, ship(target_point="krakow"), ctx)
    q = {"field": "recipient_street", "format": "not_pattern", "pattern": r"p\.?\s*o\.?\s*box"}
    assert run("format", q, ship(recipient_street="ul. Długa 5"), ctx) == []
    assert run("format", q, ship(recipient_street="P.O. Box 12"), ctx)


# ---- prohibited_contents -------------------------------------------------------------------------

TAXONOMY = Categories.from_data({"categories": {
    "weapons": {"names": {"en": "Weapons"}, "keywords": {"en": ["gun", "pepper spray"], "pl": ["broń"]}},
    "ammunition": {"names": {"en": "Ammunition"}, "keywords": {"en": ["ammunition"], "pl": ["amunicj*"]}},
    "alcohol": {"names": {"en": "Alcohol"}, "keywords": {"en": ["vodka"]}},
}})
BANNED = {"categories": ["weapons", "ammunition"]}


@pytest.fixture
def cat_env() -> EvalEnv:
    return EvalEnv(categories=TAXONOMY)


def test_prohibited_declared_category(ctx, cat_env):
    out = run("prohibited_contents", BANNED, ship(contents_categories=["books", "weapons"]), ctx, cat_env)
    assert len(out) == 1
    v = out[0]
    assert v.field == "contents_categories" and v.actual == "weapons"
    assert v.severity is None  # the rule's own severity (an error) applies


def test_prohibited_declared_but_allowed_category(ctx, cat_env):
    assert run("prohibited_contents", BANNED, ship(contents_categories=["alcohol"], contents="vodka"), ctx, cat_env) == []


@pytest.mark.parametrize("text, keyword", [
    ("air gun spare parts", "gun"),
    ("Toy GUN", "GUN"),
    ("gun-shaped lighter", "gun"),
    ("pepper  spray 50 ml", "pepper  spray"),
    ("Broń gazowa", "Broń"),
])
def test_prohibited_keyword_is_a_warning(ctx, cat_env, text, keyword):
    out = run("prohibited_contents", BANNED, ship(contents=text), ctx, cat_env)
    assert len(out) == 1
    v = out[0]
    assert v.severity == "warning"
    assert v.field == "contents"
    assert v.actual == keyword
    assert v.vars["category"] == "weapons"
    assert keyword in v.detail


@pytest.mark.parametrize("text", ["the season has begun", "gunnery manual", "shotgunner figurine", "bronze statue"])
def test_prohibited_keywords_match_whole_words(ctx, cat_env, text):
    assert run("prohibited_contents", BANNED, ship(contents=text), ctx, cat_env) == []


@pytest.mark.parametrize("text", ["Amunicja myśliwska", "pudełko amunicji", "AMUNICJĘ"])
def test_prohibited_prefix_keyword(ctx, cat_env, text):
    out = run("prohibited_contents", BANNED, ship(contents=text), ctx, cat_env)
    assert [v.vars["category"] for v in out] == ["ammunition"]
    assert out[0].actual.lower().startswith("amunicj")


def test_prohibited_prefix_needs_a_word_start(ctx, cat_env):
    assert run("prohibited_contents", BANNED, ship(contents="xamunicja"), ctx, cat_env) == []


def test_prohibited_declared_category_is_not_reported_twice(ctx, cat_env):
    out = run("prohibited_contents", BANNED, ship(contents_categories=["weapons"], contents="air gun"), ctx, cat_env)
    assert len(out) == 1 and out[0].field == "contents_categories"


def test_prohibited_keyword_severity_and_screening_switch(ctx, cat_env):
    strict = {**BANNED, "keyword_severity": "error"}
    assert [v.severity for v in run("prohibited_contents", strict, ship(contents="gun"), ctx, cat_env)] == ["error"]
    off = {**BANNED, "screen_keywords": False}
    assert run("prohibited_contents", off, ship(contents="gun"), ctx, cat_env) == []
    assert run("prohibited_contents", off, ship(contents_categories=["weapons"]), ctx, cat_env)


def test_prohibited_only_screens_the_rules_categories(ctx, cat_env):
    assert run("prohibited_contents", {"categories": ["ammunition"]}, ship(contents="air gun"), ctx, cat_env) == []


# ---- requires ------------------------------------------------------------------------------------

def test_requires(ctx):
    p = {"then": {"field": "insurance_amount", "op": "present"}}
    assert run("requires", p, ship(declared_value=5000, insurance_amount=5000), ctx) == []
    out = run("requires", p, ship(declared_value=5000), ctx)
    assert len(out) == 1
    assert out[0].field == "insurance_amount"
    assert "insurance_amount" in out[0].expected


def test_requires_compound_then(ctx):
    p = {"then": {"all": [{"field": "insurance_amount", "op": "ge", "value": 1000},
                          {"field": "recipient_phone", "op": "present"}]}}
    assert run("requires", p, ship(insurance_amount=1000, recipient_phone="+48512345678"), ctx) == []
    out = run("requires", p, ship(insurance_amount=999, recipient_phone="+48512345678"), ctx)
    assert out and out[0].field == "insurance_amount"


# ---- window --------------------------------------------------------------------------------------

NIGHT = {"windows": [{"from": "2025-12-01T00:00", "until": "2025-12-01T06:00", "label": "maintenance"}]}


@pytest.mark.parametrize("moment, inside", [
    (dt.datetime(2025, 11, 30, 23, 59), False),
    (dt.datetime(2025, 12, 1, 0, 0), True),                  # from is inclusive
    (dt.datetime(2025, 12, 1, 5, 30), True),                 # naive = Warsaw time
    (dt.datetime(2025, 12, 1, 6, 0), False),                 # until is exclusive
    (dt.datetime(2025, 12, 1, 5, 30, tzinfo=UTC), False),    # 06:30 in Warsaw (UTC+1 in December)
    (dt.datetime(2025, 12, 1, 4, 59, tzinfo=UTC), True),     # 05:59 in Warsaw
    (dt.datetime(2025, 11, 30, 23, 30, tzinfo=UTC), True),   # 00:30 in Warsaw, the next day
    (dt.datetime(2025, 11, 30, 22, 59, tzinfo=UTC), False),  # 23:59 in Warsaw, the day before
])
def test_window_forbidden(ctx, moment, inside):
    out = run("window", NIGHT, ship(dispatch_at=moment), ctx)
    assert bool(out) is inside
    if inside:
        assert out[0].field == "dispatch_at"
        assert "maintenance" in out[0].detail


def test_window_uses_summer_time_in_summer(ctx):
    p = {"windows": [{"from": "2025-07-01T01:00", "until": "2025-07-01T02:00"}]}
    # Warsaw is UTC+2 in July: 23:30 UTC on 30 June is 01:30 on 1 July in Warsaw
    assert run("window", p, ship(dispatch_at=dt.datetime(2025, 6, 30, 23, 30, tzinfo=UTC)), ctx)
    assert not run("window", p, ship(dispatch_at=dt.datetime(2025, 7, 1, 0, 30, tzinfo=UTC)), ctx)


def test_window_timezone_comes_from_the_context():
    from checker.engine import CompileCtx

    utc_ctx = CompileCtx(timezone="UTC", family="x")
    # the window's naive bounds are read in the family's timezone: 05:30 UTC is inside them in a UTC family,
    # but it is 06:30 in Warsaw, outside them in a Warsaw family
    assert run("window", NIGHT, ship(dispatch_at=dt.datetime(2025, 12, 1, 5, 30)), utc_ctx)
    assert not run("window", NIGHT, ship(dispatch_at=dt.datetime(2025, 12, 1, 5, 30, tzinfo=UTC)),
                   CompileCtx(timezone="Europe/Warsaw", family="x"))
    assert run("window", NIGHT, ship(dispatch_at=dt.datetime(2025, 12, 1, 5, 30, tzinfo=UTC)), utc_ctx)


def test_window_bare_date_or_missing_value(ctx):
    assert run("window", NIGHT, ship(dispatch_at=dt.date(2025, 12, 1)), ctx) == []
    assert run("window", NIGHT, ship(), ctx) == []


@pytest.mark.parametrize("moment, outside", [
    (dt.datetime(2025, 12, 1, 7, 59), True),
    (dt.datetime(2025, 12, 1, 8, 0), False),
    (dt.datetime(2025, 12, 1, 7, 30, tzinfo=UTC), False),   # 08:30 in Warsaw
    (dt.datetime(2025, 12, 1, 15, 30, tzinfo=UTC), True),   # 16:30 in Warsaw
])
def test_window_required(ctx, moment, outside):
    p = {"windows": [{"from": "2025-12-01T08:00", "until": "2025-12-01T16:00"}], "mode": "required"}
    assert bool(run("window", p, ship(dispatch_at=moment), ctx)) is outside


# ---- route ---------------------------------------------------------------------------------------

LANES = {"lanes": {"PL": {"IT": 5, "AT": 3, "HU": None}, "IT": {"PL": 5}}}


@pytest.mark.parametrize("origin, dest, field", [
    ("PL", "IT", None), ("IT", "PL", None), ("PL", "HU", None),   # null days: served without an estimate
    ("IT", "AT", "destination_country"), ("PL", "PL", "destination_country"),
    ("FR", "PL", "origin_country"),
])
def test_route(ctx, origin, dest, field):
    out = run("route", LANES, ship(origin_country=origin, destination_country=dest), ctx)
    if field is None:
        assert out == []
    else:
        assert len(out) == 1 and out[0].field == field
        assert out[0].vars["lane"] == f"{origin}→{dest}"


def test_route_without_countries_is_left_to_required(ctx):
    assert run("route", LANES, ship(destination_country="IT"), ctx) == []


# ---- refuse (a kind added beside the documented ones) ------------------------------------------------

def test_refuse_flags_every_shipment_it_is_applied_to(ctx):
    out = run("refuse", {"field": "cod_amount"}, ship(cod_amount=100), ctx)
    assert len(out) == 1 and out[0].field == "cod_amount" and out[0].actual == 100
    assert run("refuse", {}, ship(), ctx)
    assert KINDS["refuse"].describe({}).strip()


# ---- describe ------------------------------------------------------------------------------------

DESCRIBE_CASES = {
    "required": (REQ, "recipient_phone"),
    "limit": ({"field": "weight_kg", "max": 25}, "weight_kg"),
    "dimensions": (LOCKER, "640"),
    "allowed": ({"field": "shape", "values": ["box", "foil_bag"]}, "foil_bag"),
    "format": (PHONE, "recipient_phone"),
    "prohibited_contents": (BANNED, "ammunition"),
    "requires": ({"then": {"field": "insurance_amount", "op": "present"}}, "insurance_amount"),
    "window": (NIGHT, "2025-12-01T06:00"),
    "route": (LANES, "PL"),
}


def test_describe_covers_every_documented_kind():
    assert DESIGN_KINDS <= set(DESCRIBE_CASES)


@pytest.mark.parametrize("kind", sorted(DESCRIBE_CASES))
def test_describe_is_a_sentence_naming_its_parameters(kind):
    params, mention = DESCRIBE_CASES[kind]
    text = KINDS[kind].describe(params)
    assert isinstance(text, str) and len(text.split()) >= 3
    assert text.rstrip().endswith(".")
    assert mention in text
    assert "{" not in text  # no unfilled template


@pytest.mark.parametrize("fmt", ["phone", "mobile_phone", "email", "postcode"])
def test_format_describe_every_format(fmt):
    text = KINDS["format"].describe({"field": "recipient_x", "format": fmt})
    assert "recipient_x" in text and text.endswith(".")


def test_a_rule_no_layer_changes_is_compiled_once_for_every_country_pair() -> None:
    """Engine._compile: the rule lists of two (origin, destination) pairs share the compiled rules no country layer
    changes, and each keeps its own where a layer overrides, adds or drops a rule."""
    from checker.engine import Engine
    from checker.loader import load_policies_or_fail
    from checker.paths import policies_dir
    from checker.shipment import Shipment

    policies = load_policies_or_fail(policies_dir())
    engine = Engine(policies)
    fam = policies.family("inpost-international")
    version = fam.version("2025-11-20")
    day = dt.date(2025, 12, 1)
    base = {cr.rule.id: cr for cr in engine._compile(fam, version, Shipment(0, {}), "base", day)}
    italy = {cr.rule.id: cr for cr in engine._compile(fam, version, Shipment(0, {"destination_country": "IT"}), "base", day)}
    shared = [rid for rid in base if rid in italy and base[rid] is italy[rid]]
    own = [rid for rid in italy if rid not in base or base[rid] is not italy[rid]]
    assert len(shared) > 20 and own, (len(shared), own)
    assert all(italy[rid].rule.layer == "country:IT" for rid in own if rid in base)
    assert all(base[rid].rule.layer == "base" for rid in base)


def test_the_postcode_table_reads_as_the_yaml_library_reads_it():
    """kinds/format.flat_mapping reads data/postcodes.yaml without PyYAML (start-up): the same dict as yaml.safe_load,
    and None (so the YAML library reads it) for anything beyond `CC: 'pattern'` lines."""
    from pathlib import Path

    import yaml

    from checker.kinds import format as fmt

    text = (Path(fmt.__file__).resolve().parent.parent / "data" / "postcodes.yaml").read_text(encoding="utf-8")
    flat = fmt.flat_mapping(text)
    assert flat is not None and flat == yaml.safe_load(text) and len(flat) >= 20
    assert fmt.flat_mapping("PL: 'it''s'\n# note\n") == {"PL": "it's"} == yaml.safe_load("PL: 'it''s'\n# note\n")
    for other in ("PL: \"^\\\\d$\"\n", "PL:\n  a: b\n", "PL: '^1$'\nPL: '^2$'\n", "pl: '^1$'\n"):
        assert fmt.flat_mapping(other) is None


def test_a_check_with_cached_policies_never_imports_the_yaml_library(tmp_path):
    """Start-up: a check whose policies come from the cache parses no YAML, so PyYAML stays unloaded (its import was
    17-22 ms of a 100-row check)."""
    import json
    import os
    import subprocess
    import sys

    manifest = tmp_path / "m.csv"
    manifest.write_text("shipment_id,service,destination_country,delivery_type,length_mm,width_mm,height_mm,weight_kg,"
                        "recipient_postcode\nS-1,inpost-international,PT,locker,100,100,100,1,9000-100\n", encoding="utf-8")
    probe = "\n".join([
        "import sys",
        "from checker.cli import main",
        "try:",
        f"    rc = main(['check', {str(manifest)!r}, '--format', 'json', '--output', {str(tmp_path / 'r.json')!r},"
        " '--fail-on', 'never', '--quiet'])",
        "except SystemExit as e:",
        "    rc = e.code",
        "print('yaml' in sys.modules, rc)",
    ])
    env = {**os.environ, "CHECKER_CACHE_DIR": str(tmp_path / "cache")}
    first = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    again = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert first.stdout.split()[-2:] == ["True", "0"], first.stderr  # the first run reads the policy files
    assert again.stdout.split()[-2:] == ["False", "0"], again.stderr
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["summary"]["failed"] == 1  # 9xxx: the islands
