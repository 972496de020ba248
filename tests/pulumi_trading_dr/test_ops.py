"""The operator commands (pulumi_trading_dr/ops.py): RDS and Lambda behind botocore's Stubber (the
real clients check every parameter against the service models), the Pulumi CLI behind a recorder.
The outputs they read are the ones the program exports."""

from __future__ import annotations

import io
import json

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from pulumi_trading_dr import ops

ACCOUNT = "123456789012"
GLOBAL_ID = "trading-db-dev"
PRIMARY, SECONDARY = "us-east-1", "us-west-2"
HOME = f"arn:aws:rds:{PRIMARY}:{ACCOUNT}:cluster:trading-db-dev-primary"
AWAY = f"arn:aws:rds:{SECONDARY}:{ACCOUNT}:cluster:trading-db-dev-secondary"
OUTPUTS = {
    "global_cluster_id": GLOBAL_ID,
    "promote_function_arn": f"arn:aws:lambda:{SECONDARY}:{ACCOUNT}:function:trading-promote-dev-secondary",
    "regions": {"primary": PRIMARY, "secondary": SECONDARY},
    "order_processor_names": {
        "primary": "trading-order-processor-dev-primary",
        "secondary": "trading-order-processor-dev-secondary",
    },
    "reconcile_function_arns": {
        "primary": f"arn:aws:lambda:{PRIMARY}:{ACCOUNT}:function:trading-reconcile-dev-primary",
        "secondary": f"arn:aws:lambda:{SECONDARY}:{ACCOUNT}:function:trading-reconcile-dev-secondary",
    },
}


def test_the_commands_read_outputs_the_program_exports(dr):
    for key in OUTPUTS:
        assert key in dr.outputs, key
    assert dr.outputs["regions"] == OUTPUTS["regions"]
    assert dr.outputs["promote_function_arn"].endswith(":function:trading-promote-dev-secondary")


class World:
    """Stubbed clients per (service, region), a recorded CLI, a clock that sleeps instantly."""

    def __init__(self):
        self.clients, self.stubs, self.commands, self.lines = {}, {}, [], []
        self.invoke_configs = []
        self.now = 0.0

    def client(self, service, region_name, config=None):
        if service == "lambda" and config is not None:
            self.invoke_configs.append(config)
        key = (service, region_name)
        if key not in self.clients:
            self.clients[key] = boto3.client(service, region_name=region_name)
            self.stubs[key] = Stubber(self.clients[key])
            self.stubs[key].activate()
        return self.clients[key]

    def stub(self, service, region):
        self.client(service, region)
        return self.stubs[(service, region)]

    def runner(self, command):
        self.commands.append(list(command))
        if command[:3] == ["pulumi", "stack", "output"]:
            return json.dumps(OUTPUTS)
        return ""

    def sleep(self, seconds):
        self.now += seconds

    def context(self, stack="dev"):
        return ops.Context(
            stack,
            runner=self.runner,
            client=self.client,
            sleep=self.sleep,
            clock=lambda: self.now,
            say=self.lines.append,
        )

    def done(self):
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


@pytest.fixture
def world(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    return World()


def clusters(writer, failover_state=None, home_sync="connected", members=(HOME, AWAY)):
    cluster = {
        "GlobalClusterIdentifier": GLOBAL_ID,
        "GlobalClusterMembers": [
            {
                "DBClusterArn": arn,
                "IsWriter": arn == writer,
                "SynchronizationStatus": home_sync if arn == HOME else "connected",
            }
            for arn in members
        ],
    }
    if failover_state:
        cluster["FailoverState"] = {"Status": failover_state}
    return {"GlobalClusters": [cluster]}


def payload(value, error=None):
    data = json.dumps(value).encode()
    answer = {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(data), len(data))}
    if error:
        answer["FunctionError"] = error
    return answer


DESCRIBE = {"GlobalClusterIdentifier": GLOBAL_ID}


def mapping(region, state):
    uuid = (
        "1b2a844d-6557-40df-8aba-52a401fd11c3"
        if region == PRIMARY
        else "9f0c1e7a-2d3b-4c5e-8f6a-7b8c9d0e1f2a"
    )
    return {"EventSourceMappings": [{"UUID": uuid, "State": state}]}


# --- failover ------------------------------------------------------------------------------------


def test_failover_invokes_the_promote_function_with_the_confirmed_command(world):
    lam = world.stub("lambda", SECONDARY)
    command = {
        "source": "trading-dr.operator",
        "detail-type": "Promote secondary",
        "detail": {"confirm": GLOBAL_ID, "reason": "us-east-1 down, ticket 42", "force_data_loss": False},
    }
    lam.add_response(
        "invoke",
        payload({"action": "initiated", "mode": "failover"}),
        {
            "FunctionName": OUTPUTS["promote_function_arn"],
            "InvocationType": "RequestResponse",
            "Payload": json.dumps(command).encode(),
        },
    )
    result = ops.failover(world.context(), GLOBAL_ID, "us-east-1 down, ticket 42")
    assert result["mode"] == "failover"
    # The promote function may run 300 s: the call waits for it and is never sent twice.
    (config,) = world.invoke_configs
    assert config.read_timeout > 300 and config.retries == {"total_max_attempts": 1}
    world.done()


@pytest.mark.parametrize(
    ("confirm", "reason", "match"),
    [("trading-db-prod", "x", "must be this stack's global cluster id"), (GLOBAL_ID, "  ", "say why")],
)
def test_failover_refuses_an_unconfirmed_command_before_calling_anything(world, confirm, reason, match):
    with pytest.raises(ops.OpsError, match=match):
        ops.failover(world.context(), confirm, reason)
    assert ("lambda", SECONDARY) not in world.clients


