"""The deep health route (GET /v1/health) on a real PostgreSQL server (the cluster) and moto (the
secret, the queues, CloudWatch), and read as its two real callers read it: Route 53's checker (a
2xx or 3xx status is healthy, anything else is not) and the canary script."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import psycopg2
import pytest
from common import rds_tls
from common.database import Database, secret_reader

from lambda_src.pulumi_trading_dr.canary import health_check as canary
from lambda_src.pulumi_trading_dr.health import index as health
from tests.iam.requests import required_actions
from tests.lambda_src.conftest import LEDGER_ROLE, REGION
from tests.lambda_src.test_trading_dr_canary import Endpoint

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def route53_healthy(response) -> bool:
    """Route 53's HTTP(S) health check: healthy when the status code is 2xx or 3xx."""
    return 200 <= response["statusCode"] < 400


class Region:
    """One region's health function, wired as _default_deps wires it, against moto and the server."""

    def __init__(self, database, port=None, writer_port=None):
        """``port``: where both endpoints are (1: nothing listens); ``writer_port``: the writer
        endpoint's alone (a secondary's inactive writer endpoint, while its reader answers)."""
        self.database = database
        secrets = boto3.client("secretsmanager", region_name=REGION)
        secret = {
            "username": LEDGER_ROLE,
            "password": database.password,
            "dbname": database.name,
            "port": port or database.server.port,
        }
        name = f"db-{database.name}-{writer_port or port or 'ok'}"
        arn = secrets.create_secret(Name=name, SecretString=json.dumps(secret))["ARN"]
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.queue = self.sqs.create_queue(QueueName="trading-orders-dev-primary")["QueueUrl"]  # idempotent
        self.dlq = self.sqs.create_queue(QueueName="trading-orders-dlq-dev-primary")["QueueUrl"]
        self.cloudwatch = boto3.client("cloudwatch", region_name=REGION)
        self.secret_reads = 0
        read = secret_reader(secrets, arn)

        def counting_read():
            self.secret_reads += 1
            return read()

        self.clock = 1000.0
        options = {**health.CONNECT_OPTIONS, "sslmode": "disable"}  # the local server has no TLS
        host = database.server.host
        self.deps = health.Dependencies(
            database=Database(counting_read, host, options, psycopg2, port=writer_port),
            reader=Database(counting_read, host, options, psycopg2),
            sqs=self.sqs,
            cloudwatch=self.cloudwatch,
            settings=health.Settings(
                region=REGION,
                queue_name="trading-orders-dev-primary",
                dlq_url=self.dlq,
                cache_seconds=10,
                max_queue_age_seconds=900,
            ),
            monotonic=lambda: self.clock,
            now=lambda: NOW,
        )

    def get(self, **query):
        response = health.handle({"queryStringParameters": query or None}, self.deps)
        return response, json.loads(response["body"])

    def later(self, seconds):
        self.clock += seconds

    def read_only(self, on=True):
        """What a global database's secondary cluster is: reachable, refusing writes (SQLSTATE 25006).
        The cached answer has expired by the next request."""
        db = self.database
        db.as_superuser(
            f"ALTER DATABASE {db.name} SET default_transaction_read_only = {'on' if on else 'off'}"
        )
        db.terminate_connections()
        self.later(self.deps.settings.cache_seconds)

    def queue_age(self, seconds):
        self.cloudwatch.put_metric_data(
            Namespace="AWS/SQS",
            MetricData=[
                {
                    "MetricName": "ApproximateAgeOfOldestMessage",
                    "Dimensions": [{"Name": "QueueName", "Value": "trading-orders-dev-primary"}],
                    "Timestamp": NOW - timedelta(minutes=1),
                    "Value": seconds,
                }
            ],
        )

    def close(self):
        self.deps.database.discard()
        self.deps.reader.discard()


@pytest.fixture
def region(aws, database):
    region = Region(database)
    yield region
    region.close()


