"""Issue 16, items 1 and 2: every deploy target runs its stack's preflight first, and the deploy,
preview/diff and destroy targets pass what prod needs (certificates, versions, weights, e-mail)
through CDK_ARGS, PULUMI_ARGS, CDKTF_ARGS and TRANSACTIONS_*, the preflight getting the same
words. Read from `make -n`: the commands make would run, none run."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
CERTIFICATE = "arn:aws:acm:eu-west-1:210987654321:certificate/11111111-2222-3333-4444-555555555555"
CDK_ARGS = [
    *("-c", f"certificate_arn={CERTIFICATE}", "-c", "alb_domain_name=payments.acme.io"),
    *("-c", "blue_weight=90", "-c", "green_weight=10", "-c", "blue_version=7"),
    *("-c", "alarm_email=payments-oncall@acme.io"),
]
PULUMI_ARGS = ["-c", "alertEmail=oncall@acme.io", "--config", "trading-dr:rtoMinutes=20", "--yes"]
NOT_REMADE = ("bootstrap", "lambdas", "cdktf-transactions-state")


def commands(target: str, **variables: str) -> list[list[str]]:
    """The shell commands `make <target>` would run, each split into words as the shell would."""
    argv = ["make", "-n", "--no-print-directory", *(f"-o{name}" for name in NOT_REMADE), target]
    argv += [f"{name}={value}" for name, value in variables.items()]
    # As a user's shell runs make, also under `make test` (a parent make's flags are not passed on).
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    text = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    return [words(line) for line in text.replace("\\\n", " ").splitlines() if line.strip()]


def words(line: str) -> list[str]:
    """A shell line's words, with ( ) ; | & apart from the words they touch."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars="();|&")
    lexer.whitespace_split = True
    return list(lexer)


def after(words: list[str], *head: str) -> list[str] | None:
    """The words that follow ``head`` in a command (after a `cd <dir> &&` and VAR=value words)."""
    for start in range(len(words) - len(head) + 1):
        if words[start : start + len(head)] == list(head):
            return words[start + len(head) :]
    return None


def preflight_line(lines: list[list[str]], stack: str) -> tuple[int, list[str]]:
    for number, words in enumerate(lines):
        rest = after(words, PYTHON, "-m", "preflight", stack)
        if rest is not None:
            return number, rest
    raise AssertionError(f"no preflight {stack} in {lines}")


def deploy_line(lines: list[list[str]], *head: str) -> tuple[int, list[str]]:
    for number, words in enumerate(lines):
        rest = after(words, *head)
        if rest is not None:
            return number, rest
    raise AssertionError(f"no {' '.join(head)} in {lines}")


def test_payments_prod_deploy_passes_cdk_args_after_the_preflight():
    """Fix: `make deploy-cdk-payments ENV=prod CDK_ARGS=...` deploys prod (certificate, name,
    weights, a pinned version, e-mail); before, the target could only pass env."""
    lines = commands("deploy-cdk-payments", ENV="prod", CDK_ARGS=shlex.join(CDK_ARGS))
    checked, preflight = preflight_line(lines, "cdk_payments")
    deployed, deploy = deploy_line(lines, "cdk", "deploy")
    assert checked < deployed
    assert preflight == ["--env", "prod", "--", *CDK_ARGS]
    assert deploy == [
        "--no-notices",
        "--require-approval",
        "broadening",
        "-c",
        "env=prod",
        *CDK_ARGS,
        "payments-prod",
    ]
    assert lines[deployed][:3] == ["cd", "cdk_payments", "&&"]


@pytest.mark.parametrize(
    ("target", "command"), [("diff-cdk-payments", "diff"), ("destroy-cdk-payments", "destroy")]
)
def test_payments_diff_and_destroy_get_the_same_context(target, command):
    """A prod diff or destroy synthesizes the app too, which refuses prod without its certificate."""
    _, rest = deploy_line(commands(target, ENV="prod", CDK_ARGS=shlex.join(CDK_ARGS)), "cdk", command)
    assert rest == ["--no-notices", "-c", "env=prod", *CDK_ARGS, "payments-prod"]


