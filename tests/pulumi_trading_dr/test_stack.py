"""The trading DR stack beyond the catalogue: regions and providers, names and tags, the document
contract, the API's front door, Route 53 failover, config errors."""

from __future__ import annotations

import json

import pytest

import pulumi_offline
from pulumi_trading_dr.components.api import ORDER_MODEL
from pulumi_trading_dr.config import ConfigError, TradingConfig

PRIMARY, SECONDARY = "us-east-1", "us-west-2"
PROVIDERS = {"aws-primary": PRIMARY, "aws-secondary": SECONDARY}
REQUIRED = {
    "env": "dev",
    "alert_email": "oncall@example.com",
    "hosted_zone_id": "Z0123456789EXAMPLE",
    "api_domain_name": "api.trading-dev.example.com",
}
# Resources that carry no tags in AWS (settings, attachments, policies of other resources).
UNTAGGED = {
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
}


def test_document_is_a_stack_export_the_engine_would_write(dr):
    pulumi_offline.check(dr.document)
    assert dr.resources[0]["urn"] == "urn:pulumi:dev::trading-dr::pulumi:pulumi:Stack::trading-dr-dev"


def test_every_aws_resource_names_one_of_the_two_region_providers(dr):
    """No default provider (Pulumi.dev.yaml disables it): each resource says which region it is in."""
    providers = {p["urn"]: p for p in dr.of_type("pulumi:providers:aws")}
    assert {dr.name_of(p): p["inputs"]["region"] for p in providers.values()} == PROVIDERS
    for resource in dr.resources:
        if resource["custom"] and resource["type"].startswith("aws:"):
            assert resource["provider"].rsplit("::", 1)[0] in providers, resource["urn"]


@pytest.mark.parametrize(
    ("token", "name", "region"),
    [
        ("aws:lambda/function:Function", "failover-function", SECONDARY),
        ("aws:cloudwatch/compositeAlarm:CompositeAlarm", "monitoring-failover", SECONDARY),
        ("aws:cloudwatch/eventRule:EventRule", "failover-on-alarm", SECONDARY),
        ("aws:lambda/function:Function", "failover-promote", SECONDARY),
        ("aws:cloudwatch/eventRule:EventRule", "failover-promote-on-alarm", SECONDARY),
        ("aws:synthetics/canary:Canary", "synthetics-verdict", SECONDARY),
        ("aws:lambda/function:Function", "gate-primary-function", PRIMARY),
        ("aws:lambda/function:Function", "gate-secondary-function", SECONDARY),
        ("aws:synthetics/canary:Canary", "synthetics-probe-primary", SECONDARY),
        ("aws:rds/globalCluster:GlobalCluster", "aurora-global", PRIMARY),
        ("aws:dynamodb/table:Table", "dynamodb-orders", PRIMARY),
    ],
)
def test_what_runs_where(dr, token, name, region):
    assert dr.region(dr.named(token, name)) == region


def test_both_providers_tag_everything_with_project_environment_and_role(dr):
    for provider in dr.of_type("pulumi:providers:aws"):
        tags = json.loads(provider["inputs"]["defaultTags"])["tags"]
        assert tags == {
            "project": "trading-dr",
            "environment": "dev",
            "managed-by": "pulumi",
            "region-role": dr.name_of(provider).removeprefix("aws-"),
        }


def test_taggable_resources_say_which_component_owns_them(dr):
    components = {r["urn"]: r["type"].rsplit(":", 1)[1].lower() for r in dr.resources if not r["custom"]}
    tagged = [r for r in dr.resources if "tags" in r["inputs"]]
    assert len(tagged) > 100
    for resource in tagged:
        assert resource["inputs"]["tags"]["component"] == components[resource["parent"]], resource["urn"]
    for token in {r["type"] for r in dr.resources if r["custom"]} - UNTAGGED:
        if token.startswith("aws:") and token in {
            "aws:rds/cluster:Cluster",
            "aws:sqs/queue:Queue",
            "aws:lambda/function:Function",
            "aws:synthetics/canary:Canary",
            "aws:s3/bucket:Bucket",
            "aws:kms/key:Key",
        }:
            assert all("tags" in r["inputs"] for r in dr.of_type(token)), token


