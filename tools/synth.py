"""Synthesize the stacks into out/ (docs/synth.md: output contract), in parallel and incrementally.

One process per framework, all at once: the CDK CLI for cdk_payments, the CDK Terrain app for
cdktf_transactions, and one process that runs both Pulumi programs one after the other
(``python -m pulumi_offline``). A stack is synthesized again only when one of its inputs changed:
its folder, the Lambda sources it packages, the shared code it imports, the pinned versions
(pyproject.toml, package.json, package-lock.json), the interpreter, or its settings (ENV / STACK,
TRANSACTIONS_*, the account and region the CDK CLI would use). ``build/synth/<stack>.json`` records
the digest of those inputs and the files the synth wrote; when both still match, the stack is
current. A run with every stack current does nothing and prints nothing.

    python -m tools.synth [--env dev] [--stack dev] [--force] [STACK ...]
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAMPS = ROOT / "build" / "synth"
PINS = ("pyproject.toml", "package.json", "package-lock.json")
# Not inputs: caches, local Terraform state, outputs of older layouts.
SKIPPED_DIRS = frozenset({"__pycache__", "state", "cdk.out", "cdktf.out", ".pytest_cache"})
# What the CDK CLI reads to pick the account and region it passes to the app (the key id, not
# the secret, names the account's credentials; only a digest of it is kept).
CDK_ENVIRONMENT = (
    "CDK_DEFAULT_ACCOUNT",
    "CDK_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
)


@dataclass(frozen=True)
class Options:
    env: str = "dev"  # CDK context env / TRANSACTIONS_ENV
    stack: str = "dev"  # Pulumi stack (Pulumi.<stack>.yaml)
    environ: Mapping[str, str] | None = None  # the caller's environment (os.environ when None)
    # `make check`: the payments synth runs every validation, AWS Control Tower's proactive controls
    # and CDK's built-in CloudFormation validation too; otherwise only cdk-nag's packs (README).
    checks: bool = False

    @property
    def variables(self) -> Mapping[str, str]:
        return os.environ if self.environ is None else self.environ


@dataclass(frozen=True)
class Stack:
    name: str
    framework: str  # cdk | cdktf | pulumi: stacks of one framework share a process
    inputs: tuple[str, ...]  # files and folders, relative to the repo root
    output: str  # what the synth writes (a folder or a file), relative to the repo root
    settings: Callable[[Options], dict[str, str]]


def _lambda_inputs(stack: str) -> tuple[str, ...]:
    return ("lambda_src/__init__.py", "lambda_src/build.py", "lambda_src/common", f"lambda_src/{stack}")


def _cdk_settings(options: Options) -> dict[str, str]:
    return {
        "env": options.env,
        "checks": str(options.checks),  # a checked synth writes another validation report
        **{k: options.variables.get(k, "") for k in CDK_ENVIRONMENT},
    }


def _cdktf_settings(options: Options) -> dict[str, str]:
    settings = {k: v for k, v in options.variables.items() if k.startswith(("TRANSACTIONS_", "CDKTF_"))}
    settings["TRANSACTIONS_ENV"] = options.env  # as the Makefile sets it, whatever the caller had
    return settings


def _pulumi_settings(options: Options) -> dict[str, str]:
    return {"stack": options.stack, "SOURCE_DATE_EPOCH": options.variables.get("SOURCE_DATE_EPOCH", "")}


STACKS = {
    stack.name: stack
    for stack in (
        Stack(
            "cdk_payments",
            "cdk",
            ("cdk_payments", *_lambda_inputs("cdk_payments")),
            "out/cdk_payments",
            _cdk_settings,
        ),
        Stack(
            "cdktf_transactions",
            "cdktf",
            ("cdktf_transactions", *_lambda_inputs("cdktf_transactions")),
            "out/cdktf_transactions",
            _cdktf_settings,
        ),
        Stack(
            "pulumi_fraud_pipeline",
            "pulumi",
            ("pulumi_fraud_pipeline", "pulumi_offline", *_lambda_inputs("pulumi_fraud_pipeline")),
            "out/pulumi_fraud_pipeline/resources.json",
            _pulumi_settings,
        ),
        Stack(
            "pulumi_trading_dr",
            "pulumi",
            ("pulumi_trading_dr", "pulumi_offline", *_lambda_inputs("pulumi_trading_dr")),
            "out/pulumi_trading_dr/resources.json",
            _pulumi_settings,
        ),
    )
}


def _files(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
        return
    for entry in sorted(path.iterdir()) if path.is_dir() else ():
        if entry.is_dir():
            if entry.name not in SKIPPED_DIRS:
                yield from _files(entry)
        elif entry.suffix != ".pyc":
            yield entry


def input_digest(stack: Stack, options: Options, root: Path = ROOT) -> str:
    """sha256 over the stack's input files (paths and bytes), the pins, the interpreter, the settings."""
    h = hashlib.sha256()
    for name in (*stack.inputs, *PINS, "tools/synth.py"):
        for path in _files(root / name):
            h.update(path.relative_to(root).as_posix().encode() + b"\0")
            h.update(hashlib.sha256(path.read_bytes()).digest())
    h.update(sys.version.encode())
    h.update(json.dumps(stack.settings(options), sort_keys=True).encode())
    return h.hexdigest()


