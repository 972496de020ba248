"""The payments app, synthesized once per test session: dev (cdk.json's context), prod, an
HTTPS/canary variant, and dev with its VPC link or load balancer replaced (three stacks).

All the stacks live in one App with the context of cdk.json (as the CLI would pass it), and
``app.synth()`` runs once; tests read templates from that single cloud assembly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from cdk_payments.config import PaymentsConfig

if TYPE_CHECKING:  # the CDK itself is imported in the fixture, on the worker that runs these tests
    from aws_cdk.assertions import Template

    from cdk_payments.stack import PaymentsStack

CDK_JSON = Path(__file__).resolve().parents[2] / "cdk_payments" / "cdk.json"
CDK_CONTEXT = json.loads(CDK_JSON.read_text())["context"]
CERTIFICATE_ARN = "arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
VARIANTS = {
    "dev": PaymentsConfig.from_context(CDK_CONTEXT.get),  # what `cdk synth` builds with no -c
    "prod": PaymentsConfig(
        env="prod",
        alarm_email="payments-oncall@example.com",
        certificate_arn=CERTIFICATE_ARN,
        alb_domain_name="payments.prod.internal.example.com",
    ),
    "https": PaymentsConfig(
        env="tls",
        alarm_email="oncall@example.com",
        certificate_arn=CERTIFICATE_ARN,
        alb_domain_name="payments.internal.example.com",
        # A canary: blue keeps serving version 6, green takes the code this deployment publishes.
        blue_version=6,
        zone_ids=("euw1-az3", "euw1-az1"),  # chosen zones, by ID
        blue_weight=90,
        green_weight=10,
    ),
}

# The dev stack again (another stack id) with the VPC link or the load balancer *replaced*: one
# property that forces CloudFormation to replace it (or a resource it sits on) changed, the construct,
# its logical id and the method's Refs the same (payments-04).
STAGE = "payments"  # the stage that holds them
REPLACED = {  # variant -> (what is replaced and why, config changes, change made to the stack)
    "dev-link-sg": (
        "the VPC link: its security group is replaced (GroupDescription)",
        {},
        lambda stack: setattr(
            stack.api.node.find_child("VpcLinkSg").node.default_child, "group_description", "VPC link, v2"
        ),
    ),
    "dev-zones": (
        "the VPC link: its subnets are replaced (other zones, AvailabilityZoneId)",
        {"zone_ids": ("use1-az4", "use1-az6")},
        lambda stack: None,
    ),
    "dev-alb": (
        "the load balancer (Name)",
        {},
        lambda stack: setattr(stack.api.alb.node.default_child, "name", "payments-alb-dev-2"),
    ),
}


@dataclass(frozen=True)
class Synthesized:
    stack: PaymentsStack
    template: Template
    path: Path

    @property
    def json(self) -> dict[str, Any]:
        return self.template.to_json()

    def resources(self, cfn_type: str) -> dict[str, dict[str, Any]]:
        return self.template.find_resources(cfn_type)

    def one(self, cfn_type: str) -> tuple[str, dict[str, Any]]:
        found = self.resources(cfn_type)
        assert len(found) == 1, f"expected one {cfn_type}, found {sorted(found)}"
        return next(iter(found.items()))

    def our_functions(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """Our four functions by name -> (logical id, resource); CDK's own handlers excluded."""
        found = {}
        for logical_id, fn in self.resources("AWS::Lambda::Function").items():
            name = fn["Properties"].get("FunctionName", "")
            if isinstance(name, str) and name.startswith("payments-"):
                found[name] = (logical_id, fn)
        return found


def synthesize(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Synthesized]:
    """The session fixture ``payments`` (tests/conftest.py, so that tests/diagrams and tests/policies
    share the run)."""
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from cdk_payments.app import payments_stack
    from cdk_payments.nag import add_checks
    from cdk_payments.stack import PaymentsStack

    # cdk-nag runs in this one synth too: an unacknowledged finding fails the whole session.
    # Construct paths in the metadata, as the cdk CLI writes them (tests/diagrams groups by them).
    context = {**CDK_CONTEXT, "aws:cdk:enable-path-metadata": True}
    # CDK's built-in CloudFormation validation (a WASM engine: about 4 s and 260 MB here, and only
    # warnings) is left out, as in `make synth-*`: cfn-lint checks these templates in this session.
    outdir = str(tmp_path_factory.mktemp("cdk_payments"))
    app = add_checks(cdk.App(context=context, outdir=outdir, builtin_cloud_formation_validation=False))
    stacks = {variant: payments_stack(app, config) for variant, config in VARIANTS.items()}
    # The replaced stacks and dev again, in a stage without path metadata: the RestApi's path, which
    # names the stack, is part of every deployment's logical id, so stacks of different names would
    # never share one and the comparison would prove nothing.
    # (The stage's stacks are named payments-<variant>, like the app's, for the policy allowlist.)
    stage = cdk.Stage(app, STAGE)
    stage.node.set_context("aws:cdk:enable-path-metadata", False)
    staged = {"dev-baseline": PaymentsStack(stage, "dev-baseline", config=VARIANTS["dev"])}
    for variant, (_, changes, change) in REPLACED.items():
        stack = PaymentsStack(stage, variant, config=replace(VARIANTS["dev"], **changes))
        change(stack)
        staged[variant] = stack
    assembly = app.synth()
    result = {}
    for variant, stack in [*stacks.items(), *staged.items()]:
        artifact = (assembly if variant in stacks else stage.synth()).get_stack_by_name(stack.stack_name)
        result[variant] = Synthesized(
            stack=stack,
            template=Template.from_json(artifact.template),
            path=Path(artifact.assembly.directory) / artifact.template_file,
        )
    return result


@pytest.fixture(scope="session")
def dev(payments: dict[str, Synthesized]) -> Synthesized:
    return payments["dev"]


@pytest.fixture(scope="session")
def prod(payments: dict[str, Synthesized]) -> Synthesized:
    return payments["prod"]


@pytest.fixture(scope="session")
def https(payments: dict[str, Synthesized]) -> Synthesized:
    return payments["https"]
