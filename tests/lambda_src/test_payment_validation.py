"""payment_validation and the shared rules in common.validation."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import pytest
from common.validation import CURRENCY_MINOR_UNITS, ValidationFailed, validate_transaction

from lambda_src.cdk_payments.payment_validation import index as payment_validation

VALID = {
    "transaction_id": "txn-0001",
    "customer_id": "cust-42",
    "merchant_id": "merchant_7",
    "amount": "125.50",
    "currency": "EUR",
}


def test_valid_transaction_is_normalized():
    result = validate_transaction({**VALID, "amount": Decimal("10.5"), "extra": "dropped"})
    assert result == {**VALID, "amount": Decimal("10.50")}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"transaction_id": None}, "transaction_id", "is required"),
        ({"currency": ""}, "currency", "is required"),
        ({"amount": "0"}, "amount", "greater than 0"),
        ({"amount": -5}, "amount", "greater than 0"),
        ({"amount": "12.345"}, "amount", "at most 2 decimal places"),
        ({"amount": "abc"}, "amount", "number or a decimal string"),
        ({"amount": True}, "amount", "number or a decimal string"),
        ({"amount": "NaN"}, "amount", "finite"),
        ({"amount": "Infinity"}, "amount", "finite"),
        ({"amount": "1000000000"}, "amount", "must not exceed"),
        ({"currency": "usd"}, "currency", "ISO-4217"),
        ({"currency": "XAU"}, "currency", "ISO-4217"),
        ({"currency": "ABC"}, "currency", "ISO-4217"),
        ({"currency": "JPY", "amount": "100.5"}, "amount", "at most 0 decimal places for JPY"),
        ({"merchant_id": "a b"}, "merchant_id", "letters, digits"),
        ({"customer_id": "x"}, "customer_id", "3-64"),
        ({"customer_id": 12345}, "customer_id", "3-64"),
        ({"description": "x" * 257}, "description", "at most 256"),
    ],
)
def test_each_rule_names_the_offending_field(change, field, message):
    with pytest.raises(ValidationFailed) as failure:
        validate_transaction({**VALID, **change})
    assert failure.value.field == field
    assert message in str(failure.value)


def test_all_errors_are_reported():
    with pytest.raises(ValidationFailed) as failure:
        validate_transaction({"amount": "-1"})
    fields = {e.field for e in failure.value.errors}
    assert fields == {"transaction_id", "customer_id", "merchant_id", "currency", "amount"}


def test_currency_table_has_the_common_codes_with_their_minor_units():
    assert CURRENCY_MINOR_UNITS["USD"] == 2 and CURRENCY_MINOR_UNITS["JPY"] == 0
    assert CURRENCY_MINOR_UNITS["KWD"] == 3 and "XAU" not in CURRENCY_MINOR_UNITS


def test_handler_answers_400_naming_the_field(lambda_context):
    response = payment_validation.handler({"transaction": {**VALID, "amount": "0.001"}}, lambda_context)
    assert response["statusCode"] == 400
    body = json.loads(response["body"])
    assert body["field"] == "amount" and "amount" in body["message"]


def test_handler_accepts_a_proxy_event_with_a_base64_body(lambda_context):
    event = {"body": base64.b64encode(json.dumps(VALID).encode()).decode(), "isBase64Encoded": True}
    response = payment_validation.handler(event, lambda_context)
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["transaction"]["amount"] == "125.50"  # money never becomes float


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"body": "{not json"}, "not valid JSON"),
        ({}, "body is required"),
        ({"body": "!!", "isBase64Encoded": True}, "base64"),
        ({"body": "[1, 2]"}, "must be a JSON object"),
    ],
)
def test_handler_rejects_malformed_bodies(event, message, lambda_context):
    response = payment_validation.handler(event, lambda_context)
    assert response["statusCode"] == 400
    assert message in json.loads(response["body"])["message"]
