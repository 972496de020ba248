"""Issue 13, item 7 and "Done when": the README's runbooks are make targets, and each target runs
what its runbook says. Read from `make -n` (nothing runs): the drill sends the orchestrator a
payload it takes as a switchover (never a data-loss failover); failover, failback and
reconciliation call pulumi_trading_dr.ops with the operator's words."""

from __future__ import annotations

import json

import pytest

from lambda_src.pulumi_trading_dr.failover import index as failover
from pulumi_trading_dr import ops
from tests.preflight.test_make_targets import PYTHON, after, commands

OPS = (PYTHON, "-m", "pulumi_trading_dr.ops")


def ops_call(monkeypatch, target: str, **variables: str) -> tuple[str, tuple]:
    """The ops function `make <target>` would call, with its arguments (ops' own parser reads them)."""
    (words,) = [w for w in commands(target, **variables) if after(w, *OPS) is not None]
    called: list[tuple[str, tuple]] = []
    for name in ("failover", "failback", "reconcile"):
        monkeypatch.setattr(ops, name, lambda *a, name=name: called.append((name, a)))
    assert ops.main(after(words, *OPS), ctx_factory=lambda stack: f"ctx:{stack}") == 0
    (call,) = called
    return call


def test_the_drill_invokes_the_orchestrator_with_a_switchover_it_accepts():
    """Runbook 1: the drill payload is one the failover (orchestrator) function classifies as a
    switchover, sent to that function in the secondary region: never a data-loss failover."""
    (words,) = [w for w in commands("drill-pulumi-trading-dr", STACK="dev") if "--payload" in w]
    value = {words[i]: words[i + 1] for i in range(len(words) - 1) if words[i].startswith("--")}
    assert value["--function-name"] == "$(pulumi stack output failover_function_arn --stack dev)"
    assert value["--region"] == "$(pulumi config get secondaryRegion --stack dev)"
    settings = failover.Settings(
        global_cluster_id="trading-db-dev",
        target_cluster_arn="arn:aws:rds:us-west-2:123456789012:cluster:trading-db-dev-secondary",
        old_writer_cluster_arn="arn:aws:rds:us-east-1:123456789012:cluster:trading-db-dev-primary",
        topic_arn="arn:aws:sns:us-west-2:123456789012:trading-alerts-dev",
        alarm_name="trading-primary-failing-dev",
        allow_data_loss=False,
    )
    assert failover.classify(json.loads(value["--payload"]), settings).action == failover.SWITCHOVER


@pytest.mark.parametrize(
    ("target", "variables", "expected"),
    [
        (
            "failover-pulumi-trading-dr",
            {"STACK": "dev", "CONFIRM": "trading-db-dev", "REASON": "us-east-1 lost"},
            ("failover", ("ctx:dev", "trading-db-dev", "us-east-1 lost", False)),
        ),
        (
            "failover-pulumi-trading-dr",
            {"STACK": "prod", "CONFIRM": "trading-db-prod", "REASON": "r", "FORCE_DATA_LOSS": "1"},
            ("failover", ("ctx:prod", "trading-db-prod", "r", True)),
        ),
        ("failback-pulumi-trading-dr", {"STACK": "dev"}, ("failback", ("ctx:dev", False, 1800))),
        (
            "reconcile-pulumi-trading-dr",
            {"STACK": "dev", "SINCE": "2026-12-05T10:00:00Z"},
            ("reconcile", ("ctx:dev", "2026-12-05T10:00:00Z", False)),
        ),
        (
            "reconcile-pulumi-trading-dr",
            {"STACK": "dev", "SINCE": "2026-12-05T10:00:00Z", "REPAIR": "1"},
            ("reconcile", ("ctx:dev", "2026-12-05T10:00:00Z", True)),
        ),
    ],
    ids=["failover", "failover-force", "failback", "reconcile", "reconcile-repair"],
)
def test_each_runbook_target_runs_its_ops_command(monkeypatch, target, variables, expected):
    """Runbooks 2-4: the make target passes the operator's confirmation, reason, flags and stack
    to the ops command the Stubber tests (test_ops.py) exercise; failback refreshes (no skip)."""
    assert ops_call(monkeypatch, target, **variables) == expected


def test_the_failover_rehearsal_throttles_the_health_methods_own_bucket():
    """Runbook 2's rehearsal fails the primary's /v1/health by throttling it. GET /health has a
    method override of its own (test_flood.py), which a patch of /*/*/throttling no longer reaches:
    the patch must name the override (resource path with '/' as '~1', then the method)."""
    import re
    from pathlib import Path

    from pulumi_trading_dr.components.api import HEALTH_METHOD_PATH

    resource, method = HEALTH_METHOD_PATH.rsplit("/", 1)
    override = "/" + ("/" + resource).replace("/", "~1") + "/" + method
    readme = (Path(__file__).resolve().parents[2] / "pulumi_trading_dr" / "README.md").read_text()
    patched = set(re.findall(r"path=(\S+)/throttling/(rateLimit|burstLimit),value=0", readme))
    assert patched == {(override, "rateLimit"), (override, "burstLimit")}
