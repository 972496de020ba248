"""The resources.json contract (SPEC: the shape of `pulumi stack export`) and the program's wiring."""

from __future__ import annotations

import json
from pathlib import Path

from pulumi_offline import ACCOUNT, check

ROOT = Path(__file__).resolve().parents[2]


def test_document_is_a_stack_export_the_engine_would_write(fraud):
    """Schema, URNs, order and encodings: pulumi_offline.check (tested on its own in tests/pulumi_offline)."""
    check(fraud.document)
    stack, *resources = fraud.resources
    assert stack["urn"] == "urn:pulumi:dev::fraud-pipeline::pulumi:pulumi:Stack::fraud-pipeline-dev"
    assert stack["outputs"] and resources
    for resource in resources:
        assert all(not key[0].isupper() and "_" not in key for key in resource["inputs"]), resource["type"]


def test_explicit_depends_on_is_recorded(fraud):
    """The function depends on its log group only through depends_on (no input refers to it)."""
    function = fraud.named("aws:lambda/function:Function", "compute-validator")
    log_group = fraud.named("aws:cloudwatch/logGroup:LogGroup", "compute-validator-logs")
    assert log_group["urn"] in function["dependencies"]
    assert log_group["inputs"]["name"] not in json.dumps(function["inputs"])


def test_every_urn_a_resource_depends_on_exists(fraud):
    urns = {r["urn"] for r in fraud.resources}
    for resource in fraud.resources:
        assert set(resource["dependencies"]) <= urns, resource["urn"]


def test_no_secret_or_real_account_leaks_into_the_document(fraud):
    text = json.dumps(fraud.document)
    assert "password" not in text.lower()
    accounts = {part for part in text.replace('"', ":").split(":") if part.isdigit() and len(part) == 12}
    assert accounts <= {ACCOUNT}


def test_deployment_is_triggered_by_the_routes_it_snapshots(fraud):
    (deployment,) = fraud.of_type("aws:apigateway/deployment:Deployment")
    assert len(deployment["inputs"]["triggers"]["redeployment"]) == 64  # sha256 of the route definition
