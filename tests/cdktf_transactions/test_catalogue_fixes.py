"""One test (at least) per catalogue entry transactions-01 .. transactions-10, over stacks
synthesized once per session. Docstrings name the fix; catalogue/transactions.toml has the story."""

from __future__ import annotations

import json
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from cdktf_transactions.config import MAX_RESERVED_CONCURRENCY, ConfigError, TransactionsConfig
from cdktf_transactions.definition import LAMBDA_INVOKE, RETRYABLE_ERRORS, Targets, definition
from lambda_src.build import functions
from tests.cdktf_transactions.conftest import ACCOUNT
from tests.iam.requests import required_actions

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = re.compile(r"\$\{((?:data\.)?aws_[a-z0-9_]+\.[A-Za-z0-9_-]+)")
FUNCTIONS = ("validation", "fraud_check", "settlement", "notification")
EVENTBRIDGE = "events.amazonaws.com"
GATEWAY_SERVICES = {"dynamodb", "s3"}  # they have Gateway endpoints, free (their Interface ones bill hourly)


def lambda_functions(synth):
    return synth.resources("aws_lambda_function")


@pytest.mark.catalogue("transactions-01")
def test_reserved_concurrency_is_opt_in_and_bounded(dev, prod):
    """Fix: no reservation unless configured (the account keeps its unreserved pool whole); when
    configured at most 10 per function; 0, which would throttle every invocation, is refused."""
    assert len(lambda_functions(dev)) == len(lambda_functions(prod)) == 4
    for fn in lambda_functions(dev).values():
        assert "reserved_concurrent_executions" not in fn
    for fn in lambda_functions(prod).values():
        assert fn["reserved_concurrent_executions"] == 10 <= MAX_RESERVED_CONCURRENCY
    for bad, message in ((100, "100 must be 1..10"), (0, "0 reserves no executions")):
        with pytest.raises(ConfigError, match=f"RESERVED_CONCURRENCY: {message}"):
            TransactionsConfig(env="dev", alarm_email="a@example.com", reserved_concurrency=bad)


@pytest.mark.catalogue("transactions-02")
def test_packages_resolve_from_the_stack_directory_and_hold_the_real_code(dev):
    """Fix: TerraformAsset zips, referenced relative to cdktf.out/stacks/<stack>/ where Terraform runs."""
    packaged = [*lambda_functions(dev).values(), *dev.resources("aws_lambda_layer_version").values()]
    assert len(packaged) == 5
    for resource in packaged:
        filename = resource["filename"]
        assert not Path(filename).is_absolute() and not filename.startswith("..")
        archive = dev.directory / filename
        assert archive.is_file(), f"{filename} does not resolve from {dev.directory}"
        assert resource["source_code_hash"] == f'${{filebase64sha256("{filename}")}}'
    for fn in lambda_functions(dev).values():
        names = zipfile.ZipFile(dev.directory / fn["filename"]).namelist()
        assert "index.py" in names
        source = fn["environment"]["variables"]["POWERTOOLS_SERVICE_NAME"]
        zipped = zipfile.ZipFile(dev.directory / fn["filename"]).read("index.py")
        assert zipped == (ROOT / "lambda_src" / "cdktf_transactions" / source / "index.py").read_bytes()
    (layer,) = dev.resources("aws_lambda_layer_version").values()
    assert "python/common/validation.py" in zipfile.ZipFile(dev.directory / layer["filename"]).namelist()


@pytest.mark.catalogue("transactions-03")
def test_functions_are_zip_packages_not_missing_images(dev):
    """Fix: package_type Zip with the real code; no image_uri, no ECR repository to fill first."""
    for fn in lambda_functions(dev).values():
        assert fn["package_type"] == "Zip" and "image_uri" not in fn and fn["handler"] == "index.handler"
    assert "aws_ecr_repository" not in dev.json["resource"]


def endpoints(synth):
    return {e["service_name"].rsplit(".", 1)[1]: e for e in synth.resources("aws_vpc_endpoint").values()}


@pytest.mark.catalogue("transactions-04")
def test_endpoint_types_match_the_services(dev):
    """Fix: DynamoDB on a Gateway endpoint on the private route tables; SNS on an Interface one."""
    route_tables = {f"${{aws_route_table.{name}.id}}" for name in dev.resources("aws_route_table")}
    assert len(route_tables) == 2
    found = endpoints(dev)
    for service, endpoint in found.items():
        assert endpoint["vpc_endpoint_type"] == ("Gateway" if service in GATEWAY_SERVICES else "Interface")
        if endpoint["vpc_endpoint_type"] == "Gateway":
            assert set(endpoint["route_table_ids"]) == route_tables
        else:
            assert endpoint["private_dns_enabled"] is True
            assert len(endpoint["subnet_ids"]) == 2 and endpoint["security_group_ids"]
    assert found["dynamodb"]["vpc_endpoint_type"] == "Gateway"


