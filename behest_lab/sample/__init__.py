"""A deterministic generator of realistic behest agent runs, for demos, notebooks, benchmarks and tests.

``generate(store, sessions=1000, seed=0)`` writes multi-turn conversations into any ``Store``: six kinds of agents
(coding, data analysis, travel planning, customer support, research, incident response) on eight real models of
three providers (Anthropic, OpenAI, Google), with tool calls and their executions (thirteen tools, from ~1 ms
lookups to heavy-tailed web calls, in whole milliseconds as behest stores them; about 5 % failures, a few still
pending), per-call token usage with prompt-cache counters that grow with the conversation, behest's compaction
pairs in long sessions, embeddings of the user messages (``HashEmbedder``) and a few artifacts (CSV, PNG, JSON).

Token counts follow ``genai-prices``'s convention: ``input_tokens`` is the whole prompt, cached tokens included;
Anthropic models report ``cache_creation_input_tokens``/``cache_read_input_tokens``, OpenAI and Gemini models
``cached_input_tokens``. Tool outputs are stored as short renderings, while their token counts model the full
output the provider was billed for.

The same seed gives the same records, byte for byte: ids are UUIDv7 built from the simulated clock and a seeded
generator, timestamps start at ``start`` and never read the wall clock. Each session draws from its own generator
seeded by (seed, session index), so the batch size does not change the data.
"""

from __future__ import annotations

import gc
import hashlib
import random
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from behest_lab.embedders import HashEmbedder
from behest_lab.records import Artifact, EmbeddingRecord, MessageRecord, Session, ToolExecution, UsageRecord
from behest_lab.sample._corpus import TOPICS
from behest_lab.sample._session import MODELS, SessionRecords, bar_chart_png, simulate_session
from behest_lab.sample._tools import TOOLS
from behest_lab.stores.protocols import Store

__all__ = [
    "DEFAULT_START",
    "MODELS",
    "TOOLS",
    "TOPICS",
    "SampleBatch",
    "SampleSummary",
    "bar_chart_png",
    "generate",
    "iter_batches",
]

#: Where sample timestamps start unless told otherwise.
DEFAULT_START = datetime(2026, 10, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SampleSummary:
    """How many records ``generate`` wrote, per table (plus the number of compaction pairs)."""

    sessions: int = 0
    messages: int = 0
    tool_executions: int = 0
    usage_records: int = 0
    embeddings: int = 0
    artifacts: int = 0
    compactions: int = 0

    def __add__(self, other: SampleSummary) -> SampleSummary:
        return SampleSummary(**{k: v + getattr(other, k) for k, v in asdict(self).items()})

    def as_dict(self) -> dict[str, int]:
        """The counts as a plain dict."""
        return asdict(self)


@dataclass
class SampleBatch:
    """The records of a run of consecutive sessions, ready for the bulk store methods."""

    sessions: list[Session] = field(default_factory=list)
    messages: list[MessageRecord] = field(default_factory=list)
    executions: list[ToolExecution] = field(default_factory=list)
    usages: list[UsageRecord] = field(default_factory=list)
    embeddings: list[EmbeddingRecord] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)
    compactions: int = 0

    def summary(self) -> SampleSummary:
        """Counts of this batch."""
        return SampleSummary(
            sessions=len(self.sessions),
            messages=len(self.messages),
            tool_executions=len(self.executions),
            usage_records=len(self.usages),
            embeddings=len(self.embeddings),
            artifacts=len(self.artifacts),
            compactions=self.compactions,
        )


def _session_rng(seed: int, index: int) -> random.Random:
    # A stable digest, not hash(): the same (seed, index) gives the same stream in every process.
    digest = hashlib.blake2b(f"behest-lab-sample/{seed}/{index}".encode(), digest_size=16).digest()
    return random.Random(int.from_bytes(digest, "big"))


