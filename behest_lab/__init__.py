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
    SourceError,
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
from behest_lab.sources.sync import SyncReport, sync
from behest_lab.stores import ArtifactStore, EmbeddingStore, ExecutionStore, MemoryStore, SessionStore, Store
from behest_lab.stores.lake.config import S3Options, StoreConfig

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
    "S3Options",
    "ScoredEmbedding",
    "SerializationError",
    "Session",
    "SessionFilter",
    "SessionStats",
    "SessionStore",
    "SourceError",
    "Store",
    "StoreConfig",
    "StoreError",
    "SyncReport",
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
    "sync",
    "uuid7",
]


def open_store(
    path: str | os.PathLike[str] | StoreConfig | None = None,
    *,
    data_path: str | None = None,
    s3: S3Options | None = None,
    password: str | None = None,
    **options: Any,
) -> Store:
    """Open a store of the kind ``path`` names.

    ``None`` gives a new in-memory store, a folder path the persistent lake store there, and a ``postgresql://`` URL
    or a ``StoreConfig`` the shared lake (PostgreSQL catalog, Parquet files in object storage).

    The folder, or the lake in an empty catalog database, is created on first use. ``options`` go to the
    persistent store (for example ``snapshot=N`` or ``as_of=datetime`` for a read-only view of the past).

    Args:
        path: None, a store folder, ``postgresql://user@host:port/dbname``, or a ``StoreConfig``; or behest's own
            database in place, read-only: ``postgresql+behest://``, ``mysql+behest://``, ``sqlite+behest:///path``
            (``behest_lab.sources.in_place``).
        data_path: with a catalog URL: where the Parquet files go (``s3://bucket/prefix/``).
        s3: with a catalog URL: object-storage options (default: ``AWS_*`` variables, else DuckDB secrets).
        password: with a catalog URL: the PostgreSQL password (default: ``PGPASSWORD``/``~/.pgpass``).
        **options: ``snapshot``, ``as_of``, ``inlining_row_limit``, ``retry``, ``flush_every``, ``auto_merge`` (see
            ``open_lake``).

    Example:
        ``open_store("postgresql://lake@db:5432/lakecat", data_path="s3://bucket/lake/")`` or
        ``open_store(StoreConfig.from_env())``.
    """
    remote = {"data_path": data_path, "s3": s3, "password": password}
    given = sorted(k for k, v in remote.items() if v is not None)
    if path is None:
        if options or given:
            raise TypeError(f"the memory store takes no options, got {sorted(options) + given}")
        return MemoryStore()
    from behest_lab.sources.in_place import is_in_place_url, open_behest_sql

    if is_in_place_url(path):  # behest's own SQL database, read in place (read-only)
        if options or data_path is not None or s3 is not None:
            raise TypeError("a +behest:// store takes only password=")
        return open_behest_sql(str(path), password=password)
    from behest_lab.stores.lake import open_lake

    if isinstance(path, StoreConfig):
        if given:
            raise TypeError(f"give {', '.join(given)} inside the StoreConfig, not beside it")
        config: str | os.PathLike[str] | StoreConfig = path
    elif isinstance(path, str) and path.split("://", 1)[0] in ("postgresql", "postgres"):
        config = StoreConfig(catalog=path, **{k: v for k, v in remote.items() if v is not None})
    else:
        if given:
            raise TypeError(f"{', '.join(given)}: only for a postgresql:// catalog, not a store folder")
        config = path
    store: Store = open_lake(config, **options)
    return store
