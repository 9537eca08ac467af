"""simonw/llm's ``logs.db`` as records, from both generations of its tables.

llm (the ``llm`` command line tool and Python library) logs every prompt and response to a SQLite database
(``llm logs path``). Its schema comes from ``llm/migrations.py``; two generations of tables can be in one file:

* **Legacy** (llm up to 0.31, read-only history since): ``conversations`` (``id``, ``name``, ``model``) and
  ``responses`` (one row per model call: ``prompt``, ``system``, ``response``, ``reasoning``, ``model``,
  ``resolved_model``, ``input_tokens``, ``output_tokens``, ``token_details`` JSON, ``duration_ms``,
  ``datetime_utc``, ``conversation_id``), with ``prompt_fragments``/``system_fragments`` (fragment text sent with
  the prompt), ``prompt_attachments``, and since llm 0.26 ``tool_calls`` (the calls a response made) and
  ``tool_results`` (the results sent with a response's prompt, with ``exception`` when the tool raised).
* **Current** (llm 0.32+): ``threads`` (a conversation: a pointer at its newest message, ``forked_from`` for a
  fork), ``turns`` (one model call: its model, token counts, timing and the span of the message chain it added),
  ``messages`` (content-addressed, shared between threads with a common prefix) and ``parts``.

Mapping: each conversation is a session (a thread reuses its conversation's id, so a conversation continued after
an upgrade is one session; its id is derived from llm's). Messages in order: for a legacy response the system prompt
(when it changes), the tool results it carried, the prompt (fragments first), then the response (reasoning as a
JSON part, text, tool calls); for a thread its chain's messages (text parts, reasoning and attachments as JSON
parts, ``tool_call`` parts as tool calls, each ``tool_result`` part a tool message). Tool calls pair with results
by tool call id (the latest unanswered call with that id); the duration is the time from the call's response to
the call that carried its result (llm records no tool timing), ``failed`` when the result has an exception.

Usage: ONE record per model call: per ``turns`` row, and per ``responses`` row whose id is not also a turn's id
(llm's 0.32 alphas logged each call in both generations under one id: such a pair counts once). Token conventions
are normalised per provider (``behest_lab.sources._llm_rows``). Not read: the pre-0.5 ``logs`` table (counted in
the report), embeddings, schemas and the full-text indexes.
"""

from __future__ import annotations

import heapq
import itertools
import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from behest_lab.errors import SourceError
from behest_lab.interchange.bundle import Bundle
from behest_lab.records import (
    JsonPart,
    MessageRecord,
    MessageRole,
    Provenance,
    Session,
    TextPart,
    ToolCall,
    ToolExecution,
    UsageRecord,
)
from behest_lab.sources._llm_rows import Models, as_int, columns, pair_calls, tables, usage_counts
from behest_lab.sources._llm_threads import ChainMessage, Chains
from behest_lab.sources.agentlogs import AgentLogSource, derived_id, json_or_text, parse_time
from behest_lab.sources.base import BadRowHandler

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ROLES = {
    "system": MessageRole.SYSTEM,
    "user": MessageRole.USER,
    "assistant": MessageRole.ASSISTANT,
    "tool": MessageRole.TOOL,
}
_RESPONSE_COLS = (
    "id",
    "model",
    "resolved_model",
    "prompt",
    "system",
    "response",
    "reasoning",
    "conversation_id",
    "duration_ms",
    "datetime_utc",
    "input_tokens",
    "output_tokens",
    "token_details",
)
_TURN_COLS = (
    "id",
    "thread_id",
    "parent_message_hash",
    "tip_message_hash",
    "model",
    "resolved_model",
    "input_tokens",
    "output_tokens",
    "token_details",
    "duration_ms",
    "datetime_utc",
)
_SQLITE = b"SQLite format 3\x00"


def _logs_file(path: Path) -> Path:
    return path / "logs.db" if path.is_dir() else path


