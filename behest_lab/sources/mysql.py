"""behest's MySQL backend as a source (MySQL 8 or MariaDB): ``mysql://user[:password]@host:3306/db``.

behest's MySQL migrations (five: sessions, messages, tool executions, usage records, compaction columns) give
``CHAR(36)`` ids, ``JSON`` columns (MariaDB: ``LONGTEXT`` checked by ``JSON_VALID``), ``DATETIME(6)`` times and
``BOOLEAN`` (``TINYINT``) flags. sqlx's MySQL driver talks UTC to the server, so ``DATETIME`` values are read as
UTC, with microseconds (behest's nanoseconds arrive truncated). The ``usage`` column is a reserved word and is
back-quoted. There is no embeddings table on MySQL. The reader runs its queries on the server through DuckDB's
``mysql_scanner`` (``mysql_query``); the rest is ``SqlSource``, and the README's "PostgreSQL and MySQL" lists every
decision.
"""

from __future__ import annotations

from behest_lab.sources._sql_connect import MYSQL
from behest_lab.sources._sql_read import SqlSource


class MySQLSource(SqlSource):
    """A behest MySQL or MariaDB database read as a source (see ``SqlSource`` for arguments and errors)."""

    dialect = MYSQL


__all__ = ["MySQLSource"]