@pytest.mark.catalogue("transactions-04")
def test_endpoints_are_exactly_the_services_the_functions_call(dev):
    """Fix: an interface endpoint costs per hour and zone: one per service the handlers' code calls
    (Lambda ships their logs and X-Ray segments itself; Step Functions is not in the VPC)."""
    called = {
        action.split(":")[0]
        for f in functions()
        if f.stack == "cdktf_transactions"
        for action in required_actions(f.source)
    }
    assert called == {"dynamodb", "sns"}  # the reader sees the calls (else this test proves nothing)
    assert set(endpoints(dev)) == called


@pytest.mark.catalogue("transactions-04")
def test_endpoint_policies_admit_only_this_stacks_table_and_topic(dev):
    table = f"${{aws_dynamodb_table.{dev.one('aws_dynamodb_table')[0]}.arn}}"
    allowed = {
        "dynamodb": {
            table,
            *(
                f"{table}/index/{i['name']}"
                for i in dev.one("aws_dynamodb_table")[1]["global_secondary_index"]
            ),
        },
        "sns": {dev.topic_arn("topic")},
    }
    for service, endpoint in endpoints(dev).items():
        statements = dev.statements(endpoint["policy"])
        resources = {r for s in statements for r in s["Resource"]}
        assert resources and resources <= allowed[service], resources
        assert all(a.startswith(f"{service}:") and "*" not in a for s in statements for a in s["Action"])


def dependency_graph(synth):
    graph = {}
    for tf_type, resources in synth.json["resource"].items():
        for name, body in resources.items():
            text = json.dumps({k: v for k, v in body.items() if k != "//"})
            refs = set(REFERENCE.findall(text)) | set(body.get("depends_on", []))
            graph[f"{tf_type}.{name}"] = {r for r in refs if not r.startswith("data.")}
    return graph


@pytest.mark.catalogue("transactions-05")
def test_iam_has_one_role_per_principal_scoped_policies_and_no_cycle(dev):
    """Fix: a role per function and one for the state machine, ARNs not wildcards, an acyclic graph."""
    graph = dependency_graph(dev)
    state, order = {}, []

    def visit(node, path):
        if state.get(node) == "done":
            return
        assert state.get(node) != "active", f"dependency cycle: {' -> '.join([*path, node])}"
        state[node] = "active"
        for dep in graph.get(node, ()):
            visit(dep, [*path, node])
        state[node] = "done"
        order.append(node)

    for node in graph:
        visit(node, [])
    roles = {fn["role"] for fn in lambda_functions(dev).values()}
    assert len(roles) == 4
    _, machine = dev.one("aws_sfn_state_machine")
    assert machine["role_arn"] not in roles
    wildcard_ok = {"VpcNetworkInterfaces", "XRay", "VendedLogDelivery"}
    for policy in dev.resources("aws_iam_role_policy").values():
        for statement in dev.statements(policy["policy"]):
            if "*" in statement["Resource"]:
                assert statement["Sid"] in wildcard_ok, statement
    machine_policy = dev.role_statements(machine["role_arn"])
    invoke = next(s for s in machine_policy if s["Sid"] == "InvokePipelineFunctions")
    arns = {f"${{aws_lambda_function.{name}.arn}}" for name in lambda_functions(dev)}
    assert set(invoke["Resource"]) == arns | {f"{a}:*" for a in arns}


# What aws:SourceArn must be in the trust policy of each service's roles (None: none to match).
SOURCE_ARNS = {
    # Lambda assumes the role from CreateFunction's check on, and AWS documents no SourceArn for it.
    "lambda.amazonaws.com": None,
    "states.amazonaws.com": [
        f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:transactions-dev",
        f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:transactions-dev:*",
    ],
    "vpc-flow-logs.amazonaws.com": [f"arn:aws:ec2:us-east-1:{ACCOUNT}:vpc-flow-log/*"],
}


@pytest.mark.catalogue("transactions-05")
def test_every_role_is_assumed_for_this_account_only_and_for_its_resource(dev):
    """Fix (issue 8): no trust policy without aws:SourceAccount (another account could make the
    service act with our role); aws:SourceArn where the service sends one: the state machine's own
    ARN (built from its name; it refers to the role), any flow log of this account and region."""
    services = []
    for role in dev.resources("aws_iam_role").values():
        (statement,) = dev.statements(role["assume_role_policy"])
        (service,) = statement["Principal"]["Service"]
        services.append(service)
        assert (statement["Effect"], statement["Action"]) == ("Allow", ["sts:AssumeRole"])
        assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": [ACCOUNT]}, service
        arns = SOURCE_ARNS[service]
        assert statement["Condition"].get("ArnLike") == ({"aws:SourceArn": arns} if arns else None)
    assert sorted(services) == ["lambda.amazonaws.com"] * 4 + [
        "states.amazonaws.com",
        "vpc-flow-logs.amazonaws.com",
    ]
    assert dev.one("aws_sfn_state_machine")[1]["name"] == "transactions-dev"  # the ARN trusted above


