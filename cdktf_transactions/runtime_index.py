"""Have jsii build its runtime index of the AWS provider once per machine, not on every synth.

jsii (1.142, @jsii/kernel) keeps each package it loads in a per-user cache and, the first time,
starts a worker thread that writes a runtime index of the package's assembly beside it
(``.jsii.runtime.v1.json`` and two data files). Until that index exists, every kernel that loads
@cdktn/provider-aws parses the whole 155 MB ``.jsii`` assembly instead: the transactions synth
takes about 2.9 s and 1.4 GB instead of 1 s and 0.19 GB. The worker takes about 5 s, longer than a
synth with the provider's modules loaded as used (provider_loading.py), and dies with its
kernel: on a fresh machine no synth ever lives long enough to finish it, so every synth stays slow
(docs/performance.md, the fifth pass).

``python -m cdktf_transactions.runtime_index`` loads the provider's assembly into a kernel and
keeps the kernel alive until jsii has written the index (about 5 s, once); when the index is
already there it returns at once. `tools/synth.py` runs it in the transactions job before that
synth (the synth targets); `make check`, `make test`, `make bench` and `make plan-`/`deploy-`/
`destroy-cdktf-transactions` run it first.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

PACKAGE = "@cdktn/provider-aws"
# @jsii/kernel's manifestFileName(RUNTIME_INDEX_VERSION): written last, once the index is complete.
MANIFEST = ".jsii.runtime.v1.json"
TIMEOUT_S = 60.0

# Run in a child process: loads the provider's assembly into a new kernel (the lazy hook keeps
# the load to the entry module), then waits for the manifest jsii's index worker writes last.
WAIT = """
import sys, time
from pathlib import Path
from cdktf_transactions import provider_loading
provider_loading.enable()
import cdktn_provider_aws._jsii  # noqa: F401  (the kernel loads the assembly and starts the worker)
versions, deadline = Path(sys.argv[2]), time.monotonic() + float(sys.argv[1])
while not any((f / "{manifest}").is_file() for f in versions.glob("*")) and time.monotonic() < deadline:
    time.sleep(0.2)
"""


def cache_root(environ: Mapping[str, str] = os.environ) -> Path | None:
    """Where jsii keeps its package cache, as @jsii/kernel decides it; None when it is disabled
    or when the kernel neither reads nor builds a runtime index (JSII_VALIDATE_ASSEMBLIES)."""
    if environ.get("JSII_RUNTIME_PACKAGE_CACHE", "enabled").lower() != "enabled":
        return None  # the kernel lower-cases the value: "Enabled" is enabled
    if environ.get("JSII_VALIDATE_ASSEMBLIES"):  # any non-empty value: the kernel parses every time
        return None
    if root := environ.get("JSII_RUNTIME_PACKAGE_CACHE_ROOT"):
        return Path(root)
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "com.amazonaws.jsii" / "package-cache"
    if sys.platform == "win32":
        local = Path(environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
        return local / "AWS" / "jsii" / "package-cache"
    return Path.home() / ".cache" / "aws" / "jsii" / "package-cache"


def provider_version() -> str:
    """The version of the provider package the Python bindings hand to the kernel."""
    from importlib.metadata import version  # the wheel's version is the npm package's

    return version("cdktn-provider-aws")


def package_folders(root: Path, version: str) -> list[Path]:
    """The cache's extracted copies of this provider version (one per tarball digest)."""
    return sorted(path for path in (root / PACKAGE / version).glob("*") if path.is_dir())


def is_built(root: Path, version: str) -> bool:
    return any((folder / MANIFEST).is_file() for folder in package_folders(root, version))


def ensure(environ: Mapping[str, str] = os.environ, timeout: float = TIMEOUT_S) -> str:
    """Build the index when it is missing; one line saying what happened (empty when nothing did)."""
    root = cache_root(environ)
    if root is None:
        return ""  # no cache, no index to keep: each kernel parses the assembly (jsii's choice)
    version = provider_version()
    if is_built(root, version):
        return ""
    started = time.monotonic()
    # The kernel names the copy it extracts after the tarball's digest: the child watches every
    # copy of this version until one holds the manifest.
    wait = WAIT.replace("{manifest}", MANIFEST)
    subprocess.run(  # noqa: S603 - this interpreter, our own program
        [sys.executable, "-c", wait, str(timeout), str(root / PACKAGE / version)],
        env=dict(environ),
        check=True,
        timeout=timeout + 60,
    )
    elapsed = time.monotonic() - started
    if is_built(root, version):
        return f"jsii runtime index of {PACKAGE} {version}: built in {elapsed:.1f} s (once per machine)"
    return (
        f"warning: jsii wrote no runtime index of {PACKAGE} {version} under {root} in {elapsed:.0f} s; "
        "each transactions synth parses the whole assembly (about 3 s, 1.4 GB) until one is written"
    )


def main() -> None:
    if line := ensure():
        print(line, file=sys.stderr if line.startswith("warning") else sys.stdout, flush=True)


if __name__ == "__main__":
    main()
