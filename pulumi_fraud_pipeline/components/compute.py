"""Compute: the three functions, packaged from lambda_src/ with the shared layer (fraud-14).

Every function: its own role (least privilege, scoped to ARNs: ``calls``, what its code calls
from the VPC, which the VPC endpoints admit too (endpoint_policies.py), and ``grants``, what Lambda
and SNS do with the role: poll the queue, send a failed asynchronous invocation, use the topic
key), its log group with retention created first, X-Ray active (fraud-12 instruments the code),
VPC placement, reserved concurrency only when configured, an on-failure destination for
asynchronous invocations (fraud-20). The detector and the failed handler consume their queues
with ReportBatchItemFailures (fraud-15), bounded by the mapping's maximum concurrency (a
throttled invocation would count as a receive)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from lambda_src.build import LAYER_DIR, RUNTIME, function_dir
from pulumi_fraud_pipeline.components.data import MERCHANT_INDEX
from pulumi_fraud_pipeline.components.queueing import DETECTOR_TIMEOUT, FAILED_HANDLER_TIMEOUT
from pulumi_fraud_pipeline.config import FraudConfig

STACK = "pulumi_fraud_pipeline"
ASSUME_LAMBDA = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
# Where the functions' embedded metrics go (CloudWatch Logs extracts them: no API call, no endpoint).
METRICS_NAMESPACE = "FraudPipeline"
QUEUE_CONSUMER = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ChangeMessageVisibility",
]


@dataclass(frozen=True)
class ComputeArgs:
    config: FraudConfig
    subnet_ids: list[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    transactions_table: aws.dynamodb.Table
    dead_letters_table: aws.dynamodb.Table
    queue: aws.sqs.Queue
    dlq: aws.sqs.Queue
    async_failures: aws.sqs.Queue
    fraud_topic: aws.sns.Topic
    ops_topic: aws.sns.Topic
    topic_key: aws.kms.Key


@dataclass(frozen=True)
class Metric:
    """A custom metric a function emits, as an alarm reads it."""

    namespace: str
    name: str
    dimensions: dict[str, str]


Statement = pulumi.Input[dict[str, Any]]
# The X-Ray daemon in the function's environment sends the segments, through the VPC.
XRAY_CALLS: Statement = {
    "Effect": "Allow",
    "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
    "Resource": "*",  # X-Ray's write actions take no resource ARN
}


@dataclass(frozen=True)
class VpcCaller:
    """A function's role and the calls its code makes from the VPC (the endpoints admit exactly these)."""

    role_arn: pulumi.Output[str]
    calls: list[Statement]


@dataclass
class _Spec:
    name: str
    description: str
    timeout: int
    calls: list[Statement]  # what the handler's code calls (through the VPC endpoints)
    grants: list[Statement] = field(default_factory=list)  # what Lambda does with the role, outside the VPC
    environment: dict[str, pulumi.Input[str]] = field(default_factory=dict)


