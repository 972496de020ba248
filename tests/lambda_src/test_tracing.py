"""Every handler traces its AWS SDK calls into X-Ray (common/tracing.py, OpenTelemetry).

Each check runs in its own process: instrumenting botocore is global and must not leak into the
other tests. A UDP socket on 127.0.0.1 stands in for Lambda's X-Ray endpoint
(``AWS_XRAY_DAEMON_ADDRESS``) and decodes what arrives as OTLP, the way the endpoint reads it.
"""

from __future__ import annotations

import ast
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from lambda_src.build import functions
from tests.lambda_src.conftest import LAMBDA_PARENT, TRACE_ROOT, received_spans

ROOT = Path(__file__).resolve().parents[2]


def lambda_environment(endpoint: str, sampled: bool = True) -> dict[str, str]:
    """What Lambda sets for a function with Active tracing, per invocation for the trace header."""
    return {
        **os.environ,
        "LAMBDA_TASK_ROOT": "/var/task",
        "AWS_LAMBDA_FUNCTION_NAME": "fraud-validator-dev",
        "AWS_XRAY_DAEMON_ADDRESS": endpoint,
        "_X_AMZN_TRACE_ID": f"Root=1-{TRACE_ROOT[:8]}-{TRACE_ROOT[8:]};Parent={LAMBDA_PARENT};"
        f"Sampled={int(sampled)}",
        "AWS_DEFAULT_REGION": "us-east-2",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "lambda_src")]),
    }


# The fraud pipeline's validator, invoked as API Gateway would, against moto.
INVOKE_VALIDATOR = """
import json, os, boto3
from moto import mock_aws
with mock_aws():
    boto3.client("dynamodb").create_table(
        TableName="t", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "transaction_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "transaction_id", "AttributeType": "S"}])
    os.environ["QUEUE_URL"] = boto3.client("sqs").create_queue(QueueName="q")["QueueUrl"]
    from lambda_src.pulumi_fraud_pipeline.validator import index
    from tests.lambda_src.conftest import LambdaContext
    body = {"transaction_id": "txn-0001", "customer_id": "cust-1", "merchant_id": "merchant-001",
            "amount": "10.00", "currency": "USD"}
    answer = index.handler({"httpMethod": "POST", "body": json.dumps(body)}, LambdaContext())
    assert answer["statusCode"] == 202, answer
"""


def invoke_validator(endpoint: socket.socket, sampled: bool = True) -> None:
    host, port = endpoint.getsockname()
    env = {**lambda_environment(f"{host}:{port}", sampled), "TRANSACTIONS_TABLE": "t"}
    done = subprocess.run(
        [sys.executable, "-c", INVOKE_VALIDATOR], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]


def attributes(span: Span) -> dict[str, str]:
    return {a.key: a.value.string_value for a in span.attributes}


@pytest.mark.catalogue("fraud-12")
def test_each_aws_call_is_a_span_under_the_functions_segment(xray_endpoint):
    """Fix: with Active tracing, every boto3 call of an invocation reaches Lambda's X-Ray endpoint as a
    span of the function's trace (Root and Parent from _X_AMZN_TRACE_ID): the handler's span under
    the function's segment, each DynamoDB and SQS call under it, with service, operation and
    request id."""
    invoke_validator(xray_endpoint)
    spans = received_spans(xray_endpoint)
    (handler,) = [s for s in spans if s.name == "handler"]
    calls = [s for s in spans if s is not handler]
    assert handler.trace_id.hex() == TRACE_ROOT and handler.parent_span_id.hex() == LAMBDA_PARENT
    assert [(attributes(s)["rpc.service"], attributes(s)["rpc.method"]) for s in calls] == [
        ("DynamoDB", "PutItem"),
        ("SQS", "SendMessage"),
        ("DynamoDB", "UpdateItem"),
    ]
    for call in calls:
        assert call.kind == Span.SPAN_KIND_CLIENT and attributes(call)["aws.request_id"]
        assert call.trace_id == handler.trace_id and call.parent_span_id == handler.span_id


def test_an_invocation_lambda_did_not_sample_sends_nothing(xray_endpoint):
    """Fix: Lambda's sampling decision holds (Sampled=0: no spans), as the X-Ray SDK honoured it."""
    invoke_validator(xray_endpoint, sampled=False)
    assert received_spans(xray_endpoint) == []


