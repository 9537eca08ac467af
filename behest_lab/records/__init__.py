"""behest's data model as pydantic v2 records, JSON-compatible with behest 0.3.1 and 0.5.9 both ways.

Records are immutable values: builders (``with_*``) return validated copies. ``model_dump_json()`` writes
behest's serde JSON byte for byte; ``model_validate_json()`` reads it. No I/O lives here.
"""

from behest_lab.records._base import STORED, BehestRecord
from behest_lab.records._checks import MAX_JSON_DEPTH, check_json
from behest_lab.records._wire import format_timestamp, format_timestamp_sql, parse_timestamp, utcnow, uuid7
from behest_lab.records.duration import LongDuration
from behest_lab.records.embedding import Artifact, EmbeddingRecord, ScoredEmbedding
from behest_lab.records.execution import SessionStats, ToolExecution, ToolExecutionStatus, UsageRecord
from behest_lab.records.instant import Instant
from behest_lab.records.parts import (
    CacheControl,
    CacheKind,
    CacheTtl,
    ContentPart,
    ImageUrlPart,
    JsonPart,
    TextPart,
    TokenUsage,
    ToolCall,
)
from behest_lab.records.provenance import Provenance
from behest_lab.records.session import (
    CompactionMeta,
    MessageRecord,
    MessageRole,
    Pagination,
    Session,
    SessionFilter,
)

__all__ = [
    "MAX_JSON_DEPTH",
    "STORED",
    "Artifact",
    "BehestRecord",
    "CacheControl",
    "CacheKind",
    "CacheTtl",
    "CompactionMeta",
    "ContentPart",
    "EmbeddingRecord",
    "ImageUrlPart",
    "Instant",
    "JsonPart",
    "LongDuration",
    "MessageRecord",
    "MessageRole",
    "Pagination",
    "Provenance",
    "ScoredEmbedding",
    "Session",
    "SessionFilter",
    "SessionStats",
    "TextPart",
    "TokenUsage",
    "ToolCall",
    "ToolExecution",
    "ToolExecutionStatus",
    "UsageRecord",
    "check_json",
    "format_timestamp",
    "format_timestamp_sql",
    "parse_timestamp",
    "utcnow",
    "uuid7",
]