def test_a_failed_promotion_is_an_error(world):
    world.stub("lambda", SECONDARY).add_response(
        "invoke", payload({"errorMessage": "boom"}, error="Unhandled")
    )
    with pytest.raises(ops.OpsError, match="the promote function failed"):
        ops.failover(world.context(), GLOBAL_ID, "drill")


# --- failback ------------------------------------------------------------------------------------


def test_failback_refreshes_switches_over_and_waits_for_the_writer_and_the_gates(world):
    rds = world.stub("rds", SECONDARY)
    rds.add_response("describe_global_clusters", clusters(AWAY), DESCRIBE)
    rds.add_response(
        "switchover_global_cluster",
        {"GlobalCluster": clusters(AWAY, "switching-over")["GlobalClusters"][0]},
        {"GlobalClusterIdentifier": GLOBAL_ID, "TargetDbClusterIdentifier": HOME},
    )
    rds.add_response("describe_global_clusters", clusters(AWAY, "switching-over"), DESCRIBE)
    rds.add_response("describe_global_clusters", clusters(HOME), DESCRIBE)
    for states in (("Disabled", "Enabled"), ("Enabled", "Enabled"), ("Enabled", "Disabled")):
        for region, state in zip((PRIMARY, SECONDARY), states, strict=True):
            world.stub("lambda", region).add_response(
                "list_event_source_mappings",
                mapping(region, state),
                {
                    "FunctionName": OUTPUTS["order_processor_names"][
                        "primary" if region == PRIMARY else "secondary"
                    ]
                },
            )
            if state == "Disabled" and region == PRIMARY:
                break  # the first check stops at the primary's
    ops.failback(world.context())
    world.done()
    # The refresh comes last, after the switch back (not before, while the primary replicates).
    assert world.commands[-1] == ["pulumi", "refresh", "--yes", "--skip-preview", "--stack", "dev"]
    assert world.lines[-1].startswith("done:") and "pulumi up --stack dev" in world.lines[-1]
    assert world.now == 3 * ops.POLL_SECONDS  # one wait for the writer, two for the gates


@pytest.mark.parametrize(
    ("response", "match"),
    [
        (clusters(AWAY, members=(AWAY,)), "has not rejoined"),
        (clusters(AWAY, failover_state="failing-over"), "is failing-over: wait"),
        (clusters(AWAY, home_sync="pending-resync"), "pending-resync, not connected"),
    ],
    ids=["not-rejoined", "operation-under-way", "not-in-sync"],
)
def test_failback_changes_nothing_when_a_check_fails(world, response, match):
    world.stub("rds", SECONDARY).add_response("describe_global_clusters", response, DESCRIBE)
    with pytest.raises(ops.OpsError, match=match):
        ops.failback(world.context(), skip_refresh=True)
    world.done()  # no switchover was stubbed: none was sent


def test_failback_gives_up_after_the_timeout_and_says_so(world):
    rds = world.stub("rds", SECONDARY)
    rds.add_response("describe_global_clusters", clusters(AWAY), DESCRIBE)
    rds.add_response("switchover_global_cluster", {"GlobalCluster": clusters(AWAY)["GlobalClusters"][0]})
    for _ in range(4):  # at 0, 15, 30 and 45 s: past the 30 s deadline
        rds.add_response("describe_global_clusters", clusters(AWAY, "switching-over"), DESCRIBE)
    with pytest.raises(ops.OpsError, match="gave up waiting for the primary cluster to write after 30 s"):
        ops.failback(world.context(), skip_refresh=True, timeout=30)


def test_failback_when_home_already_writes_only_waits_for_the_gates(world):
    world.stub("rds", SECONDARY).add_response("describe_global_clusters", clusters(HOME), DESCRIBE)
    world.stub("lambda", PRIMARY).add_response("list_event_source_mappings", mapping(PRIMARY, "Enabled"))
    world.stub("lambda", SECONDARY).add_response("list_event_source_mappings", mapping(SECONDARY, "Disabled"))
    ops.failback(world.context(), skip_refresh=True)
    world.done()
    assert "already writes: no switchover" in world.lines[1]


# --- reconcile -----------------------------------------------------------------------------------


def test_reconcile_runs_in_the_writers_region(world):
    world.stub("rds", SECONDARY).add_response("describe_global_clusters", clusters(AWAY), DESCRIBE)
    world.stub("lambda", SECONDARY).add_response(
        "invoke",
        payload({"counts": {"missing_in_ledger": 2}}),
        {
            "FunctionName": OUTPUTS["reconcile_function_arns"]["secondary"],
            "InvocationType": "RequestResponse",
            "Payload": json.dumps({"since": "2026-12-05T10:00:00Z", "repair": True}).encode(),
        },
    )
    report = ops.reconcile(world.context(), "2026-12-05T10:00:00Z", repair=True)
    assert report["counts"]["missing_in_ledger"] == 2
    world.done()


def test_a_refused_reconciliation_is_an_error(world):
    world.stub("rds", SECONDARY).add_response("describe_global_clusters", clusters(HOME), DESCRIBE)
    world.stub("lambda", PRIMARY).add_response("invoke", payload({"error": "since: required"}))
    with pytest.raises(ops.OpsError, match="since: required"):
        ops.reconcile(world.context(), "yesterday")


def test_the_command_line_exits_2_with_the_reason_and_no_traceback(world, capsys):
    code = ops.main(
        ["failover", "--stack", "dev", "--confirm", "nope", "--reason", "x"],
        ctx_factory=lambda s: world.context(s),
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("failover: --confirm must be") and "Traceback" not in err
