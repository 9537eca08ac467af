"""Import from and export to the SQLite database of behest's ``SqlSessionStore``/``SqlExecutionStore``.

What the database holds (``behest_schema``, spec §4.1): text ids, RFC 3339 timestamps (``+00:00`` from behest's
``to_rfc3339()``, ``Z`` from the DDL defaults, 0-9 fraction digits), JSON text for content, tool calls, usage,
metadata, compaction metadata, arguments and results, 0/1 integer flags, whole-millisecond durations and i64 token
counts (values above 2**63-1 wrapped negative).

Import follows behest's SQL readers: unknown roles become ``user`` and unknown statuses ``pending`` (both counted
in the report), ``usage`` may have behest 0.3.1's 3 keys or 0.5.9's 6, ``metadata`` may be the text ``null``.
behest's schema has no ``tool_call_id``/``tool_name`` columns; the importer recovers them by pairing each tool
message, in order, with the unanswered calls of the preceding assistant message. Sessions keep their stored
``updated_at``. The source is opened read-only.

Export writes behest's shapes (``+00:00`` timestamps with 0/3/6/9 fraction digits and 4-digit years, so ``ORDER
BY created_at`` is chronological; ``tool_calls`` ``[]`` when empty; ``usage`` NULL or the TokenUsage JSON with the
keys it was read with; ``metadata`` the JSON text of the value; a ``Some(null)`` result as the text ``null``) with
``PRAGMA foreign_keys=ON``, in one transaction. The schema cannot hold embeddings, artifacts, tool-result ids,
usage records' cache counters or sub-millisecond durations, and behest's SQL clamps durations to ``i64::MAX`` ms;
the returned report counts what was left out. Export into a database that behest created and migrated, or into a
new file: it gets behest's tables and sqlx's ``_sqlx_migrations`` rows from ``behest_schema``, so behest's own
``migrate()`` finds every migration applied.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pydantic_core

from behest_lab.errors import BadRowError, InterchangeError
from behest_lab.interchange._batch import ImportWriter, loads, parse
from behest_lab.interchange._progress import progress_bar
from behest_lab.interchange._report import ExportReport, ImportReport
from behest_lab.interchange._source import count, iter_bundles
from behest_lab.interchange.behest_schema import COLUMNS, COMPACTION_COLUMNS, create_behest_schema, table_columns
from behest_lab.records import (
    LongDuration,
    MessageRecord,
    MessageRole,
    Session,
    ToolExecution,
    ToolExecutionStatus,
    UsageRecord,
    format_timestamp_sql,
    parse_timestamp,
)
from behest_lab.stores.protocols import Store

_U64 = 1 << 64
_I64_MAX = (1 << 63) - 1
_MAX_VARIABLES = 900
_ROLES = {r.value for r in MessageRole}
_STATUSES = {s.value for s in ToolExecutionStatus}

# --- reading cells ---------------------------------------------------------------------------------------------


def _text(value: Any, column: str) -> str:
    if not isinstance(value, str):
        raise BadRowError(f"{column}: expected text, got {_sql_type(value)}")
    return value


def _sql_type(value: Any) -> str:
    return {type(None): "NULL", int: "INTEGER", float: "REAL", bytes: "BLOB", str: "TEXT"}.get(type(value), "?")


def _uuid(value: Any, column: str) -> UUID:
    try:
        return UUID(_text(value, column))
    except ValueError:
        raise BadRowError(f"{column}: not a UUID: {value!r}") from None


def _time(value: Any, column: str) -> datetime:
    try:
        return parse_timestamp(_text(value, column))
    except ValueError as exc:
        raise BadRowError(f"{column}: {exc}") from None


def _json(value: Any, column: str, *, nullable: bool = False) -> Any:
    if value is None and nullable:
        return None
    return loads(_text(value, column), f"{column}: invalid JSON")


def _int(value: Any, column: str) -> int:
    if not isinstance(value, int):
        raise BadRowError(f"{column}: expected an integer, got {_sql_type(value)} {value!r}")
    return value


def _tokens(value: Any, column: str) -> int:
    # behest writes u64 counters with a wrapping cast to i64 and reads them back the same way
    v = _int(value, column)
    return v + _U64 if v < 0 else v


# --- rows -> records -------------------------------------------------------------------------------------------


def _session(row: sqlite3.Row) -> Session:
    sid = _uuid(row["id"], "id")
    title, model = _text(row["title"], "title"), _text(row["model"], "model")
    created, updated = _time(row["created_at"], "created_at"), _time(row["updated_at"], "updated_at")
    # NOT NULL in behest's migration; a NULL from another writer reads as JSON null rather than failing
    metadata = _json(row["metadata"], "metadata", nullable=True)
    return parse(  # type: ignore[no-any-return]
        lambda: Session(id=sid, title=title, model=model, created_at=created, updated_at=updated, metadata=metadata)
    )


def _message(row: sqlite3.Row) -> tuple[MessageRecord, str | None]:
    role = _text(row["role"], "role")
    mapped = None if role in _ROLES else role
    data = {
        "id": _uuid(row["id"], "id"),
        "session_id": _uuid(row["session_id"], "session_id"),
        "role": "user" if mapped is not None else role,
        "content": _json(row["content"], "content"),
        "tool_calls": _json(row["tool_calls"], "tool_calls"),
        "usage": _json(row["usage"], "usage", nullable=True),
        "created_at": _time(row["created_at"], "created_at"),
        "is_compaction": _int(row["is_compaction"], "is_compaction") != 0,
        "is_summary": _int(row["is_summary"], "is_summary") != 0,
        "compaction_meta": _json(row["compaction_meta"], "compaction_meta", nullable=True),
    }
    return parse(lambda: MessageRecord.from_dict(data)), mapped


def _execution(row: sqlite3.Row) -> tuple[ToolExecution, str | None]:
    status = _text(row["status"], "status")
    mapped = None if status in _STATUSES else status
    ms = _int(row["duration_ms"], "duration_ms")
    if ms < 0:
        raise BadRowError(f"duration_ms: negative duration {ms}")
    fields = {
        "id": _uuid(row["id"], "id"),
        "session_id": _uuid(row["session_id"], "session_id"),
        "message_id": _uuid(row["message_id"], "message_id"),
        "call_id": _text(row["call_id"], "call_id"),
        "tool_name": _text(row["tool_name"], "tool_name"),
        "arguments": _json(row["arguments"], "arguments"),
        "result": (result := _json(row["result"], "result", nullable=True)),
        # the text 'null' is behest's Some(Value::Null), SQL NULL its None
        "result_null": row["result"] is not None and result is None,
        "status": "pending" if mapped is not None else status,
        "error": None if row["error"] is None else _text(row["error"], "error"),
        "duration": ms,  # whole milliseconds; a LongDuration beyond what a timedelta holds
        "created_at": _time(row["created_at"], "created_at"),
    }
    return parse(lambda: ToolExecution(**fields)), mapped


def _usage(row: sqlite3.Row) -> UsageRecord:
    fields = {
        "id": _uuid(row["id"], "id"),
        "session_id": _uuid(row["session_id"], "session_id"),
        "message_id": _uuid(row["message_id"], "message_id"),
        "provider": _text(row["provider"], "provider"),
        "model": _text(row["model"], "model"),
        "input_tokens": _tokens(row["input_tokens"], "input_tokens"),
        "output_tokens": _tokens(row["output_tokens"], "output_tokens"),
        "total_tokens": _tokens(row["total_tokens"], "total_tokens"),
        "created_at": _time(row["created_at"], "created_at"),
    }
    return parse(lambda: UsageRecord(**fields))  # type: ignore[no-any-return]


def recover_tool_ids(messages: list[MessageRecord]) -> tuple[list[MessageRecord], int, int]:
    """Give tool messages the ``tool_call_id``/``tool_name`` of the call they answer.

    Walks ``messages`` (one session, conversation order): each assistant message opens its ``tool_calls`` as a
    queue; each following tool message without ids takes the next call of the queue. Returns the messages, how
    many were given ids and how many tool messages found no call left to pair with.
    """
    out: list[MessageRecord] = []
    queue: list[Any] = []
    recovered = unpaired = 0
    for m in messages:
        if m.role is MessageRole.ASSISTANT:
            queue = list(m.tool_calls)
        elif m.role is MessageRole.TOOL and m.tool_call_id is None and m.tool_name is None:
            if queue:
                call = queue.pop(0)
                m = m.with_tool_result(call.id, call.name)
                recovered += 1
            else:
                unpaired += 1
        out.append(m)
    return out, recovered, unpaired


# --- import ----------------------------------------------------------------------------------------------------


def _open_ro(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise InterchangeError("no such file", path=str(path))
    try:
        con = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
        con.row_factory = sqlite3.Row
        found = table_columns(con)
    except sqlite3.DatabaseError as exc:
        raise InterchangeError(f"cannot read as SQLite: {exc}", path=str(path)) from exc
    for table, cols in COLUMNS.items():
        if table not in found:
            con.close()
            raise InterchangeError("not a behest database: the table is missing", path=str(path), table=table)
        missing = [c for c in cols if c not in found[table] and c not in COMPACTION_COLUMNS]
        if missing:
            con.close()
            raise InterchangeError(f"not a behest database: missing columns {missing}", path=str(path), table=table)
    return con


def _select(table: str, present: set[str]) -> str:
    # a database that stopped before migration 005 has no compaction columns: read them as behest's defaults
    defaults = {"is_compaction": "0", "is_summary": "0", "compaction_meta": "NULL"}
    cols = [c if c in present else f"{defaults[c]} AS {c}" for c in COLUMNS[table]]
    return f"SELECT rowid AS _rowid, {', '.join(cols)} FROM {table}"


def import_behest_sqlite(
    store: Store,
    path: str | os.PathLike[str],
    *,
    skip_bad: bool = False,
    batch_sessions: int = 50,
    progress: bool | None = None,
) -> ImportReport:
    """Import a behest SQLite database into ``store`` (see the module docstring for the mapping).

    Sessions are read ``batch_sessions`` at a time with their messages, executions and usage records; each batch
    is written in one commit (``Store.write_batch``), so it lands completely or not at all, even when the process
    is killed. Ids already in the store are skipped: re-importing adds nothing, and re-running an interrupted
    import writes the batches that are missing.

    Args:
        store: The target ``Store``.
        path: The SQLite file (opened read-only).
        skip_bad: Skip bad rows and count them in the report instead of stopping at the first one.
        batch_sessions: Sessions per batch (bounds memory).
        progress: Show a progress bar (None: only on a terminal or in a notebook).

    Returns:
        Counts per table, duplicates, skipped rows, mapped roles/statuses, recovered tool ids.

    Raises:
        InterchangeError: The file is not a readable behest database, or (without ``skip_bad``) a row is bad:
            ``.table`` and ``.row_id`` name it and ``.line`` is its SQLite ``rowid``. Batches before it stay
            imported (re-running after a fix skips them as duplicates).
    """
    if batch_sessions < 1:
        raise ValueError("batch_sessions must be at least 1")
    source = Path(path)
    con = _open_ro(source)
    try:
        return _import(con, store, source, skip_bad=skip_bad, batch_sessions=batch_sessions, progress=progress)
    except sqlite3.DatabaseError as exc:
        raise InterchangeError(f"reading failed: {exc}", path=str(source)) from exc
    finally:
        con.close()


def _import(
    con: sqlite3.Connection, store: Store, source: Path, *, skip_bad: bool, batch_sessions: int, progress: bool | None
) -> ImportReport:
    report = ImportReport(path=str(source), format="behest-sqlite")
    writer = ImportWriter(store, report, path=str(source), skip_bad=skip_bad)
    present = table_columns(con)
    selects = {t: _select(t, present[t]) for t in COLUMNS}

    # rows whose session row is missing (possible when foreign keys were off) are never reached by the
    # per-session reads below: report them first, before anything is written
    for table in ("messages", "tool_executions", "usage_records"):
        orphans = con.execute(
            f"SELECT rowid, id, session_id FROM {table} WHERE session_id NOT IN (SELECT id FROM sessions)"
        )
        for rowid, rid, sid in orphans:
            writer.read(table)
            writer.bad(table, f"session {sid!r} does not exist in the database", line=rowid, row_id=str(rid))

    total = con.execute("SELECT count(*) FROM sessions").fetchone()[0]
    cursor = con.execute(selects["sessions"] + " ORDER BY rowid")
    with progress_bar(progress, total=total, desc="import behest sqlite", unit="session") as bar:
        while rows := cursor.fetchmany(batch_sessions):
            for row in rows:
                _add(writer, "sessions", row, _session)
            raw_ids = [r["id"] for r in rows]
            children = {
                t: _children(con, selects[t], raw_ids) for t in ("messages", "tool_executions", "usage_records")
            }
            _add_messages(writer, children["messages"])
            for row in children["tool_executions"]:
                _add(writer, "tool_executions", row, _execution, mapped=report.statuses_mapped)
            for row in children["usage_records"]:
                _add(writer, "usage_records", row, _usage)
            writer.flush()
            bar.update(len(rows))
    return report


def _children(con: sqlite3.Connection, select: str, session_ids: list[Any]) -> list[sqlite3.Row]:
    """Rows of these sessions in rowid order (ids bound in chunks: old SQLite allows 999 variables)."""
    found: list[sqlite3.Row] = []
    for i in range(0, len(session_ids), _MAX_VARIABLES):
        chunk = session_ids[i : i + _MAX_VARIABLES]
        found += con.execute(f"{select} WHERE session_id IN ({','.join('?' * len(chunk))})", chunk).fetchall()
    found.sort(key=lambda r: r["_rowid"])
    return found


def _add(
    writer: ImportWriter,
    table: str,
    row: sqlite3.Row,
    convert: Callable[[sqlite3.Row], Any],
    *,
    mapped: Any = None,
) -> None:
    writer.read(table)
    if writer.seen(table, row["id"]):
        return
    try:
        result = convert(row)
    except BadRowError as exc:
        writer.bad(table, exc.reason, line=row["_rowid"], row_id=_raw_id(row))
        return
    record, unknown = result if isinstance(result, tuple) else (result, None)
    if writer.add(table, record, line=row["_rowid"]) and unknown is not None:
        mapped[unknown] += 1


def _raw_id(row: sqlite3.Row) -> str | None:
    value = row["id"]
    return None if value is None else str(value)


def _add_messages(writer: ImportWriter, rows: list[sqlite3.Row]) -> None:
    report = writer.report
    by_session: dict[object, list[sqlite3.Row]] = {}
    for row in rows:
        by_session.setdefault(row["session_id"], []).append(row)
    parsed: dict[UUID, list[tuple[MessageRecord, int, str | None]]] = {}
    for group in by_session.values():
        if all(writer.known_id("messages", row["id"]) for row in group):
            # a session imported before, unchanged: nothing to parse (tool-id pairing needs whole sessions)
            report.tables["messages"].read += len(group)
            report.tables["messages"].duplicates += len(group)
            continue
        for row in group:
            writer.read("messages")
            try:
                m, unknown = _message(row)
            except BadRowError as exc:
                writer.bad("messages", exc.reason, line=row["_rowid"], row_id=_raw_id(row))
                continue
            parsed.setdefault(m.session_id, []).append((m, row["_rowid"], unknown))
    for items in parsed.values():
        # conversation order: time, then insertion order (behest appends with created_at = now)
        items.sort(key=lambda it: (it[0].created_at, it[1]))
        fixed, recovered, unpaired = recover_tool_ids([m for m, _, _ in items])
        report.tool_ids_recovered += recovered
        report.tool_ids_unpaired += unpaired
        for m, (_, rowid, unknown) in zip(fixed, items, strict=True):
            if writer.add("messages", m, line=rowid) and unknown is not None:
                report.roles_mapped[unknown] += 1


# --- export ----------------------------------------------------------------------------------------------------


def _json_text(value: Any) -> str:
    """serde_json's text for a JSON value (pydantic-core writes numbers as serde_json 1.0.150 does)."""
    return pydantic_core.to_json(value).decode()


