"""The trading DR stack: builds every component from one TradingConfig and returns the stack
outputs. __main__.py (``pulumi up``) and offline.py (``make synth-all``, tests) both call ``build``;
neither the components nor this module read ``pulumi.Config``.

The order of construction is the order of the dependencies, and the ones no input carries are
explicit ``depends_on``, visible in the resource graph: topics before Aurora (trading-dr-01), the
order processor after Aurora and DynamoDB (trading-dr-02), monitoring after everything it
watches (trading-dr-03). The functions that use the ledger come after the migration (the
tables and the role they log in as); the master secret's rotation after both.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from pulumi_trading_dr.components.api import Api, ApiArgs
from pulumi_trading_dr.components.aurora import Aurora, AuroraArgs
from pulumi_trading_dr.components.dynamodb import DynamoDb, DynamoDbArgs
from pulumi_trading_dr.components.failover import Failover, FailoverArgs
from pulumi_trading_dr.components.gate import Gate, GateArgs
from pulumi_trading_dr.components.health import Health, HealthArgs
from pulumi_trading_dr.components.keys import Keys, KeysArgs
from pulumi_trading_dr.components.migration import Migration, MigrationArgs
from pulumi_trading_dr.components.monitoring import Monitoring, MonitoringArgs
from pulumi_trading_dr.components.network import Network, NetworkArgs
from pulumi_trading_dr.components.orders import Orders, OrdersArgs
from pulumi_trading_dr.components.region import Region, Regions
from pulumi_trading_dr.components.rotation import Rotation, RotationArgs
from pulumi_trading_dr.components.route53 import Route53, Route53Args, verify_public_zone
from pulumi_trading_dr.components.s3 import S3, S3Args
from pulumi_trading_dr.components.sns import Sns, SnsArgs
from pulumi_trading_dr.components.synthetics import Synthetics, SyntheticsArgs
from pulumi_trading_dr.components.waf import Waf, WafArgs
from pulumi_trading_dr.config import TradingConfig


def tag_components(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
    """Every taggable resource gets ``component`` = the component that owns it; the providers'
    default tags add project, environment, region role and managed-by."""
    parent = args.opts.parent if args.opts else None
    if "tags" not in args.props or not isinstance(parent, pulumi.ComponentResource):
        return None
    component = type(parent).__name__.lower()
    tags = {**(args.props.get("tags") or {}), "component": component}
    return pulumi.ResourceTransformationResult(props={**args.props, "tags": tags}, opts=args.opts)


def build(config: TradingConfig) -> dict[str, Any]:
    pulumi.runtime.register_stack_transformation(tag_components)
    primary_settings, secondary_settings = config.regions
    regions = Regions(
        *(
            Region(
                settings,
                aws.Provider(
                    f"aws-{settings.role}",
                    region=settings.region,
                    default_tags=aws.ProviderDefaultTagsArgs(
                        tags={
                            "project": "trading-dr",
                            "environment": config.env,
                            "region-role": settings.role,
                            "managed-by": "pulumi",
                        }
                    ),
                ),
            )
            for settings in (primary_settings, secondary_settings)
        )
    )
    # Before anything is created: a zone that cannot hold the API's name fails the preview here.
    verify_public_zone(config, regions.primary.provider)
    account_id = aws.get_caller_identity_output(
        opts=pulumi.InvokeOutputOptions(provider=regions.primary.provider)
    ).account_id

    keys = Keys("keys", KeysArgs(config=config, regions=regions, account_id=account_id))
    network = Network("network", NetworkArgs(config=config, regions=regions))
    sns = Sns("sns", SnsArgs(config=config, regions=regions, keys=keys, account_id=account_id))
    aurora = Aurora(
        "aurora",
        AuroraArgs(config=config, regions=regions, keys=keys, network=network, sns=sns),
        pulumi.ResourceOptions(depends_on=[sns]),  # trading-dr-01
    )
    migration = Migration(
        "migration", MigrationArgs(config=config, regions=regions, keys=keys, network=network, aurora=aurora)
    )
    dynamodb = DynamoDb("dynamodb", DynamoDbArgs(config=config, regions=regions, keys=keys))
    s3 = S3("s3", S3Args(config=config, regions=regions, keys=keys, account_id=account_id))
    orders = Orders(
        "orders",
        OrdersArgs(
            config=config,
            regions=regions,
            keys=keys,
            network=network,
            aurora=aurora,
            dynamodb=dynamodb,
            migration=migration,
        ),
        # trading-dr-02; and the ledger's tables and login before anything processes an order.
        pulumi.ResourceOptions(depends_on=[aurora, dynamodb, migration]),
    )
    health = Health(
        "health",
        HealthArgs(
            config=config,
            regions=regions,
            keys=keys,
            network=network,
            aurora=aurora,
            orders=orders,
            migration=migration,
        ),
        pulumi.ResourceOptions(depends_on=[migration]),
    )
    api = Api(
        "api", ApiArgs(config=config, regions=regions, orders=orders, health=health, account_id=account_id)
    )
    route53 = Route53("route53", Route53Args(config=config, regions=regions, api=api))
    synthetics = Synthetics(
        "synthetics",
        SyntheticsArgs(
            config=config,
            regions=regions,
            keys=keys,
            api=api,
            route53=route53,
            sns=sns,
            account_id=account_id,
        ),
    )
    # Per-IP rate limits on both stages, derived from who calls GET /health (the checkers, the canaries).
    waf = Waf("waf", WafArgs(config=config, regions=regions, api=api, route53=route53, synthetics=synthetics))
    monitoring = Monitoring(
        "monitoring",
        MonitoringArgs(
            config=config,
            regions=regions,
            sns=sns,
            aurora=aurora,
            dynamodb=dynamodb,
            orders=orders,
            api=api,
            route53=route53,
            synthetics=synthetics,
            waf=waf,
        ),
        # trading-dr-03: after everything it watches.
        pulumi.ResourceOptions(depends_on=[sns, aurora, dynamodb, orders, api, route53, synthetics, waf]),
    )
    failover = Failover(
        "failover",
        FailoverArgs(
            config=config,
            regions=regions,
            keys=keys,
            aurora=aurora,
            sns=sns,
            monitoring=monitoring,
            api=api,
        ),
    )
    Gate("gate", GateArgs(config=config, regions=regions, keys=keys, aurora=aurora, orders=orders, sns=sns))
    rotation = Rotation(
        "rotation",
        RotationArgs(
            config=config,
            regions=regions,
            keys=keys,
            network=network,
            aurora=aurora,
            migration=migration,
            sns=sns,
            account_id=account_id,
        ),
    )

    primary, secondary = regions.primary, regions.secondary
    # trading-dr-04: everything an operator or an integration test needs to find.
    return {
        "primary_api_endpoint": api.of(primary).stage.invoke_url,
        "secondary_api_endpoint": api.of(secondary).stage.invoke_url,
        "api_url": route53.url,
        "aurora_primary_endpoint": aurora.writer_endpoint(primary),
        "aurora_secondary_endpoint": aurora.writer_endpoint(secondary),  # active once promoted
        "global_cluster_id": aurora.global_cluster.global_cluster_identifier,
        "db_secret_arn": aurora.secret.arn,  # the master's: the migration and the rotation read it
        "db_app_secret_arn": migration.app_secret.arn,  # what the functions log in with
        "migration_function_name": migration.function.name,
        "rotation_function_name": rotation.function.name,
        "dynamodb_table_name": dynamodb.table.name,
        "s3_primary_bucket": s3.bucket(primary).bucket,
        "s3_secondary_bucket": s3.bucket(secondary).bucket,
        "sns_primary_topic_arn": sns.topic(primary).arn,
        "sns_secondary_topic_arn": sns.topic(secondary).arn,
        "failover_function_arn": failover.function.arn,
        "promote_function_arn": failover.promote.arn,
        "failover_alarm_name": monitoring.failover_alarm.alarm_name,
        "primary_failing_alarm_name": monitoring.primary_failing.alarm_name,
        "failover_mode": config.failover_mode,
        # What the operator commands (pulumi_trading_dr/ops.py) find the stack by.
        "regions": {region.role: region.name for region in regions},
        "order_processor_names": {region.role: orders.of(region).function.name for region in regions},
        "reconcile_function_arns": {region.role: orders.of(region).reconcile.arn for region in regions},
        # What the failure timeline is checked against (pulumi_trading_dr/timeline.py, README).
        "recovery_objectives": {
            "rto_seconds": config.rto_minutes * 60,
            "rpo_seconds": config.rpo_seconds,
            "operator_response_seconds": config.operator_response_minutes * 60,
            "promotion_budget_seconds": config.promotion_budget_minutes * 60,
        },
    }
