"""WAF, in both regions: a regional web ACL on each API stage, so that a flood of the
unauthenticated ``GET /v1/health`` from a few addresses cannot take the answers of Route 53's
checkers and the canaries with it (both failover signals failing at once, README "A flood of GET
/v1/health").

Two rate-based rules, per client IP (the address the request comes from; no forwarded header is
trusted), over ``WINDOW_SECONDS``, blocking the requests above the limit:

- ``health-per-ip``, scoped down to a URI path ending in ``/health`` (``/v1/health`` on the
  execute-api host, which the checkers and canaries call; ``/health`` on the custom domain, whose
  base path mapping has no prefix; the query string is not part of the path). Its limit is derived
  from who legitimately calls the route (``health_rate_limit``): Route 53's health checks of this
  region's API (each checker sends each check once per interval), the canaries that call it (their
  schedules), the promote function's own check (an alarm's event and its retries, and a person's
  command), all summed as if they came from ONE address (the worst case; Route 53's checkers and
  Lambda's addresses are shared by many), times ``HEALTH_MARGIN`` (WAF counts approximately), and
  never below WAF's minimum. A flooding address is blocked within WAF's own check cadence.
- ``api-per-ip``, every request: an address sending more than the whole stage may serve over the
  window (``apiRateLimit`` x the window) is a flood whoever it is; below that, the stage's throttle
  decides as before. POST /orders clients are never blocked before the throttle would refuse them.

Both rules publish WAF's CloudWatch metrics (``AWS/WAFV2``, dimension ``Rule`` = the rule's metric
name) and sampled requests; monitoring.py alarms on the health rule's ``BlockedRequests``. No WAF
logging: neither the policy suite nor the scanners ask for it, the sampled requests name the
blocked addresses, and the stage's access logs record every answer (README).

What is left: a flood spread over more addresses than ``apiRateLimit`` x window / the health limit
(each under its limit) still spends GET /health's throttle (api.py gives it a bucket of its own, so
POST /orders keeps its share)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from pulumi_trading_dr.components.api import HEALTH_PATH, Api
from pulumi_trading_dr.components.failover import ASYNC_RETRIES
from pulumi_trading_dr.components.region import Region, Regions
from pulumi_trading_dr.components.route53 import HEALTH_CHECK_INTERVAL, Route53
from pulumi_trading_dr.components.synthetics import Synthetics
from pulumi_trading_dr.config import TradingConfig

# WAF's evaluation windows are 60, 120, 300 or 600 s; the longest but one evens out the checkers'
# uncoordinated timing (Route 53: "several requests per second ... then a few seconds with none").
WINDOW_SECONDS = 300
WAF_MIN_LIMIT = 10  # the lowest limit a rate-based rule takes
HEALTH_MARGIN = 2  # WAF rate-limits "near" the limit, not exactly at it
# The promote function checks its region's health once a run: the quorum alarm's event and its
# asynchronous retries, and a person's `make failover` on top.
FUNCTION_CALLS = 1 + ASYNC_RETRIES + 1
HEALTH_RULE, API_RULE = "health-per-ip", "api-per-ip"


def requests_in_window(period_seconds: int, window_seconds: int = WINDOW_SECONDS) -> int:
    """The most requests a caller sending one every ``period_seconds`` puts in any window."""
    return window_seconds // period_seconds + 1


@dataclass(frozen=True)
class HealthCallers:
    """Who calls one region's GET /health legitimately, and how often."""

    route53_checks: int  # Route 53 health checks of this region's API
    check_interval_seconds: int  # each checker sends each check once per interval
    canary_periods_seconds: tuple[int, ...]  # the canaries that call it
    function_calls: int = FUNCTION_CALLS

    def per_window(self, window_seconds: int = WINDOW_SECONDS) -> int:
        """All of them as if from one address, in one window: the worst case a limit must admit."""
        checkers = self.route53_checks * requests_in_window(self.check_interval_seconds, window_seconds)
        canaries = sum(requests_in_window(period, window_seconds) for period in self.canary_periods_seconds)
        return checkers + canaries + self.function_calls


