"""The contract every reader of one of behest's backends implements, and the helpers they share.

A *source* is one place where behest keeps data (a SQLite file, a PostgreSQL or MySQL database, a Redis server, a
MongoDB dump, an artifact store, a Qdrant collection, a SurrealDB export). ``behest_lab.sources.open_source(url)``
picks the reader class by the URL's scheme and calls ``ReaderClass(url, **options)``; the reader connects (or opens
its file) right away and raises ``SourceError`` when it cannot, or when what it finds is not behest's data. A
reader that can be given as a plain path also has a classmethod ``sniff(path: Path) -> bool`` (``PATH_READERS``).
Register a reader by its module and class name in ``behest_lab.sources.SCHEMES``; modules are imported lazily.

The sync engine (``behest_lab.sync``) drives a source in two steps:

1. ``fingerprints()``: one cheap row per record the source holds now: ``(table, id, session_id, fp)``, as a
   ``pyarrow.Table`` with ``FINGERPRINT_SCHEMA``. ``table`` is behest_lab's table name (``TABLES``), ``id`` the
   record's id as canonical UUID text (a row whose id does not parse keeps its raw key text: ``read`` reports it as
   bad), ``session_id`` the id text of the session it belongs to (None for none), and ``fp`` an unsigned 64-bit
   number that changes whenever anything of the row that the record is built from changes (``fingerprint`` hashes
   values; a reader may compute it in the database instead, as long as the same row always gives the same number).
   The engine compares these rows with the ones kept from the previous sync: new ids, changed ``fp`` and vanished
   ids are the whole change set, so a reader needs no watermark of its own.
2. ``read(want, on_bad)``: the records themselves, as ``Bundle``s (one session with its messages, executions,
   usage records, embeddings and artifacts; ``session=None`` for records whose session the source does not hold).
   ``want=None`` asks for everything; otherwise ``want.sessions`` names the sessions to read and ``want.rows`` the
   ids per table the engine needs. A reader may yield more than was asked (whole sessions: tool-result ids are
   recovered by pairing a session's messages in order); the engine keeps only the wanted ids. Every yielded
   record carries a ``Provenance`` entry in its bundle (``provenance_for`` builds one), with ``source=kind``,
   ``location=location`` and ``ref`` naming the place inside the source (``messages:<id>``, a Redis key, a file
   and line). A row that cannot be decoded is not raised from the iterator: the reader calls
   ``on_bad(SourceError(...))`` and goes on with the next row; ``on_bad`` raises it (strict runs) or counts it
   (``skip_bad``).

Decoding follows behest's own readers and the spec's notes on each backend (see the README's "Syncing from
behest"): a reader yields the records behest would return, with its quirks handled in the reader.

A reader may also implement ``SessionDigests`` (``digests()`` and ``session_fingerprints(sessions)``): one
``(count, sum of fingerprints)`` per table and session, computed where the rows are, and the fingerprint rows of
some sessions only. The engine then compares those per-session digests with the same sums over the fingerprints
the store kept, and lists rows only of the sessions whose digest differs, so a sync that finds little new does not
move one row per record (``behest_lab.sources.sync``).

``location`` never holds a secret: build it with ``redact_url`` (passwords and secret query parameters removed).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pyarrow as pa

from behest_lab.errors import SourceError
from behest_lab.interchange.bundle import Bundle
from behest_lab.records import Provenance

__all__ = [
    "DIGEST_MODULUS",
    "DIGEST_SCHEMA",
    "FINGERPRINT_SCHEMA",
    "TABLES",
    "BadRowHandler",
    "SessionDigests",
    "Source",
    "SourceError",
    "Want",
    "fingerprint",
    "fingerprint_table",
    "provenance_for",
    "redact_url",
]

#: behest_lab's tables, the values of the fingerprints' ``table`` column.
TABLES = ("sessions", "messages", "tool_executions", "usage_records", "embeddings", "artifacts")

#: Columns of ``Source.fingerprints()``.
FINGERPRINT_SCHEMA = pa.schema(
    [
        pa.field("table", pa.string(), nullable=False),
        pa.field("id", pa.string(), nullable=False),
        pa.field("session_id", pa.string()),
        pa.field("fp", pa.uint64(), nullable=False),
    ]
)

#: Columns of ``SessionDigests.digests()``.
DIGEST_SCHEMA = pa.schema(
    [
        pa.field("table", pa.string(), nullable=False),
        pa.field("session_id", pa.string()),
        pa.field("n", pa.int64(), nullable=False),
        pa.field("total", pa.uint64(), nullable=False),
    ]
)

#: Fingerprints are summed modulo this in digests.
DIGEST_MODULUS = 1 << 64

#: Called by ``Source.read`` with each row that cannot be decoded; raises to stop, returns to skip the row.
BadRowHandler = Callable[[SourceError], None]


@dataclass(frozen=True)
class Want:
    """What the engine asks a source to read.

    Attributes:
        sessions: Ids (text) of the sessions whose records are needed (new or changed rows in them).
        rows: Per table, the ids (text) of the rows needed; rows without a session are found here only.
    """

    sessions: frozenset[str] = frozenset()
    rows: dict[str, frozenset[str]] = field(default_factory=dict)

    def wants(self, table: str, id: str) -> bool:
        """Whether the row ``id`` of ``table`` is asked for."""
        return id in self.rows.get(table, frozenset())

    @property
    def unowned(self) -> bool:
        """Whether any asked-for row belongs to no session the source holds (``embeddings``, ``artifacts``)."""
        return bool(self.rows.get("embeddings") or self.rows.get("artifacts"))


@runtime_checkable
class Source(Protocol):
    """One of behest's backends, opened for reading (see the module docstring for the protocol)."""

    kind: str
    """The backend: ``sqlite``, ``postgresql``, ``mysql``, ``redis``, ``mongodb``, ``objects``, ``qdrant``,
    ``surrealdb``. Stored as ``Provenance.source``."""

    location: str
    """Where the source is, without secrets (``redact_url``). Stored as ``Provenance.location``; it is also the
    key of the sync state, so the same source must always give the same text."""

    def fingerprints(self) -> pa.Table:
        """One row per record the source holds now, with ``FINGERPRINT_SCHEMA``.

        Raises:
            SourceError: The source cannot be read.
        """
        ...

    def read(self, want: Want | None, on_bad: BadRowHandler) -> Iterator[Bundle]:
        """The records (all with ``want=None``, else at least the wanted ones) as bundles with provenance.

        Raises:
            SourceError: The source cannot be read any further (a row that does not decode goes to ``on_bad``).
        """
        ...

    def close(self) -> None:
        """Release connections and files; idempotent."""
        ...


