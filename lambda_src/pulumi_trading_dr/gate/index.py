"""gate: keeps order processing in the one region whose cluster writes (EventBridge schedule,
every minute, in each region; pulumi_trading_dr/components/gate.py).

Each run, from this region's own APIs only:

1. Describe the global cluster. This region *runs* when its cluster is the writer and no
   failover or switchover is under way. If the describe fails, nothing changes (fail static):
   the run raises and the next one, a minute later, tries again.
2. Make the order processor's event source mapping match: enabled when this region runs,
   disabled otherwise (a standby's processor would meet a read-only cluster). A change is
   announced on the region's topic.
3. In a standby region, forward what its queue holds to the other region's queue, if the writer
   is the other region's cluster and its queue answers: receive (invisible for
   FORWARD_VISIBILITY_SECONDS), send, then delete. A failed send leaves the message to come back
   for the next run; a lost delete leaves a duplicate, which the order processor stores once (the
   order_id is the key of both stores). When the other region is down nothing is received, so no
   receive counts towards the dead-letter redrive; the orders stay here and are processed here
   once this region is promoted.

Environment: GLOBAL_CLUSTER_ID, CLUSTER_ARN (this region's), MAPPING_UUID (this region's order
processor), QUEUE_URL (this region's orders queue), OTHER_QUEUE_URL, TOPIC_ARN,
FORWARD_VISIBILITY_SECONDS, AWS_REGION, POWERTOOLS_SERVICE_NAME, ENVIRONMENT.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from botocore.config import Config
from common import tracing

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "gate"))
logger.append_keys(environment=os.environ.get("ENVIRONMENT", "unknown"))

# The mapping's states (Lambda's API): which ones mean "on" and "off" for this function.
ON_STATES = frozenset({"Enabled", "Enabling", "Creating", "Updating"})
OFF_STATES = frozenset({"Disabled", "Disabling"})
TIME_MARGIN_MS = 10_000  # stop forwarding with this much of the invocation left
# Short timeouts: the other region may be the one that is down.
CROSS_REGION_CONFIG = Config(connect_timeout=3, read_timeout=5, retries={"total_max_attempts": 2})


class InvalidEvent(ValueError):
    """Not a scheduled run; nothing is done."""


@dataclass(frozen=True)
class Settings:
    global_cluster_id: str
    cluster_arn: str
    mapping_uuid: str
    queue_url: str
    other_queue_url: str
    topic_arn: str
    region: str = "unknown"
    environment: str = "unknown"
    forward_visibility_seconds: int = 60

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        return cls(
            global_cluster_id=env["GLOBAL_CLUSTER_ID"],
            cluster_arn=env["CLUSTER_ARN"],
            mapping_uuid=env["MAPPING_UUID"],
            queue_url=env["QUEUE_URL"],
            other_queue_url=env["OTHER_QUEUE_URL"],
            topic_arn=env["TOPIC_ARN"],
            region=env.get("AWS_REGION", "unknown"),
            environment=env.get("ENVIRONMENT", "unknown"),
            forward_visibility_seconds=int(env.get("FORWARD_VISIBILITY_SECONDS", "60")),
        )


@dataclass(frozen=True)
class Dependencies:
    rds: Any
    lambda_: Any
    sqs: Any  # this region's queue
    other_sqs: Any  # the other region's queue
    sns: Any
    settings: Settings


@dataclass(frozen=True)
class Role:
    runs: bool  # this region's cluster writes and nothing is switching
    writer: str | None
    switching: str | None  # the FailoverState status, if any


def role(deps: Dependencies) -> Role:
    settings = deps.settings
    (cluster,) = deps.rds.describe_global_clusters(GlobalClusterIdentifier=settings.global_cluster_id)[
        "GlobalClusters"
    ]
    writer = next(
        (m["DBClusterArn"] for m in cluster.get("GlobalClusterMembers", []) if m.get("IsWriter")), None
    )
    switching = (cluster.get("FailoverState") or {}).get("Status")
    return Role(runs=writer == settings.cluster_arn and not switching, writer=writer, switching=switching)


def align_processing(deps: Dependencies, runs: bool) -> str | None:
    """Enable or disable the order processor's mapping to match; the change made, if any."""
    settings = deps.settings
    state = deps.lambda_.get_event_source_mapping(UUID=settings.mapping_uuid)["State"]
    if runs and state in OFF_STATES:
        deps.lambda_.update_event_source_mapping(UUID=settings.mapping_uuid, Enabled=True)
        return f"order processing enabled in {settings.region} (was {state})"
    if not runs and state in ON_STATES:
        deps.lambda_.update_event_source_mapping(UUID=settings.mapping_uuid, Enabled=False)
        return f"order processing disabled in {settings.region} (was {state})"
    return None


