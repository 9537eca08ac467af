"""DuckDB views that show behest's own SQL tables as behest_lab's analytical tables (``stores.tables.TABLES``).

The source database is attached read-only as ``src``; each view reads it live. The mapping is the one the SQL
sources decode rows with (``_sql_read``), written in DuckDB SQL so that queries run over the live tables:

* ids become UUIDs, JSON text is parsed with ``from_json`` into the content-part and tool-call lists, usage counters
  and compaction metadata become plain columns (``usage_cache_keys`` FALSE for behest 0.3.1's three-key usage);
* unknown roles read as ``user``, unknown statuses as ``pending``, token counts wrapped negative by behest's
  ``as i64`` as u64;
* ``tool_call_id``/``tool_name`` (no column in behest's schema) are recovered with window functions: in each
  session, in conversation order (``created_at``, then ``seq``), the k-th tool message after an assistant message
  answers that assistant message's k-th call, exactly as ``interchange.recover_tool_ids`` pairs them;
* ``seq`` (append order) is the SQLite ``rowid``; PostgreSQL and MySQL keep no insertion order, so it is the
  position in (``created_at``, ``id``) order;
* timestamps: PostgreSQL ``TIMESTAMPTZ`` and MySQL ``DATETIME(6)`` (UTC, as sqlx writes it) hold microseconds, so
  ``*_ns`` is NULL (not known); SQLite's RFC 3339 text keeps up to nine digits and ``*_ns`` the last three;
* embeddings (PostgreSQL only) are read with ``vector::text`` on the server, pgvector's text form, and cast to
  ``FLOAT[]``; ``vector_f32``/``vector_check`` are NULL (search reads ``vector``). behest's SQL has no artifacts:
  those tables are empty.
"""

from __future__ import annotations

from behest_lab.sources._sql_connect import (
    BEHEST_COLUMNS,
    COMPACTION_COLUMNS,
    MYSQL,
    POSTGRES,
    SQLITE,
    SchemaInfo,
    SqlDialect,
)

_ROLES = "('system', 'user', 'assistant', 'tool')"
_STATUSES = "('pending', 'success', 'failed')"
_U64 = 1 << 64
_PART = (
    '[{"type":"VARCHAR","text":"VARCHAR","value":"JSON","url":"VARCHAR","mime_type":"VARCHAR",'
    '"cache_control":{"kind":"VARCHAR","ttl":"VARCHAR"}}]'
)
_CALL = '[{"id":"VARCHAR","name":"VARCHAR","arguments":"JSON"}]'


def _ts(d: SqlDialect, column: str) -> str:
    if d is SQLITE:
        # RFC 3339 text; DuckDB keeps microseconds (the nanosecond digits go to *_ns)
        return f"CAST(regexp_replace({column}, '(\\.\\d{{6}})\\d+', '\\1') AS TIMESTAMPTZ)"
    return f"CAST({column} AS TIMESTAMPTZ)"


def _ns(d: SqlDialect, column: str) -> str:
    if d is SQLITE:
        digits = f"regexp_extract({column}, '\\.\\d{{6}}(\\d{{1,3}})', 1)"
        return f"CAST(CASE WHEN {digits} = '' THEN 0 ELSE CAST(rpad({digits}, 3, '0') AS SMALLINT) END AS SMALLINT)"
    return "CAST(NULL AS SMALLINT)"


def _text(column: str) -> str:
    return f"CAST({column} AS VARCHAR)"


def _flag(schema: SchemaInfo, column: str) -> str:
    if not schema.has("messages", column):
        return "FALSE"
    return f"(CAST({column} AS INTEGER) <> 0)"


def _u64(expr: str) -> str:
    return f"CAST(CAST({expr} AS HUGEINT) + CASE WHEN {expr} < 0 THEN {_U64} ELSE 0 END AS UBIGINT)"


def _usage_counter(key: str) -> str:
    return f"TRY_CAST(json_extract_string(u, '$.{key}') AS UBIGINT)"


_MYSQL_TEXT = {"id", "session_id", "message_id", "metadata", "content", "tool_calls", "usage", "compaction_meta"}
_MYSQL_TEXT |= {"arguments", "result"}


