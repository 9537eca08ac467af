"""The SQLite schema of behest's SQL store, as behest_lab creates it, with sqlx's migration bookkeeping.

behest (0.3.1 and 0.5.9 alike) builds its SQLite database with five sqlx migrations: (1) ``sessions``, (2)
``messages``, (3) ``tool_executions``, (4) ``usage_records`` and (5) three compaction columns added to ``messages``.
``create_behest_schema`` builds the same tables, columns, types, defaults, foreign keys and indexes with behest_lab's
own statements (``STEPS``; the test ``tests/interchange/test_behest_schema.py`` compares the result with behest's
schema), one step per migration, and then records each step in ``_sqlx_migrations`` the way sqlx records a
migration it ran: version, description, ``installed_on``, ``success``, the SHA-384 checksum of behest's migration
file and the execution time in nanoseconds. behest's ``migrate()`` compares only the versions and checksums it
finds there with its own migrations, so it finds nothing left to run on an exported file. The checksums are data
(``MIGRATIONS``), computed once from behest's migration files; behest_lab holds no copy of those files.

Timestamps default to ``strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`` as in behest; ids and JSON are ``TEXT``; flags and
counters ``INTEGER``.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime

_NOW = "(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"


@dataclass(frozen=True)
class SqlxMigration:
    """One of behest's SQLite migrations as sqlx identifies it.

    Attributes:
        version: the number in the file name (1-5).
        description: the rest of the file name, underscores as spaces (sqlx's rule).
        checksum: SHA-384 of the migration file's text, hex.
    """

    version: int
    description: str
    checksum: str


#: behest's SQLite migrations (``behest-store``'s ``sql/migrations/sqlite``, identical in 0.3.1 and 0.5.9).
MIGRATIONS: tuple[SqlxMigration, ...] = (
    SqlxMigration(
        1,
        "create sessions",
        "851d54cdab2040d8bd82e6a0bbc213bac1b3e2a080dec8928b33ecfded2e321a92918ee5d36a3a4c2d1ccc5c1aefa10a",
    ),
    SqlxMigration(
        2,
        "create messages",
        "01acb3714026eb5e34d1b15952e85dc899a7f32f7ed02ab4dcc1e46a0f05a822d72f877b3e74e53a5914564c4e8cd6ef",
    ),
    SqlxMigration(
        3,
        "create tool executions",
        "ada5acd273ce2c50069c1c6111df57afbd7013a738a1a5add5c89aba5ed2787193c7c4d0708b9cfcbebf9f5ea200710d",
    ),
    SqlxMigration(
        4,
        "create usage records",
        "0fd7f4fa5fcdc7600f98e864bb6ae989f3c6ad0c15e1ed8cdb71a63bfd3c9761e43b6480a9e7af679ec5b065b05e1b2b",
    ),
    SqlxMigration(
        5,
        "add compaction fields",
        "1bf9ec358cb0ff3a92771ba4844531dcb87ba62d7555ad312b4a77180225696a9f358485a27874cace17ee5a86ad0bb7",
    ),
)

_SESSION_FK = "TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE"

#: behest_lab's statements per migration version: each builds what that migration of behest's builds.
STEPS: dict[int, str] = {
    1: f"""
CREATE TABLE IF NOT EXISTS sessions (
  id TEXT PRIMARY KEY,
  title TEXT NOT NULL DEFAULT '',
  model TEXT NOT NULL,
  metadata TEXT NOT NULL DEFAULT '{{}}',
  created_at TEXT NOT NULL DEFAULT {_NOW},
  updated_at TEXT NOT NULL DEFAULT {_NOW}
);
CREATE INDEX IF NOT EXISTS idx_sessions_updated ON sessions (updated_at DESC);
""",
    2: f"""
CREATE TABLE IF NOT EXISTS messages (
  id TEXT PRIMARY KEY,
  session_id {_SESSION_FK},
  role TEXT NOT NULL,
  content TEXT NOT NULL DEFAULT '[]',
  tool_calls TEXT NOT NULL DEFAULT '[]',
  usage TEXT,
  created_at TEXT NOT NULL DEFAULT {_NOW}
);
CREATE INDEX IF NOT EXISTS idx_messages_session ON messages (session_id, created_at);
""",
    3: f"""
CREATE TABLE IF NOT EXISTS tool_executions (
  id TEXT PRIMARY KEY,
  session_id {_SESSION_FK},
  message_id TEXT NOT NULL,
  call_id TEXT NOT NULL,
  tool_name TEXT NOT NULL,
  arguments TEXT NOT NULL DEFAULT '{{}}',
  result TEXT,
  status TEXT NOT NULL DEFAULT 'pending',
  error TEXT,
  duration_ms INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL DEFAULT {_NOW}
);
CREATE INDEX IF NOT EXISTS idx_tool_executions_session ON tool_executions (session_id, created_at);
CREATE INDEX IF NOT EXISTS idx_tool_executions_message ON tool_executions (message_id);
""",
    4: f"""
CREATE TABLE IF NOT EXISTS usage_records (
  id TEXT PRIMARY KEY,
  session_id {_SESSION_FK},
  message_id TEXT NOT NULL,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  input_tokens INTEGER NOT NULL DEFAULT 0,
  output_tokens INTEGER NOT NULL DEFAULT 0,
  total_tokens INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL DEFAULT {_NOW}
);
CREATE INDEX IF NOT EXISTS idx_usage_records_session ON usage_records (session_id, created_at);
""",
    5: """
ALTER TABLE messages ADD COLUMN is_compaction INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN is_summary INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN compaction_meta TEXT;
""",
}

#: All steps in order: the whole schema (without the bookkeeping).
SCHEMA_SQL = "".join(STEPS[m.version] for m in MIGRATIONS)

#: sqlx's bookkeeping table on SQLite.
SQLX_TABLE_SQL = """
CREATE TABLE IF NOT EXISTS _sqlx_migrations (
  version BIGINT PRIMARY KEY,
  description TEXT NOT NULL,
  installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  success BOOLEAN NOT NULL,
  checksum BLOB NOT NULL,
  execution_time BIGINT NOT NULL
);
"""

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


def create_behest_schema(
    con: sqlite3.Connection, *, record_migrations: bool = True, installed_on: datetime | None = None
) -> None:
    """Build behest's schema on ``con`` (an empty database) and, by default, sqlx's record of the migrations.

    Each step runs in its own transaction and is recorded with its time in nanoseconds and the current time, as sqlx
    does. With ``installed_on`` the rows record that instant (UTC) and an execution time of 0 instead, so the same
    data gives the same file. Without ``record_migrations`` no ``_sqlx_migrations`` table is made (behest's
    ``migrate()`` would then re-run migration 5 and fail with "duplicate column name: is_compaction").
    """
    stamp = None
    if installed_on is not None:
        t = installed_on.astimezone(UTC)
        stamp = f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d}:{t.second:02d}"
    if record_migrations:
        con.executescript(SQLX_TABLE_SQL)
    for m in MIGRATIONS:
        start = time.perf_counter_ns()
        con.executescript(f"BEGIN;\n{STEPS[m.version]}\nCOMMIT;")
        elapsed = time.perf_counter_ns() - start
        if record_migrations:
            con.execute(
                "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time) "
                "VALUES (?, ?, coalesce(?, CURRENT_TIMESTAMP), TRUE, ?, ?)",
                [m.version, m.description, stamp, bytes.fromhex(m.checksum), elapsed if stamp is None else 0],
            )
    if con.in_transaction:
        con.commit()


def table_columns(con: sqlite3.Connection) -> dict[str, set[str]]:
    """The columns of every behest table present in ``con`` (absent tables are missing from the result)."""
    found: dict[str, set[str]] = {}
    for table in COLUMNS:
        cols = {row[1] for row in con.execute(f"PRAGMA table_info({table})")}
        if cols:
            found[table] = cols
    return found


__all__ = [
    "COLUMNS",
    "COMPACTION_COLUMNS",
    "MIGRATIONS",
    "SCHEMA_SQL",
    "SQLX_TABLE_SQL",
    "STEPS",
    "SqlxMigration",
    "create_behest_schema",
    "table_columns",
]
