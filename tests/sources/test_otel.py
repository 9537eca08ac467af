"""OpenTelemetry GenAI spans: sessions, alias spellings, cache-inside-input, nested usage, tools, re-import."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from behest_lab import Store, analytics, open_store
from behest_lab.errors import SourceError
from behest_lab.pricing import Price
from behest_lab.records import MessageRole, ToolExecutionStatus
from behest_lab.sources import open_source
from behest_lab.sources.agentlogs import AgentLogReport, derived_id, detect_format, import_agent_logs, source_uuid
from behest_lab.sources.claude_code import ClaudeCodeSource
from behest_lab.sources.codex import CodexSource
from behest_lab.sources.otel import OtelSource
from tests.sources._otel_fixture import (
    CALLS,
    GPT41,
    HAIKU,
    MINI,
    RATES,
    SESSION_A,
    SESSION_D,
    SONNET,
    TRACE_B,
    openinference_document,
    traces_lines,
    write_traces,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "agent_logs" / "otel"


def _import(store: Store, path: Path, *, skip_bad: bool = False) -> AgentLogReport:
    return import_agent_logs(OtelSource(path), store, progress=False, skip_bad=skip_bad)


def _sid(key: str) -> UUID:
    return source_uuid(key, "otel", "session")


def _hand(calls: list[tuple[str, int, int, int, int, int]]) -> tuple[int, int, int, int, int]:
    """(uncached input, cache read, cache write, output, total) summed over ``calls``."""
    return tuple(sum(c[k] for c in calls) for k in range(1, 6))  # type: ignore[return-value]


def test_the_committed_traces_are_the_fixture(tmp_path: Path) -> None:
    """``data/agent_logs/otel`` holds exactly what the fixture writes (the tests check what is committed)."""
    folder = write_traces(tmp_path)
    written = {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
    committed = {p.name: p.read_bytes() for p in sorted(DATA.iterdir())}
    assert written == committed


def test_spans_group_into_sessions_by_session_attributes_else_by_trace(tmp_path: Path) -> None:
    """gen_ai.conversation.id and session.id name sessions (spans without one join their trace's); else the trace."""
    store = open_store(None)
    report = _import(store, write_traces(tmp_path))
    sessions = {s.metadata["session_id"]: s for s in store.sessions.list_sessions()}
    assert set(sessions) == {SESSION_A, SESSION_D, TRACE_B, "5b8aa5a2d2c872e8321cf37308d69df2"}
    a = sessions[SESSION_A]
    assert a.id == _sid(SESSION_A)
    assert a.title == "Why does checkout fail for EUR carts?"
    assert a.model == SONNET
    assert a.metadata["session_key"] == "gen_ai.conversation.id"
    assert a.metadata["agent_name"] == "Coder"
    assert a.metadata["service"] == "checkout-agent"
    assert a.updated_at - a.created_at == timedelta(milliseconds=9100)
    d = sessions[SESSION_D]
    assert d.metadata["session_key"] == "session.id"
    assert d.metadata["user_id"] == "u-7"
    assert len(d.metadata["trace_ids"]) == 2  # two traces (two user turns) of one session
    assert sessions[TRACE_B].metadata["session_key"] == "trace"
    assert sessions[TRACE_B].title == "Summarise the release notes in one line."
    # the retried batch is read once; the metrics line, the HTTP span and the wrapping LLM span are counted
    assert report.bad == 0
    assert report.skipped_types == {
        "resourceMetrics": 1,
        "span/(not GenAI)": 1,
        "model call wrapping another": 1,
    }


def test_each_call_adds_only_the_messages_the_conversation_has_not_shown(tmp_path: Path) -> None:
    """Every call repeats the history in its input; the messages come out once each, in order."""
    store = open_store(None)
    _import(store, write_traces(tmp_path))
    a = store.sessions.list_messages(_sid(SESSION_A))
    assert [m.role for m in a] == [
        MessageRole.SYSTEM,
        MessageRole.USER,
        MessageRole.ASSISTANT,
        MessageRole.TOOL,
        MessageRole.ASSISTANT,
        MessageRole.TOOL,
        MessageRole.ASSISTANT,
    ]
    assert a[2].text_content == "Let me read the checkout code."
    assert [(c.id, c.name, c.arguments) for c in a[2].tool_calls] == [
        ("toolu_01", "read_file", {"path": "src/checkout.py"})
    ]
    assert (a[3].tool_call_id, a[3].tool_name, a[3].text_content) == ("toolu_01", "read_file", "CURRENCY = 'usd'")
    assert a[-1].text_content == "EUR carts fail because CURRENCY is hard-coded to 'usd'."
    d = store.sessions.list_messages(_sid(SESSION_D))  # OpenInference's flattened messages, over two traces
    assert [m.role for m in d] == [
        MessageRole.SYSTEM,
        MessageRole.USER,
        MessageRole.ASSISTANT,
        MessageRole.TOOL,
        MessageRole.ASSISTANT,
        MessageRole.USER,
        MessageRole.ASSISTANT,
    ]
    assert d[2].tool_calls[0].arguments == {"order_id": "A-17"}
    assert (d[3].tool_call_id, d[3].tool_name) == ("call_1", "lookup_order")
    assert d[-1].text_content == "It should arrive on Tuesday."
    c = store.sessions.list_messages(_sid("trace:5b8aa5a2d2c872e8321cf37308d69df2"))
    assert [m.text_content for m in c] == ["Name this branch.", "fix-eur-checkout"]


def test_usage_counts_each_call_once_normalised_and_costs_match_a_hand_count(tmp_path: Path) -> None:
    """Aliases read; input-includes-cache normalised per provider; agent totals and wrapping spans not re-summed."""
    store = open_store(None)
    _import(store, write_traces(tmp_path))
    calls = analytics.usage(store)
    assert calls.height == len(CALLS)
    got = sorted(
        zip(
            calls["model"],
            calls["uncached_input_tokens"],
            calls["cache_read_tokens"],
            calls["cache_write_tokens"],
            calls["output_tokens"],
            calls["total_tokens"],
            strict=True,
        )
    )
    assert got == sorted(CALLS)
    styles = dict(zip(calls["model"], calls["token_style"], strict=False))
    assert styles == {SONNET: "anthropic", HAIKU: "anthropic", MINI: "openai", GPT41: "openai"}
    # the agent span's own counts, if summed with its calls', would double the session's tokens
    agent = next(x for x in traces_lines()[2]["resourceSpans"][0]["scopeSpans"][0]["spans"] if not x["parentSpanId"])
    agent_input = next(
        int(a["value"]["intValue"]) for a in agent["attributes"] if a["key"] == "gen_ai.usage.input_tokens"
    )
    sonnet = [c for c in CALLS if c[0] == SONNET]
    assert agent_input == sum(c[1] + c[2] + c[3] for c in sonnet)

    prices = [
        Price(model, input=i, output=o, cache_read=r, cache_write=w, provider=p)
        for (model, (i, o, r, w)), p in zip(RATES.items(), ("anthropic", "openai", "anthropic", "openai"), strict=True)
    ]
    cost = analytics.costs(store, by="model", prices=prices, exact=True)
    by_model = dict(zip(cost["model"], cost["cost"], strict=True))
    for model, (i, o, r, w) in RATES.items():
        rows = [c for c in CALLS if c[0] == model]
        uncached, read, write, out, _ = _hand(rows)
        expected = (Decimal(uncached) * i + Decimal(read) * r + Decimal(write) * w + Decimal(out) * o) / 1_000_000
        assert by_model[model] == expected, model


def test_tool_spans_become_executions_with_durations_and_failures(tmp_path: Path) -> None:
    """execute_tool and OpenInference TOOL spans: the span's duration; ERROR status is failed with its message."""
    store = open_store(None)
    _import(store, write_traces(tmp_path))
    runs = {e.call_id: e for e in store.executions.list_executions(_sid(SESSION_A))}
    assert set(runs) == {"toolu_01", "toolu_02"}
    read, test = runs["toolu_01"], runs["toolu_02"]
    assert (read.tool_name, read.status, read.duration) == (
        "read_file",
        ToolExecutionStatus.SUCCESS,
        timedelta(milliseconds=35),
    )
    assert read.arguments == {"path": "src/checkout.py"}
    assert read.result == "CURRENCY = 'usd'"
    assert (test.status, test.duration, test.error) == (
        ToolExecutionStatus.FAILED,
        timedelta(seconds=2.4),
        "exit status 1",
    )
    messages = {m.id: m for m in store.sessions.list_messages(_sid(SESSION_A))}
    assert [c.id for c in messages[read.message_id].tool_calls] == ["toolu_01"]
    assert [c.id for c in messages[test.message_id].tool_calls] == ["toolu_02"]
    [lookup] = store.executions.list_executions(_sid(SESSION_D))
    assert (lookup.tool_name, lookup.call_id, lookup.duration) == (
        "lookup_order",
        "call_1",
        timedelta(milliseconds=120),
    )
    assert lookup.result == {"status": "shipped"}


def test_every_record_names_its_span(tmp_path: Path) -> None:
    """Provenance: format, path given, file with line (JSON Lines) or the document, and the span id."""
    folder = write_traces(tmp_path)
    with open_store(tmp_path / "lake") as store:
        _import(store, folder)
        rows = store.sql('SELECT "table", source, location, ref FROM provenance').fetchall()
        records = store.sql(
            "SELECT (SELECT count(*) FROM sessions) + (SELECT count(*) FROM messages)"
            " + (SELECT count(*) FROM tool_executions) + (SELECT count(*) FROM usage_records)"
        ).fetchone()
        usage_id = derived_id("otel", TRACE_B, "b000000000000001", "usage")
        usage_ref = store.sql(
            "SELECT ref FROM provenance WHERE CAST(record_id AS VARCHAR) = ?", [str(usage_id)]
        ).fetchall()
    assert records is not None
    assert len(rows) == records[0]
    assert {(r[1], r[2]) for r in rows} == {("otel", str(folder))}
    [(ref,)] = usage_ref
    assert ref == f"{folder / 'traces.json'}:5 span b000000000000001"
    assert any(r[3] == f"{folder / 'openinference.json'} span d100000000000003" for r in rows)


def test_reimport_adds_nothing_and_a_grown_file_adds_its_new_spans(tmp_path: Path) -> None:
    """A file cut mid-line imports its complete lines; the finished file adds the rest; again adds nothing."""
    lines = traces_lines()
    folder = write_traces(tmp_path, lines[:2])
    with (folder / "traces.json").open("a", encoding="utf-8") as f:
        f.write(json.dumps(lines[2])[:50])
    store = open_store(tmp_path / "lake")
    try:
        partial = _import(store, folder)
        assert partial.incomplete == 1
        assert partial.bad == 0
        assert len(store.sessions.list_messages(_sid(SESSION_A))) == 5
        write_traces(tmp_path)
        grown = _import(store, folder)
        assert grown.tables["sessions"].duplicates == 2
        assert len(store.sessions.list_messages(_sid(SESSION_A))) == 7
        calls = analytics.usage(store)
        assert sorted(zip(calls["model"], calls["total_tokens"], strict=True)) == sorted((c[0], c[5]) for c in CALLS)
        again = _import(store, folder)
        assert again.imported == 0
        assert again.updated == 0
    finally:
        store.close()


def test_invalid_json_and_bad_spans_name_file_and_line(tmp_path: Path) -> None:
    """A broken line stops the import with file and line, nothing written; --skip-bad imports the rest."""
    folder = write_traces(tmp_path)
    path = folder / "traces.json"
    lines = path.read_text().splitlines()
    lines.insert(2, '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz","spanId":"00"}]}]}]}')
    lines.insert(4, '{"resourceSpans": [')
    path.write_text("\n".join(lines) + "\n")
    store = open_store(None)
    with pytest.raises(SourceError) as err:
        _import(store, folder)
    assert err.value.row == 3
    assert str(path) in str(err.value)
    assert store.sessions.list_sessions() == []
    report = _import(store, folder, skip_bad=True)
    assert report.bad == 2
    assert "line 3" in str(report)
    assert "line 5" in str(report)
    assert len(store.sessions.list_messages(_sid(SESSION_A))) == 7


def test_decoding_accepts_protobuf_field_names_base64_ids_and_enum_names(tmp_path: Path) -> None:
    """snake_case fields, base64 ids and enum names (as generic protobuf-to-JSON writers produce) read the same."""
    trace = bytes.fromhex(TRACE_B)
    span = {
        "trace_id": base64.b64encode(trace).decode(),
        "span_id": base64.b64encode(bytes.fromhex("b000000000000009")).decode(),
        "name": "chat gpt-4o-mini",
        "kind": "SPAN_KIND_CLIENT",
        "start_time_unix_nano": 1_760_000_000_000_000_000,
        "end_time_unix_nano": 1_760_000_001_000_000_000,
        "status": {"code": "STATUS_CODE_OK"},
        "attributes": [
            {"key": "gen_ai.operation.name", "value": {"string_value": "chat"}},
            {"key": "gen_ai.request.model", "value": {"string_value": "gpt-4o-mini"}},
            {"key": "gen_ai.usage.input_tokens", "value": {"int_value": 10}},
            {"key": "gen_ai.usage.output_tokens", "value": {"int_value": "4"}},
        ],
    }
    doc = {"resource_spans": [{"resource": {"attributes": []}, "scope_spans": [{"scope": {}, "spans": [span]}]}]}
    path = tmp_path / "one.json"
    path.write_text(json.dumps([doc, 5], indent=1))  # a list of requests, with an entry that is none
    assert OtelSource.sniff(path)
    store = open_store(None)
    report = _import(store, path)
    assert report.skipped_types == {"(not OTLP traces)": 1}
    [session] = store.sessions.list_sessions()
    assert session.metadata["session_id"] == TRACE_B
    calls = analytics.usage(store)
    assert (calls["provider"][0], calls["input_tokens"][0], calls["output_tokens"][0]) == ("openai", 10, 4)


def test_sniff_and_detect_tell_otel_from_the_other_logs(tmp_path: Path) -> None:
    """Only the OTel reader recognises OTLP files; detect_format and open_source name it."""
    folder = write_traces(tmp_path)
    assert OtelSource.sniff(folder)
    assert OtelSource.sniff(folder / "openinference.json")
    assert not ClaudeCodeSource.sniff(folder)
    assert not CodexSource.sniff(folder)
    logs = DATA.parent
    assert not OtelSource.sniff(logs / "claude")
    assert not OtelSource.sniff(logs / "codex")
    assert detect_format(folder) == "otel"
    assert isinstance(open_source(str(folder)), OtelSource)
    behest = tmp_path / "behest.jsonl"
    behest.write_text('{"type":"session","id":"x"}\n')
    assert not OtelSource.sniff(behest)


def test_cli_import_otel_by_name_and_by_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``import otel PATH`` and ``import PATH`` both import the spans; a Codex folder given as otel is refused."""
    from behest_lab.cli import main

    folder = write_traces(tmp_path)
    store = str(tmp_path / "store")
    assert main(["import", "otel", str(folder), "--store", store, "--no-progress"]) == 0
    assert "(otel)" in capsys.readouterr().out
    assert main(["import", str(folder / "traces.json"), "--store", store, "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "(otel)" in out
    with open_store(tmp_path / "store") as s:
        assert s.sql("SELECT count(*) FROM usage_records").fetchone() == (len(CALLS),)
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.json").write_text(json.dumps(openinference_document()["resourceSpans"][0]["resource"]))
    assert main(["import", "otel", str(notes), "--store", store, "--no-progress"]) == 1
    assert "no otel logs found here" in capsys.readouterr().err


def _proto_request(obj: dict[str, Any]) -> bytes:
    """A fixture request serialized as protobuf (the JSON encoding's hex ids become bytes)."""
    from google.protobuf.json_format import ParseDict
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    copy = json.loads(json.dumps(obj))
    for rs in copy["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for span in ss["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
    message = ParseDict(copy, ExportTraceServiceRequest())
    data: bytes = message.SerializeToString()
    return data


def test_protobuf_files_read_as_their_json_twins(tmp_path: Path) -> None:
    """The file exporter's size-prefixed proto records and a single serialized request give the same records."""
    folder = tmp_path / "proto"
    folder.mkdir()
    records = [_proto_request(x) for x in traces_lines() if "resourceSpans" in x]
    framed = b"".join(len(r).to_bytes(4, "big") + r for r in records)
    (folder / "traces.binpb").write_bytes(framed + len(records[0]).to_bytes(4, "big") + records[0][:10])
    (folder / "openinference.pb").write_bytes(_proto_request(openinference_document()))
    assert OtelSource.sniff(folder)
    assert detect_format(folder / "openinference.pb") == "otel"
    store = open_store(None)
    report = _import(store, folder)
    assert report.incomplete == 1  # the record being written
    assert report.bad == 0
    calls = analytics.usage(store)
    got = zip(
        calls["model"],
        calls["uncached_input_tokens"],
        calls["cache_read_tokens"],
        calls["cache_write_tokens"],
        calls["output_tokens"],
        calls["total_tokens"],
        strict=True,
    )
    assert sorted(got) == sorted(CALLS)
    runs = {e.call_id: e for e in store.executions.list_executions(_sid(SESSION_A))}
    assert runs["toolu_02"].status is ToolExecutionStatus.FAILED
    assert runs["toolu_02"].duration == timedelta(seconds=2.4)
    assert len(store.sessions.list_messages(_sid(SESSION_D))) == 7


def _line_span(trace: str, span: str, attrs: dict[str, Any], events: list[tuple[str, dict[str, str]]]) -> str:
    def kv(values: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {"key": k, "value": {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v}}
            for k, v in values.items()
        ]

    raw = {
        "traceId": trace,
        "spanId": span,
        "name": "chat",
        "kind": 3,
        "startTimeUnixNano": "1760000000000000000",
        "endTimeUnixNano": "1760000001500000000",
        "attributes": kv(attrs),
        "events": [{"timeUnixNano": "1760000000000000000", "name": n, "attributes": kv(a)} for n, a in events],
    }
    request = {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"scope": {}, "spans": [raw]}]}]}
    return json.dumps(request) + "\n"


