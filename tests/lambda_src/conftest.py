"""Fixtures for handler tests: moto-backed AWS, a Lambda context, and a throw-away PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import psycopg2
import pytest
from moto import mock_aws

REGION = "us-east-1"


@dataclass
class LambdaContext:
    function_name: str = "test-function"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:test-function"
    aws_request_id: str = "52fdfc07-2182-154f-163f-5f0f9a621d72"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


class SqsClock:
    """moto's SQS clock, moved forward instead of sleeping: a message becomes visible again when
    moto's own visibility and delay arithmetic says so, later by ``advance``'s seconds."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from moto.sqs import models

        self.offset = 0.0
        seconds, millis = models.unix_time, models.unix_time_millis
        monkeypatch.setattr(models, "unix_time", lambda *args: seconds(*args) + self.offset)
        monkeypatch.setattr(models, "unix_time_millis", lambda *args: millis(*args) + self.offset * 1000)

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def sqs_clock(monkeypatch: pytest.MonkeyPatch) -> SqsClock:
    return SqsClock(monkeypatch)


# --- a real PostgreSQL server, started by the fixture (initdb + pg_ctl, loopback only) ---------


def _pg_bin(tool: str) -> str:
    found = shutil.which(tool)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{tool}"), reverse=True)
    if candidates:
        return str(candidates[0])
    pytest.fail(f"{tool} not found: install Debian's postgresql package (.ci/run does)")


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr or done.stdout}")


def _readable(connection) -> bool:
    """Whether an idle session's socket holds something to read: only a session the server ended does."""
    return bool(select.select([connection.fileno()], [], [], 0)[0])


# Lambda's X-Ray endpoint in tests: a UDP socket on 127.0.0.1 (AWS_XRAY_DAEMON_ADDRESS), and the
# trace header Lambda would set for a sampled invocation (_X_AMZN_TRACE_ID: Root, Parent).
TRACE_ROOT, LAMBDA_PARENT = "5759e988bd862e3fe1be46a994272793", "53995c3f42cd8ad8"


@pytest.fixture
def xray_endpoint() -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock


