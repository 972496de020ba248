"""Handlers of the transactions state machine, one by one (moto for DynamoDB and SNS)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest

from lambda_src.cdktf_transactions.fraud_check import index as fraud_check
from lambda_src.cdktf_transactions.notification import index as notification
from lambda_src.cdktf_transactions.settlement import index as settlement
from lambda_src.cdktf_transactions.validation import index as validation
from tests.lambda_src.conftest import REGION, make_transactions_table

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TXN = {
    "transaction_id": "txn-9",
    "customer_id": "c-1",
    "merchant_id": "m-1",
    "amount": "10.5",
    "currency": "EUR",
}


def test_validation_normalizes_and_keeps_amounts_exact(lambda_context):
    assert validation.handler(TXN, lambda_context) == {"transaction": {**TXN, "amount": "10.50"}}


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({**TXN, "currency": "eur"}, "currency"),
        ({**TXN, "amount": 0}, "amount"),
        ("not an object", "body"),
        ({k: v for k, v in TXN.items() if k != "merchant_id"}, "merchant_id"),
    ],
)
def test_validation_raises_invalid_transaction_naming_the_field(event, field, lambda_context):
    with pytest.raises(validation.InvalidTransaction, match=field):
        validation.handler(event, lambda_context)


@pytest.fixture
def table(aws):
    return make_transactions_table()


def test_settlement_is_idempotent(table):
    fraud = {"score": 20, "decision": "APPROVE", "reasons": ["velocity_elevated"]}
    first = settlement.settle(table, TXN, fraud, NOW)
    again = settlement.settle(table, TXN, {"score": 90, "decision": "DECLINE", "reasons": []}, NOW)
    assert (
        first
        == again
        == {
            "transaction_id": "txn-9",
            "status": "SETTLED",
            "decision": "APPROVE",
            "score": 20,
            "created_at": "2026-11-22T12:00:00.000+00:00",
        }
    )
    assert len(table.scan()["Items"]) == 1


@pytest.mark.parametrize("event", [{}, {"transaction": TXN}, "x"])
def test_settlement_refuses_malformed_events(event, table, monkeypatch, lambda_context):
    monkeypatch.setattr(settlement, "_table", table)
    with pytest.raises(ValueError, match="'transaction' and 'fraud'"):
        settlement.handler(event, lambda_context)


def test_fraud_check_scores_from_history(table, monkeypatch, lambda_context):
    monkeypatch.setenv("TRANSACTIONS_TABLE", table.name)
    monkeypatch.setenv("CUSTOMER_INDEX", "customer-created_at-index")
    monkeypatch.setattr(fraud_check, "_history", None)
    result = fraud_check.handler({"transaction": {**TXN, "amount": "12000"}}, lambda_context)
    assert result["decision"] == "REVIEW" and "high_amount" in result["reasons"]
    with pytest.raises(ValueError, match="customer_id and amount"):
        fraud_check.handler({"transaction": {"amount": "1"}}, lambda_context)


def test_notification_publishes_with_a_decision_attribute(aws, monkeypatch, lambda_context):
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    topic = sns.create_topic(Name="t")["TopicArn"]
    queue = sqs.create_queue(QueueName="q")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    monkeypatch.setenv("TOPIC_ARN", topic)
    monkeypatch.setattr(notification, "_sns", None)
    state = {
        "transaction": TXN,
        "settlement": {"transaction_id": "txn-9", "status": "DECLINED", "decision": "DECLINE", "score": 90},
    }
    assert notification.handler(state, lambda_context)["message_id"]
    (message,) = sqs.receive_message(QueueUrl=queue)["Messages"]
    envelope = json.loads(message["Body"])
    assert envelope["MessageAttributes"]["decision"]["Value"] == "DECLINE"
    assert json.loads(envelope["Message"])["status"] == "DECLINED"
    with pytest.raises(ValueError, match="'transaction' and 'settlement'"):
        notification.handler({"transaction": TXN}, lambda_context)
