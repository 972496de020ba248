"""One test (at least) per catalogue entry fraud-01 .. fraud-22, over the program run once under
Pulumi mocks. Docstrings name the fix; catalogue/fraud.toml has the story."""

from __future__ import annotations

import ast
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from pulumi_fraud_pipeline.config import ConfigError, FraudConfig
from pulumi_offline import archive_path

ROOT = Path(__file__).resolve().parents[2]
FUNCTION = "aws:lambda/function:Function"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
STAGE = "aws:apigateway/stage:Stage"
FUNCTIONS = ("validator", "fraud_detector", "failed_handler")
EMAIL = "oncall@example.com"


def queue_arn(fraud, queue: dict) -> str:
    """The ARN the mocks gave a queue (resources.json records inputs; ARNs appear where referenced)."""
    region = fraud.region(queue)
    return f"arn:aws:sqs:{region}:123456789012:{queue['inputs']['name']}"


def endpoints(fraud):
    return {e["inputs"]["serviceName"].rsplit(".", 1)[1]: e for e in fraud.of_type(ENDPOINT)}


@pytest.mark.catalogue("fraud-01")
def test_waf_with_managed_rules_and_rate_limit_is_associated_after_the_stage(fraud):
    """Fix: REGIONAL WebACL (Common, KnownBadInputs, SQLi, rate limit) on the stage, associated after it."""
    (acl,) = fraud.of_type("aws:wafv2/webAcl:WebAcl")
    assert acl["inputs"]["scope"] == "REGIONAL"
    groups = {
        r["statement"]["managedRuleGroupStatement"]["name"]
        for r in acl["inputs"]["rules"]
        if "managedRuleGroupStatement" in r["statement"]
    }
    assert groups == {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesSQLiRuleSet",
    }
    for rule in acl["inputs"]["rules"]:
        if "managedRuleGroupStatement" in rule["statement"]:
            # "none" keeps the group's own Block actions; "count" (or overrides to count) only logs.
            assert rule["overrideAction"] == {"none": {}}, rule["name"]
            assert "ruleActionOverrides" not in rule["statement"]["managedRuleGroupStatement"], rule["name"]
    assert acl["inputs"]["defaultAction"] == {"allow": {}}
    (rate,) = [r for r in acl["inputs"]["rules"] if "rateBasedStatement" in r["statement"]]
    assert rate["statement"]["rateBasedStatement"]["aggregateKeyType"] == "IP" and "block" in rate["action"]
    (association,) = fraud.of_type("aws:wafv2/webAclAssociation:WebAclAssociation")
    (stage,) = fraud.of_type(STAGE)
    assert stage["urn"] in association["dependencies"]
    assert association["inputs"]["resourceArn"].endswith(f"/stages/{stage['inputs']['stageName']}")


@pytest.mark.catalogue("fraud-02")
def test_interface_endpoints_for_sqs_sns_logs_and_xray(fraud):
    """Fix: Interface endpoints (private DNS) for SQS, SNS, CloudWatch Logs and X-Ray."""
    found = endpoints(fraud)
    for service in ("sqs", "sns", "logs", "xray"):
        assert found[service]["inputs"]["vpcEndpointType"] == "Interface"
        assert found[service]["inputs"]["privateDnsEnabled"] is True
        assert len(found[service]["inputs"]["subnetIds"]) == 2


@pytest.mark.catalogue("fraud-03", "fraud-16")
def test_dynamodb_gateway_endpoint_is_on_the_private_route_tables(fraud):
    """Fix: the DynamoDB Gateway endpoint lists both private route tables (not [])."""
    gateway = endpoints(fraud)["dynamodb"]
    assert gateway["inputs"]["vpcEndpointType"] == "Gateway"
    tables = {f"{t['id']}" for t in fraud.of_type("aws:ec2/routeTable:RouteTable")}
    assert len(tables) == 2 and set(gateway["inputs"]["routeTableIds"]) == tables


