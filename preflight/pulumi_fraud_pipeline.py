"""Before ``pulumi up`` of the fraud pipeline: the Pulumi CLI, credentials and the stack's region
(``aws:region``), API Gateway's CloudWatch Logs role there, and no example e-mail left in
``Pulumi.<stack>.yaml`` (with PULUMI_ARGS' ``-c key=value`` on top)."""

from __future__ import annotations

from preflight import aws as checks
from preflight.common import (
    ROOT,
    Options,
    PulumiConfig,
    Services,
    cli_on_path,
    placeholder_checks,
    pulumi_stack_values,
)
from preflight.report import Check, skip
from pulumi_fraud_pipeline.config import ConfigError, FraudConfig

PROJECT_DIR = ROOT / "pulumi_fraud_pipeline"
README = "pulumi_fraud_pipeline/README.md, 'Once per account and region'"
PULUMI_INSTALL = (
    "install the Pulumi CLI (https://www.pulumi.com/docs/iac/download-install/), then pulumi login"
)


def run(options: Options, services: Services) -> tuple[str, list[Check]]:
    project, values = pulumi_stack_values(PROJECT_DIR, options.stack, options.args)
    # As __main__.py reads it: aws:region is required (the program and the provider then agree; without
    # it pulumi-aws would deploy to AWS_REGION / AWS_DEFAULT_REGION / the profile's): a ConfigError.
    config = FraudConfig.from_pulumi(PulumiConfig(values, project, ConfigError), values.get("aws:region"))
    title = f"preflight {project} stack {options.stack} (pulumi_fraud_pipeline), before pulumi up"
    aws = services.aws(values.get("aws:profile"))  # the default provider reads aws:profile
    found, identity = checks.credentials(aws, config.region, f"{config.region} (aws:region)")
    results = [cli_on_path("pulumi", services.which, PULUMI_INSTALL), found]
    if identity is None:
        results.append(skip("account settings", "no credentials"))
    else:
        results.append(checks.api_gateway_logs_role(aws, config.region, identity.account, README))
    results += placeholder_checks(
        [("alertEmail", "email", config.alert_email)],
        lambda key: f"pulumi config set {key} <yours> --stack {options.stack} (in pulumi_fraud_pipeline/)",
    )
    return title, results
