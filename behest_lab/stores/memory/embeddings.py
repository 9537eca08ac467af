"""Memory ``EmbeddingStore`` with exact numpy search."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from behest_lab.records import EmbeddingRecord, ScoredEmbedding
from behest_lab.stores.memory._state import MemoryState
from behest_lab.stores.rules import check_batch, check_type
from behest_lab.vectors import VectorIndex


class MemoryEmbeddingStore:
    """Records in a dict; a ``VectorIndex`` rebuilt lazily after writes."""

    def __init__(self, state: MemoryState) -> None:
        self._s = state
        self._index: VectorIndex | None = None
        self._index_version = -1

    def upsert(self, record: EmbeddingRecord) -> EmbeddingRecord:
        self.upsert_many([check_type(record, EmbeddingRecord, "record")])
        return record

    def upsert_many(self, records: Sequence[EmbeddingRecord]) -> list[EmbeddingRecord]:
        batch = check_batch(records, EmbeddingRecord, "records")
        with self._s.lock:
            for r in batch:
                self._s.embeddings[r.id] = r
            if batch:
                self._s.touch()
        return batch

    def get(self, id: UUID) -> EmbeddingRecord | None:
        return self._s.embeddings.get(id)

    def _current_index(self) -> VectorIndex:
        with self._s.lock:
            if self._index is None or self._index_version != self._s.version:
                self._index = VectorIndex.from_records(self._s.embeddings.values())
                self._index_version = self._s.version
            return self._index

    def search(
        self,
        query: Sequence[float] | Any,
        limit: int,
        *,
        model: str | None = None,
        session_id: UUID | None = None,
    ) -> list[ScoredEmbedding]:
        return self._current_index().search_records(query, limit, model=model, session_id=session_id)

    def delete(self, id: UUID) -> None:
        with self._s.lock:
            if self._s.embeddings.pop(id, None) is not None:
                self._s.touch()

    def delete_by_session(self, session_id: UUID) -> int:
        with self._s.lock:
            doomed = [r.id for r in self._s.embeddings.values() if r.session_id == session_id]
            for id_ in doomed:
                del self._s.embeddings[id_]
            if doomed:
                self._s.touch()
            return len(doomed)
