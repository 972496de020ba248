"""order_processor on moto (DynamoDB, Secrets Manager) and a real PostgreSQL server (the ledger)."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import boto3
import psycopg2
import pytest

from lambda_src.pulumi_trading_dr.order_processor import index as op
from tests.iam.requests import required_actions
from tests.lambda_src.conftest import LEDGER_ROLE as ROLE, REGION

EVENTS = Path(__file__).parent / "events"
FUNCTION_DIR = Path(op.__file__).parent
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ORDER = {
    "order_id": "ord-1",
    "account_id": "acct-1",
    "symbol": "BRK.B",
    "side": "BUY",
    "quantity": 100,
    "limit_price": "412.3500",
}


def order(**changes):
    return json.dumps({**ORDER, **changes})


def sqs_event(*bodies, ids=None):
    """An SQS event as the event source mapping delivers it, one record per body (msg-0, msg-1, ...)."""
    template = json.loads((EVENTS / "trading_dr_orders_sqs_batch.json").read_text())["Records"][0]
    ids = ids or [f"msg-{number}" for number in range(len(bodies))]
    return {
        "Records": [
            {**copy.deepcopy(template), "messageId": i, "body": b} for i, b in zip(ids, bodies, strict=True)
        ]
    }


def failed_ids(result):
    return sorted(f["itemIdentifier"] for f in result["batchItemFailures"])


class Stack:
    """The function's AWS side in moto, and its dependencies wired as _default_deps wires them."""

    def __init__(self, database):
        self.database = database
        self.table = boto3.resource("dynamodb", region_name=REGION).create_table(
            TableName="trading-dr-test-orders",
            KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.secrets = boto3.client("secretsmanager", region_name=REGION)
        self.secret_arn = self.secrets.create_secret(
            Name="trading-dr/test/ledger", SecretString=json.dumps(self.secret_value(database.password))
        )["ARN"]
        self.secret_reads = 0
        read = op.secret_reader(self.secrets, self.secret_arn)

        def counting_read():
            self.secret_reads += 1
            return read()

        self.ledger = op.Ledger(
            read_secret=counting_read,
            host=database.server.host,
            options={"sslmode": "disable", "connect_timeout": 5},  # the local server has no TLS
        )
        self.sqs = boto3.client("sqs", region_name=REGION)
        # The queue as the stack makes it: the visibility timeout six times the function's 300 s.
        self.queue_url = self.sqs.create_queue(
            QueueName="trading-dr-dev-orders-primary", Attributes={"VisibilityTimeout": "1800"}
        )["QueueUrl"]
        self.deps = op.Dependencies(
            table=self.table,
            ledger=self.ledger,
            region=REGION,
            sqs=self.sqs,
            read_only_retry_seconds=1,
            clock=lambda: NOW,
        )

    def secret_value(self, password):
        return {
            "username": ROLE,
            "password": password,
            "dbname": self.database.name,
            "port": self.database.server.port,
        }

    def rotate_password(self, password, *, update_secret=True):
        self.database.as_superuser(f"ALTER ROLE {ROLE} WITH PASSWORD %s", (password,))
        if update_secret:
            self.secrets.put_secret_value(
                SecretId=self.secret_arn, SecretString=json.dumps(self.secret_value(password))
            )

    def received(self, *bodies):
        """The bodies sent to the queue and received as the event source mapping receives them:
        an SQS event whose receipt handles are real."""
        for body in bodies:
            self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=body)
        messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)["Messages"]
        event = sqs_event(*(m["Body"] for m in messages), ids=[m["MessageId"] for m in messages])
        for record, message in zip(event["Records"], messages, strict=True):
            record["receiptHandle"] = message["ReceiptHandle"]
        return event

    def visible(self):
        return self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])

    def deliver(self, event, lambda_context, monkeypatch):
        monkeypatch.setattr(op, "_deps", self.deps)
        return op.handler(event, lambda_context)

    def item(self, order_id):
        return self.table.get_item(Key={"order_id": order_id}, ConsistentRead=True).get("Item")

    def items(self):
        return sorted(self.table.scan(ConsistentRead=True)["Items"], key=lambda item: item["order_id"])


@pytest.fixture
def stack(aws, database):
    stack = Stack(database)
    yield stack
    stack.ledger.discard()


def test_the_sample_event_lands_in_both_stores(stack, lambda_context, monkeypatch):
    event = json.loads((EVENTS / "trading_dr_orders_sqs_batch.json").read_text())
    assert stack.deliver(event, lambda_context, monkeypatch) == {"batchItemFailures": []}
    item = stack.item("ord-20261122-0001")
    assert item["limit_price"] == Decimal("412.35") and item["quantity"] == 100
    assert item["region"] == REGION and item["received_at"] == "2026-11-22T12:00:00.000+00:00"
    assert stack.database.rows() == [
        ("ord-20261122-0001", "acct-7781", "BRK.B", "BUY", 100, Decimal("412.3500"), REGION)
    ]


