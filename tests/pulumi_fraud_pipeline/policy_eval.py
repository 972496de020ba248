"""Whether IAM policy statements allow a request, judged by action AND resource ARN AND condition.

Enough of IAM's evaluation for this stack's role policies and VPC endpoint policies: an explicit
Deny that matches wins, else an Allow that matches allows, else the request is implicitly denied.
A statement matches when its Action, Resource, Principal (if it has one: resource and endpoint
policies) and every Condition match. Wildcards in actions are case-insensitive and in ARNs
case-sensitive, as in IAM. A condition operator or element this module does not know fails the
test instead of being guessed (NotAction, NotResource, IfExists, numeric and date operators).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Request:
    """One API call as IAM sees it: ``principal`` is the caller's role ARN (aws:PrincipalArn)."""

    action: str
    resource: str
    principal: str = ""
    context: dict[str, str] = field(default_factory=dict)

    def key(self, name: str) -> str | None:
        return {"aws:PrincipalArn": self.principal or None, **self.context}.get(name)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _like(pattern: str, value: str, *, case: bool) -> bool:
    """IAM wildcard matching (``*``, ``?``), no character classes."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


OPERATORS = {
    "StringEquals": lambda pattern, value: pattern == value,
    "StringLike": lambda pattern, value: _like(pattern, value, case=True),
    "ArnEquals": lambda pattern, value: pattern == value,
    "ArnLike": lambda pattern, value: _like(pattern, value, case=True),
}


def _conditions_hold(conditions: dict[str, dict[str, Any]], request: Request) -> bool:
    for operator, keys in conditions.items():
        if operator not in OPERATORS:
            raise ValueError(f"condition operator {operator} is not evaluated here: judge it by hand")
        for key, patterns in keys.items():
            value = request.key(key)
            if value is None or not any(OPERATORS[operator](p, value) for p in _as_list(patterns)):
                return False
    return True


def _principal_matches(principal: Any, request: Request) -> bool:
    if principal == "*":
        return True
    arns = _as_list(principal.get("AWS", [])) if isinstance(principal, dict) else []
    return "*" in arns or request.principal in arns


def matches(statement: dict[str, Any], request: Request) -> bool:
    unknown = {"NotAction", "NotResource", "NotPrincipal"} & statement.keys()
    if unknown:
        raise ValueError(f"{sorted(unknown)} is not evaluated here: judge it by hand")
    return (
        any(_like(p, request.action, case=False) for p in _as_list(statement["Action"]))
        and any(_like(p, request.resource, case=True) for p in _as_list(statement["Resource"]))
        and ("Principal" not in statement or _principal_matches(statement["Principal"], request))
        and _conditions_hold(statement.get("Condition", {}), request)
    )


def allows(statements: Iterable[dict[str, Any]], request: Request) -> bool:
    statements = list(statements)
    if any(s["Effect"] == "Deny" and matches(s, request) for s in statements):
        return False
    return any(s["Effect"] == "Allow" and matches(s, request) for s in statements)
