"""The catalogue is complete, well formed, and every entry of a built stack is guarded by a test."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from catalogue import SEVERITIES, TRACEABILITY, guarding_tests, load_entries, traceability_markdown

EXPECTED = {"payments": 12, "fraud": 22, "transactions": 10, "trading-dr": 25}


def test_every_seed_item_is_an_entry():
    ids = [entry.id for entry in load_entries()]
    assert len(ids) == len(set(ids)) == sum(EXPECTED.values())
    for prefix, count in EXPECTED.items():
        assert sorted(i for i in ids if re.fullmatch(rf"{prefix}-\d\d", i)) == [
            f"{prefix}-{n:02d}" for n in range(1, count + 1)
        ]


@pytest.mark.parametrize("entry", load_entries(), ids=lambda e: e.id)
def test_entry_is_well_formed(entry):
    assert entry.severity in SEVERITIES
    assert entry.title and entry.broken and entry.fix
    assert entry.deviation is None or len(entry.deviation) > 20


def test_every_entry_of_a_built_stack_has_a_guarding_test():
    guards = guarding_tests()
    unguarded = [e.id for e in load_entries() if e.stack_exists and not guards.get(e.id)]
    assert unguarded == []


def test_guards_only_name_known_entries():
    known = {e.id for e in load_entries()}
    assert set(guarding_tests()) <= known


def test_built_stacks_are_catalogued():
    stacks = Counter(e.stack for e in load_entries())
    assert "cdk_payments" in stacks and all(count > 0 for count in stacks.values())


def test_traceability_file_is_current():
    assert TRACEABILITY.read_text() == traceability_markdown(), "run `make catalogue` and commit the result"
