"""What a preflight found: one line per check, a fix under each failure, and the exit code."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

OK, FAIL, SKIP = "ok", "FAIL", "skip"


@dataclass(frozen=True)
class Check:
    """One check's outcome: ``name`` says what was checked, ``detail`` what was found, ``fix`` (on a
    failure) what to do about it."""

    status: str
    name: str
    detail: str
    fix: str = ""

    @property
    def failed(self) -> bool:
        return self.status == FAIL


def ok(name: str, detail: str) -> Check:
    return Check(OK, name, detail)


def fail(name: str, detail: str, fix: str = "") -> Check:
    return Check(FAIL, name, detail, fix)


def skip(name: str, detail: str) -> Check:
    return Check(SKIP, name, detail)


def render(title: str, checks: Iterable[Check]) -> tuple[str, int]:
    """The report (a title, a line per check, a summary) and the exit code: 0 when nothing failed."""
    checks = list(checks)
    lines = [title]
    for check in checks:
        lines.append(f"  {check.status:<4}  {check.name}: {check.detail}")
        if check.failed and check.fix:
            lines.append(f"        fix: {check.fix}")
    failed = sum(check.failed for check in checks)
    skipped = sum(check.status == SKIP for check in checks)
    if failed:
        summary = f"preflight: {failed} of {len(checks)} checks failed; fix them before deploying"
    else:
        summary = f"preflight: all {len(checks) - skipped} checks passed"
    if skipped:
        summary += f" ({skipped} skipped)"
    lines.append(summary)
    return "\n".join(lines), 1 if failed else 0
