"""The transactions stacks, synthesized once per test session (dev, and prod with an S3 backend).

Importing any cdktf_cdktf_provider_aws submodule loads the whole jsii assembly (10-15 s), so this
happens once, here, and only the submodules the stack uses are imported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

VARIANTS = {
    "dev": {"env": "dev"},
    "prod": {
        "env": "prod",
        "state_bucket": "example-terraform-state",
        "alarm_email": "oncall@example.com",
        "reserved_concurrency": 10,
    },
}


@dataclass(frozen=True)
class SynthesizedStack:
    name: str
    directory: Path  # out/.../stacks/<name>/: where Terraform runs and relative paths resolve
    text: str  # cdk.tf.json as synthesized, for cdktf.Testing matchers

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.text)

    def resources(self, tf_type: str) -> dict[str, dict[str, Any]]:
        return self.json["resource"].get(tf_type, {})

    def one(self, tf_type: str) -> tuple[str, dict[str, Any]]:
        found = self.resources(tf_type)
        assert len(found) == 1, f"expected one {tf_type}, found {sorted(found)}"
        return next(iter(found.items()))


@pytest.fixture(scope="session")
def transactions() -> dict[str, SynthesizedStack]:
    from cdktf import Testing

    from cdktf_transactions.config import TransactionsConfig
    from cdktf_transactions.stack import TransactionsStack
    from lambda_src.build import build

    build()
    result = {}
    for variant, settings in VARIANTS.items():
        app = Testing.app()
        stack = TransactionsStack(app, config=TransactionsConfig(**settings))
        outdir = Path(Testing.full_synth(stack))
        directory = outdir / "stacks" / stack.node.id
        result[variant] = SynthesizedStack(stack.node.id, directory, (directory / "cdk.tf.json").read_text())
    return result


@pytest.fixture(scope="session")
def dev(transactions):
    return transactions["dev"]


@pytest.fixture(scope="session")
def prod(transactions):
    return transactions["prod"]
