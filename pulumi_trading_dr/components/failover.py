"""Failover, in the SECONDARY region: the orchestrator function (timeout 300 s, trading-dr-21; the
retries, alerts and idempotence are in lambda_src/pulumi_trading_dr/failover, trading-dr-22) and
what starts it: an EventBridge rule on the composite alarm entering ALARM.

``failoverMode: automatic`` enables the rule; ``manual`` keeps it disabled (the alarm still
notifies, and an operator invokes the function: README, failover drill). Nothing is lost: the
rule retries delivery and dead-letters what it cannot deliver; the function's asynchronous
invocations retry twice and then go to the same dead-letter queue, which alarms."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from pulumi_trading_dr.components.aurora import Aurora
from pulumi_trading_dr.components.functions import FunctionSpec, regional_function, shared_layer
from pulumi_trading_dr.components.keys import Keys
from pulumi_trading_dr.components.monitoring import Monitoring
from pulumi_trading_dr.components.region import Regions
from pulumi_trading_dr.components.sns import Sns
from pulumi_trading_dr.config import TradingConfig

FAILOVER_TIMEOUT = 300  # seconds (trading-dr-21): a global failover takes minutes
FOURTEEN_DAYS = 14 * 24 * 3600


def alarm_event_pattern(alarm_arn: str) -> str:
    """The composite alarm's transitions into ALARM, as EventBridge publishes them."""
    return json.dumps(
        {
            "source": ["aws.cloudwatch"],
            "detail-type": ["CloudWatch Alarm State Change"],
            "resources": [alarm_arn],
            "detail": {"state": {"value": ["ALARM"]}},
        }
    )


@dataclass(frozen=True)
class FailoverArgs:
    config: TradingConfig
    regions: Regions
    keys: Keys
    aurora: Aurora
    sns: Sns
    monitoring: Monitoring


class Failover(pulumi.ComponentResource):
    def __init__(self, name: str, args: FailoverArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trading:failover:Failover", name, None, opts)
        config, region = args.config, args.regions.secondary
        child = region.opts(self)
        topic, key = args.sns.topic(region), args.keys.key(region)
        aurora = args.aurora
        cluster_arns = [aurora.global_cluster.arn, *(c.arn for c in aurora.clusters.values())]

        self.dead_letters = aws.sqs.Queue(
            f"{name}-dead-letters",
            name=config.name("failover-dlq", region.settings),
            sqs_managed_sse_enabled=True,
            message_retention_seconds=FOURTEEN_DAYS,
            opts=child,
        )
        orchestrator = regional_function(
            f"{name}-function",
            FunctionSpec(
                key="failover",
                description="Promotes the secondary Aurora cluster when the primary region fails",
                timeout=FAILOVER_TIMEOUT,
                statements=[
                    {
                        "Effect": "Allow",
                        "Action": "rds:DescribeGlobalClusters",
                        "Resource": aurora.global_cluster.arn,
                    },
                    {
                        "Effect": "Allow",
                        "Action": ["rds:FailoverGlobalCluster", "rds:SwitchoverGlobalCluster"],
                        "Resource": cluster_arns,
                    },
                    {"Effect": "Allow", "Action": "sns:Publish", "Resource": topic.arn},
                    {
                        "Effect": "Allow",
                        "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                        "Resource": key.arn,
                        "Condition": {"StringEquals": {"kms:ViaService": f"sns.{region.name}.amazonaws.com"}},
                    },
                    # The on-failure destination of asynchronous invocations.
                    {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": self.dead_letters.arn},
                ],
                environment={
                    "GLOBAL_CLUSTER_ID": aurora.global_cluster.global_cluster_identifier,
                    "TARGET_CLUSTER_ARN": aurora.cluster(region).arn,
                    "TOPIC_ARN": topic.arn,
                    "COMPOSITE_ALARM_NAME": args.monitoring.failover_alarm.alarm_name,
                },
            ),
            config,
            region,
            shared_layer(f"{name}-layer", config, region, self),
            self,
        )
        self.function = orchestrator.function
        aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-async",
            function_name=self.function.name,
            maximum_retry_attempts=2,
            destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
                on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(
                    destination=self.dead_letters.arn
                )
            ),
            opts=child,
        )
        alarm = args.monitoring.failover_alarm
        self.rule = aws.cloudwatch.EventRule(
            f"{name}-on-alarm",
            name=config.name("failover-on-alarm"),
            description="The failover composite alarm entered ALARM",
            event_pattern=alarm.arn.apply(alarm_event_pattern),
            state="ENABLED" if config.failover_mode == "automatic" else "DISABLED",
            opts=child,
        )
        aws.sqs.QueuePolicy(
            f"{name}-dead-letters-policy",
            queue_url=self.dead_letters.url,
            policy=pulumi.Output.all(self.dead_letters.arn, self.rule.arn).apply(
                lambda a: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "UndeliverableAlarmEvents",
                                "Effect": "Allow",
                                "Principal": {"Service": "events.amazonaws.com"},
                                "Action": "sqs:SendMessage",
                                "Resource": a[0],
                                "Condition": {"ArnEquals": {"aws:SourceArn": a[1]}},
                            }
                        ],
                    }
                )
            ),
            opts=child,
        )
        permission = aws.lambda_.Permission(
            f"{name}-invoke-from-rule",
            action="lambda:InvokeFunction",
            function=self.function.name,
            principal="events.amazonaws.com",
            source_arn=self.rule.arn,
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-target",
            rule=self.rule.name,
            arn=self.function.arn,
            retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(
                maximum_retry_attempts=10, maximum_event_age_in_seconds=3600
            ),
            dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(arn=self.dead_letters.arn),
            opts=region.opts(self, depends_on=[permission]),
        )
        aws.cloudwatch.MetricAlarm(
            f"{name}-dead-letters-alarm",
            name=config.name("failover-dead-letters"),
            alarm_description="A failover event could not be handled: look at the queue, then run the drill",
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": self.dead_letters.name},
            statistic="Maximum",
            period=60,
            evaluation_periods=1,
            threshold=0,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[topic.arn],
            opts=child,
        )
        self.register_outputs({"function_arn": self.function.arn})
