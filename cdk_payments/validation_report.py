"""The synth's policy-validation report (``validation-report.json`` in the cloud assembly), read.

    python -m cdk_payments.validation_report out/cdk_payments/validation-report.json

prints, per plugin, the rules and resources acknowledged, and exits 1 if a plugin did not run
(``control_tower_checks`` turned off, for instance) or left a finding. The synth already fails on
an unacknowledged finding; this makes ``make check`` fail when a plugin silently did not run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

AWS_SOLUTIONS = "AwsSolutions"
PCI_DSS = "PCI.DSS.321"
CONTROL_TOWER = "cdk-validator-cfnguard"
NAG_PACKS = (AWS_SOLUTIONS, PCI_DSS)
ALL_PLUGINS = (*NAG_PACKS, CONTROL_TOWER)


def plugin_reports(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {plugin["pluginName"]: plugin for plugin in report["pluginReports"]}


def problems(report: dict[str, Any], expected: tuple[str, ...] = ALL_PLUGINS) -> list[str]:
    """What is wrong with the report: missing plugins, failures, findings, reasonless acknowledgements."""
    plugins = plugin_reports(report)
    found = [f"{name}: did not run" for name in expected if name not in plugins]
    for name, plugin in plugins.items():
        if plugin["conclusion"] != "success" or plugin["violations"]:
            found.append(f"{name}: {plugin['conclusion']}, {len(plugin['violations'])} rules violated")
        for violation in plugin.get("suppressedViolations") or []:
            if len(violation.get("reason", "").strip()) < 20:
                found.append(f"{name}: {violation['ruleName']} acknowledged without a reason")
    return found


def counts(report: dict[str, Any]) -> dict[str, tuple[int, int, int]]:
    """Per plugin: (resources with an open finding, rules acknowledged, resources acknowledged)."""
    return {
        name: (
            sum(len(v["violatingConstructs"]) for v in plugin["violations"]),
            len({v["ruleName"] for v in plugin.get("suppressedViolations") or []}),
            sum(len(v["violatingConstructs"]) for v in plugin.get("suppressedViolations") or []),
        )
        for name, plugin in plugin_reports(report).items()
    }


def main(paths: list[str]) -> int:
    failed = False
    for path in paths:
        report = json.loads(Path(path).read_text())
        for name, (open_, rules, resources) in counts(report).items():
            print(f"{path}: {name}: {open_} open, {rules} rules acknowledged on {resources} resources")
        for problem in problems(report):
            print(f"{path}: {problem}", file=sys.stderr)
            failed = True
    return 1 if failed or not paths else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
