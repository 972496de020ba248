"""Issue 16, item 5: Terraform's provider lock file survives the synths that delete the stack's
output folder: kept in cdktf_transactions/ after each cdktn run, copied back by the app into a
fresh stack folder (cdktf_transactions/backend.py). No synth: the app's own steps, with fakes."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

from cdktf_transactions import backend, main
from cdktf_transactions.backend import LOCK_FILE, keep_lock_file, restore_lock_file
from cdktf_transactions.config import TransactionsConfig

ROOT = Path(__file__).resolve().parents[2]
LOCK = 'provider "registry.terraform.io/hashicorp/aws" {\n  version = "6.69.1"\n}\n'  # as init writes it


def test_the_lock_terraform_wrote_is_kept_outside_out(tmp_path):
    stack_dir, kept = tmp_path / "out" / "stacks" / "transactions-dev", tmp_path / "kept.hcl"
    stack_dir.mkdir(parents=True)
    assert keep_lock_file(stack_dir, kept) is None and not kept.exists()  # Terraform never ran
    (stack_dir / LOCK_FILE).write_text(LOCK)
    assert "commit it" in keep_lock_file(stack_dir, kept) and kept.read_text() == LOCK
    assert keep_lock_file(stack_dir, kept) is None  # unchanged: nothing to say


def test_a_fresh_stack_folder_gets_the_kept_lock_and_a_newer_one_is_left_alone(tmp_path):
    stack_dir, kept = tmp_path / "stacks" / "transactions-dev", tmp_path / "kept.hcl"
    stack_dir.mkdir(parents=True)
    assert not restore_lock_file(stack_dir, kept)  # none kept yet
    kept.write_text(LOCK)
    assert restore_lock_file(stack_dir, kept) and (stack_dir / LOCK_FILE).read_text() == LOCK
    (stack_dir / LOCK_FILE).write_text(LOCK + "# upgraded\n")  # terraform init -upgrade since
    assert not restore_lock_file(stack_dir, kept)
    assert (stack_dir / LOCK_FILE).read_text().endswith("# upgraded\n")


def test_the_app_restores_the_lock_after_it_synthesizes(tmp_path, monkeypatch):
    """Fix: main.synthesize copies the kept lock into the stack folder it just wrote (a synth
    deletes out/, and with it what terraform init wrote there)."""
    kept = tmp_path / "kept.hcl"
    kept.write_text(LOCK)
    monkeypatch.setattr(backend, "KEPT_LOCK_FILE", kept)
    outdir = tmp_path / "out"

    class App:  # cdktn's App, as far as synthesize uses it
        def __init__(self) -> None:
            self.outdir = str(outdir)

        def synth(self) -> None:
            (outdir / "stacks" / "transactions-dev").mkdir(parents=True)

    fakes = {
        "cdktn": types.SimpleNamespace(App=App),
        "cdktf_transactions.stack": types.SimpleNamespace(TransactionsStack=lambda app, config: None),
        "lambda_src.build": types.SimpleNamespace(build=lambda: None),
    }
    for name, module in fakes.items():
        monkeypatch.setitem(sys.modules, name, module)
    main.synthesize(TransactionsConfig(env="dev", alarm_email="oncall@acme.io"))
    assert (outdir / "stacks" / "transactions-dev" / LOCK_FILE).read_text() == LOCK


def test_make_keeps_the_lock_after_every_cdktn_run_even_a_failed_one():
    for target in ("deploy-cdktf-transactions", "plan-cdktf-transactions", "destroy-cdktf-transactions"):
        dry_run = subprocess.run(
            [
                "make",
                "-n",
                "--no-print-directory",
                "-o",
                "bootstrap",
                "-o",
                "preflight-cdktf-transactions",
                target,
            ],
            cwd=ROOT,
            env={k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        run, keep = (
            dry_run.index(" cdktn "),
            dry_run.index("-m cdktf_transactions.backend --keep-lock transactions-dev"),
        )
        assert run < keep and "|| status=$?" in dry_run and dry_run.rstrip().endswith("exit $status"), dry_run
