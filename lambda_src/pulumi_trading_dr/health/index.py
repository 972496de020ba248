"""health: ``GET /v1/health`` of one region (API Gateway Lambda proxy integration).

What Route 53's failover records, the canaries and the failover quorum read about a region:

- ``active``: a heartbeat row was written through this region's writer endpoint (the cluster is
  the writer and reachable). 200.
- ``standby``: the writer endpoint refused the write as read-only, or does not answer (a global
  database secondary's writer endpoint is inactive until it is promoted) while the region's reader
  endpoint does. 503, or 200 with ``?role=any`` (the liveness form: alive in its role).
- ``down``: neither endpoint could be reached, or they answered an error. 503 always.

Beside the status, ``degraded`` lists what pages through its own alarm but must never move
traffic or promote a database: dead letters waiting, the oldest queued order older than
MAX_QUEUE_AGE_SECONDS, a queue or metric check that failed. A poison message is not a region lost.

One evaluation per container is reused for CACHE_SECONDS (Route 53 checks from several
locations every 30 s); a database check is bounded by short connect and statement timeouts, so the
answer comes before Route 53's checker gives up (2 s after connecting).

Environment: DB_HOST (the writer endpoint), DB_READER_HOST, DB_SECRET_ARN, QUEUE_NAME, DLQ_URL,
CACHE_SECONDS, MAX_QUEUE_AGE_SECONDS, AWS_REGION, REGION_ROLE, POWERTOOLS_SERVICE_NAME, ENVIRONMENT.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import psycopg2
from aws_lambda_powertools import Logger
from botocore.config import Config
from common import tracing
from common.database import Database, is_read_only, secret_reader
from common.rds_tls import verify_full_options

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "health"))
logger.append_keys(
    environment=os.environ.get("ENVIRONMENT", "unknown"),
    region_role=os.environ.get("REGION_ROLE", "unknown"),
)

ACTIVE, STANDBY, DOWN = "active", "standby", "down"
LIVENESS = "any"  # ?role=any
HEARTBEAT = """
INSERT INTO health_heartbeat (region, beat_at) VALUES (%s, now())
ON CONFLICT (region) DO UPDATE SET beat_at = EXCLUDED.beat_at
"""
# Well inside Route 53's 2 s for the first byte: a slow database is a failed check, not a hang.
CONNECT_OPTIONS: Mapping[str, Any] = {"connect_timeout": 2, "options": "-c statement_timeout=1500"}
# The AWS checks answer fast or are reported as degraded; never hold the answer for long.
# Each AWS check is bounded (1 s to connect, 1 s to answer, one try): with the database's 2 s the
# worst uncached answer stays a few seconds, and most answers come from the cache.
AWS_CONFIG = Config(connect_timeout=1, read_timeout=1, retries={"total_max_attempts": 1})
AGE_WINDOW = timedelta(minutes=5)


class BadRequest(ValueError):
    """The request is not one this route answers; 400 with the message."""


@dataclass(frozen=True)
class Settings:
    region: str
    queue_name: str
    dlq_url: str
    cache_seconds: float = 10
    max_queue_age_seconds: int = 900

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        return cls(
            region=env.get("AWS_REGION", "unknown"),
            queue_name=env["QUEUE_NAME"],
            dlq_url=env["DLQ_URL"],
            cache_seconds=float(env.get("CACHE_SECONDS", "10")),
            max_queue_age_seconds=int(env.get("MAX_QUEUE_AGE_SECONDS", "900")),
        )


@dataclass
class Dependencies:
    database: Database  # this region's writer endpoint
    sqs: Any
    cloudwatch: Any
    settings: Settings
    monotonic: Callable[[], float] = time.monotonic
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    reader: Database | None = None  # this region's reader endpoint
    _cached: tuple[float, dict[str, Any]] | None = None


# --- the checks -------------------------------------------------------------------------------


def check_database(database: Database, region: str, reader: Database | None = None) -> tuple[str, str | None]:
    """(status, error): writes the heartbeat through the writer endpoint; a read-only refusal, or
    a writer endpoint that does not answer while the reader endpoint does, is a reachable standby."""

    def beat(connection: Any) -> None:
        with connection, connection.cursor() as cursor:
            cursor.execute(HEARTBEAT, (region,))

    try:
        database.run(beat)
        return ACTIVE, None
    except Exception as exc:  # whatever it is, it is the answer: never a 500 from a health route
        if is_read_only(exc):
            return STANDBY, None
        database.discard()
        writer_error = f"{type(exc).__name__}: {str(exc).strip()[:200]}"
    if reader is None:
        return DOWN, writer_error

    def alive(connection: Any) -> None:
        with connection, connection.cursor() as cursor:
            cursor.execute("SELECT 1")

    try:
        reader.run(alive)
        return STANDBY, None
    except Exception as exc:
        reader.discard()
        return DOWN, f"{writer_error}; reader: {type(exc).__name__}: {str(exc).strip()[:200]}"


def check_queues(deps: Dependencies) -> tuple[dict[str, Any], list[str]]:
    """The dead letters waiting and the oldest queued order's age; reasons to call it degraded."""
    settings, checks, degraded = deps.settings, {}, []
    try:
        attributes = deps.sqs.get_queue_attributes(
            QueueUrl=settings.dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        checks["dead_letters"] = int(attributes["ApproximateNumberOfMessages"])
        if checks["dead_letters"]:
            degraded.append(f"{checks['dead_letters']} orders in the dead-letter queue")
    except Exception as exc:
        degraded.append(f"dead-letter queue not checked: {type(exc).__name__}")
    try:
        end = deps.now()
        result = deps.cloudwatch.get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "age",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/SQS",
                            "MetricName": "ApproximateAgeOfOldestMessage",
                            "Dimensions": [{"Name": "QueueName", "Value": settings.queue_name}],
                        },
                        "Period": 60,
                        "Stat": "Maximum",
                    },
                }
            ],
            StartTime=end - AGE_WINDOW,
            EndTime=end,
        )["MetricDataResults"][0]["Values"]
        checks["oldest_order_seconds"] = int(max(result)) if result else 0
        if checks["oldest_order_seconds"] > settings.max_queue_age_seconds:
            degraded.append(
                f"the oldest queued order waits {checks['oldest_order_seconds']} s "
                f"(more than {settings.max_queue_age_seconds} s)"
            )
    except Exception as exc:
        degraded.append(f"queue age not checked: {type(exc).__name__}")
    return checks, degraded


