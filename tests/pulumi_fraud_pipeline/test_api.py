"""The API's deployment: redeployed whenever what it snapshots changes."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from pulumi_fraud_pipeline.components.api import redeployment_hash

# Inputs that only wire a resource to its API or parent: ids, not part of the route's definition.
WIRING = {"restApi", "resourceId", "parentId"}


def _python_names(resource: dict[str, Any]) -> dict[str, Any]:
    """A resource's recorded inputs as the program passed them (snake_case), wiring aside."""
    return {
        re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower(): value
        for key, value in resource["inputs"].items()
        if key not in WIRING
    }


@pytest.fixture(scope="module")
def routes(fraud) -> dict[str, Any]:
    """Every input of the resource, method and integration, read back from what the engine received."""
    (resource,) = fraud.of_type("aws:apigateway/resource:Resource")
    (method,) = fraud.of_type("aws:apigateway/method:Method")
    (integration,) = fraud.of_type("aws:apigateway/integration:Integration")
    return {
        "resource": _python_names(resource),
        "method": _python_names(method),
        "integration": _python_names(integration),
    }


@pytest.mark.catalogue("fraud-18")
def test_the_trigger_hashes_every_input_of_the_route(fraud, routes):
    """Not ids (fixed while a resource is updated in place): the inputs themselves, all of them."""
    (deployment,) = fraud.of_type("aws:apigateway/deployment:Deployment")
    assert deployment["inputs"]["triggers"]["redeployment"] == redeployment_hash(routes)
    assert (
        routes["method"]["authorization"] == "AWS_IAM" and routes["resource"]["path_part"] == "transactions"
    )
    assert {"type", "uri", "integration_http_method"} <= routes["integration"].keys()


@pytest.mark.catalogue("fraud-18")
@pytest.mark.parametrize(
    ("part", "key", "value"),
    [
        ("resource", "path_part", "payments"),
        ("method", "authorization", "NONE"),
        ("method", "request_parameters", {"method.request.header.Idempotency-Key": True}),
        ("integration", "type", "AWS"),
        (
            "integration",
            "uri",
            "arn:aws:apigateway:us-east-2:lambda:path/2015-03-31/functions/other/invocations",
        ),
        ("integration", "integration_http_method", "PUT"),
        ("integration", "request_parameters", {"integration.request.header.X-Id": "context.requestId"}),
        ("integration", "request_templates", {"application/json": "$input.body"}),
    ],
)
def test_changing_a_route_input_changes_the_trigger(routes, part, key, value):
    changed = copy.deepcopy(routes)
    changed[part][key] = value
    assert redeployment_hash(changed) != redeployment_hash(routes)


@pytest.mark.catalogue("fraud-19")
def test_no_stack_owns_the_account_level_api_gateway_logging_role(fraud):
    """One setting per account and region: a stack that owned it would reset logging for every REST
    API there when destroyed. Set once by hand (README); the stage only uses it."""
    assert fraud.of_type("aws:apigateway/account:Account") == []
    for role in fraud.of_type("aws:iam/role:Role"):
        assert "apigateway.amazonaws.com" not in role["inputs"]["assumeRolePolicy"], role["urn"]
    (stage,) = fraud.of_type("aws:apigateway/stage:Stage")
    assert stage["inputs"]["accessLogSettings"]["destinationArn"]  # still logs, through the account's role
