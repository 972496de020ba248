"""Issue 16, item 4: the root README is the map (about 250 lines, a README per stack, linked) and
every relative link and anchor in the READMEs and docs/ resolves (a moved section breaks no link)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STACKS = {  # folder -> its make targets' suffix
    "cdk_payments": "cdk-payments",
    "cdktf_transactions": "cdktf-transactions",
    "pulumi_fraud_pipeline": "pulumi-fraud-pipeline",
    "pulumi_trading_dr": "pulumi-trading-dr",
}
DOCUMENTS = sorted(
    [
        ROOT / "README.md",
        *(ROOT / folder / "README.md" for folder in [*STACKS, "lambda_src", "diagrams", "policies", "tests"]),
        *(ROOT / "docs").glob("*.md"),
    ]
)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def prose(text: str) -> list[str]:
    """The lines outside fenced code blocks, inline code removed (a link inside code is no link)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            lines.append(re.sub(r"`[^`]*`", "", line))
    return lines


def anchors(path: Path) -> set[str]:
    """The anchors GitHub gives a file's headings: lower case, punctuation dropped, spaces to
    hyphens, a repeated one numbered."""
    found: set[str] = set()
    fenced = False
    for line in path.read_text().splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if fenced or not (heading := re.match(r"#{1,6} (.+)", line)):
            continue
        slug = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-")
        candidate, number = slug, 0
        while candidate in found:
            number += 1
            candidate = f"{slug}-{number}"
        found.add(candidate)
    return found


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(document):
    """Fix: sections moved out of the root README into the stacks' READMEs and docs/, and every
    link that pointed at them (files and #anchors) still lands."""
    assert document.is_file(), document
    broken = []
    for line in prose(document.read_text()):
        for target in LINK.findall(line):
            if re.match(r"[a-z]+:", target):  # https:, mailto:
                continue
            path, _, anchor = target.partition("#")
            resolved = (document.parent / path).resolve() if path else document
            if not resolved.exists():
                broken.append(f"{target}: no {resolved.relative_to(ROOT)}")
            elif anchor and anchor not in anchors(resolved):
                broken.append(f"{target}: no heading #{anchor} in {resolved.relative_to(ROOT)}")
    assert not broken, broken


def test_the_root_readme_is_the_map():
    """Fix: the 1,600-line root README became a map of about 250 lines that links each stack's
    README; the performance section stays in it."""
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 260
    for folder in STACKS:
        assert f"]({folder}/README.md)" in text, folder
    for heading in ("## Start here", "## Deploy a stack", "## Layout", "## Targets", "## Tests"):
        assert heading in text
    assert "\n## Scanners (`make check`)\n" in text and "\n## Performance\n" in text


@pytest.mark.parametrize("folder", sorted(STACKS))
def test_each_stack_readme_takes_a_new_user_to_a_deploy(folder):
    """Fix: a stack's README alone says what it builds (its diagram), how to run the preflight and
    the deploy, its settings and its catalogue."""
    text = (ROOT / folder / "README.md").read_text()
    target = STACKS[folder]
    assert f"make preflight-{target}" in text and f"make deploy-{target}" in text
    assert f"](../docs/diagrams/{folder}.png)" in text
    assert (ROOT / "docs" / "diagrams" / f"{folder}.png").is_file()
    assert re.search(r"^## (Context|Settings|Config)$", text, re.M)
    assert "## Catalogue" in text and "](../catalogue/" in text