@runtime_checkable
class SessionDigests(Protocol):
    """What a source offers beside ``fingerprints()`` so that a sync finding little new stays cheap.

    The *owner* of a row is the session it belongs to: a session row's own id, else the row's ``session_id``
    (None for none). Both methods must agree with ``fingerprints()`` exactly: same ids, same numbers.
    """

    def digests(self) -> pa.Table:
        """Per table and owner: the count of rows and the sum of their ``fp`` modulo 2**64 (``DIGEST_SCHEMA``).

        Raises:
            SourceError: The source cannot be read.
        """
        ...

    def session_fingerprints(self, sessions: Sequence[str | None]) -> pa.Table:
        """The ``fingerprints()`` rows (``FINGERPRINT_SCHEMA``) of every table whose owner is in ``sessions``.

        Raises:
            SourceError: The source cannot be read.
        """
        ...


def fingerprint(*values: Any) -> int:
    """A stable unsigned 64-bit hash of ``values`` (text, bytes, numbers, None; same values, same number).

    Python's ``hash`` changes between processes; this one does not (BLAKE2b of a length-prefixed encoding).
    """
    h = hashlib.blake2b(digest_size=8)
    for v in values:
        if v is None:
            h.update(b"\x00")
            continue
        data = v if isinstance(v, bytes) else repr(v).encode() if not isinstance(v, str) else v.encode()
        kind = b"b" if isinstance(v, bytes) else b"s" if isinstance(v, str) else b"r"
        h.update(kind + struct.pack("<Q", len(data)) + data)
    return int.from_bytes(h.digest(), "little")


def fingerprint_table(rows: Iterable[tuple[str, str, str | None, int]]) -> pa.Table:
    """Build the ``fingerprints()`` table from ``(table, id, session_id, fp)`` tuples."""
    cols: list[list[Any]] = [[], [], [], []]
    for row in rows:
        for col, value in zip(cols, row, strict=True):
            col.append(value)
    return pa.Table.from_arrays(
        [pa.array(c, type=f.type) for c, f in zip(cols, FINGERPRINT_SCHEMA, strict=True)], schema=FINGERPRINT_SCHEMA
    )


def provenance_for(
    source: Source, table: str, records: Sequence[Any], refs: Sequence[str] | None = None
) -> list[Provenance]:
    """``Provenance`` entries for ``records`` of ``table`` read from ``source``.

    ``refs`` gives each record's place in the source; by default ``<table>:<id>``.
    """
    out = []
    for i, r in enumerate(records):
        ref = refs[i] if refs is not None else f"{table}:{r.id}"
        out.append(
            Provenance.model_construct(
                record_id=r.id, table=table, source=source.kind, location=source.location, ref=ref
            )
        )
    return out


#: Query parameters that carry secrets in database and object-store URLs; dropped from locations.
_SECRET_PARAMS = ("password", "passwd", "pwd", "secret", "token", "key", "credential", "signature", "auth")


def redact_url(url: str) -> str:
    """``url`` without its password and secret query parameters (``user:pw@host`` becomes ``user@host``).

    A plain path (no scheme) is returned unchanged.
    """
    parts = urlsplit(url)
    if not parts.scheme or len(parts.scheme) == 1:  # a plain path, or a Windows drive letter
        return url
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}@{host}" if user else host
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not any(s in k.lower() for s in _SECRET_PARAMS)
    ]
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query), ""))
