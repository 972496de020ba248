"""The gate on moto (both regions' queues, the order processor's event source mapping, SNS) with
RDS behind botocore's Stubber (moto has no global-cluster failover states): order processing
follows the writer, and a standby's queued orders move to the writer's queue, once each."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from lambda_src.pulumi_trading_dr.gate import index as gate
from tests.iam.requests import required_actions

ACCOUNT = "123456789012"
PRIMARY_REGION, SECONDARY_REGION = "us-east-1", "us-west-2"
GLOBAL_ID = "trading-db-dev"
CLUSTERS = {
    PRIMARY_REGION: f"arn:aws:rds:{PRIMARY_REGION}:{ACCOUNT}:cluster:trading-db-dev-primary",
    SECONDARY_REGION: f"arn:aws:rds:{SECONDARY_REGION}:{ACCOUNT}:cluster:trading-db-dev-secondary",
}
ORDER = {"order_id": "ord-1", "account_id": "acct-1", "symbol": "BRK.B", "side": "BUY", "quantity": 1}


def describe(writer_region, failover_state=None):
    cluster = {
        "GlobalClusterIdentifier": GLOBAL_ID,
        "GlobalClusterMembers": [
            {"DBClusterArn": arn, "IsWriter": region == writer_region} for region, arn in CLUSTERS.items()
        ],
    }
    if failover_state:
        cluster["FailoverState"] = {"Status": failover_state, "ToDbClusterArn": CLUSTERS[SECONDARY_REGION]}
    return {"GlobalClusters": [cluster]}


class Regions:
    """Both regions as the stack makes them: an orders queue and the processor's mapping in each
    (enabled in the primary, disabled in the secondary, as created), a topic."""

    def __init__(self):
        self.sqs = {r: boto3.client("sqs", region_name=r) for r in (PRIMARY_REGION, SECONDARY_REGION)}
        self.queues = {
            r: self.sqs[r].create_queue(
                QueueName=f"trading-orders-dev-{'primary' if r == PRIMARY_REGION else 'secondary'}",
                Attributes={"VisibilityTimeout": "1800"},
            )["QueueUrl"]
            for r in self.sqs
        }
        self.mappings = {r: self._mapping(r, enabled=r == PRIMARY_REGION) for r in self.sqs}
        sns = boto3.client("sns", region_name=SECONDARY_REGION)
        self.topic = sns.create_topic(Name="trading-ops-dev")["TopicArn"]
        inbox = self.sqs[SECONDARY_REGION].create_queue(QueueName="oncall")["QueueUrl"]
        self.inbox = inbox
        inbox_arn = self.sqs[SECONDARY_REGION].get_queue_attributes(
            QueueUrl=inbox, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=self.topic, Protocol="sqs", Endpoint=inbox_arn)

    def _mapping(self, region, enabled):
        iam = boto3.client("iam", region_name=region)
        role = iam.create_role(RoleName=f"processor-{region}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as archive:
            archive.writestr("index.py", "def handler(event, context):\n    raise RuntimeError('not here')\n")
        client = boto3.client("lambda", region_name=region)
        client.create_function(
            FunctionName="trading-order-processor-dev",
            Runtime="python3.12",
            Role=role,
            Handler="index.handler",
            Code={"ZipFile": code.getvalue()},
        )
        # The mapping reads a stand-in queue: moto would otherwise run the (dummy) processor on every
        # order the tests put in the orders queue. The gate reads and sets the mapping's state only.
        stand_in = self.sqs[region].create_queue(QueueName="stand-in")["QueueUrl"]
        arn = self.sqs[region].get_queue_attributes(QueueUrl=stand_in, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        return client.create_event_source_mapping(
            EventSourceArn=arn, FunctionName="trading-order-processor-dev", Enabled=enabled, BatchSize=10
        )["UUID"]

    def deps(self, region, rds, forward_visibility=60):
        other = SECONDARY_REGION if region == PRIMARY_REGION else PRIMARY_REGION
        return gate.Dependencies(
            rds=rds,
            lambda_=boto3.client("lambda", region_name=region),
            sqs=self.sqs[region],
            other_sqs=self.sqs[other],
            sns=boto3.client("sns", region_name=SECONDARY_REGION),
            settings=gate.Settings(
                global_cluster_id=GLOBAL_ID,
                cluster_arn=CLUSTERS[region],
                mapping_uuid=self.mappings[region],
                queue_url=self.queues[region],
                other_queue_url=self.queues[other],
                topic_arn=self.topic,
                region=region,
                environment="dev",
                forward_visibility_seconds=forward_visibility,
            ),
        )

    def state(self, region):
        return boto3.client("lambda", region_name=region).get_event_source_mapping(
            UUID=self.mappings[region]
        )["State"]

    def send(self, region, *orders):
        for order in orders:
            self.sqs[region].send_message(QueueUrl=self.queues[region], MessageBody=json.dumps(order))

    def drain(self, region):
        """Every message now visible in a region's queue (body, attributes, receive count); they stay
        invisible for the rest of the test."""
        found = []
        while True:
            messages = self.sqs[region].receive_message(
                QueueUrl=self.queues[region],
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                AttributeNames=["ApproximateReceiveCount"],
                VisibilityTimeout=600,
            )
            if not messages.get("Messages"):
                return found
            found += messages["Messages"]

    def notifications(self):
        messages = self.sqs[SECONDARY_REGION].receive_message(QueueUrl=self.inbox, MaxNumberOfMessages=10)
        return [json.loads(json.loads(m["Body"])["Message"]) for m in messages.get("Messages", [])]


@pytest.fixture
def regions(aws):
    return Regions()


def run_gate(regions, region, response, forward_visibility=60, remaining_ms=lambda: 50_000):
    rds = boto3.client("rds", region_name=region)
    with Stubber(rds) as stub:
        stub.add_response("describe_global_clusters", response, {"GlobalClusterIdentifier": GLOBAL_ID})
        result = gate.run(regions.deps(region, rds, forward_visibility), remaining_ms)
        stub.assert_no_pending_responses()
    return result


def test_steady_state_changes_nothing(regions):
    for region in (PRIMARY_REGION, SECONDARY_REGION):
        result = run_gate(regions, region, describe(PRIMARY_REGION))
        assert result["change"] is None
    assert (regions.state(PRIMARY_REGION), regions.state(SECONDARY_REGION)) == ("Enabled", "Disabled")
    assert regions.notifications() == []


def test_a_standbys_orders_move_to_the_writers_queue_once_each(regions):
    """Orders a client posted to the standby's API (its DNS had not moved) are processed by the
    writer, now: not after a visibility timeout, not never."""
    orders = [{**ORDER, "order_id": f"ord-{n}"} for n in range(12)]
    regions.send(SECONDARY_REGION, *orders)
    result = run_gate(regions, SECONDARY_REGION, describe(PRIMARY_REGION))
    assert result["forwarding"] == {"forwarded": 12, "failed": 0}
    assert regions.drain(SECONDARY_REGION) == []
    moved = regions.drain(PRIMARY_REGION)
    assert sorted(json.loads(m["Body"])["order_id"] for m in moved) == sorted(o["order_id"] for o in orders)
    assert {m["MessageAttributes"]["forwarded-from"]["StringValue"] for m in moved} == {SECONDARY_REGION}


def test_after_a_failover_processing_moves_to_the_new_writer_and_the_old_queue_follows(regions):
    """The secondary's gate turns its processor on; the old primary's gate (its region back) turns
    its own off and forwards what its queue held when the region was lost."""
    regions.send(PRIMARY_REGION, ORDER)  # accepted by the primary just before it was lost
    result = run_gate(regions, SECONDARY_REGION, describe(SECONDARY_REGION))
    assert result["runs"] is True and result["change"].startswith("order processing enabled in us-west-2")
    assert regions.state(SECONDARY_REGION) == "Enabled"
    result = run_gate(regions, PRIMARY_REGION, describe(SECONDARY_REGION))
    assert result["change"].startswith("order processing disabled in us-east-1")
    assert regions.state(PRIMARY_REGION) == "Disabled"
    assert result["forwarding"] == {"forwarded": 1, "failed": 0}
    (moved,) = regions.drain(SECONDARY_REGION)
    assert json.loads(moved["Body"]) == ORDER
    summaries = sorted(n["summary"] for n in regions.notifications())
    assert summaries == [
        "order processing disabled in us-east-1 (was Enabled)",
        "order processing enabled in us-west-2 (was Disabled)",
    ]


@pytest.mark.parametrize("status", ["pending", "failing-over", "switching-over"])
def test_nobody_processes_or_forwards_while_the_writer_is_switching(regions, status):
    regions.send(SECONDARY_REGION, ORDER)
    for region in (PRIMARY_REGION, SECONDARY_REGION):
        result = run_gate(regions, region, describe(PRIMARY_REGION, status))
        assert result["runs"] is False and "forwarding" not in result
    assert (regions.state(PRIMARY_REGION), regions.state(SECONDARY_REGION)) == ("Disabled", "Disabled")
    assert len(regions.drain(SECONDARY_REGION)) == 1  # still here, for whoever writes next


def test_when_the_writers_queue_does_not_answer_nothing_is_received(regions, monkeypatch):
    """The primary region is down: the standby's orders stay, and no receive counts towards the
    dead-letter redrive (the gate probes the writer's queue before it receives anything)."""
    regions.send(SECONDARY_REGION, ORDER)

    def down(**kwargs):
        raise ConnectionError("us-east-1 does not answer")

    monkeypatch.setattr(regions.sqs[PRIMARY_REGION], "get_queue_attributes", down)
    result = run_gate(regions, SECONDARY_REGION, describe(PRIMARY_REGION))
    assert result["forwarding"]["skipped"].startswith("ConnectionError")
    (waiting,) = regions.drain(SECONDARY_REGION)
    assert waiting["Attributes"]["ApproximateReceiveCount"] == "1"  # this drain's receive only


def test_a_send_that_fails_leaves_the_order_to_come_back(regions, monkeypatch, sqs_clock):
    regions.send(SECONDARY_REGION, ORDER)
    real_send = regions.sqs[PRIMARY_REGION].send_message

    def failing(**kwargs):
        raise ConnectionError("reset by peer")

    monkeypatch.setattr(regions.sqs[PRIMARY_REGION], "send_message", failing)
    result = run_gate(regions, SECONDARY_REGION, describe(PRIMARY_REGION), forward_visibility=1)
    assert result["forwarding"] == {"forwarded": 0, "failed": 1}
    assert regions.drain(PRIMARY_REGION) == []
    sqs_clock.advance(1.2)  # the forward visibility, not the queue's 1800 s
    monkeypatch.setattr(regions.sqs[PRIMARY_REGION], "send_message", real_send)
    result = run_gate(regions, SECONDARY_REGION, describe(PRIMARY_REGION), forward_visibility=1)
    assert result["forwarding"] == {"forwarded": 1, "failed": 0}
    assert len(regions.drain(PRIMARY_REGION)) == 1


def test_forwarding_stops_before_the_invocation_ends(regions):
    regions.send(SECONDARY_REGION, ORDER)
    result = run_gate(regions, SECONDARY_REGION, describe(PRIMARY_REGION), remaining_ms=lambda: 5_000)
    assert result["forwarding"] == {"forwarded": 0, "failed": 0}
    assert len(regions.drain(SECONDARY_REGION)) == 1


def test_when_rds_does_not_answer_nothing_changes(regions):
    """Fail static: a gate that cannot tell who writes leaves processing as it is."""
    rds = boto3.client("rds", region_name=SECONDARY_REGION)
    with Stubber(rds) as stub:
        stub.add_client_error(
            "describe_global_clusters", service_error_code="Throttling", http_status_code=400
        )
        with pytest.raises(Exception, match="Throttling"):
            gate.run(regions.deps(SECONDARY_REGION, rds), lambda: 50_000)
    assert (regions.state(PRIMARY_REGION), regions.state(SECONDARY_REGION)) == ("Enabled", "Disabled")


@pytest.mark.parametrize(
    "event",
    [{}, {"source": "trading-dr.drill", "detail-type": "Scheduled Event"}, [], "run"],
    ids=["empty", "another-source", "a-list", "a-string"],
)
def test_the_gate_runs_on_its_schedule_only(event):
    with pytest.raises(gate.InvalidEvent, match="schedule"):
        gate.check_event(event)
    gate.check_event({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}})


def test_the_function_calls_only_what_its_role_grants():
    assert required_actions(Path(gate.__file__).parent) == {
        "rds:DescribeGlobalClusters",
        "lambda:GetEventSourceMapping",
        "lambda:UpdateEventSourceMapping",
        "sqs:GetQueueAttributes",
        "sqs:ReceiveMessage",
        "sqs:SendMessage",
        "sqs:DeleteMessage",
        "sns:Publish",
    }
