"""transaction_processing end to end on moto (DynamoDB, S3), with the real validation and fraud
handlers behind an in-process invoker standing in for lambda:Invoke."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
from datetime import UTC, datetime

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import ANY, Stubber
from common import fraud

from lambda_src.cdk_payments.payment_validation import index as payment_validation
from lambda_src.cdk_payments.transaction_processing import index as processing
from tests.lambda_src.conftest import LambdaContext
from tests.lambda_src.test_fraud_detection import table  # noqa: F401  (the moto table fixture)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
BUCKET = "payments-audit-test"
BODY = {
    "transaction_id": "txn-1001",
    "customer_id": "cust-9",
    "merchant_id": "m-1",
    "amount": 42.5,
    "currency": "USD",
}


class InProcessLambda:
    """Dispatches invocations to the real handlers; records what was called."""

    def __init__(self, table_):
        self.calls: list[str] = []
        self.failing: set[str] = set()
        from cdk_payments.constructs.data import CUSTOMER_INDEX  # imports the CDK: not at collection

        self.history = fraud.dynamodb_history(table_, CUSTOMER_INDEX)

    def __call__(self, function_name, payload):
        self.calls.append(function_name)
        if function_name in self.failing:
            raise processing.UpstreamError(f"{function_name} failed: Task timed out")
        payload = json.loads(processing.dumps(payload))  # the wire format between functions
        if function_name == "validation":
            return payment_validation.handler(payload, LambdaContext())
        return fraud.evaluate(payload["transaction"], self.history, NOW).as_dict()


@pytest.fixture
def deps(table):  # noqa: F811
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    invoker = InProcessLambda(table)
    return processing.Dependencies(
        table=table,
        s3=s3,
        invoke=invoker,
        audit_bucket=BUCKET,
        validation_function="validation",
        fraud_function="fraud",
    )


def alb_event(body, method="POST", base64_encoded=False):
    raw = body if isinstance(body, str) else json.dumps(body)
    if base64_encoded:
        raw = base64.b64encode(raw.encode()).decode()
    return {
        "requestContext": {"elb": {"targetGroupArn": "arn"}},
        "httpMethod": method,
        "path": "/dev/transactions",
        "headers": {"content-type": "application/json"},
        "body": raw,
        "isBase64Encoded": base64_encoded,
    }


def audit_objects(deps):
    return [o["Key"] for o in deps.s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def test_new_transaction_is_scored_stored_and_audited(deps):
    response = processing.handle(alb_event(BODY), deps, NOW)
    assert response["statusCode"] == 201 and response["statusDescription"] == "201 Created"
    body = json.loads(response["body"])
    assert body["status"] == "APPROVED" and body["decision"] == "APPROVE"
    item = deps.table.get_item(Key={"transaction_id": "txn-1001"})["Item"]
    assert str(item["amount"]) == "42.50" and item["status"] == "APPROVED"
    assert audit_objects(deps) == ["audit/2026/11/22/txn-1001.json"]
    record = json.loads(
        deps.s3.get_object(Bucket=BUCKET, Key="audit/2026/11/22/txn-1001.json")["Body"].read()
    )
    assert record["record"]["transaction_id"] == "txn-1001"


def test_duplicate_returns_the_first_result_without_rescoring(deps):
    first = processing.handle(alb_event(BODY), deps, NOW)
    deps.invoke.calls.clear()
    again = processing.handle(
        alb_event({**BODY, "amount": "42.50"}), deps, NOW
    )  # same payload, other spelling
    assert again["statusCode"] == 200 and again["headers"]["Idempotent-Replay"] == "true"
    assert json.loads(again["body"]) == json.loads(first["body"])
    assert deps.invoke.calls == ["validation"]  # no second fraud scoring, no second write
    assert len(deps.table.scan()["Items"]) == 1


def test_same_id_with_another_payload_is_a_conflict(deps):
    processing.handle(alb_event(BODY), deps, NOW)
    response = processing.handle(alb_event({**BODY, "amount": 99}), deps, NOW)
    assert response["statusCode"] == 409
    assert json.loads(response["body"])["field"] == "transaction_id"
    assert deps.table.get_item(Key={"transaction_id": "txn-1001"})["Item"]["amount"] == 42.5


def test_replay_heals_a_missing_audit_record(deps):
    processing.handle(alb_event(BODY), deps, NOW)
    deps.s3.delete_object(Bucket=BUCKET, Key="audit/2026/11/22/txn-1001.json")  # crash after the write
    processing.handle(alb_event(BODY), deps, NOW)
    assert audit_objects(deps) == ["audit/2026/11/22/txn-1001.json"]


def test_lost_race_is_answered_as_a_replay(deps, monkeypatch):
    original_get = deps.table.get_item
    calls = {"n": 0}

    def racing_get_item(**kwargs):
        calls["n"] += 1
        if calls["n"] == 1:  # another container writes between our read and our put
            winner = processing.handle(alb_event(BODY), deps, NOW)
            assert winner["statusCode"] == 201
            return {}
        return original_get(**kwargs)

    racing = type(
        "RacingTable",
        (),
        {"get_item": staticmethod(racing_get_item), "put_item": staticmethod(deps.table.put_item)},
    )()
    response = processing.handle(alb_event(BODY), dataclasses.replace(deps, table=racing), NOW)
    assert response["statusCode"] == 200 and response["headers"]["Idempotent-Replay"] == "true"


@pytest.mark.parametrize(
    ("event", "status", "message"),
    [
        (alb_event("{broken"), 400, "not valid JSON"),
        (alb_event(""), 400, "body is required"),
        (alb_event(BODY, method="GET"), 405, "only POST"),
        (alb_event({**BODY, "amount": "-1"}), 400, "amount"),
        (alb_event({**BODY, "currency": "DOLLARS"}), 400, "currency"),
    ],
)
def test_bad_input_gets_a_clear_4xx_and_writes_nothing(deps, event, status, message):
    response = processing.handle(event, deps, NOW)
    assert response["statusCode"] == status
    assert message in json.loads(response["body"])["message"]
    assert deps.table.scan()["Items"] == [] and audit_objects(deps) == []


def test_base64_bodies_from_the_alb_are_decoded(deps):
    assert processing.handle(alb_event(BODY, base64_encoded=True), deps, NOW)["statusCode"] == 201


def test_failing_fraud_function_answers_502_and_stores_nothing(deps):
    deps.invoke.failing.add("fraud")
    response = processing.handle(alb_event(BODY), deps, NOW)
    assert response["statusCode"] == 502
    assert deps.table.scan()["Items"] == []
    deps.invoke.failing.clear()  # the client's retry then succeeds
    assert processing.handle(alb_event(BODY), deps, NOW)["statusCode"] == 201


def test_lambda_invoker_reports_function_errors():
    class FakeLambda:
        def invoke(self, FunctionName, Payload):
            return {"FunctionError": "Unhandled", "Payload": io.BytesIO(b'{"errorMessage": "boom"}')}

    with pytest.raises(processing.UpstreamError, match="boom"):
        processing.lambda_invoker(FakeLambda())("fraud", {"transaction": {}})


# What an ALB accepts from a Lambda target (statusDescription is how it builds the status line).
ALB_KEYS = {"statusCode", "statusDescription", "headers", "multiValueHeaders", "body", "isBase64Encoded"}


@pytest.mark.parametrize(
    "event", [alb_event(BODY), alb_event("{oops"), alb_event(BODY, method="GET")], ids=["201", "400", "405"]
)
def test_answers_in_the_shape_the_alb_accepts(deps, event):
    response = processing.handle(event, deps, NOW)
    assert set(response) <= ALB_KEYS
    assert response["statusDescription"].startswith(f"{response['statusCode']} ")


# --- the audit record: one conditional PUT, never a read (issue 8) -------------------------------


def without_list_bucket(s3):
    """S3 as the function's role sees it: the stack grants s3:PutObject on audit/* and nothing to
    list the bucket, so S3 answers a read of a missing key with 403, never 404 (as real S3 does)."""

    def remember_key(params, context, **_):
        context["probe"] = (params["Bucket"], params["Key"])

    def forbid_missing(context, model, **_):
        bucket, key = context["probe"]
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=key).get("Contents", [])
        if any(o["Key"] == key for o in listed):
            return None  # s3:GetObject is enough for a key that exists
        code = "403" if model.name == "HeadObject" else "AccessDenied"  # HEAD has no error body
        error = {"Code": code, "Message": "Forbidden"}
        parsed = {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 403}}
        return AWSResponse(None, 403, {}, None), parsed

    for operation in ("HeadObject", "GetObject"):
        s3.meta.events.register(f"before-parameter-build.s3.{operation}", remember_key)
        s3.meta.events.register(f"before-call.s3.{operation}", forbid_missing)
    return s3


def test_new_and_replayed_transactions_need_no_read_of_the_audit_bucket(deps):
    """Without s3:ListBucket a missing key is 403: code that probes with HeadObject first answered
    every new transaction with an error after the DynamoDB write."""
    deps = dataclasses.replace(deps, s3=without_list_bucket(deps.s3))
    with pytest.raises(deps.s3.exceptions.ClientError, match="403"):
        deps.s3.head_object(Bucket=BUCKET, Key="audit/missing.json")  # the simulation holds
    first = processing.handle(alb_event(BODY), deps, NOW)
    assert first["statusCode"] == 201, first
    assert audit_objects(deps) == ["audit/2026/11/22/txn-1001.json"]
    deps.s3.delete_object(Bucket=BUCKET, Key="audit/2026/11/22/txn-1001.json")  # crash after the write
    again = processing.handle(alb_event(BODY), deps, NOW)
    assert again["statusCode"] == 200 and audit_objects(deps) == ["audit/2026/11/22/txn-1001.json"]


def test_a_replay_keeps_the_first_audit_record(deps):
    processing.handle(alb_event(BODY), deps, NOW)
    key = "audit/2026/11/22/txn-1001.json"
    first = deps.s3.get_object(Bucket=BUCKET, Key=key)["ETag"]
    assert processing.handle(alb_event(BODY), deps, NOW)["statusCode"] == 200  # moto answers 412
    assert deps.s3.get_object(Bucket=BUCKET, Key=key)["ETag"] == first


AUDIT_ITEM = {"transaction_id": "txn-1001", "created_at": "2026-11-22T12:00:00.000+00:00"}
CONDITIONAL_PUT = {
    "Bucket": BUCKET,
    "Key": "audit/2026/11/22/txn-1001.json",
    "Body": ANY,
    "ContentType": "application/json",
    "IfNoneMatch": "*",
    # Object Lock (prod) refuses a PUT without a checksum or Content-MD5 (Stubber checks each call).
    "ChecksumAlgorithm": "SHA256",
}


@pytest.fixture
def stubbed():
    """S3's documented answers to a conditional PUT (botocore Stubber): any call not queued fails."""
    s3 = boto3.client("s3", region_name="us-east-1")
    deps = processing.Dependencies(
        table=None, s3=s3, invoke=None, audit_bucket=BUCKET, validation_function="", fraud_function=""
    )
    with Stubber(s3) as stub:
        yield deps, stub
        stub.assert_no_pending_responses()


def test_audit_write_is_one_conditional_put_and_412_means_already_written(stubbed):
    deps, stub = stubbed
    stub.add_client_error(
        "put_object", "PreconditionFailed", http_status_code=412, expected_params=CONDITIONAL_PUT
    )
    processing.ensure_audit_record(deps, AUDIT_ITEM)  # a HeadObject first would raise here


def test_audit_write_retries_a_409_conflict_and_does_not_swallow_a_403(stubbed):
    deps, stub = stubbed
    stub.add_client_error(
        "put_object", "ConditionalRequestConflict", http_status_code=409, expected_params=CONDITIONAL_PUT
    )
    stub.add_response("put_object", {"ETag": '"abc"'}, expected_params=CONDITIONAL_PUT)
    processing.ensure_audit_record(deps, AUDIT_ITEM)  # 409 (a concurrent write), then written
    stub.add_client_error("put_object", "AccessDenied", http_status_code=403, expected_params=CONDITIONAL_PUT)
    with pytest.raises(deps.s3.exceptions.ClientError, match="AccessDenied"):
        processing.ensure_audit_record(deps, AUDIT_ITEM)  # a real permission problem surfaces
