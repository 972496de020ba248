"""Every trading DR function that logs in to Aurora verifies the server (issue 13, Security):
``sslmode=verify-full`` against the RDS certificate authorities (common/rds_tls.py), never
``require``, which encrypts but accepts whoever answers in the database's place."""

from __future__ import annotations

import psycopg2
import pytest
from common import rds_tls

from lambda_src.pulumi_trading_dr.health import index as health
from lambda_src.pulumi_trading_dr.migrate import index as migrate
from lambda_src.pulumi_trading_dr.order_processor import index as processor
from lambda_src.pulumi_trading_dr.reconcile import index as reconcile
from lambda_src.pulumi_trading_dr.rotation import index as rotation

VERIFIED = {"sslmode": "verify-full", "sslrootcert": str(rds_tls.BUNDLE)}
CREDENTIALS = {"username": "trading_admin", "password": "x", "dbname": "trading", "port": 5432}


@pytest.fixture
def environment(monkeypatch):
    for name, value in {
        "DB_HOST": "trading-db-dev-primary.cluster-abc.us-east-1.rds.amazonaws.com",
        "DB_READER_HOST": "trading-db-dev-primary.cluster-ro-abc.us-east-1.rds.amazonaws.com",
        "DB_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:trading-db-app-dev-AbCdEf",
        "ORDERS_TABLE": "trading-orders-dev",
        "QUEUE_NAME": "trading-orders-dev-primary",
        "DLQ_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/trading-orders-dlq-dev-primary",
        "AWS_REGION": "us-east-1",
        "DB_SSLMODE": "disable",  # an old override: not read any more
    }.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("module", [migrate, rotation], ids=["migrate", "rotation"])
def test_the_master_users_connections_verify_the_server(module, environment, monkeypatch):
    seen = {}

    def connect(**kwargs):
        seen.update(kwargs)
        return object()

    monkeypatch.setattr(psycopg2, "connect", connect)
    module.connect(CREDENTIALS)
    assert {key: seen[key] for key in VERIFIED} == VERIFIED


@pytest.mark.parametrize(
    ("module", "database"),
    [
        (processor, lambda deps: deps.ledger),
        (health, lambda deps: deps.database),
        (health, lambda deps: deps.reader),
        (reconcile, lambda deps: deps.database),
    ],
    ids=["order_processor", "health-writer", "health-reader", "reconcile"],
)
def test_the_application_roles_connections_verify_the_server(module, database, environment, aws, monkeypatch):
    monkeypatch.setattr(module, "_deps", None)
    options = database(module._default_deps()).options
    assert {key: options[key] for key in VERIFIED} == VERIFIED


def test_the_bundle_the_options_name_is_the_one_the_layer_ships():
    assert rds_tls.BUNDLE.is_file() and rds_tls.BUNDLE.read_text().count("BEGIN CERTIFICATE") > 3
