"""The migration (lambda_src/pulumi_trading_dr/migrate) against a real PostgreSQL server: a database
as RDS creates it (owned by a master user who is no superuser), migrated as the master user; then
what the application role can and cannot do, logged in with its own secret."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import boto3
import psycopg2
import pytest
from psycopg2 import errorcodes

from lambda_src.pulumi_trading_dr.migrate import index as migration
from pulumi_trading_dr.components.migration import migration_digest
from tests.iam.requests import required_actions
from tests.lambda_src.conftest import LEDGER_ROLE, MASTER_ROLE, REGION

FUNCTION_DIR = Path(migration.__file__).parent
EVERY_TABLE_PRIVILEGE = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
FIRST_RUN = [
    "created table orders",
    "created table health_heartbeat",
    "created index orders_recorded_at",
    f"created role {LEDGER_ROLE}",
    "revoked CONNECT, TEMPORARY on database {db} from PUBLIC",
    f"granted CONNECT on database {{db}} to {LEDGER_ROLE}",
    "revoked CREATE on schema public from PUBLIC",
    f"granted USAGE on schema public to {LEDGER_ROLE}",
    f"granted INSERT, SELECT on table orders to {LEDGER_ROLE}",
    f"granted INSERT, SELECT, UPDATE on table health_heartbeat to {LEDGER_ROLE}",
    f"set the password of role {LEDGER_ROLE} from its secret",
]


def as_app(db, statement, args=None):
    """One statement in its own transaction, logged in as the application role with its secret."""
    connection = db.connect_as(db.secret())
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(statement, args)
            return cursor.fetchall() if cursor.description else None
    finally:
        connection.close()


def catalog(db):
    """Everything the migration decides, as the server stores it (password verifier included)."""
    query = """
    SELECT json_build_object(
      'roles', (SELECT json_agg(json_build_array(rolname, rolsuper, rolcreaterole, rolcreatedb,
                                rolcanlogin, rolpassword) ORDER BY rolname)
                FROM pg_authid WHERE rolname IN (%(app)s, %(master)s)),
      'members', (SELECT count(*) FROM pg_auth_members WHERE member = to_regrole(%(app)s)),
      'database', (SELECT datacl::text FROM pg_database WHERE datname = current_database()),
      'schema', (SELECT nspacl::text FROM pg_namespace WHERE nspname = 'public'),
      'relations', (SELECT json_agg(json_build_array(relname, relowner::regrole::text, relacl::text)
                                    ORDER BY relname)
                    FROM pg_class WHERE relnamespace = 'public'::regnamespace),
      'columns', (SELECT json_agg(json_build_array(table_name, column_name, data_type)
                                  ORDER BY table_name, ordinal_position)
                  FROM information_schema.columns WHERE table_schema = 'public'))
    """
    (row,) = db.as_superuser(query, {"app": LEDGER_ROLE, "master": MASTER_ROLE}, dbname=db.name)
    return row[0]


def test_the_first_run_creates_the_ledger_and_the_application_role(empty_database):
    """Fix: the migration, as the master user, creates the schema and the application login role."""
    db = empty_database
    assert db.migrate() == [change.replace("{db}", db.name) for change in FIRST_RUN]
    assert as_app(db, "SELECT current_user, session_user") == [(LEDGER_ROLE, LEDGER_ROLE)]


def test_running_it_twice_changes_nothing(empty_database):
    """Fix: idempotent: a second run reports no change and leaves the catalog (ACLs, role attributes,
    even the password verifier) byte for byte as it was, and the rows in place."""
    db = empty_database
    db.migrate()
    as_app(db, "INSERT INTO health_heartbeat VALUES ('us-east-1', now())")
    before = catalog(db)
    assert db.migrate() == []
    assert catalog(db) == before
    assert as_app(db, "SELECT region FROM health_heartbeat") == [("us-east-1",)]


def test_the_application_role_holds_exactly_its_grants(database):
    """Fix: orders INSERT/SELECT (processor, reconciliation), health_heartbeat INSERT/UPDATE/SELECT
    (health route), USAGE on public, CONNECT on the database; no attribute but LOGIN, member of
    no role, owner of nothing."""
    held = {
        table: {
            p
            for p in EVERY_TABLE_PRIVILEGE
            if as_app(database, f"SELECT has_table_privilege('{table}', '{p}')")[0][0]
        }
        for table in ("orders", "health_heartbeat")
    }
    assert held == {"orders": {"INSERT", "SELECT"}, "health_heartbeat": {"INSERT", "UPDATE", "SELECT"}}
    assert as_app(
        database,
        "SELECT has_schema_privilege('public', 'USAGE'), has_schema_privilege('public', 'CREATE'), "
        "has_database_privilege(current_database(), 'CONNECT'), "
        "has_database_privilege(current_database(), 'TEMPORARY'), "
        "has_database_privilege(current_database(), 'CREATE')",
    ) == [(True, False, True, False, False)]
    (attributes,) = database.as_superuser(
        "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolcanlogin "
        "FROM pg_roles WHERE rolname = %s",
        (LEDGER_ROLE,),
    )
    assert attributes == (False, False, False, False, False, True)
    owned = database.as_superuser(
        "SELECT count(*) FROM pg_class WHERE relowner = %s::regrole", (LEDGER_ROLE,), dbname=database.name
    )
    assert owned == [(0,)]
    assert {
        r[0]
        for r in database.as_superuser(
            "SELECT relowner::regrole::text FROM pg_class WHERE relname IN ('orders', 'health_heartbeat')",
            dbname=database.name,
        )
    } == {MASTER_ROLE}


def test_the_application_role_does_what_the_functions_do(database):
    """The statements the three functions run, as the application role."""
    as_app(
        database,
        "INSERT INTO orders (order_id, account_id, symbol, side, quantity, limit_price, region) "
        "VALUES ('ord-1', 'acct-1', 'BRK.B', 'BUY', 1, 1.5, 'us-east-1') "
        "ON CONFLICT (order_id) DO NOTHING RETURNING order_id",
    )
    assert as_app(database, "SELECT order_id FROM orders WHERE order_id = ANY(%s)", (["ord-1"],)) == [
        ("ord-1",)
    ]
    for _ in range(2):  # the second one is the ON CONFLICT DO UPDATE branch
        as_app(
            database,
            "INSERT INTO health_heartbeat (region, beat_at) VALUES ('us-east-1', now()) "
            "ON CONFLICT (region) DO UPDATE SET beat_at = EXCLUDED.beat_at",
        )


REFUSED = {
    "create-table": "CREATE TABLE scratch (id int)",
    "create-temporary-table": "CREATE TEMPORARY TABLE scratch (id int)",
    "create-schema": "CREATE SCHEMA scratch",
    "drop": "DROP TABLE orders",
    "alter": "ALTER TABLE orders ADD COLUMN note text",
    "truncate": "TRUNCATE orders",
    "delete": "DELETE FROM orders",
    "update-orders": "UPDATE orders SET quantity = 2",
    "create-index": "CREATE INDEX scratch ON orders (symbol)",
}


@pytest.mark.parametrize("name", REFUSED)
def test_the_application_role_is_refused(database, name):
    """Fix: no DDL (CREATE TABLE, temporary tables, schemas, indexes), no DROP, no ALTER, no
    TRUNCATE, no DELETE (nor UPDATE of the ledger): each refused for lack of privilege."""
    with pytest.raises(psycopg2.Error) as refused:
        as_app(database, REFUSED[name])
    assert refused.value.pgcode == errorcodes.INSUFFICIENT_PRIVILEGE, refused.value.pgerror


def test_a_drifted_role_is_brought_back_to_exactly_its_grants(database):
    """Someone granted the application role more (DELETE, CREATEDB, a role's membership, CREATE on
    public again): the next run takes exactly that away, and changes nothing else."""
    db = database
    db.as_superuser(f"GRANT DELETE, TRUNCATE ON orders TO {LEDGER_ROLE}", dbname=db.name)
    db.as_superuser(f"REVOKE UPDATE ON health_heartbeat FROM {LEDGER_ROLE}", dbname=db.name)
    db.as_superuser(f"ALTER ROLE {LEDGER_ROLE} CREATEDB")
    db.as_superuser(f"GRANT {MASTER_ROLE} TO {LEDGER_ROLE}")
    db.as_superuser("GRANT CREATE ON SCHEMA public TO PUBLIC", dbname=db.name)
    assert db.migrate() == [
        f"reset the attributes of role {LEDGER_ROLE} to LOGIN only",
        f"revoked membership of {LEDGER_ROLE} in {MASTER_ROLE}",
        "revoked CREATE on schema public from PUBLIC",
        f"revoked DELETE, TRUNCATE on table orders from {LEDGER_ROLE}",
        f"granted UPDATE on table health_heartbeat to {LEDGER_ROLE}",
    ]
    with pytest.raises(psycopg2.Error, match="permission denied"):
        as_app(db, REFUSED["delete"])
    assert db.migrate() == []


def test_a_ledger_created_before_the_migration_is_adopted_with_its_rows(empty_database):
    """Deployed stacks had the functions create the tables as the master user: the migration keeps
    them and their rows, and only adds the role and the grants."""
    db = empty_database
    master = db.connect_as(db.secret(MASTER_ROLE))
    with master, master.cursor() as cursor:
        for statement in (*migration.TABLES.values(), *migration.INDEXES.values()):
            cursor.execute(statement)
        cursor.execute("INSERT INTO health_heartbeat VALUES ('us-east-1', now())")
    master.close()
    changes = db.migrate()
    assert not any(change.startswith("created table") for change in changes)
    assert as_app(db, "SELECT region FROM health_heartbeat") == [("us-east-1",)]


def test_a_new_application_password_is_set_and_never_sent(empty_database):
    """When the application's secret holds another password (a new RandomPassword), the run sets
    it, as a SCRAM verifier: with every statement logged, the password is nowhere in the log."""
    db = empty_database
    db.migrate()
    db.as_superuser(f"ALTER ROLE {MASTER_ROLE} SET log_statement = 'all'")
    db.password = "renewed-" + db.password
    assert db.migrate() == [f"set the password of role {LEDGER_ROLE} from its secret"]
    assert as_app(db, "SELECT current_user") == [(LEDGER_ROLE,)]
    (verifier,) = db.as_superuser("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (LEDGER_ROLE,))
    assert verifier[0].startswith("SCRAM-SHA-256$")
    log = (db.server.data_dir / "log").read_text(errors="replace")
    assert "ALTER ROLE" in log and db.password not in log


def test_a_read_only_cluster_is_refused_with_the_reason_and_left_alone(empty_database):
    """A global database's secondary (or the old primary while the secondary writes) is read-only:
    the migration says where to run it and changes nothing."""
    db = empty_database
    db.as_superuser(f"ALTER DATABASE {db.name} SET default_transaction_read_only = on")
    before = catalog(db)
    with pytest.raises(migration.MigrationError, match=r"read-only.*while the primary region writes"):
        db.migrate()
    assert catalog(db) == before


def test_a_superuser_application_role_is_refused(empty_database):
    db = empty_database
    db.as_superuser(f"CREATE ROLE {LEDGER_ROLE} LOGIN SUPERUSER")
    with pytest.raises(migration.MigrationError, match="superuser"):
        db.migrate()


@pytest.mark.parametrize(
    ("app", "match"),
    [
        ({"username": MASTER_ROLE}, "not a role this can create"),
        ({"username": "Robert'); DROP TABLE orders;--"}, "not a role this can create"),
        ({"dbname": "elsewhere"}, "different databases"),
    ],
)
def test_a_bad_application_secret_is_refused_before_connecting(empty_database, app, match):
    db = empty_database

    def never(_):
        raise AssertionError("connected")

    with pytest.raises(migration.MigrationError, match=match):
        migration.migrate(db.secret(MASTER_ROLE), {**db.secret(), **app}, never)


@pytest.mark.parametrize(
    "event",
    [{}, {"migration": "abc"}, {"migration": "A" * 64}, {"migration": "0" * 64, "tf": {}}, [], "x"],
)
def test_an_event_that_is_not_a_migration_is_refused(event):
    with pytest.raises(migration.InvalidEvent):
        migration.parse_event(event)


def test_the_handler_reads_both_secrets_and_answers_without_them(aws, empty_database):
    """What pulumi up's Invocation gets back (kept in the state): the digest and the changes, no
    password; run twice with the same digest, the second answer has no change."""
    db = empty_database
    client = boto3.client("secretsmanager", region_name=REGION)
    env = {
        name: client.create_secret(Name=name, SecretString=json.dumps(value))["ARN"]
        for name, value in (("MASTER_SECRET_ARN", db.secret(MASTER_ROLE)), ("APP_SECRET_ARN", db.secret()))
    }
    digest = hashlib.sha256(b"migration").hexdigest()
    first = migration.handle({"migration": digest}, client, env, db.connect_as)
    assert first["migration"] == digest and len(first["changes"]) == len(FIRST_RUN)
    assert db.password not in json.dumps(first) and db.master_password not in json.dumps(first)
    assert migration.handle({"migration": digest}, client, env, db.connect_as) == {
        "migration": digest,
        "changes": [],
    }


def test_the_digest_follows_the_migration_source():
    """pulumi up runs the migration again when its code changes: the Invocation's input is the
    digest of the function's source (components/migration.py)."""
    digest = migration_digest()
    assert len(digest) == 64 and digest == migration_digest()
    expected = hashlib.sha256()
    for path in sorted(FUNCTION_DIR.glob("*.py")):
        expected.update(path.name.encode() + b"\0" + path.read_bytes())
    assert digest == expected.hexdigest()


def test_the_function_calls_only_what_its_role_grants():
    assert required_actions(FUNCTION_DIR) == {"secretsmanager:GetSecretValue"}
