"""Issue 16, item 3: a config mistake is one line (the message, which names the key and the fix),
exit 2, no traceback, at every stack's entry point: the CDK app, the CDK Terrain app, the Pulumi
programs as the Pulumi CLI runs them (``pulumi.RunError``: the CLI prints it as one ``error:``
line) and as ``make synth-*`` runs them offline."""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pulumi
import pytest

import pulumi_offline

ROOT = Path(__file__).resolve().parents[1]


def run(argv: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        argv, cwd=cwd, env={**environ, **env}, capture_output=True, text=True, timeout=180, check=False
    )


def assert_one_line(done: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    for text in expected:
        assert text in errors[0], errors[0]


def test_payments_app_config_error_is_one_line_exit_2(tmp_path):
    """Fix: cdk_payments/app.py prints a ConfigError as one line, exit 2 (cdk synth/deploy run it so,
    with the context in CDK_CONTEXT_JSON); before, a Python traceback around the message."""
    context = {"env": "dev", "alarm_email": "not-an-address"}
    done = run(
        [sys.executable, "-P", "app.py"],
        ROOT / "cdk_payments",
        CDK_CONTEXT_JSON=json.dumps(context),
        CDK_OUTDIR=str(tmp_path / "out"),
    )
    assert_one_line(done, "alarm_email: 'not-an-address' is not an e-mail address", "cdk.json")


def test_transactions_app_config_error_is_one_line_exit_2(tmp_path):
    """Fix: cdktf_transactions/main.py prints a ConfigError as one line, exit 2 (was exit 1 with
    sys.exit's text for the settings, and a traceback for what the stack raised)."""
    done = run(
        [sys.executable, "-P", "main.py"],
        ROOT / "cdktf_transactions",
        CDKTF_OUTDIR=str(tmp_path / "out"),
        TRANSACTIONS_ALARM_EMAIL="oncall@example.com",
        TRANSACTIONS_RESERVED_CONCURRENCY="0",
    )
    assert_one_line(done, "TRANSACTIONS_RESERVED_CONCURRENCY: 0 reserves no executions")
    assert not (tmp_path / "out").exists()


# What the Pulumi CLI's language host does with a program (pulumi-language-python-exec): run
# __main__.py in the stack; a pulumi.RunError is logged as one error line, anything else with its
# traceback.
PULUMI_PROGRAMS = {  # project -> (key, a bad value, the message)
    "pulumi_fraud_pipeline": (
        "fraud-pipeline:alertEmail",
        "nobody",
        "alertEmail: 'nobody' is not an e-mail address",
    ),
    "pulumi_trading_dr": ("trading-dr:env", "Dev", "env: 'Dev' must be 2-8 lower-case letters"),
}


@pytest.mark.parametrize("project", sorted(PULUMI_PROGRAMS))
def test_pulumi_program_config_error_is_a_run_error(project):
    """Fix: __main__.py turns a ConfigError into pulumi.RunError, which `pulumi up` prints as one
    `error:` line; any other exception is printed with its traceback."""
    project_dir = ROOT / project
    key, value, message = PULUMI_PROGRAMS[project]
    config = {**pulumi_offline.load_stack_config(project_dir, "dev"), key: value}

    def as_the_cli_runs_it() -> dict:
        runpy.run_path(str(project_dir / "__main__.py"), run_name="__main__")
        return {}

    with pytest.raises(pulumi.RunError) as raised:
        pulumi_offline.run(project_dir, "dev", config, as_the_cli_runs_it)
    assert message in str(raised.value) and "\n" not in str(raised.value)
    assert "pulumi config set" in str(raised.value)


@pytest.mark.parametrize("project", sorted(PULUMI_PROGRAMS))
def test_pulumi_offline_config_error_is_one_line_exit_2(project, tmp_path):
    """Fix: the offline run (make synth-*) prints a ConfigError as one line, exit 2."""
    key, value, message = PULUMI_PROGRAMS[project]
    done = run(
        [sys.executable, "-m", f"{project}.offline", "--out", str(tmp_path), "--set", f"{key}={value}"],
        ROOT,
    )
    assert_one_line(done, message, f"{project} (dev)")
    assert not (tmp_path / "resources.json").exists()


@pytest.mark.parametrize(
    "module",
    [
        ["pulumi_offline", "pulumi_fraud_pipeline", "pulumi_trading_dr"],  # what make synth-* runs
        ["pulumi_fraud_pipeline.offline"],
        ["pulumi_trading_dr.offline"],
    ],
    ids=lambda module: module[0],
)
def test_pulumi_offline_without_the_stack_file_is_one_line_exit_2(module):
    """Fix (issue 16 review): `make synth-pulumi-* STACK=prod`, with no Pulumi.prod.yaml (the
    READMEs' prod stacks start with `pulumi stack init prod`, which need not write one), printed a
    FileNotFoundError traceback; now one line naming the file and how to make it, exit 2."""
    done = run([sys.executable, "-m", module[0], "--stack", "prod", *module[1:]], ROOT)
    assert_one_line(done, "Pulumi.prod.yaml: no such file in", "pulumi config set <key> <value> --stack prod")
