"""The suite on outside code: public templates (tests/policies/corpus/, SOURCES.toml says whose,
at which commit, under which licence) with the verdicts written out by reading each one
(expected.toml). Every change of issue 15 shows here on code nobody in this repo wrote."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from policies.__main__ import main

CORPUS = Path(__file__).parent / "corpus"
EXPECTED = {name: tables[0] for name, tables in tomllib.loads((CORPUS / "expected.toml").read_text()).items()}


def test_every_corpus_file_has_a_source_and_expected_verdicts() -> None:
    sources = tomllib.loads((CORPUS / "SOURCES.toml").read_text())
    listed = {f"{name}/{file}" for name, source in sources.items() for file in source["files"]}
    on_disk = {str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*.json")}
    assert listed == on_disk == set(EXPECTED)
    for source in sources.values():
        assert source["commit"] and source["licence"] and source["repository"].startswith("https://")


def _run(capsys: pytest.CaptureFixture[str], name: str) -> tuple[int, dict | None, str]:
    code = main(["check", str(CORPUS / name), "--format", "json"])
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if captured.out else None), captured.err


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_verdicts_on_outside_templates(capsys: pytest.CaptureFixture[str], name: str) -> None:
    """Issue 15 items 1-4 on public templates: compliant samples pass (Fn::Sub references, both
    Fn::If branches, a read replica), defects fail (a /0 by default, a missing log group, an
    unencrypted Neptune default), what is not read says so, malformed input is exit 2."""
    expected = EXPECTED[name]
    code, report, err = _run(capsys, name)
    assert code == expected["exit"], err or report["findings"]
    if expected["exit"] == 2:
        assert report is None and err.startswith("policies: ")
        return
    found = sorted(f"{f['status']} {f['rule']} {f['resource']}" for f in report["findings"])
    assert found == sorted(expected["findings"])
    assert not [f for f in report["findings"] if "the rule failed" in f["message"]]
    if expected["passes"]:
        passed = _passes(name)
        assert set(expected["passes"]) <= passed, set(expected["passes"]) - passed


def _passes(name: str) -> set[str]:
    from policies import check

    report = check([CORPUS / name])
    return {f"{r.rule.id} {r.address}" for r in report.results if r.status == "pass"}
