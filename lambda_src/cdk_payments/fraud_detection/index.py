"""fraud_detection: score a validated transaction against the customer's recent history.

Invoked synchronously by transaction_processing with ``{"transaction": {...}}`` (already
validated and normalized); returns ``{"score": int, "decision": str, "reasons": [str]}``.
The rules live in ``common.fraud``.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from common.fraud import HistoryLoader, dynamodb_history, evaluate

logger = Logger(service="fraud_detection")
tracer = Tracer(service="fraud_detection")

_history: HistoryLoader | None = None


def _default_history() -> HistoryLoader:
    global _history
    if _history is None:
        table = boto3.resource("dynamodb").Table(os.environ["TRANSACTIONS_TABLE"])
        _history = dynamodb_history(table, os.environ["CUSTOMER_INDEX"])
    return _history


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    transaction = event.get("transaction")
    if not isinstance(transaction, dict) or not {"customer_id", "amount"} <= transaction.keys():
        # Only transaction_processing calls this function, after validation: a malformed event
        # is a caller bug, reported as an error the caller turns into a 5xx, never scored.
        raise ValueError("event must be {'transaction': {...}} with customer_id and amount")
    result = evaluate(transaction, _default_history(), datetime.now(UTC))
    logger.info("scored", extra={"transaction_id": transaction.get("transaction_id"), **result.as_dict()})
    return result.as_dict()
