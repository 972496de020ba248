"""Build every Lambda bundle and the shared layer for the Lambda platform, once, into build/lambda/.

No Docker here, so pip itself fetches wheels for the target platform (python3.12, x86_64,
manylinux2014). All four stacks read the result:

    build/lambda/layer/python/          common/ + lambda_src/common/requirements.txt
    build/lambda/<stack>/<function>/    the function's *.py + the requirements the layer lacks
    build/lambda/<stack>/canary/<script>-<sha256>.zip
                                        a CloudWatch Synthetics script (lambda_src/<stack>/canary/),
                                        as python/<script>.py, with a fixed timestamp; the name
                                        carries the sha256 of the zip

Each function's requirements.txt lists everything it needs beyond the Lambda runtime
(payments-05); what the layer already provides at the same pin is not bundled twice
(payments-12). A rebuild happens only when a source, requirements file, this script or the
bytecode compiler changes. One build at a time, under an exclusive lock on
``build/lambda.lock``: `make lambdas`, `tools/synth.py`, the apps and the test fixtures each ask
for the bundles, `make -j` can start several of them at once, and a second build deleted the folder
the first was installing into; a build that waited finds the bundles current and returns.

The layer and the bundles ship bytecode for python3.12 (``__pycache__/*.cpython-312.pyc``,
checked-hash, with the paths Lambda extracts them to): ``/var/task`` and ``/opt`` are read-only, so
without it every cold start compiles every module it imports (about 0.2-0.3 s with OpenTelemetry;
README "Performance"). The build itself runs on the venv's Python, so it looks for a python3.12
(PATH, /usr/bin, /usr/local/bin, pyenv); without one it ships sources only and says so.

    python -m lambda_src.build [--force]
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import io
import re
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "lambda_src"
BUILD = ROOT / "build" / "lambda"
LAYER_DIR = BUILD / "layer"
DIGEST_FILE = BUILD / ".digest"
LOCK_FILE = BUILD.parent / "lambda.lock"  # beside build/lambda/, which a build deletes
RUNTIME = "python3.12"
# What the python3.12 runtime ships, which a handler imports from there, never from its bundle.
RUNTIME_PROVIDED = ("boto3", "botocore", "jmespath", "s3transfer", "urllib3", "dateutil", "six")
# The name compileall gives the runtime's bytecode: __pycache__/<module>.cpython-312.pyc.
BYTECODE_SUFFIX = f".cpython-{RUNTIME.removeprefix('python').replace('.', '')}.pyc"
PLATFORM_ARGS = (
    "--platform",
    "manylinux2014_x86_64",
    "--implementation",
    "cp",
    "--python-version",
    "3.12",
    "--only-binary=:all:",
    "--no-deps",
    "--no-compile",
    "--disable-pip-version-check",
    "--quiet",
)
# Files shipped beside the code besides *.py: the RDS CA bundle (common/rds-ca-bundle.pem) that
# common/rds_tls.py names by its own path (/opt/python/common/ on Lambda).
DATA_FILES = ("*.pem",)
REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!-]+)$")


def compiler() -> tuple[str | None, str]:
    """A python3.12 (the Lambda runtime's version) to compile bytecode with, and its full version;
    (None, "") when there is none. Files first: a pyenv shim may name one it cannot run."""
    candidates = ["/usr/bin/python3.12", "/usr/local/bin/python3.12"]
    candidates += sorted(str(p) for p in Path.home().glob(".pyenv/versions/3.12*/bin/python3.12"))
    candidates.append(shutil.which("python3.12"))
    probe = "import sys; assert sys.version_info[:2] == (3, 12); print(sys.version)"
    for candidate in filter(None, candidates):
        if not Path(candidate).is_file():
            continue
        done = subprocess.run([candidate, "-S", "-c", probe], capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return candidate, done.stdout.strip()
    return None, ""


def python312() -> str | None:
    return compiler()[0]


def compile_bytecode(python: str, folder: Path, runtime_path: str) -> None:
    """``__pycache__/*.cpython-312.pyc`` beside every module of ``folder``, naming the files where
    Lambda extracts them (``runtime_path``). Checked-hash: valid whatever the zip's timestamps, and
    ignored for a source edited after the build; the same sources give the same bytes."""
    argv = [python, "-S", "-m", "compileall", "-q", "-d", runtime_path, "--invalidation-mode", "checked-hash"]
    subprocess.run([*argv, str(folder)], check=True, stdout=subprocess.DEVNULL)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_requirements(path: Path) -> dict[str, str]:
    """name -> pinned version; every line must be ``name==version`` (comments and blanks aside)."""
    pins: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = REQUIREMENT.match(line)
        if not match:
            raise ValueError(f"{path}:{number}: {line!r} is not pinned as name==version")
        pins[canonical(match.group(1))] = match.group(2)
    return pins


@dataclass(frozen=True, order=True)
class Function:
    stack: str
    name: str

    @property
    def source(self) -> Path:
        return SRC / self.stack / self.name

    @property
    def requirements(self) -> dict[str, str]:
        return read_requirements(self.source / "requirements.txt")


def functions() -> list[Function]:
    """Every lambda_src/<stack>/<function>/index.py."""
    return sorted(
        Function(index.parent.parent.name, index.parent.name)
        for index in SRC.glob("*/*/index.py")
        if index.parent.parent.name != "common"
    )


