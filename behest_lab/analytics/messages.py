"""Messages flattened for analysis: one row per message with its tool calls and usage as plain columns."""

from __future__ import annotations

from uuid import UUID

import polars as pl

from behest_lab.analytics._costs import USAGE_COUNTERS
from behest_lab.analytics._sql import Conditions, run
from behest_lab.stores.protocols import Store


def messages(store: Store, session_id: UUID | str | None = None) -> pl.DataFrame:
    """Messages of one session (or all), in store order: by session, then ``created_at``, ties in append order.

    Returns:
        Columns: ``id``, ``session_id`` (Utf8), ``position`` (Int64, 0-based index in the session's history),
        ``created_at`` (Datetime[us, UTC]), ``role``, ``text`` (Utf8, text parts joined by newlines),
        ``tool_call_count`` (Int64), ``tool_names`` (List[Utf8], in call order), ``tool_call_id``, ``tool_name``
        (Utf8, set on tool results), ``input_tokens``, ``output_tokens``, ``total_tokens``,
        ``cache_creation_input_tokens``, ``cache_read_input_tokens``, ``cached_input_tokens`` (Int64, the message's
        usage; null when none), ``is_compaction``, ``is_summary`` (Boolean). ``.to_pandas()`` / ``.to_arrow()``
        convert the frame.
    """
    where = Conditions().uuid("session_id", session_id, "session_id").sql()
    usage = ", ".join(f"CAST({c} AS BIGINT) AS {c}" for c in USAGE_COUNTERS)
    query = f"""
SELECT CAST(id AS VARCHAR) AS id, CAST(session_id AS VARCHAR) AS session_id,
  row_number() OVER (PARTITION BY session_id ORDER BY created_at, created_at_ns NULLS FIRST, seq) - 1 AS position,
  created_at, role, text, CAST(len(tool_calls) AS BIGINT) AS tool_call_count,
  list_transform(tool_calls, c -> c.name) AS tool_names, tool_call_id, tool_name, {usage},
  is_compaction, is_summary
FROM messages WHERE {where}
ORDER BY session_id, created_at, created_at_ns NULLS FIRST, seq"""
    frame = run(store, query)
    return frame.with_columns(pl.col("tool_names").cast(pl.List(pl.Utf8)))
