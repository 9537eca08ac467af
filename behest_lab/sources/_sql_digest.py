"""The server-side SQL behind ``SqlSource``'s fingerprints and digests, and the helpers it shares with the reader.

Each row is hashed by the server (PostgreSQL: ``hashtextextended`` of the row's text; MySQL: the MD5 of its columns
joined), so only ids and hashes travel; per-session aggregates (count, sum of hashes) let a sync list rows only of
the sessions whose aggregate changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import pyarrow as pa

from behest_lab.sources._sql_connect import BEHEST_COLUMNS, POSTGRES, SchemaInfo, SqlDialect


def _quote(d: SqlDialect, column: str) -> str:
    return f"`{column}`" if d.kind == "mysql" else f'"{column}"'


def _is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def in_list(values: Sequence[str]) -> str:
    """A SQL list of text literals."""
    return "(" + ", ".join(_literal(v) for v in values) + ")"


def fingerprint_sql(d: SqlDialect, table: str, schema: SchemaInfo, where: str = "") -> str:
    """Server SQL giving ``(k, s, h)`` per row: id, session id and a signed 64-bit hash of the whole row's text.

    ``where`` filters on ``s`` (the session id column, spelled ``s`` only after the ``SELECT``: give it as
    ``{sid}``).
    """
    sid = "id" if table == "sessions" else "session_id"
    cond = f" WHERE {where.replace('{sid}', sid)}" if where else ""
    if d is POSTGRES:
        # ids travel as binary UUIDs (16 bytes) and become text in DuckDB
        return f"SELECT t.id AS k, t.{sid} AS s, hashtextextended(t::text, 0) AS h FROM {table} t{cond}"
    cols = [c for c in BEHEST_COLUMNS[table] if schema.has(table, c)]
    parts = ", ".join(f"IFNULL(CAST({_quote(d, c)} AS CHAR), '\\\\N')" for c in cols)
    return (
        # ids in lower case, as the records' UUIDs print (behest writes them so; MySQL compares them ignoring case)
        f"SELECT LOWER(CAST(id AS CHAR)) AS k, LOWER(CAST({sid} AS CHAR)) AS s, "
        f"CAST(CONV(LEFT(MD5(CONCAT_WS(CHAR(31), {parts})), 16), 16, 10) AS SIGNED) AS h FROM {table}{cond}"
    )


def aggregate_sql(d: SqlDialect, table: str, schema: SchemaInfo) -> str:
    """Server SQL giving ``(s, n, h)``: per session id, the row count and the sum of the rows' hashes (as text)."""
    inner = fingerprint_sql(d, table, schema)
    cast = "sum(h)::text" if d is POSTGRES else "CAST(sum(h) AS CHAR)"
    return f"SELECT s, count(*) AS n, {cast} AS h FROM ({inner}) f GROUP BY s"


#: Session keys per ``IN`` list when fingerprints are fetched for some sessions only.
_KEYS_PER_QUERY = 1000


def _key_filters(d: SqlDialect, table: str, keys: set[str | None] | None) -> list[str]:
    """``WHERE`` conditions (``fingerprint_sql``'s form) covering ``keys``; ``[""]`` (no filter) for None."""
    if keys is None:
        return [""]
    out = []
    listed = sorted(k for k in keys if k is not None and (d is not POSTGRES or _is_uuid(k)))
    for i in range(0, len(listed), _KEYS_PER_QUERY):
        out.append(f"{{sid}} IN {in_list(listed[i : i + _KEYS_PER_QUERY])}")
    if None in keys:
        out.append("{sid} IS NULL")
    return out


def _without(previous: pa.Table, table: str, keys: set[str | None]) -> pa.Table:
    """The rows of ``table`` in ``previous`` whose session key is not in ``keys``."""
    import pyarrow.compute as pc

    mine = previous.filter(pc.equal(previous["table"], table))
    if not keys:
        return mine
    sentinel = "\x00none"
    column = pc.fill_null(mine["session_id"], sentinel)
    drop = pa.array([sentinel if k is None else k for k in keys], pa.string())
    return mine.filter(pc.invert(pc.is_in(column, value_set=drop)))
