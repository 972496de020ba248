"""The example values this repository commits so that a plain synth works, recognised wherever
they are left: an address or a name under a domain reserved for examples (RFC 2606, RFC 6761), a
hosted zone id that says EXAMPLE, the example token keys of the trading DR stack. A deploy with
one of them fails late (an id no account has) or quietly (an alarm e-mailed to nobody)."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

# RFC 2606: example.com/.net/.org and the TLDs .example, .test, .invalid; RFC 6761: .localhost.
RESERVED_DOMAINS = ("example.com", "example.net", "example.org")
RESERVED_TLDS = ("example", "test", "invalid", "localhost")
# The public key of pulumi_trading_dr/Pulumi.dev.yaml's example JWKS (its private half was
# discarded when it was made): whatever its kid is renamed to, it signs no token anyone holds.
EXAMPLE_TOKEN_KEYS = frozenset({"RxbWaehICdkZtdyfT-E2_F6_v8P4DaVU0xvZCMhjOC4"})


def example_domain(name: str) -> bool:
    name = name.strip().rstrip(".").lower()
    labels = name.split(".")
    return labels[-1] in RESERVED_TLDS or any(
        name == domain or name.endswith(f".{domain}") for domain in RESERVED_DOMAINS
    )


def example_email(address: str) -> bool:
    return example_domain(address.rpartition("@")[2])


def example_url(url: str) -> bool:
    return example_domain(urlsplit(url).hostname or url)


def example_hosted_zone(zone_id: str) -> bool:
    return "EXAMPLE" in zone_id.upper()


def example_jwks(text: str) -> bool:
    """A JWKS whose keys include the committed example or a key whose kid says it is one."""
    try:
        keys = json.loads(text).get("keys") or []
    except (ValueError, AttributeError):
        return False  # malformed: the stack's own config check says so
    return any(
        isinstance(key, dict)
        and (
            "example" in str(key.get("kid", "")).lower()
            or bool({key.get("x"), key.get("n")} & EXAMPLE_TOKEN_KEYS)
        )
        for key in keys
    )


KINDS = {
    "email": (example_email, "an address at a domain reserved for examples"),
    "domain": (example_domain, "a name under a domain reserved for examples"),
    "url": (example_url, "a URL under a domain reserved for examples"),
    "hosted_zone": (example_hosted_zone, "the example hosted zone id, which no account has"),
    "jwks": (example_jwks, "the example keys: no token signed for them exists"),
}


def why_example(kind: str, value: str) -> str | None:
    """Why ``value`` (a setting of this ``kind``) is an example, or None when it is not one."""
    test, reason = KINDS[kind]
    return reason if value and test(value) else None


def shown(value: str, limit: int = 60) -> str:
    """A value as a report line shows it: one line, at most ``limit`` characters."""
    value = re.sub(r"\s+", " ", value)
    return value if len(value) <= limit else value[: limit - 3] + "..."
