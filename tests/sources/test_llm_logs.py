"""simonw/llm's logs.db: both table generations, the mirror and replay traps, forks, tools, costs, re-import, growth."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest

from behest_lab import Store, analytics, open_store
from behest_lab.errors import SourceError
from behest_lab.pricing import Price
from behest_lab.records import JsonPart, MessageRole, ToolExecutionStatus
from behest_lab.sources.agentlogs import AgentLogReport, derived_id, import_agent_logs, records_of
from behest_lab.sources.codex import CodexSource
from behest_lab.sources.llm_logs import LlmLogsSource
from tests.sources._codex_fixture import write_rollout
from tests.sources._llm_fixture import (
    C1,
    C2,
    C3,
    C4,
    C5,
    C6,
    C7,
    CURRENT_CALLS,
    LEGACY_CALLS,
    R2,
    R3,
    RATES,
    write_logs_db,
)

DATA = Path(__file__).resolve().parents[2] / "data"


def _import(store: Store, path: Path, *, skip_bad: bool = False) -> AgentLogReport:
    return import_agent_logs(LlmLogsSource(path), store, progress=False, skip_bad=skip_bad)


def _sid(conversation: str) -> UUID:
    return derived_id("llm", "conversation", conversation)


def _by_model(store: Store) -> dict[str, tuple[int, int, int, int]]:
    table = analytics.costs(store, by="model", prices=_prices(), exact=True)
    return {
        r["model"]: (r["uncached_input_tokens"], r["cache_read_tokens"], r["cache_write_tokens"], r["output_tokens"])
        for r in table.iter_rows(named=True)
    }


def _prices() -> list[Price]:
    return [Price(m, input=i, cache_read=r, cache_write=w, output=o) for m, (i, r, w, o) in RATES.items()]


def test_a_legacy_logs_db_becomes_sessions_with_their_messages_in_order(tmp_path: Path) -> None:
    """Conversations and responses: system once, fragments and attachments with the prompt, tool messages."""
    store = open_store(None)
    report = _import(store, write_logs_db(tmp_path / "logs.db", "legacy"))
    sessions = {s.id: s for s in store.sessions.list_sessions()}
    assert set(sessions) == {_sid(C1), _sid(C2), _sid(C3)}
    weather = sessions[_sid(C1)]
    assert weather.title == "What's the weather in Lisbon and Porto?"
    assert weather.model == "gpt-4o-mini-2024-07-18"
    assert weather.metadata == {
        "source": "llm",
        "conversation_id": C1,
        "file": str(tmp_path / "logs.db"),
        "tables": "responses",
    }
    messages = store.sessions.list_messages(weather.id)
    assert [(m.role, m.text_content) for m in messages] == [
        (MessageRole.SYSTEM, "You are a terse assistant."),
        (MessageRole.USER, "What's the weather in Lisbon and Porto?"),
        (MessageRole.ASSISTANT, ""),
        (MessageRole.TOOL, "24°C, sunny"),
        (MessageRole.TOOL, "Error: TimeoutError: upstream timed out"),
        (MessageRole.ASSISTANT, "Lisbon: 24°C and sunny. Porto: the weather service timed out."),
        (MessageRole.USER, "And tomorrow in Lisbon?"),
        (MessageRole.ASSISTANT, "Let me check."),
    ]
    assert [(c.id, c.arguments) for c in messages[2].tool_calls] == [
        ("call_1", {"city": "Lisbon"}),
        ("call_2", {"city": "Porto"}),
    ]
    assert (messages[4].tool_call_id, messages[4].tool_name) == ("call_2", "get_weather")
    summary = store.sessions.list_messages(_sid(C2))
    # fragments as llm sends them: the system fragment and system prompt stripped, blank line between, said once;
    # the prompt's fragment first, a newline, then the prompt
    assert [m.role for m in summary] == [MessageRole.SYSTEM, *[MessageRole.USER, MessageRole.ASSISTANT] * 2]
    assert summary[0].text_content == "Answer in one sentence.\n\nBe brief."
    assert summary[1].text_content == "def add(a, b):\n    return a + b\n\nSummarise this file"
    primes = store.sessions.list_messages(_sid(C3))[0]
    assert primes.content[0] == JsonPart(
        value={
            "type": "attachment",
            "attachment": {
                "id": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                "type": "image/png",
                "path": "/home/dev/primes.png",
            },
        }
    )
    assert report.tables["messages"].imported == 8 + 5 + 2
    assert report.skipped_types == {"logs (llm before 0.5)": 2}


def test_legacy_tool_calls_pair_with_results_once_even_when_an_id_repeats(tmp_path: Path) -> None:
    """Results pair with calls by id; an exception is a failure; an unanswered call (same id again) is pending."""
    store = open_store(None)
    _import(store, write_logs_db(tmp_path / "logs.db", "legacy"))
    runs = sorted(store.executions.list_executions(_sid(C1)), key=lambda e: (e.created_at, e.call_id))
    assert [(e.call_id, e.status) for e in runs] == [
        ("call_1", ToolExecutionStatus.SUCCESS),
        ("call_2", ToolExecutionStatus.FAILED),
        ("call_1", ToolExecutionStatus.PENDING),
    ]
    # from the end of the calling response (10:00:00 + 900 ms) to the start of the one carrying the results
    assert runs[0].duration == runs[1].duration == timedelta(milliseconds=1600)
    assert runs[0].result == "24°C, sunny"
    assert runs[1].error == "TimeoutError: upstream timed out"
    assert runs[2].arguments == {"city": "Lisbon", "day": "tomorrow"}


@pytest.mark.parametrize(("generation", "calls"), [("legacy", LEGACY_CALLS), ("current", CURRENT_CALLS)])
def test_usage_is_one_record_per_call_and_cost_matches_a_hand_count(
    tmp_path: Path, generation: str, calls: dict[str, tuple[int, int, int, int]]
) -> None:
    """Each convention normalised once: uncached, cache read, cache write and output equal the hand count."""
    path = write_logs_db(tmp_path / "logs.db", generation)
    store = open_store(None)
    _import(store, path)
    assert _by_model(store) == calls
    cost = analytics.costs(store, by="model", prices=_prices(), exact=True)
    expected = sum(
        (Decimal(u) * RATES[m][0] + Decimal(r) * RATES[m][1] + Decimal(w) * RATES[m][2] + Decimal(o) * RATES[m][3])
        / Decimal(1_000_000)
        for m, (u, r, w, o) in calls.items()
    )
    assert sum(cost["cost"].to_list()) == expected
    with sqlite3.connect(path) as con:  # the rows: a call logged in both generations is there twice
        rows = con.execute("SELECT count(*) FROM responses").fetchone()[0]
        turns = con.execute("SELECT count(*) FROM turns").fetchone()[0] if generation == "current" else 0
    records = store.sql("SELECT count(*) FROM usage_records").fetchone()
    assert records == ((rows + turns - 1,) if generation == "current" else (rows,))


def test_current_tables_threads_forks_and_a_conversation_continued_after_the_upgrade(tmp_path: Path) -> None:
    """The replayed history is kept once, the mirrored call once, the fork shares messages but not calls."""
    store = open_store(None)
    report = _import(store, write_logs_db(tmp_path / "logs.db", "current"))
    sessions = {s.id: s for s in store.sessions.list_sessions()}
    assert set(sessions) == {_sid(C4), _sid(C5), _sid(C6), _sid(C7)}
    haiku = store.sessions.list_messages(_sid(C4))
    assert [m.role for m in haiku] == [MessageRole.USER, MessageRole.ASSISTANT] * 2
    assert haiku[2].text_content == "Now one about coffee"
    haiku_meta = sessions[_sid(C4)].metadata
    assert isinstance(haiku_meta, dict)
    assert haiku_meta["tables"] == "responses+threads"
    assert [m.text_content for m in store.sessions.list_messages(_sid(C5))] == ["ping", "pong"]
    assert report.tables["usage_records"].imported == 8

    disk = store.sessions.list_messages(_sid(C6))
    assert len(disk) == 9
    assert disk[1].text_content == "How much disk is free?\nHost: build-01 (Debian 12)"  # the fragment resolved
    assert disk[2].content == [
        JsonPart(value={"type": "reasoning", "text": "The user wants free space; df will tell."})
    ]
    assert disk[2].tool_calls[0].arguments == {"cmd": "df -h /"}
    runs = {e.call_id: e for e in store.executions.list_executions(_sid(C6))}
    assert runs["toolu_01"].status is ToolExecutionStatus.SUCCESS
    assert runs["toolu_01"].duration == timedelta(seconds=2)  # a1 at 12:00:03, its result sent at 12:00:05
    assert runs["toolu_02"].status is ToolExecutionStatus.FAILED
    assert runs["toolu_02"].error == "PermissionError: [Errno 13] Permission denied"

    fork = sessions[_sid(C7)]
    assert isinstance(fork.metadata, dict)
    assert fork.metadata["forked_from"] == C6
    assert fork.metadata["forked_from_session_id"] == str(_sid(C6))
    forked = store.sessions.list_messages(fork.id)
    assert [m.text_content for m in forked][-3:] == ["40G free on /.", "Which filesystem is it?", "ext4."]
    assert len(forked) == 7
    assert store.executions.list_executions(fork.id) == []  # the shared tool call ran in the origin thread
    fork_usage = store.sql(f"SELECT count(*) FROM usage_records WHERE session_id = '{fork.id}'").fetchone()
    assert fork_usage == (1,)
    assert report.skipped_types == {"parts/citation": 1}


def test_reimport_adds_nothing_and_every_record_keeps_its_table_and_key(tmp_path: Path) -> None:
    """Importing the same file again writes nothing; provenance names the llm table and key of each record."""
    path = write_logs_db(tmp_path / "logs.db", "current")
    store = open_store(tmp_path / "lake")
    try:
        first = _import(store, path)
        again = _import(store, path)
        assert first.imported == 4 + 22 + 2 + 8
        assert again.imported == 0
        assert again.updated == 0
        assert again.duplicates == first.imported
        rows = store.sql('SELECT "table", source, location, ref FROM provenance').fetchall()
        assert len(rows) == first.imported
        assert {(r[1], r[2]) for r in rows} == {("llm", str(path))}
        usage_refs = {r[3] for r in rows if r[0] == "usage_records"}
        assert "responses:01k0a1b2c3r7000000000000r7" in usage_refs
        assert "turns:01k0c0ffeet2000000000000t2" in usage_refs
        assert "responses:01k0c0ffeet2000000000000t2" not in usage_refs  # the mirror counted from its turn
        assert {r[3].split(":", 1)[0] for r in rows} == {"threads", "messages", "parts", "responses", "turns"}
    finally:
        store.close()


def test_a_growing_logs_db_adds_the_new_calls_and_completes_pending_tool_calls(tmp_path: Path) -> None:
    """Imported while the tool results were not logged yet, the calls are pending; the next import completes them."""
    path = tmp_path / "logs.db"
    cut = "DELETE FROM tool_results; DELETE FROM tool_calls WHERE id = 3; "
    cut += f"DELETE FROM responses WHERE id IN ('{R2}', '{R3}');"
    write_logs_db(path, "legacy", extra_sql=cut)
    store = open_store(None)
    _import(store, path)
    assert {e.status for e in store.executions.list_executions(_sid(C1))} == {ToolExecutionStatus.PENDING}
    write_logs_db(path, "legacy")
    grown = _import(store, path)
    assert grown.updated == 3  # the two completed calls, and the session whose last message moved on
    assert grown.tables["usage_records"].imported == 2
    fresh = open_store(None)
    _import(fresh, path)
    assert _by_model(store) == _by_model(fresh) == LEGACY_CALLS
    assert store.sessions.list_sessions() == fresh.sessions.list_sessions()
    statuses = sorted(e.status.value for e in store.executions.list_executions(_sid(C1)))
    assert statuses == ["failed", "pending", "success"]


def test_a_row_that_does_not_decode_names_the_file_table_and_row(tmp_path: Path) -> None:
    """Bad token_details stop the import naming file, table and response id; --skip-bad leaves that call out."""
    path = write_logs_db(
        tmp_path / "logs.db", "legacy", extra_sql=f"UPDATE responses SET token_details = '{{oops' WHERE id = '{R2}';"
    )
    store = open_store(None)
    with pytest.raises(SourceError) as err:
        _import(store, path)
    assert err.value.location == str(path)
    assert err.value.key == R2
    assert "table responses" in str(err.value)
    assert _sid(C1) not in {s.id for s in store.sessions.list_sessions()}
    report = _import(store, path, skip_bad=True)
    assert report.bad == 1
    assert R2 in str(report)
    assert len(store.sessions.list_sessions()) == 3
    assert store.sql("SELECT count(*) FROM usage_records").fetchone() == (5,)


def test_a_part_payload_that_does_not_decode_names_the_part(tmp_path: Path) -> None:
    """A broken ``parts.payload`` stops the import naming the parts row; skipped, only that part is missing."""
    path = write_logs_db(
        tmp_path / "logs.db", "current", extra_sql="UPDATE parts SET payload = '{\"name\": ' WHERE id = 16;"
    )
    with sqlite3.connect(path) as con:
        assert con.execute("SELECT type, tool_name FROM parts WHERE id = 16").fetchone() == ("tool_result", "run")
    store = open_store(None)
    with pytest.raises(SourceError) as err:
        _import(store, path)
    assert (err.value.table, err.value.key) == ("parts", "16")
    report = _import(store, path, skip_bad=True)
    assert report.bad == 1
    runs = {e.call_id: e.status for e in store.executions.list_executions(_sid(C6))}
    assert runs == {"toolu_01": ToolExecutionStatus.SUCCESS, "toolu_02": ToolExecutionStatus.PENDING}


def test_sniff_open_source_and_the_cli_recognise_llm_logs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The file or its folder is llm's; behest's own SQLite and a Codex folder are not; the CLI and sync agree."""
    from behest_lab.cli import main
    from behest_lab.sources import open_source
    from behest_lab.sources.sqlite import SQLiteSource

    path = write_logs_db(tmp_path / "io.datasette.llm" / "logs.db", "current")
    assert LlmLogsSource.sniff(path)
    assert LlmLogsSource.sniff(path.parent)
    assert not LlmLogsSource.sniff(DATA / "sample.sqlite")
    assert not LlmLogsSource.sniff(write_rollout(tmp_path / "codex"))
    assert isinstance(open_source(str(path)), LlmLogsSource)
    behest = open_source(str(DATA / "sample.sqlite"))
    try:
        assert isinstance(behest, SQLiteSource)
    finally:
        behest.close()
    assert not CodexSource.sniff(path)

    assert main(["import", "llm", str(path), "--store", str(tmp_path / "a"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "(llm)" in out
    assert "parts/citation x1" in out
    assert main(["import", str(path.parent), "--store", str(tmp_path / "b"), "--no-progress"]) == 0
    assert main(["import", "codex", str(path), "--store", str(tmp_path / "c"), "--no-progress"]) == 1
    assert "(it looks like llm" in capsys.readouterr().err
    with open_store(tmp_path / "a") as a, open_store(tmp_path / "b") as b:
        assert _by_model(a) == _by_model(b) == CURRENT_CALLS


def test_sync_reads_a_logs_db_path_and_a_second_run_finds_nothing(tmp_path: Path) -> None:
    """``behest_lab.sync`` on the plain path picks the llm reader; a second run has nothing new or changed."""
    from behest_lab import sync
    from behest_lab.sources import open_source

    store = open_store(None)
    source = open_source(str(write_logs_db(tmp_path / "logs.db", "current")))
    try:
        first = sync(source, store)
        again = sync(source, store)
    finally:
        source.close()
    assert sum(first.new.values()) == 4 + 22 + 2 + 8
    assert sum(again.new.values()) == sum(again.updated.values()) == 0
    assert _by_model(store) == CURRENT_CALLS


def test_bundles_carry_provenance_for_every_record_and_fingerprints_are_stable(tmp_path: Path) -> None:
    """Each record of each bundle has one provenance entry; the reader is a sync source whose rows do not move."""
    from behest_lab.sources.base import Source

    source = LlmLogsSource(write_logs_db(tmp_path / "logs.db", "current"))
    assert isinstance(source, Source)
    assert source.count() == 4  # the progress bar's total: conversations, each counted once across both generations
    assert LlmLogsSource(write_logs_db(tmp_path / "old.db", "legacy")).count() == 3
    seen: list[SourceError] = []
    bundles = list(source.read(None, seen.append))
    assert seen == []
    records = {(t, r.id) for b in bundles for t, r in records_of(b)}
    assert {(p.table, p.record_id) for b in bundles for p in b.provenance} == records
    first = source.fingerprints()
    assert first.num_rows == len(records)
    assert source.fingerprints().equals(first)


def test_a_logs_db_llm_is_writing_imports_what_is_committed(tmp_path: Path) -> None:
    """While llm holds a write transaction the import reads the last committed state; the next import adds the rest."""
    path = write_logs_db(tmp_path / "logs.db", "legacy")
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute(
            "INSERT INTO responses (id, model, prompt, response, conversation_id, duration_ms, datetime_utc,"
            " input_tokens, output_tokens) VALUES ('01jx9z0000000000000000r9', 'gemini-2.5-flash', 'And three more?',"
            f" '7, 11, 13', '{C3}', 900, '2025-06-03T15:31:00+00:00', 20, 9)"
        )
        store = open_store(None)
        _import(store, path)
        assert len(store.sessions.list_messages(_sid(C3))) == 2
        writer.execute("COMMIT")
    finally:
        writer.close()
    later = _import(store, path)
    assert later.tables["messages"].imported == 2
    assert later.tables["usage_records"].imported == 1
    assert _by_model(store)["gemini-2.5-flash"] == (8 + 20, 0, 0, 64 + 9)
