"""The same random operations on the memory store and on the lake give equal results."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from behest_lab import MemoryStore, Session, Store, uuid7
from behest_lab.records import Pagination, SessionFilter
from tests.lake.template import lake_store
from tests.stores._build import at, embedding, execution, message, usage

N_SESSIONS = 3
N_IDS = 4

_session = st.integers(0, N_SESSIONS)  # N_SESSIONS itself names a session that is never created
_when = st.integers(0, 3).map(float)  # few distinct times: plenty of created_at ties
_op = st.one_of(
    st.tuples(st.just("create"), _session, _when),
    st.tuples(st.just("append"), _session, _when, st.integers(0, 99)),
    st.tuples(st.just("append_many"), _session, st.lists(_when, min_size=1, max_size=4), st.booleans()),
    st.tuples(st.just("execution"), _session, st.integers(0, N_IDS - 1), _when),
    st.tuples(st.just("usage"), _session, st.integers(0, N_IDS - 1), _when),
    st.tuples(
        st.just("embed"),
        st.integers(0, N_IDS - 1),
        _session,
        st.sampled_from([[1.0, 0.0], [0.5, 0.5], [0.0, 2.0], [1.0]]),
    ),
    st.tuples(st.just("delete"), _session),
    st.tuples(st.just("rename"), _session, st.text(max_size=5)),
    st.tuples(st.just("compacted"), _session),
)


def _build(op: tuple[Any, ...], ids: dict[str, list[UUID]]) -> Any:
    """The records an operation writes, built once so both stores get identical ones (same ids)."""
    kind, *args = op
    if kind == "embed":
        return embedding(args[2], id=ids["embeddings"][args[0]], session_id=ids["sessions"][args[1]])
    sid = ids["sessions"][args[0]]
    if kind == "create":
        return Session(id=sid, title="t", model="m", created_at=at(args[1]), updated_at=at(args[1]))
    if kind == "append":
        return message(sid, f"m{args[2]}", created_at=at(args[1]))
    if kind == "append_many":
        return [message(sid, f"b{i}", created_at=at(t)) for i, t in enumerate(args[1])]
    if kind == "execution":
        return execution(sid, id=ids["executions"][args[1]], created_at=at(args[2]))
    if kind == "usage":
        return usage(sid, id=ids["usage"][args[1]], created_at=at(args[2]))
    return sid


def _apply(store: Store, op: tuple[Any, ...], record: Any) -> Any:
    kind = op[0]
    if kind == "create":
        return store.sessions.create_session(record)
    if kind == "append":
        return store.sessions.append_message(record)
    if kind == "append_many":
        return store.sessions.append_messages(record, touch_session=op[3])
    if kind == "execution":
        return store.executions.record_execution(record)
    if kind == "usage":
        return store.executions.record_usage(record)
    if kind == "embed":
        return store.embeddings.upsert(record)
    if kind == "delete":
        return store.delete_session(record)
    if kind == "rename":
        return store.sessions.update_session(record, op[2]).title
    latest = store.sessions.list_messages(record)
    return store.sessions.mark_compacted(latest[0].id) if latest else None


def _outcome(store: Store, op: tuple[Any, ...], record: Any) -> Any:
    try:
        return ("ok", _apply(store, op, record))
    except Exception as exc:  # the exception class is the observable result being compared
        return ("error", type(exc).__name__)


def _state(store: Store, ids: dict[str, list[UUID]]) -> Any:
    sessions = store.sessions.list_sessions()
    out: dict[str, Any] = {
        # updated_at is wall-clock "now" in both stores: compare the order it produces, not the instants
        "sessions": [(s.id, s.title, s.model, s.created_at, s.metadata) for s in sessions],
        "paged": [s.id for s in store.sessions.list_sessions_paginated(Pagination(limit=2, offset=1), SessionFilter())],
    }
    for i, sid in enumerate(ids["sessions"]):
        out[f"messages{i}"] = store.sessions.list_messages(sid)
        out[f"executions{i}"] = store.executions.list_executions(sid)
        out[f"usage{i}"] = store.executions.list_usage(sid)
        out[f"stats{i}"] = store.executions.session_stats(sid)
        out[f"latest{i}"] = store.sessions.get_latest_compaction(sid)
    for q in ([1.0, 0.0], [0.0, 1.0], [2.0]):
        try:
            out[f"search{q}"] = [(h.record, round(h.score, 5)) for h in store.embeddings.search(q, 3)]
        except Exception as exc:  # VectorDimensionError on both sides is agreement too
            out[f"search{q}"] = type(exc).__name__
    return out


@pytest.mark.slow
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(ops=st.lists(_op, min_size=1, max_size=10))
def test_memory_and_lake_agree(ops: list[tuple[Any, ...]]) -> None:
    ids = {
        k: [uuid7() for _ in range(N_SESSIONS + 1 if k == "sessions" else N_IDS)]
        for k in ("sessions", "executions", "usage", "embeddings")
    }
    memory = MemoryStore()
    with tempfile.TemporaryDirectory() as tmp, lake_store(Path(tmp) / "lake") as lake:
        for op in ops:
            record = _build(op, ids)
            assert _outcome(memory, op, record) == _outcome(lake, op, record), op
        assert _state(memory, ids) == _state(lake, ids)
