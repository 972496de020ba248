"""S3 buckets block public access and refuse plain HTTP."""

from __future__ import annotations

from typing import Any

from policies.model import MISSING, Document, Resource, Severity, Unresolved, as_list, decide, truthy
from policies.rules import fail, ok, rule, unknown

SETTINGS = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")


def _block_problem(document: Document, holder: Resource | dict[str, Any]) -> str | Unresolved | None:
    """None when all four settings are true, else which are not."""
    view = holder if isinstance(holder, Resource) else Resource("", "", holder, document)
    off = []
    for setting in SETTINGS:
        raw = view.get(setting)
        if raw is MISSING or raw is None:
            off.append(setting)
            continue
        value = truthy(document.scalar(raw))
        if isinstance(value, Unresolved):
            return value
        if not value:
            off.append(setting)
    return f"{', '.join(off)} not true" if off else None


@rule(
    "bucket-public-access-block",
    title="buckets block public access (all four settings)",
    rationale="All four Block Public Access settings, explicit, so no later ACL or policy can publish "
    "the data.",
    severity=Severity.HIGH,
)
def bucket_public_access_block(document: Document):
    for account_block in document.of("s3.account_public_access_block"):
        if _block_problem(document, account_block) is None:
            for bucket in document.of("s3.bucket"):
                yield ok(bucket, f"the account-level block {account_block.label()}")
            return
    blocks, block_doubt = document.memo("blocks", lambda: _by_bucket(document, "s3.public_access_block"))
    for bucket in document.of("s3.bucket"):
        holders: list[Resource | dict[str, Any]] = []
        doubt: Unresolved | None = block_doubt
        inline = bucket.get("public_access_block_configuration")
        problems: list[str | Unresolved | None] = []
        if isinstance(inline, (dict, Unresolved)):  # under a condition: what each branch says
            problems.append(
                decide(
                    inline,
                    lambda block: (
                        _block_problem(document, block)
                        if isinstance(block, dict)
                        else "no public access block"
                    ),
                )
            )
        holders.extend(blocks.get(bucket.address, []))
        if not holders and not problems:
            yield (unknown(bucket, doubt) if doubt is not None else fail(bucket, "no public access block"))
            continue
        problems += [_block_problem(document, holder) for holder in holders]
        if any(p is None for p in problems):
            yield ok(bucket)
        elif any(isinstance(p, Unresolved) for p in problems):
            yield unknown(bucket, next(p for p in problems if isinstance(p, Unresolved)))
        else:
            yield fail(bucket, str(problems[0]))


def _denies_plain_http(document: Document, statement: dict[str, Any]) -> bool:
    view = Resource("", "", statement, document)
    if view.get("effect") != "Deny":
        return False
    principal = view.get("principal")
    if isinstance(principal, dict):
        principal = principal.get("AWS", principal.get("aws"))
    if "*" not in as_list(principal):
        return False
    if not {"s3:*", "*"} & {str(a).lower() for a in as_list(view.get("action"))}:
        return False
    resources = [document.text(r) for r in as_list(view.get("resource"))]
    if not any(isinstance(r, str) and r.endswith("*") for r in resources):
        return False  # the objects (arn/*) must be covered
    conditions = view.get("condition")
    if not isinstance(conditions, dict):
        return False
    for operator in ("Bool", "BoolIfExists"):
        block = conditions.get(operator)
        if isinstance(block, dict):
            for key, value in block.items():
                values = {str(v).lower() for v in as_list(value)}
                if key.lower() == "aws:securetransport" and values == {"false"}:
                    return True
    return False


@rule(
    "bucket-tls-only",
    title="buckets refuse requests without TLS",
    rationale="Only a bucket policy denying aws:SecureTransport=false keeps clients off plain HTTP.",
    severity=Severity.HIGH,
)
def bucket_tls_only(document: Document):
    policies, doubt = document.memo("policies", lambda: _by_bucket(document, "s3.bucket_policy"))
    for bucket in document.of("s3.bucket"):
        verdict: tuple[str, str] | None = None
        for policy in policies.get(bucket.address, []):
            statements = document.policy_statements(policy.get("policy_document", "policy"))
            if isinstance(statements, Unresolved):
                verdict = ("unknown", f"{policy.label()}: {statements.why}")
                continue
            if any(_denies_plain_http(document, s) for s in statements if isinstance(s, dict)):
                verdict = ("pass", policy.label())
                break
        if verdict is None and doubt is not None:
            verdict = ("unknown", f"no policy of this bucket denies plain HTTP, and {doubt.why}")
        if verdict is None:
            yield fail(bucket, "no bucket policy denies aws:SecureTransport=false")
        elif verdict[0] == "pass":
            yield ok(bucket, verdict[1])
        else:
            yield unknown(bucket, verdict[1])


def _by_bucket(document: Document, kind: str) -> tuple[dict[str, list[Resource]], Unresolved | None]:
    """Resources of ``kind`` by the bucket they are for, once; and a doubt when one names a bucket
    this document cannot tell (it may be any of them)."""
    found: dict[str, list[Resource]] = {}
    doubt = None
    for resource in document.of(kind):
        bucket = document.target(resource.get("bucket"), "s3.bucket")
        if isinstance(bucket, Unresolved):
            doubt = doubt or Unresolved(f"{resource.label()} is for a bucket it names as {bucket.why}")
        elif isinstance(bucket, Resource):
            found.setdefault(bucket.address, []).append(resource)
    return found, doubt
