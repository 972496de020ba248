"""``make bench``: synth and test wall time and peak memory, next to each framework's floor measured
in the same run, and the Lambda packages (zip size, cold import time of the handler module).

Prints the README's tables ("Performance"), rows ready to paste; progress goes to stderr.

- Peak memory is the largest proportional set size (PSS) of the command's whole process tree
  (Python, the jsii Node processes, the CDK CLI, pytest's workers), sampled every 50 ms or, where
  a sample costs more than 5% of a core, less often (a big tree's: every 0.2-0.7 s, so a shorter
  peak can fall between samples): a page shared by n processes counts 1/n in each, so the sum is
  what the tree occupies. (Where
  /proc/<pid>/smaps_rollup is missing, resident set sizes, which count shared pages repeatedly.)
- A stack's synth is ``python -m tools.synth --force <stack>``, one stack alone, through the same
  path as ``make synth-all``. Its floor is what no synth of that framework can avoid: the bare
  framework import plus an empty app (the CDK CLI running an app with one empty Stack; a
  TerraformStack with only the AWS provider), or for Pulumi the mocks' start-up (pulumi and
  pulumi-aws imported, an empty program run under the same mocks).
- The whole ``make synth-all`` (every stack forced, then a no-op re-run) is compared with the
  slowest stack's synth alone, run right after each ``make synth-all`` (the median of the pairs'
  ratios: the machine's load moves both alike); ``make test`` with its target.
- Lambda: each function's deployment zip (deflate, as cdktf_transactions/packaging.py writes it)
  and ``python3.12 -X importtime`` of its handler module in a fresh interpreter, with only the
  bundle, the layer and the runtime's boto3 on the path, as Lambda has them (python3.12: the
  bundles hold cp312 wheels).

- The policy suite: ``python -m policies check`` over a generated template of 5,000 and of 20,000
  resources (``tools/policy_scale.py``: functions, log groups, queues, alarms, buckets and their
  policies referring to each other), every rule run; four times the input may cost at most five
  times the time.

    python -m tools.bench [--runs N] [--import-runs N] [--no-test] [--policies-only]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tools.synth import STACKS

ROOT = Path(__file__).resolve().parents[1]
PAGE = os.sysconf("SC_PAGE_SIZE")
TARGETS = {
    "synth-all ratio": 1.3,
    "make test s": 60.0,
    "peak MB": 2048.0,
    "cold import ratio": 1.5,
    "policies 4x input": 5.0,
}
POLICY_SIZES = (5_000, 20_000)
# Issue 17: a stack's synth against its framework's floor, where a target is set.
SYNTH_TARGETS = {"cdk_payments": 2.0}

EMPTY_CDK_APP = "import aws_cdk as cdk; app = cdk.App(); cdk.Stack(app, 'empty'); app.synth()"
# The provider's resource modules load as the app's do (cdktf_transactions/provider_loading.py);
# the notes give the floor with the provider loaded as shipped, every module at once.
LAZY_PROVIDER = "from cdktf_transactions import provider_loading; provider_loading.enable(); "
EMPTY_CDKTF_APP = (
    "import sys; from cdktn import App, TerraformStack; "
    "from cdktn_provider_aws.provider import AwsProvider; "
    "app = App(outdir=sys.argv[1]); stack = TerraformStack(app, 'empty'); "
    "AwsProvider(stack, 'aws', region='us-east-1'); app.synth()"
)
EMPTY_PULUMI_PROGRAM = (
    "import sys, pulumi_aws, pulumi_offline; from pathlib import Path; "
    "project = Path(sys.argv[1]); "
    "pulumi_offline.run(project, 'dev', pulumi_offline.load_stack_config(project, 'dev'), lambda: {})"
)


# Peak memory is sampled every 50 ms, or less often where a sample costs more than 5% of one core.
SAMPLE_EVERY_S = 0.05
SAMPLER_SHARE = 0.05


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_mb: float
    cpu_seconds: float  # user + system of the whole tree


def _memory(pid: int) -> int:
    """PSS of ``pid`` in bytes (RSS where the kernel gives no smaps_rollup); 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except FileNotFoundError:
        pass
    except OSError:
        return 0
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * PAGE
    except OSError:
        return 0


