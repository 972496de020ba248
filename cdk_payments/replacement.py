"""What makes CloudFormation replace a resource, and a fingerprint of it for a logical id's hash.

API Gateway serves a stage from a deployment: a snapshot of the API taken when the deployment was
created, integrations included. When the VPC link or the load balancer behind ``POST /transactions``
is *replaced* (a new physical resource, a new id), CloudFormation updates the method but keeps the
deployment unless the deployment's logical id changes, so the stage goes on routing to the deleted
link. The method names them by ``Ref``, which stays the same across a replacement; what changes is
the value of a property that forces the replacement. So the deployment hashes those values, and
follows references into the resources they name (a subnet that is replaced replaces the link that
sits in it).

``REPLACED_BY`` lists, per type, the properties whose change replaces the resource: the
``createOnlyProperties`` of CloudFormation's resource schemas (a test holds it to the schemas
cfn-lint ships).
"""

from __future__ import annotations

import json
import re
from typing import Any

from aws_cdk import CfnResource, Stack

REPLACED_BY: dict[str, tuple[str, ...]] = {
    "AWS::ApiGatewayV2::VpcLink": ("SecurityGroupIds", "SubnetIds"),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": ("Name", "Type", "Scheme"),
    "AWS::EC2::Subnet": (
        "VpcId",
        "AvailabilityZone",
        "AvailabilityZoneId",
        "CidrBlock",
        "OutpostArn",
        "Ipv6Native",
        "Ipv4IpamPoolId",
        "Ipv4NetmaskLength",
        "Ipv6IpamPoolId",
        "Ipv6NetmaskLength",
    ),
    "AWS::EC2::SecurityGroup": ("GroupDescription", "GroupName", "VpcId"),
    "AWS::EC2::VPC": ("CidrBlock", "Ipv4IpamPoolId", "Ipv4NetmaskLength", "VpcEncryptionControl"),
}
REFERENCE = re.compile(r'"(?:Ref|Fn::GetAtt)": \[?"([A-Za-z0-9]+)"')


def _attribute(name: str) -> str:
    """The L1 attribute of a CloudFormation property: SubnetIds -> subnet_ids."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def fingerprints(stack: Stack, value: Any) -> dict[str, Any]:
    """For each resource of ``stack`` that ``value`` references (Ref, GetAtt) and whose replacement
    rules are known: its replacing properties, resolved, with the same for what they reference."""
    resources = {
        stack.get_logical_id(node): node
        for node in stack.node.find_all()
        if isinstance(node, CfnResource) and node.cfn_resource_type in REPLACED_BY
    }

    def walk(logical_id: str, seen: frozenset[str]) -> dict[str, Any]:
        resource = resources[logical_id]
        properties = {
            name: stack.resolve(getattr(resource, _attribute(name), None))
            for name in REPLACED_BY[resource.cfn_resource_type]
        }
        return {
            "Type": resource.cfn_resource_type,
            "Properties": properties,
            "References": {
                ref: walk(ref, seen | {ref})
                for ref in sorted(set(REFERENCE.findall(json.dumps(properties))) & resources.keys() - seen)
            },
        }

    referenced = set(REFERENCE.findall(json.dumps(stack.resolve(value)))) & resources.keys()
    return {ref: walk(ref, frozenset({ref})) for ref in sorted(referenced)}
