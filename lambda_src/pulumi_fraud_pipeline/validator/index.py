"""validator: ``POST /transactions`` (API Gateway proxy) -> table + queue.

Validates and normalizes with ``common.validation`` (the payments rules), records the
transaction (status RECEIVED, conditional put) and enqueues it for fraud_detector. Answers 202
with the transaction id. Bad input: 400 naming the field, nothing written or enqueued. The same
transaction id again: 202 replay if the payload is the same (not enqueued twice), else 409.
Boto3 calls are traced by Powertools' Tracer (fraud-12).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from botocore.exceptions import ClientError
from common.http import BadRequest, dumps, error_response, json_body, response
from common.validation import ValidationFailed, validate_transaction

logger = Logger(service="validator")
tracer = Tracer(service="validator")  # patches boto3: DynamoDB and SQS calls appear in X-Ray


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
    item = {
        **transaction,
        "status": "RECEIVED",
        "created_at": now.isoformat(timespec="milliseconds"),
        "request_hash": digest,
    }
    try:
        deps.table.put_item(Item=item, ConditionExpression="attribute_not_exists(transaction_id)")
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        existing = deps.table.get_item(
            Key={"transaction_id": transaction["transaction_id"]}, ConsistentRead=True
        )["Item"]
        if existing.get("request_hash") != digest:
            raise BadRequest(
                f"transaction_id {transaction['transaction_id']} was already used with a different payload",
                status=409,
                field="transaction_id",
            ) from exc
        return response(
            202,
            {"transaction_id": existing["transaction_id"], "status": existing["status"]},
            headers={"Idempotent-Replay": "true"},
        )
    deps.sqs.send_message(
        QueueUrl=deps.queue_url, MessageBody=dumps({**transaction, "created_at": item["created_at"]})
    )
    return response(202, {"transaction_id": transaction["transaction_id"], "status": "RECEIVED"})


def handle(event: dict[str, Any], deps: Dependencies, now: datetime) -> dict[str, Any]:
    try:
        return receive(json_body(event), deps, now)
    except BadRequest as exc:
        return error_response(exc)


_deps: Dependencies | None = None


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _deps
    if _deps is None:
        _deps = Dependencies(
            table=boto3.resource("dynamodb").Table(os.environ["TRANSACTIONS_TABLE"]),
            sqs=boto3.client("sqs"),
            queue_url=os.environ["QUEUE_URL"],
        )
    return handle(event, _deps, datetime.now(UTC))
