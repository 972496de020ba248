"""Observability: two topics on one customer-managed key (transactions-09).

- ``notifications_topic``: business events (``transaction.settled`` from the notification
  function, ``transaction.failed`` from the state machine) for downstream subscribers.
- ``alarm_topic``: on-call. The failed-executions alarm and an EventBridge rule on executions
  that did not succeed publish here; the required e-mail subscription reads it.

CloudWatch and EventBridge publish to the alarm topic themselves, so its key is customer-managed
(alias/aws/sns admits neither: their messages would be dropped).
"""

from __future__ import annotations

from cdktn import Fn
from cdktn_provider_aws.cloudwatch_event_rule import CloudwatchEventRule
from cdktn_provider_aws.cloudwatch_event_target import (
    CloudwatchEventTarget,
    CloudwatchEventTargetInputTransformer,
)
from cdktn_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktn_provider_aws.kms_alias import KmsAlias
from cdktn_provider_aws.kms_key import KmsKey
from cdktn_provider_aws.sns_topic import SnsTopic
from cdktn_provider_aws.sns_topic_policy import SnsTopicPolicy
from cdktn_provider_aws.sns_topic_subscription import SnsTopicSubscription
from constructs import Construct

from cdktf_transactions.config import TransactionsConfig
from cdktf_transactions.constructs.policy import policy_document

CLOUDWATCH = "cloudwatch.amazonaws.com"
EVENTBRIDGE = "events.amazonaws.com"
# What of an execution status event reaches on-call: ids, status, error type. Never detail.input,
# detail.output or detail.cause (the transaction body and the function's stack trace).
EXECUTION_EVENT_FIELDS = {
    "execution": "$.detail.name",
    "execution_arn": "$.detail.executionArn",
    "status": "$.detail.status",
    "error": "$.detail.error",
}


def _tls_only(topic_arn: str) -> dict:
    return {
        "Sid": "TlsOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "sns:Publish",
        "Resource": topic_arn,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


class Observability(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: TransactionsConfig, account_id: str
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        alarm_topic_name = config.name("transactions-alarms")
        # From its parts: the key policy cannot refer to the topic, which refers to the key.
        self.alarm_topic_arn = f"arn:aws:sns:{config.region}:{account_id}:{alarm_topic_name}"
        self.key = KmsKey(
            self,
            "topic-key",
            description=f"Encrypts the transactions notification and alarm topics ({config.env})",
            enable_key_rotation=True,
            deletion_window_in_days=7,
            policy=policy_document(
                self,
                "topic-key-policy",
                [
                    {
                        "Sid": "AccountAdministers",
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                        "Action": "kms:*",
                        "Resource": "*",
                    },
                    {
                        "Sid": "AlarmPublishersEncryptForTheAlarmTopic",
                        "Effect": "Allow",
                        "Principal": {"Service": [CLOUDWATCH, EVENTBRIDGE]},
                        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                        "Resource": "*",
                        # SNS's encryption context, not aws:SourceAccount/SourceArn: AWS documents
                        # those as unsupported for EventBridge deliveries to encrypted topics.
                        "Condition": {
                            "StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": self.alarm_topic_arn}
                        },
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
        self.notifications_topic = SnsTopic(
            self, "topic", name=config.name("transactions-notifications"), kms_master_key_id=self.key.arn
        )
        SnsTopicPolicy(
            self,
            "topic-policy",
            arn=self.notifications_topic.arn,
            policy=policy_document(self, "topic-policy-document", [_tls_only(self.notifications_topic.arn)]),
        )
        self.alarm_topic = SnsTopic(
            self, "alarm-topic", name=alarm_topic_name, kms_master_key_id=self.key.arn
        )
        SnsTopicPolicy(
            self,
            "alarm-topic-policy",
            arn=self.alarm_topic.arn,
            policy=policy_document(
                self,
                "alarm-topic-policy-document",
                [
                    {
                        "Sid": "CloudWatchAlarmsOfThisAccountPublish",
                        "Effect": "Allow",
                        "Principal": {"Service": [CLOUDWATCH]},
                        "Action": "sns:Publish",
                        "Resource": self.alarm_topic.arn,
                        "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
                    },
                    {
                        # No Condition: EventBridge deliveries fail against a statement that has one.
                        "Sid": "EventBridgePublishes",
                        "Effect": "Allow",
                        "Principal": {"Service": [EVENTBRIDGE]},
                        "Action": "sns:Publish",
                        "Resource": self.alarm_topic.arn,
                    },
                    _tls_only(self.alarm_topic.arn),
                ],
            ),
        )
        SnsTopicSubscription(
            self, "email", topic_arn=self.alarm_topic.arn, protocol="email", endpoint=config.alarm_email
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
            alarm_actions=[self.alarm_topic.arn],
            ok_actions=[self.alarm_topic.arn],
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
        template = ", ".join(f'"{name}": <{name}>' for name in EXECUTION_EVENT_FIELDS)
        CloudwatchEventTarget(
            self,
            "execution-failed-to-sns",
            rule=rule.name,
            arn=self.alarm_topic.arn,
            input_transformer=CloudwatchEventTargetInputTransformer(
                input_paths=EXECUTION_EVENT_FIELDS,
                input_template=f'{{"event": "transaction.execution_not_succeeded", {template}}}',
            ),
        )
