"""Deterministic generator of realistic manifests for benchmarks and differential tests.

Valid parcels across every lane, country and delivery type, plus a controlled share of
every kind of violation (size, weight, lane, delivery type, shape, declared size, bad
cells, duplicates). The same seed gives the same file, byte for byte.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

COLUMNS = [
    "shipment_id", "service", "dispatch_at", "origin_country", "destination_country", "delivery_type", "dropoff_type",
    "length_mm", "width_mm", "height_mm", "weight_kg", "shape", "size_category", "declared_value", "value_currency",
    "cod_amount", "cod_currency", "insurance_amount", "insurance_currency", "contents", "contents_categories",
    "recipient_name", "recipient_phone", "recipient_email", "recipient_street", "recipient_building", "recipient_city",
    "recipient_postcode", "target_point", "sender_name", "sender_phone", "sender_email", "sender_is_consumer",
]
LANES = {"PL": ["IT", "FR", "ES", "PT", "BE", "LU", "NL", "AT", "HU"], "IT": ["PL", "FR", "ES", "PT", "BE", "LU", "NL"],
         "FR": ["PL", "IT"], "ES": ["PL", "IT"], "PT": ["PL", "IT"], "BE": ["PL", "IT"], "LU": ["PL", "IT"], "NL": ["PL", "IT"]}
CITIES = {"PL": ("Kraków", "31-042", "+48 512 345 678"), "IT": ("Milano", "20121", "+39 312 345 6789"),
          "FR": ("Lyon", "69003", "+33 6 12 34 56 78"), "ES": ("Madrid", "28013", "+34 612 345 678"),
          "PT": ("Lisboa", "1100-148", "+351 912 345 678"), "BE": ("Gent", "9000", "+32 470 12 34 56"),
          "LU": ("Luxembourg", "L-1150", "+352 621 123 456"), "NL": ("Utrecht", "3511 AB", "+31 6 12345678"),
          "AT": ("Wien", "1010", "+43 664 1234567"), "HU": ("Budapest", "1051", "+36 20 123 4567"),
          "DE": ("Berlin", "10115", "+49 151 23456789")}
GOODS = ["Książki", "Odzież dziecięca", "Ekspres do kawy", "Zabawki drewniane", "Pościel bawełniana", "Buty trekkingowe",
         "Herbata liściasta", "Kubek ceramiczny", "Garnki nierdzewne", "Etui na telefon", "Koszulka bawełniana", "Lampa biurkowa"]
MODELS = ["mini", "maxi", "classic", "eco", "premium", "zestaw", "XL", "S", "M", "L"]
VIOLATIONS = ["too_long", "too_heavy", "lane", "door_not_offered", "shape", "declared", "bad_number", "bad_country", "duplicate",
              "hu_point", "bad_phone"]


def _phone(template: str, rnd: random.Random) -> str:
    """A distinct number in the template's mobile range: its last four digits drawn, its separators varied."""
    chars, tail = list(template), f"{rnd.randrange(10_000):04d}"
    at = [k for k, c in enumerate(chars) if c.isdigit()][-4:]  # the last four digits
    for k, d in zip(at, tail):
        chars[k] = d
    number, style = "".join(chars), rnd.random()
    if style < 0.3:
        return number.replace(" ", "")
    if style < 0.4:
        return number.replace(" ", "-")
    return number


def _postcode(template: str, rnd: random.Random) -> str:
    """A postcode of the template's shape, every digit drawn (Luxembourg's "L-" and Dutch letters kept)."""
    return "".join(str(rnd.randrange(10)) if c.isdigit() else c for c in template)


def _fmt(x: float, decimal_comma: bool) -> str:
    text = f"{x:.1f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") if decimal_comma else text


