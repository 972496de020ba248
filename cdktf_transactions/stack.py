"""One TerraformStack per environment (``transactions-<env>``): composes the constructs."""

from __future__ import annotations

import os
from pathlib import Path

from cdktn import App, LocalBackend, S3Backend, TerraformOutput, TerraformStack
from cdktn_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktn_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from constructs import Construct

from cdktf_transactions.backend import state_file
from cdktf_transactions.config import ConfigError, TransactionsConfig
from cdktf_transactions.constructs.compute import Compute, FunctionSpec
from cdktf_transactions.constructs.data import CUSTOMER_INDEX, Data
from cdktf_transactions.constructs.network import Network
from cdktf_transactions.constructs.observability import Observability
from cdktf_transactions.constructs.policy import encrypt_for_topic
from cdktf_transactions.constructs.workflow import Workflow
from cdktf_transactions.definition import Targets


class TransactionsStack(TerraformStack):
    def __init__(self, scope: Construct, *, config: TransactionsConfig) -> None:
        super().__init__(scope, config.stack_name)
        AwsProvider(
            self,
            "aws",
            region=config.region,
            # Every taggable resource gets these, so everything a user pays for is attributable.
            default_tags=[
                AwsProviderDefaultTags(
                    tags={"project": "transactions", "environment": config.env, "managed-by": "cdktf"}
                )
            ],
        )
        if config.state_bucket:
            backend = S3Backend(
                self,
                bucket=config.state_bucket,
                key=f"transactions/{config.env}.tfstate",
                region=config.region,
                encrypt=True,
            )
            backend.add_override(
                "use_lockfile", True
            )  # S3-native locking (Terraform >= 1.10), no DynamoDB table
        else:
            LocalBackend(self, path=self._local_state_path(config))

        # Trust policies and the key policy name this account (aws:SourceAccount, the key's admin).
        account_id = DataAwsCallerIdentity(self, "account").account_id
        network = Network(self, "network", config=config, account_id=account_id)
        data = Data(self, "data", config=config)
        observability = Observability(self, "observability", config=config, account_id=account_id)
        compute = Compute(
            self,
            "compute",
            config=config,
            account_id=account_id,
            subnet_ids=[s.id for s in network.subnets],
            security_group_ids=[network.lambda_sg.id],
        )
        table, index = data.table.arn, f"{data.table.arn}/index/{CUSTOMER_INDEX}"
        notifications_topic = observability.notifications_topic.arn
        read_history = {
            "Sid": "ReadHistory",
            "Effect": "Allow",
            "Action": "dynamodb:Query",
            "Resource": index,
        }
        write_transactions = {
            "Sid": "WriteTransactions",
            "Effect": "Allow",
            "Action": ["dynamodb:PutItem", "dynamodb:GetItem"],
            "Resource": table,
        }
        publish = {
            "Sid": "Publish",
            "Effect": "Allow",
            "Action": "sns:Publish",
            "Resource": notifications_topic,
        }
        # Endpoints for exactly what the functions call (Lambda delivers their logs and X-Ray
        # segments itself; Step Functions is not in the VPC), admitting only this stack's resources.
        network.add_gateway_endpoint(
            "dynamodb", statements=[{**s, "Principal": "*"} for s in (read_history, write_transactions)]
        )
        network.add_interface_endpoint("sns", statements=[{**publish, "Principal": "*"}])
        table_env = {"TRANSACTIONS_TABLE": data.table.name, "CUSTOMER_INDEX": CUSTOMER_INDEX}
        validation = compute.add(FunctionSpec("validation", "Validates and normalizes a transaction", 10))
        fraud_check = compute.add(
            FunctionSpec(
                "fraud_check",
                "Scores a transaction against the customer's history",
                15,
                statements=[read_history],
                environment=table_env,
            )
        )
        settlement = compute.add(
            FunctionSpec(
                "settlement",
                "Records the scored transaction once",
                15,
                statements=[write_transactions],
                environment=table_env,
            )
        )
        notification = compute.add(
            FunctionSpec(
                "notification",
                "Announces the settlement on SNS",
                10,
                statements=[
                    publish,
                    encrypt_for_topic(observability.key.arn, notifications_topic),
                ],
                environment={"TOPIC_ARN": notifications_topic},
            )
        )
        targets = Targets(
            validation=validation.arn,
            fraud_check=fraud_check.arn,
            settlement=settlement.arn,
            notification=notification.arn,
            notifications_topic=notifications_topic,
        )
        workflow = Workflow(
            self,
            "workflow",
            config=config,
            account_id=account_id,
            targets=targets,
            topic_key_arn=observability.key.arn,
        )
        observability.watch_state_machine(workflow.state_machine.arn)

        TerraformOutput(self, "state_machine_arn", value=workflow.state_machine.arn)
        TerraformOutput(self, "transactions_table", value=data.table.name)
        TerraformOutput(self, "notifications_topic_arn", value=notifications_topic)
        TerraformOutput(self, "alarm_topic_arn", value=observability.alarm_topic.arn)

    def _local_state_path(self, config: TransactionsConfig) -> str:
        """The state file relative to the stack's output folder, where Terraform runs; never inside
        the output folder, which every synth deletes with the state in it."""
        outdir = Path(App.of(self).outdir).resolve()
        state = state_file(config.state_dir, config.region, config.stack_name).resolve()
        if state.is_relative_to(outdir):
            raise ConfigError(
                f"local state {state} is inside the synth output {outdir}, which the next synth deletes: "
                "keep the default state dir or set TRANSACTIONS_STATE_BUCKET"
            )
        return os.path.relpath(state, outdir / "stacks" / self.node.id)