def test_a_valid_batch_lands_in_both_stores(stack, lambda_context, monkeypatch):
    bodies = [order(order_id=f"ord-{n}", quantity=n, limit_price=f"{n}.25") for n in (1, 2, 3)]
    assert stack.deliver(sqs_event(*bodies), lambda_context, monkeypatch) == {"batchItemFailures": []}
    assert [(i["order_id"], i["quantity"], i["limit_price"]) for i in stack.items()] == [
        (f"ord-{n}", n, Decimal(f"{n}.25")) for n in (1, 2, 3)
    ]
    assert [(row[0], row[4], row[5]) for row in stack.database.rows()] == [
        (f"ord-{n}", n, Decimal(f"{n}.25")) for n in (1, 2, 3)
    ]


def test_a_redelivered_order_is_stored_once(stack, lambda_context, monkeypatch):
    """At-least-once delivery: the same order twice in a batch and again later changes nothing."""
    first = stack.deliver(sqs_event(order(), order()), lambda_context, monkeypatch)
    stored = stack.item("ord-1")
    later = op.Dependencies(table=stack.table, ledger=stack.ledger, region="us-west-2", clock=lambda: NOW)
    monkeypatch.setattr(op, "_deps", later)  # redelivered a minute later, say in the other region
    second = op.handler(sqs_event(order(limit_price="412.35")), lambda_context)  # the same price
    assert first == second == {"batchItemFailures": []}
    assert stack.items() == [stored]
    assert len(stack.database.rows()) == 1 and stack.database.rows()[0][6] == REGION


MALFORMED = {
    "not-json": "{oops",
    "not-an-object": "[]",
    "missing-field": json.dumps({k: v for k, v in ORDER.items() if k != "symbol"}),
    "unknown-field": order(comment="rush"),
    "five-decimals": order(limit_price="412.12345"),
    "price-as-json-number": order().replace('"412.3500"', "412.35"),
    "price-exponent": order(limit_price="1e3"),
    "price-zero": order(limit_price="0.0000"),
    "negative-price": order(limit_price="-1.00"),
    "negative-quantity": order(quantity=-5),
    "zero-quantity": order(quantity=0),
    "quantity-too-large": order(quantity=1_000_000_001),
    "fractional-quantity": order(quantity=1.5),
    "boolean-quantity": order(quantity=True),
    "unknown-side": order(side="HOLD"),
    "lowercase-symbol": order(symbol="brk.b"),
    "trailing-newline-in-id": order(order_id="ord-1\n"),
    "account-id-too-long": order(account_id="a" * 65),
    "duplicate-key": '{"order_id": "x", ' + order()[1:],
    "nan": order().replace("100", "NaN"),
}


def test_malformed_records_fail_alone(stack, lambda_context, monkeypatch):
    """Each malformed record is a batch item failure (SQS redrives it to the DLQ after the redrive
    count); the valid records around them succeed. Message ids name the malformation."""
    ids = ["good-before", *MALFORMED, "good-after"]
    bodies = [order(order_id="good-1"), *MALFORMED.values(), order(order_id="good-2")]
    result = stack.deliver(sqs_event(*bodies, ids=ids), lambda_context, monkeypatch)
    assert failed_ids(result) == sorted(MALFORMED)
    assert [i["order_id"] for i in stack.items()] == ["good-1", "good-2"]
    assert [row[0] for row in stack.database.rows()] == ["good-1", "good-2"]


def test_each_failed_record_is_counted_for_the_failing_orders_alarm(
    stack, lambda_context, monkeypatch, capsys
):
    """Batch item failures are no Lambda errors: the processor writes FailedRecords (CloudWatch's
    embedded metric format, to its log) for the alarm that watches them."""
    monkeypatch.setenv("ENVIRONMENT", "dev")
    monkeypatch.delenv("POWERTOOLS_METRICS_NAMESPACE", raising=False)  # the default the program also sets
    ids = ["good", *list(MALFORMED)[:2]]
    bodies = [order(order_id="good-1"), *list(MALFORMED.values())[:2]]
    stack.deliver(sqs_event(*bodies, ids=ids), lambda_context, monkeypatch)
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    (metric,) = [m for m in emf if "FailedRecords" in m]
    assert metric["FailedRecords"] == [1.0, 1.0] or metric["FailedRecords"] == 2.0
    directive = metric["_aws"]["CloudWatchMetrics"][0]
    from pulumi_trading_dr.components.orders import PROCESSOR_METRICS_NAMESPACE

    assert directive["Namespace"] == PROCESSOR_METRICS_NAMESPACE  # what the orders-failing alarm reads
    assert set(directive["Dimensions"][0]) == {"service", "environment"}