def received_spans(sock: socket.socket, wait: float = 0.2) -> list:
    """Every span sent so far, decoded with OTLP's own classes: ``{"format":"json","version":1}\\n
    T1S<base64 OTLP>`` per datagram, as Lambda's X-Ray endpoint reads it."""
    import base64
    import json

    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    sock.settimeout(wait)
    spans = []
    while True:
        try:
            datagram = sock.recv(65536)
        except TimeoutError:
            return spans
        header, payload = datagram.split(b"\n", 1)
        assert json.loads(header) == {"format": "json", "version": 1}
        assert payload.startswith(b"T1S"), payload[:10]
        request = ExportTraceServiceRequest.FromString(base64.b64decode(payload[3:]))
        spans += [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    data_dir: Path
    port: int
    superuser_password: str
    _as_postgres: list[str]
    # The superuser's sessions on database postgres, one per thread, for as long as each lives: a
    # SCRAM login costs about 5 ms and the fixtures run some 600 statements as the superuser.
    _admin: threading.local = field(default_factory=threading.local)

    host = "127.0.0.1"

    def _ctl(self, *args: str) -> None:
        _run([*self._as_postgres, _pg_bin("pg_ctl"), "-D", str(self.data_dir), "-w", "-t", "30", *args])

    def admin_session(self):
        """This thread's autocommit session as the superuser on database postgres, opened again
        when the one held is dead, as a statement on it would fail: the server ended it since (a
        test stopped or restarted the server, pg_terminate_backend), which an idle session shows
        as something to read in its socket (the server's goodbye, the end of the stream). Checked
        at each use, not counted by stop(): the spare databases' thread may open its session while
        pg_ctl is stopping the server."""
        held = getattr(self._admin, "session", None)
        if held is not None and (held.closed or _readable(held)):
            with contextlib.suppress(psycopg2.Error):
                held.close()
            held = None
        if held is None:
            held = self._admin.session = self.connect("postgres", self.superuser_password)
            held.autocommit = True  # CREATE/DROP DATABASE refuse to run in a transaction
        return held

    def start(self) -> None:
        self._ctl(
            "-o",
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.data_dir}"
            # A throw-away server: nothing it writes has to survive a crash of this machine.
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            "-l",
            str(self.data_dir / "log"),
            "start",
        )

    def stop(self) -> None:
        self._ctl("-m", "fast", "stop")

    def connect(self, user: str, password: str, dbname: str = "postgres"):
        import psycopg2

        return psycopg2.connect(
            host=self.host,
            port=self.port,
            user=user,
            password=password,
            dbname=dbname,
            connect_timeout=5,
            sslmode="disable",
        )


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    # Not under pytest's tmp dir: that is private to root, and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="payments-pg-"))
    data_dir = root / "data"
    password = "superuser-" + os.urandom(8).hex()
    pwfile = root / "pwfile"
    pwfile.write_text(password + "\n")
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        shutil.chown(root, "postgres")
        shutil.chown(pwfile, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    _run(
        [
            *as_postgres,
            _pg_bin("initdb"),
            "-D",
            str(data_dir),
            "-U",
            "postgres",
            f"--pwfile={pwfile}",
            "--auth-host=scram-sha-256",
            "--auth-local=scram-sha-256",
            "-E",
            "UTF8",
            "--no-sync",
        ]
    )
    server = PostgresServer(
        data_dir=data_dir, port=_free_port(), superuser_password=password, _as_postgres=as_postgres
    )
    server.start()
    deadline = time.monotonic() + 30
    while True:
        try:
            server.connect("postgres", password).close()
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


# --- the trading DR ledger: a database as Aurora creates it, migrated, used as the application ---

LEDGER_ROLE = "trading_app"  # the application's login, created by the migration
MASTER_ROLE = "trading_admin"  # the cluster's master user: not a superuser, CREATEROLE, owns the database


class LedgerDatabase:
    """A database owned by the master user on the session's PostgreSQL server, as RDS creates the
    cluster's database: the master user is no superuser (Aurora's has rds_superuser) and may create
    roles. Schema public still lets PUBLIC create, as in a database upgraded from PostgreSQL 14."""

    def __init__(self, server, name=None):
        self.server = server
        self.name = name or "ledger_" + uuid.uuid4().hex[:12]
        self.password = "app-" + uuid.uuid4().hex  # the application role's, as its secret holds it
        self.master_password = "master-" + uuid.uuid4().hex

    def secret(self, username=LEDGER_ROLE, password=None):
        """The secret as the stack stores it (the application's unless another user is named)."""
        if password is None:
            password = self.master_password if username == MASTER_ROLE else self.password
        return {
            "engine": "postgres",
            "username": username,
            "password": password,
            "dbname": self.name,
            "port": self.server.port,
        }

    def connect_as(self, credentials):
        """What the functions' connect does, without TLS (the local server has none)."""
        return self.server.connect(credentials["username"], credentials["password"], credentials["dbname"])

    def migrate(self):
        """Run the migration as pulumi up does: as the master user, with the application's secret."""
        from lambda_src.pulumi_trading_dr.migrate import index as migration

        return migration.migrate(self.secret(MASTER_ROLE), self.secret(), self.connect_as)

    def as_superuser(self, statement, args=None, dbname="postgres"):
        return as_superuser(self.server, statement, args, dbname)

    def rows(self):
        return self.as_superuser(
            "SELECT order_id, account_id, symbol, side, quantity, limit_price, region FROM orders "
            "ORDER BY order_id",
            dbname=self.name,
        )

    def terminate_connections(self):
        """What a failover or a server restart does to the function's cached connection."""
        self.as_superuser(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND usename = %s",
            (self.name, LEDGER_ROLE),
        )


def as_superuser(server, statement, args=None, dbname="postgres"):
    """The statement as the superuser: on this thread's held session for database postgres, on a
    session of its own (closed afterwards) for any other database."""
    if dbname == "postgres":
        return _execute(server.admin_session(), statement, args)
    with contextlib.closing(server.connect("postgres", server.superuser_password, dbname)) as admin:
        admin.autocommit = True
        return _execute(admin, statement, args)


def _execute(connection, statement, args):
    with connection.cursor() as cursor:
        cursor.execute(statement, args)
        return cursor.fetchall() if cursor.description else None


class SpareDatabases:
    """The next test's database, made by a thread while the current test runs.

    CREATE DATABASE (PostgreSQL 15's WAL_LOG strategy, copying template1 through the WAL, no
    checkpoint) takes 20-40 ms on an idle machine and 0.1-0.25 s on a busy one; some 60 tests each
    need a new database, so it is made off the test's critical path. Each one is made as
    RDS leaves it (schema public open to PUBLIC) and owned by the superuser until a test takes it.
    """

    def __init__(self, server):
        self.server = server
        self._maker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spare-database")
        self._next = self._maker.submit(self._create)

    def _create(self) -> str:
        name = "ledger_" + uuid.uuid4().hex[:12]
        as_superuser(self.server, f"CREATE DATABASE {name}")
        as_superuser(self.server, "GRANT CREATE ON SCHEMA public TO PUBLIC", dbname=name)
        return name

    def take(self) -> str:
        try:
            name = self._next.result()
        except psycopg2.Error:  # a test stopped the server while the thread made it
            name = self._create()  # the server is up again: the test restarts it when it ends
        self._next = self._maker.submit(self._create)
        return name

    def close(self) -> None:
        with contextlib.suppress(psycopg2.Error):  # the server and its files are removed next anyway
            as_superuser(self.server, f"DROP DATABASE IF EXISTS {self._next.result()}")
        self._maker.shutdown()


@pytest.fixture(scope="session")
def spare_databases(postgres) -> Iterator[SpareDatabases]:
    spares = SpareDatabases(postgres)
    yield spares
    spares.close()


@pytest.fixture
def empty_database(postgres, spare_databases):
    """The cluster's database before the migration: no ledger, no application role."""
    db = LedgerDatabase(postgres, spare_databases.take())
    db.as_superuser(f"DROP ROLE IF EXISTS {LEDGER_ROLE}")
    db.as_superuser(f"DROP ROLE IF EXISTS {MASTER_ROLE}")
    db.as_superuser(f"CREATE ROLE {MASTER_ROLE} LOGIN CREATEROLE PASSWORD %s", (db.master_password,))
    db.as_superuser(f"ALTER DATABASE {db.name} OWNER TO {MASTER_ROLE}")
    yield db
    db.as_superuser(f"DROP DATABASE IF EXISTS {db.name} WITH (FORCE)")
    db.as_superuser(f"DROP ROLE IF EXISTS {LEDGER_ROLE}")
    db.as_superuser(f"DROP ROLE IF EXISTS {MASTER_ROLE}")


@pytest.fixture
def database(empty_database):
    """The ledger after the migration; the functions under test log in as the application role."""
    empty_database.migrate()
    return empty_database


def make_transactions_table(
    name: str = "transactions-test", partition_key: str = "customer_id", index_name: str | None = None
):
    """The transactions table as the stacks define it: transaction_id key, a history GSI keyed by
    ``partition_key`` (customer or merchant) and created_at, projecting exactly what the fraud
    history query reads."""
    from common.fraud import HISTORY_ATTRIBUTES

    from cdk_payments.constructs.data import CUSTOMER_INDEX

    return boto3.resource("dynamodb", region_name=REGION).create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "transaction_id", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": attribute, "AttributeType": "S"}
            for attribute in ("transaction_id", partition_key, "created_at")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": index_name or CUSTOMER_INDEX,
                "KeySchema": [
                    {"AttributeName": partition_key, "KeyType": "HASH"},
                    {"AttributeName": "created_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(HISTORY_ATTRIBUTES)},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture
def aws_clients(aws):
    return {
        "dynamodb": boto3.resource("dynamodb", region_name=REGION),
        "s3": boto3.client("s3", region_name=REGION),
        "secretsmanager": boto3.client("secretsmanager", region_name=REGION),
    }
