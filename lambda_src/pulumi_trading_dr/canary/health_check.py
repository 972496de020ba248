"""health_check: the CloudWatch Synthetics canary script for one region's API ``/health``.

A Python script for the Synthetics Python runtime (trading-dr-24: the runtime matches the script),
packaged as ``python/health_check.py`` with handler ``health_check.handler``. It is not one of our
Lambda functions (no index.py, no requirements.txt): it uses the standard library only, and the
Synthetics logger when the runtime provides it.

Two modes, by environment:

- ``TARGET_URL`` (the region's deep health route, ``/v1/health?role=any``): the API must answer
  HTTP 200 with JSON whose ``status`` is ``active`` or ``standby`` (alive in its role) and whose
  ``region`` is ``EXPECTED_REGION`` when that is set.
- ``VERDICT_NAME`` and ``HEALTHY_ADDRESS``: the name must resolve to ``HEALTHY_ADDRESS``, which is
  what Route 53 answers while its health checkers find the primary alive (the verdict record,
  pulumi_trading_dr/components/route53.py).

Anything else raises HealthCheckFailed, which is how a canary run fails. ``TIMEOUT_SECONDS``
(default 10) bounds the connection and every read.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

try:  # present on the Synthetics runtime only
    from aws_synthetics.common import synthetics_logger as logger
except ImportError:
    logger = logging.getLogger("health_check")

MAX_BODY_BYTES = 64 * 1024  # a health answer is tiny; never read an unbounded body
ALIVE = ("active", "standby")  # the statuses of a region alive in its role


class HealthCheckFailed(Exception):
    """The endpoint is not healthy; raised, it fails the canary run."""


def check(url: str, expected_region: str | None = None, timeout: float = 10.0) -> dict[str, Any]:
    """The endpoint's health answer, or HealthCheckFailed saying what was wrong."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise HealthCheckFailed(f"TARGET_URL must be an http(s) URL, got {url!r}")
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
        url, headers={"Accept": "application/json", "User-Agent": "trading-dr-health-canary"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status = response.status
            body = response.read(MAX_BODY_BYTES)
    except urllib.error.HTTPError as exc:  # 4xx/5xx
        raise HealthCheckFailed(f"GET {url}: HTTP {exc.code}, expected 200") from exc
    except TimeoutError as exc:  # socket.timeout is TimeoutError since Python 3.10
        raise HealthCheckFailed(f"GET {url}: no answer within {timeout} s") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            raise HealthCheckFailed(f"GET {url}: no connection within {timeout} s") from exc
        raise HealthCheckFailed(f"GET {url}: {reason}") from exc
    if status != 200:
        raise HealthCheckFailed(f"GET {url}: HTTP {status}, expected 200")
    try:
        answer = json.loads(body)
    except ValueError as exc:
        raise HealthCheckFailed(f"GET {url}: the body is not JSON: {body[:200]!r}") from exc
    if not isinstance(answer, dict) or answer.get("status") not in ALIVE:
        raise HealthCheckFailed(f"GET {url}: expected a status in {ALIVE}, got {str(answer)[:200]}")
    region = answer.get("region")
    if not isinstance(region, str) or not region:
        raise HealthCheckFailed(f"GET {url}: the answer names no region: {str(answer)[:200]}")
    if expected_region and region != expected_region:
        raise HealthCheckFailed(f"GET {url}: answered from {region}, expected {expected_region}")
    return answer


def check_verdict(name: str, healthy_address: str) -> list[str]:
    """The addresses ``name`` resolves to; HealthCheckFailed unless exactly ``healthy_address``."""
    try:
        answers = sorted({info[4][0] for info in socket.getaddrinfo(name, 443, socket.AF_INET)})
    except OSError as exc:
        raise HealthCheckFailed(f"resolve {name}: {exc}") from exc
    if answers != [healthy_address]:
        raise HealthCheckFailed(
            f"resolve {name}: {answers}, expected [{healthy_address}] (Route 53's verdict)"
        )
    return answers


def handler(event: Any = None, context: Any = None) -> str:
    timeout = float(os.environ.get("TIMEOUT_SECONDS") or 10)
    try:
        if os.environ.get("VERDICT_NAME"):
            name = os.environ["VERDICT_NAME"]
            check_verdict(name, os.environ["HEALTHY_ADDRESS"])
            message = f"Route 53 finds the primary alive ({name})"
        else:
            url = os.environ["TARGET_URL"]
            answer = check(url, os.environ.get("EXPECTED_REGION") or None, timeout)
            message = f"{url} is {answer['status']} in {answer['region']}"
    except HealthCheckFailed as exc:
        logger.error(f"health check failed: {exc}")
        raise
    logger.info(message)
    return message
