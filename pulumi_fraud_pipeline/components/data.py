"""Data: the transactions table with a merchant/time GSI for the detector's history query
(fraud-13), and the dead-letters table failed_handler writes to. PITR and encryption on both."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from lambda_src.common.fraud import HISTORY_ATTRIBUTES
from pulumi_fraud_pipeline.config import FraudConfig

MERCHANT_INDEX = "merchant-created_at-index"


@dataclass(frozen=True)
class DataArgs:
    config: FraudConfig


class Data(pulumi.ComponentResource):
    def __init__(self, name: str, args: DataArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("fraud:data:Data", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self, protect=config.env == "prod")
        self.transactions = aws.dynamodb.Table(
            f"{name}-transactions",
            name=config.name("transactions"),
            billing_mode="PAY_PER_REQUEST",
            hash_key="transaction_id",
            attributes=[
                aws.dynamodb.TableAttributeArgs(name="transaction_id", type="S"),
                aws.dynamodb.TableAttributeArgs(name="merchant_id", type="S"),
                aws.dynamodb.TableAttributeArgs(name="created_at", type="S"),
            ],
            global_secondary_indexes=[
                aws.dynamodb.TableGlobalSecondaryIndexArgs(
                    name=MERCHANT_INDEX,
                    key_schemas=[
                        aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(
                            attribute_name="merchant_id", key_type="HASH"
                        ),
                        aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(
                            attribute_name="created_at", key_type="RANGE"
                        ),
                    ],
                    projection_type="INCLUDE",
                    non_key_attributes=list(HISTORY_ATTRIBUTES),
                )
            ],
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True),
            deletion_protection_enabled=config.env == "prod",
            opts=child,
        )
        self.dead_letters = aws.dynamodb.Table(
            f"{name}-dead-letters",
            name=config.name("dead-letters"),
            billing_mode="PAY_PER_REQUEST",
            hash_key="message_id",
            attributes=[aws.dynamodb.TableAttributeArgs(name="message_id", type="S")],
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True),
            deletion_protection_enabled=config.env == "prod",
            opts=child,
        )
        self.register_outputs({"transactions_table": self.transactions.name})
