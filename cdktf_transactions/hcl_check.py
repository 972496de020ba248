"""Does HCL parse? Checked with HashiCorp's own parser (the Go hcl library as WebAssembly, npm
``@cdktn/hcl2json``, pinned in package.json): there is no Terraform binary here for ``terraform fmt``.

    python -m cdktf_transactions.hcl_check out/.../cdk.tf [...]     # exit 1 and the errors if not

``make check`` runs it over ``cdktn synth --hcl``; the test session over each stack's
``to_hcl_terraform()`` (the renderer that command uses).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARSER = ROOT / "node_modules" / "@cdktn" / "hcl2json"
# Prints one line per file: "ok" or the parser's diagnostics.
SCRIPT = """
const { parse } = require(process.argv[1]);
const fs = require("fs");
(async () => {
  for (const file of process.argv.slice(2)) {
    try { await parse(file, fs.readFileSync(file, "utf8")); console.log("ok"); }
    catch (error) { console.log(String(error).replace(/\\n/g, " ")); }
  }
})();
"""


def parse_errors(*paths: Path) -> dict[Path, str]:
    """The files that do not parse, with the parser's message."""
    node = shutil.which("node")
    if node is None or not PARSER.is_dir():
        raise RuntimeError("node and node_modules/@cdktn/hcl2json are needed: run `make bootstrap`")
    done = subprocess.run(  # noqa: S603 - fixed program, our own file paths
        [node, "-e", SCRIPT, str(PARSER), *map(str, paths)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    results = done.stdout.splitlines()
    if len(results) != len(paths):
        raise RuntimeError(f"hcl2json answered {len(results)} of {len(paths)} files: {done.stderr}")
    return {path: result for path, result in zip(paths, results, strict=True) if result != "ok"}


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m cdktf_transactions.hcl_check FILE.tf [...]", file=sys.stderr)
        return 2
    errors = parse_errors(*map(Path, argv))
    for path, message in errors.items():
        print(f"{path}: {message}", file=sys.stderr)
    print(f"{len(argv) - len(errors)} of {len(argv)} HCL files parse")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
