"""Issue 16, item 1: each stack's preflight on a fresh moto account (what fails, one line each,
with the fix) and on an account made ready with the settings passed as the deploy gets them
(CDK_ARGS, PULUMI_ARGS, TRANSACTIONS_*): every check passes, exit 0."""

from __future__ import annotations

import base64
import json
import re
import shlex
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from preflight.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


def report(capsys, argv, services) -> tuple[int, dict[str, str], str]:
    """Exit code, {check name: status} and the text, as `make preflight-<stack>` prints them."""
    code = main(argv, services)
    captured = capsys.readouterr()
    out = captured.out + captured.err
    lines = re.findall(r"^  (ok|FAIL|skip)\s+([^:]+): ", out, re.MULTILINE)
    return code, {name: status for status, name in lines}, out


def jwks() -> str:
    """A JWKS of one public P-256 key that is nobody's example."""
    numbers = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    b64 = lambda n: base64.urlsafe_b64encode(n.to_bytes(32, "big")).rstrip(b"=").decode()  # noqa: E731
    key = {"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": "acme-1"}
    return json.dumps({"keys": [{**key, "x": b64(numbers.x), "y": b64(numbers.y)}]})


def test_payments_on_a_fresh_account(account, capsys):
    """Fix: the payments deploy's account settings and placeholders fail before cdk deploy."""
    code, checks, out = report(capsys, ["cdk_payments"], account.services())
    assert code == 1
    assert checks == {
        "credentials": "ok",
        "API Gateway CloudWatch Logs role in us-east-1": "FAIL",
        "CDK bootstrap in us-east-1": "FAIL",
        "placeholder alarm_email": "FAIL",
    }
    assert "deploys to us-east-1 (AWS_DEFAULT_REGION)" in out
    assert out.count("        fix: ") == 3 and out.rstrip().endswith(
        "3 of 4 checks failed; fix them before deploying"
    )


def test_payments_prod_ready_with_cdk_args(account, capsys, monkeypatch):
    """CDK_ARGS' -c values (certificate, e-mail) are what the preflight reads, as cdk deploy does."""
    monkeypatch.setenv("AWS_REGION", "eu-west-1")  # the CDK CLI's first choice
    monkeypatch.setattr("moto.settings.ACM_VALIDATION_WAIT", 0)
    account.logs_role("eu-west-1")
    account.bootstrap("eu-west-1")
    arn = account.client("acm", "eu-west-1").request_certificate(DomainName="payments.acme.io")[
        "CertificateArn"
    ]
    cdk_args = ["-c", f"certificate_arn={arn}", "--context=alb_domain_name=payments.acme.io"]
    cdk_args += ["-c", "alarm_email=payments-oncall@acme.io", "--require-approval", "never"]
    code, checks, out = report(capsys, ["cdk_payments", "--env", "prod", "--", *cdk_args], account.services())
    assert code == 0, out
    assert set(checks.values()) == {"ok"} and "certificate" in checks
    assert "preflight payments-prod" in out and "deploys to eu-west-1 (AWS_REGION)" in out


@pytest.mark.parametrize(
    ("config", "profile_args", "expected"),
    [
        (
            "[default]\nregion = eu-west-1\n[profile sandbox]\noutput = json\n",
            ["--profile", "sandbox"],
            "deploys to eu-west-1 (the default profile's region)",
        ),
        (
            "[default]\nregion = eu-west-1\n[profile sandbox]\nregion = eu-central-1\n",
            ["--profile", "sandbox"],
            "deploys to eu-central-1 (the profile's region)",
        ),
        (
            "[profile sandbox]\noutput = json\n",
            ["--profile", "sandbox"],
            "deploys to us-east-1 (the CDK CLI's",
        ),
    ],
    ids=["profile-without-region", "profile-with-region", "no-region-anywhere"],
)
def test_payments_region_is_the_cdk_clis_from_the_shared_files(
    account, capsys, monkeypatch, tmp_path, config, profile_args, expected
):
    """Fix (issue 16 review): a profile without a region deploys, with the CDK CLI, to the default
    profile's region (aws-cdk's getRegionFromIni reads the profile, then default); botocore stops at
    the profile, so the preflight named us-east-1 and checked the account settings of a region the
    deploy would not use."""
    for variable in (
        "AWS_REGION",
        "AMAZON_REGION",
        "AWS_DEFAULT_REGION",
        "AMAZON_DEFAULT_REGION",
        "AWS_PROFILE",
    ):
        monkeypatch.delenv(variable, raising=False)
    (tmp_path / "config").write_text(config)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    _, _, out = report(capsys, ["cdk_payments", "--", *profile_args], account.services())
    assert expected in out, out


