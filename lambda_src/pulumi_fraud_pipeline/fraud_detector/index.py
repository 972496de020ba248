"""fraud_detector: scores queued transactions (SQS batch, ``ReportBatchItemFailures``).

Per record: parse and re-validate, read the merchant's last 24 hours through the merchant GSI
(fraud-13), score (``common.fraud.score_merchant_transaction``), record the decision on the
transaction once (conditional update), then alert REVIEW/DECLINE on the fraud topic.

A transaction may be queued more than once (the validator's retry after a SendMessage that timed
out once SQS had it; SQS's at-least-once delivery). It is scored once: the first decision stored
wins. It is alerted once: the decision is stored with ``alerted`` false and an alert claim (the
SQS message id and a lease), published, then marked ``alerted``. Another delivery finds the
decision; it finishes an unfinished alert only if it holds the claim (a redelivery of the same
message) or the claim's lease ran out, and otherwise succeeds without publishing: the holder's
message stays queued until its alert is done. A failed publish is a batch item failure, so SQS
delivers the record again (and after the redrive count, the DLQ keeps it). Only a failure between
a successful publish and the mark can send an alert twice (an SNS standard topic, which e-mail
needs, has no deduplication). A record that fails is reported alone (fraud-15).

The alert names the transaction by its id (``alert_message``): no description, no full customer
or merchant id; whoever acts on it reads the rest from the table.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError
from common import tracing
from common.batch import SQSMessage, partial_batch_response
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


@dataclass(frozen=True)
class Dependencies:
    table: Any
    sns: Any
    topic_arn: str
    history: HistoryLoader
    # The scoring window is relative to "now"; tests pin it (a wall clock made them date-dependent).
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)


ALERTED_DECISIONS = frozenset({"REVIEW", "DECLINE"})
# How long an alert claim keeps other deliveries of the transaction away: longer than the
# detector's 30 s timeout, so a live holder is never overtaken.
ALERT_LEASE = timedelta(minutes=2)


def detect(body: str, deps: Dependencies, now: datetime, delivery_id: str) -> dict[str, Any]:
    """Score and alert one queued transaction; ``delivery_id`` is its SQS message id."""
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
    claim = {":claim": delivery_id, ":until": _instant(now + ALERT_LEASE)}
    alert_state = ", alerted = :alerted, alert_claim = :claim, alert_claim_until = :until"
    try:
        deps.table.update_item(
            Key=key,
            UpdateExpression="SET #status = :status, decision = :decision, score = :score, reasons = :reasons"
            + (alert_state if needs_alert else ""),
            ConditionExpression="attribute_not_exists(decision)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":status": "SCORED",
                ":decision": result.decision,
                ":score": result.score,
                ":reasons": result.reasons,
                **({":alerted": False, **claim} if needs_alert else {}),
            },
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        stored = deps.table.get_item(Key=key, ConsistentRead=True)["Item"]
        if stored.get("alerted") is not False:
            logger.info("already scored; duplicate delivery", extra=key)
            return {**key, "duplicate": True}
        if not _take_over_alert(key, claim, deps, now):
            logger.info("another delivery holds the alert; its message stays queued until sent", extra=key)
            return {**key, "duplicate": True}
        # Decided earlier but the alert did not finish: alert what was decided then, not a re-score.
        logger.info("scored earlier, alert unfinished; alerting now", extra=key)
        result = FraudResult(
            score=int(stored["score"]), decision=str(stored["decision"]), reasons=list(stored["reasons"])
        )
        needs_alert = True
    if needs_alert:
        subject, text = alert_message(transaction, result)
        deps.sns.publish(
            TopicArn=deps.topic_arn,
            Subject=subject,
            Message=text,
            MessageAttributes={"decision": {"DataType": "String", "StringValue": result.decision}},
        )
        deps.table.update_item(
            Key=key,
            UpdateExpression="SET alerted = :yes REMOVE alert_claim, alert_claim_until",
            ExpressionAttributeValues={":yes": True},
        )
    return {**key, **result.as_dict()}


def _take_over_alert(key: dict[str, str], claim: dict[str, str], deps: Dependencies, now: datetime) -> bool:
    """Claim an unfinished alert: ours already (a redelivery of the same message), or its lease over."""
    try:
        deps.table.update_item(
            Key=key,
            UpdateExpression="SET alert_claim = :claim, alert_claim_until = :until",
            ConditionExpression="alerted = :no AND (alert_claim = :claim"
            " OR attribute_not_exists(alert_claim_until) OR alert_claim_until < :now)",
            ExpressionAttributeValues={**claim, ":no": False, ":now": _instant(now)},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return False
    return True


def _instant(moment: datetime) -> str:
    """UTC, fixed width: DynamoDB compares the lease's instants as strings."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def alert_message(transaction: dict[str, Any], result: FraudResult) -> tuple[str, str]:
    """Subject and body of a fraud alert, which is e-mailed: the transaction by its id, the decision
    and why, the amount; never the description (free text: names, card numbers, addresses), never a
    full customer or merchant id (the last four characters at most)."""
    body = {
        "transaction_id": transaction["transaction_id"],
        "customer": masked(transaction["customer_id"]),
        "merchant": masked(transaction["merchant_id"]),
        "amount": transaction["amount"],
        "currency": transaction["currency"],
        **result.as_dict(),
    }
    return f"Fraud {result.decision}: {transaction['transaction_id']}", dumps(body)


def masked(identifier: str) -> str:
    """An account id reduced to its last four characters, or to nothing if it has fewer than eight
    (four of seven would give most of it away)."""
    return "****" + identifier[-4:] if len(identifier) >= 8 else "****"


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


def record_handler(record: SQSMessage) -> dict[str, Any]:
    deps = _default_deps()
    return detect(record["body"], deps, deps.clock(), record["messageId"])


@logger.inject_lambda_context
@tracing.traced
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return partial_batch_response(event, record_handler)