class Compute(pulumi.ComponentResource):
    def __init__(self, name: str, args: ComputeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("fraud:compute:Compute", name, None, opts)
        self._name, self._args = name, args
        config = args.config
        self.layer = aws.lambda_.LayerVersion(
            f"{name}-shared-layer",
            layer_name=config.name("shared"),
            code=pulumi.FileArchive(str(LAYER_DIR)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=["x86_64"],
            description="lambda_src/common and the shared pinned dependencies",
            opts=pulumi.ResourceOptions(parent=self),
        )
        # SNS encrypts a publisher's message with the topic's key using the publisher's permissions.
        kms = {
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
            "Resource": args.topic_key.arn,
        }
        self.vpc_callers: dict[str, VpcCaller] = {}
        self.validator = self._function(
            _Spec(
                "validator",
                "Validates POST /transactions, records and enqueues",
                10,
                calls=[
                    {
                        "Effect": "Allow",
                        # UpdateItem marks the transaction enqueued; a retry enqueues one that is not.
                        "Action": ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"],
                        "Resource": args.transactions_table.arn,
                    },
                    {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": args.queue.arn},
                ],
                environment={"TRANSACTIONS_TABLE": args.transactions_table.name, "QUEUE_URL": args.queue.url},
            )
        )
        self.fraud_detector = self._function(
            _Spec(
                "fraud_detector",
                "Scores queued transactions against the merchant's history",
                DETECTOR_TIMEOUT,
                calls=[
                    {
                        "Effect": "Allow",
                        "Action": "dynamodb:Query",
                        "Resource": pulumi.Output.concat(
                            args.transactions_table.arn, "/index/", MERCHANT_INDEX
                        ),
                    },
                    {
                        "Effect": "Allow",
                        # GetItem: a redelivery reads the stored decision to finish an unfinished alert.
                        "Action": ["dynamodb:UpdateItem", "dynamodb:GetItem"],
                        "Resource": args.transactions_table.arn,
                    },
                    {"Effect": "Allow", "Action": "sns:Publish", "Resource": args.fraud_topic.arn},
                ],
                # The event source mapping polls with the role: without these it cannot be created.
                grants=[{"Effect": "Allow", "Action": QUEUE_CONSUMER, "Resource": args.queue.arn}, kms],
                environment={
                    "TRANSACTIONS_TABLE": args.transactions_table.name,
                    "MERCHANT_INDEX": MERCHANT_INDEX,
                    "FRAUD_TOPIC_ARN": args.fraud_topic.arn,
                },
            )
        )
        # failed_handler counts each attempt that could not record or announce a dead letter.
        self.dead_letter_failures = Metric(
            namespace=METRICS_NAMESPACE,
            name="DeadLettersNotRecorded",
            dimensions={"service": "failed_handler", "environment": config.env},
        )
        self.failed_handler = self._function(
            _Spec(
                "failed_handler",
                "Records dead-lettered transactions and alerts",
                FAILED_HANDLER_TIMEOUT,
                calls=[
                    {
                        "Effect": "Allow",
                        # Store, read back on a redelivery, mark alerted: the DLQ drains only with all three.
                        "Action": ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"],
                        "Resource": args.dead_letters_table.arn,
                    },
                    {"Effect": "Allow", "Action": "sns:Publish", "Resource": args.ops_topic.arn},
                ],
                grants=[{"Effect": "Allow", "Action": QUEUE_CONSUMER, "Resource": args.dlq.arn}, kms],
                environment={
                    "DEAD_LETTERS_TABLE": args.dead_letters_table.name,
                    "OPS_TOPIC_ARN": args.ops_topic.arn,
                    "POWERTOOLS_METRICS_NAMESPACE": self.dead_letter_failures.namespace,
                    "FAILURE_METRIC": self.dead_letter_failures.name,
                },
            )
        )
        self.functions = {
            "validator": self.validator,
            "fraud_detector": self.fraud_detector,
            "failed_handler": self.failed_handler,
        }
        for function_key, queue in (("fraud_detector", args.queue), ("failed_handler", args.dlq)):
            aws.lambda_.EventSourceMapping(
                f"{name}-{function_key}-source",
                event_source_arn=queue.arn,
                function_name=self.functions[function_key].arn,
                batch_size=10,
                maximum_batching_window_in_seconds=1,
                function_response_types=["ReportBatchItemFailures"],  # one bad record fails alone (fraud-15)
                # The mapping stops polling at this many invocations instead of being throttled.
                scaling_config=aws.lambda_.EventSourceMappingScalingConfigArgs(
                    maximum_concurrency=config.consumer_max_concurrency
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({"function_names": {k: f.name for k, f in self.functions.items()}})

    def _function(self, spec: _Spec) -> aws.lambda_.Function:
        args, config, name = self._args, self._args.config, self._name
        function_name = config.name(spec.name.replace("_", "-"))
        child = pulumi.ResourceOptions(parent=self)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-{spec.name}-logs",
            name=f"/aws/lambda/{function_name}",
            retention_in_days=config.log_retention_days,
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-{spec.name}-role",
            name=config.global_name(spec.name.replace("_", "-")),  # IAM names are per account
            assume_role_policy=ASSUME_LAMBDA,
            opts=child,
        )
        calls = [XRAY_CALLS, *spec.calls]
        statements = [
            # Lambda delivers the function's logs, creates its network interfaces (no resource ARN)
            # and sends its failed asynchronous invocations, all with this role and outside the VPC.
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": pulumi.Output.concat(log_group.arn, ":*"),
            },
            {
                "Effect": "Allow",
                "Resource": "*",
                "Action": [
                    "ec2:CreateNetworkInterface",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses",
                ],
            },
            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": args.async_failures.arn},
            *spec.grants,
            *calls,
        ]
        self.vpc_callers[spec.name] = VpcCaller(role_arn=role.arn, calls=calls)
        policy = aws.iam.RolePolicy(
            f"{name}-{spec.name}-policy",
            role=role.id,
            name="least-privilege",
            policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements}),
            opts=child,
        )
        function = aws.lambda_.Function(
            f"{name}-{spec.name}",
            name=function_name,
            description=spec.description,
            role=role.arn,
            runtime=RUNTIME,
            architectures=["x86_64"],
            handler="index.handler",
            code=pulumi.FileArchive(str(function_dir(STACK, spec.name))),
            layers=[self.layer.arn],
            timeout=spec.timeout,
            memory_size=256,
            reserved_concurrent_executions=config.reserved_concurrency,
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            vpc_config=aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=args.subnet_ids, security_group_ids=[args.security_group_id]
            ),
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables={
                    "POWERTOOLS_SERVICE_NAME": spec.name,
                    "ENVIRONMENT": config.env,
                    **spec.environment,
                }
            ),
            # The log group first (no auto-created group without retention), and the policy before
            # the first invocation can need it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group, policy]),
        )
        aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-{spec.name}-async",
            function_name=function.name,
            maximum_retry_attempts=2,
            destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
                on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(
                    destination=args.async_failures.arn
                )
            ),
            opts=child,
        )
        return function
