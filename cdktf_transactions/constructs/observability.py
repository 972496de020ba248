"""Observability: the notifications topic on a customer-managed key that CloudWatch and
EventBridge may use (transactions-09), a failed-executions alarm and an EventBridge rule."""

from __future__ import annotations

from cdktf import Fn
from cdktf_cdktf_provider_aws.cloudwatch_event_rule import CloudwatchEventRule
from cdktf_cdktf_provider_aws.cloudwatch_event_target import CloudwatchEventTarget
from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sns_topic_policy import SnsTopicPolicy
from cdktf_cdktf_provider_aws.sns_topic_subscription import SnsTopicSubscription
from constructs import Construct

from cdktf_transactions.config import TransactionsConfig
from cdktf_transactions.constructs.policy import policy_document

# Services that publish to the topic themselves. They cannot use the AWS-managed alias/aws/sns
# key (its policy cannot be changed), so their messages to such a topic are silently dropped.
SERVICE_PUBLISHERS = ("cloudwatch.amazonaws.com", "events.amazonaws.com")


class Observability(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: TransactionsConfig) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        account = DataAwsCallerIdentity(self, "account").account_id
        self.key = KmsKey(
            self,
            "topic-key",
            description=f"Encrypts the transactions topic ({config.env})",
            enable_key_rotation=True,
            deletion_window_in_days=7,
            policy=policy_document(
                self,
                "topic-key-policy",
                [
                    {
                        "Sid": "AccountAdministers",
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                        "Action": "kms:*",
                        "Resource": "*",
                    },
                    {
                        "Sid": "ServicesPublishToTheTopic",
                        "Effect": "Allow",
                        "Principal": {"Service": list(SERVICE_PUBLISHERS)},
                        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                        "Resource": "*",
                        "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                    },
                ],
            ),
        )
        KmsAlias(
            self,
            "topic-key-alias",
            name=f"alias/{config.name('transactions-topic')}",
            target_key_id=self.key.key_id,
        )
        self.topic = SnsTopic(
            self, "topic", name=config.name("transactions-notifications"), kms_master_key_id=self.key.arn
        )
        SnsTopicPolicy(
            self,
            "topic-policy",
            arn=self.topic.arn,
            policy=policy_document(
                self,
                "topic-policy-document",
                [
                    {
                        "Sid": "ServicesPublish",
                        "Effect": "Allow",
                        "Principal": {"Service": list(SERVICE_PUBLISHERS)},
                        "Action": "sns:Publish",
                        "Resource": self.topic.arn,
                        "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                    },
                    {
                        "Sid": "TlsOnly",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "sns:Publish",
                        "Resource": self.topic.arn,
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    },
                ],
            ),
        )
        SnsTopicSubscription(
            self, "email", topic_arn=self.topic.arn, protocol="email", endpoint=config.alarm_email
        )

    def watch_state_machine(self, state_machine_arn: str) -> None:
        """Alarm on failed executions, and forward every failed/timed-out/aborted one via EventBridge."""
        CloudwatchMetricAlarm(
            self,
            "failed-executions",
            alarm_name=self._config.name("transactions-failed-executions"),
            namespace="AWS/States",
            metric_name="ExecutionsFailed",
            dimensions={"StateMachineArn": state_machine_arn},
            statistic="Sum",
            period=300,
            evaluation_periods=1,
            threshold=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[self.topic.arn],
            ok_actions=[self.topic.arn],
            alarm_description="At least one transaction execution failed in 5 minutes",
        )
        rule = CloudwatchEventRule(
            self,
            "execution-failed",
            name=self._config.name("transactions-execution-failed"),
            description="Step Functions executions of the transaction pipeline that did not succeed",
            # jsonencode, not json.dumps: a reference inside a JSON string breaks `cdktf synth --hcl`.
            event_pattern=Fn.jsonencode(
                {
                    "source": ["aws.states"],
                    "detail-type": ["Step Functions Execution Status Change"],
                    "detail": {
                        "status": ["FAILED", "TIMED_OUT", "ABORTED"],
                        "stateMachineArn": [state_machine_arn],
                    },
                }
            ),
        )
        CloudwatchEventTarget(self, "execution-failed-to-sns", rule=rule.name, arn=self.topic.arn)
