"""One synth-level test (at least) per catalogue entry payments-01 .. payments-12.

Each docstring names the fix; catalogue/payments.toml has the long story.
"""

from __future__ import annotations

import json
import re

import pytest
from common.fraud import HISTORY_ATTRIBUTES

from cdk_payments.config import ConfigError, PaymentsConfig
from lambda_src.build import LAYER_DIR, RUNTIME, function_dir
from tests.cdk_payments.conftest import CERTIFICATE_ARN, REPLACED
from tests.cdk_payments.test_handler_permissions import role_statements

OUR_FUNCTIONS = ("payment_validation", "fraud_detection", "transaction_processing", "secrets_rotation")


def target_groups(synth):
    return synth.resources("AWS::ElasticLoadBalancingV2::TargetGroup")


def alias_of(synth, ref):
    alias_id = ref["Ref"]
    return synth.json["Resources"][alias_id]


@pytest.mark.catalogue("payments-01")
def test_blue_green_target_groups_target_processing_aliases_with_weighted_forward(dev, https):
    """Fix: two Lambda target groups (blue, green) on aliases of transaction_processing, weighted forward."""
    for synth, weights in ((dev, (100, 0)), (https, (90, 10))):
        groups = target_groups(synth)
        assert len(groups) == 2
        processing_id, _ = synth.our_functions()[
            f"payments-transaction-processing-{synth.stack.node.id.split('-')[1]}"
        ]
        for group in groups.values():
            props = group["Properties"]
            assert props["TargetType"] == "lambda"
            (target,) = props["Targets"]
            alias = alias_of(synth, target["Id"])
            assert alias["Type"] == "AWS::Lambda::Alias"
            assert alias["Properties"]["FunctionName"] == {"Ref": processing_id}
        _, listener = synth.one("AWS::ElasticLoadBalancingV2::Listener")
        (action,) = listener["Properties"]["DefaultActions"]
        forwarded = action["ForwardConfig"]["TargetGroups"]
        by_name = {
            synth.json["Resources"][tg["TargetGroupArn"]["Ref"]]["Properties"]["Name"]: tg["Weight"]
            for tg in forwarded
        }
        env = synth.stack.node.id.split("-")[1]
        assert by_name == {f"payments-blue-{env}": weights[0], f"payments-green-{env}": weights[1]}


def processing_version_id(synth) -> str:
    """The logical id of the version of transaction_processing this deployment publishes."""
    processing_id, _ = synth.our_functions()[
        f"payments-transaction-processing-{synth.stack.node.id.split('-', 1)[1]}"
    ]
    (version_id,) = [
        logical_id
        for logical_id, version in synth.resources("AWS::Lambda::Version").items()
        if version["Properties"]["FunctionName"] == {"Ref": processing_id}
    ]
    return version_id


def alias_versions(synth) -> dict[str, object]:
    return {
        a["Properties"]["Name"]: a["Properties"]["FunctionVersion"]
        for a in synth.resources("AWS::Lambda::Alias").values()
    }


@pytest.mark.catalogue("payments-01")
def test_each_target_group_targets_its_own_colour(dev, https):
    """Fix (the guard): the blue target group invokes the alias named blue, the green one the alias
    named green; both groups on one alias would make the weights split nothing."""
    for synth in (dev, https):
        env = synth.stack.node.id.split("-", 1)[1]
        targets = {}
        for group in target_groups(synth).values():
            (target,) = group["Properties"]["Targets"]
            targets[group["Properties"]["Name"]] = target["Id"]["Ref"]
        assert len(set(targets.values())) == 2, f"both target groups on one alias: {targets}"
        for colour in ("blue", "green"):
            assert (
                synth.json["Resources"][targets[f"payments-{colour}-{env}"]]["Properties"]["Name"] == colour
            )


