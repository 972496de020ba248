"""SNS, in both regions: the operations topic (alarms, database events, failover results) on the
region's key, the on-call e-mail subscription, and the cross-region copy (trading-dr-23): each
topic delivers to a queue in the OTHER region, so notifications survive the loss of the region
that raised them. SNS has no ``sns`` protocol (the seed's fix cannot deploy); it delivers across
regions to SQS and Lambda. The copy queue is where a chat-ops or ticketing consumer in the
surviving region reads from; it keeps messages 14 days.

A topic policy replaces SNS's default one, so it names every publisher: CloudWatch alarms of this
account, and the database's RDS event subscription in the topic's region (``aws:SourceArn`` the
subscription's ARN, which RDS publishes as, and the cluster's, the example in the RDS guide). The
subscriptions depend on the policy: created before it, RDS would be refused."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from pulumi_trading_dr.components.aurora import cluster_identifier, event_subscription_name
from pulumi_trading_dr.components.keys import Keys
from pulumi_trading_dr.components.region import Region, Regions
from pulumi_trading_dr.config import RoleSettings, TradingConfig

FOURTEEN_DAYS = 14 * 24 * 3600


@dataclass(frozen=True)
class SnsArgs:
    config: TradingConfig
    regions: Regions
    keys: Keys
    account_id: pulumi.Input[str]


class Sns(pulumi.ComponentResource):
    def __init__(self, name: str, args: SnsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trading:sns:Sns", name, None, opts)
        config = args.config
        self.topics: dict[str, aws.sns.Topic] = {}
        self.policies: dict[str, aws.sns.TopicPolicy] = {}
        for region in args.regions:
            topic = aws.sns.Topic(
                f"{name}-{region.role}",
                name=config.name("ops", region.settings),
                kms_master_key_id=args.keys.key(region).arn,
                opts=region.opts(self),
            )
            self.policies[region.role] = aws.sns.TopicPolicy(
                f"{name}-{region.role}-policy",
                arn=topic.arn,
                policy=pulumi.Output.all(topic.arn, args.account_id).apply(
                    lambda a, settings=region.settings: json.dumps(topic_policy(a[0], a[1], config, settings))
                ),
                opts=region.opts(self),
            )
            aws.sns.TopicSubscription(
                f"{name}-{region.role}-email",
                topic=topic.arn,
                protocol="email",
                endpoint=config.alert_email,  # delivered once the recipient confirms
                opts=region.opts(self),
            )
            self.topics[region.role] = topic
        for region in args.regions:
            self._copy_to(region, args.regions.other(region), config, name)
        self.register_outputs({role: topic.arn for role, topic in self.topics.items()})

    def topic(self, region: Region) -> aws.sns.Topic:
        return self.topics[region.role]

    def policy(self, region: Region) -> aws.sns.TopicPolicy:
        """What a publisher that is not the account itself must wait for."""
        return self.policies[region.role]

    def _copy_to(self, target: Region, source: Region, config: TradingConfig, name: str) -> None:
        """A queue in ``target`` that receives everything ``source``'s topic publishes."""
        source_topic = self.topics[source.role]
        queue = aws.sqs.Queue(
            f"{name}-{target.role}-copy-of-{source.role}",
            name=config.name(f"ops-from-{source.role}", target.settings),
            sqs_managed_sse_enabled=True,
            message_retention_seconds=FOURTEEN_DAYS,
            opts=target.opts(self),
        )
        policy = aws.sqs.QueuePolicy(
            f"{name}-{target.role}-copy-of-{source.role}-policy",
            queue_url=queue.url,
            policy=pulumi.Output.all(queue.arn, source_topic.arn).apply(
                lambda a: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "OnlyTheOtherRegionsTopic",
                                "Effect": "Allow",
                                "Principal": {"Service": "sns.amazonaws.com"},
                                "Action": "sqs:SendMessage",
                                "Resource": a[0],
                                "Condition": {"ArnEquals": {"aws:SourceArn": a[1]}},
                            }
                        ],
                    }
                )
            ),
            opts=target.opts(self),
        )
        aws.sns.TopicSubscription(
            f"{name}-{source.role}-to-{target.role}",
            topic=source_topic.arn,  # the subscription lives with the topic, in the source region
            protocol="sqs",
            endpoint=queue.arn,
            raw_message_delivery=False,  # keep the envelope: TopicArn says where it came from
            # Deliveries before the queue policy exists would be refused and dropped.
            opts=source.opts(self, depends_on=[policy]),
        )


def topic_policy(topic_arn: str, account: str, config: TradingConfig, settings: RoleSettings) -> dict:
    """Who may publish to the region's topic: this account's alarms and the database's events."""
    rds = f"arn:aws:rds:{settings.region}:{account}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CloudWatchAlarmsPublish",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {"StringEquals": {"aws:SourceAccount": account}},
            },
            {
                "Sid": "RdsEventSubscriptionPublish",
                "Effect": "Allow",
                "Principal": {"Service": "events.rds.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnEquals": {
                        "aws:SourceArn": [
                            f"{rds}:es:{event_subscription_name(config, settings)}",
                            f"{rds}:cluster:{cluster_identifier(config, settings)}",
                        ]
                    },
                },
            },
        ],
    }
