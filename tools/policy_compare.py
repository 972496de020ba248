"""The policy suite next to checkov on the outside corpus (tests/policies/corpus/): for each file,
this suite's failed and passed results (default settings) and checkov's failed results, check ids
and passed results (its own defaults, ``--framework cloudformation`` or ``terraform_json``).
policies/README.md's comparison table is made from this output; tests/policies/test_corpus.py
holds the suite's column to it.

    make policies-compare        # or: python -m tools.policy_compare [--checkov PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from policies import InputError, check
from policies.rules import FAIL

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "policies" / "corpus"


def ours(path: Path) -> str:
    try:
        report = check([path])
    except InputError:
        return "exit 2"
    return f"{report.count(FAIL)} failed, {report.passed} passed"


def checkov(binary: str, path: Path) -> str:
    framework = "terraform_json" if path.name.endswith(".tf.json") else "cloudformation"
    done = subprocess.run(  # noqa: S603 (a fixed command over a corpus file)
        [binary, "--skip-download", "--framework", framework, "-f", str(path), "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tempfile.gettempdir(),  # checkov reads ./.checkov.yaml silently: not ours, its defaults
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    try:
        output = json.loads(done.stdout)
    except json.JSONDecodeError:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"crashes ({last[:80]})"
    output = output[0] if isinstance(output, list) and output else output
    results = output.get("results") if isinstance(output, dict) else None
    if not results:
        return "0 checks run"
    failed, passed = results.get("failed_checks", []), results.get("passed_checks", [])
    ids = sorted({c["check_id"] for c in failed})
    return f"{len(failed)} failed ({len(ids)} checks: {' '.join(ids)}), {len(passed)} passed"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkov", default=str(ROOT / ".venv-checkov" / "bin" / "checkov"))
    args = parser.parse_args(argv)
    args.checkov = os.path.abspath(args.checkov)  # checkov runs from a temporary folder
    version = subprocess.run(  # noqa: S603
        [args.checkov, "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    print(f"| file | this suite (defaults) | checkov {version} |")
    print("|---|---|---|")
    for path in sorted(CORPUS.rglob("*.json")):
        print(f"| {path.relative_to(CORPUS)} | {ours(path)} | {checkov(args.checkov, path)} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
