"""failover: the trading DR stack's promotion of the secondary region's Aurora cluster.

One code package, deployed twice in the SECONDARY region (it must run while the primary region is
down), timeout 300 s (trading-dr-21), invoked asynchronously (Lambda's async retries, then the
on-failure destination: nothing is lost when it raises). What each deployment may do is decided
by its role and by ALLOW_DATA_LOSS:

- ``failover`` (ALLOW_DATA_LOSS=false, the orchestrator; its role has no
  ``rds:FailoverGlobalCluster``):
  - the ``primary-failing`` composite alarm entering ALARM: PREPARE. Report who writes, whether the
    secondary is a member ready to take over, whether the old writer's cluster still answers in
    its own region, the last measured replication lag (the writes a data-loss failover would
    throw away), and the command that promotes. Nothing is changed.
  - ``{"source": "trading-dr.drill", "detail-type": "Failover drill", "detail": {"mode":
    "switchover"}}``: a managed switchover (no data loss) to the secondary.
  - a drill asking for ``"mode": "failover"``: refused (InvalidEvent). A failover that may lose
    data is the promote function's, a separate and narrower permission.
- ``promote`` (ALLOW_DATA_LOSS=true; the only role with ``rds:FailoverGlobalCluster``):
  - ``{"source": "trading-dr.operator", "detail-type": "Promote secondary", "detail": {"confirm":
    "<global cluster id>", "reason": "...", "force_data_loss": false}}``: what ``make
    failover-pulumi-trading-dr CONFIRM=...`` sends; the confirmation must name the global cluster.
  - the ``failover`` quorum composite alarm entering ALARM (``failoverMode: automatic`` enables
    its rule).
  It asks the old writer's region whether that cluster still reports ``available``: if so, a
  switchover (no data loss) is enough and is what it does; only when it does not (the region is
  down, the cluster is unavailable, its API does not answer) does it fail over with
  AllowDataLoss. ``force_data_loss`` (operator command only) skips that question.

OK and INSUFFICIENT_DATA alarm states are ignored; anything else raises InvalidEvent.

Idempotent (trading-dr-22): the global cluster is described first on every attempt; when the
target already is the writer, or an operation towards it is under way, nothing is done (a retried
event, a second alarm or a lost answer must not fail over again). Throttling and transient errors
are retried with exponential backoff and full jitter, within MAX_ATTEMPTS and the invocation's
remaining time; a non-retryable error or exhausted retries publish a "FAILED" alert and raise.

Environment: GLOBAL_CLUSTER_ID, TARGET_CLUSTER_ARN, OLD_WRITER_CLUSTER_ARN, TOPIC_ARN, ALARM_NAME,
ALLOW_DATA_LOSS, FAILOVER_MODE, PROMOTE_FUNCTION_NAME (orchestrator), MAX_ATTEMPTS (5),
BASE_DELAY_SECONDS (2), POWERTOOLS_SERVICE_NAME, ENVIRONMENT.
"""

from __future__ import annotations

import json
import os
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionError as BotocoreConnectionError, HTTPClientError
from common import tracing

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "failover"))
logger.append_keys(environment=os.environ.get("ENVIRONMENT", "unknown"))

ALARM_SOURCE = "aws.cloudwatch"
ALARM_DETAIL_TYPE = "CloudWatch Alarm State Change"
DRILL_SOURCE = "trading-dr.drill"
DRILL_DETAIL_TYPE = "Failover drill"
OPERATOR_SOURCE = "trading-dr.operator"
OPERATOR_DETAIL_TYPE = "Promote secondary"
FAILOVER, SWITCHOVER, PREPARE, PROMOTE = "failover", "switchover", "prepare", "promote"
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
# The old writer's region may be the one that is down: ask briefly, once.
OLD_WRITER_CONFIG = Config(
    retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=3, read_timeout=5
)
LAG_WINDOW = timedelta(minutes=15)


class InvalidEvent(ValueError):
    """Not an event this function acts on; raised so async retries end in the DLQ, nothing done."""


