"""The deep health route's function, in both regions (``GET /v1/health``, wired in api.py).

It answers what Route 53, the canaries and operators need to know about a region, cheaply:

- ``active`` (200): this region's cluster accepted a write (a heartbeat row): it is the writer and
  reachable; this is what the failover records route on, so traffic follows the database.
- ``standby`` (503, or 200 with ``?role=any``): the cluster is reachable and read-only.
- ``down`` (503): the database cannot be reached or answered an error.
- ``degraded`` reasons beside the status (dead letters waiting, the oldest order older than the
  orders-waiting alarm's threshold): they page through their own alarms, and never fail the route:
  a poison message must not move traffic or promote a database.

One answer per container is reused for HEALTH_CACHE_SECONDS, and reserved concurrency bounds the
containers, so Route 53's checkers in several regions cost at most a few queries a minute.
The function runs in the VPC (the database) with its own security group, logged in as the
application role (its region's copy of that role's secret, nothing else in Secrets Manager)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from pulumi_trading_dr.components.aurora import Aurora
from pulumi_trading_dr.components.functions import FunctionSpec, key_use, regional_function, shared_layer
from pulumi_trading_dr.components.keys import Keys
from pulumi_trading_dr.components.migration import Migration
from pulumi_trading_dr.components.network import Network
from pulumi_trading_dr.components.orders import ORDERS_WAITING_SECONDS, Orders
from pulumi_trading_dr.components.region import Region, Regions
from pulumi_trading_dr.config import TradingConfig

HEALTH_CACHE_SECONDS = 10
HEALTH_TIMEOUT = 10  # seconds; API Gateway gives up at 29, Route 53's checkers at 4 (connect) + 2
HEALTH_CONCURRENCY = 10  # at most this many database sessions for health, whatever the checkers do


@dataclass(frozen=True)
class HealthArgs:
    config: TradingConfig
    regions: Regions
    keys: Keys
    network: Network
    aurora: Aurora
    orders: Orders
    migration: Migration  # the application role's secret (the functions never read the master's)


class Health(pulumi.ComponentResource):
    def __init__(self, name: str, args: HealthArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trading:health:Health", name, None, opts)
        self._name, self._args = name, args
        self.functions = {region.role: self._function(region) for region in args.regions}
        self.register_outputs({role: f.name for role, f in self.functions.items()})

    def function(self, region: Region) -> aws.lambda_.Function:
        return self.functions[region.role]

    def _function(self, region: Region) -> aws.lambda_.Function:
        args, config = self._args, self._args.config
        prefix = f"{self._name}-{region.role}"
        network, orders, key = args.network.of(region), args.orders.of(region), args.keys.key(region)
        health = regional_function(
            f"{prefix}-function",
            FunctionSpec(
                key="health",
                description="GET /v1/health: is this region's database the writer, and reachable",
                timeout=HEALTH_TIMEOUT,
                reserved_concurrency=HEALTH_CONCURRENCY,
                vpc=aws.lambda_.FunctionVpcConfigArgs(
                    subnet_ids=network.subnet_ids, security_group_ids=[network.health_sg.id]
                ),
                statements=[
                    {
                        "Effect": "Allow",
                        "Action": "secretsmanager:GetSecretValue",
                        "Resource": args.migration.app_secret_arn(region),
                    },
                    key_use(key.arn, region, "secretsmanager"),
                    {
                        "Effect": "Allow",
                        "Action": "sqs:GetQueueAttributes",
                        "Resource": orders.dlq.arn,  # the queue's age comes from CloudWatch
                    },
                    # GetMetricData has no resource-level permission; it only reads.
                    {"Effect": "Allow", "Action": "cloudwatch:GetMetricData", "Resource": "*"},
                ],
                environment={
                    "DB_HOST": args.aurora.writer_endpoint(region),  # resolves only where it writes
                    "DB_READER_HOST": args.aurora.reader_endpoint(region),  # a standby answers here
                    "DB_SECRET_ARN": args.migration.app_secret_arn(region),
                    "QUEUE_NAME": orders.queue.name,
                    "DLQ_URL": orders.dlq.url,
                    "CACHE_SECONDS": str(HEALTH_CACHE_SECONDS),
                    "MAX_QUEUE_AGE_SECONDS": str(ORDERS_WAITING_SECONDS),
                },
            ),
            config,
            region,
            shared_layer(f"{prefix}-layer", config, region, self),
            self,
        )
        return health.function
