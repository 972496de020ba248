"""The same environment deployed in two regions of one account (dev in us-east-2 and us-west-2).

Most of the stack's names are per region (a queue, a table, a function), but some are per account:
IAM role names, and CloudWatch dashboards, which are global (PutDashboard replaces a dashboard of
the same name: the second region would silently take over the first one's, and destroying either
would delete it). Each such name must carry the region.
"""

from __future__ import annotations

# Per-account name -> the input that holds it.
GLOBAL_NAMES = {
    "aws:iam/role:Role": "name",
    "aws:cloudwatch/dashboard:Dashboard": "dashboardName",
}
# Named per region (or per VPC, per API, or within a role whose name is unique), or not named.
REGIONAL = {
    "pulumi:providers:aws",
    "aws:apigateway/deployment:Deployment",
    "aws:apigateway/integration:Integration",
    "aws:apigateway/method:Method",
    "aws:apigateway/methodSettings:MethodSettings",
    "aws:apigateway/resource:Resource",
    "aws:apigateway/restApi:RestApi",
    "aws:apigateway/stage:Stage",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:cloudwatch/metricAlarm:MetricAlarm",
    "aws:dynamodb/table:Table",  # no global table: one per region
    "aws:ec2/routeTable:RouteTable",
    "aws:ec2/routeTableAssociation:RouteTableAssociation",
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:ec2/subnet:Subnet",
    "aws:ec2/vpc:Vpc",
    "aws:ec2/vpcEndpoint:VpcEndpoint",
    "aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy",
    "aws:iam/rolePolicy:RolePolicy",  # an inline policy is named within its role
    "aws:kms/key:Key",
    "aws:lambda/eventSourceMapping:EventSourceMapping",
    "aws:lambda/function:Function",
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
    "aws:lambda/layerVersion:LayerVersion",
    "aws:lambda/permission:Permission",
    "aws:sns/topic:Topic",
    "aws:sns/topicPolicy:TopicPolicy",
    "aws:sns/topicSubscription:TopicSubscription",
    "aws:sqs/queue:Queue",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:wafv2/webAcl:WebAcl",  # REGIONAL scope (checked below); a CLOUDFRONT ACL is global
    "aws:wafv2/webAclAssociation:WebAclAssociation",
}


def global_names(export) -> dict[str, set[str]]:
    return {token: {r["inputs"][key] for r in export.of_type(token)} for token, key in GLOBAL_NAMES.items()}


def test_every_resource_type_is_known_to_be_named_per_region_or_per_account(fraud):
    """A type added to the stack must be placed here, so a new per-account name cannot slip by."""
    types = {r["type"] for r in fraud.resources if r["custom"]}
    assert types - GLOBAL_NAMES.keys() - REGIONAL == set()
    assert {acl["inputs"]["scope"] for acl in fraud.of_type("aws:wafv2/webAcl:WebAcl")} == {"REGIONAL"}


def test_the_same_environment_in_two_regions_does_not_collide(fraud, fraud_us_west_2):
    """Fix: IAM role and dashboard names carry the region as well as the environment
    (fraud-validator-dev-us-east-2): deploying dev in us-west-2 failed on the roles
    (EntityAlreadyExists) and would have taken over us-east-2's dashboard."""
    east, west = global_names(fraud), global_names(fraud_us_west_2)
    for token in GLOBAL_NAMES:
        assert east[token] and len(east[token]) == len(fraud.of_type(token))
        assert east[token] & west[token] == set(), token
        for name in east[token]:
            assert name.startswith("fraud-") and name.endswith("-dev-us-east-2"), name
            assert len(name) <= 64, name  # IAM's limit for a role name
    assert {f["inputs"]["name"] for f in fraud.of_type("aws:lambda/function:Function")} == {
        f["inputs"]["name"] for f in fraud_us_west_2.of_type("aws:lambda/function:Function")
    }  # regional names stay as they were: only per-account ones carry the region