class FailoverFailed(RuntimeError):
    """The operation could not be started; the alert has been published."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


class _Busy(Exception):
    """The global cluster is in a state that forbids starting an operation now."""


@dataclass(frozen=True)
class Settings:
    global_cluster_id: str
    target_cluster_arn: str
    old_writer_cluster_arn: str
    topic_arn: str
    alarm_name: str
    allow_data_loss: bool
    failover_mode: str = "manual"
    promote_function_name: str | None = None
    environment: str = "unknown"
    max_attempts: int = 5
    base_delay_seconds: float = 2.0
    rpo_seconds: int = 60  # an automatic data-loss failover refuses beyond this lag
    target_liveness_url: str | None = None  # the target region's /v1/health?role=any

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        flag = env["ALLOW_DATA_LOSS"]
        if flag not in ("true", "false"):
            raise ValueError(f"ALLOW_DATA_LOSS must be 'true' or 'false', got {flag!r}")
        settings = cls(
            global_cluster_id=env["GLOBAL_CLUSTER_ID"],
            target_cluster_arn=env["TARGET_CLUSTER_ARN"],
            old_writer_cluster_arn=env["OLD_WRITER_CLUSTER_ARN"],
            topic_arn=env["TOPIC_ARN"],
            alarm_name=env["ALARM_NAME"],
            allow_data_loss=flag == "true",
            failover_mode=env.get("FAILOVER_MODE", "manual"),
            promote_function_name=env.get("PROMOTE_FUNCTION_NAME") or None,
            environment=env.get("ENVIRONMENT", "unknown"),
            max_attempts=int(env.get("MAX_ATTEMPTS", "5")),
            base_delay_seconds=float(env.get("BASE_DELAY_SECONDS", "2")),
            rpo_seconds=int(env.get("RPO_SECONDS", "60")),
            target_liveness_url=env.get("TARGET_LIVENESS_URL") or None,
        )
        if settings.max_attempts < 1 or settings.base_delay_seconds < 0:
            raise ValueError("MAX_ATTEMPTS must be at least 1 and BASE_DELAY_SECONDS not negative")
        return settings


@dataclass(frozen=True)
class Dependencies:
    rds: Any  # this (the secondary) region's RDS
    sns: Any
    settings: Settings
    old_writer_rds: Any = None  # the old writer's region's RDS (who answers there?)
    cloudwatch: Any = None  # the replication lag, for the readiness report
    sleep: Callable[[float], None] = time.sleep
    rand: Callable[[], float] = random.random  # the jitter: uniform in [0, 1)
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    http_get: Callable[[str, float], tuple[int, bytes]] = field(
        default=lambda url, timeout: _http_get(url, timeout)
    )


# --- the event --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    action: str | None  # PREPARE, SWITCHOVER, PROMOTE, or None: nothing to do
    trigger: str  # what asked, for logs and the notification
    force_data_loss: bool = False


def classify(event: Any, settings: Settings) -> Request:
    """What the event asks of this deployment; raises InvalidEvent for anything it does not act on."""
    if not isinstance(event, dict):
        raise InvalidEvent(f"expected an EventBridge event object, got {type(event).__name__}")
    source, detail_type, detail = event.get("source"), event.get("detail-type"), event.get("detail")
    if not isinstance(detail, dict):
        raise InvalidEvent(f"event from {source!r} ({detail_type!r}) has no detail object")
    if source == ALARM_SOURCE and detail_type == ALARM_DETAIL_TYPE:
        name = detail.get("alarmName")
        state = detail.get("state")
        value = state.get("value") if isinstance(state, dict) else None
        if name != settings.alarm_name:
            raise InvalidEvent(f"alarm {name!r} is not this function's alarm {settings.alarm_name!r}")
        trigger = f"alarm {name} {value}"
        if value == "ALARM":
            return Request(PROMOTE if settings.allow_data_loss else PREPARE, trigger)
        if value in IGNORED_STATES:
            return Request(None, trigger)
        raise InvalidEvent(f"alarm {name!r} has no known state value: {value!r}")
    if source == DRILL_SOURCE and detail_type == DRILL_DETAIL_TYPE:
        mode = detail.get("mode")
        if settings.allow_data_loss:
            raise InvalidEvent(
                "the promote function takes no drills; the switchover drill is the failover function's"
            )
        if mode == FAILOVER:
            raise InvalidEvent(
                "a failover that may lose data is not a drill payload: it is the promote function's "
                "(make failover-pulumi-trading-dr CONFIRM=<global cluster id>)"
            )
        if mode != SWITCHOVER:
            raise InvalidEvent(f"drill mode must be {SWITCHOVER!r}, got {mode!r}")
        return Request(SWITCHOVER, f"drill {mode}")
    if source == OPERATOR_SOURCE and detail_type == OPERATOR_DETAIL_TYPE:
        if not settings.allow_data_loss:
            raise InvalidEvent("this function cannot promote; invoke the promote function")
        confirm, force = detail.get("confirm"), detail.get("force_data_loss", False)
        if confirm != settings.global_cluster_id:
            raise InvalidEvent(
                f"confirm must be the global cluster's id {settings.global_cluster_id!r}, got {confirm!r}"
            )
        if not isinstance(force, bool):
            raise InvalidEvent(f"force_data_loss must be true or false, got {force!r}")
        reason = str(detail.get("reason") or "no reason given")[:200]
        return Request(PROMOTE, f"operator: {reason}", force_data_loss=force)
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


# --- what RDS says ------------------------------------------------------------------------------


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


def old_writer_status(deps: Dependencies) -> str:
    """The old writer's cluster status as its own region's RDS API reports it, or why not known.

    ``available`` means the region and the cluster still work: no data need be lost (a switchover
    is possible). Anything else (an error, a timeout, another status) means it cannot be relied on.
    """
    try:
        (cluster,) = deps.old_writer_rds.describe_db_clusters(
            DBClusterIdentifier=deps.settings.old_writer_cluster_arn
        )["DBClusters"]
        return str(cluster.get("Status", "unknown"))
    except Exception as exc:
        return f"unreachable ({error_code(exc)})"


def replication_lag_ms(deps: Dependencies) -> tuple[int | None, str]:
    """The secondary's last measured AuroraGlobalDBReplicationLag (the writes at risk): the value
    in ms, or None when unknown, and how to say it."""
    end = deps.now()
    cluster_id = deps.settings.target_cluster_arn.rsplit(":", 1)[1]
    try:
        result = deps.cloudwatch.get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "lag",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/RDS",
                            "MetricName": "AuroraGlobalDBReplicationLag",
                            "Dimensions": [{"Name": "DBClusterIdentifier", "Value": cluster_id}],
                        },
                        "Period": 60,
                        "Stat": "Maximum",
                    },
                }
            ],
            StartTime=end - LAG_WINDOW,
            EndTime=end,
            ScanBy="TimestampDescending",
        )["MetricDataResults"][0]
    except Exception as exc:
        return None, f"unknown ({error_code(exc)})"
    if not result.get("Values"):
        return None, f"no data in the last {int(LAG_WINDOW.total_seconds() // 60)} minutes"
    lag = int(result["Values"][0])
    return lag, f"{lag} ms at {result['Timestamps'][0]:%Y-%m-%dT%H:%M:%SZ}"


def last_replication_lag(deps: Dependencies) -> str:
    return replication_lag_ms(deps)[1]


def _http_get(url: str, timeout: float) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (https, from config)
            return response.status, response.read(64 * 1024)
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def target_alive(deps: Dependencies) -> tuple[bool, str]:
    """Does the region we would promote answer its own health route (alive in its role)? A bad
    deploy that breaks the health route everywhere must not read as the primary region lost."""
    url = deps.settings.target_liveness_url
    if not url:
        return True, "not checked"
    try:
        status, body = deps.http_get(url, 5.0)
        answer = json.loads(body) if status == 200 else {}
    except Exception as exc:
        return False, f"{url}: {type(exc).__name__}"
    if status == 200 and answer.get("status") in ("active", "standby"):
        return True, f"{url}: {answer['status']}"
    return False, f"{url}: HTTP {status}"


def alarm_still_firing(deps: Dependencies) -> bool:
    """An event EventBridge or Lambda retried late may describe an alarm that has since cleared."""
    alarms = deps.cloudwatch.describe_alarms(
        AlarmNames=[deps.settings.alarm_name], AlarmTypes=["CompositeAlarm"]
    )
    return any(a.get("StateValue") == "ALARM" for a in alarms.get("CompositeAlarms", []))


# --- prepare --------------------------------------------------------------------------------------


def prepare(trigger: str, deps: Dependencies) -> dict[str, Any]:
    """The readiness report and the command to run; changes nothing."""
    settings = deps.settings
    try:
        topology = describe(deps)
        writer, members, state = topology.writer, topology.members, topology.failover_state.get("Status")
    except Exception as exc:
        writer, members, state = f"unknown ({error_code(exc)})", frozenset(), None
    old_writer = old_writer_status(deps)
    report = {
        "global_cluster": settings.global_cluster_id,
        "trigger": trigger,
        "writer": writer,
        "target": settings.target_cluster_arn,
        "target_is_member": settings.target_cluster_arn in members,
        "operation_under_way": state,
        "old_writer_status": old_writer,
        "last_replication_lag": last_replication_lag(deps),
        "failover_mode": settings.failover_mode,
    }
    if writer == settings.target_cluster_arn:
        report["next"] = "nothing: the secondary is already the writer"
    else:
        how = (
            "a switchover (no data loss): the old writer still reports available"
            if old_writer == "available"
            else "a failover that loses the writes not yet replicated (the lag above)"
        )
        report["next"] = f"to promote the secondary ({how}): {operator_command(settings)}" + (
            " (automatic mode: the quorum alarm will do it)" if settings.failover_mode == "automatic" else ""
        )
    report["action"] = "prepared"
    _notify(deps, "the primary region is failing: failover prepared", report)
    logger.info("failover prepared", extra=report)
    return report


# --- switchover and promotion -----------------------------------------------------------------


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
        elif settings.allow_data_loss:
            # Unplanned: the old writer is gone; its unreplicated writes cannot be waited for.
            deps.rds.failover_global_cluster(
                GlobalClusterIdentifier=settings.global_cluster_id,
                TargetDbClusterIdentifier=target,
                AllowDataLoss=True,
            )
        else:  # unreachable through classify; a second lock on the door
            raise FailoverFailed("this function may not fail over with data loss", "DataLossNotAllowed")
    except ClientError:
        raise  # RDS answered: nothing started
    except FailoverFailed:
        raise
    except Exception:
        run.request_sent = True  # no answer: RDS may have accepted it
        raise
    run.request_sent = True
    return {**result, "action": "initiated", "reason": f"{mode}_global_cluster accepted"}


def fail_over(
    mode: str,
    trigger: str,
    deps: Dependencies,
    remaining_ms: Callable[[], int],
    why: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Switch over, or fail over, to the target unless it is, or is becoming, the writer; ``why``
    (the facts that chose the mode) goes into the result and the notification."""
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
    result = {**result, "trigger": trigger, "attempts": attempt, **(why or {})}
    if result["action"] == "initiated":
        facts = {k: result[k] for k in ("global_cluster", "mode", "trigger", "old_writer", "new_writer")}
        facts.update(why or {})
        try:
            _notify(deps, f"{mode} to the secondary region initiated", facts)
            result["notified"] = True
        except Exception:
            # The operation is under way: raising would only make a retry find it in progress and
            # stay silent, then count it as failed. Logged, and said in the result.
            logger.exception("the success notification could not be published")
            result["notified"] = False
    logger.info("failover orchestration done", extra=result)
    return result


