"""The toolchain the Makefile promises: Node 22 from node_modules first on PATH (jsii runs on it)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_node_on_path_is_the_pinned_node_22():
    node = shutil.which("node")
    assert node and Path(node).resolve().is_relative_to(ROOT / "node_modules"), node
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith("v22."), version
