"""Route 53: the public name of the API with failover between the regions.

- In each region an ACM certificate for the name (validated through DNS in the hosted zone), a
  regional custom domain on the API and its base path mapping to the stage.
- A health check per region on that region's ``/health`` over HTTPS: every 30 seconds, three
  failures to be unhealthy (trading-dr-05), from three checker regions.
- Failover alias records: PRIMARY answers while its health check passes, then SECONDARY.
The health checks' alarms are in the monitoring component (trading-dr-06).

Before any of it, the hosted zone is read (an invoke, so ``pulumi preview`` fails fast): a zone id
that does not exist, a private zone, or a zone that does not hold ``apiDomainName`` stops the
program with an error naming ``hostedZoneId`` instead of failing halfway through ``pulumi up``."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from pulumi_trading_dr.components.api import Api
from pulumi_trading_dr.components.region import Region, Regions
from pulumi_trading_dr.config import ConfigError, TradingConfig

HEALTH_CHECK_INTERVAL = 30  # seconds (trading-dr-05: the seed had 60)
HEALTH_CHECK_FAILURES = 3
CHECKER_REGIONS = ("us-east-1", "us-west-2", "eu-west-1")


@dataclass(frozen=True)
class Route53Args:
    config: TradingConfig
    regions: Regions
    api: Api


class Route53(pulumi.ComponentResource):
    def __init__(self, name: str, args: Route53Args, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trading:route53:Route53", name, None, opts)
        config = args.config
        verify_public_zone(config, args.regions.primary.provider)
        self.health_checks: dict[str, aws.route53.HealthCheck] = {}
        for region in args.regions:
            domain = self._custom_domain(name, config, region, args.api)
            api = args.api.of(region)
            check = aws.route53.HealthCheck(
                f"{name}-{region.role}-health",
                type="HTTPS",
                fqdn=api.host,
                port=443,
                resource_path=pulumi.Output.concat("/", api.stage.stage_name, "/health"),
                request_interval=HEALTH_CHECK_INTERVAL,
                failure_threshold=HEALTH_CHECK_FAILURES,
                regions=list(CHECKER_REGIONS),
                enable_sni=True,
                measure_latency=True,
                tags={"Name": config.name("api-health", region.settings)},
                # Route 53 is global; its resources go through the primary region's provider.
                opts=args.regions.primary.opts(self),
            )
            aws.route53.Record(
                f"{name}-{region.role}-record",
                zone_id=config.hosted_zone_id,
                name=config.api_domain_name,
                type="A",
                set_identifier=region.role,
                failover_routing_policies=[
                    aws.route53.RecordFailoverRoutingPolicyArgs(type=region.role.upper())
                ],
                health_check_id=check.id,
                aliases=[
                    aws.route53.RecordAliasArgs(
                        name=domain.regional_domain_name,
                        zone_id=domain.regional_zone_id,
                        evaluate_target_health=True,
                    )
                ],
                opts=args.regions.primary.opts(self),
            )
            self.health_checks[region.role] = check
        self.url = f"https://{config.api_domain_name}"
        self.register_outputs({"url": self.url})

    def health_check(self, region: Region) -> aws.route53.HealthCheck:
        return self.health_checks[region.role]

    def _custom_domain(
        self, name: str, config: TradingConfig, region: Region, api: Api
    ) -> aws.apigateway.DomainName:
        child = region.opts(self)
        certificate = aws.acm.Certificate(
            f"{name}-{region.role}-certificate",
            domain_name=config.api_domain_name,
            validation_method="DNS",
            opts=child,
        )
        option = certificate.domain_validation_options[0]
        validation_record = aws.route53.Record(
            f"{name}-{region.role}-certificate-validation-record",
            zone_id=config.hosted_zone_id,
            name=option.resource_record_name,
            type=option.resource_record_type,
            records=[option.resource_record_value],
            ttl=300,
            # ACM asks for the same record for the same name in every region of an account.
            allow_overwrite=True,
            opts=child,
        )
        validation = aws.acm.CertificateValidation(
            f"{name}-{region.role}-certificate-validation",
            certificate_arn=certificate.arn,
            validation_record_fqdns=[validation_record.fqdn],
            opts=child,
        )
        domain = aws.apigateway.DomainName(
            f"{name}-{region.role}-domain",
            domain_name=config.api_domain_name,
            regional_certificate_arn=validation.certificate_arn,
            endpoint_configuration=aws.apigateway.DomainNameEndpointConfigurationArgs(types="REGIONAL"),
            security_policy="TLS_1_2",
            opts=child,
        )
        regional = api.of(region)
        aws.apigateway.BasePathMapping(
            f"{name}-{region.role}-mapping",
            domain_name=domain.domain_name,
            rest_api=regional.rest_api.id,
            stage_name=regional.stage.stage_name,
            opts=child,
        )
        return domain


def verify_public_zone(config: TradingConfig, provider: aws.Provider) -> aws.route53.GetZoneResult:
    """The configured zone exists, is public and holds apiDomainName; else a ConfigError."""
    zone_id, domain = config.hosted_zone_id, config.api_domain_name
    try:
        zone = aws.route53.get_zone(zone_id=zone_id, opts=pulumi.InvokeOptions(provider=provider))
    except Exception as error:
        raise ConfigError(
            f"hostedZoneId: {zone_id} cannot be read in this account ({error}); "
            "set the id of a public hosted zone you own: `pulumi config set hostedZoneId <id>`"
        ) from error
    name = zone.name.rstrip(".").lower()
    if zone.private_zone:
        raise ConfigError(
            f"hostedZoneId: {zone_id} ({name}) is a private hosted zone; the API's failover "
            "records must resolve on the internet: set the id of a public zone"
        )
    if domain != name and not domain.endswith(f".{name}"):
        raise ConfigError(
            f"hostedZoneId: {zone_id} is the zone {name}, which cannot hold apiDomainName {domain}"
        )
    return zone
