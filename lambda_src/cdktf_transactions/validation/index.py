"""validation: first task of the transaction state machine.

Input: the transaction as submitted (``StartExecution`` input). Output:
``{"transaction": {...normalized}}``. Bad input raises ``InvalidTransaction`` (the Lambda
``errorType``), which the state machine does not retry: it catches it, notifies SNS with the
message naming the field, and fails the execution. Rules: ``common.validation``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from common.http import dumps
from common.validation import ValidationFailed, validate_transaction

logger = Logger(service="validation")
tracer = Tracer(service="validation")


class InvalidTransaction(Exception):
    """Raised for input no retry can fix; its message names the offending field(s)."""


def validate(payload: Any) -> dict[str, Any]:
    try:
        transaction = validate_transaction(payload)
    except ValidationFailed as exc:
        raise InvalidTransaction(str(exc)) from exc
    # Amounts leave as exact decimal strings (JSON numbers would pass through float).
    transaction["amount"] = str(transaction["amount"])
    return {"transaction": transaction}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: Any, context: Any) -> dict[str, Any]:
    result = validate(event)
    logger.info("valid", extra={"transaction": dumps(result["transaction"])})
    return result
