"""Alarms on the failures that matter beyond error rates, each notifying the ops topic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

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


# --- "the DLQ is not draining", evaluated against what SQS and failed_handler report ----------

MINUTE = 60
RECEIVES_COUNTED_IN_AGE = 3  # SQS: a message received 3 times (or more) drops out of the age metric


def evaluate(alarm: dict, datapoints: list[tuple[float, float]], at: float) -> str:
    """The state of a one-metric alarm at ``at`` (seconds) from its metric's datapoints, as
    CloudWatch evaluates it: the last evaluationPeriods periods, each reduced by the statistic; a
    period without data is missing (notBreaching here: not a breach)."""
    inputs = alarm["inputs"]
    period, periods = inputs["period"], inputs["evaluationPeriods"]
    assert inputs["treatMissingData"] == "notBreaching" and "metricQueries" not in inputs
    reduce = {"Sum": sum, "Maximum": max, "Minimum": min}[inputs["statistic"]]
    compare = {
        "GreaterThanThreshold": lambda v: v > inputs["threshold"],
        "GreaterThanOrEqualToThreshold": lambda v: v >= inputs["threshold"],
    }[inputs["comparisonOperator"]]
    breaching = 0
    for k in range(periods):
        end = at - k * period
        values = [v for t, v in datapoints if end - period <= t < end]
        breaching += bool(values) and compare(reduce(values))
    return "ALARM" if breaching >= inputs.get("datapointsToAlarm", periods) else "OK"


def stuck_dead_letter(fraud, hours: int) -> dict[tuple, list[tuple[float, float]]]:
    """What CloudWatch receives while failed_handler fails on one dead letter, per metric
    (namespace, name, dimensions): failed_handler's failure count at each receive (one per DLQ
    visibility timeout, as deployed), and SQS's per-minute ApproximateAgeOfOldestMessage as SQS
    documents it (a message received three times or more is left out of it)."""
    dlq = fraud.named("aws:sqs/queue:Queue", "queueing-dlq")["inputs"]
    function = fraud.named("aws:lambda/function:Function", "compute-failed_handler")["inputs"]
    env = function["environment"]["variables"]
    receives = list(range(0, hours * 3600, dlq["visibilityTimeoutSeconds"]))
    age = [
        (t, t if sum(r <= t for r in receives) < RECEIVES_COUNTED_IN_AGE else 0)
        for t in range(0, hours * 3600, MINUTE)
    ]
    dimensions = {"service": "failed_handler", "environment": env["ENVIRONMENT"]}
    return {
        ("AWS/SQS", "ApproximateAgeOfOldestMessage", (("QueueName", dlq["name"]),)): age,
        (env["POWERTOOLS_METRICS_NAMESPACE"], env["FAILURE_METRIC"], tuple(sorted(dimensions.items()))): [
            (t + 1, 1) for t in receives
        ],
    }


def series(alarm: dict, metrics: dict[tuple, list]) -> list[tuple[float, float]]:
    inputs = alarm["inputs"]
    key = (inputs["namespace"], inputs["metricName"], tuple(sorted(inputs["dimensions"].items())))
    return metrics.get(key, [])


@pytest.mark.catalogue("fraud-15")
def test_dlq_not_draining_holds_for_as_long_as_a_dead_letter_is_stuck(fraud):
    """Fix: the alarm reads failed_handler's count of dead letters it could not record, and stays in
    ALARM from its first period for as long as one is stuck. It read ApproximateAgeOfOldestMessage
    > 15 min, which SQS stops computing for a message received three times: failed_handler's third
    attempt comes after 6 minutes, so the age never reached 15 and the alarm never fired."""
    (alarm,) = [a for a in fraud.of_type(ALARM) if a["inputs"]["name"] == "fraud-dlq-not-draining-dev"]
    metrics = stuck_dead_letter(fraud, hours=6)
    datapoints = series(alarm, metrics)
    assert datapoints, "the alarm reads a metric that nothing reports while a dead letter is stuck"
    period = alarm["inputs"]["period"]
    states = {at: evaluate(alarm, datapoints, at) for at in range(period, 6 * 3600 + 1, MINUTE)}
    assert set(states.values()) == {"ALARM"}, [at for at, state in states.items() if state == "OK"][:3]
    assert evaluate(alarm, [], 3600) == "OK"  # a DLQ that drains reports no failures: no alarm
    assert_notifies_ops(fraud, alarm)
    assert alarm["inputs"]["okActions"] == [fraud.outputs["ops_topic_arn"]]  # and says when it drained


# Runs failed_handler as Lambda would (the deployed environment read at import) on one dead letter
# it cannot record (no table in moto), and prints what it wrote to stdout.
RUN_FAILED_HANDLER = """
import json, sys
from moto import mock_aws

class Context:
    function_name, memory_limit_in_mb, aws_request_id = "failed-handler", 256, "request-1"
    invoked_function_arn = "arn:aws:lambda:us-east-2:123456789012:function:failed-handler"

with mock_aws():
    from lambda_src.pulumi_fraud_pipeline.failed_handler import index
    record = {"messageId": "m-1", "receiptHandle": "r", "body": "{}", "attributes": {},
              "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
              "eventSourceARN": "arn:aws:sqs:us-east-2:123456789012:dlq", "awsRegion": "us-east-2"}
    print(json.dumps({"response": index.handler({"Records": [record]}, Context())}))
