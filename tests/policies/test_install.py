"""The suite as teams install it: `pip install` gives a `policies` command (pyproject's console
script) and the pre-commit hook runs that command."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_console_script_is_the_command_line() -> None:
    from policies.__main__ import main

    module, _, function = PYPROJECT["project"]["scripts"]["policies"].partition(":")
    assert getattr(importlib.import_module(module), function) is main


def test_every_package_of_the_suite_is_installed_and_nothing_else() -> None:
    """setuptools installs exactly the listed packages: a new subpackage must be listed."""
    on_disk = sorted(
        ".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "policies").rglob("__init__.py")
    )
    assert sorted(PYPROJECT["tool"]["setuptools"]["packages"]) == on_disk
    assert PYPROJECT["project"]["dependencies"] == []  # the standard library only
    requires = PYPROJECT["build-system"]["requires"]
    assert all("==" in r for r in requires), requires


def test_the_pre_commit_hook_runs_the_console_script() -> None:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "policies" and hook["language"] == "python"
    assert hook["entry"].split()[0] in PYPROJECT["project"]["scripts"]
    assert hook["entry"].split()[1] == "check"
