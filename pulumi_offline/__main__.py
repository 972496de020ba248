"""Several Pulumi programs offline in one process, one after another (``run`` starts each on a new
root stack): what ``make synth-all`` runs, so pulumi and pulumi-aws are imported once.

    python -m pulumi_offline [--stack dev] pulumi_fraud_pipeline pulumi_trading_dr

Each program writes out/<project>/resources.json and prints one line with its elapsed seconds.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import time
from pathlib import Path

import pulumi_offline


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="dev")
    parser.add_argument("projects", nargs="+", metavar="PROJECT", help="a package with an offline module")
    args = parser.parse_args(argv)
    # The cyclic collector's passes over pulumi-aws's generated classes and the programs' resources
    # took 0.45 of the batch's 2.5 s of CPU and freed about 5 MB (docs/performance.md); reference
    # counting still frees everything else as it goes. It is on again when the batch ends, however
    # it ends, for a caller that runs it in its own process (a test).
    gc.disable()
    try:
        batch(args.stack, args.projects)
    finally:
        gc.enable()


def batch(stack: str, projects: list[str]) -> None:
    from lambda_src.build import build as build_lambdas

    build_lambdas()
    started = time.monotonic()
    for project in projects:
        offline = importlib.import_module(f"{project}.offline")
        project_dir: Path = offline.PROJECT_DIR
        try:
            config = pulumi_offline.load_stack_config(project_dir, stack)
            document = pulumi_offline.run(project_dir, stack, config, offline.program)
        except (pulumi_offline.StackFileError, offline.ConfigError) as error:
            raise pulumi_offline.config_error_exit(project, stack, error) from None
        target = pulumi_offline.write(document, pulumi_offline.ROOT / "out" / project_dir.name)
        count = len(document["deployment"]["resources"])
        print(
            f"{project}: {count} resources -> {target.relative_to(pulumi_offline.ROOT)} "
            f"in {time.monotonic() - started:.1f} s",
            flush=True,
        )
        started = time.monotonic()


if __name__ == "__main__":
    main()
