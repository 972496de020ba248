"""What deployed or updated wrongly although the program synthesized: RDS events refused by the
topic policy, a canary never redeployed, a placeholder hosted zone found mid-deploy, zones by
letter, one Aurora instance in prod; and the wiring a test must notice when it goes (health checks
per region, the Secrets Manager endpoint, delete-marker replication, the event subscriptions, the
outputs). Over the session's runs of the program under mocks (tests/conftest.py)."""

from __future__ import annotations

import hashlib
from urllib.parse import urlparse

import pytest

import pulumi_offline
from pulumi_trading_dr.config import ConfigError

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
    assert len(canaries) == 4
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


# --- the hosted zone, read before anything is created ---


def _dev_config():
    """The dev stack's config as TradingConfig's keyword arguments (the required keys and the
    example order-token keys of Pulumi.dev.yaml)."""
    from pulumi_offline import load_stack_config
    from pulumi_trading_dr.offline import PROJECT_DIR

    values = load_stack_config(PROJECT_DIR, "dev")
    return {
        "env": "dev",
        "alert_email": "oncall@example.com",
        "hosted_zone_id": "Z0123456789EXAMPLE",
        "api_domain_name": "api.trading-dev.example.com",
        "order_token_jwks": values["trading-dr:orderTokenJwks"],
        "order_token_issuer": values["trading-dr:orderTokenIssuer"],
    }


REQUIRED = _dev_config()


class PrivateZones(pulumi_offline.FakeAws):
    def hosted_zone(self, zone_id):
        return {**super().hosted_zone(zone_id), "privateZone": True}


def check_zone(fake, **config):
    """Only the zone check, under ``fake`` (a provider and one invoke: no need to run the stack)."""
    import pulumi_aws as aws

    from pulumi_trading_dr.components.route53 import verify_public_zone
    from pulumi_trading_dr.config import TradingConfig
    from pulumi_trading_dr.offline import PROJECT_DIR

    def program():
        provider = aws.Provider("aws-primary", region=PRIMARY)
        zone = verify_public_zone(TradingConfig(**{**REQUIRED, **config}), provider)
        return {"zone": zone.name}

    document = pulumi_offline.run(PROJECT_DIR, "dev", {}, program, fake=fake)
    return document["deployment"]["resources"][0]["outputs"]["zone"]


@pytest.mark.parametrize(
    ("fake", "message"),
    [
        (pulumi_offline.FakeAws(PRIMARY, {}), "cannot be read in this account .*NoSuchHostedZone"),
        (
            PrivateZones(PRIMARY, {"Z0123456789EXAMPLE": "trading-dev.example.com"}),
            "is a private hosted zone",
        ),
        (pulumi_offline.FakeAws(PRIMARY, {"Z0123456789EXAMPLE": "example.org"}), "cannot hold apiDomainName"),
        # a suffix of the text, not a parent domain
        (
            pulumi_offline.FakeAws(PRIMARY, {"Z0123456789EXAMPLE": "dev.example.com"}),
            "cannot hold apiDomainName",
        ),
    ],
    ids=["not-found", "private", "other-name", "suffix-not-parent"],
)
def test_a_zone_that_cannot_hold_the_api_fails_before_anything_is_created(fake, message):
    """Fix: the zone is read with an invoke (route53.getZone), so `pulumi preview` stops on a zone
    that does not exist, is private, or is not a parent of apiDomainName, naming hostedZoneId."""
    with pytest.raises(ConfigError, match=rf"^hostedZoneId: Z0123456789EXAMPLE .*{message}"):
        check_zone(fake)


@pytest.mark.parametrize("name", ["trading-dev.example.com", "example.com.", "api.trading-dev.example.com"])
def test_a_public_parent_zone_or_the_name_itself_is_accepted(name):
    assert check_zone(pulumi_offline.FakeAws(PRIMARY, {"Z0123456789EXAMPLE": name})) == name


