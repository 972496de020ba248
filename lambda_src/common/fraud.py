"""Fraud scoring shared by every stack that scores transactions (pure rules + a DynamoDB loader).

Rules (``score``; the total is capped at 100):
- amount >= 10,000: +50 (``high_amount``); else amount >= 2,500: +20 (``elevated_amount``)
- >= 5 transactions by the customer in the last 10 minutes: +40 (``velocity_burst``);
  else >= 3: +20 (``velocity_elevated``)
- spend in the last 24 hours (declined transactions excluded) plus this amount > 20,000:
  +30 (``daily_spend``)
- no history in the last 24 hours and amount > 1,000: +15 (``new_customer_high_amount``)
Decision: score >= 70 DECLINE, >= 40 REVIEW, otherwise APPROVE.

History comes from the transactions table's customer GSI, whose projection carries exactly
``HISTORY_ATTRIBUTES`` (payments-11): keep the two in step.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

HISTORY_WINDOW = timedelta(hours=24)
BURST_WINDOW = timedelta(minutes=10)
# Non-key attributes the history query reads; the GSI projects exactly these (payments-11).
HISTORY_ATTRIBUTES = ("amount", "decision")
DECLINE_AT = 70
REVIEW_AT = 40


@dataclass(frozen=True)
class PastTransaction:
    created_at: datetime
    amount: Decimal
    decision: str
    transaction_id: str = ""


@dataclass(frozen=True)
class FraudResult:
    score: int
    decision: str
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"score": self.score, "decision": self.decision, "reasons": list(self.reasons)}


def score_transaction(amount: Decimal, history: Iterable[PastTransaction], now: datetime) -> FraudResult:
    """Apply the documented rules; pure."""
    recent = [t for t in history if now - t.created_at <= HISTORY_WINDOW]
    score, reasons = 0, []
    if amount >= 10_000:
        score, reasons = score + 50, [*reasons, "high_amount"]
    elif amount >= 2_500:
        score, reasons = score + 20, [*reasons, "elevated_amount"]
    burst = sum(1 for t in recent if now - t.created_at <= BURST_WINDOW)
    if burst >= 5:
        score, reasons = score + 40, [*reasons, "velocity_burst"]
    elif burst >= 3:
        score, reasons = score + 20, [*reasons, "velocity_elevated"]
    spent = sum((t.amount for t in recent if t.decision != "DECLINE"), Decimal(0))
    if spent + amount > 20_000:
        score, reasons = score + 30, [*reasons, "daily_spend"]
    if not recent and amount > 1_000:
        score, reasons = score + 15, [*reasons, "new_customer_high_amount"]
    score = min(score, 100)
    decision = "DECLINE" if score >= DECLINE_AT else "REVIEW" if score >= REVIEW_AT else "APPROVE"
    return FraudResult(score=score, decision=decision, reasons=reasons)


HistoryLoader = Callable[[str, datetime], list[PastTransaction]]


def dynamodb_history(table: Any, index_name: str, partition_key: str = "customer_id") -> HistoryLoader:
    """Read the transactions of one customer (or merchant, per ``partition_key``) since ``since``
    through a GSI keyed by that attribute and ``created_at``."""

    def load(key_value: str, since: datetime) -> list[PastTransaction]:
        kwargs: dict[str, Any] = {
            "IndexName": index_name,
            # A string expression, not boto3's Key(): importing this module (the stacks read
            # HISTORY_ATTRIBUTES at synth) must not import boto3.
            "KeyConditionExpression": "#key = :key AND created_at >= :since",
            # Key attributes (transaction_id, created_at) are always in a GSI; the rest is projected.
            "ProjectionExpression": "transaction_id, created_at, "
            + ", ".join(f"#{a}" for a in HISTORY_ATTRIBUTES),
            "ExpressionAttributeNames": {"#key": partition_key, **{f"#{a}": a for a in HISTORY_ATTRIBUTES}},
            "ExpressionAttributeValues": {":key": key_value, ":since": since.isoformat()},
        }
        items: list[dict[str, Any]] = []
        while True:
            page = table.query(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return [
            PastTransaction(
                created_at=datetime.fromisoformat(item["created_at"]),
                amount=Decimal(str(item["amount"])),
                decision=str(item.get("decision", "APPROVE")),
                transaction_id=str(item.get("transaction_id", "")),
            )
            for item in items
        ]

    return load


def evaluate(transaction: dict[str, Any], load_history: HistoryLoader, now: datetime) -> FraudResult:
    history = load_history(transaction["customer_id"], now - HISTORY_WINDOW)
    return score_transaction(Decimal(str(transaction["amount"])), history, now)


def customer_history_from_env() -> HistoryLoader:
    """The customer history of the table named by TRANSACTIONS_TABLE, through CUSTOMER_INDEX."""
    import boto3  # here, not at module level: see dynamodb_history

    table = boto3.resource("dynamodb").Table(os.environ["TRANSACTIONS_TABLE"])
    return dynamodb_history(table, os.environ["CUSTOMER_INDEX"])


def transaction_of(event: Any) -> dict[str, Any]:
    """The transaction of a scoring event ``{"transaction": {...}}`` (validated upstream).

    Only other functions send these, after validation: a malformed event is a caller bug, raised
    (the caller sees a function error), never scored.
    """
    transaction = event.get("transaction") if isinstance(event, dict) else None
    if not isinstance(transaction, dict) or not {"customer_id", "amount"} <= transaction.keys():
        raise ValueError("event must be {'transaction': {...}} with customer_id and amount")
    return transaction


# --- merchant rules (pulumi_fraud_pipeline) ------------------------------------------------------
MERCHANT_BASELINE_MIN = 5  # past transactions needed before "unusual for this merchant" applies
MERCHANT_SPIKE_FACTOR = 5


def score_merchant_transaction(
    amount: Decimal, history: Iterable[PastTransaction], now: datetime
) -> FraudResult:
    """Score against the merchant's last 24 hours; pure.

    - amount >= 10,000: +50 (``high_amount``); else >= 2,500: +20 (``elevated_amount``)
    - amount > 5x the merchant's mean over >= 5 transactions: +40 (``unusual_for_merchant``)
    - >= 20 transactions for the merchant in the last 10 minutes: +20 (``merchant_burst``)
    Decision thresholds as for customers: >= 70 DECLINE, >= 40 REVIEW, else APPROVE.
    """
    recent = [t for t in history if now - t.created_at <= HISTORY_WINDOW]
    score, reasons = 0, []
    if amount >= 10_000:
        score, reasons = score + 50, [*reasons, "high_amount"]
    elif amount >= 2_500:
        score, reasons = score + 20, [*reasons, "elevated_amount"]
    if len(recent) >= MERCHANT_BASELINE_MIN:
        mean = sum((t.amount for t in recent), Decimal(0)) / len(recent)
        if amount > MERCHANT_SPIKE_FACTOR * mean:
            score, reasons = score + 40, [*reasons, "unusual_for_merchant"]
    if sum(1 for t in recent if now - t.created_at <= BURST_WINDOW) >= 20:
        score, reasons = score + 20, [*reasons, "merchant_burst"]
    score = min(score, 100)
    decision = "DECLINE" if score >= DECLINE_AT else "REVIEW" if score >= REVIEW_AT else "APPROVE"
    return FraudResult(score=score, decision=decision, reasons=reasons)
