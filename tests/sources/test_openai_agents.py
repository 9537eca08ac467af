"""OpenAI Agents SDK session databases: items, branches, turn usage and cost, duplicates, re-import, growth."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest

from behest_lab import Store, analytics, open_store
from behest_lab.errors import SourceError
from behest_lab.pricing import Price, UnknownModelWarning
from behest_lab.records import MessageRole, ToolExecutionStatus
from behest_lab.sources.agentlogs import AgentLogReport, derived_id, detect_format, import_agent_logs, records_of
from behest_lab.sources.claude_code import ClaudeCodeSource
from behest_lab.sources.codex import CodexSource
from behest_lab.sources.openai_agents import OpenAIAgentsSource
from tests.sources._openai_agents_fixture import (
    ADVANCED,
    ADVANCED_ITEMS,
    BRANCH,
    CLAUDE_TURN,
    LITELLM,
    MODEL,
    PARIS_ERROR,
    RATES,
    TURNS,
    dump,
    write_advanced,
    write_databases,
    write_litellm,
    write_plain,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "agent_logs" / "openai_agents"


def _import(store: Store, path: Path, *, skip_bad: bool = False, model: str = MODEL) -> AgentLogReport:
    return import_agent_logs(OpenAIAgentsSource(path, model=model), store, progress=False, skip_bad=skip_bad)


def _sid(path: Path, session: str) -> UUID:
    return derived_id("openai-agents", str(path.resolve()), "session", session)


def _branch_sid(path: Path) -> UUID:
    return derived_id("openai-agents", str(path.resolve()), "branch", ADVANCED, BRANCH)


def _totals(store: Store) -> tuple[int, int, int, int]:
    row = store.sql(
        "SELECT sum(input_tokens), sum(cached_input_tokens), sum(output_tokens), sum(total_tokens) FROM usage_records"
    ).fetchone()
    assert row is not None
    return (int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def test_branches_are_linked_sessions_and_shared_items_count_once(tmp_path: Path) -> None:
    """main is the session, branch fr a session linked to it; the items both branches show are imported once."""
    db = write_advanced(tmp_path / "advanced.db")
    store = open_store(None)
    report = _import(store, db)
    sessions = {s.id: s for s in store.sessions.list_sessions()}
    main, branch = sessions[_sid(db, ADVANCED)], sessions[_branch_sid(db)]
    assert len(sessions) == 2
    assert main.title == "What's the weather in Tokyo and Paris?"
    assert main.model == MODEL
    assert main.metadata == {
        "source": "openai-agents",
        "session_id": ADVANCED,
        "file": str(db),
        "branches": ["main", BRANCH],
    }
    assert branch.metadata == {
        "source": "openai-agents",
        "session_id": ADVANCED,
        "file": str(db),
        "branch_id": BRANCH,
        "parent_session_id": str(main.id),
        "branched_from_turn": 3,
    }
    assert branch.title == "Résume en français, s'il te plaît."
    messages = store.sessions.list_messages(main.id)
    # rows 1-12 less the earlier copy of Tokyo's output; row 15 (deleted branch) is left out
    assert len(messages) == 11
    u, a, t = MessageRole.USER, MessageRole.ASSISTANT, MessageRole.TOOL
    assert [m.role for m in messages] == [u, a, a, a, t, t, a, u, a, u, a]
    assert [m.tool_call_id for m in messages[4:6]] == ["call_paris", "call_tokyo"]
    assert messages[1].content[0].model_dump()["value"] == {  # type: ignore[union-attr]
        "type": "reasoning",
        "summary": ["Two cities: call get_weather twice."],
    }
    assert messages[2].tool_calls[0].arguments == {"city": "Tokyo"}
    assert [m.text_content for m in store.sessions.list_messages(branch.id)] == [
        "Résume en français, s'il te plaît.",
        "Tokyo : 22 °C, ciel dégagé. Paris : inconnu.",
    ]
    # joining the SDK's structure with its items counts the copied turns once per branch
    with closing(sqlite3.connect(db)) as con:
        joined = con.execute(
            "SELECT count(*) FROM message_structure s JOIN agent_messages m ON m.id = s.message_id"
        ).fetchone()
    assert joined == (24,)
    assert store.sql("SELECT count(*) FROM messages").fetchone() == (13,)
    assert report.skipped_types == {"item without a branch (deleted branch)": 1}


def test_turn_usage_is_one_record_per_turn_and_cost_matches_a_hand_count(tmp_path: Path) -> None:
    """Each turn_usage row is one record of its branch's session; cache reads and writes stay inside input."""
    db = write_advanced(tmp_path / "advanced.db")
    store = open_store(None)
    _import(store, db)
    hand = (
        sum(t[3] for t in TURNS),
        sum(t[4] for t in TURNS),
        sum(t[6] for t in TURNS),
        sum(t[8] for t in TURNS),
    )
    assert _totals(store) == hand == (7150, 4096, 433, 7583)
    writes = store.sql("SELECT cache_creation_input_tokens FROM usage_records ORDER BY created_at").fetchall()
    assert writes == [(1024,), (None,), (0,), (128,)]  # None: a row from before the openai library counted writes
    per_session = dict(store.sql("SELECT session_id, sum(output_tokens) FROM usage_records GROUP BY 1").fetchall())
    assert {str(k): int(v) for k, v in per_session.items()} == {
        str(_sid(db, ADVANCED)): 310 + 40 + 35,
        str(_branch_sid(db)): 48,
    }
    # each record points at its turn's last assistant message (turn 2's is its pending call)
    answer = derived_id("openai-agents", str(db.resolve()), ADVANCED, "message", "8")
    first = store.sql("SELECT CAST(message_id AS VARCHAR) FROM usage_records WHERE output_tokens = 310").fetchone()
    assert first == (str(answer),)

    inp, cached, out, write = RATES
    price = Price(MODEL, input=inp, output=out, cache_read=cached, cache_write=write, provider="openai")
    cost = analytics.costs(store, by="model", prices=[price], exact=True)
    expected = sum(
        (Decimal(i - c - (w or 0)) * inp + Decimal(c) * cached + Decimal(w or 0) * write + Decimal(o) * out)
        / Decimal(1_000_000)
        for _, _, _, i, c, w, o, _, _ in TURNS
    )
    assert cost["cost"].to_list() == [expected]
    assert cost["cache_read_tokens"].to_list() == [4096]
    assert cost["cache_write_tokens"].to_list() == [1024 + 128]
    assert cost["uncached_input_tokens"].to_list() == [7150 - 4096 - 1024 - 128]