def evaluate(deps: Dependencies) -> dict[str, Any]:
    status, error = check_database(deps.database, deps.settings.region, deps.reader)
    checks, degraded = check_queues(deps)
    report: dict[str, Any] = {
        "status": status,
        "region": deps.settings.region,
        "checks": {"database": status if not error else f"{status}: {error}", **checks},
        "degraded": degraded,
        "checked_at": deps.now().isoformat(timespec="seconds"),
    }
    return report


def report(deps: Dependencies) -> dict[str, Any]:
    """The cached evaluation while it is fresh, else a new one."""
    now = deps.monotonic()
    if deps._cached and now - deps._cached[0] < deps.settings.cache_seconds:
        return deps._cached[1]
    fresh = evaluate(deps)
    deps._cached = (now, fresh)
    if fresh["status"] == DOWN or fresh["degraded"]:
        logger.warning("region not fully healthy", extra=fresh)
    return fresh


# --- the route --------------------------------------------------------------------------------


def wants_liveness(event: Mapping[str, Any]) -> bool:
    query = event.get("queryStringParameters") or {}
    if not isinstance(query, Mapping):
        raise BadRequest("query parameters must be an object")
    unknown = sorted(set(query) - {"role"})
    if unknown:
        raise BadRequest(f"unknown query parameters {unknown}; only role=any")
    role = query.get("role")
    if role not in (None, LIVENESS):
        raise BadRequest(f"role must be {LIVENESS!r} or absent, got {role!r}")
    return role == LIVENESS


def response(status: int, body: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
        "body": json.dumps(body),
    }


def handle(event: Mapping[str, Any], deps: Dependencies) -> dict[str, Any]:
    try:
        liveness = wants_liveness(event)
    except BadRequest as exc:
        return response(400, {"message": str(exc)})
    answer = report(deps)
    healthy = answer["status"] == ACTIVE or (liveness and answer["status"] == STANDBY)
    return response(200 if healthy else 503, answer)


_deps: Dependencies | None = None


def _default_deps() -> Dependencies:
    global _deps
    if _deps is None:
        read = secret_reader(boto3.client("secretsmanager"), os.environ["DB_SECRET_ARN"])
        options = {**CONNECT_OPTIONS, **verify_full_options()}
        _deps = Dependencies(
            database=Database(read_secret=read, host=os.environ["DB_HOST"], options=options, driver=psycopg2),
            reader=Database(
                read_secret=read, host=os.environ["DB_READER_HOST"], options=options, driver=psycopg2
            ),
            sqs=boto3.client("sqs", config=AWS_CONFIG),
            cloudwatch=boto3.client("cloudwatch", config=AWS_CONFIG),
            settings=Settings.from_env(os.environ),
        )
    return _deps


@logger.inject_lambda_context
@tracing.traced
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, _default_deps())
