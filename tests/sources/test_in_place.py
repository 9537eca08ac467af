"""behest's own SQL database opened in place as a read-only store: ``open_store("postgresql+behest://...")``.

Each backend is loaded as behest writes it (``_behest_sql``) and read two independent ways: by the source reader
(Python decoders) and by the in-place store (DuckDB views); both must give the same records, and the store's SQL,
analytics and read methods must work on it while every write is refused.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import pytest

from behest_lab import analytics, open_store
from behest_lab.errors import ReadOnlyStoreError, SourceError
from behest_lab.interchange import Bundle, create_behest_schema
from behest_lab.records import Pagination, Session, SessionFilter
from behest_lab.sources import open_source
from behest_lab.sources.in_place import BehestSqlStore
from behest_lab.stores.protocols import Store
from tests.services import PostgresServer
from tests.sources import _behest_sql as b
from tests.sources._mariadb import MariaDBServer
from tests.sources._sql_checks import check_sample, mariadb_server, read_all

__all__ = ["mariadb_server"]  # the fixture, imported for the tests below


@dataclass
class Db:
    """A loaded behest database: its in-place URL, its source URL (None for SQLite here) and secret."""

    kind: str
    in_place: str
    source: str | None
    password: str


def _pg(request: pytest.FixtureRequest) -> Db:
    pg: PostgresServer = request.getfixturevalue("pg_server")
    url = pg.new_database(prefix="inplace")
    name = url.rsplit("/", 1)[1]
    pg.admin(
        *b.schema(b.PG),
        *b.inserts(b.PG, b.sample()),
        f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {pg.user}",
        database=name,
    )
    return Db(b.PG, url.replace("postgresql://", "postgresql+behest://"), url, pg.password)


def _my(request: pytest.FixtureRequest) -> Db:
    server: MariaDBServer = request.getfixturevalue("mariadb_server")
    name = server.new_database("inplace")
    server.run(*b.schema(b.MY), *b.inserts(b.MY, b.sample()), database=name)
    url = server.url(name)
    return Db(b.MY, url.replace("mysql://", "mysql+behest://"), url, server.password)


def _sq(tmp: Path) -> Db:
    path = tmp / "agent.db"
    con = sqlite3.connect(path)
    create_behest_schema(con)  # behest's five migrations and sqlx's bookkeeping
    con.execute("PRAGMA foreign_keys=ON")
    for statement in b.inserts(b.SQ, b.sample()):
        con.execute(statement)
    # behest's SQLite keeps Rust's nanoseconds in the RFC 3339 text
    con.execute("UPDATE messages SET created_at = '2026-03-01T10:00:00.000010123+00:00' WHERE id = ?", [b.M[0]])
    con.commit()
    con.close()
    return Db(b.SQ, f"sqlite+behest://{path}", None, "no-password")


@pytest.fixture(scope="module", params=[b.PG, b.MY, b.SQ])
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Db:
    """The sample on each backend."""
    if request.param == b.PG:
        return _pg(request)
    if request.param == b.MY:
        return _my(request)
    return _sq(tmp_path_factory.mktemp("behest-sqlite"))


@pytest.fixture
def store(db: Db) -> Iterator[Store]:
    """The database opened in place."""
    s = open_store(db.in_place)
    assert isinstance(s, BehestSqlStore)
    yield s
    s.close()


def _bundles(store: Store) -> list[Bundle]:
    out = []
    for s in store.sessions.list_sessions():
        out.append(
            Bundle(
                session=s,
                messages=store.sessions.list_messages(s.id),
                executions=store.executions.list_executions(s.id),
                usage=store.executions.list_usage(s.id),
                embeddings=[
                    e
                    for (i,) in store.sql(
                        "SELECT id FROM embeddings WHERE session_id = ? ORDER BY id", [str(s.id)]
                    ).fetchall()
                    if (e := store.embeddings.get(i)) is not None
                ],
            )
        )
    unowned = [
        store.embeddings.get(i) for (i,) in store.sql("SELECT id FROM embeddings WHERE session_id IS NULL").fetchall()
    ]
    if unowned:
        out.append(Bundle(session=None, embeddings=[e for e in unowned if e is not None]))
    return out


def test_every_record_reads_as_behest_decodes_it(store: Store, db: Db) -> None:
    check_sample(_bundles(store), kind=db.kind, location="", password=db.password, provenance=False)


def test_the_store_and_the_source_reader_give_the_same_records(store: Store, db: Db) -> None:
    if db.source is None:
        m0 = store.sessions.list_messages(UUID(b.SA))[0]
        assert m0.created_at.nanosecond == 123  # type: ignore[attr-defined]
        return
    with open_source(db.source) as source:  # type: ignore[attr-defined]
        read, bad = read_all(source)
    assert bad == []
    mine = {str(x.session.id): x for x in _bundles(store) if x.session is not None}
    for x in read:
        if x.session is None:
            continue
        got = mine[str(x.session.id)]
        assert got.session == x.session
        assert got.messages == x.messages
        assert sorted(got.executions, key=lambda e: e.id) == sorted(x.executions, key=lambda e: e.id)
        assert got.usage == x.usage
        assert got.embeddings == x.embeddings


def test_sql_and_analytics_work_on_the_live_database(store: Store) -> None:
    assert store.sql("SELECT count(*) FROM messages WHERE tool_call_id IS NOT NULL").fetchone() == (2,)
    assert store.sql("SELECT count(*) FROM sessions").fetchone() == (2,)
    frame = analytics.sessions(store)
    assert frame.height == 2
    assert analytics.messages(store, b.SA).height == 9
    tools = analytics.tool_stats(store)
    assert set(tools["tool_name"].to_list()) == {"search", "fetch", "noop", "odd"}
    assert analytics.compactions(store).height == 1


def test_read_methods(store: Store) -> None:
    sessions = store.sessions.list_sessions()
    assert [str(s.id) for s in sessions] == [b.SA, b.SB]  # updated_at descending
    assert store.sessions.get_session(UUID(b.SB)) is not None
    assert store.sessions.get_session(UUID(int=5)) is None
    page = store.sessions.list_sessions_paginated(
        Pagination(limit=1, offset=0), SessionFilter(metadata_filter={"n": 1})
    )
    assert [str(s.id) for s in page] == [b.SA]
    latest = store.sessions.get_latest_compaction(UUID(b.SA))
    assert latest is not None
    assert str(latest.id) == b.M[7]
    assert len(store.sessions.list_messages_paginated(UUID(b.SA), Pagination(limit=3, offset=7))) == 2
    stats = store.executions.session_stats(UUID(b.SA))
    assert (stats.message_count, stats.tool_call_count, stats.tool_success_count, stats.tool_failure_count) == (
        9,
        4,
        1,
        1,
    )
    assert stats.avg_tool_duration_ms == (1500 + 20 + 0 + 7) // 4
    assert [str(e.id) for e in store.executions.list_executions_by_message(UUID(b.M[2]))] == b.E
    assert store.artifacts.list_by_session(UUID(b.SA)) == []
    assert store.artifacts.get(UUID(b.SA)) is None
    store.sessions.health_check()


def test_embedding_search_reads_the_vector_column(store: Store, db: Db) -> None:
    hits = store.embeddings.search([1.0, 0.0, 0.0], 2)
    if db.kind != b.PG:
        assert hits == []  # behest keeps embeddings in PostgreSQL only
        return
    assert [str(h.record.id) for h in hits] == [b.V[1], b.V[0]]
    assert hits[0].score == pytest.approx(1.0, abs=1e-6)


def test_every_write_is_refused(store: Store) -> None:
    s = Session(title="t", model="m")
    attempts: list[Callable[[], object]] = [
        lambda: store.sessions.create_session(s),
        lambda: store.sessions.update_session(UUID(b.SA), "x"),
        lambda: store.sessions.delete_session(UUID(b.SA)),
        lambda: store.delete_session(UUID(b.SA)),
        lambda: store.write_batch(sessions=[s]),
        lambda: store.executions.delete_by_session(UUID(b.SA)),
        lambda: store.embeddings.delete(UUID(b.SA)),
        lambda: store.artifacts.delete(UUID(b.SA)),
    ]
    for attempt in attempts:
        with pytest.raises(ReadOnlyStoreError, match=r"read-only|never writes"):
            attempt()
    assert store.sql("SELECT count(*) FROM sessions").fetchone() == (2,)


def test_wrong_password_is_named_without_it(db: Db) -> None:
    if db.source is None:
        with pytest.raises(SourceError, match="no such file"):
            open_store("sqlite+behest:///nonexistent/agent.db")
        return
    wrong = db.in_place.replace(db.password, "not-the-password-42")
    with pytest.raises(SourceError, match="cannot connect") as info:
        open_store(wrong)
    assert "not-the-password-42" not in str(info.value)
