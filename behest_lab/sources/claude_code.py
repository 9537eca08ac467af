"""Claude Code's session logs (``~/.claude/projects/<folder>/<session>.jsonl``) as behest records.

Layout: one JSON Lines file per session in a folder per project (the folder name is the working directory with
``/`` replaced by ``-``); subagents (the Task tool) write to ``<session>/subagents/agent-<id>.jsonl`` beside it, and
older versions wrote them into the session's own file as lines marked ``isSidechain``. Each line is an envelope:
``type`` (``user``, ``assistant``, ``system``, ``summary``, bookkeeping types), ``uuid``, ``parentUuid``,
``sessionId``, ``timestamp``, ``cwd``, ``gitBranch``, ``version``, ``isSidechain``, ``agentId``, and for messages
``message`` (the Anthropic API message: ``id``, ``model``, ``content`` blocks, ``usage``) with ``requestId``.

Mapping (one session's file and its subagent files are read together):

* **sessions**: the session id is Claude Code's ``sessionId``; metadata holds ``source``, ``session_id``, ``cwd``,
  ``project`` (the last part of ``cwd``), ``git_branch``, ``version``, ``file``. Each subagent (by ``agentId``, or
  by the first line of its sidechain in old logs) is a session of its own whose metadata adds
  ``parent_session_id``, ``agent_id`` and ``sidechain: true``. The title is the log's ``summary`` line, else the
  first user text.
* **messages**: one per ``user``/``assistant`` line (Claude Code writes one line per content block of a response),
  with a UUIDv5 of the session id and the line's ``uuid`` as id (a line copied into another session's file stays
  a message of each). Text blocks become text parts, ``thinking``/``image``/other blocks JSON parts,
  ``tool_use`` blocks tool calls. Each ``tool_result`` block becomes a tool message with ``tool_call_id`` (the
  ``tool_use_id``) and the tool's name. ``system`` lines with text become system messages; a ``compact_boundary``
  line becomes the compaction marker (``is_compaction``, its ``compact_metadata`` as a JSON part) and the
  following ``isCompactSummary`` user line the summary (``is_summary``), the pair behest's compaction analyses read.
* **tool executions**: each ``tool_use`` paired with its ``tool_result``: status ``failed`` when ``is_error``, the
  duration from ``toolUseResult.durationMs`` (or ``totalDurationMs``) when recorded, else the time between the two
  lines. A call without a result yet is ``pending`` (completed by a later import).
* **usage**: ONE record per API response, keyed by ``(message.id, requestId)`` (``message.id`` alone when there is
  no ``requestId``) across the session's file and all its subagent files: Claude Code writes the same response
  once per content block and again in subagent files, so summing lines counts it 2-4 times. Of the copies, the one
  with the most output tokens counts (early copies carry streaming snapshots). Counters are Anthropic's:
  ``input_tokens`` without the cache, ``cache_read_input_tokens``, ``cache_creation_input_tokens`` beside it;
  ``total_tokens`` is all four summed. Responses of model ``<synthetic>`` (written by Claude Code itself) are no
  model calls and have no usage. A response found only in a subagent file counts in that subagent's session.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from behest_lab.errors import SourceError
from behest_lab.interchange.bundle import Bundle
from behest_lab.records import (
    CompactionMeta,
    JsonPart,
    MessageRecord,
    MessageRole,
    Provenance,
    Session,
    TextPart,
    ToolCall,
    ToolExecution,
    ToolExecutionStatus,
    UsageRecord,
)
from behest_lab.sources._logcursor import CursorBook, Progress, Start, Unit, read_from
from behest_lab.sources.agentlogs import (
    AgentLogSource,
    derived_id,
    parse_time,
    source_uuid,
    text_of,
    type_name,
)
from behest_lab.sources.base import BadRowHandler

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MESSAGE_TYPES = ("user", "assistant", "system", "summary")


@dataclass
class _Line:
    file: Path
    number: int
    obj: dict[str, Any]


@dataclass
class _SessionState:
    key: str
    id: UUID
    metadata: dict[str, Any]
    title: str = ""
    model: str = ""
    first: datetime | None = None
    last: datetime | None = None
    messages: list[MessageRecord] = field(default_factory=list)
    executions: list[ToolExecution] = field(default_factory=list)
    usage: list[UsageRecord] = field(default_factory=list)
    provenance: list[Provenance] = field(default_factory=list)


@dataclass
class _Call:
    session: _SessionState
    message_id: UUID
    name: str
    arguments: Any
    at: datetime
    line: _Line


class ClaudeCodeSource(AgentLogSource):
    """Claude Code's logs under ``path``: a ``projects`` folder, one project's folder, or one session file."""

    kind = "claude-code"

    @classmethod
    def sniff(cls, path: Path) -> bool:
        """Whether ``path`` holds Claude Code session logs (the first object line of a JSONL file has a sessionId)."""
        files = [path] if path.is_file() else sorted(path.rglob("*.jsonl"))[:5]
        for file in files:
            if file.suffix != ".jsonl":
                continue
            if any("sessionId" in obj and "type" in obj and "payload" not in obj for obj in _first_objects(file)):
                return True
        return False

    def groups(self) -> list[tuple[str, list[Path]]]:
        """Each session's files: its own file first, then its subagent files (sorted), by session key."""
        files = [self.path] if self.path.is_file() else sorted(self.path.rglob("*.jsonl"))
        groups: dict[str, list[Path]] = {}
        for file in files:
            if file.parent.name == "subagents":
                key = str(file.parent.parent.parent / file.parent.parent.name)
            else:
                key = str(file.parent / file.stem)
            groups.setdefault(key, []).append(file)
        for members in groups.values():
            members.sort(key=lambda f: (f.parent.name == "subagents", str(f)))
        return sorted(groups.items())

    def bundles(self, on_bad: BadRowHandler) -> Iterator[Bundle]:
        """One bundle per session and per subagent, group by group."""
        for key, files in self.groups():
            yield from _Group(self, Path(key).name, files, on_bad).run([Start(f) for f in files])

    def units(self, on_bad: BadRowHandler, book: CursorBook) -> Iterator[Unit]:
        """Group by group: nothing for a group whose files are as ``book`` saw them, else what is new in it.

        A group whose files only grew at their end is read from where the last import stopped, resuming from the
        state kept with its cursor; any other change reads the group whole.
        """
        groups = self.groups()
        for (key, files), plan in zip(groups, book.plans(groups), strict=True):
            if plan.skip:
                yield Unit([], files=1, skipped=True)
                continue
            group, starts = _Group(self, Path(key).name, files, on_bad), plan.starts
            try:
                group.restore(plan.state or {})
            except (KeyError, ValueError, TypeError):  # no state, or one this version cannot take up
                group, starts = _Group(self, Path(key).name, files, on_bad), [Start(f) for f in files]
            bundles = group.run(starts)
            cursor = None if group.progress.dirty else group.progress.cursor(key, group.session_ids())
            yield Unit(bundles, cursor, group.snapshot(), files=1)

    def count(self) -> int:
        """Session files with their subagent files, counted as one."""
        return len(self.groups())


