"""The report as SARIF 2.1.0 (what GitHub code scanning reads, and checkov and cfn-lint write).

One run; the driver lists every rule that ran (``security-severity`` gives GitHub its severity).
A failure is a result of kind ``fail``; what a rule could not decide is of kind ``review``
(level ``none``, as SARIF wants for it). Allowed findings carry a suppression: ``inSource`` for a
suppression written in the input, ``external`` for the allowlist, each with its reason. Every
result points at the file and the line where its resource is declared, and names the resource as
a logical location. What was not read is a notification of the run.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

from policies.model import Severity
from policies.rules import FAIL, Result, Rule

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVEL = {Severity.LOW: "note", Severity.MEDIUM: "warning", Severity.HIGH: "error", Severity.CRITICAL: "error"}
SECURITY_SEVERITY = {
    Severity.LOW: "3.0",
    Severity.MEDIUM: "5.5",
    Severity.HIGH: "8.0",
    Severity.CRITICAL: "9.5",
}
_KEY = re.compile(r'"((?:[^"\\]|\\.)*)"')


@cache
def _lines(path: str) -> dict[str, int]:
    """The first line on which each quoted string of the file appears (resource keys, URNs)."""
    found: dict[str, int] = {}
    try:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                for key in _KEY.findall(line):
                    found.setdefault(key, number)
    except (OSError, UnicodeDecodeError):
        pass
    return found


def _uri(path: str) -> str:
    try:
        return Path(os.path.relpath(path)).as_posix()
    except ValueError:  # another drive
        return Path(path).as_posix()


def _descriptor(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": "".join(part.title() for part in rule.id.split("-")),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.rationale},
        "help": {"text": rule.rationale},
        "defaultConfiguration": {"level": LEVEL[rule.severity]},
        "properties": {
            "security-severity": SECURITY_SEVERITY[rule.severity],
            "tags": ["security", "iac", *(f"catalogue:{entry}" for entry in rule.catalogue)],
        },
    }


def _location(result: Result) -> dict[str, Any]:
    document = result.document
    physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(document.path)}}
    line = _lines(document.path).get(result.address) if Path(document.path).is_file() else None
    if line is not None:
        physical["region"] = {"startLine": line}
    location: dict[str, Any] = {"physicalLocation": physical}
    name = result.resource.label() if result.resource is not None else document.stack
    location["logicalLocations"] = [
        {
            "name": name,
            "fullyQualifiedName": f"{document.stack}/{result.address}",
            "kind": "resource" if result.resource is not None else "module",
        }
    ]
    return location


def _result(result: Result, index: dict[str, int]) -> dict[str, Any]:
    failed = result.status == FAIL
    entry: dict[str, Any] = {
        "ruleId": result.rule.id,
        "ruleIndex": index[result.rule.id],
        "kind": "fail" if failed else "review",
        "level": LEVEL[result.rule.severity] if failed else "none",
        "message": {"text": f"{result.subject}: {result.message}" if result.message else result.subject},
        "locations": [_location(result)],
        "partialFingerprints": {"policies/v1": f"{result.rule.id}:{result.document.stack}:{result.address}"},
        "properties": {"status": result.status, "format": result.document.format},
    }
    if result.allowed_because is not None:
        in_source = result.allowed_because.startswith("suppressed in the input")
        entry["suppressions"] = [
            {"kind": "inSource" if in_source else "external", "justification": result.allowed_because}
        ]
    return entry


def render_sarif(report: Any, version: str) -> str:
    rules = list(report.rules)
    index = {rule.id: position for position, rule in enumerate(rules)}
    notes = [
        {"level": "warning", "message": {"text": f"{document.stack}: {note}"}}
        for document in report.documents
        for note in document.notes
    ]
    notes += [
        {
            "level": "note",
            "message": {
                "text": f"rule {rule.id} is off ({'a convention' if rule.convention else 'by config'})"
            },
        }
        for rule in report.disabled
    ]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "policies",
                "semanticVersion": version,
                "version": version,
                "rules": [_descriptor(rule) for rule in rules],
            }
        },
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notes}],
        "results": [_result(r, index) for r in report.findings if r.rule.id in index],
        "columnKind": "unicodeCodePoints",
    }
    return json.dumps({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2)