def test_the_stack_reads_the_zone_before_its_records(dr):
    """Fix: the stack itself runs the check (with the committed placeholder zone, which no account
    has, the whole program stops with the error), and the offline run answers the zone its config
    declares."""
    from pulumi_offline import load_stack_config
    from pulumi_trading_dr.offline import PROJECT_DIR, program

    config = load_stack_config(PROJECT_DIR, "dev")
    assert pulumi_offline.declared_hosted_zones(config) == {"Z0123456789EXAMPLE": "trading-dev.example.com"}
    with pytest.raises(ConfigError, match=r"^hostedZoneId: Z0123456789EXAMPLE cannot be read"):
        pulumi_offline.run(PROJECT_DIR, "dev", config, program, fake=pulumi_offline.FakeAws(PRIMARY, {}))


# --- Availability Zones by ID, from the provider ---


def test_subnets_take_zone_ids_from_each_regions_provider(dr):
    """Fix: subnets name their zone by ID (availability_zone_id), the two lowest IDs the region's
    provider reports (aws.get_availability_zones), never a letter appended to the region."""
    for region in (PRIMARY, SECONDARY):
        subnets = [s["inputs"] for s in dr.of_type(SUBNET) if dr.region(s) == region]
        assert len(subnets) == 2 and all("availabilityZone" not in s for s in subnets)
        reported = pulumi_offline.FakeAws.availability_zones(region)["zoneIds"]
        assert [s["availabilityZoneId"] for s in subnets] == sorted(reported)[:2]


def test_zones_are_chosen_by_id_and_two_are_required():
    from pulumi_trading_dr.components.network import Zone, choose_zones

    ids, names = ["use1-az3", "use1-az4", "use1-az1"], ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert choose_zones(ids, names, PRIMARY) == [
        Zone("use1-az1", "us-east-1c"),
        Zone("use1-az3", "us-east-1a"),
    ]
    with pytest.raises(ValueError, match="us-east-1: 1 available Availability Zone"):
        choose_zones(["use1-az1"], ["us-east-1a"], PRIMARY)


# --- Aurora in prod ---


def test_prod_runs_two_instances_per_cluster_in_two_zones(dr, dr_prod):
    """Fix: prod gets a writer and a reader in each cluster, each pinned to one subnet's zone, so
    Aurora can fail over inside a region; dev keeps one."""
    for export, expected in ((dr, 1), (dr_prod, 2)):
        for cluster in export.of_type(CLUSTER):
            instances = [
                i["inputs"]
                for i in export.of_type(INSTANCE)
                if i["inputs"]["clusterIdentifier"] == cluster["id"]
            ]
            assert len(instances) == expected, (cluster["urn"], len(instances))
    for region in (PRIMARY, SECONDARY):
        zones = {
            i["inputs"]["availabilityZone"] for i in dr_prod.of_type(INSTANCE) if dr_prod.region(i) == region
        }
        names = dict(
            zip(
                *(lambda z: (z["zoneIds"], z["names"]))(pulumi_offline.FakeAws.availability_zones(region)),
                strict=True,
            )
        )
        subnet_zones = {
            names[s["inputs"]["availabilityZoneId"]]
            for s in dr_prod.of_type(SUBNET)
            if dr_prod.region(s) == region
        }
        assert zones == subnet_zones and len(zones) == 2
    assert all("availabilityZone" not in i["inputs"] for i in dr.of_type(INSTANCE))


# --- wiring that a test must notice when it goes ---


@pytest.mark.catalogue("trading-dr-05")
def test_each_regions_health_check_probes_that_regions_api_and_guards_its_record(dr):
    """Fix: the health check of each region's failover record probes that region's execute-api
    host (a check aimed at the other region would keep a dead region in DNS)."""
    checks = {c["id"]: c for c in dr.of_type("aws:route53/healthCheck:HealthCheck")}
    records = {
        r["inputs"]["setIdentifier"]: r["inputs"]
        for r in dr.of_type("aws:route53/record:Record")
        if r["inputs"].get("name") == "api.trading-dev.example.com"
    }
    assert set(records) == set(REGIONS)
    for role, region in REGIONS.items():
        check = checks[records[role]["healthCheckId"]]["inputs"]
        host = urlparse(dr.outputs[f"{role}_api_endpoint"]).hostname
        assert host.endswith(f".execute-api.{region}.amazonaws.com")
        assert check["fqdn"] == host, (role, check["fqdn"])


