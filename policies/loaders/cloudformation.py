"""CloudFormation: the templates of a CDK cloud assembly (``manifest.json``), or one template file.

References are intrinsic functions: ``Ref`` and ``Fn::GetAtt`` name a resource; ``Fn::Join`` and
``Fn::Sub`` are evaluated to text with generated values as placeholders; anything else
(``Fn::If``, ``Fn::ImportValue``, parameters) is unresolved.
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
    tag_map,
)
from policies.model import MISSING, Document, Resource, Unresolved

PSEUDO = {
    "AWS::AccountId",
    "AWS::Region",
    "AWS::Partition",
    "AWS::URLSuffix",
    "AWS::StackName",
    "AWS::StackId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
}
_SUB_VARIABLE = re.compile(r"\$\{(?!!)([^}]+)\}")


def _intrinsic(value: Any) -> tuple[str, Any] | None:
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref" or key.startswith("Fn::"):
            return key, arg
    return None


class CloudFormationDocument(Document):
    def __init__(self, *, stack: str, path: str, template: dict[str, Any], stack_tags: dict[str, Any]):
        super().__init__(format="cloudformation", stack=stack, path=path)
        self.template = template
        self.parameters = template.get("Parameters") or {}
        self.environment = environment_from_tags(stack_tags)
        self.outputs = {name: out.get("Value") for name, out in (template.get("Outputs") or {}).items()}
        self.input_defaults = {
            name: spec["Default"]
            for name, spec in self.parameters.items()
            if isinstance(spec, dict) and "Default" in spec
        }
        for address, body in (template.get("Resources") or {}).items():
            if not isinstance(body, dict) or "Type" not in body:
                raise InputError(f"{path}: resource {address} has no Type")
            properties = body.get("Properties") or {}
            resource = Resource(
                address=address,
                native_type=body["Type"],
                properties=properties,
                document=self,
                display=(body.get("Metadata") or {}).get("aws:cdk:path", ""),
            )
            resource.tags = merge_tags(stack_tags, self._own_tags(resource))
            if body["Type"] == "AWS::CloudFormation::Stack":
                self.notes.append(f"nested stack {address}: its template is not read")
            self.resources.append(resource)

    @staticmethod
    def _own_tags(resource: Resource) -> dict[str, Any] | Unresolved | None:
        if resource.native_type == "AWS::DynamoDB::GlobalTable":  # tags live on each replica
            merged: dict[str, Any] = {}
            for replica in resource.properties.get("Replicas") or []:
                tags = tag_map(replica.get("Tags", MISSING)) if isinstance(replica, dict) else None
                if isinstance(tags, Unresolved):
                    return tags
                merged.update(tags or {})
            return merged
        if resource.native_type == "AWS::EFS::FileSystem":
            return tag_map(resource.properties.get("FileSystemTags", MISSING))
        return tag_map(resource.properties.get("Tags", MISSING))

    def is_reference(self, value: Any) -> bool:
        return _intrinsic(value) is not None

    def _ref_target(self, value: Any) -> tuple[str, str | None] | Unresolved | None:
        """(logical id, attribute or None for Ref) of a Ref/GetAtt to a resource."""
        intrinsic = _intrinsic(value)
        if intrinsic is None:
            return None
        key, arg = intrinsic
        if key == "Ref":
            if not isinstance(arg, str):
                return Unresolved(f"a Ref to {str(arg)[:40]}")
            if arg in self.parameters:
                return Unresolved(f"parameter {arg}")
            if arg in PSEUDO:
                return None
            return (arg, None)
        if key == "Fn::GetAtt":
            if isinstance(arg, str):
                logical_id, _, attribute = arg.partition(".")
                return (logical_id, attribute)
            if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str):
                attribute = arg[1] if isinstance(arg[1], str) else "?"
                return (arg[0], attribute)
        return Unresolved(f"{key} is evaluated at deployment")

    def target(self, value: Any, *kinds: str) -> Resource | Unresolved | None:
        ref = self._ref_target(value)
        if isinstance(ref, Unresolved):
            return ref
        if ref is not None:
            resource = self.by_address(ref[0])
            if resource is None:
                return Unresolved(f"{ref[0]} is not a resource of this template")
            return resource if not kinds or resource.is_(*kinds) else None
        if isinstance(value, str):
            return match_literal(self, value, kinds)
        if value is MISSING or value is None:
            return None
        return Unresolved(f"not a reference: {str(value)[:60]}")

    def text(self, value: Any) -> str | Unresolved:
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, (int, float)):
            return str(value)
        intrinsic = _intrinsic(value)
        if intrinsic is None:
            return Unresolved(f"not text: {str(value)[:60]}")
        key, arg = intrinsic
        if key in ("Ref", "Fn::GetAtt"):
            if key == "Ref" and isinstance(arg, str) and arg in PSEUDO:
                return f"«{arg}»"
            ref = self._ref_target(value)
            if ref is None:
                return Unresolved("no value")
            if isinstance(ref, Unresolved):
                return ref
            return self._placeholder(*ref)
        if key == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
            parts = [self.text(part) for part in arg[1]]
            for part in parts:
                if isinstance(part, Unresolved):
                    return part
            return str(arg[0]).join(parts)  # type: ignore[arg-type]
        if key == "Fn::Sub":
            if isinstance(arg, str):
                template, variables = arg, {}
            elif (
                isinstance(arg, list)
                and len(arg) == 2
                and isinstance(arg[0], str)
                and isinstance(arg[1], dict)
            ):
                template, variables = arg
            else:
                return Unresolved("Fn::Sub with a computed template")
            problems: list[Unresolved] = []

            def substitute(match: re.Match[str]) -> str:
                name = match.group(1)
                if name in variables:
                    inner = self.text(variables[name])
                elif "." in name:
                    inner = self.text({"Fn::GetAtt": name.split(".", 1)})
                else:
                    inner = self.text({"Ref": name})
                if isinstance(inner, Unresolved):
                    problems.append(inner)
                    return ""
                return inner

            result = _SUB_VARIABLE.sub(substitute, template)
            return problems[0] if problems else result
        return Unresolved(f"{key} is evaluated at deployment")

    def _placeholder(self, logical_id: str, attribute: str | None) -> str | Unresolved:
        resource = self.by_address(logical_id)
        if resource is None:
            return Unresolved(f"{logical_id} is not a resource of this template")
        kind = resource.kind
        if attribute is None and kind is not None and kind.ref_is_name:
            name = resource.name
            if name is not None:
                return name
        return f"«{logical_id}.{attribute}»" if attribute else f"«{logical_id}»"

    def scalar(self, value: Any) -> Any:
        intrinsic = _intrinsic(value)
        if intrinsic is None:
            return value
        key, arg = intrinsic
        if key == "Ref" and isinstance(arg, str) and arg in self.parameters:
            return Unresolved(f"parameter {arg}")
        return Unresolved(f"{key} is evaluated at deployment")

    def policy_statements(self, value: Any) -> list[dict[str, Any]] | Unresolved:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                return Unresolved("the policy is not JSON")
        if not isinstance(value, dict) or _intrinsic(value) is not None:
            return Unresolved("the policy document is computed")
        statements = value.get("Statement", [])
        statements = statements if isinstance(statements, list) else [statements]
        if not all(isinstance(s, dict) for s in statements):
            return Unresolved("a statement is computed")
        return statements


def load_template(path: Path, stack: str | None = None, stack_tags: dict[str, Any] | None = None) -> Document:
    try:
        template = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{path}: not a readable JSON template ({error})") from error
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise InputError(f"{path}: not a CloudFormation template (no Resources)")
    name = stack or path.name.removesuffix(".json").removesuffix(".template")
    return CloudFormationDocument(stack=name, path=str(path), template=template, stack_tags=stack_tags or {})


def load_assembly(directory: Path) -> list[Document]:
    """Every stack template of a cloud assembly, nested assemblies (CDK stages) included."""
    manifest_path = directory / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise InputError(f"{manifest_path}: not a readable cloud assembly manifest ({error})") from error
    documents: list[Document] = []
    for artifact_id, artifact in (manifest.get("artifacts") or {}).items():
        properties = artifact.get("properties") or {}
        if artifact.get("type") == "aws:cloudformation:stack":
            documents.append(
                load_template(
                    directory / properties["templateFile"],
                    stack=properties.get("stackName") or artifact.get("displayName") or artifact_id,
                    stack_tags=properties.get("tags") or {},
                )
            )
        elif artifact.get("type") == "cdk:cloud-assembly":
            documents.extend(load_assembly(directory / properties["directoryName"]))
    return documents
