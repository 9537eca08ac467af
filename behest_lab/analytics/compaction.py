"""Compactions as rows: what each one folded away and how much context it saved, computed in DuckDB.

Pairs follow ``behest_lab.compaction.compaction_pairs``: a message with ``is_compaction`` immediately followed (by
``created_at``, ties in append order) by one with ``is_summary``. Token estimates use behest's runtime heuristic:
``ceil(chars / 4)`` per message plus ``MESSAGE_OVERHEAD_TOKENS``, where chars counts the text parts, the JSON parts'
text and each tool call's name and JSON arguments. The spec names a per-message overhead without its value; 4 is
behest_lab's assumption.
"""

from __future__ import annotations

from uuid import UUID

import polars as pl

from behest_lab.analytics._sql import Conditions, run
from behest_lab.compaction import CHECKPOINT_TEMPLATE
from behest_lab.stores.protocols import Store

MESSAGE_OVERHEAD_TOKENS = 4
"""Tokens added per message on top of chars/4 (role markers and separators)."""

_CHARS = (
    "coalesce(length(m.text), 0)"
    " + coalesce(list_sum(list_transform(m.content, p -> coalesce(length(CAST(p.value AS VARCHAR)), 0))), 0)"
    " + coalesce(list_sum(list_transform(m.tool_calls,"
    " c -> length(c.name) + length(CAST(c.arguments AS VARCHAR)))), 0)"
)


def _estimate(chars: str) -> str:
    return f"(CAST(({chars}) + 3 AS BIGINT) // 4 + {MESSAGE_OVERHEAD_TOKENS})"


def _checkpoint(summary: str) -> str:
    """Estimated tokens of the synthetic checkpoint message built from ``summary`` (0 when it is NULL)."""
    head, tail = CHECKPOINT_TEMPLATE.split("{summary}")
    chars = f"{len(head) + len(tail)} + length({summary})"
    return f"CASE WHEN {summary} IS NULL THEN 0 ELSE {_estimate(chars)} END"


def compactions(store: Store, session_id: UUID | str | None = None) -> pl.DataFrame:
    """One row per compaction pair, by session then position.

    Definitions (``i`` = position of the compaction message, ``history[:i]`` = everything before it):
    ``messages_folded`` counts the messages before the kept tail (all of ``history[:i]`` when ``tail_start_id`` is
    not found there); ``messages_kept`` counts the tail messages the model still sees verbatim (from
    ``tail_start_id`` up to ``i``, compaction and summary records excluded). ``estimated_tokens_before`` estimates
    ``behest_lab.compaction.model_context(history[:i])`` (what the model saw before the compaction) and
    ``estimated_tokens_after`` ``model_context(history[:i + 2])`` (checkpoint + kept tail). ``prompt_tokens_before``
    / ``_after`` are the prompt tokens reported in the usage of the last assistant message before the pair and of
    the first one after it (input + Anthropic cache counters for sessions of Claude models, else input).

    Returns:
        Columns: ``session_id``, ``compaction_id``, ``summary_id`` (Utf8), ``created_at`` (Datetime[us, UTC], of
        the compaction message), ``position`` (Int64, ``i``), ``tail_start_id`` (Utf8), ``messages_folded``,
        ``messages_kept`` (Int64), ``summary_chars`` (Int64, length of the summary text), ``estimated_tokens_before``,
        ``estimated_tokens_after`` (Int64), ``prompt_tokens_before``, ``prompt_tokens_after`` (Int64, null when no
        such usage). ``.to_pandas()`` / ``.to_arrow()`` convert the frame.
    """
    return run(store, compactions_sql(session_id))