@pytest.mark.parametrize("name", MALFORMED)
def test_each_malformation_is_an_invalid_order(name):
    with pytest.raises(op.InvalidOrder):
        op.parse_order(MALFORMED[name])


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"limit_price": "0.0001"}, Decimal("0.0001")),
        ({"limit_price": "999999999999.9999"}, Decimal("999999999999.9999")),
        ({"limit_price": "7"}, Decimal(7)),
        ({"quantity": 1_000_000_000}, Decimal("412.35")),
        ({"symbol": "A", "side": "SELL", "order_id": "_", "account_id": "A-z_0"}, Decimal("412.35")),
    ],
)
def test_boundary_orders_are_accepted_exactly(changes, expected):
    parsed = op.parse_order(order(**changes))
    assert parsed.limit_price == expected and isinstance(parsed.limit_price, Decimal)
    assert parsed == op.Order(**{**ORDER, **changes, "limit_price": expected})


def test_the_validation_error_names_the_field():
    with pytest.raises(op.InvalidOrder, match=r"unknown fields \['comment'\]"):
        op.parse_order(order(comment="x"))
    with pytest.raises(op.InvalidOrder, match="limit_price"):
        op.parse_order(order(limit_price="1.00001"))


def test_the_same_order_id_with_another_payload_is_a_conflict(stack, lambda_context, monkeypatch):
    assert stack.deliver(sqs_event(order()), lambda_context, monkeypatch) == {"batchItemFailures": []}
    original = stack.item("ord-1")
    event = sqs_event(order(order_id="ord-2"), order(quantity=999), order(order_id="ord-3"))
    assert failed_ids(stack.deliver(event, lambda_context, monkeypatch)) == ["msg-1"]
    assert stack.item("ord-1") == original
    assert [(row[0], row[4]) for row in stack.database.rows()] == [
        ("ord-1", 100),
        ("ord-2", 100),
        ("ord-3", 100),
    ]


def test_dynamodb_stores_an_order_once_and_refuses_another_payload_for_its_id(stack):
    """The conditional put at the lowest layer: new, redelivered (equal price, other spelling), conflict."""
    assert op.store_order(stack.table, op.parse_order(order()), NOW, REGION) is True
    assert op.store_order(stack.table, op.parse_order(order(limit_price="412.35")), NOW, "x") is False
    with pytest.raises(op.OrderConflict, match="ord-1"):
        op.store_order(stack.table, op.parse_order(order(side="SELL")), NOW, REGION)
    assert stack.items()[0]["side"] == "BUY" and stack.items()[0]["region"] == REGION


def test_the_ledger_refuses_another_payload_even_when_dynamodb_has_none(stack):
    """The ledger compares too: a row written for the id elsewhere with another payload conflicts."""
    assert stack.ledger.record(op.parse_order(order()), REGION) is True
    with pytest.raises(op.OrderConflict, match="ledger"):
        stack.ledger.record(op.parse_order(order(limit_price="1.00")), REGION)
    assert stack.ledger.record(op.parse_order(order()), REGION) is False


def test_database_down_fails_the_records_and_a_later_delivery_succeeds(stack, lambda_context, monkeypatch):
    """A ledger failure is a batch item failure (not lost); the redelivery finds DynamoDB done."""
    assert stack.deliver(sqs_event(order()), lambda_context, monkeypatch) == {"batchItemFailures": []}
    event = sqs_event(order(order_id="ord-2"), order(order_id="ord-3"))
    stack.database.server.stop()
    try:
        assert failed_ids(stack.deliver(event, lambda_context, monkeypatch)) == ["msg-0", "msg-1"]
    finally:
        stack.database.server.start()
    assert [i["order_id"] for i in stack.items()] == ["ord-1", "ord-2", "ord-3"]  # idempotent on retry
    assert [row[0] for row in stack.database.rows()] == ["ord-1"]
    assert stack.deliver(event, lambda_context, monkeypatch) == {"batchItemFailures": []}
    assert [row[0] for row in stack.database.rows()] == ["ord-1", "ord-2", "ord-3"]
    assert stack.secret_reads == 1  # an outage is not a rotation


