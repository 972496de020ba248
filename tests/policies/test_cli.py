"""``python -m policies``: findings with rule, resource and catalogue entries; exit codes 0/1/2;
severity threshold; JSON; the allowlist."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from policies.__main__ import main
from policies.rules import all_rules
from tests.policies.docs import TAGS, pulumi_export
from tests.policies.test_loaders import write_assembly

ROOT = Path(__file__).resolve().parents[2]

# A Lambda function with no tracing (medium) in an otherwise clean template.
FUNCTION = {
    "FunctionName": "fn-dev",
    "Timeout": 10,
    "LoggingConfig": {"LogGroup": {"Ref": "Logs"}},
    "Tags": [{"Key": k, "Value": v} for k, v in TAGS.items()],
}
UNTRACED = {
    "Resources": {
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": FUNCTION},
        "Logs": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"LogGroupName": "/demo/dev/fn", "RetentionInDays": 7},
        },
    }
}


@pytest.fixture
def untraced(tmp_path: Path) -> Path:
    return write_assembly(tmp_path / "cdk.out", {"demo-dev": UNTRACED})


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    traced = json.loads(json.dumps(UNTRACED))
    traced["Resources"]["Fn"]["Properties"]["TracingConfig"] = {"Mode": "Active"}
    return write_assembly(tmp_path / "clean.out", {"demo-dev": traced})


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_clean_input_exits_0(capsys, clean: Path) -> None:
    code, out, _ = run(capsys, "check", clean)
    assert code == 0, out
    assert "0 failed, 0 unknown" in out


def test_a_finding_names_rule_resource_and_catalogue_and_exits_1(capsys, untraced: Path) -> None:
    code, out, _ = run(capsys, "check", untraced)
    assert code == 1
    assert "FAIL     medium   lambda-tracing" in out
    assert "Fn (fn-dev)" in out
    assert "catalogue: fraud-12" in out


def test_findings_below_the_severity_do_not_fail(capsys, untraced: Path) -> None:
    code, out, _ = run(capsys, "check", untraced, "--min-severity", "high")
    assert code == 0
    assert "lambda-tracing" not in out


def test_json(capsys, untraced: Path) -> None:
    code, out, _ = run(capsys, "check", untraced, "--format", "json")
    report = json.loads(out)
    assert code == 1
    (finding,) = report["findings"]
    assert finding | {"path": None} == {
        "rule": "lambda-tracing",
        "severity": "medium",
        "status": "fail",
        "result": "fail",
        "stack": "demo-dev",
        "format": "cloudformation",
        "path": None,
        "resource": "Fn",
        "type": "AWS::Lambda::Function",
        "name": "Fn (fn-dev)",
        "message": "no tracing_config: tracing is PassThrough (off) by default",
        "catalogue": ["fraud-12"],
        "allowed_because": None,
    }
    assert report["summary"]["blocking"] == 1


@pytest.mark.parametrize("argv", [["check", "nowhere"], ["check", "Makefile"]])
def test_unreadable_input_exits_2_with_a_message(capsys, argv: list[str]) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.startswith("policies: ")


def test_allowlist_allows_with_its_reason_and_reports_unused_entries(
    capsys, tmp_path: Path, untraced: Path
) -> None:
    allowlist = tmp_path / "allowlist.toml"
    allowlist.write_text(
        '[[exception]]\nrule = "lambda-tracing"\nresource = "Fn"\nreason = "traced by the caller"\n\n'
        '[[exception]]\nrule = "lambda-timeout"\nresource = "Gone*"\nstack = "demo-*"\nreason = "old"\n'
    )
    code, out, _ = run(capsys, "check", untraced, "--allowlist", allowlist)
    assert code == 0
    assert "ALLOWED  medium   lambda-tracing" in out
    assert "allowed: traced by the caller" in out
    assert "warning: the exception lambda-timeout Gone* (stack demo-*) matched nothing" in out


@pytest.mark.parametrize(
    "content",
    [
        '[[exception]]\nrule = "lambda-tracing"\nresource = "Fn"\n',  # no reason
        '[[exception]]\nrule = "no-such-rule"\nresource = "Fn"\nreason = "x"\n',
        '[[exception]]\nrule = "lambda-tracing"\nresource = "Fn"\nreason = "x"\nuntil = "never"\n',
        "not toml [",
    ],
)
def test_a_bad_allowlist_is_unreadable_input(capsys, tmp_path: Path, untraced: Path, content: str) -> None:
    allowlist = tmp_path / "allowlist.toml"
    allowlist.write_text(content)
    code, _, err = run(capsys, "check", untraced, "--allowlist", allowlist)
    assert code == 2
    assert "allowlist" in err or "exception" in err


def test_unknown_fails_unless_allowed(capsys, tmp_path: Path) -> None:
    export = pulumi_export(
        [
            ("aws:lambda/function:Function", "fn", {"timeout": 3, "tracingConfig": {"mode": "Active"}}),
            ("aws:cloudwatch/logGroup:LogGroup", "logs", {"name": "/aws/lambda/fn-3f2a1b0"}),
        ]
    )
    (tmp_path / "resources.json").write_text(json.dumps(export))
    code, out, _ = run(capsys, "check", tmp_path / "resources.json")
    assert code == 1
    assert "UNKNOWN  medium   lambda-log-retention" in out
    assert run(capsys, "check", tmp_path / "resources.json", "--allow-unknown")[0] == 0


def test_environment_and_required_tags_options(capsys, clean: Path) -> None:
    code, out, _ = run(capsys, "check", clean, "--env", "prod", "--require-tag", "owner")
    assert code == 1
    assert "name 'fn-dev' does not carry the environment 'prod'" in out
    assert "missing tags: owner" in out


def test_rules_lists_every_rule(capsys) -> None:
    code, out, _ = run(capsys, "rules", "--format", "json")
    assert code == 0
    assert [r["id"] for r in json.loads(out)] == [r.id for r in all_rules()]


def test_runs_as_a_module(clean: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "policies", "check", str(clean)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
