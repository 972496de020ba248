"""Issue 16, item 1: each check that asks AWS, passing on an account that is ready and failing,
with the reason and the fix, on one that is not (moto; botocore's Stubber for STS's errors)."""

from __future__ import annotations

import boto3
import moto.settings
import pytest
from botocore.stub import Stubber

from preflight import aws as checks
from preflight.aws import Aws
from preflight.report import FAIL, OK
from tests.preflight.conftest import ACCOUNT

README = "the README"


def test_credentials_name_the_account_and_the_region(account):
    """Fix: the first line says who the deploy runs as and where it goes."""
    check, identity = checks.credentials(Aws(account.session), "us-east-2", "us-east-2 (aws:region)")
    assert check.status == OK and identity.account == ACCOUNT
    assert f"account {ACCOUNT}; deploys to us-east-2 (aws:region)" in check.detail


def test_no_credentials_fail_with_how_to_sign_in(monkeypatch, tmp_path):
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    check, identity = checks.credentials(Aws(boto3.Session()), "us-east-1", "us-east-1")
    assert check.status == FAIL and identity is None
    assert "Unable to locate credentials" in check.detail and "AWS_PROFILE" in check.fix


def test_expired_credentials_fail_quoting_aws():
    aws = Aws(boto3.Session(aws_access_key_id="a", aws_secret_access_key="b", region_name="us-east-1"))
    with Stubber(aws.client("sts", "us-east-1")) as sts:
        sts.add_client_error(
            "get_caller_identity", "ExpiredToken", "The security token included in the request is expired"
        )
        check, _ = checks.credentials(aws, "us-east-1", "us-east-1")
    assert check.status == FAIL and check.detail.startswith("none usable (ExpiredToken: The security token")


def test_api_gateway_logs_role_missing_fails_with_the_commands(account):
    """Fix: a region without API Gateway's CloudWatch Logs role fails here, not at the stage."""
    check = checks.api_gateway_logs_role(Aws(account.session), "us-east-2", ACCOUNT, README)
    assert check.status == FAIL and "not set" in check.detail
    assert "aws apigateway update-account --region us-east-2" in check.fix
    assert f"arn:aws:iam::{ACCOUNT}:role/apigateway-cloudwatch-logs" in check.fix


def test_api_gateway_logs_role_is_per_region(account):
    arn = account.logs_role("us-east-1")
    aws = Aws(account.session)
    assert checks.api_gateway_logs_role(aws, "us-east-1", ACCOUNT, README).detail == arn
    assert checks.api_gateway_logs_role(aws, "us-west-2", ACCOUNT, README).status == FAIL


def test_api_gateway_logs_role_that_was_deleted_fails(account):
    account.logs_role("us-east-1")
    account.client("iam").delete_role(RoleName="apigateway-cloudwatch-logs")
    check = checks.api_gateway_logs_role(Aws(account.session), "us-east-1", ACCOUNT, README)
    assert check.status == FAIL and "no longer exists" in check.detail


def test_api_gateway_logs_role_that_api_gateway_cannot_assume_fails(account):
    account.logs_role("us-east-1", trusted="lambda.amazonaws.com")
    check = checks.api_gateway_logs_role(Aws(account.session), "us-east-1", ACCOUNT, README)
    assert check.status == FAIL and "does not trust apigateway.amazonaws.com" in check.detail


@pytest.mark.parametrize(
    ("version", "status", "detail"),
    [(None, FAIL, "not bootstrapped"), ("5", FAIL, "version 5; this app needs 8"), ("29", OK, "version 29")],
)
def test_cdk_bootstrap_must_exist_at_the_version_the_assembly_requires(account, version, status, detail):
    """Fix: an account or region that was never bootstrapped (or with a bootstrap older than the
    assembly requires) fails here with the command, not in cdk deploy."""
    if version:
        account.bootstrap("us-east-1", version)
    check = checks.cdk_bootstrap(Aws(account.session), "us-east-1", ACCOUNT, "hnb659fds", 8)
    assert check.status == status and detail in check.detail
    if status == FAIL:
        assert check.fix == f"cd cdk_payments && npx cdk bootstrap aws://{ACCOUNT}/us-east-1"


def test_hosted_zone_that_holds_the_api_name_passes(account):
    zone = account.hosted_zone("trading.acme.io")
    check = checks.public_hosted_zone(Aws(account.session), zone, "api.trading.acme.io", "fix")
    assert check.status == OK and "trading.acme.io, public, holds api.trading.acme.io" in check.detail


