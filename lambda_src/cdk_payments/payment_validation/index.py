"""payment_validation: validate and normalize a payment request.

Invoked synchronously by transaction_processing with ``{"transaction": {...}}``, or behind an
API (proxy event with a JSON ``body``). Always answers in the HTTP shape: 200 with the normalized
transaction, or 400 whose message names the offending field(s). The rules live in
``common.validation``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from common.http import BadRequest, error_response, json_body, response
from common.validation import ValidationFailed, validate_transaction

logger = Logger(service="payment_validation")


def validate(payload: Any) -> dict[str, Any]:
    """The HTTP-shaped answer for one payload; pure."""
    try:
        transaction = validate_transaction(payload)
    except ValidationFailed as exc:
        body = {
            "error": "Bad Request",
            "message": str(exc),
            "field": exc.field,
            "errors": [{"field": e.field, "message": e.message} for e in exc.errors],
        }
        return response(400, body)
    return response(200, {"transaction": transaction})


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if "transaction" in event:
        return validate(event["transaction"])
    try:
        payload = json_body(event)
    except BadRequest as exc:
        return error_response(exc)
    return validate(payload)
