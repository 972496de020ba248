"""Alerting: the fraud topic (high-risk transactions) and the ops topic (alarms, dead letters),
each with an e-mail subscription to the required alertEmail (fraud-08), both encrypted with a
customer-managed key that CloudWatch may use (an AWS-managed SNS key would drop alarm
notifications) and the functions' roles may use through IAM."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from pulumi_fraud_pipeline.config import FraudConfig


@dataclass(frozen=True)
class AlertingArgs:
    config: FraudConfig
    account_id: pulumi.Input[str]


class Alerting(pulumi.ComponentResource):
    def __init__(self, name: str, args: AlertingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("fraud:alerting:Alerting", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)
        self.key = aws.kms.Key(
            f"{name}-key",
            description=f"Fraud pipeline topics ({config.env})",
            enable_key_rotation=True,
            deletion_window_in_days=7,
            policy=pulumi.Output.from_input(args.account_id).apply(
                lambda account: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "AccountAdministersAndDelegatesToIam",
                                "Effect": "Allow",
                                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                                "Action": "kms:*",
                                "Resource": "*",
                            },
                            {
                                "Sid": "CloudWatchAlarmsPublish",
                                "Effect": "Allow",
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                                "Resource": "*",
                                "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                            },
                        ],
                    }
                )
            ),
            opts=child,
        )
        self.fraud_topic = aws.sns.Topic(
            f"{name}-fraud", name=config.name("alerts"), kms_master_key_id=self.key.arn, opts=child
        )
        self.ops_topic = aws.sns.Topic(
            f"{name}-ops", name=config.name("ops"), kms_master_key_id=self.key.arn, opts=child
        )
        aws.sns.TopicPolicy(
            f"{name}-ops-policy",
            arn=self.ops_topic.arn,
            policy=pulumi.Output.all(self.ops_topic.arn, args.account_id).apply(
                lambda a: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "CloudWatchAlarmsPublish",
                                "Effect": "Allow",
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Action": "sns:Publish",
                                "Resource": a[0],
                                "Condition": {"StringEquals": {"aws:SourceAccount": a[1]}},
                            }
                        ],
                    }
                )
            ),
            opts=child,
        )
        # Delivered once the recipient confirms the subscription e-mail.
        for topic, role in ((self.fraud_topic, "fraud"), (self.ops_topic, "ops")):
            aws.sns.TopicSubscription(
                f"{name}-{role}-email",
                topic=topic.arn,
                protocol="email",
                endpoint=config.alert_email,
                opts=child,
            )
        self.register_outputs({"fraud_topic_arn": self.fraud_topic.arn, "ops_topic_arn": self.ops_topic.arn})
