"""Synthesizing a stack imports no handler module that imports boto3 (issue 14): the programs read
plain data from lambda_src (the GSI's projected attributes, the bundle paths; the payments stack
writes its GSI's attributes out, held equal to common.fraud's by the payments-11 test), and a
synth in CI or on a laptop must not load the AWS SDK through handler code. Each stack's modules
are imported in a fresh interpreter, as their CLIs run them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Operator tooling beside a program, never imported by it: it talks to AWS on purpose.
NOT_THE_PROGRAM = {"pulumi_trading_dr.ops"}


@pytest.mark.parametrize(
    "package", ["cdk_payments", "cdktf_transactions", "pulumi_fraud_pipeline", "pulumi_trading_dr"]
)
def test_the_stack_imports_no_boto3(package):
    # As main.py starts the kernel: the provider's resource modules load as they are used.
    lazy = "from cdktf_transactions import provider_loading; provider_loading.enable()\n"
    code = (
        (lazy if package == "cdktf_transactions" else "")
        + f"import importlib, pkgutil, sys; import {package}\n"
        f"skip = {sorted(NOT_THE_PROGRAM)!r}\n"
        f"for m in pkgutil.walk_packages({package}.__path__, '{package}.'):\n"
        "    if m.name not in skip and not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'boto3', 'botocore'}))"
    )
    done = subprocess.run(
        [sys.executable, "-P", "-c", code],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout
