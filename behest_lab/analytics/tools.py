"""Tool executions: the rows, and per-tool (or per tool and model) statistics computed in DuckDB."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import polars as pl

from behest_lab.analytics._costs import message_usage_models, usage_source_sql
from behest_lab.analytics._sql import Conditions, TimeBound, check_choice, run
from behest_lab.stores.protocols import Store

STATS_BY = ("tool_name", "model", "session_id", "status")
"""Keys ``tool_stats(by=...)`` accepts."""

MODEL_SOURCES = ("session", "usage")
"""Where an execution's ``model`` comes from: its session's model, or the model of the model call that produced
the assistant message issuing it, as ``analytics.usage`` lists calls: the message's usage record, else (a message
with usage but no record, as behest's runtime writes) the session's model; null when the message has neither."""


def _has_messages(store: Store, model_source: str) -> bool:
    """Whether usage models can include message usage (only asked for ``model_source="usage"``)."""
    return model_source != "usage" or message_usage_models(store) is not None


def _executions_sql(
    *,
    since: TimeBound,
    until: TimeBound,
    session_id: UUID | str | None,
    model: str | None,
    tool: str | None,
    model_source: str,
    need_model: bool = True,
    has_messages: bool = True,
) -> str:
    """SELECT of the filtered executions with a ``model`` column.

    The model follows ``MODEL_SOURCES``; it is NULL when neither ``need_model`` nor a ``model`` filter asks for
    it, which saves the join. ``has_messages=False``: the relation set has no ``messages`` table, so usage models
    come from ``usage_records`` alone.
    """
    check_choice(model_source, MODEL_SOURCES, "model_source")
    if not need_model and model is None:
        source = ""
        model_sql = "CAST(NULL AS VARCHAR)"
    elif model_source == "session":
        source = "LEFT JOIN sessions s ON s.id = e.session_id"
        model_sql = "s.model"
    else:
        # one model per issuing message; several usage records of one message agree in practice, take the smallest
        calls = "usage_records" if has_messages is False else f"({usage_source_sql({})})"
        source = (
            f"LEFT JOIN (SELECT message_id, min(model) AS model FROM {calls} "
            "WHERE message_id IN (SELECT message_id FROM tool_executions) GROUP BY message_id) um "
            "ON um.message_id = e.message_id"
        )
        model_sql = "um.model"
    c = Conditions().time_range("e.created_at", since, until).uuid("e.session_id", session_id, "session_id")
    c.equals("e.tool_name", tool, "tool").equals(model_sql, model, "model")
    return f"SELECT e.*, {model_sql} AS model FROM tool_executions e {source} WHERE {c.sql()}"


def tool_executions(
    store: Store,
    *,
    since: TimeBound = None,
    until: TimeBound = None,
    session_id: UUID | str | None = None,
    model: str | None = None,
    tool: str | None = None,
    model_source: str = "session",
) -> pl.DataFrame:
    """Tool executions, oldest first (ties by id); ``model`` filters on the session's model (``model_source``).

    Returns:
        Columns: ``id``, ``session_id``, ``message_id``, ``call_id``, ``tool_name`` (Utf8), ``model`` (Utf8, see
        ``MODEL_SOURCES``), ``status`` (Utf8: pending, success, failed), ``error`` (Utf8), ``duration_ms``
        (Float64, microsecond precision), ``arguments``, ``result`` (Utf8 JSON text), ``created_at``
        (Datetime[us, UTC]). ``.to_pandas()`` / ``.to_arrow()`` convert the frame.
    """
    inner = _executions_sql(
        since=since,
        until=until,
        session_id=session_id,
        model=model,
        tool=tool,
        model_source=model_source,
        has_messages=_has_messages(store, model_source),
    )
    query = f"""
SELECT CAST(id AS VARCHAR) AS id, CAST(session_id AS VARCHAR) AS session_id, CAST(message_id AS VARCHAR) AS message_id,
  call_id, tool_name, model, status, error, duration_us / 1000.0 AS duration_ms,
  CAST(arguments AS VARCHAR) AS arguments, CAST(result AS VARCHAR) AS result, created_at
