"""Compaction as behest's runtime writes it, and what the model saw afterwards.

behest compacts by appending two messages: a user message ``[compaction]`` with ``is_compaction=True`` and an
assistant message holding the summary with ``is_summary=True``, both carrying ``compaction_meta.tail_start_id``
(the first message kept verbatim). Nothing is deleted. These helpers work on a message list in store order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from behest_lab.records import MessageRecord, MessageRole, TextPart

CHECKPOINT_TEMPLATE = "<conversation-checkpoint>\n<summary>\n{summary}\n</summary>\n</conversation-checkpoint>"


@dataclass(frozen=True)
class CompactionPair:
    """One compaction: the marker message, its summary message, and where it sits in the history."""

    compaction: MessageRecord
    summary: MessageRecord
    index: int
    """Position of the compaction message in the message list."""

    @property
    def summary_text(self) -> str:
        """The summary (from the summary message's meta, else its text parts)."""
        meta = self.summary.compaction_meta
        if meta is not None and meta.summary_text is not None:
            return meta.summary_text
        return self.summary.text_content

    @property
    def tail_start_id(self) -> UUID | None:
        """First message kept verbatim after this compaction."""
        meta = self.summary.compaction_meta or self.compaction.compaction_meta
        return None if meta is None else meta.tail_start_id


def compaction_pairs(messages: Sequence[MessageRecord]) -> list[CompactionPair]:
    """Every adjacent (is_compaction, is_summary) pair, oldest first."""
    return [
        CompactionPair(messages[i], messages[i + 1], i)
        for i in range(len(messages) - 1)
        if messages[i].is_compaction and messages[i + 1].is_summary
    ]


def model_context(messages: Sequence[MessageRecord]) -> list[MessageRecord]:
    """The history behest's context pipeline sends to the model after the latest compaction.

    A synthetic system checkpoint with the summary (when there is one), then the messages from ``tail_start_id``
    up to the compaction message (skipping other compaction and summary records), then everything after the
    pair. Without a compaction pair this is the whole history.
    """
    pairs = compaction_pairs(messages)
    if not pairs:
        return list(messages)
    last = pairs[-1]
    out: list[MessageRecord] = []
    summary = last.summary_text if last.summary.compaction_meta is None else last.summary.compaction_meta.summary_text
    if summary is not None:
        out.append(
            MessageRecord(
                id=last.summary.id,
                session_id=last.summary.session_id,
                role=MessageRole.SYSTEM,
                content=[TextPart(text=CHECKPOINT_TEMPLATE.format(summary=summary))],
                created_at=last.summary.created_at,
            )
        )
    tail = last.tail_start_id
    start = next((i for i, m in enumerate(messages[: last.index]) if m.id == tail), None)
    if start is not None:
        out.extend(m for m in messages[start : last.index] if not (m.is_compaction or m.is_summary))
    out.extend(messages[last.index + 2 :])
    return out
