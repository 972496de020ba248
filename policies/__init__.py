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
from policies.config import Config, load_config
from policies.loaders import InputError, load
from policies.model import Document, Severity
from policies.rules import FAIL, PASS, UNKNOWN, Result, Rule, all_rules

__all__ = [
    "Config",
    "Document",
    "InputError",
    "Report",
    "Severity",
    "check",
    "check_documents",
    "load",
    "load_config",
]
READ_RULE = "input-read"


@dataclass
class Report:
    documents: list[Document]
    results: list[Result]
    min_severity: Severity = Severity.LOW
    fail_on_unknown: bool = True
    unused_exemptions: list[Exemption] = field(default_factory=list)
    fail_on_unread: bool = True
    rules: list[Rule] = field(default_factory=list)  # what ran
    disabled: list[Rule] = field(default_factory=list)  # what did not (the conventions, unless turned on)
    unused_suppressions: list[tuple[None, str, str]] = field(default_factory=list)

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
            if r.allowed_because is None
            and (
                self.fail_on_unread
                if r.rule.id == READ_RULE  # not read at all: --allow-unread, not --allow-unknown
                else r.status == FAIL or self.fail_on_unknown
            )
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
    fail_on_unread: bool = True,
    config: Config | None = None,
) -> Report:
    """Run ``rules`` (else the config's, else every rule but the conventions) over ``documents``."""
    config = config or Config.default()
    if rules is None:
        rules = config.rules()
    for document in documents:
        document.settings.update(config.settings)
        if "environment" in config.settings:
            document.environment = config.settings["environment"]
    known = {r.id for r in all_rules()}
    for document in documents:
        for resource in document.resources:
            for rule_id in resource.suppressions:
                if rule_id not in known:
                    raise InputError(f"{document.path}: {resource.label()} suppresses no rule {rule_id!r}")
    results = [result for document in documents for rule in rules for result in rule.run(document)]
    results, unused, unused_suppressions = apply(results, exemptions or [])
    ran = {r.id for r in rules}
    return Report(
        documents,
        results,
        min_severity,
        fail_on_unknown,
        unused,
        fail_on_unread,
        rules,
        [r for r in all_rules() if r.id not in ran],
        unused_suppressions,
    )


def check(
    paths: list[str | Path],
    *,
    min_severity: Severity = Severity.LOW,
    allowlist: str | Path | None = None,
    environment: str | None = None,
    required_tags: tuple[str, ...] | None = None,
    fail_on_unknown: bool = True,
    fail_on_unread: bool = True,
    config: str | Path | Config | None = None,
    enable: tuple[str, ...] = (),
    disable: tuple[str, ...] = (),
) -> Report:
    """Load every path and run the configured rules; raises InputError on unreadable input.
    ``environment`` and ``required_tags`` turn on the convention they set."""
    settings = config if isinstance(config, Config) else load_config(config) if config else Config.default()
    for rule_id in enable:
        settings.enable(rule_id)
    for rule_id in disable:
        settings.disable(rule_id)
    if environment:
        settings.settings["environment"] = environment
        settings.enable("name-has-environment")
    if required_tags is not None:
        settings.settings["required_tags"] = required_tags
        settings.enable("required-tags")
    documents = [document for path in paths for document in load(path)]
    exemptions = load_allowlist(allowlist, {r.id for r in all_rules()}) if allowlist else []
    return check_documents(
        documents,
        min_severity=min_severity,
        exemptions=exemptions,
        fail_on_unknown=fail_on_unknown,
        fail_on_unread=fail_on_unread,
        config=settings,
    )
