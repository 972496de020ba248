"""The test session's transactions stacks, synthesized in a process of their own (conftest.py).

The provider's jsii kernel (about 200 MB with its modules loaded as used, 800 MB as shipped) lives
as long as its process: here it exits after the synth instead of staying for the rest of an xdist
worker's tests.

    python -m tests.cdktf_transactions.synth OUT.json VARIANTS_JSON
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any


def synthesize(variants: dict[str, dict[str, Any]]) -> dict[str, Any]:
    from cdktf_transactions import provider_loading

    provider_loading.enable()  # as main.py: before the kernel starts
    from cdktn import Testing

    from cdktf_transactions.config import ConfigError, TransactionsConfig
    from cdktf_transactions.stack import TransactionsStack

    stacks = {}
    for variant, settings in variants.items():
        stack = TransactionsStack(Testing.app(), config=TransactionsConfig(**settings))
        directory = Path(Testing.full_synth(stack)) / "stacks" / stack.node.id
        stacks[variant] = {
            "name": stack.node.id,
            "directory": str(directory),
            "hcl": stack.to_hcl_terraform()["hcl"],
        }
    # A local state folder inside the synth output (which every synth deletes) must be refused.
    refused = None
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "out"
        config = TransactionsConfig(env="dev", alarm_email="a@example.com", state_dir=out / "state")
        try:
            TransactionsStack(Testing.app(outdir=str(out)), config=config)
        except ConfigError as error:
            refused = str(error)
    return {"stacks": stacks, "state_inside_the_output": refused}


if __name__ == "__main__":
    target, variants = Path(sys.argv[1]), json.loads(sys.argv[2])
    target.write_text(json.dumps(synthesize(variants)))
