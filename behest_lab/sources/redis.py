"""Read the sessions and messages of behest's ``RedisSessionStore`` (``redis://host:6379/0``).

behest's layout (its ``redis/session.rs``; README "Redis, MongoDB, artifact stores, Qdrant, SurrealDB"):

- hash ``session:{id}`` with the fields ``id``, ``title``, ``model``, ``metadata`` (JSON text), ``created_at`` and
  ``updated_at`` (RFC 3339 text, ``+00:00`` offset as Rust's ``to_rfc3339()`` writes it);
- sorted set ``messages:{session id}`` whose members are whole ``MessageRecord`` JSON documents (serde's shape, so
  tool-result ids survive) and whose scores are ``created_at`` in epoch milliseconds;
- hash ``message_index:{message id}`` (``session_id``, ``score``): behest's lookup for ``update_usage``; derived data,
  not read here.

Decoding follows behest's ``load_session_from_redis`` and ``list_messages``: a session hash with every field absent
is no session (a key deleted mid-scan); a missing ``id``/``title``/``model``/``created_at``/``updated_at`` field, a
value that is not UTF-8, JSON, a UUID or an RFC 3339 time, or a member that is not a ``MessageRecord`` is a
``SourceError`` naming the key (and the message's rank in the set); a missing ``metadata`` field reads as ``{}``.

Message order. Redis returns a sorted set by score, then by the member's bytes: messages created in the same
millisecond come back in the order of their JSON text, that is of their ids. behest_lab orders each session's
messages by the full-precision ``created_at`` (nanoseconds) and keeps Redis's order only among messages whose
``created_at`` is identical, so sub-millisecond order is the order they were created in. A message id that
appears in two members (behest accepts an append with a reused id) is kept once, the first in that order (the
one behest's ``update_usage`` would change); ``duplicates`` counts the members left out.

Redis keeps only behest's session store: no executions, usage records, embeddings or artifacts come from it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from types import TracebackType
from typing import Any, Self
from uuid import UUID

import pyarrow as pa
import pydantic

from behest_lab.errors import SourceError
from behest_lab.interchange import Bundle
from behest_lab.records import MessageRecord, Session, parse_timestamp
from behest_lab.sources._kv import error, provenance, scrub, secrets_of, short_reason
from behest_lab.sources.base import BadRowHandler, Want, fingerprint, fingerprint_table, redact_url

__all__ = ["RedisSource"]

_FIELDS = ("id", "title", "model", "metadata", "created_at", "updated_at")
_REQUIRED = ("id", "title", "model", "created_at", "updated_at")


class RedisSource:
    """behest's Redis session store, read over one connection (``redis://``, ``rediss://`` or ``unix://`` URL).

    Use as a context manager, or call ``close()``. Connecting happens here: an unreachable server, a wrong
    password or a URL redis-py cannot parse is a ``SourceError`` without the password.

    Attributes:
        kind: ``"redis"``.
        location: the URL without its password.
        duplicates: members left out because their message id was already read (see the module docstring).
    """

    kind = "redis"

    def __init__(self, url: str, *, batch: int = 200) -> None:
        """Connect to ``url`` and check that the server answers.

        Args:
            url: a redis-py URL (``redis://[user[:password]@]host:port/db``).
            batch: how many sessions to fetch per round trip.

        Raises:
            SourceError: the URL is malformed or the server cannot be reached or refuses the login.
        """
        import redis

        self.location = redact_url(url)
        self._secrets = secrets_of(url)
        self._batch = max(1, batch)
        self.duplicates = 0
        try:
            self._client: Any = redis.Redis.from_url(url, decode_responses=False, socket_connect_timeout=10)
            self._client.ping()
        except (redis.RedisError, ValueError, OSError) as exc:
            raise self._error(f"cannot connect: {exc}") from None

    def __repr__(self) -> str:
        """``RedisSource('redis://host:6379/0')``, never with the password."""
        return f"RedisSource({self.location!r})"

    def __enter__(self) -> Self:
        """The source itself."""
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close the connection."""
        self.close()

    def close(self) -> None:
        """Close the connection pool (idempotent)."""
        self._client.close()

    # --- reading ------------------------------------------------------------------------------------------------

    def session_keys(self) -> list[str]:
        """Every ``session:*`` key, sorted (SCAN, as behest's ``list_sessions`` does).

        Raises:
            SourceError: the server failed.
        """
        import redis

        try:
            keys = [k.decode("utf-8", "replace") for k in self._client.scan_iter(match=b"session:*", count=1000)]
        except redis.RedisError as exc:
            raise self._error(f"SCAN session:* failed: {exc}") from None
        return sorted(set(keys))

    def fingerprints(self) -> pa.Table:
        """One row per session hash and per message member, with a hash of its stored bytes.

        Raises:
            SourceError: the server failed.
        """
        rows: list[tuple[str, str, str | None, int]] = []
        keys = self.session_keys()
        for start in range(0, len(keys), self._batch):
            for key, fields, members in self._fetch(keys[start : start + self._batch]):
                if isinstance(fields, Exception) or all(v is None for v in fields):
                    if isinstance(fields, Exception):
                        rows.append(("sessions", key.removeprefix("session:"), None, fingerprint(str(fields))))
                    continue
                sid = _session_id_text(key, fields)
                rows.append(("sessions", sid, None, fingerprint(*fields)))
                if isinstance(members, Exception):
                    continue
                by_id: dict[str, list[bytes]] = {}
                for member in members:
                    by_id.setdefault(_member_id(member), []).append(member)
                rows += [("messages", mid, sid, _member_fp(ms)) for mid, ms in by_id.items()]
        return fingerprint_table(rows)

    def read(self, want: Want | None, on_bad: BadRowHandler) -> Iterator[Bundle]:
        """Bundles of whole sessions (all, or ``want.sessions``), messages in ``created_at`` order, with provenance.

        A session hash or message member that does not decode goes to ``on_bad`` (a bad session is left out with
        its messages) and reading goes on.

        Raises:
            SourceError: the server failed.
        """
        keys = self.session_keys() if want is None else sorted(f"session:{sid}" for sid in want.sessions)
        for start in range(0, len(keys), self._batch):
            for key, fields, members in self._fetch(keys[start : start + self._batch]):
                try:
                    if isinstance(fields, Exception):
                        raise self._bad(f"not a behest session hash ({fields})", "sessions", key)
                    session = self._session(key, fields)
                    if session is None:
                        continue
                    mkey = f"messages:{session.id}"
                    if isinstance(members, Exception):
                        raise self._bad(f"not a behest message sorted set ({members})", "messages", mkey)
                except SourceError as exc:
                    on_bad(exc)
                    continue
                messages = self._messages(mkey, members or [], on_bad)
                prov = [provenance(session.id, "sessions", self.kind, self.location, key)]
                prov += [provenance(m.id, "messages", self.kind, self.location, f"{mkey}[{m.id}]") for m in messages]
                yield Bundle(session=session, messages=messages, provenance=prov)

    def bundles(self, session_ids: Iterable[UUID] | None = None) -> Iterator[Bundle]:
        """Every session (or those of ``session_ids``) as ``read`` gives them, raising at the first bad row.

        Raises:
            SourceError: the server failed, or a key or member does not decode (named in the error).
        """
        want = None if session_ids is None else Want(sessions=frozenset(str(s) for s in session_ids))
        yield from self.read(want, _raise)

    def _fetch(self, keys: Sequence[str]) -> list[tuple[str, Any, Any]]:
        """(key, HMGET fields or the error, ZRANGE members or the error) per key; two round trips."""
        import redis

        pipe = self._client.pipeline(transaction=False)
        for key in keys:
            pipe.hmget(key, _FIELDS)
        try:
            rows = pipe.execute(raise_on_error=False)
        except redis.RedisError as exc:
            raise self._error(f"HMGET failed: {exc}") from None
        pipe = self._client.pipeline(transaction=False)
        for key, fields in zip(keys, rows, strict=True):
            ok = not isinstance(fields, Exception) and any(v is not None for v in fields)
            pipe.zrange(f"messages:{_session_id_text(key, fields)}" if ok else "\0none", 0, -1)
        try:
            members = pipe.execute(raise_on_error=False)
        except redis.RedisError as exc:
            raise self._error(f"ZRANGE failed: {exc}") from None
        return list(zip(keys, rows, members, strict=True))

    def _session(self, key: str, row: list[bytes | None]) -> Session | None:
        if all(v is None for v in row):
            return None  # deleted between SCAN and HMGET: behest's get_session says None too
        values: dict[str, str | None] = {}
        for name, raw in zip(_FIELDS, row, strict=True):
            try:
                values[name] = None if raw is None else raw.decode("utf-8")
            except UnicodeDecodeError:
                raise self._bad(f"field {name} is not UTF-8 text", "sessions", key) from None
        for name in _REQUIRED:
            if values[name] is None:
                raise self._bad(f"missing {name} field in the session hash", "sessions", key)
        try:
            metadata = json.loads(values["metadata"] or "{}")
        except ValueError as exc:
            raise self._bad(f"field metadata is not JSON: {exc}", "sessions", key) from None
        try:
            created = parse_timestamp(values["created_at"] or "")
            updated = parse_timestamp(values["updated_at"] or "")
            return Session(
                id=UUID(values["id"] or ""),
                title=values["title"] or "",
                model=values["model"] or "",
                created_at=created,
                updated_at=updated,
                metadata=metadata,
            )
        except (ValueError, pydantic.ValidationError) as exc:
            raise self._bad(short_reason(exc), "sessions", key) from None

    def _messages(self, key: str, items: list[bytes], on_bad: BadRowHandler) -> list[MessageRecord]:
        decoded: list[MessageRecord] = []
        for rank, member in enumerate(items):
            try:
                decoded.append(MessageRecord.model_validate_json(member))
            except (ValueError, pydantic.ValidationError) as exc:
                on_bad(self._bad(f"member {rank} is not a behest message: {short_reason(exc)}", "messages", key))
        # full-precision created_at first; Redis's (score, member bytes) order among identical instants
        decoded.sort(key=lambda m: m.created_at)
        seen: set[UUID] = set()
        messages: list[MessageRecord] = []
        for message in decoded:
            if message.id in seen:
                self.duplicates += 1
                continue
            seen.add(message.id)
            messages.append(message)
        return messages

    def _bad(self, message: str, table: str, key: str) -> SourceError:
        return self._error(message, table=table, key=key)

    def _error(self, message: str, *, table: str | None = None, key: str | None = None) -> SourceError:
        return error(scrub(message, self._secrets), source=self.kind, location=self.location, table=table, key=key)


def _raise(exc: SourceError) -> None:
    raise exc


def _session_id_text(key: str, fields: list[bytes | None]) -> str:
    """The session id as behest addresses its messages: the hash's ``id`` field, else the key's suffix."""
    raw = fields[0]
    if raw is not None:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return key.removeprefix("session:")


def _member_fp(members: list[bytes]) -> int:
    """The fingerprint of a message: a 64-bit BLAKE2b of its member bytes (of all of them, sorted, for a reused id)."""
    if len(members) == 1:
        return int.from_bytes(hashlib.blake2b(members[0], digest_size=8).digest(), "little")
    return fingerprint(*sorted(members))


def _member_id(member: bytes) -> str:
    """A message member's id: serde writes ``id`` first, so it is read from the prefix, else by parsing."""
    if member.startswith(b'{"id":"') and member[43:44] == b'"':
        return member[7:43].decode("utf-8", "replace")
    try:
        value = json.loads(member)
        return str(value.get("id")) if isinstance(value, dict) else member[:64].decode("utf-8", "replace")
    except ValueError:
        return member[:64].decode("utf-8", "replace")
