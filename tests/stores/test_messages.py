"""SessionStore conformance: messages (append, list, usage, paging, compaction markers, bulk append)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from behest_lab import (
    AlreadyExistsError,
    CacheControl,
    CompactionMeta,
    ImageUrlPart,
    JsonPart,
    MessageRecord,
    MessageRole,
    NotFoundError,
    Pagination,
    Store,
    TextPart,
    TokenUsage,
    ToolCall,
    uuid7,
)
from tests.stores._build import T0, at, count, message, session


def test_append_returns_message_and_round_trips_every_field(store: Store) -> None:
    s = session(store)
    tail = uuid7()
    full = MessageRecord(
        session_id=s.id,
        role=MessageRole.ASSISTANT,
        content=[
            TextPart(text="a\nb \u00e9\U0001f600", cache_control=CacheControl()),
            JsonPart(value={"x": [1, 2.5, None, True], "y": {"z": "w"}}),
            ImageUrlPart(url="https://x/i.png", mime_type="image/png"),
            ImageUrlPart(url="data:,"),
        ],
        tool_calls=[
            ToolCall(id="c1", name="search", arguments={"q": "x"}),
            ToolCall(id="c2", name="n", arguments=None),
        ],
        usage=TokenUsage.new(3, 4).with_cache_stats(1, None, 2),
        created_at=at(1.123456),
        compaction_meta=CompactionMeta(tail_start_id=tail, previous_compaction_id=None, summary_text="s"),
        is_summary=True,
    )
    empty = MessageRecord(session_id=s.id, role=MessageRole.SYSTEM, content=[], created_at=at(2))
    assert store.sessions.append_message(full) == full
    store.sessions.append_message(empty)
    assert store.sessions.list_messages(s.id) == [full, empty]


def test_tool_call_id_and_tool_name_survive(store: Store) -> None:
    s = session(store)
    m = message(s.id, "result", role=MessageRole.TOOL).with_tool_result("call_42", "grep")
    store.sessions.append_message(m)
    (got,) = store.sessions.list_messages(s.id)
    assert (got.tool_call_id, got.tool_name) == ("call_42", "grep")


def test_append_to_missing_session_raises_and_stores_nothing(store: Store) -> None:
    missing = uuid7()
    with pytest.raises(NotFoundError) as info:
        store.sessions.append_message(message(missing))
    assert info.value.id == missing
    assert store.sessions.list_messages(missing) == []
    assert count(store, "messages") == 0
    assert store.sessions.get_session(missing) is None


def test_duplicate_message_id_raises_and_keeps_first(store: Store) -> None:
    s = session(store)
    first = store.sessions.append_message(message(s.id, "first"))
    with pytest.raises(AlreadyExistsError) as info:
        store.sessions.append_message(message(s.id, "second", id=first.id))
    assert info.value.id == first.id
    assert store.sessions.list_messages(s.id) == [first]


def test_duplicate_message_id_across_sessions_raises(store: Store) -> None:
    a, b = session(store), session(store)
    first = store.sessions.append_message(message(a.id))
    with pytest.raises(AlreadyExistsError):
        store.sessions.append_message(message(b.id, id=first.id))
    assert store.sessions.list_messages(b.id) == []


def test_append_sets_session_updated_at_to_wall_clock_now(store: Store) -> None:
    s = session(store, created_at=T0, updated_at=T0)
    before = datetime.now(UTC)
    store.sessions.append_message(message(s.id, created_at=at(-3600)))
    after = datetime.now(UTC)
    got = store.sessions.get_session(s.id)
    assert got is not None
    assert before <= got.updated_at <= after
    assert got.created_at == T0
    assert (got.title, got.model, got.metadata) == (s.title, s.model, s.metadata)


def test_list_messages_orders_by_created_at_ties_in_append_order(store: Store) -> None:
    s = session(store)
    plan = [("c", 3), ("a", 1), ("t1", 2), ("d", 4), ("t2", 2), ("b0", 0), ("t3", 2)]
    for text, second in plan:
        store.sessions.append_message(message(s.id, text, created_at=at(second)))
    expected = [t for _, _, t in sorted((sec, i, t) for i, (t, sec) in enumerate(plan))]
    assert [m.text_content for m in store.sessions.list_messages(s.id)] == expected


def test_list_messages_only_returns_that_session(store: Store) -> None:
    a, b = session(store), session(store)
    ma = store.sessions.append_message(message(a.id, "a"))
    mb = store.sessions.append_message(message(b.id, "b"))
    assert store.sessions.list_messages(a.id) == [ma]
    assert store.sessions.list_messages(b.id) == [mb]


def test_list_messages_unknown_session_is_empty(store: Store) -> None:
    assert store.sessions.list_messages(uuid7()) == []


def test_update_usage_replaces_wholesale(store: Store) -> None:
    s = session(store)
    m = store.sessions.append_message(message(s.id, usage=TokenUsage.new(1, 2).with_cache_stats(5, 6, 7)))
    new = TokenUsage(input_tokens=10, output_tokens=20, total_tokens=99)
    updated = store.sessions.update_usage(m.id, new)
    assert updated.usage == new
    assert updated == m.with_usage(new)
    assert store.sessions.list_messages(s.id) == [updated]


def test_update_usage_does_not_touch_session_updated_at(store: Store) -> None:
    s = session(store)
    m = store.sessions.append_message(message(s.id))
    stamped = store.sessions.get_session(s.id)
    store.sessions.update_usage(m.id, TokenUsage.new(1, 1))
    assert store.sessions.get_session(s.id) == stamped


def test_update_usage_unknown_message_raises_not_found(store: Store) -> None:
    s = session(store)
    m = store.sessions.append_message(message(s.id))
    missing = uuid7()
    with pytest.raises(NotFoundError) as info:
        store.sessions.update_usage(missing, TokenUsage.new(1, 1))
    assert info.value.id == missing
    assert store.sessions.list_messages(s.id) == [m]


def test_update_usage_wrong_type_raises_type_error(store: Store) -> None:
    s = session(store)
    m = store.sessions.append_message(message(s.id))
    with pytest.raises(TypeError):
        store.sessions.update_usage(m.id, {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2})  # type: ignore[arg-type]
    assert store.sessions.list_messages(s.id) == [m]


def test_list_messages_paginated(store: Store) -> None:
    s = session(store)
    for i in range(6):
        store.sessions.append_message(message(s.id, str(i), created_at=at(6 - i)))
    full = store.sessions.list_messages(s.id)
    for offset, limit in [(0, 2), (1, 3), (4, 10), (6, 1), (0, 0)]:
        got = store.sessions.list_messages_paginated(s.id, Pagination(limit=limit, offset=offset))
        assert got == full[offset : offset + limit]
    assert store.sessions.list_messages_paginated(uuid7(), Pagination()) == []


def _compaction(session_id: Any, tail: Any, created: float) -> MessageRecord:
    return message(session_id, "[compaction]", created_at=at(created)).with_compaction(CompactionMeta.new(tail))


def test_get_latest_compaction_is_last_compaction_message(store: Store) -> None:
    s = session(store)
    first = store.sessions.append_message(message(s.id, "q", created_at=at(1)))
    c1 = _compaction(s.id, first.id, 2)
    c2 = _compaction(s.id, first.id, 4)
    summary = message(s.id, "sum", role=MessageRole.ASSISTANT, created_at=at(5)).with_summary(
        CompactionMeta.new(first.id).with_summary("sum")
    )
    assert store.sessions.get_latest_compaction(s.id) is None
    # appended out of order: "last" means last in list_messages order, not last appended
    store.sessions.append_messages([c2, c1, summary])
    assert store.sessions.get_latest_compaction(s.id) == c2


def test_get_latest_compaction_unknown_session_is_none(store: Store) -> None:
    assert store.sessions.get_latest_compaction(uuid7()) is None


def test_mark_compacted_sets_is_summary(store: Store) -> None:
    s = session(store)
    m = store.sessions.append_message(message(s.id, created_at=at(1)))
    other = store.sessions.append_message(message(s.id, created_at=at(9)))
    marked = store.sessions.mark_compacted(m.id)
    assert marked.is_summary
    assert marked == m.model_copy(update={"is_summary": True})
    assert store.sessions.list_messages(s.id) == [marked, other]


def test_mark_compacted_unknown_raises_not_found(store: Store) -> None:
    missing = uuid7()
    with pytest.raises(NotFoundError) as info:
        store.sessions.mark_compacted(missing)
    assert info.value.id == missing


# --- bulk append -------------------------------------------------------------------------------------------


def test_append_messages_stores_all_and_returns_them(store: Store) -> None:
    a, b = session(store), session(store)
    batch = [message(a.id, "1", created_at=at(1)), message(b.id, "2"), message(a.id, "0", created_at=at(0))]
    assert store.sessions.append_messages(batch) == batch
    assert [m.text_content for m in store.sessions.list_messages(a.id)] == ["0", "1"]
    assert store.sessions.list_messages(b.id) == [batch[1]]
    assert count(store, "messages") == 3


def test_append_messages_empty_batch(store: Store) -> None:
    assert store.sessions.append_messages([]) == []


def test_append_messages_sets_updated_at_of_each_session(store: Store) -> None:
    a, b = session(store), session(store)
    before = datetime.now(UTC)
    store.sessions.append_messages([message(a.id), message(b.id)])
    for sid in (a.id, b.id):
        got = store.sessions.get_session(sid)
        assert got is not None
        assert got.updated_at >= before


def test_append_messages_without_touch_keeps_updated_at(store: Store) -> None:
    a = session(store, updated_at=at(100))
    b = session(store, updated_at=at(50))
    store.sessions.append_messages([message(a.id), message(b.id)], touch_session=False)
    assert [store.sessions.get_session(sid) for sid in (a.id, b.id)] == [a, b]
    assert [s.id for s in store.sessions.list_sessions()] == [a.id, b.id]
    assert len(store.sessions.list_messages(a.id)) == 1


def _assert_nothing_appended(store: Store, session_ids: list[Any], stamped: list[Any]) -> None:
    for sid in session_ids:
        assert store.sessions.list_messages(sid) == []
    assert [store.sessions.get_session(sid) for sid in session_ids] == stamped
    assert count(store, "messages") == 0


def test_append_messages_missing_session_stores_nothing(store: Store) -> None:
    s = session(store)
    stamped = [store.sessions.get_session(s.id)]
    missing = uuid7()
    with pytest.raises(NotFoundError) as info:
        store.sessions.append_messages([message(s.id), message(missing), message(s.id)])
    assert info.value.id == missing
    _assert_nothing_appended(store, [s.id], stamped)


def test_append_messages_duplicate_inside_batch_stores_nothing(store: Store) -> None:
    s = session(store)
    stamped = [store.sessions.get_session(s.id)]
    m = message(s.id)
    with pytest.raises(AlreadyExistsError):
        store.sessions.append_messages([m, message(s.id), m])
    _assert_nothing_appended(store, [s.id], stamped)


def test_append_messages_duplicate_against_store_stores_nothing(store: Store) -> None:
    s, t = session(store), session(store)
    old = store.sessions.append_message(message(s.id))
    stamped = store.sessions.get_session(t.id)
    with pytest.raises(AlreadyExistsError):
        store.sessions.append_messages([message(t.id), message(t.id, id=old.id)])
    assert store.sessions.list_messages(s.id) == [old]
    assert store.sessions.list_messages(t.id) == []
    assert store.sessions.get_session(t.id) == stamped
    assert count(store, "messages") == 1


@pytest.mark.parametrize("bad", [None, "text", {"role": "user"}])
def test_append_message_wrong_type_raises_type_error(store: Store, bad: Any) -> None:
    with pytest.raises(TypeError):
        store.sessions.append_message(bad)


def test_append_messages_wrong_element_type_stores_nothing(store: Store) -> None:
    s = session(store)
    with pytest.raises(TypeError):
        store.sessions.append_messages([message(s.id), "not a message"])  # type: ignore[list-item]
    assert store.sessions.list_messages(s.id) == []


def test_sql_messages_table_reflects_writes(store: Store) -> None:
    s = session(store)
    m = store.sessions.append_message(message(s.id, "hello", usage=TokenUsage.new(3, 4)))
    tool = store.sessions.append_message(message(s.id, "r", role=MessageRole.TOOL).with_tool_result("c9", "grep"))
    assert count(store, "messages", "where session_id = ?", [str(s.id)]) == 2
    row = store.sql("select role, text, total_tokens from messages where id = ?", [str(m.id)]).fetchone()
    assert row == ("user", "hello", 7)
    store.sessions.update_usage(m.id, TokenUsage(input_tokens=1, output_tokens=1, total_tokens=50))
    assert store.sql("select total_tokens from messages where id = ?", [str(m.id)]).fetchone() == (50,)
    row = store.sql("select tool_call_id, tool_name from messages where id = ?", [str(tool.id)]).fetchone()
    assert row == ("c9", "grep")
