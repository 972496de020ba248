"""rotation: single-user rotation of the Aurora Global Database's master secret.

Secrets Manager invokes it four times per rotation (``Step``: createSecret, setSecret, testSecret,
finishSecret) in the secret's primary region, and copies each new version to the replica itself.
Every step is idempotent: Secrets Manager retries a failed step.

How the password changes (README, "Database credentials"): ``ALTER ROLE`` on the writer, logged in
as the master user, with a SCRAM-SHA-256 verifier made here (the password is never sent). Aurora
replicates roles with the storage, so the secondary cluster accepts the new password within the
replication lag; no RDS API is called (``rds:ModifyDBCluster`` would let this role change anything
on the cluster, and applies the password asynchronously, so testSecret could not log in with it).
The cluster is the one in this region (DB_HOST): when it is read-only (the secondary region writes,
until failback), setSecret fails with that reason and AWSCURRENT keeps working; the next scheduled
rotation tries again.

Environment: SECRET_ARN (the only secret it rotates), DB_HOST, POWERTOOLS_SERVICE_NAME,
ENVIRONMENT.
"""

from __future__ import annotations

import os
import secrets
import string
from collections.abc import Mapping
from typing import Any

import boto3
import psycopg2
from aws_lambda_powertools import Logger
from common import tracing
from common.database import DEFAULT_CONNECT_OPTIONS, is_read_only, set_password
from common.rds_tls import verify_full_options
from common.rotation import (
    STEPS,
    Connect,
    RotationError,
    can_log_in,
    read_secret,
    rotate as rotate_steps,
    session_as_current_or_previous,
    stage_pending,
)

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "rotation"))
logger.append_keys(environment=os.environ.get("ENVIRONMENT", "unknown"))

__all__ = ["STEPS", "RotationError", "handler", "parse_event", "rotate"]

PASSWORD_LENGTH = 32
# What RDS accepts in a master password (no '/', '@', '"' or space), the set the stack's first
# password is drawn from (components/aurora.py; a test keeps the two equal), so an operator can
# still reset it through RDS.
PASSWORD_SPECIALS = "!#$%&*()-_=+[]{}<>:?"  # noqa: S105 (the allowed characters, not a password)
ALPHABET = string.ascii_letters + string.digits + PASSWORD_SPECIALS
REQUIRED = ("username", "password", "dbname")  # the host is this region's writer (DB_HOST)


def new_password() -> str:
    """32 characters from ALPHABET, with at least one lower, upper, digit and special."""
    while True:
        password = "".join(secrets.choice(ALPHABET) for _ in range(PASSWORD_LENGTH))
        if all(
            any(c in group for c in password)
            for group in (string.ascii_lowercase, string.ascii_uppercase, string.digits, PASSWORD_SPECIALS)
        ):
            return password


def create_secret(client: Any, arn: str, token: str) -> None:
    """Stage a new password as AWSPENDING under ``token``, unless that version exists."""
    stage_pending(client, arn, token, new_password, required=REQUIRED)


def set_secret(client: Any, arn: str, token: str, connect: Connect) -> None:
    """Make the writer accept the AWSPENDING password, logged in with AWSCURRENT (or AWSPREVIOUS,
    when a rotation stopped after this step)."""
    pending = read_secret(client, arn, "AWSPENDING", token, required=REQUIRED)
    if can_log_in(pending, connect, psycopg2):
        logger.info("setSecret: the pending password is already active")
        return
    current = read_secret(client, arn, "AWSCURRENT", required=REQUIRED)
    if (pending["username"], pending["dbname"]) != (current["username"], current["dbname"]):
        raise RotationError("AWSPENDING names another user or database than AWSCURRENT")
    with session_as_current_or_previous(client, arn, connect, psycopg2, required=REQUIRED) as connection:
        try:
            set_password(connection, psycopg2, pending["username"], pending["password"])
        except psycopg2.Error as exc:
            if is_read_only(exc):
                raise RotationError(
                    "setSecret: this region's cluster is read-only (not the global database's writer); "
                    "AWSCURRENT still works, and the rotation succeeds after failback"
                ) from exc
            raise


def test_secret(client: Any, arn: str, token: str, connect: Connect) -> None:
    pending = read_secret(client, arn, "AWSPENDING", token, required=REQUIRED)
    try:
        connection = connect(pending)
    except psycopg2.OperationalError as exc:
        raise RotationError(f"testSecret: AWSPENDING cannot log in: {exc}") from exc
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            if cursor.fetchone()[0] != pending["username"]:
                raise RotationError("testSecret: logged in as another user")
    finally:
        connection.close()


def rotate(client: Any, arn: str, token: str, step: str, connect: Connect) -> None:
    rotate_steps(
        client,
        arn,
        token,
        step,
        {
            "createSecret": lambda: create_secret(client, arn, token),
            "setSecret": lambda: set_secret(client, arn, token, connect),
            "testSecret": lambda: test_secret(client, arn, token, connect),
        },
    )


def parse_event(event: Any, secret_arn: str) -> tuple[str, str, str]:
    """(secret, token, step) of a Secrets Manager rotation event for the one secret this rotates."""
    if not isinstance(event, dict):
        raise RotationError("the event must be Secrets Manager's rotation event (an object)")
    missing = {"SecretId", "ClientRequestToken", "Step"} - event.keys()
    if missing:
        raise RotationError(f"event lacks {sorted(missing)}")
    if event["SecretId"] != secret_arn:
        raise RotationError(f"this function rotates {secret_arn} only, not {event['SecretId']}")
    if event["Step"] not in STEPS:
        raise RotationError(f"unknown rotation step {event['Step']!r}; expected one of {STEPS}")
    return event["SecretId"], event["ClientRequestToken"], event["Step"]


def connect(credentials: Mapping[str, Any]) -> Any:
    """The writer in this region (DB_HOST): a replicated secret cannot name one host for both."""
    return psycopg2.connect(
        host=os.environ["DB_HOST"],
        port=int(credentials.get("port", 5432)),
        dbname=credentials["dbname"],
        user=credentials["username"],
        password=credentials["password"],
        **verify_full_options(),  # TLS that verifies the server against the RDS CAs
        **DEFAULT_CONNECT_OPTIONS,
    )


_client: Any = None


@logger.inject_lambda_context
@tracing.traced
def handler(event: dict[str, Any], context: Any) -> None:
    global _client
    if _client is None:
        _client = boto3.client("secretsmanager")
    arn, token, step = parse_event(event, os.environ["SECRET_ARN"])
    logger.info("rotation step", extra={"step": step, "secret": arn})
    rotate(_client, arn, token, step, connect)