def test_payments_prod_without_a_certificate_is_a_config_error(account, capsys):
    code = main(["cdk_payments", "--env", "prod"], account.services())
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: cdk_payments: certificate_arn: required for env=prod")
    assert len(err.strip().splitlines()) == 1


def test_transactions_on_a_fresh_account(account, capsys, monkeypatch, tmp_path):
    """Fix: no state and no TRANSACTIONS_NEW_STACK, the example e-mail, no terraform: each a line."""
    monkeypatch.setenv("TRANSACTIONS_ALARM_EMAIL", "oncall@example.com")
    monkeypatch.setenv("TRANSACTIONS_STATE_DIR", str(tmp_path))
    code, checks, _ = report(capsys, ["cdktf_transactions"], account.services())
    assert code == 1
    assert checks == {
        "terraform CLI": "FAIL",
        "credentials": "ok",
        "Terraform state": "FAIL",
        "placeholder TRANSACTIONS_ALARM_EMAIL": "FAIL",
    }


def test_transactions_ready(account, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("TRANSACTIONS_ALARM_EMAIL", "oncall@acme.io")
    monkeypatch.setenv("TRANSACTIONS_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("TRANSACTIONS_REGION", "eu-west-1")
    monkeypatch.setenv("TRANSACTIONS_NEW_STACK", "1")
    code, _, out = report(capsys, ["cdktf_transactions", "--env", "qa"], account.services("terraform"))
    assert code == 0, out
    assert "preflight transactions-qa" in out and "deploys to eu-west-1 (TRANSACTIONS_REGION)" in out
    (tmp_path / "eu-west-1").mkdir()
    (tmp_path / "eu-west-1" / "transactions-qa.tfstate").write_text("{}")
    monkeypatch.delenv("TRANSACTIONS_NEW_STACK")
    code, _, out = report(capsys, ["cdktf_transactions", "--env", "qa"], account.services("terraform"))
    assert code == 0 and "transactions-qa.tfstate" in out, out


def test_fraud_on_a_fresh_account(account, capsys):
    """Fix: the fraud pipeline's example e-mail and its region's missing logs role fail before pulumi up."""
    code, checks, _ = report(capsys, ["pulumi_fraud_pipeline"], account.services())
    assert code == 1
    assert checks == {
        "pulumi CLI": "FAIL",
        "credentials": "ok",
        "API Gateway CloudWatch Logs role in us-east-2": "FAIL",
        "placeholder alertEmail": "FAIL",
    }


def test_fraud_ready_with_pulumi_args(account, capsys):
    account.logs_role("us-east-2")
    argv = ["pulumi_fraud_pipeline", "--stack", "dev", "--", "-c", "alertEmail=fraud@acme.io", "--yes"]
    code, _, out = report(capsys, argv, account.services("pulumi"))
    assert code == 0, out
    assert "deploys to us-east-2 (aws:region)" in out


def test_trading_dr_on_a_fresh_account(account, capsys):
    """Fix: both regions' logs role, the hosted zone and every example in Pulumi.dev.yaml (e-mail,
    zone, domain, the token keys, the issuer) fail before pulumi up."""
    code, checks, _ = report(capsys, ["pulumi_trading_dr"], account.services("pulumi"))
    assert code == 1
    assert checks == {
        "pulumi CLI": "ok",
        "credentials": "ok",
        "API Gateway CloudWatch Logs role in us-east-1": "FAIL",
        "API Gateway CloudWatch Logs role in us-west-2": "FAIL",
        "hosted zone Z0123456789EXAMPLE": "FAIL",
        "placeholder alertEmail": "FAIL",
        "placeholder hostedZoneId": "FAIL",
        "placeholder apiDomainName": "FAIL",
        "placeholder orderTokenJwks": "FAIL",
        "placeholder orderTokenIssuer": "FAIL",
    }


def test_trading_dr_ready_with_pulumi_args(account, capsys):
    account.logs_role("us-east-1", "us-west-2")
    zone = account.hosted_zone("trading.acme.io")
    settings = {
        "trading-dr:alertEmail": "dr@acme.io",
        "hostedZoneId": zone,
        "apiDomainName": "api.trading.acme.io",
        "orderTokenJwks": jwks(),
        "orderTokenIssuer": "https://login.acme.io/",
    }
    pulumi_args = [arg for key, value in settings.items() for arg in ("--config", f"{key}={value}")]
    code, checks, out = report(capsys, ["pulumi_trading_dr", "--", *pulumi_args], account.services("pulumi"))
    assert code == 0, out
    assert checks["hosted zone " + zone] == "ok" and len(checks) == 6


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["pulumi_fraud_pipeline", "--", "-c", "alertEmail=nobody"], "alertEmail: 'nobody' is not an e-mail"),
        (["pulumi_trading_dr", "--", "-c", "env=Dev"], "env: 'Dev' must be 2-8 lower-case letters"),
        (["pulumi_trading_dr", "--", "-c", "rtoMinutes=soon"], "rtoMinutes: 'soon' is not a int"),
    ],
)
def test_malformed_settings_are_one_line_exit_2(account, capsys, argv, message):
    """The stack's own ConfigError, as its entry point prints it: no report, no traceback."""
    assert main(argv, account.services()) == 2
    captured = capsys.readouterr()
    assert message in captured.err and len(captured.err.strip().splitlines()) == 1 and not captured.out


