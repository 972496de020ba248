"""POST /orders: API Gateway validates the body against the stack's order model, then SendMessage
puts it on the queue unchanged, and order_processor parses it again. A body the API accepts but the
function refuses would be dead-lettered after the redrive count: the two must agree."""

from __future__ import annotations

import json

import jsonschema
import pytest

from lambda_src.pulumi_trading_dr.order_processor.index import InvalidOrder, parse_order
from pulumi_trading_dr.components.api import ORDER_MODEL

VALID = {
    "order_id": "ord-1",
    "account_id": "acct_7",
    "symbol": "BRK.B",
    "side": "BUY",
    "quantity": 100,
    "limit_price": "101.25",
}
CASES = [
    VALID,
    {**VALID, "limit_price": "0.0001"},
    {**VALID, "limit_price": "999999999999.9999"},
    {**VALID, "limit_price": "0.5"},
    {**VALID, "quantity": 1_000_000_000},
    {**VALID, "order_id": "x" * 64},
    {**VALID, "limit_price": "0"},
    {**VALID, "limit_price": "0.0000"},
    {**VALID, "limit_price": "00.1"},
    {**VALID, "limit_price": "1.23456"},
    {**VALID, "limit_price": "1000000000000"},
    {**VALID, "limit_price": "-1"},
    {**VALID, "limit_price": 101.25},
    {**VALID, "quantity": 0},
    {**VALID, "quantity": 1_000_000_001},
    {**VALID, "quantity": "100"},
    {**VALID, "quantity": True},
    {**VALID, "side": "buy"},
    {**VALID, "symbol": "brk.b"},
    {**VALID, "symbol": "ABCDEFGHIJKLM"},
    {**VALID, "order_id": "x" * 65},
    {**VALID, "order_id": "a b"},
    {**VALID, "account_id": ""},
    {**VALID, "extra": 1},
    {k: v for k, v in VALID.items() if k != "side"},
    [VALID],
]


def api_gateway_accepts(body) -> bool:
    return jsonschema.Draft4Validator(ORDER_MODEL).is_valid(body)


def order_processor_accepts(body) -> bool:
    try:
        parse_order(json.dumps(body))
    except InvalidOrder:
        return False
    return True


def test_the_model_is_a_valid_draft_4_schema():
    jsonschema.Draft4Validator.check_schema(ORDER_MODEL)


@pytest.mark.parametrize("body", CASES, ids=lambda b: json.dumps(b)[:60])
def test_api_gateway_and_the_order_processor_agree(body):
    assert api_gateway_accepts(body) == order_processor_accepts(body)


def test_the_corpus_has_both_answers():
    answers = {api_gateway_accepts(body) for body in CASES}
    assert answers == {True, False}
