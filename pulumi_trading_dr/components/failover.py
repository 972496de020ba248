"""Failover, in the SECONDARY region (it must run while the primary region is down): two functions
from one code package (lambda_src/pulumi_trading_dr/failover, timeout 300 s, trading-dr-21; the
retries, alerts and idempotence are there, trading-dr-22), each with its own role:

- ``failover`` (the orchestrator): on the ``primary-failing`` alarm it PREPARES: it reports who
  writes, whether the secondary is ready, whether the primary's cluster still answers in its own
  region, the last replication lag (the writes at risk), and the command that promotes. It also
  runs the planned switchover drill. Its role cannot fail over with data loss: no
  ``rds:FailoverGlobalCluster``.
- ``promote``: the only role allowed ``rds:FailoverGlobalCluster``. It switches over (no data
  loss) when the old writer's cluster still reports ``available`` in its region, and fails over
  with AllowDataLoss only when it does not. It is started by a person (``make
  failover-pulumi-trading-dr CONFIRM=<global cluster id>``: invoking it is a separate, narrower
  permission than invoking the orchestrator) or, with ``failoverMode: automatic``, by the quorum
  alarm (both failover signals).

What starts them: EventBridge rules on the two composite alarms entering ALARM. Nothing is lost: a
rule retries delivery and dead-letters what it cannot deliver; asynchronous invocations retry
twice, then go to the same dead-letter queue, which alarms."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from pulumi_trading_dr.components.api import Api
from pulumi_trading_dr.components.aurora import Aurora
from pulumi_trading_dr.components.functions import FunctionSpec, key_use, regional_function, shared_layer
from pulumi_trading_dr.components.keys import Keys
from pulumi_trading_dr.components.monitoring import Monitoring
from pulumi_trading_dr.components.region import Regions
from pulumi_trading_dr.components.sns import Sns
from pulumi_trading_dr.config import TradingConfig

FAILOVER_TIMEOUT = 300  # seconds (trading-dr-21): a global failover takes minutes
EVENT_MAX_AGE = 300  # seconds: an automatic promotion acts on a fresh alarm or not at all
ASYNC_RETRIES = 2  # Lambda's retries of a failed asynchronous event (an alarm's), before the DLQ
FOURTEEN_DAYS = 14 * 24 * 3600


def alarm_event_pattern(alarm_arn: str) -> str:
    """A composite alarm's transitions into ALARM, as EventBridge publishes them."""
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
    api: Api


