"""Secrets Manager's rotation contract for a single-user database secret, shared by the payments
(lambda_src/cdk_payments/secrets_rotation) and trading DR (lambda_src/pulumi_trading_dr/rotation)
rotation functions. Each function keeps what differs: where the new password comes from, how the
database is told, how a login is checked.

Secrets Manager invokes a rotation function four times per rotation (``Step``: createSecret,
setSecret, testSecret, finishSecret). Every step is idempotent: Secrets Manager retries a failed
step, and a step that already happened does nothing the second time. Until finishSecret moves
AWSCURRENT, the old password keeps working for every client.

The driver (``psycopg2``, which each rotation function bundles) is passed in: this module is in the
shared layer, which does not ship it.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Collection, Iterator, Mapping
from types import ModuleType
from typing import Any

from common.database import Connect, can_log_in

__all__ = [
    "STEPS",
    "Connect",
    "RotationError",
    "can_log_in",
    "finish_secret",
    "read_secret",
    "rotate",
    "session_as_current_or_previous",
    "stage_pending",
]

logger = logging.getLogger(__name__)

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


class RotationError(Exception):
    """The rotation cannot go on; Secrets Manager marks it failed and AWSCURRENT stays as it was."""


def read_secret(
    client: Any, arn: str, stage: str, token: str | None = None, *, required: Collection[str]
) -> dict[str, Any]:
    """The secret's JSON at ``stage`` (and version ``token``), with the keys ``required``."""
    kwargs: dict[str, Any] = {"SecretId": arn, "VersionStage": stage}
    if token:
        kwargs["VersionId"] = token
    value = json.loads(client.get_secret_value(**kwargs)["SecretString"])
    missing = set(required) - value.keys()
    if missing:
        raise RotationError(f"secret {arn} ({stage}) lacks {sorted(missing)}")
    return value


def stage_pending(
    client: Any, arn: str, token: str, password: Callable[[], str], *, required: Collection[str]
) -> None:
    """createSecret: AWSCURRENT with a new ``password()`` as AWSPENDING under ``token``, unless that
    version already exists."""
    current = read_secret(client, arn, "AWSCURRENT", required=required)
    try:
        read_secret(client, arn, "AWSPENDING", token, required=required)
        logger.info("createSecret: AWSPENDING already staged (token %s)", token)
        return
    except client.exceptions.ResourceNotFoundException:
        pass
    client.put_secret_value(
        SecretId=arn,
        ClientRequestToken=token,
        SecretString=json.dumps({**current, "password": password()}),
        VersionStages=["AWSPENDING"],
    )


@contextlib.contextmanager
def session_as_current_or_previous(
    client: Any, arn: str, connect: Connect, driver: ModuleType, *, required: Collection[str]
) -> Iterator[Any]:
    """setSecret's session: logged in with AWSCURRENT, or AWSPREVIOUS when a rotation stopped after
    setSecret (the database then holds the password AWSCURRENT moved away from); closed after."""
    candidates = [read_secret(client, arn, "AWSCURRENT", required=required)]
    with contextlib.suppress(client.exceptions.ResourceNotFoundException):
        candidates.append(read_secret(client, arn, "AWSPREVIOUS", required=required))
    last_error: Exception | None = None
    for credentials in candidates:
        try:
            connection = connect(credentials)
        except driver.OperationalError as exc:
            last_error = exc
            continue
        try:
            yield connection
        finally:
            connection.close()
        return
    raise RotationError(f"setSecret: cannot log in with AWSCURRENT or AWSPREVIOUS: {last_error}")


def finish_secret(client: Any, arn: str, token: str) -> None:
    """finishSecret: move AWSCURRENT to ``token``, naming the version that holds it now (payments-08)."""
    versions = client.describe_secret(SecretId=arn)["VersionIdsToStages"]
    current = next((v for v, stages in versions.items() if "AWSCURRENT" in stages), None)
    if current == token:
        logger.info("finishSecret: already AWSCURRENT (token %s)", token)
        return
    client.update_secret_version_stage(
        SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token, RemoveFromVersionId=current
    )


def rotate(client: Any, arn: str, token: str, step: str, steps: Mapping[str, Callable[[], None]]) -> None:
    """Run ``step`` (createSecret, setSecret, testSecret from ``steps``; finishSecret here) for the
    version ``token``, after the checks of the contract: rotation enabled, the version AWSPENDING.
    A version that is already AWSCURRENT has nothing left to do."""
    metadata = client.describe_secret(SecretId=arn)
    if not metadata.get("RotationEnabled"):
        raise RotationError(f"secret {arn} is not enabled for rotation")
    stages = metadata.get("VersionIdsToStages", {}).get(token)
    if stages is None:
        raise RotationError(f"secret version {token} has no stage for rotation of {arn}")
    if "AWSCURRENT" in stages:
        logger.info("version %s already AWSCURRENT", token)
        return
    if "AWSPENDING" not in stages:
        raise RotationError(f"secret version {token} is not AWSPENDING for rotation of {arn}")
    if step == "finishSecret":
        finish_secret(client, arn, token)
    elif step in steps:
        steps[step]()
    else:
        raise RotationError(f"unknown rotation step {step!r}; expected one of {STEPS}")
