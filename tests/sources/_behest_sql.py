"""Loading a PostgreSQL or MariaDB database the way behest writes it, for the SQL-source tests.

``DDL`` holds, per backend, the statements of each of behest's sqlx migrations (tables, column types, defaults,
keys, foreign keys and indexes as behest's migration files declare them; written here, not copied), and
``sqlx_table``/``sqlx_rows`` sqlx's ``_sqlx_migrations`` bookkeeping. ``inserts`` renders rows as behest's sqlx
code writes them: ids as UUIDs (PostgreSQL) or their text (MySQL), JSON as serde_json text, timestamps as UTC
instants with microseconds, flags as booleans, u64 counters through a wrapping cast to i64. The rows themselves are
plain dicts of those values (``SAMPLE``), written by hand: behest_lab's exporter is never used.
"""

from __future__ import annotations

from typing import Any

PG = "postgresql"
MY = "mysql"
SQ = "sqlite"

#: behest's migrations per backend: version -> (description, statements).
DDL: dict[str, dict[int, tuple[str, list[str]]]] = {
    PG: {
        1: (
            "create sessions",
            [
                "CREATE TABLE IF NOT EXISTS sessions (id UUID PRIMARY KEY, title TEXT NOT NULL DEFAULT '', "
                "model TEXT NOT NULL, metadata JSONB NOT NULL DEFAULT '{}', "
                "created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(), updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW())",
                "CREATE INDEX IF NOT EXISTS idx_sessions_updated ON sessions (updated_at DESC)",
            ],
        ),
        2: (
            "create messages",
            [
                "CREATE TABLE IF NOT EXISTS messages (id UUID PRIMARY KEY, "
                "session_id UUID NOT NULL REFERENCES sessions(id) ON DELETE CASCADE, role TEXT NOT NULL, "
                "content JSONB NOT NULL DEFAULT '[]', tool_calls JSONB NOT NULL DEFAULT '[]', usage JSONB, "
                "created_at TIMESTAMPTZ NOT NULL DEFAULT NOW())",
                "CREATE INDEX IF NOT EXISTS idx_messages_session ON messages (session_id, created_at)",
            ],
        ),
        3: (
            "create embeddings",
            [
                # pgvector is not packaged here: ``{vector_type}`` is ``vector(1536)`` where the extension exists
                # and TEXT otherwise (holding pgvector's text form, as the extension would send it)
                "{create_extension}",
                "CREATE TABLE IF NOT EXISTS embeddings (id UUID PRIMARY KEY, "
                "session_id UUID REFERENCES sessions(id) ON DELETE SET NULL, model TEXT NOT NULL, "
                "vector {vector_type}, metadata JSONB NOT NULL DEFAULT '{{}}', "
                "created_at TIMESTAMPTZ NOT NULL DEFAULT NOW())",
                "CREATE INDEX IF NOT EXISTS idx_embeddings_session ON embeddings (session_id)",
            ],
        ),
        4: (
            "create tool executions",
            [
                "CREATE TABLE IF NOT EXISTS tool_executions (id UUID PRIMARY KEY, "
                "session_id UUID NOT NULL REFERENCES sessions(id) ON DELETE CASCADE, "
                "message_id UUID NOT NULL REFERENCES messages(id) ON DELETE CASCADE, call_id TEXT NOT NULL, "
                "tool_name TEXT NOT NULL, arguments JSONB NOT NULL DEFAULT '{}', result JSONB, "
                "status TEXT NOT NULL DEFAULT 'pending', error TEXT, duration_ms BIGINT NOT NULL DEFAULT 0, "
                "created_at TIMESTAMPTZ NOT NULL DEFAULT NOW())",
                "CREATE INDEX IF NOT EXISTS idx_tool_executions_session ON tool_executions (session_id, created_at)",
                "CREATE INDEX IF NOT EXISTS idx_tool_executions_message ON tool_executions (message_id)",
            ],
        ),
        5: (
            "create usage records",
            [
                "CREATE TABLE IF NOT EXISTS usage_records (id UUID PRIMARY KEY, "
                "session_id UUID NOT NULL REFERENCES sessions(id) ON DELETE CASCADE, "
                "message_id UUID NOT NULL REFERENCES messages(id) ON DELETE CASCADE, provider TEXT NOT NULL, "
                "model TEXT NOT NULL, input_tokens BIGINT NOT NULL DEFAULT 0, "
                "output_tokens BIGINT NOT NULL DEFAULT 0, total_tokens BIGINT NOT NULL DEFAULT 0, "
                "created_at TIMESTAMPTZ NOT NULL DEFAULT NOW())",
                "CREATE INDEX IF NOT EXISTS idx_usage_records_session ON usage_records (session_id, created_at)",
            ],
        ),
        6: (
            "add compaction fields",
            [
                "ALTER TABLE messages ADD COLUMN IF NOT EXISTS is_compaction BOOLEAN NOT NULL DEFAULT FALSE",
                "ALTER TABLE messages ADD COLUMN IF NOT EXISTS is_summary BOOLEAN NOT NULL DEFAULT FALSE",
                "ALTER TABLE messages ADD COLUMN IF NOT EXISTS compaction_meta JSONB",
            ],
        ),
    },
    MY: {
        1: (
            "create sessions",
            [
                "CREATE TABLE IF NOT EXISTS sessions (id CHAR(36) NOT NULL, title TEXT NOT NULL, "
                "model VARCHAR(255) NOT NULL, metadata JSON NOT NULL DEFAULT ('{}'), "
                "created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), "
                "updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), "
                "PRIMARY KEY (id), INDEX idx_sessions_updated (updated_at DESC)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
            ],
        ),
        2: (
            "create messages",
            [
                "CREATE TABLE IF NOT EXISTS messages (id CHAR(36) NOT NULL, session_id CHAR(36) NOT NULL, "
                "role VARCHAR(20) NOT NULL, content JSON NOT NULL DEFAULT ('[]'), "
                "tool_calls JSON NOT NULL DEFAULT ('[]'), `usage` JSON, "
                "created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), PRIMARY KEY (id), "
                "INDEX idx_messages_session (session_id, created_at), CONSTRAINT fk_messages_session "
                "FOREIGN KEY (session_id) REFERENCES sessions(id) ON DELETE CASCADE) "
                "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
            ],
        ),
        3: (
            "create tool executions",
            [
                "CREATE TABLE IF NOT EXISTS tool_executions (id CHAR(36) NOT NULL, session_id CHAR(36) NOT NULL, "
                "message_id CHAR(36) NOT NULL, call_id VARCHAR(255) NOT NULL, tool_name VARCHAR(255) NOT NULL, "
                "arguments JSON NOT NULL DEFAULT ('{}'), result JSON, status VARCHAR(20) NOT NULL DEFAULT 'pending', "
                "error TEXT, duration_ms BIGINT NOT NULL DEFAULT 0, "
                "created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), PRIMARY KEY (id), "
                "INDEX idx_tool_executions_session (session_id, created_at), "
                "INDEX idx_tool_executions_message (message_id), CONSTRAINT fk_te_session FOREIGN KEY (session_id) "
                "REFERENCES sessions(id) ON DELETE CASCADE) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
            ],
        ),
        4: (
            "create usage records",
            [
                "CREATE TABLE IF NOT EXISTS usage_records (id CHAR(36) NOT NULL, session_id CHAR(36) NOT NULL, "
                "message_id CHAR(36) NOT NULL, provider VARCHAR(255) NOT NULL, model VARCHAR(255) NOT NULL, "
                "input_tokens BIGINT NOT NULL DEFAULT 0, output_tokens BIGINT NOT NULL DEFAULT 0, "
                "total_tokens BIGINT NOT NULL DEFAULT 0, created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), "
                "PRIMARY KEY (id), INDEX idx_usage_records_session (session_id, created_at), "
                "CONSTRAINT fk_ur_session FOREIGN KEY (session_id) REFERENCES sessions(id) ON DELETE CASCADE) "
                "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
            ],
        ),
        5: (
            "add compaction fields",
            [
                "ALTER TABLE messages ADD COLUMN is_compaction BOOLEAN NOT NULL DEFAULT FALSE",
                "ALTER TABLE messages ADD COLUMN is_summary BOOLEAN NOT NULL DEFAULT FALSE",
                "ALTER TABLE messages ADD COLUMN compaction_meta JSON",
            ],
        ),
    },
}