def test_a_writer_out_of_reach_puts_the_record_back_soon_not_after_the_visibility_timeout(
    stack, lambda_context, monkeypatch, sqs_clock
):
    """During a switch the writer endpoint moves (it does not answer, or not yet resolve): the
    record comes back after READ_ONLY_RETRY_SECONDS, not the queue's 1800 s."""
    stack.deliver(sqs_event(order()), lambda_context, monkeypatch)  # the schema exists
    event = stack.received(order(order_id="ord-2"))
    stack.database.server.stop()
    try:
        assert len(failed_ids(stack.deliver(event, lambda_context, monkeypatch))) == 1
    finally:
        stack.database.server.start()
    assert stack.visible() == []
    sqs_clock.advance(1.2)
    (back,) = stack.visible()  # after the short delay (1 s here), not 30 minutes
    assert json.loads(back["Body"])["order_id"] == "ord-2"


@pytest.mark.parametrize(
    ("receives", "delay"),
    [("1", 30), ("2", 60), ("3", 120), ("6", 960), ("7", 1800), ("10", 1800), (None, 30)],
)
def test_the_retry_delay_doubles_with_each_receive_up_to_the_visibility_timeout(receives, delay):
    raw = json.loads((EVENTS / "trading_dr_orders_sqs_batch.json").read_text())["Records"][0]
    raw["attributes"]["ApproximateReceiveCount"] = receives
    deps = op.Dependencies(table=None, ledger=None, region=REGION, read_only_retry_seconds=30)
    assert op.retry_delay(raw, deps) == delay


def test_ten_receives_keep_an_order_about_as_long_as_before_the_dead_letter_queue():
    """maxReceiveCount 10 with the doubling delay: about 2.5 h, as 5 receives of 1800 s were."""
    from pulumi_trading_dr.config import TradingConfig

    total = sum(min(1800, 30 * 2 ** (n - 1)) for n in range(1, TradingConfig.max_receive_count + 1))
    assert 2 * 3600 <= total <= 3 * 3600


def test_the_connection_is_reused_and_reopened_when_broken(stack, lambda_context, monkeypatch):
    stack.deliver(sqs_event(order()), lambda_context, monkeypatch)
    connection = stack.ledger._connection
    stack.deliver(sqs_event(order(order_id="ord-2")), lambda_context, monkeypatch)
    assert stack.ledger._connection is connection  # one connection per container
    stack.database.terminate_connections()  # e.g. the writer restarted during a failover
    result = stack.deliver(sqs_event(order(order_id="ord-3")), lambda_context, monkeypatch)
    assert result == {"batchItemFailures": []}  # reconnected within the same record
    assert stack.ledger._connection is not connection
    assert [row[0] for row in stack.database.rows()] == ["ord-1", "ord-2", "ord-3"]
    assert stack.secret_reads == 1


def test_a_statement_timeout_fails_the_record_and_keeps_the_session(stack, lambda_context, monkeypatch):
    """A slow statement is not a broken connection: no reconnect, the record is retried later."""
    stack.ledger.options = {**stack.ledger.options, "options": "-c statement_timeout=200"}
    stack.deliver(sqs_event(order()), lambda_context, monkeypatch)
    connection = stack.ledger._connection
    blocker = stack.database.server.connect(ROLE, stack.database.password, stack.database.name)
    try:  # another session holds the row lock the insert of ord-2 waits for
        with blocker.cursor() as cursor:
            cursor.execute(op.INSERT, {**op.asdict(op.parse_order(order(order_id="ord-2"))), "region": "x"})
        result = stack.deliver(sqs_event(order(order_id="ord-2")), lambda_context, monkeypatch)
    finally:
        blocker.rollback()
        blocker.close()
    assert failed_ids(result) == ["msg-0"]
    assert stack.ledger._connection is connection and not connection.closed
    assert stack.deliver(sqs_event(order(order_id="ord-2")), lambda_context, monkeypatch) == {
        "batchItemFailures": []
    }
    assert [row[0] for row in stack.database.rows()] == ["ord-1", "ord-2"]


def test_rotated_credentials_are_read_again_once(stack, lambda_context, monkeypatch):
    """The cached password fails once, the secret is re-read, and the record succeeds."""
    stack.deliver(sqs_event(order()), lambda_context, monkeypatch)
    assert stack.secret_reads == 1
    stack.rotate_password("rotated-" + uuid.uuid4().hex)
    stack.database.terminate_connections()  # existing sessions survive a rotation; new ones need it
    result = stack.deliver(sqs_event(order(order_id="ord-2")), lambda_context, monkeypatch)
    assert result == {"batchItemFailures": []}
    assert stack.secret_reads == 2
    assert [row[0] for row in stack.database.rows()] == ["ord-1", "ord-2"]