def _table(d: SqlDialect, table: str, schema: SchemaInfo) -> str:
    """Where a view reads ``table``.

    The attached table; for MySQL a server query with the JSON and id columns cast to text there (over the attached
    tables, DuckDB 1.5.5's MySQL scanner fails an internal check on ``count(*)`` of a view, and reads MariaDB's JSON
    columns with escaped quotes).
    """
    if d is not MYSQL:
        return f"src.{table}"
    cols = []
    for c in BEHEST_COLUMNS[table]:
        if c in COMPACTION_COLUMNS and not schema.has(table, c):
            continue
        cols.append(f"CAST(`{c}` AS CHAR) AS `{c}`" if c in _MYSQL_TEXT else f"`{c}`")
    return f"mysql_query('src', 'SELECT {', '.join(cols)} FROM {table}')"


def sessions_sql(d: SqlDialect, schema: SchemaInfo) -> str:
    """The ``sessions`` view."""
    return (
        f"SELECT CAST({_text('id')} AS UUID) AS id, title, model, {_ts(d, 'created_at')} AS created_at, "
        f"{_ts(d, 'updated_at')} AS updated_at, CAST({_text('metadata')} AS JSON) AS metadata, "
        f"{_ns(d, 'created_at')} AS created_at_ns, {_ns(d, 'updated_at')} AS updated_at_ns "
        f"FROM {_table(d, 'sessions', schema)}"
    )


def messages_sql(d: SqlDialect, schema: SchemaInfo) -> str:
    """The ``messages`` view (tool-result ids recovered; see the module docstring)."""
    order = "rowid" if d is SQLITE else f"{_ts(d, 'created_at')}, {_text('id')}"
    meta = _text("compaction_meta") if schema.has("messages", "compaction_meta") else "CAST(NULL AS VARCHAR)"
    raw = (
        f"SELECT CAST({_text('id')} AS UUID) AS id, CAST({_text('session_id')} AS UUID) AS session_id, "
        f"row_number() OVER (ORDER BY {order}) AS seq, "
        f"CASE WHEN role IN {_ROLES} THEN role ELSE 'user' END AS role, "
        f"from_json({_text('content')}, '{_PART}') AS parts, from_json({_text('tool_calls')}, '{_CALL}') AS calls, "
        f"{_text('usage')} AS u, {_ts(d, 'created_at')} AS created_at, {_ns(d, 'created_at')} AS created_at_ns, "
        f"{_flag(schema, 'is_compaction')} AS is_compaction, {_flag(schema, 'is_summary')} AS is_summary, "
        f"{meta} AS cm FROM {_table(d, 'messages', schema)}"
    )
    turns = (
        "SELECT *, count(*) FILTER (WHERE role = 'assistant') OVER "
        "(PARTITION BY session_id ORDER BY created_at, seq ROWS UNBOUNDED PRECEDING) AS turn FROM raw"
    )
    paired = (
        "SELECT *, CASE WHEN role = 'tool' THEN row_number() OVER "
        "(PARTITION BY session_id, turn, role = 'tool' ORDER BY created_at, seq) END AS k, "
        "first_value(CASE WHEN role = 'assistant' THEN calls END) OVER "
        "(PARTITION BY session_id, turn ORDER BY created_at, seq) AS turn_calls FROM turns"
    )
    content = (
        "list_transform(parts, p -> {'type': p.type, 'text': p.text, 'value': p.value, 'url': p.url, "
        "'mime_type': p.mime_type, 'cache_kind': p.cache_control.kind, 'cache_ttl': p.cache_control.ttl})"
    )
    text = (
        "coalesce(array_to_string(list_transform(list_filter(parts, p -> p.type = 'text'), p -> p.text), chr(10)), '')"
    )
    answer = "CASE WHEN role = 'tool' AND turn > 0 THEN turn_calls[k].{} END"
    counters = ", ".join(
        f"{_usage_counter(k)} AS {k}"
        for k in (
            "input_tokens",
            "output_tokens",
            "total_tokens",
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
            "cached_input_tokens",
        )
    )
    cache_keys = (
        "CASE WHEN u IS NULL OR json_type(u) <> 'OBJECT' THEN NULL WHEN list_has_any(json_keys(u), "
        "['cache_creation_input_tokens', 'cache_read_input_tokens', 'cached_input_tokens']) THEN NULL ELSE FALSE END"
    )
    return (
        f"WITH raw AS ({raw}), turns AS ({turns}), paired AS ({paired}) "
        f"SELECT id, session_id, seq, role, {content} AS content, {text} AS text, calls AS tool_calls, "
        f"{answer.format('id')} AS tool_call_id, {answer.format('name')} AS tool_name, {counters}, created_at, "
        "is_compaction, is_summary, cm IS NOT NULL AND cm <> 'null' AS has_compaction_meta, "
        "TRY_CAST(json_extract_string(cm, '$.tail_start_id') AS UUID) AS tail_start_id, "
        "TRY_CAST(json_extract_string(cm, '$.previous_compaction_id') AS UUID) AS previous_compaction_id, "
        "json_extract_string(cm, '$.summary_text') AS summary_text, created_at_ns, "
        f"{cache_keys} AS usage_cache_keys FROM paired"
    )


