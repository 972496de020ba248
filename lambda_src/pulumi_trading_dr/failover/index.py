"""failover: promotes the secondary region's Aurora cluster to writer of the global database.

Deployed in the SECONDARY region only, so it runs while the primary region is down; timeout 300 s
(trading-dr-21); invoked asynchronously by EventBridge (Lambda's async retries, then the on-failure
destination: nothing is lost when it raises).

Events:
- "CloudWatch Alarm State Change" of the composite alarm ``COMPOSITE_ALARM_NAME``: ALARM is an
  unplanned failover (``failover_global_cluster`` with AllowDataLoss, the primary being down);
  OK and INSUFFICIENT_DATA are ignored.
- ``{"source": "trading-dr.drill", "detail-type": "Failover drill", "detail": {"mode": ...}}``:
  ``switchover`` is a managed planned switchover (``switchover_global_cluster``, no data loss),
  ``failover`` the same unplanned failover as an alarm.
Anything else raises InvalidEvent.

Idempotent: the global cluster is described first; when the target already is the writer, or a
failover/switchover to it is under way, nothing is done (a retried event or a second alarm must not
fail over again). Errors (trading-dr-22): throttling and transient errors are retried with
exponential backoff and full jitter, within MAX_ATTEMPTS and the invocation's remaining time; a
non-retryable error or exhausted retries publish a "failover FAILED" alert and raise.

Environment: GLOBAL_CLUSTER_ID, TARGET_CLUSTER_ARN, TOPIC_ARN, COMPOSITE_ALARM_NAME, MAX_ATTEMPTS
(default 5), BASE_DELAY_SECONDS (default 2), POWERTOOLS_SERVICE_NAME, ENVIRONMENT.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionError as BotocoreConnectionError, HTTPClientError

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "failover"))
logger.append_keys(environment=os.environ.get("ENVIRONMENT", "unknown"))
tracer = Tracer(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "failover"))

ALARM_SOURCE = "aws.cloudwatch"
ALARM_DETAIL_TYPE = "CloudWatch Alarm State Change"
DRILL_SOURCE = "trading-dr.drill"
DRILL_DETAIL_TYPE = "Failover drill"
FAILOVER, SWITCHOVER = "failover", "switchover"
IGNORED_STATES = frozenset({"OK", "INSUFFICIENT_DATA"})

# RDS answers throttling with "Throttling" (not "ThrottlingException", which other services use).
THROTTLING = frozenset({"Throttling", "ThrottlingException", "RequestLimitExceeded"})
TRANSIENT = frozenset(
    {
        "InternalFailure",
        "InternalError",
        "ServiceUnavailable",
        # The global cluster or a member is busy (modifying, an operation finishing): try again.
        "InvalidGlobalClusterStateFault",
        "InvalidDBClusterStateFault",
    }
)
# A failover or switchover under way; "cancelling" is not one (the old writer stays).
IN_PROGRESS = frozenset({"pending", "failing-over", "switching-over"})
MAX_DELAY_SECONDS = 30.0
# Kept free at the end of the invocation: one more attempt (two RDS calls at their connect and
# read timeouts) and the alert. The retries never sleep into it.
TIME_MARGIN_MS = 60_000
# botocore's own retries off for RDS: the retry policy (which codes, how long, within the time
# left) lives in one place, below; botocore would otherwise multiply it (attempts x attempts).
RDS_CONFIG = Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=20)


class InvalidEvent(ValueError):
    """Not an event this function acts on; raised so async retries end in the DLQ, nothing done."""


class FailoverFailed(RuntimeError):
    """The failover could not be started; the alert has been published."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


class _Busy(Exception):
    """The global cluster is in a state that forbids starting an operation now."""


@dataclass(frozen=True)
class Settings:
    global_cluster_id: str
    target_cluster_arn: str
    topic_arn: str
    composite_alarm_name: str
    environment: str = "unknown"
    max_attempts: int = 5
    base_delay_seconds: float = 2.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        settings = cls(
            global_cluster_id=env["GLOBAL_CLUSTER_ID"],
            target_cluster_arn=env["TARGET_CLUSTER_ARN"],
            topic_arn=env["TOPIC_ARN"],
            composite_alarm_name=env["COMPOSITE_ALARM_NAME"],
            environment=env.get("ENVIRONMENT", "unknown"),
            max_attempts=int(env.get("MAX_ATTEMPTS", "5")),
            base_delay_seconds=float(env.get("BASE_DELAY_SECONDS", "2")),
        )
        if settings.max_attempts < 1 or settings.base_delay_seconds < 0:
            raise ValueError("MAX_ATTEMPTS must be at least 1 and BASE_DELAY_SECONDS not negative")
        return settings