NAME_KEYS = (
    "name",
    "identifier",
    "alarmName",
    "layerName",
)


def test_every_physical_name_carries_the_environment(dr):
    named = [(r, r["inputs"][k]) for r in dr.resources if r["custom"] for k in NAME_KEYS if k in r["inputs"]]
    for token, key in (
        ("aws:s3/bucket:Bucket", "bucket"),
        ("aws:rds/cluster:Cluster", "clusterIdentifier"),
        ("aws:rds/globalCluster:GlobalCluster", "globalClusterIdentifier"),
    ):
        named += [(r, r["inputs"][key]) for r in dr.of_type(token)]
    assert len(named) > 60
    for resource, name in named:
        if resource["type"] in (
            "aws:apigateway/model:Model",
            "aws:apigateway/requestValidator:RequestValidator",
            "aws:iam/rolePolicy:RolePolicy",
            "pulumi:providers:aws",
        ):
            continue  # names inside another resource, not physical names in the account
        if resource["type"] == "aws:route53/record:Record":
            continue  # the API's public name, from config
        assert "dev" in name.split("-") or "/dev/" in name or "-dev-" in name, (resource["urn"], name)


def test_health_route_is_the_regions_own_health_function_without_auth(dr):
    """GET /health: a Lambda proxy integration (the function's status code is API Gateway's answer,
    which is what Route 53's checkers read) of this region's health function, which this API alone
    may invoke, for this route alone."""
    for role in ("primary", "secondary"):
        method = dr.named("aws:apigateway/method:Method", f"api-{role}-health-get")
        assert method["inputs"]["authorization"] == "NONE" and method["inputs"]["httpMethod"] == "GET"
        integration = dr.named("aws:apigateway/integration:Integration", f"api-{role}-health-integration")
        function = dr.named("aws:lambda/function:Function", f"health-{role}-function")
        assert (integration["inputs"]["type"], integration["inputs"]["integrationHttpMethod"]) == (
            "AWS_PROXY",
            "POST",
        )
        assert integration["inputs"]["uri"].endswith(f":function:{function['inputs']['name']}/invocations")
        assert integration["inputs"]["timeoutMilliseconds"] <= 5_000
        assert dr.region(function) == PROVIDERS[f"aws-{role}"]
        permission = dr.named("aws:lambda/permission:Permission", f"api-{role}-health-invoke")
        api = dr.named("aws:apigateway/restApi:RestApi", f"api-{role}-rest-api")
        assert permission["inputs"]["principal"] == "apigateway.amazonaws.com"
        assert permission["inputs"]["function"] == function["inputs"]["name"]
        assert permission["inputs"]["sourceArn"] == (
            f"arn:aws:execute-api:{PROVIDERS['aws-' + role]}:123456789012:{api['id']}/*/GET/health"
        )


