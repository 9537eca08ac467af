"""OTLP JSON trace files written span by span in the shapes GenAI emitters export (no real user data).

``traces.json`` is what the collector's file exporter writes (JSON Lines, named ``.json`` as in its examples):
one ``ExportTraceServiceRequest`` a line, spans in the batches they ended in (children before their parents).
It holds:

* session ``sess-checkout`` (``gen_ai.conversation.id``; current conventions, Anthropic): an ``invoke_agent`` span
  whose usage totals its three ``chat`` spans (not to be counted again), two ``execute_tool`` spans (one
  ``ERROR``), an HTTP span below the first call, cache counters under three spellings, and a retried export that
  repeats line 2;
* a trace without a session attribute from an OpenLLMetry-style OpenAI call (legacy ``gen_ai.system``,
  ``gen_ai.usage.prompt_tokens``/``completion_tokens``, ``gen_ai.prompt.0.*`` messages);
* a trace whose emitter passed Anthropic's own counts (input EXCLUDING the cache, smaller than the cache read);
* a ``resourceMetrics`` line from the same exporter.

``openinference.json`` is one pretty-printed document from OpenInference instrumentation: session ``support-42``
(``session.id`` on the agent spans only) over two traces, ``llm.token_count.*`` counters, flattened
``llm.input_messages``/``llm.output_messages``, a ``TOOL`` span, and in the second trace a framework ``LLM`` span
wrapping the client library's ``LLM`` span with the same counts.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

T0 = 1_760_000_000_000_000_000  # 2025-10-09T08:53:20Z in ns
TRACE_A = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACE_B = "0af7651916cd43dd8448eb211c80319c"
TRACE_C = "5b8aa5a2d2c872e8321cf37308d69df2"
TRACE_D1 = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
TRACE_D2 = "b1b2c3d4e5f60718293a4b5c6d7e8f91"
SESSION_A = "sess-checkout"
SESSION_D = "support-42"
SONNET = "claude-sonnet-4-5-20250929"
MINI = "gpt-4o-mini-2024-07-18"
HAIKU = "claude-3-5-haiku-20241022"
GPT41 = "gpt-4.1-2025-04-14"

#: Each model call once, normalised by hand from the spans: (model, uncached input, cache read, cache write,
#: output, total). Anthropic rows: the reported input includes the cache (the spec), so uncached = input - read
#: - write, except the emitter of TRACE_C, whose input (40) is Anthropic's own, already without the cache.
CALLS = [
    (SONNET, 12500 - 0 - 11000, 0, 11000, 90, 12590),
    (SONNET, 12800 - 11000 - 1500, 11000, 1500, 60, 12860),
    (SONNET, 13300 - 12500 - 600, 12500, 600, 150, 13450),
    (MINI, 2400 - 1024, 1024, 0, 120, 2520),
    (HAIKU, 40, 9000, 300, 55, 9395),
    (GPT41, 3000 - 2048, 2048, 0, 80, 3080),
    (GPT41, 3150 - 2048, 2048, 0, 45, 3195),
    (GPT41, 3300 - 3072, 3072, 0, 60, 3360),
]

#: USD per million tokens: input, output, cache read, cache write.
RATES = {
    SONNET: (Decimal(3), Decimal(15), Decimal("0.30"), Decimal("3.75")),
    MINI: (Decimal("0.15"), Decimal("0.60"), Decimal("0.075"), Decimal(0)),
    HAIKU: (Decimal("0.80"), Decimal(4), Decimal("0.08"), Decimal(1)),
    GPT41: (Decimal(2), Decimal(8), Decimal("0.50"), Decimal(0)),
}


def _v(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list):
        return {"arrayValue": {"values": [_v(v) for v in value]}}
    return {"stringValue": value}


def _attrs(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": _v(v)} for k, v in values.items()]


def _span(
    trace: str,
    span: str,
    parent: str,
    name: str,
    start_ms: int,
    end_ms: int,
    attrs: dict[str, Any],
    *,
    kind: Any = 1,
    status: dict[str, Any] | None = None,
    events: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "traceId": trace,
        "spanId": span,
        "parentSpanId": parent,
        "flags": 257,
        "name": name,
        "kind": kind,
        "startTimeUnixNano": str(T0 + start_ms * 1_000_000),
        "endTimeUnixNano": str(T0 + end_ms * 1_000_000),
        "attributes": _attrs(attrs),
        "status": status or {},
    }
    if events:
        out["events"] = events
    return out


def _request(service: str, scope: str, spans: list[dict[str, Any]]) -> dict[str, Any]:
    resource = {"service.name": service, "telemetry.sdk.language": "python", "telemetry.sdk.name": "opentelemetry"}
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": _attrs(resource)},
                "scopeSpans": [{"scope": {"name": scope, "version": "0.9.0"}, "spans": spans}],
                "schemaUrl": "https://opentelemetry.io/schemas/1.37.0",
            }
        ]
    }


_SYSTEM = json.dumps([{"type": "text", "content": "You are a careful coding agent."}])
_USER = {"role": "user", "parts": [{"type": "text", "content": "Why does checkout fail for EUR carts?"}]}
_ASK_READ = {
    "role": "assistant",
    "parts": [
        {"type": "text", "content": "Let me read the checkout code."},
        {"type": "tool_call", "id": "toolu_01", "name": "read_file", "arguments": {"path": "src/checkout.py"}},
    ],
}
_READ = {"role": "tool", "parts": [{"type": "tool_call_response", "id": "toolu_01", "response": "CURRENCY = 'usd'"}]}
_ASK_TEST = {
    "role": "assistant",
    "parts": [{"type": "tool_call", "id": "toolu_02", "name": "run_tests", "arguments": {"k": "eur"}}],
}
_TESTED = {"role": "tool", "parts": [{"type": "tool_call_response", "id": "toolu_02", "response": "1 failed"}]}
_ANSWER = {
    "role": "assistant",
    "parts": [{"type": "text", "content": "EUR carts fail because CURRENCY is hard-coded to 'usd'."}],
    "finish_reason": "stop",
}


def _chat(span: str, start: int, end: int, inputs: list[Any], output: Any, usage: dict[str, int]) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.conversation.id": SESSION_A,
        "gen_ai.request.model": "claude-sonnet-4-5",
        "gen_ai.response.model": SONNET,
        "gen_ai.response.id": f"msg_{span}",
        "gen_ai.response.finish_reasons": ["tool_use"],
        "gen_ai.system_instructions": _SYSTEM,
        "gen_ai.input.messages": json.dumps(inputs),
        "gen_ai.output.messages": json.dumps([output]),
        **usage,
    }
    return _span(TRACE_A, span, "a000000000000001", "chat claude-sonnet-4-5", start, end, attrs, kind=3)


def _tool(span: str, start: int, end: int, call: str, name: str, args: Any, result: str | None) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.conversation.id": SESSION_A,
        "gen_ai.tool.name": name,
        "gen_ai.tool.call.id": call,
        "gen_ai.tool.type": "function",
        "gen_ai.tool.call.arguments": json.dumps(args),
    }
    if result is not None:
        attrs["gen_ai.tool.call.result"] = result
        return _span(TRACE_A, span, "a000000000000001", f"execute_tool {name}", start, end, attrs)
    attrs["error.type"] = "ToolError"
    events = [
        {
            "timeUnixNano": str(T0 + end * 1_000_000),
            "name": "exception",
            "attributes": _attrs({"exception.type": "ToolError", "exception.message": "pytest exited with 1"}),
        }
    ]
    status = {"code": 2, "message": "exit status 1"}
    return _span(
        TRACE_A, span, "a000000000000001", f"execute_tool {name}", start, end, attrs, status=status, events=events
    )


def traces_lines() -> list[dict[str, Any]]:
    """The lines of ``traces.json``, in order."""
    scope = "opentelemetry.instrumentation.anthropic"
    chat1 = _chat(
        "a000000000000002",
        100,
        2100,
        [_USER],
        _ASK_READ,
        {"gen_ai.usage.input_tokens": 12500, "gen_ai.usage.cache_creation.input_tokens": 11000,
         "gen_ai.usage.cache_read.input_tokens": 0, "gen_ai.usage.output_tokens": 90},
    )  # fmt: skip
    http = _span(
        TRACE_A,
        "a000000000000003",
        "a000000000000002",
        "POST",
        150,
        2050,
        {"http.request.method": "POST", "url.full": "https://api.anthropic.com/v1/messages"},
        kind=3,
    )
    read = _tool(
        "a000000000000004", 2110, 2145, "toolu_01", "read_file", {"path": "src/checkout.py"}, "CURRENCY = 'usd'"
    )
    chat2 = _chat(
        "a000000000000005",
        2150,
        3650,
        [_USER, _ASK_READ, _READ],
        _ASK_TEST,
        {"gen_ai.usage.input_tokens": 12800, "gen_ai.usage.cache_read_input_tokens": 11000,
         "gen_ai.usage.cache_creation_input_tokens": 1500, "gen_ai.usage.output_tokens": 60},
    )  # fmt: skip
    test = _tool("a000000000000006", 3660, 6060, "toolu_02", "run_tests", {"k": "eur"}, None)
    chat3 = _chat(
        "a000000000000007",
        6070,
        9070,
        [_USER, _ASK_READ, _READ, _ASK_TEST, _TESTED],
        _ANSWER,
        {"gen_ai.usage.input_tokens": 13300, "gen_ai.usage.cache_read.input_tokens": 12500,
         "gen_ai.usage.cache_write.input_tokens": 600, "gen_ai.usage.output_tokens": 150},
    )  # fmt: skip
    agent = _span(
        TRACE_A,
        "a000000000000001",
        "",
        "invoke_agent Coder",
        0,
        9100,
        {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": "Coder",
            "gen_ai.provider.name": "anthropic",
            "gen_ai.conversation.id": SESSION_A,
            "gen_ai.request.model": "claude-sonnet-4-5",
            "gen_ai.usage.input_tokens": 38600,  # the three calls' totals: counted there, not here
            "gen_ai.usage.output_tokens": 300,
            "gen_ai.usage.cache_read.input_tokens": 23500,
            "gen_ai.usage.cache_creation.input_tokens": 13100,
        },
    )
    legacy = _span(
        TRACE_B,
        "b000000000000001",
        "",
        "openai.chat",
        20_000,
        21_500,
        {
            "llm.request.type": "chat",
            "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.response.model": MINI,
            "gen_ai.prompt.0.role": "user",
            "gen_ai.prompt.0.content": "Summarise the release notes in one line.",
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.content": "Faster imports and a new cost widget.",
            "gen_ai.completion.0.finish_reason": "stop",
            "gen_ai.usage.prompt_tokens": 2400,
            "gen_ai.usage.completion_tokens": 120,
            "gen_ai.usage.cache_read_input_tokens": 1024,
            "llm.usage.total_tokens": 2520,
        },
        kind=3,
    )
    exclusive = _span(
        TRACE_C,
        "c000000000000001",
        "",
        "anthropic.chat",
        30_000,
        30_900,
        {
            "llm.request.type": "chat",
            "gen_ai.system": "Anthropic",
            "gen_ai.request.model": HAIKU,
            "gen_ai.prompt.0.role": "user",
            "gen_ai.prompt.0.content": json.dumps([{"type": "text", "text": "Name this branch."}]),
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.content": "fix-eur-checkout",
            "gen_ai.usage.input_tokens": 40,  # Anthropic's own count, without the cache
            "gen_ai.usage.cache_read_input_tokens": 9000,
            "gen_ai.usage.cache_creation_input_tokens": 300,
            "gen_ai.usage.output_tokens": 55,
        },
        kind=3,
    )
    metrics = {"resourceMetrics": [{"resource": {"attributes": []}, "scopeMetrics": []}]}
    line2 = _request("checkout-agent", scope, [read, chat2, test])
    return [
        _request("checkout-agent", scope, [http, chat1]),
        line2,
        _request("checkout-agent", scope, [chat3, agent]),
        line2,  # the exporter retried this batch
        _request("release-bot", "opentelemetry.instrumentation.openai", [legacy]),
        metrics,
        _request("branch-namer", "opentelemetry.instrumentation.anthropic", [exclusive]),
    ]


def _oi_messages(prefix: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, m in enumerate(messages):
        for key, value in m.items():
            out[f"{prefix}.{i}.message.{key}"] = value
    return out


_OI_SYSTEM = {"role": "system", "content": "You answer questions about orders."}
_OI_USER = {"role": "user", "content": "Where is order A-17?"}
_OI_CALL = {
    "role": "assistant",
    "tool_calls.0.tool_call.id": "call_1",
    "tool_calls.0.tool_call.function.name": "lookup_order",
    "tool_calls.0.tool_call.function.arguments": '{"order_id": "A-17"}',
}
_OI_RESULT = {"role": "tool", "tool_call_id": "call_1", "content": '{"status": "shipped"}'}
_OI_ANSWER = {"role": "assistant", "content": "Order A-17 has shipped."}
_OI_USER2 = {"role": "user", "content": "And when will it arrive?"}
_OI_ANSWER2 = {"role": "assistant", "content": "It should arrive on Tuesday."}


def _llm(trace: str, span: str, parent: str, start: int, end: int, inputs: list[Any], outputs: list[Any],
         counts: tuple[int, int, int, int], name: str = "ChatCompletion") -> dict[str, Any]:  # fmt: skip
    prompt, read, completion, total = counts
    attrs = {
        "openinference.span.kind": "LLM",
        "llm.model_name": GPT41,
        "llm.provider": "openai",
        "llm.system": "openai",
        **_oi_messages("llm.input_messages", inputs),
        **_oi_messages("llm.output_messages", outputs),
        "llm.token_count.prompt": prompt,
        "llm.token_count.prompt_details.cache_read": read,
        "llm.token_count.completion": completion,
        "llm.token_count.total": total,
    }
    return _span(trace, span, parent, name, start, end, attrs, kind="SPAN_KIND_INTERNAL")


def openinference_document() -> dict[str, Any]:
    """The document of ``openinference.json``."""
    agent1 = _span(
        TRACE_D1,
        "d100000000000001",
        "",
        "Agent",
        60_000,
        64_000,
        {
            "openinference.span.kind": "AGENT",
            "session.id": SESSION_D,
            "user.id": "u-7",
            "input.value": "Where is A-17?",
        },
        kind="SPAN_KIND_INTERNAL",
    )
    llm1 = _llm(TRACE_D1, "d100000000000002", "d100000000000001", 60_100, 61_100, [_OI_SYSTEM, _OI_USER], [_OI_CALL],
                (3000, 2048, 80, 3080))  # fmt: skip
    tool = _span(
        TRACE_D1,
        "d100000000000003",
        "d100000000000001",
        "lookup_order",
        61_150,
        61_270,
        {
            "openinference.span.kind": "TOOL",
            "tool.name": "lookup_order",
            "tool_call.id": "call_1",
            "input.value": '{"order_id": "A-17"}',
            "output.value": '{"status": "shipped"}',
        },
        kind="SPAN_KIND_INTERNAL",
    )
    llm2 = _llm(TRACE_D1, "d100000000000004", "d100000000000001", 61_300, 62_300,
                [_OI_SYSTEM, _OI_USER, _OI_CALL, _OI_RESULT], [_OI_ANSWER], (3150, 2048, 45, 3195))  # fmt: skip
    agent2 = _span(
        TRACE_D2,
        "d200000000000001",
        "",
        "Agent",
        90_000,
        92_000,
        {"openinference.span.kind": "AGENT", "session.id": SESSION_D, "user.id": "u-7", "input.value": "And when?"},
        kind="SPAN_KIND_INTERNAL",
    )
    history = [_OI_SYSTEM, _OI_USER, _OI_CALL, _OI_RESULT, _OI_ANSWER, _OI_USER2]
    counts = (3300, 3072, 60, 3360)
    outer = _llm(TRACE_D2, "d200000000000002", "d200000000000001", 90_100, 91_900, history, [_OI_ANSWER2], counts,
                 name="ChatOpenAI")  # fmt: skip
    inner = _llm(TRACE_D2, "d200000000000003", "d200000000000002", 90_200, 91_800, history, [_OI_ANSWER2], counts)
    spans = [agent1, llm1, tool, llm2, agent2, outer, inner]
    return _request("support-bot", "openinference.instrumentation.openai", spans)


def write_traces(root: Path, lines: list[dict[str, Any]] | None = None) -> Path:
    """Write ``traces.json`` and ``openinference.json`` under ``root/otel``; return that folder."""
    folder = root / "otel"
    folder.mkdir(parents=True, exist_ok=True)
    rows = traces_lines() if lines is None else lines
    text = "".join(json.dumps(x, separators=(",", ":")) + "\n" for x in rows)
    (folder / "traces.json").write_text(text, encoding="utf-8")
    (folder / "openinference.json").write_text(json.dumps(openinference_document(), indent=2) + "\n", encoding="utf-8")
    return folder
