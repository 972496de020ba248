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
        self.answer: tuple[int, bytes] | None = (200, b'{"status": "ok", "region": "us-east-1"}')
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
    assert health_check.handler({}, None) == f"{endpoint.url} is healthy in us-east-1"
    (request,) = endpoint.requests
    assert request["path"] == "/prod/health" and request["headers"]["Accept"] == "application/json"


def test_the_region_is_not_checked_without_expected_region(endpoint, monkeypatch):
    monkeypatch.delenv("EXPECTED_REGION")
    endpoint.answer_json(200, {"status": "ok", "region": "us-west-2"})
    assert health_check.handler({}, None).endswith("healthy in us-west-2")


@pytest.mark.parametrize(
    ("status", "payload", "match"),
    [
        (503, {"status": "unavailable"}, "HTTP 503, expected 200"),
        (500, {"message": "Internal server error"}, "HTTP 500"),
        (403, {"message": "Forbidden"}, "HTTP 403"),
        (204, None, "HTTP 204, expected 200"),
        (200, {"status": "degraded", "region": "us-east-1"}, "expected status 'ok'"),
        (200, ["ok"], "expected status 'ok'"),
        (200, {"status": "ok"}, "names no region"),
        (200, {"status": "ok", "region": "us-west-2"}, "answered from us-west-2, expected us-east-1"),
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
    assert lines[0].endswith("is healthy in us-east-1")
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
