"""The memory backend's data, shared by its four stores behind one lock."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from behest_lab.records import Artifact, EmbeddingRecord, MessageRecord, Provenance, Session, ToolExecution, UsageRecord


@dataclass
class SessionMessages:
    """A session's messages ordered by (created_at, seq); ``keys`` mirrors that order for bisecting."""

    records: list[MessageRecord] = field(default_factory=list)
    keys: list[tuple[datetime, int]] = field(default_factory=list)


@dataclass
class MemoryState:
    """Everything a memory store holds. ``version`` increases on every write (caches key on it)."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    version: int = 0
    seq: itertools.count[int] = field(default_factory=itertools.count)
    sessions: dict[UUID, Session] = field(default_factory=dict)
    messages: dict[UUID, SessionMessages] = field(default_factory=dict)
    message_session: dict[UUID, UUID] = field(default_factory=dict)
    message_seq: dict[UUID, int] = field(default_factory=dict)
    # per session: id -> (seq, record); seq keeps recording order for created_at ties
    executions: dict[UUID, dict[UUID, tuple[int, ToolExecution]]] = field(default_factory=dict)
    execution_session: dict[UUID, UUID] = field(default_factory=dict)
    usage: dict[UUID, dict[UUID, tuple[int, UsageRecord]]] = field(default_factory=dict)
    usage_session: dict[UUID, UUID] = field(default_factory=dict)
    embeddings: dict[UUID, EmbeddingRecord] = field(default_factory=dict)
    artifacts: dict[UUID, Artifact] = field(default_factory=dict)
    # (record_id, table, location) -> (provenance, fingerprint): the ``provenance`` table
    provenance: dict[tuple[UUID, str, str], tuple[Provenance, int | None]] = field(default_factory=dict)

    def touch(self) -> None:
        self.version += 1
