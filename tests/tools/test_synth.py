"""tools/synth.py: a stack is synthesized again exactly when one of its inputs changed.

The orchestration runs in a copy of the repo's layout (tmp_path) with stand-in jobs that write the
outputs, so these tests take milliseconds; the frameworks themselves are tested per stack.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools import synth
from tools.synth import STACKS, Options, jobs_for

ROOT = Path(__file__).resolve().parents[2]
ALL = list(STACKS)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The inputs synth.py reads, one file each, in an empty repo."""
    for stack in STACKS.values():
        for name in stack.inputs:
            path = tmp_path / name
            if path.suffix == ".py":
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("# module\n")
            else:
                path.mkdir(parents=True, exist_ok=True)
                (path / "code.py").write_text("# code\n")
    for name in synth.PINS:
        (tmp_path / name).write_text("pins\n")
    (tmp_path / "tools").mkdir()
    shutil.copy(ROOT / "tools" / "synth.py", tmp_path / "tools" / "synth.py")
    return tmp_path


class StandIns:
    """Jobs that write each stack's output (or fail), recording which stacks they synthesized."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ran: list[str] = []
        self.failing: set[str] = set()

    def __call__(self, stacks: list[synth.Stack], options: Options) -> list[synth.Job]:
        jobs = []
        for framework in sorted({s.framework for s in stacks}):
            group = [s for s in stacks if s.framework == framework]
            self.ran.extend(s.name for s in group)
            targets = [
                str(self.root / s.output / ("template.json" if not s.output.endswith(".json") else ""))
                for s in group
            ]
            code = "import pathlib, sys\nfor t in sys.argv[1:]:\n    p = pathlib.Path(t)\n"
            code += "    p.parent.mkdir(parents=True, exist_ok=True)\n    p.write_text(t)\n"
            if any(s.name in self.failing for s in group):
                code += "sys.exit(1)\n"
            argv = [sys.executable, "-c", code, *targets]
            jobs.append(synth.Job(framework, group, argv, self.root, {}, relay=True))
        return jobs

    def run(self, options: Options | None = None, names: list[str] | None = None) -> tuple[int, list[str]]:
        self.ran = []
        options = options or Options(environ={})
        status = synth.synthesize(names or ALL, options, root=self.root, make_jobs=self)
        return status, sorted(self.ran)


@pytest.fixture
def jobs(repo: Path) -> StandIns:
    stand_ins = StandIns(repo)
    assert stand_ins.run() == (0, sorted(ALL))
    return stand_ins


def test_a_second_run_does_nothing_and_prints_nothing(jobs, capsys):
    capsys.readouterr()
    assert jobs.run() == (0, [])
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("changed", "resynthesized"),
    [
        ("pulumi_trading_dr/code.py", ["pulumi_trading_dr"]),
        ("cdk_payments/code.py", ["cdk_payments"]),
        ("cdktf_transactions/code.py", ["cdktf_transactions"]),
        ("lambda_src/pulumi_fraud_pipeline/code.py", ["pulumi_fraud_pipeline"]),
        ("pulumi_offline/code.py", ["pulumi_fraud_pipeline", "pulumi_trading_dr"]),
        ("lambda_src/common/code.py", ALL),
        ("lambda_src/build.py", ALL),
        ("package-lock.json", ALL),
        ("pyproject.toml", ALL),
    ],
)
def test_a_change_synthesizes_only_the_stacks_that_read_it(jobs, changed, resynthesized):
    path = jobs.root / changed
    path.write_text(path.read_text() + "# changed\n")
    assert jobs.run() == (0, sorted(resynthesized))
    assert jobs.run() == (0, [])


def test_touching_a_file_is_no_change(jobs):
    (jobs.root / "cdk_payments" / "code.py").touch()
    assert jobs.run() == (0, [])


def test_a_new_file_is_a_change(jobs):
    (jobs.root / "pulumi_trading_dr" / "Pulumi.prod.yaml").write_text("config: {}\n")
    assert jobs.run() == (0, ["pulumi_trading_dr"])


@pytest.mark.parametrize(
    ("options", "resynthesized"),
    [
        (Options(env="prod", environ={}), ["cdk_payments", "cdktf_transactions"]),
        (Options(stack="prod", environ={}), ["pulumi_fraud_pipeline", "pulumi_trading_dr"]),
        (Options(environ={"TRANSACTIONS_ALARM_EMAIL": "a@example.com"}), ["cdktf_transactions"]),
        (Options(environ={"CDK_DEFAULT_ACCOUNT": "210987654321"}), ["cdk_payments"]),
        (Options(environ={"SOURCE_DATE_EPOCH": "86400"}), ["pulumi_fraud_pipeline", "pulumi_trading_dr"]),
        (Options(environ={"UNRELATED": "1"}), []),
        (Options(checks=True, environ={}), ["cdk_payments"]),  # make check's validation report
    ],
)
def test_settings_are_inputs(jobs, options, resynthesized):
    assert jobs.run(options) == (0, sorted(resynthesized))


@pytest.mark.parametrize(("checks", "expected"), [(False, "false"), (True, "true")])
def test_only_make_checks_payments_synth_runs_control_tower_and_cdks_cloudformation_validation(
    checks, expected
):
    """Fix (issue 17): `make synth-*` leaves AWS Control Tower's proactive controls (cfn-guard, about
    4 s) and CDK's built-in CloudFormation validation (about 3.5 s) out of the payments synth;
    `make check` (CI) runs them, with cdk-nag's packs, which every synth runs."""
    (job,) = jobs_for([STACKS["cdk_payments"]], Options(checks=checks, environ={}))
    assert f"control_tower_checks={expected}" in job.argv
    assert job.env["CDK_VALIDATION"] == expected


