"""migrate: the ledger's schema and the application's login role, run as the master user on the
writer by ``pulumi up`` (an ``aws.lambda_.Invocation``, components/migration.py).

The functions that use the ledger (order processor, health route, reconciliation) log in as the
application role, which this migration creates and may do exactly what they do:

- ``orders``: INSERT and SELECT (the processor's ``INSERT .. ON CONFLICT DO NOTHING RETURNING``
  and its read-back; the reconciliation's reads and repairs);
- ``health_heartbeat``: INSERT, UPDATE and SELECT (the health route's upsert);
- USAGE on schema public, CONNECT on the database; nothing else: no DDL, no DELETE or TRUNCATE,
  no ownership, no role attribute but LOGIN, member of no role.

PUBLIC loses CREATE on schema public and CONNECT/TEMPORARY on the database (PostgreSQL grants
them to every role by default), so no login role can create objects or temporary tables.

Idempotent: it compares what it finds with what it wants and changes only the difference; a second
run changes nothing and answers no change. The application's password (its own secret) is set only
when it does not already log in, as a SCRAM verifier (never the password itself). A global
database's secondary cluster replicates roles and tables: this runs once, on the writer; a
read-only cluster is refused with a message (``pulumi up`` runs while the primary writes).

Event: ``{"migration": "<sha256 of this migration>"}`` (the Invocation's input; a new digest is a
new invocation). Answer: ``{"migration": ..., "changes": [...]}``, kept in the Pulumi state, so it
carries no secret. Any failure is a function error, which fails ``pulumi up``.

Environment: DB_HOST (the writer's cluster endpoint), MASTER_SECRET_ARN, APP_SECRET_ARN,
POWERTOOLS_SERVICE_NAME, ENVIRONMENT.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Any

import boto3
import psycopg2
from aws_lambda_powertools import Logger
from common import tracing
from common.database import Connect, can_log_in, is_read_only, set_password
from common.rds_tls import verify_full_options
from psycopg2 import sql

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "migrate"))
logger.append_keys(environment=os.environ.get("ENVIRONMENT", "unknown"))

# The ledger. Created once, owned by the master user; a later change is a new statement here.
TABLES = {
    "orders": """
CREATE TABLE orders (
    order_id    varchar(64)    PRIMARY KEY,
    account_id  varchar(64)    NOT NULL,
    symbol      varchar(12)    NOT NULL,
    side        varchar(4)     NOT NULL CHECK (side IN ('BUY', 'SELL')),
    quantity    bigint         NOT NULL CHECK (quantity BETWEEN 1 AND 1000000000),
    limit_price numeric(16, 4) NOT NULL CHECK (limit_price > 0),
    region      text           NOT NULL,
    recorded_at timestamptz    NOT NULL DEFAULT now()
)""",
    "health_heartbeat": """
CREATE TABLE health_heartbeat (
    region  text        PRIMARY KEY,
    beat_at timestamptz NOT NULL
)""",
}
INDEXES = {"orders_recorded_at": "CREATE INDEX orders_recorded_at ON orders (recorded_at)"}
# Exactly what the application role may do, per table (the docstring says who needs what).
TABLE_GRANTS = {
    "orders": frozenset({"INSERT", "SELECT"}),
    "health_heartbeat": frozenset({"INSERT", "UPDATE", "SELECT"}),
}
SCHEMA = "public"
# PostgreSQL's defaults give PUBLIC (every role) these; the migration takes them away.
PUBLIC_FORBIDDEN = {
    "database": frozenset({"CONNECT", "TEMPORARY", "CREATE"}),
    "schema": frozenset({"CREATE"}),
    "table": frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"}),
}
PUBLIC = "PUBLIC"
ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
DIGEST = re.compile(r"[0-9a-f]{64}")
# Concurrent runs (two `pulumi up` at once) take turns.
MIGRATION_LOCK = 0x7472_6164_656D_6967  # "trademig"
# A migration must never stall the writes it serves: give up on a lock quickly instead.
CONNECT_OPTIONS: Mapping[str, Any] = {
    "connect_timeout": 5,
    "options": "-c lock_timeout=5000 -c statement_timeout=60000",
}


class MigrationError(Exception):
    """The migration cannot do what it must; the message says why (and fails ``pulumi up``)."""


class InvalidEvent(MigrationError):
    """The event is not ``{"migration": "<sha256>"}``."""


# --- what is there ----------------------------------------------------------------------------

ACL = {
    "database": """
