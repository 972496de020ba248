"""``python -m pulumi_offline``, the batch ``make synth-all`` runs (issue 17): the cyclic garbage
collector is off while the programs run and on again when the batch ends, also when it fails."""

from __future__ import annotations

import gc
import sys
import types

import pytest

import lambda_src.build
import pulumi_offline
from pulumi_offline import __main__ as batch_main


@pytest.fixture
def program_without_a_stack_file(monkeypatch, tmp_path):
    """A program whose stack file is missing, and a Lambda build that records whether the
    collector was on when the batch called it."""
    seen = []
    monkeypatch.setattr(lambda_src.build, "build", lambda: seen.append(gc.isenabled()))
    offline = types.ModuleType("no_stack_file.offline")
    offline.PROJECT_DIR = tmp_path
    offline.ConfigError = type("ConfigError", (Exception,), {})
    offline.program = lambda: None
    monkeypatch.setitem(sys.modules, "no_stack_file", types.ModuleType("no_stack_file"))
    monkeypatch.setitem(sys.modules, "no_stack_file.offline", offline)
    return seen


def test_the_batch_turns_the_cyclic_collector_off_only_while_it_runs(program_without_a_stack_file):
    assert gc.isenabled()
    with pytest.raises(SystemExit) as exit_:
        batch_main.main(["--stack", "nowhere", "no_stack_file"])
    assert exit_.value.code == 2  # the missing Pulumi.nowhere.yaml, as config_error_exit reports it
    assert program_without_a_stack_file == [False]  # off while the batch ran
    assert gc.isenabled()  # and on again though it failed
    assert pulumi_offline.StackFileError  # the failure the batch turned into that exit
