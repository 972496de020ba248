"""Every part of the input was read: what the loaders could not read is never a silent pass."""

from __future__ import annotations

from policies.model import Document, Severity
from policies.rules import fail, ok, rule


@rule(
    "input-read",
    title="every part of the input was read",
    rationale="A part the suite cannot read (an unexpanded SAM type or transform, Fn::ForEach, a module, a "
    "nested stack) is not judged.",
    severity=Severity.HIGH,
)
def input_read(document: Document):
    if not document.unread:
        yield ok(None, "every resource was read")
    for note in document.unread:
        yield fail(None, f"not read: {note}")
