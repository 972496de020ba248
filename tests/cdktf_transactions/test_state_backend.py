"""Local Terraform state: older layouts are moved, not lost; a deploy without state is refused
(cdktf_transactions/backend.py). No synth: these run the functions the app runs before it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cdktf_transactions import backend
from cdktf_transactions.backend import StateError, migrate_legacy_states, require_state, state_file
from cdktf_transactions.config import ConfigError, TransactionsConfig
from cdktf_transactions.main import run_by_the_cdktf_cli

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / "node_modules"
PINNED_CLI = json.loads((ROOT / "package.json").read_text())["devDependencies"]["cdktn-cli"]


def tfstate(region: str | None = "us-east-1", serial: int = 7) -> str:
    """A Terraform state (format 4) holding a function in ``region`` and a role (no region in its ARN)."""
    resources = [
        {
            "mode": "managed",
            "type": "aws_iam_role",
            "name": "role",
            "instances": [{"attributes": {"arn": "arn:aws:iam::123456789012:role/transactions-x"}}],
        }
    ]
    if region:
        arn = f"arn:aws:lambda:{region}:123456789012:function:transactions-validation-dev"
        resources.append(
            {
                "mode": "managed",
                "type": "aws_lambda_function",
                "name": "fn",
                "instances": [{"attributes": {"arn": arn, "vpc_config": [{"subnet_ids": ["s-1"]}]}}],
            }
        )
    return json.dumps({"version": 4, "serial": serial, "lineage": "l-1", "resources": resources})


@pytest.fixture
def layout(tmp_path):
    """An output folder and a state folder, as the Makefile and main.py see them."""
    out, state = tmp_path / "out" / "cdktf_transactions", tmp_path / "state"
    (out / "stacks" / "transactions-dev").mkdir(parents=True)
    state.mkdir()
    return out, state


def config(state_dir: Path, **settings) -> TransactionsConfig:
    return TransactionsConfig(env="dev", alarm_email="a@example.com", state_dir=state_dir, **settings)


def test_state_in_the_synth_output_moves_to_its_region_before_a_synth_deletes_it(layout):
    """Fix (issue 7): the layout before 40b4ea3 kept the state in out/; it moves to state/<region>/,
    with its backup, and the stack folder's record of the old backend path is dropped."""
    out, state_dir = layout
    stack_dir = out / "stacks" / "transactions-dev"
    legacy = stack_dir / "terraform.transactions-dev.tfstate"
    legacy.write_text(tfstate("eu-west-1"))
    (stack_dir / "terraform.transactions-dev.tfstate.backup").write_text(tfstate("eu-west-1", 6))
    record = stack_dir / ".terraform" / "terraform.tfstate"
    record.parent.mkdir()
    record.write_text(
        json.dumps({"backend": {"type": "local", "config": {"path": "terraform.transactions-dev.tfstate"}}})
    )

    assert backend.main(["--outdir", str(out), "--state-dir", str(state_dir)]) == 0  # the Makefile's step

    moved = state_file(state_dir, "eu-west-1", "transactions-dev")
    assert json.loads(moved.read_text())["serial"] == 7
    assert json.loads(moved.with_name(moved.name + ".backup").read_text())["serial"] == 6
    assert not legacy.exists() and not record.exists()
    assert migrate_legacy_states(out, state_dir) == []  # nothing left to move


def test_state_before_the_region_joined_the_path_moves_to_the_region_it_names(layout):
    """Fix (issue 8, two regions): cdktf_transactions/state/transactions-dev.tfstate goes to the
    folder of the region its ARNs name, not to whichever region the next run is configured for."""
    out, state_dir = layout
    (state_dir / "transactions-dev.tfstate").write_text(tfstate("us-west-2"))
    (state_dir / "transactions-qa.tfstate").write_text(tfstate(None))  # destroyed: no regional ARN

    lines = migrate_legacy_states(out, state_dir, default_region="us-east-1")

    assert state_file(state_dir, "us-west-2", "transactions-dev").exists()
    assert state_file(state_dir, "us-east-1", "transactions-qa").exists()
    assert len(lines) == 2 and not list(state_dir.glob("*.tfstate"))


def test_two_different_states_for_one_stack_are_refused_not_merged(layout):
    out, state_dir = layout
    current = state_file(state_dir, "us-east-1", "transactions-dev")
    current.parent.mkdir()
    current.write_text(tfstate(serial=9))
    legacy = out / "stacks" / "transactions-dev" / "terraform.transactions-dev.tfstate"
    legacy.write_text(tfstate(serial=3))
    with pytest.raises(StateError, match=r"two states.*serial 9 and 3"):
        migrate_legacy_states(out, state_dir)
    assert json.loads(current.read_text())["serial"] == 9 and legacy.exists()  # both kept
    legacy.write_text(current.read_text())
    assert migrate_legacy_states(out, state_dir) == [] and not legacy.exists()  # a copy: dropped


