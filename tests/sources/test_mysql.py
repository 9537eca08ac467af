"""behest's MySQL backend read as a source, against a real MariaDB loaded as behest writes it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from behest_lab.errors import SourceError
from behest_lab.sources import Want, open_source
from behest_lab.sources.mysql import MySQLSource
from tests.sources import _behest_sql as b
from tests.sources._mariadb import MariaDBServer
from tests.sources._sql_checks import check_sample, mariadb_server, read_all

__all__ = ["mariadb_server"]  # the fixture, imported for the tests below

MY = b.MY


def load(server: MariaDBServer, statements: list[str], prefix: str = "behest") -> str:
    """A fresh database holding ``statements``' result; its URL (with password)."""
    name = server.new_database(prefix)
    server.run(*statements, database=name)
    return server.url(name)


@pytest.fixture(scope="module")
def my_url(mariadb_server: MariaDBServer) -> str:
    """The schema of behest's five migrations) with the sample."""
    return load(mariadb_server, [*b.schema(MY), *b.inserts(MY, b.sample())])


@pytest.fixture
def source(my_url: str) -> Iterator[MySQLSource]:
    """The sample database opened as a source."""
    s = open_source(my_url)
    assert isinstance(s, MySQLSource)
    yield s
    s.close()


def test_reads_every_record_as_behest_decodes_it(source: MySQLSource, mariadb_server: MariaDBServer) -> None:
    bundles, bad = read_all(source)
    assert bad == []
    check_sample(bundles, kind="mysql", location=source.location, password=mariadb_server.password)


def test_location_and_repr_hold_no_password(source: MySQLSource, mariadb_server: MariaDBServer) -> None:
    assert mariadb_server.password not in source.location
    assert mariadb_server.password not in repr(source)
    assert source.location.startswith(f"mysql://{mariadb_server.user}@127.0.0.1:")


def test_fingerprints_change_only_with_the_row(mariadb_server: MariaDBServer) -> None:
    """An in-place usage update changes that message's fingerprint only, also on a source asked a second time."""
    url = load(mariadb_server, [*b.schema(MY), *b.inserts(MY, b.sample())])
    name = url.rsplit("/", 1)[1]
    with MySQLSource(url) as s:
        before = s.fingerprints().to_pylist()
        assert len(before) == 2 + 9 + 4 + 2
        assert {r["session_id"] for r in before if r["table"] == "tool_executions"} == {b.SA}
        mariadb_server.run(f"UPDATE messages SET `usage` = '{b.USAGE_031}' WHERE id = '{b.M[2]}'", database=name)
        after = s.fingerprints().to_pylist()  # only the changed session is fetched again
        fp0 = {(r["table"], r["id"]): r["fp"] for r in before}
        assert set(fp0) == {(r["table"], r["id"]) for r in after}
        assert [(r["table"], r["id"]) for r in after if fp0[(r["table"], r["id"])] != r["fp"]] == [("messages", b.M[2])]
        bundles = list(s.read(Want(sessions=frozenset({b.SA})), lambda e: None))
        m2 = next(m for m in bundles[0].messages if str(m.id) == b.M[2])
        assert m2.usage is not None
        assert m2.usage.total_tokens == 12
        mariadb_server.run(f"DELETE FROM sessions WHERE id = '{b.SB}'", database=name)
        again = s.fingerprints().to_pylist()
    with MySQLSource(url) as fresh:
        expected = fresh.fingerprints().to_pylist()
    assert sorted(again, key=_key) == sorted(expected, key=_key)
    assert len(again) == len(before) - 1


def test_an_undecodable_row_is_named_with_its_table_and_id(mariadb_server: MariaDBServer) -> None:
    data = b.sample()
    data["tool_executions"][0]["id"] = "not-a-uuid"
    url = load(mariadb_server, [*b.schema(MY), *b.inserts(MY, data)], prefix="bad")
    with MySQLSource(url) as s:
        bundles, bad = read_all(s)
    assert [(e.source, e.table, e.key) for e in bad] == [("mysql", "tool_executions", "not-a-uuid")]
    assert "not a UUID" in str(bad[0])
    assert mariadb_server.password not in str(bad[0])
    a = next(x for x in bundles if x.session and str(x.session.id) == b.SA)
    assert len(a.executions) == 3


def test_a_database_that_is_not_behests_is_refused(mariadb_server: MariaDBServer) -> None:
    url = load(mariadb_server, ["CREATE TABLE notes (id INT PRIMARY KEY)"], prefix="other")
    with pytest.raises(SourceError, match="not a behest database") as info:
        MySQLSource(url)
    assert info.value.table == "sessions"


def test_an_unknown_schema_version_is_refused(mariadb_server: MariaDBServer) -> None:
    url = load(mariadb_server, [*b.schema(MY), b.sqlx_row(MY, 6, "add embeddings")], prefix="newer")
    with pytest.raises(SourceError, match="unknown schema version") as info:
        MySQLSource(url)
    assert (info.value.table, info.value.key) == ("_sqlx_migrations", "6")


def test_wrong_credentials_and_unreachable_servers_are_named_without_the_password(
    mariadb_server: MariaDBServer, my_url: str
) -> None:
    wrong = my_url.replace(mariadb_server.password, "not-the-password-42")
    with pytest.raises(SourceError, match="cannot connect") as info:
        MySQLSource(wrong)
    assert "not-the-password-42" not in str(info.value)
    assert "not-the-password-42" not in info.value.location
    with pytest.raises(SourceError, match="cannot connect") as info:
        MySQLSource("mysql://behest:secret-9876@127.0.0.1:1/nothing")
    assert "secret-9876" not in str(info.value)
    assert info.value.location == "mysql://behest@127.0.0.1:1/nothing"


def _key(row: dict[str, Any]) -> tuple[str, str]:
    return (row["table"], row["id"])
