"""Each fraud-pipeline function's requests against what AWS would decide on the program's policies.

A request the role does not allow fails only in AWS (AccessDenied): failed_handler read and
marked its dead letters with PutItem only, so the DLQ never drained. Each request is judged by
action AND resource ARN AND condition (tests/iam): the calls its code makes (read from its
source, on the resources its environment names), the polling of its event source mapping, its
X-Ray segments, and SNS's use of the topic key on its behalf; on its role's policies, the
resource's policy and the key's policy.
"""

from __future__ import annotations

import pytest

from lambda_src.build import functions
from tests.iam.mutations import changed, edited_code, on_resource, without
from tests.iam.reader import Env
from tests.iam.requests import calls, refused

STACK = "pulumi_fraud_pipeline"
OURS = [f for f in functions() if f.stack == STACK]
CONSUMER_ACTIONS = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}


def test_every_function_of_the_stack_is_deployed_once(fraud_deployment):
    assert sorted(f.source.name for f in fraud_deployment.functions) == sorted(f.name for f in OURS)
    assert {f.name for f in OURS} == {"validator", "fraud_detector", "failed_handler"}


@pytest.mark.parametrize("function", OURS, ids=lambda f: f.name)
def test_aws_allows_every_request_of_the_function(function, fraud_deployment):
    """Fix: judged by action, resource ARN and condition, code calls and what Lambda and SNS do
    with the role alike: Query on the merchant index, Publish on its own topic with the topic
    key's GenerateDataKey and Decrypt via SNS, the mapping's ReceiveMessage, DeleteMessage and
    GetQueueAttributes on its queue (CreateEventSourceMapping fails without them)."""
    (deployed,) = fraud_deployment.deployed(function.name)
    assert refused(deployed, fraud_deployment) == []


def refusals(deployment, function) -> set[tuple[str, str]]:
    return {(r.action, r.resource.rsplit(":", 1)[-1]) for r in refused(function, deployment)}


def test_the_detector_querying_the_table_instead_of_its_index_is_refused(fraud_deployment, tmp_path):
    """The role allows Query on the merchant index only: code that queries the table (no
    IndexName) is refused in AWS, and here."""
    (detector,) = fraud_deployment.deployed("fraud_detector")
    copy = edited_code(tmp_path, detector, "common/fraud.py", '"IndexName": index_name,', "")
    deployment, detector = changed(fraud_deployment, detector.name, lambda f: setattr(f, "source", copy))
    assert refusals(deployment, detector) == {("dynamodb:Query", "table/fraud-transactions-dev")}


def test_the_detector_publishing_to_the_other_topic_is_refused(fraud_deployment, fraud):
    """An environment that points the detector at the ops topic: its Publish is refused."""
    ops = fraud.outputs["ops_topic_arn"]
    deployment, detector = changed(
        fraud_deployment, "fraud-fraud-detector-dev", lambda f: f.environment.update(FRAUD_TOPIC_ARN=ops)
    )
    assert refusals(deployment, detector) == {("sns:Publish", "fraud-ops-dev")}


def test_the_detector_without_its_kms_permissions_is_refused(fraud_deployment):
    """The fraud topic is SSE-KMS: without GenerateDataKey and Decrypt on its key, SNS refuses
    the detector's Publish."""
    deployment, detector = changed(
        fraud_deployment, "fraud-fraud-detector-dev", without({"kms:GenerateDataKey", "kms:Decrypt"})
    )
    assert {a for a, _ in refusals(deployment, detector)} == {"kms:GenerateDataKey", "kms:Decrypt"}


@pytest.mark.parametrize("action", sorted(CONSUMER_ACTIONS))
def test_the_detector_without_a_consumer_action_is_refused(fraud_deployment, action):
    """Each of ReceiveMessage, DeleteMessage and GetQueueAttributes on the mapping's queue is
    needed (CreateEventSourceMapping checks them) though no code calls it."""
    deployment, detector = changed(fraud_deployment, "fraud-fraud-detector-dev", without({action}))
    assert refusals(deployment, detector) == {(action, "fraud-transactions-dev")}


def test_a_grant_on_the_wrong_table_is_refused(fraud_deployment):
    deployment, validator = changed(
        fraud_deployment,
        "fraud-validator-dev",
        on_resource(
            "dynamodb:PutItem", "arn:aws:dynamodb:us-east-2:123456789012:table/fraud-dead-letters-dev"
        ),
    )
    assert {a for a, _ in refusals(deployment, validator)} == {
        "dynamodb:PutItem",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
    }


def test_the_reader_sees_the_detectors_calls_on_their_resources():
    """The check is only as good as the reader: the detector's calls, each with its resource."""
    (detector,) = [f for f in OURS if f.name == "fraud_detector"]
    found = {(c.service, c.operation): c.params for c in calls(detector.source)}
    assert set(found) == {
        ("dynamodb", "Query"),
        ("dynamodb", "GetItem"),
        ("dynamodb", "UpdateItem"),
        ("sns", "Publish"),
    }
    assert found[("dynamodb", "Query")]["IndexName"] == {Env("MERCHANT_INDEX")}
    assert found[("dynamodb", "Query")]["TableName"] == {Env("TRANSACTIONS_TABLE")}
    assert found[("sns", "Publish")]["TopicArn"] == {Env("FRAUD_TOPIC_ARN")}