def _tree_memory(root_pid: int) -> int:
    """Bytes ``root_pid`` and all its descendants occupy (see _memory)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, ()))
        total += _memory(pid)
    return total


def measure(argv: Sequence[str], cwd: Path = ROOT, env: dict[str, str] | None = None) -> Measured:
    """Run ``argv`` and measure it; a failure stops the bench, showing the end of its output."""
    started, cpu_before = time.monotonic(), _children_cpu()
    process = subprocess.Popen(  # noqa: S603 - our own commands
        argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    peak = 0

    def sample() -> None:
        nonlocal peak
        while process.poll() is None:
            cost = time.thread_time()
            peak = max(peak, _tree_memory(process.pid))
            cost = time.thread_time() - cost
            # Reading a big tree's PSS costs the kernel tens of ms (make test's: about 35 ms): at a
            # fixed 50 ms the sampler took some 40% of a core and slowed what it measured.
            time.sleep(max(SAMPLE_EVERY_S, cost / SAMPLER_SHARE - cost))

    sampler = threading.Thread(target=sample)
    sampler.start()
    output, _ = process.communicate()
    sampler.join()
    elapsed = time.monotonic() - started
    if process.returncode:
        tail = "\n".join(output.splitlines()[-40:])
        raise SystemExit(f"bench: {' '.join(argv)} failed ({process.returncode}):\n{tail}")
    return Measured(elapsed, peak / 2**20, _children_cpu() - cpu_before)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def median(runs: list[Measured]) -> Measured:
    return Measured(*(statistics.median(getattr(r, f) for r in runs) for f in Measured.__dataclass_fields__))


def progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join(
        [str(ROOT / "node_modules" / ".bin"), str(Path(sys.executable).parent), env.get("PATH", "")]
    )
    env.setdefault("TRANSACTIONS_ALARM_EMAIL", "oncall@example.com")  # the Makefile's synth example
    return env


def floor_command(name: str, scratch: Path, *, lazy_provider: bool = True) -> tuple[list[str], Path]:
    framework = STACKS[name].framework
    if framework == "cdk":
        app = f'{sys.executable} -c "{EMPTY_CDK_APP}"'
        return ["cdk", "synth", "--quiet", "--no-notices", "--app", app, "-o", str(scratch / "cdk")], ROOT
    if framework == "cdktf":
        app = (LAZY_PROVIDER if lazy_provider else "") + EMPTY_CDKTF_APP
        return [sys.executable, "-c", app, str(scratch / "cdktf")], ROOT
    return [sys.executable, "-c", EMPTY_PULUMI_PROGRAM, str(ROOT / name)], ROOT


def bench_stacks(runs: int, env: dict[str, str]) -> list[tuple[str, Measured, Measured]]:
    rows = []
    for name in STACKS:
        synths, floors = [], []
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as scratch:
                argv, cwd = floor_command(name, Path(scratch))
                progress(f"{name}: floor")
                floors.append(measure(argv, cwd, env))
            progress(f"{name}: synth")
            synths.append(measure([sys.executable, "-m", "tools.synth", "--force", name], ROOT, env))
        rows.append((name, median(synths), median(floors)))
    return rows


def bench_payments_validation(runs: int, env: dict[str, str]) -> dict[str, Measured]:
    """What the payments synth's validations cost (issue 17): `make check`'s synth (every validation),
    and the CDK floor without CDK's built-in CloudFormation validation, which `make synth-*` skips."""
    found: dict[str, list[Measured]] = {"checked": [], "floor without validation": []}
    for _ in range(runs):
        progress("cdk_payments: synth with every validation (make check)")
        argv = [sys.executable, "-m", "tools.synth", "--force", "--checks", "cdk_payments"]
        found["checked"].append(measure(argv, ROOT, env))
        with tempfile.TemporaryDirectory() as scratch:
            progress("cdk_payments: floor without the built-in validation")
            argv, cwd = floor_command("cdk_payments", Path(scratch))
            found["floor without validation"].append(measure(argv, cwd, {**env, "CDK_VALIDATION": "false"}))
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as scratch:
            progress("cdktf_transactions: floor with the provider loaded as shipped")
            argv, cwd = floor_command("cdktf_transactions", Path(scratch), lazy_provider=False)
            found.setdefault("cdktf floor, provider as shipped", []).append(measure(argv, cwd, env))
    # Leave out/ as `make synth-all` writes it.
    measure([sys.executable, "-m", "tools.synth", "--force", "cdk_payments"], ROOT, env)
    return {name: median(values) for name, values in found.items()}


