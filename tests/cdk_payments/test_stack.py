"""The rest of the payments stack: network, data, API, observability, naming, tags, cfn-lint."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cdk_payments.config import ConfigError, PaymentsConfig
from cdk_payments.validation_report import NAG_PACKS, PCI_DSS, plugin_reports, problems
from tests.cdk_payments.conftest import CDK_CONTEXT, STAGE, VARIANTS

ROOT = Path(__file__).resolve().parents[2]

PAID_TYPES = (
    "AWS::EC2::VPC",
    "AWS::EC2::VPCEndpoint",
    "AWS::Lambda::Function",
    "AWS::RDS::DBCluster",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::S3::Bucket",
    "AWS::SNS::Topic",
    "AWS::KMS::Key",
    "AWS::Logs::LogGroup",
    "AWS::ApiGateway::RestApi",
    "AWS::SecretsManager::Secret",
)


def test_vpc_has_no_route_to_the_internet(dev):
    for kind in ("AWS::EC2::NatGateway", "AWS::EC2::InternetGateway", "AWS::EC2::EIP"):
        assert not dev.resources(kind)
    for subnet in dev.resources("AWS::EC2::Subnet").values():
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False
    dev.template.resource_count_is("AWS::EC2::FlowLog", 1)


def test_gateway_endpoints_for_dynamodb_and_s3_interface_for_the_rest(dev):
    kinds = {}
    for endpoint in dev.resources("AWS::EC2::VPCEndpoint").values():
        service = json.dumps(endpoint["Properties"]["ServiceName"])
        name = re.search(r"\.(dynamodb|s3|secretsmanager|lambda|xray)", service).group(1)
        kinds[name] = endpoint["Properties"].get("VpcEndpointType", "Gateway")
        if kinds[name] == "Interface":
            assert endpoint["Properties"]["PrivateDnsEnabled"] is True
        else:
            assert endpoint["Properties"]["RouteTableIds"]
    assert kinds == {
        "dynamodb": "Gateway",
        "s3": "Gateway",
        "secretsmanager": "Interface",
        "lambda": "Interface",
        "xray": "Interface",
    }


def subnet_zone_ids(synth) -> dict[str, object]:
    """Subnet logical id -> its AvailabilityZoneId; a subnet placed by zone name fails here."""
    zones = {}
    for logical_id, subnet in synth.resources("AWS::EC2::Subnet").items():
        assert "AvailabilityZone" not in subnet["Properties"], f"{logical_id} placed by zone name"
        zones[logical_id] = subnet["Properties"]["AvailabilityZoneId"]
    return zones


def test_subnets_and_what_sits_in_them_are_placed_by_zone_id_where_vpc_links_work(dev, https):
    """Fix: the subnets of the VPC link, the ALB, the functions and the endpoints are placed by zone
    ID (a zone's name, us-east-1a, is another zone in every account): by default the region's first
    two zones in API Gateway's list for VPC links V2 (use1-az3, for one, takes no link), or the
    zone_ids given."""
    from cdk_payments.constructs.network import VPC_LINK_V2_ZONE_IDS

    zones = subnet_zone_ids(dev)
    ((mapping_id, mapping),) = [(k, m) for k, m in dev.json["Mappings"].items() if "VpcLinkZones" in k]
    assert mapping == {r: {"Zone1": ids[0], "Zone2": ids[1]} for r, ids in VPC_LINK_V2_ZONE_IDS.items()}
    assert "use1-az3" not in VPC_LINK_V2_ZONE_IDS["us-east-1"]
    assert sorted(json.dumps(z) for z in zones.values()) == sorted(
        json.dumps({"Fn::FindInMap": [mapping_id, {"Ref": "AWS::Region"}, key]})
        for key in ("Zone1", "Zone2") * 2
    )
    assert sorted(subnet_zone_ids(https).values()) == ["euw1-az1", "euw1-az1", "euw1-az3", "euw1-az3"]

    def subnets_of(resource) -> set[str]:
        props = resource["Properties"]
        ids = props.get("SubnetIds") or props.get("Subnets") or props.get("VpcConfig", {}).get("SubnetIds")
        return {ref["Ref"] for ref in ids}

    placed = [
        *dev.resources("AWS::ApiGatewayV2::VpcLink").values(),
        *dev.resources("AWS::ElasticLoadBalancingV2::LoadBalancer").values(),
        *[e for e in dev.resources("AWS::EC2::VPCEndpoint").values() if "SubnetIds" in e["Properties"]],
        *[fn for _, fn in dev.our_functions().values()],
    ]
    assert len(placed) == 9
    for resource in placed:
        assert subnets_of(resource) and subnets_of(resource) <= zones.keys()


@pytest.mark.parametrize("zones", ["use1-az1", "use1-az1,use1-az1", "us-east-1a,us-east-1b", "a,b,c"])
def test_zone_ids_must_be_two_distinct_zone_ids(zones):
    with pytest.raises(ConfigError, match=r"zone_ids: .* two distinct availability-zone IDs"):
        PaymentsConfig.from_context(
            {"env": "dev", "alarm_email": "oncall@example.com", "zone_ids": zones}.get
        )


def test_a_region_without_known_vpc_link_zones_asks_for_zone_ids():
    """Fix: where the stack's region is known and not in AWS's list, the synth stops and names
    zone_ids instead of deploying subnets that a VPC link cannot use. (Constructing the network of a
    stack bound to ca-west-1 is enough: nothing is synthesized.)"""
    import aws_cdk as cdk

    from cdk_payments.constructs.encryption import Encryption
    from cdk_payments.constructs.network import Network

    config = PaymentsConfig(env="dev", alarm_email="oncall@example.com")
    stack = cdk.Stack(cdk.App(), "zones", env=cdk.Environment(account="123456789012", region="ca-west-1"))
    with pytest.raises(ConfigError, match="zone_ids: required in ca-west-1"):
        Network(stack, "Network", config=config, encryption=Encryption(stack, "Encryption", config=config))


# Actions that take no resource ARN: the only ones an endpoint may admit on "*".
NO_RESOURCE_ACTIONS = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "secretsmanager:GetRandomPassword",
}


def test_each_endpoint_admits_only_the_calls_of_our_functions_on_this_stacks_resources(payments):
    """Fix: the gateway (DynamoDB, S3) and interface (Secrets Manager, Lambda, X-Ray) endpoints carry
    policies, not the default that admits anything: per endpoint, each function's role (by
    aws:PrincipalArn, which gateway endpoints need) may make exactly the calls its handler makes to
    that service (read from its code, tests/iam; X-Ray's two for active tracing), on this
    stack's table, index, bucket prefix, secret and function versions; "*" only for actions that
    take no resource ARN."""
    from lambda_src.build import functions
    from tests.iam.requests import required_actions

    required = {
        f.name.replace("_", "-"): required_actions(f.source) for f in functions() if f.stack == "cdk_payments"
    }
    for synth in (payments["dev"], payments["prod"]):
        env = synth.stack.node.id.split("-", 1)[1]
        function_of_role = {
            fn["Properties"]["Role"]["Fn::GetAtt"][0]: name.removeprefix("payments-").removesuffix(f"-{env}")
            for name, (_, fn) in synth.our_functions().items()
        }
        admitted: dict[tuple[str, str], set[str]] = {}
        for endpoint in synth.resources("AWS::EC2::VPCEndpoint").values():
            service = json.dumps(endpoint["Properties"]["ServiceName"]).split(".")[-1].strip('"]}')
            statements = endpoint["Properties"].get("PolicyDocument", {}).get("Statement")
            assert statements, f"the {service} endpoint admits anything (no policy)"
            for statement in statements:
                assert statement["Effect"] == "Allow" and statement["Principal"] == {"AWS": "*"}
                roles = statement["Condition"]["ArnEquals"]["aws:PrincipalArn"]
                actions = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                assert {a.split(":")[0] for a in actions} == {service}
                if statement["Resource"] == "*":
                    assert set(actions) <= NO_RESOURCE_ACTIONS, actions
                else:
                    resource_ids = set(
                        re.findall(r'"(?:Ref|Fn::GetAtt)": \[?"(\w+)"', json.dumps(statement["Resource"]))
                    )
                    assert resource_ids and resource_ids <= synth.json["Resources"].keys()
                for role in roles:
                    admitted.setdefault((function_of_role[role["Fn::GetAtt"][0]], service), set()).update(
                        actions
                    )
        for function, actions in required.items():
            for service in {a.split(":")[0] for a in actions} | {"xray"}:
                expected = {a for a in actions if a.startswith(f"{service}:")}
                expected |= (
                    {a for a in NO_RESOURCE_ACTIONS if a.startswith("xray:")} if service == "xray" else set()
                )
                assert admitted.pop((function, service), set()) == expected, (function, service)
        assert admitted == {}, f"admitted beyond what the handlers call: {admitted}"


def test_no_security_group_admits_the_internet(dev):
    for rule in dev.resources("AWS::EC2::SecurityGroupIngress").values():
        assert "CidrIp" not in rule["Properties"]
    for group in dev.resources("AWS::EC2::SecurityGroup").values():
        for rule in group["Properties"].get("SecurityGroupIngress", []):
            assert rule.get("CidrIp") != "0.0.0.0/0"
        assert group["Properties"]["GroupName"].endswith("-dev")


def test_aurora_is_a_creatable_encrypted_postgres_with_a_managed_secret(dev, prod):
    for synth in (dev, prod):
        _, cluster = synth.one("AWS::RDS::DBCluster")
        props = cluster["Properties"]
        assert props["Engine"] == "aurora-postgresql"
        assert re.fullmatch(r"1[56]\.\d+", props["EngineVersion"])
        assert props["StorageEncrypted"] is True
        assert "MasterUserPassword" in props and "resolve:secretsmanager" in json.dumps(
            props["MasterUserPassword"]
        )
    dev_cluster = dev.one("AWS::RDS::DBCluster")[1]
    prod_cluster = prod.one("AWS::RDS::DBCluster")[1]
    assert (
        dev_cluster["Properties"]["DeletionProtection"] is False and dev_cluster["DeletionPolicy"] == "Delete"
    )
    assert (
        prod_cluster["Properties"]["DeletionProtection"] is True
        and prod_cluster["DeletionPolicy"] == "Snapshot"
    )


def test_transactions_table_has_pitr_encryption_and_env_dependent_protection(dev, prod):
    for synth, protected in ((dev, False), (prod, True)):
        _, table = synth.one("AWS::DynamoDB::GlobalTable")
        (replica,) = table["Properties"]["Replicas"]
        assert replica["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert replica["DeletionProtectionEnabled"] is protected
        assert table["Properties"]["SSESpecification"]["SSEEnabled"] is True
        assert table["DeletionPolicy"] == ("Retain" if protected else "Delete")
        # Only the attributes the keys use (a stray one is a ValidationException at deploy).
        assert {a["AttributeName"] for a in table["Properties"]["AttributeDefinitions"]} == {
            "transaction_id",
            "customer_id",
            "created_at",
        }


def test_audit_bucket_is_private_encrypted_versioned_tls_only_with_lifecycle(dev):
    buckets = dev.resources("AWS::S3::Bucket")
    audit = next(
        b for b in buckets.values() if "payments-audit-dev" in json.dumps(b["Properties"]["BucketName"])
    )
    props = audit["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert props["LifecycleConfiguration"]["Rules"]
    assert props["LoggingConfiguration"]["DestinationBucketName"]
    for policy in dev.resources("AWS::S3::BucketPolicy").values():
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
        )


def test_audit_records_are_write_once_by_bucket_policy_grant_and_prod_object_lock(dev, prod):
    """Fix: write-once is enforced, not a convention: the bucket policy refuses, for every principal,
    a PUT (or multipart completion) under audit/ without If-None-Match (the condition key
    s3:if-none-match); transaction_processing may only s3:PutObject under audit/ (no read, delete,
    retention, legal hold, tagging, multipart abort) with the data key through S3 only; prod locks each
    record for a year (Object Lock, COMPLIANCE), other envs stay destroyable."""
    from tests.cdk_payments.test_handler_permissions import role_statements

    for synth in (dev, prod):
        env = synth.stack.node.id.split("-", 1)[1]
        audit = synth.stack.node.find_child("Audit")
        bucket_id = synth.stack.get_logical_id(audit.bucket.node.default_child)
        key_id = synth.stack.get_logical_id(
            synth.stack.node.find_child("Encryption").data_key.node.default_child
        )
        records = {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/audit/*"]]}
        processing_id, _ = synth.our_functions()[f"payments-transaction-processing-{env}"]
        statements = role_statements(synth, processing_id)
        on_the_bucket = [s for s in statements if bucket_id in json.dumps(s["Resource"])]
        assert on_the_bucket == [{"Action": "s3:PutObject", "Effect": "Allow", "Resource": records}]
        (kms,) = [s for s in statements if key_id in json.dumps(s["Resource"])]
        assert kms["Action"] == "kms:GenerateDataKey"
        assert kms["Condition"] == {
            "StringEquals": {
                "kms:ViaService": {"Fn::Join": ["", ["s3.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}
            }
        }
        (policy,) = [
            p["Properties"]["PolicyDocument"]["Statement"]
            for p in synth.resources("AWS::S3::BucketPolicy").values()
            if p["Properties"]["Bucket"] == {"Ref": bucket_id}
        ]
        assert {
            "Sid": "DenyAuditWritesWithoutIfNoneMatch",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "s3:PutObject",
            "Resource": records,
            "Condition": {
                "Null": {"s3:if-none-match": "true"},
                "Bool": {"s3:ObjectCreationOperation": "true"},
            },
        } in policy
    locked = prod.json["Resources"][
        prod.stack.get_logical_id(prod.stack.node.find_child("Audit").bucket.node.default_child)
    ]
    assert locked["Properties"]["ObjectLockEnabled"] is True
    assert locked["Properties"]["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 365}},
    }
    assert locked["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}  # Object Lock needs it
    unlocked = dev.json["Resources"][
        dev.stack.get_logical_id(dev.stack.node.find_child("Audit").bucket.node.default_child)
    ]
    assert "ObjectLockEnabled" not in unlocked["Properties"]


def test_topics_use_a_customer_managed_key_cloudwatch_can_use(dev):
    key = dev.stack.node.find_child("Observability").topic_key
    key_id = dev.stack.get_logical_id(key.node.default_child)
    key = dev.json["Resources"][key_id]
    for topic in dev.resources("AWS::SNS::Topic").values():
        # alias/aws/sns would silently drop alarm notifications: CloudWatch cannot use that key.
        assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert key["Properties"]["EnableKeyRotation"] is True
    assert any(
        "cloudwatch.amazonaws.com" in json.dumps(s["Principal"]) and "kms:Decrypt" in s["Action"]
        for s in key["Properties"]["KeyPolicy"]["Statement"]
    )


def test_every_alarm_notifies_the_alerts_topic(dev):
    alerts = next(
        k
        for k, t in dev.resources("AWS::SNS::Topic").items()
        if t["Properties"]["TopicName"] == "payments-alerts-dev"
    )
    alarms = dev.resources("AWS::CloudWatch::Alarm")
    assert len(alarms) == 5  # one error-rate alarm per function + API 5XX
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": alerts}]
        assert alarm["Properties"]["TreatMissingData"] == "notBreaching"


def test_function_error_alarms_are_rates_safe_at_zero_invocations(dev):
    rates = [a for a in dev.resources("AWS::CloudWatch::Alarm").values() if "Metrics" in a["Properties"]]
    assert len(rates) == 4
    for alarm in rates:
        expression = next(m["Expression"] for m in alarm["Properties"]["Metrics"] if "Expression" in m)
        assert expression == "IF(invocations > 0, 100 * errors / invocations, 0)"
        assert alarm["Properties"]["Threshold"] == 1


def test_every_environment_subscribes_its_alarm_email_and_cdk_json_carries_an_example(payments):
    from aws_cdk.assertions import Match  # not at import: see conftest.payments

    """alarm_email is required: the default synth (cdk.json's context) shows the subscription."""
    assert CDK_CONTEXT["alarm_email"] == "oncall@example.com"
    for variant, config in VARIANTS.items():
        payments[variant].template.resource_count_is("AWS::SNS::Subscription", 1)
        payments[variant].template.has_resource_properties(
            "AWS::SNS::Subscription",
            {"Protocol": "email", "Endpoint": config.alarm_email, "TopicArn": Match.any_value()},
        )
    assert payments["prod"].one("AWS::SNS::Subscription")[1]["Properties"]["Endpoint"] == (
        "payments-oncall@example.com"
    )


@pytest.mark.parametrize("value", [None, ""])
def test_a_missing_alarm_email_is_refused_saying_how_to_set_it(value):
    with pytest.raises(ConfigError, match=r"alarm_email: required.*-c alarm_email=.*cdk\.json"):
        PaymentsConfig.from_context({"env": "dev", "alarm_email": value}.get)


def test_stage_has_access_logs_tracing_throttling_and_the_method_validates_and_authorizes(dev):
    from aws_cdk.assertions import Match  # not at import: see conftest.payments

    dev.template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "StageName": "dev",
            "TracingEnabled": True,
            "AccessLogSetting": {
                "DestinationArn": Match.any_value(),
                "Format": Match.string_like_regexp("requestId"),
            },
            "MethodSettings": Match.array_with(
                [
                    Match.object_like(
                        {
                            "HttpMethod": "*",
                            "ResourcePath": "/*",
                            "ThrottlingRateLimit": 100,
                            "ThrottlingBurstLimit": 200,
                        }
                    )
                ]
            ),
        },
    )
    dev.template.has_resource_properties(
        "AWS::ApiGateway::Method",
        {
            "HttpMethod": "POST",
            "AuthorizationType": "AWS_IAM",
            "RequestValidatorId": Match.any_value(),
            "RequestModels": {"application/json": Match.any_value()},
        },
    )
    dev.template.has_resource_properties(
        "AWS::ApiGateway::GatewayResponse",
        {
            "ResponseType": "BAD_REQUEST_BODY",
            "ResponseTemplates": {"application/json": Match.string_like_regexp("validationErrorString")},
        },
    )


