"""Lambda functions: timeout, tracing, a log group with retention, somewhere for failed events."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from policies.model import MISSING, Document, Resource, Severity, Unresolved, arn_parts, as_list, present
from policies.rules import fail, ok, rule, unknown

# Services that invoke Lambda asynchronously (the event is queued; a failure needs a destination).
ASYNC_PRINCIPALS = {
    "sns.amazonaws.com",
    "s3.amazonaws.com",
    "events.amazonaws.com",
    "logs.amazonaws.com",
    "lambda.alarms.cloudwatch.amazonaws.com",
    "iot.amazonaws.com",
    "ses.amazonaws.com",
    "codecommit.amazonaws.com",
    "config.amazonaws.com",
    "scheduler.amazonaws.com",
}
STREAM_SERVICES = {"kinesis", "dynamodb", "kafka"}


def function_of(document: Document, value: Any) -> Resource | Unresolved | None:
    """The function a function name, ARN, alias or version reference stands for."""
    found = document.target(value, "lambda.function", "lambda.alias")
    if isinstance(found, Resource) and found.is_("lambda.alias"):
        return document.target(found.get("function_name"), "lambda.function")
    if found is None and isinstance(value, str):
        parts = arn_parts(value)
        if parts and parts["service"] == "lambda":  # a qualified ARN: function:<name>:<alias>
            pieces = parts["resource"].split(":")
            if len(pieces) >= 2:
                return document.target(pieces[1], "lambda.function")
    return found


def _number(document: Document, value: Any) -> float | Unresolved | None:
    if value is MISSING or value is None:
        return None
    value = document.scalar(value)
    if isinstance(value, Unresolved):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return Unresolved(f"not a number: {value!r}")


# AWS's guidance for SQS event sources: a visibility timeout of at least six times the function's.
VISIBILITY_FACTOR = 6


@rule(
    "lambda-timeout",
    title="every Lambda has an explicit timeout; an SQS consumer's queue hides messages 6x as long",
    rationale="The 3 s default cuts real work short; a queue visibility timeout under 6x the function's "
    "(AWS's guidance) redelivers batches still running.",
    severity=Severity.MEDIUM,
    catalogue=("trading-dr-11", "trading-dr-21"),
)
def lambda_timeout(document: Document):
    visibility: dict[str, list[tuple[Resource, Any]]] = {}
    for mapping in document.of("lambda.event_source_mapping"):
        function = function_of(document, mapping.get("function_name"))
        queue = document.target(mapping.get("event_source_arn"), "sqs.queue")
        if isinstance(function, Resource) and isinstance(queue, Resource):
            visibility.setdefault(function.address, []).append(
                (queue, queue.get("visibility_timeout", "visibility_timeout_seconds"))
            )
    for function in document.of("lambda.function"):
        timeout = _number(document, function.get("timeout"))
        if timeout is None:
            yield fail(function, "no timeout: Lambda's default is 3 seconds")
            continue
        if isinstance(timeout, Unresolved):
            yield unknown(function, timeout)
            continue
        problems, doubts = [], []
        for queue, raw in visibility.get(function.address, []):
            seconds = _number(document, raw)
            seconds = 30.0 if seconds is None else seconds  # SQS's default visibility timeout
            if isinstance(seconds, Unresolved):
                doubts.append(f"visibility timeout of {queue.label()}: {seconds.why}")
            elif seconds < timeout:
                problems.append(
                    f"timeout {timeout:g} s exceeds the visibility timeout of {queue.label()} "
                    f"({seconds:g} s): Lambda refuses the mapping"
                )
            elif seconds < VISIBILITY_FACTOR * timeout:
                problems.append(
                    f"the visibility timeout of {queue.label()} ({seconds:g} s) is under "
                    f"{VISIBILITY_FACTOR}x the timeout ({timeout:g} s)"
                )
        if problems:
            yield fail(function, "; ".join(problems))
        elif doubts:
            yield unknown(function, "; ".join(doubts))
        else:
            yield ok(function)


@rule(
    "lambda-tracing",
    title="every Lambda has active X-Ray tracing",
    rationale="Without active tracing a request's trace stops at the function.",
    severity=Severity.MEDIUM,
    catalogue=("fraud-12",),
)
def lambda_tracing(document: Document):
    for function in document.of("lambda.function"):
        mode = function.get("tracing_config.mode")
        if mode is MISSING:
            yield fail(function, "no tracing_config: tracing is PassThrough (off) by default")
            continue
        mode = document.scalar(mode)
        if isinstance(mode, Unresolved):
            yield unknown(function, mode)
        elif mode == "Active":
            yield ok(function)
        else:
            yield fail(function, f"tracing mode {mode!r}, not Active")


def _log_groups(document: Document) -> tuple[dict[str, Resource], list[Resource]]:
    """Log groups (and aws-cdk-lib's LogRetention) by name, once; and those whose name is computed."""
    named: dict[str, Resource] = {}
    computed_names: list[Resource] = []
    for group in document.of("logs.log_group", "logs.retention"):
        raw = group.get("log_group_name", "name")
        name = document.text(raw)
        if isinstance(name, str):
            named.setdefault(name, group)
        elif raw is not MISSING:
            computed_names.append(group)
    return named, computed_names


def _log_group_of(document: Document, function: Resource) -> tuple[Resource | None, str] | Unresolved:
    """The log group the function writes to, and how it was found."""
    named, computed_names = document.memo("log-groups", lambda: _log_groups(document))
    configured = function.get("logging_config.log_group")
    if configured is not MISSING:
        found = document.target(configured, "logs.log_group")
        if isinstance(found, Unresolved):
            return found
        if found is not None:
            return found, "logging_config"
        name = document.text(configured)
        if isinstance(name, Unresolved):
            return name
        expected = name
    else:
        name = function.name
        if name is None:
            placeholder = document.text(_self_reference(function))
            if isinstance(placeholder, Unresolved):
                # A generated name: only a group under /aws/lambda/ or with a computed name can be it.
                candidates = [g for n, g in named.items() if n.startswith("/aws/lambda/")] + computed_names
                if not candidates:
                    return None, "/aws/lambda/<generated name>"
                return Unresolved("the function's name is generated and its log group cannot be matched")
            name = placeholder
        if isinstance(name, Unresolved):
            return name
        expected = f"/aws/lambda/{name}"
    if expected in named:
        return named[expected], expected
    if computed_names:
        return Unresolved(f"{expected} may be {computed_names[0].label()}, whose name is computed")
    return None, expected


def _self_reference(function: Resource) -> Any:
    """How the document refers to the function's name (CloudFormation Ref; elsewhere its name)."""
    if function.document.format == "cloudformation":
        return {"Ref": function.address}
    return MISSING


@rule(
    "lambda-log-retention",
    title="every Lambda has a log group with retention",
    rationale="Lambda's own `/aws/lambda/<name>` group keeps logs forever and outlives the stack.",
    severity=Severity.MEDIUM,
    catalogue=("transactions-08",),
)
def lambda_log_retention(document: Document):
    for function in document.of("lambda.function"):
        found = _log_group_of(document, function)
        if isinstance(found, Unresolved):
            yield unknown(function, found)
            continue
        group, how = found
        if group is None:
            yield fail(function, f"no log group {how} in the stack: Lambda creates it without retention")
            continue
        retention = group.get("retention_in_days", "retention")
        if retention is MISSING or retention is None:
            yield fail(function, f"log group {group.label()} has no retention (kept forever)")
            continue
        retention = document.scalar(retention)
        if isinstance(retention, Unresolved):
            yield unknown(function, f"retention of {group.label()}: {retention.why}")
        elif retention in (0, "0"):
            yield fail(function, f"log group {group.label()} has retention 0 (never expire)")
        else:
            yield ok(function, f"{group.label()}: {retention} days")


def _async_triggers(document: Document) -> Iterator[tuple[Resource, Any, str, Unresolved | None]]:
    """(trigger, its function reference, how it invokes, a doubt) for what may invoke asynchronously."""
    for permission in document.of("lambda.permission"):
        principal = document.scalar(permission.get("principal"))
        function = permission.get("function_name", "function")
        if isinstance(principal, Unresolved):
            yield permission, function, "a permission for a computed principal", principal
        elif isinstance(principal, str) and principal in ASYNC_PRINCIPALS:
            yield permission, function, f"invoked by {principal}", None
    for subscription in document.of("sns.subscription"):
        protocol = document.scalar(subscription.get("protocol"))
        if isinstance(protocol, Unresolved) or protocol == "lambda":
            doubt = protocol if isinstance(protocol, Unresolved) else None
            yield subscription, subscription.get("endpoint"), "subscribed to an SNS topic", doubt
    for target in document.of("events.target"):
        yield target, target.get("arn"), "an EventBridge target", None
    listed = [(r, "targets", "Arn", "an EventBridge target") for r in document.of("events.rule")]
    listed += [
        (r, "notification_configuration.lambda_configurations", "Function", "notified by S3")
        for r in document.of("s3.bucket")
    ]
    listed += [
        (
            r,
            "notification_configuration.lambda_function_configurations",
            "LambdaFunctionArn",
            "notified by S3",
        )
        for r in document
        if r.native_type == "Custom::S3BucketNotifications"  # aws-cdk-lib's bucket notifications
    ]
    listed += [
        (r, "lambda_function", "lambda_function_arn", "notified by S3")
        for r in document.of("s3.notification")
    ]
    for resource, path, key, why in listed:
        for item in as_list(resource.get(path)):
            view = Resource(resource.address, "", item if isinstance(item, dict) else {}, document)
            yield resource, view.get(key) if isinstance(item, dict) else item, why, None


def _async_sources(document: Document) -> tuple[dict[str, list[str]], list[tuple[Resource, str]]]:
    """function address -> what invokes it asynchronously; and the triggers that cannot be told."""
    sources: dict[str, list[str]] = {}
    unclear: list[tuple[Resource, str]] = []
    for trigger, reference, why, doubt in _async_triggers(document):
        function = function_of(document, reference)
        if isinstance(function, Unresolved):
            unclear.append((trigger, f"{why}: which function is unclear ({function.why})"))
        elif isinstance(function, Resource) and doubt is not None:
            unclear.append((trigger, f"{why} ({doubt.why}): may invoke {function.label()} asynchronously"))
        elif isinstance(function, Resource):
            sources.setdefault(function.address, []).append(why)
    return sources, unclear


def _invoke_configs(
    document: Document,
) -> tuple[dict[str, list[Resource]], list[tuple[Resource, Unresolved]]]:
    """Event invoke configs by the function they configure, once; and those whose function is unclear."""
    by_function: dict[str, list[Resource]] = {}
    unclear: list[tuple[Resource, Unresolved]] = []
    for config in document.of("lambda.event_invoke_config"):
        configured = function_of(document, config.get("function_name"))
        if isinstance(configured, Unresolved):
            unclear.append((config, configured))
        elif isinstance(configured, Resource):
            by_function.setdefault(configured.address, []).append(config)
    return by_function, unclear


def _on_failure(document: Document, function: Resource) -> str | Unresolved | None:
    """Where the function's failed asynchronous events go, if anywhere."""
    doubt = None
    dead_letter = present(function.get("dead_letter_config.target_arn"))
    if dead_letter is True:
        return "a dead-letter queue"
    if isinstance(dead_letter, Unresolved):
        doubt = dead_letter
    by_function, unclear = document.memo("invoke-configs", lambda: _invoke_configs(document))
    for config in by_function.get(function.address, []):
        destination = present(config.get("destination_config.on_failure.destination"))
        if destination is True:
            return "an on-failure destination"
        if isinstance(destination, Unresolved):
            doubt = destination
    for config, why in unclear:
        if present(config.get("destination_config.on_failure.destination")) is not False:
            doubt = Unresolved(f"{config.label()} may configure it ({why.why})")
    return doubt


def _redrive_target(document: Document, queue: Resource) -> Any:
    """The queue's dead-letter target (or "set"), MISSING without one."""
    policy = queue.get("redrive_policy")
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except json.JSONDecodeError:
            # An expression (Terraform jsonencode): the key and a value are still there to read.
            if re.search(r"deadLetterTargetArn\W*\s*[=:]\s*[^\s,}]", policy):
                return "set"
            return Unresolved("the redrive policy is computed")
    if isinstance(policy, dict) and not document.is_reference(policy):
        return policy.get("deadLetterTargetArn", MISSING)
    if policy is not MISSING:
        return Unresolved("the redrive policy is computed")
    targets, urls = document.memo("redrive-policies", lambda: _separate_redrive_policies(document))
    name = queue.name
    if queue.address in targets or (isinstance(name, str) and name in urls):
        return "set"
    return MISSING


def _separate_redrive_policies(document: Document) -> tuple[set[str], set[str]]:
    """Queues with a redrive policy of their own resource: by address, and by the name ending a URL."""
    targets, names = set(), set()
    for separate in document.of("sqs.redrive_policy"):
        url = separate.get("queue_url")
        found = document.target(url, "sqs.queue")
        if isinstance(found, Resource):
            targets.add(found.address)
        text = document.text(url)
        if isinstance(text, str):
            names.add(text.rstrip("/").rsplit("/", 1)[-1])
    return targets, names


@rule(
    "async-failure-destination",
    title="every asynchronous consumer has a DLQ or an on-failure destination",
    rationale="An event that fails all its retries is dropped unless a DLQ (on the source queue) or an "
    "on-failure destination keeps it.",
    severity=Severity.HIGH,
    catalogue=("fraud-20", "fraud-15", "trading-dr-22"),
)
def async_failure_destination(document: Document):
    for mapping in document.of("lambda.event_source_mapping"):
        source = mapping.get("event_source_arn")
        queue = document.target(source, "sqs.queue")
        if isinstance(queue, Unresolved):
            yield unknown(mapping, f"event source: {queue.why}")
            continue
        if queue is not None:
            target = _redrive_target(document, queue)
            if isinstance(target, Unresolved):
                yield unknown(mapping, f"{queue.label()}: {target.why}")
            elif target in (MISSING, None, ""):
                yield fail(mapping, f"source queue {queue.label()} has no redrive policy (no DLQ)")
            else:
                yield ok(mapping, f"{queue.label()} has a DLQ")
            continue
        text = document.text(source)
        service = (arn_parts(text) or {}).get("service") if isinstance(text, str) else None
        destination = present(mapping.get("destination_config.on_failure.destination"))
        if destination is True:
            yield ok(mapping, "on-failure destination")
        elif isinstance(destination, Unresolved):
            yield unknown(mapping, f"on-failure destination: {destination.why}")
        elif service == "sqs":
            yield unknown(mapping, "the source queue is not in this stack: its redrive policy is not visible")
        elif service in STREAM_SERVICES or (isinstance(text, str) and "«" in text):
            yield fail(mapping, "a stream source without an on-failure destination")
        else:
            yield unknown(mapping, f"event source {str(text)[:80]} is not in this stack")

    sources, unclear = _async_sources(document)
    for trigger, why in unclear:
        yield unknown(trigger, why)
    for function in document.of("lambda.function"):
        why = sources.get(function.address)
        if not why:
            continue
        kept = _on_failure(document, function)
        if isinstance(kept, str):
            yield ok(function, kept)
        elif isinstance(kept, Unresolved):
            yield unknown(function, f"{'; '.join(sorted(set(why)))}: {kept.why}")
        else:
            yield fail(
                function,
                f"{'; '.join(sorted(set(why)))}, with no dead-letter queue or on-failure destination",
            )
