"""What every format shares: finding a resource from a literal name or ARN, tag maps, environments."""

from __future__ import annotations

import re
from typing import Any

from policies.model import MISSING, Document, Resource, Unresolved, arn_parts


class InputError(Exception):
    """The input cannot be read as any of the three formats (exit code 2)."""


# service in an ARN -> (kind ids, pattern of the resource part that holds the name)
_ARN_NAMES: dict[str, tuple[tuple[str, ...], re.Pattern[str]]] = {
    "lambda": (("lambda.function",), re.compile(r"^function:(?P<name>[^:]+)(?::(?P<qualifier>[^:]+))?$")),
    "logs": (("logs.log_group",), re.compile(r"^log-group:(?P<name>[^:]+)(?::\*)?$")),
    "sqs": (("sqs.queue",), re.compile(r"^(?P<name>[^:/]+)$")),
    "sns": (("sns.topic",), re.compile(r"^(?P<name>[^:/]+)$")),
    "s3": (("s3.bucket",), re.compile(r"^(?P<name>[^/]+)(?:/.*)?$")),
    "dynamodb": (("dynamodb.table",), re.compile(r"^table/(?P<name>[^/]+)(?:/.*)?$")),
    "cloudwatch": (("cloudwatch.alarm", "cloudwatch.composite_alarm"), re.compile(r"^alarm:(?P<name>.+)$")),
    "events": (("events.rule",), re.compile(r"^rule/(?:[^/]+/)?(?P<name>[^/]+)$")),
    "rds": (("rds.cluster", "rds.instance"), re.compile(r"^(?:cluster|db):(?P<name>.+)$")),
    "kinesis": (("kinesis.stream",), re.compile(r"^stream/(?P<name>.+)$")),
    "states": (("sfn.state_machine",), re.compile(r"^stateMachine:(?P<name>.+)$")),
    "secretsmanager": (("secretsmanager.secret",), re.compile(r"^secret:(?P<name>.+)-[A-Za-z0-9]{6}$")),
    "iam": (("iam.role",), re.compile(r"^role/(?:.*/)?(?P<name>[^/]+)$")),
}


def name_in_arn(value: str) -> tuple[tuple[str, ...], str] | None:
    """(kind ids, physical name) an ARN names, for the services the rules follow."""
    parts = arn_parts(value)
    if not parts or parts["service"] not in _ARN_NAMES:
        return None
    kinds, pattern = _ARN_NAMES[parts["service"]]
    match = pattern.match(parts["resource"])
    return (kinds, match.group("name")) if match else None


def identifiers(resource: Resource) -> set[str]:
    """Literal strings other resources may use for ``resource``: name, id, ARN."""
    found = set()
    name = resource.name
    if isinstance(name, str):
        found.add(name)
    for extra in resource.document.known_identifiers(resource):
        found.add(extra)
    return found


def _identifier_index(document: Document) -> dict[str, list[Resource]]:
    index: dict[str, list[Resource]] = {}
    for resource in document.resources:
        for identifier in identifiers(resource):
            index.setdefault(identifier, []).append(resource)
    return index


def match_literal(document: Document, value: str, kinds: tuple[str, ...]) -> Resource | Unresolved | None:
    """The resource of ``kinds`` whose name, id or ARN is ``value``; None when nothing here is."""
    wanted = [value]
    in_arn = name_in_arn(value)
    if in_arn is not None:
        arn_kinds, name = in_arn
        if kinds and not set(arn_kinds) & set(kinds):
            return None
        kinds = tuple(k for k in arn_kinds if not kinds or k in kinds)
        wanted.append(name)
    index = document.memo("identifiers", lambda: _identifier_index(document))
    found: list[Resource] = []
    for identifier in wanted:
        for resource in index.get(identifier, ()):
            if (not kinds or resource.is_(*kinds)) and all(r is not resource for r in found):
                found.append(resource)
    if len(found) > 1:
        return Unresolved(f"{value} matches {len(found)} resources")
    return found[0] if found else None


def tag_map(raw: Any) -> dict[str, Any] | Unresolved | None:
    """Tags as a map: from a list of {Key, Value} (CloudFormation) or a map; None when absent."""
    if raw is MISSING or raw is None:
        return None
    if isinstance(raw, dict):
        return dict(raw)
    if isinstance(raw, list):
        tags: dict[str, Any] = {}
        for item in raw:
            if not isinstance(item, dict) or "Key" not in item:
                return Unresolved("tags are not a list of Key/Value pairs")
            if not isinstance(item["Key"], str):
                return Unresolved("a tag key is computed")
            tags[item["Key"]] = item.get("Value")
        return tags
    return Unresolved(f"tags are computed ({str(raw)[:60]})")


def suppressions_of(raw: Any, where: str) -> dict[str, str]:
    """In-template suppressions: ``{"suppress": [{"rule": ..., "reason": ...}]}`` (CloudFormation
    ``Metadata.policies``, Terraform ``//.policies``, a Pulumi stack output); a reason is required."""
    if raw is None or raw is MISSING:
        return {}
    entries = raw.get("suppress") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        raise InputError(f"{where}: policies metadata wants {{'suppress': [{{'rule': ..., 'reason': ...}}]}}")
    found: dict[str, str] = {}
    for entry in entries:
        rule, reason = (entry.get("rule"), entry.get("reason")) if isinstance(entry, dict) else (None, None)
        if not isinstance(rule, str) or not rule.strip():
            raise InputError(f"{where}: a suppression without a rule")
        if not isinstance(reason, str) or not reason.strip():
            raise InputError(f"{where}: the suppression of {rule} has no reason")
        found[rule] = reason.strip()
    return found


ENVIRONMENT_TAGS = ("environment", "env")


def environment_from_tags(tags: dict[str, Any] | None) -> str | None:
    for key, value in (tags or {}).items():
        if key.lower() in ENVIRONMENT_TAGS and isinstance(value, str) and value:
            return value
    return None


def merge_tags(
    defaults: dict[str, Any] | Unresolved | None, own: dict[str, Any] | Unresolved | None
) -> dict[str, Any] | Unresolved:
    if isinstance(own, Unresolved):
        return own
    merged = {} if defaults is None or isinstance(defaults, Unresolved) else dict(defaults)
    merged.update(own or {})
    if isinstance(defaults, Unresolved) and not merged:
        return defaults
    return merged
