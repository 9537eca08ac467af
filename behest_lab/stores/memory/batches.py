"""``MemoryStore.write_batch``: records of several tables in one step under the state's lock.

Everything that could make a bulk method refuse its records is checked first, across the whole batch; then the
bulk methods run, still under the lock that every read and write of the store takes. No reader sees part of the
batch, and a refused batch changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from behest_lab.errors import AlreadyExistsError, NotFoundError
from behest_lab.records import Artifact, EmbeddingRecord, MessageRecord, Session, ToolExecution, UsageRecord
from behest_lab.stores._common import check_batch
from behest_lab.stores.memory._state import MemoryState

if TYPE_CHECKING:
    from behest_lab.stores.memory import MemoryStore


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
) -> None:
    """Check the whole batch against ``state``, then write it with ``store``'s bulk methods.

    See ``Store.write_batch``.
    """
    new_sessions = check_batch(sessions, Session, "sessions")
    new_messages = check_batch(messages, MessageRecord, "messages")
    new_executions = check_batch(executions, ToolExecution, "executions")
    new_usages = check_batch(usages, UsageRecord, "usages")
    new_embeddings = check_batch(embeddings, EmbeddingRecord, "embeddings")
    new_artifacts = check_batch(artifacts, Artifact, "artifacts")
    with state.lock:
        # the same checks, in the same order, as the bulk methods make one by one
        for s in new_sessions:
            if s.id in state.sessions:
                raise AlreadyExistsError(s.id, "session")
        owners = state.sessions.keys() | {s.id for s in new_sessions}
        for m in new_messages:
            if m.session_id not in owners:
                raise NotFoundError(m.session_id, "session")
            if m.id in state.message_session:
                raise AlreadyExistsError(m.id, "message")
        for owner in [*(e.session_id for e in new_executions), *(u.session_id for u in new_usages)]:
            if owner not in owners:
                raise NotFoundError(owner, "session")
        if new_sessions:
            store.sessions.create_sessions(new_sessions)
        if new_messages:
            store.sessions.append_messages(new_messages, touch_session=touch_sessions)
        if new_executions:
            store.executions.record_executions(new_executions)
        if new_usages:
            store.executions.record_usages(new_usages)
        if new_embeddings:
            store.embeddings.upsert_many(new_embeddings)
        if new_artifacts:
            store.artifacts.put_many(new_artifacts)
