"""Response shapes for HTTP-facing handlers (API Gateway proxy and ALB targets)."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from http import HTTPStatus
from typing import Any


class BadRequest(Exception):
    """The request cannot be processed as sent; maps to a 4xx response."""

    def __init__(self, message: str, *, status: int = 400, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # Money never passes through float: amounts travel as exact decimal strings ("10.10").
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def dumps(body: Any) -> str:
    return json.dumps(body, default=_default, separators=(",", ":"), sort_keys=True)


def response(
    status: int, body: Any, headers: dict[str, str] | None = None, *, alb: bool = False
) -> dict[str, Any]:
    """A Lambda proxy response. API Gateway (REST and HTTP APIs) rejects any key beyond statusCode,
    headers, multiValueHeaders, body and isBase64Encoded with a 502; an ALB target also sends
    ``statusDescription`` (``alb=True``)."""
    shaped: dict[str, Any] = {
        "statusCode": status,
        "isBase64Encoded": False,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": dumps(body),
    }
    if alb:
        shaped["statusDescription"] = f"{status} {HTTPStatus(status).phrase}"
    return shaped


def error_response(error: BadRequest, *, alb: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"error": HTTPStatus(error.status).phrase, "message": error.message}
    if error.field:
        body["field"] = error.field
    return response(error.status, body, alb=alb)


def json_body(event: dict[str, Any]) -> Any:
    """The decoded JSON body of an API Gateway or ALB event; amounts parse as Decimal, never float."""
    raw = event.get("body")
    if raw is None or raw == "":
        raise BadRequest("request body is required")
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(raw, validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadRequest("request body is not valid base64-encoded UTF-8") from exc
    try:
        return json.loads(raw, parse_float=Decimal, parse_int=Decimal)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"request body is not valid JSON: {exc.msg} at position {exc.pos}") from exc
