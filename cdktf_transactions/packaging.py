"""Reproducible Lambda zips: the same files give the same bytes, so an unchanged source deploys nothing.

cdktf's ``AssetType.ARCHIVE`` zips a folder with each file's modification time, mode and
directory order, and ``lambda_src/build.py`` rewrites ``build/lambda/`` (fresh mtimes) whenever
any Lambda source changes: every rebuild changed every zip, its ``filebase64sha256`` and so
every function and the layer on the next apply. These zips hold sorted paths, one fixed
timestamp and normalised modes; they are handed to cdktf as ``AssetType.FILE`` (copied as is).

A zip is written again only when what it holds changed: ``<zip>.sources`` records the digest of its
entries (names, modes, bytes) and the zip's size and mtime; compressing the bundles and the layer
at level 9 was a tenth of every transactions synth (issue 17).

A zip holds the bytecode the build compiles for the Lambda runtime (``__pycache__/*.cpython-312.pyc``,
``lambda_src/build.py``), as the CDK and Pulumi stacks ship it: ``/var/task`` and ``/opt`` are
read-only, so without it every cold start compiles what it imports (docs/performance.md). Bytecode
of any other Python (a test or tool that imported a bundle) stays out.
"""

from __future__ import annotations

import hashlib
import os
import stat
import zipfile
from pathlib import Path

from lambda_src.build import BYTECODE_SUFFIX

ROOT = Path(__file__).resolve().parents[1]
ZIPS = ROOT / "build" / "cdktf_transactions"  # next to build/lambda/, never inside it
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold
ARCHIVE_NAME = "archive.zip"  # the name the output contract (docs/synth.md) promises under assets/


def _included(path: Path) -> bool:
    if not path.is_file():
        return False
    if "__pycache__" in path.parts:
        return path.parent.name == "__pycache__" and path.name.endswith(BYTECODE_SUFFIX)
    return path.suffix != ".pyc"


def _mode(path: Path) -> int:
    return stat.S_IFREG | (0o755 if path.stat().st_mode & 0o111 else 0o644)


def _sources_digest(files: list[tuple[str, Path]]) -> str:
    """sha256 over each entry's name, mode and bytes: what decides the zip's bytes."""
    h = hashlib.sha256()
    for name, path in files:
        h.update(f"{name}\0{_mode(path):o}\0".encode())
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def _stamp(digest: str, target: Path) -> str:
    status = target.stat()
    return f"{digest} {status.st_size} {status.st_mtime_ns}\n"


def reproducible_zip(source: Path, target: Path) -> Path:
    """Zip the files under ``source`` into ``target`` (replaced atomically) unless ``target`` already
    holds them; returns ``target``."""
    files = sorted((p.relative_to(source).as_posix(), p) for p in source.rglob("*") if _included(p))
    if not files:
        raise FileNotFoundError(f"nothing to package in {source}: run `make lambdas`")
    digest = _sources_digest(files)
    recorded = target.with_name(f"{target.name}.sources")
    try:
        if recorded.read_text() == _stamp(digest, target):
            return target
    except FileNotFoundError:
        pass
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    with zipfile.ZipFile(partial, "w") as archive:
        for name, path in files:
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.create_system = 3  # Unix, whatever builds it, so the modes below are read
            info.external_attr = _mode(path) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    partial.replace(target)
    partial_stamp = recorded.with_name(f"{recorded.name}.{os.getpid()}.partial")
    partial_stamp.write_text(_stamp(digest, target))
    partial_stamp.replace(recorded)
    return target


def package(source: Path, name: str) -> Path:
    """``build/cdktf_transactions/<name>/archive.zip`` of ``source``."""
    return reproducible_zip(source, ZIPS / name / ARCHIVE_NAME)
