"""Pulumi entry point (``pulumi up`` in this folder): read config once, build, export.

Config keys (Pulumi.<stack>.yaml, namespace trading-dr): see config.TradingConfig and README.
"""

import sys
from pathlib import Path

# Pulumi runs this file with only this folder on sys.path; the package imports need the repo root.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pulumi

from pulumi_trading_dr.config import ConfigError, TradingConfig
from pulumi_trading_dr.program import build

try:
    outputs = build(TradingConfig.from_pulumi(pulumi.Config()))
except ConfigError as error:
    # The message names the key and the fix; RunError is Pulumi's one-line error, without a traceback.
    raise pulumi.RunError(f"{error} (pulumi config set <key> <value>)") from None
for name, value in outputs.items():
    pulumi.export(name, value)
