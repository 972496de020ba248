"""Issue 16, item 1: every example value the repository commits is recognised as one; real
values that merely contain the word are not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from preflight.placeholders import why_example

ROOT = Path(__file__).resolve().parents[2]


def committed_examples() -> list[tuple[str, str, str]]:
    """(where, kind, value) for each example a stack commits so that a plain synth works."""
    payments = json.loads((ROOT / "cdk_payments" / "cdk.json").read_text())["context"]
    fraud = yaml.safe_load((ROOT / "pulumi_fraud_pipeline" / "Pulumi.dev.yaml").read_text())["config"]
    dr = yaml.safe_load((ROOT / "pulumi_trading_dr" / "Pulumi.dev.yaml").read_text())["config"]
    makefile = (ROOT / "Makefile").read_text()
    transactions = makefile.split("EXAMPLE_ALARM_EMAIL := ", 1)[1].split("\n", 1)[0].strip()
    return [
        ("cdk.json alarm_email", "email", payments["alarm_email"]),
        ("Makefile TRANSACTIONS_ALARM_EMAIL", "email", transactions),
        ("fraud alertEmail", "email", fraud["fraud-pipeline:alertEmail"]),
        ("trading-dr alertEmail", "email", dr["trading-dr:alertEmail"]),
        ("trading-dr hostedZoneId", "hosted_zone", dr["trading-dr:hostedZoneId"]),
        ("trading-dr apiDomainName", "domain", dr["trading-dr:apiDomainName"]),
        ("trading-dr orderTokenJwks", "jwks", dr["trading-dr:orderTokenJwks"]),
        ("trading-dr orderTokenIssuer", "url", dr["trading-dr:orderTokenIssuer"]),
    ]


@pytest.mark.parametrize(("where", "kind", "value"), committed_examples(), ids=lambda v: str(v)[:40])
def test_every_committed_example_is_a_placeholder(where, kind, value):
    """Fix: the examples payments, fraud and trading DR commit are refused before a deploy, as
    the transactions deploy refused its example e-mail."""
    assert why_example(kind, value), f"{where}: {value!r} would be deployed"


def test_the_example_token_key_is_caught_whatever_its_kid():
    dr = yaml.safe_load((ROOT / "pulumi_trading_dr" / "Pulumi.dev.yaml").read_text())["config"]
    jwks = json.loads(dr["trading-dr:orderTokenJwks"])
    for key in jwks["keys"]:
        key["kid"] = "prod-2026"
    assert why_example("jwks", json.dumps(jwks))


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("email", "oncall@acme.io"),
        ("email", "payments@examplebank.com"),  # a real domain with the word in it
        ("domain", "api.trading.acme.io"),
        ("domain", "example.co.uk"),
        ("url", "https://login.acme.io/"),
        ("hosted_zone", "Z04512345ABCDEFGHIJK"),
        ("jwks", '{"keys":[{"kty":"EC","crv":"P-256","kid":"acme-2026","x":"abc","y":"def"}]}'),
    ],
)
def test_real_values_are_not_placeholders(kind, value):
    assert why_example(kind, value) is None


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("email", "you@yourcompany.example"),
        ("email", "ops@payments.example.org"),
        ("domain", "payments.internal.test"),
    ],
)
def test_documentation_values_are_placeholders(kind, value):
    """The READMEs' own examples (.example, .test) are refused too."""
    assert why_example(kind, value)
