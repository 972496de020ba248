"""jsii's runtime index of the AWS provider is built once per machine (cdktf_transactions/
runtime_index.py; issue 17): without it every transactions synth parses the provider's whole
155 MB assembly, and no synth with the provider loaded as used lives long enough to build it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import jsii
import pytest

from cdktf_transactions import runtime_index

ROOT = Path(__file__).resolve().parents[2]


def test_jsii_has_built_its_runtime_index_of_the_installed_provider():
    """`make test` built it before pytest started (ensure is then a no-op); run alone on a fresh
    machine, ensure builds it here. Red when jsii no longer writes the manifest this waits for."""
    assert not runtime_index.ensure(timeout=60).startswith("warning"), "see runtime_index.MANIFEST"
    root = runtime_index.cache_root()
    assert root is not None, "JSII_RUNTIME_PACKAGE_CACHE is disabled in this environment"
    assert runtime_index.is_built(root, runtime_index.provider_version())
    assert runtime_index.ensure() == ""  # built: nothing to do, nothing said


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"JSII_RUNTIME_PACKAGE_CACHE": "disabled"}, None),
        (
            {"JSII_RUNTIME_PACKAGE_CACHE": "Enabled"},
            Path.home() / ".cache" / "aws" / "jsii" / "package-cache",
        ),
        ({"JSII_VALIDATE_ASSEMBLIES": "1"}, None),  # the kernel then never builds an index
        ({"JSII_RUNTIME_PACKAGE_CACHE_ROOT": "/srv/jsii"}, Path("/srv/jsii")),
        ({}, Path.home() / ".cache" / "aws" / "jsii" / "package-cache"),  # Linux, as @jsii/kernel
    ],
    ids=["disabled", "enabled-any-case", "validating", "root-set", "default"],
)
def test_the_cache_root_is_where_jsii_keeps_its_packages(environ, expected):
    assert runtime_index.cache_root(environ) == expected


def test_a_disabled_package_cache_is_left_alone():
    assert runtime_index.ensure({"JSII_RUNTIME_PACKAGE_CACHE": "disabled"}) == ""


@pytest.mark.parametrize(
    "target", ["test", "bench", "check", "plan-cdktf-transactions", "deploy-cdktf-transactions"]
)
def test_make_builds_the_index_before_a_target_that_loads_the_provider(target):
    """The synth targets build it in tools/synth.py (tests/tools/test_synth.py holds that), but only
    when the transactions stack is stale: `make check`'s `cdktn synth --hcl` runs the app anyway."""
    commands = subprocess.run(
        ["make", "--no-print-directory", "-n", target, "FORCE=1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert "-m cdktf_transactions.runtime_index" in commands, commands


def test_the_manifest_is_the_one_the_installed_kernel_writes():
    """A jsii upgrade that moves to RUNTIME_INDEX_VERSION 2 writes .jsii.runtime.v2.json: with v1
    still on disk, ensure would call the index built and every synth would parse the assembly."""
    program = Path(jsii.__file__).with_name("_embedded") / "jsii" / "lib__program.js"
    text = program.read_text(encoding="utf-8")
    (version,) = set(re.findall(r"RUNTIME_INDEX_VERSION=(\d+);", text))
    (name,) = set(re.findall(r"function manifestFileName\(\w+\)\{return`([^`]*)`\}", text))
    assert name.replace("${e}", version) == runtime_index.MANIFEST