def test_no_stack_owns_the_account_wide_api_gateway_logging_role(payments):
    """The CloudWatch role of API Gateway is one setting per account and region: a stack that creates
    it (cloud_watch_role=True) replaces everyone's and, destroyed, breaks logging for every REST API
    in the region. It is a one-time account setup (README), never part of this stack."""
    for synth in payments.values():
        assert not synth.resources("AWS::ApiGateway::Account")
        for logical_id, role in synth.resources("AWS::IAM::Role").items():
            trust = json.dumps(role["Properties"]["AssumeRolePolicyDocument"])
            assert "apigateway.amazonaws.com" not in trust, logical_id
        _, stage = synth.one("AWS::ApiGateway::Stage")
        assert stage["Properties"]["AccessLogSetting"]["DestinationArn"]  # still logged, by that role


def test_functions_trace_log_with_retention_and_run_in_the_vpc(dev):
    log_groups = {
        json.dumps(g["Properties"]["LogGroupName"]): g for g in dev.resources("AWS::Logs::LogGroup").values()
    }
    for name, (_, fn) in dev.our_functions().items():
        props = fn["Properties"]
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["VpcConfig"]["SubnetIds"]
        assert json.dumps(f"/aws/lambda/{name}") in log_groups
        assert log_groups[json.dumps(f"/aws/lambda/{name}")]["Properties"]["RetentionInDays"] == 365
        assert "ReservedConcurrentExecutions" not in props  # the account pool stays whole by default


