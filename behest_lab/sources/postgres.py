"""behest's PostgreSQL backend as a source: ``postgresql://user[:password]@host:5432/db``.

behest's PostgreSQL migrations (six: sessions, messages, embeddings, tool executions, usage records, compaction
columns) give UUID ids, ``JSONB`` content/metadata/arguments, ``TIMESTAMPTZ`` times (microseconds: behest's
nanosecond timestamps arrive truncated) and, with pgvector, ``embeddings.vector vector(1536)``. The reader runs its
queries on the server through DuckDB's ``postgres_scanner`` (``postgres_query``), reading the vector as
``vector::text`` — pgvector's ``[0.1,0.2,...]`` text form — so the same code reads the real pgvector type and a
column that holds that text. The rest is ``SqlSource``; the README's "PostgreSQL and MySQL" lists every decision.
"""

from __future__ import annotations

from behest_lab.sources._sql_connect import POSTGRES
from behest_lab.sources._sql_read import SqlSource


class PostgresSource(SqlSource):
    """A behest PostgreSQL database read as a source (see ``SqlSource`` for arguments and errors)."""

    dialect = POSTGRES


__all__ = ["PostgresSource"]
