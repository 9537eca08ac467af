"""The OpenAI Agents SDK's session databases (``SQLiteSession``, ``AdvancedSQLiteSession``) as records.

``SQLiteSession(session_id, db_path)`` keeps a conversation in two tables (their names are options of the SDK;
the reader finds them by their columns, preferring the default names):

* ``agent_sessions(session_id, created_at, updated_at)``: one row per session.
* ``agent_messages(id, session_id, message_data, created_at)``: the conversation's items in ``id`` order, each
  ``message_data`` one Responses API input item as JSON (mapped by ``behest_lab.sources._openai_agents_items``).
  ``created_at`` is SQLite's ``CURRENT_TIMESTAMP``: UTC, to the second.

``AdvancedSQLiteSession`` adds two tables:

* ``message_structure(session_id, message_id, branch_id, message_type, sequence_number, user_turn_number,
  branch_turn_number, tool_name)``: where each item sits in each branch. A branch made from turn N
  (``create_branch_from_turn``) copies the rows of the turns before N, pointing at the SAME ``agent_messages`` rows:
  joining the two tables counts the shared part once per branch. The reader gives each item to the branch that
  wrote it (the branch of its first ``sequence_number``); the ``main`` branch is the session, any other branch a
  session of its own (id derived from the session and branch) whose metadata has ``branch_id``,
  ``parent_session_id`` (the branch its copied turns came from) and ``branched_from_turn``. Items without a
  structure row in a session that has them (left by ``delete_branch``, which keeps the items) are what the SDK no
  longer shows: they are left out and counted.
* ``turn_usage(session_id, branch_id, user_turn_number, requests, input_tokens, output_tokens, total_tokens,
  input_tokens_details, output_tokens_details, created_at)``: the usage of one run (``store_run_usage``), summed
  over its ``requests`` model calls. Each row is ONE usage record, of the branch's session, pointing at the turn's
  last message. The counters are OpenAI's: ``input_tokens`` INCLUDES ``input_tokens_details.cached_tokens``
  (kept as behest_lab's ``cached_input_tokens``) and ``input_tokens_details.cache_write_tokens`` (newer ``openai``
  libraries; kept as ``cache_creation_input_tokens``), so the cost prices input - cached - written at the input
  rate and each cache count at its own rate; ``output_tokens`` includes ``output_tokens_details.reasoning_tokens``.
  A turn stored again replaces its row (``INSERT OR REPLACE``), and its record is replaced by id on the next import.

The model: items written by a Chat Completions model (``OpenAIChatCompletionsModel``, LiteLLM, any-llm) carry
``provider_data.model``, which names the usage of their turn (LiteLLM's ``provider/model`` split into provider and
model) and the session's model. Items of the Responses API name none: their usage has the model given as
``OpenAIAgentsSource(path, model=...)`` (empty otherwise, so costs stay unpriced) and the provider ``openai``.
The SDK's counts are OpenAI's, inclusive; for a Claude model they are stored as Anthropic reports them
(``input_tokens`` without the cache reads and writes, which go to ``cache_read_input_tokens`` and
``cache_creation_input_tokens``), the convention behest_lab's costs read Claude usage in. Plain ``SQLiteSession``
databases record no usage at all.

Record ids derive from the database's resolved path, the session id and the row ids (session ids such as
``user_123`` are not unique across databases), so importing the same file again adds nothing and a grown file adds
its new rows; rows the SDK deleted since (``pop_item``, ``clear_session``, a compaction rewriting the history)
stay in the store (``behest_lab.sync(..., mirror_deletes=True)`` with this reader as the source removes them).
An item that is not JSON is a bad row (``SourceError`` naming the file, table and row id).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any
from uuid import UUID

from behest_lab.errors import SourceError
from behest_lab.interchange.bundle import Bundle
from behest_lab.records import MessageRole, Provenance, Session, UsageRecord
from behest_lab.sources._openai_agents_items import Conversation, Row, latest_only
from behest_lab.sources.agentlogs import AgentLogSource, derived_id, parse_time
from behest_lab.sources.base import BadRowHandler

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HEADER = b"SQLite format 3\x00"
_SUFFIXES = (".db", ".sqlite", ".sqlite3", ".db3")
_MESSAGE_COLUMNS = {"id", "session_id", "message_data", "created_at"}
_STRUCTURE_COLUMNS = {"session_id", "message_id", "branch_id", "sequence_number", "user_turn_number"}
_USAGE_COLUMNS = {"session_id", "branch_id", "user_turn_number", "input_tokens", "output_tokens", "total_tokens"}
MAIN = "main"


@dataclass(frozen=True)
class Layout:
    """The tables of one database: the messages table, the sessions table (or None), the advanced tables."""

    messages: str
    sessions: str | None
    structure: bool
    usage: bool


def _connect(path: Path) -> sqlite3.Connection:
    """A connection that only reads, opened read-write when the file allows it.

    The SDK keeps its databases in WAL mode; a read-only connection to one leaves ``-wal`` and ``-shm`` files
    beside it, which the last read-write connection removes when it closes. The reader never writes.
    """
    uri = path.resolve().as_uri()
    try:
        return sqlite3.connect(f"{uri}?mode=rw", uri=True)
    except sqlite3.OperationalError:
        return sqlite3.connect(f"{uri}?mode=ro", uri=True)


def _columns(con: sqlite3.Connection, table: str) -> set[str]:
    return {str(r[1]) for r in con.execute(f'PRAGMA table_info("{table}")')}


def layout(path: Path) -> Layout | None:
    """The Agents SDK tables of the SQLite file at ``path``, or None when it has none (or is no SQLite file)."""
    try:
        with path.open("rb") as f:
            if f.read(16) != _HEADER:
                return None
        with closing(_connect(path)) as con:
            tables = [str(r[0]) for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            found = [t for t in tables if _columns(con, t) >= _MESSAGE_COLUMNS]
            if not found:
                return None
            messages = "agent_messages" if "agent_messages" in found else sorted(found)[0]
            refs = [str(r[2]) for r in con.execute(f'PRAGMA foreign_key_list("{messages}")')]
            sessions = next((t for t in refs if t in tables), "agent_sessions" if "agent_sessions" in tables else None)
            structure = "message_structure" in tables and _columns(con, "message_structure") >= _STRUCTURE_COLUMNS
            usage = "turn_usage" in tables and _columns(con, "turn_usage") >= _USAGE_COLUMNS
            return Layout(messages, sessions, structure, usage)
    except (OSError, sqlite3.Error):
        return None


class OpenAIAgentsSource(AgentLogSource):
    """The Agents SDK session databases at ``path`` (one SQLite file, or a folder searched for them).

    Args:
        path: A database file, or a folder (``*.db``, ``*.sqlite``, ``*.sqlite3``, ``*.db3`` files under it).
        model: The model the usage records are attributed to (the databases do not record it).
        provider: Their provider.
    """

    kind = "openai-agents"
    progress_unit = "session"

    def __init__(self, path: str | Path, *, model: str = "", provider: str = "openai") -> None:
        """Open the database or folder at ``path``.

        Raises:
            SourceError: ``path`` does not exist.
        """
        super().__init__(path)
        self.model = model
        self.provider = provider

    @classmethod
    def sniff(cls, path: Path) -> bool:
        """Whether ``path`` is (or, a folder, holds) a database with the SDK's messages table."""
        if path.is_file():
            return layout(path) is not None
        found = (p for p in path.rglob("*") if p.suffix.lower() in _SUFFIXES and p.is_file())
        return any(layout(f) is not None for f in islice(found, 20))

    def files(self) -> list[tuple[Path, Layout]]:
        """The databases with their tables, sorted by path."""
        paths = [self.path] if self.path.is_file() else _candidates(self.path)
        return [(p, found) for p in paths if (found := layout(p)) is not None]

    def count(self) -> int:
        """Sessions over all databases (the progress bar's total)."""
        total = 0
        for path, tables in self.files():
            with closing(self._open(path)) as con:
                total += len(_session_ids(con, tables))
        return total

    def bundles(self, on_bad: BadRowHandler) -> Iterator[Bundle]:
        """Per session: the main conversation's bundle, then one per other branch."""
        for path, tables in self.files():
            with closing(self._open(path)) as con:
                for sid in _session_ids(con, tables):
                    yield from _Session(self, con, path, tables, sid, on_bad).bundles()

    def _open(self, path: Path) -> sqlite3.Connection:
        try:
            return _connect(path)
        except sqlite3.Error as exc:
            raise SourceError(f"cannot open the database: {exc}", source=self.kind, location=str(path)) from exc


