"""Store interfaces, shared rules and backends (``memory``; ``lake`` for the persistent store)."""

from behest_lab.stores.memory import MemoryStore
from behest_lab.stores.protocols import ArtifactStore, EmbeddingStore, ExecutionStore, SessionStore, Store

__all__ = ["ArtifactStore", "EmbeddingStore", "ExecutionStore", "MemoryStore", "SessionStore", "Store"]
