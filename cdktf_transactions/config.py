"""Settings of one transactions environment, read once in main.py (environment variables)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ENV_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,11}$")
REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
DEFAULT_REGION = "us-east-1"
IAM_ROLE_NAME_MAX = 64
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_RESERVED_CONCURRENCY = 10  # the account keeps >= 100 unreserved (transactions-01)
LOG_RETENTION_DAYS = (7, 14, 30, 90, 180, 365)
# Local state lives here, git-ignored: out/ is deleted by every `make synth-*` and `make clean`.
STATE_DIR = Path(__file__).resolve().parent / "state"
TRUE, FALSE = ("1", "true", "yes"), ("", "0", "false", "no")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class TransactionsConfig:
    env: str
    alarm_email: str  # on-call address subscribed to the alarm topic: without one, alarms reach nobody
    region: str = DEFAULT_REGION
    vpc_cidr: str = "10.20.0.0/16"
    # Opt-in: a reservation is taken from the account's pool whether used or not, and only caps
    # these functions; Step Functions invokes them once per execution step (README: concurrency).
    reserved_concurrency: int | None = None
    log_retention_days: int = 30
    state_bucket: str | None = None  # S3 backend (with a lock file) when set; local state otherwise
    state_dir: Path = STATE_DIR  # local state: <state_dir>/<region>/<stack>.tfstate (backend.py)
    # The stack was never deployed here: a deploy may start from no local state (backend.py).
    new_stack: bool = False
    retry_interval_seconds: int = 2  # first Retry interval of every Lambda task
    zones: tuple[str, ...] = ("a", "b")  # availability-zone letters of the two private subnets

    def __post_init__(self) -> None:
        if not ENV_PATTERN.match(self.env):
            raise ConfigError(
                f"TRANSACTIONS_ENV: {self.env!r} must be 2-12 lower-case letters, digits or '-'"
            )
        if not self.alarm_email:
            raise ConfigError(
                "TRANSACTIONS_ALARM_EMAIL: required, the on-call address the alarms e-mail "
                "(for example TRANSACTIONS_ALARM_EMAIL=oncall@your-company.com)"
            )
        if not REGION_PATTERN.match(self.region):
            raise ConfigError(f"TRANSACTIONS_REGION: {self.region!r} is not a region name such as us-east-1")
        if not EMAIL_PATTERN.match(self.alarm_email):
            raise ConfigError(f"TRANSACTIONS_ALARM_EMAIL: {self.alarm_email!r} is not an e-mail address")
        if self.reserved_concurrency == 0:
            raise ConfigError(
                "TRANSACTIONS_RESERVED_CONCURRENCY: 0 reserves no executions, so every invocation is "
                "throttled; leave it unset for no reservation"
            )
        if (
            self.reserved_concurrency is not None
            and not 1 <= self.reserved_concurrency <= MAX_RESERVED_CONCURRENCY
        ):
            raise ConfigError(
                f"TRANSACTIONS_RESERVED_CONCURRENCY: {self.reserved_concurrency} must be "
                f"1..{MAX_RESERVED_CONCURRENCY} (more starves the account's unreserved pool) or unset"
            )
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ConfigError(
                f"TRANSACTIONS_LOG_RETENTION_DAYS: {self.log_retention_days} not in {LOG_RETENTION_DAYS}"
            )
        if (
            len(self.zones) != 2
            or len(set(self.zones)) != 2
            or not all(re.fullmatch(r"[a-z]", z) for z in self.zones)
        ):
            raise ConfigError(
                f"TRANSACTIONS_ZONES: {','.join(self.zones)!r} must be two distinct zone letters"
            )
        if not 1 <= self.retry_interval_seconds <= 60:
            raise ConfigError("retry_interval_seconds: must be 1..60")

    @property
    def availability_zones(self) -> tuple[str, ...]:
        return tuple(f"{self.region}{zone}" for zone in self.zones)

    @property
    def stack_name(self) -> str:
        return self.name("transactions")

    def name(self, base: str) -> str:
        """``<base>-<env>``: the only place the environment enters a name (regional resources)."""
        return f"{base}-{self.env}"

    def global_name(self, base: str) -> str:
        """``<base>-<env>-<region>``, for names unique per account rather than per region (IAM
        roles): the same environment deployed in a second region must not collide with the first."""
        name = f"{self.name(base)}-{self.region}"
        if len(name) > IAM_ROLE_NAME_MAX:
            raise ConfigError(
                f"{name!r} is longer than IAM's {IAM_ROLE_NAME_MAX} characters: shorten TRANSACTIONS_ENV"
            )
        return name

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> TransactionsConfig:
        def integer(key: str, default: int | None) -> int | None:
            raw = environ.get(key)
            if raw in (None, ""):
                return default
            try:
                return int(raw)
            except ValueError as exc:
                raise ConfigError(f"{key}: {raw!r} is not an integer") from exc

        def flag(key: str) -> bool:
            raw = (environ.get(key) or "").strip().lower()
            if raw not in TRUE + FALSE:
                raise ConfigError(f"{key}: {environ[key]!r} is not 1 or 0")
            return raw in TRUE

        state_dir = environ.get("TRANSACTIONS_STATE_DIR")
        return cls(
            env=environ.get("TRANSACTIONS_ENV") or "dev",
            region=environ.get("TRANSACTIONS_REGION") or DEFAULT_REGION,
            reserved_concurrency=integer("TRANSACTIONS_RESERVED_CONCURRENCY", None),
            log_retention_days=integer("TRANSACTIONS_LOG_RETENTION_DAYS", 30),
            alarm_email=environ.get("TRANSACTIONS_ALARM_EMAIL") or "",
            state_bucket=environ.get("TRANSACTIONS_STATE_BUCKET") or None,
            state_dir=Path(state_dir).resolve() if state_dir else STATE_DIR,
            new_stack=flag("TRANSACTIONS_NEW_STACK"),
            zones=tuple((environ.get("TRANSACTIONS_ZONES") or "a,b").split(",")),
        )