@pytest.mark.catalogue("fraud-02", "fraud-03")
def test_lambda_security_group_allows_https_to_the_endpoints_and_dynamodb_only(fraud):
    """Fix: the functions leave only on 443, to the interface endpoints' SG and to DynamoDB's prefix
    list (its gateway endpoint). The provider removes AWS's default allow-all egress rule."""
    groups = {g["urn"].rsplit("::", 1)[1]: g for g in fraud.of_type("aws:ec2/securityGroup:SecurityGroup")}
    lambda_sg = groups["network-lambda-sg"]
    assert "egress" not in lambda_sg["inputs"]  # no inline rules beside the rule resources
    assert fraud.of_type("aws:ec2/securityGroupRule:SecurityGroupRule") == []
    egress = [
        r
        for r in fraud.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
        if r["inputs"]["securityGroupId"] == lambda_sg["id"]
    ]
    assert len(egress) == 2
    for rule in egress:
        assert (rule["inputs"]["ipProtocol"], rule["inputs"]["fromPort"], rule["inputs"]["toPort"]) == (
            "tcp",
            443,
            443,
        )
        assert not {"cidrIpv4", "cidrIpv6"} & rule["inputs"].keys()
    (to_endpoints,) = [r for r in egress if "referencedSecurityGroupId" in r["inputs"]]
    assert to_endpoints["inputs"]["referencedSecurityGroupId"] == groups["network-endpoint-sg"]["id"]
    (to_dynamodb,) = [r for r in egress if "prefixListId" in r["inputs"]]
    gateway = endpoints(fraud)["dynamodb"]
    assert gateway["urn"] in to_dynamodb["dependencies"]  # the prefix list is that endpoint's output
    assert to_dynamodb["inputs"]["prefixListId"] == "pl-mock"  # the mocks' prefix list id


@pytest.mark.catalogue("fraud-04")
def test_each_private_subnet_has_its_own_route_table(fraud):
    """Fix: a route table per private subnet, explicitly associated; no internet route."""
    subnets = {s["id"] for s in fraud.of_type("aws:ec2/subnet:Subnet")}
    associations = fraud.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
    assert {a["inputs"]["subnetId"] for a in associations} == subnets and len(subnets) == 2
    assert len({a["inputs"]["routeTableId"] for a in associations}) == 2
    assert not fraud.of_type("aws:ec2/internetGateway:InternetGateway")
    assert not fraud.of_type("aws:ec2/natGateway:NatGateway")
    assert all(s["inputs"]["mapPublicIpOnLaunch"] is False for s in fraud.of_type("aws:ec2/subnet:Subnet"))


@pytest.mark.catalogue("fraud-05")
def test_dashboard_lambda_metrics_name_their_function(fraud):
    """Fix: every AWS/Lambda metric on the dashboard carries a FunctionName dimension."""
    (dashboard,) = fraud.of_type("aws:cloudwatch/dashboard:Dashboard")
    names = {f["inputs"]["name"] for f in fraud.of_type(FUNCTION)}
    metrics = [
        m
        for w in json.loads(dashboard["inputs"]["dashboardBody"])["widgets"]
        for m in w["properties"]["metrics"]
        if m[0] == "AWS/Lambda"
    ]
    assert len(metrics) >= 12
    for metric in metrics:
        assert metric[2] == "FunctionName" and metric[3] in names


def error_alarms(fraud) -> dict[str, list[dict]]:
    """Function name -> every alarm that reads its AWS/Lambda Errors, as a plain metric or in math."""
    found: dict[str, list[dict]] = {}
    for alarm in fraud.of_type(ALARM):
        inputs = alarm["inputs"]
        metrics = [inputs] + [q["metric"] for q in inputs.get("metricQueries", []) if "metric" in q]
        for metric in metrics:
            if metric.get("namespace") == "AWS/Lambda" and metric.get("metricName") == "Errors":
                found.setdefault(metric["dimensions"]["FunctionName"], []).append(alarm)
    return found


