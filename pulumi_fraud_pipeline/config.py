"""Settings of one fraud-pipeline stack, read once in __main__.py from Pulumi.<stack>.yaml."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

ENV_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,11}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_RECEIVES_FOR_LAMBDA = 5  # maxReceiveCount for an event source mapping's queue (Lambda's SQS guidance)


class ConfigError(ValueError):
    """A config key is missing or malformed; the message names it."""


def _int_or(value: int | None, default: int) -> int:
    return default if value is None else value  # not ``or``: 0 must reach validation, not the default


@dataclass(frozen=True, kw_only=True)
class FraudConfig:
    env: str
    alert_email: str  # required: fraud alerts and ops alarms reach nobody without a subscriber (fraud-08)
    region: str = "us-east-2"
    zones: tuple[str, ...] = ("a", "b")
    vpc_cidr: str = "10.30.0.0/16"
    stage_name: str = "v1"  # never a hard-coded "prod" (fraud-10)
    log_retention_days: int = 30
    # Concurrent invocations each queue's event source mapping may start (AWS range 2..1000): the
    # consumer's bound. Reserved concurrency would throttle instead, and a throttled invocation
    # counts as a receive, so valid messages would reach the DLQ under load.
    consumer_max_concurrency: int = 5
    # Opt-in reserved concurrency per function (unset: the functions share the account pool).
    reserved_concurrency: int | None = None
    api_rate_limit: int = 50
    api_burst_limit: int = 100
    waf_rate_limit: int = 1000  # requests per 5 minutes per client IP
    # Receives before SQS moves a message to the DLQ: at least 5 for a queue an event source
    # mapping reads (AWS's guidance), so a transient failure is retried before the DLQ.
    max_receive_count: int = 5

    def __post_init__(self) -> None:
        if not ENV_PATTERN.match(self.env):
            raise ConfigError(f"env: {self.env!r} must be 2-12 lower-case letters, digits or '-'")
        if self.stage_name == "prod" and self.env != "prod":
            raise ConfigError("stageName: 'prod' outside the prod stack is the bug fraud-10 catalogues")
        if not re.fullmatch(r"[A-Za-z0-9_]{1,64}", self.stage_name):
            raise ConfigError(f"stageName: {self.stage_name!r} must be 1-64 letters, digits or '_'")
        if not self.alert_email:
            raise ConfigError(
                "alertEmail: required (who receives fraud alerts and ops alarms by e-mail); "
                "set it with: pulumi config set alertEmail oncall@example.com"
            )
        if not EMAIL.match(self.alert_email):
            raise ConfigError(f"alertEmail: {self.alert_email!r} is not an e-mail address")
        if not 2 <= self.consumer_max_concurrency <= 1000:
            raise ConfigError(
                f"consumerMaxConcurrency: {self.consumer_max_concurrency} is outside 2..1000 "
                "(the event source mapping's maximum concurrency)"
            )
        if self.reserved_concurrency == 0:
            raise ConfigError(
                "reservedConcurrency: 0 throttles every invocation (the functions never run); "
                "leave it unset (pulumi config rm reservedConcurrency) or set "
                f"{self.consumer_max_concurrency}..10"
            )
        if self.reserved_concurrency is not None and not (
            self.consumer_max_concurrency <= self.reserved_concurrency <= 10
        ):
            raise ConfigError(
                f"reservedConcurrency: {self.reserved_concurrency} must be at least consumerMaxConcurrency "
                f"({self.consumer_max_concurrency}; less throttles the queue consumers) and at most 10 "
                "(the account keeps its unreserved pool)"
            )
        if len(self.zones) != 2 or len(set(self.zones)) != 2:
            raise ConfigError("zones: two distinct availability-zone letters")
        if not MIN_RECEIVES_FOR_LAMBDA <= self.max_receive_count <= 1000:
            raise ConfigError(
                f"maxReceiveCount: {self.max_receive_count} is outside {MIN_RECEIVES_FOR_LAMBDA}..1000: "
                "AWS advises at least 5 receives before the DLQ for a queue Lambda polls"
            )

    def name(self, base: str) -> str:
        """``fraud-<base>-<env>``: the one place the environment enters a name."""
        return f"fraud-{base}-{self.env}"

    def global_name(self, base: str) -> str:
        """``fraud-<base>-<env>-<region>``, for what is named once per account, not per region (IAM
        roles, CloudWatch dashboards): the same env deployed in two regions must not collide."""
        return f"{self.name(base)}-{self.region}"

    @property
    def availability_zones(self) -> tuple[str, ...]:
        return tuple(f"{self.region}{z}" for z in self.zones)

    @classmethod
    def from_pulumi(cls, config: Any, aws_region: str | None) -> FraudConfig:
        """From a ``pulumi.Config()`` of this project (keys in camelCase, as in Pulumi.dev.yaml)."""
        if not aws_region:
            # Without it the program would build for one region (names, zones) while pulumi-aws
            # deploys to AWS_REGION / AWS_DEFAULT_REGION / the profile's: refuse rather than guess.
            raise ConfigError(
                "aws:region is not set: the provider would deploy wherever AWS_REGION points while"
                " the program builds for another region (pulumi config set aws:region us-east-2)"
            )
        zones = config.get("zones")
        return cls(
            env=config.require("env"),
            region=aws_region,
            zones=tuple(zones.split(",")) if zones else ("a", "b"),
            stage_name=config.get("stageName") or "v1",
            alert_email=config.get("alertEmail"),
            log_retention_days=config.get_int("logRetentionDays") or 30,
            consumer_max_concurrency=_int_or(config.get_int("consumerMaxConcurrency"), 5),
            reserved_concurrency=config.get_int("reservedConcurrency"),  # 0 is refused, not defaulted
            api_rate_limit=config.get_int("apiRateLimit") or 50,
            api_burst_limit=config.get_int("apiBurstLimit") or 100,
            waf_rate_limit=config.get_int("wafRateLimit") or 1000,
            max_receive_count=_int_or(config.get_int("maxReceiveCount"), 5),
        )
