"""The reconciliation after a data-loss failover: the DynamoDB orders (moto) against the Aurora
ledger (a real PostgreSQL server), with the gaps a lost replication leaves made by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import boto3
import psycopg2
import pytest
from common.database import Database

from lambda_src.pulumi_trading_dr.order_processor import index as op
from lambda_src.pulumi_trading_dr.reconcile import index as rc
from tests.iam.requests import required_actions
from tests.lambda_src.conftest import LEDGER_ROLE, REGION

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
SINCE = NOW - timedelta(hours=1)
ORDER = {
    "order_id": "ord-1",
    "account_id": "acct-1",
    "symbol": "BRK.B",
    "side": "BUY",
    "quantity": 100,
    "limit_price": "412.3500",
}


class Stores:
    def __init__(self, database):
        self.db = database
        self.table = boto3.resource("dynamodb", region_name=REGION).create_table(
            TableName="trading-orders-dev",
            KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        secret = {"username": LEDGER_ROLE, "password": database.password, "dbname": database.name}
        secret["port"] = database.server.port
        self.database = Database(
            read_secret=lambda: secret,
            host=database.server.host,
            options={"sslmode": "disable", "connect_timeout": 5},
            driver=psycopg2,
        )
        self.ledger = op.Ledger(
            read_secret=lambda: secret, host=database.server.host, options=self.database.options
        )
        self.deps = rc.Dependencies(table=self.table, database=self.database)

    def processed(self, received_at=NOW - timedelta(minutes=5), **changes):
        """An order as the order processor leaves it: in both stores."""
        order = op.parse_order(json.dumps({**ORDER, **changes}))
        op.store_order(self.table, order, received_at, REGION)
        self.ledger.record(order, REGION)
        return order

    def lose_in_ledger(self, order_id):
        """The ledger row was among the writes the old writer had not replicated."""
        self.db.as_superuser("DELETE FROM orders WHERE order_id = %s", (order_id,), dbname=self.db.name)

    def lose_in_table(self, order_id):
        self.table.delete_item(Key={"order_id": order_id})

    def run(self, **event):
        return rc.handle({"since": SINCE.isoformat(), **event}, self.deps, now=NOW)

    def close(self):
        self.database.discard()
        self.ledger.discard()


@pytest.fixture
def stores(aws, database):
    stores = Stores(database)
    yield stores
    stores.close()


def test_stores_that_agree_have_no_gap(stores):
    for n in range(3):
        stores.processed(order_id=f"ord-{n}")
    report = stores.run()
    assert report["compared"] == 3
    assert report["counts"] == {"missing_in_ledger": 0, "missing_in_table": 0, "different": 0}


def test_a_ledger_row_lost_in_the_failover_is_reported_then_repaired_from_the_table(stores):
    stores.processed(order_id="ord-1")
    stores.processed(order_id="ord-2", quantity=7)
    stores.lose_in_ledger("ord-2")
    report = stores.run()
    assert report["missing_in_ledger"] == ["ord-2"] and "repaired" not in report
    assert len(stores.db.rows()) == 1  # report only by default
    report = stores.run(repair=True)
    assert report["repaired"] == {"ledger": 1, "table": 0}
    assert [r[:5] for r in stores.db.rows()] == [
        ("ord-1", "acct-1", "BRK.B", "BUY", 100),
        ("ord-2", "acct-1", "BRK.B", "BUY", 7),
    ]
    assert stores.run()["counts"]["missing_in_ledger"] == 0
    assert stores.run(repair=True)["repaired"] == {"ledger": 0, "table": 0}  # idempotent


def test_a_table_item_lost_is_put_back_from_the_ledger_without_overwriting(stores):
    stores.processed(order_id="ord-1", limit_price="10.5")
    stores.lose_in_table("ord-1")
    report = stores.run(repair=True)
    assert report["missing_in_table"] == ["ord-1"] and report["repaired"] == {"ledger": 0, "table": 1}
    item = stores.table.get_item(Key={"order_id": "ord-1"})["Item"]
    assert item["limit_price"] == Decimal("10.5") and item["restored_from"] == "ledger"


class LateWrite:
    """The table, where the processor's own write of an order lands between the comparison and
    the repair (a record the switch caught, processed after its retry delay)."""

    def __init__(self, stores: Stores, order) -> None:
        self.stores, self.order, self.landed = stores, order, False

    def __getattr__(self, name):
        return getattr(self.stores.table, name)

    def put_item(self, **kwargs):
        if not self.landed:
            op.store_order(self.stores.table, self.order, NOW - timedelta(seconds=1), REGION)
            self.landed = True
        return self.stores.table.put_item(**kwargs)


def test_a_repair_never_overwrites_an_item_written_after_the_comparison(stores):
    """The table's repair is a conditional put (attribute_not_exists): an order the processor
    stores while the reconciliation runs keeps the processor's item, and is not counted."""
    order = stores.processed(order_id="ord-1")
    stores.lose_in_table("ord-1")
    deps = rc.Dependencies(table=LateWrite(stores, order), database=stores.database)
    report = rc.handle({"since": SINCE.isoformat(), "repair": True}, deps, now=NOW)
    assert report["missing_in_table"] == ["ord-1"] and report["repaired"] == {"ledger": 0, "table": 0}
    item = stores.table.get_item(Key={"order_id": "ord-1"})["Item"]
    assert "restored_from" not in item