def test_a_litellm_claude_run_names_its_model_and_its_cache_counts_are_not_counted_twice(tmp_path: Path) -> None:
    """``provider_data.model`` names provider and model; the SDK's inclusive input is split as Claude's is read."""
    db = write_litellm(tmp_path / "litellm.db")
    store = open_store(None)
    _import(store, db, model="")
    [session] = store.sessions.list_sessions()
    assert session.model == "claude-sonnet-4-5"
    assert session.metadata["session_id"] == LITELLM
    row = store.sql(
        "SELECT provider, model, input_tokens, cache_read_input_tokens, cache_creation_input_tokens,"
        " cached_input_tokens, output_tokens, total_tokens FROM usage_records"
    ).fetchall()
    requests, inp, cached, written, out, total = CLAUDE_TURN
    assert row == [("anthropic", "claude-sonnet-4-5", inp - cached - written, cached, written, None, out, total)]
    rates = {"input": Decimal(3), "output": Decimal(15), "cache_read": Decimal("0.3"), "cache_write": Decimal("3.75")}
    price = Price("claude-sonnet-4-5", provider="anthropic", **rates)
    cost = analytics.costs(store, by="model", prices=[price], exact=True)
    assert cost["prompt_tokens"].to_list() == [inp]  # every prompt token the SDK counted, once
    expected = (
        Decimal(inp - cached - written) * rates["input"]
        + Decimal(cached) * rates["cache_read"]
        + Decimal(written) * rates["cache_write"]
        + Decimal(out) * rates["output"]
    ) / Decimal(1_000_000)
    assert cost["cost"].to_list() == [expected]
    [run] = store.executions.list_executions(session.id)
    assert (run.call_id, run.tool_name, run.status) == ("toolu_01", "read_file", ToolExecutionStatus.SUCCESS)
    assert requests == 2


