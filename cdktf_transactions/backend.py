"""Where the stack's local Terraform state lives, how older layouts move there, and what a deploy
checks before Terraform plans (no cdktn here: the Makefile runs this before a synth).

Local state (no TRANSACTIONS_STATE_BUCKET) is ``<state dir>/<region>/transactions-<env>.tfstate``
(default state dir ``cdktf_transactions/state/``, git-ignored): outside ``out/``, which every
``make synth-*`` and ``make clean`` delete, and one file per region, so the same environment in a
second region never reads the first one's state. Earlier layouts, moved here when found:

- ``out/cdktf_transactions/stacks/transactions-<env>/terraform.transactions-<env>.tfstate``
  (until 40b4ea3: the backend path was relative to the stack's output folder);
- ``<state dir>/transactions-<env>.tfstate`` (until the region joined the path).

A state file goes to the folder of the region its resources' ARNs name (the configured region when
it has none), with its ``.backup``; a stack folder's ``.terraform/terraform.tfstate`` that still
records the old path is removed (what ``terraform init -reconfigure`` does), so the next init
configures the new path instead of stopping at "Backend configuration changed". Two different
states for one stack and region are refused, never merged.

A deploy with local state and no state file is refused unless TRANSACTIONS_NEW_STACK=1 says the
stack was never deployed in this account and region: Terraform would plan every resource as new,
then create the unnamed ones (a second VPC) and fail on the named ones that already exist.

Terraform's provider lock file, ``.terraform.lock.hcl``, is written by ``terraform init`` into the
stack's output folder, which every ``make synth-*`` deletes: after a deploy, plan or destroy it is
kept as ``cdktf_transactions/.terraform.lock.hcl`` (commit it, as Terraform advises), and the app
copies it into a stack folder that has none, so the next init installs the same provider builds.

    python -m cdktf_transactions.backend [--outdir out/cdktf_transactions] [--state-dir DIR]
    python -m cdktf_transactions.backend --keep-lock transactions-<env>
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from cdktf_transactions.config import DEFAULT_REGION, STATE_DIR, ConfigError, TransactionsConfig

ROOT = Path(__file__).resolve().parents[1]
OUTDIR = ROOT / "out" / "cdktf_transactions"  # cdktf.json's output, and the Makefile's synth
REGION_OF_ARN = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:([a-z]{2}(?:-[a-z]+)+-\d+):")


LOCK_FILE = ".terraform.lock.hcl"
KEPT_LOCK_FILE = ROOT / "cdktf_transactions" / LOCK_FILE  # outside out/, committed


class StateError(ConfigError):
    """The local state is missing, ambiguous or in use; the message says what to do."""


def state_file(state_dir: Path, region: str, stack: str) -> Path:
    return state_dir / region / f"{stack}.tfstate"


def legacy_state_files(outdir: Path, state_dir: Path) -> list[tuple[str, Path]]:
    """``(stack, file)`` for every state file in an earlier layout."""
    found = [
        (folder.name, folder / f"terraform.{folder.name}.tfstate")
        for folder in sorted((outdir / "stacks").glob("transactions-*"))
        if (folder / f"terraform.{folder.name}.tfstate").is_file()
    ]
    found += [(path.stem, path) for path in sorted(state_dir.glob("transactions-*.tfstate"))]
    return found


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def regions_of(state: Mapping[str, Any]) -> set[str]:
    """The regions the ARNs of a state's managed resources name (IAM's carry none)."""
    regions = set()
    for resource in state.get("resources", []):
        if resource.get("mode") != "managed":  # data sources may read another region
            continue
        for instance in resource.get("instances", []):
            for text in _strings(instance.get("attributes", {})):
                if match := REGION_OF_ARN.match(text):
                    regions.add(match.group(1))
    return regions


def _read_state(path: Path) -> dict[str, Any]:
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise StateError(f"{path}: not a readable Terraform state ({exc}); move it aside by hand") from exc
    if not isinstance(state, dict) or "lineage" not in state:
        raise StateError(f"{path}: not a Terraform state (no lineage); move it aside by hand")
    return state


def _forget_backend_record(outdir: Path, moved: Path) -> None:
    """Remove a stack folder's record of a local backend at ``moved`` (terraform init -reconfigure)."""
    for record in (outdir / "stacks").glob("*/.terraform/terraform.tfstate"):
        try:
            backend = json.loads(record.read_text()).get("backend") or {}
        except (OSError, ValueError):
            continue
        path = (backend.get("config") or {}).get("path")
        stack_dir = record.parents[1]
        if backend.get("type") == "local" and path and (stack_dir / path).resolve() == moved.resolve():
            record.unlink()


