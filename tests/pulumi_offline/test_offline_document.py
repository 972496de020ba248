"""pulumi_offline: the resources.json it writes is a valid `pulumi stack export` (version 3) as
the engine would write it, and byte-stable. Checked on the fraud pipeline's document."""

from __future__ import annotations

import copy
import json
from contextlib import contextmanager

import pytest
from pulumi.runtime import rpc, settings

import pulumi_offline
from pulumi_offline import check, dumps, engine_order


@pytest.fixture(scope="module")
def document():
    from lambda_src.build import build
    from pulumi_fraud_pipeline.offline import run

    build()
    return run("dev")


def test_the_document_is_a_valid_version_3_deployment(document):
    check(document)
    manifest = document["deployment"]["manifest"]
    assert set(manifest) == {"time", "magic", "version"} and len(manifest["magic"]) == 64


def test_two_runs_write_the_same_bytes(document):
    from pulumi_fraud_pipeline.offline import run

    assert dumps(run("dev")) == dumps(document)


def test_urns_are_formed_as_the_engine_forms_them(document):
    resources = {r["urn"]: r for r in document["deployment"]["resources"]}
    stack, component = "urn:pulumi:dev::fraud-pipeline::", "fraud:compute:Compute"
    assert f"{stack}{component}::compute" in resources  # a child of the stack: no Stack$ prefix
    function = resources[f"{stack}{component}$aws:lambda/function:Function::compute-validator"]
    assert function["parent"] == f"{stack}{component}::compute"
    with stack_and_project("dev", "proj"):
        grandparent = "urn:pulumi:dev::proj::a:b:C$d:e:F::f"
        assert pulumi_offline.engine_urn(grandparent, "aws:s3/bucket:Bucket", "x") == (
            "urn:pulumi:dev::proj::a:b:C$d:e:F$aws:s3/bucket:Bucket::x"
        )


def test_components_carry_no_id_and_custom_resources_name_their_provider(document):
    for resource in document["deployment"]["resources"][1:]:
        if resource["custom"] and not resource["type"].startswith("pulumi:providers:"):
            assert resource["provider"].startswith("urn:pulumi:dev::fraud-pipeline::pulumi:providers:aws::")
        if not resource["custom"]:
            assert "id" not in resource and "provider" not in resource


def _mutated(document, change):
    broken = copy.deepcopy(document)
    change(broken["deployment"]["resources"])
    return broken


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda rs: rs[1].__setitem__("id", "component-id"), "component has no id"),
        (
            lambda rs: rs[1].__setitem__(
                "urn", rs[1]["urn"].replace("::fraud:", "::pulumi:pulumi:Stack$fraud:")
            ),
            "not a URN the engine forms",
        ),
        (lambda rs: rs.append(rs.pop(1)), "does not precede"),  # a parent after its children
        (lambda rs: rs[1].__setitem__("extra", True), "not a valid deployment"),
        (
            lambda rs: rs[-1]["inputs"].__setitem__(
                "x", {rpc._special_sig_key: rpc._special_secret_sig, "plaintext": "pw"}
            ),
            "plaintext",
        ),
        (lambda rs: rs.insert(1, rs.pop(0)), "stack must come first"),
    ],
    ids=["component-id", "stack-prefix", "order", "unknown-key", "plaintext-secret", "stack-not-first"],
)
def test_check_rejects_what_the_engine_would_not_write(document, change, message):
    with pytest.raises(ValueError, match=message):
        check(_mutated(document, change))


def test_engine_order_puts_dependencies_first_and_is_deterministic():
    a = {"urn": "urn:pulumi:s::p::t:m:A::a", "dependencies": ["urn:pulumi:s::p::t:m:B::b"]}
    b = {"urn": "urn:pulumi:s::p::t:m:B::b", "dependencies": []}
    c = {"urn": "urn:pulumi:s::p::t:m:C::c", "dependencies": []}
    assert [r["urn"][-1] for r in engine_order([a, c, b])] == ["b", "a", "c"]
    assert engine_order([c, b, a]) == engine_order([a, b, c])
    with pytest.raises(ValueError, match="cycle"):
        engine_order([{**a}, {**b, "dependencies": [a["urn"]]}])


def test_secrets_and_archives_use_the_engine_encoding(document):
    text = json.dumps(document)
    assert rpc._special_archive_sig in text
    assert "offline-mock-value" not in text  # a secret's value never reaches the file


@contextmanager
def stack_and_project(stack, project):
    """The names engine_urn reads, outside a program run."""
    saved = (settings.get_stack(), settings.get_project())
    settings._set_stack(stack)
    settings._set_project(project)
    try:
        yield
    finally:
        settings._set_stack(saved[0])
        settings._set_project(saved[1])


def test_stack_outputs_resolve_inside_the_programs_event_loop(monkeypatch):
    """Fix (issue 17, `make synth-all`): the stack outputs are awaited inside run_pulumi_func's loop,
    never pumped by a nested _sync_await, which refills the loop's ready queue with a cancelled
    handle per pending callback after each output (about 1 s of CPU in the trading DR program)."""
    import asyncio
    from pathlib import Path

    import pulumi

    nested = []
    real = pulumi_offline._sync_await

    def recording(awaitable):
        nested.append(asyncio.get_event_loop().is_running())
        return real(awaitable)

    monkeypatch.setattr(pulumi_offline, "_sync_await", recording)

    def program():
        parent = pulumi.ComponentResource("test:index:Part", "part")
        return {
            "name": pulumi.Output.from_input("a").apply(str.upper),
            "hidden": pulumi.Output.secret("s"),
            "urn": parent.urn,
        }

    project = Path(pulumi_offline.__file__).resolve().parents[1] / "pulumi_fraud_pipeline"
    document = pulumi_offline.run(project, "dev", {"aws:region": "us-east-1"}, program)
    outputs = document["deployment"]["resources"][0]["outputs"]
    assert outputs["name"] == "A" and outputs["urn"].endswith("test:index:Part::part")
    assert outputs["hidden"][rpc._special_sig_key] == rpc._special_secret_sig
    assert nested == [False], "a _sync_await ran inside the running loop"