def test_without_a_model_the_usage_is_unpriced(tmp_path: Path) -> None:
    """The databases do not name the model: without ``model=`` the records have none and no price applies."""
    store = open_store(None)
    _import(store, write_advanced(tmp_path / "advanced.db"), model="")
    assert store.sql("SELECT DISTINCT model, provider FROM usage_records").fetchall() == [("", "openai")]
    price = Price(MODEL, input=Decimal(2), output=Decimal(8), provider="openai")
    with pytest.warns(UnknownModelWarning):
        cost = analytics.costs(store, by="model", prices=[price])
    assert cost["unpriced_requests"].to_list() == [4]


def test_calls_pair_with_outputs_by_call_id_with_failures_pending_calls_and_duplicates(tmp_path: Path) -> None:
    """The SDK's failure text is failed, a call without output pending, a re-saved output counted once (latest)."""
    db = write_advanced(tmp_path / "advanced.db")
    store = open_store(None)
    report = _import(store, db)
    runs = {e.call_id: e for e in store.executions.list_executions(_sid(db, ADVANCED))}
    assert set(runs) == {"call_tokyo", "call_paris", "call_forecast"}
    assert runs["call_tokyo"].status is ToolExecutionStatus.SUCCESS
    assert runs["call_tokyo"].result == "Tokyo: 22°C, clear"
    assert runs["call_tokyo"].arguments == {"city": "Tokyo"}
    # the time between the call's row and the output's row (the latest copy, saved three seconds after the call)
    assert runs["call_tokyo"].duration == timedelta(seconds=3)
    assert runs["call_paris"].status is ToolExecutionStatus.FAILED
    assert runs["call_paris"].error == PARIS_ERROR
    assert runs["call_forecast"].status is ToolExecutionStatus.PENDING
    outputs = [m for m in store.sessions.list_messages(_sid(db, ADVANCED)) if m.tool_call_id == "call_tokyo"]
    assert len(outputs) == 1
    assert outputs[0].tool_name == "get_weather"
    assert report.tables["messages"].read == 13


def test_placeholder_ids_of_chat_completions_models_are_not_duplicates(tmp_path: Path) -> None:
    """Items that all carry ``__fake_id__`` are distinct items: both calls and both answers are kept."""
    db = write_plain(tmp_path / "plain.db")
    store = open_store(None)
    report = _import(store, db)
    sid = _sid(db, "user_123")
    assert len(store.sessions.list_messages(sid)) == 8
    runs = {e.call_id: e for e in store.executions.list_executions(sid)}
    assert {k: (v.status, v.result) for k, v in runs.items()} == {
        "call_eur": (ToolExecutionStatus.SUCCESS, "18.40 EUR"),
        "call_gbp": (ToolExecutionStatus.SUCCESS, "15.80 GBP"),
    }
    assert store.sql("SELECT count(*) FROM usage_records").fetchone() == (0,)  # plain SQLiteSession: no usage
    assert report.skipped_types == {"item/item_reference": 1}


