"""Audit: the bucket transaction_processing writes audit records to, and its event topic."""

from __future__ import annotations

from aws_cdk import (
    Aws,
    Duration,
    RemovalPolicy,
    aws_kms as kms,
    aws_s3 as s3,
    aws_s3_notifications as s3n,
    aws_sns as sns,
)
from constructs import Construct

from cdk_payments.config import PaymentsConfig
from cdk_payments.nag import CONTROL_TOWER, INLINE_GRANTS, PCI_DSS, acknowledge

AUDIT_PREFIX = "audit/"


class Audit(Construct):
    """Encrypted, versioned, TLS-only bucket; new objects under audit/ notify ``topic`` (payments-10)."""

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
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=f"{config.name('payments-audit')}-{Aws.ACCOUNT_ID}-{Aws.REGION}",
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
        self.bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.SnsDestination(topic),
            s3.NotificationKeyFilter(prefix=AUDIT_PREFIX),
        )
        self._acknowledge()

    def _acknowledge(self) -> None:
        no_object_lock = (
            "Records are written once (a conditional PUT) into a versioned bucket that keeps every "
            "replaced or deleted version; Object Lock would stop sandboxes from being destroyed"
        )
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
            s3_bucket_object_lock_enabled_check=no_object_lock,
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
