"""``MemoryStore.write_batch``: records of several tables in one step under the state's lock.

Everything that could make a bulk method refuse its records is checked first, across the whole batch; then the
bulk methods run, still under the lock that every read and write of the store takes. No reader sees part of the
batch, and a refused batch changes nothing.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar
from uuid import UUID

from behest_lab.errors import AlreadyExistsError, NotFoundError
from behest_lab.records import (
    Artifact,
    EmbeddingRecord,
    MessageRecord,
    Provenance,
    Session,
    ToolExecution,
    UsageRecord,
)
from behest_lab.stores import provenance as provenance_table
from behest_lab.stores.memory._state import MemoryState
from behest_lab.stores.protocols import Record, Store
from behest_lab.stores.rules import check_batch

if TYPE_CHECKING:
    from behest_lab.stores.memory import MemoryStore

V = TypeVar("V")


def write_batch(
    store: MemoryStore,
    state: MemoryState,
    *,
    sessions: Sequence[Session] = (),
    messages: Sequence[MessageRecord] = (),
    executions: Sequence[ToolExecution] = (),
    usages: Sequence[UsageRecord] = (),
    embeddings: Sequence[EmbeddingRecord] = (),
    artifacts: Sequence[Artifact] = (),
    touch_sessions: bool = True,
    replace: Sequence[Record] = (),
    delete: Sequence[tuple[str, UUID]] = (),
    provenance: Sequence[Provenance] = (),
    fingerprints: Sequence[int | None] = (),
) -> None:
    """Check the whole batch against ``state``, then write it with ``store``'s bulk methods.

    See ``Store.write_batch``.
    """
    new = NewRecords.check(sessions, messages, executions, usages, embeddings, artifacts)
    swaps = split_replacements(replace)
    rows = provenance_table.check_rows(provenance)
    if fingerprints and len(fingerprints) != len(rows):
        raise ValueError(f"{len(fingerprints)} fingerprints for {len(rows)} provenance rows")
    check_deletions(delete)
    with state.lock:
        _check_against(state, new, swaps)
        new.add(store, touch_sessions=touch_sessions)
        _replace(store, state, swaps)
        _delete(store, state, delete)
        for i, p in enumerate(rows):
            state.provenance[(p.record_id, p.table, p.location)] = (p, fingerprints[i] if fingerprints else None)
        state.touch()


@dataclass(frozen=True)
class NewRecords:
    """The new records of a batch, per table, each list checked by ``check_batch``."""

    sessions: list[Session]
    messages: list[MessageRecord]
    executions: list[ToolExecution]
    usages: list[UsageRecord]
    embeddings: list[EmbeddingRecord]
    artifacts: list[Artifact]

    @classmethod
    def check(
        cls,
        sessions: Sequence[Session],
        messages: Sequence[MessageRecord],
        executions: Sequence[ToolExecution],
        usages: Sequence[UsageRecord],
        embeddings: Sequence[EmbeddingRecord],
        artifacts: Sequence[Artifact],
    ) -> NewRecords:
        """The ``write_batch`` arguments as lists, each passed through ``check_batch`` (which raises on bad ones)."""
        return cls(
            sessions=check_batch(sessions, Session, "sessions"),
            messages=check_batch(messages, MessageRecord, "messages"),
            executions=check_batch(executions, ToolExecution, "executions"),
            usages=check_batch(usages, UsageRecord, "usages"),
            embeddings=check_batch(embeddings, EmbeddingRecord, "embeddings"),
            artifacts=check_batch(artifacts, Artifact, "artifacts"),
        )

    def counts(self) -> dict[str, int]:
        """How many records each table gets, keyed by the ``write_batch`` argument name."""
        return {
            "sessions": len(self.sessions),
            "messages": len(self.messages),
            "executions": len(self.executions),
            "usages": len(self.usages),
            "embeddings": len(self.embeddings),
            "artifacts": len(self.artifacts),
        }

    def add(self, store: Store, *, touch_sessions: bool) -> None:
        """Write the records with ``store``'s bulk methods, parents first; tables without records are skipped."""
        if self.sessions:
            store.sessions.create_sessions(self.sessions)
        if self.messages:
            store.sessions.append_messages(self.messages, touch_session=touch_sessions)
        if self.executions:
            store.executions.record_executions(self.executions)
        if self.usages:
            store.executions.record_usages(self.usages)
        if self.embeddings:
            store.embeddings.upsert_many(self.embeddings)
        if self.artifacts:
            store.artifacts.put_many(self.artifacts)


def _check_against(state: MemoryState, new: NewRecords, swaps: dict[type, list[Record]]) -> None:
    """The checks the bulk methods make one by one, in the same order, for the whole batch against ``state``."""
    for s in new.sessions:
        if s.id in state.sessions:
            raise AlreadyExistsError(s.id, "session")
    owners = state.sessions.keys() | {s.id for s in new.sessions}
    for m in new.messages:
        if m.session_id not in owners:
            raise NotFoundError(m.session_id, "session")
        if m.id in state.message_session:
            raise AlreadyExistsError(m.id, "message")
    owners = owners | {s.id for s in swaps[Session]}
    swapped = [*swaps[ToolExecution], *swaps[UsageRecord], *swaps[MessageRecord]]
    for owner in [
        *(e.session_id for e in new.executions),
        *(u.session_id for u in new.usages),
        *(r.session_id for r in swapped if isinstance(r, ToolExecution | UsageRecord | MessageRecord)),
    ]:
        if owner not in owners:
            raise NotFoundError(owner, "session")


