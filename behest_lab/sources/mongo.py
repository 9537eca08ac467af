"""Read behest's ``MongodbSessionStore``: a ``mongodump`` folder or archive, ``mongoexport`` files, or a live server.

behest's layout (its ``mongodb/session.rs``; README "Redis, MongoDB, artifact stores, Qdrant, SurrealDB"):
collection ``sessions`` (``_id`` = the session id as text, ``title``, ``model``, ``metadata`` as a document,
``created_at``, ``updated_at``) and collection ``messages`` (``_id``, ``session_id`` as text, ``role`` text,
``content`` and ``tool_calls`` as arrays of documents, ``usage`` document or null, ``is_compaction``,
``is_summary``, ``compaction_meta`` when present, ``created_at``).

Where behest's own reader would fail or lose data, an analyst's reading is taken, and written down here:

- **Mixed timestamps.** behest inserts documents through serde, which writes ``created_at``/``updated_at`` as RFC 3339
  strings, then ``append_message`` and ``update_session`` ``$set`` ``updated_at`` to a BSON date (milliseconds).
  Both forms are read; a date is taken as UTC to the millisecond.
- **Tool-result ids.** behest's documents have no ``tool_call_id``/``tool_name``; they are recovered by pairing each
  tool message with the next unanswered call of the preceding assistant message (as the SQLite import does).
- **UUIDs inside documents.** ``compaction_meta``'s ids are text, or 16-byte binary (the driver's raw serialiser is
  not human-readable, so serde writes a ``Uuid`` as bytes); both are read.
- Unknown roles read as ``user`` (behest's rule); messages keep ``created_at`` order, and among equal instants the
  order of the dump (the collection's natural order). Messages whose session is absent are not read (behest cannot
  list them either); ``orphans`` counts them.

Sources: a folder holding ``sessions.bson``/``messages.bson`` (``.bson.gz`` too, from ``mongodump --gzip``) or
``sessions.json``/``messages.json`` (``mongoexport``, Extended JSON, one document a line or a JSON array), directly
or one database folder below; a ``mongodump --archive`` file (gzip'd or not); or a ``mongodb://`` /
``mongodb+srv://`` URL read with pymongo (the database from the URL's path or ``database=``). All of them go through
the same mapping. No MongoDB server is installable where behest_lab is tested; the live path is tested only for its
errors.
"""

from __future__ import annotations

import gzip
import io
import json
import struct
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import unquote, urlsplit
from uuid import UUID

import pyarrow as pa
import pydantic

from behest_lab.errors import SourceError
from behest_lab.interchange import Bundle
from behest_lab.interchange.behest_sqlite import recover_tool_ids
from behest_lab.records import Instant, MessageRecord, MessageRole, Session, parse_timestamp
from behest_lab.sources._kv import error, provenance, scrub, secrets_of, short_reason
from behest_lab.sources.base import BadRowHandler, Want, fingerprint, fingerprint_table, redact_url

__all__ = ["MongoSource"]

_ARCHIVE_MAGIC = b"\x6d\xe2\x99\x81"
_TERMINATOR = b"\xff\xff\xff\xff"
_COLLECTIONS = ("sessions", "messages")
_ROLES = {r.value for r in MessageRole}


