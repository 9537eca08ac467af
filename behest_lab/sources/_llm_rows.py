"""Reading ``logs.db`` rows for ``behest_lab.sources.llm_logs``: columns that may be missing, token counts, models.

llm's database grew by migrations over the years (``llm/migrations.py`` in simonw/llm), so a table may lack columns
a newer llm adds (``responses.reasoning``, ``responses.resolved_model``, ``parts.text``...). ``select`` names every
wanted column and gives ``NULL`` for those the file does not have.

Token counts: llm stores each call's ``input_tokens`` and ``output_tokens`` as the model plugin reported them and the
rest of the provider's usage as ``token_details`` (JSON). Whether ``input_tokens`` includes the cached prompt tokens
depends on the provider, and ``token_details`` says which: Anthropic's ``cache_read_input_tokens`` /
``cache_creation_input_tokens`` sit beside an ``input_tokens`` that EXCLUDES them; OpenAI's
``prompt_tokens_details.cached_tokens`` (Chat Completions) or ``input_tokens_details.cached_tokens`` (Responses API),
Gemini's ``cachedContentTokenCount`` and DeepSeek's ``prompt_cache_hit_tokens`` are INSIDE ``input_tokens``.
``usage_counts`` turns either into uncached / cache-read / cache-write counts and writes them the way behest_lab's
cost analysis reads the record's provider and model (``behest_lab.pricing.token_style``), so each token is priced
once at its own rate.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from behest_lab.pricing import infer_providers, token_style
from behest_lab.records import MessageRecord, MessageRole, ToolCall, ToolExecution, ToolExecutionStatus
from behest_lab.sources.agentlogs import derived_id

#: llm plugin prefixes of model ids (``anthropic/claude-...``) that name a provider by another id.
_PROVIDER_ALIASES = {"gemini": "google", "vertex": "google-vertex"}


def columns(con: sqlite3.Connection, table: str) -> set[str]:
    """The columns of ``table`` (empty when the table does not exist)."""
    return {str(r[1]) for r in con.execute(f'PRAGMA table_info("{table}")')}


def select(con: sqlite3.Connection, table: str, wanted: tuple[str, ...], tail: str = "") -> str:
    """``SELECT`` of ``wanted`` (plus ``rowid``) from ``table``, ``NULL`` for the columns the file lacks."""
    have = columns(con, table)
    cols = ", ".join(f'"{c}"' if c in have else f'NULL AS "{c}"' for c in wanted)
    return f'SELECT rowid AS _rowid, {cols} FROM "{table}" {tail}'


def tables(con: sqlite3.Connection) -> set[str]:
    """The table names of the database."""
    return {str(r[0]) for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def as_int(value: Any) -> int | None:
    """A non-negative integer counter, or None (absent, negative, not a number)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if value >= 0 else None


@dataclass(frozen=True)
class Counts:
    """One call's token counts in the record's convention (see the module docstring)."""

    input_tokens: int
    output_tokens: int
    total_tokens: int
    cache_read_input_tokens: int | None
    cache_creation_input_tokens: int | None
    cached_input_tokens: int | None


def usage_counts(
    input_tokens: int | None, output_tokens: int | None, details: Any, provider: str, model: str
) -> Counts:
    """The counts of one call, normalised once: uncached + cache read + cache write + output, each counted once.

    ``details`` is the decoded ``token_details`` (a dict, or None).
    """
    d = details if isinstance(details, dict) else {}
    prompt = input_tokens or 0
    out = output_tokens or 0
    read_ex, write_ex = as_int(d.get("cache_read_input_tokens")), as_int(d.get("cache_creation_input_tokens"))
    read_in = None
    for key, sub in (("prompt_tokens_details", "cached_tokens"), ("input_tokens_details", "cached_tokens")):
        inner = d.get(key)
        if isinstance(inner, dict) and as_int(inner.get(sub)) is not None:
            read_in = as_int(inner.get(sub))
    for key in ("cachedContentTokenCount", "prompt_cache_hit_tokens"):
        if read_in is None and as_int(d.get(key)) is not None:
            read_in = as_int(d.get(key))
    if read_ex is not None or write_ex is not None:  # Anthropic: the cache is beside input_tokens
        uncached, read, write = prompt, read_ex, write_ex
    else:  # OpenAI, Gemini, DeepSeek: cached tokens are inside input_tokens
        read, write = read_in, None
        uncached = max(prompt - (read or 0), 0)
    r, w = read or 0, write or 0
    total = uncached + r + w + out
    if token_style(provider, model) == "anthropic":
        return Counts(uncached, out, total, read, write, None)
    return Counts(uncached + r + w, out, total, None, write, read)


