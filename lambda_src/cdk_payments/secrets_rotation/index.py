"""secrets_rotation: single-user rotation of the Aurora PostgreSQL master secret.

Secrets Manager calls this function four times per rotation, with ``Step`` one of createSecret,
setSecret, testSecret, finishSecret (the rotation contract). Each step is idempotent: Secrets
Manager retries a failed step, and a step that already happened does nothing the second time.

The secret is the JSON RDS attaches to a cluster: username, password, host, port, dbname, engine.
Until finishSecret moves AWSCURRENT, the old password keeps working for every client.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from typing import Any

import boto3
import psycopg2
from aws_lambda_powertools import Logger
from common import tracing
from common.rds_tls import verify_full_options
from psycopg2 import sql

logger = Logger(service="secrets_rotation")

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
# Never part of a new password: what the stack's generated secret excludes (RDS's default set),
# passed as EXCLUDE_CHARACTERS; this default is the same set (a test keeps them equal).
DEFAULT_EXCLUDE_CHARACTERS = " %+~`#$&*()|[]{}:;<>?!'/@\"\\"
PASSWORD_LENGTH = 32


class RotationError(Exception):
    """The rotation cannot go on; Secrets Manager marks it failed and AWSCURRENT stays as it was."""


Connect = Callable[[dict[str, Any]], Any]


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


def _secret(client: Any, arn: str, stage: str, token: str | None = None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"SecretId": arn, "VersionStage": stage}
    if token:
        kwargs["VersionId"] = token
    value = json.loads(client.get_secret_value(**kwargs)["SecretString"])
    missing = {"username", "password", "host"} - value.keys()
    if missing:
        raise RotationError(f"secret {arn} ({stage}) lacks {sorted(missing)}")
    return value


def _can_log_in(secret: dict[str, Any], connect_fn: Connect) -> bool:
    try:
        conn = connect_fn(secret)
    except psycopg2.OperationalError:
        return False
    conn.close()
    return True


def create_secret(client: Any, arn: str, token: str) -> None:
    """Stage a new password as AWSPENDING under ``token``, unless that version already exists."""
    current = _secret(client, arn, "AWSCURRENT")
    try:
        _secret(client, arn, "AWSPENDING", token)
        logger.info("createSecret: AWSPENDING already staged", extra={"token": token})
        return
    except client.exceptions.ResourceNotFoundException:
        pass
    password = client.get_random_password(
        PasswordLength=PASSWORD_LENGTH,
        ExcludeCharacters=os.environ.get("EXCLUDE_CHARACTERS", DEFAULT_EXCLUDE_CHARACTERS),
    )["RandomPassword"]
    client.put_secret_value(
        SecretId=arn,
        ClientRequestToken=token,
        SecretString=json.dumps({**current, "password": password}),
        VersionStages=["AWSPENDING"],
    )


def set_secret(client: Any, arn: str, token: str, connect_fn: Connect = connect) -> None:
    """Make the database accept the AWSPENDING password (ALTER ROLE), logged in with the old one."""
    pending = _secret(client, arn, "AWSPENDING", token)
    if _can_log_in(pending, connect_fn):
        logger.info("setSecret: pending password already active")
        return
    current = _secret(client, arn, "AWSCURRENT")
    if pending["username"] != current["username"] or pending["host"] != current["host"]:
        raise RotationError("AWSPENDING names another user or host than AWSCURRENT")
    candidates = [current]
    with contextlib.suppress(client.exceptions.ResourceNotFoundException):
        candidates.append(_secret(client, arn, "AWSPREVIOUS"))
    last_error: Exception | None = None
    for credentials in candidates:
        try:
            conn = connect_fn(credentials)
        except psycopg2.OperationalError as exc:
            last_error = exc
            continue
        try:
            with conn, conn.cursor() as cur:
                cur.execute(
                    sql.SQL("ALTER ROLE {} WITH PASSWORD %s").format(sql.Identifier(pending["username"])),
                    (pending["password"],),
                )
        finally:
            conn.close()
        return
    raise RotationError(f"setSecret: cannot log in with AWSCURRENT or AWSPREVIOUS: {last_error}")


def test_secret(client: Any, arn: str, token: str, connect_fn: Connect = connect) -> None:
    pending = _secret(client, arn, "AWSPENDING", token)
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


def finish_secret(client: Any, arn: str, token: str) -> None:
    """Move AWSCURRENT to ``token``, naming the version that holds it now (payments-08)."""
    versions = client.describe_secret(SecretId=arn)["VersionIdsToStages"]
    current_version = next((v for v, stages in versions.items() if "AWSCURRENT" in stages), None)
    if current_version == token:
        logger.info("finishSecret: already AWSCURRENT", extra={"token": token})
        return
    client.update_secret_version_stage(
        SecretId=arn,
        VersionStage="AWSCURRENT",
        MoveToVersionId=token,
        RemoveFromVersionId=current_version,
    )


def rotate(client: Any, arn: str, token: str, step: str, connect_fn: Connect = connect) -> None:
    metadata = client.describe_secret(SecretId=arn)
    if not metadata.get("RotationEnabled"):
        raise RotationError(f"secret {arn} is not enabled for rotation")
    stages = metadata.get("VersionIdsToStages", {}).get(token)
    if stages is None:
        raise RotationError(f"secret version {token} has no stage for rotation of {arn}")
    if "AWSCURRENT" in stages:
        logger.info("version already AWSCURRENT", extra={"token": token})
        return
    if "AWSPENDING" not in stages:
        raise RotationError(f"secret version {token} is not AWSPENDING for rotation of {arn}")
    if step == "createSecret":
        create_secret(client, arn, token)
    elif step == "setSecret":
        set_secret(client, arn, token, connect_fn)
    elif step == "testSecret":
        test_secret(client, arn, token, connect_fn)
    elif step == "finishSecret":
        finish_secret(client, arn, token)
    else:
        raise RotationError(f"unknown rotation step {step!r}; expected one of {STEPS}")


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
