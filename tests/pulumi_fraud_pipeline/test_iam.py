"""Each fraud-pipeline handler's boto3 calls against the policy the program grants its role.

A call the role does not allow fails only in AWS (AccessDenied): failed_handler read and marked its
dead letters with PutItem only, so the DLQ never drained. The handlers' calls are read from their
source (tests/iam_calls.py); the grants from the program run under mocks. Beyond the action, each
call is judged on the resource ARN it names (from the environment the program gives the function)
and on the statements' conditions (policy_eval.py), and so are the calls Lambda itself makes with
the role: the event source mapping's polling, SNS's use of the topic key for the publisher.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lambda_src.build import ROOT, function_dir, functions
from pulumi_offline import ACCOUNT, archive_path
from tests.iam_calls import missing_actions, required_actions
from tests.pulumi_fraud_pipeline.policy_eval import Request, allows

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


# --- by action, resource ARN and condition ---------------------------------------------------

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


@pytest.mark.parametrize("function", OUR_FUNCTIONS, ids=lambda f: f.name)
def test_the_role_allows_each_call_on_the_resource_it_names(function, fraud):
    """Fix: judged by action AND resource ARN AND condition, not by action alone: a grant of Query on
    the table instead of its index, or of Publish on the other topic, passed the action-only test
    and fails in AWS."""
    statements = role_statements(fraud, deployed_function(fraud, function.name))
    denied = [
        (r.action, r.resource) for r in code_requests(fraud, function.name) if not allows(statements, r)
    ]
    assert denied == []


@pytest.mark.parametrize("function", OUR_FUNCTIONS, ids=lambda f: f.name)
def test_the_role_allows_what_lambda_does_with_it(function, fraud):
    """Fix: the consumers' roles allow sqs:ReceiveMessage, DeleteMessage and GetQueueAttributes on
    their mapping's queue (without them CreateEventSourceMapping fails), and every publisher's role
    the topic key's GenerateDataKey and Decrypt (SNS refuses the publish without them)."""
    statements = role_statements(fraud, deployed_function(fraud, function.name))
    requests = lambda_requests(fraud, function.name)
    assert requests or function.name == "validator"
    assert [(r.action, r.resource) for r in requests if not allows(statements, r)] == []


def test_the_detector_reads_its_index_and_alerts_on_the_fraud_topic_only(fraud):
    """The detector's wiring and least privilege: the index it queries is the table's merchant GSI,
    the topic it publishes to is the fraud topic, and its role can neither query the table itself
    nor publish to the ops topic, nor poll the DLQ."""
    detector = deployed_function(fraud, "fraud_detector")
    env, role, region = (
        detector["inputs"]["environment"]["variables"],
        detector["inputs"]["role"],
        fraud.region(detector),
    )
    table = fraud.named("aws:dynamodb/table:Table", "data-transactions")["inputs"]
    assert env["TRANSACTIONS_TABLE"] == table["name"]
    assert [i["name"] for i in table["globalSecondaryIndexes"]] == [env["MERCHANT_INDEX"]]
    assert env["FRAUD_TOPIC_ARN"] == fraud.outputs["fraud_topic_arn"] != fraud.outputs["ops_topic_arn"]
    statements = role_statements(fraud, detector)
    refused = [
        Request("dynamodb:Query", table_arn(region, table["name"]), role),
        Request("sns:Publish", fraud.outputs["ops_topic_arn"], role),
        *(Request(action, queue_arn(region, fraud.outputs["dlq_name"]), role) for action in CONSUMER_ACTIONS),
    ]
    assert [(r.action, r.resource) for r in refused if allows(statements, r)] == []