FROM ({inner}) ORDER BY created_at, id"""
    return run(store, query).with_columns(pl.col("duration_ms").cast(pl.Float64))


def tool_stats(
    store: Store,
    by: str | Sequence[str] = "tool_name",
    *,
    since: TimeBound = None,
    until: TimeBound = None,
    session_id: UUID | str | None = None,
    model: str | None = None,
    tool: str | None = None,
    model_source: str = "session",
) -> pl.DataFrame:
    """Calls, failures and latency percentiles per group; DuckDB aggregates, Python never sees the rows.

    ``by`` is ``"tool_name"`` or a tuple of ``STATS_BY`` keys such as ``("tool_name", "model")``; ``by=()`` gives
    one row over every selected execution (no key columns; no row when there is none). Durations are
    those of finished executions (success or failed; pending ones have no duration yet); percentiles interpolate
    linearly between order statistics (``quantile_cont``, numpy's default method).

    Returns:
        One row per group sorted by ``calls`` descending then the keys. Columns: the keys (Utf8), ``calls``,
        ``successes``, ``failures``, ``pending`` (Int64), ``failure_rate`` (Float64, failures / finished calls;
        null when none finished), ``mean_ms``, ``p50_ms``, ``p95_ms``, ``p99_ms``, ``max_ms`` (Float64, null when
        none finished), ``top_errors`` (List[Utf8], the three most common error messages of failed calls, most
        common first, ties by text). ``.to_pandas()`` / ``.to_arrow()`` convert the frame.
    """
    keys = [by] if isinstance(by, str) else list(by)
    for k in keys:
        check_choice(k, STATS_BY, "by")
    if len(set(keys)) != len(keys):
        raise ValueError(f"by: {keys!r} repeats a key")
    inner = _executions_sql(
        since=since,
        until=until,
        session_id=session_id,
        model=model,
        tool=tool,
        model_source=model_source,
        need_model="model" in keys,
        has_messages=_has_messages(store, model_source),
    )
    groups = keys or ["_all"]  # by=(): one group of every execution
    key_sql = ", ".join(keys) if keys else "TRUE AS _all"
    out_keys = "".join(f"CAST(g.{k} AS VARCHAR) AS {k}, " for k in keys)
    key_list = ", ".join(groups)
    join_on = " AND ".join(f"g.{k} IS NOT DISTINCT FROM e.{k}" for k in groups)
    done = "status <> 'pending'"
    query = f"""
WITH x AS (SELECT {key_sql}, status, error, duration_us FROM ({inner})),
g AS (
  SELECT {key_list}, count(*) AS calls,
    count(*) FILTER (WHERE status = 'success') AS successes,
    count(*) FILTER (WHERE status = 'failed') AS failures,
    count(*) FILTER (WHERE status = 'pending') AS pending,
    CAST(avg(duration_us) FILTER (WHERE {done}) AS DOUBLE) / 1000.0 AS mean_ms,
    -- one sort for the three percentiles
    quantile_cont(CAST(duration_us AS DOUBLE), [0.5, 0.95, 0.99]) FILTER (WHERE {done}) AS _q,
    CAST(max(duration_us) FILTER (WHERE {done}) AS DOUBLE) / 1000.0 AS max_ms
  FROM x GROUP BY {key_list}),
errs AS (
  SELECT {key_list}, error, count(*) AS n FROM x WHERE status = 'failed' AND error IS NOT NULL
  GROUP BY {key_list}, error),
e AS (SELECT {key_list}, list(error ORDER BY n DESC, error)[1:3] AS top_errors FROM errs GROUP BY {key_list})
SELECT {out_keys}g.calls, g.successes, g.failures, g.pending,
  CASE WHEN g.successes + g.failures = 0 THEN NULL
       ELSE g.failures / CAST(g.successes + g.failures AS DOUBLE) END AS failure_rate,
  g.mean_ms, g._q[1] / 1000.0 AS p50_ms, g._q[2] / 1000.0 AS p95_ms, g._q[3] / 1000.0 AS p99_ms, g.max_ms,
  coalesce(e.top_errors, CAST([] AS VARCHAR[])) AS top_errors
FROM g LEFT JOIN e ON {join_on}
ORDER BY g.calls DESC{"".join(f", g.{k} NULLS LAST" for k in keys)}"""
    return run(store, query).with_columns(pl.col("top_errors").cast(pl.List(pl.Utf8)))