def function_dir(stack: str, name: str) -> Path:
    return BUILD / stack / name


def canaries() -> list[Path]:
    """Every lambda_src/<stack>/canary/<script>.py (CloudWatch Synthetics scripts, not functions)."""
    return sorted(p for p in SRC.glob("*/canary/*.py") if not p.name.startswith("_"))


def canary_zip(stack: str, script: str) -> Path:
    """Where the zip of ``lambda_src/<stack>/canary/<script>.py`` is built: its file name carries
    the sha256 of the zip, so an edited script is a new path, which the provider diffs and deploys
    (the canary's code is referenced by path; the same path would never be uploaded again)."""
    digest = hashlib.sha256(canary_bytes(SRC / stack / "canary" / f"{script}.py")).hexdigest()
    return BUILD / stack / "canary" / f"{script}-{digest}.zip"


def canary_bytes(source: Path) -> bytes:
    """The zip of a canary script, in the layout the Synthetics Python runtimes expect
    (python/<script>.py, handler <script>.handler), with a fixed timestamp: the same script makes
    the same bytes."""
    entry = zipfile.ZipInfo(f"python/{source.name}", date_time=(1980, 1, 1, 0, 0, 0))
    entry.external_attr = 0o644 << 16
    entry.compress_type = zipfile.ZIP_DEFLATED
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(entry, source.read_bytes())
    return buffer.getvalue()


def _zip_canary(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(canary_bytes(source))


def layer_requirements() -> dict[str, str]:
    return read_requirements(SRC / "common" / "requirements.txt")


def bundled_requirements(function: Function) -> dict[str, str]:
    """What goes into the function's own bundle: its requirements the layer does not provide."""
    layer = layer_requirements()
    extra = {}
    for name, version in function.requirements.items():
        if name in layer and layer[name] != version:
            raise ValueError(
                f"{function.stack}/{function.name}: {name}=={version} but the layer pins {layer[name]}"
            )
        if name not in layer:
            extra[name] = version
    return extra


def _digest(compiler_version: str = "") -> str:
    h = hashlib.sha256(compiler_version.encode())
    shipped = [path for pattern in ("*.py", *DATA_FILES) for path in SRC.rglob(pattern)]
    for path in sorted([Path(__file__), *shipped, *SRC.rglob("requirements.txt")]):
        if "__pycache__" in path.parts:
            continue
        h.update(str(path.relative_to(ROOT)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _pip_install(requirements: dict[str, str], target: Path) -> None:
    if not requirements:
        return
    specs = [f"{name}=={version}" for name, version in sorted(requirements.items())]
    subprocess.run(
        [sys.executable, "-m", "pip", "install", *PLATFORM_ARGS, "--target", str(target), *specs],
        check=True,
    )
    # Console scripts: nothing on Lambda runs them, and their #! names this machine's interpreter.
    shutil.rmtree(target / "bin", ignore_errors=True)


def _copy_sources(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for pattern in ("*.py", *DATA_FILES):
        for path in source.glob(pattern):
            shutil.copy2(path, target / path.name)


def build(force: bool = False) -> Path:
    """The bundles and the layer, built when stale (or forced); a no-op when current."""
    _build(force)
    return BUILD


def ensure(force: bool = False) -> str:
    """:func:`build`, and one line saying it built (empty when the bundles were current)."""
    started = time.monotonic()
    if not _build(force):
        return ""
    where = BUILD.relative_to(ROOT) if BUILD.is_relative_to(ROOT) else BUILD
    return f"lambda bundles: built {where}/ in {time.monotonic() - started:.1f} s"


def _build(force: bool) -> bool:
    """Build unless current; whether it built."""
    python, version = compiler()
    digest = _digest(version)
    if not force and _holds(digest):
        return False
    LOCK_FILE.parent.mkdir(parents=True, exist_ok=True)
    with LOCK_FILE.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, however this ends
        if not force and _holds(digest):
            return False  # the build this one waited for made them
        DIGEST_FILE.unlink(missing_ok=True)  # first: no reader takes a half-deleted tree as current
        if BUILD.exists():
            shutil.rmtree(BUILD)
        site = LAYER_DIR / "python"
        _pip_install(layer_requirements(), site)
        _copy_sources(SRC / "common", site / "common")
        for function in functions():
            target = function_dir(function.stack, function.name)
            _copy_sources(function.source, target)
            _pip_install(bundled_requirements(function), target)
        for script in canaries():
            _zip_canary(script, canary_zip(script.parent.parent.name, script.stem))
        if python:
            compile_bytecode(python, site, "/opt/python")
            for function in functions():
                compile_bytecode(python, function_dir(function.stack, function.name), "/var/task")
        else:
            print("lambda bundles: no python3.12 found, shipping sources without bytecode", file=sys.stderr)
        DIGEST_FILE.write_text(digest)
    return True


def _holds(digest: str) -> bool:
    try:
        return DIGEST_FILE.read_text() == digest
    except FileNotFoundError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if nothing changed")
    args = parser.parse_args()
    if line := ensure(force=args.force):  # quiet when nothing changed
        print(line, flush=True)


if __name__ == "__main__":
    main()
