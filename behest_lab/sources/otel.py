"""OpenTelemetry GenAI spans (OTLP JSON or protobuf) as records.

Files read: the collector's file exporter output and other ``otlp/json`` files, one ``ExportTraceServiceRequest``
JSON object per line, or a single JSON document (``{"resourceSpans": [...]}``, pretty-printed or not, or a list of
such objects); OTLP protobuf files (``behest_lab.sources._otel_proto``); a folder is searched for ``*.json``,
``*.jsonl``, ``*.binpb`` and ``*.pb`` files. JSON decoding is in ``behest_lab.sources._otel_spans``.

Spans are grouped into sessions by ``session.id`` (OpenInference) or ``gen_ai.conversation.id``: a span without
either joins the session of its trace (another span of the trace names it), else the trace is a session of its own.
The spans under an ``invoke_agent`` (OpenInference ``AGENT``) span nested in another agent's are a sub-agent: a
session of its own whose metadata names its ``parent_session_id``.
The same span exported twice (a retried export, two exporters) is read once: ``(traceId, spanId)`` identifies it.
Every file of the path is read before sessions are made, since one trace's spans arrive in many export batches.

What each span becomes:

* A **model call** (``gen_ai.operation.name`` ``chat``, ``text_completion``, ``generate_content``; OpenInference
  kind ``LLM``; or, from emitters older than ``gen_ai.operation.name``, any span naming a model): its input messages
  that the conversation has not shown yet (each call repeats the conversation so far: the part a call shares with
  the previous call's input and output is not repeated), then its output messages. Messages are read from
  ``gen_ai.system_instructions`` + ``gen_ai.input.messages`` / ``gen_ai.output.messages``, OpenInference's
  ``llm.input_messages.*`` / ``llm.output_messages.*``, OpenLLMetry's ``gen_ai.prompt.*`` /
  ``gen_ai.completion.*``, or span events (``gen_ai.user.message``, ``gen_ai.choice``, ...). A model call that
  wraps another (a framework's span around the client library's) adds no messages of its own.
* **Usage**: one record per span reporting token counts, unless a span below it in the trace reports some too (an
  agent span's totals, or a framework's LLM span around the client library's span, repeat their children's counts
  and are not summed again). Counters and their aliases are in ``_otel_spans`` (``INPUT``, ``CACHE_READ``, ...).
  The spec's input count INCLUDES cache reads and writes; it is normalised to behest_lab's convention per row:
  Anthropic-style rows (provider ``anthropic`` or a Claude model) store input - read - write with the cache
  counters beside it; other rows keep the input as reported with the reads as ``cached_input_tokens``. An emitter
  that passed Anthropic's own exclusive count (input smaller than read + write) is taken as exclusive.
* A **tool execution** (``execute_tool``, OpenInference kind ``TOOL``): name, call id, arguments and result, the
  span's duration; status ``ERROR`` (or an ``error.type``) is ``failed`` with the status message or error type.
* ``invoke_agent``/``create_agent`` and OpenInference ``AGENT``/``CHAIN`` spans give the session's agent name;
  embeddings spans give usage only. Other spans (HTTP, database, ...) are counted per operation as skipped, and a
  trace without any GenAI span makes no session.

Record ids are derived from the trace and span ids, so importing the same spans again adds nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from behest_lab.errors import SourceError
from behest_lab.interchange.bundle import Bundle
from behest_lab.records import (
    MessageRecord,
    MessageRole,
    Provenance,
    Session,
    TextPart,
    ToolExecution,
    ToolExecutionStatus,
    UsageRecord,
)
from behest_lab.sources import _otel_proto
from behest_lab.sources._otel_spans import (
    CACHE_READ,
    CACHE_WRITE,
    INPUT,
    OUTPUT,
    TOTAL,
    Message,
    Span,
    call_messages,
    count,
    decoded,
    first,
    has_usage,
    request_spans,
)
from behest_lab.sources.agentlogs import AgentLogSource, derived_id, read_lines, source_uuid
from behest_lab.sources.base import BadRowHandler

_MODEL_OPS = ("chat", "text_completion", "generate_content", "completion")
_AGENT_OPS = ("invoke_agent", "create_agent")
_SESSION_KEYS = ("session.id", "gen_ai.conversation.id")
_MODEL_KEYS = (
    "gen_ai.response.model",
    "gen_ai.request.model",
    "llm.response.model_name",
    "llm.model_name",
    "llm.request.model_name",
)
_PROVIDER_KEYS = ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")
#: Provider names of the GenAI conventions -> the provider names prices are looked up by.
_PROVIDERS = {
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "gcp.gen_ai": "google",
    "vertex_ai": "google",
    "gemini": "google",
    "aws.bedrock": "aws",
    "az.ai.openai": "azure",
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "az.ai.inference": "azure",
    "x_ai": "x-ai",
    "xai": "x-ai",
    "mistral_ai": "mistral",
    "aws_bedrock": "aws",
    "bedrock": "aws",
}
_SUFFIXES = (".json", ".jsonl", ".binpb", ".pb")


class OtelSource(AgentLogSource):
    """OTLP trace files under ``path`` (a folder of ``*.json``/``*.jsonl``/``*.binpb``/``*.pb`` files, or one file)."""

    kind = "otel"
    progress_unit = "session"

    @classmethod
    def sniff(cls, path: Path) -> bool:
        """Whether ``path`` holds OTLP traces: a JSON file whose start names ``resourceSpans``, or protobuf spans."""
        files = [path] if path.is_file() else [f for f in sorted(path.rglob("*")) if f.suffix in _SUFFIXES][:5]
        for file in files:
            try:
                with file.open("rb") as f:
                    head = f.read(4096)
            except OSError:
                continue
            text = head.lstrip()
            if _looks_json(head):
                if b'"resourceSpans"' in text or b'"resource_spans"' in text:
                    return True
            elif text and _otel_proto.sniff(file):
                return True
        return False

    def files(self) -> list[Path]:
        """The trace files, sorted by path."""
        if self.path.is_file():
            return [self.path]
        return [f for f in sorted(self.path.rglob("*")) if f.suffix in _SUFFIXES and f.is_file()]

    def count(self) -> int | None:
        """Not known before reading: a trace's spans may be spread over every file, so sessions are found at the end."""
        return None

    def bundles(self, on_bad: BadRowHandler) -> Iterator[Bundle]:
        """One bundle per session, after every file was read."""
        spans: dict[tuple[str, str], Span] = {}
        for file in self.files():
            for span in self._file_spans(file, on_bad):
                key = (span.trace_id, span.span_id)
                held = spans.get(key)
                if held is not None:
                    self.counts.duplicate_lines += 1
                    if len(span.attrs) <= len(held.attrs):
                        continue
                spans[key] = span
        covered = _covered(spans, lambda s: has_usage(s.attrs))
        wrappers = _covered(spans, lambda s: _operation(s) == "model")
        for session_key, group in _sessions(spans).items():
            bundle = _Session(self, session_key, group).bundle(covered, wrappers)
            if bundle is not None:
                yield bundle

    def _file_spans(self, file: Path, on_bad: BadRowHandler) -> Iterator[Span]:
        with file.open("rb") as f:
            head = f.read(4096)
        if head.strip() and not _looks_json(head):
            yield from self._proto_spans(file, on_bad)
            return
        if _is_document(file):
            try:
                value = json.loads(file.read_bytes())
            except (ValueError, RecursionError) as exc:
                on_bad(SourceError(f"invalid JSON document: {exc}", source=self.kind, location=str(file)))
                return
            requests = value if isinstance(value, list) else [value]
            for request in requests:
                yield from self._request(request, file, 0, on_bad)
            return
        for number, obj in read_lines(file, self.kind, on_bad, self.counts):
            yield from self._request(obj, file, number, on_bad)

    def _proto_spans(self, file: Path, on_bad: BadRowHandler) -> Iterator[Span]:
        try:
            requests, cut = _otel_proto.requests(file)
        except ImportError:
            raise SourceError(
                "an OTLP protobuf file needs opentelemetry-proto: pip install 'behest_lab[sources]'",
                source=self.kind,
                location=str(file),
            ) from None
        except ValueError as exc:
            on_bad(SourceError(f"invalid OTLP protobuf: {exc}", source=self.kind, location=str(file)))
            return
        self.counts.incomplete += int(cut)
        for number, request in requests:
            yield from self._request(request, file, number, on_bad)

    def _request(self, obj: Any, file: Path, line: int, on_bad: BadRowHandler) -> Iterator[Span]:
        if not isinstance(obj, dict) or not ({"resourceSpans", "resource_spans"} & obj.keys()):
            signals = ("resourceLogs", "resourceMetrics", "resource_logs", "resource_metrics")
            other = [k for k in signals if k in obj] if isinstance(obj, dict) else []
            self.counts.skipped_types[other[0] if other else "(not OTLP traces)"] += 1
            return
        try:
            spans = list(request_spans(obj, file, line))
        except (ValueError, TypeError, AttributeError) as exc:
            on_bad(
                SourceError(f"cannot read these spans: {exc}", source=self.kind, location=str(file), row=line or None)
            )
            return
        yield from spans


