"""The trading DR program, run once per session under Pulumi mocks (pulumi_trading_dr.offline):
the resources.json document `make synth-all` writes."""

from __future__ import annotations

import json

import pytest

from tests.pulumi_export import Export


def run_offline() -> Export:
    """The session fixture ``dr`` (tests/conftest.py, so that tests/diagrams shares the run)."""
    from lambda_src.build import build
    from pulumi_trading_dr.offline import run

    build()
    return Export(json.loads(json.dumps(run("dev"))))


@pytest.fixture(scope="session")
def dr_manual(dr: Export) -> Export:
    """The same program with failoverMode=manual (a second run; the first one is done by then)."""
    from pulumi_offline import load_stack_config
    from pulumi_trading_dr.offline import PROJECT_DIR, run

    config = {**load_stack_config(PROJECT_DIR, "dev"), "trading-dr:failoverMode": "manual"}
    return Export(json.loads(json.dumps(run("dev", config))))


@pytest.fixture(scope="session")
def dr_prod(dr: Export) -> Export:
    """The same program with env=prod (what differs in prod: instance counts, protection)."""
    from pulumi_offline import load_stack_config
    from pulumi_trading_dr.offline import PROJECT_DIR, run

    config = {**load_stack_config(PROJECT_DIR, "dev"), "trading-dr:env": "prod"}
    return Export(json.loads(json.dumps(run("prod", config))))
