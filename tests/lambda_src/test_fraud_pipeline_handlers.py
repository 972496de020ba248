"""The fraud pipeline's handlers end to end on moto: validator -> SQS -> fraud_detector -> SNS,
partial batches, the redrive to the DLQ and failed_handler draining it."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from lambda_src.pulumi_fraud_pipeline.failed_handler import index as failed_handler
from lambda_src.pulumi_fraud_pipeline.fraud_detector import index as detector
from lambda_src.pulumi_fraud_pipeline.validator import index as validator
from pulumi_fraud_pipeline.components.data import MERCHANT_INDEX
from tests.lambda_src.conftest import REGION, make_transactions_table

# failed_handler silences this in Lambda (warnings.filterwarnings); pytest resets filters per test.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TXN = {
    "transaction_id": "txn-1",
    "customer_id": "c-1",
    "merchant_id": "m-1",
    "amount": "40.00",
    "currency": "USD",
}


class Pipeline:
    """The AWS side of the pipeline in moto, wired as the Pulumi program wires it."""

    def __init__(self, max_receive_count: int = 5):
        dynamodb = boto3.resource("dynamodb", region_name=REGION)
        self.table = make_transactions_table("fraud-transactions-test", "merchant_id", MERCHANT_INDEX)
        self.dead_letters = dynamodb.create_table(
            TableName="fraud-dead-letters-test",
            KeySchema=[{"AttributeName": "message_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "message_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.sns = boto3.client("sns", region_name=REGION)
        self.dlq = self.sqs.create_queue(QueueName="dlq", Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
        dlq_arn = self._arn(self.dlq)
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count}
        self.queue = self.sqs.create_queue(
            QueueName="q", Attributes={"VisibilityTimeout": "0", "RedrivePolicy": json.dumps(redrive)}
        )["QueueUrl"]
        self.fraud_topic, self.fraud_inbox = self._topic_with_inbox("fraud")
        self.ops_topic, self.ops_inbox = self._topic_with_inbox("ops")
        self.validator = validator.Dependencies(table=self.table, sqs=self.sqs, queue_url=self.queue)
        self.detector = detector.Dependencies(
            table=self.table,
            sns=self.sns,
            topic_arn=self.fraud_topic,
            history=detector.dynamodb_history(self.table, MERCHANT_INDEX, partition_key="merchant_id"),
            clock=lambda: NOW,
        )
        self.failed = failed_handler.Dependencies(
            table=self.dead_letters,
            sns=self.sns,
            topic_arn=self.ops_topic,
            failure_metric="DeadLettersNotRecorded",
            environment="test",
        )

    def _arn(self, url):
        return self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]

    def _topic_with_inbox(self, name):
        topic = self.sns.create_topic(Name=name)["TopicArn"]
        inbox = self.sqs.create_queue(QueueName=f"{name}-inbox")["QueueUrl"]
        self.sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=self._arn(inbox),
            Attributes={"RawMessageDelivery": "true"},
        )
        return topic, inbox

    def post(self, body, now=NOW):
        event = {"httpMethod": "POST", "body": body if isinstance(body, str) else json.dumps(body)}
        return validator.handle(event, self.validator, now)

    def deliver(self, queue, record_handler, lambda_context, monkeypatch):
        """One event-source-mapping poll: receive a batch, invoke, delete what did not fail."""
        received = self.sqs.receive_message(
            QueueUrl=queue, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
        ).get("Messages", [])
        if not received:
            return None
        event = {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": {},
                    "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self._arn(queue),
                    "awsRegion": REGION,
                }
                for m in received
            ]
        }
        module = detector if record_handler == "detector" else failed_handler
        deps = self.detector if record_handler == "detector" else self.failed
        monkeypatch.setattr(module, "_deps", deps)
        # Read from POWERTOOLS_METRICS_NAMESPACE at import in Lambda; failed_handler counts failures.
        monkeypatch.setattr(failed_handler.metrics, "namespace", "FraudPipelineTest")
        result = module.handler(event, lambda_context)
        failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
        for m in received:
            if m["MessageId"] not in failed:
                self.sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
        return result

    def inbox(self, queue):
        messages = self.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    def depth(self, queue):
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


@pytest.fixture
def pipeline(aws):
    return Pipeline()


def test_valid_transaction_flows_to_a_decision(pipeline, lambda_context, monkeypatch):
    assert pipeline.post(TXN)["statusCode"] == 202
    result = pipeline.deliver(pipeline.queue, "detector", lambda_context, monkeypatch)
    assert result == {"batchItemFailures": []}
    item = pipeline.table.get_item(Key={"transaction_id": "txn-1"})["Item"]
    assert item["status"] == "SCORED" and item["decision"] == "APPROVE"
    assert pipeline.inbox(pipeline.fraud_inbox) == []  # approvals are not alerts


def test_high_risk_transaction_is_published_to_the_fraud_topic(pipeline, lambda_context, monkeypatch):
    for i in range(5):  # a baseline for the merchant: five small transactions earlier today
        pipeline.post({**TXN, "transaction_id": f"base-{i}", "amount": "20.00"}, NOW - timedelta(hours=1))
    pipeline.post({**TXN, "transaction_id": "big-1", "amount": "12000.00"})
    while pipeline.deliver(pipeline.queue, "detector", lambda_context, monkeypatch):
        pass
    (alert,) = pipeline.inbox(pipeline.fraud_inbox)
    assert alert["transaction_id"] == "big-1" and alert["decision"] == "DECLINE"  # 50 + 40
    assert set(alert["reasons"]) == {"high_amount", "unusual_for_merchant"}


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ("{oops", 400, None),
        ({**TXN, "amount": "-1"}, 400, "amount"),
        ({**TXN, "currency": "XXX"}, 400, "currency"),
        ({k: v for k, v in TXN.items() if k != "merchant_id"}, 400, "merchant_id"),
    ],
)
def test_bad_input_is_rejected_and_nothing_is_enqueued(pipeline, body, status, field):
    response = pipeline.post(body)
    assert response["statusCode"] == status
    if field:
        assert json.loads(response["body"])["field"] == field
    assert pipeline.depth(pipeline.queue) == 0 and pipeline.table.scan()["Items"] == []


def test_duplicate_post_is_not_enqueued_twice_and_conflicts_are_409(pipeline):
    assert pipeline.post(TXN)["statusCode"] == 202
    again = pipeline.post(TXN)
    assert again["statusCode"] == 202 and again["headers"]["Idempotent-Replay"] == "true"
    assert pipeline.depth(pipeline.queue) == 1
    assert pipeline.post({**TXN, "amount": "41.00"})["statusCode"] == 409


def test_duplicate_delivery_is_scored_and_alerted_once(pipeline, lambda_context, monkeypatch):
    pipeline.post({**TXN, "amount": "15000.00"})
    (message,) = pipeline.sqs.receive_message(QueueUrl=pipeline.queue)["Messages"]
    pipeline.sqs.send_message(QueueUrl=pipeline.queue, MessageBody=message["Body"])  # at-least-once: a copy
    while pipeline.deliver(pipeline.queue, "detector", lambda_context, monkeypatch):
        pass
    assert len(pipeline.inbox(pipeline.fraud_inbox)) == 1


@pytest.mark.catalogue("fraud-15")
def test_poison_record_fails_alone_then_reaches_the_dlq_and_is_recorded(
    pipeline, lambda_context, monkeypatch
):
    """Fix: a poison record is a batch item failure, the rest succeeds; after the redrive count the
    DLQ holds it, and failed_handler records it and alerts without losing it."""
    pipeline.post(TXN)
    pipeline.sqs.send_message(QueueUrl=pipeline.queue, MessageBody='{"not": "a transaction"')
    first = pipeline.deliver(pipeline.queue, "detector", lambda_context, monkeypatch)
    assert len(first["batchItemFailures"]) == 1
    assert pipeline.table.get_item(Key={"transaction_id": "txn-1"})["Item"]["status"] == "SCORED"
    for _ in range(7):  # redeliveries until SQS moves it (maxReceiveCount 5)
        pipeline.deliver(pipeline.queue, "detector", lambda_context, monkeypatch)
    assert pipeline.depth(pipeline.queue) == 0 and pipeline.depth(pipeline.dlq) == 1
    assert pipeline.deliver(pipeline.dlq, "failed", lambda_context, monkeypatch) == {"batchItemFailures": []}
    (record,) = pipeline.dead_letters.scan()["Items"]
    assert record["body"] == '{"not": "a transaction"'
    (alert,) = pipeline.inbox(pipeline.ops_inbox)
    assert alert["message_id"] == record["message_id"]


def test_failed_handler_keeps_what_it_cannot_announce_then_announces_once(
    pipeline, lambda_context, monkeypatch
):
    pipeline.sqs.send_message(QueueUrl=pipeline.dlq, MessageBody="lost?")
    working = pipeline.failed
    broken = dataclasses.replace(working, topic_arn="arn:aws:sns:us-east-1:123456789012:missing")
    monkeypatch.setattr(pipeline, "failed", broken)
    result = pipeline.deliver(pipeline.dlq, "failed", lambda_context, monkeypatch)
    assert len(result["batchItemFailures"]) == 1
    assert pipeline.depth(pipeline.dlq) == 1  # still there for the next attempt
    (stored,) = pipeline.dead_letters.scan()["Items"]
    assert stored["alerted"] is False
    monkeypatch.setattr(pipeline, "failed", working)  # the topic works again
    assert pipeline.deliver(pipeline.dlq, "failed", lambda_context, monkeypatch) == {"batchItemFailures": []}
    assert len(pipeline.inbox(pipeline.ops_inbox)) == 1 and pipeline.depth(pipeline.dlq) == 0
    assert pipeline.dead_letters.scan()["Items"][0]["alerted"] is True


@pytest.mark.catalogue("fraud-15")
def test_detector_alert_lost_to_a_failing_topic_is_sent_on_redelivery_then_never_again(
    pipeline, lambda_context, monkeypatch
):
    """Decision stored, alert failed: a batch item failure, and the redelivery alerts what was decided."""
    pipeline.post({**TXN, "amount": "15000.00"})
    working = pipeline.detector
    broken = detector.Dependencies(
        table=working.table,
        sns=working.sns,
        topic_arn="arn:aws:sns:us-east-1:123456789012:missing",
        history=working.history,
        clock=working.clock,
    )
    monkeypatch.setattr(pipeline, "detector", broken)
    first = pipeline.deliver(pipeline.queue, "detector", lambda_context, monkeypatch)
    assert len(first["batchItemFailures"]) == 1 and pipeline.depth(pipeline.queue) == 1
    stored = pipeline.table.get_item(Key={"transaction_id": "txn-1"})["Item"]
    assert stored["decision"] == "REVIEW" and stored["alerted"] is False

    monkeypatch.setattr(pipeline, "detector", working)  # the topic works again
    assert pipeline.deliver(pipeline.queue, "detector", lambda_context, monkeypatch) == {
        "batchItemFailures": []
    }
    (alert,) = pipeline.inbox(pipeline.fraud_inbox)
    assert alert["transaction_id"] == "txn-1" and alert["decision"] == "REVIEW"
    assert alert["score"] == stored["score"] and alert["reasons"] == stored["reasons"]
    assert pipeline.table.get_item(Key={"transaction_id": "txn-1"})["Item"]["alerted"] is True

    message = {**TXN, "amount": "15000.00", "created_at": NOW.isoformat()}
    pipeline.sqs.send_message(QueueUrl=pipeline.queue, MessageBody=json.dumps(message))  # a late copy
    assert pipeline.deliver(pipeline.queue, "detector", lambda_context, monkeypatch) == {
        "batchItemFailures": []
    }
    assert pipeline.inbox(pipeline.fraud_inbox) == [] and pipeline.depth(pipeline.queue) == 0


def fail_once(client, event: str, error: Exception) -> None:
    """The client's next call to raise ``error`` at ``event``: ``before-call.<service>.<Op>`` (the
    service never saw it) or ``after-call...`` (the service acted, then the client saw a failure)."""
    pending = [error]

    def fail(**_):
        if pending:
            raise pending.pop()

    client.meta.events.register(event, fail)


def flaky_validator(pipeline, monkeypatch, event: str, error: Exception) -> None:
    sqs = boto3.client("sqs", region_name=REGION)  # its own client: the test's calls stay unaffected
    fail_once(sqs, event, error)
    monkeypatch.setattr(
        pipeline, "validator", validator.Dependencies(table=pipeline.table, sqs=sqs, queue_url=pipeline.queue)
    )


def stored(pipeline, transaction_id="txn-1"):
    return pipeline.table.get_item(Key={"transaction_id": transaction_id}, ConsistentRead=True)["Item"]


def test_a_retry_enqueues_the_transaction_whose_send_message_failed(pipeline, lambda_context, monkeypatch):
    """Fix: recorded, then SendMessage failed once: the client is told 503 (retry), not 202, and its
    retry enqueues the recorded transaction, which is scored and alerted. Before, the retry met the
    stored item and answered a 202 replay without enqueuing: never scored, no alert."""
    unavailable = ClientError(
        {"Error": {"Code": "InternalError", "Message": "internal error"}}, "SendMessage"
    )
    flaky_validator(pipeline, monkeypatch, "before-call.sqs.SendMessage", unavailable)
    body = {**TXN, "amount": "15000.00"}

    first = pipeline.post(body)
    assert first["statusCode"] == 503 and first["headers"]["Retry-After"] == "1"
    assert json.loads(first["body"])["message"].endswith("send the same request again")
    assert pipeline.depth(pipeline.queue) == 0
    assert stored(pipeline)["status"] == "RECEIVED" and "enqueued_at" not in stored(pipeline)

    retry = pipeline.post(body)
    assert retry["statusCode"] == 202 and retry["headers"]["Idempotent-Replay"] == "true"
    assert pipeline.depth(pipeline.queue) == 1 and "enqueued_at" in stored(pipeline)
    assert pipeline.deliver(pipeline.queue, "detector", lambda_context, monkeypatch) == {
        "batchItemFailures": []
    }
    assert stored(pipeline)["decision"] == "REVIEW"
    assert len(pipeline.inbox(pipeline.fraud_inbox)) == 1

    again = pipeline.post(body)  # enqueued once already: a plain replay
    assert again["statusCode"] == 202 and pipeline.depth(pipeline.queue) == 0


def test_a_send_that_timed_out_after_sqs_accepted_it_is_scored_and_alerted_once(
    pipeline, lambda_context, monkeypatch
):
    """SendMessage timed out after SQS had accepted the message: 503, and the retry enqueues a
    second copy. The detector scores the transaction once and alerts once."""
    timeout = ReadTimeoutError(endpoint_url=pipeline.queue)
    flaky_validator(pipeline, monkeypatch, "after-call.sqs.SendMessage", timeout)
    body = {**TXN, "amount": "15000.00"}
    assert pipeline.post(body)["statusCode"] == 503
    assert pipeline.depth(pipeline.queue) == 1  # SQS has it; the validator could not know
    assert pipeline.post(body)["statusCode"] == 202
    assert pipeline.depth(pipeline.queue) == 2

    while pipeline.deliver(pipeline.queue, "detector", lambda_context, monkeypatch):
        pass
    (alert,) = pipeline.inbox(pipeline.fraud_inbox)
    assert alert["decision"] == "REVIEW" and stored(pipeline)["alerted"] is True
    assert pipeline.depth(pipeline.queue) == 0 and pipeline.depth(pipeline.dlq) == 0


class PublishesWhileAnotherDeliveryRuns:
    """SNS whose first publish lets a second invocation run ``then`` first: two deliveries at once."""

    def __init__(self, sns, then):
        self.sns, self.then, self.second = sns, then, None
        self.interleaved = False

    def publish(self, **kwargs):
        if not self.interleaved:
            self.interleaved = True
            self.second = self.then()
        return self.sns.publish(**kwargs)


def test_two_copies_delivered_at_once_alert_once(pipeline):
    """Two copies of a transaction in two invocations at once: the one that stored the decision
    holds the alert claim; the other, finding the decision unalerted but claimed, publishes nothing
    (before, it published too: two alert e-mails) and succeeds, the holder's message still queued."""
    pipeline.post({**TXN, "amount": "15000.00"})
    body = json.dumps({**TXN, "amount": "15000.00", "created_at": NOW.isoformat()})
    sns = PublishesWhileAnotherDeliveryRuns(
        pipeline.sns, lambda: detector.detect(body, pipeline.detector, NOW, "message-2")
    )
    holder = dataclasses.replace(pipeline.detector, sns=sns)
    assert detector.detect(body, holder, NOW, "message-1")["decision"] == "REVIEW"
    assert sns.second == {"transaction_id": "txn-1", "duplicate": True}
    assert len(pipeline.inbox(pipeline.fraud_inbox)) == 1
    assert stored(pipeline)["alerted"] is True and "alert_claim" not in stored(pipeline)


