"""order_processor: records client orders in the region's two stores (SQS batch, ``ReportBatchItemFailures``).

Deployed in both regions, in the VPC (trading-dr-12), timeout 300 s (trading-dr-11). Per record:

1. validate the order exactly (a malformed record is a batch item failure: SQS redrives it to the
   DLQ after the redrive count, nothing is lost);
2. store it in the DynamoDB global table, once (conditional put; a redelivery of the same order is
   fine, the same ``order_id`` with another payload is a conflict: a batch item failure);
3. record it in the Aurora ledger table ``orders``, once (``ON CONFLICT (order_id) DO NOTHING``).
   A database failure is a batch item failure; the retry finds step 2 already done. A read-only
   cluster (this region is not the writer: a switch under way, or a region just recovered) puts
   the record back after READ_ONLY_RETRY_SECONDS instead of the queue's 30-minute visibility
   timeout; the gate (components/gate.py) turns this region's processing off and forwards.

Database credentials are the application role's (``DB_SECRET_ARN``, the only secret the role may
read, trading-dr-13), cached per container and re-read once when the database rejects them (the
secret was rotated). The role may insert and read orders and nothing else; it creates no table: a
ledger without its tables (the migration has not run) fails the record with that reason. The
connection is reused across invocations and re-opened when broken (common/database.py).

Environment: ORDERS_TABLE, DB_SECRET_ARN, DB_HOST, READ_ONLY_RETRY_SECONDS, POWERTOOLS_SERVICE_NAME,
ENVIRONMENT, REGION_ROLE (``primary`` | ``secondary``, for logs).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from types import ModuleType
from typing import Any

import boto3
import psycopg2
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError
from common import metrics, tracing
from common.batch import SQSMessage, partial_batch_response
from common.database import DEFAULT_CONNECT_OPTIONS, Database, SchemaMissing, is_read_only, secret_reader
from common.rds_tls import verify_full_options

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "order_processor"))
logger.append_keys(
    environment=os.environ.get("ENVIRONMENT", "unknown"),
    region_role=os.environ.get("REGION_ROLE", "unknown"),
)
# --- the order --------------------------------------------------------------------------------

FIELDS = ("order_id", "account_id", "symbol", "side", "quantity", "limit_price")
IDENTIFIER = re.compile(r"[A-Za-z0-9_-]{1,64}")
SYMBOL = re.compile(r"[A-Z0-9.]{1,12}")
# At most 12 integer digits (the ledger column is numeric(16, 4)) and 4 decimals; no sign, no
# exponent, no leading zeros: the exact text a client sends, never a float.
PRICE = re.compile(r"(?:0|[1-9][0-9]{0,11})(?:\.[0-9]{1,4})?")
SIDES = frozenset({"BUY", "SELL"})
MAX_QUANTITY = 1_000_000_000


class InvalidOrder(ValueError):
    """The message is not a valid order; retrying cannot help, so it ends in the DLQ."""


class OrderConflict(Exception):
    """An order with this order_id is already stored with a different payload."""


@dataclass(frozen=True)
class Order:
    order_id: str
    account_id: str
    symbol: str
    side: str
    quantity: int
    limit_price: Decimal  # equal prices compare equal whatever their trailing zeros ("1.50" == "1.5")

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Order:
        """The order as stored (DynamoDB returns numbers as Decimal, the ledger as int/Decimal)."""
        return cls(
            order_id=item["order_id"],
            account_id=item["account_id"],
            symbol=item["symbol"],
            side=item["side"],
            quantity=int(item["quantity"]),
            limit_price=Decimal(item["limit_price"]),
        )


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise InvalidOrder(f"duplicate keys {duplicates}")
    return dict(pairs)


def _no_constants(name: str) -> Any:
    raise InvalidOrder(f"{name} is not a number an order may carry")


def _identifier(order: Mapping[str, Any], name: str, pattern: re.Pattern[str], rule: str) -> str:
    value = order[name]
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise InvalidOrder(f"{name} must be {rule}")
    return value


def parse_order(body: str) -> Order:
    """The order in an SQS message body, validated field by field; raises InvalidOrder."""
    try:
        # Numbers that are not integers become Decimal, never float; NaN/Infinity are refused.
        order = json.loads(
            body,
            parse_float=Decimal,
            parse_constant=_no_constants,
            object_pairs_hook=_no_duplicate_keys,
        )
    except (json.JSONDecodeError, TypeError) as exc:
        raise InvalidOrder(f"body is not JSON: {exc}") from exc
    if not isinstance(order, dict):
        raise InvalidOrder("body must be a JSON object")
    missing = [name for name in FIELDS if name not in order]
    unknown = sorted(set(order) - set(FIELDS))
    if missing or unknown:
        raise InvalidOrder(f"missing fields {missing}, unknown fields {unknown}")
    ids = "1-64 characters of A-Z a-z 0-9 _ -"
    order_id = _identifier(order, "order_id", IDENTIFIER, ids)
    account_id = _identifier(order, "account_id", IDENTIFIER, ids)
    symbol = _identifier(order, "symbol", SYMBOL, "1-12 characters of A-Z 0-9 .")
    if order["side"] not in SIDES:
        raise InvalidOrder(f"side must be one of {sorted(SIDES)}")
    quantity = order["quantity"]
    if type(quantity) is not int or not 1 <= quantity <= MAX_QUANTITY:  # a bool is no quantity
        raise InvalidOrder(f"quantity must be an integer from 1 to {MAX_QUANTITY}")
    price = order["limit_price"]
    if not isinstance(price, str) or not PRICE.fullmatch(price) or Decimal(price) <= 0:
        raise InvalidOrder(
            "limit_price must be a decimal string greater than 0 with at most 4 decimals "
            '(and 12 integer digits), e.g. "101.25"'
        )
    return Order(order_id, account_id, symbol, order["side"], quantity, Decimal(price))


# --- DynamoDB ---------------------------------------------------------------------------------


def store_order(table: Any, order: Order, received_at: datetime, region: str) -> bool:
    """Put the order unless its order_id is stored; True when this call stored it.

    A stored order with the same payload is a redelivery (False); another payload raises
    OrderConflict. Conditional writes are consistent within a region only: a global table settles
    concurrent writes of one key in two regions by last writer wins.
    """
    item = {
        **asdict(order),
        "received_at": received_at.isoformat(timespec="milliseconds"),
        "region": region,
    }
    try:
        table.put_item(Item=item, ConditionExpression="attribute_not_exists(order_id)")
        return True
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
    stored = table.get_item(Key={"order_id": order.order_id}, ConsistentRead=True).get("Item")
    if stored is None:  # deleted between the two calls: let SQS retry the record
        raise RuntimeError(f"order {order.order_id} vanished between put and get; retrying")
    if Order.from_item(stored) != order:
        raise OrderConflict(f"order {order.order_id} is already stored with a different payload")
    return False


# --- the Aurora ledger ------------------------------------------------------------------------

INSERT = """
INSERT INTO orders (order_id, account_id, symbol, side, quantity, limit_price, region)
VALUES (%(order_id)s, %(account_id)s, %(symbol)s, %(side)s, %(quantity)s, %(limit_price)s, %(region)s)
ON CONFLICT (order_id) DO NOTHING
RETURNING order_id
"""
SELECT = """
SELECT order_id, account_id, symbol, side, quantity, limit_price FROM orders WHERE order_id = %s
"""


@dataclass
class Ledger(Database):
    """The Aurora ``orders`` table behind the container's session (common.database)."""

    driver: ModuleType = psycopg2
    connect: Callable[..., Any] = psycopg2.connect

    def record(self, order: Order, region: str) -> bool:
        """Insert the order unless the ledger has it; True when this call inserted it."""
        return self.run(lambda connection: self._insert(connection, order, region))

    @staticmethod
    def _insert(connection: Any, order: Order, region: str) -> bool:
        with connection, connection.cursor() as cursor:
            cursor.execute(INSERT, {**asdict(order), "region": region})
            if cursor.fetchone() is not None:
                return True
            cursor.execute(SELECT, (order.order_id,))
            row = cursor.fetchone()
        stored = Order.from_item(dict(zip(FIELDS, row, strict=True)))
        if stored != order:
            raise OrderConflict(f"order {order.order_id} is in the ledger with a different payload")
        return False


