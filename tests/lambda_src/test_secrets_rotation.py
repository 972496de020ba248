"""secrets_rotation against moto (Secrets Manager) and a real PostgreSQL 15 server."""

from __future__ import annotations

import json
import time
import uuid

import psycopg2
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.secretsmanager.models import secretsmanager_backends

from lambda_src.cdk_payments.secrets_rotation import index as rotation
from tests.lambda_src.conftest import as_superuser

ROLE = "payments_admin"


def stages(client, arn):
    return client.describe_secret(SecretId=arn)["VersionIdsToStages"]


def version_with(client, arn, stage):
    return next(v for v, s in stages(client, arn).items() if stage in s)


def run_steps(client, arn, token, steps=rotation.STEPS, connect=None):
    for step in steps:
        rotation.rotate(client, arn, token, step, connect or pg_connect)


def pg_connect(secret):
    """The function's own connect, with the one option the local server needs: it has no TLS."""
    return rotation.connect(secret, tls={"sslmode": "disable"})


@pytest.fixture
def database_role(postgres):
    """A fresh login role with a known password, dropped afterwards."""
    password = "initial-" + uuid.uuid4().hex
    # On the held superuser session, opened again if a test restarted the server.
    as_superuser(postgres, f"DROP ROLE IF EXISTS {ROLE}")
    as_superuser(postgres, f"CREATE ROLE {ROLE} LOGIN PASSWORD %s", (password,))
    yield password
    as_superuser(postgres, f"DROP ROLE IF EXISTS {ROLE}")


@pytest.fixture
def secret(aws_clients, postgres, database_role):
    client = aws_clients["secretsmanager"]
    value = {
        "engine": "postgres",
        "host": postgres.host,
        "port": postgres.port,
        "dbname": "postgres",
        "username": ROLE,
        "password": database_role,
    }
    arn = client.create_secret(Name="payments/dev/aurora-master", SecretString=json.dumps(value))["ARN"]
    return client, arn, value


