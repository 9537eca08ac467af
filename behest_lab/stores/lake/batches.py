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
from uuid import UUID

import duckdb

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
from behest_lab.stores import tables
from behest_lab.stores.lake import _sql
from behest_lab.stores.lake.engine import Engine
from behest_lab.stores.memory.batches import NewRecords, check_deletions, split_replacements
from behest_lab.stores.protocols import Record

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
    replace: Sequence[Record] = (),
    delete: Sequence[tuple[str, UUID]] = (),
    provenance: Sequence[Provenance] = (),
    fingerprints: Sequence[int | None] = (),
) -> None:
    """Write the records with ``store``'s bulk methods in one commit of ``engine`` (see ``Store.write_batch``)."""
    # every argument is checked before the transaction starts: a wrong type never opens one
    new = NewRecords.check(sessions, messages, executions, usages, embeddings, artifacts)
    counts = new.counts() | {"replacements": len(replace), "deletions": len(delete), "provenance": len(provenance)}
    swaps = split_replacements(replace)
    prov = provenance_table.to_arrow(provenance_table.check_rows(provenance), fingerprints)
    check_deletions(delete)
    if not any(counts.values()):
        return
    engine.check_writable()

    def body(con: duckdb.DuckDBPyConnection) -> None:
        engine.joined = con
        try:
            new.add(store, touch_sessions=touch_sessions)
            _replace(store, con, swaps)
            _delete(store, con, delete)
            if prov.num_rows:
                _store_provenance(con, prov)
        finally:
            engine.joined = None

    what = ", ".join(f"{n} {table}" for table, n in counts.items() if n)
    engine.write(body, f"write_batch {what}")


def _replace(store: LakeStore, con: duckdb.DuckDBPyConnection, swaps: dict[type, list[Record]]) -> None:
    """Overwrite stored rows in place (keeping their row ids, and a message its ``seq``); add the ones not stored."""
    if swaps[Session]:
        _sql.update_arrow(con, "sessions", tables.to_arrow("sessions", swaps[Session]))
    if swaps[MessageRecord]:
        messages = swaps[MessageRecord]
        ids = [str(m.id) for m in messages]
        stored = {
            str(r[0]): r[1]
            for r in con.execute(
                "SELECT id, seq FROM messages WHERE id IN (SELECT unnest(?::UUID[]))", [ids]
            ).fetchall()
        }
        fresh = [m for m in messages if str(m.id) not in stored]
        old = [m for m in messages if str(m.id) in stored]
        if old:
            data = tables.to_arrow("messages", old, [stored[str(m.id)] for m in old])
            _sql.delete_ids(con, "messages", [str(m.id) for m in old])
            _sql.insert_arrow(con, "messages", data)
        if fresh:
            store.sessions.append_messages(fresh, touch_session=False)  # type: ignore[arg-type]
    if swaps[ToolExecution]:
        store.executions.record_executions(swaps[ToolExecution])  # type: ignore[arg-type]
    if swaps[UsageRecord]:
        store.executions.record_usages(swaps[UsageRecord])  # type: ignore[arg-type]
    if swaps[EmbeddingRecord]:
        store.embeddings.upsert_many(swaps[EmbeddingRecord])  # type: ignore[arg-type]
    if swaps[Artifact]:
        store.artifacts.put_many(swaps[Artifact])  # type: ignore[arg-type]


def _delete(store: LakeStore, con: duckdb.DuckDBPyConnection, rows: Sequence[tuple[str, UUID]]) -> None:
    """Delete the rows (a session with its messages, executions and usage records) and their provenance rows."""
    by_table: dict[str, list[str]] = {}
    for table, id in rows:
        by_table.setdefault(table, []).append(str(id))
    sessions = by_table.get("sessions", [])
    if sessions:
        for child in ("messages", "tool_executions", "usage_records"):
            con.execute(
                f'DELETE FROM provenance WHERE "table" = ? AND record_id IN '
                f"(SELECT id FROM {child} WHERE session_id IN (SELECT unnest(?::UUID[])))",
                [child, sessions],
            )
        for sid in sessions:
            store.sessions.delete_session(UUID(sid))
    for table in ("messages", "tool_executions", "usage_records"):
        _sql.delete_ids(con, table, by_table.get(table, []))
    for text in by_table.get("embeddings", []):
        store.embeddings.delete(UUID(text))
    for text in by_table.get("artifacts", []):
        store.artifacts.delete(UUID(text))
    for table, ids in by_table.items():
        con.execute(
            'DELETE FROM provenance WHERE "table" = ? AND record_id IN (SELECT unnest(?::UUID[]))', [table, ids]
        )


def _store_provenance(con: duckdb.DuckDBPyConnection, data: object) -> None:
    """Insert provenance rows, replacing those of the same ``(record_id, table, location)``."""
    con.register("_behest_prov", data)
    try:
        con.execute(
            "DELETE FROM provenance AS p USING _behest_prov AS n WHERE p.record_id = CAST(n.record_id AS UUID) "
            'AND p."table" = n."table" AND p.location = n.location'
        )
        con.execute(f"INSERT INTO provenance {provenance_table.cast_select_sql('_behest_prov')}")
    finally:
        con.unregister("_behest_prov")
