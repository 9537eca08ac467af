"""SQL building blocks shared by the lake stores.

Arrow inserts and updates, single-row parameterised writes, and the derived ``sessions`` view.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from behest_lab.stores import tables
from behest_lab.stores.lake import config

_SRC = "_behest_src"


def qualified(table: str) -> str:
    """The physical table inside the attached lake."""
    return table


# --- NUL in nested text --------------------------------------------------------------------------------------------
#
# NUL is an ordinary character of behest's text and DuckDB stores it in every column, but DuckLake cannot keep a NUL
# inside a nested value (a content part's text, a tool call's name) among the rows it inlines into the catalog: the
# commit fails. An insert whose rows hold one is written as a Parquet file instead (the connection's inlining limit
# is set to 0 for that statement), so the value is stored unchanged.

_INLINING = "ducklake_default_data_inlining_row_limit"


def _nul_in_arrow(array: pa.Array | pa.ChunkedArray, nested: bool = False) -> bool:
    if isinstance(array, pa.ChunkedArray):
        return any(_nul_in_arrow(chunk, nested) for chunk in array.chunks)
    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return nested and bool(pc.any(pc.match_substring(array, "\x00")).as_py())
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _nul_in_arrow(array.flatten(), True)
    if pa.types.is_struct(kind):
        return any(_nul_in_arrow(array.field(i), True) for i in range(kind.num_fields))
    return False


def _nul_in_values(value: Any, nested: bool = False) -> bool:
    if isinstance(value, str):
        return nested and "\x00" in value
    if isinstance(value, dict):
        return any(_nul_in_values(v, True) for v in value.values())
    if isinstance(value, list):
        return any(_nul_in_values(v, True) for v in value)
    return False


# --- large rows -----------------------------------------------------------------------------------------------------
#
# Every query of a table reads all of its inlined rows: one 50 MB message kept inline made every query of the store
# take seconds (issue 17 in the project's tracker). An insert or update carrying more than
# ``config.LARGE_INSERT_BYTES`` of values (read at each write) is therefore written as a Parquet file of its own,
# like a NUL above. There the catalog's statistics of the file (one session's id) let other sessions' reads skip it,
# and automatic merging leaves files of ``AutoMerge.small_file_bytes`` and more alone.


def large_limit() -> int:
    """Bytes of values above which an insert or update is never inlined (``config.LARGE_INSERT_BYTES``)."""
    return config.LARGE_INSERT_BYTES


def _value_bytes(value: Any) -> int:
    """A lower bound of the stored size of a row's values (text and bytes; numbers count 8)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, bytes | bytearray):
        return len(value)
    if isinstance(value, dict):
        return sum(_value_bytes(k) + _value_bytes(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return sum(_value_bytes(v) for v in value)
    return 8


def large_values(values: list[Any]) -> bool:
    """Whether one row's ``values`` (see ``row_values``) are too large to inline (``large_limit``)."""
    return _value_bytes(values) > large_limit()


def large_arrow(data: pa.Table) -> bool:
    """Whether ``data`` is too large to inline (more than ``large_limit`` bytes of Arrow buffers)."""
    return bool(data.nbytes > large_limit())


@contextmanager
def files_for_nul(con: duckdb.DuckDBPyConnection, nul: bool) -> Iterator[None]:
    """Inside the block, inserts on ``con`` write Parquet files rather than inlined rows when ``nul`` is true."""
    if not nul:
        yield
        return
    row = con.execute(f"SELECT current_setting('{_INLINING}')").fetchone()
    limit = int(row[0]) if row else 0
    con.execute(f"SET SESSION {_INLINING} = 0")
    try:
        yield
    finally:
        con.execute(f"SET SESSION {_INLINING} = {limit}")


def insert_arrow(con: duckdb.DuckDBPyConnection, table: str, data: pa.Table, where: str = "") -> int:
    """Insert ``data`` (built by ``tables.to_arrow``) into ``table`` with the SQL column types; rows inserted.

    ``where`` is an optional SQL condition on the whole insert (the fast path of single-row writes uses it to
    fold existence checks into the one statement).
    """
    con.register(_SRC, data)
    try:
        query = f"INSERT INTO {qualified(table)} {tables.cast_select_sql(table, _SRC)}"
        if where:
            query += f" WHERE {where}"
        with files_for_nul(con, large_arrow(data) or any(_nul_in_arrow(column) for column in data.columns)):
            row = con.execute(query).fetchone()
    finally:
        con.unregister(_SRC)
    return 0 if row is None else int(row[0])


@cache
def _row_select(table: str) -> str:
    return "SELECT " + ", ".join(f"?::{c.sql} AS {c.name}" for c in tables.TABLES[table])


def insert_row(con: duckdb.DuckDBPyConnection, table: str, values: list[Any]) -> None:
    """Insert one row given as ``values`` (``tables.row_params``: the columns in order).

    The single-row fast path: binding the row's values as parameters is cheaper than registering an Arrow table
    and scanning it with casts (about 1.5 ms against 3-4 ms a statement), and the values come straight from the
    record.
    """
    with files_for_nul(con, large_values(values) or _nul_in_values(values)):
        con.execute(f"INSERT INTO {qualified(table)} {_row_select(table)}", values).fetchone()


def has_id(con: duckdb.DuckDBPyConnection, table: str, id: str) -> bool:
    """Whether ``table`` holds a row with this id.

    A separate lookup is cheaper than folding it into an insert's ``WHERE NOT EXISTS`` (0.6 ms against 2.5 ms on
    DuckLake: the standalone lookup is pruned by the table's min/max statistics when ids are time-ordered).
    """
    return con.execute(f"SELECT 1 FROM {qualified(table)} WHERE id = ?::UUID LIMIT 1", [id]).fetchone() is not None


def update_row(con: duckdb.DuckDBPyConnection, table: str, values: list[Any]) -> int:
    """Overwrite every column of the stored row with the id in ``values``; returns the rows updated.

    The row is updated in place, keeping its row id, hence its recording order.
    """
    cols = tables.TABLES[table]
    by_name = dict(zip((c.name for c in cols), values, strict=True))
    rest = [c for c in cols if c.name != "id"]
    sets = ", ".join(f"{c.name} = ?::{c.sql}" for c in rest)
    params = [by_name[c.name] for c in rest] + [by_name["id"]]
    with files_for_nul(con, large_values(values) or _nul_in_values(values)):
        row = con.execute(f"UPDATE {qualified(table)} SET {sets} WHERE id = ?::UUID", params).fetchone()
    return 0 if row is None else int(row[0])


def update_arrow(con: duckdb.DuckDBPyConnection, table: str, data: pa.Table) -> tuple[int, int]:
    """Upsert ``data`` by id; returns ``(updated, inserted)``.

    Existing rows are updated in place (keeping their row id, hence their recording order), new ones inserted.
    """
    cols = [c.name for c in tables.TABLES[table] if c.name != "id"]
    target = qualified(table)
    con.register(_SRC, data)
    try:
        src = f"({tables.cast_select_sql(table, _SRC)})"
        sets = ", ".join(f"{c} = s.{c}" for c in cols)
        with files_for_nul(con, large_arrow(data) or any(_nul_in_arrow(column) for column in data.columns)):
            row = con.execute(f"UPDATE {target} AS t SET {sets} FROM {src} AS s WHERE t.id = s.id").fetchone()
            updated = 0 if row is None else int(row[0])
            row = con.execute(
                f"INSERT INTO {target} SELECT * FROM {src} AS s WHERE s.id NOT IN (SELECT id FROM {target})"
            ).fetchone()
        inserted = 0 if row is None else int(row[0])
    finally:
        con.unregister(_SRC)
    return updated, inserted


def delete_ids(con: duckdb.DuckDBPyConnection, table: str, ids: list[str], column: str = "id") -> int:
    """Delete the rows whose ``column`` is one of ``ids``; rows deleted."""
    if not ids:
        return 0
    row = con.execute(f"DELETE FROM {qualified(table)} WHERE {column} IN (SELECT unnest(?::UUID[]))", [ids]).fetchone()
    return 0 if row is None else int(row[0])


def missing_sessions(con: duckdb.DuckDBPyConnection, session_ids: list[str]) -> list[str]:
    """The ids among ``session_ids`` that name no stored session (in the given order)."""
    if not session_ids:
        return []
    rows = con.execute(
        f"SELECT id::VARCHAR FROM {qualified('sessions')} WHERE id IN (SELECT unnest(?::UUID[]))", [session_ids]
    ).fetchall()
    present = {r[0] for r in rows}
    return [s for s in session_ids if s not in present]


# A session's ``updated_at`` is the later of its stored value and its last touching append: appends that touch
# the session get odd ``seq`` numbers holding wall-clock nanoseconds (see ``engine.SeqClock``). Deriving it keeps
# ``append_message`` a single insert (an UPDATE would add a delete file and ~15 ms per append).
_TOUCH = "CAST(make_timestamp(t.touched // 1000) AS TIMESTAMPTZ)"
_TOUCHED = "SELECT session_id, max(seq) AS touched FROM {messages} WHERE seq % 2 = 1 {where} GROUP BY session_id"


def sessions_select(where: str = "", prefix: str = "", messages: str | None = None) -> str:
    """``SELECT`` of the ``sessions`` table's columns with the derived ``updated_at``; ``where`` filters by ``s.id``.

    With ``where`` given it must use one ``?`` parameter (the session id), bound twice by the caller. ``prefix``
    qualifies the tables (``"<alias>.main."``) for connections whose default database is not the lake.
    ``messages`` names a table holding (at least) these sessions' messages to derive ``updated_at`` from, instead
    of the lake's ``messages``.
    """
    cols = []
    for c in tables.TABLES["sessions"]:
        if c.name == "updated_at":
            cols.append(f"greatest(s.updated_at, {_TOUCH}) AS updated_at")
        elif c.name == "updated_at_ns":
            # a touching append (microseconds from the seq clock) later than the stored value has no nanoseconds
            cols.append(f"CASE WHEN {_TOUCH} > s.updated_at THEN 0 ELSE s.updated_at_ns END AS updated_at_ns")
        else:
            cols.append(f"s.{c.name}")
    touched = _TOUCHED.format(
        messages=messages or f"{prefix}messages", where="AND session_id = ?" if where and messages is None else ""
    )
    query = f"SELECT {', '.join(cols)} FROM {prefix}sessions AS s LEFT JOIN ({touched}) AS t ON t.session_id = s.id"
    if where:
        query += f" WHERE {where}"
    return query
