"""The fraud pipeline program, run once per session under Pulumi mocks (pulumi_fraud_pipeline.offline),
read as the resources.json document `make synth-all` writes."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

import pytest


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

    def policy(self, resource: dict[str, Any]) -> dict[str, Any]:
        return json.loads(resource["inputs"]["policy"])


@pytest.fixture(scope="session")
def fraud() -> Export:
    return run_program()


@functools.cache  # once per session: tests/policies/ reads the same document
def run_program() -> Export:
    from lambda_src.build import build
    from pulumi_fraud_pipeline.offline import run

    build()
    return Export(json.loads(json.dumps(run("dev"))))