def test_cdk_handler_functions_log_to_a_group_with_retention(dev, prod):
    """aws-cdk-lib's own handlers (auto-delete objects, bucket notifications, the default security
    group's restriction, AwsCustomResource's SDK calls) write to one group with the stack's retention,
    not to groups Lambda creates that never expire and outlive the stack."""
    from aws_cdk.assertions import Match

    # Auto-delete objects, bucket notifications, the default SG's restriction, the live-version
    # lookup; prod retains its buckets: no auto-delete handler.
    for variant, expected in ((dev, 4), (prod, 3)):
        handlers = {
            logical_id: fn
            for logical_id, fn in variant.resources("AWS::Lambda::Function").items()
            if "FunctionName" not in fn["Properties"]
        }
        assert len(handlers) == expected, sorted(handlers)
        named = {"Properties": {"LogGroupName": Match.string_like_regexp("/cdk-handlers$")}}
        ((group_id, group),) = variant.template.find_resources("AWS::Logs::LogGroup", named).items()
        assert group["Properties"]["RetentionInDays"] == 365  # the stack's default (PCI DSS 10.7)
        for fn in handlers.values():
            assert fn["Properties"]["LoggingConfig"] == {"LogGroup": {"Ref": group_id}}


def test_processing_gets_its_configuration_from_the_stack(dev):
    _, fn = dev.our_functions()["payments-transaction-processing-dev"]
    assert set(fn["Properties"]["Environment"]["Variables"]) >= {
        "TRANSACTIONS_TABLE",
        "AUDIT_BUCKET",
        "VALIDATION_FUNCTION",
        "FRAUD_FUNCTION",
    }