@pytest.mark.catalogue("payments-01")
def test_a_plain_deploy_keeps_blue_on_the_version_it_serves(dev, https):
    """Fix: by default only green follows the version this deployment publishes; blue's alias takes
    the version it serves now, read by a custom resource at deploy time (GetFunctionConfiguration
    with the blue alias as qualifier; on the stack's creation, the version just published). A pinned
    blue (-c blue_version) serves that version, and the pin is part of the lookup's properties, so
    the deploy that drops it reads the alias again."""
    published = processing_version_id(dev)
    (lookup_id, lookup) = dev.one("Custom::LiveAliasVersion")
    assert alias_versions(dev) == {
        "blue": {"Fn::GetAtt": [lookup_id, "Version"]},
        "green": {"Fn::GetAtt": [published, "Version"]},
    }
    props = lookup["Properties"]
    update, create = (props[phase]["Fn::Join"][1] for phase in ("Update", "Create"))
    assert '"action":"getFunctionConfiguration","service":"Lambda","outputPaths":["Version"]' in update[0]
    assert '"Qualifier":"blue"' in update[2]
    # Created with the stack: the version just published. Naming it makes every newly published
    # version a change of the lookup's properties: it runs again on every deploy that publishes.
    assert create[3] == {"Fn::GetAtt": [published, "Version"]} and create[2].endswith('"Qualifier":"')
    assert props["PinnedVersion"] == "none" and props["InstallLatestAwsSdk"] is False
    (_, pinned_lookup) = https.one("Custom::LiveAliasVersion")
    assert pinned_lookup["Properties"]["PinnedVersion"] == "6"
    assert alias_versions(https) == {
        "blue": "6",
        "green": {"Fn::GetAtt": [processing_version_id(https), "Version"]},
    }
    # Versions are kept when a deployment publishes the next one: an alias may still serve one.
    assert https.json["Resources"][processing_version_id(https)]["DeletionPolicy"] == "Retain"
    context = {"env": "qa", "alarm_email": "qa@example.com", "green_version": "12", "blue_version": ""}
    config = PaymentsConfig.from_context(context.get)
    assert (config.blue_version, config.green_version) == (None, 12)
    with pytest.raises(ConfigError, match="green_version"):
        PaymentsConfig(env="qa", alarm_email="qa@example.com", green_version=0)


@pytest.mark.catalogue("payments-01")
def test_each_processing_version_calls_the_downstream_versions_published_with_it(dev):
    """Fix: transaction_processing calls payment_validation and fraud_detection by version ARN
    (part of its configuration, so of each of its versions), not unqualified ($LATEST): blue keeps
    its downstream code while green runs the new one. Those versions are retained, and the role may
    invoke versions only."""
    functions = dev.our_functions()
    processing_id, processing = functions["payments-transaction-processing-dev"]
    variables = processing["Properties"]["Environment"]["Variables"]
    granted = {
        json.dumps(resource)
        for statement in role_statements(dev, processing_id)
        if statement["Action"] == "lambda:InvokeFunction"
        for resource in (
            [statement["Resource"]] if isinstance(statement["Resource"], dict) else statement["Resource"]
        )
    }
    for variable, name in (
        ("VALIDATION_FUNCTION", "payment-validation"),
        ("FRAUD_FUNCTION", "fraud-detection"),
    ):
        downstream_id, _ = functions[f"payments-{name}-dev"]
        version = dev.json["Resources"][variables[variable]["Ref"]]
        assert version["Type"] == "AWS::Lambda::Version", f"{variable} is not a version"
        assert version["Properties"]["FunctionName"] == {"Ref": downstream_id}
        assert version["DeletionPolicy"] == "Retain"
        qualified = {"Fn::Join": ["", [{"Fn::GetAtt": [downstream_id, "Arn"]}, ":*"]]}
        assert json.dumps(qualified) in granted
        assert json.dumps({"Fn::GetAtt": [downstream_id, "Arn"]}) not in granted


