"""behest's PostgreSQL backend read as a source, against a real PostgreSQL loaded as behest writes it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from behest_lab.errors import SourceError
from behest_lab.sources import Want, open_source
from behest_lab.sources.postgres import PostgresSource
from tests.services import PostgresServer
from tests.sources import _behest_sql as b
from tests.sources._sql_checks import check_sample, read_all

PG = b.PG


def load(pg: PostgresServer, statements: list[str], prefix: str = "behest") -> str:
    """A fresh database holding ``statements``' result, readable by the login role; its URL (with password)."""
    url = pg.new_database(prefix=prefix)
    name = url.rsplit("/", 1)[1]
    grant = [
        f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {pg.user}",
    ]
    pg.admin(*statements, *grant, database=name)
    return url


@pytest.fixture(scope="module")
def pg_url(pg_server: PostgresServer) -> str:
    """The schema of behest's six migrations, vector column holding pgvector's text form) with the sample."""
    return load(pg_server, [*b.schema(PG), *b.inserts(PG, b.sample())])


@pytest.fixture
def source(pg_url: str) -> Iterator[PostgresSource]:
    """The sample database opened as a source."""
    s = open_source(pg_url)
    assert isinstance(s, PostgresSource)
    yield s
    s.close()


def test_reads_every_record_as_behest_decodes_it(source: PostgresSource, pg_server: PostgresServer) -> None:
    """Every record of the sample comes back as behest's readers decode it, with provenance."""
    bundles, bad = read_all(source)
    assert bad == []
    check_sample(bundles, kind="postgresql", location=source.location, password=pg_server.password)


def test_location_and_repr_hold_no_password(source: PostgresSource, pg_server: PostgresServer) -> None:
    """The recorded location and the repr name the server without its password."""
    assert pg_server.password not in source.location
    assert pg_server.password not in repr(source)
    assert source.location.startswith(f"postgresql://{pg_server.user}@127.0.0.1:")


def test_fingerprints_name_every_row_and_change_only_with_the_row(pg_server: PostgresServer) -> None:
    """An in-place usage update changes that message's fingerprint only; reading its session gives the new usage.

    A second ``fingerprints()`` on the same source (which re-fetches only sessions whose aggregate changed) gives
    exactly what a fresh source gives, after an update, a new session and a deleted one.
    """
    url = load(pg_server, [*b.schema(PG), *b.inserts(PG, b.sample())])
    with PostgresSource(url) as s:
        before = s.fingerprints().to_pylist()
        ids = {(r["table"], r["id"]) for r in before}
        assert ("sessions", b.SA) in ids
        assert ("messages", b.M[2]) in ids
        assert ("embeddings", b.V[1]) in ids
        assert len(before) == 2 + 9 + 4 + 2 + 2
        assert {r["session_id"] for r in before if r["table"] == "messages"} == {b.SA}
        # behest's update_usage rewrites a message's usage in place and touches nothing else
        name = url.rsplit("/", 1)[1]
        pg_server.admin(f"UPDATE messages SET usage = '{b.USAGE_031}' WHERE id = '{b.M[2]}'", database=name)
        after = s.fingerprints().to_pylist()
        fp0 = {(r["table"], r["id"]): r["fp"] for r in before}
        assert {(r["table"], r["id"]) for r in after} == ids
        assert [(r["table"], r["id"]) for r in after if fp0[(r["table"], r["id"])] != r["fp"]] == [("messages", b.M[2])]
        # reading only that session gives the new usage
        bundles = list(s.read(Want(sessions=frozenset({b.SA})), lambda e: None))
        assert [str(x.session.id) for x in bundles if x.session] == [b.SA]
        m2 = next(m for m in bundles[0].messages if str(m.id) == b.M[2])
        assert m2.usage is not None
        assert m2.usage.total_tokens == 12
        new = "01890a5d-ac96-774b-8000-0000000000cc"
        pg_server.admin(
            f"DELETE FROM sessions WHERE id = '{b.SB}'",
            b.insert(PG, "sessions", {**b.sample()["sessions"][1], "id": new}),
            f"UPDATE embeddings SET metadata = '{{\"x\":1}}' WHERE id = '{b.V[1]}'",
            database=name,
        )
        again = s.fingerprints().to_pylist()
    with PostgresSource(url) as fresh:
        expected = fresh.fingerprints().to_pylist()
    assert sorted(again, key=_key) == sorted(expected, key=_key)
    assert ("sessions", new) in {_key(r) for r in again}
    assert ("sessions", b.SB) not in {_key(r) for r in again}


