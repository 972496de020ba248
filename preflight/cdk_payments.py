"""Before ``cdk deploy`` of the payments stack: credentials and the region the CDK CLI will pick,
API Gateway's CloudWatch Logs role there, the CDK bootstrap and its version, the certificate when
HTTPS is asked for, and no example left in the context (cdk.json, then CDK_ARGS' ``-c``)."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore import configloader

from cdk_payments.config import PaymentsConfig
from preflight import aws as checks
from preflight.common import ROOT, Options, Services, SettingsError, placeholder_checks
from preflight.report import Check, skip

CDK_JSON = ROOT / "cdk_payments" / "cdk.json"
README = "cdk_payments/README.md, 'Once per account and region'"
DEFAULT_QUALIFIER = "hnb659fds"  # the CDK's default bootstrap qualifier
# The newest bootstrap version the synthesized assembly asks for (its lookup role, which `cdk diff`
# uses, asks 8; the stack and its assets 6): tests/preflight compares it with the assembly.
MIN_BOOTSTRAP_VERSION = 8


@dataclass(frozen=True)
class Settings:
    config: PaymentsConfig
    region: str
    region_source: str
    qualifier: str


def context(options: Options) -> dict[str, Any]:
    """cdk.json's context, then ENV, then each ``-c key=value`` of CDK_ARGS, as the CLI merges them."""
    try:
        values = dict(json.loads(CDK_JSON.read_text()).get("context", {}))
    except ValueError as error:  # the CLI refuses it too; say where, in one line
        raise SettingsError(f"cdk_payments/cdk.json: not JSON ({error})") from None
    values["env"] = options.env
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("-c", "--context", action="append", default=[])
    parser.add_argument("--profile")
    known = parser.parse_known_args(list(options.args))[0]
    for item in known.context:
        key, _, value = item.partition("=")
        values[key] = value
    values["--profile"] = known.profile
    return values


REGION_VARIABLES = ("AWS_REGION", "AMAZON_REGION", "AWS_DEFAULT_REGION", "AMAZON_DEFAULT_REGION")


def _shared_file(environ: Mapping[str, str], variable: str, default: str) -> dict[str, dict[str, str]]:
    path = os.path.expanduser(environ.get(variable) or default)
    return configloader.raw_config_parse(path) if os.path.isfile(path) else {}


def ini_region(environ: Mapping[str, str], profile: str) -> tuple[str | None, str]:
    """The region in the shared files as the CDK CLI reads them (``getRegionFromIni``): the profile's
    in the credentials file, then in the config file, then the ``default`` profile's in both. Unlike
    botocore, which stops at the profile: a profile without a region deploys to default's."""
    credentials = _shared_file(environ, "AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")
    config = _shared_file(environ, "AWS_CONFIG_FILE", "~/.aws/config")

    def in_config(name: str) -> dict[str, str]:
        return config.get(name if name == "default" else f"profile {name}") or config.get(name) or {}

    for name, source in ((profile, "the profile's region"), ("default", "the default profile's region")):
        region = (credentials.get(name) or {}).get("region") or in_config(name).get("region")
        if region:
            return region, source
    return None, ""


def cdk_region(environ: Mapping[str, str], profile: str | None) -> tuple[str, str]:
    """The region the CDK CLI deploys to (aws-cdk's ``region()``): AWS_REGION, AMAZON_REGION,
    AWS_DEFAULT_REGION, AMAZON_DEFAULT_REGION, the shared files (``ini_region``), us-east-1. (On EC2
    the CLI asks the instance metadata before us-east-1; a preflight run there says so by default.)"""
    for variable in REGION_VARIABLES:
        if environ.get(variable):
            return environ[variable], variable
    name = profile or environ.get("AWS_PROFILE") or environ.get("AWS_DEFAULT_PROFILE") or "default"
    region, source = ini_region(environ, name)
    if region:
        return region, source
    return "us-east-1", "the CDK CLI's default, no region configured"


def read(values: Mapping[str, Any], environ: Mapping[str, str], profile: str | None) -> Settings:
    region, source = cdk_region(environ, profile)
    return Settings(
        config=PaymentsConfig.from_context(values.get),
        region=region,
        region_source=source,
        qualifier=str(values.get("@aws-cdk/core:bootstrapQualifier") or DEFAULT_QUALIFIER),
    )


def run(options: Options, services: Services) -> tuple[str, list[Check]]:
    values = context(options)
    aws = services.aws(values["--profile"])  # the CLI's --profile, else AWS_PROFILE, as the CDK CLI
    settings = read(values, options.environ, values["--profile"])
    config, region = settings.config, settings.region
    title = f"preflight {config.name('payments')} (cdk_payments), before cdk deploy"
    found, identity = checks.credentials(aws, region, f"{region} ({settings.region_source})")
    results = [found]
    if identity is None:
        results.append(skip("account settings", "no credentials"))
    else:
        results.append(checks.api_gateway_logs_role(aws, region, identity.account, README))
        results.append(
            checks.cdk_bootstrap(aws, region, identity.account, settings.qualifier, MIN_BOOTSTRAP_VERSION)
        )
        if config.certificate_arn and config.alb_domain_name:
            results.append(
                checks.certificate(
                    aws, region, identity.account, config.certificate_arn, config.alb_domain_name
                )
            )
    results += placeholder_checks(
        [
            ("alarm_email", "email", config.alarm_email),
            ("alb_domain_name", "domain", config.alb_domain_name or ""),
        ],
        lambda key: f'CDK_ARGS="-c {key}=<yours>", or "{key}" in cdk_payments/cdk.json',
    )
    return title, results
