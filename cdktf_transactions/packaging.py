"""Reproducible Lambda zips: the same files give the same bytes, so an unchanged source deploys nothing.

cdktf's ``AssetType.ARCHIVE`` zips a folder with each file's modification time, mode and
directory order, and ``lambda_src/build.py`` rewrites ``build/lambda/`` (fresh mtimes) whenever
any Lambda source changes: every rebuild changed every zip, its ``filebase64sha256`` and so
every function and the layer on the next apply. These zips hold sorted paths, one fixed
timestamp and normalised modes; they are handed to cdktf as ``AssetType.FILE`` (copied as is).
"""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ZIPS = ROOT / "build" / "cdktf_transactions"  # next to build/lambda/, never inside it
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold
ARCHIVE_NAME = "archive.zip"  # the name the output contract (docs/synth.md) promises under assets/


def _included(path: Path) -> bool:
    return path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"


def reproducible_zip(source: Path, target: Path) -> Path:
    """Zip the files under ``source`` into ``target`` (replaced atomically); returns ``target``."""
    files = sorted((p.relative_to(source).as_posix(), p) for p in source.rglob("*") if _included(p))
    if not files:
        raise FileNotFoundError(f"nothing to package in {source}: run `make lambdas`")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    with zipfile.ZipFile(partial, "w") as archive:
        for name, path in files:
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.create_system = 3  # Unix, whatever builds it, so the modes below are read
            executable = path.stat().st_mode & 0o111
            info.external_attr = (stat.S_IFREG | (0o755 if executable else 0o644)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    partial.replace(target)
    return target


def package(source: Path, name: str) -> Path:
    """``build/cdktf_transactions/<name>/archive.zip`` of ``source``."""
    return reproducible_zip(source, ZIPS / name / ARCHIVE_NAME)