def _wrap(v: int) -> int:
    return v - _U64 if v > _I64_MAX else v


def _session_row(s: Session) -> tuple[Any, ...]:
    return (
        str(s.id),
        s.title,
        s.model,
        _json_text(s.metadata),
        format_timestamp_sql(s.created_at),
        format_timestamp_sql(s.updated_at),
    )


def _message_row(m: MessageRecord) -> tuple[Any, ...]:
    return (
        str(m.id),
        str(m.session_id),
        m.role.value,
        "[" + ",".join(p.model_dump_json() for p in m.content) + "]",
        "[" + ",".join(c.model_dump_json() for c in m.tool_calls) + "]",
        None if m.usage is None else m.usage.model_dump_json(),
        format_timestamp_sql(m.created_at),
        int(m.is_compaction),
        int(m.is_summary),
        None if m.compaction_meta is None else m.compaction_meta.model_dump_json(),
    )


def _execution_row(e: ToolExecution) -> tuple[Any, ...]:
    return (
        str(e.id),
        str(e.session_id),
        str(e.message_id),
        e.call_id,
        e.tool_name,
        _json_text(e.arguments),
        "null" if e.result_null else None if e.result is None else _json_text(e.result),
        e.status.value,
        e.error,
        min(e.duration_ms, _I64_MAX),
        format_timestamp_sql(e.created_at),
    )


