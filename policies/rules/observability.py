"""Every alarm reaches someone."""

from __future__ import annotations

import json
import re

from policies.loaders.base import name_in_arn
from policies.model import MISSING, Document, Resource, Severity, Unresolved, as_list, computed, truthy
from policies.rules import fail, ok, rule, unknown

ALARMS = ("cloudwatch.alarm", "cloudwatch.composite_alarm")


_ARGUMENT = re.compile(r"\(\s*\"?([^\"()]+?)\"?\s*\)")  # ALARM("name"), OK(arn) in a composite rule
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')  # every string of a JSON pattern
_ADDRESS = re.compile(r"«([^».]+)")


def _tokens(strings: list[str]) -> set[str]:
    """What may name an alarm in a rule or a pattern: the strings, the names in alarm ARNs, and the
    addresses of placeholders («Alarm.Arn» -> «Alarm)."""
    found: set[str] = set()
    for text in strings:
        found.add(text)
        in_arn = name_in_arn(text)
        if in_arn is not None:
            found.add(in_arn[1])
        found.update(f"«{address}" for address in _ADDRESS.findall(text))
    return found


def _mentioned(tokens: set[str], alarm: Resource) -> bool:
    name = alarm.name
    return (isinstance(name, str) and name in tokens) or f"«{alarm.address}" in tokens


def _targeted_rules(document: Document) -> set[str]:
    targeted = set()
    for target in document.of("events.target"):
        found = document.target(target.get("rule"), "events.rule")
        if isinstance(found, Resource):
            targeted.add(found.address)
    return targeted


def _has_targets(document: Document, events_rule: Resource) -> bool:
    if as_list(events_rule.get("targets")):
        return True
    return events_rule.address in document.memo("targeted-rules", lambda: _targeted_rules(document))


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


def _routes(document: Document) -> tuple[list[tuple[str, set[str]]], Unresolved | None]:
    """Once per document: (what, tokens it names) for each composite alarm with actions and each
    EventBridge rule on CloudWatch alarms with a target; and a doubt when one cannot be read."""
    routes: list[tuple[str, set[str]]] = []
    doubt = None
    for composite in document.of("cloudwatch.composite_alarm"):
        actions = document.scalar(composite.get("alarm_actions"))
        rule_text = document.text(composite.get("alarm_rule"))
        if isinstance(rule_text, Unresolved) or isinstance(actions, Unresolved):
            doubt = Unresolved(f"composite alarm {composite.label()} is computed")
        elif as_list(actions):
            routes.append((f"composite alarm {composite.label()}", _tokens(_ARGUMENT.findall(rule_text))))
    for events_rule in document.of("events.rule"):
        text = _pattern_text(document, events_rule)
        if isinstance(text, Unresolved):
            doubt = Unresolved(f"the pattern of EventBridge rule {events_rule.label()} is computed")
        elif text and "aws.cloudwatch" in text and _has_targets(document, events_rule):
            strings = [json.loads(f'"{s}"') if "\\" in s else s for s in _STRING.findall(text)]
            routes.append((f"EventBridge rule {events_rule.label()}", _tokens(strings)))
    return routes, doubt


def _routed_elsewhere(document: Document, alarm: Resource) -> str | Unresolved | None:
    """A composite alarm with actions, or an EventBridge rule with targets, that this alarm drives."""
    routes, doubt = document.memo("alarm-routes", lambda: _routes(document))
    for what, tokens in routes:
        if _mentioned(tokens, alarm) and not what.endswith(f" {alarm.label()}"):
            return what
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
