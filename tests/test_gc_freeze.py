"""tests/conftest.py freezes what lives all session (issue 17, make test's CPU): what collection
made, each session fixture's value and what outlives a test module are collected once, then frozen,
so the cyclic collector's full passes walk only what the tests made since."""

from __future__ import annotations

import gc
import weakref

import pytest

from tests import conftest


class Node:
    other: Node


def garbage_cycle() -> weakref.ref[Node]:
    """Two objects that refer to each other and to nothing else: only the collector frees them."""
    first, second = Node(), Node()
    first.other, second.other = second, first
    return weakref.ref(first)


def frozen(value: object) -> bool:
    return id(value) not in {id(o) for o in gc.get_objects()}  # every generation but the frozen one


@pytest.fixture(scope="session")
def made_for_the_session() -> list[object]:
    return [object()]


def test_what_collection_made_is_frozen(request):
    """The test items and the modules pytest imported at collection are not walked again (the hook
    called here: in a run, an earlier freeze would have frozen the items too)."""
    kept = [object()]
    conftest.pytest_collection_finish(request.session)
    assert frozen(kept) and frozen(request.node) and frozen(gc.__dict__)


def test_a_session_fixtures_value_is_frozen_once_made(made_for_the_session):
    """Frozen when made, not when the module that first asked for it is done."""
    assert frozen(made_for_the_session)


def test_what_outlives_a_test_module_is_frozen_when_it_is_done(request):
    kept = [object()]

    def tear_down(nextitem):
        hook = conftest.pytest_runtest_teardown(request.node, nextitem)
        next(hook)
        with pytest.raises(StopIteration):
            hook.send(None)

    tear_down(request.node)  # the next test is in the same module: nothing yet
    assert not frozen(kept)
    tear_down(None)  # the last test of the worker's run
    assert frozen(kept)


def test_nothing_is_walked_as_the_process_exits(request):
    kept = [object()]
    conftest.pytest_unconfigure(request.config)
    assert frozen(kept)


def test_garbage_is_collected_before_what_lives_on_is_frozen():
    """A freeze keeps what is alive, never a cycle that was already garbage (it would never be freed)."""
    alive = garbage_cycle()
    conftest._freeze_what_lives_on()
    assert alive() is None
