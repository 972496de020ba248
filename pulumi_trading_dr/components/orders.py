"""Order processing, in both regions: the orders queue (encrypted, redriven to a dead-letter
queue) and the order_processor function consuming it with ReportBatchItemFailures.

The function: timeout 300 s (trading-dr-11) with the queue's visibility timeout six times that
(AWS's guidance, so a slow batch is not delivered twice while it runs); in the VPC's private
subnets, where the database is (trading-dr-12); logged in as the application role (not the
master user), allowed to read that role's secret in its region and nothing else in Secrets Manager
(trading-dr-13). The event source mapping caps concurrency
(it bounds the database connections; reserved concurrency would throttle and burn receives).
Only the region whose cluster writes processes orders: the event source mapping is created
enabled in the primary region and disabled in the secondary, and from then on the gate
(components/gate.py) owns its state (``ignore_changes``: a ``pulumi up`` after a failover must
not switch the standby's processor back on). A record that still meets a read-only cluster (a
switch under way) is put back after READ_ONLY_RETRY_SECONDS, not after the visibility timeout.

Each region also has the reconciliation function: after a failover that lost data it compares
the DynamoDB orders with the Aurora ledger and reports (or repairs) the gap (README, runbooks)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from pulumi_trading_dr.components.aurora import Aurora
from pulumi_trading_dr.components.dynamodb import DynamoDb
from pulumi_trading_dr.components.functions import FunctionSpec, key_use, regional_function, shared_layer
from pulumi_trading_dr.components.keys import Keys
from pulumi_trading_dr.components.migration import Migration
from pulumi_trading_dr.components.network import Network
from pulumi_trading_dr.components.region import Region, Regions
from pulumi_trading_dr.config import TradingConfig

ORDER_TIMEOUT = 300  # seconds (trading-dr-11)
VISIBILITY_TIMEOUT = 6 * ORDER_TIMEOUT
# A record that met a read-only cluster is visible again after this (the processor sets it).
READ_ONLY_RETRY_SECONDS = 30
# An order older than this in the queue pages (monitoring) and makes the health route "degraded".
ORDERS_WAITING_SECONDS = 900
PROCESSOR_METRICS_NAMESPACE = "trading-dr"  # the order processor's own metrics (FailedRecords)
RECONCILE_TIMEOUT = 900
FOURTEEN_DAYS = 14 * 24 * 3600


@dataclass(frozen=True)
class OrdersArgs:
    config: TradingConfig
    regions: Regions
    keys: Keys
    network: Network
    aurora: Aurora
    dynamodb: DynamoDb
    migration: Migration  # the application role's secret (the functions never read the master's)


@dataclass(frozen=True)
class RegionalOrders:
    queue: aws.sqs.Queue
    dlq: aws.sqs.Queue
    function: aws.lambda_.Function
    role: aws.iam.Role
    mapping: aws.lambda_.EventSourceMapping
    reconcile: aws.lambda_.Function


class Orders(pulumi.ComponentResource):
    def __init__(self, name: str, args: OrdersArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trading:orders:Orders", name, None, opts)
        self._name, self._args = name, args
        self.regional = {region.role: self._region(region) for region in args.regions}
        self.register_outputs({role: r.function.name for role, r in self.regional.items()})

    def of(self, region: Region) -> RegionalOrders:
        return self.regional[region.role]

    def _region(self, region: Region) -> RegionalOrders:
        args, config = self._args, self._args.config
        prefix, child = f"{self._name}-{region.role}", region.opts(self)
        dlq = aws.sqs.Queue(
            f"{prefix}-dlq",
            name=config.name("orders-dlq", region.settings),
            sqs_managed_sse_enabled=True,
            message_retention_seconds=FOURTEEN_DAYS,
            opts=child,
        )
        queue = aws.sqs.Queue(
            f"{prefix}-queue",
            name=config.name("orders", region.settings),
            sqs_managed_sse_enabled=True,
            visibility_timeout_seconds=VISIBILITY_TIMEOUT,
            message_retention_seconds=4 * 24 * 3600,
            redrive_policy=dlq.arn.apply(
                lambda arn: json.dumps(
                    {"deadLetterTargetArn": arn, "maxReceiveCount": config.max_receive_count}
                )
            ),
            opts=child,
        )
        aws.sqs.RedriveAllowPolicy(
            f"{prefix}-dlq-redrive-allow",
            queue_url=dlq.url,
            redrive_allow_policy=queue.arn.apply(
                lambda arn: json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [arn]})
            ),
            opts=child,
        )
        network = args.network.of(region)
        key = args.keys.key(region)
        layer = shared_layer(f"{prefix}-layer", config, region, self)
        processor = regional_function(
            f"{prefix}-processor",
            FunctionSpec(
                key="order_processor",
                description="Stores queued orders in DynamoDB and the Aurora ledger",
                timeout=ORDER_TIMEOUT,
                vpc=aws.lambda_.FunctionVpcConfigArgs(
                    subnet_ids=network.subnet_ids, security_group_ids=[network.lambda_sg.id]
                ),
                statements=[
                    {
                        "Effect": "Allow",
                        "Action": ["dynamodb:PutItem", "dynamodb:GetItem"],
                        "Resource": args.dynamodb.arn_in(region),
                    },
                    # trading-dr-13: this region's copy of the application role's secret, nothing else.
                    {
                        "Effect": "Allow",
                        "Action": "secretsmanager:GetSecretValue",
                        "Resource": args.migration.app_secret_arn(region),
                    },
                    key_use(key.arn, region, "secretsmanager", "dynamodb"),
                    {
                        "Effect": "Allow",
                        "Action": [
                            "sqs:ReceiveMessage",
                            "sqs:DeleteMessage",
                            "sqs:GetQueueAttributes",
                            "sqs:ChangeMessageVisibility",
                        ],
                        "Resource": queue.arn,
                    },
                ],
                environment={
                    "ORDERS_TABLE": args.dynamodb.table.name,
                    "DB_SECRET_ARN": args.migration.app_secret_arn(region),
                    "DB_HOST": args.aurora.writer_endpoint(region),
                    "READ_ONLY_RETRY_SECONDS": str(READ_ONLY_RETRY_SECONDS),
                    "POWERTOOLS_METRICS_NAMESPACE": PROCESSOR_METRICS_NAMESPACE,
                },
            ),
            config,
            region,
            layer,
            self,
        )
        mapping = aws.lambda_.EventSourceMapping(
            f"{prefix}-source",
            event_source_arn=queue.arn,
            function_name=processor.function.arn,
            batch_size=10,
            maximum_batching_window_in_seconds=1,
            function_response_types=["ReportBatchItemFailures"],  # a bad order fails alone
            scaling_config=aws.lambda_.EventSourceMappingScalingConfigArgs(
                maximum_concurrency=config.order_max_concurrency
            ),
            # Only the writer's region processes; the gate switches it from then on.
            enabled=region is args.regions.primary,
            opts=region.opts(self, ignore_changes=["enabled"]),
        )
        reconcile = regional_function(
            f"{prefix}-reconcile",
            FunctionSpec(
                key="reconcile",
                description="Compares the DynamoDB orders with the Aurora ledger; reports or repairs the gap",
                timeout=RECONCILE_TIMEOUT,
                vpc=aws.lambda_.FunctionVpcConfigArgs(
                    subnet_ids=network.subnet_ids, security_group_ids=[network.lambda_sg.id]
                ),
                statements=[
                    {
                        "Effect": "Allow",
                        "Action": ["dynamodb:Scan", "dynamodb:GetItem", "dynamodb:PutItem"],
                        "Resource": args.dynamodb.arn_in(region),
                    },
                    {
                        "Effect": "Allow",
                        "Action": "secretsmanager:GetSecretValue",
                        "Resource": args.migration.app_secret_arn(region),
                    },
                    key_use(key.arn, region, "secretsmanager", "dynamodb"),
                ],
                environment={
                    "ORDERS_TABLE": args.dynamodb.table.name,
                    "DB_SECRET_ARN": args.migration.app_secret_arn(region),
                    "DB_HOST": args.aurora.writer_endpoint(region),
                },
            ),
            config,
            region,
            layer,
            self,
        )
        return RegionalOrders(
            queue=queue,
            dlq=dlq,
            function=processor.function,
            role=processor.role,
            mapping=mapping,
            reconcile=reconcile.function,
        )
