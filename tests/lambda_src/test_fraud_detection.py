"""fraud_detection: the scoring rules (pure) and the history query through the customer GSI (moto)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from common import fraud as rules
from common.fraud import PastTransaction, score_transaction

from lambda_src.cdk_payments.fraud_detection import index as fraud
from tests.lambda_src.conftest import make_transactions_table

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def past(minutes_ago, amount="10", decision="APPROVE"):
    return PastTransaction(NOW - timedelta(minutes=minutes_ago), Decimal(amount), decision)


@pytest.mark.parametrize(
    ("amount", "history", "score", "decision", "reasons"),
    [
        ("50", [past(60)], 0, "APPROVE", []),
        ("2500", [past(60)], 20, "APPROVE", ["elevated_amount"]),
        ("10000", [past(60)], 50, "REVIEW", ["high_amount"]),
        ("10", [past(1), past(2), past(3)], 20, "APPROVE", ["velocity_elevated"]),
        ("10", [past(m) for m in range(5)], 40, "REVIEW", ["velocity_burst"]),
        ("1500", [], 15, "APPROVE", ["new_customer_high_amount"]),
        ("12000", [], 65, "REVIEW", ["high_amount", "new_customer_high_amount"]),
        (
            "15000",
            [past(m, "2000") for m in range(5)],
            100,
            "DECLINE",
            ["high_amount", "velocity_burst", "daily_spend"],
        ),
        ("5000", [past(300, "16000")], 50, "REVIEW", ["elevated_amount", "daily_spend"]),
        ("5000", [past(300, "16000", "DECLINE")], 20, "APPROVE", ["elevated_amount"]),
        ("1500", [past(60 * 25)], 15, "APPROVE", ["new_customer_high_amount"]),  # older than 24 h: no history
    ],
)
def test_scoring_rules(amount, history, score, decision, reasons):
    result = score_transaction(Decimal(amount), history, NOW)
    assert (result.score, result.decision, result.reasons) == (score, decision, reasons)


@pytest.fixture
def table(aws):
    return make_transactions_table()


def test_history_comes_from_the_customer_index_within_the_window(table):
    from cdk_payments.constructs.data import CUSTOMER_INDEX  # imports the CDK: not at collection

    for i, minutes in enumerate([1, 2, 3, 4, 5, 60 * 30]):
        table.put_item(
            Item={
                "transaction_id": f"t{i}",
                "customer_id": "cust-1",
                "amount": Decimal("100"),
                "decision": "APPROVE",
                "created_at": (NOW - timedelta(minutes=minutes)).isoformat(),
            }
        )
    table.put_item(
        Item={
            "transaction_id": "other",
            "customer_id": "cust-2",
            "amount": Decimal("1"),
            "decision": "APPROVE",
            "created_at": NOW.isoformat(),
        }
    )
    loader = rules.dynamodb_history(table, CUSTOMER_INDEX)
    history = loader("cust-1", NOW - rules.HISTORY_WINDOW)
    assert len(history) == 5
    result = rules.evaluate({"customer_id": "cust-1", "amount": "10"}, loader, NOW)
    assert "velocity_burst" in result.reasons


def test_handler_scores_through_dynamodb(table, monkeypatch, lambda_context):
    from cdk_payments.constructs.data import CUSTOMER_INDEX  # imports the CDK: not at collection

    monkeypatch.setenv("TRANSACTIONS_TABLE", table.name)
    monkeypatch.setenv("CUSTOMER_INDEX", CUSTOMER_INDEX)
    monkeypatch.setattr(fraud, "_history", None)
    result = fraud.handler(
        {"transaction": {"transaction_id": "t", "customer_id": "new", "amount": "20000"}}, lambda_context
    )
    assert result == {
        "score": 65,
        "decision": "REVIEW",
        "reasons": ["high_amount", "new_customer_high_amount"],
    }


@pytest.mark.parametrize("event", [{}, {"transaction": "x"}, {"transaction": {"amount": "1"}}])
def test_handler_refuses_malformed_events(event, lambda_context):
    with pytest.raises(ValueError, match="customer_id and amount"):
        fraud.handler(event, lambda_context)
