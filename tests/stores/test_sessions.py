"""SessionStore conformance: sessions (create, get, list, update, delete, paginate, health)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from behest_lab import AlreadyExistsError, NotFoundError, Pagination, Session, SessionFilter, Store, uuid7
from tests.stores._build import T0, at, count, message, session


def test_create_returns_session_and_get_returns_equal(store: Store) -> None:
    s = Session(title="Chat", model="gpt-4", metadata={"k": [1, "x", None]}, created_at=T0, updated_at=at(5))
    assert store.sessions.create_session(s) == s
    assert store.sessions.get_session(s.id) == s


def test_get_unknown_session_is_none(store: Store) -> None:
    assert store.sessions.get_session(uuid7()) is None


def test_duplicate_session_id_raises_and_keeps_session_and_messages(store: Store) -> None:
    s = session(store, title="first")
    m = store.sessions.append_message(message(s.id))
    kept = store.sessions.get_session(s.id)
    with pytest.raises(AlreadyExistsError) as info:
        store.sessions.create_session(Session(id=s.id, title="second", model="other"))
    assert info.value.id == s.id
    assert store.sessions.get_session(s.id) == kept
    assert store.sessions.list_messages(s.id) == [m]
    assert count(store, "sessions") == 1


def test_list_sessions_is_updated_at_descending(store: Store) -> None:
    updated = [at(3), at(1), at(7), at(5)]
    made = [session(store, created_at=T0, updated_at=u) for u in updated]
    expected = [s.id for s in sorted(made, key=lambda s: s.updated_at, reverse=True)]
    assert [s.id for s in store.sessions.list_sessions()] == expected


def test_list_sessions_ties_larger_id_first(store: Store) -> None:
    ids = sorted(uuid7() for _ in range(5))
    for i in ids[::2] + ids[1::2]:
        session(store, id=i, updated_at=at(1))
    assert [s.id for s in store.sessions.list_sessions()] == ids[::-1]


def test_list_sessions_empty_store(store: Store) -> None:
    assert store.sessions.list_sessions() == []


def test_update_session_title_only_keeps_model_metadata_created(store: Store) -> None:
    s = session(store, title="old", model="gpt-4", metadata={"a": 1})
    before = datetime.now(UTC)
    updated = store.sessions.update_session(s.id, "new")
    after = datetime.now(UTC)
    assert (updated.title, updated.model, updated.metadata, updated.created_at) == ("new", "gpt-4", {"a": 1}, T0)
    assert before <= updated.updated_at <= after
    assert store.sessions.get_session(s.id) == updated


def test_update_session_sets_model_and_metadata_when_given(store: Store) -> None:
    s = session(store, title="old", model="gpt-4", metadata={"a": 1})
    updated = store.sessions.update_session(s.id, "", model="claude", metadata={"b": [2]})
    assert (updated.title, updated.model, updated.metadata) == ("", "claude", {"b": [2]})
    assert store.sessions.get_session(s.id) == updated


def test_update_session_unknown_raises_not_found(store: Store) -> None:
    missing = uuid7()
    with pytest.raises(NotFoundError) as info:
        store.sessions.update_session(missing, "x")
    assert info.value.id == missing
    assert store.sessions.list_sessions() == []


def test_update_session_moves_session_to_front(store: Store) -> None:
    a = session(store, updated_at=at(10))
    b = session(store, updated_at=at(20))
    assert [s.id for s in store.sessions.list_sessions()] == [b.id, a.id]
    store.sessions.update_session(a.id, "bumped")
    assert [s.id for s in store.sessions.list_sessions()] == [a.id, b.id]


def test_delete_session_removes_it_and_is_idempotent(store: Store) -> None:
    s = session(store)
    other = session(store)
    store.sessions.delete_session(s.id)
    assert store.sessions.get_session(s.id) is None
    store.sessions.delete_session(s.id)
    store.sessions.delete_session(uuid7())
    assert store.sessions.list_sessions() == [other]


def test_health_check_passes(store: Store) -> None:
    assert store.sessions.health_check() is None


# --- list_sessions_paginated --------------------------------------------------------------------------------


def _with_metadata(store: Store, metadatas: list[Any]) -> list[Session]:
    return [session(store, metadata=md, updated_at=at(i)) for i, md in enumerate(metadatas)]


def _filtered(store: Store, metadata_filter: Any) -> set[int]:
    hits = store.sessions.list_sessions_paginated(Pagination(), SessionFilter(metadata_filter=metadata_filter))
    return {s.metadata["n"] for s in hits}


def test_paginated_defaults_list_everything_in_list_order(store: Store) -> None:
    _with_metadata(store, [{"n": i} for i in range(3)])
    assert store.sessions.list_sessions_paginated() == store.sessions.list_sessions()


def test_metadata_filter_is_containment(store: Store) -> None:
    _with_metadata(store, [{"n": 0, "a": 1, "b": 2}, {"n": 1, "a": 1}, {"n": 2, "a": 2, "b": 2}])
    assert _filtered(store, {"a": 1}) == {0, 1}
    assert _filtered(store, {"b": 2}) == {0, 2}
    assert _filtered(store, {"a": 1, "b": 2}) == {0}
    assert _filtered(store, {"zzz": 1}) == set()
    assert _filtered(store, {}) == {0, 1, 2}


def test_metadata_filter_recurses_into_nested_objects(store: Store) -> None:
    _with_metadata(store, [{"n": 0, "o": {"x": 1, "y": {"z": 3, "w": 4}}}, {"n": 1, "o": {"x": 1, "y": {"z": 9}}}])
    assert _filtered(store, {"o": {"x": 1}}) == {0, 1}
    assert _filtered(store, {"o": {"y": {"z": 3}}}) == {0}
    assert _filtered(store, {"o": {"y": {"z": 3, "v": 0}}}) == set()


def test_metadata_filter_numbers_by_value_booleans_distinct(store: Store) -> None:
    _with_metadata(store, [{"n": 0, "v": 1}, {"n": 1, "v": 1.0}, {"n": 2, "v": True}, {"n": 3, "v": 2}])
    assert _filtered(store, {"v": 1}) == {0, 1}
    assert _filtered(store, {"v": 1.0}) == {0, 1}
    assert _filtered(store, {"v": True}) == {2}


def test_metadata_filter_lists_compare_by_equality(store: Store) -> None:
    _with_metadata(store, [{"n": 0, "l": [1, 2]}, {"n": 1, "l": [1, 2, 3]}, {"n": 2, "l": [2, 1]}])
    assert _filtered(store, {"l": [1, 2]}) == {0}
    assert _filtered(store, {"l": [1]}) == set()


def test_metadata_filter_never_matches_non_object_metadata(store: Store) -> None:
    _with_metadata(store, [{"n": 0, "a": 1}])
    session(store, metadata=None)
    session(store, metadata=[{"a": 1}])
    assert _filtered(store, {"a": 1}) == {0}


def test_created_after_inclusive_created_before_exclusive(store: Store) -> None:
    made = [session(store, created_at=at(i), metadata={"n": i}) for i in range(5)]
    flt = SessionFilter(created_after=made[1].created_at, created_before=made[3].created_at)
    hits = store.sessions.list_sessions_paginated(Pagination(), flt)
    assert {s.metadata["n"] for s in hits} == {1, 2}
    only_after = store.sessions.list_sessions_paginated(Pagination(), SessionFilter(created_after=at(4)))
    assert [s.id for s in only_after] == [made[4].id]
    only_before = store.sessions.list_sessions_paginated(Pagination(), SessionFilter(created_before=at(1)))
    assert [s.id for s in only_before] == [made[0].id]


def test_paginated_offset_limit_follow_list_order(store: Store) -> None:
    _with_metadata(store, [{"n": i} for i in range(7)])
    ordered = [s.id for s in store.sessions.list_sessions()]
    for offset, limit in [(0, 3), (2, 3), (5, 10), (7, 1), (100, 5)]:
        got = store.sessions.list_sessions_paginated(Pagination(limit=limit, offset=offset), SessionFilter())
        assert [s.id for s in got] == ordered[offset : offset + limit]


def test_paginated_filters_before_paging(store: Store) -> None:
    _with_metadata(store, [{"n": i, "even": i % 2 == 0} for i in range(8)])
    hits = store.sessions.list_sessions_paginated(
        Pagination(limit=2, offset=1), SessionFilter(metadata_filter={"even": True})
    )
    assert [s.metadata["n"] for s in hits] == [4, 2]


def test_paginated_limit_zero_is_empty(store: Store) -> None:
    _with_metadata(store, [{"n": 0}])
    assert store.sessions.list_sessions_paginated(Pagination(limit=0, offset=0), SessionFilter()) == []


# --- argument types and SQL -----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [None, {"title": "t", "model": "m"}, "session"])
def test_create_session_wrong_type_raises_type_error(store: Store, bad: Any) -> None:
    with pytest.raises(TypeError):
        store.sessions.create_session(bad)
    assert store.sessions.list_sessions() == []


def test_paginated_wrong_argument_types_raise_type_error(store: Store) -> None:
    with pytest.raises(TypeError):
        store.sessions.list_sessions_paginated({"limit": 1, "offset": 0}, SessionFilter())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        store.sessions.list_sessions_paginated(Pagination(), {"metadata_filter": None})  # type: ignore[arg-type]


def test_update_session_title_must_be_a_string(store: Store) -> None:
    s = session(store, title="keep")
    with pytest.raises(TypeError):
        store.sessions.update_session(s.id, None)  # type: ignore[arg-type]
    assert store.sessions.get_session(s.id) == s


def test_sql_sessions_table_reflects_writes(store: Store) -> None:
    a = session(store, title="a", metadata={"k": "v"})
    session(store, title="b")
    assert count(store, "sessions") == 2
    row = store.sql("select title, model, metadata->>'k' from sessions where id = ?", [str(a.id)]).fetchone()
    assert row == ("a", "m", "v")
    store.sessions.update_session(a.id, "renamed")
    assert store.sql("select title from sessions where id = ?", [str(a.id)]).fetchone() == ("renamed",)
    store.sessions.delete_session(a.id)
    assert count(store, "sessions") == 1


def test_create_sessions_stores_all_in_one_call(store: Store) -> None:
    made = [Session(title=f"s{i}", model="m", created_at=at(i), updated_at=at(10 + i)) for i in range(3)]
    assert store.sessions.create_sessions(made) == made
    assert [store.sessions.get_session(s.id) for s in made] == made
    assert count(store, "sessions") == 3


def test_create_sessions_is_all_or_nothing(store: Store) -> None:
    existing = session(store)
    fresh = Session(title="new", model="m")
    with pytest.raises(AlreadyExistsError) as info:
        store.sessions.create_sessions([fresh, Session(id=existing.id, title="dup", model="m")])
    assert info.value.id == existing.id
    assert store.sessions.get_session(fresh.id) is None
    twice = Session(title="twice", model="m")
    with pytest.raises(AlreadyExistsError):
        store.sessions.create_sessions([twice, twice])
    assert store.sessions.get_session(twice.id) is None
    assert count(store, "sessions") == 1
