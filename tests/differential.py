"""What the differential tests share (tests/test_fastpath.py, tests/test_json_array.py): both engines on one
manifest, the comparison of their reports, and the random rows and odd values they are fed."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from checker.loader import load_policies_or_fail
from checker.paths import policies_dir
from checker.run import check_manifest

POLICIES = load_policies_or_fail(policies_dir())
COLUMNS = ["shipment_id", "service", "dispatch_at", "origin_country", "destination_country", "delivery_type", "dropoff_type",
           "length_mm", "width_mm", "height_mm", "weight_kg", "shape", "size_category", "declared_value", "value_currency",
           "cod_amount", "insurance_amount", "contents", "contents_categories", "recipient_name", "recipient_phone",
           "recipient_email", "recipient_street", "recipient_building", "recipient_city", "recipient_postcode", "target_point",
           "sender_name", "sender_phone", "sender_email", "sender_is_consumer"]


def finding_key(f: dict[str, Any]) -> tuple[Any, ...]:
    return (f["row"], f["shipment_id"], f["rule_id"], (f.get("clause") or {}).get("id"), f["severity"], f.get("field"),
            json.dumps(f.get("actual"), ensure_ascii=False), f.get("expected"), f["message"], f.get("layer"))


def both_engines(path: Path, **kw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    fast = check_manifest(str(path), POLICIES, engine_mode="columnar", **kw).report
    slow = check_manifest(str(path), POLICIES, engine_mode="rowwise", **kw).report
    return fast, slow


def assert_same(fast: dict[str, Any], slow: dict[str, Any]) -> None:
    assert fast["manifest"]["dialect"].get("engine") == "columnar", "the fast path was not taken"
    # The manifest block too (rows, dialect and its note, warnings), apart from which engine read the file.
    assert {**fast["manifest"], "dialect": {k: v for k, v in fast["manifest"]["dialect"].items() if k != "engine"}} == slow["manifest"]
    assert fast["summary"] == slow["summary"]
    # In order: the report lists findings by row, and within a row in the row-wise engine's order (input problems
    # first, then the rules in policy order).
    assert list(map(finding_key, fast["findings"])) == list(map(finding_key, slow["findings"]))
    assert fast["shipments"] == slow["shipments"]


def write_csv(path: Path, rows: list[dict[str, Any]], delimiter: str = ",") -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, delimiter=delimiter, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: _cell(v) for k, v in r.items()})
    return path


def _cell(v: Any) -> str:
    if isinstance(v, list):
        return ";".join(map(str, v))
    if isinstance(v, bool):
        return "true" if v else "false"
    return "" if v is None else str(v)


# ---- hypothesis: random manifests around the limits ------------------------------------------------
countries = st.sampled_from(["PL", "IT", "FR", "ES", "PT", "BE", "LU", "NL", "AT", "HU", "DE", "XX", "", "pl"])
sides = st.one_of(st.sampled_from(["640.4", "640.5", "610", "611", "80", "81", "190", "191", "21", "20.5", "0", "-5", "abc", "", "1e3"]),
                  st.floats(min_value=1, max_value=1200, allow_nan=False).map(lambda x: f"{x:.1f}"),
                  st.floats(min_value=0.01, max_value=700, allow_nan=False).map(repr))
weights = st.one_of(st.sampled_from(["25", "25.1", "12", "12.5", "30", "31", "ok", "", "nan", "inf"]),
                    st.floats(min_value=0.1, max_value=40, allow_nan=False).map(lambda x: f"{x:.2f}"))
phones = st.sampled_from(["+48 512 345 678", "+33 6 12 34 56 78", "+39 312 345 6789", "+43 664 1234567", "+36 20 123 4567",
                          "+34 612 345 678", "+351 912 345 678", "+32 470 12 34 56", "+31 6 12345678", "+352 621 123 456",
                          "+48 12 345 67 89", "512345678", "+49 151 23456789", "123", "", "+39 06 698 12345"])
dates = st.sampled_from(["2025-12-01", "2025-12-01T10:00", "2025-11-19", "2025-03-10", "2024-01-15", "2022-06-04T10:00",
                         "2022-06-04T18:30", "2022-06-05", "", "2025-13-40", "2025-12-01T10:00+01:00", "yesterday",
                         # either side of midnight where a version or a maintenance window begins or ends (the fast
                         # path compares date-times with those midnights: columnar._in_force)
                         "2025-11-19T23:59:59", "2025-11-20T00:00", "2022-06-03T23:59", "2022-06-04", "2022-06-05T23:59:59",
                         "2022-06-06T00:00:00"])
row_st = st.fixed_dictionaries({
    "service": st.sampled_from(["", "", "", "inpost-international", "inpost-cross-border", "e-paczka", "unknown-service"]),
    "dispatch_at": dates,
    "origin_country": countries, "destination_country": countries,
    "delivery_type": st.sampled_from(["locker", "pudo", "door", "", "Paczkomat"]),
    "dropoff_type": st.sampled_from(["locker", "pudo", "courier_pickup", "branch", ""]),
    "length_mm": sides, "width_mm": sides, "height_mm": sides, "weight_kg": weights,
    "shape": st.sampled_from(["box", "foil_bag", "envelope", "tube", "irregular", ""]),
    "size_category": st.sampled_from(["A", "B", "C", "D", "", "a"]),
    "declared_value": st.sampled_from(["", "100", "150", "150.01", "200", "5000", "6000", "100001", "-1"]),
    "value_currency": st.sampled_from(["EUR", "PLN", "USD", ""]),
    "cod_amount": st.sampled_from(["", "0", "50"]),
    "insurance_amount": st.sampled_from(["", "0", "500"]),
    "contents": st.sampled_from(["Książki", "Perfumy", "Bateria litowa do laptopa", "Wino czerwone", "Begun cotton shirts", "",
                                 "Amunicja", "Pistolet na klej", "<script>x</script>", "Akumulator Li ion 12V", "li-ion pack",
                                 "LI/PO battery", "Fajerwerki", "Ręcznie robione ŚWIECE"]),
    "contents_categories": st.sampled_from(["", "alcohol", "weapons;ammunition", "cash", "unknown"]),
    "recipient_name": st.sampled_from(["Anna", "", "Żaneta Hotel Ñandú", "Campingplatz"]), "recipient_phone": phones, "recipient_email": st.sampled_from(["a@b.pl", "nope", ""]),
    "recipient_street": st.sampled_from(["ul. Długa", "P.O. Box 12", "APO AE 09012", "Hôtel de Ville", "Hotel Ritz", "",
                                         "Hôtel Régina", "Camping Łąki 3", "Rue de l'Hôtelier 5", "Apartado 123"]),
    "recipient_building": st.sampled_from(["5", ""]), "recipient_city": st.sampled_from(["Wien", "Kraków", ""]),
    "recipient_postcode": st.sampled_from(["1010", "31-042", "69003", "9000-123", "12", ""]),
    "target_point": st.sampled_from(["AT1", ""]), "sender_name": st.sampled_from(["Sklep", ""]),
    "sender_phone": phones, "sender_email": st.sampled_from(["s@x.pl", ""]),
    "sender_is_consumer": st.sampled_from(["true", "false", "", "maybe"]),
})


def policy_test_dirs() -> list[tuple[str, str, Path]]:
    out = []
    for fam in POLICIES.families.values():
        for v in fam.versions:
            if (Path(v.path) / "tests").is_dir():
                out.append((fam.id, v.id, Path(v.path) / "tests"))
    return out


def typed(text: str, as_type: str) -> Any:
    """A CSV cell of row_st as a JSON value of another type, where it reads as one."""
    try:
        if as_type == "int":
            return int(float(text))
        if as_type == "float":
            return float(text)
    except (ValueError, OverflowError):  # "abc", "inf" as an int
        return text
    if as_type == "bool":
        return {"true": True, "false": False}.get(text, text)
    if as_type == "list":
        return [t for t in text.split(";")] if text else []
    return text


ODD_VALUES = st.sampled_from([None, "", "  ", 0, 1, -1.5, 1e-7, 1e13, True, False, [], [""], ["alcohol"], ["a;b"],
                               ["cash", 5], {"x": 1}, [["x"]], "NaN", 10**30, 2.0, "1,5", " 12 ", "x\x1fy"])