def promote(request: Request, deps: Dependencies, remaining_ms: Callable[[], int]) -> dict[str, Any]:
    """No data loss when the old writer still works (a switchover); else a data-loss failover.

    Started by the quorum alarm (failoverMode automatic), three more checks stand before it, each a
    refusal that pages instead of acting: the alarm still fires (the event is not a stale retry);
    the target region answers its own health route (both failing is a bad deploy, not a region
    lost); and a data-loss failover's last measured lag is within the RPO (else a person decides,
    with the number). The operator's command has made those judgements and skips them.
    """
    automatic = request.trigger.startswith("alarm ")
    if automatic:
        if not alarm_still_firing(deps):
            return _refuse(
                deps, request, "the quorum alarm is no longer in ALARM (a stale event)", page=False
            )
        alive, target = target_alive(deps)
        if not alive:
            return _refuse(
                deps, request, f"the target region's own health route fails too ({target}): a bad deploy?"
            )
    status = "not asked (force_data_loss)" if request.force_data_loss else old_writer_status(deps)
    mode = SWITCHOVER if status == "available" else FAILOVER
    why: dict[str, Any] = {"old_writer_status": status}
    if automatic and mode == FAILOVER:
        lag, said = replication_lag_ms(deps)
        why["last_replication_lag"] = said
        if lag is None or lag > deps.settings.rpo_seconds * 1000:
            return _refuse(
                deps,
                request,
                f"a data-loss failover would lose {said} (RPO {deps.settings.rpo_seconds} s): "
                "a person decides",
            )
    logger.info("promotion decided", extra={**why, "mode": mode})
    return fail_over(mode, request.trigger, deps, remaining_ms, why=why)


