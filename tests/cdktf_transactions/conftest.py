"""The transactions stacks, synthesized once per test session (dev; dev again in a second region;
prod with an S3 backend).

In a child process (synth.py), with the provider's resource modules loaded as the stacks use them
(cdktf_transactions/provider_loading.py): its jsii kernel exits with that process instead of
staying beside the CDK's kernel on the same xdist worker (tests/conftest.py: FIXTURE_SCOPES).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
VARIANTS = {
    "dev": {"env": "dev", "alarm_email": "oncall@example.com"},
    "dev_eu": {"env": "dev", "region": "eu-west-1", "alarm_email": "oncall@example.com"},  # same env
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
    text: str  # cdk.tf.json as synthesized, for cdktn.Testing matchers
    hcl: str  # the same stack as `cdktn synth --hcl` renders it

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.text)

    def resources(self, tf_type: str) -> dict[str, dict[str, Any]]:
        return self.json["resource"].get(tf_type, {})

    def one(self, tf_type: str) -> tuple[str, dict[str, Any]]:
        found = self.resources(tf_type)
        assert len(found) == 1, f"expected one {tf_type}, found {sorted(found)}"
        return next(iter(found.items()))

    def topic_arn(self, construct_id: str) -> str:
        """The reference to the ARN of the topic ``observability/<construct_id>``."""
        (name,) = [
            n for n in self.resources("aws_sns_topic") if n.startswith(f"observability_{construct_id}_")
        ]
        return f"${{aws_sns_topic.{name}.arn}}"

    def function(self, source: str) -> dict[str, Any]:
        """The function packaged from lambda_src/cdktf_transactions/<source>/."""
        (fn,) = [
            fn
            for fn in self.resources("aws_lambda_function").values()
            if fn["environment"]["variables"]["POWERTOOLS_SERVICE_NAME"] == source
        ]
        return fn

    def statements(self, policy: str) -> list[dict[str, Any]]:
        """IAM-style statements of ``${data.aws_iam_policy_document.<name>.json}``."""
        match = POLICY_DOCUMENT.fullmatch(policy)
        assert match, f"not a policy document reference: {policy[:80]}"
        document = self.json["data"]["aws_iam_policy_document"][match.group(1)]
        return [as_iam(statement) for statement in document["statement"]]

    def role_statements(self, role_arn: str) -> list[dict[str, Any]]:
        """Every statement of the inline policies of the role ``role_arn`` refers to."""
        role = role_arn.replace(".arn}", ".id}")
        return [
            statement
            for policy in self.resources("aws_iam_role_policy").values()
            if policy["role"] == role
            for statement in self.statements(policy["policy"])
        ]


# The stack's one caller-identity data source: trust policies and the key policy name this account.
ACCOUNT = "${data.aws_caller_identity.account.account_id}"
POLICY_DOCUMENT = re.compile(r"\$\{data\.aws_iam_policy_document\.([A-Za-z0-9_-]+)\.json\}")


def as_iam(statement: dict[str, Any]) -> dict[str, Any]:
    """A data-source statement in IAM JSON form (Sid, Effect, Action, Resource, Principal, Condition)."""
    iam = {
        "Sid": statement.get("sid"),
        "Effect": statement.get("effect", "Allow"),
        "Action": statement["actions"],
    }
    if "resources" in statement:  # a trust policy's statements have none
        iam["Resource"] = statement["resources"]
    if statement.get("principals"):
        iam["Principal"] = {p["type"]: p["identifiers"] for p in statement["principals"]}
    if statement.get("condition"):
        iam["Condition"] = {}
        for condition in statement["condition"]:
            iam["Condition"].setdefault(condition["test"], {})[condition["variable"]] = condition["values"]
    return iam


def synthesize_in_a_process(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The session fixture ``transactions_synth`` (tests/conftest.py): what synth.py reports, each variant's
    stack folder and HCL, and the refused state folder."""
    from lambda_src.build import build

    build()
    report = tmp_path_factory.mktemp("cdktf_transactions") / "synth.json"
    command = [sys.executable, "-m", "tests.cdktf_transactions.synth", str(report), json.dumps(VARIANTS)]
    subprocess.run(command, cwd=ROOT, check=True)
    return json.loads(report.read_text())


def stacks_of(report: dict[str, Any]) -> dict[str, SynthesizedStack]:
    """The session fixture ``transactions`` (tests/conftest.py) from the synth's report."""
    result = {}
    for variant, stack in report["stacks"].items():
        directory = Path(stack["directory"])
        text = (directory / "cdk.tf.json").read_text()
        result[variant] = SynthesizedStack(stack["name"], directory, text, stack["hcl"])
    return result


@pytest.fixture(scope="session")
def dev(transactions):
    return transactions["dev"]


@pytest.fixture(scope="session")
def prod(transactions):
    return transactions["prod"]


@pytest.fixture(scope="session")
def dev_eu(transactions):
    return transactions["dev_eu"]
