"""Policy documents as ``aws_iam_policy_document`` data sources, written as IAM JSON statements.

A ``json.dumps`` policy with Terraform references inside its string is valid ``cdk.tf.json`` but
``cdktf synth --hcl`` (the exit route to plain Terraform) turns it into HCL that does not parse;
the data source renders as blocks in HCL and as structured JSON in ``cdk.tf.json``.
"""

from __future__ import annotations

from typing import Any

from cdktn_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from constructs import Construct


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statement(statement: dict[str, Any]) -> DataAwsIamPolicyDocumentStatement:
    principal = statement.get("Principal")
    if principal == "*":
        principal = {"*": "*"}  # the data source's spelling of "Principal": "*"
    return DataAwsIamPolicyDocumentStatement(
        sid=statement.get("Sid"),
        effect=statement.get("Effect", "Allow"),
        actions=_as_list(statement["Action"]),
        resources=_as_list(statement["Resource"]) if "Resource" in statement else None,  # trust: none
        principals=[
            DataAwsIamPolicyDocumentStatementPrincipals(type=kind, identifiers=_as_list(ids))
            for kind, ids in (principal or {}).items()
        ]
        or None,
        condition=[
            DataAwsIamPolicyDocumentStatementCondition(test=test, variable=key, values=_as_list(values))
            for test, keys in statement.get("Condition", {}).items()
            for key, values in keys.items()
        ]
        or None,
    )


def policy_document(scope: Construct, construct_id: str, statements: list[dict[str, Any]]) -> str:
    """The rendered policy JSON (a Terraform reference) of IAM-style ``statements``."""
    document = DataAwsIamPolicyDocument(
        scope, construct_id, version="2012-10-17", statement=[_statement(s) for s in statements]
    )
    return document.json


def encrypt_for_topic(key_arn: str, topic_arn: str) -> dict[str, Any]:
    """What a publisher to an SSE topic needs of its key, for that topic only (SNS's encryption context)."""
    return {
        "Sid": "EncryptForTheTopic",
        "Effect": "Allow",
        "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
        "Resource": key_arn,
        "Condition": {"StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": topic_arn}},
    }


def service_trust(
    scope: Construct,
    construct_id: str,
    *,
    service: str,
    account_id: str,
    source_arn: str | list[str] | None = None,
) -> str:
    """The trust policy of a role ``service`` assumes on behalf of this account only
    (aws:SourceAccount) and, where the service sends it, of one resource (aws:SourceArn): no other
    account can make the service act with this role (the confused deputy)."""
    condition: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": account_id}}
    if source_arn:
        condition["ArnLike"] = {"aws:SourceArn": source_arn}
    statement = {
        "Sid": "AssumedByTheServiceForThisAccount",
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
        "Condition": condition,
    }
    return policy_document(scope, construct_id, [statement])
