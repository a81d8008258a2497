"""`when` predicates (checker/predicates.py): every op, combinators, missing values, currencies, describe."""

from __future__ import annotations

import datetime as dt

import pytest

from checker.errors import MissingRate
from checker.predicates import OPS, compile_predicate, describe
from checker.shipment import EvalEnv, Rates

from conftest import ship


def holds(p, s, env=None) -> bool:
    result = compile_predicate(p)(s, env or EvalEnv())
    assert isinstance(result, bool)
    return result


def test_ops_are_the_documented_vocabulary():
    assert set(OPS) == {"eq", "ne", "in", "not_in", "lt", "le", "gt", "ge", "present", "absent", "matches"}


# ---- each op on both sides -----------------------------------------------------------------------

@pytest.mark.parametrize("op, value, actual, expected", [
    ("eq", "door", "door", True),
    ("eq", "door", "locker", False),
    ("eq", 5, 5.0, True),
    ("ne", "door", "locker", True),
    ("ne", "door", "door", False),
    ("lt", 25, 24.9, True),
    ("lt", 25, 25, False),
    ("le", 25, 25, True),
    ("le", 25, 25.1, False),
    ("gt", 25, 25.1, True),
    ("gt", 25, 25, False),
    ("ge", 25, 25, True),
    ("ge", 25, 24.9, False),
])
def test_comparison_ops(op, value, actual, expected):
    assert holds({"field": "weight_kg", "op": op, "value": value}, ship(weight_kg=actual)) is expected


@pytest.mark.parametrize("op, value, actual, expected", [
    ("in", ["AT", "HU"], "AT", True),
    ("in", ["AT", "HU"], "PL", False),
    ("not_in", ["AT", "HU"], "PL", True),
    ("not_in", ["AT", "HU"], "HU", False),
    ("in", "AT", "AT", True),          # a single value is a one-element set
    ("not_in", "AT", "AT", False),
])
def test_membership_ops(op, value, actual, expected):
    assert holds({"field": "destination_country", "op": op, "value": value}, ship(destination_country=actual)) is expected


def test_membership_of_a_list_field_means_any_element():
    s = ship(contents_categories=["books", "alcohol"])
    assert holds({"field": "contents_categories", "op": "in", "value": ["alcohol", "tobacco"]}, s)
    assert not holds({"field": "contents_categories", "op": "not_in", "value": ["alcohol", "tobacco"]}, s)
    assert not holds({"field": "contents_categories", "op": "in", "value": ["tobacco"]}, s)
    assert holds({"field": "contents_categories", "op": "not_in", "value": ["tobacco"]}, s)


def test_present_and_absent():
    present = {"field": "recipient_phone", "op": "present"}
    absent = {"field": "recipient_phone", "op": "absent"}
    for s, given in [(ship(recipient_phone="+48512345678"), True), (ship(recipient_phone=""), False), (ship(), False)]:
        assert holds(present, s) is given
        assert holds(absent, s) is not given
    assert not holds({"field": "contents_categories", "op": "present"}, ship(contents_categories=[]))
    assert holds({"field": "contents_categories", "op": "absent"}, ship(contents_categories=[]))
    # zero and False are values, not absences
    assert holds({"field": "cod_amount", "op": "present"}, ship(cod_amount=0))
    assert holds({"field": "pallet", "op": "present"}, ship(pallet=False))


def test_matches_is_a_case_insensitive_search():
    p = {"field": "contents", "op": "matches", "value": r"lithium|li-ion"}
    assert holds(p, ship(contents="Spare LITHIUM battery"))
    assert holds(p, ship(contents="power bank (Li-ion)"))
    assert not holds(p, ship(contents="books"))
    assert not holds(p, ship())


def test_matches_on_a_non_text_value_is_false():
    assert not holds({"field": "weight_kg", "op": "matches", "value": "3"}, ship(weight_kg=3.0))


# ---- missing values (module docstring) -----------------------------------------------------------

@pytest.mark.parametrize("op, value, expected", [
    ("eq", "AT", False),
    ("ne", "AT", True),
    ("in", ["AT", "HU"], False),     # "a parcel without a destination is not 'in [AT, HU]'"
    ("not_in", ["AT", "HU"], True),  # "... and is 'not in [AT, HU]'"
    ("lt", 5, False),
    ("le", 5, False),
    ("gt", 5, False),
    ("ge", 5, False),
    ("present", None, False),
    ("absent", None, True),
    ("matches", ".*", False),
])
def test_missing_value_semantics(op, value, expected):
    p = {"field": "destination_country", "op": op}
    if value is not None:
        p["value"] = value
    assert holds(p, ship()) is expected


