"""OTLP JSON spans for the OpenTelemetry reader: decoding, attribute aliases, token counts and messages.

The JSON encoding of OTLP (the collector's file exporter, ``otlp/json`` files, an exporter's ``/v1/traces`` body):
``{"resourceSpans": [{"resource": {"attributes": [...]}, "scopeSpans": [{"scope": {...}, "spans": [...]}]}]}``.
Fields are lowerCamelCase; the protobuf field names (``resource_spans``, ``trace_id``, ...) are accepted too, as
OTLP receivers must. Ids are hex (base64 as a generic protobuf-to-JSON mapping writes them is accepted), 64-bit
integers are decimal strings or numbers, enums integers or their names (``SPAN_KIND_CLIENT``, ``STATUS_CODE_ERROR``).
Attribute values are ``AnyValue`` objects (``stringValue``, ``intValue``, ``doubleValue``, ``boolValue``,
``arrayValue``, ``kvlistValue``, ``bytesValue``), decoded here to plain Python values.
"""

from __future__ import annotations

import base64
import binascii
import json
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from behest_lab.records import JsonPart, MessageRole, TextPart, ToolCall

_KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
_STATUS = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}


@dataclass
class Span:
    """One decoded span with where it was read."""

    trace_id: str
    span_id: str
    parent_id: str
    name: str
    kind: str
    start_ns: int
    end_ns: int
    attrs: dict[str, Any]
    resource: dict[str, Any]
    scope: str
    status_code: int
    status_message: str
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    file: Path = Path()
    line: int = 0

    @property
    def start(self) -> datetime:
        """The start time (aware UTC, microseconds)."""
        return _time(self.start_ns)

    @property
    def end(self) -> datetime:
        """The end time (the start when the span has none)."""
        return _time(self.end_ns or self.start_ns)

    @property
    def ref(self) -> str:
        """``<file>:<line> span <id>`` (a whole-document file has no line)."""
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        return f"{where} span {self.span_id}"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _time(ns: int) -> datetime:
    """Nanoseconds since the epoch as an aware datetime, exact to the microsecond."""
    return _EPOCH + timedelta(microseconds=ns // 1000)


def _get(obj: dict[str, Any], camel: str, snake: str) -> Any:
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def any_value(value: Any) -> Any:
    """An OTLP ``AnyValue`` object as a plain value (unknown shapes are returned as they are)."""
    if not isinstance(value, dict):
        return value
    for camel, snake in (("stringValue", "string_value"), ("boolValue", "bool_value"), ("doubleValue", "double_value")):
        got = _get(value, camel, snake)
        if got is not None:
            return got
    got = _get(value, "intValue", "int_value")
    if got is not None:
        return int(got)
    got = _get(value, "arrayValue", "array_value")
    if got is not None:
        return [any_value(v) for v in (got.get("values") or [])] if isinstance(got, dict) else got
    got = _get(value, "kvlistValue", "kvlist_value")
    if got is not None:
        return attributes(got.get("values")) if isinstance(got, dict) else got
    got = _get(value, "bytesValue", "bytes_value")
    if got is not None:
        return got
    return None


def attributes(items: Any) -> dict[str, Any]:
    """A list of OTLP ``KeyValue``s as a dict (items without a string key are passed over)."""
    out: dict[str, Any] = {}
    for kv in items if isinstance(items, list) else []:
        if isinstance(kv, dict) and isinstance(kv.get("key"), str):
            out[kv["key"]] = any_value(kv.get("value"))
    return out


def _id(value: Any, size: int) -> str:
    """A trace or span id as lowercase hex ('' when absent); base64 of ``size`` bytes is converted."""
    if not isinstance(value, str) or not value:
        return ""
    if len(value) == size * 2 and all(c in string.hexdigits for c in value):
        return value.lower()
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"an id that is neither hex nor base64: {value!r}") from None
    if len(raw) != size:
        raise ValueError(f"an id of {len(raw)} bytes, not {size}: {value!r}")
    return raw.hex()


def _enum(value: Any, names: dict[str, int]) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return names.get(value, int(value) if value.isdigit() else 0)
    return 0


def _kind(value: Any) -> str:
    if isinstance(value, str) and value.startswith("SPAN_KIND_"):
        return value.removeprefix("SPAN_KIND_").lower()
    return _KINDS.get(value if isinstance(value, int) else 0, "unspecified")


