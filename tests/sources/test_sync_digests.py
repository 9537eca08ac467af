"""The per-session digests a sync compares before it lists any row (``SessionDigests``), on SQLite, PostgreSQL and
MariaDB sources: they agree with the fingerprints, and a sync lists rows only of the sessions that changed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from behest_lab import SourceError, Store, sync
from behest_lab.sources import open_source, sqlite
from behest_lab.sources.base import DIGEST_MODULUS, SessionDigests
from behest_lab.sources.sqlite import SQLiteSource
from tests.services import PostgresServer
from tests.sources import _behest_sql as b
from tests.sources._behest import BehestSqlite
from tests.sources._mariadb import MariaDBServer
from tests.sources._sql_checks import mariadb_server
from tests.sources.test_mysql import load as load_mysql
from tests.sources.test_postgres import load as load_postgres

__all__ = ["mariadb_server"]  # the fixture, imported for the tests below


class _Listing(SQLiteSource):
    """The SQLite source, noting which sessions the engine asks to list row by row and whether it listed all."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.listed: list[set[str | None]] = []
        self.full_listings = 0

    def fingerprints(self) -> pa.Table:
        self.full_listings += 1
        return super().fingerprints()

    def session_fingerprints(self, sessions: Sequence[str | None]) -> pa.Table:
        self.listed.append(set(sessions))
        return super().session_fingerprints(sessions)


@pytest.fixture
def behest(tmp_path: Path) -> BehestSqlite:
    db = BehestSqlite(tmp_path / "agent.db")
    for _ in range(3):
        db.conversation(turns=2)
    return db


def _sums(prints: pa.Table) -> dict[tuple[str, str | None], tuple[int, int]]:
    """Per table and owner (a session row owns itself): count and sum modulo 2**64 of the fingerprints."""
    out: dict[tuple[str, str | None], tuple[int, int]] = {}
    for row in prints.to_pylist():
        owner = row["id"] if row["table"] == "sessions" else row["session_id"]
        n, total = out.get((row["table"], owner), (0, 0))
        out[(row["table"], owner)] = (n + 1, (total + row["fp"]) % DIGEST_MODULUS)
    return out


def _digests(source: Any) -> dict[tuple[str, str | None], tuple[int, int]]:
    return {(r["table"], r["session_id"]): (r["n"], r["total"]) for r in source.digests().to_pylist()}


def _rows(prints: pa.Table) -> set[tuple[Any, ...]]:
    return {tuple(r.values()) for r in prints.to_pylist()}


def _check_agreement(source: Any, sessions: list[str]) -> None:
    """``digests()`` sums ``fingerprints()``; ``session_fingerprints`` gives exactly those sessions' rows."""
    assert isinstance(source, SessionDigests)
    everything = source.fingerprints()
    assert _digests(source) == _sums(everything)
    some = source.session_fingerprints(sessions)
    expected = {r for r in _rows(everything) if (r[1] if r[0] == "sessions" else r[2]) in sessions}
    assert _rows(some) == expected
    assert expected


