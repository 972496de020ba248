"""The fraud pipeline program, run once per session under Pulumi mocks (pulumi_fraud_pipeline.offline),
read as the resources.json document `make synth-all` writes."""

from __future__ import annotations

import json

from tests.pulumi_export import Export


def run_offline() -> Export:
    """The session fixture ``fraud`` (tests/conftest.py, so that tests/diagrams shares the run)."""
    from lambda_src.build import build
    from pulumi_fraud_pipeline.offline import run

    build()
    return Export(json.loads(json.dumps(run("dev"))))