def _looks_json(head: bytes) -> bool:
    """Whether a file's first bytes are JSON text (an object or array), not protobuf's binary.

    A serialized request starts with byte 0x0A (a newline) and its random ids and small tags are control bytes
    or not UTF-8, which JSON text never has.
    """
    text = head.lstrip()
    if text[:1] not in (b"{", b"[") or any(b < 0x09 or 0x0E <= b < 0x20 for b in head):
        return False
    try:
        head[: len(head) - 3 if len(head) >= 4096 else len(head)].decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _is_document(file: Path) -> bool:
    """Whether ``file`` is one (pretty-printed) JSON document rather than JSON Lines.

    JSON Lines: the first non-blank line is JSON, or (it is broken) the next one is a whole request or there is no
    next one (a line cut short while written, or a bad line: ``read_lines`` tells which).
    """
    lines = 0
    with file.open("rb") as f:
        for raw in f:
            if not raw.strip():
                continue
            lines += 1
            try:
                value = json.loads(raw)
            except ValueError:
                if lines == 1:
                    continue
                return True
            return lines == 2 and not (isinstance(value, dict) and {"resourceSpans", "resource_spans"} & value.keys())
    return False


def _own_session(span: Span) -> tuple[str, str] | None:
    """The span's own session attribute and value, if it has one."""
    for name in _SESSION_KEYS:
        value = span.attrs.get(name)
        if value is not None and value != "":
            return name, str(value)
    return None