@pytest.mark.catalogue("trading-dr-12")
def test_each_vpc_reaches_secrets_manager_through_an_interface_endpoint(dr):
    """Fix: a private-DNS Secrets Manager interface endpoint in the order processor's subnets, open
    to it on 443: without it the function in its isolated subnets cannot read its credentials."""
    groups = {g["id"]: g for g in dr.of_type("aws:ec2/securityGroup:SecurityGroup")}
    ingress = dr.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    processors = [
        f
        for f in dr.of_type("aws:lambda/function:Function")
        if f["inputs"]["name"].startswith("trading-order-processor-")
    ]
    assert {dr.region(f) for f in processors} == {PRIMARY, SECONDARY}
    for function in processors:
        region, vpc = dr.region(function), function["inputs"]["vpcConfig"]
        (endpoint,) = [
            e["inputs"]
            for e in dr.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
            if e["inputs"]["serviceName"] == f"com.amazonaws.{region}.secretsmanager"
        ]
        assert endpoint["vpcEndpointType"] == "Interface" and endpoint["privateDnsEnabled"] is True
        assert set(endpoint["subnetIds"]) == set(vpc["subnetIds"])
        (function_group,) = vpc["securityGroupIds"]
        assert any(
            r["inputs"]["securityGroupId"] in endpoint["securityGroupIds"]
            and r["inputs"]["referencedSecurityGroupId"] == function_group
            and r["inputs"]["fromPort"] == 443
            for r in ingress
            if r["inputs"].get("referencedSecurityGroupId")
        ), groups[function_group]["inputs"]["name"]


@pytest.mark.catalogue("trading-dr-15")
def test_replication_carries_delete_markers_both_ways(dr):
    """Fix: every replication rule replicates delete markers (a delete in the writing region must
    reach the other bucket) and its role may s3:ReplicateDelete into the destination."""
    configs = dr.of_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig")
    assert {dr.region(c) for c in configs} == {PRIMARY, SECONDARY}
    roles = {r["inputs"]["name"]: r for r in dr.of_type("aws:iam/role:Role")}
    for config in configs:
        (rule,) = config["inputs"]["rules"]
        assert rule["deleteMarkerReplication"] == {"status": "Enabled"}
        assert "filter" in rule  # delete-marker replication needs a filter-based (V2) rule
        role = roles[config["inputs"]["role"].rsplit("/", 1)[1]]
        statements = [
            s
            for p in dr.of_type("aws:iam/rolePolicy:RolePolicy")
            if p["inputs"]["role"] == role["id"]
            for s in dr.policy(p)["Statement"]
        ]
        destination = rule["destination"]["bucket"]
        assert any(
            "s3:ReplicateDelete" in as_list(s["Action"]) and s["Resource"] == f"{destination}/*"
            for s in statements
        )


@pytest.mark.catalogue("trading-dr-04")
def test_outputs_name_the_global_cluster_the_secret_and_the_failover_alarm(dr):
    """Fix: global_cluster_id, db_secret_arn and failover_alarm_name are exported, each equal to
    what the resource it names says."""
    outputs = dr.outputs
    (global_cluster,) = dr.of_type("aws:rds/globalCluster:GlobalCluster")
    assert outputs["global_cluster_id"] == global_cluster["inputs"]["globalClusterIdentifier"]
    secret = dr.named("aws:secretsmanager/secret:Secret", "aurora-master-secret")  # the app's has its own
    assert dr.region(secret) == PRIMARY
    assert outputs["db_secret_arn"] == (
        f"arn:aws:secretsmanager:{PRIMARY}:{ACCOUNT}:secret:{secret['inputs']['name']}-AbCdEf"
    )
    composites = {
        a["inputs"]["alarmName"]: a for a in dr.of_type("aws:cloudwatch/compositeAlarm:CompositeAlarm")
    }
    assert dr.region(composites[outputs["failover_alarm_name"]]) == SECONDARY
    # The quorum alarm is what starts the promote function.
    function = dr.named("aws:lambda/function:Function", "failover-promote")
    assert function["inputs"]["environment"]["variables"]["ALARM_NAME"] == outputs["failover_alarm_name"]
