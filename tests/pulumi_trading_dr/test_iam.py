"""Each trading-DR function's requests against what AWS would decide on the program's policies,
in every region it is deployed to.

Each request is judged by action, resource ARN and condition (tests/iam): the calls its code
makes on the resources its environment, its event source mapping and its rotation name, in the
region of the client that makes them (the gate's other-region queue, the failover's old writer),
its X-Ray segments, and what SNS and Secrets Manager do with the region's key on its behalf.
"""

from __future__ import annotations

import pytest

from lambda_src.build import functions
from pulumi_offline import archive_path
from tests.iam.mutations import changed, on_resource, without
from tests.iam.reader import Env, Event
from tests.iam.requests import calls, refused, required_actions

STACK = "pulumi_trading_dr"
OURS = [f for f in functions() if f.stack == STACK]
# One package deployed twice (the failover folder): what each deployment's role must NOT grant,
# because its code refuses that call in that deployment (ALLOW_DATA_LOSS) or never makes it there.
NOT_GRANTED = {
    # The orchestrator: whoever may invoke it (drills) must not be able to fail over with data loss.
    "trading-failover-dev-secondary": {"rds:FailoverGlobalCluster"},
}


def test_every_function_of_the_stack_is_deployed(dr, dr_deployment):
    deployed = {
        archive_path(f["inputs"]["code"]).rsplit("/", 1)[1]
        for f in dr.of_type("aws:lambda/function:Function")
    }
    assert deployed == {f.source.name for f in dr_deployment.functions} == {f.name for f in OURS}
    assert {f.name for f in OURS} == {
        "order_processor",
        "failover",
        "health",
        "gate",
        "reconcile",
        "authorizer",
        "migrate",
        "rotation",
    }


@pytest.mark.parametrize("function", OURS, ids=lambda f: f.name)
def test_aws_allows_every_request_each_deployment_makes(dr_deployment, function):
    """Fix: each deployment's requests are allowed by action, resource ARN and condition, except
    what its own code refuses there (NOT_GRANTED), which its role must not allow either."""
    deployed = dr_deployment.deployed(function.name)
    assert deployed
    for each in deployed:
        refusals = refused(each, dr_deployment)
        assert {r.action for r in refusals} == NOT_GRANTED.get(each.name, set()), [str(r) for r in refusals]
        assert {r.action for r in refusals} <= required_actions(function.source)


def refusals(deployment, function):
    return {(r.action, r.resource.rsplit(":", 1)[-1]) for r in refused(function, deployment)}


def test_the_order_processor_reading_the_wrong_secret_is_refused(dr_deployment):
    """trading-dr-13: GetSecretValue granted on the master secret instead of the application
    role's: the processor's read of its secret is refused."""
    processor = dr_deployment.function("trading-order-processor-dev-primary")
    master = dr_deployment.secrets["trading-db-master-dev"]
    copy, processor = changed(
        dr_deployment, processor.name, on_resource("secretsmanager:GetSecretValue", master)
    )
    assert refusals(copy, processor) == {("secretsmanager:GetSecretValue", "trading-db-app-dev-AbCdEf")}


def test_the_gate_needs_the_other_regions_queue_in_that_region(dr_deployment):
    """The gate forwards to the other region's queue: a grant on its own region's queue name
    does not reach it."""
    gate = dr_deployment.function("trading-gate-dev-primary")
    own = "arn:aws:sqs:us-east-1:123456789012:trading-orders-dev-secondary"
    copy, gate = changed(dr_deployment, gate.name, on_resource("sqs:SendMessage", own))
    assert ("sqs:SendMessage", "trading-orders-dev-secondary") in refusals(copy, gate)


def test_the_rotation_without_the_secret_key_is_refused(dr_deployment):
    """The master secret is encrypted with the primary key: without Decrypt and GenerateDataKey
    via Secrets Manager the rotation cannot read or stage a password."""
    rotation = dr_deployment.function("trading-rotation-dev-primary")
    copy, rotation = changed(dr_deployment, rotation.name, without({"kms:Decrypt", "kms:GenerateDataKey"}))
    assert {a for a, _ in refusals(copy, rotation)} == {"kms:Decrypt", "kms:GenerateDataKey"}


def test_the_processor_without_its_mapping_actions_is_refused(dr_deployment):
    processor = dr_deployment.function("trading-order-processor-dev-secondary")
    copy, processor = changed(dr_deployment, processor.name, without({"sqs:GetQueueAttributes"}))
    assert refusals(copy, processor) == {("sqs:GetQueueAttributes", "trading-orders-dev-secondary")}


def test_the_reader_sees_the_calls_with_their_resources():
    found = {f.name: {(c.service, c.operation): c for c in calls(f.source)} for f in OURS}
    gate = found["gate"]
    assert gate[("sqs", "SendMessage")].params["QueueUrl"] == {Env("OTHER_QUEUE_URL")}
    assert gate[("sqs", "ReceiveMessage")].params["QueueUrl"] == {Env("QUEUE_URL")}
    assert gate[("lambda", "UpdateEventSourceMapping")].params["UUID"] == {Env("MAPPING_UUID")}
    failover = found["failover"]
    assert failover[("rds", "FailoverGlobalCluster")].params["TargetDbClusterIdentifier"] == {
        Env("TARGET_CLUSTER_ARN")
    }
    assert failover[("rds", "DescribeDBClusters")].params["DBClusterIdentifier"] == {
        Env("OLD_WRITER_CLUSTER_ARN")
    }
    assert found["rotation"][("secretsmanager", "PutSecretValue")].params["SecretId"] == {
        Event("event.SecretId")
    }
    assert found["migrate"][("secretsmanager", "GetSecretValue")].params["SecretId"] == {
        Env("MASTER_SECRET_ARN"),
        Env("APP_SECRET_ARN"),
    }
    assert set(found["authorizer"]) == set()