def request_spans(request: dict[str, Any], file: Path, line: int) -> Iterator[Span]:
    """The spans of one ``ExportTraceServiceRequest`` object.

    Raises:
        ValueError: a span without a trace or span id, or with an id or time that does not decode.
    """
    for rs in _get(request, "resourceSpans", "resource_spans") or []:
        if not isinstance(rs, dict):
            raise ValueError("a resourceSpans entry that is not an object")
        resource = attributes((rs.get("resource") or {}).get("attributes"))
        scopes = _get(rs, "scopeSpans", "scope_spans") or rs.get("instrumentationLibrarySpans") or []
        for ss in scopes:
            scope_obj = ss.get("scope") or ss.get("instrumentationLibrary") or {}
            scope = str(scope_obj.get("name") or "")
            for raw in ss.get("spans") or []:
                yield _span(raw, resource, scope, file, line)


def _span(raw: Any, resource: dict[str, Any], scope: str, file: Path, line: int) -> Span:
    if not isinstance(raw, dict):
        raise ValueError("a span that is not an object")
    trace_id = _id(_get(raw, "traceId", "trace_id"), 16)
    span_id = _id(_get(raw, "spanId", "span_id"), 8)
    if not trace_id or not span_id:
        raise ValueError("a span without traceId or spanId")
    status: dict[str, Any] = raw["status"] if isinstance(raw.get("status"), dict) else {}
    events = [
        (str(e.get("name") or ""), attributes(e.get("attributes")))
        for e in raw.get("events") or []
        if isinstance(e, dict)
    ]
    return Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_id=_id(_get(raw, "parentSpanId", "parent_span_id"), 8),
        name=str(raw.get("name") or ""),
        kind=_kind(raw.get("kind")),
        start_ns=int(_get(raw, "startTimeUnixNano", "start_time_unix_nano") or 0),
        end_ns=int(_get(raw, "endTimeUnixNano", "end_time_unix_nano") or 0),
        attrs=attributes(raw.get("attributes")),
        resource=resource,
        scope=scope,
        status_code=_enum(status.get("code"), _STATUS),
        status_message=str(status.get("message") or ""),
        events=events,
        file=file,
        line=line,
    )


def first(attrs: dict[str, Any], *keys: str) -> Any:
    """The value of the first of ``keys`` the attributes hold (None when none does)."""
    for key in keys:
        value = attrs.get(key)
        if value is not None and value != "":
            return value
    return None


def count(attrs: dict[str, Any], keys: tuple[str, ...]) -> int | None:
    """The first of ``keys`` holding a non-negative whole number (ints, floats and digit strings), else None."""
    for key in keys:
        value = attrs.get(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float) and value >= 0:
            return int(value)
        if isinstance(value, str) and value.isdigit():
            return int(value)
    return None


#: Attribute spellings of each token counter, the current name first.
INPUT = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt", "llm.usage.prompt_tokens")
OUTPUT = (
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.token_count.completion",
    "llm.usage.completion_tokens",
)
TOTAL = ("gen_ai.usage.total_tokens", "llm.token_count.total", "llm.usage.total_tokens")
CACHE_READ = (
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "gen_ai.usage.input_tokens.cached",
    "gen_ai.usage.cache_read_tokens",
    "llm.token_count.prompt_details.cache_read",
)
CACHE_WRITE = (
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_write.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
    "gen_ai.usage.cache_write_input_tokens",
    "gen_ai.usage.cache_write_tokens",
    "gen_ai.usage.input_tokens.cache_write",
    "llm.token_count.prompt_details.cache_write",
)
USAGE_KEYS = INPUT + OUTPUT + TOTAL


def has_usage(attrs: dict[str, Any]) -> bool:
    """Whether the span reports token counts."""
    return count(attrs, INPUT) is not None or count(attrs, OUTPUT) is not None


@dataclass
class Message:
    """A message of a model call's input or output, before it becomes a record."""

    role: MessageRole
    parts: list[Any]
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None
    tool_name: str | None = None

    def key(self) -> str:
        """What tells two messages apart when a later call repeats the conversation so far."""
        body = [p.model_dump(mode="json") for p in self.parts]
        calls = [(c.id, c.name) for c in self.tool_calls]
        return json.dumps([self.role.value, body, calls, self.tool_call_id], sort_keys=True, default=str)


