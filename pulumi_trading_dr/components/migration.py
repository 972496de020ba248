"""Migration: the application's database login and the ledger's schema, made by ``pulumi up`` on
the writer (the primary region: ``pulumi up`` is not run while the secondary writes, README).

- The application role's password is generated (pulumi-random: a secret, encrypted in the state,
  never in code or resources.json) and kept in a Secrets Manager secret of its own,
  ``trading-db-app-<env>``, replicated to the secondary region like the master secret. The order
  processor, the health route and the reconciliation read their region's copy (orders.py,
  health.py); none of them may read the master secret.
- The migrate function (lambda_src/pulumi_trading_dr/migrate), in the primary VPC, logs in as the
  master user and creates the tables, the application role and exactly its grants (the function's
  docstring lists them). Its role reads the two secrets in the primary region, nothing else.
- An ``aws.lambda_.Invocation`` runs it during ``pulumi up`` (RequestResponse; a function error
  fails the update). Its input is ``{"migration": <sha256 of the function's source>}``: with the
  default CREATE_ONLY lifecycle a changed input replaces the invocation, so a changed migration
  runs on the next ``pulumi up`` and an unchanged one does not. Its triggers re-run it for a new
  application password (the secret's version) and a new cluster (its resource id). It waits for the
  whole Aurora component (both clusters, their instances, the master secret).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from lambda_src.build import SRC
from pulumi_trading_dr.components.aurora import PASSWORD_SPECIALS, Aurora, _in_region
from pulumi_trading_dr.components.functions import FunctionSpec, key_use, regional_function, shared_layer
from pulumi_trading_dr.components.keys import Keys
from pulumi_trading_dr.components.network import POSTGRES_PORT, Network
from pulumi_trading_dr.components.region import Region, Regions
from pulumi_trading_dr.config import TradingConfig

APP_USERNAME = "trading_app"  # the role the functions log in as; the migration creates it
MIGRATE_SOURCE = SRC / "pulumi_trading_dr" / "migrate"
MIGRATE_TIMEOUT = 120  # seconds: DDL on an empty or small ledger, with a 5 s lock timeout per statement


def migration_digest(source: Path = MIGRATE_SOURCE) -> str:
    """sha256 of the migration's code (what it creates and grants is in it): a new value re-runs it."""
    digest = hashlib.sha256()
    for path in sorted(source.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class MigrationArgs:
    config: TradingConfig
    regions: Regions
    keys: Keys
    network: Network
    aurora: Aurora


class Migration(pulumi.ComponentResource):
    def __init__(self, name: str, args: MigrationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trading:migration:Migration", name, None, opts)
        config, regions, aurora = args.config, args.regions, args.aurora
        primary, secondary = regions.primary, regions.secondary

        password = random.RandomPassword(
            f"{name}-app-password",
            length=32,
            special=True,
            override_special=PASSWORD_SPECIALS,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.app_secret = aws.secretsmanager.Secret(
            f"{name}-app-secret",
            name=config.name("db-app"),
            description=f"Aurora login of the application role {APP_USERNAME} (replicated)",
            kms_key_id=args.keys.key(primary).arn,
            replicas=[
                aws.secretsmanager.SecretReplicaArgs(
                    region=secondary.name, kms_key_id=args.keys.key(secondary).arn
                )
            ],
            recovery_window_in_days=30 if config.is_production else 0,
            opts=primary.opts(self),
        )
        version = aws.secretsmanager.SecretVersion(
            f"{name}-app-secret-value",
            secret_id=self.app_secret.id,
            secret_string=pulumi.Output.json_dumps(
                {
                    "engine": "postgres",
                    "username": APP_USERNAME,
                    "password": password.result,
                    "dbname": config.database_name,
                    "port": POSTGRES_PORT,
                }
            ),
            opts=primary.opts(self),
        )
        # The replica's ARN: same name and suffix, the secondary region.
        self.app_secret_arns = {
            "primary": self.app_secret.arn,
            "secondary": self.app_secret.arn.apply(lambda arn: _in_region(arn, secondary.name)),
        }

        network, key = args.network.of(primary), args.keys.key(primary)
        self.function = regional_function(
            f"{name}-function",
            FunctionSpec(
                key="migrate",
                description="pulumi up: the ledger's tables and the application role, as the master user",
                timeout=MIGRATE_TIMEOUT,
                vpc=aws.lambda_.FunctionVpcConfigArgs(
                    subnet_ids=network.subnet_ids,
                    # The health route's group: to the database and the interface endpoints only,
                    # exactly what the migration needs (network.py has no group of its own for it).
                    security_group_ids=[network.health_sg.id],
                ),
                statements=[
                    {
                        "Effect": "Allow",
                        "Action": "secretsmanager:GetSecretValue",
                        "Resource": [aurora.secret_arns["primary"], self.app_secret_arns["primary"]],
                    },
                    key_use(key.arn, primary, "secretsmanager"),
                ],
                environment={
                    "DB_HOST": aurora.writer_endpoint(primary),
                    "MASTER_SECRET_ARN": aurora.secret_arns["primary"],
                    "APP_SECRET_ARN": self.app_secret_arns["primary"],
                },
            ),
            config,
            primary,
            shared_layer(f"{name}-layer", config, primary, self),
            self,
        ).function
        self.invocation = aws.lambda_.Invocation(
            f"{name}-run",
            function_name=self.function.name,
            input=json.dumps({"migration": migration_digest()}),
            triggers={
                "app_secret_version": version.id,
                "cluster": aurora.cluster(primary).cluster_resource_id,
            },
            # After the whole database: both clusters, their instances and the master secret.
            opts=primary.opts(self, depends_on=[aurora]),
        )
        self.register_outputs({"function": self.function.name, "app_secret": self.app_secret.arn})

    def app_secret_arn(self, region: Region) -> pulumi.Output[str]:
        return self.app_secret_arns[region.role]
