"""Each fraud-pipeline handler's boto3 calls against the policy the program grants its role.

A call the role does not allow fails only in AWS (AccessDenied): failed_handler read and marked its
dead letters with PutItem only, so the DLQ never drained. The handlers' calls are read from their
source (tests/iam_calls.py); the grants from the program run under mocks. Beyond the action, each
call is judged on the resource ARN it names (from the environment the program gives the function)
and on the statements' conditions (policy_eval.py), and so are the calls Lambda itself makes with
the role: the event source mapping's polling, SNS's use of the topic key for the publisher.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.iam_calls import missing_actions
from tests.pulumi_fraud_pipeline.calls import (
    CONSUMER_ACTIONS,
    FUNCTION,
    OUR_FUNCTIONS,
    code_requests,
    deployed_function,
    lambda_requests,
    queue_arn,
    role_statements,
    table_arn,
)
from tests.pulumi_fraud_pipeline.policy_eval import Request, allows


def test_every_function_of_the_stack_is_deployed(fraud):
    assert {f.name for f in OUR_FUNCTIONS} == {"validator", "fraud_detector", "failed_handler"}
    assert len(fraud.of_type(FUNCTION)) == len(OUR_FUNCTIONS)


@pytest.mark.parametrize("function", OUR_FUNCTIONS, ids=lambda f: f.name)
def test_the_role_allows_every_call_the_handler_makes(function, fraud):
    statements = role_statements(fraud, deployed_function(fraud, function.name))
    assert missing_actions(Path(function.source), statements) == set()


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
