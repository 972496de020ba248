"""Encryption: the customer-managed keys of the stack and the (encrypted) log groups every construct uses.

PCI DSS 3.4 and AWS Control Tower's proactive controls ask for customer-managed keys on log
groups (CT.CLOUDWATCH.PR.3), the database secret and the audit bucket (CT.S3.PR.10), and a key
policy that lets only AWS services create grants (CT.KMS.PR.3); log groups keep a year (PCI DSS
10.7, CT.CLOUDWATCH.PR.2) unless ``log_retention_days`` says otherwise.
"""

from __future__ import annotations

from aws_cdk import Aws, RemovalPolicy, aws_iam as iam, aws_kms as kms, aws_logs as logs
from constructs import Construct

from cdk_payments.config import PaymentsConfig

RETENTION = {
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
}
KEY_USE = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]


def customer_key(scope: Construct, construct_id: str, *, config: PaymentsConfig, **props) -> kms.Key:
    """A rotated customer-managed key on which only AWS services may create grants (CT.KMS.PR.3)."""
    key = kms.Key(
        scope,
        construct_id,
        enable_key_rotation=True,
        removal_policy=RemovalPolicy.RETAIN if config.is_production else RemovalPolicy.DESTROY,
        **props,
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="DenyGrantsExceptForAwsServices",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["kms:CreateGrant"],
            resources=["*"],
            conditions={
                "BoolIfExists": {"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}
            },
        )
    )
    return key


class Encryption(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: PaymentsConfig) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.logs_key = customer_key(
            self,
            "LogsKey",
            config=config,
            alias=f"alias/payments-logs-{config.env}",
            description="Encrypts the payments log groups (functions, API access, WAF, VPC flow logs)",
        )
        # CloudWatch Logs encrypts for this account's log groups only (AWS's documented key policy).
        self.logs_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsForThisAccountsLogGroups",
                principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
                actions=KEY_USE,
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:*"
                        )
                    }
                },
            )
        )
        # The database secret and the audit bucket: used through the services by roles CDK grants.
        self.data_key = customer_key(
            self,
            "DataKey",
            config=config,
            alias=f"alias/payments-data-{config.env}",
            description="Encrypts the payments database secret and the audit bucket",
        )

    def log_group(self, scope: Construct, construct_id: str, *, log_group_name: str) -> logs.LogGroup:
        """A log group encrypted with the logs key, kept ``log_retention_days`` (365 by default)."""
        return logs.LogGroup(
            scope,
            construct_id,
            log_group_name=log_group_name,
            encryption_key=self.logs_key,
            retention=RETENTION[self._config.log_retention_days],
            removal_policy=RemovalPolicy.RETAIN if self._config.is_production else RemovalPolicy.DESTROY,
        )
