"""The checks that ask AWS, with boto3, read-only: who the credentials are, the account settings a
stack needs before it can deploy (API Gateway's CloudWatch Logs role, the CDK bootstrap), the
hosted zone, the Terraform state bucket. Each returns a ``Check``; an AWS error becomes a failed
check that quotes it, never a traceback."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from preflight.report import Check, fail, ok

API_GATEWAY = "apigateway.amazonaws.com"
LOGS_ROLE_NAME = "apigateway-cloudwatch-logs"  # the name the READMEs' commands create


@dataclass
class Aws:
    """boto3 clients, one per service and region, from one session (tests pass moto's)."""

    session: Any  # boto3.Session
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict)

    @classmethod
    def default(cls, profile: str | None = None) -> Aws:
        import boto3  # imported here: the report and the placeholders need no boto3

        return cls(boto3.Session(profile_name=profile))

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self.session.client(service, region_name=region)
        return self._clients[key]


def aws_error(error: Exception) -> str:
    """An AWS error as one line: its code and message for a ClientError, else the text."""
    response = getattr(error, "response", None)
    if isinstance(response, dict) and "Error" in response:
        code, message = response["Error"].get("Code", ""), response["Error"].get("Message", "")
        return f"{code}: {message}".strip(": ")
    return str(error) or type(error).__name__


def error_code(error: Exception) -> str:
    response = getattr(error, "response", None)
    return response.get("Error", {}).get("Code", "") if isinstance(response, dict) else ""


@dataclass(frozen=True)
class Identity:
    account: str
    arn: str


