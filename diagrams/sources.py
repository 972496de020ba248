"""The three output formats of `make synth-all`, read into one shape: resources with a kind, a component,
a region, their properties, and how a value inside them refers to other resources.

- CloudFormation (the CDK cloud assembly): ``Ref`` / ``Fn::GetAtt`` / ``Fn::Sub``; the component is the
  construct under the stack in ``aws:cdk:path``.
- Terraform JSON (CDKTF): ``${aws_type.name.attr}`` expressions; the component from ``//`` metadata.
- A Pulumi deployment (resources.json): values are resolved ARNs, names and ids, so a value refers to one
  of the resource's ``dependencies`` (what the engine recorded as flowing in) when it contains that
  resource's id or physical name; the component is the ComponentResource under the stack, the region
  that of the resource's provider.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

Ref = tuple[str, str | None]  # (resource key, the region an ARN names, if it names one)

# Resource types by format -> kind. Kinds in model.KINDS become nodes; the others wire nodes together.
CLOUDFORMATION = {
    "AWS::WAFv2::WebACL": "waf",
    "AWS::WAFv2::WebACLAssociation": "waf_association",
    "AWS::ApiGateway::RestApi": "api",
    "AWS::ApiGateway::Stage": "stage",
    "AWS::ApiGateway::Resource": "api_resource",
    "AWS::ApiGateway::Method": "method",
    "AWS::ApiGatewayV2::VpcLink": "vpc_link",
    "AWS::ApiGateway::VpcLink": "vpc_link",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "load_balancer",
    "AWS::ElasticLoadBalancingV2::Listener": "listener",
    "AWS::ElasticLoadBalancingV2::TargetGroup": "target_group",
    "AWS::Lambda::Function": "function",
    "AWS::Lambda::Alias": "alias",
    "AWS::Lambda::Version": "alias",
    "AWS::Lambda::EventSourceMapping": "event_source_mapping",
    "AWS::Lambda::EventInvokeConfig": "invoke_config",
    "AWS::StepFunctions::StateMachine": "state_machine",
    "AWS::SQS::Queue": "queue",
    "AWS::SNS::Topic": "topic",
    "AWS::SNS::Subscription": "subscription",
    "AWS::Events::Rule": "event_rule",
    "AWS::DynamoDB::Table": "table",
    "AWS::DynamoDB::GlobalTable": "table",
    "AWS::RDS::DBCluster": "database",
    "AWS::RDS::GlobalCluster": "global_database",
    "AWS::S3::Bucket": "bucket",
    "Custom::S3BucketNotifications": "bucket_notifications",
    "AWS::SecretsManager::Secret": "secret",
    "AWS::SecretsManager::SecretTargetAttachment": "secret_attachment",
    "AWS::SecretsManager::RotationSchedule": "rotation",
    "AWS::CloudWatch::Alarm": "alarm",
    "AWS::CloudWatch::CompositeAlarm": "composite_alarm",
    "AWS::Synthetics::Canary": "canary",
    "AWS::Route53::RecordSet": "dns_record",
    "AWS::IAM::Policy": "policy",
    "AWS::EC2::SecurityGroup": "security_group",
    "AWS::EC2::SecurityGroupIngress": "sg_ingress",
    "AWS::EC2::SecurityGroupEgress": "sg_egress",
}
TERRAFORM = {
    "aws_wafv2_web_acl": "waf",
    "aws_wafv2_web_acl_association": "waf_association",
    "aws_api_gateway_rest_api": "api",
    "aws_api_gateway_stage": "stage",
    "aws_api_gateway_resource": "api_resource",
    "aws_api_gateway_integration": "method",
    "aws_api_gateway_vpc_link": "vpc_link",
    "aws_apigatewayv2_vpc_link": "vpc_link",
    "aws_api_gateway_domain_name": "domain_name",
    "aws_api_gateway_base_path_mapping": "base_path_mapping",
    "aws_lb": "load_balancer",
    "aws_lb_listener": "listener",
    "aws_lb_target_group": "target_group",
    "aws_lambda_function": "function",
    "aws_lambda_alias": "alias",
    "aws_lambda_event_source_mapping": "event_source_mapping",
    "aws_lambda_function_event_invoke_config": "invoke_config",
    "aws_sfn_state_machine": "state_machine",
    "aws_sqs_queue": "queue",
    "aws_sns_topic": "topic",
    "aws_sns_topic_subscription": "subscription",
    "aws_cloudwatch_event_rule": "event_rule",
    "aws_cloudwatch_event_target": "event_target",
    "aws_dynamodb_table": "table",
    "aws_rds_cluster": "database",
    "aws_rds_global_cluster": "global_database",
    "aws_s3_bucket": "bucket",
    "aws_s3_bucket_notification": "bucket_notifications",
    "aws_s3_bucket_replication_configuration": "bucket_replication",
    "aws_secretsmanager_secret": "secret",
    "aws_secretsmanager_secret_rotation": "rotation",
    "aws_cloudwatch_metric_alarm": "alarm",
    "aws_cloudwatch_composite_alarm": "composite_alarm",
    "aws_synthetics_canary": "canary",
    "aws_route53_record": "dns_record",
    "aws_iam_role_policy": "policy",
    "aws_security_group": "security_group",
    "aws_vpc_security_group_ingress_rule": "sg_ingress",
    "aws_vpc_security_group_egress_rule": "sg_egress",
}
PULUMI = {
    "aws:wafv2/webAcl:WebAcl": "waf",
    "aws:wafv2/webAclAssociation:WebAclAssociation": "waf_association",
    "aws:apigateway/restApi:RestApi": "api",
    "aws:apigateway/stage:Stage": "stage",
    "aws:apigateway/resource:Resource": "api_resource",
    "aws:apigateway/integration:Integration": "method",
    "aws:apigateway/vpcLink:VpcLink": "vpc_link",
    "aws:apigateway/domainName:DomainName": "domain_name",
    "aws:apigateway/basePathMapping:BasePathMapping": "base_path_mapping",
    "aws:lb/loadBalancer:LoadBalancer": "load_balancer",
    "aws:lb/listener:Listener": "listener",
    "aws:lb/targetGroup:TargetGroup": "target_group",
    "aws:lambda/function:Function": "function",
    "aws:lambda/alias:Alias": "alias",
    "aws:lambda/eventSourceMapping:EventSourceMapping": "event_source_mapping",
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": "invoke_config",
    "aws:sfn/stateMachine:StateMachine": "state_machine",
    "aws:sqs/queue:Queue": "queue",
    "aws:sns/topic:Topic": "topic",
    "aws:sns/topicSubscription:TopicSubscription": "subscription",
    "aws:cloudwatch/eventRule:EventRule": "event_rule",
    "aws:cloudwatch/eventTarget:EventTarget": "event_target",
    "aws:dynamodb/table:Table": "table",
    "aws:rds/cluster:Cluster": "database",
    "aws:rds/globalCluster:GlobalCluster": "global_database",
    "aws:s3/bucket:Bucket": "bucket",
    "aws:s3/bucketV2:BucketV2": "bucket",
    "aws:s3/bucketNotification:BucketNotification": "bucket_notifications",
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": "bucket_replication",
    "aws:secretsmanager/secret:Secret": "secret",
    "aws:secretsmanager/secretRotation:SecretRotation": "rotation",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "alarm",
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": "composite_alarm",
    "aws:synthetics/canary:Canary": "canary",
    "aws:route53/record:Record": "dns_record",
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:ec2/securityGroup:SecurityGroup": "security_group",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sg_ingress",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sg_egress",
}


def normal(name: str) -> str:
    """A property name without case or underscores: EventSourceArn, event_source_arn, eventSourceArn."""
    return name.replace("_", "").lower()


def prop(props: Any, *names: str) -> Any:
    """The first of ``names`` present in ``props``, whatever the format's spelling; None if absent."""
    if not isinstance(props, dict):
        return None
    spelled = {normal(k): v for k, v in props.items()}
    for name in names:
        if normal(name) in spelled:
            return spelled[normal(name)]
    return None


