"""The suite on outside code: public templates (tests/policies/corpus/, SOURCES.toml says whose,
at which commit, under which licence) with the verdicts written out by reading each one
(expected.toml). Every change of issue 15 shows here on code nobody in this repo wrote."""

from __future__ import annotations

import json
import re
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


README = Path(__file__).resolve().parents[2] / "policies" / "README.md"
_ROW = re.compile(r"^\| (?P<file>[^|]+?) \| (?P<ours>[^|]+?) \| (?P<checkov>[^|]+?) \| [^|]*\|$")


def _corpus_file(cell: str) -> Path:
    """A row's template: a path under aws-cloudformation-templates/, or "<source>: <app> (...)"."""
    cell = re.sub(r" \(.*\)$", "", cell)
    if ": " in cell:
        source, app = cell.split(": ")
        (path,) = [p for p in (CORPUS / source).rglob("*.json") if app in p.parts or p.name.startswith(app)]
        return path
    return CORPUS / "aws-cloudformation-templates" / cell


def test_readme_figures_next_to_checkov_are_the_suites() -> None:
    """policies/README.md's comparison with checkov: this suite's column is what it gives today on
    each corpus file (failed and passed counts, exit 2), every row names a corpus file."""
    from policies import InputError, check
    from policies.rules import FAIL

    section = README.read_text().split("## On outside code", 1)[1].split("**How references", 1)[0]
    rows = [m for line in section.splitlines() if (m := _ROW.match(line)) and m["file"] != "template"]
    rows = [m for m in rows if not m["file"].startswith("---")]
    assert len(rows) == len(EXPECTED), [m["file"] for m in rows]
    for row in rows:
        path = _corpus_file(row["file"])
        assert str(path.relative_to(CORPUS)) in EXPECTED, row["file"]
        if row["ours"].startswith("exit 2"):
            with pytest.raises(InputError):
                check([path])
            continue
        report = check([path])
        failed = int(re.match(r"(\d+) failed", row["ours"])[1])
        assert failed == report.count(FAIL), row["file"]
        passed = re.search(r"(\d+) passed", row["ours"])
        assert passed is None or int(passed[1]) == report.passed, row["file"]


def test_readme_worked_example_is_current(capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    """The worked example on outside code prints the summary line the README shows."""
    section = README.read_text().split("## On outside code", 1)[1]
    block = section.split("```text\n", 1)[1].split("```", 1)[0]
    lines = iter(block.splitlines())
    command = [next(lines)]
    while command[-1].endswith("\\"):
        command.append(next(lines))
    argv = " ".join(line.rstrip("\\") for line in command).removeprefix("$ policies ").split()
    monkeypatch.chdir(CORPUS / "aws-cloudformation-templates")
    assert main(argv) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == block.strip().splitlines()[-1]
    shown = [line for line in block.splitlines() if line.startswith("  FAIL")]
    assert set(shown) <= set(out), set(shown) - set(out)


def test_the_comparison_runs_checkov_with_its_own_defaults(tmp_path: Path, monkeypatch, capsys) -> None:
    """make policies-compare: checkov runs outside the repository (it would read our .checkov.yaml
    skips silently) from a relative --checkov path, one row per corpus file."""
    from tools import policy_compare

    fake = tmp_path / "bin" / "checkov"
    fake.parent.mkdir()
    fake.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = --version ]; then echo 3.3.30; exit 0; fi\n'
        "if [ -e .checkov.yaml ]; then exit 1; fi\n"
        'echo \'{"results": {"failed_checks": [{"check_id": "CKV_X"}], "passed_checks": []}}\'\n'
    )
    fake.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".checkov.yaml").write_text("skip-check: [CKV_X]\n")
    assert policy_compare.main(["--checkov", "bin/checkov"]) == 0
    rows = capsys.readouterr().out.splitlines()[2:]
    assert len(rows) == len(EXPECTED)
    assert all(row.endswith("| 1 failed (1 checks: CKV_X), 0 passed |") for row in rows), rows
