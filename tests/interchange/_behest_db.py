"""Build SQLite files the way behest's SQL store leaves them: its migrations, rows in its exact text shapes."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

# behest's five SQLite migrations (behest-store, sql/migrations/sqlite; the same in 0.3.1 and 0.5.9) as facts: the
# tables, columns, types, defaults, keys and indexes each one creates, written out here for the tests (the project's
# own DDL is behest_lab.interchange.behest_schema; tests/interchange/test_behest_schema.py compares the two).
_NOW = "(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"
BEHEST_MIGRATIONS: dict[int, list[str]] = {
    1: [
        "CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, title TEXT NOT NULL DEFAULT '', "
        f"model TEXT NOT NULL, metadata TEXT NOT NULL DEFAULT '{{}}', created_at TEXT NOT NULL DEFAULT {_NOW}, "
        f"updated_at TEXT NOT NULL DEFAULT {_NOW})",
        "CREATE INDEX IF NOT EXISTS idx_sessions_updated ON sessions(updated_at DESC)",
    ],
    2: [
        "CREATE TABLE IF NOT EXISTS messages (id TEXT PRIMARY KEY, "
        "session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE, role TEXT NOT NULL, "
        "content TEXT NOT NULL DEFAULT '[]', tool_calls TEXT NOT NULL DEFAULT '[]', usage TEXT, "
        f"created_at TEXT NOT NULL DEFAULT {_NOW})",
        "CREATE INDEX IF NOT EXISTS idx_messages_session ON messages(session_id, created_at)",
    ],
    3: [
        "CREATE TABLE IF NOT EXISTS tool_executions (id TEXT PRIMARY KEY, "
        "session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE, message_id TEXT NOT NULL, "
        "call_id TEXT NOT NULL, tool_name TEXT NOT NULL, arguments TEXT NOT NULL DEFAULT '{}', result TEXT, "
        "status TEXT NOT NULL DEFAULT 'pending', error TEXT, duration_ms INTEGER NOT NULL DEFAULT 0, "
        f"created_at TEXT NOT NULL DEFAULT {_NOW})",
        "CREATE INDEX IF NOT EXISTS idx_tool_executions_session ON tool_executions(session_id, created_at)",
        "CREATE INDEX IF NOT EXISTS idx_tool_executions_message ON tool_executions(message_id)",
    ],
    4: [
        "CREATE TABLE IF NOT EXISTS usage_records (id TEXT PRIMARY KEY, "
        "session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE, message_id TEXT NOT NULL, "
        "provider TEXT NOT NULL, model TEXT NOT NULL, input_tokens INTEGER NOT NULL DEFAULT 0, "
        "output_tokens INTEGER NOT NULL DEFAULT 0, total_tokens INTEGER NOT NULL DEFAULT 0, "
        f"created_at TEXT NOT NULL DEFAULT {_NOW})",
        "CREATE INDEX IF NOT EXISTS idx_usage_records_session ON usage_records(session_id, created_at)",
    ],
    5: [
        "ALTER TABLE messages ADD COLUMN is_compaction INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE messages ADD COLUMN is_summary INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE messages ADD COLUMN compaction_meta TEXT",
    ],
}

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
    for version, statements in BEHEST_MIGRATIONS.items():
        if version <= migrations:
            for statement in statements:
                con.execute(statement)
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
