"""Monitoring: alarms on what fails in a disaster, each with its region's topic as action
(trading-dr-20), built after everything they watch (trading-dr-03), and the composite alarm that
decides a failover.

- Route 53 health checks of both APIs (trading-dr-06): their HealthCheckStatus metric exists only
  in us-east-1, so these alarms live there (config makes one of the regions us-east-1).
- The writer's capacity, the global database's replication lag, DynamoDB's replication latency.
- Per region: the order processor's error rate (not a bare error count) and throttles, orders
  dead-lettered, orders waiting too long, the API's 5XX rate.
- The failover decision, in the SECONDARY region (detection must not depend on the region that
  may be down): a composite alarm that fires when ANY of its members does (trading-dr-19, the
  seed's AND fired only when everything failed at once): the primary API unreachable from the
  secondary region (a canary), or the global database's replication lag past a minute for five.
  Its state change triggers the failover function (the failover component)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from pulumi_trading_dr.components.api import Api
from pulumi_trading_dr.components.aurora import Aurora
from pulumi_trading_dr.components.dynamodb import DynamoDb
from pulumi_trading_dr.components.orders import Orders
from pulumi_trading_dr.components.region import Region, Regions
from pulumi_trading_dr.components.route53 import Route53
from pulumi_trading_dr.components.sns import Sns
from pulumi_trading_dr.components.synthetics import Synthetics
from pulumi_trading_dr.config import ROUTE53_METRICS_REGION, TradingConfig

REPLICATION_LAG_MS = 60_000
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
                f"Route 53 health check of the {region.role} API failing",
                namespace="AWS/Route53",
                metric_name="HealthCheckStatus",
                dimensions={"HealthCheckId": args.route53.health_check(region).id},
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
        replication_lag = self._alarm(
            "global-replication-lag",
            secondary,
            "The secondary cluster is more than a minute behind the writer",
            namespace="AWS/RDS",
            metric_name="AuroraGlobalDBReplicationLag",
            dimensions={"DBClusterIdentifier": args.aurora.cluster(secondary).cluster_identifier},
            statistic="Average",
            period=60,
            evaluation_periods=5,
            threshold=REPLICATION_LAG_MS,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",  # missing data must never start a failover
        )
        self._alarm(
            "table-replication-latency",
            primary,
            "Orders take more than a minute to reach the secondary region's replica",
            namespace="AWS/DynamoDB",
            metric_name="ReplicationLatency",
            dimensions={"TableName": args.dynamodb.table.name, "ReceivingRegion": secondary.name},
            statistic="Average",
            period=60,
            evaluation_periods=5,
            threshold=REPLICATION_LAG_MS,
            comparison_operator="GreaterThanThreshold",
        )
        for region in regions:
            self._regional(region)

        members = [args.synthetics.failover_alarm, replication_lag]
        self.failover_alarm = aws.cloudwatch.CompositeAlarm(
            f"{name}-failover",
            alarm_name=config.name("failover"),
            alarm_description="The primary region is failing: any member in ALARM starts a failover "
            "to the secondary region (mode: " + config.failover_mode + ")",
            # OR: any one of the signals is enough (trading-dr-19).
            alarm_rule=pulumi.Output.all(*[m.name for m in members]).apply(
                lambda names: " OR ".join(f'ALARM("{n}")' for n in names)
            ),
            alarm_actions=[args.sns.topic(secondary).arn],
            ok_actions=[args.sns.topic(secondary).arn],
            opts=secondary.opts(self, depends_on=members),
        )
        self.register_outputs({"failover_alarm": self.failover_alarm.alarm_name})

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
            threshold=900,
            comparison_operator="GreaterThanThreshold",
        )
        api = args.api.of(region)
        self._alarm(
            f"api-5xx-{role}",
            region,
            "More than 5% of API requests answered 5XX",
            namespace="AWS/ApiGateway",
            metric_name="5XXError",
            dimensions={"ApiName": api.rest_api.name, "Stage": api.stage.stage_name},
            statistic="Average",
            period=300,
            evaluation_periods=1,
            threshold=0.05,
            comparison_operator="GreaterThanThreshold",
        )