def items(value: Any) -> list[Any]:
    """A list property as a list (Terraform JSON writes one-element blocks either way)."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


@dataclass
class Resource:
    key: str
    type: str
    kind: str | None
    name: str
    component: str
    region: str | None
    props: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)  # format-specific: Pulumi dependencies


class Inventory(ABC):
    """One synthesized stack: its resources and how values refer to them."""

    title: str
    resources: dict[str, Resource]

    @abstractmethod
    def refs(self, value: Any, within: Resource) -> list[Ref]:
        """The resources ``value`` (a property of ``within``) refers to, in order, once each."""

    def all_refs(self, resource: Resource) -> list[Ref]:
        """Everything ``resource`` refers to (Pulumi: everything the engine recorded it depends on)."""
        return self.refs(resource.props, resource)

    @abstractmethod
    def statements(self, policy: Resource) -> list[dict[str, Any]]:
        """The IAM statements of a policy resource: dicts with Effect, Action and Resource."""

    def policy_roles(self, policy: Resource) -> list[str]:
        value = prop(policy.props, "Roles", "role")
        return [key for key, _ in self.refs(value, policy)]


def _unique(refs: list[Ref]) -> list[Ref]:
    return list(dict.fromkeys(refs))


def _split_path(path: str) -> tuple[str, str]:
    """(component, name) from a construct path below the stack: Data/Aurora/Secret/Resource -> (Data,
    Aurora/Secret)."""
    parts = [p for p in path.split("/")[1:] if p not in ("Resource", "Default")]
    if not parts:
        return "", path
    if len(parts) == 1:
        return "", parts[0]
    return parts[0], "/".join(parts[1:])


class CloudFormation(Inventory):
    """A CloudFormation template from the CDK cloud assembly."""

    def __init__(self, title: str, template: dict[str, Any]):
        self.title = title
        self.resources = {}
        for logical_id, resource in template.get("Resources", {}).items():
            path = resource.get("Metadata", {}).get("aws:cdk:path", f"{title}/{logical_id}")
            component, name = _split_path(path)
            self.resources[logical_id] = Resource(
                key=logical_id,
                type=resource["Type"],
                kind=CLOUDFORMATION.get(resource["Type"]),
                name=name,
                component=component,
                region=None,  # an environment-agnostic template names no region
                props=resource.get("Properties", {}),
            )

    def refs(self, value: Any, within: Resource) -> list[Ref]:
        found: list[str] = []
        self._walk(value, found)
        return _unique([(key, None) for key in found if key in self.resources])

    def _walk(self, value: Any, found: list[str]) -> None:
        if isinstance(value, list):
            for v in value:
                self._walk(v, found)
        elif isinstance(value, dict):
            if "Ref" in value and isinstance(value["Ref"], str):
                found.append(value["Ref"])
            elif "Fn::GetAtt" in value:
                target = value["Fn::GetAtt"]
                found.append(target[0] if isinstance(target, list) else target.split(".")[0])
            elif "Fn::Sub" in value:
                template, *variables = items(value["Fn::Sub"])
                found.extend(m.split(".")[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", template))
                self._walk(variables, found)
            else:
                for v in value.values():
                    self._walk(v, found)

    def statements(self, policy: Resource) -> list[dict[str, Any]]:
        return items(prop(prop(policy.props, "PolicyDocument"), "Statement"))


TERRAFORM_REFERENCE = re.compile(r"\b(data\.)?(aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+)")


class Terraform(Inventory):
    """A CDKTF stack's cdk.tf.json."""

    def __init__(self, title: str, document: dict[str, Any]):
        self.title = title
        self.resources = {}
        self.data = document.get("data", {})
        region = None
        for provider in items(document.get("provider", {}).get("aws")):
            region = region or provider.get("region")
        for tf_type, by_name in document.get("resource", {}).items():
            for name, resource in by_name.items():
                path = resource.get("//", {}).get("metadata", {}).get("path", f"{title}/{name}")
                component, construct = _split_path(path)
                props = {k: v for k, v in resource.items() if k not in ("//", "depends_on", "lifecycle")}
                key = f"{tf_type}.{name}"
                self.resources[key] = Resource(
                    key, tf_type, TERRAFORM.get(tf_type), construct, component, region, props
                )

    def refs(self, value: Any, within: Resource) -> list[Ref]:
        found = []
        for text in strings(value):
            for data, tf_type, name in TERRAFORM_REFERENCE.findall(text):
                if not data and f"{tf_type}.{name}" in self.resources:
                    found.append((f"{tf_type}.{name}", None))
        return _unique(found)

    def statements(self, policy: Resource) -> list[dict[str, Any]]:
        """The statements of the ``aws_iam_policy_document`` data source the policy's JSON comes from."""
        found = []
        for text in strings(prop(policy.props, "policy")):
            for data, tf_type, name in TERRAFORM_REFERENCE.findall(text):
                document = self.data.get(tf_type, {}).get(name) if data else None
                for statement in items((document or {}).get("statement")):
                    found.append(
                        {
                            "Effect": statement.get("effect", "Allow"),
                            "Action": statement.get("actions", []),
                            "Resource": statement.get("resources", []),
                        }
                    )
        return found