_ROLES = {
    "system": MessageRole.SYSTEM,
    "developer": MessageRole.SYSTEM,
    "user": MessageRole.USER,
    "human": MessageRole.USER,
    "assistant": MessageRole.ASSISTANT,
    "ai": MessageRole.ASSISTANT,
    "model": MessageRole.ASSISTANT,
    "tool": MessageRole.TOOL,
    "function": MessageRole.TOOL,
}


def decoded(value: Any) -> Any:
    """``value`` decoded from JSON when it is a JSON text of an object or array, else as it is."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _role(value: Any) -> MessageRole | None:
    return _ROLES.get(str(value).lower()) if value is not None else None


def _semconv_message(obj: Any) -> Message | None:
    """A message of ``gen_ai.input.messages``/``gen_ai.output.messages``: ``{role, parts: [...]}``."""
    if not isinstance(obj, dict):
        return None
    role = _role(obj.get("role"))
    if role is None:
        return None
    msg = Message(role=role, parts=[])
    raw_parts = obj.get("parts")
    if raw_parts is None and "content" in obj:  # older emitters wrote {role, content}
        raw_parts = [{"type": "text", "content": obj["content"]}] if isinstance(obj["content"], str) else []
    for part in raw_parts if isinstance(raw_parts, list) else []:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind == "text" and isinstance(part.get("content"), str):
            msg.parts.append(TextPart(text=part["content"]))
        elif kind == "tool_call":
            msg.tool_calls.append(
                ToolCall(
                    id=str(part.get("id") or ""),
                    name=str(part.get("name") or ""),
                    arguments=decoded(part.get("arguments")),
                )
            )
        elif kind == "tool_call_response":
            msg.role = MessageRole.TOOL
            msg.tool_call_id = str(part.get("id") or "")
            response = decoded(part.get("response", part.get("result")))
            msg.parts.append(TextPart(text=response) if isinstance(response, str) else JsonPart(value=response))
        else:
            msg.parts.append(JsonPart(value=part))
    return msg


def _indexed(attrs: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    """Flattened ``<prefix><i>.<rest>`` attributes as one dict of ``rest -> value`` per index, in index order."""
    groups: dict[int, dict[str, Any]] = {}
    for key, value in attrs.items():
        if not key.startswith(prefix):
            continue
        index, _, rest = key[len(prefix) :].partition(".")
        if index.isdigit() and rest:
            groups.setdefault(int(index), {})[rest] = value
    return [groups[i] for i in sorted(groups)]


def _flat_parts(raw: Any) -> list[Any]:
    """The parts of a flattened message's content: a text, or content blocks written as a JSON text."""
    content = decoded(raw)
    if isinstance(content, list):
        parts: list[Any] = []
        for block in content:
            if isinstance(block, dict) and isinstance(block.get("text"), str):
                parts.append(TextPart(text=block["text"]))
            elif block is not None:
                parts.append(JsonPart(value=block))
        return parts
    return [TextPart(text=raw)] if isinstance(raw, str) else []


def _flat_message(fields: dict[str, Any], style: str) -> Message | None:
    """A message flattened by OpenInference (``message.role``...) or OpenLLMetry (``role``, ``content``...)."""
    p = "message." if style == "openinference" else ""
    role = _role(fields.get(f"{p}role"))
    if role is None:
        return None
    msg = Message(role=role, parts=_flat_parts(fields.get(f"{p}content")))
    for block in _indexed(fields, f"{p}contents."):
        text = block.get("message_content.text")
        if isinstance(text, str):
            msg.parts.append(TextPart(text=text))
    if style == "openinference":
        calls = [
            (c.get("tool_call.id"), c.get("tool_call.function.name"), c.get("tool_call.function.arguments"))
            for c in _indexed(fields, "message.tool_calls.")
        ]
    else:
        calls = [(c.get("id"), c.get("name"), c.get("arguments")) for c in _indexed(fields, "tool_calls.")]
    msg.tool_calls = [ToolCall(id=str(i or ""), name=str(n or ""), arguments=decoded(a)) for i, n, a in calls]
    tool_call_id = fields.get(f"{p}tool_call_id")
    if isinstance(tool_call_id, str):
        msg.tool_call_id = tool_call_id
        msg.role = MessageRole.TOOL
    name = fields.get(f"{p}name")
    if msg.role is MessageRole.TOOL and isinstance(name, str):
        msg.tool_name = name
    return msg


