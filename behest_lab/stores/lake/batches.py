"""``LakeStore.write_batch``: records of several tables in one DuckLake commit.

The store's bulk methods each run one transaction through ``Engine.write``. Here they run as steps of a single
transaction instead: while ``Engine.joined`` holds the open connection, every ``write`` of the engine runs its body
in it, so the checks and inserts stay those of ``create_sessions``, ``append_messages`` and the others, and one
``COMMIT`` makes them visible together. A process killed before that commit leaves nothing of the batch in the
catalog (at most Parquet files no snapshot names, which ``compact()`` removes as orphans); a commit that loses
against another writer re-runs every step on the new state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import duckdb

from behest_lab.records import Artifact, EmbeddingRecord, MessageRecord, Session, ToolExecution, UsageRecord
from behest_lab.stores._common import check_batch
from behest_lab.stores.lake.engine import Engine

if TYPE_CHECKING:
    from behest_lab.stores.lake import LakeStore


def write_batch(
    store: LakeStore,
    engine: Engine,
    *,
    sessions: Sequence[Session] = (),
    messages: Sequence[MessageRecord] = (),
    executions: Sequence[ToolExecution] = (),
    usages: Sequence[UsageRecord] = (),
    embeddings: Sequence[EmbeddingRecord] = (),
    artifacts: Sequence[Artifact] = (),
    touch_sessions: bool = True,
) -> None:
    """Write the records with ``store``'s bulk methods in one commit of ``engine`` (see ``Store.write_batch``)."""
    # every argument is checked before the transaction starts: a wrong type never opens one
    new_sessions = check_batch(sessions, Session, "sessions")
    new_messages = check_batch(messages, MessageRecord, "messages")
    new_executions = check_batch(executions, ToolExecution, "executions")
    new_usages = check_batch(usages, UsageRecord, "usages")
    new_embeddings = check_batch(embeddings, EmbeddingRecord, "embeddings")
    new_artifacts = check_batch(artifacts, Artifact, "artifacts")
    counts = {
        "sessions": len(new_sessions),
        "messages": len(new_messages),
        "executions": len(new_executions),
        "usages": len(new_usages),
        "embeddings": len(new_embeddings),
        "artifacts": len(new_artifacts),
    }
    if not any(counts.values()):
        return
    engine.check_writable()

    def body(con: duckdb.DuckDBPyConnection) -> None:
        engine.joined = con
        try:
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
        finally:
            engine.joined = None

    what = ", ".join(f"{n} {table}" for table, n in counts.items() if n)
    engine.write(body, f"write_batch {what}")