class LlmLogsSource(AgentLogSource):
    """llm's ``logs.db`` at ``path`` (the file, or the folder holding it: ``dirname "$(llm logs path)"``)."""

    kind = "llm"
    progress_unit = "session"

    def __init__(self, path: str | Path) -> None:
        """Open the database (read-only, one snapshot per read).

        Raises:
            SourceError: ``path`` does not exist.
        """
        super().__init__(path)
        self.file = _logs_file(self.path)

    @classmethod
    def sniff(cls, path: Path) -> bool:
        """Whether ``path`` is (or holds) a SQLite file with llm's tables."""
        file = _logs_file(path)
        try:
            with file.open("rb") as f:
                if f.read(16) != _SQLITE:
                    return False
            with closing(_connect(file)) as con:
                names = tables(con)
        except (OSError, sqlite3.Error):
            return False
        return "_llm_migrations" in names or {"conversations", "responses"} <= names or {"threads", "turns"} <= names

    def count(self) -> int:
        """Conversations (sessions) in the file."""
        with closing(self._open()) as con:
            names = tables(con)
            keys = []
            if "responses" in names:
                keys.append("SELECT coalesce(conversation_id, 'response:' || id) AS k FROM responses")
            if "threads" in names:
                keys.append("SELECT id AS k FROM threads")
            if "turns" in names:
                keys.append("SELECT coalesce(thread_id, 'turn:' || id) AS k FROM turns")
            if not keys:
                return 0
            row = con.execute(f"SELECT count(DISTINCT k) FROM ({' UNION ALL '.join(keys)})").fetchone()
            return int(row[0])

    def bundles(self, on_bad: BadRowHandler) -> Iterator[Bundle]:
        """One bundle per conversation, all read from one snapshot of the file."""
        with closing(self._open()) as con:
            con.execute("BEGIN")
            reader = _Reader(self, con, on_bad)
            for key, groups in reader.groups():
                bundle = _Conversation(reader, key, groups).bundle()
                if bundle is not None:
                    yield bundle

    def _open(self) -> sqlite3.Connection:
        try:
            con = _connect(self.file)
            tables(con)
        except sqlite3.Error as exc:
            raise SourceError(f"cannot read the database: {exc}", source=self.kind, location=self.location) from exc
        return con


def _connect(file: Path) -> sqlite3.Connection:
    con = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    con.row_factory = sqlite3.Row
    return con


