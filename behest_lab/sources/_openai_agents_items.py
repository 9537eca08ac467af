"""How the OpenAI Agents SDK's session items (Responses API input items, as JSON) become behest_lab's records.

``behest_lab.sources.openai_agents`` reads the rows; this module maps one conversation's items, in order:

* items with a ``role`` (``{"role": "user", "content": "..."}`` has no ``type``; the model's own messages are
  ``type: "message"``): a message of that role (``developer`` and ``system`` as system). ``input_text`` /
  ``output_text`` blocks are text parts, other blocks (images, files, refusals) JSON parts.
* ``reasoning``: an assistant message with one JSON part ``{"type": "reasoning", "summary": [...]}`` (and the
  ``content`` texts when the item has them).
* tool calls the agent runs itself (``function_call``, ``custom_tool_call``, ``shell_call``, ``local_shell_call``,
  ``apply_patch_call``, ``computer_call``, ``tool_search_call``): an assistant message with one tool call (the
  arguments decoded when they are JSON text), paired with its ``*_output`` item by ``call_id`` into a tool
  execution. The output is a tool message with the ``call_id``. The SDK records no durations: the duration is the
  time between the two rows (their ``created_at`` has one-second resolution, and the SDK saves a step's calls and
  outputs together, so it is usually zero). An output that is the SDK's own failure text
  (``default_tool_error_function``: "An error occurred while running the tool..." or "...while parsing tool
  arguments...", or a rejected approval "Tool execution was not approved.") is ``failed``; a call without an output
  (the run stopped before it) is ``pending``.
* tool calls the model provider runs (``web_search_call``, ``file_search_call``, ``code_interpreter_call``,
  ``image_generation_call``, ``mcp_call``): an assistant message with the tool call, and an execution whose status
  is the item's (``completed`` is success; ``failed``/``incomplete`` or an MCP ``error`` is failed; else pending).
* ``compaction`` (written by ``OpenAIResponsesCompactionSession``): a compaction pair, a user message marking it
  (``is_compaction``) and the summary (``is_summary``) holding the item as a JSON part (its content is encrypted).

Items made by a Chat Completions model (``OpenAIChatCompletionsModel``, LiteLLM, any-llm) carry
``provider_data.model``: the model that wrote them (``row_model``), which names the model of the turn's usage.

Duplicates follow the SDK's own rule (``deduplicate_input_items_preferring_latest``): items without a role that
carry the same ``type`` and ``id`` (or, without an id, the same ``call_id``) are one item, the latest kept. The id
``__fake_id__`` that the SDK gives every item of a Chat Completions model identifies nothing and is not a key.
Other item types are counted in the report (``item/<type>``) and left out, as are the envelopes an
``EncryptedSession`` stores (``{"__enc__": 1, "kid", "v", "payload"}``: without its key there is nothing to read).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from uuid import UUID

from behest_lab.records import (
    CompactionMeta,
    JsonPart,
    MessageRecord,
    MessageRole,
    Provenance,
    TextPart,
    ToolCall,
    ToolExecution,
    ToolExecutionStatus,
)
from behest_lab.sources.agentlogs import LogCounts, json_or_text

#: The id every item of a Chat Completions model carries (the SDK's ``FAKE_RESPONSES_ID``): not an identity.
FAKE_ID = "__fake_id__"

_ROLES = {
    "user": MessageRole.USER,
    "assistant": MessageRole.ASSISTANT,
    "developer": MessageRole.SYSTEM,
    "system": MessageRole.SYSTEM,
}
#: Calls the agent runs, with the type of the item holding their output.
_CALL_OUTPUTS = {
    "function_call": "function_call_output",
    "custom_tool_call": "custom_tool_call_output",
    "shell_call": "shell_call_output",
    "local_shell_call": "local_shell_call_output",
    "apply_patch_call": "apply_patch_call_output",
    "computer_call": "computer_call_output",
    "tool_search_call": "tool_search_output",
}
_OUTPUTS = frozenset(_CALL_OUTPUTS.values())
#: Calls the model provider runs; the item holds the outcome.
_HOSTED = ("web_search_call", "file_search_call", "code_interpreter_call", "image_generation_call", "mcp_call")
_HOSTED_RESULT = {"file_search_call": "results", "code_interpreter_call": "outputs", "mcp_call": "output"}
_ARGUMENT_KEYS = ("arguments", "input", "action", "operation", "queries", "code")
_FAILURE_TEXTS = (
    "An error occurred while running the tool",
    "An error occurred while parsing tool arguments",
    "Tool execution was not approved.",
)
_TEXT_BLOCKS = ("input_text", "output_text", "text", "summary_text", "reasoning_text")


class Row(NamedTuple):
    """One stored item: its row id in the messages table, the row's ``created_at`` and the decoded item."""

    id: int
    at: datetime
    item: dict[str, Any]