@pytest.mark.parametrize(("target", "checked"), [("check", True), ("synth-all", False), ("policies", False)])
def test_make_check_asks_for_the_checked_synth(target, checked):
    """`make check` passes --checks to every synth it runs first (synth-all, policies); others do not."""
    dry = subprocess.run(
        ["make", "-n", "--no-print-directory", target], cwd=ROOT, capture_output=True, text=True, check=True
    )
    synths = [line for line in dry.stdout.splitlines() if "-m tools.synth" in line]
    assert synths and all(("--checks" in line) is checked for line in synths), synths


def test_a_deleted_or_edited_output_is_written_again(jobs):
    (jobs.root / "out" / "pulumi_fraud_pipeline" / "resources.json").unlink()
    (jobs.root / "out" / "cdk_payments" / "template.json").write_text("edited by hand")
    assert jobs.run() == (0, ["cdk_payments", "pulumi_fraud_pipeline"])


def test_a_failed_synth_leaves_no_stamp_and_runs_again(jobs):
    (jobs.root / "cdktf_transactions" / "code.py").write_text("# broken\n")
    jobs.failing = {"cdktf_transactions"}
    assert jobs.run() == (1, ["cdktf_transactions"])
    assert not synth.stamp_path(STACKS["cdktf_transactions"], jobs.root).exists()
    jobs.failing = set()
    assert jobs.run() == (0, ["cdktf_transactions"])


def test_one_stack_can_be_asked_for(jobs):
    (jobs.root / "lambda_src" / "common" / "code.py").write_text("# changed\n")
    assert jobs.run(names=["pulumi_trading_dr"]) == (0, ["pulumi_trading_dr"])
    assert jobs.run() == (0, ["cdk_payments", "cdktf_transactions", "pulumi_fraud_pipeline"])


# --- the declared inputs are what the synth reads -------------------------------------------------

ENTRY_POINTS = {  # what each synth process runs, as files of this repo
    "cdk_payments": ["cdk_payments/app.py"],
    "cdktf_transactions": ["cdktf_transactions/main.py"],
    "pulumi_fraud_pipeline": ["pulumi_offline/__main__.py", "pulumi_fraud_pipeline/offline.py"],
    "pulumi_trading_dr": ["pulumi_offline/__main__.py", "pulumi_trading_dr/offline.py"],
}


