"""Network: an isolated VPC (no NAT, no internet gateway) and the endpoints the functions need."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws, CfnMapping, Stack, Token, aws_ec2 as ec2, aws_iam as iam
from constructs import Construct

from cdk_payments.config import ConfigError, PaymentsConfig
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
# Each endpoint under the IAM prefix of the actions it carries.
ENDPOINT_PREFIXES = {"SecretsManager": "secretsmanager", "Lambda": "lambda", "XRay": "xray"}
# The availability zones, by ID, where API Gateway supports VPC links V2 (AWS's "Availability by
# Region", API Gateway developer guide). The link's subnets must lie in them; use1-az3, for one,
# takes no link, and AZ letters name different zones in every account. The stack places its
# subnets by ID, by default in the first two of its region (config zone_ids chooses others).
VPC_LINK_V2_ZONE_IDS = {
    "us-east-2": ("use2-az1", "use2-az2", "use2-az3"),
    "us-east-1": ("use1-az1", "use1-az2", "use1-az4", "use1-az5", "use1-az6"),
    "us-west-1": ("usw1-az1", "usw1-az3"),
    "us-west-2": ("usw2-az1", "usw2-az2", "usw2-az3", "usw2-az4"),
    "ap-east-1": ("ape1-az2", "ape1-az3"),
    "ap-south-1": ("aps1-az1", "aps1-az2", "aps1-az3"),
    "ap-northeast-2": ("apne2-az1", "apne2-az2", "apne2-az3"),
    "ap-southeast-1": ("apse1-az1", "apse1-az2", "apse1-az3"),
    "ap-southeast-2": ("apse2-az1", "apse2-az2", "apse2-az3"),
    "ap-northeast-1": ("apne1-az1", "apne1-az2", "apne1-az4"),
    "ca-central-1": ("cac1-az1", "cac1-az2"),
    "eu-central-1": ("euc1-az1", "euc1-az2", "euc1-az3"),
    "eu-west-1": ("euw1-az1", "euw1-az2", "euw1-az3"),
    "eu-west-2": ("euw2-az1", "euw2-az2", "euw2-az3"),
    "eu-west-3": ("euw3-az1", "euw3-az3"),
    "eu-south-2": ("eus2-az1", "eus2-az2", "eus2-az3"),
    "eu-north-1": ("eun1-az1", "eun1-az2", "eun1-az3"),
    "me-south-1": ("mes1-az1", "mes1-az2", "mes1-az3"),
    "sa-east-1": ("sae1-az1", "sae1-az2", "sae1-az3"),
    "us-gov-west-1": ("usgw1-az1", "usgw1-az2", "usgw1-az3"),
}
ZONE_KEYS = ("Zone1", "Zone2")


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
        self._place_subnets_by_zone_id(config)
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

        # Each endpoint's policy admits only what ``admit`` adds (the default admits anything).
        self.endpoints: dict[str, ec2.GatewayVpcEndpoint | ec2.InterfaceVpcEndpoint] = {
            "dynamodb": self.vpc.add_gateway_endpoint(
                "DynamoDbEndpoint",
                service=ec2.GatewayVpcEndpointAwsService.DYNAMODB,
                subnets=[self.app_subnets],
            ),
            "s3": self.vpc.add_gateway_endpoint(
                "S3Endpoint", service=ec2.GatewayVpcEndpointAwsService.S3, subnets=[self.app_subnets]
            ),
        }
        for name, service in INTERFACE_ENDPOINTS.items():
            self.endpoints[ENDPOINT_PREFIXES[name]] = self.vpc.add_interface_endpoint(
                f"{name}Endpoint",
                service=service,
                subnets=self.app_subnets,
                private_dns_enabled=True,
                security_groups=[self.endpoints_sg],
                open=False,
            )

    def admit(self, roles: Sequence[iam.IRole], actions: Sequence[str], resources: Sequence[str]) -> None:
        """Let ``roles`` call ``actions`` on ``resources`` through the endpoint of the actions'
        service, and nothing else through it: the stack admits what its functions' grants allow.

        Principal "*" with ``aws:PrincipalArn``: in a gateway endpoint's policy a principal ARN is
        not matched against the caller's role (AWS: use that condition key), so both kinds say it
        the same way."""
        services = {action.split(":", 1)[0] for action in actions}
        if len(services) != 1 or next(iter(services)) not in self.endpoints:
            raise ValueError(f"no endpoint for {sorted(services)}: add one beside {sorted(self.endpoints)}")
        self.endpoints[services.pop()].add_to_policy(
            iam.PolicyStatement(
                principals=[iam.AnyPrincipal()],
                actions=list(actions),
                resources=list(resources),
                conditions={"ArnEquals": {"aws:PrincipalArn": [role.role_arn for role in roles]}},
            )
        )

    def _place_subnets_by_zone_id(self, config: PaymentsConfig) -> None:
        """Each subnet in a zone by ID (AvailabilityZoneId), not by the account's zone names.

        The VPC link, the ALB, the functions and the endpoints all sit in these subnets. Names
        (us-east-1a) map to different zones in each account, so the first two names of one account
        may be a zone without VPC links V2 (or without an endpoint service). An ID is the same zone
        everywhere; the default pair is one VPC links V2 support in the region."""
        zones: list[str]
        region = Stack.of(self).region
        if config.zone_ids is not None:
            zones = list(config.zone_ids)
        elif not Token.is_unresolved(region) and region not in VPC_LINK_V2_ZONE_IDS:
            raise ConfigError(
                f"zone_ids: required in {region}, where this stack knows no zones that take VPC links "
                "V2; set -c zone_ids=<id>,<id> from API Gateway's list for the region"
            )
        else:
            mapping = CfnMapping(
                self,
                "VpcLinkZones",
                mapping={
                    region: dict(zip(ZONE_KEYS, ids[:2], strict=True))
                    for region, ids in VPC_LINK_V2_ZONE_IDS.items()
                },
            )
            zones = [mapping.find_in_map(Aws.REGION, key) for key in ZONE_KEYS]
        for group in (APP_SUBNETS, DATA_SUBNETS):
            subnets = self.vpc.select_subnets(subnet_group_name=group).subnets
            if len(subnets) != len(zones):
                raise ValueError(f"{group}: {len(subnets)} subnets for {len(zones)} zones")
            for subnet, zone in zip(subnets, zones, strict=True):
                cfn: ec2.CfnSubnet = subnet.node.default_child  # type: ignore[assignment]
                cfn.availability_zone = None  # type: ignore[assignment]
                cfn.availability_zone_id = zone

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
