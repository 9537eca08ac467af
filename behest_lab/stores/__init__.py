"""Store interfaces, shared rules and backends (``memory``; ``lake`` for the persistent store)."""

from behest_lab.stores.memory import MemoryStore
from behest_lab.stores.protocols import (
    ArtifactStore,
    EmbeddingStore,
    ExecutionStore,
    SessionScope,
    SessionStore,
    Store,
    TempTable,
)

__all__ = [
    "ArtifactStore",
    "EmbeddingStore",
    "ExecutionStore",
    "MemoryStore",
    "SessionScope",
    "SessionStore",
    "Store",
    "TempTable",
]
