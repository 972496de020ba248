"""Data stores encrypted at rest."""

from __future__ import annotations

from policies.model import MISSING, Document, Resource, Severity, Unresolved, decide, present, truthy
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
    return fail(resource, "storage_encrypted is not true (not encrypted by default)")


@rule(
    "encrypted-at-rest",
    title="data stores encrypted at rest",
    rationale="Where encryption at rest is opt-in (RDS, Neptune, DocumentDB, OpenSearch, SNS, EFS ...) turn "
    "it on; never turn it off.",
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

    verdicts = {}
    for resource in document.of("rds.instance"):
        if resource.get("source_db_instance_identifier", "replicate_source_db") is not MISSING:
            continue  # a read replica: judged below, from its source
        engine = document.scalar(resource.get("engine"))
        if (isinstance(engine, str) and engine.startswith("aurora")) or resource.get(
            "db_cluster_identifier", "cluster_identifier"
        ) is not MISSING:
            yield ok(resource, "an Aurora instance: the cluster's encryption applies")
            continue
        verdicts[resource.address] = _storage_encrypted(document, resource)
        yield verdicts[resource.address]
    for replica in document.of("rds.instance"):
        source = replica.get("source_db_instance_identifier", "replicate_source_db")
        if source is MISSING:
            continue
        # A read replica has its source's encryption (a cross-region one may name its own key).
        if present(replica.get("kms_key_id")) is True:
            yield ok(replica, "a read replica encrypted with its own KMS key")
            continue
        found = document.target(source, "rds.instance")
        if isinstance(found, Resource) and found.address in verdicts:
            _, status, message = verdicts[found.address]
            yield replica, status, f"a read replica of {found.label()}: {message or 'encrypted'}"
        elif isinstance(found, Unresolved):
            yield unknown(replica, f"a read replica of a source this document cannot tell ({found.why})")
        else:
            yield unknown(
                replica, "a read replica of a database outside this document: it has the source's encryption"
            )

    for resource in document.of("neptune.cluster", "docdb.cluster"):
        if resource.get("snapshot_identifier", "source_db_cluster_identifier") is not MISSING:
            yield unknown(resource, "restored from a snapshot: it has the snapshot's encryption")
            continue
        yield _storage_encrypted(document, resource)

    for resource in document.of("redshift.cluster"):
        # Redshift encrypts a new cluster by default now; only an explicit false turns it off.
        encrypted = _flag(document, resource.get("encrypted"))
        if isinstance(encrypted, Unresolved):
            yield unknown(resource, encrypted)
        elif encrypted is False:
            yield fail(resource, "encrypted is false")
        else:
            yield ok(resource, "encrypted (Redshift's default)" if encrypted is None else "")

    for resource in document.of("sns.topic"):
        key = present(resource.get("kms_master_key_id"))
        if isinstance(key, Unresolved):
            yield unknown(resource, f"kms_master_key_id: {key.why}")
        elif key:
            yield ok(resource)
        else:
            yield fail(resource, "no kms_master_key_id: SNS stores messages unencrypted")

    for resource in document.of("sqs.queue"):
        managed = _flag(document, resource.get("sqs_managed_sse_enabled"))

        def sqs_encrypted(key_value: object, managed: object = managed) -> bool | Unresolved:
            key = present(key_value)
            if key is True:
                return True
            if isinstance(key, Unresolved):
                return Unresolved(f"kms_master_key_id: {key.why}")
            if isinstance(managed, Unresolved):
                return managed
            return managed is not False  # SSE-SQS is the default for new queues

        # Under a condition, each branch is judged: a key in one, SSE-SQS in the other is encrypted.
        encrypted = decide(resource.get("kms_master_key_id"), sqs_encrypted)
        if isinstance(encrypted, Unresolved):
            yield unknown(resource, encrypted)
        elif encrypted:
            yield ok(resource, "SSE-KMS or SSE-SQS")
        else:
            yield fail(resource, "sqs_managed_sse_enabled is false and no KMS key is set")

    explicit = {
        "kinesis.stream": (("stream_encryption.encryption_type", "encryption_type"), "KMS"),
        "efs.file_system": (("encrypted",), True),
        "ec2.volume": (("encrypted",), True),
        "elasticache.replication_group": (("at_rest_encryption_enabled",), True),
        "opensearch.domain": (("encryption_at_rest_options.enabled", "encrypt_at_rest.enabled"), True),
    }
    for kind, (paths, expected) in explicit.items():
        for resource in document.of(kind):
            value = resource.get(*paths)
            if value is MISSING:
                yield fail(resource, f"{paths[0]} is not set: encryption at rest is opt-in here")
                continue
            value = document.scalar(value)
            actual = truthy(value) if expected is True else value
            if isinstance(actual, Unresolved):
                yield unknown(resource, actual)
            elif actual == expected:
                yield ok(resource)
            else:
                yield fail(resource, f"{paths[0]} is {value!r}, not {expected!r}")
