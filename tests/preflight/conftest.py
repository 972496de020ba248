"""A fresh AWS account in moto for each test, and the preflight's services pointed at it."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass

import boto3
import moto.route53.models
import pytest
from moto import mock_aws

from preflight.aws import API_GATEWAY, LOGS_ROLE_NAME, Aws
from preflight.common import Services

ACCOUNT = "123456789012"  # moto's default account


@dataclass
class Account:
    """A moto account and what a platform team sets up in one before a first deploy."""

    session: boto3.Session

    def client(self, service: str, region: str = "us-east-1"):
        return self.session.client(service, region_name=region)

    def services(self, *on_path: str) -> Services:
        return Services(
            aws=lambda profile: Aws(self.session),
            which=lambda program: f"/usr/bin/{program}" if program in on_path else None,
        )

    def logs_role(self, *regions: str, trusted: str = API_GATEWAY) -> str:
        """API Gateway's CloudWatch Logs role, set in each region (the README's three commands)."""
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": trusted}, "Action": "sts:AssumeRole"}],
        }
        iam = self.client("iam")
        arn = iam.create_role(RoleName=LOGS_ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust))["Role"][
            "Arn"
        ]
        for region in regions:
            self.client("apigateway", region).update_account(
                patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": arn}]
            )
        return arn

    def bootstrap(self, region: str = "us-east-1", version: str = "29") -> None:
        """What `cdk bootstrap` leaves that `cdk deploy` reads first: the version parameter."""
        self.client("ssm", region).put_parameter(
            Name="/cdk-bootstrap/hnb659fds/version", Value=version, Type="String"
        )

    def hosted_zone(self, name: str, *, private: bool = False) -> str:
        route53 = self.client("route53")
        extra = {}
        if private:
            vpc = self.client("ec2").create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
            extra = {
                "VPC": {"VPCRegion": "us-east-1", "VPCId": vpc},
                "HostedZoneConfig": {"PrivateZone": True},
            }
        zone = route53.create_hosted_zone(Name=name, CallerReference=name, **extra)
        return zone["HostedZone"]["Id"].rsplit("/", 1)[-1]


@pytest.fixture
def account(monkeypatch):
    for variable in ("AWS_PROFILE", "AWS_REGION", "TRANSACTIONS_REGION", "TRANSACTIONS_STATE_BUCKET"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    # Route 53's ids start with Z (the stacks' config checks it); moto's draw from all letters.
    zone_ids = (f"Z0{n:018d}" for n in itertools.count(1))
    monkeypatch.setattr(moto.route53.models, "create_route53_zone_id", lambda *args, **kwargs: next(zone_ids))
    with mock_aws():
        yield Account(boto3.Session(region_name="us-east-1"))
