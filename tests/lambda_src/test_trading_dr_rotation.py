"""The master secret's rotation (lambda_src/pulumi_trading_dr/rotation): each step against a real
PostgreSQL server (the writer, logged in as a master user who is no superuser, as on Aurora) and
moto's Secrets Manager (the secret's versions and stages)."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import boto3
import psycopg2
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.secretsmanager.models import secretsmanager_backends

from lambda_src.pulumi_trading_dr.rotation import index as rotation
from tests.iam.requests import required_actions
from tests.lambda_src.conftest import LEDGER_ROLE, MASTER_ROLE, REGION

FUNCTION_DIR = Path(rotation.__file__).parent


class Master:
    """The master secret in moto, as the stack keeps it, and the database it opens."""

    def __init__(self, db):
        self.db = db
        self.client = boto3.client("secretsmanager", region_name=REGION)
        self.original = db.secret(MASTER_ROLE)
        self.arn = self.client.create_secret(
            Name="trading-db-master-dev", SecretString=json.dumps(self.original)
        )["ARN"]

    def start(self):
        """What Secrets Manager does before it calls the function: rotation on, a new version id
        under AWSPENDING with no value yet (moto's rotate_secret would finish it by itself)."""
        token = str(uuid.uuid4())
        secret = secretsmanager_backends[DEFAULT_ACCOUNT_ID][REGION].secrets[self.arn]
        secret.remove_version_stages_from_old_versions(["AWSPENDING"])
        secret.versions[token] = {
            "createdate": int(time.time()),
            "version_id": token,
            "version_stages": ["AWSPENDING"],
        }
        secret.rotation_requested = secret.rotation_enabled = True
        secret.auto_rotate_after_days = 30
        return token

    def step(self, token, step):
        rotation.rotate(self.client, self.arn, token, step, self.db.connect_as)

    def current(self):
        # VersionStage explicitly: moto 5.2's default lookup ignores a moved AWSCURRENT label.
        return json.loads(
            self.client.get_secret_value(SecretId=self.arn, VersionStage="AWSCURRENT")["SecretString"]
        )

    def pending(self):
        return json.loads(
            self.client.get_secret_value(SecretId=self.arn, VersionStage="AWSPENDING")["SecretString"]
        )

    def version_with(self, stage):
        versions = self.client.describe_secret(SecretId=self.arn)["VersionIdsToStages"]
        return next(v for v, stages in versions.items() if stage in stages)

    def logs_in(self, password):
        try:
            self.db.connect_as({**self.original, "password": password}).close()
        except psycopg2.OperationalError:
            return False
        return True


@pytest.fixture
def master(aws, database):
    return Master(database)


@pytest.mark.catalogue("trading-dr-09")
def test_a_full_rotation_changes_the_master_password_on_the_writer(master):
    """Fix: the master secret rotates: the four steps give the master user a new password, the
    secret holds it as AWSCURRENT, and the old one no longer logs in."""
    token = master.start()
    for step in rotation.STEPS:
        master.step(token, step)
    current = master.current()
    assert current["password"] != master.original["password"] and len(current["password"]) == 32
    assert {k: v for k, v in current.items() if k != "password"} == {
        k: v for k, v in master.original.items() if k != "password"
    }
    assert master.logs_in(current["password"]) and not master.logs_in(master.original["password"])
    assert master.version_with("AWSCURRENT") == token


def test_create_secret_stages_a_new_password_once(master):
    token = master.start()
    master.step(token, "createSecret")
    staged = master.pending()
    master.step(token, "createSecret")  # retried by Secrets Manager: the same version stays
    assert master.pending() == staged and staged["password"] != master.original["password"]
    assert master.current() == master.original
    assert set(staged["password"]) <= set(rotation.ALPHABET)


def test_set_secret_changes_the_password_as_a_verifier_and_only_once(master):
    """setSecret logs in with AWSCURRENT and sets AWSPENDING as a SCRAM verifier (the password
    never reaches the server's log, even with every statement logged); retried, it sees the
    password already active and does nothing."""
    db = master.db
    db.as_superuser(f"ALTER ROLE {MASTER_ROLE} SET log_statement = 'all'")
    token = master.start()
    master.step(token, "createSecret")
    master.step(token, "setSecret")
    pending = master.pending()["password"]
    assert master.logs_in(pending) and not master.logs_in(master.original["password"])
    (verifier,) = db.as_superuser("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (MASTER_ROLE,))
    master.step(token, "setSecret")
    assert db.as_superuser("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (MASTER_ROLE,)) == [
        verifier
    ]
    assert verifier[0].startswith("SCRAM-SHA-256$")
    log = (db.server.data_dir / "log").read_text(errors="replace")
    assert "ALTER ROLE" in log and pending not in log


def test_set_secret_logs_in_with_awsprevious_when_awscurrent_does_not(master):
    """The database still has the previous password (AWSCURRENT was moved by hand, or a Pulumi
    update re-wrote the first version): setSecret logs in with AWSPREVIOUS and goes on."""
    first = master.start()
    for step in rotation.STEPS:
        master.step(first, step)
    master.db.as_superuser(f"ALTER ROLE {MASTER_ROLE} PASSWORD %s", (master.original["password"],))
    second = master.start()
    master.step(second, "createSecret")
    master.step(second, "setSecret")
    assert master.logs_in(master.pending()["password"])


def test_test_secret_logs_in_with_the_pending_password(master):
    token = master.start()
    master.step(token, "createSecret")
    with pytest.raises(rotation.RotationError, match="testSecret: AWSPENDING cannot log in"):
        master.step(token, "testSecret")  # setSecret skipped
    master.step(token, "setSecret")
    master.step(token, "testSecret")


def test_finish_secret_moves_awscurrent_and_is_idempotent(master):
    token = master.start()
    old = master.version_with("AWSCURRENT")
    for step in rotation.STEPS:
        master.step(token, step)
    master.step(token, "finishSecret")  # already current: nothing to do
    versions = master.client.describe_secret(SecretId=master.arn)["VersionIdsToStages"]
    assert "AWSCURRENT" in versions[token] and "AWSPREVIOUS" in versions[old]


def test_a_read_only_cluster_fails_set_secret_and_awscurrent_keeps_working(master):
    """While the secondary region writes (until failback), this region's cluster is read-only:
    setSecret fails with that reason, AWSCURRENT still logs in, and a retry after failback
    completes the same rotation."""
    db = master.db
    token = master.start()
    master.step(token, "createSecret")
    db.as_superuser(f"ALTER DATABASE {db.name} SET default_transaction_read_only = on")
    with pytest.raises(rotation.RotationError, match=r"read-only.*after failback"):
        master.step(token, "setSecret")
    assert master.current() == master.original and master.logs_in(master.original["password"])
    db.as_superuser(f"ALTER DATABASE {db.name} SET default_transaction_read_only = off")  # failback
    for step in rotation.STEPS[1:]:
        master.step(token, step)
    assert master.logs_in(master.current()["password"])


def test_an_unreachable_writer_fails_set_secret_and_nothing_changes(master):
    token = master.start()
    master.step(token, "createSecret")
    master.db.server.stop()
    try:
        with pytest.raises(rotation.RotationError, match="cannot log in"):
            master.step(token, "setSecret")
    finally:
        master.db.server.start()
    assert master.current() == master.original and master.logs_in(master.original["password"])


def test_the_application_and_the_migration_still_work_after_a_rotation(master):
    """The master rotates, not the application: its sessions are untouched, and the next pulumi up's
    migration logs in with the rotated master secret and has nothing to change."""
    token = master.start()
    for step in rotation.STEPS:
        master.step(token, step)
    db = master.db
    app = db.connect_as(db.secret())
    app.close()
    from lambda_src.pulumi_trading_dr.migrate import index as migration

    assert migration.migrate(master.current(), db.secret(), db.connect_as) == []
    assert db.secret()["username"] == LEDGER_ROLE


@pytest.mark.parametrize(
    ("event", "match"),
    [
        ({}, "event lacks"),
        ({"SecretId": "x", "Step": "createSecret"}, "event lacks"),
        ({"SecretId": "arn:other", "ClientRequestToken": "t", "Step": "createSecret"}, "rotates .* only"),
        (
            {"SecretId": "arn:master", "ClientRequestToken": "t", "Step": "dropDatabase"},
            "unknown rotation step",
        ),
        ([], "an object"),
    ],
)
def test_an_event_for_another_secret_or_step_is_refused(event, match):
    """The function rotates the one secret it is configured for (its role can touch no other)."""
    with pytest.raises(rotation.RotationError, match=match):
        rotation.parse_event(event, "arn:master")


def test_a_foreign_token_or_disabled_rotation_is_refused(master):
    with pytest.raises(rotation.RotationError, match="not enabled for rotation"):
        master.step(str(uuid.uuid4()), "createSecret")
    master.start()
    with pytest.raises(rotation.RotationError, match="no stage"):
        master.step(str(uuid.uuid4()), "createSecret")


def test_new_passwords_use_what_rds_accepts_in_a_master_password():
    """The same characters as the stack's first password (components/aurora.py), none of RDS's
    refused '/', '@', '"' or space; every class present."""
    from pulumi_trading_dr.components.aurora import PASSWORD_SPECIALS

    assert rotation.PASSWORD_SPECIALS == PASSWORD_SPECIALS
    for _ in range(50):
        password = rotation.new_password()
        assert len(password) == 32 and not set(password) & set('/@" ')
        assert any(c in rotation.PASSWORD_SPECIALS for c in password)


def test_the_function_calls_only_what_its_role_grants():
    assert required_actions(FUNCTION_DIR) == {
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecretVersionStage",
    }