def test_names_carry_the_environment_and_paid_resources_are_tagged(dev, prod):
    for synth in (dev, prod):
        env = synth.stack.node.id.split("-", 1)[1]
        for logical_id, resource in synth.json["Resources"].items():
            if resource["Type"] not in PAID_TYPES:
                continue
            tags = {t["Key"]: t["Value"] for t in resource["Properties"].get("Tags", [])}
            assert tags.get("environment") == env and tags.get("project") == "payments", logical_id
        names = [
            f["Properties"]["FunctionName"]
            for f in synth.resources("AWS::Lambda::Function").values()
            if "FunctionName" in f["Properties"]
        ]
        assert names and all(n.endswith(f"-{env}") for n in names)


# Names unique per account (or, for buckets, everywhere), whatever the region.
GLOBAL_NAMES = {
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
    "AWS::IAM::User": "UserName",
    "AWS::IAM::Group": "GroupName",
    "AWS::S3::Bucket": "BucketName",
}


def test_the_same_env_in_two_regions_names_nothing_twice(payments):
    """Fix: a resource whose name is global per account (a dashboard, an IAM role, a bucket) either
    leaves the name to CloudFormation (unique per stack) or carries the region in it, so the same
    env deployed in two regions does not collide."""
    region = {"Ref": "AWS::Region"}
    named = 0
    for synth in payments.values():
        for logical_id, resource in synth.json["Resources"].items():
            key = GLOBAL_NAMES.get(resource["Type"])
            name = resource.get("Properties", {}).get(key) if key else None
            if name is not None:
                named += 1
                parts = name.get("Fn::Join", [None, []])[1] if isinstance(name, dict) else [name]
                assert region in parts, f"{logical_id}: {name} is the same in every region"
    assert named >= 3 * len(payments)  # the dashboard and both buckets of every variant