def test_a_state_terraform_holds_a_lock_on_is_left_alone(layout):
    out, state_dir = layout
    legacy = out / "stacks" / "transactions-dev" / "terraform.transactions-dev.tfstate"
    legacy.write_text(tfstate())
    (legacy.parent / ".terraform.transactions-dev.tfstate.lock.info").write_text("{}")
    with pytest.raises(StateError, match="locked"):
        migrate_legacy_states(out, state_dir)
    assert legacy.exists()


def test_a_deploy_without_local_state_is_refused_unless_the_stack_is_new(tmp_path):
    """Fix (issue 7): no state file and no TRANSACTIONS_STATE_BUCKET must not plan everything as new."""
    with pytest.raises(StateError, match=r"no Terraform state at .*TRANSACTIONS_NEW_STACK=1"):
        require_state(config(tmp_path))
    require_state(config(tmp_path, new_stack=True))  # said so: the first deploy creates the state
    require_state(config(tmp_path, state_bucket="b"))  # S3 state does not live on this machine
    path = state_file(tmp_path, "us-east-1", "transactions-dev")
    path.parent.mkdir()
    path.write_text(tfstate())
    require_state(config(tmp_path))  # deployed before


def test_the_same_env_in_another_region_has_no_state_yet(tmp_path):
    path = state_file(tmp_path, "us-east-1", "transactions-dev")
    path.parent.mkdir()
    path.write_text(tfstate())
    with pytest.raises(StateError, match="transactions-dev in eu-west-1"):
        require_state(config(tmp_path, region="eu-west-1"))


def test_new_stack_is_a_yes_or_no_setting():
    base = {"TRANSACTIONS_ALARM_EMAIL": "a@example.com"}
    assert TransactionsConfig.from_environ({**base, "TRANSACTIONS_NEW_STACK": "1"}).new_stack is True
    assert TransactionsConfig.from_environ(base).new_stack is False
    with pytest.raises(ConfigError, match="TRANSACTIONS_NEW_STACK"):
        TransactionsConfig.from_environ({**base, "TRANSACTIONS_NEW_STACK": "maybe"})


def test_the_app_refuses_a_cdktf_deploy_without_state_before_synthesizing(tmp_path):
    """The app as the cdktf CLI runs it (cdktf.json, CDKTF_CONTEXT_JSON set): refused with the reason,
    before any synth (no jsii kernel starts)."""
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),
        "CDKTF_CONTEXT_JSON": "{}",
        "CDKTF_OUTDIR": str(tmp_path / "out"),
        "TRANSACTIONS_ALARM_EMAIL": "oncall@example.com",
        "TRANSACTIONS_STATE_DIR": str(tmp_path / "state"),
    }
    run = subprocess.run(
        [sys.executable, "-P", "main.py"],
        cwd=ROOT / "cdktf_transactions",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2 and "no Terraform state" in run.stderr, run.stderr
    assert not (tmp_path / "out").exists()


def test_only_runs_that_plan_are_checked():
    assert run_by_the_cdktf_cli({"CDKTF_CONTEXT_JSON": "{}", "SYNTH_HCL_OUTPUT": "false"})
    assert not run_by_the_cdktf_cli({"CDKTF_CONTEXT_JSON": "{}", "SYNTH_HCL_OUTPUT": "true"})  # make check
    assert not run_by_the_cdktf_cli({"CDKTF_OUTDIR": "../out/cdktf_transactions"})  # make synth-*


def test_the_pinned_cdktn_cli_sets_the_variables_the_check_reads():
    """The check keys on CDKTF_CONTEXT_JSON and SYNTH_HCL_OUTPUT: the pinned cdktn CLI (issue 16:
    it replaced cdktf-cli 0.21, archived) must set both whenever it runs the app."""
    cli = NODE_MODULES / "cdktn-cli"
    handlers = (cli / "bundle/bin/cmds/handlers.js").read_text()
    run_app = re.search(r"\[(\w+)\.CONTEXT_ENV\]:JSON\.stringify\([^)]*\),SYNTH_HCL_OUTPUT:", handlers)
    assert run_app, "the CLI no longer passes the context and SYNTH_HCL_OUTPUT to the app"
    assert f'{run_app.group(1)}=require("cdktn")' in handlers
    library = next(p for p in (cli / "node_modules/cdktn", NODE_MODULES / "cdktn") if p.is_dir())
    assert 'exports.CONTEXT_ENV = "CDKTF_CONTEXT_JSON"' in (library / "lib/app.js").read_text()
    assert json.loads((cli / "package.json").read_text())["version"] == PINNED_CLI


def test_make_synth_moves_old_state_out_of_out_before_the_synth_deletes_it():
    dry_run = subprocess.run(
        ["make", "-n", "-o", "lambdas", "-o", "bootstrap", "synth-all"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "-m cdktf_transactions.backend" in dry_run
    assert dry_run.index("-m cdktf_transactions.backend") < dry_run.index("-m tools.synth")
