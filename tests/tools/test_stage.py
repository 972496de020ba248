"""tools/stage.py: one line per stage of a long make target, the command's status kept."""

from __future__ import annotations

import sys

from tools.stage import main


def test_a_stage_says_how_long_it_took_and_keeps_the_exit_status(capsys):
    assert main(["check: ok", "--", sys.executable, "-c", "print('scanned')"]) == 0
    assert main(["check: bad", "--", sys.executable, "-c", "raise SystemExit(3)"]) == 3
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1].startswith("check: bad: FAILED (exit 3) in ") and lines[-1].endswith(" s")
    assert any(line.startswith("check: ok: done in ") for line in lines)


def test_without_a_command_it_says_how_to_call_it(capsys):
    assert main(["label"]) == 2
    assert "python -m tools.stage LABEL -- COMMAND" in capsys.readouterr().err