@pytest.mark.parametrize(("lease_left", "alerts"), [(timedelta(seconds=30), 0), (timedelta(seconds=-1), 1)])
def test_an_unfinished_alert_is_taken_over_only_when_its_lease_is_over(pipeline, lease_left, alerts):
    """A holder that died after storing its decision leaves a claim: another copy waits out the lease
    (the holder's message may still finish it), then alerts."""
    pipeline.post({**TXN, "amount": "15000.00"})
    pipeline.table.update_item(
        Key={"transaction_id": "txn-1"},
        UpdateExpression="SET decision = :d, score = :s, reasons = :r, alerted = :no, "
        "alert_claim = :c, alert_claim_until = :u",
        ExpressionAttributeValues={
            ":d": "REVIEW",
            ":s": 40,
            ":r": ["high_amount"],
            ":no": False,
            ":c": "message-1",
            ":u": detector._instant(NOW + lease_left),
        },
    )
    body = json.dumps({**TXN, "amount": "15000.00", "created_at": NOW.isoformat()})
    detector.detect(body, pipeline.detector, NOW, "message-2")
    assert len(pipeline.inbox(pipeline.fraud_inbox)) == alerts
    assert stored(pipeline)["alerted"] is bool(alerts)


def published(sns) -> list[dict]:
    """Every Publish the client makes, as the handler passed it (subject, message, attributes)."""
    calls: list[dict] = []
    sns.meta.events.register("before-parameter-build.sns.Publish", lambda params, **_: calls.append(params))
    return calls