def readme_prod_pulumi_args() -> list[str]:
    """The PULUMI_ARGS of the fraud README's prod deploy command, <on-call> filled in."""
    text = (ROOT / "pulumi_fraud_pipeline" / "README.md").read_text().replace("\\\n", " ")
    line = next(line for line in text.splitlines() if "make deploy-pulumi-fraud-pipeline STACK=prod" in line)
    words = shlex.split(line.replace("<on-call>", "fraud-oncall@acme.io"))
    return shlex.split(next(word for word in words if word.startswith("PULUMI_ARGS=")).partition("=")[2])


def test_fraud_new_stack_without_aws_region_is_refused_with_the_fix(account, capsys):
    """Fix (issue 16 review): a new fraud stack (no Pulumi.<stack>.yaml) without aws:region was built
    for us-east-2 (a program default) while pulumi-aws's provider deploys to AWS_REGION /
    AWS_DEFAULT_REGION; the preflight said "deploys to us-east-2 (the stack's default)". The program
    now requires aws:region, and the preflight says so in one line with the fix, exit 2."""
    account.logs_role("us-east-2")
    argv = ["pulumi_fraud_pipeline", "--stack", "prod", "--", "-c", "env=prod", "-c", "alertEmail=f@acme.io"]
    code, _, out = report(capsys, argv, account.services("pulumi"))
    assert code == 2 and "aws:region is not set" in out, out
    assert "pulumi config set aws:region us-east-2" in out and "Traceback" not in out


def test_fraud_readme_prod_command_passes_on_a_ready_account(account, capsys):
    """Fix (issue 16 review): the fraud README's prod deploy command sets aws:region, so its
    preflight passes on an account with the logs role in us-east-2 (whatever the shell's region)."""
    account.logs_role("us-east-2")
    argv = ["pulumi_fraud_pipeline", "--stack", "prod", "--", *readme_prod_pulumi_args()]
    code, checks, out = report(capsys, argv, account.services("pulumi"))
    assert code == 0 and "region" not in checks, out
    assert "deploys to us-east-2 (aws:region)" in out


@pytest.mark.parametrize("project", ["pulumi_fraud_pipeline", "pulumi_trading_dr"])
def test_a_stack_file_that_is_not_yaml_is_one_line_exit_2(account, capsys, monkeypatch, tmp_path, project):
    """Fix (issue 16 review): a Pulumi.<stack>.yaml that is not YAML was a yaml.ScannerError
    traceback, exit 1 (read as a failed check); now one line naming the file, exit 2."""
    (tmp_path / "Pulumi.yaml").write_text((ROOT / project / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.qa.yaml").write_text("config:\n  key: value\n   bad: [\n")
    monkeypatch.setattr(f"preflight.{project}.PROJECT_DIR", tmp_path)  # the project, another stack file
    code = main([project, "--stack", "qa", "--"], account.services())
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(f"error: {project}: Pulumi.qa.yaml: not YAML ("), err
    assert len(err.strip().splitlines()) == 1


def test_a_cdk_json_that_is_not_json_is_one_line_exit_2(account, capsys, monkeypatch, tmp_path):
    """Fix (issue 16 review): the README says to put settings in cdk.json's context; a broken edit
    was a JSONDecodeError traceback, exit 1; now one line naming the file, exit 2."""
    (tmp_path / "cdk.json").write_text('{"context": {"alarm_email": "a@acme.io",}}')
    monkeypatch.setattr("preflight.cdk_payments.CDK_JSON", tmp_path / "cdk.json")
    code = main(["cdk_payments", "--"], account.services())
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: cdk_payments: cdk_payments/cdk.json: not JSON ("), err
    assert len(err.strip().splitlines()) == 1