class MongoSource:
    """behest's MongoDB session store, from a dump, an export or a live server (see the module docstring).

    Attributes:
        kind: ``"mongodb"``.
        location: the path, or the URL without its password.
        orphans: messages read whose session is absent.
        tool_ids_recovered: tool messages given the id and name of the call they answer.
    """

    kind = "mongodb"

    def __init__(self, target: str | Path, *, database: str | None = None) -> None:
        """Open ``target`` (nothing is read yet, except a live server's reachability).

        Args:
            target: a dump or export folder, a ``mongodump --archive`` file, or a ``mongodb://`` URL.
            database: the database to read when a dump holds several, or the URL names none.

        Raises:
            SourceError: the target does not exist, is not behest's data, or the server cannot be reached.
        """
        text = str(target)
        self._live = text.startswith(("mongodb://", "mongodb+srv://"))
        local = unquote(urlsplit(text).path) if text.startswith("mongodump://") else text
        # a dump's location is its path, however it was named (``mongodump:///x`` or ``/x``): one sync state
        self.location = redact_url(text) if self._live else local
        self._secrets = secrets_of(text) if self._live else []
        self._database = database
        self.orphans = 0
        self.tool_ids_recovered = 0
        self._client: Any = None
        self._cache: tuple[list[tuple[str, dict[str, Any]]], list[tuple[str, dict[str, Any]]]] | None = None
        if self._live:
            self._connect(text)
        else:
            self._path = Path(local)
            if not self._path.exists():
                raise self._error("no such file or folder")

    def __repr__(self) -> str:
        """``MongoSource('mongodb://host/db')``, never with the password."""
        return f"MongoSource({self.location!r})"

    def __enter__(self) -> Self:
        """The source itself."""
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close a live connection."""
        self.close()

    def close(self) -> None:
        """Close a live connection (idempotent; nothing to do for files)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    # --- reading ------------------------------------------------------------------------------------------------

    @classmethod
    def sniff(cls, path: Path) -> bool:
        """Whether ``path`` is a ``mongodump`` archive or a dump/export folder (``sessions.*`` here or one below)."""
        if path.is_file():
            try:
                with path.open("rb") as fh:
                    head = fh.read(4)
                if head[:2] == b"\x1f\x8b":
                    with gzip.open(path, "rb") as gz:
                        head = gz.read(4)
            except (OSError, EOFError):
                return False
            return head == _ARCHIVE_MAGIC
        if not path.is_dir():
            return False
        folders = [path, *(p for p in path.iterdir() if p.is_dir())]
        return any((f / f"sessions{ext}").is_file() for f in folders for ext in (".bson", ".bson.gz", ".json"))

    def fingerprints(self) -> pa.Table:
        """One row per session and message document: its ``_id``, session and a hash of the document's BSON.

        Raises:
            SourceError: the dump or server cannot be read.
        """
        self._cache = None  # a new sync round: read the dump again (``read`` then uses what was read here)
        sessions, messages = self._documents()
        rows: list[tuple[str, str, str | None, int]] = []
        for ref, doc in sessions:
            rows.append(("sessions", _id_text(doc, ref), None, fingerprint(_encode(doc))))
        held = {_id_text(doc, ref) for ref, doc in sessions}
        for ref, doc in messages:
            sid = doc.get("session_id")
            if not isinstance(sid, str) or sid not in held:
                continue  # a message whose session is absent: behest cannot list it, and it is never read
            rows.append(("messages", _id_text(doc, ref), sid, fingerprint(_encode(doc))))
        return fingerprint_table(rows)

    def read(self, want: Want | None, on_bad: BadRowHandler) -> Iterator[Bundle]:
        """Bundles of whole sessions (all, or ``want.sessions``), messages in ``created_at`` order, with provenance.

        A document that does not decode goes to ``on_bad`` (a bad session is left out, its messages with it).

        Raises:
            SourceError: the dump or server cannot be read.
        """
        sessions, messages = self._documents()
        if want is not None:
            sessions = [(r, d) for r, d in sessions if _id_text(d, r) in want.sessions]
            messages = [(r, d) for r, d in messages if d.get("session_id") in want.sessions]
        yield from self._assemble(sessions, messages, on_bad)

    def bundles(self) -> Iterator[Bundle]:
        """Every session as ``read`` gives them, raising at the first bad document.

        Raises:
            SourceError: a file or document does not decode (named with its collection and ``_id`` or position).
        """
        yield from self.read(None, _raise)

    def _documents(self) -> tuple[list[tuple[str, dict[str, Any]]], list[tuple[str, dict[str, Any]]]]:
        """(ref, document) of both collections; a dump is read once and kept, a server is asked each time."""
        if self._live:
            return self._live_documents()
        if self._cache is None:
            self._cache = self._read_files()
        return self._cache

    def _assemble(
        self,
        sessions: Iterable[tuple[str, dict[str, Any]]],
        messages: Iterable[tuple[str, dict[str, Any]]],
        on_bad: BadRowHandler,
    ) -> Iterator[Bundle]:
        by_session: dict[UUID, list[MessageRecord]] = {}
        for ref, doc in messages:
            try:
                m = self._message(ref, doc)
            except SourceError as exc:
                on_bad(exc)
                continue
            by_session.setdefault(m.session_id, []).append(m)
        known: set[UUID] = set()
        for ref, doc in sessions:
            try:
                session = self._session(ref, doc)
            except SourceError as exc:
                on_bad(exc)
                continue
            known.add(session.id)
            yield self._bundle(session, by_session.get(session.id, []))
        self.orphans += sum(len(v) for k, v in by_session.items() if k not in known)

    def _bundle(self, session: Session, messages: list[MessageRecord]) -> Bundle:
        messages = sorted(messages, key=lambda m: m.created_at)  # stable: equal instants keep the dump's order
        fixed, recovered, _ = recover_tool_ids(messages)
        self.tool_ids_recovered += recovered
        prov = [provenance(session.id, "sessions", self.kind, self.location, f"sessions/{session.id}")]
        prov += [provenance(m.id, "messages", self.kind, self.location, f"messages/{m.id}") for m in fixed]
        return Bundle(session=session, messages=fixed, provenance=prov)

    # --- files --------------------------------------------------------------------------------------------------

    def _read_files(self) -> tuple[list[tuple[str, dict[str, Any]]], list[tuple[str, dict[str, Any]]]]:
        if self._path.is_file():
            docs = self._read_archive(self._path)
            return docs.get("sessions", []), docs.get("messages", [])
        folder = self._find_folder(self._path)
        out: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for name in _COLLECTIONS:
            out[name] = list(self._read_collection(folder, name))
        return out["sessions"], out["messages"]

    def _find_folder(self, root: Path) -> Path:
        def has_sessions(folder: Path) -> bool:
            return any((folder / f"sessions{ext}").is_file() for ext in (".bson", ".bson.gz", ".json"))

        if has_sessions(root):
            return root
        below = sorted(p for p in root.iterdir() if p.is_dir() and has_sessions(p))
        if self._database is not None:
            below = [p for p in below if p.name == self._database]
        if len(below) == 1:
            return below[0]
        if not below:
            raise self._error("no sessions.bson, sessions.bson.gz or sessions.json here: not a behest MongoDB dump")
        names = ", ".join(p.name for p in below)
        raise self._error(f"the dump holds several databases ({names}); pass database=")

    def _read_collection(self, folder: Path, name: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for ext in (".bson", ".bson.gz"):
            path = folder / f"{name}{ext}"
            if path.is_file():
                opener = gzip.open if ext.endswith(".gz") else open
                with opener(path, "rb") as fh:
                    yield from self._bson_stream(fh.read(), name, str(path))
                return
        path = folder / f"{name}.json"
        if path.is_file():
            yield from self._ejson(path, name)
        elif name == "sessions":
            raise self._error(f"{name}: missing from {folder}")

    def _bson_stream(self, data: bytes, name: str, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
        import bson

        pos = index = 0
        while pos < len(data):
            if len(data) - pos < 5:
                raise self._error(f"{where}: truncated after document {index}", table=name)
            (size,) = struct.unpack_from("<i", data, pos)
            try:
                doc = bson.decode(data[pos : pos + size], codec_options=_codec())
            except Exception as exc:  # bson raises InvalidBSON and others for damaged bytes
                raise self._error(f"{where}: document {index} is not BSON: {exc}", table=name) from None
            yield _ref(name, doc, index), doc
            pos += size
            index += 1

    def _ejson(self, path: Path, name: str) -> Iterator[tuple[str, dict[str, Any]]]:
        from bson import json_util

        text = path.read_text(encoding="utf-8")
        options = json_util.JSONOptions(tz_aware=True, tzinfo=UTC, uuid_representation=0)
        stripped = text.lstrip()
        try:
            if stripped.startswith("["):
                docs = json_util.loads(text, json_options=options)
                items = list(enumerate(docs, start=1))
            else:
                items = []
                for line_no, line in enumerate(text.splitlines(), start=1):
                    if line.strip():
                        items.append((line_no, json_util.loads(line, json_options=options)))
        except (ValueError, TypeError) as exc:
            raise self._error(f"{path}: not Extended JSON: {exc}", table=name) from None
        for line_no, doc in items:
            if not isinstance(doc, dict):
                raise self._error(f"{path}: line {line_no} is not a document", table=name)
            yield _ref(name, doc, line_no - 1), doc

    def _read_archive(self, path: Path) -> dict[str, list[tuple[str, dict[str, Any]]]]:
        raw = self._archive_bytes(path)
        stream = io.BytesIO(raw[4:])
        if self._archive_doc(stream) is None:  # the archive header
            raise self._error("mongodump archive without a header")
        while self._archive_doc(stream) is not None:  # collection metadata, up to the terminator
            pass
        return self._behest_collections(self._archive_collections(stream, len(raw) - 4))

    def _archive_bytes(self, path: Path) -> bytes:
        """The bytes of the archive at ``path``, gunzipped when compressed, starting with the archive's magic number."""
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            try:
                raw = gzip.decompress(raw)
            except (OSError, EOFError) as exc:
                raise self._error(f"not a gzip'd archive: {exc}") from None
        if raw[:4] != _ARCHIVE_MAGIC:
            raise self._error("not a mongodump archive (no magic number) nor a dump folder")
        return raw

    def _archive_doc(self, stream: io.BytesIO) -> dict[str, Any] | None:
        """The next BSON document of an archive; None at a terminator or at the end."""
        import bson

        head = stream.read(4)
        if head == _TERMINATOR or not head:
            return None
        if len(head) < 4:
            raise self._error("archive truncated")
        (size,) = struct.unpack("<i", head)
        body = stream.read(size - 4)
        try:
            return bson.decode(head + body, codec_options=_codec())  # type: ignore[no-any-return]
        except Exception as exc:  # damaged bytes
            raise self._error(f"archive document does not decode: {exc}") from None

    def _archive_collections(self, stream: io.BytesIO, end: int) -> dict[str, list[tuple[str, dict[str, Any]]]]:
        """The documents of behest's collections in the archive's data blocks, keyed by database NUL collection.

        Each block is a header naming a database and collection, then documents up to a terminator; a header marked
        ``EOF`` closes its collection. With ``database`` set, the blocks of other databases are read and dropped.
        """
        database = self._database
        out: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        while True:
            header = self._archive_doc(stream)
            if header is None:
                if stream.tell() >= end:
                    break
                continue
            db, coll = str(header.get("db", "")), str(header.get("collection", ""))
            if header.get("EOF"):
                terminator = stream.read(4)
                if terminator not in (_TERMINATOR, b""):
                    raise self._error(f"archive: no terminator after {db}.{coll}'s end")
                continue
            keep = coll in _COLLECTIONS and (database is None or db == database)
            items = out.setdefault(f"{db}\0{coll}", []) if keep else []
            while (doc := self._archive_doc(stream)) is not None:
                items.append((_ref(coll, doc, len(items)), doc))
        return out

    def _behest_collections(
        self, found: dict[str, list[tuple[str, dict[str, Any]]]]
    ) -> dict[str, list[tuple[str, dict[str, Any]]]]:
        """``found`` keyed by collection name, once it is known to hold one database with a sessions collection."""
        dbs = sorted({k.split("\0")[0] for k in found})
        if len(dbs) > 1:
            raise self._error(f"the archive holds several databases ({', '.join(dbs)}); pass database=")
        if not any(k.endswith("\0sessions") for k in found):
            raise self._error("the archive holds no sessions collection: not a behest MongoDB dump")
        return {k.split("\0")[1]: v for k, v in found.items()}

    # --- live ---------------------------------------------------------------------------------------------------

    def _connect(self, url: str) -> None:
        import pymongo
        import pymongo.errors
        import pymongo.uri_parser

        try:
            parsed = pymongo.uri_parser.parse_uri(url)
            self._database = self._database or parsed.get("database")
            if not self._database:
                raise self._error("the URL names no database; add it to the path or pass database=")
            self._client = pymongo.MongoClient(
                url,
                serverSelectionTimeoutMS=5000,
                connectTimeoutMS=5000,
                tz_aware=True,
                uuidRepresentation="unspecified",
            )
            self._client.admin.command("ping")
        except pymongo.errors.PyMongoError as exc:
            self.close()
            raise self._error(f"cannot connect: {exc}") from None
        except ValueError as exc:
            raise self._error(f"not a MongoDB URL: {exc}") from None

    def _live_documents(self) -> tuple[list[tuple[str, dict[str, Any]]], list[tuple[str, dict[str, Any]]]]:
        import pymongo.errors

        db = self._client[self._database]
        try:
            sessions = [(_ref("sessions", d, i), d) for i, d in enumerate(db["sessions"].find({}))]
            cursor = db["messages"].find({}).sort([("session_id", 1), ("created_at", 1)])
            messages = [(_ref("messages", d, i), d) for i, d in enumerate(cursor)]
        except pymongo.errors.PyMongoError as exc:
            raise self._error(f"read failed: {exc}") from None
        return sessions, messages

    # --- documents -> records -----------------------------------------------------------------------------------

    def _session(self, ref: str, doc: dict[str, Any]) -> Session:
        try:
            metadata = doc.get("metadata")
            if not isinstance(metadata, dict):
                raise ValueError("metadata: expected a document")
            return Session(
                id=_uuid_text(doc.get("_id"), "_id"),
                title=_str(doc.get("title"), "title"),
                model=_str(doc.get("model"), "model"),
                created_at=_time(doc.get("created_at"), "created_at"),
                updated_at=_time(doc.get("updated_at"), "updated_at"),
                metadata=to_json(metadata),
            )
        except (ValueError, TypeError, pydantic.ValidationError) as exc:
            raise self._error(short_reason(exc), table="sessions", key=ref) from None

    def _message(self, ref: str, doc: dict[str, Any]) -> MessageRecord:
        try:
            role = _str(doc.get("role"), "role")
            if "tool_calls" not in doc:
                raise ValueError("tool_calls: missing")
            meta = doc.get("compaction_meta")
            if isinstance(meta, dict):
                meta = {k: (_any_uuid(v, f"compaction_meta.{k}") if k.endswith("_id") else v) for k, v in meta.items()}
            fields: dict[str, Any] = {
                "id": _uuid_text(doc.get("_id"), "_id"),
                "session_id": _uuid_text(doc.get("session_id"), "session_id"),
                "role": role if role in _ROLES else MessageRole.USER.value,
                "content": to_json(doc.get("content")),
                "tool_calls": to_json(doc.get("tool_calls")),
                "usage": to_json(doc.get("usage")),
                "created_at": _time(doc.get("created_at"), "created_at"),
                "is_compaction": doc.get("is_compaction", False),
                "is_summary": doc.get("is_summary", False),
                "compaction_meta": to_json(meta),
            }
            return MessageRecord.model_validate(fields)
        except (ValueError, TypeError, pydantic.ValidationError) as exc:
            raise self._error(short_reason(exc), table="messages", key=ref) from None

    def _error(self, message: str, *, table: str | None = None, key: str | None = None) -> SourceError:
        return error(scrub(message, self._secrets), source=self.kind, location=self.location, table=table, key=key)


# --- value conversion -------------------------------------------------------------------------------------------


def _raise(exc: SourceError) -> None:
    raise exc


def _encode(doc: dict[str, Any]) -> bytes:
    import bson

    return bson.encode(doc)


def _id_text(doc: dict[str, Any], ref: str) -> str:
    key = doc.get("_id")
    return key if isinstance(key, str) else ref


def _codec() -> Any:
    from bson.codec_options import CodecOptions

    return CodecOptions(tz_aware=True, tzinfo=UTC)


def _ref(collection: str, doc: Any, index: int) -> str:
    key = doc.get("_id") if isinstance(doc, dict) else None
    return f"{collection}/{key}" if isinstance(key, str) else f"{collection}#{index}"


def _str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name}: expected a string, got {_type_name(value)}")
    return value


def _uuid_text(value: Any, name: str) -> UUID:
    text = _str(value, name)
    try:
        return UUID(text)
    except ValueError as exc:
        raise ValueError(f"{name}: not a UUID: {value!r}") from exc


def _any_uuid(value: Any, name: str) -> str | None:
    from bson.binary import Binary

    if value is None:
        return None
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bytes | Binary) and len(value) == 16:
        return str(UUID(bytes=bytes(value)))
    return str(_uuid_text(value, name))


def _time(value: Any, name: str) -> Instant:
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return Instant.from_datetime(aware.astimezone(UTC))
    if isinstance(value, str):
        try:
            return parse_timestamp(value)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    raise ValueError(f"{name}: expected an RFC 3339 string or a BSON date, got {_type_name(value)}")


def _type_name(value: Any) -> str:
    return "nothing (missing)" if value is None else type(value).__name__


def to_json(value: Any) -> Any:
    """A BSON value as the JSON value behest's serde reads from it.

    Documents, arrays, strings, booleans, null, 32/64-bit integers and doubles map to their JSON counterparts; other
    BSON types (dates, binary, ObjectId, decimal) become their canonical Extended JSON form, as bson's serde
    deserialiser presents them to a ``serde_json::Value``.

    Args:
        value: a decoded BSON value.
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)  # bson.Int64 is an int subclass
    if isinstance(value, float):
        return value
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    from bson import json_util

    return json.loads(json_util.dumps(value, json_options=json_util.CANONICAL_JSON_OPTIONS))
