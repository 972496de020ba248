"""policies/README.md's rules table is what ``python -m policies rules --format markdown`` prints."""

from __future__ import annotations

from pathlib import Path

from policies.__main__ import render_rules

README = Path(__file__).resolve().parents[2] / "policies" / "README.md"


def test_readme_lists_the_rules_as_the_code_does() -> None:
    assert render_rules("markdown") in README.read_text(), (
        "policies/README.md: paste `python -m policies rules --format markdown`"
    )
