"""Entry point of the transactions app, on CDK Terrain (``cdktn``, the maintained fork of CDKTF):
``make synth-cdktf-transactions``, or ``cdktn synth`` / ``cdktn deploy`` here (the pinned cdktn CLI
runs the app through cdktf.json and reads the same output).

Settings (environment variables, read once here): TRANSACTIONS_ALARM_EMAIL (required: the on-call
address the alarm topic e-mails), TRANSACTIONS_ENV (dev), TRANSACTIONS_REGION (us-east-1),
TRANSACTIONS_RESERVED_CONCURRENCY (unset: no reservation; else 1..10), TRANSACTIONS_LOG_RETENTION_DAYS (30),
TRANSACTIONS_STATE_BUCKET (S3 backend with a lock file; local state when unset),
TRANSACTIONS_STATE_DIR (local state folder, default cdktf_transactions/state),
TRANSACTIONS_NEW_STACK (1: never deployed here, a deploy may start without local state),
TRANSACTIONS_ZONES (a,b: the zone letters of the two private subnets).

Before synthesizing: local state of an earlier layout is moved to its place, and when the cdktn
CLI runs the app (deploy, diff, destroy) a missing local state is refused (backend.py). After: the
kept provider lock file is copied into a stack folder without one (backend.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from cdktf_transactions import provider_loading
from cdktf_transactions.backend import migrate_legacy_states, require_state, restore_lock_file
from cdktf_transactions.config import ConfigError, TransactionsConfig


def run_by_the_cdktf_cli(environ: Mapping[str, str]) -> bool:
    """The cdktn CLI (like cdktf's before it) sets CDKTF_CONTEXT_JSON whenever it runs the app
    (synth, diff, deploy, destroy), and runs it before every plan; `synth --hcl` (make check) writes
    no plan. make synth-* runs the app without the CLI and only synthesizes."""
    return "CDKTF_CONTEXT_JSON" in environ and environ.get("SYNTH_HCL_OUTPUT") != "true"


def prepare_state(config: TransactionsConfig, environ: Mapping[str, str]) -> None:
    outdir = Path(environ.get("CDKTF_OUTDIR") or "cdktf.out").resolve()  # as App() resolves it
    for line in migrate_legacy_states(outdir, config.state_dir, config.region):
        print(line, file=sys.stderr)
    if run_by_the_cdktf_cli(environ):
        require_state(config)


def synthesize(config: TransactionsConfig) -> None:
    # Imported here: a refused run starts no jsii kernel. The kernel starts at the first cdktn
    # import and reads NODE_OPTIONS then: the provider's modules load as the stack uses them.
    provider_loading.enable(os.environ)
    from cdktn import App

    from cdktf_transactions.stack import TransactionsStack
    from lambda_src.build import build

    build()  # the Lambda bundles the assets point at (a no-op when current)
    app = App()  # outdir: CDKTF_OUTDIR (set by the cdktn CLI and the Makefile), else cdktf.out
    TransactionsStack(app, config=config)
    app.synth()
    # A fresh stack folder gets the kept provider lock, so terraform init installs the same builds.
    restore_lock_file(Path(app.outdir) / "stacks" / config.stack_name)


def main() -> int:
    try:
        config = TransactionsConfig.from_environ(os.environ)
        prepare_state(config, os.environ)
        synthesize(config)
    except ConfigError as error:
        # The message names the setting and the fix; a traceback around it is noise (exit 2: usage).
        print(f"error: {error} (settings: TRANSACTIONS_* environment variables)", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
