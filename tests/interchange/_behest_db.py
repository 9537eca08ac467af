"""Build SQLite files the way behest's SQL store leaves them: its migrations, rows in its exact text shapes."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from behest_lab.interchange import MIGRATIONS

#: Column defaults a behest row gets when the test does not name the column.
_DEFAULTS: dict[str, dict[str, Any]] = {
    "sessions": {"title": "t", "model": "gpt-4", "metadata": "null"},
    "messages": {"role": "user", "content": '[{"type":"text","text":"hi"}]', "tool_calls": "[]", "usage": None},
    "tool_executions": {
        "call_id": "call-1",
        "tool_name": "search",
        "arguments": '{"q":"x"}',
        "result": None,
        "status": "pending",
        "error": None,
        "duration_ms": 0,
    },
    "usage_records": {
        "provider": "openai",
        "model": "gpt-4",
        "input_tokens": 10,
        "output_tokens": 5,
        "total_tokens": 15,
    },
}


def behest_db(path: Path, *, migrations: int = 5) -> sqlite3.Connection:
    """A new database with behest's first ``migrations`` SQLite migrations applied (foreign keys on, as sqlx)."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA foreign_keys=ON")
    for version, _, sql in MIGRATIONS:
        if version <= migrations:
            con.executescript(sql)
    return con


def insert(con: sqlite3.Connection, table: str, **values: Any) -> int:
    """Insert one row (unnamed columns get ``_DEFAULTS``, then the DDL defaults); returns its rowid."""
    row = {**_DEFAULTS[table], **values}
    cols = ", ".join(row)
    marks = ", ".join("?" * len(row))
    cur = con.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", list(row.values()))
    assert cur.lastrowid is not None
    return cur.lastrowid


def rows(path: Path, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of ``query`` on the database at ``path``."""
    con = sqlite3.connect(path)
    try:
        return con.execute(query, params).fetchall()
    finally:
        con.close()