def test_the_writer_is_active_and_writes_a_heartbeat(region):
    response, body = region.get()
    assert response["statusCode"] == 200 and body["status"] == "active" and body["region"] == REGION
    assert body["degraded"] == [] and body["checks"]["dead_letters"] == 0
    assert response["headers"]["Cache-Control"] == "no-store"
    (beat,) = region.database.as_superuser("SELECT region FROM health_heartbeat", dbname=region.database.name)
    assert beat == (REGION,)


def test_a_read_only_standby_is_503_for_traffic_and_200_for_liveness(region):
    """Traffic follows the writer: a standby is unhealthy for the failover records, alive for the
    canaries and the health-check alarms (?role=any)."""
    region.get()  # the schema exists (a standby replicates it)
    region.read_only()
    response, body = region.get()
    assert (response["statusCode"], body["status"]) == (503, "standby")
    assert not route53_healthy(response)
    region.later(11)
    response, body = region.get(role="any")
    assert (response["statusCode"], body["status"]) == (200, "standby") and route53_healthy(response)


def test_a_promoted_standby_turns_active(region):
    region.get()
    region.read_only()
    assert region.get()[1]["status"] == "standby"
    region.read_only(on=False)  # promoted
    region.later(11)
    response, body = region.get()
    assert (response["statusCode"], body["status"]) == (200, "active")


def test_an_unreachable_database_is_down_for_both_forms(aws, database):
    region = Region(database, port=1)  # nothing listens there: connection refused
    try:
        for query in ({}, {"role": "any"}):
            response, body = region.get(**query)
            assert (response["statusCode"], body["status"]) == (503, "down")
            assert body["checks"]["database"].startswith("down: OperationalError")
            region.later(11)
    finally:
        region.close()


def test_a_secondary_whose_writer_endpoint_is_inactive_is_a_standby_read_through_its_reader(aws, database):
    """Before its promotion a global database secondary's writer endpoint does not resolve; its
    reader endpoint answers: standby (503 for traffic, 200 alive), never down."""
    setup = Region(database)
    setup.get()  # a heartbeat row: the schema works
    setup.close()
    region = Region(database, writer_port=1)  # the writer endpoint: nothing answers
    try:
        response, body = region.get()
        assert (response["statusCode"], body["status"]) == (503, "standby")
        region.later(11)
        response, body = region.get(role="any")
        assert (response["statusCode"], body["status"]) == (200, "standby")
    finally:
        region.close()


def test_a_ledger_without_its_tables_is_down_saying_to_run_the_migration(region):
    """Fix: the health route no longer creates the schema (its role may not): a cluster whose
    migration has not run is down for both forms, and the answer says why."""
    db = region.database
    db.as_superuser("DROP TABLE orders, health_heartbeat", dbname=db.name)
    for query in ({}, {"role": "any"}):
        response, body = region.get(**query)
        assert (response["statusCode"], body["status"]) == (503, "down")
        assert body["checks"]["database"].startswith("down: SchemaMissing: the ledger's tables")
        assert "run the migration" in body["checks"]["database"]
        region.later(11)
    db.migrate()
    assert region.get()[1]["status"] == "active"


def test_dead_letters_and_an_old_queue_are_degraded_never_down(region):
    """A poison message pages through its own alarm; it must not move traffic or promote a database."""
    region.sqs.send_message(QueueUrl=region.dlq, MessageBody="{}")
    region.queue_age(1200)
    response, body = region.get()
    assert (response["statusCode"], body["status"]) == (200, "active") and route53_healthy(response)
    assert body["degraded"] == [
        "1 orders in the dead-letter queue",
        "the oldest queued order waits 1200 s (more than 900 s)",
    ]
    assert body["checks"]["oldest_order_seconds"] == 1200


