"""Issue 15 item by item, on small documents as outside tools write them: decided where the
input settles it, SAM read, malformed input refused, fewer wrong verdicts, conventions opt-in,
SARIF, suppressions in the input, linear time."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from policies import check, check_documents
from policies.__main__ import main
from policies.loaders import InputError, load
from policies.model import get_path
from policies.rules import FAIL, PASS, RULES, UNKNOWN, all_rules
from tests.policies.docs import cfn, pulumi, tf

all_rules()
SARIF_SCHEMA = Path(__file__).parent / "schemas" / "sarif-schema-2.1.0.json"


def statuses(rule_id: str, document, subject: str) -> list[str]:
    return [
        r.status
        for r in RULES[rule_id].run(document)
        if subject in (r.address, r.resource.display if r.resource else None)
    ]


def write(tmp_path: Path, body: dict, name: str = "template.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(body))
    return path


# 1. Unknown only when the document cannot decide ------------------------------------------------

FN = {"Timeout": 10, "TracingConfig": {"Mode": "Active"}, "Role": "arn:aws:iam::1:role/r"}


def test_both_branches_encrypted_is_decided() -> None:
    """Fn::If whose branches are both encrypted passes; branches that differ stay unknown."""
    key = {"Fn::If": ["Prod", "alias/prod", "alias/aws/sns"]}
    assert statuses("encrypted-at-rest", cfn({"T": ("AWS::SNS::Topic", {"KmsMasterKeyId": key})}), "T") == [
        PASS
    ]
    half = {"Fn::If": ["Prod", "alias/prod", {"Ref": "AWS::NoValue"}]}
    assert statuses("encrypted-at-rest", cfn({"T": ("AWS::SNS::Topic", {"KmsMasterKeyId": half})}), "T") == [
        UNKNOWN
    ]


def test_a_parameter_counts_as_its_default() -> None:
    """A parameter with a default is judged at it; one without stays unknown."""
    cluster = {"Cluster": ("AWS::RDS::DBCluster", {"StorageEncrypted": {"Ref": "Encrypt"}})}
    with_default = cfn(cluster, Parameters={"Encrypt": {"Type": "String", "Default": "true"}})
    off_by_default = cfn(cluster, Parameters={"Encrypt": {"Type": "String", "Default": "false"}})
    assert statuses("encrypted-at-rest", with_default, "Cluster") == [PASS]
    assert statuses("encrypted-at-rest", off_by_default, "Cluster") == [FAIL]


def test_bucket_policy_naming_its_bucket_with_fn_sub() -> None:
    """AWS's compliant samples: a policy whose Bucket is the same Fn::Sub as the bucket's name;
    the message of another bucket never names this policy."""
    name = {"Fn::Sub": "${App}-${AWS::Region}-${AWS::AccountId}"}
    arn = {"Fn::Sub": "arn:${AWS::Partition}:s3:::${App}-${AWS::Region}-${AWS::AccountId}/*"}
    deny = {
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "s3:*",
        "Resource": [arn],
        "Condition": {"Bool": {"aws:SecureTransport": False}},
    }
    document = cfn(
        {
            "Bucket": ("AWS::S3::Bucket", {"BucketName": name}),
            "Other": ("AWS::S3::Bucket", {}),
            "Policy": ("AWS::S3::BucketPolicy", {"Bucket": name, "PolicyDocument": {"Statement": [deny]}}),
        },
        Parameters={"App": {"Type": "String"}},
    )
    results = {r.address: r for r in RULES["bucket-tls-only"].run(document)}
    assert results["Bucket"].status == PASS
    assert results["Other"].status == FAIL and "Policy" not in results["Other"].message


def test_terraform_policy_with_interpolations_inside_arns_is_parsed() -> None:
    """A policy JSON string whose ${...} stand only inside its ARNs is read as JSON."""
    policy = {
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": ["${aws_s3_bucket.b.arn}", "${aws_s3_bucket.b.arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ]
    }
    document = tf(
        {
            "aws_s3_bucket": {"b": {"bucket": "b-dev"}},
            "aws_s3_bucket_policy": {"b": {"bucket": "${aws_s3_bucket.b.id}", "policy": json.dumps(policy)}},
        }
    )
    assert statuses("bucket-tls-only", document, "aws_s3_bucket.b") == [PASS]


def test_a_function_with_no_log_group_anywhere_fails() -> None:
    """A generated name and no log group in the document: Lambda's own group keeps logs forever."""
    assert statuses("lambda-log-retention", pulumi([("aws:lambda/function:Function", "fn", {})]), "fn") == [
        FAIL
    ]


