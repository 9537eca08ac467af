"""Memory ``ArtifactStore``."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from behest_lab.records import Artifact
from behest_lab.stores.memory._state import MemoryState
from behest_lab.stores.rules import check_batch, check_type


class MemoryArtifactStore:
    """Artifacts in a dict."""

    def __init__(self, state: MemoryState) -> None:
        self._s = state

    def put(self, artifact: Artifact) -> Artifact:
        self.put_many([check_type(artifact, Artifact, "artifact")])
        return artifact

    def put_many(self, artifacts: Sequence[Artifact]) -> list[Artifact]:
        batch = check_batch(artifacts, Artifact, "artifacts")
        with self._s.lock:
            for a in batch:
                self._s.artifacts[a.id] = a
            if batch:
                self._s.touch()
        return batch

    def get(self, id: UUID) -> Artifact | None:
        return self._s.artifacts.get(id)

    def delete(self, id: UUID) -> None:
        with self._s.lock:
            if self._s.artifacts.pop(id, None) is not None:
                self._s.touch()

    def list_by_session(self, session_id: UUID) -> list[Artifact]:
        with self._s.lock:
            found = [a for a in self._s.artifacts.values() if a.session_id == session_id]
        return sorted(found, key=lambda a: (a.created_at, a.id.int))

    def delete_by_session(self, session_id: UUID) -> int:
        with self._s.lock:
            doomed = [a.id for a in self._s.artifacts.values() if a.session_id == session_id]
            for id_ in doomed:
                del self._s.artifacts[id_]
            if doomed:
                self._s.touch()
            return len(doomed)