class Failover(pulumi.ComponentResource):
    def __init__(self, name: str, args: FailoverArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trading:failover:Failover", name, None, opts)
        self._name, self._args = name, args
        config, region = args.config, args.regions.secondary
        child = region.opts(self)
        aurora = args.aurora
        self._target = aurora.cluster(region)
        self._old_writer = aurora.cluster(args.regions.primary)

        self._rules: list[aws.cloudwatch.EventRule] = []
        self.dead_letters = aws.sqs.Queue(
            f"{name}-dead-letters",
            name=config.name("failover-dlq", region.settings),
            sqs_managed_sse_enabled=True,
            message_retention_seconds=FOURTEEN_DAYS,
            opts=child,
        )
        layer = shared_layer(f"{name}-layer", config, region, self)
        # The promoting function first: the orchestrator's page names it.
        self.promote = self._function(
            "promote",
            "Promotes the secondary: a switchover, or a data-loss failover when the old writer is gone",
            args.monitoring.failover_alarm,
            layer,
            allow_data_loss=True,
            enabled=config.failover_mode == "automatic",
        )
        self.function = self._function(
            "failover",
            "Prepares a failover (readiness report, the command to run) and runs switchover drills",
            args.monitoring.primary_failing,
            layer,
            allow_data_loss=False,
            enabled=True,  # preparing and paging is always right
        )
        aws.sqs.QueuePolicy(
            f"{name}-dead-letters-policy",
            queue_url=self.dead_letters.url,
            policy=pulumi.Output.all(self.dead_letters.arn, *(r.arn for r in self._rules)).apply(
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
                                "Condition": {"ArnEquals": {"aws:SourceArn": list(a[1:])}},
                            }
                        ],
                    }
                )
            ),
            opts=child,
        )
        topic = args.sns.topic(region)
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
        self.register_outputs({"function_arn": self.function.arn, "promote_arn": self.promote.arn})

    def _function(
        self,
        role: str,
        description: str,
        alarm: aws.cloudwatch.CompositeAlarm,
        layer: aws.lambda_.LayerVersion,
        *,
        allow_data_loss: bool,
        enabled: bool,
    ) -> aws.lambda_.Function:
        args, config = self._args, self._args.config
        # The orchestrator keeps the names it always had (no replacement on update).
        prefix = self._name if role == "failover" else f"{self._name}-{role}"
        region = args.regions.secondary
        child = region.opts(self)
        topic, key = args.sns.topic(region), args.keys.key(region)
        global_cluster = args.aurora.global_cluster
        # The operations act on the global cluster and name the target cluster (both resources).
        promotions = ["rds:SwitchoverGlobalCluster"]
        if allow_data_loss:
            promotions.append("rds:FailoverGlobalCluster")
        statements = [
            {"Effect": "Allow", "Action": "rds:DescribeGlobalClusters", "Resource": global_cluster.arn},
            # Does the old writer still answer in its own region? (read-only; see the handler)
            {"Effect": "Allow", "Action": "rds:DescribeDBClusters", "Resource": self._old_writer.arn},
            {"Effect": "Allow", "Action": promotions, "Resource": [global_cluster.arn, self._target.arn]},
            {"Effect": "Allow", "Action": "sns:Publish", "Resource": topic.arn},
            key_use(key.arn, region, "sns", actions=["kms:GenerateDataKey*", "kms:Decrypt"]),
            # The on-failure destination of asynchronous invocations.
            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": self.dead_letters.arn},
        ]
        # The last replication lag (the readiness report; the RPO check before an automatic data-loss
        # failover); GetMetricData has no resource ARN.
        statements.append({"Effect": "Allow", "Action": "cloudwatch:GetMetricData", "Resource": "*"})
        if allow_data_loss:
            # An automatic promotion re-reads its alarm: a late event must not act on a cleared one.
            statements.append(
                {"Effect": "Allow", "Action": "cloudwatch:DescribeAlarms", "Resource": alarm.arn}
            )
        environment = {
            "GLOBAL_CLUSTER_ID": global_cluster.global_cluster_identifier,
            "TARGET_CLUSTER_ARN": self._target.arn,
            "OLD_WRITER_CLUSTER_ARN": self._old_writer.arn,
            "TOPIC_ARN": topic.arn,
            "ALARM_NAME": alarm.alarm_name,
            "ALLOW_DATA_LOSS": "true" if allow_data_loss else "false",
            "FAILOVER_MODE": config.failover_mode,
            "RPO_SECONDS": str(config.rpo_seconds),
        }
        if allow_data_loss:
            environment["TARGET_LIVENESS_URL"] = args.api.of(region).liveness_url
        if not allow_data_loss:
            environment["PROMOTE_FUNCTION_NAME"] = self.promote.name
        function = regional_function(
            f"{self._name}-function" if role == "failover" else prefix,
            FunctionSpec(
                key="failover",
                name=role,
                description=description,
                timeout=FAILOVER_TIMEOUT,
                # One promotion at a time; the orchestrator's drills and reports may overlap.
                reserved_concurrency=1 if allow_data_loss else None,
                statements=statements,
                environment=environment,
            ),
            config,
            region,
            layer,
            self,
        ).function
        aws.lambda_.FunctionEventInvokeConfig(
            f"{prefix}-async",
            function_name=function.name,
            maximum_retry_attempts=ASYNC_RETRIES,
            # A promotion is about now: an event older than EVENT_MAX_AGE goes to the dead letters
            # (Lambda's default keeps retrying a throttled event for six hours).
            maximum_event_age_in_seconds=EVENT_MAX_AGE if allow_data_loss else None,
            destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
                on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(
                    destination=self.dead_letters.arn
                )
            ),
            opts=child,
        )
        rule = aws.cloudwatch.EventRule(
            f"{prefix}-on-alarm",
            name=config.name(f"{role}-on-alarm"),
            description=f"Starts the {role} function when its composite alarm enters ALARM",
            event_pattern=alarm.arn.apply(alarm_event_pattern),
            state="ENABLED" if enabled else "DISABLED",
            opts=child,
        )
        self._rules.append(rule)
        permission = aws.lambda_.Permission(
            f"{prefix}-invoke-from-rule",
            action="lambda:InvokeFunction",
            function=function.name,
            principal="events.amazonaws.com",
            source_arn=rule.arn,
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{prefix}-target",
            rule=rule.name,
            arn=function.arn,
            retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(
                maximum_retry_attempts=10,
                maximum_event_age_in_seconds=EVENT_MAX_AGE if allow_data_loss else 3600,
            ),
            dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(arn=self.dead_letters.arn),
            opts=region.opts(self, depends_on=[permission]),
        )
        return function
