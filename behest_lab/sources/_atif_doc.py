"""One ATIF trajectory document as behest records (the mapping ``behest_lab.sources.atif`` describes).

``Document(...).bundles()`` yields the trajectory's session and then one session per embedded subagent
(``subagent_trajectories``, ATIF v1.7+), each a ``Bundle`` with provenance ``<file>#<JSON pointer>``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from uuid import UUID

from behest_lab.errors import SourceError
from behest_lab.interchange.bundle import Bundle
from behest_lab.pricing import infer_providers, token_style
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
from behest_lab.sources.agentlogs import LogCounts, derived_id, parse_time, source_uuid
from behest_lab.sources.base import BadRowHandler

KIND = "atif"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ROLES = {"system": MessageRole.SYSTEM, "user": MessageRole.USER, "agent": MessageRole.ASSISTANT}
#: Keys each object of the schema has in ATIF v1.0-v1.8; any other key is counted as unknown (a newer version).
KNOWN = {
    "": {
        "schema_version",
        "session_id",
        "trajectory_id",
        "agent",
        "steps",
        "notes",
        "final_metrics",
        "continued_trajectory_ref",
        "extra",
        "subagent_trajectories",
    },
    "agent": {"name", "version", "model_name", "tool_definitions", "extra"},
    "steps[]": {
        "step_id",
        "timestamp",
        "source",
        "model_name",
        "reasoning_effort",
        "message",
        "reasoning_content",
        "tool_calls",
        "observation",
        "metrics",
        "is_copied_context",
        "llm_call_count",
        "extra",
    },
    "tool_calls[]": {"tool_call_id", "function_name", "arguments", "extra"},
    "results[]": {"source_call_id", "content", "subagent_trajectory_ref", "extra"},
    "metrics": {
        "prompt_tokens",
        "completion_tokens",
        "cached_tokens",
        "cost_usd",
        "prompt_token_ids",
        "completion_token_ids",
        "logprobs",
        "extra",
    },
}
#: Where a cache write count may sit in ``metrics.extra`` (Anthropic's name, which the ATIF RFC gives as the example).
CACHE_WRITE_KEYS = ("cache_creation_input_tokens", "cache_creation_tokens")


def count_unknown(counts: LogCounts, where: str, obj: dict[str, Any]) -> None:
    """Count the keys of ``obj`` that ATIF v1.8 does not define at ``where``."""
    for key in obj.keys() - KNOWN[where]:
        counts.skipped_types[f"unknown field {where + '.' if where else ''}{key}"] += 1


def document_key(doc: dict[str, Any]) -> str:
    """The text a trajectory's session id comes from: its ``session_id``, and its ``trajectory_id`` when both differ.

    ``session_id`` is run-scoped since v1.7 (a continuation or a sibling may share it); ``trajectory_id`` tells
    documents of one run apart. A document with neither (v1.7+ allows it) is named by a hash of its agent and first
    step, which a copy or a longer rewrite of the same run keeps.
    """
    sid, tid = doc.get("session_id"), doc.get("trajectory_id")
    sid = sid if isinstance(sid, str) and sid else None
    tid = tid if isinstance(tid, str) and tid else None
    if sid and tid and tid != sid:
        return f"{sid}/{tid}"
    if sid or tid:
        return str(sid or tid)
    steps = doc.get("steps")
    first = steps[0] if isinstance(steps, list) and steps else None
    canonical = json.dumps({"agent": doc.get("agent"), "first_step": first}, sort_keys=True, default=str)
    return "anonymous-" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def session_id_of(key: str) -> UUID:
    """The session UUID of a document key: the key itself when it is a UUID, else a UUIDv5 of it."""
    return source_uuid(key, KIND, "session")


def split_model(name: str) -> tuple[str, str]:
    """``(provider, model)`` of an ATIF model name: ``anthropic/claude-x`` names its provider, a bare name does not."""
    head, sep, rest = name.partition("/")
    if sep and head and rest:
        return head, rest
    return "", name


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _parts(value: Any) -> list[Any]:
    """A message or observation content: a string, or (v1.6+) an array of text/image/audio content parts."""
    if isinstance(value, str):
        return [TextPart(text=value)] if value else []
    parts: list[Any] = []
    for part in value if isinstance(value, list) else [value]:
        if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
            parts.append(TextPart(text=part["text"]))
        elif part is not None:
            parts.append(JsonPart(value=part))
    return parts


@dataclass
class Link:
    """What another document says about this one: its parent (a subagent ref) or the one it continues."""

    parent: UUID | None = None
    parent_step: int | None = None
    continues: UUID | None = None


@dataclass
class _Out:
    messages: list[MessageRecord] = field(default_factory=list)
    executions: list[ToolExecution] = field(default_factory=list)
    usage: list[UsageRecord] = field(default_factory=list)
    provenance: list[Provenance] = field(default_factory=list)


class Document:
    """One trajectory (a file's root, or one embedded in it) being mapped."""

    def __init__(
        self,
        doc: dict[str, Any],
        *,
        file: Path,
        location: str,
        pointer: str,
        key: str,
        counts: LogCounts,
        on_bad: BadRowHandler,
        link: Link | None = None,
    ) -> None:
        self.doc = doc
        self.file = file
        self.location = location
        self.pointer = pointer
        self.key = key
        self.id = session_id_of(key)
        self.counts = counts
        self.on_bad = on_bad
        self.link = link or Link()
        agent = doc.get("agent")
        self.agent: dict[str, Any] = agent if isinstance(agent, dict) else {}
        model = self.agent.get("model_name")
        self.model = model if isinstance(model, str) else ""
        self.out = _Out()
        self.embedded: dict[str, tuple[int, dict[str, Any]]] = {}
        self.children: dict[str, tuple[UUID, int]] = {}  # embedded trajectory_id -> (session id, parent step)

    def _prov(self, table: str, record_id: UUID, pointer: str) -> None:
        self.out.provenance.append(
            Provenance.model_construct(
                record_id=record_id, table=table, source=KIND, location=self.location, ref=f"{self.file}#{pointer}"
            )
        )

    def _add(self, table: str, record: Any, pointer: str) -> None:
        records: dict[str, list[Any]] = {
            "messages": self.out.messages,
            "tool_executions": self.out.executions,
            "usage_records": self.out.usage,
        }
        records[table].append(record)
        self._prov(table, record.id, pointer)

    def _rid(self, *parts: str) -> UUID:
        return derived_id(KIND, self.key, *parts)

    def bundles(self) -> Iterator[Bundle]:
        """This trajectory's bundle, then its embedded subagents' (depth first).

        Raises:
            SourceError: Through ``on_bad``: a step that is not an object or has no known ``source``.
        """
        count_unknown(self.counts, "", self.doc)
        count_unknown(self.counts, "agent", self.agent)
        for i, sub in enumerate(self.doc.get("subagent_trajectories") or []):
            if isinstance(sub, dict) and isinstance(sub.get("trajectory_id"), str):
                self.embedded[sub["trajectory_id"]] = (i, sub)
                self.children[sub["trajectory_id"]] = (session_id_of(f"{self.key}/{sub['trajectory_id']}"), 0)
            else:
                self._bad(f"{self.pointer}/subagent_trajectories/{i}", "an embedded subagent without trajectory_id")
        first: datetime | None = None
        last: datetime | None = None
        title = ""
        steps = self.doc.get("steps")
        for index, step in enumerate(steps if isinstance(steps, list) else []):
            pointer = f"{self.pointer}/steps/{index}"
            if not isinstance(step, dict) or not isinstance(step.get("source"), str) or step["source"] not in _ROLES:
                self._bad(pointer, "a step that is not an object with source system, user or agent")
                continue
            count_unknown(self.counts, "steps[]", step)
            at = parse_time(step.get("timestamp"))
            if at is not None:
                first = at if first is None or at < first else first
                last = at if last is None or at > last else last
            message = self._step(index, step, at or last or first or EPOCH, pointer)
            if not title and step["source"] == "user" and message.text_content.strip():
                title = message.text_content.strip()[:80]
        created = first or EPOCH
        session = Session(
            id=self.id,
            title=title,
            model=split_model(self.model or self._first_step_model())[1],
            created_at=created,
            updated_at=last or created,
            metadata=self._metadata(),
        )
        self._prov("sessions", self.id, self.pointer)
        yield Bundle(
            session=session,
            messages=self.out.messages,
            executions=self.out.executions,
            usage=self.out.usage,
            provenance=self.out.provenance,
        )
        for tid, (i, sub) in self.embedded.items():
            child = Document(
                sub,
                file=self.file,
                location=self.location,
                pointer=f"{self.pointer}/subagent_trajectories/{i}",
                key=f"{self.key}/{tid}",
                counts=self.counts,
                on_bad=self.on_bad,
                link=Link(parent=self.id, parent_step=self.children[tid][1] or None),
            )
            yield from child.bundles()

    def _bad(self, pointer: str, message: str) -> None:
        self.on_bad(SourceError(message, source=KIND, location=str(self.file), key=f"#{pointer}"))

    def _first_step_model(self) -> str:
        for step in self.doc.get("steps") or []:
            if isinstance(step, dict) and isinstance(step.get("model_name"), str):
                return str(step["model_name"])
        return ""

    def _metadata(self) -> dict[str, Any]:
        doc, agent = self.doc, self.agent
        meta: dict[str, Any] = {"source": KIND, "schema_version": doc.get("schema_version")}
        for key, value in (
            ("session_id", doc.get("session_id")),
            ("trajectory_id", doc.get("trajectory_id")),
            ("agent", agent.get("name")),
            ("version", agent.get("version")),
            ("notes", doc.get("notes")),
            ("continued_trajectory_ref", doc.get("continued_trajectory_ref")),
        ):
            if isinstance(value, str):
                meta[key] = value
        tools = agent.get("tool_definitions")
        if isinstance(tools, list):
            meta["tool_names"] = [
                t["function"]["name"]
                for t in tools
                if isinstance(t, dict) and isinstance(t.get("function"), dict) and "name" in t["function"]
            ]
        if isinstance(doc.get("final_metrics"), dict):
            meta["final_metrics"] = doc["final_metrics"]
        if isinstance(doc.get("extra"), dict):
            meta["extra"] = doc["extra"]
        if self.link.parent is not None:
            meta["parent_session_id"] = str(self.link.parent)
            meta["subagent"] = True
            if self.link.parent_step is not None:
                meta["parent_step_id"] = self.link.parent_step
        if self.link.continues is not None:
            meta["continues_session_id"] = str(self.link.continues)
        meta["file"] = str(self.file)
        if self.pointer:
            meta["pointer"] = self.pointer
        return meta

    def _step(self, index: int, step: dict[str, Any], at: datetime, pointer: str) -> MessageRecord:
        role = _ROLES[step["source"]]
        copied = step.get("is_copied_context") is True
        parts = _parts(step.get("message"))
        if isinstance(step.get("reasoning_content"), str) and step["reasoning_content"]:
            parts.append(JsonPart(value={"type": "reasoning", "text": step["reasoning_content"]}))
        calls: list[ToolCall] = []
        for j, call in enumerate(step.get("tool_calls") or []):
            if not isinstance(call, dict) or not isinstance(call.get("tool_call_id"), str):
                self._bad(f"{pointer}/tool_calls/{j}", "a tool call without tool_call_id")
                continue
            count_unknown(self.counts, "tool_calls[]", call)
            calls.append(
                ToolCall(
                    id=call["tool_call_id"], name=str(call.get("function_name") or ""), arguments=call.get("arguments")
                )
            )
        context = _context_management(step)
        if context is not None:
            return self._compaction(index, step, at, pointer, context)
        message = MessageRecord(
            id=self._rid("step", str(index)),
            session_id=self.id,
            role=role,
            content=parts,
            tool_calls=calls,
            created_at=at,
        )
        self._add("messages", message, pointer)
        observation = step.get("observation")
        results = observation.get("results") if isinstance(observation, dict) else None
        answered: dict[str, tuple[Any, UUID]] = {}
        for j, result in enumerate(results if isinstance(results, list) else []):
            if isinstance(result, dict):
                count_unknown(self.counts, "results[]", result)
                answered.update(self._result(index, j, step, result, at, f"{pointer}/observation/results/{j}"))
        if not copied:  # a copied step ran in the trajectory it was copied from: its calls and usage count there
            for call in calls:
                self._execution(index, message, call, answered.get(call.id), at, pointer)
            self._usage(index, step, message, at, pointer)
        return message

    def _result(
        self, index: int, j: int, step: dict[str, Any], result: dict[str, Any], at: datetime, pointer: str
    ) -> dict[str, tuple[Any, UUID]]:
        call_id = result.get("source_call_id") if isinstance(result.get("source_call_id"), str) else None
        parts = _parts(result.get("content"))
        linked = self._refs(result, index)
        if linked:
            refs = result["subagent_trajectory_ref"]
            value = {"type": "subagent_trajectory_ref", "refs": refs, "session_ids": [str(s) for s in linked]}
            parts.append(JsonPart(value=value))
        name = ""
        for call in step.get("tool_calls") or []:
            if isinstance(call, dict) and call.get("tool_call_id") == call_id:
                name = str(call.get("function_name") or "")
        message = MessageRecord(
            id=self._rid("step", str(index), "result", str(j)),
            session_id=self.id,
            role=MessageRole.TOOL,
            content=parts,
            created_at=at,
            tool_call_id=call_id,
            tool_name=name or None,
        )
        self._add("messages", message, pointer)
        if call_id is None:
            return {}
        content = result.get("content")
        return {call_id: (content, message.id)}

    def _refs(self, result: dict[str, Any], index: int) -> list[UUID]:
        """The sessions of the subagents a result refers to.

        An embedded subagent (v1.7+) by its ``trajectory_id``; a ref to a file of its own that names no
        ``trajectory_id`` by its ``session_id`` (the resolution key up to v1.6: that file's session id is its own
        ``session_id``).
        """
        linked = []
        for ref in result.get("subagent_trajectory_ref") or []:
            if not isinstance(ref, dict):
                continue
            tid, sid_text = ref.get("trajectory_id"), ref.get("session_id")
            if isinstance(tid, str) and tid in self.children:
                sid, _ = self.children[tid]
                step_id = self.doc["steps"][index].get("step_id")
                self.children[tid] = (sid, step_id if isinstance(step_id, int) else index + 1)
                linked.append(sid)
            elif tid is None and isinstance(sid_text, str) and sid_text and ref.get("trajectory_path"):
                linked.append(session_id_of(sid_text))
        return linked

    def _execution(
        self,
        index: int,
        message: MessageRecord,
        call: ToolCall,
        answer: tuple[Any, UUID] | None,
        at: datetime,
        pointer: str,
    ) -> None:
        done = answer is not None
        result = answer[0] if answer is not None else None
        execution = ToolExecution(
            id=self._rid("tool", str(index), call.id),
            session_id=self.id,
            message_id=message.id,
            call_id=call.id,
            tool_name=call.name,
            arguments=call.arguments,
            result=result,
            status=ToolExecutionStatus.SUCCESS if done else ToolExecutionStatus.PENDING,
            duration=timedelta(0),
            created_at=at,
        )
        self._add("tool_executions", execution, pointer)

    def _usage(self, index: int, step: dict[str, Any], message: MessageRecord, at: datetime, pointer: str) -> None:
        metrics = step.get("metrics")
        if not isinstance(metrics, dict):
            return
        count_unknown(self.counts, "metrics", metrics)
        if step.get("llm_call_count") == 0:  # v1.7: a deterministic dispatch, no model call (metrics must be absent)
            self.counts.skipped_types["metrics on a step with llm_call_count 0"] += 1
            return
        prompt, completion = _int(metrics.get("prompt_tokens")), _int(metrics.get("completion_tokens"))
        cached = min(_int(metrics.get("cached_tokens")), prompt)
        extra: dict[str, Any] = metrics["extra"] if isinstance(metrics.get("extra"), dict) else {}
        writes = next((_int(extra[k]) for k in CACHE_WRITE_KEYS if k in extra), 0)
        raw_input = extra.get("input_tokens")
        if isinstance(raw_input, int) and writes and prompt == raw_input + cached + writes:
            prompt -= writes  # Anthropic's own input_tokens in extra show the writes were counted inside the prompt
        if not (prompt or completion or writes):
            return
        name = step.get("model_name") if isinstance(step.get("model_name"), str) else self.model
        provider, model = split_model(name or "")
        provider = provider or _provider_of(model)
        anthropic = token_style(provider, model) == "anthropic"
        record = UsageRecord(
            id=self._rid("usage", str(index)),
            session_id=self.id,
            message_id=message.id,
            provider=provider,
            model=model,
            # ATIF's prompt_tokens include the cached tokens; a cache write sits beside them in metrics.extra
            input_tokens=prompt - cached if anthropic else prompt + writes,
            output_tokens=completion,
            total_tokens=prompt + writes + completion,
            created_at=at,
            cache_read_input_tokens=cached if anthropic else None,
            cached_input_tokens=None if anthropic else cached,
            cache_creation_input_tokens=writes or None,
        )
        self._add("usage_records", record, f"{pointer}/metrics")

    def _compaction(
        self, index: int, step: dict[str, Any], at: datetime, pointer: str, context: dict[str, Any]
    ) -> MessageRecord:
        results = (step.get("observation") or {}).get("results") or []
        summary = "\n".join(r["content"] for r in results if isinstance(r, dict) and isinstance(r.get("content"), str))
        marker = MessageRecord(
            id=self._rid("step", str(index)),
            session_id=self.id,
            role=MessageRole.USER,
            content=[*_parts(step.get("message")), JsonPart(value={"context_management": context})],
            created_at=at,
            is_compaction=True,
            compaction_meta=CompactionMeta(),
        )
        summary_msg = MessageRecord(
            id=self._rid("step", str(index), "summary"),
            session_id=self.id,
            role=MessageRole.ASSISTANT,
            content=[TextPart(text=summary)],
            created_at=at,
            is_summary=True,
            compaction_meta=CompactionMeta(summary_text=summary),
        )
        self._add("messages", marker, pointer)
        self._add("messages", summary_msg, f"{pointer}/observation")
        return marker


@cache
def _provider_of(model: str) -> str:
    """The provider genai-prices knows ``model`` by (``behest_lab.pricing.infer_providers``), else ``unknown``."""
    return infer_providers([model]).get(model) or "unknown"


def _context_management(step: dict[str, Any]) -> dict[str, Any] | None:
    """The v1.7 ``extra.context_management`` of a system step that compacts the context, else None."""
    extra = step.get("extra")
    context = extra.get("context_management") if isinstance(extra, dict) else None
    if step.get("source") == "system" and isinstance(context, dict) and context.get("type") == "compaction":
        return context
    return None


__all__ = ["KIND", "Document", "Link", "document_key", "session_id_of", "split_model"]