def test_sqlite_digests_and_session_fingerprints_agree_with_the_fingerprints(
    behest: BehestSqlite, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = open_source(str(behest.path))
    sessions = sorted({r["id"] for r in source.fingerprints().to_pylist() if r["table"] == "sessions"})
    _check_agreement(source, sessions[:2])
    # many sessions are filtered from one scan instead of read by index: the same rows
    monkeypatch.setattr(sqlite, "_SESSIONS_BY_INDEX", 1)
    _check_agreement(source, sessions[:2])
    source.close()


def test_a_sync_lists_rows_only_of_the_sessions_that_changed(behest: BehestSqlite, store: Store) -> None:
    source = _Listing(str(behest.path))
    first = sync(source, store)
    assert first.new["messages"] == 18
    assert source.full_listings == 1
    idle = sync(source, store)
    assert (idle.changed, idle.unchanged) == (0, 33)
    assert source.listed == []
    victim = store.sessions.list_sessions()[0]
    message = store.sessions.list_messages(victim.id)[1]
    behest.update_usage(str(message.id), 3, 4)
    added = behest.create_session("later")
    behest.append_message(added, "user", "new")
    report = sync(source, store)
    assert report.updated["messages"] == 1
    assert report.new == {**dict.fromkeys(report.new, 0), "sessions": 1, "messages": 1}
    assert source.listed == [{str(victim.id), added}]
    assert source.full_listings == 1  # never every row again
    stored = store.sessions.list_messages(victim.id)[1]
    assert stored.usage is not None
    assert stored.usage.total_tokens == 7
    source.close()


def test_a_session_deleted_in_the_source_is_found_through_its_digest(behest: BehestSqlite, store: Store) -> None:
    source = _Listing(str(behest.path))
    sync(source, store)
    victim = str(store.sessions.list_sessions()[0].id)
    behest.delete_session(victim)
    report = sync(source, store, mirror_deletes=True)
    assert source.listed == [{victim}]
    assert report.removed["sessions"] == 1
    assert report.removed["messages"] == 6
    assert sync(source, store).changed == 0
    source.close()


def test_postgres_digests_agree_with_the_fingerprints(pg_server: PostgresServer, store: Store) -> None:
    url = load_postgres(pg_server, [*b.schema(b.PG), *b.inserts(b.PG, b.sample())], prefix="digests")
    with open_source(url) as source:  # type: ignore[attr-defined]
        _check_agreement(source, [b.SA])
        sync(source, store)
        name = url.rsplit("/", 1)[1]
        pg_server.admin(f"UPDATE messages SET usage = '{b.USAGE_031}' WHERE id = '{b.M[2]}'", database=name)
        report = sync(source, store)
    assert report.changed == 1
    assert report.updated["messages"] == 1


def test_mariadb_digests_agree_with_the_fingerprints(mariadb_server: MariaDBServer, store: Store) -> None:
    url = load_mysql(mariadb_server, [*b.schema(b.MY), *b.inserts(b.MY, b.sample())], prefix="digests")
    with open_source(url) as source:  # type: ignore[attr-defined]
        _check_agreement(source, [b.SA])
        sync(source, store)
        name = url.rsplit("/", 1)[1]
        mariadb_server.run(f"UPDATE messages SET `usage` = '{b.USAGE_031}' WHERE id = '{b.M[2]}'", database=name)
        report = sync(source, store)
    assert report.changed == 1
    assert report.updated["messages"] == 1


def test_mariadb_ids_in_upper_case_sync_once(mariadb_server: MariaDBServer, store: Store) -> None:
    """MySQL compares ``CHAR(36)`` ids ignoring case; ids written in upper case sync as the records' UUIDs print."""
    url = load_mysql(mariadb_server, [*b.schema(b.MY), *b.inserts(b.MY, b.sample())], prefix="upper")
    name = url.rsplit("/", 1)[1]
    mariadb_server.run(
        "SET FOREIGN_KEY_CHECKS = 0",
        "UPDATE sessions SET id = UPPER(id)",
        "UPDATE messages SET id = UPPER(id), session_id = UPPER(session_id)",
        "UPDATE tool_executions SET session_id = UPPER(session_id)",
        "UPDATE usage_records SET session_id = UPPER(session_id)",
        database=name,
    )
    with open_source(url) as source:  # type: ignore[attr-defined]
        first = sync(source, store)
        assert first.new["messages"] == 9
        assert first.new["sessions"] == 2
        stored = {str(r[0]) for r in store.sql("SELECT id FROM messages").fetchall()}
        assert len(stored) == 9
        assert stored <= set(b.M)
        assert sync(source, store).changed == 0
        mariadb_server.run(f"UPDATE messages SET `usage` = '{b.USAGE_031}' WHERE id = '{b.M[2]}'", database=name)
        again = sync(source, store)
    assert again.changed == 1
    assert sum(again.deleted.values()) == 0


def test_a_row_of_a_missing_session_is_named_by_an_incremental_sync(behest: BehestSqlite, store: Store) -> None:
    """A message whose session row is missing (foreign keys off) is a bad row, found without scanning every table."""
    sync(str(behest.path), store)
    behest.con.execute("PRAGMA foreign_keys=OFF")
    ghost = "0190a5d0-0000-7000-8fff-000000000001"
    lost = behest.append_message(ghost, "user", "nobody's")
    with pytest.raises(SourceError) as info:
        sync(str(behest.path), store)
    assert (info.value.table, info.value.key) == ("messages", lost)
    assert ghost in str(info.value)
    report = sync(str(behest.path), store, skip_bad=True)
    assert report.bad == 1
    assert report.changed == 0
