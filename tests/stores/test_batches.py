"""``Store.write_batch`` conformance: records of every table in one all-or-nothing step, on every backend.

The lake-only tests at the end count snapshots: one batch is one DuckLake commit (the crash test with real
processes is ``tests/interchange/test_import_kill.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from behest_lab import AlreadyExistsError, NotFoundError, Session, Store, open_store, uuid7
from tests.lake.template import lake_store
from tests.stores._build import T0, artifact, at, count, embedding, execution, message, session, usage

TABLES = ("sessions", "messages", "tool_executions", "usage_records", "embeddings", "artifacts")


def _counts(store: Store) -> dict[str, int]:
    return {t: count(store, t) for t in TABLES}


def _batch(sessions: int = 2, per_session: int = 3) -> dict[str, Any]:
    """New sessions with messages, executions, usage records, embeddings and artifacts of each."""
    new = [Session(title=f"s{i}", model="m", created_at=at(i), updated_at=at(i)) for i in range(sessions)]
    messages = [message(s.id, f"m{j}", created_at=at(j)) for s in new for j in range(per_session)]
    return {
        "sessions": new,
        "messages": messages,
        "executions": [execution(m.session_id, m.id) for m in messages],
        "usages": [usage(m.session_id, message_id=m.id) for m in messages],
        "embeddings": [embedding([1.0, float(i)], session_id=m.session_id) for i, m in enumerate(messages)],
        "artifacts": [artifact(session_id=s.id) for s in new],
    }


def test_write_batch_writes_every_table(store: Store) -> None:
    batch = _batch()
    store.write_batch(**batch, touch_sessions=False)
    assert _counts(store) == {
        "sessions": 2,
        "messages": 6,
        "tool_executions": 6,
        "usage_records": 6,
        "embeddings": 6,
        "artifacts": 2,
    }
    for s in batch["sessions"]:
        assert store.sessions.get_session(s.id) == s
        assert store.sessions.list_messages(s.id) == [m for m in batch["messages"] if m.session_id == s.id]
        assert store.executions.list_executions(s.id) == [e for e in batch["executions"] if e.session_id == s.id]
        assert store.executions.list_usage(s.id) == [u for u in batch["usages"] if u.session_id == s.id]
        assert store.artifacts.list_by_session(s.id) == [a for a in batch["artifacts"] if a.session_id == s.id]
    first = batch["embeddings"][0]
    assert store.embeddings.get(first.id) == first


def test_records_may_belong_to_stored_sessions_and_to_sessions_of_the_batch(store: Store) -> None:
    old = session(store)
    new = Session(title="new", model="m", created_at=T0, updated_at=T0)
    store.write_batch(
        sessions=[new],
        messages=[message(old.id, "to old"), message(new.id, "to new")],
        executions=[execution(old.id), execution(new.id)],
        usages=[usage(old.id), usage(new.id)],
    )
    for sid in (old.id, new.id):
        assert len(store.sessions.list_messages(sid)) == 1
        assert len(store.executions.list_executions(sid)) == 1
        assert len(store.executions.list_usage(sid)) == 1


def test_an_empty_batch_writes_nothing(store: Store) -> None:
    store.write_batch()
    store.write_batch(sessions=[], messages=[])
    assert set(_counts(store).values()) == {0}


def _refused_batch_leaves_nothing(store: Store, error: type[Exception], batch: dict[str, Any], **changes: Any) -> None:
    before = _counts(store)
    stored = {s.id for s in store.sessions.list_sessions()}
    batch = {**batch, **changes}
    with pytest.raises(error):
        store.write_batch(**batch)
    assert _counts(store) == before
    assert {s.id for s in store.sessions.list_sessions()} == stored


def test_a_stored_session_id_refuses_the_whole_batch(store: Store) -> None:
    taken = session(store)
    batch = _batch()
    _refused_batch_leaves_nothing(store, AlreadyExistsError, batch, sessions=[*batch["sessions"], taken])


def test_a_stored_message_id_refuses_the_whole_batch(store: Store) -> None:
    s = session(store)
    stored = store.sessions.append_message(message(s.id))
    batch = _batch()
    _refused_batch_leaves_nothing(store, AlreadyExistsError, batch, messages=[*batch["messages"], stored])


def test_an_unknown_session_in_the_last_table_refuses_the_whole_batch(store: Store) -> None:
    # usage records are written after sessions, messages and executions: those must not stay behind
    batch = _batch()
    _refused_batch_leaves_nothing(store, NotFoundError, batch, usages=[*batch["usages"], usage(uuid7())])


def test_an_unknown_session_of_an_execution_refuses_the_whole_batch(store: Store) -> None:
    batch = _batch()
    _refused_batch_leaves_nothing(store, NotFoundError, batch, executions=[*batch["executions"], execution(uuid7())])


def test_an_id_twice_in_a_list_refuses_the_whole_batch(store: Store) -> None:
    batch = _batch()
    _refused_batch_leaves_nothing(store, AlreadyExistsError, batch, messages=[*batch["messages"], batch["messages"][0]])


def test_a_record_of_the_wrong_type_refuses_the_whole_batch(store: Store) -> None:
    batch = _batch()
    _refused_batch_leaves_nothing(store, TypeError, batch, usages=[*batch["usages"], batch["executions"][0]])


def test_the_store_keeps_working_after_a_refused_batch(store: Store) -> None:
    batch = _batch()
    with pytest.raises(NotFoundError):
        store.write_batch(**{**batch, "usages": [usage(uuid7())]})
    s = session(store)
    store.sessions.append_message(message(s.id))
    store.write_batch(**batch)
    assert count(store, "sessions") == 3
    assert count(store, "messages") == 7


def test_touch_sessions(store: Store) -> None:
    kept = session(store)
    touched = session(store)
    store.write_batch(messages=[message(kept.id)], touch_sessions=False)
    store.write_batch(messages=[message(touched.id)])
    got_kept, got_touched = store.sessions.get_session(kept.id), store.sessions.get_session(touched.id)
    assert got_kept is not None
    assert got_kept.updated_at == T0
    assert got_touched is not None
    assert got_touched.updated_at > T0


def test_upserts_in_a_batch_replace_by_id(store: Store) -> None:
    s = session(store)
    e = store.executions.record_execution(execution(s.id))
    store.write_batch(executions=[e.model_copy(update={"tool_name": "fetch"})])
    assert [x.tool_name for x in store.executions.list_executions(s.id)] == ["fetch"]


# --- the lake: one batch, one commit -----------------------------------------------------------------------------


def test_a_lake_batch_is_one_snapshot(tmp_path: Path) -> None:
    with lake_store(tmp_path / "lake") as store:
        first = store.snapshot_id
        store.write_batch(**_batch())
        assert store.snapshot_id == first + 1
        assert store.snapshots()[-1].message.startswith("write_batch 2 sessions, 6 messages, 6 executions")


def test_a_refused_lake_batch_makes_no_snapshot_and_later_writes_commit(tmp_path: Path) -> None:
    with lake_store(tmp_path / "lake") as store:
        first = store.snapshot_id
        with pytest.raises(NotFoundError):
            store.write_batch(**{**_batch(), "usages": [usage(uuid7())]})
        assert store.snapshot_id == first
        # the failed batch's steps no longer join a transaction: this write commits on its own
        s = session(store)
        assert store.snapshot_id == first + 1
        with open_store(tmp_path / "lake") as other:
            assert other.sessions.get_session(s.id) == s
            assert count(other, "messages") == 0
