"""What deployed or updated wrongly although the program synthesized: RDS events refused by the
topic policy, a canary never redeployed, a placeholder hosted zone found mid-deploy, zones by
letter, one Aurora instance in prod; and the wiring a test must notice when it goes (health checks
per region, the Secrets Manager endpoint, delete-marker replication, the event subscriptions, the
outputs). Over the session's runs of the program under mocks (tests/conftest.py)."""

from __future__ import annotations

import hashlib

import pytest

import pulumi_offline

PRIMARY, SECONDARY = "us-east-1", "us-west-2"
REGIONS = {"primary": PRIMARY, "secondary": SECONDARY}
ACCOUNT = pulumi_offline.ACCOUNT
CLUSTER = "aws:rds/cluster:Cluster"
INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
SUBSCRIPTION = "aws:rds/eventSubscription:EventSubscription"
TOPIC = "aws:sns/topic:Topic"
CANARY = "aws:synthetics/canary:Canary"
SUBNET = "aws:ec2/subnet:Subnet"


def topic_arn(dr, region):
    (topic,) = [t for t in dr.of_type(TOPIC) if dr.region(t) == region]
    return f"arn:aws:sns:{region}:{ACCOUNT}:{topic['inputs']['name']}"


def cluster_in(dr, region):
    (cluster,) = [c for c in dr.of_type(CLUSTER) if dr.region(c) == region]
    return cluster


def as_list(value):
    return value if isinstance(value, list) else [value]


# --- RDS event subscriptions and the topic policy (trading-dr-01) ---


@pytest.mark.catalogue("trading-dr-01")
def test_each_cluster_has_an_event_subscription_to_its_regions_topic(dr):
    """Fix: an RDS event subscription per cluster (failover, failure, ...) publishing to the topic
    of the cluster's region; removing them leaves nobody told of a database failover."""
    subscriptions = {dr.region(s): s["inputs"] for s in dr.of_type(SUBSCRIPTION)}
    assert set(subscriptions) == {PRIMARY, SECONDARY}
    for region, inputs in subscriptions.items():
        assert inputs["sourceType"] == "db-cluster"
        assert inputs["sourceIds"] == [cluster_in(dr, region)["inputs"]["clusterIdentifier"]]
        assert {"failover", "failure"} <= set(inputs["eventCategories"])
        assert inputs["snsTopic"] == topic_arn(dr, region)


@pytest.mark.catalogue("trading-dr-01")
def test_topic_policy_admits_the_regions_rds_event_subscription_and_alarms(dr):
    """Fix: the topic policy (which replaces SNS's default one) admits events.rds.amazonaws.com,
    only for this account (aws:SourceAccount) and this stack's subscription (aws:SourceArn: the
    subscription's ARN, arn:aws:rds:<region>:<account>:es:<name>), beside CloudWatch; and each
    subscription depends on its topic's policy."""
    policies = {p["inputs"]["arn"]: p for p in dr.of_type("aws:sns/topicPolicy:TopicPolicy")}
    for subscription in dr.of_type(SUBSCRIPTION):
        region, inputs = dr.region(subscription), subscription["inputs"]
        policy = policies[inputs["snsTopic"]]
        assert policy["urn"] in subscription["dependencies"]
        statements = {as_list(s["Principal"]["Service"])[0]: s for s in dr.policy(policy)["Statement"]}
        assert set(statements) == {"cloudwatch.amazonaws.com", "events.rds.amazonaws.com"}
        rds = statements["events.rds.amazonaws.com"]
        assert (rds["Effect"], rds["Action"], rds["Resource"]) == ("Allow", "sns:Publish", inputs["snsTopic"])
        assert rds["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
        source_arns = as_list(rds["Condition"]["ArnEquals"]["aws:SourceArn"])
        assert f"arn:aws:rds:{region}:{ACCOUNT}:es:{inputs['name']}" in source_arns
        cluster = cluster_in(dr, region)["inputs"]["clusterIdentifier"]
        assert set(source_arns) <= {
            f"arn:aws:rds:{region}:{ACCOUNT}:es:{inputs['name']}",
            f"arn:aws:rds:{region}:{ACCOUNT}:cluster:{cluster}",
        }
        alarms = statements["cloudwatch.amazonaws.com"]
        assert alarms["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}


# --- the canary's code (trading-dr-24) ---


@pytest.mark.catalogue("trading-dr-24")
def test_canary_code_path_carries_the_zips_sha256_and_destroys_its_function(dr):
    """Fix: the zip_file the provider diffs names the sha256 of the zip's bytes (a fixed path hid
    every edit of the script), and delete_lambda so a destroy removes the canary's function."""
    from pulumi_trading_dr.offline import PROJECT_DIR

    canaries = dr.of_type(CANARY)
    assert len(canaries) == 3
    for canary in canaries:
        path = PROJECT_DIR / canary["inputs"]["zipFile"]
        assert path.name == f"health_check-{hashlib.sha256(path.read_bytes()).hexdigest()}.zip"
        assert canary["inputs"]["deleteLambda"] is True


@pytest.mark.catalogue("trading-dr-24")
def test_an_edited_canary_script_is_a_new_zip_path(tmp_path, monkeypatch):
    """Fix: changing the script changes the path the canary is given (the same script, the same path)."""
    from lambda_src import build

    monkeypatch.setattr(build, "SRC", tmp_path / "src")
    monkeypatch.setattr(build, "BUILD", tmp_path / "build")
    script = tmp_path / "src" / "stack" / "canary" / "check.py"
    script.parent.mkdir(parents=True)
    script.write_text("def handler(event, context):\n    return 1\n")
    before = build.canary_zip("stack", "check")
    assert build.canary_zip("stack", "check") == before
    script.write_text("def handler(event, context):\n    return 2\n")
    assert build.canary_zip("stack", "check") != before
    build._zip_canary(script, build.canary_zip("stack", "check"))
    written = build.canary_zip("stack", "check")
    assert written.name == f"check-{hashlib.sha256(written.read_bytes()).hexdigest()}.zip"