@dataclass(frozen=True)
class Dependencies:
    rds: Any
    sns: Any
    settings: Settings
    sleep: Callable[[float], None] = time.sleep
    rand: Callable[[], float] = random.random  # the jitter: uniform in [0, 1)


# --- the event --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    mode: str | None  # FAILOVER, SWITCHOVER, or None: nothing to do
    trigger: str  # what asked, for logs and the notification


def classify(event: Any, settings: Settings) -> Request:
    """What the event asks for; raises InvalidEvent for anything this function does not act on."""
    if not isinstance(event, dict):
        raise InvalidEvent(f"expected an EventBridge event object, got {type(event).__name__}")
    source, detail_type, detail = event.get("source"), event.get("detail-type"), event.get("detail")
    if not isinstance(detail, dict):
        raise InvalidEvent(f"event from {source!r} ({detail_type!r}) has no detail object")
    if source == ALARM_SOURCE and detail_type == ALARM_DETAIL_TYPE:
        name = detail.get("alarmName")
        state = detail.get("state")
        value = state.get("value") if isinstance(state, dict) else None
        if name != settings.composite_alarm_name:
            raise InvalidEvent(f"alarm {name!r} is not the composite alarm {settings.composite_alarm_name!r}")
        trigger = f"alarm {name} {value}"
        if value == "ALARM":
            return Request(FAILOVER, trigger)
        if value in IGNORED_STATES:
            return Request(None, trigger)
        raise InvalidEvent(f"alarm {name!r} has no known state value: {value!r}")
    if source == DRILL_SOURCE and detail_type == DRILL_DETAIL_TYPE:
        mode = detail.get("mode")
        if mode not in (FAILOVER, SWITCHOVER):
            raise InvalidEvent(f"drill mode must be {FAILOVER!r} or {SWITCHOVER!r}, got {mode!r}")
        return Request(mode, f"drill {mode}")
    raise InvalidEvent(f"unknown event: source {source!r}, detail-type {detail_type!r}")


# --- retries ------------------------------------------------------------------------------------


def error_code(exc: Exception) -> str:
    if isinstance(exc, FailoverFailed):
        return exc.code
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code", "Unknown")
    return type(exc).__name__


def is_retryable(exc: Exception) -> bool:
    # Connection errors include connect timeouts; HTTPClientError includes read timeouts.
    if isinstance(exc, _Busy | BotocoreConnectionError | HTTPClientError):
        return True
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error_code(exc) in THROTTLING | TRANSIENT or status >= 500
    return False


def backoff_seconds(attempt: int, settings: Settings, rand: Callable[[], float]) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2 ** (attempt - 1))]."""
    return rand() * min(MAX_DELAY_SECONDS, settings.base_delay_seconds * 2 ** (attempt - 1))


# --- the failover -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Topology:
    writer: str | None
    members: frozenset[str]
    failover_state: Mapping[str, Any]


def describe(deps: Dependencies) -> Topology:
    cluster_id = deps.settings.global_cluster_id
    clusters = deps.rds.describe_global_clusters(GlobalClusterIdentifier=cluster_id)["GlobalClusters"]
    if len(clusters) != 1:
        raise FailoverFailed(f"global cluster {cluster_id} not found", "GlobalClusterNotFound")
    members = clusters[0].get("GlobalClusterMembers", [])
    return Topology(
        writer=next((m["DBClusterArn"] for m in members if m.get("IsWriter")), None),
        members=frozenset(m["DBClusterArn"] for m in members),
        failover_state=clusters[0].get("FailoverState") or {},
    )


@dataclass
class _Run:
    """One invocation's progress across attempts."""

    request_sent: bool = False  # a failover/switchover request may have reached RDS


def _attempt(mode: str, deps: Dependencies, run: _Run) -> dict[str, Any]:
    """One describe-decide-act pass; raises a retryable error to be called again.

    Describing first on every attempt makes a retry safe: a request whose answer was lost (a read
    timeout) shows up as an operation in progress instead of being sent twice.
    """
    settings = deps.settings
    target = settings.target_cluster_arn
    topology = describe(deps)
    state = topology.failover_state
    status = state.get("Status")
    result = {
        "global_cluster": settings.global_cluster_id,
        "mode": mode,
        "old_writer": topology.writer,
        "new_writer": target,
    }
    done = "initiated" if run.request_sent else "none"
    if status in IN_PROGRESS and state.get("ToDbClusterArn") == target:
        result["old_writer"] = state.get("FromDbClusterArn", topology.writer)
        return {**result, "action": done, "reason": f"an operation to the target is {status}"}
    if topology.writer == target and not status:
        return {**result, "action": done, "reason": "the target cluster is the writer"}
    if target not in topology.members:
        raise FailoverFailed(
            f"{target} is not a member of global cluster {settings.global_cluster_id}", "TargetNotMember"
        )
    if status:
        raise _Busy(f"global cluster is {status} (towards {state.get('ToDbClusterArn')})")
    try:
        if mode == SWITCHOVER:
            deps.rds.switchover_global_cluster(
                GlobalClusterIdentifier=settings.global_cluster_id, TargetDbClusterIdentifier=target
            )
        else:
            # Unplanned: the primary region is down; its unreplicated writes cannot be waited for.
            deps.rds.failover_global_cluster(
                GlobalClusterIdentifier=settings.global_cluster_id,
                TargetDbClusterIdentifier=target,
                AllowDataLoss=True,
            )
    except ClientError:
        raise  # RDS answered: nothing started
    except Exception:
        run.request_sent = True  # no answer: RDS may have accepted it
        raise
    run.request_sent = True
    return {**result, "action": "initiated", "reason": f"{mode}_global_cluster accepted"}


