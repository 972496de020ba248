"""The resources.json contract (SPEC: the shape of `pulumi stack export`) and the program's wiring."""

from __future__ import annotations

import json
from pathlib import Path

from pulumi_fraud_pipeline.offline import ACCOUNT

ROOT = Path(__file__).resolve().parents[2]


def test_document_has_the_stack_export_shape(fraud):
    assert fraud.document["version"] == 3
    stack, *resources = fraud.resources
    assert stack["type"] == "pulumi:pulumi:Stack" and stack["urn"].endswith("::fraud-pipeline-dev")
    assert "outputs" in stack and resources
    for resource in resources:
        assert {"urn", "type", "custom", "inputs", "dependencies"} <= resource.keys()
        assert resource["parent"] == stack["urn"] or resource["parent"].startswith(
            "urn:pulumi:dev::fraud-pipeline::"
        )
        if resource["custom"] and not resource["type"].startswith("pulumi:providers:"):
            assert resource["provider"].startswith("urn:pulumi:dev::fraud-pipeline::")
        assert all(not key[0].isupper() and "_" not in key for key in resource["inputs"]), resource["type"]
    json.dumps(fraud.document)  # plain JSON all the way down


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
