"""Safe YAML loading that remembers where every value came from.

Policy authors need `file:line:column` for every problem, and JSON Schema reports a
JSON pointer; keeping a pointer -> source mark map lets us translate one into the other
without guessing. Aliases are refused: policy files never need them and an alias bomb
would make every later pass over the data explode.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import yaml

# PyYAML itself is imported at the first parse, not with this module: a check whose policies come from the cache
# (loader.load_policies_cached) parses no YAML, and the import was 17-22 ms of every start (2026-11-22).


@dataclass(frozen=True)
class Mark:
    """A 1-based position in a source file."""

    path: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


class YamlError(Exception):
    """A YAML document that cannot be turned into data; carries the position of the fault."""

    def __init__(self, mark: Mark, message: str) -> None:
        super().__init__(f"{mark}: {message}")
        self.mark = mark
        self.message = message


@dataclass
class LoadedYaml:
    """Parsed data plus the source mark of every JSON pointer in it."""

    path: str
    data: Any
    marks: dict[str, Mark] = field(default_factory=dict)

    def mark_for(self, pointer: str) -> Mark:
        """The mark of the deepest existing ancestor of `pointer` (a missing key points at its parent)."""
        p = pointer
        while p not in self.marks and p:
            p = p.rsplit("/", 1)[0]
        return self.marks.get(p, Mark(self.path, 1, 1))


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _plain(value: Any) -> Any:
    """Dates become ISO strings so that JSON Schema and JSON output see one type for them."""
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, str) else k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _collect_marks(node: yaml.Node, pointer: str, path: str, marks: dict[str, Mark]) -> None:
    import yaml

    marks[pointer] = Mark(path, node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                raise YamlError(Mark(path, key_node.start_mark.line + 1, key_node.start_mark.column + 1),
                                f"duplicate key '{key}' (the earlier value would be silently lost)")
            seen.add(key)
            _collect_marks(value_node, f"{pointer}/{_escape(key)}", path, marks)
            # A misspelt key is best shown at the key itself.
            marks[f"{pointer}/{_escape(key)}#key"] = Mark(path, key_node.start_mark.line + 1, key_node.start_mark.column + 1)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _collect_marks(item, f"{pointer}/{i}", path, marks)


MAX_DEPTH = 200


@lru_cache(maxsize=1)
def _loader_class() -> Any:
    """The SafeLoader subclass below, built at the first parse (see the import note above)."""
    import yaml

    class _NoAliasLoader(yaml.SafeLoader):
        """SafeLoader that rejects anchors/aliases (no legitimate use in our files, and unbounded expansion),
        bounds nesting (a deep document would exhaust the stack) and keeps huge integers as text."""

        _depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise yaml.MarkedYAMLError(None, None, "aliases (*name) are not allowed in these files", event.start_mark)
            self._depth += 1
            try:
                if self._depth > MAX_DEPTH:
                    event = self.peek_event()
                    raise yaml.MarkedYAMLError(None, None, f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1

        def construct_yaml_int(self, node: yaml.ScalarNode) -> Any:  # type: ignore[override]
            text = str(node.value).replace("_", "")
            if len(text) > 4000:
                return node.value  # beyond Python's int conversion limit: text, which the schema then rejects by type
            return super().construct_yaml_int(node)

    _NoAliasLoader.add_constructor("tag:yaml.org,2002:int", _NoAliasLoader.construct_yaml_int)
    return _NoAliasLoader


def _mark_of(path: str, exc: yaml.YAMLError) -> Mark:
    problem_mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if problem_mark is None:
        return Mark(path, 1, 1)
    return Mark(path, problem_mark.line + 1, problem_mark.column + 1)


def load_yaml_text(text: str, path: str) -> LoadedYaml:
    """Parse one YAML document from text; raise YamlError with a position on any fault."""
    import yaml

    loader = _loader_class()(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return LoadedYaml(path, None, {"": Mark(path, 1, 1)})
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlError(_mark_of(path, exc), f"YAML syntax: {problem}") from None
    except RecursionError:
        raise YamlError(Mark(path, 1, 1), "the document is nested too deeply") from None
    except ValueError as exc:  # e.g. an integer beyond Python's digit limit
        raise YamlError(Mark(path, 1, 1), f"unusable value ({exc})") from None
    finally:
        loader.dispose()
    marks: dict[str, Mark] = {}
    try:
        _collect_marks(node, "", path, marks)
        plain = _plain(data)
    except RecursionError:
        raise YamlError(Mark(path, 1, 1), "the document is nested too deeply") from None
    return LoadedYaml(path, plain, marks)


def load_yaml_file(path: Path, display: str | None = None) -> LoadedYaml:
    """Read and parse a YAML file; an unreadable or undecodable file is a YamlError at 1:1."""
    shown = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise YamlError(Mark(shown, 1, 1), f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise YamlError(Mark(shown, 1, 1), f"cannot read file: {exc.strerror or exc}") from None
    return load_yaml_text(text, shown)
