"""Memory ``ExecutionStore``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar
from uuid import UUID

from behest_lab.errors import NotFoundError
from behest_lab.records import SessionStats, ToolExecution, UsageRecord
from behest_lab.stores.memory._state import MemoryState
from behest_lab.stores.rules import check_batch, check_type, compute_stats

R = TypeVar("R", ToolExecution, UsageRecord)


def _ordered(bucket: dict[UUID, tuple[int, R]]) -> list[R]:
    return [r for _, r in sorted(bucket.values(), key=lambda sr: (sr[1].created_at, sr[0]))]


class MemoryExecutionStore:
    """Executions and usage records per session; upsert by id."""

    def __init__(self, state: MemoryState) -> None:
        self._s = state

    def _upsert(
        self,
        batch: list[R],
        table: dict[UUID, dict[UUID, tuple[int, R]]],
        owner: dict[UUID, UUID],
    ) -> list[R]:
        s = self._s
        with s.lock:
            for r in batch:
                if r.session_id not in s.sessions:
                    raise NotFoundError(r.session_id, "session")
            for r in batch:
                old_sid = owner.get(r.id)
                seq = next(s.seq)
                if old_sid is not None:
                    seq, _ = table[old_sid].pop(r.id)
                table.setdefault(r.session_id, {})[r.id] = (seq, r)
                owner[r.id] = r.session_id
            if batch:
                s.touch()
        return batch

    def record_execution(self, execution: ToolExecution) -> ToolExecution:
        self.record_executions([check_type(execution, ToolExecution, "execution")])
        return execution

    def record_executions(self, executions: Sequence[ToolExecution]) -> list[ToolExecution]:
        batch = check_batch(executions, ToolExecution, "executions")
        return self._upsert(batch, self._s.executions, self._s.execution_session)

    def list_executions(self, session_id: UUID) -> list[ToolExecution]:
        with self._s.lock:
            return _ordered(self._s.executions.get(session_id, {}))

    def list_executions_by_message(self, message_id: UUID) -> list[ToolExecution]:
        with self._s.lock:
            found = [
                (seq, e)
                for bucket in self._s.executions.values()
                for seq, e in bucket.values()
                if e.message_id == message_id
            ]
        return [e for _, e in sorted(found, key=lambda se: (se[1].created_at, se[0]))]

    def record_usage(self, record: UsageRecord) -> UsageRecord:
        self.record_usages([check_type(record, UsageRecord, "record")])
        return record

    def record_usages(self, records: Sequence[UsageRecord]) -> list[UsageRecord]:
        batch = check_batch(records, UsageRecord, "records")
        return self._upsert(batch, self._s.usage, self._s.usage_session)

    def list_usage(self, session_id: UUID) -> list[UsageRecord]:
        with self._s.lock:
            return _ordered(self._s.usage.get(session_id, {}))

    def session_stats(self, session_id: UUID) -> SessionStats:
        s = self._s
        with s.lock:
            bucket = s.messages.get(session_id)
            return compute_stats(
                session_id,
                len(bucket.records) if bucket else 0,
                (e for _, e in s.executions.get(session_id, {}).values()),
                (u for _, u in s.usage.get(session_id, {}).values()),
            )

    def delete_by_session(self, session_id: UUID) -> int:
        s = self._s
        with s.lock:
            executions = s.executions.pop(session_id, {})
            usage = s.usage.pop(session_id, {})
            for id_ in executions:
                s.execution_session.pop(id_, None)
            for id_ in usage:
                s.usage_session.pop(id_, None)
            if executions or usage:
                s.touch()
            return len(executions) + len(usage)
