"""authorizer: the Lambda TOKEN authorizer of ``POST /orders``, the same in both regions.

Clients send ``Authorization: Bearer <JWT>``. A SigV4 signature names one region, so after a
failover moved DNS every signed request was refused; a token names the API's public name
(``aud``), which both regions share, and both regions trust the same public keys, so a token
issued once is accepted by whichever region answers (README "Clients after a failover").

The token is verified with PyJWT against the PUBLIC keys given to the stack (no network fetch at
run time, no secret anywhere): the header's ``alg`` must be RS256 or ES256 and equal to the
algorithm of the key its ``kid`` names (never ``none``, never HS*: a public key used as an HMAC
secret is the classic confusion attack); the signature; ``exp`` (required), ``nbf`` and ``iat``
with LEEWAY_SECONDS of clock skew; ``iss``; ``aud`` = the API's public name; ``sub`` (required,
the principal). Placing an order needs ORDER_SCOPE among the space-separated ``scope``
claim (RFC 9068's access-token claim).

API Gateway's TOKEN authorizer contract: an error whose message is exactly "Unauthorized" is a
401; a policy is evaluated (a Deny is a 403); any other error is a 500. So:
- no token, a malformed one, a bad signature, an unknown key, wrong iss/aud, expired or not yet
  valid: ``Unauthorized`` raised (401: the caller is not authenticated), never a 500;
- an authentic token without the scope: a Deny policy (403: authenticated, not allowed);
- otherwise an Allow of ``execute-api:Invoke`` on ``POST /orders`` of the calling API and stage
  only (taken from ``methodArn``), with ``sub`` as principalId and in the context.

Environment: ORDER_TOKEN_JWKS (a JWKS, JSON), ORDER_TOKEN_ISSUER, ORDER_TOKEN_AUDIENCE,
ORDER_SCOPE, ENVIRONMENT. The function stays light (no layer, no Powertools: it sits on the
request path of every uncached order) and logs refusals with their reason, never the token.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt

logger = logging.getLogger("authorizer")
logger.setLevel(logging.INFO)

# The only algorithms a key of each type verifies here; asymmetric only.
KEY_ALGORITHMS = {"RSA": "RS256", "EC": "ES256"}
ALGORITHMS = frozenset(KEY_ALGORITHMS.values())
PRIVATE_KEY_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
LEEWAY_SECONDS = 30  # clock skew between the issuer and Lambda
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub")
# What API Gateway matches to answer 401 (the message, exactly).
UNAUTHORIZED = "Unauthorized"
BEARER = re.compile(r"[Bb]earer [A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
# arn:<partition>:execute-api:<region>:<account>:<api id>/<stage>/<verb>/<path>
METHOD_ARN = re.compile(
    r"arn:(aws[a-z-]*):execute-api:([a-z0-9-]+):(\d{12}):([A-Za-z0-9]+)/([A-Za-z0-9_-]+)/([A-Z*]+)/(.*)"
)
# The one route this authorizer guards, and the only one its policy allows.
ROUTE = ("POST", "orders")


class Unauthorized(Exception):
    """Raised for any request whose caller is not authenticated: API Gateway answers 401."""

    def __init__(self, reason: str) -> None:
        super().__init__(UNAUTHORIZED)  # the message API Gateway matches; the reason is only logged
        self.reason = reason


class ConfigurationError(ValueError):
    """The function's environment is unusable (the stack validates it first; this is a backstop)."""


@dataclass(frozen=True)
class Settings:
    keys: Mapping[str, jwt.PyJWK]  # by kid
    issuer: str
    audience: str
    scope: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        try:
            issuer, audience = env["ORDER_TOKEN_ISSUER"], env["ORDER_TOKEN_AUDIENCE"]
            return cls(
                keys=load_keys(env["ORDER_TOKEN_JWKS"]),
                issuer=issuer,
                audience=audience,
                scope=env.get("ORDER_SCOPE", "orders:place"),
            )
        except KeyError as exc:
            raise ConfigurationError(f"{exc.args[0]} is not set") from None


