"""The fraud pipeline program, run once per session under Pulumi mocks (pulumi_fraud_pipeline.offline),
read as the resources.json document `make synth-all` writes."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


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
def fraud_with_email(tmp_path_factory: pytest.TempPathFactory) -> Export:
    """The same program with alertEmail set; in its own process (the mocks hold one program each)."""
    out = tmp_path_factory.mktemp("fraud-email")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pulumi_fraud_pipeline.offline",
            "--out",
            str(out),
            "--set",
            "fraud-pipeline:alertEmail=fraud-team@example.com",
        ],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    return Export(json.loads((out / "resources.json").read_text()))


@pytest.fixture(scope="session")
def fraud() -> Export:
    from lambda_src.build import build
    from pulumi_fraud_pipeline.offline import run

    build()
    return Export(json.loads(json.dumps(run("dev"))))