def current_value(client, arn):
    # VersionStage explicitly: moto 5.2's default lookup ignores a moved AWSCURRENT label.
    return json.loads(client.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"])


def start_rotation(client, arn):
    """What Secrets Manager does before it calls the function: enable rotation and list a new
    version id under AWSPENDING, with no value yet. (moto's rotate_secret would instead finish the
    rotation itself when no Lambda is attached, or run a stub Lambda without Docker.)"""
    token = str(uuid.uuid4())
    backend = secretsmanager_backends[DEFAULT_ACCOUNT_ID][client.meta.region_name]
    secret = backend.secrets[arn]
    secret.remove_version_stages_from_old_versions(["AWSPENDING"])
    secret.versions[token] = {
        "createdate": int(time.time()),
        "version_id": token,
        "version_stages": ["AWSPENDING"],
    }
    secret.rotation_requested = secret.rotation_enabled = True
    secret.auto_rotate_after_days = 30
    return token


def can_log_in(postgres, password):
    try:
        postgres.connect(ROLE, password).close()
    except psycopg2.OperationalError:
        return False
    return True


def test_full_rotation_changes_the_database_password(secret, postgres):
    client, arn, original = secret
    token = start_rotation(client, arn)
    run_steps(client, arn, token)

    current = current_value(client, arn)
    assert current["password"] != original["password"]
    assert len(current["password"]) == rotation.PASSWORD_LENGTH
    assert can_log_in(postgres, current["password"])
    assert not can_log_in(postgres, original["password"])
    assert version_with(client, arn, "AWSCURRENT") == token


def test_new_password_excludes_the_characters_the_stack_passes(secret, postgres, monkeypatch):
    """EXCLUDE_CHARACTERS from the stack (the generated secret's set) reaches get_random_password."""
    from cdk_payments.constructs.data import PASSWORD_EXCLUDE_CHARACTERS  # imports the CDK: not at collection

    client, arn, _ = secret
    monkeypatch.setenv("EXCLUDE_CHARACTERS", PASSWORD_EXCLUDE_CHARACTERS)
    asked = []
    client.meta.events.register(
        "before-parameter-build.secretsmanager.GetRandomPassword",
        lambda params, **_: asked.append(params["ExcludeCharacters"]),
    )
    token = start_rotation(client, arn)
    run_steps(client, arn, token)
    assert asked == [PASSWORD_EXCLUDE_CHARACTERS]
    password = current_value(client, arn)["password"]
    assert not set(password) & set(PASSWORD_EXCLUDE_CHARACTERS)
    assert can_log_in(postgres, password)


def test_every_step_is_idempotent(secret, postgres):
    client, arn, _ = secret
    token = start_rotation(client, arn)
    for step in rotation.STEPS[:-1]:
        rotation.rotate(client, arn, token, step, pg_connect)
        rotation.rotate(client, arn, token, step, pg_connect)  # a retried step changes nothing
    pending = json.loads(client.get_secret_value(SecretId=arn, VersionStage="AWSPENDING")["SecretString"])
    rotation.rotate(client, arn, token, "finishSecret", pg_connect)
    rotation.rotate(client, arn, token, "finishSecret", pg_connect)
    assert current_value(client, arn)["password"] == pending["password"]
    assert can_log_in(postgres, pending["password"])


def test_failing_set_secret_leaves_awscurrent_usable(secret, postgres):
    client, arn, original = secret
    token = start_rotation(client, arn)
    rotation.rotate(client, arn, token, "createSecret", pg_connect)
    postgres.stop()
    try:
        with pytest.raises(rotation.RotationError, match="cannot log in"):
            rotation.rotate(client, arn, token, "setSecret", pg_connect)
    finally:
        postgres.start()
    current = current_value(client, arn)
    assert current["password"] == original["password"]
    assert version_with(client, arn, "AWSCURRENT") != token
    assert can_log_in(postgres, original["password"])
    # Secrets Manager retries: the same rotation then completes.
    run_steps(client, arn, token, rotation.STEPS[1:])
    assert version_with(client, arn, "AWSCURRENT") == token


def test_test_secret_fails_when_pending_password_does_not_log_in(secret, postgres):
    client, arn, original = secret
    token = start_rotation(client, arn)
    rotation.rotate(client, arn, token, "createSecret", pg_connect)
    with pytest.raises(rotation.RotationError, match="testSecret"):
        rotation.rotate(client, arn, token, "testSecret", pg_connect)  # setSecret skipped
    assert can_log_in(postgres, original["password"])


def test_the_deployed_connection_verifies_the_server_against_the_rds_cas(monkeypatch):
    """Fix: rotation sends the master passwords over TLS that verifies Aurora: by default connect
    asks libpq for verify-full (certificate chain and host name) with the RDS CA bundle the layer
    ships, not sslmode=require (which takes any certificate); nothing in the environment lowers it."""
    from common.rds_tls import BUNDLE

    seen = {}
    monkeypatch.setattr(rotation.psycopg2, "connect", lambda **kwargs: seen.update(kwargs))
    monkeypatch.setenv("DB_SSLMODE", "disable")  # the old override: no longer read
    rotation.connect(
        {
            "host": "payments-aurora-dev.cluster-x.us-east-1.rds.amazonaws.com",
            "username": "u",
            "password": "p",
        }
    )
    assert (seen["sslmode"], seen["sslrootcert"]) == ("verify-full", str(BUNDLE))
    assert BUNDLE.is_file()


def test_the_default_connection_refuses_a_server_without_tls(secret, postgres):
    """Fix: against a server that offers no TLS (the local one) the default options fail instead
    of falling back to plain text; the injected options of the tests are what reach it."""
    _, _, value = secret
    with pytest.raises(psycopg2.OperationalError, match="SSL"):
        rotation.connect(value)
    pg_connect(value).close()


@pytest.mark.catalogue("payments-08")
def test_finish_secret_moves_awscurrent_from_the_current_version(aws_clients):
    """Fix: RemoveFromVersionId is the version holding AWSCURRENT (not the VersionIdsToStages map)."""
    client = aws_clients["secretsmanager"]
    arn = client.create_secret(Name="s", SecretString=json.dumps({"password": "a"}))["ARN"]
    old = version_with(client, arn, "AWSCURRENT")
    token = str(uuid.uuid4())
    client.put_secret_value(
        SecretId=arn, ClientRequestToken=token, SecretString='{"password": "b"}', VersionStages=["AWSPENDING"]
    )
    rotation.finish_secret(client, arn, token)
    versions = stages(client, arn)
    assert "AWSCURRENT" in versions[token]
    assert "AWSCURRENT" not in versions[old] and "AWSPREVIOUS" in versions[old]
    rotation.finish_secret(client, arn, token)  # already current: nothing to do, no error
    assert "AWSCURRENT" in stages(client, arn)[token]


@pytest.mark.parametrize(
    "event",
    [{}, {"SecretId": "x", "Step": "createSecret"}, {"SecretId": "x", "ClientRequestToken": "t"}],
)
def test_handler_rejects_incomplete_events(event, lambda_context):
    with pytest.raises(rotation.RotationError, match="event lacks"):
        rotation.handler(event, lambda_context)


def test_unknown_step_and_foreign_token_are_refused(secret):
    client, arn, _ = secret
    token = start_rotation(client, arn)
    with pytest.raises(rotation.RotationError, match="unknown rotation step"):
        rotation.rotate(client, arn, token, "dropDatabase", pg_connect)
    with pytest.raises(rotation.RotationError, match="no stage"):
        rotation.rotate(client, arn, str(uuid.uuid4()), "createSecret", pg_connect)


def test_a_version_that_is_not_awspending_is_refused(secret):
    """The contract's check (common/rotation.py): a step for a version that is neither AWSPENDING nor
    AWSCURRENT (an AWSPREVIOUS left by the last rotation) changes nothing and fails."""
    client, arn, _ = secret
    old = version_with(client, arn, "AWSCURRENT")
    run_steps(client, arn, start_rotation(client, arn))
    assert stages(client, arn)[old] == ["AWSPREVIOUS"]
    with pytest.raises(rotation.RotationError, match="is not AWSPENDING"):
        rotation.rotate(client, arn, old, "createSecret", pg_connect)


def test_rotation_disabled_secret_is_refused(aws_clients):
    client = aws_clients["secretsmanager"]
    arn = client.create_secret(Name="norotate", SecretString='{"username":"u","password":"p","host":"h"}')[
        "ARN"
    ]
    with pytest.raises(rotation.RotationError, match="not enabled for rotation"):
        rotation.rotate(client, arn, str(uuid.uuid4()), "createSecret", pg_connect)
