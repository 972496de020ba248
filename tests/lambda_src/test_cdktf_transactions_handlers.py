"""Handlers of the transactions state machine, one by one (moto for DynamoDB and SNS)."""

from __future__ import annotations

import importlib
import io
import json
import logging
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


# --- personal data (issue 8): what the handlers log and pass on -----------------------------------

CARD, EMAIL, IBAN = "4111 1111 1111 1111", "jane.doe+pay@example.co.uk", "DE89 3704 0044 0532 0130 00"


@pytest.mark.parametrize(
    ("description", "masked"),
    [
        (f"card {CARD}, thanks", "card ****1111, thanks"),
        ("card 4111-1111-1111-1111.", "card ****1111."),
        (f"receipt to {EMAIL}, please", "receipt to [email], please"),
        (f"from {IBAN}", "from DE****3000"),
        ("order 1234567 of 3 items", "order 1234567 of 3 items"),  # short numbers are not accounts
    ],
)
def test_validation_masks_emails_card_and_account_numbers_in_the_description(
    description, masked, lambda_context
):
    """Fix: the description is free text and goes into the execution history and the table."""
    result = validation.handler({**TXN, "description": description}, lambda_context)
    assert result["transaction"]["description"] == masked


def test_validation_errors_name_the_field_never_the_value(lambda_context):
    """The error message reaches the Lambda log and the execution history (TaskFailed's cause)."""
    with pytest.raises(validation.InvalidTransaction) as raised:
        validation.handler({**TXN, "customer_id": CARD, "merchant_id": EMAIL}, lambda_context)
    message = str(raised.value)
    assert "customer_id" in message and "merchant_id" in message
    assert CARD not in message and EMAIL not in message and "4111" not in message


@pytest.fixture
def log_output(monkeypatch):
    """Everything the four handlers' loggers write, with event logging switched on by configuration
    (POWERTOOLS_LOGGER_LOG_EVENT=true, as a console edit would)."""
    modules = (validation, fraud_check, settlement, notification)
    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")
    for module in modules:  # Powertools reads it when the decorator is applied: at import
        importlib.reload(module)
    written = io.StringIO()
    handlers = {}
    for module in modules:
        handlers[module] = logging.StreamHandler(written)
        handlers[module].setFormatter(module.logger.registered_formatter)  # JSON, extras included
        module.logger.addHandler(handlers[module])
    yield written
    monkeypatch.delenv("POWERTOOLS_LOGGER_LOG_EVENT")
    for module, handler in handlers.items():
        module.logger.removeHandler(handler)
        importlib.reload(module)


def test_no_handler_logs_the_transaction_or_what_came_with_it(table, log_output, monkeypatch, lambda_context):
    """Fix: the handlers log ids only, and never their event, whatever POWERTOOLS_LOGGER_LOG_EVENT
    says (the event is the transaction, with whatever a caller sent along)."""
    sns = boto3.client("sns", region_name=REGION)
    monkeypatch.setenv("TOPIC_ARN", sns.create_topic(Name="t")["TopicArn"])
    monkeypatch.setenv("TRANSACTIONS_TABLE", table.name)
    monkeypatch.setenv("CUSTOMER_INDEX", "customer-created_at-index")
    for module, cached in ((fraud_check, "_history"), (settlement, "_table"), (notification, "_sns")):
        monkeypatch.setattr(module, cached, None)
    name = "Jane Doe"  # free text no mask recognizes: only logging ids keeps it out
    sent = {**TXN, "card_number": CARD, "email": EMAIL, "description": f"{name}, {EMAIL}"}

    transaction = validation.handler(sent, lambda_context)["transaction"]
    fraud = fraud_check.handler({"transaction": sent}, lambda_context)
    settled = settlement.handler({"transaction": transaction, "fraud": fraud}, lambda_context)
    settlement.handler({"transaction": transaction, "fraud": fraud}, lambda_context)  # "already settled"
    notification.handler({"transaction": sent, "settlement": settled}, lambda_context)

    logged = log_output.getvalue()
    assert "txn-9" in logged  # the handlers did log, by id
    assert CARD not in logged and EMAIL not in logged and name not in logged and "card_number" not in logged