@dataclass
class _Group:
    """The spans of one session, how its key was found, and for a sub-agent its parent session's key."""

    spans: list[Span] = field(default_factory=list)
    key_source: str = "trace"
    parent: str | None = None


def _is_agent(span: Span) -> bool:
    op = span.attrs.get("gen_ai.operation.name")
    return op == "invoke_agent" or str(span.attrs.get("openinference.span.kind") or "").upper() == "AGENT"


def _agent_chain(span: Span, spans: dict[tuple[str, str], Span]) -> list[str]:
    """The span ids of the agent spans from the trace's outermost one down to ``span`` (itself included)."""
    chain: list[str] = []
    node: Span | None = span
    for _ in range(len(spans)):
        if node is None:
            break
        if _is_agent(node):
            chain.append(node.span_id)
        node = spans.get((node.trace_id, node.parent_id)) if node.parent_id else None
    return chain[::-1]


def _sessions(spans: dict[tuple[str, str], Span]) -> dict[str, _Group]:
    """Spans by session key, each by start time.

    The key is the span's ``session.id``/``gen_ai.conversation.id``, else the one another span of its trace names,
    else the trace. Spans under an agent span nested in another (a sub-agent) form a session of their own, keyed
    by the parent session's key and the sub-agent span's id.
    """
    ordered = sorted(spans.values(), key=lambda s: (s.start_ns, s.end_ns, s.span_id))
    trace_key: dict[str, tuple[str, str]] = {}
    for span in ordered:
        own = _own_session(span)
        if own is not None:
            trace_key.setdefault(span.trace_id, own)
    groups: dict[str, _Group] = {}
    for span in ordered:
        source, key = _own_session(span) or trace_key.get(span.trace_id) or ("trace", f"trace:{span.trace_id}")
        parent = None
        for agent_id in _agent_chain(span, spans)[1:]:
            parent, key = key, f"{key}/agent:{agent_id}"
        group = groups.setdefault(key, _Group(key_source=source, parent=parent))
        group.spans.append(span)
    return dict(sorted(groups.items(), key=lambda kv: kv[1].spans[0].start_ns))