def test_messages_written_as_span_events_and_other_cache_spellings(tmp_path: Path) -> None:
    """Older emitters' span events give messages; Bedrock's Claude is Anthropic-style; an HTTP trace is no session."""
    call = {"id": "t1", "type": "function", "function": {"name": "ls", "arguments": '{"path": "."}'}}
    bedrock = _line_span(
        "11111111111111111111111111111111",
        "1111111111111111",
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.system": "aws.bedrock",
            "gen_ai.request.model": "anthropic.claude-3-5-haiku-20241022-v1:0",
            "gen_ai.usage.input_tokens": 1000,
            "gen_ai.usage.cache_read_input_tokens": 700,
            "gen_ai.usage.cache_write_input_tokens": 200,
            "gen_ai.usage.output_tokens": 30,
        },
        [
            ("gen_ai.system.message", {"content": "Be brief."}),
            ("gen_ai.user.message", {"content": '[{"text": "List the files."}]'}),
            ("gen_ai.choice", {"message": json.dumps({"role": "assistant", "tool_calls": [call]})}),
        ],
    )
    legacy = _line_span(
        "22222222222222222222222222222222",
        "2222222222222222",
        {"gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.prompt_tokens": 12},
        [
            ("gen_ai.content.prompt", {"gen_ai.prompt": '[{"role": "user", "content": "hi"}]'}),
            ("gen_ai.content.completion", {"gen_ai.completion": '[{"role": "assistant", "content": "hello"}]'}),
        ],
    )
    http = _line_span("33333333333333333333333333333333", "3333333333333333", {"http.request.method": "GET"}, [])
    path = tmp_path / "spans.jsonl"
    path.write_text(bedrock + http + legacy)
    store = open_store(None)
    report = _import(store, path)
    assert len(store.sessions.list_sessions()) == 2  # the trace of one HTTP request is no session
    assert report.skipped_types == {"span/(not GenAI)": 1}
    first = store.sessions.list_messages(_sid("trace:11111111111111111111111111111111"))
    assert [(m.role, m.text_content) for m in first[:2]] == [
        (MessageRole.SYSTEM, "Be brief."),
        (MessageRole.USER, "List the files."),
    ]
    assert [(c.id, c.name, c.arguments) for c in first[2].tool_calls] == [("t1", "ls", {"path": "."})]
    second = store.sessions.list_messages(_sid("trace:22222222222222222222222222222222"))
    assert [m.text_content for m in second] == ["hi", "hello"]
    calls = analytics.usage(store).sort("model")
    rows = list(
        zip(
            calls["provider"],
            calls["uncached_input_tokens"],
            calls["cache_read_tokens"],
            calls["cache_write_tokens"],
            calls["output_tokens"],
            strict=True,
        )
    )
    assert rows == [("aws", 100, 700, 200, 30), ("openai", 12, 0, 0, 0)]