# The functions that make no AWS call, and so have nothing to trace; every other one must trace.
UNTRACED = {
    "cdk_payments/payment_validation": "validates and normalizes its input, calls nothing",
    "pulumi_trading_dr/authorizer": "checks a JWT against public keys in its environment (no layer)",
}


def name_of(function) -> str:
    return f"{function.stack}/{function.name}"


TRACED = [f for f in functions() if name_of(f) not in UNTRACED]


def imported_sources(index: Path) -> list[str]:
    """The handler's source and that of the shared modules it imports (common.*)."""
    sources = [index.read_text()]
    for node in ast.walk(ast.parse(sources[0])):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("common."):
            sources.append((ROOT / "lambda_src" / "common" / f"{node.module.split('.')[1]}.py").read_text())
    return sources


@pytest.mark.parametrize("name", sorted(UNTRACED))
def test_a_function_left_untraced_makes_no_aws_call(name):
    """Only a function without an AWS call may go without tracing: neither it nor the shared code it
    imports uses boto3."""
    (function,) = [f for f in functions() if name_of(f) == name]
    for source in imported_sources(function.source / "index.py"):
        for node in ast.walk(ast.parse(source)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not [n for n in names if n.split(".")[0] in {"boto3", "botocore"}], names


# Imports the handlers as Lambda does (tracing on), then reports, for each, whether its invocation
# goes through common.tracing's span, and whether botocore ended up instrumented and exporting.
# One process for all of them (instrumenting is global; a process per handler cost a gigabyte).
INSTRUMENTED_ON_IMPORT = """
import importlib, json, sys
from common import tracing
traced = {}
for name in sys.argv[1:]:
    handler, chain = importlib.import_module(name).handler, []
    while handler is not None:
        chain.append(handler.__code__.co_filename.endswith("common/tracing.py"))
        handler = getattr(handler, "__wrapped__", None)
    traced[name] = any(chain)
parser = "packaging.requirements" in sys.modules  # before this script imports the instrumentor itself
from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
print(json.dumps({"traced": traced, "instrumented": BotocoreInstrumentor().is_instrumented_by_opentelemetry,
                  "exporting": tracing._tracer is not None, "requirement parser": parser}))
"""


def module_of(function) -> str:
    return f"lambda_src.{function.stack}.{function.name}.index"


def imported(modules: list[str], env: dict[str, str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", INSTRUMENTED_ON_IMPORT, *modules],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def instrumented_on_import() -> dict:
    return imported([module_of(f) for f in TRACED], lambda_environment("127.0.0.1:2000"))


@pytest.mark.catalogue("fraud-12")
@pytest.mark.parametrize("function", TRACED, ids=name_of)
def test_every_handler_that_calls_aws_traces_it(function, instrumented_on_import):
    """Fix: every handler but the two that call nothing (UNTRACED) instruments botocore at import (in
    Lambda) and runs each invocation inside common.tracing's span, so its AWS calls join the
    function's trace."""
    assert instrumented_on_import["traced"][module_of(function)], "handler not inside common.tracing's span"
    assert instrumented_on_import["instrumented"] and instrumented_on_import["exporting"]


def test_a_cold_start_does_not_load_the_instrumentations_dependency_check(instrumented_on_import):
    """Fix (issue 17, cold starts): instrumenting botocore with skip_dep_check=True leaves out
    OpenTelemetry's dependency check, whose module imports packaging's requirement parser (about
    8 ms of each cold start) though the check never runs; every handler still instruments botocore."""
    assert instrumented_on_import["instrumented"] and instrumented_on_import["exporting"]
    assert not instrumented_on_import["requirement parser"], "packaging.requirements loaded at cold start"


def test_nothing_is_instrumented_outside_lambda():
    """Outside Lambda (tests, scripts) common.tracing sets nothing up: botocore stays as it is."""
    env = {k: v for k, v in lambda_environment("127.0.0.1:2000").items() if k != "LAMBDA_TASK_ROOT"}
    module = "lambda_src.pulumi_fraud_pipeline.validator.index"
    assert imported([module], env) == {
        "traced": {module: False},
        "instrumented": False,
        "exporting": False,
        "requirement parser": False,
    }
