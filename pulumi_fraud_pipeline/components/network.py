"""Network: private subnets with their own route tables (fraud-04), a DynamoDB gateway endpoint
on them (fraud-03, -16), interface endpoints behind a security group that admits 443 from the
Lambda security group only (fraud-02, -17). No internet route. What each endpoint admits is set
by endpoint_policies.py, from what the functions call."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from pulumi_fraud_pipeline.config import FraudConfig

INTERFACE_SERVICES = ("sqs", "sns", "logs", "xray")  # xray: active tracing needs a way out too


@dataclass(frozen=True)
class NetworkArgs:
    config: FraudConfig


class Network(pulumi.ComponentResource):
    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("fraud:network:Network", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)
        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=config.vpc_cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": config.name("vpc")},
            opts=child,
        )
        self.subnets: list[aws.ec2.Subnet] = []
        self.route_tables: list[aws.ec2.RouteTable] = []
        for index, zone in enumerate(config.availability_zones):
            subnet = aws.ec2.Subnet(
                f"{name}-private-{index}",
                vpc_id=self.vpc.id,
                availability_zone=zone,
                cidr_block=str(list(ipaddress.ip_network(config.vpc_cidr).subnets(new_prefix=24))[index]),
                map_public_ip_on_launch=False,
                tags={"Name": config.name(f"private-{index}")},
                opts=child,
            )
            table = aws.ec2.RouteTable(
                f"{name}-private-rt-{index}",
                vpc_id=self.vpc.id,
                tags={"Name": config.name(f"private-{index}")},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-rta-{index}", subnet_id=subnet.id, route_table_id=table.id, opts=child
            )
            self.subnets.append(subnet)
            self.route_tables.append(table)

        self.lambda_sg = aws.ec2.SecurityGroup(
            f"{name}-lambda-sg",
            vpc_id=self.vpc.id,
            name=config.name("lambda"),
            description="Fraud pipeline functions: HTTPS to VPC endpoints only",
            opts=child,
        )
        self.endpoint_sg = aws.ec2.SecurityGroup(
            f"{name}-endpoint-sg",
            vpc_id=self.vpc.id,
            name=config.name("endpoints"),
            description="Interface endpoints: HTTPS from the fraud pipeline functions",
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-endpoint-in-https",
            security_group_id=self.endpoint_sg.id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            referenced_security_group_id=self.lambda_sg.id,
            description="HTTPS from the fraud pipeline functions",
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-lambda-out-endpoints",
            security_group_id=self.lambda_sg.id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            referenced_security_group_id=self.endpoint_sg.id,
            description="HTTPS to the interface endpoints",
            opts=child,
        )
        self.endpoints: dict[str, aws.ec2.VpcEndpoint] = {}  # by service (its IAM prefix)
        self.dynamodb_endpoint = self.endpoints["dynamodb"] = aws.ec2.VpcEndpoint(
            f"{name}-dynamodb",
            vpc_id=self.vpc.id,
            service_name=f"com.amazonaws.{config.region}.dynamodb",
            vpc_endpoint_type="Gateway",
            route_table_ids=[t.id for t in self.route_tables],
            tags={"Name": config.name("dynamodb")},
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-lambda-out-dynamodb",
            security_group_id=self.lambda_sg.id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            prefix_list_id=self.dynamodb_endpoint.prefix_list_id,
            description="HTTPS to DynamoDB through its gateway endpoint",
            opts=child,
        )
        for service in INTERFACE_SERVICES:
            self.endpoints[service] = aws.ec2.VpcEndpoint(
                f"{name}-{service}",
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{config.region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=[s.id for s in self.subnets],
                security_group_ids=[self.endpoint_sg.id],
                tags={"Name": config.name(service)},
                opts=child,
            )
        self.register_outputs({"vpc_id": self.vpc.id})
