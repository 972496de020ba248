"""A cross-framework policy suite over synthesized infrastructure: CloudFormation (CDK cloud
assemblies), Terraform JSON (CDKTF output) and Pulumi deployments (``resources.json`` / ``pulumi
stack export``), with the same rules for all three.

    python -m policies check PATH [PATH ...] [--min-severity low] [--format text|json]
    python -m policies rules

Read-only over its inputs; no AWS calls. ``check`` returns a ``Report``; rules live in
``policies/rules/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from policies.allowlist import Exemption, apply, load_allowlist
from policies.loaders import InputError, load
from policies.model import Document, Severity
from policies.rules import FAIL, PASS, UNKNOWN, Result, Rule, all_rules

__all__ = ["Document", "InputError", "Report", "Severity", "check", "check_documents", "load"]


@dataclass
class Report:
    documents: list[Document]
    results: list[Result]
    min_severity: Severity = Severity.LOW
    fail_on_unknown: bool = True
    unused_exemptions: list[Exemption] = field(default_factory=list)

    def at_or_above(self) -> list[Result]:
        return [r for r in self.results if r.rule.severity >= self.min_severity]

    @property
    def findings(self) -> list[Result]:
        """Failing and unknown results at or above the severity, exceptions included."""
        return [r for r in self.at_or_above() if r.status in (FAIL, UNKNOWN)]

    @property
    def blocking(self) -> list[Result]:
        """What makes the run fail: findings not allowed by an exception."""
        return [
            r
            for r in self.findings
            if r.allowed_because is None and (r.status == FAIL or self.fail_on_unknown)
        ]

    def count(self, status: str, *, allowed: bool = False) -> int:
        return sum(
            1 for r in self.at_or_above() if r.status == status and (r.allowed_because is not None) == allowed
        )

    @property
    def passed(self) -> int:
        return self.count(PASS)


def check_documents(
    documents: list[Document],
    *,
    rules: list[Rule] | None = None,
    min_severity: Severity = Severity.LOW,
    exemptions: list[Exemption] | None = None,
    fail_on_unknown: bool = True,
) -> Report:
    results = [
        result for document in documents for rule in rules or all_rules() for result in rule.run(document)
    ]
    results, unused = apply(results, exemptions or [])
    return Report(documents, results, min_severity, fail_on_unknown, unused)


def check(
    paths: list[str | Path],
    *,
    min_severity: Severity = Severity.LOW,
    allowlist: str | Path | None = None,
    environment: str | None = None,
    required_tags: tuple[str, ...] | None = None,
    fail_on_unknown: bool = True,
) -> Report:
    """Load every path and run every rule; raises InputError on unreadable input."""
    documents = [document for path in paths for document in load(path)]
    for document in documents:
        if environment:
            document.environment = environment
        if required_tags is not None:
            document.settings["required_tags"] = required_tags
    rules = all_rules()
    exemptions = load_allowlist(allowlist, {r.id for r in rules}) if allowlist else []
    return check_documents(
        documents,
        rules=rules,
        min_severity=min_severity,
        exemptions=exemptions,
        fail_on_unknown=fail_on_unknown,
    )
