"""Session-wide test setup: Node 22 on PATH for jsii, catalogue markers checked against the data."""

from __future__ import annotations

import gc
import os
import re
import sys
from pathlib import Path

import pytest
from xdist.scheduler import LoadScopeScheduling

from catalogue import load_entries

# The test processes keep bytecode (__pycache__ beside each source, ignored by git): pytest then
# reads each test module's assertion-rewritten code instead of rewriting it again in every worker
# (collection about 3.2 -> 1.5 s per worker). The processes the tests start with this environment
# write none, however pytest was started (the Makefile exports PYTHONDONTWRITEBYTECODE; an IDE or a
# bare `python -m pytest` does not): some import the Lambda assets in build/ (test_rds_tls.py runs
# the layer's common/), which would then carry this interpreter's bytecode. The bundles the Lambda
# build copies take *.py files only (test_packaging.py holds both).
sys.dont_write_bytecode = False
os.environ["PYTHONDONTWRITEBYTECODE"] = "1"

ROOT = Path(__file__).resolve().parents[1]
NODE_BIN = ROOT / "node_modules" / ".bin"
if NODE_BIN.is_dir() and str(NODE_BIN) not in os.environ.get("PATH", "").split(os.pathsep):
    # The same order as the Makefile: jsii must find Node 22, not the machine's Node 20.
    os.environ["PATH"] = f"{NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"

# Handler modules read these at import or first use; tests never talk to real AWS.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_DEV", "false")


def _one_loader_per_process() -> None:
    """Every botocore session of the process shares one loader of AWS's service models.

    moto's mock_aws and the handlers' tests start new boto3 sessions, and a new session reads the
    JSON models of each service it makes a client for again (about 0.15 s for DynamoDB); a real
    Lambda does that once per cold start. The loader caches what it read, per data path; the
    models are read-only to botocore, which already shares them between a session's clients.
    Each boto3 session appends boto3's data folder to its loader's search paths: on the shared
    loader that append is made once, not once per session (the list grew by one per session).
    """
    import botocore.loaders
    import botocore.session

    create = botocore.loaders.create_loader
    loaders: dict[str | None, botocore.loaders.Loader] = {}

    class SearchPaths(list):
        def append(self, path: str) -> None:
            if path not in self:
                super().append(path)

    def shared(search_path_string: str | None = None) -> botocore.loaders.Loader:
        if search_path_string not in loaders:
            loader = loaders[search_path_string] = create(search_path_string)
            loader._search_paths = SearchPaths(loader.search_paths)  # the property has no setter
        return loaders[search_path_string]

    botocore.session.create_loader = shared


_one_loader_per_process()


# The cyclic garbage collector and what lives all session. A full collection walks every object the
# process tracks; a worker holds the imported libraries (moto's, botocore's models), the session
# syntheses (CDK and jsii objects, templates, Pulumi's resources) and the caches beside them, and
# the tests' allocations set off some twenty full collections per worker: 7-9 s of each worker's
# CPU (about 16 of make test's 100 s), and 2-3 s more as each worker exits. What is alive after
# collection, after a session fixture is made and after a test module is done lives on: it is
# collected once and then frozen (gc.freeze: never walked again), so a collection walks what the
# tests made since. Garbage is collected before each freeze, so nothing frozen was garbage then.
def _freeze_what_lives_on() -> None:
    gc.collect()
    gc.freeze()


def pytest_collection_finish(session: pytest.Session) -> None:
    _freeze_what_lives_on()


class _FreezeAfterSessionFixtures:
    """A plugin, not a hook of this conftest: pytest sets a session fixture up through the Session's
    hooks, which leave out conftest files below the rootdir (this one)."""

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef: pytest.FixtureDef, request: pytest.FixtureRequest):
        made = yield
        if fixturedef.scope == "session":
            _freeze_what_lives_on()
        return made


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_FreezeAfterSessionFixtures(), "tests-gc-freeze")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    done = yield
    if nextitem is None or nextitem.path != item.path:  # the module's fixtures are gone too
        _freeze_what_lives_on()
    return done


def pytest_unconfigure(config: pytest.Config) -> None:
    gc.freeze()  # the process exits: nothing left to collect


# Each stack synthesized once per session, here so that every test directory shares the run
# (tests/diagrams and tests/policies read the same output); how each is made lives beside the
# stack's tests.
@pytest.fixture(scope="session")
def transactions_synth(tmp_path_factory: pytest.TempPathFactory):
    from tests.cdktf_transactions.conftest import synthesize_in_a_process

    return synthesize_in_a_process(tmp_path_factory)


@pytest.fixture(scope="session")
def transactions(transactions_synth):
    from tests.cdktf_transactions.conftest import stacks_of

    return stacks_of(transactions_synth)


@pytest.fixture(scope="session")
def payments(tmp_path_factory: pytest.TempPathFactory):
    from tests.cdk_payments.conftest import synthesize

    return synthesize(tmp_path_factory)


