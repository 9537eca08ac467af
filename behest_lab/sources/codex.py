"""Codex CLI's session logs (``~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl``, ``archived_sessions/``) as records.

Each line is ``{timestamp, type, payload}``; one file is one session. Types read:

* ``session_meta`` (``id``, ``cwd``, ``originator``, ``cli_version``, ``model_provider``, ``git{branch,
  commit_hash, repository_url}``): the session. Its id is Codex's; metadata holds ``source``, ``session_id``,
  ``cwd``, ``project`` (the last part of ``cwd``), ``git_branch``, ``git_commit``, ``originator``, ``version``,
  ``file``. The title is the first user text that is not Codex's own context (``<environment_context>``,
  ``<user_instructions>``).
* ``turn_context`` (``model``, ``cwd``, ...): the model of the calls that follow; the session's model is the first.
* ``response_item``: what the model saw and said, in order. ``message`` (roles ``user``, ``assistant``,
  ``developer`` as system, ``system``; ``input_text``/``output_text`` blocks as text parts, others as JSON parts),
  ``reasoning`` (its summary texts as a JSON part of an assistant message), ``function_call`` and
  ``custom_tool_call`` (an assistant message with one tool call; arguments decoded from their JSON text when they
  are JSON), ``*_output`` (a tool message with the ``call_id``). Each call paired with its output by ``call_id``
  is a tool execution; the duration and exit code come from the output's ``metadata`` (``duration_seconds``,
  ``exit_code``; nonzero is ``failed``) or from the ``exec_command_end`` event of the same call, else the time
  between the two lines. An output repeated for a call already answered is counted as a duplicate and left out.
* ``event_msg`` of type ``token_count``: ONE usage record per model response, from ``info.last_token_usage``
  (the counts of that response). ``info.total_token_usage`` is cumulative over the session and is never summed;
  it only tells repeats apart: a ``token_count`` whose total equals the previous one reports the same response
  again and is skipped (when ``last_token_usage`` is missing, the difference of the totals is the response's).
  Counters are OpenAI's: ``input_tokens`` INCLUDES ``cached_input_tokens`` (stored as behest_lab's
  ``cached_input_tokens``, so the cost takes uncached = input - cached), ``output_tokens`` includes
  ``reasoning_output_tokens``, ``total_tokens`` as reported. The provider is ``session_meta.model_provider``
  (``openai`` when absent).
  The other ``event_msg`` types repeat the response items (``user_message``, ``agent_message``,
  ``agent_reasoning``) or mark turns (``task_started``, ``task_complete``) and add no records.
* ``compacted`` (``message``): a compaction pair, a user message marking it (``is_compaction``) followed by the
  summary (``is_summary``, the ``message`` as summary text).

Record ids are derived from the session id and the line number (files only grow), so re-importing adds nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
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
    json_or_text,
    parse_time,
    source_uuid,
    type_name,
)
from behest_lab.sources.base import BadRowHandler

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ROLES = {
    "user": MessageRole.USER,
    "assistant": MessageRole.ASSISTANT,
    "developer": MessageRole.SYSTEM,
    "system": MessageRole.SYSTEM,
}
_CALLS = ("function_call", "custom_tool_call", "local_shell_call")
_OUTPUTS = ("function_call_output", "custom_tool_call_output")
_REPEATS = (
    "user_message",
    "agent_message",
    "agent_reasoning",
    "task_started",
    "task_complete",
    "turn_aborted",
    "context_compacted",
)
_CONTEXT = ("<environment_context>", "<user_instructions>", "# AGENTS.md")
_COUNTERS = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens", "total_tokens")


class CodexSource(AgentLogSource):
    """Codex CLI's rollout files under ``path`` (a ``sessions`` folder, any folder of them, or one file)."""

    kind = "codex"

    @classmethod
    def sniff(cls, path: Path) -> bool:
        """Whether ``path`` holds Codex rollouts (the first line is ``{timestamp, type, payload}``)."""
        files = [path] if path.is_file() else sorted(path.rglob("*.jsonl"))[:5]
        for file in files:
            try:
                with file.open("rb") as f:
                    first = json.loads(f.readline())
            except (OSError, ValueError):
                continue
            if isinstance(first, dict) and {"timestamp", "type", "payload"} <= first.keys():
                return True
        return False

    def files(self) -> list[Path]:
        """The rollout files, sorted by path."""
        return [self.path] if self.path.is_file() else sorted(self.path.rglob("*.jsonl"))

    def count(self) -> int:
        """Rollout files."""
        return len(self.files())

    def bundles(self, on_bad: BadRowHandler) -> Iterator[Bundle]:
        """One bundle per rollout file."""
        for file in self.files():
            bundle = _Rollout(self, file, on_bad).run(Start(file))
            if bundle is not None:
                yield bundle

    def units(self, on_bad: BadRowHandler, book: CursorBook) -> Iterator[Unit]:
        """File by file: nothing for a rollout as ``book`` saw it, the new lines of one that grew, else all of it."""
        files = self.files()
        for file, plan in zip(files, book.plans([(str(f), [f]) for f in files]), strict=True):
            if plan.skip:
                yield Unit([], skipped=True)
                continue
            rollout, start = _Rollout(self, file, on_bad), plan.starts[0]
            try:
                rollout.restore(plan.state or {})
            except (KeyError, ValueError, TypeError):  # no state, or one this version cannot take up
                rollout, start = _Rollout(self, file, on_bad), Start(file)
            bundle = rollout.run(start)
            sessions = [str(rollout.id)] if bundle is not None else []
            cursor = None if rollout.progress.dirty else rollout.progress.cursor(str(file), sessions)
            yield Unit([bundle] if bundle is not None else [], cursor, rollout.snapshot())


