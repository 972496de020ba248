"""Run one stage of a long make target and say how long it took, in one line.

    python -m tools.stage LABEL -- COMMAND [ARG ...]

The command's own output passes through; then ``LABEL: done in 3.2 s`` (or ``LABEL: FAILED (exit
1) in 3.2 s``), and the command's exit status is this one's. ``make check`` runs each scanner so.
"""

from __future__ import annotations

import subprocess
import sys
import time


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    label, command = argv[0], argv[2:]
    started = time.monotonic()
    code = subprocess.call(command)  # noqa: S603 (the Makefile's own commands)
    outcome = "done" if code == 0 else f"FAILED (exit {code})"
    print(f"{label}: {outcome} in {time.monotonic() - started:.1f} s", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