def test_orders_route_is_signed_validated_and_sent_to_its_regions_queue_only(dr):
    for region in ("primary", "secondary"):
        method = dr.named("aws:apigateway/method:Method", f"api-{region}-orders-post")
        # A bearer JWT, not SigV4 (one region's signature): tests/pulumi_trading_dr/test_authorizer.py.
        assert method["inputs"]["authorization"] == "CUSTOM"
        assert (
            method["inputs"]["authorizerId"]
            == dr.named("aws:apigateway/authorizer:Authorizer", f"api-{region}-orders-authorizer")["id"]
        )
        assert (
            method["inputs"]["requestValidatorId"]
            == dr.named("aws:apigateway/requestValidator:RequestValidator", f"api-{region}-validator")["id"]
        )
        model = dr.named("aws:apigateway/model:Model", f"api-{region}-order-model")
        assert json.loads(model["inputs"]["schema"]) == ORDER_MODEL
        integration = dr.named("aws:apigateway/integration:Integration", f"api-{region}-orders-integration")
        queue = dr.named("aws:sqs/queue:Queue", f"orders-{region}-queue")
        assert (
            integration["inputs"]["type"] == "AWS" and integration["inputs"]["passthroughBehavior"] == "NEVER"
        )
        assert integration["inputs"]["uri"] == (
            f"arn:aws:apigateway:{PROVIDERS['aws-' + region]}:sqs:path/123456789012/{queue['inputs']['name']}"
        )
        policy = dr.policy(dr.named("aws:iam/rolePolicy:RolePolicy", f"api-{region}-send-policy"))
        assert policy["Statement"] == [
            {
                "Effect": "Allow",
                "Action": "sqs:SendMessage",
                "Resource": f"arn:aws:sqs:{PROVIDERS['aws-' + region]}:"
                f"123456789012:{queue['inputs']['name']}",
            }
        ]
        deployment = dr.named("aws:apigateway/deployment:Deployment", f"api-{region}-deployment")
        assert integration["urn"] in deployment["dependencies"]
        assert len(deployment["inputs"]["triggers"]["redeployment"]) == 64


def test_failover_records_alias_each_regions_custom_domain(dr):
    records = {
        r["inputs"]["setIdentifier"]: r
        for r in dr.of_type("aws:route53/record:Record")
        if r["inputs"].get("name") == "api.trading-dev.example.com"
    }
    assert set(records) == {"primary", "secondary"}
    for role, record in records.items():
        assert record["inputs"]["failoverRoutingPolicies"] == [{"type": role.upper()}]
        (alias,) = record["inputs"]["aliases"]
        assert alias["evaluateTargetHealth"] is True
        domain = dr.named("aws:apigateway/domainName:DomainName", f"route53-{role}-domain")
        assert (
            alias["name"] == f"d-route53-{role}-domain.execute-api.{PROVIDERS['aws-' + role]}.amazonaws.com"
        )
        assert domain["inputs"]["securityPolicy"] == "TLS_1_2"
        validation = dr.named(
            "aws:acm/certificateValidation:CertificateValidation", f"route53-{role}-certificate-validation"
        )
        assert dr.region(validation) == dr.region(domain) == PROVIDERS[f"aws-{role}"]


def test_order_processor_leaves_only_for_the_database_the_endpoints_and_dynamodb(dr):
    groups = {g["id"]: g["inputs"]["name"] for g in dr.of_type("aws:ec2/securityGroup:SecurityGroup")}
    egress = dr.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    for role in ("primary", "secondary"):
        mine = [
            r["inputs"]
            for r in egress
            if groups[r["inputs"]["securityGroupId"]] == f"trading-orders-fn-dev-{role}"
        ]
        peers = sorted(
            (r["fromPort"], groups.get(r.get("referencedSecurityGroupId"), r.get("prefixListId")))
            for r in mine
        )
        assert peers == [
            (443, "pl-mock"),
            (443, f"trading-endpoints-dev-{role}"),
            (5432, f"trading-database-dev-{role}"),
        ]
        assert all("cidrIpv4" not in r for r in mine)


