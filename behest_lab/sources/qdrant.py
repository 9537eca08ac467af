"""Read the embeddings of behest 0.3.1's ``QdrantEmbeddingStore`` (``qdrant://host:6333/collection`` or a local path).

behest's layout (0.3.1's ``qdrant/embedding.rs``; README "Redis, MongoDB, artifact stores, Qdrant, SurrealDB"): one
collection with a single unnamed cosine vector per point; the point's payload holds ``id`` (the record id as
text), ``model``, ``session_id`` (text, absent when the record has none), ``metadata`` (JSON text) and
``created_at`` (RFC 3339 text, ``+00:00``). behest names a point by its id's 128-bit integer in decimal text, which
a Qdrant server accepts only when it happens to parse as a UUID; behest's own reader never looks at the point id,
and neither does behest_lab: the record id is the payload's ``id``, whatever the point is called.

Decoding follows behest's ``scored_to_record`` with one difference written down here: where behest silently drops
a point (no ``id`` or ``model``), or silently substitutes (an unparsable ``session_id`` becomes none, unparsable
``metadata`` null, an unparsable ``created_at`` 1970-01-01), behest_lab raises a ``SourceError`` naming the point:
an analyst should see damaged data, and ``--skip-bad`` skips such points. A missing ``metadata`` reads as ``{}``
and a missing ``session_id`` as none, as in behest. The vector is the point's unnamed vector as Qdrant returns it
(a Qdrant server normalises vectors of a cosine collection to unit length when they are stored).

Targets: ``qdrant://host:6333/collection`` (REST; ``qdrants://`` for HTTPS; an API key as the URL's password or
``?api_key=``), or a folder of qdrant-client's local mode with ``collection=`` (or the only collection in it).
Embeddings come as bundles with ``session`` None, one per ``session_id``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, unquote, urlsplit
from uuid import UUID

import pyarrow as pa
import pydantic

from behest_lab.errors import SourceError
from behest_lab.interchange import Bundle
from behest_lab.records import EmbeddingRecord, parse_timestamp
from behest_lab.sources._kv import error, provenance, scrub, secrets_of, short_reason
from behest_lab.sources.base import BadRowHandler, Want, fingerprint, fingerprint_table, redact_url

__all__ = ["QdrantSource"]


class QdrantSource:
    """behest's Qdrant embedding collection, read by scrolling every point.

    Attributes:
        kind: ``"qdrant"``.
        location: the URL without its API key, or the local folder; ``#collection`` appended for a folder.
        collection: the collection read.
    """

    kind = "qdrant"

    def __init__(self, target: str | Path, *, collection: str | None = None, batch: int = 256) -> None:
        """Open the collection and check it exists.

        Args:
            target: ``qdrant://host:port/collection``, ``qdrants://...``, or a local-mode folder.
            collection: the collection (required for a folder holding several; overrides the URL's path).
            batch: points per scroll request.

        Raises:
            SourceError: the server cannot be reached, or the collection does not exist.
        """
        from qdrant_client import QdrantClient

        text = str(target)
        self._batch = max(1, batch)
        self._secrets = secrets_of(text)
        self._client: Any = None
        try:
            if text.startswith(("qdrant://", "qdrants://")):
                parts = urlsplit(text)
                query = dict(parse_qsl(parts.query))
                api_key = query.get("api_key") or (unquote(parts.password) if parts.password else None)
                name = collection or parts.path.strip("/")
                self.location = redact_url(text)
                self.collection = name
                self._client = QdrantClient(
                    host=parts.hostname or "localhost",
                    port=parts.port or 6333,
                    https=parts.scheme == "qdrants",
                    api_key=api_key,
                    timeout=10,
                )
            else:
                folder = Path(text)
                self.location = str(folder)
                self.collection = collection or ""
                if not folder.is_dir():
                    raise self._error("not a folder")
                self._client = QdrantClient(path=str(folder))
            names = [c.name for c in self._client.get_collections().collections]
        except SourceError:
            raise
        except Exception as exc:  # qdrant-client raises transport- and mode-specific errors
            self.close()
            raise self._error(f"cannot connect: {exc}") from None
        if not self.collection:
            if len(names) != 1:
                self.close()
                raise self._error(f"name the collection (found: {', '.join(sorted(names)) or 'none'})")
            self.collection = names[0]
        if self.collection not in names:
            self.close()
            raise self._error(f"no collection {self.collection!r} (found: {', '.join(sorted(names)) or 'none'})")
        if not text.startswith(("qdrant://", "qdrants://")):
            self.location = f"{self.location}#{self.collection}"

    def __repr__(self) -> str:
        """``QdrantSource('qdrant://host:6333/behest')``, never with the API key."""
        return f"QdrantSource({self.location!r})"

    def __enter__(self) -> Self:
        """The source itself."""
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close the client."""
        self.close()

    def close(self) -> None:
        """Close the client (idempotent; releases a local folder's lock)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    # --- reading ------------------------------------------------------------------------------------------------

    @classmethod
    def sniff(cls, path: Path) -> bool:
        """Whether ``path`` is a folder of qdrant-client's local mode (its ``meta.json`` and ``collection`` folder)."""
        return path.is_dir() and (path / "meta.json").is_file() and (path / "collection").is_dir()

    def fingerprints(self) -> pa.Table:
        """One row per point: the payload's record id (else the point id), its session and a content hash.

        The hash covers the payload and the vector.

        Raises:
            SourceError: the server failed.
        """
        rows: list[tuple[str, str, str | None, int]] = []
        for point in self._points():
            payload = dict(point.payload or {})
            rid, sid = payload.get("id"), payload.get("session_id")
            rows.append(
                (
                    "embeddings",
                    rid if isinstance(rid, str) else f"{self.collection}/{point.id}",
                    sid if isinstance(sid, str) else None,
                    fingerprint(json.dumps(payload, sort_keys=True, default=str), repr(point.vector)),
                )
            )
        return fingerprint_table(rows)

    def read(self, want: Want | None, on_bad: BadRowHandler) -> Iterator[Bundle]:
        """Bundles of embeddings (``session`` None), one per ``session_id``, with provenance for each.

        ``want`` selects by record id (``want.rows["embeddings"]``) or session; a point that is not one of behest's
        records goes to ``on_bad``.

        Raises:
            SourceError: the server failed.
        """
        groups: dict[UUID | None, list[tuple[EmbeddingRecord, str]]] = {}
        for point in self._points():
            try:
                record = self._record(point)
            except SourceError as exc:
                on_bad(exc)
                continue
            if want is not None and not (
                want.wants("embeddings", str(record.id)) or str(record.session_id) in want.sessions
            ):
                continue
            groups.setdefault(record.session_id, []).append((record, str(point.id)))
        for items in groups.values():
            yield Bundle(
                session=None,
                embeddings=[r for r, _ in items],
                provenance=[
                    provenance(r.id, "embeddings", self.kind, self.location, f"{self.collection}/{pid}")
                    for r, pid in items
                ],
            )

    def bundles(self) -> Iterator[Bundle]:
        """Every point as ``read`` gives them, raising at the first bad one.

        Raises:
            SourceError: the server failed, or a point is not one of behest's records (named by its point id).
        """
        yield from self.read(None, _raise)

    def _points(self) -> Iterator[Any]:
        offset: Any = None
        while True:
            try:
                points, offset = self._client.scroll(
                    self.collection, limit=self._batch, offset=offset, with_payload=True, with_vectors=True
                )
            except Exception as exc:  # transport errors of either mode
                raise self._error(f"scroll failed: {exc}") from None
            yield from points
            if offset is None:
                return

    def _record(self, point: Any) -> EmbeddingRecord:
        ref = f"{self.collection}/{point.id}"
        payload: dict[str, Any] = dict(point.payload or {})
        try:
            rid = _text(payload, "id", required=True)
            model = _text(payload, "model", required=True)
            session = _text(payload, "session_id", required=False)
            meta_text = _text(payload, "metadata", required=False)
            created = _text(payload, "created_at", required=True)
            try:
                metadata = json.loads(meta_text) if meta_text is not None else {}
            except ValueError as exc:
                raise ValueError(f"payload metadata is not JSON: {exc}") from None
            vector = point.vector
            if isinstance(vector, dict):
                raise ValueError("the point has named vectors; behest stores one unnamed vector")
            if not isinstance(vector, list):
                raise ValueError("the point has no vector")
            return EmbeddingRecord(
                id=UUID(rid or ""),
                session_id=UUID(session) if session is not None else None,
                model=model or "",
                vector=[float(v) for v in vector],
                metadata=metadata,
                created_at=parse_timestamp(created or ""),
            )
        except (ValueError, TypeError, pydantic.ValidationError) as exc:
            raise self._error(short_reason(exc), table="embeddings", key=ref) from None

    def _error(self, message: str, *, table: str | None = None, key: str | None = None) -> SourceError:
        location = getattr(self, "location", "qdrant")
        return error(scrub(message, self._secrets), source=self.kind, location=location, table=table, key=key)


def _text(payload: dict[str, Any], key: str, *, required: bool) -> str | None:
    value = payload.get(key)
    if value is None:
        if required:
            raise ValueError(f"payload has no {key}")
        return None
    if not isinstance(value, str):
        raise ValueError(f"payload {key} is {type(value).__name__}, not text")
    return value


def _raise(exc: SourceError) -> None:
    raise exc