def _semconv_messages(attrs: dict[str, Any]) -> tuple[list[Message], list[Message]]:
    """The current conventions: ``gen_ai.system_instructions``, ``gen_ai.input.messages`` and ``.output.messages``."""
    inputs: list[Message] = []
    outputs: list[Message] = []
    system = decoded(attrs.get("gen_ai.system_instructions"))
    if isinstance(system, str):
        inputs.append(Message(role=MessageRole.SYSTEM, parts=[TextPart(text=system)]))
    elif isinstance(system, list):
        msg = _semconv_message({"role": "system", "parts": system})
        inputs += [msg] if msg is not None else []
    for key, target in (("gen_ai.input.messages", inputs), ("gen_ai.output.messages", outputs)):
        value = decoded(attrs.get(key))
        target += [m for m in map(_semconv_message, value if isinstance(value, list) else []) if m is not None]
    return inputs, outputs


_EVENT_ROLES = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
    "gen_ai.choice": "assistant",
}


def _event_message(name: str, attrs: dict[str, Any]) -> Message:
    """A span event of the conventions before ``gen_ai.input.messages`` (``gen_ai.user.message``, ...)."""
    body = decoded(attrs.get("message", attrs.get("gen_ai.event.content")))
    fields = body if isinstance(body, dict) else {"content": attrs.get("content")}
    msg = Message(role=_ROLES[_EVENT_ROLES[name]], parts=_flat_parts(fields.get("content")))
    calls = decoded(fields.get("tool_calls", attrs.get("tool_calls")))
    for call in calls if isinstance(calls, list) else []:
        if isinstance(call, dict):
            function: dict[str, Any] = call["function"] if isinstance(call.get("function"), dict) else call
            args = decoded(function.get("arguments"))
            msg.tool_calls.append(
                ToolCall(id=str(call.get("id") or ""), name=str(function.get("name") or ""), arguments=args)
            )
    call_id = fields.get("id", attrs.get("id")) if msg.role is MessageRole.TOOL else None
    msg.tool_call_id = str(call_id) if call_id is not None else None
    return msg


def _event_messages(events: list[tuple[str, dict[str, Any]]]) -> tuple[list[Message], list[Message]]:
    """Messages written as span events: one event per message, or one ``gen_ai.content.prompt``/``completion``."""
    inputs: list[Message] = []
    outputs: list[Message] = []
    for name, attrs in events:
        if name in _EVENT_ROLES:
            (outputs if name == "gen_ai.choice" else inputs).append(_event_message(name, attrs))
        elif name in ("gen_ai.content.prompt", "gen_ai.content.completion"):
            value = decoded(attrs.get("gen_ai.prompt" if name.endswith("prompt") else "gen_ai.completion"))
            target = inputs if name.endswith("prompt") else outputs
            target += [m for m in map(_semconv_message, value if isinstance(value, list) else []) if m is not None]
    return inputs, outputs


def call_messages(
    attrs: dict[str, Any], events: list[tuple[str, dict[str, Any]]]
) -> tuple[list[Message], list[Message]]:
    """A model call's input and output messages, from whichever convention the span uses.

    Tried in turn: the current ``gen_ai.system_instructions`` + ``gen_ai.input.messages`` /
    ``gen_ai.output.messages`` (JSON), OpenInference's ``llm.input_messages.<i>.message.*`` /
    ``llm.output_messages.<i>.message.*``, OpenLLMetry's ``gen_ai.prompt.<i>.*`` / ``gen_ai.completion.<i>.*``,
    then span events (``gen_ai.user.message``, ``gen_ai.choice``, ...; ``gen_ai.content.prompt``/``completion``).
    """
    inputs, outputs = _semconv_messages(attrs)
    if inputs or outputs:
        return inputs, outputs
    for prefix, target, style in (
        ("llm.input_messages.", inputs, "openinference"),
        ("llm.output_messages.", outputs, "openinference"),
        ("gen_ai.prompt.", inputs, "openllmetry"),
        ("gen_ai.completion.", outputs, "openllmetry"),
    ):
        target += [m for m in (_flat_message(f, style) for f in _indexed(attrs, prefix)) if m is not None]
    if inputs or outputs:
        return inputs, outputs
    return _event_messages(events)


__all__ = [
    "CACHE_READ",
    "CACHE_WRITE",
    "INPUT",
    "OUTPUT",
    "TOTAL",
    "USAGE_KEYS",
    "Message",
    "Span",
    "any_value",
    "attributes",
    "call_messages",
    "count",
    "decoded",
    "first",
    "has_usage",
    "request_spans",
]
