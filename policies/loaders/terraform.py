"""Terraform JSON: the stacks of a CDKTF output (``manifest.json``), or one ``*.tf.json`` file.

References are interpolations: a whole ``${aws_x.y.attr}`` names a resource; text with
interpolations is evaluated with generated values as placeholders; function calls
(``${jsonencode(...)}``) are unresolved. ``aws_iam_policy_document`` data sources are read as
policies.
"""

from __future__ import annotations

import json
import re
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

_REFERENCE = re.compile(
    r"^(?P<address>(?:data\.)?[A-Za-z][A-Za-z0-9_-]*\.[A-Za-z0-9_-]+)(?:\[[^\]]*\])?(?:\.(?P<attr>[A-Za-z0-9_.\[\]\"]+))?$"
)
_IGNORED = {"//", "depends_on", "lifecycle", "provider", "count", "for_each", "provisioner", "connection"}


def _interpolations(text: str) -> list[tuple[int, int, str]] | None:
    """(start, end, expression) of each ``${...}`` in ``text``; None when braces do not balance."""
    found, index = [], 0
    while True:
        start = text.find("${", index)
        if start < 0:
            return found
        depth, position = 0, start + 1
        while position < len(text):
            char = text[position]
            depth += {"{": 1, "}": -1}.get(char, 0)
            if depth == 0:
                break
            position += 1
        if depth != 0:
            return None
        found.append((start, position + 1, text[start + 2 : position]))
        index = position + 1


def _whole_reference(value: Any) -> tuple[str, str | None] | None:
    if not isinstance(value, str):
        return None
    spans = _interpolations(value)
    if not spans or len(spans) != 1 or spans[0][0] != 0 or spans[0][1] != len(value):
        return None
    match = _REFERENCE.match(spans[0][2].strip())
    return (match.group("address"), match.group("attr")) if match else None


def _iam_statement(statement: dict[str, Any]) -> dict[str, Any]:
    """An ``aws_iam_policy_document`` statement in IAM JSON form."""
    iam: dict[str, Any] = {
        "Effect": statement.get("effect", "Allow"),
        "Action": statement.get("actions", []),
        "Resource": statement.get("resources", []),
    }
    if statement.get("not_actions"):
        iam["NotAction"] = statement["not_actions"]
    principals = statement.get("principals") or []
    if principals:
        iam["Principal"] = {p.get("type"): p.get("identifiers") for p in principals if isinstance(p, dict)}
    for condition in statement.get("condition") or []:
        iam.setdefault("Condition", {}).setdefault(condition.get("test"), {})[condition.get("variable")] = (
            condition.get("values")
        )
    return iam