def output_files(stack: Stack, root: Path = ROOT) -> dict[str, list[int]]:
    """Every file the synth wrote: relative path -> [size, mtime in ns]."""
    result = {}
    for path in _files(root / stack.output):
        status = path.stat()
        result[path.relative_to(root).as_posix()] = [status.st_size, status.st_mtime_ns]
    return result


def stamp_path(stack: Stack, root: Path = ROOT) -> Path:
    return root / STAMPS.relative_to(ROOT) / f"{stack.name}.json"


def is_current(stack: Stack, digest: str, root: Path = ROOT) -> bool:
    """The stamp records these inputs, and every file it lists is still as the synth left it."""
    try:
        stamp = json.loads(stamp_path(stack, root).read_text())
    except (FileNotFoundError, ValueError):
        return False
    if stamp.get("inputs") != digest or not stamp.get("outputs"):
        return False
    for name, (size, mtime) in stamp["outputs"].items():
        try:
            status = (root / name).stat()
        except FileNotFoundError:
            return False
        if [status.st_size, status.st_mtime_ns] != [size, mtime]:
            return False
    return True


def write_stamp(stack: Stack, digest: str, root: Path = ROOT) -> None:
    path = stamp_path(stack, root)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps({"inputs": digest, "outputs": output_files(stack, root)}, indent=1))
    partial.replace(path)


@contextmanager
def locked(stacks: list[Stack], root: Path = ROOT) -> Iterator[None]:
    """One synth per stack at a time (make -j with overlapping targets); sorted, so no deadlock."""
    (root / STAMPS.relative_to(ROOT)).mkdir(parents=True, exist_ok=True)
    with ExitStack() as held:
        for stack in sorted(stacks, key=lambda s: s.name):
            handle = held.enter_context(stamp_path(stack, root).with_suffix(".lock").open("w"))
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


@dataclass
class Job:
    framework: str
    stacks: list[Stack]
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    relay: bool  # the process prints its own stage lines (pulumi_offline); else one line at the end
    # In the job's thread, before its process, with the printer the jobs' lines go through.
    prepare: Callable[[Callable[[str], None]], None] | None = None


def _fresh_cdktf_outdir() -> None:
    """The app writes only the last folder of its outdir, and afresh; a local Terraform state an
    earlier layout kept there is moved out first (cdktf_transactions/backend.py), never deleted."""
    outdir = ROOT / "out" / "cdktf_transactions"
    if any(outdir.glob("stacks/transactions-*/terraform.transactions-*.tfstate")):
        from cdktf_transactions import backend

        if backend.main(["--outdir", str(outdir)]):
            raise SystemExit("out/cdktf_transactions holds a Terraform state that could not be moved out")
    shutil.rmtree(outdir, ignore_errors=True)
    (ROOT / "out").mkdir(exist_ok=True)


def child_environment(options: Options) -> dict[str, str]:
    env = dict(options.variables)
    # The Makefile's PATH, also when run directly: Node 22 and the CDK CLI first, then this venv.
    env["PATH"] = os.pathsep.join(
        [str(ROOT / "node_modules" / ".bin"), str(Path(sys.executable).parent), env.get("PATH", "")]
    )
    env["PYTHONUNBUFFERED"] = "1"  # stage lines as they happen
    return env


def _prepare_cdktf(env: Mapping[str, str], say: Callable[[str], None]) -> None:
    """jsii's runtime index of the AWS provider (once per machine; the job's own thread, so only the
    transactions synth waits for it), then a fresh outdir."""
    from cdktf_transactions import runtime_index

    if line := runtime_index.ensure(env):
        if line.startswith("warning"):
            print(line, file=sys.stderr, flush=True)
        else:
            say(line)  # whole, between the other jobs' lines
    _fresh_cdktf_outdir()


