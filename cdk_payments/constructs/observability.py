"""Observability: the alerts topic (with a key CloudWatch can use), alarms and the dashboard."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import (
    Aws,
    CfnResource,
    Duration,
    aws_cloudwatch as cloudwatch,
    aws_cloudwatch_actions as cw_actions,
    aws_iam as iam,
    aws_lambda as lambda_,
    aws_logs as logs,
    aws_sns as sns,
    aws_sns_subscriptions as subscriptions,
)
from constructs import Construct

from cdk_payments.config import PaymentsConfig
from cdk_payments.constructs.encryption import Encryption, customer_key

# Services that publish to our encrypted topics. An AWS-managed key (alias/aws/sns) cannot be
# granted to them, and CloudWatch alarm notifications to such a topic are silently dropped.
TOPIC_PUBLISHERS = ("cloudwatch.amazonaws.com", "s3.amazonaws.com")


class Observability(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: PaymentsConfig) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.topic_key = customer_key(
            self,
            "TopicKey",
            config=config,
            alias=f"alias/payments-topics-{config.env}",
            description="Encrypts the payments SNS topics; usable by CloudWatch alarms and S3 events",
        )
        self.topic_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowServicePublishersToUseTheKey",
                principals=[iam.ServicePrincipal(service) for service in TOPIC_PUBLISHERS],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )
        self.alerts = self.topic("Alerts", config.name("payments-alerts"))
        # Required config: an alarm nobody receives is no alarm (the recipient confirms by e-mail).
        self.alerts.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        self._alarm_action = cw_actions.SnsAction(self.alerts)
        self._handler_logs: logs.LogGroup | None = None
        # Dashboard names are global per account, not per region: the region keeps the same env in
        # two regions from colliding (the other per-account names are CloudFormation's own).
        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=f"{config.name('payments')}-{Aws.REGION}"
        )

    def handler_logs(self, encryption: Encryption) -> logs.LogGroup:
        """The one group aws-cdk-lib's own handler functions (S3 auto-delete objects, bucket
        notifications, the live-version lookup) log to, with the stack's retention: left alone,
        Lambda creates a group per handler that never expires and that destroying the stack leaves
        behind."""
        if self._handler_logs is None:
            self._handler_logs = encryption.log_group(
                self, "CdkHandlerLogs", log_group_name=f"/payments/{self._config.env}/cdk-handlers"
            )
        return self._handler_logs

    def log_handlers(self, handlers: Sequence[CfnResource], encryption: Encryption) -> logs.LogGroup:
        """Point the handlers CDK adds as raw resources (no log_group option) at ``handler_logs``."""
        group = self.handler_logs(encryption)
        for handler in handlers:
            # Their roles carry AWSLambdaBasicExecutionRole, which may write to any group.
            handler.add_property_override("LoggingConfig", {"LogGroup": group.log_group_name})
        return group

    def topic(self, construct_id: str, topic_name: str) -> sns.Topic:
        """An SNS topic encrypted with the shared key, refusing publishes without TLS."""
        return sns.Topic(
            self, construct_id, topic_name=topic_name, master_key=self.topic_key, enforce_ssl=True
        )

    def metric(self, metric: cloudwatch.Metric) -> cloudwatch.Metric:
        """Every dashboard metric names its region explicitly (payments-09)."""
        return metric.with_(region=Aws.REGION)

    def alarm(self, alarm: cloudwatch.Alarm) -> cloudwatch.Alarm:
        """Notify the alerts topic on ALARM and on recovery."""
        alarm.add_alarm_action(self._alarm_action)
        alarm.add_ok_action(self._alarm_action)
        return alarm

    def watch_functions(self, functions: Sequence[lambda_.IFunction]) -> None:
        for fn in functions:
            name = fn.node.id
            errors = cloudwatch.MathExpression(
                expression="IF(invocations > 0, 100 * errors / invocations, 0)",
                using_metrics={
                    "errors": fn.metric_errors(period=Duration.minutes(5), statistic="Sum"),
                    "invocations": fn.metric_invocations(period=Duration.minutes(5), statistic="Sum"),
                },
                label=f"{name} error rate (%)",
                period=Duration.minutes(5),
            )
            self.alarm(
                errors.create_alarm(
                    self,
                    f"{name}ErrorRateAlarm",
                    alarm_name=self._config.name(f"payments-{name.lower()}-error-rate"),
                    alarm_description=f"{name}: more than 1% of invocations failed over 5 minutes",
                    threshold=1,
                    evaluation_periods=1,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                ),
            )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Lambda invocations and errors",
                left=[self.metric(fn.metric_invocations()) for fn in functions],
                right=[self.metric(fn.metric_errors()) for fn in functions],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Lambda duration p99",
                left=[self.metric(fn.metric_duration(statistic="p99")) for fn in functions],
                width=12,
            ),
        )

    def add_graph(self, title: str, metrics: Sequence[cloudwatch.Metric]) -> None:
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title=title, left=[self.metric(m) for m in metrics], width=12)
        )
