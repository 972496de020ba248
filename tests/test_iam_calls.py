"""The reader of a handler's AWS calls (tests/iam_calls.py) on small handlers written here."""

from __future__ import annotations

import textwrap

from tests.iam_calls import grants, missing_actions, required_actions


def handler_dir(tmp_path, source):
    (tmp_path / "index.py").write_text(textwrap.dedent(source))
    return tmp_path


def test_calls_through_injected_clients_are_found_by_the_service_they_are_made_for(tmp_path):
    source = """
        import boto3
        def handle(deps):
            deps.table.get_item(Key={})
            deps.table.update_item(Key={})
            deps.sns.publish(TopicArn="t", Message="m")
        def deps():
            return boto3.resource("dynamodb").Table("t"), boto3.client("sns")
    """
    assert required_actions(handler_dir(tmp_path, source)) == {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "sns:Publish",
    }


def test_iam_names_that_differ_from_the_operation(tmp_path):
    source = """
        import boto3
        s3, fn = boto3.client("s3"), boto3.client("lambda")
        s3.head_object(Bucket="b", Key="k")
        fn.invoke(FunctionName="f")
    """
    assert required_actions(handler_dir(tmp_path, source)) == {
        "s3:GetObject",
        "s3:ListBucket",  # or a missing key answers 403
        "lambda:InvokeFunction",
    }


def test_imported_common_functions_are_followed(tmp_path):
    source = """
        import boto3
        from common.fraud import dynamodb_history
        table = boto3.resource("dynamodb").Table("t")
        dynamodb_history(table, "index")
    """
    assert required_actions(handler_dir(tmp_path, source)) == {"dynamodb:Query"}


def test_a_policy_without_the_action_is_reported():
    statements = [
        {"Effect": "Allow", "Action": ["dynamodb:PutItem", "sns:*"], "Resource": "*"},
        {"Effect": "Deny", "Action": "sns:Publish", "Resource": "*"},
    ]
    assert grants("dynamodb:PutItem", statements)
    assert not grants("dynamodb:GetItem", statements)
    assert not grants("sns:Publish", statements)  # an explicit Deny wins


def test_missing_actions_names_exactly_what_the_role_lacks(tmp_path):
    source = """
        import boto3
        table = boto3.resource("dynamodb").Table("t")
        table.put_item(Item={})
        table.get_item(Key={})
    """
    statements = [{"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": "arn"}]
    assert missing_actions(handler_dir(tmp_path, source), statements) == {"dynamodb:GetItem"}