def payments_validation_notes(
    found: dict[str, Measured], floor: Measured | None, cdktf_floor: Measured | None = None
) -> list[str]:
    if not found:
        return []
    checked, bare = found["checked"], found["floor without validation"]
    against = f", {ratio(checked.seconds, floor.seconds)} the floor" if floor else ""
    notes = [
        f"`make check`'s payments synth (Control Tower's rules and CDK's built-in CloudFormation "
        f"validation too): {checked.seconds:.1f} s{against}. The CDK floor without the built-in "
        f"validation: {bare.seconds:.1f} s.",
    ]
    eager = found.get("cdktf floor, provider as shipped")
    if eager:
        lazy = ""
        if cdktf_floor:
            lazy = f" ({cdktf_floor.seconds:.1f} s, {cdktf_floor.peak_mb:.0f} MB as it loads now)"
        notes.append(
            f"The CDK Terrain floor with the provider loaded as shipped, all its resource modules at "
            f"once: {eager.seconds:.1f} s, {eager.cpu_seconds:.1f} s of CPU, {eager.peak_mb:.0f} MB{lazy}."
        )
    return notes


def bench_make(
    runs: int, env: dict[str, str], with_test: bool, slowest: str | None = None
) -> tuple[dict[str, Measured], list[float]]:
    """``make synth-all`` (and, with ``slowest``, that stack's synth alone right after it: the
    machine's load moves both alike), its no-op re-run, ``make test``."""
    make = shutil.which("make") or "make"
    results: dict[str, list[Measured]] = {
        "synth-all": [],
        "slowest stack": [],
        "synth-all no-op": [],
        "make test": [],
    }
    for _ in range(runs):
        progress("make synth-all FORCE=1")
        results["synth-all"].append(
            measure([make, "--no-print-directory", "synth-all", "FORCE=1"], ROOT, env)
        )
        if slowest:
            progress(f"{slowest}: synth, beside make synth-all")
            argv = [sys.executable, "-m", "tools.synth", "--force", slowest]
            results["slowest stack"].append(measure(argv, ROOT, env))
        progress("make synth-all (no-op)")
        results["synth-all no-op"].append(measure([make, "--no-print-directory", "synth-all"], ROOT, env))
        if with_test:
            progress("make test")
            results["make test"].append(measure([make, "--no-print-directory", "test"], ROOT, env))
    found = {name: median(runs) for name, runs in results.items() if runs}
    # Each pair's ratio: make synth-all against the slowest stack's synth right after it.
    pairs = [
        a.seconds / b.seconds for a, b in zip(results["synth-all"], results["slowest stack"], strict=False)
    ]
    return found, pairs


# --- Lambda packages -------------------------------------------------------------------------------


def runtime_path(python: str | None, scratch: Path) -> Path:
    """A folder with only what the Lambda runtime adds to the path (boto3 and its dependencies),
    compiled in place by python3.12 as the runtime ships it (copies: the venv is left alone)."""
    from lambda_src.build import RUNTIME_PROVIDED

    runtime = scratch / "runtime"
    runtime.mkdir()
    for module in RUNTIME_PROVIDED:
        spec = importlib.util.find_spec(module)
        assert spec and spec.origin, module
        origin = Path(spec.origin)
        if origin.name == "__init__.py":
            without_bytecode(origin.parent, runtime / origin.parent.name)
        else:
            shutil.copy2(origin, runtime / origin.name)
    if python:
        argv = [python, "-S", "-m", "compileall", "-q", str(runtime)]
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)  # noqa: S603 - fixed program
    return runtime