def sqlx_table(kind: str) -> str:
    """The ``_sqlx_migrations`` table sqlx keeps on ``kind``."""
    if kind == PG:
        return (
            "CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, "
            "installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, checksum BYTEA NOT NULL, "
            "execution_time BIGINT NOT NULL)"
        )
    return (
        "CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, "
        "installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, checksum BLOB NOT NULL, "
        "execution_time BIGINT NOT NULL)"
    )


def sqlx_row(kind: str, version: int, description: str, *, success: bool = True) -> str:
    """The row sqlx records after running a migration (the checksum is a placeholder of the right size)."""
    checksum = "'\\x" + "ab" * 48 + "'::bytea" if kind == PG else "X'" + "ab" * 48 + "'"
    return (
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) "
        f"VALUES ({version}, '{description}', {'TRUE' if success else 'FALSE'}, {checksum}, 1234567)"
    )


def schema(kind: str, *, vector_type: str = "TEXT", upto: int | None = None) -> list[str]:
    """Every statement of behest's migrations on ``kind`` (up to ``upto``), with sqlx's bookkeeping rows."""
    out = [sqlx_table(kind)]
    for version, (description, statements) in DDL[kind].items():
        if upto is not None and version > upto:
            break
        for s in statements:
            if s == "{create_extension}":
                if vector_type != "TEXT":
                    out.append("CREATE EXTENSION IF NOT EXISTS vector")
                continue
            out.append(s.format(vector_type=vector_type) if "{vector_type}" in s else s)
        out.append(sqlx_row(kind, version, description))
    return out


