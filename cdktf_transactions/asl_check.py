"""Is every state machine definition in the CDKTF output valid Amazon States Language? Checked by
``asl-validator`` (npm, pinned in package.json), as the tests check the definition they build.

    python -m cdktf_transactions.asl_check out/cdktf_transactions/stacks/*/cdk.tf.json

Each ``aws_sfn_state_machine``'s ``definition`` (a JSON string; the Terraform references inside sit
in ``Parameters``, which the validator does not resolve) goes to the validator as written. Exit 1
when one is invalid, or when there is none: a check that validated nothing must not pass.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VALIDATOR = ROOT / "node_modules" / ".bin" / "asl-validator"


def definitions(*paths: Path) -> dict[str, str]:
    """``<file>:<resource name>`` -> the definition, for every state machine in the files."""
    found = {}
    for path in paths:
        resources = json.loads(path.read_text()).get("resource", {})
        for name, machine in resources.get("aws_sfn_state_machine", {}).items():
            found[f"{path}:{name}"] = machine["definition"]
    return found


def validation_errors(found: dict[str, str]) -> dict[str, str]:
    """The definitions asl-validator rejects, with its output."""
    validator = str(VALIDATOR) if VALIDATOR.exists() else shutil.which("asl-validator")
    if validator is None:
        raise RuntimeError("asl-validator is needed: run `make bootstrap`")
    errors = {}
    with tempfile.TemporaryDirectory() as scratch:
        for index, (where, definition) in enumerate(found.items()):
            path = Path(scratch) / f"{index}.json"
            path.write_text(definition)
            done = subprocess.run(  # noqa: S603 - fixed program, our own file
                [validator, "--json-path", str(path)], capture_output=True, text=True, check=False
            )
            if done.returncode != 0:
                errors[where] = (done.stdout + done.stderr).strip()
    return errors


def main(paths: list[str]) -> int:
    found = definitions(*map(Path, paths))
    if not found:
        print(f"no state machine definition in {paths}", file=sys.stderr)
        return 1
    errors = validation_errors(found)
    for where in found:
        print(f"{where}: {'INVALID ' + errors[where] if where in errors else 'valid ASL'}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
