"""API Gateway stages: access logs and throttling."""

from __future__ import annotations

import json
from typing import Any

from policies.model import MISSING, Document, Resource, Severity, Unresolved, as_list, computed, present
from policies.rules import fail, ok, rule, unknown

STAGES = ("apigw.stage", "apigwv2.stage", "apigw.deployment")


def _stages(document: Document) -> list[Resource]:
    """Stages, and deployments that create one implicitly (``stage_name`` on the deployment)."""
    return [
        r
        for r in document.of(*STAGES)
        if not r.is_("apigw.deployment") or r.get("stage_name") not in (MISSING, None, "")
    ]


@rule(
    "api-access-logs",
    title="every API stage writes access logs",
    rationale="Access logs are the only record of what API Gateway answered before any backend ran (WAF, "
    "throttling, auth).",
    severity=Severity.MEDIUM,
    catalogue=("fraud-19", "trading-dr-17", "fraud-18"),
)
def api_access_logs(document: Document):
    for stage in _stages(document):
        if stage.is_("apigw.deployment"):
            setting = stage.get("stage_description.access_log_setting")
            if setting is MISSING:
                yield fail(stage, "an implicit stage (stage_name on the deployment) without access logs")
                continue
        else:
            setting = stage.get("access_log_setting", "access_log_settings")
        destination = (
            MISSING
            if setting is MISSING
            else stage.get(
                "access_log_setting.destination_arn",
                "access_log_settings.destination_arn",
                "stage_description.access_log_setting.destination_arn",
            )
        )
        log_format = stage.get(
            "access_log_setting.format",
            "access_log_settings.format",
            "stage_description.access_log_setting.format",
        )
        destination, log_format = present(destination), present(log_format)
        doubt = next((v for v in (destination, log_format) if isinstance(v, Unresolved)), None)
        if doubt is not None:
            yield unknown(stage, f"access log settings: {doubt.why}")
        elif not destination:
            yield fail(stage, "no access log destination")
        elif not log_format:
            yield fail(stage, "access logs without a format")
        else:
            yield ok(stage)


def _limits(document: Document, holder: Any, rate_key: str, burst_key: str) -> str | Unresolved | None:
    """None when both limits are set (>= 0), else what is missing."""
    if isinstance(holder, Unresolved) or computed(holder):
        return holder if isinstance(holder, Unresolved) else Unresolved("computed settings")
    view = Resource("", "", holder if isinstance(holder, dict) else {}, document)
    missing = []
    for key in (rate_key, burst_key):
        value = document.scalar(view.get(key))
        if isinstance(value, Unresolved):
            return value
        if value in (MISSING, None) or (isinstance(value, (int, float)) and value < 0):
            missing.append(key)
    return f"no {' and '.join(missing)}" if missing else None


def _stage_throttling(document: Document, stage: Resource) -> str | Unresolved | None:
    if stage.is_("apigwv2.stage"):
        return _limits(
            document, stage.get("default_route_settings"), "throttling_rate_limit", "throttling_burst_limit"
        )
    if stage.is_("apigw.deployment"):
        description = stage.get("stage_description")
        if description is MISSING:
            return "an implicit stage (stage_name on the deployment) without method settings"
        return _limits(document, description, "throttling_rate_limit", "throttling_burst_limit")
    inline = [document.scalar(s) for s in as_list(stage.get("method_settings"))]
    for setting in inline:  # CloudFormation: MethodSettings on the stage
        if isinstance(setting, Unresolved) or not isinstance(setting, dict):
            return Unresolved("computed method settings")
        view = Resource("", "", setting, document)
        if view.get("resource_path") == "/*" and view.get("http_method") == "*":
            return _limits(document, setting, "throttling_rate_limit", "throttling_burst_limit")
    raw_api = stage.get("rest_api_id", "rest_api")
    api = document.target(raw_api, "apigw.rest_api")
    if isinstance(api, Unresolved):
        return api
    stage_name = document.scalar(stage.get("stage_name"))
    index = document.memo("method-settings", lambda: _method_settings(document))
    api_keys = [api.address] if isinstance(api, Resource) else []
    for key in (
        (api_key, stage_key)
        for api_key in [*api_keys, _raw(raw_api)]
        for stage_key in (("stage", stage.address), ("name", _raw(stage_name)))
    ):
        if key in index:
            return _limits(
                document, index[key].get("settings"), "throttling_rate_limit", "throttling_burst_limit"
            )
    return "no method settings for */* with throttling on this stage"


def _raw(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _method_settings(document: Document) -> dict[tuple[str, tuple[str, str]], Resource]:
    """Stage-wide (``*/*``) method settings by (API, stage), once: the API's address (or its value
    as written), the stage's address or its name."""
    index: dict[tuple[str, tuple[str, str]], Resource] = {}
    for settings in document.of("apigw.method_settings"):
        if document.scalar(settings.get("method_path")) != "*/*":
            continue
        their_api = settings.get("rest_api_id", "rest_api")
        found_api = document.target(their_api, "apigw.rest_api")
        api_keys = [found_api.address] if isinstance(found_api, Resource) else []
        named = settings.get("stage_name")
        found_stage = document.target(named, "apigw.stage")
        for api_key in [*api_keys, _raw(their_api)]:
            if isinstance(found_stage, Resource):
                index.setdefault((api_key, ("stage", found_stage.address)), settings)
            index.setdefault((api_key, ("name", _raw(document.scalar(named)))), settings)
    return index


@rule(
    "api-throttling",
    title="every API stage has throttling",
    rationale="Stage-wide rate and burst limits protect the backend and the account quota; usage plans "
    "only throttle API-key callers.",
    severity=Severity.MEDIUM,
    catalogue=("trading-dr-18", "fraud-18"),
)
def api_throttling(document: Document):
    for stage in _stages(document):
        problem = _stage_throttling(document, stage)
        if isinstance(problem, Unresolved):
            yield unknown(stage, problem)
        elif problem:
            yield fail(stage, problem)
        else:
            yield ok(stage)
