"""Per rule and format, a good and a bad minimal document, judged on the same resource (``subject``).

The bad one is the defect the rule exists for; the good one is the same resource fixed, so a rule
that judged nothing, or failed everything, is caught too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from policies.model import Document
from tests.policies.docs import SECRET, cfn, pulumi, tf


@dataclass(frozen=True)
class Case:
    rule: str
    format: str
    what: str
    subject: str  # CloudFormation logical id, Terraform address, Pulumi resource name
    good: Callable[[], Document]
    bad: Callable[[], Document]

    @property
    def id(self) -> str:
        return f"{self.rule}-{self.format}-{self.what}"


CASES: list[Case] = []


def case(rule: str, fmt: str, what: str, subject: str):
    """Register ``build(defect: bool) -> Document`` as the good (False) and bad (True) fixture."""

    def register(build: Callable[[bool], Document]) -> Callable[[bool], Document]:
        CASES.append(Case(rule, fmt, what, subject, lambda: build(False), lambda: build(True)))
        return build

    return register


# encrypted-at-rest ------------------------------------------------------------------------


@case("encrypted-at-rest", "cloudformation", "aurora", "Cluster")
def _(defect):
    props = {"Engine": "aurora-postgresql", "DBClusterIdentifier": "db-dev"}
    return cfn({"Cluster": ("AWS::RDS::DBCluster", props if defect else {**props, "StorageEncrypted": True})})


@case("encrypted-at-rest", "terraform", "sns", "aws_sns_topic.alerts")
def _(defect):
    topic = (
        {"name": "alerts-dev"}
        if defect
        else {"name": "alerts-dev", "kms_master_key_id": "${aws_kms_key.k.arn}"}
    )
    return tf({"aws_sns_topic": {"alerts": topic}, "aws_kms_key": {"k": {"enable_key_rotation": True}}})


@case("encrypted-at-rest", "pulumi", "secondary-cluster", "secondary")
def _(defect):
    cluster = {
        "clusterIdentifier": "db-dev-secondary",
        "engine": "aurora-postgresql",
        "storageEncrypted": not defect,
    }
    return pulumi([("aws:rds/cluster:Cluster", "secondary", cluster)])  # trading-dr-08


@case("encrypted-at-rest", "terraform", "sqs-sse-off", "aws_sqs_queue.jobs")
def _(defect):
    return tf({"aws_sqs_queue": {"jobs": {"name": "jobs-dev", "sqs_managed_sse_enabled": not defect}}})


# no-open-admin-ingress ---------------------------------------------------------------------


@case("no-open-admin-ingress", "cloudformation", "inline-postgres", "DatabaseSg")
def _(defect):
    ingress = {
        "IpProtocol": "tcp",
        "FromPort": 5432,
        "ToPort": 5432,
        "CidrIp": "0.0.0.0/0" if defect else "10.0.0.0/16",
    }
    return cfn(
        {
            "DatabaseSg": (
                "AWS::EC2::SecurityGroup",
                {"GroupDescription": "db", "SecurityGroupIngress": [ingress]},
            )
        }
    )


@case("no-open-admin-ingress", "cloudformation", "standalone-ssh-ipv6", "SshIn")
def _(defect):
    rule = {"GroupId": "sg-1", "IpProtocol": "tcp", "FromPort": 20, "ToPort": 25}
    rule["CidrIpv6" if defect else "SourceSecurityGroupId"] = "::/0" if defect else "sg-2"
    return cfn({"SshIn": ("AWS::EC2::SecurityGroupIngress", rule)})


@case("no-open-admin-ingress", "terraform", "ssh", "aws_vpc_security_group_ingress_rule.ssh")
def _(defect):
    rule = {
        "security_group_id": "${aws_security_group.sg.id}",
        "ip_protocol": "tcp",
        "from_port": 22,
        "to_port": 22,
    }
    if defect:
        rule["cidr_ipv4"] = "0.0.0.0/0"
    else:
        rule["referenced_security_group_id"] = "${aws_security_group.bastion.id}"
    return tf({"aws_vpc_security_group_ingress_rule": {"ssh": rule}})


@case("no-open-admin-ingress", "terraform", "https-open-is-fine", "aws_security_group.web")
def _(defect):
    ingress = {
        "protocol": "-1" if defect else "tcp",
        "from_port": 443 if not defect else 0,
        "to_port": 443 if not defect else 0,
    }
    return tf(
        {
            "aws_security_group": {
                "web": {"name": "web-dev", "ingress": [{**ingress, "cidr_blocks": ["0.0.0.0/0"]}]}
            }
        }
    )


@case("no-open-admin-ingress", "pulumi", "all-traffic", "db-sg")
def _(defect):
    ingress = [
        {
            "protocol": "-1",
            "fromPort": 0,
            "toPort": 0,
            "cidrBlocks": ["0.0.0.0/0" if defect else "10.0.0.0/8"],
        }
    ]
    return pulumi([("aws:ec2/securityGroup:SecurityGroup", "db-sg", {"name": "db-dev", "ingress": ingress})])


# no-plaintext-secrets -----------------------------------------------------------------------


@case("no-plaintext-secrets", "cloudformation", "master-password", "Cluster")
def _(defect):
    password = "insecure123" if defect else "{{resolve:secretsmanager:db-dev:SecretString:password}}"
    props = {"Engine": "aurora-postgresql", "StorageEncrypted": True, "MasterUserPassword": password}
    return cfn({"Cluster": ("AWS::RDS::DBCluster", props)})


@case("no-plaintext-secrets", "terraform", "environment-variable", "aws_lambda_function.fn")
def _(defect):
    variables = {"DB_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"}
    if defect:
        variables["DB_PASSWORD"] = "hunter2"
    return tf(
        {"aws_lambda_function": {"fn": {"function_name": "fn-dev", "environment": {"variables": variables}}}}
    )


@case("no-plaintext-secrets", "terraform", "access-key", "aws_lambda_function.fn")
def _(defect):
    variables = {"NOTE": "AKIAIOSFODNN7EXAMPLE" if defect else "rotated"}
    return tf(
        {"aws_lambda_function": {"fn": {"function_name": "fn-dev", "environment": {"variables": variables}}}}
    )


@case("no-plaintext-secrets", "pulumi", "hard-coded-password", "primary")
def _(defect):
    cluster = {"clusterIdentifier": "db-dev", "masterPassword": "insecure123" if defect else SECRET}
    return pulumi([("aws:rds/cluster:Cluster", "primary", cluster)])  # trading-dr-09


@case("no-plaintext-secrets", "pulumi", "exported-plaintext", "stack demo/dev")
def _(defect):
    secret = {**SECRET, "plaintext": '"hunter2"'} if defect else SECRET
    return pulumi([], outputs={"db_password": secret})


# lambda-timeout ------------------------------------------------------------------------------

FN_CFN = {
    "FunctionName": "fn-dev",
    "Runtime": "python3.12",
    "Handler": "index.handler",
    "Role": "arn:aws:iam::1:role/r",
}


@case("lambda-timeout", "cloudformation", "default", "Fn")
def _(defect):
    return cfn({"Fn": ("AWS::Lambda::Function", FN_CFN if defect else {**FN_CFN, "Timeout": 30})})


@case("lambda-timeout", "terraform", "default", "aws_lambda_function.fn")
def _(defect):
    return tf(
        {"aws_lambda_function": {"fn": {"function_name": "fn-dev", **({} if defect else {"timeout": 30})}}}
    )


@case("lambda-timeout", "pulumi", "under-6x-visibility", "worker")
def _(defect):
    return pulumi(
        [
            (
                "aws:sqs/queue:Queue",
                "jobs",
                {"name": "jobs-dev", "visibilityTimeoutSeconds": 300 if defect else 360},
            ),
            (
                "aws:lambda/function:Function",
                "worker",
                {"name": "worker-dev", "timeout": 60},
            ),
            (
                "aws:lambda/eventSourceMapping:EventSourceMapping",
                "worker-source",
                {
                    "eventSourceArn": "arn:aws:sqs:us-east-1:123456789012:jobs-dev",
                    "functionName": "arn:aws:lambda:us-east-1:123456789012:function:worker-dev",
                },
            ),
        ]
    )


@case("lambda-timeout", "terraform", "longer-than-default-visibility", "aws_lambda_function.worker")
def _(defect):
    queue = {"name": "jobs-dev"} if defect else {"name": "jobs-dev", "visibility_timeout_seconds": 180}
    mapping = {
        "event_source_arn": "${aws_sqs_queue.jobs.arn}",
        "function_name": "${aws_lambda_function.worker.function_name}",
    }
    return tf(
        {
            "aws_sqs_queue": {"jobs": queue},
            "aws_lambda_function": {"worker": {"function_name": "worker-dev", "timeout": 30}},
            "aws_lambda_event_source_mapping": {"source": mapping},
        }
    )


# lambda-tracing -------------------------------------------------------------------------------


@case("lambda-tracing", "cloudformation", "pass-through", "Fn")
def _(defect):
    return cfn(
        {
            "Fn": (
                "AWS::Lambda::Function",
                {**FN_CFN, "TracingConfig": {"Mode": "PassThrough" if defect else "Active"}},
            )
        }
    )


@case("lambda-tracing", "terraform", "missing", "aws_lambda_function.fn")
def _(defect):
    fn = {"function_name": "fn-dev", **({} if defect else {"tracing_config": {"mode": "Active"}})}
    return tf({"aws_lambda_function": {"fn": fn}})


@case("lambda-tracing", "pulumi", "missing", "fn")
def _(defect):
    fn = {"name": "fn-dev", **({} if defect else {"tracingConfig": {"mode": "Active"}})}
    return pulumi([("aws:lambda/function:Function", "fn", fn)])


# lambda-log-retention --------------------------------------------------------------------------


@case("lambda-log-retention", "cloudformation", "logging-config", "Fn")
def _(defect):
    group = (
        {"LogGroupName": "/demo/dev/fn"}
        if defect
        else {"LogGroupName": "/demo/dev/fn", "RetentionInDays": 30}
    )
    fn = {**FN_CFN, "LoggingConfig": {"LogGroup": {"Ref": "Logs"}}}
    return cfn({"Fn": ("AWS::Lambda::Function", fn), "Logs": ("AWS::Logs::LogGroup", group)})


@case("lambda-log-retention", "cloudformation", "generated-name", "Fn")
def _(defect):
    name = {"Fn::Join": ["", ["/aws/lambda/", {"Ref": "Other" if defect else "Fn"}]]}
    fn = {k: v for k, v in FN_CFN.items() if k != "FunctionName"}
    return cfn(
        {
            "Fn": ("AWS::Lambda::Function", fn),
            "Other": ("AWS::Lambda::Function", {**fn, "LoggingConfig": {"LogGroup": "/x"}}),
            "Logs": ("AWS::Logs::LogGroup", {"LogGroupName": name, "RetentionInDays": 7}),
        }
    )


@case("lambda-log-retention", "cloudformation", "cdk-log-retention", "Fn")
def _(defect):
    """aws-cdk-lib's log_retention= (a Custom::LogRetention resource) counts as the group's retention."""
    retention = {
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provider",
        "LogGroupName": {"Fn::Join": ["", ["/aws/lambda/", {"Ref": "Fn"}]]},
    }
    if not defect:
        retention["RetentionInDays"] = 30
    return cfn({"Fn": ("AWS::Lambda::Function", FN_CFN), "Retention": ("Custom::LogRetention", retention)})


@case("lambda-log-retention", "terraform", "no-log-group", "aws_lambda_function.fn")
def _(defect):
    resources = {"aws_lambda_function": {"fn": {"function_name": "fn-dev"}}}
    if not defect:
        resources["aws_cloudwatch_log_group"] = {
            "logs": {"name": "/aws/lambda/fn-dev", "retention_in_days": 30}
        }
    return tf(resources)


@case("lambda-log-retention", "pulumi", "no-retention", "fn")
def _(defect):
    group = {"name": "/aws/lambda/fn-dev", **({} if defect else {"retentionInDays": 14})}
    return pulumi(
        [
            ("aws:cloudwatch/logGroup:LogGroup", "fn-logs", group),
            ("aws:lambda/function:Function", "fn", {"name": "fn-dev"}),
        ]
    )


# async-failure-destination -----------------------------------------------------------------------


@case("async-failure-destination", "cloudformation", "sns-subscriber", "Fn")
def _(defect):
    fn = FN_CFN if defect else {**FN_CFN, "DeadLetterConfig": {"TargetArn": {"Fn::GetAtt": ["Dlq", "Arn"]}}}
    subscription = {
        "Protocol": "lambda",
        "Endpoint": {"Fn::GetAtt": ["Fn", "Arn"]},
        "TopicArn": {"Ref": "Topic"},
    }
    return cfn(
        {
            "Fn": ("AWS::Lambda::Function", fn),
            "Dlq": ("AWS::SQS::Queue", {}),
            "Topic": ("AWS::SNS::Topic", {"KmsMasterKeyId": "alias/aws/sns"}),
            "Sub": ("AWS::SNS::Subscription", subscription),
        }
    )


@case(
    "async-failure-destination", "terraform", "sqs-without-redrive", "aws_lambda_event_source_mapping.source"
)
def _(defect):
    queue = {"name": "jobs-dev"}
    if not defect:
        queue["redrive_policy"] = (
            '${jsonencode({"deadLetterTargetArn" = aws_sqs_queue.dlq.arn, "maxReceiveCount" = 3})}'
        )
    mapping = {
        "event_source_arn": "${aws_sqs_queue.jobs.arn}",
        "function_name": "${aws_lambda_function.fn.arn}",
    }
    return tf(
        {
            "aws_sqs_queue": {"jobs": queue, "dlq": {"name": "jobs-dlq-dev"}},
            "aws_lambda_function": {"fn": {"function_name": "fn-dev", "timeout": 10}},
            "aws_lambda_event_source_mapping": {"source": mapping},
        }
    )


@case("async-failure-destination", "pulumi", "eventbridge-target", "failover")
def _(defect):
    resources = [
        ("aws:lambda/function:Function", "failover", {"name": "failover-dev"}),
        ("aws:cloudwatch/eventRule:EventRule", "on-alarm", {"name": "on-alarm-dev"}),
        (
            "aws:cloudwatch/eventTarget:EventTarget",
            "target",
            {"rule": "on-alarm-dev", "arn": "arn:aws:lambda:us-east-1:123456789012:function:failover-dev"},
        ),
    ]
    if not defect:
        config = {
            "functionName": "failover-dev",
            "destinationConfig": {"onFailure": {"destination": "arn:aws:sqs:us-east-1:123456789012:dlq-dev"}},
        }
        resources.append(("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "async", config))
    return pulumi(resources)  # trading-dr-22


@case("async-failure-destination", "pulumi", "kinesis-stream", "source")
def _(defect):
    mapping = {
        "eventSourceArn": "arn:aws:kinesis:us-east-1:123456789012:stream/clicks-dev",
        "functionName": "fn-dev",
    }
    if not defect:
        mapping["destinationConfig"] = {
            "onFailure": {"destination": "arn:aws:sqs:us-east-1:123456789012:dlq-dev"}
        }
    return pulumi([("aws:lambda/eventSourceMapping:EventSourceMapping", "source", mapping)])


@case("async-failure-destination", "terraform", "s3-notification", "aws_lambda_function.fn")
def _(defect):
    notification = {
        "bucket": "${aws_s3_bucket.data.id}",
        "lambda_function": [
            {"lambda_function_arn": "${aws_lambda_function.fn.arn}", "events": ["s3:ObjectCreated:*"]}
        ],
    }
    fn = {"function_name": "fn-dev", "timeout": 10}
    if not defect:
        fn["dead_letter_config"] = {"target_arn": "${aws_sqs_queue.dlq.arn}"}
    return tf(
        {
            "aws_lambda_function": {"fn": fn},
            "aws_s3_bucket": {"data": {"bucket": "data-dev"}},
            "aws_s3_bucket_notification": {"data": notification},
        }
    )


# alarm-has-action -------------------------------------------------------------------------------

ALARM_CFN = {"AlarmName": "errors-dev", "MetricName": "Errors", "Namespace": "AWS/Lambda", "Threshold": 1}


@case("alarm-has-action", "cloudformation", "no-actions", "Alarm")
def _(defect):
    alarm = ALARM_CFN if defect else {**ALARM_CFN, "AlarmActions": [{"Ref": "Topic"}]}
    return cfn(
        {"Alarm": ("AWS::CloudWatch::Alarm", alarm), "Topic": ("AWS::SNS::Topic", {"KmsMasterKeyId": "k"})}
    )


@case("alarm-has-action", "terraform", "through-composite", "aws_cloudwatch_metric_alarm.child")
def _(defect):
    composite = {
        "alarm_name": "any-dev",
        "alarm_rule": 'ALARM("${aws_cloudwatch_metric_alarm.child.alarm_name}")',
        "alarm_actions": [] if defect else ["${aws_sns_topic.t.arn}"],
    }
    return tf(
        {
            "aws_cloudwatch_metric_alarm": {"child": {"alarm_name": "child-dev", "metric_name": "Errors"}},
            "aws_cloudwatch_composite_alarm": {"any": composite},
        }
    )


@case("alarm-has-action", "pulumi", "through-eventbridge", "lag")
def _(defect):
    pattern = {
        "source": ["aws.cloudwatch"],
        "resources": ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:lag-dev"],
    }
    resources = [
        ("aws:cloudwatch/metricAlarm:MetricAlarm", "lag", {"name": "lag-dev", "metricName": "Lag"}),
        (
            "aws:cloudwatch/eventRule:EventRule",
            "on-lag",
            {"name": "on-lag-dev", "eventPattern": json.dumps(pattern)},
        ),
    ]
    if not defect:
        target = {"rule": "on-lag-dev", "arn": "arn:aws:sns:us-east-1:123456789012:ops-dev"}
        resources.append(("aws:cloudwatch/eventTarget:EventTarget", "to-ops", target))
    return pulumi(resources)


# api-access-logs / api-throttling -------------------------------------------------------------------

STAGE_CFN = {"RestApiId": {"Ref": "Api"}, "DeploymentId": {"Ref": "Deployment"}, "StageName": "dev"}
ACCESS_LOG_CFN = {
    "DestinationArn": {"Fn::GetAtt": ["Logs", "Arn"]},
    "Format": '{"requestId":"$context.requestId"}',
}
THROTTLE_CFN = {
    "ResourcePath": "/*",
    "HttpMethod": "*",
    "ThrottlingRateLimit": 50,
    "ThrottlingBurstLimit": 100,
}


def _rest_api_cfn(stage: dict) -> Document:
    return cfn(
        {
            "Api": ("AWS::ApiGateway::RestApi", {"Name": "api-dev"}),
            "Deployment": ("AWS::ApiGateway::Deployment", {"RestApiId": {"Ref": "Api"}}),
            "Logs": ("AWS::Logs::LogGroup", {"RetentionInDays": 30}),
            "Stage": ("AWS::ApiGateway::Stage", stage),
        }
    )


@case("api-access-logs", "cloudformation", "stage", "Stage")
def _(defect):
    return _rest_api_cfn(STAGE_CFN if defect else {**STAGE_CFN, "AccessLogSetting": ACCESS_LOG_CFN})


@case("api-access-logs", "cloudformation", "implicit-stage", "Deployment")
def _(defect):
    deployment = {"RestApiId": {"Ref": "Api"}, "StageName": "dev"}
    if not defect:
        deployment["StageDescription"] = {"AccessLogSetting": ACCESS_LOG_CFN}
    return cfn(
        {
            "Api": ("AWS::ApiGateway::RestApi", {"Name": "api-dev"}),
            "Logs": ("AWS::Logs::LogGroup", {"RetentionInDays": 30}),
            "Deployment": ("AWS::ApiGateway::Deployment", deployment),
        }
    )  # fraud-18


def _rest_api_tf(stage_extra: dict, settings: dict | None) -> Document:
    resources = {
        "aws_api_gateway_rest_api": {"api": {"name": "api-dev"}},
        "aws_api_gateway_stage": {
            "stage": {
                "rest_api_id": "${aws_api_gateway_rest_api.api.id}",
                "deployment_id": "${aws_api_gateway_deployment.d.id}",
                "stage_name": "dev",
                **stage_extra,
            }
        },
    }
    if settings is not None:
        resources["aws_api_gateway_method_settings"] = {"all": settings}
    return tf(resources)


ACCESS_LOG_TF = {"destination_arn": "${aws_cloudwatch_log_group.access.arn}", "format": "$context.requestId"}


@case("api-access-logs", "terraform", "stage", "aws_api_gateway_stage.stage")
def _(defect):
    return _rest_api_tf({} if defect else {"access_log_settings": ACCESS_LOG_TF}, None)


@case("api-access-logs", "pulumi", "stage", "stage")
def _(defect):
    stage = {"restApi": "api-id", "deployment": "d-id", "stageName": "v1"}
    if not defect:
        stage["accessLogSettings"] = {
            "destinationArn": "arn:aws:logs:us-east-1:123456789012:log-group:/api/dev",
            "format": "$context.requestId",
        }
    return pulumi(
        [
            ("aws:apigateway/restApi:RestApi", "api", {"name": "api-dev"}),
            ("aws:apigateway/stage:Stage", "stage", stage),
        ]
    )


@case("api-throttling", "cloudformation", "stage", "Stage")
def _(defect):
    settings = [{**THROTTLE_CFN, "ResourcePath": "/orders"}] if defect else [THROTTLE_CFN]
    return _rest_api_cfn({**STAGE_CFN, "MethodSettings": settings})


@case("api-throttling", "terraform", "other-stage", "aws_api_gateway_stage.stage")
def _(defect):
    settings = {
        "rest_api_id": "${aws_api_gateway_rest_api.api.id}",
        "stage_name": "prod" if defect else "${aws_api_gateway_stage.stage.stage_name}",
        "method_path": "*/*",
        "settings": {"throttling_rate_limit": 50, "throttling_burst_limit": 100},
    }
    return _rest_api_tf({}, settings)


@case("api-throttling", "pulumi", "unset-limit", "stage")
def _(defect):
    settings = {
        "restApi": "api-id",
        "stageName": "v1",
        "methodPath": "*/*",
        "settings": {"throttlingRateLimit": -1 if defect else 50, "throttlingBurstLimit": 100},
    }
    return pulumi(
        [
            ("aws:apigateway/restApi:RestApi", "api", {"name": "api-dev"}),
            ("aws:apigateway/stage:Stage", "stage", {"restApi": "api-id", "stageName": "v1"}),
            ("aws:apigateway/methodSettings:MethodSettings", "throttling", settings),
        ]
    )  # trading-dr-18


@case("api-throttling", "terraform", "http-api", "aws_apigatewayv2_stage.default")
def _(defect):
    routes = (
        {"throttling_rate_limit": 10}
        if defect
        else {"throttling_rate_limit": 10, "throttling_burst_limit": 20}
    )
    return tf(
        {
            "aws_apigatewayv2_stage": {
                "default": {"api_id": "a", "name": "$default", "default_route_settings": routes}
            }
        }
    )


# bucket-public-access-block / bucket-tls-only ---------------------------------------------------------

BLOCK_ALL = {
    "BlockPublicAcls": True,
    "BlockPublicPolicy": True,
    "IgnorePublicAcls": True,
    "RestrictPublicBuckets": True,
}


@case("bucket-public-access-block", "cloudformation", "one-setting-off", "Bucket")
def _(defect):
    block = {**BLOCK_ALL, "RestrictPublicBuckets": False} if defect else BLOCK_ALL
    return cfn(
        {"Bucket": ("AWS::S3::Bucket", {"BucketName": "data-dev", "PublicAccessBlockConfiguration": block})}
    )


@case("bucket-public-access-block", "terraform", "missing", "aws_s3_bucket.data")
def _(defect):
    resources = {"aws_s3_bucket": {"data": {"bucket": "data-dev"}}}
    if not defect:
        block = {"bucket": "${aws_s3_bucket.data.id}", "block_public_acls": True, "block_public_policy": True}
        block |= {"ignore_public_acls": True, "restrict_public_buckets": True}
        resources["aws_s3_bucket_public_access_block"] = {"data": block}
    return tf(resources)


@case("bucket-public-access-block", "pulumi", "policy-allowed", "data")
def _(defect):
    block = {"bucket": "data-id", "blockPublicAcls": True, "blockPublicPolicy": not defect}
    block |= {"ignorePublicAcls": True, "restrictPublicBuckets": True}
    return pulumi(
        [
            ("aws:s3/bucket:Bucket", "data", {"bucket": "data-dev"}),
            ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "data-block", block),
        ]
    )


def _deny_plain_http(resources: list, secure_transport: str = "false") -> dict:
    return {
        "Sid": "DenyPlainHttp",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "s3:*",
        "Resource": resources,
        "Condition": {"Bool": {"aws:SecureTransport": secure_transport}},
    }


@case("bucket-tls-only", "cloudformation", "allow-only", "Bucket")
def _(defect):
    arn = {"Fn::GetAtt": ["Bucket", "Arn"]}
    deny = _deny_plain_http([arn, {"Fn::Join": ["", [arn, "/*"]]}])
    allow = {
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
    }
    statements = [allow] if defect else [deny, allow]
    policy = {
        "Bucket": {"Ref": "Bucket"},
        "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
    }
    return cfn(
        {
            "Bucket": ("AWS::S3::Bucket", {"BucketName": "data-dev"}),
            "Policy": ("AWS::S3::BucketPolicy", policy),
        }
    )


@case("bucket-tls-only", "terraform", "policy-document", "aws_s3_bucket.data")
def _(defect):
    statement = {
        "effect": "Deny",
        "actions": ["s3:*"],
        "resources": ["${aws_s3_bucket.data.arn}", "${aws_s3_bucket.data.arn}/*"],
        "principals": [{"type": "AWS", "identifiers": ["*"]}],
        "condition": [
            {"test": "Bool", "variable": "aws:SecureTransport", "values": ["true" if defect else "false"]}
        ],
    }
    return tf(
        {
            "aws_s3_bucket": {"data": {"bucket": "data-dev"}},
            "aws_s3_bucket_policy": {
                "data": {
                    "bucket": "${aws_s3_bucket.data.id}",
                    "policy": "${data.aws_iam_policy_document.tls.json}",
                }
            },
        },
        data={"aws_iam_policy_document": {"tls": {"statement": [statement]}}},
    )


@case("bucket-tls-only", "pulumi", "no-policy", "data")
def _(defect):
    resources = [("aws:s3/bucket:Bucket", "data", {"bucket": "data-dev"})]
    if not defect:
        policy = {
            "Version": "2012-10-17",
            "Statement": [_deny_plain_http(["arn:aws:s3:::data-dev", "arn:aws:s3:::data-dev/*"])],
        }
        resources.append(
            (
                "aws:s3/bucketPolicy:BucketPolicy",
                "data-tls",
                {"bucket": "data-id", "policy": json.dumps(policy)},
            )
        )
    return pulumi(resources)


# name-has-environment / required-tags ---------------------------------------------------------------


@case("name-has-environment", "cloudformation", "fixed-name", "Table")
def _(defect):
    name = "orders" if defect else {"Fn::Sub": "orders-dev-${AWS::Region}"}
    return cfn({"Table": ("AWS::DynamoDB::Table", {"TableName": name})})


@case("name-has-environment", "terraform", "other-environment", "aws_lambda_function.fn")
def _(defect):
    return tf({"aws_lambda_function": {"fn": {"function_name": "fn-prod" if defect else "fn-dev"}}})


@case("name-has-environment", "pulumi", "hard-coded", "queue")
def _(defect):
    return pulumi([("aws:sqs/queue:Queue", "queue", {"name": "orders" if defect else "orders-dev-primary"})])


@case("required-tags", "cloudformation", "no-stack-tags", "Topic")
def _(defect):
    topic = {"KmsMasterKeyId": "k", "Tags": [{"Key": "project", "Value": "demo"}]}
    return cfn({"Topic": ("AWS::SNS::Topic", topic)}, tags={} if defect else {"environment": "dev"})


@case("required-tags", "terraform", "no-default-tags", "aws_sqs_queue.jobs")
def _(defect):
    return tf(
        {"aws_sqs_queue": {"jobs": {"name": "jobs-dev", "tags": {"component": "jobs"}}}},
        tags={} if defect else None,
    )


@case("required-tags", "pulumi", "component-tag-only", "jobs")
def _(defect):
    return pulumi(
        [("aws:sqs/queue:Queue", "jobs", {"name": "jobs-dev", "tags": {"component": "jobs"}})],
        tags={"project": "demo"} if defect else None,
    )  # fraud-22


# input-read --------------------------------------------------------------------------------------


@case("input-read", "cloudformation", "sam-type-not-expanded", "stack demo-dev")
def _(defect):
    api = ("AWS::Serverless::GraphQLApi", {"Name": "api"}) if defect else ("AWS::SNS::Topic", {})
    return cfn({"Api": api}, Transform="AWS::Serverless-2016-10-31")


@case("input-read", "terraform", "module", "stack demo-dev")
def _(defect):
    return tf(
        {"aws_sqs_queue": {"q": {"name": "q-dev"}}},
        **({"module": {"vpc": {"source": "./vpc"}}} if defect else {}),
    )


@case("input-read", "pulumi", "pending-operations", "stack demo/dev")
def _(defect):
    from policies.loaders.pulumi import from_export
    from tests.policies.docs import pulumi_export

    export = pulumi_export([("aws:sqs/queue:Queue", "q", {"name": "q-dev"})])
    if defect:
        pending = {
            "resource": {"urn": "urn:pulumi:dev::demo::aws:sqs/queue:Queue::r", "type": "x"},
            "type": "creating",
        }
        export["deployment"]["pending_operations"] = [pending]
    return from_export(json.loads(json.dumps(export)))
