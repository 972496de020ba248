"""The state machine definition, executed by moto's Step Functions interpreter, with our real
handlers behind moto's Lambda (its Docker-free backend is patched to call them in-process)."""

from __future__ import annotations

import importlib
import io
import json
import time
import uuid
import zipfile

import boto3
import pytest
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.exceptions import JsonRESTError
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

from cdktf_transactions.definition import Targets, definition_json
from tests.lambda_src.conftest import REGION, LambdaContext, make_transactions_table

FUNCTIONS = ("validation", "fraud_check", "settlement", "notification")
TRANSACTION = {
    "transaction_id": "txn-sfn-1",
    "customer_id": "cust-1",
    "merchant_id": "m-1",
    "amount": 25.5,
    "currency": "USD",
}


class Throttled(JsonRESTError):
    code = 429

    def __init__(self):
        super().__init__("TooManyRequestsException", "Rate exceeded")


class Handlers:
    """Routes moto Lambda invocations to lambda_src/cdktf_transactions/<function>/index.handler."""

    def __init__(self):
        self.modules = {
            f: importlib.import_module(f"lambda_src.cdktf_transactions.{f}.index") for f in FUNCTIONS
        }
        self.calls: list[str] = []
        self.throttle: dict[str, int] = {}  # function -> how many calls to throttle first

    def invoke(self, backend, function_name, qualifier, body, headers, response_headers):
        name = next(
            f for f in FUNCTIONS if function_name.endswith(f"transactions-{f.replace('_', '-')}-test")
        )
        self.calls.append(name)
        if self.throttle.get(name):
            self.throttle[name] -= 1
            raise Throttled()
        try:
            result = self.modules[name].handler(json.loads(body or "{}"), LambdaContext(function_name=name))
        except Exception as exc:  # what the Lambda runtime reports for an unhandled error
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)}).encode()
        return json.dumps(result, default=str).encode()


@pytest.fixture
def pipeline(monkeypatch, dev):
    # The index the stack gives the fraud check (its provider bindings stay out of this process).
    index = dev.function("fraud_check")["environment"]["variables"]["CUSTOMER_INDEX"]
    config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    with mock_aws(config=config):
        handlers = Handlers()
        monkeypatch.setattr(
            LambdaSimpleBackend, "invoke", lambda backend, *args: handlers.invoke(backend, *args)
        )
        waits: list[float] = []
        # Record the interpreter's Retry waits instead of spending them (only in its own module).
        monkeypatch.setattr(retrier_decl, "time", type("Clock", (), {"sleep": staticmethod(waits.append)}))
        for module in handlers.modules.values():  # clients are created per container: fresh under moto
            for cached in ("_table", "_sns", "_history"):
                if hasattr(module, cached):
                    monkeypatch.setattr(module, cached, None)

        table = make_transactions_table("transactions-test", index_name=index)
        sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
        topic = sns.create_topic(Name="transactions-notifications-test")["TopicArn"]
        queue = sqs.create_queue(QueueName="subscriber")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(
            TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
        )
        monkeypatch.setenv("TRANSACTIONS_TABLE", table.name)
        monkeypatch.setenv("CUSTOMER_INDEX", index)
        monkeypatch.setenv("TOPIC_ARN", topic)

        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="test", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr("index.py", "def handler(event, context): return event")
        lambda_client = boto3.client("lambda", region_name=REGION)
        arns = {
            f: lambda_client.create_function(
                FunctionName=f"transactions-{f.replace('_', '-')}-test",
                Runtime="python3.12",
                Role=role,
                Handler="index.handler",
                Code={"ZipFile": archive.getvalue()},
            )["FunctionArn"]
            for f in FUNCTIONS
        }
        sfn = boto3.client("stepfunctions", region_name=REGION)
        machine = sfn.create_state_machine(
            name="transactions-test",
            roleArn=role,
            definition=definition_json(Targets(**arns, notifications_topic=topic), retry_interval_seconds=2),
        )["stateMachineArn"]

        def run(payload):
            execution = sfn.start_execution(
                stateMachineArn=machine, name=f"run-{uuid.uuid4()}", input=json.dumps(payload)
            )["executionArn"]
            deadline = time.monotonic() + 30
            while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
                assert time.monotonic() < deadline, "execution did not finish"
                time.sleep(0.05)
            return described

        def history(execution_arn):
            return sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]

        def messages():
            received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
            return [json.loads(m["Body"]) for m in received]

        yield type(
            "Pipeline",
            (),
            {
                "run": staticmethod(run),
                "history": staticmethod(history),
                "messages": staticmethod(messages),
                "table": table,
                "handlers": handlers,
                "waits": waits,
            },
        )