def _refuse(deps: Dependencies, request: Request, reason: str, page: bool = True) -> dict[str, Any]:
    """Not promoting, said on the topic (with the command a person may still run), not raised:
    a retry would only refuse again."""
    result = {"action": "refused", "reason": reason, "trigger": request.trigger}
    logger.warning("promotion refused", extra=result)
    if page:
        facts = {**result, "next": operator_command(deps.settings)}
        try:
            _notify(deps, "automatic promotion REFUSED", facts)
        except Exception:
            logger.exception("the refusal could not be published")
    return result


def operator_command(settings: Settings, function_name: str | None = None) -> str:
    """The promotion command for a person: the make target, and the plain AWS CLI call that needs
    nothing but credentials in the secondary region (no Pulumi backend, no checkout)."""
    region = settings.target_cluster_arn.split(":")[3]
    function = (
        function_name or settings.promote_function_name or f"trading-promote-{settings.environment}-secondary"
    )
    payload = json.dumps(
        {
            "source": OPERATOR_SOURCE,
            "detail-type": OPERATOR_DETAIL_TYPE,
            "detail": {"confirm": settings.global_cluster_id, "reason": "..."},
        }
    )
    return (
        f"make failover-pulumi-trading-dr STACK={settings.environment} CONFIRM={settings.global_cluster_id} "
        f"REASON='...'  or, without Pulumi: aws lambda invoke --region {region} --function-name {function} "
        f"--cli-binary-format raw-in-base64-out --cli-read-timeout 310 --payload '{payload}' /dev/stdout"
    )


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
        _notify(deps, f"{mode} FAILED", facts)
    except Exception:
        logger.exception("the failure alert could not be published")


