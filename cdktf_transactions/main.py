"""Entry point of the transactions app, on CDK Terrain (``cdktn``, the maintained fork of CDKTF):
``make synth-cdktf-transactions``, or ``cdktf synth`` / ``cdktf deploy`` here (the pinned CLI runs
the app through cdktf.json and reads the same output).

Settings (environment variables, read once here): TRANSACTIONS_ALARM_EMAIL (required: the on-call
address the alarm topic e-mails), TRANSACTIONS_ENV (dev), TRANSACTIONS_REGION (us-east-1),
TRANSACTIONS_RESERVED_CONCURRENCY (unset: no reservation; else 1..10), TRANSACTIONS_LOG_RETENTION_DAYS (30),
TRANSACTIONS_STATE_BUCKET (S3 backend with a lock file; local state in state/ when unset),
TRANSACTIONS_ZONES (a,b: the zone letters of the two private subnets).
"""

from __future__ import annotations

import os

from cdktn import App

from cdktf_transactions.config import TransactionsConfig
from cdktf_transactions.stack import TransactionsStack
from lambda_src.build import build


def main() -> None:
    config = TransactionsConfig.from_environ(os.environ)
    build()  # the Lambda bundles the assets point at (a no-op when current)
    app = App()  # outdir: CDKTF_OUTDIR (set by the cdktf CLI and the Makefile), else cdktf.out
    TransactionsStack(app, config=config)
    app.synth()


if __name__ == "__main__":
    main()
