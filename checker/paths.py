"""Where the project's data lives; overridable so that a policy repository can live elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def policies_dir() -> Path:
    """The policy tree: $CHECKER_POLICIES or the repository's policies/."""
    return Path(os.environ.get("CHECKER_POLICIES") or ROOT / "policies")


def schema_dir() -> Path:
    return ROOT / "schema"


def seeds_dir() -> Path:
    """Source documents the quotes are checked against: $CHECKER_SEEDS or ../shared/seeds beside the checkout."""
    return Path(os.environ.get("CHECKER_SEEDS") or ROOT.parent / "shared" / "seeds")
