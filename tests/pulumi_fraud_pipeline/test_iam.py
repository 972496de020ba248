"""Each fraud-pipeline handler's boto3 calls against the policy the program grants its role.

A call the role does not allow fails only in AWS (AccessDenied): failed_handler read and marked its
dead letters with PutItem only, so the DLQ never drained. The handlers' calls are read from their
source (tests/iam_calls.py); the grants from the program run under mocks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lambda_src.build import ROOT, function_dir, functions
from pulumi_offline import archive_path
from tests.iam_calls import missing_actions

STACK = "pulumi_fraud_pipeline"
FUNCTION = "aws:lambda/function:Function"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
MANAGED_POLICY = "aws:iam/policy:Policy"
OUR_FUNCTIONS = [f for f in functions() if f.stack == STACK]


def _statements(document: str) -> list[dict[str, Any]]:
    statements = json.loads(document)["Statement"]
    return statements if isinstance(statements, list) else [statements]


def deployed_function(fraud, name: str) -> dict[str, Any]:
    """The program's function whose code is the bundle of lambda_src/<stack>/<name>."""
    path = str(function_dir(STACK, name).relative_to(ROOT))
    (found,) = [f for f in fraud.of_type(FUNCTION) if archive_path(f["inputs"]["code"]) == path]
    return found


def role_statements(fraud, function: dict[str, Any]) -> list[dict[str, Any]]:
    """Inline policies and attached customer-managed policies of the function's execution role."""
    (role,) = [r for r in map(fraud.by_urn, function["dependencies"]) if r["type"] == ROLE]
    assert function["inputs"]["role"].endswith(f":role/{role['inputs']['name']}")
    names = {role["id"], role["inputs"]["name"]}  # a policy names its role by id (= name in AWS)
    statements = [
        statement
        for policy in fraud.of_type(ROLE_POLICY)
        if policy["inputs"]["role"] in names
        for statement in _statements(policy["inputs"]["policy"])
    ]
    for attachment in fraud.of_type(ATTACHMENT):
        if attachment["inputs"]["role"] not in names:
            continue
        managed = [r for r in map(fraud.by_urn, attachment["dependencies"]) if r["type"] == MANAGED_POLICY]
        if not managed:  # an AWS managed policy: its document is not in the program
            pytest.fail(f"{attachment['inputs']['policyArn']}: compare its actions here before attaching it")
        statements += _statements(managed[0]["inputs"]["policy"])
    return statements


def test_every_function_of_the_stack_is_deployed(fraud):
    assert {f.name for f in OUR_FUNCTIONS} == {"validator", "fraud_detector", "failed_handler"}
    assert len(fraud.of_type(FUNCTION)) == len(OUR_FUNCTIONS)


@pytest.mark.parametrize("function", OUR_FUNCTIONS, ids=lambda f: f.name)
def test_the_role_allows_every_call_the_handler_makes(function, fraud):
    statements = role_statements(fraud, deployed_function(fraud, function.name))
    assert missing_actions(Path(function.source), statements) == set()
