"""Finished OpenTelemetry spans as an OTLP ``ExportTraceServiceRequest``, in protobuf's wire format.

What ``opentelemetry.exporter.otlp.proto.common.trace_encoder.encode_spans(spans)
.SerializeToString()`` returns, byte for byte (tests/lambda_src/test_otlp.py holds the two
together), written out here because that encoder loads the protobuf runtime and OTLP's generated
message classes: about 18 ms of every traced function's cold start, which Lambda's X-Ray endpoint
does not need (docs/performance.md, issue 17). The fields and numbers are OTLP's
(opentelemetry/proto/trace/v1/trace.proto, common/v1/common.proto, resource/v1/resource.proto);
each message writes its fields in field-number order, as protobuf does, and leaves out a proto3
field at its default value, except a oneof member and a message that is set.

One difference, out of a function's reach: a map or array attribute nested more than about 30
levels deep (the SDK refuses nested values on spans; a Resource or scope attribute could carry one)
is written here, where protobuf's recursion limit makes OpenTelemetry's encoder drop it.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Mapping, Sequence
from typing import Any

_logger = logging.getLogger(__name__)

# Wire types.
VARINT, I64, LEN, I32 = 0, 1, 2, 5
# Span.flags (SpanFlags): the parent's is_remote is known, and whether it is set.
CONTEXT_HAS_IS_REMOTE_MASK, CONTEXT_IS_REMOTE_MASK = 0x100, 0x200
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _varint(value: int) -> bytes:
    value &= 0xFFFFFFFFFFFFFFFF  # a negative int64 as its 64-bit two's complement (10 bytes)
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _key(field: int, wire_type: int) -> bytes:
    return _varint(field << 3 | wire_type)


def _uint(field: int, value: int | None) -> bytes:
    return _key(field, VARINT) + _varint(value) if value else b""


def _fixed64(field: int, value: int | None) -> bytes:
    return _key(field, I64) + struct.pack("<Q", value) if value else b""


def _fixed32(field: int, value: int) -> bytes:
    return _key(field, I32) + struct.pack("<I", value) if value else b""


def _len(field: int, payload: bytes) -> bytes:
    """A length-delimited field, written even when empty (a set message, a oneof member)."""
    return _key(field, LEN) + _varint(len(payload)) + payload


def _bytes(field: int, value: bytes | None) -> bytes:
    return _len(field, value) if value else b""


def _string(field: int, value: str | None) -> bytes:
    return _len(field, value.encode()) if value else b""


# --- common/v1: AnyValue, KeyValue, InstrumentationScope; resource/v1: Resource ----------------------


def _any_value(value: Any) -> bytes:
    """AnyValue: exactly one member of its oneof, written even at its default (``False``, ``0``, ``""``)."""
    if value is None:
        return b""
    if isinstance(value, bool):
        return _key(2, VARINT) + _varint(int(value))
    if isinstance(value, str):
        return _len(1, value.encode())
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise ValueError(f"Value out of range: {value}")
        return _key(3, VARINT) + _varint(value)
    if isinstance(value, float):
        return _key(4, I64) + struct.pack("<d", value)
    if isinstance(value, bytes):
        return _len(7, value)
    if isinstance(value, Sequence):
        return _len(5, b"".join(_len(1, _any_value(v)) for v in value))  # ArrayValue.values
    if isinstance(value, Mapping):  # KeyValueList.values
        return _len(6, b"".join(_len(1, _key_value(str(k), v)) for k, v in value.items()))
    raise TypeError(f"Invalid type {type(value)} of value {value}")


def _key_value(key: str, value: Any) -> bytes:
    return _string(1, key) + _len(2, _any_value(value))


def _attributes(field: int, attributes: Mapping[str, Any] | None) -> bytes:
    """Repeated KeyValue; one that cannot be encoded is logged and left out, as OpenTelemetry does."""
    out = []
    for key, value in (attributes or {}).items():
        try:
            out.append(_len(field, _key_value(key, value)))
        except Exception:
            _logger.exception("Failed to encode key %s", key)
    return b"".join(out)


def _scope(scope: Any) -> bytes:
    if scope is None:
        return b""
    return _string(1, scope.name) + _string(2, scope.version) + _attributes(3, scope.attributes)


def _resource(resource: Any) -> bytes:
    return _attributes(1, resource.attributes)


# --- trace/v1: Span, Span.Event, Span.Link, Status ----------------------------------------------------


def _flags(parent: Any) -> int:
    return CONTEXT_HAS_IS_REMOTE_MASK | (CONTEXT_IS_REMOTE_MASK if parent and parent.is_remote else 0)


def _trace_state(trace_state: Any) -> str | None:
    return None if trace_state is None else ",".join(f"{k}={v}" for k, v in trace_state.items())


def _event(event: Any) -> bytes:
    return (
        _fixed64(1, event.timestamp)
        + _string(2, event.name)
        + _attributes(3, event.attributes)
        + _uint(4, event.dropped_attributes)
    )


def _link(link: Any) -> bytes:
    return (
        _bytes(1, link.context.trace_id.to_bytes(16, "big"))
        + _bytes(2, link.context.span_id.to_bytes(8, "big"))
        + _attributes(4, link.attributes)
        + _uint(5, link.dropped_attributes)
        + _fixed32(6, _flags(link.context))
    )


def _status(status: Any) -> bytes:
    if status is None:
        return b""
    return _len(15, _string(2, status.description) + _uint(3, status.status_code.value))


def _span(span: Any) -> bytes:
    context, parent = span.get_span_context(), span.parent
    return b"".join(
        [
            _bytes(1, context.trace_id.to_bytes(16, "big")),
            _bytes(2, context.span_id.to_bytes(8, "big")),
            _string(3, _trace_state(context.trace_state)),
            _bytes(4, parent.span_id.to_bytes(8, "big") if parent else None),
            _string(5, span.name),
            _uint(6, span.kind.value + 1),  # OTLP's SpanKind counts from UNSPECIFIED = 0
            _fixed64(7, span.start_time),
            _fixed64(8, span.end_time),
            _attributes(9, span.attributes),
            _uint(10, span.dropped_attributes),
            *(_len(11, _event(e)) for e in span.events or ()),
            _uint(12, span.dropped_events),
            *(_len(13, _link(link)) for link in span.links or ()),
            _uint(14, span.dropped_links),
            _status(span.status),
            _fixed32(16, _flags(parent)),
        ]
    )


def encode_spans(spans: Sequence[Any]) -> bytes:
    """An ExportTraceServiceRequest: spans grouped by resource, then by instrumentation scope, each
    group in the order its first span came (as OpenTelemetry's encoder groups them)."""
    grouped: dict[Any, dict[Any, list[bytes]]] = {}
    for span in spans:
        scopes = grouped.setdefault(span.resource, {})
        scopes.setdefault(span.instrumentation_scope or None, []).append(_span(span))
    resource_spans = []
    for resource, scopes in grouped.items():
        scope_spans = b"".join(
            _len(
                2,
                _len(1, _scope(scope))
                + b"".join(_len(2, s) for s in encoded)
                + _string(3, scope.schema_url if scope else None),
            )
            for scope, encoded in scopes.items()
        )
        resource_spans.append(
            _len(1, _len(1, _resource(resource)) + scope_spans + _string(3, resource.schema_url))
        )
    return b"".join(resource_spans)