def test_a_value_of_the_wrong_type_does_not_compare():
    assert not holds({"field": "weight_kg", "op": "gt", "value": 5}, ship(weight_kg="heavy"))
    assert not holds({"field": "weight_kg", "op": "lt", "value": 5}, ship(weight_kg="heavy"))


def test_dates_compare_with_the_iso_dates_policy_files_hold():
    # policy YAML dates reach the predicate as ISO strings (yamlio turns dates into strings); the manifest
    # reader turns dispatch_at into a date or datetime. `ge 2025-12-01` must hold for a parcel sent on 2 December.
    p = {"field": "dispatch_at", "op": "ge", "value": "2025-12-01"}
    assert holds(p, ship(dispatch_at=dt.date(2025, 12, 2)))
    assert not holds(p, ship(dispatch_at=dt.date(2025, 11, 30)))
    assert holds({"field": "dispatch_at", "op": "lt", "value": "2025-12-01"}, ship(dispatch_at=dt.date(2025, 11, 30)))
    # a date-time against a date compares the day
    assert holds(p, ship(dispatch_at=dt.datetime(2025, 12, 1, 9, 0)))
    assert not holds(p, ship(dispatch_at=dt.datetime(2025, 11, 30, 23, 0)))


@pytest.mark.parametrize("actual", [dt.date(2025, 12, 1), dt.date(2025, 12, 2), dt.datetime(2025, 12, 1, 10, 0)])
def test_eq_and_ne_are_complements_for_dates(actual):
    s = ship(dispatch_at=actual)
    eq = holds({"field": "dispatch_at", "op": "eq", "value": "2025-12-01"}, s)
    ne = holds({"field": "dispatch_at", "op": "ne", "value": "2025-12-01"}, s)
    day = actual.date() if isinstance(actual, dt.datetime) else actual
    assert eq is (day == dt.date(2025, 12, 1))
    assert ne is (not eq)


@pytest.mark.parametrize("actual, value", [("AT", "AT"), ("AT", "PL"), (5.0, 5), (5.5, 5)])
def test_eq_and_ne_are_complements(actual, value):
    s = ship(destination_country=actual)
    eq = holds({"field": "destination_country", "op": "eq", "value": value}, s)
    ne = holds({"field": "destination_country", "op": "ne", "value": value}, s)
    assert eq is (not ne)


# ---- derived measures ----------------------------------------------------------------------------

def test_derived_measures_as_fields():
    s = ship(length_mm=620, width_mm=70, height_mm=300)
    assert holds({"field": "longest_side_mm", "op": "gt", "value": 610}, s)
    assert holds({"field": "shortest_side_mm", "op": "eq", "value": 70}, s)
    assert holds({"field": "middle_side_mm", "op": "eq", "value": 300}, s)
    assert holds({"field": "sum_of_sides_mm", "op": "eq", "value": 990}, s)
    assert not holds({"field": "longest_side_mm", "op": "gt", "value": 610}, ship(length_mm=620))  # sides incomplete


# ---- combinators ---------------------------------------------------------------------------------

AT = {"field": "destination_country", "op": "eq", "value": "AT"}
DOOR = {"field": "delivery_type", "op": "eq", "value": "door"}


@pytest.mark.parametrize("dest, delivery, all_, any_", [
    ("AT", "door", True, True),
    ("AT", "pudo", False, True),
    ("PL", "door", False, True),
    ("PL", "pudo", False, False),
])
def test_all_any(dest, delivery, all_, any_):
    s = ship(destination_country=dest, delivery_type=delivery)
    assert holds({"all": [AT, DOOR]}, s) is all_
    assert holds({"any": [AT, DOOR]}, s) is any_


def test_not_and_nesting():
    assert holds({"not": AT}, ship(destination_country="PL"))
    assert not holds({"not": AT}, ship(destination_country="AT"))
    nested = {"all": [{"any": [AT, {"field": "destination_country", "op": "eq", "value": "HU"}]}, {"not": DOOR}]}
    assert holds(nested, ship(destination_country="HU", delivery_type="locker"))
    assert not holds(nested, ship(destination_country="HU", delivery_type="door"))
    assert not holds(nested, ship(destination_country="PL", delivery_type="locker"))


