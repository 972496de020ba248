"""Pulumi entry point (``pulumi up`` in this folder): read config once, build, export.

Config keys (Pulumi.<stack>.yaml, namespace fraud-pipeline): env (required), stageName (v1),
alertEmail, zones (a,b), logRetentionDays (30), consumerMaxConcurrency (5, 2..1000),
reservedConcurrency (unset; consumerMaxConcurrency..10), apiRateLimit, apiBurstLimit, wafRateLimit,
maxReceiveCount (5, 5..1000); aws:region (required; us-east-2 in Pulumi.dev.yaml).
"""

import sys
from pathlib import Path

# Pulumi runs this file with only this folder on sys.path; the package imports need the repo root.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pulumi

from pulumi_fraud_pipeline.config import ConfigError, FraudConfig
from pulumi_fraud_pipeline.program import build

try:
    outputs = build(FraudConfig.from_pulumi(pulumi.Config(), pulumi.Config("aws").get("region")))
except ConfigError as error:
    # The message names the key and the fix; RunError is Pulumi's one-line error, without a traceback.
    raise pulumi.RunError(f"{error} (pulumi config set <key> <value>)") from None
for name, value in outputs.items():
    pulumi.export(name, value)