class Models:
    """Provider and model name of llm's model ids, cached per id."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], tuple[str, str]] = {}

    def of(self, model_id: str | None, resolved: str | None) -> tuple[str, str]:
        """``(provider, model)`` of a call.

        The model is ``resolved_model`` when llm recorded one (the dated snapshot that answered), else the model id
        without its plugin prefix. The provider is that prefix (``anthropic/...``, ``gemini/...`` as ``google``,
        ``openrouter/...``), else the provider genai-prices knows the model by (``infer_providers``), else
        ``unknown`` (the call is then unpriced and named in the cost warning).
        """
        key = (model_id or "", resolved or "")
        found = self._seen.get(key)
        if found is not None:
            return found
        prefix, sep, rest = (model_id or "").partition("/")
        model = resolved or (rest if sep else prefix)
        if sep and prefix:
            provider = _PROVIDER_ALIASES.get(prefix, prefix)
        else:
            provider = infer_providers([model]).get(model) or "unknown"
        self._seen[key] = (provider, model)
        return provider, model


def pair_calls(
    key: str, messages: list[MessageRecord], errors: dict[UUID, str], inherited: set[UUID]
) -> list[ToolExecution]:
    """One execution per tool call of ``messages`` (in order), paired with the tool message that answers it.

    A tool message answers the latest unanswered call with its ``tool_call_id`` (providers that number calls per
    request reuse ids across calls). Calls in ``inherited`` messages (a fork's shared history) belong to the thread
    they were made in and make no execution here. The duration is the time from the call's message to the
    result's; ``failed`` when ``errors`` holds the result's exception; ``pending`` without a result.
    """
    pending: dict[str, list[tuple[MessageRecord, ToolCall]]] = {}
    done: list[tuple[MessageRecord, ToolCall, MessageRecord | None]] = []
    for msg in messages:
        for call in msg.tool_calls if msg.id not in inherited else []:
            pending.setdefault(call.id, []).append((msg, call))
        if msg.role is MessageRole.TOOL and pending.get(msg.tool_call_id or ""):
            call_msg, call = pending[msg.tool_call_id or ""].pop()
            done.append((call_msg, call, msg))
    done += [(call_msg, call, None) for waiting in pending.values() for call_msg, call in waiting]
    out = []
    for msg, call, result in done:
        error = errors.get(result.id) if result is not None else None
        if result is None:
            status = ToolExecutionStatus.PENDING
        else:
            status = ToolExecutionStatus.FAILED if error else ToolExecutionStatus.SUCCESS
        out.append(
            ToolExecution(
                id=derived_id("llm", key, "tool", str(msg.id), call.id),
                session_id=msg.session_id,
                message_id=msg.id,
                call_id=call.id,
                tool_name=call.name,
                arguments=call.arguments,
                result=result.text_content if result is not None and not error else None,
                status=status,
                error=error,
                duration=max(result.created_at - msg.created_at, timedelta(0)) if result is not None else timedelta(0),
                created_at=msg.created_at,
            )
        )
    return out


__all__ = ["Counts", "Models", "as_int", "columns", "pair_calls", "select", "tables", "usage_counts"]
