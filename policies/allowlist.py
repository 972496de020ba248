"""Deliberate exceptions: per rule and resource, each with its reason, read from a TOML file.

    [[exception]]
    rule = "lambda-tracing"
    resource = "CustomS3AutoDeleteObjects*Handler*"   # glob over the address or the display name
    stack = "payments-*"                               # optional glob, default every stack
    reason = "why this is right here"

An exception turns a failing or unknown result into ``allowed``: it is still printed, with the
reason. An exception that matches nothing is reported, so the list cannot rot silently.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from policies.loaders.base import InputError
from policies.rules import FAIL, UNKNOWN, Result


@dataclass(frozen=True)
class Exemption:
    rule: str
    resource: str
    reason: str
    stack: str = "*"

    def matches(self, result: Result) -> bool:
        if result.rule.id != self.rule or not fnmatchcase(result.document.stack, self.stack):
            return False
        names = [result.address]
        if result.resource is not None and result.resource.display:
            names.append(result.resource.display)
        return any(fnmatchcase(name, self.resource) for name in names)

    def __str__(self) -> str:
        return f"{self.rule} {self.resource} (stack {self.stack})"


def load_allowlist(path: str | Path, known_rules: set[str]) -> list[Exemption]:
    try:
        data = tomllib.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise InputError(f"{path}: not a readable allowlist ({error})") from error
    exemptions = []
    for index, entry in enumerate(data.get("exception", [])):
        where = f"{path}: exception #{index + 1}"
        unknown_keys = set(entry) - {"rule", "resource", "reason", "stack"}
        if unknown_keys:
            raise InputError(f"{where}: unknown keys {sorted(unknown_keys)}")
        for key in ("rule", "resource", "reason"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise InputError(f"{where}: {key} is required")
        if entry["rule"] not in known_rules:
            raise InputError(f"{where}: no rule {entry['rule']!r}")
        exemptions.append(Exemption(**entry))
    return exemptions


def apply(
    results: list[Result], exemptions: list[Exemption]
) -> tuple[list[Result], list[Exemption], list[tuple[Result | None, str, str]]]:
    """Results with in-input suppressions and the exceptions applied; the exceptions that matched
    nothing; and the suppressions that matched nothing, as (None, resource label, rule id)."""
    used: set[Exemption] = set()
    suppressed: set[tuple[int, str]] = set()
    applied = []
    for result in results:
        if result.status in (FAIL, UNKNOWN):
            reason = None
            resource = result.resource
            if resource is not None and result.rule.id in resource.suppressions:
                suppressed.add((id(resource), result.rule.id))
                reason = f"suppressed in the input: {resource.suppressions[result.rule.id]}"
            else:
                exemption = next((e for e in exemptions if e.matches(result)), None)
                if exemption is not None:
                    used.add(exemption)
                    reason = exemption.reason
            if reason is not None:
                result = Result(
                    result.rule,
                    result.document,
                    result.resource,
                    result.status,
                    result.message,
                    allowed_because=reason,
                )
        applied.append(result)
    unused_suppressions = []
    seen_documents = {id(r.document): r.document for r in results}
    for document in seen_documents.values():
        for resource in document.resources:
            for rule_id in resource.suppressions:
                if (id(resource), rule_id) not in suppressed:
                    unused_suppressions.append((None, f"{document.stack}: {resource.label()}", rule_id))
    return applied, [e for e in exemptions if e not in used], unused_suppressions
