"""``python -m preflight <stack> [--env ENV] [--stack STACK] [-- DEPLOY ARGS...]`` (see __init__)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from preflight.common import Options, Services, SettingsError
from preflight.report import render

STACKS = ("cdk_payments", "cdktf_transactions", "pulumi_fraud_pipeline", "pulumi_trading_dr")


def main(argv: list[str] | None = None, services: Services | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m preflight", description=__doc__)
    parser.add_argument("project", choices=STACKS, help="the stack's folder")
    parser.add_argument("--env", default="dev", help="ENV: the CDK and CDK Terrain stacks' environment")
    parser.add_argument("--stack", default="dev", help="STACK: the Pulumi stack")
    parser.epilog = "After --: the arguments the deploy command gets (CDK_ARGS, PULUMI_ARGS)."
    argv = list(sys.argv[1:] if argv is None else argv)
    ours, args = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    options = parser.parse_args(ours)
    module = importlib.import_module(f"preflight.{options.project}")
    config_error = importlib.import_module(f"{options.project}.config").ConfigError
    from botocore.exceptions import BotoCoreError

    try:
        title, checks = module.run(
            Options(env=options.env, stack=options.stack, args=tuple(args), environ=dict(os.environ)),
            services or Services(),
        )
    except (config_error, SettingsError) as error:
        # The stack's own message names the key and the fix, as its entry point prints it.
        print(f"error: {options.project}: {error}", file=sys.stderr)
        return 2
    except BotoCoreError as error:  # a profile that does not exist, a malformed config file
        print(f"error: {options.project}: {error}", file=sys.stderr)
        return 2
    report, code = render(title, checks)
    print(report)
    return code


if __name__ == "__main__":
    sys.exit(main())
