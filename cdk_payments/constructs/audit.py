"""Audit: the bucket transaction_processing writes audit records to, and its event topic."""

from __future__ import annotations

from aws_cdk import (
    Aws,
    Duration,
    RemovalPolicy,
    aws_s3 as s3,
    aws_s3_notifications as s3n,
    aws_sns as sns,
)
from constructs import Construct

from cdk_payments.config import PaymentsConfig

AUDIT_PREFIX = "audit/"


class Audit(Construct):
    """Encrypted, versioned, TLS-only bucket; new objects under audit/ notify ``topic`` (payments-10)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: PaymentsConfig, topic: sns.ITopic
    ) -> None:
        super().__init__(scope, construct_id)
        disposable = not config.is_production
        common = {
            "encryption": s3.BucketEncryption.S3_MANAGED,
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
            lifecycle_rules=[s3.LifecycleRule(id="expire-access-logs", expiration=Duration.days(90))],
            **common,
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=f"{config.name('payments-audit')}-{Aws.ACCOUNT_ID}-{Aws.REGION}",
            versioned=True,
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
