"""The gate, in both regions: keeps orders flowing to the one region whose cluster writes.

Every GATE_INTERVAL_MINUTES (an EventBridge schedule) the region's gate function
(lambda_src/pulumi_trading_dr/gate) reads the global cluster from its own region's RDS API and:

- enables the region's order processor (its SQS event source mapping) when this region's
  cluster is the writer and no switch is under way, and disables it otherwise: the processor of
  the region that is not primary is off, so it never meets a read-only cluster or a writer it has
  no network path to;
- in the standby region, forwards the orders its API accepted (clients whose DNS had not moved
  yet) to the writer region's queue, when that queue answers: nothing waits out a visibility
  timeout, and when the writer region is down they stay where they are and are processed here
  once this region is promoted. After a recovery, the old primary's gate forwards what its queue
  still holds. Forwarding is receive, send, then delete: a lost delete means a duplicate, which
  the order processor stores once.

It needs no other region's control plane: each gate acts on its own region only (plus a
SendMessage to the writer's queue). Not in the VPC: AWS APIs only."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from pulumi_trading_dr.components.aurora import Aurora
from pulumi_trading_dr.components.functions import FunctionSpec, key_use, regional_function, shared_layer
from pulumi_trading_dr.components.keys import Keys
from pulumi_trading_dr.components.orders import Orders
from pulumi_trading_dr.components.region import Region, Regions
from pulumi_trading_dr.components.sns import Sns
from pulumi_trading_dr.config import TradingConfig

GATE_INTERVAL_MINUTES = 1
GATE_TIMEOUT = 55  # seconds: one run ends before the next starts
# A forwarded order is invisible this long in the standby's queue while it is sent on; a failed
# send makes it visible again for the next run (each receive counts towards the DLQ's redrive).
FORWARD_VISIBILITY_SECONDS = 60


@dataclass(frozen=True)
class GateArgs:
    config: TradingConfig
    regions: Regions
    keys: Keys
    aurora: Aurora
    orders: Orders
    sns: Sns


class Gate(pulumi.ComponentResource):
    def __init__(self, name: str, args: GateArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trading:gate:Gate", name, None, opts)
        self._name, self._args = name, args
        self.functions = {region.role: self._gate(region) for region in args.regions}
        self.register_outputs({role: f.name for role, f in self.functions.items()})

    def _gate(self, region: Region) -> aws.lambda_.Function:
        args, config = self._args, self._args.config
        prefix, child = f"{self._name}-{region.role}", region.opts(self)
        other = args.regions.other(region)
        orders, other_orders = args.orders.of(region), args.orders.of(other)
        topic, key = args.sns.topic(region), args.keys.key(region)
        function = regional_function(
            f"{prefix}-function",
            FunctionSpec(
                key="gate",
                description="Order processing on in the writer's region only; forwards a standby's orders",
                timeout=GATE_TIMEOUT,
                reserved_concurrency=1,  # one gate at a time per region: no two runs race
                statements=[
                    {
                        "Effect": "Allow",
                        "Action": "rds:DescribeGlobalClusters",
                        "Resource": args.aurora.global_cluster.arn,
                    },
                    {
                        "Effect": "Allow",
                        "Action": ["lambda:GetEventSourceMapping", "lambda:UpdateEventSourceMapping"],
                        "Resource": orders.mapping.arn,
                    },
                    {
                        "Effect": "Allow",
                        "Action": [
                            "sqs:ReceiveMessage",
                            "sqs:DeleteMessage",
                            "sqs:ChangeMessageVisibility",
                            "sqs:GetQueueAttributes",
                        ],
                        "Resource": orders.queue.arn,
                    },
                    {
                        "Effect": "Allow",
                        "Action": ["sqs:SendMessage", "sqs:GetQueueAttributes"],
                        "Resource": other_orders.queue.arn,
                    },
                    {"Effect": "Allow", "Action": "sns:Publish", "Resource": topic.arn},
                    key_use(key.arn, region, "sns", actions=["kms:GenerateDataKey*", "kms:Decrypt"]),
                ],
                environment={
                    "GLOBAL_CLUSTER_ID": args.aurora.global_cluster.global_cluster_identifier,
                    "CLUSTER_ARN": args.aurora.cluster(region).arn,
                    "MAPPING_UUID": orders.mapping.uuid,
                    "QUEUE_URL": orders.queue.url,
                    "OTHER_QUEUE_URL": other_orders.queue.url,
                    "TOPIC_ARN": topic.arn,
                    "FORWARD_VISIBILITY_SECONDS": str(FORWARD_VISIBILITY_SECONDS),
                },
            ),
            config,
            region,
            shared_layer(f"{prefix}-layer", config, region, self),
            self,
        ).function
        # Lambda would retry a failed or throttled run (twice, and for up to six hours when
        # throttled): the next scheduled run does the same work from fresher state.
        aws.lambda_.FunctionEventInvokeConfig(
            f"{prefix}-async",
            function_name=function.name,
            maximum_retry_attempts=0,
            maximum_event_age_in_seconds=60,
            opts=child,
        )
        schedule = aws.cloudwatch.EventRule(
            f"{prefix}-schedule",
            name=config.name("gate", region.settings),
            description="Runs the gate: order processing follows the writer",
            schedule_expression=_rate(GATE_INTERVAL_MINUTES),
            state="ENABLED",
            opts=child,
        )
        permission = aws.lambda_.Permission(
            f"{prefix}-invoke-from-schedule",
            action="lambda:InvokeFunction",
            function=function.name,
            principal="events.amazonaws.com",
            source_arn=schedule.arn,
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{prefix}-target",
            rule=schedule.name,
            arn=function.arn,
            # A missed run is replaced by the next one a minute later: no retries, no backlog.
            retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(
                maximum_retry_attempts=0, maximum_event_age_in_seconds=60
            ),
            opts=region.opts(self, depends_on=[permission]),
        )
        aws.cloudwatch.MetricAlarm(
            f"{prefix}-errors",
            name=config.name("gate-errors", region.settings),
            alarm_description="The gate failed 3 runs in a row: order processing may not follow the writer",
            namespace="AWS/Lambda",
            metric_name="Errors",
            dimensions={"FunctionName": function.name},
            statistic="Sum",
            period=60,
            evaluation_periods=3,
            threshold=0,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[topic.arn],
            ok_actions=[topic.arn],
            opts=child,
        )
        return function


def _rate(minutes: int) -> str:
    return "rate(1 minute)" if minutes == 1 else f"rate({minutes} minutes)"
