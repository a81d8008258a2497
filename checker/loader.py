"""Load the policy tree, validate every file against its JSON Schema, then check the semantics.

Every problem is reported as `file:line:column: message (at /json/pointer)` using the YAML
node marks, and all problems are collected before giving up, so an author fixes a file in
one pass rather than one error per run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .categories import Categories
from .errors import PolicyLoadError
from .kinds import KINDS
from .model import Clause, CountryLayer, Family, PolicySet, Rule, Version
from .paths import schema_dir, seeds_dir
from .yamlio import LoadedYaml, Mark, YamlError, load_yaml_file

if TYPE_CHECKING:  # imported where validation runs: a check served from the policy cache never needs them (~70 ms)
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError
    from referencing import Registry


@dataclass(frozen=True)
class Problem:
    mark: Mark
    message: str
    pointer: str = ""

    def __str__(self) -> str:
        where = f" (at {self.pointer or '/'})" if self.pointer is not None and self.pointer != "" else ""
        return f"{self.mark}: {self.message}{where}"


@lru_cache(maxsize=1)
def _registry() -> Registry:
    from referencing import Registry, Resource

    resources = []
    for path in sorted(schema_dir().glob("*.schema.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        resources.append((doc["$id"], Resource.from_contents(doc)))
    return Registry().with_resources(resources)


@lru_cache(maxsize=None)
def validator(schema_file: str) -> Draft202012Validator:
    """One validator per schema, built once (never per file or per rule)."""
    from jsonschema import Draft202012Validator

    doc = json.loads((schema_dir() / schema_file).read_text(encoding="utf-8"))
    return Draft202012Validator(doc, registry=_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def _pointer(path: Any) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _leaf(error: ValidationError) -> ValidationError:
    """The most specific error inside oneOf/anyOf/if-then, so the message names the real fault."""
    from jsonschema.exceptions import best_match

    while error.context:
        error = best_match(error.context)
    return error


def schema_problems(doc: LoadedYaml, schema_file: str) -> list[Problem]:
    out: list[Problem] = []
    for err in validator(schema_file).iter_errors(doc.data):
        leaf = _leaf(err)
        pointer = _pointer(leaf.absolute_path)
        message = leaf.message
        mark = doc.mark_for(pointer)
        if leaf.validator == "additionalProperties" and isinstance(leaf.instance, dict):
            allowed = set(leaf.schema.get("properties", {}))
            extra = [k for k in leaf.instance if k not in allowed]
            for key in extra:
                key_pointer = f"{pointer}/{key}"
                out.append(Problem(doc.marks.get(key_pointer + "#key", mark), f"unknown key '{key}'"
                                   + _suggest(key, allowed), key_pointer))
            if extra:
                continue
        message = _reason(leaf)
        out.append(Problem(mark, f"{message} [schema: {'/'.join(map(str, leaf.absolute_schema_path))}]", pointer))
    return out


_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number", type(None): "null"}


def _reason(err: ValidationError) -> str:
    """A one-line reason that names the expectation, not a dump of the offending value."""
    shown = repr(err.instance)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    if err.validator == "type":
        return f"wrong type: expected {err.validator_value}, found {_JSON_TYPES.get(type(err.instance), type(err.instance).__name__)}"
    if err.validator == "enum":
        return f"{shown} is not one of {', '.join(map(str, err.validator_value))}"
    if err.validator == "required":
        return err.message
    if err.validator == "pattern":
        return f"{shown} does not match the pattern {err.validator_value}"
    message = err.message
    return message if len(message) <= 160 else message[:157] + "..."


def _suggest(key: str, allowed: set[str]) -> str:
    import difflib

    close = difflib.get_close_matches(key, sorted(allowed), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def _walk(obj: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """(pointer-ish path, leaf value) pairs of a rule, for checks no JSON Schema can express."""
    out: list[tuple[str, Any]] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _walk(v, f"{prefix}/{k}" if prefix else str(k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _walk(v, f"{prefix}/{i}")
    else:
        out.append((prefix, obj))
    return out


def _is_matches(raw: dict[str, Any], key: str) -> bool:
    node: Any = raw
    for part in key.split("/")[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return isinstance(node, dict) and node.get("op") == "matches"


def _rule_marks(doc: LoadedYaml, ptr: str, rule: dict[str, Any]) -> dict[str, Mark]:
    marks = {k: doc.mark_for(f"{ptr}/{k}") for k in rule}
    for i, _ in enumerate(rule.get("also_cites", [])):
        marks[f"also_cites/{i}"] = doc.mark_for(f"{ptr}/also_cites/{i}")
    return marks


def _date(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) else None


class _Loader:
    def __init__(self, root: Path, verify_sources: bool = True) -> None:
        self.root = root
        self.verify_sources = verify_sources
        self.problems: list[Problem] = []

    def read(self, path: Path, schema_file: str) -> LoadedYaml | None:
        if not path.resolve().is_relative_to(self.root.resolve()):
            self.problem(Mark(_display(path), 1, 1), f"refusing {path.name}: it leads outside the policy folder (a symlink?)")
            return None
        try:
            doc = load_yaml_file(path, _display(path))
        except YamlError as exc:
            self.problems.append(Problem(exc.mark, exc.message))
            return None
        if doc.data is None:
            self.problems.append(Problem(Mark(doc.path, 1, 1), "the file is empty"))
            return None
        found = schema_problems(doc, schema_file)
        self.problems.extend(found)
        return None if found else doc

    def problem(self, mark: Mark, message: str, pointer: str = "") -> None:
        self.problems.append(Problem(mark, message, pointer))

    def load(self) -> PolicySet:
        if not self.root.is_dir():
            self.problem(Mark(_display(self.root), 1, 1), "policy folder not found")
            return PolicySet({}, Categories(), str(self.root))
        categories = Categories()
        cat_path = self.root / "categories.yaml"
        if cat_path.exists():
            doc = self.read(cat_path, "categories.schema.json")
            if doc:
                categories = Categories.from_data(doc.data)
        families: dict[str, Family] = {}
        for fam_dir in sorted(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            fam = self.load_family(fam_dir, categories)
            if fam:
                families[fam.id] = fam
        for fam in families.values():
            for target in fam.overlay_for:
                if target not in families:
                    self.problem(Mark(_display(Path(fam.path) / "family.yaml"), 1, 1), f"overlay_for names unknown family '{target}'")
        return PolicySet(families, categories, str(self.root))

    def load_family(self, fam_dir: Path, categories: Categories) -> Family | None:
        fdoc = self.read(fam_dir / "family.yaml", "family.schema.json") if (fam_dir / "family.yaml").exists() else None
        if fdoc is None:
            if not (fam_dir / "family.yaml").exists():
                self.problem(Mark(_display(fam_dir), 1, 1), "a policy family folder needs a family.yaml")
            return None
        meta = fdoc.data
        if meta["id"] != fam_dir.name:
            self.problem(fdoc.mark_for("/id"), f"family id '{meta['id']}' differs from its folder name '{fam_dir.name}'", "/id")
        versions = []
        for vdir in sorted(p for p in fam_dir.iterdir() if p.is_dir()):
            v = self.load_version(meta["id"], vdir, categories)
            if v:
                versions.append(v)
        fam = Family(meta["id"], meta["title"], meta["operator"], meta.get("jurisdiction", ""), meta["timezone"],
                     meta.get("overlay_for", []), meta.get("description", ""), versions, str(fam_dir))
        self.check_timeline(fam, fdoc)
        return fam

    def check_timeline(self, fam: Family, fdoc: LoadedYaml) -> None:
        dated = fam.dated()
        def at(v: Version, key: str) -> Mark:
            return v.marks.get(key) or Mark(_display(Path(v.path) / "policy.yaml"), 1, 1)

        for a, b in zip(dated, dated[1:]):
            if a.effective_from == b.effective_from:
                self.problem(at(b, "effective_from"), f"versions {a.id} and {b.id} take effect on the same day", "/effective_from")
            elif a.effective_until and b.effective_from and a.effective_until >= b.effective_from:
                self.problem(at(a, "effective_until"),
                             f"version {a.id} (until {a.effective_until}) overlaps {b.id} (from {b.effective_from})", "/effective_until")
        ids = {v.id: v for v in fam.versions}
        for v in fam.versions:
            if v.supersedes is None:
                continue
            prev = ids.get(v.supersedes)
            where = at(v, "supersedes")
            if prev is None:
                self.problem(where, f"supersedes unknown version '{v.supersedes}'", "/supersedes")
            elif prev.effective_from and v.effective_from and prev.effective_from >= v.effective_from:
                self.problem(where, f"supersedes {prev.id}, which does not take effect earlier", "/supersedes")
        for a, b in zip(dated, dated[1:]):
            if b.supersedes not in (None, a.id):
                self.problem(at(b, "supersedes"),
                             f"supersedes {b.supersedes}, but the version before it is {a.id}", "/supersedes")

    def load_version(self, family: str, vdir: Path, categories: Categories) -> Version | None:
        main = vdir / "policy.yaml"
        if not main.exists():
            self.problem(Mark(_display(vdir), 1, 1), "a version folder needs a policy.yaml")
            return None
        docs = []
        for path in [main] + sorted(p for p in vdir.glob("*.yaml") if p.name != "policy.yaml"):
            doc = self.read(path, "policy.schema.json")
            if doc is None:
                return None
            docs.append(doc)
        head = docs[0].data
        if "version" not in head:
            self.problem(docs[0].mark_for(""), "policy.yaml must state version, status, effective_from and sources")
            return None
        if head["version"] != vdir.name:
            self.problem(docs[0].mark_for("/version"), f"version '{head['version']}' differs from its folder name '{vdir.name}'", "/version")
        for doc in docs[1:]:
            for key in ("version", "status", "effective_from", "sources"):
                if key in doc.data:
                    self.problem(doc.mark_for("/" + key), f"'{key}' belongs in policy.yaml, not in an annex file", "/" + key)
        default_source = head["sources"][0]
        clauses: dict[str, Clause] = {}
        rules: list[Rule] = []
        tables: dict[str, Any] = {}
        for doc in docs:
            self.collect(doc, "", doc.data, default_source, clauses, rules, tables)
        layers = []
        for path in sorted((vdir / "countries").glob("*.yaml")) if (vdir / "countries").is_dir() else []:
            ly = self.load_layer(path, default_source, clauses, rules)
            if ly:
                layers.append(ly)
        files = [d.path for d in docs] + [ly.file for ly in layers]
        digest = hashlib.sha256()
        for f in sorted(files):
            digest.update(Path(f).name.encode() + b"\0" + Path(f).read_bytes())
        version = Version(family, vdir.name, head["status"], _date(head.get("effective_from")), _date(head.get("effective_until")),
                          head.get("supersedes"), {k: v for k, v in head.items() if k not in ("clauses", "rules", "tables")},
                          clauses, rules, layers, tables, str(vdir), digest.hexdigest(), files,
                          {k: docs[0].mark_for("/" + k) for k in head})
        self.check_references(version, docs, categories)
        if self.verify_sources:
            self.check_sources(version, docs[0])
        return version

    def collect(self, doc: LoadedYaml, base: str, data: dict[str, Any], default_source: dict[str, Any],
                clauses: dict[str, Clause], rules: list[Rule], tables: dict[str, Any]) -> None:
        for i, c in enumerate(data.get("clauses", [])):
            ptr = f"{base}/clauses/{i}"
            if c["id"] in clauses:
                self.problem(doc.mark_for(ptr + "/id"), f"clause '{c['id']}' is defined twice", ptr + "/id")
                continue
            clauses[c["id"]] = Clause(c["id"], c["title"], c["quote"], c.get("language", default_source["language"]),
                                      c.get("source", default_source["file"]), c.get("summary_en", ""), c.get("checkable", True),
                                      c.get("renumbered_from"), c.get("other_quotes", []), c.get("data", {}), doc.mark_for(ptr))
        seen = {r.id for r in rules}
        for i, r in enumerate(data.get("rules", [])):
            ptr = f"{base}/rules/{i}"
            if r["id"] in seen:
                self.problem(doc.mark_for(ptr + "/id"), f"rule id '{r['id']}' is used twice in this version", ptr + "/id")
                continue
            seen.add(r["id"])
            rules.append(Rule(r, doc.mark_for(ptr), marks=_rule_marks(doc, ptr, r)))
        for name, t in data.get("tables", {}).items():
            tables[name] = {**t, "_mark": doc.mark_for(f"{base}/tables/{name}")}

    def load_layer(self, path: Path, default_source: dict[str, Any], clauses: dict[str, Clause], rules: list[Rule]) -> CountryLayer | None:
        doc = self.read(path, "country-exception.schema.json")
        if doc is None:
            return None
        data = doc.data
        self.collect(doc, "", {"clauses": data.get("clauses", [])}, default_source, clauses, [], {})
        base_ids = {r.id for r in rules}
        added = []
        for i, r in enumerate(data.get("add", [])):
            if r["id"] in base_ids:
                self.problem(doc.mark_for(f"/add/{i}/id"), f"added rule '{r['id']}' has the id of a base rule; use override", f"/add/{i}/id")
            added.append(Rule(r, doc.mark_for(f"/add/{i}"), marks=_rule_marks(doc, f"/add/{i}", r)))
        for rid, ov in data.get("override", {}).items():
            if rid not in base_ids:
                self.problem(doc.marks.get(f"/override/{rid}#key", doc.mark_for("/override")),
                             f"override names unknown rule '{rid}'", f"/override/{rid}")
                continue
            base_rule = next(r for r in rules if r.id == rid)
            merged = base_rule.merged(ov, "check", {})
            for err in validator("policy.schema.json").evolve(schema={"$ref": f"#/$defs/rule_{base_rule.kind}"}).iter_errors(merged.raw):
                leaf = _leaf(err)
                self.problem(doc.mark_for(f"/override/{rid}"), f"override of '{rid}' makes an invalid {base_rule.kind} rule: {leaf.message}",
                             f"/override/{rid}")
        for i, d in enumerate(data.get("disable", [])):
            if d["rule"] not in base_ids:
                self.problem(doc.mark_for(f"/disable/{i}/rule"), f"disable names unknown rule '{d['rule']}'", f"/disable/{i}/rule")
        return CountryLayer(doc.path, data["countries"], data.get("applies_to", "destination"), data.get("title", ""),
                            data.get("note", ""), data.get("override", {}), data.get("disable", []), added, doc.mark_for(""))

    def check_references(self, v: Version, docs: list[LoadedYaml], categories: Categories) -> None:
        def cite(mark: Mark, clause_id: str, what: str) -> None:
            if clause_id not in v.clauses:
                self.problem(mark, f"{what} cites clause '{clause_id}', which this version does not define")

        all_rules = list(v.rules) + [r for ly in v.layers for r in ly.add]
        for r in all_rules:
            cite(r.mark("clause"), r.clause, f"rule '{r.id}'")
            for i, c in enumerate(r.get("also_cites", [])):
                cite(r.mark(f"also_cites/{i}"), c, f"rule '{r.id}'")
            if r.get("rounding_clause"):
                cite(r.mark("rounding_clause"), r.get("rounding_clause"), f"rule '{r.id}'")
            if r.kind == "prohibited_contents" and categories.by_id:
                for c in r.get("categories", []):
                    if c not in categories.by_id:
                        self.problem(r.mark("categories"), f"rule '{r.id}' names unknown contents category '{c}'")
        for ly in v.layers:
            for rid, ov in ly.override.items():
                if "clause" in ov:
                    cite(ly.origin, ov["clause"], f"override of '{rid}' in {ly.file}")
            for d in ly.disable:
                cite(ly.origin, d["clause"], f"disabling '{d['rule']}' in {ly.file}")
        for name, t in v.tables.items():
            if t.get("clause"):
                cite(t["_mark"], t["clause"], f"table '{name}'")
        for r in all_rules:
            if r.kind not in KINDS:
                self.problem(r.origin, f"unknown rule kind '{r.kind}'")
            for key, value in _walk(r.raw):
                if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
                    self.problem(r.mark(key.split("/")[0]), f"rule '{r.id}': {key} is {value}, not a usable number")
                if key.split("/")[-1] in ("pattern",) or (key.endswith("/value") and _is_matches(r.raw, key)):
                    try:
                        re.compile(str(value))
                    except re.error as exc:
                        self.problem(r.mark(key.split("/")[0]), f"rule '{r.id}': {key} is not a valid regular expression ({exc})")

    def check_sources(self, v: Version, head: LoadedYaml) -> None:
        seeds = seeds_dir()
        if not seeds.is_dir():
            return
        for i, src in enumerate(v.meta["sources"]):
            path = seeds / src["file"]
            if not path.exists():
                self.problem(head.mark_for(f"/sources/{i}/file"), f"source document '{src['file']}' not found in {seeds}")
            elif src.get("sha256") and hashlib.sha256(path.read_bytes()).hexdigest() != src["sha256"]:
                self.problem(head.mark_for(f"/sources/{i}/sha256"), f"source document '{src['file']}' has changed (sha256 differs)")
        from .citations import unverified

        for quote, reason in unverified(v, seeds):
            self.problem(quote.mark or head.mark_for(""), f"{quote.where}: {reason}")


def load_policies(root: Path, verify_sources: bool = True) -> tuple[PolicySet, list[Problem]]:
    """Load and validate the tree; `verify_sources` also checks sha256 and every quote against ../shared/seeds."""
    loader = _Loader(root, verify_sources)
    policies = loader.load()
    return policies, loader.problems


def load_policies_or_fail(root: Path, verify_sources: bool = True) -> PolicySet:
    policies, problems = load_policies(root, verify_sources)
    if problems:
        raise PolicyLoadError([str(p) for p in problems])
    return policies


def _tree_digest(root: Path) -> str:
    """Changes whenever a policy file, a schema or the checker's own code changes (size or mtime)."""
    digest = hashlib.sha256()
    code = Path(__file__).resolve().parent
    for base in (root, schema_dir(), code):
        for path in sorted(base.rglob("*")):
            if path.is_file() and path.suffix in (".yaml", ".yml", ".json", ".py"):
                st = path.stat()
                digest.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:32]


def load_policies_cached(root: Path) -> PolicySet:
    """A validated PolicySet, from a cache when nothing changed: start-up matters for small pre-dispatch batches.

    The cache holds only trees that passed validation; `checker validate` and `checker test` never use it.
    Set CHECKER_CACHE_DIR to move it, or CHECKER_NO_CACHE=1 to bypass it.
    """
    import pickle
    import tempfile

    if os.environ.get("CHECKER_NO_CACHE"):
        return load_policies_or_fail(root, verify_sources=False)
    cache_dir = Path(os.environ.get("CHECKER_CACHE_DIR") or Path.home() / ".cache" / "parcel-policy-checker")
    cached = cache_dir / f"policies-{_tree_digest(root.resolve())}.pickle"
    try:
        return pickle.loads(cached.read_bytes())
    except Exception:  # noqa: BLE001 - no cache, or an unreadable one: load from the files
        pass
    policies = load_policies_or_fail(root, verify_sources=False)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(policies, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, cached)
    except OSError:
        pass  # a read-only home is no reason to fail a check
    return policies
