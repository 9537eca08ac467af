"""Session reads see exactly the lake's latest state, whichever connection or store object wrote it.

Writes go through both of a store's connections (bulk ones on the shared connection, single-row ones on the small
single-threaded one) and through a second store object; after each, the messages read back are compared with an
independently kept list, and a time-travel view must keep showing the state of its snapshot.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from behest_lab import Pagination, TokenUsage, open_store
from behest_lab.stores.lake import LakeStore
from tests.lake.template import lake_store
from tests.stores._build import at, message, session


@pytest.mark.slow
def test_reads_follow_writes_from_both_connections_and_other_stores(tmp_path: Path) -> None:
    store = lake_store(tmp_path / "s")
    other = open_store(tmp_path / "s")
    s = session(store)
    expected = [store.sessions.append_message(message(s.id, "one", created_at=at(1)))]  # small connection
    assert store.sessions.list_messages(s.id) == expected
    bulk = [message(s.id, f"bulk {i}", created_at=at(10 + i)) for i in range(1200)]  # shared connection, a file
    expected += store.sessions.append_messages(bulk)
    assert store.sessions.list_messages(s.id) == expected
    expected.append(other.sessions.append_message(message(s.id, "from the other store", created_at=at(5000))))
    assert store.sessions.list_messages(s.id) == expected
    assert other.sessions.list_messages(s.id) == expected
    then, before = store.snapshot_id, list(expected)

    changed = other.sessions.update_usage(expected[3].id, TokenUsage.new(7, 9))
    expected[3] = changed
    assert store.sessions.list_messages(s.id) == expected
    assert store.sessions.list_messages_paginated(s.id, Pagination(limit=5, offset=1)) == expected[1:6]

    summary = store.sessions.append_message(message(s.id, "summary", created_at=at(6000), is_compaction=True))
    assert other.sessions.get_latest_compaction(s.id) == summary
    other.delete_session(s.id)
    assert store.sessions.list_messages(s.id) == []
    assert store.sessions.get_latest_compaction(s.id) is None

    with open_store(tmp_path / "s", snapshot=then) as past:
        assert isinstance(past, LakeStore)
        assert past.sessions.list_messages(s.id) == before
        assert past.sessions.list_messages(s.id)[3] != changed
    other.close()
    store.close()
