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


# Test directories whose session fixture synthesizes a stack, costliest first. Under `make test`
# (pytest-xdist, `--dist loadscope`) each of these directories is one scope, so its synthesis runs
# once per run, on one worker; every other module is its own scope, as with plain loadscope.
# (--dist loadgroup cannot do this with pytest 9.2: pytest-xdist#1386 drops the groups silently.)
SESSION_SCOPES = ("cdktf_transactions", "cdk_payments", "pulumi_trading_dr", "pulumi_fraud_pipeline")


def session_scope(nodeid: str) -> str | None:
    """``tests/<stack>/...`` -> ``<stack>`` for the directories above, else None."""
    parts = nodeid.split("::", 1)[0].split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "tests" and parts[1] in SESSION_SCOPES else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A catalogue marker must name an entry that exists: a typo would guard nothing."""
    known = {entry.id for entry in load_entries()}
    for item in items:
        for mark in item.iter_markers("catalogue"):
            for entry_id in mark.args:
                if entry_id not in known:
                    raise pytest.UsageError(f"{item.nodeid}: unknown catalogue id {entry_id!r}")
    if hasattr(config, "workerinput"):  # an xdist worker: the costliest scopes first, in that order
        rank = {scope: i for i, scope in enumerate(SESSION_SCOPES)}
        items.sort(key=lambda item: rank.get(session_scope(item.nodeid), len(rank)))


class StackScopeScheduling(LoadScopeScheduling):
    """``--dist loadscope``, with a stack's test directory as one scope (see SESSION_SCOPES)."""

    def _split_scope(self, nodeid: str) -> str:
        return session_scope(nodeid) or super()._split_scope(nodeid)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    return StackScopeScheduling(config, log) if config.getoption("dist") == "loadscope" else None
