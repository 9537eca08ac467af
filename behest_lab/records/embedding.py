"""Embeddings and artifacts (``EmbeddingRecord``, ``ScoredEmbedding``, ``Artifact``)."""

from __future__ import annotations

from typing import ClassVar, Self
from uuid import UUID

from pydantic import Field

from behest_lab.records._base import F32, Base64Bytes, BehestRecord, Json, Text, Timestamp, Vector
from behest_lab.records._wire import utcnow, uuid7


class EmbeddingRecord(BehestRecord):
    """A vector with its model name and optional session.

    Components are stored as float32 (behest's ``Vec<f32>``); NaN, infinite and empty vectors are refused.
    """

    _wire_required: ClassVar[tuple[str, ...]] = ("id", "model", "vector", "metadata", "created_at")
    _f32_fields: ClassVar[tuple[str, ...]] = ("vector",)

    id: UUID = Field(default_factory=uuid7)
    """Embedding id (UUIDv7 by default)."""
    session_id: UUID | None = None
    """Session the embedded text came from, if any."""
    model: Text
    """Embedding model name; search can be restricted to one model."""
    vector: Vector
    """float32 components."""
    metadata: Json = None
    """Free-form JSON (for example the embedded text and the message id)."""
    created_at: Timestamp = Field(default_factory=utcnow)
    """Creation time (aware UTC)."""

    @property
    def dimension(self) -> int:
        """Number of components."""
        return len(self.vector)

    def with_session(self, session_id: UUID) -> Self:
        """A copy attached to ``session_id``."""
        return self._replace(session_id=session_id)

    def with_metadata(self, metadata: Json) -> Self:
        """A copy with ``metadata`` replaced."""
        return self._replace(metadata=metadata)


class ScoredEmbedding(BehestRecord):
    """A search hit: the record and its cosine similarity (float32, higher is closer)."""

    _wire_required: ClassVar[tuple[str, ...]] = ("record", "score")
    _f32_fields: ClassVar[tuple[str, ...]] = ("score",)

    record: EmbeddingRecord
    """The matching record."""
    score: F32
    """Cosine similarity in [-1, 1]; 0.0 for a zero vector."""


class Artifact(BehestRecord):
    """A binary blob (file, image, report) with a MIME type, optionally tied to a session."""

    _wire_required: ClassVar[tuple[str, ...]] = (
        "id",
        "name",
        "content_type",
        "data",
        "metadata",
        "created_at",
    )

    id: UUID = Field(default_factory=uuid7)
    """Artifact id (UUIDv7 by default)."""
    session_id: UUID | None = None
    """Owning session, if any."""
    name: Text
    """File name or label."""
    content_type: Text
    """MIME type (not checked)."""
    data: Base64Bytes
    """The bytes; standard padded base64 in JSON."""
    metadata: Json = None
    """Free-form JSON."""
    created_at: Timestamp = Field(default_factory=utcnow)
    """Creation time (aware UTC)."""

    @property
    def size(self) -> int:
        """Number of bytes."""
        return len(self.data)

    def with_session(self, session_id: UUID) -> Self:
        """A copy attached to ``session_id``."""
        return self._replace(session_id=session_id)

    def with_metadata(self, metadata: Json) -> Self:
        """A copy with ``metadata`` replaced."""
        return self._replace(metadata=metadata)


__all__ = ["Artifact", "EmbeddingRecord", "ScoredEmbedding"]
