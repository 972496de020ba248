"""The failover path end to end, offline: the composite alarm's state-change event goes through
EventBridge (moto, with the rule's pattern as the stack declares it) to the real failover handler,
configured with the environment the stack gives it; RDS behind botocore's Stubber (moto has no
failover_global_cluster), SNS in moto. Each hop uses what resources.json says, not a constant."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from lambda_src.pulumi_trading_dr.failover import index as failover
from tests.lambda_src.conftest import LambdaContext

EVENT = Path(__file__).parents[1] / "lambda_src" / "events" / "trading_dr_composite_alarm_state_change.json"
SECONDARY = "us-west-2"


@pytest.fixture
def wiring(dr):
    """What the stack declares along the path."""
    (composite,) = dr.of_type("aws:cloudwatch/compositeAlarm:CompositeAlarm")
    rule = dr.named("aws:cloudwatch/eventRule:EventRule", "failover-on-alarm")
    function = dr.named("aws:lambda/function:Function", "failover-function")
    clusters = {dr.region(c): c for c in dr.of_type("aws:rds/cluster:Cluster")}
    name = composite["inputs"]["alarmName"]
    return {
        "alarm_name": name,
        "alarm_arn": f"arn:aws:cloudwatch:{dr.region(composite)}:123456789012:alarm:{name}",
        "pattern": rule["inputs"]["eventPattern"],
        "rule": rule,
        "function": function,
        "env": function["inputs"]["environment"]["variables"],
        "cluster_arns": {
            region: f"arn:aws:rds:{region}:123456789012:cluster:{c['inputs']['clusterIdentifier']}"
            for region, c in clusters.items()
        },
    }


def alarm_event(wiring, state="ALARM"):
    event = json.loads(EVENT.read_text())
    event["resources"] = [wiring["alarm_arn"]]
    event["detail"]["alarmName"] = wiring["alarm_name"]
    event["detail"]["state"]["value"] = state
    return event


def route_through_eventbridge(pattern, event):
    """Put the event on moto's default bus with the stack's rule and a queue as target; return what
    the rule delivered (the event as a target receives it), or None."""
    events = boto3.client("events", region_name=SECONDARY)
    sqs = boto3.client("sqs", region_name=SECONDARY)
    queue = sqs.create_queue(QueueName="rule-target")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name="failover-on-alarm", EventPattern=pattern, State="ENABLED")
    events.put_targets(Rule="failover-on-alarm", Targets=[{"Id": "failover", "Arn": queue_arn}])
    events.put_events(
        Entries=[
            {
                "Source": event["source"],
                "DetailType": event["detail-type"],
                "Detail": json.dumps(event["detail"]),
                "Resources": event["resources"],
            }
        ]
    )
    messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0).get("Messages", [])
    return json.loads(messages[0]["Body"]) if messages else None


@mock_aws
def test_only_the_composite_alarm_entering_alarm_reaches_the_function(wiring):
    assert route_through_eventbridge(wiring["pattern"], alarm_event(wiring)) is not None
    for state in ("OK", "INSUFFICIENT_DATA"):
        assert route_through_eventbridge(wiring["pattern"], alarm_event(wiring, state)) is None
    other = alarm_event(wiring)
    other["resources"] = [wiring["alarm_arn"].replace(wiring["alarm_name"], "someone-elses-alarm")]
    assert route_through_eventbridge(wiring["pattern"], other) is None


def test_the_rule_targets_the_failover_function_which_it_may_invoke(dr, wiring):
    (target,) = dr.of_type("aws:cloudwatch/eventTarget:EventTarget")
    function_name = wiring["function"]["inputs"]["name"]
    assert target["inputs"]["arn"].endswith(f":function:{function_name}")
    assert target["inputs"]["rule"] == wiring["rule"]["inputs"]["name"]
    (permission,) = [
        p for p in dr.of_type("aws:lambda/permission:Permission") if p["inputs"]["function"] == function_name
    ]
    assert permission["inputs"]["principal"] == "events.amazonaws.com"
    assert permission["inputs"]["sourceArn"].endswith(f":rule/{wiring['rule']['inputs']['name']}")
    assert wiring["env"]["COMPOSITE_ALARM_NAME"] == wiring["alarm_name"]


@mock_aws
def test_an_alarm_state_event_fails_over_to_the_secondary_cluster_and_says_so(dr, wiring, monkeypatch):
    """The delivered event, the handler with the stack's environment: describe, then
    failover_global_cluster to the secondary cluster with AllowDataLoss; a message on the secondary topic."""
    delivered = route_through_eventbridge(wiring["pattern"], alarm_event(wiring))
    env = wiring["env"]
    sns = boto3.client("sns", region_name=SECONDARY)
    sqs = boto3.client("sqs", region_name=SECONDARY)
    topic_name = env["TOPIC_ARN"].rsplit(":", 1)[1]
    assert sns.create_topic(Name=topic_name)["TopicArn"] == env["TOPIC_ARN"]
    inbox = sqs.create_queue(QueueName="oncall")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=env["TOPIC_ARN"], Protocol="sqs", Endpoint=inbox_arn)

    primary, secondary = wiring["cluster_arns"]["us-east-1"], wiring["cluster_arns"][SECONDARY]
    assert env["TARGET_CLUSTER_ARN"] == secondary
    rds = boto3.client("rds", region_name=SECONDARY, config=failover.RDS_CONFIG)
    members = [
        {"DBClusterArn": primary, "IsWriter": True, "Readers": [secondary]},
        {"DBClusterArn": secondary, "IsWriter": False, "Readers": []},
    ]
    cluster = {"GlobalClusterIdentifier": env["GLOBAL_CLUSTER_ID"], "GlobalClusterMembers": members}
    stub = Stubber(rds)
    stub.add_response(
        "describe_global_clusters",
        {"GlobalClusters": [cluster]},
        {"GlobalClusterIdentifier": env["GLOBAL_CLUSTER_ID"]},
    )
    stub.add_response(
        "failover_global_cluster",
        {"GlobalCluster": {**cluster, "FailoverState": {"Status": "pending", "ToDbClusterArn": secondary}}},
        {
            "GlobalClusterIdentifier": env["GLOBAL_CLUSTER_ID"],
            "TargetDbClusterIdentifier": secondary,
            "AllowDataLoss": True,
        },
    )
    settings = failover.Settings.from_env(env)
    monkeypatch.setattr(failover, "_deps", failover.Dependencies(rds=rds, sns=sns, settings=settings))
    with stub:
        result = failover.handler(delivered, LambdaContext())
    stub.assert_no_pending_responses()
    assert result["action"] == "initiated"
    (message,) = sqs.receive_message(QueueUrl=inbox).get("Messages", [])
    assert secondary in json.loads(message["Body"])["Message"]
