"""Monitoring: alarms on what fails in a disaster, each with its region's topic as action
(trading-dr-20), built after everything they watch (trading-dr-03), and the composite alarm that
decides a failover.

- Route 53's liveness checks of both regions (trading-dr-06): their HealthCheckStatus metric
  exists only in us-east-1, so these alarms live there (config makes one region us-east-1). The
  traffic checks are not alarmed: a standby's is unhealthy by design (route53.py).
- The writer's capacity; the RPO: the global database's replication lag and DynamoDB's
  replication latency past ``rpoSeconds``. They page; they never fail over: lag is often not a
  disaster (a burst, a vacuum, a small secondary), and a failover while it lasts is exactly when
  it throws the most writes away.
- Per region: the order processor's error rate (not a bare error count) and throttles, orders
  dead-lettered, orders waiting too long, the API's 5XX rate, and WAF blocking GET /health
  (a flood, or a limit that blocks a checker: waf.py).
- The failover decision, in the SECONDARY region (detection must not depend on the region that
  may be down), from the two failover probes (synthetics.py: the primary's health route seen from
  the secondary region, and Route 53's multi-location verdict on it):
  - ``primary-failing``, ANY of them (OR, trading-dr-19): pages, and starts the failover
    function's preparation (readiness report and the command to run).
  - ``failover``, BOTH of them (a quorum of independent signals): what may promote the secondary
    without a person, in ``failoverMode: automatic`` only (failover.py). A data-loss failover on
    one signal would act on one vantage point's mistake."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from pulumi_trading_dr.components.api import Api
from pulumi_trading_dr.components.aurora import Aurora
from pulumi_trading_dr.components.dynamodb import DynamoDb
from pulumi_trading_dr.components.orders import ORDERS_WAITING_SECONDS, PROCESSOR_METRICS_NAMESPACE, Orders
from pulumi_trading_dr.components.region import Region, Regions
from pulumi_trading_dr.components.route53 import Route53
from pulumi_trading_dr.components.sns import Sns
from pulumi_trading_dr.components.synthetics import Synthetics
from pulumi_trading_dr.config import ROUTE53_METRICS_REGION, TradingConfig

if TYPE_CHECKING:  # waf.py imports failover.py, which imports this module
    from pulumi_trading_dr.components.waf import Waf

# Periods of 60 s the replication lag must exceed the RPO before it pages: a burst is not a risk.
RPO_EVALUATIONS = 2
# Percent of invocations that failed; 0 when there were none (no division by zero, no alarm).
ERROR_RATE = "IF(invocations > 0, 100 * errors / invocations, 0)"


@dataclass(frozen=True)
class MonitoringArgs:
    config: TradingConfig
    regions: Regions
    sns: Sns
    aurora: Aurora
    dynamodb: DynamoDb
    orders: Orders
    api: Api
    route53: Route53
    synthetics: Synthetics
    waf: Waf


class Monitoring(pulumi.ComponentResource):
    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trading:monitoring:Monitoring", name, None, opts)
        self._name, self._args = name, args
        config, regions = args.config, args.regions
        primary, secondary = regions.primary, regions.secondary

        route53_region = next(r for r in regions if r.name == ROUTE53_METRICS_REGION)
        for region in regions:
            self._alarm(
                f"health-check-{region.role}",
                route53_region,
                f"Route 53's checkers find the {region.role} region's health route failing",
                namespace="AWS/Route53",
                metric_name="HealthCheckStatus",
                dimensions={"HealthCheckId": args.route53.liveness_check(region).id},
                statistic="Minimum",
                period=60,
                evaluation_periods=2,
                threshold=1,
                comparison_operator="LessThanThreshold",
                treat_missing_data="breaching",
            )
        self._alarm(
            "writer-capacity",
            primary,
            "The writer uses more than 90% of its maximum Aurora capacity",
            namespace="AWS/RDS",
            metric_name="ACUUtilization",
            dimensions={"DBClusterIdentifier": args.aurora.cluster(primary).cluster_identifier},
            statistic="Average",
            period=300,
            evaluation_periods=3,
            threshold=90,
            comparison_operator="GreaterThanThreshold",
        )
        rpo_ms = config.rpo_seconds * 1000
        self.rpo_alarm = self._alarm(
            "global-replication-lag",
            secondary,
            f"RPO at risk: the secondary cluster is more than {config.rpo_seconds} s behind the writer "
            "(pages; never fails over)",
            namespace="AWS/RDS",
            metric_name="AuroraGlobalDBReplicationLag",
            dimensions={"DBClusterIdentifier": args.aurora.cluster(secondary).cluster_identifier},
            statistic="Maximum",  # the RPO is about the worst moment, not the average
            period=60,
            evaluation_periods=RPO_EVALUATIONS,
            threshold=rpo_ms,
            comparison_operator="GreaterThanThreshold",
        )
        self._alarm(
            "table-replication-latency",
            primary,
            f"RPO at risk: orders take more than {config.rpo_seconds} s to reach the secondary "
            "region's replica (pages; never fails over)",
            namespace="AWS/DynamoDB",
            metric_name="ReplicationLatency",
            dimensions={"TableName": args.dynamodb.table.name, "ReceivingRegion": secondary.name},
            statistic="Maximum",
            period=60,
            evaluation_periods=RPO_EVALUATIONS,
            threshold=rpo_ms,
            comparison_operator="GreaterThanThreshold",
        )
        for region in regions:
            self._regional(region)

        signals = args.synthetics.failover_alarms
        topic = args.sns.topic(secondary).arn
        # trading-dr-19: ANY signal pages (OR; the seed's AND paged only when everything failed).
        self.primary_failing = aws.cloudwatch.CompositeAlarm(
            f"{name}-primary-failing",
            alarm_name=config.name("primary-failing"),
            alarm_description="The primary region looks down from the secondary (any failover signal): "
            "the failover function reports readiness and the command to run",
            alarm_rule=_rule(" OR ", signals),
            alarm_actions=[topic],
            ok_actions=[topic],
            opts=secondary.opts(self, depends_on=signals),
        )
        # The quorum: BOTH independent signals, before anything may throw writes away.
        self.failover_alarm = aws.cloudwatch.CompositeAlarm(
            f"{name}-failover",
            alarm_name=config.name("failover"),
            alarm_description="Quorum: the primary's health route fails from the secondary region AND "
            "Route 53's checkers find it down; promotes the secondary when failoverMode is automatic "
            f"(mode: {config.failover_mode})",
            alarm_rule=_rule(" AND ", signals),
            alarm_actions=[topic],
            ok_actions=[topic],
            opts=secondary.opts(self, depends_on=signals),
        )
        self.register_outputs(
            {
                "failover_alarm": self.failover_alarm.alarm_name,
                "primary_failing_alarm": self.primary_failing.alarm_name,
            }
        )

    def _alarm(self, key: str, region: Region, description: str, **settings) -> aws.cloudwatch.MetricAlarm:
        topic = self._args.sns.topic(region).arn
        alarm = aws.cloudwatch.MetricAlarm(
            f"{self._name}-{key}",
            name=self._args.config.name(key),
            alarm_description=description,
            alarm_actions=[topic],  # every alarm notifies (trading-dr-20)
            ok_actions=[topic],
            **{"treat_missing_data": "notBreaching", **settings},
            opts=region.opts(self),
        )
        return alarm

    def _regional(self, region: Region) -> None:
        args, role = self._args, region.role
        orders = args.orders.of(region)

        def lambda_query(query_id: str, metric: str) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
            return aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id=query_id,
                return_data=False,
                metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                    namespace="AWS/Lambda",
                    metric_name=metric,
                    period=300,
                    stat="Sum",
                    dimensions={"FunctionName": orders.function.name},
                ),
            )

        self._alarm(
            f"orders-error-rate-{role}",
            region,
            "More than 5% of order-processor invocations failed in 5 minutes",
            comparison_operator="GreaterThanThreshold",
            threshold=5,
            evaluation_periods=1,
            metric_queries=[
                lambda_query("errors", "Errors"),
                lambda_query("invocations", "Invocations"),
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="error_rate", expression=ERROR_RATE, label="error rate (%)", return_data=True
                ),
            ],
        )
        self._alarm(
            f"orders-failing-{role}",
            region,
            "Orders keep failing to be recorded (batch item failures in 2 of 3 periods of 5 minutes)",
            # Batch item failures are not Lambda Errors: the processor counts them (order_processor,
            # FailedRecords in the embedded metric format); the error rate cannot see them.
            namespace=PROCESSOR_METRICS_NAMESPACE,
            metric_name="FailedRecords",
            dimensions={"service": "order_processor", "environment": args.config.env},
            statistic="Sum",
            period=300,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            threshold=0,
            comparison_operator="GreaterThanThreshold",
        )
        self._alarm(
            f"orders-throttles-{role}",
            region,
            "The order processor is throttled",
            namespace="AWS/Lambda",
            metric_name="Throttles",
            dimensions={"FunctionName": orders.function.name},
            statistic="Sum",
            period=300,
            evaluation_periods=1,
            threshold=0,
            comparison_operator="GreaterThanThreshold",
        )
        self._alarm(
            f"orders-dead-lettered-{role}",
            region,
            "Orders reached the dead-letter queue (redrive them after fixing the cause)",
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": orders.dlq.name},
            statistic="Maximum",
            period=300,
            evaluation_periods=1,
            threshold=0,
            comparison_operator="GreaterThanThreshold",
        )
        self._alarm(
            f"orders-waiting-{role}",
            region,
            "An order has waited more than 15 minutes in the queue",
            namespace="AWS/SQS",
            metric_name="ApproximateAgeOfOldestMessage",
            dimensions={"QueueName": orders.queue.name},
            statistic="Maximum",
            period=300,
            evaluation_periods=1,
            threshold=ORDERS_WAITING_SECONDS,
            comparison_operator="GreaterThanThreshold",
        )
        api = args.api.of(region)
        self._alarm(
            f"api-5xx-{role}",
            region,
            "More than 5% of POST /orders requests answered 5XX",
            namespace="AWS/ApiGateway",
            metric_name="5XXError",
            # POST /orders only (the stage's detailed metrics: method settings, api.py): a standby's
            # /v1/health answers Route 53's checkers 503 by design, every 30 s, and the stage-wide
            # rate would be near 100 % in the standby region forever.
            dimensions={
                "ApiName": api.rest_api.name,
                "Stage": api.stage.stage_name,
                "Resource": "/orders",
                "Method": "POST",
            },
            statistic="Average",
            period=300,
            evaluation_periods=1,
            threshold=0.05,
            comparison_operator="GreaterThanThreshold",
        )
        waf = args.waf.of(region)
        self._alarm(
            f"waf-health-blocked-{role}",
            region,
            "WAF blocked GET /health requests from an address over the checkers' rate: a flood "
            "(both failover signals may fail with it), or the limit blocking a legitimate checker",
            namespace="AWS/WAFV2",
            metric_name="BlockedRequests",
            dimensions={"WebACL": waf.web_acl.name, "Region": region.name, "Rule": waf.health_metric},
            statistic="Sum",
            period=300,
            evaluation_periods=1,
            threshold=1,
            comparison_operator="GreaterThanOrEqualToThreshold",  # no blocks, no data: not breaching
        )


def _rule(operator: str, alarms: list[aws.cloudwatch.MetricAlarm]) -> pulumi.Output[str]:
    return pulumi.Output.all(*[alarm.name for alarm in alarms]).apply(
        lambda names: operator.join(f'ALARM("{n}")' for n in names)
    )
