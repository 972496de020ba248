"""Settings of one trading-DR stack, read once in __main__.py from Pulumi.<stack>.yaml."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

ENV_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,7}$")  # short: it ends up in 21-character-ish names
REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
HOSTED_ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,31}$")
DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
ENGINE_VERSION = re.compile(r"^(\d+)\.(\d+)$")
# Aurora PostgreSQL minors RDS no longer creates (trading-dr-07: the seed's fix asked for 15.4).
RETIRED_ENGINE_VERSIONS = frozenset({"15.4"})
# The canary script is Python (trading-dr-24); runtimes before 6.0 are deprecated (cannot be created).
CANARY_RUNTIME = re.compile(r"^syn-python-selenium-(\d+)\.(\d+)$")
MIN_CANARY_RUNTIME = (6, 0)
ROUTE53_METRICS_REGION = "us-east-1"
LOG_RETENTION_DAYS = (7, 14, 30, 90, 180, 365)
FAILOVER_MODES = ("automatic", "manual")


class ConfigError(ValueError):
    """A config key is missing or malformed; the message names it."""


@dataclass(frozen=True)
class RoleSettings:
    """What differs between the two regions."""

    role: str  # "primary" | "secondary"
    region: str
    vpc_cidr: str


@dataclass(frozen=True)
class TradingConfig:
    env: str
    alert_email: str
    hosted_zone_id: str
    api_domain_name: str
    primary_region: str = "us-east-1"
    secondary_region: str = "us-west-2"
    primary_vpc_cidr: str = "10.40.0.0/16"
    secondary_vpc_cidr: str = "10.41.0.0/16"
    aurora_engine_version: str = "15.10"  # the long-term-support minor of Aurora PostgreSQL 15
    aurora_min_capacity: float = 0.5  # Serverless v2 ACUs
    aurora_max_capacity: float = 4
    database_name: str = "trading"
    # "admin" is reserved by Aurora PostgreSQL; the master user is not the application's concern.
    master_username: str = "trading_admin"
    canary_runtime: str = "syn-python-selenium-14.0"
    canary_rate_minutes: int = 5
    log_retention_days: int = 30
    api_rate_limit: int = 50
    api_burst_limit: int = 100
    max_receive_count: int = 5
    order_max_concurrency: int = 5  # event source mapping cap: bounds database connections
    failover_mode: str = "automatic"  # "manual": the alarm notifies, an operator runs the drill

    def __post_init__(self) -> None:
        if not ENV_PATTERN.match(self.env):
            raise ConfigError(f"env: {self.env!r} must be 2-8 lower-case letters, digits or '-'")
        for key in ("primary_region", "secondary_region"):
            if not REGION.match(getattr(self, key)):
                raise ConfigError(f"{_camel(key)}: {getattr(self, key)!r} is not an AWS region name")
        if self.primary_region == self.secondary_region:
            raise ConfigError("secondaryRegion: must differ from primaryRegion")
        if ROUTE53_METRICS_REGION not in (self.primary_region, self.secondary_region):
            raise ConfigError(
                f"primaryRegion/secondaryRegion: one must be {ROUTE53_METRICS_REGION}, where Route 53 "
                "publishes health-check metrics (their alarms live there)"
            )
        if not EMAIL.match(self.alert_email):
            raise ConfigError(f"alertEmail: {self.alert_email!r} is not an e-mail address")
        if not HOSTED_ZONE_ID.match(self.hosted_zone_id):
            raise ConfigError(f"hostedZoneId: {self.hosted_zone_id!r} is not a Route 53 hosted zone id")
        if not DOMAIN.match(self.api_domain_name):
            raise ConfigError(f"apiDomainName: {self.api_domain_name!r} is not a DNS name")
        if not ENGINE_VERSION.match(self.aurora_engine_version):
            raise ConfigError(f"auroraEngineVersion: {self.aurora_engine_version!r} must be major.minor")
        if self.aurora_engine_version in RETIRED_ENGINE_VERSIONS:
            raise ConfigError(
                f"auroraEngineVersion: {self.aurora_engine_version} can no longer be created; "
                "use a supported minor (15.10 is the long-term-support minor of 15)"
            )
        runtime = CANARY_RUNTIME.match(self.canary_runtime)
        if not runtime:
            raise ConfigError(
                f"canaryRuntime: {self.canary_runtime!r} must be a syn-python-selenium-<x.y> runtime: "
                "the canary script is Python"
            )
        if (int(runtime.group(1)), int(runtime.group(2))) < MIN_CANARY_RUNTIME:
            raise ConfigError(f"canaryRuntime: {self.canary_runtime} is deprecated and cannot be created")
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ConfigError(
                f"logRetentionDays: {self.log_retention_days} must be one of {LOG_RETENTION_DAYS}"
            )
        if not 2 <= self.order_max_concurrency <= 1000:
            raise ConfigError("orderMaxConcurrency: 2..1000 (the SQS event source mapping's range)")
        if not 1 <= self.max_receive_count <= 20:
            raise ConfigError("maxReceiveCount: 1..20")
        if self.canary_rate_minutes not in (1, 5, 10, 15, 30, 60):
            raise ConfigError("canaryRateMinutes: one of 1, 5, 10, 15, 30, 60")
        if self.failover_mode not in FAILOVER_MODES:
            raise ConfigError(f"failoverMode: one of {FAILOVER_MODES}")

    @property
    def regions(self) -> tuple[RoleSettings, RoleSettings]:
        return (
            RoleSettings("primary", self.primary_region, self.primary_vpc_cidr),
            RoleSettings("secondary", self.secondary_region, self.secondary_vpc_cidr),
        )

    @property
    def is_production(self) -> bool:
        return self.env == "prod"

    def name(self, base: str, region: RoleSettings | None = None) -> str:
        """``trading-<base>-<env>[-<role>]``: the one place the environment enters a name."""
        suffix = f"-{region.role}" if region else ""
        return f"trading-{base}-{self.env}{suffix}"

    @classmethod
    def from_pulumi(cls, config: Any) -> TradingConfig:
        """From a ``pulumi.Config()`` of this project (keys in camelCase, as in Pulumi.dev.yaml)."""

        def required(key: str) -> str:
            value = config.get(key)
            if not value:
                raise ConfigError(f"{key}: required; set it with `pulumi config set {key} <value>`")
            return value

        kwargs: dict[str, Any] = {
            "env": required("env"),
            "alert_email": required("alertEmail"),
            "hosted_zone_id": required("hostedZoneId"),
            "api_domain_name": required("apiDomainName"),
        }
        for field in (
            "primary_region",
            "secondary_region",
            "aurora_engine_version",
            "canary_runtime",
            "failover_mode",
        ):
            value = config.get(_camel(field))
            if value:
                kwargs[field] = value
        for field in (
            "canary_rate_minutes",
            "log_retention_days",
            "api_rate_limit",
            "api_burst_limit",
            "max_receive_count",
            "order_max_concurrency",
        ):
            value = config.get_int(_camel(field))
            if value is not None:
                kwargs[field] = value
        for field in ("aurora_min_capacity", "aurora_max_capacity"):
            value = config.get_float(_camel(field))
            if value is not None:
                kwargs[field] = value
        return cls(**kwargs)


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part.title() for part in rest)
