"""What each function imports is what its requirements.txt (or the shared layer) ships."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import subprocess
import sys
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest

from lambda_src.build import (
    BUILD,
    LAYER_DIR,
    RUNTIME_PROVIDED,
    SRC,
    build,
    canonical,
    function_dir,
    functions,
    layer_requirements,
    read_requirements,
)
from tests.lambda_src.conftest import LAMBDA_PARENT, TRACE_ROOT, received_spans

LOCAL = {"common"}


def third_party(module):
    top = module.split(".")[0]
    return top not in sys.stdlib_module_names and top not in {*RUNTIME_PROVIDED, *LOCAL}


@cache
def installed_modules() -> dict[str, list[str]]:
    """Top-level module -> distributions, read once a session (a scan of every installed
    distribution's files: about 0.15 s a call, 20 calls)."""
    return metadata.packages_distributions()


def dotted_imports(path):
    """Every absolute module ``path`` imports, by its full dotted name."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)  # maybe a module
    return found


def distribution_of(module):
    """The distribution that installs ``module``: for a namespace package several distributions share
    (opentelemetry), the one whose files hold the module, not the first that names the namespace.
    None for what is no module (a name imported from one) or only a namespace."""
    candidates = installed_modules()[module.split(".")[0]]
    if len(candidates) == 1:
        return canonical(candidates[0])
    try:
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        return None
    if spec is None or spec.origin is None:
        return None
    origin = Path(spec.origin).resolve()

    def holds(name):
        files = metadata.distribution(name).files or ()
        return any(Path(f.locate()).resolve() == origin for f in files)

    (owner,) = [name for name in dict.fromkeys(candidates) if holds(name)]
    return canonical(owner)


def needed_distributions(path):
    """The distributions ``path`` imports beyond the standard library, the runtime and common/."""
    return {distribution_of(m) for m in dotted_imports(path) if third_party(m)} - {None}


@pytest.mark.catalogue("payments-05")
@pytest.mark.parametrize("function", functions(), ids=lambda f: f"{f.stack}/{f.name}")
def test_requirements_cover_every_import(function):
    """Fix: a function's requirements.txt names every distribution its code imports beyond the runtime."""
    needed = needed_distributions(function.source / "index.py")
    assert needed <= set(function.requirements), (
        f"missing from requirements.txt: {needed - set(function.requirements)}"
    )


def test_the_installed_distributions_are_scanned_once(monkeypatch):
    """Fix (issue 17, `make test`): the module -> distribution map is read once a session, not once
    per function (a scan of every installed distribution each time)."""
    scans = []
    real = metadata.packages_distributions
    monkeypatch.setattr(metadata, "packages_distributions", lambda: scans.append(1) or real())
    for function in functions()[:3]:
        needed_distributions(function.source / "index.py")
    assert len(scans) <= 1, f"{len(scans)} scans"


def test_shared_code_needs_only_the_layer():
    """Fix (issue 17 review): each module common/ imports, by its full name, comes from a distribution
    the layer pins: the OTLP encoder's distribution left the layer while its namespace stayed."""
    needed = set()
    for path in (SRC / "common").glob("*.py"):
        needed |= needed_distributions(path)
    assert "opentelemetry-instrumentation-botocore" in needed  # read by full name
    assert needed <= set(layer_requirements()), needed - set(layer_requirements())


@pytest.mark.catalogue("payments-05")
def test_pins_are_the_versions_the_tests_run_with():
    """Fix: every requirement is pinned, and to the version installed here (tests exercise what ships)."""
    pins = dict(layer_requirements())
    for function in functions():
        pins.update(function.requirements)
    for path in SRC.rglob("requirements.txt"):
        read_requirements(path)  # raises on anything but name==version
    for name, version in pins.items():
        assert metadata.version(name) == version, (
            f"{name}: requirements pin {version}, tests run {metadata.version(name)}"
        )


def shipped(folder):
    """What a bundle or the layer ships: top-level modules and packages, and distributions by name."""
    names = set()
    for path in folder.iterdir():
        if path.name.endswith(".dist-info"):
            names.add("dist:" + canonical(path.name.removesuffix(".dist-info").rsplit("-", 1)[0]))
        elif path.name not in {"__pycache__", "__init__.py", "index.py"}:
            names.add(path.name)
    return names


@pytest.mark.catalogue("payments-12")
@pytest.mark.parametrize("function", functions(), ids=lambda f: f"{f.stack}/{f.name}")
def test_no_bundle_ships_what_the_layer_has(function):
    """Fix: the shared dependencies (Powertools, OpenTelemetry) and common/ are in the layer only; a
    function's bundle holds its own code and what the layer lacks, never a second copy."""
    build()  # a no-op when current (make test builds first)
    duplicated = shipped(function_dir(function.stack, function.name)) & shipped(LAYER_DIR / "python")
    assert not duplicated, f"{function.stack}/{function.name} ships again what the layer has"


# Run by python3.12: for each module of a folder, whether its shipped .pyc is the one the runtime
# loads without compiling (3.12's magic, checked-hash, the source's hash) and names the file where
# Lambda extracts it.
BYTECODE_CHECK = """
import importlib.util, json, marshal, sys
from pathlib import Path
folder, runtime_path = Path(sys.argv[1]), sys.argv[2]
bad = []
for source in sorted(folder.rglob("*.py")):
    pyc = Path(importlib.util.cache_from_source(str(source)))
    data = pyc.read_bytes() if pyc.exists() else b""
    ok = (
        data[:4] == importlib.util.MAGIC_NUMBER
        and int.from_bytes(data[4:8], "little") == 0b11  # hash-based, checked against the source
        and data[8:16] == importlib.util.source_hash(source.read_bytes())
        and marshal.loads(data[16:]).co_filename == f"{runtime_path}/{source.relative_to(folder)}"
    )
    if not ok:
        bad.append(str(source.relative_to(folder)))
print(json.dumps(bad))
"""


def test_layer_and_bundles_ship_bytecode_the_runtime_loads():
    """Fix (issue 17): the layer and every bundle ship checked-hash bytecode compiled by python3.12 for
    each module, naming /opt/python or /var/task: Lambda's read-only code folders never let a cold
    start cache what it compiles, and compiling the layer cost 0.15-0.2 s per cold start."""
    from lambda_src.build import python312

    python = python312()
    if python is None:
        pytest.skip("no python3.12 here: the build ships sources only (and says so)")
    build()
    folders = [(LAYER_DIR / "python", "/opt/python")]
    folders += [(function_dir(f.stack, f.name), "/var/task") for f in functions()]
    for folder, runtime_path in folders:
        done = subprocess.run(
            [python, "-S", "-c", BYTECODE_CHECK, str(folder), runtime_path],
            capture_output=True,
            text=True,
            check=True,
        )
        assert json.loads(done.stdout) == [], f"{folder}: modules without usable bytecode"


# Run by python3.12 without site-packages: each handler imported as Lambda loads it, from its bundle
# (/var/task), the layer (/opt/python) and the runtime's own modules, and nothing else; what a bundle
# brought is forgotten before the next, so each must bring its own.
IMPORT_AS_LAMBDA = """
import importlib, json, sys
layer, runtime, bundles = sys.argv[1], sys.argv[2], sys.argv[3:]
base, failed = list(sys.path), {}
for bundle in bundles:
    sys.path[:] = [bundle, layer, runtime, *base]
    try:
        importlib.import_module("index")
    except Exception as error:
        failed[bundle] = repr(error)
    for name, module in list(sys.modules.items()):
        if name == "index" or (getattr(module, "__file__", None) or "").startswith(bundle + "/"):
            del sys.modules[name]
from common import tracing  # set up by the first traced handler: one invocation, its span sent
answer = tracing.traced(lambda event, context: "answered")({}, None)
loaded = sorted(m for m in ("google.protobuf",) if m in sys.modules)
print(json.dumps({"failed": failed, "answer": answer, "loaded": loaded}))
"""


@pytest.mark.catalogue("fraud-12")
def test_every_handler_imports_from_its_bundle_the_layer_and_the_runtime(tmp_path, xray_endpoint):
    """Fix (issue 17, review): with tracing on, as in Lambda, every handler imports under python3.12
    from what ships and the runtime's boto3 alone, not from this venv: a module the layer or a
    bundle lacks fails the cold start (the venv holds OpenTelemetry's protobuf encoder for the
    tests; the layer does not). An invocation's span reaches the X-Ray endpoint as OTLP, and
    neither a cold start nor the export loads the protobuf runtime (common/otlp.py)."""
    from lambda_src.build import python312

    python = python312()
    if python is None:
        pytest.skip("no python3.12 here: the build ships sources only (and says so)")
    build()
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    for module in RUNTIME_PROVIDED:
        spec = importlib.util.find_spec(module)
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (runtime / source.name).symlink_to(source)
    bundles = [str(function_dir(f.stack, f.name)) for f in functions()]
    lambda_env = {
        "PATH": os.environ.get("PATH", ""),
        "LAMBDA_TASK_ROOT": "/var/task",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_XRAY_DAEMON_ADDRESS": "{}:{}".format(*xray_endpoint.getsockname()),
        "_X_AMZN_TRACE_ID": f"Root=1-{TRACE_ROOT[:8]}-{TRACE_ROOT[8:]};Parent={LAMBDA_PARENT};Sampled=1",
    }
    argv = [python, "-I", "-S", "-B", "-c", IMPORT_AS_LAMBDA, str(LAYER_DIR / "python"), str(runtime)]
    done = subprocess.run([*argv, *bundles], env=lambda_env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout) == {"failed": {}, "answer": "answered", "loaded": []}
    (span,) = received_spans(xray_endpoint)  # sent before the process ended
    assert span.name == "handler" and span.trace_id.hex() == TRACE_ROOT


def test_the_bundles_hold_no_bytecode_but_the_runtimes():
    """The test processes keep bytecode (tests/conftest.py) and the build's folders are the Lambda
    assets: a test that imported a bundle's module in-process would leave this interpreter's
    bytecode in the asset (a changed asset hash, files Lambda never reads). Only the bytecode the
    build compiles for python3.12 may be there."""
    build()
    tag = "cpython-312"
    foreign = sorted(
        str(path.relative_to(BUILD)) for path in BUILD.rglob("*.pyc") if not path.name.endswith(f".{tag}.pyc")
    )
    assert foreign == [], (
        f"bytecode of another interpreter in the Lambda assets: {foreign[:5]} (a test imported a "
        "bundle's module in-process, or ran a Python that writes bytecode on it); "
        "`python -m lambda_src.build --force` builds them again"
    )


def test_a_process_a_test_starts_writes_no_bytecode():
    """tests/conftest.py: whoever started pytest, a Python a test runs with the tests' environment
    writes no bytecode (test_rds_tls.py imports the layer's common/ from build/ so)."""
    code = "import sys; print(sys.dont_write_bytecode)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True"]


