"""The AWS actions a Lambda function's code calls, read from its source, and whether a policy grants them.

A handler that calls an API its role does not allow fails only in AWS (AccessDenied, or worse: S3
answers a missing key with 403 instead of 404 without ``s3:ListBucket``). Each stack's tests feed
the statements its synthesized output grants a function's role to :func:`missing_actions`.

What counts as a call: ``<anything>.<operation>(...)`` where ``<operation>`` is an operation (in
boto3's snake_case) of a service the code creates a client or resource for
(``boto3.client("sns")``, ``boto3.resource("dynamodb")``), in the function's own modules and in the
functions it imports from ``lambda_src/common`` (followed into the same-module functions they call).
Clients handed in through a dependency object count: the service is known from where it is made.
"""

from __future__ import annotations

import ast
import fnmatch
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
from botocore import xform_name

ROOT = Path(__file__).resolve().parents[1]
COMMON = ROOT / "lambda_src" / "common"

# Where the IAM action is not "<signing name>:<OperationName>", or a call needs more than one action.
IAM_OVERRIDES: dict[tuple[str, str], tuple[str, ...]] = {
    ("lambda", "Invoke"): ("lambda:InvokeFunction",),
    # Without s3:ListBucket, S3 answers a request for a missing key with 403 (not 404).
    ("s3", "HeadObject"): ("s3:GetObject", "s3:ListBucket"),
    ("s3", "GetObject"): ("s3:GetObject",),
    ("s3", "ListObjectsV2"): ("s3:ListBucket",),
    ("s3", "HeadBucket"): ("s3:ListBucket",),
}
# boto3 helpers that are not operations of the model but call one.
HELPERS: dict[tuple[str, str], str] = {
    ("dynamodb", "batch_writer"): "BatchWriteItem",
    ("s3", "upload_file"): "PutObject",
    ("s3", "upload_fileobj"): "PutObject",
    ("s3", "download_file"): "GetObject",
    ("s3", "download_fileobj"): "GetObject",
}
FACTORIES = {"client", "resource"}
# Where IAM's service prefix is not the API's signing name (CloudWatch signs as "monitoring").
IAM_PREFIXES = {"monitoring": "cloudwatch"}


@cache
def _operations(service: str) -> tuple[str, dict[str, str]]:
    """(IAM prefix, snake_case operation -> OperationName) of a botocore service."""
    model = botocore.session.get_session().get_service_model(service)
    prefix = model.metadata.get("signingName") or model.endpoint_prefix
    return IAM_PREFIXES.get(prefix, prefix), {xform_name(op): op for op in model.operation_names}


def _module_path(module: str) -> Path | None:
    if module.startswith("common."):
        path = COMMON / (module.split(".", 1)[1].replace(".", "/") + ".py")
        return path if path.is_file() else None
    return None


def _reachable(tree: ast.Module, names: Iterable[str]) -> list[ast.AST]:
    """The top-level definitions named, and the same-module definitions they use, transitively."""
    defs = {
        node.name: node
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }
    todo, seen = [n for n in names if n in defs], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for node in ast.walk(defs[name]):
            if isinstance(node, ast.Name) and node.id in defs and node.id not in seen:
                todo.append(node.id)
    return [defs[n] for n in sorted(seen)]


def _code(function_dir: Path) -> Iterator[ast.AST]:
    """The function's modules whole, and what they import from lambda_src/common."""
    for path in sorted(function_dir.glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        yield tree
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and (source := _module_path(node.module)):
                common = ast.parse(source.read_text(), filename=str(source))
                yield from _reachable(common, [alias.name for alias in node.names])


def _services_and_calls(nodes: Iterable[ast.AST]) -> tuple[set[str], set[str]]:
    services: set[str] = set()
    calls: set[str] = set()
    for root in nodes:
        for node in ast.walk(root):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            first = node.args[0] if node.args else None
            literal = (
                first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
            )
            if node.func.attr in FACTORIES and literal:
                services.add(literal)
            elif node.func.attr in {"get_paginator", "get_waiter"} and literal:
                calls.add(literal)
            else:
                calls.add(node.func.attr)
    return services, calls


def required_actions(function_dir: Path) -> set[str]:
    """IAM actions the function's code needs, e.g. ``{"dynamodb:PutItem", "sns:Publish"}``."""
    services, calls = _services_and_calls(_code(function_dir))
    actions: set[str] = set()
    for service in services:
        prefix, operations = _operations(service)
        for call in calls:
            operation = operations.get(call) or HELPERS.get((service, call))
            if operation:
                actions.update(IAM_OVERRIDES.get((service, operation), (f"{prefix}:{operation}",)))
    return actions


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def grants(action: str, statements: Iterable[dict[str, Any]]) -> bool:
    """Whether an Allow statement names the action (wildcards as IAM matches them) and no Deny does."""

    def names(statement: dict[str, Any]) -> bool:
        return any(fnmatch.fnmatchcase(action.lower(), str(p).lower()) for p in _as_list(statement["Action"]))

    statements = [s for s in statements if "Action" in s]
    return any(s["Effect"] == "Allow" and names(s) for s in statements) and not any(
        s["Effect"] == "Deny" and names(s) for s in statements
    )


def missing_actions(function_dir: Path, statements: Iterable[dict[str, Any]]) -> set[str]:
    statements = list(statements)
    return {action for action in required_actions(function_dir) if not grants(action, statements)}
