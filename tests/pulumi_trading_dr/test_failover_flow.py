"""The failover paths end to end, offline: a composite alarm's state-change event goes through
EventBridge (moto, with the rule's pattern as the stack declares it) to the real failover handler,
configured with the environment the stack gives it; RDS behind botocore's Stubber (moto has no
failover_global_cluster), SNS in moto. Each hop uses what resources.json says, not a constant.

Two paths: the quorum alarm -> the promote function (failoverMode automatic), and the
primary-failing alarm -> the orchestrator (prepares, always)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from lambda_src.pulumi_trading_dr.failover import index as failover
from tests.lambda_src.conftest import LambdaContext

EVENT = Path(__file__).parents[1] / "lambda_src" / "events" / "trading_dr_composite_alarm_state_change.json"
SECONDARY = "us-west-2"


def wiring_of(export, composite_name, rule_name, function_name):
    """What the stack declares along one path: alarm -> rule -> function -> clusters."""
    composite = export.named("aws:cloudwatch/compositeAlarm:CompositeAlarm", composite_name)
    rule = export.named("aws:cloudwatch/eventRule:EventRule", rule_name)
    function = export.named("aws:lambda/function:Function", function_name)
    clusters = {export.region(c): c for c in export.of_type("aws:rds/cluster:Cluster")}
    name = composite["inputs"]["alarmName"]
    return {
        "alarm_name": name,
        "alarm_arn": f"arn:aws:cloudwatch:{export.region(composite)}:123456789012:alarm:{name}",
        "pattern": rule["inputs"]["eventPattern"],
        "rule": rule,
        "function": function,
        "env": function["inputs"]["environment"]["variables"],
        "cluster_arns": {
            region: f"arn:aws:rds:{region}:123456789012:cluster:{c['inputs']['clusterIdentifier']}"
            for region, c in clusters.items()
        },
    }


@pytest.fixture
def quorum(dr_automatic):
    """failoverMode=automatic: the quorum alarm -> its rule -> the promote function."""
    return wiring_of(
        dr_automatic.export, "monitoring-failover", "failover-promote-on-alarm", "failover-promote"
    )


@pytest.fixture
def paging(dr):
    return wiring_of(dr, "monitoring-primary-failing", "failover-on-alarm", "failover-function")


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
@pytest.mark.parametrize("path", ["quorum", "paging"])
def test_only_its_composite_alarm_entering_alarm_reaches_each_function(path, request):
    wiring = request.getfixturevalue(path)
    assert route_through_eventbridge(wiring["pattern"], alarm_event(wiring)) is not None
    for state in ("OK", "INSUFFICIENT_DATA"):
        assert route_through_eventbridge(wiring["pattern"], alarm_event(wiring, state)) is None
    other = alarm_event(wiring)
    other["resources"] = [wiring["alarm_arn"].replace(wiring["alarm_name"], "someone-elses-alarm")]
    assert route_through_eventbridge(wiring["pattern"], other) is None


@pytest.mark.parametrize(("path", "export"), [("quorum", "dr_automatic"), ("paging", "dr")])
def test_each_rule_targets_its_function_which_it_may_invoke(path, export, request):
    wiring = request.getfixturevalue(path)
    export = request.getfixturevalue(export)
    export = getattr(export, "export", export)
    function_name = wiring["function"]["inputs"]["name"]
    (target,) = [
        t
        for t in export.of_type("aws:cloudwatch/eventTarget:EventTarget")
        if t["inputs"]["rule"] == wiring["rule"]["inputs"]["name"]
    ]
    assert target["inputs"]["arn"].endswith(f":function:{function_name}")
    (permission,) = [
        p
        for p in export.of_type("aws:lambda/permission:Permission")
        if p["inputs"]["function"] == function_name
    ]
    assert permission["inputs"]["principal"] == "events.amazonaws.com"
    assert permission["inputs"]["sourceArn"].endswith(f":rule/{wiring['rule']['inputs']['name']}")
    assert wiring["env"]["ALARM_NAME"] == wiring["alarm_name"]


@mock_aws
def test_the_quorum_event_promotes_the_secondary_cluster_and_says_so(quorum, monkeypatch):
    """The delivered event, the promote function with the stack's environment: the old writer's
    region does not answer, so failover_global_cluster to the secondary with AllowDataLoss; a
    message on the secondary topic."""
    delivered = route_through_eventbridge(quorum["pattern"], alarm_event(quorum))
    env = quorum["env"]
    sns = boto3.client("sns", region_name=SECONDARY)
    sqs = boto3.client("sqs", region_name=SECONDARY)
    topic_name = env["TOPIC_ARN"].rsplit(":", 1)[1]
    assert sns.create_topic(Name=topic_name)["TopicArn"] == env["TOPIC_ARN"]
    inbox = sqs.create_queue(QueueName="oncall")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=env["TOPIC_ARN"], Protocol="sqs", Endpoint=inbox_arn)

    primary, secondary = quorum["cluster_arns"]["us-east-1"], quorum["cluster_arns"][SECONDARY]
    assert (env["TARGET_CLUSTER_ARN"], env["OLD_WRITER_CLUSTER_ARN"]) == (secondary, primary)
    rds = boto3.client("rds", region_name=SECONDARY, config=failover.RDS_CONFIG)
    old_writer_rds = boto3.client("rds", region_name="us-east-1", config=failover.OLD_WRITER_CONFIG)
    members = [
        {"DBClusterArn": primary, "IsWriter": True, "Readers": [secondary]},
        {"DBClusterArn": secondary, "IsWriter": False, "Readers": []},
    ]
    cluster = {"GlobalClusterIdentifier": env["GLOBAL_CLUSTER_ID"], "GlobalClusterMembers": members}
    stub, old_writer_stub = Stubber(rds), Stubber(old_writer_rds)
    old_writer_stub.add_client_error(
        "describe_db_clusters", service_error_code="ServiceUnavailable", http_status_code=503
    )
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
    cloudwatch = boto3.client("cloudwatch", region_name=SECONDARY)
    cloudwatch_stub = Stubber(cloudwatch)
    cloudwatch_stub.add_response(  # the quorum alarm still fires (not a stale event)
        "describe_alarms",
        {"CompositeAlarms": [{"AlarmName": quorum["alarm_name"], "StateValue": "ALARM"}]},
        {"AlarmNames": [quorum["alarm_name"]], "AlarmTypes": ["CompositeAlarm"]},
    )
    cloudwatch_stub.add_response(  # the last replication lag: within the RPO
        "get_metric_data",
        {"MetricDataResults": [{"Id": "lag", "Values": [400.0], "Timestamps": [datetime.now(UTC)]}]},
    )
    deps = failover.Dependencies(
        rds=rds,
        sns=sns,
        settings=settings,
        old_writer_rds=old_writer_rds,
        cloudwatch=cloudwatch,
        # The secondary's own health route, as the stack points the function at it: alive.
        http_get=lambda url, timeout: (
            (200, b'{"status": "standby"}') if url == env["TARGET_LIVENESS_URL"] else (404, b"")
        ),
    )
    monkeypatch.setattr(failover, "_deps", deps)
    with stub, old_writer_stub, cloudwatch_stub:
        result = failover.handler(delivered, LambdaContext())
    stub.assert_no_pending_responses()
    assert result["action"] == "initiated" and result["mode"] == "failover"
    (message,) = sqs.receive_message(QueueUrl=inbox).get("Messages", [])
    assert secondary in json.loads(message["Body"])["Message"]