def test_transactions_deploy_passes_its_settings_and_cdktn_args_after_the_preflight():
    variables = {
        "ENV": "prod",
        "TRANSACTIONS_ALARM_EMAIL": "oncall@acme.io",
        "CDKTF_ARGS": "--auto-approve --parallelism 5",
    }
    lines = commands("deploy-cdktf-transactions", **variables)
    checked, preflight = preflight_line(lines, "cdktf_transactions")
    deployed, deploy = deploy_line(lines, "cdktn", "deploy")
    assert checked < deployed and preflight == ["--env", "prod"]
    assert "TRANSACTIONS_ALARM_EMAIL=oncall@acme.io" in lines[checked]
    assert deploy[: deploy.index(")")] == ["--auto-approve", "--parallelism", "5", "transactions-prod"]
    assert {"TRANSACTIONS_ENV=prod", "TRANSACTIONS_ALARM_EMAIL=oncall@acme.io"} <= set(lines[deployed])


@pytest.mark.parametrize(
    ("target", "command"), [("plan-cdktf-transactions", "diff"), ("destroy-cdktf-transactions", "destroy")]
)
def test_transactions_plan_and_destroy_get_the_same_arguments(target, command):
    _, rest = deploy_line(commands(target, ENV="prod", CDKTF_ARGS="--auto-approve"), "cdktn", command)
    assert rest[: rest.index(")")] == ["--auto-approve", "transactions-prod"]


@pytest.mark.parametrize(
    ("project", "folder"),
    [("pulumi-fraud-pipeline", "pulumi_fraud_pipeline"), ("pulumi-trading-dr", "pulumi_trading_dr")],
)
def test_pulumi_deploys_pass_pulumi_args_after_the_preflight(project, folder):
    """Fix: `make deploy-<pulumi stack> STACK=prod PULUMI_ARGS="-c key=value ... --yes"` reaches
    `pulumi up` (which sets and saves the config), and the preflight reads the same -c values."""
    lines = commands(f"deploy-{project}", STACK="prod", PULUMI_ARGS=shlex.join(PULUMI_ARGS))
    checked, preflight = preflight_line(lines, folder)
    deployed, deploy = deploy_line(lines, "pulumi", "up")
    assert checked < deployed
    assert preflight == ["--stack", "prod", "--", *PULUMI_ARGS]
    assert deploy == ["--stack", "prod", *PULUMI_ARGS]
    assert lines[deployed][:3] == ["cd", folder, "&&"]
    for command in ("preview", "destroy"):
        _, rest = deploy_line(
            commands(f"{command}-{project}", STACK="prod", PULUMI_ARGS=shlex.join(PULUMI_ARGS)),
            "pulumi",
            command,
        )
        assert rest == ["--stack", "prod", *PULUMI_ARGS]


@pytest.mark.parametrize(
    ("stack", "options"),
    [
        ("cdk_payments", ["--env", "dev", "--"]),
        ("cdktf_transactions", ["--env", "dev"]),
        ("pulumi_fraud_pipeline", ["--stack", "dev", "--"]),
        ("pulumi_trading_dr", ["--stack", "dev", "--"]),
    ],
)
def test_each_stack_has_a_preflight_target(stack, options):
    """`make preflight-<stack>` runs the preflight alone, with the defaults ENV=dev / STACK=dev."""
    lines = commands(f"preflight-{stack.replace('_', '-')}")
    assert preflight_line(lines, stack)[1] == options


def test_preflight_cli_runs_from_the_makefile_python():
    """The preflight is a module of this repo run by the venv's Python (boto3 comes from there)."""
    done = subprocess.run(
        [sys.executable, "-m", "preflight", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0 and "cdk_payments" in done.stdout
