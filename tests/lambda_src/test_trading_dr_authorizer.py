"""The trading DR orders authorizer: a JWT bearer token verified against the same public keys in
both regions (README "Clients after a failover"). Tokens are signed here with key pairs made for
the test run; the function only ever sees their public halves."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from lambda_src.pulumi_trading_dr.authorizer import index as auth
from tests.lambda_src.conftest import LambdaContext

ISSUER = "https://auth.trading-dev.example.com/"
AUDIENCE = "api.trading-dev.example.com"  # the API's public name: the same in both regions
SCOPE = "orders:place"
ACCOUNT = "123456789012"
# One API per region (different ids), the same stage and route: what API Gateway sends each authorizer.
METHOD_ARNS = {
    "us-east-1": f"arn:aws:execute-api:us-east-1:{ACCOUNT}:a1b2c3d4e5/v1/POST/orders",
    "us-west-2": f"arn:aws:execute-api:us-west-2:{ACCOUNT}:f6g7h8i9j0/v1/POST/orders",
}
EAST = METHOD_ARNS["us-east-1"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def signers():
    """kid -> (private key, algorithm): one RSA and one EC P-256 key, made for this module."""
    return {
        "rsa-1": (rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256"),
        "ec-1": (ec.generate_private_key(ec.SECP256R1()), "ES256"),
    }


@pytest.fixture(scope="module")
def jwks(signers):
    keys = []
    for kid, (private, algorithm) in signers.items():
        to_jwk = RSAAlgorithm.to_jwk if algorithm == "RS256" else ECAlgorithm.to_jwk
        keys.append(
            {**to_jwk(private.public_key(), as_dict=True), "kid": kid, "alg": algorithm, "use": "sig"}
        )
    return json.dumps({"keys": keys})


@pytest.fixture(scope="module")
def env(jwks):
    """The environment the stack gives the authorizer, identical in both regions."""
    return {
        "ORDER_TOKEN_JWKS": jwks,
        "ORDER_TOKEN_ISSUER": ISSUER,
        "ORDER_TOKEN_AUDIENCE": AUDIENCE,
        "ORDER_SCOPE": SCOPE,
        "ENVIRONMENT": "dev",
    }


@pytest.fixture(scope="module")
def settings(env):
    return auth.Settings.from_env(env)


def claims(**changes):
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "client-42",
        "scope": f"orders:read {SCOPE}",
        "iat": now,
        "exp": now + 300,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def sign(signers, kid="ec-1", headers=None, **changes):
    private, algorithm = signers[kid]
    return jwt.encode(
        claims(**changes), private, algorithm=algorithm, headers={"kid": kid, **(headers or {})}
    )


def event(token, method_arn=EAST, scheme="Bearer"):
    return {"type": "TOKEN", "authorizationToken": f"{scheme} {token}", "methodArn": method_arn}


def invoke(monkeypatch, settings, payload):
    """Through the handler, as Lambda calls it."""
    monkeypatch.setattr(auth, "_settings", settings)
    return auth.handler(payload, LambdaContext())


def refused(monkeypatch, settings, payload):
    with pytest.raises(auth.Unauthorized) as caught:
        invoke(monkeypatch, settings, payload)
    # API Gateway answers 401 only for this exact message; anything else would be a 500.
    assert str(caught.value) == "Unauthorized"
    return caught.value.reason


@pytest.mark.parametrize("kid", ["ec-1", "rsa-1"])
def test_a_token_signed_once_is_accepted_by_the_authorizer_of_either_region(monkeypatch, env, signers, kid):
    """Fix: a token is scoped to the API's public name, not to a region: the token a client got
    before the failover is accepted by us-east-1's and by us-west-2's authorizer, each built from
    the same configuration (a SigV4 signature for us-east-1 got 403 in us-west-2)."""
    token = sign(signers, kid)
    for region, method_arn in METHOD_ARNS.items():
        regional = auth.Settings.from_env(dict(env))  # each region's function, from the same config
        result = invoke(monkeypatch, regional, event(token, method_arn))
        (statement,) = result["policyDocument"]["Statement"]
        assert statement == {
            "Action": "execute-api:Invoke",
            "Effect": "Allow",
            "Resource": method_arn,  # POST /orders of the calling API and stage, in its region
        }, region
        assert result["principalId"] == "client-42" and result["context"] == {"sub": "client-42"}


def test_the_policy_allows_post_orders_of_the_calling_api_only(monkeypatch, settings, signers):
    """Fix: whatever method the authorizer is asked about, the (cached) policy names POST /orders of
    that API and stage only, never a wildcard."""
    health = f"arn:aws:execute-api:us-west-2:{ACCOUNT}:f6g7h8i9j0/v1/GET/health"
    result = invoke(monkeypatch, settings, event(sign(signers), health))
    (statement,) = result["policyDocument"]["Statement"]
    assert statement["Resource"] == METHOD_ARNS["us-west-2"]
    assert "*" not in json.dumps(result["policyDocument"])


def test_a_token_within_the_leeway_is_accepted(monkeypatch, settings, signers):
    """Fix: a few seconds of clock skew between issuer and Lambda do not refuse a fresh token."""
    now = int(time.time())
    token = sign(signers, exp=now - 5, iat=now + 5, nbf=now + 5)
    assert invoke(monkeypatch, settings, event(token))["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert auth.LEEWAY_SECONDS <= 60


def _tamper(token: str) -> str:
    header, payload, signature = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=="))
    body["sub"] = "someone-else"
    return ".".join([header, _b64(json.dumps(body).encode()), signature])


def _unsigned(signers) -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": "ec-1"}).encode())
    return f"{header}.{_b64(json.dumps(claims()).encode())}."


def _hs256_with_the_public_key(signers, kid: str) -> str:
    """The classic confusion: HS256, keyed with the verifier's PUBLIC key (PEM), which anyone has."""
    public_pem = (
        signers[kid][0]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    signing_input = ".".join(
        [
            _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode()),
            _b64(json.dumps(claims()).encode()),
        ]
    )
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


