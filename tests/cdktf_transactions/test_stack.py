"""The rest of the transactions stack: provider tags, state backends, names, outputs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from cdktf_transactions.config import STATE_DIR, ConfigError, TransactionsConfig

ROOT = Path(__file__).resolve().parents[2]


def test_provider_tags_every_resource(dev):
    (provider,) = dev.json["provider"]["aws"]
    assert provider["default_tags"] == [
        {"tags": {"project": "transactions", "environment": "dev", "managed-by": "cdktf"}}
    ]


def test_terraform_gets_exactly_the_provider_the_bindings_describe(dev):
    """The bindings are generated from one hashicorp/aws schema; a looser constraint would let
    `terraform init` pick a provider whose schema the synthesized attributes were not checked against."""
    about = metadata.metadata("cdktn-provider-aws").get_payload()
    version = re.search(r"hashicorp/aws provider version (\d+\.\d+\.\d+)", about).group(1)
    required = {"aws": {"source": "hashicorp/aws", "version": version}}
    assert dev.json["terraform"]["required_providers"] == required


def test_local_state_lives_outside_the_synth_output_and_git(dev):
    """Every synth (make synth-*, make clean, the cdktf CLI) deletes out/: the state may not be in it."""
    (backend,) = dev.json["terraform"]["backend"].values()
    state = (dev.directory / backend["path"]).resolve()  # Terraform runs in the stack's folder
    assert state == STATE_DIR / "us-east-1" / "transactions-dev.tfstate"
    outdir = dev.directory.parents[1]
    for deleted in (outdir, ROOT / "out", ROOT / "build"):
        assert not state.is_relative_to(deleted)
    ignored = subprocess.run(["git", "check-ignore", "-q", str(state)], cwd=ROOT, check=False)
    assert ignored.returncode == 0, f"{state} is not git-ignored"


def test_the_session_synth_leaves_no_jsii_kernel_in_this_process(dev, prod):
    """The synth ran in its own process (tests/conftest.py: transactions_synth): the provider's Node
    kernel is not left beside the CDK's on the worker it shares with tests/cdk_payments."""
    assert not {"cdktn", "cdktn_provider_aws"} & sys.modules.keys()


def test_local_state_inside_the_synth_output_is_refused(transactions_synth):
    """Built in the session's synth process (synth.py): a state folder inside out/ is a ConfigError."""
    assert "inside the synth output" in (transactions_synth["state_inside_the_output"] or "not refused")


def test_s3_state_with_a_lock_file_when_configured(prod):
    s3 = prod.json["terraform"]["backend"]["s3"]
    assert s3["bucket"] == "example-terraform-state" and s3["key"] == "transactions/prod.tfstate"
    assert s3["use_lockfile"] is True and s3["encrypt"] is True
    assert "dynamodb_table" not in s3


def test_names_carry_the_environment(dev, prod):
    for synth, env in ((dev, "dev"), (prod, "prod")):
        names = [fn["function_name"] for fn in synth.resources("aws_lambda_function").values()]
        names += [synth.one("aws_sfn_state_machine")[1]["name"], synth.one("aws_dynamodb_table")[1]["name"]]
        assert all(name.endswith(f"-{env}") for name in names), names
        roles = [r["name"] for r in synth.resources("aws_iam_role").values()]
        assert roles and all(name.endswith(f"-{env}-us-east-1") for name in roles), roles


# Resource types whose names AWS keeps once per account, not per region.
ACCOUNT_WIDE = ("aws_iam_role", "aws_iam_policy", "aws_iam_user", "aws_iam_group", "aws_iam_instance_profile")


def test_the_same_env_in_two_regions_shares_no_account_wide_name_and_no_state(dev, dev_eu):
    """Fix (issue 8): IAM names are unique per account, so dev in eu-west-1 would have collided with
    dev in us-east-1 (EntityAlreadyExists, or worse, one stack's apply rewriting the other's roles);
    the region is in those names, and each region has its own local state file."""

    def account_wide(synth):
        return {r["name"] for kind in ACCOUNT_WIDE for r in synth.resources(kind).values()}

    assert len(account_wide(dev)) == len(dev.resources("aws_iam_role")) == 6
    assert account_wide(dev).isdisjoint(account_wide(dev_eu))
    assert {n.removesuffix("-us-east-1") for n in account_wide(dev)} == {
        n.removesuffix("-eu-west-1") for n in account_wide(dev_eu)
    }
    backends = [(s.directory, s.json["terraform"]["backend"]["local"]["path"]) for s in (dev, dev_eu)]
    states = {(directory / path).resolve() for directory, path in backends}
    assert len(states) == 2, states


def test_iam_names_fit_and_regions_are_checked():
    config = TransactionsConfig(env="abcdefghijkl", region="ap-southeast-2", alarm_email="a@example.com")
    assert len(config.global_name("transactions-notification")) <= 64
    with pytest.raises(ConfigError, match="TRANSACTIONS_REGION"):
        TransactionsConfig(env="dev", region="Europe", alarm_email="a@example.com")


