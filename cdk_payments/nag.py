"""cdk-nag (AwsSolutions) on every synth of the payments app, and the one way to acknowledge a rule.

cdk-nag 3.x runs as a CDK validation plugin: ``app.synth()`` raises ``ValidationFailed`` on any
finding that is not acknowledged, and writes ``validation-report.json`` into the cloud assembly.
Each acknowledgement sits next to the construct it concerns, with its reason.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, App, Stack, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct


def add_checks(app: App) -> App:
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


def acknowledge(scope: IConstruct, **reasons: str) -> None:
    """``acknowledge(scope, APIG3="why")``, or a finding with brackets via a dict:
    ``acknowledge(scope, **{"IAM5[Resource::*]": "why"})``."""
    Validations.of(scope).acknowledge(
        *(
            Acknowledgment(id=f"AwsSolutions::AwsSolutions-{rule}", reason=reason)
            for rule, reason in reasons.items()
        )
    )


def arn_token(construct: IConstruct) -> str:
    """How cdk-nag names a construct's ARN in a finding id (``<LogicalId.Arn>``), without
    hard-coding the hashed logical id."""
    element = construct.node.default_child
    return f"<{Stack.of(construct).get_logical_id(element)}.Arn>"
