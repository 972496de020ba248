"""validation: first task of the transaction state machine.

Input: the transaction as submitted (``StartExecution`` input). Output:
``{"transaction": {...normalized}}``. Bad input raises ``InvalidTransaction`` (the Lambda
``errorType``), which the state machine does not retry: it catches it, notifies SNS with the
message naming the field, and fails the execution. Rules: ``common.validation``.

Nothing that identifies a person or an account goes further than this function: unknown fields
(a card number, a name, an e-mail sent along) are dropped, e-mail addresses and card or account
numbers in the free-text description are masked, errors name fields and never values, and the
logs carry the transaction id only (README: personal data).
"""

from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools import Logger
from common import tracing
from common.validation import ValidationFailed, validate_transaction

logger = Logger(service="validation")


# E-mail addresses, and card or account numbers: 8 or more digits, single spaces or hyphens
# between (IBANs too); a number keeps its last four digits, as a receipt shows them.
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
LONG_NUMBER = re.compile(r"\d(?:[ -]?\d){7,}")


class InvalidTransaction(Exception):
    """Raised for input no retry can fix; its message names the offending field(s)."""


def mask_personal_data(text: str) -> str:
    text = EMAIL.sub("[email]", text)
    return LONG_NUMBER.sub(lambda number: "****" + re.sub(r"\D", "", number.group())[-4:], text)


def validate(payload: Any) -> dict[str, Any]:
    try:
        transaction = validate_transaction(payload)
    except ValidationFailed as exc:
        raise InvalidTransaction(str(exc)) from exc
    # Amounts leave as exact decimal strings (JSON numbers would pass through float).
    transaction["amount"] = str(transaction["amount"])
    if "description" in transaction:  # free text: the state machine's history and the table keep it
        transaction["description"] = mask_personal_data(transaction["description"])
    return {"transaction": transaction}


@logger.inject_lambda_context(log_event=False)  # never the event, whatever POWERTOOLS_LOGGER_LOG_EVENT says
@tracing.traced
def handler(event: Any, context: Any) -> dict[str, Any]:
    result = validate(event)
    logger.info("valid", extra={"transaction_id": result["transaction"]["transaction_id"]})
    return result