def load_keys(jwks_json: str) -> dict[str, jwt.PyJWK]:
    """The JWKS's keys by kid: RSA as RS256, EC P-256 as ES256, public halves only. PyJWT's own
    PyJWKSet would skip unusable keys silently and accept an ``oct`` (HMAC) key: not here."""
    try:
        entries = json.loads(jwks_json)["keys"]
    except (ValueError, TypeError, KeyError) as exc:
        raise ConfigurationError(f"ORDER_TOKEN_JWKS is not a JWKS: {exc}") from None
    keys: dict[str, jwt.PyJWK] = {}
    for entry in entries if isinstance(entries, list) else [None]:
        if not isinstance(entry, dict):
            raise ConfigurationError("ORDER_TOKEN_JWKS: every key must be a JWK object")
        kid, kty = entry.get("kid"), entry.get("kty")
        algorithm = KEY_ALGORITHMS.get(kty) if isinstance(kty, str) else None
        if not isinstance(kid, str) or not kid or kid in keys:
            raise ConfigurationError("ORDER_TOKEN_JWKS: every key needs a distinct kid")
        if algorithm is None or entry.get("alg", algorithm) != algorithm:
            raise ConfigurationError(f"ORDER_TOKEN_JWKS: key {kid!r} is not an RS256 or ES256 key")
        if PRIVATE_KEY_MEMBERS & set(entry):
            raise ConfigurationError(f"ORDER_TOKEN_JWKS: key {kid!r} carries private material")
        if kty == "EC" and entry.get("crv") != "P-256":
            raise ConfigurationError(f"ORDER_TOKEN_JWKS: key {kid!r} is not on P-256")
        try:
            keys[kid] = jwt.PyJWK(entry, algorithm=algorithm)
        except jwt.PyJWTError as exc:
            raise ConfigurationError(f"ORDER_TOKEN_JWKS: key {kid!r}: {exc}") from None
    return keys


@dataclass(frozen=True)
class MethodArn:
    partition: str
    region: str
    account: str
    api_id: str
    stage: str

    @classmethod
    def parse(cls, value: Any) -> MethodArn:
        match = METHOD_ARN.fullmatch(value) if isinstance(value, str) else None
        if not match:
            raise Unauthorized("the event has no method ARN of an API Gateway REST API")
        return cls(*match.group(1, 2, 3, 4, 5))

    def orders(self) -> str:
        """``POST /orders`` of this API and stage, and nothing else."""
        verb, path = ROUTE
        return (
            f"arn:{self.partition}:execute-api:{self.region}:{self.account}:"
            f"{self.api_id}/{self.stage}/{verb}/{path}"
        )


def bearer_token(header: Any) -> str:
    """The JWT of an ``Authorization: Bearer <JWT>`` header; Unauthorized for anything else."""
    if not isinstance(header, str) or not BEARER.fullmatch(header):
        raise Unauthorized("no bearer token")
    return header.split(" ", 1)[1]


def verify(token: str, settings: Settings) -> dict[str, Any]:
    """The claims of a token signed by a configured key and valid for this API now; Unauthorized
    otherwise (whatever PyJWT or the token's shape raises)."""
    try:
        header = jwt.get_unverified_header(token)
        algorithm, kid = header.get("alg"), header.get("kid")
        if algorithm not in ALGORITHMS:
            raise Unauthorized(f"algorithm {algorithm!r} is not accepted")
        key = settings.keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise Unauthorized(f"unknown kid {kid!r}")
        if key.algorithm_name != algorithm:
            raise Unauthorized(f"kid {kid!r} signs {key.algorithm_name}, the token says {algorithm}")
        claims = jwt.decode(
            token,
            key=key,
            algorithms=[key.algorithm_name],
            audience=settings.audience,
            issuer=settings.issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": list(REQUIRED_CLAIMS)},
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"{type(exc).__name__}: {exc}") from None
    except (ValueError, TypeError, AttributeError) as exc:  # a token shaped like no JWT at all
        raise Unauthorized(f"malformed token ({type(exc).__name__})") from None
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise Unauthorized("sub must be a non-empty string")
    return claims


def scopes(claims: Mapping[str, Any]) -> frozenset[str]:
    scope = claims.get("scope")
    return frozenset(scope.split()) if isinstance(scope, str) else frozenset()


def policy(principal: str, effect: str, resource: str) -> dict[str, Any]:
    return {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
        "context": {"sub": principal},
    }


def authorize(event: Any, settings: Settings) -> dict[str, Any]:
    """The policy for one TOKEN authorizer event; raises Unauthorized (401) when unauthenticated."""
    if not isinstance(event, Mapping):
        raise Unauthorized("the event is not an object")
    resource = MethodArn.parse(event.get("methodArn")).orders()
    claims = verify(bearer_token(event.get("authorizationToken")), settings)
    if settings.scope not in scopes(claims):
        logger.info("denied sub=%r: scope %r missing", claims["sub"], settings.scope)
        return policy(claims["sub"], "Deny", resource)
    logger.info("allowed sub=%r on %s", claims["sub"], resource)
    return policy(claims["sub"], "Allow", resource)


_settings: Settings | None = None


def _default_settings() -> Settings:
    global _settings
    if _settings is None:
        _settings = Settings.from_env(os.environ)
    return _settings


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        return authorize(event, _default_settings())
    except Unauthorized as exc:
        logger.info("unauthorized: %s", exc.reason)
        raise
