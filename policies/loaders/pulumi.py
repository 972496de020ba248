"""Pulumi: a deployment as ``pulumi stack export`` writes it (version 3), ours or anyone's.

Inputs are engine names (camelCase) with every value resolved, so a reference is the other
resource's id, name or ARN: it is matched against the ids, names and ARNs in the document
(``outputs`` too, when a real export has them). Secrets (signature objects) and the engine's
unknown marker are unresolved, never read as plain values.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from policies.loaders.base import (
    InputError,
    environment_from_tags,
    match_literal,
    merge_tags,
    suppressions_of,
    tag_map,
)
from policies.model import MISSING, Document, Resource, Unresolved

SIG = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"  # noqa: S105 (the engine's secret signature)
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
STACK_TYPE = "pulumi:pulumi:Stack"
SUPPRESS_OUTPUT = "policies_suppress"  # pulumi.export(SUPPRESS_OUTPUT, {"<resource name>": [{rule, reason}]})


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SIG) == SECRET_SIG


def _special(value: Any) -> Unresolved | None:
    if is_secret(value):
        return Unresolved("a secret")
    if value == UNKNOWN:
        return Unresolved("unknown until the update runs")
    return None


class PulumiDocument(Document):
    def __init__(self, *, path: str, deployment: dict[str, Any]):
        entries = deployment.get("resources") or []
        if not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("urn"), str) for e in entries
        ):
            raise InputError(f"{path}: deployment.resources is not a list of resources with URNs")
        stack_entry = next((e for e in entries if e.get("type") == STACK_TYPE), None)
        urn = entries[0]["urn"].split("::") if entries else ["urn:pulumi:?", "?"]
        stack_name, project = urn[0].removeprefix("urn:pulumi:"), urn[1]
        super().__init__(format="pulumi", stack=f"{project}/{stack_name}", path=path)
        self.outputs = dict((stack_entry or {}).get("outputs") or {})
        self.providers = {
            e["urn"]: e for e in entries if str(e.get("type", "")).startswith("pulumi:providers:")
        }
        suppress = self.outputs.get(SUPPRESS_OUTPUT, {})
        if not isinstance(suppress, dict):
            raise InputError(f"{path}: the {SUPPRESS_OUTPUT} output maps resource names to suppressions")
        self.extra: dict[str, dict[str, Any]] = {}  # address -> {id, outputs, region}
        environments = set()
        for entry in entries:
            if not entry.get("custom") or str(entry.get("type", "")).startswith("pulumi:providers:"):
                continue
            if not isinstance(entry.get("type", ""), str) or not isinstance(entry.get("inputs") or {}, dict):
                raise InputError(f"{path}: {entry['urn']} has a type or inputs of the wrong shape")
            inputs = {k: v for k, v in (entry.get("inputs") or {}).items() if not k.startswith("__")}
            provider = self._provider(entry)
            defaults = self._default_tags(provider)
            resource = Resource(
                address=entry["urn"],
                native_type=entry.get("type", ""),
                properties=inputs,
                document=self,
                display=entry["urn"].rsplit("::", 1)[-1],
            )
            resource.suppressions = suppressions_of(
                {"suppress": suppress[resource.display]} if resource.display in suppress else None,
                f"{path}: {SUPPRESS_OUTPUT}.{resource.display}",
            )
            own = inputs.get("tags", MISSING)
            special = _special(own)
            resource.tags = merge_tags(defaults, tag_map(own) if special is None else special)
            if isinstance(defaults, dict):
                environments.add(environment_from_tags(defaults))
            self.extra[entry["urn"]] = {
                "id": entry.get("id"),
                "outputs": entry.get("outputs") or {},
                "region": inputs.get("region") or ((provider or {}).get("inputs") or {}).get("region"),
            }
            self.resources.append(resource)
        pending = deployment.get("pending_operations") or []
        if pending:
            note = (
                f"{len(pending)} pending operation(s): what an interrupted update was changing"
                " is not in the export"
            )
            self.notes.append(note)
            self.unread.append(note)
        environments.discard(None)
        # The stack is the environment when no provider tags say otherwise (dev, prod ...).
        self.environment = environments.pop() if len(environments) == 1 else stack_name

    def _provider(self, entry: dict[str, Any]) -> dict[str, Any] | None:
        reference = entry.get("provider")
        return self.providers.get(reference.rsplit("::", 1)[0]) if reference else None

    @staticmethod
    def _default_tags(provider: dict[str, Any] | None) -> dict[str, Any] | Unresolved | None:
        if provider is None:
            return None
        raw = (provider.get("inputs") or {}).get("defaultTags", MISSING)
        if raw is MISSING:
            return None
        if _special(raw) is not None:
            return Unresolved("the provider's default tags are a secret")
        if isinstance(raw, str):  # provider inputs are strings: JSON for objects
            try:
                raw = json.loads(raw)
            except json.JSONDecodeError:
                return Unresolved("the provider's default tags are not JSON")
        return tag_map((raw or {}).get("tags", MISSING)) if isinstance(raw, dict) else None

    def region(self, resource: Resource) -> str | None:
        return self.extra.get(resource.address, {}).get("region")

    def known_identifiers(self, resource: Resource) -> set[str]:
        extra = self.extra.get(resource.address, {})
        found = {extra.get("id")}
        outputs = extra.get("outputs") or {}
        found.update(outputs.get(key) for key in ("arn", "id", "name", "bucket"))
        found.add(resource.properties.get("arn"))
        return {value for value in found if isinstance(value, str) and value}

    def is_reference(self, value: Any) -> bool:
        return False

    def target(self, value: Any, *kinds: str) -> Resource | Unresolved | None:
        special = _special(value)
        if special is not None:
            return special
        if isinstance(value, str):
            return match_literal(self, value, kinds)
        if value is MISSING or value is None:
            return None
        return Unresolved(f"not a reference: {str(value)[:60]}")

    def text(self, value: Any) -> str | Unresolved:
        special = _special(value)
        if special is not None:
            return special
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, (int, float, str)):
            return str(value)
        return Unresolved(f"not text: {str(value)[:60]}")

    def scalar(self, value: Any) -> Any:
        special = _special(value)
        return value if special is None else special

    def policy_statements(self, value: Any) -> list[dict[str, Any]] | Unresolved:
        special = _special(value)
        if special is not None:
            return special
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                return Unresolved("the policy is not JSON")
        if not isinstance(value, dict):
            return Unresolved("the policy document is not an object")
        statements = value.get("Statement", [])
        return statements if isinstance(statements, list) else [statements]


def load_export(path: Path) -> Document:
    try:
        document = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{path}: not a readable JSON document ({error})") from error
    return from_export(document, str(path))


def from_export(document: Any, path: str = "<export>") -> Document:
    if not isinstance(document, dict) or not isinstance(document.get("deployment"), dict):
        raise InputError(f"{path}: not a Pulumi export (no deployment)")
    if document.get("version") != 3:
        raise InputError(
            f"{path}: Pulumi deployment version {document.get('version')!r}; only version 3 is read"
        )
    return PulumiDocument(path=path, deployment=document["deployment"])
