"""Settings of one trading-DR stack, read once in __main__.py from Pulumi.<stack>.yaml."""

from __future__ import annotations

import base64
import json
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
# manual (the default): the alarms page and prepare; the promotion that may lose data is a command
# a person runs (README, "Failover"). automatic: a quorum of independent signals promotes.
FAILOVER_MODES = ("manual", "automatic")
CANARY_RATES = (1, 5, 10, 15, 30, 60)
# POST /orders tokens (README "Clients after a failover"): public signing keys only, asymmetric
# algorithms only; "none" and HS* are never accepted (an HS* key would be a secret in config).
TOKEN_KEY_ALGORITHMS = {"RSA": "RS256", "EC": "ES256"}
PRIVATE_KEY_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
MIN_RSA_BITS = 2048
# Lambda's environment holds at most 4 KB in all; the keys leave room for the other variables.
MAX_JWKS_BYTES = 3072
SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")  # RFC 6749 scope-token
BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
ISSUER = re.compile(r"[\x21-\x7e]{1,256}")  # printable, no spaces


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
    canary_rate_minutes: int = 5  # the canaries that watch their own region
    probe_rate_minutes: int = 1  # the two that feed the failover decision (they bound detection)
    log_retention_days: int = 30
    api_rate_limit: int = 50
    api_burst_limit: int = 100
    # Records that meet a switch come back after 30 s, doubling to 30 min: 10 receives keep an order
    # about 2.5 h before the dead-letter queue (lambda_src/.../order_processor retry_delay).
    max_receive_count: int = 10
    order_max_concurrency: int = 5  # event source mapping cap: bounds database connections
    failover_mode: str = "manual"  # "automatic": the quorum alarm promotes without a person
    # Recovery objectives (README "Failure timeline"): the stack's own settings must meet them.
    rto_minutes: int = 30
    rpo_seconds: int = 60
    operator_response_minutes: int = 15  # manual mode: page to command, part of the RTO
    promotion_budget_minutes: int = 5  # Aurora's promotion of the secondary, as the RTO counts it
    # Required (from_pulumi says so): the JWKS of PUBLIC keys that sign order tokens, a JSON string,
    # and the issuer they carry. Both regions' authorizers get the same values.
    order_token_jwks: str = ""
    order_token_issuer: str = ""
    order_scope: str = "orders:place"  # the `scope` a token needs to place orders

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
        if not 5 <= self.max_receive_count <= 20:
            # AWS advises at least 5 for a queue an event source mapping reads (a throttled batch
            # counts a receive); the processor's retry delay doubles with each receive.
            raise ConfigError("maxReceiveCount: 5..20")
        for key in ("canary_rate_minutes", "probe_rate_minutes"):
            if getattr(self, key) not in CANARY_RATES:
                raise ConfigError(f"{_camel(key)}: one of {', '.join(map(str, CANARY_RATES))}")
        for key, low, high in (
            ("rto_minutes", 5, 24 * 60),
            ("rpo_seconds", 10, 3600),
            ("operator_response_minutes", 1, 240),
            ("promotion_budget_minutes", 1, 60),
        ):
            if not low <= getattr(self, key) <= high:
                raise ConfigError(f"{_camel(key)}: {getattr(self, key)} is outside {low}..{high}")
        if self.failover_mode not in FAILOVER_MODES:
            raise ConfigError(f"failoverMode: one of {FAILOVER_MODES}")
        _check_order_token_keys(self.order_token_jwks)
        if not ISSUER.fullmatch(self.order_token_issuer):
            raise ConfigError(
                f"orderTokenIssuer: {self.order_token_issuer!r} must be the `iss` of the order tokens "
                "(1-256 printable characters, no spaces)"
            )
        if not SCOPE_TOKEN.fullmatch(self.order_scope):
            raise ConfigError(f"orderScope: {self.order_scope!r} is not an OAuth scope token")

    @property
    def regions(self) -> tuple[RoleSettings, RoleSettings]:
        return (
            RoleSettings("primary", self.primary_region, self.primary_vpc_cidr),
            RoleSettings("secondary", self.secondary_region, self.secondary_vpc_cidr),
        )

    @property
    def order_token_keys(self) -> str:
        """The JWKS as the authorizers get it: compact, keys sorted (the same text in both regions)."""
        return json.dumps(json.loads(self.order_token_jwks), separators=(",", ":"), sort_keys=True)

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
            "order_token_jwks": required("orderTokenJwks"),
            "order_token_issuer": required("orderTokenIssuer"),
        }
        for field in (
            "primary_region",
            "secondary_region",
            "aurora_engine_version",
            "canary_runtime",
            "failover_mode",
            "order_scope",
        ):
            value = config.get(_camel(field))
            if value:
                kwargs[field] = value
        for field in (
            "canary_rate_minutes",
            "probe_rate_minutes",
            "rto_minutes",
            "rpo_seconds",
            "operator_response_minutes",
            "promotion_budget_minutes",
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


def _check_order_token_keys(text: str) -> None:
    """orderTokenJwks: a JWKS of public RSA (RS256, 2048 bits or more) or EC P-256 (ES256) keys,
    each with a distinct ``kid``; anything else (a secret, a private key, HS*) is refused."""
    where = "orderTokenJwks"
    if not text:
        raise ConfigError(f"{where}: required; set it with `pulumi config set {where} '<JWKS JSON>'`")
    try:
        jwks = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{where}: not JSON ({exc})") from None
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list) or not keys:
        raise ConfigError(f'{where}: must be a JWKS, {{"keys": [<public JWK>, ...]}}, with at least one key')
    if len(json.dumps(jwks, separators=(",", ":"))) > MAX_JWKS_BYTES:
        raise ConfigError(f"{where}: over {MAX_JWKS_BYTES} bytes (Lambda's environment holds 4 KB)")
    kids = set()
    for number, key in enumerate(keys, 1):
        here = f"{where}: key {number}"
        if not isinstance(key, dict):
            raise ConfigError(f"{here} is not a JWK object")
        kid = key.get("kid")
        if not isinstance(kid, str) or not kid or kid in kids:
            raise ConfigError(f"{here}: every key needs a distinct, non-empty kid (tokens name it)")
        kids.add(kid)
        here = f"{where}: key {kid!r}"
        private = sorted(PRIVATE_KEY_MEMBERS & set(key))
        if private:
            raise ConfigError(f"{here} carries private or secret material {private}: give PUBLIC keys only")
        kty = key.get("kty")
        algorithm = TOKEN_KEY_ALGORITHMS.get(kty) if isinstance(kty, str) else None
        if algorithm is None:
            raise ConfigError(f"{here}: kty must be RSA (RS256) or EC (ES256, P-256); never oct/HS*")
        if key.get("alg", algorithm) != algorithm:
            raise ConfigError(f"{here}: alg {key.get('alg')!r}; a {key['kty']} key signs {algorithm} here")
        if key.get("use", "sig") != "sig":
            raise ConfigError(f"{here}: use must be 'sig'")
        members = ("n", "e") if key["kty"] == "RSA" else ("x", "y")
        values = [_base64url(key.get(member)) for member in members]
        if None in values:
            raise ConfigError(f"{here}: {'/'.join(members)} must be base64url strings")
        if key["kty"] == "EC" and (key.get("crv") != "P-256" or any(len(v) != 32 for v in values)):
            raise ConfigError(f"{here}: EC keys must be on P-256 (ES256)")
        if key["kty"] == "RSA" and int.from_bytes(values[0], "big").bit_length() < MIN_RSA_BITS:
            raise ConfigError(f"{here}: RSA keys need at least {MIN_RSA_BITS} bits")


def _base64url(value: Any) -> bytes | None:
    if not isinstance(value, str) or not value or not BASE64URL.fullmatch(value):
        return None
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part.title() for part in rest)
