"""fraud_check: score a validated transaction (rules in ``common.fraud``) against the
customer's history read through the table's customer GSI.

Input: ``{"transaction": {...}}``; output: ``{"score": int, "decision": str, "reasons": [...]}``.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from common.fraud import HistoryLoader, dynamodb_history, evaluate

logger = Logger(service="fraud_check")
tracer = Tracer(service="fraud_check")

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
    transaction = event.get("transaction") if isinstance(event, dict) else None
    if not isinstance(transaction, dict) or not {"customer_id", "amount"} <= transaction.keys():
        raise ValueError("event must be {'transaction': {...}} with customer_id and amount")
    return evaluate(transaction, _default_history(), datetime.now(UTC)).as_dict()