@pytest.mark.catalogue("payments-02")
def test_https_listener_only_with_a_certificate(dev, prod, https):
    """Fix: HTTPS with an ACM certificate when one is configured, for the host API Gateway calls and
    verifies (no insecureSkipVerification: a self-signed certificate is no option), otherwise HTTP
    on the internal ALB; prod requires the certificate (never a plain HTTP listener in prod)."""
    from aws_cdk.assertions import Match  # not at import: see conftest.payments

    for synth in (dev, prod, https):
        _, alb = synth.one("AWS::ElasticLoadBalancingV2::LoadBalancer")
        assert alb["Properties"]["Scheme"] == "internal"
        for listener in synth.resources("AWS::ElasticLoadBalancingV2::Listener").values():
            props = listener["Properties"]
            if props["Protocol"] == "HTTPS":
                assert props["Certificates"], "an HTTPS listener without a certificate cannot deploy"
    dev.template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {"Protocol": "HTTP", "Port": 80, "Certificates": Match.absent()},
    )
    https.template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            "Protocol": "HTTPS",
            "Port": 443,
            "Certificates": [{"CertificateArn": Match.string_like_regexp("^arn:aws:acm:")}],
        },
    )
    # API Gateway verifies the ALB's certificate (a self-signed one fails every request): against the
    # name it covers, the URI's host, and never with verification skipped.
    (method,) = https.resources("AWS::ApiGateway::Method").values()
    integration = method["Properties"]["Integration"]
    assert integration["Uri"] == "https://payments.internal.example.com/transactions"
    assert integration.get("TlsConfig", {}).get("InsecureSkipVerification") in (None, False)
    (prod_listener,) = prod.resources("AWS::ElasticLoadBalancingV2::Listener").values()
    assert (prod_listener["Properties"]["Protocol"], prod_listener["Properties"]["Port"]) == ("HTTPS", 443)
    email = {"alarm_email": "oncall@example.com"}
    with pytest.raises(ConfigError, match=r"certificate_arn: required for env=prod.*-c certificate_arn="):
        PaymentsConfig(env="prod", **email)
    with pytest.raises(ConfigError, match="alb_domain_name"):
        PaymentsConfig(env="dev", certificate_arn=CERTIFICATE_ARN, **email)
    with pytest.raises(ConfigError, match="certificate_arn"):
        PaymentsConfig(env="dev", certificate_arn="self-signed", alb_domain_name="x.example.com", **email)


