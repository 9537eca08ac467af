"""Odd values on every backend: a refused value changes nothing and leaves the store usable; NUL is stored.

NUL (U+0000) is an ordinary character: behest's text holds it and its JSON writes it as ``\\u0000``; DuckDB keeps it
in every column. Every store keeps it unchanged in every text field, single and bulk writes alike.
"""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from behest_lab import Session, Store, open_store
from behest_lab.interchange import export_behest_sqlite, export_jsonl, import_behest_sqlite, import_jsonl
from behest_lab.records import ImageUrlPart, JsonPart, MessageRecord, MessageRole, TextPart, TokenUsage, ToolCall
from tests.stores._build import artifact, at, embedding, execution, message, session, usage


@pytest.mark.parametrize("metadata", [{"x": math.nan}, {"k\ud800": 1}], ids=["nan", "surrogate-key"])
def test_a_refused_update_changes_nothing_and_the_next_write_works(store: Store, metadata: object) -> None:
    s = session(store, metadata={"kept": True})
    with pytest.raises(ValidationError, match="metadata"):
        store.sessions.update_session(s.id, "new title", metadata=metadata)
    assert store.sessions.get_session(s.id) == s
    updated = store.sessions.update_session(s.id, "next")
    assert store.sessions.get_session(s.id) == updated
    m = store.sessions.append_message(message(s.id, "after"))
    assert store.sessions.list_messages(s.id) == [m]


# --- NUL: an ordinary character, stored and read back unchanged (behest's JSON writes it as \u0000) -------------

NUL = "a\x00b"


def test_nul_in_a_single_message_is_stored_unchanged(store: Store) -> None:
    s = session(store)
    m = store.sessions.append_message(message(s.id, NUL))
    assert store.sessions.list_messages(s.id) == [m]
    assert store.sessions.list_messages(s.id)[0].text_content == NUL
    row = store.sql("SELECT text FROM messages WHERE id = ?", [str(m.id)]).fetchone()
    assert row == (NUL,)
    # a message rewritten in place keeps it too
    with_usage = store.sessions.update_usage(m.id, TokenUsage.new(3, 4))
    assert with_usage.text_content == NUL
    assert store.sessions.list_messages(s.id) == [with_usage]
    marked = store.sessions.mark_compacted(m.id)
    assert store.sessions.list_messages(s.id) == [marked]


@pytest.mark.parametrize("rows", [3, 1001], ids=["inlined-size", "file-size"])
def test_nul_in_every_text_field_of_a_bulk_write_is_stored_unchanged(store: Store, rows: int) -> None:
    s = session(store, title=NUL, model=NUL, metadata={NUL: [NUL]})
    assert store.sessions.get_session(s.id) == s
    call = ToolCall(id=NUL, name=NUL, arguments={NUL: NUL})
    made = [
        MessageRecord(
            session_id=s.id,
            role=MessageRole.ASSISTANT,
            content=[TextPart(text=f"{i}{NUL}"), JsonPart(value={NUL: NUL}), ImageUrlPart(url=NUL, mime_type=NUL)],
            tool_calls=[call],
            created_at=at(i),
        )
        for i in range(rows)
    ]
    store.sessions.append_messages(made)
    assert store.sessions.list_messages(s.id) == made


def test_nul_in_executions_usage_embeddings_and_artifacts_is_stored_unchanged(store: Store) -> None:
    s = session(store)
    e = execution(s.id, call_id=NUL, tool_name=NUL, arguments={NUL: NUL})
    store.executions.record_execution(e)
    done = e.with_failure(NUL, timedelta(milliseconds=5))
    store.executions.record_execution(done)
    assert store.executions.list_executions(s.id) == [done]
    u = usage(s.id, provider=NUL, model=NUL)
    store.executions.record_usage(u)
    assert store.executions.list_usage(s.id) == [u]
    emb = embedding([1.0, 0.0], model=NUL, metadata={"text": NUL})
    store.embeddings.upsert(emb)
    assert store.embeddings.get(emb.id) == emb
    art = artifact(name=NUL, content_type=NUL, metadata={NUL: 1})
    store.artifacts.put(art)
    assert store.artifacts.get(art.id) == art


def test_an_import_batch_holding_nul_lands_whole_and_exports_back(store: Store, tmp_path: Path) -> None:
    source = open_store(None)
    sessions = [source.sessions.create_session(Session(title=f"s{i}", model="m")) for i in range(50)]
    for i, s in enumerate(sessions):
        source.sessions.append_message(message(s.id, NUL if i == 25 else "plain"))
    export_jsonl(source, tmp_path / "in.jsonl")
    report = import_jsonl(store, tmp_path / "in.jsonl")
    assert (report.tables["messages"].imported, report.bad) == (50, 0)
    assert store.sessions.list_messages(sessions[25].id)[0].text_content == NUL
    export_jsonl(store, tmp_path / "out.jsonl")
    assert (tmp_path / "out.jsonl").read_bytes() == (tmp_path / "in.jsonl").read_bytes()
    export_behest_sqlite(store, tmp_path / "out.db")
    again = open_store(None)
    assert import_behest_sqlite(again, tmp_path / "out.db").bad == 0
    assert again.sessions.list_messages(sessions[25].id)[0].text_content == NUL
