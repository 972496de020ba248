"""What a run checks: which rules (the conventions are off unless turned on), at which severity,
with which settings, read from a TOML file.

    [rules.required-tags]
    enabled = true
    severity = "medium"            # optional: the rule's severity in this run
    tags = ["environment", "project"]

    [rules.name-has-environment]
    enabled = true
    environment = "dev"            # optional: else the stack's or provider's environment tag

    [rules.lambda-tracing]
    enabled = false                # any rule can be turned off (say why in a comment)
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policies.loaders.base import InputError
from policies.model import Severity
from policies.rules import Rule, all_rules

# Settings a rule reads from ``Document.settings``, by rule: key -> type.
SETTINGS: dict[str, dict[str, type]] = {
    "required-tags": {"tags": list},
    "name-has-environment": {"environment": str},
}


@dataclass
class Config:
    enabled: set[str]
    severities: dict[str, Severity] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)  # read by rules from Document.settings
    source: str | None = None

    @classmethod
    def default(cls) -> Config:
        return cls(enabled={r.id for r in all_rules() if not r.convention})

    def rules(self) -> list[Rule]:
        return [
            dataclasses.replace(r, severity=self.severities.get(r.id, r.severity))
            for r in all_rules()
            if r.id in self.enabled
        ]

    def disabled(self) -> list[Rule]:
        return [r for r in all_rules() if r.id not in self.enabled]

    def enable(self, rule_id: str) -> None:
        _known(rule_id, "--enable")
        self.enabled.add(rule_id)

    def disable(self, rule_id: str) -> None:
        _known(rule_id, "--disable")
        self.enabled.discard(rule_id)


def _known(rule_id: str, where: str) -> None:
    if rule_id not in {r.id for r in all_rules()}:
        raise InputError(f"{where}: no rule {rule_id!r}")


def load_config(path: str | Path) -> Config:
    try:
        data = tomllib.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise InputError(f"{path}: not a readable config ({error})") from error
    unknown_keys = set(data) - {"rules"}
    if unknown_keys:
        raise InputError(f"{path}: unknown sections {sorted(unknown_keys)}")
    config = Config.default()
    config.source = str(path)
    rules = data.get("rules", {})
    if not isinstance(rules, dict):
        raise InputError(f"{path}: [rules.<id>] tables expected")
    for rule_id, options in rules.items():
        where = f"{path}: rules.{rule_id}"
        _known(rule_id, where)
        if not isinstance(options, dict):
            raise InputError(f"{where}: a table expected")
        allowed = {"enabled": bool, "severity": str, **SETTINGS.get(rule_id, {})}
        for key, value in options.items():
            if key not in allowed:
                raise InputError(f"{where}: unknown key {key!r} (one of {sorted(allowed)})")
            if not isinstance(value, allowed[key]):
                raise InputError(f"{where}: {key} must be a {allowed[key].__name__}")
        if options.get("enabled", True):
            config.enabled.add(rule_id)
        else:
            config.enabled.discard(rule_id)
        if "severity" in options:
            try:
                config.severities[rule_id] = Severity.parse(options["severity"])
            except ValueError as error:
                raise InputError(f"{where}: {error}") from error
        if "tags" in options:
            config.settings["required_tags"] = tuple(str(t) for t in options["tags"])
        if "environment" in options:
            config.settings["environment"] = options["environment"]
    return config