@pytest.mark.catalogue("transactions-05")
def test_functions_and_the_state_machine_depend_on_their_inline_policies(dev):
    """Fix: each function and the state machine depends_on its role's inline policy: created before
    the first invocation, destroyed after the function (Lambda still needs it to delete the ENIs)."""
    _, machine = dev.one("aws_sfn_state_machine")
    principals = [
        *((fn, fn["role"]) for fn in lambda_functions(dev).values()),
        (machine, machine["role_arn"]),
    ]
    for resource, role in principals:
        role_id = role.replace(".arn}", ".id}")
        policies = {
            f"aws_iam_role_policy.{name}"
            for name, policy in dev.resources("aws_iam_role_policy").items()
            if policy["role"] == role_id
        }
        assert policies and policies <= set(resource.get("depends_on", [])), resource.get("depends_on")


def fake_targets():
    arn = "arn:aws:lambda:us-east-1:123456789012:function:transactions-{}-dev"
    return Targets(
        *(arn.format(f) for f in FUNCTIONS),
        notifications_topic="arn:aws:sns:us-east-1:123456789012:transactions-notifications-dev",
    )


@pytest.mark.catalogue("transactions-06")
def test_definition_is_valid_asl_with_retry_and_catch(dev, tmp_path):
    """Fix: lambda:invoke tasks, Retry (service errors, backoff, jitter), Catch; json.dumps; asl-validator."""
    _, machine = dev.one("aws_sfn_state_machine")
    deployed = json.loads(machine["definition"])  # valid JSON as synthesized (Terraform refs inside)
    tasks = {n: s for n, s in deployed["States"].items() if s.get("Resource") == LAMBDA_INVOKE}
    assert set(tasks) == {"Validate", "FraudCheck", "Settle", "Notify"}
    functions = {f"${{aws_lambda_function.{name}.arn}}" for name in lambda_functions(dev)}
    for name, task in tasks.items():
        assert task["Parameters"]["FunctionName"] in functions
        (retry,) = task["Retry"]
        assert retry["ErrorEquals"] == list(RETRYABLE_ERRORS)
        assert retry["BackoffRate"] > 1 and retry["JitterStrategy"] == "FULL" and retry["MaxAttempts"] >= 2
        assert task["Catch"] == [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": f"{name}Failed"}
        ]
        assert deployed["States"][f"{name}Failed"]["Next"] == "NotifyFailure"
    assert deployed["States"]["NotifyFailure"]["Resource"] == "arn:aws:states:::sns:publish"
    assert deployed["States"]["NotifyFailure"]["Next"] == "Failed"

    path = tmp_path / "definition.json"
    path.write_text(json.dumps(definition(fake_targets())))
    done = subprocess.run(
        ["asl-validator", "--json-path", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    broken = definition(fake_targets())
    broken["States"]["Settle"]["Next"] = "NoSuchState"
    path.write_text(json.dumps(broken))
    assert subprocess.run(
        ["asl-validator", "--json-path", str(path)], capture_output=True, check=False
    ).returncode


@pytest.mark.catalogue("transactions-07")
def test_table_defines_exactly_its_key_attributes(dev):
    """Fix: attribute definitions = the table's and GSIs' key attributes, nothing else."""
    _, table = dev.one("aws_dynamodb_table")
    keys = {table["hash_key"], table.get("range_key")} - {None}
    for index in table["global_secondary_index"]:
        keys |= {index["hash_key"], index.get("range_key")} - {None}
    assert {a["name"] for a in table["attribute"]} == keys
    assert table["point_in_time_recovery"] == {"enabled": True}
    assert table["server_side_encryption"] == {"enabled": True}


@pytest.mark.catalogue("transactions-08")
def test_log_groups_are_named_for_their_owner_and_exist_first(dev):
    """Fix: /aws/lambda/<name> before each function (depends_on); /aws/vendedlogs/states/<name> with ':*'."""
    groups = dev.resources("aws_cloudwatch_log_group")
    for fn in lambda_functions(dev).values():
        (dependency,) = [d for d in fn["depends_on"] if d.startswith("aws_cloudwatch_log_group.")]
        group = groups[dependency.split(".", 1)[1]]
        assert group["name"] == f"/aws/lambda/{fn['function_name']}"
        assert group["retention_in_days"] == 30
    _, machine = dev.one("aws_sfn_state_machine")
    destination = machine["logging_configuration"]["log_destination"]
    assert destination.endswith(":*")
    group_name = REFERENCE.search(destination).group(1).split(".", 1)[1]
    assert groups[group_name]["name"] == f"/aws/vendedlogs/states/{machine['name']}"
    assert machine["tracing_configuration"] == {"enabled": True}


@pytest.mark.catalogue("transactions-08")
def test_the_state_machine_logs_failures_without_execution_data(dev):
    """Fix (issue 8, personal data): at ERROR, with execution data, a failed state's log event carries
    its input, the whole transaction; without it, the log group gets ids, event types and errors."""
    _, machine = dev.one("aws_sfn_state_machine")
    logging = machine["logging_configuration"]
    assert (logging["level"], logging["include_execution_data"]) == ("ERROR", False)


def topic_policy(synth, topic):
    (policy,) = [p for p in synth.resources("aws_sns_topic_policy").values() if p["arn"] == topic]
    return synth.statements(policy["policy"])


@pytest.mark.catalogue("transactions-09")
def test_topic_key_lets_cloudwatch_and_eventbridge_publish(dev):
    """Fix: a customer-managed key (not alias/aws/sns) whose policy admits CloudWatch and EventBridge."""
    key_name, key = dev.one("aws_kms_key")
    assert key["enable_key_rotation"] is True
    for topic in dev.resources("aws_sns_topic").values():
        assert topic["kms_master_key_id"] == f"${{aws_kms_key.{key_name}.arn}}"
    publishers = next(
        s for s in dev.statements(key["policy"]) if EVENTBRIDGE in s.get("Principal", {}).get("Service", [])
    )
    assert set(publishers["Principal"]["Service"]) == {"cloudwatch.amazonaws.com", EVENTBRIDGE}
    assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(publishers["Action"])
    alarms = dev.topic_arn("alarm-topic")
    (alarm,) = dev.resources("aws_cloudwatch_metric_alarm").values()
    assert alarm["alarm_actions"] == alarm["ok_actions"] == [alarms]
    (target,) = dev.resources("aws_cloudwatch_event_target").values()
    assert target["arn"] == alarms


@pytest.mark.catalogue("transactions-09")
def test_eventbridge_grants_carry_no_source_condition_and_the_key_is_scoped_by_topic(dev):
    """Fix: no Condition on EventBridge's topic statement (its deliveries fail against one) and no
    aws:Source* on its key grant (AWS documents them as unsupported there); the key grant is
    scoped by SNS's encryption context, the alarm topic's ARN, instead."""
    alarms = dev.topic_arn("alarm-topic")
    for_eventbridge = [
        s for s in topic_policy(dev, alarms) if EVENTBRIDGE in s.get("Principal", {}).get("Service", [])
    ]
    assert for_eventbridge and all("Condition" not in s for s in for_eventbridge)
    assert any(s["Effect"] == "Allow" and s["Action"] == ["sns:Publish"] for s in for_eventbridge)
    _, key = dev.one("aws_kms_key")
    (grant,) = [
        s for s in dev.statements(key["policy"]) if EVENTBRIDGE in s.get("Principal", {}).get("Service", [])
    ]
    keys = {k for test in grant["Condition"].values() for k in test}
    assert not {k for k in keys if k.lower().startswith("aws:source")}
    (topic_arn,) = grant["Condition"]["StringEquals"]["kms:EncryptionContext:aws:sns:topicArn"]
    (alarm_topic,) = [
        t for t in dev.resources("aws_sns_topic").values() if t["name"].startswith("transactions-alarms")
    ]
    assert topic_arn == f"arn:aws:sns:us-east-1:{ACCOUNT}:{alarm_topic['name']}"  # the ARN the topic gets


@pytest.mark.catalogue("transactions-10")
def test_security_group_rules_are_described_https_only_and_admit_no_internet(dev):
    """Fix: separate rules, each with a description; egress only TCP 443; ingress only from our SG."""
    for group in dev.resources("aws_security_group").values():
        assert "ingress" not in group and "egress" not in group and group["description"]
    egress = dev.resources("aws_vpc_security_group_egress_rule").values()
    ingress = dev.resources("aws_vpc_security_group_ingress_rule").values()
    assert egress and ingress
    for rule in [*egress, *ingress]:
        assert rule["description"]
        assert (rule["ip_protocol"], rule["from_port"], rule["to_port"]) == ("tcp", 443, 443)
        assert "cidr_ipv4" not in rule and "cidr_ipv6" not in rule
    for rule in ingress:
        assert rule["referenced_security_group_id"].startswith("${aws_security_group.")
