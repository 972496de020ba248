"""DynamoDB: the orders table as a global table (primary region + a replica in the secondary),
point-in-time recovery on the table AND the replica (trading-dr-14), each region's key."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from pulumi_trading_dr.components.keys import Keys
from pulumi_trading_dr.components.region import Region, Regions
from pulumi_trading_dr.config import TradingConfig

ORDER_KEY = "order_id"


@dataclass(frozen=True)
class DynamoDbArgs:
    config: TradingConfig
    regions: Regions
    keys: Keys


class DynamoDb(pulumi.ComponentResource):
    def __init__(self, name: str, args: DynamoDbArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trading:dynamodb:DynamoDb", name, None, opts)
        config, primary, secondary = args.config, args.regions.primary, args.regions.secondary
        prod = config.is_production
        self.table = aws.dynamodb.Table(
            f"{name}-orders",
            name=config.name("orders"),
            billing_mode="PAY_PER_REQUEST",
            hash_key=ORDER_KEY,
            attributes=[aws.dynamodb.TableAttributeArgs(name=ORDER_KEY, type="S")],
            stream_enabled=True,  # replication between regions rides on the stream
            stream_view_type="NEW_AND_OLD_IMAGES",
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(
                enabled=True, kms_key_arn=args.keys.key(primary).arn
            ),
            replicas=[
                aws.dynamodb.TableReplicaArgs(
                    region_name=secondary.name,
                    point_in_time_recovery=True,  # PITR is per replica: the table's does not extend
                    kms_key_arn=args.keys.key(secondary).arn,
                    propagate_tags=True,
                    deletion_protection_enabled=prod,
                )
            ],
            deletion_protection_enabled=prod,
            opts=primary.opts(self, protect=prod),
        )
        self.register_outputs({"table_name": self.table.name})

    def arn_in(self, region: Region) -> pulumi.Output[str]:
        """The table's ARN in a region (the replica has the same name there)."""
        return pulumi.Output.concat(
            "arn:aws:dynamodb:", region.name, ":", _account(self.table.arn), ":table/", self.table.name
        )


def _account(arn: pulumi.Output[str]) -> pulumi.Output[str]:
    return arn.apply(lambda value: value.split(":")[4])