def dedupe_key(item: dict[str, Any]) -> str | None:
    """The SDK's identity of an item without a role: ``type`` with ``id`` (not the fake one), else ``call_id``."""
    role = item.get("role")
    kind = item.get("type") or role
    if role is not None or kind == "message":
        return None
    item_id = item.get("id")
    if isinstance(item_id, str) and item_id != FAKE_ID:
        return f"id:{kind}:{item_id}"
    call_id = item.get("call_id")
    if isinstance(call_id, str):
        return f"call_id:{kind}:{call_id}"
    approval = item.get("approval_request_id")
    if isinstance(approval, str):
        return f"approval_request_id:{kind}:{approval}"
    return None


def latest_only(rows: list[Row], counts: LogCounts) -> list[Row]:
    """``rows`` with the earlier copies of a duplicated item left out (counted in ``counts.duplicate_lines``)."""
    last: dict[str, int] = {}
    for i, row in enumerate(rows):
        key = dedupe_key(row.item)
        if key is not None:
            last[key] = i
    kept = []
    for i, row in enumerate(rows):
        key = dedupe_key(row.item)
        if key is not None and last[key] != i:
            counts.duplicate_lines += 1
            continue
        kept.append(row)
    return kept


@dataclass
class _Call:
    message: MessageRecord
    name: str
    arguments: Any
    row: Row


