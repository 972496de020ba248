"""The VPC endpoints' policies against what each function calls through them.

The functions live in isolated subnets: every call their code makes (and the X-Ray daemon's)
crosses a VPC endpoint, and an endpoint without a policy of its own admits any principal, any
action, any resource (AWS's default policy), in this account or another. Each endpoint must admit
the functions' calls, by their roles, on this stack's resources, and nothing else.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from pulumi_offline import ACCOUNT
from tests.iam.policy import Request, allows
from tests.iam.requests import code_needs, service_needs

ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
ENDPOINT_POLICY = "aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy"
DEFAULT_POLICY = [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]  # AWS's


def endpoint_policies(fraud) -> dict[str, list[dict[str, Any]]]:
    """Service (its IAM prefix) -> the statements its endpoint enforces (AWS's default without one)."""
    policies: dict[str, list[dict[str, Any]]] = {}
    for endpoint in fraud.of_type(ENDPOINT):
        service = endpoint["inputs"]["serviceName"].rsplit(".", 1)[1]
        attached = [
            json.loads(p["inputs"]["policy"])["Statement"]
            for p in fraud.of_type(ENDPOINT_POLICY)
            if p["inputs"]["vpcEndpointId"] == endpoint["id"]
        ]
        assert len(attached) <= 1, f"{service}: one endpoint, one policy"
        policies[service] = attached[0] if attached else DEFAULT_POLICY
    return policies


def code_requests(deployment, function) -> list[Request]:
    """The calls the function's code makes, each on the resource it names (tests/iam)."""
    return [need.request for need in code_needs(function, deployment)]


def tracing_requests(deployment, function) -> list[Request]:
    """The X-Ray daemon's, with the function's role (Active tracing)."""
    assert function.tracing
    return [n.request for n in service_needs(function, deployment) if n.request.action.startswith("xray:")]


def through_the_vpc(deployment) -> list[Request]:
    return [
        request
        for function in deployment.functions
        for request in (*code_requests(deployment, function), *tracing_requests(deployment, function))
    ]


def service_of(request: Request) -> str:
    return request.action.split(":", 1)[0]


def test_every_call_a_function_makes_is_admitted_by_its_endpoint(fraud, fraud_deployment):
    """Each call the functions' code makes (and their X-Ray segments) passes the endpoint of its
    service: by that function's role, on the resource it names."""
    policies = endpoint_policies(fraud)
    requests = through_the_vpc(fraud_deployment)
    assert {service_of(r) for r in requests} <= policies.keys(), "a call with no endpoint: no route"
    refused = [
        (r.action, r.resource, r.principal) for r in requests if not allows(policies[service_of(r)], r)
    ]
    assert refused == []


def admitted(statement: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(role, action, resource) an Allow admits, each named exactly: one role, no wildcard beyond
    X-Ray's resource (its write actions take none)."""
    assert statement["Principal"] == "*"  # gateway endpoints name principals only in a condition
    assert list(statement["Condition"]) == ["ArnEquals"], statement
    (role,) = [statement["Condition"]["ArnEquals"]["aws:PrincipalArn"]]
    assert isinstance(role, str), "one role per statement"
    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
    resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    for value in (*actions, role):
        assert not {"*", "?"} & set(value), statement
    for resource in resources:
        xray = resource == "*" and all(action.startswith("xray:") for action in actions)
        assert xray or not {"*", "?"} & set(resource), statement
    return {(role, action, resource) for action in actions for resource in resources}


@pytest.mark.catalogue("fraud-02", "fraud-03")
def test_each_endpoint_admits_only_the_calls_of_the_functions(fraud, fraud_deployment):
    """Fix: every endpoint has its own policy (the default admitted anything) admitting exactly the
    calls the functions make, each by the calling function's role: no other action, resource or
    principal. CloudWatch Logs, which no function calls (Lambda ships their logs outside the VPC),
    is closed."""
    policies = endpoint_policies(fraud)
    expected: dict[str, set[tuple[str, str, str]]] = {service: set() for service in policies}
    for r in through_the_vpc(fraud_deployment):
        expected[service_of(r)].add((r.principal, r.action, r.resource))
    for service, statements in policies.items():
        assert statements != DEFAULT_POLICY, f"{service}: no policy of its own (AWS's default admits all)"
        allows_ = [s for s in statements if s["Effect"] == "Allow"]
        assert set().union(*map(admitted, allows_)) == expected[service], service
        if not expected[service]:
            assert statements == [
                {
                    "Sid": "NoFunctionCallsThisService",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "*",
                    "Resource": "*",
                }
            ], service


@pytest.mark.parametrize(
    "stranger",
    [
        "arn:aws:iam::123456789012:role/someone-else-in-the-vpc",
        "arn:aws:iam::210987654321:role/fraud-fraud-detector-dev",  # the same name, another account
    ],
)
def test_another_principal_or_resource_is_refused(fraud, fraud_deployment, stranger):
    """What the endpoints admit for the detector is refused to any other principal, and the
    detector's own role is refused other resources: another account's topic, another table."""
    policies = endpoint_policies(fraud)
    (detector,) = fraud_deployment.deployed("fraud_detector")
    region = detector.region
    for request in code_requests(fraud_deployment, detector):
        as_stranger = Request(request.action, request.resource, stranger)
        assert not allows(policies[service_of(request)], as_stranger), request.action
    role = detector.role
    elsewhere = [
        Request("sns:Publish", f"arn:aws:sns:{region}:210987654321:fraud-alerts-dev", role),
        Request("dynamodb:UpdateItem", f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/another-table", role),
        Request("dynamodb:Scan", f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/fraud-transactions-dev", role),
        Request("logs:PutLogEvents", f"arn:aws:logs:{region}:{ACCOUNT}:log-group:/aws/lambda/x:*", role),
    ]
    assert [(r.action, r.resource) for r in elsewhere if allows(policies[service_of(r)], r)] == []
