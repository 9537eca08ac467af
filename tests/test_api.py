"""The public surface: ``behest_lab.__all__`` is pinned, and every documented public name imports from its place."""

from __future__ import annotations

import importlib
import inspect

import pytest

import behest_lab

PINNED_ALL = [
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

#: The public API, section by section: module -> the names documented there.
API_MD: dict[str, list[str]] = {
    "behest_lab.records": [
        "Session",
        "MessageRecord",
        "MessageRole",
        "CompactionMeta",
        "TextPart",
        "JsonPart",
        "ImageUrlPart",
        "CacheControl",
        "ContentPart",
        "ToolCall",
        "TokenUsage",
        "EmbeddingRecord",
        "ScoredEmbedding",
        "Artifact",
        "ToolExecution",
        "ToolExecutionStatus",
        "UsageRecord",
        "SessionStats",
        "Pagination",
        "SessionFilter",
    ],
    "behest_lab.stores": ["SessionStore", "EmbeddingStore", "ArtifactStore", "ExecutionStore", "Store"],
    "behest_lab": ["open_store", "Store"],
    "behest_lab.errors": [
        "BehestLabError",
        "StoreError",
        "NotFoundError",
        "AlreadyExistsError",
        "BackendError",
        "SerializationError",
        "MigrationError",
        "DataCorruptionError",
        "VectorDimensionError",
    ],
}

#: The stores' public API: protocol -> method -> parameter names (without self).
API_METHODS: dict[str, dict[str, list[str]]] = {
    "SessionStore": {
        "create_session": ["session"],
        "list_sessions": [],
        "get_session": ["id"],
        "delete_session": ["id"],
        "update_session": ["id", "title", "model", "metadata"],
        "append_message": ["message"],
        "append_messages": ["messages"],
        "list_messages": ["session_id"],
        "update_usage": ["message_id", "usage"],
        "list_sessions_paginated": ["pagination", "filter"],
        "list_messages_paginated": ["session_id", "pagination"],
        "health_check": [],
        "get_latest_compaction": ["session_id"],
        "mark_compacted": ["message_id"],
    },
    "EmbeddingStore": {
        "upsert": ["record"],
        "upsert_many": ["records"],
        "search": ["query", "limit", "model", "session_id"],
        "delete": ["id"],
        "delete_by_session": ["session_id"],
    },
    "ArtifactStore": {
        "put": ["artifact"],
        "get": ["id"],
        "delete": ["id"],
        "list_by_session": ["session_id"],
        "delete_by_session": ["session_id"],
    },
    "ExecutionStore": {
        "record_execution": ["execution"],
        "record_executions": ["executions"],
        "list_executions": ["session_id"],
        "list_executions_by_message": ["message_id"],
        "record_usage": ["record"],
        "record_usages": ["records"],
        "list_usage": ["session_id"],
        "session_stats": ["session_id"],
        "delete_by_session": ["session_id"],
    },
}


def test_all_is_pinned() -> None:
    assert sorted(behest_lab.__all__) == behest_lab.__all__ == PINNED_ALL


def test_every_name_in_all_exists() -> None:
    for name in behest_lab.__all__:
        assert getattr(behest_lab, name) is not None, name


@pytest.mark.parametrize("module", sorted(API_MD))
def test_api_md_names_import_from_their_module(module: str) -> None:
    mod = importlib.import_module(module)
    for name in API_MD[module]:
        assert hasattr(mod, name), f"{module}.{name}"


def test_records_are_re_exported_from_the_package() -> None:
    for name in API_MD["behest_lab.records"]:
        assert getattr(behest_lab, name) is getattr(importlib.import_module("behest_lab.records"), name)


@pytest.mark.parametrize("protocol", sorted(API_METHODS))
def test_protocol_methods_are_api_md(protocol: str) -> None:
    cls = getattr(importlib.import_module("behest_lab.stores"), protocol)
    for method, params in API_METHODS[protocol].items():
        signature = [p for p in inspect.signature(getattr(cls, method)).parameters.values() if p.name != "self"]
        assert [p.name for p in signature[: len(params)]] == params, f"{protocol}.{method}"
        # additions keep old calls working: only optional keyword-only parameters may follow the documented ones
        for extra in signature[len(params) :]:
            assert extra.kind is inspect.Parameter.KEYWORD_ONLY, f"{protocol}.{method}({extra.name})"
            assert extra.default is not inspect.Parameter.empty, f"{protocol}.{method}({extra.name})"


def test_search_filters_are_keyword_only() -> None:
    params = inspect.signature(behest_lab.EmbeddingStore.search).parameters
    assert params["model"].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["session_id"].kind is inspect.Parameter.KEYWORD_ONLY


def test_store_bundle_members() -> None:
    with behest_lab.open_store(None) as store:
        assert isinstance(store, behest_lab.Store)
        for attr in ("sessions", "embeddings", "artifacts", "executions"):
            assert hasattr(store, attr)
        for method in ("delete_session", "close", "sql"):
            assert callable(getattr(store, method))


def test_memory_store_takes_no_options() -> None:
    with pytest.raises(TypeError):
        behest_lab.open_store(None, snapshot=1)
