"""Compute: the shared layer and the four payment functions, built by lambda_src/build.py."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, aws_ec2 as ec2, aws_lambda as lambda_
from constructs import Construct

from cdk_payments.config import PaymentsConfig
from cdk_payments.constructs.encryption import Encryption
from cdk_payments.nag import INLINE_GRANTS, PCI_DSS, acknowledge
from lambda_src.build import LAYER_DIR, function_dir

STACK = "cdk_payments"
VPC_POLICY = "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
LAMBDA_RUNTIME = lambda_.Runtime.PYTHON_3_12  # must equal lambda_src.build.RUNTIME (tested)


@dataclass(frozen=True)
class FunctionSpec:
    name: str  # folder under lambda_src/cdk_payments/
    description: str
    timeout: Duration
    memory: int = 256


class Compute(Construct):
    """Every function: the shared layer (payments-12), X-Ray, its own log group, VPC placement."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PaymentsConfig,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        functions_sg: ec2.ISecurityGroup,
        rotation_sg: ec2.ISecurityGroup,
        encryption: Encryption,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._encryption = encryption
        self._vpc = vpc
        self._subnets = subnets
        self.layer = lambda_.LayerVersion(
            self,
            "SharedLayer",
            layer_version_name=config.name("payments-shared"),
            description="lambda_src/common and the pinned dependencies every function shares",
            code=lambda_.Code.from_asset(str(LAYER_DIR)),
            compatible_runtimes=[LAMBDA_RUNTIME],
            compatible_architectures=[lambda_.Architecture.X86_64],
            removal_policy=RemovalPolicy.RETAIN if config.is_production else RemovalPolicy.DESTROY,
        )
        self.payment_validation = self._function(
            FunctionSpec(
                "payment_validation", "Validates and normalizes payment requests", Duration.seconds(5)
            ),
            functions_sg,
        )
        self.fraud_detection = self._function(
            FunctionSpec(
                "fraud_detection", "Scores a transaction against the customer's history", Duration.seconds(10)
            ),
            functions_sg,
        )
        self.transaction_processing = self._function(
            FunctionSpec(
                "transaction_processing", "ALB target of POST /transactions", Duration.seconds(25), 512
            ),
            functions_sg,
        )
        self.secrets_rotation = self._function(
            FunctionSpec("secrets_rotation", "Rotates the Aurora master secret", Duration.seconds(60)),
            rotation_sg,
        )
        # Versions outlive the deployment that published them: an alias may still serve one (Lambda
        # refuses to delete a version an alias names), an older processing version still calls the
        # validation and fraud versions published with it, and each is a rollback target.
        for fn in (self.transaction_processing, self.payment_validation, self.fraud_detection):
            fn.current_version.apply_removal_policy(RemovalPolicy.RETAIN)
        self.all = [
            self.payment_validation,
            self.fraud_detection,
            self.transaction_processing,
            self.secrets_rotation,
        ]
        acknowledge(
            self,
            L1="Pinned to python3.12: lambda_src/build.py builds for it and the tests run on it",
            **{f"IAM4[Policy::{VPC_POLICY}]": "AWS's policy for a VPC function's ENI calls"},
        )
        acknowledge(self, PCI_DSS, IAMNoInlinePolicy=INLINE_GRANTS)
        for fn in (self.payment_validation, self.fraud_detection, self.transaction_processing):
            acknowledge(
                fn,
                **{
                    "IAM5[Resource::*]": "Actions that take no resource ARN: X-Ray's PutTraceSegments and "
                    "PutTelemetryRecords (active tracing)"
                },
            )  # secrets_rotation: acknowledged where its rotation grants are made (stack.py)

    def processing_version(self, construct_id: str, number: int | None) -> lambda_.IVersion:
        """A published version of transaction_processing, or (None) the one this deployment publishes."""
        if number is None:
            return self.transaction_processing.current_version
        return lambda_.Version.from_version_attributes(
            self, construct_id, lambda_=self.transaction_processing, version=str(number)
        )

    def _function(self, spec: FunctionSpec, security_group: ec2.ISecurityGroup) -> lambda_.Function:
        construct_id = "".join(part.title() for part in spec.name.split("_"))
        function_name = self._config.name(f"payments-{spec.name.replace('_', '-')}")
        log_group = self._encryption.log_group(
            self, f"{construct_id}Logs", log_group_name=f"/aws/lambda/{function_name}"
        )
        return lambda_.Function(
            self,
            construct_id,
            function_name=function_name,
            description=spec.description,
            runtime=LAMBDA_RUNTIME,
            architecture=lambda_.Architecture.X86_64,
            handler="index.handler",
            code=lambda_.Code.from_asset(str(function_dir(STACK, spec.name))),
            layers=[self.layer],
            timeout=spec.timeout,
            memory_size=spec.memory,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            reserved_concurrent_executions=self._config.lambda_reserved_concurrency,
            vpc=self._vpc,
            vpc_subnets=self._subnets,
            security_groups=[security_group],
            environment={
                "POWERTOOLS_SERVICE_NAME": spec.name,
                "POWERTOOLS_LOG_LEVEL": "INFO",
                "ENVIRONMENT": self._config.env,
            },
        )
