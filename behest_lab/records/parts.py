"""Provider-level types carried by messages: content parts, tool calls, token usage (behest-core 0.5.9)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import Discriminator, ValidationInfo, model_validator

from behest_lab.records._base import U64, BehestRecord, Json, Text


class CacheKind(StrEnum):
    """Kind of prompt-cache marker; behest knows only ``ephemeral``."""

    EPHEMERAL = "ephemeral"


class CacheTtl(StrEnum):
    """How long a cached prefix lives."""

    FIVE_MINUTES = "five_minutes"
    ONE_HOUR = "one_hour"


class CacheControl(BehestRecord):
    """Prompt-cache marker on a content part (0.5.9). Both keys are required in JSON."""

    _wire_required: ClassVar[tuple[str, ...]] = ("kind", "ttl")

    kind: CacheKind = CacheKind.EPHEMERAL
    """Marker kind; only ``ephemeral`` exists."""
    ttl: CacheTtl = CacheTtl.FIVE_MINUTES
    """Cache lifetime."""


class TextPart(BehestRecord):
    """``{"type":"text","text":...}``."""

    _omit_if_none: ClassVar[tuple[str, ...]] = ("cache_control",)
    _wire_required: ClassVar[tuple[str, ...]] = ("type", "text")

    type: Literal["text"] = "text"
    """Discriminator."""
    text: Text
    """The text."""
    cache_control: CacheControl | None = None
    """Prompt-cache marker (0.5.9); omitted from JSON when None."""


class JsonPart(BehestRecord):
    """``{"type":"json","value":...}``: structured content."""

    _omit_if_none: ClassVar[tuple[str, ...]] = ("cache_control",)
    _wire_required: ClassVar[tuple[str, ...]] = ("type", "value")

    type: Literal["json"] = "json"
    """Discriminator."""
    value: Json = None
    """Any JSON value."""
    cache_control: CacheControl | None = None
    """Prompt-cache marker (0.5.9); omitted from JSON when None."""


class ImageUrlPart(BehestRecord):
    """``{"type":"image_url","url":...,"mime_type":...}``; ``mime_type`` is always written."""

    _omit_if_none: ClassVar[tuple[str, ...]] = ("cache_control",)
    _wire_required: ClassVar[tuple[str, ...]] = ("type", "url")

    type: Literal["image_url"] = "image_url"
    """Discriminator."""
    url: Text
    """Image address (http(s) or data: URL)."""
    mime_type: Text | None = None
    """MIME type if known; written as ``null`` when None."""
    cache_control: CacheControl | None = None
    """Prompt-cache marker (0.5.9); omitted from JSON when None."""


#: One element of ``MessageRecord.content``, discriminated on ``type``.
ContentPart = Annotated[TextPart | JsonPart | ImageUrlPart, Discriminator("type")]


class ToolCall(BehestRecord):
    """A tool call issued by the assistant."""

    _wire_required: ClassVar[tuple[str, ...]] = ("id", "name", "arguments")

    id: Text
    """Provider's call id; tool results refer to it."""
    name: Text
    """Tool name."""
    arguments: Json = None
    """Arguments as JSON."""


_CACHE_KEYS = ("cache_creation_input_tokens", "cache_read_input_tokens", "cached_input_tokens")


class TokenUsage(BehestRecord):
    """Token counters of one model call (0.5.9 adds the three optional cache counters).

    Read from JSON without the cache keys (behest 0.3.1's shape), it is written back without them; built in
    Python it has behest 0.5.9's shape, the cache keys written as ``null`` when None (``has_cache_keys``).
    """

    _wire_required: ClassVar[tuple[str, ...]] = ("input_tokens", "output_tokens", "total_tokens")
    _omit_group_if_unset: ClassVar[tuple[str, ...]] = _CACHE_KEYS

    input_tokens: U64
    """Prompt tokens."""
    output_tokens: U64
    """Completion tokens."""
    total_tokens: U64
    """Total as reported; never recomputed on read."""
    cache_creation_input_tokens: U64 | None = None
    """Prompt tokens written to the cache (Anthropic cache writes)."""
    cache_read_input_tokens: U64 | None = None
    """Prompt tokens read from the cache (Anthropic reads, DeepSeek hits)."""
    cached_input_tokens: U64 | None = None
    """Cached prompt tokens as OpenAI reports them (``cached_tokens``)."""

    @model_validator(mode="before")
    @classmethod
    def _shape(cls, data: Any, info: ValidationInfo) -> Any:
        # built in Python: behest 0.5.9's shape, every cache key present (None when not given)
        if isinstance(data, dict) and not (info.context and info.context.get("wire")):
            data = {**dict.fromkeys(_CACHE_KEYS), **data}
        return data

    @property
    def has_cache_keys(self) -> bool:
        """True unless read from JSON that had none of the cache keys (behest 0.3.1's three-key usage)."""
        return bool(self.model_fields_set.intersection(_CACHE_KEYS)) or any(
            getattr(self, k) is not None for k in _CACHE_KEYS
        )

    @classmethod
    def without_cache_keys(cls, input_tokens: int, output_tokens: int, total_tokens: int) -> Self:
        """A usage of behest 0.3.1's shape: three counters, no cache keys (written as three keys)."""
        data = {"input_tokens": input_tokens, "output_tokens": output_tokens, "total_tokens": total_tokens}
        return cls.model_validate(data, context={"wire": True})

    @classmethod
    def new(cls, input_tokens: int, output_tokens: int) -> Self:
        """``TokenUsage::new``: total = input + output, no cache counters."""
        return cls(input_tokens=input_tokens, output_tokens=output_tokens, total_tokens=input_tokens + output_tokens)

    def with_cache_stats(
        self,
        cache_creation_input_tokens: int | None,
        cache_read_input_tokens: int | None,
        cached_input_tokens: int | None,
    ) -> Self:
        """A copy with the three cache counters set."""
        return self._replace(
            cache_creation_input_tokens=cache_creation_input_tokens,
            cache_read_input_tokens=cache_read_input_tokens,
            cached_input_tokens=cached_input_tokens,
        )

    def cache_tokens(self) -> int:
        """Sum of the three cache counters (None counts as 0)."""
        return sum(
            x or 0
            for x in (
                self.cache_creation_input_tokens,
                self.cache_read_input_tokens,
                self.cached_input_tokens,
            )
        )

    def merge(self, other: TokenUsage) -> Self:
        """The ``merge`` of behest: sums counters; total is recomputed from the summed input and output."""

        def add(a: int | None, b: int | None) -> int | None:
            if a is None and b is None:
                return None
            return (a or 0) + (b or 0)

        inp = self.input_tokens + other.input_tokens
        out = self.output_tokens + other.output_tokens
        return self._replace(
            input_tokens=inp,
            output_tokens=out,
            total_tokens=inp + out,
            cache_creation_input_tokens=add(self.cache_creation_input_tokens, other.cache_creation_input_tokens),
            cache_read_input_tokens=add(self.cache_read_input_tokens, other.cache_read_input_tokens),
            cached_input_tokens=add(self.cached_input_tokens, other.cached_input_tokens),
        )


__all__ = [
    "CacheControl",
    "CacheKind",
    "CacheTtl",
    "ContentPart",
    "ImageUrlPart",
    "JsonPart",
    "TextPart",
    "TokenUsage",
    "ToolCall",
]
