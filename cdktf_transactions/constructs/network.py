"""Network: a VPC with two private subnets (own route tables) and no route out, security groups
with HTTPS-only egress and a description on every rule (transactions-10), and the endpoints the
stack adds for what its functions call, of the right type and with a policy (transactions-04)."""

from __future__ import annotations

from typing import Any

from cdktn import Fn
from cdktn_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktn_provider_aws.default_security_group import DefaultSecurityGroup
from cdktn_provider_aws.flow_log import FlowLog
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.iam_role_policy import IamRolePolicy
from cdktn_provider_aws.route_table import RouteTable
from cdktn_provider_aws.route_table_association import RouteTableAssociation
from cdktn_provider_aws.security_group import SecurityGroup
from cdktn_provider_aws.subnet import Subnet
from cdktn_provider_aws.vpc import Vpc
from cdktn_provider_aws.vpc_endpoint import VpcEndpoint
from cdktn_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from cdktn_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

from cdktf_transactions.config import TransactionsConfig
from cdktf_transactions.constructs.policy import policy_document, service_trust


class Network(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: TransactionsConfig, account_id: str
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.vpc = Vpc(
            self,
            "vpc",
            cidr_block=config.vpc_cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={"Name": config.name("transactions")},
        )
        # The default security group admits nothing: everything uses the groups below.
        DefaultSecurityGroup(self, "default-sg", vpc_id=self.vpc.id)
        self._flow_logs(config, account_id)
        self.subnets: list[Subnet] = []
        self.route_tables: list[RouteTable] = []
        # Pinned zones (config), not a data source whose result grows when AWS adds a zone.
        for index in range(len(config.availability_zones)):
            subnet = Subnet(
                self,
                f"private-{index}",
                vpc_id=self.vpc.id,
                cidr_block=Fn.cidrsubnet(config.vpc_cidr, 8, index),
                availability_zone=config.availability_zones[index],
                map_public_ip_on_launch=False,
                tags={"Name": config.name(f"transactions-private-{index}")},
            )
            table = RouteTable(
                self,
                f"private-rt-{index}",
                vpc_id=self.vpc.id,
                tags={"Name": config.name(f"transactions-private-{index}")},
            )
            RouteTableAssociation(self, f"private-rta-{index}", subnet_id=subnet.id, route_table_id=table.id)
            self.subnets.append(subnet)
            self.route_tables.append(table)

        self.lambda_sg = SecurityGroup(
            self,
            "lambda-sg",
            name=config.name("transactions-lambda"),
            vpc_id=self.vpc.id,
            description="Transaction functions: HTTPS out to VPC endpoints only",
            tags={"Name": config.name("transactions-lambda")},
        )
        self.endpoint_sg = SecurityGroup(
            self,
            "endpoint-sg",
            name=config.name("transactions-endpoints"),
            vpc_id=self.vpc.id,
            description="Interface endpoints: HTTPS in from the transaction functions",
            tags={"Name": config.name("transactions-endpoints")},
        )
        VpcSecurityGroupIngressRule(
            self,
            "endpoint-in-https",
            security_group_id=self.endpoint_sg.id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            referenced_security_group_id=self.lambda_sg.id,
            description="HTTPS from the transaction functions",
        )
        VpcSecurityGroupEgressRule(
            self,
            "lambda-out-endpoints",
            security_group_id=self.lambda_sg.id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            referenced_security_group_id=self.endpoint_sg.id,
            description="HTTPS to the interface endpoints",
        )

    def add_gateway_endpoint(self, service: str, *, statements: list[dict[str, Any]]) -> VpcEndpoint:
        """A Gateway endpoint (DynamoDB, S3) on the private route tables, admitting only ``statements``."""
        endpoint = VpcEndpoint(
            self,
            f"{service}-endpoint",
            vpc_id=self.vpc.id,
            service_name=f"com.amazonaws.{self._config.region}.{service}",
            vpc_endpoint_type="Gateway",
            route_table_ids=[t.id for t in self.route_tables],
            policy=policy_document(self, f"{service}-endpoint-policy", statements),
            tags={"Name": self._config.name(f"transactions-{service}")},
        )
        VpcSecurityGroupEgressRule(
            self,
            f"lambda-out-{service}",
            security_group_id=self.lambda_sg.id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            prefix_list_id=endpoint.prefix_list_id,
            description=f"HTTPS to {service} through its gateway endpoint",
        )
        return endpoint

    def add_interface_endpoint(self, service: str, *, statements: list[dict[str, Any]]) -> VpcEndpoint:
        """An Interface endpoint (billed per hour and zone: only for a service the functions call)."""
        return VpcEndpoint(
            self,
            f"{service}-endpoint",
            vpc_id=self.vpc.id,
            service_name=f"com.amazonaws.{self._config.region}.{service}",
            vpc_endpoint_type="Interface",
            private_dns_enabled=True,
            subnet_ids=[s.id for s in self.subnets],
            security_group_ids=[self.endpoint_sg.id],
            policy=policy_document(self, f"{service}-endpoint-policy", statements),
            tags={"Name": self._config.name(f"transactions-{service}")},
        )

    def _flow_logs(self, config: TransactionsConfig, account_id: str) -> None:
        group = CloudwatchLogGroup(
            self,
            "flow-logs",
            name=f"/transactions/{config.env}/vpc-flow-logs",
            retention_in_days=config.log_retention_days,
        )
        role = IamRole(
            self,
            "flow-logs-role",
            name=config.global_name("transactions-flow-logs"),  # IAM: per account, not per region
            assume_role_policy=service_trust(
                self,
                "flow-logs-trust",
                service="vpc-flow-logs.amazonaws.com",
                account_id=account_id,
                # The flow log's id exists only after creation: any flow log of this account and region.
                source_arn=f"arn:aws:ec2:{config.region}:{account_id}:vpc-flow-log/*",
            ),
        )
        IamRolePolicy(
            self,
            "flow-logs-policy",
            role=role.id,
            name="deliver-flow-logs",
            policy=policy_document(
                self,
                "flow-logs-policy-document",
                [
                    {
                        "Sid": "OwnLogGroup",
                        "Effect": "Allow",
                        "Resource": f"{group.arn}:*",
                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    }
                ],
            ),
        )
        FlowLog(
            self,
            "flow-log",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
        )
