"""Every payments function's requests against what AWS would decide on the synthesized templates.

A request the role does not allow only fails in AWS (AccessDenied; or, for S3 reads without
s3:ListBucket, a 403 where the code expects a 404). Each is judged by action, resource ARN and
condition (tests/iam): the calls its code makes on the resources its environment and its
rotation schedule name, its X-Ray segments, and what S3 and Secrets Manager do with the data key
on its behalf; on its role's policies, the bucket's policy and the key's policy.
"""

from __future__ import annotations

from typing import Any

import pytest

from lambda_src.build import functions
from tests.iam.deployment import from_cloudformation
from tests.iam.mutations import changed, on_resource, without
from tests.iam.reader import Const, Env, Event, Text
from tests.iam.requests import calls, refused

OURS = [f for f in functions() if f.stack == "cdk_payments"]
VARIANTS = ("dev", "prod")


@pytest.fixture(scope="module")
def deployments(payments):
    return {variant: from_cloudformation(payments[variant].json) for variant in VARIANTS}


@pytest.mark.parametrize("function", OURS, ids=lambda f: f.name)
@pytest.mark.parametrize("variant", VARIANTS)
def test_aws_allows_every_request_of_the_function(deployments, variant, function):
    """Fix: judged by action, resource ARN and condition: PutObject under audit/ with the data
    key's GenerateDataKey via S3, Invoke of the two functions it calls, Query on the customer
    index, the rotation's calls on the secret its schedule names with the key via Secrets Manager."""
    deployment = deployments[variant]
    (deployed,) = deployment.deployed(function.name)
    assert refused(deployed, deployment) == []


def refusals(deployment, function):
    return {(r.action, r.resource.rsplit(":", 1)[-1]) for r in refused(function, deployment)}


def test_audit_records_outside_the_granted_prefix_are_refused(deployments):
    """PutObject granted on records/* while the code writes audit/...: refused."""
    deployment = deployments["dev"]
    (processing,) = deployment.deployed("transaction_processing")
    (bucket,) = [b for b in deployment.keys if b.startswith("arn:aws:s3:::")]  # the audit bucket
    copy, processing = changed(
        deployment, processing.name, on_resource("s3:PutObject", f"{bucket}/records/*")
    )
    assert {a for a, _ in refusals(copy, processing)} == {"s3:PutObject"}


def test_the_audit_bucket_key_is_needed_to_write_a_record(deployments):
    """The audit bucket is SSE-KMS with the data key: without GenerateDataKey the PutObject fails."""
    deployment = deployments["dev"]
    (processing,) = deployment.deployed("transaction_processing")
    copy, processing = changed(deployment, processing.name, without({"kms:GenerateDataKey"}))
    assert {a for a, _ in refusals(copy, processing)} == {"kms:GenerateDataKey"}


def test_the_rotation_needs_the_key_policy_that_names_its_role(deployments):
    """The data key's policy allows the rotation role via Secrets Manager (its IAM policy has no
    KMS statement): without that key-policy statement the rotation cannot read or write the secret."""
    deployment = deployments["dev"]
    (rotation,) = deployment.deployed("secrets_rotation")
    copy, rotation = changed(deployment, rotation.name, lambda f: None)
    for statements in copy.policies.values():
        statements[:] = [s for s in statements if s.get("Principal") != {"AWS": rotation.role}]
    assert {a for a, _ in refusals(copy, rotation)} == {"kms:Decrypt", "kms:GenerateDataKey"}


def test_the_reader_sees_every_call_with_its_resource():
    """The check is only as good as the reader: each function's calls and what names their resource."""
    found = {f.name: {(c.service, c.operation): c.params for c in calls(f.source)} for f in OURS}
    assert set(found["payment_validation"]) == set()
    assert found["fraud_detection"][("dynamodb", "Query")]["IndexName"] == {Env("CUSTOMER_INDEX")}
    processing = found["transaction_processing"]
    assert set(processing) == {
        ("dynamodb", "GetItem"),
        ("dynamodb", "PutItem"),
        ("s3", "PutObject"),
        ("lambda", "Invoke"),
    }
    assert processing[("lambda", "Invoke")]["FunctionName"] == {
        Env("VALIDATION_FUNCTION"),
        Env("FRAUD_FUNCTION"),
    }
    (key,) = processing[("s3", "PutObject")]["Key"]
    assert isinstance(key, Text) and key.parts[0] == "audit/"
    rotation = found["secrets_rotation"]
    assert rotation[("secretsmanager", "PutSecretValue")]["SecretId"] == {Event("event.SecretId")}
    assert rotation[("secretsmanager", "UpdateSecretVersionStage")]["VersionStage"] == {Const("AWSCURRENT")}


def role_statements(synth, function_logical_id: str) -> list[dict[str, Any]]:
    """The statements of every AWS::IAM::Policy attached to the role of the function."""
    fn = synth.json["Resources"][function_logical_id]
    role_id = fn["Properties"]["Role"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in synth.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