def row(i: int, rnd: random.Random, violation_share: float, decimal_comma: bool) -> list[str]:
    origin = rnd.choice(["PL"] * 6 + list(LANES))
    dest = rnd.choice(LANES[origin])
    delivery = "door" if dest in ("AT", "HU") and rnd.random() < 0.5 else rnd.choice(["locker", "pudo"])
    if dest == "HU":
        delivery = "door"
    h = rnd.choice([rnd.uniform(25, 80), rnd.uniform(85, 185), rnd.uniform(195, 360)])
    w, l = rnd.uniform(100, 370), rnd.uniform(150, 600)
    size = "A" if h <= 80 else "B" if h <= 190 else "C"
    weight = rnd.uniform(0.2, 11.5)
    shape = rnd.choice(["box"] * 8 + ["foil_bag", "envelope"])
    sid = f"S{i:08d}"
    values = {"length": l, "width": w, "height": h, "weight": weight}
    cells_override: dict[str, str] = {}
    if rnd.random() < violation_share:
        v = VIOLATIONS[i % len(VIOLATIONS)]
        if v == "too_long":
            values["length"] = 655.0
        elif v == "too_heavy":
            values["weight"] = 31.0
        elif v == "lane":
            origin, dest = ("FR", "ES") if rnd.random() < 0.5 else ("PL", "DE")
        elif v == "door_not_offered":
            dest, origin, delivery = "FR", "PL", "door"
        elif v == "shape":
            shape = "tube"
        elif v == "declared":
            size = "A" if size != "A" else "C"
        elif v == "bad_number":
            cells_override["weight_kg"] = "ok. 2"
        elif v == "bad_country":
            cells_override["destination_country"] = "XX"
        elif v == "duplicate":
            sid = f"S{max(i - 1, 0):08d}"
        elif v == "bad_phone":
            cells_override["bad_phone"] = "1"
        elif v == "hu_point":
            origin, dest, delivery = "PL", "HU", "pudo"
    city, postcode, phone = CITIES.get(dest, CITIES["PL"])
    phone, postcode = _phone(phone, rnd), _postcode(postcode, rnd)
    if cells_override.pop("bad_phone", None):
        phone = phone[:-2]  # two digits lost: too short for the country
    day = 1 + i % 28
    cells = {
        "shipment_id": sid, "service": "inpost-international", "dispatch_at": f"2025-12-{day:02d}T{8 + i % 10:02d}:{i % 60:02d}",
        "origin_country": origin, "destination_country": dest, "delivery_type": delivery, "dropoff_type": rnd.choice(["locker", "pudo"]),
        "length_mm": _fmt(values["length"], decimal_comma), "width_mm": _fmt(values["width"], decimal_comma),
        "height_mm": _fmt(values["height"], decimal_comma), "weight_kg": _fmt(values["weight"], decimal_comma),
        "shape": shape, "size_category": size if delivery != "door" else "",
        "declared_value": _fmt(rnd.uniform(5, 140), decimal_comma), "value_currency": "EUR",
        "cod_amount": "", "cod_currency": "", "insurance_amount": "", "insurance_currency": "",
        "contents": f"{rnd.choice(GOODS)} {rnd.choice(MODELS)} {rnd.randrange(1, 400)}", "contents_categories": "",
        "recipient_name": f"Odbiorca {i}", "recipient_phone": phone, "recipient_email": f"r{i}@example.com",
        "recipient_street": "ul. Długa", "recipient_building": str(1 + i % 120), "recipient_city": city,
        "recipient_postcode": postcode, "target_point": f"{dest}{i % 99999:05d}" if delivery != "door" else "",
        "sender_name": "Sklep Przykładowy sp. z o.o.", "sender_phone": _phone(CITIES[origin][2], rnd), "sender_email": "sklep@example.pl",
        "sender_is_consumer": "false",
    }
    cells.update(cells_override)
    return [cells[c] for c in COLUMNS]


def generate(path: Path, rows: int, seed: int = 20251120, violation_share: float = 0.05, delimiter: str = ";") -> Path:
    rnd = random.Random(seed)
    decimal_comma = delimiter == ";"
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(delimiter.join(COLUMNS) + "\n")
        for i in range(rows):
            fh.write(delimiter.join(row(i, rnd, violation_share, decimal_comma)) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("output")
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=20251120)
    ap.add_argument("--violations", type=float, default=0.05, help="share of rows with a deliberate violation")
    ap.add_argument("--delimiter", default=";")
    args = ap.parse_args(argv)
    generate(Path(args.output), args.rows, args.seed, args.violations, args.delimiter)
    return 0


if __name__ == "__main__":
    sys.exit(main())
