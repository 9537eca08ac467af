"""OTLP protobuf trace files for the OpenTelemetry reader, decoded with ``opentelemetry-proto``.

Two layouts are read: the collector file exporter's ``format: proto`` (each ``ExportTraceServiceRequest``
preceded by its size as a 4-byte big-endian unsigned integer, its README says) and a single serialized
``ExportTraceServiceRequest`` (the body of an OTLP/HTTP ``/v1/traces`` request saved to a file). A serialized
request starts with the tag of its field 1 (byte ``0x0A``); a size prefix of a request under 160 MB starts with a
smaller byte, which tells the two apart. Each request becomes the dict the OTLP JSON encoding would give (through
protobuf's own JSON mapping: base64 ids, enum names), so ``_otel_spans.request_spans`` reads both encodings.

``opentelemetry-proto`` comes with ``behest_lab[sources]``; without it, protobuf files are not recognised and
reading one names the package.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

#: Serialized requests larger than this are not looked into by ``sniff``.
_SNIFF_LIMIT = 64 * 1024 * 1024
_FIELD_1 = 0x0A


def available() -> bool:
    """Whether ``opentelemetry-proto`` can be imported."""
    try:
        _classes()
    except ImportError:
        return False
    return True


def _classes() -> tuple[Any, Any]:
    """``ExportTraceServiceRequest`` and protobuf's ``MessageToDict``."""
    service = importlib.import_module("opentelemetry.proto.collector.trace.v1.trace_service_pb2")
    json_format = importlib.import_module("google.protobuf.json_format")
    return service.ExportTraceServiceRequest, json_format.MessageToDict


def _decode(chunk: bytes) -> dict[str, Any]:
    """One serialized request as an OTLP JSON-shaped dict.

    Raises:
        ValueError: the bytes are not a request.
    """
    request_cls, to_dict = _classes()
    message = request_cls()
    try:
        message.ParseFromString(chunk)
    except Exception as exc:  # protobuf's DecodeError and, from its C implementation, RuntimeError
        raise ValueError(f"not an OTLP ExportTraceServiceRequest: {exc}") from None
    result: dict[str, Any] = to_dict(message)
    return result


def requests(file: Path) -> tuple[list[tuple[int, dict[str, Any]]], bool]:
    """``(record number, request)`` for each request of ``file``, and whether a last record is cut short.

    A last size-prefixed record whose bytes are not all there yet (the exporter is writing it) is left out and
    reported by the flag.

    Raises:
        ImportError: ``opentelemetry-proto`` is not installed.
        ValueError: a record that is not a request (its number in the message).
    """
    data = file.read_bytes()
    if not data:
        return [], False
    if data[0] == _FIELD_1:
        return [(1, _decode(data))], False
    out: list[tuple[int, dict[str, Any]]] = []
    offset = 0
    number = 0
    while offset < len(data):
        number += 1
        size = int.from_bytes(data[offset : offset + 4], "big")
        end = offset + 4 + size
        if offset + 4 > len(data) or end > len(data):
            return out, True
        try:
            out.append((number, _decode(data[offset + 4 : end])))
        except ValueError as exc:
            raise ValueError(f"record {number}: {exc}") from None
        offset = end
    return out, False


def sniff(file: Path) -> bool:
    """Whether ``file`` starts with an OTLP protobuf request holding a span (False without opentelemetry-proto)."""
    if not available():
        return False
    try:
        with file.open("rb") as f:
            head = f.read(4)
            if not head:
                return False
            if head[0] == _FIELD_1:
                size = file.stat().st_size
                chunk = head + f.read(size - 4) if size <= _SNIFF_LIMIT else b""
            else:
                size = int.from_bytes(head, "big")
                chunk = f.read(size) if 0 < size <= _SNIFF_LIMIT else b""
                if len(chunk) != size:
                    return False
        request = _decode(chunk) if chunk else {}
    except (OSError, ValueError):
        return False
    spans = [
        s for rs in request.get("resourceSpans", []) for ss in rs.get("scopeSpans", []) for s in ss.get("spans", [])
    ]
    return any(isinstance(s.get("traceId"), str) and isinstance(s.get("spanId"), str) for s in spans)


__all__ = ["available", "requests", "sniff"]
