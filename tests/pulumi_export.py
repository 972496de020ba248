"""Reading a resources.json document (pulumi_offline) in tests: resources by type, name, URN, region."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Export:
    document: dict[str, Any]

    @property
    def resources(self) -> list[dict[str, Any]]:
        return self.document["deployment"]["resources"]

    @property
    def outputs(self) -> dict[str, Any]:
        return self.resources[0]["outputs"]

    def of_type(self, token: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["type"] == token]

    def named(self, token: str, name: str) -> dict[str, Any]:
        (found,) = [r for r in self.of_type(token) if r["urn"].endswith(f"::{name}")]
        return found

    def by_urn(self, urn: str) -> dict[str, Any]:
        (found,) = [r for r in self.resources if r["urn"] == urn]
        return found

    def by_id(self, resource_id: str) -> dict[str, Any]:
        (found,) = [r for r in self.resources if r.get("id") == resource_id]
        return found

    def name_of(self, resource: dict[str, Any]) -> str:
        return resource["urn"].rsplit("::", 1)[1]

    def children(self, component: dict[str, Any]) -> list[dict[str, Any]]:
        """Every resource under a component, at any depth."""
        found, parents = [], {component["urn"]}
        for resource in self.resources:  # parents precede children (engine order)
            if resource.get("parent") in parents:
                found.append(resource)
                parents.add(resource["urn"])
        return found

    def region(self, resource: dict[str, Any]) -> str:
        """The region a custom resource is created in: its own ``region`` input or its provider's."""
        if resource["inputs"].get("region"):
            return resource["inputs"]["region"]
        provider = self.by_urn(resource["provider"].rsplit("::", 1)[0])
        return provider["inputs"]["region"]

    def policy(self, resource: dict[str, Any], key: str = "policy") -> dict[str, Any]:
        return json.loads(resource["inputs"][key])

    def role_statements(self, function: dict[str, Any]) -> list[dict[str, Any]]:
        """The statements of the inline policies of a Lambda function's execution role."""
        role_name = function["inputs"]["role"].rsplit("/", 1)[1]
        (role,) = [r for r in self.of_type("aws:iam/role:Role") if r["inputs"]["name"] == role_name]
        return [
            statement
            for policy in self.of_type("aws:iam/rolePolicy:RolePolicy")
            if policy["inputs"]["role"] in (role["id"], role_name)
            for statement in self.policy(policy)["Statement"]
        ]