def _forged(kid: str) -> str:
    """Signed by a key the stack does not trust, under a kid it does."""
    stranger = ec.generate_private_key(ec.SECP256R1())
    return jwt.encode(claims(), stranger, algorithm="ES256", headers={"kid": kid})


REFUSED = {
    "expired": lambda s: sign(s, exp=int(time.time()) - 120),
    "not yet valid (nbf)": lambda s: sign(s, nbf=int(time.time()) + 120),
    "issued in the future (iat)": lambda s: sign(s, iat=int(time.time()) + 120),
    "wrong issuer": lambda s: sign(s, iss="https://evil.example.com/"),
    "wrong audience": lambda s: sign(s, aud="someone-else.example.com"),
    # A region's own host is not the audience: a token must not be bound to one region.
    "audience of one region's host": lambda s: sign(s, aud="a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"),
    "unknown kid": lambda s: sign(s, headers={"kid": "rotated-away"}),
    "no kid": lambda s: jwt.encode(claims(), s["ec-1"][0], algorithm="ES256"),
    "alg none": _unsigned,
    "HS256 keyed with the RSA public key": lambda s: _hs256_with_the_public_key(s, "rsa-1"),
    "HS256 keyed with the EC public key": lambda s: _hs256_with_the_public_key(s, "ec-1"),
    "tampered payload": lambda s: _tamper(sign(s)),
    "signed by an untrusted key under a trusted kid": lambda s: _forged("ec-1"),
    # The RSA key's kid with an ES256 signature: the key decides the algorithm, not the header.
    "algorithm other than the key's": lambda s: jwt.encode(
        claims(), s["ec-1"][0], algorithm="ES256", headers={"kid": "rsa-1"}
    ),
    "no exp": lambda s: sign(s, exp=None),
    "no sub": lambda s: sign(s, sub=None),
    "empty sub": lambda s: sign(s, sub=""),
    "no iat": lambda s: sign(s, iat=None),
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_an_unauthentic_or_invalid_token_is_unauthorized(monkeypatch, settings, signers, case):
    """Fix: every token that is not signed by a configured key for this API, now, is refused with
    API Gateway's 401 ("Unauthorized"): expired, not yet valid, wrong iss/aud, unknown kid, alg
    none, HS256 keyed with the public key, a tampered payload."""
    reason = refused(monkeypatch, settings, event(REFUSED[case](signers)))
    assert reason  # logged, never sent to the client


def test_an_authentic_token_without_the_order_scope_is_denied(monkeypatch, settings, signers):
    """Fix: authenticated but not allowed to place orders is a Deny policy (403), for that client
    (principalId) and POST /orders only."""
    for scope in ("orders:read", None, "orders:placed", "ORDERS:PLACE"):
        result = invoke(monkeypatch, settings, event(sign(signers, scope=scope)))
        (statement,) = result["policyDocument"]["Statement"]
        assert statement == {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": EAST}, scope
        assert result["principalId"] == "client-42"


MALFORMED = {
    "no header": None,
    "empty": "",
    "scheme only": "Bearer",
    "scheme and space": "Bearer ",
    "basic": "Basic dXNlcjpwYXNz",
    "no scheme": "eyJhbGciOiJFUzI1NiJ9.e30.c2ln",
    "two segments": "Bearer a.b",
    "four segments": "Bearer a.b.c.d",
    "not base64url": "Bearer !!!.###.$$$",
    "segments of garbage": "Bearer a.b.c",
    "header not JSON": f"Bearer {_b64(b'not json')}.{_b64(b'{}')}.{_b64(b'sig')}",
    "header a JSON list": f"Bearer {_b64(b'[1,2]')}.{_b64(b'{}')}.{_b64(b'sig')}",
    "a number": 12345,
    "an object": {"token": "x"},
    "trailing newline": "Bearer a.b.c\n",
    "huge": "Bearer " + "a" * 20000 + ".b.c",
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_a_malformed_authorization_header_is_unauthorized_never_a_500(monkeypatch, settings, case):
    """Fix: a malformed header ends in "Unauthorized" (401), never in another error, which API
    Gateway would answer with a 500."""
    payload = {"type": "TOKEN", "authorizationToken": MALFORMED[case], "methodArn": EAST}
    refused(monkeypatch, settings, payload)


def test_a_header_whose_parts_are_json_but_no_jwt_is_unauthorized(monkeypatch, settings):
    """Fix: a JWS whose payload is no claims object, or whose header fields have the wrong JSON
    types (an unhashable alg), is a 401 too, not an error that escapes as a 500."""
    header = _b64(json.dumps({"alg": "ES256", "kid": "ec-1"}).encode())
    for payload in (b"[1]", b'"text"', b"null", b"{"):
        token = f"{header}.{_b64(payload)}.{_b64(b'x' * 64)}"
        refused(monkeypatch, settings, event(token))
    for fields in (
        {"alg": ["ES256"], "kid": "ec-1"},
        {"alg": {"ES256": 1}},
        {"alg": "ES256", "kid": ["ec-1"]},
    ):
        token = f"{_b64(json.dumps(fields).encode())}.{_b64(json.dumps(claims()).encode())}.{_b64(b'x' * 64)}"
        refused(monkeypatch, settings, event(token))


@pytest.mark.parametrize(
    "payload",
    [{}, None, [], {"authorizationToken": "Bearer a.b.c"}, {"methodArn": "arn:aws:s3:::bucket"}],
    ids=["empty", "null", "list", "no methodArn", "not an execute-api ARN"],
)
def test_a_malformed_event_is_unauthorized(monkeypatch, settings, payload):
    refused(monkeypatch, settings, payload)


def test_the_scheme_is_case_insensitive_as_rfc_6750_reads_rfc_7235(monkeypatch, settings, signers):
    result = invoke(monkeypatch, settings, event(sign(signers), scheme="bearer"))
    assert result["policyDocument"]["Statement"][0]["Effect"] == "Allow"


def _rsa_jwk(signers, private=False, **extra):
    key = signers["rsa-1"][0]
    return {**RSAAlgorithm.to_jwk(key if private else key.public_key(), as_dict=True), **extra}


BAD_KEYS = {
    "an HMAC secret (oct)": lambda s: {"kty": "oct", "kid": "s", "k": "c2VjcmV0"},
    "a private RSA key": lambda s: _rsa_jwk(s, private=True, kid="r"),
    "an EC key not on P-256": lambda s: {
        **ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP384R1()).public_key(), as_dict=True),
        "kid": "e",
    },
    "no kid": lambda s: _rsa_jwk(s),
    "HS256 declared on an RSA key": lambda s: _rsa_jwk(s, kid="r", alg="HS256"),
}


@pytest.mark.parametrize("case", BAD_KEYS, ids=list(BAD_KEYS))
def test_the_function_refuses_keys_it_must_never_trust(signers, case):
    """Fix (a backstop; the stack's config refuses these first): a secret, a private key or an
    algorithm other than RS256/ES256 never becomes a verification key."""
    with pytest.raises(auth.ConfigurationError):
        auth.load_keys(json.dumps({"keys": [BAD_KEYS[case](signers)]}))


def test_the_function_builds_nothing_per_invocation(monkeypatch, settings, signers):
    """The keys are parsed once per container (Settings), not per request."""
    monkeypatch.setattr(auth, "_settings", None)
    monkeypatch.setattr(auth.Settings, "from_env", classmethod(lambda cls, env: settings))
    token = sign(signers)
    first = auth.handler(event(token), LambdaContext())
    assert auth._settings is settings
    assert auth.handler(event(token), LambdaContext()) == first
