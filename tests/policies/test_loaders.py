"""Reading the three outputs as their tools write them, and refusing what is none of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policies.loaders import InputError, load
from policies.model import Unresolved
from tests.policies.docs import SECRET, TAGS, cfn, pulumi, pulumi_export, tf

TEMPLATE = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "alerts-dev"}}}}


def write_assembly(directory: Path, stacks: dict[str, dict], nested: dict[str, dict] | None = None) -> Path:
    """A cloud assembly as ``cdk synth`` writes it: manifest.json, templates, a stage's sub-assembly."""
    directory.mkdir(parents=True, exist_ok=True)
    artifacts: dict[str, dict] = {}
    for name, template in stacks.items():
        (directory / f"{name}.template.json").write_text(json.dumps(template))
        artifacts[name] = {
            "type": "aws:cloudformation:stack",
            "environment": "aws://unknown-account/unknown-region",
            "properties": {"templateFile": f"{name}.template.json", "tags": TAGS},
            "displayName": name,
        }
    if nested:
        write_assembly(directory / "assembly-Stage", nested)
        artifacts["assembly-Stage"] = {
            "type": "cdk:cloud-assembly",
            "properties": {"directoryName": "assembly-Stage"},
        }
    artifacts["Tree"] = {"type": "cdk:tree", "properties": {"file": "tree.json"}}
    (directory / "manifest.json").write_text(json.dumps({"version": "55.0.0", "artifacts": artifacts}))
    return directory


def write_cdktf(directory: Path, stacks: dict[str, dict]) -> Path:
    """A CDKTF output: manifest.json and stacks/<name>/cdk.tf.json."""
    manifest = {"version": "0.21.0", "stacks": {}}
    for name, config in stacks.items():
        (directory / "stacks" / name).mkdir(parents=True)
        (directory / "stacks" / name / "cdk.tf.json").write_text(json.dumps(config))
        manifest["stacks"][name] = {"name": name, "synthesizedStackPath": f"stacks/{name}/cdk.tf.json"}
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return directory


def test_cloud_assembly_with_a_stage(tmp_path: Path) -> None:
    write_assembly(tmp_path, {"demo-dev": TEMPLATE}, nested={"Stage-demo-prod": TEMPLATE})
    documents = load(tmp_path)
    assert [(d.format, d.stack, d.environment) for d in documents] == [
        ("cloudformation", "demo-dev", "dev"),
        ("cloudformation", "Stage-demo-prod", "dev"),
    ]
    (topic,) = documents[0].resources
    assert (topic.address, topic.kind.id, topic.name, topic.tags) == (
        "Topic",
        "sns.topic",
        "alerts-dev",
        TAGS,
    )


def test_cdktf_output(tmp_path: Path) -> None:
    config = {
        "provider": {"aws": [{"default_tags": [{"tags": TAGS}]}, {"alias": "west", "region": "us-west-2"}]},
        "resource": {
            "aws_sqs_queue": {
                "east": {"name": "jobs-dev", "tags": {"component": "jobs"}},
                "west": {"name": "jobs-dev-west", "provider": "aws.west"},
            }
        },
    }
    (document,) = load(write_cdktf(tmp_path, {"demo-dev": config}))
    assert (document.format, document.stack, document.environment) == ("terraform", "demo-dev", "dev")
    east, west = document.resources
    assert east.tags == {**TAGS, "component": "jobs"}
    assert west.tags == {}  # the aliased provider has no default tags


def test_pulumi_export_file_and_folder(tmp_path: Path) -> None:
    export = pulumi_export([("aws:sqs/queue:Queue", "jobs", {"name": "jobs-dev", "__defaults": ["name"]})])
    (tmp_path / "resources.json").write_text(json.dumps(export))
    for path in (tmp_path, tmp_path / "resources.json"):
        (document,) = load(path)
        assert (document.format, document.stack, document.environment) == ("pulumi", "demo/dev", "dev")
        (queue,) = document.resources  # the stack and the provider are not resources to judge
        assert queue.properties == {"name": "jobs-dev"}  # engine bookkeeping (__defaults) dropped
        assert queue.tags == TAGS


