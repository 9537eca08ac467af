"""What keeps consistent reads cheap stays correct: an earlier snapshot as "before", temp-only queries unguarded.

``reads.consistent`` may start from the newest snapshot the engine saw on an earlier read instead of asking the
catalog (``LastSeen``): that only widens the range of commits it checks, so a row-moving commit that landed since
is still caught. Queries of ``temp_table`` and ``session_scope`` rows only run without the guard: they read no lake
file a commit could move.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from behest_lab import open_store
from behest_lab.records import MessageRecord, MessageRole, Session
from behest_lab.stores.lake import _reads_temp_only, reads


@pytest.fixture
def catalog() -> duckdb.DuckDBPyConnection:
    """A connection with tables standing for the catalog's snapshot list and its change log."""
    c = duckdb.connect()
    c.execute(
        "CREATE SCHEMA meta; CREATE TABLE meta.ducklake_snapshot (snapshot_id INT);"
        "CREATE TABLE meta.ducklake_snapshot_changes (snapshot_id INT, changes_made TEXT);"
        "INSERT INTO meta.ducklake_snapshot VALUES (1), (2), (3);"
        "INSERT INTO meta.ducklake_snapshot_changes VALUES (1, 'created_table:1'), (2, 'inline_flush:1'),"
        " (3, 'inlined_insert:1')"
    )
    return c


LATEST = "SELECT max(snapshot_id) FROM meta.ducklake_snapshot"


def test_a_known_snapshot_replaces_the_before_query_and_is_moved_to_the_newest(
    catalog: duckdb.DuckDBPyConnection,
) -> None:
    seen = reads.LastSeen()
    seen.id = 3
    calls: list[int] = []
    assert reads.consistent(catalog, LATEST, "meta", lambda: calls.append(1) or 7, "read", seen) == 7
    assert calls == [1]
    catalog.execute(
        "INSERT INTO meta.ducklake_snapshot VALUES (4);"
        "INSERT INTO meta.ducklake_snapshot_changes VALUES (4, 'inlined_insert:1')"
    )
    assert reads.consistent(catalog, LATEST, "meta", lambda: calls.append(1) or 7, "read", seen) == 7
    assert calls == [1, 1]  # a plain insert since: nothing to read again
    assert seen.id == 4


def test_a_row_moving_commit_since_the_known_snapshot_makes_the_read_run_again(
    catalog: duckdb.DuckDBPyConnection,
) -> None:
    seen = reads.LastSeen()
    seen.id = 1  # seen before the flush of snapshot 2, which may have landed during the read
    calls: list[int] = []
    assert reads.consistent(catalog, LATEST, "meta", lambda: calls.append(1) or 7, "read", seen) == 7
    assert len(calls) == 2  # the second try asks the catalog for "before" (3) and finds no commit
    assert seen.id == 3


def _session_store(tmp_path: Path) -> tuple[object, Session]:
    store = open_store(tmp_path / "lake")
    session = store.sessions.create_session(Session.new("t", "m"))
    store.sessions.append_message(MessageRecord.text(session.id, MessageRole.USER, "hello"))
    return store, session


def test_only_queries_of_temporary_rows_skip_the_guard(tmp_path: Path) -> None:
    store, session = _session_store(tmp_path)
    con = store._engine.sql_con  # type: ignore[attr-defined]
    with store.session_scope([session.id]) as scope:  # type: ignore[attr-defined]
        scoped = f"WITH {scope._ctes} SELECT * FROM (SELECT count(*) FROM messages)"
        assert _reads_temp_only(con, scoped)
        assert not _reads_temp_only(con, scoped.replace("FROM messages)", "FROM messages JOIN embeddings ON true)"))
        assert scope.query("SELECT count(*) AS n FROM messages")["n"][0] == 1
    assert not _reads_temp_only(con, "SELECT count(*) FROM messages")
    assert not _reads_temp_only(con, "SELECT * FROM behest_temp_x WHERE (")  # unparsable: guarded, error reported
    with store.temp_table("SELECT id FROM messages") as t:  # type: ignore[attr-defined]
        assert _reads_temp_only(con, f"SELECT count(*) FROM {t.name}")
        assert store.query(f"SELECT count(*) AS n FROM {t.name}")["n"][0] == 1  # type: ignore[attr-defined]
    store.close()  # type: ignore[attr-defined]


def test_a_temp_only_query_asks_the_catalog_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store, session = _session_store(tmp_path)
    guarded: list[str] = []
    real = reads.consistent

    def counting(*args: object) -> object:
        guarded.append(str(args[4]))
        return real(*args)  # type: ignore[arg-type]

    import behest_lab.stores.lake as lake

    monkeypatch.setattr(lake, "consistent", counting)
    with store.session_scope([session.id]) as scope:  # type: ignore[attr-defined]
        assert len(guarded) == 1  # pinning the rows is one consistent read
        for _ in range(3):
            scope.query("SELECT count(*) FROM messages")
        assert len(guarded) == 1
    store.query("SELECT count(*) FROM messages")  # type: ignore[attr-defined]
    assert len(guarded) == 2
    store.close()  # type: ignore[attr-defined]
