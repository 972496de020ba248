"""transaction_processing: the ALB target behind ``POST /transactions``.

1. Parse the JSON body (400 on anything malformed, 405 on another method).
2. Validate through the payment_validation function (its 400 is passed through).
3. Idempotency on ``transaction_id``: a replay with the same payload returns the first result
   (200, header ``Idempotent-Replay: true``); the same id with another payload is a 409.
4. Score through the fraud_detection function.
5. Conditional put (``attribute_not_exists(transaction_id)``): a concurrent duplicate that wins
   the race is answered like a replay.
6. Audit record to S3 under ``audit/YYYY/MM/DD/<transaction_id>.json``, a conditional PUT
   (``If-None-Match: *``) on the first request and on every replay: a record that exists is left
   as it is (412), a missing one is written, so a crash between steps 5 and 6 heals on the
   client's retry. Only s3:PutObject is needed: nothing reads the bucket.
New transactions answer 201 with the status, decision, score and reasons.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

import boto3
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError
from common import tracing
from common.http import BadRequest, dumps, error_response, json_body, response

logger = Logger(service="transaction_processing")

STATUS_BY_DECISION = {"APPROVE": "APPROVED", "REVIEW": "PENDING_REVIEW", "DECLINE": "DECLINED"}
RESULT_FIELDS = ("transaction_id", "status", "decision", "score", "reasons", "created_at")
AUDIT_WRITE_ATTEMPTS = 3  # S3 answers 409 to a conditional write racing another; it says retry


class Invoker(Protocol):
    def __call__(self, function_name: str, payload: dict[str, Any]) -> dict[str, Any]: ...


class UpstreamError(Exception):
    """A function this one depends on failed; the client may retry (the write is idempotent)."""


@dataclass(frozen=True)
class Dependencies:
    table: Any  # boto3 DynamoDB Table resource
    s3: Any  # boto3 S3 client
    invoke: Invoker
    audit_bucket: str
    validation_function: str
    fraud_function: str


def lambda_invoker(client: Any) -> Invoker:
    def invoke(function_name: str, payload: dict[str, Any]) -> dict[str, Any]:
        result = client.invoke(FunctionName=function_name, Payload=dumps(payload).encode())
        body = result["Payload"].read()
        if result.get("FunctionError"):
            raise UpstreamError(f"{function_name} failed: {body[:500]!r}")
        return json.loads(body, parse_float=Decimal)

    return invoke


def request_hash(transaction: dict[str, Any]) -> str:
    return hashlib.sha256(dumps(transaction).encode()).hexdigest()


def _result(item: dict[str, Any]) -> dict[str, Any]:
    """The client-facing answer; identical for the first response and every replay."""
    result = {name: item[name] for name in RESULT_FIELDS}
    result["score"] = int(result["score"])  # DynamoDB hands numbers back as Decimal
    return result


def audit_key(item: dict[str, Any]) -> str:
    day = item["created_at"][:10].replace("-", "/")
    return f"audit/{day}/{item['transaction_id']}.json"


def ensure_audit_record(deps: Dependencies, item: dict[str, Any]) -> None:
    """Write the audit record unless it exists, in one conditional PUT (s3:PutObject only).

    No HeadObject first: without s3:ListBucket, S3 answers a read of a missing key with 403, not
    404. ``If-None-Match: *`` makes S3 refuse the write with 412 when the key exists (already
    audited), and with 409 when a concurrent write of the same key is in flight (retried); the
    bucket policy refuses a PUT under audit/ without it. A checksum goes with every PUT: S3 requires
    one (or Content-MD5) where Object Lock retains objects by default (prod).
    """
    body = dumps({"event": "transaction.recorded", "record": item}).encode()
    for attempt in range(AUDIT_WRITE_ATTEMPTS):
        try:
            deps.s3.put_object(
                Bucket=deps.audit_bucket,
                Key=audit_key(item),
                Body=body,
                ContentType="application/json",
                IfNoneMatch="*",
                ChecksumAlgorithm="SHA256",
            )
            return
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code == "PreconditionFailed":
                return  # written before: by the first request, or by the winner of a race
            if code != "ConditionalRequestConflict" or attempt == AUDIT_WRITE_ATTEMPTS - 1:
                raise


def _replay(deps: Dependencies, existing: dict[str, Any], digest: str) -> dict[str, Any]:
    if existing.get("request_hash") != digest:
        raise BadRequest(
            f"transaction_id {existing['transaction_id']} was already used with a different payload",
            status=409,
            field="transaction_id",
        )
    ensure_audit_record(deps, existing)
    return response(200, _result(existing), headers={"Idempotent-Replay": "true"}, alb=True)


def process(payload: Any, deps: Dependencies, now: datetime) -> dict[str, Any]:
    validated = deps.invoke(deps.validation_function, {"transaction": payload})
    if validated.get("statusCode") != 200:
        return validated  # the validator's 4xx names the field
    transaction = json.loads(validated["body"], parse_float=Decimal)["transaction"]
    transaction["amount"] = Decimal(str(transaction["amount"]))
    digest = request_hash(transaction)

    key = {"transaction_id": transaction["transaction_id"]}
    existing = deps.table.get_item(Key=key, ConsistentRead=True).get("Item")
    if existing:
        return _replay(deps, existing, digest)

    fraud = deps.invoke(deps.fraud_function, {"transaction": transaction})
    item = {
        **transaction,
        "created_at": now.isoformat(timespec="milliseconds"),
        "decision": fraud["decision"],
        "score": int(fraud["score"]),
        "reasons": list(fraud.get("reasons", [])),
        "status": STATUS_BY_DECISION[fraud["decision"]],
        "request_hash": digest,
    }
    try:
        deps.table.put_item(Item=item, ConditionExpression="attribute_not_exists(transaction_id)")
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        winner = deps.table.get_item(Key=key, ConsistentRead=True)["Item"]
        return _replay(deps, winner, digest)
    ensure_audit_record(deps, item)
    return response(201, _result(item), alb=True)


def handle(event: dict[str, Any], deps: Dependencies, now: datetime) -> dict[str, Any]:
    """The whole request path; every client error becomes a 4xx naming the problem."""
    try:
        if event.get("httpMethod", "POST") != "POST":
            raise BadRequest("only POST is supported", status=405)
        return process(json_body(event), deps, now)
    except BadRequest as exc:
        return error_response(exc, alb=True)
    except UpstreamError as exc:
        logger.exception("upstream function failed")
        return response(502, {"error": "Bad Gateway", "message": str(exc)}, alb=True)


_deps: Dependencies | None = None


def _default_deps() -> Dependencies:
    global _deps
    if _deps is None:
        _deps = Dependencies(
            table=boto3.resource("dynamodb").Table(os.environ["TRANSACTIONS_TABLE"]),
            s3=boto3.client("s3"),
            invoke=lambda_invoker(boto3.client("lambda")),
            audit_bucket=os.environ["AUDIT_BUCKET"],
            validation_function=os.environ["VALIDATION_FUNCTION"],
            fraud_function=os.environ["FRAUD_FUNCTION"],
        )
    return _deps


@logger.inject_lambda_context
@tracing.traced
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, _default_deps(), datetime.now(UTC))
