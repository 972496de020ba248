"""What the permission check needs of a synthesized stack, the same for the three output formats:
each Lambda function (its code, role, region, environment, event sources, what invokes it) and
the resources its requests can touch (their keys and resource policies), every reference
resolved to the ARN or name AWS would give it.

- CloudFormation (payments): ``Ref``/``Fn::GetAtt``/``Fn::Join``/``Fn::Sub`` evaluated, the
  pseudo parameters as ``ACCOUNT`` and ``REGION``, a name the template does not set as
  ``<logical id>-generated``.
- Terraform JSON (transactions): ``${type.name.attribute}`` interpolations evaluated from the
  resources' names, the provider's region, the caller identity as ``ACCOUNT``;
  ``aws_iam_policy_document`` data sources as IAM JSON.
- Pulumi exports (fraud, trading DR): the inputs as the mocks resolved them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lambda_src.build import ROOT

ACCOUNT = "123456789012"  # the account of every offline output (pulumi_offline's too)
REGION = "us-east-1"  # an environment-agnostic CDK stack's AWS::Region
# AWS managed policies a role may carry: they grant logs and network interfaces only, which this
# check does not judge; any other managed policy fails the check until its grants are read here.
KNOWN_MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
}


@dataclass
class Function:
    name: str  # the deployed name
    source: Path  # lambda_src/<stack>/<folder>
    arn: str
    role: str  # the execution role's ARN
    region: str
    environment: dict[str, str]
    statements: list[dict[str, Any]]  # the role's identity-based policies
    managed_policies: list[str] = field(default_factory=list)
    tracing: bool = False
    event_sources: list[str] = field(default_factory=list)  # ARNs its event source mappings poll
    rotates: list[str] = field(default_factory=list)  # secrets whose rotation invokes it

    def __str__(self) -> str:
        return self.name


@dataclass
class Deployment:
    stack: str
    account: str
    functions: list[Function]
    keys: dict[str, str] = field(default_factory=dict)  # resource ARN -> its KMS key's ARN
    bucket_keys: set[str] = field(default_factory=set)  # buckets with an S3 Bucket Key
    policies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # resource/key ARN -> statements
    secrets: dict[str, str] = field(default_factory=dict)  # secret name -> ARN

    def function(self, name: str) -> Function:
        (found,) = [f for f in self.functions if f.name == name]
        return found

    def deployed(self, folder: str) -> list[Function]:
        """The deployments of lambda_src/<stack>/<folder> (one package may be deployed twice)."""
        return [f for f in self.functions if f.source.name == folder]


def statements_of(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, str):
        document = json.loads(document)
    statements = document["Statement"]
    return statements if isinstance(statements, list) else [statements]


def queue_arn(url: str) -> str:
    """https://sqs.<region>.amazonaws.com/<account>/<name> -> arn:aws:sqs:<region>:<account>:<name>."""
    match = re.fullmatch(r"https://sqs\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/(\d{12})/(.+)", url)
    if not match:
        raise ValueError(f"not an SQS queue URL: {url}")
    region, account, name = match.groups()
    return f"arn:aws:sqs:{region}:{account}:{name}"


def function_dir(stack: str, folder: str) -> Path:
    """The source of a function: lambda_src/<stack>/<folder>."""
    return ROOT / "lambda_src" / stack / folder


def _source(stack: str, code_path: str) -> Path:
    return function_dir(stack, Path(code_path).name)


