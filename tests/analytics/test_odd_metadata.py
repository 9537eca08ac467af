"""Odd metadata keys and filter text are data, never SQL syntax: stored, shown and filtered correctly.

Keys: empty, with NUL, ``*`` (a JSON-path wildcard if it were read as a path), quotes, ``/`` and ``~`` (JSON Pointer's
own characters), and names equal to documented ``sessions()`` columns in another case (``Cost``, ``Messages``),
which must never rename the documented columns.
"""

from __future__ import annotations

from typing import Any

from behest_lab import Session, Store
from behest_lab.analytics import SessionQuery, metadata_keys, parse_metadata_value, sessions
from behest_lab.analytics.sessions import field_names
from behest_lab.stores.rules import metadata_contains
from tests.stores._build import at, message, usage

NUL = "a\x00b"
ODD: dict[str, Any] = {"": 1, NUL: "nul", "*": 2, "q\"t'": 3, "a/b~c": 4, "Cost": 5, "Messages": 6, "cost": 7}


def _fill(store: Store) -> tuple[Session, Session, Session]:
    odd = store.sessions.create_session(Session(title=NUL, model=NUL, metadata=ODD, created_at=at(2)))
    plain = store.sessions.create_session(Session(title="plain", model="m", metadata={"team": "x"}, created_at=at(1)))
    text = store.sessions.create_session(Session(title="t", model="m", metadata={"x": "NaN", "*": 9}, created_at=at(0)))
    for _ in range(2):
        store.sessions.append_message(message(odd.id, NUL))
    store.executions.record_usage(usage(odd.id, 1000, 500, provider="openai", model="gpt-4o"))
    return odd, plain, text


def test_odd_keys_become_columns_and_never_rename_documented_ones(store: Store) -> None:
    odd, _plain, _text = _fill(store)
    assert set(ODD) <= set(metadata_keys(store))
    frame = sessions(store, metadata_fields=list(ODD))
    names = field_names(list(ODD))
    assert names == ["", NUL, "*", "q\"t'", "a/b~c", "metadata_Cost", "metadata_Messages", "metadata_metadata_cost"]
    row = frame.filter(frame["id"] == str(odd.id)).row(0, named=True)
    assert [row[n] for n in names] == ["1", "nul", "2", "3", "4", "5", "6", "7"]
    assert (row["title"], row["model"], row["messages"]) == (NUL, NUL, 2)
    assert row["cost"] is not None
    assert row["cost"] > 0  # the documented cost, not the metadata value
    assert frame.columns[: len(names) + 4] == ["id", "title", "model", "metadata", *names]
    # the default: the most common keys, the same resolution
    default = sessions(store)
    assert {"messages", "cost", "metadata_Cost", "metadata_Messages", "*", ""} <= set(default.columns)
    assert default.filter(default["id"] == str(odd.id))["messages"].to_list() == [2]


def test_metadata_names_resolve_against_taken_names_ignoring_case() -> None:
    assert field_names(["metadata_cost", "COST", "cost"]) == [
        "metadata_cost",
        "metadata_metadata_COST",
        "metadata_metadata_metadata_cost",
    ]


def test_odd_keys_filter_as_themselves(store: Store) -> None:
    everything = _fill(store)
    for pattern in ({"*": 2}, {"": 1}, {NUL: "nul"}, {"q\"t'": 3}, {"a/b~c": 4}, {"Cost": 5}, {"*": 9}):
        got = set(sessions(store, metadata=pattern)["id"].to_list())
        assert got == {str(s.id) for s in everything if metadata_contains(s.metadata, pattern)}, pattern
        assert len(got) == 1
    assert sessions(store, model=NUL)["id"].to_list() == [str(everything[0].id)]


def _ids(store: Store, query: SessionQuery) -> set[str]:
    return {str(r[0]) for r in store.sql(f"SELECT id FROM sessions s WHERE {query.where()}").fetchall()}


def test_filter_text_typed_into_a_widget_is_a_value(store: Store) -> None:
    odd, _plain, text = _fill(store)
    for typed in ("NaN", "Infinity", "-Infinity", "1e999"):
        assert parse_metadata_value(typed) == typed
    assert parse_metadata_value("2") == 2
    assert _ids(store, SessionQuery(metadata_key="x", metadata_value="NaN")) == {str(text.id)}
    assert _ids(store, SessionQuery(metadata_key="x", metadata_value="Infinity")) == set()
    assert _ids(store, SessionQuery(metadata_key="*")) == {str(odd.id), str(text.id)}
    assert _ids(store, SessionQuery(metadata_key="*", metadata_value="2")) == {str(odd.id)}
    assert _ids(store, SessionQuery(metadata_key=NUL)) == {str(odd.id)}
    assert _ids(store, SessionQuery(model=NUL)) == {str(odd.id)}
    assert _ids(store, SessionQuery(text=NUL)) == {str(odd.id)}
    assert _ids(store, SessionQuery(text="'; DROP TABLE sessions; --")) == set()