def _first_objects(file: Path, lines: int = 3) -> list[dict[str, Any]]:
    """The JSON objects on the first ``lines`` non-blank lines (a session file may open with ``summary`` lines)."""
    out: list[dict[str, Any]] = []
    try:
        with file.open("rb") as f:
            for raw in f:
                if raw.strip():
                    value = json.loads(raw)
                    if not isinstance(value, dict):
                        return out
                    out.append(value)
                    if len(out) == lines:
                        break
    except (OSError, ValueError):
        return out
    return out


class _Group:
    """One session's files, read together so duplicates across them are counted once."""

    def __init__(self, source: ClaudeCodeSource, key: str, files: list[Path], on_bad: BadRowHandler) -> None:
        self.source = source
        self.key = key
        self.files = files
        self.on_bad = on_bad
        self.sessions: dict[str, _SessionState] = {}
        self.calls: dict[str, _Call] = {}
        self.answered: set[str] = set()
        # usage key -> (chosen output tokens, record)
        self.usage: dict[tuple[str, str], tuple[int, UsageRecord, _SessionState]] = {}
        self.touched: set[tuple[str, str]] = set()
        # line uuids read, and the parent of each sidechain line (sidechains are followed to their first line)
        self.seen: set[str] = set()
        self.parents: dict[str, str | None] = {}
        self.summaries: list[tuple[str, str | None]] = []  # (text, leafUuid) of each summary line
        self.progress = Progress([])

    def _read(self, starts: list[Start]) -> list[_Line]:
        """The new lines of every file, in order, each line uuid once (copies in subagent files are counted)."""
        counts = self.source.counts
        ordered: list[_Line] = []
        self.progress = Progress(starts)
        for start in starts:
            for read in read_from(start, self.source.kind, self.on_bad, counts):
                self.progress.advance(start.path, read)
                obj = read.obj
                line = _Line(start.path, read.number, obj)
                uid = obj.get("uuid")
                if isinstance(uid, str) and uid in self.seen:
                    counts.duplicate_lines += 1
                    continue
                if isinstance(uid, str):
                    self.seen.add(uid)
                    if obj.get("isSidechain"):
                        parent = obj.get("parentUuid")
                        self.parents[uid] = parent if isinstance(parent, str) else None
                ordered.append(line)
        return ordered

    def snapshot(self) -> dict[str, Any]:
        """What the group knows after its read, as JSON values (``restore`` resumes from it)."""
        calls = {
            cid: [
                c.session.key,
                str(c.message_id),
                c.name,
                None if cid in self.answered else c.arguments,
                c.at.isoformat(),
                str(c.line.file),
                c.line.number,
            ]
            for cid, c in self.calls.items()
        }
        return {
            "sessions": [
                [s.key, str(s.id), s.metadata, s.title, s.model, _iso(s.first), _iso(s.last)]
                for s in self.sessions.values()
            ],
            "calls": calls,
            "answered": sorted(self.answered),
            "usage": [[*k, out, r.model_dump_json(), s.key] for k, (out, r, s) in self.usage.items()],
            "seen": sorted(self.seen),
            "parents": self.parents,
            "summaries": self.summaries,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Take up the state ``snapshot`` kept (records already stored are not made again)."""
        for key, sid, metadata, title, model, first, last in state["sessions"]:
            self.sessions[key] = _SessionState(
                key, UUID(sid), metadata, title, model, parse_time(first), parse_time(last)
            )
        for cid, (skey, mid, name, args, at, file, number) in state["calls"].items():
            line = _Line(Path(file), number, {})
            self.calls[cid] = _Call(self.sessions[skey], UUID(mid), name, args, parse_time(at) or _EPOCH, line)
        self.answered = set(state["answered"])
        for k0, k1, out, record, skey in state["usage"]:
            self.usage[(k0, k1)] = (out, UsageRecord.model_validate_json(record), self.sessions[skey])
        self.seen = set(state["seen"])
        self.parents = dict(state["parents"])
        self.summaries = [(text, leaf) for text, leaf in state["summaries"]]

    def session_ids(self) -> list[str]:
        """Ids of the sessions the group made."""
        return [str(s.id) for s in self.sessions.values()]

    def run(self, starts: list[Start]) -> list[Bundle]:
        """Read the files from ``starts`` on; one bundle per session of the group with what the read added."""
        counts = self.source.counts
        out: list[Bundle] = []
        for line in self._read(starts):
            kind = line.obj.get("type")
            if kind not in _MESSAGE_TYPES:
                counts.skipped_types[type_name(kind)] += 1
                continue
            try:
                self._line(line, str(kind))
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                self.on_bad(
                    SourceError(
                        f"cannot map this line: {exc}",
                        source=self.source.kind,
                        location=str(line.file),
                        row=line.number,
                        key=str(line.obj.get("uuid")),
                    )
                )
        for call_id, call in self.calls.items():
            if call_id not in self.answered:
                execution = ToolExecution(
                    id=derived_id("claude-code", "tool", call_id),
                    session_id=call.session.id,
                    message_id=call.message_id,
                    call_id=call_id,
                    tool_name=call.name,
                    arguments=call.arguments,
                    created_at=call.at,
                )
                self._add(call.session, "tool_executions", execution, call.line)
        for key in self.touched:
            _, record, state = self.usage[key]
            state.usage.append(record)
        # the title: the first summary naming a line of this session, else the first (of resumed sessions)
        own = [text for text, leaf in self.summaries if leaf in self.seen]
        summary = own[0] if own else self.summaries[0][0] if self.summaries else ""
        for state in self.sessions.values():
            created = state.first or _EPOCH
            session = Session(
                id=state.id,
                title=summary if summary and "agent_id" not in state.metadata else state.title,
                model=state.model,
                created_at=created,
                updated_at=state.last or created,
                metadata=state.metadata,
            )
            prov = [self.source.provenance("sessions", state.id, self.files[0], 1), *state.provenance]
            out.append(Bundle(session, state.messages, state.executions, state.usage, provenance=prov))
        return out

    # --- sessions -------------------------------------------------------------------------------------------

    def _chain_root(self, line: _Line) -> str:
        """The first line of the sidechain ``line`` is on (following ``parentUuid`` through sidechain lines)."""
        root = str(line.obj.get("uuid", f"{line.file}:{line.number}"))
        parent = line.obj.get("parentUuid")
        walked: set[str] = set()
        while isinstance(parent, str) and parent in self.parents and parent not in walked:
            walked.add(parent)
            root, parent = parent, self.parents[parent]
        return root

    def _session(self, line: _Line) -> _SessionState:
        obj = line.obj
        sid_text = str(obj.get("sessionId") or self.key)
        parent_id = source_uuid(sid_text, "claude-code", "session")
        agent: str | None = None
        if obj.get("isSidechain"):
            agent = obj.get("agentId") if isinstance(obj.get("agentId"), str) else None
            if agent is None and line.file.parent.name == "subagents":
                agent = line.file.stem.removeprefix("agent-")
            if agent is None:
                agent = self._chain_root(line)
        key = f"{sid_text}\x1f{agent}" if agent is not None else sid_text
        state = self.sessions.get(key)
        if state is None:
            cwd = obj.get("cwd")
            metadata: dict[str, Any] = {"source": "claude-code", "session_id": sid_text}
            if isinstance(cwd, str):
                metadata["cwd"] = cwd
                metadata["project"] = Path(cwd).name
            for src, dst in (("gitBranch", "git_branch"), ("version", "version")):
                if isinstance(obj.get(src), str):
                    metadata[dst] = obj[src]
            metadata["file"] = str(line.file)
            sid = parent_id
            if agent is not None:
                sid = derived_id("claude-code", "agent", sid_text, agent)
                metadata.update(parent_session_id=str(parent_id), agent_id=agent, sidechain=True)
            state = _SessionState(key=key, id=sid, metadata=metadata)
            self.sessions[key] = state
        at = parse_time(obj.get("timestamp"))
        if at is not None:
            state.first = at if state.first is None or at < state.first else state.first
            state.last = at if state.last is None or at > state.last else state.last
        return state

    def _add(self, state: _SessionState, table: str, record: Any, line: _Line) -> None:
        if table == "messages":
            state.messages.append(record)
        else:
            state.executions.append(record)
        state.provenance.append(self.source.provenance(table, record.id, line.file, line.number))

    # --- lines ----------------------------------------------------------------------------------------------

    def _line(self, line: _Line, kind: str) -> None:
        obj = line.obj
        if kind == "summary":
            text, leaf = obj.get("summary"), obj.get("leafUuid")
            if isinstance(text, str) and text:
                self.summaries.append((text, leaf if isinstance(leaf, str) else None))
            return
        state = self._session(line)
        at = parse_time(obj.get("timestamp")) or state.last or _EPOCH
        raw = obj.get("uuid")
        where = str(raw) if isinstance(raw, str) else f"{line.file}:{line.number}"
        uid = derived_id("claude-code", "line", str(state.metadata["session_id"]), where)
        if kind == "system":
            self._system(state, line, uid, at)
        elif kind == "assistant":
            self._assistant(state, line, uid, at)
        else:
            self._user(state, line, uid, at)

    def _system(self, state: _SessionState, line: _Line, uid: UUID, at: datetime) -> None:
        obj = line.obj
        content = obj.get("content")
        if obj.get("subtype") == "compact_boundary":
            meta = obj.get("compact_metadata") or obj.get("compactMetadata") or {}
            parts: list[Any] = [TextPart(text=content if isinstance(content, str) else "Conversation compacted")]
            parts.append(JsonPart(value=meta))
            msg = MessageRecord(
                id=uid,
                session_id=state.id,
                role=MessageRole.USER,
                content=parts,
                created_at=at,
                is_compaction=True,
                compaction_meta=CompactionMeta(),
            )
            self._add(state, "messages", msg, line)
        elif isinstance(content, str) and content:
            msg = MessageRecord(
                id=uid, session_id=state.id, role=MessageRole.SYSTEM, content=[TextPart(text=content)], created_at=at
            )
            self._add(state, "messages", msg, line)
        else:
            self.source.counts.skipped_types[f"system/{obj.get('subtype')}"] += 1

    def _assistant(self, state: _SessionState, line: _Line, uid: UUID, at: datetime) -> None:
        obj = line.obj
        message = obj.get("message") or {}
        model = message.get("model")
        if isinstance(model, str) and model != "<synthetic>" and not state.model:
            state.model = model
        parts: list[Any] = []
        calls: list[ToolCall] = []
        content = message.get("content")
        for block in content if isinstance(content, list) else [content]:
            if isinstance(block, str):
                parts.append(TextPart(text=block))
            elif isinstance(block, dict) and block.get("type") == "text":
                parts.append(TextPart(text=str(block.get("text", ""))))
            elif isinstance(block, dict) and block.get("type") == "tool_use":
                call_id = str(block.get("id"))
                name = str(block.get("name", ""))
                calls.append(ToolCall(id=call_id, name=name, arguments=block.get("input")))
                if call_id not in self.calls:
                    self.calls[call_id] = _Call(state, uid, name, block.get("input"), at, line)
            elif isinstance(block, dict):
                parts.append(JsonPart(value=_slim(block)))
        msg = MessageRecord(
            id=uid, session_id=state.id, role=MessageRole.ASSISTANT, content=parts, tool_calls=calls, created_at=at
        )
        self._add(state, "messages", msg, line)
        usage = message.get("usage")
        if isinstance(usage, dict) and model != "<synthetic>":
            self._usage(state, line, uid, at, usage)

    def _usage(self, state: _SessionState, line: _Line, uid: UUID, at: datetime, usage: dict[str, Any]) -> None:
        """Keep one usage per response: the copy with the most output tokens, owned by the first copy's session."""
        obj = line.obj
        message = obj["message"]
        model = message.get("model")
        msg_id, request = message.get("id"), obj.get("requestId")
        key = (str(msg_id), str(request or "")) if msg_id else ("line", str(uid))
        counters = {
            k: _count(usage.get(k))
            for k in ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
        }
        previous = self.usage.get(key)
        if previous is not None and previous[0] >= counters["output_tokens"]:
            return
        record = UsageRecord(
            id=derived_id("claude-code", "usage", *key) if msg_id else derived_id("claude-code", "usage", str(uid)),
            session_id=previous[2].id if previous else state.id,
            message_id=previous[1].message_id if previous else uid,
            provider="anthropic",
            model=str(model or state.model),
            input_tokens=counters["input_tokens"],
            output_tokens=counters["output_tokens"],
            total_tokens=sum(counters.values()),
            created_at=previous[1].created_at if previous else at,
            cache_read_input_tokens=counters["cache_read_input_tokens"],
            cache_creation_input_tokens=counters["cache_creation_input_tokens"],
        )
        owner = previous[2] if previous else state
        if previous is None:
            owner.provenance.append(self.source.provenance("usage_records", record.id, line.file, line.number))
        self.usage[key] = (counters["output_tokens"], record, owner)
        self.touched.add(key)

    def _user(self, state: _SessionState, line: _Line, uid: UUID, at: datetime) -> None:
        obj = line.obj
        content = (obj.get("message") or {}).get("content")
        blocks = content if isinstance(content, list) else [content]
        results = [b for b in blocks if isinstance(b, dict) and b.get("type") == "tool_result"]
        rest = [b for b in blocks if not (isinstance(b, dict) and b.get("type") == "tool_result")]
        for i, block in enumerate(results):
            mid = uid if i == 0 else derived_id("claude-code", "result", str(uid), str(i))
            self._tool_result(state, line, mid, at, block)
        if rest and any(b is not None for b in rest):
            parts: list[Any] = []
            for item in rest:
                if isinstance(item, str):
                    parts.append(TextPart(text=item))
                elif isinstance(item, dict) and item.get("type") == "text":
                    parts.append(TextPart(text=str(item.get("text", ""))))
                elif item is not None:
                    parts.append(JsonPart(value=_slim(item)))
            mid = uid if not results else derived_id("claude-code", "user", str(uid))
            summary = bool(obj.get("isCompactSummary"))
            text = "\n".join(p.text for p in parts if isinstance(p, TextPart))
            if not state.title and text and not summary and not obj.get("isMeta"):
                state.title = text[:80]
            msg = MessageRecord(
                id=mid,
                session_id=state.id,
                role=MessageRole.USER,
                content=parts,
                created_at=at,
                is_summary=summary,
                compaction_meta=CompactionMeta(summary_text=text) if summary else None,
            )
            self._add(state, "messages", msg, line)

    def _tool_result(self, state: _SessionState, line: _Line, mid: UUID, at: datetime, block: dict[str, Any]) -> None:
        call_id = str(block.get("tool_use_id"))
        call = self.calls.get(call_id)
        content = block.get("content")
        parts: list[Any] = (
            [TextPart(text=content)]
            if isinstance(content, str)
            else [
                TextPart(text=str(b.get("text", "")))
                if isinstance(b, dict) and b.get("type") == "text"
                else JsonPart(value=_slim(b))
                for b in (content if isinstance(content, list) else [])
            ]
        )
        msg = MessageRecord(
            id=mid,
            session_id=state.id,
            role=MessageRole.TOOL,
            content=parts,
            created_at=at,
            tool_call_id=call_id,
            tool_name=call.name if call else "",
        )
        self._add(state, "messages", msg, line)
        if call is None or call_id in self.answered:
            return
        self.answered.add(call_id)
        extra = line.obj.get("toolUseResult")
        recorded = None
        if isinstance(extra, dict):
            recorded = next(
                (extra[k] for k in ("durationMs", "totalDurationMs") if isinstance(extra.get(k), int | float)), None
            )
        duration = timedelta(milliseconds=recorded) if recorded is not None else max(at - call.at, timedelta(0))
        failed = bool(block.get("is_error"))
        execution = ToolExecution(
            id=derived_id("claude-code", "tool", call_id),
            session_id=call.session.id,
            message_id=call.message_id,
            call_id=call_id,
            tool_name=call.name,
            arguments=call.arguments,
            result=None if failed else _slim(content),
            status=ToolExecutionStatus.FAILED if failed else ToolExecutionStatus.SUCCESS,
            error=text_of(content) or "error" if failed else None,
            duration=duration,
            created_at=call.at,
        )
        self._add(call.session, "tool_executions", execution, line)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _count(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def _slim(value: Any) -> Any:
    """``value`` with inline base64 data (images, documents) replaced by its length."""
    if isinstance(value, dict):
        if value.get("type") == "base64" and isinstance(value.get("data"), str):
            return {**value, "data": f"<{len(value['data'])} base64 characters>"}
        return {k: _slim(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_slim(v) for v in value]
    return value


__all__ = ["ClaudeCodeSource"]
