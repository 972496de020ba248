"""reconcile: compares the orders in the DynamoDB global table with the Aurora ledger, in one
region (the writer's), and reports (or repairs) the gap. Invoked by an operator after a failover
that may have lost data (``make reconcile-pulumi-trading-dr``; README, runbooks).

The two stores replicate separately (DynamoDB global tables and Aurora Global Database, each
asynchronous), so a failover with AllowDataLoss can leave an order in one and not the other:

- in the table, not in the ledger: the order processor stored it, but the ledger row was among the
  writes the old writer had not replicated. Repair: insert it into the ledger (from the table's
  copy, exactly as the processor would have).
- in the ledger, not in the table: the ledger row replicated, the table item did not. Repair: put
  it into the table (conditional: never over an item that appeared meanwhile).
- in both with different payloads: reported only; a person decides.

Event: ``{"since": "<ISO 8601 with a time zone>", "repair": false}`` (``repair`` defaults to
false: report only). The windows are matched by id, not by time: an order on one side of
``since`` in one store and the other side in the other is found by looking it up.

Environment: ORDERS_TABLE, DB_SECRET_ARN, DB_HOST, AWS_REGION, POWERTOOLS_SERVICE_NAME, ENVIRONMENT.
The connection verifies the server against the RDS certificate authorities (common/rds_tls.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import psycopg2
from aws_lambda_powertools import Logger
from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError
from common import tracing
from common.database import DEFAULT_CONNECT_OPTIONS, Database, is_read_only, secret_reader
from common.rds_tls import verify_full_options

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "reconcile"))
logger.append_keys(environment=os.environ.get("ENVIRONMENT", "unknown"))

MAX_WINDOW = timedelta(days=35)  # the point-in-time recovery window; older is a restore, not this
REPORT_LIMIT = 100  # ids listed per kind in the answer (the counts are complete)
COLUMNS = ("order_id", "account_id", "symbol", "side", "quantity", "limit_price", "region")
LEDGER_SINCE = """
SELECT order_id, account_id, symbol, side, quantity, limit_price, region FROM orders
WHERE recorded_at >= %s
"""
LEDGER_BY_ID = """
SELECT order_id, account_id, symbol, side, quantity, limit_price, region FROM orders
WHERE order_id = ANY(%s)
"""
LEDGER_INSERT = """
INSERT INTO orders (order_id, account_id, symbol, side, quantity, limit_price, region)
VALUES (%(order_id)s, %(account_id)s, %(symbol)s, %(side)s, %(quantity)s, %(limit_price)s, %(region)s)
ON CONFLICT (order_id) DO NOTHING
"""


class InvalidRequest(ValueError):
    """The event is not a reconciliation request; nothing is read or written."""


@dataclass(frozen=True)
class Request:
    since: datetime
    repair: bool


@dataclass(frozen=True)
class Order:
    """What both stores must agree on (numbers compared as numbers: 1.50 == 1.5)."""

    order_id: str
    account_id: str
    symbol: str
    side: str
    quantity: int
    limit_price: Decimal

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Order:
        return cls(
            order_id=row["order_id"],
            account_id=row["account_id"],
            symbol=row["symbol"],
            side=row["side"],
            quantity=int(row["quantity"]),
            limit_price=Decimal(str(row["limit_price"])),
        )


def parse_request(event: Any, now: datetime) -> Request:
    if not isinstance(event, dict):
        raise InvalidRequest('the event must be an object: {"since": "<ISO 8601>", "repair": false}')
    unknown = sorted(set(event) - {"since", "repair"})
    if unknown:
        raise InvalidRequest(f"unknown keys {unknown}")
    raw, repair = event.get("since"), event.get("repair", False)
    if not isinstance(raw, str):
        raise InvalidRequest("since: required, an ISO 8601 time with a time zone, e.g. 2026-12-05T10:00:00Z")
    try:
        since = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise InvalidRequest(f"since: {raw!r} is not an ISO 8601 time") from exc
    if since.tzinfo is None:
        raise InvalidRequest(f"since: {raw!r} has no time zone (add Z or +00:00)")
    if since > now or now - since > MAX_WINDOW:
        raise InvalidRequest(f"since: must be in the last {MAX_WINDOW.days} days")
    if not isinstance(repair, bool):
        raise InvalidRequest(f"repair: true or false, got {repair!r}")
    return Request(since.astimezone(UTC), repair)


# --- the two stores -------------------------------------------------------------------------------


def table_orders_since(table: Any, since: datetime) -> dict[str, dict[str, Any]]:
    """Items received since ``since`` (received_at is ISO 8601 UTC, so strings compare as times)."""
    found: dict[str, dict[str, Any]] = {}
    stamp = since.isoformat(timespec="milliseconds")
    kwargs: dict[str, Any] = {"FilterExpression": Attr("received_at").gte(stamp), "ConsistentRead": True}
    while True:
        page = table.scan(**kwargs)
        for item in page.get("Items", []):
            found[item["order_id"]] = item
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _rows(cursor: Any) -> dict[str, dict[str, Any]]:
    return {row[0]: dict(zip(COLUMNS, row, strict=True)) for row in cursor.fetchall()}


def ledger_orders(database: Database, since: datetime | None = None, ids: list[str] | None = None):
    def read(connection: Any) -> dict[str, dict[str, Any]]:
        with connection, connection.cursor() as cursor:
            if ids is not None:
                cursor.execute(LEDGER_BY_ID, (ids,))
            else:
                cursor.execute(LEDGER_SINCE, (since,))
            return _rows(cursor)

    return database.run(read)


# --- the comparison -------------------------------------------------------------------------------


def reconcile(request: Request, table: Any, database: Database) -> dict[str, Any]:
    in_table = table_orders_since(table, request.since)
    in_ledger = ledger_orders(database, since=request.since)
    # Matched by id: an order just outside the window in the other store is not a gap.
    only_table = sorted(set(in_table) - set(in_ledger))
    if only_table:
        in_ledger.update(ledger_orders(database, ids=only_table))
    only_ledger = sorted(set(in_ledger) - set(in_table))
    for order_id in only_ledger:
        item = table.get_item(Key={"order_id": order_id}, ConsistentRead=True).get("Item")
        if item:
            in_table[order_id] = item
    missing_in_ledger = sorted(set(in_table) - set(in_ledger))
    missing_in_table = sorted(set(in_ledger) - set(in_table))
    different = sorted(
        order_id
        for order_id in set(in_table) & set(in_ledger)
        if Order.of(in_table[order_id]) != Order.of(in_ledger[order_id])
    )
    report: dict[str, Any] = {
        "since": request.since.isoformat(),
        "repair": request.repair,
        "compared": len(set(in_table) | set(in_ledger)),
        "missing_in_ledger": missing_in_ledger[:REPORT_LIMIT],
        "missing_in_table": missing_in_table[:REPORT_LIMIT],
        "different": different[:REPORT_LIMIT],
        "counts": {
            "missing_in_ledger": len(missing_in_ledger),
            "missing_in_table": len(missing_in_table),
            "different": len(different),
        },
    }
    if request.repair:
        report["repaired"] = {
            "ledger": _repair_ledger(database, [in_table[i] for i in missing_in_ledger]),
            "table": _repair_table(table, [in_ledger[i] for i in missing_in_table]),
        }
    return report


def _repair_ledger(database: Database, items: list[Mapping[str, Any]]) -> int:
    def insert(connection: Any) -> int:
        inserted = 0
        with connection, connection.cursor() as cursor:
            for item in items:
                row = {**asdict(Order.of(item)), "region": item.get("region", "unknown")}
                cursor.execute(LEDGER_INSERT, row)
                inserted += cursor.rowcount
        return inserted

    return database.run(insert) if items else 0


def _repair_table(table: Any, rows: list[Mapping[str, Any]]) -> int:
    put = 0
    for row in rows:
        order = Order.of(row)
        item = {
            **asdict(order),
            "region": row.get("region", "unknown"),
            "received_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "restored_from": "ledger",
        }
        try:
            table.put_item(Item=item, ConditionExpression="attribute_not_exists(order_id)")
            put += 1
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
    return put


# --- the handler ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dependencies:
    table: Any
    database: Database


_deps: Dependencies | None = None


def _default_deps() -> Dependencies:
    global _deps
    if _deps is None:
        _deps = Dependencies(
            table=boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE"]),
            database=Database(
                read_secret=secret_reader(boto3.client("secretsmanager"), os.environ["DB_SECRET_ARN"]),
                host=os.environ["DB_HOST"],
                options={**DEFAULT_CONNECT_OPTIONS, **verify_full_options()},
                driver=psycopg2,
            ),
        )
    return _deps


def handle(event: Any, deps: Dependencies, now: datetime | None = None) -> dict[str, Any]:
    try:
        request = parse_request(event, now or datetime.now(UTC))
    except InvalidRequest as exc:
        return {"error": str(exc)}
    try:
        report = reconcile(request, deps.table, deps.database)
    except psycopg2.Error as exc:
        if not is_read_only(exc):
            raise
        return {"error": "this region's cluster is read-only: run the reconciliation in the writer's region"}
    logger.info("reconciliation done", extra=report)
    return report


@logger.inject_lambda_context(log_event=True)
@tracing.traced
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, _default_deps())
