"""Claude Code's logs: mapping, the duplicate-usage trap, subagents and sidechains, compaction, re-import, growth."""

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
from behest_lab.sources.agentlogs import derived_id, import_agent_logs, records_of
from behest_lab.sources.claude_code import ClaudeCodeSource
from tests.sources._claude_fixture import (
    CALLS,
    CWD,
    FOLDER,
    MODEL,
    RATES,
    S1,
    session_lines,
    subagent_lines,
    write_lines,
    write_projects,
)


def _import(store: Store, path: Path, **kw: bool) -> object:
    return import_agent_logs(ClaudeCodeSource(path), store, progress=False, **kw)


def _totals(store: Store) -> tuple[int, int, int, int]:
    row = store.sql(
        "SELECT sum(input_tokens), sum(cache_creation_input_tokens), sum(cache_read_input_tokens), sum(output_tokens)"
        " FROM usage_records"
    ).fetchone()
    assert row is not None
    return (int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def test_sessions_subagents_and_sidechains_are_linked_sessions(tmp_path: Path) -> None:
    """The session, its subagent file and its old-style sidechain become three sessions linked by metadata."""
    store = open_store(None)
    report = _import(store, write_projects(tmp_path))
    sessions = {str(s.id): s for s in store.sessions.list_sessions()}
    assert len(sessions) == 3
    main = sessions[S1]
    assert main.title == "Fix checkout totals rounding"
    assert main.model == MODEL
    assert main.metadata == {
        "source": "claude-code",
        "session_id": S1,
        "cwd": CWD,
        "project": "shop",
        "git_branch": "fix/rounding",
        "version": "2.0.14",
        "file": str(tmp_path / "projects" / FOLDER / f"{S1}.jsonl"),
    }
    children = [s for s in sessions.values() if s.id != main.id]
    assert {s.metadata["parent_session_id"] for s in children} == {S1}
    assert all(s.metadata["sidechain"] is True for s in children)
    by_agent = {s.metadata["agent_id"]: s for s in children}
    assert "a1b2c3" in by_agent  # the subagent file
    old_style = next(s for k, s in by_agent.items() if k != "a1b2c3")
    assert old_style.metadata["agent_id"] == "00000000-0000-4000-8000-000000000013"  # first line of its sidechain
    assert [m.text_content for m in store.sessions.list_messages(old_style.id)] == [
        "Search for rounding helpers",
        "round_half_up in money.py",
    ]
    # 12 lines in the session, 2 in the old sidechain, 5 in the subagent file (its exact copy of a line counted once)
    assert report.tables["messages"].imported == 19  # type: ignore[attr-defined]
    assert len(store.sessions.list_messages(main.id)) == 12
    assert len(store.sessions.list_messages(by_agent["a1b2c3"].id)) == 5
    assert report.skipped_types == {"file-history-snapshot": 1}  # type: ignore[attr-defined]


def test_messages_keep_order_parts_tool_calls_and_result_ids(tmp_path: Path) -> None:
    """Lines become messages in order; blocks become parts and tool calls; results keep the call's id."""
    store = open_store(None)
    _import(store, write_projects(tmp_path))
    messages = store.sessions.list_messages(UUID(S1))
    assert [m.role for m in messages[:5]] == [
        MessageRole.USER,
        MessageRole.ASSISTANT,
        MessageRole.ASSISTANT,
        MessageRole.ASSISTANT,
        MessageRole.TOOL,
    ]
    assert messages[0].id == derived_id("claude-code", "line", S1, "00000000-0000-4000-8000-000000000001")
    assert messages[1].content[0].value["type"] == "thinking"  # type: ignore[union-attr]
    assert messages[2].text_content == "Running the tests first."
    assert [(c.id, c.name, c.arguments) for c in messages[3].tool_calls] == [
        ("toolu_01", "Bash", {"command": "pytest -q"})
    ]
    assert (messages[4].tool_call_id, messages[4].tool_name, messages[4].text_content) == (
        "toolu_01",
        "Bash",
        "3 passed in 1.20s",
    )


def test_tool_executions_have_real_durations_and_failures(tmp_path: Path) -> None:
    """Calls paired with results: durations from the lines or toolUseResult, is_error as failed."""
    store = open_store(None)
    _import(store, write_projects(tmp_path))
    runs = {e.call_id: e for s in store.sessions.list_sessions() for e in store.executions.list_executions(s.id)}
    assert set(runs) == {"toolu_01", "toolu_02", "toolu_03", "toolu_10"}
    assert runs["toolu_01"].status is ToolExecutionStatus.SUCCESS
    assert runs["toolu_01"].duration == timedelta(seconds=4.25)  # between the call's line and the result's
    assert runs["toolu_01"].result == "3 passed in 1.20s"
    assert runs["toolu_02"].status is ToolExecutionStatus.FAILED
    assert runs["toolu_02"].error == "<tool_use_error>File does not exist.</tool_use_error>"
    assert runs["toolu_02"].duration == timedelta(milliseconds=400)
    assert runs["toolu_03"].duration == timedelta(seconds=45)  # toolUseResult.totalDurationMs
    assert runs["toolu_10"].session_id != UUID(S1)  # the subagent's own call
    stats = analytics.tool_stats(store)
    assert dict(zip(stats["tool_name"], stats["failures"], strict=True))["Read"] == 1


def test_usage_is_counted_once_per_response_and_cost_matches_a_hand_count(tmp_path: Path) -> None:
    """One usage per (message.id, requestId) across files; tokens and cost equal a hand count."""
    store = open_store(None)
    _import(store, write_projects(tmp_path))
    assert store.sql("SELECT count(*) FROM usage_records").fetchone() == (len(CALLS),)
    hand = tuple(sum(c[k] for c in CALLS.values()) for k in range(4))
    assert _totals(store) == hand
    # the trap: summing every line's usage counts streaming copies and subagent copies again
    raw = [x for x in session_lines() + subagent_lines() if x["type"] == "assistant"]
    naive_output = sum(x["message"]["usage"]["output_tokens"] for x in raw)
    assert naive_output != hand[3]
    assert len(raw) == 11

    inp, cw, cr, out = RATES
    price = Price(MODEL, input=inp, output=out, cache_read=cr, cache_write=cw, provider="anthropic")
    cost = analytics.costs(store, by="model", prices=[price], exact=True)
    expected = sum(
        (Decimal(i) * inp + Decimal(w) * cw + Decimal(r) * cr + Decimal(o) * out) / Decimal(1_000_000)
        for i, w, r, o in CALLS.values()
    )
    assert cost["cost"].to_list() == [expected]
    assert cost["requests"].to_list() == [7]


def test_a_compaction_becomes_a_pair_the_analyses_read(tmp_path: Path) -> None:
    """compact_boundary + isCompactSummary become the pair analytics.compactions reads."""
    store = open_store(None)
    _import(store, write_projects(tmp_path))
    messages = store.sessions.list_messages(UUID(S1))
    marker = next(m for m in messages if m.is_compaction)
    summary = messages[messages.index(marker) + 1]
    assert summary.is_summary
    assert marker.content[1].value == {"trigger": "auto", "pre_tokens": 155000}  # type: ignore[union-attr]
    assert summary.compaction_meta is not None
    assert summary.compaction_meta.summary_text is not None
    assert "rounding bug" in summary.compaction_meta.summary_text
    rows = analytics.compactions(store)
    assert rows.height == 1
    assert rows["session_id"].to_list() == [S1]


def test_reimport_adds_nothing(tmp_path: Path) -> None:
    """Importing the same folder again writes nothing and replaces nothing (lake store)."""
    store = open_store(tmp_path / "lake")
    try:
        root = write_projects(tmp_path)
        first = _import(store, root)
        again = _import(store, root)
        assert first.imported == 3 + 19 + 4 + 7  # type: ignore[attr-defined]
        assert again.imported == 0  # type: ignore[attr-defined]
        assert again.updated == 0  # type: ignore[attr-defined]
        assert again.duplicates == 0  # type: ignore[attr-defined]  # the unchanged files were not read again
        assert again.unchanged == 1  # type: ignore[attr-defined]
        # each imported record's provenance is stored once, beside it: the format, the folder and file:line
        rows = store.sql(
            'SELECT "table", source, location, ref FROM provenance WHERE "table" NOT LIKE \'agent_log_%\' '
            'ORDER BY "table", ref'
        ).fetchall()
        assert len(rows) == first.imported  # type: ignore[attr-defined]
        assert {(r[1], r[2]) for r in rows} == {("claude-code", str(root))}
        assert all(r[3].startswith(str(root)) and r[3].rsplit(":", 1)[1].isdigit() for r in rows)
        kept = store.sql("SELECT count(*) FROM provenance p JOIN messages m ON m.id = p.record_id").fetchone()
        assert kept is not None
        assert kept[0] == 19
    finally:
        store.close()


def test_a_growing_log_imports_only_what_is_new_and_completes_what_was_partial(tmp_path: Path) -> None:
    """A log cut mid-line imports what is complete; the grown file adds the rest and the final usage."""
    lines = session_lines()
    path = tmp_path / "projects" / FOLDER / f"{S1}.jsonl"
    # written up to the first streaming copy of msg_01's tool call, with the next line cut off mid-write
    write_lines(path, lines[:4])
    cut = json.dumps(lines[4], separators=(",", ":"))
    with path.open("a", encoding="utf-8") as f:
        f.write(cut[: len(cut) // 2])
    store = open_store(None)
    partial = _import(store, tmp_path / "projects")
    assert partial.incomplete == 1  # type: ignore[attr-defined]
    assert partial.bad == 0  # type: ignore[attr-defined]
    assert _totals(store) == (3, 2285, 22137, 2)  # the snapshot so far
    write_lines(path, lines)  # the finished file
    grown = _import(store, tmp_path / "projects")
    assert grown.tables["messages"].duplicates == 0  # type: ignore[attr-defined]  # only the new lines were read
    assert grown.tables["messages"].imported == 12 + 2 - 3  # type: ignore[attr-defined]
    # msg_01's final usage replaced the snapshot, and the session's last time moved with the log
    assert grown.updated == 2  # type: ignore[attr-defined]
    fresh = open_store(None)
    _import(fresh, tmp_path / "projects")
    assert _totals(store) == _totals(fresh)
    assert store.sql("SELECT count(*) FROM usage_records").fetchone() == (5,)
    assert store.sessions.get_session(UUID(S1)) == fresh.sessions.get_session(UUID(S1))


def test_invalid_json_names_file_and_line_and_imports_nothing_of_that_session(tmp_path: Path) -> None:
    """Invalid JSON stops with file and line and nothing of the session; --skip-bad skips and counts it."""
    root = write_projects(tmp_path)
    path = root / FOLDER / f"{S1}.jsonl"
    text = path.read_text().splitlines(keepends=True)
    text.insert(3, '{"type":"user", "uuid": oops}\n')
    path.write_text("".join(text))
    store = open_store(None)
    with pytest.raises(SourceError) as err:
        _import(store, root)
    assert err.value.location == str(path)
    assert err.value.row == 4
    assert str(path) in str(err.value)
    assert "line 4" in str(err.value)
    assert store.sessions.list_sessions() == []
    skipped = _import(store, root, skip_bad=True)
    assert skipped.bad == 1  # type: ignore[attr-defined]
    assert "line 4" in str(skipped)
    assert len(store.sessions.list_sessions()) == 3


def test_sniff_tells_claude_code_logs_from_others(tmp_path: Path) -> None:
    """``sniff`` recognises a projects folder and refuses a Codex rollout."""
    root = write_projects(tmp_path)
    assert ClaudeCodeSource.sniff(root)
    other = tmp_path / "other.jsonl"
    other.write_text('{"timestamp":"2025-10-02T09:00:00Z","type":"session_meta","payload":{"id":"x"}}\n')
    assert not ClaudeCodeSource.sniff(other)


def test_cli_imports_by_name_and_by_recognising_the_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``import claude-code PATH`` and ``import PATH`` give the same store; ``import codex`` on it says what it is."""
    from behest_lab.cli import main

    root = write_projects(tmp_path)
    assert main(["import", "claude-code", str(root), "--store", str(tmp_path / "a"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "(claude-code)" in out
    assert "file-history-snapshot x1" in out
    assert main(["import", str(root), "--store", str(tmp_path / "b"), "--no-progress"]) == 0
    assert main(["import", str(root), "--store", str(tmp_path / "b"), "--no-progress"]) == 0
    capsys.readouterr()
    with open_store(tmp_path / "a") as a, open_store(tmp_path / "b") as b:
        assert _totals(a) == _totals(b)
        assert len(a.sessions.list_sessions()) == len(b.sessions.list_sessions()) == 3
    assert main(["import", "codex", str(root), "--store", str(tmp_path / "c"), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "no codex logs found here (it looks like claude-code" in err


def test_every_record_carries_its_file_and_line_and_the_reader_is_a_source(tmp_path: Path) -> None:
    """Bundles name each record's format, file and line; fingerprints are stable and follow a grown file."""
    from behest_lab.sources.base import Source

    root = write_projects(tmp_path)
    source = ClaudeCodeSource(root)
    assert isinstance(source, Source)
    seen = []

    bundles = list(source.read(None, seen.append))
    assert seen == []
    records = {(t, r.id) for b in bundles for t, r in records_of(b)}
    prov = {(p.table, p.record_id): p for b in bundles for p in b.provenance}
    assert set(prov) == records
    main_file = root / FOLDER / f"{S1}.jsonl"
    bash = next(p for p in prov.values() if p.table == "tool_executions" and p.ref == f"{main_file}:6")
    assert (bash.source, bash.location) == ("claude-code", str(root))
    usage_refs = sorted(p.ref for p in prov.values() if p.table == "usage_records")
    assert f"{main_file}:3" in usage_refs  # msg_01's first copy
    first = source.fingerprints()
    assert first.num_rows == len(records)
    assert source.fingerprints().equals(first)
    write_lines(main_file, [*session_lines(), session_lines()[1] | {"uuid": "00000000-0000-4000-8000-000000000099"}])
    assert source.fingerprints().num_rows == first.num_rows + 1


def test_the_title_prefers_the_summary_of_this_session(tmp_path: Path) -> None:
    """A summary line naming another session's line (left by a resume) gives way to this session's own."""
    lines = session_lines()
    foreign = {
        "type": "summary",
        "summary": "An older conversation",
        "leafUuid": "ffffffff-0000-4000-8000-000000000000",
    }
    path = tmp_path / "projects" / FOLDER / f"{S1}.jsonl"
    write_lines(path, [foreign, *lines])
    store = open_store(None)
    _import(store, tmp_path / "projects")
    session = store.sessions.get_session(UUID(S1))
    assert session is not None
    assert session.title == "Fix checkout totals rounding"


def test_the_progress_bar_counts_session_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With ``progress=True`` a bar shows, its total the session files (a subagent file counts with its session)."""
    root = write_projects(tmp_path)
    import_agent_logs(ClaudeCodeSource(root), open_store(None), progress=True)
    err = capsys.readouterr().err
    assert "import claude-code" in err
    assert "0/1 " in err  # drawn when it starts (later redraws depend on the clock)


def test_sync_recognises_a_claude_code_folder_and_a_second_run_finds_nothing(tmp_path: Path) -> None:
    """``behest_lab.sync`` on a plain folder path picks the Claude Code reader and lands the same records."""
    from behest_lab import sync
    from behest_lab.sources import open_source

    root = write_projects(tmp_path)
    store = open_store(None)
    source = open_source(str(root))
    try:
        assert isinstance(source, ClaudeCodeSource)
        first = sync(source, store)
        again = sync(source, store)
    finally:
        source.close()
    assert sum(first.new.values()) == 3 + 19 + 4 + 7
    assert sum(again.new.values()) == sum(again.updated.values()) == 0
    assert _totals(store) == (33, 9205, 74359, 852)
