"""Every alarm reaches someone."""

from __future__ import annotations

import json

from policies.model import MISSING, Document, Resource, Severity, Unresolved, as_list, computed, truthy
from policies.rules import fail, ok, rule, unknown

ALARMS = ("cloudwatch.alarm", "cloudwatch.composite_alarm")


def _mentions(text: str, alarm: Resource) -> bool:
    name = alarm.name
    if isinstance(name, str) and name and name in text:
        return True
    return f"«{alarm.address}" in text  # a reference to the alarm (its ARN or name)


def _has_targets(document: Document, events_rule: Resource) -> bool:
    if as_list(events_rule.get("targets")):
        return True
    return any(
        document.target(target.get("rule"), "events.rule") is events_rule
        for target in document.of("events.target")
    )


def _pattern_text(document: Document, events_rule: Resource) -> str | Unresolved | None:
    pattern = events_rule.get("event_pattern")
    if pattern is MISSING or pattern is None:
        return None
    if isinstance(pattern, Unresolved) or (computed(pattern) and not isinstance(pattern, str)):
        return pattern if isinstance(pattern, Unresolved) else Unresolved("a computed pattern")
    if isinstance(pattern, str):
        return pattern
    text = document.text(pattern)
    if isinstance(text, str):
        return text
    return json.dumps(pattern)  # a CloudFormation object: references stay as written


def _routed_elsewhere(document: Document, alarm: Resource) -> str | Unresolved | None:
    """A composite alarm with actions, or an EventBridge rule with targets, that this alarm drives."""
    doubt = None
    for composite in document.of("cloudwatch.composite_alarm"):
        if composite is alarm:
            continue
        actions = document.scalar(composite.get("alarm_actions"))
        rule_text = document.text(composite.get("alarm_rule"))
        if isinstance(rule_text, Unresolved) or isinstance(actions, Unresolved):
            doubt = Unresolved(f"composite alarm {composite.label()} is computed")
        elif as_list(actions) and _mentions(rule_text, alarm):
            return f"composite alarm {composite.label()}"
    for events_rule in document.of("events.rule"):
        text = _pattern_text(document, events_rule)
        if isinstance(text, Unresolved):
            doubt = Unresolved(f"the pattern of EventBridge rule {events_rule.label()} is computed")
        elif (
            text
            and "aws.cloudwatch" in text
            and _mentions(text, alarm)
            and _has_targets(document, events_rule)
        ):
            return f"EventBridge rule {events_rule.label()}"
    return doubt


@rule(
    "alarm-has-action",
    title="every alarm has an action",
    rationale="An alarm nobody is told about is no alarm: notify, or feed a composite alarm or "
    "EventBridge rule that does.",
    severity=Severity.MEDIUM,
    catalogue=("trading-dr-20", "trading-dr-25", "fraud-06"),
)
def alarm_has_action(document: Document):
    for alarm in document.of(*ALARMS):
        enabled = alarm.get("actions_enabled")
        enabled = True if enabled is MISSING else truthy(document.scalar(enabled))
        if isinstance(enabled, Unresolved):
            yield unknown(alarm, f"actions_enabled: {enabled.why}")
            continue
        raw_actions = alarm.get("alarm_actions")
        if isinstance(document.scalar(raw_actions), Unresolved):
            yield unknown(alarm, f"alarm_actions: {document.scalar(raw_actions).why}")
            continue
        actions = as_list(raw_actions)
        if actions and enabled:
            yield ok(alarm)
            continue
        elsewhere = _routed_elsewhere(document, alarm)
        if isinstance(elsewhere, str):
            yield ok(alarm, f"through {elsewhere}")
        elif isinstance(elsewhere, Unresolved) and not actions:
            yield unknown(alarm, f"no alarm_actions, and {elsewhere.why}")
        elif actions:
            yield fail(alarm, "actions_enabled is false")
        else:
            yield fail(alarm, "no alarm_actions, and no composite alarm or EventBridge rule takes it further")
