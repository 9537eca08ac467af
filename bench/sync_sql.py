"""The PostgreSQL and MariaDB cases of ``python -m bench sync``: behest's SQL backends holding N messages.

``postgres()`` and ``mariadb()`` give ``(build, add, rewrite, scan)`` in ``bench.bench_sync.Case``'s order.
``build`` starts a throwaway server (``tests.services.PostgresServer``, ``tests.sources._mariadb.MariaDBServer``;
stopped when the process exits), creates behest's schema and generates the rows on the server in behest's value
shapes (the generators of ``bench.bench_sql_sources``: 100 messages per session, every other one with a usage,
one execution and one usage record per session). ``rewrite`` is behest's ``update_usage`` on assistant messages
spread over the database. The baseline ``scan`` is a plain DuckDB scan of the four tables through the same scanner
extension the source uses, fetched as Arrow.
"""

from __future__ import annotations

import atexit
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from behest_lab.sources._sql_connect import MYSQL, POSTGRES, SqlDialect, connect, parse_url
from bench.bench_sql_sources import PER_SESSION, _my_rows, _pg_rows
from tests.sources import _behest_sql as b

Functions = tuple[
    Callable[[Path, int], str], Callable[[str, int, int], None], Callable[[str, int], None], Callable[[str], int]
]
_USAGE = json.dumps({"input_tokens": 7, "output_tokens": 8, "total_tokens": 15})
_TABLES = ("sessions", "messages", "tool_executions", "usage_records")


def _spread(sessions: int, n: int) -> list[tuple[int, int]]:
    """``n`` assistant messages ``(session, message)`` spread over sessions ``1..sessions`` (odd messages)."""
    if sessions >= n:
        return [(1 + i * (sessions // n), 1) for i in range(n)]
    return [(1 + i % sessions, 1 + 2 * (i // sessions)) for i in range(n)]


def _scan(url: str, dialect: SqlDialect) -> int:
    con, _ = connect(parse_url(url, dialect))
    try:
        function = dialect.query_function
        return sum(
            con.execute(f"SELECT * FROM {function}('src', 'SELECT * FROM {t}')").to_arrow_table().num_rows
            for t in _TABLES
        )
    finally:
        con.close()


def postgres() -> Functions:
    """The PostgreSQL case."""
    state: dict[str, Any] = {}

    def build(folder: Path, messages: int) -> str:
        from tests.services import PostgresServer

        server = PostgresServer().start()
        atexit.register(server.stop)
        url = server.new_database(prefix="benchsync")
        name = url.rsplit("/", 1)[1]
        server.admin(*b.schema(b.PG), *_pg_rows(1, messages // PER_SESSION), database=name)
        server.admin(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {server.user}", "VACUUM ANALYZE", database=name)
        state.update(server=server, name=name, sessions=messages // PER_SESSION)
        return url

    def add(url: str, sessions: int, first: int) -> None:
        state["server"].admin(*_pg_rows(first + 1, sessions), database=state["name"])

    def rewrite(url: str, n: int) -> None:
        ids = ", ".join(f"'01910000-0000-7000-8000-{s * 1000 + m:012x}'" for s, m in _spread(state["sessions"], n))
        state["server"].admin(f"UPDATE messages SET usage = '{_USAGE}' WHERE id IN ({ids})", database=state["name"])

    return build, add, rewrite, lambda url: _scan(url, POSTGRES)


def mariadb() -> Functions:
    """The MariaDB case (behest's MySQL backend)."""
    state: dict[str, Any] = {}

    def build(folder: Path, messages: int) -> str:
        from tests.sources._mariadb import MariaDBServer

        server = MariaDBServer().start()
        atexit.register(server.stop)
        name = server.new_database("benchsync")
        server.run(*b.schema(b.MY), *_my_rows(1, messages // PER_SESSION), database=name)
        state.update(server=server, name=name, sessions=messages // PER_SESSION)
        return server.url(name)

    def add(url: str, sessions: int, first: int) -> None:
        state["server"].run(*_my_rows(first + 1, sessions), database=state["name"])

    def rewrite(url: str, n: int) -> None:
        # MariaDB's HEX() writes upper-case digits
        ids = ", ".join(f"'01910000-0000-7000-8000-{s * 1000 + m:012X}'" for s, m in _spread(state["sessions"], n))
        state["server"].run(f"UPDATE messages SET `usage` = '{_USAGE}' WHERE id IN ({ids})", database=state["name"])

    return build, add, rewrite, lambda url: _scan(url, MYSQL)
