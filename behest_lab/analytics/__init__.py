"""Analytics over a store as polars DataFrames: sessions, messages, tools, usage and cost, compactions.

Every function runs DuckDB SQL through ``Store.query`` (an eager read that never misses committed rows, see
``behest_lab.stores.protocols``) over the tables of ``behest_lab.stores.tables``, so it works the same on the memory
store and on the persistent lake store (where DuckDB reads the Parquet files itself and pushes filters down);
aggregation happens in DuckDB, never over Python records. This package is the only SQL above the stores: the
widgets, plots, report and CLI call its public functions. For interactive views it also has stateful readers that
keep intermediate results in the store's temporary tables: ``SessionList`` (a filtered, sorted, paged session list),
``SessionView`` (one session's measures, priced usage, compactions, stats and timeline pages, read once through
``Store.session_scope``), ``UsageDays`` (usage per day, re-aggregated per control change) and ``ToolCalls`` (the
slowest and failed calls per tool). Ids come back as Utf8, timestamps
as ``Datetime[us, UTC]``, money as ``Float64`` USD. Each function's docstring lists its columns.

Money: the costs are computed exactly in SQL (``DECIMAL(38,24)`` USD, see ``behest_lab.pricing``) and handed over as
``Float64``, so pandas, matplotlib and JSON take them as numbers (``costs(store).to_pandas().plot.bar(y="cost")``).
``exact=True`` on ``usage``, ``costs``, ``sessions`` and ``top_sessions`` gives the same columns as exact
``Decimal(38, 24)`` instead (the float is that decimal rounded to the nearest double).

Unpriced calls: a model call without a price (see ``UnknownModelWarning``, raised once per call naming the models)
has a null cost. A group of calls (a day, a model, a session) costs the sum of its priced calls, and
``unpriced_requests`` beside it counts the calls left out; a group without any priced call has a null cost. A
plain ``frame["cost"].sum()`` therefore adds up every priced call, and ``frame["unpriced_requests"].sum()`` says how
many calls it misses; ``priced_total()`` is the same rule as a polars expression, for merging groups again (it keeps
a merge of unpriced groups null instead of 0).

Token usage and cost count every model call once: the usage records plus the usage of messages no usage record
covers (behest's own runtime stores usage only on assistant messages, so a store imported from behest shows costs);
``usage()`` tells them apart in its ``source`` column, and recovers cache counters that behest's SQL
``usage_records`` table drops from the message usage (see ``behest_lab.analytics.usage``).

Frames convert in one call: ``frame.to_pandas()``, ``frame.to_arrow()``; ``export(frame, "out.parquet")`` writes
Parquet, CSV or JSON by extension.

Example:
    >>> import behest_lab
    >>> from behest_lab import analytics
    >>> with behest_lab.open_store(None) as store:
    ...     analytics.sessions(store).height
    0
"""

from __future__ import annotations

from behest_lab.analytics._costs import TOKEN_TOTALS, USAGE_COUNTERS, priced_total
from behest_lab.analytics.compaction import MESSAGE_OVERHEAD_TOKENS, compactions
from behest_lab.analytics.contents import CONTENT_COUNTS, messages_by_role, store_counts
from behest_lab.analytics.export import FORMATS, export
from behest_lab.analytics.messages import messages
from behest_lab.analytics.prices import price_table
from behest_lab.analytics.session_list import SORTS, SessionList, SessionQuery, parse_metadata_value
from behest_lab.analytics.session_view import (
    SHOWN_CHARS,
    SessionView,
    TimelinePage,
    executions_by_call,
    session_measures_sql,
)
from behest_lab.analytics.sessions import TOP_BY, metadata_keys, sessions, top_sessions
from behest_lab.analytics.tool_calls import LATENCY_QUANTILES, LIST_LIMIT, ToolCalls, tool_latency_quantiles
from behest_lab.analytics.tools import MODEL_SOURCES, STATS_BY, tool_executions, tool_stats
from behest_lab.analytics.usage import COST_BY, TOKEN_BY, costs, token_counts, usage
from behest_lab.analytics.usage_days import KEYS as USAGE_DAY_KEYS
from behest_lab.analytics.usage_days import PERIODS, UsageDays
from behest_lab.pricing import Price, UnknownModelWarning

__all__ = [
    "CONTENT_COUNTS",
    "COST_BY",
    "FORMATS",
    "LATENCY_QUANTILES",
    "LIST_LIMIT",
    "MESSAGE_OVERHEAD_TOKENS",
    "MODEL_SOURCES",
    "PERIODS",
    "SHOWN_CHARS",
    "SORTS",
    "STATS_BY",
    "TOKEN_BY",
    "TOKEN_TOTALS",
    "TOP_BY",
    "USAGE_COUNTERS",
    "USAGE_DAY_KEYS",
    "Price",
    "SessionList",
    "SessionQuery",
    "SessionView",
    "TimelinePage",
    "ToolCalls",
    "UnknownModelWarning",
    "UsageDays",
    "compactions",
    "costs",
    "executions_by_call",
    "export",
    "messages",
    "messages_by_role",
    "metadata_keys",
    "parse_metadata_value",
    "price_table",
    "priced_total",
    "session_measures_sql",
    "sessions",
    "store_counts",
    "token_counts",
    "tool_executions",
    "tool_latency_quantiles",
    "tool_stats",
    "top_sessions",
    "usage",
]
