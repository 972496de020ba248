"""fraud_detection: score a validated transaction against the customer's recent history.

Invoked synchronously by transaction_processing with ``{"transaction": {...}}`` (already
validated and normalized); returns ``{"score": int, "decision": str, "reasons": [str]}``.
The rules live in ``common.fraud``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from common import tracing
from common.fraud import HistoryLoader, customer_history_from_env, evaluate, transaction_of

logger = Logger(service="fraud_detection")

_history: HistoryLoader | None = None  # created once per container


@logger.inject_lambda_context
@tracing.traced
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _history
    transaction = transaction_of(event)
    if _history is None:
        _history = customer_history_from_env()
    result = evaluate(transaction, _history, datetime.now(UTC)).as_dict()
    logger.info("scored", extra={"transaction_id": transaction.get("transaction_id"), **result})
    return result