SELECT coalesce(g.rolname, 'PUBLIC'), a.privilege_type
FROM pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
LEFT JOIN pg_roles g ON g.oid = a.grantee
WHERE d.datname = current_database()
""",
    "schema": """
SELECT coalesce(g.rolname, 'PUBLIC'), a.privilege_type
FROM pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
LEFT JOIN pg_roles g ON g.oid = a.grantee
WHERE n.nspname = %s
""",
    "table": """
SELECT coalesce(g.rolname, 'PUBLIC'), a.privilege_type
FROM pg_class c, aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
LEFT JOIN pg_roles g ON g.oid = a.grantee
WHERE c.oid = to_regclass(%s)
""",
}


def privileges(cursor: Any, kind: str, name: str) -> dict[str, set[str]]:
    """grantee (a role name, or PUBLIC) -> the privileges it holds on the object."""
    cursor.execute(ACL[kind], (name,) if kind != "database" else None)
    held: dict[str, set[str]] = {}
    for grantee, privilege in cursor.fetchall():
        held.setdefault(grantee, set()).add(privilege)
    return held


# --- the steps --------------------------------------------------------------------------------


def create_tables(cursor: Any) -> list[str]:
    changes = []
    for name, statement in {**TABLES, **INDEXES}.items():
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{SCHEMA}.{name}",))
        if not cursor.fetchone()[0]:
            cursor.execute(statement)
            changes.append(f"created {'table' if name in TABLES else 'index'} {name}")
    return changes


def ensure_role(cursor: Any, role: str) -> list[str]:
    """The application role exists as a plain login: no attribute but LOGIN, member of no role,
    owner of nothing."""
    cursor.execute(
        "SELECT rolsuper, rolreplication, rolbypassrls, rolcreaterole, rolcreatedb, rolcanlogin "
        "FROM pg_roles WHERE rolname = %s",
        (role,),
    )
    found = cursor.fetchone()
    if found is None:
        cursor.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        return [f"created role {role}"]
    superuser, replication, bypassrls, createrole, createdb, login = found
    if superuser or replication or bypassrls:
        raise MigrationError(
            f"role {role} is a superuser or has REPLICATION/BYPASSRLS, which the master user cannot "
            "take away: drop the role and run the migration again"
        )
    changes = []
    if createrole or createdb or not login:
        cursor.execute(sql.SQL("ALTER ROLE {} LOGIN NOCREATEROLE NOCREATEDB").format(sql.Identifier(role)))
        changes.append(f"reset the attributes of role {role} to LOGIN only")
    cursor.execute(
        "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
        "WHERE m.member = %s::regrole ORDER BY 1",
        (role,),
    )
    for (granted,) in cursor.fetchall():
        cursor.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(granted), sql.Identifier(role)))
        changes.append(f"revoked membership of {role} in {granted}")
    cursor.execute(
        "SELECT relname FROM pg_class WHERE relowner = %s::regrole "
        "UNION ALL SELECT nspname FROM pg_namespace WHERE nspowner = %s::regrole ORDER BY 1",
        (role, role),
    )
    owned = [row[0] for row in cursor.fetchall()]
    if owned:
        raise MigrationError(
            f"role {role} owns {owned}: the application role must own nothing; "
            f"REASSIGN OWNED BY {role} TO the master user, then run the migration again"
        )
    return changes


def _keywords(names: set[str]) -> sql.Composable:
    return sql.SQL(", ").join(sql.SQL(name) for name in sorted(names))  # names from the catalog


def settle_privileges(cursor: Any, kind: str, name: str, wanted: Mapping[str, frozenset[str]]) -> list[str]:
    """Make ``grantee -> privileges`` on the object exactly ``wanted`` for each grantee named;
    PUBLIC keeps only what is not in PUBLIC_FORBIDDEN."""
    held = privileges(cursor, kind, f"{SCHEMA}.{name}" if kind == "table" else name)
    qualified = sql.Identifier(SCHEMA, name) if kind == "table" else sql.Identifier(name)
    target = sql.SQL(kind.upper()) + sql.SQL(" ") + qualified
    changes = []
    for grantee in sorted({*wanted, PUBLIC}):
        has = held.get(grantee, set())
        if grantee == PUBLIC:
            extra, missing = has & PUBLIC_FORBIDDEN[kind], set()
        else:
            extra, missing = has - wanted[grantee], set(wanted[grantee]) - has
        who = sql.SQL(PUBLIC) if grantee == PUBLIC else sql.Identifier(grantee)
        if extra:
            cursor.execute(sql.SQL("REVOKE {} ON {} FROM {}").format(_keywords(extra), target, who))
            changes.append(f"revoked {', '.join(sorted(extra))} on {kind} {name} from {grantee}")
        if missing:
            cursor.execute(sql.SQL("GRANT {} ON {} TO {}").format(_keywords(missing), target, who))
            changes.append(f"granted {', '.join(sorted(missing))} on {kind} {name} to {grantee}")
    return changes


def migrate(master: Mapping[str, Any], app: Mapping[str, Any], connect: Connect) -> list[str]:
    """Bring the database to the ledger's schema and the application role to exactly its grants;
    return what changed (empty when nothing had to)."""
    role = app["username"]
    if not isinstance(role, str) or not ROLE_NAME.fullmatch(role) or role == master["username"]:
        raise MigrationError(f"the application secret's username {role!r} is not a role this can create")
    if app["dbname"] != master["dbname"]:
        raise MigrationError("the application and master secrets name different databases")
    connection = connect(master)
    try:
        try:
            with connection, connection.cursor() as cursor:  # one transaction: all or nothing
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
                # The ledger lives in public, whatever schemas the master user's search_path names.
                cursor.execute("SET LOCAL search_path = public")
                cursor.execute("SELECT current_database()")
                database = cursor.fetchone()[0]
                changes = create_tables(cursor)
                changes += ensure_role(cursor, role)
                changes += settle_privileges(cursor, "database", database, {role: frozenset({"CONNECT"})})
                changes += settle_privileges(cursor, "schema", SCHEMA, {role: frozenset({"USAGE"})})
                for table, grants in TABLE_GRANTS.items():
                    changes += settle_privileges(cursor, "table", table, {role: grants})
        except psycopg2.Error as exc:
            if is_read_only(exc):
                raise MigrationError(
                    "this cluster is read-only (not the global database's writer): run pulumi up "
                    "while the primary region writes (README, failback)"
                ) from exc
            raise
        if not can_log_in(app, connect, psycopg2):
            set_password(connection, psycopg2, role, app["password"])
            changes.append(f"set the password of role {role} from its secret")
    finally:
        connection.close()
    return changes


# --- the handler ------------------------------------------------------------------------------


def parse_event(event: Any) -> str:
    if not isinstance(event, dict) or set(event) != {"migration"}:
        raise InvalidEvent('the event must be {"migration": "<sha256>"} and nothing else')
    digest = event["migration"]
    if not isinstance(digest, str) or not DIGEST.fullmatch(digest):
        raise InvalidEvent("migration: the sha256 (64 lower-case hex digits) of the migration")
    return digest


def read_secret(client: Any, arn: str) -> dict[str, Any]:
    value = json.loads(client.get_secret_value(SecretId=arn)["SecretString"])
    missing = {"username", "password", "dbname"} - value.keys()
    if missing:
        raise MigrationError(f"secret {arn} lacks {sorted(missing)}")
    return value


def connect(credentials: Mapping[str, Any]) -> Any:
    return psycopg2.connect(
        host=os.environ["DB_HOST"],
        port=int(credentials.get("port", 5432)),
        dbname=credentials["dbname"],
        user=credentials["username"],
        password=credentials["password"],
        **verify_full_options(),  # TLS that verifies the server against the RDS CAs
        **CONNECT_OPTIONS,
    )


def handle(event: Any, secrets: Any, env: Mapping[str, str], connect_fn: Connect = connect) -> dict[str, Any]:
    digest = parse_event(event)
    master = read_secret(secrets, env["MASTER_SECRET_ARN"])
    app = read_secret(secrets, env["APP_SECRET_ARN"])
    changes = migrate(master, app, connect_fn)
    logger.info("migration done", extra={"migration": digest, "changes": changes})
    return {"migration": digest, "changes": changes}


_secrets: Any = None


@logger.inject_lambda_context
@tracing.traced
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _secrets
    if _secrets is None:
        _secrets = boto3.client("secretsmanager")
    return handle(event, _secrets, os.environ)
