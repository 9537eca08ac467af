"""Incremental agent-log imports: unchanged files are not read, grown files only from where the last import stopped.

The strongest check: for every place a log can be cut while being written, importing the cut file and then the
finished one leaves the store exactly as one import of the finished file does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from behest_lab import Store, open_store
from behest_lab.errors import SourceError
from behest_lab.records import Provenance, ToolExecutionStatus
from behest_lab.sources.agentlogs import AgentLogReport, import_agent_logs, import_claude_code, import_codex
from behest_lab.sources.claude_code import ClaudeCodeSource
from behest_lab.sources.codex import CodexSource
from tests.sources._claude_fixture import FOLDER, S1, session_lines, subagent_lines, write_lines, write_projects
from tests.sources._codex_fixture import FILE, SID, rollout_lines, write_rollout

_TABLES = ("sessions", "messages", "tool_executions", "usage_records")


def _content(store: Store) -> dict[str, list[Any]]:
    """Every row of the record tables, each session's message order, and the records' provenance.

    A message's ``seq`` is the store's append counter: the order it gives is compared, not its values.
    """
    out = {t: store.sql(f"SELECT * EXCLUDE (seq) FROM {t} ORDER BY id").fetchall() for t in ("messages",)}
    out |= {t: store.sql(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in _TABLES if t != "messages"}
    out["order"] = store.sql("SELECT session_id, id FROM messages ORDER BY session_id, seq").fetchall()
    out["provenance"] = store.sql(
        'SELECT record_id, "table", ref FROM provenance WHERE "table" NOT LIKE \'agent_log_%\' ORDER BY ALL'
    ).fetchall()
    return out


def _claude(store: Store, tmp_path: Path) -> AgentLogReport:
    return import_agent_logs(ClaudeCodeSource(tmp_path / "projects"), store, progress=False)


def _write_cut(path: Path, lines: list[dict[str, Any]], cut: int) -> None:
    """The first ``cut`` lines, then half of the next one (a line being written), as a writer leaves a log."""
    write_lines(path, lines[:cut])
    if cut < len(lines):
        text = json.dumps(lines[cut], separators=(",", ":"))
        with path.open("a", encoding="utf-8") as f:
            f.write(text[: len(text) // 2])


@pytest.mark.parametrize(
    ("with_subagent", "resumed_summary"),
    [(False, False), (True, False), (False, True)],
    ids=["session-file", "with-subagent-file", "summary-of-a-resumed-session-first"],
)
def test_a_claude_code_log_imported_at_every_cut_then_finished_equals_one_import(
    tmp_path: Path, with_subagent: bool, resumed_summary: bool
) -> None:
    lines = session_lines()
    if resumed_summary:
        # a summary of an earlier session comes first; this session's own (its leaf is the last line) wins the title
        lines.insert(
            0, {"type": "summary", "summary": "Earlier work", "leafUuid": "00000000-0000-4000-8000-0000000000ff"}
        )
    project = tmp_path / "projects" / FOLDER
    main = project / f"{S1}.jsonl"
    if with_subagent:
        write_lines(project / S1 / "subagents" / "agent-a1b2c3.jsonl", subagent_lines())
    write_lines(main, lines)
    fresh = open_store(None)
    _claude(fresh, tmp_path)
    expected = _content(fresh)
    # the subagent file copies the session's Task response (index 8): it can only exist once that line does
    for cut in range(9 if with_subagent else 1, len(lines)):
        _write_cut(main, lines, cut)
        store = open_store(None)
        _claude(store, tmp_path)
        write_lines(main, lines)
        grown = _claude(store, tmp_path)
        assert _content(store) == expected, f"cut after line {cut}"
        if not with_subagent:
            # only the new lines were read: no message of the first import came again
            assert grown.tables["messages"].duplicates == 0, f"cut after line {cut}"
        store.close()


def test_a_codex_rollout_imported_at_every_cut_then_finished_equals_one_import(tmp_path: Path) -> None:
    lines = rollout_lines()
    root = write_rollout(tmp_path)
    path = root / FILE
    fresh = open_store(None)
    import_codex(fresh, root, progress=False)
    expected = _content(fresh)
    for cut in range(1, len(lines)):
        _write_cut(path, lines, cut)
        store = open_store(None)
        import_codex(store, root, progress=False)
        write_rollout(tmp_path)
        grown = import_codex(store, root, progress=False)
        assert _content(store) == expected, f"cut after line {cut}"
        assert grown.tables["messages"].duplicates == 0, f"cut after line {cut}"
        store.close()


def test_a_command_end_that_comes_after_an_import_completes_the_execution(tmp_path: Path) -> None:
    """Codex may write ``exec_command_end`` after the call's output: a later import still takes its exit code."""
    lines = rollout_lines()[:9]  # up to call_A, whose output comes next without metadata
    output = {"type": "function_call_output", "call_id": "call_A", "output": "src/app.py:3:router = APIRouter()\n"}
    end = {
        "type": "exec_command_end",
        "call_id": "call_A",
        "exit_code": 2,
        "duration": {"secs": 1, "nanos": 500_000_000},
    }
    lines.append({"timestamp": "2025-10-03T14:00:04.000Z", "type": "response_item", "payload": output})
    lines.append({"timestamp": "2025-10-03T14:00:05.000Z", "type": "event_msg", "payload": end})
    root = write_rollout(tmp_path, lines[:-1])
    store = open_store(None)
    import_codex(store, root, progress=False)
    (run,) = store.executions.list_executions(UUID(SID))
    assert run.status is ToolExecutionStatus.SUCCESS  # no exit code known yet
    write_rollout(tmp_path, lines)
    grown = import_codex(store, root, progress=False)
    (run,) = store.executions.list_executions(UUID(SID))
    assert run.status is ToolExecutionStatus.FAILED
    assert run.duration.total_seconds() == 1.5
    assert grown.tables["messages"].read == 0  # the end line adds no message; nothing earlier was read again
    fresh = open_store(None)
    import_codex(fresh, root, progress=False)
    assert _content(store) == _content(fresh)


