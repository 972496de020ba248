"""Aurora: a PostgreSQL Global Database, writer in the primary region, a headed secondary cluster
in the other (an instance ready to take writes after failover).

- One engine version everywhere (trading-dr-07): the global cluster and both clusters read it
  from config; 15.10 by default (the seed's 15.4 can no longer be created).
- Storage encrypted in both clusters, each with its region's key (trading-dr-08).
- The master password is generated (pulumi-random; a Pulumi secret, encrypted in state), kept in a
  Secrets Manager secret replicated to the secondary region, and set on the primary cluster only
  (trading-dr-09): a global cluster cannot use the RDS-managed password, and a secondary cluster
  takes no user, password or database name (it replicates them).
- Prod runs two instances per cluster, one per subnet zone: a single instance leaves Aurora nothing
  to fail over to inside the region.
- TLS enforced by the cluster parameter group; RDS events of both clusters go to the region's
  topic (so this component follows the topics, trading-dr-01).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from pulumi_trading_dr.components.keys import Keys
from pulumi_trading_dr.components.network import POSTGRES_PORT, Network
from pulumi_trading_dr.components.region import Region, Regions
from pulumi_trading_dr.config import RoleSettings, TradingConfig

if TYPE_CHECKING:  # sns.py names this component's publishers in its topic policy
    from pulumi_trading_dr.components.sns import Sns

ENGINE = "aurora-postgresql"
# RDS refuses '/', '@', '"' and spaces in a master password.
PASSWORD_SPECIALS = "!#$%&*()-_=+[]{}<>:?"  # noqa: S105 (the allowed characters, not a password)
EVENT_CATEGORIES = ("failover", "failure", "notification", "maintenance")
PROD_INSTANCES = 2  # per cluster: a writer and a reader to fail over to in the region


@dataclass(frozen=True)
class AuroraArgs:
    config: TradingConfig
    regions: Regions
    keys: Keys
    network: Network
    sns: Sns


class Aurora(pulumi.ComponentResource):
    def __init__(self, name: str, args: AuroraArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trading:aurora:Aurora", name, None, opts)
        config, regions = args.config, args.regions
        primary, secondary = regions.primary, regions.secondary
        prod = config.is_production
        self._name, self._args = name, args

        password = random.RandomPassword(
            f"{name}-master-password",
            length=32,
            special=True,
            override_special=PASSWORD_SPECIALS,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.secret = aws.secretsmanager.Secret(
            f"{name}-master-secret",
            name=config.name("db-master"),
            description="Aurora master credentials (replicated to the secondary region)",
            kms_key_id=args.keys.key(primary).arn,
            replicas=[
                aws.secretsmanager.SecretReplicaArgs(
                    region=secondary.name, kms_key_id=args.keys.key(secondary).arn
                )
            ],
            recovery_window_in_days=30 if prod else 0,  # dev: a re-created stack reuses the name at once
            opts=primary.opts(self),
        )
        aws.secretsmanager.SecretVersion(
            f"{name}-master-secret-value",
            secret_id=self.secret.id,
            secret_string=pulumi.Output.json_dumps(
                {
                    "engine": "postgres",
                    "username": config.master_username,
                    "password": password.result,
                    "dbname": config.database_name,
                    "port": POSTGRES_PORT,
                }
            ),
            opts=primary.opts(self),
        )
        # The replica's ARN: same name and suffix, the secondary region.
        self.secret_arns = {
            "primary": self.secret.arn,
            "secondary": self.secret.arn.apply(lambda arn: _in_region(arn, secondary.name)),
        }

        self.global_cluster = aws.rds.GlobalCluster(
            f"{name}-global",
            global_cluster_identifier=config.name("db"),
            engine=ENGINE,
            engine_version=config.aurora_engine_version,
            storage_encrypted=True,
            deletion_protection=prod,
            opts=primary.opts(self),
        )
        self.clusters: dict[str, aws.rds.Cluster] = {}
        # Both members: after a switchover or failover RDS changes which cluster replicates from
        # which; a pulumi up must not "correct" it (pulumi-aws: removing the attribute promotes a
        # replica to a standalone cluster).
        managed_by_rds = ["replicationSourceIdentifier"]
        primary_cluster = self._cluster(
            primary,
            ignore_changes=managed_by_rds,
            master_username=config.master_username,
            master_password=password.result,
            database_name=config.database_name,
        )
        primary_instances = self._instances(primary, primary_cluster)
        # The secondary joins once the primary has a writer; it replicates user, password and
        # database, and must not set them.
        secondary_cluster = self._cluster(
            secondary,
            depends_on=primary_instances,
            ignore_changes=managed_by_rds,
        )
        self._instances(secondary, secondary_cluster)
        for region in regions:
            aws.rds.EventSubscription(
                f"{name}-{region.role}-events",
                name=event_subscription_name(config, region.settings),
                sns_topic=args.sns.topic(region).arn,
                source_type="db-cluster",
                source_ids=[self.clusters[region.role].cluster_identifier],
                event_categories=list(EVENT_CATEGORIES),
                # The topic policy admits this subscription; before it exists RDS is refused.
                opts=region.opts(self, depends_on=[args.sns.policy(region)]),
            )
        self.register_outputs(
            {
                "global_cluster": self.global_cluster.id,
                **{f"{r.role}_endpoint": self.writer_endpoint(r) for r in regions},
            }
        )

    def cluster(self, region: Region) -> aws.rds.Cluster:
        return self.clusters[region.role]

    def writer_endpoint(self, region: Region) -> pulumi.Output[str]:
        """The region's cluster (writer) endpoint, derived from its reader endpoint.

        A global database's secondary cluster has a writer endpoint that is inactive (it does not
        resolve) until the cluster is promoted, and the provider may record it empty
        (terraform-provider-aws#14219: a secondary "will only have a ReaderEndpoint"). Both
        endpoints share the cluster's name and suffix (``<id>.cluster-ro-<x>`` and
        ``<id>.cluster-<x>``), so the writer's name is known before it is active: a function
        configured with it reaches its region's writer as soon as the promotion makes it one,
        without a pulumi up (which is not run while the secondary writes).
        """
        return self.cluster(region).reader_endpoint.apply(writer_of)

    def reader_endpoint(self, region: Region) -> pulumi.Output[str]:
        return self.cluster(region).reader_endpoint

    def _cluster(
        self,
        region: Region,
        depends_on: list[pulumi.Resource] | None = None,
        ignore_changes=None,
        **credentials,
    ) -> aws.rds.Cluster:
        config, args, name = self._args.config, self._args, self._name
        prod = config.is_production
        child = region.opts(self)
        subnet_group = aws.rds.SubnetGroup(
            f"{name}-{region.role}-subnets",
            name=config.name("db", region.settings),
            subnet_ids=args.network.of(region).subnet_ids,
            opts=child,
        )
        major = config.aurora_engine_version.split(".")[0]
        parameters = aws.rds.ClusterParameterGroup(
            f"{name}-{region.role}-parameters",
            name=config.name("db", region.settings),
            family=f"aurora-postgresql{major}",
            description="TLS only",
            parameters=[aws.rds.ClusterParameterGroupParameterArgs(name="rds.force_ssl", value="1")],
            opts=child,
        )
        identifier = cluster_identifier(config, region.settings)
        cluster = aws.rds.Cluster(
            f"{name}-{region.role}",
            cluster_identifier=identifier,
            global_cluster_identifier=self.global_cluster.id,
            engine=ENGINE,
            engine_version=config.aurora_engine_version,
            engine_mode="provisioned",
            db_subnet_group_name=subnet_group.name,
            db_cluster_parameter_group_name=parameters.name,
            vpc_security_group_ids=[args.network.of(region).database_sg.id],
            port=POSTGRES_PORT,
            storage_encrypted=True,  # both clusters (trading-dr-08), each on its region's key
            kms_key_id=args.keys.key(region).arn,
            serverlessv2_scaling_configuration=aws.rds.ClusterServerlessv2ScalingConfigurationArgs(
                min_capacity=config.aurora_min_capacity, max_capacity=config.aurora_max_capacity
            ),
            backup_retention_period=7,
            copy_tags_to_snapshot=True,
            enabled_cloudwatch_logs_exports=["postgresql"],
            deletion_protection=prod,
            skip_final_snapshot=not prod,
            final_snapshot_identifier=f"{identifier}-final" if prod else None,
            **credentials,
            opts=region.opts(self, depends_on=depends_on, ignore_changes=ignore_changes, protect=prod),
        )
        self.clusters[region.role] = cluster
        return cluster

    def _instances(self, region: Region, cluster: aws.rds.Cluster) -> list[aws.rds.ClusterInstance]:
        """The writer and, in prod, a reader in the other subnet's zone: without a second instance
        Aurora has nothing to fail over to inside the region (it re-creates the writer instead)."""
        config, name = self._args.config, self._name
        count = PROD_INSTANCES if config.is_production else 1
        network = self._args.network.of(region)
        instances = []
        for index in range(count):
            suffix = "" if index == 0 else f"-{index + 1}"  # the first keeps its logical name
            instances.append(
                aws.rds.ClusterInstance(
                    f"{name}-{region.role}-instance{suffix}",
                    identifier=config.name(f"db-{index + 1}", region.settings),
                    cluster_identifier=cluster.id,
                    instance_class="db.serverless",
                    engine=ENGINE,
                    engine_version=config.aurora_engine_version,
                    # One instance per zone when there are several (RDS picks a random zone
                    # otherwise); a single instance is left where RDS put it.
                    availability_zone=network.zone_name(index) if count > 1 else None,
                    publicly_accessible=False,
                    # Minor upgrades of a global database are coordinated across regions, not automatic.
                    auto_minor_version_upgrade=False,
                    performance_insights_enabled=True,
                    performance_insights_kms_key_id=self._args.keys.key(region).arn,
                    opts=region.opts(self),
                )
            )
        return instances


def cluster_identifier(config: TradingConfig, settings: RoleSettings) -> str:
    return config.name("db", settings)


def event_subscription_name(config: TradingConfig, settings: RoleSettings) -> str:
    return config.name("db-events", settings)


def _in_region(arn: str, region: str) -> str:
    parts = arn.split(":")
    parts[3] = region
    return ":".join(parts)


def writer_of(reader_endpoint: str) -> str:
    """``<id>.cluster-ro-<x>.<region>.rds.amazonaws.com`` -> ``<id>.cluster-<x>.<region>...``."""
    if ".cluster-ro-" not in reader_endpoint:
        raise ValueError(f"not an Aurora reader endpoint: {reader_endpoint!r}")
    return reader_endpoint.replace(".cluster-ro-", ".cluster-", 1)