def test_encrypted_session_envelopes_are_counted_not_read(tmp_path: Path) -> None:
    """``EncryptedSession`` stores envelopes: each is skipped and counted, the readable items still imported."""
    db = write_plain(tmp_path / "plain.db")
    envelope = {"__enc__": 1, "v": 1, "kid": "hkdf-2025-10", "payload": "Z0FBQUFBQm5YMmMw"}
    with closing(sqlite3.connect(db)) as con:
        con.execute(
            "INSERT INTO agent_messages (session_id, message_data, created_at) VALUES ('user_123', ?, ?)",
            [json.dumps(envelope), "2025-10-07 08:02:00"],
        )
        con.commit()
    store = open_store(None)
    report = _import(store, db)
    assert report.skipped_types["item/encrypted (EncryptedSession)"] == 1
    assert len(store.sessions.list_messages(_sid(db, "user_123"))) == 8


def test_compaction_item_hosted_call_and_a_rewritten_history(tmp_path: Path) -> None:
    """A compaction item is a compaction pair; a hosted web search is a call whose item holds its outcome."""
    db = write_plain(tmp_path / "plain.db")
    store = open_store(None)
    _import(store, db)
    sid = _sid(db, "nightly-report")
    messages = store.sessions.list_messages(sid)
    assert [(m.role, m.is_compaction, m.is_summary) for m in messages[:3]] == [
        (MessageRole.USER, False, False),
        (MessageRole.USER, True, False),
        (MessageRole.ASSISTANT, False, True),
    ]
    assert messages[0].text_content == "Compile the nightly error report."
    assert analytics.compactions(store).height == 1
    [search] = store.executions.list_executions(sid)
    assert (search.tool_name, search.call_id, search.status) == (
        "web_search_call",
        "ws_01",
        ToolExecutionStatus.SUCCESS,
    )
    assert search.arguments == {"type": "search", "query": "payments-api incident 2025-10-06"}
    [session] = [s for s in store.sessions.list_sessions() if s.id == sid]
    assert session.title == "Compile the nightly error report."
    assert session.created_at.isoformat() == "2025-10-07T02:00:00+00:00"


def test_reimport_adds_nothing_and_a_grown_database_completes_what_was_pending(tmp_path: Path) -> None:
    """New rows are added, the completed call and the re-stored turn usage replaced by id (lake store)."""
    root = write_databases(tmp_path / "agents")
    db = root / "advanced.db"
    store = open_store(tmp_path / "lake")
    try:
        first = _import(store, root)
        assert first.tables["sessions"].imported == 5
        again = _import(store, root)
        assert again.imported == 0
        assert again.updated == 0
        assert again.duplicates == first.imported
        with closing(sqlite3.connect(db)) as con:
            output = {
                "call_id": "call_forecast",
                "output": "Paris tomorrow: 14°C, rain",
                "type": "function_call_output",
            }
            con.execute(
                "INSERT INTO agent_messages (id, session_id, message_data, created_at) VALUES (16, ?, ?, ?)",
                [ADVANCED, json.dumps(output), "2025-10-06 09:05:06"],
            )
            con.execute(
                "INSERT INTO message_structure (session_id, message_id, branch_id, message_type, sequence_number,"
                " user_turn_number, branch_turn_number) VALUES (?, 16, 'main', 'function_call_output', 25, 2, 2)",
                [ADVANCED],
            )
            con.execute(  # store_run_usage for the resumed turn 2: INSERT OR REPLACE with the grown counters
                "INSERT OR REPLACE INTO turn_usage (session_id, branch_id, user_turn_number, requests, input_tokens,"
                " output_tokens, total_tokens, input_tokens_details) VALUES (?, 'main', 2, 2, 3100, 90, 3190, ?)",
                [ADVANCED, json.dumps({"cached_tokens": 1536})],
            )
            con.commit()
        grown = _import(store, root)
        assert grown.tables["messages"].imported == 1
        assert grown.updated == 2
        runs = {e.call_id: e for e in store.executions.list_executions(_sid(db, ADVANCED))}
        assert runs["call_forecast"].status is ToolExecutionStatus.SUCCESS
        assert runs["call_forecast"].duration == timedelta(seconds=3)
        _, inp, cached, written, out, total = CLAUDE_TURN  # litellm.db's turn, unchanged
        assert _totals(store) == (
            7150 - 1500 + 3100 + (inp - cached - written),
            4096 + 1536,
            433 - 40 + 90 + out,
            7583 - 1540 + 3190 + total,
        )
        assert _import(store, root).imported == 0
    finally:
        store.close()


