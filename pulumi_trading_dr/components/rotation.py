"""Rotation of the Aurora master secret, in the PRIMARY region (where the secret's primary copy
lives: Secrets Manager rotates it there and copies each new version to the replica).

- The rotation function (lambda_src/pulumi_trading_dr/rotation), in the primary VPC, changes the
  master user's password with ALTER ROLE on the writer (why not RDS's ModifyDBCluster: the
  function's docstring and the README). Its role touches exactly this secret: Describe, Get, Put
  and UpdateSecretVersionStage on its ARN; the primary key through Secrets Manager for this secret
  only (encryption context), and the secondary region's key for the replica's copy of each new
  version. Only Secrets Manager may invoke it, for this secret (source ARN and account).
- A rotation schedule every ROTATION_DAYS days, created after the migration (which logs in as the
  master user on first deploy) and after the permission that lets Secrets Manager call the function.
- A failed step pages: an alarm on the function's errors, to the primary region's topic.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from pulumi_trading_dr.components.aurora import Aurora
from pulumi_trading_dr.components.functions import FunctionSpec, regional_function, shared_layer
from pulumi_trading_dr.components.keys import Keys
from pulumi_trading_dr.components.migration import Migration
from pulumi_trading_dr.components.network import Network
from pulumi_trading_dr.components.region import Regions
from pulumi_trading_dr.components.sns import Sns
from pulumi_trading_dr.config import TradingConfig

ROTATION_DAYS = 30
ROTATION_TIMEOUT = 60  # seconds per step: one login and one statement, with 5 s connect timeouts


@dataclass(frozen=True)
class RotationArgs:
    config: TradingConfig
    regions: Regions
    keys: Keys
    network: Network
    aurora: Aurora
    migration: Migration
    sns: Sns
    account_id: pulumi.Input[str]


class Rotation(pulumi.ComponentResource):
    def __init__(self, name: str, args: RotationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trading:rotation:Rotation", name, None, opts)
        config, aurora = args.config, args.aurora
        primary, secondary = args.regions.primary, args.regions.secondary
        secret_arn, replica_arn = aurora.secret_arns["primary"], aurora.secret_arns["secondary"]
        network = args.network.of(primary)

        def key_use(region, arn, actions):
            # Secrets Manager encrypts each version under the secret's ARN as encryption context.
            return {
                "Effect": "Allow",
                "Action": actions,
                "Resource": args.keys.key(region).arn,
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": f"secretsmanager.{region.name}.amazonaws.com",
                        "kms:EncryptionContext:SecretARN": arn,
                    }
                },
            }

        self.function = regional_function(
            f"{name}-function",
            FunctionSpec(
                key="rotation",
                description="Rotates the Aurora master secret (ALTER ROLE on the writer)",
                timeout=ROTATION_TIMEOUT,
                vpc=aws.lambda_.FunctionVpcConfigArgs(
                    subnet_ids=network.subnet_ids,
                    # To the database and the interface endpoints only (see migration.py).
                    security_group_ids=[network.health_sg.id],
                ),
                statements=[
                    {
                        "Effect": "Allow",
                        "Action": [
                            "secretsmanager:DescribeSecret",
                            "secretsmanager:GetSecretValue",
                            "secretsmanager:PutSecretValue",
                            "secretsmanager:UpdateSecretVersionStage",
                        ],
                        "Resource": secret_arn,
                    },
                    key_use(primary, secret_arn, ["kms:Decrypt", "kms:GenerateDataKey"]),
                    # The new version's copy in the replica, encrypted with that region's key as
                    # the caller of PutSecretValue.
                    key_use(secondary, replica_arn, ["kms:Encrypt", "kms:GenerateDataKey"]),
                ],
                environment={
                    "SECRET_ARN": secret_arn,
                    "DB_HOST": aurora.writer_endpoint(primary),
                },
            ),
            config,
            primary,
            shared_layer(f"{name}-layer", config, primary, self),
            self,
        ).function
        permission = aws.lambda_.Permission(
            f"{name}-invoke",
            action="lambda:InvokeFunction",
            function=self.function.name,
            principal="secretsmanager.amazonaws.com",
            source_arn=secret_arn,
            source_account=args.account_id,
            opts=primary.opts(self),
        )
        self.schedule = aws.secretsmanager.SecretRotation(
            f"{name}-schedule",
            secret_id=aurora.secret.id,
            rotation_lambda_arn=self.function.arn,
            rotation_rules=aws.secretsmanager.SecretRotationRotationRulesArgs(
                automatically_after_days=ROTATION_DAYS
            ),
            # The first rotation starts at once: after the migration, which logs in as the master.
            opts=primary.opts(self, depends_on=[permission, args.migration.invocation]),
        )
        topic = args.sns.topic(primary).arn
        self.alarm = aws.cloudwatch.MetricAlarm(
            f"{name}-errors",
            name=config.name("rotation-errors"),
            alarm_description="A step of the master secret's rotation failed; AWSCURRENT still works "
            "(the function's log says why: a read-only cluster until failback, or no login)",
            namespace="AWS/Lambda",
            metric_name="Errors",
            dimensions={"FunctionName": self.function.name},
            statistic="Sum",
            period=300,
            evaluation_periods=1,
            threshold=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[topic],
            ok_actions=[topic],
            opts=primary.opts(self),
        )
        self.register_outputs({"function": self.function.name, "schedule": self.schedule.id})