def without_bytecode(folder: Path, target: Path) -> Path:
    """``folder`` as it would ship without bytecode."""
    shutil.copytree(folder, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


# A cold import takes about 0.2 s, and one run on a shared 2-core VM moves by 30% or more: the median
# of three could not tell 1.45x from 1.55x (handlers at 1.3-1.45x in 15-run medians measured 1.5-1.8x
# in one bench of three). Nine runs each, floor and handler in turn: about 2 minutes for 17 handlers.
IMPORT_RUNS = 9


def interleaved_import_ms(python: str, cases: list[tuple[Path, list[Path], str]], runs: int) -> list[float]:
    """Each case's cold import, the median of ``runs``, their runs taken in turn (a floor beside
    the handler it is held against: a burst of load lands on both, not on one case's runs)."""
    samples: list[list[float]] = [[] for _ in cases]
    for _ in range(runs):
        for found, (bundle, path, function) in zip(samples, cases, strict=True):
            found.append(one_import_ms(python, bundle, path, function))
    return [statistics.median(found) for found in samples]


def one_import_ms(python: str, bundle: Path, path: list[Path], function: str) -> float:
    """Cumulative ``-X importtime`` of ``index`` in a fresh interpreter."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join(map(str, [bundle, *path])),  # /var/task, /opt/python, the runtime
        "PYTHONDONTWRITEBYTECODE": "1",  # /var/task and /opt are read-only: nothing is compiled for later
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "LAMBDA_TASK_ROOT": str(bundle),
        "POWERTOOLS_SERVICE_NAME": function,
        # As Lambda sets them with Active tracing: the handlers' tracing is set up at import.
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    }
    done = subprocess.run(  # noqa: S603 - fixed program
        [python, "-S", "-X", "importtime", "-c", "import index"],
        cwd=bundle.parent,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    (line,) = [x for x in done.stderr.splitlines() if x.endswith("| index")]
    return int(line.split("|")[1]) / 1000


@dataclass(frozen=True)
class Package:
    name: str
    zip_bytes: int
    import_ms: float | None = None  # as built: with the bytecode the build ships (lambda_src/build.py)
    floor_ms: float | None = None  # a handler that imports only the runtime's boto3, measured beside it
    import_ms_source: float | None = None  # the same bundle and layer without their bytecode
    duplicates: tuple[str, ...] = ()


def top_level(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if p.name not in {"__pycache__", "__init__.py", "index.py"}}


def bench_lambdas(runs: int) -> list[Package]:
    from cdktf_transactions.packaging import reproducible_zip
    from lambda_src.build import LAYER_DIR, function_dir, functions, python312

    python = python312()
    rows = []
    layer = LAYER_DIR / "python"
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        if python:
            progress("copying and compiling the runtime's boto3 for python3.12")
        runtime = runtime_path(python, scratch)
        floor = scratch / "floor" / "task"
        floor.mkdir(parents=True)
        (floor / "index.py").write_text("import boto3  # the runtime's, and nothing else\n")
        bundles = {f: function_dir(f.stack, f.name) for f in functions()}
        bare_layer = without_bytecode(layer, scratch / "source" / "layer") if python else layer
        for function, bundle in bundles.items():
            name = f"{function.stack}/{function.name}"
            size = reproducible_zip(bundle, scratch / "zips" / name / "archive.zip").stat().st_size
            shipped = floor_ms = source = None
            if python:
                progress(f"lambda {name}: import time")
                # The floor beside each handler, run for run: the machine's load moves both alike.
                bare = without_bytecode(bundle, scratch / "source" / name / "task")
                floor_ms, shipped, source = interleaved_import_ms(
                    python,
                    [
                        (floor, [runtime], "floor"),
                        (bundle, [layer, runtime], function.name),
                        (bare, [bare_layer, runtime], function.name),
                    ],
                    runs,
                )
            duplicates = tuple(sorted(top_level(bundle) & top_level(layer)))
            rows.append(Package(name, size, shipped, floor_ms, source, duplicates))
        layer_zip = reproducible_zip(LAYER_DIR, scratch / "zips" / "layer.zip").stat().st_size
        rows.append(Package("layer (common/, Powertools, OpenTelemetry)", layer_zip))
    return rows


# --- report -----------------------------------------------------------------------------------------


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.machine(),
    )
    memory = int(Path("/proc/meminfo").read_text().split()[1]) / 2**20
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} cores ({model}), {memory:.0f} GiB, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; load average at the end {load}; "
        f"{datetime.now(UTC):%Y-%m-%d}"
    )


def ratio(value: float, floor: float) -> str:
    return f"{value / floor:.2f}x" if floor else "-"


def bench_policies(runs: int) -> list[tuple[int, Measured]]:
    """The policy suite over generated templates of POLICY_SIZES resources (every rule runs; exit 0:
    --min-severity critical only filters the report)."""
    from tools.policy_scale import template

    measured = []
    with tempfile.TemporaryDirectory() as scratch:
        for size in POLICY_SIZES:
            path = Path(scratch) / f"scale-{size}.template.json"
            path.write_text(json.dumps(template(size)))
            progress(f"policies: {size} resources")
            argv = [sys.executable, "-m", "policies", "check", str(path), "--min-severity", "critical"]
            measured.append((size, median([measure([*argv, "--allow-unknown"]) for _ in range(runs)])))
    return measured


def report_policies(measured: list[tuple[int, Measured]]) -> str:
    lines = [
        "| policy suite over | wall s | CPU s | peak MB | ratio to the smallest | target |",
        "|---|---:|---:|---:|---:|---|",
    ]
    (small, first), *_ = measured
    for size, run in measured:
        growth = run.seconds / first.seconds if first.seconds else 0.0
        limit = TARGETS["policies 4x input"] * (size / small) / 4
        target = "" if size == small else f"<= {limit:.1f}x: {'met' if growth <= limit else 'NOT met'}"
        lines.append(
            f"| {size:,} resources | {run.seconds:.2f} | {run.cpu_seconds:.2f} | {run.peak_mb:.0f} | "
            f"{growth:.2f}x | {target} |"
        )
    return "\n".join(lines)


def synth_target(name: str, synth: Measured, floor: Measured) -> str:
    if name not in SYNTH_TARGETS:
        return ""
    verdict = "met" if synth.seconds <= SYNTH_TARGETS[name] * floor.seconds else "NOT met"
    return f"<= {SYNTH_TARGETS[name]}x: {verdict}"


def lambda_report(lambdas: list[Package]) -> list[str]:
    """The Lambda table: each handler's cold import against the floor measured beside it."""
    target = TARGETS["cold import ratio"]
    lines = [
        "| Lambda package | zip KB | cold import ms | floor ms | ratio to floor | target | without .pyc ms "
        "| duplicates the layer |",
        "|---|---:|---:|---:|---:|---|---:|---|",
    ]
    for package in lambdas:

        def ms(value: float | None, package: Package = package) -> str:
            if value is None:
                return "" if package.name.startswith("layer") else "n/a (no python3.12)"
            return f"{value:.0f}"

        verdict = ""
        if package.import_ms is not None and package.floor_ms:
            met = package.import_ms <= target * package.floor_ms
            verdict = f"<= {target}x: {'met' if met else 'NOT met'}"
        lines.append(
            f"| {package.name} | {package.zip_bytes / 1024:.0f} | {ms(package.import_ms)} | "
            f"{ms(package.floor_ms)} | {ratio(package.import_ms or 0, package.floor_ms or 0)} | {verdict} | "
            f"{ms(package.import_ms_source)} | {', '.join(package.duplicates) or 'none'} |"
        )
    return lines


def report(
    stacks,
    make,
    lambdas,
    runs: int,
    validation: dict[str, Measured] | None = None,
    pairs: list[float] | None = None,
    import_runs: int = 0,
) -> str:
    cores = os.cpu_count() or 1
    lines = [
        f"Machine: {machine()}; median of {runs} run(s).",
        "",
        "| what | wall s | CPU s | peak MB | floor s | floor peak MB | ratio to floor | target |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, synth, floor in stacks:
        lines.append(
            f"| synth {name} | {synth.seconds:.1f} | {synth.cpu_seconds:.1f} | {synth.peak_mb:.0f} | "
            f"{floor.seconds:.1f} | {floor.peak_mb:.0f} | {ratio(synth.seconds, floor.seconds)} | "
            f"{synth_target(name, synth, floor)} |"
        )
    notes = []
    if "synth-all" in make and stacks:
        cold = make["synth-all"]
        # Issue 17's floor for the whole: the slowest stack's synth alone, measured right after each
        # `make synth-all` (else the slowest of the stacks' rows); the ratio is the median of the pairs'.
        name, slowest_synth, _ = max(stacks, key=lambda row: row[1].seconds)
        beside = make.get("slowest stack", slowest_synth)
        pairs = pairs or []
        value = statistics.median(pairs) if pairs else cold.seconds / beside.seconds
        verdict = "met" if value <= TARGETS["synth-all ratio"] else "NOT met"
        lines.append(
            f"| `make synth-all`, every stack | {cold.seconds:.1f} | {cold.cpu_seconds:.1f} | "
            f"{cold.peak_mb:.0f} | {beside.seconds:.1f} ({name} alone) | {beside.peak_mb:.0f} | "
            f"{value:.2f}x | <= {TARGETS['synth-all ratio']}x: {verdict} |"
        )
        if pairs:
            notes.append(
                f"`make synth-all` against {name}'s synth run right after it, {len(pairs)} pair(s): "
                f"median {value:.2f}x, from {min(pairs):.2f}x to {max(pairs):.2f}x."
            )
        # No schedule beats the stacks' own CPU time spread over every core, nor the longest stack.
        bound = max(max(s.seconds for _, s, _ in stacks), sum(s.cpu_seconds for _, s, _ in stacks) / cores)
        slowest = max(s.seconds for _, s, _ in stacks)
        notes.append(
            f"`make synth-all` against the slowest stack's synth in the rows above ({slowest:.1f} s, "
            f"measured minutes apart): {ratio(cold.seconds, slowest)}."
        )
        notes.append(
            f"`make synth-all` against what {cores} cores allow (the longest stack, or the stacks' CPU "
            f"time over {cores} cores): {bound:.1f} s, ratio {ratio(cold.seconds, bound)}."
        )
    if "synth-all no-op" in make:
        noop = make["synth-all no-op"]
        verdict = "met" if noop.seconds < 1 else "NOT met"
        lines.append(
            f"| `make synth-all` again, nothing changed | {noop.seconds:.2f} | {noop.cpu_seconds:.2f} | "
            f"{noop.peak_mb:.0f} | | | | < 1 s: {verdict} |"
        )
    if "make test" in make:
        test = make["make test"]
        verdict = "met" if test.seconds < TARGETS["make test s"] else "NOT met"
        lines.append(
            f"| `make test` | {test.seconds:.1f} | {test.cpu_seconds:.1f} | {test.peak_mb:.0f} | | | | "
            f"< {TARGETS['make test s']:.0f} s: {verdict} |"
        )
    peak = max([m.peak_mb for m in make.values()] + [s.peak_mb for _, s, _ in stacks] or [0])
    verdict = "met" if peak < TARGETS["peak MB"] else "NOT met"
    notes.append(f"Largest peak: {peak:.0f} MB (target < {TARGETS['peak MB']:.0f} MB: {verdict}).")
    payments_floor = next((f for name, _, f in stacks if name == "cdk_payments"), None)
    cdktf_floor = next((f for name, _, f in stacks if name == "cdktf_transactions"), None)
    notes += payments_validation_notes(validation or {}, payments_floor, cdktf_floor)
    lines += ["", *notes]
    lines += ["", *lambda_report(lambdas)]
    if import_runs:
        lines += ["", f"Cold imports: the median of {import_runs} runs each, taken in turn with the floor's."]
    return "\n".join(lines)


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a whole number of runs, at least 1: {text!r}")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="runs per measurement (the median is reported)")
    parser.add_argument(
        "--import-runs",
        type=positive,
        default=IMPORT_RUNS,
        help=f"runs of each handler's cold import and its floor (default {IMPORT_RUNS}; about 0.2 s each)",
    )
    parser.add_argument("--no-test", action="store_true", help="leave `make test` out (it takes a minute)")
    parser.add_argument("--policies-only", action="store_true", help="only the policy suite's table")
    args = parser.parse_args(argv)
    policies = report_policies(bench_policies(args.runs))
    if args.policies_only:
        print(policies)
        return 0
    env = environment()
    stacks = bench_stacks(args.runs, env)
    validation = bench_payments_validation(args.runs, env)
    slowest = max(stacks, key=lambda row: row[1].seconds)[0] if stacks else None
    make, pairs = bench_make(args.runs, env, with_test=not args.no_test, slowest=slowest)
    lambdas = bench_lambdas(args.import_runs)
    print(report(stacks, make, lambdas, args.runs, validation, pairs, import_runs=args.import_runs))
    print()
    print(policies)
    return 1 if any(package.duplicates for package in lambdas) else 0


if __name__ == "__main__":
    raise SystemExit(main())
