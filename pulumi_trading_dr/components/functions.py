"""One Lambda function of ours in one region, packaged from lambda_src/ (the bundle build.py made,
with the shared layer unless it needs none): its log group with retention created first, its own role with a
least-privilege inline policy that exists before the function, X-Ray active."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from lambda_src.build import LAYER_DIR, RUNTIME, function_dir
from pulumi_trading_dr.components.region import Region
from pulumi_trading_dr.config import TradingConfig

STACK = "pulumi_trading_dr"


def trust_policy(service: str) -> str:
    """The assume-role policy of a role an AWS service takes on (``lambda``, ``s3``, ...)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": f"{service}.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


# X-Ray segments take no resource ARN.
XRAY = {"Effect": "Allow", "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "Resource": "*"}
# Creating and deleting ENIs in the VPC takes no resource ARN either.
VPC_ENI = {
    "Effect": "Allow",
    "Action": [
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    ],
    "Resource": "*",
}


def key_use(key_arn: pulumi.Input[str], region: Region, *services: str, actions: Any = "kms:Decrypt") -> dict:
    """A statement that lets a function use the region's key only as ``services`` do on its behalf
    (``kms:ViaService``: reading a secret, writing to an encrypted topic or table)."""
    via = [f"{service}.{region.name}.amazonaws.com" for service in services]
    return {
        "Effect": "Allow",
        "Action": actions,
        "Resource": key_arn,
        "Condition": {"StringEquals": {"kms:ViaService": via[0] if len(via) == 1 else via}},
    }


@dataclass
class FunctionSpec:
    key: str  # the lambda_src/pulumi_trading_dr/<key>/ folder
    description: str
    timeout: int
    statements: list[pulumi.Input[dict[str, Any]]]
    environment: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    vpc: aws.lambda_.FunctionVpcConfigArgs | None = None
    memory: int = 256
    # The function's name without trading-/env/role; defaults to the folder's (one code, two
    # functions: the failover folder deploys as "failover" and as "promote").
    name: str | None = None
    reserved_concurrency: int | None = None


def shared_layer(
    name: str, config: TradingConfig, region: Region, parent: pulumi.Resource
) -> aws.lambda_.LayerVersion:
    """lambda_src/common and the pinned shared dependencies; layers are regional."""
    return aws.lambda_.LayerVersion(
        name,
        layer_name=config.name("shared", region.settings),
        code=pulumi.FileArchive(str(LAYER_DIR)),
        compatible_runtimes=[RUNTIME],
        compatible_architectures=["x86_64"],
        description="lambda_src/common and the shared pinned dependencies",
        opts=region.opts(parent),
    )


@dataclass(frozen=True)
class RegionalFunction:
    function: aws.lambda_.Function
    role: aws.iam.Role
    log_group: aws.cloudwatch.LogGroup


def regional_function(
    name: str,
    spec: FunctionSpec,
    config: TradingConfig,
    region: Region,
    layer: aws.lambda_.LayerVersion | None,
    parent: pulumi.Resource,
) -> RegionalFunction:
    """``layer`` None: a function whose bundle holds all it imports (the orders authorizer)."""
    function_name = config.name((spec.name or spec.key).replace("_", "-"), region.settings)
    child = region.opts(parent)
    log_group = aws.cloudwatch.LogGroup(
        f"{name}-logs",
        name=f"/aws/lambda/{function_name}",
        retention_in_days=config.log_retention_days,
        opts=child,
    )
    # IAM names are global: the region's role is part of the name.
    role = aws.iam.Role(
        f"{name}-role", name=function_name, assume_role_policy=trust_policy("lambda"), opts=child
    )
    statements = [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": pulumi.Output.concat(log_group.arn, ":*"),
        },
        XRAY,
        *([VPC_ENI] if spec.vpc else []),
        *spec.statements,
    ]
    policy = aws.iam.RolePolicy(
        f"{name}-policy",
        role=role.id,
        name="least-privilege",
        policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements}),
        opts=child,
    )
    function = aws.lambda_.Function(
        name,
        name=function_name,
        description=spec.description,
        role=role.arn,
        runtime=RUNTIME,
        architectures=["x86_64"],
        handler="index.handler",
        code=pulumi.FileArchive(str(function_dir(STACK, spec.key))),
        layers=[layer.arn] if layer else None,
        timeout=spec.timeout,
        memory_size=spec.memory,
        tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
        vpc_config=spec.vpc,
        reserved_concurrent_executions=spec.reserved_concurrency,
        environment=aws.lambda_.FunctionEnvironmentArgs(
            variables={
                "POWERTOOLS_SERVICE_NAME": spec.name or spec.key,
                "ENVIRONMENT": config.env,
                "REGION_ROLE": region.role,
                **spec.environment,
            }
        ),
        # The log group first (no auto-created group without retention); the policy before the
        # first invocation, and kept until the function (and its ENIs) are gone on destroy.
        opts=region.opts(parent, depends_on=[log_group, policy]),
    )
    return RegionalFunction(function=function, role=role, log_group=log_group)