def _operation(span: Span) -> str:
    """What the span is: ``model``, ``embeddings``, ``tool``, ``agent``, or its operation name as skipped."""
    op = str(first(span.attrs, "gen_ai.operation.name", "llm.request.type") or "")
    oi = str(span.attrs.get("openinference.span.kind") or "").upper()
    if op in _MODEL_OPS or oi == "LLM":
        return "model"
    if op in ("embeddings", "embedding") or oi == "EMBEDDING":
        return "embeddings"
    if op == "execute_tool" or oi == "TOOL":
        return "tool"
    if op in _AGENT_OPS or oi in ("AGENT", "CHAIN"):
        return "agent"
    if not op and not oi and first(span.attrs, *_MODEL_KEYS) is not None:
        return "model"
    return f"span/{op or oi.lower() or '(not GenAI)'}"


def provider_of(span: Span, model: str) -> str:
    """The span's provider as prices name it; from the model name when the span names none."""
    raw = first(span.attrs, *_PROVIDER_KEYS)
    if isinstance(raw, str):
        name = raw.lower()
        return _PROVIDERS.get(name, name)
    lowered = model.lower()
    if "claude" in lowered:
        return "anthropic"
    if lowered.startswith(("gpt", "o1", "o3", "o4", "text-embedding")):
        return "openai"
    if lowered.startswith("gemini"):
        return "google"
    return "unknown"