@pytest.fixture(scope="session")
def dr():
    from tests.pulumi_trading_dr.conftest import run_offline

    return run_offline()


@pytest.fixture(scope="session")
def fraud():
    from tests.pulumi_fraud_pipeline.conftest import run_offline

    return run_offline()


# Under `make test` (pytest-xdist, `--dist loadscope`) a scope runs on one worker, so a session
# synthesis happens once per run only if every test that uses it is in its scope. The two jsii
# stacks share a scope, transactions first: the CDK's Node kernel (about 0.5 GB, alive as long as
# its worker) then never runs beside the transactions synth's (about 0.2 GB with the provider's
# modules loaded as used, 0.8 GB as shipped; it exits with its process, tests/cdktf_transactions/
# synth.py), which keeps `make test` under 2 GB.
# (--dist loadgroup cannot do this with pytest 9.2: pytest-xdist#1386 drops the groups silently.)
# Session synthesis fixture -> its scope, in the order they run.
FIXTURE_SCOPES = {
    "transactions_synth": "jsii",
    "payments": "jsii",
    "dr": "pulumi_trading_dr",
    "fraud": "pulumi_fraud_pipeline",
}
# A stack's own test directory -> its scope.
DIRECTORY_SCOPES = {
    "cdktf_transactions": "jsii",
    "cdk_payments": "jsii",
    "pulumi_trading_dr": "pulumi_trading_dr",
    "pulumi_fraud_pipeline": "pulumi_fraud_pipeline",
}
# Directories whose tests read several stacks: a test's scope is the stack its name names
# (TestPayments, test_trading_dr, ...); the guard below keeps names and fixtures in step.
SHARED_DIRECTORIES = ("diagrams", "policies")
NAME_SCOPES = {
    "transactions": "jsii",
    "payments": "jsii",
    "dr": "pulumi_trading_dr",
    "fraud": "pulumi_fraud_pipeline",
}
SCOPE_ORDER = list(dict.fromkeys(FIXTURE_SCOPES.values()))


def session_scope(nodeid: str) -> str | None:
    """The xdist scope of a test id that needs a session synthesis, else None."""
    path, _, name = nodeid.partition("::")
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != "tests":
        return None
    if parts[1] in DIRECTORY_SCOPES:
        return DIRECTORY_SCOPES[parts[1]]
    if parts[1] in SHARED_DIRECTORIES:
        words = set(re.findall(r"[a-z]+", re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()))
        scopes = {NAME_SCOPES[word] for word in words & NAME_SCOPES.keys()}
        if len(scopes) == 1:
            return scopes.pop()
    return None


def needed_scope(item: pytest.Item) -> str | None:
    """The scope of the session syntheses a test uses; a test may use one scope's only."""
    scopes = {FIXTURE_SCOPES[name] for name in item.fixturenames if name in FIXTURE_SCOPES}
    if len(scopes) > 1:
        raise pytest.UsageError(f"{item.nodeid}: uses the syntheses of {sorted(scopes)}: one scope per test")
    return scopes.pop() if scopes else None


def run_order(item: pytest.Item) -> tuple[int, int]:
    """Scopes in SCOPE_ORDER, within one the synthesis order (transactions before payments)."""
    scope = session_scope(item.nodeid)
    if scope is None:
        return (len(SCOPE_ORDER), 0)
    fixtures = [i for i, name in enumerate(FIXTURE_SCOPES) if name in item.fixturenames]
    return (SCOPE_ORDER.index(scope), min(fixtures, default=len(FIXTURE_SCOPES)))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A catalogue marker must name an entry that exists: a typo would guard nothing."""
    known = {entry.id for entry in load_entries()}
    for item in items:
        for mark in item.iter_markers("catalogue"):
            for entry_id in mark.args:
                if entry_id not in known:
                    raise pytest.UsageError(f"{item.nodeid}: unknown catalogue id {entry_id!r}")
        needed = needed_scope(item)
        if needed is not None and session_scope(item.nodeid) != needed:
            raise pytest.UsageError(
                f"{item.nodeid}: uses a synthesis of scope {needed!r} but runs in scope "
                f"{session_scope(item.nodeid)!r}: put it in that stack's test directory, or name "
                f"the stack in its name in {SHARED_DIRECTORIES} (tests/conftest.py)"
            )
    if hasattr(config, "workerinput"):  # an xdist worker: the session scopes first, in their order
        items.sort(key=run_order)


class StackScopeScheduling(LoadScopeScheduling):
    """``--dist loadscope``, with a stack's tests as one scope (see FIXTURE_SCOPES)."""

    def _split_scope(self, nodeid: str) -> str:
        return session_scope(nodeid) or super()._split_scope(nodeid)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    return StackScopeScheduling(config, log) if config.getoption("dist") == "loadscope" else None
