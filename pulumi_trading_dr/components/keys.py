"""Keys: one customer-managed KMS key per region for everything the stack stores there (Aurora
storage in both clusters, trading-dr-08; the database secret and its replica; DynamoDB replicas;
S3; SNS topics). CloudWatch and RDS events may use it: a service cannot publish to a topic
encrypted with a key its principal may not use (an AWS-managed SNS key drops the notifications
silently)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from pulumi_trading_dr.components.region import Region, Regions
from pulumi_trading_dr.config import TradingConfig

# The AWS services that publish to this stack's topics (CloudWatch alarms, RDS event subscriptions).
TOPIC_PUBLISHERS = ("cloudwatch.amazonaws.com", "events.rds.amazonaws.com")


@dataclass(frozen=True)
class KeysArgs:
    config: TradingConfig
    regions: Regions
    account_id: pulumi.Input[str]


def key_policy(account: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AccountAdministersAndDelegatesToIam",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    # Alarms and RDS event subscriptions publish to the encrypted topics; without
                    # this, SNS drops their messages without an error anywhere.
                    "Sid": "ServicesPublishToEncryptedTopics",
                    "Effect": "Allow",
                    "Principal": {"Service": list(TOPIC_PUBLISHERS)},
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                },
            ],
        }
    )


class Keys(pulumi.ComponentResource):
    def __init__(self, name: str, args: KeysArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trading:keys:Keys", name, None, opts)
        config = args.config
        self.keys: dict[str, aws.kms.Key] = {}
        for region in args.regions:
            key = aws.kms.Key(
                f"{name}-{region.role}",
                description=f"trading-dr {config.env} data in {region.name} ({region.role})",
                enable_key_rotation=True,
                deletion_window_in_days=30 if config.is_production else 7,
                policy=pulumi.Output.from_input(args.account_id).apply(key_policy),
                opts=region.opts(self),
            )
            aws.kms.Alias(
                f"{name}-{region.role}-alias",
                name=f"alias/{config.name('data', region.settings)}",
                target_key_id=key.key_id,
                opts=region.opts(self),
            )
            self.keys[region.role] = key
        self.register_outputs({role: key.arn for role, key in self.keys.items()})

    def key(self, region: Region) -> aws.kms.Key:
        return self.keys[region.role]