def _candidates(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in _SUFFIXES and p.is_file())


def _session_ids(con: sqlite3.Connection, tables: Layout) -> list[str]:
    query = f'SELECT DISTINCT session_id FROM "{tables.messages}"'
    if tables.sessions is not None:
        query += f' UNION SELECT session_id FROM "{tables.sessions}"'
    return sorted(str(r[0]) for r in con.execute(query) if r[0] is not None)


@dataclass
class _Branch:
    """One branch of a session: its structure rows in order (row id, user turn, branch turn)."""

    name: str
    rows: list[tuple[int, int, int]]


class _Session:
    """One session of one database being read."""

    def __init__(
        self,
        source: OpenAIAgentsSource,
        con: sqlite3.Connection,
        path: Path,
        tables: Layout,
        sid: str,
        on_bad: BadRowHandler,
    ) -> None:
        self.source = source
        self.con = con
        self.path = path
        self.file = str(path)
        self.key = str(path.resolve())
        self.tables = tables
        self.sid = sid
        self.on_bad = on_bad
        self.id = derived_id("openai-agents", self.key, "session", sid)

    def _ref(self, table: str, row: object) -> str:
        return f"{self.file}:{table}:{row}"

    def _rid(self, kind: str, row: int) -> UUID:
        return derived_id("openai-agents", self.key, self.sid, kind, str(row))

    def _items(self) -> dict[int, Row]:
        rows: dict[int, Row] = {}
        cursor = self.con.execute(
            f'SELECT id, created_at, message_data FROM "{self.tables.messages}" WHERE session_id = ? ORDER BY id',
            [self.sid],
        )
        for row_id, created, data in cursor:
            try:
                item = json.loads(data)
            except (TypeError, ValueError, RecursionError) as exc:
                self._bad(f"message_data is not JSON: {exc}", row_id)
                continue
            if not isinstance(item, dict):
                self._bad("message_data is not a JSON object", row_id)
                continue
            rows[int(row_id)] = Row(int(row_id), parse_time(created) or _EPOCH, item)
        return rows

    def _bad(self, message: str, row_id: int) -> None:
        self.on_bad(
            SourceError(
                message,
                source=self.source.kind,
                location=self.file,
                table=self.tables.messages,
                key=self.sid,
                row=int(row_id),
            )
        )

    def _branches(self, items: dict[int, Row]) -> tuple[list[_Branch], dict[int, str]]:
        """The branches in the order they were made, and each item's owner (the branch that wrote it)."""
        structure: list[tuple[Any, ...]] = []
        if self.tables.structure:
            structure = self.con.execute(
                "SELECT message_id, branch_id, user_turn_number, "
                "coalesce(branch_turn_number, user_turn_number) FROM message_structure "
                "WHERE session_id = ? ORDER BY sequence_number, id",
                [self.sid],
            ).fetchall()
        if not structure:
            return [_Branch(MAIN, [(r, 0, 0) for r in items])], dict.fromkeys(items, MAIN)
        owner: dict[int, str] = {}
        branches: dict[str, _Branch] = {MAIN: _Branch(MAIN, [])}
        for message_id, branch, turn, branch_turn in structure:
            name = str(branch)
            owner.setdefault(int(message_id), name)
            branches.setdefault(name, _Branch(name, [])).rows.append((int(message_id), int(turn or 0), branch_turn))
        unplaced = len(set(items) - set(owner))
        if unplaced:
            self.source.counts.skipped_types["item without a branch (deleted branch)"] += unplaced
        return list(branches.values()), owner

    def bundles(self) -> Iterator[Bundle]:
        items = self._items()
        branches, owner = self._branches(items)
        usage = self._usage()
        created, updated = self._times(items)
        main_title = ""
        for branch in branches:
            is_main = branch.name == MAIN
            sid = self.id if is_main else derived_id("openai-agents", self.key, "branch", self.sid, branch.name)
            own = [items[r] for r, _, _ in branch.rows if owner.get(r) == branch.name and r in items]
            conv = Conversation(
                session_id=sid,
                kind=self.source.kind,
                location=self.source.location,
                rid=self._rid,
                ref=lambda row: self._ref(self.tables.messages, row),
                counts=self.source.counts,
            )
            for row in latest_only(own, self.source.counts):
                conv.map(row)
            conv.finish()
            metadata: dict[str, Any] = {"source": self.source.kind, "session_id": self.sid, "file": self.file}
            if is_main:
                main_title = conv.title or self.sid
                title = main_title
                if len(branches) > 1:
                    metadata["branches"] = [b.name for b in branches]
            else:
                title = conv.title or f"{main_title} [{branch.name}]"
                metadata.update(self._parent(branch, owner))
            times = [r.at for r in own]
            named = [conv.row_model[r.id] for r in own if r.id in conv.row_model]
            session = Session(
                id=sid,
                title=title,
                model=_split(named[0], self.source.provider)[1] if named else self.source.model,
                created_at=created if is_main else min(times, default=created),
                updated_at=updated if is_main else max(times, default=updated),
                metadata=metadata,
            )
            records = self._usage_records(sid, branch, conv, usage.get(branch.name, []))
            ref = self._ref(self.tables.sessions or self.tables.messages, self.sid)
            prov = [self._prov("sessions", sid, ref if is_main else f"{ref}:{branch.name}"), *conv.provenance]
            prov += [self._prov("usage_records", u.id, self._ref("turn_usage", row)) for u, row in records]
            yield Bundle(
                session=session,
                messages=conv.messages,
                executions=conv.executions,
                usage=[u for u, _ in records],
                provenance=prov,
            )

    def _prov(self, table: str, record_id: UUID, ref: str) -> Provenance:
        return Provenance.model_construct(
            record_id=record_id, table=table, source=self.source.kind, location=self.source.location, ref=ref
        )

    def _parent(self, branch: _Branch, owner: dict[int, str]) -> dict[str, Any]:
        copied = [(r, bt) for r, _, bt in branch.rows if owner.get(r) != branch.name]
        parent = owner[copied[-1][0]] if copied else MAIN
        parent_id = self.id if parent == MAIN else derived_id("openai-agents", self.key, "branch", self.sid, parent)
        turn = max((int(bt or 0) for _, bt in copied), default=0) + 1
        return {"branch_id": branch.name, "parent_session_id": str(parent_id), "branched_from_turn": turn}

    def _times(self, items: dict[int, Row]) -> tuple[datetime, datetime]:
        times = [r.at for r in items.values()]
        first, last = min(times, default=_EPOCH), max(times, default=_EPOCH)
        if self.tables.sessions is None:
            return first, last
        row = self.con.execute(
            f'SELECT created_at, updated_at FROM "{self.tables.sessions}" WHERE session_id = ?', [self.sid]
        ).fetchone()
        if row is None:
            return first, last
        created = parse_time(row[0]) or first
        return created, max(parse_time(row[1]) or last, created)

    def _usage(self) -> dict[str, list[tuple[Any, ...]]]:
        if not self.tables.usage:
            return {}
        rows = self.con.execute(
            "SELECT id, branch_id, user_turn_number, input_tokens, output_tokens, total_tokens, "
            "input_tokens_details, created_at FROM turn_usage WHERE session_id = ? ORDER BY user_turn_number, id",
            [self.sid],
        ).fetchall()
        by_branch: dict[str, list[tuple[Any, ...]]] = {}
        for row in rows:
            by_branch.setdefault(str(row[1]), []).append(row)
        return by_branch

    def _usage_records(
        self, sid: UUID, branch: _Branch, conv: Conversation, rows: list[tuple[Any, ...]]
    ) -> list[tuple[UsageRecord, int]]:
        last: dict[int, UUID] = {}
        models: dict[int, str] = {}
        roles = {m.id: m.role for m in conv.messages}
        for row_id, turn, _ in branch.rows:
            message = conv.row_message.get(row_id) or self._rid("message", row_id)
            if turn not in last or roles.get(message) is MessageRole.ASSISTANT:
                last[turn] = message
            if row_id in conv.row_model:
                models[turn] = conv.row_model[row_id]
        records = []
        for row_id, name, turn, inp, out, total, details, created in rows:
            cached, written = _cache_counts(details)
            inp, out = _count(inp), _count(out)
            named = models.get(int(turn or 0))
            default = (self.source.provider, self.source.model)
            provider, model = _split(named, self.source.provider) if named else default
            record = UsageRecord(
                id=derived_id("openai-agents", self.key, self.sid, "usage", name, str(turn)),
                session_id=sid,
                message_id=last.get(int(turn or 0)) or self._rid("turn", int(row_id)),
                provider=provider,
                model=model,
                output_tokens=out,
                total_tokens=_count(total) or inp + out,
                created_at=parse_time(created) or _EPOCH,
                **_input_counts(model, inp, cached, written),
            )
            records.append((record, int(row_id)))
        return records