def health_rate_limit(callers: HealthCallers, window_seconds: int = WINDOW_SECONDS) -> int:
    """The health rule's limit per address and window: the legitimate callers' worst case, with margin."""
    return max(WAF_MIN_LIMIT, HEALTH_MARGIN * callers.per_window(window_seconds))


def api_rate_limit(config: TradingConfig, window_seconds: int = WINDOW_SECONDS) -> int:
    """More than the whole stage may serve in the window, from one address: a flood, whoever sends it."""
    return config.api_rate_limit * window_seconds


@dataclass(frozen=True)
class WafArgs:
    config: TradingConfig
    regions: Regions
    api: Api
    route53: Route53
    synthetics: Synthetics


@dataclass(frozen=True)
class RegionalWaf:
    web_acl: aws.wafv2.WebAcl
    health_limit: int

    @property
    def health_metric(self) -> str:
        """The ``Rule`` dimension of the health rule's metrics (its visibility config's name)."""
        return HEALTH_RULE


def _visibility(metric: str) -> dict:
    return {"cloudwatch_metrics_enabled": True, "metric_name": metric, "sampled_requests_enabled": True}


def _rate_rule(name: str, priority: int, limit: int, scope_down: dict | None = None) -> dict:
    statement = {"limit": limit, "aggregate_key_type": "IP", "evaluation_window_sec": WINDOW_SECONDS}
    if scope_down:
        statement["scope_down_statement"] = scope_down
    return {
        "name": name,
        "priority": priority,
        "action": {"block": {}},
        "statement": {"rate_based_statement": statement},
        "visibility_config": _visibility(name),
    }


class Waf(pulumi.ComponentResource):
    def __init__(self, name: str, args: WafArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trading:waf:Waf", name, None, opts)
        self._name, self._args = name, args
        self.regional = {region.role: self._region(region) for region in args.regions}
        self.register_outputs({role: waf.web_acl.arn for role, waf in self.regional.items()})

    def of(self, region: Region) -> RegionalWaf:
        return self.regional[region.role]

    def callers(self, region: Region) -> HealthCallers:
        synthetics = self._args.synthetics
        return HealthCallers(
            route53_checks=len(self._args.route53.health_checks(region)),
            check_interval_seconds=HEALTH_CHECK_INTERVAL,
            canary_periods_seconds=tuple(
                synthetics.rate_minutes(probe) * 60 for probe in synthetics.callers_of(region)
            ),
        )

    def _region(self, region: Region) -> RegionalWaf:
        config, child = self._args.config, region.opts(self)
        prefix, acl_name = f"{self._name}-{region.role}", config.name("api", region.settings)
        health_limit = health_rate_limit(self.callers(region))
        health_path = {
            "byte_match_statement": {
                "field_to_match": {"uri_path": {}},
                "positional_constraint": "ENDS_WITH",
                "search_string": HEALTH_PATH,
                "text_transformations": [{"priority": 0, "type": "URL_DECODE"}],
            }
        }
        web_acl = aws.wafv2.WebAcl(
            f"{prefix}-web-acl",
            name=acl_name,
            description=f"Per-IP rate limits on the trading API ({region.role} region)",
            scope="REGIONAL",
            default_action={"allow": {}},
            rules=[
                _rate_rule(HEALTH_RULE, 0, health_limit, health_path),
                _rate_rule(API_RULE, 1, api_rate_limit(config)),
            ],
            visibility_config=_visibility(acl_name),
            opts=child,
        )
        api = self._args.api.of(region)
        aws.wafv2.WebAclAssociation(
            f"{prefix}-association",
            # A REST API stage: arn:aws:apigateway:<region>::/restapis/<id>/stages/<stage>.
            resource_arn=pulumi.Output.concat(
                "arn:aws:apigateway:",
                region.name,
                "::/restapis/",
                api.rest_api.id,
                "/stages/",
                api.stage.stage_name,
            ),
            web_acl_arn=web_acl.arn,
            opts=child,  # after the stage: its name is an input (WAF attaches to a stage that exists)
        )
        return RegionalWaf(web_acl=web_acl, health_limit=health_limit)