class _Reader:
    """State shared by the conversations of one read: the connection, the turn ids, the tool rows' places."""

    def __init__(self, source: LlmLogsSource, con: sqlite3.Connection, on_bad: BadRowHandler) -> None:
        self.source = source
        self.con = con
        self.on_bad = on_bad
        self.names = tables(con)
        self.models = Models()
        self.chains = Chains(con) if {"messages", "parts"} <= self.names else None
        self.turn_ids = (
            {str(r[0]) for r in con.execute("SELECT id FROM turns")} if "turns" in self.names else set[str]()
        )
        self.call_rows = self._by_response("tool_calls")
        self.result_rows = self._by_response("tool_results")
        self.skipped_parts: set[int] = set()
        if "logs" in self.names and {"prompt", "response"} <= columns(con, "logs"):
            old = con.execute("SELECT count(*) FROM logs").fetchone()[0]
            if old:
                source.counts.skipped_types["logs (llm before 0.5)"] += int(old)

    def _by_response(self, table: str) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        if table in self.names:
            for rowid, response_id in self.con.execute(f"SELECT rowid, response_id FROM {table} ORDER BY rowid"):
                out.setdefault(str(response_id), []).append(int(rowid))
        return out

    def groups(self) -> Iterator[tuple[str, dict[str, list[sqlite3.Row]]]]:
        """``(conversation key, rows by table)`` in key order, merging four key-ordered scans (bounded memory)."""
        streams = []
        for table, key, wanted, order in (
            ("conversations", "id", ("id", "name", "model"), ""),
            ("responses", "coalesce(conversation_id, 'response:' || id)", _RESPONSE_COLS, ", datetime_utc, id"),
            ("threads", "id", ("id", "name", "tip_message_hash", "forked_from", "datetime_utc"), ""),
            ("turns", "coalesce(thread_id, 'turn:' || id)", _TURN_COLS, ", datetime_utc, id"),
        ):
            if table not in self.names:
                continue
            have = columns(self.con, table)
            cols = ", ".join(f'"{c}"' if c in have else f'NULL AS "{c}"' for c in wanted)
            rows = self.con.execute(
                f'SELECT {key} AS _key, rowid AS _rowid, {cols} FROM "{table}" ORDER BY _key{order}'
            )
            streams.append(_tagged(table, rows))
        merged = heapq.merge(*streams, key=lambda t: t[0])
        for key, items in itertools.groupby(merged, key=lambda t: t[0]):
            grouped: dict[str, list[sqlite3.Row]] = {"conversations": [], "responses": [], "threads": [], "turns": []}
            for _, table, row in items:
                grouped[table].append(row)
            if grouped["responses"] or grouped["threads"] or grouped["turns"]:
                yield key, grouped

    def bad(self, message: str, table: str, key: object) -> None:
        """Report a row that cannot be mapped (the handler raises unless bad rows are skipped)."""
        self.on_bad(
            SourceError(message, source=self.source.kind, location=str(self.source.file), table=table, key=str(key))
        )

    def fetch(self, table: str, rowids: list[int]) -> list[sqlite3.Row]:
        """Rows of ``table`` by rowid, in rowid order."""
        if not rowids:
            return []
        marks = ", ".join("?" * len(rowids))
        return list(self.con.execute(f"SELECT rowid AS _rowid, * FROM {table} WHERE rowid IN ({marks})", rowids))

    def texts(self, table: str, response_id: str) -> list[str]:
        """The fragment texts ``table`` (``prompt_fragments``/``system_fragments``) gives a response, in order."""
        if table not in self.names or "fragments" not in self.names:
            return []
        rows = self.con.execute(
            f"SELECT f.content FROM {table} p JOIN fragments f ON f.id = p.fragment_id WHERE p.response_id = ? "
            'ORDER BY p."order"',
            (response_id,),
        )
        return [str(r[0] or "") for r in rows]

    def attachments(self, response_id: str) -> list[dict[str, Any]]:
        """The attachments of a response's prompt (type, path or url; content is not copied)."""
        if not {"prompt_attachments", "attachments"} <= self.names:
            return []
        rows = self.con.execute(
            "SELECT a.id, a.type, a.path, a.url FROM prompt_attachments p JOIN attachments a ON a.id = p.attachment_id"
            ' WHERE p.response_id = ? ORDER BY p."order"',
            (response_id,),
        )
        return [
            {"type": "attachment", "attachment": {k: r[k] for k in ("id", "type", "path", "url") if r[k] is not None}}
            for r in rows
        ]


def _tagged(table: str, rows: Iterator[sqlite3.Row]) -> Iterator[tuple[str, str, sqlite3.Row]]:
    return ((str(r["_key"]), table, r) for r in rows)


def _details(raw: Any) -> Any:
    """Decoded ``token_details`` (None when absent).

    Raises:
        ValueError: It is not JSON.
    """
    if raw is None or raw == "":
        return None
    return json.loads(raw) if isinstance(raw, str) else raw


