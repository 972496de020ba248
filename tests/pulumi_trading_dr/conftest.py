"""The trading DR program, run once per session under Pulumi mocks (pulumi_trading_dr.offline):
the resources.json document `make synth-all` writes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pytest

from tests.pulumi_export import Export


def run_offline() -> Export:
    """The session fixture ``dr`` (tests/conftest.py, so that tests/diagrams shares the run)."""
    from lambda_src.build import build
    from pulumi_trading_dr.offline import run

    build()
    return Export(json.loads(json.dumps(run("dev"))))


@dataclass(frozen=True)
class Automatic:
    """The program with failoverMode=automatic, and the resource options the engine was given
    (a stack export does not keep ignore_changes; a stack transformation sees them)."""

    export: Export
    ignore_changes: dict[str, list[str]]  # resource name -> ignore_changes


@pytest.fixture(scope="session")
def dr_automatic(dr: Export) -> Automatic:
    """A second run (the first one is done by then), with failoverMode=automatic."""
    from pulumi_offline import load_stack_config, run
    from pulumi_trading_dr.config import TradingConfig
    from pulumi_trading_dr.offline import PROJECT_DIR
    from pulumi_trading_dr.program import build

    seen: dict[str, list[str]] = {}

    def capture(args: pulumi.ResourceTransformationArgs) -> None:
        if args.opts and args.opts.ignore_changes:
            seen[args.name] = list(args.opts.ignore_changes)

    def program() -> dict[str, Any]:
        pulumi.runtime.register_stack_transformation(capture)
        return build(TradingConfig.from_pulumi(pulumi.Config()))

    config = {**load_stack_config(PROJECT_DIR, "dev"), "trading-dr:failoverMode": "automatic"}
    document = run(PROJECT_DIR, "dev", config, program)
    return Automatic(Export(json.loads(json.dumps(document))), seen)


@pytest.fixture(scope="session")
def dr_prod(dr: Export) -> Export:
    """The same program with env=prod (what differs in prod: instance counts, protection)."""
    from pulumi_offline import load_stack_config
    from pulumi_trading_dr.offline import PROJECT_DIR, run

    config = {**load_stack_config(PROJECT_DIR, "dev"), "trading-dr:env": "prod"}
    return Export(json.loads(json.dumps(run("prod", config))))


@pytest.fixture(scope="session")
def dr_deployment(dr: Export):
    """Both regions' functions, roles and resources as the permission check reads them (tests/iam)."""
    from tests.iam.deployment import from_pulumi

    return from_pulumi(dr, "pulumi_trading_dr")