def check_deletions(delete: Sequence[tuple[str, UUID]]) -> None:
    """``ValueError`` when a ``write_batch(delete=...)`` pair names a table outside ``DELETABLE``."""
    for table, _ in delete:
        if table not in DELETABLE:
            raise ValueError(f"delete: unknown table {table!r}")


#: Tables ``write_batch(delete=...)`` deletes from.
DELETABLE = ("sessions", "messages", "tool_executions", "usage_records", "embeddings", "artifacts")


def split_replacements(records: Sequence[Record]) -> dict[type, list[Record]]:
    """``records`` by class (every record class is a key).

    Raises:
        TypeError: An element is not a record.
    """
    out: dict[type, list[Record]] = {
        c: [] for c in (Session, MessageRecord, ToolExecution, UsageRecord, EmbeddingRecord, Artifact)
    }
    for r in records:
        bucket = out.get(type(r))
        if bucket is None:
            raise TypeError(f"replace: expected records, got {type(r).__name__}")
        bucket.append(r)
    return out


def _replace(store: MemoryStore, state: MemoryState, swaps: dict[type, list[Record]]) -> None:
    for session in swaps[Session]:
        assert isinstance(session, Session)
        if session.id in state.sessions:
            state.sessions[session.id] = session
        else:
            store.sessions.create_sessions([session])
    for m in swaps[MessageRecord]:
        assert isinstance(m, MessageRecord)
        owner = state.message_session.get(m.id)
        if owner is None:
            store.sessions.append_messages([m], touch_session=False)
            continue
        bucket = state.messages[owner]
        seq = state.message_seq[m.id]
        i = next(k for k, r in enumerate(bucket.records) if r.id == m.id)
        del bucket.records[i], bucket.keys[i]
        key = (m.created_at, seq)
        j = bisect.bisect_right(bucket.keys, key)
        bucket.keys.insert(j, key)
        bucket.records.insert(j, m)
    if swaps[ToolExecution]:
        store.executions.record_executions(swaps[ToolExecution])  # type: ignore[arg-type]
    if swaps[UsageRecord]:
        store.executions.record_usages(swaps[UsageRecord])  # type: ignore[arg-type]
    if swaps[EmbeddingRecord]:
        store.embeddings.upsert_many(swaps[EmbeddingRecord])  # type: ignore[arg-type]
    if swaps[Artifact]:
        store.artifacts.put_many(swaps[Artifact])  # type: ignore[arg-type]


def _delete(store: MemoryStore, state: MemoryState, rows: Sequence[tuple[str, UUID]]) -> None:
    gone: set[tuple[UUID, str]] = set()
    for table, id in rows:
        if table == "sessions":
            gone |= _session_rows(state, id)
            store.sessions.delete_session(id)
            store.executions.delete_by_session(id)
        elif table == "messages":
            _drop_message(state, id)
        elif table == "tool_executions":
            _drop_owned(state.execution_session, state.executions, id)
        elif table == "usage_records":
            _drop_owned(state.usage_session, state.usage, id)
        elif table == "embeddings":
            store.embeddings.delete(id)
        else:  # artifacts
            store.artifacts.delete(id)
        gone.add((id, table))
    if gone:
        for key in [k for k in state.provenance if (k[0], k[1]) in gone]:
            del state.provenance[key]


def _session_rows(state: MemoryState, id: UUID) -> set[tuple[UUID, str]]:
    """``(id, table)`` of the messages, executions and usage records of session ``id`` (none when it is unknown)."""
    if id not in state.sessions:
        return set()
    rows = {(m.id, "messages") for m in state.messages[id].records}
    rows.update((e, "tool_executions") for e in state.executions.get(id, {}))
    rows.update((u, "usage_records") for u in state.usage.get(id, {}))
    return rows


def _drop_message(state: MemoryState, id: UUID) -> None:
    """Remove message ``id`` from its session's ordered list and from the indexes (nothing when it is unknown)."""
    owner = state.message_session.pop(id, None)
    state.message_seq.pop(id, None)
    if owner is not None:
        bucket = state.messages[owner]
        i = next(k for k, r in enumerate(bucket.records) if r.id == id)
        del bucket.records[i], bucket.keys[i]


def _drop_owned(owners: dict[UUID, UUID], by_session: dict[UUID, dict[UUID, V]], id: UUID) -> None:
    """Remove ``id`` from a per-session table and from its ``owners`` index (nothing when it is unknown)."""
    owner = owners.pop(id, None)
    if owner is not None:
        by_session[owner].pop(id, None)
