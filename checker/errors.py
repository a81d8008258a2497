"""Exceptions that end a run with exit code 2 and one clear sentence (never a traceback)."""

from __future__ import annotations


class FatalInput(Exception):
    """An input (manifest, rates, agreement, output path) cannot be used at all."""


class PolicyLoadError(Exception):
    """The policy tree has problems; each problem is a 'file:line:column: message' line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the policy files")
        self.problems = problems


class MissingRate(Exception):
    """A threshold in one currency meets an amount in another and no rate was given."""

    def __init__(self, source: str, target: str) -> None:
        super().__init__(f"no {source}→{target} exchange rate given (use --rates FILE)")
        self.source = source
        self.target = target