def fail_over(mode: str, trigger: str, deps: Dependencies, remaining_ms: Callable[[], int]) -> dict[str, Any]:
    """Fail over (or switch over) to the target unless it is, or is becoming, the writer."""
    settings = deps.settings
    run = _Run()
    attempt = 0
    while True:
        attempt += 1
        try:
            result = _attempt(mode, deps, run)
            break
        except Exception as exc:
            if not is_retryable(exc):
                _alert_failure(deps, mode, trigger, exc, attempt)
                raise
            delay = backoff_seconds(attempt, settings, deps.rand)
            out_of_time = remaining_ms() - delay * 1000 < TIME_MARGIN_MS
            if attempt >= settings.max_attempts or out_of_time:
                _alert_failure(deps, mode, trigger, exc, attempt)
                why = "the time left" if out_of_time else f"{attempt} attempts"
                raise FailoverFailed(
                    f"{mode} not started within {why}: {error_code(exc)}: {exc}", error_code(exc)
                ) from exc
            logger.warning(
                "retryable error; backing off",
                extra={"attempt": attempt, "error": error_code(exc), "delay_seconds": round(delay, 3)},
            )
            deps.sleep(delay)
    result = {**result, "trigger": trigger, "attempts": attempt}
    if result["action"] == "initiated":
        facts = {k: result[k] for k in ("global_cluster", "mode", "trigger", "old_writer", "new_writer")}
        try:
            _notify(deps, f"{mode} to the secondary region initiated", facts)
            result["notified"] = True
        except Exception:
            # The failover is under way: raising would only make a retry find it in progress and
            # stay silent, then count it as failed. Logged, and said in the result.
            logger.exception("the success notification could not be published")
            result["notified"] = False
    logger.info("failover orchestration done", extra=result)
    return result


# --- notifications ------------------------------------------------------------------------------


def _notify(deps: Dependencies, what: str, facts: Mapping[str, Any]) -> None:
    subject = f"trading-dr {deps.settings.environment}: {what}"
    deps.sns.publish(
        TopicArn=deps.settings.topic_arn,
        Subject=subject[:100],  # SNS's limit
        Message=json.dumps({"summary": what, **facts}, indent=2, default=str),
    )


def _alert_failure(deps: Dependencies, mode: str, trigger: str, exc: Exception, attempts: int) -> None:
    """The operators' alert: error code and message, never a stack trace. Logged if SNS fails too."""
    settings = deps.settings
    facts = {
        "global_cluster": settings.global_cluster_id,
        "target": settings.target_cluster_arn,
        "mode": mode,
        "trigger": trigger,
        "attempts": attempts,
        "error_code": error_code(exc),
        "error_message": str(exc)[:1000],
    }
    logger.error("failover FAILED", extra=facts)
    try:
        _notify(deps, f"failover FAILED ({mode})", facts)
    except Exception:
        logger.exception("the failure alert could not be published")


# --- the handler ------------------------------------------------------------------------------


def handle(event: Any, deps: Dependencies, remaining_ms: Callable[[], int]) -> dict[str, Any]:
    request = classify(event, deps.settings)
    if request.mode is None:
        logger.info("no failover for this state change", extra={"trigger": request.trigger})
        return {
            "action": "ignored",
            "reason": f"{request.trigger}: nothing to do",
            "trigger": request.trigger,
        }
    return fail_over(request.mode, request.trigger, deps, remaining_ms)


_deps: Dependencies | None = None


def _default_deps() -> Dependencies:
    global _deps
    if _deps is None:
        _deps = Dependencies(
            rds=boto3.client("rds", config=RDS_CONFIG),
            sns=boto3.client("sns"),
            settings=Settings.from_env(os.environ),
        )
    return _deps


@logger.inject_lambda_context(log_event=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, _default_deps(), context.get_remaining_time_in_millis)
