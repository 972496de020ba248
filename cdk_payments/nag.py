"""Policy validation in the synth of the payments app, and the one way to acknowledge a finding.

Three validation plugins (CDK's ``Validations`` API): ``app.synth()`` raises ``ValidationFailed``
on any finding that is not acknowledged, and writes ``validation-report.json`` (findings and
acknowledgements with their reasons) into the cloud assembly.

- cdk-nag ``AwsSolutions`` and ``PCI.DSS.321`` (PCI DSS 3.2.1), on every synth. A cdk-nag 3.x pack
  walks the whole app it is registered on; the payments app holds only payments stacks.
- ``cdk-validator-cfnguard``: AWS Control Tower's proactive controls, run by the cfn-guard binary
  that the package ships (no download at run time). It adds about 4 s per synth, so it runs when
  ``app.py`` is told to (``control_tower_checks`` in cdk.json: ``cdk synth``, ``cdk deploy``,
  ``make check``), not in the test session nor in ``make synth-*`` (tools/synth.py).

Each acknowledgement sits on the construct it concerns, with its reason; ``python -m
cdk_payments.validation_report`` reads the report (``make check`` runs it).
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, App, Stack, Validations
from cdk_nag import AwsSolutionsChecks, PCIDSS321Checks
from cdklabs.cdk_validator_cfnguard import CfnGuardValidator
from constructs import IConstruct

# The plugins' names, re-exported for the constructs' acknowledgements.
from cdk_payments.validation_report import AWS_SOLUTIONS, CONTROL_TOWER as CONTROL_TOWER, PCI_DSS as PCI_DSS

# CT.LAMBDA.PR.2 reads SourceAccount/SourceArn on a template, where ours are pseudo-parameter
# references: it accepts literal strings only (as a CloudFormation hook it sees them resolved).
SOURCE_ACCOUNT_IS_A_REFERENCE = (
    "SourceAccount is set, as {Ref: AWS::AccountId} in this environment-agnostic template, which "
    "the rule does not resolve; deployed, the permission admits this account only"
)
# PCI.DSS.321-IAMNoInlinePolicy on the policies CDK's grants write.
INLINE_GRANTS = (
    "CDK grants: least-privilege statements on this stack's resources, in a policy bound to this one "
    "role and deleted with it; a managed policy would add an attachable object and no control"
)
# cfn-guard's JSON report grows with the templates; Node's 1 MiB default would cut it off.
GUARD_MAX_BUFFER = 64 * 1024 * 1024


def add_checks(app: App, *, control_tower: bool = False) -> App:
    plugins = [AwsSolutionsChecks(app), PCIDSS321Checks(app)]
    if control_tower:
        plugins.append(CfnGuardValidator(max_buffer=GUARD_MAX_BUFFER))
    Validations.of(app).add_plugins(*plugins)
    return app


def acknowledge(scope: IConstruct, pack: str = AWS_SOLUTIONS, /, **reasons: str) -> None:
    """``acknowledge(scope, APIG3="why")``; another pack: ``acknowledge(scope, PCI_DSS, ALBWAFEnabled=
    "why")`` or ``acknowledge(scope, CONTROL_TOWER, s3_bucket_logging_enabled_check="why")``; a
    finding with brackets via a dict: ``acknowledge(scope, **{"IAM5[Resource::*]": "why"})``."""
    rule = "{rule}" if pack == CONTROL_TOWER else f"{pack}-{{rule}}"  # guard rules carry no pack prefix
    Validations.of(scope).acknowledge(
        *(
            Acknowledgment(id=f"{pack}::{rule.format(rule=name)}", reason=reason)
            for name, reason in reasons.items()
        )
    )


def arn_token(construct: IConstruct) -> str:
    """How cdk-nag names a construct's ARN in a finding id (``<LogicalId.Arn>``), without
    hard-coding the hashed logical id."""
    element = construct.node.default_child
    return f"<{Stack.of(construct).get_logical_id(element)}.Arn>"