# --- the handler ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dependencies:
    table: Any
    ledger: Ledger
    region: str
    sqs: Any = None  # puts a record back early when the cluster is read-only
    read_only_retry_seconds: int = 30
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)


def process(body: str, deps: Dependencies) -> dict[str, Any]:
    order = parse_order(body)
    stored = store_order(deps.table, order, deps.clock(), deps.region)
    recorded = deps.ledger.record(order, deps.region)
    logger.info(
        "order recorded",
        extra={"order_id": order.order_id, "new_in_table": stored, "new_in_ledger": recorded},
    )
    return {"order_id": order.order_id, "new_in_table": stored, "new_in_ledger": recorded}


_deps: Dependencies | None = None


def _default_deps() -> Dependencies:
    global _deps
    if _deps is None:
        _deps = Dependencies(
            table=boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE"]),
            ledger=Ledger(
                read_secret=secret_reader(boto3.client("secretsmanager"), os.environ["DB_SECRET_ARN"]),
                host=os.environ["DB_HOST"],
                options={**DEFAULT_CONNECT_OPTIONS, **verify_full_options()},
            ),
            region=os.environ.get("AWS_REGION", "unknown"),
            sqs=boto3.client("sqs"),
            read_only_retry_seconds=int(os.environ.get("READ_ONLY_RETRY_SECONDS", "30")),
        )
    return _deps


