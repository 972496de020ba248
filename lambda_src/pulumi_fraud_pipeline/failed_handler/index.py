"""failed_handler: drains the dead-letter queue without dropping anything.

Each DLQ message is stored durably (the dead-letters table, keyed by SQS message id: a repeat
delivery overwrites nothing) and announced once on the ops topic, by its message id and
transaction id (the body, which may carry personal data, stays in the table). A message whose store or alert
fails is a batch item failure, so it stays in the DLQ for the next attempt; nothing is deleted
before it is recorded and announced. Each failed attempt also counts one ``FAILURE_METRIC`` (an
embedded metric: namespace POWERTOOLS_METRICS_NAMESPACE, dimensions service and environment):
the signal of the dlq-not-draining alarm, which holds while a dead letter stays stuck (SQS's
ApproximateAgeOfOldestMessage stops counting a message once it has been received three times).
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError
from common import tracing
from common.batch import SQSMessage, partial_batch_response
from common.http import dumps
from common.validation import ID_PATTERN

logger = Logger(service="failed_handler")
metrics = Metrics(service="failed_handler")  # the namespace: POWERTOOLS_METRICS_NAMESPACE
# Most invocations record every dead letter and count nothing: that is not worth a warning each time.
warnings.filterwarnings("ignore", "No application metrics to publish")


@dataclass(frozen=True)
class Dependencies:
    table: Any
    sns: Any
    topic_arn: str
    failure_metric: str  # counted per failed attempt; the dlq-not-draining alarm reads it
    environment: str  # the metric's environment dimension


def record_failure(
    message_id: str, body: str, attributes: dict[str, Any], deps: Dependencies, now: datetime
) -> bool:
    """Store once, alert once; returns False when both already happened for this message.

    Stored first with ``alerted`` false, then alerted, then marked. A failure between the steps
    leaves the message in the DLQ (batch item failure) and the next delivery finishes the job.
    """
    key = {"message_id": message_id}
    try:
        deps.table.put_item(
            Item={
                **key,
                "body": body,
                "received_at": now.isoformat(timespec="milliseconds"),
                "receive_count": int(attributes.get("ApproximateReceiveCount", 0)),
                "first_sent_at": str(attributes.get("SentTimestamp", "")),
                "alerted": False,
            },
            ConditionExpression="attribute_not_exists(message_id)",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        if deps.table.get_item(Key=key, ConsistentRead=True)["Item"].get("alerted"):
            return False
    deps.sns.publish(
        TopicArn=deps.topic_arn,
        Subject="Fraud pipeline: a transaction could not be processed",
        Message=dumps(announcement(message_id, body, attributes)),
    )
    deps.table.update_item(
        Key=key, UpdateExpression="SET alerted = :yes", ExpressionAttributeValues={":yes": True}
    )
    return True


def announcement(message_id: str, body: str, attributes: dict[str, Any]) -> dict[str, Any]:
    """What the ops e-mail says about a dead letter: where to find it (the message id keys the
    dead-letters table, which has the body) and its transaction id if it has a well-formed one;
    never the body, which may carry anything a client sent (names, card numbers, addresses)."""
    try:
        transaction_id = json.loads(body).get("transaction_id")
    except (ValueError, AttributeError):
        transaction_id = None
    well_formed = isinstance(transaction_id, str) and ID_PATTERN.match(transaction_id)
    sent = attributes.get("SentTimestamp")  # epoch milliseconds
    return {
        "message_id": message_id,
        **({"transaction_id": transaction_id} if well_formed else {}),
        "receive_count": int(attributes.get("ApproximateReceiveCount", 0)),
        **({"first_sent_at": datetime.fromtimestamp(int(sent) / 1000, UTC).isoformat()} if sent else {}),
    }


_deps: Dependencies | None = None


def record_handler(record: SQSMessage) -> bool:
    global _deps
    if _deps is None:
        _deps = Dependencies(
            table=boto3.resource("dynamodb").Table(os.environ["DEAD_LETTERS_TABLE"]),
            sns=boto3.client("sns"),
            topic_arn=os.environ["OPS_TOPIC_ARN"],
            failure_metric=os.environ["FAILURE_METRIC"],
            environment=os.environ["ENVIRONMENT"],
        )
    try:
        return record_failure(
            record["messageId"], record["body"], dict(record["attributes"]), _deps, datetime.now(UTC)
        )
    except Exception:
        # The message comes back every visibility timeout (shorter than the alarm's period), so
        # the count stays above zero in every period for as long as the dead letter is stuck.
        metrics.add_dimension(name="environment", value=_deps.environment)
        metrics.add_metric(name=_deps.failure_metric, unit=MetricUnit.Count, value=1)
        raise


@logger.inject_lambda_context
@tracing.traced
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return partial_batch_response(event, record_handler)
