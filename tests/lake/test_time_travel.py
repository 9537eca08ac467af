"""Snapshots, read-only views of the past, and compaction that keeps them working."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from behest_lab import open_store
from behest_lab.errors import ReadOnlyStoreError
from behest_lab.stores.lake import LakeStore
from tests.stores._build import artifact, embedding, execution, message, session, usage


def _lake(folder: Path) -> LakeStore:
    store = open_store(folder)
    assert isinstance(store, LakeStore)
    return store


def test_snapshots_list_every_write_with_what_changed(tmp_path: Path) -> None:
    with _lake(tmp_path / "s") as store:
        before = store.snapshots()
        s = session(store)
        store.sessions.append_message(message(s.id))
        after = store.snapshots()
    new = after[len(before) :]
    assert [snap.id for snap in after] == sorted(snap.id for snap in after)
    assert len(new) == 2
    assert new[0].message is not None
    assert new[0].message.startswith("create_session")
    assert "sessions" in [t for tables in new[0].changes.values() for t in tables]
    assert "messages" in [t for tables in new[1].changes.values() for t in tables]
    assert new[0].time <= new[1].time <= datetime.now(UTC)


def test_a_past_snapshot_is_a_read_only_view(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    with _lake(folder) as store:
        s = session(store)
        first = store.sessions.append_message(message(s.id, "first"))
        at_first = store.snapshot_id
        moment = datetime.now(UTC)
        store.sessions.append_message(message(s.id, "second"))
        store.embeddings.upsert(embedding([1.0, 0.0], session_id=s.id))
    with open_store(folder, snapshot=at_first) as past:
        assert past.sessions.list_messages(s.id) == [first]
        assert past.sql("select count(*) from messages").fetchone() == (1,)
        assert past.embeddings.search([1.0, 0.0], 5) == []
        writes = [
            lambda: past.sessions.create_session(s),
            lambda: past.sessions.append_message(message(s.id)),
            lambda: past.sessions.update_session(s.id, "t"),
            lambda: past.sessions.delete_session(s.id),
            lambda: past.embeddings.upsert(embedding([1.0])),
            lambda: past.artifacts.put(artifact()),
            lambda: past.executions.record_execution(execution(s.id)),
            lambda: past.executions.record_usage(usage(s.id)),
            lambda: past.delete_session(s.id),
        ]
        for write in writes:
            with pytest.raises(ReadOnlyStoreError):
                write()
        assert isinstance(past, LakeStore)
        with pytest.raises(ReadOnlyStoreError):
            past.compact()
    with open_store(folder, as_of=moment) as past:
        assert past.sessions.list_messages(s.id) == [first]
    with open_store(folder) as now:
        assert [m.text_content for m in now.sessions.list_messages(s.id)] == ["first", "second"]


def test_compaction_keeps_data_and_recent_time_travel(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    with _lake(folder) as store:
        s = session(store)
        msgs = [store.sessions.append_message(message(s.id, f"m{i}")) for i in range(5)]
        mid = store.snapshot_id
        store.sessions.append_messages([message(s.id, f"b{i}") for i in range(30)])
        expected = store.sessions.list_messages(s.id)
        report = store.compact()
        assert report.snapshots_expired == []
        assert report.files_after >= 1
        assert store.sessions.list_messages(s.id) == expected
        with open_store(folder, snapshot=mid) as past:
            assert past.sessions.list_messages(s.id) == msgs
        # expire everything older than now: old snapshots go, their unreferenced files are deleted
        report = store.compact(keep=timedelta(0))
        assert report.snapshots_expired
        assert min(snap.id for snap in store.snapshots()) > mid
        assert store.sessions.list_messages(s.id) == expected
        store.sessions.append_message(message(s.id, "after"))
        assert len(store.sessions.list_messages(s.id)) == len(expected) + 1
