"""fraud_detector: scores queued transactions (SQS batch, ``ReportBatchItemFailures``).

Per record: parse and re-validate, read the merchant's last 24 hours through the merchant GSI
(fraud-13), score (``common.fraud.score_merchant_transaction``), record the decision on the
transaction once (conditional update), then alert REVIEW/DECLINE on the fraud topic.

Alerting is idempotent and retried, as in failed_handler: the decision is stored with
``alerted`` false, published, then marked ``alerted``. A redelivery of a decided transaction
finishes an unfinished alert (with the stored decision) and publishes nothing when it is done
(at least once: a failure between publish and mark sends it again, never loses it); a failed
publish is a batch item failure, so SQS delivers the record again (and after the redrive
count, the DLQ keeps it). A record that fails is reported alone (fraud-15); the rest of the batch
succeeds.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.exceptions import ClientError
from common.fraud import (
    HISTORY_WINDOW,
    FraudResult,
    HistoryLoader,
    dynamodb_history,
    score_merchant_transaction,
)
from common.http import dumps
from common.validation import validate_transaction

logger = Logger(service="fraud_detector")
tracer = Tracer(service="fraud_detector")
# A batch where every record failed is reported like any other (each a batch item failure), not
# as an invocation error: SQS keeps the same messages either way.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@dataclass(frozen=True)
class Dependencies:
    table: Any
    sns: Any
    topic_arn: str
    history: HistoryLoader
    # The scoring window is relative to "now"; tests pin it (a wall clock made them date-dependent).
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)


ALERTED_DECISIONS = frozenset({"REVIEW", "DECLINE"})


def detect(body: str, deps: Dependencies, now: datetime) -> dict[str, Any]:
    message = json.loads(body, parse_float=Decimal)
    transaction = validate_transaction(message)  # a poison record raises: a batch item failure
    key = {"transaction_id": transaction["transaction_id"]}
    history = [
        t
        for t in deps.history(transaction["merchant_id"], now - HISTORY_WINDOW)
        if t.transaction_id != transaction["transaction_id"]
    ]
    result = score_merchant_transaction(transaction["amount"], history, now)
    needs_alert = result.decision in ALERTED_DECISIONS
    try:
        deps.table.update_item(
            Key=key,
            UpdateExpression="SET #status = :status, decision = :decision, score = :score, "
            "reasons = :reasons" + (", alerted = :alerted" if needs_alert else ""),
            ConditionExpression="attribute_not_exists(decision)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":status": "SCORED",
                ":decision": result.decision,
                ":score": result.score,
                ":reasons": result.reasons,
                **({":alerted": False} if needs_alert else {}),
            },
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        stored = deps.table.get_item(Key=key, ConsistentRead=True)["Item"]
        if stored.get("alerted") is not False:
            logger.info("already scored; duplicate delivery", extra=key)
            return {**key, "duplicate": True}
        # Decided earlier but the alert did not finish: alert what was decided then, not a re-score.
        logger.info("scored earlier, alert unfinished; alerting now", extra=key)
        result = FraudResult(
            score=int(stored["score"]), decision=str(stored["decision"]), reasons=list(stored["reasons"])
        )
        needs_alert = True
    if needs_alert:
        deps.sns.publish(
            TopicArn=deps.topic_arn,
            Subject=f"Fraud {result.decision}: {transaction['transaction_id']}",
            Message=dumps({"transaction": transaction, **result.as_dict()}),
            MessageAttributes={"decision": {"DataType": "String", "StringValue": result.decision}},
        )
        deps.table.update_item(
            Key=key, UpdateExpression="SET alerted = :yes", ExpressionAttributeValues={":yes": True}
        )
    return {**key, **result.as_dict()}


_deps: Dependencies | None = None


def _default_deps() -> Dependencies:
    global _deps
    if _deps is None:
        table = boto3.resource("dynamodb").Table(os.environ["TRANSACTIONS_TABLE"])
        _deps = Dependencies(
            table=table,
            sns=boto3.client("sns"),
            topic_arn=os.environ["FRAUD_TOPIC_ARN"],
            history=dynamodb_history(table, os.environ["MERCHANT_INDEX"], partition_key="merchant_id"),
        )
    return _deps


def record_handler(record: SQSRecord) -> dict[str, Any]:
    deps = _default_deps()
    return detect(record.body, deps, deps.clock())


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