def credentials(aws: Aws, region: str, where: str) -> tuple[Check, Identity | None]:
    """Who the credentials are (sts:GetCallerIdentity needs no permission), and the region the
    deploy will use (``where`` says how it was chosen)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = aws.client("sts", region).get_caller_identity()
    except (BotoCoreError, ClientError) as error:
        return fail(
            "credentials",
            f"none usable ({aws_error(error)})",
            "sign in to the sandbox account: export AWS_PROFILE=<profile> (aws sso login --profile "
            "<profile>) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN",
        ), None
    identity = Identity(answer["Account"], answer["Arn"])
    return ok("credentials", f"{identity.arn}, account {identity.account}; deploys to {where}"), identity


def _trusts_api_gateway(policy: Any) -> bool:
    document = json.loads(unquote(policy)) if isinstance(policy, str) else policy
    for statement in document.get("Statement", []):
        services = (statement.get("Principal") or {}).get("Service", [])
        services = [services] if isinstance(services, str) else services
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if statement.get("Effect") == "Allow" and API_GATEWAY in services and "sts:AssumeRole" in actions:
            return True
    return False


def logs_role_fix(account: str, region: str, readme: str) -> str:
    role = f"arn:aws:iam::{account}:role/{LOGS_ROLE_NAME}"
    return (
        f"once per account and region, as an administrator ({readme}): create the role "
        f"{LOGS_ROLE_NAME} (trusting {API_GATEWAY}, policy AmazonAPIGatewayPushToCloudWatchLogs), then "
        f"aws apigateway update-account --region {region} --patch-operations "
        f"op=replace,path=/cloudwatchRoleArn,value={role}"
    )


def api_gateway_logs_role(aws: Aws, region: str, account: str, readme: str) -> Check:
    """API Gateway's CloudWatch Logs role is an account setting per region: a stage that writes
    access or execution logs fails to deploy without it ("CloudWatch Logs role ARN must be set in
    account settings to enable logging")."""
    from botocore.exceptions import BotoCoreError, ClientError

    name = f"API Gateway CloudWatch Logs role in {region}"
    fix = logs_role_fix(account, region, readme)
    try:
        arn = aws.client("apigateway", region).get_account().get("cloudwatchRoleArn")
    except (BotoCoreError, ClientError) as error:
        return fail(name, f"account settings not readable ({aws_error(error)})", fix)
    if not arn:
        return fail(name, "not set: the API stage fails at deploy (logging needs it)", fix)
    role_name = arn.rsplit("/", 1)[-1]
    try:
        role = aws.client("iam", region).get_role(RoleName=role_name)["Role"]
    except ClientError as error:
        if error_code(error) == "NoSuchEntity":
            return fail(name, f"{arn} is set, but that role no longer exists", fix)
        return ok(name, f"{arn} (the role itself not readable here: {error_code(error)})")
    except BotoCoreError as error:
        return ok(name, f"{arn} (the role itself not readable here: {aws_error(error)})")
    if not _trusts_api_gateway(role.get("AssumeRolePolicyDocument", {})):
        return fail(name, f"{arn} does not trust {API_GATEWAY}", fix)
    return ok(name, arn)


def cdk_bootstrap(aws: Aws, region: str, account: str, qualifier: str, minimum: int) -> Check:
    """The CDK bootstrap stack (assets bucket, deploy roles) in the region, at the version the app's
    assembly requires; ``cdk deploy`` reads the same SSM parameter."""
    from botocore.exceptions import BotoCoreError, ClientError

    parameter = f"/cdk-bootstrap/{qualifier}/version"
    name = f"CDK bootstrap in {region}"
    fix = f"cd cdk_payments && npx cdk bootstrap aws://{account}/{region}"
    try:
        value = aws.client("ssm", region).get_parameter(Name=parameter)["Parameter"]["Value"]
    except ClientError as error:
        if error_code(error) == "ParameterNotFound":
            return fail(name, f"not bootstrapped ({parameter} does not exist)", fix)
        return fail(name, f"{parameter} not readable ({aws_error(error)})", fix)
    except BotoCoreError as error:
        return fail(name, f"{parameter} not readable ({aws_error(error)})", fix)
    if not value.isdigit() or int(value) < minimum:
        return fail(name, f"version {value}; this app needs {minimum} or later", fix)
    return ok(name, f"version {value} (needs {minimum} or later)")


def public_hosted_zone(aws: Aws, zone_id: str, domain: str, fix: str) -> Check:
    """The zone exists in this account, is public, and can hold ``domain`` (the name itself or a
    parent of it): the failover records go there."""
    from botocore.exceptions import BotoCoreError, ClientError

    name = f"hosted zone {zone_id}"
    try:
        zone = aws.client("route53", "us-east-1").get_hosted_zone(Id=zone_id)["HostedZone"]
    except (BotoCoreError, ClientError) as error:
        return fail(name, f"not found in this account ({aws_error(error)})", fix)
    zone_name = zone["Name"].rstrip(".").lower()
    if (zone.get("Config") or {}).get("PrivateZone"):
        return fail(name, f"{zone_name} is a private zone; the API's records must resolve publicly", fix)
    if domain != zone_name and not domain.endswith(f".{zone_name}"):
        return fail(name, f"{zone_name} cannot hold {domain}", fix)
    return ok(name, f"{zone_name}, public, holds {domain}")


def certificate(aws: Aws, region: str, account: str, arn: str, domain: str) -> Check:
    """An ACM certificate the listener can use: in the deploy account and region, issued, covering
    ``domain`` (a load balancer takes only its own account's and region's certificates)."""
    from botocore.exceptions import BotoCoreError, ClientError

    name = "certificate"
    fix = (
        f"request a public ACM certificate for {domain} in {region} (aws acm request-certificate "
        f"--region {region} --domain-name {domain} --validation-method DNS), validate it, pass its ARN"
    )
    if f":acm:{region}:{account}:" not in arn:
        return fail(name, f"{arn} is not in {region} of account {account}, where the load balancer is", fix)
    try:
        found = aws.client("acm", region).describe_certificate(CertificateArn=arn)["Certificate"]
    except (BotoCoreError, ClientError) as error:
        return fail(name, f"{arn} not found ({aws_error(error)})", fix)
    names = list(dict.fromkeys([found.get("DomainName", ""), *found.get("SubjectAlternativeNames", [])]))
    covered = any(n == domain or (n.startswith("*.") and domain.partition(".")[2] == n[2:]) for n in names)
    if found.get("Status") != "ISSUED":
        return fail(name, f"{arn} is {found.get('Status')}, not ISSUED", fix)
    if not covered:
        return fail(name, f"{arn} covers {', '.join(filter(None, names))}, not {domain}", fix)
    return ok(name, f"{arn}, issued, covers {domain}")


def state_bucket(aws: Aws, bucket: str, key: str, region: str, new_stack: bool) -> Check:
    """Terraform's S3 backend: the bucket in the stack's region (the backend refuses another
    region's at init) and the state object there, unless the stack is new."""
    from botocore.exceptions import BotoCoreError, ClientError

    name = f"Terraform state s3://{bucket}/{key}"
    s3 = aws.client("s3", region)
    try:
        location = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint") or "us-east-1"
    except (BotoCoreError, ClientError) as error:
        return fail(
            name,
            f"bucket not readable ({aws_error(error)})",
            f"create it in {region} (versioned, encrypted) or unset TRANSACTIONS_STATE_BUCKET",
        )
    if location != region:
        return fail(
            name,
            f"the bucket is in {location}; the stack (and its backend) in {region}",
            f"use a state bucket in {region}",
        )
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error_code(error) not in ("404", "NoSuchKey", "NotFound"):
            return fail(name, f"not readable ({aws_error(error)})")
        if new_stack:
            return ok(name, "none yet; TRANSACTIONS_NEW_STACK=1: the first apply writes it")
        return fail(
            name,
            "no state object: Terraform would plan every resource as new",
            "restore the object if the stack was deployed; else TRANSACTIONS_NEW_STACK=1 (never "
            "deployed in this account and region)",
        )
    return ok(name, f"present, bucket in {region}")
