"""Before ``cdktn deploy`` of the transactions stack: the Terraform CLI the deploy runs, credentials
and the stack's region (TRANSACTIONS_REGION), the Terraform state present or the stack declared
new (the same rule the app applies, cdktf_transactions/backend.py; for S3 state, the bucket's region
and the object), and no example e-mail (the Makefile's synth default)."""

from __future__ import annotations

from cdktf_transactions.backend import OUTDIR, StateError, legacy_state_files, require_state, state_file
from cdktf_transactions.config import TransactionsConfig
from preflight import aws as checks
from preflight.common import Options, Services, cli_on_path, placeholder_checks
from preflight.report import Check, fail, ok, skip

TERRAFORM_INSTALL = "install Terraform 1.10 or later (https://developer.hashicorp.com/terraform/install)"


def local_state(config: TransactionsConfig) -> Check:
    name = "Terraform state"
    path = state_file(config.state_dir, config.region, config.stack_name)
    earlier = [
        file for stack, file in legacy_state_files(OUTDIR, config.state_dir) if stack == config.stack_name
    ]
    if not path.exists() and earlier:
        return ok(name, f"{earlier[0]} (an earlier layout): the deploy moves it to {path}")
    try:
        require_state(config)
    except StateError:
        return fail(
            name,
            f"none at {path}: Terraform would plan every resource as new",
            "if the stack was deployed from an older checkout, put its state file back there; if it "
            "was never deployed in this account and region: TRANSACTIONS_NEW_STACK=1 "
            "(cdktf_transactions/README.md, State)",
        )
    if path.exists():
        return ok(name, str(path))
    return ok(name, f"none yet at {path}; TRANSACTIONS_NEW_STACK=1: the first apply writes it")


def run(options: Options, services: Services) -> tuple[str, list[Check]]:
    config = TransactionsConfig.from_environ({**options.environ, "TRANSACTIONS_ENV": options.env})
    region, stack = config.region, config.stack_name
    source = "TRANSACTIONS_REGION" if options.environ.get("TRANSACTIONS_REGION") else "the stack's default"
    title = f"preflight {stack} (cdktf_transactions), before cdktn deploy"
    aws = services.aws(None)  # the Terraform provider takes the default credential chain
    found, identity = checks.credentials(aws, region, f"{region} ({source})")
    results = [cli_on_path("terraform", services.which, TERRAFORM_INSTALL), found]
    if config.state_bucket and identity is None:
        results.append(skip("Terraform state", f"in s3://{config.state_bucket}: no credentials"))
    elif config.state_bucket:
        key = f"transactions/{config.env}.tfstate"  # stack.py's S3Backend key
        results.append(checks.state_bucket(aws, config.state_bucket, key, region, config.new_stack))
    else:
        results.append(local_state(config))
    results += placeholder_checks(
        [("TRANSACTIONS_ALARM_EMAIL", "email", config.alarm_email)],
        lambda key: f"{key}=<your on-call address> make deploy-cdktf-transactions",
    )
    return title, results
