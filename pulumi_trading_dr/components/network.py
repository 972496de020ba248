"""Network, in both regions: a VPC with two private subnets (their own route tables, no internet
route) in two Availability Zones the region's provider reports as available, chosen by zone ID
(a letter such as ``us-east-1a`` names a different physical zone in each account, and may not
exist or take new resources in it; ``use1-az1`` is the same zone everywhere), a DynamoDB gateway
endpoint and the interface endpoints the functions in the VPC call (Secrets Manager for the
database credentials, SQS and CloudWatch for the health route's queue checks and the order
processor's read-only retry, X-Ray for traces). Security groups: the database admits 5432 from its
two client groups only (trading-dr-10): the order processor's and the health route's; each leaves
only for the database, the endpoints and (the order processor) DynamoDB."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from pulumi_trading_dr.components.region import Region, Regions
from pulumi_trading_dr.config import TradingConfig

POSTGRES_PORT = 5432
INTERFACE_SERVICES = ("secretsmanager", "sqs", "monitoring", "xray")
ZONE_COUNT = 2


@dataclass(frozen=True)
class NetworkArgs:
    config: TradingConfig
    regions: Regions


@dataclass(frozen=True, order=True)
class Zone:
    zone_id: str  # use1-az1: the same physical zone in every account
    name: str  # us-east-1c: this account's letter for it


@dataclass(frozen=True)
class RegionalNetwork:
    vpc: aws.ec2.Vpc
    subnets: list[aws.ec2.Subnet]
    zones: pulumi.Output[list[Zone]]  # the subnets' zones, in subnet order
    lambda_sg: aws.ec2.SecurityGroup  # the order processor (and the reconciliation, same needs)
    health_sg: aws.ec2.SecurityGroup  # the deep health route
    database_sg: aws.ec2.SecurityGroup

    def zone_name(self, index: int) -> pulumi.Output[str]:
        return self.zones.apply(lambda zones: zones[index % len(zones)].name)

    @property
    def subnet_ids(self) -> list[pulumi.Output[str]]:
        return [s.id for s in self.subnets]


class Network(pulumi.ComponentResource):
    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trading:network:Network", name, None, opts)
        self._name, self._config = name, args.config
        self.regional = {region.role: self._region(region) for region in args.regions}
        self.register_outputs({role: net.vpc.id for role, net in self.regional.items()})

    def of(self, region: Region) -> RegionalNetwork:
        return self.regional[region.role]

    def _region(self, region: Region) -> RegionalNetwork:
        config, child = self._config, region.opts(self)
        prefix = f"{self._name}-{region.role}"
        cidr = ipaddress.ip_network(region.settings.vpc_cidr)
        vpc = aws.ec2.Vpc(
            f"{prefix}-vpc",
            cidr_block=str(cidr),
            enable_dns_support=True,
            enable_dns_hostnames=True,  # private DNS of the interface endpoints
            tags={"Name": config.name("vpc", region.settings)},
            opts=child,
        )
        zones = aws.get_availability_zones_output(
            state="available",
            filters=[aws.GetAvailabilityZonesFilterArgs(name="zone-type", values=["availability-zone"])],
            opts=pulumi.InvokeOutputOptions(provider=region.provider),
        ).apply(lambda found: choose_zones(found.zone_ids, found.names, region.name))
        subnets, tables = [], []
        for index in range(ZONE_COUNT):
            subnet = aws.ec2.Subnet(
                f"{prefix}-private-{index}",
                vpc_id=vpc.id,
                availability_zone_id=zones.apply(lambda chosen, i=index: chosen[i].zone_id),
                cidr_block=str(list(cidr.subnets(new_prefix=24))[index]),
                map_public_ip_on_launch=False,
                tags={"Name": config.name(f"private-{index}", region.settings)},
                opts=child,
            )
            table = aws.ec2.RouteTable(
                f"{prefix}-private-rt-{index}",
                vpc_id=vpc.id,
                tags={"Name": config.name(f"private-{index}", region.settings)},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{prefix}-private-rta-{index}", subnet_id=subnet.id, route_table_id=table.id, opts=child
            )
            subnets.append(subnet)
            tables.append(table)

        def group(role: str, description: str) -> aws.ec2.SecurityGroup:
            return aws.ec2.SecurityGroup(
                f"{prefix}-{role}-sg",
                vpc_id=vpc.id,
                name=config.name(role, region.settings),
                description=description,
                tags={"Name": config.name(role, region.settings)},
                opts=child,
            )

        lambda_sg = group("orders-fn", "Order processor: to the database, the endpoints and DynamoDB only")
        health_sg = group("health-fn", "Health route: to the database and the endpoints only")
        database_sg = group("database", "Aurora: PostgreSQL from the order processor and the health route")
        endpoint_sg = group("endpoints", "Interface endpoints: HTTPS from the functions in the VPC")

        def rule(kind: str, key: str, security_group, port: int, description: str, **peer) -> None:
            cls = aws.vpc.SecurityGroupIngressRule if kind == "in" else aws.vpc.SecurityGroupEgressRule
            cls(
                f"{prefix}-{key}",
                security_group_id=security_group.id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                description=description,
                opts=child,
                **peer,
            )

        # trading-dr-10: the database admits its clients' security groups, never a CIDR.
        clients = ((lambda_sg, "orders", "order processor"), (health_sg, "health", "health route"))
        for client, key, what in clients:
            rule(
                "in",
                f"database-in-{key}",
                database_sg,
                POSTGRES_PORT,
                f"PostgreSQL from the {what}",
                referenced_security_group_id=client.id,
            )
            rule(
                "out",
                f"{key}-out-database",
                client,
                POSTGRES_PORT,
                "PostgreSQL to Aurora",
                referenced_security_group_id=database_sg.id,
            )
            rule(
                "in",
                f"endpoints-in-{key}",
                endpoint_sg,
                443,
                f"HTTPS from the {what}",
                referenced_security_group_id=client.id,
            )
            rule(
                "out",
                f"{key}-out-endpoints",
                client,
                443,
                "HTTPS to the interface endpoints",
                referenced_security_group_id=endpoint_sg.id,
            )
        dynamodb = aws.ec2.VpcEndpoint(
            f"{prefix}-dynamodb",
            vpc_id=vpc.id,
            service_name=f"com.amazonaws.{region.name}.dynamodb",
            vpc_endpoint_type="Gateway",
            route_table_ids=[t.id for t in tables],
            tags={"Name": config.name("dynamodb", region.settings)},
            opts=child,
        )
        rule(
            "out",
            "orders-out-dynamodb",
            lambda_sg,
            443,
            "HTTPS to DynamoDB through its gateway endpoint",
            prefix_list_id=dynamodb.prefix_list_id,
        )
        for service in INTERFACE_SERVICES:
            aws.ec2.VpcEndpoint(
                f"{prefix}-{service}",
                vpc_id=vpc.id,
                service_name=f"com.amazonaws.{region.name}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=[s.id for s in subnets],
                security_group_ids=[endpoint_sg.id],
                tags={"Name": config.name(service, region.settings)},
                opts=child,
            )
        return RegionalNetwork(
            vpc=vpc,
            subnets=subnets,
            zones=zones,
            lambda_sg=lambda_sg,
            health_sg=health_sg,
            database_sg=database_sg,
        )


def choose_zones(zone_ids: list[str], names: list[str], region: str) -> list[Zone]:
    """The first ZONE_COUNT zones by ID (the provider lists IDs and names in the same order), so
    every account gets the same physical zones."""
    zones = sorted(Zone(zone_id, name) for zone_id, name in zip(zone_ids, names, strict=True))
    if len(zones) < ZONE_COUNT:
        raise ValueError(
            f"{region}: {len(zones)} available Availability Zone(s), the stack needs {ZONE_COUNT}"
        )
    return zones[:ZONE_COUNT]
