"""The payments stack: composes the constructs and wires grants; no resource is defined here."""

from __future__ import annotations

import jsii
from aws_cdk import (
    Aspects,
    Aws,
    CfnOutput,
    CfnResource,
    Duration,
    IAspect,
    Stack,
    TagManager,
    Tags,
    aws_cloudwatch as cloudwatch,
    aws_elasticloadbalancingv2 as elbv2,
    aws_iam as iam,
    aws_lambda as lambda_,
)
from constructs import Construct

from cdk_payments.config import PaymentsConfig
from cdk_payments.constructs.api import ALB_LOG_PREFIX, Api
from cdk_payments.constructs.audit import Audit
from cdk_payments.constructs.compute import Compute
from cdk_payments.constructs.data import CUSTOMER_INDEX, PASSWORD_EXCLUDE_CHARACTERS, Data
from cdk_payments.constructs.encryption import Encryption
from cdk_payments.constructs.network import Network
from cdk_payments.constructs.observability import Observability
from cdk_payments.constructs.release import AWS_CUSTOM_RESOURCE_HANDLER, XRAY_ACTIONS, LiveAliasVersion
from cdk_payments.nag import CONTROL_TOWER, PCI_DSS, SOURCE_ACCOUNT_IS_A_REFERENCE, acknowledge, arn_token