def _usage_row(u: UsageRecord) -> tuple[Any, ...]:
    return (
        str(u.id),
        str(u.session_id),
        str(u.message_id),
        u.provider,
        u.model,
        _wrap(u.input_tokens),
        _wrap(u.output_tokens),
        _wrap(u.total_tokens),
        format_timestamp_sql(u.created_at),
    )


def _insert_sql(table: str) -> str:
    cols = COLUMNS[table]
    return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) ON CONFLICT(id) DO NOTHING"


def _open_target(path: Path, migrated_at: datetime | None = None) -> tuple[sqlite3.Connection, bool]:
    """Connection to the target and whether behest's schema was created in it."""
    try:
        con = sqlite3.connect(path, isolation_level=None)
        con.execute("PRAGMA foreign_keys=ON")
        found = table_columns(con)
    except sqlite3.DatabaseError as exc:
        raise InterchangeError(f"cannot open as SQLite: {exc}", path=str(path)) from exc
    if not found:
        create_behest_schema(con, installed_on=migrated_at)
        return con, True
    for table, cols in COLUMNS.items():
        missing = [c for c in cols if c not in found.get(table, set())]
        if missing:
            con.close()
            raise InterchangeError(
                f"the database has other tables than behest's: missing columns {missing}", path=str(path), table=table
            )
    return con, False


