"""``Store.delete_session`` cascades to every record of the session, and only that session."""

from __future__ import annotations

from typing import Any

from behest_lab import Session, Store, uuid7
from tests.stores._build import artifact, count, embedding, execution, message, session, usage

TABLES = ("sessions", "messages", "tool_executions", "usage_records", "embeddings", "artifacts")


#: Rows one ``_populate`` call adds to each table.
PER_SESSION = {
    "sessions": 1,
    "messages": 2,
    "tool_executions": 1,
    "usage_records": 1,
    "embeddings": 1,
    "artifacts": 1,
}


def _populate(store: Store) -> tuple[dict[str, list[Any]], Session]:
    s = session(store)
    m = store.sessions.append_message(message(s.id))
    records: dict[str, list[Any]] = {
        "messages": [m, store.sessions.append_message(message(s.id, "second"))],
        "executions": [store.executions.record_execution(execution(s.id, m.id))],
        "usage": [store.executions.record_usage(usage(s.id, message_id=m.id))],
        "embeddings": [store.embeddings.upsert(embedding([1.0, 0.0], session_id=s.id))],
        "artifacts": [store.artifacts.put(artifact(session_id=s.id))],
    }
    return records, s


def test_delete_session_cascades_to_everything(store: Store) -> None:
    _, s = _populate(store)
    kept, other = _populate(store)
    loose_embedding = store.embeddings.upsert(embedding([0.0, 1.0]))
    loose_artifact = store.artifacts.put(artifact())
    before = {t: count(store, t) for t in TABLES}

    store.delete_session(s.id)

    sid = s.id
    assert store.sessions.get_session(sid) is None
    assert store.sessions.list_messages(sid) == []
    assert store.executions.list_executions(sid) == []
    assert store.executions.list_usage(sid) == []
    assert store.artifacts.list_by_session(sid) == []
    assert store.embeddings.search([1.0, 0.0], 10, session_id=sid) == []
    assert {t: count(store, t) for t in TABLES} == {t: n - PER_SESSION[t] for t, n in before.items()}

    oid = other.id
    assert store.sessions.list_messages(oid) == kept["messages"]
    assert store.executions.list_executions(oid) == kept["executions"]
    assert store.executions.list_usage(oid) == kept["usage"]
    assert store.artifacts.list_by_session(oid) == kept["artifacts"]
    assert [h.record for h in store.embeddings.search([1.0, 0.0], 10, session_id=oid)] == kept["embeddings"]
    assert store.embeddings.get(loose_embedding.id) == loose_embedding
    assert store.artifacts.get(loose_artifact.id) == loose_artifact


def test_delete_session_is_idempotent(store: Store) -> None:
    _, s = _populate(store)
    sid = s.id
    store.delete_session(sid)
    store.delete_session(sid)
    store.delete_session(uuid7())
    assert all(count(store, t) == 0 for t in TABLES)


def test_session_store_delete_removes_messages_executions_and_usage(store: Store) -> None:
    records, s = _populate(store)
    sid = s.id
    store.sessions.delete_session(sid)
    assert store.sessions.list_messages(sid) == []
    assert store.executions.list_executions(sid) == []
    assert store.executions.list_usage(sid) == []
    assert (count(store, "messages"), count(store, "tool_executions"), count(store, "usage_records")) == (0, 0, 0)
    assert store.sessions.get_latest_compaction(sid) is None
    m = records["messages"][0]
    assert store.executions.list_executions_by_message(m.id) == []


def test_recreated_session_starts_empty(store: Store) -> None:
    _, s = _populate(store)
    sid = s.id
    store.delete_session(sid)
    again = session(store, id=sid)
    assert store.sessions.get_session(sid) == again
    assert store.sessions.list_messages(sid) == []
    assert store.executions.session_stats(sid).message_count == 0
