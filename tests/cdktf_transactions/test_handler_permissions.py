"""Every transactions function's requests against what AWS would decide on cdk.tf.json.

Each request is judged by action, resource ARN and condition (tests/iam): the calls its code
makes on the resources its environment names, its X-Ray segments, and SNS's use of the topic key
on its behalf; on its role's inline policies, the topic's policy and the key's policy.
"""

from __future__ import annotations

import pytest

from lambda_src.build import functions
from tests.iam.deployment import from_terraform
from tests.iam.mutations import changed, on_resource, without
from tests.iam.reader import Env
from tests.iam.requests import calls, refused

OURS = [f for f in functions() if f.stack == "cdktf_transactions"]
VARIANTS = ("dev", "dev_eu", "prod")


@pytest.fixture(scope="module")
def deployments(transactions):
    return {v: from_terraform(transactions[v].json, "cdktf_transactions") for v in VARIANTS}


@pytest.mark.catalogue("transactions-05")
@pytest.mark.parametrize("function", OURS, ids=lambda f: f.name)
@pytest.mark.parametrize("variant", VARIANTS)
def test_aws_allows_every_request_of_the_function(deployments, variant, function):
    """Fix: least privilege that is still enough, judged by action, resource ARN and condition:
    Query on the customer index, Put/GetItem on the table, Publish on the notification topic with
    the topic key via SNS, in each region the stack is deployed to."""
    deployment = deployments[variant]
    (deployed,) = deployment.deployed(function.name)
    assert deployed.managed_policies == []  # inline policies only
    assert refused(deployed, deployment) == []


def refusals(deployment, function):
    return {(r.action, r.resource.rsplit(":", 1)[-1]) for r in refused(function, deployment)}


def test_a_grant_on_another_table_is_refused(deployments):
    """Settlement's grant widened to the wrong table (another environment's): its writes are refused."""
    deployment = deployments["dev"]
    (settlement,) = deployment.deployed("settlement")
    other = "arn:aws:dynamodb:us-east-1:123456789012:table/transactions-prod"
    copy, settlement = changed(deployment, settlement.name, on_resource("dynamodb:PutItem", other))
    assert refusals(copy, settlement) == {
        ("dynamodb:PutItem", "table/transactions-dev"),
        ("dynamodb:GetItem", "table/transactions-dev"),
    }


def test_the_topic_key_is_needed_to_publish(deployments):
    """The notification topic is SSE-KMS: without the key's GenerateDataKey and Decrypt SNS refuses."""
    deployment = deployments["dev"]
    (notification,) = deployment.deployed("notification")
    copy, notification = changed(
        deployment, notification.name, without({"kms:GenerateDataKey", "kms:Decrypt"})
    )
    assert {a for a, _ in refusals(copy, notification)} == {"kms:GenerateDataKey", "kms:Decrypt"}


def test_the_reader_sees_every_call_with_its_resource():
    found = {f.name: {(c.service, c.operation): c.params for c in calls(f.source)} for f in OURS}
    assert set(found["validation"]) == set()
    assert set(found["settlement"]) == {("dynamodb", "PutItem"), ("dynamodb", "GetItem")}
    assert found["settlement"][("dynamodb", "PutItem")]["TableName"] == {Env("TRANSACTIONS_TABLE")}
    assert found["fraud_check"][("dynamodb", "Query")]["IndexName"] == {Env("CUSTOMER_INDEX")}  # common.fraud
    assert found["notification"][("sns", "Publish")]["TopicArn"] == {Env("TOPIC_ARN")}