def forward(deps: Dependencies, remaining_ms: Callable[[], int]) -> dict[str, int]:
    """Move this standby region's queued orders to the writer region's queue; counts."""
    settings = deps.settings
    counts = {"forwarded": 0, "failed": 0}
    # Probe the writer's queue before receiving anything: a receive counts towards the redrive.
    deps.other_sqs.get_queue_attributes(QueueUrl=settings.other_queue_url, AttributeNames=["QueueArn"])
    while remaining_ms() > TIME_MARGIN_MS:
        messages = deps.sqs.receive_message(
            QueueUrl=settings.queue_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=settings.forward_visibility_seconds,
            WaitTimeSeconds=0,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            attributes = {
                **(message.get("MessageAttributes") or {}),
                "forwarded-from": {"DataType": "String", "StringValue": settings.region},
            }
            try:
                deps.other_sqs.send_message(
                    QueueUrl=settings.other_queue_url,
                    MessageBody=message["Body"],
                    MessageAttributes=attributes,
                )
            except Exception:
                counts["failed"] += 1
                logger.exception(
                    "forwarding failed; the message comes back", extra={"id": message["MessageId"]}
                )
                continue
            deps.sqs.delete_message(QueueUrl=settings.queue_url, ReceiptHandle=message["ReceiptHandle"])
            counts["forwarded"] += 1
        if counts["failed"]:
            break  # the writer's queue is failing: leave the rest for the next run
    return counts


def run(deps: Dependencies, remaining_ms: Callable[[], int]) -> dict[str, Any]:
    settings = deps.settings
    current = role(deps)
    change = align_processing(deps, current.runs)
    result: dict[str, Any] = {
        "region": settings.region,
        "runs": current.runs,
        "writer": current.writer,
        "switching": current.switching,
        "change": change,
    }
    if change:
        _notify(deps, change, result)
    writer_elsewhere = current.writer not in (None, settings.cluster_arn) and not current.switching
    if writer_elsewhere:
        try:
            result["forwarding"] = forward(deps, remaining_ms)
        except Exception as exc:  # the writer's queue does not answer: the orders wait here
            result["forwarding"] = {"skipped": f"{type(exc).__name__}: {exc}"[:300]}
    logger.info("gate run", extra=result)
    return result


def _notify(deps: Dependencies, what: str, facts: Mapping[str, Any]) -> None:
    try:
        deps.sns.publish(
            TopicArn=deps.settings.topic_arn,
            Subject=f"trading-dr {deps.settings.environment}: {what}"[:100],
            Message=json.dumps({"summary": what, **facts}, indent=2, default=str),
        )
    except Exception:
        logger.exception("the gate's notification could not be published")


def check_event(event: Any) -> None:
    if (
        not isinstance(event, dict)
        or event.get("source") != "aws.events"
        or event.get("detail-type") != "Scheduled Event"
    ):
        raise InvalidEvent("the gate runs on its EventBridge schedule only")


_deps: Dependencies | None = None


def _default_deps() -> Dependencies:
    global _deps
    if _deps is None:
        settings = Settings.from_env(os.environ)
        other_region = settings.other_queue_url.split(".")[1]  # https://sqs.<region>.amazonaws.com/...
        _deps = Dependencies(
            rds=boto3.client("rds"),
            lambda_=boto3.client("lambda"),
            sqs=boto3.client("sqs"),
            other_sqs=boto3.client("sqs", region_name=other_region, config=CROSS_REGION_CONFIG),
            sns=boto3.client("sns"),
            settings=settings,
        )
    return _deps


@logger.inject_lambda_context
@tracing.traced
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    check_event(event)
    return run(_default_deps(), context.get_remaining_time_in_millis)