def test_an_unchanged_folder_is_not_read_again_even_after_the_store_is_reopened(tmp_path: Path) -> None:
    root = write_projects(tmp_path)
    store = open_store(tmp_path / "lake")
    try:
        first = import_claude_code(store, root, progress=False)
        assert first.unchanged == 0
    finally:
        store.close()
    store = open_store(tmp_path / "lake")
    try:
        again = import_claude_code(store, root, progress=False)
        assert again.unchanged == 1  # the session's file and its subagent file, counted as one
        assert all(c.read == 0 for c in again.tables.values())
        assert again.imported == 0
        assert "files unchanged since the last import, not read: 1" in str(again)
        # the cursor is kept beside the records: one row for the files, one for the reader's state
        kinds = store.sql(
            'SELECT "table", count(*) FROM provenance WHERE "table" LIKE \'agent_log_%\' GROUP BY ALL ORDER BY ALL'
        ).fetchall()
        assert kinds == [("agent_log_files", 1), ("agent_log_state", 1)]
    finally:
        store.close()


def test_a_session_deleted_from_the_store_is_read_again(tmp_path: Path) -> None:
    root = write_projects(tmp_path)
    store = open_store(None)
    import_claude_code(store, root, progress=False)
    own = len(store.sessions.list_messages(UUID(S1)))
    store.delete_session(UUID(S1))
    again = import_claude_code(store, root, progress=False)
    assert again.unchanged == 0
    assert again.tables["sessions"].imported == 1
    assert store.sessions.get_session(UUID(S1)) is not None
    assert again.tables["messages"].imported == own  # the subagents' sessions and messages stayed


def test_a_rewritten_file_is_read_whole(tmp_path: Path) -> None:
    """A file that changed before the end of what was read (not an append) is read from its first line again."""
    lines = session_lines()
    main = tmp_path / "projects" / FOLDER / f"{S1}.jsonl"
    write_lines(main, lines[:8])
    store = open_store(None)
    _claude(store, tmp_path)
    edited = [dict(line) for line in lines]
    edited[0] = {**edited[0], "summary": "Fix checkout totals rounding (renamed)"}
    write_lines(main, edited)
    again = _claude(store, tmp_path)
    assert again.tables["messages"].duplicates > 0  # the old lines were read again
    session = store.sessions.get_session(UUID(S1))
    assert session is not None
    assert session.title == "Fix checkout totals rounding (renamed)"  # the stored session follows the log


