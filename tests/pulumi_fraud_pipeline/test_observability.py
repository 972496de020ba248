"""Alarms on the failures that matter beyond error rates, each notifying the ops topic."""

from __future__ import annotations

import pytest

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def alarms_on(fraud, namespace: str, metric: str, dimension: str, value: str) -> list[dict]:
    return [
        a
        for a in fraud.of_type(ALARM)
        if a["inputs"].get("namespace") == namespace
        and a["inputs"].get("metricName") == metric
        and a["inputs"].get("dimensions") == {dimension: value}
    ]


def assert_notifies_ops(fraud, alarm: dict) -> None:
    assert alarm["inputs"]["alarmActions"] == [fraud.outputs["ops_topic_arn"]]
    assert alarm["inputs"]["treatMissingData"] == "notBreaching"  # no data: nothing waiting, nothing failed


@pytest.mark.catalogue("fraud-15")
def test_an_undrained_dlq_alarms_on_its_oldest_message(fraud):
    """failed_handler drains the DLQ in seconds; a message older than 15 minutes means it cannot,
    and the DLQ drops messages after 14 days."""
    (alarm,) = alarms_on(
        fraud, "AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", fraud.outputs["dlq_name"]
    )
    assert alarm["inputs"]["statistic"] == "Maximum"
    assert alarm["inputs"]["comparisonOperator"] == "GreaterThanThreshold"
    assert alarm["inputs"]["threshold"] == 15 * 60
    assert_notifies_ops(fraud, alarm)


@pytest.mark.catalogue("fraud-20")
def test_a_failed_asynchronous_invocation_alarms(fraud):
    """Nothing consumes the on-failure queue: one message in it is one failure to look at."""
    (queue,) = [
        q for q in fraud.of_type("aws:sqs/queue:Queue") if q["urn"].endswith("::queueing-async-failures")
    ]
    (alarm,) = alarms_on(
        fraud, "AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue["inputs"]["name"]
    )
    assert alarm["inputs"]["statistic"] == "Maximum"
    assert (alarm["inputs"]["comparisonOperator"], alarm["inputs"]["threshold"]) == (
        "GreaterThanThreshold",
        0,
    )
    assert_notifies_ops(fraud, alarm)


@pytest.mark.catalogue("fraud-06")
def test_every_function_alarms_when_throttled(fraud):
    """A throttled queue consumer burns receives (the DLQ fills with valid messages); a throttled
    validator fails the client's request."""
    for function in fraud.of_type("aws:lambda/function:Function"):
        (alarm,) = alarms_on(fraud, "AWS/Lambda", "Throttles", "FunctionName", function["inputs"]["name"])
        assert alarm["inputs"]["statistic"] == "Sum"
        assert (alarm["inputs"]["comparisonOperator"], alarm["inputs"]["threshold"]) == (
            "GreaterThanThreshold",
            0,
        )
        assert_notifies_ops(fraud, alarm)
