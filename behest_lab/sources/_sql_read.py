"""``SqlSource``: behest's PostgreSQL or MySQL database read as a source, through DuckDB's scanner extensions.

Every query runs on the server (``postgres_query``/``mysql_query``) with every value cast to text there, except
timestamps (whole microseconds since the epoch, computed by the server: exact, no time-zone conversion on the way)
and integers. Rows are decoded here by behest's SQL readers' rules (the README's "PostgreSQL and MySQL" lists each
decision): unknown roles read as ``user``, unknown statuses as ``pending``, token counts wrapped negative by
behest's ``as i64`` read back as u64, tool-result ids (no column in behest's schema) recovered by pairing each tool
message with the calls of the assistant message before it, pgvector's text form ``[0.1,0.2]`` parsed as float32.

Fingerprints are computed by the server too (a hash of the whole row's text), so finding what changed in a large
database moves only ids and hashes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import duckdb
import pyarrow as pa
from pydantic import ValidationError

from behest_lab.errors import BadRowError, SourceError
from behest_lab.interchange import Bundle, recover_tool_ids
from behest_lab.records import (
    MAX_JSON_DEPTH,
    EmbeddingRecord,
    MessageRecord,
    MessageRole,
    Session,
    ToolExecution,
    ToolExecutionStatus,
    UsageRecord,
)
from behest_lab.sources._sql_connect import (
    BEHEST_COLUMNS,
    POSTGRES,
    SchemaInfo,
    SqlDialect,
    SqlTarget,
    connect,
    parse_url,
    server_rows,
)
from behest_lab.sources._sql_digest import (
    _is_uuid,
    _key_filters,
    _quote,
    _without,
    aggregate_sql,
    fingerprint_sql,
    in_list,
)
from behest_lab.sources.base import (
    DIGEST_MODULUS,
    DIGEST_SCHEMA,
    FINGERPRINT_SCHEMA,
    BadRowHandler,
    Want,
    provenance_for,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_U64 = 1 << 64
_ROLES = {r.value for r in MessageRole}
_STATUSES = {s.value for s in ToolExecutionStatus}
_CHILDREN = ("messages", "tool_executions", "usage_records")
#: Sessions read per round of queries.
SESSIONS_PER_QUERY = 200
_TEXT_COLUMNS = {"id", "session_id", "message_id", "metadata", "content", "tool_calls", "usage", "compaction_meta"}
_TEXT_COLUMNS |= {"arguments", "result", "vector"}


# --- server-side SQL ------------------------------------------------------------------------------------------


def _expr(d: SqlDialect, column: str) -> str:
    """The server expression that reads ``column`` as behest_lab decodes it."""
    q = _quote(d, column)
    if column == "created_at" or column == "updated_at":
        if d is POSTGRES:
            return f"(extract(epoch FROM {q}) * 1000000)::bigint"
        return f"TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', {q})"
    if column in _TEXT_COLUMNS:
        return f"{q}::text" if d is POSTGRES else f"CAST({q} AS CHAR)"
    if column in ("is_compaction", "is_summary") and d is POSTGRES:
        return f"{q}::int"
    return q


_DEFAULTS = {"is_compaction": "0", "is_summary": "0", "compaction_meta": "NULL"}


def select_sql(d: SqlDialect, table: str, schema: SchemaInfo) -> str:
    """``SELECT`` of ``table``'s behest columns (missing compaction columns read as behest's defaults)."""
    cols = []
    for c in BEHEST_COLUMNS[table]:
        expr = _expr(d, c) if schema.has(table, c) else _DEFAULTS[c]
        cols.append(f"{expr} AS {_quote(d, c)}")
    return f"SELECT {', '.join(cols)} FROM {table}"


# --- cells -> values -----------------------------------------------------------------------------------------


def _text(value: Any, column: str) -> str:
    if not isinstance(value, str):
        raise BadRowError(f"{column}: expected text, got {'NULL' if value is None else type(value).__name__}")
    return value


def _uuid(value: Any, column: str) -> UUID:
    try:
        return UUID(_text(value, column))
    except ValueError:
        raise BadRowError(f"{column}: not a UUID: {value!r}") from None


def _time(value: Any, column: str) -> datetime:
    if not isinstance(value, int):
        raise BadRowError(f"{column}: expected a timestamp, got {'NULL' if value is None else value!r}")
    try:
        return _EPOCH + timedelta(microseconds=value)
    except OverflowError:
        raise BadRowError(f"{column}: timestamp out of range ({value} µs since 1970)") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (JSON numbers are finite)")


def _json(value: Any, column: str, *, nullable: bool = False) -> Any:
    if value is None and nullable:
        return None
    try:
        return json.loads(_text(value, column), parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise BadRowError(f"{column}: invalid JSON: {exc.msg} at column {exc.colno}") from None
    except ValueError as exc:
        raise BadRowError(f"{column}: invalid JSON: {exc}") from None
    except RecursionError:
        raise BadRowError(f"{column}: JSON nested deeper than records hold ({MAX_JSON_DEPTH} levels)") from None


def _int(value: Any, column: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRowError(f"{column}: expected an integer, got {value!r}")
    return value


def _flag(value: Any, column: str) -> bool:
    if isinstance(value, bool):  # DuckDB's MySQL scanner reads TINYINT(1) (MySQL's BOOLEAN) as a boolean
        return value
    return _int(value, column) != 0


def _tokens(value: Any, column: str) -> int:
    v = _int(value, column)
    return v + _U64 if v < 0 else v  # behest writes u64 with a wrapping cast to i64 and reads it back so


def parse_vector(text: str) -> list[float]:
    """Parse pgvector's text form ``[0.1,0.2,...]`` as floats (every element must parse; ``[]`` is empty).

    Raises:
        BadRowError: not pgvector's text form.
    """
    body = text.strip()
    if not (body.startswith("[") and body.endswith("]")):
        raise BadRowError(f"vector: not pgvector's text form [x,y,...]: {text[:40]!r}")
    inner = body[1:-1].strip()
    if not inner:
        return []
    try:
        return [float(x) for x in inner.split(",")]
    except ValueError:
        raise BadRowError(f"vector: an element is not a number: {text[:40]!r}") from None


def _build(make: Callable[[], Any]) -> Any:
    try:
        return make()
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise BadRowError(f"{loc}: {err['msg']}" if loc else str(err["msg"])) from None


# --- rows -> records -----------------------------------------------------------------------------------------


def decode_session(r: dict[str, Any]) -> Session:
    """A ``sessions`` row as a ``Session``."""
    fields = {
        "id": _uuid(r["id"], "id"),
        "title": _text(r["title"], "title"),
        "model": _text(r["model"], "model"),
        "metadata": _json(r["metadata"], "metadata", nullable=True),
        "created_at": _time(r["created_at"], "created_at"),
        "updated_at": _time(r["updated_at"], "updated_at"),
    }
    return _build(lambda: Session(**fields))  # type: ignore[no-any-return]


def decode_message(r: dict[str, Any]) -> MessageRecord:
    """A ``messages`` row as a ``MessageRecord`` (unknown roles read as ``user``, as behest does)."""
    role = _text(r["role"], "role")
    data = {
        "id": _uuid(r["id"], "id"),
        "session_id": _uuid(r["session_id"], "session_id"),
        "role": role if role in _ROLES else "user",
        "content": _json(r["content"], "content"),
        "tool_calls": _json(r["tool_calls"], "tool_calls"),
        "usage": _json(r["usage"], "usage", nullable=True),
        "created_at": _time(r["created_at"], "created_at"),
        "is_compaction": _flag(r["is_compaction"], "is_compaction"),
        "is_summary": _flag(r["is_summary"], "is_summary"),
        "compaction_meta": _json(r["compaction_meta"], "compaction_meta", nullable=True),
    }
    return _build(lambda: MessageRecord.from_dict(data))  # type: ignore[no-any-return]


def decode_execution(r: dict[str, Any]) -> ToolExecution:
    """A ``tool_executions`` row as a ``ToolExecution`` (unknown statuses read as ``pending``)."""
    status = _text(r["status"], "status")
    ms = _int(r["duration_ms"], "duration_ms")
    if ms < 0:
        raise BadRowError(f"duration_ms: negative duration {ms}")
    result = _json(r["result"], "result", nullable=True)
    fields = {
        "id": _uuid(r["id"], "id"),
        "session_id": _uuid(r["session_id"], "session_id"),
        "message_id": _uuid(r["message_id"], "message_id"),
        "call_id": _text(r["call_id"], "call_id"),
        "tool_name": _text(r["tool_name"], "tool_name"),
        "arguments": _json(r["arguments"], "arguments"),
        "result": result,
        "result_null": r["result"] is not None and result is None,  # JSON null is behest's Some(Value::Null)
        "status": status if status in _STATUSES else "pending",
        "error": None if r["error"] is None else _text(r["error"], "error"),
        "duration": ms,
        "created_at": _time(r["created_at"], "created_at"),
    }
    return _build(lambda: ToolExecution(**fields))  # type: ignore[no-any-return]


def decode_usage(r: dict[str, Any]) -> UsageRecord:
    """A ``usage_records`` row as a ``UsageRecord``."""
    fields = {
        "id": _uuid(r["id"], "id"),
        "session_id": _uuid(r["session_id"], "session_id"),
        "message_id": _uuid(r["message_id"], "message_id"),
        "provider": _text(r["provider"], "provider"),
        "model": _text(r["model"], "model"),
        "input_tokens": _tokens(r["input_tokens"], "input_tokens"),
        "output_tokens": _tokens(r["output_tokens"], "output_tokens"),
        "total_tokens": _tokens(r["total_tokens"], "total_tokens"),
        "created_at": _time(r["created_at"], "created_at"),
    }
    return _build(lambda: UsageRecord(**fields))  # type: ignore[no-any-return]


def decode_embedding(r: dict[str, Any]) -> EmbeddingRecord:
    """An ``embeddings`` row (PostgreSQL) as an ``EmbeddingRecord``.

    The vector is pgvector's text form; metadata that is not JSON reads as null, as behest's reader does.
    """
    if r["vector"] is None:
        raise BadRowError("vector: NULL (behest never writes an embedding without a vector)")
    try:
        metadata = _json(r["metadata"], "metadata", nullable=True)
    except BadRowError:
        metadata = None
    fields = {
        "id": _uuid(r["id"], "id"),
        "session_id": None if r["session_id"] is None else _uuid(r["session_id"], "session_id"),
        "model": _text(r["model"], "model"),
        "vector": parse_vector(_text(r["vector"], "vector")),
        "metadata": metadata,
        "created_at": _time(r["created_at"], "created_at"),
    }
    return _build(lambda: EmbeddingRecord(**fields))  # type: ignore[no-any-return]


DECODERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "sessions": decode_session,
    "messages": decode_message,
    "tool_executions": decode_execution,
    "usage_records": decode_usage,
    "embeddings": decode_embedding,
}


# --- the source ------------------------------------------------------------------------------------------------


class SqlSource:
    """behest's PostgreSQL or MySQL database as a source (``behest_lab.sources.base.Source``).

    Args:
        url: ``postgresql://user[:password]@host:5432/db`` or ``mysql://user[:password]@host:3306/db``.
        dialect: which backend.
        password: the password, when it is not in the URL (else the URL's, else ``PGPASSWORD``/``MYSQL_PWD``).

    Raises:
        SourceError: unreachable server, wrong credentials, not behest's tables, or a schema version behest_lab does
            not know (the message names the source without its password).
        MissingExtensionError: DuckDB's scanner extension wheel for this backend is not installed.
    """

    dialect: SqlDialect = POSTGRES

    def __init__(self, url: str, *, password: str | None = None) -> None:
        try:
            self._target: SqlTarget = parse_url(url, self.dialect, password=password)
        except ValueError as exc:
            raise SourceError(str(exc), source=self.dialect.kind, location=_safe(url)) from None
        self.kind = self.dialect.kind
        self.location = self._target.location
        self._con: duckdb.DuckDBPyConnection | None
        self._con, self.schema = connect(self._target)
        self._fp_cache: tuple[dict[str, dict[str | None, tuple[int, str]]], pa.Table] | None = None

    # --- plumbing ----------------------------------------------------------------------------------------------

    def _rows(self, query: str, names: Sequence[str]) -> list[dict[str, Any]]:
        if self._con is None:
            raise SourceError("the source is closed", source=self.kind, location=self.location)
        return [dict(zip(names, r, strict=True)) for r in server_rows(self._con, self._target, query)]

    def _error(self, reason: str, table: str | None = None, key: Any = None) -> SourceError:
        return SourceError(
            reason, source=self.kind, location=self.location, table=table, key=None if key is None else str(key)
        )

    # --- fingerprints ------------------------------------------------------------------------------------------

    def fingerprints(self) -> pa.Table:
        """One ``(table, id, session_id, fp)`` row per record; hashes computed by the server.

        The first call moves every row's id and hash. Later calls on the same source (``--watch``, repeated
        ``sync`` in a notebook) first ask the server for one ``(count, sum of hashes)`` per session and table, and
        fetch rows again only for the sessions whose aggregate changed; the rest come from the previous call.
        """
        if self._con is None:
            raise SourceError("the source is closed", source=self.kind, location=self.location)
        try:
            aggregates = {t: self._aggregates(t) for t in self.dialect.tables}
            if self._fp_cache is None:
                result = self._fingerprint_rows(dict.fromkeys(self.dialect.tables))
            else:
                before, previous = self._fp_cache
                stale: dict[str, set[str | None]] = {}
                for t in self.dialect.tables:
                    old, now = before[t], aggregates[t]
                    stale[t] = {k for k, v in now.items() if old.get(k) != v} | (set(old) - set(now))
                kept = [_without(previous, t, keys) for t, keys in stale.items()]
                fetched = self._fingerprint_rows({t: keys for t, keys in stale.items() if keys})
                result = pa.concat_tables([*kept, fetched])
        except duckdb.Error as exc:
            raise self._error(f"cannot compute fingerprints: {self._target.scrub(str(exc))}") from None
        self._fp_cache = (aggregates, result)
        return result

    def digests(self) -> pa.Table:
        """Per table and session: the row count and the sum of the rows' fingerprints, computed by the server.

        Only one row per session and table travels; the server still hashes every row.
        """
        if self._con is None:
            raise SourceError("the source is closed", source=self.kind, location=self.location)
        rows: dict[str, list[Any]] = {"table": [], "session_id": [], "n": [], "total": []}
        try:
            for table in self.dialect.tables:
                for sid, (n, total) in self._aggregates(table).items():
                    rows["table"].append(table)
                    rows["session_id"].append(sid)
                    rows["n"].append(n)
                    rows["total"].append(int(total) % DIGEST_MODULUS)
        except duckdb.Error as exc:
            raise self._error(f"cannot compute digests: {self._target.scrub(str(exc))}") from None
        return pa.table(rows, schema=DIGEST_SCHEMA)

    def session_fingerprints(self, sessions: Sequence[str | None]) -> pa.Table:
        """The fingerprint rows of ``sessions`` (every table), as ``fingerprints()`` gives them."""
        if self._con is None:
            raise SourceError("the source is closed", source=self.kind, location=self.location)
        keys = set(sessions)
        try:
            return self._fingerprint_rows(dict.fromkeys(self.dialect.tables, keys))
        except duckdb.Error as exc:
            raise self._error(f"cannot compute fingerprints: {self._target.scrub(str(exc))}") from None

    def _aggregates(self, table: str) -> dict[str | None, tuple[int, str]]:
        assert self._con is not None
        server = aggregate_sql(self.dialect, table, self.schema).replace("'", "''")
        function = self.dialect.query_function
        rows = self._con.execute(
            f"SELECT CAST(s AS VARCHAR), CAST(n AS BIGINT), CAST(h AS VARCHAR) FROM {function}('src', '{server}')"
        ).fetchall()
        return {s: (int(n), str(h)) for s, n, h in rows}

    def _fingerprint_rows(self, tables: dict[str, set[str | None] | None]) -> pa.Table:
        """Fingerprint rows of ``tables`` (None: every row; else the rows of those session keys)."""
        assert self._con is not None
        function = self.dialect.query_function
        parts = []
        for table, keys in tables.items():
            for where in _key_filters(self.dialect, table, keys):
                server = fingerprint_sql(self.dialect, table, self.schema, where).replace("'", "''")
                parts.append(
                    f"SELECT '{table}' AS \"table\", CAST(k AS VARCHAR) AS id, CAST(s AS VARCHAR) AS session_id, "
                    f"CAST((CAST(h AS HUGEINT) + {_U64}) % {_U64} AS UBIGINT) AS fp FROM {function}('src', '{server}')"
                )
        if not parts:
            return FINGERPRINT_SCHEMA.empty_table()
        return self._con.execute(" UNION ALL ".join(parts)).to_arrow_table().cast(FINGERPRINT_SCHEMA)

    # --- records -----------------------------------------------------------------------------------------------

    def read(self, want: Want | None, on_bad: BadRowHandler) -> Iterator[Bundle]:
        """Whole sessions (all, or ``want.sessions``) as bundles, then embeddings of no session.

        Rows that do not decode go to ``on_bad``.
        """
        d = self.dialect
        order = f" ORDER BY {_expr(d, 'created_at')}, {_quote(d, 'id')}"
        if want is None:
            self._orphans(on_bad)
            ids = [r["id"] for r in self._rows(f"SELECT {_expr(d, 'id')} AS id FROM sessions{order}", ["id"])]
        else:
            ids = sorted(want.sessions)
            if d is POSTGRES:  # a UUID column holds only UUIDs: other keys name nothing (and would not bind)
                ids = [i for i in ids if _is_uuid(i)]
        for i in range(0, len(ids), SESSIONS_PER_QUERY):
            yield from self._bundles(ids[i : i + SESSIONS_PER_QUERY], on_bad)
        if "embeddings" in d.tables and (want is None or want.unowned):
            yield from self._unowned(want, on_bad)

    def _select(self, table: str, where: str) -> list[dict[str, Any]]:
        d = self.dialect
        order = f" ORDER BY {_expr(d, 'created_at')}, {_quote(d, 'id')}"
        return self._rows(f"{select_sql(d, table, self.schema)} WHERE {where}{order}", BEHEST_COLUMNS[table])

    def _bundles(self, ids: list[str], on_bad: BadRowHandler) -> Iterator[Bundle]:
        keys = in_list(ids)
        sessions = self._select("sessions", f"{_quote(self.dialect, 'id')} IN {keys}")
        children = {t: self._select(t, f"session_id IN {keys}") for t in self.dialect.tables if t != "sessions"}
        grouped: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for table, rows in children.items():
            for r in rows:
                grouped.setdefault(str(r["session_id"]), {}).setdefault(table, []).append(r)
        for row in sessions:
            session = self._decode("sessions", row, on_bad)
            if session is None:
                continue
            mine = grouped.get(str(row["id"]), {})
            messages = [m for r in mine.get("messages", []) if (m := self._decode("messages", r, on_bad))]
            fixed, _, _ = recover_tool_ids(messages)  # rows come in conversation order: created_at, then id
            bundle = Bundle(session=session, messages=fixed)
            bundle.executions = [
                e for r in mine.get("tool_executions", []) if (e := self._decode("tool_executions", r, on_bad))
            ]
            bundle.usage = [u for r in mine.get("usage_records", []) if (u := self._decode("usage_records", r, on_bad))]
            bundle.embeddings = [x for r in mine.get("embeddings", []) if (x := self._decode("embeddings", r, on_bad))]
            bundle.provenance = [
                *provenance_for(self, "sessions", [session]),
                *provenance_for(self, "messages", bundle.messages),
                *provenance_for(self, "tool_executions", bundle.executions),
                *provenance_for(self, "usage_records", bundle.usage),
                *provenance_for(self, "embeddings", bundle.embeddings),
            ]
            yield bundle

    def _unowned(self, want: Want | None, on_bad: BadRowHandler) -> Iterator[Bundle]:
        where = "session_id IS NULL OR session_id NOT IN (SELECT id FROM sessions)"
        if want is not None:
            wanted = sorted(want.rows.get("embeddings", frozenset()))
            if not wanted:
                return
            where = f"({where}) AND id::text IN {in_list(wanted)}"
        rows = self._select("embeddings", where)
        records = [x for r in rows if (x := self._decode("embeddings", r, on_bad))]
        if records:
            yield Bundle(session=None, embeddings=records, provenance=provenance_for(self, "embeddings", records))

    def _orphans(self, on_bad: BadRowHandler) -> None:
        """Rows whose session is missing (foreign-key checks were off when written): reported, never read."""
        for table in _CHILDREN:
            rows = self._rows(
                f"SELECT {_expr(self.dialect, 'id')} AS id, {_expr(self.dialect, 'session_id')} AS session_id "
                f"FROM {table} WHERE session_id NOT IN (SELECT id FROM sessions)",
                ["id", "session_id"],
            )
            for r in rows:
                on_bad(self._error(f"session {r['session_id']!r} does not exist in the database", table, r["id"]))

    def _decode(self, table: str, row: dict[str, Any], on_bad: BadRowHandler) -> Any:
        try:
            return DECODERS[table](row)
        except BadRowError as exc:
            on_bad(self._error(exc.reason, table, row.get("id")))
            return None

    def close(self) -> None:
        """Close the connection; idempotent."""
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> SqlSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.location}>"


def _safe(url: str) -> str:
    from behest_lab.sources.base import redact_url

    return redact_url(url)


__all__ = ["DECODERS", "SqlSource", "decode_embedding", "parse_vector", "select_sql"]
