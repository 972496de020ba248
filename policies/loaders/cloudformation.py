"""CloudFormation: the templates of a CDK cloud assembly (``manifest.json``), or one template file
(SAM templates included).

References are intrinsic functions: ``Ref`` and ``Fn::GetAtt`` name a resource; ``Fn::Join`` and
``Fn::Sub`` are evaluated to text with generated values as placeholders (``«Bucket.Arn»``), and a
reference written that way is matched by its text (the same expression names the same thing).
What the template settles itself is settled: ``Fn::If`` gives both branches (a rule decides when
they agree), a parameter counts as its default, ``Fn::FindInMap`` reads the mappings. What it
does not (a parameter without a default, ``Fn::ImportValue``, a value only AWS assigns) is
unresolved. SAM resources are expanded (``policies/loaders/sam.py``), ``Fn::ForEach`` over a
list is expanded; what is not read (another transform, a module, a nested stack) is listed.
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
from policies.loaders.sam import SAM_TRANSFORM, expand_sam
from policies.model import MISSING, Choice, Document, Resource, Unresolved, choice, decide

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
_PLACEHOLDER = re.compile(r"«([^»]*)»")
FOREACH = "Fn::ForEach::"


def _intrinsic(value: Any) -> tuple[str, Any] | None:
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref" or key.startswith("Fn::"):
            return key, arg
    return None


def _no_value(value: Any) -> Any:
    return MISSING if value == {"Ref": "AWS::NoValue"} else value


def _parameter_value(spec: dict[str, Any]) -> Any:
    """A parameter's default as the template uses it (a list for list types)."""
    default = spec["Default"]
    kind = str(spec.get("Type", "String"))
    if isinstance(default, str) and (kind == "CommaDelimitedList" or kind.startswith("List<")):
        return [item.strip() for item in default.split(",")] if default else []
    return default


def _transforms(template: dict[str, Any]) -> list[str]:
    raw = template.get("Transform", [])
    names = raw if isinstance(raw, list) else [raw]
    return [
        n if isinstance(n, str) else str(n.get("Name", n)) if isinstance(n, dict) else str(n) for n in names
    ]