def test_an_item_that_is_not_json_names_file_table_and_row(tmp_path: Path) -> None:
    """A broken item stops the import naming file, table and row id; --skip-bad imports the rest and lists it."""
    db = write_advanced(tmp_path / "advanced.db")
    with closing(sqlite3.connect(db)) as con:
        con.execute('UPDATE agent_messages SET message_data = \'{"role": "user", "content": \' WHERE id = 11')
        con.commit()
    store = open_store(None)
    with pytest.raises(SourceError) as err:
        _import(store, db)
    assert err.value.row == 11
    assert str(db) in str(err.value)
    assert "agent_messages" in str(err.value)
    assert store.sessions.list_sessions() == []
    report = _import(store, db, skip_bad=True)
    assert report.bad == 1
    assert "agent_messages" in str(report)
    assert len(store.sessions.list_messages(_sid(db, ADVANCED))) == 10


def test_every_record_names_its_database_table_and_row(tmp_path: Path) -> None:
    """Provenance: the format, the path given, ``<file>:<table>:<row id>``; fingerprints are stable."""
    root = write_databases(tmp_path / "agents")
    source = OpenAIAgentsSource(root, model=MODEL)
    bundles = list(source.read(None, lambda e: None))
    records = {(t, r.id) for b in bundles for t, r in records_of(b)}
    prov = {(p.table, p.record_id): p for b in bundles for p in b.provenance}
    assert set(prov) == records
    assert {(p.source, p.location) for p in prov.values()} == {("openai-agents", str(root))}
    db = root / "advanced.db"
    paris = next(p for p in prov.values() if p.table == "tool_executions" and p.ref == f"{db}:agent_messages:6")
    assert paris.record_id == derived_id("openai-agents", str(db.resolve()), ADVANCED, "tool", "4")
    usage_refs = sorted(p.ref for p in prov.values() if p.table == "usage_records")
    assert usage_refs == [f"{db}:turn_usage:{i}" for i in range(1, 5)] + [f"{root / 'litellm.db'}:turn_usage:1"]
    first = source.fingerprints()
    assert first.num_rows == len(records)
    assert source.fingerprints().equals(first)


def test_tables_with_other_names_are_found_by_their_columns(tmp_path: Path) -> None:
    """``SQLiteSession(..., sessions_table=..., messages_table=...)``: the reader finds the renamed tables."""
    db = tmp_path / "chat.sqlite"
    with closing(sqlite3.connect(db)) as con:
        con.execute(
            "CREATE TABLE chat_sessions (session_id TEXT PRIMARY KEY, created_at TIMESTAMP, updated_at TIMESTAMP)"
        )
        con.execute(
            "CREATE TABLE chat_items (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, message_data TEXT"
            " NOT NULL, created_at TIMESTAMP, FOREIGN KEY (session_id) REFERENCES chat_sessions (session_id))"
        )
        con.execute("INSERT INTO chat_sessions VALUES ('s1', '2025-10-08 10:00:00', '2025-10-08 10:00:02')")
        con.executemany(
            "INSERT INTO chat_items (session_id, message_data, created_at) VALUES ('s1', ?, ?)",
            [(json.dumps(x), "2025-10-08 10:00:0" + str(i)) for i, x in enumerate(i for _, _, i in ADVANCED_ITEMS[:1])],
        )
        con.commit()
    store = open_store(None)
    _import(store, db)
    [session] = store.sessions.list_sessions()
    assert session.title == "What's the weather in Tokyo and Paris?"
    assert session.updated_at.isoformat() == "2025-10-08T10:00:02+00:00"


