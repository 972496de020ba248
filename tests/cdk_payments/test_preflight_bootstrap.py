"""The preflight's CDK bootstrap minimum is what the synthesized assembly asks for (issue 16)."""

from __future__ import annotations

import json
from typing import Any

from preflight.cdk_payments import MIN_BOOTSTRAP_VERSION


def required_versions(value: Any) -> list[int]:
    if isinstance(value, dict):
        found = [value["requiresBootstrapStackVersion"]] if "requiresBootstrapStackVersion" in value else []
        return found + [v for item in value.values() for v in required_versions(item)]
    if isinstance(value, list):
        return [v for item in value for v in required_versions(item)]
    return []


def test_preflight_requires_the_bootstrap_version_the_assembly_requires(dev):
    """Fix (issue 16, item 1): `make preflight-cdk-payments` refuses a bootstrap older than any
    the assembly names (the stack, its assets, the lookup role cdk diff assumes), so a CDK upgrade
    that raises it fails here until the constant follows."""
    manifest = json.loads((dev.path.parent / "manifest.json").read_text())
    versions = required_versions(manifest["artifacts"])
    assert versions and max(versions) == MIN_BOOTSTRAP_VERSION, sorted(set(versions))