def test_a_trigger_named_with_the_functions_own_fn_sub() -> None:
    """A permission naming the function with the same Fn::Sub as its FunctionName is its trigger."""
    name = {"Fn::Sub": "${AWS::StackName}-worker"}
    permission = {"FunctionName": name, "Principal": "sns.amazonaws.com", "Action": "lambda:InvokeFunction"}
    document = cfn(
        {
            "Fn": ("AWS::Lambda::Function", {**FN, "FunctionName": name}),
            "Permission": ("AWS::Lambda::Permission", permission),
        }
    )
    assert statuses("async-failure-destination", document, "Fn") == [FAIL]
    assert statuses("async-failure-destination", document, "Permission") == []


def test_bucket_policy_naming_its_bucket_with_fn_join() -> None:
    """A policy whose Bucket is the same Fn::Join as the bucket's name is that bucket's policy."""
    name = {"Fn::Join": ["-", [{"Ref": "App"}, {"Ref": "AWS::Region"}, "logs"]]}
    arn = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::", name, "/*"]]}
    deny = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    document = cfn(
        {
            "Bucket": ("AWS::S3::Bucket", {"BucketName": name}),
            "Policy": ("AWS::S3::BucketPolicy", {"Bucket": name, "PolicyDocument": {"Statement": [deny]}}),
        },
        Parameters={"App": {"Type": "String"}},
    )
    assert statuses("bucket-tls-only", document, "Bucket") == [PASS]


def test_find_in_map_by_region_judges_every_entry() -> None:
    """Fn::FindInMap keyed by the region: every entry is a branch; all encrypted is decided."""
    lookup = {"Fn::FindInMap": ["Keys", {"Ref": "AWS::Region"}, "Topic"]}
    keys = {"eu-west-1": {"Topic": "alias/eu"}, "us-east-1": {"Topic": "alias/us"}}
    document = cfn({"T": ("AWS::SNS::Topic", {"KmsMasterKeyId": lookup})}, Mappings={"Keys": keys})
    assert statuses("encrypted-at-rest", document, "T") == [PASS]


# 2. Never a silent pass --------------------------------------------------------------------------

SAM = {
    "Transform": "AWS::Serverless-2016-10-31",
    "Globals": {"Function": {"Timeout": 30, "Tracing": "Active"}},
    "Resources": {
        "Worker": {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "Handler": "app.handler",
                "Runtime": "python3.12",
                "Events": {
                    "Jobs": {"Type": "SQS", "Properties": {"Queue": {"Fn::GetAtt": ["Jobs", "Arn"]}}},
                    "Nightly": {"Type": "Schedule", "Properties": {"Schedule": "rate(1 day)"}},
                    "Get": {"Type": "Api", "Properties": {"Path": "/", "Method": "get"}},
                },
            },
        },
        "Jobs": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 60}},
    },
}


def test_sam_functions_events_and_implicit_api_are_judged(tmp_path: Path) -> None:
    """A SAM template is expanded (Globals applied) and judged, not passed with nothing read."""
    report = check([write(tmp_path, SAM)])
    verdicts = {(r.rule.id, r.address): r.status for r in report.results}
    assert verdicts[("lambda-tracing", "Worker")] == PASS  # Globals: Tracing Active
    assert verdicts[("lambda-timeout", "Worker")] == FAIL  # 60 s < 6 x 30 s
    assert verdicts[("async-failure-destination", "WorkerJobs")] == FAIL  # the queue has no DLQ
    assert verdicts[("async-failure-destination", "Worker")] == FAIL  # the schedule, no destination
    assert verdicts[("lambda-log-retention", "Worker")] == FAIL
    assert verdicts[("api-access-logs", "ServerlessRestApiProdStage")] == FAIL
    assert verdicts[("input-read", "template")] == PASS


def test_unexpanded_sam_types_fail_the_run_unless_allowed(tmp_path: Path, capsys) -> None:
    body = {
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {"Api": {"Type": "AWS::Serverless::GraphQLApi", "Properties": {}}},
    }
    path = write(tmp_path, body)
    assert main(["check", str(path)]) == 1
    assert "not read: AWS::Serverless::GraphQLApi Api" in capsys.readouterr().out
    assert main(["check", str(path), "--allow-unread"]) == 0


def test_fn_foreach_over_a_computed_collection_is_listed_as_not_read(tmp_path: Path) -> None:
    body = {
        "Transform": "AWS::LanguageExtensions",
        "Parameters": {"Names": {"Type": "CommaDelimitedList"}},
        "Resources": {"Fn::ForEach::Q": ["N", {"Ref": "Names"}, {"Q${N}": {"Type": "AWS::SQS::Queue"}}]},
    }
    (document,) = load(write(tmp_path, body))
    assert document.unread == [
        "Fn::ForEach::Q: its collection is computed, so the resources it makes are not read"
    ]


@pytest.mark.parametrize(
    ("resources", "note"),
    [
        (
            {
                "Child": {
                    "Type": "AWS::CloudFormation::Stack",
                    "Properties": {"TemplateURL": "https://x/t.json"},
                }
            },
            "nested stack Child: its template is not read",
        ),
        ({"Vpc": {"Type": "My::Network::Vpc::MODULE"}}, "module Vpc (My::Network::Vpc::MODULE)"),
        (
            {"App": {"Type": "AWS::Serverless::Application", "Properties": {"Location": "./app.yaml"}}},
            "AWS::Serverless::Application App: a nested application, its template is not read",
        ),
        (
            {
                "Fn": {
                    "Type": "AWS::Serverless::Function",
                    "Properties": {
                        "Events": {
                            "Chat": {
                                "Type": "NewSource",  # an event type the expansion does not know
                                "Properties": {},
                            }
                        }
                    },
                }
            },
            "of type NewSource: not expanded, its trigger is not read",
        ),
    ],
)
def test_what_is_not_read_fails_input_read(tmp_path: Path, capsys, resources: dict, note: str) -> None:
    """A nested stack, a registry module, a nested SAM application, an event type the SAM expansion does
    not know: each is listed and fails the run (input-read) unless --allow-unread."""
    path = write(tmp_path, {"Resources": resources})
    assert main(["check", str(path), "--disable", "lambda-tracing", "--disable", "lambda-timeout"]) == 1
    assert note in capsys.readouterr().out
    (document,) = load(path)
    assert [n for n in document.unread if note in n]


# 3. Malformed input is exit 2 --------------------------------------------------------------------


@pytest.mark.parametrize(
    "resources",
    [
        {"Net": {"Type": {"Rain::Module": "./vpc.yml"}}},
        {"Q": {"Type": "AWS::SQS::Queue", "Properties": ["not", "an", "object"]}},
        {"Q": {"Type": "AWS::SQS::Queue", "Metadata": "x"}},
    ],
)
def test_malformed_templates_are_exit_2(tmp_path: Path, capsys, resources: dict) -> None:
    assert main(["check", str(write(tmp_path, {"Resources": resources}))]) == 2
    assert capsys.readouterr().err.startswith("policies: ")


def test_a_rain_module_is_named_as_the_reason(tmp_path: Path, capsys) -> None:
    """The reason says what is wrong (a Type that is not a string) and what to do (rain pkg)."""
    path = write(tmp_path, {"Resources": {"Net": {"Type": {"Rain::Module": "./vpc.yml"}}}})
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "resource Net has a Type that is not a string" in err and "rain pkg" in err


def test_a_structure_no_check_names_is_exit_2_not_a_traceback(tmp_path: Path, capsys) -> None:
    """Whatever the loader trips on in a malformed template (Outputs a list) is unreadable input."""
    assert main(["check", str(write(tmp_path, {"Resources": {}, "Outputs": ["a list"]}))]) == 2
    assert capsys.readouterr().err.startswith("policies: ")


def test_malformed_terraform_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is not an object"):
        load(write(tmp_path, {"resource": {"aws_sqs_queue": {"q": "text"}}}, "main.tf.json"))


# 4. Fewer wrong verdicts -------------------------------------------------------------------------


def test_read_replica_has_its_sources_encryption() -> None:
    document = cfn(
        {
            "Main": ("AWS::RDS::DBInstance", {"Engine": "mysql", "StorageEncrypted": True}),
            "Replica": ("AWS::RDS::DBInstance", {"SourceDBInstanceIdentifier": {"Ref": "Main"}}),
        }
    )
    assert statuses("encrypted-at-rest", document, "Replica") == [PASS]


def test_a_secret_holding_only_an_endpoint_and_a_port_is_no_plaintext_secret() -> None:
    endpoint = {"Fn::Sub": '{"host": "${Db.Endpoint.Address}", "port": "5432", "username": "app"}'}
    leaked = {"Fn::Sub": '{"host": "${Db.Endpoint.Address}", "password": "hunter2"}'}
    for value, expected in ((endpoint, PASS), (leaked, FAIL)):
        document = cfn(
            {
                "Db": ("AWS::RDS::DBInstance", {"StorageEncrypted": True}),
                "S": ("AWS::SecretsManager::Secret", {"SecretString": value}),
            }
        )
        assert statuses("no-plaintext-secrets", document, "S") == [expected]


@pytest.mark.parametrize(
    ("kind", "props", "expected"),
    [
        ("AWS::Neptune::DBCluster", {}, FAIL),
        ("AWS::Neptune::DBCluster", {"StorageEncrypted": True}, PASS),
        ("AWS::DocDB::DBCluster", {}, FAIL),
        ("AWS::Redshift::Cluster", {}, PASS),  # encrypted by default
        ("AWS::Redshift::Cluster", {"Encrypted": False}, FAIL),
        ("AWS::OpenSearchService::Domain", {}, FAIL),
        ("AWS::OpenSearchService::Domain", {"EncryptionAtRestOptions": {"Enabled": True}}, PASS),
    ],
)
def test_encrypted_at_rest_covers_neptune_documentdb_redshift_opensearch(kind, props, expected) -> None:
    assert statuses("encrypted-at-rest", cfn({"Store": (kind, props)}), "Store") == [expected]


@pytest.mark.parametrize(
    "cidr", ["0.0.0.0/0", "::/0", "0::/0", "0:0:0:0:0:0:0:0/0", "192.168.1.0/0", " 0.0.0.0/0"]
)
def test_every_spelling_of_slash_zero_is_open(cidr: str) -> None:
    rule = {"GroupId": "sg-1", "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22}
    rule["CidrIpv6" if ":" in cidr else "CidrIp"] = cidr
    assert statuses("no-open-admin-ingress", cfn({"In": ("AWS::EC2::SecurityGroupIngress", rule)}), "In") == [
        FAIL
    ]


# 5. Conventions are opt-in -----------------------------------------------------------------------


def test_conventions_are_off_by_default_and_the_output_says_so(tmp_path: Path, capsys) -> None:
    path = write(
        tmp_path, {"Resources": {"T": {"Type": "AWS::SNS::Topic", "Properties": {"KmsMasterKeyId": "k"}}}}
    )
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "off: name-has-environment, required-tags (conventions, not defects" in out
    config = tmp_path / "policies.toml"
    config.write_text('[rules.required-tags]\nenabled = true\ntags = ["owner"]\nseverity = "high"\n')
    assert main(["check", str(path), "--config", str(config)]) == 1
    assert "FAIL     high     required-tags" in capsys.readouterr().out


@pytest.mark.parametrize(
    "content",
    ["[rules.no-such-rule]\nenabled = true\n", '[rules.required-tags]\ntag = ["x"]\n', "[other]\n", "nope ["],
)
def test_a_bad_config_is_unreadable_input(tmp_path: Path, capsys, content: str) -> None:
    config = tmp_path / "policies.toml"
    config.write_text(content)
    path = write(tmp_path, {"Resources": {}})
    assert main(["check", str(path), "--config", str(config)]) == 2


def test_config_settings_and_switches_are_applied(tmp_path: Path, capsys) -> None:
    """A config's tags, environment and enabled = false, and --enable / --disable, each change
    what runs."""
    topic = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "alerts-prod", "KmsMasterKeyId": "k"}}
    topic["Properties"]["Tags"] = [{"Key": "owner", "Value": "me"}]
    path = write(tmp_path, {"Resources": {"T": topic}})
    config = tmp_path / "policies.toml"

    def run(*extra: str) -> tuple[int, str]:
        code = main(["check", str(path), "--config", str(config), *extra])
        return code, capsys.readouterr().out

    config.write_text('[rules.required-tags]\nenabled = true\ntags = ["owner"]\n')
    assert run() == (0, run()[1])  # owner is there: the config's tags, not the default ones
    config.write_text('[rules.name-has-environment]\nenabled = true\nenvironment = "dev"\n')
    code, out = run()
    assert code == 1 and "does not carry the environment 'dev'" in out
    config.write_text("[rules.encrypted-at-rest]\nenabled = false\n")
    code, out = run()
    assert "off by config: encrypted-at-rest" in out
    code, out = run("--enable", "required-tags")
    assert code == 1 and "missing tags: environment, project" in out
    code, out = run("--enable", "required-tags", "--disable", "required-tags")
    assert code == 0 and "off: name-has-environment, required-tags" in out


# 6. SARIF, suppressions in the input -------------------------------------------------------------


def test_sarif_validates_against_the_sarif_2_1_0_schema(tmp_path: Path, capsys) -> None:
    """GitHub code scanning reads it: the schema, a location with a line, the suppressions."""
    body = {"Resources": {"Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Timeout": 10}}}}
    body["Resources"]["Fn"]["Metadata"] = {
        "policies": {"suppress": [{"rule": "lambda-tracing", "reason": "traced by the caller"}]}
    }
    path = tmp_path / "template.json"
    path.write_text(json.dumps(body, indent=2))
    assert main(["check", str(path), "--format", "sarif"]) == 1
    sarif = json.loads(capsys.readouterr().out)
    jsonschema.validate(sarif, json.loads(SARIF_SCHEMA.read_text()))
    results = {r["ruleId"]: r for r in sarif["runs"][0]["results"]}
    assert results["lambda-log-retention"]["level"] == "warning"
    assert results["lambda-log-retention"]["locations"][0]["physicalLocation"]["region"] == {"startLine": 3}
    assert results["lambda-tracing"]["suppressions"] == [
        {"kind": "inSource", "justification": "suppressed in the input: traced by the caller"}
    ]


def test_suppressions_in_each_format_need_a_reason_and_are_reported_when_unused() -> None:
    """CloudFormation Metadata, Terraform's "//" comment key, a Pulumi stack output."""
    suppress = {"suppress": [{"rule": "lambda-tracing", "reason": "no request path"}]}
    fn_tf = {"function_name": "fn-dev", "timeout": 10, "//": {"policies": suppress}}
    documents = [
        tf({"aws_lambda_function": {"fn": fn_tf}}),
        pulumi(
            [("aws:lambda/function:Function", "fn", {"name": "fn-dev", "timeout": 10})],
            outputs={"policies_suppress": {"fn": suppress["suppress"]}},
        ),
    ]
    report = check_documents(documents, rules=[RULES["lambda-tracing"]])
    assert [r.allowed_because for r in report.results] == ["suppressed in the input: no request path"] * 2
    unused = tf({"aws_lambda_function": {"fn": {**fn_tf, "tracing_config": {"mode": "Active"}}}})
    assert check_documents([unused], rules=[RULES["lambda-tracing"]]).unused_suppressions
    with pytest.raises(InputError, match="has no reason"):
        tf({"aws_lambda_function": {"fn": {"//": {"policies": {"suppress": [{"rule": "lambda-tracing"}]}}}}})


def test_sarif_unknowns_exceptions_and_what_was_not_read(tmp_path: Path, capsys) -> None:
    """An unknown is a review result of level none, an allowlist exception an external
    suppression, what was not read a notification of the run."""
    body = {
        "Transform": "Count",
        "Parameters": {"Encrypt": {"Type": "String"}},
        "Resources": {
            "Cluster": {
                "Type": "AWS::RDS::DBCluster",
                "Properties": {"StorageEncrypted": {"Ref": "Encrypt"}},
            },
            "T": {"Type": "AWS::SNS::Topic", "Properties": {}},
        },
    }
    allowlist = tmp_path / "allowlist.toml"
    allowlist.write_text(
        '[[exception]]\nrule = "encrypted-at-rest"\nresource = "T"\nreason = "public feed"\n'
    )
    path = write(tmp_path, body)
    assert main(["check", str(path), "--format", "sarif", "--allowlist", str(allowlist)]) == 1
    sarif = json.loads(capsys.readouterr().out)
    jsonschema.validate(sarif, json.loads(SARIF_SCHEMA.read_text()))
    results = {
        (r["ruleId"], r["partialFingerprints"]["policies/v1"].rsplit(":", 1)[1]): r
        for r in sarif["runs"][0]["results"]
    }
    cluster = results[("encrypted-at-rest", "Cluster")]
    assert (cluster["kind"], cluster["level"]) == ("review", "none")
    assert results[("encrypted-at-rest", "T")]["suppressions"] == [
        {"kind": "external", "justification": "public feed"}
    ]
    notes = [n["message"]["text"] for n in sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]]
    assert "template: transform Count: what it generates is not read" in notes


def test_a_suppression_of_no_rule_is_refused_and_an_unused_one_is_printed(tmp_path: Path, capsys) -> None:
    suppress = {"policies": {"suppress": [{"rule": "lambda-tracing", "reason": "traced by the caller"}]}}
    fn = {"Timeout": 10, "TracingConfig": {"Mode": "Active"}}
    body = {"Resources": {"Fn": {"Type": "AWS::Lambda::Function", "Properties": fn, "Metadata": suppress}}}
    assert main(["check", str(write(tmp_path, body)), "--disable", "lambda-log-retention"]) == 0
    assert "warning: the suppression of lambda-tracing on" in capsys.readouterr().out
    suppress["policies"]["suppress"][0]["rule"] = "lambda-tarcing"
    assert main(["check", str(write(tmp_path, body))]) == 2
    assert "suppresses no rule 'lambda-tarcing'" in capsys.readouterr().err


# 7. Linear in the size of the input --------------------------------------------------------------


def test_work_grows_linearly_with_the_input(monkeypatch) -> None:
    """Property lookups counted on 500 and 2,000 resources: 4x the input, at most 5x the work
    (every rule rescanning every resource was quadratic). Timings are in make bench."""
    from policies import model
    from policies.loaders.cloudformation import CloudFormationDocument
    from tools.policy_scale import template

    calls = [0]

    def counted(value, path, expand=model._as_is):
        calls[0] += 1
        return get_path(value, path, expand)

    monkeypatch.setattr(model, "get_path", counted)
    work = []
    for size in (500, 2000):
        calls[0] = 0
        document = CloudFormationDocument(stack="s", path="<scale>", template=template(size), stack_tags={})
        check_documents([document])
        work.append(calls[0])
    assert work[1] <= 5 * work[0], work


def test_alarm_routes_are_read_once_per_document(monkeypatch) -> None:
    """Composite alarms and EventBridge rules are read once, not once per alarm without actions."""
    from policies.rules import observability

    calls = [0]
    routes = observability._routes

    def counted(document):
        calls[0] += 1
        return routes(document)

    monkeypatch.setattr(observability, "_routes", counted)
    alarms = {f"A{i}": ("AWS::CloudWatch::Alarm", {"AlarmName": f"a{i}"}) for i in range(20)}
    assert set(RULES["alarm-has-action"].run(cfn(alarms))) and calls[0] == 1
