"""secrets_rotation: single-user rotation of the Aurora PostgreSQL master secret.

Secrets Manager's rotation contract (four idempotent steps, the version checks, finishSecret) is
common/rotation.py, shared with the trading DR rotation; this function says where the password
comes from (GetRandomPassword, without the characters the stack's secret excludes), how the
database takes it (ALTER ROLE, logged in with the old one) and how a login is checked.

The secret is the JSON RDS attaches to a cluster: username, password, host, port, dbname, engine.
Until finishSecret moves AWSCURRENT, the old password keeps working for every client.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
import psycopg2
from aws_lambda_powertools import Logger
from common import tracing
from common.rds_tls import verify_full_options
from common.rotation import (
    STEPS,
    Connect,
    RotationError,
    can_log_in,
    finish_secret,
    read_secret,
    rotate as rotate_steps,
    session_as_current_or_previous,
    stage_pending,
)
from psycopg2 import sql

logger = Logger(service="secrets_rotation")

__all__ = ["STEPS", "RotationError", "finish_secret", "handler", "rotate"]

# Never part of a new password: what the stack's generated secret excludes (RDS's default set),
# passed as EXCLUDE_CHARACTERS; this default is the same set (a test keeps them equal).
DEFAULT_EXCLUDE_CHARACTERS = " %+~`#$&*()|[]{}:;<>?!'/@\"\\"
PASSWORD_LENGTH = 32
REQUIRED = ("username", "password", "host")  # what RDS attaches; dbname and port have defaults


def connect(secret: dict[str, Any], tls: dict[str, str] | None = None) -> Any:
    """Open a connection with the credentials in ``secret``; raises psycopg2.Error on failure.

    TLS verifies the server (``verify-full`` against the RDS CA bundle): the function sends the
    master password, the old one and the new one, to whatever answers at ``host``. Tests pass
    their own options (or their own ``connect``) to reach a local server without TLS.
    """
    return psycopg2.connect(
        host=secret["host"],
        port=int(secret.get("port", 5432)),
        dbname=secret.get("dbname", "postgres"),
        user=secret["username"],
        password=secret["password"],
        connect_timeout=5,
        **(verify_full_options() if tls is None else tls),
    )


def create_secret(client: Any, arn: str, token: str) -> None:
    """Stage a new password as AWSPENDING under ``token``, unless that version already exists."""

    def password() -> str:
        return client.get_random_password(
            PasswordLength=PASSWORD_LENGTH,
            ExcludeCharacters=os.environ.get("EXCLUDE_CHARACTERS", DEFAULT_EXCLUDE_CHARACTERS),
        )["RandomPassword"]

    stage_pending(client, arn, token, password, required=REQUIRED)


def set_secret(client: Any, arn: str, token: str, connect_fn: Connect = connect) -> None:
    """Make the database accept the AWSPENDING password (ALTER ROLE), logged in with the old one."""
    pending = read_secret(client, arn, "AWSPENDING", token, required=REQUIRED)
    if can_log_in(pending, connect_fn, psycopg2):
        logger.info("setSecret: pending password already active")
        return
    current = read_secret(client, arn, "AWSCURRENT", required=REQUIRED)
    if pending["username"] != current["username"] or pending["host"] != current["host"]:
        raise RotationError("AWSPENDING names another user or host than AWSCURRENT")
    with (
        session_as_current_or_previous(client, arn, connect_fn, psycopg2, required=REQUIRED) as conn,
        conn,
        conn.cursor() as cur,
    ):
        cur.execute(
            sql.SQL("ALTER ROLE {} WITH PASSWORD %s").format(sql.Identifier(pending["username"])),
            (pending["password"],),
        )


def test_secret(client: Any, arn: str, token: str, connect_fn: Connect = connect) -> None:
    pending = read_secret(client, arn, "AWSPENDING", token, required=REQUIRED)
    try:
        conn = connect_fn(pending)
    except psycopg2.OperationalError as exc:
        raise RotationError(f"testSecret: AWSPENDING cannot log in: {exc}") from exc
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()
    finally:
        conn.close()


def rotate(client: Any, arn: str, token: str, step: str, connect_fn: Connect = connect) -> None:
    rotate_steps(
        client,
        arn,
        token,
        step,
        {
            "createSecret": lambda: create_secret(client, arn, token),
            "setSecret": lambda: set_secret(client, arn, token, connect_fn),
            "testSecret": lambda: test_secret(client, arn, token, connect_fn),
        },
    )


_client: Any = None


@logger.inject_lambda_context
@tracing.traced
def handler(event: dict[str, Any], context: Any) -> None:
    global _client
    if _client is None:
        _client = boto3.client("secretsmanager")
    missing = {"SecretId", "ClientRequestToken", "Step"} - event.keys()
    if missing:
        raise RotationError(f"event lacks {sorted(missing)}")
    logger.info("rotation step", extra={"step": event["Step"], "secret": event["SecretId"]})
    rotate(_client, event["SecretId"], event["ClientRequestToken"], event["Step"])
