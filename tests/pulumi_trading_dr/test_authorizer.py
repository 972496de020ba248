"""POST /orders after a failover: a JWT bearer token checked by a Lambda TOKEN authorizer in each
region with the same trust (README "Clients after a failover"), read from the session's run."""

from __future__ import annotations

import json
import re

import pytest

from lambda_src.pulumi_trading_dr.authorizer import index as authorizer_code
from pulumi_offline import archive_path, load_stack_config
from pulumi_trading_dr.components.api import AUTHORIZER_TTL_SECONDS, BEARER_PATTERN
from pulumi_trading_dr.config import ConfigError, TradingConfig
from pulumi_trading_dr.offline import PROJECT_DIR

ROLES = ("primary", "secondary")
REGIONS = {"primary": "us-east-1", "secondary": "us-west-2"}
FUNCTION = "aws:lambda/function:Function"
AUTHORIZER = "aws:apigateway/authorizer:Authorizer"
DEV = load_stack_config(PROJECT_DIR, "dev")


def authorizer_function(dr, role):
    return dr.named(FUNCTION, f"api-{role}-authorizer")


def test_orders_method_uses_the_custom_authorizer_in_both_regions(dr):
    """Fix: POST /orders is CUSTOM (the token authorizer), not AWS_IAM (SigV4, one region), in
    both regions; the authorizer reads the Authorization header and calls its region's function."""
    for role in ROLES:
        method = dr.named("aws:apigateway/method:Method", f"api-{role}-orders-post")
        authorizer = dr.named(AUTHORIZER, f"api-{role}-orders-authorizer")
        api = dr.named("aws:apigateway/restApi:RestApi", f"api-{role}-rest-api")
        function = authorizer_function(dr, role)
        assert method["inputs"]["authorization"] == "CUSTOM"
        assert method["inputs"]["authorizerId"] == authorizer["id"]
        assert authorizer["inputs"]["type"] == "TOKEN"
        assert authorizer["inputs"]["restApi"] == api["id"]
        assert authorizer["inputs"]["identitySource"] == "method.request.header.Authorization"
        function_arn = f"arn:aws:lambda:{REGIONS[role]}:123456789012:function:{function['inputs']['name']}"
        assert authorizer["inputs"]["authorizerUri"] == (
            f"arn:aws:apigateway:{REGIONS[role]}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
        )
        assert dr.region(authorizer) == dr.region(function) == REGIONS[role]
        assert "authorizerCredentials" not in authorizer["inputs"]  # the function's own permission


def test_api_gateway_may_invoke_each_authorizer_from_its_api_only(dr):
    """Fix: lambda:InvokeFunction for apigateway.amazonaws.com, with the API's execution ARN (its
    authorizers) as SourceArn: no other API, account or region may call it."""
    for role in ROLES:
        (permission,) = [
            p
            for p in dr.of_type("aws:lambda/permission:Permission")
            if p["inputs"]["function"] == authorizer_function(dr, role)["inputs"]["name"]
        ]
        api = dr.named("aws:apigateway/restApi:RestApi", f"api-{role}-rest-api")
        authorizer = dr.named(AUTHORIZER, f"api-{role}-orders-authorizer")
        execution_arn = f"arn:aws:execute-api:{REGIONS[role]}:123456789012:{api['id']}"
        assert permission["inputs"]["action"] == "lambda:InvokeFunction"
        assert permission["inputs"]["principal"] == "apigateway.amazonaws.com"
        assert permission["inputs"]["sourceArn"] == f"{execution_arn}/authorizers/{authorizer['id']}"
        assert dr.region(permission) == REGIONS[role]
        deployment = dr.named("aws:apigateway/deployment:Deployment", f"api-{role}-deployment")
        assert permission["urn"] in deployment["dependencies"]


def test_both_regions_trust_the_same_keys_issuer_and_audience(dr):
    """Fix: the same JWKS, issuer and audience (the API's public name, never a regional host) in
    both regions, from config: a token one region accepts, the other accepts too."""
    envs = {role: dict(authorizer_function(dr, role)["inputs"]["environment"]["variables"]) for role in ROLES}
    assert {role: env.pop("REGION_ROLE") for role, env in envs.items()} == {r: r for r in ROLES}
    assert envs["primary"] == envs["secondary"]
    env = envs["primary"]
    assert env["ORDER_TOKEN_AUDIENCE"] == DEV["trading-dr:apiDomainName"]
    assert env["ORDER_TOKEN_ISSUER"] == DEV["trading-dr:orderTokenIssuer"]
    assert json.loads(env["ORDER_TOKEN_JWKS"]) == json.loads(DEV["trading-dr:orderTokenJwks"])
    assert env["ORDER_SCOPE"] == "orders:place"
    # What the function builds from it: the configured key, nothing else.
    settings = authorizer_code.Settings.from_env(env)
    assert set(settings.keys) == {"trading-dev-example-1"}
    assert settings.audience == "api.trading-dev.example.com"


def test_the_authorizer_is_a_small_function_outside_the_vpc(dr):
    """Fix: the authorizer calls nothing (keys from its environment): no VPC, no AWS permissions
    beyond its logs and X-Ray, its own bundle without the shared layer, traced, a short timeout."""
    for role in ROLES:
        function = authorizer_function(dr, role)
        inputs = function["inputs"]
        assert "vpcConfig" not in inputs and not inputs.get("layers")
        assert archive_path(inputs["code"]).endswith("pulumi_trading_dr/authorizer")
        assert inputs["tracingConfig"] == {"mode": "Active"} and inputs["timeout"] <= 10
        actions = {
            action
            for statement in dr.role_statements(function)
            for action in (
                statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            )
        }
        assert actions == {
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "xray:PutTraceSegments",
            "xray:PutTelemetryRecords",
        }