def test_an_undecodable_row_is_named_with_its_table_and_id(pg_server: PostgresServer) -> None:
    """A row that does not decode goes to on_bad as a SourceError naming the table and id."""
    data = b.sample()
    data["messages"][1]["content"] = '[{"type":"video","src":"x"}]'  # valid JSON, no such ContentPart
    url = load(pg_server, [*b.schema(PG), *b.inserts(PG, data)])
    with PostgresSource(url) as s:
        bundles, bad = read_all(s)
        assert len(bad) == 1
        err = bad[0]
        assert (err.source, err.table, err.key) == ("postgresql", "messages", b.M[1])
        assert "messages" in str(err)
        assert b.M[1] in str(err)
        assert pg_server.password not in str(err)
        a = next(x for x in bundles if x.session and str(x.session.id) == b.SA)
        assert b.M[1] not in {str(m.id) for m in a.messages}
        assert len(a.messages) == 8

        def stop(e: SourceError) -> None:
            raise e

        with pytest.raises(SourceError, match=b.M[1]):
            list(s.read(None, stop))


def test_a_database_without_behests_tables_is_refused(pg_server: PostgresServer) -> None:
    """A database without behest's tables is refused as not behest's."""
    url = load(pg_server, ["CREATE TABLE sessions (id TEXT PRIMARY KEY)"], prefix="other")
    with pytest.raises(SourceError, match="not a behest database") as info:
        PostgresSource(url)
    assert info.value.table in ("sessions", "messages")
    assert pg_server.password not in str(info.value)


def test_an_unknown_schema_version_is_refused(pg_server: PostgresServer) -> None:
    """A migration version behest does not ship is refused, naming _sqlx_migrations."""
    url = load(pg_server, [*b.schema(PG), b.sqlx_row(PG, 7, "add something new")], prefix="newer")
    with pytest.raises(SourceError, match="unknown schema version") as info:
        PostgresSource(url)
    assert info.value.table == "_sqlx_migrations"
    assert info.value.key == "7"


def test_a_schema_before_the_compaction_migration_reads_behests_defaults(pg_server: PostgresServer) -> None:
    """Without the compaction columns, messages read behest's defaults."""
    statements = b.inserts(PG, b.sample(), compaction=False)
    url = load(pg_server, [*b.schema(PG, upto=5), *statements], prefix="old")
    with PostgresSource(url) as s:
        bundles, bad = read_all(s)
    assert bad == []
    a = next(x for x in bundles if x.session and str(x.session.id) == b.SA)
    assert len(a.messages) == 9
    assert not any(m.is_compaction or m.is_summary for m in a.messages)


def test_wrong_credentials_and_unreachable_servers_are_named_without_the_password(
    pg_server: PostgresServer, pg_url: str
) -> None:
    """Connection failures are SourceErrors whose text holds no password."""
    wrong = pg_url.replace(pg_server.password, "not-the-password-42")
    with pytest.raises(SourceError, match="cannot connect") as info:
        PostgresSource(wrong)
    assert "not-the-password-42" not in str(info.value)
    assert "not-the-password-42" not in info.value.location
    with pytest.raises(SourceError, match="cannot connect") as info:
        PostgresSource("postgresql://lake:secret-9876@127.0.0.1:1/nothing")
    assert "secret-9876" not in str(info.value)
    assert info.value.source == "postgresql"
    assert info.value.location == "postgresql://lake@127.0.0.1:1/nothing"


def test_vector_column_in_pgvector_text_form_with_many_dimensions(pg_server: PostgresServer) -> None:
    """A 1536-dimensional vector in pgvector's text form reads back as the same float32 values."""
    data = b.sample()
    values = [((i * 7919) % 1000) / 997.0 - 0.5 for i in range(1536)]
    data["embeddings"][0]["vector"] = "[" + ",".join(repr(v) for v in values) + "]"
    url = load(pg_server, [*b.schema(PG), *b.inserts(PG, data)], prefix="vec")
    with PostgresSource(url) as s:
        bundles, bad = read_all(s)
    assert bad == []
    a = next(x for x in bundles if x.session and str(x.session.id) == b.SA)
    import numpy as np

    assert a.embeddings[0].dimension == 1536
    assert np.array_equal(np.asarray(a.embeddings[0].vector, np.float32), np.asarray(values, np.float32))


def test_a_partial_read_gives_the_wanted_sessions_and_unowned_rows(source: PostgresSource) -> None:
    """``read(want)`` reads the wanted sessions and the wanted embeddings of no session; other keys name nothing."""
    want = Want(sessions=frozenset({b.SB, "not-a-uuid"}), rows={"embeddings": frozenset({b.V[1]})})
    bundles = list(source.read(want, lambda e: None))
    assert [str(x.session.id) if x.session else None for x in bundles] == [b.SB, None]
    assert [str(e.id) for e in bundles[1].embeddings] == [b.V[1]]
    assert list(source.read(Want(rows={"artifacts": frozenset({b.V[0]})}), lambda e: None)) == []


def _key(row: dict[str, Any]) -> tuple[str, str]:
    return (row["table"], row["id"])
