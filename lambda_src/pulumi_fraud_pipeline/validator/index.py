"""validator: ``POST /transactions`` (API Gateway proxy) -> table + queue.

Validates and normalizes with ``common.validation`` (the payments rules), records the
transaction (status RECEIVED, conditional put), enqueues it for fraud_detector and marks it
``enqueued_at``. Answers 202 with the transaction id. Bad input: 400 naming the field, nothing
written or enqueued. The same transaction id again: 409 if the payload differs; else a 202
replay, which enqueues the transaction if no earlier request did (its SendMessage failed: the
earlier request was answered 503, and the detector scores a transaction once however often it is
queued). SendMessage failing: 503 with Retry-After, the transaction stored for that retry.
Boto3 calls are traced into X-Ray by common.tracing (fraud-12).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError
from common import tracing
from common.http import BadRequest, dumps, error_response, json_body, response
from common.validation import ValidationFailed, validate_transaction

logger = Logger(service="validator")


@dataclass(frozen=True)
class Dependencies:
    table: Any
    sqs: Any
    queue_url: str


def receive(payload: Any, deps: Dependencies, now: datetime) -> dict[str, Any]:
    try:
        transaction = validate_transaction(payload)
    except ValidationFailed as exc:
        raise BadRequest(str(exc), field=exc.field) from exc
    body = dumps(transaction)
    digest = hashlib.sha256(body.encode()).hexdigest()
    key = {"transaction_id": transaction["transaction_id"]}
    stored: dict[str, Any] = {
        **transaction,
        "status": "RECEIVED",
        "created_at": now.isoformat(timespec="milliseconds"),
        "request_hash": digest,
    }
    replay = False
    try:
        deps.table.put_item(Item=stored, ConditionExpression="attribute_not_exists(transaction_id)")
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        stored = deps.table.get_item(Key=key, ConsistentRead=True)["Item"]
        if stored.get("request_hash") != digest:
            raise BadRequest(
                f"transaction_id {transaction['transaction_id']} was already used with a different payload",
                status=409,
                field="transaction_id",
            ) from exc
        replay = True
        if "enqueued_at" in stored or "decision" in stored:  # queued (or even scored) already
            return _accepted(stored, replay)
        # Stored by a request whose SendMessage failed (answered 503): this retry enqueues it.
        logger.info("stored but never enqueued; enqueuing on the retry", extra=key)
    try:
        deps.sqs.send_message(
            QueueUrl=deps.queue_url, MessageBody=dumps({**transaction, "created_at": stored["created_at"]})
        )
    except (ClientError, BotoCoreError):
        # A timeout may come after SQS accepted the message: the retry then enqueues a duplicate,
        # which the detector scores and alerts once.
        logger.exception("SendMessage failed; the transaction waits for the client's retry", extra=key)
        return response(
            503,
            {
                "error": "Service Unavailable",
                "message": f"transaction {transaction['transaction_id']} was recorded but not queued for "
                "scoring; send the same request again",
            },
            headers={"Retry-After": "1"},
        )
    try:
        deps.table.update_item(
            Key=key,
            UpdateExpression="SET enqueued_at = :now",
            ExpressionAttributeValues={":now": now.isoformat(timespec="milliseconds")},
        )
    except ClientError:
        # Queued all the same; without the mark a retry enqueues it again, which the detector absorbs.
        logger.warning("enqueued but not marked enqueued_at", extra=key)
    return _accepted(stored, replay)


def _accepted(stored: dict[str, Any], replay: bool) -> dict[str, Any]:
    return response(
        202,
        {"transaction_id": stored["transaction_id"], "status": stored["status"]},
        headers={"Idempotent-Replay": "true"} if replay else None,
    )


def handle(event: dict[str, Any], deps: Dependencies, now: datetime) -> dict[str, Any]:
    try:
        return receive(json_body(event), deps, now)
    except BadRequest as exc:
        return error_response(exc)


_deps: Dependencies | None = None


@logger.inject_lambda_context
@tracing.traced
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _deps
    if _deps is None:
        _deps = Dependencies(
            table=boto3.resource("dynamodb").Table(os.environ["TRANSACTIONS_TABLE"]),
            sqs=boto3.client("sqs"),
            queue_url=os.environ["QUEUE_URL"],
        )
    return handle(event, _deps, datetime.now(UTC))
