"""Every transactions handler's AWS calls, read from its source, against the policy the stack
grants its role in the synthesized cdk.tf.json: a call the role lacks only fails in AWS."""

from __future__ import annotations

import pytest

from lambda_src.build import functions
from tests.iam_calls import missing_actions, required_actions

TRANSACTIONS_FUNCTIONS = [f for f in functions() if f.stack == "cdktf_transactions"]


@pytest.mark.catalogue("transactions-05")
@pytest.mark.parametrize("function", TRANSACTIONS_FUNCTIONS, ids=lambda f: f.name)
@pytest.mark.parametrize("variant", ["dev", "prod"])
def test_the_role_grants_every_call_the_handler_makes(transactions, variant, function):
    """Fix: least privilege that is still enough: every action the handler's code calls is granted."""
    synth = transactions[variant]
    role = synth.function(function.name)["role"]
    role_name = role.removeprefix("${aws_iam_role.").removesuffix(".arn}")
    attached = [
        a for a in synth.resources("aws_iam_role_policy_attachment").values() if role_name in a["role"]
    ]
    assert attached == []  # inline policies only: managed ones would not be read here
    assert missing_actions(function.source, synth.role_statements(role)) == set()


def test_every_function_of_the_stack_is_deployed_and_the_reader_sees_their_calls(dev):
    """The comparison above is only as good as the reader: it must find the calls that exist."""
    deployed = {
        fn["environment"]["variables"]["POWERTOOLS_SERVICE_NAME"]
        for fn in dev.resources("aws_lambda_function").values()
    }
    assert (
        deployed
        == {f.name for f in TRANSACTIONS_FUNCTIONS}
        == {"validation", "fraud_check", "settlement", "notification"}
    )
    calls = {f.name: required_actions(f.source) for f in TRANSACTIONS_FUNCTIONS}
    assert calls["settlement"] == {"dynamodb:PutItem", "dynamodb:GetItem"}
    assert calls["fraud_check"] == {"dynamodb:Query"}  # through common.fraud
    assert calls["notification"] == {"sns:Publish"}
