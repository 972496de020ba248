"""``policies check PATH ...`` (or ``python -m policies``) and ``policies rules``.

Exit codes: 0 nothing at or above the severity, 1 findings, 2 unreadable input.
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import metadata
from typing import Any

from policies import FAIL, UNKNOWN, InputError, Report, Severity, check
from policies.rules import Result, all_rules
from policies.sarif import render_sarif

SEVERITIES = [str(s) for s in sorted(Severity)]
OFF = " (off unless turned on)"


def _finding(result: Result) -> dict[str, Any]:
    resource = result.resource
    return {
        "rule": result.rule.id,
        "severity": str(result.rule.severity),
        "status": "allowed" if result.allowed_because is not None else result.status,
        "result": result.status,
        "stack": result.document.stack,
        "format": result.document.format,
        "path": result.document.path,
        "resource": result.address,
        "type": resource.native_type if resource is not None else None,
        "name": resource.label() if resource is not None else None,
        "message": result.message,
        "catalogue": list(result.rule.catalogue),
        "allowed_because": result.allowed_because,
    }


def _summary(report: Report) -> dict[str, Any]:
    return {
        "stacks": len(report.documents),
        "resources": sum(len(d.resources) for d in report.documents),
        "rules": len(report.rules),
        "off": [r.id for r in report.disabled],
        "passed": report.passed,
        "failed": report.count(FAIL),
        "unknown": report.count(UNKNOWN),
        "allowed": report.count(FAIL, allowed=True) + report.count(UNKNOWN, allowed=True),
        "blocking": len(report.blocking),
        "min_severity": str(report.min_severity),
    }


def render_json(report: Report) -> str:
    return json.dumps(
        {
            "documents": [
                {
                    "stack": d.stack,
                    "format": d.format,
                    "path": d.path,
                    "environment": d.environment,
                    "resources": len(d.resources),
                    "notes": d.notes,
                }
                for d in report.documents
            ],
            "findings": [_finding(r) for r in report.findings],
            "unused_exceptions": [str(e) for e in report.unused_exemptions],
            "unused_suppressions": [f"{where} {rule}" for _, where, rule in report.unused_suppressions],
            "summary": _summary(report),
        },
        indent=2,
    )


def render_text(report: Report) -> str:
    lines = []
    for document in report.documents:
        lines.append(
            f"{document.stack} ({document.format}, {document.path}): {len(document.resources)} resources, "
            f"environment {document.environment or 'unknown'}"
        )
        lines.extend(f"  note: {note}" for note in document.notes)
        for result in (r for r in report.findings if r.document is document):
            status = "ALLOWED" if result.allowed_because is not None else result.status.upper()
            lines.append(f"  {status:<8} {result.rule.severity!s:<8} {result.rule.id:<26} {result.subject}")
            lines.append(f"           {result.message}")
            if result.rule.catalogue:
                lines.append(f"           catalogue: {', '.join(result.rule.catalogue)}")
            if result.allowed_because is not None:
                lines.append(f"           allowed: {result.allowed_because}")
    for exemption in report.unused_exemptions:
        lines.append(f"warning: the exception {exemption} matched nothing")
    for _, where, rule_id in report.unused_suppressions:
        lines.append(f"warning: the suppression of {rule_id} on {where} matched nothing")
    conventions = [r.id for r in report.disabled if r.convention]
    if conventions:
        lines.append(
            f"off: {', '.join(conventions)} (conventions, not defects: "
            "turn on with --config FILE or --enable)"
        )
    others = [r.id for r in report.disabled if not r.convention]
    if others:
        lines.append(f"off by config: {', '.join(others)}")
    s = _summary(report)
    stacks = f"{s['stacks']} stack" + ("" if s["stacks"] == 1 else "s")
    lines.append(
        f"{stacks}, {s['resources']} resources, {s['rules']} rules "
        f"at or above {s['min_severity']}: {s['passed']} passed, {s['failed']} failed, "
        f"{s['unknown']} unknown, {s['allowed']} allowed by exception"
    )
    return "\n".join(lines)


def render_rules(fmt: str) -> str:
    rules = all_rules()
    if fmt == "json":
        return json.dumps(
            [
                {
                    "id": r.id,
                    "title": r.title,
                    "severity": str(r.severity),
                    "rationale": r.rationale,
                    "catalogue": list(r.catalogue),
                    "default": "off (a convention)" if r.convention else "on",
                }
                for r in rules
            ],
            indent=2,
        )
    if fmt == "markdown":
        lines = ["| id | checks | severity | default | rationale | catalogue |", "|---|---|---|---|---|---|"]
        for r in rules:
            catalogue = ", ".join(r.catalogue) or "-"
            default = "off" if r.convention else "on"
            lines.append(f"| `{r.id}` | {r.title} | {r.severity} | {default} | {r.rationale} | {catalogue} |")
        return "\n".join(lines)
    return "\n".join(
        f"{r.id:<26} {r.severity!s:<8} {r.title}{OFF if r.convention else ''}\n"
        f"{'':<35}{r.rationale}\n{'':<35}catalogue: {', '.join(r.catalogue) or '-'}"
        for r in rules
    )


def version() -> str:
    try:
        return metadata.version("aws-iac-reference")
    except metadata.PackageNotFoundError:  # run from a checkout, not installed
        return "0.1.0"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="policies", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "check",
        help="check CDK cloud assemblies, CDKTF outputs, Pulumi resources.json",
        description="Exit codes: 0 nothing at or above the severity, 1 findings, 2 unreadable input.",
    )
    run.add_argument("paths", nargs="+", metavar="PATH")
    run.add_argument(
        "--min-severity", choices=SEVERITIES, default="low", help="report and fail from here (low)"
    )
    run.add_argument("--format", choices=("text", "json", "sarif"), default="text")
    run.add_argument(
        "--config", metavar="FILE", help="TOML: rules on/off, severities, settings (policies/config.py)"
    )
    run.add_argument("--enable", action="append", default=[], metavar="RULE", help="turn a rule on (repeat)")
    run.add_argument(
        "--disable", action="append", default=[], metavar="RULE", help="turn a rule off (repeat)"
    )
    run.add_argument(
        "--allowlist", metavar="FILE", help="TOML file of deliberate exceptions (policies/allowlist.py)"
    )
    run.add_argument("--env", help="the environment names must carry (turns name-has-environment on)")
    run.add_argument(
        "--require-tag",
        action="append",
        metavar="KEY",
        help="a tag every taggable resource must carry (repeat; turns required-tags on)",
    )
    run.add_argument(
        "--allow-unknown",
        action="store_true",
        help="report what a rule cannot decide without failing the run",
    )
    run.add_argument(
        "--allow-unread",
        action="store_true",
        help="report what was not read (SAM types, transforms, modules) without failing the run",
    )
    rules = commands.add_parser("rules", help="list the rules")
    rules.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    args = parser.parse_args(argv)

    if args.command == "rules":
        print(render_rules(args.format))
        return 0
    try:
        report = check(
            args.paths,
            min_severity=Severity.parse(args.min_severity),
            allowlist=args.allowlist,
            environment=args.env,
            required_tags=tuple(args.require_tag) if args.require_tag else None,
            fail_on_unknown=not args.allow_unknown,
            fail_on_unread=not args.allow_unread,
            config=args.config,
            enable=tuple(args.enable),
            disable=tuple(args.disable),
        )
    except InputError as error:
        print(f"policies: {error}", file=sys.stderr)
        return 2
    renderers = {"json": render_json, "text": render_text, "sarif": lambda r: render_sarif(r, version())}
    print(renderers[args.format](report))
    return 1 if report.blocking else 0


if __name__ == "__main__":
    sys.exit(main())