class _Session:
    """One session's spans being mapped."""

    def __init__(self, source: OtelSource, key: str, group: _Group) -> None:
        self.source = source
        self.key = key
        self.group = group
        self.spans = group.spans
        self.id = source_uuid(key, "otel", "session")
        self.messages: list[MessageRecord] = []
        self.executions: list[ToolExecution] = []
        self.usage: list[UsageRecord] = []
        self.provenance: list[Provenance] = []
        self.history: list[str] = []
        self.call_messages: dict[str, MessageRecord] = {}
        self.tool_names: dict[str, str] = {}
        self.model = ""
        self.title = ""
        self.metadata: dict[str, Any] = {"source": "otel", "session_id": key.removeprefix("trace:")}

    def bundle(self, covered: set[tuple[str, str]], wrappers: set[tuple[str, str]]) -> Bundle | None:
        """The session's records; None for a trace without GenAI spans (an HTTP request, say), which is no session.

        ``covered`` are the spans below which another reports usage, ``wrappers`` the model calls wrapping another.
        """
        if not any(_operation(s) in ("model", "embeddings", "tool", "agent") for s in self.spans):
            for span in self.spans:
                self.source.counts.skipped_types[_operation(span)] += 1
            return None
        for span in self.spans:
            self._span(span, wrapper=(span.trace_id, span.span_id) in wrappers)
            if has_usage(span.attrs) and (span.trace_id, span.span_id) not in covered:
                self._usage(span)
        for span in self.spans:  # after the model calls, so each finds the message that asked for it
            if _operation(span) == "tool":
                self._tool(span)
        return self._bundle()

    def _span(self, span: Span, *, wrapper: bool) -> None:
        """Map a span's messages (model calls) or metadata (agents); count what is not mapped."""
        op = _operation(span)
        if op == "model" and wrapper:
            self.source.counts.skipped_types["model call wrapping another"] += 1
        elif op == "model":
            self._model_call(span)
        elif op == "agent":
            name = first(span.attrs, "gen_ai.agent.name")
            if isinstance(name, str):
                self.metadata.setdefault("agent_name", name)
        elif op not in ("embeddings", "tool"):
            self.source.counts.skipped_types[op] += 1

    def _bundle(self) -> Bundle:
        first_span = self.spans[0]
        root = next((s for s in self.spans if not s.parent_id), first_span)
        self.metadata["session_key"] = self.group.key_source
        if self.group.parent is not None:
            self.metadata["parent_session_id"] = str(source_uuid(self.group.parent, "otel", "session"))
        self.metadata["trace_ids"] = sorted({s.trace_id for s in self.spans})
        for meta, value in (
            ("service", first(first_span.resource, "service.name")),
            ("user_id", first(first_span.attrs, "user.id", "enduser.id")),
        ):
            if isinstance(value, str):
                self.metadata[meta] = value
        self.metadata["file"] = str(first_span.file)
        session = Session(
            id=self.id,
            title=self.title or root.name,
            model=self.model,
            created_at=min(s.start for s in self.spans),
            updated_at=max(s.end for s in self.spans),
            metadata=self.metadata,
        )
        prov = [self._prov("sessions", self.id, root), *self.provenance]
        return Bundle(
            session=session, messages=self.messages, executions=self.executions, usage=self.usage, provenance=prov
        )

    def _prov(self, table: str, record_id: UUID, span: Span) -> Provenance:
        return Provenance.model_construct(
            record_id=record_id, table=table, source=self.source.kind, location=self.source.location, ref=span.ref
        )

    def _add(self, table: str, record: Any, span: Span) -> None:
        if table == "messages":
            self.messages.append(record)
        elif table == "tool_executions":
            self.executions.append(record)
        else:
            self.usage.append(record)
        self.provenance.append(self._prov(table, record.id, span))

    def _rid(self, span: Span, *kind: str) -> UUID:
        return derived_id("otel", span.trace_id, span.span_id, *kind)

    def _model_call(self, span: Span) -> None:
        model = first(span.attrs, *_MODEL_KEYS)
        if isinstance(model, str) and not self.model:
            self.model = model
        inputs, outputs = call_messages(span.attrs, span.events)
        keys = [m.key() for m in inputs]
        shared = 0
        while shared < min(len(keys), len(self.history)) and keys[shared] == self.history[shared]:
            shared += 1
        for i, msg in enumerate(inputs[shared:], start=shared):
            self._message(span, msg, ("in", str(i)), span.start)
        for i, msg in enumerate(outputs):
            self._message(span, msg, ("out", str(i)), span.end)
        self.history = keys + [m.key() for m in outputs]

    def _message(self, span: Span, msg: Message, kind: tuple[str, ...], at: Any) -> None:
        text = "\n".join(p.text for p in msg.parts if isinstance(p, TextPart))
        if msg.role is MessageRole.USER and not self.title and text.strip():
            self.title = text.strip()[:80]
        for call in msg.tool_calls:
            self.tool_names[call.id] = call.name
        name = msg.tool_name or (self.tool_names.get(msg.tool_call_id, "") if msg.tool_call_id else None)
        record = MessageRecord(
            id=self._rid(span, "message", *kind),
            session_id=self.id,
            role=msg.role,
            content=msg.parts,
            tool_calls=msg.tool_calls,
            tool_call_id=msg.tool_call_id,
            tool_name=name if msg.role is MessageRole.TOOL else None,
            created_at=at,
        )
        for call in msg.tool_calls:
            self.call_messages.setdefault(call.id, record)
        self._add("messages", record, span)

    def _usage(self, span: Span) -> None:
        a = span.attrs
        model = str(first(a, *_MODEL_KEYS) or "")
        provider = provider_of(span, model)
        reported = count(a, INPUT) or 0
        has_read = count(a, CACHE_READ) is not None
        read = count(a, CACHE_READ) or 0
        write = count(a, CACHE_WRITE) or 0
        output = count(a, OUTPUT) or 0
        prompt = reported if reported >= read + write else reported + read + write  # inclusive, as the spec says
        total = count(a, TOTAL)
        anthropic = provider == "anthropic" or "claude" in model.lower()
        out_msg = next((m for m in reversed(self.messages) if m.id == self._rid(span, "message", "out", "0")), None)
        record = UsageRecord(
            id=self._rid(span, "usage"),
            session_id=self.id,
            message_id=out_msg.id if out_msg is not None else self._rid(span, "message", "out", "0"),
            provider=provider,
            model=model,
            input_tokens=prompt - read - write if anthropic else prompt,
            output_tokens=output,
            total_tokens=total if total is not None else prompt + output,
            created_at=span.end,
            cache_read_input_tokens=read if anthropic and has_read else None,
            cache_creation_input_tokens=write if count(a, CACHE_WRITE) is not None else None,
            cached_input_tokens=read if has_read and not anthropic else None,
        )
        self._add("usage_records", record, span)

    def _tool(self, span: Span) -> None:
        a = span.attrs
        call_id = str(first(a, "gen_ai.tool.call.id", "tool_call.id") or span.span_id)
        name = first(a, "gen_ai.tool.name", "tool.name")
        tool_name = str(name) if name is not None else span.name.removeprefix("execute_tool").strip() or "tool"
        args = decoded(first(a, "gen_ai.tool.call.arguments", "input.value"))
        result = decoded(first(a, "gen_ai.tool.call.result", "output.value"))
        error_type = first(a, "error.type")
        failed = span.status_code == 2 or error_type is not None
        error = None
        if failed:
            exc = next((e.get("exception.message") for n, e in span.events if n == "exception"), None)
            error = span.status_message or (str(exc) if exc is not None else "") or str(error_type or "error")
        asked = self.call_messages.get(call_id)
        if asked is None:
            before = [m for m in self.messages if m.role is MessageRole.ASSISTANT and m.created_at <= span.start]
            asked = before[-1] if before else None
        execution = ToolExecution(
            id=self._rid(span, "tool"),
            session_id=self.id,
            message_id=asked.id if asked is not None else self._rid(span, "tool", "message"),
            call_id=call_id,
            tool_name=tool_name,
            arguments=args,
            result=None if failed else result,
            status=ToolExecutionStatus.FAILED if failed else ToolExecutionStatus.SUCCESS,
            error=error,
            duration=max(span.end - span.start, timedelta(0)),
            created_at=span.start,
        )
        self._add("tool_executions", execution, span)


def _covered(spans: dict[tuple[str, str], Span], marks: Callable[[Span], bool]) -> set[tuple[str, str]]:
    """The spans with a descendant that ``marks`` holds for (their own counts or messages repeat it)."""
    parent = {(s.trace_id, s.span_id): (s.trace_id, s.parent_id) for s in spans.values() if s.parent_id}
    covered: set[tuple[str, str]] = set()
    for span in spans.values():
        if not marks(span):
            continue
        node = parent.get((span.trace_id, span.span_id))
        seen = 0
        while node is not None and node not in covered and seen < len(spans):
            covered.add(node)
            node = parent.get(node)
            seen += 1
    return covered


__all__ = ["OtelSource", "provider_of"]