"""


@pytest.mark.catalogue("fraud-15")
def test_dlq_not_draining_reads_the_metric_failed_handler_emits(fraud):
    """The alarm's namespace, metric and dimensions are those of the embedded metric failed_handler
    writes when it cannot record a dead letter, run with the environment the program gives it."""
    function = fraud.named("aws:lambda/function:Function", "compute-failed_handler")
    env = {
        **os.environ,
        **function["inputs"]["environment"]["variables"],
        "AWS_DEFAULT_REGION": "us-east-2",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "lambda_src")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", RUN_FAILED_HANDLER], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines[-1]["response"] == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}  # kept in the DLQ
    (emf,) = [line for line in lines if "_aws" in line]
    (directive,) = emf["_aws"]["CloudWatchMetrics"]
    (metric,) = directive["Metrics"]
    (dimension_names,) = directive["Dimensions"]
    (alarm,) = [a for a in fraud.of_type(ALARM) if a["inputs"]["name"] == "fraud-dlq-not-draining-dev"]
    assert directive["Namespace"] == alarm["inputs"]["namespace"]
    assert metric["Name"] == alarm["inputs"]["metricName"] and emf[metric["Name"]] == [1.0]  # one attempt
    assert {name: emf[name] for name in dimension_names} == alarm["inputs"]["dimensions"]


def evaluate_math(alarm: dict, metrics: dict[tuple, list], at: float) -> str:
    """The state at ``at`` of a one-period alarm on a metric-math expression (FILL and +), each
    metric reduced by its own stat over the period, as CloudWatch evaluates it (or on one metric)."""
    inputs = alarm["inputs"]
    if "metricQueries" not in inputs:  # one metric
        return evaluate(alarm, series(alarm, metrics), at)
    (expression,) = [q for q in inputs["metricQueries"] if q.get("returnData")]
    values = {}
    for query in inputs["metricQueries"]:
        if "metric" not in query:
            continue
        metric = query["metric"]
        key = (metric["namespace"], metric["metricName"], tuple(sorted(metric["dimensions"].items())))
        period = metric["period"]
        seen = [v for t, v in metrics.get(key, []) if at - period <= t < at]
        values[query["id"]] = {"Sum": sum, "Maximum": max}[metric["stat"]](seen) if seen else None
    fill = lambda value, default: default if value is None else value  # noqa: E731
    value = eval(expression["expression"], {"__builtins__": {}, "FILL": fill}, values)  # noqa: S307
    assert inputs["evaluationPeriods"] == 1 and inputs["comparisonOperator"] == "GreaterThanThreshold"
    return "ALARM" if value is not None and value > inputs["threshold"] else "OK"


@pytest.mark.catalogue("fraud-15")
@pytest.mark.parametrize("consumed", [True, False], ids=["failed_handler-records-it", "nothing-consumes"])
def test_dlq_not_empty_fires_for_a_dead_letter_failed_handler_records_at_once(fraud, consumed):
    """Fix: "Transactions reached the dead-letter queue" fires for a dead letter failed_handler
    receives and records within a second, and for one nothing receives. It read only the per-minute
    ApproximateNumberOfMessagesVisible, which a letter received a second after it arrived never
    shows: the alarm stayed OK however many transactions were dead-lettered."""
    (alarm,) = [a for a in fraud.of_type(ALARM) if a["inputs"]["name"] == "fraud-dlq-not-empty-dev"]
    dlq = fraud.named("aws:sqs/queue:Queue", "queueing-dlq")["inputs"]["name"]
    arrived = 30  # seconds into the period; the event source mapping receives it a second later
    samples = range(0, 300, MINUTE)  # SQS samples the queue's depth once a minute
    metrics = {
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", (("QueueName", dlq),)): [
            (t, 0 if consumed or t < arrived else 1) for t in samples
        ],
        ("AWS/SQS", "NumberOfMessagesReceived", (("QueueName", dlq),)): [(arrived + 1, 1)]
        if consumed
        else [],
    }
    assert evaluate_math(alarm, metrics, at=300) == "ALARM"
    assert evaluate_math(alarm, {}, at=300) == "OK"  # no dead letter, no data: no alarm
    assert_notifies_ops(fraud, alarm)


def test_a_transaction_recorded_but_not_queued_alarms(fraud):
    """Fix: the validator's 503 for a transaction it recorded but could not queue (SendMessage
    failing) is a successful invocation, invisible to its error rate: the stage's 5XXError alarms,
    on the API and stage the program deploys. Before, SQS failing left every transaction unscored
    and nothing told ops."""
    api = fraud.named("aws:apigateway/restApi:RestApi", "api-rest-api")["inputs"]
    stage = fraud.named("aws:apigateway/stage:Stage", "api-stage")["inputs"]
    alarms_on_stage = [
        a
        for a in fraud.of_type(ALARM)
        if a["inputs"].get("namespace") == "AWS/ApiGateway" and a["inputs"].get("metricName") == "5XXError"
    ]
    assert alarms_on_stage, "nothing alarms when the validator answers 503"
    (alarm,) = alarms_on_stage
    assert alarm["inputs"]["dimensions"] == {"ApiName": api["name"], "Stage": stage["stageName"]}
    assert alarm["inputs"]["statistic"] == "Sum"
    assert (alarm["inputs"]["comparisonOperator"], alarm["inputs"]["threshold"]) == (
        "GreaterThanThreshold",
        0,
    )
    assert evaluate(alarm, [(10, 1)], at=alarm["inputs"]["period"]) == "ALARM"  # one 503 is enough
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
