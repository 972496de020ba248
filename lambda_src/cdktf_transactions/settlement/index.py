"""settlement: record the scored transaction once (conditional put on transaction_id).

Input: ``{"transaction": {...}, "fraud": {"score", "decision", "reasons"}}``. Output: the stored
record's ``transaction_id``, ``status``, ``decision``, ``score``, ``created_at``. A redelivered
execution (same transaction id) gets the record that is already there: settlement is
idempotent, so Step Functions may retry it safely.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError
from common import tracing

logger = Logger(service="settlement")

STATUS_BY_DECISION = {"APPROVE": "SETTLED", "REVIEW": "PENDING_REVIEW", "DECLINE": "DECLINED"}
RESULT_FIELDS = ("transaction_id", "status", "decision", "score", "created_at")


def settle(table: Any, transaction: dict[str, Any], fraud: dict[str, Any], now: datetime) -> dict[str, Any]:
    item = {
        **transaction,
        "amount": Decimal(str(transaction["amount"])),
        "decision": fraud["decision"],
        "score": int(fraud["score"]),
        "reasons": list(fraud.get("reasons", [])),
        "status": STATUS_BY_DECISION[fraud["decision"]],
        "created_at": now.isoformat(timespec="milliseconds"),
    }
    try:
        table.put_item(Item=item, ConditionExpression="attribute_not_exists(transaction_id)")
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        item = table.get_item(Key={"transaction_id": transaction["transaction_id"]}, ConsistentRead=True)[
            "Item"
        ]
        logger.info("already settled", extra={"transaction_id": transaction["transaction_id"]})
    result = {name: item[name] for name in RESULT_FIELDS}
    result["score"] = int(result["score"])
    return result


_table: Any = None


@logger.inject_lambda_context(log_event=False)  # the event carries the transaction
@tracing.traced
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _table
    if _table is None:
        _table = boto3.resource("dynamodb").Table(os.environ["TRANSACTIONS_TABLE"])
    if not isinstance(event, dict) or not {"transaction", "fraud"} <= event.keys():
        raise ValueError("event must carry 'transaction' and 'fraud'")
    return settle(_table, event["transaction"], event["fraud"], datetime.now(UTC))
