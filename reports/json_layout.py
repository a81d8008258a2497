"""A JSON document indented as json.dumps(indent=2) lays it out, with one array written by the caller instead.

Why: json's indenting encoder is pure Python, ~100 µs an item, where its compact one is C; a SARIF log's results and
a diff's impact shipments run to 100 k items and more, so their writers lay out that array themselves, one compact
item a line (reports/ci.py, reports/diff_render.py), and take the rest of the document from here.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

# Stands for the caller's array while the rest of the document is laid out; random, so no text of a policy or a
# manifest in the document can be taken for it.
PLACEHOLDER = f"\x00array-{secrets.token_hex(16)}\x00"


def around(doc: dict[str, Any]) -> tuple[str, str]:
    """`doc` (with PLACEHOLDER where the array goes) indented: the text before the array and the text after it."""
    before, after = json.dumps(doc, ensure_ascii=False, indent=2).split(json.dumps(PLACEHOLDER), 1)
    return before, after
