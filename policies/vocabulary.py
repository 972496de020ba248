"""The common vocabulary: one kind per AWS resource the rules read, with its type in each format.

A type missing here is loaded (the secrets rule reads every resource) but no kind-specific rule
applies to it: see the README's limitations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

FORMATS = ("cloudformation", "terraform", "pulumi")


@dataclass(frozen=True)
class Kind:
    id: str
    types: dict[str, tuple[str, ...]]  # format -> native types
    names: dict[str, str] = field(default_factory=dict)  # format -> the physical-name property
    taggable: bool = False
    # What CloudFormation's Ref and Terraform's .id return is the physical name (else an ARN/URL/id).
    ref_is_name: bool = False

    def name_property(self, fmt: str) -> str | None:
        return self.names.get(fmt)


def _kind(
    id: str,
    cfn: tuple[str, ...] | str = (),
    tf: tuple[str, ...] | str = (),
    pulumi: tuple[str, ...] | str = (),
    names: tuple[str | None, str | None, str | None] = (None, None, None),
    taggable: bool = False,
    ref_is_name: bool = False,
) -> Kind:
    def tup(value: tuple[str, ...] | str) -> tuple[str, ...]:
        return (value,) if isinstance(value, str) else value

    return Kind(
        id=id,
        types={"cloudformation": tup(cfn), "terraform": tup(tf), "pulumi": tup(pulumi)},
        names={fmt: name for fmt, name in zip(FORMATS, names, strict=True) if name},
        taggable=taggable,
        ref_is_name=ref_is_name,
    )


KINDS: tuple[Kind, ...] = (
    # Compute
    _kind(
        "lambda.function",
        "AWS::Lambda::Function",
        "aws_lambda_function",
        "aws:lambda/function:Function",
        ("FunctionName", "function_name", "name"),
        taggable=True,
        ref_is_name=True,
    ),
    _kind(
        "lambda.alias",
        "AWS::Lambda::Alias",
        "aws_lambda_alias",
        "aws:lambda/alias:Alias",
        (None, None, None),
    ),
    _kind(
        "lambda.event_source_mapping",
        "AWS::Lambda::EventSourceMapping",
        "aws_lambda_event_source_mapping",
        "aws:lambda/eventSourceMapping:EventSourceMapping",
    ),
    _kind(
        "lambda.event_invoke_config",
        "AWS::Lambda::EventInvokeConfig",
        "aws_lambda_function_event_invoke_config",
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
    ),
    _kind(
        "lambda.permission",
        "AWS::Lambda::Permission",
        "aws_lambda_permission",
        "aws:lambda/permission:Permission",
    ),
    _kind(
        "sfn.state_machine",
        "AWS::StepFunctions::StateMachine",
        "aws_sfn_state_machine",
        "aws:sfn/stateMachine:StateMachine",
        ("StateMachineName", "name", "name"),
        taggable=True,
    ),
    # Logs and alarms
    _kind(
        "logs.log_group",
        "AWS::Logs::LogGroup",
        "aws_cloudwatch_log_group",
        "aws:cloudwatch/logGroup:LogGroup",
        ("LogGroupName", "name", "name"),
        taggable=True,
        ref_is_name=True,
    ),
    _kind("logs.retention", "Custom::LogRetention"),  # aws-cdk-lib's log_retention (a custom resource)
    _kind(
        "cloudwatch.alarm",
        "AWS::CloudWatch::Alarm",
        "aws_cloudwatch_metric_alarm",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        ("AlarmName", "alarm_name", "name"),
        taggable=True,
        ref_is_name=True,
    ),
    _kind(
        "cloudwatch.composite_alarm",
        "AWS::CloudWatch::CompositeAlarm",
        "aws_cloudwatch_composite_alarm",
        "aws:cloudwatch/compositeAlarm:CompositeAlarm",
        ("AlarmName", "alarm_name", "alarmName"),
        taggable=True,
        ref_is_name=True,
    ),
    _kind(
        "events.rule",
        "AWS::Events::Rule",
        "aws_cloudwatch_event_rule",
        "aws:cloudwatch/eventRule:EventRule",
        ("Name", "name", "name"),
        taggable=True,
    ),
    _kind("events.target", (), "aws_cloudwatch_event_target", "aws:cloudwatch/eventTarget:EventTarget"),
    # Messaging
    _kind(
        "sqs.queue",
        "AWS::SQS::Queue",
        "aws_sqs_queue",
        "aws:sqs/queue:Queue",
        ("QueueName", "name", "name"),
        taggable=True,
    ),
    _kind("sqs.redrive_policy", (), "aws_sqs_queue_redrive_policy", "aws:sqs/redrivePolicy:RedrivePolicy"),
    _kind(
        "sns.topic",
        "AWS::SNS::Topic",
        "aws_sns_topic",
        "aws:sns/topic:Topic",
        ("TopicName", "name", "name"),
        taggable=True,
    ),
    _kind(
        "sns.subscription",
        "AWS::SNS::Subscription",
        "aws_sns_topic_subscription",
        "aws:sns/topicSubscription:TopicSubscription",
    ),
    _kind(
        "kinesis.stream",
        "AWS::Kinesis::Stream",
        "aws_kinesis_stream",
        "aws:kinesis/stream:Stream",
        ("Name", "name", "name"),
        taggable=True,
    ),
    # Storage
    _kind(
        "s3.bucket",
        "AWS::S3::Bucket",
        "aws_s3_bucket",
        ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"),
        ("BucketName", "bucket", "bucket"),
        taggable=True,
        ref_is_name=True,
    ),
    _kind(
        "s3.bucket_policy",
        "AWS::S3::BucketPolicy",
        "aws_s3_bucket_policy",
        "aws:s3/bucketPolicy:BucketPolicy",
    ),
    _kind(
        "s3.public_access_block",
        (),
        "aws_s3_bucket_public_access_block",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    ),
    _kind(
        "s3.account_public_access_block",
        (),
        "aws_s3_account_public_access_block",
        "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock",
    ),
    _kind(
        "s3.notification", (), "aws_s3_bucket_notification", "aws:s3/bucketNotification:BucketNotification"
    ),
    _kind(
        "dynamodb.table",
        ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"),
        "aws_dynamodb_table",
        "aws:dynamodb/table:Table",
        ("TableName", "name", "name"),
        taggable=True,
        ref_is_name=True,
    ),
    _kind(
        "rds.cluster",
        "AWS::RDS::DBCluster",
        "aws_rds_cluster",
        "aws:rds/cluster:Cluster",
        ("DBClusterIdentifier", "cluster_identifier", "clusterIdentifier"),
        taggable=True,
        ref_is_name=True,
    ),
    _kind(
        "rds.global_cluster",
        "AWS::RDS::GlobalCluster",
        "aws_rds_global_cluster",
        "aws:rds/globalCluster:GlobalCluster",
        ("GlobalClusterIdentifier", "global_cluster_identifier", "globalClusterIdentifier"),
    ),
    _kind(
        "rds.instance",
        "AWS::RDS::DBInstance",
        ("aws_db_instance", "aws_rds_cluster_instance"),
        ("aws:rds/instance:Instance", "aws:rds/clusterInstance:ClusterInstance"),
        ("DBInstanceIdentifier", "identifier", "identifier"),
        taggable=True,
        ref_is_name=True,
    ),
    _kind(
        "neptune.cluster",
        "AWS::Neptune::DBCluster",
        "aws_neptune_cluster",
        "aws:neptune/cluster:Cluster",
        ("DBClusterIdentifier", "cluster_identifier", "clusterIdentifier"),
        taggable=True,
    ),
    _kind(
        "docdb.cluster",
        "AWS::DocDB::DBCluster",
        "aws_docdb_cluster",
        "aws:docdb/cluster:Cluster",
        ("DBClusterIdentifier", "cluster_identifier", "clusterIdentifier"),
        taggable=True,
    ),
    _kind(
        "redshift.cluster",
        "AWS::Redshift::Cluster",
        "aws_redshift_cluster",
        "aws:redshift/cluster:Cluster",
        ("ClusterIdentifier", "cluster_identifier", "clusterIdentifier"),
        taggable=True,
    ),
    _kind(
        "opensearch.domain",
        ("AWS::OpenSearchService::Domain", "AWS::Elasticsearch::Domain"),
        ("aws_opensearch_domain", "aws_elasticsearch_domain"),
        ("aws:opensearch/domain:Domain", "aws:elasticsearch/domain:Domain"),
        ("DomainName", "domain_name", "domainName"),
        taggable=True,
    ),
    _kind(
        "efs.file_system",
        "AWS::EFS::FileSystem",
        "aws_efs_file_system",
        "aws:efs/fileSystem:FileSystem",
        taggable=True,
    ),
    _kind("ec2.volume", "AWS::EC2::Volume", "aws_ebs_volume", "aws:ebs/volume:Volume", taggable=True),
    _kind(
        "elasticache.replication_group",
        "AWS::ElastiCache::ReplicationGroup",
        "aws_elasticache_replication_group",
        "aws:elasticache/replicationGroup:ReplicationGroup",
        ("ReplicationGroupId", "replication_group_id", "replicationGroupId"),
        taggable=True,
    ),
    _kind(
        "secretsmanager.secret",
        "AWS::SecretsManager::Secret",
        "aws_secretsmanager_secret",
        "aws:secretsmanager/secret:Secret",
        ("Name", "name", "name"),
        taggable=True,
    ),
    _kind(
        "secretsmanager.secret_version",
        (),
        "aws_secretsmanager_secret_version",
        "aws:secretsmanager/secretVersion:SecretVersion",
    ),
    _kind(
        "ssm.parameter",
        "AWS::SSM::Parameter",
        "aws_ssm_parameter",
        "aws:ssm/parameter:Parameter",
        ("Name", "name", "name"),
        taggable=True,
    ),
    _kind("kms.key", "AWS::KMS::Key", "aws_kms_key", "aws:kms/key:Key", taggable=True),
    # Network
    _kind("ec2.vpc", "AWS::EC2::VPC", "aws_vpc", "aws:ec2/vpc:Vpc", taggable=True),
    _kind("ec2.subnet", "AWS::EC2::Subnet", "aws_subnet", "aws:ec2/subnet:Subnet", taggable=True),
    _kind(
        "ec2.security_group",
        "AWS::EC2::SecurityGroup",
        "aws_security_group",
        "aws:ec2/securityGroup:SecurityGroup",
        ("GroupName", "name", "name"),
        taggable=True,
    ),
    _kind(
        "ec2.security_group_ingress",
        "AWS::EC2::SecurityGroupIngress",
        "aws_vpc_security_group_ingress_rule",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    ),
    _kind(
        "ec2.security_group_rule",
        (),
        "aws_security_group_rule",
        "aws:ec2/securityGroupRule:SecurityGroupRule",
    ),
    # API Gateway
    _kind(
        "apigw.rest_api",
        "AWS::ApiGateway::RestApi",
        "aws_api_gateway_rest_api",
        "aws:apigateway/restApi:RestApi",
        ("Name", "name", "name"),
        taggable=True,
    ),
    _kind(
        "apigw.stage",
        "AWS::ApiGateway::Stage",
        "aws_api_gateway_stage",
        "aws:apigateway/stage:Stage",
        taggable=True,
    ),
    _kind(
        "apigw.deployment",
        "AWS::ApiGateway::Deployment",
        "aws_api_gateway_deployment",
        "aws:apigateway/deployment:Deployment",
    ),
    _kind(
        "apigw.method_settings",
        (),
        "aws_api_gateway_method_settings",
        "aws:apigateway/methodSettings:MethodSettings",
    ),
    _kind(
        "apigwv2.stage",
        "AWS::ApiGatewayV2::Stage",
        "aws_apigatewayv2_stage",
        "aws:apigatewayv2/stage:Stage",
        taggable=True,
    ),
    # Identity
    _kind(
        "iam.role",
        "AWS::IAM::Role",
        "aws_iam_role",
        "aws:iam/role:Role",
        ("RoleName", "name", "name"),
        taggable=True,
        ref_is_name=True,
    ),
)

_BY_TYPE: dict[tuple[str, str], Kind] = {
    (fmt, native): kind for kind in KINDS for fmt, natives in kind.types.items() for native in natives
}
BY_ID: dict[str, Kind] = {kind.id: kind for kind in KINDS}


def kind_of(fmt: str, native_type: str) -> Kind | None:
    return _BY_TYPE.get((fmt, native_type))
