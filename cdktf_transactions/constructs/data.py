"""Data: the transactions table, defining exactly its key attributes (transactions-07)."""

from __future__ import annotations

from cdktn_provider_aws.dynamodb_table import (
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTableGlobalSecondaryIndex,
    DynamodbTablePointInTimeRecovery,
    DynamodbTableServerSideEncryption,
)
from constructs import Construct

from cdktf_transactions.config import TransactionsConfig
from lambda_src.common.fraud import HISTORY_ATTRIBUTES  # what the history query reads beyond the keys

CUSTOMER_INDEX = "customer-created_at-index"


class Data(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: TransactionsConfig) -> None:
        super().__init__(scope, construct_id)
        self.table = DynamodbTable(
            self,
            "transactions",
            name=config.name("transactions"),
            billing_mode="PAY_PER_REQUEST",
            hash_key="transaction_id",
            attribute=[
                DynamodbTableAttribute(name="transaction_id", type="S"),
                DynamodbTableAttribute(name="customer_id", type="S"),
                DynamodbTableAttribute(name="created_at", type="S"),
            ],
            global_secondary_index=[
                DynamodbTableGlobalSecondaryIndex(
                    name=CUSTOMER_INDEX,
                    hash_key="customer_id",
                    range_key="created_at",
                    projection_type="INCLUDE",
                    non_key_attributes=list(HISTORY_ATTRIBUTES),
                )
            ],
            point_in_time_recovery=DynamodbTablePointInTimeRecovery(enabled=True),
            server_side_encryption=DynamodbTableServerSideEncryption(enabled=True),
            deletion_protection_enabled=config.env == "prod",
        )
