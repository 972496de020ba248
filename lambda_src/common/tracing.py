"""Every AWS SDK call a handler makes, as a span in the function's X-Ray trace (OpenTelemetry).

The X-Ray SDK (and with it Powertools' Tracer) is in maintenance since February 2026, with end of
support in February 2027; AWS's documented successor is OpenTelemetry. This is the part of it a
function needs, chosen for cold start (docs/performance.md: about 70 ms over the runtime's boto3,
against about 100 ms for the X-Ray SDK and about 400 ms for the ADOT layer's auto-instrumentation):

- botocore instrumented by OpenTelemetry's own instrumentor: each client call is a CLIENT span
  (service, operation, region, request id), and its ``X-Amzn-Trace-Id`` header carries the trace on
  to what it calls (a Lambda invoke, an SQS message);
- each invocation's spans are children of the function's segment that Lambda's Active tracing
  records: the parent and the sampling decision come from ``_X_AMZN_TRACE_ID``, which the runtime
  sets per invocation; an unsampled invocation records nothing;
- the spans go to Lambda's X-Ray endpoint (``AWS_XRAY_DAEMON_ADDRESS``, UDP) as OTLP, the protocol
  AWS's ADOT Lambda layers export with (``OTLPUdpSpanExporter`` of aws-opentelemetry-distro), one
  datagram per span, sent when the span ends, so nothing waits for a flush when Lambda freezes;
  encoded by ``common.otlp`` (OpenTelemetry's OTLP encoder's bytes, without the protobuf runtime).

Nothing is set up outside Lambda (no ``LAMBDA_TASK_ROOT``) or with ``OTEL_SDK_DISABLED=true``:
tests import handlers without instrumenting botocore in their process.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import os
import socket
import sys
import types
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

Handler = TypeVar("Handler", bound=Callable[..., Any])

# The header Lambda's X-Ray endpoint reads, then the payload kind: OTLP traces, sampled.
PROTOCOL_HEADER = b'{"format":"json","version":1}\n'
SAMPLED_TRACES = b"T1S"
DEFAULT_ENDPOINT = "127.0.0.1:2000"
# OpenTelemetry's check that the instrumented library is installed at a supported version.
DEPENDENCY_CHECK = "opentelemetry.instrumentation.dependencies"

_tracer: Any = None  # an OpenTelemetry Tracer once init() ran in Lambda; None elsewhere


def enabled(environ: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    return "LAMBDA_TASK_ROOT" in environ and environ.get("OTEL_SDK_DISABLED", "").lower() != "true"


def init() -> None:
    """Instrument botocore and export to Lambda's X-Ray endpoint; once per container, in Lambda only."""
    global _tracer
    if _tracer is not None or not enabled():
        return
    # Only the X-Amzn-Trace-Id header travels (botocore's own propagator): no global propagator, so
    # nothing is written into SNS/SQS message attributes or Lambda payloads (the default W3C one
    # would), and none is looked up among the installed packages' entry points at cold start.
    os.environ.setdefault("OTEL_PROPAGATORS", "none")
    # Imported here: outside Lambda none of it loads (and nothing is instrumented).
    from opentelemetry import trace

    with _no_dependency_check():
        from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased

    name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "lambda")
    provider = TracerProvider(
        # Lambda decided whether this invocation is sampled; a span without its parent is not recorded.
        sampler=ParentBased(root=ALWAYS_OFF),
        resource=Resource({"service.name": name, "cloud.provider": "aws", "cloud.platform": "aws_lambda"}),
    )
    provider.add_span_processor(
        SimpleSpanProcessor(OtlpUdpSpanExporter(os.environ.get("AWS_XRAY_DAEMON_ADDRESS")))
    )
    trace.set_tracer_provider(provider)
    # The runtime's boto3 may come without the package metadata the version check reads.
    BotocoreInstrumentor().instrument(tracer_provider=provider, skip_dep_check=True)
    _tracer = provider.get_tracer("common.tracing")


@contextlib.contextmanager
def _no_dependency_check() -> Iterator[None]:
    """While the instrumentor is imported, a stand-in for its dependency check, which it imports at
    module level and which imports packaging's requirement parser (about 8 ms of each cold start):
    ``instrument(skip_dep_check=True)`` never calls it. Anything imported later gets the real one."""
    if DEPENDENCY_CHECK in sys.modules:
        yield
        return
    stand_in = types.ModuleType(DEPENDENCY_CHECK, "common.tracing: instruments with skip_dep_check=True")

    def get_dependency_conflicts(*_: Any, **__: Any) -> Any:
        raise RuntimeError("common.tracing instruments botocore with skip_dep_check=True")

    stand_in.__dict__.update(
        DependencyConflict=object,
        DependencyConflictError=RuntimeError,
        get_dependency_conflicts=get_dependency_conflicts,
    )
    sys.modules[DEPENDENCY_CHECK] = stand_in
    try:
        yield
    finally:
        if sys.modules.get(DEPENDENCY_CHECK) is stand_in:
            del sys.modules[DEPENDENCY_CHECK]


def traced(handler: Handler) -> Handler:
    """A handler whose invocation is a span under the function's segment, its AWS calls inside it."""
    init()
    if _tracer is None:
        return handler
    from opentelemetry.propagators.aws.aws_xray_propagator import AwsXRayLambdaPropagator

    propagator = AwsXRayLambdaPropagator()

    @functools.wraps(handler)
    def wrapper(event: Any, context: Any) -> Any:
        parent = propagator.extract({})  # _X_AMZN_TRACE_ID: this invocation's segment and sampling
        with _tracer.start_as_current_span("handler", context=parent):
            return handler(event, context)

    return wrapper  # type: ignore[return-value]


class OtlpUdpSpanExporter:
    """Spans as OTLP protobuf over UDP to Lambda's X-Ray endpoint (``host:port``), as ADOT sends them.

    The payload is encoded by ``common.otlp``: the bytes OpenTelemetry's OTLP encoder writes,
    without loading the protobuf runtime into every cold start."""

    def __init__(self, endpoint: str | None = None) -> None:
        # Loaded with the exporter (at init, in the cold start), not at the first span.
        from common.otlp import encode_spans
        from opentelemetry.sdk.trace.export import SpanExportResult

        self._encode, self._result = encode_spans, SpanExportResult
        host, _, port = (endpoint or DEFAULT_ENDPOINT).rpartition(":")
        self._address = (host, int(port))
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.setblocking(False)  # a trace never holds up the handler

    def export(self, spans: Sequence[Any]) -> Any:
        payload = PROTOCOL_HEADER + SAMPLED_TRACES + base64.b64encode(self._encode(spans))
        try:
            self._socket.sendto(payload, self._address)
        except OSError:
            return self._result.FAILURE
        return self._result.SUCCESS

    def shutdown(self) -> None:
        self._socket.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True  # every span is sent when it ends
