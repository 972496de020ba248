"""Data stores encrypted at rest."""

from __future__ import annotations

from policies.model import MISSING, Document, Severity, Unresolved, present, truthy
from policies.rules import fail, ok, rule, unknown

# Encrypted whatever the template says, so not judged here: DynamoDB tables, S3 buckets (SSE-S3
# since January 2023), CloudWatch log groups, Secrets Manager secrets.


def _flag(document: Document, value: object) -> bool | Unresolved | None:
    if value is MISSING or value is None:
        return None
    return truthy(document.scalar(value))


def _storage_encrypted(document: Document, resource):
    """The verdict on an RDS cluster or instance's storage_encrypted flag."""
    encrypted = _flag(document, resource.get("storage_encrypted"))
    if isinstance(encrypted, Unresolved):
        return unknown(resource, encrypted)
    if encrypted:
        return ok(resource)
    return fail(resource, "storage_encrypted is not true (RDS does not encrypt by default)")


@rule(
    "encrypted-at-rest",
    title="data stores encrypted at rest",
    rationale="Where encryption at rest is opt-in (RDS/Aurora, SNS, Kinesis, EFS, EBS, ElastiCache) turn "
    "it on; never turn SQS SSE off.",
    severity=Severity.HIGH,
    catalogue=("trading-dr-08", "transactions-09"),
)
def encrypted_at_rest(document: Document):
    for resource in document.of("rds.cluster", "rds.global_cluster"):
        if resource.is_("rds.global_cluster") and resource.get("source_db_cluster_identifier") is not MISSING:
            yield ok(resource, "takes its encryption from the source cluster")
            continue
        if document.scalar(resource.get("engine_mode")) == "serverless":
            yield ok(resource, "Aurora Serverless v1 is always encrypted")
            continue
        yield _storage_encrypted(document, resource)

    for resource in document.of("rds.instance"):
        engine = document.scalar(resource.get("engine"))
        if (isinstance(engine, str) and engine.startswith("aurora")) or resource.get(
            "db_cluster_identifier", "cluster_identifier"
        ) is not MISSING:
            yield ok(resource, "an Aurora instance: the cluster's encryption applies")
            continue
        yield _storage_encrypted(document, resource)

    for resource in document.of("sns.topic"):
        key = present(resource.get("kms_master_key_id"))
        if isinstance(key, Unresolved):
            yield unknown(resource, f"kms_master_key_id: {key.why}")
        elif key:
            yield ok(resource)
        else:
            yield fail(resource, "no kms_master_key_id: SNS stores messages unencrypted")

    for resource in document.of("sqs.queue"):
        key = present(resource.get("kms_master_key_id"))
        managed = _flag(document, resource.get("sqs_managed_sse_enabled"))
        if key is True:
            yield ok(resource, "SSE-KMS")
        elif isinstance(key, Unresolved):
            yield unknown(resource, f"kms_master_key_id: {key.why}")
        elif isinstance(managed, Unresolved):
            yield unknown(resource, managed)
        elif managed is False:
            yield fail(resource, "sqs_managed_sse_enabled is false and no KMS key is set")
        else:
            yield ok(resource, "SSE-SQS (the default for new queues)")

    explicit = {
        "kinesis.stream": (("stream_encryption.encryption_type", "encryption_type"), "KMS"),
        "efs.file_system": (("encrypted",), True),
        "ec2.volume": (("encrypted",), True),
        "elasticache.replication_group": (("at_rest_encryption_enabled",), True),
    }
    for kind, (paths, expected) in explicit.items():
        for resource in document.of(kind):
            value = resource.get(*paths)
            if value is MISSING:
                yield fail(resource, f"{paths[0]} is not set: encryption at rest is opt-in here")
                continue
            value = document.scalar(value)
            if isinstance(value, Unresolved):
                yield unknown(resource, value)
                continue
            actual = truthy(value) if expected is True else value
            if isinstance(actual, Unresolved):
                yield unknown(resource, actual)
            elif actual == expected:
                yield ok(resource)
            else:
                yield fail(resource, f"{paths[0]} is {value!r}, not {expected!r}")
