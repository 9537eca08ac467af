"""Read behest 0.3.1's ``SurrealdbSessionStore``: an embedded SurrealKV folder, a ``.surql`` export, or a server.

behest's layout (0.3.1's ``surrealdb/session.rs``; README "Redis, MongoDB, artifact stores, Qdrant, SurrealDB"):
table ``sessions`` with record ids ``sessions:⟨uuid⟩`` and fields ``title``, ``model``, ``metadata``, ``created_at``,
``updated_at``; table ``messages`` with record ids ``messages:⟨uuid⟩`` and fields ``session_id`` (text), ``role``,
``content``, ``tool_calls``, ``usage``, ``is_compaction``, ``is_summary``, ``compaction_meta`` (when present) and
``created_at``. behest writes them through ``serde_json::Value``, so times are RFC 3339 strings (``Z``) and UUIDs
inside documents are text.

Decisions, where behest's own reader falls short:

- The record id is the key of the SurrealDB record id (behest reads ``row["id"]`` as a string, which a record id is
  not, so its ``list_sessions``/``list_messages`` fail on real data).
- Times are read as strings or as SurrealDB datetimes (a datetime comes through the Python SDK to the microsecond).
  behest's ``update_session``/``append_message`` run ``UPDATE sessions ... WHERE id = $sid`` with the id as a plain
  string, which matches no record, so ``updated_at`` keeps its creation value in behest's data.
- Tool-result ids (not stored) are recovered by pairing, as for MongoDB; unknown roles read as ``user``; a missing
  ``metadata`` (SurrealDB's NONE) reads as null. Messages are ordered by ``created_at``, then id.

Targets: ``surrealkv:///path/to/db`` (the embedded engine of the ``surrealdb`` package), a ``.surql`` file made by
``surreal export`` (loaded into the embedded in-memory engine), or ``surrealdb://user:password@host:8000`` /
``surrealdbs://`` (WebSocket to a server). ``namespace=``/``database=`` (or ``?ns=...&db=...``) pick the database;
without them the only namespace and database present are used.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, unquote, urlsplit
from uuid import UUID

import pyarrow as pa
import pydantic

from behest_lab.errors import SourceError
from behest_lab.interchange import Bundle
from behest_lab.interchange.behest_sqlite import recover_tool_ids
from behest_lab.records import Instant, MessageRecord, MessageRole, Session, parse_timestamp
from behest_lab.sources._kv import error, provenance, scrub, secrets_of, short_reason
from behest_lab.sources.base import BadRowHandler, Want, fingerprint, fingerprint_table, redact_url

__all__ = ["SurrealSource"]

_ROLES = {r.value for r in MessageRole}


class SurrealSource:
    """behest's SurrealDB session store (see the module docstring for targets and decisions).

    Attributes:
        kind: ``"surrealdb"``.
        location: the folder, file or URL without its password.
        tool_ids_recovered: tool messages given the id and name of the call they answer.
    """

    kind = "surrealdb"

    @classmethod
    def sniff(cls, path: Path) -> bool:
        """Whether ``path`` is a ``.surql`` export file."""
        return path.is_file() and path.suffix == ".surql"

    def __init__(self, target: str | Path, *, namespace: str | None = None, database: str | None = None) -> None:
        """Open the database (and check it answers).

        Args:
            target: ``surrealkv:///path``, a ``.surql`` export file, or ``surrealdb://user:pw@host:port``.
            namespace: the SurrealDB namespace (default: the only one present).
            database: the database in it (default: the only one present).

        Raises:
            SourceError: the engine, file or server cannot be opened, or holds no single database to read.
        """
        from surrealdb import Surreal

        text = str(target)
        self._secrets = secrets_of(text)
        self.location = redact_url(text)
        self.tool_ids_recovered = 0
        self._db: Any = None
        parts = urlsplit(text)
        query = dict(parse_qsl(parts.query))
        namespace = namespace or query.get("ns")
        database = database or query.get("db")
        try:
            if text.startswith("surrealkv://"):
                path = unquote(parts.path) if parts.netloc == "" else parts.netloc + unquote(parts.path)
                if not Path(path).exists():
                    raise self._error("no such folder")
                self._db = Surreal(f"surrealkv://{path}")
            elif text.startswith(("surrealdb://", "surrealdbs://")):
                scheme = "wss" if parts.scheme == "surrealdbs" else "ws"
                self._db = Surreal(f"{scheme}://{parts.hostname}:{parts.port or 8000}/rpc")
                if parts.username:
                    self._db.signin({"username": unquote(parts.username), "password": unquote(parts.password or "")})
            else:
                export = Path(text)
                if not export.is_file():
                    raise self._error("no such file")
                self._db = Surreal("mem://")
                self._db.use(namespace or "behest", database or "behest")
                self._db.query(export.read_text(encoding="utf-8"))
                namespace, database = namespace or "behest", database or "behest"
            namespace = namespace or self._only("INFO FOR ROOT", "namespaces", "namespace")
            if database is None:
                self._db.use(namespace, "")
                database = self._only("INFO FOR NS", "databases", "database")
            self._db.use(namespace, database)
        except SourceError:
            self.close()
            raise
        except Exception as exc:  # the SDK raises its own and transport errors
            self.close()
            raise self._error(f"cannot open: {exc}") from None

    def _only(self, statement: str, key: str, what: str) -> str:
        info = self._db.query(statement)
        names = sorted((info or {}).get(key, {}) if isinstance(info, dict) else [])
        if len(names) != 1:
            raise self._error(f"name the {what} (found: {', '.join(names) or 'none'})")
        return str(names[0])

    def __repr__(self) -> str:
        """``SurrealSource('surrealdb://user@host:8000')``, never with the password."""
        return f"SurrealSource({self.location!r})"

    def __enter__(self) -> Self:
        """The source itself."""
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close the connection."""
        self.close()

    def close(self) -> None:
        """Close the connection or embedded engine (idempotent)."""
        if self._db is not None:
            try:
                self._db.close()
            finally:
                self._db = None

    # --- reading ------------------------------------------------------------------------------------------------

    def fingerprints(self) -> pa.Table:
        """One row per session and message record, with a hash of its fields.

        Raises:
            SourceError: the database cannot be read.
        """
        rows: list[tuple[str, str, str | None, int]] = []
        for table, records in (("sessions", self._select("sessions")), ("messages", self._select("messages"))):
            for rec in records:
                sid = rec.get("session_id") if table == "messages" else None
                body = json.dumps({k: v for k, v in rec.items() if k != "id"}, sort_keys=True, default=str)
                rows.append((table, _key(rec), sid if isinstance(sid, str) else None, fingerprint(body)))
        return fingerprint_table(rows)

    def read(self, want: Want | None, on_bad: BadRowHandler) -> Iterator[Bundle]:
        """Bundles of whole sessions (all, or ``want.sessions``) with provenance; bad records go to ``on_bad``.

        Raises:
            SourceError: the database cannot be read.
        """
        by_session: dict[UUID, list[MessageRecord]] = {}
        for rec in self._select("messages"):
            if want is not None and rec.get("session_id") not in want.sessions:
                continue
            try:
                m = self._message(rec)
            except SourceError as exc:
                on_bad(exc)
                continue
            by_session.setdefault(m.session_id, []).append(m)
        for rec in self._select("sessions"):
            if want is not None and _key(rec) not in want.sessions:
                continue
            try:
                session = self._session(rec)
            except SourceError as exc:
                on_bad(exc)
                continue
            messages = sorted(by_session.get(session.id, []), key=lambda m: (m.created_at, str(m.id)))
            fixed, recovered, _ = recover_tool_ids(messages)
            self.tool_ids_recovered += recovered
            prov = [provenance(session.id, "sessions", self.kind, self.location, f"sessions:{session.id}")]
            prov += [provenance(m.id, "messages", self.kind, self.location, f"messages:{m.id}") for m in fixed]
            yield Bundle(session=session, messages=fixed, provenance=prov)

    def bundles(self) -> Iterator[Bundle]:
        """Every session as ``read`` gives them, raising at the first bad record.

        Raises:
            SourceError: a record does not decode (named by its record id).
        """
        yield from self.read(None, _raise)

    def _select(self, table: str) -> list[dict[str, Any]]:
        try:
            rows = self._db.query(f"SELECT * FROM {table}")
        except Exception as exc:  # the SDK's errors
            raise self._error(f"SELECT * FROM {table} failed: {exc}", table=table) from None
        return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []

    def _session(self, rec: dict[str, Any]) -> Session:
        key = f"sessions:{_key(rec)}"
        try:
            return Session(
                id=_uuid(_key(rec), "id"),
                title=_str(rec.get("title"), "title"),
                model=_str(rec.get("model"), "model"),
                created_at=_time(rec.get("created_at"), "created_at"),
                updated_at=_time(rec.get("updated_at"), "updated_at"),
                metadata=_plain(rec.get("metadata")),
            )
        except (ValueError, TypeError, pydantic.ValidationError) as exc:
            raise self._error(short_reason(exc), table="sessions", key=key) from None

    def _message(self, rec: dict[str, Any]) -> MessageRecord:
        key = f"messages:{_key(rec)}"
        try:
            role = _str(rec.get("role"), "role")
            if "tool_calls" not in rec:
                raise ValueError("tool_calls: missing")
            return MessageRecord.model_validate(
                {
                    "id": _uuid(_key(rec), "id"),
                    "session_id": _uuid(_str(rec.get("session_id"), "session_id"), "session_id"),
                    "role": role if role in _ROLES else MessageRole.USER.value,
                    "content": _plain(rec.get("content")),
                    "tool_calls": _plain(rec.get("tool_calls")),
                    "usage": _plain(rec.get("usage")),
                    "created_at": _time(rec.get("created_at"), "created_at"),
                    "is_compaction": rec.get("is_compaction", False),
                    "is_summary": rec.get("is_summary", False),
                    "compaction_meta": _plain(rec.get("compaction_meta")),
                }
            )
        except (ValueError, TypeError, pydantic.ValidationError) as exc:
            raise self._error(short_reason(exc), table="messages", key=key) from None

    def _error(self, message: str, *, table: str | None = None, key: str | None = None) -> SourceError:
        return error(scrub(message, self._secrets), source=self.kind, location=self.location, table=table, key=key)


def _raise(exc: SourceError) -> None:
    raise exc


def _key(rec: dict[str, Any]) -> str:
    rid = rec.get("id")
    inner = getattr(rid, "id", rid) if hasattr(rid, "table_name") else rid
    return str(inner)


def _str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name}: expected a string, got {'nothing' if value is None else type(value).__name__}")
    return value


def _uuid(text: str, name: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise ValueError(f"{name}: not a UUID: {text!r}") from None


def _time(value: Any, name: str) -> Instant:
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return Instant.from_datetime(aware.astimezone(UTC))
    if isinstance(value, str):
        try:
            return parse_timestamp(value)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    raise ValueError(f"{name}: expected an RFC 3339 string or a datetime, got {type(value).__name__}")


def _plain(value: Any) -> Any:
    """A SurrealDB value as JSON: containers walked, other non-JSON values (record ids, decimals) as text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)
