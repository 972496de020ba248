"""Every payments handler's AWS calls, read from its source, against the policy the stack grants its role.

A call the role does not allow only fails in AWS (AccessDenied; or, for S3 reads without
s3:ListBucket, a 403 where the code expects a 404), so it is checked here, on the synthesized
templates, for every function of the stack.
"""

from __future__ import annotations

from typing import Any

import pytest

from lambda_src.build import functions
from tests.iam_calls import missing_actions, required_actions

PAYMENTS_FUNCTIONS = [f for f in functions() if f.stack == "cdk_payments"]


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


@pytest.mark.parametrize("function", PAYMENTS_FUNCTIONS, ids=lambda f: f.name)
@pytest.mark.parametrize("variant", ["dev", "prod"])
def test_the_role_grants_every_call_the_handler_makes(payments, variant, function):
    synth = payments[variant]
    env = synth.stack.node.id.split("-", 1)[1]
    logical_id, _ = synth.our_functions()[f"payments-{function.name.replace('_', '-')}-{env}"]
    assert missing_actions(function.source, role_statements(synth, logical_id)) == set()


def test_every_payments_function_is_checked_and_the_reader_sees_their_calls():
    """The comparison above is only as good as the reader: it must find the calls that exist."""
    assert sorted(f.name for f in PAYMENTS_FUNCTIONS) == [
        "fraud_detection",
        "payment_validation",
        "secrets_rotation",
        "transaction_processing",
    ]
    by_name = {f.name: required_actions(f.source) for f in PAYMENTS_FUNCTIONS}
    assert {"dynamodb:GetItem", "dynamodb:PutItem", "s3:PutObject", "lambda:InvokeFunction"} <= by_name[
        "transaction_processing"
    ]
    assert "dynamodb:Query" in by_name["fraud_detection"]
    assert "secretsmanager:UpdateSecretVersionStage" in by_name["secrets_rotation"]