@dataclass
class Conversation:
    """The records of one conversation's items (``map`` them in order, then ``finish``).

    ``rid(kind, row_id)`` gives a record id, ``ref(row_id)`` a provenance reference.
    """

    session_id: UUID
    kind: str
    location: str
    rid: Callable[[str, int], UUID]
    ref: Callable[[int], str]
    counts: LogCounts
    messages: list[MessageRecord] = field(default_factory=list)
    executions: list[ToolExecution] = field(default_factory=list)
    provenance: list[Provenance] = field(default_factory=list)
    #: Row id -> the last message made from it (usage records point at a turn's last message).
    row_message: dict[int, UUID] = field(default_factory=dict)
    #: Row id -> the model its item names in ``provider_data`` (items of Chat Completions / LiteLLM models).
    row_model: dict[int, str] = field(default_factory=dict)
    title: str = ""
    _calls: dict[str, _Call] = field(default_factory=dict)
    _answered: set[str] = field(default_factory=set)

    def map(self, row: Row) -> None:
        """Add the records of one item."""
        item = row.item
        kind = item.get("type")
        role = item.get("role")
        provider_data = item.get("provider_data")
        if isinstance(provider_data, dict) and isinstance(provider_data.get("model"), str) and provider_data["model"]:
            self.row_model[row.id] = provider_data["model"]
        if item.get("__enc__") == 1 and "payload" in item:
            self.counts.skipped_types["item/encrypted (EncryptedSession)"] += 1
        elif role is not None and kind in (None, "message"):
            self._message(row, role)
        elif kind == "reasoning":
            value = {"type": "reasoning", "summary": [_block_text(s) for s in _list(item.get("summary"))]}
            if item.get("content"):
                value["content"] = [_block_text(s) for s in _list(item.get("content"))]
            self._add_message(row, "message", MessageRole.ASSISTANT, [JsonPart(value=value)])
        elif kind in _CALL_OUTPUTS or kind in _HOSTED:
            self._call(row, str(kind))
        elif kind in _OUTPUTS:
            self._output(row)
        elif kind == "compaction":
            self._compaction(row)
        else:
            self.counts.skipped_types[f"item/{kind if kind is not None else '(no type)'}"] += 1

    def finish(self) -> None:
        """Record the calls no output answered as pending executions."""
        for call_id, call in self._calls.items():
            if call_id not in self._answered:
                self._execution(call_id, call, call.row, ToolExecutionStatus.PENDING, None, None)

    def _add(self, table: str, record: Any, row: int) -> None:
        if table == "messages":
            self.messages.append(record)
            self.row_message[row] = record.id
        else:
            self.executions.append(record)
        self.provenance.append(
            Provenance.model_construct(
                record_id=record.id, table=table, source=self.kind, location=self.location, ref=self.ref(row)
            )
        )

    def _add_message(self, row: Row, kind: str, role: MessageRole, parts: list[Any], **fields: Any) -> MessageRecord:
        msg = MessageRecord(
            id=self.rid(kind, row.id), session_id=self.session_id, role=role, content=parts, created_at=row.at, **fields
        )
        self._add("messages", msg, row.id)
        return msg

    def _message(self, row: Row, role: Any) -> None:
        mapped = _ROLES.get(str(role))
        if mapped is None:
            self.counts.skipped_types[f"item/message/{role}"] += 1
            return
        parts = _parts(row.item.get("content"))
        if mapped is MessageRole.USER and not self.title:
            text = " ".join(p.text for p in parts if isinstance(p, TextPart)).strip()
            self.title = text[:80]
        self._add_message(row, "message", mapped, parts)

    def _call(self, row: Row, kind: str) -> None:
        item = row.item
        call_id = str(item.get("call_id") or item.get("id") or row.id)
        name = _tool_name(item, kind)
        raw: Any = next((item[k] for k in _ARGUMENT_KEYS if k in item), {})
        arguments = json_or_text(raw)
        msg = self._add_message(
            row, "message", MessageRole.ASSISTANT, [], tool_calls=[ToolCall(id=call_id, name=name, arguments=arguments)]
        )
        call = _Call(msg, name, arguments, row)
        if kind in _CALL_OUTPUTS:
            self._calls[call_id] = call
            return
        status = str(item.get("status") or "")
        error = item.get("error")
        if error or status in ("failed", "incomplete"):
            outcome = ToolExecutionStatus.FAILED
        elif status == "completed":
            outcome = ToolExecutionStatus.SUCCESS
        else:
            outcome = ToolExecutionStatus.PENDING
        succeeded = outcome is ToolExecutionStatus.SUCCESS
        result = json_or_text(item.get(_HOSTED_RESULT.get(kind, ""))) if succeeded else None
        message = (str(error) if error else f"status {status}") if outcome is ToolExecutionStatus.FAILED else None
        self._execution(call_id, call, row, outcome, result, message)

    def _output(self, row: Row) -> None:
        item = row.item
        call_id = str(item.get("call_id"))
        call = self._calls.get(call_id)
        output = item.get("output")
        parts = _parts(output) if isinstance(output, str | list) else [JsonPart(value=output)]
        self._add_message(
            row,
            "message",
            MessageRole.TOOL,
            parts,
            tool_call_id=call_id,
            tool_name=call.name if call is not None else "",
        )
        if call is None or call_id in self._answered:
            return
        self._answered.add(call_id)
        text = " ".join(p.text for p in parts if isinstance(p, TextPart))
        if text.startswith(_FAILURE_TEXTS):
            self._execution(call_id, call, row, ToolExecutionStatus.FAILED, None, text)
        else:
            self._execution(call_id, call, row, ToolExecutionStatus.SUCCESS, text if text else output, None)

    def _execution(
        self, call_id: str, call: _Call, row: Row, status: ToolExecutionStatus, result: Any, error: str | None
    ) -> None:
        duration = max(row.at - call.row.at, timedelta(0)) if status is not ToolExecutionStatus.PENDING else None
        execution = ToolExecution(
            id=self.rid("tool", call.row.id),
            session_id=self.session_id,
            message_id=call.message.id,
            call_id=call_id,
            tool_name=call.name,
            arguments=call.arguments,
            result=result,
            status=status,
            error=error,
            duration=duration or timedelta(0),
            created_at=call.row.at,
        )
        self._add("tool_executions", execution, row.id)

    def _compaction(self, row: Row) -> None:
        self._add_message(
            row,
            "compaction",
            MessageRole.USER,
            [TextPart(text="Conversation compacted")],
            is_compaction=True,
            compaction_meta=CompactionMeta(),
        )
        self._add_message(
            row,
            "summary",
            MessageRole.ASSISTANT,
            [JsonPart(value=row.item)],
            is_summary=True,
            compaction_meta=CompactionMeta(),
        )


def _tool_name(item: dict[str, Any], kind: str) -> str:
    name = item.get("name")
    if kind == "mcp_call" and isinstance(item.get("server_label"), str):
        return f"{item['server_label']}.{name}" if name else str(item["server_label"])
    if kind == "tool_search_call":
        return "tool_search"
    return str(name) if isinstance(name, str) and name else kind


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _block_text(block: Any) -> Any:
    return block.get("text") if isinstance(block, dict) and isinstance(block.get("text"), str) else block


def _parts(content: Any) -> list[Any]:
    """Text blocks as text parts, anything else as JSON parts; a string is one text part."""
    parts: list[Any] = []
    for block in content if isinstance(content, list) else [content]:
        if isinstance(block, str):
            parts.append(TextPart(text=block))
        elif isinstance(block, dict) and block.get("type") in _TEXT_BLOCKS and isinstance(block.get("text"), str):
            parts.append(TextPart(text=block["text"]))
        elif block is not None:
            parts.append(JsonPart(value=block))
    return parts


__all__ = ["FAKE_ID", "Conversation", "Row", "dedupe_key", "latest_only"]
