"""Simulate one agent session: messages, tool executions, usage, compaction, embedding texts, artifacts.

Everything comes from the session's own ``random.Random`` and a clock that starts at the session's creation time,
so a session depends only on (seed, session index): the batch size cannot change the data.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
import struct
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from behest_lab.records import (
    Artifact,
    CompactionMeta,
    ImageUrlPart,
    JsonPart,
    MessageRecord,
    MessageRole,
    Session,
    TextPart,
    TokenUsage,
    ToolCall,
    ToolExecution,
    ToolExecutionStatus,
    UsageRecord,
    uuid7,
)
from behest_lab.sample._corpus import ENVIRONMENTS, TOPIC_WEIGHTS, TOPICS, USERS, Slots, Topic
from behest_lab.sample._tools import TOOLS, ToolSpec

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: "TimeoutError: ... 120 s": the limit a timed-out call ran into.
_TIMEOUT = re.compile(r"Timeout\w*: .*?(\d+(?:\.\d+)?) s\b")


@dataclass(frozen=True)
class ModelSpec:
    """A model the sample agents run on, with what shapes its latency and cache accounting."""

    provider: str
    model: str
    weight: float
    tokens_per_s: float
    ttft_ms: float
    cache_min_tokens: int
    """Shortest prompt the provider caches."""


#: Real model names that ``genai-prices`` knows, so the sample can be priced.
MODELS: tuple[ModelSpec, ...] = (
    ModelSpec("anthropic", "claude-sonnet-4-5", 0.24, 70, 900, 1024),
    ModelSpec("anthropic", "claude-haiku-4-5", 0.12, 160, 500, 2048),
    ModelSpec("anthropic", "claude-opus-4-1", 0.04, 40, 1500, 1024),
    ModelSpec("openai", "gpt-4o", 0.16, 90, 600, 1024),
    ModelSpec("openai", "gpt-4o-mini", 0.12, 120, 400, 1024),
    ModelSpec("openai", "gpt-4.1", 0.08, 85, 700, 1024),
    ModelSpec("google", "gemini-2.5-flash", 0.14, 200, 450, 1024),
    ModelSpec("google", "gemini-2.5-pro", 0.10, 80, 1400, 2048),
)

#: Sessions by UTC hour of day: a working-day curve with a quiet night.
HOUR_WEIGHTS: tuple[float, ...] = (
    1, 1, 1, 1, 1, 2, 3, 6, 10, 13, 14, 13, 11, 12, 14, 14, 12, 9, 6, 4, 3, 2, 2, 1,
)  # fmt: skip

#: Rounds of tool calls per user turn, and calls per round.
ROUND_WEIGHTS: tuple[float, ...] = (0.34, 0.40, 0.18, 0.08)
CALL_WEIGHTS: tuple[float, ...] = (0.66, 0.24, 0.10)

#: Prompt caches expire after this long without a request (Anthropic's default ephemeral TTL).
CACHE_TTL_US = 5 * 60 * 1_000_000
#: behest's compaction keeps the last two user turns, if they fit in this many tokens.
KEEP_TOKENS = 8_000
#: Tokens of the tool schemas sent with every request, per tool.
TOOL_SCHEMA_TOKENS = 180


def tokens_of(text: str) -> int:
    """The chars/4 estimate behest's compaction uses."""
    return max(1, (len(text) + 3) // 4)


class _Missing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(template: str, slots: Slots) -> str:
    """``template`` with the slots filled in (unknown placeholders are left as they are)."""
    return template.format_map(_Missing(slots))


@dataclass
class SessionRecords:
    """Everything one simulated session writes."""

    session: Session
    messages: list[MessageRecord] = field(default_factory=list)
    executions: list[ToolExecution] = field(default_factory=list)
    usages: list[UsageRecord] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)
    embed: list[tuple[MessageRecord, str]] = field(default_factory=list)
    """User messages to embed, with their text."""
    compactions: int = 0


