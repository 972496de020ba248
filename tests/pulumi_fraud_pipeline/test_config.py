"""Stack config as __main__.py reads it: Pulumi.dev.yaml through a real ``pulumi.Config``."""

from __future__ import annotations

import contextvars
from pathlib import Path

import pulumi
import pytest
import yaml

from pulumi_fraud_pipeline.config import ConfigError, FraudConfig

PROJECT_DIR = Path(__file__).resolve().parents[2] / "pulumi_fraud_pipeline"


def read_config(**changes: str | None) -> FraudConfig:
    """Pulumi.dev.yaml with ``changes`` (key -> value, None removes it), read like ``pulumi up``.

    In a copied context: the config map is a context variable, so the session's program keeps its own.
    """
    values = {
        k: str(v) for k, v in yaml.safe_load((PROJECT_DIR / "Pulumi.dev.yaml").read_text())["config"].items()
    }
    for key, value in changes.items():
        values.pop(f"fraud-pipeline:{key}", None)
        if value is not None:
            values[f"fraud-pipeline:{key}"] = value

    def read() -> FraudConfig:
        pulumi.runtime.set_all_config(values)
        return FraudConfig.from_pulumi(pulumi.Config("fraud-pipeline"), pulumi.Config("aws").get("region"))

    return contextvars.copy_context().run(read)


def test_the_dev_stack_reads_with_the_documented_defaults():
    config = read_config()
    assert (config.env, config.region, config.stage_name) == ("dev", "us-east-2", "v1")
    assert config.consumer_max_concurrency == 5
    assert config.reserved_concurrency is None  # opt-in: the functions share the account pool


def test_a_stack_without_aws_region_is_refused_not_built_for_a_guessed_region():
    """The program and the provider must agree on the region: pulumi-aws falls back to AWS_REGION,
    AWS_DEFAULT_REGION or the profile's, so a program default would build names and zones for one
    region and deploy them to another (issue 16 review)."""
    values = {
        k: str(v)
        for k, v in yaml.safe_load((PROJECT_DIR / "Pulumi.dev.yaml").read_text())["config"].items()
        if k != "aws:region"
    }

    def read() -> FraudConfig:
        pulumi.runtime.set_all_config(values)
        return FraudConfig.from_pulumi(pulumi.Config("fraud-pipeline"), pulumi.Config("aws").get("region"))

    with pytest.raises(ConfigError, match=r"aws:region is not set.*pulumi config set aws:region"):
        contextvars.copy_context().run(read)


@pytest.mark.catalogue("fraud-15")
def test_reserved_concurrency_is_opt_in_and_at_least_the_consumers_bound():
    assert read_config(reservedConcurrency="5").reserved_concurrency == 5
    with pytest.raises(ConfigError, match=r"reservedConcurrency: 4 must be at least consumerMaxConcurrency"):
        read_config(reservedConcurrency="4")
    with pytest.raises(ConfigError, match="at most 10"):
        read_config(reservedConcurrency="11")


@pytest.mark.catalogue("fraud-15")
def test_reserved_concurrency_zero_is_refused_not_defaulted():
    """0 would throttle every invocation: a clear error, never silently another value."""
    with pytest.raises(ConfigError, match=r"reservedConcurrency: 0 throttles every invocation"):
        read_config(reservedConcurrency="0")


@pytest.mark.parametrize("value", ["0", "1", "1001"])
def test_consumer_max_concurrency_stays_in_the_range_aws_accepts(value):
    with pytest.raises(ConfigError, match=rf"consumerMaxConcurrency: {value} is outside 2..1000"):
        read_config(consumerMaxConcurrency=value)


@pytest.mark.catalogue("fraud-08")
def test_alert_email_is_required_with_the_command_that_sets_it():
    """fraud-08: a stack without a subscriber publishes alerts to nobody; say how to set one."""
    assert read_config().alert_email == "oncall@example.com"  # the documented example in Pulumi.dev.yaml
    with pytest.raises(ConfigError, match=r"^alertEmail: required .*pulumi config set alertEmail "):
        read_config(alertEmail=None)


@pytest.mark.catalogue("fraud-15")
def test_max_receive_count_is_at_least_what_aws_advises_for_a_lambda_queue():
    """Fix: 5 receives by default, fewer refused: AWS advises maxReceiveCount >= 5 on a queue an
    event source mapping reads, so one transient failure does not send a transaction to the DLQ."""
    assert read_config().max_receive_count == 5
    assert read_config(maxReceiveCount="8").max_receive_count == 8
    for value in ("0", "3", "4", "1001"):
        with pytest.raises(ConfigError, match=rf"maxReceiveCount: {value} is outside 5..1000: AWS advises"):
            read_config(maxReceiveCount=value)
