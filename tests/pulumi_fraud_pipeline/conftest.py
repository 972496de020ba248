"""The fraud pipeline program, run once per session under Pulumi mocks (pulumi_fraud_pipeline.offline),
read as the resources.json document `make synth-all` writes."""

from __future__ import annotations

import json

import pytest

from tests.pulumi_export import Export


def run_offline() -> Export:
    """The session fixture ``fraud`` (tests/conftest.py, so that tests/diagrams shares the run)."""
    from lambda_src.build import build
    from pulumi_fraud_pipeline.offline import run

    build()
    return Export(json.loads(json.dumps(run("dev"))))


@pytest.fixture(scope="session")
def fraud_us_west_2(fraud: Export) -> Export:
    """The same dev stack in us-west-2 (a second run; the first one is done by then)."""
    from pulumi_fraud_pipeline.offline import PROJECT_DIR, run
    from pulumi_offline import load_stack_config

    config = {**load_stack_config(PROJECT_DIR, "dev"), "aws:region": "us-west-2"}
    return Export(json.loads(json.dumps(run("dev", config))))


@pytest.fixture(scope="session")
def fraud_deployment(fraud: Export):
    """The program's functions, roles and resources as the permission check reads them (tests/iam)."""
    from tests.iam.deployment import from_pulumi

    return from_pulumi(fraud, "pulumi_fraud_pipeline")