@pytest.mark.parametrize(
    ("zone", "private", "detail"),
    [
        (None, False, "not found in this account"),
        ("trading.acme.io", True, "is a private zone"),
        ("other.acme.io", False, "cannot hold api.trading.acme.io"),
        ("ing.acme.io", False, "cannot hold api.trading.acme.io"),  # a suffix of the text, no parent
    ],
    ids=["missing", "private", "other-name", "suffix-not-parent"],
)
def test_hosted_zone_missing_private_or_elsewhere_fails(account, zone, private, detail):
    """Fix: the trading DR stack's zone is checked before pulumi up creates anything."""
    zone_id = account.hosted_zone(zone, private=private) if zone else "Z0123456789EXAMPLE"
    check = checks.public_hosted_zone(Aws(account.session), zone_id, "api.trading.acme.io", "set yours")
    assert check.status == FAIL and detail in check.detail and check.fix == "set yours"


@pytest.fixture
def certificate(account, monkeypatch):
    monkeypatch.setattr(moto.settings, "ACM_VALIDATION_WAIT", 0)  # validated at once

    def request(region: str, domain: str) -> str:
        return account.client("acm", region).request_certificate(DomainName=domain, ValidationMethod="DNS")[
            "CertificateArn"
        ]

    return request


def test_certificate_issued_in_the_region_for_the_name_passes(account, certificate):
    arn = certificate("eu-west-1", "payments.acme.io")
    check = checks.certificate(Aws(account.session), "eu-west-1", ACCOUNT, arn, "payments.acme.io")
    assert check.status == OK, check


def test_certificate_in_another_region_or_for_another_name_fails(account, certificate):
    """Fix: the HTTPS listener's certificate must be in the stack's region and cover the ALB's name."""
    aws = Aws(account.session)

    def check(arn: str) -> str:
        found = checks.certificate(aws, "eu-west-1", ACCOUNT, arn, "payments.acme.io")
        assert found.status == FAIL and "acm request-certificate --region eu-west-1" in found.fix
        return found.detail

    elsewhere = certificate("us-east-1", "payments.acme.io")
    assert f"is not in eu-west-1 of account {ACCOUNT}" in check(elsewhere)
    other = certificate("eu-west-1", "shop.acme.io")
    assert "covers shop.acme.io, not payments.acme.io" in check(other)
    assert "not found" in check(other.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000")
    assert "is not in eu-west-1" in check(other.replace(ACCOUNT, "210987654321"))


def test_certificate_not_yet_issued_fails(account, monkeypatch):
    monkeypatch.setattr(moto.settings, "ACM_VALIDATION_WAIT", 3600)
    arn = account.client("acm", "eu-west-1").request_certificate(DomainName="payments.acme.io")[
        "CertificateArn"
    ]
    check = checks.certificate(Aws(account.session), "eu-west-1", ACCOUNT, arn, "payments.acme.io")
    assert check.status == FAIL and "PENDING_VALIDATION, not ISSUED" in check.detail


def state_bucket(account, region: str, *, with_state: bool) -> str:
    s3 = account.client("s3", region)
    extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=f"tf-state-{region}", **extra)
    if with_state:
        s3.put_object(Bucket=f"tf-state-{region}", Key="transactions/dev.tfstate", Body=b"{}")
    return f"tf-state-{region}"


@pytest.mark.parametrize(
    ("bucket_region", "with_state", "new_stack", "status", "detail"),
    [
        ("eu-west-1", True, False, OK, "present"),
        ("eu-west-1", False, True, OK, "TRANSACTIONS_NEW_STACK=1"),
        ("eu-west-1", False, False, FAIL, "Terraform would plan every resource as new"),
        (
            "us-east-1",
            True,
            False,
            FAIL,
            "the bucket is in us-east-1; the stack (and its backend) in eu-west-1",
        ),
        (None, False, True, FAIL, "bucket not readable"),
    ],
    ids=["deployed", "new", "state-missing", "bucket-in-another-region", "no-bucket"],
)
def test_s3_state_present_or_explicitly_new(account, bucket_region, with_state, new_stack, status, detail):
    """Fix: with TRANSACTIONS_STATE_BUCKET, the bucket is in the stack's region and holds the state,
    or the stack is declared new, as for local state."""
    bucket = state_bucket(account, bucket_region, with_state=with_state) if bucket_region else "nobody-has-it"
    check = checks.state_bucket(
        Aws(account.session), bucket, "transactions/dev.tfstate", "eu-west-1", new_stack
    )
    assert check.status == status and detail in check.detail, check