# --- the handler ------------------------------------------------------------------------------


def handle(event: Any, deps: Dependencies, remaining_ms: Callable[[], int]) -> dict[str, Any]:
    request = classify(event, deps.settings)
    if request.action is None:
        logger.info("no failover for this state change", extra={"trigger": request.trigger})
        return {
            "action": "ignored",
            "reason": f"{request.trigger}: nothing to do",
            "trigger": request.trigger,
        }
    if request.action == PREPARE:
        return prepare(request.trigger, deps)
    if request.action == SWITCHOVER:
        return fail_over(SWITCHOVER, request.trigger, deps, remaining_ms)
    return promote(request, deps, remaining_ms)


_deps: Dependencies | None = None


def _default_deps() -> Dependencies:
    global _deps
    if _deps is None:
        settings = Settings.from_env(os.environ)
        old_writer_region = settings.old_writer_cluster_arn.split(":")[3]
        _deps = Dependencies(
            rds=boto3.client("rds", config=RDS_CONFIG),
            sns=boto3.client("sns"),
            settings=settings,
            old_writer_rds=boto3.client("rds", region_name=old_writer_region, config=OLD_WRITER_CONFIG),
            cloudwatch=boto3.client("cloudwatch"),
        )
    return _deps


@logger.inject_lambda_context(log_event=True)
@tracing.traced
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, _default_deps(), context.get_remaining_time_in_millis)
