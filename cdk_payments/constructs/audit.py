"""Audit: the bucket transaction_processing writes audit records to, and its event topic."""

from __future__ import annotations

from aws_cdk import (
    Aws,
    CfnCondition,
    CfnMapping,
    Duration,
    Fn,
    RemovalPolicy,
    aws_iam as iam,
    aws_kms as kms,
    aws_s3 as s3,
    aws_s3_notifications as s3n,
    aws_sns as sns,
)
from aws_cdk.region_info import RegionInfo
from constructs import Construct

from cdk_payments.config import PaymentsConfig
from cdk_payments.nag import CONTROL_TOWER, INLINE_GRANTS, PCI_DSS, acknowledge

AUDIT_PREFIX = "audit/"
# PCI DSS 10.7: a year of audit trail. In prod each record is locked that long (COMPLIANCE: no one,
# root included, can delete or overwrite it before then).
AUDIT_RETENTION = Duration.days(365)


class Audit(Construct):
    """Encrypted, versioned, TLS-only bucket; new objects under audit/ notify ``topic`` (payments-10).

    Records are written once: the bucket policy refuses a PUT under audit/ that does not carry
    If-None-Match (S3 then refuses to replace an existing key), writers get s3:PutObject on audit/*
    and nothing else (``grant_record_writes``), and prod locks every record for a year (Object Lock,
    COMPLIANCE)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PaymentsConfig,
        topic: sns.ITopic,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        disposable = not config.is_production
        common = {
            "versioned": True,
            "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
            "enforce_ssl": True,
            "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            "removal_policy": RemovalPolicy.DESTROY if disposable else RemovalPolicy.RETAIN,
            "auto_delete_objects": disposable,
        }
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            bucket_name=f"{config.name('payments-access-logs')}-{Aws.ACCOUNT_ID}-{Aws.REGION}",
            # S3 log delivery writes with the bucket's default encryption: SSE-S3 needs no key policy
            # for logging.s3.amazonaws.com, and the logs hold request metadata, no payment data.
            encryption=s3.BucketEncryption.S3_MANAGED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=Duration.days(90),
                    noncurrent_version_expiration=Duration.days(30),
                )
            ],
            **common,
        )
        self._key = key
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=f"{config.name('payments-audit')}-{Aws.ACCOUNT_ID}-{Aws.REGION}",
            # Object Lock needs versioning (on); S3 enables it on new and existing buckets. Other
            # envs keep it off so that they can be destroyed.
            object_lock_enabled=True if config.is_production else None,
            object_lock_default_retention=s3.ObjectLockRetention.compliance(AUDIT_RETENTION)
            if config.is_production
            else None,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,  # one data key per bucket, not one KMS call per record
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="audit-bucket/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="archive-audit-records",
                    prefix=AUDIT_PREFIX,
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                            transition_after=Duration.days(90),
                        )
                    ],
                    noncurrent_version_expiration=Duration.days(365),
                ),
                s3.LifecycleRule(
                    id="abort-incomplete-uploads", abort_incomplete_multipart_upload_after=Duration.days(7)
                ),
            ],
            **common,
        )
        self.records_arn = self.bucket.arn_for_objects(f"{AUDIT_PREFIX}*")
        self.bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.SnsDestination(topic),
            s3.NotificationKeyFilter(prefix=AUDIT_PREFIX),
        )
        # Write-once is enforced, not a convention of the writer's code: a PUT (or the completion of
        # a multipart upload) under audit/ without If-None-Match is refused for every principal.
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenyAuditWritesWithoutIfNoneMatch",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:PutObject"],
                resources=[self.records_arn],
                conditions={
                    "Null": {"s3:if-none-match": "true"},
                    "Bool": {"s3:ObjectCreationOperation": "true"},
                },
            )
        )
        self._acknowledge(config)

    def admit_load_balancer_logs(self, prefix: str) -> s3.BucketPolicy:
        """Let Elastic Load Balancing write access logs under ``prefix``/ of the access-log bucket
        (SSE-S3, the only encryption ALB logs support); returns the bucket policy to depend on.

        Who writes depends on the region (ELB's documentation): in regions opened before August
        2022 ELB's own account for the region, in later ones the log delivery service principal.
        CDK's ``log_access_logs`` needs the region at synth time; this template picks at deploy time
        (a mapping of ELB's accounts, as aws-cdk-lib's region facts list them, and a condition)."""
        accounts = {r.name: r.elbv2_account for r in RegionInfo.regions if r.elbv2_account}
        mapping = CfnMapping(
            self, "ElbAccounts", mapping={r: {"Account": a} for r, a in sorted(accounts.items())}
        )
        regions = [Fn.condition_equals(Aws.REGION, region) for region in sorted(accounts)]
        # Fn::Or takes 2 to 10 conditions: an Or of Ors.
        groups = [Fn.condition_or(*regions[i : i + 10]) for i in range(0, len(regions), 10)]
        has_account = CfnCondition(self, "RegionHasElbAccount", expression=Fn.condition_or(*groups))
        account = mapping.find_in_map(Aws.REGION, "Account")
        self.access_logs.add_to_resource_policy(
            iam.PolicyStatement.from_json(
                {
                    "Sid": "AllowLoadBalancerAccessLogs",
                    "Effect": "Allow",
                    "Principal": {
                        "AWS": Fn.condition_if(
                            has_account.logical_id, f"arn:{Aws.PARTITION}:iam::{account}:root", Aws.NO_VALUE
                        ).to_string(),
                        "Service": Fn.condition_if(
                            has_account.logical_id,
                            Aws.NO_VALUE,
                            "logdelivery.elasticloadbalancing.amazonaws.com",
                        ).to_string(),
                    },
                    "Action": "s3:PutObject",
                    "Resource": self.access_logs.arn_for_objects(f"{prefix}/AWSLogs/{Aws.ACCOUNT_ID}/*"),
                }
            )
        )
        assert self.access_logs.policy is not None  # enforce_ssl made one
        return self.access_logs.policy

    def grant_record_writes(self, grantee: iam.IGrantable) -> None:
        """s3:PutObject on audit/* and the data key for S3 to encrypt the record, nothing else: no
        read, no delete, no retention, legal-hold, tagging or multipart calls (CDK's grant_put has
        them all)."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:PutObject"], resources=[self.records_arn])
        )
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:GenerateDataKey"],  # a single-part PUT under SSE-KMS needs only this
                resources=[self._key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{Aws.REGION}.amazonaws.com"}},
            )
        )

    def _acknowledge(self, config: PaymentsConfig) -> None:
        acknowledge(
            self,
            PCI_DSS,
            S3BucketReplicationEnabled="A one-region stack: replication needs a bucket in a second "
            "region (pulumi_trading_dr shows the pattern); versioning keeps replaced or deleted objects",
        )
        acknowledge(self.bucket, PCI_DSS, IAMNoInlinePolicy=INLINE_GRANTS)  # CDK's notifications handler
        acknowledge(
            self.bucket,
            CONTROL_TOWER,
            s3_event_notifications_enabled_check="Object-created events go to the audit topic (payments-10) "
            "through CDK's Custom::S3BucketNotifications, which a template rule does not see",
        )
        if not config.is_production:
            acknowledge(
                self.bucket,
                CONTROL_TOWER,
                s3_bucket_object_lock_enabled_check="Object Lock in prod only: locked records would "
                "outlive a sandbox that must destroy cleanly. Here too the bucket policy refuses a PUT "
                "without If-None-Match, and versioning keeps a deleted record's versions for a year",
            )
        sse_s3 = "The server-access-log target: S3 log delivery writes with SSE-S3, no payment data inside"
        acknowledge(self.access_logs, PCI_DSS, S3DefaultEncryptionKMS=sse_s3)
        acknowledge(
            self.access_logs,
            CONTROL_TOWER,
            s3_bucket_default_encryption_kms_check=sse_s3,
            s3_bucket_logging_enabled_check="It is the access-log target: logging it would log into itself",
            s3_event_notifications_enabled_check="Log files: nothing consumes their object events",
            s3_bucket_object_lock_enabled_check="Access logs expire after 90 days; versioning keeps a "
            "replaced or deleted one 30 days more",
        )