def test_an_import_stopped_by_a_bad_line_keeps_the_cursors_of_what_it_committed(tmp_path: Path) -> None:
    """Rollouts committed before the stop are not read again; the bad one is read whole next time."""
    root = write_rollout(tmp_path)
    other_sid = "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c"
    bad = (root / FILE).read_text().replace(SID, other_sid).splitlines(keepends=True)
    bad.insert(5, "{oops\n")
    later = root / FILE.replace(SID, other_sid).replace("14-00-00", "15-00-00")
    later.write_text("".join(bad))
    store = open_store(tmp_path / "lake")
    try:
        with pytest.raises(SourceError) as err:
            import_agent_logs(CodexSource(root), store, progress=False, batch_records=1)
        assert err.value.location == str(later)
        assert [s.id for s in store.sessions.list_sessions()] == [UUID(SID)]
        again = import_agent_logs(CodexSource(root), store, progress=False, skip_bad=True)
        assert isinstance(again, AgentLogReport)
        assert again.unchanged == 1  # the first rollout
        assert again.bad == 1
        assert {s.id for s in store.sessions.list_sessions()} == {UUID(SID), UUID(other_sid)}
    finally:
        store.close()


def test_readers_without_cursors_still_import_everything_each_time(tmp_path: Path) -> None:
    """The base class's ``units`` (what a reader that only implements ``bundles`` gets) keeps no cursor."""

    class Plain(ClaudeCodeSource):
        units = ClaudeCodeSource.__mro__[1].units  # type: ignore[assignment]

    root = write_projects(tmp_path)
    store = open_store(None)
    first = import_agent_logs(Plain(root), store, progress=False)
    again = import_agent_logs(Plain(root), store, progress=False)
    assert again.unchanged == 0
    assert again.duplicates == first.imported
    assert store.sql("SELECT count(*) FROM provenance WHERE \"table\" LIKE 'agent_log_%'").fetchone() == (0,)


def test_a_growing_subagent_file_is_read_from_where_the_last_import_stopped(tmp_path: Path) -> None:
    """The session file is done, its subagent's file grows: each import reads the subagent's new lines only."""
    lines = subagent_lines()
    project = tmp_path / "projects" / FOLDER
    write_lines(project / f"{S1}.jsonl", session_lines())
    sub = project / S1 / "subagents" / "agent-a1b2c3.jsonl"
    write_lines(sub, lines)
    fresh = open_store(None)
    _claude(fresh, tmp_path)
    expected = _content(fresh)
    for cut in range(1, len(lines)):
        _write_cut(sub, lines, cut)
        store = open_store(None)
        _claude(store, tmp_path)
        write_lines(sub, lines)
        grown = _claude(store, tmp_path)
        assert _content(store) == expected, f"cut after line {cut}"
        copies = 1 if cut <= 3 else 0  # index 3 copies a session line: read, but passed over as a duplicate
        assert grown.tables["messages"].read == len(lines) - cut - copies, f"cut after line {cut}"
        store.close()


def test_a_state_this_version_cannot_take_up_makes_a_whole_read(tmp_path: Path) -> None:
    """A kept reader state that does not fit (another version wrote it) is not trusted: the rollout is read whole."""
    lines = rollout_lines()
    root = write_rollout(tmp_path, lines[:12])
    store = open_store(None)
    import_codex(store, root, progress=False)
    (row,) = store.sql(
        "SELECT record_id, source, location FROM provenance WHERE \"table\" = 'agent_log_state'"
    ).fetchall()
    odd = Provenance(record_id=row[0], table="agent_log_state", source=row[1], location=row[2], ref='{"calls": 1}')
    store.write_batch(provenance=[odd])
    write_rollout(tmp_path)
    grown = import_codex(store, root, progress=False)
    assert grown.tables["messages"].duplicates > 0  # the lines of the first import were read again
    fresh = open_store(None)
    import_codex(fresh, root, progress=False)
    assert _content(store) == _content(fresh)