class _Conversation:
    """One conversation's rows becoming a bundle."""

    def __init__(self, reader: _Reader, key: str, rows: dict[str, list[sqlite3.Row]]) -> None:
        self.reader = reader
        self.source = reader.source
        self.key = key
        self.rows = rows
        self.id = derived_id("llm", "conversation", key)
        self.messages: list[MessageRecord] = []
        self.usage: list[UsageRecord] = []
        self.provenance: list[Provenance] = []
        self.errors: dict[UUID, str] = {}
        self.call_refs: dict[tuple[UUID, str], str] = {}
        self.last_system = ""
        self.model = ""
        self.times: list[datetime] = []
        self.inherited: set[UUID] = set()

    def _prov(self, table: str, record_id: UUID, ref: str) -> None:
        self.provenance.append(
            Provenance.model_construct(
                record_id=record_id, table=table, source=self.source.kind, location=self.source.location, ref=ref
            )
        )

    def _message(self, record: MessageRecord, ref: str) -> MessageRecord:
        self.messages.append(record)
        self._prov("messages", record.id, ref)
        self.times.append(record.created_at)
        return record

    def _usage(self, row: sqlite3.Row, details: Any, message_id: UUID, at: datetime, ref: str) -> None:
        provider, model = self.reader.models.of(row["model"], row["resolved_model"])
        self.model = self.model or model
        if row["input_tokens"] is None and row["output_tokens"] is None:
            return
        c = usage_counts(as_int(row["input_tokens"]), as_int(row["output_tokens"]), details, provider, model)
        record = UsageRecord(
            id=derived_id("llm", self.key, "usage", str(row["id"])),
            session_id=self.id,
            message_id=message_id,
            provider=provider,
            model=model,
            input_tokens=c.input_tokens,
            output_tokens=c.output_tokens,
            total_tokens=c.total_tokens,
            created_at=at,
            cache_read_input_tokens=c.cache_read_input_tokens,
            cache_creation_input_tokens=c.cache_creation_input_tokens,
            cached_input_tokens=c.cached_input_tokens,
        )
        self.usage.append(record)
        self._prov("usage_records", record.id, ref)

    def _call(self, table: str, row: sqlite3.Row) -> tuple[Any, datetime, datetime] | None:
        """A response or turn row's token details, start and end; None (reported) when a value does not decode."""
        try:
            details = _details(row["token_details"])
        except ValueError as exc:
            self.reader.bad(f"token_details is not JSON: {exc}", table, row["id"])
            return None
        start = parse_time(row["datetime_utc"])
        if start is None and row["datetime_utc"] is not None:
            self.reader.bad(f"datetime_utc {row['datetime_utc']!r} is not a timestamp", table, row["id"])
            return None
        start = start or _EPOCH
        ms = as_int(row["duration_ms"])
        return details, start, start + timedelta(milliseconds=ms or 0)

    def bundle(self) -> Bundle | None:
        legacy = [r for r in self.rows["responses"] if str(r["id"]) not in self.reader.turn_ids]
        self.source.counts.duplicate_lines += len(self.rows["responses"]) - len(legacy)
        for response in legacy:
            self._response(response)
        if self.rows["threads"] or self.rows["turns"]:
            self._thread(replayed=bool(legacy))
        if not self.messages and not self.usage:
            return None
        executions = self._executions()
        conversation = self.rows["conversations"][0] if self.rows["conversations"] else None
        thread = self.rows["threads"][0] if self.rows["threads"] else None
        metadata: dict[str, Any] = {"source": "llm", "conversation_id": self.key, "file": str(self.source.file)}
        kinds = [
            k for k, rows in (("responses", legacy), ("threads", self.rows["turns"] or self.rows["threads"])) if rows
        ]
        metadata["tables"] = "+".join(kinds)
        if thread is not None and thread["forked_from"]:
            metadata["forked_from"] = str(thread["forked_from"])
            metadata["forked_from_session_id"] = str(derived_id("llm", "conversation", str(thread["forked_from"])))
        title = next(
            (str(x["name"]) for x in (thread, conversation) if x is not None and x["name"]),
            next((m.text_content[:80] for m in self.messages if m.role is MessageRole.USER and m.text_content), ""),
        )
        started = [t for t in (parse_time(thread["datetime_utc"]) if thread is not None else None,) if t]
        times = [t for t in (*self.times, *started) if t != _EPOCH] or [_EPOCH]
        if not self.model and conversation is not None and conversation["model"]:
            self.model = self.reader.models.of(conversation["model"], None)[1]
        session = Session(
            id=self.id,
            title=title,
            model=self.model,
            created_at=min(times),
            updated_at=max(times),
            metadata=metadata,
        )
        ref = f"threads:{self.key}" if thread is not None else f"conversations:{self.key}"
        self._prov("sessions", self.id, ref)
        return Bundle(
            session=session,
            messages=self.messages,
            executions=executions,
            usage=self.usage,
            provenance=self.provenance,
        )

    # -- legacy: conversations and responses ------------------------------------------------------------------------

    def _response(self, r: sqlite3.Row) -> None:
        call = self._call("responses", r)
        if call is None:
            return
        details, start, end = call
        rid = str(r["id"])
        ref = f"responses:{rid}"
        # as llm sends them: the fragments, then the prompt (joined by a newline); the system prompt's pieces stripped
        bits = [*self.reader.texts("system_fragments", rid), str(r["system"] or "")]
        system = "\n\n".join(b.strip() for b in bits if b.strip())
        if system and system != self.last_system:
            self.last_system = system
            self._message(
                MessageRecord(
                    id=derived_id("llm", self.key, rid, "system"),
                    session_id=self.id,
                    role=MessageRole.SYSTEM,
                    content=[TextPart(text=system)],
                    created_at=start,
                ),
                ref,
            )
        for row in self.reader.fetch("tool_results", self.reader.result_rows.get(rid, [])):
            msg = self._message(
                MessageRecord(
                    id=derived_id("llm", self.key, "tool_result", str(row["_rowid"])),
                    session_id=self.id,
                    role=MessageRole.TOOL,
                    content=[TextPart(text=str(row["output"] or ""))],
                    tool_call_id=str(row["tool_call_id"] or ""),
                    tool_name=str(row["name"] or ""),
                    created_at=start,
                ),
                f"tool_results:{row['_rowid']}",
            )
            exception = dict(row).get("exception")
            if exception:
                self.errors[msg.id] = str(exception)
        prompt = "\n".join([*self.reader.texts("prompt_fragments", rid), *([r["prompt"]] if r["prompt"] else [])])
        attached = [JsonPart(value=a) for a in self.reader.attachments(rid)]
        if prompt or attached:
            self._message(
                MessageRecord(
                    id=derived_id("llm", self.key, rid, "prompt"),
                    session_id=self.id,
                    role=MessageRole.USER,
                    content=[*attached, *([TextPart(text=prompt)] if prompt else [])],
                    created_at=start,
                ),
                ref,
            )
        content: list[Any] = []
        if r["reasoning"]:
            content.append(JsonPart(value={"type": "reasoning", "text": str(r["reasoning"])}))
        if r["response"]:
            content.append(TextPart(text=str(r["response"])))
        calls = []
        answer_id = derived_id("llm", self.key, rid, "response")
        for row in self.reader.fetch("tool_calls", self.reader.call_rows.get(rid, [])):
            call_id = str(row["tool_call_id"] or f"tool_calls:{row['_rowid']}")
            calls.append(ToolCall(id=call_id, name=str(row["name"] or ""), arguments=json_or_text(row["arguments"])))
            self.call_refs[(answer_id, call_id)] = f"tool_calls:{row['_rowid']}"
        answer = MessageRecord(
            id=answer_id,
            session_id=self.id,
            role=MessageRole.ASSISTANT,
            content=content,
            tool_calls=calls,
            created_at=end,
        )
        self._message(answer, ref)
        self._usage(r, details, answer.id, start, ref)

    # -- current: threads, turns, messages and parts --------------------------------------------------------------

    def _thread(self, replayed: bool) -> None:
        chains = self.reader.chains
        if chains is None:
            return
        turns = [(t, *call) for t in self.rows["turns"] if (call := self._call("turns", t)) is not None]
        thread = self.rows["threads"][0] if self.rows["threads"] else None
        tip = (thread["tip_message_hash"] if thread is not None else None) or (
            turns[-1][0]["tip_message_hash"] if turns else None
        )
        spans = [(t["parent_message_hash"], t["tip_message_hash"], start, end) for t, _, start, end in turns]
        chain = chains.thread_chain(tip, spans)
        if replayed and turns:  # the earlier exchanges re-sent from the legacy responses, which hold them already
            skip = chains.ancestors(turns[0][0]["parent_message_hash"])
            chain = [m for m in chain if m.hash not in skip]
        if thread is not None and thread["forked_from"]:  # its calls are the origin thread's, not run again here
            origin = chains.thread_hashes(str(thread["forked_from"]))
            self.inherited.update(derived_id("llm", self.key, "message", m.hash) for m in chain if m.hash in origin)
        for _, rowid, error in chains.load_parts(chain):
            self.reader.bad(error, "parts", rowid)
        fallback = (parse_time(thread["datetime_utc"]) if thread is not None else None) or _EPOCH
        for m in chain:
            self._chain_message(m, m.at or fallback)
        for t, details, start, _ in turns:
            message_id = derived_id("llm", self.key, "message", str(t["tip_message_hash"]))
            self._usage(t, details, message_id, start, f"turns:{t['id']}")

    def _chain_message(self, m: ChainMessage, at: datetime) -> None:
        role = _ROLES.get(m.role)
        if role is None:
            self.source.counts.skipped_types[f"messages/{m.role}"] += 1
            return
        content: list[Any] = []
        calls: list[ToolCall] = []
        results: list[MessageRecord] = []
        main_id = derived_id("llm", self.key, "message", m.hash)
        for position, (rowid, part) in enumerate(m.parts):
            kind = part.get("type")
            if kind in ("text", "reasoning", "attachment"):
                content.append(TextPart(text=str(part.get("text") or "")) if kind == "text" else JsonPart(value=part))
            elif kind == "tool_call":
                call_id = str(part.get("tool_call_id") or f"parts:{rowid}")
                calls.append(ToolCall(id=call_id, name=str(part.get("name") or ""), arguments=part.get("arguments")))
                self.call_refs[(main_id, call_id)] = f"parts:{rowid}"
            elif kind == "tool_result":
                results.append(self._tool_result(m.hash, position, part, at))
            else:
                self._skip_part(rowid, str(kind))
        main = (
            MessageRecord(id=main_id, session_id=self.id, role=role, content=content, tool_calls=calls, created_at=at)
            if content or calls or not results
            else None
        )
        for record in [main, *results] if role is MessageRole.ASSISTANT else [*results, main]:
            if record is not None:
                self._message(record, f"messages:{m.hash}")

    def _skip_part(self, rowid: int, kind: str) -> None:
        """Count a part of a type this reader does not map (from a newer llm), once however many threads share it."""
        if rowid not in self.reader.skipped_parts:
            self.reader.skipped_parts.add(rowid)
            self.source.counts.skipped_types[f"parts/{kind}"] += 1

    def _tool_result(self, message_hash: str, position: int, part: dict[str, Any], at: datetime) -> MessageRecord:
        output = part.get("output")
        result = MessageRecord(
            id=derived_id("llm", self.key, "message", message_hash, str(position)),
            session_id=self.id,
            role=MessageRole.TOOL,
            content=[TextPart(text=output) if isinstance(output, str) else JsonPart(value=output)],
            tool_call_id=str(part.get("tool_call_id") or ""),
            tool_name=str(part.get("name") or ""),
            created_at=at,
        )
        if part.get("exception"):
            self.errors[result.id] = str(part["exception"])
        return result

    # -- tool executions --------------------------------------------------------------------------------------------

    def _executions(self) -> list[ToolExecution]:
        out = pair_calls(self.key, self.messages, self.errors, self.inherited)
        for record in out:
            self._prov("tool_executions", record.id, self.call_refs.get((record.message_id, record.call_id), ""))
        return out


__all__ = ["LlmLogsSource"]