class CloudFormationDocument(Document):
    def __init__(self, *, stack: str, path: str, template: dict[str, Any], stack_tags: dict[str, Any]):
        super().__init__(format="cloudformation", stack=stack, path=path)
        resources = template.get("Resources")
        if not isinstance(resources, dict):
            raise InputError(f"{path}: Resources is not an object")
        template = dict(template)
        transforms = _transforms(template)
        if "AWS::LanguageExtensions" in transforms:
            resources = self._for_each(resources, template, path)
        if SAM_TRANSFORM in transforms or any(
            isinstance(b, dict) and str(b.get("Type", "")).startswith("AWS::Serverless::")
            for b in resources.values()
        ):
            resources, unread = expand_sam(resources, template.get("Globals") or {}, path)
            self.notes.extend(unread)
            self.unread.extend(unread)
        for name in transforms:
            if name not in (SAM_TRANSFORM, "AWS::LanguageExtensions"):
                self._unread(f"transform {name}: what it generates is not read")
        template["Resources"] = resources
        self.template = template
        self.parameters = template.get("Parameters") or {}
        if not isinstance(self.parameters, dict):
            raise InputError(f"{path}: Parameters is not an object")
        self.mappings = template.get("Mappings") or {}
        self.defaults = {
            name: _parameter_value(spec)
            for name, spec in self.parameters.items()
            if isinstance(spec, dict) and "Default" in spec
        }
        self.environment = environment_from_tags(stack_tags)
        outputs = template.get("Outputs") or {}
        self.outputs = {name: out.get("Value") for name, out in outputs.items() if isinstance(out, dict)}
        self.input_defaults = {
            name: spec["Default"]
            for name, spec in self.parameters.items()
            if isinstance(spec, dict) and "Default" in spec
        }
        for address, body in resources.items():
            if isinstance(address, str) and address.startswith(FOREACH):
                self._unread(f"{address}: its collection is computed, so the resources it makes are not read")
                continue
            if not isinstance(body, dict) or "Type" not in body:
                raise InputError(f"{path}: resource {address} has no Type")
            native_type = body["Type"]
            if not isinstance(native_type, str):
                raise InputError(
                    f"{path}: resource {address} has a Type that is not a string ({str(native_type)[:60]}):"
                    " a Rain module or another pre-processor's input? Package it first (rain pkg)"
                )
            properties = body.get("Properties", {})
            if properties is None:
                properties = {}
            if not isinstance(properties, dict):
                raise InputError(f"{path}: resource {address} has Properties that are not an object")
            metadata = body.get("Metadata") or {}
            if not isinstance(metadata, dict):
                raise InputError(f"{path}: resource {address} has Metadata that is not an object")
            resource = Resource(
                address=address,
                native_type=native_type,
                properties=properties,
                document=self,
                display=metadata.get("aws:cdk:path", "")
                if isinstance(metadata.get("aws:cdk:path"), str)
                else "",
            )
            resource.suppressions = suppressions_of(metadata.get("policies"), f"{path}: {address}")
            resource.tags = merge_tags(stack_tags, self._own_tags(resource))
            if native_type == "AWS::CloudFormation::Stack":
                self._unread(f"nested stack {address}: its template is not read")
            elif native_type.endswith("::MODULE"):
                self._unread(f"module {address} ({native_type}): what it expands to is not read")
            self.resources.append(resource)

    def _unread(self, note: str) -> None:
        self.notes.append(note)
        self.unread.append(note)

    # Fn::ForEach (AWS::LanguageExtensions) over a list the template settles.
    def _for_each(self, resources: dict[str, Any], template: dict[str, Any], path: str) -> dict[str, Any]:
        parameters = template.get("Parameters") or {}
        expanded: dict[str, Any] = {}
        for key, body in resources.items():
            if not (isinstance(key, str) and key.startswith(FOREACH)):
                expanded[key] = body
                continue
            if not (isinstance(body, list) and len(body) == 3 and isinstance(body[0], str)):
                raise InputError(f"{path}: {key} is not [identifier, collection, template]")
            identifier, collection, fragment = body
            if isinstance(collection, dict) and set(collection) == {"Ref"}:
                spec = parameters.get(collection["Ref"])
                collection = _parameter_value(spec) if isinstance(spec, dict) and "Default" in spec else None
            if not isinstance(collection, list) or not all(isinstance(v, str) for v in collection):
                expanded[key] = body  # listed as not read
                continue
            for value in collection:
                made = _substitute(fragment, identifier, value)
                made = self._for_each(made, template, path) if isinstance(made, dict) else made
                expanded.update(made)
        return expanded

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

    # What the template settles itself.
    def expand(self, value: Any) -> Any:
        intrinsic = _intrinsic(value)
        if intrinsic is None:
            return value
        key, arg = intrinsic
        if key == "Fn::If" and isinstance(arg, list) and len(arg) == 3:
            return choice(f"condition {arg[0]}", [_no_value(arg[1]), _no_value(arg[2])])
        if key == "Ref" and arg == "AWS::NoValue":
            return MISSING
        if key == "Ref" and isinstance(arg, str) and arg in self.defaults:
            return self.defaults[arg]
        if key == "Fn::FindInMap":
            return self._find_in_map(arg)
        return value

    def _find_in_map(self, arg: Any) -> Any:
        if not (isinstance(arg, list) and len(arg) >= 3 and isinstance(arg[0], str)):
            return Unresolved("Fn::FindInMap with computed arguments")
        mapping = self.mappings.get(arg[0])
        if not isinstance(mapping, dict):
            return Unresolved(f"no mapping {arg[0]}")
        top = self.expand(arg[1])
        second = self.expand(arg[2])
        if not isinstance(second, str):
            return Unresolved("Fn::FindInMap with a computed key")
        if isinstance(top, str):
            entry = mapping.get(top)
            return (
                entry.get(second, Unresolved(f"no {second} in {arg[0]}.{top}"))
                if isinstance(entry, dict)
                else Unresolved(f"no {top} in mapping {arg[0]}")
            )
        # A key AWS gives (the region): every entry of the mapping is a branch.
        options = [entry.get(second, MISSING) for entry in mapping.values() if isinstance(entry, dict)]
        return (
            choice(f"Fn::FindInMap {arg[0]} by a computed key", options)
            if options
            else Unresolved(f"mapping {arg[0]} is empty")
        )

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
        value = self.expand(value)
        if isinstance(value, Choice):
            return decide(value, lambda option: self.target(option, *kinds))
        if value is MISSING or value is None:
            return None
        if isinstance(value, str):
            return match_literal(self, value, kinds)
        intrinsic = _intrinsic(value)
        if intrinsic is not None and intrinsic[0] in ("Fn::Sub", "Fn::Join"):
            # The same expression names the same thing: match its text against names and ARNs.
            text = self.text(value)
            if isinstance(text, Unresolved):
                return text
            found = match_literal(self, text, kinds)
            if found is None and self._names_a_parameter(text):
                return Unresolved(f"{text} takes a parameter without a default")
            return found
        if (
            intrinsic is not None
            and intrinsic[0] == "Ref"
            and isinstance(intrinsic[1], str)
            and intrinsic[1] in self.parameters
        ):
            found = match_literal(self, f"«{intrinsic[1]}»", kinds)
            return found if found is not None else Unresolved(f"parameter {intrinsic[1]}")
        ref = self._ref_target(value)
        if isinstance(ref, Unresolved):
            return ref
        if ref is not None:
            resource = self.by_address(ref[0])
            if resource is None:
                return Unresolved(f"{ref[0]} is not a resource of this template")
            return resource if not kinds or resource.is_(*kinds) else None
        return Unresolved(f"not a reference: {str(value)[:60]}")

    def _names_a_parameter(self, text: str) -> bool:
        return any(name in self.parameters for name in _PLACEHOLDER.findall(text))

    def text(self, value: Any) -> str | Unresolved:
        value = self.expand(value)
        if isinstance(value, Choice):
            return decide(value, self.text)
        if isinstance(value, Unresolved):
            return value
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
            if key == "Ref" and isinstance(arg, str) and (arg in PSEUDO or arg in self.parameters):
                return f"«{arg}»"  # the same parameter gives the same text wherever it is used
            ref = self._ref_target(value)
            if ref is None:
                return Unresolved("no value")
            if isinstance(ref, Unresolved):
                return ref
            return self._placeholder(*ref)
        if key == "Fn::Join" and isinstance(arg, list) and len(arg) == 2:
            parts = self.expand(arg[1])
            if not isinstance(parts, list):
                return Unresolved("Fn::Join over a computed list")
            texts = [self.text(part) for part in parts]
            for part in texts:
                if isinstance(part, Unresolved):
                    return part
            return str(arg[0]).join(texts)  # type: ignore[arg-type]
        if key == "Fn::Sub":
            return self._sub(arg)
        if key == "Fn::Select" and isinstance(arg, list) and len(arg) == 2:
            index, items = self.expand(arg[0]), self.expand(arg[1])
            if isinstance(items, list) and isinstance(index, (int, str)) and str(index).isdigit():
                position = int(index)
                return (
                    self.text(items[position])
                    if position < len(items)
                    else Unresolved("Fn::Select out of range")
                )
        return Unresolved(f"{key} is evaluated at deployment")

    def _sub(self, arg: Any) -> str | Unresolved:
        if isinstance(arg, str):
            template, variables = arg, {}
        elif isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and isinstance(arg[1], dict):
            template, variables = arg
        else:
            return Unresolved("Fn::Sub with a computed template")
        problems: list[Unresolved] = []

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                inner = self.text(variables[name])
            elif "." in name and name.split(".", 1)[0] not in self.parameters:
                inner = self.text({"Fn::GetAtt": name.split(".", 1)})
            else:
                inner = self.text({"Ref": name})
            if isinstance(inner, Unresolved):
                problems.append(inner)
                return ""
            return inner

        result = _SUB_VARIABLE.sub(substitute, template).replace("${!", "${")
        return problems[0] if problems else result

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

    def known_identifiers(self, resource: Resource) -> set[str]:
        # What Ref and GetAtt give as text when the resource sets no name: references written as
        # Fn::Sub or Fn::Join ("${Bucket}", "${Bucket.Arn}/*") come out as these placeholders.
        return {f"«{resource.address}»", f"«{resource.address}.Arn»"}

    def scalar(self, value: Any) -> Any:
        value = self.expand(value)
        if isinstance(value, Choice):
            return choice(value.why, [self.scalar(option) for option in value.options])
        intrinsic = _intrinsic(value)
        if intrinsic is None:
            return value
        key, arg = intrinsic
        if key == "Ref" and isinstance(arg, str) and arg in self.parameters:
            return Unresolved(f"parameter {arg} (no default)")
        if key in ("Fn::Sub", "Fn::Join"):
            text = self.text(value)
            if isinstance(text, str) and "«" not in text:
                return text
        return Unresolved(f"{key} is evaluated at deployment")

    def policy_statements(self, value: Any) -> list[dict[str, Any]] | Unresolved:
        value = self.expand(value)
        if isinstance(value, Choice):
            return value
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                return Unresolved("the policy is not JSON")
        if not isinstance(value, dict) or _intrinsic(value) is not None:
            return Unresolved("the policy document is computed")
        statements = self.expand(value.get("Statement", []))
        if isinstance(statements, Unresolved):
            return statements
        statements = statements if isinstance(statements, list) else [statements]
        statements = [self.expand(s) for s in statements]
        if not all(isinstance(s, dict) for s in statements):
            return Unresolved("a statement is computed")
        return statements


def _substitute(value: Any, identifier: str, replacement: str) -> Any:
    """A Fn::ForEach fragment for one value: ${id} and &{id} in keys and text, Ref id as the value."""
    stripped = re.sub(r"[^A-Za-z0-9]", "", replacement)

    def in_text(text: str) -> str:
        return text.replace(f"${{{identifier}}}", replacement).replace(f"&{{{identifier}}}", stripped)

    if value == {"Ref": identifier}:
        return replacement
    if isinstance(value, dict):
        return {in_text(k): _substitute(v, identifier, replacement) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, identifier, replacement) for v in value]
    if isinstance(value, str):
        return in_text(value)
    return value


def parse_template(path: Path) -> dict[str, Any]:
    try:
        template = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{path}: not a readable JSON template ({error})") from error
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise InputError(f"{path}: not a CloudFormation template (no Resources)")
    return template


def load_template(path: Path, stack: str | None = None, stack_tags: dict[str, Any] | None = None) -> Document:
    template = parse_template(path)
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
