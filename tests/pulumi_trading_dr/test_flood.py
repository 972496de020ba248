"""A flood of the unauthenticated GET /v1/health (README "A flood of GET /v1/health"): a WAF web ACL
per region on its stage, whose per-IP limit on the health route admits every legitimate caller,
and GET /health's own throttle bucket."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from pulumi_trading_dr.components.api import HEALTH_METHOD_PATH, HEALTH_PATH
from pulumi_trading_dr.components.waf import HealthCallers, health_rate_limit

REGIONS = {"primary": "us-east-1", "secondary": "us-west-2"}
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
FUNCTION = "aws:lambda/function:Function"
MARGIN = 2  # the limit is at least twice what every legitimate caller sends from one address


def rules(dr, role):
    acl = dr.named(WEB_ACL, f"waf-{role}-web-acl")
    return {rule["name"]: rule for rule in acl["inputs"]["rules"]}


def health_rule(dr, role):
    return rules(dr, role)["health-per-ip"]["statement"]["rateBasedStatement"]


def most_in(window: int, period: int) -> int:
    """Requests a caller sending one every ``period`` seconds can put in any ``window``."""
    return window // period + 1


def legitimate_calls(dr, role: str, window: int) -> tuple[int, int]:
    """(Route 53's checkers, everyone) calling this region's /health in one window, as if from one
    address: read from the deployed health checks, canary schedules and functions, not from waf.py."""
    from pulumi_trading_dr.timeline import _rate_seconds

    host = urlsplit(dr.outputs[f"{role}_api_endpoint"]).hostname
    checks = [
        c["inputs"] for c in dr.of_type("aws:route53/healthCheck:HealthCheck") if c["inputs"]["fqdn"] == host
    ]
    assert len(checks) == 2, "the traffic and the liveness check of this region's API"
    checkers = sum(most_in(window, int(check["requestInterval"])) for check in checks)
    canaries = sum(
        most_in(window, _rate_seconds(c["inputs"]["schedule"]["expression"]))
        for c in dr.of_type("aws:synthetics/canary:Canary")
        if urlsplit(c["inputs"]["runConfig"]["environmentVariables"].get("TARGET_URL", "")).hostname == host
    )
    retries = {
        c["inputs"]["functionName"]: int(c["inputs"].get("maximumRetryAttempts", 2))
        for c in dr.of_type("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
    }
    functions = sum(
        1 + retries.get(f["inputs"]["name"], 2) + 1  # an alarm's event, its retries, a person's command
        for f in dr.of_type(FUNCTION)
        if urlsplit(
            ((f["inputs"].get("environment") or {}).get("variables") or {}).get("TARGET_LIVENESS_URL", "")
        ).hostname
        == host
    )
    return checkers, checkers + canaries + functions


def test_each_stage_has_a_regional_web_acl_in_its_own_region(dr):
    """The fix: a WAFv2 regional web ACL per region, associated with that region's API stage
    (arn:aws:apigateway:<region>::/restapis/<id>/stages/<stage>)."""
    for role, region in REGIONS.items():
        acl = dr.named(WEB_ACL, f"waf-{role}-web-acl")
        association = dr.named("aws:wafv2/webAclAssociation:WebAclAssociation", f"waf-{role}-association")
        api = dr.named("aws:apigateway/restApi:RestApi", f"api-{role}-rest-api")
        stage = dr.named("aws:apigateway/stage:Stage", f"api-{role}-stage")
        assert acl["inputs"]["scope"] == "REGIONAL" and dr.region(acl) == dr.region(association) == region
        assert association["inputs"]["resourceArn"] == (
            f"arn:aws:apigateway:{region}::/restapis/{api['id']}/stages/{stage['inputs']['stageName']}"
        )
        assert association["inputs"]["webAclArn"].startswith(f"arn:aws:wafv2:{region}:")
        assert association["inputs"]["webAclArn"].endswith(f"/{acl['inputs']['name']}")
        assert stage["urn"] in association["dependencies"]
        assert acl["inputs"]["defaultAction"] == {"allow": {}}


@pytest.mark.catalogue("trading-dr-18")
def test_the_health_limit_admits_every_legitimate_caller_with_margin(dr):
    """The fix: the health rule's per-IP limit is above twice what Route 53's checkers, the canaries
    and the promote function send to the route in one window, all counted as one address. Changing
    the health checks' interval without the limit following it (or a literal limit) fails here."""
    for role in REGIONS:
        rule = health_rule(dr, role)
        window = int(rule["evaluationWindowSec"])
        assert window in (60, 120, 300, 600)  # WAF's evaluation windows
        checkers, everyone = legitimate_calls(dr, role, window)
        assert rule["limit"] >= MARGIN * everyone > MARGIN * checkers, role
        assert rule["limit"] >= 10  # WAF's minimum


@pytest.mark.parametrize("interval", [10, 30])  # Route 53's two request intervals
def test_the_limit_follows_the_health_check_interval(interval):
    """A faster health check raises the limit with it: the checkers are never the ones blocked."""
    callers = HealthCallers(
        route53_checks=2, check_interval_seconds=interval, canary_periods_seconds=(60, 300)
    )
    checkers = 2 * most_in(300, interval)
    assert health_rate_limit(callers, 300) >= MARGIN * (checkers + most_in(300, 60) + most_in(300, 300))


def test_the_health_limit_blocks_a_flood_from_few_addresses(dr):
    """What is left is a distributed flood: it needs more than a hundred addresses, each under its
    limit, to spend GET /health's throttle."""
    for role in REGIONS:
        rule = health_rule(dr, role)
        assert rule["aggregateKeyType"] == "IP" and "forwardedIpConfig" not in rule  # no header trusted
        assert rules(dr, role)["health-per-ip"]["action"] == {"block": {}}
        throttle = dr.named("aws:apigateway/methodSettings:MethodSettings", f"api-{role}-health-throttling")
        per_window = throttle["inputs"]["settings"]["throttlingRateLimit"] * int(rule["evaluationWindowSec"])
        assert per_window / rule["limit"] > 100, role


def test_the_health_rule_counts_every_path_the_callers_use(dr):
    """The scope-down matches the URI path (no query string) the checkers, canaries and functions
    call on the execute-api host (/v1/health) and clients on the custom domain (/health)."""
    paths = {HEALTH_PATH}  # the custom domain's base path mapping adds no prefix
    paths |= {
        check["inputs"]["resourcePath"].split("?")[0]
        for check in dr.of_type("aws:route53/healthCheck:HealthCheck")
    }
    for canary in dr.of_type("aws:synthetics/canary:Canary"):
        url = canary["inputs"]["runConfig"]["environmentVariables"].get("TARGET_URL")
        paths |= {urlsplit(url).path} if url else set()
    assert "/v1/health" in paths
    for role in REGIONS:
        match = health_rule(dr, role)["scopeDownStatement"]["byteMatchStatement"]
        assert match["fieldToMatch"] == {"uriPath": {}} and match["positionalConstraint"] == "ENDS_WITH"
        assert all(path.endswith(match["searchString"]) for path in paths)
        assert not "/orders".endswith(match["searchString"])


def test_the_rest_of_the_api_blocks_only_an_address_over_the_whole_stage(dr):
    """An address sending more than the stage may serve in the window is a flood, whoever it is;
    below that the stage's throttle decides, so no POST /orders client is blocked before it would be."""
    for role in REGIONS:
        rule = rules(dr, role)["api-per-ip"]
        statement = rule["statement"]["rateBasedStatement"]
        stage = dr.named("aws:apigateway/methodSettings:MethodSettings", f"api-{role}-throttling")["inputs"]
        assert "scopeDownStatement" not in statement and statement["aggregateKeyType"] == "IP"
        assert (
            statement["limit"] == stage["settings"]["throttlingRateLimit"] * statement["evaluationWindowSec"]
        )
        assert rule["action"] == {"block": {}}


@pytest.mark.catalogue("trading-dr-18")
def test_get_health_has_a_throttle_bucket_of_its_own(dr):
    """The fix: a method override for GET /health (path "health/GET": resource path without its
    leading slash, then the method; the stage is not part of it), so a flood of it cannot spend
    POST /orders' share; it keeps */*'s metrics and logging, which an override replaces."""
    assert HEALTH_METHOD_PATH == "health/GET"
    for role in REGIONS:
        health = dr.named("aws:apigateway/methodSettings:MethodSettings", f"api-{role}-health-throttling")[
            "inputs"
        ]
        default = dr.named("aws:apigateway/methodSettings:MethodSettings", f"api-{role}-throttling")["inputs"]
        assert health["methodPath"] == "health/GET" and default["methodPath"] == "*/*"
        assert (health["restApi"], health["stageName"]) == (default["restApi"], default["stageName"])
        assert health["settings"] == default["settings"]


def test_a_blocked_health_request_pages_in_its_region(dr):
    """WAF's BlockedRequests for the health rule (its metric name, the web ACL, the region) pages
    the region's topic: a flood is under way, or a legitimate checker is being blocked."""
    for role, region in REGIONS.items():
        acl = dr.named(WEB_ACL, f"waf-{role}-web-acl")["inputs"]
        metric = rules(dr, role)["health-per-ip"]["visibilityConfig"]
        alarm = dr.named("aws:cloudwatch/metricAlarm:MetricAlarm", f"monitoring-waf-health-blocked-{role}")
        assert metric["cloudwatchMetricsEnabled"] is True
        assert (alarm["inputs"]["namespace"], alarm["inputs"]["metricName"]) == (
            "AWS/WAFV2",
            "BlockedRequests",
        )
        assert alarm["inputs"]["dimensions"] == {
            "WebACL": acl["name"],
            "Region": region,
            "Rule": metric["metricName"],
        }
        assert dr.region(alarm) == region
        assert alarm["inputs"]["alarmActions"] == [
            f"arn:aws:sns:{region}:123456789012:trading-ops-dev-{role}"
        ]
