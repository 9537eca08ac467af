"""The memory backend: the reference implementation and the shipped fake (dicts behind one lock)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar
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
from behest_lab.stores.memory import batches
from behest_lab.stores.memory._state import MemoryState
from behest_lab.stores.memory.artifacts import MemoryArtifactStore
from behest_lab.stores.memory.embeddings import MemoryEmbeddingStore
from behest_lab.stores.memory.executions import MemoryExecutionStore
from behest_lab.stores.memory.sessions import MemorySessionStore
from behest_lab.stores.protocols import Record, Store

T = TypeVar("T")

__all__ = [
    "MemoryArtifactStore",
    "MemoryEmbeddingStore",
    "MemoryExecutionStore",
    "MemorySessionStore",
    "MemoryStore",
]


class MemoryStore(Store):
    """All four memory stores over one shared state; ``sql()`` works on a snapshot of it."""

    backend = "memory"

    def __init__(self) -> None:
        """Create it (see the class docstring)."""
        self._state = MemoryState()
        super().__init__(
            MemorySessionStore(self._state),
            MemoryEmbeddingStore(self._state),
            MemoryArtifactStore(self._state),
            MemoryExecutionStore(self._state),
        )
        self._con: duckdb.DuckDBPyConnection | None = None
        self._con_version = -1

    def delete_session(self, id: Any) -> None:
        """Delete a session and everything of it, under the state lock (see ``Store.delete_session``)."""
        with self._state.lock:
            super().delete_session(id)

    def write_batch(
        self,
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
        """Write records of several tables in one step under the lock (see ``Store.write_batch``)."""
        batches.write_batch(
            self,
            self._state,
            sessions=sessions,
            messages=messages,
            executions=executions,
            usages=usages,
            embeddings=embeddings,
            artifacts=artifacts,
            touch_sessions=touch_sessions,
            replace=replace,
            delete=delete,
            provenance=provenance,
            fingerprints=fingerprints,
        )

    def _connection(self) -> duckdb.DuckDBPyConnection:
        s = self._state
        with s.lock:
            if self._con is None:
                self._con = duckdb.connect()
            if self._con_version != s.version:
                self._load_tables(self._con)
                self._con_version = s.version
            return self._con

    def _load_tables(self, con: duckdb.DuckDBPyConnection) -> None:
        s = self._state
        messages = [(m, s.message_seq[m.id]) for b in s.messages.values() for m in b.records]
        data: dict[str, Any] = {
            "sessions": tables.to_arrow("sessions", s.sessions.values()),
            "messages": tables.to_arrow("messages", [m for m, _ in messages], [q for _, q in messages]),
            "tool_executions": tables.to_arrow(
                "tool_executions", [e for b in s.executions.values() for _, e in b.values()]
            ),
            "usage_records": tables.to_arrow("usage_records", [u for b in s.usage.values() for _, u in b.values()]),
            "embeddings": tables.to_arrow("embeddings", s.embeddings.values()),
            "artifacts": tables.to_arrow("artifacts", s.artifacts.values()),
        }
        for name, arrow in data.items():
            con.register("_src", arrow)
            con.execute(f"CREATE OR REPLACE TABLE {name} AS {tables.cast_select_sql(name, '_src')}")
            con.unregister("_src")
        rows = list(s.provenance.values())
        con.register("_src", provenance_table.to_arrow([p for p, _ in rows], [f for _, f in rows]))
        con.execute(f"CREATE OR REPLACE TABLE provenance AS {provenance_table.cast_select_sql('_src')}")
        con.unregister("_src")

    def sql(self, query: str, params: Sequence[Any] | None = None) -> duckdb.DuckDBPyRelation:
        """A DuckDB relation for ``query`` over a copy of the store's records (refreshed after each change)."""
        return self._connection().sql(query, params=params)

    def _consistent_read(self, run: Callable[[], T], what: str, query: str | None = None) -> T:
        """``run()`` under the state lock: no write lands between loading the tables and reading them."""
        with self._state.lock:
            return run()

    def close(self) -> None:
        """Release the DuckDB connection (idempotent)."""
        if self._con is not None:
            self._con.close()
            self._con = None
