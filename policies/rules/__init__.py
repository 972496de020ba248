"""The rules: plain functions over a document that yield a result per resource they judge.

A result is ``pass``, ``fail`` or ``unknown`` (the rule could not decide from the document, and
says why): a rule never passes what it could not read.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from policies.model import Document, Resource, Severity, Unresolved

PASS, FAIL, UNKNOWN = "pass", "fail", "unknown"


@dataclass(frozen=True)
class Result:
    rule: Rule
    document: Document
    resource: Resource | None  # None: about the document (the stack) as a whole
    status: str
    message: str = ""
    allowed_because: str | None = field(default=None, compare=False)

    @property
    def subject(self) -> str:
        return self.resource.label() if self.resource is not None else f"stack {self.document.stack}"

    @property
    def address(self) -> str:
        return self.resource.address if self.resource is not None else self.document.stack


Check = Callable[[Document], Iterable[tuple[Resource | None, str, str]]]


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    rationale: str
    severity: Severity
    catalogue: tuple[str, ...]
    check: Check = field(repr=False)
    # A convention of one team (tags, names), not a defect anywhere: off unless a config turns it on.
    convention: bool = False

    def run(self, document: Document) -> Iterator[Result]:
        try:
            for resource, status, message in self.check(document):
                yield Result(self, document, resource, status, message)
        except Exception as error:  # reported as unknown: the run fails, nothing passes
            yield Result(
                self,
                document,
                None,
                UNKNOWN,
                f"the rule failed on this input: {type(error).__name__}: {error}",
            )


RULES: dict[str, Rule] = {}


def rule(
    id: str,
    *,
    title: str,
    rationale: str,
    severity: Severity,
    catalogue: tuple[str, ...] = (),
    convention: bool = False,
) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        if id in RULES:
            raise ValueError(f"rule {id} registered twice")
        RULES[id] = Rule(id, title, rationale, severity, catalogue, check, convention)
        return check

    return register


def ok(resource: Resource | None, message: str = "") -> tuple[Resource | None, str, str]:
    return resource, PASS, message


def fail(resource: Resource | None, message: str) -> tuple[Resource | None, str, str]:
    return resource, FAIL, message


def unknown(resource: Resource | None, why: str | Unresolved) -> tuple[Resource | None, str, str]:
    return resource, UNKNOWN, why.why if isinstance(why, Unresolved) else why


MODULES = (
    "input",
    "encryption",
    "network",
    "secrets",
    "compute",
    "observability",
    "api",
    "buckets",
    "hygiene",
)


def all_rules() -> list[Rule]:
    """Every rule, in the order of MODULES (importing a module registers its rules)."""
    for module in MODULES:
        importlib.import_module(f"policies.rules.{module}")
    return list(RULES.values())