# --- values ----------------------------------------------------------------------------------------------------


def lit(kind: str, value: Any) -> str:
    """A SQL literal of ``value`` as behest's driver would bind it on ``kind``."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        if value >= 1 << 63:  # behest's `as i64` on a u64
            value -= 1 << 64
        return str(value)
    text = str(value).replace("'", "''")
    if kind == MY:
        text = text.replace("\\", "\\\\")
    return f"'{text}'"


def ts(kind: str, text: str) -> str:
    """A UTC instant ``YYYY-MM-DD HH:MM:SS.ffffff`` as bound by sqlx.

    PostgreSQL: a timestamptz; MySQL: the UTC wall time; SQLite: ``to_rfc3339()`` text.
    """
    if kind == SQ:
        return f"'{text.replace(' ', 'T')}+00:00'"
    return f"'{text}+00'" if kind == PG else f"'{text}'"


_COLUMNS = {
    "sessions": ("id", "title", "model", "metadata", "created_at", "updated_at"),
    "messages": (
        "id",
        "session_id",
        "role",
        "content",
        "tool_calls",
        "usage",
        "is_compaction",
        "is_summary",
        "compaction_meta",
        "created_at",
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
    "embeddings": ("id", "session_id", "model", "vector", "metadata", "created_at"),
}


def insert(kind: str, table: str, row: dict[str, Any], *, compaction: bool = True) -> str:
    """The ``INSERT`` behest's sqlx code runs for one row of ``table`` (column order as in behest's statements).

    ``compaction=False``: as the behest release before the compaction migration wrote messages.
    """
    cols = _COLUMNS[table]
    if not compaction:
        cols = tuple(c for c in cols if c not in ("is_compaction", "is_summary", "compaction_meta"))
    values = []
    for c in cols:
        v = row.get(c)
        if c in ("created_at", "updated_at"):
            values.append(ts(kind, str(v)))
        elif c == "vector" and kind == PG and v is not None:
            values.append(f"{lit(kind, v)}")
        else:
            values.append(lit(kind, v))
    names = ", ".join("`usage`" if (c == "usage" and kind == MY) else c for c in cols)
    return f"INSERT INTO {table} ({names}) VALUES ({', '.join(values)})"


def inserts(kind: str, data: dict[str, list[dict[str, Any]]], *, compaction: bool = True) -> list[str]:
    """``INSERT`` statements for every row of ``data`` (table -> rows), parents first."""
    out = []
    for table in ("sessions", "messages", "tool_executions", "usage_records", "embeddings"):
        if table == "embeddings" and kind != PG:
            continue
        out += [insert(kind, table, r, compaction=compaction) for r in data.get(table, [])]
    return out


# --- the sample: what a behest agent run leaves behind -----------------------------------------------------------

SA = "01890a5d-ac96-774b-8000-00000000000a"
SB = "01890a5d-ac96-774b-8000-00000000000b"
M = [f"01890a5d-ac97-7000-8000-0000000000{i:02d}" for i in range(10)]
E = [f"01890a5d-ac98-7000-8000-0000000000{i:02d}" for i in range(4)]
U = [f"01890a5d-ac99-7000-8000-0000000000{i:02d}" for i in range(3)]
V = [f"01890a5d-ac9a-7000-8000-0000000000{i:02d}" for i in range(3)]

USAGE_059 = (
    '{"input_tokens":120,"output_tokens":30,"total_tokens":150,"cache_creation_input_tokens":null,'
    '"cache_read_input_tokens":100,"cached_input_tokens":null}'
)
USAGE_031 = '{"input_tokens":7,"output_tokens":5,"total_tokens":12}'
CALLS = (
    '[{"id":"call_1","name":"search","arguments":{"q":"rust"}},'
    '{"id":"call_2","name":"fetch","arguments":{"url":"https://x.test/a?b=1&c=\'q\'"}}]'
)


def sample() -> dict[str, list[dict[str, Any]]]:
    """Two sessions as behest writes them: tool calls and results, both usage shapes, compaction, odd values."""
    t = "2026-03-01 10:00:00.{:06d}"
    return {
        "sessions": [
            {
                "id": SA,
                "title": "Agent Run",
                "model": "gpt-4o",
                "metadata": '{"team":"search","n":1}',
                "created_at": t.format(1),
                "updated_at": "2026-03-01 10:05:00.999999",
            },
            # Session::new leaves metadata null
            {
                "id": SB,
                "title": "",
                "model": "default",
                "metadata": "null",
                "created_at": t.format(2),
                "updated_at": t.format(2),
            },
        ],
        "messages": [
            _m(0, "system", '[{"type":"text","text":"You are terse."}]', t.format(10)),
            _m(1, "user", '[{"type":"text","text":"find \\"rust\\" 🦀"}]', t.format(20)),
            _m(2, "assistant", "[]", t.format(30), tool_calls=CALLS, usage=USAGE_059),
            _m(3, "tool", '[{"type":"json","value":{"hits":[1,2.5,null]}}]', t.format(40)),
            _m(4, "tool", '[{"type":"text","text":"page"}]', t.format(50)),
            _m(
                5,
                "assistant",
                '[{"type":"text","text":"done","cache_control":{"kind":"ephemeral","ttl":"one_hour"}}]',
                t.format(60),
                usage=USAGE_031,
            ),
            _m(6, "narrator", '[{"type":"image_url","url":"https://x.test/i.png","mime_type":null}]', t.format(70)),
            _m(
                7,
                "user",
                '[{"type":"text","text":"[compaction]"}]',
                t.format(80),
                is_compaction=True,
                compaction_meta=f'{{"tail_start_id":"{M[4]}","previous_compaction_id":null,"summary_text":null}}',
            ),
            _m(
                8,
                "assistant",
                '[{"type":"text","text":"summary"}]',
                t.format(90),
                is_summary=True,
                compaction_meta=f'{{"tail_start_id":"{M[4]}","previous_compaction_id":null,"summary_text":"sum"}}',
            ),
        ],
        "tool_executions": [
            _e(0, "call_1", "search", '{"q":"rust"}', '{"hits":2}', "success", None, 1500, t.format(35)),
            _e(1, "call_2", "fetch", '{"url":"u"}', None, "failed", "boom: 'quoted'", 20, t.format(36)),
            _e(2, "call_3", "noop", "{}", "null", "pending", None, 0, t.format(37)),
            _e(3, "call_4", "odd", "[1]", None, "timed_out", None, 7, t.format(38)),
        ],
        "usage_records": [
            _u(0, 120, 30, 150, t.format(31)),
            _u(1, 1, 2, (1 << 63) + 5, t.format(61)),  # a u64 above i64::MAX, wrapped negative by behest's cast
        ],
        "embeddings": [
            {
                "id": V[0],
                "session_id": SA,
                "model": "text-embedding-3-small",
                "vector": "[0.1,-0.25,3.5e-05]",
                "metadata": '{"message_id":"' + M[1] + '"}',
                "created_at": t.format(100),
            },
            {
                "id": V[1],
                "session_id": None,
                "model": "text-embedding-3-small",
                "vector": "[1,0,0]",
                "metadata": "{}",
                "created_at": t.format(101),
            },
        ],
    }


def _m(i: int, role: str, content: str, created: str, **extra: Any) -> dict[str, Any]:
    row = {
        "id": M[i],
        "session_id": SA,
        "role": role,
        "content": content,
        "tool_calls": extra.pop("tool_calls", "[]"),
        "usage": extra.pop("usage", None),
        "is_compaction": extra.pop("is_compaction", False),
        "is_summary": extra.pop("is_summary", False),
        "compaction_meta": extra.pop("compaction_meta", None),
        "created_at": created,
    }
    assert not extra
    return row


def _e(
    i: int, call: str, tool: str, args: str, result: str | None, status: str, error: str | None, ms: int, created: str
) -> dict[str, Any]:
    return {
        "id": E[i],
        "session_id": SA,
        "message_id": M[2],
        "call_id": call,
        "tool_name": tool,
        "arguments": args,
        "result": result,
        "status": status,
        "error": error,
        "duration_ms": ms,
        "created_at": created,
    }


def _u(i: int, tin: int, tout: int, total: int, created: str) -> dict[str, Any]:
    return {
        "id": U[i],
        "session_id": SA,
        "message_id": M[2],
        "provider": "openai",
        "model": "gpt-4o",
        "input_tokens": tin,
        "output_tokens": tout,
        "total_tokens": total,
        "created_at": created,
    }
