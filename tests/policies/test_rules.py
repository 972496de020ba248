"""Each rule on its good and bad fixtures, in every format; what a rule cannot decide is unknown."""

from __future__ import annotations

import pytest

from policies.model import Document
from policies.rules import FAIL, PASS, RULES, UNKNOWN, Result, all_rules
from policies.vocabulary import FORMATS
from tests.policies.cases import CASES, Case
from tests.policies.docs import SECRET, cfn, pulumi, tf

all_rules()


def judged(rule_id: str, document: Document, subject: str) -> list[Result]:
    """The rule's results on ``subject`` (logical id, Terraform address, Pulumi name, or 'stack ...')."""
    results = list(RULES[rule_id].run(document))
    found = [
        r
        for r in results
        if (r.resource is None and r.subject == subject)
        or (r.resource is not None and subject in (r.resource.address, r.resource.display))
    ]
    assert found, f"{rule_id} judged nothing called {subject}: {[(r.subject, r.status) for r in results]}"
    return found


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_fixture_fails(case: Case) -> None:
    results = judged(case.rule, case.bad(), case.subject)
    assert [r.status for r in results] == [FAIL], [(r.status, r.message) for r in results]
    assert results[0].message


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_good_fixture_passes(case: Case) -> None:
    results = judged(case.rule, case.good(), case.subject)
    assert [r.status for r in results] == [PASS], [(r.status, r.message) for r in results]


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_every_rule_has_a_failing_fixture_in_every_format(rule_id: str) -> None:
    formats = {c.format for c in CASES if c.rule == rule_id}
    assert formats == set(FORMATS), f"{rule_id}: bad fixtures only for {sorted(formats)}"


def test_every_rule_has_an_id_rationale_severity_and_known_catalogue_entries() -> None:
    from catalogue import load_entries

    known = {entry.id for entry in load_entries()}
    for rule in all_rules():
        assert rule.rationale and len(rule.rationale) <= 140, rule.id
        assert set(rule.catalogue) <= known, f"{rule.id}: {sorted(set(rule.catalogue) - known)}"


# What a rule cannot read is unknown, never a pass.
UNDECIDABLE = {
    "encrypted-at-rest/conditional-key": (
        "encrypted-at-rest",
        lambda: cfn(
            {
                "Topic": (
                    "AWS::SNS::Topic",
                    {"KmsMasterKeyId": {"Fn::If": ["Prod", "alias/k", {"Ref": "AWS::NoValue"}]}},
                )
            }
        ),
        "Topic",
    ),
    "api-access-logs/conditional-settings": (
        "api-access-logs",
        lambda: cfn(
            {
                "Stage": (
                    "AWS::ApiGateway::Stage",
                    {
                        "AccessLogSetting": {
                            "Fn::If": [
                                "Prod",
                                {"DestinationArn": "arn:aws:logs:us-east-1:1:log-group:a", "Format": "$x"},
                                {"Ref": "AWS::NoValue"},
                            ]
                        }
                    },
                )
            }
        ),
        "Stage",
    ),
    "encrypted-at-rest/parameter": (
        "encrypted-at-rest",
        lambda: cfn(
            {"Cluster": ("AWS::RDS::DBCluster", {"StorageEncrypted": {"Ref": "Encrypt"}})},
            Parameters={"Encrypt": {"Type": "String"}},  # no default: only the deployment tells
        ),
        "Cluster",
    ),
    "bucket-tls-only/jsonencode": (
        "bucket-tls-only",
        lambda: tf(
            {
                "aws_s3_bucket": {"data": {"bucket": "data-dev"}},
                "aws_s3_bucket_policy": {
                    "data": {
                        "bucket": "${aws_s3_bucket.data.id}",
                        "policy": "${jsonencode({Statement = []})}",
                    }
                },
            }
        ),
        "aws_s3_bucket.data",
    ),
    "required-tags/secret-tags": (
        "required-tags",
        lambda: pulumi([("aws:sqs/queue:Queue", "jobs", {"name": "jobs-dev", "tags": SECRET})]),
        "jobs",
    ),
    "async-failure-destination/queue-elsewhere": (
        "async-failure-destination",
        lambda: pulumi(
            [
                (
                    "aws:lambda/eventSourceMapping:EventSourceMapping",
                    "source",
                    {
                        "eventSourceArn": "arn:aws:sqs:us-east-1:123456789012:other-stack-queue",
                        "functionName": "fn",
                    },
                )
            ]
        ),
        "source",
    ),
    "lambda-log-retention/generated-pulumi-name": (
        "lambda-log-retention",
        lambda: pulumi(
            [
                ("aws:lambda/function:Function", "fn", {"timeout": 3}),
                ("aws:cloudwatch/logGroup:LogGroup", "logs", {"name": "/aws/lambda/fn-3f2a1b0"}),
            ]
        ),
        "fn",
    ),
    "no-open-admin-ingress/computed-source": (
        "no-open-admin-ingress",
        lambda: cfn(
            {
                "In": (
                    "AWS::EC2::SecurityGroupIngress",
                    {
                        "GroupId": "sg-1",
                        "IpProtocol": "tcp",
                        "FromPort": 22,
                        "ToPort": 22,
                        "CidrIp": {"Ref": "Cidr"},
                    },
                )
            },
            Parameters={"Cidr": {"Type": "String"}},
        ),
        "In",
    ),
}