def migrate_legacy_states(outdir: Path, state_dir: Path, default_region: str = DEFAULT_REGION) -> list[str]:
    """Move every state file of an earlier layout to ``<state_dir>/<region>/``; one line per move."""
    moved = []
    for stack, legacy in legacy_state_files(outdir, state_dir):
        state = _read_state(legacy)
        regions = regions_of(state)
        if len(regions) > 1:
            raise StateError(f"{legacy}: resources in {', '.join(sorted(regions))}; split it by hand")
        region = next(iter(regions), default_region)
        target = state_file(state_dir, region, stack)
        if (legacy.parent / f".{legacy.name}.lock.info").exists():
            raise StateError(f"{legacy} is locked: Terraform is running on it; run again when it is done")
        if target.exists():
            if target.read_bytes() == legacy.read_bytes():
                legacy.unlink()
                _forget_backend_record(outdir, legacy)
                continue
            serials = f"serial {_read_state(target).get('serial')} and {state.get('serial')}"
            raise StateError(
                f"{stack} in {region} has two states: {target} and {legacy} (an earlier layout), "
                f"{serials}. Keep the one Terraform wrote last (the higher serial of one lineage) "
                "at the first path and delete the other"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", ".backup"):
            source = legacy.with_name(legacy.name + suffix)
            if source.exists():
                shutil.move(source, target.with_name(target.name + suffix))
        _forget_backend_record(outdir, legacy)
        moved.append(f"{stack}: local state moved from {legacy} to {target}")
    return moved


def require_state(config: TransactionsConfig) -> None:
    """Refuse a deploy that would plan every resource as new because the local state is missing."""
    if config.state_bucket or config.new_stack:
        return
    path = state_file(config.state_dir, config.region, config.stack_name)
    if path.exists():
        return
    raise StateError(
        f"{config.stack_name} in {config.region}: no Terraform state at {path} and no "
        "TRANSACTIONS_STATE_BUCKET, so Terraform would plan every resource as new (a second VPC, "
        "then errors on the names that exist). If it was deployed from an older checkout, its state "
        f"was out/cdktf_transactions/stacks/{config.stack_name}/terraform.{config.stack_name}.tfstate "
        f"or {config.state_dir}/{config.stack_name}.tfstate: put that file back (from a backup if a "
        "synth deleted it) and run again; it is moved here. If the stack was never deployed in this "
        "account and region, set TRANSACTIONS_NEW_STACK=1. "
        "(To synthesize only: make synth-cdktf-transactions.)"
    )


def restore_lock_file(stack_dir: Path, kept: Path | None = None) -> bool:
    """Copy the kept lock file into a synthesized stack folder that has none (a folder's own one
    is newer: an init wrote it since)."""
    kept = kept or KEPT_LOCK_FILE
    target = stack_dir / LOCK_FILE
    if not kept.is_file() or target.exists() or not stack_dir.is_dir():
        return False
    shutil.copyfile(kept, target)
    return True


def keep_lock_file(stack_dir: Path, kept: Path | None = None) -> str | None:
    """After Terraform ran in ``stack_dir``: its lock file, when new or changed, becomes the kept one."""
    kept = kept or KEPT_LOCK_FILE
    written = stack_dir / LOCK_FILE
    if not written.is_file() or (kept.is_file() and kept.read_bytes() == written.read_bytes()):
        return None
    shutil.copyfile(written, kept)
    return (
        f"{kept.relative_to(ROOT) if kept.is_relative_to(ROOT) else kept}: provider lock updated; commit it"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Move local state of earlier layouts out of out/.")
    parser.add_argument("--outdir", type=Path, default=OUTDIR, help="the synth output (cdktf.json)")
    state_dir = os.environ.get("TRANSACTIONS_STATE_DIR") or STATE_DIR
    parser.add_argument("--state-dir", type=Path, default=state_dir)
    parser.add_argument(
        "--region",
        default=os.environ.get("TRANSACTIONS_REGION") or DEFAULT_REGION,
        help="for a state whose ARNs name no region",
    )
    parser.add_argument("--keep-lock", metavar="STACK", help="keep the lock file Terraform wrote for STACK")
    args = parser.parse_args(argv)
    if args.keep_lock:
        if line := keep_lock_file(args.outdir / "stacks" / args.keep_lock):
            print(line, file=sys.stderr)
        return 0
    try:
        for line in migrate_legacy_states(args.outdir, args.state_dir, args.region):
            print(line, file=sys.stderr)
    except StateError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
