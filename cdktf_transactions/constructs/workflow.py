"""Workflow: the Standard state machine, its role (invoke exactly our functions, publish failures
to the notifications topic) and its vended log group (transactions-05, -06, -08)."""

from __future__ import annotations

from cdktn_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.iam_role_policy import IamRolePolicy
from cdktn_provider_aws.sfn_state_machine import (
    SfnStateMachine,
    SfnStateMachineLoggingConfiguration,
    SfnStateMachineTracingConfiguration,
)
from constructs import Construct

from cdktf_transactions.config import TransactionsConfig
from cdktf_transactions.constructs.policy import encrypt_for_topic, policy_document, service_trust
from cdktf_transactions.definition import Targets, definition_json


class Workflow(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: TransactionsConfig,
        account_id: str,
        targets: Targets,
        topic_key_arn: str,
    ) -> None:
        super().__init__(scope, construct_id)
        name = config.name("transactions")
        self.log_group = CloudwatchLogGroup(
            self, "logs", name=f"/aws/vendedlogs/states/{name}", retention_in_days=config.log_retention_days
        )
        machine_arn = f"arn:aws:states:{config.region}:{account_id}:stateMachine:{name}"
        functions = [targets.validation, targets.fraud_check, targets.settlement, targets.notification]
        self.role = IamRole(
            self,
            "role",
            name=config.global_name("transactions-states"),  # IAM: per account, not per region
            # Its own ARN from its parts (the state machine refers to the role), with any qualifier.
            assume_role_policy=service_trust(
                self,
                "trust",
                service="states.amazonaws.com",
                account_id=account_id,
                source_arn=[machine_arn, f"{machine_arn}:*"],
            ),
        )
        policy = IamRolePolicy(
            self,
            "policy",
            role=self.role.id,
            name="least-privilege",
            policy=policy_document(
                self,
                "policy-document",
                [
                    {
                        "Sid": "InvokePipelineFunctions",
                        "Effect": "Allow",
                        "Action": "lambda:InvokeFunction",
                        "Resource": functions + [f"{arn}:*" for arn in functions],
                    },
                    {
                        "Sid": "PublishFailures",
                        "Effect": "Allow",
                        "Action": "sns:Publish",
                        "Resource": targets.notifications_topic,
                    },
                    encrypt_for_topic(topic_key_arn, targets.notifications_topic),
                    # Log delivery and X-Ray APIs take no resource ARN (AWS documents Resource "*").
                    {
                        "Sid": "VendedLogDelivery",
                        "Effect": "Allow",
                        "Resource": "*",
                        "Action": [
                            "logs:CreateLogDelivery",
                            "logs:GetLogDelivery",
                            "logs:UpdateLogDelivery",
                            "logs:DeleteLogDelivery",
                            "logs:ListLogDeliveries",
                            "logs:PutResourcePolicy",
                            "logs:DescribeResourcePolicies",
                            "logs:DescribeLogGroups",
                        ],
                    },
                    {
                        "Sid": "XRay",
                        "Effect": "Allow",
                        "Resource": "*",
                        "Action": [
                            "xray:PutTraceSegments",
                            "xray:PutTelemetryRecords",
                            "xray:GetSamplingRules",
                            "xray:GetSamplingTargets",
                        ],
                    },
                ],
            ),
        )
        self.state_machine = SfnStateMachine(
            self,
            "state-machine",
            name=name,
            type="STANDARD",
            role_arn=self.role.arn,
            definition=definition_json(targets, retry_interval_seconds=config.retry_interval_seconds),
            # Failures only, and without execution data: at ERROR a failed state's event would carry
            # its input (the transaction) into the log group; ids and error types are enough there.
            logging_configuration=SfnStateMachineLoggingConfiguration(
                log_destination=f"{self.log_group.arn}:*", include_execution_data=False, level="ERROR"
            ),
            tracing_configuration=SfnStateMachineTracingConfiguration(enabled=True),
            depends_on=[policy],  # its first execution may invoke, publish and log at once
        )
