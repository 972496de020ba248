"""Session-wide test setup: Node 22 on PATH for jsii, catalogue markers checked against the data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from xdist.scheduler import LoadScopeScheduling

from catalogue import load_entries

ROOT = Path(__file__).resolve().parents[1]
NODE_BIN = ROOT / "node_modules" / ".bin"
if NODE_BIN.is_dir() and str(NODE_BIN) not in os.environ.get("PATH", "").split(os.pathsep):
    # The same order as the Makefile: jsii must find Node 22, not the machine's Node 20.
    os.environ["PATH"] = f"{NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"

# Handler modules read these at import or first use; tests never talk to real AWS.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_DEV", "false")


# Test directories whose session fixture synthesizes a stack -> their xdist scope, in the order
# they run. Under `make test` (pytest-xdist, `--dist loadscope`) a scope runs on one worker, so each
# synthesis happens once per run; every other module is its own scope, as with plain loadscope.
# The two jsii stacks share a scope, one after the other: the CDK's Node kernel (about 0.5 GB, alive
# as long as its worker) then never runs beside the transactions synth's (about 0.8 GB; it exits
# with its process, tests/cdktf_transactions/synth.py), which keeps `make test` under 2 GB.
# (--dist loadgroup cannot do this with pytest 9.2: pytest-xdist#1386 drops the groups silently.)
SESSION_SCOPES = {
    "cdktf_transactions": "jsii",
    "cdk_payments": "jsii",
    "pulumi_trading_dr": "pulumi_trading_dr",
    "pulumi_fraud_pipeline": "pulumi_fraud_pipeline",
}


def session_scope(nodeid: str) -> str | None:
    """``tests/<stack>/...`` -> its scope for the directories above, else None."""
    parts = nodeid.split("::", 1)[0].split("/")
    if len(parts) > 2 and parts[0] == "tests":
        return SESSION_SCOPES.get(parts[1])
    return None


def session_rank(nodeid: str) -> int:
    """Position in SESSION_SCOPES (the order the scopes run in); other tests after them."""
    parts = nodeid.split("/")
    return list(SESSION_SCOPES).index(parts[1]) if session_scope(nodeid) else len(SESSION_SCOPES)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A catalogue marker must name an entry that exists: a typo would guard nothing."""
    known = {entry.id for entry in load_entries()}
    for item in items:
        for mark in item.iter_markers("catalogue"):
            for entry_id in mark.args:
                if entry_id not in known:
                    raise pytest.UsageError(f"{item.nodeid}: unknown catalogue id {entry_id!r}")
    if hasattr(config, "workerinput"):  # an xdist worker: the session scopes first, in their order
        items.sort(key=lambda item: session_rank(item.nodeid))


class StackScopeScheduling(LoadScopeScheduling):
    """``--dist loadscope``, with a stack's test directory as one scope (see SESSION_SCOPES)."""

    def _split_scope(self, nodeid: str) -> str:
        return session_scope(nodeid) or super()._split_scope(nodeid)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    return StackScopeScheduling(config, log) if config.getoption("dist") == "loadscope" else None
