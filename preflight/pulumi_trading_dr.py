"""Before ``pulumi up`` of the trading DR stack: the Pulumi CLI, credentials, API Gateway's
CloudWatch Logs role in both regions, the hosted zone (exists, public, holds apiDomainName), and no
example left in ``Pulumi.<stack>.yaml`` (e-mail, zone, domain, token keys and issuer), with
PULUMI_ARGS' ``-c key=value`` on top."""

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
from preflight.pulumi_fraud_pipeline import PULUMI_INSTALL
from preflight.report import Check, skip
from pulumi_trading_dr.config import ConfigError, TradingConfig

PROJECT_DIR = ROOT / "pulumi_trading_dr"
README = "pulumi_trading_dr/README.md, 'Deploy both regions'"


def run(options: Options, services: Services) -> tuple[str, list[Check]]:
    project, values = pulumi_stack_values(PROJECT_DIR, options.stack, options.args)
    config = TradingConfig.from_pulumi(PulumiConfig(values, project, ConfigError))
    regions = (config.primary_region, config.secondary_region)
    title = f"preflight {project} stack {options.stack} (pulumi_trading_dr), before pulumi up"
    aws = services.aws(None)  # the stack's two explicit providers take the default credential chain
    found, identity = checks.credentials(
        aws, regions[0], f"{' and '.join(regions)} (primaryRegion, secondaryRegion)"
    )
    results = [cli_on_path("pulumi", services.which, PULUMI_INSTALL), found]
    if identity is None:
        results.append(skip("account settings", "no credentials"))
    else:
        results += [checks.api_gateway_logs_role(aws, region, identity.account, README) for region in regions]
        results.append(
            checks.public_hosted_zone(
                aws,
                config.hosted_zone_id,
                config.api_domain_name,
                f"pulumi config set hostedZoneId <a public zone of this account> --stack {options.stack}",
            )
        )
    results += placeholder_checks(
        [
            ("alertEmail", "email", config.alert_email),
            ("hostedZoneId", "hosted_zone", config.hosted_zone_id),
            ("apiDomainName", "domain", config.api_domain_name),
            ("orderTokenJwks", "jwks", config.order_token_jwks),
            ("orderTokenIssuer", "url", config.order_token_issuer),
        ],
        lambda key: f"pulumi config set {key} <yours> --stack {options.stack} (in pulumi_trading_dr/)",
    )
    return title, results