class _Sim:
    """The state of one session while it is being generated."""

    def __init__(self, rng: random.Random, start: datetime, days: float) -> None:
        self.rng = rng
        self.topic: Topic = rng.choices(TOPICS, weights=TOPIC_WEIGHTS)[0]
        self.model: ModelSpec = rng.choices(MODELS, weights=[m.weight for m in MODELS])[0]
        self.slots: Slots = self.topic.slots(rng)
        self.now = 0  # simulated clock, microseconds since the Unix epoch
        self.sid = self._id_at(self._start_us(start, days))
        self.t0 = self.now
        self.messages: list[MessageRecord] = []
        self.executions: list[ToolExecution] = []
        self.usages: list[UsageRecord] = []
        self.artifacts: list[Artifact] = []
        self.embed: list[tuple[MessageRecord, str]] = []
        self.compactions = 0
        self.tool_names = [t for t, _ in self.topic.tools]
        self.tool_weights = [w for _, w in self.topic.tools]
        # the model's view: system prompt tokens, then token counts of the visible messages
        self.system_tokens = 0
        self.visible: list[tuple[int, int]] = []  # (index into self.messages or -1 for the checkpoint, tokens)
        self.turn_starts: list[int] = []  # indices into self.messages of this context's user turns
        self.cached_prefix = 0
        self.last_call_us: int | None = None

    # --- clock and ids ---------------------------------------------------------------------------------------

    def _start_us(self, start: datetime, days: float) -> int:
        rng = self.rng
        day = rng.randrange(max(1, int(days)))
        base = start + timedelta(days=day)
        if base.weekday() >= 5 and rng.random() < 0.6:  # fewer sessions at weekends
            day = rng.randrange(max(1, int(days)))
            base = start + timedelta(days=day)
        hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
        midnight = base.replace(hour=0, minute=0, second=0, microsecond=0)
        if midnight < start:
            midnight = start
        us = (midnight - EPOCH) // timedelta(microseconds=1)
        self.now = us + hour * 3_600_000_000 + rng.randrange(3_600_000_000)
        return self.now

    def _id_at(self, us: int) -> UUID:
        return uuid7(us // 1000, self.rng.randbytes(10))

    def _advance_ms(self, ms: float) -> int:
        self.now += max(1000, int(ms * 1000))
        return self.now

    @staticmethod
    def _dt(us: int) -> datetime:
        return EPOCH + timedelta(microseconds=us)

    # --- messages --------------------------------------------------------------------------------------------

    def _add(
        self, role: MessageRole, content: list[Any], tokens: int, *, visible: bool = True, **fields: Any
    ) -> MessageRecord:
        m = MessageRecord(
            id=self._id_at(self.now),
            session_id=self.sid,
            role=role,
            content=content,
            created_at=self._dt(self.now),
            **fields,
        )
        if visible:
            self.visible.append((len(self.messages), tokens + 4))  # + the chat format's per-message overhead
        self.messages.append(m)
        return m

    def _usage(self, output_tokens: int) -> TokenUsage:
        """Usage of a model call over the current context, counted the way each provider reports it.

        Anthropic reports ``input_tokens`` WITHOUT the cache reads and writes (those are
        ``cache_read_input_tokens`` / ``cache_creation_input_tokens``); OpenAI and Google report the whole prompt
        in ``input_tokens``, of which ``cached_input_tokens`` were cached. ``total_tokens`` is every prompt token
        plus the output, for every provider (see ``behest_lab.pricing`` for how each style is priced).
        """
        rng = self.rng
        prompt = self.system_tokens + sum(t for _, t in self.visible)
        expired = self.last_call_us is None or self.now - self.last_call_us > CACHE_TTL_US
        prefix = 0 if expired else min(self.cached_prefix, prompt)
        spec = self.model
        cache: dict[str, int | None]
        if spec.provider == "anthropic":
            # a cache breakpoint at the end of the prompt: the old prefix is read, the rest written
            hit = prefix if prompt >= spec.cache_min_tokens else 0
            write = prompt - hit if prompt >= spec.cache_min_tokens else 0
            cache = {"cache_creation_input_tokens": write, "cache_read_input_tokens": hit}
        else:
            # automatic prefix caching, in 128-token blocks, and not on every request
            chance = 0.9 if spec.provider == "openai" else 0.65
            cached = prefix // 128 * 128 if prefix >= spec.cache_min_tokens and rng.random() < chance else 0
            cache = {"cached_input_tokens": cached}
        uncached = prompt
        if spec.provider == "anthropic":
            uncached = prompt - (cache["cache_creation_input_tokens"] or 0) - (cache["cache_read_input_tokens"] or 0)
        usage = TokenUsage(
            input_tokens=uncached, output_tokens=output_tokens, total_tokens=prompt + output_tokens, **cache
        )
        self.cached_prefix = prompt
        self.last_call_us = self.now
        return usage

    def _model_call(self, output_tokens: int) -> TokenUsage:
        """Advance the clock by the model's latency and return the call's usage."""
        spec = self.model
        usage = self._usage(output_tokens)
        ttft = self.rng.lognormvariate(0, 0.35) * spec.ttft_ms
        self._advance_ms(ttft + output_tokens / spec.tokens_per_s * 1000)
        return usage

    def _record_usage(self, m: MessageRecord, usage: TokenUsage) -> None:
        self.usages.append(
            UsageRecord(
                id=self._id_at(self.now),
                session_id=self.sid,
                message_id=m.id,
                provider=self.model.provider,
                model=self.model.model,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                total_tokens=usage.total_tokens,
                cache_creation_input_tokens=usage.cache_creation_input_tokens,
                cache_read_input_tokens=usage.cache_read_input_tokens,
                cached_input_tokens=usage.cached_input_tokens,
                created_at=m.created_at,
            )
        )

    def _assistant(self, text: str, output_tokens: int, **fields: Any) -> MessageRecord:
        usage = self._model_call(output_tokens)
        content: list[Any] = [TextPart(text=text)] if text else []
        m = self._add(MessageRole.ASSISTANT, content, output_tokens, usage=usage, **fields)
        self._record_usage(m, usage)
        return m

    # --- the conversation ------------------------------------------------------------------------------------

    def run(self) -> SessionRecords:
        rng = self.rng
        topic = self.topic
        system = fill(topic.system, self.slots)
        self.system_tokens = tokens_of(system) + TOOL_SCHEMA_TOKENS * len(self.tool_names)
        self.messages.append(
            MessageRecord(
                id=self._id_at(self.now),
                session_id=self.sid,
                role=MessageRole.SYSTEM,
                content=[TextPart(text=system)],
                created_at=self._dt(self.now),
            )
        )
        turns = min(40, max(1, int(rng.lognormvariate(1.65, 0.75))))
        compact_at = rng.choice((24_000, 32_000, 48_000))
        for turn in range(turns):
            self._user_turn(turn, compact_at)
        return self._finish()

    def _user_turn(self, turn: int, compact_at: int) -> None:
        rng = self.rng
        topic = self.topic
        if turn == 0:
            self._advance_ms(rng.uniform(500, 4000))
            text = fill(rng.choice(topic.openers), self.slots)
        else:
            self._advance_ms(min(3 * 3_600_000, rng.lognormvariate(10.7, 1.1)))  # median ≈ 45 s of reading/typing
            text = fill(rng.choice(topic.followups), self.slots)
        content: list[Any] = [TextPart(text=text)]
        if "photo" in text and rng.random() < 0.5:
            content.append(
                ImageUrlPart(url=f"https://uploads.example.com/{self.slots.get('order_id', 'img')}/1.jpg",
                             mime_type="image/jpeg")
            )  # fmt: skip
        user = self._add(MessageRole.USER, content, tokens_of(text) + (850 if len(content) > 1 else 0))
        self.turn_starts.append(len(self.messages) - 1)
        self.embed.append((user, text))
        if self.system_tokens + sum(t for _, t in self.visible) >= compact_at and len(self.turn_starts) >= 2:
            self._compact()
        rounds = rng.choices(range(len(ROUND_WEIGHTS)), weights=ROUND_WEIGHTS)[0]
        for _ in range(rounds):
            self._tool_round()
        answer = fill(rng.choice(topic.answers), self.slots)
        self._advance_ms(rng.uniform(20, 200))
        self._assistant(answer, tokens_of(answer) + rng.randint(20, 400))
        if topic.name == "research" and turn >= 1 and rng.random() < 0.03:
            self._artifact_report()

    def _compact(self) -> None:
        """Append behest's compaction pair (spec §5) and shrink the model's view to summary + tail."""
        rng = self.rng
        # keep the last two user turns if they fit in KEEP_TOKENS, else only the current one
        first_kept = self.turn_starts[-2]
        pos = next(i for i, (idx, _) in enumerate(self.visible) if idx == first_kept)
        if sum(t for _, t in self.visible[pos:]) > KEEP_TOKENS:
            first_kept = self.turn_starts[-1]
            pos = next(i for i, (idx, _) in enumerate(self.visible) if idx == first_kept)
        tail = self.visible[pos:]
        tail_start_id = self.messages[first_kept].id
        self._advance_ms(rng.uniform(5, 40))
        self._add(
            MessageRole.USER,
            [TextPart(text="[compaction]")],
            0,
            visible=False,
            is_compaction=True,
            compaction_meta=CompactionMeta(tail_start_id=tail_start_id),
        )
        summary = fill(self.topic.summary, self.slots)
        out = tokens_of(summary) + rng.randint(150, 600)
        usage = self._model_call(out)  # the summariser sees the whole current context
        m = self._add(
            MessageRole.ASSISTANT,
            [TextPart(text=summary)],
            0,
            visible=False,
            usage=usage,
            is_summary=True,
            compaction_meta=CompactionMeta(tail_start_id=tail_start_id, summary_text=summary),
        )
        self._record_usage(m, usage)
        self.compactions += 1
        # the next request sees the checkpoint (summary) and the tail; its prefix changed, so only the system
        # prompt is still cached
        self.visible = [(-1, out + 12), *tail]
        self.turn_starts = [i for i in self.turn_starts if i >= first_kept]
        self.cached_prefix = min(self.cached_prefix, self.system_tokens)

    def _tool_round(self) -> None:
        rng = self.rng
        n_calls = rng.choices(range(1, len(CALL_WEIGHTS) + 1), weights=CALL_WEIGHTS)[0]
        names = rng.choices(self.tool_names, weights=self.tool_weights, k=n_calls)
        calls: list[ToolCall] = []
        prefix = {"anthropic": "toolu_01", "openai": "call_", "google": "call_"}[self.model.provider]
        for name in names:
            args = TOOLS[name].args(rng, self.slots)
            call_id = prefix + "".join(
                rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", k=22)
            )
            calls.append(ToolCall(id=call_id, name=name, arguments=args))
        preamble = fill(rng.choice(self.topic.preambles), self.slots)
        out = tokens_of(preamble) + sum(tokens_of(json.dumps(c.arguments)) + 12 for c in calls)
        self._advance_ms(rng.uniform(20, 200))
        assistant = self._assistant(preamble, out, tool_calls=calls)
        for call in calls:
            self._execute(assistant, call, TOOLS[call.name])

    def _execute(self, assistant: MessageRecord, call: ToolCall, spec: ToolSpec) -> None:
        rng = self.rng
        self._advance_ms(rng.uniform(2, 30))
        started = self.now
        args = call.arguments if isinstance(call.arguments, dict) else {}
        roll = rng.random()
        result: Any = None
        error: str | None = None
        parts: list[Any]
        if roll < spec.pending_rate:
            status = ToolExecutionStatus.PENDING
            duration_us = 0
            job = f"job-{rng.randrange(16**8):08x}"
            text = f"Started background job {job}; still running. Poll with job_status('{job}')."
            parts = [TextPart(text=text)]
            tokens = tokens_of(text)
            self._advance_ms(rng.uniform(50, 400))
        else:
            latency = spec.latency_ms(rng)
            # whole milliseconds (at least 1), as behest persists durations: the sample survives a round trip
            # through behest's JSON and SQL formats unchanged
            duration_us = max(1, round(latency)) * 1000
            timed_out = spec.timeout_ms is not None and latency >= spec.timeout_ms
            if timed_out or roll < spec.pending_rate + spec.failure_rate:
                status = ToolExecutionStatus.FAILED
                if timed_out:
                    error = f"ReadTimeout: no response after {(spec.timeout_ms or 0) / 1000:.1f} s"
                else:
                    error = fill(rng.choice(spec.errors), {**args, "retry": rng.choice([5, 20, 60])})
                limit = _TIMEOUT.search(error)
                if limit is not None:  # a timeout takes as long as its limit
                    duration_us = round(float(limit.group(1)) * 1000) * 1000
                text = f"Error: {error}"
                parts = [TextPart(text=text)]
                tokens = tokens_of(text) + 10
            else:
                status = ToolExecutionStatus.SUCCESS
                result, text = spec.result(rng, self.slots, args)
                parts = [TextPart(text=text)]
                if call.name in ("run_sql", "search_flights"):
                    parts.append(JsonPart(value=result))
                tokens = rng.randint(*spec.result_tokens)
            self.now += duration_us
        self.executions.append(
            ToolExecution(
                id=self._id_at(started),
                session_id=self.sid,
                message_id=assistant.id,
                call_id=call.id,
                tool_name=call.name,
                arguments=call.arguments,
                result=result,
                status=status,
                error=error,
                duration=timedelta(microseconds=duration_us),
                created_at=self._dt(started),
            )
        )
        self._advance_ms(rng.uniform(1, 5))
        msg = self._add(MessageRole.TOOL, parts, tokens, tool_call_id=call.id, tool_name=call.name)
        if status is ToolExecutionStatus.SUCCESS:
            self._maybe_artifact(call.name, msg, result)

    # --- artifacts -------------------------------------------------------------------------------------------

    def _artifact(self, name: str, content_type: str, data: bytes, message: MessageRecord, tool: str) -> None:
        self.artifacts.append(
            Artifact(
                id=self._id_at(self.now),
                session_id=self.sid,
                name=name,
                content_type=content_type,
                data=data,
                metadata={"message_id": str(message.id), "tool": tool},
                created_at=self._dt(self.now),
            )
        )

    def _maybe_artifact(self, tool: str, message: MessageRecord, result: Any) -> None:
        rng = self.rng
        if tool == "run_sql" and rng.random() < 0.03:
            self._artifact(f"{self.slots.get('table', 'query')}_export.csv", "text/csv", _csv(result), message, tool)
        elif tool == "run_python" and self.topic.name == "data-analysis" and rng.random() < 0.05:
            values = [rng.randint(1, 15) for _ in range(rng.randint(4, 10))]
            self._artifact("chart.png", "image/png", bar_chart_png(values), message, tool)

    def _artifact_report(self) -> None:
        report = {
            "subject": self.slots.get("subject"),
            "sources": [{"title": t, "url": u} for t, u in self.slots.get("search_hits", [])],
            "generated_by": self.topic.agent,
        }
        data = json.dumps(report, ensure_ascii=False, indent=2).encode("utf-8")
        self._artifact("report.json", "application/json", data, self.messages[-1], "report")

    # --- the session record ----------------------------------------------------------------------------------

    def _finish(self) -> SessionRecords:
        rng = self.rng
        topic = self.topic
        user = rng.choices(USERS, weights=[1 / (i + 1) for i in range(len(USERS))])[0]
        env = rng.choices([e for e, _ in ENVIRONMENTS], weights=[w for _, w in ENVIRONMENTS])[0]
        tags = list(topic.tags)
        if self.compactions:
            tags.append("long-running")
        if any(e.status is ToolExecutionStatus.FAILED for e in self.executions):
            tags.append("tool-errors")
        session = Session(
            id=self.sid,
            title=fill(rng.choice(topic.titles), self.slots),
            model=self.model.model,
            created_at=self._dt(self.t0),
            updated_at=self.messages[-1].created_at,
            metadata={
                "user": user,
                "team": rng.choice(topic.teams),
                "tags": tags,
                "environment": env,
                "agent": topic.agent,
                "topic": topic.name,
                "provider": self.model.provider,
            },
        )
        return SessionRecords(
            session=session,
            messages=self.messages,
            executions=self.executions,
            usages=self.usages,
            artifacts=self.artifacts,
            embed=self.embed,
            compactions=self.compactions,
        )


def simulate_session(rng: random.Random, start: datetime, days: float) -> SessionRecords:
    """One complete session drawn from ``rng``, starting within ``days`` after ``start``."""
    return _Sim(rng, start, days).run()


# --- small binary artifacts --------------------------------------------------------------------------------


def _csv(result: Any) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if isinstance(result, dict):
        writer.writerow(result.get("columns", []))
        writer.writerows(result.get("rows", []))
    return buf.getvalue().encode("utf-8")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bar_chart_png(values: list[int], height: int = 16, bar: int = 4) -> bytes:
    """A real (tiny, greyscale) PNG of a bar chart: one ``bar``-pixel-wide bar per value (values ≤ ``height``)."""
    width = bar * len(values)
    rows = []
    for y in range(height):
        level = height - y
        row = bytes(0 if v >= level else 255 for v in values for _ in range(bar))
        rows.append(b"\x00" + row)  # filter type 0 per scanline
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + _png_chunk(b"IEND", b"")
    )
