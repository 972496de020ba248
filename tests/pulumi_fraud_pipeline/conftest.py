"""The fraud pipeline program, run once per session under Pulumi mocks (pulumi_fraud_pipeline.offline),
read as the resources.json document `make synth-all` writes."""

from __future__ import annotations

import json

import pytest

from tests.pulumi_export import Export


@pytest.fixture(scope="session")
def fraud() -> Export:
    from lambda_src.build import build
    from pulumi_fraud_pipeline.offline import run

    build()
    return Export(json.loads(json.dumps(run("dev"))))
