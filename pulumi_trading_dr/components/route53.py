"""Route 53: the public name of the API, which follows the database's writer between the regions.

- In each region an ACM certificate for the name (validated through DNS in the hosted zone), a
  regional custom domain on the API and its base path mapping to the stage.
- Two HTTPS health checks per region on that region's deep health route, every 30 seconds, three
  results to change state (trading-dr-05), from three checker regions:
  - ``traffic``: ``/v1/health``, healthy only while the region's cluster is the writer. The
    failover alias records use it: PRIMARY answers while the primary region writes; when the
    secondary has been promoted, its check turns healthy and the primary's unhealthy, and DNS
    moves. Before the promotion both are unhealthy (the primary down, the secondary a standby) and
    Route 53 keeps answering PRIMARY: DNS never runs ahead of the database. No control-plane call
    is needed on the bad day (Route 53's API lives in us-east-1).
  - ``liveness``: ``/v1/health?role=any``, healthy while the region serves in its role, writer or
    standby: what the health-check alarms watch (trading-dr-06), and what the verdict record says.
- The verdict record ``primary-verdict.<apiDomainName>``: failover A records that answer
  VERDICT_HEALTHY while Route 53's checkers (several locations) find the primary alive, else
  VERDICT_FAILED (documentation addresses, never routed). DNS is Route 53's data plane: a canary
  in the secondary region reads the checkers' verdict even when us-east-1 (where their metric and
  Route 53's API live) is the region that is down. It is one of the failover quorum's signals.

Before any of it, the hosted zone is read (an invoke, so ``pulumi preview`` fails fast):
``verify_public_zone``, called first thing by the program. A zone id that does not exist, a
private zone, or a zone that does not hold ``apiDomainName`` stops the program with an error
naming ``hostedZoneId`` instead of failing halfway through ``pulumi up``."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from pulumi_trading_dr.components.api import HEALTH_PATH, LIVENESS_QUERY, Api
from pulumi_trading_dr.components.region import Region, Regions
from pulumi_trading_dr.config import ConfigError, TradingConfig

HEALTH_CHECK_INTERVAL = 30  # seconds (trading-dr-05: the seed had 60)
HEALTH_CHECK_FAILURES = 3  # consecutive results to turn unhealthy, and healthy again
CHECKER_REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
VERDICT_PREFIX = "primary-verdict"
VERDICT_HEALTHY, VERDICT_FAILED = "192.0.2.1", "192.0.2.2"  # RFC 5737 TEST-NET-1: never routed
VERDICT_TTL = 30  # seconds
# A failover alias to an API Gateway regional domain carries the target's TTL, 60 s.
API_ALIAS_TTL = 60


@dataclass(frozen=True)
class Route53Args:
    config: TradingConfig
    regions: Regions
    api: Api


class Route53(pulumi.ComponentResource):
    def __init__(self, name: str, args: Route53Args, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trading:route53:Route53", name, None, opts)
        config = args.config
        primary = args.regions.primary
        self.traffic_checks: dict[str, aws.route53.HealthCheck] = {}
        self.liveness_checks: dict[str, aws.route53.HealthCheck] = {}
        for region in args.regions:
            domain = self._custom_domain(name, config, region, args.api)
            api = args.api.of(region)

            def check(kind: str, path: pulumi.Input[str], region=region, api=api) -> aws.route53.HealthCheck:
                return aws.route53.HealthCheck(
                    f"{name}-{region.role}-{kind}",
                    type="HTTPS",
                    fqdn=api.host,  # this region's execute-api host
                    port=443,
                    resource_path=path,
                    request_interval=HEALTH_CHECK_INTERVAL,
                    failure_threshold=HEALTH_CHECK_FAILURES,
                    regions=list(CHECKER_REGIONS),
                    enable_sni=True,
                    measure_latency=True,
                    tags={"Name": config.name(f"api-{kind}", region.settings)},
                    # Route 53 is global; its resources go through the primary region's provider.
                    opts=primary.opts(self),
                )

            path = pulumi.Output.concat("/", api.stage.stage_name, HEALTH_PATH)
            traffic = check("traffic", path)
            self.liveness_checks[region.role] = check(
                "liveness", pulumi.Output.concat(path, "?", LIVENESS_QUERY)
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
                health_check_id=traffic.id,
                aliases=[
                    aws.route53.RecordAliasArgs(
                        name=domain.regional_domain_name,
                        zone_id=domain.regional_zone_id,
                        evaluate_target_health=True,
                    )
                ],
                opts=primary.opts(self),
            )
            self.traffic_checks[region.role] = traffic
        self.verdict_name = f"{VERDICT_PREFIX}.{config.api_domain_name}"
        for role, address, check_id in (
            ("primary", VERDICT_HEALTHY, self.liveness_checks["primary"].id),
            ("secondary", VERDICT_FAILED, None),  # no check: answered whenever PRIMARY is unhealthy
        ):
            aws.route53.Record(
                f"{name}-verdict-{role}",
                zone_id=config.hosted_zone_id,
                name=self.verdict_name,
                type="A",
                ttl=VERDICT_TTL,
                records=[address],
                set_identifier=f"verdict-{role}",
                failover_routing_policies=[aws.route53.RecordFailoverRoutingPolicyArgs(type=role.upper())],
                health_check_id=check_id,
                opts=primary.opts(self),
            )
        self.url = f"https://{config.api_domain_name}"
        self.register_outputs({"url": self.url, "verdict": self.verdict_name})

    def traffic_check(self, region: Region) -> aws.route53.HealthCheck:
        return self.traffic_checks[region.role]

    def liveness_check(self, region: Region) -> aws.route53.HealthCheck:
        return self.liveness_checks[region.role]

    def health_checks(self, region: Region) -> list[aws.route53.HealthCheck]:
        """Every check that calls this region's /v1/health (the same checkers send each of them)."""
        return [self.traffic_checks[region.role], self.liveness_checks[region.role]]

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