@pytest.mark.catalogue("payments-03")
def test_rotation_schedule_uses_our_function_which_can_reach_aurora_and_secrets_manager(dev):
    """Fix: 30-day RotationSchedule with our Lambda, which reaches Aurora (5432) and the SM endpoint."""
    functions = dev.our_functions()
    rotation_id, rotation = functions["payments-secrets-rotation-dev"]
    dev.one("AWS::SecretsManager::Secret")
    _, schedule = dev.one("AWS::SecretsManager::RotationSchedule")
    props = schedule["Properties"]
    assert props["RotationLambdaARN"] == {"Fn::GetAtt": [rotation_id, "Arn"]}
    assert props["RotationRules"]["ScheduleExpression"] == "rate(30 days)"
    attachment_id, _ = dev.one("AWS::SecretsManager::SecretTargetAttachment")
    assert props["SecretId"] == {"Ref": attachment_id}

    # Network path: rotation SG -> database SG on 5432, and -> endpoint SG on 443.
    rotation_sgs = [sg["Fn::GetAtt"][0] for sg in rotation["Properties"]["VpcConfig"]["SecurityGroupIds"]]
    cluster_sgs = [
        sg["Fn::GetAtt"][0] for sg in dev.one("AWS::RDS::DBCluster")[1]["Properties"]["VpcSecurityGroupIds"]
    ]
    ingress = dev.resources("AWS::EC2::SecurityGroupIngress").values()
    assert any(
        r["Properties"]["FromPort"] == 5432
        and r["Properties"]["GroupId"]["Fn::GetAtt"][0] in cluster_sgs
        and r["Properties"]["SourceSecurityGroupId"]["Fn::GetAtt"][0] in rotation_sgs
        for r in ingress
    )
    # ... and out of the rotation group (allow_all_outbound=False: without this rule, no connection).
    egress = dev.resources("AWS::EC2::SecurityGroupEgress").values()
    assert any(
        r["Properties"]["IpProtocol"] == "tcp"
        and r["Properties"]["FromPort"] == r["Properties"]["ToPort"] == 5432
        and r["Properties"]["GroupId"]["Fn::GetAtt"][0] in rotation_sgs
        and r["Properties"]["DestinationSecurityGroupId"]["Fn::GetAtt"][0] in cluster_sgs
        for r in egress
    )
    endpoints = dev.resources("AWS::EC2::VPCEndpoint").values()
    (sm_endpoint,) = [e for e in endpoints if "secretsmanager" in json.dumps(e["Properties"]["ServiceName"])]
    assert sm_endpoint["Properties"]["PrivateDnsEnabled"] is True
    endpoint_sgs = [sg["Fn::GetAtt"][0] for sg in sm_endpoint["Properties"]["SecurityGroupIds"]]
    assert any(
        r["Properties"]["FromPort"] == 443
        and r["Properties"]["GroupId"]["Fn::GetAtt"][0] in endpoint_sgs
        and r["Properties"]["SourceSecurityGroupId"]["Fn::GetAtt"][0] in rotation_sgs
        for r in ingress
    )
    # And the permissions the four steps need, on this secret.
    policies = [
        p
        for p in dev.resources("AWS::IAM::Policy").values()
        if any(r["Ref"] == rotation["Properties"]["Role"]["Fn::GetAtt"][0] for r in p["Properties"]["Roles"])
    ]
    actions = {
        action
        for policy in policies
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }
    assert {
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecretVersionStage",
        "secretsmanager:GetRandomPassword",
    } <= actions


@pytest.mark.catalogue("payments-03")
def test_rotation_schedule_waits_for_the_database_writer(dev, prod):
    """Fix: the schedule rotates at once when created, so it depends on the writer instance (the
    cluster alone has no instance to log in to: the first rotation would fail)."""
    for synth in (dev, prod):
        _, schedule = synth.one("AWS::SecretsManager::RotationSchedule")
        writer = synth.stack.node.find_child("Data").writer.node.default_child
        writer_id = synth.stack.get_logical_id(writer)
        assert synth.json["Resources"][writer_id]["Type"] == "AWS::RDS::DBInstance"
        assert writer_id in schedule.get("DependsOn", [])