# What an alert e-mail must not carry: a name, an e-mail address, a card number (13-19 digits,
# spaces or dashes between, standing alone: not the digits inside a UUID such as an SQS message id,
# "...c233-4510-9734-56150...", which a bare pattern took for one now and then), a full account id.
CARD_NUMBER = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
E_MAIL = re.compile(r"[^@\s\"]+@[^@\s\"]+\.[a-z]+")


def personal_data_in(publish: dict, *identifiers: str) -> list[str]:
    text = json.dumps(publish)
    found = CARD_NUMBER.findall(text) + E_MAIL.findall(text)
    return found + [value for value in ("Jane", "Doe", *identifiers) if value in text]


PII_TRANSACTION = {
    **TXN,
    "customer_id": "4111111111111111",  # an account id that is a card number: the ID rules allow it
    "merchant_id": "merchant-778899",
    "amount": "15000.00",
    "description": "Jane Doe, jane.doe@example.com, card 4111 1111 1111 1111",
}


def test_the_fraud_alert_carries_no_personal_data(pipeline, lambda_context, monkeypatch):
    """Fix: the fraud alert (an e-mail) names the transaction by id, with the customer and merchant
    ids masked to their last four characters and no description; it carried the whole transaction:
    the free-text description (names, e-mail addresses, card numbers) and full account ids."""
    calls = published(pipeline.sns)
    assert pipeline.post(PII_TRANSACTION)["statusCode"] == 202
    pipeline.deliver(pipeline.queue, "detector", lambda_context, monkeypatch)
    (alert,) = calls
    assert personal_data_in(alert, "4111111111111111", "merchant-778899") == []
    body = json.loads(alert["Message"])
    assert (body["transaction_id"], body["customer"], body["merchant"]) == ("txn-1", "****1111", "****8899")
    assert (body["decision"], body["amount"], body["currency"]) == ("REVIEW", "15000.00", "USD")
    assert alert["Subject"] == "Fraud REVIEW: txn-1"
    assert detector.masked("c-12345") == "****"  # a short id would be mostly given away: none of it