@pytest.mark.catalogue("fraud-06")
def test_every_function_has_an_error_alarm_with_an_action(fraud):
    """Fix: an error alarm for each of the three functions, notifying the ops topic."""
    alarms = error_alarms(fraud)
    assert set(alarms) == {f["inputs"]["name"] for f in fraud.of_type(FUNCTION)}
    for function_alarms in alarms.values():
        for alarm in function_alarms:
            assert alarm["inputs"]["alarmActions"] == [fraud.outputs["ops_topic_arn"]]


@pytest.mark.catalogue("fraud-07")
def test_alarm_is_an_error_rate_safe_at_zero_invocations(fraud):
    """Fix: 100*errors/invocations via metric math, guarded for zero invocations, threshold 1 (%);
    no function's errors alarm on a bare count."""
    alarms = error_alarms(fraud)
    assert len(alarms) == len(FUNCTIONS)
    for function_name, function_alarms in alarms.items():
        (alarm,) = function_alarms  # one per function, and it is the rate
        assert "metricName" not in alarm["inputs"], f"{function_name}: an Errors count, not a rate"
        queries = {q["id"]: q for q in alarm["inputs"]["metricQueries"]}
        assert queries["error_rate"]["expression"] == "IF(invocations > 0, 100 * errors / invocations, 0)"
        assert [q["id"] for q in queries.values() if q.get("returnData")] == ["error_rate"]
        for query_id, metric in (("errors", "Errors"), ("invocations", "Invocations")):
            assert queries[query_id]["metric"]["metricName"] == metric
            assert queries[query_id]["metric"]["dimensions"] == {"FunctionName": function_name}
        assert (
            alarm["inputs"]["threshold"] == 1
            and alarm["inputs"]["comparisonOperator"] == "GreaterThanThreshold"
        )
        assert alarm["inputs"]["treatMissingData"] == "notBreaching"


@pytest.mark.catalogue("fraud-08")
def test_both_topics_have_the_required_email_subscriber(fraud):
    """Fix: alertEmail is required config; the committed dev stack subscribes it to both topics."""
    dev = yaml.safe_load((ROOT / "pulumi_fraud_pipeline" / "Pulumi.dev.yaml").read_text())["config"]
    subscriptions = fraud.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert {
        (s["inputs"]["topic"], s["inputs"]["protocol"], s["inputs"]["endpoint"]) for s in subscriptions
    } == {
        (fraud.outputs[topic], "email", dev["fraud-pipeline:alertEmail"])
        for topic in ("fraud_topic_arn", "ops_topic_arn")
    }
    with pytest.raises(ConfigError, match=r"alertEmail: required .*pulumi config set alertEmail "):
        FraudConfig(env="dev", alert_email="")
    with pytest.raises(ConfigError, match="alertEmail"):
        FraudConfig(env="dev", alert_email="not-an-address")


@pytest.mark.catalogue("fraud-09", "fraud-18")
def test_explicit_stage_with_xray(fraud):
    """Fix: an aws.apigateway.Stage resource (not Deployment(stage_name)) with X-Ray tracing."""
    (stage,) = fraud.of_type(STAGE)
    assert stage["inputs"]["xrayTracingEnabled"] is True
    (deployment,) = fraud.of_type("aws:apigateway/deployment:Deployment")
    assert "stageName" not in deployment["inputs"]
    assert stage["inputs"]["deployment"] == deployment["id"]
    assert deployment["inputs"]["triggers"]["redeployment"]


@pytest.mark.catalogue("fraud-10")
def test_stage_name_comes_from_config_not_prod(fraud):
    """Fix: the stage is named from config (v1), never a hard-coded prod."""
    (stage,) = fraud.of_type(STAGE)
    assert stage["inputs"]["stageName"] == "v1"
    with pytest.raises(ConfigError, match="fraud-10"):
        FraudConfig(env="dev", alert_email=EMAIL, stage_name="prod")


@pytest.mark.catalogue("fraud-11")
def test_dashboard_url_is_exported_once(fraud):
    """Fix: the dashboard URL is a stack output once; no component registers it again."""
    assert fraud.outputs["dashboard_url"].endswith("#dashboards:name=fraud-pipeline-dev-us-east-2")
    for path in (ROOT / "pulumi_fraud_pipeline" / "components").glob("*.py"):
        assert "dashboard_url" not in path.read_text(), path.name


