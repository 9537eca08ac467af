"""Read behest's data where behest keeps it: one reader per backend, opened from a URL (``open_source``).

The contract every reader implements is in ``behest_lab.sources.base``; ``behest_lab.sync`` copies a source into a
store, incrementally. Reader modules are imported only when their scheme is used, so a backend's client library is
needed only by those who read that backend.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from behest_lab.errors import SourceError
from behest_lab.sources.base import (
    FINGERPRINT_SCHEMA,
    TABLES,
    BadRowHandler,
    Source,
    Want,
    fingerprint,
    fingerprint_table,
    provenance_for,
    redact_url,
)

__all__ = [
    "FINGERPRINT_SCHEMA",
    "PATH_READERS",
    "SCHEMES",
    "TABLES",
    "BadRowHandler",
    "Source",
    "SourceError",
    "Want",
    "fingerprint",
    "fingerprint_table",
    "open_source",
    "provenance_for",
    "redact_url",
]

#: URL scheme -> ``"module:ReaderClass"`` (the module is imported when a URL of that scheme is opened).
SCHEMES: dict[str, str] = {
    "sqlite": "behest_lab.sources.sqlite:SQLiteSource",
    "postgresql": "behest_lab.sources.postgres:PostgresSource",
    "postgres": "behest_lab.sources.postgres:PostgresSource",
    "mysql": "behest_lab.sources.mysql:MySQLSource",
    "mariadb": "behest_lab.sources.mysql:MySQLSource",
    "redis": "behest_lab.sources.redis:RedisSource",
    "rediss": "behest_lab.sources.redis:RedisSource",
    "mongodb": "behest_lab.sources.mongo:MongoSource",
    "mongodb+srv": "behest_lab.sources.mongo:MongoSource",
    "mongodump": "behest_lab.sources.mongo:MongoSource",
    "file": "behest_lab.sources.objects:ObjectSource",
    "s3": "behest_lab.sources.objects:ObjectSource",
    "qdrant": "behest_lab.sources.qdrant:QdrantSource",
    "surrealdb": "behest_lab.sources.surreal:SurrealSource",
    "surrealkv": "behest_lab.sources.surreal:SurrealSource",
}

#: Readers tried, in order, for a plain path (no scheme): each class's ``sniff(path)`` classmethod says whether the
#: path holds its kind of data. A module that is missing or cannot be imported (its client library is not
#: installed) is passed over.
PATH_READERS: list[str] = [
    "behest_lab.sources.openai_agents:OpenAIAgentsSource",
    "behest_lab.sources.llm_logs:LlmLogsSource",
    "behest_lab.sources.sqlite:SQLiteSource",
    "behest_lab.sources.mongo:MongoSource",
    "behest_lab.sources.qdrant:QdrantSource",
    "behest_lab.sources.surreal:SurrealSource",
    "behest_lab.sources.claude_code:ClaudeCodeSource",
    "behest_lab.sources.codex:CodexSource",
    "behest_lab.sources.atif:AtifSource",
    "behest_lab.sources.otel:OtelSource",
    "behest_lab.sources.objects:ObjectSource",
]


def _load(target: str) -> Any:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def _scheme(url: str) -> str | None:
    head, sep, _ = url.partition("://")
    if sep and head and all(c.isalnum() or c in "+-." for c in head) and len(head) > 1:
        return head.lower()
    return None


def open_source(url: str, **options: Any) -> Source:
    """Open the behest backend at ``url`` for reading.

    ``sqlite:///path/agent.db`` (or a plain path to the file), ``postgresql://user@host:5432/db``,
    ``mysql://user@host:3306/db``, ``redis://host:6379/0``, ``mongodump:///path/dump`` (or the dump folder or
    archive as a plain path), ``mongodb://host/db``, ``file:///root`` and ``s3://bucket/prefix`` (artifact stores),
    ``qdrant://host:6333/collection``, ``surrealdb://...``: see the README's "Syncing from behest".

    Args:
        url: The source's URL, or a path.
        options: Passed to the reader class.

    Raises:
        SourceError: Unknown scheme, no reader recognises the path, the reader's library is not installed, or the
            reader cannot open the source (its message says why; secrets are never part of it).
    """
    scheme = _scheme(url)
    location = redact_url(url)
    if scheme is None:
        path = Path(url)
        if not path.exists():
            raise SourceError("no such file or folder", source="path", location=location)
        for target in PATH_READERS:
            try:
                cls = _load(target)
            except (ImportError, AttributeError):
                continue
            if cls.sniff(path):
                return cls(url, **options)  # type: ignore[no-any-return]
        raise SourceError("not a behest backend that behest_lab can read", source="path", location=location)
    reader = SCHEMES.get(scheme)
    if reader is None:
        known = ", ".join(sorted(SCHEMES))
        raise SourceError(f"unknown scheme {scheme!r} (known: {known})", source=scheme, location=location)
    try:
        cls = _load(reader)
    except (ImportError, AttributeError) as exc:
        raise SourceError(
            f"the reader for {scheme!r} cannot be loaded: {exc}", source=scheme, location=location
        ) from exc
    return cls(url, **options)  # type: ignore[no-any-return]
