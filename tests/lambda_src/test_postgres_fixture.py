"""The PostgreSQL fixture's superuser session (conftest.PostgresServer.admin_session): one per
thread, kept across statements, opened again whenever the one held is dead."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import psycopg2
import pytest

from tests.lambda_src.conftest import as_superuser

BACKEND = "SELECT pg_backend_pid()"


def backend(server) -> int:
    return as_superuser(server, BACKEND)[0][0]


def test_one_session_serves_the_statements_and_outlives_a_failed_one(postgres):
    first = backend(postgres)
    with pytest.raises(psycopg2.errors.UndefinedTable):
        as_superuser(postgres, "SELECT * FROM no_such_table")
    assert backend(postgres) == first  # autocommit: no aborted transaction left behind


def end_the_session(server, pid: int) -> None:
    killer = server.connect("postgres", server.superuser_password)
    try:
        with killer.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))  # waits until it is gone
            assert cursor.fetchone() == (True,)
    finally:
        killer.close()


def test_a_session_the_server_ended_is_opened_again(postgres):
    """pg_terminate_backend (or a restart that bypasses stop()) ends the held session: the next
    statement gets a new one instead of failing on the dead one."""
    first = backend(postgres)
    end_the_session(postgres, first)
    assert backend(postgres) != first


def test_a_session_a_statement_found_dead_is_opened_again(postgres):
    """A statement already under way when the server ended the session fails; the next one gets a
    new session (psycopg2 marks the dead one closed: its socket is gone)."""
    held = postgres.admin_session()
    end_the_session(postgres, backend(postgres))
    with pytest.raises(psycopg2.OperationalError), held.cursor() as cursor:
        cursor.execute(BACKEND)
    assert held.closed
    assert postgres.admin_session() is not held
    assert backend(postgres) > 0


def test_a_session_another_thread_opens_while_the_server_stops_is_not_kept(postgres, monkeypatch):
    """The spare databases' thread may open its session while pg_ctl is stopping the server: that
    session dies with the server too, and the thread's next statement runs on a new one."""
    worker = ThreadPoolExecutor(max_workers=1)
    ctl = postgres._ctl

    def stopping(*args):
        worker.submit(backend, postgres).result()  # between stop() being called and the server down
        ctl(*args)

    monkeypatch.setattr(postgres, "_ctl", stopping)
    try:
        postgres.stop()
    finally:
        monkeypatch.undo()
        postgres.start()
    try:
        assert worker.submit(backend, postgres).result() > 0
        assert backend(postgres) > 0  # and this thread's, which the stop ended as well
    finally:
        worker.shutdown()