def test_no_plaintext_secret_in_the_template(dev):
    text = json.dumps(dev.json)
    assert "MasterUserPassword" in text
    assert not re.search(r'"(MasterUserPassword|Password)":\s*"[^"{]', text)


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"env": "Prod!"}, "env"),
        ({"blue_weight": 0, "green_weight": 0}, "blue_weight"),
        ({"log_retention_days": 31}, "log_retention_days"),
        ({"green_weight": -1}, "green_weight"),
        ({"alarm_email": "oncall"}, "alarm_email"),
    ],
)
def test_bad_context_is_refused_naming_the_key(kwargs, key):
    with pytest.raises(ConfigError, match=key):
        PaymentsConfig(**{"env": "dev", "alarm_email": "oncall@example.com", **kwargs})


@pytest.mark.parametrize("value", ["0", "-1", "11"])
def test_reserved_concurrency_outside_one_to_ten_is_refused(value):
    """Fix: reserved concurrency 0 throttles every invocation, a negative one fails the deploy, more
    than 10 per function starves the account's unreserved pool; refused (as the fraud and
    transactions stacks refuse them), naming the key; unset means no reservation."""
    context = {"env": "dev", "alarm_email": "oncall@example.com", "lambda_reserved_concurrency": value}
    with pytest.raises(ConfigError, match=r"lambda_reserved_concurrency: -?\d+ must be 1\.\.10"):
        PaymentsConfig.from_context(context.get)
    for unset in (None, ""):
        config = PaymentsConfig.from_context({**context, "lambda_reserved_concurrency": unset}.get)
        assert config.lambda_reserved_concurrency is None