def test_no_predicate_applies_to_every_shipment():
    assert holds(None, ship())
    assert holds({}, ship())


# ---- currency conversion -------------------------------------------------------------------------

OVER_1000_PLN = {"field": "declared_value", "op": "gt", "value": 1000, "currency": "PLN"}
RATES = EvalEnv(rates=Rates(base="PLN", per_unit={"EUR": 4.3}))


@pytest.mark.parametrize("amount, currency, expected", [
    (300, "EUR", True),    # 1290 PLN
    (200, "EUR", False),   # 860 PLN
    (1001, "PLN", True),
    (1000, "PLN", False),
    (1001, None, True),    # no currency column: the amount is in the predicate's currency
])
def test_currency_is_converted_with_rates(amount, currency, expected):
    values = {"declared_value": amount}
    if currency:
        values["value_currency"] = currency
    assert holds(OVER_1000_PLN, ship(**values), RATES) is expected


def test_currency_rates_with_another_base():
    env = EvalEnv(rates=Rates(base="EUR", per_unit={"PLN": 0.25}))
    p = {"field": "cod_amount", "op": "le", "value": 100, "currency": "EUR"}
    assert holds(p, ship(cod_amount=400, cod_currency="PLN"), env)       # 100 EUR
    assert not holds(p, ship(cod_amount=404, cod_currency="PLN"), env)   # 101 EUR


def test_currency_without_a_rate_raises_missing_rate():
    with pytest.raises(MissingRate) as exc:
        holds(OVER_1000_PLN, ship(declared_value=10, value_currency="USD"), RATES)
    assert (exc.value.source, exc.value.target) == ("USD", "PLN")


def test_currency_missing_amount_is_just_missing():
    assert not holds(OVER_1000_PLN, ship(value_currency="USD"), RATES)


def test_ne_with_currency_compares_the_converted_amount():
    p = {"field": "declared_value", "op": "ne", "value": 400, "currency": "PLN"}
    env = EvalEnv(rates=Rates(base="PLN", per_unit={"EUR": 4.0}))
    assert not holds(p, ship(declared_value=100, value_currency="EUR"), env)
    assert holds(p, ship(declared_value=101, value_currency="EUR"), env)


# ---- describe ------------------------------------------------------------------------------------

@pytest.mark.parametrize("p, text", [
    (None, "every shipment"),
    ({"field": "destination_country", "op": "in", "value": ["AT", "HU"]}, "destination_country is one of AT, HU"),
    ({"field": "destination_country", "op": "not_in", "value": ["AT"]}, "destination_country is not one of AT"),
    ({"field": "delivery_type", "op": "eq", "value": "door"}, "delivery_type is door"),
    ({"field": "delivery_type", "op": "ne", "value": "door"}, "delivery_type is not door"),
    ({"field": "weight_kg", "op": "lt", "value": 5}, "weight_kg is below 5"),
    ({"field": "weight_kg", "op": "le", "value": 5}, "weight_kg is at most 5"),
    ({"field": "weight_kg", "op": "gt", "value": 5}, "weight_kg is above 5"),
    ({"field": "weight_kg", "op": "ge", "value": 5}, "weight_kg is at least 5"),
    ({"field": "recipient_phone", "op": "present"}, "recipient_phone is given"),
    ({"field": "recipient_phone", "op": "absent"}, "recipient_phone is not given"),
    ({"field": "contents", "op": "matches", "value": "gun"}, "contents matches gun"),
    (OVER_1000_PLN, "declared_value is above 1000 PLN"),
    ({"not": AT}, "not (destination_country is AT)"),
    ({"all": [AT, DOOR]}, "destination_country is AT and delivery_type is door"),
    ({"any": [AT, DOOR]}, "destination_country is AT or delivery_type is door"),
])
def test_describe(p, text):
    assert describe(p) == text


def test_describe_parenthesises_nested_groups():
    text = describe({"all": [{"any": [AT, DOOR]}, {"field": "weight_kg", "op": "gt", "value": 5}]})
    assert text == "(destination_country is AT or delivery_type is door) and weight_kg is above 5"