# --- Pulumi ----------------------------------------------------------------------------------
def from_pulumi(export: Any, stack: str) -> Deployment:
    """A resources.json document (tests/pulumi_export.Export) as deployed."""
    from pulumi_offline import archive_path

    region = export.region
    deployment = Deployment(stack, ACCOUNT, [])
    keys_by_id: dict[str, str] = {}
    for key in export.of_type("aws:kms/key:Key"):
        arn = f"arn:aws:kms:{region(key)}:{ACCOUNT}:key/{key['id']}"
        keys_by_id[key["id"]] = keys_by_id[arn] = arn
        if key["inputs"].get("policy"):
            deployment.policies[arn] = statements_of(key["inputs"]["policy"])
    for alias in export.of_type("aws:kms/alias:Alias"):
        target = keys_by_id.get(alias["inputs"]["targetKeyId"], alias["inputs"]["targetKeyId"])
        keys_by_id[alias["inputs"]["name"]] = keys_by_id[
            f"arn:aws:kms:{region(alias)}:{ACCOUNT}:{alias['inputs']['name']}"
        ] = target

    def key_arn(reference: str | None, resource: dict[str, Any]) -> str | None:
        if not reference:
            return None
        return keys_by_id.get(reference) or keys_by_id.get(
            f"arn:aws:kms:{region(resource)}:{ACCOUNT}:{reference}", reference
        )

    for topic in export.of_type("aws:sns/topic:Topic"):
        arn = f"arn:aws:sns:{region(topic)}:{ACCOUNT}:{topic['inputs']['name']}"
        if key := key_arn(topic["inputs"].get("kmsMasterKeyId"), topic):
            deployment.keys[arn] = key
    for policy in export.of_type("aws:sns/topicPolicy:TopicPolicy"):
        deployment.policies[policy["inputs"]["arn"]] = statements_of(policy["inputs"]["policy"])
    for queue in export.of_type("aws:sqs/queue:Queue"):
        arn = f"arn:aws:sqs:{region(queue)}:{ACCOUNT}:{queue['inputs']['name']}"
        if key := key_arn(queue["inputs"].get("kmsMasterKeyId"), queue):
            deployment.keys[arn] = key
    for policy in export.of_type("aws:sqs/queuePolicy:QueuePolicy"):
        deployment.policies[queue_arn(policy["inputs"]["queueUrl"])] = statements_of(
            policy["inputs"]["policy"]
        )
    for secret in export.of_type("aws:secretsmanager/secret:Secret"):
        arn = f"arn:aws:secretsmanager:{region(secret)}:{ACCOUNT}:secret:{secret['inputs']['name']}-AbCdEf"
        deployment.secrets[secret["inputs"]["name"]] = deployment.secrets[secret["id"]] = arn
        if key := key_arn(secret["inputs"].get("kmsKeyId"), secret):
            deployment.keys[arn] = key
        for replica in secret["inputs"].get("replicas", []):
            copy = arn.replace(f":{region(secret)}:", f":{replica['region']}:")
            if replica.get("kmsKeyId"):
                deployment.keys[copy] = keys_by_id.get(replica["kmsKeyId"], replica["kmsKeyId"])
        if secret["inputs"].get("policy"):
            deployment.policies[arn] = statements_of(secret["inputs"]["policy"])
    for encryption in export.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ):
        for rule in encryption["inputs"]["rules"]:
            default = rule.get("applyServerSideEncryptionByDefault", {})
            if default.get("sseAlgorithm") == "aws:kms" and default.get("kmsMasterKeyId"):
                bucket = f"arn:aws:s3:::{encryption['inputs']['bucket']}"
                deployment.keys[bucket] = key_arn(default["kmsMasterKeyId"], encryption) or ""
                if rule.get("bucketKeyEnabled"):
                    deployment.bucket_keys.add(bucket)
    for policy in export.of_type("aws:s3/bucketPolicy:BucketPolicy"):
        deployment.policies[f"arn:aws:s3:::{policy['inputs']['bucket']}"] = statements_of(
            policy["inputs"]["policy"]
        )

    roles = export.of_type("aws:iam/role:Role")
    for function in export.of_type("aws:lambda/function:Function"):
        inputs = function["inputs"]
        role_name = inputs["role"].rsplit("/", 1)[1]
        (role,) = [r for r in roles if r["inputs"]["name"] == role_name]
        names = {role["id"], role_name}  # a policy names its role by id (= name in AWS)
        statements = [
            s
            for p in export.of_type("aws:iam/rolePolicy:RolePolicy")
            if p["inputs"]["role"] in names
            for s in statements_of(p["inputs"]["policy"])
        ]
        managed: list[str] = []
        for attachment in export.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
            if attachment["inputs"]["role"] not in names:
                continue
            customer = [
                export.by_urn(u)
                for u in attachment["dependencies"]
                if export.by_urn(u)["type"] == "aws:iam/policy:Policy"
            ]
            if customer:
                statements += statements_of(customer[0]["inputs"]["policy"])
            else:
                managed.append(attachment["inputs"]["policyArn"])
        name = inputs["name"]
        arn = f"arn:aws:lambda:{region(function)}:{ACCOUNT}:function:{name}"
        deployment.functions.append(
            Function(
                name=name,
                source=_source(stack, archive_path(inputs["code"])),
                arn=arn,
                role=inputs["role"],
                region=region(function),
                environment=dict(inputs.get("environment", {}).get("variables", {})),
                statements=statements,
                managed_policies=managed,
                tracing=inputs.get("tracingConfig", {}).get("mode") == "Active",
                event_sources=[
                    m["inputs"]["eventSourceArn"]
                    for m in export.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
                    if m["inputs"]["functionName"] in (name, arn)
                    or m["inputs"]["functionName"].endswith(f":function:{name}")
                ],
            )
        )
    for rotation in export.of_type("aws:secretsmanager/secretRotation:SecretRotation"):
        for function in deployment.functions:
            if rotation["inputs"]["rotationLambdaArn"] in (function.arn, function.name):
                secret = rotation["inputs"]["secretId"]
                function.rotates.append(deployment.secrets.get(secret, secret))
    return deployment