def _split(named: str, default_provider: str) -> tuple[str, str]:
    """``(provider, model)`` of a ``provider_data.model``: LiteLLM's ``provider/model``, else the default provider."""
    head, sep, tail = named.partition("/")
    return (head, tail) if sep and head and tail else (default_provider, named)


def _input_counts(model: str, inp: int, cached: int, written: int | None) -> dict[str, int | None]:
    """The SDK's inclusive input counts in the convention behest_lab's costs read for ``model``.

    The SDK's ``Usage`` always counts as OpenAI's Responses API does: ``input_tokens`` includes the cache reads and
    writes. behest_lab reads a Claude model's usage as Anthropic reports it (``input_tokens`` without the cache),
    so for those the cache counts are taken out of ``input_tokens`` and kept beside it.
    """
    if "claude" in model.lower():
        uncached = max(inp - cached - (written or 0), 0)
        return {"input_tokens": uncached, "cache_read_input_tokens": cached, "cache_creation_input_tokens": written}
    return {"input_tokens": inp, "cached_input_tokens": cached, "cache_creation_input_tokens": written}


def _count(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def _cache_counts(details: Any) -> tuple[int, int | None]:
    """``cached_tokens`` and ``cache_write_tokens`` of a turn's ``input_tokens_details`` JSON.

    Cached tokens count 0 when absent; cache writes are None when the row predates them (older ``openai``
    libraries have no ``cache_write_tokens``).
    """
    try:
        value = json.loads(details) if isinstance(details, str) else details
    except ValueError:
        return 0, None
    if not isinstance(value, dict):
        return 0, None
    written = value.get("cache_write_tokens")
    return _count(value.get("cached_tokens")), _count(written) if written is not None else None


__all__ = ["MAIN", "Layout", "OpenAIAgentsSource", "layout"]