def jobs_for(stacks: list[Stack], options: Options) -> list[Job]:
    from lambda_src.build import ensure

    # The bundles every framework's assets point at, built here once before the processes start
    # (each app's own build() is then a no-op), with the line `make lambdas` prints when it builds.
    if line := ensure():
        print(line, flush=True)
    env = child_environment(options)
    jobs = []
    by_framework: dict[str, list[Stack]] = {}
    for stack in stacks:
        by_framework.setdefault(stack.framework, []).append(stack)
    if "cdk" in by_framework:
        checks = "true" if options.checks else "false"
        argv = ["cdk", "synth", "--quiet", "--no-notices", "-c", f"env={options.env}"]
        argv += ["-c", f"control_tower_checks={checks}"]  # about 4 s: cfn-guard over every template
        # CDK's built-in CloudFormation validation (a WASM engine, about 3.5 s per synth) only warns
        # by default; cfn-lint checks the same templates in the test session and in `make check`.
        cdk_env = {**env, "CDK_VALIDATION": checks}
        jobs.append(Job("cdk", by_framework["cdk"], argv, ROOT / "cdk_payments", cdk_env, relay=False))
    if "cdktf" in by_framework:
        cdktf_env = {
            **env,
            **_cdktf_settings(options),
            "TRANSACTIONS_ALARM_EMAIL": env.get("TRANSACTIONS_ALARM_EMAIL", ""),
            "CDKTF_OUTDIR": "../out/cdktf_transactions",
            "PYTHONPATH": "..",
        }
        argv = [sys.executable, "-P", "main.py"]
        jobs.append(
            Job(
                "cdktf",
                by_framework["cdktf"],
                argv,
                ROOT / "cdktf_transactions",
                cdktf_env,
                relay=False,
                prepare=lambda say: _prepare_cdktf(cdktf_env, say),
            )
        )
    if "pulumi" in by_framework:
        names = [stack.name for stack in by_framework["pulumi"]]
        argv = [sys.executable, "-m", "pulumi_offline", "--stack", options.stack, *names]
        jobs.append(Job("pulumi", by_framework["pulumi"], argv, ROOT, env, relay=True))
    return jobs


class Printer:
    """Whole lines from several threads, never interleaved."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __call__(self, line: str) -> None:
        with self._lock:
            print(line, flush=True)


def run_job(job: Job, say: Printer) -> bool:
    if job.prepare:
        job.prepare(say)
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603 - fixed programs
        job.argv, cwd=job.cwd, env=job.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    captured = []
    assert process.stdout is not None
    for line in process.stdout:
        line = line.rstrip("\n")
        if job.relay:
            say(line)
        elif line.strip():
            captured.append(line)
    ok = process.wait() == 0
    elapsed = time.monotonic() - started
    if not job.relay:
        (stack,) = job.stacks
        status = f"synthesized {stack.output}/" if ok else f"FAILED ({' '.join(job.argv)})"
        say("\n".join([f"{stack.name}: {status} in {elapsed:.1f} s", *(f"  {line}" for line in captured)]))
    elif not ok:
        say(f"{', '.join(s.name for s in job.stacks)}: FAILED ({' '.join(job.argv)}) in {elapsed:.1f} s")
    return ok


def synthesize(
    names: list[str],
    options: Options,
    force: bool = False,
    root: Path = ROOT,
    make_jobs: Callable[[list[Stack], Options], list[Job]] = jobs_for,
) -> int:
    """Synthesize the stale ones of ``names``; 0 when all are current afterwards."""
    stacks = [STACKS[name] for name in names]
    started = time.monotonic()
    with locked(stacks, root):
        digests = {stack.name: input_digest(stack, options, root) for stack in stacks}
        stale = [s for s in stacks if force or not is_current(s, digests[s.name], root)]
        if not stale:
            return 0
        for stack in stale:  # an interrupted synth must not leave a stamp that says current
            stamp_path(stack, root).unlink(missing_ok=True)
        say = Printer()
        jobs = make_jobs(stale, options)
        results: dict[int, bool] = {}
        threads = [
            threading.Thread(target=lambda i=i, job=job: results.__setitem__(i, run_job(job, say)))
            for i, job in enumerate(jobs)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for i, job in enumerate(jobs):
            if results.get(i):
                for stack in job.stacks:
                    write_stamp(stack, digests[stack.name], root)
    failed = [job.framework for i, job in enumerate(jobs) if not results.get(i)]
    current = len(stacks) - len(stale)
    say(
        f"synth: {len(stale)} of {len(stacks)} stacks in {time.monotonic() - started:.1f} s"
        + (f" ({current} current)" if current else "")
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stacks", nargs="*", metavar="STACK", help=f"of {', '.join(STACKS)} (default: all)")
    parser.add_argument("--env", default="dev", help="CDK context env and TRANSACTIONS_ENV (make ENV=)")
    parser.add_argument("--stack", default="dev", help="the Pulumi stack, Pulumi.<stack>.yaml (make STACK=)")
    parser.add_argument("--force", action="store_true", help="synthesize even what is current")
    parser.add_argument(
        "--checks", action="store_true", help="every validation in the payments synth (make check)"
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.stacks) - STACKS.keys())
    if unknown:
        parser.error(f"unknown stack: {', '.join(unknown)}")
    options = Options(env=args.env, stack=args.stack, checks=args.checks)
    return synthesize(args.stacks or list(STACKS), options, force=args.force)


if __name__ == "__main__":
    raise SystemExit(main())
