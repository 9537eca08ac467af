"""Codex CLI rollouts: mapping, cumulative counters and cached-inside-input, duplicate outputs, re-import, growth."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest

from behest_lab import Store, analytics, open_store
from behest_lab.errors import SourceError
from behest_lab.pricing import Price
from behest_lab.records import MessageRole, ToolExecutionStatus
from behest_lab.sources.agentlogs import AgentLogReport, import_agent_logs
from behest_lab.sources.claude_code import ClaudeCodeSource
from behest_lab.sources.codex import CodexSource
from tests.sources._codex_fixture import CWD, FILE, MODEL, RATES, RESPONSES, SID, rollout_lines, write_rollout


def _import(store: Store, path: Path, *, skip_bad: bool = False) -> AgentLogReport:
    return import_agent_logs(CodexSource(path), store, progress=False, skip_bad=skip_bad)


def _totals(store: Store) -> tuple[int, int, int, int]:
    row = store.sql(
        "SELECT sum(input_tokens), sum(cached_input_tokens), sum(output_tokens), sum(total_tokens) FROM usage_records"
    ).fetchone()
    assert row is not None
    return (int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def test_a_rollout_becomes_a_session_with_its_messages_in_order(tmp_path: Path) -> None:
    """session_meta and turn_context give the session; response items the messages; event copies add none."""
    store = open_store(None)
    report = _import(store, write_rollout(tmp_path))
    [session] = store.sessions.list_sessions()
    assert session.id == UUID(SID)
    assert session.title == "Add a health endpoint"
    assert session.model == MODEL
    assert session.metadata == {
        "source": "codex",
        "session_id": SID,
        "cwd": CWD,
        "project": "api",
        "git_branch": "feature/health",
        "git_commit": "4be2c1d",
        "originator": "codex_cli_rs",
        "version": "0.44.0",
        "file": str(tmp_path / "sessions" / FILE),
    }
    messages = store.sessions.list_messages(session.id)
    assert [m.role for m in messages[:4]] == [
        MessageRole.SYSTEM,
        MessageRole.USER,
        MessageRole.USER,
        MessageRole.ASSISTANT,
    ]
    assert len(messages) == 13
    assert messages[4].tool_calls[0].arguments == {"command": ["bash", "-lc", "rg -n APIRouter"], "workdir": CWD}
    assert (messages[5].tool_call_id, messages[5].tool_name) == ("call_A", "shell")
    assert messages[5].text_content == "src/app.py:3:router = APIRouter()\n"
    assert messages[-1].text_content == "Added GET /health; one test still fails."
    assert report.skipped_types == {"response_item/ghost_snapshot": 1, "thread_rolled_back": 1}


def test_usage_comes_from_per_response_counts_and_cost_matches_a_hand_count(tmp_path: Path) -> None:
    """One record per new token_count; cached tokens stay inside input (OpenAI style) and are priced once."""
    store = open_store(None)
    _import(store, write_rollout(tmp_path))
    assert store.sql("SELECT count(*) FROM usage_records").fetchone() == (4,)
    hand = tuple(sum(r[k] for r in RESPONSES) for k in range(4))
    assert _totals(store) == hand
    # the per-response counts add up to the last cumulative total; summing the cumulative ones would not
    counts = [x["payload"]["info"] for x in rollout_lines() if x["payload"].get("type") == "token_count"]
    cumulative = [c["total_token_usage"]["input_tokens"] for c in counts if c]
    assert hand[0] == cumulative[-1]
    assert sum(cumulative) != hand[0]

    inp, cached, out = RATES
    price = Price(MODEL, input=inp, output=out, cache_read=cached, provider="openai")
    cost = analytics.costs(store, by="model", prices=[price], exact=True)
    expected = sum(
        (Decimal(i - c) * inp + Decimal(c) * cached + Decimal(o) * out) / Decimal(1_000_000) for i, c, o, _ in RESPONSES
    )
    assert cost["cost"].to_list() == [expected]
    assert cost["cache_read_tokens"].to_list() == [hand[1]]
    assert cost["uncached_input_tokens"].to_list() == [hand[0] - hand[1]]


def test_tool_calls_pair_with_outputs_once_with_their_durations_and_exit_codes(tmp_path: Path) -> None:
    """Outputs pair by call_id; metadata gives duration and exit code; a repeated output is left out."""
    store = open_store(None)
    _import(store, write_rollout(tmp_path))
    runs = {e.call_id: e for e in store.executions.list_executions(UUID(SID))}
    assert set(runs) == {"call_A", "call_B", "call_C"}
    assert runs["call_A"].status is ToolExecutionStatus.SUCCESS
    assert runs["call_A"].duration == timedelta(milliseconds=200)
    assert runs["call_B"].tool_name == "apply_patch"
    assert runs["call_C"].status is ToolExecutionStatus.FAILED
    assert runs["call_C"].duration == timedelta(seconds=3.4)
    assert runs["call_C"].error is not None
    assert runs["call_C"].error.startswith("exit code 1:")
    outputs = [m for m in store.sessions.list_messages(UUID(SID)) if m.tool_call_id == "call_B"]
    assert len(outputs) == 1


def test_compacted_becomes_a_compaction_pair(tmp_path: Path) -> None:
    """A compacted line is a marker followed by its summary, which analytics.compactions reads."""
    store = open_store(None)
    _import(store, write_rollout(tmp_path))
    rows = analytics.compactions(store)
    assert rows.height == 1
    summary = next(m for m in store.sessions.list_messages(UUID(SID)) if m.is_summary)
    assert summary.compaction_meta is not None
    assert summary.compaction_meta.summary_text == "Summary: /health added in src/health.py; one test fails."


def test_reimport_adds_nothing_and_a_grown_rollout_completes_pending_calls(tmp_path: Path) -> None:
    """A rollout cut mid-line imports its complete lines; the finished one adds the rest, completing call_B."""
    lines = rollout_lines()
    root = write_rollout(tmp_path, lines[:13])
    path = root / FILE
    cut = json.dumps(lines[13])
    with path.open("a", encoding="utf-8") as f:
        f.write(cut[:40])
    store = open_store(tmp_path / "lake")
    try:
        partial = _import(store, root)
        assert partial.incomplete == 1
        assert partial.bad == 0
        pending = {e.call_id: e.status for e in store.executions.list_executions(UUID(SID))}
        assert pending == {"call_A": ToolExecutionStatus.SUCCESS, "call_B": ToolExecutionStatus.PENDING}
        write_rollout(tmp_path)
        grown = _import(store, root)
        assert grown.updated == 2  # call_B completed, and the session's last time moved with the log
        assert grown.tables["sessions"].duplicates == 1
        runs = {e.call_id: e.status for e in store.executions.list_executions(UUID(SID))}
        assert runs["call_B"] is ToolExecutionStatus.SUCCESS
        assert _totals(store) == tuple(sum(r[k] for r in RESPONSES) for k in range(4))
        again = _import(store, root)
        assert again.imported == 0
        assert again.updated == 0
    finally:
        store.close()


def test_invalid_json_names_file_and_line(tmp_path: Path) -> None:
    """A broken line stops the import with file and line; --skip-bad imports the rest and reports it."""
    lines = [json.dumps(x) for x in rollout_lines()]
    lines.insert(5, '{"timestamp":"2025-10-03T14:00:01.000Z","type":"event_msg","payload":{')
    path = tmp_path / "sessions" / FILE
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(lines) + "\n")
    store = open_store(None)
    with pytest.raises(SourceError) as err:
        _import(store, tmp_path / "sessions")
    assert err.value.row == 6
    assert str(path) in str(err.value)
    assert store.sessions.list_sessions() == []
    report = _import(store, tmp_path / "sessions", skip_bad=True)
    assert report.bad == 1
    assert "line 6" in str(report)
    assert len(store.sessions.list_messages(UUID(SID))) == 13


def test_sniff_tells_codex_from_claude_code(tmp_path: Path) -> None:
    """Each reader recognises its own format only."""
    root = write_rollout(tmp_path)
    assert CodexSource.sniff(root)
    assert not ClaudeCodeSource.sniff(root)


def test_cli_import_codex_and_skip_bad(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``import codex PATH`` stops at a bad line naming it; ``--skip-bad`` imports the rest and lists it."""
    from behest_lab.cli import main

    root = write_rollout(tmp_path)
    path = root / FILE
    path.write_text(path.read_text() + "not json\n" + json.dumps(rollout_lines()[-1]) + "\n")
    store = str(tmp_path / "store")
    assert main(["import", "codex", str(root), "--store", store, "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert str(path) in err
    assert "line 28" in err
    assert main(["import", str(root), "--store", store, "--no-progress", "--skip-bad"]) == 0
    out = capsys.readouterr().out
    assert "(codex)" in out
    assert "line 28" in out
    with open_store(tmp_path / "store") as s:
        assert _totals(s) == tuple(sum(r[k] for r in RESPONSES) for k in range(4))


def test_import_path_recognises_behest_json_lines_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``behest-lab import PATH`` hands behest's own JSON Lines to the JSON Lines importer."""
    from behest_lab.cli import main
    from behest_lab.interchange import export_jsonl

    source = open_store(None)
    _import(source, write_rollout(tmp_path))
    export_jsonl(source, tmp_path / "behest.jsonl")
    assert main(["import", str(tmp_path / "behest.jsonl"), "--store", str(tmp_path / "s"), "--no-progress"]) == 0
    assert "(jsonl)" in capsys.readouterr().out
    nothing = tmp_path / "notes.txt"
    nothing.write_text("hello\n")
    assert main(["import", str(nothing), "--store", str(tmp_path / "s"), "--no-progress"]) == 1
    assert "cannot tell the format" in capsys.readouterr().err


def test_other_jsonl_files_of_the_codex_folder_make_no_sessions(tmp_path: Path) -> None:
    """``~/.codex/history.jsonl`` beside the sessions is passed over (its lines counted), not made a session."""
    write_rollout(tmp_path)
    (tmp_path / "history.jsonl").write_text('{"session_id":"' + SID + '","ts":1759500000,"text":"Add a health"}\n')
    store = open_store(None)
    report = _import(store, tmp_path)
    assert [str(s.id) for s in store.sessions.list_sessions()] == [SID]
    assert report.skipped_types["(no type)"] == 1