@pytest.mark.catalogue("fraud-12")
@pytest.mark.parametrize("function", FUNCTIONS)
def test_handlers_trace_their_aws_calls_and_functions_trace_actively(function, fraud):
    """Fix: each handler runs inside common.tracing's span (botocore instrumented by OpenTelemetry:
    every boto3 call a span of the function's X-Ray trace; shown end to end, and for every handler,
    in tests/lambda_src/test_tracing.py), and the function traces actively."""
    source = (ROOT / "lambda_src" / "pulumi_fraud_pipeline" / function / "index.py").read_text()
    handler = next(
        n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == "handler"
    )
    assert any(ast.unparse(d) == "tracing.traced" for d in handler.decorator_list)
    fn = fraud.named(FUNCTION, f"compute-{function}")
    assert fn["inputs"]["tracingConfig"] == {"mode": "Active"}


def create_table(inputs: dict) -> Any:
    """The table as the program declares it (keys, attributes, GSIs with their projection), in moto."""
    indexes = [
        {
            "IndexName": index["name"],
            "KeySchema": [
                {"AttributeName": k["attributeName"], "KeyType": k["keyType"]} for k in index["keySchemas"]
            ],
            "Projection": {
                "ProjectionType": index["projectionType"],
                **({"NonKeyAttributes": index["nonKeyAttributes"]} if "nonKeyAttributes" in index else {}),
            },
        }
        for index in inputs["globalSecondaryIndexes"]
    ]
    return boto3.resource("dynamodb").create_table(
        TableName=inputs["name"],
        KeySchema=[{"AttributeName": inputs["hashKey"], "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": a["name"], "AttributeType": a["type"]} for a in inputs["attributes"]
        ],
        GlobalSecondaryIndexes=indexes,
        BillingMode=inputs["billingMode"],
    )


def resolved_key_condition(query: dict) -> set[str]:
    """The clauses of a Query's KeyConditionExpression with names and values filled in."""
    names, values = query["ExpressionAttributeNames"], query["ExpressionAttributeValues"]
    text = re.sub(r"#\w+", lambda m: names[m.group()], query["KeyConditionExpression"])
    text = re.sub(r":\w+", lambda m: next(iter(values[m.group()].values())), text)
    return {clause.strip("() ") for clause in text.split(" AND ")}


@pytest.mark.catalogue("fraud-13")
def test_detector_queries_the_merchant_time_index_for_the_last_24_hours(fraud, monkeypatch):
    """Fix: the detector reads the merchant's history through the merchant/time GSI, with a key
    condition on merchant_id and the created_at window (not transaction_id = :tid)."""
    from lambda_src.pulumi_fraud_pipeline.fraud_detector import index as detector

    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    detector_fn = fraud.named(FUNCTION, "compute-fraud_detector")
    for key, value in detector_fn["inputs"]["environment"]["variables"].items():
        monkeypatch.setenv(key, value)  # wired as deployed: table and index names from the program
    monkeypatch.setattr(detector, "_deps", None)
    table_inputs = fraud.named("aws:dynamodb/table:Table", "data-transactions")["inputs"]
    with mock_aws():
        table = create_table(table_inputs)
        for txn_id, merchant, hours_ago in (("recent", "m-1", 1), ("old", "m-1", 25), ("other", "m-2", 1)):
            created = (now - timedelta(hours=hours_ago)).isoformat()
            table.put_item(
                Item={"transaction_id": txn_id, "merchant_id": merchant, "created_at": created, "amount": 10}
            )
        deps = detector._default_deps()
        queries: list[dict] = []
        deps.table.meta.client.meta.events.register(
            "before-call.dynamodb.Query", lambda params, **_: queries.append(json.loads(params["body"]))
        )
        transaction = {**json.loads(fraud.outputs["sample_transaction"]), "merchant_id": "m-1"}
        result = detector.detect(json.dumps(transaction), deps, now, "message-1")
        history = deps.history("m-1", now - timedelta(hours=24))
    assert result["decision"] == "APPROVE"
    (query, _) = queries  # detect's, then ours
    (index,) = table_inputs["globalSecondaryIndexes"]
    assert query["IndexName"] == index["name"] and query["TableName"] == table_inputs["name"]
    assert resolved_key_condition(query) == {
        "merchant_id = m-1",
        f"created_at >= {(now - timedelta(hours=24)).isoformat()}",
    }
    assert [t.transaction_id for t in history] == ["recent"]  # not the older one, not another merchant's


