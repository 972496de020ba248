"""The evaluation (policy.py) and the check (requests.py) on small policies and handlers written here."""

from __future__ import annotations

import pytest

from tests.iam.deployment import ACCOUNT, Deployment, Function
from tests.iam.policy import Request, allows, decide
from tests.iam.requests import refused, required_actions
from tests.iam.test_reader import program

ROLE = f"arn:aws:iam::{ACCOUNT}:role/fn-role"
BUCKET = "arn:aws:s3:::data-bucket"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts"


def deployment(tmp_path, source, statements, **resources) -> tuple[Deployment, Function]:
    function = Function(
        name="fn",
        source=program(tmp_path, source),
        arn=f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:fn",
        role=ROLE,
        region="us-east-1",
        environment={"BUCKET": "data-bucket", "TOPIC_ARN": TOPIC},
        statements=statements,
    )
    return Deployment("stack", ACCOUNT, [function], **resources), function


def test_wildcards_not_action_not_resource_and_deny():
    statements = [
        {"Effect": "Allow", "Action": "dynamodb:*Item", "Resource": "arn:aws:dynamodb:*:*:table/t"},
        {"Effect": "Allow", "NotAction": "iam:*", "NotResource": "arn:aws:sns:*:*:secret-topic"},
        {
            "Effect": "Deny",
            "Action": "sns:Publish",
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    ]
    secure = {"aws:SecureTransport": "true"}
    assert allows(statements, Request("dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:1:table/t"))
    assert allows(statements, Request("sns:Publish", TOPIC, ROLE, secure))
    assert not allows(
        statements, Request("sns:Publish", "arn:aws:sns:us-east-1:1:secret-topic", ROLE, secure)
    )
    assert not allows(statements, Request("sns:Publish", TOPIC, ROLE, {"aws:SecureTransport": "false"}))
    assert not allows(statements, Request("iam:PassRole", "arn:aws:iam::1:role/x"))


def test_conditions_as_iam_evaluates_them():
    """A missing key fails StringEquals and passes IfExists and the negated operators; keys are
    case-insensitive, ARN patterns case-sensitive."""
    request = Request("kms:Decrypt", KEY, ROLE, {"kms:ViaService": "sns.us-east-1.amazonaws.com"})
    assert allows(
        [
            {
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": KEY,
                "Condition": {"StringEquals": {"KMS:viaservice": "sns.us-east-1.amazonaws.com"}},
            }
        ],
        request,
    )
    assert not allows(
        [
            {
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": KEY,
                "Condition": {"StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": TOPIC}},
            }
        ],
        request,
    )
    assert allows(
        [
            {
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": KEY,
                "Condition": {"StringEqualsIfExists": {"kms:EncryptionContext:aws:sns:topicArn": TOPIC}},
            }
        ],
        request,
    )
    assert allows(
        [
            {
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": KEY,
                "Condition": {"Null": {"kms:GrantIsForAWSResource": "true"}},
            }
        ],
        request,
    )
    with pytest.raises(ValueError, match="DateGreaterThan"):
        allows(
            [
                {
                    "Effect": "Allow",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01"}},
                }
            ],
            request,
        )


def test_a_key_policy_must_allow_the_role_or_delegate_to_iam():
    request = Request("kms:Decrypt", KEY, ROLE)
    identity = [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY}]
    delegates = [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    names_role = [{"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "kms:Decrypt", "Resource": "*"}]
    assert decide(request, identity, delegates, account=ACCOUNT, key_policy=True).allowed
    assert not decide(request, [], delegates, account=ACCOUNT, key_policy=True).allowed
    assert decide(request, [], names_role, account=ACCOUNT, key_policy=True).allowed
    assert not decide(request, identity, [], account=ACCOUNT, key_policy=True).allowed  # no delegation


def test_a_resource_policy_deny_wins_and_its_allow_of_the_role_suffices():
    request = Request("sns:Publish", TOPIC, ROLE, {"aws:SecureTransport": "true"})
    deny = [{"Effect": "Deny", "Principal": "*", "Action": "sns:Publish", "Resource": TOPIC}]
    allow = [{"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "sns:Publish", "Resource": TOPIC}]
    identity = [{"Effect": "Allow", "Action": "sns:Publish", "Resource": TOPIC}]
    assert not decide(request, identity, deny, account=ACCOUNT).allowed
    assert decide(request, [], allow, account=ACCOUNT).allowed


HEAD_OBJECT = """
    import os
    import boto3

    s3 = boto3.client("s3")

    def handler(event, context):
        s3.head_object(Bucket=os.environ["BUCKET"], Key=f"records/{event['id']}.json")
"""


def test_a_missing_object_is_a_404_only_with_list_bucket(tmp_path):
    """Fix: reading an object the code may not find needs s3:ListBucket on the bucket, or S3
    answers 403 where the code expects 404."""
    statements = [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{BUCKET}/records/*"}]
    stack, function = deployment(tmp_path, HEAD_OBJECT, statements)
    (refusal,) = refused(function, stack)
    assert (refusal.action, refusal.resource) == ("s3:ListBucket", BUCKET)
    assert "404" in refusal.why
    statements.append({"Effect": "Allow", "Action": "s3:ListBucket", "Resource": BUCKET})
    assert refused(function, stack) == []


def test_an_sse_kms_bucket_needs_the_key_through_s3(tmp_path):
    """Fix: PutObject into a bucket encrypted with a customer-managed key needs
    kms:GenerateDataKey on that key, via S3, for that bucket (its Bucket Key's context)."""
    source = """
        import os
        import boto3

        def handler(event, context):
            boto3.resource("s3").Object(os.environ["BUCKET"], "audit/x.json").put(Body=b"{}")
    """
    statements = [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"{BUCKET}/audit/*"}]
    key_policy = [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    stack, function = deployment(
        tmp_path, source, statements, keys={BUCKET: KEY}, bucket_keys={BUCKET}, policies={KEY: key_policy}
    )
    assert [(r.action, r.resource) for r in refused(function, stack)] == [("kms:GenerateDataKey", KEY)]
    statements.append(
        {
            "Effect": "Allow",
            "Action": "kms:GenerateDataKey",
            "Resource": KEY,
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": "s3.us-east-1.amazonaws.com",
                    "kms:EncryptionContext:aws:s3:arn": BUCKET,
                }
            },
        }
    )
    assert refused(function, stack) == []


def test_required_actions_names_the_iam_actions(tmp_path):
    source = """
        import boto3
        def handler(event, context):
            boto3.client("lambda").invoke(FunctionName="f")
            boto3.client("cloudwatch").get_metric_data(MetricDataQueries=[])
    """
    assert required_actions(program(tmp_path, source)) == {
        "lambda:InvokeFunction",
        "cloudwatch:GetMetricData",
    }
