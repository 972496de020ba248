"""Operator commands for the trading DR stack (the Makefile's failover, failback and reconcile
targets call these; README "Runbooks"). They read the stack's outputs (``pulumi stack output``)
and act with the caller's AWS credentials.

    python -m pulumi_trading_dr.ops failover  --stack dev --confirm <global cluster id> --reason "..."
                                               [--force-data-loss]
    python -m pulumi_trading_dr.ops failback  --stack dev [--skip-refresh] [--timeout 1800]
    python -m pulumi_trading_dr.ops reconcile --stack dev --since 2026-12-05T10:00:00Z [--repair]

- failover: invokes the promote function (a separate permission: lambda:InvokeFunction on it)
  with the operator's command. It switches over when the old writer still answers, and fails over
  with data loss only when it does not (or with --force-data-loss).
- failback: after a failover, moves the writer back to the primary region without losing data:
  a check that the old primary cluster has rejoined and is in sync, a managed switchover to it, a
  wait until it writes, a wait until the gates have moved order processing back, then ``pulumi
  refresh`` (the state learns what the failover changed, now that the topology is the program's
  again). Then ``pulumi up`` is safe.
- reconcile: runs the reconciliation function in the region whose cluster writes (a repair writes
  the ledger) and prints its report.

A step that cannot go on says why and exits 2; nothing is changed after a failed check.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

PROJECT_DIR = Path(__file__).resolve().parent
POLL_SECONDS = 15
# A synchronous invoke of a function that may run 300 s (promote, reconcile up to 900 s): wait for
# it, and never send it twice (a retried promotion would find its own operation under way, but a
# retried reconciliation with REPAIR would repeat its work for nothing).
INVOKE_CONFIG = Config(read_timeout=910, connect_timeout=10, retries={"total_max_attempts": 1})


class OpsError(RuntimeError):
    """A check failed or a step did not finish: the message says what to do."""


Runner = Callable[[Sequence[str]], str]


def run_command(command: Sequence[str]) -> str:
    """Run a CLI command in the project folder; its stdout, or OpsError with its stderr."""
    done = subprocess.run(list(command), cwd=PROJECT_DIR, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode:
        raise OpsError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return done.stdout


@dataclass
class Context:
    stack: str
    runner: Runner = run_command
    client: Callable[..., Any] = boto3.client  # client(service, region_name=...)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    say: Callable[[str], None] = field(default=lambda line: print(line, flush=True))
    _outputs: dict[str, Any] | None = None

    def outputs(self) -> dict[str, Any]:
        if self._outputs is None:
            self._outputs = json.loads(
                self.runner(["pulumi", "stack", "output", "--json", "--stack", self.stack])
            )
        return self._outputs


# --- what RDS says ------------------------------------------------------------------------------


def global_cluster(ctx: Context, region: str) -> dict[str, Any]:
    rds = ctx.client("rds", region_name=region)
    (cluster,) = rds.describe_global_clusters(GlobalClusterIdentifier=ctx.outputs()["global_cluster_id"])[
        "GlobalClusters"
    ]
    return cluster


def member_in(cluster: Mapping[str, Any], region: str) -> dict[str, Any] | None:
    return next(
        (m for m in cluster.get("GlobalClusterMembers", []) if m["DBClusterArn"].split(":")[3] == region),
        None,
    )


# --- failover -------------------------------------------------------------------------------------


def failover(ctx: Context, confirm: str, reason: str, force_data_loss: bool = False) -> dict[str, Any]:
    outputs = ctx.outputs()
    if confirm != outputs["global_cluster_id"]:
        raise OpsError(
            f"--confirm must be this stack's global cluster id ({outputs['global_cluster_id']}): a promotion "
            "may lose the writes not yet replicated"
        )
    if not reason.strip():
        raise OpsError("--reason: say why (it goes into the notification and the logs)")
    function = outputs["promote_function_arn"]
    payload = {
        "source": "trading-dr.operator",
        "detail-type": "Promote secondary",
        "detail": {"confirm": confirm, "reason": reason, "force_data_loss": force_data_loss},
    }
    answer = ctx.client("lambda", region_name=function.split(":")[3], config=INVOKE_CONFIG).invoke(
        FunctionName=function, InvocationType="RequestResponse", Payload=json.dumps(payload).encode()
    )
    result = json.loads(answer["Payload"].read() or b"null")
    if answer.get("FunctionError"):
        raise OpsError(f"the promote function failed: {json.dumps(result)[:1000]}")
    ctx.say(json.dumps(result, indent=2))
    return result


# --- failback -------------------------------------------------------------------------------------


def failback(ctx: Context, skip_refresh: bool = False, timeout: float = 1800) -> None:
    outputs = ctx.outputs()
    primary, secondary = outputs["regions"]["primary"], outputs["regions"]["secondary"]
    ctx.say("1/5 checking that the primary region's cluster is back, in sync, and not the writer")
    cluster = global_cluster(ctx, secondary)
    home = member_in(cluster, primary)
    if home is None:
        raise OpsError(
            f"no cluster of {primary} is a member of {outputs['global_cluster_id']}: it has not rejoined "
            "(after an unplanned failover Aurora adds the old primary back when its region recovers; "
            "otherwise add a secondary cluster there with pulumi up first)"
        )
    state = (cluster.get("FailoverState") or {}).get("Status")
    if state:
        raise OpsError(f"a failover or switchover is {state}: wait for it to finish, then run this again")
    if home.get("IsWriter"):
        ctx.say(f"   {home['DBClusterArn']} already writes: no switchover")
    else:
        sync = home.get("SynchronizationStatus", "connected")
        if sync != "connected":
            raise OpsError(f"{home['DBClusterArn']} is {sync}, not connected: a switchover needs it in sync")
        ctx.say(f"2/5 switchover_global_cluster to {home['DBClusterArn']} (no data loss)")
        ctx.client("rds", region_name=secondary).switchover_global_cluster(
            GlobalClusterIdentifier=outputs["global_cluster_id"],
            TargetDbClusterIdentifier=home["DBClusterArn"],
        )
        ctx.say("3/5 waiting until it writes")
        _wait(ctx, timeout, lambda: _writes(ctx, secondary, primary), "the primary cluster to write")
    ctx.say("4/5 waiting until the gates have moved order processing back")
    _wait(
        ctx,
        timeout,
        lambda: _processing_in(ctx, primary, secondary),
        "order processing in the primary region",
    )
    if not skip_refresh:
        # After the switch back, not before: the state then reads the topology the program
        # describes again (the primary writes), and nothing in it pulls against RDS.
        ctx.say(f"5/5 pulumi refresh --stack {ctx.stack} (the state learns what the failover changed)")
        ctx.runner(["pulumi", "refresh", "--yes", "--skip-preview", "--stack", ctx.stack])
    ctx.say(f"done: the primary region writes and processes orders; now run `pulumi up --stack {ctx.stack}`")


def _writes(ctx: Context, ask_region: str, region: str) -> bool:
    cluster = global_cluster(ctx, ask_region)
    member = member_in(cluster, region)
    return bool(member and member.get("IsWriter") and not cluster.get("FailoverState"))


def _mapping_state(ctx: Context, region: str, function_name: str) -> str:
    client = ctx.client("lambda", region_name=region)
    (mapping,) = client.list_event_source_mappings(FunctionName=function_name)["EventSourceMappings"]
    return mapping["State"]


def _processing_in(ctx: Context, on: str, off: str) -> bool:
    names = ctx.outputs()["order_processor_names"]
    roles = {region: role for role, region in ctx.outputs()["regions"].items()}
    return (
        _mapping_state(ctx, on, names[roles[on]]) == "Enabled"
        and _mapping_state(ctx, off, names[roles[off]]) == "Disabled"
    )


def _wait(ctx: Context, timeout: float, done: Callable[[], bool], what: str) -> None:
    deadline = ctx.clock() + timeout
    while not done():
        if ctx.clock() > deadline:
            raise OpsError(f"gave up waiting for {what} after {int(timeout)} s; look, then run this again")
        ctx.sleep(POLL_SECONDS)


# --- reconcile ------------------------------------------------------------------------------------


def reconcile(ctx: Context, since: str, repair: bool = False) -> dict[str, Any]:
    outputs = ctx.outputs()
    regions = outputs["regions"]
    cluster = global_cluster(ctx, regions["secondary"])
    writer = next((m for m in cluster["GlobalClusterMembers"] if m.get("IsWriter")), None)
    if writer is None:
        raise OpsError("the global cluster has no writer right now (a failover under way?): try again later")
    region = writer["DBClusterArn"].split(":")[3]
    role = next(r for r, name in regions.items() if name == region)
    function = outputs["reconcile_function_arns"][role]
    answer = ctx.client("lambda", region_name=region, config=INVOKE_CONFIG).invoke(
        FunctionName=function,
        InvocationType="RequestResponse",
        Payload=json.dumps({"since": since, "repair": repair}).encode(),
    )
    report = json.loads(answer["Payload"].read() or b"null")
    if answer.get("FunctionError") or (isinstance(report, dict) and "error" in report):
        raise OpsError(f"the reconciliation in {region} failed: {json.dumps(report)[:1000]}")
    ctx.say(json.dumps(report, indent=2))
    return report


# --- the command line -------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None, ctx_factory: Callable[[str], Context] = Context) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pulumi_trading_dr.ops", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("failover", "failback", "reconcile"):
        command = commands.add_parser(name)
        command.add_argument("--stack", required=True)
    commands.choices["failover"].add_argument("--confirm", required=True, help="the global cluster id")
    commands.choices["failover"].add_argument("--reason", required=True)
    commands.choices["failover"].add_argument("--force-data-loss", action="store_true")
    commands.choices["failback"].add_argument("--skip-refresh", action="store_true")
    commands.choices["failback"].add_argument("--timeout", type=float, default=1800)
    commands.choices["reconcile"].add_argument("--since", required=True, help="ISO 8601 with a time zone")
    commands.choices["reconcile"].add_argument("--repair", action="store_true")
    args = parser.parse_args(argv)
    ctx = ctx_factory(args.stack)
    try:
        if args.command == "failover":
            failover(ctx, args.confirm, args.reason, args.force_data_loss)
        elif args.command == "failback":
            failback(ctx, args.skip_refresh, args.timeout)
        else:
            reconcile(ctx, args.since, args.repair)
    except OpsError as exc:
        print(f"{args.command}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
