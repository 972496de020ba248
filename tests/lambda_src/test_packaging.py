"""What each function imports is what its requirements.txt (or the shared layer) ships."""

from __future__ import annotations

import ast
import sys
from importlib import metadata

import pytest

from lambda_src.build import SRC, canonical, functions, layer_requirements, read_requirements

# Shipped by the python3.12 Lambda runtime itself.
RUNTIME_PROVIDED = {"boto3", "botocore", "jmespath", "s3transfer", "urllib3", "dateutil", "six"}
LOCAL = {"common"}


def imported_modules(path):
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
    return modules


def third_party(modules):
    return {m for m in modules if m not in sys.stdlib_module_names and m not in RUNTIME_PROVIDED | LOCAL}


def distributions_of(modules):
    mapping = metadata.packages_distributions()
    return {canonical(mapping[m][0]) for m in modules}


@pytest.mark.catalogue("payments-05")
@pytest.mark.parametrize("function", functions(), ids=lambda f: f"{f.stack}/{f.name}")
def test_requirements_cover_every_import(function):
    """Fix: a function's requirements.txt names every distribution its code imports beyond the runtime."""
    needed = distributions_of(third_party(imported_modules(function.source / "index.py")))
    assert needed <= set(function.requirements), (
        f"missing from requirements.txt: {needed - set(function.requirements)}"
    )


def test_shared_code_needs_only_the_layer():
    needed = set()
    for path in (SRC / "common").glob("*.py"):
        needed |= distributions_of(third_party(imported_modules(path)))
    assert needed <= set(layer_requirements())


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
