"""PostgreSQL access shared by the trading DR functions in the VPC (order processor, health route,
reconciliation, and the migration and rotation functions; the payments rotation uses
``can_log_in`` through common/rotation.py): credentials from Secrets Manager, one session per
container re-opened when it breaks, and a password set without sending it.

The application functions log in as the application role, which may not create anything: the
ledger's tables are the migration's (lambda_src/pulumi_trading_dr/migrate, run by ``pulumi up``).
A session that finds them missing fails with SchemaMissing, which says so.

The driver is passed in (``psycopg2``, which each of those functions bundles): this module is in
the shared layer, which does not ship it. Read-only is recognised by its SQLSTATE (25006), which a
global database's secondary cluster answers to a write.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

READ_ONLY_SQLSTATE = "25006"  # read_only_sql_transaction
# Connection errors the server sends in English; libpq gives them no SQLSTATE on the client side.
AUTH_FAILURE = "password authentication failed"
DEFAULT_CONNECT_OPTIONS: Mapping[str, Any] = {
    "connect_timeout": 5,
    # A stuck statement fails its record, not the invocation: 10 records x 10 s < 300 s.
    "options": "-c statement_timeout=10000",
}
# The ledger's tables (created by the migration, never by the functions that use them).
SCHEMA_TABLES = ("orders", "health_heartbeat")

SecretReader = Callable[[], Mapping[str, Any]]
Connect = Callable[[Mapping[str, Any]], Any]
T = TypeVar("T")


def secret_reader(client: Any, secret_arn: str) -> SecretReader:
    """Reads the database secret (username, password, dbname, port) with GetSecretValue only."""

    def read() -> Mapping[str, Any]:
        value = json.loads(client.get_secret_value(SecretId=secret_arn)["SecretString"])
        missing = {"username", "password", "dbname"} - value.keys()
        if missing:
            raise ValueError(f"secret {secret_arn} lacks {sorted(missing)}")
        return value

    return read


def can_log_in(credentials: Mapping[str, Any], connect: Connect, driver: ModuleType) -> bool:
    """Whether ``credentials`` open a session (a refused or unreachable login is False)."""
    try:
        connection = connect(credentials)
    except driver.OperationalError:
        return False
    connection.close()
    return True


def is_read_only(exc: BaseException) -> bool:
    """The server refused a write because the session is read-only (a standby cluster)."""
    return getattr(exc, "pgcode", None) == READ_ONLY_SQLSTATE


class SchemaMissing(RuntimeError):
    """The ledger's tables are not there: the migration has not run on this cluster."""


def check_schema(connection: Any) -> None:
    """Raise SchemaMissing unless the ledger's tables exist (a read, so a standby answers it too)."""
    with connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM unnest(%s::text[]) AS name WHERE to_regclass(name) IS NULL",
            (list(SCHEMA_TABLES),),
        )
        missing = [row[0] for row in cursor.fetchall()]
    if missing:
        raise SchemaMissing(
            f"the ledger's tables {missing} do not exist: run the migration "
            "(pulumi up invokes the migrate function in the writer's region)"
        )


def set_password(connection: Any, driver: ModuleType, role: str, password: str) -> None:
    """ALTER ROLE ... PASSWORD with a SCRAM-SHA-256 verifier made here (libpq's
    PQencryptPasswordConn): the password itself never reaches the server, its logs or
    pg_stat_statements, only what the server stores anyway."""
    verifier = driver.extensions.encrypt_password(password, role, connection, "scram-sha-256")
    statement = "ALTER ROLE " + driver.extensions.quote_ident(role, connection) + " WITH PASSWORD %s"
    with connection, connection.cursor() as cursor:
        cursor.execute(statement, (verifier,))


@dataclass
class Database:
    """One PostgreSQL session per container, opened with the secret's credentials.

    ``driver`` is the DB-API module (psycopg2); ``connect`` defaults to its ``connect`` and, like
    ``options`` (sslmode, timeouts), is injectable so tests reach a local server without TLS.
    """

    read_secret: SecretReader
    host: str
    options: Mapping[str, Any]
    driver: ModuleType
    connect: Callable[..., Any] | None = None
    port: int | None = None  # instead of the secret's (another endpoint of the same cluster)
    _credentials: Mapping[str, Any] | None = field(default=None, init=False, repr=False)
    _connection: Any = field(default=None, init=False, repr=False)

    def _open(self, credentials: Mapping[str, Any]) -> Any:
        connect = self.connect or self.driver.connect
        return connect(
            host=self.host,
            port=self.port or int(credentials.get("port", 5432)),
            dbname=credentials["dbname"],
            user=credentials["username"],
            password=credentials["password"],
            **self.options,
        )

    def _connect(self) -> Any:
        cached = self._credentials is not None
        if not cached:
            self._credentials = self.read_secret()
        try:
            connection = self._open(self._credentials)
        except self.driver.OperationalError as exc:
            if not (cached and AUTH_FAILURE in str(exc)):
                raise
            # The secret was rotated since it was cached: read it again, once.
            logger.warning("database rejected the cached credentials; re-reading the secret")
            self._credentials = self.read_secret()
            connection = self._open(self._credentials)
        try:
            check_schema(connection)
        except Exception:
            connection.close()
            raise
        return connection

    def discard(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(self.driver.Error):
                self._connection.close()
        self._connection = None

    def run(self, work: Callable[[Any], T]) -> T:
        """``work(connection)`` on the container's session.

        A reused session that turns out broken (the server restarted, a failover) is replaced and
        the work tried once more; a fresh session's failure is raised. A read-only refusal drops
        the session (the promoted writer will be behind the same endpoint) and is raised.
        """
        broken = (self.driver.OperationalError, self.driver.InterfaceError)
        for attempt in (1, 2):
            reused = self._connection is not None and not self._connection.closed
            if not reused:
                self.discard()
                self._connection = self._connect()
            try:
                return work(self._connection)
            except broken as exc:
                if is_read_only(exc):
                    self.discard()
                    raise
                if not self._connection.closed:
                    raise  # e.g. the statement timeout: the session itself is fine
                self.discard()
                if not reused or attempt == 2:
                    raise
                logger.warning("the cached database connection is broken; reconnecting")
            except self.driver.Error as exc:
                if is_read_only(exc):
                    self.discard()
                raise
        raise AssertionError("unreachable")