def test_sniff_detect_format_and_open_source_recognise_the_databases(tmp_path: Path) -> None:
    """The reader knows its databases; behest's own SQLite and other logs are not taken for them."""
    from behest_lab.sources import open_source

    root = write_databases(tmp_path / "agents")
    assert OpenAIAgentsSource.sniff(root)
    assert OpenAIAgentsSource.sniff(root / "plain.db")
    assert not ClaudeCodeSource.sniff(root)
    assert not CodexSource.sniff(root)
    assert detect_format(root / "advanced.db") == "openai-agents"
    assert isinstance(open_source(str(root / "advanced.db")), OpenAIAgentsSource)
    behest_db = Path(__file__).resolve().parents[2] / "data" / "sample.sqlite"
    assert not OpenAIAgentsSource.sniff(behest_db)
    assert detect_format(behest_db) is None
    assert type(open_source(str(behest_db))).__name__ == "SQLiteSource"


def test_cli_import_by_name_and_by_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``import openai-agents PATH`` and ``import PATH`` both land the databases; a wrong format is named."""
    from behest_lab.cli import main

    root = write_databases(tmp_path / "agents")
    store = str(tmp_path / "store")
    assert main(["import", "openai-agents", str(root), "--store", store, "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "(openai-agents)" in out
    assert main(["import", str(root / "plain.db"), "--store", store, "--no-progress"]) == 0
    assert "(openai-agents)" in capsys.readouterr().out
    with open_store(tmp_path / "store") as s:
        assert s.sql("SELECT count(*) FROM sessions").fetchone() == (5,)
        assert s.sql("SELECT count(*) FROM messages").fetchone() == (13 + 4 + 6 + 8,)
        assert s.sql("SELECT count(*) FROM tool_executions").fetchone() == (3 + 1 + 1 + 2,)
    assert main(["import", "codex", str(root), "--store", store, "--no-progress"]) == 1
    assert "openai-agents" in capsys.readouterr().err


def test_the_committed_databases_are_the_fixtures(tmp_path: Path) -> None:
    """``data/agent_logs/openai_agents`` holds what the fixture writes (compared as SQL, not bytes)."""
    write_databases(tmp_path)
    for name in ("advanced.db", "litellm.db", "plain.db"):
        assert dump(DATA / name) == dump(tmp_path / name)
    # reading the databases (in WAL mode, as the SDK keeps them) leaves nothing beside them
    import_agent_logs(OpenAIAgentsSource(DATA), open_store(None), progress=False)
    assert sorted(p.name for p in DATA.iterdir()) == ["README.md", "advanced.db", "litellm.db", "plain.db"]


def test_sync_finds_nothing_new_the_second_time_and_mirrors_the_rows_the_sdk_deleted(tmp_path: Path) -> None:
    """``behest_lab.sync`` on the folder picks this reader; with ``mirror_deletes`` a popped item leaves the store."""
    from behest_lab import sync
    from behest_lab.sources import open_source

    root = write_databases(tmp_path / "agents")
    store = open_store(None)
    source = open_source(str(root))
    try:
        assert isinstance(source, OpenAIAgentsSource)
        first = sync(source, store)
        again = sync(source, store)
        with closing(sqlite3.connect(root / "plain.db")) as con:  # what SQLiteSession.pop_item does
            con.execute("DELETE FROM agent_messages WHERE id = 17")
            con.commit()
        popped = sync(source, store, mirror_deletes=True)
    finally:
        source.close()
    assert sum(first.new.values()) == 5 + 31 + 7 + 5
    assert sum(again.new.values()) == sum(again.updated.values()) == 0
    assert {k: v for k, v in popped.deleted.items() if v} == {"messages": 1}
    assert len(store.sessions.list_messages(_sid(root / "plain.db", "user_123"))) == 7
