"""behest_lab: Jupyter-first analytics and exploration for behest agent runs.

Typed records JSON-compatible with behest, four stores (memory, and a DuckLake lakehouse queried through DuckDB),
analytics as polars frames, interchange with behest's own formats, widgets and plots for notebooks.
"""

from __future__ import annotations

import os
from typing import Any

from behest_lab.compaction import CompactionPair, compaction_pairs, model_context
from behest_lab.errors import (
    AlreadyExistsError,
    BackendError,
    BehestLabError,
    DataCorruptionError,
    MigrationError,
    NotFoundError,
    SerializationError,
    StoreError,
    VectorDimensionError,
)
from behest_lab.records import (
    Artifact,
    CacheControl,
    CompactionMeta,
    ContentPart,
    EmbeddingRecord,
    ImageUrlPart,
    JsonPart,
    MessageRecord,
    MessageRole,
    Pagination,
    ScoredEmbedding,
    Session,
    SessionFilter,
    SessionStats,
    TextPart,
    TokenUsage,
    ToolCall,
    ToolExecution,
    ToolExecutionStatus,
    UsageRecord,
    uuid7,
)
from behest_lab.stores import ArtifactStore, EmbeddingStore, ExecutionStore, MemoryStore, SessionStore, Store

__version__ = "0.1.0"

__all__ = [
    "AlreadyExistsError",
    "Artifact",
    "ArtifactStore",
    "BackendError",
    "BehestLabError",
    "CacheControl",
    "CompactionMeta",
    "CompactionPair",
    "ContentPart",
    "DataCorruptionError",
    "EmbeddingRecord",
    "EmbeddingStore",
    "ExecutionStore",
    "ImageUrlPart",
    "JsonPart",
    "MemoryStore",
    "MessageRecord",
    "MessageRole",
    "MigrationError",
    "NotFoundError",
    "Pagination",
    "ScoredEmbedding",
    "SerializationError",
    "Session",
    "SessionFilter",
    "SessionStats",
    "SessionStore",
    "Store",
    "StoreError",
    "TextPart",
    "TokenUsage",
    "ToolCall",
    "ToolExecution",
    "ToolExecutionStatus",
    "UsageRecord",
    "VectorDimensionError",
    "compaction_pairs",
    "model_context",
    "open_store",
    "uuid7",
]


def open_store(path: str | os.PathLike[str] | None = None, **options: Any) -> Store:
    """Open a store: ``None`` gives a new in-memory store, a folder path the persistent lake store there.

    The folder is created on first use. ``options`` go to the persistent store (for example ``snapshot=N`` or
    ``as_of=datetime`` for a read-only view of the past).
    """
    if path is None:
        if options:
            raise TypeError(f"the memory store takes no options, got {sorted(options)}")
        return MemoryStore()
    from behest_lab.stores.lake import open_lake

    store: Store = open_lake(path, **options)
    return store