def export_behest_sqlite(
    store: Store,
    path: str | os.PathLike[str],
    *,
    batch_sessions: int = 50,
    progress: bool | None = None,
    migrated_at: datetime | None = None,
) -> ExportReport:
    """Write sessions, messages, tool executions and usage records of ``store`` into a behest SQLite database.

    ``path`` is either a database behest created (rows are inserted into its tables; ids it already holds are
    left alone and counted as ``existing``) or a new/empty file, which gets behest's schema and sqlx's record of
    behest's migrations (``behest_schema.create_behest_schema``). Everything is written in one transaction: on
    error nothing is kept.

    Args:
        store: The source ``Store``.
        path: The SQLite file.
        batch_sessions: Sessions read from the store per query.
        progress: Show a progress bar (None: only on a terminal or in a notebook).
        migrated_at: For a new file: the ``installed_on`` time its ``_sqlx_migrations`` rows record (with execution
            times of 0), so the same data gives the same bytes; None records the current time, as sqlx does.

    Returns:
        Rows written and already present per table, records with no table in behest's schema (``not_exported``:
        embeddings, artifacts) and fields the schema drops (``lossy``).
    """
    target = Path(path)
    existed = target.exists()
    con, _ = _open_target(target, migrated_at)
    report = ExportReport(path=str(target), format="behest-sqlite")
    tables = ("sessions", "messages", "tool_executions", "usage_records")
    written = dict.fromkeys(tables, 0)
    offered = dict.fromkeys(tables, 0)
    not_exported = {"embeddings": 0, "artifacts": 0}
    lossy = {"messages.tool_call_id/tool_name": 0, "usage_records.cache counters": 0, "tool_executions.sub-ms": 0}
    makers: dict[str, Callable[[Any], tuple[Any, ...]]] = {
        "sessions": _session_row,
        "messages": _message_row,
        "tool_executions": _execution_row,
        "usage_records": _usage_row,
    }
    ok = False
    try:
        con.execute("BEGIN")
        with progress_bar(progress, total=count(store, "sessions"), desc="export behest sqlite", unit="session") as bar:
            for b in iter_bundles(store, batch_sessions=batch_sessions):
                groups: dict[str, list[Any]] = {
                    "sessions": [] if b.session is None else [b.session],
                    "messages": b.messages,
                    "tool_executions": b.executions,
                    "usage_records": b.usage,
                }
                for table, records in groups.items():
                    if records:
                        cur = con.executemany(_insert_sql(table), [makers[table](r) for r in records])
                        written[table] += cur.rowcount
                        offered[table] += len(records)
                not_exported["embeddings"] += len(b.embeddings)
                not_exported["artifacts"] += len(b.artifacts)
                lossy["messages.tool_call_id/tool_name"] += sum(
                    m.tool_call_id is not None or m.tool_name is not None for m in b.messages
                )
                lossy["usage_records.cache counters"] += sum(
                    (u.cache_creation_input_tokens, u.cache_read_input_tokens, u.cached_input_tokens)
                    != (None, None, None)
                    for u in b.usage
                )
                lossy["tool_executions.sub-ms"] += sum(
                    not isinstance(e.duration, LongDuration) and e.duration % timedelta(milliseconds=1) > timedelta(0)
                    for e in b.executions
                )
                if b.session is not None:
                    bar.update(1)
        con.execute("COMMIT")
        ok = True
    except sqlite3.DatabaseError as exc:
        raise InterchangeError(f"writing failed, nothing was kept: {exc}", path=str(target)) from exc
    finally:
        if not ok and con.in_transaction:
            con.execute("ROLLBACK")
        con.close()
        if not ok and not existed:
            target.unlink(missing_ok=True)
    report.written = written
    report.existing = {t: offered[t] - written[t] for t in tables}
    report.not_exported = not_exported
    report.lossy = lossy
    return report


# --- the reader, shared with ``behest_lab.sources.sqlite`` ---------------------------------------------------------

#: Raised by the row decoders below; ``.reason`` says why the row cannot become a record.
RowError = BadRowError
#: Decoders of one row of each behest table (``sqlite3.Row`` from ``select_sql``); messages and executions return
#: ``(record, unknown role/status text or None)``.
ROW_DECODERS: dict[str, Callable[[sqlite3.Row], Any]] = {
    "sessions": _session,
    "messages": _message,
    "tool_executions": _execution,
    "usage_records": _usage,
}
open_behest_sqlite = _open_ro
select_sql = _select

__all__ = [
    "ROW_DECODERS",
    "RowError",
    "export_behest_sqlite",
    "import_behest_sqlite",
    "open_behest_sqlite",
    "recover_tool_ids",
    "select_sql",
]
