"""S3: a data bucket per region, each versioned with ``aws.s3.BucketVersioning`` (replication
needs versioning on both sides, trading-dr-16), encrypted with its region's key, private, TLS
only; replication both ways (the primary's objects to the secondary, and back after a
failover) with Replication Time Control and replication metrics at 15 minutes (trading-dr-15)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from pulumi_trading_dr.components.functions import trust_policy
from pulumi_trading_dr.components.keys import Keys
from pulumi_trading_dr.components.region import Region, Regions
from pulumi_trading_dr.config import TradingConfig

RTC_MINUTES = 15  # the only value S3 Replication Time Control accepts


@dataclass(frozen=True)
class S3Args:
    config: TradingConfig
    regions: Regions
    keys: Keys
    account_id: pulumi.Input[str]


def private_bucket(
    name: str,
    bucket: pulumi.Input[str],
    region: Region,
    key: aws.kms.Key,
    parent: pulumi.Resource,
    *,
    prod: bool,
    expire_days: int | None = None,
) -> tuple[aws.s3.Bucket, aws.s3.BucketVersioning]:
    """A versioned bucket on a KMS key, with public access blocked, owner-enforced objects, a
    policy that refuses plain HTTP, old versions expired (and objects, with ``expire_days``)."""
    child = region.opts(parent)
    resource = aws.s3.Bucket(
        name, bucket=bucket, force_destroy=not prod, opts=region.opts(parent, protect=prod)
    )
    versioning = aws.s3.BucketVersioning(
        f"{name}-versioning",
        bucket=resource.id,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
        opts=child,
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption",
        bucket=resource.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="aws:kms", kms_master_key_id=key.arn
                ),
                bucket_key_enabled=True,
            )
        ],
        opts=child,
    )
    access_block = aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access",
        bucket=resource.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=child,
    )
    aws.s3.BucketOwnershipControls(
        f"{name}-ownership",
        bucket=resource.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        opts=child,
    )
    aws.s3.BucketPolicy(
        f"{name}-tls-only",
        bucket=resource.id,
        policy=resource.arn.apply(
            lambda arn: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "DenyPlainHttp",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [arn, f"{arn}/*"],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                }
            )
        ),
        opts=region.opts(parent, depends_on=[access_block]),
    )
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-lifecycle",
        bucket=resource.id,
        rules=[
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-old-versions-and-uploads",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=90
                ),
                abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=7
                ),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=expire_days)
                if expire_days
                else None,
            )
        ],
        opts=region.opts(parent, depends_on=[versioning]),
    )
    return resource, versioning


class S3(pulumi.ComponentResource):
    def __init__(self, name: str, args: S3Args, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trading:s3:S3", name, None, opts)
        config = args.config
        self.buckets: dict[str, aws.s3.Bucket] = {}
        versionings: dict[str, aws.s3.BucketVersioning] = {}
        for region in args.regions:
            bucket_name = pulumi.Output.concat(
                config.name("data"), "-", args.account_id, "-", region.name
            )  # globally unique, and still says which environment
            self.buckets[region.role], versionings[region.role] = private_bucket(
                f"{name}-{region.role}",
                bucket_name,
                region,
                args.keys.key(region),
                self,
                prod=config.is_production,
            )
        for source in args.regions:
            target = args.regions.other(source)
            self._replicate(name, config, args.keys, source, target, depends_on=list(versionings.values()))
        self.register_outputs({role: b.bucket for role, b in self.buckets.items()})

    def bucket(self, region: Region) -> aws.s3.Bucket:
        return self.buckets[region.role]

    def _replicate(
        self,
        name: str,
        config: TradingConfig,
        keys: Keys,
        source: Region,
        target: Region,
        depends_on: list[pulumi.Resource],
    ) -> None:
        source_bucket, target_bucket = self.buckets[source.role], self.buckets[target.role]
        source_key, target_key = keys.key(source), keys.key(target)
        role = aws.iam.Role(
            f"{name}-{source.role}-replication",
            name=config.name("s3-replication", source.settings),
            assume_role_policy=trust_policy("s3"),
            opts=source.opts(self),
        )
        aws.iam.RolePolicy(
            f"{name}-{source.role}-replication-policy",
            role=role.id,
            name="replicate-to-" + target.role,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                            "Resource": source_bucket.arn,
                        },
                        {
                            "Effect": "Allow",
                            "Action": [
                                "s3:GetObjectVersionForReplication",
                                "s3:GetObjectVersionAcl",
                                "s3:GetObjectVersionTagging",
                            ],
                            "Resource": pulumi.Output.concat(source_bucket.arn, "/*"),
                        },
                        {
                            "Effect": "Allow",
                            "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                            "Resource": pulumi.Output.concat(target_bucket.arn, "/*"),
                        },
                        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": source_key.arn},
                        {
                            "Effect": "Allow",
                            "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
                            "Resource": target_key.arn,
                        },
                    ],
                }
            ),
            opts=source.opts(self),
        )
        aws.s3.BucketReplicationConfig(
            f"{name}-{source.role}-to-{target.role}",
            bucket=source_bucket.id,
            role=role.arn,
            rules=[
                aws.s3.BucketReplicationConfigRuleArgs(
                    id=f"to-{target.role}",
                    status="Enabled",
                    priority=1,
                    filter=aws.s3.BucketReplicationConfigRuleFilterArgs(prefix=""),
                    delete_marker_replication=aws.s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs(
                        status="Enabled"
                    ),
                    source_selection_criteria=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaArgs(
                        sse_kms_encrypted_objects=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaSseKmsEncryptedObjectsArgs(
                            status="Enabled"
                        ),
                        replica_modifications=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaReplicaModificationsArgs(
                            status="Enabled"  # two-way: metadata changes of replicas flow back too
                        ),
                    ),
                    destination=aws.s3.BucketReplicationConfigRuleDestinationArgs(
                        bucket=target_bucket.arn,
                        storage_class="STANDARD",
                        encryption_configuration=aws.s3.BucketReplicationConfigRuleDestinationEncryptionConfigurationArgs(
                            replica_kms_key_id=target_key.arn
                        ),
                        # RTC and its metrics go together (trading-dr-15): S3 rejects RTC without metrics.
                        replication_time=aws.s3.BucketReplicationConfigRuleDestinationReplicationTimeArgs(
                            status="Enabled",
                            time=aws.s3.BucketReplicationConfigRuleDestinationReplicationTimeTimeArgs(
                                minutes=RTC_MINUTES
                            ),
                        ),
                        metrics=aws.s3.BucketReplicationConfigRuleDestinationMetricsArgs(
                            status="Enabled",
                            event_threshold=aws.s3.BucketReplicationConfigRuleDestinationMetricsEventThresholdArgs(
                                minutes=RTC_MINUTES
                            ),
                        ),
                    ),
                )
            ],
            # Both buckets must be versioned before S3 accepts a replication rule (trading-dr-16).
            opts=source.opts(self, depends_on=depends_on),
        )