def test_different_payloads_are_reported_and_never_repaired(stores):
    stores.processed(order_id="ord-1")
    stores.db.as_superuser("UPDATE orders SET quantity = 5 WHERE order_id = 'ord-1'", dbname=stores.db.name)
    report = stores.run(repair=True)
    assert report["different"] == ["ord-1"] and report["repaired"] == {"ledger": 0, "table": 0}
    assert stores.db.rows()[0][4] == 5  # a person decides


def test_an_order_just_outside_the_window_in_one_store_is_not_a_gap(stores):
    """Matched by id: received before `since` (table) but recorded after it (ledger)."""
    stores.processed(order_id="ord-edge", received_at=SINCE - timedelta(seconds=1))
    assert stores.run()["counts"] == {"missing_in_ledger": 0, "missing_in_table": 0, "different": 0}


def test_repairing_in_a_read_only_region_says_where_to_run_it(stores):
    stores.processed(order_id="ord-1")
    stores.lose_in_ledger("ord-1")
    stores.db.as_superuser(f"ALTER DATABASE {stores.db.name} SET default_transaction_read_only = on")
    stores.db.terminate_connections()
    assert stores.run(repair=True) == {
        "error": "this region's cluster is read-only: run the reconciliation in the writer's region"
    }


@pytest.mark.parametrize(
    ("event", "match"),
    [
        ({}, "since: required"),
        ({"since": "yesterday"}, "not an ISO 8601 time"),
        ({"since": "2026-12-05T11:00:00"}, "has no time zone"),
        ({"since": "2026-12-06T11:00:00Z"}, "in the last 35 days"),
        ({"since": "2026-10-01T11:00:00Z"}, "in the last 35 days"),
        ({"since": "2026-12-05T11:00:00Z", "repair": "yes"}, "repair: true or false"),
        ({"since": "2026-12-05T11:00:00Z", "dry_run": True}, "unknown keys"),
        ([], "must be an object"),
    ],
)
def test_a_bad_request_is_refused_with_the_reason_and_nothing_is_read(stores, event, match):
    result = rc.handle(event, rc.Dependencies(table=None, database=None), now=NOW)
    assert match in result["error"]


def test_the_function_calls_only_what_its_role_grants():
    assert required_actions(Path(rc.__file__).parent) == {
        "dynamodb:Scan",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "secretsmanager:GetSecretValue",
    }