class _Rollout:
    """One rollout file being read."""

    def __init__(self, source: CodexSource, file: Path, on_bad: BadRowHandler) -> None:
        self.source = source
        self.file = file
        self.on_bad = on_bad
        name = file.stem
        self.sid_text = name[-36:] if len(name) >= 36 else name
        self.id = source_uuid(self.sid_text, "codex", "session")
        self.metadata: dict[str, Any] = {"source": "codex", "session_id": self.sid_text}
        self.provider = "openai"
        self.model = ""
        self.first_model = ""
        self.title = ""
        self.first: datetime | None = None
        self.last: datetime | None = None
        self.messages: list[MessageRecord] = []
        self.executions: list[ToolExecution] = []
        self.usage: list[UsageRecord] = []
        self.provenance: list[Provenance] = []
        self.calls: dict[str, tuple[UUID, str, Any, datetime, int]] = {}
        self.answered: set[str] = set()
        self.ends: dict[str, dict[str, Any]] = {}
        self.previous_total: tuple[int, ...] | None = None
        self.last_message: UUID | None = None
        # answered calls whose output lacked an exit code or duration and no exec_command_end was seen yet
        self.open: dict[str, list[Any]] = {}
        self.progress = Progress([])

    def snapshot(self) -> dict[str, Any]:
        """What the reader knows after the lines read, as JSON values (``restore`` resumes from it)."""
        return {
            "session": [self.sid_text, self.metadata, self.provider, self.model, self.first_model, self.title],
            "times": [_iso(self.first), _iso(self.last)],
            "calls": {
                cid: [str(m), name, None if cid in self.answered else args, at.isoformat(), number]
                for cid, (m, name, args, at, number) in self.calls.items()
            },
            "answered": sorted(self.answered),
            "ends": {k: v for k, v in self.ends.items() if k not in self.answered},
            "open": self.open,
            "previous_total": self.previous_total,
            "last_message": str(self.last_message) if self.last_message else None,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Take up the state ``snapshot`` kept (records already stored are not made again)."""
        self.sid_text, self.metadata, self.provider, self.model, self.first_model, self.title = state["session"]
        self.id = source_uuid(self.sid_text, "codex", "session")
        self.first, self.last = (parse_time(t) for t in state["times"])
        for cid, (mid, name, args, at, number) in state["calls"].items():
            self.calls[cid] = (UUID(mid), name, args, parse_time(at) or _EPOCH, number)
        self.answered = set(state["answered"])
        self.ends = dict(state["ends"])
        self.open = dict(state["open"])
        total = state["previous_total"]
        self.previous_total = tuple(total) if total is not None else None
        self.last_message = UUID(state["last_message"]) if state["last_message"] else None

    def run(self, start: Start) -> Bundle | None:
        """Read the file from ``start`` on; the session with what the read added, or None for no rollout."""
        self.progress = Progress([start])
        lines: list[tuple[int, dict[str, Any]]] = []
        for read in read_from(start, self.source.kind, self.on_bad, self.source.counts):
            self.progress.advance(self.file, read)
            lines.append((read.number, read.obj))
        for _, obj in lines:  # exec_command_end events may follow the call's output
            payload = obj.get("payload")
            if (
                obj.get("type") == "event_msg"
                and isinstance(payload, dict)
                and payload.get("type") == "exec_command_end"
                and isinstance(payload.get("call_id"), str)
            ):
                self.ends[payload["call_id"]] = payload
        for call_id in [c for c in self.open if c in self.ends]:  # an end that came after an earlier import
            mid, name, args, started, number, result, finished, meta = self.open.pop(call_id)
            at, done = parse_time(started) or _EPOCH, parse_time(finished) or _EPOCH
            self._execution(call_id, UUID(mid), name, args, at, number, result, done, meta)
        for number, obj in lines:
            try:
                self._line(number, obj)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                self.on_bad(
                    SourceError(
                        f"cannot map this line: {exc}", source=self.source.kind, location=str(self.file), row=number
                    )
                )
        if not (self.messages or self.usage or "cwd" in self.metadata):
            return None  # not a rollout (``~/.codex/history.jsonl``, say): its lines were counted as skipped
        for call_id, (msg, name, args, at, number) in self.calls.items():
            if call_id not in self.answered:
                self._execution(call_id, msg, name, args, at, number, None, at, None)
        self.metadata["file"] = str(self.file)
        created = self.first or _EPOCH
        session = Session(
            id=self.id,
            title=self.title,
            model=self.first_model,
            created_at=created,
            updated_at=self.last or created,
            metadata=self.metadata,
        )
        prov = [self.source.provenance("sessions", self.id, self.file, 1), *self.provenance]
        return Bundle(
            session=session, messages=self.messages, executions=self.executions, usage=self.usage, provenance=prov
        )

    def _rid(self, kind: str, number: int) -> UUID:
        return derived_id("codex", self.sid_text, kind, str(number))

    def _add(self, table: str, record: Any, number: int) -> None:
        if table == "messages":
            self.messages.append(record)
        elif table == "tool_executions":
            self.executions.append(record)
        else:
            self.usage.append(record)
        self.provenance.append(self.source.provenance(table, record.id, self.file, number))

    def _line(self, number: int, obj: dict[str, Any]) -> None:
        kind = obj.get("type")
        payload = obj.get("payload")
        at = parse_time(obj.get("timestamp"))
        if at is not None:
            self.first = at if self.first is None or at < self.first else self.first
            self.last = at if self.last is None or at > self.last else self.last
        at = at or self.last or _EPOCH
        if not isinstance(payload, dict):
            self.source.counts.skipped_types[type_name(kind)] += 1
        elif kind == "session_meta":
            self._meta(payload)
        elif kind == "turn_context":
            if isinstance(payload.get("model"), str):
                self.model = payload["model"]
                self.first_model = self.first_model or self.model
        elif kind == "response_item":
            self._item(number, payload, at)
        elif kind == "event_msg":
            self._event(number, payload, at)
        elif kind == "compacted":
            self._compacted(number, payload, at)
        else:
            self.source.counts.skipped_types[type_name(kind)] += 1

    def _meta(self, payload: dict[str, Any]) -> None:
        if isinstance(payload.get("id"), str):
            self.sid_text = payload["id"]
            self.id = source_uuid(self.sid_text, "codex", "session")
            self.metadata["session_id"] = self.sid_text
        cwd = payload.get("cwd")
        if isinstance(cwd, str):
            self.metadata["cwd"] = cwd
            self.metadata["project"] = Path(cwd).name
        git: dict[str, Any] = payload["git"] if isinstance(payload.get("git"), dict) else {}
        for key, value in (
            ("git_branch", git.get("branch")),
            ("git_commit", git.get("commit_hash")),
            ("originator", payload.get("originator")),
            ("version", payload.get("cli_version")),
        ):
            if isinstance(value, str):
                self.metadata[key] = value
        if isinstance(payload.get("model_provider"), str):
            self.provider = payload["model_provider"]

    def _item(self, number: int, payload: dict[str, Any], at: datetime) -> None:
        kind = payload.get("type")
        mid = self._rid("message", number)
        if kind == "message":
            role = _ROLES.get(str(payload.get("role")))
            if role is None:
                self.source.counts.skipped_types[f"response_item/message/{payload.get('role')}"] += 1
                return
            parts = _parts(payload.get("content"))
            text = "\n".join(p.text for p in parts if isinstance(p, TextPart))
            if role is MessageRole.USER and not self.title and text and not text.lstrip().startswith(_CONTEXT):
                self.title = text.strip()[:80]
            msg = MessageRecord(id=mid, session_id=self.id, role=role, content=parts, created_at=at)
        elif kind == "reasoning":
            summary = [s.get("text") for s in payload.get("summary") or [] if isinstance(s, dict)]
            msg = MessageRecord(
                id=mid,
                session_id=self.id,
                role=MessageRole.ASSISTANT,
                content=[JsonPart(value={"type": "reasoning", "summary": summary})],
                created_at=at,
            )
        elif kind in _CALLS:
            call_id = str(payload.get("call_id") or payload.get("id"))
            name = str(payload.get("name") or kind)
            raw = payload.get("arguments", payload.get("input", payload.get("action")))
            args = json_or_text(raw)
            msg = MessageRecord(
                id=mid,
                session_id=self.id,
                role=MessageRole.ASSISTANT,
                content=[],
                tool_calls=[ToolCall(id=call_id, name=name, arguments=args)],
                created_at=at,
            )
            self.calls.setdefault(call_id, (msg.id, name, args, at, number))
        elif kind in _OUTPUTS:
            self._output(number, payload, at)
            return
        else:
            self.source.counts.skipped_types[f"response_item/{kind}"] += 1
            return
        if msg.role is MessageRole.ASSISTANT:
            self.last_message = msg.id
        self._add("messages", msg, number)

    def _output(self, number: int, payload: dict[str, Any], at: datetime) -> None:
        call_id = str(payload.get("call_id"))
        if call_id in self.answered:
            self.source.counts.duplicate_lines += 1
            return
        call = self.calls.get(call_id)
        raw = payload.get("output")
        decoded = json_or_text(raw)
        inner = decoded if isinstance(decoded, dict) and "output" in decoded else None
        text = inner["output"] if inner is not None else raw
        parts = [TextPart(text=text)] if isinstance(text, str) else [JsonPart(value=text)]
        msg = MessageRecord(
            id=self._rid("message", number),
            session_id=self.id,
            role=MessageRole.TOOL,
            content=parts,
            created_at=at,
            tool_call_id=call_id,
            tool_name=call[1] if call else "",
        )
        self._add("messages", msg, number)
        if call is None:
            return
        self.answered.add(call_id)
        meta = inner.get("metadata") if inner is not None and isinstance(inner.get("metadata"), dict) else {}
        self._execution(call_id, call[0], call[1], call[2], call[3], number, text, at, meta)

    def _execution(
        self,
        call_id: str,
        message_id: UUID,
        name: str,
        args: Any,
        started: datetime,
        number: int,
        result: Any,
        finished: datetime,
        meta: dict[str, Any] | None,
    ) -> None:
        end = self.ends.get(call_id, {})
        exit_code = (meta or {}).get("exit_code", end.get("exit_code"))
        seconds = (meta or {}).get("duration_seconds")
        span = end.get("duration")
        if isinstance(seconds, int | float):
            duration = timedelta(seconds=seconds)
        elif isinstance(span, dict) and isinstance(span.get("secs"), int):
            duration = timedelta(seconds=span["secs"], microseconds=int(span.get("nanos", 0)) // 1000)
        else:
            duration = max(finished - started, timedelta(0))
        if meta is None:
            status = ToolExecutionStatus.PENDING
        elif isinstance(exit_code, int) and exit_code != 0:
            status = ToolExecutionStatus.FAILED
        else:
            status = ToolExecutionStatus.SUCCESS
        failed = status is ToolExecutionStatus.FAILED
        complete = isinstance(exit_code, int) and isinstance(seconds, int | float)
        if meta is not None and not complete and call_id not in self.ends:
            self.open[call_id] = [str(message_id), name, args, started.isoformat(), number, result]
            self.open[call_id] += [finished.isoformat(), meta]
        execution = ToolExecution(
            id=derived_id("codex", self.sid_text, "tool", call_id),
            session_id=self.id,
            message_id=message_id,
            call_id=call_id,
            tool_name=name,
            arguments=args,
            result=result if status is ToolExecutionStatus.SUCCESS else None,
            status=status,
            error=(f"exit code {exit_code}: {result}" if isinstance(result, str) else f"exit code {exit_code}")
            if failed
            else None,
            duration=duration if meta is not None else timedelta(0),
            created_at=started,
        )
        self._add("tool_executions", execution, number)

    def _event(self, number: int, payload: dict[str, Any], at: datetime) -> None:
        kind = payload.get("type")
        if kind != "token_count":
            if kind not in _REPEATS and kind != "exec_command_end":
                self.source.counts.skipped_types[f"event_msg/{kind}"] += 1
            return
        info = payload.get("info")
        if not isinstance(info, dict):
            return  # rate limits only
        total = _counters(info.get("total_token_usage"))
        if total is not None and total == self.previous_total:
            self.source.counts.duplicate_lines += 1
            return
        last = _counters(info.get("last_token_usage"))
        if last is None and total is not None:
            before = self.previous_total or (0,) * len(_COUNTERS)
            last = tuple(max(a - b, 0) for a, b in zip(total, before, strict=True))
        if total is not None:
            self.previous_total = total
        if last is None:
            return
        counts = dict(zip(_COUNTERS, last, strict=True))
        record = UsageRecord(
            id=self._rid("usage", number),
            session_id=self.id,
            message_id=self.last_message or self._rid("message", number),
            provider=self.provider,
            model=self.model,
            input_tokens=counts["input_tokens"],
            output_tokens=counts["output_tokens"],
            total_tokens=counts["total_tokens"] or counts["input_tokens"] + counts["output_tokens"],
            created_at=at,
            cached_input_tokens=counts["cached_input_tokens"],
        )
        self._add("usage_records", record, number)

    def _compacted(self, number: int, payload: dict[str, Any], at: datetime) -> None:
        summary = payload.get("message")
        text = summary if isinstance(summary, str) else ""
        marker = MessageRecord(
            id=self._rid("compaction", number),
            session_id=self.id,
            role=MessageRole.USER,
            content=[TextPart(text="Conversation compacted")],
            created_at=at,
            is_compaction=True,
            compaction_meta=CompactionMeta(),
        )
        summary_msg = MessageRecord(
            id=self._rid("summary", number),
            session_id=self.id,
            role=MessageRole.ASSISTANT,
            content=[TextPart(text=text)],
            created_at=at,
            is_summary=True,
            compaction_meta=CompactionMeta(summary_text=text),
        )
        self._add("messages", marker, number)
        self._add("messages", summary_msg, number)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _counters(value: Any) -> tuple[int, ...] | None:
    if not isinstance(value, dict):
        return None
    return tuple(v if isinstance(v := value.get(k), int) and v >= 0 else 0 for k in _COUNTERS)


def _parts(content: Any) -> list[Any]:
    parts: list[Any] = []
    for block in content if isinstance(content, list) else [content]:
        if isinstance(block, str):
            parts.append(TextPart(text=block))
        elif isinstance(block, dict) and isinstance(block.get("text"), str):
            parts.append(TextPart(text=block["text"]))
        elif block is not None:
            parts.append(JsonPart(value=block))
    return parts


__all__ = ["CodexSource"]
