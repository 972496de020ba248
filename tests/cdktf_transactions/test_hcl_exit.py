"""The exit route off CDKTF: `cdktn synth --hcl` must write HCL that Terraform can parse.

Policies written as JSON strings with references inside came out as ``"{" Version ": " ...``
(parse errors on every policy); they are ``aws_iam_policy_document`` data sources now and the
event pattern is ``jsonencode``. `make check` parses the real `cdktn synth --hcl` output too.
"""

from __future__ import annotations

import pytest

from cdktf_transactions.hcl_check import parse_errors

POLICY_HOLDERS = {  # resource type -> its attribute that holds a policy document
    "aws_iam_role_policy": "policy",
    "aws_kms_key": "policy",
    "aws_sns_topic_policy": "policy",
    "aws_vpc_endpoint": "policy",
}


@pytest.mark.catalogue("transactions-05")
def test_hcl_output_parses(transactions, tmp_path):
    """Fix: policies as aws_iam_policy_document, the event pattern as jsonencode: the HCL parses."""
    files = []
    for variant, synth in transactions.items():
        path = tmp_path / f"{variant}.tf"
        path.write_text(synth.hcl)
        files.append(path)
    assert parse_errors(*files) == {}


def test_the_parser_rejects_a_policy_rendered_from_a_json_string(tmp_path):
    """What cdktf made of json.dumps({...: "${aws_x.arn}:*"}): the check must be able to fail."""
    path = tmp_path / "broken.tf"
    path.write_text(
        'resource "aws_iam_role_policy" "p" {\n'
        '  policy = "{" Version ": " 2012 - 10 - 17 ", " Resource ": " $ { aws_x.y.arn } : * "}"\n'
        "}\n"
    )
    (error,) = parse_errors(path).values()
    assert "broken.tf:2" in error


@pytest.mark.catalogue("transactions-05")
@pytest.mark.parametrize("tf_type", sorted(POLICY_HOLDERS))
def test_policies_are_policy_documents_not_json_strings(dev, prod, tf_type):
    """Fix: every policy is a reference to an aws_iam_policy_document, never a JSON string."""
    for synth in (dev, prod):
        for resource in synth.resources(tf_type).values():
            policy = resource.get(POLICY_HOLDERS[tf_type])
            if policy is not None:
                assert synth.statements(policy), policy  # raises on anything but a document reference