@pytest.mark.parametrize("key", ["alertEmail", "hostedZoneId", "apiDomainName", "env"])
def test_required_config_names_the_key_and_how_to_set_it(key):
    values = {
        "env": "dev",
        "alertEmail": "a@example.com",
        "hostedZoneId": "Z1",
        "apiDomainName": "api.example.com",
    }
    del values[key]

    class Config:
        def get(self, name):
            return values.get(name)

        def get_int(self, name):
            return None

        def get_float(self, name):
            return None

    with pytest.raises(ConfigError, match=rf"{key}: required; set it with `pulumi config set {key}"):
        TradingConfig.from_pulumi(Config())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"secondary_region": "us-east-1"}, "must differ"),
        ({"alert_email": "nobody"}, "alertEmail"),
        ({"hosted_zone_id": "zone"}, "hostedZoneId"),
        ({"order_max_concurrency": 1}, "orderMaxConcurrency"),
        ({"failover_mode": "sometimes"}, "failoverMode"),
        ({"env": "Production"}, "env"),
    ],
)
def test_bad_config_is_refused_with_the_key_named(change, message):
    with pytest.raises(ConfigError, match=message):
        TradingConfig(**{**REQUIRED, **change})


def test_failover_mode_decides_whether_the_quorum_promotes(dr, dr_automatic):
    """manual (the default): the quorum's rule is disabled (a person runs the promotion); the
    preparation always runs. automatic: the quorum alarm starts the promote function."""
    rule = "aws:cloudwatch/eventRule:EventRule"
    automatic = dr_automatic.export
    assert dr.named(rule, "failover-promote-on-alarm")["inputs"]["state"] == "DISABLED"
    assert automatic.named(rule, "failover-promote-on-alarm")["inputs"]["state"] == "ENABLED"
    for export in (dr, automatic):
        assert export.named(rule, "failover-on-alarm")["inputs"]["state"] == "ENABLED"
        composite = export.named("aws:cloudwatch/compositeAlarm:CompositeAlarm", "monitoring-failover")
        assert composite["inputs"]["alarmActions"]
    assert (
        "mode: manual"
        in dr.named("aws:cloudwatch/compositeAlarm:CompositeAlarm", "monitoring-failover")["inputs"][
            "alarmDescription"
        ]
    )
    assert dr.outputs["failover_mode"] == "manual" and automatic.outputs["failover_mode"] == "automatic"


class StackConfig:
    """pulumi.Config's reads over a stack file's values (``trading-dr:<key>``)."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get(self, key: str) -> str | None:
        return self.values.get(f"trading-dr:{key}")

    def get_int(self, key: str) -> int | None:
        value = self.get(key)
        return None if value is None else int(value)

    def get_float(self, key: str) -> float | None:
        value = self.get(key)
        return None if value is None else float(value)


def test_a_stack_that_does_not_set_failover_mode_is_manual():
    """Issue 13, item 4: the data-loss promotion is a person's decision unless a stack says
    otherwise; the committed dev stack sets failoverMode, so only this sees the program's default
    (a new prod stack, `pulumi stack init prod`, has no such line)."""
    from pulumi_trading_dr.offline import PROJECT_DIR

    values = pulumi_offline.load_stack_config(PROJECT_DIR, "dev")
    del values["trading-dr:failoverMode"]
    assert TradingConfig.from_pulumi(StackConfig(values)).failover_mode == "manual"


def test_services_that_publish_to_the_topics_may_use_the_topics_key(dr):
    """A topic on a key its publisher may not use drops the message silently: CloudWatch alarms and
    RDS event subscriptions publish to these topics, so each topic's key policy admits them."""
    keys = {k["id"]: dr.policy(k) for k in dr.of_type("aws:kms/key:Key")}
    publishers = {"cloudwatch.amazonaws.com"}
    if dr.of_type("aws:rds/eventSubscription:EventSubscription"):
        publishers.add("events.rds.amazonaws.com")
    for topic in dr.of_type("aws:sns/topic:Topic"):
        policy = keys[topic["inputs"]["kmsMasterKeyId"].rsplit("/", 1)[1]]
        allowed = {
            service
            for statement in policy["Statement"]
            if statement["Effect"] == "Allow" and "kms:GenerateDataKey*" in statement["Action"]
            for service in (lambda s: s if isinstance(s, list) else [s])(
                statement["Principal"].get("Service", [])
            )
        }
        assert publishers <= allowed, (topic["urn"], publishers - allowed)
