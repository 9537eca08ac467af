"""Lake ``ExecutionStore``: tool executions and usage records, upserted by id.

Recording order (the tie-break after ``created_at``) is DuckLake's ``rowid``: assigned in commit order across
processes, kept by updates, flushes and compaction. An upsert of an existing id updates the row in place, so the
record keeps its original position, as in the memory store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar
from uuid import UUID

import duckdb

from behest_lab.errors import NotFoundError
from behest_lab.records import SessionStats, ToolExecution, UsageRecord
from behest_lab.stores import tables
from behest_lab.stores.lake import _sql
from behest_lab.stores.lake.engine import Engine
from behest_lab.stores.rules import check_batch, check_type, compute_stats

R = TypeVar("R", ToolExecution, UsageRecord)


class LakeExecutionStore:
    """Executions, usage records and per-session stats of one lake."""

    def __init__(self, engine: Engine) -> None:
        """Work on ``engine``."""
        self._e = engine

    def _upsert(self, table: str, batch: list[R]) -> list[R]:
        if not batch:
            return batch
        self._e.check_writable()
        if len(batch) == 1:
            self._upsert_one(table, batch[0])
            return batch
        data = tables.to_arrow(table, batch)
        session_ids = list(dict.fromkeys(str(r.session_id) for r in batch))

        def body(con: duckdb.DuckDBPyConnection) -> None:
            known = self._e.known_sessions(session_ids)
            missing = _sql.missing_sessions(con, [s for s in session_ids if s not in known])
            if missing:
                raise NotFoundError(UUID(missing[0]), "session")
            updated, inserted = _sql.update_arrow(con, table, data)
            if updated or inserted:
                self._e.changed()
            self._e.remember_sessions(session_ids)

        self._e.write(body, f"upsert {table} {len(batch)}")
        return batch

    def _upsert_one(self, table: str, record: ToolExecution | UsageRecord) -> None:
        """One record: a plain insert when its id is new (the usual case), an in-place update otherwise."""
        values = tables.row_params(table, record)
        rid, sid = str(record.id), str(record.session_id)

        def body(con: duckdb.DuckDBPyConnection) -> None:
            if not self._e.known_sessions([sid]) and not _sql.has_id(con, "sessions", sid):
                raise NotFoundError(record.session_id, "session")
            if _sql.has_id(con, table, rid):
                _sql.update_row(con, table, values)
            else:
                _sql.insert_row(con, table, values)
            self._e.changed()
            self._e.remember_sessions([sid])

        self._e.write(body, f"upsert {table} 1", small=True)

    def record_execution(self, execution: ToolExecution) -> ToolExecution:
        """Insert or replace by id; the session must exist."""
        self._upsert("tool_executions", [check_type(execution, ToolExecution, "execution")])
        return execution

    def record_executions(self, executions: Sequence[ToolExecution]) -> list[ToolExecution]:
        """Bulk ``record_execution``: all or nothing."""
        return self._upsert("tool_executions", check_batch(executions, ToolExecution, "executions"))

    def list_executions(self, session_id: UUID) -> list[ToolExecution]:
        """The session's executions by ``created_at`` (ties in recording order)."""
        rows = self._e.rows(
            "SELECT * FROM tool_executions WHERE session_id = ? ORDER BY created_at, created_at_ns NULLS FIRST, rowid",
            [str(session_id)],
        )
        return [tables.execution_from_row(r) for r in rows]

    def list_executions_by_message(self, message_id: UUID) -> list[ToolExecution]:
        """Executions issued by one message, by ``created_at``."""
        rows = self._e.rows(
            "SELECT * FROM tool_executions WHERE message_id = ? ORDER BY created_at, created_at_ns NULLS FIRST, rowid",
            [str(message_id)],
        )
        return [tables.execution_from_row(r) for r in rows]

    def record_usage(self, record: UsageRecord) -> UsageRecord:
        """Insert or replace by id; the session must exist."""
        self._upsert("usage_records", [check_type(record, UsageRecord, "record")])
        return record

    def record_usages(self, records: Sequence[UsageRecord]) -> list[UsageRecord]:
        """Bulk ``record_usage``: all or nothing."""
        return self._upsert("usage_records", check_batch(records, UsageRecord, "records"))

    def list_usage(self, session_id: UUID) -> list[UsageRecord]:
        """The session's usage records by ``created_at`` (ties in recording order)."""
        rows = self._e.rows(
            "SELECT * FROM usage_records WHERE session_id = ? ORDER BY created_at, created_at_ns NULLS FIRST, rowid",
            [str(session_id)],
        )
        return [tables.usage_from_row(r) for r in rows]

    def session_stats(self, session_id: UUID) -> SessionStats:
        """Counts and sums for one session; zeros for an unknown session."""
        count = self._e.scalar("SELECT count(*) FROM messages WHERE session_id = ?", [str(session_id)])
        return compute_stats(session_id, int(count or 0), self.list_executions(session_id), self.list_usage(session_id))

    def delete_by_session(self, session_id: UUID) -> int:
        """Delete the session's executions and usage records; returns how many."""
        sid = str(session_id)

        def body(con: duckdb.DuckDBPyConnection) -> int:
            return sum(_sql.delete_ids(con, t, [sid], "session_id") for t in ("tool_executions", "usage_records"))

        return self._e.write(body, f"delete executions of {sid}")
