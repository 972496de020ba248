"""Whether AWS allows a request, judged as IAM does on action, resource ARN, principal and conditions.

Policy evaluation for one account (AWS's "Policy evaluation logic", same-account requests): an
explicit Deny in any policy that applies wins; otherwise the request is allowed when the caller's
identity-based policies allow it or a resource-based policy allows the caller by name (a resource
policy that names the account only delegates to IAM). A KMS key is the exception: its key policy
must allow the caller, either directly or by naming the account (then the identity policy must
allow it too).

Statements: Action/NotAction (wildcards, case-insensitive), Resource/NotResource (wildcards,
case-sensitive), Principal/NotPrincipal, and Condition with the string, ARN, Bool, Null and
numeric operators, their ``IfExists`` forms and ``ForAnyValue:``/``ForAllValues:``. An operator
not listed here raises instead of being guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any


@dataclass(frozen=True)
class Request:
    """One API request as IAM sees it: ``principal`` is the caller's role ARN."""

    action: str
    resource: str
    principal: str = ""
    context: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def key(self, name: str) -> list[str] | None:
        """The request's values for a condition key (keys are case-insensitive), None if absent."""
        wanted = name.lower()
        if wanted == "aws:principalarn" and self.principal:
            return [self.principal]
        for key, value in self.context.items():
            if key.lower() == wanted:
                return [str(v).lower() if isinstance(v, bool) else str(v) for v in _as_list(value)]
        return None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@cache
def _pattern(pattern: str, case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, 0 if case else re.IGNORECASE)


def like(pattern: str, value: str, *, case: bool = True) -> bool:
    """IAM's wildcard match (``*``, ``?``)."""
    return _pattern(pattern, case).fullmatch(value) is not None


def _number(value: str) -> float:
    return float(value)


_STRING = {
    "StringEquals": lambda p, v: p == v,
    "StringNotEquals": lambda p, v: p == v,
    "StringEqualsIgnoreCase": lambda p, v: p.lower() == v.lower(),
    "StringNotEqualsIgnoreCase": lambda p, v: p.lower() == v.lower(),
    "StringLike": lambda p, v: like(p, v),
    "StringNotLike": lambda p, v: like(p, v),
    "ArnEquals": lambda p, v: p == v,
    "ArnNotEquals": lambda p, v: p == v,
    "ArnLike": lambda p, v: like(p, v),
    "ArnNotLike": lambda p, v: like(p, v),
    "Bool": lambda p, v: str(p).lower() == v.lower(),
    "NumericEquals": lambda p, v: _number(p) == _number(v),
    "NumericNotEquals": lambda p, v: _number(p) == _number(v),
    "NumericLessThan": lambda p, v: _number(v) < _number(p),
    "NumericLessThanEquals": lambda p, v: _number(v) <= _number(p),
    "NumericGreaterThan": lambda p, v: _number(v) > _number(p),
    "NumericGreaterThanEquals": lambda p, v: _number(v) >= _number(p),
}
_NEGATED = {
    "StringNotEquals",
    "StringNotEqualsIgnoreCase",
    "StringNotLike",
    "ArnNotEquals",
    "ArnNotLike",
    "NumericNotEquals",
}


def _condition(operator: str, key: str, patterns: list[Any], request: Request) -> bool:
    qualifier, _, operator = operator.rpartition(":")
    if_exists = operator.endswith("IfExists")
    operator = operator.removesuffix("IfExists")
    values = request.key(key)
    if operator == "Null":
        absent = values is None
        return any(str(p).lower() == ("true" if absent else "false") for p in patterns)
    if operator not in _STRING:
        raise ValueError(f"condition operator {operator} is not evaluated here: judge it by hand")
    if values is None:
        return if_exists or operator in _NEGATED
    negated = operator in _NEGATED
    test = _STRING[operator]

    def one(value: str) -> bool:
        hit = any(test(str(p), value) for p in patterns)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(one(v) for v in values)
    if qualifier not in ("ForAnyValue", ""):
        raise ValueError(f"condition qualifier {qualifier} is not evaluated here")
    return any(one(v) for v in values)


