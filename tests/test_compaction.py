"""Compaction helpers on histories shaped the way behest's runtime writes them (spec §5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from behest_lab import (
    CompactionMeta,
    MessageRecord,
    MessageRole,
    TextPart,
    ToolCall,
    compaction_pairs,
    model_context,
    uuid7,
)

SID = uuid7()
T0 = datetime(2025, 1, 1, tzinfo=UTC)


class History:
    """Appends runtime-shaped messages with increasing ``created_at``."""

    def __init__(self) -> None:
        self.messages: list[MessageRecord] = []

    def add(self, role: MessageRole, text: str, **fields: object) -> MessageRecord:
        m = MessageRecord(
            session_id=SID,
            role=role,
            content=[TextPart(text=text)],
            created_at=T0 + timedelta(seconds=len(self.messages)),
            **fields,  # type: ignore[arg-type]
        )
        self.messages.append(m)
        return m

    def turn(self, n: int) -> MessageRecord:
        """A user turn with an assistant tool call and its tool result; returns the user message."""
        user = self.add(MessageRole.USER, f"question {n}")
        self.add(MessageRole.ASSISTANT, f"calling {n}", tool_calls=[ToolCall(id=f"c{n}", name="grep", arguments={})])
        self.add(MessageRole.TOOL, f"result {n}", tool_call_id=f"c{n}", tool_name="grep")
        self.add(MessageRole.ASSISTANT, f"answer {n}")
        return user

    def compact(self, tail: UUID | None, summary: str | None) -> tuple[MessageRecord, MessageRecord]:
        """The two messages behest's CompactionService appends."""
        marker = self.add(
            MessageRole.USER, "[compaction]", is_compaction=True, compaction_meta=CompactionMeta(tail_start_id=tail)
        )
        summ = self.add(
            MessageRole.ASSISTANT,
            summary or "",
            is_summary=True,
            compaction_meta=CompactionMeta(tail_start_id=tail, summary_text=summary),
        )
        return marker, summ


def _checkpoint_text(summary: str) -> str:
    return f"<conversation-checkpoint>\n<summary>\n{summary}\n</summary>\n</conversation-checkpoint>"


def _texts(messages: list[MessageRecord]) -> list[str]:
    return [m.text_content for m in messages]


def test_no_compaction_is_whole_history() -> None:
    h = History()
    h.turn(1)
    h.turn(2)
    assert compaction_pairs(h.messages) == []
    assert model_context(h.messages) == h.messages
    assert model_context([]) == []


def test_runtime_compaction_gives_checkpoint_tail_and_rest() -> None:
    h = History()
    h.turn(1)
    tail = h.turn(2)
    marker, summ = h.compact(tail.id, "they asked twice")
    h.turn(3)
    (pair,) = compaction_pairs(h.messages)
    assert (pair.compaction, pair.summary, pair.index) == (marker, summ, 8)
    assert (pair.summary_text, pair.tail_start_id) == ("they asked twice", tail.id)

    ctx = model_context(h.messages)
    checkpoint = ctx[0]
    assert checkpoint.role is MessageRole.SYSTEM
    assert checkpoint.content == [TextPart(text=_checkpoint_text("they asked twice"))]
    assert ctx[1:] == h.messages[4:8] + h.messages[10:]
    assert _texts(ctx[1:]) == [
        "question 2",
        "calling 2",
        "result 2",
        "answer 2",
        "question 3",
        "calling 3",
        "result 3",
        "answer 3",
    ]
    assert ctx[3].tool_call_id == "c2"


def test_latest_pair_wins_and_older_markers_are_skipped_in_the_tail() -> None:
    h = History()
    first_tail = h.turn(1)
    h.compact(first_tail.id, "old summary")
    tail = h.turn(2)
    pruned = h.add(MessageRole.TOOL, "[Old tool result content cleared]", is_summary=True)
    h.compact(tail.id, "new summary")
    after = h.add(MessageRole.USER, "after")
    pairs = compaction_pairs(h.messages)
    assert [p.summary_text for p in pairs] == ["old summary", "new summary"]
    assert [p.index for p in pairs] == [4, 11]

    # the tail starts before the first pair: its compaction and summary records (and the pruned one) are skipped
    h2 = History()
    early = h2.turn(1)
    h2.compact(early.id, "s1")
    h2.turn(2)
    h2.compact(early.id, "s2")
    ctx = model_context(h2.messages)
    assert _texts(ctx) == [_checkpoint_text("s2"), *_texts(h2.messages[0:4]), *_texts(h2.messages[6:10])]
    assert not any(m.is_compaction or m.is_summary for m in ctx)

    ctx = model_context(h.messages)
    assert ctx[0].text_content == _checkpoint_text("new summary")
    assert pruned not in ctx
    assert ctx[1:] == [*h.messages[6:10], after]


def test_missing_tail_keeps_only_checkpoint_and_later_messages() -> None:
    h = History()
    h.turn(1)
    h.compact(uuid7(), "summary")  # tail id not in the history
    later = h.add(MessageRole.USER, "later")
    assert _texts(model_context(h.messages)) == [_checkpoint_text("summary"), "later"]
    assert model_context(h.messages)[1] == later

    h2 = History()
    h2.turn(1)
    h2.compact(None, "summary")
    assert _texts(model_context(h2.messages)) == [_checkpoint_text("summary")]


def test_tail_after_the_pair_is_not_found() -> None:
    h = History()
    h.turn(1)
    marker, _ = h.compact(None, "s")
    later = h.add(MessageRole.USER, "later")
    h.messages[h.messages.index(marker) + 1] = h.messages[h.messages.index(marker) + 1].model_copy(
        update={"compaction_meta": CompactionMeta(tail_start_id=later.id, summary_text="s")}
    )
    assert _texts(model_context(h.messages)) == [_checkpoint_text("s"), "later"]


def test_no_summary_text_means_no_checkpoint() -> None:
    h = History()
    tail = h.turn(1)
    h.compact(tail.id, None)
    after = h.add(MessageRole.USER, "after")
    assert model_context(h.messages) == [*h.messages[0:4], after]


def test_only_adjacent_pairs_count() -> None:
    h = History()
    tail = h.turn(1)
    h.add(MessageRole.USER, "[compaction]", is_compaction=True, compaction_meta=CompactionMeta(tail_start_id=tail.id))
    h.add(MessageRole.USER, "interruption")
    h.add(MessageRole.ASSISTANT, "lonely summary", is_summary=True, compaction_meta=CompactionMeta(summary_text="x"))
    assert compaction_pairs(h.messages) == []
    assert model_context(h.messages) == h.messages


def test_summary_without_meta_uses_its_text() -> None:
    h = History()
    tail = h.turn(1)
    h.add(MessageRole.USER, "[compaction]", is_compaction=True, compaction_meta=CompactionMeta(tail_start_id=tail.id))
    h.add(MessageRole.ASSISTANT, "text summary", is_summary=True)
    (pair,) = compaction_pairs(h.messages)
    assert (pair.summary_text, pair.tail_start_id) == ("text summary", tail.id)
    assert _texts(model_context(h.messages)) == [_checkpoint_text("text summary"), *_texts(h.messages[0:4])]