def test_single_files(tmp_path: Path) -> None:
    (tmp_path / "demo-dev.template.json").write_text(json.dumps(TEMPLATE))
    (tmp_path / "cdk.tf.json").write_text(
        json.dumps({"resource": {"aws_sqs_queue": {"q": {"name": "q-dev"}}}})
    )
    assert [d.format for d in load(tmp_path / "demo-dev.template.json")] == ["cloudformation"]
    assert [d.format for d in load(tmp_path / "cdk.tf.json")] == ["terraform"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n", "not readable JSON"),
        ('{"hello": "world"}', "not a Pulumi export, a CloudFormation template or Terraform JSON"),
        ('{"version": 2, "deployment": {"resources": []}}', "only version 3"),
        ('{"version": 3, "deployment": {"resources": [{"type": "x"}]}}', "resources with URNs"),
        ('{"Resources": {"T": {"Properties": {}}}}', "has no Type"),
    ],
)
def test_unreadable_input(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "input.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputError, match=message):
        load(path)


def test_a_folder_of_something_else(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text('{"name": "not a tool output"}')
    with pytest.raises(InputError, match="not a CDK cloud assembly or CDKTF output"):
        load(tmp_path)


def test_cloudformation_references_and_text() -> None:
    document = cfn(
        {
            "Fn": ("AWS::Lambda::Function", {"FunctionName": "fn-dev"}),
            "Unnamed": ("AWS::Lambda::Function", {}),
            "Nested": ("AWS::CloudFormation::Stack", {"TemplateURL": "https://example.com/t.json"}),
        },
        Parameters={"Env": {"Type": "String"}},
    )
    fn = document.by_address("Fn")
    assert document.target({"Fn::GetAtt": ["Fn", "Arn"]}, "lambda.function") is fn
    assert document.target("arn:aws:lambda:us-east-1:123456789012:function:fn-dev", "lambda.function") is fn
    assert document.target({"Ref": "Fn"}, "sqs.queue") is None
    assert isinstance(document.target({"Ref": "Env"}), Unresolved)
    assert document.text({"Fn::Join": ["", ["/aws/lambda/", {"Ref": "Fn"}]]}) == "/aws/lambda/fn-dev"
    assert document.text({"Fn::Sub": "/aws/lambda/${Unnamed}"}) == "/aws/lambda/«Unnamed»"
    assert document.text({"Fn::Sub": ["${A}-${AWS::Region}", {"A": "x"}]}) == "x-«AWS::Region»"
    assert document.text({"Fn::Sub": "${Env}-x"}) == "«Env»-x"  # the same parameter, the same text
    assert isinstance(document.text({"Fn::If": ["C", "a", "b"]}), Unresolved)
    assert document.text({"Fn::If": ["C", "a", "a"]}) == "a"
    assert document.notes == ["nested stack Nested: its template is not read"]


def test_cloudformation_global_table_tags_live_on_replicas() -> None:
    replica = {"Region": "us-east-1", "Tags": [{"Key": "owner", "Value": "payments"}]}
    document = cfn({"Table": ("AWS::DynamoDB::GlobalTable", {"Replicas": [replica]})})
    assert document.resources[0].tags == {**TAGS, "owner": "payments"}


def test_terraform_references() -> None:
    document = tf(
        {
            "aws_sqs_queue": {"jobs": {"name": "jobs-dev"}},
            "aws_cloudwatch_log_group": {
                "logs": {"name": "/x/${aws_sqs_queue.jobs.name}/${aws_sqs_queue.jobs.arn}"}
            },
        }
    )
    jobs = document.by_address("aws_sqs_queue.jobs")
    assert document.target("${aws_sqs_queue.jobs.arn}", "sqs.queue") is jobs
    assert document.target("${aws_sqs_queue.jobs.arn}", "sns.topic") is None
    assert isinstance(document.target("${data.aws_sqs_queue.other.arn}"), Unresolved)
    assert isinstance(document.target("${element(aws_sqs_queue.jobs.*.arn, 0)}"), Unresolved)
    assert document.by_address("aws_cloudwatch_log_group.logs").name == "/x/jobs-dev/«aws_sqs_queue.jobs.arn»"


def test_pulumi_values_secrets_and_real_outputs() -> None:
    export = pulumi_export(
        [
            ("aws:lambda/function:Function", "fn", {"role": "arn:aws:iam::1:role/r", "environment": SECRET}),
            ("aws:sqs/queue:Queue", "jobs", {"name": "jobs-dev"}),
        ]
    )
    # A real export also has the values AWS assigned: an autonamed function is found by its ARN.
    fn_entry = export["deployment"]["resources"][2]
    fn_entry["outputs"] = {"arn": "arn:aws:lambda:us-east-1:123456789012:function:fn-3f2a1b0"}
    from policies.loaders.pulumi import from_export

    document = from_export(export)
    fn, jobs = document.resources
    assert document.target("arn:aws:lambda:us-east-1:123456789012:function:fn-3f2a1b0") is fn
    assert document.target("jobs-id", "sqs.queue") is jobs
    assert document.target("arn:aws:sqs:us-east-1:123456789012:jobs-dev", "sqs.queue") is jobs
    assert isinstance(document.scalar(fn.get("environment")), Unresolved)
    assert isinstance(document.text("04da6b54-80e4-46f7-96ec-b56ff0331ba9"), Unresolved)
    assert isinstance(fn.get("environment.variables"), Unresolved)  # a secret is opaque, never read through


def test_pulumi_environment_falls_back_to_the_stack() -> None:
    assert pulumi([("aws:sqs/queue:Queue", "q", {"name": "q"})], tags={}).environment == "dev"
