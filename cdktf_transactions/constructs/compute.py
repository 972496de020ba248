"""Compute: the shared layer and the four pipeline functions, packaged from lambda_src/ as zip
archives through TerraformAsset (transactions-02, -03), each with its own role and inline policy,
created before it (transactions-05), log group created first (transactions-08) and an opt-in,
bounded reserved concurrency (transactions-01)."""

from __future__ import annotations

from dataclasses import dataclass, field

from cdktn import AssetType, Fn, TerraformAsset
from cdktn_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.iam_role_policy import IamRolePolicy
from cdktn_provider_aws.lambda_function import (
    LambdaFunction,
    LambdaFunctionEnvironment,
    LambdaFunctionTracingConfig,
    LambdaFunctionVpcConfig,
)
from cdktn_provider_aws.lambda_layer_version import LambdaLayerVersion
from constructs import Construct

from cdktf_transactions.config import TransactionsConfig
from cdktf_transactions.constructs.policy import policy_document, service_trust
from cdktf_transactions.packaging import package
from lambda_src.build import LAYER_DIR, RUNTIME, function_dir

STACK = "cdktf_transactions"
# ENI management for VPC functions and X-Ray segments only support Resource "*".
BASELINE_STATEMENTS = [
    {
        "Sid": "VpcNetworkInterfaces",
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
    {
        "Sid": "XRay",
        "Effect": "Allow",
        "Resource": "*",
        "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
    },
]


@dataclass(frozen=True)
class FunctionSpec:
    name: str  # folder under lambda_src/cdktf_transactions/
    description: str
    timeout: int
    statements: list[dict] = field(default_factory=list)  # least privilege beyond logs/VPC/X-Ray
    environment: dict[str, str] = field(default_factory=dict)


class Compute(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: TransactionsConfig,
        account_id: str,
        subnet_ids: list[str],
        security_group_ids: list[str],
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._account_id = account_id
        self._vpc = LambdaFunctionVpcConfig(subnet_ids=subnet_ids, security_group_ids=security_group_ids)
        # Reproducible zips (cdktf_transactions/packaging.py), copied as files: an unchanged source
        # keeps its hash, so it deploys nothing.
        layer_zip = package(LAYER_DIR, "layer")
        layer_asset = TerraformAsset(self, "layer-asset", path=str(layer_zip), type=AssetType.FILE)
        self.layer = LambdaLayerVersion(
            self,
            "layer",
            layer_name=config.name("transactions-shared"),
            filename=layer_asset.path,
            source_code_hash=Fn.filebase64sha256(layer_asset.path),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=["x86_64"],
            description="lambda_src/common and the shared pinned dependencies",
        )

    def add(self, spec: FunctionSpec) -> LambdaFunction:
        config = self._config
        function_name = config.name(f"transactions-{spec.name.replace('_', '-')}")
        # The log group exists before the function, so Lambda never auto-creates one without
        # retention (and the next apply does not fail with ResourceAlreadyExists).
        log_group = CloudwatchLogGroup(
            self,
            f"{spec.name}-logs",
            name=f"/aws/lambda/{function_name}",
            retention_in_days=config.log_retention_days,
        )
        role = IamRole(
            self,
            f"{spec.name}-role",
            # IAM names are per account: the region keeps a second region's roles apart.
            name=config.global_name(f"transactions-{spec.name.replace('_', '-')}"),
            # aws:SourceAccount only: Lambda assumes an execution role for the function's whole life,
            # from CreateFunction's check on, and AWS documents no aws:SourceArn for it (README).
            assume_role_policy=service_trust(
                self, f"{spec.name}-trust", service="lambda.amazonaws.com", account_id=self._account_id
            ),
        )
        policy = IamRolePolicy(
            self,
            f"{spec.name}-policy",
            role=role.id,
            name="least-privilege",
            policy=policy_document(
                self,
                f"{spec.name}-policy-document",
                [
                    {
                        "Sid": "OwnLogGroup",
                        "Effect": "Allow",
                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                        "Resource": f"{log_group.arn}:*",
                    },
                    *BASELINE_STATEMENTS,
                    *spec.statements,
                ],
            ),
        )
        archive = package(function_dir(STACK, spec.name), spec.name)
        asset = TerraformAsset(self, f"{spec.name}-asset", path=str(archive), type=AssetType.FILE)
        function = LambdaFunction(
            self,
            spec.name,
            function_name=function_name,
            description=spec.description,
            role=role.arn,
            runtime=RUNTIME,
            architectures=["x86_64"],
            handler="index.handler",
            package_type="Zip",
            filename=asset.path,
            source_code_hash=Fn.filebase64sha256(asset.path),
            layers=[self.layer.arn],
            timeout=spec.timeout,
            memory_size=256,
            reserved_concurrent_executions=config.reserved_concurrency,  # None: not set, no reservation
            tracing_config=LambdaFunctionTracingConfig(mode="Active"),
            vpc_config=self._vpc,
            environment=LambdaFunctionEnvironment(
                variables={
                    "POWERTOOLS_SERVICE_NAME": spec.name,
                    "ENVIRONMENT": config.env,
                    **spec.environment,
                }
            ),
            # Policy first: the first invocation has its permissions, and on destroy the function
            # (and its ENIs) go before the ec2:DeleteNetworkInterface grant Lambda needs to clean up.
            depends_on=[log_group, policy],
        )
        return function