def _check_int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def iter_batches(
    *,
    sessions: int,
    seed: int = 0,
    start: datetime = DEFAULT_START,
    days: int = 30,
    embedding_dim: int | None = 64,
    batch_size: int = 500,
) -> Iterator[SampleBatch]:
    """Generate the sample without a store, ``batch_size`` sessions at a time (see ``generate`` for the options).

    Raises:
        TypeError, ValueError: an option has the wrong type or range (the message names it).
    """
    _check_int(sessions, "sessions", 0)
    _check_int(seed, "seed", -(2**63))
    _check_int(days, "days", 1)
    _check_int(batch_size, "batch_size", 1)
    if embedding_dim is not None:
        _check_int(embedding_dim, "embedding_dim", 1)
    if not isinstance(start, datetime) or start.tzinfo is None or start.utcoffset() is None:
        raise ValueError(f"start must be a timezone-aware datetime, got {start!r}")
    start = start.astimezone(UTC)
    embedder = HashEmbedder(embedding_dim) if embedding_dim is not None else None
    for first in range(0, sessions, batch_size):
        batch = SampleBatch()
        texts: list[tuple[MessageRecord, str]] = []
        for index in range(first, min(sessions, first + batch_size)):
            rec: SessionRecords = simulate_session(_session_rng(seed, index), start, days)
            batch.sessions.append(rec.session)
            batch.messages.extend(rec.messages)
            batch.executions.extend(rec.executions)
            batch.usages.extend(rec.usages)
            batch.artifacts.extend(rec.artifacts)
            batch.compactions += rec.compactions
            texts.extend(rec.embed)
        if embedder is not None and texts:
            vectors = embedder.embed_many([t for _, t in texts])
            batch.embeddings = [
                EmbeddingRecord(
                    id=m.id,  # one embedding per message: reuse its id (unique, deterministic, sorts with it)
                    session_id=m.session_id,
                    model=embedder.model,
                    vector=vec,
                    metadata={"message_id": str(m.id), "text": text},
                    created_at=m.created_at,
                )
                for (m, text), vec in zip(texts, vectors, strict=True)
            ]
        yield batch


def generate(
    store: Store,
    *,
    sessions: int = 1000,
    seed: int = 0,
    start: datetime = DEFAULT_START,
    days: int = 30,
    embedding_dim: int | None = 64,
    batch_size: int = 500,
    progress: Callable[[int, int], None] | None = None,
) -> SampleSummary:
    """Write ``sessions`` sample agent runs into ``store`` and return how many records of each kind it wrote.

    Args:
        store: Any ``Store``; written only through the bulk methods (``append_messages(touch_session=False)``,
            ``record_executions``, ``record_usages``, ``upsert_many``, ``create_sessions``, ``put_many``).
        sessions: Number of sessions (≈ 30 messages each on average).
        seed: Same seed, same records.
        start: Aware datetime; sessions start on one of the ``days`` days from here (weekday working hours are
            busier) and each session's ``updated_at`` is its last message's time.
        days: Length of the period the sessions are spread over.
        embedding_dim: Dimension of the ``HashEmbedder`` vectors of user messages (model
            ``behest-lab/hash-{dim}``); None writes no embeddings.
        batch_size: Sessions per write (memory stays bounded by one batch).
        progress: Called as ``progress(done, total)`` after each batch.

    Returns:
        The counts written per table.

    Raises:
        TypeError, ValueError: an option has the wrong type or range.
        AlreadyExistsError: the store already holds a session of this seed (same ids).
    """
    if not isinstance(store, Store):
        raise TypeError(f"store must be a behest_lab Store, got {type(store).__name__}")
    total = SampleSummary()
    batches = iter_batches(
        sessions=sessions, seed=seed, start=start, days=days, embedding_dim=embedding_dim, batch_size=batch_size
    )
    # Millions of small acyclic objects make the cyclic collector rescan the growing heap again and again, which
    # doubles the run time; nothing generated here forms reference cycles, so pause it while writing.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for batch in batches:
            store.sessions.create_sessions(batch.sessions)
            store.sessions.append_messages(batch.messages, touch_session=False)
            store.executions.record_executions(batch.executions)
            store.executions.record_usages(batch.usages)
            if batch.embeddings:
                store.embeddings.upsert_many(batch.embeddings)
            if batch.artifacts:
                store.artifacts.put_many(batch.artifacts)
            total = total + batch.summary()
            if progress is not None:
                progress(total.sessions, sessions)
    finally:
        if gc_was_enabled:
            gc.enable()
    return total
