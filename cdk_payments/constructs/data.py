"""Data: the transactions table and the Aurora PostgreSQL cluster with its managed secret."""

from __future__ import annotations

from aws_cdk import (
    Duration,
    RemovalPolicy,
    aws_dynamodb as dynamodb,
    aws_ec2 as ec2,
    aws_kms as kms,
    aws_rds as rds,
)
from constructs import Construct

from cdk_payments.config import PaymentsConfig
from cdk_payments.nag import CONTROL_TOWER, acknowledge

# The newest 16.x minor this aws-cdk-lib knows: old minors stop being creatable as Aurora
# deprecates them, so bump this with aws-cdk-lib (a test keeps it on a 15.x/16.x line).
AURORA_ENGINE_VERSION = rds.AuroraPostgresEngineVersion.VER_16_13
MONITORING_POLICY = "arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
CUSTOMER_INDEX = "customer-created_at-index"
# What the master password never contains: RDS's default for generated secrets (characters that
# break connection strings and shells). The rotation function gets the same set (payments-03).
PASSWORD_EXCLUDE_CHARACTERS = " %+~`#$&*()|[]{}:;<>?!'/@\"\\"  # noqa: S105 (characters, no password)
# What the fraud detector's history query reads beyond the keys (payments-11): the same tuple as
# common.fraud.HISTORY_ATTRIBUTES (a test holds them equal). Not imported from there: common.fraud
# imports boto3, and the synth imports no handler code that does.
CUSTOMER_INDEX_ATTRIBUTES = ("amount", "decision")


class Data(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PaymentsConfig,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        database_sg: ec2.ISecurityGroup,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        removal = RemovalPolicy.RETAIN if config.is_production else RemovalPolicy.DESTROY

        self.transactions = dynamodb.TableV2(
            self,
            "Transactions",
            table_name=config.name("payments-transactions"),
            partition_key=dynamodb.Attribute(name="transaction_id", type=dynamodb.AttributeType.STRING),
            billing=dynamodb.Billing.on_demand(),
            encryption=dynamodb.TableEncryptionV2.aws_managed_key(),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=config.is_production,
            removal_policy=removal,
            global_secondary_indexes=[
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=CUSTOMER_INDEX,
                    partition_key=dynamodb.Attribute(name="customer_id", type=dynamodb.AttributeType.STRING),
                    sort_key=dynamodb.Attribute(name="created_at", type=dynamodb.AttributeType.STRING),
                    projection_type=dynamodb.ProjectionType.INCLUDE,
                    non_key_attributes=list(CUSTOMER_INDEX_ATTRIBUTES),
                )
            ],
        )

        # The cluster builds its own DB subnet group from vpc_subnets; no second, unused one (payments-06).
        self.cluster = rds.DatabaseCluster(
            self,
            "Aurora",
            cluster_identifier=config.name("payments-aurora"),
            engine=rds.DatabaseClusterEngine.aurora_postgres(version=AURORA_ENGINE_VERSION),
            credentials=rds.Credentials.from_generated_secret(
                "payments_admin",
                secret_name=f"payments/{config.env}/aurora-master",
                exclude_characters=PASSWORD_EXCLUDE_CHARACTERS,
                encryption_key=key,  # a customer-managed key (PCI DSS 3.4); rotation gets its grants
            ),
            default_database_name="payments",
            writer=rds.ClusterInstance.serverless_v2("Writer"),
            readers=[rds.ClusterInstance.serverless_v2("Reader", scale_with_writer=True)]
            if config.is_production
            else [],
            serverless_v2_min_capacity=0.5,
            serverless_v2_max_capacity=4,
            vpc=vpc,
            vpc_subnets=subnets,
            security_groups=[database_sg],
            storage_encrypted=True,
            iam_authentication=True,
            deletion_protection=config.is_production,
            removal_policy=RemovalPolicy.SNAPSHOT if config.is_production else RemovalPolicy.DESTROY,
            backup=rds.BackupProps(retention=Duration.days(14 if config.is_production else 1)),
            cloudwatch_logs_exports=["postgresql"],
            monitoring_interval=Duration.seconds(60),  # enhanced monitoring: OS metrics (CT.RDS.PR.2)
        )
        acknowledge(
            self.cluster,
            **{f"IAM4[Policy::{MONITORING_POLICY}]": "AWS's policy for RDS enhanced monitoring: its metrics"},
        )
        if not config.is_production:
            destroyable = "Non-production environments destroy cleanly; prod has deletion protection"
            acknowledge(self, RDS10=destroyable)
            acknowledge(
                self.cluster, CONTROL_TOWER, rds_cluster_deletion_protection_enabled_check=destroyable
            )
        assert self.cluster.secret is not None  # from_generated_secret always makes one
        self.secret = self.cluster.secret
        self.writer = self.cluster.node.find_child("Writer")  # the instance rotation logs in to
