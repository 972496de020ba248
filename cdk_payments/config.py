"""Per-environment settings of the payments stack, read once from CDK context in app.py."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

ENV_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,11}$")
CERTIFICATE_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$")
LOG_RETENTION_DAYS = (7, 14, 30, 90, 180, 365)
MAX_RESERVED_CONCURRENCY = 10  # per function, four functions: the account keeps >= 100 unreserved
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ZONE_ID = re.compile(r"^[a-z]{2,5}[0-9]+-az[0-9]+$")  # an AZ ID (use1-az4), the same in every account


class ConfigError(ValueError):
    """A context value is missing or malformed; the message names the key."""


@dataclass(frozen=True, kw_only=True)
class PaymentsConfig:
    env: str
    alarm_email: str  # required: every alarm notifies it (an empty one is a ConfigError)
    certificate_arn: str | None = None  # HTTPS listener only when set (payments-02); required in prod
    alb_domain_name: str | None = None  # the name the certificate covers; required with HTTPS
    blue_weight: int = 100  # blue/green split of the ALB listener (payments-01)
    green_weight: int = 0
    # Published versions of transaction_processing behind each alias. None: blue keeps the version
    # it serves (read at deploy time), green takes the one this deployment publishes.
    blue_version: int | None = None
    green_version: int | None = None
    log_retention_days: int = 365  # PCI DSS 10.7: a year of audit trail (CT.CLOUDWATCH.PR.2)
    lambda_reserved_concurrency: int | None = None  # None: share the account's unreserved pool
    # The two availability zones by ID (a zone's letter names a different zone in every account);
    # None: the region's first two zones that VPC links V2 support (constructs/network.py).
    zone_ids: tuple[str, str] | None = None
    api_rate_limit: int = 100  # steady-state requests per second at the stage
    api_burst_limit: int = 200
    waf_rate_limit: int = 1000  # requests per 5 minutes per client IP before WAF blocks

    def __post_init__(self) -> None:
        if not ENV_PATTERN.match(self.env):
            raise ConfigError(f"env: {self.env!r} must be 2-12 lower-case letters, digits or '-'")
        if not self.alarm_email:
            raise ConfigError(
                "alarm_email: required, every alarm notifies it; set -c alarm_email=you@example.com "
                'or "alarm_email" in the context of cdk_payments/cdk.json'
            )
        if not EMAIL.match(self.alarm_email):
            raise ConfigError(f"alarm_email: {self.alarm_email!r} is not an e-mail address")
        if self.certificate_arn is not None and not CERTIFICATE_ARN.match(self.certificate_arn):
            raise ConfigError(f"certificate_arn: {self.certificate_arn!r} is not an ACM certificate ARN")
        if self.is_production and not self.certificate_arn:
            raise ConfigError(
                "certificate_arn: required for env=prod, which never serves plain HTTP; set "
                "-c certificate_arn=<ACM certificate ARN> -c alb_domain_name=<the name it covers>"
            )
        if self.certificate_arn and not self.alb_domain_name:
            raise ConfigError(
                "alb_domain_name: required with certificate_arn (API Gateway checks the TLS name)"
            )
        for key in ("blue_weight", "green_weight"):
            value = getattr(self, key)
            if not 0 <= value <= 999:
                raise ConfigError(f"{key}: {value} must be between 0 and 999")
        for key in ("blue_version", "green_version"):
            value = getattr(self, key)
            if value is not None and value < 1:
                raise ConfigError(f"{key}: {value} must be a published version number (1 or more)")
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ConfigError(
                f"log_retention_days: {self.log_retention_days} must be one of {LOG_RETENTION_DAYS}"
            )
        if self.lambda_reserved_concurrency is not None and not (
            1 <= self.lambda_reserved_concurrency <= MAX_RESERVED_CONCURRENCY
        ):
            # 0 reserves nothing and throttles every invocation (the ALB answers 5XX to all).
            raise ConfigError(
                f"lambda_reserved_concurrency: {self.lambda_reserved_concurrency} must be "
                f"1..{MAX_RESERVED_CONCURRENCY} (0 or less throttles every invocation, more starves the "
                "account's unreserved pool); leave it unset for no reservation"
            )
        if self.zone_ids is not None and (
            len(self.zone_ids) != 2
            or len(set(self.zone_ids)) != 2
            or not all(ZONE_ID.match(zone) for zone in self.zone_ids)
        ):
            raise ConfigError(
                f"zone_ids: {','.join(self.zone_ids)!r} must be two distinct availability-zone IDs of the "
                "region, such as use1-az1,use1-az4 (aws ec2 describe-availability-zones shows them)"
            )
        if self.blue_weight + self.green_weight == 0:
            raise ConfigError("blue_weight, green_weight: at least one must be positive")

    @property
    def is_production(self) -> bool:
        """prod keeps its data (RETAIN, deletion protection); every other env destroys cleanly."""
        return self.env == "prod"

    def name(self, base: str) -> str:
        """The physical name of a resource: ``<base>-<env>``, the only place env enters a name."""
        return f"{base}-{self.env}"

    @classmethod
    def from_context(cls, get: Any) -> PaymentsConfig:
        """Build from a ``node.try_get_context``-like getter; ``-c key=value`` arrives as a string."""

        def integer(key: str, default: int) -> int:
            raw = get(key)
            if raw is None:
                return default
            try:
                return int(raw)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"{key}: {raw!r} is not an integer") from exc

        def optional_integer(key: str) -> int | None:
            return None if get(key) in (None, "") else integer(key, 0)

        return cls(
            env=str(get("env") or "dev"),
            alarm_email=str(get("alarm_email") or ""),
            certificate_arn=get("certificate_arn") or None,
            alb_domain_name=get("alb_domain_name") or None,
            blue_weight=integer("blue_weight", 100),
            green_weight=integer("green_weight", 0),
            blue_version=optional_integer("blue_version"),
            green_version=optional_integer("green_version"),
            log_retention_days=integer("log_retention_days", 365),
            lambda_reserved_concurrency=optional_integer("lambda_reserved_concurrency"),
            zone_ids=tuple(str(get("zone_ids")).split(",")) if get("zone_ids") else None,  # type: ignore[arg-type]
        )