def module_file(name: str) -> Path | None:
    """The file of this repo that ``import name`` loads (handlers see lambda_src/ as Lambda's /opt/python)."""
    for base in (ROOT, ROOT / "lambda_src"):
        path = base.joinpath(*name.split("."))
        for candidate in (path.with_suffix(".py"), path / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def repo_imports(entry: Path) -> set[Path]:
    """Every file of this repo that ``entry`` imports, directly or not, at any depth of the code."""
    seen, todo = set(), [entry]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{path}: a relative import (this walk resolves absolute ones)"
                names = [node.module or "", *(f"{node.module}.{alias.name}" for alias in node.names)]
            else:
                continue
            for name in names:
                parts = name.strip(".").split(".")
                for i in range(1, len(parts) + 1):  # a package's __init__ runs too
                    found = module_file(".".join(parts[:i]))
                    if found:
                        todo.append(found)
    return seen


@pytest.mark.parametrize("name", ALL)
def test_every_file_a_synth_imports_is_one_of_its_inputs(name):
    stack = STACKS[name]
    inputs = [ROOT / path for path in stack.inputs]
    imported = set().union(*(repo_imports(ROOT / entry) for entry in ENTRY_POINTS[name]))
    undeclared = sorted(
        path.relative_to(ROOT).as_posix()
        for path in imported
        if not any(path == i or path.is_relative_to(i) for i in inputs)
    )
    assert undeclared == [], f"{name} reads these without their changes re-synthesizing it"


def test_the_fresh_transactions_outdir_moves_an_old_state_out_before_deleting(tmp_path, monkeypatch):
    """python -m tools.synth (and make bench) empties out/cdktf_transactions: a Terraform state an
    earlier layout kept there is moved to the state folder first, never deleted."""
    from tests.cdktf_transactions.test_state_backend import tfstate

    stack_dir = tmp_path / "out" / "cdktf_transactions" / "stacks" / "transactions-dev"
    stack_dir.mkdir(parents=True)
    (stack_dir / "terraform.transactions-dev.tfstate").write_text(tfstate("us-west-2"))
    monkeypatch.setattr(synth, "ROOT", tmp_path)
    monkeypatch.setenv("TRANSACTIONS_STATE_DIR", str(tmp_path / "state"))
    synth._fresh_cdktf_outdir()
    assert not (tmp_path / "out" / "cdktf_transactions").exists()
    assert (tmp_path / "state" / "us-west-2" / "transactions-dev.tfstate").read_text() == tfstate("us-west-2")


def test_the_bundles_are_built_once_before_any_synth_process_starts(monkeypatch, capsys):
    """Each app builds the Lambda bundles itself when they are stale; three at once would race in
    build/lambda. jobs_for builds them first, in make's process, and the apps then find them current;
    the line `make lambdas` printed when it built (the synth targets no longer run it) is printed."""
    from lambda_src import build

    calls = []
    line = "lambda bundles: built build/lambda/ in 9.9 s"
    monkeypatch.setattr(build, "ensure", lambda: calls.append("build") or line)
    jobs = jobs_for([STACKS[name] for name in ALL], Options(environ={}))
    assert calls == ["build"]
    assert {job.framework for job in jobs} == {"cdk", "cdktf", "pulumi"}
    assert capsys.readouterr().out == line + "\n"


def test_the_transactions_job_builds_jsiis_runtime_index_before_its_process(monkeypatch):
    """Without the index the transactions synth parses the provider's whole assembly (about 3 s,
    1.4 GB: cdktf_transactions/runtime_index.py); its job ensures it first, in its own thread, and
    says so through the printer the other jobs' lines go through (whole lines, never interleaved)."""
    from cdktf_transactions import runtime_index
    from lambda_src import build

    order = []
    monkeypatch.setattr(build, "ensure", lambda: "")
    monkeypatch.setattr(runtime_index, "ensure", lambda env: order.append("index") or "index: built")
    monkeypatch.setattr(synth, "_fresh_cdktf_outdir", lambda: order.append("outdir"))
    (job,) = jobs_for([STACKS["cdktf_transactions"]], Options(environ={}))
    assert job.prepare is not None
    said = []
    job.prepare(said.append)
    assert order == ["index", "outdir"]
    assert said == ["index: built"]