class TerraformDocument(Document):
    def __init__(self, *, stack: str, path: str, config: dict[str, Any]):
        super().__init__(format="terraform", stack=stack, path=path)
        self.config = config
        self.data = config.get("data") or {}
        providers = self._aws_providers(config.get("provider") or {})
        default_tags = providers.get("")
        self.environment = environment_from_tags(default_tags if isinstance(default_tags, dict) else None)
        self.outputs = {name: out.get("value") for name, out in (config.get("output") or {}).items()}
        self.input_defaults = {
            name: spec["default"]
            for name, spec in (config.get("variable") or {}).items()
            if isinstance(spec, dict) and "default" in spec
        }
        for module in config.get("module") or {}:
            self.notes.append(f"module {module}: its resources are not read")
            self.unread.append(f"module {module}: its resources are not read")
        blocks = config.get("resource") or {}
        if not isinstance(blocks, dict):
            raise InputError(f"{path}: resource is not an object of types")
        for native_type, instances in blocks.items():
            if not isinstance(instances, dict):
                raise InputError(f"{path}: resource.{native_type} is not an object of named resources")
            for name, body in instances.items():
                if not isinstance(body, dict):
                    raise InputError(f"{path}: {native_type}.{name} is not an object")
                comment = body.get("//") if isinstance(body.get("//"), dict) else {}
                properties = {k: v for k, v in body.items() if k not in _IGNORED}
                resource = Resource(
                    address=f"{native_type}.{name}",
                    native_type=native_type,
                    properties=properties,
                    document=self,
                    display=str((comment.get("metadata") or {}).get("path", "")),
                )
                resource.suppressions = suppressions_of(
                    comment.get("policies"), f"{path}: {resource.address}"
                )
                for meta in ("count", "for_each"):
                    if meta in body:
                        self.notes.append(f"{resource.address}: {meta} is not expanded, it is judged once")
                alias = str(body.get("provider", "")).removeprefix("aws.")
                defaults = providers.get(alias if alias != "aws" else "", {})
                resource.tags = merge_tags(defaults, tag_map(properties.get("tags", MISSING)))
                self.resources.append(resource)

    @staticmethod
    def _aws_providers(providers: dict[str, Any]) -> dict[str, dict[str, Any] | Unresolved]:
        """alias ('' for the default) -> default tags of each AWS provider block."""
        found: dict[str, dict[str, Any] | Unresolved] = {}
        blocks = providers.get("aws") or []
        for block in blocks if isinstance(blocks, list) else [blocks]:
            tags: dict[str, Any] | Unresolved = {}
            for default_tags in block.get("default_tags") or []:
                mapped = tag_map(default_tags.get("tags", MISSING))
                if isinstance(mapped, Unresolved):
                    tags = mapped
                elif mapped and isinstance(tags, dict):
                    tags.update(mapped)
            found[block.get("alias", "")] = tags
        return found

    def is_reference(self, value: Any) -> bool:
        return isinstance(value, str) and "${" in value

    def target(self, value: Any, *kinds: str) -> Resource | Unresolved | None:
        reference = _whole_reference(value)
        if reference is not None:
            address = reference[0]
            if address.startswith("data."):
                return Unresolved(f"{address} is a data source: looked up at plan time")
            resource = self.by_address(address)
            if resource is None:
                return Unresolved(f"{address} is not a resource of this stack")
            return resource if not kinds or resource.is_(*kinds) else None
        if isinstance(value, str):
            if "${" in value:
                return Unresolved(f"an expression: {value[:60]}")
            return match_literal(self, value, kinds)
        if value is MISSING or value is None:
            return None
        return Unresolved(f"not a reference: {str(value)[:60]}")

    def text(self, value: Any) -> str | Unresolved:
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, (int, float)):
            return str(value)
        if not isinstance(value, str):
            return Unresolved(f"not text: {str(value)[:60]}")
        spans = _interpolations(value)
        if spans is None:
            return Unresolved(f"unbalanced interpolation: {value[:60]}")
        result, index = [], 0
        for start, end, expression in spans:
            result.append(value[index:start])
            match = _REFERENCE.match(expression.strip())
            if not match:
                return Unresolved(f"an expression: {expression[:60]}")
            resolved = self._placeholder(match.group("address"), match.group("attr"))
            if isinstance(resolved, Unresolved):
                return resolved
            result.append(resolved)
            index = end
        result.append(value[index:])
        return "".join(result)

    def _placeholder(self, address: str, attribute: str | None) -> str | Unresolved:
        resource = self.by_address(address)
        if resource is None:
            return Unresolved(f"{address} is computed at plan time")
        kind = resource.kind
        name_attribute = kind.name_property("terraform") if kind else None
        if attribute == name_attribute or (attribute == "id" and kind is not None and kind.ref_is_name):
            name = resource.name
            if name is not None:
                return name
        return f"«{address}.{attribute}»" if attribute else f"«{address}»"

    def scalar(self, value: Any) -> Any:
        if isinstance(value, str) and "${" in value:
            return Unresolved(f"computed: {value[:60]}")
        return value

    def policy_statements(self, value: Any) -> list[dict[str, Any]] | Unresolved:
        reference = _whole_reference(value)
        if reference is not None:
            address, attribute = reference
            prefix = "data.aws_iam_policy_document."
            if address.startswith(prefix) and attribute == "json":
                document = (self.data.get("aws_iam_policy_document") or {}).get(address.removeprefix(prefix))
                if document is None:
                    return Unresolved(f"{address} is not in this stack")
                if document.get("source_policy_documents") or document.get("override_policy_documents"):
                    return Unresolved(f"{address} merges other documents")
                return [_iam_statement(s) for s in document.get("statement") or []]
            return Unresolved(f"the policy is {address}.{attribute}")
        if isinstance(value, str):
            # JSON text whose ${...} stand inside its strings (an ARN) parses as it is; the rules
            # read those strings with ``text``. A whole expression (jsonencode) does not.
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                if "${" in value:
                    return Unresolved("the policy is an expression (jsonencode or interpolation)")
                return Unresolved("the policy is not JSON")
        if not isinstance(value, dict):
            return Unresolved("the policy document is computed")
        statements = value.get("Statement", [])
        return statements if isinstance(statements, list) else [statements]


def load_config(path: Path, stack: str | None = None) -> Document:
    try:
        config = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{path}: not readable Terraform JSON ({error})") from error
    if not isinstance(config, dict) or not any(k in config for k in ("resource", "terraform", "provider")):
        raise InputError(f"{path}: not a Terraform JSON configuration (no resource/terraform/provider)")
    return TerraformDocument(stack=stack or path.parent.name, path=str(path), config=config)


def load_cdktf_output(directory: Path) -> list[Document]:
    manifest_path = directory / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise InputError(f"{manifest_path}: not a readable CDKTF manifest ({error})") from error
    documents = []
    for name, stack in (manifest.get("stacks") or {}).items():
        documents.append(
            load_config(directory / stack["synthesizedStackPath"], stack=stack.get("name", name))
        )
    return documents
