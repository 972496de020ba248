"""The state machine definition as Python data (transactions-06), serialized with json.dumps.

Pure: takes the ARNs (Terraform references in the stack, real ARNs in tests), so the same
definition is checked by asl-validator and executed by moto's Step Functions interpreter.

    Validate -> FraudCheck -> Settle -> Notify -> Done
        any failure (after retries of Lambda service errors) -> <State>Failed (a trimmed message)
            -> NotifyFailure (SNS, the business notifications topic) -> Failed

Failure messages carry ids, the failed state and the error type only: the Catch result's Cause
holds the function's stack trace and the state holds the whole transaction, and subscribers
(e-mail among them) should get neither.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
SNS_PUBLISH = "arn:aws:states:::sns:publish"
# Transient Lambda service errors worth retrying; a function's own errors (InvalidTransaction)
# are not: retrying bad input cannot succeed.
RETRYABLE_ERRORS = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)


@dataclass(frozen=True)
class Targets:
    validation: str
    fraud_check: str
    settlement: str
    notification: str
    notifications_topic: str  # business notifications: transaction.settled / transaction.failed


def _retry(interval_seconds: int) -> list[dict[str, Any]]:
    return [
        {
            "ErrorEquals": list(RETRYABLE_ERRORS),
            "IntervalSeconds": interval_seconds,
            "MaxAttempts": 3,
            "BackoffRate": 2.0,
            "MaxDelaySeconds": 30,
            "JitterStrategy": "FULL",
        }
    ]


def _task(
    function_arn: str,
    payload: dict[str, Any] | str,
    next_state: str,
    interval: int,
    failed: str,
    **extra: Any,
) -> dict:
    """A lambda:invoke task; ``payload`` is a template object or a JSONPath to pass as is."""
    body = {"Payload.$": payload} if isinstance(payload, str) else {"Payload": payload}
    return {
        "Type": "Task",
        "Resource": LAMBDA_INVOKE,
        "Parameters": {"FunctionName": function_arn, **body},
        "Retry": _retry(interval),
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": failed}],
        "Next": next_state,
        **extra,
    }


def _failure(state: str, *, validated: bool) -> dict[str, Any]:
    """The trimmed failure message of ``state``, at $.failure (the transaction id once validated)."""
    message = {
        "event": "transaction.failed",
        "execution.$": "$$.Execution.Name",
        "failed_state": state,
        "error.$": "$.error.Error",
    }
    if validated:
        message["transaction_id.$"] = "$.transaction.transaction_id"
    return {"Type": "Pass", "Parameters": message, "ResultPath": "$.failure", "Next": "NotifyFailure"}


def definition(targets: Targets, *, retry_interval_seconds: int = 2) -> dict[str, Any]:
    interval = retry_interval_seconds
    return {
        "Comment": "Validate, score, settle and announce a transaction",
        "StartAt": "Validate",
        "States": {
            "Validate": _task(
                targets.validation,
                "$",
                "FraudCheck",
                interval,
                "ValidateFailed",
                ResultSelector={"transaction.$": "$.Payload.transaction"},
                ResultPath="$",
            ),
            "FraudCheck": _task(
                targets.fraud_check,
                {"transaction.$": "$.transaction"},
                "Settle",
                interval,
                "FraudCheckFailed",
                ResultSelector={
                    "score.$": "$.Payload.score",
                    "decision.$": "$.Payload.decision",
                    "reasons.$": "$.Payload.reasons",
                },
                ResultPath="$.fraud",
            ),
            "Settle": _task(
                targets.settlement,
                {"transaction.$": "$.transaction", "fraud.$": "$.fraud"},
                "Notify",
                interval,
                "SettleFailed",
                ResultSelector={
                    "transaction_id.$": "$.Payload.transaction_id",
                    "status.$": "$.Payload.status",
                    "decision.$": "$.Payload.decision",
                    "score.$": "$.Payload.score",
                },
                ResultPath="$.settlement",
            ),
            "Notify": _task(
                targets.notification,
                {"transaction.$": "$.transaction", "settlement.$": "$.settlement"},
                "Done",
                interval,
                "NotifyFailed",
                ResultPath=None,
            ),
            "Done": {"Type": "Succeed"},
            "ValidateFailed": _failure("Validate", validated=False),
            "FraudCheckFailed": _failure("FraudCheck", validated=True),
            "SettleFailed": _failure("Settle", validated=True),
            "NotifyFailed": _failure("Notify", validated=True),
            "NotifyFailure": {
                "Type": "Task",
                "Resource": SNS_PUBLISH,
                "Parameters": {
                    "TopicArn": targets.notifications_topic,
                    "Subject": "Transaction pipeline failure",
                    "Message.$": "States.JsonToString($.failure)",
                },
                "ResultPath": None,
                "Next": "Failed",
            },
            "Failed": {
                "Type": "Fail",
                "Error": "TransactionFailed",
                "Cause": "See the SNS failure notification",
            },
        },
    }


def definition_json(targets: Targets, *, retry_interval_seconds: int = 2) -> str:
    return json.dumps(definition(targets, retry_interval_seconds=retry_interval_seconds), indent=2)