def queue_url(queue_arn: str) -> str:
    """The URL of a queue from its ARN (arn:aws:sqs:<region>:<account>:<name>)."""
    _, partition, _, region, account, name = queue_arn.split(":")
    domain = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    return f"https://sqs.{region}.{domain}/{account}/{name}"


MAX_VISIBILITY_SECONDS = 1800  # the queue's own visibility timeout (components/orders.py)


def retry_delay(record: SQSMessage, deps: Dependencies) -> int:
    """READ_ONLY_RETRY_SECONDS doubled with each receive, up to the queue's visibility timeout:
    30, 60, 120, ... 1800 s. A switch under way is over in a minute or two; a longer outage still
    keeps the record for hours (maxReceiveCount 10: about 2.5 h) before the dead-letter queue."""
    receives = max(1, int((record.get("attributes") or {}).get("ApproximateReceiveCount") or 1))
    return min(MAX_VISIBILITY_SECONDS, deps.read_only_retry_seconds * 2 ** (receives - 1))


def retry_soon(record: SQSMessage, deps: Dependencies) -> None:
    """The cluster is read-only (this region is not, or no longer, the writer) or could not be
    reached (a switch under way moves the writer): make the record visible again after
    ``retry_delay`` instead of the queue's 30-minute visibility timeout; the gate turns this
    region's processing off and forwards its queue when it is not the writer. Best effort: if this
    fails, the visibility timeout still brings the record back."""
    try:
        deps.sqs.change_message_visibility(
            QueueUrl=queue_url(record["eventSourceARN"]),
            ReceiptHandle=record["receiptHandle"],
            VisibilityTimeout=retry_delay(record, deps),
        )
    except Exception:
        logger.exception(
            "could not shorten the record's visibility", extra={"message_id": record["messageId"]}
        )


def record_handler(record: SQSMessage) -> dict[str, Any]:
    deps = _default_deps()
    try:
        return process(record["body"], deps)
    except InvalidOrder as exc:
        logger.error(
            "malformed order; it goes to the DLQ after the redrive count",
            extra={"message_id": record["messageId"], "error": str(exc)},
        )
        raise
    except OrderConflict as exc:
        logger.error(
            "order_id reused with a different payload",
            extra={"message_id": record["messageId"], "error": str(exc)},
        )
        raise
    except SchemaMissing as exc:
        logger.error(
            "the ledger's tables are missing: run the migration; the record will be retried",
            extra={"message_id": record["messageId"], "error": str(exc)},
        )
        raise
    except psycopg2.Error as exc:
        if is_read_only(exc) or isinstance(exc, psycopg2.OperationalError | psycopg2.InterfaceError):
            logger.warning(
                "the writer is read-only or out of reach (a switch?); the record is retried soon",
                extra={"message_id": record["messageId"], "error": type(exc).__name__},
            )
            retry_soon(record, deps)
            raise
        logger.error(
            "ledger write failed; the record will be retried",
            extra={"message_id": record["messageId"], "error": type(exc).__name__, "detail": str(exc)},
        )
        raise


# Batch item failures are not Lambda errors (the function returns normally): the records that fail
# are counted (FailedRecords, the embedded metric format in the function's log) and alarmed.
FAILED_RECORDS = "FailedRecords"


def count_failures(result: Mapping[str, Any]) -> None:
    failed = len(result.get("batchItemFailures", []))
    if failed:
        metrics.put(
            os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "trading-dr"),
            {
                "service": os.environ.get("POWERTOOLS_SERVICE_NAME", "order_processor"),
                "environment": os.environ.get("ENVIRONMENT", "unknown"),
            },
            FAILED_RECORDS,
            failed,
        )


@logger.inject_lambda_context
@tracing.traced
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result = partial_batch_response(event, record_handler)
    count_failures(result)
    return result
