"""tests/conftest.py freezes what lives all session (issue 17, make test's CPU): what collection
made, each session synthesis and what outlives a test module are collected once, then frozen, so
the cyclic collector's full passes walk only what the tests made since."""

from __future__ import annotations

import gc
import weakref

from tests.conftest import _freeze_what_lives_on


class Node:
    other: Node


def garbage_cycle() -> weakref.ref[Node]:
    """Two objects that refer to each other and to nothing else: only the collector frees them."""
    first, second = Node(), Node()
    first.other, second.other = second, first
    return weakref.ref(first)


def unfrozen_ids() -> set[int]:
    return {id(o) for o in gc.get_objects()}  # every generation but the frozen one


def test_what_collection_made_is_frozen(request):
    """The test items and the modules pytest imported at collection are not walked again."""
    assert gc.get_freeze_count() > 0
    unfrozen = unfrozen_ids()
    assert id(request.node) not in unfrozen and id(request.session) not in unfrozen
    assert id(gc.__dict__) not in unfrozen


def test_garbage_is_collected_before_what_lives_on_is_frozen():
    """A freeze keeps what is alive, never a cycle that was already garbage (it would never be freed)."""
    alive = garbage_cycle()
    _freeze_what_lives_on()
    assert alive() is None