def test_prod_protects_the_table(dev, prod):
    assert prod.one("aws_dynamodb_table")[1]["deletion_protection_enabled"] is True
    assert dev.one("aws_dynamodb_table")[1]["deletion_protection_enabled"] is False


def test_the_alarm_email_is_required_and_subscribed(dev, prod):
    """Alarms that e-mail nobody are not alarms: the address is required config, never optional."""
    for synth in (dev, prod):
        (subscription,) = synth.resources("aws_sns_topic_subscription").values()
        assert subscription["protocol"] == "email" and subscription["endpoint"] == "oncall@example.com"
    with pytest.raises(ConfigError, match="TRANSACTIONS_ALARM_EMAIL: required"):
        TransactionsConfig.from_environ({"TRANSACTIONS_ENV": "dev"})
    with pytest.raises(ConfigError, match="TRANSACTIONS_ALARM_EMAIL: 'oncall' is not an e-mail"):
        TransactionsConfig.from_environ({"TRANSACTIONS_ALARM_EMAIL": "oncall"})


def test_make_synth_passes_the_documented_example_address():
    """`make synth-all` must work out of the box and show the subscription: the Makefile's example."""
    environ = {k: v for k, v in os.environ.items() if k != "TRANSACTIONS_ALARM_EMAIL"}
    dry_run = subprocess.run(
        ["make", "-n", "-o", "lambdas", "synth-cdktf-transactions"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "TRANSACTIONS_ALARM_EMAIL=oncall@example.com" in dry_run.stdout


def test_functions_are_traced_in_the_vpc_with_their_configuration(dev):
    for fn in dev.resources("aws_lambda_function").values():
        assert fn["tracing_config"] == {"mode": "Active"}
        assert len(fn["vpc_config"]["subnet_ids"]) == 2
        assert fn["runtime"] == "python3.12" and fn["layers"]
    by_service = {
        fn["environment"]["variables"]["POWERTOOLS_SERVICE_NAME"]: fn
        for fn in dev.resources("aws_lambda_function").values()
    }
    assert set(by_service["settlement"]["environment"]["variables"]) >= {"TRANSACTIONS_TABLE"}
    assert set(by_service["notification"]["environment"]["variables"]) >= {"TOPIC_ARN"}


def test_outputs(dev):
    assert set(dev.json["output"]) == {
        "state_machine_arn",
        "transactions_table",
        "notifications_topic_arn",
        "alarm_topic_arn",
    }


@pytest.mark.parametrize(
    ("environ", "key"),
    [
        ({}, "TRANSACTIONS_ALARM_EMAIL"),
        ({"TRANSACTIONS_ENV": "Prod"}, "TRANSACTIONS_ENV"),
        ({"TRANSACTIONS_RESERVED_CONCURRENCY": "eleven"}, "TRANSACTIONS_RESERVED_CONCURRENCY"),
        ({"TRANSACTIONS_RESERVED_CONCURRENCY": "11"}, "TRANSACTIONS_RESERVED_CONCURRENCY"),
        ({"TRANSACTIONS_RESERVED_CONCURRENCY": "0"}, "TRANSACTIONS_RESERVED_CONCURRENCY"),
        ({"TRANSACTIONS_LOG_RETENTION_DAYS": "3"}, "TRANSACTIONS_LOG_RETENTION_DAYS"),
    ],
)
def test_bad_settings_are_refused_naming_the_variable(environ, key):
    if key != "TRANSACTIONS_ALARM_EMAIL":
        environ = {"TRANSACTIONS_ALARM_EMAIL": "oncall@example.com", **environ}
    with pytest.raises(ConfigError, match=key):
        TransactionsConfig.from_environ(environ)


def test_settings_from_the_environment():
    config = TransactionsConfig.from_environ(
        {
            "TRANSACTIONS_ENV": "qa",
            "TRANSACTIONS_STATE_BUCKET": "b",
            "TRANSACTIONS_ALARM_EMAIL": "a@example.com",
        }
    )
    assert (config.stack_name, config.state_bucket, config.reserved_concurrency) == (
        "transactions-qa",
        "b",
        None,
    )


def test_vpc_has_flow_logs_a_closed_default_group_and_pinned_zones(dev):
    (flow_log,) = dev.resources("aws_flow_log").values()
    assert flow_log["traffic_type"] == "ALL" and flow_log["log_destination_type"] == "cloud-watch-logs"
    (default_group,) = dev.resources("aws_default_security_group").values()
    assert "ingress" not in default_group and "egress" not in default_group
    assert sorted(s["availability_zone"] for s in dev.resources("aws_subnet").values()) == [
        "us-east-1a",
        "us-east-1b",
    ]
    assert "aws_availability_zones" not in dev.json.get("data", {})
    with pytest.raises(ConfigError, match="TRANSACTIONS_ZONES"):
        TransactionsConfig.from_environ(
            {"TRANSACTIONS_ZONES": "a,a", "TRANSACTIONS_ALARM_EMAIL": "a@example.com"}
        )