ROTATION_INTERVAL = Duration.days(30)
# Feature flags the stack relies on, set on the stack itself: it synthesizes the same in any app,
# with or without cdk.json. S3 log delivery by bucket policy: the access-log bucket enforces
# bucket-owner object ownership, so it has no ACLs to grant the log delivery group.
FEATURE_FLAGS = {"@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True}
ROTATION_ACTIONS = [
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
]
LOGS_POLICY = "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


@jsii.implements(IAspect)
class TagUntaggableFunctions:
    """CDK's own custom-resource handlers are raw CfnResources that Tags.of() skips; tag them too."""

    def __init__(self, tags: dict[str, str]) -> None:
        self._tags = [{"Key": key, "Value": value} for key, value in sorted(tags.items())]

    def visit(self, node) -> None:
        if (
            isinstance(node, CfnResource)
            and node.cfn_resource_type in ("AWS::Lambda::Function", "AWS::IAM::Role")
            and not TagManager.is_taggable(node)
        ):
            node.add_property_override("Tags", self._tags)


def _role(fn: lambda_.Function) -> iam.IRole:
    assert fn.role is not None  # every function of ours has its own role
    return fn.role


def _grant(network: Network, fn: lambda_.Function, actions: list[str], resources: list[str]) -> None:
    """Allow ``fn`` a call it makes: in its role, and in the policy of the VPC endpoint it takes."""
    fn.add_to_role_policy(iam.PolicyStatement(actions=actions, resources=resources))
    network.admit([_role(fn)], actions, resources)


def _cdk_handler_functions(stack: Stack) -> list[CfnResource]:
    """The functions aws-cdk-lib adds as raw CfnResources (custom-resource handlers), not ours."""
    return [
        node
        for node in stack.node.find_all()
        if isinstance(node, CfnResource)
        and node.cfn_resource_type == "AWS::Lambda::Function"
        and not isinstance(node, lambda_.CfnFunction)
    ]


def _restrict_to_this_account(fn: lambda_.Function, principal: str) -> None:
    """SourceAccount on the invoke permission CDK granted ``principal`` (no confused deputy); AWS
    recommends it, and no SourceArn, for rotation functions (payments-03)."""
    permissions = [
        child
        for child in fn.node.children
        if isinstance(child, lambda_.CfnPermission) and child.principal == principal
    ]
    if len(permissions) != 1:
        raise ValueError(f"expected one invoke permission for {principal}, found {len(permissions)}")
    permissions[0].source_account = Aws.ACCOUNT_ID
    acknowledge(
        permissions[0],
        CONTROL_TOWER,
        lambda_function_public_access_prohibited_check=SOURCE_ACCOUNT_IS_A_REFERENCE,
    )


def _cdk_handler_constructs(stack: Stack) -> list[Construct]:
    """CDK's singleton handlers at the stack's root (auto-delete objects, bucket notifications,
    the default security group's restriction, AwsCustomResource's SDK calls)."""
    return [
        child
        for child in stack.node.children
        if child.node.id.startswith(("Custom::", "BucketNotificationsHandler", AWS_CUSTOM_RESOURCE_HANDLER))
    ]


class PaymentsStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: PaymentsConfig, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        for flag, value in FEATURE_FLAGS.items():
            self.node.set_context(flag, value)  # before any child reads it
        tags = {"project": "payments", "environment": config.env, "managed-by": "aws-cdk"}
        for key, value in tags.items():
            Tags.of(self).add(key, value)
        Aspects.of(self).add(TagUntaggableFunctions(tags))

        encryption = Encryption(self, "Encryption", config=config)
        network = Network(self, "Network", config=config, encryption=encryption)
        observability = Observability(self, "Observability", config=config)
        audit = Audit(
            self,
            "Audit",
            config=config,
            topic=observability.topic("AuditEvents", config.name("payments-audit-events")),
            key=encryption.data_key,
        )
        data = Data(
            self,
            "Data",
            config=config,
            vpc=network.vpc,
            subnets=network.data_subnets,
            database_sg=network.database_sg,
            key=encryption.data_key,
        )
        compute = Compute(
            self,
            "Compute",
            config=config,
            vpc=network.vpc,
            subnets=network.app_subnets,
            functions_sg=network.functions_sg,
            rotation_sg=network.rotation_sg,
            encryption=encryption,
        )

        processing = compute.transaction_processing
        processing.add_environment("TRANSACTIONS_TABLE", data.transactions.table_name)
        processing.add_environment("AUDIT_BUCKET", audit.bucket.bucket_name)
        # Each version of processing calls the versions of validation and fraud detection published
        # with it (their version ARNs are part of its configuration): blue runs its downstream
        # code, green the new one, instead of both calling $LATEST (payments-01).
        for variable, downstream in (
            ("VALIDATION_FUNCTION", compute.payment_validation),
            ("FRAUD_FUNCTION", compute.fraud_detection),
        ):
            processing.add_environment(variable, downstream.current_version.function_arn)
            _grant(network, processing, ["lambda:InvokeFunction"], [f"{downstream.function_arn}:*"])
            acknowledge(
                processing,
                **{
                    f"IAM5[Resource::{arn_token(downstream)}:*]": f"Published versions of "
                    f"{downstream.node.id}: each version of processing calls the one published with it, "
                    "and blue may run an older version of processing than green; $LATEST is not granted"
                },
            )
        # Exactly the calls the function makes: GetItem and a conditional PutItem on the table.
        _grant(network, processing, ["dynamodb:GetItem", "dynamodb:PutItem"], [data.transactions.table_arn])
        # Conditional PutObject (If-None-Match) only: the function never reads the bucket.
        audit.grant_record_writes(processing)
        network.admit([_role(processing)], ["s3:PutObject"], [audit.records_arn])
        acknowledge(
            processing,
            **{
                f"IAM5[Resource::{arn_token(audit.bucket)}/audit/*]": "s3:PutObject of a new audit record, "
                "one key per transaction, under the audit/ prefix only"
            },
        )

        fraud = compute.fraud_detection
        fraud.add_environment("TRANSACTIONS_TABLE", data.transactions.table_name)
        fraud.add_environment("CUSTOMER_INDEX", CUSTOMER_INDEX)
        # The history query, on the customer index only (not the table, not the other indexes).
        _grant(network, fraud, ["dynamodb:Query"], [f"{data.transactions.table_arn}/index/{CUSTOMER_INDEX}"])

        # Our rotation function, attached to the cluster secret (payments-03); the network
        # construct lets it reach Aurora (5432) and the Secrets Manager endpoint (443).
        rotation = compute.secrets_rotation
        rotation.add_environment("EXCLUDE_CHARACTERS", PASSWORD_EXCLUDE_CHARACTERS)
        schedule = data.secret.add_rotation_schedule(
            "Rotation", rotation_lambda=rotation, automatically_after=ROTATION_INTERVAL
        )
        # The first rotation starts as soon as the schedule exists: not before there is a database.
        schedule.node.add_dependency(data.writer)
        _restrict_to_this_account(rotation, "secretsmanager.amazonaws.com")
        # Through the Secrets Manager endpoint: the four rotation steps on this secret (CDK's rotation
        # grants allow them), and a new password, which takes no resource.
        network.admit([_role(rotation)], ROTATION_ACTIONS, [data.secret.secret_arn])
        network.admit([_role(rotation)], ["secretsmanager:GetRandomPassword"], ["*"])
        # Active tracing: the X-Ray daemon of each function sends its segments with the function's role.
        network.admit([_role(fn) for fn in compute.all], XRAY_ACTIONS, ["*"])
        acknowledge(
            rotation,
            **{
                "IAM5[Resource::*]": "Actions that take no resource ARN: X-Ray's PutTraceSegments and "
                "PutTelemetryRecords (active tracing) and secretsmanager:GetRandomPassword (the new password)"
            },
        )

        # Blue/green: each target group invokes its own alias, each alias its own version, traffic
        # split by -c blue_weight/green_weight (payments-01, -07). Blue keeps the version it serves
        # unless -c blue_version moves it; green takes what this deploy publishes unless
        # -c green_version pins it (constructs/release.py).
        served = LiveAliasVersion(
            self,
            "BlueServed",
            function=processing,
            alias_name="blue",
            pinned=config.blue_version,
            log_group=observability.handler_logs(encryption),
        )
        blue = lambda_.Alias(
            self,
            "BlueAlias",
            alias_name="blue",
            version=compute.processing_version("BlueVersion", config.blue_version)
            if config.blue_version is not None
            else served.version,
        )
        green = lambda_.Alias(
            self,
            "GreenAlias",
            alias_name="green",
            version=compute.processing_version("GreenVersion", config.green_version),
        )
        self.api = api = Api(
            self,
            "Api",
            config=config,
            vpc=network.vpc,
            subnets=network.app_subnets,
            blue=blue,
            green=green,
            encryption=encryption,
            access_logs=audit.access_logs,
            access_log_policy=audit.admit_load_balancer_logs(ALB_LOG_PREFIX),
        )

        acknowledge(self, **{f"IAM4[Policy::{LOGS_POLICY}]": "AWS's policy for a function's own logs"})
        observability.watch_functions(compute.all)
        observability.add_graph(
            "API requests and errors",
            [
                api.rest_api.metric_count(),
                api.rest_api.metric_client_error(),
                api.rest_api.metric_server_error(),
            ],
        )
        observability.add_graph(
            "ALB responses",
            [
                api.alb.metrics.request_count(),
                api.alb.metrics.http_code_target(elbv2.HttpCodeTarget.TARGET_5XX_COUNT),
            ],
        )
        observability.alarm(
            api.rest_api.metric_server_error(period=Duration.minutes(5), statistic="Sum").create_alarm(
                self,
                "ApiServerErrors",
                alarm_name=config.name("payments-api-5xx"),
                alarm_description="API Gateway answered 5XX to 5 or more requests in 5 minutes",
                threshold=5,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )

        outside_the_vpc = (
            "CDK's own deploy-time handler, invoked by CloudFormation only; in the isolated VPC its "
            "answer to CloudFormation (a pre-signed S3 URL) would need the S3 endpoint opened to "
            "CloudFormation's bucket, and its calls endpoints of their own"
        )
        for handler in _cdk_handler_constructs(self):
            acknowledge(handler, CONTROL_TOWER, lambda_inside_vpc_check=outside_the_vpc)
            acknowledge(handler, PCI_DSS, LambdaInsideVPC=outside_the_vpc)
        observability.log_handlers(_cdk_handler_functions(self), encryption)

        for name, value in {
            "ApiUrl": api.rest_api.url_for_path("/transactions"),
            "AlbDnsName": api.alb.load_balancer_dns_name,
            "TransactionsTable": data.transactions.table_name,
            "AuditBucket": audit.bucket.bucket_name,
            "AlertsTopic": observability.alerts.topic_arn,
            "DatabaseSecret": data.secret.secret_arn,
            "DashboardName": observability.dashboard.dashboard_name,
        }.items():
            CfnOutput(self, name, value=value)
