"""Each trading-DR function's AWS calls (read from its source, tests/iam_calls.py) against the
policy the program grants its role, in every region it is deployed to."""

from __future__ import annotations

import pytest

from lambda_src.build import ROOT, function_dir, functions
from pulumi_offline import archive_path
from tests.iam_calls import grants, missing_actions

STACK = "pulumi_trading_dr"
OURS = [f for f in functions() if f.stack == STACK]
# One package deployed twice (the failover folder): what each deployment's role must NOT grant,
# because its code refuses that call in that deployment (ALLOW_DATA_LOSS) or never makes it there.
NOT_GRANTED = {
    # The orchestrator: whoever may invoke it (drills) must not be able to fail over with data loss.
    "failover-function": {"rds:FailoverGlobalCluster"},
    # Only the orchestrator's readiness report reads the replication lag.
    "failover-promote": {"cloudwatch:GetMetricData"},
}


def test_every_function_of_the_stack_is_deployed(dr):
    deployed = {archive_path(f["inputs"]["code"]) for f in dr.of_type("aws:lambda/function:Function")}
    assert deployed == {str(function_dir(STACK, f.name).relative_to(ROOT)) for f in OURS}
    assert {f.name for f in OURS} == {
        "order_processor",
        "failover",
        "health",
        "gate",
        "reconcile",
        "authorizer",
        "migrate",
        "rotation",
    }


@pytest.mark.parametrize("function", OURS, ids=lambda f: f.name)
def test_each_role_allows_every_call_its_code_makes(dr, function):
    path = str(function_dir(STACK, function.name).relative_to(ROOT))
    deployed = [
        f for f in dr.of_type("aws:lambda/function:Function") if archive_path(f["inputs"]["code"]) == path
    ]
    assert deployed
    for resource in deployed:
        refused = NOT_GRANTED.get(dr.name_of(resource), set())
        statements = dr.role_statements(resource)
        assert missing_actions(function.source, statements) == refused, dr.name_of(resource)
        assert not any(grants(action, statements) for action in refused), dr.name_of(resource)
