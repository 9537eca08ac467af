"""Lake ``ArtifactStore``: descriptions in ``artifacts``, bytes in ``artifact_data``.

SQL listings therefore never read the bytes; both tables are written in one transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import duckdb

from behest_lab.errors import DataCorruptionError
from behest_lab.records import Artifact
from behest_lab.stores import tables
from behest_lab.stores.lake import _sql
from behest_lab.stores.lake.engine import Engine
from behest_lab.stores.rules import check_batch, check_type

_SELECT = (
    "SELECT a.*, d.data AS _data, d.sha256 AS _sha256, d.filename AS _file FROM artifacts AS a "
    "LEFT JOIN artifact_data AS d ON d.id = a.id WHERE {where}"
)


def _artifact(row: dict[str, Any]) -> Artifact:
    """The artifact of a row, its bytes checked against the SHA-256 stored beside them.

    Raises:
        DataCorruptionError: the bytes differ from the ones stored (rows from before schema 5 carry no checksum
            and are returned unverified).
    """
    data = row.pop("_data")
    expected = row.pop("_sha256")
    path = row.pop("_file")
    blob = b"" if data is None else bytes(data)
    if expected is not None and hashlib.sha256(blob).hexdigest() != expected:
        raise DataCorruptionError(
            "artifact_data.data",
            f"the bytes of artifact {row['id']} in {path} differ from the ones stored (SHA-256 mismatch)",
            path=None if path is None else str(path),
            table="artifact_data",
        )
    return tables.artifact_from_row(row, blob)


class LakeArtifactStore:
    """Artifacts of one lake."""

    def __init__(self, engine: Engine) -> None:
        """Work on ``engine``."""
        self._e = engine

    def put(self, artifact: Artifact) -> Artifact:
        """Insert or replace by id."""
        check_type(artifact, Artifact, "artifact")
        self._e.check_writable()
        meta = tables.row_params("artifacts", artifact)
        data = tables.row_params("artifact_data", artifact)
        aid = str(artifact.id)

        def body(con: duckdb.DuckDBPyConnection) -> None:
            # a new id (the usual case) is two plain inserts; replacing one deletes the old rows first
            if _sql.has_id(con, "artifacts", aid):
                _sql.delete_ids(con, "artifacts", [aid])
                _sql.delete_ids(con, "artifact_data", [aid])
            _sql.insert_row(con, "artifacts", meta)
            _sql.insert_row(con, "artifact_data", data)
            self._e.changed()

        self._e.write(body, f"put artifact {aid}", small=True)
        return artifact

    def put_many(self, artifacts: Sequence[Artifact]) -> list[Artifact]:
        """Bulk ``put``: all or nothing."""
        batch = check_batch(artifacts, Artifact, "artifacts")
        if not batch:
            return batch
        self._e.check_writable()
        meta = tables.to_arrow("artifacts", batch)
        data = tables.to_arrow("artifact_data", batch)
        ids = [str(a.id) for a in batch]

        def body(con: duckdb.DuckDBPyConnection) -> None:
            _sql.delete_ids(con, "artifacts", ids)
            _sql.delete_ids(con, "artifact_data", ids)
            _sql.insert_arrow(con, "artifacts", meta)
            _sql.insert_arrow(con, "artifact_data", data)
            self._e.changed()

        self._e.write(body, f"put artifacts {len(batch)}" if len(batch) > 1 else f"put artifact {ids[0]}")
        return batch

    def get(self, id: UUID) -> Artifact | None:
        """The artifact with its bytes, or None."""
        rows = self._e.rows(_SELECT.format(where="a.id = ?"), [str(id)])
        return _artifact(rows[0]) if rows else None

    def delete(self, id: UUID) -> None:
        """Delete one artifact; idempotent."""
        aid = str(id)

        def body(con: duckdb.DuckDBPyConnection) -> None:
            _sql.delete_ids(con, "artifacts", [aid])
            _sql.delete_ids(con, "artifact_data", [aid])

        self._e.write(body, f"delete artifact {aid}", small=True)

    def list_by_session(self, session_id: UUID) -> list[Artifact]:
        """The session's artifacts by ``created_at`` (ties by id)."""
        rows = self._e.rows(
            _SELECT.format(where="a.session_id = ?") + " ORDER BY a.created_at, a.created_at_ns NULLS FIRST, a.id",
            [str(session_id)],
        )
        return [_artifact(r) for r in rows]

    def delete_by_session(self, session_id: UUID) -> int:
        """Delete the session's artifacts; returns how many."""
        sid = str(session_id)

        def body(con: duckdb.DuckDBPyConnection) -> int:
            return delete_session_artifacts(con, sid)

        return self._e.write(body, f"delete artifacts of {sid}")


def delete_session_artifacts(con: duckdb.DuckDBPyConnection, session_id: str) -> int:
    """Delete a session's artifacts and their bytes inside the caller's transaction; how many artifacts."""
    con.execute(
        "DELETE FROM artifact_data WHERE id IN (SELECT id FROM artifacts WHERE session_id = ?::UUID)",
        [session_id],
    )
    return _sql.delete_ids(con, "artifacts", [session_id], "session_id")
