"""make test runs on pytest-xdist workers: each stack's session synthesis must stay on one worker."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import SESSION_SCOPES, StackScopeScheduling

TESTS = Path(__file__).resolve().parent
# Session fixtures outside SESSION_SCOPES, and why a second one on the other worker is acceptable.
MAY_RUN_TWICE = {"lambda_src": "the PostgreSQL server: started in about a second, used by two modules"}


def session_fixture_dirs() -> set[str]:
    """The test directories whose conftest.py defines a session-scoped fixture."""
    found = set()
    for conftest in TESTS.glob("*/conftest.py"):
        for node in ast.walk(ast.parse(conftest.read_text())):
            if (
                isinstance(node, ast.Call)
                and ast.unparse(node.func) == "pytest.fixture"
                and any(k.arg == "scope" and ast.literal_eval(k.value) == "session" for k in node.keywords)
            ):
                found.add(conftest.parent.name)
    return found


def test_every_session_synthesis_is_one_scope():
    assert session_fixture_dirs() - MAY_RUN_TWICE.keys() == set(SESSION_SCOPES)


@pytest.mark.parametrize(
    ("nodeid", "scope"),
    [
        ("tests/cdk_payments/test_stack.py::test_outputs", "jsii"),
        ("tests/cdktf_transactions/test_hcl_exit.py::test_hcl_output_parses", "jsii"),
        ("tests/pulumi_trading_dr/test_iam.py::test_x[a/b]", "pulumi_trading_dr"),
        ("tests/lambda_src/test_packaging.py::test_x", "tests/lambda_src/test_packaging.py"),
        ("tests/test_toolchain.py::test_node", "tests/test_toolchain.py"),
    ],
)
def test_a_stack_directory_is_one_scope_and_other_modules_their_own(nodeid, scope):
    scheduler = object.__new__(StackScopeScheduling)  # _split_scope reads nothing of its state
    assert scheduler._split_scope(nodeid) == scope
