"""fraud_check: score a validated transaction (rules in ``common.fraud``) against the
customer's history read through the table's customer GSI.

Input: ``{"transaction": {...}}``; output: ``{"score": int, "decision": str, "reasons": [...]}``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from common import tracing
from common.fraud import HistoryLoader, customer_history_from_env, evaluate, transaction_of

logger = Logger(service="fraud_check")

_history: HistoryLoader | None = None  # created once per container


@logger.inject_lambda_context(log_event=False)  # the event carries the transaction
@tracing.traced
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _history
    transaction = transaction_of(event)
    if _history is None:
        _history = customer_history_from_env()
    return evaluate(transaction, _history, datetime.now(UTC)).as_dict()