def test_a_password_the_secret_does_not_know_fails_the_record_after_one_reread(
    stack, lambda_context, monkeypatch
):
    stack.deliver(sqs_event(order()), lambda_context, monkeypatch)
    stack.rotate_password("elsewhere-" + uuid.uuid4().hex, update_secret=False)
    stack.database.terminate_connections()
    result = stack.deliver(sqs_event(order(order_id="ord-2")), lambda_context, monkeypatch)
    assert failed_ids(result) == ["msg-0"]
    assert stack.secret_reads == 2  # re-read once, not once per attempt forever
    assert stack.item("ord-2") is not None  # retried later; DynamoDB is idempotent


def test_a_read_only_secondary_fails_the_record_until_it_is_promoted(
    stack, lambda_context, monkeypatch, sqs_clock
):
    """A cluster that is not the writer refuses the insert: the record fails and is put back after
    READ_ONLY_RETRY_SECONDS, not after the queue's 1800 s visibility timeout."""
    stack.deliver(sqs_event(order()), lambda_context, monkeypatch)  # the schema exists
    db = stack.database
    db.as_superuser(f"ALTER DATABASE {db.name} SET default_transaction_read_only = on")
    db.terminate_connections()
    event = stack.received(order(order_id="ord-2"))
    result = stack.deliver(event, lambda_context, monkeypatch)
    assert failed_ids(result) == [event["Records"][0]["messageId"]]
    assert stack.ledger._connection is None  # dropped: the promoted writer needs a new session
    assert stack.visible() == []  # still in flight ...
    sqs_clock.advance(1.2)
    (back,) = stack.visible()  # ... and back after the short delay, not 30 minutes
    assert json.loads(back["Body"])["order_id"] == "ord-2"
    db.as_superuser(f"ALTER DATABASE {db.name} SET default_transaction_read_only = off")  # promoted
    assert stack.deliver(sqs_event(order(order_id="ord-2")), lambda_context, monkeypatch) == {
        "batchItemFailures": []
    }
    assert [row[0] for row in db.rows()] == ["ord-1", "ord-2"]


def test_a_ledger_without_its_tables_fails_the_records_saying_to_run_the_migration(
    stack, lambda_context, monkeypatch, caplog
):
    """Fix: the processor no longer creates the schema (its role may not): missing tables are a
    batch item failure whose log says to run the migration; nothing is lost, and once the
    migration has run the redelivery lands."""
    stack.database.as_superuser("DROP TABLE orders, health_heartbeat", dbname=stack.database.name)
    event = sqs_event(order())
    with caplog.at_level("ERROR", logger="order_processor"):
        assert failed_ids(stack.deliver(event, lambda_context, monkeypatch)) == ["msg-0"]
    (logged,) = [r for r in caplog.records if r.name == "order_processor"]
    assert logged.getMessage().startswith("the ledger's tables are missing: run the migration")
    assert "do not exist: run the migration" in logged.error
    assert stack.database.as_superuser(
        "SELECT to_regclass('orders') IS NULL", dbname=stack.database.name
    ) == [(True,)]  # the application role created nothing
    stack.database.migrate()
    assert stack.deliver(event, lambda_context, monkeypatch) == {"batchItemFailures": []}
    assert [row[0] for row in stack.database.rows()] == ["ord-1"]


def test_default_dependencies_come_from_the_environment(aws, monkeypatch):
    monkeypatch.setattr(op, "_deps", None)
    monkeypatch.setenv("ORDERS_TABLE", "orders-table")
    monkeypatch.setenv("DB_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:ledger-AbCdEf")
    monkeypatch.setenv("DB_HOST", "ledger.cluster-abc.us-east-1.rds.amazonaws.com")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.delenv("DB_SSLMODE", raising=False)
    deps = op._default_deps()
    assert deps.table.name == "orders-table" and deps.region == REGION
    assert deps.ledger.host == "ledger.cluster-abc.us-east-1.rds.amazonaws.com"
    # TLS that verifies the server against the RDS certificate authorities and its host name.
    assert deps.ledger.options["sslmode"] == "verify-full"
    assert deps.ledger.options["sslrootcert"].endswith("common/rds-ca-bundle.pem")
    assert deps.ledger.connect is psycopg2.connect


def test_the_function_calls_only_what_its_role_grants():
    """The role grants PutItem and GetItem on the table and GetSecretValue on the secret (trading-dr-13)."""
    assert required_actions(FUNCTION_DIR) == {
        "dynamodb:PutItem",
        "dynamodb:GetItem",
        "secretsmanager:GetSecretValue",
        "sqs:ChangeMessageVisibility",
    }
