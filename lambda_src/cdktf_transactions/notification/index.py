"""notification: tell subscribers how a transaction was settled (SNS, topic from TOPIC_ARN).

Input: the state machine's state ``{"transaction", "fraud", "settlement"}``. The message carries
a ``decision`` message attribute so subscribers can filter (for example only DECLINE).
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from common import tracing
from common.http import dumps

logger = Logger(service="notification")

_sns: Any = None


def notify(sns: Any, topic_arn: str, state: dict[str, Any]) -> str:
    settlement = state["settlement"]
    message = {
        "event": "transaction.settled",
        "transaction_id": settlement["transaction_id"],
        "status": settlement["status"],
        "decision": settlement["decision"],
        "score": settlement["score"],
        "amount": state["transaction"]["amount"],
        "currency": state["transaction"]["currency"],
    }
    response = sns.publish(
        TopicArn=topic_arn,
        Subject=f"Transaction {settlement['transaction_id']}: {settlement['status']}",
        Message=dumps(message),
        MessageAttributes={"decision": {"DataType": "String", "StringValue": settlement["decision"]}},
    )
    return response["MessageId"]


@logger.inject_lambda_context(log_event=False)  # the event carries the transaction
@tracing.traced
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _sns
    if _sns is None:
        _sns = boto3.client("sns")
    if not isinstance(event, dict) or not {"transaction", "settlement"} <= event.keys():
        raise ValueError("event must carry 'transaction' and 'settlement'")
    return {"message_id": notify(_sns, os.environ["TOPIC_ARN"], event)}