def test_authorizer_results_are_cached_briefly_and_garbage_never_reaches_the_function(dr):
    """Fix: the cache TTL is short (an expired token is honoured for at most that long after its
    last check) and API Gateway itself answers 401 to a header that is no bearer JWT."""
    for role in ROLES:
        authorizer = dr.named(AUTHORIZER, f"api-{role}-orders-authorizer")
        assert authorizer["inputs"]["authorizerResultTtlInSeconds"] == AUTHORIZER_TTL_SECONDS == 60
        assert authorizer["inputs"]["identityValidationExpression"] == BEARER_PATTERN
    # The gateway's expression and the function's check accept exactly the same headers.
    assert f"^{authorizer_code.BEARER.pattern}$" == BEARER_PATTERN
    pattern = re.compile(BEARER_PATTERN)
    assert pattern.match("Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl")
    for header in (
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Bearer a.b",
        "Bearer a.b.",
        "AWS4-HMAC-SHA256 Credential=x",
    ):
        assert not pattern.match(header), header


def test_the_dev_stack_commits_a_public_key_only():
    """Fix: Pulumi.dev.yaml's example JWKS holds the public half of a key pair (no d, no secret)."""
    (key,) = json.loads(DEV["trading-dr:orderTokenJwks"])["keys"]
    assert set(key) == {"kty", "crv", "x", "y", "kid", "alg", "use"}
    assert (key["kty"], key["crv"], key["alg"]) == ("EC", "P-256", "ES256")


REQUIRED = {
    "env": "dev",
    "alert_email": "oncall@example.com",
    "hosted_zone_id": "Z0123456789EXAMPLE",
    "api_domain_name": "api.trading-dev.example.com",
    "order_token_jwks": DEV["trading-dr:orderTokenJwks"],
    "order_token_issuer": "https://auth.trading-dev.example.com/",
}
EC_KEY = json.loads(DEV["trading-dr:orderTokenJwks"])["keys"][0]
# A real 2048-bit modulus is 342 base64url characters; 1024 bits is 171.
RSA_KEY = {"kty": "RSA", "kid": "r", "e": "AQAB", "n": "x" + "A" * 341}


def jwks(*keys):
    return json.dumps({"keys": list(keys)})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"order_token_jwks": ""}, "orderTokenJwks: required"),
        ({"order_token_jwks": "not json"}, "orderTokenJwks: not JSON"),
        ({"order_token_jwks": jwks()}, "at least one key"),
        ({"order_token_jwks": jwks({"kty": "oct", "kid": "s", "k": "c2VjcmV0"})}, "private or secret"),
        ({"order_token_jwks": jwks({**EC_KEY, "d": "AAAA"})}, "PUBLIC keys only"),
        ({"order_token_jwks": jwks({**EC_KEY, "alg": "HS256"})}, "alg 'HS256'"),
        ({"order_token_jwks": jwks({**EC_KEY, "alg": "none"})}, "alg 'none'"),
        ({"order_token_jwks": jwks({**EC_KEY, "crv": "P-384"})}, "P-256"),
        (
            {"order_token_jwks": jwks({"kty": "OKP", "kid": "o", "crv": "Ed25519", "x": "AAAA"})},
            "kty must be",
        ),
        ({"order_token_jwks": jwks(EC_KEY, EC_KEY)}, "distinct"),
        ({"order_token_jwks": jwks({**EC_KEY, "kid": ""})}, "distinct, non-empty kid"),
        ({"order_token_jwks": jwks({**RSA_KEY, "n": "x" + "A" * 170})}, "at least 2048 bits"),
        ({"order_token_jwks": jwks(*({**RSA_KEY, "kid": str(i)} for i in range(8)))}, "over 3072 bytes"),
        ({"order_token_issuer": ""}, "orderTokenIssuer"),
        ({"order_token_issuer": "https://auth example"}, "orderTokenIssuer"),
        ({"order_scope": "orders place"}, "orderScope"),
    ],
)
def test_order_token_config_refuses_secrets_private_keys_and_weak_algorithms(change, message):
    """Fix: the stack takes PUBLIC RS256/ES256 keys only (never oct/HS*, none, a private key), each
    with its kid, within Lambda's environment limit, and an issuer; the message names the key."""
    with pytest.raises(ConfigError, match=re.escape(message)):
        TradingConfig(**{**REQUIRED, **change})


def test_order_token_config_accepts_rsa_and_ec_public_keys():
    config = TradingConfig(**{**REQUIRED, "order_token_jwks": jwks(EC_KEY, RSA_KEY)})
    assert json.loads(config.order_token_keys) == {"keys": [EC_KEY, RSA_KEY]}
    assert " " not in config.order_token_keys  # compact: the same text in both regions


@pytest.mark.parametrize("key", ["orderTokenJwks", "orderTokenIssuer"])
def test_order_token_keys_are_required_and_named(key):
    values = {k.removeprefix("trading-dr:"): v for k, v in DEV.items() if k.startswith("trading-dr:")}
    del values[key]

    class Config:
        def get(self, name):
            return values.get(name)

        def get_int(self, name):
            return None

        def get_float(self, name):
            return None

    with pytest.raises(ConfigError, match=rf"{key}: required; set it with `pulumi config set {key}"):
        TradingConfig.from_pulumi(Config())