# --- CloudFormation --------------------------------------------------------------------------
_CFN_NAME = {  # type -> (property holding the physical name, what Ref returns)
    "AWS::Lambda::Function": ("FunctionName", "name"),
    "AWS::DynamoDB::Table": ("TableName", "name"),
    "AWS::DynamoDB::GlobalTable": ("TableName", "name"),
    "AWS::S3::Bucket": ("BucketName", "name"),
    "AWS::SNS::Topic": ("TopicName", "arn"),
    "AWS::SQS::Queue": ("QueueName", "url"),
    "AWS::SecretsManager::Secret": ("Name", "arn"),
    "AWS::IAM::Role": ("RoleName", "name"),
    "AWS::KMS::Key": (None, "id"),
    "AWS::Logs::LogGroup": ("LogGroupName", "name"),
}


NO_VALUE = object()  # Ref AWS::NoValue: the property or list item is absent


class CloudFormation:
    def __init__(self, template: Mapping[str, Any], region: str = REGION) -> None:
        self.resources = template["Resources"]
        self.conditions = template.get("Conditions", {})
        self.region = region

    def condition(self, name_or_expression: Any) -> bool:
        """A template condition, evaluated for this region (Fn::Equals/And/Or/Not, Condition)."""
        value = (
            self.conditions[name_or_expression] if isinstance(name_or_expression, str) else name_or_expression
        )
        ((fn, arg),) = value.items()
        if fn == "Fn::Equals":
            left, right = (self.text(v) for v in arg)
            return left == right
        if fn == "Fn::And":
            return all(self.condition(v) for v in arg)
        if fn == "Fn::Or":
            return any(self.condition(v) for v in arg)
        if fn == "Fn::Not":
            return not self.condition(arg[0])
        if fn == "Condition":
            return self.condition(arg)
        raise ValueError(f"a condition this model cannot evaluate: {fn}")

    def name(self, logical_id: str) -> str:
        resource = self.resources[logical_id]
        prop, _ = _CFN_NAME.get(resource["Type"], (None, None))
        value = resource.get("Properties", {}).get(prop) if prop else None
        if resource["Type"] == "AWS::SecretsManager::SecretTargetAttachment":
            return self.name(resource["Properties"]["SecretId"]["Ref"])
        return self.text(value) if value is not None else f"{logical_id}-generated"

    def arn(self, logical_id: str) -> str:
        kind, name, r, a = self.resources[logical_id]["Type"], self.name(logical_id), self.region, ACCOUNT
        secret = f"arn:aws:secretsmanager:{r}:{a}:secret:{name}-AbCdEf"  # the 6 random characters
        return {
            "AWS::Lambda::Function": f"arn:aws:lambda:{r}:{a}:function:{name}",
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{r}:{a}:table/{name}",
            "AWS::DynamoDB::GlobalTable": f"arn:aws:dynamodb:{r}:{a}:table/{name}",
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
            "AWS::SNS::Topic": f"arn:aws:sns:{r}:{a}:{name}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{r}:{a}:{name}",
            "AWS::SecretsManager::Secret": secret,
            "AWS::SecretsManager::SecretTargetAttachment": secret,
            "AWS::IAM::Role": f"arn:aws:iam::{a}:role/{name}",
            "AWS::KMS::Key": f"arn:aws:kms:{r}:{a}:key/{logical_id}",
            "AWS::Logs::LogGroup": f"arn:aws:logs:{r}:{a}:log-group:{name}:*",
        }.get(kind, f"arn:aws:cloudformation:{r}:{a}:{logical_id}")

    def ref(self, logical_id: str) -> str:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": "stack",
        }
        if logical_id in pseudo:
            return pseudo[logical_id]
        if logical_id == "AWS::NoValue":
            return NO_VALUE
        resource = self.resources[logical_id]
        _, returns = _CFN_NAME.get(resource["Type"], (None, "name"))
        if resource["Type"] == "AWS::SecretsManager::SecretTargetAttachment":
            returns = "arn"
        if resource["Type"] == "AWS::Lambda::Version":
            # A version's Ref is its qualified ARN; the number is AWS's to assign (any will do).
            function = self.text(resource["Properties"]["FunctionName"])
            arn = (
                function
                if str(function).startswith("arn:")
                else f"arn:aws:lambda:{self.region}:{ACCOUNT}:function:{function}"
            )
            return f"{arn}:1"
        if resource["Type"] == "AWS::Lambda::Alias":
            function = self.text(resource["Properties"]["FunctionName"])
            return f"{function}:{self.text(resource['Properties']['Name'])}"
        return (
            {"name": self.name, "arn": self.arn, "id": lambda i: i}.get(returns, self.name)(logical_id)
            if returns != "url"
            else (f"https://sqs.{self.region}.amazonaws.com/{ACCOUNT}/{self.name(logical_id)}")
        )

    def text(self, value: Any) -> Any:
        """A template value with its intrinsic functions evaluated (lists and dicts recursively)."""
        if isinstance(value, list):
            return [item for item in (self.text(v) for v in value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((fn, arg),) = value.items()
            if fn == "Ref":
                return self.ref(arg)
            if fn == "Fn::GetAtt":
                logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                if attribute in ("Arn", "TopicArn", "SecretArn"):
                    return self.arn(logical_id)
                if attribute == "QueueUrl":
                    return self.ref(logical_id)
                return f"{logical_id}.{attribute}"
            if fn == "Fn::Join":
                return arg[0].join(str(self.text(v)) for v in arg[1])
            if fn == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

                def sub(match: re.Match[str]) -> str:
                    name = match.group(1)
                    if name in variables:
                        return str(self.text(variables[name]))
                    if "." in name:
                        return str(self.text({"Fn::GetAtt": name.split(".", 1)}))
                    return str(self.ref(name))

                return re.sub(r"\$\{([^}!]+)\}", sub, text)
            if fn == "Fn::If":
                name, when_true, when_false = arg
                return self.text(when_true if self.condition(name) else when_false)
            if fn == "Fn::Select":
                return self.text(arg[1])[int(arg[0])]
            if fn == "Fn::Split":
                return str(self.text(arg[1])).split(arg[0])
        evaluated = {k: self.text(v) for k, v in value.items()}
        return {k: v for k, v in evaluated.items() if v is not NO_VALUE}


def from_cloudformation(
    template: Mapping[str, Any], stack: str = "cdk_payments", prefix: str = "payments", region: str = REGION
) -> Deployment:
    cfn = CloudFormation(template, region)
    resources = template["Resources"]
    deployment = Deployment(stack, ACCOUNT, [])

    def of_type(kind: str) -> list[tuple[str, dict[str, Any]]]:
        return [(i, r.get("Properties", {})) for i, r in resources.items() if r["Type"] == kind]

    for logical_id, props in of_type("AWS::KMS::Key"):
        deployment.policies[cfn.arn(logical_id)] = cfn.text(statements_of(props["KeyPolicy"]))
    for logical_id, props in of_type("AWS::SNS::Topic"):
        if props.get("KmsMasterKeyId"):
            deployment.keys[cfn.arn(logical_id)] = cfn.text(props["KmsMasterKeyId"])
    for _, props in of_type("AWS::SNS::TopicPolicy"):
        for topic in cfn.text(props["Topics"]):
            deployment.policies[topic] = cfn.text(statements_of(props["PolicyDocument"]))
    for logical_id, props in of_type("AWS::SQS::Queue"):
        if props.get("KmsMasterKeyId"):
            deployment.keys[cfn.arn(logical_id)] = cfn.text(props["KmsMasterKeyId"])
    for _, props in of_type("AWS::SQS::QueuePolicy"):
        for url in cfn.text(props["Queues"]):
            deployment.policies[queue_arn(url)] = cfn.text(statements_of(props["PolicyDocument"]))
    for logical_id, props in of_type("AWS::SecretsManager::Secret"):
        arn = cfn.arn(logical_id)
        deployment.secrets[cfn.name(logical_id)] = arn
        if props.get("KmsKeyId"):
            deployment.keys[arn] = cfn.text(props["KmsKeyId"])
    for logical_id, props in of_type("AWS::S3::Bucket"):
        for rule in props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", []):
            default = rule.get("ServerSideEncryptionByDefault", {})
            if default.get("SSEAlgorithm") == "aws:kms" and default.get("KMSMasterKeyID"):
                deployment.keys[cfn.arn(logical_id)] = cfn.text(default["KMSMasterKeyID"])
                if rule.get("BucketKeyEnabled"):
                    deployment.bucket_keys.add(cfn.arn(logical_id))
    for _, props in of_type("AWS::S3::BucketPolicy"):
        bucket = f"arn:aws:s3:::{cfn.text(props['Bucket'])}"
        deployment.policies[bucket] = cfn.text(statements_of(props["PolicyDocument"]))

    policies = of_type("AWS::IAM::Policy")
    for logical_id, props in of_type("AWS::Lambda::Function"):
        name = cfn.name(logical_id)
        source = _cdk_source(stack, prefix, name)
        if source is None:
            continue  # one of aws-cdk-lib's own handlers
        role_id = props["Role"]["Fn::GetAtt"][0]
        role = resources[role_id]["Properties"]
        statements = [
            s
            for _, p in policies
            if {"Ref": role_id} in p["Roles"]
            for s in cfn.text(statements_of(p["PolicyDocument"]))
        ]
        for inline in role.get("Policies", []):
            statements += cfn.text(statements_of(inline["PolicyDocument"]))
        deployment.functions.append(
            Function(
                name=name,
                source=source,
                arn=cfn.arn(logical_id),
                role=cfn.arn(role_id),
                region=region,
                environment={
                    k: str(cfn.text(v)) for k, v in props.get("Environment", {}).get("Variables", {}).items()
                },
                statements=statements,
                managed_policies=[str(cfn.text(p)) for p in role.get("ManagedPolicyArns", [])],
                tracing=props.get("TracingConfig", {}).get("Mode") == "Active",
                event_sources=[
                    cfn.text(m["EventSourceArn"])
                    for _, m in of_type("AWS::Lambda::EventSourceMapping")
                    if cfn.text(m["FunctionName"]) in (name, cfn.arn(logical_id))
                ],
            )
        )
    for _, props in of_type("AWS::SecretsManager::RotationSchedule"):
        function_arn = cfn.text(props.get("RotationLambdaARN"))
        for function in deployment.functions:
            if function_arn == function.arn:
                function.rotates.append(cfn.text(props["SecretId"]))
    return deployment


def _cdk_source(stack: str, prefix: str, name: str) -> Path | None:
    """lambda_src/<stack>/<folder> of a function named <prefix>-<folder with dashes>-<env>."""
    for path in sorted((ROOT / "lambda_src" / stack).iterdir()):
        if path.is_dir() and name.startswith(f"{prefix}-{path.name.replace('_', '-')}-"):
            return path
    return None


# --- Terraform JSON --------------------------------------------------------------------------
_TF_REFERENCE = re.compile(r"\$\{((?:data\.)?[a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)\}")


class Terraform:
    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self.resources = document.get("resource", {})
        self.data = document.get("data", {})
        self.region = document["provider"]["aws"][0]["region"]

    def attribute(self, kind: str, name: str, attribute: str) -> str:
        if kind == "data.aws_caller_identity":
            return ACCOUNT
        if kind == "data.aws_region":
            return self.region
        if kind == "data.aws_partition":
            return "aws"
        if kind == "data.aws_iam_policy_document" and attribute == "json":
            return json.dumps({"Statement": self.document_statements(name)})
        resource = self.resources[kind][name]
        physical = self.text(resource.get("name") or resource.get("function_name") or f"{name}-generated")
        r, a = self.region, ACCOUNT
        arns = {
            "aws_lambda_function": f"arn:aws:lambda:{r}:{a}:function:{physical}",
            "aws_dynamodb_table": f"arn:aws:dynamodb:{r}:{a}:table/{physical}",
            "aws_sns_topic": f"arn:aws:sns:{r}:{a}:{physical}",
            "aws_sqs_queue": f"arn:aws:sqs:{r}:{a}:{physical}",
            "aws_s3_bucket": f"arn:aws:s3:::{self.text(resource.get('bucket', physical))}",
            "aws_kms_key": f"arn:aws:kms:{r}:{a}:key/{name}",
            "aws_iam_role": f"arn:aws:iam::{a}:role/{physical}",
            "aws_cloudwatch_log_group": f"arn:aws:logs:{r}:{a}:log-group:{physical}",
            "aws_secretsmanager_secret": f"arn:aws:secretsmanager:{r}:{a}:secret:{physical}-AbCdEf",
            "aws_sfn_state_machine": f"arn:aws:states:{r}:{a}:stateMachine:{physical}",
        }
        if attribute == "arn":
            return arns[kind]
        if attribute == "url" and kind == "aws_sqs_queue":
            return f"https://sqs.{r}.amazonaws.com/{a}/{physical}"
        if attribute in ("name", "function_name", "bucket"):
            return physical
        if attribute == "id":
            return {"aws_sns_topic": arns.get(kind), "aws_kms_key": name, "aws_sqs_queue": None}.get(
                kind
            ) or physical
        if attribute == "key_id":
            return name
        return f"{kind}.{name}.{attribute}"

    def text(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self.text(v) for v in value) if item is not NO_VALUE]
        if isinstance(value, dict):
            return {k: self.text(v) for k, v in value.items()}
        if not isinstance(value, str):
            return value
        return _TF_REFERENCE.sub(lambda m: self.attribute(*m.groups()), value)

    def document_statements(self, name: str) -> list[dict[str, Any]]:
        document = self.data["aws_iam_policy_document"][name]
        statements = []
        for statement in document.get("statement", []):
            iam: dict[str, Any] = {"Sid": statement.get("sid"), "Effect": statement.get("effect", "Allow")}
            for key, iam_key in (
                ("actions", "Action"),
                ("not_actions", "NotAction"),
                ("resources", "Resource"),
                ("not_resources", "NotResource"),
            ):
                if key in statement:
                    iam[iam_key] = self.text(statement[key])
            if statement.get("principals"):
                iam["Principal"] = {p["type"]: self.text(p["identifiers"]) for p in statement["principals"]}
                if iam["Principal"] == {"*": ["*"]}:
                    iam["Principal"] = "*"
            for condition in statement.get("condition", []):
                iam.setdefault("Condition", {}).setdefault(condition["test"], {})[condition["variable"]] = (
                    self.text(condition["values"])
                )
            statements.append(iam)
        return statements

    def policy(self, value: str) -> list[dict[str, Any]]:
        return statements_of(self.text(value))


def from_terraform(document: Mapping[str, Any], stack: str) -> Deployment:
    tf = Terraform(document)
    resources = tf.resources
    deployment = Deployment(stack, ACCOUNT, [])
    for name, key in resources.get("aws_kms_key", {}).items():
        if key.get("policy"):
            deployment.policies[tf.attribute("aws_kms_key", name, "arn")] = tf.policy(key["policy"])
    for name, topic in resources.get("aws_sns_topic", {}).items():
        if topic.get("kms_master_key_id"):
            deployment.keys[tf.attribute("aws_sns_topic", name, "arn")] = tf.text(topic["kms_master_key_id"])
    for policy in resources.get("aws_sns_topic_policy", {}).values():
        deployment.policies[tf.text(policy["arn"])] = tf.policy(policy["policy"])
    for name, queue in resources.get("aws_sqs_queue", {}).items():
        if queue.get("kms_master_key_id"):
            deployment.keys[tf.attribute("aws_sqs_queue", name, "arn")] = tf.text(queue["kms_master_key_id"])
    roles = resources.get("aws_iam_role", {})
    for name, function in resources.get("aws_lambda_function", {}).items():
        role_ref = function["role"]
        role_name = role_ref.removeprefix("${aws_iam_role.").removesuffix(".arn}")
        statements = [
            s
            for p in resources.get("aws_iam_role_policy", {}).values()
            if p["role"] == f"${{aws_iam_role.{role_name}.id}}"
            or p["role"] == f"${{aws_iam_role.{role_name}.name}}"
            for s in tf.policy(p["policy"])
        ]
        managed = [
            tf.text(a["policy_arn"])
            for a in resources.get("aws_iam_role_policy_attachment", {}).values()
            if role_name in a["role"]
        ]
        environment = {
            k: str(tf.text(v)) for k, v in function.get("environment", {}).get("variables", {}).items()
        }
        deployment.functions.append(
            Function(
                name=tf.text(function["function_name"]),
                source=function_dir(stack, environment["POWERTOOLS_SERVICE_NAME"]),
                arn=tf.attribute("aws_lambda_function", name, "arn"),
                role=f"arn:aws:iam::{ACCOUNT}:role/{tf.text(roles[role_name]['name'])}",
                region=tf.region,
                environment=environment,
                statements=statements,
                managed_policies=managed,
                tracing=function.get("tracing_config", {}).get("mode") == "Active",
                event_sources=[
                    tf.text(m["event_source_arn"])
                    for m in resources.get("aws_lambda_event_source_mapping", {}).values()
                    if tf.text(m["function_name"])
                    in (tf.text(function["function_name"]), tf.attribute("aws_lambda_function", name, "arn"))
                ],
            )
        )
    return deployment
