"""The state machine definition as Python data (transactions-06), serialized with json.dumps.

Pure: takes the ARNs (Terraform references in the stack, real ARNs in tests), so the same
definition is checked by asl-validator and executed by moto's Step Functions interpreter.

    Validate -> FraudCheck -> Settle -> Notify -> Done
        any failure (after retries of Lambda service errors) -> NotifyFailure (SNS) -> Failed
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
    failure_topic: str


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
    function_arn: str, payload: dict[str, Any] | str, next_state: str, interval: int, **extra: Any
) -> dict:
    """A lambda:invoke task; ``payload`` is a template object or a JSONPath to pass as is."""
    body = {"Payload.$": payload} if isinstance(payload, str) else {"Payload": payload}
    return {
        "Type": "Task",
        "Resource": LAMBDA_INVOKE,
        "Parameters": {"FunctionName": function_arn, **body},
        "Retry": _retry(interval),
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "NotifyFailure"}],
        "Next": next_state,
        **extra,
    }


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
                ResultSelector={"transaction.$": "$.Payload.transaction"},
                ResultPath="$",
            ),
            "FraudCheck": _task(
                targets.fraud_check,
                {"transaction.$": "$.transaction"},
                "Settle",
                interval,
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
                ResultPath=None,
            ),
            "Done": {"Type": "Succeed"},
            "NotifyFailure": {
                "Type": "Task",
                "Resource": SNS_PUBLISH,
                "Parameters": {
                    "TopicArn": targets.failure_topic,
                    "Subject": "Transaction pipeline failure",
                    "Message.$": "States.JsonToString($)",
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
