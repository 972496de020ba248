"""Observability: an error-rate alarm per function (fraud-06, -07), alarms on the failures that
would otherwise go unseen (the DLQ not draining, failed asynchronous invocations, throttles),
all notifying the ops topic, and a dashboard whose metrics name their function (fraud-05).

"The DLQ is not draining" is failed_handler's own count of dead letters it could not record or
announce, not SQS's ApproximateAgeOfOldestMessage: SQS leaves a message that has been received
three times out of that metric, so a dead letter failed_handler keeps failing on drops out of it
within minutes (three receives, one per visibility timeout) and the age never reaches a threshold."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from pulumi_fraud_pipeline.components.compute import Metric
from pulumi_fraud_pipeline.config import FraudConfig

# Percent of invocations that failed; 0 when there were none (no division by zero, no alarm).
ERROR_RATE = "IF(invocations > 0, 100 * errors / invocations, 0)"
# Dead letters failed_handler received in the period, or still waiting in the DLQ.
DEAD_LETTERS = "FILL(received, 0) + FILL(visible, 0)"


@dataclass(frozen=True)
class ObservabilityArgs:
    config: FraudConfig
    functions: dict[str, aws.lambda_.Function]
    alarm_topic: aws.sns.Topic
    queue_name: pulumi.Input[str]
    dlq_name: pulumi.Input[str]
    async_failures_name: pulumi.Input[str]
    dead_letter_failures: Metric  # failed_handler's count of dead letters it could not record
    api_name: pulumi.Input[str]
    stage_name: pulumi.Input[str]


def _lambda_query(query_id: str, metric: str, function_name: pulumi.Input[str]):
    return aws.cloudwatch.MetricAlarmMetricQueryArgs(
        id=query_id,
        return_data=False,
        metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
            namespace="AWS/Lambda",
            metric_name=metric,
            period=300,
            stat="Sum",
            dimensions={"FunctionName": function_name},
        ),
    )


def _sqs_query(query_id: str, metric: str, stat: str, queue_name: pulumi.Input[str]):
    return aws.cloudwatch.MetricAlarmMetricQueryArgs(
        id=query_id,
        return_data=False,
        metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
            namespace="AWS/SQS",
            metric_name=metric,
            period=300,
            stat=stat,
            dimensions={"QueueName": queue_name},
        ),
    )


class Observability(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("fraud:observability:Observability", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)
        for key, function in args.functions.items():
            aws.cloudwatch.MetricAlarm(
                f"{name}-{key}-error-rate",
                name=config.name(f"{key.replace('_', '-')}-error-rate"),
                alarm_description=f"{key}: more than 1% of invocations failed in 5 minutes",
                comparison_operator="GreaterThanThreshold",
                threshold=1,
                evaluation_periods=1,
                treat_missing_data="notBreaching",
                metric_queries=[
                    _lambda_query("errors", "Errors", function.name),
                    _lambda_query("invocations", "Invocations", function.name),
                    aws.cloudwatch.MetricAlarmMetricQueryArgs(
                        id="error_rate",
                        expression=ERROR_RATE,
                        label=f"{key} error rate (%)",
                        return_data=True,
                    ),
                ],
                alarm_actions=[args.alarm_topic.arn],
                ok_actions=[args.alarm_topic.arn],
                opts=child,
            )

        def alarm(key: str, alarm_name: str, description: str, *, recovers: bool, **metric) -> None:
            """A 5-minute, one-period alarm to the ops topic (and its recovery, with ``recovers``)."""
            aws.cloudwatch.MetricAlarm(
                f"{name}-{key}",
                name=config.name(alarm_name),
                alarm_description=description,
                period=300,
                evaluation_periods=1,
                comparison_operator="GreaterThanThreshold",
                treat_missing_data="notBreaching",
                alarm_actions=[args.alarm_topic.arn],
                ok_actions=[args.alarm_topic.arn] if recovers else None,
                opts=child,
                **metric,
            )

        def queue(queue_name: pulumi.Input[str], metric: str, threshold: int) -> dict:
            return {
                "namespace": "AWS/SQS",
                "metric_name": metric,
                "statistic": "Maximum",
                "dimensions": {"QueueName": queue_name},
                "threshold": threshold,
            }

        # failed_handler receives a dead letter within a second of its arrival, so SQS's per-minute
        # ApproximateNumberOfMessagesVisible rarely sees it; every dead letter is received at least
        # once (NumberOfMessagesReceived; a redrive is not counted in NumberOfMessagesSent), and one
        # nothing receives stays visible: either fires.
        aws.cloudwatch.MetricAlarm(
            f"{name}-dlq-not-empty",
            name=config.name("dlq-not-empty"),
            alarm_description="Transactions reached the dead-letter queue",
            comparison_operator="GreaterThanThreshold",
            threshold=0,
            evaluation_periods=1,
            treat_missing_data="notBreaching",
            metric_queries=[
                _sqs_query("received", "NumberOfMessagesReceived", "Sum", args.dlq_name),
                _sqs_query("visible", "ApproximateNumberOfMessagesVisible", "Maximum", args.dlq_name),
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="dead_letters",
                    expression=DEAD_LETTERS,
                    label="dead letters received or waiting",
                    return_data=True,
                ),
            ],
            alarm_actions=[args.alarm_topic.arn],
            opts=child,
        )
        # A stuck dead letter is retried every DLQ visibility timeout (3 minutes, under the 5-minute
        # period): every period counts a failure until it is recorded, so the alarm holds.
        failures = args.dead_letter_failures
        alarm(
            "dlq-not-draining",
            "dlq-not-draining",
            "The DLQ is not draining: failed_handler could not record or announce a dead letter "
            "(it stays in the DLQ and is retried; see failed_handler's logs)",
            recovers=True,
            namespace=failures.namespace,
            metric_name=failures.name,
            statistic="Sum",
            dimensions=failures.dimensions,
            threshold=0,
        )
        # The validator answers 503 when SendMessage fails (the transaction is recorded, not queued,
        # until the client retries): a successful invocation, so no Lambda error rate sees it.
        alarm(
            "api-5xx",
            "api-5xx",
            "POST /transactions answered 5XX: a transaction recorded but not queued for scoring (SQS "
            "failing; the client must retry), or the API or the validator failing",
            recovers=True,
            namespace="AWS/ApiGateway",
            metric_name="5XXError",
            statistic="Sum",
            dimensions={"ApiName": args.api_name, "Stage": args.stage_name},
            threshold=0,
        )
        # Nothing consumes this queue: every message is a failed asynchronous invocation to look at.
        alarm(
            "async-failures-not-empty",
            "async-failures-not-empty",
            "Asynchronous invocations failed after their retries (fraud-20 queue)",
            recovers=False,
            **queue(args.async_failures_name, "ApproximateNumberOfMessagesVisible", 0),
        )
        for key, function in args.functions.items():
            alarm(
                f"{key}-throttles",
                f"{key.replace('_', '-')}-throttles",
                f"{key}: invocations throttled (account or reserved concurrency exhausted)",
                recovers=True,
                namespace="AWS/Lambda",
                metric_name="Throttles",
                statistic="Sum",
                dimensions={"FunctionName": function.name},
                threshold=0,
            )
        names = [f.name for f in args.functions.values()]
        self.dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=config.global_name("pipeline"),  # dashboards are global per account
            dashboard_body=pulumi.Output.all(args.queue_name, *names).apply(
                lambda values: _dashboard(config.region, values[0], values[1:])
            ),
            opts=child,
        )
        self.register_outputs({"dashboard_name": self.dashboard.dashboard_name})


def _dashboard(region: str, queue_name: str, function_names: list[str]) -> str:
    def lambda_widget(title: str, metric: str, stat: str) -> dict:
        return {
            "type": "metric",
            "width": 12,
            "height": 6,
            "properties": {
                "title": title,
                "region": region,
                "stat": stat,
                "period": 300,
                "view": "timeSeries",
                # One series per function, each with its FunctionName dimension (fraud-05).
                "metrics": [
                    ["AWS/Lambda", metric, "FunctionName", fn, {"label": fn}] for fn in function_names
                ],
            },
        }

    widgets = [
        lambda_widget("Invocations", "Invocations", "Sum"),
        lambda_widget("Errors", "Errors", "Sum"),
        lambda_widget("Duration p99", "Duration", "p99"),
        lambda_widget("Throttles", "Throttles", "Sum"),
        {
            "type": "metric",
            "width": 12,
            "height": 6,
            "properties": {
                "title": "Queue depth",
                "region": region,
                "stat": "Maximum",
                "period": 300,
                "metrics": [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue_name]],
            },
        },
    ]
    return json.dumps({"widgets": widgets})