def conditions_hold(conditions: Mapping[str, Mapping[str, Any]], request: Request) -> bool:
    return all(
        _condition(operator, key, _as_list(patterns), request)
        for operator, keys in conditions.items()
        for key, patterns in keys.items()
    )


def _names_principal(principal: Any, request: Request, account: str) -> str | None:
    """'direct' when the Principal element names the caller (or anyone), 'account' when it names
    the caller's account (delegation to IAM), else None."""
    if principal == "*":
        return "direct"
    if not isinstance(principal, Mapping):
        return None
    arns = [str(a) for a in _as_list(principal.get("AWS", []))]
    if "*" in arns or request.principal in arns:
        return "direct"
    if any(a in (account, f"arn:aws:iam::{account}:root") for a in arns):
        return "account"
    return None


def matches(statement: Mapping[str, Any], request: Request) -> bool:
    """Action, Resource and Condition match (the Principal is judged by the caller)."""
    if "Action" in statement:
        action_hit = any(like(p, request.action, case=False) for p in _as_list(statement["Action"]))
    else:
        action_hit = not any(like(p, request.action, case=False) for p in _as_list(statement["NotAction"]))
    if not action_hit:
        return False
    if "Resource" in statement:
        resource_hit = any(like(p, request.resource) for p in _as_list(statement["Resource"]))
    elif "NotResource" in statement:
        resource_hit = not any(like(p, request.resource) for p in _as_list(statement["NotResource"]))
    else:  # a resource policy may leave Resource out (it is the resource)
        resource_hit = True
    return resource_hit and conditions_hold(statement.get("Condition", {}), request)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    why: str


def decide(
    request: Request,
    identity: Sequence[Mapping[str, Any]],
    resource_policy: Sequence[Mapping[str, Any]] | None = None,
    *,
    account: str,
    key_policy: bool = False,
) -> Decision:
    """AWS's decision on ``request`` by a role with ``identity`` statements, on a resource with
    ``resource_policy`` (a KMS key's policy when ``key_policy``)."""
    resource_policy = list(resource_policy or [])
    for statement in identity:
        if statement["Effect"] == "Deny" and matches(statement, request):
            return Decision(False, f"denied by the role's statement {statement.get('Sid') or statement}")
    direct = delegated = False
    for statement in resource_policy:
        if "NotPrincipal" in statement:
            named = None if _names_principal(statement["NotPrincipal"], request, account) else "direct"
        else:
            named = _names_principal(statement.get("Principal"), request, account)
        if named is None or not matches(statement, request):
            continue
        if statement["Effect"] == "Deny":
            return Decision(False, f"denied by the resource's policy {statement.get('Sid') or statement}")
        direct |= named == "direct"
        delegated |= named == "account"
    by_identity = any(s["Effect"] == "Allow" and matches(s, request) for s in identity)
    if key_policy:
        if direct:
            return Decision(True, "the key policy allows the role")
        if delegated and by_identity:
            return Decision(True, "the key policy delegates to IAM and the role allows it")
        if not delegated:
            return Decision(False, "the key policy neither allows the role nor delegates to IAM")
        return Decision(False, "no statement of the role allows it")
    if by_identity or direct:
        return Decision(True, "allowed")
    return Decision(False, "no statement of the role allows it")


def allows(statements: Iterable[Mapping[str, Any]], request: Request) -> bool:
    """Whether ``statements`` alone (a role's policies, or an endpoint's policy with Principals)
    allow the request: an explicit Deny wins, then an Allow."""
    statements = list(statements)

    def applies(statement: Mapping[str, Any]) -> bool:
        if "Principal" in statement and _names_principal(statement["Principal"], request, "") != "direct":
            return False
        return matches(statement, request)

    if any(s["Effect"] == "Deny" and applies(s) for s in statements):
        return False
    return any(s["Effect"] == "Allow" and applies(s) for s in statements)