@pytest.mark.parametrize("name", sorted(UNDECIDABLE))
def test_undecidable_is_unknown(name: str) -> None:
    rule_id, build, subject = UNDECIDABLE[name]
    results = judged(rule_id, build(), subject)
    assert [r.status for r in results] == [UNKNOWN], [(r.status, r.message) for r in results]


def test_names_without_a_known_environment_are_unknown() -> None:
    document = cfn({"Topic": ("AWS::SNS::Topic", {"TopicName": "alerts"})}, tags={})
    results = list(RULES["name-has-environment"].run(document))
    assert [(r.resource, r.status) for r in results] == [(None, UNKNOWN)]


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("DB_PASSWORD", True),
        ("MasterUserPassword", True),
        ("masterPassword", True),
        ("api_key", True),
        ("SecretString", True),
        ("AuthToken", True),
        ("client_secret", True),
        ("DB_SECRET_ARN", False),
        ("PasswordLength", False),
        ("ExcludeCharacters", False),
        ("GenerateStringKey", False),
        ("SecretStringTemplate", False),
        ("KmsMasterKeyId", False),
        ("TOKEN_TABLE", False),
        ("secretId", False),
    ],
)
def test_secret_keys(key: str, secret: bool) -> None:
    from policies.rules.secrets import secret_key

    assert secret_key(key) is secret


COMPUTED = {
    "cloudformation": {"Fn::ImportValue": "shared-value"},  # only the deployment tells
    "terraform": "${var.anything}",
    "pulumi": SECRET,
}


def _computed(value, fmt: str, depth: int):
    if depth == 0:
        return COMPUTED[fmt]
    if isinstance(value, dict):
        return {key: _computed(item, fmt, depth - 1) for key, item in value.items()}
    if isinstance(value, list):
        return [_computed(item, fmt, depth - 1) for item in value]
    return COMPUTED[fmt]


@pytest.mark.parametrize("depth", [1, 2, 99])
def test_computed_values_are_never_a_crash_or_a_pass_by_accident(depth: int) -> None:
    """Every fixture with its values computed (at a depth): the rules still answer, and a bad
    fixture's failure turns into unknown, not into a pass."""
    for case in CASES:
        for defect, document in ((False, case.good()), (True, case.bad())):
            for resource in document:
                resource.properties = _computed(resource.properties, document.format, depth)
            for rule in all_rules():
                results = list(rule.run(document))
                for result in results:
                    assert not result.message.startswith("the rule failed"), (case.id, result.message)
                # A computed password is no longer a plaintext one: that defect goes away, no other does.
                if not defect and rule.id == case.rule:  # computed is unknown, never wrong
                    on_subject = [r.status for r in results if case.subject in (r.address, r.subject)]
                    on_subject += [
                        r.status for r in results if r.resource and r.resource.display == case.subject
                    ]
                    assert FAIL not in on_subject, (case.id, [r.message for r in results])
                if defect and rule.id == case.rule and rule.id != "no-plaintext-secrets":
                    on_subject = [
                        r.status
                        for r in results
                        if case.subject in (r.address, r.subject)
                        or (r.resource is not None and r.resource.display == case.subject)
                    ]
                    assert PASS not in on_subject, case.id
                    assert on_subject or UNKNOWN in {r.status for r in results}, f"{case.id}: judged nothing"
