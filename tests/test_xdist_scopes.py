"""make test runs on pytest-xdist workers: each stack's session synthesis must stay on one worker
(tests/conftest.py: the scopes, and the guard that fails collection when a test's name and the
syntheses it uses disagree)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import FIXTURE_SCOPES, StackScopeScheduling, session_scope

TESTS = Path(__file__).resolve().parent
# Root session fixtures that are not a synthesis (none today) would be listed here with the reason.
NOT_A_SYNTHESIS: dict[str, str] = {}


def root_session_fixtures() -> set[str]:
    found = set()
    for node in ast.parse((TESTS / "conftest.py").read_text()).body:
        if isinstance(node, ast.FunctionDef) and any(
            isinstance(d, ast.Call)
            and ast.unparse(d.func) == "pytest.fixture"
            and any(k.arg == "scope" and ast.literal_eval(k.value) == "session" for k in d.keywords)
            for d in node.decorator_list
        ):
            found.add(node.name)
    return found


def test_every_root_synthesis_has_a_scope():
    """A new stack's synthesis fixture without a scope would run on both workers."""
    scoped = set(FIXTURE_SCOPES) | {"transactions"}  # built from transactions_synth, same scope
    assert root_session_fixtures() - NOT_A_SYNTHESIS.keys() == scoped


@pytest.mark.parametrize(
    ("nodeid", "scope"),
    [
        ("tests/cdk_payments/test_stack.py::test_outputs", "jsii"),
        ("tests/cdktf_transactions/test_hcl_exit.py::test_hcl_output_parses", "jsii"),
        ("tests/pulumi_trading_dr/test_iam.py::test_x[a/b]", "pulumi_trading_dr"),
        ("tests/diagrams/test_data_path.py::TestPayments::test_api", "jsii"),
        ("tests/diagrams/test_data_path.py::TestTradingDr::test_replication", "pulumi_trading_dr"),
        ("tests/policies/test_stacks.py::test_fraud", "pulumi_fraud_pipeline"),
        ("tests/policies/test_rules.py::test_bad_fixture_fails[x]", "tests/policies/test_rules.py"),
        ("tests/lambda_src/test_packaging.py::test_x", "tests/lambda_src/test_packaging.py"),
        ("tests/test_toolchain.py::test_node", "tests/test_toolchain.py"),
    ],
)
def test_a_stack_and_the_tests_named_for_it_are_one_scope_other_modules_their_own(nodeid, scope):
    scheduler = object.__new__(StackScopeScheduling)  # _split_scope reads nothing of its state
    assert scheduler._split_scope(nodeid) == scope


def test_a_shared_test_naming_two_stacks_has_no_scope():
    assert session_scope("tests/diagrams/test_render.py::test_payments_and_fraud") is None
