"""Business notifications and on-call alarms go to separate topics, and what reaches people is
trimmed: ids, the state or status, the error type; never a transaction body or a stack trace."""

from __future__ import annotations

import json

import pytest

MACHINE_INPUT_FIELDS = ("$.detail.input", "$.detail.output", "$.detail.cause")


def publish_resources(statements):
    return {r for s in statements if "sns:Publish" in s["Action"] for r in s["Resource"]}


@pytest.mark.catalogue("transactions-09")
def test_business_notifications_and_on_call_alarms_are_separate_topics(dev):
    """Fix: business events on the notifications topic; alarm, rule and e-mail on the alarm topic."""
    notifications, alarms = dev.topic_arn("topic"), dev.topic_arn("alarm-topic")
    assert notifications != alarms
    # Business: the settlement announcement and the state machine's failure message.
    notifier = dev.function("notification")
    assert notifier["environment"]["variables"]["TOPIC_ARN"] == notifications
    _, machine = dev.one("aws_sfn_state_machine")
    assert (
        json.loads(machine["definition"])["States"]["NotifyFailure"]["Parameters"]["TopicArn"]
        == notifications
    )
    for role in (notifier["role"], machine["role_arn"]):
        assert publish_resources(dev.role_statements(role)) == {notifications}
    # On-call: the alarm, the execution-status rule and the only e-mail subscription.
    (subscription,) = dev.resources("aws_sns_topic_subscription").values()
    assert subscription["topic_arn"] == alarms
    (alarm,) = dev.resources("aws_cloudwatch_metric_alarm").values()
    (target,) = dev.resources("aws_cloudwatch_event_target").values()
    assert alarm["alarm_actions"] == [alarms] and target["arn"] == alarms


@pytest.mark.catalogue("transactions-09")
def test_execution_events_reach_on_call_without_bodies_or_stack_traces(dev):
    """Fix: the rule's input transformer passes ids, status and error type, never input/output/cause."""
    (target,) = dev.resources("aws_cloudwatch_event_target").values()
    transformer = target["input_transformer"]
    paths = transformer["input_paths"]
    assert not [p for p in paths.values() if p.startswith(MACHINE_INPUT_FIELDS) or p in ("$", "$.detail")]
    assert "aws.events.event" not in transformer["input_template"]
    sample = {"execution": "txn-1", "execution_arn": "arn:x", "status": "FAILED", "error": None}
    rendered = transformer["input_template"]
    for name in paths:  # EventBridge puts each value in as JSON (unquoted placeholders)
        rendered = rendered.replace(f"<{name}>", json.dumps(sample[name]))
    assert json.loads(rendered) == {"event": "transaction.execution_not_succeeded", **sample}