def test_a_queue_check_that_fails_is_degraded_not_down(region, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("no route to the endpoint")

    monkeypatch.setattr(region.sqs, "get_queue_attributes", broken)
    response, body = region.get()
    assert response["statusCode"] == 200 and body["degraded"] == [
        "dead-letter queue not checked: RuntimeError"
    ]


def test_one_evaluation_serves_every_checker_for_the_cache_time(region):
    """Route 53 checks from several locations every 30 s: the database sees one query per 10 s."""
    region.get()
    region.database.terminate_connections()
    region.database.as_superuser(
        f"ALTER ROLE {LEDGER_ROLE} NOLOGIN"  # any new session would fail
    )
    try:
        for _ in range(5):
            region.later(1)
            assert region.get()[1]["status"] == "active"  # cached
        region.later(10)
        assert region.get()[1]["status"] == "down"  # evaluated again
    finally:
        region.database.as_superuser(f"ALTER ROLE {LEDGER_ROLE} LOGIN")
    assert region.secret_reads <= 3


@pytest.mark.parametrize(
    ("query", "match"),
    [
        ({"role": "writer"}, "role must be 'any' or absent"),
        ({"verbose": "1"}, "unknown query parameters"),
    ],
)
def test_a_bad_query_is_a_400_with_the_reason(region, query, match):
    response, body = region.get(**query)
    assert response["statusCode"] == 400 and match in body["message"]


def test_the_canary_reads_the_routes_real_answers(region):
    """The canary script against a server that serves what the health function answered
    (?role=any, as the canaries call it): active and standby pass, down fails the run."""
    endpoint = Endpoint()

    def canary_sees():
        region.later(region.deps.settings.cache_seconds)
        response, _ = region.get(role="any")
        endpoint.answer = (response["statusCode"], response["body"].encode())
        return canary.check(endpoint.url, REGION, timeout=2)["status"]

    try:
        assert canary_sees() == "active"
        region.read_only()
        assert canary_sees() == "standby"
        region.database.as_superuser(f"ALTER ROLE {LEDGER_ROLE} NOLOGIN")
        region.database.terminate_connections()
        with pytest.raises(canary.HealthCheckFailed, match="HTTP 503"):
            canary_sees()
    finally:
        region.database.as_superuser(f"ALTER ROLE {LEDGER_ROLE} LOGIN")
        endpoint.close()


def test_default_dependencies_come_from_the_environment(aws, monkeypatch):
    monkeypatch.setattr(health, "_deps", None)
    for name, value in {
        "DB_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf",
        "DB_HOST": "trading-db-dev-primary.cluster-abc.us-east-1.rds.amazonaws.com",
        "DB_READER_HOST": "trading-db-dev-primary.cluster-ro-abc.us-east-1.rds.amazonaws.com",
        "QUEUE_NAME": "trading-orders-dev-primary",
        "DLQ_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/trading-orders-dlq-dev-primary",
        "AWS_REGION": REGION,
        "CACHE_SECONDS": "10",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DB_SSLMODE", raising=False)
    deps = health._default_deps()
    assert deps.settings.queue_name == "trading-orders-dev-primary" and deps.settings.cache_seconds == 10
    options = deps.database.options
    assert options["connect_timeout"] <= 2 and "statement_timeout=1500" in options["options"]
    # TLS that verifies the server: the RDS certificate authorities, the host name (rds_tls)
    assert (options["sslmode"], options["sslrootcert"]) == ("verify-full", str(rds_tls.BUNDLE))
    # One try, short timeouts: an AWS check must not hold the answer past Route 53's 2 s.
    assert deps.sqs.meta.config.retries["total_max_attempts"] == 1 and deps.sqs.meta.config.read_timeout <= 2


def test_the_function_calls_only_what_its_role_grants():
    assert required_actions(Path(health.__file__).parent) == {
        "secretsmanager:GetSecretValue",
        "sqs:GetQueueAttributes",
        "cloudwatch:GetMetricData",
    }
