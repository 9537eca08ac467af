"""behest's SQLite schema: the five migrations of ``behest-store`` (identical in 0.3.1 and 0.5.9), verbatim.

sqlx runs them in order and records each in ``_sqlx_migrations``. ``create_behest_schema`` runs the same
statements on a ``sqlite3`` connection but cannot write that bookkeeping (sqlx checksums the migration files), so
behest's own ``migrate()`` on such a file re-runs migration 005 and fails with "duplicate column name:
is_compaction" (SQLite's ``ADD COLUMN`` has no ``IF NOT EXISTS``). Prefer exporting into a database that behest
itself created and migrated.
"""

from __future__ import annotations

import sqlite3

#: ``(version, description, sql)`` of each SQLite migration, in the order sqlx applies them.
MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "create sessions",
        """CREATE TABLE IF NOT EXISTS sessions (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL DEFAULT '',
    model       TEXT NOT NULL,
    metadata    TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX IF NOT EXISTS idx_sessions_updated ON sessions(updated_at DESC);
""",
    ),
    (
        2,
        "create messages",
        """CREATE TABLE IF NOT EXISTS messages (
    id          TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    role        TEXT NOT NULL,
    content     TEXT NOT NULL DEFAULT '[]',
    tool_calls  TEXT NOT NULL DEFAULT '[]',
    usage       TEXT,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX IF NOT EXISTS idx_messages_session ON messages(session_id, created_at);
""",
    ),
    (
        3,
        "create tool executions",
        """CREATE TABLE IF NOT EXISTS tool_executions (
    id          TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    message_id  TEXT NOT NULL,
    call_id     TEXT NOT NULL,
    tool_name   TEXT NOT NULL,
    arguments   TEXT NOT NULL DEFAULT '{}',
    result      TEXT,
    status      TEXT NOT NULL DEFAULT 'pending',
    error       TEXT,
    duration_ms INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX IF NOT EXISTS idx_tool_executions_session ON tool_executions(session_id, created_at);
CREATE INDEX IF NOT EXISTS idx_tool_executions_message ON tool_executions(message_id);
""",
    ),
    (
        4,
        "create usage records",
        """CREATE TABLE IF NOT EXISTS usage_records (
    id              TEXT PRIMARY KEY,
    session_id      TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    message_id      TEXT NOT NULL,
    provider        TEXT NOT NULL,
    model           TEXT NOT NULL,
    input_tokens    INTEGER NOT NULL DEFAULT 0,
    output_tokens   INTEGER NOT NULL DEFAULT 0,
    total_tokens    INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX IF NOT EXISTS idx_usage_records_session ON usage_records(session_id, created_at);
""",
    ),
    (
        5,
        "add compaction fields",
        """ALTER TABLE messages ADD COLUMN is_compaction INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN is_summary INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN compaction_meta TEXT;
""",
    ),
)

#: All five migrations as one script.
SCHEMA_SQL = "".join(sql for _, _, sql in MIGRATIONS)

#: The columns behest reads and writes, per table (after all five migrations).
COLUMNS: dict[str, tuple[str, ...]] = {
    "sessions": ("id", "title", "model", "metadata", "created_at", "updated_at"),
    "messages": (
        "id",
        "session_id",
        "role",
        "content",
        "tool_calls",
        "usage",
        "created_at",
        "is_compaction",
        "is_summary",
        "compaction_meta",
    ),
    "tool_executions": (
        "id",
        "session_id",
        "message_id",
        "call_id",
        "tool_name",
        "arguments",
        "result",
        "status",
        "error",
        "duration_ms",
        "created_at",
    ),
    "usage_records": (
        "id",
        "session_id",
        "message_id",
        "provider",
        "model",
        "input_tokens",
        "output_tokens",
        "total_tokens",
        "created_at",
    ),
}

#: Columns added by migration 005; a database that stopped at migration 004 lacks them.
COMPACTION_COLUMNS = ("is_compaction", "is_summary", "compaction_meta")


def create_behest_schema(con: sqlite3.Connection) -> None:
    """Run behest's five SQLite migrations on ``con`` (not idempotent: migration 005 fails the second time)."""
    con.executescript(SCHEMA_SQL)


def table_columns(con: sqlite3.Connection) -> dict[str, set[str]]:
    """The columns of every behest table present in ``con`` (absent tables are missing from the result)."""
    found: dict[str, set[str]] = {}
    for table in COLUMNS:
        cols = {row[1] for row in con.execute(f"PRAGMA table_info({table})")}
        if cols:
            found[table] = cols
    return found


__all__ = ["COLUMNS", "COMPACTION_COLUMNS", "MIGRATIONS", "SCHEMA_SQL", "create_behest_schema", "table_columns"]