def compactions_sql(session_id: UUID | str | None = None) -> str:
    """The query ``compactions`` runs, over the ``messages`` and ``sessions`` relations.

    For callers that run it over other relations of those names (e.g. a ``SessionScope``).
    """
    where = Conditions().uuid("m.session_id", session_id, "session_id").sql()
    plain = "NOT (is_compaction OR is_summary)"
    upto = "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING"
    usage_prompt = "CASE WHEN role = 'assistant' AND total_tokens IS NOT NULL THEN prompt END"
    return f"""
WITH base AS (
  SELECT m.session_id, m.id, m.seq, m.created_at, m.created_at_ns, m.role, m.is_compaction, m.is_summary,
    m.has_compaction_meta, m.tail_start_id, m.summary_text, m.text, m.total_tokens,
    {_estimate(_CHARS)} AS est,
    CAST(CASE WHEN lower(s.model) LIKE '%claude%'
      THEN m.input_tokens + coalesce(m.cache_read_input_tokens, 0) + coalesce(m.cache_creation_input_tokens, 0)
      ELSE m.input_tokens END AS BIGINT) AS prompt
  FROM messages m LEFT JOIN sessions s ON s.id = m.session_id WHERE {where}),
w AS (
  SELECT *, row_number() OVER w - 1 AS pos,
    coalesce(sum(est) OVER (w {upto}), 0) AS cum_est,
    coalesce(sum(CASE WHEN {plain} THEN est ELSE 0 END) OVER (w {upto}), 0) AS cum_plain,
    coalesce(sum(CASE WHEN {plain} THEN 1 ELSE 0 END) OVER (w {upto}), 0) AS cum_plain_n,
    lead(is_summary) OVER w AS next_is_summary, lead(id) OVER w AS summary_id,
    lead(has_compaction_meta) OVER w AS s_has_meta, lead(tail_start_id) OVER w AS s_tail,
    lead(summary_text) OVER w AS s_summary_text, lead(text) OVER w AS s_text,
    last_value({usage_prompt} IGNORE NULLS) OVER (w {upto}) AS prompt_before,
    first_value({usage_prompt} IGNORE NULLS) OVER (w ROWS BETWEEN 2 FOLLOWING AND UNBOUNDED FOLLOWING) AS prompt_after
  FROM base WINDOW w AS (PARTITION BY session_id ORDER BY created_at, created_at_ns NULLS FIRST, seq)),
pairs AS (
  SELECT *,
    CASE WHEN s_has_meta THEN s_tail ELSE tail_start_id END AS pair_tail,
    CASE WHEN s_has_meta THEN s_summary_text ELSE s_text END AS checkpoint_summary,
    CASE WHEN s_has_meta AND s_summary_text IS NOT NULL THEN s_summary_text ELSE s_text END AS summary
  FROM w WHERE is_compaction AND next_is_summary),
tailed AS (
  SELECT p.*, t.pos AS tail_pos, t.cum_plain AS tail_cum_plain, t.cum_plain_n AS tail_cum_plain_n
  FROM pairs p LEFT JOIN w t ON t.session_id = p.session_id AND t.id = p.pair_tail AND t.pos < p.pos),
chained AS (
  SELECT *,
    lag(pos) OVER c AS prev_pos, lag(cum_plain) OVER c AS prev_cum_plain,
    lag(tail_pos) OVER c AS prev_tail_pos, lag(tail_cum_plain) OVER c AS prev_tail_cum_plain,
    lag(checkpoint_summary) OVER c AS prev_checkpoint
  FROM tailed WINDOW c AS (PARTITION BY session_id ORDER BY pos)),
full_rows AS (
  SELECT c.*, coalesce(a.cum_est, c.cum_est) AS after_prev_cum_est
  FROM chained c LEFT JOIN w a ON a.session_id = c.session_id AND a.pos = c.prev_pos + 2)
SELECT CAST(session_id AS VARCHAR) AS session_id, CAST(id AS VARCHAR) AS compaction_id,
  CAST(summary_id AS VARCHAR) AS summary_id, created_at, CAST(pos AS BIGINT) AS position,
  CAST(pair_tail AS VARCHAR) AS tail_start_id,
  CAST(coalesce(tail_pos, pos) AS BIGINT) AS messages_folded,
  CAST(CASE WHEN tail_pos IS NULL THEN 0 ELSE cum_plain_n - tail_cum_plain_n END AS BIGINT) AS messages_kept,
  CAST(coalesce(length(summary), 0) AS BIGINT) AS summary_chars,
  CAST(CASE WHEN prev_pos IS NULL THEN cum_est
    ELSE {_checkpoint("prev_checkpoint")}
      + CASE WHEN prev_tail_pos IS NULL THEN 0 ELSE prev_cum_plain - prev_tail_cum_plain END
      + (cum_est - after_prev_cum_est) END AS BIGINT) AS estimated_tokens_before,
  CAST({_checkpoint("checkpoint_summary")}
    + CASE WHEN tail_pos IS NULL THEN 0 ELSE cum_plain - tail_cum_plain END AS BIGINT) AS estimated_tokens_after,
  prompt_before AS prompt_tokens_before, prompt_after AS prompt_tokens_after
FROM full_rows ORDER BY session_id, pos"""
