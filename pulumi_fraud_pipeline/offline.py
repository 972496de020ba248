"""The fraud pipeline run offline (Pulumi mocks: no cloud, no Pulumi CLI), written as
out/pulumi_fraud_pipeline/resources.json in the shape of ``pulumi stack export`` (see pulumi_offline).

    python -m pulumi_fraud_pipeline.offline [--stack dev] [--out DIR] [--set fraud-pipeline:key=value]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi

import pulumi_offline
from pulumi_fraud_pipeline.config import ConfigError  # what the program raises on bad config
from pulumi_offline import ACCOUNT  # noqa: F401  (tests read the mocks' account from here)

PROJECT_DIR = Path(__file__).resolve().parent


def program() -> dict[str, Any]:
    from pulumi_fraud_pipeline.config import FraudConfig
    from pulumi_fraud_pipeline.program import build

    config = FraudConfig.from_pulumi(pulumi.Config(), pulumi.Config("aws").get("region"))
    return build(config)


def run(stack: str = "dev", config: dict[str, str] | None = None) -> dict[str, Any]:
    """Run the program under mocks with Pulumi.<stack>.yaml (or ``config``); return the document."""
    values = pulumi_offline.load_stack_config(PROJECT_DIR, stack) if config is None else config
    return pulumi_offline.run(PROJECT_DIR, stack, values, program)


if __name__ == "__main__":
    pulumi_offline.main(PROJECT_DIR, program, config_error=ConfigError)
