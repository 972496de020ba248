"""Endpoint policies: each VPC endpoint admits exactly the calls the functions' code makes through
it, by those functions' roles, on this stack's resources (compute.py's ``calls``), and nothing else:
not another principal in the VPC, not another table, queue or topic, in this account or another.

Gateway endpoints name their principal only through ``aws:PrincipalArn`` (Principal must be "*"),
so every statement does the same. An endpoint no function calls through (CloudWatch Logs: Lambda
delivers the functions' logs itself, outside the VPC) denies everything. Calls Lambda makes with a
role (polling a queue, sending a failed asynchronous invocation, SNS using a topic key) do not
cross the VPC and are left to the roles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from pulumi_fraud_pipeline.components.compute import VpcCaller

DENY_ALL = [
    {"Sid": "NoFunctionCallsThisService", "Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"}
]


@dataclass(frozen=True)
class EndpointPoliciesArgs:
    endpoints: dict[str, aws.ec2.VpcEndpoint]  # by service, its IAM action prefix
    callers: dict[str, VpcCaller]  # by function


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return actions if isinstance(actions, list) else [actions]


def admitted(service: str, callers: dict[str, VpcCaller]) -> list[dict[str, Any]]:
    """One Allow per call statement of ``service``, for the caller's role only."""
    return [
        {
            "Sid": f"{function.replace('_', '')}{index}",
            "Effect": "Allow",
            "Principal": "*",
            "Action": statement["Action"],
            "Resource": statement["Resource"],
            "Condition": {"ArnEquals": {"aws:PrincipalArn": caller.role_arn}},
        }
        for function, caller in callers.items()
        for index, statement in enumerate(caller.calls)
        if {action.split(":", 1)[0] for action in _actions(statement)} == {service}
    ]


class EndpointPolicies(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: EndpointPoliciesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("fraud:network:EndpointPolicies", name, None, opts)
        for service, endpoint in args.endpoints.items():
            aws.ec2.VpcEndpointPolicy(
                f"{name}-{service}",
                vpc_endpoint_id=endpoint.id,
                policy=pulumi.Output.json_dumps(
                    {"Version": "2012-10-17", "Statement": admitted(service, args.callers) or DENY_ALL}
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({})