def test_context_strings_are_parsed():
    context = {
        "env": "qa",
        "alarm_email": "qa@example.com",
        "blue_weight": "80",
        "green_weight": "20",
        "lambda_reserved_concurrency": "5",
    }
    config = PaymentsConfig.from_context(context.get)
    assert (config.blue_weight, config.green_weight, config.lambda_reserved_concurrency) == (80, 20, 5)
    with pytest.raises(ConfigError, match="blue_weight"):
        PaymentsConfig.from_context({**context, "blue_weight": "lots"}.get)


def test_the_stack_sets_the_feature_flags_it_needs_and_cdk_json_carries_none(dev):
    """Fix: the synth relies on no cdk.json flag. cdk.json's context (which the session synthesizes
    with, as the CLI does) holds no feature flag; the stack sets what it needs on itself, so any app
    synthesizes it the same: S3 server access logs delivered under a bucket policy (the log bucket
    has no ACLs: bucket-owner-enforced), which CDK refuses to synthesize without the flag."""
    assert [key for key in CDK_CONTEXT if key.startswith("@")] == []
    flag = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"
    assert dev.stack.node.try_get_context(flag) is True
    audit = dev.stack.node.find_child("Audit")
    log_bucket = {"Ref": dev.stack.get_logical_id(audit.access_logs.node.default_child)}
    (policy,) = [
        p for p in dev.resources("AWS::S3::BucketPolicy").values() if p["Properties"]["Bucket"] == log_bucket
    ]
    assert any(
        s["Principal"] == {"Service": "logging.s3.amazonaws.com"} and s["Action"] == "s3:PutObject"
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    )


