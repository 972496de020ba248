"""Session-wide test setup: Node 22 on PATH for jsii, catalogue markers checked against the data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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


# Each stack synthesized once per session, here so that every test directory shares the run
# (tests/diagrams draws from the same output); how each is made lives beside the stack's tests.
@pytest.fixture(scope="session")
def payments(tmp_path_factory: pytest.TempPathFactory):
    from tests.cdk_payments.conftest import synthesize

    return synthesize(tmp_path_factory)


@pytest.fixture(scope="session")
def transactions():
    from tests.cdktf_transactions.conftest import synthesize

    return synthesize()


@pytest.fixture(scope="session")
def fraud():
    from tests.pulumi_fraud_pipeline.conftest import run_offline

    return run_offline()


@pytest.fixture(scope="session")
def dr():
    from tests.pulumi_trading_dr.conftest import run_offline

    return run_offline()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A catalogue marker must name an entry that exists: a typo would guard nothing."""
    known = {entry.id for entry in load_entries()}
    for item in items:
        for mark in item.iter_markers("catalogue"):
            for entry_id in mark.args:
                if entry_id not in known:
                    raise pytest.UsageError(f"{item.nodeid}: unknown catalogue id {entry_id!r}")
