"""The requests a deployed function makes with its role, each with why, and the ones AWS refuses.

1. Its code's calls (reader.py), each on the resource its parameters name: a value read from the
   environment is the function's deployed environment; a value from the invocation event is what
   invokes the function (the queue of its event source mapping, the secret whose rotation calls
   it); an ARN is built from the reference's format (actions.py) in the client's region (its
   ``region_name`` when the code sets one, else the function's).
2. What AWS does with the role without a code call: an event source mapping polls and deletes;
   Active tracing sends segments; a service encrypts or decrypts with a customer-managed key on
   the caller's permissions (SNS, SQS, S3, Secrets Manager), under ``kms:ViaService`` and the
   service's encryption context.
3. The requests are judged (policy.py) on the role's statements, the resource's policy and, for
   KMS, the key policy.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tests.iam import actions
from tests.iam.deployment import Deployment, Function, queue_arn
from tests.iam.policy import Request, decide
from tests.iam.reader import ApiCall, Const, Derived, Env, Event, Text, Unknown, Value, api_calls


@dataclass(frozen=True)
class Need:
    request: Request
    why: str  # where it comes from: a call site, the event source mapping, ...


class Unresolved(Exception):
    """A call whose resource this check cannot tell: say here which one it names."""


@cache
def _calls(source: Path) -> tuple[ApiCall, ...]:
    # lambda_src/<stack>/<function>: common/ is two folders up (a copy in a test's tmp_path too)
    return tuple(api_calls(source, search=source.parents[1]))


def calls(source: Path) -> tuple[ApiCall, ...]:
    """The function's code's calls (read once per folder and session)."""
    return _calls(Path(source))


def required_actions(source: Path) -> set[str]:
    """The IAM actions the code at ``source`` calls, e.g. ``{"dynamodb:PutItem", "sns:Publish"}``."""
    return {a for c in calls(source) for a in actions.iam_actions(c.service, c.operation)}


class _FromEvent(Exception):
    pass


def _strings(value: Value, function: Function, lenient: bool = False) -> list[str]:
    """The concrete strings a value takes in this deployment; ``lenient``: a part from the event
    is a placeholder (an object key's name, not which resource)."""
    if isinstance(value, Const):
        return [value.value] if isinstance(value.value, str) else []
    if isinstance(value, Env):
        if value.name in function.environment:
            return [function.environment[value.name]]
        if value.name == "AWS_REGION":  # set by Lambda itself
            return [function.region]
        raise Unresolved(f"{function}: the code reads {value.name}, which its environment does not set")
    if isinstance(value, Event):
        if lenient:
            return ["example"]
        raise _FromEvent(value.path)
    if isinstance(value, Derived):
        if any(isinstance(s, Event) for s in value.sources) and not lenient:
            raise _FromEvent(str(value))
        return ["example"]
    if isinstance(value, Text):
        pieces: list[list[str]] = []
        for part in value.parts:
            if isinstance(part, str):
                pieces.append([part])
            elif not part:  # nothing known yet (a round of the reader's fixpoint): no string
                return []
            else:
                options = [s for v in part for s in _strings(v, function, lenient)] or ["example"]
                pieces.append(options)
        return ["".join(p) for p in itertools.product(*pieces)]
    if isinstance(value, Unknown):
        return []
    return []


def _values(values: Iterable[Value], function: Function, lenient: bool = False) -> tuple[list[str], bool]:
    """(strings, whether some value comes from the invocation event)."""
    found, from_event = [], False
    for value in values:
        try:
            found += _strings(value, function, lenient)
        except _FromEvent:
            from_event = True
    return sorted(set(found)), from_event


def _region(call: ApiCall, function: Function) -> str:
    regions, _ = _values(call.region, function)
    regions = [r for r in regions if r != "example"]
    return regions[0] if len(regions) == 1 else function.region


def _wired(service: str, parameter: str, function: Function) -> list[str]:
    """What the invocation event names, for a parameter: what invokes the function."""
    if service == "sqs" and parameter == "QueueUrl":
        return [s for s in function.event_sources if s.startswith("arn:aws:sqs:")]
    if service == "secretsmanager" and parameter == "SecretId":
        return list(function.rotates)
    return []


def _resource_arns(call: ApiCall, action: str, function: Function, deployment: Deployment) -> list[str]:
    """The ARNs the request is authorized on (one per required resource type), or ['*']."""
    types = actions.resource_types(action)
    if not types:
        return ["*"]
    region, account = _region(call, function), deployment.account
    named: dict[str, list[str]] = {}
    for parameter, values in call.params.items():
        resource_type = actions.RESOURCE_PARAMETERS.get((call.service, parameter))
        if resource_type is None:
            continue
        strings, from_event = _values(values, function, lenient=resource_type == "object")
        wired = _wired(call.service, parameter, function) if from_event else []
        if from_event and not wired:
            raise Unresolved(
                f"{function}: {call.where}: {parameter} comes from the event, and nothing wires it"
            )
        named[resource_type] = [*strings, *wired]
    arns: list[str] = []
    if (call.service, call.operation) in actions.INDEX_OPERATIONS and named.get("index"):
        tables = _values(call.param("TableName"), function)[0]
        return [
            actions.build_arn(action, "index", region, account, TableName=t, IndexName=i)
            for t in tables
            for i in named["index"]
        ]
    wanted = [t for t in types if t in named]
    required = [r["name"] for r in actions.action_details(action)["resourceTypes"] if r["required"]]
    if not wanted and not required:
        return ["*"]  # every resource type optional and none named: IAM authorizes on "*"
    if not wanted:
        raise Unresolved(
            f"{function}: {call.where}: {action} is authorized on {types}; no parameter of the call names one"
        )
    for resource_type in wanted:
        for value in named[resource_type]:
            arns.append(_arn(call, action, resource_type, value, region, account, deployment, function))
    return sorted(set(arns))


def _arn(
    call: ApiCall,
    action: str,
    resource_type: str,
    value: str,
    region: str,
    account: str,
    deployment: Deployment,
    function: Function,
) -> str:
    if resource_type == "queue" and value.startswith("https://"):
        arn = queue_arn(value)
    elif resource_type == "object":
        buckets = _values(call.param("Bucket"), function)[0]
        (bucket,) = buckets
        arn = actions.build_arn(action, "object", region, account, BucketName=bucket, ObjectName=value)
    elif value.startswith("arn:"):
        arn = value
    elif resource_type == "Secret":
        arn = deployment.secrets.get(value) or actions.build_arn(
            action, resource_type, region, account, SecretId=f"{value}-AbCdEf"
        )
    else:
        variable = {
            "table": "TableName",
            "bucket": "BucketName",
            "function": "FunctionName",
            "eventSourceMapping": "UUID",
            "global-cluster": "GlobalCluster",
            "cluster": "DbClusterInstanceName",
            "topic": "TopicName",
            "key": "KeyId",
        }[resource_type]
        arn = actions.build_arn(action, resource_type, region, account, **{variable: value})
    if not actions.fits(action, resource_type, arn):
        raise Unresolved(f"{function}: {call.where}: {arn} is not a {resource_type} ARN for {action}")
    return arn


def _context(function: Function, **extra: str) -> dict[str, str]:
    return {
        "aws:PrincipalAccount": function.role.split(":")[4] or "",
        "aws:SecureTransport": "true",
        "aws:RequestedRegion": function.region,
        "aws:PrincipalIsAWSService": "false",
        **extra,
    }


def code_needs(function: Function, deployment: Deployment) -> list[Need]:
    """The requests of the function's code, on the resources they name."""
    needs: list[Need] = []
    for call in calls(function.source):
        for action in actions.iam_actions(call.service, call.operation):
            for arn in _resource_arns(call, action, function, deployment):
                parts = arn.split(":")
                region = parts[3] if len(parts) > 3 and parts[3] else _region(call, function)
                context = _context(function, **{"aws:RequestedRegion": region})
                needs.append(
                    Need(Request(action, arn, function.role, context), f"{call.where} ({call.operation})")
                )
                for extra, resource_type, why in actions.ALSO_NEEDS.get(action, ()):
                    bucket = arn.split("/", 1)[0] if resource_type == "bucket" else arn
                    needs.append(Need(Request(extra, bucket, function.role, context), f"{call.where}: {why}"))
    return needs


def service_needs(function: Function, deployment: Deployment) -> list[Need]:
    """What AWS does with the role without a code call: event sources, tracing, and KMS for the
    encrypted resources the code's requests touch."""
    needs: list[Need] = []
    for source in function.event_sources:
        service = source.split(":")[2]
        for action in actions.EVENT_SOURCE_ACTIONS.get(service, ()):
            needs.append(
                Need(
                    Request(action, source, function.role, _context(function)),
                    "its event source mapping polls",
                )
            )
        if service == "sqs":
            needs += _kms(
                function, deployment, "sqs", "sqs:ReceiveMessage", source, "its event source mapping"
            )
    if function.tracing:
        needs += [
            Need(Request(action, "*", function.role, _context(function)), "Active tracing")
            for action in actions.TRACING_ACTIONS
        ]
    for need in code_needs(function, deployment):
        service = need.request.action.split(":")[0]
        needs += _kms(function, deployment, service, need.request.action, need.request.resource, need.why)
    return needs


def _kms(
    function: Function, deployment: Deployment, service: str, action: str, resource: str, why: str
) -> list[Need]:
    use = actions.KMS_BY_SERVICE.get((service, action))
    if use is None:
        return []
    holder = resource.split("/", 1)[0] if service == "s3" else resource
    key = deployment.keys.get(holder)
    if key is None:
        return []
    region = key.split(":")[3]
    context = {"kms:ViaService": f"{service}.{region}.amazonaws.com", "kms:CallerAccount": deployment.account}
    if use.context_key:
        named = holder if service != "s3" or holder in deployment.bucket_keys else resource
        context[f"kms:EncryptionContext:{use.context_key}"] = named
    return [
        Need(
            Request(
                kms_action, key, function.role, _context(function, **context, **{"aws:ViaAWSService": "true"})
            ),
            f"{why}: {service} uses {key} for {resource}",
        )
        for kms_action in use.actions
    ]


def needs(function: Function, deployment: Deployment) -> list[Need]:
    return [*code_needs(function, deployment), *service_needs(function, deployment)]


@dataclass(frozen=True)
class Refusal:
    action: str
    resource: str
    why: str
    reason: str

    def __str__(self) -> str:
        return f"{self.action} on {self.resource} ({self.why}): {self.reason}"


def refused(function: Function, deployment: Deployment) -> list[Refusal]:
    """Every request of the function that AWS would refuse, with what asked for it and why."""
    unknown = [p for p in function.managed_policies if p not in _known_managed()]
    if unknown:
        raise Unresolved(
            f"{function}: AWS managed policies {unknown}: read their grants here before attaching them"
        )
    found = []
    for need in needs(function, deployment):
        request = need.request
        key = request.action.startswith("kms:")
        decision = decide(
            request,
            function.statements,
            deployment.policies.get(request.resource if key else _policy_holder(request.resource)),
            account=deployment.account,
            key_policy=key,
        )
        if not decision.allowed:
            found.append(Refusal(request.action, request.resource, need.why, decision.why))
    return sorted(set(found), key=str)


def _policy_holder(arn: str) -> str:
    """The resource whose policy applies: an S3 object's bucket."""
    return arn.split("/", 1)[0] if arn.startswith("arn:aws:s3:::") else arn


def _known_managed() -> set[str]:
    from tests.iam.deployment import KNOWN_MANAGED_POLICIES

    return KNOWN_MANAGED_POLICIES