@pytest.mark.parametrize(
    ("body", "transaction_id"),
    [
        (json.dumps({**PII_TRANSACTION, "amount": "oops"}), "txn-1"),
        ("name=Jane Doe&email=jane.doe@example.com&card=4111111111111111", None),
        (json.dumps({"transaction_id": "jane.doe@example.com"}), None),  # not an id: not repeated
    ],
)
def test_the_dead_letter_alert_carries_no_personal_data(
    pipeline, lambda_context, monkeypatch, body, transaction_id
):
    """Fix: failed_handler's ops e-mail gives the message id (the dead-letters table has the body)
    and a well-formed transaction id, never the body, which carries whatever the client sent."""
    calls = published(pipeline.sns)
    pipeline.sqs.send_message(QueueUrl=pipeline.dlq, MessageBody=body)
    assert pipeline.deliver(pipeline.dlq, "failed", lambda_context, monkeypatch) == {"batchItemFailures": []}
    (alert,) = calls
    assert personal_data_in(alert, "4111111111111111", "merchant-778899") == []
    announced = json.loads(alert["Message"])
    (record,) = pipeline.dead_letters.scan()["Items"]
    assert announced["message_id"] == record["message_id"] and record["body"] == body  # kept, not sent
    assert announced.get("transaction_id") == transaction_id
    assert announced["first_sent_at"].endswith("+00:00")  # a time, not 13 digits


def test_merchant_history_excludes_the_transaction_itself(pipeline):
    pipeline.post(TXN)
    result = detector.detect(json.dumps({**TXN, "created_at": NOW.isoformat()}), pipeline.detector, NOW, "m")
    assert result["score"] == 0 and Decimal(TXN["amount"]) > 0


# The keys API Gateway's Lambda proxy integration accepts; any other key answers the client 502
# ("Malformed Lambda proxy response"). From AWS's documented output format, not from common.http.
API_GATEWAY_PROXY_KEYS = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}


def test_validator_answers_only_in_the_shape_api_gateway_accepts(pipeline):
    """The validator sits behind a REST API proxy integration: created, replayed, conflict, bad input."""
    statuses = []
    for body in (TXN, TXN, {**TXN, "amount": "41.00"}, "{oops"):
        response = pipeline.post(body)
        assert set(response) <= API_GATEWAY_PROXY_KEYS, set(response) - API_GATEWAY_PROXY_KEYS
        assert isinstance(response["statusCode"], int) and isinstance(response["body"], str)
        statuses.append(response["statusCode"])
    assert statuses == [202, 202, 409, 400]