# Inputs that carry a resource's own physical name (what ARNs, URLs and other inputs are built from):
# ``name``, and by kind another (a BucketVersioning's ``bucket`` names the bucket, not itself).
PULUMI_NAME_INPUTS = {
    "bucket": "bucket",
    "database": "clusterIdentifier",
    "global_database": "globalClusterIdentifier",
    "composite_alarm": "alarmName",
}
ARN = re.compile(r"arn:aws[a-z-]*:([a-z0-9-]+):([a-z0-9-]*):([a-z0-9.-]*):?[^\s\",]*")
SERVICE_URL = re.compile(r"https://([a-z0-9-]+)\.[a-z0-9.-]*amazonaws\.com/")
# The ARN services of a Pulumi module, where they differ: an ARN of another service is not the resource.
SERVICES = {
    "cloudwatch": {"cloudwatch", "events", "logs"},
    "sfn": {"states"},
    "apigateway": {"apigateway", "execute-api"},
    "lb": {"elasticloadbalancing"},
    "vpc": {"ec2"},
}
# A name ends a word, or is followed by the 6 characters Secrets Manager appends to a secret's ARN.
NAME_END = r"(?:(?![\w-])|(?=-[A-Za-z0-9]{6}(?![\w-])))"


class Pulumi(Inventory):
    """A deployment in the shape of `pulumi stack export` (version 3)."""

    def __init__(self, document: dict[str, Any]):
        resources = document["deployment"]["resources"]
        by_urn = {r["urn"]: r for r in resources}
        stack = resources[0]
        self.title = stack["urn"].rsplit("::", 1)[1]
        self.resources = {}
        self.tokens: dict[str, set[str]] = {}
        for r in resources[1:]:
            component = r
            while component.get("parent") and component["parent"] != stack["urn"]:
                component = by_urn[component["parent"]]
            provider = by_urn.get((r.get("provider") or "").rsplit("::", 1)[0], {})
            inputs = r.get("inputs", {})
            name = r["urn"].rsplit("::", 1)[1]
            self.resources[r["urn"]] = Resource(
                key=r["urn"],
                type=r["type"],
                kind=PULUMI.get(r["type"]) if r.get("custom") else None,
                name=name,
                component=component["urn"].rsplit("::", 1)[1] if component is not r else "",
                region=inputs.get("region") or provider.get("inputs", {}).get("region"),
                props=inputs,
                extra={"dependencies": r.get("dependencies", [])},
            )
            tokens = {r["id"]} if r.get("id") else set()
            kind = self.resources[r["urn"]].kind
            names = ("name", PULUMI_NAME_INPUTS.get(kind or "", "name"))
            tokens |= {inputs[k] for k in names if isinstance(inputs.get(k), str)}
            self.tokens[r["urn"]] = {t for t in tokens if len(t) >= 4}

    def all_refs(self, resource: Resource) -> list[Ref]:
        return [(urn, None) for urn in resource.extra["dependencies"] if urn in self.resources]

    def refs(self, value: Any, within: Resource) -> list[Ref]:
        """Dependencies of ``within`` whose id or name stands in ``value`` as a whole name (``orders-dev``
        is not in ``orders-dev-primary``) and, inside an ARN or endpoint URL, of that service (the table
        and the queue both named ``fraud-transactions-dev``)."""
        candidates = [urn for urn in within.extra.get("dependencies", []) if urn in self.tokens]
        found = []
        for text in strings(value):
            matches = defaultdict(set)  # (start, end) -> urns
            for urn in candidates:
                for token in self.tokens[urn]:
                    for m in re.finditer(rf"(?<![\w.-]){re.escape(token)}{NAME_END}", text):
                        service, region = self._context(text, m.start())
                        module = self.resources[urn].type.split(":")[1].split("/")[0]
                        if service is None or service in SERVICES.get(module, {module}):
                            matches[m.span()].add((urn, region))
            for (start, _), refs in matches.items():
                if len(refs) == 1:  # a name two resources share says nothing
                    found.append((start, *next(iter(refs))))
        return _unique([(urn, region) for _, urn, region in sorted(found)])

    @staticmethod
    def _context(text: str, start: int) -> tuple[str | None, str | None]:
        """(service, region) of the ARN or AWS endpoint URL a name stands in, if it stands in one."""
        arn = text.rfind("arn:", 0, start)
        match = ARN.match(text, arn) if arn >= 0 else None
        if match and match.end() >= start:
            service, region, account = match.groups()
            if service == "apigateway" and account.isalpha():  # an integration's ARN names its service
                service = account
            return service, region or None
        match = SERVICE_URL.match(text)
        if match and match.end() <= start:
            return match.group(1), None
        return None, None

    def statements(self, policy: Resource) -> list[dict[str, Any]]:
        document = prop(policy.props, "policy")
        if isinstance(document, str):
            document = json.loads(document)
        return items(prop(document, "Statement"))
