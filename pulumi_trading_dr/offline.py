"""The trading DR stack run offline (Pulumi mocks: no cloud, no Pulumi CLI, no plugins), written as
out/pulumi_trading_dr/resources.json in the shape of ``pulumi stack export`` (see pulumi_offline).

    python -m pulumi_trading_dr.offline [--stack dev] [--out DIR] [--set trading-dr:key=value]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi

import pulumi_offline
from pulumi_trading_dr.config import ConfigError  # what the program raises on bad config

PROJECT_DIR = Path(__file__).resolve().parent


def program() -> dict[str, Any]:
    from pulumi_trading_dr.config import TradingConfig
    from pulumi_trading_dr.program import build

    return build(TradingConfig.from_pulumi(pulumi.Config()))


def run(stack: str = "dev", config: dict[str, str] | None = None) -> dict[str, Any]:
    """Run the program under mocks with Pulumi.<stack>.yaml (or ``config``); return the document."""
    values = pulumi_offline.load_stack_config(PROJECT_DIR, stack) if config is None else config
    return pulumi_offline.run(PROJECT_DIR, stack, values, program)


if __name__ == "__main__":
    pulumi_offline.main(PROJECT_DIR, program, config_error=ConfigError)