def test_sync_lands_the_same_records_and_a_second_run_finds_nothing(tmp_path: Path) -> None:
    """``behest_lab.sync`` on the folder path picks the OTel reader (its fingerprints) and lands every call once."""
    from behest_lab import sync

    folder = write_traces(tmp_path)
    store = open_store(None)
    source = open_source(str(folder))
    try:
        assert isinstance(source, OtelSource)
        first = sync(source, store)
        again = sync(source, store)
    finally:
        source.close()
    assert first.new["usage_records"] == len(CALLS)
    assert first.new["sessions"] == 4
    assert sum(again.new.values()) == sum(again.updated.values()) == 0
    calls = analytics.usage(store)
    assert sorted(zip(calls["model"], calls["total_tokens"], strict=True)) == sorted((c[0], c[5]) for c in CALLS)


def test_a_sub_agent_is_a_linked_session_and_the_agents_totals_are_not_summed(tmp_path: Path) -> None:
    """An invoke_agent span below another one opens a session linked to its parent; each call counts once."""
    trace = "44444444444444444444444444444444"

    def span(span_id: str, parent: str, name: str, start: int, end: int, attrs: dict[str, Any]) -> dict[str, Any]:
        values = [
            {"key": k, "value": {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v}}
            for k, v in {"gen_ai.conversation.id": "plan-1", **attrs}.items()
        ]
        return {
            "traceId": trace,
            "spanId": span_id,
            "parentSpanId": parent,
            "name": name,
            "kind": 1,
            "startTimeUnixNano": str(1_760_000_000_000_000_000 + start * 1_000_000),
            "endTimeUnixNano": str(1_760_000_000_000_000_000 + end * 1_000_000),
            "attributes": values,
        }

    def chat(span_id: str, parent: str, start: int, user: str, answer: str, tokens: int) -> dict[str, Any]:
        messages = [{"role": "user", "parts": [{"type": "text", "content": user}]}]
        output = [{"role": "assistant", "parts": [{"type": "text", "content": answer}]}]
        attrs = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4.1",
            "gen_ai.input.messages": json.dumps(messages),
            "gen_ai.output.messages": json.dumps(output),
            "gen_ai.usage.input_tokens": tokens,
            "gen_ai.usage.output_tokens": tokens // 10,
        }
        return span(span_id, parent, "chat gpt-4.1", start, start + 100, attrs)

    spans = [
        span("e000000000000001", "", "invoke_agent Planner", 0, 1000, {
            "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "Planner",
            "gen_ai.usage.input_tokens": 1500, "gen_ai.usage.output_tokens": 150}),
        chat("e000000000000002", "e000000000000001", 10, "Plan a trip to Lyon.", "Asking the researcher.", 1000),
        span("e000000000000003", "e000000000000001", "execute_tool research", 200, 900, {
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "research", "gen_ai.tool.call.id": "c1"}),
        span("e000000000000004", "e000000000000003", "invoke_agent Researcher", 210, 890, {
            "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "Researcher",
            "gen_ai.usage.input_tokens": 500, "gen_ai.usage.output_tokens": 50}),
        chat("e000000000000005", "e000000000000004", 220, "Find trains to Lyon.", "TGV every hour.", 500),
    ]  # fmt: skip
    request = {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"scope": {}, "spans": spans}]}]}
    path = tmp_path / "agents.jsonl"
    path.write_text(json.dumps(request) + "\n")
    store = open_store(None)
    _import(store, path)
    by_agent = {s.metadata["agent_name"]: s for s in store.sessions.list_sessions()}
    planner, researcher = by_agent["Planner"], by_agent["Researcher"]
    assert "parent_session_id" not in planner.metadata
    assert researcher.metadata["parent_session_id"] == str(planner.id)
    assert researcher.title == "Find trains to Lyon."
    assert [m.text_content for m in store.sessions.list_messages(researcher.id)] == [
        "Find trains to Lyon.",
        "TGV every hour.",
    ]
    assert [e.call_id for e in store.executions.list_executions(planner.id)] == ["c1"]
    calls = analytics.usage(store)
    assert sorted(zip(calls["session_id"], calls["input_tokens"], strict=True)) == sorted(
        [(str(planner.id), 1000), (str(researcher.id), 500)]
    )


def test_a_broken_first_line_is_a_bad_line_and_a_lone_cut_line_is_incomplete(tmp_path: Path) -> None:
    """JSON Lines whose first line is broken still read line by line; a file of one cut line is being written."""
    lines = [json.dumps(x) for x in traces_lines()]
    path = tmp_path / "traces.jsonl"
    path.write_text('{"resourceSpans": [\n' + "\n".join(lines) + "\n")
    store = open_store(None)
    with pytest.raises(SourceError) as err:
        _import(store, path)
    assert err.value.row == 1
    report = _import(store, path, skip_bad=True)
    assert report.bad == 1
    assert store.sql("SELECT count(*) FROM usage_records").fetchone() == (5,)
    cut = tmp_path / "cut.jsonl"
    cut.write_text(lines[0][:60])
    again = _import(store, cut)
    assert (again.incomplete, again.bad, again.imported) == (1, 0, 0)
