"""The fraud pipeline's functions as the program deploys them, and the AWS requests each makes:
its code's calls (actions read from its source, tests/iam_calls.py, on the resources its
environment names), the X-Ray daemon's, and Lambda's and SNS's with its role. Read by the role
tests (test_iam.py) and the endpoint policy tests (test_endpoint_policies.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambda_src.build import ROOT, function_dir, functions
from pulumi_offline import ACCOUNT, archive_path
from tests.iam_calls import required_actions
from tests.pulumi_fraud_pipeline.policy_eval import Request

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


CONSUMER_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")


def table_arn(region: str, name: str) -> str:
    return f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{name}"


def queue_arn(region: str, url_or_name: str) -> str:
    return f"arn:aws:sqs:{region}:{ACCOUNT}:{url_or_name.rsplit('/', 1)[-1]}"


def code_requests(fraud, name: str) -> list[Request]:
    """The calls the handler's code makes (actions read from its source), each on the resource its
    environment names: the table (its merchant index for Query), the queue, the topic."""
    function = deployed_function(fraud, name)
    env, role, region = (
        function["inputs"]["environment"]["variables"],
        function["inputs"]["role"],
        fraud.region(function),
    )
    requests = []
    for action in sorted(required_actions(function_dir(STACK, name))):
        service, operation = action.split(":")
        if service == "dynamodb":
            table = table_arn(region, env.get("TRANSACTIONS_TABLE") or env["DEAD_LETTERS_TABLE"])
            resource = f"{table}/index/{env['MERCHANT_INDEX']}" if operation == "Query" else table
        elif service == "sqs":
            resource = queue_arn(region, env["QUEUE_URL"])
        elif service == "sns":
            resource = env.get("FRAUD_TOPIC_ARN") or env["OPS_TOPIC_ARN"]
        else:
            pytest.fail(f"{name} calls {action}: say here which resource it names")
        requests.append(Request(action, resource, role))
    return requests


def lambda_requests(fraud, name: str) -> list[Request]:
    """What Lambda and SNS do with the function's role: the event source mapping polls and deletes
    (CreateEventSourceMapping checks the role for these), and SNS encrypts what the function
    publishes with the topic's key, on the function's permissions."""
    function = deployed_function(fraud, name)
    env, role, region = (
        function["inputs"]["environment"]["variables"],
        function["inputs"]["role"],
        fraud.region(function),
    )
    requests = [
        Request(action, mapping["inputs"]["eventSourceArn"], role)
        for mapping in fraud.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
        if mapping["inputs"]["functionName"].endswith(f":function:{function['inputs']['name']}")
        for action in CONSUMER_ACTIONS
    ]
    for topic_arn in (env.get("FRAUD_TOPIC_ARN"), env.get("OPS_TOPIC_ARN")):
        if topic_arn:
            (topic,) = [
                t
                for t in fraud.of_type("aws:sns/topic:Topic")
                if f"arn:aws:sns:{fraud.region(t)}:{ACCOUNT}:{t['inputs']['name']}" == topic_arn
            ]
            via_sns = {"kms:ViaService": f"sns.{region}.amazonaws.com"}
            requests += [
                Request(action, topic["inputs"]["kmsMasterKeyId"], role, via_sns)
                for action in ("kms:GenerateDataKey", "kms:Decrypt")
            ]
    return requests


def tracing_requests(fraud, name: str) -> list[Request]:
    """The X-Ray daemon in the function's environment sends segments with its role (Active tracing)."""
    function = deployed_function(fraud, name)
    assert function["inputs"]["tracingConfig"] == {"mode": "Active"}
    role = function["inputs"]["role"]
    return [Request(action, "*", role) for action in ("xray:PutTraceSegments", "xray:PutTelemetryRecords")]