@pytest.mark.catalogue("transactions-06")
def test_success_path_settles_and_notifies(pipeline):
    """Fix: the definition runs end to end: Validate -> FraudCheck -> Settle -> Notify."""
    result = pipeline.run(TRANSACTION)
    assert result["status"] == "SUCCEEDED", result
    output = json.loads(result["output"])
    assert output["settlement"] == {
        "transaction_id": "txn-sfn-1",
        "status": "SETTLED",
        "decision": "APPROVE",
        "score": 0,
    }
    assert pipeline.handlers.calls == list(FUNCTIONS)
    item = pipeline.table.get_item(Key={"transaction_id": "txn-sfn-1"})["Item"]
    assert str(item["amount"]) == "25.50" and item["status"] == "SETTLED"
    (message,) = pipeline.messages()
    assert message["event"] == "transaction.settled" and message["status"] == "SETTLED"


@pytest.mark.catalogue("transactions-06")
def test_throttled_invocation_is_retried_with_backoff(pipeline):
    """Fix: Lambda.TooManyRequestsException is retried (backoff with full jitter), then the run succeeds."""
    pipeline.handlers.throttle["fraud_check"] = 2
    result = pipeline.run(TRANSACTION)
    assert result["status"] == "SUCCEEDED", result
    assert pipeline.handlers.calls.count("fraud_check") == 3
    assert len(pipeline.waits) == 2 and all(0 <= w <= 4 for w in pipeline.waits)


@pytest.mark.catalogue("transactions-06")
def test_invalid_transaction_is_caught_notified_and_fails_without_retry(pipeline):
    """Fix: a function error is not retried; Catch publishes the failure to SNS and the run fails."""
    result = pipeline.run({**TRANSACTION, "amount": "-3"})
    assert result["status"] == "FAILED"
    assert pipeline.handlers.calls == ["validation"]
    (message,) = pipeline.messages()
    assert message == {
        "event": "transaction.failed",
        "execution": result["name"],
        "failed_state": "Validate",
        "error": "InvalidTransaction",
    }
    assert pipeline.table.scan()["Items"] == []


@pytest.mark.catalogue("transactions-06")
def test_exhausted_retries_are_caught_too(pipeline):
    """Fix: retries run out into the catch branch, whose message is trimmed to ids and the error type."""
    pipeline.handlers.throttle["settlement"] = 5
    result = pipeline.run(TRANSACTION)
    assert result["status"] == "FAILED"
    assert pipeline.handlers.calls.count("settlement") == 4  # the first attempt + MaxAttempts (3) retries
    (message,) = pipeline.messages()
    assert message == {  # ids, the failed state, the error type: no transaction body, no stack trace
        "event": "transaction.failed",
        "execution": result["name"],
        "failed_state": "Settle",
        "error": "Lambda.TooManyRequestsException",
        "transaction_id": "txn-sfn-1",
    }


def test_redelivered_transaction_settles_once(pipeline):
    assert pipeline.run(TRANSACTION)["status"] == "SUCCEEDED"
    again = pipeline.run(TRANSACTION)
    assert again["status"] == "SUCCEEDED"
    assert len(pipeline.table.scan()["Items"]) == 1


# Sent along by a careless caller: none of it may go past the Validate task.
PERSONAL = {
    "card_number": "4111 1111 1111 1111",
    "cardholder_name": "Jane Q. Example",
    "email": "jane@example.com",
    "account_number": "DE89370400440532013000",
}


@pytest.mark.catalogue("transactions-06")
def test_personal_data_goes_no_further_than_the_input_as_sent(pipeline):
    """Fix (issue 8, personal data): the execution history keeps every state's input and output for
    90 days. Unknown fields are dropped and the description is masked by Validate, so the caller's
    input (ExecutionStarted, and Validate's own events) is the only place they appear."""
    described = "refund to jane@example.com, card 4111-1111-1111-1111"
    result = pipeline.run({**TRANSACTION, **PERSONAL, "description": described})
    assert result["status"] == "SUCCEEDED", result
    secrets = [*PERSONAL.values(), "jane@example.com", "4111-1111-1111-1111", "4111111111111111"]
    events = pipeline.history(result["executionArn"])
    validated = next(
        i
        for i, e in enumerate(events)
        if e["type"] == "TaskSucceeded" and "transaction" in json.dumps(e, default=str)
    )
    assert any(secret in json.dumps(events[0], default=str) for secret in secrets)  # the input as sent
    later = json.dumps(events[validated:], default=str) + result["output"]
    assert [secret for secret in secrets if secret in later] == []
    assert "refund to [email], card ****1111" in later  # masked, not dropped
    item = pipeline.table.get_item(Key={"transaction_id": "txn-sfn-1"})["Item"]
    assert item["description"] == "refund to [email], card ****1111" and "email" not in item
