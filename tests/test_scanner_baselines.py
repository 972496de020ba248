"""The scanners' committed baselines: every check they skip says why, and `make check` uses them.

checkov's skips are a YAML list with no room for a reason, so each entry's reason is a comment:
on its line or in the block right above it; cfn-lint's ``ignore_checks`` the same way.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHECKOV_CONFIGS = {  # config -> the framework `make check` runs it with
    ".checkov.yaml": "terraform_json",
    ".checkov.cloudformation.yaml": "cloudformation",
}
ENTRY = re.compile(r"^\s+- (\S+)\s*(?:#\s*(.*))?$")


def skips_with_reasons(text: str, key: str) -> dict[str, str]:
    """Each entry of the list under ``key`` -> its reason: the comment on its line, or the comment
    block right above it ('' when there is neither: an entry never borrows its neighbour's)."""
    lines = text.splitlines()
    reasons: dict[str, str] = {}
    comment: list[str] = []
    for line in lines[lines.index(f"{key}:") + 1 :]:
        if line and not line[0].isspace():
            break  # the next top-level key
        if line.strip().startswith("#"):
            comment.append(line.strip().lstrip("# "))
        elif entry := ENTRY.match(line):
            reasons[entry.group(1)] = entry.group(2) or " ".join(comment)
            comment = []
        else:
            comment = []
    return reasons


@pytest.mark.parametrize("config", sorted(CHECKOV_CONFIGS))
def test_every_checkov_skip_has_a_reason(config):
    text = (ROOT / config).read_text()
    skips = skips_with_reasons(text, "skip-check")
    assert skips and sorted(skips) == sorted(yaml.safe_load(text)["skip-check"])
    assert {check: why for check, why in skips.items() if len(why) < 30} == {}


def test_every_cfn_lint_ignore_has_a_reason():
    text = (ROOT / ".cfnlintrc.yaml").read_text()
    ignored = skips_with_reasons(text, "ignore_checks")
    assert sorted(ignored) == sorted(yaml.safe_load(text)["ignore_checks"])
    assert {check: why for check, why in ignored.items() if len(why) < 30} == {}


def test_a_skip_without_a_comment_is_caught():
    text = (
        "skip-check:\n  # Functions are invoked synchronously: a DLQ never receives anything.\n"
        "  - CKV_A\n  - CKV_B\n  - CKV_C  # The same functions: their errors reach the caller.\nother: 1\n"
    )
    reasons = skips_with_reasons(text, "skip-check")
    assert reasons["CKV_A"].startswith("Functions") and reasons["CKV_C"].startswith("The same")
    assert reasons["CKV_B"] == ""  # no borrowing from CKV_A


def test_make_check_runs_checkov_with_each_baseline_for_its_framework():
    """Without --config-file checkov reads ./.checkov.yaml on its own: the CDKTF skips then apply to
    the CloudFormation templates too (run so before issue 9, they hid 22 of the payments template's
    32 failed checks)."""
    recipe = (ROOT / "Makefile").read_text().split("\ncheck:", 1)[1].split("\n\n", 1)[0]
    calls = [call for call in recipe.replace("\\\n", " ").splitlines() if "checkov " in call]
    used = {
        re.search(r"--config-file (\S+)", call).group(1): re.search(r"--framework (\S+)", call).group(1)
        for call in calls
    }
    assert len(calls) == len(CHECKOV_CONFIGS) and used == CHECKOV_CONFIGS
