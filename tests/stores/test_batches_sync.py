"""``Store.write_batch``'s ``replace``, ``delete``, ``provenance`` and ``fingerprints`` (what ``sync`` commits),
on every backend."""

from __future__ import annotations

from uuid import UUID

import pytest

from behest_lab import NotFoundError, Session, Store, TokenUsage, ToolExecutionStatus
from behest_lab.records import Provenance
from tests.stores._build import artifact, at, count, embedding, execution, message, usage


def _prov(record_id: UUID, table: str, location: str = "/db") -> Provenance:
    return Provenance(record_id=record_id, table=table, source="sqlite", location=location, ref=f"{table}:{record_id}")


def _seed(store: Store) -> tuple[Session, list[object]]:
    s = Session(title="old", model="m", created_at=at(0), updated_at=at(0))
    msgs = [message(s.id, f"m{i}", created_at=at(i)) for i in range(3)]
    ex = execution(s.id, msgs[0].id, created_at=at(1))
    us = usage(s.id, message_id=msgs[0].id, created_at=at(1))
    store.write_batch(
        sessions=[s],
        messages=msgs,
        executions=[ex],
        usages=[us],
        touch_sessions=False,
        provenance=[_prov(s.id, "sessions"), *(_prov(m.id, "messages") for m in msgs)],
        fingerprints=[1, 2, 3, 4],
    )
    return s, [*msgs, ex, us]


def test_provenance_rows_are_stored_with_fingerprints(store: Store) -> None:
    s, _ = _seed(store)
    rows = store.sql(
        'SELECT record_id, "table", source, location, ref, fingerprint FROM provenance ORDER BY fingerprint'
    ).fetchall()
    assert len(rows) == 4
    assert rows[0] == (s.id, "sessions", "sqlite", "/db", f"sessions:{s.id}", 1)


def test_a_provenance_row_replaces_the_one_of_the_same_record_and_location(store: Store) -> None:
    s, _ = _seed(store)
    store.write_batch(provenance=[_prov(s.id, "sessions"), _prov(s.id, "sessions", "/other")], fingerprints=[9, 7])
    rows = store.sql(
        'SELECT location, fingerprint FROM provenance WHERE "table" = ? ORDER BY location', ["sessions"]
    ).fetchall()
    assert rows == [("/db", 9), ("/other", 7)]


def test_replace_overwrites_records_in_place(store: Store) -> None:
    s, rows = _seed(store)
    m0, m1, m2, ex, _us = rows
    new_session = s._replace(title="new", updated_at=at(50))
    new_m1 = m1.with_usage(TokenUsage(input_tokens=1, output_tokens=2, total_tokens=3))  # type: ignore[attr-defined]
    done = ex._replace(status=ToolExecutionStatus.SUCCESS, result={"ok": True})  # type: ignore[attr-defined]
    store.write_batch(replace=[new_session, new_m1, done])
    got = store.sessions.get_session(s.id)
    assert got is not None
    assert got.title == "new"
    assert got.updated_at == at(50)
    listed = store.sessions.list_messages(s.id)
    assert [m.id for m in listed] == [m0.id, m1.id, m2.id]  # type: ignore[attr-defined]
    assert listed[1].usage == TokenUsage(input_tokens=1, output_tokens=2, total_tokens=3)
    assert store.executions.list_executions(s.id)[0].status is ToolExecutionStatus.SUCCESS
    assert count(store, "messages") == 3
    assert count(store, "tool_executions") == 1


def test_replace_adds_records_that_are_not_stored(store: Store) -> None:
    s, _ = _seed(store)
    extra = message(s.id, "late", created_at=at(9))
    store.write_batch(replace=[extra, embedding([1.0, 0.0], session_id=s.id), artifact(session_id=s.id)])
    assert [m.id for m in store.sessions.list_messages(s.id)][-1] == extra.id
    assert count(store, "embeddings") == 1
    assert count(store, "artifacts") == 1


def test_delete_a_session_cascades_and_drops_provenance(store: Store) -> None:
    s, _rows = _seed(store)
    store.write_batch(delete=[("sessions", s.id)])
    for table in ("sessions", "messages", "tool_executions", "usage_records", "provenance"):
        assert count(store, table) == 0, table


def test_delete_single_rows(store: Store) -> None:
    s, rows = _seed(store)
    m0 = rows[0]
    e = embedding([1.0], session_id=s.id)
    a = artifact(session_id=s.id)
    store.write_batch(embeddings=[e], artifacts=[a])
    store.write_batch(delete=[("messages", m0.id), ("embeddings", e.id), ("artifacts", a.id)])  # type: ignore[attr-defined]
    assert count(store, "messages") == 2
    assert count(store, "embeddings") == 0
    assert count(store, "artifacts") == 0
    assert count(store, "provenance", 'WHERE "table" = ?', ["messages"]) == 2


def test_a_refused_batch_changes_nothing(store: Store) -> None:
    s, _ = _seed(store)
    orphan = message(UUID(int=5), "x")
    with pytest.raises(NotFoundError):
        store.write_batch(
            replace=[s._replace(title="changed"), orphan], provenance=[_prov(s.id, "sessions")], fingerprints=[99]
        )
    got = store.sessions.get_session(s.id)
    assert got is not None
    assert got.title == "old"
    assert store.sql('SELECT fingerprint FROM provenance WHERE "table" = ?', ["sessions"]).fetchall() == [(1,)]


def test_bad_arguments_are_refused_before_anything_is_written(store: Store) -> None:
    s, _ = _seed(store)
    with pytest.raises(ValueError, match="fingerprints"):
        store.write_batch(provenance=[_prov(s.id, "sessions")], fingerprints=[1, 2])
    with pytest.raises(TypeError):
        store.write_batch(replace=["not a record"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="unknown table"):
        store.write_batch(delete=[("nope", s.id)])