@pytest.mark.catalogue("fraud-14")
def test_functions_ship_their_requirements_from_lambda_src(fraud):
    """Fix: code and pinned requirements from lambda_src/ (bundle + shared layer), not a bare folder."""
    from lambda_src.build import LAYER_DIR, function_dir

    (layer,) = fraud.of_type("aws:lambda/layerVersion:LayerVersion")
    assert archive_path(layer["inputs"]["code"]) == str(LAYER_DIR.relative_to(ROOT))
    assert list((LAYER_DIR / "python").glob("opentelemetry_instrumentation_botocore-*.dist-info"))
    for function in FUNCTIONS:
        fn = fraud.named(FUNCTION, f"compute-{function}")
        path = function_dir("pulumi_fraud_pipeline", function)
        assert archive_path(fn["inputs"]["code"]) == str(path.relative_to(ROOT))
        assert (path / "index.py").is_file()
        (layer_arn,) = fn["inputs"]["layers"]
        assert layer_arn.endswith(":layer:fraud-shared-dev:1")  # the mocks' ARN for that layer
        requirements = (
            ROOT / "lambda_src" / "pulumi_fraud_pipeline" / function / "requirements.txt"
        ).read_text()
        assert "opentelemetry-instrumentation-botocore==" in requirements  # what traces boto3 (fraud-12)


