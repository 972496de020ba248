"""Let the jsii kernel load the AWS provider's resource modules as the stack uses them.

@cdktn/provider-aws's entry module requires all 2,433 of its resource modules when the kernel loads
the package: about 2.4 s of the 3 s synth and 700 MB of Node, whatever the stack uses (docs/
performance.md). ``lazy_provider.cjs``, preloaded into the kernel through NODE_OPTIONS, turns each of
those requires into a getter; every other file is compiled as shipped. Call ``enable`` before the
first ``cdktn`` import of the process: the kernel reads NODE_OPTIONS when it starts.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import MutableMapping
from pathlib import Path

HOOK = Path(__file__).resolve().with_name("lazy_provider.cjs")


def node_options(current: str, hook: Path = HOOK) -> str:
    """NODE_OPTIONS with the hook preloaded; what the caller already had is kept, first."""
    # Node reads a double-quoted value in which a backslash escapes the next character, and takes
    # the bytes as they are: any path quotes this way, spaces, quotes and accents included (JSON's
    # \uXXXX escapes would reach Node as the letters "uXXXX").
    option = f"--require {json.dumps(str(hook), ensure_ascii=False)}"
    try:
        present = str(hook) in shlex.split(current or "")
    except ValueError:  # an unbalanced quote: Node will refuse it with its own message
        present = False
    if present:
        return current
    return f"{current} {option}".strip()


def enable(environ: MutableMapping[str, str] = os.environ) -> None:
    environ["NODE_OPTIONS"] = node_options(environ.get("NODE_OPTIONS", ""))
