"""Network: an isolated VPC (no NAT, no internet gateway) and the endpoints the functions need."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from cdk_payments.config import PaymentsConfig
from cdk_payments.constructs.encryption import Encryption
from cdk_payments.nag import INLINE_GRANTS, PCI_DSS, acknowledge

APP_SUBNETS = "app"
DATA_SUBNETS = "data"
# Interface endpoints: Secrets Manager (rotation), Lambda (processing invokes validation and
# fraud detection), X-Ray (traces leave the VPC through it). DynamoDB and S3 are gateways.
INTERFACE_ENDPOINTS = {
    "SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "Lambda": ec2.InterfaceVpcEndpointAwsService.LAMBDA_,
    "XRay": ec2.InterfaceVpcEndpointAwsService.XRAY,
}


class Network(Construct):
    """VPC with app and data subnets, both PRIVATE_ISOLATED: AWS services only through endpoints."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: PaymentsConfig, encryption: Encryption
    ) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            vpc_name=config.name("payments"),
            max_azs=2,
            nat_gateways=0,
            # The default security group loses its rules (PCI DSS 1.2, VPCDefaultSecurityGroupClosed);
            # nothing here uses it.
            restrict_default_security_group=True,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name=APP_SUBNETS, subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                ),
                ec2.SubnetConfiguration(
                    name=DATA_SUBNETS, subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                ),
            ],
        )
        flow_log_group = encryption.log_group(
            self, "FlowLogs", log_group_name=f"/payments/{config.env}/vpc-flow-logs"
        )
        flow_log = self.vpc.add_flow_log(
            "FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_log_group)
        )
        acknowledge(flow_log, PCI_DSS, IAMNoInlinePolicy=INLINE_GRANTS)

        self.app_subnets = ec2.SubnetSelection(subnet_group_name=APP_SUBNETS)
        self.data_subnets = ec2.SubnetSelection(subnet_group_name=DATA_SUBNETS)

        self.functions_sg = self._security_group("Functions", config, "payment functions: HTTPS to endpoints")
        self.rotation_sg = self._security_group("Rotation", config, "rotation function: endpoints and Aurora")
        self.endpoints_sg = self._security_group(
            "Endpoints", config, "interface endpoints: 443 from functions"
        )
        self.database_sg = self._security_group("Database", config, "Aurora: 5432 from the rotation function")
        for client in (self.functions_sg, self.rotation_sg):
            # Isolated subnets route nowhere but the VPC and the gateway endpoints (whose prefix
            # lists are only known at deploy time), so 443 out reaches AWS endpoints only.
            client.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to VPC endpoints")
            self.endpoints_sg.add_ingress_rule(client, ec2.Port.tcp(443), "HTTPS from payment functions")
        self.rotation_sg.add_egress_rule(self.database_sg, ec2.Port.tcp(5432), "PostgreSQL to Aurora")
        self.database_sg.add_ingress_rule(self.rotation_sg, ec2.Port.tcp(5432), "PostgreSQL from rotation")

        self.vpc.add_gateway_endpoint(
            "DynamoDbEndpoint", service=ec2.GatewayVpcEndpointAwsService.DYNAMODB, subnets=[self.app_subnets]
        )
        self.vpc.add_gateway_endpoint(
            "S3Endpoint", service=ec2.GatewayVpcEndpointAwsService.S3, subnets=[self.app_subnets]
        )
        for name, service in INTERFACE_ENDPOINTS.items():
            self.vpc.add_interface_endpoint(
                f"{name}Endpoint",
                service=service,
                subnets=self.app_subnets,
                private_dns_enabled=True,
                security_groups=[self.endpoints_sg],
                open=False,
            )

    def _security_group(
        self, construct_id: str, config: PaymentsConfig, description: str
    ) -> ec2.SecurityGroup:
        return ec2.SecurityGroup(
            self,
            f"{construct_id}Sg",
            vpc=self.vpc,
            security_group_name=config.name(f"payments-{construct_id.lower()}"),
            description=description,
            allow_all_outbound=False,
        )