def test_cfn_lint_finds_nothing(payments):
    """cfn-lint over every configuration: no errors, no warnings (.cfnlintrc.yaml says what is
    ignored). The re-pointed dev stacks differ from dev only in the method's integration."""
    paths = [str(payments[variant].path) for variant in VARIANTS]
    done = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), "--format", "parseable", *paths],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_api_stage_is_behind_a_waf_with_managed_rules_and_a_rate_limit(dev):
    acl_id, acl = dev.one("AWS::WAFv2::WebACL")
    assert acl["Properties"]["Scope"] == "REGIONAL"
    rules = {r["Name"]: r for r in acl["Properties"]["Rules"]}
    assert {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "rate-limit-per-ip",
    } <= set(rules)
    _, association = dev.one("AWS::WAFv2::WebACLAssociation")
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    stage_id, _ = dev.one("AWS::ApiGateway::Stage")
    assert stage_id in json.dumps(association["Properties"]["ResourceArn"])


def test_cdk_nag_ran_in_the_session_synth_and_every_suppression_has_a_reason(payments):
    """AwsSolutions and PCI DSS 3.2.1 are registered on the fixture's App: synth would have raised on
    any unacknowledged finding (every variant is in that one synth); the report lists what was
    acknowledged, each with its reason. Control Tower's cfn-guard rules are left to `make check`."""
    path = payments["dev"].path.parent / "validation-report.json"  # one for the app, its stage included
    report = json.loads(path.read_text())
    assert set(plugin_reports(report)) == set(NAG_PACKS)
    assert problems(report, NAG_PACKS) == []
    for name in NAG_PACKS:
        assert plugin_reports(report)[name]["suppressedViolations"]


