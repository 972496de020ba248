"""Before ``pulumi up`` of the fraud pipeline: the Pulumi CLI, credentials and the stack's region
(``aws:region``), API Gateway's CloudWatch Logs role there, and no example e-mail left in
``Pulumi.<stack>.yaml`` (with PULUMI_ARGS' ``-c key=value`` on top)."""

from __future__ import annotations

from collections.abc import Mapping

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
from preflight.report import Check, fail, skip
from pulumi_fraud_pipeline.config import ConfigError, FraudConfig

PROJECT_DIR = ROOT / "pulumi_fraud_pipeline"
README = "pulumi_fraud_pipeline/README.md, 'Once per account and region'"
PULUMI_INSTALL = (
    "install the Pulumi CLI (https://www.pulumi.com/docs/iac/download-install/), then pulumi login"
)


def provider_region(
    values: Mapping[str, str], environ: Mapping[str, str], profile_region: str | None
) -> tuple[str | None, str]:
    """Where pulumi-aws's default provider deploys: aws:region, else AWS_REGION, AWS_DEFAULT_REGION,
    the profile's region (pulumi_aws.config.region and the provider read them in that order)."""
    if values.get("aws:region"):
        return values["aws:region"], "aws:region"
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if environ.get(variable):
            return environ[variable], f"{variable}; aws:region is not set"
    if profile_region:
        return profile_region, "the profile's region; aws:region is not set"
    return None, "aws:region is not set"


def region_mismatch(config: FraudConfig, region: str | None, source: str, stack: str) -> Check:
    """The program names its zones, roles and dashboard from aws:region (us-east-2 when unset); the
    provider deploys where it is told: a stack without aws:region (a new one) would put us-east-2's
    zone names into another region, and fail there."""
    found = f"the provider deploys to {region}" if region else "the provider has no region"
    return fail(
        "region",
        f"{found} ({source}), the program builds for {config.region}",
        f"pulumi config set aws:region {config.region} --stack {stack} (in pulumi_fraud_pipeline/), "
        f'or PULUMI_ARGS="-c aws:region=<region> ..."',
    )


def run(options: Options, services: Services) -> tuple[str, list[Check]]:
    project, values = pulumi_stack_values(PROJECT_DIR, options.stack, options.args)
    # As __main__.py reads it: the program's region is aws:region (us-east-2 when unset).
    config = FraudConfig.from_pulumi(PulumiConfig(values, project, ConfigError), values.get("aws:region"))
    title = f"preflight {project} stack {options.stack} (pulumi_fraud_pipeline), before pulumi up"
    aws = services.aws(values.get("aws:profile"))  # the default provider reads aws:profile
    region, source = provider_region(values, options.environ, aws.session.region_name)
    found, identity = checks.credentials(aws, config.region, f"{region or 'no region'} ({source})")
    results = [cli_on_path("pulumi", services.which, PULUMI_INSTALL), found]
    if region != config.region:
        results.append(region_mismatch(config, region, source, options.stack))
    if identity is None:
        results.append(skip("account settings", "no credentials"))
    else:
        results.append(checks.api_gateway_logs_role(aws, config.region, identity.account, README))
    results += placeholder_checks(
        [("alertEmail", "email", config.alert_email)],
        lambda key: f"pulumi config set {key} <yours> --stack {options.stack} (in pulumi_fraud_pipeline/)",
    )
    return title, results
