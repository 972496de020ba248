"""common/otlp.py writes the bytes OpenTelemetry's own OTLP encoder writes (issue 17: the layer ships
common/otlp.py instead of the protobuf runtime; Lambda's X-Ray endpoint reads OTLP protobuf).

Every case encodes the same spans with both and compares the bytes, then parses ours with OTLP's
generated classes: a field number, a wire type, a default written or left out, a grouping or an
order that differs makes a case red."""

from __future__ import annotations

import logging

import pytest
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as reference
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.util import BoundedList
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

from lambda_src.common.otlp import encode_spans

LAMBDA_SEGMENT = SpanContext(
    trace_id=0x5759E988BD862E3FE1BE46A994272793,
    span_id=0x53995C3F42CD8AD8,
    is_remote=True,
    trace_flags=TraceFlags(TraceFlags.SAMPLED),
    trace_state=TraceState([("vendor", "value"), ("other", "x")]),
)
RESOURCE = Resource({"service.name": "fraud-validator-dev", "cloud.provider": "aws"})


def sdk_spans() -> list[ReadableSpan]:
    """Spans as the SDK finishes them in a handler: the invocation's span under Lambda's segment
    (a remote parent), a CLIENT span under it with botocore's attributes, an error with an event."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer(
        "common.tracing", "1.0", schema_url="https://opentelemetry.io/schemas/1.11.0"
    )
    other = provider.get_tracer("opentelemetry.instrumentation.botocore")
    from opentelemetry import trace

    parent = trace.set_span_in_context(trace.NonRecordingSpan(LAMBDA_SEGMENT))
    with tracer.start_as_current_span("handler", context=parent, kind=SpanKind.SERVER) as handler:
        with other.start_as_current_span("DynamoDB.PutItem", kind=SpanKind.CLIENT) as call:
            call.set_attributes(
                {"rpc.system": "aws-api", "rpc.service": "DynamoDB", "http.status_code": 200, "retry": 0}
            )
        with tracer.start_as_current_span("settle", links=[Link(LAMBDA_SEGMENT, {"why": "batch"})]) as span:
            span.add_event("retry", {"attempt": 2, "last": False})
            span.set_status(Status(StatusCode.ERROR, "timed out"))
        handler.set_attribute("faas.coldstart", True)
    return list(exporter.get_finished_spans())


def edge_span(**overrides) -> ReadableSpan:
    """One span built by hand, for the values an SDK span rarely carries."""
    values = {
        "name": "",
        "context": SpanContext(1, 2, is_remote=False),
        "parent": None,
        "resource": Resource({}),
        "attributes": {},
        "events": (),
        "links": (),
        "kind": SpanKind.INTERNAL,
        "instrumentation_scope": None,
        "status": Status(StatusCode.UNSET),
        "start_time": 0,
        "end_time": 2**64 - 1,
    }
    return ReadableSpan(**{**values, **overrides})


CASES = {
    "a handler's spans": sdk_spans,
    "no scope, no parent, no name, defaults": lambda: [edge_span()],
    "every attribute type, defaults kept in the oneof": lambda: [
        edge_span(
            attributes={
                "false": False,
                "zero": 0,
                "negative": -(2**63),
                "minus one": -1,
                "max": 2**63 - 1,
                "empty": "",
                "unicode": "zürich ✓",
                "float": -0.5,
                "zero double": 0.0,
                "minus zero": -0.0,
                "nan": float("nan"),
                "infinity": float("-inf"),
                "bytes": b"\x00\xff",
                "no bytes": b"",
                "none": None,
                "list": ["a", 1, 2.5, True, None, [b"x"]],
                "empty list": [],
                "map": {"k": "v", 1: {"nested": [1]}},
            }
        )
    ],
    "two resources, scopes in first-seen order": lambda: [
        edge_span(resource=RESOURCE, instrumentation_scope=InstrumentationScope("b", "2")),
        edge_span(resource=Resource({"r": 2}, schema_url="https://x/1")),
        edge_span(resource=RESOURCE, instrumentation_scope=InstrumentationScope("a", None, None, {"k": 1})),
        edge_span(resource=RESOURCE, instrumentation_scope=InstrumentationScope("b", "2")),
    ],
    "a local parent, every kind, dropped counts": lambda: [
        edge_span(
            kind=kind,
            parent=SpanContext(1, 3, is_remote=False),
            events=[Event("e", {"a": 1}, timestamp=5)],
            links=[Link(SpanContext(7, 8, is_remote=True))],
            status=Status(StatusCode.OK),
        )
        for kind in SpanKind
    ],
    "limits reached: dropped attributes, events and links counted": lambda: [
        edge_span(
            attributes=BoundedAttributes(1, {"a": 1, "b": 2}),
            # A full BoundedList drops its oldest entry.
            events=BoundedList.from_seq(
                1, [Event("gone"), Event("kept", BoundedAttributes(1, {"x": 1, "y": 2}), 3)]
            ),
            links=BoundedList.from_seq(1, [Link(LAMBDA_SEGMENT, BoundedAttributes(1, {"p": 1, "q": 2}))] * 3),
        )
    ],
    "large ids and 64-bit times": lambda: [
        edge_span(context=SpanContext(2**128 - 1, 2**64 - 1, is_remote=False), start_time=2**63)
    ],
}


@pytest.mark.catalogue("fraud-12")
@pytest.mark.parametrize("case", CASES)
def test_the_bytes_are_opentelemetrys(case):
    """Fix (issue 17, cold starts): the same spans, the same ExportTraceServiceRequest bytes."""
    spans = CASES[case]()
    ours = encode_spans(spans)
    assert ours == reference(spans).SerializeToString()
    assert ExportTraceServiceRequest.FromString(ours).SerializeToString() == ours  # OTLP's classes read it


def test_a_handlers_spans_keep_their_trace_and_parent():
    """What X-Ray joins on: the trace id and Lambda's segment as the handler span's parent."""
    request = ExportTraceServiceRequest.FromString(encode_spans(sdk_spans()))
    (resource_spans,) = request.resource_spans
    spans = {s.name: s for scope in resource_spans.scope_spans for s in scope.spans}
    assert spans["handler"].trace_id.hex() == "5759e988bd862e3fe1be46a994272793"
    assert spans["handler"].parent_span_id.hex() == "53995c3f42cd8ad8"
    assert spans["DynamoDB.PutItem"].parent_span_id == spans["handler"].span_id
    assert spans["DynamoDB.PutItem"].kind == 3  # SPAN_KIND_CLIENT


def test_an_attribute_that_cannot_be_encoded_is_left_out_and_logged(caplog):
    """As OpenTelemetry's encoder does: an int beyond int64 is logged and dropped, the span still sent."""
    spans = [edge_span(attributes={"big": 2**64, "kept": "yes"})]
    with caplog.at_level(logging.ERROR):
        ours = encode_spans(spans)
    assert ours == reference(spans).SerializeToString()
    (span,) = ExportTraceServiceRequest.FromString(ours).resource_spans[0].scope_spans[0].spans
    assert [a.key for a in span.attributes] == ["kept"]
    assert any("big" in r.getMessage() for r in caplog.records if r.name == "lambda_src.common.otlp")