def test_every_remaining_wildcard_acknowledgement_is_true_and_elb2_is_fixed(payments):
    """Fix: cdk-nag acknowledgements whose reasons did not hold are gone or true. No wildcard action
    is left to acknowledge (grant_put's s3:Abort* and the kms:*Encrypt* grants were narrowed to
    s3:PutObject and kms:GenerateDataKey); each IAM5[Resource::*] is acknowledged with a reason that
    names every action the statement grants on "*" (X-Ray's two, and rotation's GetRandomPassword,
    which the old X-Ray-only reason left out); ELB2 is no longer acknowledged: the ALB logs."""
    path = payments["dev"].path.parent / "validation-report.json"  # one for the app, its stage included
    reports = plugin_reports(json.loads(path.read_text()))
    aws = reports["AwsSolutions"]["suppressedViolations"]
    rules = {v["ruleName"] for v in aws}
    assert not [r for r in rules if r.startswith("AwsSolutions-IAM5[Action::")]
    assert "AwsSolutions-ELB2" not in rules
    assert "PCI.DSS.321-ELBLoggingEnabled" not in {
        v["ruleName"] for v in reports[PCI_DSS]["suppressedViolations"]
    }
    by_path = {
        r["Metadata"]["aws:cdk:path"]: r
        for synth in payments.values()
        for r in synth.json["Resources"].values()
        if "aws:cdk:path" in r.get("Metadata", {})
    }
    checked = 0
    for violation in (v for v in aws if v["ruleName"] == "AwsSolutions-IAM5[Resource::*]"):
        for construct in violation["violatingConstructs"]:
            if construct["constructPath"].startswith(f"{STAGE}/"):
                continue  # the stage's copies of dev, synthesized without path metadata
            policy = by_path[construct["constructPath"]]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                if statement["Resource"] != "*":
                    continue
                actions = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                for action in actions:
                    checked += 1
                    assert action.split(":")[1] in violation["reason"], (construct["constructPath"], action)
    assert checked >= 3 * 5  # X-Ray on every function of every variant, and GetRandomPassword


def test_the_alb_writes_access_logs_where_elb_may_write_them(dev):
    """Fix (ELB2, PCI DSS 10.2): the internal ALB logs every request (target status, latency,
    errors) under alb/ of the access-log bucket (SSE-S3, the only encryption ALB logs take), whose
    policy admits, by region at deploy time, ELB's account (regions before August 2022) or the log
    delivery service; the ALB is created after that policy, since ELB checks it."""
    from aws_cdk.region_info import RegionInfo

    audit = dev.stack.node.find_child("Audit")
    bucket_id = dev.stack.get_logical_id(audit.access_logs.node.default_child)
    _, alb = dev.one("AWS::ElasticLoadBalancingV2::LoadBalancer")
    attributes = {a["Key"]: a["Value"] for a in alb["Properties"]["LoadBalancerAttributes"]}
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["access_logs.s3.bucket"] == {"Ref": bucket_id}
    assert attributes["access_logs.s3.prefix"] == "alb"
    (rule,) = dev.json["Resources"][bucket_id]["Properties"]["BucketEncryption"][
        "ServerSideEncryptionConfiguration"
    ]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    ((policy_id, policy),) = [
        (k, p)
        for k, p in dev.resources("AWS::S3::BucketPolicy").items()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    assert policy_id in alb["DependsOn"]
    (statement,) = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "AllowLoadBalancerAccessLogs"
    ]
    condition = statement["Principal"]["AWS"]["Fn::If"][0]
    assert statement["Principal"]["Service"] == {
        "Fn::If": [condition, {"Ref": "AWS::NoValue"}, "logdelivery.elasticloadbalancing.amazonaws.com"]
    }
    account = statement["Principal"]["AWS"]["Fn::If"][1]["Fn::Join"][1][3]["Fn::FindInMap"]
    accounts = {r.name: r.elbv2_account for r in RegionInfo.regions if r.elbv2_account}
    assert dev.json["Mappings"][account[0]] == {r: {"Account": a} for r, a in accounts.items()}
    assert accounts["us-east-1"] == "127311923021"  # ELB's account there, as AWS documents it
    rendered = json.dumps(dev.json["Conditions"][condition])
    assert all(f'"{region}"' in rendered for region in accounts)
    assert statement["Action"] == "s3:PutObject"
    assert "/alb/AWSLogs/" in json.dumps(statement["Resource"])


def test_pci_acknowledgements_sit_on_the_constructs_they_concern(payments):
    """Each PCI DSS acknowledgement is made below the stack, on (an ancestor of) the resources it
    covers: one for the ALB never silences the same rule on another construct."""
    path = payments["dev"].path.parent / "validation-report.json"  # one for the app, its stage included
    suppressed = plugin_reports(json.loads(path.read_text()))[PCI_DSS]["suppressedViolations"]
    stacks = {synth.stack.node.path for synth in payments.values()}
    for violation in suppressed:
        assert violation["acknowledgedAt"] not in stacks, violation["ruleName"]
        for construct in violation["violatingConstructs"]:
            assert construct["constructPath"].startswith(violation["acknowledgedAt"] + "/")
