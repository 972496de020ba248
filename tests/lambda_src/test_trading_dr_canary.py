"""The Synthetics canary script, run for real against a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import ast
import importlib
import json
import sys
import threading
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from lambda_src.pulumi_trading_dr.canary import health_check

SCRIPT = Path(health_check.__file__)


class Endpoint:
    """A local /health endpoint whose answer each test sets: (status, body) or None (never answers)."""

    def __init__(self):
        self.answer: tuple[int, bytes] | None = (200, b'{"status": "active", "region": "us-east-1"}')
        self.requests: list[dict] = []
        self.release = threading.Event()  # lets a handler that never answers go at teardown
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                endpoint.requests.append({"path": self.path, "headers": dict(self.headers)})
                if endpoint.answer is None:
                    endpoint.release.wait(10)
                    return
                status, body = endpoint.answer
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # keep the test output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/prod/health"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def answer_json(self, status, payload):
        self.answer = (status, json.dumps(payload).encode())

    def close(self):
        self.release.set()
        if self.thread.is_alive():
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def endpoint(monkeypatch):
    endpoint = Endpoint()
    monkeypatch.setenv("TARGET_URL", endpoint.url)
    monkeypatch.setenv("EXPECTED_REGION", "us-east-1")
    monkeypatch.setenv("TIMEOUT_SECONDS", "0.5")
    yield endpoint
    endpoint.close()


@pytest.mark.catalogue("trading-dr-24")
def test_a_healthy_endpoint_passes(endpoint):
    """Fix: a Python script with the Synthetics Python handler signature, run as the runtime runs it."""
    assert health_check.handler({}, None) == f"{endpoint.url} is active in us-east-1"
    (request,) = endpoint.requests
    assert request["path"] == "/prod/health" and request["headers"]["Accept"] == "application/json"


def test_a_standby_alive_in_its_role_passes(endpoint):
    """The liveness form (?role=any) answers 200 for a reachable standby: the canary watches that
    the region is alive, not that it writes (DNS routes on that, route53.py)."""
    endpoint.answer_json(200, {"status": "standby", "region": "us-east-1"})
    assert health_check.handler({}, None).endswith("is standby in us-east-1")


def test_the_region_is_not_checked_without_expected_region(endpoint, monkeypatch):
    monkeypatch.delenv("EXPECTED_REGION")
    endpoint.answer_json(200, {"status": "active", "region": "us-west-2"})
    assert health_check.handler({}, None).endswith("active in us-west-2")


@pytest.mark.parametrize(
    ("status", "payload", "match"),
    [
        (503, {"status": "unavailable"}, "HTTP 503, expected 200"),
        (500, {"message": "Internal server error"}, "HTTP 500"),
        (403, {"message": "Forbidden"}, "HTTP 403"),
        (204, None, "HTTP 204, expected 200"),
        (200, {"status": "down", "region": "us-east-1"}, "expected a status in"),
        (200, ["active"], "expected a status in"),
        (200, {"status": "active"}, "names no region"),
        (200, {"status": "active", "region": "us-west-2"}, "answered from us-west-2, expected us-east-1"),
    ],
    ids=[
        "503",
        "500",
        "403",
        "204",
        "not-ok",
        "not-an-object",
        "no-region",
        "wrong-region",
    ],
)
def test_an_unhealthy_answer_fails_the_run(endpoint, status, payload, match):
    endpoint.answer = (status, b"" if payload is None else json.dumps(payload).encode())
    with pytest.raises(health_check.HealthCheckFailed, match=match):
        health_check.handler({}, None)


def test_a_body_that_is_not_json_fails_the_run(endpoint):
    endpoint.answer = (200, b"<html>It works!</html>")
    with pytest.raises(health_check.HealthCheckFailed, match="not JSON"):
        health_check.handler({}, None)


def test_an_endpoint_that_never_answers_fails_within_the_timeout(endpoint):
    endpoint.answer = None
    with pytest.raises(health_check.HealthCheckFailed, match=r"no answer within 0\.5 s"):
        health_check.handler({}, None)


def test_a_refused_connection_fails_the_run(endpoint):
    url = endpoint.url
    endpoint.close()  # nothing listens on the port any more
    with pytest.raises(health_check.HealthCheckFailed, match="refused"):
        health_check.check(url, timeout=0.5)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/health", "not a url"])
def test_only_http_urls_are_fetched(url):
    with pytest.raises(health_check.HealthCheckFailed, match="http"):
        health_check.check(url)


def test_the_synthetics_logger_is_used_when_the_runtime_has_it(endpoint, monkeypatch):
    lines = []
    synthetics_logger = types.SimpleNamespace(info=lines.append, error=lines.append)
    common = types.ModuleType("aws_synthetics.common")
    common.synthetics_logger = synthetics_logger
    monkeypatch.setitem(sys.modules, "aws_synthetics", types.ModuleType("aws_synthetics"))
    monkeypatch.setitem(sys.modules, "aws_synthetics.common", common)
    try:
        module = importlib.reload(health_check)
        assert module.logger is synthetics_logger
        module.handler({}, None)
        endpoint.answer = (503, b"{}")
        with pytest.raises(module.HealthCheckFailed):
            module.handler({}, None)
    finally:  # back to the logging fallback for the other tests
        monkeypatch.delitem(sys.modules, "aws_synthetics.common")
        monkeypatch.delitem(sys.modules, "aws_synthetics")
        importlib.reload(health_check)
    assert health_check.logger.name == "health_check"
    assert lines[0].endswith("is active in us-east-1")
    assert lines[1].startswith("health check failed: ") and "HTTP 503" in lines[1]


def test_the_script_needs_nothing_beyond_the_standard_library():
    """The Synthetics runtime gets no packages from us; aws_synthetics is the runtime's own."""
    imported = set()
    for node in ast.walk(ast.parse(SCRIPT.read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported - sys.stdlib_module_names == {"aws_synthetics"}
    assert not (SCRIPT.parent / "index.py").exists()  # not one of the bundled Lambda functions


# --- the verdict mode: what Route 53's checkers concluded, read through DNS -----------------------


@pytest.fixture
def verdict(monkeypatch):
    monkeypatch.delenv("TARGET_URL", raising=False)
    monkeypatch.setenv("VERDICT_NAME", "localhost")
    monkeypatch.setenv("TIMEOUT_SECONDS", "2")


def test_the_verdict_passes_when_the_name_resolves_to_the_healthy_address(verdict, monkeypatch):
    """A real resolution (localhost is 127.0.0.1 on every machine): the healthy answer passes."""
    monkeypatch.setenv("HEALTHY_ADDRESS", "127.0.0.1")
    assert health_check.handler({}, None) == "Route 53 finds the primary alive (localhost)"


def test_the_verdict_fails_on_any_other_answer(verdict, monkeypatch):
    """The failover record answers the other address when the primary's check is unhealthy."""
    from pulumi_trading_dr.components.route53 import VERDICT_FAILED, VERDICT_HEALTHY

    monkeypatch.setenv("HEALTHY_ADDRESS", VERDICT_HEALTHY)
    with pytest.raises(health_check.HealthCheckFailed, match=r"\['127.0.0.1'\], expected \[192.0.2.1\]"):
        health_check.handler({}, None)
    monkeypatch.setattr(
        health_check.socket, "getaddrinfo", lambda *a, **k: [(2, 1, 6, "", (VERDICT_FAILED, 443))]
    )
    with pytest.raises(health_check.HealthCheckFailed, match=r"192\.0\.2\.2"):
        health_check.handler({}, None)


def test_a_name_that_does_not_resolve_fails_the_verdict(verdict, monkeypatch):
    def fail(*args, **kwargs):
        raise OSError(-2, "Name or service not known")

    monkeypatch.setenv("HEALTHY_ADDRESS", "192.0.2.1")
    monkeypatch.setattr(health_check.socket, "getaddrinfo", fail)
    with pytest.raises(health_check.HealthCheckFailed, match=r"resolve localhost: .*not known"):
        health_check.handler({}, None)