def test_two_builds_at_once_build_once(tmp_path, monkeypatch):
    """Fix (review of 5650fda): `make lambdas`, tools/synth.py, the apps and pytest's workers each
    build the bundles when stale, and `make -j` starts several at once (`make -j test synth-all`, two
    synth targets): a second build deleted build/lambda while the first installed into it. One
    builds, under a lock; the other waits and finds the bundles current."""
    import threading
    import time

    from lambda_src import build as lambda_build

    monkeypatch.setattr(lambda_build, "BUILD", tmp_path / "lambda")
    monkeypatch.setattr(lambda_build, "LAYER_DIR", tmp_path / "lambda" / "layer")
    monkeypatch.setattr(lambda_build, "DIGEST_FILE", tmp_path / "lambda" / ".digest")
    monkeypatch.setattr(lambda_build, "LOCK_FILE", tmp_path / "lambda.lock")
    monkeypatch.setattr(lambda_build, "compiler", lambda: ("python3.12", "3.12.0"))
    monkeypatch.setattr(lambda_build, "compile_bytecode", lambda *args: None)
    monkeypatch.setattr(lambda_build, "functions", list)
    monkeypatch.setattr(lambda_build, "canaries", list)
    installs = []

    def install(requirements, target):
        installs.append(target)
        time.sleep(0.3)  # pip at work: the other build starts meanwhile
        target.mkdir(parents=True, exist_ok=True)

    monkeypatch.setattr(lambda_build, "_pip_install", install)
    together = threading.Barrier(2)
    lines = []

    def one():
        together.wait()
        lines.append(lambda_build.ensure())

    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(installs) == 1, installs
    built = f"lambda bundles: built {tmp_path}/lambda/"
    assert sorted(line.split(" in ")[0] for line in lines) == ["", built]