def executions_sql(d: SqlDialect, schema: SchemaInfo) -> str:
    """The ``tool_executions`` view."""
    return (
        f"SELECT CAST({_text('id')} AS UUID) AS id, CAST({_text('session_id')} AS UUID) AS session_id, "
        f"CAST({_text('message_id')} AS UUID) AS message_id, call_id, tool_name, "
        f"CAST({_text('arguments')} AS JSON) AS arguments, CAST({_text('result')} AS JSON) AS result, "
        f"CASE WHEN status IN {_STATUSES} THEN status ELSE 'pending' END AS status, error, "
        "CASE WHEN duration_ms BETWEEN 0 AND 9223372036854775 THEN CAST(duration_ms AS BIGINT) * 1000 END "
        "AS duration_us, CAST(duration_ms AS BIGINT) AS duration_ms, "
        f"{_ts(d, 'created_at')} AS created_at, {_ns(d, 'created_at')} AS created_at_ns "
        f"FROM {_table(d, 'tool_executions', schema)}"
    )


def usage_sql(d: SqlDialect, schema: SchemaInfo) -> str:
    """The ``usage_records`` view (behest's SQL keeps no cache counters: NULL)."""
    return (
        f"SELECT CAST({_text('id')} AS UUID) AS id, CAST({_text('session_id')} AS UUID) AS session_id, "
        f"CAST({_text('message_id')} AS UUID) AS message_id, provider, model, "
        f"{_u64('input_tokens')} AS input_tokens, {_u64('output_tokens')} AS output_tokens, "
        f"{_u64('total_tokens')} AS total_tokens, CAST(NULL AS UBIGINT) AS cache_creation_input_tokens, "
        "CAST(NULL AS UBIGINT) AS cache_read_input_tokens, CAST(NULL AS UBIGINT) AS cached_input_tokens, "
        f"{_ts(d, 'created_at')} AS created_at, {_ns(d, 'created_at')} AS created_at_ns "
        f"FROM {_table(d, 'usage_records', schema)}"
    )


def embeddings_sql(d: SqlDialect) -> str | None:
    """The ``embeddings`` view (PostgreSQL only; None elsewhere: behest keeps no embeddings in MySQL/SQLite)."""
    if d is not POSTGRES:
        return None
    server = (
        "SELECT id::text AS id, session_id::text AS session_id, model, vector::text AS vector, "
        "metadata::text AS metadata, created_at FROM embeddings"
    )
    return (
        "SELECT CAST(id AS UUID) AS id, CAST(session_id AS UUID) AS session_id, model, "
        "CAST(len(v) AS INTEGER) AS dim, v AS vector, CAST(NULL AS BLOB) AS vector_f32, "
        "CAST(metadata AS JSON) AS metadata, CAST(created_at AS TIMESTAMPTZ) AS created_at, "
        "CAST(NULL AS SMALLINT) AS created_at_ns, CAST(NULL AS BIGINT) AS vector_check "
        f"FROM (SELECT *, CAST(vector AS FLOAT[]) AS v FROM postgres_query('src', '{server}'))"
    )


__all__ = ["embeddings_sql", "executions_sql", "messages_sql", "sessions_sql", "usage_sql"]