@pytest.mark.catalogue("payments-03")
def test_secrets_manager_may_invoke_the_rotation_function_from_this_account_only(dev):
    """Fix: the invoke permission for secretsmanager.amazonaws.com carries SourceAccount (AWS's
    advice against a confused deputy; no SourceArn, which would tie the function to one secret)."""
    rotation_id, _ = dev.our_functions()["payments-secrets-rotation-dev"]
    (permission,) = [
        p["Properties"]
        for p in dev.resources("AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "secretsmanager.amazonaws.com"
    ]
    assert permission["FunctionName"] == {"Fn::GetAtt": [rotation_id, "Arn"]}
    assert permission["SourceAccount"] == {"Ref": "AWS::AccountId"}


@pytest.mark.catalogue("payments-03")
def test_rotated_passwords_exclude_what_the_generated_secret_excludes(dev):
    """Fix: the rotation function's get_random_password excludes exactly the characters the
    stack's generated secret excludes (a rotated password must be usable wherever the first was)."""
    from lambda_src.cdk_payments.secrets_rotation import index as rotation

    _, secret = dev.one("AWS::SecretsManager::Secret")
    excluded = secret["Properties"]["GenerateSecretString"]["ExcludeCharacters"]
    _, rotation_fn = dev.our_functions()["payments-secrets-rotation-dev"]
    assert rotation_fn["Properties"]["Environment"]["Variables"]["EXCLUDE_CHARACTERS"] == excluded
    assert excluded == rotation.DEFAULT_EXCLUDE_CHARACTERS
    assert {"/", "@", '"', " "} <= set(excluded)  # what an Aurora PostgreSQL master password may not hold


@pytest.mark.catalogue("payments-04")
def test_private_integration_targets_the_alb_through_a_vpc_link_v2(dev, https):
    """Fix: HTTP_PROXY over VPC_LINK (v2) with IntegrationTarget = the ALB and a real uri."""
    for synth, scheme in ((dev, "http"), (https, "https")):
        alb_id, _ = synth.one("AWS::ElasticLoadBalancingV2::LoadBalancer")
        link_id, _ = synth.one("AWS::ApiGatewayV2::VpcLink")
        methods = [
            m
            for m in synth.resources("AWS::ApiGateway::Method").values()
            if m["Properties"]["HttpMethod"] == "POST"
        ]
        (method,) = methods
        integration = method["Properties"]["Integration"]
        assert integration["Type"] == "HTTP_PROXY"
        assert integration["IntegrationHttpMethod"] == "POST"
        assert integration["ConnectionType"] == "VPC_LINK"
        assert integration["ConnectionId"] == {"Ref": link_id}
        assert integration["IntegrationTarget"] == {"Ref": alb_id}
        uri = integration["Uri"]
        rendered = json.dumps(uri)
        assert rendered.startswith(f'{{"Fn::Join": ["", ["{scheme}://') or uri.startswith(f"{scheme}://")
        assert "/transactions" in rendered
    dev_uri = json.dumps(
        next(iter(dev.resources("AWS::ApiGateway::Method").values()))["Properties"]["Integration"]["Uri"]
    )
    assert "DNSName" in dev_uri  # the ALB's own name over HTTP
    assert not dev.resources("AWS::ApiGateway::VpcLink"), "a v1 VPC link cannot target an ALB"


@pytest.mark.catalogue("payments-04")
@pytest.mark.parametrize("variant", sorted(REPLACED))
def test_a_replaced_vpc_link_or_load_balancer_makes_a_new_api_deployment(payments, variant):
    """Fix: a deployment snapshots the integration, so when the VPC link or the load balancer is
    replaced (a security group or subnet of the link replaced, the load balancer renamed) the stage
    must get a new deployment, or it goes on routing to the deleted one. The method reads the same
    (the same Refs: a replacement, not another construct); the deployment's logical id hashes what
    replaces them (CloudFormation's createOnlyProperties, followed through references)."""
    from cdk_payments.replacement import REPLACED_BY  # imports the CDK: not at collection

    def integration_and_deployment(synth):
        (method,) = synth.resources("AWS::ApiGateway::Method").values()
        (deployment_id,) = synth.resources("AWS::ApiGateway::Deployment")
        _, stage = synth.one("AWS::ApiGateway::Stage")
        assert stage["Properties"]["DeploymentId"] == {"Ref": deployment_id}
        return method["Properties"]["Integration"], deployment_id

    dev, replaced = payments["dev-baseline"], payments[variant]  # both without path metadata
    dev_integration, dev_deployment = integration_and_deployment(dev)
    integration, deployment = integration_and_deployment(replaced)
    assert integration == dev_integration  # same ConnectionId and IntegrationTarget references
    changed = {
        logical_id
        for logical_id, resource in replaced.json["Resources"].items()
        if resource["Type"] in REPLACED_BY
        and dev.json["Resources"][logical_id]["Properties"] != resource["Properties"]
    }
    assert changed, REPLACED[variant][0]
    assert deployment != dev_deployment, f"{REPLACED[variant][0]}, and the stage keeps the old deployment"


def test_replacing_properties_are_cloudformations_create_only_properties():
    """REPLACED_BY is CloudFormation's own: each type's createOnlyProperties in the resource schemas
    cfn-lint ships (a change to any of them replaces the resource)."""
    import importlib.resources
    import os

    from cdk_payments.replacement import REPLACED_BY

    schemas = importlib.resources.files("cfnlint.data.schemas")
    index = json.loads((schemas / "providers" / "us-east-1.json").read_text())
    resources = schemas / "resources"
    for cfn_type, names in REPLACED_BY.items():
        (schema,) = [f for f in os.listdir(str(resources)) if f.startswith(index[cfn_type])]
        create_only = json.loads((resources / schema).read_text())["createOnlyProperties"]
        top_level = {p.split("/")[2] for p in create_only}
        assert set(names) == top_level, cfn_type


@pytest.mark.catalogue("payments-05")
def test_every_function_bundle_carries_its_requirements(dev):
    """Fix: each function's pinned requirements.txt, built into its bundle or provided by the layer."""
    from lambda_src.build import bundled_requirements, functions, layer_requirements

    payments = [f for f in functions() if f.stack == "cdk_payments"]
    assert sorted(f.name for f in payments) == sorted(OUR_FUNCTIONS)
    layer_site = LAYER_DIR / "python"
    for function in payments:
        for name, version in function.requirements.items():
            provided_by = (
                layer_site if name in layer_requirements() else function_dir(function.stack, function.name)
            )
            dist = re.sub(r"[-.]", "_", name)
            assert list(provided_by.glob(f"{dist}-{version}.dist-info")), (
                f"{function.name}: {name}=={version} not built"
            )
    rotation = next(f for f in payments if f.name == "secrets_rotation")
    assert "psycopg2-binary" in bundled_requirements(rotation)
    assert (function_dir("cdk_payments", "secrets_rotation") / "psycopg2" / "__init__.py").exists()


@pytest.mark.catalogue("payments-06")
def test_one_db_subnet_group_and_the_cluster_uses_it(dev):
    """Fix: no stray SubnetGroup; the cluster's own subnet group is the only one."""
    group_id, _ = dev.one("AWS::RDS::DBSubnetGroup")
    _, cluster = dev.one("AWS::RDS::DBCluster")
    assert cluster["Properties"]["DBSubnetGroupName"] == {"Ref": group_id}


@pytest.mark.catalogue("payments-07")
def test_each_target_group_has_a_scoped_invoke_permission_it_depends_on(dev, https):
    """Fix: ELB may invoke each alias only from its own target group (source ARN by name), created first."""
    for synth in (dev, https):
        permissions = {
            logical_id: p
            for logical_id, p in synth.resources("AWS::Lambda::Permission").items()
            if p["Properties"]["Principal"] == "elasticloadbalancing.amazonaws.com"
        }
        assert len(permissions) == 2
        for permission in permissions.values():
            assert "SourceArn" in permission["Properties"], (
                "an unscoped ELB permission lets any load balancer invoke"
            )
        for group_id, group in target_groups(synth).items():
            name = group["Properties"]["Name"]
            (target,) = group["Properties"]["Targets"]
            matching = [
                logical_id
                for logical_id, p in permissions.items()
                if p["Properties"]["FunctionName"] == target["Id"]
                and f":targetgroup/{name}/*" in json.dumps(p["Properties"]["SourceArn"])
                and p["Properties"]["SourceAccount"] == {"Ref": "AWS::AccountId"}
            ]
            assert len(matching) == 1, f"{group_id}: no permission scoped to targetgroup/{name}"
            depends_on = synth.json["Resources"][group_id].get("DependsOn", [])
            assert matching[0] in depends_on, "the target group must be created after its permission"
            assert ":loadbalancer/" not in json.dumps(permissions[matching[0]]["Properties"]["SourceArn"])


@pytest.mark.catalogue("payments-09")
def test_every_dashboard_metric_names_its_region(dev):
    """Fix: each metric of each widget renders with the stack's region."""
    _, dashboard = dev.one("AWS::CloudWatch::Dashboard")
    body = dashboard["Properties"]["DashboardBody"]
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    text = "".join(p if isinstance(p, str) else "TOKEN" for p in parts)
    # Tokens stand in for names and the region; the region token must be the pseudo parameter.
    assert {"Ref": "AWS::Region"} in parts
    widgets = json.loads(text)["widgets"]
    metrics = [m for w in widgets if "metrics" in w["properties"] for m in w["properties"]["metrics"]]
    assert len(metrics) >= 8
    for metric in metrics:
        options = metric[-1]
        assert isinstance(options, dict) and options.get("region") == "TOKEN", metric


@pytest.mark.catalogue("payments-10")
def test_new_audit_objects_notify_the_audit_topic(dev):
    """Fix: s3:ObjectCreated:* with prefix audit/ -> encrypted audit topic S3 may publish to."""
    _, notifications = dev.one("Custom::S3BucketNotifications")
    (config,) = notifications["Properties"]["NotificationConfiguration"]["TopicConfigurations"]
    assert config["Events"] == ["s3:ObjectCreated:*"]
    assert config["Filter"] == {"Key": {"FilterRules": [{"Name": "prefix", "Value": "audit/"}]}}
    topic_id = config["TopicArn"]["Ref"]
    topic = dev.json["Resources"][topic_id]
    assert topic["Properties"]["TopicName"] == "payments-audit-events-dev"
    key_id = topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    statements = dev.json["Resources"][key_id]["Properties"]["KeyPolicy"]["Statement"]
    assert any(
        "s3.amazonaws.com" in json.dumps(s["Principal"]) and "kms:GenerateDataKey*" in s["Action"]
        for s in statements
    )
    policies = [
        p
        for p in dev.resources("AWS::SNS::TopicPolicy").values()
        if {"Ref": topic_id} in p["Properties"]["Topics"]
    ]
    assert any(
        s.get("Principal") == {"Service": "s3.amazonaws.com"} and s["Action"] == "sns:Publish"
        for p in policies
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    )


@pytest.mark.catalogue("payments-11")
def test_customer_index_projects_exactly_what_the_history_query_reads(dev):
    """Fix: GSI projection INCLUDE with the fraud query's attributes, not ALL."""
    _, table = dev.one("AWS::DynamoDB::GlobalTable")
    (index,) = table["Properties"]["GlobalSecondaryIndexes"]
    assert index["Projection"]["ProjectionType"] == "INCLUDE"
    assert sorted(index["Projection"]["NonKeyAttributes"]) == sorted(HISTORY_ATTRIBUTES)
    assert [k["AttributeName"] for k in index["KeySchema"]] == ["customer_id", "created_at"]


@pytest.mark.catalogue("payments-12")
def test_every_function_uses_the_shared_layer_on_a_supported_runtime(dev):
    """Fix: one python3.12 layer with common/ and the shared dependencies, attached to all four functions."""
    from cdk_payments.constructs import compute as compute_module  # imports the CDK: see conftest.payments

    layer_id, layer = dev.one("AWS::Lambda::LayerVersion")
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
    functions = dev.our_functions()
    assert len(functions) == 4
    for _, fn in functions.values():
        assert fn["Properties"]["Runtime"] == compute_module.LAMBDA_RUNTIME.name == RUNTIME == "python3.12"
        assert fn["Properties"]["Layers"] == [{"Ref": layer_id}]
    site = LAYER_DIR / "python"
    assert (site / "common" / "validation.py").exists()
    assert (site / "aws_lambda_powertools").is_dir()
    for function in OUR_FUNCTIONS:
        bundle = function_dir("cdk_payments", function)
        assert not (bundle / "aws_lambda_powertools").exists(), f"{function} duplicates the layer"
        assert not (bundle / "common").exists()
