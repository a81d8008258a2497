"""The closed vocabulary of rule kinds. Adding a kind = adding one module here and to KINDS."""

from __future__ import annotations

from types import ModuleType

from . import allowed, dimensions, format, limit, prohibited_contents, refuse, required, requires, route, window

KINDS: dict[str, ModuleType] = {m.NAME: m for m in (required, limit, dimensions, allowed, format,
                                                      prohibited_contents, requires, window, route, refuse)}