@pytest.mark.catalogue("fraud-15")
def test_queues_redrive_to_a_dlq_and_consumers_report_batch_item_failures(fraud):
    """Fix: ReportBatchItemFailures on both event source mappings; the queue redrives to the DLQ
    after 5 receives, the least AWS advises for a queue Lambda polls (it was 3)."""
    mappings = fraud.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
    assert len(mappings) == 2
    for mapping in mappings:
        assert mapping["inputs"]["functionResponseTypes"] == ["ReportBatchItemFailures"]
    queue = fraud.named("aws:sqs/queue:Queue", "queueing-queue")
    redrive = json.loads(queue["inputs"]["redrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(":fraud-transactions-dlq-dev")
    assert redrive["maxReceiveCount"] == 5
    (detector_mapping,) = [m for m in mappings if m["inputs"]["eventSourceArn"] == queue_arn(fraud, queue)]
    assert detector_mapping["inputs"]["functionName"].endswith(":function:fraud-fraud-detector-dev")
    # AWS's guidance for each consumer: a visibility timeout of six times its function's timeout.
    for queue_name, consumer in (
        ("queueing-queue", "compute-fraud_detector"),
        ("queueing-dlq", "compute-failed_handler"),
    ):
        visibility = fraud.named("aws:sqs/queue:Queue", queue_name)["inputs"].get(
            "visibilityTimeoutSeconds", 30
        )
        assert visibility >= 6 * fraud.named(FUNCTION, consumer)["inputs"]["timeout"], queue_name
    assert all(q["inputs"]["sqsManagedSseEnabled"] is True for q in fraud.of_type("aws:sqs/queue:Queue"))


@pytest.mark.catalogue("fraud-15")
def test_queue_consumers_are_bounded_by_their_mapping_not_by_throttling(fraud):
    """Fix: maximum concurrency on each event source mapping and no reserved concurrency by default:
    a throttled invocation counts as a receive, so throttling sent valid messages to the DLQ."""
    mappings = fraud.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
    assert [m["inputs"]["scalingConfig"] for m in mappings] == [{"maximumConcurrency": 5}] * 2
    for function in fraud.of_type(FUNCTION):
        assert "reservedConcurrentExecutions" not in function["inputs"], function["urn"]


@pytest.mark.catalogue("fraud-17")
def test_endpoint_security_group_admits_https_from_the_lambda_group_only(fraud):
    """Fix: the interface endpoints' SG admits 443 from the Lambda SG, nothing else."""
    groups = {g["urn"].rsplit("::", 1)[1]: g for g in fraud.of_type("aws:ec2/securityGroup:SecurityGroup")}
    endpoint_sg, lambda_sg = groups["network-endpoint-sg"]["id"], groups["network-lambda-sg"]["id"]
    for endpoint in endpoints(fraud).values():
        if endpoint["inputs"]["vpcEndpointType"] == "Interface":
            assert endpoint["inputs"]["securityGroupIds"] == [endpoint_sg]
    (ingress,) = fraud.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert ingress["inputs"]["securityGroupId"] == endpoint_sg
    assert ingress["inputs"]["referencedSecurityGroupId"] == lambda_sg
    assert (ingress["inputs"]["fromPort"], ingress["inputs"]["toPort"], ingress["inputs"]["ipProtocol"]) == (
        443,
        443,
        "tcp",
    )
    assert "cidrIpv4" not in ingress["inputs"]


@pytest.mark.catalogue("fraud-19")
def test_stage_writes_json_access_logs_to_a_group_with_retention(fraud):
    """Fix: access logs (JSON) to a log group with retention, throttling on every method."""
    (stage,) = fraud.of_type(STAGE)
    settings = stage["inputs"]["accessLogSettings"]
    assert "requestId" in json.loads(settings["format"])
    group = fraud.named("aws:cloudwatch/logGroup:LogGroup", "api-access-logs")
    assert settings["destinationArn"].endswith(group["inputs"]["name"])
    assert group["inputs"]["retentionInDays"] == 30
    (throttle,) = fraud.of_type("aws:apigateway/methodSettings:MethodSettings")
    assert throttle["inputs"]["methodPath"] == "*/*"
    assert throttle["inputs"]["settings"]["throttlingRateLimit"] == 50


@pytest.mark.catalogue("fraud-20")
def test_every_function_has_an_on_failure_destination(fraud):
    """Fix: async invocation failures go to a queue (FunctionEventInvokeConfig on_failure)."""
    configs = fraud.of_type("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
    names = {f["inputs"]["name"] for f in fraud.of_type(FUNCTION)}
    assert {c["inputs"]["functionName"] for c in configs} == names
    for config in configs:
        assert config["inputs"]["destinationConfig"]["onFailure"]["destination"].endswith(
            ":fraud-async-failures-dev"
        )


@pytest.mark.catalogue("fraud-21")
def test_outputs_include_names_and_a_sample_transaction_the_validator_accepts(fraud):
    """Fix: API URL, names, and a sample transaction JSON (valid per the shared rules)."""
    from common.validation import validate_transaction

    outputs = fraud.outputs
    assert {
        "api_url",
        "transactions_table",
        "queue_name",
        "dlq_name",
        "fraud_topic_arn",
        "dashboard_url",
        "sample_transaction",
    } <= set(outputs)
    assert outputs["api_url"].endswith("/v1/transactions")
    validate_transaction(json.loads(outputs["sample_transaction"]))


@pytest.mark.catalogue("fraud-22")
def test_taggable_resources_carry_their_component_and_the_provider_default_tags(fraud):
    """Fix: a component tag on every taggable resource; project/environment via provider default tags."""
    (provider,) = fraud.of_type("pulumi:providers:aws")
    assert json.loads(provider["inputs"]["defaultTags"])["tags"] == {
        "project": "fraud-pipeline",
        "environment": "dev",
        "managed-by": "pulumi",
    }
    tagged = [r for r in fraud.resources if r["custom"] and "tags" in r["inputs"]]
    assert len(tagged) >= 25
    for resource in tagged:
        parent_type = fraud.by_urn(resource["parent"])["type"]
        assert resource["inputs"]["tags"]["component"] == parent_type.split(":")[-1].lower(), resource["urn"]
    for fn in fraud.of_type(FUNCTION):
        assert fn["provider"].startswith(provider["urn"])
