"""CDK entry point: ``make synth-cdk-payments`` or ``cdk synth -c env=dev`` in cdk_payments/.

Context keys: alarm_email (required; cdk.json carries the example oncall@example.com), env
(default dev), certificate_arn + alb_domain_name (HTTPS listener; required for env=prod),
blue_weight / green_weight (default 100 / 0), blue_version / green_version (a published version
of transaction_processing per alias; unset: blue keeps the version it serves, green takes the one
this deployment publishes), log_retention_days, lambda_reserved_concurrency (1..10), zone_ids.
App-level: control_tower_checks (cdk.json: true) adds AWS Control Tower's proactive controls
(cfn-guard) to the synth's policy validation; ``make check`` and a plain ``cdk synth``/``cdk deploy``
run them, the test session and ``make synth-*`` leave them out (tools/synth.py; about 4 s).
The account and region come from the CLI's credentials (CDK_DEFAULT_ACCOUNT /
CDK_DEFAULT_REGION); without them the template is environment-agnostic.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import aws_cdk as cdk

from cdk_payments.config import ConfigError, PaymentsConfig
from cdk_payments.nag import add_checks
from cdk_payments.stack import PaymentsStack
from cdk_payments.validation_report import ALL_PLUGINS, NAG_PACKS, problems
from lambda_src.build import build


def payments_stack(app: cdk.App, config: PaymentsConfig) -> PaymentsStack:
    build()  # the Lambda bundles the stack's assets point at (a no-op when current)
    account, region = os.environ.get("CDK_DEFAULT_ACCOUNT"), os.environ.get("CDK_DEFAULT_REGION")
    env = cdk.Environment(account=account, region=region) if account and region else None
    return PaymentsStack(
        app,
        config.name("payments"),
        config=config,
        env=env,
        description=f"Payments backend ({config.env}): API -> ALB -> Lambda, Aurora, DynamoDB, audit",
    )


def main() -> int:
    app = cdk.App()
    control_tower = app.node.try_get_context("control_tower_checks") in (True, "true")
    add_checks(app, control_tower=control_tower)  # policy validation (cdk_payments/nag.py)
    try:
        payments_stack(app, PaymentsConfig.from_context(app.node.try_get_context))
    except ConfigError as error:
        # The message names the key and the fix; a traceback around it is noise (exit 2: usage).
        print(f"error: {error} (context: -c key=value, or cdk_payments/cdk.json)", file=sys.stderr)
        return 2
    assembly = app.synth()
    # Under the CLI, CDK prints the findings but the app (a jsii host) still exits 0: fail here.
    report = json.loads((Path(assembly.directory) / "validation-report.json").read_text())
    found = problems(report, ALL_PLUGINS if control_tower else NAG_PACKS)
    for problem in found:
        print(f"policy validation: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
